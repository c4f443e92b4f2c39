/* workq.h — one audit shared by many processes, on one machine or many,
 * through a queue of range tasks in schema sfrecon; Postgres (the mirror)
 * is the coordinator.
 *
 * The process that starts the run (`sfrecon audit --workers`) stores the
 * run, splits every object into ranges of about chunk_size rows at keys
 * sampled from the mirror and queues them in sfrecon.work_task; then it
 * works on the queue like any other worker (`sfrecon audit --join`). A
 * worker takes a task with SELECT ... FOR UPDATE SKIP LOCKED and keeps the
 * row locked in an open transaction while it compares the range; the
 * task's discrepancies, chunk states and counts are written and the task
 * marked done in that same transaction. A worker that dies leaves no trace:
 * its transaction rolls back, the lock goes, and the task is taken again.
 * The run ends when the queue is drained; the starting process then reads
 * every task's results back and reports exactly what a single process
 * would have (the same ranges compared the same way). */
#ifndef SFRECON_WORKQ_H
#define SFRECON_WORKQ_H

#include <libpq-fe.h>

#include "sfrecon/check.h"

/* Runs one task: compares [r->lo, r->hi) of object `object`. */
typedef enum sfr_rc (*sfr_workq_fn)(void *ctx, const char *object, const struct sfr_range *r,
                                    long expect, int64_t audit_start_ms, struct sfr_disc_list *out,
                                    struct sfr_check_stats *st, struct sfr_err *err);

/* Queues the ranges of object for run_id (task seq = index); start_ms is
 * the audit's start (records modified since are rechecked, not reported). */
enum sfr_rc sfr_workq_enqueue(PGconn *c, long run_id, const char *object, const struct sfr_range *r,
                              const long *expect, int n, int64_t start_ms,
                              struct sfr_err *err) SFR_WUR;

/* Takes and runs tasks until none is left to take: of run_id and object
 * (run_id 0: of any running audit; object NULL: of any object). With
 * `drain`, also waits for the tasks other workers hold until every task in
 * scope is done (taking over those whose worker died). A queue that does not
 * exist yet is waited for up to wait_s seconds. `worker` names this process
 * in the task rows. *n_done (not NULL) counts the tasks this call ran. Opens
 * its own connection to db_url. */
enum sfr_rc sfr_workq_work(const char *db_url, long run_id, const char *object, bool drain,
                           int wait_s, const char *worker, sfr_workq_fn fn, void *ctx, long *n_done,
                           struct sfr_err *err) SFR_WUR;

/* Reads back the results of every task of run_id/object, in task order:
 * discrepancies appended to out, counts and chunk states into st. */
enum sfr_rc sfr_workq_collect(PGconn *c, long run_id, const char *object, struct sfr_disc_list *out,
                              struct sfr_check_stats *st, struct sfr_err *err) SFR_WUR;

#endif
