/* jsonstream.c — incremental parsing of REST query responses.
 *
 * json-c's tokener only yields whole top-level values, and a query page can
 * hold 2000 records, so the scanner here walks the body bytes as they arrive,
 * tracks strings and nesting, and cuts out each element of the top-level
 * "records" array; the record parser then decodes one record's fields.
 * Memory is bounded by one record (capped by max_record). Top-level scalars
 * totalSize, done and nextRecordsUrl are kept; their order does not matter. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sfrecon/sf.h"

#define MAX_SCALAR 4096

void sfr_sf_jscan_init(struct sfr_sf_jscan *s)
{
    memset(s, 0, sizeof(*s));
    sfr_buf_init(&s->key);
    sfr_buf_init(&s->val);
    sfr_buf_init(&s->elem);
    s->max_record = 32u * 1024 * 1024;
    sfr_sf_jscan_reset(s);
}

void sfr_sf_jscan_reset(struct sfr_sf_jscan *s)
{
    s->depth = 0;
    s->in_str = s->esc = s->expect_key = s->in_records = s->in_elem = false;
    s->done_top = s->started = false;
    sfr_buf_reset(&s->key);
    sfr_buf_reset(&s->val);
    sfr_buf_reset(&s->elem);
    s->total_size = -1;
    s->done = true;
    s->next_url[0] = '\0';
    s->n_records = 0;
}

void sfr_sf_jscan_cleanup(struct sfr_sf_jscan *s)
{
    sfr_buf_cleanup(&s->key);
    sfr_buf_cleanup(&s->val);
    sfr_buf_cleanup(&s->elem);
}

bool sfr_sf_jscan_complete(const struct sfr_sf_jscan *s)
{
    return s->done_top;
}

/* Removes JSON escapes that can occur in a URL ("\/"). */
static void unescape_simple(const char *in, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        if (in[i] == '\\' && i + 1 < n)
            i++;
        out[o++] = in[i];
    }
    out[o] = '\0';
}

/* A top-level member value ended: keep the ones we need. */
static void top_scalar(struct sfr_sf_jscan *s)
{
    const char *k = s->key.data ? s->key.data : "";
    const char *v = s->val.data ? s->val.data : "";
    if (strcmp(k, "totalSize") == 0) {
        s->total_size = strtol(v, NULL, 10);
    } else if (strcmp(k, "done") == 0) {
        s->done = strcmp(v, "true") == 0;
    } else if (strcmp(k, "nextRecordsUrl") == 0) {
        size_t n = s->val.len;
        if (n >= 2 && v[0] == '"')
            unescape_simple(v + 1, n - 2, s->next_url, sizeof(s->next_url));
        else
            s->next_url[0] = '\0';
    }
    sfr_buf_reset(&s->val);
}

static int fail(struct sfr_err *err, const char *what)
{
    sfr_err_set(err, SFR_ESF, "malformed Salesforce query response: %s", what);
    return -1;
}

/* Appends p[from..to) to the current record, with the cap. */
static int elem_take(struct sfr_sf_jscan *s, const char *p, size_t from, size_t to,
                     struct sfr_err *err)
{
    if (s->elem.len + (to - from) > s->max_record) {
        sfr_err_set(err, SFR_ESF, "a Salesforce record is larger than %zu bytes", s->max_record);
        return -1;
    }
    sfr_buf_append(&s->elem, p + from, to - from);
    return 0;
}

/* A byte inside a string: escapes, the closing quote, top-level keys and
 * values kept (capped), a record's string bytes skipped up to the next quote
 * or backslash. Returns the index of the next byte to look at. */
static size_t string_byte(struct sfr_sf_jscan *s, const char *p, size_t n, size_t i)
{
    char ch = p[i];
    bool closing = false;
    if (s->esc) {
        s->esc = false;
    } else if (ch == '\\') {
        s->esc = true;
    } else if (ch == '"') {
        s->in_str = false;
        closing = true;
    } else if (s->in_elem) {
        size_t j = i + 1;
        while (j < n && p[j] != '"' && p[j] != '\\')
            j++;
        return j;
    }
    if (s->depth == 1) {
        if (s->expect_key) {
            if (!closing && s->key.len < MAX_SCALAR)
                sfr_buf_putc(&s->key, ch);
        } else if (s->val.len < MAX_SCALAR) {
            sfr_buf_putc(&s->val, ch);
        }
    }
    return i + 1;
}

/* An opening quote outside a string. */
static int open_string(struct sfr_sf_jscan *s, struct sfr_err *err)
{
    if (s->depth == 0)
        return fail(err, "expected an object");
    if (s->depth == 2 && s->in_records)
        return fail(err, "a record is not an object");
    s->in_str = true;
    if (s->depth == 1) {
        if (s->expect_key)
            sfr_buf_reset(&s->key);
        else
            sfr_buf_putc(&s->val, '"');
    }
    return 0;
}

/* '{' or '[': the top-level object, the "records" array, or a record's
 * start (its bytes are taken from *span on). */
static int open_bracket(struct sfr_sf_jscan *s, char ch, size_t i, size_t *span,
                        struct sfr_err *err)
{
    if (s->depth == 0) {
        if (ch != '{' || s->started)
            return fail(err, "expected one object");
        s->started = true;
        s->expect_key = true;
    } else if (s->depth == 1 && ch == '[' && !s->expect_key &&
               strcmp(s->key.data ? s->key.data : "", "records") == 0) {
        s->in_records = true;
    } else if (s->depth == 2 && s->in_records) {
        if (ch != '{')
            return fail(err, "a record is not an object");
        s->in_elem = true;
        sfr_buf_reset(&s->elem);
        *span = i;
    }
    s->depth++;
    return 0;
}

/* A record is complete: hand it to on_record. Returns its verdict. */
static int record_end(struct sfr_sf_jscan *s, const char *p, size_t i, size_t span,
                      struct sfr_err *err)
{
    if (elem_take(s, p, span, i + 1, err) != 0)
        return -1;
    s->in_elem = false;
    s->n_records++;
    int r = s->on_record ? s->on_record(s->ctx, s->elem.data, s->elem.len) : 0;
    sfr_buf_reset(&s->elem);
    return r;
}

/* '}' or ']': a record, the "records" array or the whole response ends. */
static int close_bracket(struct sfr_sf_jscan *s, const char *p, size_t i, size_t span,
                         struct sfr_err *err)
{
    if (s->depth == 0)
        return fail(err, "unbalanced brackets");
    s->depth--;
    if (s->depth == 2 && s->in_elem)
        return record_end(s, p, i, span, err);
    if (s->depth == 1 && s->in_records) {
        s->in_records = false;
    } else if (s->depth == 0) {
        if (s->val.len > 0)
            top_scalar(s);
        s->done_top = true;
    }
    return 0;
}

/* A byte of a number, true, false or null (or junk where none may be). */
static int scalar_byte(struct sfr_sf_jscan *s, char ch, struct sfr_err *err)
{
    if (s->depth == 0)
        return fail(err, "expected an object");
    if (s->depth == 2 && s->in_records)
        return fail(err, "a record is not an object");
    if (s->depth == 1 && !s->expect_key && s->val.len < MAX_SCALAR)
        sfr_buf_putc(&s->val, ch);
    return 0;
}

/* One byte outside a string. Returns 0, -1 (err set) or on_record's stop. */
static int structural_byte(struct sfr_sf_jscan *s, const char *p, size_t i, size_t *span,
                           struct sfr_err *err)
{
    char ch = p[i];
    switch (ch) {
    case ' ':
    case '\t':
    case '\r':
    case '\n':
        return 0;
    case '"':
        return open_string(s, err);
    case '{':
    case '[':
        return open_bracket(s, ch, i, span, err);
    case '}':
    case ']':
        return close_bracket(s, p, i, *span, err);
    case ',':
        if (s->depth == 1) {
            top_scalar(s);
            s->expect_key = true;
        }
        return 0;
    case ':':
        if (s->depth == 1) {
            s->expect_key = false;
            sfr_buf_reset(&s->val);
        }
        return 0;
    default:
        return scalar_byte(s, ch, err);
    }
}

int sfr_sf_jscan_feed(struct sfr_sf_jscan *s, const char *p, size_t n, struct sfr_err *err)
{
    size_t i = 0, span = 0; /* span: where the current record's bytes start in p */
    while (i < n) {
        if (s->in_str) {
            i = string_byte(s, p, n, i);
            continue;
        }
        int r = structural_byte(s, p, i, &span, err);
        if (r != 0)
            return r;
        i++;
    }
    if (s->in_elem && elem_take(s, p, span, n, err) != 0)
        return -1;
    return 0;
}

/* ---- one record ---- */

void sfr_sf_recparse_init(struct sfr_sf_recparse *r, const char *const *fields, int n_fields)
{
    memset(r, 0, sizeof(*r));
    r->fields = fields;
    r->n_fields = n_fields;
    r->values = sfr_calloc((size_t)n_fields + 1, sizeof(*r->values));
    r->lens = sfr_calloc((size_t)n_fields + 1, sizeof(*r->lens));
    r->off = sfr_calloc((size_t)n_fields + 1, sizeof(*r->off));
    sfr_buf_init(&r->buf);
}

void sfr_sf_recparse_cleanup(struct sfr_sf_recparse *r)
{
    free(r->values);
    free(r->lens);
    free(r->off);
    sfr_buf_cleanup(&r->buf);
    memset(r, 0, sizeof(*r));
}

struct cur {
    const char *p, *end;
};

static void ws(struct cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static bool hex4(const char *p, const char *end, unsigned *out)
{
    if (end - p < 4)
        return false;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0)
            return false;
        v = v << 4 | (unsigned)h;
    }
    *out = v;
    return true;
}

static void put_utf8(struct sfr_buf *b, unsigned cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | cp >> 6);
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | cp >> 12);
        u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | cp >> 18);
        u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        u[2] = (char)(0x80 | (cp >> 6 & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    sfr_buf_append(b, u, n);
}

/* Decodes a JSON string at c->p (on the opening quote) into b (when not NULL). */
static bool string(struct cur *c, struct sfr_buf *b)
{
    c->p++;
    while (c->p < c->end) {
        const char *q = c->p;
        while (q < c->end && *q != '"' && *q != '\\')
            q++;
        if (b != NULL && q > c->p)
            sfr_buf_append(b, c->p, (size_t)(q - c->p));
        c->p = q;
        if (q >= c->end)
            return false;
        if (*q == '"') {
            c->p++;
            return true;
        }
        if (q + 1 >= c->end)
            return false;
        char e = q[1];
        c->p = q + 2;
        const char *simple = strchr("\"\\/bfnrt", e);
        if (e != 'u') {
            if (simple == NULL || e == '\0')
                return false;
            static const char map[] = "\"\\/\b\f\n\r\t";
            if (b != NULL)
                sfr_buf_putc(b, map[simple - "\"\\/bfnrt"]);
            continue;
        }
        unsigned cp;
        if (!hex4(c->p, c->end, &cp))
            return false;
        c->p += 4;
        if (cp >= 0xD800 && cp < 0xDC00) {
            unsigned lo;
            if (c->end - c->p >= 6 && c->p[0] == '\\' && c->p[1] == 'u' &&
                hex4(c->p + 2, c->end, &lo) && lo >= 0xDC00 && lo < 0xE000) {
                c->p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else {
                cp = 0xFFFD;
            }
        } else if (cp >= 0xDC00 && cp < 0xE000) {
            cp = 0xFFFD;
        }
        if (b != NULL)
            put_utf8(b, cp);
    }
    return false;
}

/* Skips any value; on return c->p is just past it. */
static bool skip_value(struct cur *c)
{
    ws(c);
    if (c->p >= c->end)
        return false;
    if (*c->p == '"')
        return string(c, NULL);
    if (*c->p == '{' || *c->p == '[') {
        int depth = 0;
        while (c->p < c->end) {
            char ch = *c->p;
            if (ch == '"') {
                if (!string(c, NULL))
                    return false;
                continue;
            }
            if (ch == '{' || ch == '[')
                depth++;
            else if (ch == '}' || ch == ']')
                depth--;
            c->p++;
            if (depth == 0)
                return true;
        }
        return false;
    }
    while (c->p < c->end && *c->p != ',' && *c->p != '}' && *c->p != ']' && *c->p != ' ' &&
           *c->p != '\n' && *c->p != '\r' && *c->p != '\t')
        c->p++;
    return true;
}

static int field_index(struct sfr_sf_recparse *r, const char *key, size_t n)
{
    for (int k = 0; k < r->n_fields; k++) {
        int i = (r->guess + k) % r->n_fields;
        const char *f = r->fields[i];
        /* a key may hold a NUL ("Id\u0000x"): it matches no field, and f[n]
         * is only read once f is known to be at least n bytes long */
        if (strncasecmp(f, key, n) == 0 && memchr(key, '\0', n) == NULL && f[n] == '\0') {
            r->guess = i + 1 < r->n_fields ? i + 1 : 0;
            return i;
        }
    }
    return -1;
}

/* Parses the value of field idx into r->buf (NUL-terminated); null leaves it null. */
static bool field_value(struct sfr_sf_recparse *r, struct cur *c, int idx)
{
    ws(c);
    if (c->p >= c->end)
        return false;
    size_t start = r->buf.len;
    char ch = *c->p;
    if (ch == '"') {
        if (!string(c, &r->buf))
            return false;
    } else if (ch == 'n' && c->end - c->p >= 4 && memcmp(c->p, "null", 4) == 0) {
        c->p += 4;
        r->off[idx] = (size_t)-1;
        return true;
    } else {
        /* numbers, booleans, nested objects (compound fields): the JSON text */
        const char *from = c->p;
        if (!skip_value(c))
            return false;
        sfr_buf_append(&r->buf, from, (size_t)(c->p - from));
    }
    r->off[idx] = start;
    r->lens[idx] = r->buf.len - start;
    sfr_buf_putc(&r->buf, '\0');
    return true;
}

enum sfr_rc sfr_sf_recparse_run(struct sfr_sf_recparse *r, const char *json, size_t len,
                                struct sfr_err *err)
{
    struct cur c = {json, json + len};
    sfr_buf_reset(&r->buf);
    for (int i = 0; i < r->n_fields; i++) {
        r->off[i] = (size_t)-1;
        r->lens[i] = 0;
        r->values[i] = NULL;
    }
    ws(&c);
    if (c.p >= c.end || *c.p != '{')
        goto bad;
    c.p++;
    struct sfr_buf key = SFR_BUF_INIT;
    ws(&c);
    if (c.p < c.end && *c.p == '}') {
        c.p++;
        goto done;
    }
    for (;;) {
        ws(&c);
        if (c.p >= c.end || *c.p != '"')
            goto bad_key;
        sfr_buf_reset(&key);
        if (!string(&c, &key))
            goto bad_key;
        ws(&c);
        if (c.p >= c.end || *c.p != ':')
            goto bad_key;
        c.p++;
        int idx = r->n_fields > 0 ? field_index(r, key.data ? key.data : "", key.len) : -1;
        if (!(idx >= 0 ? field_value(r, &c, idx) : skip_value(&c)))
            goto bad_key;
        ws(&c);
        if (c.p < c.end && *c.p == ',') {
            c.p++;
            continue;
        }
        if (c.p < c.end && *c.p == '}') {
            c.p++;
            break;
        }
        goto bad_key;
    }
done:
    sfr_buf_cleanup(&key);
    for (int i = 0; i < r->n_fields; i++)
        if (r->off[i] != (size_t)-1)
            r->values[i] = r->buf.data + r->off[i];
    return SFR_OK;
bad_key:
    sfr_buf_cleanup(&key);
bad:
    return sfr_err_set(err, SFR_ESF, "malformed record in Salesforce query response near byte %zu",
                       (size_t)(c.p - json));
}
