/* soql_internal.h — internal declarations shared by the two halves of the sfemu
 * SOQL implementation: soql.c (tokenizer, parser, public accessors) and
 * soql_sql.c (translation to SQL). The parsed query tree lives here; nothing
 * outside tests/sfemu/soql*.c (and the unit test that compiles them) may use it. */
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

#endif
