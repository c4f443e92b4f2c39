/* pg_side.c — the Postgres mirror as a struct sfr_side (DESIGN §3, §5).
 *
 * Invariants:
 *  - Key order is byte order: every range predicate and ORDER BY uses
 *    sfid COLLATE "C" (served by the sfrecon_idx_<table>_sfid_c index that
 *    `sfrecon schema` creates), never the column's collation.
 *  - Rows with sfid NULL (app inserts not yet synced) and rows with
 *    isdeleted true are absent for digests, streams and boundaries, as
 *    Salesforce's query does not return deleted records. fetch returns what
 *    the table holds, duplicates and deleted rows included.
 *  - The stream holds one row at a time: COPY ... TO STDOUT in text format,
 *    split in place, hashed, handed to the callback, freed.
 * One connection per side; not thread-safe (one side per job). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sfrecon/log.h"
#include "sfrecon/pg.h"

#define FETCH_BATCH 1000

struct pg_side {
    struct sfr_side base; /* first: the side handed out is this struct */
    PGconn *conn;
    struct sfr_pg_table *tables; /* facts of the tables used so far */
    int n_tables;
    struct sfr_rowhash h;
};

static struct pg_side *as_pg(struct sfr_side *s)
{
    return (struct pg_side *)s;
}

static const char *schema_of(const struct sfr_projection *p)
{
    return p->schema && p->schema[0] ? p->schema : SFR_PG_DEFAULT_SCHEMA;
}

/* The table facts of p's object (read once per side), checked against p. */
static enum sfr_rc table_for(struct pg_side *ps, const struct sfr_projection *p,
                             const struct sfr_pg_table **out, struct sfr_err *err)
{
    const char *schema = schema_of(p), *table = p->obj->table;
    struct sfr_pg_table *t = NULL;
    for (int i = 0; i < ps->n_tables && t == NULL; i++)
        if (strcmp(ps->tables[i].schema, schema) == 0 && strcmp(ps->tables[i].table, table) == 0)
            t = &ps->tables[i];
    if (t == NULL) {
        struct sfr_pg_table nt;
        enum sfr_rc rc = sfr_pg_table_load(ps->conn, schema, table, &nt, err);
        ps->base.stats.queries++;
        if (rc != SFR_OK)
            return rc;
        ps->tables = sfr_realloc(ps->tables, sizeof(*ps->tables) * (size_t)(ps->n_tables + 1));
        ps->tables[ps->n_tables] = nt;
        t = &ps->tables[ps->n_tables++];
    }
    *out = t;
    return sfr_pg_table_check(t, p, err);
}

/* Select list of the projection's fields in order. */
static void select_list(struct sfr_buf *b, const struct sfr_pg_table *t,
                        const struct sfr_projection *p, const char *alias)
{
    for (int i = 0; i < p->n_fields; i++) {
        if (i > 0)
            sfr_buf_puts(b, ", ");
        const struct sfr_field *f = p->fields[i];
        if (strcmp(f->column, "isdeleted") == 0 && !t->has_isdeleted)
            sfr_buf_puts(b, "NULL::boolean");
        else
            sfr_pg_field_expr(b, f, alias);
    }
}

static bool append_literal(PGconn *conn, struct sfr_buf *b, const char *s)
{
    char *lit = PQescapeLiteral(conn, s, strlen(s));
    if (lit == NULL)
        return false;
    sfr_buf_puts(b, lit);
    PQfreemem(lit);
    return true;
}

/* " FROM t WHERE <live rows of the range>": literals, as COPY takes no parameters. */
static enum sfr_rc range_where(struct pg_side *ps, const struct sfr_pg_table *t,
                               const struct sfr_range *r, struct sfr_buf *b, struct sfr_err *err)
{
    sfr_buf_printf(b, " FROM %s WHERE \"sfid\" IS NOT NULL", t->qname);
    if (t->has_isdeleted)
        sfr_buf_puts(b, " AND \"isdeleted\" IS NOT TRUE");
    const char *bound[2] = {r ? r->lo : NULL, r ? r->hi : NULL};
    for (int k = 0; k < 2; k++) {
        if (bound[k] == NULL)
            continue;
        sfr_buf_printf(b, " AND \"sfid\" COLLATE \"C\" %s ", k == 0 ? ">=" : "<");
        if (!append_literal(ps->conn, b, bound[k]))
            return sfr_pg_error(NULL, ps->conn, err, "range bound of %s", t->display);
    }
    return SFR_OK;
}

/* ---- stream ---- */

static enum sfr_rc pg_stream(struct sfr_side *s, const struct sfr_projection *p,
                             const struct sfr_range *r, long expected_rows, sfr_row_cb cb,
                             void *ctx, struct sfr_err *err)
{
    struct pg_side *ps = as_pg(s);
    const struct sfr_pg_table *t;
    enum sfr_rc rc = table_for(ps, p, &t, err);
    if (rc != SFR_OK)
        return rc;
    struct sfr_buf sql = SFR_BUF_INIT;
    sfr_buf_puts(&sql, "COPY (SELECT ");
    select_list(&sql, t, p, "");
    rc = range_where(ps, t, r, &sql, err);
    if (rc != SFR_OK) {
        sfr_buf_cleanup(&sql);
        return rc;
    }
    sfr_buf_puts(&sql, " ORDER BY \"sfid\" COLLATE \"C\") TO STDOUT");
    rc = sfr_pg_copy_out_begin(ps->conn, sql.data, err, "streaming %s", t->display);
    sfr_buf_cleanup(&sql);
    s->stats.queries++;
    if (rc != SFR_OK)
        return rc;

    int n = p->n_fields;
    const char **vals = sfr_calloc((size_t)n, sizeof(*vals));
    size_t *lens = sfr_calloc((size_t)n, sizeof(*lens));
    struct sfr_row_summary row;
    char *buf;
    int len;
    bool stop = false;
    while (!stop && (len = sfr_pg_copy_out_row(ps->conn, &buf)) > 0) {
        int got = sfr_pg_copy_split(buf, (size_t)len, vals, lens, n);
        if (got != n) {
            rc = sfr_err_set(err, SFR_EPG, "streaming %s: a COPY row has %d fields, expected %d",
                             t->display, got, n);
            PQfreemem(buf);
            break;
        }
        row.hash = sfr_projection_hash(p, &ps->h, SFR_SRC_PG, vals, lens);
        size_t kl = lens[0] < sizeof(row.sfid) - 1 ? lens[0] : sizeof(row.sfid) - 1;
        memcpy(row.sfid, vals[0] ? vals[0] : "", vals[0] ? kl : 0);
        row.sfid[vals[0] ? kl : 0] = '\0';
        row.mod_ms = INT64_MIN;
        if (p->idx_modstamp >= 0 && vals[p->idx_modstamp] != NULL &&
            !sfr_parse_datetime_ms(vals[p->idx_modstamp], lens[p->idx_modstamp], &row.mod_ms))
            row.mod_ms = INT64_MIN;
        s->stats.rows_read++;
        stop = cb(ctx, &row) != 0;
        PQfreemem(buf);
    }
    sfr_free(vals);
    sfr_free(lens);
    /* An early stop drains the rest rather than cancelling: a cancel request
     * can arrive late and hit the next statement on this connection. */
    return sfr_pg_copy_out_end(ps->conn, rc, err, "streaming %s", t->display);
}

/* ---- digest ---- */

static int digest_row(void *ctx, const struct sfr_row_summary *row)
{
    sfr_digest_add_row(ctx, row->hash, row->mod_ms);
    return 0;
}

static enum sfr_rc pg_digest(struct sfr_side *s, const struct sfr_projection *p,
                             const struct sfr_range *r, enum sfr_depth depth,
                             struct sfr_digest *out, struct sfr_err *err)
{
    sfr_digest_init(out);
    if (depth == SFR_DEPTH_CONTENT)
        return pg_stream(s, p, r, -1, digest_row, out, err);

    struct pg_side *ps = as_pg(s);
    const struct sfr_pg_table *t;
    enum sfr_rc rc = table_for(ps, p, &t, err);
    if (rc != SFR_OK)
        return rc;
    struct sfr_buf sql = SFR_BUF_INIT;
    sfr_buf_puts(&sql, "SELECT count(*), max(\"systemmodstamp\")");
    rc = range_where(ps, t, r, &sql, err);
    if (rc != SFR_OK) {
        sfr_buf_cleanup(&sql);
        return rc;
    }
    PGresult *res;
    rc = sfr_pg_query(ps->conn, sql.data, 0, NULL, &res, err, "counting %s", t->display);
    sfr_buf_cleanup(&sql);
    s->stats.queries++;
    if (rc == SFR_OK) {
        out->count = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
        if (!PQgetisnull(res, 0, 1)) {
            const char *v = PQgetvalue(res, 0, 1);
            int64_t ms;
            if (sfr_parse_datetime_ms(v, strlen(v), &ms))
                out->max_mod_ms = ms;
        }
    }
    PQclear(res);
    return rc;
}

/* ---- fetch ---- */

/* {"id1","id2"} text[] literal. */
static void array_literal(struct sfr_buf *b, const char *const *ids, int n)
{
    sfr_buf_putc(b, '{');
    for (int i = 0; i < n; i++) {
        if (i > 0)
            sfr_buf_putc(b, ',');
        sfr_buf_putc(b, '"');
        for (const char *c = ids[i]; *c; c++) {
            if (*c == '"' || *c == '\\')
                sfr_buf_putc(b, '\\');
            sfr_buf_putc(b, *c);
        }
        sfr_buf_putc(b, '"');
    }
    sfr_buf_putc(b, '}');
}

static char *fetch_sql(const struct sfr_pg_table *t, const struct sfr_projection *p)
{
    struct sfr_buf b = SFR_BUF_INIT;
    sfr_buf_puts(&b, "SELECT ");
    select_list(&b, t, p, "t.");
    sfr_buf_printf(
        &b, ", t.id::text, %s, %s, count(*) OVER (PARTITION BY t.\"sfid\"), %s FROM %s AS t",
        t->has_hc_lastop ? "t.\"_hc_lastop\"" : "NULL", t->has_hc_err ? "t.\"_hc_err\"" : "NULL",
        t->has_trigger_log ? "tl.sf_message" : "NULL", t->qname);
    if (t->has_trigger_log)
        sfr_buf_printf(&b,
                       " LEFT JOIN LATERAL (SELECT l.sf_message FROM %s AS l"
                       " WHERE l.state = 'FAILED' AND l.table_name = $2"
                       " AND (l.sfid = t.\"sfid\" OR l.record_id = t.id)"
                       " ORDER BY l.id DESC LIMIT 1) AS tl ON true",
                       t->tlog_qname);
    sfr_buf_puts(&b, " WHERE t.\"sfid\" = ANY ($1::text[]) ORDER BY t.\"sfid\", t.id DESC");
    return sfr_buf_steal(&b);
}

static char *opt_value(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

/* Hands one record per distinct sfid (the row with the highest id) to cb. */
static int emit_records(struct pg_side *ps, const struct sfr_projection *p, PGresult *res,
                        sfr_record_cb cb, void *ctx)
{
    int n = p->n_fields;
    char **values = sfr_calloc((size_t)n, sizeof(*values));
    int stop = 0;
    const char *prev = NULL;
    for (int i = 0; i < PQntuples(res) && !stop; i++) {
        ps->base.stats.rows_read++;
        const char *sfid = PQgetvalue(res, i, 0);
        if (prev != NULL && strcmp(prev, sfid) == 0)
            continue; /* an older duplicate */
        prev = sfid;
        struct sfr_record rec = {0};
        for (int k = 0; k < n; k++)
            values[k] = opt_value(res, i, k);
        rec.sfid = PQgetvalue(res, i, 0);
        rec.values = values;
        rec.n_values = n;
        rec.mod_ms = INT64_MIN;
        if (p->idx_modstamp >= 0 && values[p->idx_modstamp] != NULL &&
            !sfr_parse_datetime_ms(values[p->idx_modstamp], strlen(values[p->idx_modstamp]),
                                   &rec.mod_ms))
            rec.mod_ms = INT64_MIN;
        rec.pg_id = atol(PQgetvalue(res, i, n));
        rec.hc_lastop = opt_value(res, i, n + 1);
        rec.hc_err = opt_value(res, i, n + 2);
        rec.dup_count = atoi(PQgetvalue(res, i, n + 3));
        rec.trigger_failed = opt_value(res, i, n + 4);
        stop = cb(ctx, &rec);
    }
    sfr_free(values);
    return stop;
}

static enum sfr_rc pg_fetch(struct sfr_side *s, const struct sfr_projection *p,
                            const char *const *ids, int n_ids, sfr_record_cb cb, void *ctx,
                            struct sfr_err *err)
{
    struct pg_side *ps = as_pg(s);
    const struct sfr_pg_table *t;
    enum sfr_rc rc = table_for(ps, p, &t, err);
    if (rc != SFR_OK || n_ids <= 0)
        return rc;
    char *sql = fetch_sql(t, p);
    struct sfr_buf arr = SFR_BUF_INIT;
    for (int off = 0; off < n_ids && rc == SFR_OK; off += FETCH_BATCH) {
        int m = n_ids - off < FETCH_BATCH ? n_ids - off : FETCH_BATCH;
        sfr_buf_reset(&arr);
        array_literal(&arr, ids + off, m);
        const char *params[2] = {arr.data, t->table};
        PGresult *res;
        rc = sfr_pg_query(ps->conn, sql, t->has_trigger_log ? 2 : 1, params, &res, err,
                          "fetching %d records of %s", m, t->display);
        s->stats.queries++;
        if (rc == SFR_OK && emit_records(ps, p, res, cb, ctx)) {
            PQclear(res);
            break;
        }
        PQclear(res);
    }
    sfr_buf_cleanup(&arr);
    sfr_free(sql);
    return rc;
}

/* ---- boundaries ---- */

static enum sfr_rc pg_boundaries(struct sfr_side *s, const struct sfr_projection *p, long every,
                                 struct sfr_strv *keys, long *total_rows, struct sfr_err *err)
{
    struct pg_side *ps = as_pg(s);
    if (every <= 0)
        return sfr_err_set(err, SFR_EINVAL, "boundaries: chunk size must be positive, got %ld",
                           every);
    const struct sfr_pg_table *t;
    enum sfr_rc rc = table_for(ps, p, &t, err);
    if (rc != SFR_OK)
        return rc;
    /* One ordered pass over the C-collation index; the keys are picked here,
     * which is cheaper than a window function that numbers every row. */
    struct sfr_buf sql = SFR_BUF_INIT;
    sfr_buf_puts(&sql, "COPY (SELECT \"sfid\"");
    rc = range_where(ps, t, NULL, &sql, err);
    sfr_buf_puts(&sql, " ORDER BY \"sfid\" COLLATE \"C\") TO STDOUT");
    if (rc == SFR_OK) {
        rc = sfr_pg_copy_out_begin(ps->conn, sql.data, err, "sampling keys of %s", t->display);
        s->stats.queries++;
    }
    sfr_buf_cleanup(&sql);
    if (rc != SFR_OK)
        return rc;
    long total = 0;
    char *buf, *last = NULL;
    int len;
    while ((len = sfr_pg_copy_out_row(ps->conn, &buf)) > 0) {
        if (total > 0 && total % every == 0) {
            const char *v;
            size_t vl;
            if (sfr_pg_copy_split(buf, (size_t)len, &v, &vl, 1) == 1 && v != NULL &&
                (last == NULL || strcmp(last, v) != 0)) {
                sfr_strv_push(keys, v);
                last = keys->v[keys->n - 1];
            }
        }
        total++;
        PQfreemem(buf);
    }
    s->stats.rows_read += total;
    rc = sfr_pg_copy_out_end(ps->conn, SFR_OK, err, "streaming %s", t->display);
    if (total_rows != NULL)
        *total_rows = total;
    return rc;
}

/* ---- write ---- */

static enum sfr_rc pg_write(struct sfr_side *s, const struct sfr_projection *p, struct sfr_write *w,
                            int n, int64_t journal_run, struct sfr_err *err)
{
    struct pg_side *ps = as_pg(s);
    const struct sfr_pg_table *t;
    enum sfr_rc rc = table_for(ps, p, &t, err);
    if (rc != SFR_OK)
        return rc;
    return sfr_pg_mirror_write(ps->conn, t, p, w, n, journal_run, &s->stats.rows_written,
                               &s->stats.queries, err);
}

static void pg_free(struct sfr_side *s)
{
    struct pg_side *ps = as_pg(s);
    PQfinish(ps->conn);
    for (int i = 0; i < ps->n_tables; i++)
        sfr_pg_table_cleanup(&ps->tables[i]);
    sfr_free(ps->tables);
    sfr_rowhash_cleanup(&ps->h);
    sfr_free(ps);
}

static const struct sfr_side_ops pg_ops = {
    .name = "postgres",
    .digest = pg_digest,
    .stream = pg_stream,
    .fetch = pg_fetch,
    .boundaries = pg_boundaries,
    .write = pg_write,
    .free = pg_free,
};

struct sfr_side *sfr_pg_side_new(const char *url, struct sfr_err *err)
{
    PGconn *conn;
    if (sfr_pg_connect(url, &conn, err) != SFR_OK)
        return NULL;
    struct pg_side *ps = sfr_calloc(1, sizeof(*ps));
    ps->base.ops = &pg_ops;
    ps->base.src = SFR_SRC_PG;
    ps->conn = conn;
    sfr_rowhash_init(&ps->h);
    return &ps->base;
}

PGconn *sfr_pg_side_conn(struct sfr_side *side)
{
    return side != NULL ? as_pg(side)->conn : NULL;
}
