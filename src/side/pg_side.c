/* pg_side.c — the Postgres mirror as a struct sfr_side (layout: docs/mirror.md).
 *
 * Invariants:
 *  - Key order is byte order. Every range predicate and ORDER BY is written
 *    on the key expression of the table (keyinfo below): the sfid column as it
 *    is when its own collation is byte order (C, POSIX, ucs_basic, builtin
 *    C.UTF-8) and an index serves it, `sfid COLLATE x` when an index on sfid
 *    with byte-order collation x exists (sfrecon_idx_<table>_sfid_c), else
 *    `sfid COLLATE "C"`, which no index serves: such a table is read in
 *    sequential passes (scan, stream_ranges), never chunk by chunk.
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

/* How the key is written in SQL so that byte order is used, and whether an
 * index serves range scans written that way. */
struct keyinfo {
    char *expr;
    bool indexed;
    bool unique; /* a unique index on sfid: no duplicates */
};

struct pg_side {
    struct sfr_side base; /* first: the side handed out is this struct */
    PGconn *conn;
    struct sfr_pg_table *tables; /* facts of the tables used so far */
    struct keyinfo *keys;        /* keys[i] belongs to tables[i] */
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

/* Byte-order collations; the default collation's row (oid 100) is judged
 * by the database's own locale. Provider columns differ between server
 * versions, so they are read through to_jsonb. */
static const char key_sql[] =
    "WITH db AS (SELECT d.datcollate, coalesce(to_jsonb(d)->>'datlocprovider', 'c') AS prov,"
    " coalesce(to_jsonb(d)->>'datlocale', '') AS loc FROM pg_database d"
    " WHERE d.datname = current_database()),"
    " coll AS (SELECT c.oid, n.nspname, c.collname, CASE WHEN c.oid = 100 THEN"
    " (SELECT (prov = 'c' AND datcollate IN ('C', 'POSIX')) OR"
    " (prov = 'b' AND loc IN ('C', 'C.UTF-8')) FROM db)"
    " ELSE (coalesce(to_jsonb(c)->>'collprovider', 'c') = 'c' AND c.collcollate IN ('C', 'POSIX'))"
    " OR (to_jsonb(c)->>'collprovider' = 'b' AND coalesce(to_jsonb(c)->>'colllocale', '')"
    " IN ('C', 'C.UTF-8')) END AS bytewise"
    " FROM pg_collation c JOIN pg_namespace n ON n.oid = c.collnamespace)"
    " SELECT coll.nspname, coll.collname, i.indcollation[0] = a.attcollation"
    " FROM pg_attribute a"
    " JOIN pg_index i ON i.indrelid = a.attrelid AND i.indkey[0] = a.attnum"
    " JOIN pg_class ic ON ic.oid = i.indexrelid"
    " JOIN pg_am am ON am.oid = ic.relam AND am.amname = 'btree'"
    " JOIN pg_opclass opc ON opc.oid = i.indclass[0] AND opc.opcdefault"
    " JOIN coll ON coll.oid = i.indcollation[0]"
    " WHERE a.attrelid = $1::regclass AND a.attname = 'sfid' AND NOT a.attisdropped"
    " AND i.indpred IS NULL AND i.indisvalid AND coll.bytewise"
    " ORDER BY 3 DESC, i.indisunique DESC LIMIT 1";

static enum sfr_rc load_key(struct pg_side *ps, const struct sfr_pg_table *t, struct keyinfo *k,
                            struct sfr_err *err)
{
    const char *params[1] = {t->qname};
    PGresult *res;
    enum sfr_rc rc = sfr_pg_query(ps->conn, key_sql, 1, params, &res, err,
                                  "reading the sfid indexes of %s", t->display);
    ps->base.stats.queries++;
    if (rc != SFR_OK) {
        return rc;
    } else if (PQntuples(res) == 0) {
        k->expr = sfr_strdup("\"sfid\" COLLATE \"C\"");
        k->indexed = false;
    } else if (strcmp(PQgetvalue(res, 0, 2), "t") == 0) {
        k->expr = sfr_strdup("\"sfid\"");
        k->indexed = true;
    } else {
        char *nsp = sfr_pg_quote_ident(ps->conn, PQgetvalue(res, 0, 0));
        char *name = sfr_pg_quote_ident(ps->conn, PQgetvalue(res, 0, 1));
        k->expr = sfr_asprintf("\"sfid\" COLLATE %s.%s", nsp, name);
        k->indexed = true;
        sfr_free(nsp);
        sfr_free(name);
    }
    PQclear(res);
    rc = sfr_pg_query(ps->conn,
                      "SELECT count(*) FROM pg_index i JOIN pg_attribute a"
                      " ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]"
                      " WHERE i.indrelid = $1::regclass AND a.attname = 'sfid'"
                      " AND i.indisunique AND i.indnatts = 1 AND i.indpred IS NULL",
                      1, params, &res, err, "reading the sfid indexes of %s", t->display);
    ps->base.stats.queries++;
    if (rc == SFR_OK) {
        k->unique = atol(PQgetvalue(res, 0, 0)) > 0;
        PQclear(res);
    }
    if (rc == SFR_OK)
        sfr_log_debug("%s: key order by %s (%s)", t->display, k->expr,
                      k->indexed ? "index range scans" : "no byte-order index: sequential passes");
    return rc;
}

/* The table facts of p's object (read once per side), checked against p;
 * *key (when not NULL) receives how its key is ordered. */
static enum sfr_rc table_key_for(struct pg_side *ps, const struct sfr_projection *p,
                                 const struct sfr_pg_table **out, const struct keyinfo **key,
                                 struct sfr_err *err)
{
    const char *schema = schema_of(p), *table = p->obj->table;
    int idx = -1;
    for (int i = 0; i < ps->n_tables && idx < 0; i++)
        if (strcmp(ps->tables[i].schema, schema) == 0 &&
            strcasecmp(ps->tables[i].table, table) == 0)
            idx = i;
    if (idx < 0) {
        struct sfr_pg_table nt;
        struct keyinfo nk = {NULL, false, false};
        enum sfr_rc rc = sfr_pg_table_load(ps->conn, schema, table, &nt, err);
        ps->base.stats.queries++;
        if (rc != SFR_OK)
            return rc;
        rc = load_key(ps, &nt, &nk, err);
        if (rc != SFR_OK) {
            sfr_pg_table_cleanup(&nt);
            return rc;
        }
        ps->tables = sfr_realloc(ps->tables, sizeof(*ps->tables) * (size_t)(ps->n_tables + 1));
        ps->keys = sfr_realloc(ps->keys, sizeof(*ps->keys) * (size_t)(ps->n_tables + 1));
        ps->tables[ps->n_tables] = nt;
        ps->keys[ps->n_tables] = nk;
        idx = ps->n_tables++;
    }
    *out = &ps->tables[idx];
    if (key != NULL)
        *key = &ps->keys[idx];
    return sfr_pg_table_check(*out, p, err);
}

static enum sfr_rc table_for(struct pg_side *ps, const struct sfr_projection *p,
                             const struct sfr_pg_table **out, struct sfr_err *err)
{
    return table_key_for(ps, p, out, NULL, err);
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

/* " WHERE <live rows>": a key, and not deleted. */
static void live_rows(struct sfr_buf *b, const struct sfr_pg_table *t)
{
    sfr_buf_puts(b, " WHERE \"sfid\" IS NOT NULL");
    if (t->has_isdeleted)
        sfr_buf_puts(b, " AND \"isdeleted\" IS NOT TRUE");
}

/* " FROM t WHERE <live rows of the range>": literals, as COPY takes no
 * parameters. The bounds are written on the key expression k. */
static enum sfr_rc range_where(struct pg_side *ps, const struct sfr_pg_table *t,
                               const struct keyinfo *k, const struct sfr_range *r,
                               struct sfr_buf *b, struct sfr_err *err)
{
    sfr_buf_printf(b, " FROM %s", t->qname);
    live_rows(b, t);
    const char *bound[2] = {r ? r->lo : NULL, r ? r->hi : NULL};
    for (int i = 0; i < 2; i++) {
        if (bound[i] == NULL)
            continue;
        sfr_buf_printf(b, " AND %s %s ", k->expr, i == 0 ? ">=" : "<");
        if (!append_literal(ps->conn, b, bound[i]))
            return sfr_pg_error(NULL, ps->conn, err, "range bound of %s", t->display);
    }
    return SFR_OK;
}

/* A statement over the live rows of a key range of p's table: the table,
 * how its key is ordered, and the SQL so far. */
struct range_sql {
    const struct sfr_pg_table *t;
    const struct keyinfo *k;
    struct sfr_buf sql;
};

/* q->sql = head, the projection's select list when fields, then range_where
 * of r (NULL: the whole table). q->sql is the caller's to clean up, also
 * when this fails. */
static enum sfr_rc range_sql(struct pg_side *ps, const struct sfr_projection *p, const char *head,
                             bool fields, const struct sfr_range *r, struct range_sql *q,
                             struct sfr_err *err)
{
    sfr_buf_init(&q->sql);
    enum sfr_rc rc = table_key_for(ps, p, &q->t, &q->k, err);
    if (rc != SFR_OK)
        return rc;
    sfr_buf_puts(&q->sql, head);
    if (fields)
        select_list(&q->sql, q->t, p, "");
    return range_where(ps, q->t, q->k, r, &q->sql, err);
}

/* One element of a text[] literal, quoted. */
static void array_elem(struct sfr_buf *b, const char *v)
{
    sfr_buf_putc(b, '"');
    for (const char *c = v; *c; c++) {
        if (*c == '"' || *c == '\\')
            sfr_buf_putc(b, '\\');
        sfr_buf_putc(b, *c);
    }
    sfr_buf_putc(b, '"');
}

/* ---- stream ---- */

/* Runs a COPY ... TO STDOUT of the projection's columns and hands each row,
 * hashed, to cb. Holds one row at a time. */
static enum sfr_rc copy_rows(struct pg_side *ps, const struct sfr_pg_table *t,
                             const struct sfr_projection *p, const char *sql, sfr_row_cb cb,
                             void *ctx, struct sfr_err *err)
{
    struct sfr_side *s = &ps->base;
    enum sfr_rc rc = sfr_pg_copy_out_begin(ps->conn, sql, err, "streaming %s", t->display);
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
    return sfr_pg_copy_out_end(ps->conn, rc, err, "streaming %s", t->display);
}

/* The live rows of range r (NULL: the whole table) through COPY, in key
 * order when ordered (else in whatever order a sequential pass gives). */
static enum sfr_rc copy_range(struct pg_side *ps, const struct sfr_projection *p,
                              const struct sfr_range *r, bool ordered, sfr_row_cb cb, void *ctx,
                              struct sfr_err *err)
{
    struct range_sql q;
    enum sfr_rc rc = range_sql(ps, p, "COPY (SELECT ", true, r, &q, err);
    if (rc == SFR_OK) {
        if (ordered)
            sfr_buf_printf(&q.sql, " ORDER BY %s", q.k->expr);
        sfr_buf_puts(&q.sql, ") TO STDOUT");
        rc = copy_rows(ps, q.t, p, q.sql.data, cb, ctx, err);
    }
    sfr_buf_cleanup(&q.sql);
    return rc;
}

static enum sfr_rc pg_stream(struct sfr_side *s, const struct sfr_projection *p,
                             const struct sfr_range *r, long expected_rows, sfr_row_cb cb,
                             void *ctx, struct sfr_err *err)
{
    (void)expected_rows;
    return copy_range(as_pg(s), p, r, true, cb, ctx, err);
}

/* ---- single-pass reads (scan.c) ---- */

static enum sfr_rc pg_scan(struct sfr_side *s, const struct sfr_projection *p, sfr_row_cb cb,
                           void *ctx, struct sfr_err *err)
{
    return copy_range(as_pg(s), p, NULL, false, cb, ctx, err);
}

/* The rows of sorted, disjoint ranges. With a byte-order index: one range
 * scan per range. Without: one sequential pass whose filter is a binary
 * search of the key among the range bounds (width_bucket over a sorted
 * array, compared in C order): [lo1, hi1, lo2, hi2, ...] puts a key inside a
 * range exactly when its bucket number is odd. An unbounded lo is the empty
 * string, below every key; an unbounded hi can only be the last. */
static enum sfr_rc pg_stream_ranges(struct sfr_side *s, const struct sfr_projection *p,
                                    const struct sfr_range *r, int n, long expected_rows,
                                    sfr_row_cb cb, void *ctx, struct sfr_err *err)
{
    (void)expected_rows;
    struct pg_side *ps = as_pg(s);
    struct range_sql q;
    enum sfr_rc rc = range_sql(ps, p, "COPY (SELECT ", true, NULL, &q, err);
    if (rc != SFR_OK || n <= 0 || q.k->indexed) {
        sfr_buf_cleanup(&q.sql);
        for (int i = 0; rc == SFR_OK && i < n && q.k->indexed; i++)
            rc = pg_stream(s, p, &r[i], -1, cb, ctx, err);
        return rc;
    }
    /* merge ranges that touch, then list the bounds */
    const char **bv = sfr_calloc((size_t)n * 2 + 1, sizeof(*bv));
    int m = 0;
    for (int i = 0; i < n; i++) {
        const char *lo = r[i].lo ? r[i].lo : "";
        if (m > 0 && bv[m - 1] != NULL && strcmp(bv[m - 1], lo) == 0)
            m--; /* [a, b) + [b, c) = [a, c) */
        else
            bv[m++] = lo;
        bv[m++] = r[i].hi;
        if (r[i].hi == NULL)
            break;
    }
    struct sfr_buf bounds = SFR_BUF_INIT;
    sfr_buf_putc(&bounds, '{');
    for (int i = 0; i < m && bv[i] != NULL; i++) {
        sfr_buf_puts(&bounds, i ? "," : "");
        array_elem(&bounds, bv[i]);
    }
    sfr_buf_putc(&bounds, '}');
    sfr_free(bv);
    sfr_buf_printf(&q.sql, " AND width_bucket(%s, ", q.k->expr);
    if (!append_literal(ps->conn, &q.sql, bounds.data))
        rc = sfr_pg_error(NULL, ps->conn, err, "range bounds of %s", q.t->display);
    if (rc == SFR_OK) {
        sfr_buf_puts(&q.sql, "::text[]) % 2 = 1) TO STDOUT");
        rc = copy_rows(ps, q.t, p, q.sql.data, cb, ctx, err);
    }
    sfr_buf_cleanup(&bounds);
    sfr_buf_cleanup(&q.sql);
    return rc;
}

static enum sfr_rc pg_duplicate_keys(struct sfr_side *s, const struct sfr_projection *p,
                                     struct sfr_strv *keys, struct sfr_err *err)
{
    struct pg_side *ps = as_pg(s);
    struct range_sql q;
    enum sfr_rc rc = range_sql(ps, p, "SELECT \"sfid\"", false, NULL, &q, err);
    PGresult *res = NULL;
    if (rc == SFR_OK && !q.k->unique) {
        sfr_buf_puts(&q.sql, " GROUP BY \"sfid\" HAVING count(*) > 1");
        rc = sfr_pg_query(ps->conn, q.sql.data, 0, NULL, &res, err,
                          "looking for duplicate sfids in %s", q.t->display);
    }
    sfr_buf_cleanup(&q.sql);
    if (rc != SFR_OK || res == NULL) /* a unique index on sfid: no duplicates */
        return rc;
    s->stats.queries++;
    for (int i = 0; i < PQntuples(res); i++)
        sfr_strv_push(keys, PQgetvalue(res, i, 0));
    PQclear(res);
    return rc;
}

static bool pg_ranges_indexed(struct sfr_side *s, const struct sfr_projection *p,
                              struct sfr_err *err)
{
    const struct sfr_pg_table *t;
    const struct keyinfo *k;
    return table_key_for(as_pg(s), p, &t, &k, err) == SFR_OK && k->indexed;
}

/* Live rows as the planner estimates them (reltuples scaled to the table's
 * current size, as the planner does), or -1 when never analysed. */
static long estimate_rows(struct pg_side *ps, const struct sfr_pg_table *t)
{
    const char *params[1] = {t->qname};
    PGresult *res;
    struct sfr_err e;
    ps->base.stats.queries++;
    if (sfr_pg_query_one(ps->conn,
                         "SELECT CASE WHEN c.reltuples > 0 AND c.relpages > 0 THEN"
                         " (c.reltuples / c.relpages * greatest(1,"
                         " pg_relation_size(c.oid) / current_setting('block_size')::int))"
                         "::bigint ELSE -1 END FROM pg_class c WHERE c.oid = $1::regclass",
                         1, params, &res, &e, "estimating the rows of %s", t->display) != SFR_OK)
        return -1;
    long n = atol(PQgetvalue(res, 0, 0));
    PQclear(res);
    return n;
}

/* Live rows counted (one sequential pass), -1 on error. */
static long count_rows(struct pg_side *ps, const struct sfr_projection *p, struct sfr_err *err)
{
    struct range_sql q;
    long n = -1;
    PGresult *res;
    if (range_sql(ps, p, "SELECT count(*)", false, NULL, &q, err) == SFR_OK &&
        sfr_pg_query(ps->conn, q.sql.data, 0, NULL, &res, err, "counting %s", q.t->display) ==
            SFR_OK) {
        ps->base.stats.queries++;
        n = atol(PQgetvalue(res, 0, 0));
        PQclear(res);
    }
    sfr_buf_cleanup(&q.sql);
    return n;
}

/* Keys at random: TABLESAMPLE BERNOULLI (every row has the same chance, one
 * pass over the pages, only the drawn keys travel) at the rate asked, the
 * row count estimated by the planner's statistics, or counted when the
 * table was never analysed. A table smaller than a few samples' worth is
 * read whole. */
static enum sfr_rc pg_sample_keys(struct sfr_side *s, const struct sfr_projection *p, long every,
                                  long max_keys, struct sfr_strv *keys, long *total_est,
                                  struct sfr_err *err)
{
    struct pg_side *ps = as_pg(s);
    const struct sfr_pg_table *t;
    enum sfr_rc rc = table_for(ps, p, &t, err);
    if (rc != SFR_OK)
        return rc;
    if (every < 1)
        every = 1;
    long est = estimate_rows(ps, t);
    if (est < 0 && (est = count_rows(ps, p, err)) < 0)
        return err != NULL && err->rc != SFR_OK ? err->rc : SFR_EPG;
    double pct = 100.0 / (double)every;
    if (max_keys > 0 && est > 0 && pct * (double)est / 100.0 > (double)max_keys)
        pct = 100.0 * (double)max_keys / (double)est;
    bool sampled = pct < 50.0;
    struct sfr_buf sql = SFR_BUF_INIT;
    sfr_buf_printf(&sql, "COPY (SELECT \"sfid\" FROM %s", t->qname);
    if (sampled)
        sfr_buf_printf(&sql, " TABLESAMPLE BERNOULLI (%.6f) REPEATABLE (1)", pct);
    live_rows(&sql, t);
    sfr_buf_puts(&sql, ") TO STDOUT");
    rc = sfr_pg_copy_out_begin(ps->conn, sql.data, err, "sampling keys of %s", t->display);
    sfr_buf_cleanup(&sql);
    s->stats.queries++;
    if (rc != SFR_OK)
        return rc;
    long seen = 0;
    char *buf;
    int len;
    while ((len = sfr_pg_copy_out_row(ps->conn, &buf)) > 0) {
        const char *v;
        size_t vl;
        if (sfr_pg_copy_split(buf, (size_t)len, &v, &vl, 1) == 1 && v != NULL) {
            seen++;
            sfr_strv_push(keys, v);
        }
        PQfreemem(buf);
    }
    s->stats.rows_read += seen;
    rc = sfr_pg_copy_out_end(ps->conn, SFR_OK, err, "sampling keys of %s", t->display);
    if (total_est != NULL)
        *total_est = sampled ? est : seen;
    sfr_log_debug("%s: %ld keys sampled (%.4f%%), about %ld rows", t->display, seen,
                  sampled ? pct : 100.0, sampled ? est : seen);
    return rc;
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
    struct range_sql q;
    enum sfr_rc rc =
        range_sql(ps, p, "SELECT count(*), max(\"systemmodstamp\")", false, r, &q, err);
    if (rc != SFR_OK) {
        sfr_buf_cleanup(&q.sql);
        return rc;
    }
    PGresult *res;
    rc = sfr_pg_query(ps->conn, q.sql.data, 0, NULL, &res, err, "counting %s", q.t->display);
    sfr_buf_cleanup(&q.sql);
    s->stats.queries++;
    if (rc == SFR_OK) {
        out->count = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
        if (!PQgetisnull(res, 0, 1)) {
            const char *v = PQgetvalue(res, 0, 1);
            int64_t ms;
            if (sfr_parse_datetime_ms(v, strlen(v), &ms))
                out->max_mod_ms = ms;
        }
        PQclear(res);
    }
    return rc;
}

/* ---- fetch ---- */

static char *fetch_sql(const struct sfr_pg_table *t, const struct sfr_projection *p)
{
    struct sfr_buf b = SFR_BUF_INIT;
    sfr_buf_puts(&b, "SELECT ");
    select_list(&b, t, p, "t.");
    sfr_buf_printf(
        &b, ", t.id::text, %s, %s, count(*) OVER (PARTITION BY t.\"sfid\"), %s, %s",
        t->has_hc_lastop ? "t.\"_hc_lastop\"" : "NULL", t->has_hc_err ? "t.\"_hc_err\"" : "NULL",
        t->has_trigger_log ? "CASE WHEN tl.state = 'FAILED' THEN coalesce(tl.sf_message, '') END"
                           : "NULL",
        t->has_trigger_log ? "tq.ms" : "NULL");
    sfr_pg_relext_select(&b, t, p, "t.");
    sfr_buf_printf(&b, " FROM %s AS t", t->qname);
    if (t->has_trigger_log) {
        const char *entries = "SELECT l.id, l.state, l.sf_message FROM %s AS l"
                              " WHERE l.table_name = $2 AND l.state NOT IN ('IGNORE', 'MERGED')"
                              " AND (l.sfid = t.\"sfid\" OR l.record_id = t.id)";
        sfr_buf_puts(&b, " LEFT JOIN LATERAL (SELECT e.state, e.sf_message FROM (");
        sfr_buf_printf(&b, entries, t->tlog_qname);
        if (t->has_trigger_log_archive) {
            sfr_buf_puts(&b, " UNION ALL ");
            sfr_buf_printf(&b, entries, t->tlog_archive_qname);
        }
        sfr_buf_printf(&b,
                       ") AS e ORDER BY e.id DESC LIMIT 1) AS tl ON true"
                       " LEFT JOIN LATERAL (SELECT floor(extract(epoch FROM min(q.created_at))"
                       " * 1000)::bigint::text AS ms FROM %s AS q WHERE q.table_name = $2"
                       " AND q.record_id = t.id AND q.state IN ('NEW', 'PENDING')) AS tq ON true",
                       t->tlog_qname);
    }
    sfr_buf_puts(&b, " WHERE t.\"sfid\" = ANY ($1::text[]) ORDER BY t.\"sfid\", t.id DESC");
    return sfr_buf_steal(&b);
}

static char *opt_value(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

/* Hands one record per distinct sfid (the row with the highest id) to cb. */
static int emit_records(struct pg_side *ps, const struct sfr_pg_table *t,
                        const struct sfr_projection *p, PGresult *res, sfr_record_cb cb, void *ctx)
{
    int n = p->n_fields;
    char **values = sfr_calloc((size_t)n, sizeof(*values));
    char **rel = sfr_calloc((size_t)p->n_relext + 1, sizeof(*rel));
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
        rec.queued_ms = PQgetisnull(res, i, n + 5) ? INT64_MIN : atoll(PQgetvalue(res, i, n + 5));
        rec.has_status = t->has_hc_lastop;
        rec.has_tlog = t->has_trigger_log;
        for (int k = 0; k < p->n_relext; k++)
            rel[k] = opt_value(res, i, n + 6 + k);
        rec.rel_values = p->n_relext > 0 ? rel : NULL;
        rec.n_rel = p->n_relext;
        stop = cb(ctx, &rec);
    }
    sfr_free(values);
    sfr_free(rel);
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
        sfr_pg_array_append(&arr, ids + off, m);
        const char *params[2] = {arr.data, t->table};
        PGresult *res;
        rc = sfr_pg_query(ps->conn, sql, t->has_trigger_log ? 2 : 1, params, &res, err,
                          "fetching %d records of %s", m, t->display);
        s->stats.queries++;
        if (rc == SFR_OK && emit_records(ps, t, p, res, cb, ctx)) {
            PQclear(res);
            break;
        }
        if (rc == SFR_OK)
            PQclear(res);
    }
    sfr_buf_cleanup(&arr);
    sfr_free(sql);
    return rc;
}

/* ---- boundaries ---- */

/* Starts one COPY of head's columns over every live row in key order (one
 * ordered pass over the byte-order index, a sort without one); *t receives
 * the table. what names the read in errors. */
static enum sfr_rc copy_in_key_order(struct pg_side *ps, const struct sfr_projection *p,
                                     const char *head, const char *what,
                                     const struct sfr_pg_table **t, struct sfr_err *err)
{
    struct range_sql q;
    enum sfr_rc rc = range_sql(ps, p, head, false, NULL, &q, err);
    if (rc == SFR_OK) {
        *t = q.t;
        sfr_buf_printf(&q.sql, " ORDER BY %s) TO STDOUT", q.k->expr);
        rc = sfr_pg_copy_out_begin(ps->conn, q.sql.data, err, "%s %s", what, q.t->display);
        ps->base.stats.queries++;
    }
    sfr_buf_cleanup(&q.sql);
    return rc;
}

static enum sfr_rc pg_boundaries(struct sfr_side *s, const struct sfr_projection *p, long every,
                                 struct sfr_strv *keys, long *total_rows, struct sfr_err *err)
{
    struct pg_side *ps = as_pg(s);
    if (every <= 0)
        return sfr_err_set(err, SFR_EINVAL, "boundaries: chunk size must be positive, got %ld",
                           every);
    /* the keys are picked here, which is cheaper than a window function
     * that numbers every row */
    const struct sfr_pg_table *t;
    enum sfr_rc rc = copy_in_key_order(ps, p, "COPY (SELECT \"sfid\"", "sampling keys of", &t, err);
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
    rc = sfr_pg_copy_out_end(ps->conn, SFR_OK, err, "sampling keys of %s", t->display);
    if (total_rows != NULL)
        *total_rows = total;
    return rc;
}

/* One ordered pass over (sfid, systemmodstamp): a key every `every` rows
 * and the count and max modstamp of each part between them. */
static enum sfr_rc pg_key_digests(struct sfr_side *s, const struct sfr_projection *p, long every,
                                  struct sfr_strv *keys, struct sfr_digest **parts,
                                  struct sfr_err *err)
{
    struct pg_side *ps = as_pg(s);
    *parts = NULL;
    if (every <= 0)
        return sfr_err_set(err, SFR_EINVAL, "key digests: part size must be positive, got %ld",
                           every);
    const struct sfr_pg_table *t;
    enum sfr_rc rc =
        copy_in_key_order(ps, p,
                          p->idx_modstamp >= 0 ? "COPY (SELECT \"sfid\", \"systemmodstamp\""
                                               : "COPY (SELECT \"sfid\", NULL",
                          "counting parts of", &t, err);
    if (rc != SFR_OK)
        return rc;
    size_t cap = 64, n = 1;
    struct sfr_digest *d = sfr_calloc(cap, sizeof(*d));
    sfr_digest_init(&d[0]);
    long total = 0;
    char *buf, *last = NULL;
    int len;
    while ((len = sfr_pg_copy_out_row(ps->conn, &buf)) > 0) {
        const char *v[2];
        size_t vl[2];
        if (sfr_pg_copy_split(buf, (size_t)len, v, vl, 2) == 2 && v[0] != NULL) {
            if (total > 0 && total % every == 0 && (last == NULL || strcmp(last, v[0]) != 0)) {
                sfr_strv_push(keys, v[0]);
                last = keys->v[keys->n - 1];
                if (n == cap) {
                    cap *= 2;
                    d = sfr_realloc(d, cap * sizeof(*d));
                }
                sfr_digest_init(&d[n++]);
            }
            int64_t ms = INT64_MIN;
            if (v[1] == NULL || !sfr_parse_datetime_ms(v[1], vl[1], &ms))
                ms = INT64_MIN;
            sfr_digest_add_row(&d[n - 1], 0, ms);
            total++;
        }
        PQfreemem(buf);
    }
    s->stats.rows_read += total;
    rc = sfr_pg_copy_out_end(ps->conn, SFR_OK, err, "counting parts of %s", t->display);
    if (rc != SFR_OK) {
        free(d);
        return rc;
    }
    *parts = d;
    return SFR_OK;
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
    for (int i = 0; i < ps->n_tables; i++) {
        sfr_pg_table_cleanup(&ps->tables[i]);
        sfr_free(ps->keys[i].expr);
    }
    sfr_free(ps->tables);
    sfr_free(ps->keys);
    sfr_rowhash_cleanup(&ps->h);
    sfr_free(ps);
}

/* ---- changed keys ---- */

/* Rows whose systemmodstamp is after since_ms, deleted ones included (the
 * mirror as the source of a Postgres-to-Postgres audit). */
static enum sfr_rc pg_changed_keys(struct sfr_side *s, const struct sfr_projection *p,
                                   int64_t since_ms, long max, struct sfr_strv *keys, bool *more,
                                   struct sfr_err *err)
{
    struct pg_side *ps = as_pg(s);
    const struct sfr_pg_table *t;
    enum sfr_rc rc = table_for(ps, p, &t, err);
    if (rc != SFR_OK)
        return rc;
    char ts[40], lim[32];
    sfr_format_datetime_pg(since_ms, ts);
    snprintf(lim, sizeof(lim), "%ld", max + 1); /* one more: are there more? */
    char *sql = sfr_asprintf("SELECT \"sfid\" FROM %s WHERE \"systemmodstamp\" > $1::timestamp "
                             "AND \"sfid\" IS NOT NULL LIMIT $2::bigint",
                             t->qname);
    const char *params[2] = {ts, max >= 0 ? lim : NULL}; /* LIMIT NULL: all */
    PGresult *r = NULL;
    rc = sfr_pg_query(ps->conn, sql, 2, params, &r, err, "reading the changed keys of %s",
                      t->display);
    free(sql);
    s->stats.queries++;
    if (rc != SFR_OK)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        if (max >= 0 && i >= max) {
            *more = true;
            break;
        }
        sfr_strv_push(keys, PQgetvalue(r, i, 0));
    }
    PQclear(r);
    return SFR_OK;
}

static const struct sfr_side_ops pg_ops = {
    .name = "postgres",
    .digest = pg_digest,
    .stream = pg_stream,
    .fetch = pg_fetch,
    .boundaries = pg_boundaries,
    .write = pg_write,
    .free = pg_free,
    .scan = pg_scan,
    .stream_ranges = pg_stream_ranges,
    .sample_keys = pg_sample_keys,
    .ranges_indexed = pg_ranges_indexed,
    .duplicate_keys = pg_duplicate_keys,
    .changed_keys = pg_changed_keys,
    .key_digests = pg_key_digests,
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
