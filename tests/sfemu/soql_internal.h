/* soql_internal.h — internal declarations shared by the three parts of the
 * sfemu SOQL implementation: soql_lex.c (tokens, literals), soql.c (parser,
 * public accessors) and soql_sql.c (translation to SQL). The parsed query
 * tree and the parser's state live here; nothing outside tests/sfemu/soql*.c
 * (and the unit and fuzz tests that compile them) may use it. */
#ifndef SFEMU_SOQL_INTERNAL_H
#define SFEMU_SOQL_INTERNAL_H

#include "soql.h"

enum agg { AGG_NONE, AGG_COUNT, AGG_COUNT_DISTINCT, AGG_MAX, AGG_MIN, AGG_SUM, AGG_AVG };
enum fclass { FC_ID, FC_TEXT, FC_BOOL, FC_NUM, FC_DATE, FC_DATETIME, FC_TIME, FC_COMPOUND };
enum op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };
enum vkind { V_NULL, V_SCALAR, V_RANGE };
enum ckind { C_AND, C_OR, C_NOT, C_CMP, C_IN, C_LIKE };

struct col {
    char *name;
    const struct sfr_field *f; /* NULL for COUNT() */
    enum agg agg;
};

struct order {
    const struct sfr_field *f;
    int desc, nulls_first;
};

struct value {
    enum vkind k;
    char *a, *b; /* scalar: a; date range: [a, b) */
};

struct cond {
    enum ckind k;
    struct cond *l, *r;
    const struct sfr_field *f;
    enum op op;
    int negated;    /* NOT IN */
    int in_null;    /* IN list holds null */
    struct value v; /* CMP and LIKE (a is the pattern); IN: a is an array literal or NULL */
};

struct soql_query {
    const struct sfr_object *obj;
    int count_only, aggregate;
    struct col *cols;
    int ncols;
    struct cond *where;
    struct order *orders;
    int norders;
    long limit, offset;
};

static inline enum fclass field_class(const struct sfr_field *f)
{
    switch (f->type) {
    case SFR_FT_ID:
    case SFR_FT_REFERENCE:
        return FC_ID;
    case SFR_FT_BOOLEAN:
        return FC_BOOL;
    case SFR_FT_INT:
    case SFR_FT_LONG:
    case SFR_FT_DOUBLE:
    case SFR_FT_CURRENCY:
    case SFR_FT_PERCENT:
        return FC_NUM;
    case SFR_FT_DATE:
        return FC_DATE;
    case SFR_FT_DATETIME:
        return FC_DATETIME;
    case SFR_FT_TIME:
        return FC_TIME;
    case SFR_FT_LOCATION:
    case SFR_FT_ADDRESS:
        return FC_COMPOUND;
    default:
        return FC_TEXT;
    }
}

static inline int is_double(const struct sfr_field *f)
{
    return f->type == SFR_FT_DOUBLE || f->type == SFR_FT_CURRENCY || f->type == SFR_FT_PERCENT;
}

/* ---- the parser's state (soql.c and soql_lex.c) ---- */

enum tk {
    T_EOF,
    T_IDENT,
    T_STRING,
    T_NUMBER,
    T_DATE,
    T_DATETIME,
    T_LP,
    T_RP,
    T_COMMA,
    T_DOT,
    T_COLON,
    T_OP
};

struct token {
    enum tk kind;
    const char *s; /* points into the query text */
    int len;
    int pos; /* byte offset */
};

struct parser {
    const char *text;
    struct token *toks;
    int ntoks, cap, i;
    const struct sfr_schema *schema;
    time_t now;
    struct soql_query *q;
    char *errcode, *msg;
    int failed;
    int nparams; /* parameters the WHERE needs */
    char loc[48];
};

/* soql_lex.c: the cursor, errors and literals. Every function that fails
 * records the first error in p (code and message) and returns -1 or NULL. */
int sq_set_err(struct parser *p, const char *code, const char *fmt, ...) SFR_PRINTF(3, 4);
/* "column 12" or "row 2, column 5" for a byte offset (in p->loc). */
const char *sq_at(struct parser *p, int pos);
const struct token *sq_cur(struct parser *p);
int sq_tok_is(const struct token *t, const char *word);
/* The current token is the keyword word (any case). */
int sq_kw(struct parser *p, const char *word);
int sq_unexpected(struct parser *p, const struct token *t, const char *expected);
const struct sfr_field *sq_find_field(const struct sfr_object *o, const char *s, int len);
const struct sfr_object *sq_find_object(const struct sfr_schema *s, const char *n, int len);
/* Long text areas and base64 cannot be filtered or sorted in Salesforce. */
int sq_is_long_text(const struct sfr_field *f);
int sq_type_error(struct parser *p, const struct sfr_field *f, const struct token *t);
/* Splits p->text into p->toks. */
int sq_tokenize(struct parser *p);
/* A quoted string token's value; like: as a Postgres ILIKE pattern. Caller frees. */
char *sq_decode_string(struct parser *p, const struct token *t, int like);
int sq_parse_value(struct parser *p, const struct sfr_field *f, enum op op, int in_list,
                   struct value *v);

#endif
