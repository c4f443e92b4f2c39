/* sync.c — the sync process: set-up (a Postgres side for mirror writes, the
 * facts of every mirror table, LISTEN on the trigger log's channel), one
 * cycle over the mapped objects parents first (pull where due, then push),
 * and the daemon loop: change events applied as they arrive (stream.c), a
 * pull of the objects without a stream every `interval` seconds and of the
 * streamed ones only to close a gap, a push as soon as an app's write is
 * notified, one stderr line per cycle that did something, a clean stop when
 * the stop flag is set between steps.
 *
 * Isolation: a failure of one object (an SQL error, a bad value, an API
 * error of its own) is logged, the object backs off (2 s doubling, at most
 * 5 min) and the others go on; only failures no object can get past (auth,
 * API limit, a lost Postgres connection) end the cycle. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "sfrecon/cometd.h"
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
    s->obj = sfr_calloc((size_t)ctx->n + 1, sizeof(*s->obj));
    for (int i = 0; i < ctx->n; i++)
        s->obj[i].replay = -1;
    const char *cn = getenv("SF_CLIENT_NAME");
    snprintf(s->call_client, sizeof(s->call_client), "%s", cn && cn[0] ? cn : "sfrecon-sync");
    sfr_sf_set_call_client(ctx->sf, s->call_client);
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
        if (rc == SFR_OK)
            rc = sfr_sync_tlog_setup(s, err);
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
    sfr_sync_stream_stop(s);
    sfr_sync_metrics_stop(s->metrics);
    if (s->last_run != NULL) {
        sfr_run_cleanup(s->last_run);
        free(s->last_run);
    }
    for (int i = 0; s->tables != NULL && i < s->ctx->n; i++)
        sfr_pg_table_cleanup(&s->tables[i]);
    for (int i = 0; s->obj != NULL && i < s->ctx->n; i++)
        free(s->obj[i].channel);
    free(s->obj);
    free(s->chan_obj);
    free(s->archive_qname);
    free(s->tables);
    sfr_side_free(s->pg);
    free(s);
}

void sfr_sync_obj_failed(struct sfr_sync *s, int i, const struct sfr_err *e)
{
    struct sfr_sync_obj *o = &s->obj[i];
    o->fails++;
    long ms = 2000L << (o->fails > 8 ? 8 : o->fails - 1);
    if (ms > SFR_SYNC_BACKOFF_MAX_MS)
        ms = SFR_SYNC_BACKOFF_MAX_MS;
    o->fail_until_ms = now_ms() + ms;
    snprintf(o->last_error, sizeof(o->last_error), "%.255s", e && e->msg[0] ? e->msg : "failed");
    sfr_log_warn("%s: %s; retrying in %ld s (failure %d in a row); the other objects go on",
                 s->ctx->proj[i].obj->name, o->last_error, ms / 1000, o->fails);
}

void sfr_sync_obj_ok(struct sfr_sync *s, int i)
{
    struct sfr_sync_obj *o = &s->obj[i];
    if (o->fails > 0)
        sfr_log_info("%s: recovered after %d failure(s)", s->ctx->proj[i].obj->name, o->fails);
    o->fails = 0;
    o->fail_until_ms = 0;
    o->last_error[0] = '\0';
}

/* Failures no other object can get past. */
static bool fatal_for_cycle(const struct sfr_sync *s, enum sfr_rc rc)
{
    return rc == SFR_EAUTH || rc == SFR_ELIMIT || rc == SFR_ECONFIG ||
           PQstatus(s->ctx->conn) != CONNECTION_OK ||
           (s->pg != NULL && PQstatus(sfr_pg_side_conn(s->pg)) != CONNECTION_OK);
}

/* Pull of object i: /deleted over the gap (first pull since start, a gap,
 * polling), then the SystemModstamp pull; a gap closes when both committed. */
static enum sfr_rc pull_one(struct sfr_sync *s, int i, bool with_deleted, struct sfr_sync_stats *st,
                            struct sfr_err *err)
{
    struct sfr_sync_obj *o = &s->obj[i];
    enum sfr_rc rc = SFR_OK;
    int64_t t0 = now_ms();
    if (with_deleted && s->ctx->proj[i].idx_modstamp >= 0)
        rc = sfr_sync_pull_deleted(s, i, st, err);
    if (rc == SFR_OK)
        rc = sfr_sync_pull_object(s, i, st, err);
    if (rc == SFR_OK && !sfr_sync_stopping(s)) {
        o->pulled_once = true;
        o->last_pull_ms = now_ms();
        o->current_ms = t0;
        if (o->need_pull)
            rc = sfr_sync_gap_closed(s, i, err);
    }
    return rc;
}

/* READONLY marks (every push sweep), and every SFR_SYNC_HOUSEKEEPING_MS the
 * archive of processed trigger-log entries. */
static enum sfr_rc housekeeping(struct sfr_sync *s, struct sfr_err *err)
{
    if (!s->has_tlog)
        return SFR_OK;
    long n = 0;
    enum sfr_rc rc = sfr_sync_tlog_mark_readonly(s, &n, err);
    if (rc == SFR_OK && n > 0)
        sfr_log_info("trigger log: %ld entries of read_only mappings marked READONLY", n);
    int64_t now = now_ms();
    if (rc == SFR_OK && (s->last_housekeeping_ms == 0 ||
                         now - s->last_housekeeping_ms >= SFR_SYNC_HOUSEKEEPING_MS)) {
        long moved = 0, purged = 0;
        rc = sfr_sync_tlog_archive(s, &moved, &purged, err);
        s->last_housekeeping_ms = now;
    }
    return rc;
}

/* One pass over the objects, parents first. pull_all: every object is
 * pulled (--once, the first cycle of a polling daemon); otherwise the ones
 * due (polled every interval, or a streamed one with a gap). */
static enum sfr_rc pass(struct sfr_sync *s, bool pull_all, bool push, int64_t interval_ms,
                        struct sfr_sync_stats *st, struct sfr_err *err)
{
    struct sfr_run_ctx *ctx = s->ctx;
    long calls0 = sfr_sf_api_calls(ctx->sf);
    int *order = sfr_calloc((size_t)ctx->schema.n_objects + 1, sizeof(int));
    struct sfr_deferred_ref *def = NULL;
    int n_def = 0;
    sfr_schema_order(&ctx->schema, order, &def, &n_def);
    free(def);
    enum sfr_rc rc = SFR_OK;
    int64_t now = now_ms();
    if (push) {
        struct sfr_err e = {0};
        if (housekeeping(s, &e) != SFR_OK) {
            if (fatal_for_cycle(s, e.rc)) {
                rc = e.rc;
                if (err != NULL)
                    *err = e;
            } else {
                sfr_log_err(&e); /* the sync goes on; the next sweep retries */
            }
        }
    }
    for (int k = 0; rc == SFR_OK && k < ctx->schema.n_objects && !sfr_sync_stopping(s); k++) {
        int i = sfr_run_ctx_index(ctx, ctx->schema.objects[order[k]].name);
        if (i < 0)
            continue;
        struct sfr_sync_obj *o = &s->obj[i];
        if (o->fail_until_ms > now)
            continue; /* backing off */
        bool retry = o->fails > 0;
        bool pull = pull_all || retry ||
                    (o->mode == SFR_OBJ_POLL && now - o->last_pull_ms >= interval_ms) ||
                    (o->mode == SFR_OBJ_STREAM && o->need_pull);
        struct sfr_err e = {0};
        /* creates of unknown outcome are settled before a pull can bring
         * their records in as rows of their own (push.c) */
        enum sfr_rc r = sfr_sync_push_settle(s, i, true, st, &e);
        if (pull && r == SFR_OK)
            r = pull_one(s, i, !pull_all || s->cd != NULL || !o->pulled_once, st, &e);
        if (r == SFR_OK && (push || retry) && !sfr_sync_stopping(s))
            r = sfr_sync_push_object(s, i, st, &e);
        if (r == SFR_OK) {
            if (retry)
                sfr_sync_obj_ok(s, i);
            continue;
        }
        if (fatal_for_cycle(s, r)) {
            rc = r;
            if (err != NULL)
                *err = e;
            break;
        }
        sfr_sync_obj_failed(s, i, &e);
        st->failed_objects++;
        if (err != NULL && err->rc == SFR_OK)
            *err = e;
    }
    free(order);
    st->api_calls += sfr_sf_api_calls(ctx->sf) - calls0;
    return rc;
}

enum sfr_rc sfr_sync_cycle(struct sfr_sync *s, bool pull, struct sfr_sync_stats *st,
                           struct sfr_err *err)
{
    struct sfr_err e = {0};
    enum sfr_rc rc = pass(s, pull, true, 0, st, &e);
    if (rc == SFR_OK && st->failed_objects > 0)
        rc = e.rc != SFR_OK ? e.rc : SFR_EINTERNAL;
    if (rc != SFR_OK && err != NULL)
        *err = e;
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
    t->events += c->events;
    t->own_events += c->own_events;
    t->failed_objects += c->failed_objects;
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

/* Waits up to ms for an app write (LISTEN), change events or a stop.
 * *notified: an app wrote. Returns -1 when the LISTEN connection failed. */
static int wait_any(struct sfr_sync *s, long ms, bool *notified)
{
    *notified = false;
    int64_t until = now_ms() + ms;
    for (;;) {
        if (sfr_sync_stopping(s))
            return 0;
        long left = (long)(until - now_ms());
        if (left <= 0)
            return 0;
        struct pollfd fds[2];
        int n = 0, pg = -1, cd = -1;
        if (s->listening && PQsocket(s->ctx->conn) >= 0) {
            fds[n].fd = PQsocket(s->ctx->conn);
            fds[n].events = POLLIN;
            fds[n].revents = 0;
            pg = n++;
        }
        if (sfr_sync_stream_fd(s) >= 0) {
            fds[n].fd = sfr_sync_stream_fd(s);
            fds[n].events = POLLIN;
            fds[n].revents = 0;
            cd = n++;
        }
        int r = poll(fds, (nfds_t)n, (int)(left > 500 ? 500 : left));
        if (r <= 0)
            continue;
        int got = 0;
        if (pg >= 0 && fds[pg].revents) {
            int w = sfr_sync_wait(s->ctx->conn, 0, NULL);
            if (w < 0)
                return -1;
            if (w > 0) {
                *notified = true;
                got = 1;
            }
        }
        if (cd >= 0 && fds[cd].revents)
            got = 1;
        if (got)
            return 1;
    }
}

static void print_cycle(const struct sfr_sync *s, long cycle, const char *what,
                        const struct sfr_sync_stats *st, int64_t start, enum sfr_rc rc)
{
    fprintf(stderr,
            "sfrecon: sync cycle %ld%s: pulled %ld, deleted %ld, pushed %ld, failed %ld, "
            "ignored %ld, conflicts %ld, api calls %ld (total %ld), events %ld, %.2f s%s\n",
            cycle, what, st->pulled, st->deleted, st->pushed, st->failed, st->ignored,
            st->conflicts, st->api_calls, sfr_sf_api_calls(s->ctx->sf), st->events,
            (double)(now_ms() - start) / 1000.0, rc == SFR_OK ? "" : ", error");
}

static bool did_something(const struct sfr_sync_stats *st)
{
    return st->pulled || st->deleted || st->pushed || st->failed || st->ignored || st->conflicts ||
           st->api_calls || st->events || st->failed_objects;
}

/* Objects streamed without a gap, not failing, are current now. */
static void mark_current(struct sfr_sync *s)
{
    int64_t now = now_ms();
    for (int i = 0; i < s->ctx->n; i++) {
        struct sfr_sync_obj *o = &s->obj[i];
        if (o->mode == SFR_OBJ_STREAM && !o->need_pull && o->fails == 0)
            o->current_ms = now;
    }
}

/* /healthz: the last cycle succeeded, no object failed three times in a row. */
static bool health(const struct sfr_sync *s, struct sfr_buf *why)
{
    bool ok = s->last_cycle_ok;
    if (!ok)
        sfr_buf_puts(why, "the last sync cycle failed");
    for (int i = 0; i < s->ctx->n; i++) {
        const struct sfr_sync_obj *o = &s->obj[i];
        if (o->fails < 3)
            continue;
        sfr_buf_printf(why, "%s%s failing (%d in a row): %s", why->len ? "; " : "",
                       s->ctx->proj[i].obj->name, o->fails, o->last_error);
        ok = false;
    }
    if (ok)
        sfr_buf_puts(why, "ok");
    return ok;
}

static void publish(struct sfr_sync *s)
{
    if (s->metrics == NULL)
        return;
    mark_current(s);
    struct sfr_err e = {0};
    if (sfr_sync_tlog_backlog(s, &s->backlog, &e) != SFR_OK)
        sfr_log_debug("metrics: %s", e.msg);
    struct sfr_buf why = SFR_BUF_INIT;
    bool ok = health(s, &why);
    sfr_sync_metrics_publish(s->metrics, sfr_sync_metrics_render(s), ok, why.data);
    sfr_buf_cleanup(&why);
}

enum sfr_rc sfr_sync_run(struct sfr_sync *s, const struct sfr_sync_opts *o,
                         struct sfr_sync_stats *total, struct sfr_err *err)
{
    memset(total, 0, sizeof(*total));
    s->stop = o->stop;
    s->started_ms = now_ms();
    s->repair_auto = o->repair_auto;
    int64_t interval_ms = (int64_t)(o->interval > 0 ? o->interval : 10) * 1000;
    if (o->once) {
        struct sfr_sync_stats st = {0};
        struct sfr_err cerr = {0};
        int64_t start = now_ms();
        enum sfr_rc rc = pass(s, true, true, interval_ms, &st, &cerr);
        if (rc == SFR_OK && st.failed_objects > 0)
            rc = cerr.rc != SFR_OK ? cerr.rc : SFR_EINTERNAL;
        add_stats(total, &st);
        print_cycle(s, 1, "", &st, start, rc);
        if (rc != SFR_OK && err != NULL)
            *err = cerr;
        return rc;
    }
    if (o->metrics != NULL) {
        enum sfr_rc rc = sfr_sync_metrics_start(o->metrics, &s->metrics, err);
        if (rc != SFR_OK)
            return rc;
        publish(s);
    }
    bool streaming = !o->no_stream;
    if (streaming) {
        struct sfr_err e = {0};
        if (sfr_sync_stream_start(s, &e) != SFR_OK) {
            sfr_log_err(&e);
            sfr_log_warn("change events unavailable; polling every %d s", o->interval);
            sfr_sync_stream_stop(s);
            streaming = false;
        }
    }
    for (int i = 0; i < s->ctx->n; i++)
        if (!streaming || s->obj[i].channel == NULL)
            s->obj[i].mode = SFR_OBJ_POLL;
    int64_t last_push = 0;
    int64_t next_audit = o->audit_every_ms > 0 ? s->started_ms + o->audit_every_ms : INT64_MAX;
    bool notified = true; /* the first cycle pushes what waits */
    for (long cycle = 1;; cycle++) {
        int64_t start = now_ms();
        struct sfr_sync_stats st = {0};
        struct sfr_err cerr = {0};
        enum sfr_rc rc = sfr_sync_stream_process(s, &st, &cerr);
        bool push = notified || start - last_push >= interval_ms;
        if (push)
            last_push = start;
        if (rc == SFR_OK)
            rc = pass(s, false, push, interval_ms, &st, &cerr);
        add_stats(total, &st);
        add_stats(&s->totals, &st);
        s->last_cycle_ok = rc == SFR_OK;
        if (rc == SFR_OK)
            s->last_cycle_ok_ms = now_ms();
        if (did_something(&st) || rc != SFR_OK || cycle == 1)
            print_cycle(s, cycle, push && !st.events && !st.pulled ? " (push)" : "", &st, start,
                        rc);
        else
            cycle--; /* an idle turn is not a cycle */
        if (rc != SFR_OK) {
            sfr_log_err(&cerr);
            recover(s);
        }
        if (rc == SFR_OK && !sfr_sync_stopping(s) && now_ms() >= next_audit) {
            struct sfr_err ae = {0};
            if (sfr_sync_audit_step(s, &ae) != SFR_OK) {
                sfr_log_err(&ae);
                s->last_cycle_ok = false;
            }
            next_audit = now_ms() + o->audit_every_ms;
        }
        publish(s);
        if (sfr_sync_stopping(s))
            break;
        /* the next due pull of a polled object, audit, or push sweep */
        int64_t next = last_push + interval_ms, now = now_ms();
        if (next_audit < next)
            next = next_audit;
        if (s->metrics != NULL && now + 5000 < next)
            next = now + 5000; /* keep the lag gauges fresh */
        for (int i = 0; i < s->ctx->n; i++) {
            const struct sfr_sync_obj *ob = &s->obj[i];
            int64_t due = ob->mode == SFR_OBJ_POLL ? ob->last_pull_ms + interval_ms
                          : ob->need_pull && ob->mode == SFR_OBJ_STREAM ? now
                                                                        : INT64_MAX;
            if (ob->fail_until_ms > now && ob->fail_until_ms < due)
                due = ob->fail_until_ms;
            if (due < next)
                next = due;
        }
        long left = next > now ? (long)(next - now) : 0;
        if (rc != SFR_OK && left < 1000)
            left = 1000; /* do not spin on a failure */
        if (left > 0) {
            int w = wait_any(s, left, &notified);
            if (w < 0) {
                sfr_log_warn("lost the LISTEN connection: %s; reconnecting",
                             PQerrorMessage(s->ctx->conn));
                recover(s);
                nap(s, 1000);
            }
        } else {
            notified = false;
        }
        if (sfr_sync_stopping(s))
            break;
    }
    (void)err;
    return SFR_OK;
}
