/* common.c — what every subcommand does the same way: usage errors, turning
 * an error into its exit code, and the report destination (--out, replaced
 * atomically when it is a regular file). */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
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

volatile sig_atomic_t sfr_cli_stop;

static void on_stop(int sig)
{
    if (sfr_cli_stop != 0) { /* the second one: stop now */
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    sfr_cli_stop = sig;
}

void sfr_cli_catch_stop(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

const char *sfr_cli_stop_name(void)
{
    return sfr_cli_stop == SIGINT ? "SIGINT" : sfr_cli_stop == SIGTERM ? "SIGTERM" : "a signal";
}

int sfr_cli_need_mapping(const struct sfr_cli_spec *spec, const struct sfr_cli_common *c)
{
    if (c->config_given || access(c->config, F_OK) == 0)
        return -1;
    return sfr_cli_usage_error(spec->name,
                               "no mapping: %s is not in the current directory; pass the "
                               "mapping (Heroku Connect export) with -c FILE",
                               c->config);
}
