/* cli.h — subcommands. Each lives in src/cli/<name>.c with its own
 * getopt_long table and usage(); returns the process exit code
 * (0 ok, 1 discrepancies/failed repairs, 2 usage/config, 3 runtime). */
#ifndef SFRECON_CLI_H
#define SFRECON_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include "sfrecon/report.h"

struct sfr_command {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
    void (*usage)(void);               /* full help on stdout */
    const char *summary;
};

int sfr_cmd_audit(int argc, char **argv);
void sfr_usage_audit(void);
int sfr_cmd_repair(int argc, char **argv);
void sfr_usage_repair(void);
int sfr_cmd_report(int argc, char **argv);
void sfr_usage_report(void);
int sfr_cmd_lint(int argc, char **argv);
void sfr_usage_lint(void);
int sfr_cmd_schema(int argc, char **argv);
void sfr_usage_schema(void);
int sfr_cmd_sync(int argc, char **argv);
void sfr_usage_sync(void);

/* audit's report (src/cli/report.c): stores the run's instance URL and daily
 * API usage with the run, then writes it as fmt with what the history adds
 * (html: the trend of earlier runs; prometheus: the last success). False
 * when out could not be written. */
struct sfr_run_ctx;
bool sfr_cli_audit_report(FILE *out, struct sfr_run_ctx *ctx, struct sfr_run *run,
                          enum sfr_format fmt);

/* Prints "sfrecon CMD: MSG\nTry 'sfrecon help CMD'." on stderr; returns 2. */
int sfr_cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
