/* records_validate.c — sfemu's validation of record values: converts the
 * fields of a request's JSON record into the store's column text the way
 * Salesforce checks them against describe (unknown and read-only fields,
 * required fields, lengths, restricted picklists, number ranges, dates and
 * times, lookup key prefixes, nested references by a parent's external Id),
 * for records.c and collections.c. A JSON value
 * of the wrong kind for its field is a request-level JSON_PARSER_ERROR, as
 * Salesforce's deserializer reports it. Needs no store: the checks that do
 * (lookup existence, unique values) are in records_write.c. */
#include <ctype.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "emu.h"
#include "records_internal.h"
#include "sfrecon/sfid.h"

void rec_rv_cleanup(struct rowvals *rv)
{
    for (int i = 0; i < rv->n; i++)
        free(rv->val[i]);
    for (int i = 0; i < rv->n_refs; i++)
        free(rv->refs[i].val);
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

/* True when f cannot be written by this call (create: createable, else
 * updateable); its name then goes to the list ro and its JSON to rof. */
static bool read_only(const struct sfr_field *f, bool create, struct sfr_buf *ro,
                      struct sfr_buf *rof)
{
    if ((create && f->createable) || (!create && f->updateable))
        return false;
    sfr_buf_printf(ro, "%s%s", ro->len ? ", " : "", f->name);
    if (rof->len)
        sfr_buf_putc(rof, ',');
    emu_json_str(rof, f->name);
    return true;
}

/* The reference field of ob whose relationshipName is key (Account for
 * AccountId, Parent__r for Parent__c), -1 when none. */
static int relationship_index(const struct emu_object *o, const char *key)
{
    const struct sfr_object *ob = o->obj;
    for (int i = 0; i < ob->n_fields; i++) {
        const struct sfr_field *f = &ob->fields[i];
        if (f->type == SFR_FT_REFERENCE && f->relationship_name != NULL &&
            strcasecmp(f->relationship_name, key) == 0 && o->fx[i].has_column)
            return i;
    }
    return -1;
}

/* A lookup given as a nested reference by the parent's external Id:
 * "Account": {"External_Id__c": "A-1"} (an "attributes" {"type": ...} names
 * the parent of a polymorphic lookup). The parent's field must be an
 * external Id or idLookup field; the value is looked up when the record is
 * written (records_write.c). Returns false with e set. */
static bool parse_ref(const struct emu_object *o, int fidx, json_object *v, struct rowvals *rv,
                      struct rec_err *e)
{
    const struct sfr_field *f = &o->obj->fields[fidx];
    if (!json_object_is_type(v, json_type_object)) {
        deser_err(e, f->reference_to[0], v);
        return false;
    }
    const char *type = NULL, *key = NULL;
    json_object *kv = NULL;
    int n_keys = 0;
    json_object_object_foreach(v, k, jv)
    {
        if (strcmp(k, "attributes") == 0) {
            json_object *t;
            if (json_object_is_type(jv, json_type_object) &&
                json_object_object_get_ex(jv, "type", &t))
                type = json_object_get_string(t);
            continue;
        }
        key = k;
        kv = jv;
        n_keys++;
    }
    if (n_keys != 1) {
        rec_set_err(e, "INVALID_FIELD", NULL,
                    "A foreign key reference to %s must name exactly one external ID field, "
                    "found %d",
                    f->reference_to[0], n_keys);
        return false;
    }
    struct emu_object *parent = NULL;
    int pidx = -1;
    for (int r = 0; r < f->n_reference_to && parent == NULL; r++) {
        if (type != NULL && strcasecmp(type, f->reference_to[r]) != 0)
            continue;
        struct emu_object *po = emu_object(f->reference_to[r]);
        int k = po != NULL ? sfr_object_field_index(po->obj, key) : -1;
        if (k >= 0) {
            parent = po;
            pidx = k;
        }
    }
    if (parent == NULL) {
        rec_set_err(e, "INVALID_FIELD", NULL, "No such column '%s' on sobject of type %s", key,
                    type != NULL ? type : f->reference_to[0]);
        return false;
    }
    const struct sfr_field *pf = &parent->obj->fields[pidx];
    if (!pf->external_id && !pf->id_lookup) {
        rec_set_err(e, "INVALID_FIELD", NULL,
                    "Field name provided, %s does not match an External ID, Salesforce Id, or "
                    "indexed field for %s",
                    pf->name, parent->obj->name);
        return false;
    }
    if (rv->n_refs >= MAX_REFS) {
        rec_set_err(e, "INVALID_FIELD", NULL, "too many foreign key references");
        return false;
    }
    const char *val = json_object_is_type(kv, json_type_null) ? "" : json_object_get_string(kv);
    struct rowref *x = &rv->refs[rv->n_refs++];
    x->fidx = fidx;
    x->parent = parent;
    x->pidx = pidx;
    x->val = sfr_strdup(val);
    return true;
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
        int ri = idx < 0 ? relationship_index(o, key) : -1;
        if (ri >= 0) {
            const struct sfr_field *f = &ob->fields[ri];
            if (read_only(f, create, &ro, &rof))
                continue;
            if (!parse_ref(o, ri, val, rv, e))
                goto fail;
            continue;
        }
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
        if (read_only(f, create, &ro, &rof))
            continue;
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
    for (int r = 0; r < rv->n_refs; r++)
        for (int k = 0; k < rv->n; k++)
            if (rv->fidx[k] == rv->refs[r].fidx) {
                rec_set_err(e, "INVALID_FIELD", NULL,
                            "Cannot specify both an external ID reference %s and a salesforce "
                            "id, %s",
                            ob->fields[rv->refs[r].fidx].relationship_name,
                            ob->fields[rv->refs[r].fidx].name);
                goto fail;
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
            for (int k = 0; k < rv->n_refs && !have; k++)
                have = rv->refs[k].fidx == i;
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
