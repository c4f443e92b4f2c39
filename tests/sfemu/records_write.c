/* records_write.c — sfemu's write path, shared by the single-record
 * endpoints (records.c) and sObject Collections (collections.c): lookup and
 * unique-value checks against the store, insert, update and soft delete
 * (master-detail children go with their parent), nested references resolved by
 * the parent's external Id, the CDC event row of each
 * change, and the transaction and savepoint helpers.
 *
 * Every write runs inside the caller's transaction and inserts its change
 * event in that transaction, so a rolled-back write leaves no event;
 * committed writes wake the streaming waiters (rec_finish). */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "emu.h"
#include "records_internal.h"
#include "sfrecon/sfid.h"

PGresult *rec_q1(PGconn *c, const char *sql, int n, const char *const *p)
{
    return PQexecParams(c, sql, n, NULL, p, NULL, NULL, 0);
}

void rec_db_err(struct rec_err *e, PGresult *res)
{
    const char *m = res ? PQresultErrorMessage(res) : "no result";
    rec_set_err(e, "UNKNOWN_EXCEPTION", NULL, "store error: %.500s", m);
}

/* Resolves the nested references of rv to the parents' Ids, as Salesforce
 * does: the one live record of the parent holding the external Id value
 * becomes the lookup's value; none is INVALID_FIELD "Foreign key external
 * ID: ... not found ...", several DUPLICATE_EXTERNAL_ID. */
static bool resolve_refs(PGconn *c, struct emu_object *o, struct rowvals *rv, struct rec_err *e)
{
    const struct sfr_object *ob = o->obj;
    for (int r = 0; r < rv->n_refs; r++) {
        struct rowref *x = &rv->refs[r];
        const struct sfr_field *f = &ob->fields[x->fidx];
        const struct sfr_field *pf = &x->parent->obj->fields[x->pidx];
        PGresult *res = NULL;
        if (x->val[0] != '\0') {
            char *sql = sfr_asprintf("SELECT id FROM %s WHERE \"%s\" = $1 AND NOT isdeleted "
                                     "ORDER BY id LIMIT 2",
                                     x->parent->qtable, pf->type == SFR_FT_ID ? "id" : pf->column);
            const char *pv = x->val;
            char id18[19];
            if (pf->type == SFR_FT_ID && sfr_sfid_to18(x->val, strlen(x->val), id18))
                pv = id18;
            res = rec_q1(c, sql, 1, &pv);
            free(sql);
            if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                rec_db_err(e, res);
                PQclear(res);
                return false;
            }
        }
        int n = res != NULL ? PQntuples(res) : 0;
        if (n == 0)
            rec_set_err(e, "INVALID_FIELD", NULL,
                        "Foreign key external ID: %s not found for field %s in entity %s",
                        x->val[0] ? x->val : "null", pf->name, x->parent->obj->name);
        else if (n > 1)
            rec_set_err(e, "DUPLICATE_EXTERNAL_ID", f->name,
                        "%s: more than one record found for external id field: [%s, %s]", pf->name,
                        PQgetvalue(res, 0, 0), PQgetvalue(res, 1, 0));
        if (e->code[0] == '\0' && rv->n >= MAX_VALS)
            rec_set_err(e, "INVALID_FIELD", NULL, "too many fields");
        if (e->code[0] != '\0') {
            PQclear(res);
            return false;
        }
        rv->fidx[rv->n] = x->fidx;
        rv->val[rv->n] = sfr_strdup(PQgetvalue(res, 0, 0));
        json_object_object_add(rv->payload, f->name, json_object_new_string(rv->val[rv->n]));
        rv->n++;
        PQclear(res);
    }
    for (int r = 0; r < rv->n_refs; r++)
        free(rv->refs[r].val);
    rv->n_refs = 0;
    return true;
}

/* Lookup existence and unique-value checks (need the store). self = the
 * record's own Id on update, NULL on create. */
static bool db_checks(PGconn *c, struct emu_object *o, struct rowvals *rv, const char *self,
                      struct rec_err *e)
{
    const struct sfr_object *ob = o->obj;
    if (!resolve_refs(c, o, rv, e))
        return false;
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
int rec_record_state(struct wctx *w, struct emu_object *o, const char *id, struct rec_err *e)
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
    if (!state_ok(rec_record_state(w, o, id, e), e) || !db_checks(w->c, o, rv, id, e))
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
    if (check && !state_ok(rec_record_state(w, o, id, e), e))
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
