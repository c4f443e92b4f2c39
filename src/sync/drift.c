/* drift.c — audit and repair inside the daemon (--audit-every, --repair).
 * Between cycles, every `audit_every` the daemon runs the audit engine
 * (src/audit) incrementally against the last stored run (chunks unchanged on
 * both sides are not read again) and stores the run like any `sfrecon
 * audit`. The incremental audit compares counts and newest SystemModstamp
 * per chunk, so it cannot see a row changed behind the triggers' back that
 * kept its systemmodstamp: the first audit of a daemon, and one whenever the
 * last full one is older than a day, compare every record. With --repair auto the run's
 * discrepancies go through the repair module exactly as `sfrecon repair --run ID --yes` would: a
 * plan in dependency order from the mapping's policies, applied and journaled (undoable with
 * `sfrecon repair --undo`); what no policy settles is listed in the log and left alone. The
 * daemon's Salesforce writes carry its client name, so their change events come back as own writes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "sfrecon/audit.h"
#include "sfrecon/log.h"
#include "sfrecon/repair.h"
#include "sync_internal.h"

static int64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static enum sfr_rc repair_run(struct sfr_sync *s, struct sfr_run *run, struct sfr_err *err)
{
    struct sfr_run_ctx *ctx = s->ctx;
    struct sfr_side *sf = NULL, *pg = NULL;
    struct sfr_check_object *co = sfr_calloc((size_t)ctx->n + 1, sizeof(*co));
    struct sfr_plan plan;
    struct sfr_repair_opts o;
    struct sfr_repair_result res;
    memset(&plan, 0, sizeof(plan));
    memset(&res, 0, sizeof(res));
    sfr_repair_opts_defaults(&o);
    for (int i = 0; i < ctx->n; i++)
        sfr_run_ctx_check_object(ctx, i, &co[i]);
    sfr_sf_set_phase(ctx->sf, "repair");
    enum sfr_rc rc = sfr_run_ctx_sides(ctx, &sf, &pg, err);
    if (rc == SFR_OK)
        rc = sfr_plan_build(&run->discs, co, ctx->n, sf, pg, &o, &plan, err);
    if (rc == SFR_OK && plan.n_changes > 0)
        rc = sfr_repair_apply(&plan, sf, pg, (struct pg_conn *)ctx->conn, run->id, &o, &res, err);
    if (rc == SFR_OK) {
        s->last_repair_fixed = res.fixed;
        s->last_repair_failed = res.failed;
        if (plan.n_changes > 0)
            sfr_log_info("repair run %ld (audit run %ld): %ld fixed, %ld failed, %ld listed only; "
                         "undo with: sfrecon repair --undo %ld",
                         res.run_id, run->id, res.fixed, res.failed, res.skipped, res.run_id);
        if (plan.n_unresolved > 0)
            sfr_log_warn("audit run %ld: %ld discrepanc%s no repair_policy settles; see "
                         "`sfrecon repair --run %ld --dry-run`",
                         run->id, plan.n_unresolved, plan.n_unresolved == 1 ? "y" : "ies", run->id);
    }
    sfr_plan_cleanup(&plan);
    sfr_side_free(sf);
    sfr_side_free(pg);
    free(co);
    sfr_sf_set_phase(ctx->sf, "sync");
    return rc;
}

enum sfr_rc sfr_sync_audit_step(struct sfr_sync *s, struct sfr_err *err)
{
    struct sfr_run_ctx *ctx = s->ctx;
    struct sfr_audit_opts ao;
    sfr_audit_opts_defaults(&ao);
    bool full =
        s->last_full_audit_ms == 0 || now_ms() - s->last_full_audit_ms >= SFR_SYNC_FULL_AUDIT_MS;
    ao.since_last = !full;
    ao.store = true;
    ao.progress = false;
    struct sfr_run *run = sfr_calloc(1, sizeof(*run));
    int64_t t0 = now_ms();
    long calls0 = sfr_sf_api_calls(ctx->sf);
    sfr_sf_set_phase(ctx->sf, "audit");
    enum sfr_rc rc = sfr_audit_run(ctx, &ao, run, err);
    sfr_sf_set_phase(ctx->sf, "sync");
    s->last_audit_ms = now_ms();
    s->last_audit_s = (double)(s->last_audit_ms - t0) / 1000.0;
    s->audit_calls = sfr_sf_api_calls(ctx->sf) - calls0;
    if (rc == SFR_OK) {
        if (full)
            s->last_full_audit_ms = s->last_audit_ms;
        sfr_log_info("audit run %ld (%s): %zu discrepanc%s, %s, %.2f s", run->id,
                     full ? "full" : "incremental", sfr_disc_list_count(&run->discs),
                     sfr_disc_list_count(&run->discs) == 1 ? "y" : "ies", run->status,
                     s->last_audit_s);
        if (run->complete)
            s->last_audit_ok_ms = s->last_audit_ms;
        if (s->repair_auto && sfr_disc_list_count(&run->discs) > 0)
            rc = repair_run(s, run, err);
    }
    if (rc != SFR_OK)
        sfr_err_prefix(err, "audit inside the daemon");
    /* the metrics keep the run's summary, not its discrepancies */
    sfr_disc_list_cleanup(&run->discs);
    if (s->last_run != NULL) {
        sfr_run_cleanup(s->last_run);
        free(s->last_run);
    }
    s->last_run = run;
    return rc;
}
