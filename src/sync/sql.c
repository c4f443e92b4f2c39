/* sql.c — the Postgres statements of `sfrecon sync`: cursors in
 * sfrecon.sync_cursor, the mirror's max(systemmodstamp), claiming and
 * finishing _trigger_log entries the way Heroku Connect does (NEW ->
 * PENDING -> SUCCESS/FAILED/IGNORED, the row's _hc_lastop/_hc_err), reading
 * mirror rows, and LISTEN/wait on "<schema>.hc_trigger_log". Identifiers
 * are quoted (sfr_pg_table names are quoted already), values are parameters. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "sync_internal.h"

void sfr_tlog_outcome_cleanup(struct sfr_tlog_outcome *o)
{
    free(o->message);
    free(o->hc_err);
    free(o->new_sfid);
    memset(o, 0, sizeof(*o));
}

static void id_array(struct sfr_buf *b, const long *ids, int n)
{
    sfr_buf_putc(b, '{');
    for (int i = 0; i < n; i++)
        sfr_buf_printf(b, "%s%ld", i ? "," : "", ids[i]);
    sfr_buf_putc(b, '}');
}

/* One value of the cursor row (object, direction) read by sql ($1 object,
 * $2 direction): *out its text, NULL without a row or when null (caller frees). */
static enum sfr_rc cursor_read(PGconn *c, const char *sql, const char *object,
                               const char *direction, char **out, struct sfr_err *err)
{
    *out = NULL;
    const char *params[2] = {object, direction};
    PGresult *res;
    enum sfr_rc rc = sfr_pg_query(c, sql, 2, params, &res, err, "reading sfrecon.sync_cursor");
    if (rc != SFR_OK)
        return rc;
    if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
        *out = sfr_strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return SFR_OK;
}

/* Writes the cursor row by sql ($1 object, $2 direction, $3 cursor). */
static enum sfr_rc cursor_write(PGconn *c, const char *sql, const char *object,
                                const char *direction, const char *cursor, struct sfr_err *err)
{
    const char *params[3] = {object, direction, cursor};
    return sfr_pg_query(c, sql, cursor ? 3 : 2, params, NULL, err, "writing sfrecon.sync_cursor");
}

#define CURSOR_UPSERT                                                                              \
    "INSERT INTO sfrecon.sync_cursor (object, direction, cursor, updated_at)"                      \
    " VALUES ($1, $2, $3, now()) ON CONFLICT (object, direction)"                                  \
    " DO UPDATE SET cursor = EXCLUDED.cursor, updated_at = now()"

enum sfr_rc sfr_sync_cursor_get(PGconn *c, const char *object, const char *direction, char **out,
                                struct sfr_err *err)
{
    return cursor_read(c,
                       "SELECT cursor FROM sfrecon.sync_cursor WHERE object = $1"
                       " AND direction = $2",
                       object, direction, out, err);
}

enum sfr_rc sfr_sync_cursor_set(PGconn *c, const char *object, const char *direction,
                                const char *cursor, struct sfr_err *err)
{
    return cursor_write(c, CURSOR_UPSERT, object, direction, cursor, err);
}

enum sfr_rc sfr_sync_cursor_age(PGconn *c, const char *object, const char *direction, long *age_s,
                                struct sfr_err *err)
{
    char *v = NULL;
    enum sfr_rc rc = cursor_read(c,
                                 "SELECT extract(epoch FROM now() - updated_at)::bigint"
                                 " FROM sfrecon.sync_cursor WHERE object = $1 AND direction = $2",
                                 object, direction, &v, err);
    *age_s = v != NULL ? atol(v) : -1;
    free(v);
    return rc;
}

enum sfr_rc sfr_sync_cursor_del(PGconn *c, const char *object, const char *direction,
                                struct sfr_err *err)
{
    return cursor_write(c, "DELETE FROM sfrecon.sync_cursor WHERE object = $1 AND direction = $2",
                        object, direction, NULL, err);
}

enum sfr_rc sfr_sync_cursor_advance(PGconn *c, const char *object, const char *direction,
                                    const char *cursor, struct sfr_err *err)
{
    return cursor_write(c,
                        CURSOR_UPSERT " WHERE sfrecon.sync_cursor.cursor IS NULL"
                                      " OR length(sfrecon.sync_cursor.cursor) <>"
                                      " length(EXCLUDED.cursor)"
                                      " OR sfrecon.sync_cursor.cursor < EXCLUDED.cursor"
                                      " COLLATE \"C\"",
                        object, direction, cursor, err);
}

enum sfr_rc sfr_sync_mirror_max_mod(PGconn *c, const char *schema, const char *table, int64_t *ms,
                                    struct sfr_err *err)
{
    *ms = INT64_MIN;
    struct sfr_buf sql = SFR_BUF_INIT;
    sfr_buf_puts(&sql, "SELECT (extract(epoch FROM max(systemmodstamp)) * 1000)::bigint FROM ");
    sfr_pg_qualified_append(&sql, schema, table);
    PGresult *res;
    enum sfr_rc rc =
        sfr_pg_query(c, sql.data, 0, NULL, &res, err, "reading the mirror's max(systemmodstamp)");
    sfr_buf_cleanup(&sql);
    if (rc != SFR_OK) {
        sfr_err_prefix(err, "%s.%s", schema, table);
        return rc;
    }
    if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
        *ms = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return SFR_OK;
}

/* ---- the trigger log ---- */

void sfr_sync_tlog_entries_free(struct sfr_tlog_entry *e, int n)
{
    for (int i = 0; i < n; i++) {
        free(e[i].sfid);
        free(e[i].values);
        free(e[i].old);
        free(e[i].created_at);
    }
    free(e);
}

static int cmp_entry(const void *a, const void *b)
{
    const struct sfr_tlog_entry *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

static char *opt_value(PGresult *res, int r, int col)
{
    return PQgetisnull(res, r, col) ? NULL : sfr_strdup(PQgetvalue(res, r, col));
}

void sfr_sync_tlog_entry_read(PGresult *res, int r, struct sfr_tlog_entry *e)
{
    e->id = atol(PQgetvalue(res, r, 0));
    snprintf(e->action, sizeof(e->action), "%s", PQgetvalue(res, r, 1));
    e->record_id = PQgetisnull(res, r, 2) ? 0 : atol(PQgetvalue(res, r, 2));
    e->sfid = opt_value(res, r, 3);
    if (e->sfid != NULL && e->sfid[0] == '\0') {
        free(e->sfid);
        e->sfid = NULL;
    }
    e->values = opt_value(res, r, 4);
    e->old = opt_value(res, r, 5);
}

enum sfr_rc sfr_sync_tlog_claim(PGconn *c, const struct sfr_pg_table *t, int limit,
                                struct sfr_tlog_entry **out, int *n, struct sfr_err *err)
{
    *out = NULL;
    *n = 0;
    char lim[16];
    snprintf(lim, sizeof(lim), "%d", limit);
    const char *params[2] = {t->table, lim};
    char *sql = sfr_asprintf("UPDATE %s AS l SET state = 'PENDING', updated_at = now()"
                             " WHERE l.id IN (SELECT id FROM %s WHERE state = 'NEW'"
                             " AND table_name = $1 ORDER BY id LIMIT $2::int"
                             " FOR UPDATE SKIP LOCKED)"
                             " RETURNING l.id, l.action, l.record_id, l.sfid, l.\"values\", l.old",
                             t->tlog_qname, t->tlog_qname);
    PGresult *res;
    enum sfr_rc rc = sfr_pg_query(c, sql, 2, params, &res, err, "claiming _trigger_log entries");
    sfr_free(sql);
    if (rc != SFR_OK) {
        sfr_err_prefix(err, "%s", t->display);
        return rc;
    }
    int m = PQntuples(res);
    struct sfr_tlog_entry *e = sfr_calloc((size_t)m + 1, sizeof(*e));
    for (int r = 0; r < m; r++)
        sfr_sync_tlog_entry_read(res, r, &e[r]);
    PQclear(res);
    qsort(e, (size_t)m, sizeof(*e), cmp_entry);
    *out = e;
    *n = m;
    return SFR_OK;
}

enum sfr_rc sfr_sync_tlog_count_pending(PGconn *c, const struct sfr_pg_table *t, long *n,
                                        struct sfr_err *err)
{
    *n = 0;
    const char *params[1] = {t->table};
    char *sql = sfr_asprintf("SELECT count(*) FROM %s WHERE state = 'PENDING' AND table_name = $1",
                             t->tlog_qname);
    PGresult *res;
    enum sfr_rc rc =
        sfr_pg_query(c, sql, 1, params, &res, err, "counting PENDING _trigger_log entries");
    sfr_free(sql);
    if (rc != SFR_OK)
        return rc;
    *n = atol(PQgetvalue(res, 0, 0));
    PQclear(res);
    return SFR_OK;
}

enum sfr_rc sfr_sync_tlog_finish(PGconn *c, const struct sfr_pg_table *t,
                                 const struct sfr_tlog_entry *e, const struct sfr_tlog_outcome *o,
                                 int n, struct sfr_err *err)
{
    enum sfr_rc rc = sfr_pg_exec(c, "BEGIN", err);
    if (rc == SFR_OK)
        rc = sfr_pg_exec(c, "SET LOCAL xmlbinary = 'hex'", err);
    char *log_sql =
        sfr_asprintf("UPDATE %s SET state = $2::text, updated_at = now(),"
                     " processed_at = CASE WHEN $2::text = 'NEW' THEN NULL ELSE now() END,"
                     " processed_tx = CASE WHEN $2::text = 'NEW' THEN NULL ELSE txid_current() END,"
                     " sf_result = CASE WHEN $2::text = 'SUCCESS' THEN 0 END, sf_message = $3::text"
                     " WHERE id = $1::int",
                     t->tlog_qname);
    /* SYNCED only when no later write of the row waits to be pushed. */
    char *synced_sql = NULL, *failed_sql = NULL;
    if (t->has_hc_lastop) {
        synced_sql = sfr_asprintf(
            "UPDATE %s AS t SET sfid = coalesce($2::text, t.sfid), _hc_lastop = 'SYNCED'%s"
            " WHERE t.id = $1::int AND ($2::text IS NOT NULL OR NOT EXISTS (SELECT 1 FROM %s l"
            " WHERE l.table_name = $3::text AND l.record_id = t.id AND l.state IN ('NEW', 'PENDING')))",
            t->qname, t->has_hc_err ? ", _hc_err = NULL" : "", t->tlog_qname);
        /* a row already FAILED keeps its first error: re-setting the same
         * _hc_lastop would let the status trigger turn it SYNCED */
        failed_sql = sfr_asprintf("UPDATE %s AS t SET _hc_lastop = 'FAILED'%s WHERE t.id = $1::int"
                                  " AND t._hc_lastop IS DISTINCT FROM 'FAILED'",
                                  t->qname, t->has_hc_err ? ", _hc_err = $2::text" : "");
    } else {
        synced_sql = sfr_asprintf("UPDATE %s AS t SET sfid = $2::text WHERE t.id = $1::int"
                                  " AND $2::text IS NOT NULL AND $3::text IS NOT NULL",
                                  t->qname);
    }
    for (int i = 0; rc == SFR_OK && i < n; i++) {
        char id[24], rec[24];
        snprintf(id, sizeof(id), "%ld", e[i].id);
        snprintf(rec, sizeof(rec), "%ld", e[i].record_id);
        const char *lp[3] = {id, o[i].state, o[i].message};
        rc = sfr_pg_query(c, log_sql, 3, lp, NULL, err, "updating _trigger_log");
        if (rc != SFR_OK)
            break;
        if (e[i].record_id <= 0)
            continue;
        if (o[i].row == SFR_ROW_SYNCED || (o[i].row != SFR_ROW_FAILED && o[i].new_sfid)) {
            const char *rp[3] = {rec, o[i].new_sfid, t->table};
            rc = sfr_pg_query(c, synced_sql, 3, rp, NULL, err, "marking the row SYNCED");
        } else if (o[i].row == SFR_ROW_FAILED && failed_sql != NULL) {
            const char *rp[2] = {rec, o[i].hc_err};
            rc = sfr_pg_query(c, failed_sql, t->has_hc_err ? 2 : 1, rp, NULL, err,
                              "marking the row FAILED");
        }
    }
    sfr_free(log_sql);
    sfr_free(synced_sql);
    sfr_free(failed_sql);
    if (rc == SFR_OK)
        rc = sfr_pg_exec(c, "COMMIT", err);
    else
        sfr_pg_rollback(c);
    if (rc != SFR_OK)
        sfr_err_prefix(err, "%s", t->display);
    return rc;
}

enum sfr_rc sfr_sync_tlog_ignore_row(PGconn *c, const struct sfr_pg_table *t, long record_id,
                                     const char *message, struct sfr_err *err)
{
    char rec[24];
    snprintf(rec, sizeof(rec), "%ld", record_id);
    const char *params[3] = {t->table, rec, message};
    char *sql = sfr_asprintf("UPDATE %s SET state = 'IGNORED', updated_at = now(),"
                             " processed_at = now(), sf_message = $3"
                             " WHERE table_name = $1 AND record_id = $2::int AND state = 'NEW'",
                             t->tlog_qname);
    enum sfr_rc rc = sfr_pg_query(c, sql, 3, params, NULL, err, "ignoring _trigger_log entries");
    sfr_free(sql);
    return rc;
}

/* ---- mirror rows ---- */

/* Runs sql with $1 the array literal arr and, unless NULL, $2 = p2; both
 * buffers are freed; an error names the table. */
static enum sfr_rc rows_query(PGconn *c, const struct sfr_pg_table *t, struct sfr_buf *sql,
                              struct sfr_buf *arr, const char *p2, const char *what, PGresult **out,
                              struct sfr_err *err)
{
    const char *params[2] = {arr->data, p2};
    enum sfr_rc rc = sfr_pg_query(c, sql->data, p2 ? 2 : 1, params, out, err, "%s", what);
    sfr_buf_cleanup(sql);
    sfr_buf_cleanup(arr);
    if (rc != SFR_OK)
        sfr_err_prefix(err, "%s", t->display);
    return rc;
}

enum sfr_rc sfr_sync_rows_by_id(PGconn *c, const struct sfr_pg_table *t,
                                const struct sfr_projection *p, const long *ids, int n,
                                PGresult **out, struct sfr_err *err)
{
    struct sfr_buf sql = SFR_BUF_INIT, arr = SFR_BUF_INIT;
    sfr_buf_puts(&sql, "SELECT t.id::text, t.sfid");
    for (int i = 0; i < p->n_fields; i++) {
        sfr_buf_puts(&sql, ", ");
        const struct sfr_field *f = p->fields[i];
        if (strcmp(f->column, "isdeleted") == 0 && !t->has_isdeleted)
            sfr_buf_puts(&sql, "NULL::boolean");
        else
            sfr_pg_field_expr(&sql, f, "t.");
    }
    sfr_pg_relext_select(&sql, t, p, "t.");
    sfr_buf_printf(&sql, " FROM %s AS t WHERE t.id = ANY($1::int[])", t->qname);
    id_array(&arr, ids, n);
    return rows_query(c, t, &sql, &arr, NULL, "reading mirror rows", out, err);
}

enum sfr_rc sfr_sync_pending_rows(PGconn *c, const struct sfr_pg_table *t, bool has_tlog,
                                  const char *const *sfids, int n, PGresult **out,
                                  struct sfr_err *err)
{
    *out = NULL;
    struct sfr_buf sql = SFR_BUF_INIT, arr = SFR_BUF_INIT;
    if (has_tlog)
        sfr_buf_printf(&sql,
                       "SELECT t.sfid, t.id::text,"
                       " (SELECT floor(extract(epoch FROM min(l.created_at)) * 1000)::bigint::text"
                       "  FROM %s l WHERE l.table_name = $2::text AND l.record_id = t.id"
                       "  AND l.state IN ('NEW', 'PENDING')),"
                       " (SELECT (extract(epoch FROM max(l.created_at)) * 1000)::bigint::text"
                       "  FROM %s l WHERE l.table_name = $2::text AND l.record_id = t.id"
                       "  AND l.state IN ('NEW', 'PENDING'))",
                       t->tlog_qname, t->tlog_qname);
    else
        sfr_buf_puts(&sql, "SELECT t.sfid, t.id::text, NULL::text, NULL::text");
    sfr_buf_printf(&sql,
                   ", (extract(epoch FROM t.systemmodstamp) * 1000)::bigint::text"
                   " FROM %s AS t WHERE t.sfid = ANY($1::text[]) AND t._hc_lastop = 'PENDING'"
                   " AND $2::text IS NOT NULL",
                   t->qname);
    sfr_pg_array_append(&arr, sfids, n);
    return rows_query(c, t, &sql, &arr, t->table, "reading PENDING mirror rows", out, err);
}

/* ---- LISTEN ---- */

enum sfr_rc sfr_sync_listen(PGconn *c, const char *schema, struct sfr_err *err)
{
    char *chan = sfr_asprintf("%s.hc_trigger_log", schema);
    char *quoted = sfr_pg_quote_ident(c, chan);
    sfr_free(chan);
    if (quoted == NULL)
        return sfr_err_set(err, SFR_EPG, "cannot quote the channel name of schema %s", schema);
    char *sql = sfr_asprintf("LISTEN %s", quoted);
    sfr_free(quoted);
    enum sfr_rc rc = sfr_pg_exec(c, sql, err);
    sfr_free(sql);
    return rc;
}

static long now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static int drain(PGconn *c)
{
    int got = 0;
    PGnotify *nf;
    while ((nf = PQnotifies(c)) != NULL) {
        got = 1;
        PQfreemem(nf);
    }
    return got;
}

int sfr_sync_wait(PGconn *c, long timeout_ms, volatile sig_atomic_t *stop)
{
    long deadline = now_ms() + timeout_ms;
    if (PQconsumeInput(c) == 0)
        return -1;
    if (drain(c))
        return 1;
    for (;;) {
        if (stop != NULL && *stop)
            return 0;
        long left = deadline - now_ms();
        if (left <= 0)
            return 0;
        struct pollfd pfd = {PQsocket(c), POLLIN, 0};
        if (pfd.fd < 0)
            return -1;
        int r = poll(&pfd, 1, (int)(left > 1000 ? 1000 : left));
        if (r < 0 && errno != EINTR)
            return -1;
        if (r > 0) {
            if (PQconsumeInput(c) == 0)
                return -1;
            if (drain(c))
                return 1;
        }
    }
}

enum sfr_rc sfr_sync_applied_rows(PGconn *c, const struct sfr_pg_table *t, const char *const *sfids,
                                  int n, PGresult **out, struct sfr_err *err)
{
    *out = NULL;
    struct sfr_buf sql = SFR_BUF_INIT, arr = SFR_BUF_INIT;
    sfr_buf_printf(&sql,
                   "SELECT t.sfid, (extract(epoch FROM max(t.systemmodstamp)) * 1000)::bigint::text"
                   " FROM %s AS t WHERE t.sfid = ANY($1::text[]) GROUP BY t.sfid",
                   t->qname);
    sfr_pg_array_append(&arr, sfids, n);
    return rows_query(c, t, &sql, &arr, NULL, "reading applied mirror rows", out, err);
}
