/* audit_internal.h — the steps of the audit engine kept in files of their
 * own (src/audit). */
#ifndef SFRECON_AUDIT_INTERNAL_H
#define SFRECON_AUDIT_INTERNAL_H

#include "sfrecon/audit.h"

/* The mirror-only findings of mapping i (missing_parent, refused inserts,
 * relationship external Ids), handed to sink; checks a table cannot support
 * are listed in *skipped. Reads the mirror through ctx->conn only. */
enum sfr_rc sfr_audit_mirror_checks(struct sfr_run_ctx *ctx, int i, sfr_disc_sink sink,
                                    void *sink_ctx, struct sfr_strv *skipped,
                                    struct sfr_err *err) SFR_WUR;

/* --since: compares the keys of mapping i modified at or after since_ms on
 * either side; fills st as the checker would. */
enum sfr_rc sfr_audit_since(struct sfr_run_ctx *ctx, int i, int64_t since_ms, int64_t start_ms,
                            struct sfr_disc_list *out, struct sfr_check_stats *st,
                            struct sfr_err *err) SFR_WUR;

#endif
