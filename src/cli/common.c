/* common.c — what every subcommand does the same way: usage errors, turning
 * an error into its exit code, and the report destination (--out). */
#include <stdarg.h>
#include <stdio.h>

#include "sfrecon/cli.h"
#include "sfrecon/log.h"

int sfr_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "sfrecon %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'sfrecon help %s'.\n", cmd);
    return SFR_EXIT_USAGE;
}

int sfr_cli_fail(enum sfr_rc rc, const struct sfr_err *err)
{
    fflush(stdout);
    sfr_log_err(err);
    return sfr_rc_exit_code(rc);
}

FILE *sfr_cli_open_out(const struct sfr_cli_common *c)
{
    if (c->out == NULL)
        return stdout;
    FILE *f = fopen(c->out, "w");
    if (f == NULL)
        sfr_log_error("%s: cannot write the report: %m", c->out);
    return f;
}

bool sfr_cli_close_out(const struct sfr_cli_common *c, FILE *out)
{
    bool ok = fflush(out) == 0 && !ferror(out);
    if (out != stdout)
        ok = fclose(out) == 0 && ok;
    if (!ok)
        sfr_log_error("%s: writing the report failed: %m", c->out ? c->out : "stdout");
    return ok;
}
