/* repair.h — turning discrepancies into a plan, ordering it, applying it
 * journaled, re-verifying it, and undoing it (docs/repair.md).
 *
 * Planning reads the current state of both sides for every key it touches,
 * so a plan is always computed against what is there now: an operation that
 * is already done (a row already equal, an absent row already absent) plans
 * no write. That is what makes a repair idempotent and a killed repair safe
 * to run again: the second run plans only what is left.
 *
 * Values in a plan (`after`) are in Salesforce text form whichever side they
 * are written to (the Postgres side converts them); `before` holds the losing
 * side's raw text. Objects in a plan are kept in dependency order (parents
 * first, sfr_schema_order); references that close a cycle are deferred to a
 * second pass when they point at a record the plan creates.
 *
 * The Postgres helpers at the end live in src/pg/repair_sql.c; PGconn is
 * declared as its libpq struct so this header does not pull in libpq. */
#ifndef SFRECON_REPAIR_H
#define SFRECON_REPAIR_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "sfrecon/check.h"
#include "sfrecon/config.h"
#include "sfrecon/err.h"
#include "sfrecon/mem.h"
#include "sfrecon/schema.h"
#include "sfrecon/side.h"

struct pg_conn; /* libpq's PGconn */
struct sfr_sf;  /* the Salesforce client (sf.h) */

enum sfr_repair_op {
    SFR_OP_NONE,      /* nothing written for this record (listed, or already in sync) */
    SFR_OP_PG_UPSERT, /* insert/update the mirror row from Salesforce, keyed by sfid */
    SFR_OP_PG_UPDATE, /* update the mirror row's differing fields from Salesforce */
    SFR_OP_PG_DELETE, /* delete the mirror rows holding sfid */
    SFR_OP_SF_UPDATE, /* update the Salesforce record from the mirror row */
    SFR_OP_SF_CREATE, /* create the record in Salesforce, then put its Id on the row */
};
const char *sfr_repair_op_name(enum sfr_repair_op op); /* "pg_upsert", ... */

enum sfr_repair_dir { SFR_DIR_NONE, SFR_DIR_SF_TO_PG, SFR_DIR_PG_TO_SF };
const char *sfr_repair_dir_name(enum sfr_repair_dir d); /* "sf->pg", "pg->sf", "-" */

enum sfr_item_status {
    SFR_ITEM_PLANNED,
    SFR_ITEM_FIXED,
    SFR_ITEM_FAILED,
    SFR_ITEM_SKIPPED, /* listed, not written (unresolved conflict, nothing to write from) */
};
const char *sfr_item_status_name(enum sfr_item_status s);

struct sfr_plan_item {
    char *sfid; /* record key; for SF_CREATE the row's current sfid ("" when none) */
    long pg_id; /* mirror row id, 0 when no row */
    enum sfr_cause cause;
    enum sfr_repair_op op;
    enum sfr_repair_dir dir;
    int n_values;   /* = projection n_fields */
    char **after;   /* values to write, Salesforce text form; NULL entry = null */
    char **before;  /* current values on the side written (raw); NULL when absent */
    bool *set;      /* fields written in the first pass */
    bool *deferred; /* reference fields written in the second pass */
    /* pg->sf: lookups the mirror row sets only through a relationship
     * external Id, as nested references (sfr_relext_refs); NULL none */
    char *refs;
    bool has_deferred;
    bool dedupe;           /* delete the other rows holding sfid (keep the highest id) first */
    bool clear_sync_error; /* _hc_lastop SYNCED, _hc_err NULL, FAILED _trigger_log IGNORED */
    bool pulled;           /* a parent brought in for a missing_parent / a new child */
    bool unresolved;       /* listed only (policy cannot settle it, or no source) */
    char *note;            /* one line: why, or what else happens */
    /* outcome (apply / verify) */
    enum sfr_item_status status;
    char new_sfid[19]; /* SF_CREATE: the created Id */
    /* SF_CREATE: an earlier create of this row whose outcome is unknown
     * (sfr_repair_mark_unknown): its journal row, repair run and time */
    long unknown_journal_id, unknown_run;
    int64_t unknown_ms;
    char error_code[64];
    char message[256];
    enum sfr_cause fail_cause;
};

struct sfr_plan_object {
    const struct sfr_check_object *co; /* borrowed: proj, map, cfg */
    int rank;                          /* position in dependency order */
    struct sfr_plan_item *items;
    size_t n, cap;
    size_t *index; /* private: open-addressing hash sfid -> item + 1 */
    size_t index_cap;
};

struct sfr_plan {
    struct sfr_plan_object *objects; /* in dependency order, parents first */
    int n_objects;
    long n_changes;    /* items that write something */
    long n_unresolved; /* items listed only */
    long n_in_sync;    /* items that need no write (already equal / absent) */
};

struct sfr_repair_opts {
    bool only[SFR_CAUSE_N]; /* causes to repair when only_set */
    bool only_set;
    long pg_batch; /* rows per Postgres write call (default 500) */
    long sf_batch; /* records per Salesforce write call (default 200, at most 200) */
    bool progress; /* progress lines on stderr */
    /* Salesforce creates go through this client (sfr_sf_create_idempotent:
     * upsert on the mapping's upsert_field; lookups of unknown outcomes);
     * NULL = through the Salesforce side's write (tests without a client) */
    struct sfr_sf *sf_client;
    bool retry_unknown; /* a human checked: creates of unknown outcome without an
                           external id may be sent again */
    /* set by a signal handler: no further write batch starts; the repair run
     * is stored as 'interrupted' and apply returns SFR_EINTR (NULL = none) */
    const volatile sig_atomic_t *stop;
};
void sfr_repair_opts_defaults(struct sfr_repair_opts *o);
/* Parses "truncation,stale" into o->only. SFR_EUSAGE naming the bad cause. */
enum sfr_rc sfr_repair_opts_only(struct sfr_repair_opts *o, const char *csv,
                                 struct sfr_err *err) SFR_WUR;

/* The policy that applies to a mapping: read_only -> sf_wins; read_write ->
 * the mapping's own policy, else cfg's (map and cfg may be NULL). */
enum sfr_policy sfr_repair_policy(const struct sfr_mapping *map, const struct sfr_config *cfg);

/* Builds a plan from discrepancies. objs lists the mapped objects (one per
 * projection); the dependency order comes from the reference fields of the
 * projections (only references between objects in objs count). Both sides are read (fetch) for
 * every key and for the parent chains; nothing is written. Discrepancies of objects not in objs are
 * planned as unresolved. *out is caller-owned (sfr_plan_cleanup). */
enum sfr_rc sfr_plan_build(const struct sfr_disc_list *discs, const struct sfr_check_object *objs,
                           int n_objs, struct sfr_side *sf, struct sfr_side *pg,
                           const struct sfr_repair_opts *o, struct sfr_plan *out,
                           struct sfr_err *err) SFR_WUR;
void sfr_plan_cleanup(struct sfr_plan *p);
/* The plan object of `object` (case-insensitive), NULL when absent. Borrowed. */
struct sfr_plan_object *sfr_plan_object(struct sfr_plan *p, const char *object);
/* The item of (object, sfid), NULL when absent. Borrowed. */
struct sfr_plan_item *sfr_plan_find(struct sfr_plan *p, const char *object, const char *sfid);

/* Creates whose outcome is still unknown (journal rows side 'sf', op
 * insert, no Id, outcome sent/unknown: the answer was lost or the process
 * died before the Id was stored) are matched to the plan's SF_CREATE items of
 * the same row. With an external id (the mapping's upsert_field, mapped, a
 * value on the row) the item is kept: apply looks the record up before it
 * writes. Without one, and without o->retry_unknown, the item is listed
 * only (unresolved) with what to check: a SOQL query, and how to settle it
 * by hand. Updates plan->n_changes / n_unresolved. No Salesforce call. */
enum sfr_rc sfr_repair_mark_unknown(struct sfr_plan *p, struct pg_conn *conn,
                                    const struct sfr_repair_opts *o, struct sfr_err *err) SFR_WUR;

/* ---- order.c ---- */

/* Sorts plan->objects parents-first by the referenceTo graph of the
 * projected fields (sfr_schema_order), and marks, per item, the reference
 * fields that close a cycle and point at a record the plan inserts (written
 * in a second pass). Deterministic. Called by sfr_plan_build. */
void sfr_plan_order(struct sfr_plan *p);
/* Index (in plan->objects) of the object at delete position i: children first. */
int sfr_plan_delete_index(const struct sfr_plan *p, int i);

/* ---- print.c ---- */

/* The plan as text (per object and record: operation, direction, fields
 * before -> after) or JSON. With outcome, each item also shows its status. */
void sfr_plan_print_text(FILE *out, const struct sfr_plan *p, bool outcome);
/* JSON: {"objects":[{"object":..,"items":[{"sfid","op","direction","cause",
 * "fields":[{"name","before","after","deferred"}],"note","status",...}]}],
 * "summary":{...}}. Appended to b. */
void sfr_plan_json(struct sfr_buf *b, const struct sfr_plan *p, bool outcome);

/* ---- apply.c ---- */

struct sfr_repair_result {
    long run_id;
    long fixed, failed, skipped, in_sync;
    long pg_batches, sf_batches; /* write calls */
    long pg_rows_written, sf_records_written;
    long sf_api_calls; /* as counted by the Salesforce side */
    double seconds;
};

/* Applies the plan: a sfrecon.repair_run row (status running, the plan as
 * jsonb) through conn (the Postgres side's connection or another one to the
 * same database), deletes children-first, then inserts/updates parents-first,
 * then Salesforce writes (≤200 a call) and the mirror refreshed from what
 * Salesforce then holds, then the deferred references; every Postgres change
 * is journaled under the run id; then every planned key is re-verified with
 * sfr_check_keys and each item gets its status. Per-record failures are
 * results (status FAILED with errorCode and a cause); only whole-batch
 * failures (connection, auth, limit) return an error, after marking the run
 * failed. */
enum sfr_rc sfr_repair_apply(struct sfr_plan *p, struct sfr_side *sf, struct sfr_side *pg,
                             struct pg_conn *conn, long audit_run_id,
                             const struct sfr_repair_opts *o, struct sfr_repair_result *res,
                             struct sfr_err *err) SFR_WUR;

/* Maps a Salesforce errorCode (or SQLSTATE) of a failed write to a cause:
 * STRING_TOO_LONG / 22001 -> truncation, INVALID_CROSS_REFERENCE_KEY / 23503 ->
 * missing_parent, ENTITY_IS_DELETED -> missing_in_sf, DUPLICATE_VALUE / 23505 ->
 * duplicate, anything else -> sync_error. */
enum sfr_cause sfr_repair_error_cause(const char *code);

/* ---- repair_sql.c (Postgres) ---- */

/* Inserts a running sfrecon.repair_run row; returns its id. */
enum sfr_rc sfr_repair_run_begin(struct pg_conn *c, long audit_run_id, const char *plan_json,
                                 long *run_id, struct sfr_err *err) SFR_WUR;
/* Sets status ('done', 'failed', 'partial'), finished_at and the summary. */
enum sfr_rc sfr_repair_run_finish(struct pg_conn *c, long run_id, const char *status,
                                  const char *summary_json, struct sfr_err *err) SFR_WUR;
/* Id of the newest repair run (0 when none). */
enum sfr_rc sfr_repair_run_latest(struct pg_conn *c, long *run_id, struct sfr_err *err) SFR_WUR;

/* Deletes, journaled, every row of schema.table holding sfid except the one
 * with the highest id; *n_deleted receives how many went. */
enum sfr_rc sfr_repair_sql_dedupe(struct pg_conn *c, long run_id, const char *schema,
                                  const struct sfr_object *obj, const char *sfid, long *n_deleted,
                                  struct sfr_err *err) SFR_WUR;
/* For each sfid: sets _hc_lastop 'SYNCED' and _hc_err NULL where they differ,
 * and FAILED _trigger_log entries of the row to IGNORED; journaled, one
 * transaction. Columns or tables that do not exist are skipped. */
enum sfr_rc sfr_repair_sql_clear_sync_error(struct pg_conn *c, long run_id, const char *schema,
                                            const struct sfr_object *obj, const char *const *sfids,
                                            int n, struct sfr_err *err) SFR_WUR;
/* Puts a new sfid on the row `pg_id` (after a Salesforce create); journaled. */
enum sfr_rc sfr_repair_sql_set_sfid(struct pg_conn *c, long run_id, const char *schema,
                                    const struct sfr_object *obj, long pg_id, const char *sfid,
                                    struct sfr_err *err) SFR_WUR;

/* A Salesforce change, journaled (side 'sf') before it is made, so that an
 * undo can say how to reverse it by hand. */
struct sfr_sf_journal {
    const char *object;
    const char *sfid;     /* record Id ("" for a create until known) */
    const char *op;       /* "update" | "insert" */
    const char *old_json; /* old values of the fields written (JSON object), NULL for insert */
    const char *new_json; /* values written */
    long pg_id;
    const char *row_sfid; /* create: the row's sfid when it was sent (NULL/"" none) */
};
/* Inserts n journal rows in one transaction; ids[i] receives each row's seq. */
enum sfr_rc sfr_repair_sql_journal_sf(struct pg_conn *c, long run_id,
                                      const struct sfr_sf_journal *j, int n, long *seqs,
                                      struct sfr_err *err) SFR_WUR;
/* Sets the Id of a journaled Salesforce create. */
enum sfr_rc sfr_repair_sql_journal_sf_id(struct pg_conn *c, long run_id, long seq, const char *sfid,
                                         struct sfr_err *err) SFR_WUR;

/* What became of one journaled create. */
struct sfr_create_outcome {
    long seq;            /* the create's journal entry in this run */
    long pg_id;          /* the mirror row that gets the Id (0 = none) */
    const char *sfid;    /* created or found Id, NULL when none */
    const char *outcome; /* "created", "found", "failed", "unknown" */
    long resolves;       /* journal row id of an earlier unknown create it settles, 0 = none */
};
/* Right after a collections call: in ONE transaction, the Ids go into the
 * journal and onto their mirror rows (journaled, xmlbinary 'hex'), failures
 * and unknown outcomes are recorded, and earlier unknown creates settled.
 * Retried (reconnecting) up to 5 times; SFR_EPG after that. */
enum sfr_rc sfr_repair_sql_commit_creates(struct pg_conn *c, long run_id, const char *schema,
                                          const struct sfr_object *obj,
                                          const struct sfr_create_outcome *o, int n,
                                          struct sfr_err *err) SFR_WUR;

/* A create whose outcome is unknown (see sfr_repair_mark_unknown). */
struct sfr_unknown_create {
    long journal_id, run_id, pg_id;
    char *object;
    char *row_sfid; /* the row's sfid when the create was sent, NULL none */
    int64_t sent_ms;
};
/* Every unsettled one, oldest first; caller frees with sfr_unknown_creates_free. */
enum sfr_rc sfr_repair_sql_unknown_creates(struct pg_conn *c, struct sfr_unknown_create **out,
                                           size_t *n, struct sfr_err *err) SFR_WUR;
void sfr_unknown_creates_free(struct sfr_unknown_create *v, size_t n);
/* The current sfid of row pg_id of schema.table (*sfid NULL when null;
 * *exists false when the row is gone). Caller frees *sfid. */
enum sfr_rc sfr_repair_sql_row_sfid(struct pg_conn *c, const char *schema, const char *table,
                                    long pg_id, char **sfid, bool *exists,
                                    struct sfr_err *err) SFR_WUR;
/* Marks an unknown create settled (why: one line), so no run looks at it again. */
enum sfr_rc sfr_repair_sql_settle_unknown(struct pg_conn *c, long journal_id, const char *why,
                                          struct sfr_err *err) SFR_WUR;

/* Undo of a repair run (run_id <= 0 = the latest), in one transaction
 * (xmlbinary 'hex', under the repair lock), newest journal entry first:
 *  - a row the run updated gets back the columns the run changed, only when
 *    each of them still holds what the run wrote (_hc_lastop/_hc_err follow
 *    the data: put back where they still hold what the run set, otherwise
 *    left as they are now);
 *  - a row the run inserted is deleted only while it still holds what was
 *    inserted; a row the run deleted is re-inserted unless its id or sfid
 *    is in use again.
 * A row changed since (by the app, the sync daemon, a later repair) is kept
 * as it is and listed as drift with both values (what the run wrote, what is
 * there now); so are the run's older changes of that row. Salesforce
 * changes are listed with the old values to put back by hand. With dry_run
 * everything is done and rolled back: the listing says what would happen.
 * Text or JSON (json) on out. */
struct sfr_undo_opts {
    bool dry_run;
    bool json;
};
struct sfr_undo_result {
    long run_id;
    long restored;  /* journal entries undone (or, dry run, that would be) */
    long drifted;   /* rows kept because they changed since */
    long sf_listed; /* Salesforce changes listed */
};
enum sfr_rc sfr_repair_undo(struct pg_conn *c, long run_id, const struct sfr_undo_opts *o,
                            FILE *out, struct sfr_undo_result *r, struct sfr_err *err) SFR_WUR;

#endif
