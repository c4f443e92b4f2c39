/* collections.c — sObject Collections writes: create, update, upsert by
 * external id and delete, 200 records a call, with per-record results in
 * request order. Values are Salesforce text; their JSON type follows the
 * field type. Records rejected with UNABLE_TO_LOCK_ROW are resubmitted with
 * backoff (nothing was written for them).
 *
 * Creates and duplicates: a create whose call fails in a way that leaves its
 * outcome unknown (5xx, the connection dropped after the request went out,
 * an answer cut short or unreadable) is never repeated; its records come
 * back with `unknown` set and status OUTCOME_UNKNOWN. sfr_sf_create_idempotent
 * creates through an upsert on the external id where there is one, so a
 * repeat finds the record instead of making a second one;
 * sfr_sf_lookup_then_create settles records whose create had an unknown
 * outcome: looks them up by external id first and only then writes. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>

#include "sf_internal.h"
#include "sfrecon/log.h"

#define BATCH 200

/* A JSON number as Salesforce accepts it: -?digits[.digits][e[+-]digits]. */
static bool json_number(const char *s)
{
    const char *p = s;
    if (*p == '-')
        p++;
    if (!isdigit((unsigned char)*p))
        return false;
    while (isdigit((unsigned char)*p))
        p++;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return false;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!isdigit((unsigned char)*p))
            return false;
        while (isdigit((unsigned char)*p))
            p++;
    }
    return *p == '\0';
}

static void json_value(struct sfr_buf *b, const struct sfr_field *f, const char *v)
{
    if (v == NULL) {
        sfr_buf_puts(b, "null");
        return;
    }
    switch (f->type) {
    case SFR_FT_BOOLEAN:
        if (strcasecmp(v, "true") == 0 || strcasecmp(v, "t") == 0 || strcmp(v, "1") == 0)
            sfr_buf_puts(b, "true");
        else if (strcasecmp(v, "false") == 0 || strcasecmp(v, "f") == 0 || strcmp(v, "0") == 0)
            sfr_buf_puts(b, "false");
        else
            sfr_buf_json_str(b, v);
        return;
    case SFR_FT_INT:
    case SFR_FT_LONG:
    case SFR_FT_DOUBLE:
    case SFR_FT_CURRENCY:
    case SFR_FT_PERCENT:
        if (json_number(v))
            sfr_buf_puts(b, v);
        else
            sfr_buf_json_str(b, v);
        return;
    default:
        sfr_buf_json_str(b, v);
    }
}

/* A record Id: 15 or 18 characters [0-9A-Za-z]. */
static bool id_ok(const char *id)
{
    if (id == NULL)
        return false;
    size_t n = strlen(id);
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)id[i]))
            return false;
    return n == 15 || n == 18;
}

static void set_result(struct sfr_sf_result *r, const char *code, const char *msg)
{
    r->success = false;
    r->created = false;
    r->unknown = false;
    r->found = false;
    size_t n = strlen(code) < sizeof(r->status_code) ? strlen(code) : sizeof(r->status_code) - 1;
    memcpy(r->status_code, code, n);
    r->status_code[n] = '\0';
    n = strlen(msg) < sizeof(r->message) ? strlen(msg) : sizeof(r->message) - 1;
    memcpy(r->message, msg, n);
    r->message[n] = '\0';
    r->fields[0] = '\0';
}

/* Fills results res[idx[k]] from a collections answer. */
static enum sfr_rc parse_results(const char *body, size_t len, const int *idx, int m,
                                 struct sfr_sf_result *res, struct sfr_err *err)
{
    json_object *j = json_tokener_parse(body ? body : "");
    (void)len;
    if (j == NULL || !json_object_is_type(j, json_type_array) ||
        (int)json_object_array_length(j) != m) {
        json_object_put(j);
        return sfr_err_set(err, SFR_ESF, "sObject Collections answer does not hold %d results", m);
    }
    for (int k = 0; k < m; k++) {
        json_object *e = json_object_array_get_idx(j, (size_t)k), *v, *errs;
        struct sfr_sf_result *r = &res[idx[k]];
        memset(r, 0, sizeof(*r));
        r->success = json_object_object_get_ex(e, "success", &v) && json_object_get_boolean(v);
        if (json_object_object_get_ex(e, "created", &v))
            r->created = json_object_get_boolean(v);
        if (json_object_object_get_ex(e, "id", &v) && json_object_is_type(v, json_type_string))
            snprintf(r->id, sizeof(r->id), "%s", json_object_get_string(v));
        if (!json_object_object_get_ex(e, "errors", &errs) ||
            !json_object_is_type(errs, json_type_array) || json_object_array_length(errs) == 0) {
            if (!r->success)
                set_result(r, "UNKNOWN_ERROR", "failed without an error");
            continue;
        }
        json_object *e0 = json_object_array_get_idx(errs, 0), *fl;
        if (json_object_object_get_ex(e0, "statusCode", &v))
            snprintf(r->status_code, sizeof(r->status_code), "%s", json_object_get_string(v));
        if (json_object_object_get_ex(e0, "message", &v))
            snprintf(r->message, sizeof(r->message), "%s", json_object_get_string(v));
        if (json_object_object_get_ex(e0, "fields", &fl) &&
            json_object_is_type(fl, json_type_array)) {
            size_t o = 0;
            for (size_t i = 0; i < json_object_array_length(fl); i++) {
                const char *fn = json_object_get_string(json_object_array_get_idx(fl, i));
                int w = snprintf(r->fields + o, sizeof(r->fields) - o, "%s%s", i ? "," : "",
                                 fn ? fn : "");
                if (w < 0 || (size_t)w >= sizeof(r->fields) - o)
                    break;
                o += (size_t)w;
            }
        }
    }
    json_object_put(j);
    return SFR_OK;
}

struct savecall {
    enum sfr_sf_op op;
    const char *object;
    const struct sfr_field *const *fields;
    int n_fields;
    const char *ext;
    const struct sfr_sf_rec *recs;
    bool all_or_none;
};

static void build_body(const struct savecall *s, const int *idx, int m, struct sfr_buf *b)
{
    sfr_buf_printf(b, "{\"allOrNone\":%s,\"records\":[", s->all_or_none ? "true" : "false");
    for (int k = 0; k < m; k++) {
        const struct sfr_sf_rec *r = &s->recs[idx[k]];
        if (k > 0)
            sfr_buf_putc(b, ',');
        sfr_buf_puts(b, "{\"attributes\":{\"type\":");
        sfr_buf_json_str(b, s->object);
        sfr_buf_putc(b, '}');
        if (s->op == SFR_SF_UPDATE) {
            sfr_buf_puts(b, ",\"id\":");
            sfr_buf_json_str(b, r->id ? r->id : "");
        }
        for (int i = 0; i < s->n_fields; i++) {
            if (r->set != NULL && !r->set[i])
                continue;
            if (s->op == SFR_SF_UPDATE && strcasecmp(s->fields[i]->name, "Id") == 0)
                continue;
            sfr_buf_putc(b, ',');
            sfr_buf_json_str(b, s->fields[i]->name);
            sfr_buf_putc(b, ':');
            json_value(b, s->fields[i], r->values[i]);
        }
        size_t rl = r->refs != NULL ? strlen(r->refs) : 0;
        if (rl > 2 && r->refs[0] == '{' && r->refs[rl - 1] == '}') {
            sfr_buf_putc(b, ',');
            sfr_buf_append(b, r->refs + 1, rl - 2);
        }
        sfr_buf_putc(b, '}');
    }
    sfr_buf_puts(b, "]}");
}

static enum sfr_rc save_batch(struct sfr_sf *c, const struct savecall *s, const int *idx, int m,
                              struct sfr_sf_result *res, struct sfr_err *err)
{
    struct sfr_buf path = SFR_BUF_INIT, body = SFR_BUF_INIT;
    sf_data_path(c, &path);
    sfr_buf_puts(&path, "/composite/sobjects");
    if (s->op == SFR_SF_UPSERT)
        sfr_buf_printf(&path, "/%s/%s", s->object, s->ext);
    build_body(s, idx, m, &body);
    struct sf_req rq = {.method = s->op == SFR_SF_CREATE ? "POST" : "PATCH",
                        .path = path.data,
                        .body = body.data,
                        .body_len = body.len,
                        .object = s->object,
                        .not_idempotent = s->op == SFR_SF_CREATE,
                        .creates_records = s->op == SFR_SF_CREATE};
    struct sf_resp rs;
    sf_resp_init(&rs);
    enum sfr_rc rc = sf_do(c, &rq, &rs, err);
    bool unknown = rs.outcome_unknown;
    if (rc == SFR_OK) {
        rc = parse_results(rs.body.data, rs.body.len, idx, m, res, err);
        /* a 2xx answer we cannot read: the records may have been created */
        unknown = rc != SFR_OK && s->op == SFR_SF_CREATE;
    }
    if (unknown)
        for (int k = 0; k < m; k++) {
            set_result(&res[idx[k]], "OUTCOME_UNKNOWN",
                       "the create may have been applied but its answer was lost; look the "
                       "record up before sending it again");
            res[idx[k]].unknown = true;
        }
    sf_resp_cleanup(&rs);
    sfr_buf_cleanup(&path);
    sfr_buf_cleanup(&body);
    return rc;
}

static enum sfr_rc delete_batch(struct sfr_sf *c, const char *object, const char *const *ids,
                                const int *idx, int m, bool all_or_none, struct sfr_sf_result *res,
                                struct sfr_err *err)
{
    struct sfr_buf path = SFR_BUF_INIT;
    sf_data_path(c, &path);
    sfr_buf_puts(&path, "/composite/sobjects?ids=");
    for (int k = 0; k < m; k++) {
        if (k > 0)
            sfr_buf_puts(&path, "%2C");
        sf_urlencode(&path, ids[idx[k]]);
    }
    sfr_buf_printf(&path, "&allOrNone=%s", all_or_none ? "true" : "false");
    struct sf_req rq = {.method = "DELETE", .path = path.data, .object = object};
    struct sf_resp rs;
    sf_resp_init(&rs);
    enum sfr_rc rc = sf_do(c, &rq, &rs, err);
    if (rc == SFR_OK)
        rc = parse_results(rs.body.data, rs.body.len, idx, m, res, err);
    sf_resp_cleanup(&rs);
    sfr_buf_cleanup(&path);
    return rc;
}

/* Runs batches over all n records; a shared driver for save and delete.
 * send_batch(i..) handles one batch; records failing with UNABLE_TO_LOCK_ROW go again. */
struct driver {
    struct sfr_sf *c;
    const struct savecall *save; /* NULL for delete */
    const char *object;
    const char *const *ids; /* delete */
    bool all_or_none;
};

static enum sfr_rc send_batch(const struct driver *d, const int *idx, int m,
                              struct sfr_sf_result *res, struct sfr_err *err)
{
    if (d->save != NULL)
        return save_batch(d->c, d->save, idx, m, res, err);
    return delete_batch(d->c, d->object, d->ids, idx, m, d->all_or_none, res, err);
}

static enum sfr_rc drive(const struct driver *d, int n, struct sfr_sf_result *res,
                         struct sfr_err *err)
{
    enum sfr_rc rc = SFR_OK;
    int *idx = sfr_malloc((size_t)BATCH * sizeof(int));
    for (int i = 0; i < n; i++)
        set_result(&res[i], "NOT_SENT", "not sent: an earlier call failed");
    for (int start = 0; start < n && rc == SFR_OK; start += BATCH) {
        int m = n - start < BATCH ? n - start : BATCH;
        for (int k = 0; k < m; k++)
            idx[k] = start + k;
        for (int attempt = 1; m > 0; attempt++) {
            rc = send_batch(d, idx, m, res, err);
            if (rc != SFR_OK) {
                const char *code = err && err->sf_code[0] ? err->sf_code : sfr_rc_name(rc);
                for (int k = 0; k < m; k++) {
                    if (res[idx[k]].unknown)
                        continue; /* keeps OUTCOME_UNKNOWN */
                    set_result(&res[idx[k]], code, err ? err->msg : "call failed");
                }
                break;
            }
            int again = 0;
            for (int k = 0; k < m; k++)
                if (strcmp(res[idx[k]].status_code, "UNABLE_TO_LOCK_ROW") == 0)
                    idx[again++] = idx[k];
            if (again == 0 || attempt >= SF_MAX_ATTEMPTS || d->all_or_none)
                break;
            sfr_log_warn("%s: %d records hit UNABLE_TO_LOCK_ROW; retrying", d->object, again);
            sf_backoff(d->c, attempt);
            m = again;
        }
    }
    free(idx);
    return rc;
}

enum sfr_rc sfr_sf_save(struct sfr_sf *c, enum sfr_sf_op op, const char *object,
                        const struct sfr_field *const *fields, int n_fields,
                        const char *ext_id_field, const struct sfr_sf_rec *recs, int n,
                        bool all_or_none, struct sfr_sf_result *res, struct sfr_err *err)
{
    if (!sfr_soql_name_ok(object) || strchr(object, '.') != NULL)
        return sfr_err_set(err, SFR_EINVAL, "'%s' is not a Salesforce object name", object);
    if (op == SFR_SF_UPSERT && (ext_id_field == NULL || !sfr_soql_name_ok(ext_id_field)))
        return sfr_err_set(err, SFR_EINVAL, "upsert into %s needs an external id field", object);
    for (int i = 0; op == SFR_SF_UPDATE && i < n; i++)
        if (!id_ok(recs[i].id))
            return sfr_err_set(err, SFR_EINVAL, "update of %s record %d lacks a valid Id", object,
                               i);
    struct savecall s = {op, object, fields, n_fields, ext_id_field, recs, all_or_none};
    struct driver d = {c, &s, object, NULL, all_or_none};
    return drive(&d, n, res, err);
}

enum sfr_rc sfr_sf_delete(struct sfr_sf *c, const char *object, const char *const *ids, int n,
                          bool all_or_none, struct sfr_sf_result *res, struct sfr_err *err)
{
    for (int i = 0; i < n; i++)
        if (!id_ok(ids[i]))
            return sfr_err_set(err, SFR_EINVAL, "delete from %s: '%s' is not a record Id", object,
                               ids[i] ? ids[i] : "(null)");
    struct driver d = {c, NULL, object, ids, all_or_none};
    return drive(&d, n, res, err);
}

/* ---- creates that cannot duplicate ---------------------------------------------------- */

static int field_index(const struct sfr_field *const *fields, int n_fields, const char *name)
{
    for (int i = 0; name != NULL && i < n_fields; i++)
        if (strcasecmp(fields[i]->name, name) == 0)
            return i;
    return -1;
}

/* The external id value of rec, NULL when it has none. */
static const char *ext_value(const struct sfr_sf_rec *rec, int xi)
{
    if (xi < 0 || (rec->set != NULL && !rec->set[xi]) || rec->values[xi] == NULL ||
        rec->values[xi][0] == '\0')
        return NULL;
    return rec->values[xi];
}

/* Runs op over the records sel[0..m) of recs, results into res (request order). */
static enum sfr_rc save_subset(struct sfr_sf *c, enum sfr_sf_op op, const char *object,
                               const struct sfr_field *const *fields, int n_fields, const char *ext,
                               const struct sfr_sf_rec *recs, const int *sel, int m,
                               struct sfr_sf_result *res, struct sfr_err *err)
{
    if (m == 0)
        return SFR_OK;
    struct sfr_sf_rec *sub = sfr_calloc((size_t)m, sizeof(*sub));
    struct sfr_sf_result *sr = sfr_calloc((size_t)m, sizeof(*sr));
    for (int k = 0; k < m; k++)
        sub[k] = recs[sel[k]];
    enum sfr_rc rc = sfr_sf_save(c, op, object, fields, n_fields, ext, sub, m, false, sr, err);
    for (int k = 0; k < m; k++)
        res[sel[k]] = sr[k];
    free(sub);
    free(sr);
    return rc;
}

enum sfr_rc sfr_sf_create_idempotent(struct sfr_sf *c, const char *object,
                                     const struct sfr_field *const *fields, int n_fields,
                                     const char *ext_id_field, const struct sfr_sf_rec *recs, int n,
                                     struct sfr_sf_result *res, struct sfr_err *err)
{
    int xi = field_index(fields, n_fields, ext_id_field);
    if (ext_id_field != NULL && xi < 0)
        return sfr_err_set(err, SFR_EINVAL, "%s: the external id %s is not among the fields sent",
                           object, ext_id_field);
    int *up = sfr_calloc((size_t)n + 1, sizeof(int)), *cr = sfr_calloc((size_t)n + 1, sizeof(int));
    int n_up = 0, n_cr = 0;
    for (int i = 0; i < n; i++) {
        set_result(&res[i], "NOT_SENT", "not sent: an earlier call failed");
        if (ext_value(&recs[i], xi) != NULL)
            up[n_up++] = i;
        else
            cr[n_cr++] = i;
    }
    const char *xname = xi >= 0 ? fields[xi]->name : NULL;
    enum sfr_rc rc =
        save_subset(c, SFR_SF_UPSERT, object, fields, n_fields, xname, recs, up, n_up, res, err);
    if (rc == SFR_OK)
        rc =
            save_subset(c, SFR_SF_CREATE, object, fields, n_fields, NULL, recs, cr, n_cr, res, err);
    free(up);
    free(cr);
    return rc;
}

/* Lookup: ext value -> Id of the records holding it (count > 1 = ambiguous). */
struct found {
    char **vals;
    char (*ids)[19];
    int *count;
    int n;
};

static int lookup_row(void *ctx, const char *const *values, const size_t *lens)
{
    struct found *f = ctx;
    (void)lens;
    if (values[0] == NULL || values[1] == NULL)
        return 0;
    for (int i = 0; i < f->n; i++) {
        if (strcasecmp(f->vals[i], values[1]) != 0)
            continue;
        if (f->count[i]++ == 0)
            snprintf(f->ids[i], sizeof(f->ids[i]), "%.18s", values[0]);
    }
    return 0;
}

#define LOOKUP_CHUNK 100

static bool numeric_type(enum sfr_ftype t)
{
    return t == SFR_FT_INT || t == SFR_FT_LONG || t == SFR_FT_DOUBLE || t == SFR_FT_CURRENCY ||
           t == SFR_FT_PERCENT;
}

/* Finds which of vals[0..n) exist in object's ext field (SOQL, 100 values a call). */
static enum sfr_rc lookup_ext(struct sfr_sf *c, const char *object, const struct sfr_field *xf,
                              struct found *f, struct sfr_err *err)
{
    enum sfr_rc rc = SFR_OK;
    const char *cols[2] = {"Id", xf->name};
    for (int start = 0; start < f->n && rc == SFR_OK; start += LOOKUP_CHUNK) {
        int m = f->n - start < LOOKUP_CHUNK ? f->n - start : LOOKUP_CHUNK;
        struct sfr_buf q = SFR_BUF_INIT;
        sfr_buf_printf(&q, "SELECT Id, %s FROM %s WHERE %s IN (", xf->name, object, xf->name);
        int used = 0;
        for (int k = 0; k < m; k++) {
            const char *v = f->vals[start + k];
            if (numeric_type(xf->type) && !json_number(v))
                continue; /* cannot match a number field */
            if (used++ > 0)
                sfr_buf_putc(&q, ',');
            if (numeric_type(xf->type))
                sfr_buf_puts(&q, v);
            else
                sfr_soql_quote(&q, v);
        }
        sfr_buf_putc(&q, ')');
        if (used > 0) {
            struct found sub = {f->vals + start, f->ids + start, f->count + start, m};
            rc = sfr_sf_query(c, q.data, false, cols, 2, lookup_row, &sub, NULL, err);
        }
        sfr_buf_cleanup(&q);
    }
    if (rc != SFR_OK)
        sfr_err_prefix(err, "looking up %s by %s", object, xf->name);
    return rc;
}

enum sfr_rc sfr_sf_lookup_then_create(struct sfr_sf *c, const char *object,
                                      const struct sfr_field *const *fields, int n_fields,
                                      const char *ext_id_field, const struct sfr_sf_rec *recs,
                                      int n, struct sfr_sf_result *res, struct sfr_err *err)
{
    if (!sfr_soql_name_ok(object) || strchr(object, '.') != NULL)
        return sfr_err_set(err, SFR_EINVAL, "'%s' is not a Salesforce object name", object);
    int xi = field_index(fields, n_fields, ext_id_field);
    struct found f = {sfr_calloc((size_t)n + 1, sizeof(char *)),
                      sfr_calloc((size_t)n + 1, sizeof(*f.ids)),
                      sfr_calloc((size_t)n + 1, sizeof(int)), 0};
    int *map = sfr_calloc((size_t)n + 1, sizeof(int)); /* record -> index in f, -1 none */
    for (int i = 0; i < n; i++) {
        const char *v = ext_value(&recs[i], xi);
        map[i] = -1;
        if (v == NULL) {
            set_result(&res[i], "OUTCOME_UNKNOWN",
                       xi < 0 ? "an earlier create may have reached Salesforce and the mapping "
                                "has no upsert_field to look the record up by: not sent again"
                              : "an earlier create may have reached Salesforce and the row has "
                                "no external id value to look it up by: not sent again");
            res[i].unknown = true;
            continue;
        }
        set_result(&res[i], "NOT_SENT", "not sent: an earlier call failed");
        map[i] = f.n;
        f.vals[f.n++] = (char *)v;
    }
    enum sfr_rc rc = f.n > 0 ? lookup_ext(c, object, fields[xi], &f, err) : SFR_OK;
    int *sel = sfr_calloc((size_t)n + 1, sizeof(int));
    int m = 0;
    for (int i = 0; i < n && rc == SFR_OK; i++) {
        int k = map[i];
        if (k < 0)
            continue;
        if (f.count[k] > 1) {
            char msg[160];
            snprintf(msg, sizeof(msg),
                     "%d records of %s hold %s = '%.40s' (one is %s): pick the right one by "
                     "hand, nothing was written",
                     f.count[k], object, fields[xi]->name, f.vals[k], f.ids[k]);
            set_result(&res[i], "DUPLICATE_EXTERNAL_ID", msg);
            continue;
        }
        sel[m++] = i;
    }
    /* found or absent, the upsert on the external id writes the values
     * without ever making a second record */
    if (rc == SFR_OK && m > 0)
        rc = save_subset(c, SFR_SF_UPSERT, object, fields, n_fields, fields[xi]->name, recs, sel, m,
                         res, err);
    for (int j = 0; j < m; j++) {
        int i = sel[j], k = map[i];
        res[i].found = f.count[k] == 1;
        if (res[i].found && res[i].success && res[i].id[0] == '\0')
            snprintf(res[i].id, sizeof(res[i].id), "%s", f.ids[k]);
    }
    free(sel);
    free(map);
    free(f.vals);
    free(f.ids);
    free(f.count);
    return rc;
}

char *sfr_sf_check_soql(const char *object, const struct sfr_field *const *fields, int n_fields,
                        const char *const *values, const bool *set, int64_t since_ms)
{
    struct sfr_buf q = SFR_BUF_INIT;
    /* a SOQL datetime literal: 2026-12-02T15:41:00.000Z */
    char lit[40];
    time_t t = (time_t)(since_ms >= 0 ? since_ms / 1000 : (since_ms - 999) / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t l = strftime(lit, sizeof(lit), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(lit + l, sizeof(lit) - l, ".%03dZ", (int)(((since_ms % 1000) + 1000) % 1000));
    sfr_buf_printf(&q, "SELECT Id, CreatedDate FROM %s WHERE CreatedDate >= %s", object, lit);
    int used = 0;
    for (int i = 0; i < n_fields && used < 3; i++) {
        const struct sfr_field *fd = fields[i];
        if ((set != NULL && !set[i]) || values[i] == NULL || values[i][0] == '\0')
            continue;
        bool text = fd->type == SFR_FT_STRING || fd->type == SFR_FT_EMAIL ||
                    fd->type == SFR_FT_PHONE || fd->type == SFR_FT_PICKLIST ||
                    fd->type == SFR_FT_REFERENCE;
        bool number = (fd->type == SFR_FT_INT || fd->type == SFR_FT_LONG) && json_number(values[i]);
        if ((!text && !number) || strlen(values[i]) > 200)
            continue;
        sfr_buf_printf(&q, " AND %s = ", fd->name);
        if (number)
            sfr_buf_puts(&q, values[i]);
        else
            sfr_soql_quote(&q, values[i]);
        used++;
    }
    return sfr_buf_steal(&q);
}
