/* testhook.c — sfr_test_point for build/sfrecon-test only (never linked into
 * build/sfrecon). SFRECON_TEST_KILL_AT="POINT:N" raises SIGKILL the Nth time
 * the write path reaches POINT; POINT "batch" counts every point whose name
 * ends in ".batch" (each committed write batch), so "batch:3" kills after the
 * third batch of any kind. SFRECON_TEST_KILL_SIGNAL=INT|TERM raises that
 * signal instead (once), so a test can stop a run the way Ctrl-C or
 * `timeout` would. Output is flushed first so the test sees what the
 * process printed before it died. */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfrecon/testhook.h"

static long seen;

static bool matches(const char *want, size_t n, const char *point)
{
    if (n == 5 && strncmp(want, "batch", 5) == 0) {
        size_t l = strlen(point);
        return l >= 6 && strcmp(point + l - 6, ".batch") == 0;
    }
    return strlen(point) == n && strncmp(want, point, n) == 0;
}

/* SFRECON_TEST_EXEC_AT=POINT runs the shell command SFRECON_TEST_EXEC each
 * time POINT is reached (a change made "while the audit runs"). */
static void exec_at(const char *point)
{
    const char *at = getenv("SFRECON_TEST_EXEC_AT"), *cmd = getenv("SFRECON_TEST_EXEC");
    if (at != NULL && cmd != NULL && strcmp(at, point) == 0 && system(cmd) != 0)
        fprintf(stderr, "sfrecon-test: %s: the command failed\n", point);
}

void sfr_test_point(const char *point)
{
    exec_at(point);
    const char *spec = getenv("SFRECON_TEST_KILL_AT");
    if (spec == NULL || *spec == '\0')
        return;
    const char *colon = strrchr(spec, ':');
    long at = colon ? atol(colon + 1) : 1;
    size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
    if (!matches(spec, n, point))
        return;
    if (++seen == at) {
        const char *sig = getenv("SFRECON_TEST_KILL_SIGNAL");
        int s = sig == NULL                ? SIGKILL
                : strcmp(sig, "INT") == 0  ? SIGINT
                : strcmp(sig, "TERM") == 0 ? SIGTERM
                                           : SIGKILL;
        if (s == SIGKILL)
            fprintf(stderr, "sfrecon-test: killed at %s (%ld)\n", point, seen);
        fflush(NULL);
        raise(s);
    }
}
