/* model.c — the discrepancy model: cause names, discrepancy and chunk lists. */
#include <stdlib.h>
#include <string.h>

#include "sfrecon/check.h"
#include "sfrecon/mem.h"

static const char *const cause_names[SFR_CAUSE_N] = {
    "missing_in_pg", "missing_in_sf", "missing_parent", "truncation",     "type_mismatch", "stale",
    "conflict",      "sync_error",    "duplicate",      "field_mismatch", "formula_stale",
};

const char *sfr_cause_name(enum sfr_cause c)
{
    return (unsigned)c < SFR_CAUSE_N ? cause_names[c] : "unknown";
}

bool sfr_cause_parse(const char *name, enum sfr_cause *out)
{
    for (int i = 0; i < SFR_CAUSE_N; i++) {
        if (strcmp(name, cause_names[i]) == 0) {
            *out = (enum sfr_cause)i;
            return true;
        }
    }
    return false;
}

void sfr_discrepancy_cleanup(struct sfr_discrepancy *d)
{
    if (d == NULL)
        return;
    free(d->object);
    free(d->sfid);
    for (int i = 0; i < d->n_fields; i++) {
        free(d->fields[i].field);
        free(d->fields[i].sf_value);
        free(d->fields[i].pg_value);
    }
    free(d->fields);
    free(d->detail);
    free(d->parent_object);
    free(d->parent_sfid);
    memset(d, 0, sizeof(*d));
}

void sfr_discrepancy_add_field(struct sfr_discrepancy *d, const char *field, const char *sf_value,
                               const char *pg_value)
{
    d->fields = sfr_realloc(d->fields, (size_t)(d->n_fields + 1) * sizeof(*d->fields));
    struct sfr_field_diff *f = &d->fields[d->n_fields++];
    f->field = sfr_strdup(field);
    f->sf_value = sfr_strdup(sf_value);
    f->pg_value = sfr_strdup(pg_value);
}

void sfr_disc_list_push(struct sfr_disc_list *l, struct sfr_discrepancy *d)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = sfr_realloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n++] = *d;
    memset(d, 0, sizeof(*d));
}

enum sfr_rc sfr_disc_list_sink(void *ctx, struct sfr_discrepancy *d)
{
    sfr_disc_list_push(ctx, d);
    return SFR_OK;
}

void sfr_disc_list_cleanup(struct sfr_disc_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        sfr_discrepancy_cleanup(&l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

struct sfr_chunk_state *sfr_chunk_list_push(struct sfr_chunk_list *l, const char *lo,
                                            const char *hi, long sf_count, long pg_count,
                                            int64_t sf_max_ms, int64_t pg_max_ms)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = sfr_realloc(l->v, l->cap * sizeof(*l->v));
    }
    struct sfr_chunk_state *c = &l->v[l->n++];
    c->lo = sfr_strdup(lo);
    c->hi = sfr_strdup(hi);
    c->sf_count = sf_count;
    c->pg_count = pg_count;
    c->sf_max_ms = sf_max_ms;
    c->pg_max_ms = pg_max_ms;
    c->clean = true;
    c->has_sum = false;
    c->pg_sum = 0;
    return c;
}

void sfr_chunk_list_copy(struct sfr_chunk_list *l, const struct sfr_chunk_state *s)
{
    struct sfr_chunk_state *c =
        sfr_chunk_list_push(l, s->lo, s->hi, s->sf_count, s->pg_count, s->sf_max_ms, s->pg_max_ms);
    c->clean = s->clean;
    c->has_sum = s->has_sum;
    c->pg_sum = s->pg_sum;
}

static int cmp_lo(const void *a, const void *b)
{
    const char *x = ((const struct sfr_chunk_state *)a)->lo;
    const char *y = ((const struct sfr_chunk_state *)b)->lo;
    if (x == NULL || y == NULL)
        return (x != NULL) - (y != NULL);
    return strcmp(x, y);
}

void sfr_chunk_list_sort(struct sfr_chunk_list *l)
{
    if (l->n > 1)
        qsort(l->v, l->n, sizeof(*l->v), cmp_lo);
}

struct sfr_chunk_state *sfr_chunk_list_find(struct sfr_chunk_list *l, const char *key)
{
    size_t lo = 0, hi = l->n; /* first state whose lo is above key */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->v[mid].lo == NULL || strcmp(l->v[mid].lo, key) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    struct sfr_chunk_state *c = &l->v[lo - 1];
    return c->hi == NULL || strcmp(key, c->hi) < 0 ? c : NULL;
}

void sfr_chunk_list_cleanup(struct sfr_chunk_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].lo);
        free(l->v[i].hi);
    }
    free(l->v);
    memset(l, 0, sizeof(*l));
}

void sfr_check_stats_cleanup(struct sfr_check_stats *s)
{
    sfr_chunk_list_cleanup(&s->chunks);
    sfr_strv_cleanup(&s->not_covered);
    sfr_strv_cleanup(&s->in_flight);
}

void sfr_check_opts_defaults(struct sfr_check_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->depth = SFR_DEPTH_CONTENT;
    o->chunk_size = 50000;
    o->bisect_factor = 16;
    o->bisect_threshold = 2000;
    o->jobs = 2;
    o->audit_start_ms = INT64_MAX;
    o->recheck_tries = 3;
    o->recheck_wait_ms = 500;
    o->watermark_ms = INT64_MIN;
}
