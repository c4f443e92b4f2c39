/* pgdrv.c — test driver for the Postgres side (tests/integration/t_pg_side.sh).
 * Compiled by the test script against $BUILD/libsfr.a. Drives one side op per
 * run and prints the results in a line-oriented form the script can grep.
 *
 *   pgdrv CONFIG DESCRIBE OBJECT migrate
 *   pgdrv CONFIG DESCRIBE OBJECT digest count|content LO HI     (- = unbounded)
 *   pgdrv CONFIG DESCRIBE OBJECT stream LO HI
 *   pgdrv CONFIG DESCRIBE OBJECT bench LO HI                    (rows/s to stdout)
 *   pgdrv CONFIG DESCRIBE OBJECT fetch ID...
 *   pgdrv CONFIG DESCRIBE OBJECT hash ID...                     (row hash of fetched values)
 *   pgdrv CONFIG DESCRIBE OBJECT bounds EVERY
 *   pgdrv CONFIG DESCRIBE OBJECT write RUN OP ID [Field=value ...] [-- OP ID ...]
 *   pgdrv CONFIG DESCRIBE OBJECT undo RUN
 * DATABASE_URL names the mirror. Exit 0 ok, 1 op failed, 2 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sfrecon/config.h"
#include "sfrecon/log.h"
#include "sfrecon/pg.h"
#include "sfrecon/side.h"

static int print_row(void *ctx, const struct sfr_row_summary *row)
{
    (void)ctx;
    printf("%s %016llx %lld\n", row->sfid, (unsigned long long)row->hash, (long long)row->mod_ms);
    return 0;
}

struct bench {
    long rows;
    uint64_t sum;
};

static int count_row(void *ctx, const struct sfr_row_summary *row)
{
    struct bench *b = ctx;
    b->rows++;
    b->sum += row->hash;
    return 0;
}

static int print_record(void *ctx, const struct sfr_record *rec)
{
    const struct sfr_projection *p = ctx;
    printf("record %s pg_id=%ld dup=%d lastop=%s err=%s trigger_failed=%s\n", rec->sfid, rec->pg_id,
           rec->dup_count, rec->hc_lastop ? rec->hc_lastop : "NULL",
           rec->hc_err ? rec->hc_err : "NULL", rec->trigger_failed ? rec->trigger_failed : "NULL");
    for (int i = 0; i < rec->n_values; i++)
        printf("  %s=%s\n", p->fields[i]->name, rec->values[i] ? rec->values[i] : "NULL");
    return 0;
}

/* Row hash of a fetched record: checks the COPY parser against PQgetvalue. */
static int print_record_hash(void *ctx, const struct sfr_record *rec)
{
    const struct sfr_projection *p = ctx;
    struct sfr_rowhash h;
    sfr_rowhash_init(&h);
    uint64_t hash = sfr_projection_hash(p, &h, SFR_SRC_PG, (const char *const *)rec->values, NULL);
    sfr_rowhash_cleanup(&h);
    printf("%s %016llx %lld\n", rec->sfid, (unsigned long long)hash, (long long)rec->mod_ms);
    return 0;
}

static const char *bound(const char *s)
{
    return strcmp(s, "-") == 0 ? NULL : s;
}

static int field_index(const struct sfr_projection *p, const char *name)
{
    for (int i = 0; i < p->n_fields; i++)
        if (strcasecmp(p->fields[i]->name, name) == 0)
            return i;
    return -1;
}

/* write RUN OP ID [F=V ...] [-- OP ID [F=V ...]] ... */
static int do_write(struct sfr_side *side, const struct sfr_projection *p, int argc, char **argv,
                    struct sfr_err *err)
{
    int64_t run = atoll(argv[0]);
    struct sfr_write w[64];
    char **vals[64];
    bool *sets[64];
    int n = 0;
    for (int i = 1; i < argc && n < 64;) {
        if (i + 1 >= argc)
            return 2;
        const char *op = argv[i];
        struct sfr_write *x = &w[n];
        memset(x, 0, sizeof(*x));
        x->kind = strcmp(op, "upsert") == 0   ? SFR_WRITE_UPSERT
                  : strcmp(op, "insert") == 0 ? SFR_WRITE_INSERT
                  : strcmp(op, "update") == 0 ? SFR_WRITE_UPDATE
                                              : SFR_WRITE_DELETE;
        x->sfid = argv[i + 1];
        vals[n] = sfr_calloc((size_t)p->n_fields, sizeof(char *));
        sets[n] = sfr_calloc((size_t)p->n_fields, sizeof(bool));
        for (i += 2; i < argc && strcmp(argv[i], "--") != 0; i++) {
            char *eq = strchr(argv[i], '=');
            if (eq == NULL)
                return 2;
            *eq = '\0';
            int k = field_index(p, argv[i]);
            if (k < 0) {
                fprintf(stderr, "pgdrv: no field %s\n", argv[i]);
                return 2;
            }
            vals[n][k] = strcmp(eq + 1, "NULL") == 0 ? NULL : eq + 1;
            sets[n][k] = true;
        }
        x->values = (const char *const *)vals[n];
        x->set = sets[n];
        n++;
        if (i < argc)
            i++; /* -- */
    }
    enum sfr_rc rc = side->ops->write(side, p, w, n, run, err);
    for (int i = 0; i < n; i++) {
        printf("write %d %s %s %s\n", i, w[i].ok ? "ok" : "fail", w[i].error_code, w[i].message);
        sfr_free(vals[i]);
        sfr_free(sets[i]);
    }
    printf("stats queries=%ld rows_written=%ld\n", side->stats.queries, side->stats.rows_written);
    return rc == SFR_OK ? 0 : 1;
}

static int run_cmd(struct sfr_side *side, const struct sfr_projection *p, int argc, char **argv,
                   struct sfr_err *err)
{
    const char *cmd = argv[0];
    enum sfr_rc rc = SFR_OK;
    if (strcmp(cmd, "migrate") == 0) {
        rc = sfr_pg_migrate(sfr_pg_side_conn(side), err);
        printf("version %d\n", sfr_pg_schema_version(sfr_pg_side_conn(side)));
    } else if (strcmp(cmd, "digest") == 0 && argc == 4) {
        struct sfr_range r = {bound(argv[2]), bound(argv[3])};
        struct sfr_digest d;
        rc = sfr_side_digest(side, p, &r,
                             strcmp(argv[1], "count") == 0 ? SFR_DEPTH_COUNT : SFR_DEPTH_CONTENT,
                             &d, err);
        if (rc == SFR_OK)
            printf("count=%llu sum=%016llx max_mod=%lld\n", (unsigned long long)d.count,
                   (unsigned long long)d.sum, (long long)d.max_mod_ms);
    } else if (strcmp(cmd, "stream") == 0 && argc == 3) {
        struct sfr_range r = {bound(argv[1]), bound(argv[2])};
        rc = sfr_side_stream(side, p, &r, -1, print_row, NULL, err);
    } else if (strcmp(cmd, "bench") == 0 && argc == 3) {
        struct sfr_range r = {bound(argv[1]), bound(argv[2])};
        struct bench b = {0, 0};
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rc = sfr_side_stream(side, p, &r, -1, count_row, &b, err);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        printf("rows=%ld secs=%.3f rows_per_sec=%.0f sum=%016llx\n", b.rows, secs,
               secs > 0 ? (double)b.rows / secs : 0.0, (unsigned long long)b.sum);
    } else if (strcmp(cmd, "fetch") == 0) {
        rc = sfr_side_fetch(side, p, (const char *const *)argv + 1, argc - 1, print_record,
                            (void *)p, err);
    } else if (strcmp(cmd, "hash") == 0) {
        rc = sfr_side_fetch(side, p, (const char *const *)argv + 1, argc - 1, print_record_hash,
                            (void *)p, err);
    } else if (strcmp(cmd, "bounds") == 0 && argc == 2) {
        struct sfr_strv keys = {0};
        long total = 0;
        rc = side->ops->boundaries(side, p, atol(argv[1]), &keys, &total, err);
        if (rc == SFR_OK) {
            printf("total %ld\n", total);
            for (size_t i = 0; i < keys.n; i++)
                printf("key %s\n", keys.v[i]);
        }
        sfr_strv_cleanup(&keys);
    } else if (strcmp(cmd, "write") == 0 && argc >= 4) {
        return do_write(side, p, argc - 1, argv + 1, err);
    } else if (strcmp(cmd, "undo") == 0 && argc == 2) {
        long n = 0;
        rc = sfr_pg_undo(sfr_pg_side_conn(side), atoll(argv[1]), &n, err);
        printf("undone %ld\n", n);
    } else {
        fprintf(stderr, "pgdrv: bad command\n");
        return 2;
    }
    return rc == SFR_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: pgdrv CONFIG DESCRIBE OBJECT CMD [ARGS]\n");
        return 2;
    }
    struct sfr_err err = {0};
    struct sfr_config *cfg = NULL;
    struct sfr_schema s = {0};
    struct sfr_side *side = NULL;
    struct sfr_projection p = {0};
    int code = 1;
    const char *object = argv[3];
    if (sfr_config_load(argv[1], &cfg, &err) != SFR_OK ||
        sfr_schema_load(argv[2], &object, 1, &s, &err) != SFR_OK)
        goto out;
    const struct sfr_mapping *m = sfr_config_mapping(cfg, object);
    const struct sfr_object *obj = sfr_schema_object(&s, object);
    if (m == NULL || obj == NULL) {
        fprintf(stderr, "pgdrv: %s is not mapped\n", object);
        goto out;
    }
    sfr_projection_init(&p, obj, (const char *const *)m->fields, m->n_fields, cfg->schema, NULL);
    side = sfr_pg_side_new(getenv("DATABASE_URL"), &err);
    if (side == NULL)
        goto out;
    code = run_cmd(side, &p, argc - 4, argv + 4, &err);
out:
    if (code == 1)
        sfr_log_err(&err);
    sfr_side_free(side);
    sfr_projection_cleanup(&p);
    sfr_schema_cleanup(&s);
    sfr_config_free(cfg);
    return code;
}
