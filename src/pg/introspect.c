/* introspect.c — reads a mirror schema from the Postgres catalogs into a
 * struct sfr_mirror (see introspect.h), and the hand builders and lookups
 * over that model.
 *
 * Five catalog queries per schema (tables, columns, index keys, constraints,
 * triggers), each ordered by table name in byte order so rows arrive grouped
 * by table; rows are attached to their table by oid. The schema name is a
 * query parameter throughout. Memory is proportional to the schema's
 * metadata, never to table contents. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpq-fe.h>

#include "sfrecon/introspect.h"
#include "sfrecon/mem.h"
#include "sfrecon/pg.h"

#define GROW(arr, n) ((arr) = sfr_realloc((arr), sizeof(*(arr)) * (size_t)((n) + 1)))

/* ---- builders ------------------------------------------------------------ */

struct sfr_mirror *sfr_mirror_new(const char *schema)
{
    struct sfr_mirror *m = sfr_calloc(1, sizeof(*m));
    m->schema = sfr_strdup(schema);
    m->schema_exists = true;
    return m;
}

/* The returned pointer is valid until the next sfr_mirror_add_table on m. */
struct sfr_mirror_table *sfr_mirror_add_table(struct sfr_mirror *m, const char *name)
{
    GROW(m->tables, m->n_tables);
    struct sfr_mirror_table *t = &m->tables[m->n_tables++];
    memset(t, 0, sizeof(*t));
    t->name = sfr_strdup(name);
    return t;
}

/* "character varying(80)" -> varchar, 80; other format_type spellings map to
 * their typname so hand-built mirrors read like introspected ones. */
static void derive_base_type(const char *type, char **base, int *len)
{
    static const struct {
        const char *prefix, *base;
    } names[] = {
        {"character varying", "varchar"},
        {"varchar", "varchar"},
        {"character", "bpchar"},
        {"char", "bpchar"},
        {"double precision", "float8"},
        {"real", "float4"},
        {"integer", "int4"},
        {"int", "int4"},
        {"bigint", "int8"},
        {"smallint", "int2"},
        {"boolean", "bool"},
        {"timestamp with time zone", "timestamptz"},
        {"timestamptz", "timestamptz"},
        {"timestamp", "timestamp"},
        {"time with time zone", "timetz"},
        {"time", "time"},
        {"date", "date"},
        {"numeric", "numeric"},
        {"decimal", "numeric"},
        {"text", "text"},
    };
    *len = -1;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        size_t n = strlen(names[i].prefix);
        if (strncasecmp(type, names[i].prefix, n) != 0)
            continue;
        if (type[n] != '\0' && type[n] != '(' && type[n] != ' ')
            continue;
        *base = sfr_strdup(names[i].base);
        const char *p = strchr(type, '(');
        if (p != NULL &&
            (strcmp(names[i].base, "varchar") == 0 || strcmp(names[i].base, "bpchar") == 0))
            *len = atoi(p + 1);
        else if (strcmp(names[i].base, "bpchar") == 0)
            *len = 1;
        return;
    }
    *base = sfr_strdup(type);
}

struct sfr_mirror_column *sfr_mirror_add_column(struct sfr_mirror_table *t, const char *name,
                                                const char *type, bool nullable,
                                                const char *collation)
{
    GROW(t->columns, t->n_columns);
    struct sfr_mirror_column *c = &t->columns[t->n_columns++];
    memset(c, 0, sizeof(*c));
    c->name = sfr_strdup(name);
    c->type = sfr_strdup(type);
    derive_base_type(type, &c->base_type, &c->max_length);
    c->nullable = nullable;
    c->collation = sfr_strdup(collation);
    return c;
}

struct sfr_mirror_index *sfr_mirror_add_index(struct sfr_mirror_table *t, const char *name,
                                              bool unique, const char *const *keys,
                                              const char *const *collations, int n)
{
    GROW(t->indexes, t->n_indexes);
    struct sfr_mirror_index *ix = &t->indexes[t->n_indexes++];
    memset(ix, 0, sizeof(*ix));
    ix->name = sfr_strdup(name);
    ix->unique = unique;
    ix->method = sfr_strdup("btree");
    ix->n_keys = n;
    ix->keys = sfr_calloc((size_t)n + 1, sizeof(char *));
    ix->key_is_expr = sfr_calloc((size_t)n + 1, sizeof(bool));
    ix->collations = sfr_calloc((size_t)n + 1, sizeof(char *));
    struct sfr_buf def = SFR_BUF_INIT;
    sfr_buf_printf(&def, "CREATE %sINDEX %s ON %s USING btree (", unique ? "UNIQUE " : "", name,
                   t->name);
    for (int i = 0; i < n; i++) {
        ix->keys[i] = sfr_strdup(keys[i]);
        ix->key_is_expr[i] = sfr_mirror_column(t, keys[i]) == NULL;
        ix->collations[i] = collations != NULL ? sfr_strdup(collations[i]) : NULL;
        sfr_buf_printf(&def, "%s%s", i > 0 ? ", " : "", keys[i]);
        if (ix->collations[i] != NULL)
            sfr_buf_printf(&def, " COLLATE \"%s\"", ix->collations[i]);
    }
    sfr_buf_puts(&def, ")");
    ix->def = sfr_buf_steal(&def);
    return ix;
}

static char **strv_copy(const char *const *v, int n)
{
    char **out = sfr_calloc((size_t)n + 1, sizeof(char *));
    for (int i = 0; i < n; i++)
        out[i] = sfr_strdup(v[i]);
    return out;
}

static void strv_free(char **v, int n)
{
    if (v == NULL)
        return;
    for (int i = 0; i < n; i++)
        sfr_free(v[i]);
    sfr_free(v);
}

void sfr_mirror_set_pkey(struct sfr_mirror_table *t, const char *name, const char *const *cols,
                         int n)
{
    sfr_free(t->pkey_name);
    strv_free(t->pkey, t->n_pkey);
    t->pkey_name = sfr_strdup(name);
    t->pkey = strv_copy(cols, n);
    t->n_pkey = n;
}

struct sfr_mirror_fkey *sfr_mirror_add_fkey(struct sfr_mirror_table *t, const char *name,
                                            const char *column, const char *ref_schema,
                                            const char *ref_table, const char *ref_column)
{
    GROW(t->fkeys, t->n_fkeys);
    struct sfr_mirror_fkey *fk = &t->fkeys[t->n_fkeys++];
    memset(fk, 0, sizeof(*fk));
    fk->name = sfr_strdup(name);
    fk->columns = strv_copy(&column, 1);
    fk->n_columns = 1;
    fk->ref_schema = sfr_strdup(ref_schema);
    fk->ref_table = sfr_strdup(ref_table);
    fk->ref_columns = strv_copy(&ref_column, 1);
    fk->n_ref_columns = 1;
    fk->def = sfr_asprintf("FOREIGN KEY (%s) REFERENCES %s.%s(%s)", column, ref_schema, ref_table,
                           ref_column);
    return fk;
}

/* ---- free and lookups ---------------------------------------------------- */

static void table_cleanup(struct sfr_mirror_table *t)
{
    for (int i = 0; i < t->n_columns; i++) {
        struct sfr_mirror_column *c = &t->columns[i];
        sfr_free(c->name);
        sfr_free(c->type);
        sfr_free(c->base_type);
        sfr_free(c->collation);
        sfr_free(c->default_expr);
    }
    sfr_free(t->columns);
    for (int i = 0; i < t->n_indexes; i++) {
        struct sfr_mirror_index *ix = &t->indexes[i];
        sfr_free(ix->name);
        sfr_free(ix->method);
        strv_free(ix->keys, ix->n_keys);
        strv_free(ix->collations, ix->n_keys);
        sfr_free(ix->key_is_expr);
        sfr_free(ix->predicate);
        sfr_free(ix->def);
    }
    sfr_free(t->indexes);
    sfr_free(t->pkey_name);
    strv_free(t->pkey, t->n_pkey);
    for (int i = 0; i < t->n_fkeys; i++) {
        struct sfr_mirror_fkey *fk = &t->fkeys[i];
        sfr_free(fk->name);
        strv_free(fk->columns, fk->n_columns);
        sfr_free(fk->ref_schema);
        sfr_free(fk->ref_table);
        strv_free(fk->ref_columns, fk->n_ref_columns);
        sfr_free(fk->def);
    }
    sfr_free(t->fkeys);
    for (int i = 0; i < t->n_triggers; i++) {
        sfr_free(t->triggers[i].name);
        sfr_free(t->triggers[i].def);
    }
    sfr_free(t->triggers);
    sfr_free(t->name);
}

void sfr_mirror_free(struct sfr_mirror *m)
{
    if (m == NULL)
        return;
    for (int i = 0; i < m->n_tables; i++)
        table_cleanup(&m->tables[i]);
    sfr_free(m->tables);
    sfr_free(m->schema);
    sfr_free(m);
}

const struct sfr_mirror_table *sfr_mirror_table(const struct sfr_mirror *m, const char *name)
{
    if (m == NULL || name == NULL)
        return NULL;
    for (int i = 0; i < m->n_tables; i++)
        if (strcmp(m->tables[i].name, name) == 0)
            return &m->tables[i];
    for (int i = 0; i < m->n_tables; i++)
        if (strcasecmp(m->tables[i].name, name) == 0)
            return &m->tables[i];
    return NULL;
}

const struct sfr_mirror_column *sfr_mirror_column(const struct sfr_mirror_table *t,
                                                  const char *name)
{
    if (t == NULL || name == NULL)
        return NULL;
    for (int i = 0; i < t->n_columns; i++)
        if (strcmp(t->columns[i].name, name) == 0)
            return &t->columns[i];
    for (int i = 0; i < t->n_columns; i++)
        if (strcasecmp(t->columns[i].name, name) == 0)
            return &t->columns[i];
    return NULL;
}

const struct sfr_mirror_index *sfr_mirror_index(const struct sfr_mirror_table *t, const char *name)
{
    if (t == NULL || name == NULL)
        return NULL;
    for (int i = 0; i < t->n_indexes; i++)
        if (strcmp(t->indexes[i].name, name) == 0)
            return &t->indexes[i];
    for (int i = 0; i < t->n_indexes; i++)
        if (strcasecmp(t->indexes[i].name, name) == 0)
            return &t->indexes[i];
    return NULL;
}

bool sfr_collation_is_bytewise(const char *collation)
{
    return collation != NULL && (strcmp(collation, "C") == 0 || strcmp(collation, "POSIX") == 0 ||
                                 strcasecmp(collation, "ucs_basic") == 0);
}

/* Position of needle in s outside parentheses and double quotes, or NULL. */
static char *find_top(char *s, const char *needle)
{
    int depth = 0;
    bool quoted = false;
    size_t n = strlen(needle);
    for (char *p = s; *p; p++) {
        if (*p == '"')
            quoted = !quoted;
        else if (!quoted && *p == '(')
            depth++;
        else if (!quoted && *p == ')')
            depth--;
        else if (!quoted && depth == 0 && strncmp(p, needle, n) == 0)
            return p;
    }
    return NULL;
}

/* True when s is "( ... )" with the first parenthesis closing at the end. */
static bool wrapped(const char *s)
{
    size_t n = strlen(s);
    if (n < 2 || s[0] != '(' || s[n - 1] != ')')
        return false;
    int depth = 0;
    for (size_t i = 0; i < n; i++) {
        depth += s[i] == '(' ? 1 : s[i] == ')' ? -1 : 0;
        if (depth == 0 && i < n - 1)
            return false;
    }
    return true;
}

/* Strips the wrapping pg_get_indexdef adds around a column reference:
 * parentheses, a trailing cast (::text, ::character varying(18)), a COLLATE
 * clause and identifier quotes. */
bool sfr_index_key_is_column(const char *key, const char *column)
{
    if (key == NULL || column == NULL)
        return false;
    char buf[256];
    size_t n = strlen(key);
    if (n >= sizeof(buf))
        return false;
    memcpy(buf, key, n + 1);
    for (;;) {
        char *s = buf;
        while (isspace((unsigned char)*s))
            s++;
        memmove(buf, s, strlen(s) + 1);
        n = strlen(buf);
        while (n > 0 && isspace((unsigned char)buf[n - 1]))
            buf[--n] = '\0';
        char *cut;
        if (wrapped(buf)) {
            buf[n - 1] = '\0';
            memmove(buf, buf + 1, n - 1);
        } else if ((cut = find_top(buf, " COLLATE ")) != NULL ||
                   (cut = find_top(buf, "::")) != NULL) {
            *cut = '\0';
        } else {
            break;
        }
    }
    n = strlen(buf);
    if (n >= 2 && buf[0] == '"' && buf[n - 1] == '"') {
        buf[n - 1] = '\0';
        return strcmp(buf + 1, column) == 0;
    }
    return strcmp(buf, column) == 0;
}

static bool index_usable(const struct sfr_mirror_index *ix)
{
    return ix->predicate == NULL && ix->n_keys > 0 &&
           (ix->method == NULL || strcmp(ix->method, "btree") == 0);
}

/* Collation of index key 0 (an index key without an explicit collation
 * inherits the column's). */
static const char *key_collation(const struct sfr_mirror_index *ix,
                                 const struct sfr_mirror_column *sfid)
{
    const char *coll = ix->collations[0];
    if (coll == NULL && sfid != NULL && !ix->key_is_expr[0])
        coll = sfid->collation;
    return coll;
}

const struct sfr_mirror_index *sfr_mirror_sfid_c_index(const struct sfr_mirror_table *t)
{
    if (t == NULL)
        return NULL;
    const struct sfr_mirror_column *sfid = sfr_mirror_column(t, "sfid");
    const struct sfr_mirror_index *other = NULL;
    for (int i = 0; i < t->n_indexes; i++) {
        const struct sfr_mirror_index *ix = &t->indexes[i];
        if (!index_usable(ix) || !sfr_index_key_is_column(ix->keys[0], "sfid"))
            continue;
        const char *coll = key_collation(ix, sfid);
        if (!sfr_collation_is_bytewise(coll))
            continue;
        /* "C" itself first: the queries say COLLATE "C" */
        if (strcmp(coll, "C") == 0 || strcmp(coll, "POSIX") == 0)
            return ix;
        if (other == NULL)
            other = ix;
    }
    return other;
}

const struct sfr_mirror_index *sfr_mirror_unique_index_on(const struct sfr_mirror_table *t,
                                                          const char *column)
{
    if (t == NULL)
        return NULL;
    for (int i = 0; i < t->n_indexes; i++) {
        const struct sfr_mirror_index *ix = &t->indexes[i];
        if (ix->unique && ix->predicate == NULL && ix->n_keys == 1 && !ix->key_is_expr[0] &&
            strcmp(ix->keys[0], column) == 0)
            return ix;
    }
    return NULL;
}

const struct sfr_mirror_index *sfr_mirror_index_leading(const struct sfr_mirror_table *t,
                                                        const char *column)
{
    if (t == NULL)
        return NULL;
    for (int i = 0; i < t->n_indexes; i++) {
        const struct sfr_mirror_index *ix = &t->indexes[i];
        if (index_usable(ix) && sfr_index_key_is_column(ix->keys[0], column))
            return ix;
    }
    return NULL;
}

/* ---- catalog queries ----------------------------------------------------- */

#define SEP "\x1f" /* separates aggregated names; cannot occur in identifiers we map */

static const char q_schema[] = "SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = $1";

static const char q_tables[] = "SELECT c.oid, c.relname FROM pg_catalog.pg_class c "
                               "WHERE c.relnamespace = $1::oid AND c.relkind IN ('r', 'p') "
                               "ORDER BY c.relname COLLATE \"C\"";

static const char q_columns[] =
    "SELECT a.attrelid, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), t.typname, "
    "  CASE WHEN t.typname IN ('varchar', 'bpchar') AND a.atttypmod > 4 "
    "       THEN a.atttypmod - 4 ELSE -1 END, "
    "  NOT a.attnotnull, co.collname, pg_catalog.pg_get_expr(d.adbin, d.adrelid) "
    "FROM pg_catalog.pg_attribute a "
    "JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
    "JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
    "LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation AND co.collname <> 'default' "
    "LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
    "WHERE c.relnamespace = $1::oid AND c.relkind IN ('r', 'p') "
    "  AND a.attnum > 0 AND NOT a.attisdropped "
    "ORDER BY c.relname COLLATE \"C\", a.attnum";

/* One row per index key column, grouped by index. */
static const char q_indexes[] =
    "SELECT i.indrelid, ic.relname, i.indisunique, i.indisprimary, am.amname, "
    "  pg_catalog.pg_get_expr(i.indpred, i.indrelid), pg_catalog.pg_get_indexdef(i.indexrelid), "
    "  k.n, i.indkey[k.n - 1] = 0, "
    "  CASE WHEN i.indkey[k.n - 1] = 0 "
    "       THEN pg_catalog.pg_get_indexdef(i.indexrelid, k.n, true) ELSE a.attname END, "
    "  co.collname "
    "FROM pg_catalog.pg_index i "
    "JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid "
    "JOIN pg_catalog.pg_class c ON c.oid = i.indrelid "
    "JOIN pg_catalog.pg_am am ON am.oid = ic.relam "
    "CROSS JOIN LATERAL pg_catalog.generate_series(1, i.indnkeyatts) AS k(n) "
    "LEFT JOIN pg_catalog.pg_attribute a "
    "  ON a.attrelid = i.indrelid AND a.attnum = i.indkey[k.n - 1] "
    "LEFT JOIN pg_catalog.pg_collation co "
    "  ON co.oid = i.indcollation[k.n - 1] AND co.collname <> 'default' "
    "WHERE c.relnamespace = $1::oid AND c.relkind IN ('r', 'p') "
    "ORDER BY c.relname COLLATE \"C\", ic.relname COLLATE \"C\", k.n";

static const char q_constraints[] =
    "SELECT con.conrelid, con.conname, con.contype, "
    "  (SELECT pg_catalog.string_agg(a.attname, E'" SEP "' ORDER BY u.o) "
    "     FROM pg_catalog.unnest(con.conkey) WITH ORDINALITY AS u(n, o) "
    "     JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = u.n), "
    "  fn.nspname, fc.relname, "
    "  (SELECT pg_catalog.string_agg(a.attname, E'" SEP "' ORDER BY u.o) "
    "     FROM pg_catalog.unnest(con.confkey) WITH ORDINALITY AS u(n, o) "
    "     JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = u.n), "
    "  pg_catalog.pg_get_constraintdef(con.oid) "
    "FROM pg_catalog.pg_constraint con "
    "JOIN pg_catalog.pg_class c ON c.oid = con.conrelid "
    "LEFT JOIN pg_catalog.pg_class fc ON fc.oid = con.confrelid "
    "LEFT JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace "
    "WHERE c.relnamespace = $1::oid AND c.relkind IN ('r', 'p') AND con.contype IN ('p', 'f') "
    "ORDER BY c.relname COLLATE \"C\", con.conname COLLATE \"C\"";

static const char q_triggers[] =
    "SELECT t.tgrelid, t.tgname, t.tgenabled <> 'D', pg_catalog.pg_get_triggerdef(t.oid) "
    "FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid "
    "WHERE c.relnamespace = $1::oid AND c.relkind IN ('r', 'p') AND NOT t.tgisinternal "
    "ORDER BY c.relname COLLATE \"C\", t.tgname COLLATE \"C\"";

struct ctx {
    PGconn *conn;
    const char *schema;
    struct sfr_mirror *m;
    char **oids; /* per table, parallel to m->tables */
    int n_oids;
    int cursor;
    struct sfr_err *err;
};

static enum sfr_rc run(struct ctx *x, const char *sql, const char *param, const char *what,
                       PGresult **out)
{
    return sfr_pg_query(x->conn, sql, 1, &param, out, x->err, "introspecting schema \"%s\" (%s)",
                        x->schema, what);
}

/* Rows arrive in table order, so the cursor usually points at the right table. */
static struct sfr_mirror_table *table_by_oid(struct ctx *x, const char *oid)
{
    for (int k = 0; k < x->m->n_tables; k++) {
        int i = (x->cursor + k) % x->m->n_tables;
        if (strcmp(x->oids[i], oid) == 0) {
            x->cursor = i;
            return &x->m->tables[i];
        }
    }
    return NULL;
}

static const char *val(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static bool is_true(const PGresult *r, int row, int col)
{
    return !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}

static void split_names(const char *s, char ***out, int *n)
{
    struct sfr_strv v = {0};
    if (s != NULL)
        sfr_strv_split(&v, s, SEP[0]);
    *out = v.v != NULL ? v.v : sfr_calloc(1, sizeof(char *));
    *n = (int)v.n;
}

static void load_columns(struct ctx *x, const PGresult *r)
{
    for (int i = 0; i < PQntuples(r); i++) {
        struct sfr_mirror_table *t = table_by_oid(x, PQgetvalue(r, i, 0));
        if (t == NULL)
            continue;
        GROW(t->columns, t->n_columns);
        struct sfr_mirror_column *c = &t->columns[t->n_columns++];
        memset(c, 0, sizeof(*c));
        c->name = sfr_strdup(PQgetvalue(r, i, 1));
        c->type = sfr_strdup(PQgetvalue(r, i, 2));
        c->base_type = sfr_strdup(PQgetvalue(r, i, 3));
        c->max_length = atoi(PQgetvalue(r, i, 4));
        c->nullable = is_true(r, i, 5);
        c->collation = sfr_strdup(val(r, i, 6));
        c->default_expr = sfr_strdup(val(r, i, 7));
    }
}

static void load_indexes(struct ctx *x, const PGresult *r)
{
    struct sfr_mirror_index *ix = NULL;
    for (int i = 0; i < PQntuples(r); i++) {
        struct sfr_mirror_table *t = table_by_oid(x, PQgetvalue(r, i, 0));
        if (t == NULL)
            continue;
        if (atoi(PQgetvalue(r, i, 7)) == 1) {
            GROW(t->indexes, t->n_indexes);
            ix = &t->indexes[t->n_indexes++];
            memset(ix, 0, sizeof(*ix));
            ix->name = sfr_strdup(PQgetvalue(r, i, 1));
            ix->unique = is_true(r, i, 2);
            ix->primary = is_true(r, i, 3);
            ix->method = sfr_strdup(PQgetvalue(r, i, 4));
            ix->predicate = sfr_strdup(val(r, i, 5));
            ix->def = sfr_strdup(PQgetvalue(r, i, 6));
        }
        if (ix == NULL)
            continue;
        int k = ix->n_keys++;
        ix->keys = sfr_realloc(ix->keys, sizeof(char *) * (size_t)(k + 1));
        ix->key_is_expr = sfr_realloc(ix->key_is_expr, sizeof(bool) * (size_t)(k + 1));
        ix->collations = sfr_realloc(ix->collations, sizeof(char *) * (size_t)(k + 1));
        ix->key_is_expr[k] = is_true(r, i, 8);
        ix->keys[k] = sfr_strdup(PQgetvalue(r, i, 9));
        ix->collations[k] = sfr_strdup(val(r, i, 10));
    }
}

static void load_constraints(struct ctx *x, const PGresult *r)
{
    for (int i = 0; i < PQntuples(r); i++) {
        struct sfr_mirror_table *t = table_by_oid(x, PQgetvalue(r, i, 0));
        if (t == NULL)
            continue;
        if (PQgetvalue(r, i, 2)[0] == 'p') {
            t->pkey_name = sfr_strdup(PQgetvalue(r, i, 1));
            split_names(val(r, i, 3), &t->pkey, &t->n_pkey);
            continue;
        }
        GROW(t->fkeys, t->n_fkeys);
        struct sfr_mirror_fkey *fk = &t->fkeys[t->n_fkeys++];
        memset(fk, 0, sizeof(*fk));
        fk->name = sfr_strdup(PQgetvalue(r, i, 1));
        split_names(val(r, i, 3), &fk->columns, &fk->n_columns);
        fk->ref_schema = sfr_strdup(val(r, i, 4));
        fk->ref_table = sfr_strdup(val(r, i, 5));
        split_names(val(r, i, 6), &fk->ref_columns, &fk->n_ref_columns);
        fk->def = sfr_strdup(PQgetvalue(r, i, 7));
    }
}

static void load_triggers(struct ctx *x, const PGresult *r)
{
    for (int i = 0; i < PQntuples(r); i++) {
        struct sfr_mirror_table *t = table_by_oid(x, PQgetvalue(r, i, 0));
        if (t == NULL)
            continue;
        GROW(t->triggers, t->n_triggers);
        struct sfr_mirror_trigger *tg = &t->triggers[t->n_triggers++];
        tg->name = sfr_strdup(PQgetvalue(r, i, 1));
        tg->enabled = is_true(r, i, 2);
        tg->def = sfr_strdup(PQgetvalue(r, i, 3));
    }
}

enum sfr_rc sfr_introspect(struct pg_conn *conn, const char *schema, struct sfr_mirror **out,
                           struct sfr_err *err)
{
    enum sfr_rc rc;
    PGresult *r = NULL;
    struct ctx x = {.conn = conn, .schema = schema, .err = err};
    char *nsp = NULL;
    *out = NULL;
    x.m = sfr_mirror_new(schema);

    if ((rc = run(&x, q_schema, schema, "schema", &r)) != SFR_OK)
        goto out;
    x.m->schema_exists = PQntuples(r) == 1;
    if (x.m->schema_exists)
        nsp = sfr_strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    r = NULL;
    if (!x.m->schema_exists)
        goto done;

    if ((rc = run(&x, q_tables, nsp, "tables", &r)) != SFR_OK)
        goto out;
    x.n_oids = PQntuples(r);
    x.oids = sfr_calloc((size_t)x.n_oids + 1, sizeof(char *));
    for (int i = 0; i < x.n_oids; i++) {
        x.oids[i] = sfr_strdup(PQgetvalue(r, i, 0));
        sfr_mirror_add_table(x.m, PQgetvalue(r, i, 1));
    }
    PQclear(r);
    r = NULL;
    if (x.m->n_tables == 0)
        goto done;

    static const struct {
        const char *sql, *what;
        void (*load)(struct ctx *, const PGresult *);
    } steps[] = {
        {q_columns, "columns", load_columns},
        {q_indexes, "indexes", load_indexes},
        {q_constraints, "constraints", load_constraints},
        {q_triggers, "triggers", load_triggers},
    };
    for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
        if ((rc = run(&x, steps[s].sql, nsp, steps[s].what, &r)) != SFR_OK)
            goto out;
        x.cursor = 0;
        steps[s].load(&x, r);
        PQclear(r);
        r = NULL;
    }
done:
    *out = x.m;
    x.m = NULL;
    rc = SFR_OK;
out:
    PQclear(r);
    strv_free(x.oids, x.n_oids);
    sfr_free(nsp);
    sfr_mirror_free(x.m);
    return rc;
}
