/* since.c — `audit --since TS`: the keys modified at or after TS on either
 * side (queryAll, so records deleted since then come too), compared record
 * by record (audit_internal.h). */
#include <stdlib.h>
#include <string.h>

#include "audit_internal.h"

/* The keys modified at or after since_ms on either side, sorted and
 * distinct (each side's changed-keys query: queryAll on Salesforce). */
static enum sfr_rc changed_ids(struct sfr_side *sf, struct sfr_side *pg,
                               const struct sfr_projection *p, int64_t since_ms,
                               struct sfr_strv *ids, struct sfr_err *err)
{
    bool more = false;
    enum sfr_rc rc = sfr_side_changed_keys(sf, p, since_ms - 1, -1, ids, &more, err);
    if (rc == SFR_OK)
        rc = sfr_side_changed_keys(pg, p, since_ms - 1, -1, ids, &more, err);
    sfr_strv_sort_unique(ids);
    return rc;
}

enum sfr_rc sfr_audit_since(struct sfr_run_ctx *ctx, int i, int64_t since_ms, int64_t start_ms,
                            struct sfr_disc_list *out, struct sfr_check_stats *st,
                            struct sfr_err *err)
{
    struct sfr_strv ids = {0};
    struct sfr_side *sf = NULL, *pg = NULL;
    enum sfr_rc rc = sfr_run_ctx_sides(ctx, &sf, &pg, err);
    if (rc == SFR_OK)
        rc = changed_ids(sf, pg, &ctx->proj[i], since_ms, &ids, err);
    struct sfr_check_object co;
    sfr_run_ctx_check_object(ctx, i, &co);
    struct sfr_moving moving = {0};
    if (rc == SFR_OK && ids.n > 0)
        rc = sfr_check_keys_counted(&co, sf, pg, (const char *const *)ids.v, (int)ids.n, start_ms,
                                    out, &moving, &st->rechecked_changed, err);
    struct sfr_check_opts o;
    sfr_check_opts_defaults(&o);
    o.audit_start_ms = start_ms;
    rc = sfr_check_settle(&co, &o, sf, pg, &moving, rc, out, st, err);
    st->rows_sf = st->rows_pg = (long)ids.n;
    st->keys_differing = (long)ids.n;
    st->api_calls = sf != NULL ? sf->stats.api_calls : 0;
    st->complete = rc == SFR_OK;
    sfr_side_free(sf);
    sfr_side_free(pg);
    sfr_strv_cleanup(&ids);
    return rc;
}
