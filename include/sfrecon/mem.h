/* mem.h — allocation that aborts on out-of-memory, and a growable byte buffer.
 * All _free functions accept NULL. */
#ifndef SFRECON_MEM_H
#define SFRECON_MEM_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include "sfrecon/err.h"

void *sfr_malloc(size_t n);
void *sfr_calloc(size_t n, size_t size);
void *sfr_realloc(void *p, size_t n);
char *sfr_strdup(const char *s); /* NULL in, NULL out */
char *sfr_strndup(const char *s, size_t n);
char *sfr_asprintf(const char *fmt, ...) SFR_PRINTF(1, 2); /* Caller frees. */
void sfr_free(void *p);

/* Growable buffer; data is always NUL-terminated (len excludes the NUL). */
struct sfr_buf {
    char *data;
    size_t len;
    size_t cap;
};
#define SFR_BUF_INIT                                                                               \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }
void sfr_buf_init(struct sfr_buf *b);
void sfr_buf_cleanup(struct sfr_buf *b);
void sfr_buf_reset(struct sfr_buf *b); /* len = 0, keeps memory */
void sfr_buf_reserve(struct sfr_buf *b, size_t extra);
void sfr_buf_append(struct sfr_buf *b, const void *p, size_t n);
void sfr_buf_puts(struct sfr_buf *b, const char *s);
void sfr_buf_putc(struct sfr_buf *b, char c);
void sfr_buf_printf(struct sfr_buf *b, const char *fmt, ...) SFR_PRINTF(2, 3);
void sfr_buf_vprintf(struct sfr_buf *b, const char *fmt, va_list ap);
/* Appends s as a JSON string literal ("..." with escapes); NULL appends null. */
void sfr_buf_json_str(struct sfr_buf *b, const char *s);
/* Hands the data to the caller (caller frees) and re-initialises b. */
char *sfr_buf_steal(struct sfr_buf *b);

/* A list of owned strings. */
struct sfr_strv {
    char **v;
    size_t n;
    size_t cap;
};
void sfr_strv_push(struct sfr_strv *s, const char *str); /* copies str */
void sfr_strv_take(struct sfr_strv *s, char *str);       /* takes ownership */
void sfr_strv_cleanup(struct sfr_strv *s);
/* Splits "a,b,c" into s (empty items skipped). */
void sfr_strv_split(struct sfr_strv *s, const char *csv, char sep);
int sfr_strv_contains_ci(const struct sfr_strv *s, const char *str);
/* Sorts in byte order and drops repeats. */
void sfr_strv_sort_unique(struct sfr_strv *s);
/* In a list sorted in byte order: the index of the first entry at or above
 * key (s->n when none), and whether key is there. */
size_t sfr_strv_lower(const struct sfr_strv *s, const char *key);
bool sfr_strv_sorted_has(const struct sfr_strv *s, const char *key);

#endif
