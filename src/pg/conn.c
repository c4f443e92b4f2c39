/* conn.c — Postgres connections and error reporting: see pg.h.
 *
 * Every session sfrecon opens is pinned to the text formats the canonical
 * forms expect (DateStyle ISO, TimeZone UTC, shortest-exact floats, UTF8), so
 * a server configured otherwise cannot make equal data look different. */
#include "sfrecon/pg.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfrecon/log.h"

/* Copies a libpq message without its trailing newline(s). */
static void trim_copy(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
    size_t len = strlen(dst);
    while (len > 0 && (dst[len - 1] == '\n' || dst[len - 1] == ' '))
        dst[--len] = '\0';
}

enum sfr_rc sfr_pg_error(const PGresult *res, PGconn *conn, struct sfr_err *err, const char *fmt,
                         ...)
{
    if (err == NULL)
        return SFR_EPG;
    char ctx[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof(ctx), fmt, ap);
    va_end(ap);

    char msg[768] = "";
    const char *state = NULL, *detail = NULL, *hint = NULL;
    if (res != NULL) {
        trim_copy(msg, sizeof(msg), PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
        state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
        hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
        if (msg[0] == '\0')
            trim_copy(msg, sizeof(msg), PQresultErrorMessage(res));
    }
    if (msg[0] == '\0' && conn != NULL)
        trim_copy(msg, sizeof(msg), PQerrorMessage(conn));
    if (msg[0] == '\0')
        snprintf(msg, sizeof(msg), "%s",
                 res ? PQresStatus(PQresultStatus(res)) : "connection lost");

    if (state != NULL && state[0] != '\0')
        sfr_err_set(err, SFR_EPG, "%s: %s (SQLSTATE %s)%s%s", ctx, msg, state, detail ? "; " : "",
                    detail ? detail : "");
    else
        sfr_err_set(err, SFR_EPG, "%s: %s", ctx, msg);
    if (state != NULL)
        snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", state);
    if (hint != NULL)
        sfr_err_hint(err, "%s", hint);
    return SFR_EPG;
}

char *sfr_pg_quote_ident(PGconn *conn, const char *name)
{
    char *q = PQescapeIdentifier(conn, name, strlen(name));
    if (q == NULL)
        return NULL;
    char *copy = sfr_strdup(q);
    PQfreemem(q);
    return copy;
}

void sfr_pg_ident_append(struct sfr_buf *b, const char *name)
{
    sfr_buf_putc(b, '"');
    for (const char *p = name; *p; p++) {
        if (*p == '"')
            sfr_buf_putc(b, '"');
        sfr_buf_putc(b, *p);
    }
    sfr_buf_putc(b, '"');
}

void sfr_pg_qualified_append(struct sfr_buf *b, const char *schema, const char *table)
{
    sfr_pg_ident_append(b, schema);
    sfr_buf_putc(b, '.');
    sfr_pg_ident_append(b, table);
}

void sfr_pg_array_append(struct sfr_buf *b, const char *const *v, int n)
{
    sfr_buf_putc(b, '{');
    for (int i = 0; i < n; i++) {
        if (i > 0)
            sfr_buf_putc(b, ',');
        if (v[i] == NULL) {
            sfr_buf_puts(b, "NULL");
            continue;
        }
        sfr_buf_putc(b, '"');
        for (const char *p = v[i]; *p; p++) {
            if (*p == '"' || *p == '\\')
                sfr_buf_putc(b, '\\');
            sfr_buf_putc(b, *p);
        }
        sfr_buf_putc(b, '"');
    }
    sfr_buf_putc(b, '}');
}

/* "host:port/db" of a connection (also of a failed one). */
static void describe_target(PGconn *conn, char *out, size_t n)
{
    const char *host = PQhost(conn), *port = PQport(conn), *db = PQdb(conn);
    if (host != NULL && host[0] == '/')
        snprintf(out, n, "socket %s port %s database %s", host, port ? port : "?", db ? db : "?");
    else
        snprintf(out, n, "%s:%s/%s", host && host[0] ? host : "localhost", port ? port : "5432",
                 db ? db : "?");
}

enum sfr_rc sfr_pg_connect(const char *url, PGconn **out, struct sfr_err *err)
{
    *out = NULL;
    if (url == NULL || url[0] == '\0')
        url = getenv("DATABASE_URL");
    if (url == NULL || url[0] == '\0') {
        sfr_err_set(err, SFR_ECONFIG, "no Postgres connection: DATABASE_URL is not set");
        sfr_err_hint(err, "export DATABASE_URL=postgres://user:password@host:5432/dbname");
        return SFR_ECONFIG;
    }
    /* Entries before dbname can be overridden by the URL, entries after it win. */
    const char *keys[] = {"connect_timeout", "dbname", "application_name", "client_encoding", NULL};
    const char *vals[] = {"15", url, "sfrecon", "UTF8", NULL};
    PGconn *conn = PQconnectdbParams(keys, vals, 1);
    char safe[512];
    sfr_log_redact_url(url, safe, sizeof(safe));
    if (conn == NULL)
        return sfr_err_set(err, SFR_EPG, "cannot connect to Postgres: out of memory");
    if (PQstatus(conn) != CONNECTION_OK) {
        char where[300], msg[600];
        describe_target(conn, where, sizeof(where));
        trim_copy(msg, sizeof(msg), PQerrorMessage(conn));
        sfr_err_set(err, SFR_EPG, "cannot connect to Postgres at %s: %s", where, msg);
        sfr_err_hint(err, "check DATABASE_URL (%s)", safe);
        PQfinish(conn);
        return SFR_EPG;
    }
    PGresult *res = PQexec(conn, "SET DateStyle = 'ISO, YMD'; SET TimeZone = 'UTC'; "
                                 "SET extra_float_digits = 3; SET IntervalStyle = 'postgres'");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        char where[300];
        describe_target(conn, where, sizeof(where));
        sfr_pg_error(res, conn, err, "Postgres at %s: setting up the session", where);
        PQclear(res);
        PQfinish(conn);
        return SFR_EPG;
    }
    PQclear(res);
    *out = conn;
    return SFR_OK;
}

/* ---- running SQL: the one way sfrecon talks to Postgres ---- */

/* Sends sql: a simple query without parameters (it may hold several
 * statements), else one statement through the extended protocol. */
static PGresult *send_sql(PGconn *conn, const char *sql, int n, const char *const *params)
{
    if (n == 0 && params == NULL)
        return PQexec(conn, sql);
    return PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
}

/* Fills err for a failed result. what NULL: the server's own words
 * ("message: detail"), SQLSTATE in err->sqlstate, for callers that hand the
 * message on per record; else "<what>: <message> (SQLSTATE ...)". */
static enum sfr_rc fail(const PGresult *res, PGconn *conn, struct sfr_err *err, const char *what)
{
    if (what != NULL)
        return sfr_pg_error(res, conn, err, "%s", what);
    if (err == NULL)
        return SFR_EPG;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
    sfr_err_set(err, SFR_EPG, "%s%s%s", msg ? msg : PQerrorMessage(conn), detail ? ": " : "",
                detail ? detail : "");
    snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", state ? state : "");
    return SFR_EPG;
}

/* Runs sql and checks the result's status against want (TUPLES_OK accepts
 * COMMAND_OK too). On success the result goes to *out, or is cleared when
 * out is NULL; on failure *out is NULL and err is filled. */
static enum sfr_rc run_sql(PGconn *conn, const char *sql, int n, const char *const *params,
                           ExecStatusType want, PGresult **out, struct sfr_err *err,
                           const char *what)
{
    if (out != NULL)
        *out = NULL;
    PGresult *res = send_sql(conn, sql, n, params);
    ExecStatusType st = PQresultStatus(res);
    bool ok =
        want == PGRES_TUPLES_OK ? st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK : st == want;
    if (!ok) {
        enum sfr_rc rc = fail(res, conn, err, what);
        PQclear(res);
        return rc;
    }
    if (out != NULL)
        *out = res;
    else
        PQclear(res);
    return SFR_OK;
}

enum sfr_rc sfr_pg_exec(PGconn *conn, const char *sql, struct sfr_err *err)
{
    char head[80];
    snprintf(head, sizeof(head), "Postgres: %.60s%s", sql, strlen(sql) > 60 ? "..." : "");
    for (char *p = head; *p; p++)
        if (*p == '\n')
            *p = ' ';
    return run_sql(conn, sql, 0, NULL, PGRES_TUPLES_OK, NULL, err, head);
}

void sfr_pg_rollback(PGconn *conn)
{
    PQclear(PQexec(conn, "ROLLBACK"));
}

/* Formats a "what" context into buf; NULL fmt stays NULL (the server's words). */
#define WHAT(buf, fmt)                                                                             \
    do {                                                                                           \
        (buf)[0] = '\0';                                                                           \
        if ((fmt) != NULL) {                                                                       \
            va_list ap_;                                                                           \
            va_start(ap_, fmt);                                                                    \
            vsnprintf(buf, sizeof(buf), fmt, ap_);                                                 \
            va_end(ap_);                                                                           \
        }                                                                                          \
    } while (0)

enum sfr_rc sfr_pg_query(PGconn *conn, const char *sql, int n, const char *const *params,
                         PGresult **out, struct sfr_err *err, const char *fmt, ...)
{
    char what[512];
    WHAT(what, fmt);
    return run_sql(conn, sql, n, params, PGRES_TUPLES_OK, out, err, fmt ? what : NULL);
}

enum sfr_rc sfr_pg_query_one(PGconn *conn, const char *sql, int n, const char *const *params,
                             PGresult **row, struct sfr_err *err, const char *fmt, ...)
{
    char what[512];
    WHAT(what, fmt);
    enum sfr_rc rc = run_sql(conn, sql, n, params, PGRES_TUPLES_OK, row, err, fmt ? what : NULL);
    if (rc != SFR_OK || PQntuples(*row) > 0)
        return rc;
    PQclear(*row);
    *row = NULL;
    return sfr_err_set(err, SFR_ENOTFOUND, "%s: no row", fmt ? what : "Postgres");
}

/* ---- COPY ---- */

enum sfr_rc sfr_pg_copy_out_begin(PGconn *conn, const char *sql, struct sfr_err *err,
                                  const char *fmt, ...)
{
    char what[512];
    WHAT(what, fmt);
    return run_sql(conn, sql, 0, NULL, PGRES_COPY_OUT, NULL, err, what);
}

int sfr_pg_copy_out_row(PGconn *conn, char **line)
{
    int len = PQgetCopyData(conn, line, 0);
    if (len > 0)
        return len;
    *line = NULL;
    return -1;
}

/* Reads the results that end a COPY; the first failure fills err unless rc
 * already holds one. */
static enum sfr_rc copy_results(PGconn *conn, enum sfr_rc rc, struct sfr_err *err, const char *what)
{
    PGresult *res;
    while ((res = PQgetResult(conn)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == SFR_OK)
            rc = sfr_pg_error(res, conn, err, "%s", what);
        PQclear(res);
    }
    return rc;
}

enum sfr_rc sfr_pg_copy_out_end(PGconn *conn, enum sfr_rc rc, struct sfr_err *err, const char *fmt,
                                ...)
{
    char what[512];
    WHAT(what, fmt);
    char *buf;
    while (PQgetCopyData(conn, &buf, 0) > 0)
        PQfreemem(buf);
    return copy_results(conn, rc, err, what);
}

enum sfr_rc sfr_pg_copy_in_begin(PGconn *conn, const char *sql, struct sfr_err *err,
                                 const char *fmt, ...)
{
    char what[512];
    WHAT(what, fmt);
    return run_sql(conn, sql, 0, NULL, PGRES_COPY_IN, NULL, err, what);
}

enum sfr_rc sfr_pg_copy_in_put(PGconn *conn, const char *data, size_t len)
{
    return PQputCopyData(conn, data, (int)len) == 1 ? SFR_OK : SFR_EPG;
}

enum sfr_rc sfr_pg_copy_in_end(PGconn *conn, enum sfr_rc sent, struct sfr_err *err, const char *fmt,
                               ...)
{
    char what[512];
    WHAT(what, fmt);
    bool ok = sent == SFR_OK;
    if (PQputCopyEnd(conn, ok ? NULL : "sfrecon: sending the COPY data failed") != 1)
        ok = false;
    enum sfr_rc rc = copy_results(conn, SFR_OK, err, what);
    if (!ok && rc == SFR_OK)
        rc = sfr_pg_error(NULL, conn, err, "%s", what);
    return rc;
}
