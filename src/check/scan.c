/* scan.c — the single-pass content audit (scan.h).
 *
 * 1. Split keys: one sample of the mirror's keys (TABLESAMPLE), sorted here in
 *    byte order, every k-th kept, so buckets hold about `bucket` rows.
 * 2. One sequential pass per side, both sides at once: each row's hash goes
 *    into the digest of its bucket (binary search of the split keys).
 * 3. Buckets whose digests differ are read again: the small ones in groups,
 *    one filtered pass per side and group (the mirror filters server-side by
 *    a binary search of the key among the groups' bounds), held in memory,
 *    sorted, merged; a bucket too large to hold (a side far denser than the
 *    sample, such as an empty mirror) goes to the chunked path, which cuts
 *    it into capped pieces.
 * 4. The differing keys are fetched in full and classified.
 * Chunk states for incremental runs are whole runs of buckets of about
 * chunk_size rows. Memory: the buckets' digests (48 bytes a bucket, at most
 * SCAN_MAX_BUCKETS) and one group of rows (at most `cap` per side). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "sfrecon/log.h"
#include "sfrecon/scan.h"
#include "sfrecon/sketch.h"

#define SCAN_MIN_BUCKET  500   /* rows a bucket holds at least (by the sample) */
#define SCAN_MAX_BUCKETS 16384 /* buckets at most, whatever the table's size */
#define SCAN_PER_BUCKET  16    /* sampled keys per bucket */
#define SCAN_MIN_CAP     1000

size_t sfr_scan_bucket_of(const char *const *keys, size_t n, const char *key)
{
    size_t lo = 0, hi = n; /* first split key above key */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(keys[mid], key) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

struct rows {
    struct sfr_row_summary *v;
    size_t n, cap;
};

/* One side's pass: digests per bucket (pass 1) or rows of ranges (pass 2). */
struct pass {
    struct sfr_side *side;
    const struct sfr_projection *p;
    const char *const *keys;
    size_t n_keys;
    struct sfr_digest *d;           /* pass 1: n_keys + 1 digests */
    struct sfr_sketch *sk;          /* and as many difference sketches */
    const struct sfr_range *ranges; /* pass 2 */
    int n_ranges;
    long expect;
    struct rows rows;
    enum sfr_rc rc;
    struct sfr_err err;
};

static int digest_row(void *ctx, const struct sfr_row_summary *row)
{
    struct pass *x = ctx;
    size_t b = sfr_scan_bucket_of(x->keys, x->n_keys, row->sfid);
    sfr_digest_add_row(&x->d[b], row->hash, row->mod_ms);
    sfr_sketch_add(&x->sk[b], row->sfid, strlen(row->sfid), row->hash);
    return 0;
}

static int keep_row(void *ctx, const struct sfr_row_summary *row)
{
    struct rows *v = &((struct pass *)ctx)->rows;
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 1024;
        v->v = sfr_realloc(v->v, v->cap * sizeof(*v->v));
    }
    v->v[v->n++] = *row;
    return 0;
}

static void *pass_run(void *arg)
{
    struct pass *x = arg;
    if (x->d != NULL)
        x->rc = sfr_side_scan(x->side, x->p, digest_row, x, &x->err);
    else
        x->rc = sfr_side_stream_ranges(x->side, x->p, x->ranges, x->n_ranges, x->expect, keep_row,
                                       x, &x->err);
    return NULL;
}

/* Runs both passes at once (each side has its own connection); the first
 * error wins. */
static enum sfr_rc run_both(struct pass *a, struct pass *b, struct sfr_err *err)
{
    pthread_t th;
    bool threaded = pthread_create(&th, NULL, pass_run, a) == 0;
    if (!threaded)
        pass_run(a);
    pass_run(b);
    if (threaded)
        pthread_join(th, NULL);
    const struct pass *bad = a->rc != SFR_OK ? a : b->rc != SFR_OK ? b : NULL;
    if (bad == NULL)
        return SFR_OK;
    if (err != NULL)
        *err = bad->err;
    return bad->rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_rows(const void *a, const void *b)
{
    return strcmp(((const struct sfr_row_summary *)a)->sfid,
                  ((const struct sfr_row_summary *)b)->sfid);
}

enum sfr_rc sfr_scan_split_keys(struct sfr_side *sf, struct sfr_side *pg,
                                const struct sfr_projection *p, long rows, struct sfr_strv *keys,
                                struct sfr_err *err)
{
    struct sfr_strv smp = {0};
    long total = 0;
    long min_bucket = rows > SCAN_MIN_BUCKET ? rows : SCAN_MIN_BUCKET;
    long every = min_bucket / SCAN_PER_BUCKET;
    long max_keys = (long)SCAN_MAX_BUCKETS * SCAN_PER_BUCKET;
    enum sfr_rc rc = sfr_side_sample_keys(pg, p, every, max_keys, &smp, &total, err);
    if (rc == SFR_ENOTFOUND) {
        sfr_err_clear(err);
        sfr_strv_cleanup(&smp);
        rc = sfr_side_sample_keys(sf, p, every, max_keys, &smp, &total, err);
    }
    if (rc != SFR_OK) {
        sfr_strv_cleanup(&smp);
        return rc;
    }
    if (smp.n > 1)
        qsort(smp.v, smp.n, sizeof(*smp.v), cmp_str);
    long bucket = total / SCAN_MAX_BUCKETS > min_bucket ? total / SCAN_MAX_BUCKETS + 1 : min_bucket;
    size_t nb = total > 0 ? (size_t)((total + bucket - 1) / bucket) : 1;
    for (size_t j = 1; j < nb && smp.n > 0; j++) {
        size_t at = j * smp.n / nb;
        if (at >= smp.n)
            break;
        const char *k = smp.v[at];
        if (keys->n == 0 || strcmp(keys->v[keys->n - 1], k) < 0)
            sfr_strv_push(keys, k);
    }
    sfr_log_debug("%s: %zu buckets of about %ld rows from %zu sampled keys", p->obj->name,
                  keys->n + 1, bucket, smp.n);
    sfr_strv_cleanup(&smp);
    return SFR_OK;
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

struct scan {
    const struct sfr_check_object *co;
    const struct sfr_check_opts *o;
    struct sfr_side *sf, *pg;
    const char *const *keys;
    size_t n_keys;
    struct sfr_digest *ds, *dp;
    struct sfr_sketch *ks, *kp;
    bool *large;  /* buckets handed to the chunked path, which records their states */
    bool *reread; /* buckets compared row by row (here or by the chunked path) */
    struct sfr_disc_list *out;
    struct sfr_check_stats *st;
    struct sfr_moving moving; /* changed while the audit ran: compared at the end */
    bool count_rows;          /* compare_ranges adds the rows it read to the stats */
};

static struct sfr_range bucket_range(const struct scan *s, size_t b)
{
    struct sfr_range r = {b > 0 ? s->keys[b - 1] : NULL, b < s->n_keys ? s->keys[b] : NULL};
    return r;
}

/* Merges two sorted row lists; keys present on one side only, with
 * different hashes, or repeated on one side (duplicates) are pushed. */
static void merge(const struct rows *a, const struct rows *b, struct sfr_strv *diff)
{
    size_t i = 0, j = 0;
    while (i < a->n || j < b->n) {
        int k = i >= a->n ? 1 : j >= b->n ? -1 : strcmp(a->v[i].sfid, b->v[j].sfid);
        const char *key = k <= 0 ? a->v[i].sfid : b->v[j].sfid;
        bool differs = k != 0;
        size_t i0 = i, j0 = j;
        if (k <= 0)
            while (i < a->n && strcmp(a->v[i].sfid, key) == 0)
                i++;
        if (k >= 0)
            while (j < b->n && strcmp(b->v[j].sfid, key) == 0)
                j++;
        if (!differs)
            differs = i - i0 != 1 || j - j0 != 1 || a->v[i0].hash != b->v[j0].hash;
        if (differs)
            sfr_strv_push(diff, key);
    }
}

/* Reads the ranges r[0..n) (sorted, disjoint; es and ep rows expected on
 * each side) from both sides in one pass each, compares them key by key and
 * classifies what differs; *ranges_hit counts the ranges that really
 * differ. */
static enum sfr_rc compare_ranges(struct scan *s, const struct sfr_range *r, size_t n, long es,
                                  long ep, long *ranges_hit, struct sfr_err *err)
{
    struct pass a = {
        .side = s->sf, .p = s->co->proj, .ranges = r, .n_ranges = (int)n, .expect = es};
    struct pass b = {
        .side = s->pg, .p = s->co->proj, .ranges = r, .n_ranges = (int)n, .expect = ep};
    struct sfr_strv diff = {0};
    long rechecked = 0;
    enum sfr_rc rc = run_both(&a, &b, err);
    if (rc == SFR_OK) {
        qsort(a.rows.v, a.rows.n, sizeof(*a.rows.v), cmp_rows);
        qsort(b.rows.v, b.rows.n, sizeof(*b.rows.v), cmp_rows);
        merge(&a.rows, &b.rows, &diff);
        if (diff.n > 0)
            rc = sfr_check_keys_counted(s->co, s->sf, s->pg, (const char *const *)diff.v,
                                        (int)diff.n, s->o->audit_start_ms, s->out, &s->moving,
                                        &rechecked, err);
    }
    s->st->keys_differing += (long)diff.n;
    s->st->rechecked_changed += rechecked;
    if (s->count_rows) {
        s->st->rows_sf += (long)a.rows.n;
        s->st->rows_pg += (long)b.rows.n;
    }
    for (size_t k = 0, d = 0; k < n && diff.n > 0; k++) {
        bool hit = false;
        while (d < diff.n && (r[k].hi == NULL || strcmp(diff.v[d], r[k].hi) < 0)) {
            hit = hit || r[k].lo == NULL || strcmp(diff.v[d], r[k].lo) >= 0;
            d++;
        }
        *ranges_hit += hit;
    }
    sfr_strv_cleanup(&diff);
    free(a.rows.v);
    free(b.rows.v);
    return rc;
}

/* Reads the buckets idx[0..n) from both sides in one pass each, compares
 * them key by key and classifies what differs. */
static enum sfr_rc compare_group(struct scan *s, const size_t *idx, size_t n, struct sfr_err *err)
{
    struct sfr_range *r = sfr_calloc(n + 1, sizeof(*r));
    long es = 0, ep = 0;
    for (size_t k = 0; k < n; k++) {
        r[k] = bucket_range(s, idx[k]);
        es += (long)s->ds[idx[k]].count;
        ep += (long)s->dp[idx[k]].count;
    }
    enum sfr_rc rc = compare_ranges(s, r, n, es, ep, &s->st->chunks_mismatched, err);
    free(r);
    return rc;
}

enum sfr_rc sfr_scan_compare_ranges(const struct sfr_check_object *co,
                                    const struct sfr_check_opts *o, struct sfr_side *sf,
                                    struct sfr_side *pg, const struct sfr_range *r,
                                    const long *rows, size_t n, struct sfr_disc_list *out,
                                    struct sfr_check_stats *st, struct sfr_err *err)
{
    struct scan s = {co,   o,    sf,   pg,   NULL, 0,  NULL, NULL,
                     NULL, NULL, NULL, NULL, out,  st, {0},  true};
    long cap = o->chunk_size * 4 > SCAN_MIN_CAP ? o->chunk_size * 4 : SCAN_MIN_CAP;
    enum sfr_rc rc = SFR_OK;
    for (size_t from = 0; from < n && rc == SFR_OK;) {
        size_t to = from;
        long held = 0;
        while (to < n && (to == from || held + rows[to] <= cap))
            held += rows[to++];
        rc = compare_ranges(&s, r + from, to - from, held, held, &st->chunks_mismatched, err);
        from = to;
    }
    return sfr_check_settle(co, o, sf, pg, &s.moving, rc, out, st, err);
}

/* Hands buckets too large to hold to the chunked path. */
static enum sfr_rc compare_large(struct scan *s, const size_t *idx, size_t n,
                                 sfr_side_factory factory, void *fctx, struct sfr_err *err)
{
    struct sfr_range *r = sfr_calloc(n + 1, sizeof(*r));
    long *expect = sfr_calloc(n + 1, sizeof(*expect));
    for (size_t k = 0; k < n; k++) {
        r[k] = bucket_range(s, idx[k]);
        uint64_t c =
            s->ds[idx[k]].count > s->dp[idx[k]].count ? s->ds[idx[k]].count : s->dp[idx[k]].count;
        expect[k] = (long)c;
    }
    struct sfr_check_stats st;
    memset(&st, 0, sizeof(st));
    enum sfr_rc rc =
        sfr_check_ranges(s->co, s->o, factory, fctx, r, expect, (int)n, s->out, &st, err);
    s->st->keys_differing += st.keys_differing;
    s->st->rechecked_changed += st.rechecked_changed;
    s->st->chunks_mismatched += st.chunks_mismatched;
    s->st->api_calls += st.api_calls;
    for (size_t u = 0; u < st.not_covered.n; u++)
        sfr_strv_push(&s->st->not_covered, st.not_covered.v[u]);
    for (size_t u = 0; u < st.chunks.n; u++)
        sfr_chunk_list_copy(&s->st->chunks, &st.chunks.v[u]);
    for (size_t u = 0; u < st.in_flight.n; u++)
        sfr_strv_push(&s->st->in_flight, st.in_flight.v[u]);
    for (size_t k = 0; k < n; k++)
        s->large[idx[k]] = true;
    sfr_check_stats_cleanup(&st);
    free(r);
    free(expect);
    return rc;
}

/* Chunk states: runs of buckets holding about chunk_size rows; a bucket the
 * chunked path compared has its states from there. */
static void record_chunks(struct scan *s)
{
    long want = s->o->chunk_size > 0 ? s->o->chunk_size : 50000;
    size_t start = 0;
    long sfc = 0, pgc = 0;
    uint64_t pgs = 0;
    int64_t sfm = INT64_MIN, pgm = INT64_MIN;
    for (size_t b = 0; b <= s->n_keys; b++) {
        if (s->large[b]) {
            start = b + 1;
            continue;
        }
        sfc += (long)s->ds[b].count;
        pgc += (long)s->dp[b].count;
        pgs += s->dp[b].sum;
        sfm = max64(sfm, s->ds[b].max_mod_ms);
        pgm = max64(pgm, s->dp[b].max_mod_ms);
        if (b < s->n_keys && !s->large[b + 1] && (sfc > pgc ? sfc : pgc) < want)
            continue;
        struct sfr_range lo = bucket_range(s, start), hi = bucket_range(s, b);
        struct sfr_chunk_state *cs =
            sfr_chunk_list_push(&s->st->chunks, lo.lo, hi.hi, sfc, pgc, sfm, pgm);
        cs->has_sum = true;
        cs->pg_sum = pgs;
        start = b + 1;
        sfc = pgc = 0;
        pgs = 0;
        sfm = pgm = INT64_MIN;
    }
    for (size_t k = 0; k < s->st->chunks.n; k++) {
        s->st->sf_max_mod_ms = max64(s->st->sf_max_mod_ms, s->st->chunks.v[k].sf_max_ms);
        s->st->pg_max_mod_ms = max64(s->st->pg_max_mod_ms, s->st->chunks.v[k].pg_max_ms);
    }
}

/* Classifies the keys read out of sketches (sorted, distinct first). */
static enum sfr_rc classify_decoded(struct scan *s, struct sfr_strv *keys, size_t buckets,
                                    struct sfr_err *err)
{
    qsort(keys->v, keys->n, sizeof(*keys->v), cmp_str);
    size_t m = 0;
    for (size_t i = 0; i < keys->n; i++) {
        /* a bucket read again was compared whole already */
        size_t b = sfr_scan_bucket_of(s->keys, s->n_keys, keys->v[i]);
        if ((m > 0 && strcmp(keys->v[m - 1], keys->v[i]) == 0) || s->reread[b]) {
            sfr_free(keys->v[i]);
            continue;
        }
        keys->v[m++] = keys->v[i];
    }
    keys->n = m;
    long rechecked = 0;
    enum sfr_rc rc =
        sfr_check_keys_counted(s->co, s->sf, s->pg, (const char *const *)keys->v, (int)keys->n,
                               s->o->audit_start_ms, s->out, &s->moving, &rechecked, err);
    s->st->keys_differing += (long)keys->n;
    s->st->rechecked_changed += rechecked;
    s->st->chunks_mismatched += (long)buckets;
    return rc;
}

/* Passes 1-4 over a pair of sides whose split keys are known. */
static enum sfr_rc scan_run(struct scan *s, sfr_side_factory factory, void *fctx,
                            struct sfr_err *err)
{
    size_t nb = s->n_keys + 1;
    struct pass a = {.side = s->sf, .p = s->co->proj, .keys = s->keys, .n_keys = s->n_keys};
    struct pass b = a;
    b.side = s->pg;
    a.d = s->ds;
    b.d = s->dp;
    a.sk = s->ks;
    b.sk = s->kp;
    for (size_t k = 0; k < nb; k++) {
        sfr_digest_init(&s->ds[k]);
        sfr_digest_init(&s->dp[k]);
    }
    enum sfr_rc rc = run_both(&a, &b, err);
    if (rc != SFR_OK)
        return rc;
    sfr_log_debug("%s: pass 1 done (%ld + %ld rows)", s->co->proj->obj->name,
                  s->sf->stats.rows_read, s->pg->stats.rows_read);
    long cap = s->o->chunk_size * 4 > SCAN_MIN_CAP ? s->o->chunk_size * 4 : SCAN_MIN_CAP;
    size_t *small = sfr_calloc(nb, sizeof(*small)), *large = sfr_calloc(nb, sizeof(*large));
    size_t n_small = 0, n_large = 0, from = 0;
    long held = 0;
    for (size_t k = 0; k < nb; k++) {
        s->st->rows_sf += (long)s->ds[k].count;
        s->st->rows_pg += (long)s->dp[k].count;
    }
    struct sfr_strv decoded = {0};
    size_t n_decoded = 0;
    /* duplicates both sides hold alike cancel out of the digests */
    rc = sfr_side_duplicate_keys(s->pg, s->co->proj, &decoded, err);
    for (size_t k = 0; k < nb && rc == SFR_OK; k++) {
        if (sfr_digest_equal_content(&s->ds[k], &s->dp[k]))
            continue;
        if (sfr_sketch_decode(&s->ks[k], &s->kp[k], (int64_t)(s->ds[k].count - s->dp[k].count),
                              s->ds[k].sum - s->dp[k].sum, &decoded)) {
            n_decoded++;
            continue;
        }
        long rows = (long)(s->ds[k].count > s->dp[k].count ? s->ds[k].count : s->dp[k].count);
        s->reread[k] = true;
        if (rows > cap / 2) {
            large[n_large++] = k;
            continue;
        }
        if (held + rows > cap && n_small > from) {
            rc = compare_group(s, small + from, n_small - from, err);
            from = n_small;
            held = 0;
        }
        small[n_small++] = k;
        held += rows;
    }
    if (rc == SFR_OK && n_small > from)
        rc = compare_group(s, small + from, n_small - from, err);
    sfr_log_debug("%s: %zu of %zu buckets differ: %zu read from their sketches, %zu read "
                  "again, %zu too large to hold",
                  s->co->proj->obj->name, n_decoded + n_small + n_large, nb, n_decoded, n_small,
                  n_large);
    if (rc == SFR_OK && decoded.n > 0)
        rc = classify_decoded(s, &decoded, n_decoded, err);
    sfr_strv_cleanup(&decoded);
    if (rc == SFR_OK && n_large > 0)
        rc = compare_large(s, large, n_large, factory, fctx, err);
    rc = sfr_check_settle(s->co, s->o, s->sf, s->pg, &s->moving, rc, s->out, s->st, err);
    if (rc == SFR_OK)
        record_chunks(s);
    free(small);
    free(large);
    return rc;
}

enum sfr_rc sfr_scan_object(const struct sfr_check_object *co, const struct sfr_check_opts *o,
                            sfr_side_factory factory, void *factory_ctx, struct sfr_disc_list *out,
                            struct sfr_check_stats *stats, struct sfr_err *err)
{
    if (o->depth != SFR_DEPTH_CONTENT || o->prev != NULL || o->single_pass < 0)
        return SFR_ENOTFOUND;
    struct sfr_side *sf = NULL, *pg = NULL;
    enum sfr_rc rc = factory(factory_ctx, &sf, &pg, err);
    if (rc != SFR_OK)
        return rc;
    struct sfr_strv keys = {0};
    struct scan s = {co,   o,    sf,   pg,   NULL, 0,     NULL, NULL,
                     NULL, NULL, NULL, NULL, out,  stats, {0},  false};
    /* Salesforce is read in one query (one Bulk job) instead of a query per
     * range: fewer API calls whatever the mirror's indexes */
    bool from_sf = sf->src == SFR_SRC_SF;
    if (o->single_pass == 0 && !from_sf) {
        struct sfr_err e = {0};
        bool indexed =
            sfr_side_ranges_indexed(sf, co->proj, &e) && sfr_side_ranges_indexed(pg, co->proj, &e);
        if (indexed) {
            rc = SFR_ENOTFOUND;
            goto out;
        }
    }
    rc = sfr_scan_split_keys(sf, pg, co->proj, SCAN_MIN_BUCKET, &keys, err);
    if (rc != SFR_OK)
        goto out;
    /* routine with Salesforce (debug); a hint about the indexes otherwise */
    if (from_sf || o->single_pass > 0)
        sfr_log_debug("%s: single-pass audit (%zu buckets): %s", co->proj->obj->name, keys.n + 1,
                      from_sf ? "Salesforce is read in one query, not one per range" : "asked for");
    else
        sfr_log_info("%s: single-pass audit (%zu buckets): a side has no index serving byte-order "
                     "ranges of sfid",
                     co->proj->obj->name, keys.n + 1);
    stats->complete = true;
    s.keys = (const char *const *)keys.v;
    s.n_keys = keys.n;
    s.ds = sfr_calloc(keys.n + 1, sizeof(*s.ds));
    s.dp = sfr_calloc(keys.n + 1, sizeof(*s.dp));
    s.ks = sfr_calloc(keys.n + 1, sizeof(*s.ks));
    s.kp = sfr_calloc(keys.n + 1, sizeof(*s.kp));
    s.large = sfr_calloc(keys.n + 1, sizeof(*s.large));
    s.reread = sfr_calloc(keys.n + 1, sizeof(*s.reread));
    rc = scan_run(&s, factory, factory_ctx, err);
    if (rc != SFR_OK) {
        stats->complete = false;
        if (stats->not_covered.n == 0)
            sfr_strv_push(&stats->not_covered, "[-inf, +inf)");
    }
    free(s.ds);
    free(s.dp);
    free(s.ks);
    free(s.kp);
    free(s.large);
    free(s.reread);
out:
    stats->api_calls += sf->stats.api_calls + pg->stats.api_calls;
    sfr_strv_cleanup(&keys);
    sfr_side_free(sf);
    sfr_side_free(pg);
    return rc;
}
