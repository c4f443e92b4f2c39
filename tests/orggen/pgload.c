/* pgload.c — the Heroku-Connect-layout mirror: the DDL of sfr_pg_mirror_ddl()
 * (tables, hcu_/hc_ indexes, optionally Connect's trigger log and triggers),
 * then one COPY per object of exactly the records that went to sfemu, with
 * _hc_lastop 'SYNCED'. The session runs with xmlbinary = 'hex', the setting
 * Connect's own sync sessions use, so the triggers do not log the load.
 * Which columns are filled is read back from the catalog after the DDL, so
 * the load follows whatever the DDL made (mapped fields plus system columns). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orggen.h"
#include "sfrecon/log.h"
#include "sfrecon/pg.h"

#define COPY_BUF (1 << 20)

enum sfr_rc gen_pg_run(PGconn *c, const char *sql, int n, const char *const *params,
                       struct sfr_err *err)
{
    PGresult *res = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    enum sfr_rc rc = SFR_OK;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        rc = sfr_pg_error(res, c, err, "orggen: %.200s", sql);
    PQclear(res);
    return rc;
}

char *gen_pg_table(PGconn *c, const struct gen *g, const struct gen_obj *o)
{
    char *s = sfr_pg_quote_ident(c, g->pg_schema);
    char *t = sfr_pg_quote_ident(c, o->obj->table);
    char *q = sfr_asprintf("%s.%s", s, t);
    sfr_free(s);
    sfr_free(t);
    return q;
}

const char *gen_pg_value(const struct sfr_field *f, const char *val, char buf[32])
{
    if (val == NULL)
        return NULL;
    if (f->type == SFR_FT_BOOLEAN)
        return strcmp(val, "true") == 0 ? "t" : "f";
    if (f->type == SFR_FT_DATETIME) {
        int64_t ms;
        if (gen_parse_ts(val, &ms)) {
            gen_fmt_pg_ts(ms, buf);
            return buf;
        }
    }
    return val;
}

/* Marks the describe fields that have a column in the created table. */
static enum sfr_rc discover_columns(PGconn *c, const struct gen *g, struct gen_obj *o,
                                    struct sfr_err *err)
{
    char *qt = gen_pg_table(c, g, o);
    const char *params[1] = {qt};
    PGresult *res = PQexecParams(c,
                                 "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass"
                                 " AND attnum > 0 AND NOT attisdropped",
                                 1, NULL, params, NULL, NULL, 0);
    enum sfr_rc rc = SFR_OK;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = sfr_pg_error(res, c, err, "reading the columns of %s", qt);
        goto out;
    }
    for (int k = 0; k < o->obj->n_fields; k++) {
        const struct sfr_field *f = &o->obj->fields[k];
        const char *col = f->type == SFR_FT_ID ? "sfid" : f->column;
        o->in_mirror[k] = false;
        for (int r = 0; r < PQntuples(res); r++)
            if (strcmp(PQgetvalue(res, r, 0), col) == 0)
                o->in_mirror[k] = true;
    }
out:
    PQclear(res);
    sfr_free(qt);
    return rc;
}

enum sfr_rc gen_pg_create(PGconn *c, struct gen *g, bool triggers, bool replace,
                          struct sfr_err *err)
{
    struct sfr_buf ddl = SFR_BUF_INIT;
    enum sfr_rc rc = SFR_OK;
    const char *p[1] = {g->pg_schema};
    PGresult *res =
        PQexecParams(c, "SELECT 1 FROM pg_namespace WHERE nspname = $1", 1, NULL, p, NULL, NULL, 0);
    bool exists = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0;
    PQclear(res);
    if (exists && !replace) {
        rc = sfr_err_set(err, SFR_EUSAGE, "schema %s already exists in the mirror database",
                         g->pg_schema);
        sfr_err_hint(err, "orggen builds a mirror from scratch: use a fresh database or --replace");
        goto out;
    }
    if (exists) {
        char *qs = sfr_pg_quote_ident(c, g->pg_schema);
        char *sql = sfr_asprintf("DROP SCHEMA %s CASCADE", qs);
        rc = gen_pg_run(c, sql, 0, NULL, err);
        sfr_free(sql);
        sfr_free(qs);
        if (rc != SFR_OK)
            goto out;
    }
    if (triggers) {
        rc = gen_pg_run(c, "CREATE EXTENSION IF NOT EXISTS hstore SCHEMA public", 0, NULL, err);
        if (rc != SFR_OK)
            goto out;
    }
    rc = sfr_pg_mirror_ddl(g->cfg, &g->schema, &ddl, triggers, err);
    if (rc != SFR_OK)
        goto out;
    res = PQexec(c, ddl.data);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = sfr_pg_error(res, c, err, "creating the mirror schema %s", g->pg_schema);
    PQclear(res);
    for (int k = 0; k < g->n_objs && rc == SFR_OK; k++)
        rc = discover_columns(c, g, &g->objs[k], err);
out:
    sfr_buf_cleanup(&ddl);
    return rc;
}

/* Appends one COPY text line of record rec (mirror columns in describe order,
 * then _hc_lastop and _hc_err). */
static void copy_line(struct sfr_buf *b, const struct gen_obj *o, const struct gen_rec *rec)
{
    char tmp[32];
    for (int k = 0; k < o->obj->n_fields; k++) {
        if (!o->in_mirror[k])
            continue;
        sfr_pg_copy_escape(b, gen_pg_value(&o->obj->fields[k], rec->val[k], tmp));
        sfr_buf_putc(b, '\t');
    }
    sfr_buf_puts(b, "SYNCED\t\\N\n");
}

/* Large loads build their indexes once after the COPY (much faster than
 * maintaining them row by row): the definitions of every index but the
 * primary key are saved into defs and the indexes dropped. */
static enum sfr_rc indexes_off(PGconn *c, const char *qt, struct sfr_strv *defs,
                               struct sfr_err *err)
{
    const char *p[1] = {qt};
    PGresult *res = PQexecParams(
        c,
        "SELECT pg_get_indexdef(i.indexrelid), quote_ident(n.nspname) || '.' ||"
        " quote_ident(x.relname) FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid"
        " JOIN pg_namespace n ON n.oid = x.relnamespace"
        " WHERE i.indrelid = $1::regclass AND NOT i.indisprimary"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)",
        1, NULL, p, NULL, NULL, 0);
    enum sfr_rc rc = SFR_OK;
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        rc = sfr_pg_error(res, c, err, "listing the indexes of %s", qt);
    for (int r = 0; rc == SFR_OK && r < PQntuples(res); r++) {
        sfr_strv_push(defs, PQgetvalue(res, r, 0));
        char *sql = sfr_asprintf("DROP INDEX %s", PQgetvalue(res, r, 1));
        rc = gen_pg_run(c, sql, 0, NULL, err);
        sfr_free(sql);
    }
    PQclear(res);
    return rc;
}

static enum sfr_rc copy_object(PGconn *c, const struct gen *g, const struct gen_obj *o,
                               struct sfr_err *err)
{
    struct sfr_strv defs = {0};
    struct sfr_buf sql = SFR_BUF_INIT, buf = SFR_BUF_INIT;
    struct gen_rec rec;
    gen_rec_init(&rec);
    enum sfr_rc rc = SFR_OK;
    char *qt = gen_pg_table(c, g, o);
    sfr_buf_printf(&sql, "COPY %s (", qt);
    for (int k = 0; k < o->obj->n_fields; k++)
        if (o->in_mirror[k]) {
            const struct sfr_field *f = &o->obj->fields[k];
            char *col = sfr_pg_quote_ident(c, f->type == SFR_FT_ID ? "sfid" : f->column);
            sfr_buf_printf(&sql, "%s, ", col);
            sfr_free(col);
        }
    sfr_buf_puts(&sql, "_hc_lastop, _hc_err) FROM STDIN");
    if (o->n >= 20000 && (rc = indexes_off(c, qt, &defs, err)) != SFR_OK)
        goto out;
    PGresult *res = PQexec(c, sql.data);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        rc = sfr_pg_error(res, c, err, "COPY into %s", qt);
        PQclear(res);
        goto out;
    }
    PQclear(res);
    for (long i = 0; i < o->n; i++) {
        gen_record(g, o, i, &rec);
        copy_line(&buf, o, &rec);
        if (buf.len >= COPY_BUF || i + 1 == o->n) {
            if (PQputCopyData(c, buf.data, (int)buf.len) != 1) {
                rc = sfr_pg_error(NULL, c, err, "COPY into %s", qt);
                goto out;
            }
            sfr_buf_reset(&buf);
        }
    }
    if (PQputCopyEnd(c, NULL) != 1) {
        rc = sfr_pg_error(NULL, c, err, "COPY into %s", qt);
        goto out;
    }
    while ((res = PQgetResult(c)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == SFR_OK)
            rc = sfr_pg_error(res, c, err, "COPY into %s", qt);
        PQclear(res);
    }
    for (size_t d = 0; d < defs.n && rc == SFR_OK; d++)
        rc = gen_pg_run(c, defs.v[d], 0, NULL, err);
    if (rc == SFR_OK)
        sfr_log_info("mirror: %s: %ld rows copied", o->obj->table, o->n);
out:
    sfr_strv_cleanup(&defs);
    sfr_free(qt);
    sfr_buf_cleanup(&sql);
    sfr_buf_cleanup(&buf);
    gen_rec_cleanup(&rec);
    return rc;
}

enum sfr_rc gen_pg_load(PGconn *c, const struct gen *g, struct sfr_err *err)
{
    enum sfr_rc rc = gen_pg_run(c, "SET xmlbinary = 'hex'", 0, NULL, err);
    for (int k = 0; k < g->n_objs && rc == SFR_OK; k++)
        if (g->objs[k].map != NULL)
            rc = copy_object(c, g, &g->objs[k], err);
    if (rc == SFR_OK)
        rc = gen_pg_run(c, "ANALYZE", 0, NULL, err);
    return rc;
}
