/* run.c — opens the mapping, describe, connections and projections shared by
 * audit, repair and sync, and runs an audit over the mapped objects (run.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include "sfrecon/findings.h"
#include "sfrecon/history.h"
#include "sfrecon/introspect.h"
#include "sfrecon/log.h"
#include "sfrecon/pg.h"
#include "sfrecon/run.h"
#include "sfrecon/sf.h"

static int64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
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
        rc = sfr_err_set(err, SFR_ECONFIG,
                         "no describe source: comparing two Postgres databases needs "
                         "--describe DIR|FILE (or SFRECON_DESCRIBE)");
    free(names);
    return rc;
}

/* The mirror must hold a table and a column for everything compared (their
 * lengths are kept in ctx->col_len[i]); a
 * table without an index serving sfid COLLATE "C" range scans still works
 * but every chunk costs a scan, so say how to fix it. */
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
    if (sfr_mirror_sfid_c_index(t) == NULL)
        sfr_log_warn("%s.%s has no index serving sfid COLLATE \"C\" range scans: each audit "
                     "chunk scans the table; fix: CREATE INDEX CONCURRENTLY "
                     "sfrecon_idx_%s_sfid_c ON %s.%s (sfid COLLATE \"C\")",
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

static enum sfr_rc factory(void *c, struct sfr_side **sf, struct sfr_side **pg, struct sfr_err *err)
{
    return sfr_run_ctx_sides(c, sf, pg, err);
}

/* The mirror-only checks (missing_parent by key prefix, refused inserts,
 * relationship external Ids): src/pg/findings.c. */
static enum sfr_rc check_parents(struct sfr_run_ctx *ctx, int i, struct sfr_disc_list *out,
                                 struct sfr_strv *skipped, struct sfr_err *err)
{
    struct sfr_mapped_object *objs = sfr_calloc((size_t)ctx->n + 1, sizeof(*objs));
    for (int k = 0; k < ctx->n; k++) {
        objs[k].obj = ctx->proj[k].obj;
        objs[k].map = &ctx->cfg->mappings[k];
    }
    enum sfr_rc rc = sfr_findings_mirror(ctx->conn, ctx->cfg->schema, &ctx->schema, objs, ctx->n, i,
                                         sfr_disc_list_sink, out, skipped, err);
    free(objs);
    return rc;
}

/* --since TS: the keys modified at or after TS on either side (queryAll, so
 * records deleted since then come too), compared record by record. */
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

static enum sfr_rc check_since(struct sfr_run_ctx *ctx, int i, int64_t since_ms, int64_t start_ms,
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
    if (rc == SFR_OK && ids.n > 0)
        rc =
            sfr_check_keys(&co, sf, pg, (const char *const *)ids.v, (int)ids.n, start_ms, out, err);
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

static long budget_used(void *sf)
{
    return sfr_sf_budget_used(sf);
}

struct parents_job {
    struct sfr_run_ctx *ctx;
    int i;
    struct sfr_disc_list found;
    struct sfr_strv skipped;
    enum sfr_rc rc;
    struct sfr_err err;
};

static void *parents_thread(void *arg)
{
    struct parents_job *j = arg;
    j->rc = check_parents(j->ctx, j->i, &j->found, &j->skipped, &j->err);
    return NULL;
}

/* Objects to audit, parents first. */
static int plan_objects(struct sfr_run_ctx *ctx, const struct sfr_strv *want, int *idx,
                        struct sfr_err *err)
{
    int n = 0;
    int *order = sfr_calloc((size_t)ctx->schema.n_objects + 1, sizeof(int));
    struct sfr_deferred_ref *def = NULL;
    int n_def = 0;
    sfr_schema_order(&ctx->schema, order, &def, &n_def);
    free(def);
    for (int k = 0; k < ctx->schema.n_objects; k++) {
        int i = sfr_run_ctx_index(ctx, ctx->schema.objects[order[k]].name);
        if (i < 0)
            continue;
        if (want != NULL && want->n > 0 && !sfr_strv_contains_ci(want, ctx->proj[i].obj->name))
            continue;
        idx[n++] = i;
    }
    free(order);
    for (size_t w = 0; want != NULL && w < want->n; w++) {
        if (sfr_run_ctx_index(ctx, want->v[w]) < 0) {
            sfr_err_set(err, SFR_EUSAGE, "-o %s: object is not in the mapping %s", want->v[w],
                        ctx->cfg->path);
            return -1;
        }
    }
    return n;
}

static void summarize(struct sfr_object_summary *s, const char *object,
                      const struct sfr_check_stats *st, const struct sfr_disc_list *l, size_t from,
                      double secs)
{
    s->object = sfr_strdup(object);
    s->rows_sf = st->rows_sf;
    s->rows_pg = st->rows_pg;
    s->api_calls = st->api_calls;
    s->seconds = secs;
    s->complete = st->complete;
    s->changed_during = st->rechecked_changed;
    for (size_t k = from; k < l->n; k++)
        s->by_cause[l->v[k].cause]++;
}

enum sfr_rc sfr_audit_run(struct sfr_run_ctx *ctx, const struct sfr_audit_opts *o,
                          struct sfr_run *run, struct sfr_err *err)
{
    memset(run, 0, sizeof(*run));
    snprintf(run->depth, sizeof(run->depth), "%s",
             o->depth == SFR_DEPTH_COUNT ? "count" : "content");
    snprintf(run->status, sizeof(run->status), "running");
    run->complete = true;
    time_t t0 = time(NULL);
    strftime(run->started_at, sizeof(run->started_at), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t0));
    enum sfr_rc rc = SFR_OK;
    if (o->store && (rc = sfr_history_begin(ctx->conn, run, ctx->cfg->path, err)) != SFR_OK)
        return rc;
    int *idx = sfr_calloc((size_t)ctx->n + 1, sizeof(int));
    int n = plan_objects(ctx, o->objects, idx, err);
    if (n < 0) {
        free(idx);
        return SFR_EUSAGE;
    }
    run->objects = sfr_calloc((size_t)n + 1, sizeof(*run->objects));
    struct sfr_check_opts co;
    sfr_check_opts_defaults(&co);
    co.depth = o->depth;
    co.chunk_size = ctx->cfg->chunk_size;
    co.bisect_factor = ctx->cfg->bisect_factor;
    co.bisect_threshold = ctx->cfg->bisect_threshold;
    co.jobs = o->jobs > 0 ? o->jobs : ctx->cfg->jobs;
    co.audit_start_ms = now_ms();
    co.progress = o->progress;
    co.api_calls_fn = ctx->sf != NULL ? budget_used : NULL;
    co.api_calls_ctx = ctx->sf;
    for (int k = 0; k < n && rc == SFR_OK; k++) {
        int i = idx[k];
        const char *name = ctx->proj[i].obj->name;
        struct sfr_chunk_list prev = {0};
        if (o->since_last)
            rc = sfr_history_get_chunks(ctx->conn, name, &prev, err);
        co.prev = o->since_last && prev.n > 0 ? &prev : NULL;
        struct sfr_check_object cobj;
        sfr_run_ctx_check_object(ctx, i, &cobj);
        char label[32];
        snprintf(label, sizeof(label), "[%d/%d]", k + 1, n);
        co.progress_label = label;
        /* the mapping's sf_max_daily_api_calls caps what this object may spend */
        long per = ctx->cfg->mappings[i].sf_max_daily_api_calls;
        if (ctx->sf != NULL) {
            long cap = ctx->budget_max;
            if (per > 0) {
                long own = sfr_sf_budget_used(ctx->sf) + per;
                cap = cap > 0 && cap < own ? cap : own;
            }
            sfr_sf_set_budget(ctx->sf, cap);
        }
        struct sfr_check_stats st;
        memset(&st, 0, sizeof(st));
        st.sf_max_mod_ms = st.pg_max_mod_ms = INT64_MIN;
        size_t from = run->discs.n;
        int64_t start = now_ms();
        bool full = !o->since_last && o->since_ms == INT64_MIN;
        /* The mirror-only checks (orphans, refused inserts) run on ctx->conn
         * while the checker's jobs use connections of their own. */
        struct parents_job pj = {ctx, i, {0}, {0}, SFR_OK, {0}};
        pthread_t pth;
        bool pj_started =
            rc == SFR_OK && full && pthread_create(&pth, NULL, parents_thread, &pj) == 0;
        if (rc == SFR_OK && o->since_ms != INT64_MIN)
            rc = check_since(ctx, i, o->since_ms, co.audit_start_ms, &run->discs, &st, err);
        else if (rc == SFR_OK)
            rc = sfr_check_object(&cobj, &co, factory, ctx, &run->discs, &st, err);
        if (pj_started)
            pthread_join(pth, NULL);
        bool object_cap = false;
        if (rc == SFR_ELIMIT) {
            sfr_log_warn("%s: stopped early: %s", name, err ? err->msg : "API limit");
            run->complete = false;
            for (size_t u = 0; u < st.not_covered.n; u++)
                sfr_strv_take(&run->not_covered, sfr_asprintf("%s %s", name, st.not_covered.v[u]));
            /* only this object's sf_max_daily_api_calls ran out: go on with the others */
            object_cap = ctx->sf != NULL && per > 0 &&
                         (ctx->budget_max == 0 || sfr_sf_budget_used(ctx->sf) < ctx->budget_max);
            for (int u = k + 1; u < n && !object_cap; u++)
                sfr_strv_take(&run->not_covered,
                              sfr_asprintf("%s (all)", ctx->proj[idx[u]].obj->name));
            if (object_cap) {
                rc = SFR_OK;
                sfr_err_clear(err);
            }
        }
        if (rc == SFR_OK && full && !pj_started)
            pj.rc = check_parents(ctx, i, &pj.found, &pj.skipped, &pj.err);
        for (size_t u = 0; u < pj.found.n; u++)
            sfr_disc_list_push(&run->discs, &pj.found.v[u]);
        pj.found.n = 0;
        sfr_disc_list_cleanup(&pj.found);
        for (size_t u = 0; u < pj.skipped.n; u++)
            if (!sfr_strv_contains_ci(&run->notes, pj.skipped.v[u]))
                sfr_strv_push(&run->notes, pj.skipped.v[u]);
        sfr_strv_cleanup(&pj.skipped);
        if (rc == SFR_OK && full && pj.rc != SFR_OK) {
            rc = pj.rc;
            if (err != NULL)
                *err = pj.err;
        }
        if (rc == SFR_OK && st.complete && o->store && o->since_ms == INT64_MIN)
            rc = sfr_history_put_chunks(ctx->conn, name, run->id, &st.chunks, err);
        summarize(&run->objects[run->n_objects++], name, &st, &run->discs, from,
                  (double)(now_ms() - start) / 1000.0);
        run->api_calls += st.api_calls;
        sfr_check_stats_cleanup(&st);
        sfr_chunk_list_cleanup(&prev);
    }
    free(idx);
    bool stopped = rc == SFR_ELIMIT;
    if (stopped)
        rc = SFR_OK;
    snprintf(run->status, sizeof(run->status), "%s",
             rc != SFR_OK       ? "failed"
             : !run->complete   ? "partial"
             : run->discs.n > 0 ? "discrepancies"
                                : "clean");
    time_t t1 = time(NULL);
    strftime(run->finished_at, sizeof(run->finished_at), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t1));
    if (o->store && run->id > 0) {
        struct sfr_err e2;
        if (sfr_history_finish(ctx->conn, run, &e2) != SFR_OK) {
            sfr_log_err(&e2);
            if (rc == SFR_OK) {
                rc = e2.rc;
                if (err)
                    *err = e2;
            }
        }
    }
    return rc;
}
