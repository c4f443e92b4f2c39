/* repair_sql.c — the SQL of `sfrecon repair` that the Postgres side does not
 * do: repair runs, duplicate rows, clearing failed-sync marks, putting a new
 * sfid on a row, journaling Salesforce changes and the outcome of creates,
 * creates of unknown outcome, and the undo.
 *
 * Every mirror change here is made the way the Postgres side makes its own
 * (src/pg/mirror.c): one transaction with SET LOCAL xmlbinary = 'hex' so
 * Connect's logger trigger does not queue it back to Salesforce, and the
 * whole old and new row journaled in sfrecon.repair_journal in the same
 * transaction (side 'pg', table_name "schema.table", old_row/new_row as
 * row_to_json). Salesforce changes are journaled with side 'sf' and the old
 * values of the fields written; a create's new_row also holds its outcome
 * (sent, created, found, failed, not_sent, unknown, resolved, settled).
 * Undo restores only what a run changed and only where it still holds what
 * the run wrote (drift is listed, never overwritten). Every statement is a
 * no-op when there is nothing left to change (idempotent re-runs). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sfrecon/log.h"
#include "sfrecon/pg.h"
#include "sfrecon/repair.h"

/* Journal insert fed by a CTE named `ch` with columns sfid, old, new. */
#define JOURNAL_FROM_CH(op)                                                                        \
    " INSERT INTO sfrecon.repair_journal (repair_run_id, seq, object, table_name, sfid, side,"     \
    " op, old_row, new_row)"                                                                       \
    " SELECT $1::bigint, (SELECT coalesce(max(seq), 0) FROM sfrecon.repair_journal"                \
    "   WHERE repair_run_id = $1::bigint) + row_number() OVER (ORDER BY ch.rid),"                  \
    " $2, $3, ch.sfid, 'pg', '" op "', ch.old, ch.new FROM ch"

/* The result of sql (caller clears), or NULL with err filled. */
static PGresult *pgq(PGconn *c, const char *sql, int n, const char *const *params,
                     struct sfr_err *err, const char *what)
{
    PGresult *res = NULL;
    if (sfr_pg_query(c, sql, n, params, &res, err, "%s", what) != SFR_OK)
        return NULL;
    return res;
}

/* Runs sql with params for its effect alone. */
static enum sfr_rc exec1(PGconn *c, const char *sql, int n, const char *const *params,
                         const char *what, struct sfr_err *err)
{
    PGresult *res = pgq(c, sql, n, params, err, what);
    if (res == NULL)
        return SFR_EPG;
    PQclear(res);
    return SFR_OK;
}

static enum sfr_rc begin_hex(PGconn *c, struct sfr_err *err)
{
    enum sfr_rc rc = sfr_pg_exec(c, "BEGIN", err);
    if (rc == SFR_OK)
        rc = sfr_pg_exec(c, "SET LOCAL xmlbinary = 'hex'", err);
    return rc;
}

static enum sfr_rc finish(PGconn *c, enum sfr_rc rc, struct sfr_err *err)
{
    if (rc == SFR_OK)
        return sfr_pg_exec(c, "COMMIT", err);
    sfr_pg_rollback(c);
    return rc;
}

static char *qualified(const char *schema, const char *table)
{
    struct sfr_buf b = SFR_BUF_INIT;
    sfr_pg_qualified_append(&b, schema, table);
    return sfr_buf_steal(&b);
}

/* A mirror table as SQL names it (quoted, schema-qualified) and as it is
 * shown and journaled (schema.table). */
struct table_names {
    char *sql, *shown;
};

static struct table_names table_names(const char *schema, const char *table)
{
    struct table_names t = {qualified(schema, table), sfr_asprintf("%s.%s", schema, table)};
    return t;
}

static void table_names_free(struct table_names *t)
{
    sfr_free(t->sql);
    sfr_free(t->shown);
}

/* ---- runs ---- */

/* One repair or undo at a time per database: a session advisory lock,
 * released when the connection ends (also when the process is killed), or
 * by take false. Taking it when another session holds it fails with busy
 * and its hint. */
static enum sfr_rc repair_lock(PGconn *c, bool take, const char *busy, const char *hint,
                               struct sfr_err *err)
{
    PGresult *res = pgq(c,
                        take ? "SELECT pg_try_advisory_lock(hashtext('sfrecon.repair'))"
                             : "SELECT pg_advisory_unlock(hashtext('sfrecon.repair'))",
                        0, NULL, err, "taking the repair lock");
    if (res == NULL)
        return SFR_EPG;
    bool got = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (take && !got) {
        sfr_err_set(err, SFR_EPG, "%s", busy);
        sfr_err_hint(err, "%s", hint);
        return SFR_EPG;
    }
    return SFR_OK;
}

/* Holding the lock proves that runs still marked 'running' were interrupted. */
static enum sfr_rc lock_runs(PGconn *c, struct sfr_err *err)
{
    enum sfr_rc rc =
        repair_lock(c, true, "another sfrecon repair is running on this database",
                    "wait for it to finish; runs are serialised by an advisory lock", err);
    if (rc != SFR_OK)
        return rc;
    return exec1(c,
                 "UPDATE sfrecon.repair_run SET status = 'interrupted', finished_at = now()"
                 " WHERE status = 'running'",
                 0, NULL, "marking interrupted repair runs", err);
}

enum sfr_rc sfr_repair_run_begin(PGconn *c, long audit_run_id, const char *plan_json, long *run_id,
                                 struct sfr_err *err)
{
    enum sfr_rc rc = lock_runs(c, err);
    if (rc != SFR_OK)
        return rc;
    char audit[24];
    snprintf(audit, sizeof(audit), "%ld", audit_run_id);
    const char *params[2] = {audit_run_id > 0 ? audit : NULL, plan_json};
    PGresult *res = pgq(c,
                        "INSERT INTO sfrecon.repair_run (audit_run_id, status, plan)"
                        " VALUES ($1::bigint, 'running', $2::jsonb) RETURNING id",
                        2, params, err, "starting a repair run");
    if (res == NULL)
        return SFR_EPG;
    *run_id = atol(PQgetvalue(res, 0, 0));
    PQclear(res);
    return SFR_OK;
}

enum sfr_rc sfr_repair_run_finish(PGconn *c, long run_id, const char *status,
                                  const char *summary_json, struct sfr_err *err)
{
    char id[24];
    snprintf(id, sizeof(id), "%ld", run_id);
    const char *params[3] = {id, status, summary_json};
    return exec1(c,
                 "UPDATE sfrecon.repair_run SET status = $2, summary = $3::jsonb,"
                 " finished_at = now() WHERE id = $1::bigint",
                 3, params, "finishing the repair run", err);
}

enum sfr_rc sfr_repair_run_latest(PGconn *c, long *run_id, struct sfr_err *err)
{
    PGresult *res = pgq(c, "SELECT coalesce(max(id), 0) FROM sfrecon.repair_run", 0, NULL, err,
                        "finding the latest repair run");
    if (res == NULL)
        return SFR_EPG;
    *run_id = atol(PQgetvalue(res, 0, 0));
    PQclear(res);
    return SFR_OK;
}

/* ---- mirror changes ---- */

enum sfr_rc sfr_repair_sql_dedupe(PGconn *c, long run_id, const char *schema,
                                  const struct sfr_object *obj, const char *sfid, long *n_deleted,
                                  struct sfr_err *err)
{
    char run[24];
    snprintf(run, sizeof(run), "%ld", run_id);
    struct table_names t = table_names(schema, obj->table);
    char *sql = sfr_asprintf(
        "WITH del AS (DELETE FROM %s AS t WHERE t.sfid = $4"
        "   AND t.id < (SELECT max(k.id) FROM %s AS k WHERE k.sfid = $4)"
        "   RETURNING t.id AS rid, t.sfid, row_to_json(t)::jsonb AS old),"
        /* the kept row is named so that undo knows it was there before */
        " ch AS (SELECT rid, sfid, old, jsonb_build_object('kept_id',"
        "   (SELECT max(k.id) FROM %s AS k WHERE k.sfid = $4)) AS new FROM del)" JOURNAL_FROM_CH(
            "delete") " RETURNING 1",
        t.sql, t.sql, t.sql);
    const char *params[4] = {run, obj->name, t.shown, sfid};
    *n_deleted = 0;
    enum sfr_rc rc = begin_hex(c, err);
    if (rc == SFR_OK) {
        PGresult *res = pgq(c, sql, 4, params, err, "deleting duplicate rows");
        if (res == NULL) {
            rc = SFR_EPG;
            sfr_err_prefix(err, "%s %s", t.shown, sfid);
        } else {
            *n_deleted = PQntuples(res);
            PQclear(res);
        }
    }
    rc = finish(c, rc, err);
    sfr_free(sql);
    table_names_free(&t);
    return rc;
}

/* True when schema.table has column col (or, col NULL, when the table exists). */
static enum sfr_rc has(PGconn *c, const char *schema, const char *table, const char *col, bool *out,
                       struct sfr_err *err)
{
    const char *params[3] = {schema, table, col};
    PGresult *res = pgq(c,
                        col ? "SELECT count(*) FROM information_schema.columns WHERE"
                              " table_schema = $1 AND table_name = $2 AND column_name = $3"
                            : "SELECT count(*) FROM information_schema.tables WHERE"
                              " table_schema = $1 AND table_name = $2",
                        col ? 3 : 2, params, err, "reading the catalog");
    if (res == NULL)
        return SFR_EPG;
    *out = atol(PQgetvalue(res, 0, 0)) > 0;
    PQclear(res);
    return SFR_OK;
}

static enum sfr_rc clear_rows(PGconn *c, const char *const *params, const char *qt,
                              struct sfr_err *err)
{
    char *sql =
        sfr_asprintf("WITH old AS (SELECT t.id, row_to_json(t)::jsonb AS j FROM %s AS t"
                     "   WHERE t.sfid = ANY($4::text[]) AND (t._hc_lastop IS DISTINCT FROM 'SYNCED'"
                     "   OR t._hc_err IS NOT NULL) FOR UPDATE),"
                     " upd AS (UPDATE %s AS t SET _hc_lastop = 'SYNCED', _hc_err = NULL FROM old"
                     "   WHERE t.id = old.id RETURNING t.id AS rid, t.sfid, old.j AS old,"
                     "   row_to_json(t)::jsonb AS new),"
                     " ch AS (SELECT * FROM upd)" JOURNAL_FROM_CH("update"),
                     qt, qt);
    enum sfr_rc rc = exec1(c, sql, 4, params, "clearing _hc_lastop FAILED", err);
    sfr_free(sql);
    return rc;
}

static enum sfr_rc clear_trigger_log(PGconn *c, const char *const *params, const char *schema,
                                     const char *table, struct sfr_err *err)
{
    char *ql = qualified(schema, "_trigger_log");
    char *qt = qualified(schema, table);
    char *sql = sfr_asprintf(
        "WITH old AS (SELECT l.id, row_to_json(l)::jsonb AS j FROM %s AS l"
        "   WHERE l.state = 'FAILED' AND (l.table_name = $5 OR l.table_name = $6)"
        "   AND (l.sfid = ANY($4::text[]) OR l.record_id IN"
        "     (SELECT t.id FROM %s AS t WHERE t.sfid = ANY($4::text[]))) FOR UPDATE),"
        " upd AS (UPDATE %s AS l SET state = 'IGNORED' FROM old WHERE l.id = old.id"
        "   RETURNING l.id AS rid, l.sfid, old.j AS old, row_to_json(l)::jsonb AS new),"
        " ch AS (SELECT * FROM upd)" JOURNAL_FROM_CH("update"),
        ql, qt, ql);
    char *log_display = sfr_asprintf("%s._trigger_log", schema);
    const char *p2[6] = {params[0], params[1], log_display, params[3], table, params[2]};
    enum sfr_rc rc = exec1(c, sql, 6, p2, "setting FAILED _trigger_log entries to IGNORED", err);
    sfr_free(sql);
    sfr_free(ql);
    sfr_free(qt);
    sfr_free(log_display);
    return rc;
}

enum sfr_rc sfr_repair_sql_clear_sync_error(PGconn *c, long run_id, const char *schema,
                                            const struct sfr_object *obj, const char *const *sfids,
                                            int n, struct sfr_err *err)
{
    bool lastop = false, hcerr = false, log = false;
    enum sfr_rc rc = has(c, schema, obj->table, "_hc_lastop", &lastop, err);
    if (rc == SFR_OK)
        rc = has(c, schema, obj->table, "_hc_err", &hcerr, err);
    if (rc == SFR_OK)
        rc = has(c, schema, "_trigger_log", NULL, &log, err);
    if (rc != SFR_OK)
        return rc;
    char run[24];
    snprintf(run, sizeof(run), "%ld", run_id);
    struct table_names t = table_names(schema, obj->table);
    struct sfr_buf idb = SFR_BUF_INIT;
    sfr_pg_array_append(&idb, sfids, n);
    char *ids = sfr_buf_steal(&idb);
    const char *params[4] = {run, obj->name, t.shown, ids};
    rc = begin_hex(c, err);
    if (rc == SFR_OK && lastop && hcerr)
        rc = clear_rows(c, params, t.sql, err);
    if (rc == SFR_OK && log)
        rc = clear_trigger_log(c, params, schema, obj->table, err);
    if (rc != SFR_OK)
        sfr_err_prefix(err, "%s", t.shown);
    rc = finish(c, rc, err);
    sfr_free(ids);
    table_names_free(&t);
    return rc;
}

/* The UPDATE of sfr_repair_sql_set_sfid, inside the caller's transaction. */
static enum sfr_rc set_sfid_in_tx(PGconn *c, const char *run, const char *schema,
                                  const struct sfr_object *obj, long pg_id, const char *sfid,
                                  struct sfr_err *err)
{
    char id[24];
    snprintf(id, sizeof(id), "%ld", pg_id);
    struct table_names t = table_names(schema, obj->table);
    char *sql = sfr_asprintf(
        "WITH old AS (SELECT t.id, row_to_json(t)::jsonb AS j FROM %s AS t"
        "   WHERE t.id = $5::bigint AND t.sfid IS DISTINCT FROM $4 FOR UPDATE),"
        " upd AS (UPDATE %s AS t SET sfid = $4 FROM old WHERE t.id = old.id"
        "   RETURNING t.id AS rid, t.sfid, old.j AS old, row_to_json(t)::jsonb AS new),"
        " ch AS (SELECT * FROM upd)" JOURNAL_FROM_CH("update"),
        t.sql, t.sql);
    const char *params[5] = {run, obj->name, t.shown, sfid, id};
    enum sfr_rc rc = exec1(c, sql, 5, params, "putting the new sfid on the row", err);
    if (rc != SFR_OK)
        sfr_err_prefix(err, "%s id %ld", t.shown, pg_id);
    sfr_free(sql);
    table_names_free(&t);
    return rc;
}

enum sfr_rc sfr_repair_sql_set_sfid(PGconn *c, long run_id, const char *schema,
                                    const struct sfr_object *obj, long pg_id, const char *sfid,
                                    struct sfr_err *err)
{
    char run[24];
    snprintf(run, sizeof(run), "%ld", run_id);
    enum sfr_rc rc = begin_hex(c, err);
    if (rc == SFR_OK)
        rc = set_sfid_in_tx(c, run, schema, obj, pg_id, sfid, err);
    return finish(c, rc, err);
}

/* ---- Salesforce journal ---- */

enum sfr_rc sfr_repair_sql_journal_sf(PGconn *c, long run_id, const struct sfr_sf_journal *j, int n,
                                      long *seqs, struct sfr_err *err)
{
    char run[24];
    snprintf(run, sizeof(run), "%ld", run_id);
    enum sfr_rc rc = sfr_pg_exec(c, "BEGIN", err);
    for (int i = 0; i < n && rc == SFR_OK; i++) {
        char pgid[24];
        snprintf(pgid, sizeof(pgid), "%ld", j[i].pg_id);
        const char *params[8] = {run,
                                 j[i].object,
                                 j[i].sfid[0] ? j[i].sfid : NULL,
                                 j[i].op,
                                 j[i].old_json,
                                 j[i].new_json,
                                 pgid,
                                 j[i].row_sfid && j[i].row_sfid[0] ? j[i].row_sfid : NULL};
        PGresult *res = pgq(c,
                            "INSERT INTO sfrecon.repair_journal (repair_run_id, seq, object,"
                            " table_name, sfid, side, op, old_row, new_row)"
                            " SELECT $1::bigint, coalesce(max(seq), 0) + 1, $2, $2, $3, 'sf', $4,"
                            " $5::jsonb, jsonb_build_object('values', $6::jsonb,"
                            "  'pg_id', $7::bigint) || CASE WHEN $4 = 'insert'"
                            "  THEN jsonb_build_object('outcome', 'sent', 'row_sfid', $8::text)"
                            "  ELSE '{}' END"
                            " FROM sfrecon.repair_journal WHERE repair_run_id = $1::bigint"
                            " RETURNING seq",
                            8, params, err, "journaling a Salesforce change");
        if (res == NULL) {
            rc = SFR_EPG;
            break;
        }
        seqs[i] = atol(PQgetvalue(res, 0, 0));
        PQclear(res);
    }
    return finish(c, rc, err);
}

enum sfr_rc sfr_repair_sql_journal_sf_id(PGconn *c, long run_id, long seq, const char *sfid,
                                         struct sfr_err *err)
{
    char run[24], s[24];
    snprintf(run, sizeof(run), "%ld", run_id);
    snprintf(s, sizeof(s), "%ld", seq);
    const char *params[3] = {run, s, sfid};
    return exec1(c,
                 "UPDATE sfrecon.repair_journal SET sfid = $3 WHERE repair_run_id ="
                 " $1::bigint AND seq = $2::bigint AND side = 'sf'",
                 3, params, "recording the Id of a created record", err);
}

static enum sfr_rc commit_creates_once(PGconn *c, const char *run, const char *schema,
                                       const struct sfr_object *obj,
                                       const struct sfr_create_outcome *o, int n,
                                       struct sfr_err *err)
{
    enum sfr_rc rc = begin_hex(c, err);
    for (int i = 0; i < n && rc == SFR_OK; i++) {
        char seq[24], res_id[24];
        snprintf(seq, sizeof(seq), "%ld", o[i].seq);
        snprintf(res_id, sizeof(res_id), "%ld", o[i].resolves);
        const char *p1[4] = {run, seq, o[i].sfid, o[i].outcome};
        rc = exec1(c,
                   "UPDATE sfrecon.repair_journal SET sfid = coalesce($3, sfid),"
                   " new_row = coalesce(new_row, '{}') || jsonb_build_object('outcome', $4::text)"
                   " WHERE repair_run_id = $1::bigint AND seq = $2::bigint AND side = 'sf'",
                   4, p1, "recording the outcome of a create", err);
        if (rc == SFR_OK && o[i].sfid != NULL && o[i].pg_id > 0)
            rc = set_sfid_in_tx(c, run, schema, obj, o[i].pg_id, o[i].sfid, err);
        if (rc == SFR_OK && o[i].resolves > 0 && o[i].sfid != NULL) {
            const char *p2[3] = {res_id, run, o[i].sfid};
            rc = exec1(c,
                       "UPDATE sfrecon.repair_journal SET sfid = $3, new_row ="
                       " coalesce(new_row, '{}') || jsonb_build_object('outcome',"
                       " 'resolved', 'resolved_by_run', $2::bigint)"
                       " WHERE id = $1::bigint AND side = 'sf'",
                       3, p2, "settling an earlier create of unknown outcome", err);
        }
    }
    return finish(c, rc, err);
}

enum sfr_rc sfr_repair_sql_commit_creates(PGconn *c, long run_id, const char *schema,
                                          const struct sfr_object *obj,
                                          const struct sfr_create_outcome *o, int n,
                                          struct sfr_err *err)
{
    char run[24];
    snprintf(run, sizeof(run), "%ld", run_id);
    enum sfr_rc rc = SFR_OK;
    for (int attempt = 1; attempt <= 5; attempt++) {
        rc = commit_creates_once(c, run, schema, obj, o, n, err);
        if (rc == SFR_OK)
            return SFR_OK;
        sfr_log_warn("storing the Ids of %d %s create%s failed (attempt %d of 5): %s", n, obj->name,
                     n == 1 ? "" : "s", attempt, err ? err->msg : "");
        if (attempt == 5)
            break;
        if (PQstatus(c) != CONNECTION_OK)
            PQreset(c);
        struct timespec ts = {0, 100000000L << (attempt - 1)};
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec = ts.tv_nsec / 1000000000L;
            ts.tv_nsec %= 1000000000L;
        }
        nanosleep(&ts, NULL);
    }
    return rc;
}

enum sfr_rc sfr_repair_sql_unknown_creates(PGconn *c, struct sfr_unknown_create **out, size_t *n,
                                           struct sfr_err *err)
{
    *out = NULL;
    *n = 0;
    PGresult *res =
        pgq(c,
            "SELECT id, repair_run_id, coalesce((new_row ->> 'pg_id')::bigint, 0), object,"
            " (extract(epoch FROM applied_at) * 1000)::bigint, new_row ->> 'row_sfid'"
            " FROM sfrecon.repair_journal"
            " WHERE side = 'sf' AND op = 'insert' AND sfid IS NULL AND undone_at IS NULL"
            " AND coalesce(new_row ->> 'outcome', 'sent') IN ('sent', 'unknown') ORDER BY id",
            0, NULL, err, "reading creates of unknown outcome");
    if (res == NULL)
        return SFR_EPG;
    *n = (size_t)PQntuples(res);
    *out = sfr_calloc(*n + 1, sizeof(**out));
    for (size_t i = 0; i < *n; i++) {
        struct sfr_unknown_create *u = &(*out)[i];
        u->journal_id = atol(PQgetvalue(res, (int)i, 0));
        u->run_id = atol(PQgetvalue(res, (int)i, 1));
        u->pg_id = atol(PQgetvalue(res, (int)i, 2));
        u->object = sfr_strdup(PQgetvalue(res, (int)i, 3));
        u->sent_ms = atoll(PQgetvalue(res, (int)i, 4));
        u->row_sfid = PQgetisnull(res, (int)i, 5) ? NULL : sfr_strdup(PQgetvalue(res, (int)i, 5));
    }
    PQclear(res);
    return SFR_OK;
}

void sfr_unknown_creates_free(struct sfr_unknown_create *v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++) {
        sfr_free(v[i].object);
        sfr_free(v[i].row_sfid);
    }
    sfr_free(v);
}

enum sfr_rc sfr_repair_sql_row_sfid(PGconn *c, const char *schema, const char *table, long pg_id,
                                    char **sfid, bool *exists, struct sfr_err *err)
{
    char id[24];
    snprintf(id, sizeof(id), "%ld", pg_id);
    char *qt = qualified(schema, table);
    char *sql = sfr_asprintf("SELECT sfid FROM %s WHERE id = $1::bigint", qt);
    const char *params[1] = {id};
    PGresult *res = pgq(c, sql, 1, params, err, "reading a row's sfid");
    sfr_free(sql);
    sfr_free(qt);
    *sfid = NULL;
    *exists = false;
    if (res == NULL)
        return SFR_EPG;
    if (PQntuples(res) > 0) {
        *exists = true;
        if (!PQgetisnull(res, 0, 0) && PQgetvalue(res, 0, 0)[0] != '\0')
            *sfid = sfr_strdup(PQgetvalue(res, 0, 0));
    }
    PQclear(res);
    return SFR_OK;
}

enum sfr_rc sfr_repair_sql_settle_unknown(PGconn *c, long journal_id, const char *why,
                                          struct sfr_err *err)
{
    char id[24];
    snprintf(id, sizeof(id), "%ld", journal_id);
    const char *params[2] = {id, why};
    return exec1(c,
                 "UPDATE sfrecon.repair_journal SET new_row = coalesce(new_row,"
                 " '{}') || jsonb_build_object('outcome', 'settled', 'settled',"
                 " $2::text) WHERE id = $1::bigint AND side = 'sf'",
                 2, params, "settling a create of unknown outcome", err);
}

/* ---- undo ---- */

static void print_sf_entry(FILE *out, PGresult *res, int i, bool json, bool first)
{
    const char *object = PQgetvalue(res, i, 0);
    const char *sfid = PQgetisnull(res, i, 1) ? NULL : PQgetvalue(res, i, 1);
    const char *op = PQgetvalue(res, i, 2);
    const char *old = PQgetisnull(res, i, 3) ? "{}" : PQgetvalue(res, i, 3);
    const char *newv = PQgetisnull(res, i, 4) ? "{}" : PQgetvalue(res, i, 4);
    const char *pg_id = PQgetvalue(res, i, 5);
    if (json) {
        /* old/new are jsonb text already; object/op are plain names */
        fprintf(out, "%s{\"object\":\"%s\",\"sfid\":%s%s%s,\"op\":\"%s\",\"old\":%s,\"new\":%s}",
                first ? "" : ",", object, sfid ? "\"" : "", sfid ? sfid : "null", sfid ? "\"" : "",
                op, old, newv);
        return;
    }
    if (strcmp(op, "insert") == 0 && sfid != NULL)
        fprintf(out, "  %s %s: created by the repair; delete it by hand if unwanted\n", object,
                sfid);
    else if (strcmp(op, "insert") == 0)
        fprintf(out,
                "  %s (mirror row id %s): a create was sent but its Id was not recorded;"
                " look for it in Salesforce\n",
                object, pg_id);
    else
        fprintf(out, "  %s %s: set back to %s (the repair wrote %s)\n", object, sfid ? sfid : "?",
                old, newv);
}

/* ---- undo: exact and drift-aware ---- */

/* Columns that follow the data: Connect's status marks. They are put back
 * with the row, and never on their own count as a change of the data. */
static bool status_col(const char *k)
{
    return strcmp(k, "_hc_lastop") == 0 || strcmp(k, "_hc_err") == 0;
}

struct colinfo {
    char *name;
    bool changed;      /* the repair changed it (old != new) */
    bool drifted;      /* the current value is not what the repair wrote */
    char *wrote, *now; /* jsonb text, NULL = absent */
};

struct undo {
    PGconn *c;
    bool json, dry_run;
    struct sfr_buf drift;    /* listing (text or JSON array items) */
    struct sfr_buf restored; /* JSON array items / text lines for dry runs */
    long n_restored, n_drift;
    struct sfr_strv held;       /* "table\tid" of rows kept for drift */
    struct sfr_strv reinserted; /* "table\tid" of rows this undo put back */
};

static void cols_free(struct colinfo *v, int n)
{
    for (int i = 0; i < n; i++) {
        sfr_free(v[i].name);
        sfr_free(v[i].wrote);
        sfr_free(v[i].now);
    }
    sfr_free(v);
}

/* Per column of new_row (or old_row for a delete): changed / drifted against cur. */
static enum sfr_rc diff_cols(PGconn *c, const char *old_row, const char *new_row,
                             const char *cur_row, struct colinfo **out, int *n, struct sfr_err *err)
{
    const char *params[3] = {old_row, new_row, cur_row};
    PGresult *res =
        pgq(c,
            "SELECT k, o.value IS DISTINCT FROM n.value, c.value IS DISTINCT FROM n.value,"
            " n.value::text, c.value::text"
            " FROM (SELECT jsonb_object_keys(coalesce($2::jsonb, $1::jsonb)) AS k) AS keys"
            " LEFT JOIN jsonb_each($1::jsonb) AS o ON o.key = keys.k"
            " LEFT JOIN jsonb_each($2::jsonb) AS n ON n.key = keys.k"
            " LEFT JOIN jsonb_each($3::jsonb) AS c ON c.key = keys.k ORDER BY k",
            3, params, err, "comparing a journaled row with the mirror");
    if (res == NULL)
        return SFR_EPG;
    *n = PQntuples(res);
    *out = sfr_calloc((size_t)*n + 1, sizeof(**out));
    for (int i = 0; i < *n; i++) {
        struct colinfo *ci = &(*out)[i];
        ci->name = sfr_strdup(PQgetvalue(res, i, 0));
        ci->changed = strcmp(PQgetvalue(res, i, 1), "t") == 0;
        ci->drifted = strcmp(PQgetvalue(res, i, 2), "t") == 0;
        ci->wrote = PQgetisnull(res, i, 3) ? NULL : sfr_strdup(PQgetvalue(res, i, 3));
        ci->now = PQgetisnull(res, i, 4) ? NULL : sfr_strdup(PQgetvalue(res, i, 4));
    }
    PQclear(res);
    return SFR_OK;
}

/* The current row of qt with id (jsonb text, NULL when absent; caller frees). */
static enum sfr_rc current_row(PGconn *c, const char *qt, const char *where, const char *arg,
                               char **out, struct sfr_err *err)
{
    char *sql = sfr_asprintf("SELECT row_to_json(t)::jsonb::text FROM %s AS t WHERE %s"
                             " ORDER BY t.id LIMIT 1 FOR UPDATE",
                             qt, where);
    const char *params[1] = {arg};
    PGresult *res = pgq(c, sql, 1, params, err, "reading the current row");
    sfr_free(sql);
    if (res == NULL)
        return SFR_EPG;
    *out = PQntuples(res) > 0 ? sfr_strdup(PQgetvalue(res, 0, 0)) : NULL;
    PQclear(res);
    return SFR_OK;
}

static void json_or_null(struct sfr_buf *b, const char *jsonb_text)
{
    sfr_buf_puts(b, jsonb_text ? jsonb_text : "null");
}

/* The start of a listed row: `{"table":...,"id":...,"sfid":...` (JSON, after
 * a comma unless first) or `  table id N sfid X` (text). */
static void entry_head(const struct undo *u, struct sfr_buf *b, const char *table,
                       const char *row_id, const char *sfid)
{
    if (!u->json) {
        sfr_buf_printf(b, "  %s id %s%s%s", table, row_id, sfid && sfid[0] ? " sfid " : "",
                       sfid ? sfid : "");
        return;
    }
    if (b->len > 0)
        sfr_buf_putc(b, ',');
    sfr_buf_puts(b, "{\"table\":");
    sfr_buf_json_str(b, table);
    sfr_buf_printf(b, ",\"id\":%s,\"sfid\":", row_id[0] ? row_id : "null");
    sfr_buf_json_str(b, sfid);
}

/* Lists a row kept because it changed since the repair. */
static void add_drift(struct undo *u, const char *table, const char *row_id, const char *sfid,
                      const char *op, const char *why, const struct colinfo *cols, int n)
{
    u->n_drift++;
    struct sfr_buf *b = &u->drift;
    entry_head(u, b, table, row_id, sfid);
    if (u->json) {
        sfr_buf_puts(b, ",\"op\":");
        sfr_buf_json_str(b, op);
        sfr_buf_puts(b, ",\"why\":");
        sfr_buf_json_str(b, why);
        sfr_buf_puts(b, ",\"columns\":[");
        int k = 0;
        for (int i = 0; i < n; i++) {
            if (!cols[i].drifted)
                continue;
            sfr_buf_puts(b, k++ ? ",{\"name\":" : "{\"name\":");
            sfr_buf_json_str(b, cols[i].name);
            sfr_buf_puts(b, ",\"repair_wrote\":");
            json_or_null(b, cols[i].wrote);
            sfr_buf_puts(b, ",\"now\":");
            json_or_null(b, cols[i].now);
            sfr_buf_putc(b, '}');
        }
        sfr_buf_puts(b, "]}");
        return;
    }
    sfr_buf_printf(b, " (%s by the repair): kept, %s\n", op, why);
    for (int i = 0; i < n; i++)
        if (cols[i].drifted)
            sfr_buf_printf(b, "    %s: repair wrote %s, now %s\n", cols[i].name,
                           cols[i].wrote ? cols[i].wrote : "(absent)",
                           cols[i].now ? cols[i].now : "(absent)");
}

static void add_restored(struct undo *u, const char *table, const char *row_id, const char *sfid,
                         const char *what)
{
    u->n_restored++;
    struct sfr_buf *b = &u->restored;
    /* already as before the repair: counted, not listed; in text only a dry run lists */
    if (what == NULL || (!u->json && !u->dry_run))
        return;
    entry_head(u, b, table, row_id, sfid);
    if (u->json) {
        sfr_buf_puts(b, ",\"restore\":");
        sfr_buf_json_str(b, what);
        sfr_buf_putc(b, '}');
    } else {
        sfr_buf_printf(b, ": %s\n", what);
    }
}

static bool held(const struct undo *u, const char *key)
{
    for (size_t i = 0; i < u->held.n; i++)
        if (strcmp(u->held.v[i], key) == 0)
            return true;
    return false;
}

/* Comma-separated quoted names of the columns selected by pick. */
static char *col_list(const struct colinfo *cols, int n, bool status, bool data)
{
    struct sfr_buf b = SFR_BUF_INIT;
    for (int i = 0; i < n; i++) {
        if (!cols[i].changed || strcmp(cols[i].name, "id") == 0)
            continue;
        bool st = status_col(cols[i].name);
        if ((st && !status) || (!st && !data))
            continue;
        if (b.len > 0)
            sfr_buf_puts(&b, ", ");
        sfr_pg_ident_append(&b, cols[i].name);
    }
    return sfr_buf_steal(&b);
}

/* Puts _hc_lastop/_hc_err to what `want` (jsonb) holds where they differ:
 * Connect's status trigger stamps SYNCED on a sync-process write unless the
 * write itself sets another non-null status, so they go in a second statement. */
static enum sfr_rc fix_status(PGconn *c, const char *qt, const char *row_id, const char *want,
                              struct sfr_err *err)
{
    char *sql = sfr_asprintf(
        "UPDATE %s SET _hc_lastop = $2::jsonb ->> '_hc_lastop', _hc_err = $2::jsonb ->> '_hc_err'"
        " WHERE id = $1::bigint AND (_hc_lastop IS DISTINCT FROM $2::jsonb ->> '_hc_lastop'"
        "  OR _hc_err IS DISTINCT FROM $2::jsonb ->> '_hc_err')",
        qt);
    const char *params[2] = {row_id, want};
    enum sfr_rc rc = exec1(c, sql, 2, params, "restoring _hc_lastop / _hc_err", err);
    sfr_free(sql);
    return rc;
}

static bool any_drift(const struct colinfo *cols, int n, bool changed_only, bool *status_only)
{
    bool data = false, st = false;
    for (int i = 0; i < n; i++) {
        if (strcmp(cols[i].name, "id") == 0 || (changed_only && !cols[i].changed))
            continue;
        if (status_col(cols[i].name))
            st = st || cols[i].drifted;
        else
            data = data || cols[i].drifted;
    }
    if (status_only != NULL)
        *status_only = !data && st;
    return data;
}

static bool has_col(const struct colinfo *cols, int n, const char *name, bool changed)
{
    for (int i = 0; i < n; i++)
        if (strcmp(cols[i].name, name) == 0 && (!changed || cols[i].changed))
            return true;
    return false;
}

/* A status column the repair changed and that still holds what it wrote. */
static bool restore_status(const struct colinfo *cols, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(cols[i].name, name) == 0)
            return cols[i].changed && !cols[i].drifted;
    return false;
}

static bool data_changed(const struct colinfo *cols, int n)
{
    for (int i = 0; i < n; i++)
        if (cols[i].changed && strcmp(cols[i].name, "id") != 0 && !status_col(cols[i].name))
            return true;
    return false;
}

/* The row a de-duplication kept (its delete entries name it), 0 when none. */
static long kept_id(PGconn *c, const char *new_row)
{
    if (new_row == NULL)
        return 0;
    const char *params[1] = {new_row};
    PGresult *res = pgq(c, "SELECT coalesce(($1::jsonb ->> 'kept_id')::bigint, 0)", 1, params, NULL,
                        "reading a journal entry");
    long v = res != NULL && PQntuples(res) == 1 ? atol(PQgetvalue(res, 0, 0)) : 0;
    PQclear(res);
    return v;
}

/* Undoes one journal entry of side 'pg' (newest first), or lists it as drift. */
static enum sfr_rc undo_entry(struct undo *u, const char *jid, const char *op, const char *table,
                              const char *old_row, const char *new_row, const char *sfid_in,
                              struct sfr_err *err)
{
    const char *dot = strrchr(table, '.');
    if (dot == NULL)
        return sfr_err_set(err, SFR_EINTERNAL, "journal entry %s: table '%s' has no schema", jid,
                           table);
    char *schema = sfr_strndup(table, (size_t)(dot - table));
    char *qt = qualified(schema, dot + 1);
    sfr_free(schema);
    const char *row = strcmp(op, "insert") == 0 ? new_row : old_row;
    char *row_id = NULL, *sfid = sfr_strdup(sfid_in ? sfid_in : ""), *cur = NULL, *key = NULL;
    struct colinfo *cols = NULL;
    int n = 0;
    enum sfr_rc rc = SFR_OK;
    {
        const char *params[1] = {row};
        PGresult *res =
            pgq(u->c, "SELECT $1::jsonb ->> 'id'", 1, params, err, "reading a journal entry");
        if (res == NULL) {
            rc = SFR_EPG;
            goto out;
        }
        row_id = sfr_strdup(PQgetisnull(res, 0, 0) ? "" : PQgetvalue(res, 0, 0));
        PQclear(res);
    }
    key = sfr_asprintf("%s\t%s", table, row_id);
    if (held(u, key)) {
        add_drift(u, table, row_id, sfid, op,
                  "a later change of this row by the same run was "
                  "kept",
                  NULL, 0);
        goto out;
    }
    rc = current_row(u->c, qt, "t.id = $1::bigint", row_id, &cur, err);
    if (rc != SFR_OK)
        goto out;
    const char *ip[1] = {jid};
    if (strcmp(op, "delete") == 0) {
        /* re-insert the deleted row unless its id or its sfid is in use again
         * (by a row other than the one a de-duplication kept) */
        char *other = NULL;
        if (cur == NULL && sfid[0] != '\0') {
            struct sfr_buf w = SFR_BUF_INIT;
            sfr_buf_printf(&w, "t.sfid = $1 AND t.id NOT IN (%ld", kept_id(u->c, new_row));
            size_t tl = strlen(table);
            for (size_t i = 0; i < u->reinserted.n; i++)
                if (strncmp(u->reinserted.v[i], table, tl) == 0 && u->reinserted.v[i][tl] == '\t')
                    sfr_buf_printf(&w, ", %ld", atol(u->reinserted.v[i] + tl + 1));
            sfr_buf_putc(&w, ')');
            char *where = sfr_buf_steal(&w);
            rc = current_row(u->c, qt, where, sfid, &other, err);
            sfr_free(where);
        }
        if (rc != SFR_OK)
            goto out;
        if (cur != NULL || other != NULL) {
            add_drift(u, table, row_id, sfid, op,
                      cur != NULL ? "a row with this id exists again"
                                  : "a row for this sfid exists again (pulled or re-inserted)",
                      cols, 0);
            sfr_free(other);
            sfr_strv_push(&u->held, key);
            goto out;
        }
        char *sql = sfr_asprintf(
            "INSERT INTO %s SELECT * FROM jsonb_populate_record(NULL::%s, $1::jsonb)", qt, qt);
        const char *p1[1] = {old_row};
        rc = exec1(u->c, sql, 1, p1, "re-inserting a deleted row", err);
        sfr_free(sql);
        if (rc == SFR_OK && strstr(old_row, "\"_hc_lastop\"") != NULL)
            rc = fix_status(u->c, qt, row_id, old_row, err);
        if (rc == SFR_OK) {
            add_restored(u, table, row_id, sfid, "re-insert the deleted row");
            sfr_strv_push(&u->reinserted, key);
        }
        goto mark;
    }
    if (cur == NULL) {
        if (strcmp(op, "insert") == 0) {
            add_restored(u, table, row_id, sfid, NULL); /* already gone */
            goto mark;
        }
        add_drift(u, table, row_id, sfid, op, "the row was deleted since", NULL, 0);
        sfr_strv_push(&u->held, key);
        goto out;
    }
    rc = diff_cols(u->c, old_row, new_row, cur, &cols, &n, err);
    if (rc != SFR_OK)
        goto out;
    if (strcmp(op, "insert") == 0) {
        /* delete the inserted row only while it still holds what was inserted */
        if (any_drift(cols, n, false, NULL)) {
            add_drift(u, table, row_id, sfid, op, "changed since the repair inserted it", cols, n);
            sfr_strv_push(&u->held, key);
            goto out;
        }
        char *sql = sfr_asprintf("DELETE FROM %s WHERE id = $1::bigint", qt);
        const char *p1[1] = {row_id};
        rc = exec1(u->c, sql, 1, p1, "deleting a row the repair inserted", err);
        sfr_free(sql);
        if (rc == SFR_OK)
            add_restored(u, table, row_id, sfid, "delete the inserted row");
        goto mark;
    }
    /* update: only the columns the repair changed, only where they still hold what it wrote */
    bool status_only_drift = false;
    bool drift = any_drift(cols, n, true, &status_only_drift);
    bool data = data_changed(cols, n);
    if (drift || (!data && status_only_drift)) {
        add_drift(u, table, row_id, sfid, op, "changed since the repair", cols, n);
        sfr_strv_push(&u->held, key);
        goto out;
    }
    char *dcols = col_list(cols, n, false, true);
    if (dcols[0] != '\0') {
        bool one = strchr(dcols, ',') == NULL;
        char *sql = sfr_asprintf("UPDATE %s AS t SET %s%s%s = (SELECT %s FROM"
                                 " jsonb_populate_record(NULL::%s, $1::jsonb))"
                                 " WHERE t.id = $2::bigint",
                                 qt, one ? "" : "(", dcols, one ? "" : ")", dcols, qt);
        const char *p2[2] = {old_row, row_id};
        rc = exec1(u->c, sql, 2, p2, "restoring the columns the repair changed", err);
        sfr_free(sql);
    }
    sfr_free(dcols);
    if (rc == SFR_OK && has_col(cols, n, "_hc_lastop", false)) {
        /* each status column goes back to its old value where the repair set
         * it and it still holds that; otherwise (an app write queued since,
         * or a column the repair left alone) it keeps the current value,
         * which the UPDATE above may have stamped SYNCED */
        const char *p3[4] = {old_row, cur, restore_status(cols, n, "_hc_lastop") ? "t" : "f",
                             restore_status(cols, n, "_hc_err") ? "t" : "f"};
        PGresult *res =
            pgq(u->c,
                "SELECT jsonb_build_object('_hc_lastop', CASE WHEN $3::bool THEN $1::jsonb ->"
                " '_hc_lastop' ELSE $2::jsonb -> '_hc_lastop' END, '_hc_err', CASE WHEN $4::bool"
                " THEN $1::jsonb -> '_hc_err' ELSE $2::jsonb -> '_hc_err' END)::text",
                4, p3, err, "choosing the status to restore");
        if (res == NULL) {
            rc = SFR_EPG;
            goto out;
        }
        char *want = sfr_strdup(PQgetvalue(res, 0, 0));
        PQclear(res);
        rc = fix_status(u->c, qt, row_id, want, err);
        sfr_free(want);
    }
    if (rc == SFR_OK)
        add_restored(u, table, row_id, sfid, "restore the columns the repair changed");
mark:
    if (rc == SFR_OK)
        rc =
            exec1(u->c, "UPDATE sfrecon.repair_journal SET undone_at = now() WHERE id = $1::bigint",
                  1, ip, "marking a journal entry undone", err);
out:
    if (rc != SFR_OK)
        sfr_err_prefix(err, "undoing journal entry %s (%s of %s)", jid, op, table);
    cols_free(cols, n);
    sfr_free(cur);
    sfr_free(key);
    sfr_free(row_id);
    sfr_free(sfid);
    sfr_free(qt);
    return rc;
}

static enum sfr_rc undo_pg(struct undo *u, const char *run, struct sfr_err *err)
{
    const char *params[1] = {run};
    PGresult *res =
        pgq(u->c,
            "SELECT id::text, op, table_name, old_row::text, new_row::text, sfid"
            " FROM sfrecon.repair_journal WHERE repair_run_id = $1::bigint AND side = 'pg'"
            " AND undone_at IS NULL ORDER BY seq DESC, id DESC FOR UPDATE",
            1, params, err, "reading the repair journal");
    if (res == NULL)
        return SFR_EPG;
    enum sfr_rc rc = SFR_OK;
    for (int i = 0; i < PQntuples(res) && rc == SFR_OK; i++)
        rc = undo_entry(u, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
                        PQgetisnull(res, i, 3) ? NULL : PQgetvalue(res, i, 3),
                        PQgetisnull(res, i, 4) ? NULL : PQgetvalue(res, i, 4),
                        PQgetisnull(res, i, 5) ? NULL : PQgetvalue(res, i, 5), err);
    PQclear(res);
    return rc;
}

enum sfr_rc sfr_repair_undo(PGconn *c, long run_id, const struct sfr_undo_opts *o, FILE *out,
                            struct sfr_undo_result *r, struct sfr_err *err)
{
    memset(r, 0, sizeof(*r));
    enum sfr_rc rc = SFR_OK;
    if (run_id <= 0) {
        rc = sfr_repair_run_latest(c, &run_id, err);
        if (rc != SFR_OK)
            return rc;
        if (run_id <= 0)
            return sfr_err_set(err, SFR_ENOTFOUND, "no repair run to undo");
    }
    r->run_id = run_id;
    char run[24];
    snprintf(run, sizeof(run), "%ld", run_id);
    const char *params[1] = {run};
    PGresult *res = pgq(c, "SELECT status FROM sfrecon.repair_run WHERE id = $1::bigint", 1, params,
                        err, "reading the repair run");
    if (res == NULL)
        return SFR_EPG;
    bool found = PQntuples(res) > 0;
    PQclear(res);
    if (!found)
        return sfr_err_set(err, SFR_ENOTFOUND, "repair run %ld does not exist", run_id);
    rc = repair_lock(c, true, "a sfrecon repair is running on this database",
                     "undo when it has finished", err);
    if (rc != SFR_OK)
        return rc;
    struct undo u = {c, o->json, o->dry_run, SFR_BUF_INIT, SFR_BUF_INIT, 0, 0, {0}, {0}};
    /* one transaction: every restore or none; a dry run rolls it back */
    rc = begin_hex(c, err);
    if (rc == SFR_OK)
        rc = undo_pg(&u, run, err);
    if (rc == SFR_OK && o->dry_run) {
        sfr_pg_rollback(c);
    } else {
        rc = finish(c, rc, err);
    }
    struct sfr_err e2 = {0};
    if (repair_lock(c, false, NULL, NULL, &e2) != SFR_OK && rc == SFR_OK)
        sfr_log_warn("%s", e2.msg);
    if (rc != SFR_OK) {
        sfr_buf_cleanup(&u.drift);
        sfr_buf_cleanup(&u.restored);
        sfr_strv_cleanup(&u.held);
        sfr_strv_cleanup(&u.reinserted);
        return rc;
    }
    res = pgq(c,
              "SELECT object, sfid, op, old_row::text, (new_row -> 'values')::text,"
              " coalesce(new_row ->> 'pg_id', '0'), coalesce(new_row ->> 'outcome', '')"
              " FROM sfrecon.repair_journal WHERE repair_run_id = $1::bigint AND side = 'sf'"
              " ORDER BY seq DESC",
              1, params, err, "reading the Salesforce changes of the run");
    if (res == NULL) {
        rc = SFR_EPG;
        goto done;
    }
    int n = PQntuples(res);
    const char *verb = o->dry_run ? "would be restored" : "restored";
    if (o->json) {
        fprintf(out,
                "{\"repair_run\":%ld,\"dry_run\":%s,\"mirror_entries_undone\":%ld,"
                "\"drifted\":%ld,\"restored\":[%s],\"drift\":[%s],\"salesforce\":[",
                run_id, o->dry_run ? "true" : "false", u.n_restored, u.n_drift,
                u.restored.data ? u.restored.data : "", u.drift.data ? u.drift.data : "");
        for (int i = 0; i < n; i++)
            print_sf_entry(out, res, i, true, i == 0);
        fputs("]}\n", out);
    } else {
        fprintf(out, "repair run %ld: %ld mirror change%s %s%s%s\n", run_id, u.n_restored,
                u.n_restored == 1 ? "" : "s", o->dry_run ? "would be undone" : "undone",
                o->dry_run ? " (dry run, nothing "
                             "changed)"
                           : "",
                "");
        if (o->dry_run && u.restored.len > 0)
            fprintf(out, "%s", u.restored.data);
        if (u.n_drift > 0)
            fprintf(out,
                    "%ld row%s changed since the repair and %s kept as they are now (not %s):\n%s",
                    u.n_drift, u.n_drift == 1 ? "" : "s", o->dry_run ? "would be" : "were", verb,
                    u.drift.data);
        if (n > 0)
            fprintf(out,
                    "%d Salesforce change%s cannot be undone by sfrecon; to reverse by "
                    "hand:\n",
                    n, n == 1 ? "" : "s");
        for (int i = 0; i < n; i++)
            print_sf_entry(out, res, i, false, i == 0);
    }
    PQclear(res);
    r->restored = u.n_restored;
    r->drifted = u.n_drift;
    r->sf_listed = n;
done:
    sfr_buf_cleanup(&u.drift);
    sfr_buf_cleanup(&u.restored);
    sfr_strv_cleanup(&u.held);
    sfr_strv_cleanup(&u.reinserted);
    return rc;
}
