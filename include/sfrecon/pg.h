/* pg.h — Postgres: connections, sfrecon's own schema and its migrations, the
 * Heroku Connect mirror DDL, and the Postgres implementation of struct sfr_side.
 *
 * Only src/pg/ and src/side/pg_side.c include libpq; other modules reach the
 * mirror through struct sfr_side. Identifiers are always quoted; values are
 * always query parameters (or, inside COPY where parameters are not allowed,
 * literals escaped with PQescapeLiteral). Passwords never appear in messages:
 * connection strings are shown through sfr_log_redact_url. */
#ifndef SFRECON_PG_H
#define SFRECON_PG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>

#include "sfrecon/config.h"
#include "sfrecon/err.h"
#include "sfrecon/mem.h"
#include "sfrecon/schema.h"
#include "sfrecon/side.h"

/* Version of the sfrecon schema that this build creates (sfrecon.schema_version). */
#define SFR_PG_SCHEMA_VERSION 5
/* Mirror schema when neither the mapping nor --schema names one. */
#define SFR_PG_DEFAULT_SCHEMA "salesforce"

/* ---- connections (conn.c) ---- */

/* Connects with a libpq URI or conninfo string (DATABASE_URL); NULL or ""
 * falls back to the DATABASE_URL environment variable. Sets application_name
 * sfrecon and a session with DateStyle ISO, TimeZone UTC, shortest-exact
 * float output and UTF8, which the canonical forms rely on. Errors name the
 * host, port and database, carry the server's message, and show the URL with
 * its password redacted. *out is caller-owned (PQfinish). */
enum sfr_rc sfr_pg_connect(const char *url, PGconn **out, struct sfr_err *err) SFR_WUR;

/* Fills err from a failed result (or from the connection when res is NULL):
 * "<context>: <server message> (SQLSTATE xxxxx)", the detail appended, the
 * server's hint in err->hint, err->sqlstate set. Returns SFR_EPG. */
enum sfr_rc sfr_pg_error(const PGresult *res, PGconn *conn, struct sfr_err *err, const char *fmt,
                         ...) SFR_PRINTF(4, 5);

/* Quoted identifier through PQescapeIdentifier. Caller frees (sfr_free).
 * Returns NULL only when libpq rejects the name (invalid encoding). */
char *sfr_pg_quote_ident(PGconn *conn, const char *name);

/* Appends name as a quoted identifier ("a""b") without a connection, the way
 * PQescapeIdentifier does for a UTF8 client: used for DDL printed offline. */
void sfr_pg_ident_append(struct sfr_buf *b, const char *name);
/* Appends "schema"."table". */
void sfr_pg_qualified_append(struct sfr_buf *b, const char *schema, const char *table);
/* Appends v[0..n) as a text[] literal for a query parameter: {"a","b\"c",NULL}
 * (each element quoted, '"' and '\\' escaped; a NULL element is SQL NULL). */
void sfr_pg_array_append(struct sfr_buf *b, const char *const *v, int n);

/* ---- running SQL (conn.c) ----
 *
 * The one way sfrecon runs SQL. Every function returns SFR_OK or SFR_EPG
 * with err filled as sfr_pg_error does: "<what>: <server message> (SQLSTATE
 * xxxxx); <detail>", err->sqlstate set, the server's hint in err->hint.
 * `what` is a printf format naming what was being done ("reading
 * sfrecon.audit_run", "streaming %s"). Values always go as text parameters;
 * n == 0 with params NULL sends a simple query, which may hold several
 * statements (migrations, SET lists) and carries no values. */

/* Runs one statement (or a list, see above) that returns no rows of
 * interest: BEGIN, COMMIT, SAVEPOINT, SET, LISTEN. what is "Postgres: " and
 * the start of sql. */
enum sfr_rc sfr_pg_exec(PGconn *conn, const char *sql, struct sfr_err *err) SFR_WUR;

/* ROLLBACK of the current transaction after a failure; its own outcome is
 * of no interest (the error that led here is the one reported). */
void sfr_pg_rollback(PGconn *conn);

/* Runs sql with n text parameters (NULL = SQL NULL). On success *out
 * receives the result (caller PQclears; PQgetvalue dies with it), or the
 * result is cleared when out is NULL. On failure *out is NULL. With fmt
 * NULL err->msg holds only the server's words ("message: detail"), for
 * callers that hand them on per record. */
enum sfr_rc sfr_pg_query(PGconn *conn, const char *sql, int n, const char *const *params,
                         PGresult **out, struct sfr_err *err, const char *fmt, ...) SFR_WUR
    SFR_PRINTF(7, 8);

/* sfr_pg_query for a statement that must return a row (the row of an Id,
 * the columns of a table): *row holds the result, row 0 at least (caller
 * PQclears). No row is SFR_ENOTFOUND ("<what>: no row"; callers with a
 * better message set their own) and *row NULL. */
enum sfr_rc sfr_pg_query_one(PGconn *conn, const char *sql, int n, const char *const *params,
                             PGresult **row, struct sfr_err *err, const char *fmt, ...) SFR_WUR
    SFR_PRINTF(7, 8);

/* COPY ... TO STDOUT: _begin sends sql; _row hands out one text-format line
 * at a time (its length, > 0, with *line to free with PQfreemem), -1 when the
 * data ended or broke off; _end drains what is left (an early stop drains
 * rather than cancels: a late cancel could hit the next statement) and reads
 * the final result. _end returns rc when rc is already an error (err left as
 * it is), else the COPY's own outcome. */
enum sfr_rc sfr_pg_copy_out_begin(PGconn *conn, const char *sql, struct sfr_err *err,
                                  const char *fmt, ...) SFR_WUR SFR_PRINTF(4, 5);
int sfr_pg_copy_out_row(PGconn *conn, char **line);
enum sfr_rc sfr_pg_copy_out_end(PGconn *conn, enum sfr_rc rc, struct sfr_err *err, const char *fmt,
                                ...) SFR_WUR SFR_PRINTF(4, 5);

/* COPY ... FROM STDIN: _begin sends sql; _put sends a piece of text-format
 * rows (SFR_EPG when the connection would not take it: stop sending, _end
 * says why); _end finishes the COPY, aborting it (nothing stored) when sent
 * is not SFR_OK, and returns its outcome. */
enum sfr_rc sfr_pg_copy_in_begin(PGconn *conn, const char *sql, struct sfr_err *err,
                                 const char *fmt, ...) SFR_WUR SFR_PRINTF(4, 5);
enum sfr_rc sfr_pg_copy_in_put(PGconn *conn, const char *data, size_t len) SFR_WUR;
enum sfr_rc sfr_pg_copy_in_end(PGconn *conn, enum sfr_rc sent, struct sfr_err *err, const char *fmt,
                               ...) SFR_WUR SFR_PRINTF(4, 5);

/* ---- sfrecon's own schema (migrate.c) ---- */

/* Creates or upgrades schema sfrecon to SFR_PG_SCHEMA_VERSION. Idempotent;
 * each migration runs in its own transaction; an advisory lock serialises
 * concurrent runs. */
enum sfr_rc sfr_pg_migrate(PGconn *conn, struct sfr_err *err) SFR_WUR;
/* Applied version: 0 when schema sfrecon is absent, -1 on a query error. */
int sfr_pg_schema_version(PGconn *conn);

/* ---- the mirror DDL (ddl.c) ---- */

/* Prints the Heroku Connect layout for every mapping of cfg into out: schema,
 * tables with system columns and one column per mapped field, the hcu_/hc_
 * indexes and sfrecon's COLLATE "C" sfid index. with_triggers adds Connect's
 * write path (_trigger_log, _trigger_log_archive, _hcmeta, _sf_event_log,
 * get_xmlbinary(), per-table status and logger triggers). Idempotent SQL.
 * Errors (SFR_ECONFIG) name the mapping's file:line and the object/field
 * missing from the describe. */
enum sfr_rc sfr_pg_mirror_ddl(const struct sfr_config *cfg, const struct sfr_schema *s,
                              struct sfr_buf *out, bool with_triggers, struct sfr_err *err) SFR_WUR;

/* ---- COPY text format and value conversion (mirror.c; pure) ---- */

/* Splits one COPY text-format row in place (line with or without its '\n'):
 * fields are NUL-terminated and unescaped, \N gives NULL. Up to max fields
 * are stored in vals/lens. Returns the number of fields found (may exceed
 * max, then the extra ones are not stored), or -1 on a malformed escape. */
int sfr_pg_copy_split(char *line, size_t len, const char **vals, size_t *lens, int max);
/* Appends v as one field of COPY's text format (\N for NULL; backslash,
 * tab, newline and carriage return escaped): what sfr_pg_copy_split reads. */
void sfr_pg_copy_escape(struct sfr_buf *b, const char *v);

/* Converts a value in Salesforce text form into the input text of the
 * mirror column for field f (datetime 2013-05-20T20:49:32.000+0000 ->
 * 2013-05-20 20:49:32.000 UTC; '' -> NULL). Caller frees; NULL = SQL NULL. */
char *sfr_pg_input_value(const struct sfr_field *f, const char *sf_value);

/* Column expression that reads field f of a mirror table (Id -> sfid,
 * geolocation -> "lat,lon" of the two columns), appended to b with the given
 * table alias prefix ("" or "t."). */
void sfr_pg_field_expr(struct sfr_buf *b, const struct sfr_field *f, const char *alias);
/* Appends ", <alias><column>::text" for each relationship external Id of p
 * (", NULL::text" when table t lacks its column): p->n_relext columns. */
struct sfr_pg_table;
void sfr_pg_relext_select(struct sfr_buf *b, const struct sfr_pg_table *t,
                          const struct sfr_projection *p, const char *alias);

/* ---- mirror tables (mirror.c) ---- */

/* What sfrecon needs to know of one mirror table, read once per table. */
struct sfr_pg_table {
    char *schema;  /* unquoted */
    char *table;   /* unquoted */
    char *qname;   /* "schema"."table" */
    char *display; /* schema.table, for messages and the journal */
    bool has_isdeleted, has_hc_lastop, has_hc_err;
    bool has_trigger_log;         /* <schema>._trigger_log exists */
    bool has_trigger_log_archive; /* <schema>._trigger_log_archive exists */
    char *tlog_qname;             /* "schema"."_trigger_log" */
    char *tlog_archive_qname;     /* "schema"."_trigger_log_archive" */
    struct sfr_strv columns;      /* every column, in attnum order */
};

/* Reads the table's columns and whether the trigger log exists. The name is
 * matched exactly first, then case-insensitively (a table created quoted in
 * upper case); t->table holds the name the catalog has. A missing
 * table is SFR_ENOTFOUND with a hint. t is caller-owned (sfr_pg_table_cleanup). */
enum sfr_rc sfr_pg_table_load(PGconn *conn, const char *schema, const char *table,
                              struct sfr_pg_table *t, struct sfr_err *err) SFR_WUR;
void sfr_pg_table_cleanup(struct sfr_pg_table *t);
/* True when the table has a column for every projection field (else err names it). */
enum sfr_rc sfr_pg_table_check(const struct sfr_pg_table *t, const struct sfr_projection *p,
                               struct sfr_err *err) SFR_WUR;

/* Writes w[0..n) into table t in one transaction (SET LOCAL xmlbinary = 'hex',
 * a savepoint per record so one failure does not abort the others), journaling
 * old and new rows in sfrecon.repair_journal when journal_run > 0. Per-record
 * results go to w[i]; an error is returned only when the whole batch failed.
 * *rows and *queries (not NULL) are incremented. */
enum sfr_rc sfr_pg_mirror_write(PGconn *conn, const struct sfr_pg_table *t,
                                const struct sfr_projection *p, struct sfr_write *w, int n,
                                int64_t journal_run, long *rows, long *queries,
                                struct sfr_err *err) SFR_WUR;

/* ---- the Postgres side (pg_side.c) ---- */

/* A side over the mirror at url (own connection; side->src = SFR_SRC_PG).
 * Not thread-safe: one per job. NULL on error (err filled). */
struct sfr_side *sfr_pg_side_new(const char *url, struct sfr_err *err);
/* The side's connection (borrowed; lives as long as the side). */
PGconn *sfr_pg_side_conn(struct sfr_side *side);

/* Undoes the Postgres writes journaled for repair run `repair_run` in
 * sfrecon.repair_journal (side 'pg'), newest first, in one transaction with
 * SET LOCAL xmlbinary = 'hex': inserted rows are deleted, deleted rows are
 * re-inserted with their original id, updated rows get all their old values
 * back. Entries are marked undone_at, so a second call changes nothing.
 * *n_undone (may be NULL) receives the number of entries undone. */
enum sfr_rc sfr_pg_undo(PGconn *conn, int64_t repair_run, long *n_undone,
                        struct sfr_err *err) SFR_WUR;

#endif
