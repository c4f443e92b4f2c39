/* sync_internal.h — what the parts of src/sync share: the sync process
 * state, the trigger-log entry, and the SQL helpers of sql.c that pull.c and
 * push.c use on the run context's connection. */
#ifndef SFRECON_SYNC_INTERNAL_H
#define SFRECON_SYNC_INTERNAL_H

#include <libpq-fe.h>

#include "sfrecon/pg.h"
#include "sfrecon/report.h"
#include "sfrecon/sync.h"

/* Records per mirror write transaction during a pull. */
#define SFR_SYNC_PULL_BATCH 500
/* Pulls re-read this much before the cursor: Salesforce commits are not
 * strictly in SystemModstamp order, so a record stamped just before the
 * cursor can become visible after a pull has passed it. Records the mirror
 * already holds at that SystemModstamp are skipped. */
#define SFR_SYNC_PULL_OVERLAP_MS 5000
/* Trigger log entries per push batch (one sObject Collections call per kind). */
#define SFR_SYNC_PUSH_BATCH 200

/* Reading change events by Id: ids per SOQL query (IN list). */
#define SFR_SYNC_IDS_PER_QUERY 200
/* The daemon's audit compares every record when its last full audit is older. */
#define SFR_SYNC_FULL_AUDIT_MS (24L * 3600 * 1000)
/* Trigger-log archiving runs at start and this often. */
#define SFR_SYNC_HOUSEKEEPING_MS (10L * 60 * 1000)
/* Backoff of an object after a failure: 2 s doubling, at most this. */
#define SFR_SYNC_BACKOFF_MAX_MS (5L * 60 * 1000)

/* How an object's Salesforce changes reach the mirror. */
enum sfr_obj_mode {
    SFR_OBJ_POLL,   /* the SystemModstamp pull every interval */
    SFR_OBJ_WAIT,   /* subscribing to its change events */
    SFR_OBJ_STREAM, /* change events */
};

/* Per mapped object (same index as ctx->proj). */
struct sfr_sync_obj {
    char *channel; /* change event channel, NULL when not streamed */
    enum sfr_obj_mode mode;
    bool need_pull;   /* a pull from the pull cursor is due (gap, no replay position) */
    bool gap_open;    /* stored as (object, 'gap'): the pull cursor waits for the pull */
    bool refetch;     /* mapped fields change events do not carry: read records whole */
    bool pulled_once; /* a pull ran since start (its /deleted covered the downtime) */
    long long replay; /* last replay id stored, -1 none */
    int64_t last_pull_ms;
    int64_t last_commit_ms; /* newest commitTimestamp seen */
    int64_t current_ms;     /* the mirror is known current up to then (lag) */
    double event_delay_ms;  /* commit -> mirror write of the last event applied */
    long events, failed;
    int fails;             /* consecutive failures */
    int64_t fail_until_ms; /* backing off until */
    char last_error[256];
};

struct sfr_sync {
    struct sfr_run_ctx *ctx;
    struct sfr_side *pg;         /* mirror writes (own connection) */
    struct sfr_pg_table *tables; /* per mapping, same index as ctx->proj */
    bool has_tlog;               /* <schema>._trigger_log exists */
    bool listening;
    volatile sig_atomic_t *stop;
    long bulk_threshold;
    struct sfr_sync_obj *obj; /* per mapping */
    struct sfr_cometd *cd;    /* change event subscriber, NULL when polling */
    int *chan_obj;            /* subscriber channel -> object index */
    int n_chan;
    char call_client[64]; /* Sforce-Call-Options client name of our writes */
    char *archive_qname;  /* "<schema>"."_trigger_log_archive" */
    bool has_archive;
    int64_t last_housekeeping_ms;
    /* audit and repair inside the daemon (drift.c) */
    bool repair_auto;
    struct sfr_run *last_run; /* summary of the last audit (discrepancies freed) */
    int64_t last_audit_ms, last_audit_ok_ms, last_full_audit_ms;
    double last_audit_s;
    long audit_calls, last_repair_fixed, last_repair_failed;
    /* metrics (metrics.c), rendered by the loop */
    struct sfr_sync_metrics *metrics;
    struct sfr_sync_stats totals;
    long backlog;
    int64_t started_ms, last_cycle_ok_ms;
    bool last_cycle_ok;
};

static inline bool sfr_sync_stopping(const struct sfr_sync *s)
{
    return s->stop != NULL && *s->stop;
}

/* One claimed _trigger_log entry. */
struct sfr_tlog_entry {
    long id;
    char action[8]; /* INSERT, UPDATE, DELETE */
    long record_id;
    char *sfid;   /* NULL when the log holds none */
    char *values; /* hstore text */
    char *old;
    char *created_at; /* ISO UTC, recover.c only */
};

/* What becomes of an entry and of its mirror row. */
enum sfr_row_mark { SFR_ROW_NONE, SFR_ROW_SYNCED, SFR_ROW_FAILED };
struct sfr_tlog_outcome {
    const char *state; /* SUCCESS, FAILED, IGNORED, NEW (put back) */
    char *message;     /* sf_message (owned), NULL = none */
    enum sfr_row_mark row;
    char *hc_err;   /* JSON for _hc_err with SFR_ROW_FAILED (owned) */
    char *new_sfid; /* created record's Id to put on the row (owned) */
};
void sfr_tlog_outcome_cleanup(struct sfr_tlog_outcome *o);

/* Claims up to limit NEW entries of table (state PENDING), in id order. */
enum sfr_rc sfr_sync_tlog_claim(PGconn *c, const struct sfr_pg_table *t, int limit,
                                struct sfr_tlog_entry **out, int *n, struct sfr_err *err) SFR_WUR;
void sfr_sync_tlog_entries_free(struct sfr_tlog_entry *e, int n);
/* Fills *e from row r of res: columns id, action, record_id, sfid, "values", old. */
void sfr_sync_tlog_entry_read(PGresult *res, int r, struct sfr_tlog_entry *e);
/* Entries of table left PENDING (an interrupted sync), into *n. */
enum sfr_rc sfr_sync_tlog_count_pending(PGconn *c, const struct sfr_pg_table *t, long *n,
                                        struct sfr_err *err) SFR_WUR;
/* Writes the outcomes of entries e[0..n) and marks their rows, one
 * transaction with xmlbinary 'hex'. */
enum sfr_rc sfr_sync_tlog_finish(PGconn *c, const struct sfr_pg_table *t,
                                 const struct sfr_tlog_entry *e, const struct sfr_tlog_outcome *o,
                                 int n, struct sfr_err *err) SFR_WUR;
/* Sets the NEW entries of a row to IGNORED with message (a pull won a conflict). */
enum sfr_rc sfr_sync_tlog_ignore_row(PGconn *c, const struct sfr_pg_table *t, long record_id,
                                     const char *message, struct sfr_err *err) SFR_WUR;

/* Mirror rows by id: columns id, sfid, then one per projection field (the
 * Postgres text of field i in column i + 2), then one per relationship
 * external Id (relext j in column n_fields + 2 + j). Caller PQclears. */
enum sfr_rc sfr_sync_rows_by_id(PGconn *c, const struct sfr_pg_table *t,
                                const struct sfr_projection *p, const long *ids, int n,
                                PGresult **out, struct sfr_err *err) SFR_WUR;
/* sfid and max(systemmodstamp) in ms (text) of the mirror rows holding sfids. */
enum sfr_rc sfr_sync_applied_rows(PGconn *c, const struct sfr_pg_table *t, const char *const *sfids,
                                  int n, PGresult **out, struct sfr_err *err) SFR_WUR;
/* Rows among sfids whose _hc_lastop is PENDING: columns sfid, id, the first
 * and last created_at (ms, may be NULL) of their NEW/PENDING log entries,
 * and the row's systemmodstamp (ms, may be NULL). Caller PQclears. */
enum sfr_rc sfr_sync_pending_rows(PGconn *c, const struct sfr_pg_table *t, bool has_tlog,
                                  const char *const *sfids, int n, PGresult **out,
                                  struct sfr_err *err) SFR_WUR;

/* Seconds since the cursor row was written, -1 when there is none. */
enum sfr_rc sfr_sync_cursor_age(PGconn *c, const char *object, const char *direction, long *age_s,
                                struct sfr_err *err) SFR_WUR;
/* Event retention of Salesforce (72 h) less a margin: a channel whose
 * "replay every retained event" position is older is pulled instead. */
#define SFR_SYNC_REPLAY_ALL_MAX_S (71L * 3600)
/* Deletes the cursor row (object, direction) when it exists. */
enum sfr_rc sfr_sync_cursor_del(PGconn *c, const char *object, const char *direction,
                                struct sfr_err *err) SFR_WUR;
/* Sets the cursor to `cursor` unless it already holds a later one (ISO UTC
 * text of one width compares as time). */
enum sfr_rc sfr_sync_cursor_advance(PGconn *c, const char *object, const char *direction,
                                    const char *cursor, struct sfr_err *err) SFR_WUR;

/* tlog.c: trigger-log housekeeping */
enum sfr_rc sfr_sync_tlog_setup(struct sfr_sync *s, struct sfr_err *err) SFR_WUR;
/* NEW entries of read_only mappings become READONLY; *n how many. */
enum sfr_rc sfr_sync_tlog_mark_readonly(struct sfr_sync *s, long *n, struct sfr_err *err) SFR_WUR;
/* Processed entries to the archive; old archive rows deleted. */
enum sfr_rc sfr_sync_tlog_archive(struct sfr_sync *s, long *moved, long *purged,
                                  struct sfr_err *err) SFR_WUR;
/* NEW and PENDING entries of the mapped tables. */
enum sfr_rc sfr_sync_tlog_backlog(struct sfr_sync *s, long *n, struct sfr_err *err) SFR_WUR;

/* drift.c: one incremental audit (stored), then, with repair_auto, the
 * repair of what the policies settle (journaled as `sfrecon repair`). */
enum sfr_rc sfr_sync_audit_step(struct sfr_sync *s, struct sfr_err *err) SFR_WUR;

/* metrics.c */
struct sfr_sync_metrics;
/* Listens on spec (HOST:PORT, port 0 = any free one). SFR_EUSAGE when it
 * cannot be parsed or bound. */
enum sfr_rc sfr_sync_metrics_start(const char *spec, struct sfr_sync_metrics **out,
                                   struct sfr_err *err) SFR_WUR;
unsigned sfr_sync_metrics_port(const struct sfr_sync_metrics *m);
/* Renders the Prometheus text of the daemon's state (caller frees). */
char *sfr_sync_metrics_render(const struct sfr_sync *s);
/* Replaces what /metrics serves (takes text) and the /healthz answer. */
void sfr_sync_metrics_publish(struct sfr_sync_metrics *m, char *text, bool healthy,
                              const char *health);
void sfr_sync_metrics_stop(struct sfr_sync_metrics *m);

/* stream.c */
enum sfr_rc sfr_sync_stream_start(struct sfr_sync *s, struct sfr_err *err) SFR_WUR;
void sfr_sync_stream_stop(struct sfr_sync *s);
int sfr_sync_stream_fd(const struct sfr_sync *s);
/* Applies what the subscriber queued (at most about a second's worth). */
enum sfr_rc sfr_sync_stream_process(struct sfr_sync *s, struct sfr_sync_stats *st,
                                    struct sfr_err *err) SFR_WUR;
/* The pull covering object i's gap committed: forget the gap. */
enum sfr_rc sfr_sync_gap_closed(struct sfr_sync *s, int i, struct sfr_err *err) SFR_WUR;

/* sync.c: an object's failure (backoff) and success. */
void sfr_sync_obj_failed(struct sfr_sync *s, int i, const struct sfr_err *e);
void sfr_sync_obj_ok(struct sfr_sync *s, int i);

/* pull.c / push.c */
/* Reads the records ids[0..n) of object i (queryAll, IN lists) and writes
 * them as the pull does (skips what is there, settles PENDING rows). */
enum sfr_rc sfr_sync_pull_ids(struct sfr_sync *s, int i, const char *const *ids, int n,
                              struct sfr_sync_stats *st, struct sfr_err *err) SFR_WUR;
/* GET /sobjects/X/deleted from the pull cursor (less the overlap) to now:
 * records deleted or purged in Salesforce leave the mirror. */
enum sfr_rc sfr_sync_pull_deleted(struct sfr_sync *s, int i, struct sfr_sync_stats *st,
                                  struct sfr_err *err) SFR_WUR;
enum sfr_rc sfr_sync_pull_object(struct sfr_sync *s, int i, struct sfr_sync_stats *st,
                                 struct sfr_err *err) SFR_WUR;
enum sfr_rc sfr_sync_push_object(struct sfr_sync *s, int i, struct sfr_sync_stats *st,
                                 struct sfr_err *err) SFR_WUR;
/* Settles PENDING entries of mapping i whose outcome is unknown: those a
 * push marked OUTCOME_UNKNOWN and, with leftovers, those claimed before this
 * process first pushed (a crashed sync). UPDATE / DELETE entries go back to
 * NEW (sending them again writes the same); an INSERT whose row has an sfid
 * now is SUCCESS; with the mapping's upsert_field and a value on the row it
 * is looked up by it and written (sfr_sf_lookup_then_create): SUCCESS with the
 * Id on the row; without one it stays PENDING with a message saying what to
 * check (a SOQL query) and how to settle it by hand, and is never sent
 * blindly. sfr_sync_push_object calls it first, with leftovers. */
enum sfr_rc sfr_sync_push_settle(struct sfr_sync *s, int i, bool leftovers,
                                 struct sfr_sync_stats *st, struct sfr_err *err) SFR_WUR;

#endif
