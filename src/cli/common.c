/* common.c — helpers shared by the subcommands. */
#include <stdarg.h>
#include <stdio.h>

#include "sfrecon/cli.h"

int sfr_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "sfrecon %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'sfrecon help %s'.\n", cmd);
    return 2;
}
