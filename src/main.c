/* main.c — the sfrecon entry point: a table of subcommands. */
#include <stdio.h>
#include <string.h>

#include "sfrecon/cli.h"

static const struct sfr_command commands[] = {
    {&sfr_spec_audit, sfr_cmd_audit},   {&sfr_spec_repair, sfr_cmd_repair},
    {&sfr_spec_report, sfr_cmd_report}, {&sfr_spec_lint, sfr_cmd_lint},
    {&sfr_spec_schema, sfr_cmd_schema}, {&sfr_spec_sync, sfr_cmd_sync},
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
    fprintf(out, "sfrecon %s — keeps a Salesforce org and its Postgres mirror honest\n\n",
            SFR_VERSION);
    fprintf(out, "Usage: sfrecon COMMAND [OPTIONS]\n\nCommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-8s %s\n", commands[i].spec->name, commands[i].spec->summary);
    fprintf(out, "  %-8s %s\n", "help", "show help for a command");
    fprintf(out, "\nConnections come from the environment: DATABASE_URL; SF_INSTANCE_URL +\n"
                 "SF_ACCESS_TOKEN, or SF_LOGIN_URL + SF_CLIENT_ID + SF_CLIENT_SECRET\n"
                 "[+ SF_USERNAME + SF_PASSWORD].\n"
                 "Run 'sfrecon help COMMAND' for a command's options.\n\n");
    sfr_cli_exit_table(out);
}

static const struct sfr_command *find(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].spec->name, name) == 0)
            return &commands[i];
    return NULL;
}

static int unknown(const char *name)
{
    fprintf(stderr, "sfrecon: unknown command '%s'\n", name);
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strncmp(commands[i].spec->name, name, 2) == 0)
            fprintf(stderr, "Did you mean '%s'?\n", commands[i].spec->name);
    fprintf(stderr, "Try 'sfrecon --help'.\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
        printf("sfrecon %s\n", SFR_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0) {
        if (argc < 3) {
            usage(stdout);
            return 0;
        }
        const struct sfr_command *c = find(argv[2]);
        if (c == NULL)
            return unknown(argv[2]);
        sfr_cli_help(c->spec, stdout);
        return 0;
    }
    if (cmd[0] == '-') {
        fprintf(stderr, "sfrecon: unknown option '%s'\nTry 'sfrecon --help'.\n", cmd);
        return 2;
    }
    const struct sfr_command *c = find(cmd);
    if (c == NULL)
        return unknown(cmd);
    return c->run(argc - 1, argv + 1);
}
