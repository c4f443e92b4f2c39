/* audit.c — the audit engine (audit.h): the objects in dependency order,
 * each one compared by the checker (or record by record for --since) with
 * the mirror-only checks beside it, the API budgets of the run and of each
 * mapping, the incremental state of the last run (--since last), and the
 * run stored in sfrecon.audit_run. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "audit_internal.h"
#include "sfrecon/history.h"
#include "sfrecon/log.h"
#include "sfrecon/scan.h"
#include "sfrecon/sf.h"
#include "sfrecon/workers.h"

static int64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void utc_now(char *buf, size_t n)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void sfr_audit_opts_defaults(struct sfr_audit_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->depth = SFR_DEPTH_CONTENT;
    o->since_ms = INT64_MIN;
    o->store = true;
}

static enum sfr_rc factory(void *c, struct sfr_side **sf, struct sfr_side **pg, struct sfr_err *err)
{
    return sfr_run_ctx_sides(c, sf, pg, err);
}

static long budget_used(void *sf)
{
    return sfr_sf_budget_used(sf);
}

/* A queued task's object, for workers.h. */
static bool object_of(void *c, const char *name, struct sfr_check_object *out)
{
    struct sfr_run_ctx *ctx = c;
    int i = sfr_run_ctx_index(ctx, name);
    if (i < 0)
        return false;
    sfr_run_ctx_check_object(ctx, i, out);
    return true;
}

static void workers_init(struct sfr_workers *w, struct sfr_run_ctx *ctx,
                         const struct sfr_check_opts *co, char *name, size_t n)
{
    char host[64] = "localhost";
    gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    snprintf(name, n, "%s:%ld", host, (long)getpid());
    memset(w, 0, sizeof(*w));
    w->db_url = ctx->db_url;
    w->worker = name;
    w->factory = factory;
    w->factory_ctx = ctx;
    w->object = object_of;
    w->object_ctx = ctx;
    w->opts = *co;
}

/* One audit in progress. */
struct engine {
    struct sfr_run_ctx *ctx;
    const struct sfr_audit_opts *o;
    struct sfr_run *run;
    struct sfr_check_opts co;
    struct sfr_workers w; /* o->workers: the queue */
    char worker[96];
    int *idx; /* mapping indexes in audit order */
    int n;
    bool full; /* the whole of each object (full or incremental): the mirror-only checks run,
                  chunk states are kept */
    struct sfr_err *err;
};

/* Objects to audit, parents first. */
static int plan_objects(struct sfr_run_ctx *ctx, const struct sfr_strv *want, int *idx,
                        struct sfr_err *err)
{
    int n = 0;
    int *order = sfr_calloc((size_t)ctx->schema.n_objects + 1, sizeof(int));
    struct sfr_deferred_ref *def = NULL;
    int n_def = 0;
    sfr_schema_order(&ctx->schema, order, &def, &n_def);
    free(def);
    for (int k = 0; k < ctx->schema.n_objects; k++) {
        int i = sfr_run_ctx_index(ctx, ctx->schema.objects[order[k]].name);
        if (i < 0)
            continue;
        if (want != NULL && want->n > 0 && !sfr_strv_contains_ci(want, ctx->proj[i].obj->name))
            continue;
        idx[n++] = i;
    }
    free(order);
    for (size_t w = 0; want != NULL && w < want->n; w++) {
        if (sfr_run_ctx_index(ctx, want->v[w]) < 0) {
            sfr_err_set(err, SFR_EUSAGE, "-o %s: object is not in the mapping %s", want->v[w],
                        ctx->cfg->path);
            return -1;
        }
    }
    return n;
}

static void summarize(struct sfr_object_summary *s, const char *object,
                      const struct sfr_check_stats *st, const struct sfr_disc_list *l,
                      const long *before, double secs)
{
    s->object = sfr_strdup(object);
    s->rows_sf = st->rows_sf;
    s->rows_pg = st->rows_pg;
    s->api_calls = st->api_calls;
    s->seconds = secs;
    s->complete = st->complete;
    s->changed_during = st->rechecked_changed;
    s->in_flight = (long)st->in_flight.n;
    for (int c = 0; c < SFR_CAUSE_N; c++)
        s->by_cause[c] = l->by_cause[c] - before[c];
}

/* The checker's options for this run. */
static void check_opts(struct engine *e)
{
    const struct sfr_config *cfg = e->ctx->cfg;
    sfr_check_opts_defaults(&e->co);
    e->co.depth = e->o->depth;
    e->co.chunk_size = cfg->chunk_size;
    e->co.bisect_factor = cfg->bisect_factor;
    e->co.bisect_threshold = cfg->bisect_threshold;
    e->co.jobs = e->o->jobs > 0  ? e->o->jobs
                 : cfg->jobs > 0 ? cfg->jobs
                                 : sfr_check_cores_available();
    e->co.audit_start_ms = now_ms();
    e->co.progress = e->o->progress;
    e->co.api_calls_fn = e->ctx->sf != NULL ? budget_used : NULL;
    e->co.api_calls_ctx = e->ctx->sf;
    e->co.stop = e->o->stop;
}

static bool stop_requested(const struct engine *e)
{
    return e->o->stop != NULL && *e->o->stop;
}

/* The run stopped (budget or signal) at object k: the ranges the checker left
 * and the objects after k are not covered. */
static void not_covered_from(struct engine *e, int k, const struct sfr_check_stats *st)
{
    const char *name = e->ctx->proj[e->idx[k]].obj->name;
    e->run->complete = false;
    for (size_t u = 0; st != NULL && u < st->not_covered.n; u++)
        sfr_strv_take(&e->run->not_covered, sfr_asprintf("%s %s", name, st->not_covered.v[u]));
    for (int u = st != NULL ? k + 1 : k; u < e->n; u++)
        sfr_strv_take(&e->run->not_covered,
                      sfr_asprintf("%s (all)", e->ctx->proj[e->idx[u]].obj->name));
}

/* The mapping's sf_max_daily_api_calls is a daily budget the client checks
 * against Salesforce's own count (set up with the run context); the run's
 * budget stays. Returns the mapping's cap (0 = none). */
static long object_budget(struct engine *e, int i)
{
    struct sfr_run_ctx *ctx = e->ctx;
    long per = ctx->cfg->mappings[i].sf_max_daily_api_calls;
    if (ctx->sf != NULL)
        sfr_sf_set_budget(ctx->sf, ctx->budget_max);
    return per;
}

/* The mirror-only checks run on ctx->conn in a thread of their own while the
 * checker's jobs use connections of their own. */
struct mirror_job {
    struct sfr_run_ctx *ctx;
    int i;
    struct sfr_disc_list found;
    struct sfr_strv skipped;
    enum sfr_rc rc;
    struct sfr_err err;
    pthread_t th;
    bool started;
};

static void *mirror_thread(void *arg)
{
    struct mirror_job *j = arg;
    j->rc =
        sfr_audit_mirror_checks(j->ctx, j->i, sfr_disc_list_sink, &j->found, &j->skipped, &j->err);
    return NULL;
}

/* Joins (or, when no thread could start, runs) the mirror-only checks and
 * moves their findings into the run; their failure becomes the object's. */
static enum sfr_rc mirror_finish(struct engine *e, struct mirror_job *mj, enum sfr_rc rc)
{
    if (mj->started)
        pthread_join(mj->th, NULL);
    if (rc == SFR_OK && e->full && !mj->started)
        mj->rc = sfr_audit_mirror_checks(e->ctx, mj->i, sfr_disc_list_sink, &mj->found,
                                         &mj->skipped, &mj->err);
    struct sfr_disc_iter it;
    sfr_disc_iter_begin(&it, &mj->found, 0);
    const struct sfr_discrepancy *d;
    while ((d = sfr_disc_iter_next(&it)) != NULL) {
        struct sfr_discrepancy c;
        sfr_discrepancy_copy(&c, d);
        sfr_disc_list_push(&e->run->discs, &c);
    }
    if (it.err && rc == SFR_OK)
        rc = sfr_err_set(e->err, SFR_EIO,
                         "%s: mirror findings spilled to a temporary file could not be read back",
                         e->ctx->proj[mj->i].obj->name);
    sfr_disc_iter_end(&it);
    sfr_disc_list_cleanup(&mj->found);
    for (size_t u = 0; u < mj->skipped.n; u++)
        if (!sfr_strv_contains_ci(&e->run->notes, mj->skipped.v[u]))
            sfr_strv_push(&e->run->notes, mj->skipped.v[u]);
    sfr_strv_cleanup(&mj->skipped);
    if (rc == SFR_OK && e->full && mj->rc != SFR_OK) {
        rc = mj->rc;
        if (e->err != NULL)
            *e->err = mj->err;
    }
    return rc;
}

/* An API budget ran out on object k: note what was not covered. When only
 * the mapping's own cap ran out the audit goes on with the other objects
 * (returns SFR_OK); when the run's budget did, it stops (SFR_ELIMIT). */
static enum sfr_rc budget_stop(struct engine *e, int k, long per, const struct sfr_check_stats *st)
{
    struct sfr_run_ctx *ctx = e->ctx;
    const char *name = ctx->proj[e->idx[k]].obj->name;
    bool object_cap = ctx->sf != NULL && per > 0 &&
                      (ctx->budget_max == 0 || sfr_sf_budget_used(ctx->sf) < ctx->budget_max);
    /* counts as the summary line counts them: the audit's calls, describes aside */
    if (object_cap)
        sfr_log_warn("%s: stopped early: its sf_max_daily_api_calls (%ld) is spent after %ld API "
                     "call%s; the other objects go on",
                     name, per, st->api_calls, st->api_calls == 1 ? "" : "s");
    else if (ctx->sf != NULL)
        sfr_log_warn("%s: stopped early: the run's API budget is spent after %ld API call%s", name,
                     e->run->api_calls + st->api_calls,
                     e->run->api_calls + st->api_calls == 1 ? "" : "s");
    else
        sfr_log_warn("%s: stopped early: %s", name, e->err ? e->err->msg : "API limit");
    if (object_cap) {
        e->run->complete = false;
        for (size_t u = 0; u < st->not_covered.n; u++)
            sfr_strv_take(&e->run->not_covered, sfr_asprintf("%s %s", name, st->not_covered.v[u]));
        sfr_err_clear(e->err);
        return SFR_OK;
    }
    not_covered_from(e, k, st);
    return SFR_ELIMIT;
}

/* Changes seen since this time are found again next run: the object's
 * start on Salesforce's clock, less an overlap for transactions that
 * commit after they stamp SystemModstamp. */
#define WATERMARK_OVERLAP_MS (5 * 60 * 1000)

/* The chunk states (each clean or not) and the watermark for the next
 * incremental run. A chunk a stop left uncompared has no state, so the next
 * run compares it whole. */
static enum sfr_rc store_state(struct engine *e, const char *name, const struct sfr_check_stats *st)
{
    enum sfr_rc rc = sfr_history_put_chunks(e->ctx->conn, name, e->run->id, &st->chunks, e->err);
    if (rc == SFR_OK)
        rc = sfr_history_put_watermark(e->ctx->conn, name, e->run->id,
                                       e->co.audit_start_ms - WATERMARK_OVERLAP_MS, e->err);
    return rc;
}

/* Records still changing after every recheck were not judged: not
 * covered, so the run is not complete. */
static void in_flight_notes(struct engine *e, const char *name, const struct sfr_check_stats *st)
{
    for (size_t u = 0; u < st->in_flight.n; u++) {
        sfr_strv_take(&e->run->not_covered,
                      sfr_asprintf("%s %s: in flight (still changing after %d looks; compared "
                                   "again next run)",
                                   name, st->in_flight.v[u], e->co.recheck_tries));
        e->run->complete = false;
    }
}

/* Audits the k-th object of the plan into the run. */
static enum sfr_rc audit_object(struct engine *e, int k)
{
    struct sfr_run_ctx *ctx = e->ctx;
    const struct sfr_audit_opts *o = e->o;
    int i = e->idx[k];
    const char *name = ctx->proj[i].obj->name;
    enum sfr_rc rc = SFR_OK;
    struct sfr_chunk_list prev = {0};
    e->co.watermark_ms = INT64_MIN;
    if (o->since_last)
        rc = sfr_history_get_chunks(ctx->conn, name, &prev, e->err);
    if (rc == SFR_OK && o->since_last)
        rc = sfr_history_get_watermark(ctx->conn, name, &e->co.watermark_ms, e->err);
    struct sfr_strv prev_keys = {0}, prev_absent = {0};
    bool keys_known = false;
    if (rc == SFR_OK && o->since_last && prev.n > 0)
        rc = sfr_history_state_keys(ctx->conn, name, 50000, &prev_keys, &prev_absent, &keys_known,
                                    e->err);
    e->co.prev = o->since_last && prev.n > 0 ? &prev : NULL;
    e->co.prev_keys = keys_known ? &prev_keys : NULL;
    e->co.prev_absent_sf = keys_known ? &prev_absent : NULL;
    /* "during the audit" on Salesforce's clock, never the host's */
    e->co.audit_start_ms = ctx->sf != NULL ? sfr_sf_server_now_ms(ctx->sf) : now_ms();
    struct sfr_check_object cobj;
    sfr_run_ctx_check_object(ctx, i, &cobj);
    char label[32];
    snprintf(label, sizeof(label), "[%d/%d]", k + 1, e->n);
    e->co.progress_label = label;
    long per = object_budget(e, i);
    struct sfr_check_stats st;
    memset(&st, 0, sizeof(st));
    st.sf_max_mod_ms = st.pg_max_mod_ms = INT64_MIN;
    size_t from = sfr_disc_list_count(&e->run->discs);
    long before[SFR_CAUSE_N];
    memcpy(before, e->run->discs.by_cause, sizeof(before));
    int64_t start = now_ms();

    struct mirror_job mj = {ctx, i, {0}, {0}, SFR_OK, {0}, 0, false};
    mj.found.spillable = true; /* a million orphans stay on disk */
    mj.started = rc == SFR_OK && e->full && pthread_create(&mj.th, NULL, mirror_thread, &mj) == 0;
    if (rc == SFR_OK && o->since_ms != INT64_MIN)
        rc =
            sfr_audit_since(ctx, i, o->since_ms, e->co.audit_start_ms, &e->run->discs, &st, e->err);
    else if (rc == SFR_OK && o->workers) {
        rc = sfr_workers_run_object(&e->w, e->run->id, name, &e->run->discs, &st, e->err);
        sfr_check_mark_dirty(&st, &e->run->discs, from);
    } else if (rc == SFR_OK)
        rc = sfr_check_object(&cobj, &e->co, factory, ctx, &e->run->discs, &st, e->err);
    if (rc == SFR_ELIMIT)
        rc = budget_stop(e, k, per, &st);
    else if (rc == SFR_EINTR)
        not_covered_from(e, k, &st);
    rc = mirror_finish(e, &mj, rc);
    in_flight_notes(e, name, &st);

    if (rc == SFR_OK && o->store && o->since_ms == INT64_MIN && o->depth == SFR_DEPTH_CONTENT)
        rc = store_state(e, name, &st);
    summarize(&e->run->objects[e->run->n_objects++], name, &st, &e->run->discs, before,
              (double)(now_ms() - start) / 1000.0);
    e->run->api_calls += st.api_calls;
    sfr_check_stats_cleanup(&st);
    sfr_chunk_list_cleanup(&prev);
    sfr_strv_cleanup(&prev_keys);
    sfr_strv_cleanup(&prev_absent);
    return rc;
}

/* What the report's header names: the mapping, its org and app, the mirror. */
static void name_context(const struct sfr_run_ctx *ctx, struct sfr_run *run)
{
    const struct sfr_config *cfg = ctx->cfg;
    /* the real path, so `report -c` finds it from any directory */
    char *real = cfg->path != NULL ? realpath(cfg->path, NULL) : NULL;
    snprintf(run->mapping, sizeof(run->mapping), "%s",
             real != NULL        ? real
             : cfg->path != NULL ? cfg->path
                                 : "");
    free(real);
    snprintf(run->organization_id, sizeof(run->organization_id), "%s",
             cfg->organization_id ? cfg->organization_id : "");
    snprintf(run->app_name, sizeof(run->app_name), "%s", cfg->app_name ? cfg->app_name : "");
    snprintf(run->mirror_schema, sizeof(run->mirror_schema), "%s", cfg->schema);
    const char *db = ctx->conn != NULL ? PQdb(ctx->conn) : NULL;
    snprintf(run->mirror_database, sizeof(run->mirror_database), "%s", db ? db : "");
}

/* The run's status and end, stored when the run was. */
static enum sfr_rc finish_run(struct engine *e, enum sfr_rc rc)
{
    struct sfr_run *run = e->run;
    if (rc == SFR_ELIMIT)
        rc = SFR_OK;
    snprintf(run->status, sizeof(run->status), "%s",
             rc == SFR_EINTR                        ? "interrupted"
             : rc != SFR_OK                         ? "failed"
             : !run->complete                       ? "partial"
             : sfr_disc_list_count(&run->discs) > 0 ? "discrepancies"
                                                    : "clean");
    utc_now(run->finished_at, sizeof(run->finished_at));
    if (!e->o->store || run->id <= 0)
        return rc;
    struct sfr_err e2;
    if (sfr_history_finish(e->ctx->conn, run, &e2) != SFR_OK ||
        sfr_history_open_since(e->ctx->conn, run, &e2) != SFR_OK) {
        sfr_log_err(&e2);
        if (rc == SFR_OK) {
            rc = e2.rc;
            if (e->err)
                *e->err = e2;
        }
    }
    return rc;
}

enum sfr_rc sfr_audit_join(struct sfr_run_ctx *ctx, const struct sfr_audit_opts *o, int wait_s,
                           long *n_done, struct sfr_err *err)
{
    struct engine e = {ctx, o, NULL, {0}, {0}, "", NULL, 0, false, err};
    check_opts(&e);
    workers_init(&e.w, ctx, &e.co, e.worker, sizeof(e.worker));
    return sfr_workers_join(&e.w, wait_s, n_done, err);
}

enum sfr_rc sfr_audit_run(struct sfr_run_ctx *ctx, const struct sfr_audit_opts *o,
                          struct sfr_run *run, struct sfr_err *err)
{
    memset(run, 0, sizeof(*run));
    if (o->workers &&
        (!o->store || o->since_last || o->since_ms != INT64_MIN || o->depth != SFR_DEPTH_CONTENT))
        return sfr_err_set(err, SFR_EUSAGE,
                           "--workers shares a stored full content audit: it cannot be "
                           "combined with --no-store, --since or --depth count");
    struct engine e = {ctx, o, run, {0}, {0}, "", NULL, 0, false, err};
    e.full = o->since_ms == INT64_MIN;
    e.idx = sfr_calloc((size_t)ctx->n + 1, sizeof(int));
    e.n = plan_objects(ctx, o->objects, e.idx, err);
    if (e.n < 0) {
        free(e.idx);
        return SFR_EUSAGE;
    }
    snprintf(run->depth, sizeof(run->depth), "%s",
             o->depth == SFR_DEPTH_COUNT ? "count" : "content");
    snprintf(run->status, sizeof(run->status), "running");
    run->complete = true;
    utc_now(run->started_at, sizeof(run->started_at));
    name_context(ctx, run);
    /* one audit of a mapping at a time; the run row is created only now */
    enum sfr_rc rc = sfr_history_lock_mapping(ctx->conn, ctx->cfg->schema, err);
    if (rc == SFR_OK && o->store)
        rc = sfr_history_begin(ctx->conn, run, run->mapping, err);
    if (rc != SFR_OK) {
        free(e.idx);
        return rc;
    }
    run->objects = sfr_calloc((size_t)e.n + 1, sizeof(*run->objects));
    run->discs.spillable = true; /* memory bounded however many are found */
    check_opts(&e);
    if (o->workers) {
        /* every object's ranges are queued first, so joined processes can
         * take any of them */
        workers_init(&e.w, ctx, &e.co, e.worker, sizeof(e.worker));
        for (int k = 0; k < e.n && rc == SFR_OK; k++) {
            struct sfr_check_object cobj;
            sfr_run_ctx_check_object(ctx, e.idx[k], &cobj);
            rc = sfr_workers_plan(&e.w, run->id, &cobj, NULL, err);
        }
    }
    for (int k = 0; k < e.n && rc == SFR_OK; k++) {
        if (stop_requested(&e)) {
            rc =
                sfr_err_set(err, SFR_EINTR, "interrupted before %s", ctx->proj[e.idx[k]].obj->name);
            not_covered_from(&e, k, NULL);
            break;
        }
        rc = audit_object(&e, k);
    }
    free(e.idx);
    return finish_run(&e, rc);
}
