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

enum sfr_rc sfr_pg_exec(PGconn *conn, const char *sql, struct sfr_err *err)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    enum sfr_rc rc = SFR_OK;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        char head[80];
        snprintf(head, sizeof(head), "%.60s%s", sql, strlen(sql) > 60 ? "..." : "");
        for (char *p = head; *p; p++)
            if (*p == '\n')
                *p = ' ';
        rc = sfr_pg_error(res, conn, err, "Postgres: %s", head);
    }
    PQclear(res);
    return rc;
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

PGresult *sfr_pg_query(PGconn *conn, const char *sql, int n, const char *const *params,
                       struct sfr_err *err, const char *what)
{
    PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return res;
    (void)sfr_pg_error(res, conn, err, "%s", what);
    PQclear(res);
    return NULL;
}
