/* canon.c — canonical values and row hashing (forms in canon.h, docs/hashing.md).
 *
 * This is the inner loop of every content audit: each value of each row on
 * both sides passes through sfr_canon_value, so the parsers are hand written,
 * allocate nothing and append straight into the caller's reused buffer.
 * Numbers are rounded in decimal string arithmetic on the value's text, so
 * both sides round the same decimal the same way (2.675 -> 2.68 everywhere),
 * independent of binary floating point. */
#define XXH_INLINE_ALL
#include "sfrecon/canon.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define RAW_PREFIX     "\x01raw:"
#define RAW_PREFIX_LEN 5
#define MAX_DIGITS     800 /* mantissa digits plus exponent shift we handle */
#define MAX_SCALE      40

static inline void put(struct sfr_buf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap)
        sfr_buf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static inline bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static void put_raw(struct sfr_buf *out, const char *val, size_t len)
{
    put(out, RAW_PREFIX, RAW_PREFIX_LEN);
    put(out, val, len);
}

/* ---- numbers ------------------------------------------------------------- */

/* A decimal as digits d[0..n) with the decimal point after `point` digits. */
struct decimal {
    char d[MAX_DIGITS + 2];
    int n;
    int point;
    bool neg;
};

/* Appends a significant digit. Zeros are held back in *zeros until a nonzero
 * digit follows, so that trailing zeros (which carry no value) do not count
 * against the digit limit: "5e377" and its canonical form "5000...0.00" must
 * parse to the same decimal. */
static bool push_digit(struct decimal *x, char c, int *zeros)
{
    if (c == '0') {
        (*zeros)++;
        return true;
    }
    if (x->n + *zeros >= 400)
        return false;
    memset(x->d + x->n, '0', (size_t)*zeros);
    x->n += *zeros;
    *zeros = 0;
    x->d[x->n++] = c;
    return true;
}

/* Parses [+-]digits[.digits][(e|E)[+-]digits]. Leading zeros are dropped. */
static bool parse_decimal(const char *s, size_t len, struct decimal *x)
{
    size_t i = 0;
    int zeros = 0;
    x->neg = false;
    x->n = 0;
    x->point = 0;
    if (i < len && (s[i] == '-' || s[i] == '+'))
        x->neg = s[i++] == '-';
    int int_digits = 0, any = 0;
    bool leading = true;
    for (; i < len && is_digit(s[i]); i++, any++) {
        if (leading && s[i] == '0')
            continue;
        leading = false;
        if (!push_digit(x, s[i], &zeros))
            return false;
        int_digits++;
    }
    if (i < len && s[i] == '.') {
        i++;
        for (; i < len && is_digit(s[i]); i++, any++) {
            if (leading && s[i] == '0') {
                int_digits--; /* 0.00x: each leading fraction zero moves the point */
                continue;
            }
            leading = false;
            if (!push_digit(x, s[i], &zeros))
                return false;
        }
    }
    if (!any)
        return false;
    long exp = 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < len && (s[i] == '-' || s[i] == '+'))
            eneg = s[i++] == '-';
        if (i >= len || !is_digit(s[i]))
            return false;
        for (; i < len && is_digit(s[i]); i++) {
            exp = exp * 10 + (s[i] - '0');
            if (exp > 100000)
                return false;
        }
        if (eneg)
            exp = -exp;
    }
    if (i != len)
        return false;
    while (x->n > 0 && x->d[x->n - 1] == '0')
        x->n--; /* trailing zeros carry no value */
    x->point = x->n == 0 ? 0 : int_digits + (int)exp;
    return x->n == 0 || (x->point < 400 && x->point > -400);
}

/* Rounds half away from zero to `scale` decimals and prints it. */
static void put_decimal(struct sfr_buf *out, struct decimal *x, int scale)
{
    char r[MAX_DIGITS + MAX_SCALE + 8];
    int point = x->point + 1; /* r[0] is a carry digit */
    int keep = point + scale; /* digits of r that survive */
    r[0] = '0';
    memcpy(r + 1, x->d, (size_t)x->n);
    int n = x->n + 1;
    if (keep <= 0) {
        n = 0;
    } else if (keep < n) {
        bool up = r[keep] >= '5';
        n = keep;
        for (int i = n - 1; up && i >= 0; i--) {
            if (r[i] == '9') {
                r[i] = '0';
            } else {
                r[i]++;
                up = false;
            }
        }
    }
    /* the digit at position k (0-based) of the result, zero outside r */
    char buf[MAX_DIGITS + MAX_SCALE + 16];
    int o = 0;
    bool nonzero = false;
    for (int i = 0; i < n; i++)
        nonzero |= r[i] != '0';
    if (x->neg && nonzero)
        buf[o++] = '-';
    int start = o;
    for (int k = 0; k < point; k++) {
        char c = k < n ? r[k] : '0';
        if (o == start && c == '0')
            continue;
        buf[o++] = c;
    }
    if (o == start)
        buf[o++] = '0';
    if (scale > 0) {
        buf[o++] = '.';
        for (int k = point; k < point + scale; k++)
            buf[o++] = k >= 0 && k < n ? r[k] : '0';
    }
    put(out, buf, (size_t)o);
}

static void canon_number(const struct sfr_field *f, const char *val, size_t len,
                         struct sfr_buf *out)
{
    struct decimal x;
    if (!parse_decimal(val, len, &x)) {
        put_raw(out, val, len);
        return;
    }
    int scale = f->scale < 0 ? 0 : f->scale > MAX_SCALE ? MAX_SCALE : f->scale;
    put_decimal(out, &x, scale);
}

static void canon_int(const char *val, size_t len, struct sfr_buf *out)
{
    /* Fast path: plain digits without sign or leading zero. */
    if (len < 20 && val[0] >= '1' && val[0] <= '9') {
        size_t i = 1;
        while (i < len && is_digit(val[i]))
            i++;
        if (i == len) {
            put(out, val, len);
            return;
        }
    }
    struct decimal x;
    if (!parse_decimal(val, len, &x) || x.n > x.point) { /* a fraction is not an integer */
        put_raw(out, val, len);
        return;
    }
    put_decimal(out, &x, 0);
}

/* ---- dates and times ----------------------------------------------------- */

static inline int dig2(const char *p)
{
    return (p[0] - '0') * 10 + (p[1] - '0');
}

static inline bool digits_at(const char *s, size_t len, size_t at, size_t n)
{
    if (at + n > len)
        return false;
    for (size_t i = at; i < at + n; i++)
        if (!is_digit(s[i]))
            return false;
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
int64_t sfr_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void sfr_civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static bool parse_date(const char *s, size_t len, int *y, int *m, int *d)
{
    if (len < 10 || !digits_at(s, len, 0, 4) || s[4] != '-' || !digits_at(s, len, 5, 2) ||
        s[7] != '-' || !digits_at(s, len, 8, 2))
        return false;
    *y = dig2(s) * 100 + dig2(s + 2);
    *m = dig2(s + 5);
    *d = dig2(s + 8);
    return *m >= 1 && *m <= 12 && *d >= 1 && *d <= 31;
}

/* HH:MM[:SS[.fff...]] at s[*i]; fills ms of day, advances *i. */
static bool parse_clock(const char *s, size_t len, size_t *i, int64_t *ms)
{
    size_t p = *i;
    if (!digits_at(s, len, p, 2) || p + 2 >= len || s[p + 2] != ':' || !digits_at(s, len, p + 3, 2))
        return false;
    int hh = dig2(s + p), mi = dig2(s + p + 3), ss = 0, frac = 0;
    p += 5;
    if (p < len && s[p] == ':') {
        if (!digits_at(s, len, p + 1, 2))
            return false;
        ss = dig2(s + p + 1);
        p += 3;
        if (p < len && s[p] == '.') {
            p++;
            if (p >= len || !is_digit(s[p]))
                return false;
            int scale = 100;
            for (; p < len && is_digit(s[p]); p++, scale /= 10)
                frac += (s[p] - '0') * scale; /* digits past the millisecond are dropped */
        }
    }
    if (hh > 24 || mi > 59 || ss > 60 || (hh == 24 && (mi || ss || frac)))
        return false;
    *ms = ((int64_t)hh * 3600 + mi * 60 + ss) * 1000 + frac;
    *i = p;
    return true;
}

bool sfr_parse_datetime_ms(const char *s, size_t len, int64_t *ms_utc)
{
    int y, m, d;
    if (s == NULL || !parse_date(s, len, &y, &m, &d))
        return false;
    int64_t ms = sfr_days_from_civil(y, m, d) * 86400000LL;
    size_t i = 10;
    if (i < len) {
        if (s[i] != 'T' && s[i] != ' ')
            return false;
        i++;
        int64_t clock;
        if (!parse_clock(s, len, &i, &clock))
            return false;
        ms += clock;
        if (i < len && s[i] == ' ')
            i++; /* "12:00:00 +02" */
        if (i < len && s[i] == 'Z') {
            i++;
        } else if (i < len && (s[i] == '+' || s[i] == '-')) {
            int sign = s[i] == '-' ? -1 : 1;
            i++;
            if (!digits_at(s, len, i, 2))
                return false;
            int off = dig2(s + i) * 60;
            i += 2;
            if (i < len && s[i] == ':')
                i++;
            if (digits_at(s, len, i, 2)) {
                off += dig2(s + i);
                i += 2;
                if (i < len && s[i] == ':' && digits_at(s, len, i + 1, 2))
                    i += 3; /* seconds of a historical offset: ignored */
            }
            ms -= (int64_t)sign * off * 60000;
        }
    }
    if (i != len)
        return false;
    *ms_utc = ms;
    return true;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Fills out with "YYYY-MM-DD?HH:MM:SS.mmm" (sep between date and time); returns length. */
static int format_dt(int64_t ms, char sep, char *out)
{
    int64_t days = floor_div(ms, 86400000LL);
    int64_t rem = ms - days * 86400000LL;
    int y, m, d;
    sfr_civil_from_days(days, &y, &m, &d);
    int hh = (int)(rem / 3600000), mi = (int)(rem / 60000 % 60), ss = (int)(rem / 1000 % 60);
    int mss = (int)(rem % 1000);
    if (y < 0 || y > 9999)
        y = y < 0 ? 0 : 9999;
    char *p = out;
    *p++ = (char)('0' + y / 1000);
    *p++ = (char)('0' + y / 100 % 10);
    *p++ = (char)('0' + y / 10 % 10);
    *p++ = (char)('0' + y % 10);
    *p++ = '-';
    *p++ = (char)('0' + m / 10);
    *p++ = (char)('0' + m % 10);
    *p++ = '-';
    *p++ = (char)('0' + d / 10);
    *p++ = (char)('0' + d % 10);
    *p++ = sep;
    *p++ = (char)('0' + hh / 10);
    *p++ = (char)('0' + hh % 10);
    *p++ = ':';
    *p++ = (char)('0' + mi / 10);
    *p++ = (char)('0' + mi % 10);
    *p++ = ':';
    *p++ = (char)('0' + ss / 10);
    *p++ = (char)('0' + ss % 10);
    *p++ = '.';
    *p++ = (char)('0' + mss / 100);
    *p++ = (char)('0' + mss / 10 % 10);
    *p++ = (char)('0' + mss % 10);
    *p = '\0';
    return (int)(p - out);
}

void sfr_format_datetime_ms(int64_t ms_utc, char out[32])
{
    int n = format_dt(ms_utc, 'T', out);
    out[n] = 'Z';
    out[n + 1] = '\0';
}

void sfr_format_datetime_sf(int64_t ms_utc, char out[32])
{
    int n = format_dt(ms_utc, 'T', out);
    memcpy(out + n, "+0000", 6);
}

void sfr_format_datetime_pg(int64_t ms_utc, char out[32])
{
    format_dt(ms_utc, ' ', out);
}

static void canon_datetime(const char *val, size_t len, struct sfr_buf *out)
{
    int64_t ms;
    if (!sfr_parse_datetime_ms(val, len, &ms)) {
        put_raw(out, val, len);
        return;
    }
    char buf[32];
    int n = format_dt(ms, 'T', buf);
    buf[n++] = 'Z';
    put(out, buf, (size_t)n);
}

static void canon_date(const char *val, size_t len, struct sfr_buf *out)
{
    int y, m, d;
    if (len != 10 || !parse_date(val, len, &y, &m, &d)) {
        put_raw(out, val, len);
        return;
    }
    put(out, val, 10);
}

static void canon_time(const char *val, size_t len, struct sfr_buf *out)
{
    size_t i = 0;
    int64_t ms;
    if (!parse_clock(val, len, &i, &ms) || (i < len && !(i + 1 == len && val[i] == 'Z'))) {
        put_raw(out, val, len);
        return;
    }
    char buf[32];
    format_dt(ms, ' ', buf); /* day 0: the clock part starts at offset 11 */
    put(out, buf + 11, 12);
}

/* ---- text types ---------------------------------------------------------- */

static void canon_bool(const char *val, size_t len, struct sfr_buf *out)
{
    char c = val[0] | 0x20;
    if ((len == 1 && (c == 't' || val[0] == '1')) || (len == 4 && strncasecmp(val, "true", 4) == 0))
        put(out, "1", 1);
    else if ((len == 1 && (c == 'f' || val[0] == '0')) ||
             (len == 5 && strncasecmp(val, "false", 5) == 0))
        put(out, "0", 1);
    else
        put_raw(out, val, len);
}

struct span {
    const char *p;
    size_t n;
};

static int span_cmp(const void *a, const void *b)
{
    const struct span *x = a, *y = b;
    size_t n = x->n < y->n ? x->n : y->n;
    int c = memcmp(x->p, y->p, n);
    if (c != 0)
        return c;
    return x->n < y->n ? -1 : x->n > y->n;
}

static void canon_multipicklist(const char *val, size_t len, struct sfr_buf *out)
{
    struct span small[64], *v = small;
    size_t cap = 64, n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && val[i] != ';')
            continue;
        if (n == cap) {
            struct span *nv = sfr_malloc(sizeof(*nv) * cap * 2);
            memcpy(nv, v, sizeof(*nv) * n);
            if (v != small)
                sfr_free(v);
            v = nv;
            cap *= 2;
        }
        v[n++] = (struct span){val + start, i - start};
        start = i + 1;
    }
    qsort(v, n, sizeof(*v), span_cmp);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            put(out, ";", 1);
        put(out, v[i].p, v[i].n);
    }
    if (v != small)
        sfr_free(v);
}

bool sfr_canon_value(const struct sfr_field *f, enum sfr_canon_src src, const char *val, size_t len,
                     struct sfr_buf *out)
{
    (void)src; /* both sides' text forms are accepted by the same parsers */
    /* Salesforce stores no empty strings, and Bulk CSV writes null as empty. */
    if (val == NULL || len == 0)
        return true;
    switch (f->type) {
    case SFR_FT_BOOLEAN:
        canon_bool(val, len, out);
        break;
    case SFR_FT_INT:
    case SFR_FT_LONG:
        canon_int(val, len, out);
        break;
    case SFR_FT_DOUBLE:
    case SFR_FT_CURRENCY:
    case SFR_FT_PERCENT:
        canon_number(f, val, len, out);
        break;
    case SFR_FT_DATE:
        canon_date(val, len, out);
        break;
    case SFR_FT_DATETIME:
        canon_datetime(val, len, out);
        break;
    case SFR_FT_TIME:
        canon_time(val, len, out);
        break;
    case SFR_FT_MULTIPICKLIST:
        canon_multipicklist(val, len, out);
        break;
    default: /* text, id, reference (as stored), base64, ... */
        put(out, val, len);
        break;
    }
    return false;
}

/* ---- row hash ------------------------------------------------------------ */

void sfr_rowhash_init(struct sfr_rowhash *h)
{
    sfr_buf_init(&h->buf);
    sfr_buf_init(&h->tmp);
    sfr_buf_reserve(&h->buf, 1024);
}

void sfr_rowhash_cleanup(struct sfr_rowhash *h)
{
    sfr_buf_cleanup(&h->buf);
    sfr_buf_cleanup(&h->tmp);
}

void sfr_rowhash_reset(struct sfr_rowhash *h)
{
    h->buf.len = 0;
}

void sfr_rowhash_add(struct sfr_rowhash *h, const struct sfr_field *f, enum sfr_canon_src src,
                     const char *val, size_t len)
{
    struct sfr_buf *b = &h->buf;
    if (b->len + 5 > b->cap)
        sfr_buf_reserve(b, 4);
    size_t at = b->len;
    b->len += 4; /* length slot, patched below */
    uint32_t n = 0xFFFFFFFFu;
    if (!sfr_canon_value(f, src, val, len, b))
        n = (uint32_t)(b->len - at - 4);
    else
        b->len = at + 4;
    unsigned char *p = (unsigned char *)b->data + at;
    p[0] = (unsigned char)n;
    p[1] = (unsigned char)(n >> 8);
    p[2] = (unsigned char)(n >> 16);
    p[3] = (unsigned char)(n >> 24);
}

uint64_t sfr_rowhash_finish(struct sfr_rowhash *h)
{
    uint64_t x = XXH3_64bits(h->buf.data, h->buf.len);
    h->buf.len = 0;
    return x;
}

char *sfr_canon_text(const struct sfr_field *f, enum sfr_canon_src src, const char *val)
{
    struct sfr_buf b = SFR_BUF_INIT;
    if (val == NULL || sfr_canon_value(f, src, val, strlen(val), &b)) {
        sfr_buf_cleanup(&b);
        return NULL;
    }
    return sfr_buf_steal(&b);
}
