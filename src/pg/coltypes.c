/* coltypes.c — a describe from a mirror's column types (coltypes.h). */
#include "sfrecon/coltypes.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sfrecon/log.h"
#include "sfrecon/pg.h"

/* Decimals kept when the column does not say (double precision): enough to
 * tell apart any two values Postgres prints differently, while 786000 and
 * 786000.0 still compare equal. */
#define COLTYPE_DOUBLE_SCALE 15

static bool starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The n of "name(n)" or "name(n,m)" (m into *second when not NULL). */
static int paren_int(const char *s, int *second)
{
    const char *p = strchr(s, '(');
    if (p == NULL)
        return 0;
    int n = atoi(p + 1);
    const char *c = strchr(p, ',');
    if (second != NULL && c != NULL)
        *second = atoi(c + 1);
    return n;
}

static bool id_like(const char *field)
{
    size_t n = strlen(field);
    return (n > 2 && strcasecmp(field + n - 2, "id") == 0) ||
           (n > 3 && strcasecmp(field + n - 3, "__c") == 0);
}

enum sfr_ftype sfr_coltype_field_type(const char *pgtype, const char *field, int *length,
                                      int *scale)
{
    *length = 0;
    *scale = 0;
    if (starts(pgtype, "character varying") || starts(pgtype, "character(") ||
        strcmp(pgtype, "character") == 0) {
        *length = paren_int(pgtype, NULL);
        if (*length == 18 && id_like(field))
            return SFR_FT_REFERENCE;
        if (*length == 4099) /* Connect's multi-select picklist column */
            return SFR_FT_MULTIPICKLIST;
        return SFR_FT_STRING;
    }
    if (strcmp(pgtype, "text") == 0)
        return SFR_FT_TEXTAREA;
    if (strcmp(pgtype, "boolean") == 0)
        return SFR_FT_BOOLEAN;
    if (strcmp(pgtype, "integer") == 0 || strcmp(pgtype, "smallint") == 0)
        return SFR_FT_INT;
    if (strcmp(pgtype, "bigint") == 0)
        return SFR_FT_LONG;
    if (starts(pgtype, "numeric")) {
        int s = 0;
        paren_int(pgtype, &s);
        *scale = strchr(pgtype, '(') != NULL ? s : COLTYPE_DOUBLE_SCALE;
        return SFR_FT_DOUBLE;
    }
    if (strcmp(pgtype, "double precision") == 0 || strcmp(pgtype, "real") == 0) {
        *scale = COLTYPE_DOUBLE_SCALE;
        return SFR_FT_DOUBLE;
    }
    if (strcmp(pgtype, "date") == 0)
        return SFR_FT_DATE;
    if (starts(pgtype, "timestamp"))
        return SFR_FT_DATETIME;
    if (starts(pgtype, "time"))
        return SFR_FT_TIME;
    return SFR_FT_ANYTYPE; /* compared as text, as is */
}

static char *lower_dup(const char *s)
{
    char *d = sfr_strdup(s);
    for (char *p = d; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return d;
}

static const char cols_sql[] =
    "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a"
    " JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped"
    " ORDER BY a.attnum";

static const char *col_type(PGresult *res, const char *column)
{
    for (int r = 0; r < PQntuples(res); r++)
        if (strcmp(PQgetvalue(res, r, 0), column) == 0)
            return PQgetvalue(res, r, 1);
    return NULL;
}

static void add_field(struct sfr_object *o, const char *name, const char *column,
                      enum sfr_ftype type, int length, int scale)
{
    struct sfr_field *f = &o->fields[o->n_fields++];
    memset(f, 0, sizeof(*f));
    f->name = sfr_strdup(name);
    f->column = sfr_strdup(column);
    f->type = type;
    f->length = length;
    f->scale = scale;
    f->precision = scale > 0 ? 18 : 0;
    f->nillable = true;
    bool system = type == SFR_FT_ID || strcasecmp(name, "SystemModstamp") == 0 ||
                  strcasecmp(name, "IsDeleted") == 0 || strcasecmp(name, "CreatedDate") == 0;
    f->createable = f->updateable = !system;
}

/* A reference's parent: the mapped object its name points at (AccountId ->
 * Account, ParentId -> the object itself). */
static void link_parent(struct sfr_field *f, const struct sfr_config *cfg, const char *self)
{
    size_t n = strlen(f->name);
    if (n < 3 || strcasecmp(f->name + n - 2, "id") != 0)
        return;
    const char *parent = NULL;
    if (strcasecmp(f->name, "ParentId") == 0)
        parent = self;
    for (int i = 0; i < cfg->n_mappings && parent == NULL; i++) {
        const char *on = cfg->mappings[i].object_name;
        if (strlen(on) == n - 2 && strncasecmp(on, f->name, n - 2) == 0)
            parent = on;
    }
    if (parent == NULL)
        return;
    f->reference_to = sfr_calloc(1, sizeof(char *));
    f->reference_to[0] = sfr_strdup(parent);
    f->n_reference_to = 1;
}

static enum sfr_rc object_from_columns(PGconn *conn, const struct sfr_config *cfg,
                                       const struct sfr_mapping *m, struct sfr_object *o,
                                       struct sfr_err *err)
{
    memset(o, 0, sizeof(*o));
    o->name = sfr_strdup(m->object_name);
    o->table = lower_dup(m->object_name);
    o->label = sfr_strdup(m->object_name);
    o->custom = strlen(o->table) > 3 && strcmp(o->table + strlen(o->table) - 3, "__c") == 0;
    const char *params[2] = {cfg->schema, o->table};
    PGresult *res = NULL;
    enum sfr_rc rc = sfr_pg_query(conn, cols_sql, 2, params, &res, err,
                                  "reading the columns of %s.%s", cfg->schema, o->table);
    if (rc != SFR_OK)
        goto out;
    if (PQntuples(res) == 0 || col_type(res, "sfid") == NULL) {
        rc = sfr_err_set(err, SFR_ECONFIG,
                         "%s:%d: %s is mapped but the source database has no table %s.%s with "
                         "an sfid column to take its field types from",
                         cfg->path, m->line, m->object_name, cfg->schema, o->table);
        sfr_err_hint(err, "give the describe with --describe DIR|FILE");
        goto out;
    }
    o->fields = sfr_calloc((size_t)m->n_fields + 3, sizeof(struct sfr_field));
    add_field(o, "Id", "id", SFR_FT_ID, 18, 0);
    bool has_mod = false;
    for (int i = 0; i < m->n_fields; i++) {
        const char *name = m->fields[i];
        if (strcasecmp(name, "Id") == 0)
            continue;
        char *col = lower_dup(name);
        const char *t = col_type(res, col);
        if (t != NULL) {
            int len, scale;
            enum sfr_ftype ft = sfr_coltype_field_type(t, name, &len, &scale);
            add_field(o, name, col, ft, len, scale);
            if (ft == SFR_FT_REFERENCE)
                link_parent(&o->fields[o->n_fields - 1], cfg, o->name);
            has_mod = has_mod || strcasecmp(name, "SystemModstamp") == 0;
        }
        sfr_free(col);
    }
    const char *mt = col_type(res, "systemmodstamp");
    if (!has_mod && mt != NULL) {
        int len, scale;
        add_field(o, "SystemModstamp", "systemmodstamp",
                  sfr_coltype_field_type(mt, "SystemModstamp", &len, &scale), 0, 0);
    }
    sfr_log_debug("%s: %d field types from the columns of %s.%s", o->name, o->n_fields, cfg->schema,
                  o->table);
out:
    PQclear(res);
    if (rc != SFR_OK)
        sfr_object_cleanup(o);
    return rc;
}

enum sfr_rc sfr_pg_schema_from_columns(PGconn *conn, const struct sfr_config *cfg,
                                       struct sfr_schema *out, struct sfr_err *err)
{
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < cfg->n_mappings; i++) {
        struct sfr_object o;
        enum sfr_rc rc = object_from_columns(conn, cfg, &cfg->mappings[i], &o, err);
        if (rc != SFR_OK) {
            sfr_schema_cleanup(out);
            return rc;
        }
        sfr_schema_add(out, &o);
    }
    return SFR_OK;
}
