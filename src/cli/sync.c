/* sync.c — `sfrecon sync`: the daemon that keeps Salesforce and the mirror
 * in sync both ways (src/sync). SIGTERM/SIGINT finish the current step and
 * exit 0; --once runs one cycle (exit 1 when some writes failed). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfrecon/cli.h"
#include "sfrecon/log.h"
#include "sfrecon/run.h"
#include "sfrecon/sync.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

void sfr_usage_sync(void)
{
    printf("Usage: sfrecon sync [-c CONFIG] [--schema NAME] [--once] [--interval SECONDS]\n"
           "                    [--no-stream] [--describe DIR|FILE] [-q|-v]\n\n"
           "Keeps Salesforce and the mirror in sync both ways. Salesforce's changes\n"
           "arrive as Change Data Capture events (CometD) and are written to the mirror\n"
           "as they come; an object without a stream (or after a gap) is pulled by\n"
           "SystemModstamp every --interval seconds. The app writes that Heroku\n"
           "Connect's triggers logged in <schema>._trigger_log (state NEW) are written\n"
           "to Salesforce (read_write mappings) as soon as Postgres notifies them.\n\n"
           "  -c, --config FILE     mapping (Heroku Connect export); default sfrecon.json\n"
           "      --schema NAME     mirror schema (overrides the mapping)\n"
           "      --once            one cycle, then exit\n"
           "      --interval N      seconds between pulls (default 10)\n"
           "      --no-stream       no change events: pull every object every interval\n"
           "      --describe PATH   describe files instead of asking Salesforce\n\n"
           "Environment: DATABASE_URL, SF_INSTANCE_URL + SF_ACCESS_TOKEN or SF_LOGIN_URL +\n"
           "SF_CLIENT_ID + SF_CLIENT_SECRET [+ SF_USERNAME + SF_PASSWORD].\n"
           "SIGTERM or SIGINT: finish the current step and exit 0.\n"
           "Exit (--once): 0 all written, 1 some writes failed, 2 usage/config error,\n"
           "3 runtime failure.\n");
}

enum { OPT_ONCE = 256, OPT_INTERVAL, OPT_SCHEMA, OPT_DESCRIBE, OPT_NO_STREAM };

int sfr_cmd_sync(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"once", no_argument, NULL, OPT_ONCE},
                                         {"no-stream", no_argument, NULL, OPT_NO_STREAM},
                                         {"interval", required_argument, NULL, OPT_INTERVAL},
                                         {"schema", required_argument, NULL, OPT_SCHEMA},
                                         {"describe", required_argument, NULL, OPT_DESCRIBE},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"verbose", no_argument, NULL, 'v'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct sfr_run_opts ro = {"sfrecon.json", NULL, NULL, NULL, 0};
    struct sfr_sync_opts so = {.interval = 10, .stop = &stop_flag};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:qvh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            ro.config_path = optarg;
            break;
        case OPT_ONCE:
            so.once = true;
            break;
        case OPT_NO_STREAM:
            so.no_stream = true;
            break;
        case OPT_INTERVAL: {
            char *end = NULL;
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end != '\0' || v < 1 || v > 86400)
                return sfr_cli_usage_error(
                    "sync", "--interval: expected 1..86400 seconds, got '%s'", optarg);
            so.interval = (int)v;
            break;
        }
        case OPT_SCHEMA:
            ro.schema = optarg;
            break;
        case OPT_DESCRIBE:
            ro.describe = optarg;
            break;
        case 'q':
            sfr_log_set_level(SFR_LOG_WARN);
            break;
        case 'v':
            sfr_log_set_level(SFR_LOG_DEBUG);
            break;
        case 'h':
            sfr_usage_sync();
            return 0;
        default:
            return sfr_cli_usage_error("sync", "bad option");
        }
    }
    if (optind < argc)
        return sfr_cli_usage_error("sync", "unexpected argument '%s'", argv[optind]);

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct sfr_err err = {0};
    struct sfr_run_ctx *ctx = NULL;
    struct sfr_sync *s = NULL;
    struct sfr_sync_stats total = {0};
    int code;
    enum sfr_rc rc = sfr_run_ctx_open(&ro, &ctx, &err);
    if (rc == SFR_OK)
        rc = sfr_sync_new(ctx, &s, &err);
    if (rc == SFR_OK) {
        if (!so.once)
            sfr_log_info("sync: %d object(s) of %s, schema %s, pulling every %d s; "
                         "SIGTERM stops",
                         ctx->n, ctx->cfg->path, ctx->cfg->schema, so.interval);
        rc = sfr_sync_run(s, &so, &total, &err);
    }
    if (rc != SFR_OK) {
        sfr_log_err(&err);
        code = sfr_rc_exit_code(rc);
    } else if (so.once) {
        code = total.failed > 0 ? 1 : 0;
    } else {
        if (stop_flag)
            sfr_log_info("sync: stopped (pulled %ld, deleted %ld, pushed %ld, failed %ld, "
                         "api calls %ld)",
                         total.pulled, total.deleted, total.pushed, total.failed, total.api_calls);
        code = 0;
    }
    sfr_sync_free(s);
    sfr_run_ctx_free(ctx);
    return code;
}
