/* sqldrv.c — test driver for the SQL layer of src/pg/conn.c
 * (tests/integration/t_pg_sql.sh). Compiled by the test script against
 * $BUILD/libsfr.a. Each step prints one line the script compares:
 *
 *   STEP rc=<sfr_rc_name> sqlstate=<SQLSTATE or -> msg=<err->msg> [what the step read]
 *
 * DATABASE_URL names an empty database. Exit 0 when every step ran (the
 * script judges the lines), 1 when the connection failed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfrecon/pg.h"

static void show(const char *step, enum sfr_rc rc, const struct sfr_err *e, const char *extra)
{
    printf("%s rc=%s sqlstate=%s msg=%s%s%s\n", step, sfr_rc_name(rc),
           rc != SFR_OK && e->sqlstate[0] ? e->sqlstate : "-", rc != SFR_OK ? e->msg : "",
           extra ? " " : "", extra ? extra : "");
}

/* "a,b|c,d": the rows of res, for one line of output. */
static void rows_of(PGresult *res, char *out, size_t n)
{
    size_t used = 0;
    out[0] = '\0';
    for (int r = 0; res != NULL && r < PQntuples(res); r++)
        for (int c = 0; c < PQnfields(res); c++)
            used += (size_t)snprintf(out + used, used < n ? n - used : 0, "%s%s",
                                     c ? "," : (r ? "|" : ""),
                                     PQgetisnull(res, r, c) ? "NULL" : PQgetvalue(res, r, c));
}

static long count_rows(PGconn *c)
{
    PGresult *res;
    struct sfr_err e = {0};
    if (sfr_pg_query(c, "SELECT count(*) FROM t", 0, NULL, &res, &e, "counting t") != SFR_OK)
        return -1;
    long n = atol(PQgetvalue(res, 0, 0));
    PQclear(res);
    return n;
}

static void queries(PGconn *c)
{
    struct sfr_err e = {0};
    char buf[512];
    enum sfr_rc rc = sfr_pg_exec(c,
                                 "CREATE TABLE t (id int PRIMARY KEY, v text);"
                                 " CREATE TABLE s (v text)",
                                 &e);
    show("exec-list", rc, &e, NULL);
    rc = sfr_pg_exec(c, "SELECT 1/0", &e);
    show("exec-fail", rc, &e, NULL);

    /* A value is a parameter, never SQL: the quote and semicolon stay data. */
    const char *p[2] = {"1", "x'); DROP TABLE t; --"};
    rc = sfr_pg_query(c, "INSERT INTO t VALUES ($1, $2)", 2, p, NULL, &e, "inserting %s", "one");
    show("query-insert", rc, &e, NULL);
    PGresult *res = NULL;
    rc = sfr_pg_query(c, "SELECT id, v FROM t WHERE id = $1", 1, p, &res, &e, "reading t");
    rows_of(res, buf, sizeof(buf));
    PQclear(res);
    show("query-select", rc, &e, buf);
    const char *nul[2] = {"2", NULL};
    rc = sfr_pg_query(c, "INSERT INTO t VALUES ($1, $2)", 2, nul, NULL, &e, "inserting a NULL");
    show("query-null", rc, &e, NULL);

    res = (PGresult *)&e; /* must come back NULL */
    rc = sfr_pg_query(c, "INSERT INTO t VALUES ($1, $2)", 2, p, &res, &e, "inserting id %s", p[0]);
    show("query-fail", rc, &e, res == NULL ? "out=NULL" : "out=SET");
    rc = sfr_pg_query(c, "INSERT INTO t VALUES ($1, $2)", 2, p, NULL, &e, NULL);
    show("query-words", rc, &e, NULL);

    rc = sfr_pg_query_one(c, "SELECT v FROM t WHERE id = $1", 1, nul, &res, &e, "row %d", 2);
    rows_of(res, buf, sizeof(buf));
    PQclear(res);
    show("one-found", rc, &e, buf);
    const char *none[1] = {"99"};
    rc = sfr_pg_query_one(c, "SELECT v FROM t WHERE id = $1", 1, none, &res, &e, "row %s", none[0]);
    show("one-none", rc, &e, res == NULL ? "out=NULL" : "out=SET");

    /* A failed statement aborts the transaction; rollback makes the session usable. */
    rc = sfr_pg_exec(c, "BEGIN", &e);
    if (rc == SFR_OK)
        rc = sfr_pg_exec(c, "SELECT nosuchcolumn FROM t", &e);
    sfr_pg_rollback(c);
    show("txn-fail", rc, &e, NULL);
    rc = sfr_pg_exec(c, "SELECT 1", &e);
    show("after-rollback", rc, &e, NULL);
}

static void copies(PGconn *c)
{
    struct sfr_err e = {0};
    char buf[512];
    const char data[] = "10\ttab\\there\n11\t\\N\n12\tlast\n";
    enum sfr_rc rc = sfr_pg_copy_in_begin(c, "COPY t (id, v) FROM STDIN", &e, "COPY into %s", "t");
    enum sfr_rc sent = rc == SFR_OK ? sfr_pg_copy_in_put(c, data, strlen(data)) : rc;
    if (rc == SFR_OK)
        rc = sfr_pg_copy_in_end(c, sent, &e, "COPY into %s", "t");
    snprintf(buf, sizeof(buf), "rows=%ld", count_rows(c));
    show("copy-in", rc, &e, buf);

    /* Bad data: the server's error, nothing stored. */
    const char bad[] = "20\tok\nnot-a-number\tx\n";
    rc = sfr_pg_copy_in_begin(c, "COPY t (id, v) FROM STDIN", &e, "COPY into t");
    sent = rc == SFR_OK ? sfr_pg_copy_in_put(c, bad, strlen(bad)) : rc;
    if (rc == SFR_OK)
        rc = sfr_pg_copy_in_end(c, sent, &e, "COPY into t");
    snprintf(buf, sizeof(buf), "rows=%ld", count_rows(c));
    show("copy-in-bad", rc, &e, buf);

    /* The caller gives up half way: the COPY is aborted, nothing stored. */
    const char half[] = "30\tpartial\n";
    rc = sfr_pg_copy_in_begin(c, "COPY t (id, v) FROM STDIN", &e, "COPY into t");
    if (rc == SFR_OK && sfr_pg_copy_in_put(c, half, strlen(half)) == SFR_OK)
        rc = sfr_pg_copy_in_end(c, SFR_EPG, &e, "COPY into t");
    snprintf(buf, sizeof(buf), "rows=%ld", count_rows(c));
    show("copy-in-abort", rc, &e, buf);

    rc = sfr_pg_copy_in_begin(c, "COPY nosuch FROM STDIN", &e, "COPY into %s", "nosuch");
    show("copy-in-begin-fail", rc, &e, NULL);

    /* COPY out, read to the end. */
    rc = sfr_pg_copy_out_begin(c, "COPY (SELECT id, v FROM t ORDER BY id) TO STDOUT", &e,
                               "streaming %s", "t");
    size_t used = 0;
    buf[0] = '\0';
    char *line;
    int len;
    while (rc == SFR_OK && (len = sfr_pg_copy_out_row(c, &line)) > 0) {
        for (int i = 0; i < len; i++)
            if (used + 3 < sizeof(buf))
                used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s",
                                         line[i] == '\n' ? "|" : (char[2]){line[i], 0});
        PQfreemem(line);
    }
    if (rc == SFR_OK)
        rc = sfr_pg_copy_out_end(c, SFR_OK, &e, "streaming t");
    show("copy-out", rc, &e, buf);

    /* An early stop: _end drains the rest, keeps the caller's error, and
     * the connection serves the next statement. */
    rc = sfr_pg_copy_out_begin(c, "COPY (SELECT g FROM generate_series(1, 5000) g) TO STDOUT", &e,
                               "streaming g");
    int got = 0;
    if (rc == SFR_OK && (len = sfr_pg_copy_out_row(c, &line)) > 0) {
        got++;
        PQfreemem(line);
    }
    struct sfr_err mine = {0};
    sfr_err_set(&mine, SFR_EINVAL, "the caller stopped");
    rc = sfr_pg_copy_out_end(c, rc == SFR_OK ? SFR_EINVAL : rc, &mine, "streaming g");
    snprintf(buf, sizeof(buf), "got=%d rows=%ld", got, count_rows(c));
    show("copy-out-stop", rc, &mine, buf);

    /* A COPY that fails while it streams: the error comes from _end. */
    rc =
        sfr_pg_copy_out_begin(c, "COPY (SELECT 1 / (3 - g) FROM generate_series(1, 5) g) TO STDOUT",
                              &e, "streaming %s", "1/(3-g)");
    got = 0;
    while (rc == SFR_OK && (len = sfr_pg_copy_out_row(c, &line)) > 0) {
        got++;
        PQfreemem(line);
    }
    if (rc == SFR_OK)
        rc = sfr_pg_copy_out_end(c, SFR_OK, &e, "streaming %s", "1/(3-g)");
    snprintf(buf, sizeof(buf), "got=%d", got);
    show("copy-out-fail", rc, &e, buf);

    rc = sfr_pg_copy_out_begin(c, "COPY (SELECT nosuch) TO STDOUT", &e, "streaming %s", "x");
    show("copy-out-begin-fail", rc, &e, NULL);
}

int main(void)
{
    PGconn *c;
    struct sfr_err e = {0};
    if (sfr_pg_connect(NULL, &c, &e) != SFR_OK) {
        fprintf(stderr, "sqldrv: %s\n", e.msg);
        return 1;
    }
    queries(c);
    copies(c);
    PQfinish(c);
    return 0;
}
