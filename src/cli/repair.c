/* repair.c — `sfrecon repair`: turn an audit's discrepancies into a plan,
 * show it, apply it in dependency order (journaled), re-verify the keys, and
 * `--undo` a run. stdout carries only the plan / outcome report; progress
 * and logs go to stderr. Exit 0 when everything planned was fixed (and
 * nothing was left unresolved), 1 when some repair failed or was listed
 * only, 2 usage/configuration, 3 runtime failure. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sfrecon/audit.h"
#include "sfrecon/cli.h"
#include "sfrecon/history.h"
#include "sfrecon/log.h"
#include "sfrecon/pg.h"
#include "sfrecon/repair.h"
#include "sfrecon/report.h"
#include "sfrecon/run.h"

enum { OPT_FROM = SFR_OPT_OWN, OPT_RUN, OPT_DRY, OPT_YES, OPT_ONLY, OPT_UNDO, OPT_RETRY_UNKNOWN };

static const struct sfr_cli_opt repair_opts[] = {
    {"from", 0, "FILE", OPT_FROM, "discrepancies from a JSON report (sfrecon audit --format json)"},
    {"run", 0, "ID|latest", OPT_RUN, "discrepancies of a stored audit run"},
    {"dry-run", 0, NULL, OPT_DRY,
     "print the plan (operation, direction, before -> after) and stop"},
    {"yes", 'y', NULL, OPT_YES, "apply without asking (required when stdin is not a terminal)"},
    {"only", 0, "LIST", OPT_ONLY,
     "only these causes: missing_in_pg, missing_in_sf, missing_parent, "
     "truncation, type_mismatch, stale, conflict, sync_error, duplicate, "
     "field_mismatch, formula_stale"},
    {"undo", 0, "RUN", OPT_UNDO,
     "restore the mirror columns a repair run (ID or latest) changed where they "
     "still hold what it wrote (rows changed since are kept and listed: exit 1), "
     "and list the Salesforce changes to reverse by hand; with --dry-run only "
     "show what would be restored"},
    {"retry-unknown", 0, NULL, OPT_RETRY_UNKNOWN,
     "create again the records whose earlier create had an unknown outcome and "
     "cannot be looked up (no upsert_field): only after checking that Salesforce "
     "does not have them"},
    {NULL, 0, NULL, SFR_OPT_FORMAT, "plan and outcome format: text (default) or json"},
    {0},
};

struct repair_cli {
    struct sfr_run_opts ro;
    const char *from, *run, *undo;
    bool dry_run, yes, json;
    struct sfr_repair_opts o;
};

/* "latest" -> 0, a positive number -> itself, else -1. */
static long parse_run(const char *s)
{
    if (strcmp(s, "latest") == 0)
        return 0;
    char *end;
    long v = strtol(s, &end, 10);
    return *s != '\0' && *end == '\0' && v > 0 ? v : -1;
}

static int repair_opt(void *state, int key, const char *arg)
{
    struct repair_cli *a = state;
    struct sfr_err err = {0};
    switch (key) {
    case OPT_FROM:
        a->from = arg;
        return 0;
    case OPT_RUN:
        if (parse_run(arg) < 0)
            return sfr_cli_usage_error(
                "repair", "--run: expected an audit run id or 'latest', got '%s'", arg);
        a->run = arg;
        return 0;
    case OPT_UNDO:
        if (parse_run(arg) < 0)
            return sfr_cli_usage_error(
                "repair", "--undo: expected a repair run id or 'latest', got '%s'", arg);
        a->undo = arg;
        return 0;
    case OPT_DRY:
        a->dry_run = true;
        return 0;
    case OPT_RETRY_UNKNOWN:
        a->o.retry_unknown = true;
        return 0;
    case OPT_YES:
        a->yes = true;
        return 0;
    case OPT_ONLY:
        if (sfr_repair_opts_only(&a->o, arg, &err) != SFR_OK)
            return sfr_cli_usage_error("repair", "%s (%s)", err.msg, err.hint);
        return 0;
    default:
        return 0;
    }
}

const struct sfr_cli_spec sfr_spec_repair = {
    .name = "repair",
    .summary = "re-sync mismatched records in dependency order (undoable)",
    .also = "       sfrecon repair --undo RUN_ID|latest [--dry-run] [--format text|json]",
    .about = "Re-syncs mismatched records: computes a plan from an audit (a fresh one when\n"
             "neither --from nor --run is given), shows it, applies it in dependency order\n"
             "(parents first, deletes children first), journals every mirror change, and\n"
             "audits the repaired keys again.",
    .common = SFR_CLI_MAPPED | SFR_CLI_DESCRIBE | SFR_CLI_FORMAT,
    .formats = SFR_CLI_FMT(SFR_FMT_TEXT) | SFR_CLI_FMT(SFR_FMT_JSON),
    .opts = repair_opts,
    .notes = "Direction: read_only mappings and the sf_wins policy (default) write\n"
             "Salesforce's values into the mirror; pg_wins writes the mirror's into\n"
             "Salesforce; newest_wins compares SystemModstamps and lists ties instead of\n"
             "guessing.",
    .exits = "exit 0 when all was fixed, 1 when some repair failed or was left\n"
             "unresolved.",
    .on_opt = repair_opt,
};

/* Options that exclude each other; -1 when the combination is fine. */
static int check_combination(const struct repair_cli *a)
{
    if (a->from != NULL && a->run != NULL)
        return sfr_cli_usage_error("repair", "--from and --run are exclusive");
    if (a->undo != NULL && (a->from || a->run || a->o.only_set))
        return sfr_cli_usage_error("repair", "--undo takes no --from, --run or --only");
    return -1;
}

static int do_undo(const struct repair_cli *a)
{
    struct sfr_err err = {0};
    PGconn *conn = NULL;
    struct sfr_undo_opts uo = {a->dry_run, a->json};
    struct sfr_undo_result ur = {0};
    enum sfr_rc rc = sfr_pg_connect(NULL, &conn, &err);
    if (rc == SFR_OK)
        rc = sfr_pg_migrate(conn, &err);
    if (rc == SFR_OK)
        rc = sfr_repair_undo(conn, parse_run(a->undo), &uo, stdout, &ur, &err);
    if (conn != NULL)
        PQfinish(conn);
    if (rc != SFR_OK) {
        int code = sfr_cli_fail(rc, &err);
        return rc == SFR_ENOTFOUND ? SFR_EXIT_USAGE : code;
    }
    sfr_log_info("undo%s: %ld mirror change%s %s, %ld row%s kept (changed since); %ld "
                 "Salesforce change%s listed",
                 a->dry_run ? " (dry run)" : "", ur.restored, ur.restored == 1 ? "" : "s",
                 a->dry_run ? "would be restored" : "restored", ur.drifted,
                 ur.drifted == 1 ? "" : "s", ur.sf_listed, ur.sf_listed == 1 ? "" : "s");
    return ur.drifted > 0 ? SFR_EXIT_FOUND : SFR_EXIT_OK;
}

/* The discrepancies to repair: a report file, a stored run, or a fresh audit. */
static enum sfr_rc load_discs(struct sfr_run_ctx *ctx, const struct repair_cli *a,
                              struct sfr_run *run, struct sfr_err *err)
{
    if (a->from != NULL)
        return sfr_report_load_json(a->from, run, err);
    if (a->run != NULL)
        return sfr_history_load(ctx->conn, parse_run(a->run), run, err);
    struct sfr_audit_opts ao;
    sfr_audit_opts_defaults(&ao);
    ao.progress = isatty(2) != 0;
    sfr_log_info("repair: auditing first (no --from or --run given)");
    return sfr_audit_run(ctx, &ao, run, err);
}

static bool confirm(long n)
{
    char line[32];
    fprintf(stderr, "Apply %ld change%s? [y/N] ", n, n == 1 ? "" : "s");
    fflush(stderr);
    if (fgets(line, sizeof(line), stdin) == NULL)
        return false;
    return line[0] == 'y' || line[0] == 'Y';
}

static void print_outcome(const struct repair_cli *a, const struct sfr_plan *p,
                          const struct sfr_repair_result *r)
{
    if (a->json) {
        struct sfr_buf b = SFR_BUF_INIT;
        sfr_buf_printf(&b,
                       "{\"repair_run\":%ld,\"fixed\":%ld,\"failed\":%ld,\"skipped\":%ld,"
                       "\"in_sync\":%ld,\"pg_batches\":%ld,\"sf_calls\":%ld,\"seconds\":%.3f,"
                       "\"plan\":",
                       r->run_id, r->fixed, r->failed, r->skipped, r->in_sync, r->pg_batches,
                       r->sf_api_calls, r->seconds);
        sfr_plan_json(&b, p, true);
        sfr_buf_puts(&b, "}\n");
        fputs(b.data, stdout);
        sfr_buf_cleanup(&b);
        return;
    }
    sfr_plan_print_text(stdout, p, true);
    printf("\nrepair run %ld: %ld fixed, %ld failed, %ld skipped (listed only), %ld already in "
           "sync\n",
           r->run_id, r->fixed, r->failed, r->skipped, r->in_sync);
    printf("writes: %ld mirror rows in %ld transactions, %ld Salesforce records in %ld "
           "collection calls; %ld API calls incl. re-verification; %.2f s\n",
           r->pg_rows_written, r->pg_batches, r->sf_records_written, r->sf_batches, r->sf_api_calls,
           r->seconds);
    if (r->run_id > 0)
        printf("undo with: sfrecon repair --undo %ld\n", r->run_id);
}

static void print_plan(const struct repair_cli *a, const struct sfr_plan *p, FILE *out)
{
    if (a->json) {
        struct sfr_buf b = SFR_BUF_INIT;
        sfr_plan_json(&b, p, false);
        fprintf(out, "%s\n", b.data);
        sfr_buf_cleanup(&b);
    } else {
        sfr_plan_print_text(out, p, false);
    }
}

static int plan_and_apply(struct repair_cli *a, struct sfr_run_ctx *ctx, struct sfr_run *run)
{
    struct sfr_err err = {0};
    struct sfr_side *sf = NULL, *pg = NULL;
    struct sfr_check_object *co = sfr_calloc((size_t)ctx->n + 1, sizeof(*co));
    struct sfr_plan plan;
    struct sfr_repair_result res = {0};
    memset(&plan, 0, sizeof(plan));
    int code = 3;
    for (int i = 0; i < ctx->n; i++)
        sfr_run_ctx_check_object(ctx, i, &co[i]);
    if (ctx->sf != NULL)
        sfr_sf_set_phase(ctx->sf, "repair");
    enum sfr_rc rc = sfr_run_ctx_sides(ctx, &sf, &pg, &err);
    a->o.sf_client = ctx->sf;
    if (rc == SFR_OK)
        rc = sfr_plan_build(&run->discs, co, ctx->n, sf, pg, &a->o, &plan, &err);
    if (rc == SFR_OK) /* creates whose answer an earlier run lost */
        rc = sfr_repair_mark_unknown(&plan, ctx->conn, &a->o, &err);
    if (rc != SFR_OK) {
        code = sfr_cli_fail(rc, &err);
        goto out;
    }
    sfr_log_info("repair plan: %ld change%s, %ld already in sync, %ld unresolved (from %zu "
                 "discrepanc%s)",
                 plan.n_changes, plan.n_changes == 1 ? "" : "s", plan.n_in_sync, plan.n_unresolved,
                 run->discs.n, run->discs.n == 1 ? "y" : "ies");
    if (a->dry_run) {
        print_plan(a, &plan, stdout);
        code = 0;
        goto out;
    }
    if (plan.n_changes == 0) {
        if (plan.n_unresolved > 0 || a->json)
            print_plan(a, &plan, stdout);
        else
            printf("nothing to repair: %ld record%s already in sync\n", plan.n_in_sync,
                   plan.n_in_sync == 1 ? "" : "s");
        sfr_log_info("nothing to write");
        code = plan.n_unresolved > 0 ? 1 : 0;
        goto out;
    }
    if (!a->yes) {
        print_plan(a, &plan, stderr);
        if (!confirm(plan.n_changes)) {
            sfr_log_info("not applied");
            code = 1;
            goto out;
        }
    }
    a->o.progress = true;
    rc = sfr_repair_apply(&plan, sf, pg, ctx->conn, run->id, &a->o, &res, &err);
    if (rc != SFR_OK) {
        code = sfr_cli_fail(rc, &err);
        goto out;
    }
    print_outcome(a, &plan, &res);
    code = res.failed > 0 || res.skipped > 0 ? 1 : 0;
out:
    sfr_plan_cleanup(&plan);
    sfr_side_free(sf);
    sfr_side_free(pg);
    sfr_free(co);
    return code;
}

int sfr_cmd_repair(int argc, char **argv)
{
    struct repair_cli a;
    memset(&a, 0, sizeof(a));
    sfr_repair_opts_defaults(&a.o);
    struct sfr_cli_common c;
    int code = sfr_cli_parse(&sfr_spec_repair, argc, argv, &c, &a);
    if (code < 0)
        code = check_combination(&a);
    if (code >= 0)
        return code;
    a.ro.config_path = c.config;
    a.ro.schema = c.schema;
    a.ro.describe = c.describe;
    a.json = c.format == SFR_FMT_JSON;
    if (a.undo != NULL)
        return do_undo(&a);
    if (!a.dry_run && !a.yes && !isatty(0)) {
        fprintf(stderr, "sfrecon repair: refusing to apply without confirmation: stdin is not a "
                        "terminal\nhint: pass --yes to apply, or --dry-run to see the plan\n");
        return SFR_EXIT_USAGE;
    }
    struct sfr_err err = {0};
    struct sfr_run_ctx *ctx = NULL;
    struct sfr_run run;
    memset(&run, 0, sizeof(run));
    enum sfr_rc rc = sfr_run_ctx_open(&a.ro, &ctx, &err);
    if (rc == SFR_OK)
        rc = load_discs(ctx, &a, &run, &err);
    if (rc != SFR_OK) {
        code = sfr_cli_fail(rc, &err);
        if (rc == SFR_ENOTFOUND)
            code = SFR_EXIT_USAGE;
    } else {
        code = plan_and_apply(&a, ctx, &run);
    }
    sfr_run_cleanup(&run);
    sfr_run_ctx_free(ctx);
    return code;
}
