/* checker_internal.h — the checker's task queue, shared by checker.c (full
 * audits, ranges, rechecks) and incr.c (incremental audits). */
#ifndef SFRECON_CHECKER_INTERNAL_H
#define SFRECON_CHECKER_INTERNAL_H

#include <pthread.h>

#include "sfrecon/check.h"

enum task_kind { T_CONTENT, T_COUNT };

struct task {
    enum task_kind kind;
    char *lo, *hi;
    long expect;       /* expected rows, -1 unknown */
    bool record_state; /* store this range's state for incremental runs */
    bool known;        /* COUNT: digests already computed by the parent */
    struct sfr_digest kds, kdp;
};

/* Called for every key a batch classified: whether each side holds a live
 * record of it (incremental accounting of Salesforce's counts). */
typedef void (*sfr_seen_fn)(void *ctx, const char *sfid, bool sf_live, bool pg_live);

struct checker {
    const struct sfr_check_object *co;
    const struct sfr_check_opts *o;
    sfr_side_factory factory;
    void *fctx;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct task *q;
    size_t qn, qcap;
    int active;
    bool stop;
    enum sfr_rc rc;
    struct sfr_err err;
    struct sfr_disc_list *out;
    struct sfr_check_stats *st;
    struct sfr_moving moving; /* changed while the audit ran: compared at the end */
    pthread_mutex_t split_mu;
    bool split_done;
    struct sfr_strv split_keys; /* count depth: keys from one key-only pass */
    /* and, on a mirror whose ranges cost a table scan, the count depth
     * digest of each part between them (split_keys.n + 1), so no range of
     * the mirror is counted again */
    struct sfr_digest *parts;
    /* ranges such a mirror would scan once each: compared together at the
     * end, in as few passes as memory allows */
    struct deferred {
        struct sfr_range *r; /* owned bounds */
        long *rows;
        size_t n, cap;
    } deferred;
    long tasks_done, tasks_total;
    long leaf;
    double t0;
};

/* Queues a task (the caller holds c->mu or runs before the jobs start). */
void sfr_checker_add_task(struct checker *c, enum task_kind kind, const char *lo, const char *hi,
                          long expect, bool record_state);

/* Fetches both sides of ids[0..n) in batches and classifies them into out;
 * keys that changed while the audit ran go to *moving. */
enum sfr_rc sfr_checker_classify_keys(struct checker *c, struct sfr_side *sf, struct sfr_side *pg,
                                      const char *const *ids, int n, struct sfr_disc_list *out,
                                      struct sfr_moving *moving, sfr_seen_fn seen, void *seen_ctx,
                                      struct sfr_err *err) SFR_WUR;

/* Runs the queued tasks on the jobs threads (the queue is empty after). */
enum sfr_rc sfr_checker_run_queue(struct checker *c, struct sfr_err *err) SFR_WUR;

/* Incremental planning (incr.c): queues the chunks to compare whole,
 * compares the records Salesforce changed in the others, and pushes those
 * others' states. *out is the plan sfr_incr_reconcile needs once the queue
 * ran (NULL when every chunk was queued whole). */
struct incr_plan;
enum sfr_rc sfr_incr_plan(struct checker *c, struct sfr_side *sf, struct sfr_side *pg,
                          struct incr_plan **out, struct sfr_err *err) SFR_WUR;
/* After the queue ran: when Salesforce holds a different number of records
 * than the states account for (a record purged without a trace), counts the
 * quiet chunks one by one and queues those that differ. Returns the number
 * of tasks queued. */
enum sfr_rc sfr_incr_reconcile(struct checker *c, struct incr_plan *ip, struct sfr_side *sf,
                               long *queued, struct sfr_err *err) SFR_WUR;
void sfr_incr_free(struct incr_plan *ip);

#endif
