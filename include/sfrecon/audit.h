/* audit.h — the audit engine (src/audit): audits the mapped objects, parents
 * first, within the API budgets, incrementally against the last stored run
 * when asked, with the mirror-only checks beside the checker, and stores the
 * run in sfrecon.audit_run. Used by `audit`, `repair` (audit first) and
 * `sync`. The command line only parses options, calls this and prints. */
#ifndef SFRECON_AUDIT_H
#define SFRECON_AUDIT_H

#include <stdbool.h>
#include <stdint.h>

#include "sfrecon/check.h"
#include "sfrecon/report.h"
#include "sfrecon/run.h"

struct sfr_audit_opts {
    enum sfr_depth depth;
    bool since_last;                /* incremental against the last stored run */
    int64_t since_ms;               /* only records modified since (INT64_MIN = all) */
    int jobs;                       /* 0 = config */
    const struct sfr_strv *objects; /* NULL/empty = all mapped, parents first */
    bool store;                     /* keep the run in sfrecon.audit_run */
    bool progress;
    /* share the run with other processes through sfrecon.work_task (workers.h):
     * this process queues the ranges, works on them with any `--join`ed
     * process, and reports once the queue is drained */
    bool workers;
};

/* Works on the queued ranges of the audits other processes started with
 * `workers` until none is left (waiting up to wait_s seconds for a queue to
 * appear); *n_done receives the number of ranges this process compared. */
enum sfr_rc sfr_audit_join(struct sfr_run_ctx *ctx, const struct sfr_audit_opts *o, int wait_s,
                           long *n_done, struct sfr_err *err) SFR_WUR;

/* The defaults: content depth, all records, all objects, stored. */
void sfr_audit_opts_defaults(struct sfr_audit_opts *o);

/* Audits the mapped objects into run (caller cleans up). Returns SFR_OK when
 * the audit ran (discrepancies or not); on a budget stop returns SFR_OK with
 * run->complete false and run->not_covered filled; other failures return
 * their rc (the run is still stored as failed when possible). An -o object
 * that is not mapped is SFR_EUSAGE, and nothing is stored. */
enum sfr_rc sfr_audit_run(struct sfr_run_ctx *ctx, const struct sfr_audit_opts *o,
                          struct sfr_run *run, struct sfr_err *err) SFR_WUR;

#endif
