/* mirror_checks.c — the checks that need the mirror alone (src/pg/findings.c):
 * rows whose reference points at no row of the mapped parent, polymorphic
 * ones resolved by key prefix (missing_parent), app inserts Salesforce
 * refused (sync_error) and relationship external Ids. The audit engine runs
 * them per object beside the checker (audit_internal.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_internal.h"
#include "sfrecon/findings.h"

enum sfr_rc sfr_audit_mirror_checks(struct sfr_run_ctx *ctx, int i, sfr_disc_sink sink,
                                    void *sink_ctx, struct sfr_strv *skipped, struct sfr_err *err)
{
    struct sfr_mapped_object *objs = sfr_calloc((size_t)ctx->n + 1, sizeof(*objs));
    for (int k = 0; k < ctx->n; k++) {
        objs[k].obj = ctx->proj[k].obj;
        objs[k].map = &ctx->cfg->mappings[k];
    }
    enum sfr_rc rc = sfr_findings_mirror(ctx->conn, ctx->cfg->schema, &ctx->schema, objs, ctx->n, i,
                                         sink, sink_ctx, skipped, err);
    free(objs);
    return rc;
}

/* --since TS: the keys modified at or after TS on either side (queryAll, so
 * records deleted since then come too), compared record by record. */
