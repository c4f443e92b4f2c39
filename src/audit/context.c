/* context.c — opens what every command that reaches both sides needs (run.h):
 * the mapping, the describe of the mapped objects, the connections, one
 * projection per mapping checked against the mirror, and fresh pairs of
 * sides for job threads. Used by audit, repair and sync. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sfrecon/coltypes.h"
#include "sfrecon/introspect.h"
#include "sfrecon/log.h"
#include "sfrecon/pg.h"
#include "sfrecon/run.h"
#include "sfrecon/sf.h"

/* Postgres <-> Postgres: field types from the source database's columns. */
static enum sfr_rc source_describe(struct sfr_run_ctx *ctx, struct sfr_err *err)
{
    PGconn *src = NULL;
    enum sfr_rc rc = sfr_pg_connect(ctx->source_url, &src, err);
    if (rc == SFR_OK)
        rc = sfr_pg_schema_from_columns(src, ctx->cfg, &ctx->schema, err);
    if (src != NULL)
        PQfinish(src);
    return rc;
}

static enum sfr_rc load_describe(struct sfr_run_ctx *ctx, const struct sfr_run_opts *o,
                                 struct sfr_err *err)
{
    const char **names = sfr_calloc((size_t)ctx->cfg->n_mappings, sizeof(char *));
    for (int i = 0; i < ctx->cfg->n_mappings; i++)
        names[i] = ctx->cfg->mappings[i].object_name;
    const char *path = o->describe ? o->describe : getenv("SFRECON_DESCRIBE");
    enum sfr_rc rc;
    if (path != NULL && *path)
        rc = sfr_schema_load(path, names, ctx->cfg->n_mappings, &ctx->schema, err);
    else if (ctx->sf != NULL)
        rc = sfr_sf_schema(ctx->sf, names, ctx->cfg->n_mappings, &ctx->schema, err);
    else
        rc = source_describe(ctx, err);
    free(names);
    return rc;
}

/* The mirror must hold a table and a column for everything compared (their
 * lengths are kept in ctx->col_len[i]). */
static enum sfr_rc check_mirror(struct sfr_run_ctx *ctx, const struct sfr_mirror *m, int i,
                                struct sfr_err *err)
{
    const struct sfr_projection *p = &ctx->proj[i];
    const struct sfr_mirror_table *t = sfr_mirror_table(m, p->obj->table);
    if (t == NULL)
        return sfr_err_set(err, SFR_ECONFIG,
                           "%s:%d: %s is mapped but the mirror has no table %s.%s "
                           "(sfrecon schema prints the DDL; sfrecon lint checks the mirror)",
                           ctx->cfg->path, ctx->cfg->mappings[i].line, p->obj->name,
                           ctx->cfg->schema, p->obj->table);
    for (int f = 0; f < p->n_fields; f++) {
        const char *col = f == 0 ? "sfid" : p->fields[f]->column;
        const struct sfr_mirror_column *mc = sfr_mirror_column(t, col);
        /* varchar(n) lengths tell the classifier where text was cut */
        ctx->col_len[i][f] = mc != NULL && mc->max_length > 0 ? mc->max_length : 0;
        if (p->fields[f]->type == SFR_FT_LOCATION || mc != NULL)
            continue;
        return sfr_err_set(err, SFR_ECONFIG,
                           "%s:%d: %s.%s is mapped but the mirror table %s.%s has no column %s "
                           "(sfrecon lint prints the ALTER TABLE)",
                           ctx->cfg->path, ctx->cfg->mappings[i].line, p->obj->name,
                           p->fields[f]->name, ctx->cfg->schema, p->obj->table, col);
    }
    /* Full content audits read such a table in sequential passes (scan.h);
     * range-by-range reads (--since last, --depth count) still scan it. */
    if (sfr_mirror_sfid_c_index(t) == NULL)
        sfr_log_info("%s.%s has no index serving sfid in byte order: content audits read it "
                     "in sequential passes; incremental and count-depth audits would be faster "
                     "with CREATE INDEX CONCURRENTLY sfrecon_idx_%s_sfid_c ON %s.%s "
                     "(sfid COLLATE \"C\")",
                     ctx->cfg->schema, p->obj->table, p->obj->table, ctx->cfg->schema,
                     p->obj->table);
    return SFR_OK;
}

static enum sfr_rc build_projections(struct sfr_run_ctx *ctx, struct sfr_err *err)
{
    struct sfr_mirror *mirror = NULL;
    enum sfr_rc rc = sfr_introspect(ctx->conn, ctx->cfg->schema, &mirror, err);
    if (rc != SFR_OK)
        return rc;
    ctx->n = ctx->cfg->n_mappings;
    ctx->proj = sfr_calloc((size_t)ctx->n, sizeof(*ctx->proj));
    ctx->col_len = sfr_calloc((size_t)ctx->n, sizeof(int *));
    for (int i = 0; i < ctx->n; i++) {
        const struct sfr_mapping *m = &ctx->cfg->mappings[i];
        const struct sfr_object *obj = sfr_schema_object(&ctx->schema, m->object_name);
        if (obj == NULL) {
            rc =
                sfr_err_set(err, SFR_ECONFIG, "%s:%d: mappings[%d].object_name: %s has no describe",
                            ctx->cfg->path, m->line, i, m->object_name);
            break;
        }
        struct sfr_strv missing = {0};
        sfr_projection_init(&ctx->proj[i], obj, (const char *const *)m->fields, m->n_fields,
                            ctx->cfg->schema, &missing);
        for (size_t k = 0; k < missing.n; k++)
            sfr_log_warn("%s.%s: mapped but not compared (absent from describe or compound)",
                         m->object_name, missing.v[k]);
        sfr_strv_cleanup(&missing);
        ctx->col_len[i] = sfr_calloc((size_t)ctx->proj[i].n_fields, sizeof(int));
        rc = check_mirror(ctx, mirror, i, err);
        if (rc != SFR_OK)
            break;
    }
    sfr_mirror_free(mirror);
    return rc;
}

enum sfr_rc sfr_run_ctx_open(const struct sfr_run_opts *o, struct sfr_run_ctx **out,
                             struct sfr_err *err)
{
    struct sfr_run_ctx *ctx = sfr_calloc(1, sizeof(*ctx));
    *out = ctx;
    enum sfr_rc rc = sfr_config_load(o->config_path, &ctx->cfg, err);
    if (rc != SFR_OK)
        return rc;
    if (o->schema != NULL)
        sfr_config_set_schema(ctx->cfg, o->schema);
    const char *db = getenv("DATABASE_URL");
    if (db == NULL || *db == '\0')
        return sfr_err_set(err, SFR_ECONFIG, "DATABASE_URL is not set (the mirror's Postgres)");
    ctx->db_url = sfr_strdup(db);
    rc = sfr_pg_connect(ctx->db_url, &ctx->conn, err);
    if (rc == SFR_OK)
        rc = sfr_pg_migrate(ctx->conn, err);
    if (rc != SFR_OK)
        return rc;
    if (o->source_url != NULL) {
        ctx->source_url = sfr_strdup(o->source_url);
    } else {
        rc = sfr_sf_from_env(ctx->cfg->api_version, &ctx->sf, err);
        if (rc != SFR_OK)
            return rc;
        sfr_sf_set_phase(ctx->sf, "describe");
        /* sf_max_daily_api_calls: a daily budget against Salesforce's own
         * count, from the first call on (the describes too) */
        long widest = 0;
        bool all = ctx->cfg->n_mappings > 0;
        for (int i = 0; i < ctx->cfg->n_mappings; i++) {
            const struct sfr_mapping *m = &ctx->cfg->mappings[i];
            sfr_sf_set_daily_cap(ctx->sf, m->object_name, m->sf_max_daily_api_calls);
            all = all && m->sf_max_daily_api_calls > 0;
            widest = m->sf_max_daily_api_calls > widest ? m->sf_max_daily_api_calls : widest;
        }
        sfr_sf_set_daily_cap(ctx->sf, NULL, all ? widest : 0);
    }
    rc = load_describe(ctx, o, err);
    if (rc == SFR_OK && ctx->sf != NULL) {
        /* the budget covers the work, not the one describe call per object */
        long budget = o->max_api_calls > 0 ? o->max_api_calls : ctx->cfg->max_api_calls;
        if (budget > 0)
            ctx->budget_max = sfr_sf_budget_used(ctx->sf) + budget;
        sfr_sf_set_budget(ctx->sf, ctx->budget_max);
        sfr_sf_set_phase(ctx->sf, "audit");
    }
    if (rc == SFR_OK)
        rc = build_projections(ctx, err);
    return rc;
}

void sfr_run_ctx_free(struct sfr_run_ctx *ctx)
{
    if (ctx == NULL)
        return;
    for (int i = 0; i < ctx->n; i++) {
        sfr_projection_cleanup(&ctx->proj[i]);
        free(ctx->col_len[i]);
    }
    free(ctx->proj);
    free(ctx->col_len);
    sfr_schema_cleanup(&ctx->schema);
    sfr_config_free(ctx->cfg);
    sfr_sf_free(ctx->sf);
    if (ctx->conn != NULL)
        PQfinish(ctx->conn);
    free(ctx->db_url);
    free(ctx->source_url);
    free(ctx);
}

int sfr_run_ctx_index(const struct sfr_run_ctx *ctx, const char *object)
{
    for (int i = 0; i < ctx->n; i++)
        if (strcasecmp(ctx->cfg->mappings[i].object_name, object) == 0)
            return i;
    return -1;
}

void sfr_run_ctx_check_object(const struct sfr_run_ctx *ctx, int i, struct sfr_check_object *co)
{
    co->proj = &ctx->proj[i];
    co->map = &ctx->cfg->mappings[i];
    co->cfg = ctx->cfg;
    co->column_len = ctx->col_len[i];
}

enum sfr_rc sfr_run_ctx_sides(struct sfr_run_ctx *ctx, struct sfr_side **sf, struct sfr_side **pg,
                              struct sfr_err *err)
{
    *sf = *pg = NULL;
    if (ctx->source_url != NULL) {
        *sf = sfr_pg_side_new(ctx->source_url, err);
        if (*sf == NULL)
            return err ? err->rc : SFR_EPG;
    } else {
        struct sfr_sf *c = NULL;
        enum sfr_rc rc = sfr_sf_clone(ctx->sf, &c, err);
        if (rc != SFR_OK)
            return rc;
        *sf = sfr_sf_side_new(c, ctx->cfg->bulk_threshold, true);
    }
    *pg = sfr_pg_side_new(ctx->db_url, err);
    if (*pg == NULL) {
        sfr_side_free(*sf);
        *sf = NULL;
        return err ? err->rc : SFR_EPG;
    }
    return SFR_OK;
}
