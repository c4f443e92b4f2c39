/* records.c — sfemu writes: single-record GET/POST/PATCH/DELETE, upsert by
 * external id, the validation and write primitives shared with collections.c
 * (sObject Collections), and /updated, /deleted.
 *
 * Every write runs in one transaction and inserts its CDC event rows in that
 * transaction; collections use a savepoint per record, and with allOrNone the
 * whole transaction is rolled back when any record fails. Validation follows
 * describe: unknown / read-only fields, required fields, lengths, restricted
 * picklists, number ranges, dates, lookups (existence, deletion, key prefix)
 * and unique external ids. A JSON value of the wrong kind for its field is a
 * request-level JSON_PARSER_ERROR, as Salesforce's deserializer reports it. */
#include <ctype.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "emu.h"
#include "records_internal.h"
#include "soql.h"
#include "sfrecon/log.h"
#include "sfrecon/sfid.h"

void rec_rv_cleanup(struct rowvals *rv)
{
    for (int i = 0; i < rv->n; i++)
        free(rv->val[i]);
    json_object_put(rv->payload);
    memset(rv, 0, sizeof *rv);
}

void rec_set_err(struct rec_err *e, const char *code, const char *field, const char *fmt, ...)
{
    if (e->code[0] != '\0')
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    snprintf(e->code, sizeof e->code, "%s", code);
    e->fields[0] = '\0';
    if (field != NULL) {
        struct sfr_buf b = SFR_BUF_INIT;
        emu_json_str(&b, field);
        snprintf(e->fields, sizeof e->fields, "%s", b.data);
        sfr_buf_cleanup(&b);
    }
}

static size_t utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

static const char *jtype_name(json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_boolean:
        return "VALUE_TRUE";
    case json_type_int:
    case json_type_double:
        return "VALUE_NUMBER_INT";
    case json_type_string:
        return "VALUE_STRING";
    case json_type_array:
        return "START_ARRAY";
    case json_type_object:
        return "START_OBJECT";
    default:
        return "VALUE_NULL";
    }
}

static void deser_err(struct rec_err *e, const char *jt, json_object *v)
{
    rec_set_err(e, "JSON_PARSER_ERROR", NULL,
                "Cannot deserialize instance of %s from %s value %s or request may be missing a "
                "required field",
                jt, jtype_name(v), json_object_get_string(v));
    e->request_level = true;
}

static bool picklist_ok(const struct sfr_field *f, const char *v)
{
    for (int i = 0; i < f->n_picklist; i++)
        if (strcmp(f->picklist[i], v) == 0)
            return true;
    return false;
}

static char *conv_text(const struct sfr_field *f, const struct emu_fieldx *fx, json_object *v,
                       struct rec_err *e)
{
    if (json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array)) {
        deser_err(e, "string", v);
        return NULL;
    }
    const char *s = json_object_get_string(v);
    if (*s == '\0')
        return NULL;
    if (f->length > 0 &&
        (f->type == SFR_FT_STRING || f->type == SFR_FT_TEXTAREA || f->type == SFR_FT_EMAIL ||
         f->type == SFR_FT_PHONE || f->type == SFR_FT_URL || f->type == SFR_FT_COMBOBOX ||
         f->type == SFR_FT_ENCRYPTEDSTRING || f->type == SFR_FT_PICKLIST ||
         f->type == SFR_FT_MULTIPICKLIST) &&
        utf8_len(s) > (size_t)f->length) {
        rec_set_err(e, "STRING_TOO_LONG", f->name,
                    "%s: data value too large: %.40s (max length=%d)", f->name, s, f->length);
        return NULL;
    }
    if (f->type == SFR_FT_EMAIL && (strchr(s, '@') == NULL || strchr(s, ' ') != NULL)) {
        rec_set_err(e, "INVALID_EMAIL_ADDRESS", f->name, "%s: invalid email address: %s", f->name,
                    s);
        return NULL;
    }
    if (f->type == SFR_FT_PICKLIST && fx->restricted_picklist && !picklist_ok(f, s)) {
        rec_set_err(e, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", f->name,
                    "%s: bad value for restricted picklist field: %s", f->name, s);
        return NULL;
    }
    if (f->type == SFR_FT_MULTIPICKLIST && fx->restricted_picklist) {
        char *dup = sfr_strdup(s), *save = NULL;
        for (char *t = strtok_r(dup, ";", &save); t != NULL; t = strtok_r(NULL, ";", &save))
            if (!picklist_ok(f, t)) {
                rec_set_err(e, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", f->name,
                            "%s: bad value for restricted picklist field: %s", f->name, t);
                free(dup);
                return NULL;
            }
        free(dup);
    }
    return sfr_strdup(s);
}

static bool parse_num(json_object *v, double *d)
{
    if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) {
        *d = json_object_get_double(v);
        return true;
    }
    if (!json_object_is_type(v, json_type_string))
        return false;
    const char *s = json_object_get_string(v);
    char *end;
    *d = strtod(s, &end);
    return *s != '\0' && *end == '\0' && isfinite(*d);
}

static char *conv_number(const struct sfr_field *f, json_object *v, json_object **pv,
                         struct rec_err *e)
{
    double d;
    bool integral = f->type == SFR_FT_INT || f->type == SFR_FT_LONG;
    if (!parse_num(v, &d)) {
        deser_err(e, integral ? (f->type == SFR_FT_INT ? "int" : "long") : "double", v);
        return NULL;
    }
    if (integral && d != floor(d)) {
        deser_err(e, f->type == SFR_FT_INT ? "int" : "long", v);
        return NULL;
    }
    int whole = f->precision > 0 ? f->precision - (f->scale > 0 ? f->scale : 0) : f->digits;
    if ((whole > 0 && whole < 19 && fabs(d) >= pow(10, whole)) ||
        (f->type == SFR_FT_INT && (d > 2147483647.0 || d < -2147483648.0))) {
        rec_set_err(e, "NUMBER_OUTSIDE_VALID_RANGE", f->name,
                    "%s: value outside of valid range on numeric field: %s", f->name,
                    json_object_get_string(v));
        return NULL;
    }
    if (integral) {
        *pv = json_object_new_int64((int64_t)d);
        return sfr_asprintf("%lld", (long long)d);
    }
    char buf[64];
    if (f->precision > 0 && f->scale >= 0)
        snprintf(buf, sizeof buf, "%.*f", f->scale, d);
    else
        snprintf(buf, sizeof buf, "%.17g", d);
    *pv = json_object_new_double(strtod(buf, NULL));
    return sfr_strdup(buf);
}

static char *conv_datetime(const struct sfr_field *f, json_object *v, json_object **pv,
                           struct rec_err *e)
{
    int64_t ms;
    const char *s = json_object_get_string(v);
    if (!json_object_is_type(v, json_type_string) || !emu_parse_datetime(s, &ms)) {
        deser_err(e, "datetime", v);
        return NULL;
    }
    char out[32], iso[32];
    emu_fmt_pg_datetime(ms, out);
    emu_fmt_sf_datetime(ms, iso);
    memcpy(iso + 23, "Z", 2);
    *pv = json_object_new_string(iso);
    return sfr_strdup(out);
}

static char *conv_date(json_object *v, struct rec_err *e)
{
    int y, m, d;
    const char *s = json_object_get_string(v);
    if (!json_object_is_type(v, json_type_string) || strlen(s) != 10 ||
        !emu_parse_date(s, &y, &m, &d)) {
        deser_err(e, "date", v);
        return NULL;
    }
    return sfr_strdup(s);
}

static char *conv_time(json_object *v, struct rec_err *e)
{
    const char *s = json_object_get_string(v);
    size_t n = json_object_is_type(v, json_type_string) ? strlen(s) : 0;
    if (n > 0 && s[n - 1] == 'Z')
        n--;
    bool ok = n >= 8 && isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) &&
              s[2] == ':' && isdigit((unsigned char)s[3]) && isdigit((unsigned char)s[4]) &&
              s[5] == ':' && isdigit((unsigned char)s[6]) && isdigit((unsigned char)s[7]) &&
              atoi(s) < 24 && atoi(s + 3) < 60 && atoi(s + 6) < 60;
    for (size_t i = 8; ok && i < n; i++)
        ok = (i == 8 && s[i] == '.') || (i > 8 && isdigit((unsigned char)s[i]));
    if (!ok) {
        deser_err(e, "time", v);
        return NULL;
    }
    return sfr_strndup(s, n);
}

static char *conv_ref(const struct sfr_field *f, json_object *v, struct rec_err *e)
{
    const char *s = json_object_get_string(v);
    char id18[19];
    if (!json_object_is_type(v, json_type_string)) {
        deser_err(e, "id", v);
        return NULL;
    }
    if (*s == '\0')
        return NULL;
    if (!sfr_sfid_to18(s, strlen(s), id18)) {
        rec_set_err(e, "MALFORMED_ID", f->name, "%s: id value of incorrect type: %s", f->name, s);
        return NULL;
    }
    bool prefix_ok = f->n_reference_to == 0;
    for (int i = 0; i < f->n_reference_to && !prefix_ok; i++) {
        const struct emu_object *p = emu_object(f->reference_to[i]);
        if (p != NULL && strncmp(p->obj->key_prefix, id18, 3) == 0)
            prefix_ok = true;
        if (p == NULL && strcasecmp(f->reference_to[i], "User") == 0 &&
            strncmp(id18, "005", 3) == 0)
            prefix_ok = true;
    }
    if (!prefix_ok) {
        rec_set_err(e, "INVALID_CROSS_REFERENCE_KEY", f->name, "%s: id value of incorrect type: %s",
                    f->name, s);
        return NULL;
    }
    return sfr_strdup(id18);
}

/* Converts one JSON value for field f to store text (NULL = null) and sets *pv
 * to its change-event JSON value. Errors go to e. */
static char *conv_value(const struct sfr_field *f, const struct emu_fieldx *fx, json_object *v,
                        json_object **pv, struct rec_err *e)
{
    *pv = NULL;
    if (v == NULL || json_object_is_type(v, json_type_null))
        return f->type == SFR_FT_BOOLEAN ? sfr_strdup("false") : NULL;
    char *out = NULL;
    switch (f->type) {
    case SFR_FT_BOOLEAN: {
        const char *s = json_object_get_string(v);
        if (json_object_is_type(v, json_type_boolean))
            out = sfr_strdup(json_object_get_boolean(v) ? "true" : "false");
        else if (json_object_is_type(v, json_type_string) &&
                 (strcasecmp(s, "true") == 0 || strcasecmp(s, "false") == 0))
            out = sfr_strdup(strcasecmp(s, "true") == 0 ? "true" : "false");
        else
            deser_err(e, "boolean", v);
        if (out != NULL)
            *pv = json_object_new_boolean(out[0] == 't');
        return out;
    }
    case SFR_FT_INT:
    case SFR_FT_LONG:
    case SFR_FT_DOUBLE:
    case SFR_FT_CURRENCY:
    case SFR_FT_PERCENT:
        return conv_number(f, v, pv, e);
    case SFR_FT_DATE:
        out = conv_date(v, e);
        break;
    case SFR_FT_DATETIME:
        return conv_datetime(f, v, pv, e);
    case SFR_FT_TIME:
        out = conv_time(v, e);
        break;
    case SFR_FT_ID:
    case SFR_FT_REFERENCE:
        out = conv_ref(f, v, e);
        break;
    default:
        out = conv_text(f, fx, v, e);
        break;
    }
    if (out != NULL)
        *pv = json_object_new_string(out);
    return out;
}

static bool is_system_key(const char *k)
{
    return strcmp(k, "attributes") == 0;
}

/* Converts the fields of rec into rv. create: insert rules, else update rules.
 * skip_field: the upsert key (kept) or NULL. Returns false with e set. */
bool rec_prepare(struct emu_object *o, json_object *rec, bool create, struct rowvals *rv,
                 struct rec_err *e)
{
    const struct sfr_object *ob = o->obj;
    struct sfr_buf ro = SFR_BUF_INIT, rof = SFR_BUF_INIT;
    rv->payload = json_object_new_object();
    json_object_object_foreach(rec, key, val)
    {
        if (is_system_key(key))
            continue;
        if (!create && strcasecmp(key, "id") == 0)
            continue;
        int idx = sfr_object_field_index(ob, key);
        if (idx < 0 || !o->fx[idx].has_column) {
            rec_set_err(e, "INVALID_FIELD", NULL, "No such column '%s' on sobject of type %s", key,
                        ob->name);
            goto fail;
        }
        const struct sfr_field *f = &ob->fields[idx];
        if (create && f->type == SFR_FT_ID) {
            rec_set_err(e, "INVALID_FIELD", NULL, "cannot specify Id in an insert call");
            goto fail;
        }
        if ((create && !f->createable) || (!create && !f->updateable)) {
            sfr_buf_printf(&ro, "%s%s", ro.len ? ", " : "", f->name);
            if (rof.len)
                sfr_buf_putc(&rof, ',');
            emu_json_str(&rof, f->name);
            continue;
        }
        if (rv->n >= MAX_VALS) {
            rec_set_err(e, "INVALID_FIELD", NULL, "too many fields");
            goto fail;
        }
        json_object *pv = NULL;
        char *t = conv_value(f, &o->fx[idx], val, &pv, e);
        if (e->code[0] != '\0') {
            free(t);
            json_object_put(pv);
            goto fail;
        }
        if (t == NULL && !f->nillable && f->type != SFR_FT_BOOLEAN && !create) {
            rec_set_err(e, "REQUIRED_FIELD_MISSING", f->name, "Required fields are missing: [%s]",
                        f->name);
            goto fail;
        }
        rv->fidx[rv->n] = idx;
        rv->val[rv->n] = t;
        rv->n++;
        json_object_object_add(rv->payload, f->name, pv);
    }
    if (ro.len > 0) {
        rec_set_err(
            e, "INVALID_FIELD_FOR_INSERT_UPDATE", NULL,
            "Unable to create/update fields: %s. Please check the security settings of this "
            "field and verify that it is read/write for your profile or permission set.",
            ro.data);
        snprintf(e->fields, sizeof e->fields, "%s", rof.data);
        goto fail;
    }
    if (create) {
        struct sfr_buf miss = SFR_BUF_INIT, missf = SFR_BUF_INIT;
        for (int i = 0; i < ob->n_fields; i++) {
            const struct sfr_field *f = &ob->fields[i];
            if (!f->createable || f->nillable || f->type == SFR_FT_BOOLEAN ||
                o->fx[i].defaulted_on_create || !o->fx[i].has_column)
                continue;
            bool have = false;
            for (int k = 0; k < rv->n && !have; k++)
                have = rv->fidx[k] == i && rv->val[k] != NULL;
            if (!have) {
                sfr_buf_printf(&miss, "%s%s", miss.len ? ", " : "", f->name);
                if (missf.len)
                    sfr_buf_putc(&missf, ',');
                emu_json_str(&missf, f->name);
            }
        }
        if (miss.len > 0) {
            rec_set_err(e, "REQUIRED_FIELD_MISSING", NULL, "Required fields are missing: [%s]",
                        miss.data);
            snprintf(e->fields, sizeof e->fields, "%s", missf.data);
        }
        sfr_buf_cleanup(&miss);
        sfr_buf_cleanup(&missf);
        if (e->code[0] != '\0')
            goto fail;
    }
    sfr_buf_cleanup(&ro);
    sfr_buf_cleanup(&rof);
    return true;
fail:
    sfr_buf_cleanup(&ro);
    sfr_buf_cleanup(&rof);
    return false;
}

PGresult *rec_q1(PGconn *c, const char *sql, int n, const char *const *p)
{
    return PQexecParams(c, sql, n, NULL, p, NULL, NULL, 0);
}

void rec_db_err(struct rec_err *e, PGresult *res)
{
    const char *m = res ? PQresultErrorMessage(res) : "no result";
    rec_set_err(e, "UNKNOWN_EXCEPTION", NULL, "store error: %.500s", m);
}

/* Lookup existence and unique-value checks (need the store). self = the
 * record's own Id on update, NULL on create. */
static bool db_checks(PGconn *c, struct emu_object *o, struct rowvals *rv, const char *self,
                      struct rec_err *e)
{
    const struct sfr_object *ob = o->obj;
    for (int k = 0; k < rv->n; k++) {
        const struct sfr_field *f = &ob->fields[rv->fidx[k]];
        const char *v = rv->val[k];
        if (v == NULL)
            continue;
        if (f->type == SFR_FT_REFERENCE) {
            struct emu_object *p = emu_object_by_prefix(v);
            bool ok = false;
            if (p == NULL) {
                ok = strcmp(v, EMU.user_id) == 0;
            } else {
                char *sql =
                    sfr_asprintf("SELECT 1 FROM %s WHERE id = $1 AND NOT isdeleted", p->qtable);
                PGresult *res = rec_q1(c, sql, 1, &v);
                free(sql);
                if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                    rec_db_err(e, res);
                    PQclear(res);
                    return false;
                }
                ok = PQntuples(res) > 0;
                PQclear(res);
            }
            if (!ok) {
                rec_set_err(e, "INVALID_CROSS_REFERENCE_KEY", f->name,
                            "invalid cross reference id");
                return false;
            }
        }
        if (f->unique) {
            char *sql = sfr_asprintf("SELECT id FROM %s WHERE %s = $1 AND NOT isdeleted AND id "
                                     "<> $2 LIMIT 1",
                                     o->qtable, f->column);
            const char *p[2] = {v, self ? self : ""};
            PGresult *res = rec_q1(c, sql, 2, p);
            free(sql);
            if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                rec_db_err(e, res);
                PQclear(res);
                return false;
            }
            if (PQntuples(res) > 0)
                rec_set_err(e, "DUPLICATE_VALUE", f->name,
                            "duplicate value found: %s duplicates value on record with id: %s",
                            f->name, PQgetvalue(res, 0, 0));
            PQclear(res);
            if (e->code[0] != '\0')
                return false;
        }
    }
    return true;
}

static void add_sys_payload(json_object *pl, struct emu_object *o, const char *ts_iso, bool create)
{
    const struct sfr_object *ob = o->obj;
    if (create && o->f_created >= 0)
        json_object_object_add(pl, ob->fields[o->f_created].name, json_object_new_string(ts_iso));
    if (create && o->f_createdby >= 0)
        json_object_object_add(pl, ob->fields[o->f_createdby].name,
                               json_object_new_string(EMU.user_id));
    if (create && o->f_owner >= 0 &&
        !json_object_object_get_ex(pl, ob->fields[o->f_owner].name, NULL))
        json_object_object_add(pl, ob->fields[o->f_owner].name,
                               json_object_new_string(EMU.user_id));
    if (o->f_modified >= 0)
        json_object_object_add(pl, ob->fields[o->f_modified].name, json_object_new_string(ts_iso));
    if (create && o->f_modifiedby >= 0)
        json_object_object_add(pl, ob->fields[o->f_modifiedby].name,
                               json_object_new_string(EMU.user_id));
}

/* Inserts the change event for one record (payload: field values). */
static bool emit_event(PGconn *c, struct emu_object *o, const char *change, const char *id,
                       json_object *values, int64_t ts, int seq, const char *txkey)
{
    json_object *pl = json_object_new_object();
    json_object *h = json_object_new_object();
    json_object *ids = json_object_new_array(), *changed = json_object_new_array();
    json_object_array_add(ids, json_object_new_string(id));
    json_object_object_add(h, "entityName", json_object_new_string(o->obj->name));
    json_object_object_add(h, "recordIds", json_object_get(ids));
    json_object_object_add(h, "changeType", json_object_new_string(change));
    json_object_object_add(h, "changeOrigin",
                           json_object_new_string("com/salesforce/api/rest/"
                                                  "60.0;client=sfemu"));
    json_object_object_add(h, "transactionKey", json_object_new_string(txkey));
    json_object_object_add(h, "sequenceNumber", json_object_new_int(seq));
    json_object_object_add(h, "commitTimestamp", json_object_new_int64(ts));
    json_object_object_add(h, "commitNumber", json_object_new_int64(ts * 1000 + seq));
    json_object_object_add(h, "commitUser", json_object_new_string(EMU.user_id));
    if (strcmp(change, "UPDATE") == 0 && values != NULL) {
        json_object_object_foreach(values, k, v)
        {
            (void)v;
            json_object_array_add(changed, json_object_new_string(k));
        }
    }
    json_object_object_add(h, "changedFields", json_object_get(changed));
    json_object_object_add(h, "nulledFields", json_object_new_array());
    json_object_object_add(h, "diffFields", json_object_new_array());
    json_object_object_add(pl, "ChangeEventHeader", h);
    if (values != NULL && strcmp(change, "DELETE") != 0) {
        json_object_object_foreach(values, k, v)
        {
            json_object_object_add(pl, k, json_object_get(v));
        }
    }
    bool ok = emu_event_insert(c, o->obj->name, change, json_object_to_json_string(ids),
                               json_object_to_json_string(changed), ts,
                               json_object_to_json_string_ext(
                                   pl, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(ids);
    json_object_put(changed);
    json_object_put(pl);
    return ok;
}

void rec_wctx_init(struct wctx *w, PGconn *c)
{
    memset(w, 0, sizeof *w);
    w->c = c;
    w->ts = emu_now_ms();
    emu_fmt_pg_datetime(w->ts, w->ts_pg);
    emu_fmt_sf_datetime(w->ts, w->ts_iso);
    memcpy(w->ts_iso + 23, "Z", 2);
    char rnd[33];
    emu_random_b62(rnd, 32);
    snprintf(w->txkey, sizeof w->txkey, "%.8s-%.4s-%.4s-%.4s-%.12s", rnd, rnd + 8, rnd + 12,
             rnd + 16, rnd + 20);
}

bool rec_insert(struct wctx *w, struct emu_object *o, struct rowvals *rv, char id[19],
                struct rec_err *e)
{
    const struct sfr_object *ob = o->obj;
    if (!db_checks(w->c, o, rv, NULL, e))
        return false;
    emu_new_id(o, id);
    struct sfr_buf sql = SFR_BUF_INIT, vals = SFR_BUF_INIT;
    const char *p[MAX_VALS + 8];
    int np = 0;
    sfr_buf_printf(&sql, "INSERT INTO %s (id", o->qtable);
    p[np++] = id;
    sfr_buf_puts(&vals, "$1");
    bool have_owner = false;
    for (int k = 0; k < rv->n; k++) {
        sfr_buf_printf(&sql, ", \"%s\"", ob->fields[rv->fidx[k]].column);
        p[np++] = rv->val[k];
        sfr_buf_printf(&vals, ", $%d", np);
        have_owner |= rv->fidx[k] == o->f_owner;
    }
    int sys[] = {o->f_created, o->f_modified, o->f_modstamp};
    for (int i = 0; i < 3; i++)
        if (sys[i] >= 0) {
            sfr_buf_printf(&sql, ", \"%s\"", ob->fields[sys[i]].column);
            p[np++] = w->ts_pg;
            sfr_buf_printf(&vals, ", $%d", np);
        }
    int usr[] = {o->f_createdby, o->f_modifiedby, have_owner ? -1 : o->f_owner};
    for (int i = 0; i < 3; i++)
        if (usr[i] >= 0) {
            sfr_buf_printf(&sql, ", \"%s\"", ob->fields[usr[i]].column);
            p[np++] = EMU.user_id;
            sfr_buf_printf(&vals, ", $%d", np);
        }
    sfr_buf_printf(&sql, ") VALUES (%s)", vals.data);
    PGresult *res = rec_q1(w->c, sql.data, np, p);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        rec_db_err(e, res);
    PQclear(res);
    sfr_buf_cleanup(&sql);
    sfr_buf_cleanup(&vals);
    if (ok) {
        add_sys_payload(rv->payload, o, w->ts_iso, true);
        ok = emit_event(w->c, o, "CREATE", id, rv->payload, w->ts, ++w->seq, w->txkey);
        if (!ok)
            rec_set_err(e, "UNKNOWN_EXCEPTION", NULL, "store error while recording the change");
    }
    w->wrote |= ok;
    return ok;
}

/* Locks the record; 0 live, 1 deleted, -1 missing, -2 store error. */
static int record_state(struct wctx *w, struct emu_object *o, const char *id, struct rec_err *e)
{
    char *sql = sfr_asprintf("SELECT isdeleted FROM %s WHERE id = $1 FOR UPDATE", o->qtable);
    PGresult *res = rec_q1(w->c, sql, 1, &id);
    free(sql);
    int st;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rec_db_err(e, res);
        st = -2;
    } else if (PQntuples(res) == 0) {
        st = -1;
    } else {
        st = PQgetvalue(res, 0, 0)[0] == 't' ? 1 : 0;
    }
    PQclear(res);
    return st;
}

static bool state_ok(int st, struct rec_err *e)
{
    if (st == 1)
        rec_set_err(e, "ENTITY_IS_DELETED", NULL, "entity is deleted");
    else if (st == -1)
        rec_set_err(e, "INVALID_CROSS_REFERENCE_KEY", NULL, "invalid cross reference id");
    return st == 0;
}

bool rec_update(struct wctx *w, struct emu_object *o, const char *id, struct rowvals *rv,
                struct rec_err *e)
{
    const struct sfr_object *ob = o->obj;
    if (!state_ok(record_state(w, o, id, e), e) || !db_checks(w->c, o, rv, id, e))
        return false;
    struct sfr_buf sql = SFR_BUF_INIT;
    const char *p[MAX_VALS + 8];
    int np = 0;
    sfr_buf_printf(&sql, "UPDATE %s SET ", o->qtable);
    p[np++] = id;
    for (int k = 0; k < rv->n; k++) {
        p[np++] = rv->val[k];
        sfr_buf_printf(&sql, "%s\"%s\" = $%d", k ? ", " : "", ob->fields[rv->fidx[k]].column, np);
    }
    int sys[] = {o->f_modified, o->f_modstamp};
    for (int i = 0; i < 2; i++)
        if (sys[i] >= 0) {
            p[np++] = w->ts_pg;
            sfr_buf_printf(&sql, "%s\"%s\" = $%d", np > 2 ? ", " : "", ob->fields[sys[i]].column,
                           np);
        }
    if (o->f_modifiedby >= 0) {
        p[np++] = EMU.user_id;
        sfr_buf_printf(&sql, "%s\"%s\" = $%d", np > 2 ? ", " : "",
                       ob->fields[o->f_modifiedby].column, np);
    }
    if (np == 1)
        sfr_buf_puts(&sql, "id = id");
    sfr_buf_puts(&sql, " WHERE id = $1");
    PGresult *res = rec_q1(w->c, sql.data, np, p);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        rec_db_err(e, res);
    PQclear(res);
    sfr_buf_cleanup(&sql);
    if (ok) {
        add_sys_payload(rv->payload, o, w->ts_iso, false);
        ok = emit_event(w->c, o, "UPDATE", id, rv->payload, w->ts, ++w->seq, w->txkey);
    }
    w->wrote |= ok;
    return ok;
}

bool rec_delete(struct wctx *w, struct emu_object *o, const char *id, bool check, struct rec_err *e)
{
    if (check && !state_ok(record_state(w, o, id, e), e))
        return false;
    struct sfr_buf sql = SFR_BUF_INIT;
    sfr_buf_printf(&sql, "UPDATE %s SET isdeleted = true, _deleted_at = $2", o->qtable);
    if (o->f_modstamp >= 0)
        sfr_buf_printf(&sql, ", \"%s\" = $2", o->obj->fields[o->f_modstamp].column);
    if (o->f_modified >= 0)
        sfr_buf_printf(&sql, ", \"%s\" = $2", o->obj->fields[o->f_modified].column);
    sfr_buf_puts(&sql, " WHERE id = $1");
    const char *p[2] = {id, w->ts_pg};
    PGresult *res = rec_q1(w->c, sql.data, 2, p);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        rec_db_err(e, res);
    PQclear(res);
    sfr_buf_cleanup(&sql);
    if (ok)
        ok = emit_event(w->c, o, "DELETE", id, NULL, w->ts, ++w->seq, w->txkey);
    /* master-detail children go with their parent */
    for (int i = 0; ok && i < EMU.n_objs; i++) {
        struct emu_object *ch = &EMU.objs[i];
        for (int f = 0; ok && f < ch->obj->n_fields; f++) {
            const struct sfr_field *fd = &ch->obj->fields[f];
            if (!fd->cascade_delete || fd->type != SFR_FT_REFERENCE || fd->n_reference_to != 1 ||
                strcasecmp(fd->reference_to[0], o->obj->name) != 0)
                continue;
            char *q = sfr_asprintf("SELECT id FROM %s WHERE \"%s\" = $1 AND NOT isdeleted",
                                   ch->qtable, fd->column);
            PGresult *kids = rec_q1(w->c, q, 1, &id);
            free(q);
            if (PQresultStatus(kids) != PGRES_TUPLES_OK) {
                rec_db_err(e, kids);
                ok = false;
            }
            for (int r = 0; ok && r < PQntuples(kids); r++)
                ok = rec_delete(w, ch, PQgetvalue(kids, r, 0), false, e);
            PQclear(kids);
        }
    }
    w->wrote |= ok;
    return ok;
}

/* ---- transactions ---- */

bool rec_begin(PGconn *c)
{
    return emu_exec(c, "BEGIN");
}

void rec_finish(struct wctx *w, bool commit)
{
    emu_exec(w->c, commit ? "COMMIT" : "ROLLBACK");
    if (commit && w->wrote)
        emu_events_signal();
}

void rec_savepoint(PGconn *c, const char *what)
{
    char sql[64];
    snprintf(sql, sizeof sql, "%s SAVEPOINT r", what);
    emu_exec(c, sql);
}

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
    int st = ok ? record_state(&w, o, id18, &e) : -2;
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
