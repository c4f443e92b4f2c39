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

/* Watermarks for incremental audits. */
struct sfr_watermark {
    long run_id;
    long sf_count, pg_count;
    int64_t sf_max_mod_ms, pg_max_mod_ms;
};
enum sfr_rc sfr_history_get_watermark(PGconn *c, const char *object, struct sfr_watermark *w,
                                      bool *found, struct sfr_err *err) SFR_WUR;
enum sfr_rc sfr_history_put_watermark(PGconn *c, const char *object, const struct sfr_watermark *w,
                                      struct sfr_err *err) SFR_WUR;

/* Rows of child.column whose value is not an sfid of parent_table (orphans):
 * cb(ctx, child_sfid, parent_sfid, child_pg_id). */
typedef void (*sfr_orphan_cb)(void *ctx, const char *child_sfid, const char *parent_sfid,
                              long pg_id);
enum sfr_rc sfr_history_orphans(PGconn *c, const char *schema, const char *child_table,
                                const char *column, const char *parent_table, sfr_orphan_cb cb,
                                void *ctx, struct sfr_err *err) SFR_WUR;

#endif
