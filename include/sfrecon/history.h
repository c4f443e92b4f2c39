/* history.h — audit runs stored in Postgres (schema sfrecon; see pg.h for
 * migrations). Lives in src/pg/history.c. */
#ifndef SFRECON_HISTORY_H
#define SFRECON_HISTORY_H

#include <libpq-fe.h>
#include "sfrecon/report.h"

/* Decodes one stored discrepancy from row i of r, columns col..col+7:
 * object, sfid, cause, fields (JSON array), detail, parent_object,
 * parent_sfid, pg_id. *d owns copies (sfr_discrepancy cleanup frees them). */
void sfr_history_disc_from_row(PGresult *r, int i, int col, struct sfr_discrepancy *d);
/* Decodes the head of a stored audit_run from row 0 of r: columns 0..5 id,
 * started_at, finished_at, status, depth, api_calls (times as text), and
 * column nc_col the not_covered JSON array; complete when that is empty. */
void sfr_history_run_from_row(PGresult *r, int nc_col, struct sfr_run *run);
/* Inserts a 'running' audit_run row and returns its id in run->id. */
enum sfr_rc sfr_history_begin(PGconn *c, struct sfr_run *run, const char *mapping,
                              struct sfr_err *err) SFR_WUR;
/* Stores the discrepancies and the final status/summary of run. */
enum sfr_rc sfr_history_finish(PGconn *c, const struct sfr_run *run, struct sfr_err *err) SFR_WUR;
/* The lifecycle locks (src/pg/runlock.c), session advisory locks held until
 * the connection closes. lock_mapping: SFR_EBUSY naming the holder when
 * another session audits or repairs the same mirror schema. lock_run: taken
 * right after sfr_history_begin. run_alive: whether a session holds run_id's
 * lock (a 'running' run without one was left by a killed process). */
enum sfr_rc sfr_history_lock_mapping(PGconn *c, const char *schema, struct sfr_err *err) SFR_WUR;
enum sfr_rc sfr_history_lock_run(PGconn *c, long run_id, struct sfr_err *err) SFR_WUR;
bool sfr_history_run_alive(PGconn *c, long run_id);

/* Loads run `id` (or the latest when id <= 0) with its discrepancies. A run
 * stored as 'running' that no live process holds reads as 'abandoned'. */
enum sfr_rc sfr_history_load(PGconn *c, long id, struct sfr_run *run, struct sfr_err *err) SFR_WUR;

/* The id of the latest run of a mapping (stored under the path the audit was
 * given: mapping or its real path); SFR_ENOTFOUND when there is none. */
enum sfr_rc sfr_history_latest_of(PGconn *c, const char *mapping, const char *mapping_real,
                                  long *id, struct sfr_err *err) SFR_WUR;

/* Chunk states of the last complete audit of an object (incremental audits). */
enum sfr_rc sfr_history_get_chunks(PGconn *c, const char *object, struct sfr_chunk_list *out,
                                   struct sfr_err *err) SFR_WUR;
/* Replaces the stored chunk states of object. */
enum sfr_rc sfr_history_put_chunks(PGconn *c, const char *object, long run_id,
                                   const struct sfr_chunk_list *chunks,
                                   struct sfr_err *err) SFR_WUR;
/* Carries the stored run's discrepancies forward: each one the previous
 * run of the same mapping found too keeps that one's open_since; the others
 * open now. Sets open_since of the run's discrepancies in memory (0 = new). */
enum sfr_rc sfr_history_open_since(PGconn *c, struct sfr_run *run, struct sfr_err *err) SFR_WUR;
/* The keys (sorted, byte order) of the discrepancies of object found by the
 * run whose chunk states are stored, and those of them Salesforce had no
 * live record of (missing_in_sf); *known is false (and both empty) when
 * there are more than max. */
enum sfr_rc sfr_history_state_keys(PGconn *c, const char *object, long max, struct sfr_strv *out,
                                   struct sfr_strv *absent_sf, bool *known,
                                   struct sfr_err *err) SFR_WUR;
/* The Salesforce-clock time from which the last stored audit of object saw
 * every change (INT64_MIN when none), and storing it. */
enum sfr_rc sfr_history_get_watermark(PGconn *c, const char *object, int64_t *ms,
                                      struct sfr_err *err) SFR_WUR;
enum sfr_rc sfr_history_put_watermark(PGconn *c, const char *object, long run_id, int64_t ms,
                                      struct sfr_err *err) SFR_WUR;

/* ---- for reports (src/pg/history_report.c) ---- */

/* "latest" / "previous" (the newest finished run, clean or with
 * discrepancies, and the one before it) or a run id -> id. SFR_ENOTFOUND
 * when there is none; SFR_ECONFIG for anything else. */
enum sfr_rc sfr_history_resolve(PGconn *c, const char *spec, long *id, struct sfr_err *err) SFR_WUR;
/* Reads / stores run->instance_url and the daily API usage of run->id. */
enum sfr_rc sfr_history_load_info(PGconn *c, struct sfr_run *run, struct sfr_err *err) SFR_WUR;
enum sfr_rc sfr_history_store_info(PGconn *c, const struct sfr_run *run,
                                   struct sfr_err *err) SFR_WUR;
/* Discrepancies by cause for one run per UTC day, up to run `upto` (which
 * stands for its own day), the last max_days days that have runs, oldest
 * first; appended to out. */
enum sfr_rc sfr_history_trend(PGconn *c, long upto, int max_days, struct sfr_trend *out,
                              struct sfr_err *err) SFR_WUR;
/* When the last finished audit (clean or discrepancies) ended; INT64_MIN = none. */
enum sfr_rc sfr_history_last_success(PGconn *c, int64_t *ms, struct sfr_err *err) SFR_WUR;
/* What changed from run a to run b (caller cleans up out). */
enum sfr_rc sfr_history_diff(PGconn *c, long a, long b, struct sfr_run_diff *out,
                             struct sfr_err *err) SFR_WUR;
/* Deletes runs started more than `days` days ago (their discrepancies with
 * them), always keeping the newest finished run. Counts what went. */
enum sfr_rc sfr_history_prune(PGconn *c, int days, long *runs, long *discs,
                              struct sfr_err *err) SFR_WUR;

#endif
