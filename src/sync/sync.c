/* sync.c — the sync process: set-up (a Postgres side for mirror writes, the
 * facts of every mirror table, LISTEN on the trigger log's channel), one
 * cycle over the mapped objects parents first (pull, then push), and the
 * daemon loop: a pull every `interval` seconds, a push-only cycle as soon as
 * an app's write is notified, one stderr line per cycle, a clean stop when
 * the stop flag is set between steps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "sfrecon/log.h"
#include "sync_internal.h"

static int64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

enum sfr_rc sfr_sync_new(struct sfr_run_ctx *ctx, struct sfr_sync **out, struct sfr_err *err)
{
    *out = NULL;
    if (ctx->sf == NULL)
        return sfr_err_set(err, SFR_ECONFIG,
                           "sync needs Salesforce (SF_* environment), "
                           "not a Postgres source");
    struct sfr_sync *s = sfr_calloc(1, sizeof(*s));
    s->ctx = ctx;
    s->bulk_threshold = ctx->cfg->bulk_threshold;
    s->tables = sfr_calloc((size_t)ctx->n + 1, sizeof(*s->tables));
    enum sfr_rc rc = SFR_OK;
    bool any_rw = false;
    for (int i = 0; rc == SFR_OK && i < ctx->n; i++) {
        rc = sfr_pg_table_load(ctx->conn, ctx->cfg->schema, ctx->proj[i].obj->table, &s->tables[i],
                               err);
        if (rc == SFR_OK && s->tables[i].has_trigger_log)
            s->has_tlog = true;
        if (ctx->cfg->mappings[i].access == SFR_ACCESS_READ_WRITE)
            any_rw = true;
    }
    if (rc == SFR_OK) {
        s->pg = sfr_pg_side_new(ctx->db_url, err);
        if (s->pg == NULL)
            rc = err ? err->rc : SFR_EPG;
    }
    if (rc == SFR_OK && s->has_tlog) {
        rc = sfr_sync_listen(ctx->conn, ctx->cfg->schema, err);
        s->listening = rc == SFR_OK;
        for (int i = 0; rc == SFR_OK && i < ctx->n; i++) {
            long n = 0;
            rc = sfr_sync_tlog_count_pending(ctx->conn, &s->tables[i], &n, err);
            if (rc == SFR_OK && n > 0)
                sfr_log_warn("%s: %ld _trigger_log entries were left PENDING by an interrupted "
                             "sync; they may or may not have reached Salesforce: check them "
                             "and set state back to 'NEW' to retry",
                             s->tables[i].display, n);
        }
    } else if (rc == SFR_OK && any_rw) {
        sfr_log_info("%s has no _trigger_log (a mirror without Heroku Connect's triggers): "
                     "push to Salesforce skipped",
                     ctx->cfg->schema);
    }
    /* a per-run budget would end a daemon; its calls are counted per cycle */
    sfr_sf_set_budget(ctx->sf, 0);
    sfr_sf_set_phase(ctx->sf, "sync");
    if (rc != SFR_OK) {
        sfr_sync_free(s);
        return rc;
    }
    *out = s;
    return SFR_OK;
}

void sfr_sync_free(struct sfr_sync *s)
{
    if (s == NULL)
        return;
    for (int i = 0; s->tables != NULL && i < s->ctx->n; i++)
        sfr_pg_table_cleanup(&s->tables[i]);
    free(s->tables);
    sfr_side_free(s->pg);
    free(s);
}

enum sfr_rc sfr_sync_cycle(struct sfr_sync *s, bool pull, struct sfr_sync_stats *st,
                           struct sfr_err *err)
{
    struct sfr_run_ctx *ctx = s->ctx;
    long calls0 = sfr_sf_api_calls(ctx->sf);
    int *order = sfr_calloc((size_t)ctx->schema.n_objects + 1, sizeof(int));
    struct sfr_deferred_ref *def = NULL;
    int n_def = 0;
    sfr_schema_order(&ctx->schema, order, &def, &n_def);
    free(def);
    enum sfr_rc rc = SFR_OK;
    for (int k = 0; rc == SFR_OK && k < ctx->schema.n_objects && !sfr_sync_stopping(s); k++) {
        int i = sfr_run_ctx_index(ctx, ctx->schema.objects[order[k]].name);
        if (i < 0)
            continue;
        /* creates of unknown outcome are settled before a pull can bring
         * their records in as rows of their own (push.c) */
        rc = sfr_sync_push_settle(s, i, true, st, err);
        if (pull && rc == SFR_OK)
            rc = sfr_sync_pull_object(s, i, st, err);
        if (rc == SFR_OK && !sfr_sync_stopping(s))
            rc = sfr_sync_push_object(s, i, st, err);
    }
    free(order);
    st->api_calls += sfr_sf_api_calls(ctx->sf) - calls0;
    return rc;
}

static void add_stats(struct sfr_sync_stats *t, const struct sfr_sync_stats *c)
{
    t->pulled += c->pulled;
    t->deleted += c->deleted;
    t->pushed += c->pushed;
    t->failed += c->failed;
    t->ignored += c->ignored;
    t->conflicts += c->conflicts;
    t->api_calls += c->api_calls;
}

/* Sleeps up to ms, in short steps so a stop is noticed. */
static void nap(const struct sfr_sync *s, long ms)
{
    while (ms > 0 && !sfr_sync_stopping(s)) {
        long step = ms > 200 ? 200 : ms;
        struct timespec ts = {step / 1000, (step % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

/* After a failed cycle: reconnect what broke. */
static void recover(struct sfr_sync *s)
{
    struct sfr_run_ctx *ctx = s->ctx;
    if (PQstatus(ctx->conn) != CONNECTION_OK) {
        PQreset(ctx->conn);
        if (PQstatus(ctx->conn) == CONNECTION_OK && s->has_tlog) {
            struct sfr_err e = {0};
            s->listening = sfr_sync_listen(ctx->conn, ctx->cfg->schema, &e) == SFR_OK;
            if (!s->listening)
                sfr_log_err(&e);
        }
    }
    if (s->pg != NULL && PQstatus(sfr_pg_side_conn(s->pg)) != CONNECTION_OK) {
        struct sfr_err e = {0};
        struct sfr_side *pg = sfr_pg_side_new(ctx->db_url, &e);
        if (pg != NULL) {
            sfr_side_free(s->pg);
            s->pg = pg;
        } else {
            sfr_log_err(&e);
        }
    }
}

enum sfr_rc sfr_sync_run(struct sfr_sync *s, const struct sfr_sync_opts *o,
                         struct sfr_sync_stats *total, struct sfr_err *err)
{
    memset(total, 0, sizeof(*total));
    s->stop = o->stop;
    long interval_ms = (long)(o->interval > 0 ? o->interval : 10) * 1000;
    int64_t last_pull = 0;
    bool first = true;
    for (long cycle = 1;; cycle++) {
        int64_t start = now_ms();
        bool pull = first || start - last_pull >= interval_ms;
        if (pull)
            last_pull = start;
        first = false;
        struct sfr_sync_stats st = {0};
        struct sfr_err cerr = {0};
        enum sfr_rc rc = sfr_sync_cycle(s, pull, &st, &cerr);
        add_stats(total, &st);
        fprintf(stderr,
                "sfrecon: sync cycle %ld%s: pulled %ld, deleted %ld, pushed %ld, failed %ld, "
                "ignored %ld, conflicts %ld, api calls %ld (total %ld), %.2f s%s\n",
                cycle, pull ? "" : " (push)", st.pulled, st.deleted, st.pushed, st.failed,
                st.ignored, st.conflicts, st.api_calls, sfr_sf_api_calls(s->ctx->sf),
                (double)(now_ms() - start) / 1000.0, rc == SFR_OK ? "" : ", error");
        if (rc != SFR_OK) {
            if (o->once) {
                if (err != NULL)
                    *err = cerr;
                return rc;
            }
            sfr_log_err(&cerr);
            recover(s);
        }
        if (o->once || sfr_sync_stopping(s))
            return SFR_OK;
        long left = interval_ms - (long)(now_ms() - last_pull);
        if (left < 0)
            left = 0;
        if (s->listening && rc == SFR_OK) {
            if (sfr_sync_wait(s->ctx->conn, left, o->stop) < 0) {
                sfr_log_warn("lost the LISTEN connection: %s; reconnecting",
                             PQerrorMessage(s->ctx->conn));
                recover(s);
            }
        } else {
            nap(s, left > 0 ? left : interval_ms);
        }
        if (sfr_sync_stopping(s))
            return SFR_OK;
    }
}
