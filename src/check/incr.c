/* incr.c — the incremental audit of one object (`audit --since last`).
 *
 * The last run left a state per chunk: its bounds, Salesforce's and the
 * mirror's counts, the mirror's content digest (sum of row hashes), and
 * whether the chunk compared clean. This run:
 *  1. re-digests the mirror by content in one sequential pass, each row
 *     hashed into its chunk (binary search of the bounds): the mirror is
 *     local, and an edit behind Heroku Connect's back (a script writing
 *     without moving systemmodstamp) moves the digest;
 *  2. asks Salesforce for its count and max(SystemModstamp) (one call) and,
 *     when either moved since the last run, for the keys of the records
 *     changed since the watermark (SystemModstamp, queryAll so deletes come
 *     too): one or two queries whatever the object's size;
 *  3. compares whole (as a full audit would) every chunk whose mirror digest
 *     moved, that no state covers, or that was not clean for a reason
 *     other than the discrepancies the last run stored; in the other
 *     ("quiet") chunks only the changed keys and those discrepancies' keys
 *     are compared;
 *  4. once those ran, checks that Salesforce's count is what the states
 *     account for; a record purged without a trace (hard delete, emptied
 *     recycle bin) makes them differ, and then each quiet chunk is counted
 *     and those that differ are compared whole.
 * So an open discrepancy is found again every run (its chunk is not clean),
 * and nothing a full audit would find is missed, except a calculated field
 * that changed without its record's SystemModstamp (formula_stale): only a
 * full audit sees those. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checker_internal.h"
#include "sfrecon/log.h"

/* At most this many changed keys are compared one by one; more, and every
 * chunk is compared whole (as cheap, by then). */
#define INCR_MAX_KEYS 50000

struct incr_plan {
    struct sfr_chunk_list prev; /* the last run's states, sorted by lo */
    struct sfr_digest *now;     /* per state: the mirror's digest now */
    bool *quiet;                /* per state: only the changed keys compared */
    long *delta;                /* per state: Salesforce records gained since (net) */
    long sf_count;              /* Salesforce's count when the plan was made */
    struct sfr_strv changed;    /* keys Salesforce changed since the watermark (sorted) */
    const struct sfr_strv *prev_keys, *prev_absent;
};

void sfr_incr_free(struct incr_plan *ip)
{
    if (ip == NULL)
        return;
    sfr_chunk_list_cleanup(&ip->prev);
    free(ip->now);
    free(ip->quiet);
    free(ip->delta);
    sfr_strv_cleanup(&ip->changed);
    free(ip);
}

static long index_of(struct incr_plan *ip, const char *key)
{
    struct sfr_chunk_state *cs = sfr_chunk_list_find(&ip->prev, key);
    return cs != NULL ? (long)(cs - ip->prev.v) : -1;
}

static int digest_row(void *ctx, const struct sfr_row_summary *row)
{
    struct incr_plan *ip = ctx;
    long i = index_of(ip, row->sfid);
    if (i >= 0)
        sfr_digest_add_row(&ip->now[i], row->hash, row->mod_ms);
    return 0;
}

/* Salesforce's count of a quiet chunk moves by what its changed keys did:
 * live now, less live when the last run looked (the mirror's row then,
 * which was equal, or what the discrepancy it held says). */
static void seen(void *ctx, const char *sfid, bool sf_live, bool pg_live)
{
    struct incr_plan *ip = ctx;
    long i = index_of(ip, sfid);
    if (i < 0 || !sfr_strv_sorted_has(&ip->changed, sfid))
        return;
    bool then = ip->prev_keys != NULL && sfr_strv_sorted_has(ip->prev_keys, sfid)
                    ? !sfr_strv_sorted_has(ip->prev_absent, sfid)
                    : pg_live;
    ip->delta[i] += (long)sf_live - (long)then;
}

static long max_l(long a, long b)
{
    return a > b ? a : b;
}

/* Ranges no state covers: compared whole. */
static void queue_gaps(struct checker *c, const struct sfr_chunk_list *l)
{
    const char *at = NULL; /* -inf */
    bool open = true;      /* keys from `at` on are not covered yet */
    for (size_t i = 0; i < l->n; i++) {
        const struct sfr_chunk_state *s = &l->v[i];
        if (!open)
            return; /* a state reaching +inf already */
        bool same = (at == NULL && s->lo == NULL) ||
                    (at != NULL && s->lo != NULL && strcmp(at, s->lo) == 0);
        if (!same && (at == NULL || s->lo == NULL || strcmp(at, s->lo) < 0))
            sfr_checker_add_task(c, T_CONTENT, at, s->lo, -1, true);
        at = s->hi;
        open = s->hi != NULL;
    }
    if (open)
        sfr_checker_add_task(c, T_CONTENT, at, NULL, -1, true);
}

static void queue_whole(struct checker *c, const struct sfr_chunk_state *s, long rows)
{
    sfr_checker_add_task(c, T_CONTENT, s->lo, s->hi, rows, true);
}

/* The keys Salesforce changed since the watermark that fall in quiet
 * chunks, sorted; *all_whole when they cannot be listed. */
static enum sfr_rc changed_in_quiet(struct checker *c, struct incr_plan *ip, struct sfr_side *sf,
                                    struct sfr_strv *keys, bool *all_whole, struct sfr_err *err)
{
    struct sfr_strv got = {0};
    bool more = false;
    enum sfr_rc rc =
        sfr_side_changed_keys(sf, c->co->proj, c->o->watermark_ms, INCR_MAX_KEYS, &got, &more, err);
    if (rc == SFR_ENOTFOUND || (rc == SFR_OK && more)) {
        sfr_log_info("%s: %s; every chunk is compared whole", c->co->proj->obj->name,
                     more ? "too many records changed since the last audit"
                          : "the changed records cannot be listed");
        sfr_err_clear(err);
        *all_whole = true;
        rc = SFR_OK;
    }
    for (size_t k = 0; rc == SFR_OK && !*all_whole && k < got.n; k++) {
        long i = index_of(ip, got.v[k]);
        if (i >= 0 && ip->quiet[i])
            sfr_strv_push(keys, got.v[k]);
    }
    sfr_strv_cleanup(&got);
    return rc;
}

/* The open discrepancies of the last run in quiet chunks that were not
 * clean: compared again one by one. */
static void open_in_quiet(struct checker *c, struct incr_plan *ip, struct sfr_strv *keys)
{
    const struct sfr_strv *pk = c->o->prev_keys;
    for (size_t k = 0; pk != NULL && k < pk->n; k++) {
        long i = index_of(ip, pk->v[k]);
        if (i >= 0 && ip->quiet[i] && !ip->prev.v[i].clean)
            sfr_strv_push(keys, pk->v[k]);
    }
}

/* The states of the quiet chunks: the mirror's digest now, Salesforce's
 * count as the last run's plus what the changed keys added or removed. */
static void push_quiet_states(struct checker *c, struct incr_plan *ip)
{
    for (size_t i = 0; i < ip->prev.n; i++) {
        if (!ip->quiet[i])
            continue;
        const struct sfr_chunk_state *p = &ip->prev.v[i];
        long sfc = p->sf_count + ip->delta[i];
        struct sfr_chunk_state *s =
            sfr_chunk_list_push(&c->st->chunks, p->lo, p->hi, sfc, (long)ip->now[i].count,
                                p->sf_max_ms, ip->now[i].max_mod_ms);
        s->has_sum = true;
        s->pg_sum = ip->now[i].sum;
        c->st->rows_sf += sfc;
        c->st->rows_pg += (long)ip->now[i].count;
    }
}

enum sfr_rc sfr_incr_plan(struct checker *c, struct sfr_side *sf, struct sfr_side *pg,
                          struct incr_plan **out, struct sfr_err *err)
{
    const struct sfr_check_opts *o = c->o;
    struct incr_plan *ip = sfr_calloc(1, sizeof(*ip));
    for (size_t i = 0; i < o->prev->n; i++)
        sfr_chunk_list_copy(&ip->prev, &o->prev->v[i]);
    sfr_chunk_list_sort(&ip->prev);
    size_t n = ip->prev.n;
    ip->now = sfr_calloc(n + 1, sizeof(*ip->now));
    ip->quiet = sfr_calloc(n + 1, sizeof(*ip->quiet));
    ip->delta = sfr_calloc(n + 1, sizeof(*ip->delta));
    for (size_t i = 0; i < n; i++)
        sfr_digest_init(&ip->now[i]);
    bool all_whole = o->watermark_ms == INT64_MIN;
    enum sfr_rc rc = SFR_OK;
    if (!all_whole)
        rc = sfr_side_scan(pg, c->co->proj, digest_row, ip, err);
    struct sfr_digest ds;
    sfr_digest_init(&ds);
    struct sfr_range everything = {NULL, NULL};
    if (rc == SFR_OK && !all_whole)
        rc = sfr_side_digest(sf, c->co->proj, &everything, SFR_DEPTH_COUNT, &ds, err);
    if (rc == SFR_OK && !all_whole)
        ip->sf_count = (long)ds.count;
    for (size_t i = 0; rc == SFR_OK && i < n; i++) {
        const struct sfr_chunk_state *p = &ip->prev.v[i];
        /* a chunk that held discrepancies is quiet too when their keys are
         * known: they are compared one by one with the changed ones */
        ip->quiet[i] = !all_whole && (p->clean || o->prev_keys != NULL) && p->has_sum &&
                       (long)ip->now[i].count == p->pg_count && ip->now[i].sum == p->pg_sum;
    }
    /* Salesforce as the last run left it (no live record stamped since the
     * watermark, as many records): no key to ask for */
    long before = 0;
    for (size_t i = 0; i < n; i++)
        before += ip->prev.v[i].sf_count;
    bool sf_still = rc == SFR_OK && !all_whole && ip->sf_count == before &&
                    ds.max_mod_ms != INT64_MIN && ds.max_mod_ms <= o->watermark_ms;
    struct sfr_strv keys = {0};
    if (rc == SFR_OK && !all_whole && !sf_still)
        rc = changed_in_quiet(c, ip, sf, &keys, &all_whole, err);
    if (rc != SFR_OK) {
        sfr_strv_cleanup(&keys);
        sfr_incr_free(ip);
        return rc;
    }
    long whole = 0;
    for (size_t i = 0; i < n; i++) {
        if (all_whole)
            ip->quiet[i] = false;
        if (!ip->quiet[i]) {
            queue_whole(c, &ip->prev.v[i], max_l(ip->prev.v[i].sf_count, ip->prev.v[i].pg_count));
            whole++;
        }
    }
    queue_gaps(c, &ip->prev);
    sfr_strv_sort_unique(&keys);
    for (size_t k = 0; k < keys.n; k++)
        sfr_strv_push(&ip->changed, keys.v[k]);
    ip->prev_keys = o->prev_keys;
    ip->prev_absent = o->prev_absent_sf;
    if (!all_whole)
        open_in_quiet(c, ip, &keys);
    sfr_strv_sort_unique(&keys);
    sfr_log_info("%s: incremental: %ld of %zu chunks compared whole, %zu record%s compared one "
                 "by one (%zu changed since the last run, the rest open discrepancies)",
                 c->co->proj->obj->name, whole, n, keys.n, keys.n == 1 ? "" : "s", ip->changed.n);
    if (keys.n > 0)
        rc = sfr_checker_classify_keys(c, sf, pg, (const char *const *)keys.v, (int)keys.n, c->out,
                                       &c->moving, seen, ip, err);
    c->st->incr_keys += (long)keys.n;
    sfr_strv_cleanup(&keys);
    if (rc != SFR_OK || all_whole) {
        sfr_incr_free(ip);
        return rc;
    }
    push_quiet_states(c, ip);
    c->st->sf_count = ip->sf_count;
    *out = ip;
    return SFR_OK;
}

/* Drops the state whose lo is `lo` from the list (its chunk is compared
 * again), returning its counts to the totals. */
static void drop_state(struct checker *c, const char *lo)
{
    struct sfr_chunk_list *l = &c->st->chunks;
    for (size_t k = 0; k < l->n; k++) {
        struct sfr_chunk_state *s = &l->v[k];
        bool same = (lo == NULL && s->lo == NULL) ||
                    (lo != NULL && s->lo != NULL && strcmp(lo, s->lo) == 0);
        if (!same)
            continue;
        c->st->rows_sf -= s->sf_count;
        c->st->rows_pg -= s->pg_count;
        free(s->lo);
        free(s->hi);
        l->v[k] = l->v[--l->n];
        return;
    }
}

enum sfr_rc sfr_incr_reconcile(struct checker *c, struct incr_plan *ip, struct sfr_side *sf,
                               long *queued, struct sfr_err *err)
{
    *queued = 0;
    long accounted = 0;
    for (size_t k = 0; k < c->st->chunks.n; k++)
        accounted += c->st->chunks.v[k].sf_count;
    if (accounted == ip->sf_count)
        return SFR_OK;
    sfr_log_info("%s: Salesforce holds %ld records, the chunk states account for %ld: counting "
                 "each chunk",
                 c->co->proj->obj->name, ip->sf_count, accounted);
    enum sfr_rc rc = SFR_OK;
    for (size_t i = 0; i < ip->prev.n && rc == SFR_OK; i++) {
        if (!ip->quiet[i])
            continue;
        const struct sfr_chunk_state *p = &ip->prev.v[i];
        struct sfr_range r = {p->lo, p->hi};
        struct sfr_digest d;
        rc = sfr_side_digest(sf, c->co->proj, &r, SFR_DEPTH_COUNT, &d, err);
        if (rc != SFR_OK || (long)d.count == p->sf_count + ip->delta[i])
            continue;
        drop_state(c, p->lo);
        queue_whole(c, p, max_l((long)d.count, (long)ip->now[i].count));
        (*queued)++;
    }
    return rc;
}
