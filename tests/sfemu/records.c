/* records.c — sfemu's single-record endpoints: GET/POST/PATCH/DELETE of
 * /sobjects/X[/Id], upsert by external id, and /updated, /deleted.
 *
 * Each request validates its record (records_validate.c), then writes it in
 * one transaction through the shared write path (records_write.c), which
 * inserts the CDC event rows in that transaction. Errors are Salesforce's
 * single-record error bodies. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "emu.h"
#include "records_internal.h"
#include "soql.h"
#include "sfrecon/log.h"
#include "sfrecon/sfid.h"

/* Request-level error reply for a single-record operation. */
static enum MHD_Result send_rec_err(struct emu_req *r, const struct rec_err *e)
{
    unsigned status = strcmp(e->code, "UNKNOWN_EXCEPTION") == 0 ? 500 : 400;
    struct sfr_buf b = SFR_BUF_INIT;
    sfr_buf_puts(&b, "[{\"message\":");
    emu_json_str(&b, e->msg);
    sfr_buf_puts(&b, ",\"errorCode\":");
    emu_json_str(&b, e->code);
    if (!e->request_level)
        sfr_buf_printf(&b, ",\"fields\":[%s]", e->fields);
    sfr_buf_puts(&b, "}]");
    return emu_send_json(r, status, &b);
}

json_object *rec_parse_body(struct emu_req *r, enum MHD_Result *ret)
{
    struct json_tokener *tok = json_tokener_new_ex(64);
    json_object *j = json_tokener_parse_ex(tok, r->body.data, (int)r->body.len);
    enum json_tokener_error err = json_tokener_get_error(tok);
    size_t off = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (j == NULL || err != json_tokener_success) {
        json_object_put(j);
        *ret = emu_send_error(r, 400, "JSON_PARSER_ERROR",
                              "Unexpected character ('%c'): was expecting a JSON value at "
                              "[line:1, column:%zu]",
                              off < r->body.len ? r->body.data[off] : ' ', off + 1);
        return NULL;
    }
    return j;
}

enum MHD_Result rec_store_down(struct emu_req *r)
{
    return emu_send_error(r, 503, "SERVER_UNAVAILABLE", "store unavailable");
}

enum MHD_Result emu_sobject_create(struct emu_req *r, struct emu_object *o)
{
    enum MHD_Result ret;
    json_object *rec = rec_parse_body(r, &ret);
    if (rec == NULL)
        return ret;
    struct rowvals rv = {0};
    struct rec_err e = {0};
    char id[19] = "";
    if (!json_object_is_type(rec, json_type_object)) {
        json_object_put(rec);
        return emu_send_error(r, 400, "JSON_PARSER_ERROR",
                              "Cannot deserialize instance of %s from START_ARRAY value",
                              o->obj->name);
    }
    if (!rec_prepare(o, rec, true, &rv, &e)) {
        ret = send_rec_err(r, &e);
        goto out;
    }
    PGconn *c = emu_pg_get();
    if (c == NULL) {
        ret = rec_store_down(r);
        goto out;
    }
    struct wctx w;
    rec_wctx_init(&w, c);
    bool ok = rec_begin(c) && rec_insert(&w, o, &rv, id, &e);
    rec_finish(&w, ok);
    emu_pg_put(c);
    if (!ok) {
        ret = send_rec_err(r, &e);
        goto out;
    }
    struct sfr_buf b = SFR_BUF_INIT;
    sfr_buf_printf(&b, "{\"id\":\"%s\",\"success\":true,\"errors\":[]}", id);
    ret = emu_send_json(r, 201, &b);
out:
    rec_rv_cleanup(&rv);
    json_object_put(rec);
    return ret;
}

/* GET of one record through the SOQL layer, so values look exactly like query results. */
static enum MHD_Result record_get(struct emu_req *r, struct emu_object *o, const char *id18)
{
    struct sfr_buf soql = SFR_BUF_INIT, out = SFR_BUF_INIT;
    const char *fields = emu_arg(r, "fields");
    sfr_buf_puts(&soql, "SELECT ");
    if (fields != NULL && *fields != '\0') {
        bool has_id = false;
        struct sfr_strv v = {0};
        sfr_strv_split(&v, fields, ',');
        for (size_t i = 0; i < v.n; i++)
            has_id |= strcasecmp(v.v[i], "Id") == 0;
        sfr_buf_printf(&soql, "%s%s", has_id ? "" : "Id,", fields);
        sfr_strv_cleanup(&v);
    } else {
        int n = 0;
        for (int i = 0; i < o->obj->n_fields; i++)
            if (o->fx[i].has_column)
                sfr_buf_printf(&soql, "%s%s", n++ ? "," : "", o->obj->fields[i].name);
    }
    sfr_buf_printf(&soql, " FROM %s WHERE Id = '%s'", o->obj->name, id18);
    struct soql_query *q = NULL;
    char code[64] = "", msg[512] = "", last[64];
    enum MHD_Result ret;
    if (soql_parse_at(soql.data, &EMU.schema, (time_t)(emu_now_ms() / 1000), &q, code, msg) != 0) {
        ret = emu_send_error(r, 400, code[0] ? code : "INVALID_FIELD", "%s", msg);
        goto out;
    }
    PGconn *c = emu_pg_get();
    if (c == NULL) {
        ret = rec_store_down(r);
        goto out;
    }
    long n = emu_query_rows(c, q, 0, NULL, 1, -1, &out, last, msg);
    emu_pg_put(c);
    if (n < 0)
        ret = emu_send_error(r, 500, "UNKNOWN_EXCEPTION", "%s", msg);
    else if (n == 0)
        ret = emu_send_not_found(r);
    else
        ret = emu_send_json(r, 200, &out);
out:
    soql_free(q);
    sfr_buf_cleanup(&soql);
    sfr_buf_cleanup(&out);
    return ret;
}

enum MHD_Result emu_sobject_record(struct emu_req *r, struct emu_object *o, const char *id)
{
    char id18[19];
    bool valid = sfr_sfid_to18(id, strlen(id), id18) && o->obj->key_prefix[0] != '\0' &&
                 strncmp(id18, o->obj->key_prefix, 3) == 0;
    bool get = strcmp(r->method, "GET") == 0, patch = strcmp(r->method, "PATCH") == 0,
         del = strcmp(r->method, "DELETE") == 0;
    if (!get && !patch && !del)
        return emu_send_error(r, 405, "METHOD_NOT_ALLOWED",
                              "HTTP Method '%s' not allowed. Allowed are GET,PATCH,DELETE",
                              r->method);
    if (!valid && get)
        return emu_send_error(r, 404, "NOT_FOUND",
                              "Provided external ID field does not exist or is not accessible: %s",
                              id);
    if (!valid)
        return emu_send_error(r, 400, "MALFORMED_ID", "%s ID: id value of incorrect type: %s",
                              o->obj->name, id);
    if (get)
        return record_get(r, o, id18);
    enum MHD_Result ret = MHD_NO;
    json_object *rec = NULL;
    struct rowvals rv = {0};
    struct rec_err e = {0};
    if (patch) {
        rec = rec_parse_body(r, &ret);
        if (rec == NULL)
            return ret;
        if (!json_object_is_type(rec, json_type_object)) {
            ret = emu_send_error(r, 400, "JSON_PARSER_ERROR", "Expected a JSON object");
            goto out;
        }
        if (!rec_prepare(o, rec, false, &rv, &e)) {
            ret = send_rec_err(r, &e);
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
    bool ok = rec_begin(c);
    int st = ok ? rec_record_state(&w, o, id18, &e) : -2;
    if (st == 0)
        ok = patch ? rec_update(&w, o, id18, &rv, &e) : rec_delete(&w, o, id18, false, &e);
    else
        ok = false;
    rec_finish(&w, ok);
    emu_pg_put(c);
    if (st == -1 || (st == 1 && del))
        ret = st == 1 ? emu_send_error(r, 404, "ENTITY_IS_DELETED", "entity is deleted")
                      : emu_send_not_found(r);
    else if (st == 1)
        ret = emu_send_error(r, 400, "ENTITY_IS_DELETED", "entity is deleted");
    else if (!ok)
        ret = send_rec_err(r, &e);
    else
        ret = emu_send(r, 204, NULL, NULL);
out:
    rec_rv_cleanup(&rv);
    json_object_put(rec);
    return ret;
}

/* PATCH /sobjects/X/ExtField/value: upsert of one record (201 created, 200 updated). */
enum MHD_Result emu_sobject_upsert(struct emu_req *r, struct emu_object *o, const char *field,
                                   const char *value)
{
    int idx = sfr_object_field_index(o->obj, field);
    const struct sfr_field *kf = idx >= 0 ? &o->obj->fields[idx] : NULL;
    if (strcmp(r->method, "PATCH") != 0 && strcmp(r->method, "GET") != 0)
        return emu_send_error(r, 405, "METHOD_NOT_ALLOWED", "HTTP Method '%s' not allowed",
                              r->method);
    if (kf == NULL || !kf->external_id || kf->type == SFR_FT_ID)
        return emu_send_error(r, 404, "NOT_FOUND",
                              "Provided external ID field does not exist or is not accessible: %s",
                              field);
    enum MHD_Result ret;
    PGconn *c = NULL;
    struct result x = {0};
    json_object *rec = rec_parse_body(r, &ret);
    if (rec == NULL)
        return ret;
    if (!json_object_is_type(rec, json_type_object)) {
        ret = emu_send_error(r, 400, "JSON_PARSER_ERROR", "Expected a JSON object");
        goto out;
    }
    json_object_object_add(rec, kf->name, json_object_new_string(value));
    col_prepare(rec, COL_UPSERT, o, &x);
    if (x.e.code[0] != '\0') {
        ret = send_rec_err(r, &x.e);
        goto out;
    }
    c = emu_pg_get();
    if (c == NULL) {
        ret = rec_store_down(r);
        goto out;
    }
    struct wctx w;
    rec_wctx_init(&w, c);
    bool ok = rec_begin(c) && col_apply(&w, COL_UPSERT, kf, &x);
    rec_finish(&w, ok);
    if (!ok) {
        ret = send_rec_err(r, &x.e);
        goto out;
    }
    struct sfr_buf b = SFR_BUF_INIT;
    sfr_buf_printf(&b, "{\"id\":\"%s\",\"success\":true,\"errors\":[],\"created\":%s}", x.id,
                   x.created ? "true" : "false");
    ret = emu_send_json(r, x.created ? 201 : 200, &b);
out:
    emu_pg_put(c);
    rec_rv_cleanup(&x.rv);
    json_object_put(rec);
    return ret;
}

/* ---- /updated and /deleted ---- */

static bool range_arg(struct emu_req *r, const char *name, int64_t *ms)
{
    const char *v = emu_arg(r, name);
    if (v == NULL)
        return false;
    char buf[64];
    snprintf(buf, sizeof buf, "%s", v);
    for (char *p = buf; *p; p++)
        if (*p == ' ')
            *p = '+'; /* an unencoded '+' arrives as a space */
    if (!emu_parse_datetime(buf, ms))
        return false;
    *ms -= ((*ms % 60000) + 60000) % 60000; /* whole minutes, as Salesforce does */
    return true;
}

enum MHD_Result emu_updated_deleted(struct emu_req *r, struct emu_object *o, bool deleted)
{
    int64_t start, end;
    if (strcmp(r->method, "GET") != 0)
        return emu_send_not_found(r);
    if (!range_arg(r, "start", &start) || !range_arg(r, "end", &end))
        return emu_send_error(r, 400, "MALFORMED_QUERY",
                              "start and end must be ISO 8601 date-times");
    if (end < start)
        return emu_send_error(r, 400, "INVALID_REPLICATION_DATE",
                              "The end date must be after the start date");
    if (!deleted && o->f_modstamp < 0)
        return emu_send_error(r, 400, "INVALID_TYPE", "%s has no SystemModstamp", o->obj->name);
    char s_pg[32], e_pg[32], e_sf[32];
    emu_fmt_pg_datetime(start, s_pg);
    emu_fmt_pg_datetime(end, e_pg);
    emu_fmt_sf_datetime(end, e_sf);
    /* purged (hard-deleted) records stay listed, as on Salesforce */
    char *sql = deleted
                    ? sfr_asprintf("SELECT id, to_char(d, 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"+0000\"')"
                                   " FROM (SELECT id, _deleted_at AS d FROM %s WHERE isdeleted"
                                   " UNION ALL SELECT id, deleted_at FROM sfemu._purged WHERE"
                                   " entity = $3) x WHERE d >= $1 AND d < $2 ORDER BY d, id"
                                   " LIMIT 600001",
                                   o->qtable)
                    : sfr_asprintf("SELECT id FROM %s WHERE NOT isdeleted AND \"%s\" >= $1 "
                                   "AND \"%s\" < $2 ORDER BY id LIMIT 600001",
                                   o->qtable, o->obj->fields[o->f_modstamp].column,
                                   o->obj->fields[o->f_modstamp].column);
    const char *p[3] = {s_pg, e_pg, o->obj->name};
    PGconn *c = emu_pg_get();
    if (c == NULL) {
        free(sql);
        return rec_store_down(r);
    }
    PGresult *res = rec_q1(c, sql, deleted ? 3 : 2, p);
    free(sql);
    enum MHD_Result ret;
    struct sfr_buf b = SFR_BUF_INIT;
    int n = PQntuples(res);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        ret = emu_send_error(r, 500, "UNKNOWN_EXCEPTION", "%s", PQresultErrorMessage(res));
    } else if (n > 600000) {
        ret = emu_send_error(r, 400, "EXCEEDED_ID_LIMIT",
                             "The result exceeds 600,000 records; use a shorter interval");
    } else {
        sfr_buf_puts(&b, deleted ? "{\"deletedRecords\":[" : "{\"ids\":[");
        for (int i = 0; i < n; i++) {
            if (i)
                sfr_buf_putc(&b, ',');
            if (deleted)
                sfr_buf_printf(&b, "{\"id\":\"%s\",\"deletedDate\":\"%s\"}", PQgetvalue(res, i, 0),
                               PQgetvalue(res, i, 1));
            else
                sfr_buf_printf(&b, "\"%s\"", PQgetvalue(res, i, 0));
        }
        sfr_buf_puts(&b, "],");
        if (deleted) {
            char s_sf[32];
            emu_fmt_sf_datetime(start, s_sf);
            sfr_buf_printf(&b, "\"earliestDateAvailable\":\"%s\",", s_sf);
        }
        sfr_buf_printf(&b, "\"latestDateCovered\":\"%s\"}", e_sf);
        ret = emu_send_json(r, 200, &b);
    }
    PQclear(res);
    emu_pg_put(c);
    return ret;
}
