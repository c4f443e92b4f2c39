/* mem.c — aborting allocators, byte buffer and string list: see mem.h. */
#include "sfrecon/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void oom(size_t n)
{
    fprintf(stderr, "sfrecon: fatal: out of memory allocating %zu bytes\n", n);
    abort();
}

void *sfr_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        oom(n);
    return p;
}

void *sfr_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL)
        oom(n * size);
    return p;
}

void *sfr_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        oom(n);
    return q;
}

char *sfr_strdup(const char *s)
{
    if (s == NULL)
        return NULL;
    return sfr_strndup(s, strlen(s));
}

char *sfr_strndup(const char *s, size_t n)
{
    if (s == NULL)
        return NULL;
    char *d = sfr_malloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *sfr_asprintf(const char *fmt, ...)
{
    struct sfr_buf b = SFR_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    sfr_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    return sfr_buf_steal(&b);
}

void sfr_free(void *p)
{
    free(p);
}

void sfr_buf_init(struct sfr_buf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
}

void sfr_buf_cleanup(struct sfr_buf *b)
{
    free(b->data);
    sfr_buf_init(b);
}

void sfr_buf_reset(struct sfr_buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

void sfr_buf_reserve(struct sfr_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->data = sfr_realloc(b->data, cap);
    b->cap = cap;
}

void sfr_buf_append(struct sfr_buf *b, const void *p, size_t n)
{
    sfr_buf_reserve(b, n);
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void sfr_buf_puts(struct sfr_buf *b, const char *s)
{
    sfr_buf_append(b, s, strlen(s));
}

void sfr_buf_putc(struct sfr_buf *b, char c)
{
    sfr_buf_append(b, &c, 1);
}

void sfr_buf_vprintf(struct sfr_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    char small[256];
    int n = vsnprintf(small, sizeof(small), fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(small)) {
        sfr_buf_append(b, small, (size_t)n);
        return;
    }
    sfr_buf_reserve(b, (size_t)n);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void sfr_buf_printf(struct sfr_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sfr_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void sfr_buf_json_str(struct sfr_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    if (s == NULL) {
        sfr_buf_puts(b, "null");
        return;
    }
    sfr_buf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            sfr_buf_puts(b, "\\\"");
            break;
        case '\\':
            sfr_buf_puts(b, "\\\\");
            break;
        case '\n':
            sfr_buf_puts(b, "\\n");
            break;
        case '\r':
            sfr_buf_puts(b, "\\r");
            break;
        case '\t':
            sfr_buf_puts(b, "\\t");
            break;
        default:
            if (*p < 0x20) {
                char e[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};
                sfr_buf_append(b, e, 6);
            } else {
                sfr_buf_putc(b, (char)*p);
            }
        }
    }
    sfr_buf_putc(b, '"');
}

char *sfr_buf_steal(struct sfr_buf *b)
{
    char *d = b->data;
    if (d == NULL)
        d = sfr_strdup("");
    sfr_buf_init(b);
    return d;
}

void sfr_strv_take(struct sfr_strv *s, char *str)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->v = sfr_realloc(s->v, s->cap * sizeof(*s->v));
    }
    s->v[s->n++] = str;
}

void sfr_strv_push(struct sfr_strv *s, const char *str)
{
    sfr_strv_take(s, sfr_strdup(str));
}

void sfr_strv_cleanup(struct sfr_strv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

void sfr_strv_split(struct sfr_strv *s, const char *csv, char sep)
{
    const char *p = csv;
    while (p != NULL && *p) {
        const char *e = strchr(p, sep);
        size_t n = e ? (size_t)(e - p) : strlen(p);
        while (n > 0 && (*p == ' ' || *p == '\t')) {
            p++;
            n--;
        }
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n > 0)
            sfr_strv_take(s, sfr_strndup(p, n));
        p = e ? e + 1 : NULL;
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void sfr_strv_sort_unique(struct sfr_strv *s)
{
    if (s->n < 2)
        return;
    qsort(s->v, s->n, sizeof(*s->v), cmp_str);
    size_t k = 1;
    for (size_t j = 1; j < s->n; j++) {
        if (strcmp(s->v[j], s->v[k - 1]) == 0)
            free(s->v[j]);
        else
            s->v[k++] = s->v[j];
    }
    s->n = k;
}

size_t sfr_strv_lower(const struct sfr_strv *s, const char *key)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(s->v[mid], key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

bool sfr_strv_sorted_has(const struct sfr_strv *s, const char *key)
{
    size_t i = sfr_strv_lower(s, key);
    return i < s->n && strcmp(s->v[i], key) == 0;
}

int sfr_strv_contains_ci(const struct sfr_strv *s, const char *str)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcasecmp(s->v[i], str) == 0)
            return 1;
    return 0;
}
