/* mirror.c — reading and writing Heroku Connect mirror tables.
 *
 * Reads: the COPY text-format row splitter used by the streaming path, and the
 * per-table facts (columns, trigger log) the side needs. Writes: records in
 * Salesforce text form applied as the sync process would apply them (SET LOCAL
 * xmlbinary = 'hex', so Connect's logger trigger does not queue them back to
 * Salesforce), each under its own savepoint, journaled with the whole old and
 * new row in the same transaction; and the undo of such a journal.
 * Constraints and triggers users added are never disabled or dropped. */
#include "sfrecon/pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sfrecon/log.h"

/* ---- pure helpers ---- */

/* Unescapes COPY text escapes of p[0..n) in place; returns the new length or -1. */
static long unescape(char *p, size_t n)
{
    size_t r = 0, w = 0;
    while (r < n) {
        char c = p[r++];
        if (c != '\\') {
            p[w++] = c;
            continue;
        }
        if (r >= n)
            return -1;
        c = p[r++];
        switch (c) {
        case 'b':
            p[w++] = '\b';
            break;
        case 'f':
            p[w++] = '\f';
            break;
        case 'n':
            p[w++] = '\n';
            break;
        case 'r':
            p[w++] = '\r';
            break;
        case 't':
            p[w++] = '\t';
            break;
        case 'v':
            p[w++] = '\v';
            break;
        case 'x': {
            int v = 0, k = 0;
            for (; k < 2 && r < n; k++, r++) {
                char h = p[r];
                int d = h >= '0' && h <= '9'   ? h - '0'
                        : h >= 'a' && h <= 'f' ? h - 'a' + 10
                        : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                               : -1;
                if (d < 0)
                    break;
                v = v * 16 + d;
            }
            if (k == 0)
                p[w++] = 'x';
            else
                p[w++] = (char)v;
            break;
        }
        default:
            if (c >= '0' && c <= '7') {
                int v = c - '0';
                for (int k = 0; k < 2 && r < n && p[r] >= '0' && p[r] <= '7'; k++, r++)
                    v = v * 8 + (p[r] - '0');
                p[w++] = (char)v;
            } else {
                p[w++] = c; /* \\ and any other escaped character stand for themselves */
            }
        }
    }
    return (long)w;
}

void sfr_pg_copy_escape(struct sfr_buf *b, const char *v)
{
    if (v == NULL) {
        sfr_buf_puts(b, "\\N");
        return;
    }
    for (const char *p = v; *p; p++) {
        switch (*p) {
        case '\\':
            sfr_buf_puts(b, "\\\\");
            break;
        case '\t':
            sfr_buf_puts(b, "\\t");
            break;
        case '\n':
            sfr_buf_puts(b, "\\n");
            break;
        case '\r':
            sfr_buf_puts(b, "\\r");
            break;
        default:
            sfr_buf_putc(b, *p);
        }
    }
}

int sfr_pg_copy_split(char *line, size_t len, const char **vals, size_t *lens, int max)
{
    if (len > 0 && line[len - 1] == '\n')
        len--;
    char *p = line, *end = line + len;
    int n = 0;
    for (;;) {
        char *tab = memchr(p, '\t', (size_t)(end - p));
        char *fend = tab ? tab : end;
        size_t flen = (size_t)(fend - p);
        const char *v = p;
        if (flen == 2 && p[0] == '\\' && p[1] == 'N') {
            v = NULL;
            flen = 0;
        } else if (memchr(p, '\\', flen) != NULL) {
            long nl = unescape(p, flen);
            if (nl < 0)
                return -1;
            flen = (size_t)nl;
        }
        p[flen] = '\0'; /* inside the field, or at the tab / newline / terminator */
        if (n < max) {
            vals[n] = v;
            lens[n] = flen;
        }
        n++;
        if (tab == NULL)
            break;
        p = tab + 1;
    }
    return n;
}

char *sfr_pg_input_value(const struct sfr_field *f, const char *sf_value)
{
    if (sf_value == NULL || sf_value[0] == '\0')
        return NULL; /* Salesforce stores no empty strings */
    if (f->type == SFR_FT_DATETIME) {
        int64_t ms;
        if (sfr_parse_datetime_ms(sf_value, strlen(sf_value), &ms)) {
            char out[32];
            sfr_format_datetime_pg(ms, out);
            return sfr_strdup(out);
        }
    }
    return sfr_strdup(sf_value); /* the server rejects what it cannot read, per record */
}

static bool is_id_field(const struct sfr_field *f)
{
    return strcasecmp(f->name, "Id") == 0;
}

void sfr_pg_field_expr(struct sfr_buf *b, const struct sfr_field *f, const char *alias)
{
    if (is_id_field(f)) {
        sfr_buf_printf(b, "%s\"sfid\"", alias);
    } else if (f->type == SFR_FT_LOCATION) {
        char *lat = sfr_asprintf("%s__latitude__s", f->column);
        char *lon = sfr_asprintf("%s__longitude__s", f->column);
        sfr_buf_printf(b, "(%s", alias);
        sfr_pg_ident_append(b, lat);
        sfr_buf_printf(b, "::text || ',' || %s", alias);
        sfr_pg_ident_append(b, lon);
        sfr_buf_puts(b, "::text)");
        sfr_free(lat);
        sfr_free(lon);
    } else {
        sfr_buf_puts(b, alias);
        sfr_pg_ident_append(b, f->column);
    }
}

void sfr_pg_relext_select(struct sfr_buf *b, const struct sfr_pg_table *t,
                          const struct sfr_projection *p, const char *alias)
{
    for (int i = 0; i < p->n_relext; i++) {
        bool have = false;
        for (size_t k = 0; k < t->columns.n && !have; k++)
            have = strcmp(t->columns.v[k], p->relext[i].column) == 0;
        if (!have) {
            sfr_buf_puts(b, ", NULL::text");
            continue;
        }
        sfr_buf_printf(b, ", %s", alias);
        sfr_pg_ident_append(b, p->relext[i].column);
        sfr_buf_puts(b, "::text");
    }
}

/* ---- table facts ---- */

void sfr_pg_table_cleanup(struct sfr_pg_table *t)
{
    if (t == NULL)
        return;
    sfr_free(t->schema);
    sfr_free(t->table);
    sfr_free(t->qname);
    sfr_free(t->display);
    sfr_free(t->tlog_qname);
    sfr_free(t->tlog_archive_qname);
    sfr_strv_cleanup(&t->columns);
    memset(t, 0, sizeof(*t));
}

enum sfr_rc sfr_pg_table_load(PGconn *conn, const char *schema, const char *table,
                              struct sfr_pg_table *t, struct sfr_err *err)
{
    memset(t, 0, sizeof(*t));
    const char *params[2] = {schema, table};
    /* The exact name wins over a case-insensitive match (relname sorts it first). */
    PGresult *res;
    enum sfr_rc rc =
        sfr_pg_query_one(conn,
                         "WITH tb AS (SELECT c.oid, c.relname, n.oid AS nsp FROM pg_class c"
                         "  JOIN pg_namespace n ON n.oid = c.relnamespace"
                         "  WHERE n.nspname = $1 AND lower(c.relname) = lower($2)"
                         "  AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
                         "  ORDER BY c.relname = $2 DESC, c.relname LIMIT 1)"
                         " SELECT a.attname, tb.relname,"
                         " EXISTS (SELECT 1 FROM pg_class c2 WHERE c2.relnamespace = tb.nsp"
                         "  AND c2.relname = '_trigger_log'),"
                         " EXISTS (SELECT 1 FROM pg_class c2 WHERE c2.relnamespace = tb.nsp"
                         "  AND c2.relname = '_trigger_log_archive')"
                         " FROM tb JOIN pg_attribute a ON a.attrelid = tb.oid AND a.attnum > 0"
                         " AND NOT a.attisdropped ORDER BY a.attnum",
                         2, params, &res, err, "reading the columns of %s.%s", schema, table);
    if (rc == SFR_ENOTFOUND) {
        sfr_err_set(err, SFR_ENOTFOUND, "mirror table %s.%s does not exist", schema, table);
        sfr_err_hint(err, "create the mirror with `sfrecon schema -c MAPPING | psql`, or check the "
                          "schema name (--schema)");
    }
    if (rc != SFR_OK)
        goto out;
    table = PQgetvalue(res, 0, 1);
    t->schema = sfr_strdup(schema);
    t->table = sfr_strdup(table);
    struct sfr_buf b = SFR_BUF_INIT;
    sfr_pg_qualified_append(&b, schema, table);
    t->qname = sfr_buf_steal(&b);
    sfr_pg_qualified_append(&b, schema, "_trigger_log");
    t->tlog_qname = sfr_buf_steal(&b);
    sfr_pg_qualified_append(&b, schema, "_trigger_log_archive");
    t->tlog_archive_qname = sfr_buf_steal(&b);
    t->display = sfr_asprintf("%s.%s", schema, table);
    for (int i = 0; i < PQntuples(res); i++) {
        const char *col = PQgetvalue(res, i, 0);
        sfr_strv_push(&t->columns, col);
        t->has_isdeleted |= strcmp(col, "isdeleted") == 0;
        t->has_hc_lastop |= strcmp(col, "_hc_lastop") == 0;
        t->has_hc_err |= strcmp(col, "_hc_err") == 0;
    }
    t->has_trigger_log = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
    t->has_trigger_log_archive = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
out:
    PQclear(res);
    return rc;
}

static bool has_column(const struct sfr_pg_table *t, const char *col)
{
    for (size_t i = 0; i < t->columns.n; i++)
        if (strcmp(t->columns.v[i], col) == 0)
            return true;
    return false;
}

enum sfr_rc sfr_pg_table_check(const struct sfr_pg_table *t, const struct sfr_projection *p,
                               struct sfr_err *err)
{
    if (!has_column(t, "sfid"))
        return sfr_err_set(err, SFR_ECONFIG, "%s has no sfid column: not a Heroku Connect mirror",
                           t->display);
    for (int i = 0; i < p->n_fields; i++) {
        const struct sfr_field *f = p->fields[i];
        if (is_id_field(f))
            continue;
        char *col = f->type == SFR_FT_LOCATION ? sfr_asprintf("%s__latitude__s", f->column)
                                               : sfr_strdup(f->column);
        bool ok = has_column(t, col) || (strcmp(col, "isdeleted") == 0);
        if (!ok) {
            sfr_err_set(err, SFR_ECONFIG, "%s has no column %s for %s.%s", t->display, col,
                        p->obj ? p->obj->name : "?", f->name);
            sfr_err_hint(err, "add the column (see `sfrecon schema`) or drop the field from the "
                              "mapping; `sfrecon lint` lists every such gap");
            sfr_free(col);
            return SFR_ECONFIG;
        }
        sfr_free(col);
    }
    return SFR_OK;
}

/* ---- writes ---- */

/* Whether field i is written to a column of t (and which column). */
static const char *write_column(const struct sfr_pg_table *t, const struct sfr_field *f)
{
    if (is_id_field(f) || f->type == SFR_FT_LOCATION)
        return NULL; /* the key is written from w->sfid; compound values are read-only */
    if (!has_column(t, f->column))
        return NULL;
    return f->column;
}

struct wctx {
    PGconn *conn;
    const struct sfr_pg_table *t;
    const struct sfr_projection *p;
    int64_t run;
    long *rows, *queries;
};

/* Runs a statement with text parameters; NULL on failure (the server's
 * words and SQLSTATE in *failed). */
static PGresult *run(struct wctx *c, const char *sql, int n, const char *const *params,
                     struct sfr_err *failed)
{
    (*c->queries)++;
    PGresult *res;
    return sfr_pg_query(c->conn, sql, n, params, &res, failed, NULL) == SFR_OK ? res : NULL;
}

static void record_failure(struct sfr_write *w, const struct sfr_err *failed)
{
    w->ok = false;
    snprintf(w->error_code, sizeof(w->error_code), "%s",
             failed->sqlstate[0] ? failed->sqlstate : "PG_ERROR");
    snprintf(w->message, sizeof(w->message), "%.*s", (int)sizeof(w->message) - 1, failed->msg);
}

static enum sfr_rc journal(struct wctx *c, const char *op, const char *sfid, const char *old_row,
                           const char *new_row, struct sfr_err *failed)
{
    if (c->run <= 0)
        return SFR_OK;
    char runbuf[24];
    snprintf(runbuf, sizeof(runbuf), "%lld", (long long)c->run);
    const char *params[7] = {
        runbuf, c->p->obj ? c->p->obj->name : c->t->table, c->t->display, sfid, op, old_row,
        new_row};
    PGresult *res = run(c,
                        "INSERT INTO sfrecon.repair_journal (repair_run_id, seq, object,"
                        " table_name, sfid, side, op, old_row, new_row)"
                        " SELECT $1, coalesce(max(seq), 0) + 1, $2, $3, $4, 'pg', $5,"
                        " $6::jsonb, $7::jsonb FROM sfrecon.repair_journal"
                        " WHERE repair_run_id = $1",
                        7, params, failed);
    if (res == NULL)
        return SFR_EPG;
    PQclear(res);
    return SFR_OK;
}

/* Builds "UPDATE ... SET" or "INSERT ..." for the set fields; params[0] is sfid. */
static char *build_write_sql(struct wctx *c, const struct sfr_write *w, bool insert,
                             struct sfr_strv *vals, int *n_cols)
{
    struct sfr_buf cols = SFR_BUF_INIT, sql = SFR_BUF_INIT;
    *n_cols = 0;
    for (int i = 0; i < c->p->n_fields; i++) {
        const struct sfr_field *f = c->p->fields[i];
        const char *col = write_column(c->t, f);
        if (col == NULL || (w->set != NULL && !w->set[i]))
            continue;
        (*n_cols)++;
        sfr_strv_take(vals, sfr_pg_input_value(f, w->values ? w->values[i] : NULL));
        if (insert) {
            sfr_buf_puts(&cols, ", ");
            sfr_pg_ident_append(&cols, col);
        } else {
            sfr_buf_puts(&cols, *n_cols > 1 ? ", " : "");
            sfr_pg_ident_append(&cols, col);
            sfr_buf_printf(&cols, " = $%d", *n_cols + 1);
        }
    }
    if (insert) {
        sfr_buf_printf(&sql, "INSERT INTO %s AS t (\"sfid\"%s) VALUES ($1", c->t->qname,
                       cols.data ? cols.data : "");
        for (int i = 0; i < *n_cols; i++)
            sfr_buf_printf(&sql, ", $%d", i + 2);
        sfr_buf_puts(&sql, ") RETURNING t.id::text, row_to_json(t)::text");
    } else if (*n_cols > 0) {
        sfr_buf_printf(&sql,
                       "UPDATE %s AS t SET %s WHERE t.\"sfid\" = $1"
                       " RETURNING t.id::text, row_to_json(t)::text",
                       c->t->qname, cols.data);
    }
    sfr_buf_cleanup(&cols);
    return sql.data ? sfr_buf_steal(&sql) : NULL;
}

/* Params array: sfid then the converted values (NULL = SQL NULL). */
static const char **param_array(const char *sfid, const struct sfr_strv *vals)
{
    const char **params = sfr_calloc(vals->n + 1, sizeof(*params));
    params[0] = sfid;
    for (size_t i = 0; i < vals->n; i++)
        params[i + 1] = vals->v[i];
    return params;
}

/* Applies one record inside its savepoint. Returns SFR_EPG when a statement
 * failed (*failed holds the server's words), SFR_ENOTFOUND for an update of an
 * absent row. */
static enum sfr_rc write_record(struct wctx *c, struct sfr_write *w, struct sfr_err *failed)
{
    enum sfr_rc rc = SFR_OK;
    struct sfr_strv vals = {0};
    const char **params = NULL;
    char *sql = NULL;
    PGresult *old = NULL, *res = NULL;
    enum sfr_write_kind kind = w->kind;
    const char *sfid = w->sfid;

    if (kind != SFR_WRITE_INSERT) {
        char *q = sfr_asprintf("SELECT t.id::text, row_to_json(t)::text FROM %s AS t"
                               " WHERE t.\"sfid\" = $1 ORDER BY t.id FOR UPDATE",
                               c->t->qname);
        old = run(c, q, 1, &sfid, failed);
        sfr_free(q);
        if (old == NULL)
            return SFR_EPG;
        if (kind == SFR_WRITE_UPSERT)
            kind = PQntuples(old) > 0 ? SFR_WRITE_UPDATE : SFR_WRITE_INSERT;
        else if (kind == SFR_WRITE_UPDATE && PQntuples(old) == 0) {
            rc = SFR_ENOTFOUND;
            goto out;
        }
    }
    if (kind == SFR_WRITE_DELETE) {
        char *q = sfr_asprintf("DELETE FROM %s AS t WHERE t.\"sfid\" = $1", c->t->qname);
        res = run(c, q, 1, &sfid, failed);
        sfr_free(q);
        if (res == NULL) {
            rc = SFR_EPG;
            goto out;
        }
        for (int i = 0; i < PQntuples(old) && rc == SFR_OK; i++)
            rc = journal(c, "delete", sfid, PQgetvalue(old, i, 1), NULL, failed);
        *c->rows += atol(PQcmdTuples(res));
        goto out;
    }
    int n_cols;
    sql = build_write_sql(c, w, kind == SFR_WRITE_INSERT, &vals, &n_cols);
    if (sql == NULL)
        goto out; /* an update that sets nothing */
    params = param_array(sfid, &vals);
    res = run(c, sql, n_cols + 1, params, failed);
    if (res == NULL) {
        rc = SFR_EPG;
        goto out;
    }
    *c->rows += PQntuples(res);
    for (int i = 0; i < PQntuples(res) && rc == SFR_OK; i++) {
        const char *old_row = NULL;
        for (int k = 0; old != NULL && k < PQntuples(old); k++)
            if (strcmp(PQgetvalue(old, k, 0), PQgetvalue(res, i, 0)) == 0)
                old_row = PQgetvalue(old, k, 1);
        rc = journal(c, kind == SFR_WRITE_INSERT ? "insert" : "update", sfid, old_row,
                     PQgetvalue(res, i, 1), failed);
    }
out:
    PQclear(old);
    PQclear(res);
    sfr_free(sql);
    sfr_free(params);
    sfr_strv_cleanup(&vals);
    return rc;
}

enum sfr_rc sfr_pg_mirror_write(PGconn *conn, const struct sfr_pg_table *t,
                                const struct sfr_projection *p, struct sfr_write *w, int n,
                                int64_t journal_run, long *rows, long *queries, struct sfr_err *err)
{
    struct wctx c = {conn, t, p, journal_run, rows, queries};
    enum sfr_rc rc = sfr_pg_exec(conn, "BEGIN", err);
    if (rc != SFR_OK)
        return rc;
    /* The sync process's session: Connect-style triggers mark rows SYNCED
     * and do not log them to _trigger_log (no echo back to Salesforce). */
    rc = sfr_pg_exec(conn, "SET LOCAL xmlbinary = 'hex'", err);
    *queries += 2;
    for (int i = 0; rc == SFR_OK && i < n; i++) {
        w[i].ok = false;
        w[i].error_code[0] = w[i].message[0] = w[i].new_id[0] = '\0';
        if (w[i].sfid == NULL || w[i].sfid[0] == '\0') {
            snprintf(w[i].error_code, sizeof(w[i].error_code), "MISSING_ID");
            snprintf(w[i].message, sizeof(w[i].message),
                     "a mirror row needs the Salesforce Id (sfid) of its record");
            continue;
        }
        rc = sfr_pg_exec(conn, "SAVEPOINT sfr_w", err);
        (*queries)++;
        if (rc != SFR_OK)
            break;
        struct sfr_err failed = {0};
        enum sfr_rc wrc = write_record(&c, &w[i], &failed);
        if (wrc == SFR_OK) {
            w[i].ok = true;
            rc = sfr_pg_exec(conn, "RELEASE SAVEPOINT sfr_w", err);
        } else {
            if (wrc == SFR_ENOTFOUND) {
                snprintf(w[i].error_code, sizeof(w[i].error_code), "NOT_FOUND");
                snprintf(w[i].message, sizeof(w[i].message), "no row with sfid %s in %s", w[i].sfid,
                         t->display);
            } else {
                record_failure(&w[i], &failed);
            }
            if (PQstatus(conn) != CONNECTION_OK) {
                rc = sfr_pg_error(NULL, conn, err, "writing to %s", t->display);
                break;
            }
            rc = sfr_pg_exec(conn, "ROLLBACK TO SAVEPOINT sfr_w", err);
        }
        (*queries)++;
    }
    if (rc == SFR_OK) {
        rc = sfr_pg_exec(conn, "COMMIT", err);
        (*queries)++;
        if (rc != SFR_OK)
            sfr_err_prefix(err, "committing %d writes to %s", n, t->display);
    } else {
        sfr_pg_rollback(conn);
    }
    if (rc != SFR_OK) {
        for (int i = 0; i < n; i++) {
            if (!w[i].ok && w[i].error_code[0])
                continue;
            w[i].ok = false;
            snprintf(w[i].error_code, sizeof(w[i].error_code), "%s",
                     err && err->sqlstate[0] ? err->sqlstate : "PG_ERROR");
            snprintf(w[i].message, sizeof(w[i].message), "transaction rolled back: %.480s",
                     err ? err->msg : "Postgres error");
        }
    }
    return rc;
}

/* ---- undo ---- */

/* Splits "schema.table" at the last dot into a quoted qualified name. */
static char *quoted_from_display(const char *display)
{
    const char *dot = strrchr(display, '.');
    struct sfr_buf b = SFR_BUF_INIT;
    if (dot == NULL) {
        sfr_pg_ident_append(&b, display);
    } else {
        char *schema = sfr_strndup(display, (size_t)(dot - display));
        sfr_pg_qualified_append(&b, schema, dot + 1);
        sfr_free(schema);
    }
    return sfr_buf_steal(&b);
}

/* SQL that restores one journal entry from $1 (old_row, or new_row for an
 * insert). Caller frees. */
static char *undo_sql(PGconn *conn, const char *op, const char *qt, const char *old_row,
                      struct sfr_err *err, const char *id, const char *table)
{
    if (strcmp(op, "insert") == 0)
        return sfr_asprintf("DELETE FROM %s WHERE id = ($1::jsonb ->> 'id')::bigint", qt);
    if (strcmp(op, "delete") == 0)
        return sfr_asprintf("INSERT INTO %s SELECT * FROM jsonb_populate_record(NULL::%s,"
                            " $1::jsonb)",
                            qt, qt);
    /* update: every column but id gets its old value back */
    const char *params[1] = {old_row};
    PGresult *res;
    if (sfr_pg_query(conn,
                     "SELECT string_agg(quote_ident(k), ', ' ORDER BY k)"
                     " FROM jsonb_object_keys($1::jsonb) AS k WHERE k <> 'id'",
                     1, params, &res, err, "undoing journal entry %s (%s of %s)", id, op,
                     table) != SFR_OK)
        return NULL;
    const char *cols = PQgetvalue(res, 0, 0);
    char *sql = sfr_asprintf("UPDATE %s AS t SET (%s) = (SELECT %s FROM"
                             " jsonb_populate_record(NULL::%s, $1::jsonb))"
                             " WHERE t.id = ($1::jsonb ->> 'id')::bigint",
                             qt, cols, cols, qt);
    PQclear(res);
    return sql;
}

/* Connect's status trigger stamps SYNCED on a sync-process write; put the
 * journaled _hc_lastop/_hc_err back when they differ (a non-null status
 * different from SYNCED survives the trigger; see docs/mirror.md). */
static const char fixup_sql[] =
    "UPDATE %s SET _hc_lastop = $1::jsonb ->> '_hc_lastop', _hc_err = $1::jsonb ->> '_hc_err'"
    " WHERE id = ($1::jsonb ->> 'id')::bigint AND $1::jsonb ? '_hc_lastop'"
    " AND (_hc_lastop IS DISTINCT FROM $1::jsonb ->> '_hc_lastop'"
    "  OR _hc_err IS DISTINCT FROM $1::jsonb ->> '_hc_err')";

static enum sfr_rc undo_one(PGconn *conn, const char *id, const char *op, const char *table,
                            const char *old_row, const char *new_row, struct sfr_err *err)
{
    char *qt = quoted_from_display(table);
    enum sfr_rc rc = SFR_OK;
    const char *row = strcmp(op, "insert") == 0 ? new_row : old_row;
    char *sql = undo_sql(conn, op, qt, old_row, err, id, table);
    if (sql == NULL) {
        rc = SFR_EPG;
        goto out;
    }
    const char *params[1] = {row};
    rc = sfr_pg_query(conn, sql, 1, params, NULL, err, "undoing journal entry %s (%s of %s)", id,
                      op, table);
    if (rc != SFR_OK)
        goto out;
    /* A table without the status columns (its journaled rows lack the key,
     * e.g. _trigger_log) has nothing to fix up; running the UPDATE there
     * would abort the transaction with 42703. */
    if (strcmp(op, "insert") != 0 && row != NULL && strstr(row, "\"_hc_lastop\"") != NULL) {
        sfr_free(sql);
        sql = sfr_asprintf(fixup_sql, qt);
        rc = sfr_pg_query(conn, sql, 1, params, NULL, err, "restoring _hc_lastop of %s", table);
        if (rc != SFR_OK)
            goto out;
    }
    const char *ip[1] = {id};
    rc = sfr_pg_query(conn, "UPDATE sfrecon.repair_journal SET undone_at = now() WHERE id = $1", 1,
                      ip, NULL, err, "marking journal entry %s undone", id);
out:
    sfr_free(sql);
    sfr_free(qt);
    return rc;
}

enum sfr_rc sfr_pg_undo(PGconn *conn, int64_t repair_run, long *n_undone, struct sfr_err *err)
{
    if (n_undone != NULL)
        *n_undone = 0;
    enum sfr_rc rc = sfr_pg_exec(conn, "BEGIN", err);
    if (rc != SFR_OK)
        return rc;
    PGresult *res = NULL;
    rc = sfr_pg_exec(conn, "SET LOCAL xmlbinary = 'hex'", err);
    if (rc != SFR_OK)
        goto out;
    char runbuf[24];
    snprintf(runbuf, sizeof(runbuf), "%lld", (long long)repair_run);
    const char *params[1] = {runbuf};
    /* Newest first; FOR UPDATE keeps a concurrent undo of the same run out. */
    rc = sfr_pg_query(conn,
                      "SELECT id::text, op, table_name, old_row::text, new_row::text"
                      " FROM sfrecon.repair_journal"
                      " WHERE repair_run_id = $1 AND side = 'pg' AND undone_at IS NULL"
                      " ORDER BY seq DESC, id DESC FOR UPDATE",
                      1, params, &res, err, "reading the repair journal of run %s", runbuf);
    if (rc != SFR_OK)
        goto out;
    for (int i = 0; i < PQntuples(res) && rc == SFR_OK; i++) {
        rc = undo_one(conn, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
                      PQgetisnull(res, i, 3) ? NULL : PQgetvalue(res, i, 3),
                      PQgetisnull(res, i, 4) ? NULL : PQgetvalue(res, i, 4), err);
        if (rc == SFR_OK && n_undone != NULL)
            (*n_undone)++;
    }
out:
    PQclear(res);
    if (rc == SFR_OK) {
        rc = sfr_pg_exec(conn, "COMMIT", err);
    } else {
        sfr_pg_rollback(conn);
        if (n_undone != NULL)
            *n_undone = 0;
    }
    return rc;
}
