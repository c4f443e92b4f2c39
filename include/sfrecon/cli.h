/* cli.h — subcommands. Each lives in src/cli/<name>.c with its own
 * getopt_long table and usage(); returns the process exit code
 * (0 ok, 1 discrepancies/failed repairs, 2 usage/config, 3 runtime). */
#ifndef SFRECON_CLI_H
#define SFRECON_CLI_H

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

/* Prints "sfrecon CMD: MSG\nTry 'sfrecon help CMD'." on stderr; returns 2. */
int sfr_cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
