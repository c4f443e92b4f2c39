/* dump.c — test driver for mirror introspection (tests/integration/
 * t_introspect.sh compiles it against libsfr.a): reads schema SCHEMA of the
 * database at URL with sfr_introspect() and prints what it read, one fact a
 * line, tab-separated, so a shell test can compare it with the DDL it applied:
 *   schema  NAME exists|absent
 *   table   T
 *   column  T  NAME  TYPE  LEN  null|notnull  COLLATION|-
 *   index   T  NAME  unique|plain  KEY[,KEY]  COLL[,COLL]  corder|-  partial|-
 *   pkey    T  NAME  COL[,COL]
 *   fkey    T  NAME  COL  REFSCHEMA.REFTABLE(COL)
 *   trigger T  NAME  enabled|disabled
 *   corder  T  INDEX|-     (the index serving sfid COLLATE "C" range scans)
 * Usage: dump URL SCHEMA. Exit 0, or 3 on a connection/query error. */
#include <stdio.h>

#include <libpq-fe.h>

#include "sfrecon/introspect.h"

static void list(const char *const *v, int n)
{
    putchar('\t');
    for (int i = 0; i < n; i++)
        printf("%s%s", i ? "," : "", v[i] != NULL ? v[i] : "-");
    if (n == 0)
        putchar('-');
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: dump URL SCHEMA\n");
        return 2;
    }
    PGconn *conn = PQconnectdb(argv[1]);
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "dump: %s", PQerrorMessage(conn));
        PQfinish(conn);
        return 3;
    }
    struct sfr_mirror *m = NULL;
    struct sfr_err err = {0};
    if (sfr_introspect(conn, argv[2], &m, &err) != SFR_OK) {
        fprintf(stderr, "dump: %s\n", err.msg);
        PQfinish(conn);
        return 3;
    }
    printf("schema\t%s\t%s\n", m->schema, m->schema_exists ? "exists" : "absent");
    for (int i = 0; i < m->n_tables; i++) {
        const struct sfr_mirror_table *t = &m->tables[i];
        printf("table\t%s\n", t->name);
        for (int k = 0; k < t->n_columns; k++) {
            const struct sfr_mirror_column *c = &t->columns[k];
            printf("column\t%s\t%s\t%s\t%d\t%s\t%s\n", t->name, c->name, c->type, c->max_length,
                   c->nullable ? "null" : "notnull", c->collation ? c->collation : "-");
        }
        for (int k = 0; k < t->n_indexes; k++) {
            const struct sfr_mirror_index *x = &t->indexes[k];
            const struct sfr_mirror_index *c = sfr_mirror_sfid_c_index(t);
            printf("index\t%s\t%s\t%s", t->name, x->name, x->unique ? "unique" : "plain");
            list((const char *const *)x->keys, x->n_keys);
            list((const char *const *)x->collations, x->n_keys);
            printf("\t%s\t%s\n", c == x ? "corder" : "-", x->predicate ? "partial" : "-");
        }
        if (t->pkey_name != NULL) {
            printf("pkey\t%s\t%s", t->name, t->pkey_name);
            list((const char *const *)t->pkey, t->n_pkey);
            putchar('\n');
        }
        for (int k = 0; k < t->n_fkeys; k++) {
            const struct sfr_mirror_fkey *f = &t->fkeys[k];
            printf("fkey\t%s\t%s", t->name, f->name);
            list((const char *const *)f->columns, f->n_columns);
            printf("\t%s.%s(%s)\n", f->ref_schema, f->ref_table,
                   f->n_ref_columns > 0 ? f->ref_columns[0] : "-");
        }
        for (int k = 0; k < t->n_triggers; k++)
            printf("trigger\t%s\t%s\t%s\n", t->name, t->triggers[k].name,
                   t->triggers[k].enabled ? "enabled" : "disabled");
        const struct sfr_mirror_index *c = sfr_mirror_sfid_c_index(t);
        printf("corder\t%s\t%s\n", t->name, c != NULL ? c->name : "-");
    }
    sfr_mirror_free(m);
    PQfinish(conn);
    return 0;
}
