/* report.c — `sfrecon report`: print a stored audit run (sfrecon.audit_run)
 * as text, json, csv or html. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfrecon/cli.h"
#include "sfrecon/history.h"
#include "sfrecon/log.h"
#include "sfrecon/pg.h"
#include "sfrecon/report.h"

void sfr_usage_report(void)
{
    printf("Usage: sfrecon report --run ID|latest [--format text|json|csv|html] [--out FILE]\n\n"
           "Prints an audit run stored in sfrecon.audit_run (DATABASE_URL).\n"
           "Exit: 0 the run was clean, 1 it had discrepancies, 2 usage, 3 runtime.\n");
}

int sfr_cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {{"run", required_argument, NULL, 'r'},
                                         {"format", required_argument, NULL, 'f'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *run_arg = NULL, *out_path = NULL;
    enum sfr_format fmt = SFR_FMT_TEXT;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "r:f:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            run_arg = optarg;
            break;
        case 'f':
            if (!sfr_format_parse(optarg, &fmt))
                return sfr_cli_usage_error("report", "--format: expected text, json, csv or html");
            break;
        case 'o':
            out_path = optarg;
            break;
        case 'h':
            sfr_usage_report();
            return 0;
        default:
            return sfr_cli_usage_error("report", "bad option");
        }
    }
    if (optind < argc)
        return sfr_cli_usage_error("report", "unexpected argument '%s'", argv[optind]);
    if (run_arg == NULL)
        return sfr_cli_usage_error("report", "--run ID|latest is required");
    long id = 0;
    if (strcmp(run_arg, "latest") != 0) {
        char *end;
        id = strtol(run_arg, &end, 10);
        if (*end != '\0' || id <= 0)
            return sfr_cli_usage_error("report", "--run: expected a run id or 'latest', got '%s'",
                                       run_arg);
    }
    struct sfr_err err = {0};
    PGconn *conn = NULL;
    struct sfr_run run;
    memset(&run, 0, sizeof(run));
    int code = 3;
    enum sfr_rc rc = sfr_pg_connect(getenv("DATABASE_URL"), &conn, &err);
    if (rc == SFR_OK && sfr_pg_schema_version(conn) <= 0)
        rc = sfr_err_set(&err, SFR_ENOTFOUND,
                         "no sfrecon schema in this database: run "
                         "'sfrecon audit' first");
    if (rc == SFR_OK)
        rc = sfr_history_load(conn, id, &run, &err);
    if (rc != SFR_OK) {
        sfr_log_err(&err);
        code = rc == SFR_ENOTFOUND ? 2 : sfr_rc_exit_code(rc);
        goto out;
    }
    FILE *out = stdout;
    if (out_path != NULL && (out = fopen(out_path, "w")) == NULL) {
        sfr_log_error("%s: cannot write the report: %m", out_path);
        goto out;
    }
    sfr_report_write(out, &run, fmt);
    if (out != stdout)
        fclose(out);
    code = run.discs.n > 0 ? 1 : 0;
out:
    sfr_run_cleanup(&run);
    if (conn != NULL)
        PQfinish(conn);
    return code;
}
