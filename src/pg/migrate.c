/* migrate.c — sfrecon's own schema `sfrecon` and its versioned migrations.
 *
 * Invariants: sfrecon.schema_version holds one row per applied migration;
 * a migration's DDL and its version row commit together (one transaction),
 * so a crash leaves either the old or the new version, never half. Runs take
 * a session advisory lock first, so two processes starting at once do not
 * both apply a migration. Migrations are append-only: never edit a shipped
 * one, add the next version. */
#include "sfrecon/pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfrecon/log.h"

/* pg_advisory_lock key: "sfrec" in ASCII, unlikely to collide with an app's. */
#define MIGRATE_LOCK_KEY "495874843235"

struct migration {
    int version;
    const char *description;
    const char *sql;
};

static const char v1_sql[] =
    "CREATE TABLE sfrecon.audit_run ("
    " id bigserial PRIMARY KEY,"
    " started_at timestamptz NOT NULL DEFAULT now(),"
    " finished_at timestamptz,"
    " status text NOT NULL DEFAULT 'running',"
    " depth text, since text, mapping text, objects text[],"
    " api_calls bigint DEFAULT 0, rows_compared bigint DEFAULT 0,"
    " n_discrepancies bigint DEFAULT 0,"
    " summary jsonb, not_covered jsonb, error text);\n"
    "COMMENT ON COLUMN sfrecon.audit_run.status IS"
    " 'running | clean | discrepancies | partial | failed';\n"
    "CREATE TABLE sfrecon.discrepancy ("
    " id bigserial PRIMARY KEY,"
    " run_id bigint NOT NULL REFERENCES sfrecon.audit_run(id) ON DELETE CASCADE,"
    " object text NOT NULL, sfid text NOT NULL, cause text NOT NULL,"
    " fields jsonb NOT NULL DEFAULT '[]', detail text NOT NULL DEFAULT '',"
    " parent_object text, parent_sfid text, pg_id bigint,"
    " sf_modstamp timestamp, pg_modstamp timestamp);\n"
    "CREATE INDEX discrepancy_run_object_sfid_idx ON sfrecon.discrepancy (run_id, object, sfid);\n"
    "CREATE TABLE sfrecon.chunk_digest ("
    " object text NOT NULL, lo text NOT NULL, hi text,"
    " sf_count bigint, pg_count bigint, sf_max_mod timestamp, pg_max_mod timestamp,"
    " content_sum numeric, run_id bigint, PRIMARY KEY (object, lo));\n"
    "COMMENT ON COLUMN sfrecon.chunk_digest.lo IS 'inclusive; empty string = -infinity';\n"
    "COMMENT ON COLUMN sfrecon.chunk_digest.hi IS 'exclusive; NULL = +infinity';\n"
    "CREATE TABLE sfrecon.watermark ("
    " object text PRIMARY KEY, run_id bigint, sf_count bigint, sf_max_mod timestamp,"
    " pg_count bigint, pg_max_mod timestamp, audited_at timestamptz);\n"
    "CREATE TABLE sfrecon.repair_run ("
    " id bigserial PRIMARY KEY, audit_run_id bigint,"
    " started_at timestamptz NOT NULL DEFAULT now(), finished_at timestamptz,"
    " status text NOT NULL DEFAULT 'running', plan jsonb, summary jsonb);\n"
    "CREATE TABLE sfrecon.repair_journal ("
    " id bigserial PRIMARY KEY,"
    " repair_run_id bigint NOT NULL REFERENCES sfrecon.repair_run(id),"
    " seq bigint NOT NULL, object text NOT NULL, table_name text NOT NULL, sfid text,"
    " side text NOT NULL, op text NOT NULL, old_row jsonb, new_row jsonb,"
    " applied_at timestamptz NOT NULL DEFAULT now(), undone_at timestamptz);\n"
    "COMMENT ON COLUMN sfrecon.repair_journal.side IS 'pg | sf';\n"
    "COMMENT ON COLUMN sfrecon.repair_journal.op IS 'insert | update | delete';\n"
    "CREATE INDEX repair_journal_run_seq_idx ON sfrecon.repair_journal (repair_run_id, seq);\n"
    "CREATE TABLE sfrecon.sync_cursor ("
    " object text, direction text, cursor text, updated_at timestamptz DEFAULT now(),"
    " PRIMARY KEY (object, direction));\n";

/* The queue of an audit shared by many processes (workq.h). A task being
 * compared stays 'queued' and row-locked by its worker's open transaction,
 * which writes the results and marks it 'done' when it commits. */
static const char v2_sql[] =
    "CREATE TABLE sfrecon.work_task ("
    " run_id bigint NOT NULL REFERENCES sfrecon.audit_run(id) ON DELETE CASCADE,"
    " object text NOT NULL, seq integer NOT NULL, lo text, hi text, expect bigint,"
    " start_ms bigint NOT NULL, state text NOT NULL DEFAULT 'queued', worker text,"
    " finished_at timestamptz, rows_sf bigint, rows_pg bigint, api_calls bigint,"
    " keys_differing bigint, rechecked bigint, chunks_mismatched bigint,"
    " PRIMARY KEY (run_id, object, seq));\n"
    "COMMENT ON COLUMN sfrecon.work_task.state IS 'queued | done';\n"
    "COMMENT ON COLUMN sfrecon.work_task.lo IS 'inclusive; NULL = -infinity';\n"
    "COMMENT ON COLUMN sfrecon.work_task.hi IS 'exclusive; NULL = +infinity';\n"
    "CREATE TABLE sfrecon.work_disc ("
    " id bigserial PRIMARY KEY,"
    " run_id bigint NOT NULL REFERENCES sfrecon.audit_run(id) ON DELETE CASCADE,"
    " object text NOT NULL, seq integer NOT NULL, sfid text NOT NULL, cause text NOT NULL,"
    " detail text, parent_object text, parent_sfid text, pg_id bigint,"
    " sf_mod_ms bigint, pg_mod_ms bigint, fields text[], sf_values text[], pg_values text[]);\n"
    "CREATE INDEX work_disc_run_idx ON sfrecon.work_disc (run_id, object, seq);\n"
    "CREATE TABLE sfrecon.work_chunk ("
    " run_id bigint NOT NULL REFERENCES sfrecon.audit_run(id) ON DELETE CASCADE,"
    " object text NOT NULL, lo text, hi text, sf_count bigint, pg_count bigint,"
    " sf_max_ms bigint, pg_max_ms bigint);\n"
    "CREATE INDEX work_chunk_run_idx ON sfrecon.work_chunk (run_id, object);\n";

/* Reports: the Salesforce instance (record links) and the org's daily API
 * usage seen by the audit; runs by start time (trend, prune). */
static const char v3_sql[] =
    "ALTER TABLE sfrecon.audit_run ADD COLUMN instance_url text,"
    " ADD COLUMN api_daily_used bigint, ADD COLUMN api_daily_max bigint;\n"
    "CREATE INDEX audit_run_started_at_idx ON sfrecon.audit_run (started_at);\n";

/* v4: what a report's header names (the org and app of the mapping, the
 * mapping's mirror schema and database), and the statuses of the run
 * lifecycle. */
static const char v4_sql[] =
    "ALTER TABLE sfrecon.audit_run ADD COLUMN organization_id text,"
    " ADD COLUMN app_name text, ADD COLUMN mirror_schema text,"
    " ADD COLUMN mirror_database text;\n"
    "COMMENT ON COLUMN sfrecon.audit_run.status IS"
    " 'running | clean | discrepancies | partial | interrupted | failed;"
    " a running row whose process holds no advisory lock on it reads as abandoned';\n";

/* v5: incremental audits that are never falsely clean. A chunk state says
 * whether the chunk compared clean (states stored before this version did
 * not, so they read as not clean and are compared again) and carries the
 * mirror's content digest; a discrepancy names the run since which it has
 * been open without a break. */
static const char v5_sql[] =
    "ALTER TABLE sfrecon.chunk_digest ADD COLUMN clean boolean NOT NULL DEFAULT false;\n"
    "COMMENT ON COLUMN sfrecon.chunk_digest.content_sum IS"
    " 'the mirror side''s content digest: wrapping 64-bit sum of row hashes';\n"
    "COMMENT ON COLUMN sfrecon.watermark.sf_max_mod IS"
    " 'Salesforce-clock time from which the last run saw every change';\n"
    "ALTER TABLE sfrecon.work_chunk ADD COLUMN pg_sum numeric;\n"
    "ALTER TABLE sfrecon.discrepancy ADD COLUMN open_since bigint;\n"
    "COMMENT ON COLUMN sfrecon.discrepancy.open_since IS"
    " 'first run of the unbroken streak of runs that found this discrepancy';\n";

static const struct migration migrations[] = {
    {1, "audit runs, discrepancies, chunk digests, watermarks, repair journal, sync cursors",
     v1_sql},
    {2, "the queue of audits shared by many processes", v2_sql},
    {3, "audit runs: instance URL and daily API usage for reports", v3_sql},
    {4, "run context (organization, app, mirror schema and database) and lifecycle statuses",
     v4_sql},
    {5, "clean chunk states with the mirror's digest, discrepancies open since a run", v5_sql},
};
#define N_MIGRATIONS (int)(sizeof(migrations) / sizeof(migrations[0]))

int sfr_pg_schema_version(PGconn *conn)
{
    PGresult *res;
    if (sfr_pg_query(conn,
                     "SELECT CASE WHEN to_regclass('sfrecon.schema_version') IS NULL"
                     " THEN 0 ELSE -2 END",
                     0, NULL, &res, NULL, "reading schema sfrecon") != SFR_OK)
        return -1;
    int v = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    if (v == 0)
        return 0;
    if (sfr_pg_query(conn, "SELECT coalesce(max(version), 0) FROM sfrecon.schema_version", 0, NULL,
                     &res, NULL, "reading sfrecon.schema_version") != SFR_OK)
        return -1;
    v = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    return v;
}

/* Creates schema sfrecon and the version table when absent. CREATE SCHEMA is
 * skipped when the schema exists, so a role without CREATE on the database
 * can still run against a schema an administrator made for it. */
static enum sfr_rc bootstrap(PGconn *conn, struct sfr_err *err)
{
    PGresult *res;
    enum sfr_rc rc = sfr_pg_query(conn, "SELECT 1 FROM pg_namespace WHERE nspname = 'sfrecon'", 0,
                                  NULL, &res, err, "reading schema sfrecon");
    if (rc != SFR_OK)
        return rc;
    bool have = PQntuples(res) > 0;
    PQclear(res);
    if (!have && sfr_pg_exec(conn, "CREATE SCHEMA sfrecon", err) != SFR_OK) {
        sfr_err_hint(err, "sfrecon keeps its state in schema sfrecon; grant CREATE on the "
                          "database or create the schema for this role");
        return SFR_EPG;
    }
    return sfr_pg_exec(conn,
                       "CREATE TABLE IF NOT EXISTS sfrecon.schema_version ("
                       " version integer PRIMARY KEY,"
                       " applied_at timestamptz NOT NULL DEFAULT now(),"
                       " description text)",
                       err);
}

static enum sfr_rc apply_one(PGconn *conn, const struct migration *m, struct sfr_err *err)
{
    enum sfr_rc rc = sfr_pg_exec(conn, "BEGIN", err);
    if (rc != SFR_OK)
        return rc;
    char vbuf[16];
    snprintf(vbuf, sizeof(vbuf), "%d", m->version);
    const char *params[2] = {vbuf, m->description};
    PGresult *res;
    rc = sfr_pg_query(conn, "SELECT 1 FROM sfrecon.schema_version WHERE version = $1", 1, params,
                      &res, err, "reading sfrecon.schema_version");
    if (rc != SFR_OK)
        goto out;
    bool applied = PQntuples(res) > 0; /* by an earlier run */
    PQclear(res);
    if (applied)
        goto out;
    rc = sfr_pg_query(conn, m->sql, 0, NULL, NULL, err, "migrating schema sfrecon to version %d",
                      m->version);
    if (rc != SFR_OK)
        goto out;
    rc = sfr_pg_query(conn,
                      "INSERT INTO sfrecon.schema_version (version, description) VALUES ($1, $2)",
                      2, params, NULL, err, "recording sfrecon schema version %d", m->version);
    if (rc != SFR_OK)
        goto out;
    sfr_log_info("migrated schema sfrecon to version %d", m->version);
out:
    if (rc == SFR_OK)
        rc = sfr_pg_exec(conn, "COMMIT", err);
    else
        sfr_pg_rollback(conn);
    return rc;
}

enum sfr_rc sfr_pg_migrate(PGconn *conn, struct sfr_err *err)
{
    int have = sfr_pg_schema_version(conn);
    if (have == SFR_PG_SCHEMA_VERSION)
        return SFR_OK;
    if (have > SFR_PG_SCHEMA_VERSION) {
        sfr_err_set(err, SFR_ECONFIG,
                    "schema sfrecon is at version %d, newer than this sfrecon (version %d)", have,
                    SFR_PG_SCHEMA_VERSION);
        sfr_err_hint(err, "upgrade sfrecon; older binaries must not write a newer schema");
        return SFR_ECONFIG;
    }
    enum sfr_rc rc = sfr_pg_exec(conn, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", err);
    if (rc != SFR_OK)
        return rc;
    rc = bootstrap(conn, err);
    for (int i = 0; rc == SFR_OK && i < N_MIGRATIONS; i++)
        rc = apply_one(conn, &migrations[i], err);
    /* The lock is released also after a failure; a failed unlock is only
     * reported when nothing else went wrong (it goes with the session). */
    struct sfr_err uerr;
    if (sfr_pg_exec(conn, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")", &uerr) != SFR_OK &&
        rc == SFR_OK) {
        if (err != NULL)
            *err = uerr;
        rc = uerr.rc;
    }
    return rc;
}
