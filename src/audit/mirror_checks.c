/* mirror_checks.c — the checks that need the mirror alone: rows whose
 * reference points at no row of the mapped parent (missing_parent) and app
 * inserts Salesforce refused (sync_error). The audit engine runs them per
 * object beside the checker (audit_internal.h). */
#include <stdio.h>
#include <string.h>

#include "audit_internal.h"
#include "sfrecon/history.h"

/* missing_parent: mirror rows whose reference points at no row of the mapped
 * parent's table. */
struct orphan_ctx {
    const char *object, *parent;
    struct sfr_disc_list *out;
    const char *field;
};

static void on_orphan(void *p, const char *child, const char *parent, long pg_id)
{
    struct orphan_ctx *o = p;
    struct sfr_discrepancy d;
    memset(&d, 0, sizeof(d));
    d.object = sfr_strdup(o->object);
    d.sfid = sfr_strdup(child);
    d.cause = SFR_CAUSE_MISSING_PARENT;
    d.parent_object = sfr_strdup(o->parent);
    d.parent_sfid = sfr_strdup(parent);
    d.pg_id = pg_id;
    d.sf_mod_ms = d.pg_mod_ms = INT64_MIN;
    d.detail = sfr_asprintf("%s %s points to %s %s, absent from the mirror", o->field, parent,
                            o->parent, parent);
    sfr_discrepancy_add_field(&d, o->field, parent, parent);
    sfr_disc_list_push(o->out, &d);
}

/* sync_error: an app's insert that Salesforce refused has no sfid yet; it is
 * reported under an empty sfid with its mirror row id. */
struct failed_ctx {
    const char *object;
    struct sfr_disc_list *out;
};

static void on_failed_insert(void *p, long pg_id, const char *hc_err)
{
    struct failed_ctx *f = p;
    struct sfr_discrepancy d;
    memset(&d, 0, sizeof(d));
    d.object = sfr_strdup(f->object);
    d.sfid = sfr_strdup("");
    d.cause = SFR_CAUSE_SYNC_ERROR;
    d.pg_id = pg_id;
    d.sf_mod_ms = d.pg_mod_ms = INT64_MIN;
    d.detail = sfr_asprintf("mirror row id %ld was inserted by an app and never reached "
                            "Salesforce: %s",
                            pg_id, *hc_err ? hc_err : "(no message)");
    sfr_disc_list_push(f->out, &d);
}

enum sfr_rc sfr_audit_mirror_checks(struct sfr_run_ctx *ctx, int i, struct sfr_disc_list *out,
                                    struct sfr_err *err)
{
    struct failed_ctx fc = {ctx->proj[i].obj->name, out};
    enum sfr_rc frc = sfr_history_failed_inserts(
        ctx->conn, ctx->cfg->schema, ctx->proj[i].obj->table, on_failed_insert, &fc, err);
    if (frc != SFR_OK)
        return frc;
    const struct sfr_projection *p = &ctx->proj[i];
    for (int f = 0; f < p->n_fields; f++) {
        const struct sfr_field *fd = p->fields[f];
        if (fd->type != SFR_FT_REFERENCE || fd->n_reference_to < 1)
            continue;
        int pi = sfr_run_ctx_index(ctx, fd->reference_to[0]);
        if (pi < 0)
            continue;
        struct orphan_ctx oc = {p->obj->name, ctx->proj[pi].obj->name, out, fd->name};
        enum sfr_rc rc = sfr_history_orphans(ctx->conn, ctx->cfg->schema, p->obj->table, fd->column,
                                             ctx->proj[pi].obj->table, on_orphan, &oc, err);
        if (rc != SFR_OK)
            return rc;
    }
    return SFR_OK;
}

/* --since TS: the keys modified at or after TS on either side (queryAll, so
 * records deleted since then come too), compared record by record. */
