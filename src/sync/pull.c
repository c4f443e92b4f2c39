/* pull.c — Salesforce -> mirror for one object. Records changed since the
 * cursor (SystemModstamp, ISO UTC ms, in sfrecon.sync_cursor) are read with
 * queryAll in SystemModstamp, Id order, the first bulk_threshold through
 * REST and the rest through Bulk API 2.0, and written to the mirror through
 * the Postgres side in transactions of SFR_SYNC_PULL_BATCH records: live
 * records upserted, deleted ones (IsDeleted true) removed. Memory: one batch.
 *
 * The cursor moves only after a batch committed. While the records come in
 * order it moves to 1 ms before the batch's last SystemModstamp (records
 * sharing that modstamp may still follow: applying them twice is harmless);
 * at the end of the query, and after the unordered Bulk part, to the last
 * SystemModstamp applied.
 *
 * A mirror row whose _hc_lastop is PENDING holds an app write not pushed
 * yet. sfr_conflict_judge, the audit's rule, decides: if Salesforce's
 * version is not newer than the row's systemmodstamp (already applied), or
 * its change is older than the app's first queued write (typically the echo
 * of an earlier push), the row is kept: the push carries the write and the
 * next pull brings the merged record. Otherwise both sides changed: a
 * conflict, settled by the policy — sf_wins overwrites the row and sets its
 * NEW log entries IGNORED, pg_wins keeps the row, newest_wins compares the
 * SystemModstamp with the app's last write. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "sfrecon/check.h"
#include "sfrecon/log.h"
#include "sfrecon/repair.h"
#include "sync_internal.h"

struct prec {
    char *sfid;
    char **values; /* n_fields of the projection */
    bool deleted;
    int64_t mod_ms;
    bool keep;      /* the mirror row wins: not written */
    bool skip;      /* already applied (overlap window): not written, not counted */
    long ignore_id; /* overwritten PENDING row: its NEW entries become IGNORED */
};

struct pull {
    struct sfr_sync *s;
    const struct sfr_projection *p;
    const struct sfr_pg_table *t;
    const struct sfr_mapping *map;
    int n_sel;    /* selected fields: the projection's, then IsDeleted if not mapped */
    int idx_del;  /* IsDeleted in the select, -1 when the object has none */
    bool ordered; /* records arrive in SystemModstamp order (REST part) */
    struct prec *batch;
    int n;
    int64_t last_ms;    /* SystemModstamp of the last record delivered */
    int64_t applied_ms; /* highest SystemModstamp applied (committed) */
    long delivered;
    struct sfr_sync_stats *st;
    enum sfr_rc rc;
    struct sfr_err *err;
};

static void prec_cleanup(struct prec *r, int nf)
{
    free(r->sfid);
    for (int i = 0; r->values != NULL && i < nf; i++)
        free(r->values[i]);
    free(r->values);
    memset(r, 0, sizeof(*r));
}

static bool is_true(const char *v)
{
    return v != NULL && (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

static int64_t opt_ms(PGresult *res, int r, int col)
{
    return PQgetisnull(res, r, col) ? INT64_MIN : strtoll(PQgetvalue(res, r, col), NULL, 10);
}

/* Marks the records whose row holds an unpushed app write. */
static enum sfr_rc settle_pending(struct pull *pl)
{
    struct sfr_sync *s = pl->s;
    const char **ids = sfr_calloc((size_t)pl->n + 1, sizeof(char *));
    for (int k = 0; k < pl->n; k++)
        ids[k] = pl->batch[k].sfid;
    PGresult *res = NULL;
    enum sfr_rc rc =
        sfr_sync_pending_rows(s->ctx->conn, pl->t, s->has_tlog, ids, pl->n, &res, pl->err);
    free(ids);
    if (rc != SFR_OK)
        return rc;
    enum sfr_policy pol = sfr_repair_policy(pl->map, s->ctx->cfg);
    for (int r = 0; r < PQntuples(res); r++) {
        const char *sfid = PQgetvalue(res, r, 0);
        long pg_id = atol(PQgetvalue(res, r, 1));
        int64_t first = opt_ms(res, r, 2), last = opt_ms(res, r, 3), row_ms = opt_ms(res, r, 4);
        for (int k = 0; k < pl->n; k++) {
            struct prec *x = &pl->batch[k];
            if (strcmp(x->sfid, sfid) != 0)
                continue;
            /* the audit's rule: unchanged since the mirror's version (the
             * overlap window, sfrecon's own push coming back) or older than
             * the app's write, the row is kept and the push carries it */
            if (sfr_conflict_judge(true, first, x->mod_ms, row_ms) != SFR_CONFLICT_BOTH) {
                x->keep = true;
                continue;
            }
            bool sf = pol == SFR_POLICY_SF_WINS ||
                      (pol == SFR_POLICY_NEWEST_WINS && (last == INT64_MIN || x->mod_ms > last));
            pl->st->conflicts++;
            sfr_log_warn("conflict: %s %s changed in Salesforce and, not yet pushed, in %s "
                         "(row id %ld): %s, %s",
                         pl->p->obj->name, sfid, pl->t->display, pg_id, sfr_policy_name(pol),
                         sf ? "Salesforce's version written to the mirror"
                            : "the mirror's version kept for the push");
            if (sf)
                x->ignore_id = pg_id;
            else
                x->keep = true;
        }
    }
    PQclear(res);
    return SFR_OK;
}

/* Records the mirror already holds at the same or a newer SystemModstamp
 * (or, deleted, no longer holds) are not written again: the overlap window
 * and records sharing the cursor's modstamp come back on every pull. */
static enum sfr_rc skip_applied(struct pull *pl)
{
    const char **ids = sfr_calloc((size_t)pl->n + 1, sizeof(char *));
    int m = 0;
    for (int k = 0; k < pl->n; k++)
        if (pl->batch[k].mod_ms != INT64_MIN)
            ids[m++] = pl->batch[k].sfid;
    if (m == 0) {
        free(ids);
        return SFR_OK;
    }
    PGresult *res = NULL;
    enum sfr_rc rc = sfr_sync_applied_rows(pl->s->ctx->conn, pl->t, ids, m, &res, pl->err);
    free(ids);
    if (rc != SFR_OK)
        return rc;
    for (int k = 0; k < pl->n; k++) {
        struct prec *x = &pl->batch[k];
        if (x->mod_ms == INT64_MIN)
            continue;
        bool present = false;
        for (int r = 0; r < PQntuples(res); r++) {
            if (strcmp(PQgetvalue(res, r, 0), x->sfid) != 0)
                continue;
            present = true;
            if (!PQgetisnull(res, r, 1) && atoll(PQgetvalue(res, r, 1)) >= x->mod_ms && !x->deleted)
                x->keep = x->skip = true;
        }
        if (x->deleted && !present)
            x->keep = x->skip = true;
    }
    PQclear(res);
    return SFR_OK;
}

static void set_cursor(struct pull *pl, int64_t ms)
{
    char ts[32];
    sfr_format_datetime_ms(ms, ts);
    struct sfr_err e2 = {0};
    if (sfr_sync_cursor_set(pl->s->ctx->conn, pl->p->obj->name, "pull", ts, &e2) != SFR_OK &&
        pl->rc == SFR_OK) {
        pl->rc = e2.rc;
        if (pl->err)
            *pl->err = e2;
    }
}

/* Writes the batch; moves the cursor when the records came in order. */
static enum sfr_rc flush(struct pull *pl)
{
    if (pl->n == 0)
        return SFR_OK;
    struct sfr_sync *s = pl->s;
    const struct sfr_projection *p = pl->p;
    enum sfr_rc rc = skip_applied(pl);
    if (rc == SFR_OK && pl->t->has_hc_lastop)
        rc = settle_pending(pl);
    struct sfr_write *w = sfr_calloc((size_t)pl->n + 1, sizeof(*w));
    int *of = sfr_calloc((size_t)pl->n + 1, sizeof(int));
    int m = 0;
    for (int k = 0; rc == SFR_OK && k < pl->n; k++) {
        struct prec *x = &pl->batch[k];
        if (x->keep)
            continue;
        w[m].kind = x->deleted ? SFR_WRITE_DELETE : SFR_WRITE_UPSERT;
        w[m].sfid = x->sfid;
        w[m].values = (const char *const *)x->values;
        of[m++] = k;
    }
    if (rc == SFR_OK && m > 0)
        rc = s->pg->ops->write(s->pg, p, w, m, 0, pl->err);
    for (int j = 0; rc == SFR_OK && j < m; j++) {
        struct prec *x = &pl->batch[of[j]];
        if (!w[j].ok) {
            pl->st->failed++;
            sfr_log_warn("pull %s %s into %s failed: %s: %s", p->obj->name, x->sfid, pl->t->display,
                         w[j].error_code, w[j].message);
            continue;
        }
        if (x->deleted)
            pl->st->deleted++;
        else
            pl->st->pulled++;
        if (x->ignore_id > 0 && s->has_tlog)
            rc = sfr_sync_tlog_ignore_row(s->ctx->conn, pl->t, x->ignore_id,
                                          "conflict: Salesforce changed the record too; "
                                          "its version won (repair_policy)",
                                          pl->err);
    }
    if (rc == SFR_OK) {
        for (int k = 0; k < pl->n; k++)
            if (pl->batch[k].mod_ms > pl->applied_ms)
                pl->applied_ms = pl->batch[k].mod_ms;
        if (pl->ordered && pl->last_ms != INT64_MIN)
            set_cursor(pl, pl->last_ms - 1);
        rc = pl->rc;
    }
    free(w);
    free(of);
    for (int k = 0; k < pl->n; k++)
        prec_cleanup(&pl->batch[k], p->n_fields);
    pl->n = 0;
    return rc;
}

static int on_record(void *ctx, const char *const *values, const size_t *lens)
{
    (void)lens;
    struct pull *pl = ctx;
    const struct sfr_projection *p = pl->p;
    if (values[0] == NULL)
        return 0;
    struct prec *x = &pl->batch[pl->n++];
    x->sfid = sfr_strdup(values[0]);
    x->values = sfr_calloc((size_t)p->n_fields, sizeof(char *));
    for (int i = 0; i < p->n_fields; i++)
        x->values[i] = sfr_strdup(values[i]);
    x->deleted = pl->idx_del >= 0 && is_true(values[pl->idx_del]);
    x->mod_ms = INT64_MIN;
    const char *mod = values[p->idx_modstamp];
    if (mod != NULL)
        sfr_parse_datetime_ms(mod, strlen(mod), &x->mod_ms);
    if (x->mod_ms != INT64_MIN)
        pl->last_ms = x->mod_ms;
    pl->delivered++;
    if (pl->n < SFR_SYNC_PULL_BATCH)
        return 0;
    enum sfr_rc rc = flush(pl);
    if (rc != SFR_OK) {
        pl->rc = rc;
        return 1;
    }
    return sfr_sync_stopping(pl->s) ? 1 : 0;
}

static char *build_soql(const struct pull *pl, const char **names, const char *cmp, int64_t since,
                        bool order, long limit)
{
    struct sfr_buf b = SFR_BUF_INIT;
    sfr_buf_puts(&b, "SELECT ");
    for (int i = 0; i < pl->n_sel; i++)
        sfr_buf_printf(&b, "%s%s", i ? ", " : "", names[i]);
    sfr_buf_printf(&b, " FROM %s", pl->p->obj->name);
    if (since != INT64_MIN) {
        char ts[32];
        sfr_format_datetime_ms(since, ts);
        sfr_buf_printf(&b, " WHERE SystemModstamp %s %s", cmp, ts);
    }
    if (order)
        sfr_buf_puts(&b, " ORDER BY SystemModstamp, Id");
    if (limit > 0)
        sfr_buf_printf(&b, " LIMIT %ld", limit);
    return sfr_buf_steal(&b);
}

/* The cursor to start from: the stored one, else the mirror's newest row. */
static enum sfr_rc start_cursor(struct pull *pl, int64_t *since, bool *stored, struct sfr_err *err)
{
    char *cur = NULL;
    *stored = false;
    *since = INT64_MIN;
    enum sfr_rc rc = sfr_sync_cursor_get(pl->s->ctx->conn, pl->p->obj->name, "pull", &cur, err);
    if (rc != SFR_OK)
        return rc;
    if (cur != NULL && sfr_parse_datetime_ms(cur, strlen(cur), since)) {
        *stored = true;
    } else {
        if (cur != NULL)
            sfr_log_warn("sfrecon.sync_cursor: %s pull cursor '%s' is not a datetime; "
                         "starting from the mirror's newest row",
                         pl->p->obj->name, cur);
        rc = sfr_sync_mirror_max_mod(pl->s->ctx->conn, pl->t->schema, pl->t->table, since, err);
    }
    free(cur);
    return rc;
}

/* Sets up a pull of object i; returns the select list (caller frees). */
static const char **pull_setup(struct pull *pl, struct sfr_sync *s, int i,
                               struct sfr_sync_stats *st, struct sfr_err *err)
{
    const struct sfr_projection *p = &s->ctx->proj[i];
    memset(pl, 0, sizeof(*pl));
    pl->s = s;
    pl->p = p;
    pl->t = &s->tables[i];
    pl->map = &s->ctx->cfg->mappings[i];
    pl->st = st;
    pl->err = err;
    pl->last_ms = pl->applied_ms = INT64_MIN;
    const char **names = sfr_calloc((size_t)p->n_fields + 2, sizeof(char *));
    for (int k = 0; k < p->n_fields; k++)
        names[k] = p->fields[k]->name;
    pl->n_sel = p->n_fields;
    pl->idx_del = p->idx_isdeleted;
    if (pl->idx_del < 0 && sfr_object_field(p->obj, "IsDeleted") != NULL) {
        pl->idx_del = pl->n_sel;
        names[pl->n_sel++] = "IsDeleted";
    }
    pl->batch = sfr_calloc(SFR_SYNC_PULL_BATCH, sizeof(*pl->batch));
    return names;
}

enum sfr_rc sfr_sync_pull_ids(struct sfr_sync *s, int i, const char *const *ids, int n,
                              struct sfr_sync_stats *st, struct sfr_err *err)
{
    const struct sfr_projection *p = &s->ctx->proj[i];
    struct pull pl;
    const char **names = pull_setup(&pl, s, i, st, err);
    enum sfr_rc rc = SFR_OK;
    for (int k = 0; rc == SFR_OK && k < n; k += SFR_SYNC_IDS_PER_QUERY) {
        struct sfr_buf b = SFR_BUF_INIT;
        sfr_buf_puts(&b, "SELECT ");
        for (int f = 0; f < pl.n_sel; f++)
            sfr_buf_printf(&b, "%s%s", f ? ", " : "", names[f]);
        sfr_buf_printf(&b, " FROM %s WHERE Id IN (", p->obj->name);
        for (int j = k; j < n && j < k + SFR_SYNC_IDS_PER_QUERY; j++) {
            if (j > k)
                sfr_buf_puts(&b, ", ");
            sfr_soql_quote(&b, ids[j]);
        }
        sfr_buf_puts(&b, ")");
        rc = sfr_sf_query(s->ctx->sf, b.data, true, names, pl.n_sel, on_record, &pl, NULL, err);
        sfr_buf_cleanup(&b);
        if (rc == SFR_OK)
            rc = pl.rc;
        if (rc == SFR_OK)
            rc = flush(&pl);
    }
    if (rc != SFR_OK)
        sfr_err_prefix(err, "reading %d %s record(s) named by change events", n, p->obj->name);
    for (int k = 0; k < pl.n; k++)
        prec_cleanup(&pl.batch[k], p->n_fields);
    free(pl.batch);
    free(names);
    return rc;
}

enum sfr_rc sfr_sync_pull_object(struct sfr_sync *s, int i, struct sfr_sync_stats *st,
                                 struct sfr_err *err)
{
    const struct sfr_projection *p = &s->ctx->proj[i];
    if (p->idx_modstamp < 0) {
        sfr_log_warn("%s: SystemModstamp is not mapped: not pulled", p->obj->name);
        return SFR_OK;
    }
    struct pull pl;
    const char **names = pull_setup(&pl, s, i, st, err);
    int64_t since;
    bool stored;
    char *soql = NULL;
    enum sfr_rc rc = start_cursor(&pl, &since, &stored, err);
    long limit = s->bulk_threshold > 0 ? s->bulk_threshold : 0;
    if (rc == SFR_OK) {
        pl.ordered = true;
        /* re-read an overlap window: commits are not strictly in
         * SystemModstamp order (skip_applied drops what is already there) */
        int64_t from = since == INT64_MIN ? since : since - SFR_SYNC_PULL_OVERLAP_MS;
        soql = build_soql(&pl, names, ">", from, true, limit);
        long n = 0;
        rc = sfr_sf_query(s->ctx->sf, soql, true, names, pl.n_sel, on_record, &pl, &n, err);
        if (rc == SFR_OK)
            rc = pl.rc;
        if (rc == SFR_OK)
            rc = flush(&pl);
    }
    if (rc == SFR_OK && limit > 0 && pl.delivered >= limit && !sfr_sync_stopping(s)) {
        /* more changed than REST should carry: the rest through Bulk API 2.0,
         * from the last modstamp on (records at that modstamp come again) */
        sfr_log_info("%s: more than %ld records changed; reading the rest with Bulk API 2.0",
                     p->obj->name, limit);
        free(soql);
        pl.ordered = false;
        soql = build_soql(&pl, names, ">=", pl.last_ms, false, 0);
        rc = sfr_sf_bulk_query(s->ctx->sf, soql, true, names, pl.n_sel, on_record, &pl, NULL, err);
        if (rc == SFR_OK)
            rc = pl.rc;
        if (rc == SFR_OK)
            rc = flush(&pl);
    }
    if (rc == SFR_OK && !sfr_sync_stopping(s)) {
        if (pl.applied_ms != INT64_MIN && pl.applied_ms > since)
            set_cursor(&pl, pl.applied_ms);
        else if (!stored && since != INT64_MIN)
            set_cursor(&pl, since);
        rc = pl.rc;
    } else if (rc == SFR_OK && pl.ordered && pl.applied_ms != INT64_MIN) {
        set_cursor(&pl, pl.last_ms - 1);
        rc = pl.rc;
    }
    if (rc != SFR_OK)
        sfr_err_prefix(err, "pulling %s", p->obj->name);
    for (int k = 0; k < pl.n; k++)
        prec_cleanup(&pl.batch[k], p->n_fields);
    free(pl.batch);
    free(names);
    free(soql);
    return rc;
}

/* Records the mirror still holds among d[0..n), deleted at or after their
 * row's systemmodstamp (a later row came from an undelete), leave it. */
static enum sfr_rc delete_listed(struct sfr_sync *s, int i, const struct sfr_sf_deleted_rec *d,
                                 size_t n, struct sfr_sync_stats *st, struct sfr_err *err)
{
    const struct sfr_projection *p = &s->ctx->proj[i];
    const struct sfr_pg_table *t = &s->tables[i];
    const char **ids = sfr_calloc(n + 1, sizeof(char *));
    for (size_t k = 0; k < n; k++)
        ids[k] = d[k].id;
    PGresult *res = NULL;
    enum sfr_rc rc = sfr_sync_applied_rows(s->ctx->conn, t, ids, (int)n, &res, err);
    free(ids);
    if (rc != SFR_OK)
        return rc;
    struct sfr_write *w = sfr_calloc((size_t)PQntuples(res) + 1, sizeof(*w));
    int m = 0;
    for (int r = 0; r < PQntuples(res); r++) {
        const char *sfid = PQgetvalue(res, r, 0);
        int64_t mod = opt_ms(res, r, 1);
        for (size_t k = 0; k < n; k++) {
            if (strcmp(d[k].id, sfid) != 0)
                continue;
            if (mod == INT64_MIN || d[k].deleted_ms == INT64_MIN || mod <= d[k].deleted_ms) {
                w[m].kind = SFR_WRITE_DELETE;
                w[m++].sfid = sfid;
            }
            break;
        }
    }
    if (m > 0)
        rc = s->pg->ops->write(s->pg, p, w, m, 0, err);
    for (int j = 0; rc == SFR_OK && j < m; j++) {
        if (w[j].ok) {
            st->deleted++;
        } else {
            st->failed++;
            sfr_log_warn("deleting %s %s from %s failed: %s: %s", p->obj->name, w[j].sfid,
                         t->display, w[j].error_code, w[j].message);
        }
    }
    free(w);
    PQclear(res);
    return rc;
}

enum sfr_rc sfr_sync_pull_deleted(struct sfr_sync *s, int i, struct sfr_sync_stats *st,
                                  struct sfr_err *err)
{
    const struct sfr_projection *p = &s->ctx->proj[i];
    struct pull pl;
    memset(&pl, 0, sizeof(pl));
    pl.s = s;
    pl.p = p;
    pl.t = &s->tables[i];
    /* from where the last /deleted window ended, else from the pull cursor */
    int64_t since = INT64_MIN;
    bool stored = false, had_window = false;
    char *prev = NULL;
    enum sfr_rc rc = sfr_sync_cursor_get(s->ctx->conn, p->obj->name, "deleted", &prev, err);
    if (rc == SFR_OK && prev != NULL && sfr_parse_datetime_ms(prev, strlen(prev), &since))
        had_window = true;
    free(prev);
    if (rc == SFR_OK && !had_window)
        rc = start_cursor(&pl, &since, &stored, err);
    if (rc != SFR_OK || since == INT64_MIN)
        return rc; /* an empty mirror: nothing to delete */
    struct timeval tv;
    gettimeofday(&tv, NULL);
    int64_t now = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
    /* Salesforce keeps deletions 15 days and wants more than a minute */
    int64_t start = since - SFR_SYNC_PULL_OVERLAP_MS, oldest = now - 15LL * 86400000 + 60000;
    if (start < oldest) {
        if (had_window)
            sfr_log_warn("%s: the last /deleted window ended more than the 15 days Salesforce "
                         "keeps deletions ago; older deletions are found by the next audit",
                         p->obj->name);
        start = oldest;
    }
    if (start > now - 120000)
        start = now - 120000;
    struct sfr_sf_deleted_rec *d = NULL;
    size_t n = 0;
    int64_t latest = 0;
    /* the window is cut to whole minutes: end a minute ahead so that this
     * minute's deletions are in it; an end Salesforce refuses is retried
     * with now */
    rc = sfr_sf_deleted(s->ctx->sf, p->obj->name, start, now + 60000, &d, &n, &latest, err);
    if (rc == SFR_ESF && err != NULL && strcmp(err->sf_code, "INVALID_REPLICATION_DATE") == 0) {
        sfr_err_clear(err);
        rc = sfr_sf_deleted(s->ctx->sf, p->obj->name, start, now, &d, &n, &latest, err);
    }
    for (size_t k = 0; rc == SFR_OK && k < n; k += SFR_SYNC_PULL_BATCH)
        rc = delete_listed(s, i, d + k, n - k < SFR_SYNC_PULL_BATCH ? n - k : SFR_SYNC_PULL_BATCH,
                           st, err);
    free(d);
    if (rc == SFR_OK) {
        /* the next window starts where Salesforce says this one ended */
        char ts[32];
        sfr_format_datetime_ms(latest > 0 && latest < now ? latest : now, ts);
        rc = sfr_sync_cursor_set(s->ctx->conn, p->obj->name, "deleted", ts, err);
    }
    if (rc != SFR_OK)
        sfr_err_prefix(err, "reading the deletions of %s", p->obj->name);
    return rc;
}
