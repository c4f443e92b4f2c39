/* tlog.c — trigger-log housekeeping of the daemon, the way Heroku Connect
 * keeps its log: NEW entries of read_only mappings become READONLY (an app
 * wrote to a table whose mapping does not write to Salesforce); processed
 * entries move to <schema>._trigger_log_archive (after an hour, FAILED ones
 * after a day so that they can still be retried in place); archive rows
 * older than sfrecon.archive_days (default 31) are deleted. Every statement
 * is limited to the mapped tables and runs on the run context's connection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfrecon/log.h"
#include "sync_internal.h"

/* Final states; FAILED is kept live longer. */
#define DONE_STATES "'SUCCESS', 'IGNORED', 'IGNORE', 'READONLY', 'MERGED', 'REQUEUED'"

enum sfr_rc sfr_sync_tlog_setup(struct sfr_sync *s, struct sfr_err *err)
{
    if (!s->has_tlog)
        return SFR_OK;
    struct sfr_buf q = SFR_BUF_INIT;
    sfr_pg_qualified_append(&q, s->ctx->cfg->schema, "_trigger_log_archive");
    s->archive_qname = sfr_buf_steal(&q);
    const char *params[1] = {s->archive_qname};
    PGresult *res = NULL;
    enum sfr_rc rc = sfr_pg_query(s->ctx->conn, "SELECT to_regclass($1) IS NOT NULL", 1, params,
                                  &res, err, "looking for _trigger_log_archive");
    if (rc != SFR_OK)
        return rc;
    s->has_archive = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (!s->has_archive)
        sfr_log_info("%s._trigger_log_archive does not exist: processed trigger log entries "
                     "stay in _trigger_log",
                     s->ctx->cfg->schema);
    return SFR_OK;
}

static void tables_literal(const struct sfr_sync *s, struct sfr_buf *b, bool read_only)
{
    const char **names = sfr_calloc((size_t)s->ctx->n + 1, sizeof(char *));
    int n = 0;
    for (int i = 0; i < s->ctx->n; i++)
        if (s->tables[i].has_trigger_log &&
            (s->ctx->cfg->mappings[i].access == SFR_ACCESS_READ_ONLY) == read_only)
            names[n++] = s->tables[i].table;
    if (!read_only) /* archiving covers every mapped table */
        for (int i = 0; i < s->ctx->n; i++)
            if (s->tables[i].has_trigger_log &&
                s->ctx->cfg->mappings[i].access == SFR_ACCESS_READ_ONLY)
                names[n++] = s->tables[i].table;
    sfr_pg_array_append(b, names, n);
    free(names);
}

static const char *tlog_qname(const struct sfr_sync *s)
{
    for (int i = 0; i < s->ctx->n; i++)
        if (s->tables[i].has_trigger_log)
            return s->tables[i].tlog_qname;
    return NULL;
}

enum sfr_rc sfr_sync_tlog_mark_readonly(struct sfr_sync *s, long *n, struct sfr_err *err)
{
    *n = 0;
    const char *log = tlog_qname(s);
    if (log == NULL)
        return SFR_OK;
    struct sfr_buf arr = SFR_BUF_INIT;
    tables_literal(s, &arr, true);
    enum sfr_rc rc = SFR_OK;
    if (strcmp(arr.data, "{}") != 0) {
        char *sql = sfr_asprintf("UPDATE %s SET state = 'READONLY', updated_at = now(),"
                                 " processed_at = now(), sf_message = 'read_only mapping: not "
                                 "written to Salesforce' WHERE state = 'NEW'"
                                 " AND table_name = ANY($1::text[])",
                                 log);
        const char *params[1] = {arr.data};
        PGresult *res = NULL;
        rc = sfr_pg_query(s->ctx->conn, sql, 1, params, &res, err, "marking _trigger_log READONLY");
        sfr_free(sql);
        if (rc == SFR_OK)
            *n = atol(PQcmdTuples(res));
        PQclear(res);
    }
    sfr_buf_cleanup(&arr);
    return rc;
}

enum sfr_rc sfr_sync_tlog_archive(struct sfr_sync *s, long *moved, long *purged,
                                  struct sfr_err *err)
{
    *moved = *purged = 0;
    const char *log = tlog_qname(s);
    if (log == NULL || !s->has_archive)
        return SFR_OK;
    struct sfr_buf arr = SFR_BUF_INIT;
    tables_literal(s, &arr, false);
    char days[24];
    snprintf(days, sizeof(days), "%ld",
             s->ctx->cfg->archive_days > 0 ? s->ctx->cfg->archive_days : 31);
    const char *cols =
        "id, txid, created_at, updated_at, processed_at, processed_tx, state, "
        "action, table_name, record_id, sfid, old, \"values\", sf_result, sf_message";
    char *move =
        sfr_asprintf("WITH moved AS (DELETE FROM %s WHERE table_name = ANY($1::text[]) AND"
                     " ((state IN (" DONE_STATES ") AND coalesce(processed_at, updated_at) <"
                     " now() - interval '1 hour') OR (state = 'FAILED' AND coalesce(processed_at,"
                     " updated_at) < now() - interval '1 day')) RETURNING %s)"
                     " INSERT INTO %s (%s) SELECT %s FROM moved ON CONFLICT DO NOTHING",
                     log, cols, s->archive_qname, cols, cols);
    char *purge = sfr_asprintf("DELETE FROM %s WHERE table_name = ANY($1::text[]) AND"
                               " coalesce(processed_at, updated_at, created_at) <"
                               " now() - make_interval(days => $2::int)",
                               s->archive_qname);
    const char *params[2] = {arr.data, days};
    enum sfr_rc rc = sfr_pg_exec(s->ctx->conn, "BEGIN", err);
    PGresult *res = NULL;
    if (rc == SFR_OK) {
        rc = sfr_pg_query(s->ctx->conn, move, 1, params, &res, err,
                          "archiving _trigger_log entries");
        if (rc == SFR_OK)
            *moved = atol(PQcmdTuples(res));
        PQclear(res);
        res = NULL;
    }
    if (rc == SFR_OK) {
        rc = sfr_pg_query(s->ctx->conn, purge, 2, params, &res, err,
                          "deleting old _trigger_log_archive rows");
        if (rc == SFR_OK)
            *purged = atol(PQcmdTuples(res));
        PQclear(res);
    }
    if (rc == SFR_OK)
        rc = sfr_pg_exec(s->ctx->conn, "COMMIT", err);
    else
        PQclear(PQexec(s->ctx->conn, "ROLLBACK"));
    sfr_free(move);
    sfr_free(purge);
    sfr_buf_cleanup(&arr);
    if (rc == SFR_OK && (*moved > 0 || *purged > 0))
        sfr_log_info("trigger log: %ld processed entries moved to _trigger_log_archive, %ld "
                     "archive rows older than %s days deleted",
                     *moved, *purged, days);
    return rc;
}

enum sfr_rc sfr_sync_tlog_backlog(struct sfr_sync *s, long *n, struct sfr_err *err)
{
    *n = 0;
    const char *log = tlog_qname(s);
    if (log == NULL)
        return SFR_OK;
    struct sfr_buf arr = SFR_BUF_INIT;
    tables_literal(s, &arr, false);
    char *sql = sfr_asprintf("SELECT count(*) FROM %s WHERE state IN ('NEW', 'PENDING')"
                             " AND table_name = ANY($1::text[])",
                             log);
    const char *params[1] = {arr.data};
    PGresult *res = NULL;
    enum sfr_rc rc =
        sfr_pg_query(s->ctx->conn, sql, 1, params, &res, err, "counting the trigger log backlog");
    sfr_free(sql);
    sfr_buf_cleanup(&arr);
    if (rc != SFR_OK)
        return rc;
    *n = atol(PQgetvalue(res, 0, 0));
    PQclear(res);
    return SFR_OK;
}
