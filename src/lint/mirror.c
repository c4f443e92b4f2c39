/* mirror.c — lint checks of the live mirror against the mapping and the
 * describe: the schema and tables exist, every mapped field has a column of
 * a compatible type that is long enough, the Heroku Connect system columns
 * and indexes are there (sfid unique, an index serving sfid range scans in
 * byte order, systemmodstamp), and no user foreign keys tie mirror tables
 * together. Every fix is DDL against the quoted "schema"."table". */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sfrecon/lint.h"
#include "sfrecon/mem.h"

struct tctx {
    const struct sfr_config *cfg;
    const struct sfr_mapping *m;
    const struct sfr_object *obj; /* NULL when describe lacks it */
    const struct sfr_mirror_table *t;
    const char *schema;
    char *qtable; /* "schema"."table" */
    char *table;
    struct sfr_lint_result *out;
};

static char *lower_dup(const char *s)
{
    char *d = sfr_strdup(s);
    for (char *p = d; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return d;
}

static bool base_in(const char *base, const char *const *set)
{
    for (; *set != NULL; set++)
        if (strcmp(base, *set) == 0)
            return true;
    return false;
}

static const char *const T_TEXT[] = {"varchar", "text", "bpchar", "citext", NULL};
static const char *const T_INT[] = {"int2", "int4", "int8", NULL};

/* Characters the column must hold for a text-like field. */
static int text_need(const struct sfr_field *f, const char *expected)
{
    if (f->length > 0)
        return f->length;
    const char *p = strchr(expected, '(');
    return p != NULL ? atoi(p + 1) : 0;
}

/* numeric(p,s) -> s; -1 when unconstrained. */
static int numeric_scale(const char *type)
{
    const char *comma = strchr(type, ',');
    return comma != NULL ? atoi(comma + 1) : (strchr(type, '(') != NULL ? 0 : -1);
}

enum verdict { V_OK, V_SHORT, V_WARN, V_BAD };

static enum verdict judge_int(const char *b, const char **why)
{
    *why = "whole numbers need an integer or numeric column";
    if (base_in(b, (const char *const[]){"int4", "int8", "numeric", "float8", NULL}))
        return V_OK;
    if (strcmp(b, "float4") == 0) {
        *why = "real keeps about 7 significant digits: larger numbers are rounded";
        return V_WARN;
    }
    if (strcmp(b, "int2") == 0)
        *why = "smallint overflows above 32767 (SQLSTATE 22003) and the row fails to sync";
    return V_BAD;
}

static enum verdict judge_long(const char *b, const char **why)
{
    *why = "long values need bigint: integer overflows (SQLSTATE 22003)";
    if (base_in(b, (const char *const[]){"int8", "numeric", NULL}))
        return V_OK;
    if (strcmp(b, "float8") == 0) {
        *why = "double precision is exact only up to 2^53";
        return V_WARN;
    }
    return V_BAD;
}

/* double, currency, percent, location: the column's scale must keep the field's. */
static enum verdict judge_decimal(const struct sfr_field *f, const struct sfr_mirror_column *c,
                                  const char *b, const char **why)
{
    if (strcmp(b, "float8") == 0)
        return V_OK;
    if (strcmp(b, "numeric") == 0) {
        int s = numeric_scale(c->type);
        *why = "the column keeps fewer decimals than Salesforce: values are rounded and "
               "the audit reports type_mismatch";
        return s < 0 || s >= f->scale ? V_OK : V_BAD;
    }
    if (strcmp(b, "float4") == 0) {
        *why = "real keeps about 7 significant digits: amounts are rounded";
        return V_WARN;
    }
    *why = base_in(b, T_INT) ? "an integer column drops the decimals (and integer overflows "
                               "above 2147483647): values are rounded or rejected"
                             : "the column cannot hold numbers: values are stored as text "
                               "or rejected";
    if (strcmp(b, "int8") == 0 && f->scale == 0)
        return V_OK;
    return V_BAD;
}

static enum verdict judge_date(const char *b, const char **why)
{
    if (strcmp(b, "date") == 0)
        return V_OK;
    if (strcmp(b, "timestamp") == 0 || strcmp(b, "timestamptz") == 0) {
        *why = "a date stored as a timestamp gains a midnight time (and with a zone, can "
               "move to the previous day): equality with Salesforce dates needs casts";
        return V_WARN;
    }
    *why = "a date needs a date column: text sorts and compares wrongly";
    return V_BAD;
}

static enum verdict judge_datetime(const char *b, const char **why)
{
    if (strcmp(b, "timestamp") == 0)
        return V_OK;
    if (strcmp(b, "timestamptz") == 0) {
        *why = "Heroku Connect writes UTC into timestamp without time zone; with a zone "
               "column the session TimeZone shifts the values and the audit reports "
               "type_mismatch";
        return V_WARN;
    }
    *why = strcmp(b, "date") == 0 ? "a date column drops the time of day"
                                  : "a datetime needs a timestamp column";
    return V_BAD;
}

static enum verdict judge_time(const char *b, const char **why)
{
    if (strcmp(b, "time") == 0 || base_in(b, T_TEXT))
        return V_OK;
    *why = "a time needs a time column";
    return strcmp(b, "timetz") == 0 ? V_WARN : V_BAD;
}

/* Text-like fields: id, reference, string, textarea, picklists, email, phone, url, ... */
static enum verdict judge_text(const struct sfr_field *f, const struct sfr_mirror_column *c,
                               const char *b, const char *expected, const char **why)
{
    if (!base_in(b, T_TEXT)) {
        *why = "the column cannot hold the field's text: values are rejected or converted "
               "and the audit reports type_mismatch";
        return V_BAD;
    }
    int need = text_need(f, expected);
    if (c->max_length > 0 && need > 0 && c->max_length < need) {
        *why = "longer values are cut on read or rejected on write (value too long, SQLSTATE "
               "22001): the audit reports truncation";
        return V_SHORT;
    }
    return V_OK;
}

/* Whether column c can hold field f (expected: the type sfrecon would create);
 * *why explains a verdict other than V_OK. */
static enum verdict judge(const struct sfr_field *f, const struct sfr_mirror_column *c,
                          const char *expected, const char **why)
{
    const char *b = c->base_type != NULL ? c->base_type : "";
    switch (f->type) {
    case SFR_FT_BOOLEAN:
        *why = "a non-boolean column stores true/false as text or numbers: comparisons, "
               "writes back to Salesforce and the audit's canonical values disagree";
        return strcmp(b, "bool") == 0 ? V_OK : V_BAD;
    case SFR_FT_INT:
        return judge_int(b, why);
    case SFR_FT_LONG:
        return judge_long(b, why);
    case SFR_FT_DOUBLE:
    case SFR_FT_CURRENCY:
    case SFR_FT_PERCENT:
    case SFR_FT_LOCATION:
        return judge_decimal(f, c, b, why);
    case SFR_FT_DATE:
        return judge_date(b, why);
    case SFR_FT_DATETIME:
        return judge_datetime(b, why);
    case SFR_FT_TIME:
        return judge_time(b, why);
    default:
        return judge_text(f, c, b, expected, why);
    }
}

/* USING clause for a type change that has no assignment cast. */
static char *using_clause(const struct sfr_mirror_column *c, const char *expected, char *qcol)
{
    const char *b = c->base_type != NULL ? c->base_type : "";
    if (strcmp(b, "timestamptz") == 0 && strcmp(expected, "timestamp") == 0)
        return sfr_asprintf(" USING %s AT TIME ZONE 'UTC'", qcol);
    if (strcmp(b, "bool") == 0 && strncmp(expected, "varchar", 7) == 0)
        return sfr_strdup("");
    if (base_in(b, T_TEXT) && strncmp(expected, "varchar", 7) == 0)
        return sfr_strdup("");
    if (base_in(b, T_TEXT) && strcmp(expected, "text") == 0)
        return sfr_strdup("");
    return sfr_asprintf(" USING %s::%s", qcol, expected);
}

static void check_column(struct tctx *x, const struct sfr_field *f, const char *colname)
{
    char *expected = sfr_field_pg_type(f);
    char *qcol = sfr_lint_quote_ident(colname);
    const struct sfr_mirror_column *c = sfr_mirror_column(x->t, colname);
    if (c == NULL) {
        char *fix = sfr_asprintf("ALTER TABLE %s ADD COLUMN %s %s;", x->qtable, qcol, expected);
        sfr_lint_add(x->out, SFR_LINT_ERROR, "missing_column", x->m->object_name, f->name,
                     "the field's values have nowhere to go: Heroku Connect's sync of the "
                     "object fails, and the audit cannot compare the field",
                     fix, "table %s has no column %s for %s.%s", x->qtable, qcol, x->m->object_name,
                     f->name);
        sfr_free(fix);
        goto out;
    }
    const char *why = "";
    enum verdict v = judge(f, c, expected, &why);
    if (v != V_OK) {
        char *using = v == V_SHORT ? sfr_strdup("") : using_clause(c, expected, qcol);
        char *fix = sfr_asprintf("ALTER TABLE %s ALTER COLUMN %s TYPE %s%s;", x->qtable, qcol,
                                 expected, using);
        if (v == V_SHORT)
            sfr_lint_add(x->out, SFR_LINT_ERROR, "column_too_short", x->m->object_name, f->name,
                         why, fix, "column %s is %s but %s.%s (%s) holds up to %d characters", qcol,
                         c->type, x->m->object_name, f->name, sfr_ftype_name(f->type),
                         text_need(f, expected));
        else
            sfr_lint_add(x->out, v == V_WARN ? SFR_LINT_WARNING : SFR_LINT_ERROR,
                         "column_type_mismatch", x->m->object_name, f->name, why, fix,
                         "column %s is %s, expected %s for %s.%s (%s)", qcol, c->type, expected,
                         x->m->object_name, f->name, sfr_ftype_name(f->type));
        sfr_free(fix);
        sfr_free(using);
    }
    if (!c->nullable && f->nillable && f->type != SFR_FT_ID && f->type != SFR_FT_BOOLEAN) {
        char *fix = sfr_asprintf("ALTER TABLE %s ALTER COLUMN %s DROP NOT NULL;", x->qtable, qcol);
        sfr_lint_add(x->out, SFR_LINT_WARNING, "column_not_null", x->m->object_name, f->name,
                     "Salesforce allows the field to be empty: those records fail to sync "
                     "(null value violates not-null constraint, SQLSTATE 23502)",
                     fix, "column %s is NOT NULL but %s.%s may be empty", qcol, x->m->object_name,
                     f->name);
        sfr_free(fix);
    }
out:
    sfr_free(qcol);
    sfr_free(expected);
}

/* Mirror column(s) for a mapped field: Id -> sfid; a geolocation -> its two
 * __latitude__s/__longitude__s columns; compound addresses have none. */
static void check_field(struct tctx *x, const struct sfr_field *f)
{
    if (f->type == SFR_FT_ADDRESS)
        return;
    if (f->type == SFR_FT_ID) {
        check_column(x, f, "sfid");
        return;
    }
    if (f->type == SFR_FT_LOCATION) {
        char *base = lower_dup(f->name);
        size_t n = strlen(base);
        if (n > 3 && strcmp(base + n - 3, "__c") == 0)
            base[n - 3] = '\0';
        char *lat = sfr_asprintf("%s__latitude__s", base);
        char *lon = sfr_asprintf("%s__longitude__s", base);
        check_column(x, f, lat);
        check_column(x, f, lon);
        sfr_free(lat);
        sfr_free(lon);
        sfr_free(base);
        return;
    }
    char *col = f->column != NULL ? sfr_strdup(f->column) : lower_dup(f->name);
    check_column(x, f, col);
    sfr_free(col);
}

static bool has_isdeleted(const char *object)
{
    return strcasecmp(object, "User") != 0 && strcasecmp(object, "RecordType") != 0 &&
           strcasecmp(object, "EmailTemplate") != 0;
}

/* System columns Heroku Connect creates on every table, checked whether or
 * not the mapping lists the corresponding fields. */
static void check_system_columns(struct tctx *x)
{
    static const struct {
        const char *column, *field, *type, *add_type, *why;
        enum sfr_ftype ftype;
        int length;
    } sys[] = {
        {"id", "", "integer", "serial",
         "Heroku Connect and the trigger log address rows by id (_trigger_log.record_id)",
         SFR_FT_INT, 0},
        {"sfid", "Id", "varchar(18)", "varchar(18)",
         "without the Salesforce Id no row can be matched to its record", SFR_FT_ID, 18},
        {"systemmodstamp", "SystemModstamp", "timestamp", "timestamp",
         "changes are found by SystemModstamp: without it polling and incremental audits "
         "cannot tell what changed",
         SFR_FT_DATETIME, 0},
        {"isdeleted", "IsDeleted", "boolean", "boolean",
         "deleted records cannot be told apart from live ones", SFR_FT_BOOLEAN, 0},
        {"_hc_lastop", "", "varchar(32)", "varchar(32)",
         "the sync status of each row (PENDING, SYNCED, FAILED) is lost", SFR_FT_STRING, 32},
        {"_hc_err", "", "text", "text", "sync errors of each row cannot be recorded",
         SFR_FT_TEXTAREA, 0},
    };
    for (size_t i = 0; i < sizeof(sys) / sizeof(sys[0]); i++) {
        if (strcmp(sys[i].column, "isdeleted") == 0 && !has_isdeleted(x->m->object_name))
            continue;
        /* A mapped field of the same column is checked with its describe. */
        if (sys[i].field[0] && sfr_mapping_has_field(x->m, sys[i].field) && x->obj != NULL &&
            sfr_object_field(x->obj, sys[i].field) != NULL)
            continue;
        char *qcol = sfr_lint_quote_ident(sys[i].column);
        const struct sfr_mirror_column *c = sfr_mirror_column(x->t, sys[i].column);
        if (c == NULL) {
            char *fix =
                sfr_asprintf("ALTER TABLE %s ADD COLUMN %s %s;", x->qtable, qcol, sys[i].add_type);
            sfr_lint_add(x->out, SFR_LINT_ERROR, "missing_system_column", x->m->object_name,
                         sys[i].field[0] ? sys[i].field : sys[i].column, sys[i].why, fix,
                         "table %s has no system column %s", x->qtable, qcol);
            sfr_free(fix);
        } else {
            struct sfr_field f = {.name = (char *)(sys[i].field[0] ? sys[i].field : sys[i].column),
                                  .type = sys[i].ftype,
                                  .length = sys[i].length};
            const char *why = "";
            enum verdict v = judge(&f, c, sys[i].type, &why);
            if (v != V_OK) {
                char *using = v == V_SHORT ? sfr_strdup("") : using_clause(c, sys[i].type, qcol);
                char *fix = sfr_asprintf("ALTER TABLE %s ALTER COLUMN %s TYPE %s%s;", x->qtable,
                                         qcol, sys[i].type, using);
                sfr_lint_add(x->out, v == V_WARN ? SFR_LINT_WARNING : SFR_LINT_ERROR,
                             v == V_SHORT ? "column_too_short" : "column_type_mismatch",
                             x->m->object_name, f.name, why, fix,
                             "system column %s is %s, expected %s", qcol, c->type, sys[i].type);
                sfr_free(fix);
                sfr_free(using);
            }
        }
        sfr_free(qcol);
    }
}

static void check_indexes(struct tctx *x)
{
    char *fix = NULL;
    if (sfr_mirror_column(x->t, "sfid") != NULL) {
        if (sfr_mirror_unique_index_on(x->t, "sfid") == NULL) {
            fix = sfr_asprintf("CREATE UNIQUE INDEX CONCURRENTLY \"hcu_idx_%s_sfid\" ON %s "
                               "(\"sfid\");",
                               x->table, x->qtable);
            sfr_lint_add(x->out, SFR_LINT_ERROR, "missing_index", x->m->object_name, "Id",
                         "without it duplicate rows for one record go unnoticed (the audit "
                         "reports duplicate) and every lookup by sfid scans the table",
                         fix, "table %s has no unique index on sfid", x->qtable);
            sfr_free(fix);
        }
        if (sfr_mirror_sfid_c_index(x->t) == NULL) {
            fix = sfr_asprintf("CREATE INDEX CONCURRENTLY \"sfrecon_idx_%s_sfid_c\" ON %s "
                               "(\"sfid\" COLLATE \"C\");",
                               x->table, x->qtable);
            sfr_lint_add(x->out, SFR_LINT_WARNING, "missing_c_order_index", x->m->object_name, "Id",
                         "audits split the key space by Id in byte order (COLLATE \"C\"); an "
                         "index in the database's default collation cannot serve those range "
                         "scans, so every chunk sorts or scans the table",
                         fix, "no index on %s serves sfid range scans in \"C\" order", x->qtable);
            sfr_free(fix);
        }
    }
    if (sfr_mirror_column(x->t, "systemmodstamp") != NULL &&
        sfr_mirror_index_leading(x->t, "systemmodstamp") == NULL) {
        fix = sfr_asprintf("CREATE INDEX CONCURRENTLY \"hc_idx_%s_systemmodstamp\" ON %s "
                           "(\"systemmodstamp\");",
                           x->table, x->qtable);
        sfr_lint_add(x->out, SFR_LINT_WARNING, "missing_index", x->m->object_name, "SystemModstamp",
                     "incremental audits and change polling filter on systemmodstamp; without "
                     "an index each of them scans the whole table",
                     fix, "table %s has no index on systemmodstamp", x->qtable);
        sfr_free(fix);
    }
}

static void check_fkeys(struct tctx *x)
{
    for (int i = 0; i < x->t->n_fkeys; i++) {
        const struct sfr_mirror_fkey *fk = &x->t->fkeys[i];
        const char *field = "";
        if (x->obj != NULL && fk->n_columns == 1) {
            const struct sfr_field *f = sfr_object_field(x->obj, fk->columns[0]);
            if (f != NULL)
                field = f->name;
        }
        char *qname = sfr_lint_quote_ident(fk->name);
        char *fix = sfr_asprintf("ALTER TABLE %s DROP CONSTRAINT %s; (check integrity with "
                                 "'sfrecon audit' instead: it reports missing_parent)",
                                 x->qtable, qname);
        sfr_lint_add(x->out, SFR_LINT_WARNING, "user_foreign_key", x->m->object_name, field,
                     "Heroku Connect loads and reloads tables independently and in no global "
                     "order: a child that arrives before its parent violates the constraint, "
                     "the row fails to sync and reloads of the parent table break",
                     fix, "foreign key %s on %s: %s", qname, x->qtable, fk->def);
        sfr_free(fix);
        sfr_free(qname);
    }
}

static void check_table(struct tctx *x)
{
    if (x->obj != NULL)
        for (int k = 0; k < x->m->n_fields; k++) {
            const struct sfr_field *f = sfr_object_field(x->obj, x->m->fields[k]);
            if (f != NULL) /* unknown fields are reported by the mapping checks */
                check_field(x, f);
        }
    check_system_columns(x);
    check_indexes(x);
    check_fkeys(x);
}

void sfr_lint_check_mirror(const struct sfr_config *cfg, const struct sfr_schema *schema,
                           const struct sfr_mirror *mirror, const struct sfr_lint_opts *opts,
                           struct sfr_lint_result *out)
{
    const char *sname = mirror->schema != NULL ? mirror->schema : cfg->schema;
    const char *cpath = opts != NULL && opts->config_path != NULL ? opts->config_path : "MAPPING";
    if (!mirror->schema_exists) {
        char *q = sfr_lint_quote_ident(sname);
        char *fix = sfr_asprintf("create it: sfrecon schema -c %s | psql \"$DATABASE_URL\" (or "
                                 "check --schema / the mapping's schema name)",
                                 cpath);
        sfr_lint_add(out, SFR_LINT_ERROR, "missing_schema", "", "",
                     "no mapped object has a mirror table: nothing can sync or be audited", fix,
                     "schema %s does not exist in the database", q);
        sfr_free(fix);
        sfr_free(q);
        return;
    }
    for (int i = 0; i < cfg->n_mappings; i++) {
        struct tctx x = {.cfg = cfg, .m = &cfg->mappings[i], .schema = sname, .out = out};
        x.obj = sfr_schema_object(schema, x.m->object_name);
        x.table = x.obj != NULL && x.obj->table != NULL ? sfr_strdup(x.obj->table)
                                                        : lower_dup(x.m->object_name);
        x.qtable = sfr_lint_qualified(sname, x.table);
        x.t = sfr_mirror_table(mirror, x.table);
        if (x.t == NULL) {
            char *fix = sfr_asprintf("create it: sfrecon schema -c %s | psql \"$DATABASE_URL\" "
                                     "(or let Heroku Connect create it by saving the mapping)",
                                     cpath);
            sfr_lint_add(out, SFR_LINT_ERROR, "missing_table", x.m->object_name, "",
                         "the object is mapped but has no mirror table: nothing syncs and the "
                         "audit reports every record as missing_in_pg",
                         fix, "table %s does not exist", x.qtable);
            sfr_free(fix);
        } else {
            check_table(&x);
        }
        sfr_free(x.qtable);
        sfr_free(x.table);
    }
}
