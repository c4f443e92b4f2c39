/* workers.c — range tasks of an audit shared by many processes (workers.h). */
#include "sfrecon/workers.h"

#include <stdlib.h>
#include <string.h>

#include "sfrecon/log.h"
#include "sfrecon/pg.h"
#include "sfrecon/scan.h"
#include "sfrecon/workq.h"

enum sfr_rc sfr_workers_plan(const struct sfr_workers *w, long run_id,
                             const struct sfr_check_object *co, long *n_tasks, struct sfr_err *err)
{
    struct sfr_side *sf = NULL, *pg = NULL;
    enum sfr_rc rc = w->factory(w->factory_ctx, &sf, &pg, err);
    if (rc != SFR_OK)
        return rc;
    struct sfr_strv keys = {0};
    long chunk = w->opts.chunk_size > 0 ? w->opts.chunk_size : 50000;
    rc = sfr_scan_split_keys(sf, pg, co->proj, chunk, &keys, err);
    int n = (int)keys.n + 1;
    struct sfr_range *r = sfr_calloc((size_t)n, sizeof(*r));
    long *expect = sfr_calloc((size_t)n, sizeof(*expect));
    for (int i = 0; i < n; i++) {
        r[i].lo = i > 0 ? keys.v[i - 1] : NULL;
        r[i].hi = i < n - 1 ? keys.v[i] : NULL;
        expect[i] = chunk;
    }
    PGconn *c = NULL;
    if (rc == SFR_OK)
        rc = sfr_pg_connect(w->db_url, &c, err);
    if (rc == SFR_OK)
        rc = sfr_workq_enqueue(c, run_id, co->proj->obj->name, r, expect, n, w->opts.audit_start_ms,
                               err);
    if (c != NULL)
        PQfinish(c);
    if (rc == SFR_OK) {
        sfr_log_info("%s: %d range tasks queued for run %ld", co->proj->obj->name, n, run_id);
        if (n_tasks != NULL)
            *n_tasks = n;
    }
    free(r);
    free(expect);
    sfr_strv_cleanup(&keys);
    sfr_side_free(sf);
    sfr_side_free(pg);
    return rc;
}

/* One task: the range compared as the chunked path compares it. */
static enum sfr_rc run_task(void *ctx, const char *object, const struct sfr_range *r, long expect,
                            int64_t audit_start_ms, struct sfr_disc_list *out,
                            struct sfr_check_stats *st, struct sfr_err *err)
{
    const struct sfr_workers *w = ctx;
    struct sfr_check_object co;
    if (!w->object(w->object_ctx, object, &co))
        return sfr_err_set(err, SFR_ECONFIG,
                           "a queued task names %s, which this process's mapping does not map",
                           object);
    struct sfr_check_opts o = w->opts;
    o.audit_start_ms = audit_start_ms;
    o.progress = false;
    return sfr_check_ranges(&co, &o, w->factory, w->factory_ctx, r, &expect, 1, out, st, err);
}

enum sfr_rc sfr_workers_run_object(const struct sfr_workers *w, long run_id, const char *object,
                                   struct sfr_disc_list *out, struct sfr_check_stats *st,
                                   struct sfr_err *err)
{
    long done = 0;
    enum sfr_rc rc = sfr_workq_work(w->db_url, run_id, object, true, 0, w->worker, run_task,
                                    (void *)w, &done, err);
    PGconn *c = NULL;
    if (rc == SFR_OK)
        rc = sfr_pg_connect(w->db_url, &c, err);
    if (rc == SFR_OK)
        rc = sfr_workq_collect(c, run_id, object, out, st, err);
    if (c != NULL)
        PQfinish(c);
    sfr_log_debug("%s: this process compared %ld of the run's ranges", object, done);
    return rc;
}

enum sfr_rc sfr_workers_join(const struct sfr_workers *w, int wait_s, long *n_done,
                             struct sfr_err *err)
{
    return sfr_workq_work(w->db_url, 0, NULL, true, wait_s, w->worker, run_task, (void *)w, n_done,
                          err);
}
