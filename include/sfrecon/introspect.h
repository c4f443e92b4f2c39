/* introspect.h — what a Postgres mirror schema actually holds: tables,
 * columns (type as format_type prints it, length, nullability, collation),
 * indexes (keys, collations, whether one serves sfid range scans in byte
 * order), primary keys, foreign keys and triggers.
 *
 * sfr_introspect() reads the catalogs of a live database; the sfr_mirror_add_*
 * builders let tests (and callers that know the layout) assemble the same
 * model by hand, so checks over a mirror run without a database.
 *
 * Names are stored exactly as the catalogs hold them (lowercase for Heroku
 * Connect tables); lookups are exact first, then case-insensitive.
 * PGconn is declared as its libpq struct so that this header does not pull in
 * libpq: only src/pg/ includes libpq-fe.h. */
#ifndef SFRECON_INTROSPECT_H
#define SFRECON_INTROSPECT_H

#include <stdbool.h>
#include "sfrecon/err.h"

struct pg_conn; /* libpq's PGconn */

struct sfr_mirror_column {
    char *name;
    char *type;      /* format_type(): "character varying(80)", "double precision" */
    char *base_type; /* pg_type.typname: "varchar", "float8", "timestamp", "bool" */
    int max_length;  /* varchar(n)/char(n) n, -1 when unbounded or not text */
    bool nullable;
    char *collation;    /* "C", "ucs_basic", ...; NULL = the database default */
    char *default_expr; /* column default expression, NULL when none */
};

struct sfr_mirror_index {
    char *name;
    bool unique;
    bool primary;
    char *method;      /* "btree", "hash", ... */
    char **keys;       /* per key column: column name, or expression text */
    bool *key_is_expr; /* per key: true when an expression, not a plain column */
    char **collations; /* per key: collation name, NULL = default / not collatable */
    int n_keys;
    char *predicate; /* partial index WHERE clause, NULL when none */
    char *def;       /* pg_get_indexdef() */
};

struct sfr_mirror_fkey {
    char *name;
    char **columns;
    int n_columns;
    char *ref_schema;
    char *ref_table;
    char **ref_columns;
    int n_ref_columns;
    char *def; /* pg_get_constraintdef() */
};

struct sfr_mirror_trigger {
    char *name;
    bool enabled;
    char *def; /* pg_get_triggerdef() */
};

struct sfr_mirror_table {
    char *name;
    struct sfr_mirror_column *columns; /* in attnum order */
    int n_columns;
    struct sfr_mirror_index *indexes; /* ordered by name */
    int n_indexes;
    char *pkey_name; /* primary key constraint, NULL when none */
    char **pkey;     /* primary key columns */
    int n_pkey;
    struct sfr_mirror_fkey *fkeys;
    int n_fkeys;
    struct sfr_mirror_trigger *triggers;
    int n_triggers;
};

struct sfr_mirror {
    char *schema;
    bool schema_exists;
    struct sfr_mirror_table *tables; /* ordered by name */
    int n_tables;
};

/* Reads schema `schema` of the database behind conn (ordinary and
 * partitioned tables; views are ignored). A schema that does not exist is not
 * an error: *out has schema_exists false and no tables. Errors: SFR_EPG with
 * the SQLSTATE and server message. *out is caller-owned (sfr_mirror_free). */
enum sfr_rc sfr_introspect(struct pg_conn *conn, const char *schema, struct sfr_mirror **out,
                           struct sfr_err *err) SFR_WUR;
void sfr_mirror_free(struct sfr_mirror *m);

/* Lookups; exact name first, then case-insensitive. Borrowed; NULL when absent. */
const struct sfr_mirror_table *sfr_mirror_table(const struct sfr_mirror *m, const char *name);
const struct sfr_mirror_column *sfr_mirror_column(const struct sfr_mirror_table *t,
                                                  const char *name);
const struct sfr_mirror_index *sfr_mirror_index(const struct sfr_mirror_table *t, const char *name);

/* True for the collations that sort strings in byte order: "C", "POSIX" and
 * "ucs_basic" (byte order for UTF-8). */
bool sfr_collation_is_bytewise(const char *collation);
/* True when key expression/column text denotes `column` itself, allowing the
 * casts and parentheses pg_get_indexdef adds: "sfid", "(sfid)::text". */
bool sfr_index_key_is_column(const char *key, const char *column);
/* The index whose leading key is sfid in a byte-order collation (a btree,
 * not partial): one that serves `sfid COLLATE "C"` range scans and ORDER BY.
 * Its collations[0] (or the column's collation) names the collation to use in
 * queries. NULL when none. */
const struct sfr_mirror_index *sfr_mirror_sfid_c_index(const struct sfr_mirror_table *t);
/* A unique, non-partial index whose only key is the column (any collation). */
const struct sfr_mirror_index *sfr_mirror_unique_index_on(const struct sfr_mirror_table *t,
                                                          const char *column);
/* Any non-partial index whose leading key is the column. */
const struct sfr_mirror_index *sfr_mirror_index_leading(const struct sfr_mirror_table *t,
                                                        const char *column);

/* Builders (copy their arguments). The column type is given as format_type
 * prints it; base_type and max_length are derived from it ("character
 * varying(80)" -> "varchar", 80). A returned table pointer stays valid until
 * the next sfr_mirror_add_table on the same mirror; column, index and fkey
 * pointers until the next add of the same kind on the same table. */
struct sfr_mirror *sfr_mirror_new(const char *schema);
struct sfr_mirror_table *sfr_mirror_add_table(struct sfr_mirror *m, const char *name);
struct sfr_mirror_column *sfr_mirror_add_column(struct sfr_mirror_table *t, const char *name,
                                                const char *type, bool nullable,
                                                const char *collation);
/* keys: n column names or expressions; collations may be NULL (all default)
 * or hold NULL entries. A key that is not a plain column name of t (after
 * sfr_index_key_is_column) is marked as an expression. */
struct sfr_mirror_index *sfr_mirror_add_index(struct sfr_mirror_table *t, const char *name,
                                              bool unique, const char *const *keys,
                                              const char *const *collations, int n);
void sfr_mirror_set_pkey(struct sfr_mirror_table *t, const char *name, const char *const *cols,
                         int n);
struct sfr_mirror_fkey *sfr_mirror_add_fkey(struct sfr_mirror_table *t, const char *name,
                                            const char *column, const char *ref_schema,
                                            const char *ref_table, const char *ref_column);

#endif
