/* model.c — the discrepancy model: cause names, discrepancy and chunk lists. */
#include <stdio.h>
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

/* ---- spilling: one discrepancy as length-prefixed fields ---- */

static void put_i64(FILE *f, int64_t v)
{
    fwrite(&v, sizeof(v), 1, f);
}

static void put_str(FILE *f, const char *s)
{
    int64_t n = s == NULL ? -1 : (int64_t)strlen(s);
    put_i64(f, n);
    if (n > 0)
        fwrite(s, 1, (size_t)n, f);
}

static bool get_i64(FILE *f, int64_t *v)
{
    return fread(v, sizeof(*v), 1, f) == 1;
}

static bool get_str(FILE *f, char **out)
{
    int64_t n;
    *out = NULL;
    if (!get_i64(f, &n) || n < -1 || n > (int64_t)1 << 32)
        return false;
    if (n < 0)
        return true;
    char *s = sfr_malloc((size_t)n + 1);
    if (n > 0 && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        return false;
    }
    s[n] = '\0';
    *out = s;
    return true;
}

static void write_disc(FILE *f, const struct sfr_discrepancy *d)
{
    put_i64(f, d->cause);
    put_i64(f, d->pg_id);
    put_i64(f, d->sf_mod_ms);
    put_i64(f, d->pg_mod_ms);
    put_i64(f, d->open_since);
    put_str(f, d->object);
    put_str(f, d->sfid);
    put_str(f, d->detail);
    put_str(f, d->parent_object);
    put_str(f, d->parent_sfid);
    put_i64(f, d->n_fields);
    for (int i = 0; i < d->n_fields; i++) {
        put_str(f, d->fields[i].field);
        put_str(f, d->fields[i].sf_value);
        put_str(f, d->fields[i].pg_value);
    }
}

static bool read_disc(FILE *f, struct sfr_discrepancy *d)
{
    int64_t cause = 0, pg_id = 0, nf = 0;
    memset(d, 0, sizeof(*d));
    bool ok = get_i64(f, &cause) && get_i64(f, &pg_id) && get_i64(f, &d->sf_mod_ms) &&
              get_i64(f, &d->pg_mod_ms);
    int64_t since = 0;
    ok = ok && get_i64(f, &since) && get_str(f, &d->object) && get_str(f, &d->sfid) &&
         get_str(f, &d->detail) && get_str(f, &d->parent_object) && get_str(f, &d->parent_sfid) &&
         get_i64(f, &nf) && nf >= 0 && nf < 100000;
    d->cause = (enum sfr_cause)cause;
    d->pg_id = (long)pg_id;
    d->open_since = (long)since;
    for (int64_t i = 0; ok && i < nf; i++) {
        char *a, *b, *c;
        ok = get_str(f, &a) && get_str(f, &b) && get_str(f, &c);
        if (ok) {
            sfr_discrepancy_add_field(d, a, b, c);
            free(a);
            free(b);
            free(c);
        }
    }
    if (!ok)
        sfr_discrepancy_cleanup(d);
    return ok;
}

/* Moves the discrepancies held in memory to the spill file. */
static void spill(struct sfr_disc_list *l)
{
    if (l->spill == NULL && (l->spill = tmpfile()) == NULL)
        return; /* no temporary file: the list stays in memory */
    FILE *f = l->spill;
    fseek(f, 0, SEEK_END);
    for (size_t i = 0; i < l->n; i++) {
        write_disc(f, &l->v[i]);
        sfr_discrepancy_cleanup(&l->v[i]);
    }
    fflush(f);
    l->n_spilled += l->n;
    l->n = 0;
}

/* SFR_DISC_SPILL, or SFRECON_DISC_SPILL from the environment (tests make
 * small runs spill with it). */
static size_t spill_at(void)
{
    static size_t at;
    if (at == 0) {
        const char *v = getenv("SFRECON_DISC_SPILL");
        long n = v != NULL ? atol(v) : 0;
        at = n > 0 ? (size_t)n : SFR_DISC_SPILL;
    }
    return at;
}

void sfr_disc_list_push(struct sfr_disc_list *l, struct sfr_discrepancy *d)
{
    if (l->spillable && l->n >= spill_at())
        spill(l);
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = sfr_realloc(l->v, l->cap * sizeof(*l->v));
    }
    if ((unsigned)d->cause < SFR_CAUSE_N)
        l->by_cause[d->cause]++;
    l->v[l->n++] = *d;
    memset(d, 0, sizeof(*d));
}

size_t sfr_disc_list_count(const struct sfr_disc_list *l)
{
    return l->n_spilled + l->n;
}

void sfr_disc_iter_begin(struct sfr_disc_iter *it, const struct sfr_disc_list *l, size_t from)
{
    memset(it, 0, sizeof(*it));
    it->l = l;
    it->at = 0;
    if (l->spill != NULL)
        rewind(l->spill);
    /* skip spilled ones before from */
    while (it->at < from && it->at < l->n_spilled) {
        if (!read_disc(l->spill, &it->cur)) {
            it->err = true;
            it->at = l->n_spilled;
            break;
        }
        sfr_discrepancy_cleanup(&it->cur);
        it->at++;
    }
    if (from > it->at)
        it->at = from;
}

const struct sfr_discrepancy *sfr_disc_iter_next(struct sfr_disc_iter *it)
{
    const struct sfr_disc_list *l = it->l;
    sfr_discrepancy_cleanup(&it->cur);
    if (it->at < l->n_spilled) {
        it->at++;
        if (read_disc(l->spill, &it->cur))
            return &it->cur;
        it->err = true;
        it->at = l->n_spilled;
    }
    size_t k = it->at - l->n_spilled;
    if (k >= l->n)
        return NULL;
    it->at++;
    return &l->v[k];
}

void sfr_disc_iter_end(struct sfr_disc_iter *it)
{
    sfr_discrepancy_cleanup(&it->cur);
}

void sfr_discrepancy_copy(struct sfr_discrepancy *dst, const struct sfr_discrepancy *src)
{
    *dst = *src;
    dst->object = sfr_strdup(src->object);
    dst->sfid = sfr_strdup(src->sfid);
    dst->detail = sfr_strdup(src->detail);
    dst->parent_object = sfr_strdup(src->parent_object);
    dst->parent_sfid = sfr_strdup(src->parent_sfid);
    dst->fields = NULL;
    dst->n_fields = 0;
    for (int i = 0; i < src->n_fields; i++)
        sfr_discrepancy_add_field(dst, src->fields[i].field, src->fields[i].sf_value,
                                  src->fields[i].pg_value);
}

bool sfr_disc_list_materialize(const struct sfr_disc_list *l, struct sfr_disc_list *out)
{
    memset(out, 0, sizeof(*out));
    struct sfr_disc_iter it;
    sfr_disc_iter_begin(&it, l, 0);
    const struct sfr_discrepancy *d;
    while ((d = sfr_disc_iter_next(&it)) != NULL) {
        struct sfr_discrepancy c;
        sfr_discrepancy_copy(&c, d);
        sfr_disc_list_push(out, &c);
    }
    bool ok = !it.err;
    sfr_disc_iter_end(&it);
    return ok;
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
    if (l->spill != NULL)
        fclose(l->spill);
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
