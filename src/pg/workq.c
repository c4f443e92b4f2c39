/* workq.c — the queue of range tasks shared by many audit processes
 * (workq.h). Tables: sfrecon.work_task (one row per range; 'queued' until
 * the transaction of the worker that compared it marks it 'done'),
 * sfrecon.work_disc (the discrepancies a task found) and sfrecon.work_chunk
 * (its chunk states, for later incremental runs). */
#include "sfrecon/workq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sfrecon/log.h"
#include "sfrecon/pg.h"

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static enum sfr_rc exec(PGconn *c, const char *sql, int n, const char *const *params,
                        const char *what, struct sfr_err *err)
{
    return sfr_pg_query(c, sql, n, params, NULL, err, "%s", what);
}

enum sfr_rc sfr_workq_enqueue(PGconn *c, long run_id, const char *object, const struct sfr_range *r,
                              const long *expect, int n, int64_t start_ms, struct sfr_err *err)
{
    const char **lo = sfr_calloc((size_t)n + 1, sizeof(*lo));
    const char **hi = sfr_calloc((size_t)n + 1, sizeof(*hi));
    char **ex = sfr_calloc((size_t)n + 1, sizeof(*ex));
    for (int i = 0; i < n; i++) {
        lo[i] = r[i].lo;
        hi[i] = r[i].hi;
        ex[i] = sfr_asprintf("%ld", expect ? expect[i] : -1L);
    }
    struct sfr_buf alo = SFR_BUF_INIT, ahi = SFR_BUF_INIT, aex = SFR_BUF_INIT;
    sfr_pg_array_append(&alo, lo, n);
    sfr_pg_array_append(&ahi, hi, n);
    sfr_pg_array_append(&aex, (const char *const *)ex, n);
    char run[32], start[32];
    snprintf(run, sizeof(run), "%ld", run_id);
    snprintf(start, sizeof(start), "%lld", (long long)start_ms);
    const char *params[6] = {run, object, alo.data, ahi.data, aex.data, start};
    enum sfr_rc rc = exec(c,
                          "INSERT INTO sfrecon.work_task (run_id, object, seq, lo, hi, expect,"
                          " start_ms) SELECT $1::bigint, $2, (t.n - 1)::int, t.lo, t.hi,"
                          " t.ex::bigint, $6::bigint"
                          " FROM unnest($3::text[], $4::text[], $5::text[]) WITH ORDINALITY"
                          " AS t(lo, hi, ex, n)",
                          6, params, "queueing the ranges of the audit", err);
    for (int i = 0; i < n; i++)
        sfr_free(ex[i]);
    sfr_free(ex);
    sfr_free(lo);
    sfr_free(hi);
    sfr_buf_cleanup(&alo);
    sfr_buf_cleanup(&ahi);
    sfr_buf_cleanup(&aex);
    return rc;
}

/* ---- working ---- */

struct task {
    char run[32], seq[16];
    char *object, *lo, *hi;
    long expect;
    int64_t start_ms;
};

static void task_cleanup(struct task *t)
{
    sfr_free(t->object);
    sfr_free(t->lo);
    sfr_free(t->hi);
    memset(t, 0, sizeof(*t));
}

static char *opt_dup(PGresult *res, int col)
{
    return PQgetisnull(res, 0, col) ? NULL : sfr_strdup(PQgetvalue(res, 0, col));
}

/* Opens a transaction and locks one queued task in scope; *got false (and
 * no transaction) when none can be taken now. */
static enum sfr_rc claim(PGconn *c, const char *run, const char *object, struct task *t, bool *got,
                         struct sfr_err *err)
{
    *got = false;
    enum sfr_rc rc = sfr_pg_exec(c, "BEGIN", err);
    if (rc != SFR_OK)
        return rc;
    const char *params[2] = {run, object};
    PGresult *res = NULL;
    rc = sfr_pg_query(
        c,
        "SELECT t.run_id, t.seq, t.object, t.lo, t.hi, t.expect, t.start_ms"
        " FROM sfrecon.work_task t JOIN sfrecon.audit_run r ON r.id = t.run_id"
        " WHERE t.state = 'queued' AND r.status = 'running'"
        " AND ($1::bigint = 0 OR t.run_id = $1::bigint) AND ($2::text IS NULL OR t.object = $2)"
        " ORDER BY t.run_id, t.object, t.seq LIMIT 1 FOR UPDATE OF t SKIP LOCKED",
        2, params, &res, err, "taking a task from sfrecon.work_task");
    if (rc == SFR_OK && PQntuples(res) == 1) {
        snprintf(t->run, sizeof(t->run), "%s", PQgetvalue(res, 0, 0));
        snprintf(t->seq, sizeof(t->seq), "%s", PQgetvalue(res, 0, 1));
        t->object = sfr_strdup(PQgetvalue(res, 0, 2));
        t->lo = opt_dup(res, 3);
        t->hi = opt_dup(res, 4);
        t->expect = atol(PQgetvalue(res, 0, 5));
        t->start_ms = strtoll(PQgetvalue(res, 0, 6), NULL, 10);
        *got = true;
    }
    PQclear(res);
    if (!*got)
        sfr_pg_rollback(c);
    return rc;
}

static enum sfr_rc store_disc(PGconn *c, const struct task *t, const struct sfr_discrepancy *d,
                              struct sfr_err *err)
{
    const char **fv = sfr_calloc((size_t)d->n_fields + 1, sizeof(*fv));
    const char **sv = sfr_calloc((size_t)d->n_fields + 1, sizeof(*sv));
    const char **pv = sfr_calloc((size_t)d->n_fields + 1, sizeof(*pv));
    for (int k = 0; k < d->n_fields; k++) {
        fv[k] = d->fields[k].field;
        sv[k] = d->fields[k].sf_value;
        pv[k] = d->fields[k].pg_value;
    }
    struct sfr_buf af = SFR_BUF_INIT, as = SFR_BUF_INIT, ap = SFR_BUF_INIT;
    sfr_pg_array_append(&af, fv, d->n_fields);
    sfr_pg_array_append(&as, sv, d->n_fields);
    sfr_pg_array_append(&ap, pv, d->n_fields);
    char pg_id[32], sm[32], pm[32];
    snprintf(pg_id, sizeof(pg_id), "%ld", d->pg_id);
    snprintf(sm, sizeof(sm), "%lld", (long long)d->sf_mod_ms);
    snprintf(pm, sizeof(pm), "%lld", (long long)d->pg_mod_ms);
    const char *params[14] = {t->run,
                              t->object,
                              t->seq,
                              d->sfid ? d->sfid : "",
                              sfr_cause_name(d->cause),
                              d->detail,
                              d->parent_object,
                              d->parent_sfid,
                              pg_id,
                              sm,
                              pm,
                              af.data,
                              as.data,
                              ap.data};
    enum sfr_rc rc = exec(c,
                          "INSERT INTO sfrecon.work_disc (run_id, object, seq, sfid, cause,"
                          " detail, parent_object, parent_sfid, pg_id, sf_mod_ms, pg_mod_ms,"
                          " fields, sf_values, pg_values) VALUES ($1, $2, $3, $4, $5, $6, $7,"
                          " $8, $9, $10, $11, $12, $13, $14)",
                          14, params, "storing a task's discrepancy", err);
    sfr_buf_cleanup(&af);
    sfr_buf_cleanup(&as);
    sfr_buf_cleanup(&ap);
    sfr_free(fv);
    sfr_free(sv);
    sfr_free(pv);
    return rc;
}

static enum sfr_rc store_chunk(PGconn *c, const struct task *t, const struct sfr_chunk_state *k,
                               struct sfr_err *err)
{
    char sc[32], pc[32], sm[32], pm[32];
    snprintf(sc, sizeof(sc), "%ld", k->sf_count);
    snprintf(pc, sizeof(pc), "%ld", k->pg_count);
    snprintf(sm, sizeof(sm), "%lld", (long long)k->sf_max_ms);
    snprintf(pm, sizeof(pm), "%lld", (long long)k->pg_max_ms);
    char sum[32];
    snprintf(sum, sizeof(sum), "%llu", (unsigned long long)k->pg_sum);
    const char *params[9] = {
        t->run, t->object, k->lo, k->hi, sc, pc, sm, pm, k->has_sum ? sum : NULL};
    return exec(c,
                "INSERT INTO sfrecon.work_chunk (run_id, object, lo, hi, sf_count, pg_count,"
                " sf_max_ms, pg_max_ms, pg_sum) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                9, params, "storing a task's chunk states", err);
}

/* Writes a task's results and marks it done: the task's transaction commits. */
static enum sfr_rc finish(PGconn *c, const struct task *t, const char *worker,
                          const struct sfr_disc_list *found, const struct sfr_check_stats *st,
                          struct sfr_err *err)
{
    enum sfr_rc rc = SFR_OK;
    for (size_t i = 0; i < found->n && rc == SFR_OK; i++)
        rc = store_disc(c, t, &found->v[i], err);
    for (size_t i = 0; i < st->chunks.n && rc == SFR_OK; i++)
        rc = store_chunk(c, t, &st->chunks.v[i], err);
    char v[6][32];
    long nums[6] = {st->rows_sf,        st->rows_pg,           st->api_calls,
                    st->keys_differing, st->rechecked_changed, st->chunks_mismatched};
    for (int i = 0; i < 6; i++)
        snprintf(v[i], sizeof(v[i]), "%ld", nums[i]);
    const char *params[10] = {t->run, t->object, t->seq, worker, v[0],
                              v[1],   v[2],      v[3],   v[4],   v[5]};
    if (rc == SFR_OK)
        rc = exec(c,
                  "UPDATE sfrecon.work_task SET state = 'done', worker = $4, finished_at = now(),"
                  " rows_sf = $5, rows_pg = $6, api_calls = $7, keys_differing = $8,"
                  " rechecked = $9, chunks_mismatched = $10"
                  " WHERE run_id = $1 AND object = $2 AND seq = $3",
                  10, params, "marking a task done", err);
    if (rc == SFR_OK)
        rc = sfr_pg_exec(c, "COMMIT", err);
    return rc;
}

/* Tasks in scope not done yet (held by other workers, or queued). */
static long pending(PGconn *c, const char *run, const char *object, long *total,
                    struct sfr_err *err)
{
    const char *params[2] = {run, object};
    PGresult *res = NULL;
    if (sfr_pg_query(c,
                     "SELECT count(*) FILTER (WHERE t.state <> 'done'), count(*)"
                     " FROM sfrecon.work_task t JOIN sfrecon.audit_run r ON r.id = t.run_id"
                     " WHERE r.status = 'running' AND ($1::bigint = 0 OR t.run_id = $1::bigint)"
                     " AND ($2::text IS NULL OR t.object = $2)",
                     2, params, &res, err, "reading sfrecon.work_task") != SFR_OK)
        return -1;
    long n = atol(PQgetvalue(res, 0, 0));
    *total = atol(PQgetvalue(res, 0, 1));
    PQclear(res);
    return n;
}

/* Takes, runs and finishes one task; *got false when none could be taken. */
static enum sfr_rc work_one(PGconn *c, const char *run, const char *object, const char *worker,
                            sfr_workq_fn fn, void *ctx, bool *got, struct sfr_err *err)
{
    struct task t;
    memset(&t, 0, sizeof(t));
    enum sfr_rc rc = claim(c, run, object, &t, got, err);
    if (rc != SFR_OK || !*got)
        return rc;
    struct sfr_disc_list found = {0};
    struct sfr_check_stats st;
    memset(&st, 0, sizeof(st));
    struct sfr_range r = {t.lo, t.hi};
    sfr_log_debug("worker %s: %s [%s, %s)", worker, t.object, t.lo ? t.lo : "-inf",
                  t.hi ? t.hi : "+inf");
    rc = fn(ctx, t.object, &r, t.expect, t.start_ms, &found, &st, err);
    if (rc == SFR_OK && !st.complete)
        rc = sfr_err_set(err, SFR_ELIMIT, "%s [%s, %s) was not covered", t.object,
                         t.lo ? t.lo : "-inf", t.hi ? t.hi : "+inf");
    if (rc == SFR_OK) {
        rc = finish(c, &t, worker, &found, &st, err);
    } else {
        sfr_pg_rollback(c); /* the task goes back to the queue */
    }
    sfr_disc_list_cleanup(&found);
    sfr_check_stats_cleanup(&st);
    task_cleanup(&t);
    return rc;
}

enum sfr_rc sfr_workq_work(const char *db_url, long run_id, const char *object, bool drain,
                           int wait_s, const char *worker, sfr_workq_fn fn, void *ctx, long *n_done,
                           struct sfr_err *err)
{
    PGconn *c = NULL;
    enum sfr_rc rc = sfr_pg_connect(db_url, &c, err);
    char run[32];
    snprintf(run, sizeof(run), "%ld", run_id);
    long done = 0, waited_ms = 0;
    bool seen = false;
    while (rc == SFR_OK) {
        bool got = false;
        rc = work_one(c, run, object, worker, fn, ctx, &got, err);
        if (rc != SFR_OK)
            break;
        if (got) {
            done++;
            seen = true;
            continue;
        }
        long total = 0, left = pending(c, run, object, &total, err);
        if (left < 0) {
            rc = err != NULL ? err->rc : SFR_EPG;
            break;
        }
        seen = seen || total > 0;
        if (!seen && waited_ms < (long)wait_s * 1000) {
            sleep_ms(200); /* no queue yet: its coordinator has not started */
            waited_ms += 200;
            continue;
        }
        if (left == 0 || !drain)
            break;
        sleep_ms(100); /* others hold the rest; a dead worker's task comes back */
    }
    if (n_done != NULL)
        *n_done = done;
    if (c != NULL)
        PQfinish(c);
    return rc;
}

/* ---- results ---- */

static enum sfr_rc collect_counts(PGconn *c, const char *const *params, struct sfr_check_stats *st,
                                  struct sfr_err *err)
{
    PGresult *res = NULL;
    enum sfr_rc rc = sfr_pg_query(c,
                                  "SELECT coalesce(sum(rows_sf), 0), coalesce(sum(rows_pg), 0),"
                                  " coalesce(sum(api_calls), 0), coalesce(sum(keys_differing), 0),"
                                  " coalesce(sum(rechecked), 0),"
                                  " coalesce(sum(chunks_mismatched), 0),"
                                  " count(*) FILTER (WHERE state <> 'done')"
                                  " FROM sfrecon.work_task WHERE run_id = $1 AND object = $2",
                                  2, params, &res, err, "reading the tasks' counts");
    if (rc == SFR_OK) {
        st->rows_sf += atol(PQgetvalue(res, 0, 0));
        st->rows_pg += atol(PQgetvalue(res, 0, 1));
        st->api_calls += atol(PQgetvalue(res, 0, 2));
        st->keys_differing += atol(PQgetvalue(res, 0, 3));
        st->rechecked_changed += atol(PQgetvalue(res, 0, 4));
        st->chunks_mismatched += atol(PQgetvalue(res, 0, 5));
        st->complete = atol(PQgetvalue(res, 0, 6)) == 0;
        PQclear(res);
    }
    return rc;
}

static char *val(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

static enum sfr_rc collect_discs(PGconn *c, const char *const *params, struct sfr_disc_list *out,
                                 struct sfr_err *err)
{
    PGresult *res = NULL, *fr = NULL;
    enum sfr_rc rc = sfr_pg_query(c,
                                  "SELECT d.id, d.sfid, d.cause, d.detail, d.parent_object,"
                                  " d.parent_sfid, d.pg_id, d.sf_mod_ms, d.pg_mod_ms, d.object"
                                  " FROM sfrecon.work_disc d"
                                  " WHERE d.run_id = $1 AND d.object = $2 ORDER BY d.seq, d.id",
                                  2, params, &res, err, "reading the tasks' discrepancies");
    if (rc == SFR_OK)
        rc = sfr_pg_query(c,
                          "SELECT d.id, f.field, f.sfv, f.pgv FROM sfrecon.work_disc d"
                          " CROSS JOIN LATERAL unnest(d.fields, d.sf_values, d.pg_values)"
                          " WITH ORDINALITY AS f(field, sfv, pgv, n)"
                          " WHERE d.run_id = $1 AND d.object = $2 ORDER BY d.seq, d.id, f.n",
                          2, params, &fr, err, "reading the tasks' discrepancies");
    for (int i = 0, j = 0; rc == SFR_OK && i < PQntuples(res); i++) {
        struct sfr_discrepancy d;
        memset(&d, 0, sizeof(d));
        d.object = sfr_strdup(PQgetvalue(res, i, 9));
        d.sfid = sfr_strdup(PQgetvalue(res, i, 1));
        if (!sfr_cause_parse(PQgetvalue(res, i, 2), &d.cause))
            d.cause = SFR_CAUSE_FIELD_MISMATCH;
        d.detail = sfr_strdup(val(res, i, 3) ? val(res, i, 3) : "");
        d.parent_object = val(res, i, 4) ? sfr_strdup(val(res, i, 4)) : NULL;
        d.parent_sfid = val(res, i, 5) ? sfr_strdup(val(res, i, 5)) : NULL;
        d.pg_id = atol(PQgetvalue(res, i, 6));
        d.sf_mod_ms = strtoll(PQgetvalue(res, i, 7), NULL, 10);
        d.pg_mod_ms = strtoll(PQgetvalue(res, i, 8), NULL, 10);
        const char *id = PQgetvalue(res, i, 0);
        for (; j < PQntuples(fr) && strcmp(PQgetvalue(fr, j, 0), id) == 0; j++)
            sfr_discrepancy_add_field(&d, PQgetvalue(fr, j, 1), val(fr, j, 2), val(fr, j, 3));
        sfr_disc_list_push(out, &d);
    }
    PQclear(res);
    PQclear(fr);
    return rc;
}

static enum sfr_rc collect_chunks(PGconn *c, const char *const *params, struct sfr_check_stats *st,
                                  struct sfr_err *err)
{
    PGresult *res = NULL;
    enum sfr_rc rc =
        sfr_pg_query(c,
                     "SELECT lo, hi, sf_count, pg_count, sf_max_ms, pg_max_ms,"
                     " pg_sum FROM sfrecon.work_chunk WHERE run_id = $1 AND object = $2"
                     " ORDER BY lo COLLATE \"C\" NULLS FIRST",
                     2, params, &res, err, "reading the tasks' chunk states");
    for (int i = 0; rc == SFR_OK && i < PQntuples(res); i++) {
        int64_t sm = strtoll(PQgetvalue(res, i, 4), NULL, 10);
        int64_t pm = strtoll(PQgetvalue(res, i, 5), NULL, 10);
        struct sfr_chunk_state *k =
            sfr_chunk_list_push(&st->chunks, val(res, i, 0), val(res, i, 1),
                                atol(PQgetvalue(res, i, 2)), atol(PQgetvalue(res, i, 3)), sm, pm);
        k->has_sum = !PQgetisnull(res, i, 6);
        k->pg_sum = k->has_sum ? strtoull(PQgetvalue(res, i, 6), NULL, 10) : 0;
        st->sf_max_mod_ms = sm > st->sf_max_mod_ms ? sm : st->sf_max_mod_ms;
        st->pg_max_mod_ms = pm > st->pg_max_mod_ms ? pm : st->pg_max_mod_ms;
    }
    PQclear(res);
    return rc;
}

enum sfr_rc sfr_workq_collect(PGconn *c, long run_id, const char *object, struct sfr_disc_list *out,
                              struct sfr_check_stats *st, struct sfr_err *err)
{
    char run[32];
    snprintf(run, sizeof(run), "%ld", run_id);
    const char *params[2] = {run, object};
    enum sfr_rc rc = collect_counts(c, params, st, err);
    if (rc == SFR_OK)
        rc = collect_discs(c, params, out, err);
    if (rc == SFR_OK)
        rc = collect_chunks(c, params, st, err);
    return rc;
}
