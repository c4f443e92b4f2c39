/* soql.c — the recursive-descent parser (SELECT list, FROM, WHERE, ORDER BY,
 * LIMIT, OFFSET) and public accessors of the SOQL subset sfemu serves (see
 * soql.h and docs/soql.md); tokens and literals are in soql_lex.c, the
 * translation to SQL in soql_sql.c, the shared query tree and parser state in
 * soql_internal.h.
 *
 * The parser resolves every field against the schema while parsing, checks the
 * literal against the field's type and stores it already converted to the
 * text the SQL casts back (Ids widened to 18 characters, datetimes in UTC,
 * LIKE patterns in Postgres syntax). The WHERE tree keeps SOQL's two-valued
 * logic: a comparison with a null field is false, `!=` and NOT IN match nulls,
 * and NOT wraps its operand in COALESCE(..., false). Text other than Ids is
 * compared case-insensitively under the database's default collation (the
 * columns are COLLATE "C", whose lower() folds ASCII only); Ids in byte order.
 *
 * Depends only on src/core (mem, sfid) and the schema structs; the schema
 * lookups are local (soql_lex.c) so the parser links without
 * src/core/schema.c. */
#include "soql_internal.h"
#include "sfrecon/canon.h"
#include "sfrecon/sfid.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_DEPTH 64
/* ---- WHERE --------------------------------------------------------------------------------- */

static void cond_free(struct cond *c)
{
    if (c == NULL)
        return;
    cond_free(c->l);
    cond_free(c->r);
    sfr_free(c->v.a);
    sfr_free(c->v.b);
    sfr_free(c);
}

static struct cond *cond_new(enum ckind k, struct cond *l, struct cond *r)
{
    struct cond *c = sfr_calloc(1, sizeof *c);
    c->k = k;
    c->l = l;
    c->r = r;
    return c;
}

/* Appends one element to a Postgres array literal: "..." with \ and " escaped. */
static void array_add(struct sfr_buf *b, const char *s)
{
    sfr_buf_putc(b, b->len == 0 ? '{' : ',');
    sfr_buf_putc(b, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            sfr_buf_putc(b, '\\');
        sfr_buf_putc(b, *s);
    }
    sfr_buf_putc(b, '"');
}

/* field [NOT] IN ( value, ... ) -> c->v.a = array literal of the non-null values. */
static int parse_in(struct parser *p, struct cond *c)
{
    if (sq_cur(p)->kind != T_LP)
        return sq_unexpected(p, sq_cur(p), "'('");
    p->i++;
    if (sq_kw(p, "SELECT"))
        return sq_set_err(p, "MALFORMED_QUERY",
                          "sfemu does not support semi-join subqueries (at %s)",
                          sq_at(p, sq_cur(p)->pos));
    if (sq_cur(p)->kind == T_RP)
        return sq_unexpected(p, sq_cur(p), "a value");
    struct sfr_buf arr = SFR_BUF_INIT;
    for (;;) {
        struct value v = {V_NULL, NULL, NULL};
        if (sq_parse_value(p, c->f, OP_EQ, 1, &v) < 0) {
            sfr_free(v.a);
            sfr_buf_cleanup(&arr);
            return -1;
        }
        if (v.k == V_NULL)
            c->in_null = 1;
        else
            array_add(&arr, v.a);
        sfr_free(v.a);
        if (sq_cur(p)->kind == T_COMMA) {
            p->i++;
            continue;
        }
        if (sq_cur(p)->kind == T_RP)
            break;
        sfr_buf_cleanup(&arr);
        return sq_unexpected(p, sq_cur(p), "',' or ')'");
    }
    p->i++;
    if (arr.len) {
        sfr_buf_putc(&arr, '}');
        c->v.a = sfr_buf_steal(&arr);
        p->nparams++;
    }
    return 0;
}

/* ident ( '.' ident )* at the current token; returns the part count or -1. */
static int parse_path(struct parser *p, int *first)
{
    if (sq_cur(p)->kind != T_IDENT)
        return sq_unexpected(p, sq_cur(p), "a field name");
    *first = p->i++;
    int n = 1;
    while (sq_cur(p)->kind == T_DOT && p->toks[p->i + 1].kind == T_IDENT) {
        p->i += 2;
        n++;
    }
    if (sq_cur(p)->kind == T_DOT)
        return sq_unexpected(p, &p->toks[p->i + 1], "a field name");
    return n;
}

/* A field path of the FROM object; `Account.Name` on Account is the same as `Name`. */
static const struct sfr_field *resolve(struct parser *p, int first, int nparts)
{
    const struct sfr_object *o = p->q->obj;
    const struct token *t = &p->toks[first];
    if (nparts > 1 && (int)strlen(o->name) == t->len &&
        strncasecmp(o->name, t->s, (size_t)t->len) == 0) {
        t += 2;
        nparts--;
    }
    if (nparts > 1) {
        sq_set_err(p, "INVALID_FIELD",
                   "Didn't understand relationship '%.*s' in field path at %s. sfemu supports "
                   "relationship-free SOQL only: use the fields of '%s' itself.",
                   t->len > 80 ? 80 : t->len, t->s, sq_at(p, t->pos), o->name);
        return NULL;
    }
    const struct sfr_field *f = sq_find_field(o, t->s, t->len);
    if (f == NULL)
        sq_set_err(
            p, "INVALID_FIELD",
            "No such column '%.*s' on entity '%s'. If you are attempting to use a custom field, "
            "be sure to append the '__c' after the custom field name. Please reference your "
            "WSDL or the describe call for the appropriate names. (%s)",
            t->len > 80 ? 80 : t->len, t->s, o->name, sq_at(p, t->pos));
    return f;
}

static int parse_op(const struct token *t, enum op *op)
{
    static const char *const ops[] = {"=", "!=", "<", "<=", ">", ">="};
    if (t->kind != T_OP)
        return -1;
    if (t->len == 2 && memcmp(t->s, "<>", 2) == 0) {
        *op = OP_NE;
        return 0;
    }
    for (int k = 0; k < 6; k++)
        if ((int)strlen(ops[k]) == t->len && memcmp(ops[k], t->s, (size_t)t->len) == 0) {
            *op = (enum op)k;
            return 0;
        }
    return -1;
}

/* field op value | field [NOT] IN (...) | field LIKE 'pattern' */
static struct cond *parse_simple(struct parser *p)
{
    int first, n = parse_path(p, &first);
    const struct sfr_field *f = n < 0 ? NULL : resolve(p, first, n);
    if (f == NULL)
        return NULL;
    enum fclass fc = field_class(f);
    if (sq_is_long_text(f) || fc == FC_COMPOUND || fc == FC_TIME) {
        sq_set_err(p, "INVALID_FIELD", "field '%s' can not be filtered in a query call (at %s)",
                   f->name, sq_at(p, p->toks[first].pos));
        return NULL;
    }
    struct cond *c = cond_new(C_CMP, NULL, NULL);
    c->f = f;
    const struct token *t = sq_cur(p);
    int rc;
    if (parse_op(t, &c->op) == 0) {
        p->i++;
        if (fc == FC_BOOL && c->op != OP_EQ && c->op != OP_NE)
            rc = sq_set_err(p, "INVALID_QUERY_FILTER_OPERATOR",
                            "invalid operator on boolean field '%s' at %s", f->name,
                            sq_at(p, t->pos));
        else
            rc = sq_parse_value(p, f, c->op, 0, &c->v);
        p->nparams += c->v.k == V_RANGE ? 2 : c->v.k == V_SCALAR;
    } else if (sq_tok_is(t, "IN") || (sq_tok_is(t, "NOT") && sq_tok_is(t + 1, "IN"))) {
        c->k = C_IN;
        c->negated = sq_tok_is(t, "NOT");
        p->i += 1 + c->negated;
        rc = parse_in(p, c);
    } else if (sq_tok_is(t, "LIKE")) {
        c->k = C_LIKE;
        p->i++;
        if (fc != FC_TEXT)
            rc = sq_set_err(p, "INVALID_QUERY_FILTER_OPERATOR",
                            "invalid operator on field '%s': LIKE needs a text field (at %s)",
                            f->name, sq_at(p, t->pos));
        else if (sq_cur(p)->kind != T_STRING)
            rc = sq_type_error(p, f, sq_cur(p));
        else if ((c->v.a = sq_decode_string(p, sq_cur(p), 1)) == NULL)
            rc = -1;
        else
            rc = 0, p->i++, p->nparams++;
    } else if (sq_tok_is(t, "INCLUDES") || sq_tok_is(t, "EXCLUDES")) {
        rc = sq_set_err(p, "MALFORMED_QUERY", "sfemu does not support %.*s (at %s)", t->len, t->s,
                        sq_at(p, t->pos));
    } else {
        rc = sq_unexpected(p, t, "a comparison operator, IN or LIKE");
    }
    if (rc < 0) {
        cond_free(c);
        return NULL;
    }
    return c;
}

static struct cond *parse_expr(struct parser *p, int depth);

static struct cond *parse_unary(struct parser *p, int depth)
{
    if (depth > MAX_DEPTH) {
        sq_set_err(p, "MALFORMED_QUERY", "WHERE clause nested too deeply at %s",
                   sq_at(p, sq_cur(p)->pos));
        return NULL;
    }
    if (sq_kw(p, "NOT")) {
        p->i++;
        struct cond *c = parse_unary(p, depth + 1);
        return c ? cond_new(C_NOT, c, NULL) : NULL;
    }
    if (sq_cur(p)->kind != T_LP)
        return parse_simple(p);
    p->i++;
    struct cond *c = parse_expr(p, depth + 1);
    if (c == NULL)
        return NULL;
    if (sq_cur(p)->kind != T_RP) {
        sq_unexpected(p, sq_cur(p), "')'");
        cond_free(c);
        return NULL;
    }
    p->i++;
    return c;
}

/* SOQL does not rank AND over OR: mixing them needs parentheses. */
static struct cond *parse_expr(struct parser *p, int depth)
{
    struct cond *l = parse_unary(p, depth);
    enum ckind mode = C_CMP;
    while (l && (sq_kw(p, "AND") || sq_kw(p, "OR"))) {
        enum ckind k = sq_kw(p, "AND") ? C_AND : C_OR;
        if (mode != C_CMP && k != mode) {
            sq_set_err(p, "MALFORMED_QUERY",
                       "unexpected token: '%.*s' at %s; use parentheses to mix AND and OR",
                       sq_cur(p)->len, sq_cur(p)->s, sq_at(p, sq_cur(p)->pos));
            cond_free(l);
            return NULL;
        }
        mode = k;
        p->i++;
        struct cond *r = parse_unary(p, depth);
        if (r == NULL) {
            cond_free(l);
            return NULL;
        }
        l = cond_new(k, l, r);
    }
    return l;
}

/* ---- SELECT list, FROM, ORDER BY, LIMIT, OFFSET --------------------------------------------- */

/* A select item before FROM is known: resolved once the object is. */
struct item {
    enum agg agg;
    int count_star; /* COUNT() */
    int first, nparts;
    int alias; /* token index, -1 none */
    int pos;   /* token index of the item */
};

static int agg_of(const struct token *t, enum agg *a)
{
    static const char *const names[] = {"COUNT", "COUNT_DISTINCT", "MAX", "MIN", "SUM", "AVG"};
    for (int k = 0; k < 6; k++)
        if (sq_tok_is(t, names[k])) {
            *a = (enum agg)(k + 1);
            return 1;
        }
    return 0;
}

static int is_reserved(const struct token *t)
{
    static const char *const words[] = {"FROM",  "WHERE", "AND",    "OR",    "NOT",    "SELECT",
                                        "ORDER", "LIMIT", "OFFSET", "GROUP", "HAVING", "WITH",
                                        "USING", "NULL",  "TRUE",   "FALSE", "IN",     "LIKE",
                                        "ASC",   "DESC",  "NULLS",  "FOR",   "BY"};
    for (size_t k = 0; k < sizeof words / sizeof *words; k++)
        if (sq_tok_is(t, words[k]))
            return 1;
    return 0;
}

static int parse_item(struct parser *p, struct item *it)
{
    const struct token *t = sq_cur(p);
    *it = (struct item){AGG_NONE, 0, -1, 0, -1, p->i};
    if (t->kind == T_LP)
        return sq_set_err(p, "MALFORMED_QUERY",
                          "sfemu does not support relationship subqueries "
                          "(at %s)",
                          sq_at(p, t->pos));
    if (t->kind != T_IDENT || sq_tok_is(t, "FROM"))
        return sq_unexpected(p, t, "a field name");
    if (t[1].kind == T_LP) {
        if (!agg_of(t, &it->agg))
            return sq_set_err(p, "MALFORMED_QUERY",
                              "sfemu does not support the function '%.*s' "
                              "(at %s); it supports COUNT, COUNT_DISTINCT, MAX, MIN, SUM and AVG",
                              t->len, t->s, sq_at(p, t->pos));
        p->i += 2;
        if (it->agg == AGG_COUNT && sq_cur(p)->kind == T_RP) {
            it->count_star = 1;
        } else if ((it->nparts = parse_path(p, &it->first)) < 0) {
            return -1;
        }
        if (sq_cur(p)->kind != T_RP)
            return sq_unexpected(p, sq_cur(p), "')'");
        p->i++;
        if (sq_cur(p)->kind == T_IDENT && !is_reserved(sq_cur(p)) && !it->count_star)
            it->alias = p->i++;
        return 0;
    }
    return (it->nparts = parse_path(p, &it->first)) < 0 ? -1 : 0;
}

static int check_aggregate(struct parser *p, const struct item *it, const struct sfr_field *f)
{
    enum fclass fc = field_class(f);
    int ok = fc != FC_COMPOUND && !sq_is_long_text(f);
    if (it->agg == AGG_MAX || it->agg == AGG_MIN)
        ok = ok && fc != FC_BOOL && f->type != SFR_FT_MULTIPICKLIST;
    if (it->agg == AGG_SUM || it->agg == AGG_AVG)
        ok = fc == FC_NUM;
    if (!ok)
        return sq_set_err(p, "INVALID_FIELD",
                          "field %s does not support aggregate operator %.*s "
                          "(at %s)",
                          f->name, p->toks[it->pos].len, p->toks[it->pos].s,
                          sq_at(p, p->toks[it->pos].pos));
    return 0;
}

static int name_taken(const struct soql_query *q, const char *name)
{
    for (int k = 0; k < q->ncols; k++)
        if (strcasecmp(q->cols[k].name, name) == 0)
            return 1;
    return 0;
}

/* Resolves the select items against the FROM object into q->cols. */
static int resolve_items(struct parser *p, const struct item *items, int n)
{
    struct soql_query *q = p->q;
    int nagg = 0, nplain = 0, expr = 0;
    for (int k = 0; k < n; k++) {
        const struct item *it = &items[k];
        const struct token *t = &p->toks[it->pos];
        if (it->count_star) {
            if (n > 1)
                return sq_set_err(p, "MALFORMED_QUERY",
                                  "COUNT() must be the only element in the "
                                  "SELECT list (at %s)",
                                  sq_at(p, t->pos));
            q->count_only = 1;
            return 0;
        }
        const struct sfr_field *f = resolve(p, it->first, it->nparts);
        if (f == NULL)
            return -1;
        if (it->agg == AGG_NONE && field_class(f) == FC_COMPOUND)
            return sq_set_err(p, "INVALID_FIELD",
                              "sfemu does not support the compound field '%s' "
                              "(at %s); select its component fields",
                              f->name, sq_at(p, t->pos));
        if (it->agg != AGG_NONE && check_aggregate(p, it, f) < 0)
            return -1;
        char *name;
        if (it->alias >= 0)
            name = sfr_strndup(p->toks[it->alias].s, (size_t)p->toks[it->alias].len);
        else if (it->agg != AGG_NONE)
            name = sfr_asprintf("expr%d", expr++);
        else
            name = sfr_strdup(f->name);
        if (name_taken(q, name)) {
            sq_set_err(p, "MALFORMED_QUERY", "duplicate %s selected: %s (at %s)",
                       it->alias >= 0 ? "alias" : "field", name, sq_at(p, t->pos));
            sfr_free(name);
            return -1;
        }
        q->cols[q->ncols++] = (struct col){name, f, it->agg};
        if (it->agg != AGG_NONE)
            nagg++;
        else
            nplain++;
    }
    if (nagg && nplain) {
        for (int k = 0; k < q->ncols; k++)
            if (q->cols[k].agg == AGG_NONE)
                return sq_set_err(p, "MALFORMED_QUERY", "Field must be grouped or aggregated: %s",
                                  q->cols[k].f->name);
    }
    q->aggregate = nagg > 0;
    return 0;
}

static int parse_order(struct parser *p)
{
    struct soql_query *q = p->q;
    p->i += 2;
    int cap = 0;
    for (;;) {
        int first, n = parse_path(p, &first);
        const struct sfr_field *f = n < 0 ? NULL : resolve(p, first, n);
        if (f == NULL)
            return -1;
        if (sq_is_long_text(f) || field_class(f) == FC_COMPOUND || f->type == SFR_FT_MULTIPICKLIST)
            return sq_set_err(p, "INVALID_FIELD",
                              "field '%s' can not be sorted in a query call (at %s)", f->name,
                              sq_at(p, p->toks[first].pos));
        if (q->norders == cap) {
            cap = cap ? cap * 2 : 4;
            q->orders = sfr_realloc(q->orders, (size_t)cap * sizeof *q->orders);
        }
        struct order *o = &q->orders[q->norders++];
        o->f = f;
        o->desc = sq_kw(p, "DESC");
        if (o->desc || sq_kw(p, "ASC"))
            p->i++;
        o->nulls_first = !o->desc;
        if (sq_kw(p, "NULLS")) {
            p->i++;
            if (!sq_kw(p, "FIRST") && !sq_kw(p, "LAST"))
                return sq_unexpected(p, sq_cur(p), "FIRST or LAST");
            o->nulls_first = sq_kw(p, "FIRST");
            p->i++;
        }
        if (sq_cur(p)->kind != T_COMMA)
            return 0;
        p->i++;
    }
}

/* LIMIT n / OFFSET n: a non-negative whole number. */
static int parse_count(struct parser *p, const char *what, long *out)
{
    p->i++;
    const struct token *t = sq_cur(p);
    if (t->kind != T_NUMBER || !isdigit((unsigned char)t->s[0]) ||
        memchr(t->s, '.', (size_t)t->len))
        return sq_unexpected(p, t, what);
    errno = 0;
    *out = strtol(t->s, NULL, 10);
    if (errno == ERANGE || *out > INT_MAX)
        return sq_set_err(p, "NUMBER_OUTSIDE_VALID_RANGE", "%s value too large at %s", what,
                          sq_at(p, t->pos));
    p->i++;
    return 0;
}

static int unsupported_clause(struct parser *p)
{
    static const char *const words[] = {"GROUP", "HAVING", "WITH",   "USING",
                                        "FOR",   "UPDATE", "TYPEOF", "ALL"};
    for (size_t k = 0; k < sizeof words / sizeof *words; k++)
        if (sq_kw(p, words[k]))
            return sq_set_err(p, "MALFORMED_QUERY", "sfemu does not support the %s clause (at %s)",
                              words[k], sq_at(p, sq_cur(p)->pos));
    return sq_unexpected(p, sq_cur(p), NULL);
}

static int parse_from_on(struct parser *p, const struct item *items, int nitems)
{
    struct soql_query *q = p->q;
    if (!sq_kw(p, "FROM"))
        return sq_unexpected(p, sq_cur(p), nitems ? "',' or FROM" : "a field name");
    p->i++;
    const struct token *t = sq_cur(p);
    if (t->kind != T_IDENT)
        return sq_unexpected(p, t, "an object name");
    q->obj = sq_find_object(p->schema, t->s, t->len);
    if (q->obj == NULL)
        return sq_set_err(
            p, "INVALID_TYPE",
            "sObject type '%.*s' is not supported. If you are attempting to use a custom "
            "object, be sure to append the '__c' after the entity name. Please reference "
            "your WSDL or the describe call for the appropriate names. (%s)",
            t->len > 80 ? 80 : t->len, t->s, sq_at(p, t->pos));
    p->i++;
    q->cols = sfr_calloc((size_t)nitems, sizeof *q->cols);
    if (resolve_items(p, items, nitems) < 0)
        return -1;
    if (sq_kw(p, "WHERE")) {
        p->i++;
        if ((q->where = parse_expr(p, 0)) == NULL)
            return -1;
    }
    if (sq_kw(p, "ORDER") && sq_tok_is(sq_cur(p) + 1, "BY")) {
        if (q->aggregate)
            return sq_set_err(p, "MALFORMED_QUERY",
                              "sfemu does not support ORDER BY in an aggregate "
                              "query (at %s)",
                              sq_at(p, sq_cur(p)->pos));
        if (parse_order(p) < 0)
            return -1;
    }
    if (sq_kw(p, "LIMIT") && parse_count(p, "a LIMIT value", &q->limit) < 0)
        return -1;
    if (sq_kw(p, "OFFSET")) {
        int pos = sq_cur(p)->pos;
        if (parse_count(p, "an OFFSET value", &q->offset) < 0)
            return -1;
        if (q->offset > SOQL_MAX_OFFSET)
            return sq_set_err(p, "NUMBER_OUTSIDE_VALID_RANGE",
                              "Maximum SOQL offset allowed is %d "
                              "(at %s)",
                              SOQL_MAX_OFFSET, sq_at(p, pos));
    }
    if (sq_cur(p)->kind != T_EOF)
        return unsupported_clause(p);
    if (p->nparams > SOQL_MAX_PARAMS - 1)
        return sq_set_err(p, "MALFORMED_QUERY",
                          "query has too many literals for sfemu (at most %d)",
                          SOQL_MAX_PARAMS - 1);
    return 0;
}

static int parse_query(struct parser *p)
{
    if (sq_tokenize(p) < 0)
        return -1;
    if (!sq_kw(p, "SELECT"))
        return sq_unexpected(p, sq_cur(p), "SELECT");
    p->i++;
    int n = 0, cap = 0, rc = -1;
    struct item *items = NULL;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            items = sfr_realloc(items, (size_t)cap * sizeof *items);
        }
        if (parse_item(p, &items[n]) < 0)
            goto out;
        n++;
        if (sq_cur(p)->kind != T_COMMA)
            break;
        p->i++;
    }
    rc = parse_from_on(p, items, n);
out:
    sfr_free(items);
    return rc;
}

int soql_parse_at(const char *text, const struct sfr_schema *schema, time_t now,
                  struct soql_query **out, char errcode[64], char msg[512])
{
    struct parser p = {0};
    p.text = text;
    p.schema = schema;
    p.now = now;
    p.errcode = errcode;
    p.msg = msg;
    errcode[0] = msg[0] = '\0';
    p.q = sfr_calloc(1, sizeof *p.q);
    p.q->limit = -1;
    int rc = parse_query(&p);
    sfr_free(p.toks);
    if (rc < 0) {
        sq_set_err(&p, "MALFORMED_QUERY", "malformed query");
        soql_free(p.q);
        *out = NULL;
        return -1;
    }
    *out = p.q;
    return 0;
}

int soql_parse(const char *text, const struct sfr_schema *schema, struct soql_query **out,
               char errcode[64], char msg[512])
{
    return soql_parse_at(text, schema, time(NULL), out, errcode, msg);
}

void soql_free(struct soql_query *q)
{
    if (q == NULL)
        return;
    for (int k = 0; k < q->ncols; k++)
        sfr_free(q->cols[k].name);
    sfr_free(q->cols);
    sfr_free(q->orders);
    cond_free(q->where);
    sfr_free(q);
}

const struct sfr_object *soql_object(const struct soql_query *q)
{
    return q->obj;
}
int soql_is_count_only(const struct soql_query *q)
{
    return q->count_only;
}
int soql_is_aggregate(const struct soql_query *q)
{
    return q->aggregate;
}
int soql_ncols(const struct soql_query *q)
{
    return q->ncols;
}
long soql_limit(const struct soql_query *q)
{
    return q->limit;
}
long soql_offset(const struct soql_query *q)
{
    return q->offset;
}

const char *soql_col_name(const struct soql_query *q, int i)
{
    return i >= 0 && i < q->ncols ? q->cols[i].name : NULL;
}

const struct sfr_field *soql_col_field(const struct soql_query *q, int i)
{
    if (i < 0 || i >= q->ncols || q->cols[i].agg == AGG_COUNT ||
        q->cols[i].agg == AGG_COUNT_DISTINCT)
        return NULL;
    return q->cols[i].f;
}

enum soql_json_kind soql_col_kind(const struct soql_query *q, int i)
{
    if (i < 0 || i >= q->ncols)
        return SOQL_JSON_STRING;
    const struct col *c = &q->cols[i];
    if (c->agg == AGG_COUNT || c->agg == AGG_COUNT_DISTINCT || c->agg == AGG_SUM ||
        c->agg == AGG_AVG)
        return SOQL_JSON_NUMBER;
    enum fclass fc = field_class(c->f);
    return fc == FC_NUM ? SOQL_JSON_NUMBER : fc == FC_BOOL ? SOQL_JSON_BOOL : SOQL_JSON_STRING;
}

int soql_orders_by_id(const struct soql_query *q)
{
    if (q->count_only || q->aggregate)
        return 0;
    if (q->norders == 0)
        return 1;
    return q->norders == 1 && q->orders[0].f->type == SFR_FT_ID && !q->orders[0].desc;
}
