/* log.c — leveled logging to stderr: see log.h. Thread-safe per line. */
#include "sfrecon/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static enum sfr_log_level current = SFR_LOG_INFO;

void sfr_log_set_level(enum sfr_log_level level)
{
    current = level;
}
enum sfr_log_level sfr_log_get_level(void)
{
    return current;
}

void sfr_log(enum sfr_log_level level, const char *fmt, ...)
{
    static const char *const tags[] = {"error", "warning", "info", "debug"};
    if (level > current)
        return;
    char line[4096];
    int n = snprintf(line, sizeof(line), "sfrecon: %s: ", tags[level]);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof(line))
        vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    size_t len = strlen(line);
    if (len > 0 && line[len - 1] == '\n')
        line[--len] = '\0';
    fprintf(stderr, "%s\n", line);
}

void sfr_log_err(const struct sfr_err *err)
{
    if (err == NULL)
        return;
    sfr_log_error("%s", err->msg[0] ? err->msg : sfr_rc_name(err->rc));
    if (err->hint[0])
        fprintf(stderr, "sfrecon: hint: %s\n", err->hint);
}

void sfr_log_redact_url(const char *url, char *out, size_t n)
{
    if (n == 0)
        return;
    snprintf(out, n, "%s", url ? url : "");
    /* scheme://user:password@host -> scheme://user:***@host */
    char *scheme = strstr(out, "://");
    if (scheme != NULL) {
        char *at = strchr(scheme + 3, '@');
        char *colon = strchr(scheme + 3, ':');
        if (at != NULL && colon != NULL && colon < at) {
            size_t tail = strlen(at);
            if ((size_t)(colon + 1 - out) + 3 + tail < n) {
                memmove(colon + 4, at, tail + 1);
                memcpy(colon + 1, "***", 3);
            }
        }
    }
    /* password=... / access_token=... parameters */
    static const char *const keys[] = {"password=", "access_token=", "client_secret=", "token="};
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        char *p = strstr(out, keys[k]);
        if (p == NULL)
            continue;
        char *v = p + strlen(keys[k]);
        char *end = v + strcspn(v, "& ");
        size_t tail = strlen(end);
        if ((size_t)(v - out) + 3 + tail < n) {
            memmove(v + 3, end, tail + 1);
            memcpy(v, "***", 3);
        }
    }
}
