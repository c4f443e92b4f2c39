/* side.c — the generic parts of the side interface (side.h): thin wrappers
 * over the ops table, projections (which fields are compared and hashed, in
 * which order) and conversion of Postgres text values to Salesforce form. */
#include "sfrecon/side.h"

#include <string.h>
#include <strings.h>

void sfr_record_cleanup(struct sfr_record *r)
{
    if (r == NULL)
        return;
    for (int i = 0; r->values != NULL && i < r->n_values; i++)
        sfr_free(r->values[i]);
    sfr_free(r->values);
    sfr_free(r->sfid);
    sfr_free(r->hc_lastop);
    sfr_free(r->hc_err);
    sfr_free(r->trigger_failed);
    for (int i = 0; r->rel_values != NULL && i < r->n_rel; i++)
        sfr_free(r->rel_values[i]);
    sfr_free(r->rel_values);
    memset(r, 0, sizeof(*r));
}

enum sfr_rc sfr_side_digest(struct sfr_side *s, const struct sfr_projection *p,
                            const struct sfr_range *r, enum sfr_depth depth, struct sfr_digest *out,
                            struct sfr_err *err)
{
    return s->ops->digest(s, p, r, depth, out, err);
}

enum sfr_rc sfr_side_stream(struct sfr_side *s, const struct sfr_projection *p,
                            const struct sfr_range *r, long expected_rows, sfr_row_cb cb, void *ctx,
                            struct sfr_err *err)
{
    return s->ops->stream(s, p, r, expected_rows, cb, ctx, err);
}

enum sfr_rc sfr_side_fetch(struct sfr_side *s, const struct sfr_projection *p,
                           const char *const *ids, int n_ids, sfr_record_cb cb, void *ctx,
                           struct sfr_err *err)
{
    return s->ops->fetch(s, p, ids, n_ids, cb, ctx, err);
}

enum sfr_rc sfr_side_scan(struct sfr_side *s, const struct sfr_projection *p, sfr_row_cb cb,
                          void *ctx, struct sfr_err *err)
{
    if (s->ops->scan != NULL)
        return s->ops->scan(s, p, cb, ctx, err);
    struct sfr_range all = {NULL, NULL};
    return s->ops->stream(s, p, &all, -1, cb, ctx, err);
}

enum sfr_rc sfr_side_stream_ranges(struct sfr_side *s, const struct sfr_projection *p,
                                   const struct sfr_range *r, int n, long expected_rows,
                                   sfr_row_cb cb, void *ctx, struct sfr_err *err)
{
    if (s->ops->stream_ranges != NULL)
        return s->ops->stream_ranges(s, p, r, n, expected_rows, cb, ctx, err);
    enum sfr_rc rc = SFR_OK;
    for (int i = 0; i < n && rc == SFR_OK; i++)
        rc = s->ops->stream(s, p, &r[i], -1, cb, ctx, err);
    return rc;
}

enum sfr_rc sfr_side_sample_keys(struct sfr_side *s, const struct sfr_projection *p, long every,
                                 long max_keys, struct sfr_strv *keys, long *total_est,
                                 struct sfr_err *err)
{
    if (s->ops->sample_keys != NULL)
        return s->ops->sample_keys(s, p, every, max_keys, keys, total_est, err);
    return sfr_err_set(err, SFR_ENOTFOUND, "the %s side cannot sample keys of %s", s->ops->name,
                       p->obj->name);
}

enum sfr_rc sfr_side_changed_keys(struct sfr_side *s, const struct sfr_projection *p,
                                  int64_t since_ms, long max, struct sfr_strv *keys, bool *more,
                                  struct sfr_err *err)
{
    *more = false;
    if (s->ops->changed_keys != NULL && p->idx_modstamp >= 0)
        return s->ops->changed_keys(s, p, since_ms, max, keys, more, err);
    return sfr_err_set(err, SFR_ENOTFOUND, "the %s side cannot list the changed keys of %s",
                       s->ops->name, p->obj->name);
}

enum sfr_rc sfr_side_duplicate_keys(struct sfr_side *s, const struct sfr_projection *p,
                                    struct sfr_strv *keys, struct sfr_err *err)
{
    return s->ops->duplicate_keys != NULL ? s->ops->duplicate_keys(s, p, keys, err) : SFR_OK;
}

bool sfr_side_ranges_indexed(struct sfr_side *s, const struct sfr_projection *p,
                             struct sfr_err *err)
{
    return s->ops->ranges_indexed == NULL || s->ops->ranges_indexed(s, p, err);
}

void sfr_side_free(struct sfr_side *s)
{
    if (s != NULL && s->ops != NULL && s->ops->free != NULL)
        s->ops->free(s);
}

static bool projection_has(const struct sfr_projection *p, const struct sfr_field *f)
{
    for (int i = 0; i < p->n_fields; i++)
        if (p->fields[i] == f)
            return true;
    return false;
}

/* Compound fields have no single column (address; location splits in two)
 * and base64 bodies are not mirrored: they are left out of the comparison. */
static bool comparable(const struct sfr_field *f)
{
    return f->type != SFR_FT_ADDRESS && f->type != SFR_FT_LOCATION && f->type != SFR_FT_BASE64;
}

void sfr_projection_init(struct sfr_projection *p, const struct sfr_object *obj,
                         const char *const *fields, int n_fields, const char *schema,
                         struct sfr_strv *missing)
{
    memset(p, 0, sizeof(*p));
    p->obj = obj;
    p->schema = schema;
    p->idx_modstamp = -1;
    p->idx_isdeleted = -1;
    p->fields = sfr_calloc((size_t)n_fields + 2, sizeof(*p->fields));
    const struct sfr_field *id = sfr_object_field(obj, "Id");
    if (id != NULL)
        p->fields[p->n_fields++] = id;
    for (int i = 0; i < n_fields; i++) {
        const struct sfr_field *f = sfr_object_field(obj, fields[i]);
        struct sfr_relext rx;
        if (f == NULL && sfr_relext_resolve(NULL, obj, fields[i], &rx)) {
            /* a relationship external Id is no Salesforce field: not compared */
            p->relext = sfr_realloc(p->relext, sizeof(*p->relext) * (size_t)(p->n_relext + 1));
            p->relext[p->n_relext++] = rx;
            continue;
        }
        if (f == NULL || !comparable(f)) {
            if (missing != NULL)
                sfr_strv_push(missing, fields[i]);
            continue;
        }
        if (projection_has(p, f))
            continue;
        if (strcasecmp(f->name, "SystemModstamp") == 0)
            p->idx_modstamp = p->n_fields;
        else if (strcasecmp(f->name, "IsDeleted") == 0)
            p->idx_isdeleted = p->n_fields;
        p->fields[p->n_fields++] = f;
    }
    const struct sfr_field *mod = sfr_object_field(obj, "SystemModstamp");
    if (p->idx_modstamp < 0 && mod != NULL) {
        p->idx_modstamp = p->n_fields;
        p->fields[p->n_fields++] = mod;
    }
}

void sfr_projection_cleanup(struct sfr_projection *p)
{
    if (p == NULL)
        return;
    sfr_free((void *)p->fields);
    sfr_free(p->relext);
    memset(p, 0, sizeof(*p));
    p->idx_modstamp = p->idx_isdeleted = -1;
}

uint64_t sfr_projection_hash(const struct sfr_projection *p, struct sfr_rowhash *h,
                             enum sfr_canon_src src, const char *const *values, const size_t *lens)
{
    sfr_rowhash_reset(h);
    for (int i = 0; i < p->n_fields; i++) {
        const char *v = values[i];
        size_t n = v == NULL ? 0 : lens != NULL ? lens[i] : strlen(v);
        sfr_rowhash_add(h, p->fields[i], src, v, n);
    }
    return sfr_rowhash_finish(h);
}

char *sfr_value_to_sf(const struct sfr_field *f, const char *pg_value)
{
    if (pg_value == NULL)
        return NULL;
    if (f->type == SFR_FT_BOOLEAN) {
        if (strcmp(pg_value, "t") == 0)
            return sfr_strdup("true");
        if (strcmp(pg_value, "f") == 0)
            return sfr_strdup("false");
    } else if (f->type == SFR_FT_DATETIME) {
        int64_t ms;
        if (sfr_parse_datetime_ms(pg_value, strlen(pg_value), &ms)) {
            char buf[32];
            sfr_format_datetime_sf(ms, buf);
            return sfr_strdup(buf);
        }
    }
    return sfr_strdup(pg_value);
}
