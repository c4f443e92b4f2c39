/* collections.c — sfemu sObject Collections (/composite/sobjects): create
 * (POST), update (PATCH), upsert by external id (PATCH .../X/Field), delete
 * (DELETE ?ids=) and retrieve (GET or POST .../X with ids and fields).
 *
 * A write request is prepared record by record (object, Id, field conversion
 * through records_validate.c), then applied through the shared write path
 * (records_write.c) in one transaction with a savepoint per record; with
 * allOrNone the whole transaction is rolled back when any record fails and
 * every successful result is reported as rolled back. col_prepare and
 * col_apply also serve the single-record upsert in records.c. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "emu.h"
#include "records_internal.h"
#include "soql.h"
#include "sfrecon/sfid.h"

static void put_results(struct sfr_buf *b, struct result *res, int n, bool upsert)
{
    sfr_buf_putc(b, '[');
    for (int i = 0; i < n; i++) {
        struct result *x = &res[i];
        if (i)
            sfr_buf_putc(b, ',');
        if (x->ok) {
            sfr_buf_printf(b, "{\"id\":\"%s\",\"success\":true,\"errors\":[]", x->id);
            if (upsert)
                sfr_buf_printf(b, ",\"created\":%s", x->created ? "true" : "false");
            sfr_buf_putc(b, '}');
            continue;
        }
        sfr_buf_puts(b, "{");
        if (x->id[0])
            sfr_buf_printf(b, "\"id\":\"%s\",", x->id);
        sfr_buf_puts(b, "\"success\":false,\"errors\":[{\"statusCode\":");
        emu_json_str(b, x->e.code);
        sfr_buf_puts(b, ",\"message\":");
        emu_json_str(b, x->e.msg);
        sfr_buf_printf(b, ",\"fields\":[%s]}]}", x->e.fields);
    }
    sfr_buf_putc(b, ']');
}

/* ---- the after-write fault: applied, then the answer is lost ---- */

bool emu_after_write_parse(struct json_object *j, struct emu_after_write *aw)
{
    json_object *o, *v;
    memset(aw, 0, sizeof *aw);
    if (!json_object_object_get_ex(j, "after_write", &o) || json_object_is_type(o, json_type_null))
        return true;
    if (!json_object_is_type(o, json_type_object))
        return false;
    aw->nth = json_object_object_get_ex(o, "nth", &v) ? json_object_get_int64(v) : 1;
    aw->count = json_object_object_get_ex(o, "count", &v) ? json_object_get_int64(v) : 1;
    snprintf(aw->op, sizeof aw->op, "any");
    if (json_object_object_get_ex(o, "op", &v)) {
        const char *op = json_object_get_string(v);
        if (op == NULL ||
            (strcmp(op, "create") != 0 && strcmp(op, "update") != 0 && strcmp(op, "upsert") != 0 &&
             strcmp(op, "delete") != 0 && strcmp(op, "any") != 0))
            return false;
        snprintf(aw->op, sizeof aw->op, "%s", op);
    }
    aw->answer = 0;
    if (json_object_object_get_ex(o, "answer", &v)) {
        const char *a = json_object_get_string(v);
        if (a != NULL && strcmp(a, "drop") == 0)
            aw->answer = 0;
        else if (a != NULL && (strcmp(a, "504") == 0 || strcmp(a, "502") == 0 ||
                               strcmp(a, "500") == 0 || strcmp(a, "503") == 0))
            aw->answer = atoi(a);
        else
            return false;
    }
    return aw->nth >= 1 && aw->count >= 1;
}

bool emu_after_write_fault(struct emu_req *r, const char *op, enum MHD_Result *ret)
{
    bool hit = false;
    int answer = 0;
    pthread_mutex_lock(&EMU.lock);
    struct emu_after_write *aw = &EMU.faults.after_write;
    if (aw->nth > 0 && (strcmp(aw->op, "any") == 0 || strcmp(aw->op, op) == 0)) {
        aw->seen++;
        hit = aw->seen >= aw->nth && aw->seen < aw->nth + aw->count;
        answer = aw->answer;
        if (aw->seen >= aw->nth + aw->count - 1)
            aw->nth = 0;
    }
    pthread_mutex_unlock(&EMU.lock);
    if (!hit)
        return false;
    if (answer == 0) {
        r->drop = true;
        *ret = MHD_NO;
    } else {
        /* what a gateway in front of the org answers when the org was slow */
        struct sfr_buf b = SFR_BUF_INIT;
        sfr_buf_puts(&b, "<html><body><h1>504 Gateway Time-out</h1></body></html>");
        *ret = emu_send(r, (unsigned)answer, "text/html", &b);
    }
    return true;
}

static void rollback_all(struct result *res, int n)
{
    for (int i = 0; i < n; i++) {
        if (!res[i].ok)
            continue;
        res[i].ok = false;
        res[i].id[0] = '\0';
        rec_set_err(
            &res[i].e, "ALL_OR_NONE_OPERATION_ROLLED_BACK", NULL,
            "Record rolled back because not all records were valid and the request was using "
            "AllOrNone header");
    }
}

/* Finds the upsert target: 0 none, 1 found (id set), -1 error (e set). */
static int upsert_find(PGconn *c, struct emu_object *o, const struct sfr_field *kf, const char *val,
                       char id[19], struct rec_err *e)
{
    char *sql = sfr_asprintf("SELECT id FROM %s WHERE \"%s\" = $1 AND NOT isdeleted LIMIT 2",
                             o->qtable, kf->column);
    PGresult *res = rec_q1(c, sql, 1, &val);
    free(sql);
    int st;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rec_db_err(e, res);
        st = -1;
    } else if (PQntuples(res) > 1) {
        rec_set_err(e, "DUPLICATE_EXTERNAL_ID", kf->name,
                    "%s: more than one record found for external id field: [%s, %s]", kf->name,
                    PQgetvalue(res, 0, 0), PQgetvalue(res, 1, 0));
        st = -1;
    } else if (PQntuples(res) == 1) {
        snprintf(id, 19, "%s", PQgetvalue(res, 0, 0));
        st = 1;
    } else {
        st = 0;
    }
    PQclear(res);
    return st;
}

/* Phase 1 for one record: object, Id and field conversion. */
void col_prepare(json_object *rec, enum col_op op, struct emu_object *uo, struct result *x)
{
    json_object *attr, *type = NULL, *idv = NULL;
    x->rec = rec;
    if (!json_object_is_type(rec, json_type_object)) {
        rec_set_err(&x->e, "JSON_PARSER_ERROR", NULL, "Expected a JSON object for each record");
        x->e.request_level = true;
        return;
    }
    if (json_object_object_get_ex(rec, "attributes", &attr))
        json_object_object_get_ex(attr, "type", &type);
    if (op == COL_UPSERT) {
        x->o = uo;
        if (type != NULL && strcasecmp(json_object_get_string(type), uo->obj->name) != 0) {
            rec_set_err(&x->e, "INVALID_TYPE", NULL, "Record type %s does not match %s",
                        json_object_get_string(type), uo->obj->name);
            return;
        }
    } else if (type == NULL) {
        rec_set_err(&x->e, "INVALID_TYPE", NULL, "Must send a concrete entity type.");
        return;
    } else if ((x->o = emu_object(json_object_get_string(type))) == NULL) {
        rec_set_err(&x->e, "INVALID_TYPE", NULL, "sObject type '%s' is not supported.",
                    json_object_get_string(type));
        return;
    }
    if (op == COL_UPDATE) {
        json_object_object_foreach(rec, k, v)
        {
            if (strcasecmp(k, "id") == 0)
                idv = v;
        }
        const char *s = idv ? json_object_get_string(idv) : NULL;
        if (s == NULL || *s == '\0') {
            rec_set_err(&x->e, "MISSING_ARGUMENT", NULL, "Id not specified in an update call");
            return;
        }
        if (!sfr_sfid_to18(s, strlen(s), x->id) || strncmp(x->id, x->o->obj->key_prefix, 3)) {
            rec_set_err(&x->e, "MALFORMED_ID", "Id", "%s ID: id value of incorrect type: %s",
                        x->o->obj->name, s);
            x->id[0] = '\0';
            return;
        }
    }
    rec_prepare(x->o, rec, op == COL_CREATE, &x->rv, &x->e);
}

/* Phase 2 for one record, inside the transaction. */
bool col_apply(struct wctx *w, enum col_op op, const struct sfr_field *kf, struct result *x)
{
    if (op == COL_CREATE)
        return rec_insert(w, x->o, &x->rv, x->id, &x->e);
    if (op == COL_UPDATE)
        return rec_update(w, x->o, x->id, &x->rv, &x->e);
    const char *key = NULL;
    for (int k = 0; k < x->rv.n; k++)
        if (&x->o->obj->fields[x->rv.fidx[k]] == kf)
            key = x->rv.val[k];
    if (key == NULL) {
        rec_set_err(&x->e, "MISSING_ARGUMENT", kf->name, "%s not specified", kf->name);
        return false;
    }
    int st = upsert_find(w->c, x->o, kf, key, x->id, &x->e);
    if (st < 0)
        return false;
    if (st == 0) {
        /* an insert after all: the insert rules (createable, required) apply */
        rec_rv_cleanup(&x->rv);
        x->created = true;
        x->id[0] = '\0';
        if (!rec_prepare(x->o, x->rec, true, &x->rv, &x->e))
            return false;
        return rec_insert(w, x->o, &x->rv, x->id, &x->e);
    }
    return rec_update(w, x->o, x->id, &x->rv, &x->e);
}

static bool json_bool_arg(json_object *j, const char *key)
{
    json_object *v;
    return j != NULL && json_object_object_get_ex(j, key, &v) && json_object_get_boolean(v);
}

static enum MHD_Result col_write(struct emu_req *r, enum col_op op, struct emu_object *uo,
                                 const struct sfr_field *kf)
{
    enum MHD_Result ret;
    json_object *body = rec_parse_body(r, &ret), *recs;
    if (body == NULL)
        return ret;
    struct result *res = NULL;
    int n = 0;
    if (!json_object_is_type(body, json_type_object) ||
        !json_object_object_get_ex(body, "records", &recs) ||
        !json_object_is_type(recs, json_type_array)) {
        ret = emu_send_error(r, 400, "JSON_PARSER_ERROR",
                             "Expected {\"allOrNone\":...,\"records\":[...]}");
        goto out;
    }
    n = (int)json_object_array_length(recs);
    if (n > EMU_MAX_BATCH) {
        ret = emu_send_error(r, 400, "EXCEEDED_ID_LIMIT",
                             "record limit reached. cannot submit more than 200 records into "
                             "this call");
        n = 0;
        goto out;
    }
    bool all = json_bool_arg(body, "allOrNone");
    res = sfr_calloc((size_t)n + 1, sizeof *res);
    for (int i = 0; i < n; i++) {
        col_prepare(json_object_array_get_idx(recs, i), op, uo, &res[i]);
        if (res[i].e.request_level) {
            ret = emu_send_error(r, 400, res[i].e.code, "%s", res[i].e.msg);
            goto out;
        }
    }
    PGconn *c = emu_pg_get();
    if (c == NULL) {
        ret = rec_store_down(r);
        goto out;
    }
    struct wctx w;
    rec_wctx_init(&w, c);
    bool any_fail = !rec_begin(c);
    for (int i = 0; i < n && !any_fail; i++) {
        struct result *x = &res[i];
        if (x->e.code[0] != '\0') {
            any_fail = any_fail || false;
            continue;
        }
        rec_savepoint(c, "");
        bool wrote_before = w.wrote;
        x->ok = col_apply(&w, op, kf, x);
        if (!x->ok) {
            w.wrote = wrote_before;
            if (op == COL_CREATE || (op == COL_UPSERT && x->created))
                x->id[0] = '\0';
            rec_savepoint(c, "ROLLBACK TO");
        } else {
            rec_savepoint(c, "RELEASE");
        }
    }
    for (int i = 0; i < n; i++)
        any_fail |= !res[i].ok;
    if (all && any_fail) {
        rollback_all(res, n);
        rec_finish(&w, false);
    } else {
        rec_finish(&w, true);
    }
    emu_pg_put(c);
    if (emu_after_write_fault(r,
                              op == COL_CREATE   ? "create"
                              : op == COL_UPDATE ? "update"
                                                 : "upsert",
                              &ret))
        goto out;
    struct sfr_buf b = SFR_BUF_INIT;
    put_results(&b, res, n, op == COL_UPSERT);
    ret = emu_send_json(r, 200, &b);
out:
    for (int i = 0; i < n && res != NULL; i++)
        rec_rv_cleanup(&res[i].rv);
    free(res);
    json_object_put(body);
    return ret;
}

static enum MHD_Result col_delete(struct emu_req *r)
{
    const char *ids = emu_arg(r, "ids"), *aon = emu_arg(r, "allOrNone");
    if (ids == NULL || *ids == '\0')
        return emu_send_error(r, 400, "MISSING_ARGUMENT", "ids parameter is required");
    struct sfr_strv v = {0};
    sfr_strv_split(&v, ids, ',');
    if (v.n > EMU_MAX_BATCH) {
        sfr_strv_cleanup(&v);
        return emu_send_error(r, 400, "EXCEEDED_ID_LIMIT",
                              "record limit reached. cannot submit more than 200 records into "
                              "this call");
    }
    bool all = aon != NULL && strcasecmp(aon, "true") == 0;
    int n = (int)v.n;
    struct result *res = sfr_calloc((size_t)n + 1, sizeof *res);
    PGconn *c = emu_pg_get();
    if (c == NULL) {
        free(res);
        sfr_strv_cleanup(&v);
        return rec_store_down(r);
    }
    struct wctx w;
    rec_wctx_init(&w, c);
    bool ok = rec_begin(c);
    for (int i = 0; i < n && ok; i++) {
        struct result *x = &res[i];
        const char *s = v.v[i];
        if (!sfr_sfid_to18(s, strlen(s), x->id) || (x->o = emu_object_by_prefix(x->id)) == NULL) {
            rec_set_err(&x->e, "MALFORMED_ID", NULL, "malformed id %s", s);
            x->id[0] = '\0';
            continue;
        }
        rec_savepoint(c, "");
        bool wb = w.wrote;
        x->ok = rec_delete(&w, x->o, x->id, true, &x->e);
        if (!x->ok) {
            w.wrote = wb;
            rec_savepoint(c, "ROLLBACK TO");
        } else {
            rec_savepoint(c, "RELEASE");
        }
    }
    bool any_fail = !ok;
    for (int i = 0; i < n; i++)
        any_fail |= !res[i].ok;
    if (all && any_fail) {
        rollback_all(res, n);
        rec_finish(&w, false);
    } else {
        rec_finish(&w, true);
    }
    emu_pg_put(c);
    enum MHD_Result ret;
    if (emu_after_write_fault(r, "delete", &ret)) {
        free(res);
        sfr_strv_cleanup(&v);
        return ret;
    }
    struct sfr_buf b = SFR_BUF_INIT;
    put_results(&b, res, n, false);
    free(res);
    sfr_strv_cleanup(&v);
    return emu_send_json(r, 200, &b);
}

/* Joins the strings of a JSON array with commas; false when it is not one. */
static bool join_strings(json_object *a, struct sfr_buf *out)
{
    if (a == NULL || !json_object_is_type(a, json_type_array))
        return false;
    sfr_buf_puts(out, "");
    for (size_t i = 0; i < json_object_array_length(a); i++) {
        json_object *e = json_object_array_get_idx(a, i);
        if (!json_object_is_type(e, json_type_string))
            return false;
        if (i)
            sfr_buf_putc(out, ',');
        sfr_buf_puts(out, json_object_get_string(e));
    }
    return true;
}

/* GET /composite/sobjects/X?ids=...&fields=... or POST with {"ids":[...],"fields":[...]}
 * (the form for long Id lists, used by jsforce): records in request order, null when
 * absent. */
static enum MHD_Result col_retrieve(struct emu_req *r, struct emu_object *o)
{
    const char *ids = emu_arg(r, "ids"), *fields = emu_arg(r, "fields");
    struct sfr_buf pids = SFR_BUF_INIT, pfields = SFR_BUF_INIT;
    if (strcmp(r->method, "POST") == 0) {
        enum MHD_Result pret;
        json_object *body = rec_parse_body(r, &pret), *ji = NULL, *jf = NULL;
        if (body == NULL)
            return pret;
        bool ok = json_object_is_type(body, json_type_object) &&
                  json_object_object_get_ex(body, "ids", &ji) &&
                  json_object_object_get_ex(body, "fields", &jf) && join_strings(ji, &pids) &&
                  join_strings(jf, &pfields);
        json_object_put(body);
        if (!ok) {
            sfr_buf_cleanup(&pids);
            sfr_buf_cleanup(&pfields);
            return emu_send_error(r, 400, "JSON_PARSER_ERROR",
                                  "Expected {\"ids\":[...],\"fields\":[...]} with strings");
        }
        ids = pids.data;
        fields = pfields.data;
    }
    if (ids == NULL || fields == NULL || *ids == '\0' || *fields == '\0') {
        sfr_buf_cleanup(&pids);
        sfr_buf_cleanup(&pfields);
        return emu_send_error(r, 400, "MISSING_ARGUMENT", "ids and fields are required");
    }
    struct sfr_strv v = {0}, fv = {0};
    sfr_strv_split(&v, ids, ',');
    sfr_strv_split(&fv, fields, ',');
    enum MHD_Result ret;
    struct sfr_buf out = SFR_BUF_INIT, one = SFR_BUF_INIT, soql = SFR_BUF_INIT;
    struct sfr_buf sel = SFR_BUF_INIT; /* Id first, then the other fields (Id may be listed) */
    sfr_buf_puts(&sel, "Id");
    for (size_t i = 0; i < fv.n; i++) {
        const char *f = fv.v[i];
        while (*f == ' ')
            f++;
        if (*f != '\0' && strcasecmp(f, "Id") != 0)
            sfr_buf_printf(&sel, ",%s", f);
    }
    PGconn *c = NULL;
    if (v.n > 2000) {
        ret = emu_send_error(r, 400, "EXCEEDED_ID_LIMIT", "too many ids");
        goto out;
    }
    c = emu_pg_get();
    if (c == NULL) {
        ret = rec_store_down(r);
        goto out;
    }
    sfr_buf_putc(&out, '[');
    for (size_t i = 0; i < v.n; i++) {
        char id18[19], code[64] = "", msg[512] = "", last[64];
        struct soql_query *q = NULL;
        sfr_buf_reset(&one);
        if (i)
            sfr_buf_putc(&out, ',');
        if (!sfr_sfid_to18(v.v[i], strlen(v.v[i]), id18)) {
            sfr_buf_puts(&out, "null");
            continue;
        }
        sfr_buf_reset(&soql);
        sfr_buf_printf(&soql, "SELECT %s FROM %s WHERE Id = '%s'", sel.data, o->obj->name, id18);
        if (soql_parse_at(soql.data, &EMU.schema, (time_t)(emu_now_ms() / 1000), &q, code, msg) !=
            0) {
            ret = emu_send_error(r, 400, code[0] ? code : "INVALID_FIELD", "%s", msg);
            goto out;
        }
        long got = emu_query_rows(c, q, 0, NULL, 1, -1, &one, last, msg);
        soql_free(q);
        if (got > 0)
            sfr_buf_append(&out, one.data, one.len);
        else
            sfr_buf_puts(&out, "null");
    }
    sfr_buf_putc(&out, ']');
    ret = emu_send_json(r, 200, &out);
out:
    emu_pg_put(c);
    sfr_buf_cleanup(&out);
    sfr_buf_cleanup(&one);
    sfr_buf_cleanup(&soql);
    sfr_buf_cleanup(&pids);
    sfr_buf_cleanup(&pfields);
    sfr_buf_cleanup(&sel);
    sfr_strv_cleanup(&v);
    sfr_strv_cleanup(&fv);
    return ret;
}

enum MHD_Result emu_collections(struct emu_req *r)
{
    const char *m = r->method;
    if (r->n_seg == 5 && strcmp(m, "POST") == 0)
        return col_write(r, COL_CREATE, NULL, NULL);
    if (r->n_seg == 5 && strcmp(m, "PATCH") == 0)
        return col_write(r, COL_UPDATE, NULL, NULL);
    if (r->n_seg == 5 && strcmp(m, "DELETE") == 0)
        return col_delete(r);
    struct emu_object *o = r->n_seg >= 6 ? emu_object(r->seg[5]) : NULL;
    if (o == NULL)
        return emu_send_not_found(r);
    if (r->n_seg == 6 && (strcmp(m, "GET") == 0 || strcmp(m, "POST") == 0))
        return col_retrieve(r, o);
    if (r->n_seg == 7 && strcmp(m, "PATCH") == 0) {
        int idx = sfr_object_field_index(o->obj, r->seg[6]);
        const struct sfr_field *kf = idx >= 0 ? &o->obj->fields[idx] : NULL;
        if (kf == NULL || !(kf->external_id || kf->id_lookup))
            return emu_send_error(r, 404, "NOT_FOUND",
                                  "Provided external ID field does not exist or is not "
                                  "accessible: %s",
                                  r->seg[6]);
        if (kf->type == SFR_FT_ID)
            return emu_send_error(r, 400, "INVALID_FIELD",
                                  "Upsert by Id is not supported by sObject Collections; use "
                                  "an external id field");
        return col_write(r, COL_UPSERT, o, kf);
    }
    return emu_send_not_found(r);
}
