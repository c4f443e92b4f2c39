/* apply.c — applying a repair plan, journaled, then re-verifying it (docs/repair.md).
 *
 * Phases, each in batches (Postgres: o->pg_batch rows a write call, one
 * transaction each, journaled under the run id by the Postgres side;
 * Salesforce: at most 200 records a sObject Collections call):
 *   1. duplicates: extra rows deleted (highest id kept)
 *   2. mirror deletes, objects children-first; rows held back by a foreign
 *      key (23503) are retried while each pass makes progress
 *   3. mirror inserts/updates, objects parents-first, cyclic references
 *      pointing at rows being inserted left for phase 5
 *   4. Salesforce creates/updates (their old values journaled first), then
 *      the mirror refreshed from what Salesforce holds afterwards
 *   5. the deferred references
 *   6. sync errors cleared on the rows written
 * then every key is audited again (sfr_check_keys) and each item gets its
 * status. A per-record failure never stops the run; a whole-batch failure
 * (connection, auth, limit) does, and the run is marked failed.
 *
 * Every operation is idempotent (upserts keyed by sfid, deletes of absent
 * rows are no-ops, updates write only what differs at plan time), so a
 * killed run leaves a state that the next run's plan starts from. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sfrecon/canon.h"
#include "sfrecon/log.h"
#include "sfrecon/repair.h"
#include "sfrecon/sf.h"
#include "sfrecon/testhook.h"

struct apply {
    struct sfr_plan *p;
    struct sfr_side *sf, *pg;
    struct pg_conn *conn;
    long run_id;
    const struct sfr_repair_opts *o;
    struct sfr_repair_result *res;
    long batches;
};

/* A committed write batch: a kill point of the test build (testhook.h). */
static void batch_done(struct apply *a)
{
    a->batches++;
    sfr_test_point("repair.batch");
}

/* SFR_EINTR once a stop was asked for (checked between write batches). */
static enum sfr_rc stop_check(const struct apply *a, struct sfr_err *err)
{
    if (a->o->stop == NULL || !*a->o->stop)
        return SFR_OK;
    return sfr_err_set(err, SFR_EINTR, "repair run %ld interrupted after %ld write batch%s",
                       a->run_id, a->batches, a->batches == 1 ? "" : "es");
}

static void item_fail(struct sfr_plan_item *it, const char *code, const char *msg)
{
    it->status = SFR_ITEM_FAILED;
    snprintf(it->error_code, sizeof(it->error_code), "%.63s", code ? code : "");
    snprintf(it->message, sizeof(it->message), "%.255s", msg ? msg : "");
    it->fail_cause = sfr_repair_error_cause(code);
}

static bool any(const bool *v, int n)
{
    for (int i = 0; v != NULL && i < n; i++)
        if (v[i])
            return true;
    return false;
}

/* ---- Postgres writes through the side ---------------------------------------------- */

enum pass { PASS_DELETE, PASS_DELETE_RETRY, PASS_FIRST, PASS_DEFERRED };

static bool wants_pg(const struct sfr_plan_item *it, enum pass pass)
{
    if (pass == PASS_DELETE_RETRY)
        return it->op == SFR_OP_PG_DELETE && it->status == SFR_ITEM_FAILED &&
               strcmp(it->error_code, "23503") == 0;
    if (it->status == SFR_ITEM_FAILED)
        return false;
    switch (pass) {
    case PASS_DELETE:
    case PASS_DELETE_RETRY:
        return it->op == SFR_OP_PG_DELETE;
    case PASS_FIRST:
        return (it->op == SFR_OP_PG_UPSERT || it->op == SFR_OP_PG_UPDATE) &&
               any(it->set, it->n_values);
    case PASS_DEFERRED:
        return (it->op == SFR_OP_PG_UPSERT || it->op == SFR_OP_PG_UPDATE) && it->has_deferred;
    }
    return false;
}

/* Writes items[idx[0..n)] of po to the mirror in one call. */
static enum sfr_rc pg_batch(struct apply *a, struct sfr_plan_object *po, const size_t *idx, int n,
                            enum pass pass, struct sfr_err *err)
{
    struct sfr_write *w = sfr_calloc((size_t)n, sizeof(*w));
    for (int k = 0; k < n; k++) {
        struct sfr_plan_item *it = &po->items[idx[k]];
        w[k].sfid = it->sfid;
        w[k].values = (const char *const *)it->after;
        if (pass == PASS_DELETE || pass == PASS_DELETE_RETRY) {
            w[k].kind = SFR_WRITE_DELETE;
        } else if (pass == PASS_DEFERRED) {
            w[k].kind = SFR_WRITE_UPDATE;
            w[k].set = it->deferred;
        } else {
            w[k].kind = it->op == SFR_OP_PG_UPSERT ? SFR_WRITE_UPSERT : SFR_WRITE_UPDATE;
            w[k].set = it->set;
        }
    }
    enum sfr_rc rc = a->pg->ops->write(a->pg, po->co->proj, w, n, a->run_id, err);
    if (rc != SFR_OK) {
        sfr_err_prefix(err, "writing %s to the mirror", po->co->proj->obj->name);
        goto out;
    }
    a->res->pg_batches++;
    for (int k = 0; k < n; k++) {
        struct sfr_plan_item *it = &po->items[idx[k]];
        if (w[k].ok) {
            it->status = SFR_ITEM_PLANNED;
            it->error_code[0] = it->message[0] = '\0';
            a->res->pg_rows_written++;
        } else {
            item_fail(it, w[k].error_code, w[k].message);
        }
    }
    batch_done(a);
out:
    sfr_free(w);
    return rc;
}

/* All items of po that the pass writes, in batches. *n_failed counts failures. */
static enum sfr_rc pg_pass(struct apply *a, struct sfr_plan_object *po, enum pass pass,
                           long *n_failed, struct sfr_err *err)
{
    long cap = a->o->pg_batch > 0 ? a->o->pg_batch : 500;
    size_t *idx = sfr_calloc((size_t)cap, sizeof(size_t));
    enum sfr_rc rc = SFR_OK;
    int n = 0;
    for (size_t i = 0; i <= po->n && rc == SFR_OK; i++) {
        if (i < po->n && wants_pg(&po->items[i], pass))
            idx[n++] = i;
        if (n > 0 && (n == cap || i == po->n)) {
            rc = pg_batch(a, po, idx, n, pass, err);
            if (rc == SFR_OK)
                rc = stop_check(a, err);
            for (int k = 0; k < n && n_failed != NULL; k++)
                *n_failed += po->items[idx[k]].status == SFR_ITEM_FAILED;
            n = 0;
        }
    }
    sfr_free(idx);
    return rc;
}

/* Deletes children-first; rows held back by a foreign key are tried again
 * while a pass makes progress (a child row deleted later in the same pass). */
static enum sfr_rc phase_deletes(struct apply *a, struct sfr_err *err)
{
    long prev = -1;
    for (int round = 0; round < 16; round++) {
        long failed = 0;
        for (int i = 0; i < a->p->n_objects; i++) {
            struct sfr_plan_object *po = &a->p->objects[sfr_plan_delete_index(a->p, i)];
            enum sfr_rc rc =
                pg_pass(a, po, round == 0 ? PASS_DELETE : PASS_DELETE_RETRY, NULL, err);
            if (rc != SFR_OK)
                return rc;
        }
        for (int k = 0; k < a->p->n_objects; k++)
            for (size_t i = 0; i < a->p->objects[k].n; i++)
                failed += wants_pg(&a->p->objects[k].items[i], PASS_DELETE_RETRY);
        if (failed == 0 || (prev >= 0 && failed >= prev))
            break;
        prev = failed;
    }
    return SFR_OK;
}

static enum sfr_rc phase_dedupe(struct apply *a, struct sfr_err *err)
{
    for (int k = 0; k < a->p->n_objects; k++) {
        struct sfr_plan_object *po = &a->p->objects[k];
        bool did = false;
        for (size_t i = 0; i < po->n; i++) {
            struct sfr_plan_item *it = &po->items[i];
            if (!it->dedupe || a->conn == NULL)
                continue;
            long n = 0;
            struct sfr_err e = {0};
            enum sfr_rc rc = sfr_repair_sql_dedupe(a->conn, a->run_id, po->co->proj->schema,
                                                   po->co->proj->obj, it->sfid, &n, &e);
            if (rc == SFR_EPG && e.sqlstate[0] != '\0' && strncmp(e.sqlstate, "08", 2) != 0) {
                item_fail(it, e.sqlstate, e.msg);
                continue;
            }
            if (rc != SFR_OK) {
                if (err != NULL)
                    *err = e;
                return rc;
            }
            a->res->pg_rows_written += n;
            did = true;
        }
        if (did)
            batch_done(a);
    }
    return SFR_OK;
}

/* Clears the failed-sync marks of the items of po written without error. */
static enum sfr_rc clear_sync_errors(struct apply *a, struct sfr_plan_object *po,
                                     struct sfr_err *err)
{
    struct sfr_strv ids = {0};
    enum sfr_rc rc = SFR_OK;
    if (a->conn == NULL)
        return SFR_OK;
    for (size_t i = 0; i < po->n; i++) {
        const struct sfr_plan_item *it = &po->items[i];
        if (it->clear_sync_error && it->status != SFR_ITEM_FAILED)
            sfr_strv_push(&ids, it->new_sfid[0] ? it->new_sfid : it->sfid);
    }
    long cap = a->o->pg_batch > 0 ? a->o->pg_batch : 500;
    for (size_t i = 0; i < ids.n && rc == SFR_OK; i += (size_t)cap) {
        int n = (int)(ids.n - i < (size_t)cap ? ids.n - i : (size_t)cap);
        rc = sfr_repair_sql_clear_sync_error(a->conn, a->run_id, po->co->proj->schema,
                                             po->co->proj->obj, (const char *const *)ids.v + i, n,
                                             err);
        if (rc == SFR_OK)
            batch_done(a);
    }
    sfr_strv_cleanup(&ids);
    return rc;
}

/* ---- Salesforce writes ------------------------------------------------------------------ */

/* {"Field": value, ...} of the set fields, from vals (NULL = all null). */
static char *values_json(const struct sfr_projection *p, const struct sfr_plan_item *it,
                         char **vals)
{
    struct sfr_buf b = SFR_BUF_INIT;
    bool first = true;
    sfr_buf_putc(&b, '{');
    for (int i = 0; i < it->n_values && i < p->n_fields; i++) {
        if (!it->set[i])
            continue;
        if (!first)
            sfr_buf_putc(&b, ',');
        first = false;
        sfr_buf_json_str(&b, p->fields[i]->name);
        sfr_buf_putc(&b, ':');
        sfr_buf_json_str(&b, vals ? vals[i] : NULL);
    }
    size_t rl = it->refs != NULL && vals == it->after ? strlen(it->refs) : 0;
    if (rl > 2) { /* the nested references written, as sent */
        if (!first)
            sfr_buf_putc(&b, ',');
        sfr_buf_append(&b, it->refs + 1, rl - 2);
    }
    sfr_buf_putc(&b, '}');
    return sfr_buf_steal(&b);
}

/* ---- Salesforce creates: never twice ---------------------------------------------------- */

static bool create_writable(const struct sfr_field *f)
{
    if (f->type == SFR_FT_ID || strcasecmp(f->name, "Id") == 0 || f->calculated ||
        f->type == SFR_FT_LOCATION || f->type == SFR_FT_ADDRESS)
        return false;
    return f->createable;
}

/* The projection index of the mapping's upsert_field when creates can be
 * keyed by it (an External ID field, mapped, createable), else -1. */
static int ext_index(const struct sfr_plan_object *po)
{
    const struct sfr_mapping *m = po->co->map;
    const struct sfr_projection *p = po->co->proj;
    if (m == NULL || m->upsert_field == NULL)
        return -1;
    for (int i = 0; i < p->n_fields; i++)
        if (strcasecmp(p->fields[i]->name, m->upsert_field) == 0)
            return p->fields[i]->external_id && p->fields[i]->createable ? i : -1;
    return -1;
}

static void iso_ms(int64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* The record's CreatedDate (ms) from a plan item's values, INT64_MIN when unknown. */
static int64_t item_created_ms(const struct sfr_projection *p, const struct sfr_plan_item *it)
{
    int64_t ms;
    for (int i = 0; i < p->n_fields && i < it->n_values; i++)
        if (strcasecmp(p->fields[i]->name, "CreatedDate") == 0 && it->after[i] != NULL &&
            sfr_parse_datetime_ms(it->after[i], strlen(it->after[i]), &ms))
            return ms;
    return INT64_MIN;
}

static void hold(struct sfr_plan *p, struct sfr_plan_item *it, char *note)
{
    sfr_free(it->note);
    it->note = note;
    if (!it->unresolved) {
        it->unresolved = true;
        it->status = SFR_ITEM_SKIPPED;
        if (it->op != SFR_OP_NONE)
            p->n_changes--;
        else
            p->n_in_sync--;
        p->n_unresolved++;
    }
}

/* Settles entries whose row was linked by hand (its sfid changed since the
 * create was sent) or is gone; true when u still needs settling. */
static enum sfr_rc still_open(struct pg_conn *conn, const struct sfr_plan_object *po,
                              const struct sfr_unknown_create *u, bool *open, struct sfr_err *err)
{
    char *now = NULL;
    bool exists = false;
    *open = true;
    enum sfr_rc rc = sfr_repair_sql_row_sfid(conn, po->co->proj->schema, po->co->proj->obj->table,
                                             u->pg_id, &now, &exists, err);
    if (rc != SFR_OK)
        return rc;
    bool changed = (now == NULL) != (u->row_sfid == NULL) ||
                   (now != NULL && u->row_sfid != NULL && strcmp(now, u->row_sfid) != 0);
    if (!exists || changed) {
        char *why = exists ? sfr_asprintf("the row was linked to %s by hand", now)
                           : sfr_strdup("the row is gone from the mirror");
        rc = sfr_repair_sql_settle_unknown(conn, u->journal_id, why, err);
        if (rc == SFR_OK)
            sfr_log_info("repair: the create of %s row %ld (repair run %ld) is settled: %s",
                         po->co->proj->obj->name, u->pg_id, u->run_id, why);
        sfr_free(why);
        *open = false;
    }
    sfr_free(now);
    return rc;
}

/* The audit saw the record that create made as missing from the mirror:
 * the lookup links it to the row, so it is not inserted as a second row. */
static void same_record(struct sfr_plan *p, struct sfr_plan_object *po, int xi,
                        const struct sfr_plan_item *create)
{
    for (size_t i = 0; i < po->n; i++) {
        struct sfr_plan_item *it = &po->items[i];
        if (it->op != SFR_OP_PG_UPSERT || it->unresolved || it->after[xi] == NULL ||
            strcasecmp(it->after[xi], create->after[xi]) != 0)
            continue;
        it->op = SFR_OP_NONE;
        it->dir = SFR_DIR_NONE;
        sfr_free(it->note);
        it->note = sfr_asprintf("the record of the earlier create of row %ld (same %s): the "
                                "lookup links it to that row instead of inserting a second one",
                                create->pg_id, po->co->proj->fields[xi]->name);
        p->n_changes--;
        p->n_in_sync++;
    }
}

enum sfr_rc sfr_repair_mark_unknown(struct sfr_plan *p, struct pg_conn *conn,
                                    const struct sfr_repair_opts *o, struct sfr_err *err)
{
    if (conn == NULL)
        return SFR_OK;
    struct sfr_unknown_create *u = NULL;
    size_t n = 0;
    enum sfr_rc rc = sfr_repair_sql_unknown_creates(conn, &u, &n, err);
    for (size_t k = 0; k < n && rc == SFR_OK; k++) {
        struct sfr_plan_object *po = sfr_plan_object(p, u[k].object);
        bool open = true;
        if (po == NULL || u[k].pg_id <= 0 ||
            (rc = still_open(conn, po, &u[k], &open, err)) != SFR_OK || !open)
            continue;
        const struct sfr_projection *pj = po->co->proj;
        int xi = ext_index(po);
        char when[32];
        iso_ms(u[k].sent_ms, when);
        bool blind = false; /* no way to look it up */
        for (size_t i = 0; i < po->n; i++) {
            struct sfr_plan_item *it = &po->items[i];
            if (it->op != SFR_OP_SF_CREATE || it->pg_id != u[k].pg_id || it->unresolved)
                continue;
            it->unknown_journal_id = u[k].journal_id;
            it->unknown_run = u[k].run_id;
            it->unknown_ms = u[k].sent_ms;
            if (xi >= 0 && it->after[xi] != NULL && it->after[xi][0] != '\0') {
                sfr_free(it->note);
                it->note = sfr_asprintf("an earlier create of this row (repair run %ld, %s) may "
                                        "have reached Salesforce: it is looked up by %s = '%s' "
                                        "before anything is written",
                                        u[k].run_id, when, pj->fields[xi]->name, it->after[xi]);
                same_record(p, po, xi, it);
                continue;
            }
            if (o->retry_unknown) {
                sfr_free(it->note);
                it->note = sfr_asprintf("an earlier create of this row (repair run %ld, %s) had "
                                        "an unknown outcome; sent again (--retry-unknown)",
                                        u[k].run_id, when);
                continue;
            }
            blind = true;
            char *q = sfr_sf_check_soql(pj->obj->name, (const struct sfr_field *const *)pj->fields,
                                        pj->n_fields, (const char *const *)it->after, it->set,
                                        u[k].sent_ms - 60000);
            hold(p, it,
                 sfr_asprintf("an earlier create of this row (repair run %ld, %s) may have "
                              "reached Salesforce and %s has no external id to look it up by, "
                              "so it is not sent again. Check: %s -- found: put its Id on the "
                              "row (UPDATE %s.%s SET sfid = '<Id>' WHERE id = %ld) and repair "
                              "again; not found: sfrecon repair --retry-unknown",
                              u[k].run_id, when, pj->obj->name, q, pj->schema, pj->obj->table,
                              it->pg_id));
            sfr_free(q);
        }
        if (!blind)
            continue;
        /* a record that appeared in Salesforce since may be that create's:
         * pulling it into the mirror would make a second row for it */
        for (size_t i = 0; i < po->n; i++) {
            struct sfr_plan_item *it = &po->items[i];
            if (it->op != SFR_OP_PG_UPSERT || it->cause != SFR_CAUSE_MISSING_IN_PG ||
                it->unresolved || item_created_ms(pj, it) < u[k].sent_ms - 60000)
                continue;
            hold(p, it,
                 sfr_asprintf("created in Salesforce after the create of unknown outcome of "
                              "%s row %ld (repair run %ld, %s): it may be that record, so it is "
                              "not pulled into the mirror until that row is settled",
                              pj->obj->name, u[k].pg_id, u[k].run_id, when));
        }
    }
    sfr_unknown_creates_free(u, n);
    return rc;
}

/* Creates of one batch through the client: journaled first (outcome
 * "sent"), then sent as upserts on the external id where there is one
 * (items of an earlier unknown create: looked up first), then, right after
 * the answer and before anything else, the Ids go into the journal and onto
 * the mirror rows in one transaction (retried). A create whose outcome is
 * unknown is recorded so; the next run settles it. */
static enum sfr_rc sf_create_batch(struct apply *a, struct sfr_plan_object *po, const size_t *idx,
                                   int n, struct sfr_err *err)
{
    const struct sfr_projection *p = po->co->proj;
    int nf = p->n_fields, xi = ext_index(po);
    const char *ext = xi >= 0 ? p->fields[xi]->name : NULL;
    struct sfr_sf_rec *recs = sfr_calloc((size_t)n, sizeof(*recs));
    bool *masks = sfr_calloc((size_t)n * (size_t)nf + 1, sizeof(bool));
    struct sfr_sf_result *res = sfr_calloc((size_t)n, sizeof(*res));
    struct sfr_sf_journal *j = sfr_calloc((size_t)n, sizeof(*j));
    struct sfr_create_outcome *oc = sfr_calloc((size_t)n, sizeof(*oc));
    long *seqs = sfr_calloc((size_t)n, sizeof(long));
    char **news = sfr_calloc((size_t)n, sizeof(char *));
    int *fresh = sfr_calloc((size_t)n, sizeof(int)), *again = sfr_calloc((size_t)n, sizeof(int));
    struct sfr_sf_rec *rf = sfr_calloc((size_t)n, sizeof(*rf)),
                      *ra = sfr_calloc((size_t)n, sizeof(*ra));
    struct sfr_sf_result *sf_ = sfr_calloc((size_t)n, sizeof(*sf_)),
                         *sa = sfr_calloc((size_t)n, sizeof(*sa));
    int n_fresh = 0, n_again = 0;
    enum sfr_rc rc = SFR_OK, call_rc = SFR_OK;
    for (int k = 0; k < n; k++) {
        struct sfr_plan_item *it = &po->items[idx[k]];
        bool *mask = masks + (size_t)k * (size_t)nf;
        for (int i = 0; i < nf; i++)
            mask[i] = it->set[i] && create_writable(p->fields[i]);
        recs[k] = (struct sfr_sf_rec){NULL, (const char *const *)it->after, mask, it->refs};
        news[k] = values_json(p, it, it->after);
        j[k] =
            (struct sfr_sf_journal){p->obj->name, "", "insert", NULL, news[k], it->pg_id, it->sfid};
        if (it->unknown_journal_id > 0) {
            again[n_again] = k;
            ra[n_again++] = recs[k];
        } else {
            fresh[n_fresh] = k;
            rf[n_fresh++] = recs[k];
        }
    }
    if (a->conn != NULL &&
        (rc = sfr_repair_sql_journal_sf(a->conn, a->run_id, j, n, seqs, err)) != SFR_OK)
        goto out;
    const struct sfr_field *const *fields = (const struct sfr_field *const *)p->fields;
    if (n_fresh > 0)
        call_rc = sfr_sf_create_idempotent(a->o->sf_client, p->obj->name, fields, nf, ext, rf,
                                           n_fresh, sf_, err);
    if (n_again > 0 && call_rc == SFR_OK)
        call_rc = sfr_sf_lookup_then_create(a->o->sf_client, p->obj->name, fields, nf, ext, ra,
                                            n_again, sa, err);
    else
        for (int k = 0; k < n_again; k++) {
            sa[k].success = false;
            snprintf(sa[k].status_code, sizeof(sa[k].status_code), "NOT_SENT");
            snprintf(sa[k].message, sizeof(sa[k].message), "not sent: an earlier call failed");
        }
    for (int k = 0; k < n_fresh; k++)
        res[fresh[k]] = sf_[k];
    for (int k = 0; k < n_again; k++)
        res[again[k]] = sa[k];
    a->res->sf_batches += (n_fresh > 0) + (n_again > 0);
    /* the Ids, in full, before anything else can go wrong */
    for (int k = 0; k < n; k++) {
        struct sfr_plan_item *it = &po->items[idx[k]];
        if (res[k].success && res[k].id[0])
            sfr_log_info("repair: %s row %ld: %s %s", p->obj->name, it->pg_id,
                         res[k].found || (xi >= 0 && recs[k].values[xi] != NULL && !res[k].created)
                             ? "found existing"
                             : "created",
                         res[k].id);
    }
    sfr_test_point("repair.sf_sent");
    for (int k = 0; k < n; k++) {
        struct sfr_plan_item *it = &po->items[idx[k]];
        /* an upsert that did not create found the record already there */
        bool upserted = xi >= 0 && recs[k].values[xi] != NULL && recs[k].values[xi][0] != '\0';
        bool found = res[k].found || (upserted && !res[k].created);
        const char *what = res[k].success   ? (found ? "found" : "created")
                           : res[k].unknown ? "unknown"
                           : strcmp(res[k].status_code, "NOT_SENT") == 0 ? "not_sent"
                                                                         : "failed";
        oc[k] = (struct sfr_create_outcome){seqs[k], it->pg_id,
                                            res[k].success && res[k].id[0] ? res[k].id : NULL, what,
                                            it->unknown_journal_id};
    }
    if (a->conn != NULL) {
        rc = sfr_repair_sql_commit_creates(a->conn, a->run_id, p->schema, p->obj, oc, n, err);
        if (rc != SFR_OK) {
            for (int k = 0; k < n; k++)
                if (oc[k].sfid != NULL)
                    sfr_log_warn("repair: %s row %ld is record %s in Salesforce, but the mirror "
                                 "could not be told: set its sfid by hand",
                                 p->obj->name, oc[k].pg_id, oc[k].sfid);
        }
    }
    for (int k = 0; k < n; k++) {
        struct sfr_plan_item *it = &po->items[idx[k]];
        if (res[k].success) {
            snprintf(it->new_sfid, sizeof(it->new_sfid), "%.18s", res[k].id);
            a->res->sf_records_written++;
        } else if (res[k].unknown) {
            item_fail(it, "OUTCOME_UNKNOWN",
                      ext != NULL && recs[k].values[xi] != NULL
                          ? "the create may have reached Salesforce but its answer was lost; the "
                            "next repair looks it up by its external id before writing"
                          : "the create may have reached Salesforce but its answer was lost; the "
                            "next repair lists it for a human to check (no external id)");
        } else {
            item_fail(it, res[k].status_code, res[k].message);
        }
    }
    if (rc == SFR_OK && call_rc != SFR_OK) {
        rc = call_rc;
        sfr_err_prefix(err, "creating %s records in Salesforce", p->obj->name);
    }
    batch_done(a);
out:
    for (int k = 0; k < n; k++)
        sfr_free(news[k]);
    sfr_free(news);
    sfr_free(seqs);
    sfr_free(oc);
    sfr_free(j);
    sfr_free(res);
    sfr_free(masks);
    sfr_free(recs);
    sfr_free(fresh);
    sfr_free(again);
    sfr_free(rf);
    sfr_free(ra);
    sfr_free(sf_);
    sfr_free(sa);
    return rc;
}

/* Journals the batch (old values first: a kill after the call still leaves
 * what undo needs to list), writes it, puts new Ids on the mirror rows. */
static enum sfr_rc sf_batch(struct apply *a, struct sfr_plan_object *po, const size_t *idx, int n,
                            struct sfr_err *err)
{
    const struct sfr_projection *p = po->co->proj;
    struct sfr_write *w = sfr_calloc((size_t)n, sizeof(*w));
    struct sfr_sf_journal *j = sfr_calloc((size_t)n, sizeof(*j));
    long *seqs = sfr_calloc((size_t)n, sizeof(long));
    char **olds = sfr_calloc((size_t)n, sizeof(char *));
    char **news = sfr_calloc((size_t)n, sizeof(char *));
    enum sfr_rc rc = SFR_OK;
    for (int k = 0; k < n; k++) {
        struct sfr_plan_item *it = &po->items[idx[k]];
        bool create = it->op == SFR_OP_SF_CREATE;
        w[k].kind = create ? SFR_WRITE_INSERT : SFR_WRITE_UPDATE;
        w[k].sfid = create ? NULL : it->sfid;
        w[k].values = (const char *const *)it->after;
        w[k].set = it->set;
        w[k].refs = it->refs;
        olds[k] = create ? NULL : values_json(p, it, it->before);
        news[k] = values_json(p, it, it->after);
        j[k] = (struct sfr_sf_journal){
            p->obj->name, create ? "" : it->sfid,  create ? "insert" : "update", olds[k], news[k],
            it->pg_id,    create ? it->sfid : NULL};
    }
    if (a->conn != NULL) {
        rc = sfr_repair_sql_journal_sf(a->conn, a->run_id, j, n, seqs, err);
        if (rc != SFR_OK)
            goto out;
    }
    rc = a->sf->ops->write(a->sf, p, w, n, 0, err);
    if (rc != SFR_OK) {
        sfr_err_prefix(err, "writing %s to Salesforce", p->obj->name);
        goto out;
    }
    a->res->sf_batches++;
    for (int k = 0; k < n && rc == SFR_OK; k++) {
        struct sfr_plan_item *it = &po->items[idx[k]];
        if (!w[k].ok) {
            item_fail(it, w[k].error_code, w[k].message);
            continue;
        }
        a->res->sf_records_written++;
        if (it->op != SFR_OP_SF_CREATE)
            continue;
        snprintf(it->new_sfid, sizeof(it->new_sfid), "%.18s", w[k].new_id);
        if (a->conn != NULL) {
            rc = sfr_repair_sql_journal_sf_id(a->conn, a->run_id, seqs[k], it->new_sfid, err);
            if (rc == SFR_OK && it->pg_id > 0)
                rc = sfr_repair_sql_set_sfid(a->conn, a->run_id, p->schema, p->obj, it->pg_id,
                                             it->new_sfid, err);
        }
    }
    batch_done(a);
out:
    for (int k = 0; k < n; k++) {
        sfr_free(olds[k]);
        sfr_free(news[k]);
    }
    sfr_free(olds);
    sfr_free(news);
    sfr_free(seqs);
    sfr_free(j);
    sfr_free(w);
    return rc;
}

struct refresh {
    struct sfr_plan_object *po;
    struct sfr_write *w;
    char ***vals;
    bool **sets;
    int n, cap;
};

static int refresh_cb(void *ctx, const struct sfr_record *r)
{
    struct refresh *f = ctx;
    if (f->n == f->cap)
        return 0;
    int k = f->n++;
    int nf = f->po->co->proj->n_fields;
    f->vals[k] = sfr_calloc((size_t)nf + 1, sizeof(char *));
    f->sets[k] = sfr_calloc((size_t)nf + 1, sizeof(bool));
    for (int i = 0; i < nf && i < r->n_values; i++) {
        f->vals[k][i] = sfr_strdup(r->values[i]);
        f->sets[k][i] = true;
    }
    f->w[k].kind = SFR_WRITE_UPSERT;
    f->w[k].sfid = f->vals[k][0] ? f->vals[k][0] : r->sfid;
    f->w[k].values = (const char *const *)f->vals[k];
    f->w[k].set = f->sets[k];
    return 0;
}

/* After Salesforce writes: the mirror takes what Salesforce now holds
 * (new SystemModstamp, defaults, formula-free values), journaled. */
static enum sfr_rc refresh_mirror(struct apply *a, struct sfr_plan_object *po, const size_t *idx,
                                  int n, struct sfr_err *err)
{
    const char **ids = sfr_calloc((size_t)n + 1, sizeof(char *));
    int m = 0;
    for (int k = 0; k < n; k++) {
        struct sfr_plan_item *it = &po->items[idx[k]];
        if (it->status != SFR_ITEM_FAILED)
            ids[m++] = it->new_sfid[0] ? it->new_sfid : it->sfid;
    }
    struct refresh f = {po,
                        sfr_calloc((size_t)m + 1, sizeof(struct sfr_write)),
                        sfr_calloc((size_t)m + 1, sizeof(char **)),
                        sfr_calloc((size_t)m + 1, sizeof(bool *)),
                        0,
                        m};
    enum sfr_rc rc = m ? sfr_side_fetch(a->sf, po->co->proj, ids, m, refresh_cb, &f, err) : SFR_OK;
    if (rc == SFR_OK && f.n > 0) {
        rc = a->pg->ops->write(a->pg, po->co->proj, f.w, f.n, a->run_id, err);
        if (rc == SFR_OK) {
            a->res->pg_batches++;
            for (int k = 0; k < f.n; k++)
                if (f.w[k].ok)
                    a->res->pg_rows_written++;
                else
                    sfr_log_warn("repair: %s %s: mirror refresh failed: %s %s",
                                 po->co->proj->obj->name, f.w[k].sfid, f.w[k].error_code,
                                 f.w[k].message);
            batch_done(a);
        }
    }
    for (int k = 0; k < f.n; k++) {
        for (int i = 0; i < po->co->proj->n_fields; i++)
            sfr_free(f.vals[k][i]);
        sfr_free(f.vals[k]);
        sfr_free(f.sets[k]);
    }
    sfr_free(f.vals);
    sfr_free(f.sets);
    sfr_free(f.w);
    sfr_free(ids);
    return rc;
}

/* Without a database connection (unit tests), a created record's old row
 * is replaced by the refreshed one through the side. */
static enum sfr_rc drop_old_rows(struct apply *a, struct sfr_plan_object *po, const size_t *idx,
                                 int n, struct sfr_err *err)
{
    struct sfr_write *w = sfr_calloc((size_t)n + 1, sizeof(*w));
    int m = 0;
    for (int k = 0; k < n; k++) {
        struct sfr_plan_item *it = &po->items[idx[k]];
        if (it->op == SFR_OP_SF_CREATE && it->status != SFR_ITEM_FAILED && it->sfid[0]) {
            w[m].kind = SFR_WRITE_DELETE;
            w[m].sfid = it->sfid;
            m++;
        }
    }
    enum sfr_rc rc = m ? a->pg->ops->write(a->pg, po->co->proj, w, m, 0, err) : SFR_OK;
    sfr_free(w);
    return rc;
}

static enum sfr_rc phase_sf(struct apply *a, struct sfr_err *err)
{
    long cap = a->o->sf_batch > 0 && a->o->sf_batch <= 200 ? a->o->sf_batch : 200;
    size_t *idx = sfr_calloc((size_t)cap, sizeof(size_t));
    enum sfr_rc rc = SFR_OK;
    for (int k = 0; k < a->p->n_objects && rc == SFR_OK; k++) {
        struct sfr_plan_object *po = &a->p->objects[k];
        for (int op = SFR_OP_SF_UPDATE; op <= SFR_OP_SF_CREATE && rc == SFR_OK; op++) {
            int n = 0;
            for (size_t i = 0; i <= po->n && rc == SFR_OK; i++) {
                if (i < po->n && po->items[i].op == (enum sfr_repair_op)op &&
                    po->items[i].status == SFR_ITEM_PLANNED)
                    idx[n++] = i;
                if (n == 0 || (n < cap && i < po->n))
                    continue;
                if (op == SFR_OP_SF_CREATE && a->o->sf_client != NULL)
                    rc = sf_create_batch(a, po, idx, n, err);
                else
                    rc = sf_batch(a, po, idx, n, err);
                if (rc == SFR_OK && a->conn == NULL)
                    rc = drop_old_rows(a, po, idx, n, err);
                if (rc == SFR_OK)
                    rc = refresh_mirror(a, po, idx, n, err);
                if (rc == SFR_OK)
                    rc = stop_check(a, err);
                n = 0;
            }
        }
    }
    sfr_free(idx);
    return rc;
}

/* ---- verification -------------------------------------------------------------------- */

static enum sfr_rc verify(struct apply *a, struct sfr_err *err)
{
    enum sfr_rc rc = SFR_OK;
    for (int k = 0; k < a->p->n_objects && rc == SFR_OK; k++) {
        struct sfr_plan_object *po = &a->p->objects[k];
        struct sfr_strv ids = {0};
        struct sfr_disc_list left = {0};
        for (size_t i = 0; i < po->n; i++) {
            const struct sfr_plan_item *it = &po->items[i];
            if (!it->unresolved && it->sfid[0] != '\0')
                sfr_strv_push(&ids, it->sfid);
            if (it->new_sfid[0] != '\0')
                sfr_strv_push(&ids, it->new_sfid);
        }
        if (ids.n > 0)
            rc = sfr_check_keys(po->co, a->sf, a->pg, (const char *const *)ids.v, (int)ids.n,
                                INT64_MAX, &left, err);
        for (size_t i = 0; i < po->n && rc == SFR_OK; i++) {
            struct sfr_plan_item *it = &po->items[i];
            if (it->unresolved) {
                it->status = SFR_ITEM_SKIPPED;
                continue;
            }
            const char *key = it->new_sfid[0] ? it->new_sfid : it->sfid;
            const struct sfr_discrepancy *d = NULL;
            for (size_t j = 0; j < left.n && d == NULL; j++)
                if (strcmp(left.v[j].sfid, key) == 0)
                    d = &left.v[j];
            if (d == NULL && it->status != SFR_ITEM_FAILED) {
                it->status = SFR_ITEM_FIXED;
            } else if (d != NULL && it->status != SFR_ITEM_FAILED) {
                it->status = SFR_ITEM_FAILED;
                snprintf(it->error_code, sizeof(it->error_code), "still_differs");
                snprintf(it->message, sizeof(it->message), "after the write: %.230s",
                         d->detail ? d->detail : sfr_cause_name(d->cause));
                it->fail_cause = d->cause;
            }
        }
        sfr_disc_list_cleanup(&left);
        sfr_strv_cleanup(&ids);
    }
    return rc;
}

static void tally(struct apply *a)
{
    struct sfr_repair_result *r = a->res;
    r->fixed = r->failed = r->skipped = r->in_sync = 0;
    for (int k = 0; k < a->p->n_objects; k++) {
        for (size_t i = 0; i < a->p->objects[k].n; i++) {
            const struct sfr_plan_item *it = &a->p->objects[k].items[i];
            if (it->status == SFR_ITEM_SKIPPED)
                r->skipped++;
            else if (it->status == SFR_ITEM_FAILED)
                r->failed++;
            else if (it->op == SFR_OP_NONE && it->status == SFR_ITEM_FIXED)
                r->in_sync++;
            else if (it->status == SFR_ITEM_FIXED)
                r->fixed++;
        }
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static enum sfr_rc run_phases(struct apply *a, struct sfr_err *err)
{
    enum sfr_rc rc = phase_dedupe(a, err);
    if (rc == SFR_OK)
        rc = stop_check(a, err);
    if (rc == SFR_OK)
        rc = phase_deletes(a, err);
    for (int k = 0; k < a->p->n_objects && rc == SFR_OK; k++)
        rc = pg_pass(a, &a->p->objects[k], PASS_FIRST, NULL, err);
    if (rc == SFR_OK)
        rc = phase_sf(a, err);
    for (int k = 0; k < a->p->n_objects && rc == SFR_OK; k++)
        rc = pg_pass(a, &a->p->objects[k], PASS_DEFERRED, NULL, err);
    for (int k = 0; k < a->p->n_objects && rc == SFR_OK; k++)
        rc = clear_sync_errors(a, &a->p->objects[k], err);
    return rc;
}

/* The run's summary, with every record the run created in Salesforce (the
 * mirror row and the new Id, in full) so the stored run says it too. */
static char *summary_json(const struct sfr_repair_result *r, const struct sfr_plan *p)
{
    struct sfr_buf b = SFR_BUF_INIT;
    sfr_buf_printf(&b,
                   "{\"fixed\":%ld,\"failed\":%ld,\"skipped\":%ld,\"in_sync\":%ld,"
                   "\"pg_batches\":%ld,\"sf_batches\":%ld,\"pg_rows_written\":%ld,"
                   "\"sf_records_written\":%ld,\"sf_api_calls\":%ld,\"seconds\":%.3f,"
                   "\"created\":[",
                   r->fixed, r->failed, r->skipped, r->in_sync, r->pg_batches, r->sf_batches,
                   r->pg_rows_written, r->sf_records_written, r->sf_api_calls, r->seconds);
    int n = 0;
    for (int k = 0; k < p->n_objects; k++)
        for (size_t i = 0; i < p->objects[k].n; i++) {
            const struct sfr_plan_item *it = &p->objects[k].items[i];
            if (it->op != SFR_OP_SF_CREATE || it->new_sfid[0] == '\0')
                continue;
            sfr_buf_puts(&b, n++ ? ",{\"object\":" : "{\"object\":");
            sfr_buf_json_str(&b, p->objects[k].co->proj->obj->name);
            sfr_buf_printf(&b, ",\"pg_id\":%ld,\"sfid\":", it->pg_id);
            sfr_buf_json_str(&b, it->new_sfid);
            sfr_buf_putc(&b, '}');
        }
    sfr_buf_puts(&b, "]}");
    return sfr_buf_steal(&b);
}

enum sfr_rc sfr_repair_apply(struct sfr_plan *p, struct sfr_side *sf, struct sfr_side *pg,
                             struct pg_conn *conn, long audit_run_id,
                             const struct sfr_repair_opts *o, struct sfr_repair_result *res,
                             struct sfr_err *err)
{
    struct apply a = {p, sf, pg, conn, 0, o, res, 0};
    double t0 = now_s();
    long calls0 = sf->stats.api_calls;
    enum sfr_rc rc = SFR_OK;
    memset(res, 0, sizeof(*res));
    if (conn != NULL) {
        struct sfr_buf plan = SFR_BUF_INIT;
        sfr_plan_json(&plan, p, false);
        rc = sfr_repair_run_begin(conn, audit_run_id, plan.data, &a.run_id, err);
        sfr_buf_cleanup(&plan);
        if (rc != SFR_OK)
            return rc;
    }
    res->run_id = a.run_id;
    if (o->progress)
        sfr_log_info("repair run %ld: applying %ld change%s", a.run_id, p->n_changes,
                     p->n_changes == 1 ? "" : "s");
    rc = run_phases(&a, err);
    if (rc == SFR_OK) {
        if (o->progress)
            sfr_log_info("repair run %ld: re-verifying the repaired keys", a.run_id);
        rc = verify(&a, err);
    }
    tally(&a);
    res->sf_api_calls = sf->stats.api_calls - calls0;
    res->seconds = now_s() - t0;
    if (conn != NULL) {
        char *sum = summary_json(res, p);
        struct sfr_err e2 = {0};
        const char *status = rc == SFR_EINTR ? "interrupted"
                             : rc != SFR_OK  ? "failed"
                             : res->failed   ? "partial"
                                             : "done";
        if (sfr_repair_run_finish(conn, a.run_id, status, sum, &e2) != SFR_OK)
            sfr_log_warn("repair run %ld: cannot store the outcome: %s", a.run_id, e2.msg);
        sfr_free(sum);
    }
    return rc;
}
