/* sf_side.c — the Salesforce implementation of struct sfr_side.
 *
 * digest COUNT: one aggregate call (COUNT(Id), MAX(SystemModstamp)) per range;
 * digest CONTENT and stream: SELECT <projection> ... ORDER BY Id, by REST
 * query for small ranges and Bulk API 2.0 for ranges expected to hold at
 * least bulk_threshold rows (an unknown size is counted first: one call).
 * Rows are hashed as they arrive (values are Salesforce text), so memory is
 * one record whatever the range holds. fetch uses queryAll (deleted records
 * included) with ~300 ids a call; write uses sObject Collections.
 * scan (every live row once, in any order, for the single-pass audit): the
 * same SELECT without ORDER BY, by REST query below bulk_threshold rows, else
 * by one Bulk API 2.0 job whose result pages are read by several streams at
 * once (sfr_sf_bulk_query_parallel); each stream hashes its rows with its
 * own state, and the rows are handed to the caller's callback one at a time
 * (under a mutex), so that callback need not be thread-safe.
 * Salesforce cannot sample keys cheaply: boundaries returns SFR_ENOTFOUND.
 * Not thread-safe (neither is the client): one side per job. */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sfrecon/canon.h"
#include "sfrecon/log.h"
#include "sfrecon/sf.h"
#include "sfrecon/side.h"

#define FETCH_IDS     300
#define FETCH_MAX_URL 12000

struct sf_side {
    struct sfr_side base; /* first: the generic side */
    struct sfr_sf *c;
    long bulk_threshold;
    bool owns;
    struct sfr_rowhash h;
};

static bool id_ok(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > 18)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)id[i]))
            return false;
    return true;
}

/* "SELECT f1,f2 FROM X" into b; SFR_EINVAL when a name is not plain. */
static enum sfr_rc select_list(const struct sfr_projection *p, struct sfr_buf *b,
                               struct sfr_err *err)
{
    if (!sfr_soql_name_ok(p->obj->name))
        return sfr_err_set(err, SFR_EINVAL, "'%s' is not a Salesforce object name", p->obj->name);
    sfr_buf_puts(b, "SELECT ");
    for (int i = 0; i < p->n_fields; i++) {
        if (!sfr_soql_name_ok(p->fields[i]->name))
            return sfr_err_set(err, SFR_EINVAL, "%s.%s is not a plain field name", p->obj->name,
                               p->fields[i]->name);
        sfr_buf_printf(b, "%s%s", i ? "," : "", p->fields[i]->name);
    }
    sfr_buf_printf(b, " FROM %s", p->obj->name);
    return SFR_OK;
}

static void where_range(const struct sfr_range *r, struct sfr_buf *b)
{
    const char *kw = " WHERE ";
    if (r != NULL && r->lo != NULL) {
        sfr_buf_printf(b, "%sId >= ", kw);
        sfr_soql_quote(b, r->lo);
        kw = " AND ";
    }
    if (r != NULL && r->hi != NULL) {
        sfr_buf_printf(b, "%sId < ", kw);
        sfr_soql_quote(b, r->hi);
    }
}

static const char *range_text(const struct sfr_range *r, char *out, size_t n)
{
    snprintf(out, n, "[%s, %s)", r && r->lo ? r->lo : "-inf", r && r->hi ? r->hi : "+inf");
    return out;
}

/* COUNT(Id) and MAX(SystemModstamp) of a range: one aggregate call. */
static enum sfr_rc count_range(struct sf_side *s, const struct sfr_projection *p,
                               const struct sfr_range *r, bool with_max, struct sfr_digest *out,
                               struct sfr_err *err)
{
    struct sfr_buf q = SFR_BUF_INIT;
    char *v[2] = {NULL, NULL};
    enum sfr_rc rc = SFR_OK;
    if (!sfr_soql_name_ok(p->obj->name)) {
        rc = sfr_err_set(err, SFR_EINVAL, "'%s' is not a Salesforce object name", p->obj->name);
        goto out;
    }
    sfr_buf_printf(&q, "SELECT COUNT(Id)%s FROM %s", with_max ? ", MAX(SystemModstamp)" : "",
                   p->obj->name);
    where_range(r, &q);
    s->base.stats.queries++;
    rc = sfr_sf_aggregate(s->c, q.data, with_max ? 2 : 1, v, err);
    if (rc != SFR_OK)
        goto out;
    sfr_digest_init(out);
    char *end = NULL;
    long long n = v[0] ? strtoll(v[0], &end, 10) : 0;
    if (v[0] != NULL && (end == v[0] || n < 0)) {
        rc = sfr_err_set(err, SFR_ESF, "COUNT(Id) of %s returned '%s'", p->obj->name, v[0]);
        goto out;
    }
    out->count = (uint64_t)n;
    int64_t ms;
    if (with_max && v[1] != NULL && sfr_parse_datetime_ms(v[1], strlen(v[1]), &ms))
        out->max_mod_ms = ms;
out:
    free(v[0]);
    free(v[1]);
    sfr_buf_cleanup(&q);
    return rc;
}

/* ---- streaming ---- */

struct sctx {
    struct sf_side *s;
    const struct sfr_projection *p;
    sfr_row_cb cb;
    void *ctx;
    struct sfr_digest *digest; /* digest mode when not NULL */
    char prev[64];
    enum sfr_rc rc;
    struct sfr_err err;
};

/* (sfid, row hash, modstamp) of a record whose Id (values[0]) is known to
 * fit. */
static void summarize_row(const struct sfr_projection *p, struct sfr_rowhash *h,
                          const char *const *values, const size_t *lens,
                          struct sfr_row_summary *row)
{
    memcpy(row->sfid, values[0], lens[0] + 1);
    row->hash = sfr_projection_hash(p, h, SFR_SRC_SF, values, lens);
    row->mod_ms = INT64_MIN;
    int m = p->idx_modstamp;
    int64_t ms;
    if (m >= 0 && values[m] != NULL && sfr_parse_datetime_ms(values[m], lens[m], &ms))
        row->mod_ms = ms;
}

/* SELECT <projection> FROM <object> into q and the field names into
 * *names (caller frees); the projection must start with Id. */
static enum sfr_rc query_head(const struct sfr_projection *p, struct sfr_buf *q,
                              const char ***names, struct sfr_err *err)
{
    *names = sfr_calloc((size_t)p->n_fields + 1, sizeof(**names));
    enum sfr_rc rc = select_list(p, q, err);
    if (rc != SFR_OK)
        return rc;
    if (p->n_fields == 0 || strcasecmp(p->fields[0]->name, "Id") != 0)
        return sfr_err_set(err, SFR_EINVAL, "projection of %s does not start with Id",
                           p->obj->name);
    for (int i = 0; i < p->n_fields; i++)
        (*names)[i] = p->fields[i]->name;
    return SFR_OK;
}

static int on_row(void *ctx, const char *const *values, const size_t *lens)
{
    struct sctx *x = ctx;
    const struct sfr_projection *p = x->p;
    const char *id = values[0];
    if (id == NULL || lens[0] >= 64) {
        x->rc = sfr_err_set(&x->err, SFR_ESF, "%s record without a valid Id", p->obj->name);
        return 1;
    }
    if (x->prev[0] != '\0' && strcmp(x->prev, id) >= 0) {
        x->rc = sfr_err_set(&x->err, SFR_ESF,
                            "%s records not in Id order (%s after %s): ORDER BY Id was not "
                            "honoured",
                            p->obj->name, id, x->prev);
        return 1;
    }
    memcpy(x->prev, id, lens[0] + 1);
    struct sfr_row_summary row;
    summarize_row(p, &x->s->h, values, lens, &row);
    x->s->base.stats.rows_read++;
    if (x->digest != NULL) {
        sfr_digest_add_row(x->digest, row.hash, row.mod_ms);
        return 0;
    }
    return x->cb(x->ctx, &row) != 0 ? 1 : 0;
}

/* Streams the rows of r (or, when where is not NULL, of that WHERE clause). */
static enum sfr_rc stream_rows(struct sf_side *s, const struct sfr_projection *p,
                               const struct sfr_range *r, const char *where, long expected,
                               struct sctx *x, struct sfr_err *err)
{
    struct sfr_buf q = SFR_BUF_INIT;
    const char **names = NULL;
    enum sfr_rc rc = query_head(p, &q, &names, err);
    if (rc != SFR_OK)
        goto out;
    if (where != NULL)
        sfr_buf_puts(&q, where);
    else
        where_range(r, &q);
    sfr_buf_puts(&q, " ORDER BY Id");
    bool bulk = false;
    if (s->bulk_threshold > 0 && expected < 0 && where == NULL) {
        struct sfr_digest d;
        if ((rc = count_range(s, p, r, false, &d, err)) != SFR_OK)
            goto out;
        expected = (long)d.count;
        if (expected == 0)
            goto out; /* nothing to read */
    }
    bulk = s->bulk_threshold > 0 && expected >= s->bulk_threshold;
    char rt[128];
    sfr_log_debug("%s %s: %s (%ld rows expected)", p->obj->name, range_text(r, rt, sizeof(rt)),
                  bulk ? "Bulk API 2.0" : "REST query", expected);
    s->base.stats.queries++;
    if (bulk)
        rc = sfr_sf_bulk_query(s->c, q.data, false, names, p->n_fields, on_row, x, NULL, err);
    else
        rc = sfr_sf_query(s->c, q.data, false, names, p->n_fields, on_row, x, NULL, err);
    if (rc == SFR_OK && x->rc != SFR_OK) {
        rc = x->rc;
        if (err != NULL)
            *err = x->err;
    }
out:
    free(names);
    sfr_buf_cleanup(&q);
    return rc;
}

static enum sfr_rc sf_stream(struct sfr_side *side, const struct sfr_projection *p,
                             const struct sfr_range *r, long expected_rows, sfr_row_cb cb,
                             void *ctx, struct sfr_err *err)
{
    struct sf_side *s = (struct sf_side *)side;
    long before = sfr_sf_api_calls(s->c);
    struct sctx x = {.s = s, .p = p, .cb = cb, .ctx = ctx};
    enum sfr_rc rc = stream_rows(s, p, r, NULL, expected_rows, &x, err);
    side->stats.api_calls += sfr_sf_api_calls(s->c) - before;
    return rc;
}

static enum sfr_rc sf_digest(struct sfr_side *side, const struct sfr_projection *p,
                             const struct sfr_range *r, enum sfr_depth depth,
                             struct sfr_digest *out, struct sfr_err *err)
{
    struct sf_side *s = (struct sf_side *)side;
    long before = sfr_sf_api_calls(s->c);
    enum sfr_rc rc;
    sfr_digest_init(out);
    if (depth == SFR_DEPTH_COUNT) {
        rc = count_range(s, p, r, true, out, err);
    } else {
        struct sctx x = {.s = s, .p = p, .digest = out};
        rc = stream_rows(s, p, r, NULL, -1, &x, err);
    }
    side->stats.api_calls += sfr_sf_api_calls(s->c) - before;
    return rc;
}

/* ---- scan: every live row once, any order ---- */

struct pscan {
    struct sf_side *s;
    const struct sfr_projection *p;
    sfr_row_cb cb;
    void *ctx;
    struct sfr_rowhash h[SFR_SF_MAX_STREAMS];
    pthread_mutex_t mu; /* the caller's callback, rows_read, rc/err */
    enum sfr_rc rc;
    struct sfr_err err;
};

static int scan_row(void *ctx, int stream, const char *const *values, const size_t *lens)
{
    struct pscan *x = ctx;
    const struct sfr_projection *p = x->p;
    const char *id = values[0];
    if (stream < 0 || stream >= SFR_SF_MAX_STREAMS || id == NULL || lens[0] >= 64) {
        pthread_mutex_lock(&x->mu);
        if (x->rc == SFR_OK)
            x->rc = sfr_err_set(&x->err, SFR_ESF, "%s record without a valid Id", p->obj->name);
        pthread_mutex_unlock(&x->mu);
        return 1;
    }
    struct sfr_row_summary row;
    summarize_row(p, &x->h[stream], values, lens, &row);
    pthread_mutex_lock(&x->mu);
    x->s->base.stats.rows_read++;
    int r = x->cb(x->ctx, &row);
    pthread_mutex_unlock(&x->mu);
    return r != 0 ? 1 : 0;
}

static int scan_row_serial(void *ctx, const char *const *values, const size_t *lens)
{
    return scan_row(ctx, 0, values, lens);
}

static enum sfr_rc sf_scan(struct sfr_side *side, const struct sfr_projection *p, sfr_row_cb cb,
                           void *ctx, struct sfr_err *err)
{
    struct sf_side *s = (struct sf_side *)side;
    long before = sfr_sf_api_calls(s->c);
    struct sfr_buf q = SFR_BUF_INIT;
    const char **names = NULL;
    struct pscan *x = sfr_calloc(1, sizeof(*x));
    x->s = s;
    x->p = p;
    x->cb = cb;
    x->ctx = ctx;
    pthread_mutex_init(&x->mu, NULL);
    for (int i = 0; i < SFR_SF_MAX_STREAMS; i++)
        sfr_rowhash_init(&x->h[i]);
    enum sfr_rc rc = query_head(p, &q, &names, err);
    if (rc != SFR_OK)
        goto out;
    long expected = 0;
    if (s->bulk_threshold > 0) {
        struct sfr_digest d;
        if ((rc = count_range(s, p, NULL, false, &d, err)) != SFR_OK)
            goto out;
        expected = (long)d.count;
        if (expected == 0)
            goto out; /* nothing to read */
    }
    bool bulk = s->bulk_threshold > 0 && expected >= s->bulk_threshold;
    int streams = sfr_sf_bulk_streams(s->c);
    sfr_log_debug("%s: every row, any order: %s (%ld rows expected)", p->obj->name,
                  bulk ? "Bulk API 2.0" : "REST query", expected);
    s->base.stats.queries++;
    if (bulk)
        rc = sfr_sf_bulk_query_parallel(s->c, q.data, false, names, p->n_fields, streams, scan_row,
                                        x, NULL, err);
    else
        rc = sfr_sf_query(s->c, q.data, false, names, p->n_fields, scan_row_serial, x, NULL, err);
    if (rc == SFR_OK && x->rc != SFR_OK) {
        rc = x->rc;
        if (err != NULL)
            *err = x->err;
    }
out:
    for (int i = 0; i < SFR_SF_MAX_STREAMS; i++)
        sfr_rowhash_cleanup(&x->h[i]);
    pthread_mutex_destroy(&x->mu);
    free(x);
    free(names);
    sfr_buf_cleanup(&q);
    side->stats.api_calls += sfr_sf_api_calls(s->c) - before;
    return rc;
}

/* " WHERE (Id >= 'a' AND Id < 'b') OR ..." for ranges r[0..n). */
static void where_ranges(const struct sfr_range *r, int n, struct sfr_buf *b)
{
    sfr_buf_puts(b, " WHERE ");
    for (int i = 0; i < n; i++) {
        sfr_buf_puts(b, i ? " OR (" : "(");
        if (r[i].lo != NULL) {
            sfr_buf_puts(b, "Id >= ");
            sfr_soql_quote(b, r[i].lo);
        }
        if (r[i].hi != NULL) {
            sfr_buf_puts(b, r[i].lo != NULL ? " AND Id < " : "Id < ");
            sfr_soql_quote(b, r[i].hi);
        }
        if (r[i].lo == NULL && r[i].hi == NULL)
            sfr_buf_puts(b, "Id != null");
        sfr_buf_putc(b, ')');
    }
}

/* Groups of up to SCAN_OR ranges, one query each (Bulk API 2.0 when the
 * group is expected to hold at least bulk_threshold rows). */
#define SCAN_OR 25

static enum sfr_rc sf_stream_ranges(struct sfr_side *side, const struct sfr_projection *p,
                                    const struct sfr_range *r, int n, long expected_rows,
                                    sfr_row_cb cb, void *ctx, struct sfr_err *err)
{
    struct sf_side *s = (struct sf_side *)side;
    long before = sfr_sf_api_calls(s->c);
    enum sfr_rc rc = SFR_OK;
    struct sfr_buf w = SFR_BUF_INIT;
    for (int i = 0; i < n && rc == SFR_OK; i += SCAN_OR) {
        int m = n - i < SCAN_OR ? n - i : SCAN_OR;
        sfr_buf_reset(&w);
        where_ranges(r + i, m, &w);
        /* ranges in order, so the rows of all groups arrive in Id order */
        struct sctx x = {.s = s, .p = p, .cb = cb, .ctx = ctx};
        long expect = expected_rows >= 0 ? expected_rows * m / (n > 0 ? n : 1) : 0;
        rc = stream_rows(s, p, NULL, w.data, expect, &x, err);
    }
    sfr_buf_cleanup(&w);
    side->stats.api_calls += sfr_sf_api_calls(s->c) - before;
    return rc;
}

/* ---- fetch ---- */

struct fctx {
    struct sf_side *s;
    const struct sfr_projection *p;
    sfr_record_cb cb;
    void *ctx;
};

static int on_record(void *ctx, const char *const *values, const size_t *lens)
{
    struct fctx *f = ctx;
    const struct sfr_projection *p = f->p;
    struct sfr_record rec;
    memset(&rec, 0, sizeof(rec));
    rec.sfid = sfr_strndup(values[0] ? values[0] : "", values[0] ? lens[0] : 0);
    rec.n_values = p->n_fields;
    rec.values = sfr_calloc((size_t)p->n_fields + 1, sizeof(char *));
    for (int i = 0; i < p->n_fields; i++)
        rec.values[i] = values[i] ? sfr_strndup(values[i], lens[i]) : NULL;
    rec.mod_ms = INT64_MIN;
    int m = p->idx_modstamp;
    int64_t ms;
    if (m >= 0 && values[m] != NULL && sfr_parse_datetime_ms(values[m], lens[m], &ms))
        rec.mod_ms = ms;
    f->s->base.stats.rows_read++;
    int r = f->cb(f->ctx, &rec);
    sfr_record_cleanup(&rec);
    return r;
}

static enum sfr_rc sf_fetch(struct sfr_side *side, const struct sfr_projection *p,
                            const char *const *ids, int n_ids, sfr_record_cb cb, void *ctx,
                            struct sfr_err *err)
{
    struct sf_side *s = (struct sf_side *)side;
    long before = sfr_sf_api_calls(s->c);
    struct sfr_buf head = SFR_BUF_INIT, q = SFR_BUF_INIT;
    const char **names = NULL;
    struct fctx f = {s, p, cb, ctx};
    enum sfr_rc rc = query_head(p, &head, &names, err);
    for (int i = 0; rc == SFR_OK && i < n_ids;) {
        sfr_buf_reset(&q);
        sfr_buf_printf(&q, "%s WHERE Id IN (", head.data);
        int k = 0;
        for (; i < n_ids && k < FETCH_IDS && q.len < FETCH_MAX_URL; i++) {
            if (!id_ok(ids[i]))
                continue; /* cannot exist: absent ids are skipped */
            sfr_buf_puts(&q, k++ ? "," : "");
            sfr_soql_quote(&q, ids[i]);
        }
        if (k == 0)
            break;
        sfr_buf_putc(&q, ')');
        side->stats.queries++;
        long n = 0;
        rc = sfr_sf_query(s->c, q.data, true, names, p->n_fields, on_record, &f, &n, err);
    }
    free(names);
    sfr_buf_cleanup(&head);
    sfr_buf_cleanup(&q);
    side->stats.api_calls += sfr_sf_api_calls(s->c) - before;
    return rc;
}

static enum sfr_rc sf_boundaries(struct sfr_side *side, const struct sfr_projection *p, long every,
                                 struct sfr_strv *keys, long *total_rows, struct sfr_err *err)
{
    return sfr_err_set(err, SFR_ENOTFOUND,
                       "Salesforce cannot sample %s keys cheaply; use the mirror's boundaries",
                       p->obj->name);
}

/* ---- write ---- */

static bool writable(const struct sfr_field *f, bool create)
{
    if (strcasecmp(f->name, "Id") == 0 || f->type == SFR_FT_ID || f->calculated)
        return false;
    return create ? f->createable : f->updateable;
}

static void fill_result(struct sfr_write *w, const struct sfr_sf_result *r)
{
    w->ok = r->success;
    snprintf(w->error_code, sizeof(w->error_code), "%s", r->status_code);
    if (r->fields[0] && !r->success)
        snprintf(w->message, sizeof(w->message), "%.400s (fields: %.100s)", r->message, r->fields);
    else
        snprintf(w->message, sizeof(w->message), "%s", r->message);
    if (r->success && r->id[0])
        snprintf(w->new_id, sizeof(w->new_id), "%s", r->id);
}

/* Creates (create = true) or updates the records w[idx[k]]. */
static enum sfr_rc save_group(struct sf_side *s, const struct sfr_projection *p,
                              struct sfr_write *w, const int *idx, int m, bool create,
                              struct sfr_err *err)
{
    int nf = p->n_fields;
    struct sfr_sf_rec *recs = sfr_calloc((size_t)m + 1, sizeof(*recs));
    bool *masks = sfr_calloc((size_t)m * (size_t)nf + 1, sizeof(bool));
    struct sfr_sf_result *res = sfr_calloc((size_t)m + 1, sizeof(*res));
    for (int k = 0; k < m; k++) {
        const struct sfr_write *x = &w[idx[k]];
        bool *mask = masks + (size_t)k * (size_t)nf;
        for (int i = 0; i < nf; i++)
            mask[i] = (x->set == NULL || x->set[i]) && writable(p->fields[i], create);
        recs[k].id = create ? NULL : x->sfid;
        recs[k].values = x->values;
        recs[k].set = mask;
        recs[k].refs = x->refs;
    }
    enum sfr_rc rc = sfr_sf_save(s->c, create ? SFR_SF_CREATE : SFR_SF_UPDATE, p->obj->name,
                                 p->fields, nf, NULL, recs, m, false, res, err);
    for (int k = 0; k < m; k++) {
        fill_result(&w[idx[k]], &res[k]);
        if (!create)
            w[idx[k]].new_id[0] = '\0';
        if (res[k].success)
            s->base.stats.rows_written++;
    }
    free(recs);
    free(masks);
    free(res);
    return rc;
}

static enum sfr_rc delete_group(struct sf_side *s, const struct sfr_projection *p,
                                struct sfr_write *w, const int *idx, int m, struct sfr_err *err)
{
    const char **ids = sfr_calloc((size_t)m + 1, sizeof(*ids));
    struct sfr_sf_result *res = sfr_calloc((size_t)m + 1, sizeof(*res));
    for (int k = 0; k < m; k++)
        ids[k] = w[idx[k]].sfid;
    enum sfr_rc rc = sfr_sf_delete(s->c, p->obj->name, ids, m, false, res, err);
    for (int k = 0; k < m; k++) {
        struct sfr_write *x = &w[idx[k]];
        fill_result(x, &res[k]);
        x->new_id[0] = '\0';
        if (!res[k].success && strcmp(res[k].status_code, "ENTITY_IS_DELETED") == 0) {
            x->ok = true; /* already gone: the delete's goal holds */
            snprintf(x->message, sizeof(x->message), "already deleted in Salesforce");
        }
        if (x->ok)
            s->base.stats.rows_written++;
    }
    free(ids);
    free(res);
    return rc;
}

static enum sfr_rc sf_write(struct sfr_side *side, const struct sfr_projection *p,
                            struct sfr_write *w, int n, int64_t journal_run, struct sfr_err *err)
{
    struct sf_side *s = (struct sf_side *)side;
    long before = sfr_sf_api_calls(s->c);
    int *idx = sfr_calloc((size_t)n + 1, sizeof(int));
    enum sfr_rc rc = SFR_OK;
    for (int i = 0; i < n; i++) {
        w[i].ok = false;
        w[i].new_id[0] = w[i].error_code[0] = w[i].message[0] = '\0';
    }
    /* deletes, creates (insert, or upsert without an Id), updates (update,
     * or upsert of an existing Id); each group keeps request order */
    for (int pass = 0; pass < 3 && rc == SFR_OK; pass++) {
        int m = 0;
        for (int i = 0; i < n; i++) {
            enum sfr_write_kind k = w[i].kind;
            bool has_id = w[i].sfid != NULL && w[i].sfid[0] != '\0';
            int g = k == SFR_WRITE_DELETE                                         ? 0
                    : k == SFR_WRITE_INSERT || (k == SFR_WRITE_UPSERT && !has_id) ? 1
                                                                                  : 2;
            if (g != pass)
                continue;
            if (g != 1 && !id_ok(w[i].sfid)) {
                snprintf(w[i].error_code, sizeof(w[i].error_code), "MALFORMED_ID");
                snprintf(w[i].message, sizeof(w[i].message), "'%s' is not a Salesforce Id",
                         w[i].sfid ? w[i].sfid : "");
                continue;
            }
            idx[m++] = i;
        }
        if (m == 0)
            continue;
        if (pass == 0)
            rc = delete_group(s, p, w, idx, m, err);
        else
            rc = save_group(s, p, w, idx, m, pass == 1, err);
    }
    if (rc != SFR_OK) {
        /* groups after the failing one were not attempted */
        for (int i = 0; i < n; i++)
            if (!w[i].ok && w[i].error_code[0] == '\0') {
                snprintf(w[i].error_code, sizeof(w[i].error_code), "NOT_SENT");
                snprintf(w[i].message, sizeof(w[i].message), "not sent: an earlier call failed");
            }
    }
    free(idx);
    side->stats.api_calls += sfr_sf_api_calls(s->c) - before;
    return rc;
}

static void sf_free(struct sfr_side *side)
{
    struct sf_side *s = (struct sf_side *)side;
    if (s->owns)
        sfr_sf_free(s->c);
    sfr_rowhash_cleanup(&s->h);
    free(s);
}

/* ---- changed keys ---- */

struct changed {
    struct sfr_strv *keys;
    long max, added;
    bool more;
};

static int changed_row(void *ctx, const char *const *values, const size_t *lens)
{
    (void)lens;
    struct changed *x = ctx;
    if (values[0] == NULL)
        return 0;
    if (x->max >= 0 && x->added++ >= x->max) {
        x->more = true;
        return 1;
    }
    sfr_strv_push(x->keys, values[0]);
    return 0;
}

/* queryAll, so records deleted since come too (IsDeleted = true). */
static enum sfr_rc sf_changed_keys(struct sfr_side *side, const struct sfr_projection *p,
                                   int64_t since_ms, long max, struct sfr_strv *keys, bool *more,
                                   struct sfr_err *err)
{
    struct sf_side *s = (struct sf_side *)side;
    char ts[40];
    sfr_format_datetime_ms(since_ms, ts);
    char *soql = sfr_asprintf("SELECT Id FROM %s WHERE SystemModstamp > %s", p->obj->name, ts);
    const char *fields[1] = {"Id"};
    struct changed x = {keys, max, 0, false};
    long before = sfr_sf_api_calls(s->c);
    enum sfr_rc rc = sfr_sf_query(s->c, soql, true, fields, 1, changed_row, &x, NULL, err);
    side->stats.api_calls += sfr_sf_api_calls(s->c) - before;
    side->stats.queries++;
    free(soql);
    *more = x.more;
    return rc;
}

static const struct sfr_side_ops sf_ops = {
    .name = "salesforce",
    .digest = sf_digest,
    .stream = sf_stream,
    .fetch = sf_fetch,
    .boundaries = sf_boundaries,
    .write = sf_write,
    .free = sf_free,
    .stream_ranges = sf_stream_ranges,
    .scan = sf_scan,
    .changed_keys = sf_changed_keys,
};

struct sfr_side *sfr_sf_side_new(struct sfr_sf *client, long bulk_threshold, bool owns_client)
{
    struct sf_side *s = sfr_calloc(1, sizeof(*s));
    s->base.ops = &sf_ops;
    s->base.src = SFR_SRC_SF;
    s->c = client;
    s->bulk_threshold = bulk_threshold > 0 ? bulk_threshold : 0;
    s->owns = owns_client;
    sfr_rowhash_init(&s->h);
    return &s->base;
}
