/* repair_sql.c — the SQL of `sfrecon repair` that the Postgres side does not
 * do: repair runs, duplicate rows, clearing failed-sync marks, putting a new
 * sfid on a row, journaling Salesforce changes, and the undo report.
 *
 * Every mirror change here is made the way the Postgres side makes its own
 * (src/pg/mirror.c): one transaction with SET LOCAL xmlbinary = 'hex' so
 * Connect's logger trigger does not queue it back to Salesforce, and the
 * whole old and new row journaled in sfrecon.repair_journal in the same
 * transaction (side 'pg', table_name "schema.table", old_row/new_row as
 * row_to_json), so sfr_pg_undo restores it like any other entry. Salesforce
 * changes are journaled with side 'sf' and the old values of the fields
 * written; undo lists them, it cannot make them. Every statement is a
 * no-op when there is nothing left to change (idempotent re-runs). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfrecon/pg.h"
#include "sfrecon/repair.h"

/* Journal insert fed by a CTE named `ch` with columns sfid, old, new. */
#define JOURNAL_FROM_CH(op)                                                                        \
    " INSERT INTO sfrecon.repair_journal (repair_run_id, seq, object, table_name, sfid, side,"     \
    " op, old_row, new_row)"                                                                       \
    " SELECT $1::bigint, (SELECT coalesce(max(seq), 0) FROM sfrecon.repair_journal"                \
    "   WHERE repair_run_id = $1::bigint) + row_number() OVER (ORDER BY ch.rid),"                  \
    " $2, $3, ch.sfid, 'pg', '" op "', ch.old, ch.new FROM ch"

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

/* ---- runs ---- */

/* One repair at a time per database: a session advisory lock, released when
 * the connection ends (also when the process is killed). Holding it proves
 * that runs still marked 'running' were interrupted. */
static enum sfr_rc lock_runs(PGconn *c, struct sfr_err *err)
{
    PGresult *res;
    if (sfr_pg_query(c, "SELECT pg_try_advisory_lock(hashtext('sfrecon.repair'))", 0, NULL, &res,
                     err, "taking the repair lock") != SFR_OK)
        return SFR_EPG;
    bool got = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (!got) {
        sfr_err_set(err, SFR_EPG, "another sfrecon repair is running on this database");
        sfr_err_hint(err, "wait for it to finish; runs are serialised by an advisory lock");
        return SFR_EPG;
    }
    return sfr_pg_query(c,
                        "UPDATE sfrecon.repair_run SET status = 'interrupted', finished_at = now()"
                        " WHERE status = 'running'",
                        0, NULL, NULL, err, "marking interrupted repair runs");
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
    PGresult *res;
    rc = sfr_pg_query(c,
                      "INSERT INTO sfrecon.repair_run (audit_run_id, status, plan)"
                      " VALUES ($1::bigint, 'running', $2::jsonb) RETURNING id",
                      2, params, &res, err, "starting a repair run");
    if (rc != SFR_OK)
        return rc;
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
    return sfr_pg_query(c,
                        "UPDATE sfrecon.repair_run SET status = $2, summary = $3::jsonb,"
                        " finished_at = now() WHERE id = $1::bigint",
                        3, params, NULL, err, "finishing the repair run");
}

enum sfr_rc sfr_repair_run_latest(PGconn *c, long *run_id, struct sfr_err *err)
{
    PGresult *res;
    enum sfr_rc rc = sfr_pg_query(c, "SELECT coalesce(max(id), 0) FROM sfrecon.repair_run", 0, NULL,
                                  &res, err, "finding the latest repair run");
    if (rc != SFR_OK)
        return rc;
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
    char *qt = qualified(schema, obj->table);
    char *display = sfr_asprintf("%s.%s", schema, obj->table);
    char *sql =
        sfr_asprintf("WITH del AS (DELETE FROM %s AS t WHERE t.sfid = $4"
                     "   AND t.id < (SELECT max(k.id) FROM %s AS k WHERE k.sfid = $4)"
                     "   RETURNING t.id AS rid, t.sfid, row_to_json(t)::jsonb AS old),"
                     " ch AS (SELECT rid, sfid, old, NULL::jsonb AS new FROM del)" JOURNAL_FROM_CH(
                         "delete") " RETURNING 1",
                     qt, qt);
    const char *params[4] = {run, obj->name, display, sfid};
    *n_deleted = 0;
    enum sfr_rc rc = begin_hex(c, err);
    if (rc == SFR_OK) {
        PGresult *res;
        rc = sfr_pg_query(c, sql, 4, params, &res, err, "deleting duplicate rows");
        if (rc != SFR_OK) {
            sfr_err_prefix(err, "%s %s", display, sfid);
        } else {
            *n_deleted = PQntuples(res);
            PQclear(res);
        }
    }
    rc = finish(c, rc, err);
    sfr_free(sql);
    sfr_free(display);
    sfr_free(qt);
    return rc;
}

/* True when schema.table has column col (or, col NULL, when the table exists). */
static enum sfr_rc has(PGconn *c, const char *schema, const char *table, const char *col, bool *out,
                       struct sfr_err *err)
{
    const char *params[3] = {schema, table, col};
    PGresult *res;
    enum sfr_rc rc =
        sfr_pg_query(c,
                     col ? "SELECT count(*) FROM information_schema.columns WHERE"
                           " table_schema = $1 AND table_name = $2 AND column_name = $3"
                         : "SELECT count(*) FROM information_schema.tables WHERE"
                           " table_schema = $1 AND table_name = $2",
                     col ? 3 : 2, params, &res, err, "reading the catalog");
    if (rc != SFR_OK)
        return rc;
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
    enum sfr_rc rc = sfr_pg_query(c, sql, 4, params, NULL, err, "clearing _hc_lastop FAILED");
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
    enum sfr_rc rc =
        sfr_pg_query(c, sql, 6, p2, NULL, err, "setting FAILED _trigger_log entries to IGNORED");
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
    char *qt = qualified(schema, obj->table);
    char *display = sfr_asprintf("%s.%s", schema, obj->table);
    struct sfr_buf idb = SFR_BUF_INIT;
    sfr_pg_array_append(&idb, sfids, n);
    char *ids = sfr_buf_steal(&idb);
    const char *params[4] = {run, obj->name, display, ids};
    rc = begin_hex(c, err);
    if (rc == SFR_OK && lastop && hcerr)
        rc = clear_rows(c, params, qt, err);
    if (rc == SFR_OK && log)
        rc = clear_trigger_log(c, params, schema, obj->table, err);
    if (rc != SFR_OK)
        sfr_err_prefix(err, "%s", display);
    rc = finish(c, rc, err);
    sfr_free(ids);
    sfr_free(display);
    sfr_free(qt);
    return rc;
}

enum sfr_rc sfr_repair_sql_set_sfid(PGconn *c, long run_id, const char *schema,
                                    const struct sfr_object *obj, long pg_id, const char *sfid,
                                    struct sfr_err *err)
{
    char run[24], id[24];
    snprintf(run, sizeof(run), "%ld", run_id);
    snprintf(id, sizeof(id), "%ld", pg_id);
    char *qt = qualified(schema, obj->table);
    char *display = sfr_asprintf("%s.%s", schema, obj->table);
    char *sql = sfr_asprintf(
        "WITH old AS (SELECT t.id, row_to_json(t)::jsonb AS j FROM %s AS t"
        "   WHERE t.id = $5::bigint AND t.sfid IS DISTINCT FROM $4 FOR UPDATE),"
        " upd AS (UPDATE %s AS t SET sfid = $4 FROM old WHERE t.id = old.id"
        "   RETURNING t.id AS rid, t.sfid, old.j AS old, row_to_json(t)::jsonb AS new),"
        " ch AS (SELECT * FROM upd)" JOURNAL_FROM_CH("update"),
        qt, qt);
    const char *params[5] = {run, obj->name, display, sfid, id};
    enum sfr_rc rc = begin_hex(c, err);
    if (rc == SFR_OK) {
        rc = sfr_pg_query(c, sql, 5, params, NULL, err, "putting the new sfid on the row");
        if (rc != SFR_OK)
            sfr_err_prefix(err, "%s id %ld", display, pg_id);
    }
    rc = finish(c, rc, err);
    sfr_free(sql);
    sfr_free(display);
    sfr_free(qt);
    return rc;
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
        const char *params[7] = {run,     j[i].object,   j[i].sfid[0] ? j[i].sfid : NULL,
                                 j[i].op, j[i].old_json, j[i].new_json,
                                 pgid};
        PGresult *res;
        rc = sfr_pg_query(c,
                          "INSERT INTO sfrecon.repair_journal (repair_run_id, seq, object,"
                          " table_name, sfid, side, op, old_row, new_row)"
                          " SELECT $1::bigint, coalesce(max(seq), 0) + 1, $2, $2, $3, 'sf', $4,"
                          " $5::jsonb, jsonb_build_object('values', $6::jsonb,"
                          "  'pg_id', $7::bigint)"
                          " FROM sfrecon.repair_journal WHERE repair_run_id = $1::bigint"
                          " RETURNING seq",
                          7, params, &res, err, "journaling a Salesforce change");
        if (rc != SFR_OK)
            break;
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
    return sfr_pg_query(c,
                        "UPDATE sfrecon.repair_journal SET sfid = $3 WHERE repair_run_id ="
                        " $1::bigint AND seq = $2::bigint AND side = 'sf'",
                        3, params, NULL, err, "recording the Id of a created record");
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

/* _trigger_log entries set to IGNORED get their state back here, before
 * sfr_pg_undo: that function also re-stamps _hc_lastop/_hc_err, which a
 * trigger log has not (the restore is the state column, the only one the
 * repair changed). */
static enum sfr_rc undo_trigger_log(PGconn *c, const char *run, long *n, struct sfr_err *err)
{
    const char *params[1] = {run};
    enum sfr_rc rc = begin_hex(c, err);
    PGresult *res = NULL;
    if (rc == SFR_OK)
        rc = sfr_pg_query(
            c,
            "SELECT id::text, table_name, old_row ->> 'id', old_row ->> 'state'"
            " FROM sfrecon.repair_journal WHERE repair_run_id = $1::bigint AND side = 'pg'"
            " AND undone_at IS NULL AND op = 'update' AND table_name LIKE '%._trigger_log'"
            " ORDER BY seq DESC FOR UPDATE",
            1, params, &res, err, "reading the repair journal");
    for (int i = 0; rc == SFR_OK && i < PQntuples(res); i++) {
        const char *table = PQgetvalue(res, i, 1);
        const char *dot = strrchr(table, '.');
        char *schema = sfr_strndup(table, (size_t)(dot - table));
        char *ql = qualified(schema, "_trigger_log");
        char *sql = sfr_asprintf("UPDATE %s SET state = $2 WHERE id = $1::bigint", ql);
        const char *p2[2] = {PQgetvalue(res, i, 2), PQgetvalue(res, i, 3)};
        rc = sfr_pg_query(c, sql, 2, p2, NULL, err, "restoring a _trigger_log entry");
        const char *p3[1] = {PQgetvalue(res, i, 0)};
        if (rc == SFR_OK)
            rc = sfr_pg_query(c,
                              "UPDATE sfrecon.repair_journal SET undone_at = now()"
                              " WHERE id = $1::bigint",
                              1, p3, NULL, err, "marking a journal entry undone");
        *n += rc == SFR_OK;
        sfr_free(sql);
        sfr_free(ql);
        sfr_free(schema);
    }
    PQclear(res);
    return finish(c, rc, err);
}

enum sfr_rc sfr_repair_undo(PGconn *c, long run_id, bool json, FILE *out, long *n_pg_undone,
                            long *n_sf_listed, struct sfr_err *err)
{
    enum sfr_rc rc = SFR_OK;
    long undone = 0;
    if (run_id <= 0) {
        rc = sfr_repair_run_latest(c, &run_id, err);
        if (rc != SFR_OK)
            return rc;
        if (run_id <= 0)
            return sfr_err_set(err, SFR_ENOTFOUND, "no repair run to undo");
    }
    char run[24];
    snprintf(run, sizeof(run), "%ld", run_id);
    const char *params[1] = {run};
    PGresult *res;
    rc = sfr_pg_query_one(c, "SELECT status FROM sfrecon.repair_run WHERE id = $1::bigint", 1,
                          params, &res, err, "reading the repair run");
    if (rc == SFR_ENOTFOUND)
        return sfr_err_set(err, SFR_ENOTFOUND, "repair run %ld does not exist", run_id);
    if (rc != SFR_OK)
        return rc;
    PQclear(res);
    long n_log = 0;
    rc = undo_trigger_log(c, run, &n_log, err);
    if (rc == SFR_OK)
        rc = sfr_pg_undo(c, run_id, &undone, err);
    if (rc != SFR_OK)
        return rc;
    undone += n_log;
    rc =
        sfr_pg_query(c,
                     "SELECT object, sfid, op, old_row::text, (new_row -> 'values')::text,"
                     " coalesce(new_row ->> 'pg_id', '0')"
                     " FROM sfrecon.repair_journal WHERE repair_run_id = $1::bigint AND side = 'sf'"
                     " ORDER BY seq DESC",
                     1, params, &res, err, "reading the Salesforce changes of the run");
    if (rc != SFR_OK)
        return rc;
    int n = PQntuples(res);
    if (json) {
        fprintf(out, "{\"repair_run\":%ld,\"mirror_entries_undone\":%ld,\"salesforce\":[", run_id,
                undone);
        for (int i = 0; i < n; i++)
            print_sf_entry(out, res, i, true, i == 0);
        fputs("]}\n", out);
    } else {
        fprintf(out, "repair run %ld: %ld mirror change%s undone\n", run_id, undone,
                undone == 1 ? "" : "s");
        if (n > 0)
            fprintf(out,
                    "%d Salesforce change%s cannot be undone by sfrecon; to reverse by "
                    "hand:\n",
                    n, n == 1 ? "" : "s");
        for (int i = 0; i < n; i++)
            print_sf_entry(out, res, i, false, i == 0);
    }
    PQclear(res);
    if (n_pg_undone != NULL)
        *n_pg_undone = undone;
    if (n_sf_listed != NULL)
        *n_sf_listed = n;
    return SFR_OK;
}
