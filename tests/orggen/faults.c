/* faults.c — fault injection and the ground-truth manifest.
 *
 * Each fault touches one record that no other fault touches (a per-object
 * "used" map), chosen by the PRNG and rotated over the objects that suit the
 * cause. Faults that remove a record from one side (missing_in_pg by mirror
 * delete, missing_in_sf by Salesforce delete) only pick leaves (records no
 * generated record references), so nothing else breaks by accident. A
 * missing_parent fault removes the mirror row of a SOLO parent (exactly one
 * child) and lists both: the parent as missing_in_pg, the child as
 * missing_parent. Mirror writes run in one transaction with xmlbinary = 'hex'
 * (the load's session), Salesforce writes go through sfemu's REST API and get
 * sfemu's current time as SystemModstamp, newer than the generated data.
 * The manifest lists exactly what a perfect audit reports. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "orggen.h"
#include "sfrecon/log.h"
#include "sfrecon/pg.h"

enum {
    F_MISSING_IN_PG,
    F_MISSING_IN_SF,
    F_MISSING_PARENT,
    F_TRUNCATION,
    F_TYPE_MISMATCH,
    F_STALE,
    F_CONFLICT,
    F_SYNC_ERROR,
    F_DUPLICATE,
    F_FIELD_MISMATCH,
};

const char *const gen_fault_names[FAULT_N] = {
    "missing_in_pg", "missing_in_sf", "missing_parent", "truncation", "type_mismatch",
    "stale",         "conflict",      "sync_error",     "duplicate",  "field_mismatch"};

enum sfr_rc gen_faults_parse(const char *spec, int counts[FAULT_N], struct sfr_err *err)
{
    struct sfr_strv items = {0};
    enum sfr_rc rc = SFR_OK;
    memset(counts, 0, sizeof(int) * FAULT_N);
    sfr_strv_split(&items, spec, ',');
    for (size_t i = 0; i < items.n; i++) {
        char *eq = strchr(items.v[i], '=');
        char *end = NULL;
        long n = eq != NULL ? strtol(eq + 1, &end, 10) : -1;
        if (eq == NULL || end == eq + 1 || *end != '\0' || n < 0 || n > 100000) {
            rc = sfr_err_set(err, SFR_EUSAGE, "--faults: '%s' is not CAUSE=N", items.v[i]);
            goto out;
        }
        *eq = '\0';
        int c = -1;
        for (int k = 0; k < FAULT_N; k++)
            if (strcmp(items.v[i], gen_fault_names[k]) == 0)
                c = k;
        if (strcmp(items.v[i], "all") == 0) {
            for (int k = 0; k < FAULT_N; k++)
                counts[k] = (int)n;
        } else if (c < 0) {
            rc = sfr_err_set(err, SFR_EUSAGE, "--faults: unknown cause '%s'", items.v[i]);
            sfr_err_hint(err, "causes: missing_in_pg, missing_in_sf, missing_parent, truncation, "
                              "type_mismatch, stale, conflict, sync_error, duplicate, "
                              "field_mismatch, or all");
            goto out;
        } else
            counts[c] = (int)n;
    }
out:
    sfr_strv_cleanup(&items);
    return rc;
}

struct mrow {
    char object[80];
    char sfid[19];
    int cause;
    char parent[19];
};

struct fctx {
    struct gen *g;
    PGconn *c;
    struct gen_http *h;
    uint64_t rng;
    uint8_t **used; /* per object, per record */
    bool *dedup_done;
    struct mrow *rows;
    size_t n_rows, cap_rows;
    struct gen_rec rec;
    bool has_trigger_log;
    int made[FAULT_N];
    struct sfr_err *err;
};

static void add_row(struct fctx *f, const struct gen_obj *o, const char *sfid, int cause,
                    const char *parent)
{
    if (f->n_rows == f->cap_rows) {
        f->cap_rows = f->cap_rows ? 2 * f->cap_rows : 64;
        f->rows = sfr_realloc(f->rows, f->cap_rows * sizeof(*f->rows));
    }
    struct mrow *r = &f->rows[f->n_rows++];
    snprintf(r->object, sizeof(r->object), "%s", o->obj->name);
    snprintf(r->sfid, sizeof(r->sfid), "%s", sfid);
    r->cause = cause;
    snprintf(r->parent, sizeof(r->parent), "%s", parent ? parent : "");
}

/* ---- choosing ---- */

typedef bool (*pred_fn)(struct fctx *f, int oi, long i, void *arg);

/* A random unused record of object oi satisfying pred: a random start, then a
 * scan with wrap-around, so one is found whenever one exists. */
static bool pick_in(struct fctx *f, int oi, bool leaf, pred_fn pred, void *arg, long *out)
{
    const struct gen_obj *o = &f->g->objs[oi];
    if (o->n == 0 || o->map == NULL)
        return false;
    long start = gen_below(&f->rng, o->n);
    for (long s = 0; s < o->n; s++) {
        long i = (start + s) % o->n;
        if (f->used[oi][i] || (leaf && o->children[i] != 0))
            continue;
        if (pred == NULL || pred(f, oi, i, arg)) {
            *out = i;
            return true;
        }
    }
    return false;
}

/* Tries the objects of names[] (those generated) starting at rotation k. */
static bool pick(struct fctx *f, const char *const *names, int n_names, int k, bool leaf,
                 pred_fn pred, void *arg, int *oi, long *idx)
{
    for (int t = 0; t < n_names; t++) {
        int o = gen_obj_index(f->g, names[(k + t) % n_names]);
        if (o >= 0 && pick_in(f, o, leaf, pred, arg, idx)) {
            *oi = o;
            return true;
        }
    }
    return false;
}

static const char *const ALL_OBJS[] = {"Account", "Contact",    "Opportunity",    "Case",
                                       "Lead",    "Invoice__c", "Invoice_Line__c"};
#define N_ALL 7

/* ---- helpers ---- */

static const struct sfr_field *fld(const struct gen_obj *o, int k)
{
    return &o->obj->fields[k];
}

static int utf8_len(const char *s)
{
    int n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

/* A plain data field of the mirror that faults may change. */
static bool data_field(const struct gen_obj *o, int k)
{
    return o->in_mirror[k] && o->src[k] == SRC_VALUE && !fld(o, k)->external_id &&
           fld(o, k)->updateable;
}

static enum sfr_rc mirror_update(struct fctx *f, const struct gen_obj *o, const char *set_sql,
                                 const char *v1, const char *sfid)
{
    char *qt = gen_pg_table(f->c, f->g, o);
    char *sql = sfr_asprintf("UPDATE %s SET %s WHERE sfid = $2", qt, set_sql);
    const char *p[2] = {v1, sfid};
    enum sfr_rc rc = gen_pg_run(f->c, sql, 2, p, f->err);
    sfr_free(sql);
    sfr_free(qt);
    return rc;
}

static char *col_of(struct fctx *f, const struct gen_obj *o, int k)
{
    return sfr_pg_quote_ident(f->c, fld(o, k)->column);
}

/* A different value for field k of a record whose Salesforce value is cur,
 * in Salesforce text form (caller frees). */
static char *other_value(struct fctx *f, const struct gen_obj *o, int k, const char *cur)
{
    const struct sfr_field *fd = fld(o, k);
    switch (fd->type) {
    case SFR_FT_PICKLIST:
        for (int t = 0; t < fd->n_picklist; t++) {
            const char *v = fd->picklist[(gen_below(&f->rng, fd->n_picklist) + t) % fd->n_picklist];
            if (cur == NULL || strcmp(v, cur) != 0)
                return sfr_strdup(v);
        }
        return sfr_strdup("Changed");
    case SFR_FT_INT:
    case SFR_FT_LONG:
    case SFR_FT_DOUBLE:
    case SFR_FT_CURRENCY:
    case SFR_FT_PERCENT: {
        double v = cur != NULL ? strtod(cur, NULL) : 0;
        return sfr_asprintf("%.*f", fd->scale > 0 ? fd->scale : 0, v + 7);
    }
    case SFR_FT_BOOLEAN:
        return sfr_strdup(cur != NULL && strcmp(cur, "true") == 0 ? "false" : "true");
    case SFR_FT_PHONE:
        return sfr_strdup(cur != NULL && strcmp(cur, "+1 415-555-0199") == 0 ? "+1 415-555-0198"
                                                                             : "+1 415-555-0199");
    default:
        return sfr_strdup("Changed by the app");
    }
}

/* The field a rename (stale, conflict) changes in Salesforce. */
static int name_field(const struct gen_obj *o)
{
    static const char *const names[] = {"Name", "Subject", "LastName", "Description__c", "Company"};
    for (size_t t = 0; t < sizeof(names) / sizeof(names[0]); t++) {
        int k = sfr_object_field_index(o->obj, names[t]);
        if (k >= 0 && data_field(o, k) && sfr_ftype_is_text(fld(o, k)->type))
            return k;
    }
    return -1;
}

/* A mirror-only change for conflict/sync_error: a field other than skip. */
static int app_field(const struct gen_obj *o, int skip)
{
    static const enum sfr_ftype pref[] = {SFR_FT_PHONE, SFR_FT_PICKLIST, SFR_FT_TEXTAREA,
                                          SFR_FT_STRING};
    for (size_t t = 0; t < sizeof(pref) / sizeof(pref[0]); t++)
        for (int k = 0; k < o->obj->n_fields; k++)
            if (k != skip && data_field(o, k) && fld(o, k)->type == pref[t])
                return k;
    return -1;
}

static enum sfr_rc sf_patch(struct fctx *f, const struct gen_obj *o, const char *id, int k,
                            const char *value)
{
    json_object *j = json_object_new_object();
    json_object_object_add(j, fld(o, k)->name, json_object_new_string(value));
    enum sfr_rc rc = gen_sf_update(
        f->h, o->obj->name, id, json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN), f->err);
    json_object_put(j);
    return rc;
}

/* "Renamed N: <old>", cut to the field's length. */
static char *renamed(const struct sfr_field *fd, int n, const char *old)
{
    char *s = sfr_asprintf("Renamed %d: %s", n, old ? old : "");
    int max = fd->length > 0 ? fd->length : 255, chars = 0;
    for (char *p = s; *p; p++)
        if (((unsigned char)*p & 0xC0) != 0x80 && chars++ == max) {
            *p = '\0';
            break;
        }
    return s;
}

/* ---- the causes ---- */

static bool pred_creatable(struct fctx *f, int oi, long i, void *arg)
{
    return true;
}

static enum sfr_rc sf_create_spare(struct fctx *f, int oi, int k, char id[19])
{
    const struct gen_obj *o = &f->g->objs[oi];
    gen_record(f->g, o, o->n + 1000 + k, &f->rec);
    json_object *j = json_object_new_object();
    for (int q = 0; q < o->obj->n_fields; q++) {
        const struct sfr_field *fd = fld(o, q);
        const char *v = f->rec.val[q];
        if (o->src[q] != SRC_VALUE || v == NULL || !fd->createable)
            continue;
        json_object *jv;
        if (fd->external_id)
            continue; /* set below, unique to this record */
        if (fd->type == SFR_FT_BOOLEAN)
            jv = json_object_new_boolean(strcmp(v, "true") == 0);
        else if (fd->type == SFR_FT_INT || fd->type == SFR_FT_LONG || fd->type == SFR_FT_DOUBLE ||
                 fd->type == SFR_FT_CURRENCY || fd->type == SFR_FT_PERCENT)
            jv = json_object_new_double_s(strtod(v, NULL), v);
        else
            jv = json_object_new_string(v);
        json_object_object_add(j, fd->name, jv);
    }
    for (int q = 0; q < o->obj->n_fields; q++)
        if (fld(o, q)->external_id && o->src[q] == SRC_VALUE) {
            char *ext = sfr_asprintf("EXT-NEW-%s-%d", o->obj->key_prefix, k + 1);
            json_object_object_add(j, fld(o, q)->name, json_object_new_string(ext));
            sfr_free(ext);
        }
    enum sfr_rc rc = gen_sf_create(
        f->h, o->obj->name, json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN), id, f->err);
    json_object_put(j);
    return rc;
}

static bool has_required_ref(const struct gen_obj *o)
{
    for (int q = 0; q < o->obj->n_fields; q++)
        if (o->src[q] == SRC_REF && !fld(o, q)->nillable)
            return true;
    return false;
}

static enum sfr_rc f_missing_in_pg(struct fctx *f, int k, bool *done)
{
    static const char *const del_objs[] = {"Lead",    "Invoice_Line__c", "Case",      "Opportunity",
                                           "Contact", "Account",         "Invoice__c"};
    static const char *const new_objs[] = {"Lead",        "Case",    "Invoice__c",
                                           "Opportunity", "Contact", "Account"};
    int oi;
    long i;
    char id[19];
    if (k % 2 == 1) {
        for (int t = 0; t < 6; t++) {
            oi = gen_obj_index(f->g, new_objs[(k / 2 + t) % 6]);
            if (oi < 0 || f->g->objs[oi].map == NULL || has_required_ref(&f->g->objs[oi]))
                continue;
            enum sfr_rc rc = sf_create_spare(f, oi, k, id);
            if (rc == SFR_OK) {
                add_row(f, &f->g->objs[oi], id, F_MISSING_IN_PG, NULL);
                *done = true;
            }
            return rc;
        }
    }
    if (!pick(f, del_objs, 7, k / 2, true, pred_creatable, NULL, &oi, &i))
        return SFR_OK;
    const struct gen_obj *o = &f->g->objs[oi];
    gen_id(o, "G0", i, id);
    char *qt = gen_pg_table(f->c, f->g, o);
    char *sql = sfr_asprintf("DELETE FROM %s WHERE sfid = $1", qt);
    const char *p[1] = {id};
    enum sfr_rc rc = gen_pg_run(f->c, sql, 1, p, f->err);
    sfr_free(sql);
    sfr_free(qt);
    f->used[oi][i] = 1;
    add_row(f, o, id, F_MISSING_IN_PG, NULL);
    *done = true;
    return rc;
}

static enum sfr_rc insert_phantom(struct fctx *f, int oi, int k)
{
    const struct gen_obj *o = &f->g->objs[oi];
    long spare = o->n + 2000 + k;
    gen_record(f->g, o, spare, &f->rec);
    char id[19];
    gen_id(o, "G9", o->n + k, id);
    struct sfr_buf sql = SFR_BUF_INIT, vals = SFR_BUF_INIT;
    const char **p = sfr_calloc((size_t)o->obj->n_fields + 1, sizeof(char *));
    char(*tmp)[32] = sfr_calloc((size_t)o->obj->n_fields + 1, 32);
    int n = 0;
    char *qt = gen_pg_table(f->c, f->g, o);
    sfr_buf_printf(&sql, "INSERT INTO %s (", qt);
    for (int q = 0; q < o->obj->n_fields; q++) {
        if (!o->in_mirror[q])
            continue;
        const struct sfr_field *fd = fld(o, q);
        const char *v = f->rec.val[q];
        if (fd->type == SFR_FT_ID)
            v = id;
        else if (o->src[q] == SRC_REF)
            v = NULL;
        char *col = sfr_pg_quote_ident(f->c, fd->type == SFR_FT_ID ? "sfid" : fd->column);
        sfr_buf_printf(&sql, "%s, ", col);
        sfr_free(col);
        p[n] = gen_pg_value(fd, v, tmp[n]);
        n++;
        sfr_buf_printf(&vals, "$%d, ", n);
    }
    sfr_buf_printf(&sql, "_hc_lastop) VALUES (%s'SYNCED')", vals.data ? vals.data : "");
    enum sfr_rc rc = gen_pg_run(f->c, sql.data, n, p, f->err);
    if (rc == SFR_OK)
        add_row(f, o, id, F_MISSING_IN_SF, NULL);
    sfr_free(qt);
    sfr_free(p);
    sfr_free(tmp);
    sfr_buf_cleanup(&sql);
    sfr_buf_cleanup(&vals);
    return rc;
}

static enum sfr_rc f_missing_in_sf(struct fctx *f, int k, bool *done)
{
    static const char *const del_objs[] = {"Case",        "Lead",    "Invoice_Line__c",
                                           "Opportunity", "Contact", "Account"};
    int oi;
    long i;
    if (k % 2 == 0) {
        for (int t = 0; t < N_ALL; t++) {
            oi = gen_obj_index(f->g, ALL_OBJS[(k / 2 + t) % N_ALL]);
            if (oi >= 0 && f->g->objs[oi].map != NULL) {
                *done = true;
                return insert_phantom(f, oi, k);
            }
        }
    }
    if (!pick(f, del_objs, 6, k / 2, true, NULL, NULL, &oi, &i))
        return SFR_OK;
    const struct gen_obj *o = &f->g->objs[oi];
    char id[19];
    gen_id(o, "G0", i, id);
    f->used[oi][i] = 1;
    *done = true;
    enum sfr_rc rc = gen_sf_delete(f->h, o->obj->name, id, f->err);
    if (rc == SFR_OK)
        add_row(f, o, id, F_MISSING_IN_SF, NULL);
    return rc;
}

/* The only child of record (po, pi): its object and index, when unused. */
static bool only_child(struct fctx *f, int po, long pi, int *co, long *ci)
{
    for (int oi = 0; oi < f->g->n_objs; oi++) {
        const struct gen_obj *o = &f->g->objs[oi];
        for (int q = 0; q < o->obj->n_fields; q++) {
            if (o->refs[q] == NULL || o->ref_obj[q] != po)
                continue;
            for (long i = 0; i < o->n; i++)
                if (o->refs[q][i] == pi) {
                    *co = oi;
                    *ci = i;
                    return !f->used[oi][i] && o->map != NULL;
                }
        }
    }
    return false;
}

static bool pred_solo(struct fctx *f, int oi, long i, void *arg)
{
    const struct gen_obj *o = &f->g->objs[oi];
    int co;
    long ci;
    return o->klass != NULL && o->klass[i] == CLASS_SOLO && o->children[i] == 1 &&
           only_child(f, oi, i, &co, &ci);
}

static enum sfr_rc f_missing_parent(struct fctx *f, int k, bool *done)
{
    static const char *const objs[] = {"Account", "Invoice__c"};
    int oi, co;
    long i, ci;
    if (!pick(f, objs, 2, k, false, pred_solo, NULL, &oi, &i))
        return SFR_OK;
    only_child(f, oi, i, &co, &ci);
    const struct gen_obj *o = &f->g->objs[oi];
    char pid[19], cid[19];
    gen_id(o, "G0", i, pid);
    gen_id(&f->g->objs[co], "G0", ci, cid);
    f->used[oi][i] = 1;
    f->used[co][ci] = 1;
    char *qt = gen_pg_table(f->c, f->g, o);
    char *sql = sfr_asprintf("DELETE FROM %s WHERE sfid = $1", qt);
    const char *p[1] = {pid};
    enum sfr_rc rc = gen_pg_run(f->c, sql, 1, p, f->err);
    sfr_free(sql);
    sfr_free(qt);
    add_row(f, o, pid, F_MISSING_IN_PG, NULL);
    add_row(f, &f->g->objs[co], cid, F_MISSING_PARENT, pid);
    *done = true;
    return rc;
}

/* Truncation: a text field whose value has more than 10 characters. */
static bool pred_long_text(struct fctx *f, int oi, long i, void *arg)
{
    const struct gen_obj *o = &f->g->objs[oi];
    int *field = arg;
    static const char *const pref[] = {"Description", "Name",           "Subject",
                                       "Company",     "Description__c", "LastName"};
    gen_record(f->g, o, i, &f->rec);
    for (size_t t = 0; t < sizeof(pref) / sizeof(pref[0]); t++) {
        int k = sfr_object_field_index(o->obj, pref[t]);
        if (k >= 0 && data_field(o, k) && sfr_ftype_is_text(fld(o, k)->type) &&
            f->rec.val[k] != NULL && utf8_len(f->rec.val[k]) > 10) {
            *field = k;
            return true;
        }
    }
    return false;
}

static enum sfr_rc f_truncation(struct fctx *f, int k, bool *done)
{
    int oi, field;
    long i;
    if (!pick(f, ALL_OBJS, N_ALL, k, false, pred_long_text, &field, &oi, &i))
        return SFR_OK;
    const struct gen_obj *o = &f->g->objs[oi];
    char id[19];
    gen_id(o, "G0", i, id);
    char *col = col_of(f, o, field);
    /* A cut prefix is a truncation only with evidence: here Salesforce's
     * STRING_TOO_LONG refusal on record (_hc_err, and the trigger log). */
    char *set = sfr_asprintf("%s = left(%s, $1::int), _hc_lastop = 'FAILED', _hc_err = "
                             "'{\"errorCode\":\"STRING_TOO_LONG\",\"message\":\"%s: data "
                             "value too large\"}'",
                             col, col, fld(o, field)->name);
    enum sfr_rc rc = mirror_update(f, o, set, "10", id);
    if (rc == SFR_OK && f->has_trigger_log) {
        char *qs = sfr_pg_quote_ident(f->c, f->g->pg_schema);
        char *qt = gen_pg_table(f->c, f->g, o);
        char *tl = sfr_asprintf("INSERT INTO %s._trigger_log (txid, created_at, updated_at, "
                                "processed_at, processed_tx, state, action, table_name, record_id, "
                                "sfid, \"values\", sf_result, sf_message) SELECT txid_current(), "
                                "now(), now(), now(), txid_current(), 'FAILED', 'UPDATE', $1, id, "
                                "sfid, '', 0, $3 FROM %s WHERE sfid = $2",
                                qs, qt);
        char *msg = sfr_asprintf("STRING_TOO_LONG: %s: data value too large", fld(o, field)->name);
        const char *tp[3] = {o->obj->table, id, msg};
        rc = gen_pg_run(f->c, tl, 3, tp, f->err);
        sfr_free(msg);
        sfr_free(tl);
        sfr_free(qt);
        sfr_free(qs);
    }
    sfr_free(set);
    sfr_free(col);
    f->used[oi][i] = 1;
    add_row(f, o, id, F_TRUNCATION, NULL);
    *done = true;
    return rc;
}

/* type_mismatch variants: 0 = 15-char reference, 1 = currency rounded,
 * 2 = datetime shifted by a zone offset. */
struct tm_arg {
    int variant;
    int field;
};

static bool pred_tm(struct fctx *f, int oi, long i, void *argp)
{
    struct tm_arg *a = argp;
    const struct gen_obj *o = &f->g->objs[oi];
    gen_record(f->g, o, i, &f->rec);
    for (int k = 0; k < o->obj->n_fields; k++) {
        const struct sfr_field *fd = fld(o, k);
        const char *v = f->rec.val[k];
        if (!o->in_mirror[k] || v == NULL)
            continue;
        bool ok = false;
        if (a->variant == 0)
            ok = o->src[k] == SRC_REF;
        else if (a->variant == 1)
            ok = o->src[k] == SRC_VALUE && fd->scale > 0 &&
                 (fd->type == SFR_FT_CURRENCY || fd->type == SFR_FT_DOUBLE) && strchr(v, '.') &&
                 strspn(strchr(v, '.') + 1, "0") != strlen(strchr(v, '.') + 1);
        else
            ok = o->src[k] == SRC_VALUE && fd->type == SFR_FT_DATETIME;
        if (ok) {
            a->field = k;
            return true;
        }
    }
    return false;
}

static enum sfr_rc f_type_mismatch(struct fctx *f, int k, bool *done)
{
    static const char *const objs[3][6] = {
        {"Contact", "Invoice_Line__c", "Case", "Opportunity", "Invoice__c", "Account"},
        {"Opportunity", "Invoice__c", "Invoice_Line__c", "Opportunity", "Invoice__c",
         "Invoice_Line__c"},
        {"Invoice__c", "Invoice__c", "Invoice__c", "Invoice__c", "Invoice__c", "Invoice__c"}};
    struct tm_arg a;
    int oi = -1;
    long i = 0;
    bool found = false;
    for (int t = 0; t < 3 && !found; t++) {
        a.variant = (k + t) % 3;
        found = pick(f, objs[a.variant], 6, k / 3, false, pred_tm, &a, &oi, &i);
    }
    if (!found)
        return SFR_OK;
    const struct gen_obj *o = &f->g->objs[oi];
    char id[19], val[64];
    gen_id(o, "G0", i, id);
    gen_record(f->g, o, i, &f->rec);
    const char *v = f->rec.val[a.field];
    char *col = col_of(f, o, a.field);
    char *set;
    if (a.variant == 0) {
        snprintf(val, sizeof(val), "%.15s", v);
        set = sfr_asprintf("%s = $1", col);
    } else if (a.variant == 1) {
        double d = strtod(v, NULL);
        snprintf(val, sizeof(val), "%.0f", d < 0 ? -floor(-d + 0.5) : floor(d + 0.5));
        set = sfr_asprintf("%s = $1", col);
    } else {
        snprintf(val, sizeof(val), "2 hours");
        set = sfr_asprintf("%s = %s + $1::interval", col, col);
    }
    enum sfr_rc rc = mirror_update(f, o, set, val, id);
    sfr_free(set);
    sfr_free(col);
    f->used[oi][i] = 1;
    add_row(f, o, id, F_TYPE_MISMATCH, NULL);
    *done = true;
    return rc;
}

static bool pred_named(struct fctx *f, int oi, long i, void *arg)
{
    return name_field(&f->g->objs[oi]) >= 0;
}

static enum sfr_rc f_stale(struct fctx *f, int k, bool *done)
{
    int oi;
    long i;
    if (!pick(f, ALL_OBJS, N_ALL, k, false, pred_named, NULL, &oi, &i))
        return SFR_OK;
    const struct gen_obj *o = &f->g->objs[oi];
    char id[19];
    gen_id(o, "G0", i, id);
    int nk = name_field(o);
    gen_record(f->g, o, i, &f->rec);
    char *nv = renamed(fld(o, nk), k + 1, f->rec.val[nk]);
    enum sfr_rc rc = sf_patch(f, o, id, nk, nv);
    sfr_free(nv);
    f->used[oi][i] = 1;
    add_row(f, o, id, F_STALE, NULL);
    *done = true;
    return rc;
}

static bool pred_rw(struct fctx *f, int oi, long i, void *arg)
{
    const struct gen_obj *o = &f->g->objs[oi];
    return o->map->access == SFR_ACCESS_READ_WRITE && name_field(o) >= 0 &&
           app_field(o, name_field(o)) >= 0;
}

static enum sfr_rc f_conflict_or_error(struct fctx *f, int k, bool conflict, bool *done)
{
    static const char *const objs[] = {"Account", "Contact", "Invoice__c", "Invoice_Line__c"};
    int oi;
    long i;
    if (!pick(f, objs, 4, k, false, pred_rw, NULL, &oi, &i))
        return SFR_OK;
    const struct gen_obj *o = &f->g->objs[oi];
    char id[19];
    gen_id(o, "G0", i, id);
    int nk = name_field(o), ak = app_field(o, nk);
    gen_record(f->g, o, i, &f->rec);
    char *mv = other_value(f, o, ak, f->rec.val[ak]);
    char *nv = conflict ? renamed(fld(o, nk), k + 1, f->rec.val[nk]) : NULL;
    char *col = col_of(f, o, ak);
    enum sfr_rc rc = SFR_OK;
    f->used[oi][i] = 1;
    *done = true;
    if (conflict) {
        rc = sf_patch(f, o, id, nk, nv);
        if (rc != SFR_OK)
            goto out;
        char *set = sfr_asprintf("%s = $1, _hc_lastop = 'PENDING', _hc_err = NULL", col);
        rc = mirror_update(f, o, set, mv, id);
        sfr_free(set);
        add_row(f, o, id, F_CONFLICT, NULL);
        goto out;
    }
    char *hcerr = sfr_asprintf(
        "{\"message\":\"FIELD_CUSTOM_VALIDATION_EXCEPTION: %s is locked while the record is "
        "under review\",\"errorCode\":\"FIELD_CUSTOM_VALIDATION_EXCEPTION\"}",
        fld(o, ak)->name);
    char *set = sfr_asprintf("%s = $1, _hc_lastop = 'FAILED', _hc_err = $3", col);
    char *qt = gen_pg_table(f->c, f->g, o);
    char *sql = sfr_asprintf("UPDATE %s SET %s WHERE sfid = $2 RETURNING id", qt, set);
    const char *p[3] = {mv, id, hcerr};
    PGresult *res = PQexecParams(f->c, sql, 3, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        rc = sfr_pg_error(res, f->c, f->err, "sync_error on %s %s", o->obj->name, id);
    else if (f->has_trigger_log) {
        char *qs = sfr_pg_quote_ident(f->c, f->g->pg_schema);
        char *tl = sfr_asprintf("INSERT INTO %s._trigger_log (txid, created_at, updated_at, "
                                "processed_at, processed_tx, state, action, table_name, record_id, "
                                "sfid, \"values\", sf_result, sf_message) VALUES (txid_current(), "
                                "now(), now(), now(), txid_current(), 'FAILED', 'UPDATE', $1, $2, "
                                "$3, $4, 0, $5)",
                                qs);
        char *hs = sfr_asprintf("\"%s\"=>\"%s\"", fld(o, ak)->column, mv);
        char *msg = sfr_asprintf("FIELD_CUSTOM_VALIDATION_EXCEPTION: %s is locked while the "
                                 "record is under review",
                                 fld(o, ak)->name);
        const char *tp[5] = {o->obj->table, PQgetvalue(res, 0, 0), id, hs, msg};
        rc = gen_pg_run(f->c, tl, 5, tp, f->err);
        sfr_free(tl);
        sfr_free(qs);
        sfr_free(hs);
        sfr_free(msg);
    }
    PQclear(res);
    sfr_free(sql);
    sfr_free(qt);
    sfr_free(set);
    sfr_free(hcerr);
    add_row(f, o, id, F_SYNC_ERROR, NULL);
out:
    sfr_free(col);
    sfr_free(mv);
    sfr_free(nv);
    return rc;
}

/* Recreates every unique index of the table (but the primary key) as a
 * plain one, as a mirror that lost its unique constraints looks. */
static enum sfr_rc drop_unique(struct fctx *f, int oi)
{
    if (f->dedup_done[oi])
        return SFR_OK;
    f->dedup_done[oi] = true;
    char *qt = gen_pg_table(f->c, f->g, &f->g->objs[oi]);
    const char *p[1] = {qt};
    PGresult *res = PQexecParams(
        f->c,
        "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname),"
        " regexp_replace(pg_get_indexdef(i.indexrelid), '^CREATE UNIQUE INDEX', 'CREATE INDEX'),"
        " con.conname IS NOT NULL, quote_ident(con.conname)"
        " FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.contype = 'u'"
        " WHERE i.indrelid = $1::regclass AND i.indisunique AND NOT i.indisprimary",
        1, NULL, p, NULL, NULL, 0);
    enum sfr_rc rc = SFR_OK;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = sfr_pg_error(res, f->c, f->err, "listing the unique indexes of %s", qt);
        goto out;
    }
    for (int r = 0; r < PQntuples(res) && rc == SFR_OK; r++) {
        char *drop =
            strcmp(PQgetvalue(res, r, 2), "t") == 0
                ? sfr_asprintf("ALTER TABLE %s DROP CONSTRAINT %s", qt, PQgetvalue(res, r, 3))
                : sfr_asprintf("DROP INDEX %s", PQgetvalue(res, r, 0));
        rc = gen_pg_run(f->c, drop, 0, NULL, f->err);
        if (rc == SFR_OK)
            rc = gen_pg_run(f->c, PQgetvalue(res, r, 1), 0, NULL, f->err);
        sfr_free(drop);
    }
out:
    PQclear(res);
    sfr_free(qt);
    return rc;
}

static enum sfr_rc f_duplicate(struct fctx *f, int k, bool *done)
{
    int oi;
    long i;
    if (!pick(f, ALL_OBJS, N_ALL, k, false, NULL, NULL, &oi, &i))
        return SFR_OK;
    const struct gen_obj *o = &f->g->objs[oi];
    char id[19];
    gen_id(o, "G0", i, id);
    f->used[oi][i] = 1;
    *done = true;
    enum sfr_rc rc = drop_unique(f, oi);
    if (rc != SFR_OK)
        return rc;
    char *qt = gen_pg_table(f->c, f->g, o);
    const char *p[1] = {qt};
    PGresult *res = PQexecParams(f->c,
                                 "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum)"
                                 " FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0"
                                 " AND NOT attisdropped AND attname <> 'id'",
                                 1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = sfr_pg_error(res, f->c, f->err, "columns of %s", qt);
    } else {
        const char *cols = PQgetvalue(res, 0, 0);
        char *sql = sfr_asprintf("INSERT INTO %s (%s) SELECT %s FROM %s WHERE sfid = $1", qt, cols,
                                 cols, qt);
        const char *ip[1] = {id};
        rc = gen_pg_run(f->c, sql, 1, ip, f->err);
        sfr_free(sql);
    }
    PQclear(res);
    sfr_free(qt);
    if (rc == SFR_OK)
        add_row(f, o, id, F_DUPLICATE, NULL);
    return rc;
}

static int mismatch_field(const struct gen_obj *o)
{
    for (int pass = 0; pass < 2; pass++)
        for (int k = 0; k < o->obj->n_fields; k++) {
            enum sfr_ftype t = fld(o, k)->type;
            if (!data_field(o, k))
                continue;
            if (pass == 0 && t == SFR_FT_PICKLIST && fld(o, k)->n_picklist > 1)
                return k;
            if (pass == 1 && (t == SFR_FT_INT || t == SFR_FT_DOUBLE || t == SFR_FT_CURRENCY ||
                              t == SFR_FT_PERCENT))
                return k;
        }
    return -1;
}

static bool pred_mismatch(struct fctx *f, int oi, long i, void *arg)
{
    return mismatch_field(&f->g->objs[oi]) >= 0;
}

static enum sfr_rc f_field_mismatch(struct fctx *f, int k, bool *done)
{
    static const char *const objs[] = {"Account",    "Opportunity",     "Case",   "Lead",
                                       "Invoice__c", "Invoice_Line__c", "Contact"};
    int oi;
    long i;
    if (!pick(f, objs, 7, k, false, pred_mismatch, NULL, &oi, &i))
        return SFR_OK;
    const struct gen_obj *o = &f->g->objs[oi];
    char id[19];
    gen_id(o, "G0", i, id);
    int fk = mismatch_field(o);
    gen_record(f->g, o, i, &f->rec);
    char *nv = other_value(f, o, fk, f->rec.val[fk]);
    char *col = col_of(f, o, fk);
    char *set = sfr_asprintf("%s = $1", col);
    enum sfr_rc rc = mirror_update(f, o, set, nv, id);
    sfr_free(set);
    sfr_free(col);
    sfr_free(nv);
    f->used[oi][i] = 1;
    add_row(f, o, id, F_FIELD_MISMATCH, NULL);
    *done = true;
    return rc;
}

/* ---- driver ---- */

static int row_cmp(const void *a, const void *b)
{
    const struct mrow *x = a, *y = b;
    int c = strcmp(x->object, y->object);
    if (c == 0)
        c = strcmp(x->sfid, y->sfid);
    if (c == 0)
        c = strcmp(gen_fault_names[x->cause], gen_fault_names[y->cause]);
    return c;
}

static enum sfr_rc write_manifest(struct fctx *f, const char *path)
{
    if (f->n_rows > 1)
        qsort(f->rows, f->n_rows, sizeof(*f->rows), row_cmp);
    FILE *fp = fopen(path, "w");
    if (fp == NULL)
        return sfr_err_set(f->err, SFR_EIO, "%s: cannot write the manifest: %m", path);
    fprintf(fp, "object,sfid,cause,parent_sfid\n");
    for (size_t i = 0; i < f->n_rows; i++)
        fprintf(fp, "%s,%s,%s,%s\n", f->rows[i].object, f->rows[i].sfid,
                gen_fault_names[f->rows[i].cause], f->rows[i].parent);
    if (fclose(fp) != 0)
        return sfr_err_set(f->err, SFR_EIO, "%s: cannot write the manifest: %m", path);
    return SFR_OK;
}

enum sfr_rc gen_faults_run(struct gen *g, PGconn *c, struct gen_http *h, const int counts[FAULT_N],
                           const char *manifest, struct sfr_err *err)
{
    struct fctx f;
    memset(&f, 0, sizeof(f));
    f.g = g;
    f.c = c;
    f.h = h;
    f.err = err;
    f.rng = gen_mix(g->seed ^ 0x6661756c7473ULL);
    f.used = sfr_calloc((size_t)g->n_objs + 1, sizeof(uint8_t *));
    f.dedup_done = sfr_calloc((size_t)g->n_objs + 1, sizeof(bool));
    for (int k = 0; k < g->n_objs; k++)
        f.used[k] = sfr_calloc((size_t)g->objs[k].n + 1, 1);
    gen_rec_init(&f.rec);
    enum sfr_rc rc = gen_pg_run(c, "BEGIN", 0, NULL, err);
    if (rc == SFR_OK) {
        const char *p[1] = {g->pg_schema};
        PGresult *res = PQexecParams(c,
                                     "SELECT to_regclass(quote_ident($1) || '._trigger_log')"
                                     " IS NOT NULL",
                                     1, NULL, p, NULL, NULL, 0);
        f.has_trigger_log =
            PQresultStatus(res) == PGRES_TUPLES_OK && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
        PQclear(res);
    }
    for (int cause = 0; cause < FAULT_N && rc == SFR_OK; cause++) {
        for (int k = 0; k < counts[cause] && rc == SFR_OK; k++) {
            bool done = false;
            switch (cause) {
            case F_MISSING_IN_PG:
                rc = f_missing_in_pg(&f, k, &done);
                break;
            case F_MISSING_IN_SF:
                rc = f_missing_in_sf(&f, k, &done);
                break;
            case F_MISSING_PARENT:
                rc = f_missing_parent(&f, k, &done);
                break;
            case F_TRUNCATION:
                rc = f_truncation(&f, k, &done);
                break;
            case F_TYPE_MISMATCH:
                rc = f_type_mismatch(&f, k, &done);
                break;
            case F_STALE:
                rc = f_stale(&f, k, &done);
                break;
            case F_CONFLICT:
                rc = f_conflict_or_error(&f, k, true, &done);
                break;
            case F_SYNC_ERROR:
                rc = f_conflict_or_error(&f, k, false, &done);
                break;
            case F_DUPLICATE:
                rc = f_duplicate(&f, k, &done);
                break;
            default:
                rc = f_field_mismatch(&f, k, &done);
                break;
            }
            if (done)
                f.made[cause]++;
        }
        if (rc == SFR_OK && f.made[cause] < counts[cause])
            sfr_log_warn("faults: only %d of %d %s faults fit this org", f.made[cause],
                         counts[cause], gen_fault_names[cause]);
    }
    if (rc == SFR_OK)
        rc = gen_pg_run(c, "COMMIT", 0, NULL, err);
    else
        PQclear(PQexec(c, "ROLLBACK"));
    if (rc == SFR_OK)
        rc = gen_pg_run(c, "ANALYZE", 0, NULL, err);
    if (rc == SFR_OK)
        rc = write_manifest(&f, manifest);
    if (rc == SFR_OK)
        sfr_log_info("faults: %zu manifest rows written to %s", f.n_rows, manifest);
    for (int k = 0; k < g->n_objs; k++)
        sfr_free(f.used[k]);
    sfr_free(f.used);
    sfr_free(f.dedup_done);
    sfr_free(f.rows);
    gen_rec_cleanup(&f.rec);
    return rc;
}
