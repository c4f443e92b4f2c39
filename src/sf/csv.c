/* csv.c — streaming CSV parser for Bulk API 2.0 query results.
 *
 * A state machine fed with whatever chunks the HTTP layer receives: quoted
 * fields, doubled quotes, embedded newlines, LF or CRLF line ends. The first
 * row is the header and maps columns to the requested fields; each later row
 * is handed to on_row and dropped, so memory is one row (capped by max_row).
 * An empty field, quoted or not, is null (Salesforce stores no empty strings). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sfrecon/sf.h"

enum { ST_FIELD_START, ST_UNQUOTED, ST_QUOTED, ST_QUOTE_SEEN };

#define MAX_COLS 10000

void sfr_sf_csv_init(struct sfr_sf_csv *p, const char *const *fields, int n_fields)
{
    memset(p, 0, sizeof(*p));
    p->fields = fields;
    p->n_fields = n_fields;
    p->max_row = 32u * 1024 * 1024;
    p->values = sfr_calloc((size_t)n_fields + 1, sizeof(*p->values));
    p->vlens = sfr_calloc((size_t)n_fields + 1, sizeof(*p->vlens));
    sfr_buf_init(&p->row);
    sfr_sf_csv_reset(p);
}

void sfr_sf_csv_reset(struct sfr_sf_csv *p)
{
    p->state = ST_FIELD_START;
    p->header_done = false;
    p->col = 0;
    p->n_cols = 0;
    sfr_buf_reset(&p->row);
}

void sfr_sf_csv_cleanup(struct sfr_sf_csv *p)
{
    free(p->colmap);
    free(p->foff);
    free(p->flen);
    free(p->fquoted);
    free(p->values);
    free(p->vlens);
    sfr_buf_cleanup(&p->row);
    memset(p, 0, sizeof(*p));
}

static int too_long(struct sfr_sf_csv *p, struct sfr_err *err)
{
    sfr_err_set(err, SFR_ESF, "Bulk API result row %ld is larger than %zu bytes", p->n_rows + 1,
                p->max_row);
    return -1;
}

static int append(struct sfr_sf_csv *p, const char *d, size_t n, struct sfr_err *err)
{
    if (p->row.len + n > p->max_row)
        return too_long(p, err);
    sfr_buf_append(&p->row, d, n);
    return 0;
}

static int ensure_col(struct sfr_sf_csv *p, struct sfr_err *err)
{
    if (p->col >= MAX_COLS) {
        sfr_err_set(err, SFR_ESF, "Bulk API result has more than %d columns", MAX_COLS);
        return -1;
    }
    if (p->col >= p->cap_cols) {
        int cap = p->cap_cols ? p->cap_cols * 2 : 32;
        p->foff = sfr_realloc(p->foff, (size_t)cap * sizeof(*p->foff));
        p->flen = sfr_realloc(p->flen, (size_t)cap * sizeof(*p->flen));
        p->fquoted = sfr_realloc(p->fquoted, (size_t)cap * sizeof(*p->fquoted));
        p->colmap = sfr_realloc(p->colmap, (size_t)cap * sizeof(*p->colmap));
        p->cap_cols = cap;
    }
    return 0;
}

static int end_field(struct sfr_sf_csv *p, struct sfr_err *err)
{
    if (ensure_col(p, err) != 0)
        return -1;
    size_t start = p->col == 0 ? 0 : p->foff[p->col - 1] + p->flen[p->col - 1] + 1;
    p->foff[p->col] = start;
    p->flen[p->col] = p->row.len - start;
    sfr_buf_putc(&p->row, '\0');
    p->col++;
    return 0;
}

static int header(struct sfr_sf_csv *p, struct sfr_err *err)
{
    p->n_cols = p->col;
    for (int c = 0; c < p->n_cols; c++) {
        const char *name = p->row.data + p->foff[c];
        p->colmap[c] = -1;
        for (int f = 0; f < p->n_fields; f++)
            if (strcasecmp(name, p->fields[f]) == 0)
                p->colmap[c] = f;
    }
    for (int f = 0; f < p->n_fields; f++) {
        bool found = false;
        for (int c = 0; c < p->n_cols && !found; c++)
            found = p->colmap[c] == f;
        if (!found) {
            sfr_err_set(err, SFR_ESF, "Bulk API result lacks the column %s", p->fields[f]);
            return -1;
        }
    }
    p->header_done = true;
    return 0;
}

static int end_row(struct sfr_sf_csv *p, struct sfr_err *err)
{
    int r = 0;
    if (p->col == 1 && p->flen[0] == 0 && !p->fquoted[0])
        goto next; /* an empty line */
    if (!p->header_done) {
        r = header(p, err);
        goto next;
    }
    if (p->col != p->n_cols) {
        sfr_err_set(err, SFR_ESF, "Bulk API result row %ld has %d columns, the header %d",
                    p->n_rows + 1, p->col, p->n_cols);
        return -1;
    }
    for (int f = 0; f < p->n_fields; f++) {
        p->values[f] = NULL;
        p->vlens[f] = 0;
    }
    for (int c = 0; c < p->n_cols; c++) {
        int f = p->colmap[c];
        if (f >= 0 && p->flen[c] > 0) {
            p->values[f] = p->row.data + p->foff[c];
            p->vlens[f] = p->flen[c];
        }
    }
    p->n_rows++;
    if (p->on_row != NULL)
        r = p->on_row(p->ctx, p->values, p->vlens);
next:
    p->col = 0;
    sfr_buf_reset(&p->row);
    return r;
}

static int start_field(struct sfr_sf_csv *p, bool quoted, struct sfr_err *err)
{
    if (ensure_col(p, err) != 0)
        return -1;
    p->fquoted[p->col] = quoted;
    return 0;
}

int sfr_sf_csv_feed(struct sfr_sf_csv *p, const char *d, size_t n, struct sfr_err *err)
{
    size_t i = 0;
    int r;
    while (i < n) {
        switch (p->state) {
        case ST_FIELD_START:
            if (start_field(p, d[i] == '"', err) != 0)
                return -1;
            if (d[i] == '"') {
                p->state = ST_QUOTED;
                i++;
            } else {
                p->state = ST_UNQUOTED;
            }
            break;
        case ST_UNQUOTED: {
            size_t j = i;
            while (j < n && d[j] != ',' && d[j] != '\n' && d[j] != '\r')
                j++;
            if (j > i && append(p, d + i, j - i, err) != 0)
                return -1;
            i = j;
            if (i == n)
                break;
            char ch = d[i++];
            if (ch == '\r')
                break;
            if (end_field(p, err) != 0)
                return -1;
            p->state = ST_FIELD_START;
            if (ch == '\n' && (r = end_row(p, err)) != 0)
                return r;
            break;
        }
        case ST_QUOTED: {
            const char *q = memchr(d + i, '"', n - i);
            size_t j = q ? (size_t)(q - d) : n;
            if (j > i && append(p, d + i, j - i, err) != 0)
                return -1;
            i = j;
            if (i < n) {
                p->state = ST_QUOTE_SEEN;
                i++;
            }
            break;
        }
        case ST_QUOTE_SEEN: {
            char ch = d[i++];
            if (ch == '"') {
                if (append(p, "\"", 1, err) != 0)
                    return -1;
                p->state = ST_QUOTED;
            } else if (ch == ',' || ch == '\n') {
                if (end_field(p, err) != 0)
                    return -1;
                p->state = ST_FIELD_START;
                if (ch == '\n' && (r = end_row(p, err)) != 0)
                    return r;
            } else if (ch != '\r') {
                sfr_err_set(err, SFR_ESF,
                            "malformed Bulk API CSV: text after a closing quote in row %ld",
                            p->n_rows + 1);
                return -1;
            }
            break;
        }
        }
    }
    return 0;
}

int sfr_sf_csv_finish(struct sfr_sf_csv *p, struct sfr_err *err)
{
    if (p->state == ST_QUOTED) {
        sfr_err_set(err, SFR_ESF, "malformed Bulk API CSV: unterminated quoted field in row %ld",
                    p->n_rows + 1);
        return -1;
    }
    if (p->state == ST_FIELD_START && p->col == 0)
        return 0;
    if (end_field(p, err) != 0)
        return -1;
    p->state = ST_FIELD_START;
    return end_row(p, err);
}
