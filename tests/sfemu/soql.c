/* soql.c — tokenizer, recursive-descent parser and public accessors of the
 * SOQL subset sfemu serves (see soql.h and docs/soql.md); the translation to
 * SQL is in soql_sql.c, the shared query tree in soql_internal.h.
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
 * lookups are local so this file links without src/core/schema.c. */
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

/* ---- helpers ---------------------------------------------------------------------------- */

static int set_err(struct parser *p, const char *code, const char *fmt, ...) SFR_PRINTF(3, 4);
static int set_err(struct parser *p, const char *code, const char *fmt, ...)
{
    if (p->failed)
        return -1;
    p->failed = 1;
    snprintf(p->errcode, 64, "%s", code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->msg, 512, fmt, ap);
    va_end(ap);
    return -1;
}

/* "column 12" or "row 2, column 5" for a byte offset. */
static const char *at(struct parser *p, int pos)
{
    int row = 1, col = 1;
    for (int k = 0; k < pos && p->text[k]; k++) {
        if (p->text[k] == '\n') {
            row++;
            col = 1;
        } else {
            col++;
        }
    }
    if (row == 1)
        snprintf(p->loc, sizeof p->loc, "column %d", col);
    else
        snprintf(p->loc, sizeof p->loc, "row %d, column %d", row, col);
    return p->loc;
}

static const struct token *cur(struct parser *p)
{
    return &p->toks[p->i];
}

static int tok_is(const struct token *t, const char *word)
{
    return t->kind == T_IDENT && (int)strlen(word) == t->len &&
           strncasecmp(t->s, word, (size_t)t->len) == 0;
}

static int kw(struct parser *p, const char *word)
{
    return tok_is(cur(p), word);
}

static int unexpected(struct parser *p, const struct token *t, const char *expected)
{
    const char *text = t->kind == T_EOF ? "<EOF>" : t->s;
    int len = t->kind == T_EOF ? 5 : (t->len > 60 ? 60 : t->len);
    if (expected)
        return set_err(p, "MALFORMED_QUERY", "unexpected token: '%.*s' at %s; expected %s", len,
                       text, at(p, t->pos), expected);
    return set_err(p, "MALFORMED_QUERY", "unexpected token: '%.*s' at %s", len, text,
                   at(p, t->pos));
}

static const struct sfr_field *find_field(const struct sfr_object *o, const char *s, int len)
{
    for (int k = 0; k < o->n_fields; k++)
        if ((int)strlen(o->fields[k].name) == len &&
            strncasecmp(o->fields[k].name, s, (size_t)len) == 0)
            return &o->fields[k];
    return NULL;
}

static const struct sfr_object *find_object(const struct sfr_schema *s, const char *n, int len)
{
    for (int k = 0; k < s->n_objects; k++)
        if ((int)strlen(s->objects[k].name) == len &&
            strncasecmp(s->objects[k].name, n, (size_t)len) == 0)
            return &s->objects[k];
    return NULL;
}

static const char *type_name(enum sfr_ftype t)
{
    static const char *const names[] = {"unknown",       "id",
                                        "reference",     "string",
                                        "textarea",      "picklist",
                                        "multipicklist", "combobox",
                                        "boolean",       "int",
                                        "long",          "double",
                                        "currency",      "percent",
                                        "date",          "datetime",
                                        "time",          "email",
                                        "phone",         "url",
                                        "base64",        "encryptedstring",
                                        "location",      "address",
                                        "anyType"};
    return (unsigned)t < sizeof names / sizeof *names ? names[t] : "unknown";
}

/* Long text areas and base64 cannot be filtered or sorted in Salesforce. */
static int is_long_text(const struct sfr_field *f)
{
    return (f->type == SFR_FT_TEXTAREA && f->length > 255) || f->type == SFR_FT_BASE64;
}

static char *day_text(long day)
{
    int y, m, d;
    sfr_civil_from_days(day, &y, &m, &d);
    return sfr_asprintf("%04d-%02d-%02d", y, m, d);
}

static int num_at(const char *s, int n)
{
    int v = 0;
    for (int k = 0; k < n; k++)
        v = v * 10 + (s[k] - '0');
    return v;
}

static int valid_date(int y, int m, int d)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1700 || y > 4000 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return 0;
    return !(m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
}

/* ---- tokenizer ----------------------------------------------------------------------------- */

static void push_tok(struct parser *p, enum tk kind, int pos, int len)
{
    if (p->ntoks == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 64;
        p->toks = sfr_realloc(p->toks, (size_t)p->cap * sizeof *p->toks);
    }
    p->toks[p->ntoks++] = (struct token){kind, p->text + pos, len, pos};
}

/* Length of a date or datetime literal at s, 0 when s is not one, -1 when malformed. */
static int lex_date(const char *s, enum tk *kind)
{
    for (int k = 0; k < 10; k++)
        if ((k == 4 || k == 7) ? s[k] != '-' : !isdigit((unsigned char)s[k]))
            return 0;
    *kind = T_DATE;
    if (s[10] != 'T' && s[10] != 't')
        return 10;
    *kind = T_DATETIME;
    const char *t = s + 11;
    for (int k = 0; k < 8; k++)
        if ((k == 2 || k == 5) ? t[k] != ':' : !isdigit((unsigned char)t[k]))
            return -1;
    t += 8;
    if (*t == '.') {
        t++;
        if (!isdigit((unsigned char)*t))
            return -1;
        while (isdigit((unsigned char)*t))
            t++;
    }
    if (*t == 'Z' || *t == 'z')
        return (int)(t + 1 - s);
    if (*t != '+' && *t != '-')
        return -1;
    if (!isdigit((unsigned char)t[1]) || !isdigit((unsigned char)t[2]))
        return -1;
    t += 3;
    if (*t == ':')
        t++;
    if (!isdigit((unsigned char)t[0]) || !isdigit((unsigned char)t[1]))
        return -1;
    return (int)(t + 2 - s);
}

static int tokenize(struct parser *p)
{
    const char *s = p->text;
    int i = 0;
    for (;;) {
        while (isspace((unsigned char)s[i]))
            i++;
        unsigned char c = (unsigned char)s[i];
        int j = i + 1;
        enum tk kind;
        if (c == '\0') {
            push_tok(p, T_EOF, i, 0);
            return 0;
        } else if (isalpha(c) || c == '_') {
            while (isalnum((unsigned char)s[j]) || s[j] == '_')
                j++;
            kind = T_IDENT;
        } else if (isdigit(c) || ((c == '-' || c == '+') && isdigit((unsigned char)s[i + 1]))) {
            int n = isdigit(c) ? lex_date(s + i, &kind) : 0;
            if (n < 0)
                return set_err(p, "MALFORMED_QUERY", "invalid datetime literal at %s", at(p, i));
            if (n > 0) {
                j = i + n;
            } else {
                while (isdigit((unsigned char)s[j]))
                    j++;
                if (s[j] == '.' && isdigit((unsigned char)s[j + 1]))
                    for (j++; isdigit((unsigned char)s[j]);)
                        j++;
                kind = T_NUMBER;
            }
        } else if (c == '\'') {
            while (s[j] && s[j] != '\'')
                j += (s[j] == '\\' && s[j + 1]) ? 2 : 1;
            if (s[j] != '\'')
                return set_err(p, "MALFORMED_QUERY", "unterminated string literal at %s", at(p, i));
            j++;
            kind = T_STRING;
        } else if (strchr("(),.:", c)) {
            kind = c == '('   ? T_LP
                   : c == ')' ? T_RP
                   : c == ',' ? T_COMMA
                   : c == '.' ? T_DOT
                              : T_COLON;
        } else if (c == '=' || c == '<' || c == '>' || c == '!') {
            if ((c == '<' && (s[j] == '=' || s[j] == '>')) || (c != '=' && s[j] == '='))
                j++;
            else if (c == '!')
                return set_err(p, "MALFORMED_QUERY", "unexpected token: '!' at %s", at(p, i));
            kind = T_OP;
        } else {
            return set_err(p, "MALFORMED_QUERY", "unexpected character '%c' at %s",
                           isprint(c) ? c : '?', at(p, i));
        }
        push_tok(p, kind, i, j - i);
        i = j;
    }
}

/* ---- literals ------------------------------------------------------------------------------ */

/* Decodes a quoted string token. For LIKE the result is a Postgres ILIKE
 * pattern: % and _ stay wildcards, \% \_ stay escaped, a backslash is doubled. */
static char *decode_string(struct parser *p, const struct token *t, int like)
{
    struct sfr_buf b = SFR_BUF_INIT;
    sfr_buf_reserve(&b, (size_t)t->len);
    for (int k = 1; k < t->len - 1; k++) {
        char c = t->s[k];
        if (c != '\\') {
            sfr_buf_putc(&b, c);
            continue;
        }
        c = t->s[++k];
        switch (c) {
        case 'n':
        case 'N':
            sfr_buf_putc(&b, '\n');
            break;
        case 'r':
        case 'R':
            sfr_buf_putc(&b, '\r');
            break;
        case 't':
        case 'T':
            sfr_buf_putc(&b, '\t');
            break;
        case 'b':
        case 'B':
            sfr_buf_putc(&b, '\b');
            break;
        case 'f':
        case 'F':
            sfr_buf_putc(&b, '\f');
            break;
        case '"':
        case '\'':
            sfr_buf_putc(&b, c);
            break;
        case '\\':
            sfr_buf_puts(&b, like ? "\\\\" : "\\");
            break;
        case '%':
        case '_':
            if (like)
                sfr_buf_putc(&b, '\\');
            sfr_buf_putc(&b, c);
            break;
        default:
            sfr_buf_cleanup(&b);
            set_err(p, "MALFORMED_QUERY",
                    "Invalid string literal at %s: illegal escape sequence '\\%c' (valid: \\' \\\" "
                    "\\\\ \\n \\r \\t \\b \\f \\%% \\_)",
                    at(p, t->pos + k - 1), isprint((unsigned char)c) ? c : '?');
            return NULL;
        }
    }
    if (b.len == 0) { /* reserve leaves the buffer unterminated */
        sfr_buf_cleanup(&b);
        return sfr_strdup("");
    }
    return sfr_buf_steal(&b);
}

/* Datetime token -> "YYYY-MM-DD HH:MM:SS.mmm" in UTC. */
static char *datetime_utc(struct parser *p, const struct token *t)
{
    const char *s = t->s;
    int y = num_at(s, 4), mo = num_at(s + 5, 2), d = num_at(s + 8, 2);
    int h = num_at(s + 11, 2), mi = num_at(s + 14, 2), sec = num_at(s + 17, 2), ms = 0;
    const char *z = s + 19;
    if (*z == '.') {
        int digits = 0;
        for (z++; isdigit((unsigned char)*z); z++)
            if (digits++ < 3)
                ms = ms * 10 + (*z - '0');
        for (; digits < 3; digits++)
            ms *= 10;
    }
    long off = 0;
    if (*z == '+' || *z == '-') {
        int oh = num_at(z + 1, 2), om = num_at(z + (z[3] == ':' ? 4 : 3), 2);
        if (oh > 23 || om > 59)
            goto bad;
        off = (*z == '-' ? -1 : 1) * (oh * 3600L + om * 60L);
    }
    if (!valid_date(y, mo, d) || h > 23 || mi > 59 || sec > 59)
        goto bad;
    long secs = (long)sfr_days_from_civil(y, mo, d) * 86400L + h * 3600L + mi * 60L + sec - off;
    long day = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    long rem = secs - day * 86400;
    int yy, mm, dd;
    sfr_civil_from_days(day, &yy, &mm, &dd);
    return sfr_asprintf("%04d-%02d-%02d %02ld:%02ld:%02ld.%03d", yy, mm, dd, rem / 3600,
                        rem / 60 % 60, rem % 60, ms);
bad:
    set_err(p, "MALFORMED_QUERY", "invalid datetime literal '%.*s' at %s", t->len, t->s,
            at(p, t->pos));
    return NULL;
}

/* Relative date literal (TODAY, LAST_N_DAYS:n, ...) at the current token ->
 * day range [*from, *to). Returns 1 if found, 0 if not a date literal, -1 on error. */
static int date_literal(struct parser *p, long *from, long *to)
{
    static const char *const fixed[] = {"YESTERDAY",    "TODAY",       "TOMORROW",   "LAST_WEEK",
                                        "THIS_WEEK",    "NEXT_WEEK",   "LAST_MONTH", "THIS_MONTH",
                                        "NEXT_MONTH",   "LAST_YEAR",   "THIS_YEAR",  "NEXT_YEAR",
                                        "LAST_90_DAYS", "NEXT_90_DAYS"};
    static const char *const withn[] = {"LAST_N_DAYS", "NEXT_N_DAYS", "N_DAYS_AGO"};
    const struct token *t = cur(p);
    long today = (long)(p->now >= 0 ? p->now / 86400 : -((-p->now + 86399) / 86400));
    int y, m, d;
    sfr_civil_from_days(today, &y, &m, &d);
    long week = today - (today + 4) % 7; /* weeks start on Sunday; 1970-01-01 was a Thursday */
    for (int k = 0; k < (int)(sizeof fixed / sizeof *fixed); k++) {
        if (!tok_is(t, fixed[k]))
            continue;
        p->i++;
        int dm = k % 3 - 1; /* -1 last, 0 this, +1 next */
        if (k < 3) {
            *from = today + dm;
            *to = *from + 1;
        } else if (k < 6) {
            *from = week + 7 * dm;
            *to = *from + 7;
        } else if (k < 9) {
            long mi = y * 12 + (m - 1) + dm;
            *from = sfr_days_from_civil(mi / 12, (int)(mi % 12) + 1, 1);
            *to = sfr_days_from_civil((mi + 1) / 12, (int)((mi + 1) % 12) + 1, 1);
        } else if (k < 12) {
            *from = sfr_days_from_civil(y + dm, 1, 1);
            *to = sfr_days_from_civil(y + dm + 1, 1, 1);
        } else if (k == 12) {
            *from = today - 90;
            *to = today + 1;
        } else {
            *from = today + 1;
            *to = today + 91;
        }
        return 1;
    }
    for (int k = 0; k < 3; k++) {
        if (!tok_is(t, withn[k]))
            continue;
        const struct token *n = &p->toks[p->i + 2];
        if (p->toks[p->i + 1].kind != T_COLON || n->kind != T_NUMBER || n->s[0] == '-' ||
            n->s[0] == '+' || memchr(n->s, '.', (size_t)n->len) || n->len > 6)
            return set_err(p, "MALFORMED_QUERY",
                           "date literal %s needs ':n' with a whole number "
                           "of days at %s",
                           withn[k], at(p, t->pos));
        long n_days = atol(n->s);
        p->i += 3;
        if (k == 0) {
            *from = today - n_days;
            *to = today + 1;
        } else if (k == 1) {
            *from = today + 1;
            *to = today + 1 + n_days;
        } else {
            *from = today - n_days;
            *to = *from + 1;
        }
        return 1;
    }
    return 0;
}

static int type_error(struct parser *p, const struct sfr_field *f, const struct token *t)
{
    static const char *const names[] = {"id",   "string",   "boolean", "number",
                                        "date", "dateTime", "time",    "compound"};
    enum fclass fc = field_class(f);
    const char *tn =
        fc == FC_NUM && (f->type == SFR_FT_INT || f->type == SFR_FT_LONG) ? "integer" : names[fc];
    int quoted = fc == FC_ID || fc == FC_TEXT;
    return set_err(p, "INVALID_FIELD",
                   "value of filter criterion for field '%s' must be of type %s and should %sbe "
                   "enclosed in quotes (at %s)",
                   f->name, tn, quoted ? "" : "not ", at(p, t->pos));
}

/* Parses one literal for field f into v (text as the SQL will cast it). */
static int parse_value(struct parser *p, const struct sfr_field *f, enum op op, int in_list,
                       struct value *v)
{
    const struct token *t = cur(p);
    enum fclass fc = field_class(f);
    if (tok_is(t, "NULL")) {
        p->i++;
        v->k = V_NULL;
        if (!in_list && op != OP_EQ && op != OP_NE)
            return set_err(p, "MALFORMED_QUERY", "null can only be compared with = or != (at %s)",
                           at(p, t->pos));
        return 0;
    }
    if (fc == FC_DATE || fc == FC_DATETIME) {
        long from = 0, to = 0;
        int r = date_literal(p, &from, &to);
        if (r < 0)
            return -1;
        if (r > 0) {
            if (in_list)
                return set_err(p, "MALFORMED_QUERY",
                               "sfemu does not support relative date "
                               "literals in an IN list (at %s)",
                               at(p, t->pos));
            v->k = V_RANGE;
            v->a = day_text(from);
            v->b = day_text(to);
            return 0;
        }
    }
    v->k = V_SCALAR;
    switch (fc) {
    case FC_ID:
    case FC_TEXT:
        if (t->kind != T_STRING)
            return type_error(p, f, t);
        if ((v->a = decode_string(p, t, 0)) == NULL)
            return -1;
        if (fc == FC_ID && (in_list || op == OP_EQ || op == OP_NE) && v->a[0]) {
            char id18[19];
            if (!sfr_sfid_to18(v->a, strlen(v->a), id18))
                return set_err(p, "INVALID_QUERY_FILTER_OPERATOR",
                               "invalid ID field: %.40s (at %s)", v->a, at(p, t->pos));
            sfr_free(v->a);
            v->a = sfr_strdup(id18);
        }
        break;
    case FC_BOOL:
        if (!tok_is(t, "TRUE") && !tok_is(t, "FALSE"))
            return type_error(p, f, t);
        v->a = sfr_strdup(tok_is(t, "TRUE") ? "true" : "false");
        break;
    case FC_NUM:
        if (t->kind != T_NUMBER)
            return type_error(p, f, t);
        v->a = sfr_strndup(t->s[0] == '+' ? t->s + 1 : t->s, (size_t)t->len - (t->s[0] == '+'));
        break;
    case FC_DATE:
        if (t->kind != T_DATE)
            return type_error(p, f, t);
        if (!valid_date(num_at(t->s, 4), num_at(t->s + 5, 2), num_at(t->s + 8, 2)))
            return set_err(p, "MALFORMED_QUERY", "invalid date literal '%.*s' at %s", t->len, t->s,
                           at(p, t->pos));
        v->a = sfr_strndup(t->s, (size_t)t->len);
        break;
    case FC_DATETIME:
        if (t->kind != T_DATETIME)
            return type_error(p, f, t);
        if ((v->a = datetime_utc(p, t)) == NULL)
            return -1;
        break;
    default:
        return set_err(p, "INVALID_FIELD", "sfemu cannot filter on field '%s' of type %s (at %s)",
                       f->name, type_name(f->type), at(p, t->pos));
    }
    p->i++;
    return 0;
}

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
    if (cur(p)->kind != T_LP)
        return unexpected(p, cur(p), "'('");
    p->i++;
    if (kw(p, "SELECT"))
        return set_err(p, "MALFORMED_QUERY", "sfemu does not support semi-join subqueries (at %s)",
                       at(p, cur(p)->pos));
    if (cur(p)->kind == T_RP)
        return unexpected(p, cur(p), "a value");
    struct sfr_buf arr = SFR_BUF_INIT;
    for (;;) {
        struct value v = {V_NULL, NULL, NULL};
        if (parse_value(p, c->f, OP_EQ, 1, &v) < 0) {
            sfr_free(v.a);
            sfr_buf_cleanup(&arr);
            return -1;
        }
        if (v.k == V_NULL)
            c->in_null = 1;
        else
            array_add(&arr, v.a);
        sfr_free(v.a);
        if (cur(p)->kind == T_COMMA) {
            p->i++;
            continue;
        }
        if (cur(p)->kind == T_RP)
            break;
        sfr_buf_cleanup(&arr);
        return unexpected(p, cur(p), "',' or ')'");
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
    if (cur(p)->kind != T_IDENT)
        return unexpected(p, cur(p), "a field name");
    *first = p->i++;
    int n = 1;
    while (cur(p)->kind == T_DOT && p->toks[p->i + 1].kind == T_IDENT) {
        p->i += 2;
        n++;
    }
    if (cur(p)->kind == T_DOT)
        return unexpected(p, &p->toks[p->i + 1], "a field name");
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
        set_err(p, "INVALID_FIELD",
                "Didn't understand relationship '%.*s' in field path at %s. sfemu supports "
                "relationship-free SOQL only: use the fields of '%s' itself.",
                t->len > 80 ? 80 : t->len, t->s, at(p, t->pos), o->name);
        return NULL;
    }
    const struct sfr_field *f = find_field(o, t->s, t->len);
    if (f == NULL)
        set_err(
            p, "INVALID_FIELD",
            "No such column '%.*s' on entity '%s'. If you are attempting to use a custom field, "
            "be sure to append the '__c' after the custom field name. Please reference your "
            "WSDL or the describe call for the appropriate names. (%s)",
            t->len > 80 ? 80 : t->len, t->s, o->name, at(p, t->pos));
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
    if (is_long_text(f) || fc == FC_COMPOUND || fc == FC_TIME) {
        set_err(p, "INVALID_FIELD", "field '%s' can not be filtered in a query call (at %s)",
                f->name, at(p, p->toks[first].pos));
        return NULL;
    }
    struct cond *c = cond_new(C_CMP, NULL, NULL);
    c->f = f;
    const struct token *t = cur(p);
    int rc;
    if (parse_op(t, &c->op) == 0) {
        p->i++;
        if (fc == FC_BOOL && c->op != OP_EQ && c->op != OP_NE)
            rc = set_err(p, "INVALID_QUERY_FILTER_OPERATOR",
                         "invalid operator on boolean field '%s' at %s", f->name, at(p, t->pos));
        else
            rc = parse_value(p, f, c->op, 0, &c->v);
        p->nparams += c->v.k == V_RANGE ? 2 : c->v.k == V_SCALAR;
    } else if (tok_is(t, "IN") || (tok_is(t, "NOT") && tok_is(t + 1, "IN"))) {
        c->k = C_IN;
        c->negated = tok_is(t, "NOT");
        p->i += 1 + c->negated;
        rc = parse_in(p, c);
    } else if (tok_is(t, "LIKE")) {
        c->k = C_LIKE;
        p->i++;
        if (fc != FC_TEXT)
            rc = set_err(p, "INVALID_QUERY_FILTER_OPERATOR",
                         "invalid operator on field '%s': LIKE needs a text field (at %s)", f->name,
                         at(p, t->pos));
        else if (cur(p)->kind != T_STRING)
            rc = type_error(p, f, cur(p));
        else if ((c->v.a = decode_string(p, cur(p), 1)) == NULL)
            rc = -1;
        else
            rc = 0, p->i++, p->nparams++;
    } else if (tok_is(t, "INCLUDES") || tok_is(t, "EXCLUDES")) {
        rc = set_err(p, "MALFORMED_QUERY", "sfemu does not support %.*s (at %s)", t->len, t->s,
                     at(p, t->pos));
    } else {
        rc = unexpected(p, t, "a comparison operator, IN or LIKE");
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
        set_err(p, "MALFORMED_QUERY", "WHERE clause nested too deeply at %s", at(p, cur(p)->pos));
        return NULL;
    }
    if (kw(p, "NOT")) {
        p->i++;
        struct cond *c = parse_unary(p, depth + 1);
        return c ? cond_new(C_NOT, c, NULL) : NULL;
    }
    if (cur(p)->kind != T_LP)
        return parse_simple(p);
    p->i++;
    struct cond *c = parse_expr(p, depth + 1);
    if (c == NULL)
        return NULL;
    if (cur(p)->kind != T_RP) {
        unexpected(p, cur(p), "')'");
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
    while (l && (kw(p, "AND") || kw(p, "OR"))) {
        enum ckind k = kw(p, "AND") ? C_AND : C_OR;
        if (mode != C_CMP && k != mode) {
            set_err(p, "MALFORMED_QUERY",
                    "unexpected token: '%.*s' at %s; use parentheses to mix AND and OR",
                    cur(p)->len, cur(p)->s, at(p, cur(p)->pos));
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
        if (tok_is(t, names[k])) {
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
        if (tok_is(t, words[k]))
            return 1;
    return 0;
}

static int parse_item(struct parser *p, struct item *it)
{
    const struct token *t = cur(p);
    *it = (struct item){AGG_NONE, 0, -1, 0, -1, p->i};
    if (t->kind == T_LP)
        return set_err(p, "MALFORMED_QUERY",
                       "sfemu does not support relationship subqueries "
                       "(at %s)",
                       at(p, t->pos));
    if (t->kind != T_IDENT || tok_is(t, "FROM"))
        return unexpected(p, t, "a field name");
    if (t[1].kind == T_LP) {
        if (!agg_of(t, &it->agg))
            return set_err(p, "MALFORMED_QUERY",
                           "sfemu does not support the function '%.*s' "
                           "(at %s); it supports COUNT, COUNT_DISTINCT, MAX, MIN, SUM and AVG",
                           t->len, t->s, at(p, t->pos));
        p->i += 2;
        if (it->agg == AGG_COUNT && cur(p)->kind == T_RP) {
            it->count_star = 1;
        } else if ((it->nparts = parse_path(p, &it->first)) < 0) {
            return -1;
        }
        if (cur(p)->kind != T_RP)
            return unexpected(p, cur(p), "')'");
        p->i++;
        if (cur(p)->kind == T_IDENT && !is_reserved(cur(p)) && !it->count_star)
            it->alias = p->i++;
        return 0;
    }
    return (it->nparts = parse_path(p, &it->first)) < 0 ? -1 : 0;
}

static int check_aggregate(struct parser *p, const struct item *it, const struct sfr_field *f)
{
    enum fclass fc = field_class(f);
    int ok = fc != FC_COMPOUND && !is_long_text(f);
    if (it->agg == AGG_MAX || it->agg == AGG_MIN)
        ok = ok && fc != FC_BOOL && f->type != SFR_FT_MULTIPICKLIST;
    if (it->agg == AGG_SUM || it->agg == AGG_AVG)
        ok = fc == FC_NUM;
    if (!ok)
        return set_err(p, "INVALID_FIELD",
                       "field %s does not support aggregate operator %.*s "
                       "(at %s)",
                       f->name, p->toks[it->pos].len, p->toks[it->pos].s,
                       at(p, p->toks[it->pos].pos));
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
                return set_err(p, "MALFORMED_QUERY",
                               "COUNT() must be the only element in the "
                               "SELECT list (at %s)",
                               at(p, t->pos));
            q->count_only = 1;
            return 0;
        }
        const struct sfr_field *f = resolve(p, it->first, it->nparts);
        if (f == NULL)
            return -1;
        if (it->agg == AGG_NONE && field_class(f) == FC_COMPOUND)
            return set_err(p, "INVALID_FIELD",
                           "sfemu does not support the compound field '%s' "
                           "(at %s); select its component fields",
                           f->name, at(p, t->pos));
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
            set_err(p, "MALFORMED_QUERY", "duplicate %s selected: %s (at %s)",
                    it->alias >= 0 ? "alias" : "field", name, at(p, t->pos));
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
                return set_err(p, "MALFORMED_QUERY", "Field must be grouped or aggregated: %s",
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
        if (is_long_text(f) || field_class(f) == FC_COMPOUND || f->type == SFR_FT_MULTIPICKLIST)
            return set_err(p, "INVALID_FIELD",
                           "field '%s' can not be sorted in a query call (at %s)", f->name,
                           at(p, p->toks[first].pos));
        if (q->norders == cap) {
            cap = cap ? cap * 2 : 4;
            q->orders = sfr_realloc(q->orders, (size_t)cap * sizeof *q->orders);
        }
        struct order *o = &q->orders[q->norders++];
        o->f = f;
        o->desc = kw(p, "DESC");
        if (o->desc || kw(p, "ASC"))
            p->i++;
        o->nulls_first = !o->desc;
        if (kw(p, "NULLS")) {
            p->i++;
            if (!kw(p, "FIRST") && !kw(p, "LAST"))
                return unexpected(p, cur(p), "FIRST or LAST");
            o->nulls_first = kw(p, "FIRST");
            p->i++;
        }
        if (cur(p)->kind != T_COMMA)
            return 0;
        p->i++;
    }
}

/* LIMIT n / OFFSET n: a non-negative whole number. */
static int parse_count(struct parser *p, const char *what, long *out)
{
    p->i++;
    const struct token *t = cur(p);
    if (t->kind != T_NUMBER || !isdigit((unsigned char)t->s[0]) ||
        memchr(t->s, '.', (size_t)t->len))
        return unexpected(p, t, what);
    errno = 0;
    *out = strtol(t->s, NULL, 10);
    if (errno == ERANGE || *out > INT_MAX)
        return set_err(p, "NUMBER_OUTSIDE_VALID_RANGE", "%s value too large at %s", what,
                       at(p, t->pos));
    p->i++;
    return 0;
}

static int unsupported_clause(struct parser *p)
{
    static const char *const words[] = {"GROUP", "HAVING", "WITH",   "USING",
                                        "FOR",   "UPDATE", "TYPEOF", "ALL"};
    for (size_t k = 0; k < sizeof words / sizeof *words; k++)
        if (kw(p, words[k]))
            return set_err(p, "MALFORMED_QUERY", "sfemu does not support the %s clause (at %s)",
                           words[k], at(p, cur(p)->pos));
    return unexpected(p, cur(p), NULL);
}

static int parse_from_on(struct parser *p, const struct item *items, int nitems)
{
    struct soql_query *q = p->q;
    if (!kw(p, "FROM"))
        return unexpected(p, cur(p), nitems ? "',' or FROM" : "a field name");
    p->i++;
    const struct token *t = cur(p);
    if (t->kind != T_IDENT)
        return unexpected(p, t, "an object name");
    q->obj = find_object(p->schema, t->s, t->len);
    if (q->obj == NULL)
        return set_err(
            p, "INVALID_TYPE",
            "sObject type '%.*s' is not supported. If you are attempting to use a custom "
            "object, be sure to append the '__c' after the entity name. Please reference "
            "your WSDL or the describe call for the appropriate names. (%s)",
            t->len > 80 ? 80 : t->len, t->s, at(p, t->pos));
    p->i++;
    q->cols = sfr_calloc((size_t)nitems, sizeof *q->cols);
    if (resolve_items(p, items, nitems) < 0)
        return -1;
    if (kw(p, "WHERE")) {
        p->i++;
        if ((q->where = parse_expr(p, 0)) == NULL)
            return -1;
    }
    if (kw(p, "ORDER") && tok_is(cur(p) + 1, "BY")) {
        if (q->aggregate)
            return set_err(p, "MALFORMED_QUERY",
                           "sfemu does not support ORDER BY in an aggregate "
                           "query (at %s)",
                           at(p, cur(p)->pos));
        if (parse_order(p) < 0)
            return -1;
    }
    if (kw(p, "LIMIT") && parse_count(p, "a LIMIT value", &q->limit) < 0)
        return -1;
    if (kw(p, "OFFSET")) {
        int pos = cur(p)->pos;
        if (parse_count(p, "an OFFSET value", &q->offset) < 0)
            return -1;
        if (q->offset > SOQL_MAX_OFFSET)
            return set_err(p, "NUMBER_OUTSIDE_VALID_RANGE",
                           "Maximum SOQL offset allowed is %d "
                           "(at %s)",
                           SOQL_MAX_OFFSET, at(p, pos));
    }
    if (cur(p)->kind != T_EOF)
        return unsupported_clause(p);
    if (p->nparams > SOQL_MAX_PARAMS - 1)
        return set_err(p, "MALFORMED_QUERY", "query has too many literals for sfemu (at most %d)",
                       SOQL_MAX_PARAMS - 1);
    return 0;
}

static int parse_query(struct parser *p)
{
    if (tokenize(p) < 0)
        return -1;
    if (!kw(p, "SELECT"))
        return unexpected(p, cur(p), "SELECT");
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
        if (cur(p)->kind != T_COMMA)
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
        set_err(&p, "MALFORMED_QUERY", "malformed query");
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
