/* audit_internal.h — the steps of the audit engine kept in files of their
 * own (src/audit). */
#ifndef SFRECON_AUDIT_INTERNAL_H
#define SFRECON_AUDIT_INTERNAL_H

#include "sfrecon/audit.h"

/* missing_parent and sync_error findings of mapping i, appended to out;
 * reads the mirror through ctx->conn only. */
enum sfr_rc sfr_audit_mirror_checks(struct sfr_run_ctx *ctx, int i, struct sfr_disc_list *out,
                                    struct sfr_err *err) SFR_WUR;

/* --since: compares the keys of mapping i modified at or after since_ms on
 * either side; fills st as the checker would. */
enum sfr_rc sfr_audit_since(struct sfr_run_ctx *ctx, int i, int64_t since_ms, int64_t start_ms,
                            struct sfr_disc_list *out, struct sfr_check_stats *st,
                            struct sfr_err *err) SFR_WUR;

#endif
