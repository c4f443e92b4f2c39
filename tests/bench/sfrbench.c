/* sfrbench.c — micro benchmarks for `make bench` (scripts/bench.sh):
 *   sfrbench hash                      XXH3 row hashing rate over canonical bytes
 *   sfrbench canon                     canonicalise + hash rate of Account-shaped rows
 *   sfrbench stream pg|rest|bulk OBJ   rows/s streaming a whole object through a side
 *   sfrbench stream bulkscan OBJ       rows/s of the side's scan (any order): one Bulk job,
 *                                      result pages in SF_BULK_STREAMS streams
 * Needs DATABASE_URL (pg) or the SF_* environment (rest, bulk), and
 * SFRECON_DESCRIBE (the describe file). Prints "name value unit" lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sfrecon/canon.h"
#include "sfrecon/digest.h"
#include "sfrecon/pg.h"
#include "sfrecon/schema.h"
#include "sfrecon/sf.h"
#include "sfrecon/side.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int bench_hash(void)
{
    size_t row = 256, n = 4u << 20; /* 1 GiB in 256-byte rows */
    char *buf = malloc(row * 64);
    for (size_t i = 0; i < row * 64; i++)
        buf[i] = (char)('a' + i % 26);
    uint64_t acc = 0;
    double t0 = now();
    for (size_t i = 0; i < n; i++)
        acc += sfr_hash_bytes(buf + (i % 64) * row, row);
    double dt = now() - t0;
    printf("row_hash_rate %.2f GB/s (256-byte rows, checksum %llx)\n", (double)(row * n) / dt / 1e9,
           (unsigned long long)(acc & 0xff));
    free(buf);
    return 0;
}

static enum sfr_rc load_obj(const char *name, struct sfr_schema *s, struct sfr_err *err)
{
    const char *path = getenv("SFRECON_DESCRIBE");
    const char *names[1] = {name};
    return sfr_schema_load(path ? path : "tests/sfemu/org/sample-org.json", names, 1, s, err);
}

static const char *const account_fields[] = {
    "Name",   "ParentId",       "AccountNumber",     "Industry",
    "Rating", "AnnualRevenue",  "NumberOfEmployees", "Website",
    "Phone",  "External_Id__c", "CreatedDate",       "IsDeleted"};

static int bench_canon(void)
{
    struct sfr_schema s = {0};
    struct sfr_err err;
    if (load_obj("Account", &s, &err) != SFR_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 3;
    }
    struct sfr_projection p;
    sfr_projection_init(&p, sfr_schema_object(&s, "Account"), account_fields, 12, "salesforce",
                        NULL);
    const char *vals[16] = {0};
    size_t lens[16];
    for (int i = 0; i < p.n_fields; i++) {
        const struct sfr_field *f = p.fields[i];
        switch (f->type) {
        case SFR_FT_ID:
        case SFR_FT_REFERENCE:
            vals[i] = "001G000000000012AAA";
            break;
        case SFR_FT_CURRENCY:
            vals[i] = "1234567";
            break;
        case SFR_FT_INT:
            vals[i] = "250";
            break;
        case SFR_FT_BOOLEAN:
            vals[i] = "f";
            break;
        case SFR_FT_DATETIME:
            vals[i] = "2024-01-01 00:00:00.123";
            break;
        default:
            vals[i] = "Some text value 42";
            break;
        }
        lens[i] = strlen(vals[i]);
    }
    struct sfr_rowhash h;
    sfr_rowhash_init(&h);
    long n = 2000000;
    uint64_t acc = 0;
    double t0 = now();
    for (long i = 0; i < n; i++)
        acc += sfr_projection_hash(&p, &h, SFR_SRC_PG, vals, lens);
    double dt = now() - t0;
    printf("canon_hash_rate %.0f rows/s (%d-field Account rows, checksum %llx)\n", n / dt,
           p.n_fields, (unsigned long long)(acc & 0xff));
    sfr_rowhash_cleanup(&h);
    sfr_projection_cleanup(&p);
    sfr_schema_cleanup(&s);
    return 0;
}

struct tally {
    long n, out_of_order;
    struct sfr_digest d;
    char last[64];
};

static int count_row(void *ctx, const struct sfr_row_summary *r)
{
    struct tally *t = ctx;
    if (t->n++ > 0 && strcmp(t->last, r->sfid) >= 0)
        t->out_of_order++;
    snprintf(t->last, sizeof(t->last), "%s", r->sfid);
    sfr_digest_add_row(&t->d, r->hash, r->mod_ms);
    return 0;
}

static int bench_stream(const char *how, const char *object)
{
    struct sfr_schema s = {0};
    struct sfr_err err = {0};
    if (load_obj(object, &s, &err) != SFR_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 3;
    }
    const struct sfr_object *obj = sfr_schema_object(&s, object);
    struct sfr_projection p;
    bool acct = strcmp(object, "Account") == 0;
    const char *one[] = {"Name"};
    sfr_projection_init(&p, obj, acct ? account_fields : one, acct ? 12 : 1, "salesforce", NULL);
    struct sfr_side *side = NULL;
    if (strcmp(how, "pg") == 0) {
        side = sfr_pg_side_new(getenv("DATABASE_URL"), &err);
    } else {
        struct sfr_sf *c = NULL;
        if (sfr_sf_from_env("60.0", &c, &err) == SFR_OK)
            side = sfr_sf_side_new(c, strncmp(how, "bulk", 4) == 0 ? 1 : 0, true);
    }
    if (side == NULL) {
        fprintf(stderr, "sfrbench: %s\n", err.msg);
        return 3;
    }
    struct sfr_range r = {NULL, NULL};
    struct tally t;
    memset(&t, 0, sizeof(t));
    sfr_digest_init(&t.d);
    double t0 = now();
    bool scan = strcmp(how, "bulkscan") == 0;
    enum sfr_rc rc = scan ? sfr_side_scan(side, &p, count_row, &t, &err)
                          : sfr_side_stream(side, &p, &r, strcmp(how, "bulk") == 0 ? 1000000 : 100,
                                            count_row, &t, &err);
    double dt = now() - t0;
    if (rc != SFR_OK)
        fprintf(stderr, "sfrbench: %s\n", err.msg);
    else
        printf("stream_%s %.0f rows/s (%ld rows in %.2f s, %ld API calls, %ld out of order, "
               "digest %llu:%016llx)\n",
               how, t.n / dt, t.n, dt, side->stats.api_calls, t.out_of_order,
               (unsigned long long)t.d.count, (unsigned long long)t.d.sum);
    sfr_side_free(side);
    sfr_projection_cleanup(&p);
    sfr_schema_cleanup(&s);
    return rc == SFR_OK ? 0 : 3;
}

int sfrbench_synclat(int argc, char **argv); /* synclat.c */

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "synclat") == 0)
        return sfrbench_synclat(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "hash") == 0)
        return bench_hash();
    if (argc >= 2 && strcmp(argv[1], "canon") == 0)
        return bench_canon();
    if (argc >= 4 && strcmp(argv[1], "stream") == 0)
        return bench_stream(argv[2], argv[3]);
    fprintf(stderr, "usage: sfrbench hash | canon | stream pg|rest|bulk|bulkscan OBJECT\n");
    return 2;
}
