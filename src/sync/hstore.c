/* hstore.c — parses the hstore text that Connect's triggers write into
 * _trigger_log.old and "values": `"col"=>"val", "col2"=>NULL`. Quoted items
 * unescape \" and \\; unquoted items (accepted by hstore input) end at
 * whitespace, ',' or '='; an unquoted NULL value is SQL NULL. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sfrecon/sync.h"

static void skip_ws(const char **p)
{
    while (**p && isspace((unsigned char)**p))
        (*p)++;
}

/* One item at *p; *quoted tells whether it was in double quotes. NULL on a
 * malformed item. */
static char *item(const char **p, bool *quoted)
{
    struct sfr_buf b = SFR_BUF_INIT;
    const char *s = *p;
    *quoted = *s == '"';
    if (*quoted) {
        s++;
        while (*s && *s != '"') {
            if (*s == '\\' && s[1])
                s++;
            sfr_buf_putc(&b, *s++);
        }
        if (*s != '"') {
            sfr_buf_cleanup(&b);
            return NULL;
        }
        s++;
    } else {
        while (*s && !isspace((unsigned char)*s) && *s != ',' && *s != '=') {
            if (*s == '\\' && s[1])
                s++;
            sfr_buf_putc(&b, *s++);
        }
        if (b.len == 0) {
            sfr_buf_cleanup(&b);
            return NULL;
        }
    }
    *p = s;
    if (b.data == NULL)
        return sfr_strdup("");
    return sfr_buf_steal(&b);
}

static void push(struct sfr_hstore *h, char *k, char *v)
{
    h->keys = sfr_realloc(h->keys, sizeof(char *) * (size_t)(h->n + 1));
    h->vals = sfr_realloc(h->vals, sizeof(char *) * (size_t)(h->n + 1));
    h->keys[h->n] = k;
    h->vals[h->n] = v;
    h->n++;
}

enum sfr_rc sfr_hstore_parse(const char *text, struct sfr_hstore *out, struct sfr_err *err)
{
    memset(out, 0, sizeof(*out));
    if (text == NULL)
        return SFR_OK;
    const char *p = text;
    for (;;) {
        skip_ws(&p);
        if (*p == '\0')
            return SFR_OK;
        bool q;
        char *k = item(&p, &q);
        if (k == NULL)
            break;
        skip_ws(&p);
        if (p[0] != '=' || p[1] != '>') {
            free(k);
            break;
        }
        p += 2;
        skip_ws(&p);
        char *v = item(&p, &q);
        if (v == NULL) {
            free(k);
            break;
        }
        if (!q && strcasecmp(v, "NULL") == 0) {
            free(v);
            v = NULL;
        }
        push(out, k, v);
        skip_ws(&p);
        if (*p == ',')
            p++;
        else if (*p != '\0')
            break;
    }
    long off = (long)(p - text);
    sfr_hstore_cleanup(out);
    return sfr_err_set(err, SFR_EINVAL, "malformed hstore text at offset %ld", off);
}

void sfr_hstore_cleanup(struct sfr_hstore *h)
{
    for (int i = 0; i < h->n; i++) {
        free(h->keys[i]);
        free(h->vals[i]);
    }
    free(h->keys);
    free(h->vals);
    memset(h, 0, sizeof(*h));
}

int sfr_hstore_find(const struct sfr_hstore *h, const char *key)
{
    for (int i = 0; i < h->n; i++)
        if (strcmp(h->keys[i], key) == 0)
            return i;
    return -1;
}
