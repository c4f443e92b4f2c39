/* log.h — leveled logging to stderr. Never pass a token, password or a URL
 * holding credentials; use sfr_log_redact_url() for connection strings. */
#ifndef SFRECON_LOG_H
#define SFRECON_LOG_H

#include "sfrecon/err.h"

enum sfr_log_level { SFR_LOG_ERROR, SFR_LOG_WARN, SFR_LOG_INFO, SFR_LOG_DEBUG };

void sfr_log_set_level(enum sfr_log_level level);
enum sfr_log_level sfr_log_get_level(void);
void sfr_log(enum sfr_log_level level, const char *fmt, ...) SFR_PRINTF(2, 3);
#define sfr_log_error(...) sfr_log(SFR_LOG_ERROR, __VA_ARGS__)
#define sfr_log_warn(...)  sfr_log(SFR_LOG_WARN, __VA_ARGS__)
#define sfr_log_info(...)  sfr_log(SFR_LOG_INFO, __VA_ARGS__)
#define sfr_log_debug(...) sfr_log(SFR_LOG_DEBUG, __VA_ARGS__)
/* Logs err->msg and err->hint at error level ("sfrecon: error: ..." / "hint: ..."). */
void sfr_log_err(const struct sfr_err *err);
/* Copies url into out (size n) with any password / token replaced by "***". */
void sfr_log_redact_url(const char *url, char *out, size_t n);

#endif
