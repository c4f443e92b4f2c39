/* report.c — `sfrecon report`: print a stored audit run (sfrecon.audit_run)
 * as text, json, csv, html or prometheus; compare two runs (--diff); drop
 * old runs (--prune). Also the hook `audit` calls to write its report with
 * what only the history knows (trend, last success). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sfrecon/cli.h"
#include "sfrecon/history.h"
#include "sfrecon/log.h"
#include "sfrecon/pg.h"
#include "sfrecon/report.h"
#include "sfrecon/run.h"

#define TREND_DAYS 60

void sfr_usage_report(void)
{
    printf("Usage: sfrecon report [--run ID|latest] [--format FORMAT] [--out FILE]\n"
           "       sfrecon report --diff RUN_A RUN_B [--format text|json|html] [--out FILE]\n"
           "       sfrecon report --prune DAYS\n\n"
           "Prints an audit run stored in sfrecon.audit_run (DATABASE_URL).\n\n"
           "  --run ID|latest     the run to print (default latest)\n"
           "  --format FORMAT     text (default), json, csv, html (one self-contained page)\n"
           "                      or prometheus (node_exporter textfile collector)\n"
           "  --out FILE          write there instead of stdout (replaced atomically)\n"
           "  --diff A B          what changed from run A to run B: new, resolved, still\n"
           "                      open; A and B are ids, 'latest' or 'previous' (the newest\n"
           "                      finished run and the one before it)\n"
           "  --prune DAYS        delete runs started more than DAYS days ago, with their\n"
           "                      discrepancies; the newest finished run is always kept\n\n"
           "Exit: 0 the run was clean (--diff: nothing new; --prune: done), 1 it had\n"
           "discrepancies (--diff: something new), 2 usage or unknown run, 3 runtime.\n");
}

/* ---- output file: written beside FILE, renamed over it when complete, so
 * a collector or a mail job never reads half a report ---- */

struct out_file {
    FILE *f;
    const char *path;
    char *tmp;
};

static bool out_open(struct out_file *o, const char *path)
{
    memset(o, 0, sizeof(*o));
    o->path = path;
    if (path == NULL) {
        o->f = stdout;
        return true;
    }
    o->tmp = sfr_asprintf("%s.tmp.%ld", path, (long)getpid());
    o->f = fopen(o->tmp, "w");
    if (o->f == NULL) {
        sfr_log_error("%s: cannot write the report: %m", path);
        free(o->tmp);
        o->tmp = NULL;
    }
    return o->f != NULL;
}

static bool out_close(struct out_file *o)
{
    if (o->path == NULL)
        return fflush(stdout) == 0;
    bool ok = !ferror(o->f);
    ok = fclose(o->f) == 0 && ok;
    if (ok && rename(o->tmp, o->path) != 0)
        ok = false;
    if (!ok) {
        sfr_log_error("%s: cannot write the report: %m", o->path);
        unlink(o->tmp);
    }
    free(o->tmp);
    return ok;
}

/* Writes run as fmt with what the history adds: the trend (html) and the
 * last successful audit (prometheus). A failing history query costs only
 * that part of the report (logged). */
static void write_with_history(FILE *out, PGconn *conn, const struct sfr_run *run,
                               enum sfr_format fmt)
{
    struct sfr_err err = {0};
    if (fmt == SFR_FMT_HTML && conn != NULL && run->id > 0) {
        struct sfr_trend t = {0};
        if (sfr_history_trend(conn, run->id, TREND_DAYS, &t, &err) != SFR_OK)
            sfr_log_err(&err);
        sfr_report_write_html(out, run, &t);
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
    write_with_history(out, run->id > 0 ? ctx->conn : NULL, run, fmt);
    return fflush(out) == 0;
}

/* ---- the three modes ---- */

struct report_opts {
    const char *run, *diff_a, *diff_b, *out;
    int prune_days; /* < 0: not pruning */
    enum sfr_format fmt;
};

static int code_of(enum sfr_rc rc)
{
    return rc == SFR_ENOTFOUND || rc == SFR_ECONFIG ? 2 : sfr_rc_exit_code(rc);
}

static int print_run(PGconn *conn, const struct report_opts *o)
{
    struct sfr_err err = {0};
    struct sfr_run run;
    memset(&run, 0, sizeof(run));
    long id = 0;
    enum sfr_rc rc = SFR_OK;
    if (strcmp(o->run, "latest") != 0)
        rc = sfr_history_resolve(conn, o->run, &id, &err);
    if (rc == SFR_OK)
        rc = sfr_history_load(conn, id, &run, &err);
    if (rc == SFR_OK)
        rc = sfr_history_load_info(conn, &run, &err);
    if (rc != SFR_OK) {
        sfr_log_err(&err);
        sfr_run_cleanup(&run);
        return code_of(rc);
    }
    if (run.instance_url == NULL && getenv("SF_INSTANCE_URL") && *getenv("SF_INSTANCE_URL"))
        run.instance_url = sfr_strdup(getenv("SF_INSTANCE_URL"));
    struct out_file of;
    int code = 3;
    if (out_open(&of, o->out)) {
        write_with_history(of.f, conn, &run, o->fmt);
        if (out_close(&of))
            code = run.discs.n > 0 ? 1 : 0;
    }
    sfr_run_cleanup(&run);
    return code;
}

static int print_diff(PGconn *conn, const struct report_opts *o)
{
    struct sfr_err err = {0};
    long a = 0, b = 0;
    enum sfr_rc rc = sfr_history_resolve(conn, o->diff_a, &a, &err);
    if (rc == SFR_OK)
        rc = sfr_history_resolve(conn, o->diff_b, &b, &err);
    struct sfr_run_diff d;
    memset(&d, 0, sizeof(d));
    if (rc == SFR_OK)
        rc = sfr_history_diff(conn, a, b, &d, &err);
    if (rc == SFR_OK)
        rc = sfr_history_load_info(conn, &d.b, &err);
    if (rc != SFR_OK) {
        sfr_log_err(&err);
        sfr_run_diff_cleanup(&d);
        return code_of(rc);
    }
    if (d.b.instance_url == NULL && getenv("SF_INSTANCE_URL") && *getenv("SF_INSTANCE_URL"))
        d.b.instance_url = sfr_strdup(getenv("SF_INSTANCE_URL"));
    struct out_file of;
    int code = 3;
    if (out_open(&of, o->out)) {
        sfr_report_write_diff(of.f, &d, o->fmt);
        if (out_close(&of))
            code = d.added.n > 0 ? 1 : 0;
    }
    sfr_run_diff_cleanup(&d);
    return code;
}

static int prune(PGconn *conn, const struct report_opts *o)
{
    struct sfr_err err = {0};
    long runs = 0, discs = 0;
    enum sfr_rc rc = sfr_history_prune(conn, o->prune_days, &runs, &discs, &err);
    if (rc != SFR_OK) {
        sfr_log_err(&err);
        return code_of(rc);
    }
    printf("pruned %ld run%s (%ld discrepanc%s) started more than %d day%s ago\n", runs,
           runs == 1 ? "" : "s", discs, discs == 1 ? "y" : "ies", o->prune_days,
           o->prune_days == 1 ? "" : "s");
    return fflush(stdout) == 0 ? 0 : 3;
}

static int run_mode(const struct report_opts *o)
{
    struct sfr_err err = {0};
    PGconn *conn = NULL;
    int code;
    enum sfr_rc rc = sfr_pg_connect(getenv("DATABASE_URL"), &conn, &err);
    if (rc == SFR_OK && sfr_pg_schema_version(conn) <= 0)
        rc = sfr_err_set(&err, SFR_ENOTFOUND,
                         "no sfrecon schema in this database: run 'sfrecon audit' first");
    if (rc == SFR_OK && sfr_pg_schema_version(conn) < SFR_PG_SCHEMA_VERSION)
        rc = sfr_pg_migrate(conn, &err);
    if (rc != SFR_OK) {
        sfr_log_err(&err);
        code = code_of(rc);
    } else if (o->prune_days >= 0) {
        code = prune(conn, o);
    } else if (o->diff_a != NULL) {
        code = print_diff(conn, o);
    } else {
        code = print_run(conn, o);
    }
    if (conn != NULL)
        PQfinish(conn);
    return code;
}

enum { OPT_DIFF = 256, OPT_PRUNE };

int sfr_cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {{"run", required_argument, NULL, 'r'},
                                         {"format", required_argument, NULL, 'f'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"diff", required_argument, NULL, OPT_DIFF},
                                         {"prune", required_argument, NULL, OPT_PRUNE},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct report_opts o = {NULL, NULL, NULL, NULL, -1, SFR_FMT_TEXT};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "r:f:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            o.run = optarg;
            break;
        case 'f':
            if (!sfr_format_parse(optarg, &o.fmt))
                return sfr_cli_usage_error("report", "--format: expected %s, got '%s'",
                                           sfr_format_names(), optarg);
            break;
        case 'o':
            o.out = optarg;
            break;
        case OPT_DIFF:
            o.diff_a = optarg;
            if (optind >= argc || argv[optind][0] == '-')
                return sfr_cli_usage_error("report", "--diff: expected two runs (--diff A B)");
            o.diff_b = argv[optind++];
            break;
        case OPT_PRUNE: {
            char *end;
            long d = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || d < 1 || d > 100000)
                return sfr_cli_usage_error("report",
                                           "--prune: expected a number of days (1 or more), "
                                           "got '%s'",
                                           optarg);
            o.prune_days = (int)d;
            break;
        }
        case 'h':
            sfr_usage_report();
            return 0;
        default:
            return sfr_cli_usage_error("report", "bad option");
        }
    }
    if (optind < argc)
        return sfr_cli_usage_error("report", "unexpected argument '%s'", argv[optind]);
    int modes = (o.run != NULL) + (o.diff_a != NULL) + (o.prune_days >= 0);
    if (modes > 1)
        return sfr_cli_usage_error("report", "--run, --diff and --prune go one at a time");
    if (o.diff_a != NULL && o.fmt != SFR_FMT_TEXT && o.fmt != SFR_FMT_JSON && o.fmt != SFR_FMT_HTML)
        return sfr_cli_usage_error("report", "--diff: --format must be text, json or html");
    if (o.run == NULL)
        o.run = "latest";
    return run_mode(&o);
}
