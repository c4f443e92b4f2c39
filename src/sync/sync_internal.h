/* sync_internal.h — what the parts of src/sync share: the sync process
 * state, the trigger-log entry, and the SQL helpers of sql.c that pull.c and
 * push.c use on the run context's connection. */
#ifndef SFRECON_SYNC_INTERNAL_H
#define SFRECON_SYNC_INTERNAL_H

#include <libpq-fe.h>

#include "sfrecon/pg.h"
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

struct sfr_sync {
    struct sfr_run_ctx *ctx;
    struct sfr_side *pg;         /* mirror writes (own connection) */
    struct sfr_pg_table *tables; /* per mapping, same index as ctx->proj */
    bool has_tlog;               /* <schema>._trigger_log exists */
    bool listening;
    volatile sig_atomic_t *stop;
    long bulk_threshold;
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

/* Appends a Postgres array literal ({"a","b"}) of n strings. */

/* Claims up to limit NEW entries of table (state PENDING), in id order. */
enum sfr_rc sfr_sync_tlog_claim(PGconn *c, const struct sfr_pg_table *t, int limit,
                                struct sfr_tlog_entry **out, int *n, struct sfr_err *err) SFR_WUR;
void sfr_sync_tlog_entries_free(struct sfr_tlog_entry *e, int n);
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
 * Postgres text of field i in column i + 2). Caller PQclears. */
enum sfr_rc sfr_sync_rows_by_id(PGconn *c, const struct sfr_pg_table *t,
                                const struct sfr_projection *p, const long *ids, int n,
                                PGresult **out, struct sfr_err *err) SFR_WUR;
/* Rows among sfids whose _hc_lastop is PENDING: columns sfid, id, and the
 * first and last created_at (ms, may be NULL) of their NEW/PENDING log
 * entries. Caller PQclears. */
/* sfid and max(systemmodstamp) in ms (text) of the mirror rows holding sfids. */
enum sfr_rc sfr_sync_applied_rows(PGconn *c, const struct sfr_pg_table *t, const char *const *sfids,
                                  int n, PGresult **out, struct sfr_err *err) SFR_WUR;
enum sfr_rc sfr_sync_pending_rows(PGconn *c, const struct sfr_pg_table *t, bool has_tlog,
                                  const char *const *sfids, int n, PGresult **out,
                                  struct sfr_err *err) SFR_WUR;

/* pull.c / push.c */
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
