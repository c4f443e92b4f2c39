/* soql_sql.c — translation of a parsed SOQL query (see soql_internal.h) to one
 * SQL statement over the sfemu store: soql_to_sql and soql_count_sql.
 *
 * Every literal becomes a $n parameter cast in the SQL; identifiers come only
 * from the schema and are double-quoted; text other than Ids is compared
 * case-insensitively under the database's default collation (lower() ...
 * COLLATE "default"), Ids in byte order (COLLATE "C"). NOT wraps its operand in
 * COALESCE(..., false) to keep SOQL's two-valued logic. Every selected column
 * is rendered as Salesforce wire text. */
#include "soql_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

struct emit {
    struct sfr_buf *b;
    char **params;
    int n, overflow;
};

static int param(struct emit *e, const char *s)
{
    if (e->n >= SOQL_MAX_PARAMS) {
        e->overflow = 1;
        return 0;
    }
    e->params[e->n++] = sfr_strdup(s);
    return e->n;
}

static void put_ident(struct sfr_buf *b, const char *name, int lower)
{
    sfr_buf_putc(b, '"');
    for (; *name; name++) {
        if (*name == '"')
            sfr_buf_putc(b, '"');
        sfr_buf_putc(b, lower ? (char)tolower((unsigned char)*name) : *name);
    }
    sfr_buf_putc(b, '"');
}

static void put_col(struct sfr_buf *b, const struct sfr_field *f)
{
    put_ident(b, f->column ? f->column : f->name, f->column == NULL);
}

/* Comparison operand of the column: lower() for case-insensitive text. */
static void put_lhs(struct emit *e, const struct sfr_field *f)
{
    int text = field_class(f) == FC_TEXT;
    sfr_buf_puts(e->b, text ? "lower(" : "");
    put_col(e->b, f);
    sfr_buf_puts(e->b, text ? " COLLATE \"default\")" : "");
}

static const char *cast_of(const struct sfr_field *f)
{
    switch (field_class(f)) {
    case FC_BOOL:
        return "boolean";
    case FC_NUM:
        return "numeric";
    case FC_DATE:
        return "date";
    case FC_DATETIME:
        return "timestamp";
    default:
        return "text";
    }
}

/* A parameter cast to the field's type ("[]" for an array); Ids in byte order. */
static void put_rhs(struct emit *e, const struct sfr_field *f, const char *value, int array)
{
    enum fclass fc = field_class(f);
    int n = param(e, value);
    if (fc == FC_TEXT)
        sfr_buf_printf(e->b, "lower($%d::text COLLATE \"default\")%s", n, array ? "::text[]" : "");
    else
        sfr_buf_printf(e->b, "$%d::%s%s%s", n, cast_of(f), array ? "[]" : "",
                       fc == FC_ID ? " COLLATE \"C\"" : "");
}

/* A relative date literal is the day range [a, b): = is inside, != outside
 * (or null), < before a, <= before b, > from b on, >= from a on. */
static void emit_range(struct emit *e, const struct cond *c)
{
    const struct sfr_field *f = c->f;
    const char *cast = cast_of(f);
    struct sfr_buf *o = e->b;
    if (c->op == OP_EQ || c->op == OP_NE) {
        int eq = c->op == OP_EQ;
        sfr_buf_putc(o, '(');
        if (!eq) {
            put_col(o, f);
            sfr_buf_puts(o, " IS NULL OR ");
        }
        put_col(o, f);
        sfr_buf_printf(o, eq ? " >= $%d::%s AND " : " < $%d::%s OR ", param(e, c->v.a), cast);
        put_col(o, f);
        sfr_buf_printf(o, eq ? " < $%d::%s)" : " >= $%d::%s)", param(e, c->v.b), cast);
        return;
    }
    int lower_bound = c->op == OP_LT || c->op == OP_GE;
    put_col(o, f);
    sfr_buf_printf(o, " %s $%d::%s", c->op == OP_LT || c->op == OP_LE ? "<" : ">=",
                   param(e, lower_bound ? c->v.a : c->v.b), cast);
}

static void emit_cmp(struct emit *e, const struct cond *c)
{
    static const char *const ops[] = {"=", "IS DISTINCT FROM", "<", "<=", ">", ">="};
    const struct sfr_field *f = c->f;
    struct sfr_buf *o = e->b;
    if (c->v.k == V_NULL) {
        put_col(o, f);
        sfr_buf_puts(o, c->op == OP_EQ ? " IS NULL" : " IS NOT NULL");
    } else if (c->v.k == V_RANGE) {
        emit_range(e, c);
    } else if (field_class(f) == FC_TEXT && c->v.a[0] == '\0' &&
               (c->op == OP_EQ || c->op == OP_NE)) {
        /* Salesforce stores '' as null: = '' matches both */
        sfr_buf_putc(o, '(');
        put_col(o, f);
        sfr_buf_puts(o, c->op == OP_EQ ? " IS NULL OR " : " IS NOT NULL AND ");
        put_col(o, f);
        sfr_buf_printf(o, c->op == OP_EQ ? " = $%d::text)" : " <> $%d::text)", param(e, ""));
    } else {
        put_lhs(e, f);
        sfr_buf_printf(o, " %s ", ops[c->op]);
        put_rhs(e, f, c->v.a, 0);
    }
}

static void emit_cond(struct emit *e, const struct cond *c)
{
    struct sfr_buf *o = e->b;
    switch (c->k) {
    case C_AND:
    case C_OR:
        sfr_buf_putc(o, '(');
        emit_cond(e, c->l);
        sfr_buf_puts(o, c->k == C_AND ? " AND " : " OR ");
        emit_cond(e, c->r);
        sfr_buf_putc(o, ')');
        break;
    case C_NOT:
        sfr_buf_puts(o, "NOT COALESCE(");
        emit_cond(e, c->l);
        sfr_buf_puts(o, ", false)");
        break;
    case C_CMP:
        emit_cmp(e, c);
        break;
    case C_LIKE:
        put_col(o, c->f);
        sfr_buf_printf(o, " COLLATE \"default\" ILIKE $%d::text", param(e, c->v.a));
        break;
    case C_IN:
        sfr_buf_puts(o, c->negated ? "NOT (" : "(");
        if (c->v.a) {
            /* A positive IN needs no COALESCE (a null row is excluded either
             * way, and an enclosing NOT coalesces itself); leaving the bare
             * "= ANY" lets Postgres use the primary-key index for Id IN. */
            if (c->negated)
                sfr_buf_puts(o, "COALESCE(");
            put_lhs(e, c->f);
            sfr_buf_puts(o, " = ANY(");
            put_rhs(e, c->f, c->v.a, 1);
            sfr_buf_puts(o, c->negated ? "), false)" : ")");
        }
        if (c->v.a && c->in_null)
            sfr_buf_puts(o, " OR ");
        if (c->in_null) {
            put_col(o, c->f);
            sfr_buf_puts(o, " IS NULL");
        }
        sfr_buf_putc(o, ')');
        break;
    }
}

/* Salesforce wire text of a value expression of type t. */
static void put_wire(struct sfr_buf *b, enum sfr_ftype t, const char *x)
{
    switch (t) {
    case SFR_FT_DATETIME:
        sfr_buf_printf(b, "to_char(%s, 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"+0000\"')", x);
        break;
    case SFR_FT_DATE:
        sfr_buf_printf(b, "to_char(%s, 'YYYY-MM-DD')", x);
        break;
    case SFR_FT_TIME:
        sfr_buf_printf(b, "to_char(%s, 'HH24:MI:SS.MS\"Z\"')", x);
        break;
    case SFR_FT_DOUBLE:
    case SFR_FT_CURRENCY:
    case SFR_FT_PERCENT:
        /* Java prints integral doubles with ".0": 786000 -> 786000.0 */
        sfr_buf_printf(b,
                       "CASE WHEN %s = trunc(%s) AND abs(%s) < 1e15 THEN "
                       "trunc(%s)::bigint::text || '.0' ELSE (%s)::text END",
                       x, x, x, x, x);
        break;
    case SFR_FT_BOOLEAN:
    case SFR_FT_INT:
    case SFR_FT_LONG:
        sfr_buf_printf(b, "(%s)::text", x);
        break;
    default:
        sfr_buf_puts(b, x);
        break;
    }
}

static void put_select_col(struct sfr_buf *b, const struct col *c)
{
    static const char *const fn[] = {"", "count", "count", "max", "min", "sum", "avg"};
    struct sfr_buf x = SFR_BUF_INIT;
    if (c->agg != AGG_NONE)
        sfr_buf_printf(&x, "%s(%s", fn[c->agg], c->agg == AGG_COUNT_DISTINCT ? "DISTINCT " : "");
    put_col(&x, c->f);
    if (c->agg == AGG_AVG || (c->agg == AGG_SUM && is_double(c->f)))
        sfr_buf_puts(&x, ")::float8");
    else if (c->agg != AGG_NONE)
        sfr_buf_putc(&x, ')');
    enum sfr_ftype t = c->f->type;
    if (c->agg == AGG_COUNT || c->agg == AGG_COUNT_DISTINCT || c->agg == AGG_SUM)
        t = c->agg == AGG_SUM && is_double(c->f) ? SFR_FT_DOUBLE : SFR_FT_LONG;
    else if (c->agg == AGG_AVG)
        t = SFR_FT_DOUBLE;
    put_wire(b, t, x.data);
    sfr_buf_cleanup(&x);
}

static void put_from_where(struct emit *e, const struct soql_query *q, int include_deleted,
                           const char *after_id)
{
    struct sfr_buf *o = e->b;
    sfr_buf_puts(o, " FROM sfemu.");
    put_ident(o, q->obj->table ? q->obj->table : q->obj->name, q->obj->table == NULL);
    const char *sep = " WHERE ";
    if (q->where) {
        sfr_buf_puts(o, sep);
        emit_cond(e, q->where);
        sep = " AND ";
    }
    if (!include_deleted) {
        sfr_buf_printf(o, "%sNOT \"isdeleted\"", sep);
        sep = " AND ";
    }
    if (after_id)
        sfr_buf_printf(o, "%s\"id\" > $%d::text COLLATE \"C\"", sep, param(e, after_id));
}

static void put_order(struct sfr_buf *o, const struct soql_query *q)
{
    sfr_buf_puts(o, " ORDER BY ");
    int has_id = 0;
    for (int k = 0; k < q->norders; k++) {
        const struct order *r = &q->orders[k];
        const char *dir = r->desc ? " DESC" : " ASC";
        const char *nulls = r->nulls_first ? " NULLS FIRST" : " NULLS LAST";
        if (field_class(r->f) == FC_TEXT) { /* case-insensitive, then byte order */
            sfr_buf_puts(o, "lower(");
            put_col(o, r->f);
            sfr_buf_printf(o, " COLLATE \"default\")%s%s, ", dir, nulls);
        }
        put_col(o, r->f);
        /* the primary key is never NULL: a NULLS clause on it would only stop
         * Postgres from reading the primary-key index in order */
        bool pk = r->f->type == SFR_FT_ID;
        sfr_buf_printf(o, "%s%s%s, ", field_class(r->f) == FC_ID ? " COLLATE \"C\"" : "", dir,
                       pk ? "" : nulls);
        has_id |= r->f->type == SFR_FT_ID;
    }
    if (has_id)
        o->len -= 2, o->data[o->len] = '\0';
    else
        sfr_buf_puts(o, "\"id\" COLLATE \"C\" ASC");
}

/* count(*) as text of the rows the query selects, within its LIMIT/OFFSET. */
static void put_count(struct emit *e, const struct soql_query *q, int include_deleted)
{
    struct sfr_buf *sql = e->b;
    int sub = q->limit >= 0 || q->offset > 0;
    sfr_buf_puts(sql, sub ? "count(*)::text FROM (SELECT 1" : "count(*)::text");
    put_from_where(e, q, include_deleted, NULL);
    if (q->limit >= 0)
        sfr_buf_printf(sql, " LIMIT %ld", q->limit);
    if (q->offset > 0)
        sfr_buf_printf(sql, " OFFSET %ld", q->offset);
    if (sub)
        sfr_buf_puts(sql, ") AS s");
}

static int finish(struct emit *e, int *nparams)
{
    if (e->overflow) {
        for (int k = 0; k < e->n; k++)
            free(e->params[k]);
        *nparams = 0;
        sfr_buf_reset(e->b);
        return -1;
    }
    *nparams = e->n;
    return 0;
}

int soql_to_sql(const struct soql_query *q, int include_deleted, const char *after_id,
                long page_limit, long offset, struct sfr_buf *sql, char **params, int *nparams)
{
    struct emit e = {sql, params, 0, 0};
    sfr_buf_reset(sql);
    sfr_buf_puts(sql, "SELECT ");
    if (q->count_only) {
        put_count(&e, q, include_deleted);
    } else {
        for (int k = 0; k < q->ncols; k++) {
            if (k)
                sfr_buf_puts(sql, ", ");
            put_select_col(sql, &q->cols[k]);
        }
        if (!q->aggregate)
            sfr_buf_puts(sql, ", \"id\"");
        put_from_where(&e, q, include_deleted, q->aggregate ? NULL : after_id);
    }
    if (!q->count_only && !q->aggregate) {
        put_order(sql, q);
        long skip = offset > 0 ? offset : 0;
        long lim = q->limit;
        if (lim >= 0 && !after_id)
            lim = lim > skip ? lim - skip : 0;
        if (page_limit >= 0 && (lim < 0 || page_limit < lim))
            lim = page_limit;
        if (!after_id)
            skip += q->offset;
        if (lim >= 0)
            sfr_buf_printf(sql, " LIMIT %ld", lim);
        if (skip > 0)
            sfr_buf_printf(sql, " OFFSET %ld", skip);
    }
    return finish(&e, nparams);
}

int soql_count_sql(const struct soql_query *q, int include_deleted, struct sfr_buf *sql,
                   char **params, int *nparams)
{
    struct emit e = {sql, params, 0, 0};
    sfr_buf_reset(sql);
    sfr_buf_puts(sql, "SELECT ");
    put_count(&e, q, include_deleted);
    return finish(&e, nparams);
}
