/* report.c — `sfrecon report`: print a stored audit run (sfrecon.audit_run)
 * as text, json, csv, html or prometheus; compare two runs (--diff); drop
 * old runs (--prune). Also the hook `audit` calls to write its report with
 * what only the history knows (trend, last success). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfrecon/cli.h"
#include "sfrecon/history.h"
#include "sfrecon/log.h"
#include "sfrecon/pg.h"
#include "sfrecon/report.h"
#include "sfrecon/run.h"

#define TREND_DAYS 60

enum { OPT_RUN = SFR_OPT_OWN, OPT_DIFF, OPT_PRUNE, OPT_HTML_ROWS };

static const struct sfr_cli_opt report_opts[] = {
    {NULL, 0, NULL, SFR_OPT_CONFIG,
     "with --run latest: the latest run of this mapping (the path the audit was given)"},
    {"run", 'r', "ID|latest", OPT_RUN, "the stored audit run to print (default latest)"},
    {"diff", 0, "A B", OPT_DIFF,
     "what changed from run A to run B: new, resolved, still open (since when); "
     "A and B are run ids, 'latest' or 'previous' (the newest finished run and "
     "the one before it); text, json or html"},
    {"prune", 0, "DAYS", OPT_PRUNE,
     "delete runs started more than DAYS days ago with their discrepancies; "
     "the newest finished run is always kept"},
    {"html-rows", 0, "N", OPT_HTML_ROWS,
     "html: records shown per object and cause (default 1000, 0 = all); the rest are "
     "counted, and in the csv and json reports"},
    {NULL, 'f', NULL, SFR_OPT_FORMAT, NULL},
    {NULL, 'o', NULL, SFR_OPT_OUT, NULL},
    {0},
};

struct report_cli {
    const char *run, *diff_a, *diff_b;
    int prune_days; /* < 0: not pruning */
    long html_rows; /* per group */
};

static int report_opt(void *state, int key, const char *arg)
{
    struct report_cli *a = state;
    char *end;
    long v;
    switch (key) {
    case OPT_RUN:
        v = strtol(arg, &end, 10);
        if (strcmp(arg, "latest") != 0 && (*arg == '\0' || *end != '\0' || v <= 0))
            return sfr_cli_usage_error("report", "--run: expected a run id or 'latest', got '%s'",
                                       arg);
        a->run = arg;
        return 0;
    case OPT_DIFF:
        a->diff_a = arg;
        return 0;
    case OPT_HTML_ROWS:
        v = strtol(arg, &end, 10);
        if (*arg == '\0' || *end != '\0' || v < 0)
            return sfr_cli_usage_error("report", "--html-rows: expected 0 or more, got '%s'", arg);
        a->html_rows = v;
        return 0;
    case OPT_PRUNE:
        v = strtol(arg, &end, 10);
        if (*arg == '\0' || *end != '\0' || v < 1 || v > 100000)
            return sfr_cli_usage_error(
                "report", "--prune: expected a number of days (1 or more), got '%s'", arg);
        a->prune_days = (int)v;
        return 0;
    default:
        return 0;
    }
}

/* `--diff A B`: B is the argument after A. */
static int report_arg(void *state, const char *arg)
{
    struct report_cli *a = state;
    if (a->diff_a == NULL || a->diff_b != NULL)
        return sfr_cli_usage_error("report", "unexpected argument '%s'", arg);
    a->diff_b = arg;
    return 0;
}

const struct sfr_cli_spec sfr_spec_report = {
    .name = "report",
    .summary = "print a stored audit run (text, json, csv, html, prometheus), diff two runs",
    .also = "       sfrecon report --diff A B [--format text|json|html] [--out FILE]\n"
            "       sfrecon report --prune DAYS",
    .about = "Prints an audit run stored in sfrecon.audit_run (DATABASE_URL): html is one\n"
             "self-contained page, prometheus the text format for node_exporter's textfile\n"
             "collector. --out replaces FILE only once the report is complete.",
    .common = SFR_CLI_CONFIG | SFR_CLI_VERBOSITY | SFR_CLI_FORMAT | SFR_CLI_OUT,
    .formats = SFR_CLI_FMT_RUN,
    .opts = report_opts,
    .notes = "Environment: DATABASE_URL (the mirror holding schema sfrecon); SF_INSTANCE_URL\n"
             "links records for runs that did not store their instance.",
    .exits = "exit 0 when the run was clean (--diff: nothing new; --prune: done),\n"
             "1 when it had discrepancies (--diff: something is new), 3 when the run\n"
             "did not finish (partial, interrupted, failed, running, abandoned: a\n"
             "warning on stderr; never read as in sync).",
    .on_opt = report_opt,
    .on_arg = report_arg,
};

/* Writes run as fmt with what the history adds: the trend (html) and the
 * last successful audit (prometheus). A failing history query costs only
 * that part of the report (logged). */
static void write_with_history(FILE *out, PGconn *conn, const struct sfr_run *run,
                               enum sfr_format fmt, long html_rows)
{
    struct sfr_err err = {0};
    if (fmt == SFR_FMT_HTML && conn != NULL && run->id > 0) {
        struct sfr_trend t = {0};
        if (sfr_history_trend(conn, run->id, TREND_DAYS, &t, &err) != SFR_OK)
            sfr_log_err(&err);
        sfr_report_write_html(out, run, &t, html_rows);
        sfr_trend_cleanup(&t);
    } else if (fmt == SFR_FMT_PROMETHEUS && conn != NULL) {
        struct sfr_metrics m = {run, INT64_MIN, -1, -1};
        if (sfr_history_last_success(conn, &m.last_success_ms, &err) != SFR_OK)
            sfr_log_err(&err);
        sfr_report_write_prometheus(out, &m);
    } else {
        sfr_report_write(out, run, fmt);
    }
}

bool sfr_cli_audit_report(FILE *out, struct sfr_run_ctx *ctx, struct sfr_run *run,
                          enum sfr_format fmt)
{
    if (ctx->sf != NULL && run->instance_url == NULL && sfr_sf_instance_url(ctx->sf) != NULL)
        run->instance_url = sfr_strdup(sfr_sf_instance_url(ctx->sf));
    long used, max;
    if (ctx->sf != NULL && sfr_sf_limit_info(ctx->sf, &used, &max) && max > 0) {
        run->api_daily_used = used;
        run->api_daily_max = max;
    }
    struct sfr_err err = {0};
    if (run->id > 0 && sfr_history_store_info(ctx->conn, run, &err) != SFR_OK)
        sfr_log_err(&err);
    write_with_history(out, run->id > 0 ? ctx->conn : NULL, run, fmt, SFR_HTML_GROUP_ROWS);
    return fflush(out) == 0;
}

/* ---- the three modes ---- */

static int fail(enum sfr_rc rc, const struct sfr_err *err)
{
    int code = sfr_cli_fail(rc, err);
    return rc == SFR_ENOTFOUND ? SFR_EXIT_USAGE : code;
}

static void instance_from_env(struct sfr_run *run)
{
    const char *u = getenv("SF_INSTANCE_URL");
    if (run->instance_url == NULL && u != NULL && *u)
        run->instance_url = sfr_strdup(u);
}

/* The output once what it shows was read (rc) and run (linked to its
 * instance) is ready; NULL with *code the exit code when it cannot be. */
static FILE *open_report(enum sfr_rc rc, const struct sfr_err *err, const struct sfr_cli_common *c,
                         struct sfr_run *run, int *code)
{
    if (rc != SFR_OK) {
        *code = fail(rc, err);
        return NULL;
    }
    FILE *out = sfr_cli_open_out(c);
    if (out == NULL) {
        *code = SFR_EXIT_RUNTIME;
        return NULL;
    }
    instance_from_env(run);
    return out;
}

/* clean 0, discrepancies 1; any run that did not finish is 3, flagged. */
static int exit_code(const struct sfr_run *run)
{
    if (strcmp(run->status, "clean") == 0 && run->discs.n == 0)
        return SFR_EXIT_OK;
    if (strcmp(run->status, "discrepancies") == 0)
        return SFR_EXIT_FOUND;
    sfr_log_warn("audit run %ld is %s: it did not finish, so its result is incomplete (%zu "
                 "discrepanc%s found, %zu range(s) not covered)",
                 run->id, run->status, run->discs.n, run->discs.n == 1 ? "y" : "ies",
                 run->not_covered.n);
    return SFR_EXIT_RUNTIME;
}

static int print_run(PGconn *conn, const struct report_cli *a, const struct sfr_cli_common *c)
{
    struct sfr_err err = {0};
    struct sfr_run run;
    memset(&run, 0, sizeof(run));
    long id = 0;
    enum sfr_rc rc = SFR_OK;
    /* metrics come from the newest finished run, never from one still running */
    if (strcmp(a->run, "latest") != 0 || c->format == SFR_FMT_PROMETHEUS)
        rc = sfr_history_resolve(conn, a->run, &id, &err);
    if (rc == SFR_OK && id <= 0 && c->config_given) { /* -c: the latest run of that mapping */
        char *real = realpath(c->config, NULL);
        rc = sfr_history_latest_of(conn, c->config, real, &id, &err);
        free(real);
    }
    if (rc == SFR_OK)
        rc = sfr_history_load(conn, id, &run, &err);
    if (rc == SFR_OK)
        rc = sfr_history_load_info(conn, &run, &err);
    int code;
    FILE *out = open_report(rc, &err, c, &run, &code);
    if (out != NULL) {
        write_with_history(out, conn, &run, c->format, a->html_rows);
        code = !sfr_cli_close_out(c, out) ? SFR_EXIT_RUNTIME : exit_code(&run);
    }
    sfr_run_cleanup(&run);
    return code;
}

static int print_diff(PGconn *conn, const struct report_cli *a, const struct sfr_cli_common *c)
{
    struct sfr_err err = {0};
    long ida = 0, idb = 0;
    struct sfr_run_diff d;
    memset(&d, 0, sizeof(d));
    enum sfr_rc rc = sfr_history_resolve(conn, a->diff_a, &ida, &err);
    if (rc == SFR_OK)
        rc = sfr_history_resolve(conn, a->diff_b, &idb, &err);
    if (rc == SFR_OK)
        rc = sfr_history_diff(conn, ida, idb, &d, &err);
    if (rc == SFR_OK)
        rc = sfr_history_load_info(conn, &d.b, &err);
    int code;
    FILE *out = open_report(rc, &err, c, &d.b, &code);
    if (out != NULL) {
        sfr_report_write_diff(out, &d, c->format);
        code = !sfr_cli_close_out(c, out) ? SFR_EXIT_RUNTIME
               : d.added.n > 0            ? SFR_EXIT_FOUND
                                          : SFR_EXIT_OK;
    }
    sfr_run_diff_cleanup(&d);
    return code;
}

static int prune(PGconn *conn, const struct report_cli *a)
{
    struct sfr_err err = {0};
    long runs = 0, discs = 0;
    enum sfr_rc rc = sfr_history_prune(conn, a->prune_days, &runs, &discs, &err);
    if (rc != SFR_OK)
        return fail(rc, &err);
    printf("pruned %ld run%s (%ld discrepanc%s) started more than %d day%s ago\n", runs,
           runs == 1 ? "" : "s", discs, discs == 1 ? "y" : "ies", a->prune_days,
           a->prune_days == 1 ? "" : "s");
    return fflush(stdout) == 0 ? SFR_EXIT_OK : SFR_EXIT_RUNTIME;
}

/* Connects; a schema older than this sfrecon is migrated (the reports read
 * columns the newer versions added). */
static enum sfr_rc connect_history(PGconn **conn, struct sfr_err *err)
{
    enum sfr_rc rc = sfr_pg_connect(getenv("DATABASE_URL"), conn, err);
    int v = rc == SFR_OK ? sfr_pg_schema_version(*conn) : 0;
    if (rc == SFR_OK && v <= 0)
        rc = sfr_err_set(err, SFR_ENOTFOUND,
                         "no sfrecon schema in this database: run 'sfrecon audit' first");
    if (rc == SFR_OK && v < SFR_PG_SCHEMA_VERSION)
        rc = sfr_pg_migrate(*conn, err);
    return rc;
}

int sfr_cmd_report(int argc, char **argv)
{
    struct report_cli a = {NULL, NULL, NULL, -1, SFR_HTML_GROUP_ROWS};
    struct sfr_cli_common c;
    int code = sfr_cli_parse(&sfr_spec_report, argc, argv, &c, &a);
    if (code >= 0)
        return code;
    if (a.diff_a != NULL && a.diff_b == NULL)
        return sfr_cli_usage_error(
            "report", "--diff: expected two runs (--diff A B), got '%s' alone", a.diff_a);
    if ((a.run != NULL) + (a.diff_a != NULL) + (a.prune_days >= 0) > 1)
        return sfr_cli_usage_error("report", "--run, --diff and --prune go one at a time");
    if (a.diff_a != NULL && c.format != SFR_FMT_TEXT && c.format != SFR_FMT_JSON &&
        c.format != SFR_FMT_HTML)
        return sfr_cli_usage_error("report", "--diff: --format must be text, json or html");
    if (a.run == NULL)
        a.run = "latest";
    struct sfr_err err = {0};
    PGconn *conn = NULL;
    enum sfr_rc rc = connect_history(&conn, &err);
    if (rc != SFR_OK)
        code = fail(rc, &err);
    else if (a.prune_days >= 0)
        code = prune(conn, &a);
    else if (a.diff_a != NULL)
        code = print_diff(conn, &a, &c);
    else
        code = print_run(conn, &a, &c);
    if (conn != NULL)
        PQfinish(conn);
    return code;
}
