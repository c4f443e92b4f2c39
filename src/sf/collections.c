/* collections.c — sObject Collections writes: create, update, upsert by
 * external id and delete, 200 records a call, with per-record results in
 * request order. Values are Salesforce text; their JSON type follows the
 * field type. Records rejected with UNABLE_TO_LOCK_ROW are resubmitted with
 * backoff (nothing was written for them). A create whose call fails in a
 * way that leaves its outcome unknown is not retried (it could duplicate
 * records); its records are reported failed, never done. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
                        .not_idempotent = s->op == SFR_SF_CREATE};
    struct sf_resp rs;
    sf_resp_init(&rs);
    enum sfr_rc rc = sf_do(c, &rq, &rs, err);
    if (rc == SFR_OK)
        rc = parse_results(rs.body.data, rs.body.len, idx, m, res, err);
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
                for (int k = 0; k < m; k++)
                    set_result(&res[idx[k]], code, err ? err->msg : "call failed");
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
