/* recover.c — trigger-log entries a stopped sync left PENDING (a crash or a
 * SIGKILL between claiming them and storing the outcome): they may or may
 * not have reached Salesforce. At start, before anything else, each is
 * settled so that nothing is written twice:
 *  - UPDATE and DELETE: writing them again leaves Salesforce as one write
 *    would (the same values; a delete of a deleted record counts as done),
 *    so they go back to NEW and the push writes them.
 *  - INSERT of a row that has an sfid now: NEW (the push updates that record).
 *  - INSERT of a row gone from the mirror: IGNORED.
 *  - INSERT otherwise: never sent again blindly: FAILED with
 *    "OUTCOME_UNKNOWN: ..." and a SOQL query that finds the record if it
 *    exists, for a human to decide (set it back to NEW to create it, or put
 *    the sfid on the row). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "sfrecon/log.h"
#include "sync_internal.h"

#define RECOVER_BATCH 200

static bool writable_create(const struct sfr_field *f)
{
    if (f->type == SFR_FT_ID || strcasecmp(f->name, "Id") == 0 || f->calculated ||
        f->type == SFR_FT_LOCATION || f->type == SFR_FT_ADDRESS)
        return false;
    return f->createable;
}

static enum sfr_rc pending_entries(PGconn *c, const struct sfr_pg_table *t, long after,
                                   struct sfr_tlog_entry **out, int *n, struct sfr_err *err)
{
    *out = NULL;
    *n = 0;
    char a[24], lim[16];
    snprintf(a, sizeof(a), "%ld", after);
    snprintf(lim, sizeof(lim), "%d", RECOVER_BATCH);
    const char *params[3] = {t->table, a, lim};
    char *sql =
        sfr_asprintf("SELECT id, action, record_id, sfid,"
                     " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
                     " FROM %s"
                     " WHERE state = 'PENDING' AND table_name = $1 AND id > $2::int"
                     " ORDER BY id LIMIT $3::int",
                     t->tlog_qname);
    PGresult *res = NULL;
    enum sfr_rc rc =
        sfr_pg_query(c, sql, 3, params, &res, err, "reading PENDING _trigger_log entries");
    sfr_free(sql);
    if (rc != SFR_OK)
        return rc;
    int m = PQntuples(res);
    struct sfr_tlog_entry *e = sfr_calloc((size_t)m + 1, sizeof(*e));
    for (int r = 0; r < m; r++) {
        e[r].id = atol(PQgetvalue(res, r, 0));
        snprintf(e[r].action, sizeof(e[r].action), "%s", PQgetvalue(res, r, 1));
        e[r].record_id = PQgetisnull(res, r, 2) ? 0 : atol(PQgetvalue(res, r, 2));
        e[r].sfid = PQgetisnull(res, r, 3) || PQgetvalue(res, r, 3)[0] == '\0'
                        ? NULL
                        : sfr_strdup(PQgetvalue(res, r, 3));
        e[r].created_at = PQgetisnull(res, r, 4) ? NULL : sfr_strdup(PQgetvalue(res, r, 4));
    }
    PQclear(res);
    *out = e;
    *n = m;
    return SFR_OK;
}

static char *row_value(const struct sfr_projection *p, PGresult *rows, int r, int f)
{
    if (PQgetisnull(rows, r, f + 2))
        return NULL;
    return sfr_value_to_sf(p->fields[f], PQgetvalue(rows, r, f + 2));
}

static int row_of(PGresult *rows, long record_id)
{
    for (int r = 0; r < PQntuples(rows); r++)
        if (atol(PQgetvalue(rows, r, 0)) == record_id)
            return r;
    return -1;
}

/* One PENDING INSERT of a row without an sfid: its create may have reached
 * Salesforce before the stop. It is not sent again: FAILED with
 * OUTCOME_UNKNOWN, the row FAILED, and a query a human can run to find the
 * record (then put its Id on the row, or set the entry back to NEW to
 * create it). */
static enum sfr_rc settle_insert(struct sfr_sync *s, int i, PGresult *rows,
                                 const struct sfr_tlog_entry *e, struct sfr_tlog_outcome *o,
                                 struct sfr_sync_stats *st, struct sfr_err *err)
{
    (void)err;
    const struct sfr_projection *p = &s->ctx->proj[i];
    int r = row_of(rows, e->record_id);
    struct sfr_buf q = SFR_BUF_INIT;
    sfr_buf_printf(&q, "SELECT Id FROM %s WHERE CreatedDate >= %s", p->obj->name,
                   e->created_at ? e->created_at : "YESTERDAY");
    int shown = 0;
    for (int f = 0; r >= 0 && f < p->n_fields && shown < 3; f++) {
        const struct sfr_field *fd = p->fields[f];
        if (!writable_create(fd) ||
            (fd->type != SFR_FT_STRING && fd->type != SFR_FT_EMAIL && fd->type != SFR_FT_PHONE))
            continue;
        char *v = row_value(p, rows, r, f);
        if (v != NULL) {
            sfr_buf_printf(&q, " AND %s = ", fd->name);
            sfr_soql_quote(&q, v);
            shown++;
        }
        free(v);
    }
    o->state = "FAILED";
    o->row = SFR_ROW_FAILED;
    o->message = sfr_asprintf("OUTCOME_UNKNOWN: a sync stopped while creating this record; "
                              "it may exist in Salesforce and is not created again; look for "
                              "it with: %s",
                              q.data);
    o->hc_err = sfr_strdup("{\"errorCode\":\"OUTCOME_UNKNOWN\",\"message\":\"a sync stopped "
                           "while creating this record: check Salesforce before retrying\","
                           "\"fields\":[]}");
    sfr_log_warn("%s row id %ld: %s", s->tables[i].display, e->record_id, o->message);
    st->failed++;
    sfr_buf_cleanup(&q);
    return SFR_OK;
}

/* Settles one batch of PENDING entries of object i. */
static enum sfr_rc settle_batch(struct sfr_sync *s, int i, struct sfr_tlog_entry *e, int n,
                                struct sfr_sync_stats *st, struct sfr_err *err)
{
    const struct sfr_projection *p = &s->ctx->proj[i];
    const struct sfr_pg_table *t = &s->tables[i];
    struct sfr_tlog_outcome *o = sfr_calloc((size_t)n + 1, sizeof(*o));
    long *ids = sfr_calloc((size_t)n + 1, sizeof(long));
    for (int k = 0; k < n; k++)
        ids[k] = e[k].record_id;
    PGresult *rows = NULL;
    enum sfr_rc rc = sfr_sync_rows_by_id(s->ctx->conn, t, p, ids, n, &rows, err);
    free(ids);
    int *ins = sfr_calloc((size_t)n + 1, sizeof(int));
    int n_ins = 0;
    for (int k = 0; rc == SFR_OK && k < n; k++) {
        int r = row_of(rows, e[k].record_id);
        bool has_sfid = r >= 0 && !PQgetisnull(rows, r, 1) && PQgetvalue(rows, r, 1)[0] != '\0';
        if (strcmp(e[k].action, "INSERT") != 0 || has_sfid) {
            o[k].state = "NEW";
            o[k].message = sfr_strdup("requeued after an interrupted sync (writing it again "
                                      "is harmless)");
        } else if (r < 0) {
            o[k].state = "IGNORED";
            o[k].message = sfr_strdup("the row is no longer in the mirror");
        } else {
            ins[n_ins++] = k;
        }
    }
    /* the rest: an INSERT whose create may or may not have reached
     * Salesforce. Never sent again blindly. */
    for (int j = 0; rc == SFR_OK && j < n_ins; j++) {
        int k = ins[j];
        rc = settle_insert(s, i, rows, &e[k], &o[k], st, err);
    }
    if (rc == SFR_OK) {
        /* what was decided is stored, even after a failed lookup call */
        struct sfr_err e2 = {0};
        int m = 0;
        for (int k = 0; k < n; k++)
            if (o[k].state != NULL && strcmp(o[k].state, "PENDING") != 0) {
                if (m != k) {
                    struct sfr_tlog_entry tmp = e[m];
                    e[m] = e[k];
                    e[k] = tmp;
                    struct sfr_tlog_outcome to = o[m];
                    o[m] = o[k];
                    o[k] = to;
                }
                m++;
            }
        (void)e2;
        rc = sfr_sync_tlog_finish(s->ctx->conn, t, e, o, m, err);
    }
    for (int k = 0; k < n; k++)
        sfr_tlog_outcome_cleanup(&o[k]);
    free(o);
    free(ins);
    PQclear(rows);
    return rc;
}

enum sfr_rc sfr_sync_recover_pending(struct sfr_sync *s, int i, struct sfr_sync_stats *st,
                                     struct sfr_err *err)
{
    const struct sfr_pg_table *t = &s->tables[i];
    if (!t->has_trigger_log || s->ctx->cfg->mappings[i].access != SFR_ACCESS_READ_WRITE)
        return SFR_OK;
    long after = 0, total = 0;
    enum sfr_rc rc = SFR_OK;
    for (;;) {
        struct sfr_tlog_entry *e = NULL;
        int n = 0;
        rc = pending_entries(s->ctx->conn, t, after, &e, &n, err);
        if (rc != SFR_OK || n == 0) {
            sfr_sync_tlog_entries_free(e, n);
            break;
        }
        after = e[n - 1].id;
        total += n;
        rc = settle_batch(s, i, e, n, st, err);
        sfr_sync_tlog_entries_free(e, n);
        if (rc != SFR_OK || n < RECOVER_BATCH)
            break;
    }
    if (total > 0)
        sfr_log_info("%s: %ld _trigger_log entries left PENDING by an interrupted sync settled "
                     "(updates and deletes requeued, inserts looked up before any write)",
                     t->display, total);
    if (rc != SFR_OK)
        sfr_err_prefix(err, "settling PENDING entries of %s", t->display);
    return rc;
}
