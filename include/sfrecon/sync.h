/* sync.h — `sfrecon sync`: keeps Salesforce and the mirror in sync both ways
 * (docs/sync.md), the way Heroku Connect does, but on a short interval.
 *
 * A cycle runs per mapped object, parents first:
 *  - pull: records changed in Salesforce since the object's cursor
 *    (sfrecon.sync_cursor, direction 'pull', the last SystemModstamp applied)
 *    are read with queryAll (deleted ones too; Bulk API 2.0 past
 *    bulk_threshold records) and written to the mirror through the Postgres
 *    side (xmlbinary 'hex': Connect's triggers mark them SYNCED, log nothing).
 *    Rows holding an app write not yet pushed (_hc_lastop PENDING) are
 *    settled by the mapping's policy (sfr_repair_policy).
 *  - push (read_write mappings, when <schema>._trigger_log exists): NEW log
 *    entries of the table, 200 at a time, are written to Salesforce with
 *    sObject Collections; entries end SUCCESS / FAILED / IGNORED and the rows
 *    SYNCED / FAILED (_hc_err JSON), as Connect does.
 * Between cycles the daemon waits for the interval or a notification on
 * "<schema>.hc_trigger_log" (an app wrote), whichever comes first.
 *
 * The Postgres helpers (sql.c) take the run context's connection; hstore.c
 * parses the trigger log's hstore text. */
#ifndef SFRECON_SYNC_H
#define SFRECON_SYNC_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <libpq-fe.h>

#include "sfrecon/err.h"
#include "sfrecon/run.h"
#include "sfrecon/side.h"

/* ---- hstore text (hstore.c; pure) ---- */

/* Pairs of an hstore literal: `"col"=>"val", "col2"=>NULL`. vals[i] NULL = NULL. */
struct sfr_hstore {
    char **keys;
    char **vals;
    int n;
};
/* Parses text (NULL or "" = empty). SFR_EINVAL naming the offset on a malformed literal. */
enum sfr_rc sfr_hstore_parse(const char *text, struct sfr_hstore *out, struct sfr_err *err) SFR_WUR;
void sfr_hstore_cleanup(struct sfr_hstore *h);
/* Index of key (exact match), -1 when absent. */
int sfr_hstore_find(const struct sfr_hstore *h, const char *key);

/* ---- one sync process (sync.c, pull.c, push.c) ---- */

struct sfr_sync_stats {
    long pulled;         /* records upserted into the mirror */
    long deleted;        /* records deleted in Salesforce, removed from the mirror */
    long pushed;         /* trigger log entries written to Salesforce */
    long failed;         /* entries that ended FAILED, and mirror writes that failed */
    long ignored;        /* entries with nothing to write (IGNORED) */
    long conflicts;      /* pulled records whose row held an unpushed app write */
    long api_calls;      /* Salesforce API calls */
    long events;         /* change events received and handled */
    long own_events;     /* of which the daemon's own writes coming back */
    long failed_objects; /* objects whose step failed (retried with backoff) */
};

struct sfr_sync_opts {
    int interval;                /* seconds between pulls (default 10) */
    bool once;                   /* one cycle, then return (polling, no stream) */
    bool no_stream;              /* poll every object; no change events */
    int64_t audit_every_ms;      /* incremental audit between cycles (0 = never) */
    bool repair_auto;            /* repair what the audit found and a policy settles */
    const char *metrics;         /* HOST:PORT of /metrics and /healthz, NULL = none */
    volatile sig_atomic_t *stop; /* set by a signal handler: finish the step, return */
};

struct sfr_sync;

/* A sync process over an opened run context (borrowed; must outlive it):
 * a Postgres side of its own for mirror writes, the trigger-log facts of
 * every table, LISTEN on "<schema>.hc_trigger_log" when the log exists. */
enum sfr_rc sfr_sync_new(struct sfr_run_ctx *ctx, struct sfr_sync **out,
                         struct sfr_err *err) SFR_WUR;
void sfr_sync_free(struct sfr_sync *s);

/* One cycle over every mapped object, parents first; pull only when `pull`.
 * Counts are added to *st. A whole-call failure (connection, auth, limit)
 * stops the cycle and returns its rc; entries not written stay NEW. */
enum sfr_rc sfr_sync_cycle(struct sfr_sync *s, bool pull, struct sfr_sync_stats *st,
                           struct sfr_err *err) SFR_WUR;

/* Runs cycles until *o->stop (or one with o->once), one stderr line a
 * cycle. Runtime failures of a cycle are logged and retried next cycle
 * unless o->once. *total receives the sums. */
enum sfr_rc sfr_sync_run(struct sfr_sync *s, const struct sfr_sync_opts *o,
                         struct sfr_sync_stats *total, struct sfr_err *err) SFR_WUR;

/* ---- Postgres helpers (sql.c) ---- */

/* The cursor text of (object, direction), NULL when none (caller frees). */
enum sfr_rc sfr_sync_cursor_get(PGconn *c, const char *object, const char *direction, char **out,
                                struct sfr_err *err) SFR_WUR;
enum sfr_rc sfr_sync_cursor_set(PGconn *c, const char *object, const char *direction,
                                const char *cursor, struct sfr_err *err) SFR_WUR;
/* max(systemmodstamp) of a mirror table in ms, INT64_MIN when empty. */
enum sfr_rc sfr_sync_mirror_max_mod(PGconn *c, const char *schema, const char *table, int64_t *ms,
                                    struct sfr_err *err) SFR_WUR;

/* LISTEN "<schema>.hc_trigger_log". */
enum sfr_rc sfr_sync_listen(PGconn *c, const char *schema, struct sfr_err *err) SFR_WUR;
/* Waits up to timeout_ms for a notification on c (drains them all).
 * Returns 1 when one arrived, 0 on timeout or when *stop was set, -1 when
 * the connection failed. */
int sfr_sync_wait(PGconn *c, long timeout_ms, volatile sig_atomic_t *stop);

#endif
