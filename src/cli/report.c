/* report.c — `sfrecon report`: print a stored audit run (sfrecon.audit_run)
 * as text, json, csv or html. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfrecon/cli.h"
#include "sfrecon/history.h"
#include "sfrecon/log.h"
#include "sfrecon/pg.h"
#include "sfrecon/report.h"

enum { OPT_RUN = SFR_OPT_OWN };

static const struct sfr_cli_opt report_opts[] = {
    {"run", 'r', "ID|latest", OPT_RUN, "the stored audit run to print (required)"},
    {NULL, 'f', NULL, SFR_OPT_FORMAT, NULL},
    {NULL, 'o', NULL, SFR_OPT_OUT, NULL},
    {0},
};

struct report_cli {
    const char *run_arg;
    long id; /* 0 = latest */
};

static int report_opt(void *state, int key, const char *arg)
{
    struct report_cli *a = state;
    if (key != OPT_RUN)
        return 0;
    a->run_arg = arg;
    a->id = 0;
    if (strcmp(arg, "latest") != 0) {
        char *end;
        a->id = strtol(arg, &end, 10);
        if (*arg == '\0' || *end != '\0' || a->id <= 0)
            return sfr_cli_usage_error("report", "--run: expected a run id or 'latest', got '%s'",
                                       arg);
    }
    return 0;
}

const struct sfr_cli_spec sfr_spec_report = {
    .name = "report",
    .summary = "print a stored audit run as text, json, csv or html",
    .about = "Prints an audit run stored in sfrecon.audit_run (DATABASE_URL).",
    .common = SFR_CLI_FORMAT | SFR_CLI_OUT,
    .formats = SFR_CLI_FMT(SFR_FMT_TEXT) | SFR_CLI_FMT(SFR_FMT_JSON) | SFR_CLI_FMT(SFR_FMT_CSV) |
               SFR_CLI_FMT(SFR_FMT_HTML),
    .opts = report_opts,
    .notes = "Environment: DATABASE_URL (the mirror holding schema sfrecon).",
    .exits = "exit 0 when the run was clean, 1 when it had discrepancies.",
    .on_opt = report_opt,
};

static enum sfr_rc load_run(long id, struct sfr_run *run, struct sfr_err *err)
{
    PGconn *conn = NULL;
    enum sfr_rc rc = sfr_pg_connect(getenv("DATABASE_URL"), &conn, err);
    if (rc == SFR_OK && sfr_pg_schema_version(conn) <= 0)
        rc = sfr_err_set(err, SFR_ENOTFOUND,
                         "no sfrecon schema in this database: run "
                         "'sfrecon audit' first");
    if (rc == SFR_OK)
        rc = sfr_history_load(conn, id, run, err);
    if (conn != NULL)
        PQfinish(conn);
    return rc;
}

int sfr_cmd_report(int argc, char **argv)
{
    struct report_cli a = {NULL, 0};
    struct sfr_cli_common c;
    int code = sfr_cli_parse(&sfr_spec_report, argc, argv, &c, &a);
    if (code >= 0)
        return code;
    if (a.run_arg == NULL)
        return sfr_cli_usage_error("report", "--run ID|latest is required");
    struct sfr_err err = {0};
    struct sfr_run run;
    memset(&run, 0, sizeof(run));
    enum sfr_rc rc = load_run(a.id, &run, &err);
    FILE *out = NULL;
    if (rc != SFR_OK) {
        code = sfr_cli_fail(rc, &err);
        if (rc == SFR_ENOTFOUND)
            code = SFR_EXIT_USAGE;
    } else if ((out = sfr_cli_open_out(&c)) == NULL) {
        code = SFR_EXIT_RUNTIME;
    } else {
        sfr_report_write(out, &run, c.format);
        code = !sfr_cli_close_out(&c, out) ? SFR_EXIT_RUNTIME
               : run.discs.n > 0           ? SFR_EXIT_FOUND
                                           : SFR_EXIT_OK;
    }
    sfr_run_cleanup(&run);
    return code;
}
