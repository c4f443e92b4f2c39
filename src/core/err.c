/* err.c — error details: see err.h. */
#include "sfrecon/err.h"
#include "sfrecon/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum sfr_rc sfr_err_set(struct sfr_err *err, enum sfr_rc rc, const char *fmt, ...)
{
    if (err == NULL)
        return rc;
    memset(err, 0, sizeof(*err));
    err->rc = rc;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return rc;
}

void sfr_err_hint(struct sfr_err *err, const char *fmt, ...)
{
    if (err == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->hint, sizeof(err->hint), fmt, ap);
    va_end(ap);
}

void sfr_err_prefix(struct sfr_err *err, const char *fmt, ...)
{
    if (err == NULL)
        return;
    char pre[512], old[sizeof(err->msg)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof(pre), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    struct sfr_buf b = SFR_BUF_INIT;
    sfr_buf_printf(&b, "%s: %s", pre, old);
    size_t n = b.len < sizeof(err->msg) - 1 ? b.len : sizeof(err->msg) - 1;
    memcpy(err->msg, b.data, n);
    err->msg[n] = '\0';
    sfr_buf_cleanup(&b);
}

void sfr_err_clear(struct sfr_err *err)
{
    if (err != NULL)
        memset(err, 0, sizeof(*err));
}

int sfr_rc_exit_code(enum sfr_rc rc)
{
    switch (rc) {
    case SFR_OK:
        return 0;
    case SFR_EUSAGE:
    case SFR_ECONFIG:
    case SFR_EINVAL:
    case SFR_ENOTFOUND:
    case SFR_EIO:
        return 2;
    default:
        return 3;
    }
}

const char *sfr_rc_name(enum sfr_rc rc)
{
    static const char *const names[] = {
        "ok",   "usage",      "config", "invalid", "not found", "io",          "postgres",
        "http", "salesforce", "auth",   "limit",   "internal",  "interrupted", "busy",
    };
    if ((unsigned)rc < sizeof(names) / sizeof(names[0]))
        return names[rc];
    return "unknown";
}
