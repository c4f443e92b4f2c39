/* push.c — mirror -> Salesforce for one read_write mapping, from Connect's
 * trigger log. NEW entries of the table are claimed (PENDING) 200 at a time
 * in id order and written with sObject Collections, one call per kind:
 *  - INSERT: the row's current mapped, createable values create the record;
 *    its Id goes back onto the row. A row that already has an sfid is
 *    updated instead; a row gone from the mirror is IGNORED.
 *  - UPDATE: the columns named in the entry's "values" hstore that map to
 *    updateable fields, with the row's current values (the hstore's when the
 *    row is gone), update the record with the entry's sfid (else the row's).
 *    Entries of one record in a batch are merged into one write. An UPDATE
 *    of a row inserted in the same batch rides on its create.
 *  - DELETE: deletes the entry's sfid (already deleted counts as done).
 * Outcomes: SUCCESS (sf_result 0, row SYNCED), FAILED (sf_message
 * "<errorCode>: <message>", row FAILED with _hc_err JSON), IGNORED (nothing
 * to write). A call that fails as a whole (connection, auth, limit) puts its
 * entries back to NEW and stops the push with that error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sfrecon/log.h"
#include "sync_internal.h"

/* One Salesforce write: a create, an update or a delete of one record. */
struct op {
    char *sfid;     /* update/delete: the record; create: NULL */
    long record_id; /* create: the row */
    char **values;  /* per projection field, Salesforce text */
    bool *set;
    int *entries; /* indexes into the batch */
    int n_entries;
};

struct oplist {
    struct op *v;
    int n;
};

struct batch {
    struct sfr_sync *s;
    const struct sfr_projection *p;
    const struct sfr_pg_table *t;
    const struct sfr_tlog_entry *e;
    struct sfr_tlog_outcome *o;
    int n;
    PGresult *rows; /* id, sfid, fields... */
    struct oplist creates, updates, deletes;
};

static void op_add_entry(struct op *op, int k)
{
    op->entries = sfr_realloc(op->entries, sizeof(int) * (size_t)(op->n_entries + 1));
    op->entries[op->n_entries++] = k;
}

static struct op *oplist_new(struct oplist *l, int nf)
{
    l->v = sfr_realloc(l->v, sizeof(*l->v) * (size_t)(l->n + 1));
    struct op *op = &l->v[l->n++];
    memset(op, 0, sizeof(*op));
    op->values = sfr_calloc((size_t)nf + 1, sizeof(char *));
    op->set = sfr_calloc((size_t)nf + 1, sizeof(bool));
    return op;
}

static void oplist_cleanup(struct oplist *l, int nf)
{
    for (int i = 0; i < l->n; i++) {
        free(l->v[i].sfid);
        for (int f = 0; f < nf; f++)
            free(l->v[i].values[f]);
        free(l->v[i].values);
        free(l->v[i].set);
        free(l->v[i].entries);
    }
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static struct op *by_sfid(struct oplist *l, const char *sfid)
{
    for (int i = 0; i < l->n; i++)
        if (l->v[i].sfid != NULL && strcmp(l->v[i].sfid, sfid) == 0)
            return &l->v[i];
    return NULL;
}

static struct op *by_record(struct oplist *l, long record_id)
{
    for (int i = 0; i < l->n; i++)
        if (l->v[i].sfid == NULL && l->v[i].record_id == record_id)
            return &l->v[i];
    return NULL;
}

static bool writable(const struct sfr_field *f, bool create)
{
    if (f->type == SFR_FT_ID || strcasecmp(f->name, "Id") == 0 || f->calculated ||
        f->type == SFR_FT_LOCATION || f->type == SFR_FT_ADDRESS)
        return false;
    return create ? f->createable : f->updateable;
}

/* Row index of record_id in b->rows, -1 when absent. */
static int row_of(const struct batch *b, long record_id)
{
    for (int r = 0; r < PQntuples(b->rows); r++)
        if (atol(PQgetvalue(b->rows, r, 0)) == record_id)
            return r;
    return -1;
}

static const char *row_sfid(const struct batch *b, int r)
{
    if (r < 0 || PQgetisnull(b->rows, r, 1) || PQgetvalue(b->rows, r, 1)[0] == '\0')
        return NULL;
    return PQgetvalue(b->rows, r, 1);
}

static char *row_value(const struct batch *b, int r, int f)
{
    if (PQgetisnull(b->rows, r, f + 2))
        return NULL;
    return sfr_value_to_sf(b->p->fields[f], PQgetvalue(b->rows, r, f + 2));
}

static void outcome(struct batch *b, int k, const char *state, enum sfr_row_mark row, char *message)
{
    struct sfr_tlog_outcome *o = &b->o[k];
    o->state = state;
    o->row = row;
    free(o->message);
    o->message = message;
}

/* Sets field f of op from the row (or from the hstore value when no row). */
static void op_set(struct batch *b, struct op *op, int f, int r, const char *hval)
{
    free(op->values[f]);
    op->values[f] = r >= 0 ? row_value(b, r, f)
                           : (hval != NULL ? sfr_value_to_sf(b->p->fields[f], hval) : NULL);
    op->set[f] = true;
}

static void plan_insert(struct batch *b, int k)
{
    const struct sfr_tlog_entry *e = &b->e[k];
    int r = row_of(b, e->record_id);
    if (r < 0) {
        outcome(b, k, "IGNORED", SFR_ROW_NONE,
                sfr_strdup("the row is no longer in the mirror; nothing to create"));
        return;
    }
    const char *sfid = row_sfid(b, r);
    struct op *op = NULL;
    if (sfid != NULL) { /* inserted with its Salesforce Id: an update of that record */
        op = by_sfid(&b->updates, sfid);
        if (op == NULL) {
            op = oplist_new(&b->updates, b->p->n_fields);
            op->sfid = sfr_strdup(sfid);
        }
        for (int f = 0; f < b->p->n_fields; f++)
            if (writable(b->p->fields[f], false))
                op_set(b, op, f, r, NULL);
    } else {
        op = by_record(&b->creates, e->record_id);
        if (op == NULL) {
            op = oplist_new(&b->creates, b->p->n_fields);
            op->record_id = e->record_id;
            for (int f = 0; f < b->p->n_fields; f++) {
                if (!writable(b->p->fields[f], true))
                    continue;
                op->values[f] = row_value(b, r, f);
                op->set[f] = op->values[f] != NULL;
            }
        }
    }
    op_add_entry(op, k);
}

static void plan_update(struct batch *b, int k)
{
    const struct sfr_tlog_entry *e = &b->e[k];
    int r = row_of(b, e->record_id);
    const char *sfid = e->sfid != NULL ? e->sfid : row_sfid(b, r);
    if (sfid == NULL) {
        struct op *c = by_record(&b->creates, e->record_id);
        if (c != NULL) { /* inserted in this batch: the create carries the row */
            op_add_entry(c, k);
            return;
        }
        outcome(b, k, "FAILED", SFR_ROW_FAILED,
                sfr_strdup("MISSING_ID: the row has no sfid (its insert never reached "
                           "Salesforce)"));
        b->o[k].hc_err = sfr_strdup("{\"errorCode\":\"MISSING_ID\",\"message\":\"the row has no "
                                    "sfid (its insert never reached Salesforce)\",\"fields\":[]}");
        return;
    }
    struct sfr_hstore h;
    struct sfr_err herr = {0};
    if (sfr_hstore_parse(e->values, &h, &herr) != SFR_OK) {
        outcome(b, k, "FAILED", SFR_ROW_NONE,
                sfr_asprintf("BAD_LOG_ENTRY: \"values\": %s", herr.msg));
        return;
    }
    struct op *op = by_sfid(&b->updates, sfid);
    bool fresh = op == NULL;
    int n_set = 0;
    for (int f = 0; f < b->p->n_fields; f++) {
        const struct sfr_field *fd = b->p->fields[f];
        int hk = sfr_hstore_find(&h, fd->column);
        if (hk < 0 || !writable(fd, false))
            continue;
        if (op == NULL) {
            op = oplist_new(&b->updates, b->p->n_fields);
            op->sfid = sfr_strdup(sfid);
        }
        op_set(b, op, f, r, h.vals[hk]);
        n_set++;
    }
    sfr_hstore_cleanup(&h);
    if (n_set == 0 && fresh) {
        outcome(b, k, "IGNORED", SFR_ROW_SYNCED,
                sfr_strdup("no mapped, updateable Salesforce field changed"));
        return;
    }
    op_add_entry(op, k);
}

static void plan_delete(struct batch *b, int k)
{
    const struct sfr_tlog_entry *e = &b->e[k];
    if (e->sfid == NULL) {
        outcome(b, k, "IGNORED", SFR_ROW_NONE,
                sfr_strdup("the row had no sfid: it never reached Salesforce"));
        return;
    }
    struct op *op = by_sfid(&b->deletes, e->sfid);
    if (op == NULL) {
        op = oplist_new(&b->deletes, 0);
        op->sfid = sfr_strdup(e->sfid);
    }
    op_add_entry(op, k);
}

static char *hc_err_json(const struct sfr_sf_result *r)
{
    struct sfr_buf b = SFR_BUF_INIT;
    sfr_buf_puts(&b, "{\"errorCode\":");
    sfr_buf_json_str(&b, r->status_code[0] ? r->status_code : "UNKNOWN_EXCEPTION");
    sfr_buf_puts(&b, ",\"message\":");
    sfr_buf_json_str(&b, r->message);
    sfr_buf_puts(&b, ",\"fields\":[");
    struct sfr_strv fl = {0};
    sfr_strv_split(&fl, r->fields, ',');
    for (size_t i = 0; i < fl.n; i++) {
        if (i > 0)
            sfr_buf_putc(&b, ',');
        sfr_buf_json_str(&b, fl.v[i]);
    }
    sfr_strv_cleanup(&fl);
    sfr_buf_puts(&b, "]}");
    return sfr_buf_steal(&b);
}

/* Records the result of op (a whole-call failure when failed_call). */
static void settle(struct batch *b, const struct op *op, const struct sfr_sf_result *r,
                   bool failed_call, bool is_delete)
{
    for (int j = 0; j < op->n_entries; j++) {
        int k = op->entries[j];
        struct sfr_tlog_outcome *o = &b->o[k];
        bool first = j == 0;
        if (failed_call || r == NULL) {
            outcome(b, k, "NEW", SFR_ROW_NONE, NULL); /* retried next cycle */
        } else if (r->success || (is_delete && strcmp(r->status_code, "ENTITY_IS_DELETED") == 0)) {
            outcome(b, k, "SUCCESS", is_delete ? SFR_ROW_NONE : SFR_ROW_SYNCED, NULL);
            if (op->sfid == NULL && first && r->id[0])
                o->new_sfid = sfr_strdup(r->id);
        } else {
            const char *code = r->status_code[0] ? r->status_code : "UNKNOWN_EXCEPTION";
            outcome(b, k, "FAILED", is_delete ? SFR_ROW_NONE : SFR_ROW_FAILED,
                    sfr_asprintf("%s: %s", code, r->message));
            free(o->hc_err);
            o->hc_err = hc_err_json(r);
        }
    }
}

static enum sfr_rc send_saves(struct batch *b, struct oplist *l, bool create, struct sfr_err *err)
{
    if (l->n == 0)
        return SFR_OK;
    struct sfr_sf_rec *recs = sfr_calloc((size_t)l->n, sizeof(*recs));
    struct sfr_sf_result *res = sfr_calloc((size_t)l->n, sizeof(*res));
    for (int i = 0; i < l->n; i++) {
        recs[i].id = l->v[i].sfid;
        recs[i].values = (const char *const *)l->v[i].values;
        recs[i].set = l->v[i].set;
    }
    enum sfr_rc rc = sfr_sf_save(b->s->ctx->sf, create ? SFR_SF_CREATE : SFR_SF_UPDATE,
                                 b->p->obj->name, (const struct sfr_field *const *)b->p->fields,
                                 b->p->n_fields, NULL, recs, l->n, false, res, err);
    for (int i = 0; i < l->n; i++)
        settle(b, &l->v[i], &res[i], rc != SFR_OK, false);
    free(recs);
    free(res);
    return rc;
}

static enum sfr_rc send_deletes(struct batch *b, struct sfr_err *err)
{
    struct oplist *l = &b->deletes;
    if (l->n == 0)
        return SFR_OK;
    const char **ids = sfr_calloc((size_t)l->n, sizeof(char *));
    struct sfr_sf_result *res = sfr_calloc((size_t)l->n, sizeof(*res));
    for (int i = 0; i < l->n; i++)
        ids[i] = l->v[i].sfid;
    enum sfr_rc rc = sfr_sf_delete(b->s->ctx->sf, b->p->obj->name, ids, l->n, false, res, err);
    for (int i = 0; i < l->n; i++)
        settle(b, &l->v[i], &res[i], rc != SFR_OK, true);
    free(ids);
    free(res);
    return rc;
}

static enum sfr_rc push_batch(struct batch *b, struct sfr_sync_stats *st, struct sfr_err *err)
{
    long *ids = sfr_calloc((size_t)b->n + 1, sizeof(long));
    for (int k = 0; k < b->n; k++)
        ids[k] = b->e[k].record_id;
    enum sfr_rc rc = sfr_sync_rows_by_id(b->s->ctx->conn, b->t, b->p, ids, b->n, &b->rows, err);
    free(ids);
    if (rc != SFR_OK) { /* give the claimed entries back */
        struct sfr_err e2 = {0};
        for (int k = 0; k < b->n; k++)
            outcome(b, k, "NEW", SFR_ROW_NONE, NULL);
        if (sfr_sync_tlog_finish(b->s->ctx->conn, b->t, b->e, b->o, b->n, &e2) != SFR_OK)
            sfr_log_err(&e2);
        return rc;
    }
    for (int k = 0; k < b->n; k++) {
        b->o[k].state = NULL;
        if (strcmp(b->e[k].action, "INSERT") == 0)
            plan_insert(b, k);
        else if (strcmp(b->e[k].action, "UPDATE") == 0)
            plan_update(b, k);
        else if (strcmp(b->e[k].action, "DELETE") == 0)
            plan_delete(b, k);
        else
            outcome(b, k, "IGNORED", SFR_ROW_NONE,
                    sfr_asprintf("unknown action '%s'", b->e[k].action));
    }
    /* creates first (updates of new rows ride on them), then updates, then
     * deletes; after a whole-call failure the remaining entries go back to NEW */
    struct sfr_err e2 = {0};
    enum sfr_rc call_rc = send_saves(b, &b->creates, true, err);
    if (call_rc == SFR_OK)
        call_rc = send_saves(b, &b->updates, false, err);
    else
        for (int i = 0; i < b->updates.n; i++)
            settle(b, &b->updates.v[i], NULL, true, false);
    if (call_rc == SFR_OK)
        call_rc = send_deletes(b, err);
    else
        for (int i = 0; i < b->deletes.n; i++)
            settle(b, &b->deletes.v[i], NULL, true, true);
    for (int k = 0; k < b->n; k++) {
        const char *state = b->o[k].state;
        if (state == NULL) {
            outcome(b, k, "NEW", SFR_ROW_NONE, NULL);
            state = "NEW";
        }
        if (strcmp(state, "SUCCESS") == 0)
            st->pushed++;
        else if (strcmp(state, "FAILED") == 0) {
            st->failed++;
            sfr_log_warn("push %s %s of %s row id %ld%s%s failed: %s", b->e[k].action,
                         b->p->obj->name, b->t->display, b->e[k].record_id,
                         b->e[k].sfid ? " sfid " : "", b->e[k].sfid ? b->e[k].sfid : "",
                         b->o[k].message);
        } else if (strcmp(state, "IGNORED") == 0)
            st->ignored++;
    }
    rc = sfr_sync_tlog_finish(b->s->ctx->conn, b->t, b->e, b->o, b->n,
                              call_rc == SFR_OK ? err : &e2);
    if (call_rc != SFR_OK) {
        if (rc != SFR_OK)
            sfr_log_err(&e2);
        return call_rc;
    }
    return rc;
}

enum sfr_rc sfr_sync_push_object(struct sfr_sync *s, int i, struct sfr_sync_stats *st,
                                 struct sfr_err *err)
{
    const struct sfr_mapping *map = &s->ctx->cfg->mappings[i];
    if (map->access != SFR_ACCESS_READ_WRITE || !s->has_tlog)
        return SFR_OK;
    enum sfr_rc rc = SFR_OK;
    while (rc == SFR_OK && !sfr_sync_stopping(s)) {
        struct batch b;
        memset(&b, 0, sizeof(b));
        b.s = s;
        b.p = &s->ctx->proj[i];
        b.t = &s->tables[i];
        struct sfr_tlog_entry *e = NULL;
        rc = sfr_sync_tlog_claim(s->ctx->conn, b.t, SFR_SYNC_PUSH_BATCH, &e, &b.n, err);
        if (rc != SFR_OK || b.n == 0) {
            sfr_sync_tlog_entries_free(e, b.n);
            break;
        }
        b.e = e;
        b.o = sfr_calloc((size_t)b.n, sizeof(*b.o));
        rc = push_batch(&b, st, err);
        int n = b.n;
        for (int k = 0; k < b.n; k++)
            sfr_tlog_outcome_cleanup(&b.o[k]);
        free(b.o);
        PQclear(b.rows);
        oplist_cleanup(&b.creates, b.p->n_fields);
        oplist_cleanup(&b.updates, b.p->n_fields);
        oplist_cleanup(&b.deletes, 0);
        sfr_sync_tlog_entries_free(e, n);
        if (n < SFR_SYNC_PUSH_BATCH)
            break;
    }
    if (rc != SFR_OK)
        sfr_err_prefix(err, "pushing %s", s->ctx->proj[i].obj->name);
    return rc;
}
