/* soql_lex.c — the lexical half of sfemu's SOQL parser: tokens, the parser's
 * cursor and error helpers, literals (strings with their escapes, dates,
 * datetimes in UTC, date literals such as LAST_N_DAYS:n) and the check of a
 * literal against the type of the field it is compared with. The grammar is
 * in soql.c; both share struct parser (soql_internal.h). */
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

/* ---- helpers ---------------------------------------------------------------------------- */

int sq_set_err(struct parser *p, const char *code, const char *fmt, ...)
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
const char *sq_at(struct parser *p, int pos)
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

const struct token *sq_cur(struct parser *p)
{
    return &p->toks[p->i];
}

int sq_tok_is(const struct token *t, const char *word)
{
    return t->kind == T_IDENT && (int)strlen(word) == t->len &&
           strncasecmp(t->s, word, (size_t)t->len) == 0;
}

int sq_kw(struct parser *p, const char *word)
{
    return sq_tok_is(sq_cur(p), word);
}

int sq_unexpected(struct parser *p, const struct token *t, const char *expected)
{
    const char *text = t->kind == T_EOF ? "<EOF>" : t->s;
    int len = t->kind == T_EOF ? 5 : (t->len > 60 ? 60 : t->len);
    if (expected)
        return sq_set_err(p, "MALFORMED_QUERY", "unexpected token: '%.*s' at %s; expected %s", len,
                          text, sq_at(p, t->pos), expected);
    return sq_set_err(p, "MALFORMED_QUERY", "unexpected token: '%.*s' at %s", len, text,
                      sq_at(p, t->pos));
}

const struct sfr_field *sq_find_field(const struct sfr_object *o, const char *s, int len)
{
    for (int k = 0; k < o->n_fields; k++)
        if ((int)strlen(o->fields[k].name) == len &&
            strncasecmp(o->fields[k].name, s, (size_t)len) == 0)
            return &o->fields[k];
    return NULL;
}

const struct sfr_object *sq_find_object(const struct sfr_schema *s, const char *n, int len)
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
int sq_is_long_text(const struct sfr_field *f)
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

int sq_tokenize(struct parser *p)
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
                return sq_set_err(p, "MALFORMED_QUERY", "invalid datetime literal at %s",
                                  sq_at(p, i));
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
                return sq_set_err(p, "MALFORMED_QUERY", "unterminated string literal at %s",
                                  sq_at(p, i));
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
                return sq_set_err(p, "MALFORMED_QUERY", "unexpected token: '!' at %s", sq_at(p, i));
            kind = T_OP;
        } else {
            return sq_set_err(p, "MALFORMED_QUERY", "unexpected character '%c' at %s",
                              isprint(c) ? c : '?', sq_at(p, i));
        }
        push_tok(p, kind, i, j - i);
        i = j;
    }
}

/* ---- literals ------------------------------------------------------------------------------ */

/* Decodes a quoted string token. For LIKE the result is a Postgres ILIKE
 * pattern: % and _ stay wildcards, \% \_ stay escaped, a backslash is doubled. */
char *sq_decode_string(struct parser *p, const struct token *t, int like)
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
            sq_set_err(
                p, "MALFORMED_QUERY",
                "Invalid string literal at %s: illegal escape sequence '\\%c' (valid: \\' \\\" "
                "\\\\ \\n \\r \\t \\b \\f \\%% \\_)",
                sq_at(p, t->pos + k - 1), isprint((unsigned char)c) ? c : '?');
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
    sq_set_err(p, "MALFORMED_QUERY", "invalid datetime literal '%.*s' at %s", t->len, t->s,
               sq_at(p, t->pos));
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
    const struct token *t = sq_cur(p);
    long today = (long)(p->now >= 0 ? p->now / 86400 : -((-p->now + 86399) / 86400));
    int y, m, d;
    sfr_civil_from_days(today, &y, &m, &d);
    long week = today - (today + 4) % 7; /* weeks start on Sunday; 1970-01-01 was a Thursday */
    for (int k = 0; k < (int)(sizeof fixed / sizeof *fixed); k++) {
        if (!sq_tok_is(t, fixed[k]))
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
        if (!sq_tok_is(t, withn[k]))
            continue;
        const struct token *n = &p->toks[p->i + 2];
        if (p->toks[p->i + 1].kind != T_COLON || n->kind != T_NUMBER || n->s[0] == '-' ||
            n->s[0] == '+' || memchr(n->s, '.', (size_t)n->len) || n->len > 6)
            return sq_set_err(p, "MALFORMED_QUERY",
                              "date literal %s needs ':n' with a whole number "
                              "of days at %s",
                              withn[k], sq_at(p, t->pos));
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

int sq_type_error(struct parser *p, const struct sfr_field *f, const struct token *t)
{
    static const char *const names[] = {"id",   "string",   "boolean", "number",
                                        "date", "dateTime", "time",    "compound"};
    enum fclass fc = field_class(f);
    const char *tn =
        fc == FC_NUM && (f->type == SFR_FT_INT || f->type == SFR_FT_LONG) ? "integer" : names[fc];
    int quoted = fc == FC_ID || fc == FC_TEXT;
    return sq_set_err(p, "INVALID_FIELD",
                      "value of filter criterion for field '%s' must be of type %s and should %sbe "
                      "enclosed in quotes (at %s)",
                      f->name, tn, quoted ? "" : "not ", sq_at(p, t->pos));
}

/* Parses one literal for field f into v (text as the SQL will cast it). */
int sq_parse_value(struct parser *p, const struct sfr_field *f, enum op op, int in_list,
                   struct value *v)
{
    const struct token *t = sq_cur(p);
    enum fclass fc = field_class(f);
    if (sq_tok_is(t, "NULL")) {
        p->i++;
        v->k = V_NULL;
        if (!in_list && op != OP_EQ && op != OP_NE)
            return sq_set_err(p, "MALFORMED_QUERY",
                              "null can only be compared with = or != (at %s)", sq_at(p, t->pos));
        return 0;
    }
    if (fc == FC_DATE || fc == FC_DATETIME) {
        long from = 0, to = 0;
        int r = date_literal(p, &from, &to);
        if (r < 0)
            return -1;
        if (r > 0) {
            if (in_list)
                return sq_set_err(p, "MALFORMED_QUERY",
                                  "sfemu does not support relative date "
                                  "literals in an IN list (at %s)",
                                  sq_at(p, t->pos));
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
            return sq_type_error(p, f, t);
        if ((v->a = sq_decode_string(p, t, 0)) == NULL)
            return -1;
        if (fc == FC_ID && (in_list || op == OP_EQ || op == OP_NE) && v->a[0]) {
            char id18[19];
            if (!sfr_sfid_to18(v->a, strlen(v->a), id18))
                return sq_set_err(p, "INVALID_QUERY_FILTER_OPERATOR",
                                  "invalid ID field: %.40s (at %s)", v->a, sq_at(p, t->pos));
            sfr_free(v->a);
            v->a = sfr_strdup(id18);
        }
        break;
    case FC_BOOL:
        if (!sq_tok_is(t, "TRUE") && !sq_tok_is(t, "FALSE"))
            return sq_type_error(p, f, t);
        v->a = sfr_strdup(sq_tok_is(t, "TRUE") ? "true" : "false");
        break;
    case FC_NUM:
        if (t->kind != T_NUMBER)
            return sq_type_error(p, f, t);
        v->a = sfr_strndup(t->s[0] == '+' ? t->s + 1 : t->s, (size_t)t->len - (t->s[0] == '+'));
        break;
    case FC_DATE:
        if (t->kind != T_DATE)
            return sq_type_error(p, f, t);
        if (!valid_date(num_at(t->s, 4), num_at(t->s + 5, 2), num_at(t->s + 8, 2)))
            return sq_set_err(p, "MALFORMED_QUERY", "invalid date literal '%.*s' at %s", t->len,
                              t->s, sq_at(p, t->pos));
        v->a = sfr_strndup(t->s, (size_t)t->len);
        break;
    case FC_DATETIME:
        if (t->kind != T_DATETIME)
            return sq_type_error(p, f, t);
        if ((v->a = datetime_utc(p, t)) == NULL)
            return -1;
        break;
    default:
        return sq_set_err(p, "INVALID_FIELD",
                          "sfemu cannot filter on field '%s' of type %s (at %s)", f->name,
                          type_name(f->type), sq_at(p, t->pos));
    }
    p->i++;
    return 0;
}
