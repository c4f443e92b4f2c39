/* audit.c — `sfrecon audit`: compare every mapped object and report each
 * discrepancy with its cause. Exit 0 clean, 1 discrepancies, 2 usage or
 * configuration, 3 runtime failure. stdout carries only the report. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/resource.h>
#include <unistd.h>

#include "sfrecon/cli.h"
#include "sfrecon/log.h"
#include "sfrecon/report.h"
#include "sfrecon/run.h"

void sfr_usage_audit(void)
{
    printf("Usage: sfrecon audit [-c CONFIG] [-o OBJ[,OBJ]] [--depth count|content]\n"
           "                     [--since TS|last] [--jobs N] [--format text|json|csv|html]\n"
           "                     [--out FILE] [--no-store] [--schema NAME]\n"
           "                     [--describe DIR|FILE] [--source postgresql://...]\n"
           "                     [--max-api-calls N] [-q|-v]\n\n"
           "Compares every mapped object between Salesforce and its Postgres mirror and\n"
           "reports each mismatched record with its cause.\n\n"
           "  -c, --config FILE     mapping (Heroku Connect export); default sfrecon.json\n"
           "  -o, --objects LIST    only these objects\n"
           "      --depth D         count: server-side counts only; content (default): row hashes\n"
           "      --since last      incremental: re-check only chunks that moved since the\n"
           "                        last stored run\n"
           "      --since TS        only records modified at or after TS (2024-01-31 or\n"
           "                        2024-01-31T10:00:00Z) on either side\n"
           "      --jobs N          chunks compared in parallel (default from config, 2)\n"
           "      --format F        text (default), json, csv, html\n"
           "      --out FILE        write the report to FILE instead of stdout\n"
           "      --no-store        do not keep the run in sfrecon.audit_run\n"
           "      --source URL      compare against another Postgres of the same layout\n"
           "      --max-api-calls N stop cleanly after N Salesforce API calls\n\n"
           "Environment: DATABASE_URL, SF_INSTANCE_URL + SF_ACCESS_TOKEN or SF_LOGIN_URL +\n"
           "SF_CLIENT_ID + SF_CLIENT_SECRET [+ SF_USERNAME + SF_PASSWORD].\n"
           "Exit: 0 clean, 1 discrepancies, 2 usage/config error, 3 runtime failure.\n");
}

/* A date (midnight UTC) or a datetime. */
static bool parse_since(const char *s, int64_t *ms)
{
    char buf[40];
    if (strlen(s) == 10) {
        snprintf(buf, sizeof(buf), "%sT00:00:00Z", s);
        s = buf;
    }
    return sfr_parse_datetime_ms(s, strlen(s), ms);
}

enum {
    OPT_DEPTH = 256,
    OPT_SINCE,
    OPT_JOBS,
    OPT_FORMAT,
    OPT_OUT,
    OPT_NOSTORE,
    OPT_SCHEMA,
    OPT_DESCRIBE,
    OPT_SOURCE,
    OPT_MAXCALLS
};

int sfr_cmd_audit(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"objects", required_argument, NULL, 'o'},
                                         {"depth", required_argument, NULL, OPT_DEPTH},
                                         {"since", required_argument, NULL, OPT_SINCE},
                                         {"jobs", required_argument, NULL, OPT_JOBS},
                                         {"format", required_argument, NULL, OPT_FORMAT},
                                         {"out", required_argument, NULL, OPT_OUT},
                                         {"no-store", no_argument, NULL, OPT_NOSTORE},
                                         {"schema", required_argument, NULL, OPT_SCHEMA},
                                         {"describe", required_argument, NULL, OPT_DESCRIBE},
                                         {"source", required_argument, NULL, OPT_SOURCE},
                                         {"max-api-calls", required_argument, NULL, OPT_MAXCALLS},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"verbose", no_argument, NULL, 'v'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct sfr_run_opts ro = {"sfrecon.json", NULL, NULL, NULL, 0};
    struct sfr_audit_opts ao = {SFR_DEPTH_CONTENT, false, INT64_MIN, 0, NULL, true, false};
    struct sfr_strv objects = {0};
    enum sfr_format fmt = SFR_FMT_TEXT;
    const char *out_path = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:o:qvh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            ro.config_path = optarg;
            break;
        case 'o':
            sfr_strv_split(&objects, optarg, ',');
            break;
        case OPT_DEPTH:
            if (strcmp(optarg, "count") == 0)
                ao.depth = SFR_DEPTH_COUNT;
            else if (strcmp(optarg, "content") == 0)
                ao.depth = SFR_DEPTH_CONTENT;
            else
                return sfr_cli_usage_error("audit", "--depth: expected count or content, got '%s'",
                                           optarg);
            break;
        case OPT_SINCE:
            if (strcmp(optarg, "last") == 0) {
                ao.since_last = true;
            } else if (!parse_since(optarg, &ao.since_ms)) {
                sfr_strv_cleanup(&objects);
                return sfr_cli_usage_error("audit",
                                           "--since: expected 'last', a date "
                                           "(2024-01-31) or a UTC datetime, got '%s'",
                                           optarg);
            }
            break;
        case OPT_JOBS:
            ao.jobs = atoi(optarg);
            if (ao.jobs < 1 || ao.jobs > 64)
                return sfr_cli_usage_error("audit", "--jobs: expected 1..64, got '%s'", optarg);
            break;
        case OPT_FORMAT:
            if (!sfr_format_parse(optarg, &fmt))
                return sfr_cli_usage_error("audit", "--format: expected %s, got '%s'",
                                           sfr_format_names(), optarg);
            break;
        case OPT_OUT:
            out_path = optarg;
            break;
        case OPT_NOSTORE:
            ao.store = false;
            break;
        case OPT_SCHEMA:
            ro.schema = optarg;
            break;
        case OPT_DESCRIBE:
            ro.describe = optarg;
            break;
        case OPT_SOURCE:
            ro.source_url = optarg;
            break;
        case OPT_MAXCALLS:
            ro.max_api_calls = atol(optarg);
            if (ro.max_api_calls < 1)
                return sfr_cli_usage_error("audit", "--max-api-calls: expected a positive number");
            break;
        case 'q':
            sfr_log_set_level(SFR_LOG_WARN);
            break;
        case 'v':
            sfr_log_set_level(SFR_LOG_DEBUG);
            break;
        case 'h':
            sfr_usage_audit();
            return 0;
        default:
            sfr_strv_cleanup(&objects);
            return sfr_cli_usage_error("audit", "bad option");
        }
    }
    if (optind < argc) {
        sfr_strv_cleanup(&objects);
        return sfr_cli_usage_error("audit", "unexpected argument '%s'", argv[optind]);
    }
    ao.objects = &objects;
    ao.progress = isatty(2);
    struct sfr_err err = {0};
    struct sfr_run_ctx *ctx = NULL;
    struct sfr_run run;
    memset(&run, 0, sizeof(run));
    int code = 3;
    enum sfr_rc rc = sfr_run_ctx_open(&ro, &ctx, &err);
    if (rc == SFR_OK)
        rc = sfr_audit_run(ctx, &ao, &run, &err);
    if (rc != SFR_OK) {
        sfr_log_err(&err);
        code = sfr_rc_exit_code(rc);
        goto out;
    }
    FILE *out = stdout;
    if (out_path != NULL && (out = fopen(out_path, "w")) == NULL) {
        sfr_log_error("%s: cannot write the report: %m", out_path);
        goto out;
    }
    sfr_cli_audit_report(out, ctx, &run, fmt);
    if (out != stdout)
        fclose(out);
    fprintf(stderr, "sfrecon: api calls: %ld (", run.api_calls);
    for (int i = 0; i < run.n_objects; i++)
        fprintf(stderr, "%s%s %ld", i ? ", " : "", run.objects[i].object, run.objects[i].api_calls);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    fprintf(stderr, "), peak RSS %ld MB", ru.ru_maxrss / 1024);
    if (run.id)
        fprintf(stderr, ", stored as run %ld\n", run.id);
    else
        fprintf(stderr, "\n");
    if (!run.complete)
        sfr_log_warn("the audit stopped early (API limit); %zu range(s) not covered",
                     run.not_covered.n);
    code = run.discs.n > 0 ? 1 : run.complete ? 0 : 3;
out:
    sfr_run_cleanup(&run);
    sfr_run_ctx_free(ctx);
    sfr_strv_cleanup(&objects);
    return code;
}
