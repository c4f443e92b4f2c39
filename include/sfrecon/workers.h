/* workers.h — an audit shared by many processes (the queue is workq.h):
 * how the starting process splits an object into range tasks, and how any
 * process (`sfrecon audit --workers` or `--join`) compares the tasks it
 * takes. A task is compared exactly as the chunked path of a single process
 * compares a range (sfr_check_ranges), so the report is the same. */
#ifndef SFRECON_WORKERS_H
#define SFRECON_WORKERS_H

#include "sfrecon/check.h"

struct sfr_workers {
    const char *db_url; /* the mirror, where the queue lives */
    const char *worker; /* this process in the task rows: host:pid */
    sfr_side_factory factory;
    void *factory_ctx;
    /* the object a task names; false when it is not mapped here */
    bool (*object)(void *ctx, const char *name, struct sfr_check_object *out);
    void *object_ctx;
    struct sfr_check_opts opts; /* chunk size, jobs, bisect settings of the run */
};

/* Splits co's object into ranges of about opts.chunk_size rows at keys
 * sampled from the mirror and queues them for run_id; *n_tasks (not NULL)
 * receives their number. */
enum sfr_rc sfr_workers_plan(const struct sfr_workers *w, long run_id,
                             const struct sfr_check_object *co, long *n_tasks,
                             struct sfr_err *err) SFR_WUR;

/* Works on run_id's tasks of `object` until every one is done (by this or
 * another process), then reads all their results into out and st. */
enum sfr_rc sfr_workers_run_object(const struct sfr_workers *w, long run_id, const char *object,
                                   struct sfr_disc_list *out, struct sfr_check_stats *st,
                                   struct sfr_err *err) SFR_WUR;

/* A helper process: takes tasks of any running audit until none is left,
 * waiting up to wait_s seconds for a queue to appear. */
enum sfr_rc sfr_workers_join(const struct sfr_workers *w, int wait_s, long *n_done,
                             struct sfr_err *err) SFR_WUR;

#endif
