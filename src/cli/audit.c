/* audit.c — `sfrecon audit`: parses the options, runs the audit engine
 * (src/audit) and prints the report on stdout (or --out) and a one-line
 * summary on stderr. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "sfrecon/audit.h"
#include "sfrecon/cli.h"
#include "sfrecon/log.h"
#include "sfrecon/report.h"

enum {
    OPT_OBJECTS = SFR_OPT_OWN,
    OPT_DEPTH,
    OPT_SINCE,
    OPT_JOBS,
    OPT_NOSTORE,
    OPT_SOURCE,
    OPT_MAXCALLS,
    OPT_WORKERS,
    OPT_JOIN
};

static const struct sfr_cli_opt audit_opts[] = {
    {"objects", 'o', "LIST", OPT_OBJECTS, "only these objects (comma-separated)"},
    {"depth", 0, "D", OPT_DEPTH, "count: server-side counts only; content (default): row hashes"},
    {"since", 0, "TS|last", OPT_SINCE,
     "last: incremental, re-check only chunks that moved since the last "
     "stored run; TS: only records modified at or after TS (2024-01-31 or "
     "2024-01-31T10:00:00Z) on either side"},
    {"jobs", 0, "N", OPT_JOBS,
     "chunks compared in parallel, 1..64 (default: the mapping's sfrecon.jobs, "
     "else the cores available)"},
    {"no-store", 0, NULL, OPT_NOSTORE, "do not keep the run in sfrecon.audit_run"},
    {"source", 0, "URL", OPT_SOURCE,
     "compare against another Postgres of the same layout instead of "
     "Salesforce (field types from its columns unless --describe)"},
    {"max-api-calls", 0, "N", OPT_MAXCALLS, "stop cleanly after N Salesforce API calls"},
    {"workers", 0, NULL, OPT_WORKERS,
     "share the audit with other processes: queue its ranges in sfrecon.work_task, "
     "compare them with every `--join`ed process, report when the queue is drained"},
    {"join", 0, NULL, OPT_JOIN,
     "help the audits started with --workers (waits up to 60 s for one); prints "
     "no report"},
    {0},
};

struct audit_cli {
    struct sfr_run_opts ro;
    struct sfr_audit_opts ao;
    struct sfr_strv objects;
    bool join;
};

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

static int audit_opt(void *state, int key, const char *arg)
{
    struct audit_cli *a = state;
    char *end = NULL;
    switch (key) {
    case OPT_OBJECTS:
        sfr_strv_split(&a->objects, arg, ',');
        return 0;
    case OPT_DEPTH:
        if (strcmp(arg, "count") == 0)
            a->ao.depth = SFR_DEPTH_COUNT;
        else if (strcmp(arg, "content") == 0)
            a->ao.depth = SFR_DEPTH_CONTENT;
        else
            return sfr_cli_usage_error("audit", "--depth: expected count or content, got '%s'",
                                       arg);
        return 0;
    case OPT_SINCE:
        if (strcmp(arg, "last") == 0)
            a->ao.since_last = true;
        else if (!parse_since(arg, &a->ao.since_ms))
            return sfr_cli_usage_error("audit",
                                       "--since: expected 'last', a date "
                                       "(2024-01-31) or a UTC datetime, got '%s'",
                                       arg);
        return 0;
    case OPT_JOBS: {
        long v = strtol(arg, &end, 10);
        if (end == arg || *end != '\0' || v < 1 || v > 64)
            return sfr_cli_usage_error("audit", "--jobs: expected 1..64, got '%s'", arg);
        a->ao.jobs = (int)v;
        return 0;
    }
    case OPT_NOSTORE:
        a->ao.store = false;
        return 0;
    case OPT_SOURCE:
        a->ro.source_url = arg;
        return 0;
    case OPT_WORKERS:
        a->ao.workers = true;
        return 0;
    case OPT_JOIN:
        a->join = true;
        return 0;
    case OPT_MAXCALLS:
        a->ro.max_api_calls = strtol(arg, &end, 10);
        if (end == arg || *end != '\0' || a->ro.max_api_calls < 1)
            return sfr_cli_usage_error("audit",
                                       "--max-api-calls: expected a positive number, "
                                       "got '%s'",
                                       arg);
        return 0;
    default:
        return 0;
    }
}

const struct sfr_cli_spec sfr_spec_audit = {
    .name = "audit",
    .summary = "compare Salesforce with the mirror and report mismatches",
    .about = "Compares every mapped object between Salesforce and its Postgres mirror and\n"
             "reports each mismatched record with its cause.",
    .common = SFR_CLI_MAPPED | SFR_CLI_DESCRIBE | SFR_CLI_FORMAT | SFR_CLI_OUT,
    .formats = SFR_CLI_FMT_RUN,
    .opts = audit_opts,
    .notes = "Environment: DATABASE_URL, SF_INSTANCE_URL + SF_ACCESS_TOKEN or SF_LOGIN_URL +\n"
             "SF_CLIENT_ID + SF_CLIENT_SECRET [+ SF_USERNAME + SF_PASSWORD].\n"
             "SIGINT or SIGTERM: stop at the next range; the run is stored as interrupted\n"
             "with what was found so far (exit 3). A budget cut stores it as partial\n"
             "(exit 3). A second audit of the same mapping waits 2 s, then exits 3.",
    .exits = "exit 0 when clean, 1 when discrepancies were found.",
    .on_opt = audit_opt,
};

/* api calls per object, peak memory and the stored run id, on stderr. */
static void print_summary(const struct sfr_run *run)
{
    struct sfr_buf b = SFR_BUF_INIT;
    sfr_buf_printf(&b, "sfrecon: api calls: %ld (", run->api_calls);
    for (int i = 0; i < run->n_objects; i++)
        sfr_buf_printf(&b, "%s%s %ld", i ? ", " : "", run->objects[i].object,
                       run->objects[i].api_calls);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    sfr_buf_printf(&b, "), peak RSS %ld MB", ru.ru_maxrss / 1024);
    if (run->id)
        sfr_buf_printf(&b, ", stored as run %ld", run->id);
    sfr_buf_puts(&b, "\n");
    fputs(b.data, stderr);
    sfr_buf_cleanup(&b);
    if (!run->complete)
        sfr_log_warn("the audit stopped early (API limit) after %ld API calls; %zu range(s) not "
                     "covered; run status partial",
                     run->api_calls, run->not_covered.n);
}

/* A run that did not cover everything (budget) is 3 whatever it found. */
static int exit_code(const struct sfr_run *run)
{
    return !run->complete                         ? SFR_EXIT_RUNTIME
           : sfr_disc_list_count(&run->discs) > 0 ? SFR_EXIT_FOUND
                                                  : SFR_EXIT_OK;
}

/* The one line of a stop by signal. */
static void print_interrupted(const struct sfr_run *run)
{
    fflush(stdout);
    char stored[64] = "nothing stored";
    if (run->id > 0)
        snprintf(stored, sizeof(stored), "stored as audit run %ld, status interrupted", run->id);
    fprintf(stderr,
            "sfrecon: audit interrupted by %s: %s; %zu discrepanc%s found so far, %zu range(s) "
            "not covered\n",
            sfr_cli_stop_name(), stored, sfr_disc_list_count(&run->discs),
            sfr_disc_list_count(&run->discs) == 1 ? "y" : "ies", run->not_covered.n);
}

int sfr_cmd_audit(int argc, char **argv)
{
    struct audit_cli a;
    memset(&a, 0, sizeof(a));
    sfr_audit_opts_defaults(&a.ao);
    struct sfr_cli_common c;
    int code = sfr_cli_parse(&sfr_spec_audit, argc, argv, &c, &a);
    if (code >= 0) {
        sfr_strv_cleanup(&a.objects);
        return code;
    }
    if ((code = sfr_cli_need_mapping(&sfr_spec_audit, &c)) >= 0) {
        sfr_strv_cleanup(&a.objects);
        return code;
    }
    a.ro.config_path = c.config;
    a.ro.schema = c.schema;
    a.ro.describe = c.describe;
    a.ao.objects = &a.objects;
    a.ao.progress = isatty(2);
    a.ao.stop = &sfr_cli_stop;
    sfr_cli_catch_stop();
    if (a.ao.progress)
        fputs("sfrecon: connecting, reading the mapping and the describes...", stderr);

    struct sfr_err err = {0};
    struct sfr_run_ctx *ctx = NULL;
    struct sfr_run run;
    memset(&run, 0, sizeof(run));
    enum sfr_rc rc = sfr_run_ctx_open(&a.ro, &ctx, &err);
    if (a.ao.progress)
        fputs("\r\033[K", stderr);
    if (rc == SFR_OK && sfr_cli_stop)
        rc = sfr_err_set(&err, SFR_EINTR, "interrupted");
    if (rc == SFR_OK && a.join) {
        long done = 0;
        rc = sfr_audit_join(ctx, &a.ao, 60, &done, &err);
        code = rc == SFR_OK ? SFR_EXIT_OK : sfr_cli_fail(rc, &err);
        if (rc == SFR_OK)
            fprintf(stderr, "sfrecon: joined: %ld range(s) compared here\n", done);
        sfr_run_ctx_free(ctx);
        sfr_strv_cleanup(&a.objects);
        return code;
    }
    if (rc == SFR_OK)
        rc = sfr_audit_run(ctx, &a.ao, &run, &err);
    FILE *out = NULL;
    if (rc == SFR_EINTR) {
        print_interrupted(&run);
        code = SFR_EXIT_RUNTIME;
    } else if (rc != SFR_OK) {
        code = sfr_cli_fail(rc, &err);
    } else if ((out = sfr_cli_open_out(&c)) == NULL) {
        code = SFR_EXIT_RUNTIME;
    } else {
        bool written = sfr_cli_audit_report(out, ctx, &run, c.format);
        code = sfr_cli_close_out(&c, out) && written ? exit_code(&run) : SFR_EXIT_RUNTIME;
        print_summary(&run);
    }
    sfr_run_cleanup(&run);
    sfr_run_ctx_free(ctx);
    sfr_strv_cleanup(&a.objects);
    return code;
}
