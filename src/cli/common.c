/* common.c — what every subcommand does the same way: usage errors, turning
 * an error into its exit code, and the report destination (--out, replaced
 * atomically when it is a regular file). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sfrecon/cli.h"
#include "sfrecon/log.h"
#include "sfrecon/mem.h"

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

/* The name a regular --out file is written under until it is complete. */
static char *tmp_name(const char *out)
{
    return sfr_asprintf("%s.tmp.%ld", out, (long)getpid());
}

/* A path that is not a regular file (/dev/stdout, a fifo) is written in
 * place: it cannot be renamed over. */
static bool in_place(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && !S_ISREG(st.st_mode);
}

FILE *sfr_cli_open_out(const struct sfr_cli_common *c)
{
    if (c->out == NULL)
        return stdout;
    char *tmp = in_place(c->out) ? NULL : tmp_name(c->out);
    FILE *f = fopen(tmp ? tmp : c->out, "w");
    if (f == NULL)
        sfr_log_error("%s: cannot write the report: %m", c->out);
    free(tmp);
    return f;
}

bool sfr_cli_close_out(const struct sfr_cli_common *c, FILE *out)
{
    bool ok = fflush(out) == 0 && !ferror(out);
    if (out != stdout)
        ok = fclose(out) == 0 && ok;
    char *tmp = c->out != NULL ? tmp_name(c->out) : NULL;
    if (tmp != NULL && access(tmp, F_OK) == 0) {
        if (ok && rename(tmp, c->out) != 0)
            ok = false;
        if (!ok)
            unlink(tmp);
    }
    free(tmp);
    if (!ok)
        sfr_log_error("%s: writing the report failed: %m", c->out ? c->out : "stdout");
    return ok;
}
