/* stream.c — Salesforce -> mirror through Change Data Capture. One CometD
 * subscriber (src/sf/cometd.c) listens on the change event channel of every
 * mapped object that has SystemModstamp mapped; its events are applied here
 * as their ChangeEventHeader says, per object in batches, through the
 * Postgres side (xmlbinary 'hex', as the pull: rows SYNCED, nothing logged):
 *
 *  - CREATE / UNDELETE: the record from the payload (fields it lacks are
 *    null), upserted by sfid.
 *  - UPDATE: only changedFields and nulledFields are written; an UPDATE of a
 *    row the mirror lacks reads the whole record (one query per batch).
 *  - DELETE: the rows go.
 *  - several recordIds: the same change for each record.
 *  - GAP_* and GAP_OVERFLOW: Salesforce could not send the change; the
 *    object is pulled (SystemModstamp, from its pull cursor) instead.
 *  - an object with mapped formula fields (change events never carry them):
 *    events name the records, which are read whole.
 *
 * The mirror's systemmodstamp of a row written from an event is the
 * event's LastModifiedDate (change events carry no SystemModstamp; the two
 * are equal for an ordinary edit), else its commitTimestamp. An event whose
 * time is not newer than the row's systemmodstamp is already there (a
 * replay after a restart, or a pull that ran ahead) and is skipped, so an
 * event is never applied twice and an older one never overwrites a newer
 * row.
 *
 * The replayId of each channel goes to sfrecon.sync_cursor (object = the
 * channel, direction 'replay') after the batch's mirror write committed; the
 * object's pull cursor moves with the events (never backwards) unless a gap
 * is open. A gap (GAP_ event, replayId outside retention, a re-subscribe
 * that may have missed events) is stored as (object, 'gap') before the
 * replayId past it, and cleared when the pull that covers it committed; a
 * restart pulls every object whose gap is still open.
 *
 * Own writes: the daemon's REST calls carry Sforce-Call-Options
 * client=<name>, which Salesforce puts in changeOrigin. An own-write event
 * of a row that holds a newer unpushed app write (PENDING) leaves the row
 * alone and is no conflict; otherwise it is applied (it brings Salesforce's
 * system fields). Any other event of a PENDING row is settled by the
 * mapping's repair policy, as the pull does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "sfrecon/check.h"
#include "sfrecon/cometd.h"
#include "sfrecon/log.h"
#include "sfrecon/repair.h"
#include "sync_internal.h"

#define TAKE_MAX 1000

static int64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static bool not_carried(const struct sfr_field *f)
{
    return f->calculated;
}

enum sfr_rc sfr_sync_stream_start(struct sfr_sync *s, struct sfr_err *err)
{
    struct sfr_run_ctx *ctx = s->ctx;
    const char **chans = sfr_calloc((size_t)ctx->n + 1, sizeof(char *));
    long long *replay = sfr_calloc((size_t)ctx->n + 1, sizeof(long long));
    s->chan_obj = sfr_calloc((size_t)ctx->n + 1, sizeof(int));
    s->n_chan = 0;
    enum sfr_rc rc = SFR_OK;
    for (int i = 0; rc == SFR_OK && i < ctx->n; i++) {
        struct sfr_sync_obj *o = &s->obj[i];
        const struct sfr_projection *p = &ctx->proj[i];
        if (p->idx_modstamp < 0) {
            o->mode = SFR_OBJ_POLL;
            continue;
        }
        for (int k = 0; k < p->n_fields; k++)
            if (not_carried(p->fields[k]))
                o->refetch = true;
        o->channel = sfr_cdc_channel(p->obj->name);
        char *cur = NULL, *gap = NULL;
        rc = sfr_sync_cursor_get(ctx->conn, o->channel, "replay", &cur, err);
        if (rc == SFR_OK)
            rc = sfr_sync_cursor_get(ctx->conn, p->obj->name, "gap", &gap, err);
        if (rc == SFR_OK) {
            char *end = NULL;
            long long v = cur ? strtoll(cur, &end, 10) : -1;
            long age = -1;
            if (cur != NULL && v == -2 && *end == '\0') {
                /* no event yet on the channel since a pull made the mirror
                 * whole: every retained event, if retention still covers it */
                rc = sfr_sync_cursor_age(ctx->conn, o->channel, "replay", &age, err);
                if (age < 0 || age > SFR_SYNC_REPLAY_ALL_MAX_S)
                    v = -1;
            } else if (cur != NULL && (end == cur || *end != '\0' || v < 0)) {
                sfr_log_warn("sfrecon.sync_cursor: replay id '%s' of %s is not a number; "
                             "subscribing for new events and pulling",
                             cur, o->channel);
                v = -1;
            }
            replay[s->n_chan] = v;
            o->replay = v;
            /* no position, or a gap left open: the pull covers what the stream cannot */
            o->need_pull = v == -1 || gap != NULL;
            o->gap_open = gap != NULL;
            o->mode = SFR_OBJ_WAIT;
            chans[s->n_chan] = o->channel;
            s->chan_obj[s->n_chan++] = i;
        }
        free(cur);
        free(gap);
    }
    if (rc == SFR_OK && s->n_chan > 0)
        rc = sfr_cometd_start(ctx->sf, chans, replay, s->n_chan, &s->cd, err);
    free(chans);
    free(replay);
    return rc;
}

void sfr_sync_stream_stop(struct sfr_sync *s)
{
    sfr_cometd_stop(s->cd);
    s->cd = NULL;
}

/* Opens a gap on object i (persisted before any replayId past it). */
static enum sfr_rc open_gap(struct sfr_sync *s, int i, long long replay, const char *why,
                            struct sfr_err *err)
{
    struct sfr_sync_obj *o = &s->obj[i];
    char v[32];
    snprintf(v, sizeof(v), "%lld", replay);
    if (!o->need_pull)
        sfr_log_info("%s: %s; pulling it (SystemModstamp) to catch up", s->ctx->proj[i].obj->name,
                     why);
    o->need_pull = true;
    o->gap_open = true;
    return sfr_sync_cursor_set(s->ctx->conn, s->ctx->proj[i].obj->name, "gap", v, err);
}

enum sfr_rc sfr_sync_gap_closed(struct sfr_sync *s, int i, struct sfr_err *err)
{
    struct sfr_sync_obj *o = &s->obj[i];
    o->need_pull = false;
    enum sfr_rc rc = SFR_OK;
    if (o->channel != NULL && o->mode == SFR_OBJ_STREAM && o->replay < 0) {
        /* the mirror is whole and the channel has had no event: a restart
         * can replay every retained event instead of pulling */
        rc = sfr_sync_cursor_set(s->ctx->conn, o->channel, "replay", "-2", err);
        o->replay = -2;
    }
    if (rc != SFR_OK || !o->gap_open)
        return rc;
    o->gap_open = false;
    return sfr_sync_cursor_del(s->ctx->conn, s->ctx->proj[i].obj->name, "gap", err);
}

/* ---- applying a batch of events of one object ---- */

struct item {
    const struct sfr_cdc_msg *ev;
    const char *sfid;
    int64_t stamp;
    bool own;
    enum { IT_UPSERT, IT_UPDATE, IT_DELETE, IT_FETCH, IT_SKIP } what;
    long ignore_id; /* PENDING row overwritten under sf_wins: its NEW entries IGNORED */
};

static int64_t event_stamp(const struct sfr_cdc_msg *ev)
{
    const char *v;
    int64_t ms = INT64_MIN;
    if (sfr_cdc_value(ev, "LastModifiedDate", &v) && v != NULL &&
        sfr_parse_datetime_ms(v, strlen(v), &ms))
        return ms;
    return ev->commit_ms > 0 ? ev->commit_ms : INT64_MIN;
}

static int64_t opt_ms(PGresult *res, int r, int col)
{
    return PQgetisnull(res, r, col) ? INT64_MIN : strtoll(PQgetvalue(res, r, col), NULL, 10);
}

/* Mirror state of the items' rows: skips events already applied, settles
 * rows holding an unpushed app write. */
static enum sfr_rc settle(struct sfr_sync *s, int i, struct item *it, int n,
                          struct sfr_sync_stats *st, struct sfr_err *err)
{
    const struct sfr_pg_table *t = &s->tables[i];
    const char **ids = sfr_calloc((size_t)n + 1, sizeof(char *));
    for (int k = 0; k < n; k++)
        ids[k] = it[k].sfid;
    PGresult *ap = NULL, *pe = NULL;
    enum sfr_rc rc = sfr_sync_applied_rows(s->ctx->conn, t, ids, n, &ap, err);
    if (rc == SFR_OK && t->has_hc_lastop)
        rc = sfr_sync_pending_rows(s->ctx->conn, t, s->has_tlog, ids, n, &pe, err);
    free(ids);
    if (rc != SFR_OK) {
        PQclear(ap);
        return rc;
    }
    enum sfr_policy pol = sfr_repair_policy(&s->ctx->cfg->mappings[i], s->ctx->cfg);
    for (int k = 0; k < n; k++) {
        struct item *x = &it[k];
        if (x->what == IT_SKIP)
            continue;
        bool present = false;
        int64_t have = INT64_MIN;
        for (int r = 0; r < PQntuples(ap); r++)
            if (strcmp(PQgetvalue(ap, r, 0), x->sfid) == 0) {
                present = true;
                have = opt_ms(ap, r, 1);
            }
        if (x->what == IT_DELETE) {
            /* gone already, or changed after the delete (undeleted since) */
            if (!present || (have != INT64_MIN && x->stamp != INT64_MIN && have > x->stamp))
                x->what = IT_SKIP;
            continue;
        }
        if (present && have != INT64_MIN && x->stamp != INT64_MIN && have >= x->stamp) {
            x->what = IT_SKIP; /* already there (replayed, or pulled ahead) */
            continue;
        }
        if (x->what == IT_UPDATE && !present)
            x->what = IT_FETCH;
        for (int r = 0; pe != NULL && r < PQntuples(pe); r++) {
            if (strcmp(PQgetvalue(pe, r, 0), x->sfid) != 0)
                continue;
            long pg_id = atol(PQgetvalue(pe, r, 1));
            int64_t first = opt_ms(pe, r, 2), last = opt_ms(pe, r, 3), row_ms = opt_ms(pe, r, 4);
            if (x->own || sfr_conflict_judge(true, first, x->stamp, row_ms) != SFR_CONFLICT_BOTH) {
                x->what = IT_SKIP; /* the app's newer write is pushed next; no conflict */
                continue;
            }
            bool sf = pol == SFR_POLICY_SF_WINS ||
                      (pol == SFR_POLICY_NEWEST_WINS && (last == INT64_MIN || x->stamp > last));
            st->conflicts++;
            sfr_log_warn("conflict: %s %s changed in Salesforce (change event) and, not yet "
                         "pushed, in %s (row id %ld): %s, %s",
                         s->ctx->proj[i].obj->name, x->sfid, t->display, pg_id,
                         sfr_policy_name(pol),
                         sf ? "Salesforce's version written to the mirror"
                            : "the mirror's version kept for the push");
            if (sf) {
                x->ignore_id = pg_id;
                if (x->what == IT_UPDATE)
                    x->what = IT_FETCH; /* the whole record replaces the app's version */
            } else {
                x->what = IT_SKIP;
            }
        }
    }
    PQclear(ap);
    PQclear(pe);
    return SFR_OK;
}

/* The values of one write from an event: every field for a create, the
 * changed ones for an update. */
static void fill_write(const struct sfr_projection *p, const struct item *x, struct sfr_write *w,
                       char **vals, bool *set)
{
    char ts[32] = "";
    if (x->stamp != INT64_MIN)
        sfr_format_datetime_ms(x->stamp, ts);
    bool create = x->what == IT_UPSERT;
    for (int f = 0; f < p->n_fields; f++) {
        const struct sfr_field *fd = p->fields[f];
        const char *v = NULL;
        set[f] = false;
        vals[f] = NULL;
        if (f == 0 || strcasecmp(fd->name, "Id") == 0) {
            vals[f] = sfr_strdup(x->sfid);
            set[f] = create;
        } else if (f == p->idx_modstamp) {
            vals[f] = ts[0] ? sfr_strdup(ts) : NULL;
            set[f] = ts[0] != '\0';
        } else if (f == p->idx_isdeleted) {
            vals[f] = sfr_strdup("false");
            set[f] = create;
        } else if (create) {
            if (sfr_cdc_value(x->ev, fd->name, &v))
                vals[f] = v ? sfr_strdup(v) : NULL;
            set[f] = true;
        } else if (sfr_cdc_changed(x->ev, fd->name)) {
            if (sfr_cdc_value(x->ev, fd->name, &v))
                vals[f] = v ? sfr_strdup(v) : NULL;
            set[f] = true;
        }
    }
    w->kind = create ? SFR_WRITE_UPSERT : SFR_WRITE_UPDATE;
    w->sfid = x->sfid;
    w->values = (const char *const *)vals;
    w->set = create ? NULL : set;
}

static bool is_gap(const char *type)
{
    return strncmp(type, "GAP_", 4) == 0;
}

/* Applies events ev[0..n) of object i (one channel, replay order). */
static enum sfr_rc apply_events(struct sfr_sync *s, int i, struct sfr_cdc_msg **ev, int n,
                                struct sfr_sync_stats *st, struct sfr_err *err)
{
    const struct sfr_projection *p = &s->ctx->proj[i];
    struct sfr_sync_obj *o = &s->obj[i];
    enum sfr_rc rc = SFR_OK;
    int n_items = 0, cap = 0;
    struct item *it = NULL;
    int64_t max_stamp = INT64_MIN;
    st->events += n;
    o->events += n;
    for (int e = 0; rc == SFR_OK && e < n; e++) {
        const struct sfr_cdc_msg *m = ev[e];
        if (m->commit_ms > o->last_commit_ms)
            o->last_commit_ms = m->commit_ms;
        if (is_gap(m->change_type)) {
            char why[96];
            snprintf(why, sizeof(why), "%s change event (replay id %lld)", m->change_type,
                     m->replay_id);
            rc = open_gap(s, i, m->replay_id, why, err);
            continue;
        }
        bool own = sfr_cdc_origin_is(m->origin, s->call_client);
        if (own)
            st->own_events++;
        for (int r = 0; r < m->n_ids; r++) {
            if (n_items == cap) {
                cap = cap ? cap * 2 : 64;
                it = sfr_realloc(it, (size_t)cap * sizeof(*it));
            }
            struct item *x = &it[n_items++];
            memset(x, 0, sizeof(*x));
            x->ev = m;
            x->sfid = m->record_ids[r];
            x->own = own;
            x->stamp = event_stamp(m);
            if (strcmp(m->change_type, "DELETE") == 0)
                x->what = IT_DELETE;
            else if (strcmp(m->change_type, "UPDATE") == 0)
                x->what = o->refetch ? IT_FETCH : IT_UPDATE;
            else if (strcmp(m->change_type, "CREATE") == 0 ||
                     strcmp(m->change_type, "UNDELETE") == 0)
                x->what = o->refetch ? IT_FETCH : IT_UPSERT;
            else {
                sfr_log_warn("%s: change event type %s (replay id %lld) not understood; "
                             "pulling the object",
                             p->obj->name, m->change_type, m->replay_id);
                x->what = IT_SKIP;
                rc = open_gap(s, i, m->replay_id, "an unknown change event type", err);
            }
            if (x->stamp > max_stamp)
                max_stamp = x->stamp;
        }
    }
    if (rc == SFR_OK && n_items > 0)
        rc = settle(s, i, it, n_items, st, err);
    struct sfr_write *w = sfr_calloc((size_t)n_items + 1, sizeof(*w));
    char ***vals = sfr_calloc((size_t)n_items + 1, sizeof(char **));
    bool **sets = sfr_calloc((size_t)n_items + 1, sizeof(bool *));
    int *of = sfr_calloc((size_t)n_items + 1, sizeof(int));
    const char **fetch = sfr_calloc((size_t)n_items + 1, sizeof(char *));
    int m = 0, n_fetch = 0;
    for (int k = 0; rc == SFR_OK && k < n_items; k++) {
        struct item *x = &it[k];
        if (x->what == IT_SKIP)
            continue;
        if (x->what == IT_FETCH) {
            bool dup = false;
            for (int j = 0; j < n_fetch && !dup; j++)
                dup = strcmp(fetch[j], x->sfid) == 0;
            if (!dup)
                fetch[n_fetch++] = x->sfid;
            continue;
        }
        if (x->what == IT_DELETE) {
            w[m].kind = SFR_WRITE_DELETE;
            w[m].sfid = x->sfid;
        } else {
            vals[m] = sfr_calloc((size_t)p->n_fields + 1, sizeof(char *));
            sets[m] = sfr_calloc((size_t)p->n_fields + 1, sizeof(bool));
            fill_write(p, x, &w[m], vals[m], sets[m]);
        }
        of[m++] = k;
    }
    if (rc == SFR_OK && m > 0)
        rc = s->pg->ops->write(s->pg, p, w, m, 0, err);
    for (int j = 0; rc == SFR_OK && j < m; j++) {
        struct item *x = &it[of[j]];
        if (!w[j].ok && strcmp(w[j].error_code, "NOT_FOUND") == 0) {
            fetch[n_fetch++] = x->sfid; /* an update of a row the mirror lacks */
            continue;
        }
        if (!w[j].ok) {
            st->failed++;
            o->failed++;
            sfr_log_warn("change event %s %s into %s failed: %s: %s", p->obj->name, x->sfid,
                         s->tables[i].display, w[j].error_code, w[j].message);
            continue;
        }
        if (x->what == IT_DELETE)
            st->deleted++;
        else
            st->pulled++;
        if (x->ignore_id > 0 && s->has_tlog)
            rc = sfr_sync_tlog_ignore_row(s->ctx->conn, &s->tables[i], x->ignore_id,
                                          "conflict: Salesforce changed the record too; "
                                          "its version won (repair_policy)",
                                          err);
    }
    if (rc == SFR_OK && n_fetch > 0)
        rc = sfr_sync_pull_ids(s, i, fetch, n_fetch, st, err);
    /* the mirror write committed: the replay id, then the pull cursor */
    if (rc == SFR_OK) {
        char v[32];
        snprintf(v, sizeof(v), "%lld", ev[n - 1]->replay_id);
        rc = sfr_sync_cursor_set(s->ctx->conn, o->channel, "replay", v, err);
        o->replay = ev[n - 1]->replay_id;
        if (ev[n - 1]->commit_ms > 0)
            o->event_delay_ms = (double)(now_ms() - ev[n - 1]->commit_ms);
    }
    if (rc == SFR_OK && !o->gap_open && max_stamp != INT64_MIN) {
        char ts[32];
        sfr_format_datetime_ms(max_stamp - 1, ts);
        rc = sfr_sync_cursor_advance(s->ctx->conn, p->obj->name, "pull", ts, err);
    }
    for (int j = 0; j < m; j++) {
        for (int f = 0; vals[j] != NULL && f < p->n_fields; f++)
            free(vals[j][f]);
        free(vals[j]);
        free(sets[j]);
    }
    free(vals);
    free(sets);
    free(w);
    free(of);
    free(fetch);
    free(it);
    if (rc != SFR_OK)
        sfr_err_prefix(err, "applying %d change event(s) of %s", n, p->obj->name);
    return rc;
}

static const char *mode_name(enum sfr_obj_mode m)
{
    return m == SFR_OBJ_STREAM ? "streaming" : m == SFR_OBJ_WAIT ? "subscribing" : "polling";
}

static enum sfr_rc on_notice(struct sfr_sync *s, const struct sfr_cdc_msg *m, struct sfr_err *err)
{
    int i = s->chan_obj[m->channel];
    struct sfr_sync_obj *o = &s->obj[i];
    const char *name = s->ctx->proj[i].obj->name;
    switch (m->kind) {
    case SFR_CDC_SUBSCRIBED:
        if (o->mode != SFR_OBJ_STREAM)
            sfr_log_info("%s: streaming change events from %s (%s)", name, o->channel,
                         m->replay_id >= 0 ? "stored replay id" : "new events only");
        o->mode = SFR_OBJ_STREAM;
        if (m->replay_id == -1)
            o->need_pull = true; /* no position: the pull covers the past */
        return SFR_OK;
    case SFR_CDC_REPLAY_INVALID:
        return open_gap(s, i, m->replay_id,
                        "its stored replay id is outside the event retention window", err);
    case SFR_CDC_LOST:
        return open_gap(s, i, -1, "the stream reconnected without a replay position", err);
    case SFR_CDC_UNAVAILABLE:
        if (o->mode != SFR_OBJ_POLL)
            sfr_log_warn("%s: no change events (%s): %s; polling every interval instead", name,
                         m->detail ? m->detail : "unavailable", mode_name(o->mode));
        o->mode = SFR_OBJ_POLL;
        return SFR_OK;
    case SFR_CDC_EVENT:
        break;
    }
    return SFR_OK;
}

int sfr_sync_stream_fd(const struct sfr_sync *s)
{
    return s->cd ? sfr_cometd_fd(s->cd) : -1;
}

enum sfr_rc sfr_sync_stream_process(struct sfr_sync *s, struct sfr_sync_stats *st,
                                    struct sfr_err *err)
{
    if (s->cd == NULL)
        return SFR_OK;
    struct sfr_cdc_msg **msgs = sfr_calloc(TAKE_MAX, sizeof(*msgs));
    enum sfr_rc rc = SFR_OK;
    int64_t t0 = now_ms();
    for (;;) {
        int n = sfr_cometd_take(s->cd, msgs, TAKE_MAX);
        if (n == 0)
            break;
        int k = 0;
        while (k < n) {
            struct sfr_cdc_msg *m = msgs[k];
            if (m->kind != SFR_CDC_EVENT) {
                enum sfr_rc r2 = on_notice(s, m, err);
                if (rc == SFR_OK)
                    rc = r2;
                k++;
                continue;
            }
            /* a run of events of one channel */
            int j = k + 1;
            while (j < n && msgs[j]->kind == SFR_CDC_EVENT && msgs[j]->channel == m->channel &&
                   j - k < SFR_SYNC_PULL_BATCH)
                j++;
            int i = s->chan_obj[m->channel];
            struct sfr_sync_obj *o = &s->obj[i];
            enum sfr_rc r2 = SFR_OK;
            struct sfr_err e = {0};
            if (o->fail_until_ms > now_ms()) {
                /* backing off after a failure: the pull that ends the
                 * backoff covers these events */
                r2 =
                    open_gap(s, i, msgs[j - 1]->replay_id, "it is backing off after a failure", &e);
            } else if ((r2 = apply_events(s, i, msgs + k, j - k, st, &e)) == SFR_OK) {
                sfr_sync_obj_ok(s, i);
            } else {
                sfr_sync_obj_failed(s, i, &e);
                struct sfr_err e2 = {0};
                /* not lost: the gap makes the pull cover them */
                r2 = open_gap(s, i, msgs[j - 1]->replay_id, "change events could not be applied",
                              &e2);
                if (r2 != SFR_OK)
                    e = e2;
            }
            if (r2 != SFR_OK && rc == SFR_OK) {
                rc = r2; /* the gap could not be stored: sfrecon's own tables are unreachable */
                if (err != NULL)
                    *err = e;
            }
            k = j;
        }
        for (int q = 0; q < n; q++) {
            if (msgs[q] != NULL) {
                sfr_cdc_msg_free(msgs[q]);
                free(msgs[q]);
            }
        }
        if (rc != SFR_OK || sfr_sync_stopping(s) || now_ms() - t0 > 1000)
            break; /* let a push or a stop in between */
    }
    free(msgs);
    return rc;
}
