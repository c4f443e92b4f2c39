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
 * A lookup the app sets only through its relationship external Id column
 * goes as Salesforce's nested reference by the parent's external Id (op_refs).
 * Outcomes: SUCCESS (sf_result 0, row SYNCED), FAILED (sf_message
 * "<errorCode>: <message>", row FAILED with _hc_err JSON), IGNORED (nothing
 * to write). A call that fails as a whole (connection, auth, limit) puts its
 * entries back to NEW and stops the push with that error.
 *
 * Creates never duplicate a record: they are upserts on the mapping's
 * upsert_field where the row holds a value, and a plain create whose
 * outcome is unknown (5xx, the connection dropped after sending) is never
 * sent again: its entries stay PENDING with sf_message "OUTCOME_UNKNOWN: ...".
 * Right after the create call the new Ids are logged in full and put on
 * their rows with the entries' outcomes, in one transaction (retried).
 * sfr_sync_push_settle then looks such entries up before anything is written
 * again (sfr_sf_lookup_then_create), or lists them for a human. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <time.h>

#include "sfrecon/log.h"
#include "sfrecon/testhook.h"
#include "sync_internal.h"

/* One Salesforce write: a create, an update or a delete of one record. */
struct op {
    char *sfid;     /* update/delete: the record; create: NULL */
    long record_id; /* the row (0 unknown) */
    char **values;  /* per projection field, Salesforce text */
    bool *set;
    bool *rel_touch; /* per relationship external Id: written by this op */
    char *refs;      /* nested references (op_refs), NULL none */
    int *entries;    /* indexes into the batch */
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
    bool *finished; /* entry k's outcome is stored already */
};

/* The projection index of the mapping's upsert_field when creates can be
 * keyed by it (an External ID field, mapped, createable), else -1. */
static int ext_index(const struct sfr_sync *s, const struct sfr_projection *p)
{
    const struct sfr_mapping *m = NULL;
    for (int i = 0; i < s->ctx->n; i++)
        if (&s->ctx->proj[i] == p)
            m = &s->ctx->cfg->mappings[i];
    if (m == NULL || m->upsert_field == NULL)
        return -1;
    for (int i = 0; i < p->n_fields; i++)
        if (strcasecmp(p->fields[i]->name, m->upsert_field) == 0)
            return p->fields[i]->external_id && p->fields[i]->createable ? i : -1;
    return -1;
}

/* Stores the outcomes of the entries picked by want (not stored yet) in one
 * transaction; retried (reconnecting) so that the Ids of records Salesforce
 * created are not lost to a passing Postgres failure. */
static enum sfr_rc finish_entries(struct batch *b, const bool *want, struct sfr_err *err)
{
    struct sfr_tlog_entry *e = sfr_calloc((size_t)b->n + 1, sizeof(*e));
    struct sfr_tlog_outcome *o = sfr_calloc((size_t)b->n + 1, sizeof(*o));
    int m = 0;
    for (int k = 0; k < b->n; k++)
        if (!b->finished[k] && (want == NULL || want[k])) {
            e[m] = b->e[k];
            o[m++] = b->o[k];
        }
    enum sfr_rc rc = SFR_OK;
    for (int attempt = 1; m > 0 && attempt <= 5; attempt++) {
        rc = sfr_sync_tlog_finish(b->s->ctx->conn, b->t, e, o, m, err);
        if (rc == SFR_OK)
            break;
        sfr_log_warn("push %s: storing %d outcome%s failed (attempt %d of 5): %s", b->t->display, m,
                     m == 1 ? "" : "s", attempt, err ? err->msg : "");
        if (attempt == 5)
            break;
        if (PQstatus(b->s->ctx->conn) != CONNECTION_OK)
            PQreset(b->s->ctx->conn);
        struct timespec ts = {0, 100000000L * attempt};
        nanosleep(&ts, NULL);
    }
    if (rc == SFR_OK)
        for (int k = 0; k < b->n; k++)
            if (want == NULL || want[k])
                b->finished[k] = true;
    free(e);
    free(o);
    return rc;
}

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
        free(l->v[i].rel_touch);
        free(l->v[i].refs);
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

/* Marks relationship external Id j as written by op (all of them: j < 0). */
static void op_touch(struct batch *b, struct op *op, int j)
{
    int n = b->p->n_relext;
    if (n == 0)
        return;
    if (op->rel_touch == NULL)
        op->rel_touch = sfr_calloc((size_t)n, sizeof(bool));
    for (int k = 0; k < n; k++)
        if (j < 0 || k == j)
            op->rel_touch[k] = true;
}

/* A lookup the app set only through its relationship external Id column
 * (that column written, the lookup null or not written) goes to Salesforce
 * as the nested reference {"Account":{"External_Id__c":"..."}}: Salesforce
 * resolves it to the parent's Id. A lookup written with a value wins. */
static void op_refs(struct batch *b, struct op *op)
{
    const struct sfr_projection *p = b->p;
    free(op->refs);
    op->refs = NULL;
    int r = op->rel_touch != NULL ? row_of(b, op->record_id) : -1;
    if (r < 0)
        return;
    const char **vals = sfr_calloc((size_t)p->n_relext + 1, sizeof(char *));
    bool *lookup_set = sfr_calloc((size_t)p->n_relext + 1, sizeof(bool));
    for (int j = 0; j < p->n_relext; j++) {
        int col = p->n_fields + 2 + j;
        if (!op->rel_touch[j] || PQgetisnull(b->rows, r, col))
            continue;
        int li = -1;
        for (int f = 0; f < p->n_fields && li < 0; f++)
            if (p->fields[f] == p->relext[j].ref)
                li = f;
        lookup_set[j] = li >= 0 && op->set[li] && op->values[li] != NULL;
        vals[j] = PQgetvalue(b->rows, r, col);
    }
    op->refs = sfr_relext_refs(p->relext, p->n_relext, vals, lookup_set);
    for (int j = 0; op->refs != NULL && j < p->n_relext; j++) {
        if (vals[j] == NULL || vals[j][0] == '\0' || lookup_set[j])
            continue;
        for (int f = 0; f < p->n_fields; f++)
            if (p->fields[f] == p->relext[j].ref)
                op->set[f] = false; /* the reference sets it, not a null */
    }
    free(vals);
    free(lookup_set);
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

/* A create of row r (record_id): its current mapped, createable, non-null values. */
static struct op *create_op(struct batch *b, long record_id, int r)
{
    struct op *op = oplist_new(&b->creates, b->p->n_fields);
    op->record_id = record_id;
    for (int f = 0; f < b->p->n_fields; f++) {
        if (!writable(b->p->fields[f], true))
            continue;
        op->values[f] = row_value(b, r, f);
        op->set[f] = op->values[f] != NULL;
    }
    op_touch(b, op, -1);
    return op;
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
        op->record_id = e->record_id;
        for (int f = 0; f < b->p->n_fields; f++)
            if (writable(b->p->fields[f], false))
                op_set(b, op, f, r, NULL);
        op_touch(b, op, -1);
    } else {
        op = by_record(&b->creates, e->record_id);
        if (op == NULL)
            op = create_op(b, e->record_id, r);
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
    for (int j = 0; j < b->p->n_relext; j++) {
        if (sfr_hstore_find(&h, b->p->relext[j].column) < 0 || r < 0)
            continue;
        if (op == NULL) {
            op = oplist_new(&b->updates, b->p->n_fields);
            op->sfid = sfr_strdup(sfid);
        }
        op_touch(b, op, j);
        n_set++;
    }
    if (op != NULL && r >= 0)
        op->record_id = e->record_id;
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
            if (b->o[k].state != NULL && strcmp(b->o[k].state, "PENDING") == 0)
                continue;                             /* an unknown outcome stays PENDING */
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

static void unknown_outcome(struct batch *b, const struct op *op, bool keyed)
{
    for (int j = 0; j < op->n_entries; j++)
        outcome(b, op->entries[j], "PENDING", SFR_ROW_NONE,
                sfr_strdup(keyed ? "OUTCOME_UNKNOWN: the create may have reached Salesforce but "
                                   "its answer was lost; it is looked up by its external id "
                                   "before anything is sent again"
                                 : "OUTCOME_UNKNOWN: the create may have reached Salesforce but "
                                   "its answer was lost; not sent again (no external id to look "
                                   "it up by)"));
}

/* Creates, then at once their Ids onto the rows (one transaction). */
static enum sfr_rc send_creates(struct batch *b, struct sfr_err *err)
{
    struct oplist *l = &b->creates;
    if (l->n == 0)
        return SFR_OK;
    int xi = ext_index(b->s, b->p);
    struct sfr_sf_rec *recs = sfr_calloc((size_t)l->n, sizeof(*recs));
    struct sfr_sf_result *res = sfr_calloc((size_t)l->n, sizeof(*res));
    for (int i = 0; i < l->n; i++) {
        op_refs(b, &l->v[i]);
        recs[i].values = (const char *const *)l->v[i].values;
        recs[i].set = l->v[i].set;
        recs[i].refs = l->v[i].refs;
    }
    enum sfr_rc rc = sfr_sf_create_idempotent(
        b->s->ctx->sf, b->p->obj->name, (const struct sfr_field *const *)b->p->fields,
        b->p->n_fields, xi >= 0 ? b->p->fields[xi]->name : NULL, recs, l->n, res, err);
    bool *want = sfr_calloc((size_t)b->n + 1, sizeof(bool));
    for (int i = 0; i < l->n; i++) {
        struct op *op = &l->v[i];
        bool keyed = xi >= 0 && op->values[xi] != NULL && op->set[xi];
        if (res[i].success)
            sfr_log_info("push %s row id %ld: created %s", b->p->obj->name, op->record_id,
                         res[i].id);
        if (res[i].unknown)
            unknown_outcome(b, op, keyed);
        else
            settle(b, op, &res[i], rc != SFR_OK && !res[i].success, false); /* a whole-call
                                                                              failure: NEW */
        for (int j = 0; j < op->n_entries; j++)
            want[op->entries[j]] = true;
    }
    sfr_test_point("sync.push_sent");
    enum sfr_rc frc = finish_entries(b, want, rc == SFR_OK ? err : NULL);
    if (frc != SFR_OK) {
        for (int i = 0; i < l->n; i++)
            if (res[i].success)
                sfr_log_warn("push %s row id %ld is record %s in Salesforce, but the mirror "
                             "could not be told: set its sfid by hand",
                             b->t->display, l->v[i].record_id, res[i].id);
        if (rc == SFR_OK)
            rc = frc;
    }
    free(want);
    free(recs);
    free(res);
    return rc;
}

static enum sfr_rc send_saves(struct batch *b, struct oplist *l, bool create, struct sfr_err *err)
{
    if (create)
        return send_creates(b, err);
    if (l->n == 0)
        return SFR_OK;
    struct sfr_sf_rec *recs = sfr_calloc((size_t)l->n, sizeof(*recs));
    struct sfr_sf_result *res = sfr_calloc((size_t)l->n, sizeof(*res));
    for (int i = 0; i < l->n; i++) {
        op_refs(b, &l->v[i]);
        recs[i].id = l->v[i].sfid;
        recs[i].values = (const char *const *)l->v[i].values;
        recs[i].set = l->v[i].set;
        recs[i].refs = l->v[i].refs;
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
        } else if (strcmp(state, "IGNORED") == 0) {
            st->ignored++;
        } else if (strcmp(state, "PENDING") == 0) {
            st->failed++;
            sfr_log_warn("push %s of %s row id %ld: %s", b->e[k].action, b->t->display,
                         b->e[k].record_id, b->o[k].message);
        }
    }
    rc = finish_entries(b, NULL, call_rc == SFR_OK ? err : &e2);
    sfr_test_point("sync.push.batch");
    if (call_rc != SFR_OK) {
        if (rc != SFR_OK)
            sfr_log_err(&e2);
        return call_rc;
    }
    return rc;
}

/* ---- settling creates of unknown outcome ------------------------------------------ */

/* The Postgres clock when this process first pushed: entries left PENDING
 * before it were claimed by a process that is gone. */
static char start_ts[64];

static enum sfr_rc settle_batch(struct batch *b, PGresult *q, struct sfr_sync_stats *st,
                                struct sfr_err *err)
{
    long *ids = sfr_calloc((size_t)b->n + 1, sizeof(long));
    for (int k = 0; k < b->n; k++)
        ids[k] = b->e[k].record_id;
    enum sfr_rc rc = sfr_sync_rows_by_id(b->s->ctx->conn, b->t, b->p, ids, b->n, &b->rows, err);
    free(ids);
    if (rc != SFR_OK)
        return rc;
    int xi = ext_index(b->s, b->p);
    int nf = b->p->n_fields;
    for (int k = 0; k < b->n; k++) {
        const struct sfr_tlog_entry *e = &b->e[k];
        const char *msg = PQgetisnull(q, k, 6) ? "" : PQgetvalue(q, k, 6);
        if (strcmp(e->action, "INSERT") != 0) {
            /* an update or a delete can be sent again: it writes the same */
            outcome(b, k, "NEW", SFR_ROW_NONE, NULL);
            continue;
        }
        int r = row_of(b, e->record_id);
        if (r < 0) {
            outcome(b, k, "PENDING", SFR_ROW_NONE,
                    sfr_strdup("OUTCOME_UNKNOWN: the create may have reached Salesforce and the "
                               "row is gone from the mirror: look for the record in Salesforce "
                               "(delete it if unwanted), then set this entry IGNORED"));
            continue;
        }
        if (row_sfid(b, r) != NULL) { /* linked (by hand, or by a later write) */
            outcome(b, k, "SUCCESS", SFR_ROW_SYNCED, NULL);
            continue;
        }
        struct op *op = create_op(b, e->record_id, r);
        op_add_entry(op, k);
        if (xi < 0 || op->values[xi] == NULL) {
            char *soql = sfr_sf_check_soql(
                b->p->obj->name, (const struct sfr_field *const *)b->p->fields, nf,
                (const char *const *)op->values, op->set, atoll(PQgetvalue(q, k, 7)) - 60000);
            char *m = sfr_asprintf(
                "OUTCOME_UNKNOWN: the create may have reached Salesforce and there is no external "
                "id to look it up by, so it is not sent again. Check: %s -- found: UPDATE %s SET "
                "sfid = '<Id>' WHERE id = %ld (if a pull already brought that record in as "
                "another row, delete this row instead and set this entry IGNORED); not found: "
                "UPDATE %s SET state = 'NEW' WHERE id = %ld",
                soql, b->t->qname, e->record_id, b->t->tlog_qname, e->id);
            if (strcmp(m, msg) != 0)
                sfr_log_warn("push %s row id %ld: %s", b->t->display, e->record_id, m);
            outcome(b, k, "PENDING", SFR_ROW_NONE, m);
            sfr_free(soql);
            op->n_entries = 0; /* not sent */
        }
    }
    /* the keyed ones: looked up by external id, then written */
    struct oplist *l = &b->creates;
    struct sfr_sf_rec *recs = sfr_calloc((size_t)l->n + 1, sizeof(*recs));
    struct sfr_sf_result *res = sfr_calloc((size_t)l->n + 1, sizeof(*res));
    int *which = sfr_calloc((size_t)l->n + 1, sizeof(int));
    int m = 0;
    for (int i = 0; i < l->n; i++) {
        if (l->v[i].n_entries == 0)
            continue;
        op_refs(b, &l->v[i]);
        recs[m].values = (const char *const *)l->v[i].values;
        recs[m].set = l->v[i].set;
        recs[m].refs = l->v[i].refs;
        which[m++] = i;
    }
    enum sfr_rc call_rc =
        m > 0 ? sfr_sf_lookup_then_create(b->s->ctx->sf, b->p->obj->name,
                                          (const struct sfr_field *const *)b->p->fields, nf,
                                          b->p->fields[xi]->name, recs, m, res, err)
              : SFR_OK;
    for (int j = 0; j < m; j++) {
        struct op *op = &l->v[which[j]];
        if (call_rc != SFR_OK && !res[j].success) {
            for (int q2 = 0; q2 < op->n_entries; q2++)
                b->finished[op->entries[q2]] = true; /* stays as it is: settled next time */
            continue;
        }
        if (res[j].success)
            sfr_log_info("push %s row id %ld: create of unknown outcome settled: %s %s",
                         b->p->obj->name, op->record_id, res[j].found ? "found" : "created",
                         res[j].id);
        settle(b, op, &res[j], false, false);
    }
    free(recs);
    free(res);
    free(which);
    for (int k = 0; k < b->n; k++) {
        const char *state = b->o[k].state;
        if (state != NULL && strcmp(state, "SUCCESS") == 0)
            st->pushed++;
        else if (state != NULL && (strcmp(state, "FAILED") == 0 || strcmp(state, "PENDING") == 0))
            st->failed++; /* PENDING: waits for a human */
        if (state == NULL)
            b->finished[k] = true;
    }
    rc = finish_entries(b, NULL, call_rc == SFR_OK ? err : NULL);
    return call_rc != SFR_OK ? call_rc : rc;
}

/* API calls one push batch may take: lookup, create, update, delete. */
#define CALLS_PER_BATCH 4
#define MAX_PAUSED      256
static bool paused[MAX_PAUSED];

/* The daily budget (sf_max_daily_api_calls, against Salesforce's own
 * count): writes stop while a batch could cross it, and say so once. */
static bool write_room(struct sfr_sync *s, int i)
{
    const char *object = s->ctx->proj[i].obj->name;
    long room = sfr_sf_daily_room(s->ctx->sf, object);
    bool ok = room >= CALLS_PER_BATCH;
    bool *was = i < MAX_PAUSED ? &paused[i] : NULL;
    if (!ok && (was == NULL || !*was)) {
        long used = 0, max = 0;
        sfr_sf_limit_info(s->ctx->sf, &used, &max);
        sfr_log_warn("sync: %s: writes to Salesforce paused: the org has used %ld of %ld API "
                     "calls in the last 24 hours and the daily budget (sf_max_daily_api_calls) "
                     "leaves %ld, fewer than a push batch may need (%d); they resume when "
                     "Salesforce's count falls",
                     object, used, max, room, CALLS_PER_BATCH);
    } else if (ok && was != NULL && *was) {
        sfr_log_info("sync: %s: writes to Salesforce resumed (%ld calls left today)", object, room);
    }
    if (was != NULL)
        *was = !ok;
    return ok;
}

enum sfr_rc sfr_sync_push_settle(struct sfr_sync *s, int i, bool leftovers,
                                 struct sfr_sync_stats *st, struct sfr_err *err)
{
    const struct sfr_mapping *map = &s->ctx->cfg->mappings[i];
    if (map->access != SFR_ACCESS_READ_WRITE || !s->has_tlog || !write_room(s, i))
        return SFR_OK;
    PGconn *c = s->ctx->conn;
    if (start_ts[0] == '\0') {
        PGresult *r = NULL;
        if (sfr_pg_query(c, "SELECT now()::text", 0, NULL, &r, err, "reading the clock") != SFR_OK)
            return SFR_EPG;
        snprintf(start_ts, sizeof(start_ts), "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    struct batch b;
    memset(&b, 0, sizeof(b));
    b.s = s;
    b.p = &s->ctx->proj[i];
    b.t = &s->tables[i];
    char *sql = sfr_asprintf(
        "SELECT id, action, coalesce(record_id, 0), sfid, \"values\", old, sf_message,"
        " (extract(epoch FROM coalesce(updated_at, created_at)) * 1000)::bigint"
        " FROM %s WHERE table_name = $1 AND state = 'PENDING'"
        " AND (sf_message LIKE 'OUTCOME_UNKNOWN:%%' OR ($2::bool AND updated_at < $3::timestamptz))"
        " ORDER BY id LIMIT %d",
        b.t->tlog_qname, SFR_SYNC_PUSH_BATCH);
    const char *params[3] = {b.t->table, leftovers ? "t" : "f", start_ts};
    PGresult *q = NULL;
    enum sfr_rc qrc =
        sfr_pg_query(c, sql, 3, params, &q, err, "reading PENDING %s entries", b.t->tlog_qname);
    sfr_free(sql);
    if (qrc != SFR_OK)
        return qrc;
    b.n = PQntuples(q);
    if (b.n == 0) {
        PQclear(q);
        return SFR_OK;
    }
    struct sfr_tlog_entry *e = sfr_calloc((size_t)b.n + 1, sizeof(*e));
    for (int k = 0; k < b.n; k++)
        sfr_sync_tlog_entry_read(q, k, &e[k]);
    b.e = e;
    b.o = sfr_calloc((size_t)b.n + 1, sizeof(*b.o));
    b.finished = sfr_calloc((size_t)b.n + 1, sizeof(bool));
    enum sfr_rc rc = settle_batch(&b, q, st, err);
    for (int k = 0; k < b.n; k++)
        sfr_tlog_outcome_cleanup(&b.o[k]);
    free(b.o);
    free(b.finished);
    PQclear(b.rows);
    PQclear(q);
    oplist_cleanup(&b.creates, b.p->n_fields);
    sfr_sync_tlog_entries_free(e, b.n);
    if (rc != SFR_OK)
        sfr_err_prefix(err, "settling PENDING %s entries", b.t->display);
    return rc;
}

enum sfr_rc sfr_sync_push_object(struct sfr_sync *s, int i, struct sfr_sync_stats *st,
                                 struct sfr_err *err)
{
    const struct sfr_mapping *map = &s->ctx->cfg->mappings[i];
    if (map->access != SFR_ACCESS_READ_WRITE || !s->has_tlog)
        return SFR_OK;
    if (!write_room(s, i))
        return SFR_OK;
    /* first what earlier pushes left unsettled (lost answers, a crash) */
    enum sfr_rc rc = sfr_sync_push_settle(s, i, true, st, err);
    while (rc == SFR_OK && !sfr_sync_stopping(s) && write_room(s, i)) {
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
        b.finished = sfr_calloc((size_t)b.n + 1, sizeof(bool));
        rc = push_batch(&b, st, err);
        int n = b.n;
        for (int k = 0; k < b.n; k++)
            sfr_tlog_outcome_cleanup(&b.o[k]);
        free(b.o);
        free(b.finished);
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
