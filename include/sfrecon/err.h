/* err.h — return codes and error details shared by every module.
 *
 * Fallible functions return enum sfr_rc (SFR_OK == 0) and take an optional
 * struct sfr_err * that receives a message naming the thing that failed
 * (file:line, key path, object.field, Salesforce errorCode, SQLSTATE) and a
 * hint. A NULL err is allowed everywhere. Messages never contain secrets. */
#ifndef SFRECON_ERR_H
#define SFRECON_ERR_H

#include <stddef.h>

#define SFR_WUR          __attribute__((warn_unused_result))
#define SFR_PRINTF(a, b) __attribute__((format(printf, a, b)))

enum sfr_rc {
    SFR_OK = 0,
    SFR_EUSAGE,    /* bad command line: exit 2 */
    SFR_ECONFIG,   /* bad configuration / mapping / describe file: exit 2 */
    SFR_EINVAL,    /* bad input value: exit 2 */
    SFR_ENOTFOUND, /* object, field, record, run or file not found: exit 2 */
    SFR_EIO,       /* an input file cannot be read: exit 2 */
    SFR_EPG,       /* Postgres error (after retries): exit 3 */
    SFR_EHTTP,     /* transport error (after retries): exit 3 */
    SFR_ESF,       /* Salesforce API error (errorCode in sf_code): exit 3 */
    SFR_EAUTH,     /* authentication failed: exit 3 */
    SFR_ELIMIT,    /* REQUEST_LIMIT_EXCEEDED or our API budget spent: exit 3 */
    SFR_EINTERNAL, /* a bug: exit 3 */
    SFR_EINTR,     /* stopped by SIGINT/SIGTERM: exit 3 */
    SFR_EBUSY,     /* another process holds the mapping (advisory lock): exit 3 */
};

struct sfr_err {
    enum sfr_rc rc;
    char msg[1024];
    char hint[256];
    long http_status; /* 0 when not an HTTP error */
    char sf_code[64]; /* Salesforce errorCode, "" when none */
    char sqlstate[6]; /* "" when none */
};

/* Fills err (when not NULL) and returns rc, so callers can `return sfr_err_set(...)`. */
enum sfr_rc sfr_err_set(struct sfr_err *err, enum sfr_rc rc, const char *fmt, ...) SFR_PRINTF(3, 4);
/* Sets the hint of an already filled err. */
void sfr_err_hint(struct sfr_err *err, const char *fmt, ...) SFR_PRINTF(2, 3);
/* Prefixes the message with context ("auditing Account: ..."). */
void sfr_err_prefix(struct sfr_err *err, const char *fmt, ...) SFR_PRINTF(2, 3);
void sfr_err_clear(struct sfr_err *err);
/* Process exit code for rc: 0 OK; 2 usage, configuration or an input that
 * cannot be read or is invalid (EUSAGE, ECONFIG, EINVAL, ENOTFOUND, EIO);
 * 3 runtime (everything else). */
int sfr_rc_exit_code(enum sfr_rc rc);
const char *sfr_rc_name(enum sfr_rc rc);

#endif
