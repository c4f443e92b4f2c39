/* history.h — audit runs stored in Postgres (schema sfrecon; see pg.h for
 * migrations). Lives in src/pg/history.c. */
#ifndef SFRECON_HISTORY_H
#define SFRECON_HISTORY_H

#include <libpq-fe.h>
#include "sfrecon/report.h"

/* Inserts a 'running' audit_run row and returns its id in run->id. */
enum sfr_rc sfr_history_begin(PGconn *c, struct sfr_run *run, const char *mapping,
                              struct sfr_err *err) SFR_WUR;
/* Stores the discrepancies and the final status/summary of run. */
enum sfr_rc sfr_history_finish(PGconn *c, const struct sfr_run *run, struct sfr_err *err) SFR_WUR;
/* Loads run `id` (or the latest when id <= 0) with its discrepancies. */
enum sfr_rc sfr_history_load(PGconn *c, long id, struct sfr_run *run, struct sfr_err *err) SFR_WUR;

/* Chunk states of the last complete audit of an object (incremental audits). */
enum sfr_rc sfr_history_get_chunks(PGconn *c, const char *object, struct sfr_chunk_list *out,
                                   struct sfr_err *err) SFR_WUR;
/* Replaces the stored chunk states of object. */
enum sfr_rc sfr_history_put_chunks(PGconn *c, const char *object, long run_id,
                                   const struct sfr_chunk_list *chunks,
                                   struct sfr_err *err) SFR_WUR;
/* sfids of mirror rows whose systemmodstamp is at or after since_ms, appended to out. */
enum sfr_rc sfr_history_changed_since(PGconn *c, const char *schema, const char *table,
                                      int64_t since_ms, struct sfr_strv *out,
                                      struct sfr_err *err) SFR_WUR;

#endif
