/* query.c — SOQL literals, REST query/queryAll with streamed pages, aggregate
 * queries, the describe cache, and the /updated and /deleted change feeds.
 *
 * A query page is parsed while it arrives (jsonstream.c) and each record is
 * handed to the caller and dropped. When a page has to be fetched again (a
 * dropped connection), the records of that page already delivered are
 * skipped, so the caller sees every record exactly once. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>

#include "sf_internal.h"
#include "sfrecon/canon.h"
#include "sfrecon/log.h"

/* ---- SOQL helpers ---- */

void sfr_soql_escape(struct sfr_buf *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '\\':
        case '\'':
        case '"':
            sfr_buf_putc(out, '\\');
            sfr_buf_putc(out, *s);
            break;
        case '\n':
            sfr_buf_puts(out, "\\n");
            break;
        case '\r':
            sfr_buf_puts(out, "\\r");
            break;
        case '\t':
            sfr_buf_puts(out, "\\t");
            break;
        default:
            sfr_buf_putc(out, *s);
        }
    }
}

void sfr_soql_quote(struct sfr_buf *out, const char *s)
{
    sfr_buf_putc(out, '\'');
    sfr_soql_escape(out, s);
    sfr_buf_putc(out, '\'');
}

bool sfr_soql_name_ok(const char *name)
{
    if (name == NULL || !isalpha((unsigned char)name[0]))
        return false;
    for (const char *p = name; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (isalnum(ch) || ch == '_')
            continue;
        if (ch == '.' && p[1] != '\0' && p[1] != '.' && isalpha((unsigned char)p[1]))
            continue;
        return false;
    }
    return strlen(name) < 128;
}

void sf_soql_object(const char *soql, char *out, size_t n)
{
    out[0] = '\0';
    for (const char *p = soql; *p; p++) {
        if ((p == soql || isspace((unsigned char)p[-1])) && strncasecmp(p, "FROM", 4) == 0 &&
            isspace((unsigned char)p[4])) {
            p += 4;
            while (isspace((unsigned char)*p))
                p++;
            size_t i = 0;
            while ((isalnum((unsigned char)p[i]) || p[i] == '_') && i + 1 < n) {
                out[i] = p[i];
                i++;
            }
            out[i] = '\0';
            return;
        }
    }
}

void sf_format_time(int64_t ms, char out[40])
{
    time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 40, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
}

/* ---- REST query ---- */

struct qctx {
    struct sfr_sf_jscan scan;
    struct sfr_sf_recparse rp;
    sfr_sf_row_cb cb;
    void *ctx;
    long seen;      /* records of this page seen in this attempt */
    long delivered; /* records of this page handed out (over all attempts) */
    long total;
    struct sfr_err perr;
};

static int q_record(void *ctx, const char *json, size_t len)
{
    struct qctx *q = ctx;
    if (++q->seen <= q->delivered)
        return 0; /* delivered before the connection dropped */
    if (sfr_sf_recparse_run(&q->rp, json, len, &q->perr) != SFR_OK)
        return -1;
    q->delivered++;
    q->total++;
    return q->cb(q->ctx, q->rp.values, q->rp.lens) != 0 ? 1 : 0;
}

static int q_write(void *ctx, const char *p, size_t n);
static void q_reset(void *ctx);
static bool q_complete(void *ctx);

struct qsink {
    struct sf_sink sink;
    struct qctx q;
};

static int q_write(void *ctx, const char *p, size_t n)
{
    struct qsink *s = ctx;
    int r = sfr_sf_jscan_feed(&s->q.scan, p, n, &s->sink.err);
    if (r < 0 && s->q.perr.rc != SFR_OK)
        s->sink.err = s->q.perr;
    return r;
}

static void q_reset(void *ctx)
{
    struct qsink *s = ctx;
    sfr_sf_jscan_reset(&s->q.scan);
    sfr_err_clear(&s->q.perr);
    s->q.seen = 0;
}

static bool q_complete(void *ctx)
{
    struct qsink *s = ctx;
    return sfr_sf_jscan_complete(&s->q.scan);
}

enum sfr_rc sfr_sf_query(struct sfr_sf *c, const char *soql, bool all, const char *const *fields,
                         int n_fields, sfr_sf_row_cb cb, void *ctx, long *n_rows,
                         struct sfr_err *err)
{
    char object[80];
    sf_soql_object(soql, object, sizeof(object));
    struct qsink *s = sfr_calloc(1, sizeof(*s));
    s->sink = (struct sf_sink){q_write, q_reset, q_complete, s, {0}};
    sfr_sf_jscan_init(&s->q.scan);
    s->q.scan.on_record = q_record;
    s->q.scan.ctx = &s->q;
    s->q.scan.max_record = SF_MAX_RECORD;
    sfr_sf_recparse_init(&s->q.rp, fields, n_fields);
    s->q.cb = cb;
    s->q.ctx = ctx;
    struct sfr_buf path = SFR_BUF_INIT;
    sf_data_path(c, &path);
    sfr_buf_puts(&path, all ? "/queryAll?q=" : "/query?q=");
    sf_urlencode(&path, soql);
    struct sf_resp rs;
    sf_resp_init(&rs);
    enum sfr_rc rc;
    for (;;) {
        struct sf_req rq = {.method = "GET", .path = path.data, .object = object, .sink = &s->sink};
        s->q.delivered = 0;
        rc = sf_do(c, &rq, &rs, err);
        if (rc != SFR_OK || rs.stopped || s->q.scan.next_url[0] == '\0')
            break;
        sfr_buf_reset(&path);
        sfr_buf_puts(&path, s->q.scan.next_url);
    }
    if (n_rows != NULL)
        *n_rows = s->q.total;
    sf_resp_cleanup(&rs);
    sfr_buf_cleanup(&path);
    sfr_sf_recparse_cleanup(&s->q.rp);
    sfr_sf_jscan_cleanup(&s->q.scan);
    free(s);
    return rc;
}

struct aggctx {
    int n;
    char **values;
    bool got;
};

static int agg_row(void *ctx, const char *const *values, const size_t *lens)
{
    struct aggctx *a = ctx;
    for (int i = 0; i < a->n; i++)
        a->values[i] = values[i] ? sfr_strndup(values[i], lens[i]) : NULL;
    a->got = true;
    return 1;
}

enum sfr_rc sfr_sf_aggregate(struct sfr_sf *c, const char *soql, int n_exprs, char **values,
                             struct sfr_err *err)
{
    char names[16][16];
    const char *fields[16];
    if (n_exprs < 0 || n_exprs > 16)
        return sfr_err_set(err, SFR_EINVAL, "aggregate query with %d expressions", n_exprs);
    for (int i = 0; i < n_exprs; i++) {
        snprintf(names[i], sizeof(names[i]), "expr%d", i);
        fields[i] = names[i];
        values[i] = NULL;
    }
    struct aggctx a = {n_exprs, values, false};
    return sfr_sf_query(c, soql, false, fields, n_exprs, agg_row, &a, NULL, err);
}

/* ---- describe ---- */

static struct sf_describe *desc_find(struct sfr_sf *c, const char *name)
{
    for (int i = 0; i < c->n_desc; i++)
        if (strcasecmp(c->desc[i]->obj.name, name) == 0)
            return c->desc[i];
    return NULL;
}

static enum sfr_rc describe_fetch(struct sfr_sf *c, const char *name, struct sf_describe **out,
                                  struct sfr_err *err)
{
    *out = desc_find(c, name);
    if (*out != NULL)
        return SFR_OK;
    if (!sfr_soql_name_ok(name) || strchr(name, '.') != NULL)
        return sfr_err_set(err, SFR_EINVAL, "'%s' is not a Salesforce object name", name);
    struct sfr_buf path = SFR_BUF_INIT, body = SFR_BUF_INIT;
    sf_data_path(c, &path);
    sfr_buf_printf(&path, "/sobjects/%s/describe", name);
    enum sfr_rc rc = sfr_sf_request(c, "GET", path.data, NULL, name, &body, NULL, err);
    if (rc == SFR_ENOTFOUND) {
        rc = sfr_err_set(err, SFR_ENOTFOUND, "Salesforce object %s does not exist (NOT_FOUND)",
                         name);
        sfr_err_hint(err, "check the object's API name and the user's access to it");
    }
    if (rc != SFR_OK)
        goto out;
    struct sf_describe *d = sfr_calloc(1, sizeof(*d));
    rc = sfr_object_from_describe(body.data ? body.data : "", body.len, &d->obj, err);
    if (rc != SFR_OK) {
        sfr_err_prefix(err, "describe of %s", name);
        free(d);
        goto out;
    }
    d->len = body.len;
    d->json = sfr_buf_steal(&body);
    c->desc = sfr_realloc(c->desc, (size_t)(c->n_desc + 1) * sizeof(*c->desc));
    c->desc[c->n_desc++] = d;
    *out = d;
out:
    sfr_buf_cleanup(&path);
    sfr_buf_cleanup(&body);
    return rc;
}

enum sfr_rc sfr_sf_describe(struct sfr_sf *c, const char *name, const struct sfr_object **out,
                            struct sfr_err *err)
{
    struct sf_describe *d;
    *out = NULL;
    enum sfr_rc rc = describe_fetch(c, name, &d, err);
    if (rc == SFR_OK)
        *out = &d->obj;
    return rc;
}

enum sfr_rc sfr_sf_schema(struct sfr_sf *c, const char *const *names, int n_names,
                          struct sfr_schema *out, struct sfr_err *err)
{
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < n_names; i++) {
        struct sf_describe *d;
        enum sfr_rc rc = describe_fetch(c, names[i], &d, err);
        struct sfr_object obj;
        if (rc == SFR_OK)
            rc = sfr_object_from_describe(d->json, d->len, &obj, err);
        if (rc != SFR_OK) {
            sfr_schema_cleanup(out);
            return rc;
        }
        sfr_schema_add(out, &obj);
    }
    return SFR_OK;
}

/* ---- /updated and /deleted ---- */

static enum sfr_rc changes_get(struct sfr_sf *c, const char *object, const char *what,
                               int64_t start_ms, int64_t end_ms, json_object **out,
                               struct sfr_err *err)
{
    *out = NULL;
    if (!sfr_soql_name_ok(object) || strchr(object, '.') != NULL)
        return sfr_err_set(err, SFR_EINVAL, "'%s' is not a Salesforce object name", object);
    char s[40], e[40];
    sf_format_time(start_ms, s);
    sf_format_time(end_ms, e);
    struct sfr_buf path = SFR_BUF_INIT, body = SFR_BUF_INIT;
    sf_data_path(c, &path);
    sfr_buf_printf(&path, "/sobjects/%s/%s/?start=", object, what);
    sf_urlencode(&path, s);
    sfr_buf_puts(&path, "&end=");
    sf_urlencode(&path, e);
    enum sfr_rc rc = sfr_sf_request(c, "GET", path.data, NULL, object, &body, NULL, err);
    if (rc == SFR_OK) {
        *out = json_tokener_parse(body.data ? body.data : "");
        if (*out == NULL || !json_object_is_type(*out, json_type_object)) {
            json_object_put(*out);
            *out = NULL;
            rc = sfr_err_set(err, SFR_ESF, "malformed answer of /sobjects/%s/%s", object, what);
        }
    }
    sfr_buf_cleanup(&path);
    sfr_buf_cleanup(&body);
    return rc;
}

static int64_t json_time(json_object *j, const char *key)
{
    json_object *v;
    int64_t ms;
    if (json_object_object_get_ex(j, key, &v) && json_object_is_type(v, json_type_string) &&
        sfr_parse_datetime_ms(json_object_get_string(v), (size_t)json_object_get_string_len(v),
                              &ms))
        return ms;
    return INT64_MIN;
}

enum sfr_rc sfr_sf_updated(struct sfr_sf *c, const char *object, int64_t start_ms, int64_t end_ms,
                           struct sfr_strv *ids, int64_t *latest_ms, struct sfr_err *err)
{
    json_object *j, *arr;
    enum sfr_rc rc = changes_get(c, object, "updated", start_ms, end_ms, &j, err);
    if (rc != SFR_OK)
        return rc;
    if (json_object_object_get_ex(j, "ids", &arr) && json_object_is_type(arr, json_type_array)) {
        size_t n = json_object_array_length(arr);
        for (size_t i = 0; i < n; i++) {
            const char *id = json_object_get_string(json_object_array_get_idx(arr, i));
            if (id != NULL)
                sfr_strv_push(ids, id);
        }
    }
    if (latest_ms != NULL)
        *latest_ms = json_time(j, "latestDateCovered");
    json_object_put(j);
    return SFR_OK;
}

enum sfr_rc sfr_sf_deleted(struct sfr_sf *c, const char *object, int64_t start_ms, int64_t end_ms,
                           struct sfr_sf_deleted_rec **recs, size_t *n, int64_t *latest_ms,
                           struct sfr_err *err)
{
    json_object *j, *arr;
    *recs = NULL;
    *n = 0;
    enum sfr_rc rc = changes_get(c, object, "deleted", start_ms, end_ms, &j, err);
    if (rc != SFR_OK)
        return rc;
    if (json_object_object_get_ex(j, "deletedRecords", &arr) &&
        json_object_is_type(arr, json_type_array)) {
        size_t m = json_object_array_length(arr);
        *recs = sfr_calloc(m + 1, sizeof(**recs));
        for (size_t i = 0; i < m; i++) {
            json_object *e = json_object_array_get_idx(arr, i), *id;
            if (!json_object_object_get_ex(e, "id", &id))
                continue;
            struct sfr_sf_deleted_rec *r = &(*recs)[(*n)++];
            snprintf(r->id, sizeof(r->id), "%s", json_object_get_string(id));
            r->deleted_ms = json_time(e, "deletedDate");
        }
    }
    if (latest_ms != NULL)
        *latest_ms = json_time(j, "latestDateCovered");
    json_object_put(j);
    return SFR_OK;
}
