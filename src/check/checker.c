/* checker.c — compares one object between two sides (docs/architecture.md).
 *
 * Work is a queue of range tasks served by `jobs` threads, each with its own
 * pair of sides (sides are single-threaded):
 *  - CONTENT: stream (sfid, row hash, modstamp) of the range from both sides,
 *    merge in byte order, collect the keys that differ;
 *  - COUNT: server-side count + max(SystemModstamp) on both sides; a
 *    mismatched range is split B ways at keys sampled from the mirror, down to
 *    ranges of at most `leaf` rows, which are compared as CONTENT;
 *  - incremental runs (incr.c) queue CONTENT tasks for the chunks of the
 *    last run that were not clean or whose mirror content moved, and compare
 *    record by record what Salesforce changed in the others.
 * Differing keys are fetched in full from both sides and classified; keys
 * that changed while the audit ran are compared again at the end
 * (sfr_check_recheck). Memory is bounded by chunk size x jobs: a task holds
 * at most its range's rows. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "checker_internal.h"
#include "sfrecon/log.h"
#include "sfrecon/scan.h"
#include "sfrecon/sfid.h"
#include "sfrecon/testhook.h"

struct rowvec {
    struct sfr_row_summary *v;
    size_t n, cap;
};

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

static void push_task(struct checker *c, const struct task *t)
{
    if (c->qn == c->qcap) {
        c->qcap = c->qcap ? c->qcap * 2 : 32;
        c->q = sfr_realloc(c->q, c->qcap * sizeof(*c->q));
    }
    c->q[c->qn++] = *t;
    c->tasks_total++;
}

void sfr_checker_add_task(struct checker *c, enum task_kind kind, const char *lo, const char *hi,
                          long expect, bool record_state)
{
    struct task t;
    memset(&t, 0, sizeof(t));
    t.kind = kind;
    t.lo = sfr_strdup(lo);
    t.hi = sfr_strdup(hi);
    t.expect = expect;
    t.record_state = record_state;
    push_task(c, &t);
}

static void free_task(struct task *t)
{
    free(t->lo);
    free(t->hi);
}

static void range_text(const struct task *t, struct sfr_strv *sv)
{
    sfr_strv_take(sv, sfr_asprintf("[%s, %s)", t->lo ? t->lo : "-inf", t->hi ? t->hi : "+inf"));
}

/* Records a fatal error once; on a budget stop, remembers what was not covered. */
static void fail(struct checker *c, enum sfr_rc rc, const struct sfr_err *err, const struct task *t)
{
    pthread_mutex_lock(&c->mu);
    if (c->rc == SFR_OK) {
        c->rc = rc;
        if (err != NULL)
            c->err = *err;
    }
    c->stop = true;
    if (t != NULL)
        range_text(t, &c->st->not_covered);
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

static int collect_row(void *ctx, const struct sfr_row_summary *row)
{
    struct rowvec *v = ctx;
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 1024;
        v->v = sfr_realloc(v->v, v->cap * sizeof(*v->v));
    }
    v->v[v->n++] = *row;
    return 0;
}

/* Collects a range's rows up to a cap. A side whose range holds far more
 * rows than the chunks suggest (a mirror missing most of Salesforce) is cut at
 * the first row past the cap; the rest of the range becomes a task of its own,
 * so memory stays bounded by chunk size. Only rows arriving in key order can
 * be cut; an unordered source is collected whole. */
struct collector {
    struct rowvec *v;
    long cap;
    bool unordered;
    bool stopped;
    char split[64]; /* first key not collected */
};

static int collect_capped(void *ctx, const struct sfr_row_summary *row)
{
    struct collector *k = ctx;
    struct rowvec *v = k->v;
    if (v->n > 0 && strcmp(v->v[v->n - 1].sfid, row->sfid) > 0)
        k->unordered = true;
    if (k->cap > 0 && !k->unordered && (long)v->n >= k->cap &&
        strcmp(v->v[v->n - 1].sfid, row->sfid) < 0) {
        k->stopped = true;
        snprintf(k->split, sizeof(k->split), "%s", row->sfid);
        return 1;
    }
    return collect_row(v, row);
}

static int cmp_rows(const void *a, const void *b)
{
    return strcmp(((const struct sfr_row_summary *)a)->sfid,
                  ((const struct sfr_row_summary *)b)->sfid);
}

static bool sorted(const struct rowvec *v)
{
    for (size_t i = 1; i < v->n; i++)
        if (strcmp(v->v[i - 1].sfid, v->v[i].sfid) > 0)
            return false;
    return true;
}

/* Fetched records, kept sorted by sfid for lookup. */
struct recvec {
    struct sfr_record *v;
    size_t n, cap;
};

static int collect_record(void *ctx, const struct sfr_record *r)
{
    struct recvec *v = ctx;
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 64;
        v->v = sfr_realloc(v->v, v->cap * sizeof(*v->v));
    }
    struct sfr_record *d = &v->v[v->n++];
    memset(d, 0, sizeof(*d));
    d->sfid = sfr_strdup(r->sfid);
    d->n_values = r->n_values;
    d->values = sfr_calloc((size_t)r->n_values, sizeof(char *));
    for (int i = 0; i < r->n_values; i++)
        d->values[i] = sfr_strdup(r->values[i]);
    d->mod_ms = r->mod_ms;
    d->pg_id = r->pg_id;
    d->dup_count = r->dup_count;
    d->hc_lastop = sfr_strdup(r->hc_lastop);
    d->hc_err = sfr_strdup(r->hc_err);
    d->trigger_failed = sfr_strdup(r->trigger_failed);
    d->queued_ms = r->queued_ms;
    d->has_status = r->has_status;
    d->has_tlog = r->has_tlog;
    return 0;
}

static int cmp_recs(const void *a, const void *b)
{
    return strcmp(((const struct sfr_record *)a)->sfid, ((const struct sfr_record *)b)->sfid);
}

static const struct sfr_record *find_rec(const struct recvec *v, const char *sfid)
{
    struct sfr_record key = {0};
    key.sfid = (char *)sfid;
    if (v->n == 0)
        return NULL;
    return bsearch(&key, v->v, v->n, sizeof(*v->v), cmp_recs);
}

static void recvec_cleanup(struct recvec *v)
{
    for (size_t i = 0; i < v->n; i++)
        sfr_record_cleanup(&v->v[i]);
    free(v->v);
    memset(v, 0, sizeof(*v));
}

static bool in_list(const struct sfr_strv *l, const char *key)
{
    for (size_t h = 0; h < l->n; h++)
        if (strcmp(l->v[h], key) == 0)
            return true;
    return false;
}

static bool live_sf(const struct sfr_check_object *co, const struct sfr_record *r)
{
    int k = co->proj->idx_isdeleted;
    if (r == NULL)
        return false;
    return k < 0 || k >= r->n_values || r->values[k] == NULL || strcmp(r->values[k], "true") != 0;
}

/* Both sides' records of ids[0..n), each side sorted by sfid for find_rec. */
static enum sfr_rc fetch_pair(struct checker *c, struct sfr_side *sf, struct sfr_side *pg,
                              const char *const *ids, int n, struct recvec *a, struct recvec *b,
                              struct sfr_err *err)
{
    enum sfr_rc rc = sfr_side_fetch(sf, c->co->proj, ids, n, collect_record, a, err);
    if (rc == SFR_OK)
        rc = sfr_side_fetch(pg, c->co->proj, ids, n, collect_record, b, err);
    if (a->n > 1)
        qsort(a->v, a->n, sizeof(*a->v), cmp_recs);
    if (b->n > 1)
        qsort(b->v, b->n, sizeof(*b->v), cmp_recs);
    return rc;
}

/* A mirror row keyed by the 15-character form of a live record's Id is one
 * record stored in the wrong representation, not a missing pair: reported
 * once, and both keys are handled. */
static void short_ids(struct checker *c, const struct recvec *a, const struct recvec *b,
                      struct sfr_disc_list *out, struct sfr_strv *handled)
{
    for (size_t k = 0; k < b->n; k++) {
        char id18[19];
        const struct sfr_record *rp = &b->v[k];
        if (strlen(rp->sfid) != 15 || !sfr_sfid_to18(rp->sfid, 15, id18))
            continue;
        const struct sfr_record *rs = find_rec(a, id18);
        if (rs == NULL)
            continue;
        struct sfr_discrepancy d;
        memset(&d, 0, sizeof(d));
        d.object = sfr_strdup(c->co->proj->obj->name);
        d.sfid = sfr_strdup(id18);
        d.cause = SFR_CAUSE_TYPE_MISMATCH;
        d.pg_id = rp->pg_id;
        d.sf_mod_ms = rs->mod_ms;
        d.pg_mod_ms = rp->mod_ms;
        d.detail = sfr_asprintf("the mirror row's sfid holds the 15-character Id %s (joins on "
                                "sfid miss it)",
                                rp->sfid);
        sfr_discrepancy_add_field(&d, "Id", id18, rp->sfid);
        sfr_disc_list_push(out, &d);
        sfr_strv_push(handled, id18);
        sfr_strv_push(handled, rp->sfid);
    }
}

/* Fetches both sides of ids[0..n) and classifies them. */
static enum sfr_rc classify_batch(struct checker *c, struct sfr_side *sf, struct sfr_side *pg,
                                  const char *const *ids, int n, struct sfr_disc_list *out,
                                  struct sfr_moving *moving, long *rechecked, sfr_seen_fn seen,
                                  void *seen_ctx, struct sfr_err *err)
{
    struct recvec a = {0}, b = {0};
    struct sfr_strv handled = {0};
    enum sfr_rc rc = fetch_pair(c, sf, pg, ids, n, &a, &b, err);
    if (rc != SFR_OK)
        goto out;
    short_ids(c, &a, &b, out, &handled);
    int64_t start = c->o->audit_start_ms;
    for (int i = 0; i < n; i++) {
        const struct sfr_record *rs = find_rec(&a, ids[i]);
        const struct sfr_record *rp = find_rec(&b, ids[i]);
        if (seen != NULL)
            seen(seen_ctx, ids[i], live_sf(c->co, rs), rp != NULL);
        if (in_list(&handled, ids[i]))
            continue;
        if ((rs != NULL && rs->mod_ms >= start) || (rp != NULL && rp->mod_ms >= start)) {
            (*rechecked)++;
            if (moving != NULL)
                sfr_moving_push(moving, ids[i], rs ? rs->mod_ms : INT64_MIN,
                                rp ? rp->mod_ms : INT64_MIN);
            continue;
        }
        struct sfr_discrepancy d;
        if (sfr_classify(c->co, rs, rp, &d))
            sfr_disc_list_push(out, &d);
    }
out:
    sfr_strv_cleanup(&handled);
    recvec_cleanup(&a);
    recvec_cleanup(&b);
    return rc;
}

/* Classifies the differing keys in batches, so only one batch of full
 * records is held at a time. A 15-character key travels with its neighbour
 * (they sort next to each other), so a batch never ends between them. */
static enum sfr_rc classify_keys(struct checker *c, struct sfr_side *sf, struct sfr_side *pg,
                                 const char *const *ids, int n, struct sfr_disc_list *out,
                                 struct sfr_moving *moving, long *rechecked, sfr_seen_fn seen,
                                 void *seen_ctx, struct sfr_err *err)
{
    const int batch = 300;
    enum sfr_rc rc = SFR_OK;
    for (int i = 0; i < n && rc == SFR_OK;) {
        int m = n - i < batch ? n - i : batch;
        if (i + m < n && strlen(ids[i + m - 1]) == 15)
            m++;
        rc = classify_batch(c, sf, pg, ids + i, m, out, moving, rechecked, seen, seen_ctx, err);
        i += m;
    }
    return rc;
}

enum sfr_rc sfr_checker_classify_keys(struct checker *c, struct sfr_side *sf, struct sfr_side *pg,
                                      const char *const *ids, int n, struct sfr_disc_list *out,
                                      struct sfr_moving *moving, sfr_seen_fn seen, void *seen_ctx,
                                      struct sfr_err *err)
{
    long rechecked = 0;
    enum sfr_rc rc = classify_keys(c, sf, pg, ids, n, out, moving, &rechecked, seen, seen_ctx, err);
    c->st->rechecked_changed += rechecked;
    return rc;
}

/* Keeps a range for the grouped comparison at the end (the caller holds
 * no lock). */
static void defer(struct checker *c, const struct task *t)
{
    pthread_mutex_lock(&c->mu);
    struct deferred *d = &c->deferred;
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 16;
        d->r = sfr_realloc(d->r, d->cap * sizeof(*d->r));
        d->rows = sfr_realloc(d->rows, d->cap * sizeof(*d->rows));
    }
    d->r[d->n].lo = sfr_strdup(t->lo);
    d->r[d->n].hi = sfr_strdup(t->hi);
    d->rows[d->n++] = t->expect > 0 ? t->expect : 1;
    pthread_mutex_unlock(&c->mu);
}

/* Streams both sides of a range and classifies the differing keys. */
static enum sfr_rc run_content(struct checker *c, struct sfr_side *sf, struct sfr_side *pg,
                               const struct task *t, struct sfr_err *err)
{
    /* count depth on a mirror whose ranges cost a table scan: the ranges to
     * compare row by row are read together at the end */
    if (c->parts != NULL && c->o->depth == SFR_DEPTH_COUNT) {
        defer(c, t);
        return SFR_OK;
    }
    struct sfr_range r = {t->lo, t->hi};
    struct rowvec a = {0}, b = {0};
    struct sfr_strv diff = {0};
    struct sfr_disc_list found = {0};
    struct sfr_moving moving = {0};
    long rechecked = 0;
    long cap = c->o->chunk_size * 4 > 1000 ? c->o->chunk_size * 4 : 1000;
    struct collector ka = {&a, cap, false, false, ""};
    enum sfr_rc rc = sfr_side_stream(sf, c->co->proj, &r, t->expect, collect_capped, &ka, err);
    if (rc == SFR_OK && ka.stopped) {
        /* compare [lo, split) now, queue [split, hi) */
        r.hi = ka.split;
        pthread_mutex_lock(&c->mu);
        sfr_checker_add_task(c, T_CONTENT, ka.split, t->hi, t->expect, t->record_state);
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
    }
    if (rc == SFR_OK)
        rc = sfr_side_stream(pg, c->co->proj, &r, t->expect, collect_row, &b, err);
    if (rc != SFR_OK)
        goto out;
    if (!sorted(&a))
        qsort(a.v, a.n, sizeof(*a.v), cmp_rows);
    if (!sorted(&b))
        qsort(b.v, b.n, sizeof(*b.v), cmp_rows);
    int64_t sf_max = INT64_MIN, pg_max = INT64_MIN;
    uint64_t pg_sum = 0;
    for (size_t k = 0; k < b.n; k++)
        pg_sum += b.v[k].hash;
    size_t i = 0, j = 0;
    while (i < a.n || j < b.n) {
        int k = i >= a.n ? 1 : j >= b.n ? -1 : strcmp(a.v[i].sfid, b.v[j].sfid);
        if (k < 0) {
            sf_max = max64(sf_max, a.v[i].mod_ms);
            if (diff.n == 0 || strcmp(diff.v[diff.n - 1], a.v[i].sfid) != 0)
                sfr_strv_push(&diff, a.v[i].sfid);
            i++;
        } else if (k > 0) {
            pg_max = max64(pg_max, b.v[j].mod_ms);
            if (diff.n == 0 || strcmp(diff.v[diff.n - 1], b.v[j].sfid) != 0)
                sfr_strv_push(&diff, b.v[j].sfid);
            j++;
        } else {
            sf_max = max64(sf_max, a.v[i].mod_ms);
            pg_max = max64(pg_max, b.v[j].mod_ms);
            /* equal keys repeated on the mirror (duplicates) differ too */
            bool dup = j + 1 < b.n && strcmp(b.v[j + 1].sfid, b.v[j].sfid) == 0;
            if (a.v[i].hash != b.v[j].hash || dup)
                sfr_strv_push(&diff, a.v[i].sfid);
            i++;
            j++;
            while (j < b.n && strcmp(b.v[j].sfid, b.v[j - 1].sfid) == 0)
                j++;
            while (i < a.n && strcmp(a.v[i].sfid, a.v[i - 1].sfid) == 0)
                i++;
        }
    }
    if (diff.n > 0)
        rc = classify_keys(c, sf, pg, (const char *const *)diff.v, (int)diff.n, &found, &moving,
                           &rechecked, NULL, NULL, err);
    if (rc != SFR_OK)
        goto out;
    pthread_mutex_lock(&c->mu);
    c->st->rows_sf += (long)a.n;
    c->st->rows_pg += (long)b.n;
    c->st->keys_differing += (long)diff.n;
    c->st->rechecked_changed += rechecked;
    if (diff.n > 0)
        c->st->chunks_mismatched++;
    for (size_t k = 0; k < found.n; k++)
        sfr_disc_list_push(c->out, &found.v[k]);
    found.n = 0;
    for (size_t k = 0; k < moving.n; k++)
        sfr_moving_push(&c->moving, moving.v[k].sfid, moving.v[k].sf_mod_ms, moving.v[k].pg_mod_ms);
    if (t->record_state) {
        struct sfr_chunk_state *cs =
            sfr_chunk_list_push(&c->st->chunks, r.lo, r.hi, (long)a.n, (long)b.n, sf_max, pg_max);
        cs->has_sum = true;
        cs->pg_sum = pg_sum;
    }
    pthread_mutex_unlock(&c->mu);
out:
    sfr_moving_cleanup(&moving);
    free(a.v);
    free(b.v);
    sfr_strv_cleanup(&diff);
    sfr_disc_list_cleanup(&found);
    return rc;
}

/* Samples B-1 split keys of a range from the mirror. */
struct sampler {
    long every, seen;
    struct sfr_strv keys;
};

static int sample_row(void *ctx, const struct sfr_row_summary *row)
{
    struct sampler *s = ctx;
    if (++s->seen % s->every == 0)
        sfr_strv_push(&s->keys, row->sfid);
    return 0;
}

/* The split keys of every level at once, from the mirror's keys alone (so
 * a level of bisection moves no rows), made by the first range to split. */
static enum sfr_rc split_keys_once(struct checker *c, struct sfr_side *pg, struct sfr_err *err)
{
    enum sfr_rc rc = SFR_OK;
    pthread_mutex_lock(&c->split_mu);
    long every = c->leaf / 4 > 1 ? c->leaf / 4 : 1;
    if (!c->split_done && pg->ops->key_digests != NULL &&
        !sfr_side_ranges_indexed(pg, c->co->proj, NULL)) {
        rc = pg->ops->key_digests(pg, c->co->proj, every, &c->split_keys, &c->parts, err);
    } else if (!c->split_done && pg->ops->boundaries != NULL) {
        rc = pg->ops->boundaries(pg, c->co->proj, every, &c->split_keys, NULL, err);
        if (rc == SFR_ENOTFOUND) {
            rc = SFR_OK;
            sfr_err_clear(err);
        }
    }
    c->split_done = true;
    pthread_mutex_unlock(&c->split_mu);
    return rc;
}

/* The mirror's count depth digest of [lo, hi) from the parts of the key
 * pass, when both bounds are split keys (or open): no query. */
static bool pg_from_parts(struct checker *c, const char *lo, const char *hi, struct sfr_digest *out)
{
    const struct sfr_strv *k = &c->split_keys;
    if (c->parts == NULL)
        return false;
    size_t a = 0, b = k->n; /* parts a..b */
    if (lo != NULL) {
        size_t i = sfr_strv_lower(k, lo);
        if (i >= k->n || strcmp(k->v[i], lo) != 0)
            return false;
        a = i + 1;
    }
    if (hi != NULL) {
        size_t i = sfr_strv_lower(k, hi);
        if (i >= k->n || strcmp(k->v[i], hi) != 0)
            return false;
        b = i;
    }
    sfr_digest_init(out);
    for (size_t j = a; j <= b && j <= k->n; j++)
        sfr_digest_combine(out, &c->parts[j]);
    return true;
}

/* Up to B-1 keys evenly spaced among the object's split keys inside (lo, hi). */
static void pick_split_keys(const struct sfr_strv *all, const char *lo, const char *hi, int B,
                            struct sfr_strv *out)
{
    size_t from = lo == NULL ? 0 : sfr_strv_lower(all, lo);
    size_t to = hi == NULL ? all->n : sfr_strv_lower(all, hi);
    if (from < to && lo != NULL && strcmp(all->v[from], lo) == 0)
        from++;
    size_t n = to > from ? to - from : 0;
    for (int k = 1; k < B && n > 0; k++) {
        size_t at = from + (size_t)k * n / (size_t)B;
        if (at < to && (out->n == 0 || strcmp(out->v[out->n - 1], all->v[at]) < 0))
            sfr_strv_push(out, all->v[at]);
    }
}

/* Splits a mismatched range B ways at the object's split keys (one key-only
 * pass of the mirror, made once per object; sampled from a stream of the
 * range when the side cannot give them), digests every part on both sides, and queues only the
 * parts that differ: as COUNT tasks (with their digests) while differences are sparse, as CONTENT
 * tasks once most parts differ (streaming a part costs a few calls; bisecting it further would cost
 * B per level). */
static enum sfr_rc split_range(struct checker *c, struct sfr_side *sf, struct sfr_side *pg,
                               const struct task *t, const struct sfr_digest *dp_all,
                               struct sfr_err *err)
{
    struct sfr_range r = {t->lo, t->hi};
    int B = c->o->bisect_factor > 1 ? c->o->bisect_factor : 2;
    struct sampler smp = {((long)dp_all->count + B - 1) / B, 0, {0}};
    enum sfr_rc rc = split_keys_once(c, pg, err);
    if (rc == SFR_OK && c->split_keys.n > 0)
        pick_split_keys(&c->split_keys, t->lo, t->hi, B, &smp.keys);
    else if (rc == SFR_OK)
        rc = sfr_side_stream(pg, c->co->proj, &r, (long)dp_all->count, sample_row, &smp, err);
    size_t n = smp.keys.n + 1;
    struct task *parts = sfr_calloc(n, sizeof(*parts));
    size_t m = 0, differ = 0;
    const char *lo = t->lo;
    for (size_t k = 0; rc == SFR_OK && k < n; k++) {
        const char *hi = k + 1 < n ? smp.keys.v[k] : t->hi;
        if (k + 1 < n && lo != NULL && strcmp(lo, hi) == 0)
            continue;
        struct task *pt = &parts[m++];
        pt->kind = T_COUNT;
        pt->lo = sfr_strdup(lo);
        pt->hi = sfr_strdup(hi);
        pt->known = true;
        struct sfr_range pr = {lo, hi};
        rc = sfr_side_digest(sf, c->co->proj, &pr, SFR_DEPTH_COUNT, &pt->kds, err);
        if (rc == SFR_OK && !pg_from_parts(c, lo, hi, &pt->kdp))
            rc = sfr_side_digest(pg, c->co->proj, &pr, SFR_DEPTH_COUNT, &pt->kdp, err);
        if (rc == SFR_OK && !sfr_digest_equal_count(&pt->kds, &pt->kdp))
            differ++;
        lo = hi;
    }
    bool dense = differ * 2 > m;
    pthread_mutex_lock(&c->mu);
    c->st->ranges_bisected++;
    for (size_t k = 0; k < m; k++) {
        struct task *pt = &parts[k];
        bool same = rc == SFR_OK && sfr_digest_equal_count(&pt->kds, &pt->kdp);
        if (rc != SFR_OK || same) {
            if (same) {
                c->st->rows_sf += (long)pt->kds.count;
                c->st->rows_pg += (long)pt->kdp.count;
            }
            free_task(pt);
            continue;
        }
        pt->expect = (long)(pt->kds.count > pt->kdp.count ? pt->kds.count : pt->kdp.count);
        if (dense)
            pt->kind = T_CONTENT;
        push_task(c, pt);
    }
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    free(parts);
    sfr_strv_cleanup(&smp.keys);
    return rc;
}

static enum sfr_rc run_count(struct checker *c, struct sfr_side *sf, struct sfr_side *pg,
                             struct task *t, struct sfr_err *err)
{
    struct sfr_range r = {t->lo, t->hi};
    struct sfr_digest ds = t->kds, dp = t->kdp;
    enum sfr_rc rc = SFR_OK;
    if (!t->known) {
        rc = sfr_side_digest(sf, c->co->proj, &r, SFR_DEPTH_COUNT, &ds, err);
        if (rc == SFR_OK)
            rc = sfr_side_digest(pg, c->co->proj, &r, SFR_DEPTH_COUNT, &dp, err);
    }
    if (rc != SFR_OK)
        return rc;
    bool same = sfr_digest_equal_count(&ds, &dp);
    if (same) {
        pthread_mutex_lock(&c->mu);
        c->st->rows_sf += (long)ds.count;
        c->st->rows_pg += (long)dp.count;
        if (t->record_state)
            sfr_chunk_list_push(&c->st->chunks, t->lo, t->hi, (long)ds.count, (long)dp.count,
                                ds.max_mod_ms, dp.max_mod_ms);
        pthread_mutex_unlock(&c->mu);
        return SFR_OK;
    }
    long big = (long)(ds.count > dp.count ? ds.count : dp.count);
    int B = c->o->bisect_factor > 1 ? c->o->bisect_factor : 2;
    if (big <= c->leaf || (long)dp.count < 2L * B) {
        t->kind = T_CONTENT;
        t->expect = big;
        return run_content(c, sf, pg, t, err);
    }
    return split_range(c, sf, pg, t, &dp, err);
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One line on stderr (a TTY): object, ranges done, rows and rows/s, API calls, differing keys. */
static void progress(struct checker *c)
{
    if (!c->o->progress)
        return;
    /* records, not records x sides */
    long rows = c->st->rows_sf > c->st->rows_pg ? c->st->rows_sf : c->st->rows_pg;
    double dt = mono_s() - c->t0;
    fprintf(stderr, "\r\033[K%s%s%s: ranges %ld/%ld, %ld rows (%.0f rows/s)",
            c->o->progress_label ? c->o->progress_label : "", c->o->progress_label ? " " : "",
            c->co->proj->obj->name, c->tasks_done, c->tasks_total, rows, dt > 0 ? rows / dt : 0.0);
    if (c->o->api_calls_fn != NULL)
        fprintf(stderr, ", %ld API calls", c->o->api_calls_fn(c->o->api_calls_ctx));
    fprintf(stderr, ", %ld differing", c->st->keys_differing);
}

static void *worker(void *arg)
{
    struct checker *c = arg;
    struct sfr_side *sf = NULL, *pg = NULL;
    struct sfr_err err = {0};
    enum sfr_rc rc = c->factory(c->fctx, &sf, &pg, &err);
    if (rc != SFR_OK) {
        fail(c, rc, &err, NULL);
        return NULL;
    }
    for (;;) {
        pthread_mutex_lock(&c->mu);
        while (c->qn == 0 && c->active > 0 && !c->stop)
            pthread_cond_wait(&c->cv, &c->mu);
        if (!c->stop && c->o->stop != NULL && *c->o->stop) {
            if (c->rc == SFR_OK)
                c->rc = sfr_err_set(&c->err, SFR_EINTR, "%s: interrupted", c->co->proj->obj->name);
            c->stop = true;
        }
        if (c->stop || c->qn == 0) {
            pthread_cond_broadcast(&c->cv);
            pthread_mutex_unlock(&c->mu);
            break;
        }
        struct task t = c->q[--c->qn];
        c->active++;
        pthread_mutex_unlock(&c->mu);

        rc =
            t.kind == T_CONTENT ? run_content(c, sf, pg, &t, &err) : run_count(c, sf, pg, &t, &err);
        if (rc != SFR_OK)
            fail(c, rc, &err, &t);
        free_task(&t);

        pthread_mutex_lock(&c->mu);
        c->active--;
        c->tasks_done++;
        progress(c);
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
    }
    pthread_mutex_lock(&c->mu);
    c->st->api_calls += sf->stats.api_calls + pg->stats.api_calls;
    pthread_mutex_unlock(&c->mu);
    sfr_side_free(sf);
    sfr_side_free(pg);
    return NULL;
}

/* Plans the top-level tasks. Uses one pair of sides of its own. */
static enum sfr_rc plan(struct checker *c, struct incr_plan **ip, struct sfr_err *err)
{
    struct sfr_side *sf = NULL, *pg = NULL;
    enum sfr_rc rc = c->factory(c->fctx, &sf, &pg, err);
    if (rc != SFR_OK)
        return rc;
    const struct sfr_check_opts *o = c->o;
    if (o->prev != NULL && o->prev->n > 0) {
        rc = sfr_incr_plan(c, sf, pg, ip, err);
        goto out;
    }
    if (o->depth == SFR_DEPTH_COUNT) {
        sfr_checker_add_task(c, T_COUNT, NULL, NULL, -1, true);
        goto out;
    }
    struct sfr_strv keys = {0};
    long total = -1;
    rc = pg->ops->boundaries
             ? pg->ops->boundaries(pg, c->co->proj, o->chunk_size, &keys, &total, err)
             : SFR_ENOTFOUND;
    if (rc == SFR_ENOTFOUND) {
        rc = SFR_OK;
        sfr_err_clear(err);
    }
    if (rc == SFR_OK) {
        const char *lo = NULL;
        for (size_t k = 0; k <= keys.n; k++) {
            const char *hi = k < keys.n ? keys.v[k] : NULL;
            sfr_checker_add_task(c, T_CONTENT, lo, hi, keys.n > 0 ? o->chunk_size : total, true);
            lo = hi;
        }
        /* the queue is a stack: reverse so chunks run in key order */
        for (size_t a = 0, b = c->qn ? c->qn - 1 : 0; a < b; a++, b--) {
            struct task tmp = c->q[a];
            c->q[a] = c->q[b];
            c->q[b] = tmp;
        }
    }
    sfr_strv_cleanup(&keys);
out:
    c->st->api_calls += sf->stats.api_calls;
    sfr_side_free(sf);
    sfr_side_free(pg);
    return rc;
}

static void checker_init(struct checker *c, const struct sfr_check_object *co,
                         const struct sfr_check_opts *o, sfr_side_factory factory, void *fctx,
                         struct sfr_disc_list *out, struct sfr_check_stats *stats)
{
    memset(c, 0, sizeof(*c));
    c->co = co;
    c->o = o;
    c->factory = factory;
    c->fctx = fctx;
    c->out = out;
    c->st = stats;
    c->leaf = o->bisect_threshold > 4000 ? o->bisect_threshold : 4000;
    c->t0 = mono_s();
    stats->complete = true;
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->split_mu, NULL);
    pthread_cond_init(&c->cv, NULL);
}

enum sfr_rc sfr_checker_run_queue(struct checker *cp, struct sfr_err *err)
{
    const struct sfr_check_opts *o = cp->o;
    if (cp->qn == 0)
        return SFR_OK;
    int jobs = o->jobs > 0 ? o->jobs : 1;
    if (jobs > 64)
        jobs = 64;
    pthread_t th[64];
    int started = 0;
    cp->active = 0;
    progress(cp); /* at once, before the first range is done */
    for (int i = 0; i < jobs; i++)
        if (pthread_create(&th[i], NULL, worker, cp) == 0)
            started++;
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    if (started == 0)
        cp->rc = sfr_err_set(&cp->err, SFR_EINTERNAL, "cannot start worker threads");
    if (o->progress)
        fprintf(stderr, "\r\033[K");
    if (cp->rc != SFR_OK && err != NULL)
        *err = cp->err;
    return cp->rc;
}

/* The records that changed while the audit ran, compared again on a pair
 * of sides of its own (when rc is SFR_OK), or listed as not covered. */
static enum sfr_rc settle_moving(struct checker *c, enum sfr_rc rc, struct sfr_err *err)
{
    struct sfr_side *sf = NULL, *pg = NULL;
    if (rc == SFR_OK && c->moving.n > 0)
        rc = c->factory(c->fctx, &sf, &pg, err);
    rc = sfr_check_settle(c->co, c->o, sf, pg, &c->moving, rc, c->out, c->st, err);
    if (sf != NULL)
        c->st->api_calls += sf->stats.api_calls;
    sfr_side_free(sf);
    sfr_side_free(pg);
    return rc;
}

/* A deferred range and its row hint, sorted together by lo (-inf first). */
struct range_rows {
    struct sfr_range r;
    long rows;
};

static int cmp_range_rows(const void *a, const void *b)
{
    const char *x = ((const struct range_rows *)a)->r.lo, *y = ((const struct range_rows *)b)->r.lo;
    if (x == NULL || y == NULL)
        return (x != NULL) - (y != NULL);
    return strcmp(x, y);
}

/* The deferred ranges, sorted, compared in grouped passes (scan.h). */
static enum sfr_rc compare_deferred(struct checker *c, struct sfr_err *err)
{
    struct deferred *d = &c->deferred;
    struct range_rows *v = sfr_calloc(d->n, sizeof(*v));
    for (size_t i = 0; i < d->n; i++)
        v[i] = (struct range_rows){d->r[i], d->rows[i]};
    qsort(v, d->n, sizeof(*v), cmp_range_rows);
    for (size_t i = 0; i < d->n; i++) {
        d->r[i] = v[i].r;
        d->rows[i] = v[i].rows;
    }
    free(v);
    sfr_log_info("%s: %zu ranges compared row by row in grouped passes (the mirror's ranges "
                 "are not index-served)",
                 c->co->proj->obj->name, d->n);
    struct sfr_side *sf = NULL, *pg = NULL;
    enum sfr_rc rc = c->factory(c->fctx, &sf, &pg, err);
    if (rc == SFR_OK)
        rc = sfr_scan_compare_ranges(c->co, c->o, sf, pg, d->r, d->rows, d->n, c->out, c->st, err);
    if (sf != NULL)
        c->st->api_calls += sf->stats.api_calls;
    sfr_side_free(sf);
    sfr_side_free(pg);
    return rc;
}

/* Runs the queue, the incremental reconciliation and the rechecks, then
 * cleans the checker up. */
static enum sfr_rc run_tasks(struct checker *cp, enum sfr_rc rc, struct incr_plan *ip,
                             struct sfr_err *err)
{
    struct sfr_check_stats *stats = cp->st;
    if (rc == SFR_OK)
        rc = sfr_checker_run_queue(cp, err);
    if (rc == SFR_OK && ip != NULL) {
        struct sfr_side *sf = NULL, *pg = NULL;
        long queued = 0;
        rc = cp->factory(cp->fctx, &sf, &pg, err);
        if (rc == SFR_OK)
            rc = sfr_incr_reconcile(cp, ip, sf, &queued, err);
        if (sf != NULL)
            stats->api_calls += sf->stats.api_calls;
        sfr_side_free(sf);
        sfr_side_free(pg);
        if (rc == SFR_OK && queued > 0)
            rc = sfr_checker_run_queue(cp, err);
    }
    if (rc == SFR_OK && cp->deferred.n > 0)
        rc = compare_deferred(cp, err);
    rc = settle_moving(cp, rc, err);
    if (rc != SFR_OK)
        stats->complete = false;
    for (size_t i = 0; i < cp->qn; i++) {
        range_text(&cp->q[i], &stats->not_covered);
        free_task(&cp->q[i]);
    }
    for (size_t i = 0; i < cp->deferred.n; i++) {
        if (rc != SFR_OK)
            sfr_strv_take(&stats->not_covered,
                          sfr_asprintf("[%s, %s)",
                                       cp->deferred.r[i].lo ? cp->deferred.r[i].lo : "-inf",
                                       cp->deferred.r[i].hi ? cp->deferred.r[i].hi : "+inf"));
        free((char *)cp->deferred.r[i].lo);
        free((char *)cp->deferred.r[i].hi);
    }
    free(cp->deferred.r);
    free(cp->deferred.rows);
    sfr_strv_cleanup(&cp->split_keys);
    free(cp->parts);
    sfr_incr_free(ip);
    free(cp->q);
    pthread_mutex_destroy(&cp->mu);
    pthread_mutex_destroy(&cp->split_mu);
    pthread_cond_destroy(&cp->cv);
    for (size_t i = 0; i < stats->chunks.n; i++) {
        stats->sf_max_mod_ms = max64(stats->sf_max_mod_ms, stats->chunks.v[i].sf_max_ms);
        stats->pg_max_mod_ms = max64(stats->pg_max_mod_ms, stats->chunks.v[i].pg_max_ms);
    }
    return rc;
}

enum sfr_rc sfr_check_object(const struct sfr_check_object *co, const struct sfr_check_opts *o,
                             sfr_side_factory factory, void *factory_ctx, struct sfr_disc_list *out,
                             struct sfr_check_stats *stats, struct sfr_err *err)
{
    size_t from = sfr_disc_list_count(out);
    /* one sequential pass per side when ranges cost a table scan (scan.c) */
    enum sfr_rc rc = sfr_scan_object(co, o, factory, factory_ctx, out, stats, err);
    if (rc == SFR_ENOTFOUND) {
        sfr_err_clear(err);
        struct checker c;
        struct incr_plan *ip = NULL;
        checker_init(&c, co, o, factory, factory_ctx, out, stats);
        rc = plan(&c, &ip, err);
        rc = run_tasks(&c, rc, ip, err);
    }
    sfr_check_mark_dirty(stats, out, from);
    return rc;
}

enum sfr_rc sfr_check_ranges(const struct sfr_check_object *co, const struct sfr_check_opts *o,
                             sfr_side_factory factory, void *factory_ctx,
                             const struct sfr_range *ranges, const long *expect, int n,
                             struct sfr_disc_list *out, struct sfr_check_stats *stats,
                             struct sfr_err *err)
{
    struct checker c;
    checker_init(&c, co, o, factory, factory_ctx, out, stats);
    for (int i = n - 1; i >= 0; i--) /* a stack: the first range runs first */
        sfr_checker_add_task(&c, T_CONTENT, ranges[i].lo, ranges[i].hi, expect ? expect[i] : -1,
                             true);
    return run_tasks(&c, SFR_OK, NULL, err);
}

enum sfr_rc sfr_check_keys(const struct sfr_check_object *co, struct sfr_side *sf,
                           struct sfr_side *pg, const char *const *ids, int n_ids,
                           int64_t audit_start_ms, struct sfr_disc_list *out, struct sfr_err *err)
{
    long rechecked = 0;
    return sfr_check_keys_counted(co, sf, pg, ids, n_ids, audit_start_ms, out, NULL, &rechecked,
                                  err);
}

enum sfr_rc sfr_check_keys_counted(const struct sfr_check_object *co, struct sfr_side *sf,
                                   struct sfr_side *pg, const char *const *ids, int n_ids,
                                   int64_t audit_start_ms, struct sfr_disc_list *out,
                                   struct sfr_moving *moving, long *rechecked, struct sfr_err *err)
{
    struct sfr_check_opts o;
    struct sfr_check_stats st;
    memset(&st, 0, sizeof(st));
    sfr_check_opts_defaults(&o);
    o.audit_start_ms = audit_start_ms;
    struct checker c;
    memset(&c, 0, sizeof(c));
    c.co = co;
    c.o = &o;
    c.st = &st;
    return classify_keys(&c, sf, pg, ids, n_ids, out, moving, rechecked, NULL, NULL, err);
}

/* ---- rechecks ---- */

void sfr_moving_push(struct sfr_moving *m, const char *sfid, int64_t sf_mod_ms, int64_t pg_mod_ms)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->v = sfr_realloc(m->v, m->cap * sizeof(*m->v));
    }
    struct sfr_moving_key *k = &m->v[m->n++];
    snprintf(k->sfid, sizeof(k->sfid), "%s", sfid);
    k->sf_mod_ms = sf_mod_ms;
    k->pg_mod_ms = pg_mod_ms;
}

void sfr_moving_cleanup(struct sfr_moving *m)
{
    free(m->v);
    memset(m, 0, sizeof(*m));
}

static void sleep_ms(long ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* One look at the moving keys: settled pairs are classified into out, the
 * keys still moving stay in *m with the modstamps seen now. */
static enum sfr_rc recheck_once(struct checker *c, struct sfr_side *sf, struct sfr_side *pg,
                                struct sfr_moving *m, bool last, struct sfr_err *err)
{
    const int batch = 300;
    struct sfr_moving still = {0};
    enum sfr_rc rc = SFR_OK;
    for (size_t i = 0; i < m->n && rc == SFR_OK; i += batch) {
        size_t n = m->n - i < (size_t)batch ? m->n - i : (size_t)batch;
        const char **ids = sfr_calloc(n, sizeof(*ids));
        for (size_t k = 0; k < n; k++)
            ids[k] = m->v[i + k].sfid;
        struct recvec a = {0}, b = {0};
        rc = fetch_pair(c, sf, pg, ids, (int)n, &a, &b, err);
        for (size_t k = 0; k < n && rc == SFR_OK; k++) {
            const struct sfr_moving_key *mk = &m->v[i + k];
            const struct sfr_record *rs = find_rec(&a, mk->sfid);
            const struct sfr_record *rp = find_rec(&b, mk->sfid);
            int64_t sm = rs ? rs->mod_ms : INT64_MIN, pm = rp ? rp->mod_ms : INT64_MIN;
            struct sfr_discrepancy d;
            if (!sfr_classify(c->co, rs, rp, &d))
                continue; /* the two agree now */
            bool moved = sm != mk->sf_mod_ms || pm != mk->pg_mod_ms;
            if (!moved) {
                sfr_disc_list_push(c->out, &d); /* settled, and still different */
                continue;
            }
            sfr_discrepancy_cleanup(&d);
            if (last)
                sfr_strv_push(&c->st->in_flight, mk->sfid);
            else
                sfr_moving_push(&still, mk->sfid, sm, pm);
        }
        free(ids);
        recvec_cleanup(&a);
        recvec_cleanup(&b);
    }
    if (rc != SFR_OK) {
        sfr_moving_cleanup(&still);
        return rc;
    }
    sfr_moving_cleanup(m);
    *m = still;
    return SFR_OK;
}

static enum sfr_rc recheck(const struct sfr_check_object *co, const struct sfr_check_opts *o,
                           struct sfr_side *sf, struct sfr_side *pg, struct sfr_moving *moving,
                           struct sfr_disc_list *out, struct sfr_check_stats *stats,
                           struct sfr_err *err)
{
    struct checker c;
    memset(&c, 0, sizeof(c));
    c.co = co;
    c.o = o;
    c.out = out;
    c.st = stats;
    int tries = o->recheck_tries > 0 ? o->recheck_tries : 1;
    long wait = o->recheck_wait_ms;
    const char *env = getenv("SFRECON_RECHECK_WAIT_MS");
    if (env != NULL && *env != '\0')
        wait = atol(env);
    enum sfr_rc rc = SFR_OK;
    for (int t = 0; t < tries && moving->n > 0 && rc == SFR_OK; t++) {
        if (t > 0)
            sleep_ms(wait << (t - 1));
        sfr_test_point("check.recheck");
        rc = recheck_once(&c, sf, pg, moving, t + 1 == tries, err);
    }
    return rc;
}

enum sfr_rc sfr_check_settle(const struct sfr_check_object *co, const struct sfr_check_opts *o,
                             struct sfr_side *sf, struct sfr_side *pg, struct sfr_moving *moving,
                             enum sfr_rc rc, struct sfr_disc_list *out,
                             struct sfr_check_stats *stats, struct sfr_err *err)
{
    if (rc == SFR_OK && moving->n > 0)
        rc = recheck(co, o, sf, pg, moving, out, stats, err);
    for (size_t k = 0; k < moving->n; k++)
        sfr_strv_take(&stats->not_covered,
                      sfr_asprintf("%s (changed during the audit)", moving->v[k].sfid));
    sfr_moving_cleanup(moving);
    return rc;
}

void sfr_check_mark_dirty(struct sfr_check_stats *stats, const struct sfr_disc_list *out,
                          size_t from)
{
    sfr_chunk_list_sort(&stats->chunks);
    struct sfr_disc_iter it;
    sfr_disc_iter_begin(&it, out, from);
    const struct sfr_discrepancy *d;
    while ((d = sfr_disc_iter_next(&it)) != NULL) {
        struct sfr_chunk_state *cs =
            d->sfid != NULL ? sfr_chunk_list_find(&stats->chunks, d->sfid) : NULL;
        if (cs != NULL)
            cs->clean = false;
    }
    /* a discrepancy that cannot be read back has no chunk to spare */
    for (size_t k = 0; it.err && k < stats->chunks.n; k++)
        stats->chunks.v[k].clean = false;
    sfr_disc_iter_end(&it);
    /* a record in flight is no stored discrepancy: its chunk is compared
     * whole next time */
    for (size_t k = 0; k < stats->in_flight.n; k++) {
        struct sfr_chunk_state *cs = sfr_chunk_list_find(&stats->chunks, stats->in_flight.v[k]);
        if (cs != NULL)
            cs->clean = cs->has_sum = false;
    }
}
