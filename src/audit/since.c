/* since.c — `audit --since TS`: the keys modified at or after TS on either
 * side (queryAll, so records deleted since then come too), compared record
 * by record (audit_internal.h). */
#include <stdlib.h>
#include <string.h>

#include "audit_internal.h"
#include "sfrecon/history.h"
#include "sfrecon/pg.h"
#include "sfrecon/sf.h"

struct id_collect {
    struct sfr_strv *ids;
};

static int collect_id(void *ctx, const char *const *values, const size_t *lens)
{
    (void)lens;
    struct id_collect *c = ctx;
    if (values[0] != NULL)
        sfr_strv_push(c->ids, values[0]);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static enum sfr_rc changed_ids(struct sfr_run_ctx *ctx, int i, int64_t since_ms,
                               struct sfr_strv *ids, struct sfr_err *err)
{
    const struct sfr_projection *p = &ctx->proj[i];
    enum sfr_rc rc = SFR_OK;
    if (ctx->sf != NULL) {
        char ts[32];
        sfr_format_datetime_ms(since_ms, ts);
        char *soql = sfr_asprintf("SELECT Id FROM %s WHERE SystemModstamp >= %s ORDER BY Id",
                                  p->obj->name, ts);
        const char *fields[1] = {"Id"};
        struct id_collect c = {ids};
        rc = sfr_sf_query(ctx->sf, soql, true, fields, 1, collect_id, &c, NULL, err);
        free(soql);
    } else {
        PGconn *src = NULL;
        rc = sfr_pg_connect(ctx->source_url, &src, err);
        if (rc == SFR_OK)
            rc =
                sfr_history_changed_since(src, ctx->cfg->schema, p->obj->table, since_ms, ids, err);
        if (src != NULL)
            PQfinish(src);
    }
    if (rc == SFR_OK)
        rc = sfr_history_changed_since(ctx->conn, ctx->cfg->schema, p->obj->table, since_ms, ids,
                                       err);
    if (rc != SFR_OK || ids->n < 2)
        return rc;
    qsort(ids->v, ids->n, sizeof(char *), cmp_str);
    size_t k = 1;
    for (size_t j = 1; j < ids->n; j++) {
        if (strcmp(ids->v[j], ids->v[k - 1]) == 0)
            free(ids->v[j]);
        else
            ids->v[k++] = ids->v[j];
    }
    ids->n = k;
    return SFR_OK;
}

enum sfr_rc sfr_audit_since(struct sfr_run_ctx *ctx, int i, int64_t since_ms, int64_t start_ms,
                            struct sfr_disc_list *out, struct sfr_check_stats *st,
                            struct sfr_err *err)
{
    struct sfr_strv ids = {0};
    struct sfr_side *sf = NULL, *pg = NULL;
    long before = ctx->sf ? sfr_sf_api_calls(ctx->sf) : 0;
    enum sfr_rc rc = changed_ids(ctx, i, since_ms, &ids, err);
    if (rc == SFR_OK && ids.n > 0)
        rc = sfr_run_ctx_sides(ctx, &sf, &pg, err);
    struct sfr_check_object co;
    sfr_run_ctx_check_object(ctx, i, &co);
    struct sfr_moving moving = {0};
    if (rc == SFR_OK && ids.n > 0)
        rc = sfr_check_keys_counted(&co, sf, pg, (const char *const *)ids.v, (int)ids.n, start_ms,
                                    out, &moving, &st->rechecked_changed, err);
    if (rc == SFR_OK && moving.n > 0) {
        struct sfr_check_opts o;
        sfr_check_opts_defaults(&o);
        o.audit_start_ms = start_ms;
        rc = sfr_check_recheck(&co, &o, sf, pg, &moving, out, st, err);
    }
    sfr_moving_cleanup(&moving);
    st->rows_sf = st->rows_pg = (long)ids.n;
    st->keys_differing = (long)ids.n;
    st->api_calls =
        (ctx->sf ? sfr_sf_api_calls(ctx->sf) - before : 0) + (sf != NULL ? sf->stats.api_calls : 0);
    st->complete = rc == SFR_OK;
    sfr_side_free(sf);
    sfr_side_free(pg);
    sfr_strv_cleanup(&ids);
    return rc;
}
