/* sync.c — `sfrecon sync`: the daemon that keeps Salesforce and the mirror
 * in sync both ways (src/sync). SIGTERM/SIGINT finish the current step and
 * exit 0; --once runs one cycle (exit 1 when some writes failed). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfrecon/cli.h"
#include "sfrecon/log.h"
#include "sfrecon/run.h"
#include "sfrecon/sync.h"

enum {
    OPT_ONCE = SFR_OPT_OWN,
    OPT_INTERVAL,
    OPT_NO_STREAM,
    OPT_AUDIT_EVERY,
    OPT_REPAIR,
    OPT_METRICS
};

static const struct sfr_cli_opt sync_opts[] = {
    {"once", 0, NULL, OPT_ONCE, "one polling cycle, then exit"},
    {"interval", 0, "N", OPT_INTERVAL,
     "seconds between pulls of the objects without change events, 1..86400 (default 10)"},
    {"no-stream", 0, NULL, OPT_NO_STREAM, "no change events: pull every object every interval"},
    {"audit-every", 0, "DURATION", OPT_AUDIT_EVERY,
     "incremental audit between cycles, stored like any run: 20s, 10m, 24h, 2d or off "
     "(default 24h)"},
    {"repair", 0, "off|auto", OPT_REPAIR,
     "auto: repair what each audit found and the repair_policy settles, journaled like "
     "`sfrecon repair` (default off)"},
    {"metrics", 0, "HOST:PORT", OPT_METRICS,
     "serve Prometheus text at /metrics and /healthz there (port 0: any free)"},
    {NULL, 0, NULL, SFR_OPT_DESCRIBE, "describe files instead of asking Salesforce"},
    {0},
};

struct sync_cli {
    struct sfr_sync_opts so;
};

/* "20s", "10m", "24h", "2d", "90" (seconds); "off" = 0. -1 when malformed. */
static int64_t parse_duration(const char *arg)
{
    if (strcmp(arg, "off") == 0)
        return 0;
    char *end = NULL;
    long long v = strtoll(arg, &end, 10);
    if (end == arg || v < 1)
        return -1;
    int64_t unit = 1000;
    if (strcmp(end, "s") == 0 || *end == '\0')
        unit = 1000;
    else if (strcmp(end, "m") == 0)
        unit = 60000;
    else if (strcmp(end, "h") == 0)
        unit = 3600000;
    else if (strcmp(end, "d") == 0)
        unit = 86400000;
    else
        return -1;
    if (v > 366LL * 86400000 / unit)
        return -1;
    return (int64_t)v * unit;
}

static int sync_opt(void *state, int key, const char *arg)
{
    struct sync_cli *a = state;
    switch (key) {
    case OPT_ONCE:
        a->so.once = true;
        return 0;
    case OPT_NO_STREAM:
        a->so.no_stream = true;
        return 0;
    case OPT_AUDIT_EVERY: {
        int64_t ms = parse_duration(arg);
        if (ms < 0)
            return sfr_cli_usage_error("sync",
                                       "--audit-every: expected a duration like 20s, 10m, 24h, "
                                       "2d or off, got '%s'",
                                       arg);
        a->so.audit_every_ms = ms;
        return 0;
    }
    case OPT_REPAIR:
        if (strcmp(arg, "off") != 0 && strcmp(arg, "auto") != 0)
            return sfr_cli_usage_error("sync", "--repair: expected off or auto, got '%s'", arg);
        a->so.repair_auto = strcmp(arg, "auto") == 0;
        return 0;
    case OPT_METRICS:
        if (strchr(arg, ':') == NULL)
            return sfr_cli_usage_error("sync", "--metrics: expected HOST:PORT, got '%s'", arg);
        a->so.metrics = arg;
        return 0;
    case OPT_INTERVAL: {
        char *end = NULL;
        long v = strtol(arg, &end, 10);
        if (end == arg || *end != '\0' || v < 1 || v > 86400)
            return sfr_cli_usage_error("sync", "--interval: expected 1..86400 seconds, got '%s'",
                                       arg);
        a->so.interval = (int)v;
        return 0;
    }
    default:
        return 0;
    }
}

const struct sfr_cli_spec sfr_spec_sync = {
    .name = "sync",
    .summary = "keep Salesforce and the mirror in sync (daemon)",
    .about = "Keeps Salesforce and the mirror in sync both ways. Salesforce's changes\n"
             "arrive as Change Data Capture events (CometD) and are written to the mirror\n"
             "as they come; an object without a stream, or after a gap in it, is pulled\n"
             "by SystemModstamp (plus /deleted). The app writes that Heroku Connect's\n"
             "triggers logged in <schema>._trigger_log (state NEW) are written to\n"
             "Salesforce (read_write mappings) as soon as Postgres notifies them.",
    .common = SFR_CLI_MAPPED | SFR_CLI_DESCRIBE,
    .opts = sync_opts,
    .notes = "Environment: DATABASE_URL, SF_INSTANCE_URL + SF_ACCESS_TOKEN or SF_LOGIN_URL +\n"
             "SF_CLIENT_ID + SF_CLIENT_SECRET [+ SF_USERNAME + SF_PASSWORD].\n"
             "SIGTERM or SIGINT: finish the current step and exit 0.",
    .exits = "exit 0 after a stop by signal or a --once cycle with every write\n"
             "done, 1 when some write of a --once cycle failed.",
    .on_opt = sync_opt,
};

static enum sfr_rc run_daemon(const struct sfr_run_opts *ro, struct sfr_sync_opts *so,
                              struct sfr_sync_stats *total, struct sfr_err *err)
{
    struct sfr_run_ctx *ctx = NULL;
    struct sfr_sync *s = NULL;
    enum sfr_rc rc = sfr_run_ctx_open(ro, &ctx, err);
    if (rc == SFR_OK)
        rc = sfr_sync_new(ctx, &s, err);
    if (rc == SFR_OK) {
        if (!so->once)
            sfr_log_info("sync: %d object(s) of %s, schema %s, %s; SIGTERM stops", ctx->n,
                         ctx->cfg->path, ctx->cfg->schema,
                         so->no_stream ? "polling" : "change events, polling without them");
        rc = sfr_sync_run(s, so, total, err);
    }
    sfr_sync_free(s);
    sfr_run_ctx_free(ctx);
    return rc;
}

int sfr_cmd_sync(int argc, char **argv)
{
    struct sync_cli a;
    memset(&a, 0, sizeof(a));
    a.so.interval = 10;
    a.so.audit_every_ms = 24LL * 3600 * 1000;
    a.so.stop = &sfr_cli_stop;
    struct sfr_cli_common c;
    int code = sfr_cli_parse(&sfr_spec_sync, argc, argv, &c, &a);
    if (code < 0)
        code = sfr_cli_need_mapping(&sfr_spec_sync, &c);
    if (code >= 0)
        return code;
    struct sfr_run_opts ro = {c.config, c.schema, c.describe, NULL, 0};
    sfr_cli_catch_stop(); /* SIGTERM/SIGINT: stop after the current step */
    struct sfr_err err = {0};
    struct sfr_sync_stats total = {0};
    enum sfr_rc rc = run_daemon(&ro, &a.so, &total, &err);
    if (rc != SFR_OK)
        return sfr_cli_fail(rc, &err);
    if (a.so.once)
        return total.failed > 0 ? SFR_EXIT_FOUND : SFR_EXIT_OK;
    if (sfr_cli_stop)
        sfr_log_info("sync: stopped (pulled %ld, deleted %ld, pushed %ld, failed %ld, "
                     "api calls %ld)",
                     total.pulled, total.deleted, total.pushed, total.failed, total.api_calls);
    return SFR_EXIT_OK;
}
