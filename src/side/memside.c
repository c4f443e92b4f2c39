/* memside.c — an in-memory side for unit tests of the checker, classifier,
 * repair and sync. Rows are kept in a sorted array (byte order of sfid), each
 * holding raw values by field name in the side's own text form, so any
 * projection of the object can read them. Every op call counts as a query. */
#include "sfrecon/sfid.h"
#include "sfrecon/side.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

struct mrow {
    char *sfid;
    char **names; /* field API names */
    char **values;
    int n, cap;
};

struct memside {
    struct sfr_side base; /* first member */
    struct mrow *rows;
    int n, cap;
    long next_id;
    struct sfr_rowhash h;
};

static void mrow_free(struct mrow *r)
{
    for (int i = 0; i < r->n; i++) {
        sfr_free(r->names[i]);
        sfr_free(r->values[i]);
    }
    sfr_free(r->names);
    sfr_free(r->values);
    sfr_free(r->sfid);
    memset(r, 0, sizeof(*r));
}

static const char *mrow_get(const struct mrow *r, const char *name)
{
    for (int i = 0; i < r->n; i++)
        if (strcasecmp(r->names[i], name) == 0)
            return r->values[i];
    return NULL;
}

static void mrow_set(struct mrow *r, const char *name, const char *val)
{
    for (int i = 0; i < r->n; i++)
        if (strcasecmp(r->names[i], name) == 0) {
            sfr_free(r->values[i]);
            r->values[i] = sfr_strdup(val);
            return;
        }
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->names = sfr_realloc(r->names, sizeof(char *) * (size_t)r->cap);
        r->values = sfr_realloc(r->values, sizeof(char *) * (size_t)r->cap);
    }
    r->names[r->n] = sfr_strdup(name);
    r->values[r->n++] = sfr_strdup(val);
}

/* First row with sfid >= key. */
static int lower_bound(const struct memside *m, const char *key)
{
    int lo = 0, hi = m->n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (sfr_sfid_cmp(m->rows[mid].sfid, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static struct mrow *find(struct memside *m, const char *sfid)
{
    int i = lower_bound(m, sfid);
    return i < m->n && strcmp(m->rows[i].sfid, sfid) == 0 ? &m->rows[i] : NULL;
}

/* Returns the row for sfid, inserted empty when absent. */
static struct mrow *find_or_add(struct memside *m, const char *sfid)
{
    int i = lower_bound(m, sfid);
    if (i < m->n && strcmp(m->rows[i].sfid, sfid) == 0)
        return &m->rows[i];
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->rows = sfr_realloc(m->rows, sizeof(struct mrow) * (size_t)m->cap);
    }
    memmove(&m->rows[i + 1], &m->rows[i], sizeof(struct mrow) * (size_t)(m->n - i));
    m->n++;
    memset(&m->rows[i], 0, sizeof(struct mrow));
    m->rows[i].sfid = sfr_strdup(sfid);
    return &m->rows[i];
}

static void remove_at(struct memside *m, int i)
{
    mrow_free(&m->rows[i]);
    memmove(&m->rows[i], &m->rows[i + 1], sizeof(struct mrow) * (size_t)(m->n - i - 1));
    m->n--;
}

static void range_bounds(const struct memside *m, const struct sfr_range *r, int *from, int *to)
{
    *from = r != NULL && r->lo != NULL ? lower_bound(m, r->lo) : 0;
    *to = r != NULL && r->hi != NULL ? lower_bound(m, r->hi) : m->n;
    if (*to < *from)
        *to = *from;
}

static int64_t row_mod(const struct mrow *r, const struct sfr_projection *p)
{
    const char *v = p->idx_modstamp >= 0 ? mrow_get(r, p->fields[p->idx_modstamp]->name) : NULL;
    int64_t ms;
    if (v == NULL || !sfr_parse_datetime_ms(v, strlen(v), &ms))
        return INT64_MIN;
    return ms;
}

static uint64_t row_hash(struct memside *m, const struct mrow *r, const struct sfr_projection *p)
{
    const char *small[64] = {0};
    const char **vals =
        p->n_fields <= 64 ? small : sfr_malloc(sizeof(char *) * (size_t)p->n_fields);
    for (int i = 0; i < p->n_fields; i++)
        vals[i] = mrow_get(r, p->fields[i]->name);
    uint64_t h = sfr_projection_hash(p, &m->h, m->base.src, vals, NULL);
    if (vals != small)
        sfr_free(vals);
    return h;
}

static enum sfr_rc mem_digest(struct sfr_side *s, const struct sfr_projection *p,
                              const struct sfr_range *r, enum sfr_depth depth,
                              struct sfr_digest *out, struct sfr_err *err)
{
    struct memside *m = (struct memside *)s;
    int from, to;
    s->stats.queries++;
    range_bounds(m, r, &from, &to);
    sfr_digest_init(out);
    for (int i = from; i < to; i++) {
        uint64_t h = depth == SFR_DEPTH_CONTENT ? row_hash(m, &m->rows[i], p) : 0;
        sfr_digest_add_row(out, h, row_mod(&m->rows[i], p));
    }
    return SFR_OK;
}

static enum sfr_rc mem_stream(struct sfr_side *s, const struct sfr_projection *p,
                              const struct sfr_range *r, long expected_rows, sfr_row_cb cb,
                              void *ctx, struct sfr_err *err)
{
    struct memside *m = (struct memside *)s;
    int from, to;
    s->stats.queries++;
    range_bounds(m, r, &from, &to);
    for (int i = from; i < to; i++) {
        struct sfr_row_summary sum;
        snprintf(sum.sfid, sizeof(sum.sfid), "%s", m->rows[i].sfid);
        sum.hash = row_hash(m, &m->rows[i], p);
        sum.mod_ms = row_mod(&m->rows[i], p);
        s->stats.rows_read++;
        if (cb(ctx, &sum) != 0)
            break;
    }
    return SFR_OK;
}

static enum sfr_rc mem_fetch(struct sfr_side *s, const struct sfr_projection *p,
                             const char *const *ids, int n_ids, sfr_record_cb cb, void *ctx,
                             struct sfr_err *err)
{
    struct memside *m = (struct memside *)s;
    s->stats.queries++;
    char **vals = sfr_calloc((size_t)p->n_fields + 1, sizeof(char *));
    for (int k = 0; k < n_ids; k++) {
        struct mrow *row = ids[k] != NULL ? find(m, ids[k]) : NULL;
        if (row == NULL)
            continue;
        for (int i = 0; i < p->n_fields; i++)
            vals[i] = (char *)mrow_get(row, p->fields[i]->name);
        struct sfr_record rec = {0};
        rec.sfid = row->sfid;
        rec.values = vals;
        rec.n_values = p->n_fields;
        rec.mod_ms = row_mod(row, p);
        rec.dup_count = 1;
        s->stats.rows_read++;
        if (cb(ctx, &rec) != 0)
            break;
    }
    sfr_free(vals);
    return SFR_OK;
}

static enum sfr_rc mem_boundaries(struct sfr_side *s, const struct sfr_projection *p, long every,
                                  struct sfr_strv *keys, long *total_rows, struct sfr_err *err)
{
    struct memside *m = (struct memside *)s;
    s->stats.queries++;
    if (every < 1)
        every = 1;
    for (long i = every; i < m->n; i += every)
        sfr_strv_push(keys, m->rows[i].sfid);
    if (total_rows != NULL)
        *total_rows = m->n;
    return SFR_OK;
}

/* A new Id: the object's key prefix, a counter, and the checksum suffix. */
static void new_id(struct memside *m, const struct sfr_projection *p, char out[19])
{
    static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    const char *kp = p->obj != NULL && p->obj->key_prefix[0] ? p->obj->key_prefix : "a00";
    char id[16];
    memcpy(id, kp, 3);
    long v = ++m->next_id + 900000000L; /* clear of ids tests put by hand */
    for (int i = 14; i >= 3; i--) {
        id[i] = b62[v % 62];
        v /= 62;
    }
    memcpy(out, id, 15);
    sfr_sfid_suffix(id, out + 15);
    out[18] = '\0';
}

static void apply_values(struct mrow *row, const struct sfr_projection *p,
                         const struct sfr_write *w)
{
    for (int i = 0; i < p->n_fields; i++) {
        if (i == 0 || (w->set != NULL && !w->set[i]))
            continue;
        mrow_set(row, p->fields[i]->name, w->values != NULL ? w->values[i] : NULL);
    }
    mrow_set(row, p->fields[0]->name, row->sfid);
}

static void write_one(struct memside *m, const struct sfr_projection *p, struct sfr_write *w)
{
    struct mrow *row = w->sfid != NULL ? find(m, w->sfid) : NULL;
    w->ok = false;
    w->new_id[0] = w->error_code[0] = w->message[0] = '\0';
    switch (w->kind) {
    case SFR_WRITE_DELETE:
        if (row != NULL)
            remove_at(m, (int)(row - m->rows));
        w->ok = true;
        return;
    case SFR_WRITE_UPDATE:
        if (row == NULL) {
            snprintf(w->error_code, sizeof(w->error_code), "ENTITY_IS_DELETED");
            snprintf(w->message, sizeof(w->message), "entity is deleted");
            return;
        }
        break;
    case SFR_WRITE_INSERT:
        if (row != NULL) {
            snprintf(w->error_code, sizeof(w->error_code), "DUPLICATE_VALUE");
            snprintf(w->message, sizeof(w->message), "duplicate value found: Id %s", w->sfid);
            return;
        }
        /* fall through */
    case SFR_WRITE_UPSERT:
        if (row == NULL) {
            char id[19];
            if (w->sfid == NULL) {
                new_id(m, p, id);
                memcpy(w->new_id, id, sizeof(id));
            }
            row = find_or_add(m, w->sfid != NULL ? w->sfid : id);
        }
        break;
    }
    apply_values(row, p, w);
    w->ok = true;
    m->base.stats.rows_written++;
}

static enum sfr_rc mem_write(struct sfr_side *s, const struct sfr_projection *p,
                             struct sfr_write *w, int n, int64_t journal_run, struct sfr_err *err)
{
    struct memside *m = (struct memside *)s;
    s->stats.queries++;
    for (int i = 0; i < n; i++)
        write_one(m, p, &w[i]);
    return SFR_OK;
}

static void mem_free(struct sfr_side *s)
{
    struct memside *m = (struct memside *)s;
    for (int i = 0; i < m->n; i++)
        mrow_free(&m->rows[i]);
    sfr_free(m->rows);
    sfr_rowhash_cleanup(&m->h);
    sfr_free(m);
}

/* Every `every`-th key, last first: a sample in no particular order. */
static enum sfr_rc mem_sample_keys(struct sfr_side *s, const struct sfr_projection *p, long every,
                                   long max_keys, struct sfr_strv *keys, long *total_est,
                                   struct sfr_err *err)
{
    struct memside *m = (struct memside *)s;
    s->stats.queries++;
    if (every < 1)
        every = 1;
    if (max_keys > 0 && m->n / every > max_keys)
        every = m->n / max_keys;
    for (long i = m->n - 1; i >= 0; i -= every)
        sfr_strv_push(keys, m->rows[i].sfid);
    if (total_est != NULL)
        *total_est = m->n;
    return SFR_OK;
}

/* Rows whose modstamp is after since_ms (a deleted row stays in memory). */
static enum sfr_rc mem_changed_keys(struct sfr_side *s, const struct sfr_projection *p,
                                    int64_t since_ms, long max, struct sfr_strv *keys, bool *more,
                                    struct sfr_err *err)
{
    (void)err;
    struct memside *m = (struct memside *)s;
    s->stats.queries++;
    long added = 0;
    for (long i = 0; i < m->n; i++) {
        if (row_mod(&m->rows[i], p) <= since_ms)
            continue;
        if (max >= 0 && added++ >= max) {
            *more = true;
            break;
        }
        sfr_strv_push(keys, m->rows[i].sfid);
    }
    return SFR_OK;
}

static const struct sfr_side_ops memside_ops = {
    .name = "memory",
    .digest = mem_digest,
    .stream = mem_stream,
    .fetch = mem_fetch,
    .boundaries = mem_boundaries,
    .write = mem_write,
    .free = mem_free,
    .sample_keys = mem_sample_keys,
    .changed_keys = mem_changed_keys,
};

struct sfr_side *sfr_memside_new(enum sfr_canon_src src)
{
    struct memside *m = sfr_calloc(1, sizeof(*m));
    m->base.ops = &memside_ops;
    m->base.src = src;
    sfr_rowhash_init(&m->h);
    return &m->base;
}

void sfr_memside_put(struct sfr_side *s, const struct sfr_projection *p, const char *const *values)
{
    struct memside *m = (struct memside *)s;
    if (p->n_fields == 0 || values[0] == NULL)
        return;
    struct mrow *row = find_or_add(m, values[0]);
    for (int i = 0; i < row->n; i++) { /* a put replaces the whole row */
        sfr_free(row->names[i]);
        sfr_free(row->values[i]);
    }
    row->n = 0;
    for (int i = 0; i < p->n_fields; i++)
        mrow_set(row, p->fields[i]->name, values[i]);
}

void sfr_memside_remove(struct sfr_side *s, const char *sfid)
{
    struct memside *m = (struct memside *)s;
    struct mrow *row = find(m, sfid);
    if (row != NULL)
        remove_at(m, (int)(row - m->rows));
}
