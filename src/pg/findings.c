/* findings.c — the mirror-only checks of an audit (findings.h): orphaned
 * references resolved by key prefix, refused inserts, relationship external
 * Ids. Identifiers are quoted, values are parameters, and every result is
 * read through a cursor so memory stays bounded whatever the table size. */
#include "sfrecon/findings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sfrecon/pg.h"

#define CURSOR_BATCH 1000 /* the FETCH count below */

typedef enum sfr_rc (*row_fn)(void *ctx, PGresult *res, int row);

/* Runs sql (with text parameters) through a cursor, row_fn for each row. */
static enum sfr_rc cursor_each(PGconn *c, const char *sql, int n, const char *const *params,
                               row_fn fn, void *ctx, const char *what, struct sfr_err *err)
{
    enum sfr_rc rc = sfr_pg_exec(c, "BEGIN", err);
    if (rc != SFR_OK)
        return rc;
    char *decl = sfr_asprintf("DECLARE sfr_findings NO SCROLL CURSOR FOR %s", sql);
    rc = sfr_pg_query(c, decl, n, params, NULL, err, "%s", what);
    sfr_free(decl);
    while (rc == SFR_OK) {
        PGresult *res;
        rc = sfr_pg_query(c, "FETCH 1000 FROM sfr_findings", 0, NULL, &res, err, "%s", what);
        if (rc != SFR_OK)
            break;
        int rows = PQntuples(res);
        for (int i = 0; i < rows && rc == SFR_OK; i++)
            rc = fn(ctx, res, i);
        PQclear(res);
        if (rows < CURSOR_BATCH)
            break;
    }
    if (rc != SFR_OK) {
        sfr_pg_rollback(c);
        return rc;
    }
    return sfr_pg_exec(c, "COMMIT", err);
}

struct emit {
    const char *object, *parent, *field;
    sfr_disc_sink sink;
    void *ctx;
};

static enum sfr_rc emit(struct emit *e, struct sfr_discrepancy *d)
{
    d->sf_mod_ms = d->pg_mod_ms = INT64_MIN;
    enum sfr_rc rc = e->sink(e->ctx, d);
    sfr_discrepancy_cleanup(d);
    return rc;
}

/* ---- missing_parent ---- */

static enum sfr_rc on_orphan(void *ctx, PGresult *res, int i)
{
    struct emit *e = ctx;
    const char *parent = PQgetvalue(res, i, 1);
    struct sfr_discrepancy d;
    memset(&d, 0, sizeof(d));
    d.object = sfr_strdup(e->object);
    d.sfid = sfr_strdup(PQgetvalue(res, i, 0));
    d.cause = SFR_CAUSE_MISSING_PARENT;
    d.parent_object = sfr_strdup(e->parent);
    d.parent_sfid = sfr_strdup(parent);
    d.pg_id = atol(PQgetvalue(res, i, 2));
    d.detail = sfr_asprintf("%s %s points to %s %s, absent from the mirror", e->field, parent,
                            e->parent, parent);
    sfr_discrepancy_add_field(&d, e->field, parent, parent);
    return emit(e, &d);
}

static const struct sfr_mapped_object *find_mapped(const struct sfr_mapped_object *objs, int n,
                                                   const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcasecmp(objs[i].obj->name, name) == 0)
            return &objs[i];
    return NULL;
}

static bool has_col(const struct sfr_pg_table *t, const char *col)
{
    for (size_t i = 0; i < t->columns.n; i++)
        if (strcmp(t->columns.v[i], col) == 0)
            return true;
    return false;
}

/* Rows of t whose reference column col (values of `prefix` when not NULL)
 * name no row of the parent table pt. 15-character values are type
 * mismatches, reported by the content check. */
static enum sfr_rc orphans(PGconn *c, const struct sfr_pg_table *t, const char *col,
                           const struct sfr_pg_table *pt, const char *prefix, struct emit *e,
                           struct sfr_err *err)
{
    struct sfr_buf q = SFR_BUF_INIT, cq = SFR_BUF_INIT;
    sfr_pg_ident_append(&cq, col);
    sfr_buf_printf(&q,
                   "SELECT c.sfid, c.%s, c.id FROM %s AS c WHERE c.%s IS NOT NULL AND c.%s <> ''"
                   " AND length(c.%s) <> 15 AND c.sfid IS NOT NULL",
                   cq.data, t->qname, cq.data, cq.data, cq.data);
    if (t->has_isdeleted)
        sfr_buf_puts(&q, " AND c.isdeleted IS NOT TRUE");
    if (prefix != NULL)
        sfr_buf_printf(&q, " AND left(c.%s, 3) = $1::text", cq.data);
    sfr_buf_printf(&q, " AND NOT EXISTS (SELECT 1 FROM %s AS p WHERE p.sfid = c.%s)", pt->qname,
                   cq.data);
    sfr_buf_puts(&q, " ORDER BY c.sfid COLLATE \"C\"");
    char *what = sfr_asprintf("checking %s.%s references to %s", t->display, col, pt->display);
    const char *params[1] = {prefix};
    enum sfr_rc rc = cursor_each(c, q.data, prefix ? 1 : 0, params, on_orphan, e, what, err);
    sfr_free(what);
    sfr_buf_cleanup(&q);
    sfr_buf_cleanup(&cq);
    return rc;
}

/* One reference field: each mapped parent it may point at, by key prefix
 * when the field is polymorphic. */
static enum sfr_rc check_reference(PGconn *c, const char *schema, const struct sfr_pg_table *t,
                                   const struct sfr_field *f, const struct sfr_mapped_object *objs,
                                   int n, struct emit *e, struct sfr_strv *skipped,
                                   struct sfr_err *err)
{
    enum sfr_rc rc = SFR_OK;
    bool poly = f->n_reference_to > 1;
    for (int r = 0; r < f->n_reference_to && rc == SFR_OK; r++) {
        const struct sfr_mapped_object *po = find_mapped(objs, n, f->reference_to[r]);
        if (po == NULL)
            continue;
        if (poly && po->obj->key_prefix[0] == '\0') {
            sfr_strv_take(skipped, sfr_asprintf("%s.%s: references to %s not checked (no key "
                                                "prefix in its describe to tell them apart)",
                                                e->object, f->name, po->obj->name));
            continue;
        }
        struct sfr_pg_table pt;
        rc = sfr_pg_table_load(c, schema, po->obj->table, &pt, err);
        if (rc == SFR_ENOTFOUND) {
            sfr_err_clear(err);
            sfr_strv_take(skipped, sfr_asprintf("%s.%s: references to %s not checked (the mirror "
                                                "has no table %s)",
                                                e->object, f->name, po->obj->name, po->obj->table));
            rc = SFR_OK;
            continue;
        }
        if (rc == SFR_OK) {
            e->parent = po->obj->name;
            rc = orphans(c, t, f->column, &pt, poly ? po->obj->key_prefix : NULL, e, err);
        }
        sfr_pg_table_cleanup(&pt);
    }
    return rc;
}

/* ---- refused inserts ---- */

static enum sfr_rc on_refused(void *ctx, PGresult *res, int i)
{
    struct emit *e = ctx;
    struct sfr_discrepancy d;
    memset(&d, 0, sizeof(d));
    long pg_id = atol(PQgetvalue(res, i, 0));
    const char *hc_err = PQgetvalue(res, i, 1);
    d.object = sfr_strdup(e->object);
    d.sfid = sfr_strdup("");
    d.cause = SFR_CAUSE_SYNC_ERROR;
    d.pg_id = pg_id;
    d.detail = sfr_asprintf("mirror row id %ld was inserted by an app and never reached "
                            "Salesforce: %s",
                            pg_id, *hc_err ? hc_err : "(no message)");
    return emit(e, &d);
}

static enum sfr_rc refused_inserts(PGconn *c, const struct sfr_pg_table *t, struct emit *e,
                                   struct sfr_strv *skipped, struct sfr_err *err)
{
    if (!t->has_hc_lastop) {
        sfr_strv_take(skipped, sfr_asprintf("%s: refused inserts and _hc_lastop FAILED rows not "
                                            "checked (%s has no _hc_lastop column)",
                                            e->object, t->display));
        return SFR_OK;
    }
    char *q = sfr_asprintf("SELECT id, %s FROM %s WHERE sfid IS NULL AND _hc_lastop = 'FAILED'"
                           " ORDER BY id",
                           t->has_hc_err ? "coalesce(_hc_err, '')" : "''", t->qname);
    char *what = sfr_asprintf("reading failed inserts of %s", t->display);
    enum sfr_rc rc = cursor_each(c, q, 0, NULL, on_refused, e, what, err);
    sfr_free(what);
    sfr_free(q);
    return rc;
}

/* ---- relationship external Ids ---- */

struct relext_ctx {
    struct emit *e;
    const struct sfr_relext *rx;
};

static enum sfr_rc on_relext(void *ctx, PGresult *res, int i)
{
    struct relext_ctx *x = ctx;
    struct sfr_discrepancy d;
    memset(&d, 0, sizeof(d));
    const char *val = PQgetvalue(res, i, 1);
    const char *ref = PQgetisnull(res, i, 2) ? NULL : PQgetvalue(res, i, 2);
    const char *pext = PQgetisnull(res, i, 3) ? NULL : PQgetvalue(res, i, 3);
    bool parent_known = strcmp(PQgetvalue(res, i, 4), "t") == 0;
    d.object = sfr_strdup(x->e->object);
    d.sfid = sfr_strdup(PQgetvalue(res, i, 0));
    d.pg_id = atol(PQgetvalue(res, i, 5));
    if (!parent_known) {
        d.cause = SFR_CAUSE_MISSING_PARENT;
        d.parent_object = sfr_strdup(x->rx->parent);
        d.detail = sfr_asprintf("%s '%s' names no %s in the mirror (no row with %s = '%s')",
                                x->rx->name, val, x->rx->parent, x->rx->ext_field, val);
    } else {
        d.cause = SFR_CAUSE_FIELD_MISMATCH;
        d.detail = sfr_asprintf("%s '%s' disagrees with %s %s, whose %s is %s%s%s", x->rx->name,
                                val, x->rx->ref->name, ref ? ref : "(null)", x->rx->ext_field,
                                pext ? "'" : "", pext ? pext : "null", pext ? "'" : "");
    }
    sfr_discrepancy_add_field(&d, x->rx->name, pext, val);
    return emit(x->e, &d);
}

/* Rows whose pseudo-column is set but whose lookup points at no parent with
 * that external Id. Rows with an app's write pending are in flight. */
static enum sfr_rc check_relext(PGconn *c, const char *schema, const struct sfr_pg_table *t,
                                const struct sfr_relext *rx, const struct sfr_mapped_object *objs,
                                int n, struct emit *e, struct sfr_strv *skipped,
                                struct sfr_err *err)
{
    const struct sfr_mapped_object *po = find_mapped(objs, n, rx->parent);
    const char *why = NULL;
    if (po == NULL)
        why = "the parent is not mapped";
    else if (!has_col(t, rx->column) || !has_col(t, rx->ref->column))
        why = "the mirror table lacks the column or the lookup's column";
    struct sfr_pg_table pt = {0};
    enum sfr_rc rc = SFR_OK;
    char ext_col[80];
    snprintf(ext_col, sizeof(ext_col), "%s", rx->ext_field);
    for (char *p = ext_col; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    if (why == NULL) {
        rc = sfr_pg_table_load(c, schema, po->obj->table, &pt, err);
        if (rc == SFR_ENOTFOUND) {
            sfr_err_clear(err);
            rc = SFR_OK;
            why = "the parent has no mirror table";
        } else if (rc == SFR_OK && !has_col(&pt, ext_col)) {
            why = "the parent's external Id is not mapped";
        }
    }
    if (why != NULL) {
        sfr_strv_take(skipped, sfr_asprintf("%s.%s: relationship external Id not checked (%s)",
                                            e->object, rx->name, why));
        sfr_pg_table_cleanup(&pt);
        return rc;
    }
    struct sfr_buf q = SFR_BUF_INIT, x = SFR_BUF_INIT, r = SFR_BUF_INIT, pe = SFR_BUF_INIT;
    sfr_pg_ident_append(&x, rx->column);
    sfr_pg_ident_append(&r, rx->ref->column);
    sfr_pg_ident_append(&pe, ext_col);
    sfr_buf_printf(&q,
                   "SELECT c.sfid, c.%s, c.%s, p.%s,"
                   " EXISTS (SELECT 1 FROM %s AS k WHERE k.%s = c.%s), c.id"
                   " FROM %s AS c LEFT JOIN %s AS p ON p.sfid = c.%s"
                   " WHERE c.%s IS NOT NULL AND c.%s <> '' AND c.sfid IS NOT NULL"
                   " AND (p.sfid IS NULL OR p.%s IS DISTINCT FROM c.%s)",
                   x.data, r.data, pe.data, pt.qname, pe.data, x.data, t->qname, pt.qname, r.data,
                   x.data, x.data, pe.data, x.data);
    /* a lookup pointing at no mirror row at all is the orphan check's */
    sfr_buf_printf(&q, " AND (c.%s IS NULL OR c.%s = '' OR p.sfid IS NOT NULL)", r.data, r.data);
    if (t->has_isdeleted)
        sfr_buf_puts(&q, " AND c.isdeleted IS NOT TRUE");
    if (t->has_hc_lastop)
        sfr_buf_puts(&q, " AND c._hc_lastop IS DISTINCT FROM 'PENDING'");
    sfr_buf_puts(&q, " ORDER BY c.sfid COLLATE \"C\"");
    char *what =
        sfr_asprintf("checking %s.%s against %s.%s", t->display, rx->column, pt.display, ext_col);
    struct relext_ctx rcx = {e, rx};
    rc = cursor_each(c, q.data, 0, NULL, on_relext, &rcx, what, err);
    sfr_free(what);
    sfr_buf_cleanup(&q);
    sfr_buf_cleanup(&x);
    sfr_buf_cleanup(&r);
    sfr_buf_cleanup(&pe);
    sfr_pg_table_cleanup(&pt);
    return rc;
}

/* ---- entry point ---- */

enum sfr_rc sfr_findings_mirror(PGconn *c, const char *schema, const struct sfr_schema *s,
                                const struct sfr_mapped_object *objs, int n, int self,
                                sfr_disc_sink sink, void *ctx, struct sfr_strv *skipped,
                                struct sfr_err *err)
{
    const struct sfr_mapped_object *me = &objs[self];
    struct sfr_pg_table t;
    enum sfr_rc rc = sfr_pg_table_load(c, schema, me->obj->table, &t, err);
    if (rc != SFR_OK)
        return rc;
    struct emit e = {me->obj->name, NULL, NULL, sink, ctx};
    rc = refused_inserts(c, &t, &e, skipped, err);
    for (int k = 0; rc == SFR_OK && k < me->map->n_fields; k++) {
        const char *name = me->map->fields[k];
        const struct sfr_field *f = sfr_object_field(me->obj, name);
        struct sfr_relext rx;
        if (f == NULL && sfr_relext_resolve(s, me->obj, name, &rx)) {
            rc = check_relext(c, schema, &t, &rx, objs, n, &e, skipped, err);
            continue;
        }
        if (f == NULL || f->type != SFR_FT_REFERENCE || f->n_reference_to < 1 ||
            !has_col(&t, f->column))
            continue;
        e.field = f->name;
        rc = check_reference(c, schema, &t, f, objs, n, &e, skipped, err);
    }
    sfr_pg_table_cleanup(&t);
    return rc;
}
