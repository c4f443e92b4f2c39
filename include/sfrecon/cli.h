/* cli.h — the command line. Every subcommand declares its options in one
 * table (struct sfr_cli_spec, the way curl's tool declares its options);
 * src/cli/options.c parses argv against that table and generates `help CMD`
 * from it. The options most commands share (-c, --schema, --describe,
 * --format, --out, -q/-v) are declared once there and switched on per
 * command. A command only parses, calls the engine and prints; it returns the
 * process exit code of the table below (SFR_EXIT_*). */
#ifndef SFRECON_CLI_H
#define SFRECON_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "sfrecon/log.h"
#include "sfrecon/report.h"

/* The exit codes of every command. */
enum sfr_exit {
    SFR_EXIT_OK = 0,      /* success, in sync */
    SFR_EXIT_FOUND = 1,   /* discrepancies found, lint errors, failed repairs */
    SFR_EXIT_USAGE = 2,   /* usage or configuration error */
    SFR_EXIT_RUNTIME = 3, /* connection, auth, API limit, interrupted, unfinished run */
};

/* Keys of the common options; a command's own options use keys from
 * SFR_OPT_OWN up. */
enum sfr_cli_key {
    SFR_OPT_CONFIG = 1,
    SFR_OPT_SCHEMA,
    SFR_OPT_DESCRIBE,
    SFR_OPT_FORMAT,
    SFR_OPT_OUT,
    SFR_OPT_QUIET,
    SFR_OPT_VERBOSE,
    SFR_OPT_HELP,
    SFR_OPT_OWN = 256, /* above every short letter */
};

/* Which common options a command takes (bits of sfr_cli_spec.common);
 * -h/--help is always there. */
#define SFR_CLI_CONFIG    (1u << 0)
#define SFR_CLI_SCHEMA    (1u << 1)
#define SFR_CLI_DESCRIBE  (1u << 2)
#define SFR_CLI_FORMAT    (1u << 3)
#define SFR_CLI_OUT       (1u << 4)
#define SFR_CLI_VERBOSITY (1u << 5) /* -q/--quiet and -v/--verbose */
#define SFR_CLI_MAPPED    (SFR_CLI_CONFIG | SFR_CLI_SCHEMA | SFR_CLI_VERBOSITY)

/* Bits of sfr_cli_spec.formats: which --format values a command accepts. */
#define SFR_CLI_FMT(f) (1u << (f))
/* Every format a run's report is written in (sfr_report_write). */
#define SFR_CLI_FMT_RUN                                                                            \
    (SFR_CLI_FMT(SFR_FMT_TEXT) | SFR_CLI_FMT(SFR_FMT_JSON) | SFR_CLI_FMT(SFR_FMT_CSV) |            \
     SFR_CLI_FMT(SFR_FMT_HTML) | SFR_CLI_FMT(SFR_FMT_PROMETHEUS))

/* One option. A row with name NULL and a key of a common option does not
 * add an option: it gives that common option this command's short letter
 * and/or help text. */
struct sfr_cli_opt {
    const char *name; /* long name without "--" */
    char letter;      /* short option, 0 for none */
    const char *arg;  /* placeholder of the value ("FILE"); NULL for a flag */
    int key;
    const char *help; /* lines separated by '\n' */
};

/* The common options after parsing. */
struct sfr_cli_common {
    const char *config; /* -c; "sfrecon.json" unless given */
    bool config_given;
    const char *schema;   /* NULL: the mapping's */
    const char *describe; /* NULL: $SFRECON_DESCRIBE, else Salesforce */
    const char *out;      /* NULL: stdout */
    enum sfr_format format;
    bool format_given;
    enum sfr_log_level log_level;
};

struct sfr_cli_spec {
    const char *name;
    const char *summary;            /* one line for `sfrecon --help` */
    const char *also;               /* further usage lines (another form), or NULL */
    const char *about;              /* what the command does */
    unsigned common;                /* SFR_CLI_* */
    unsigned formats;               /* SFR_CLI_FMT(...) bits, when SFR_CLI_FORMAT */
    const struct sfr_cli_opt *opts; /* own options, ended by a row of key 0 */
    const char *notes;              /* printed after the options (environment, signals) */
    const char *exits;              /* what 0 and 1 mean for this command */
    /* one own option (arg NULL for a flag): 0, or an exit code after a
     * message (sfr_cli_usage_error) */
    int (*on_opt)(void *state, int key, const char *arg);
    /* one argument that is not an option (`report --diff A B`: B), same
     * returns; NULL: every such argument is a usage error */
    int (*on_arg)(void *state, const char *arg);
};

/* Parses argv (argv[0] is the command name) against spec: fills c, calls
 * spec->on_opt(state, ...) per own option, sets the log level. Returns -1
 * to go on, or the exit code to return (0 after --help, 2 on a usage
 * error, with the message on stderr). */
int sfr_cli_parse(const struct sfr_cli_spec *spec, int argc, char **argv, struct sfr_cli_common *c,
                  void *state);
/* The help of a command, generated from its table. */
void sfr_cli_help(const struct sfr_cli_spec *spec, FILE *out);
/* The exit-code table (for `sfrecon --help` and every `help CMD`). */
void sfr_cli_exit_table(FILE *out);

/* Prints "sfrecon CMD: MSG\nTry 'sfrecon help CMD'." on stderr; returns 2. */
int sfr_cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Logs err and returns the exit code for rc (2 config, 3 runtime). */
int sfr_cli_fail(enum sfr_rc rc, const struct sfr_err *err);
/* audit's report (src/cli/report.c): stores the run's instance URL and daily
 * API usage with the run, then writes it as fmt with what the history adds
 * (html: the trend of earlier runs; prometheus: the last success). False
 * when out could not be written. */
struct sfr_run_ctx;
bool sfr_cli_audit_report(FILE *out, struct sfr_run_ctx *ctx, struct sfr_run *run,
                          enum sfr_format fmt);
/* Opens the report destination (--out or stdout); NULL after logging. A
 * regular file is written beside its name and renamed over it by
 * sfr_cli_close_out, so a reader never sees half a report. */
FILE *sfr_cli_open_out(const struct sfr_cli_common *c);
/* Flushes and closes what sfr_cli_open_out opened; false after logging a
 * write error. */
bool sfr_cli_close_out(const struct sfr_cli_common *c, FILE *out);

/* SIGINT/SIGTERM: sfr_cli_stop gets the signal number; the engines stop at
 * their next step and store what they did as 'interrupted'. A second signal
 * ends the process at once. SIGPIPE is ignored. */
extern volatile sig_atomic_t sfr_cli_stop;
void sfr_cli_catch_stop(void);
/* "SIGINT", "SIGTERM" or "a signal". */
const char *sfr_cli_stop_name(void);

/* A mapping must exist: when -c was not given and sfrecon.json is not
 * there, says to pass -c and returns 2; -1 to go on. */
int sfr_cli_need_mapping(const struct sfr_cli_spec *spec, const struct sfr_cli_common *c);

struct sfr_command {
    const struct sfr_cli_spec *spec;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
};

extern const struct sfr_cli_spec sfr_spec_audit, sfr_spec_repair, sfr_spec_report, sfr_spec_lint,
    sfr_spec_schema, sfr_spec_sync;
int sfr_cmd_audit(int argc, char **argv);
int sfr_cmd_repair(int argc, char **argv);
int sfr_cmd_report(int argc, char **argv);
int sfr_cmd_lint(int argc, char **argv);
int sfr_cmd_schema(int argc, char **argv);
int sfr_cmd_sync(int argc, char **argv);

#endif
