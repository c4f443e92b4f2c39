/* main.c — orggen: builds a sample org in sfemu and its Heroku Connect mirror
 * in Postgres from a seed, injects faults and writes the ground-truth
 * manifest (see docs/testdata.md). The Salesforce load runs in a second
 * thread beside the mirror's COPY; both regenerate the same records.
 * Exit codes follow sfrecon: 0 ok, 2 usage/config, 3 runtime failure. */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>

#include "orggen.h"
#include "sfrecon/log.h"
#include "sfrecon/pg.h"

struct opts {
    const char *sf, *db, *mapping, *describe, *schema, *faults, *manifest;
    long size;
    uint64_t seed;
    bool triggers, replace;
    struct sfr_strv objects;
};

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: orggen --db DATABASE_URL [--sf SFEMU_URL] --size N --seed S [options]\n"
            "Builds a sample org in sfemu and its Heroku Connect mirror in Postgres,\n"
            "deterministically from the seed, then injects faults and writes the manifest.\n\n"
            "  --sf URL           sfemu base URL (omit to build only the mirror)\n"
            "  --db URL           mirror database (libpq URI); default $DATABASE_URL\n"
            "  --mapping FILE     Heroku Connect export (default tests/data/mapping-sample.json)\n"
            "  --describe FILE    org describe (default tests/sfemu/org/sample-org.json)\n"
            "  --size N           number of Accounts; other objects scale with it\n"
            "  --seed S           PRNG seed (same seed, same org)\n"
            "  --schema NAME      mirror schema (default from the mapping, else salesforce)\n"
            "  --objects A,B      generate only these objects\n"
            "  --faults SPEC      cause=N,... or all=N (causes: see docs/testdata.md)\n"
            "  --manifest FILE    ground truth CSV: object,sfid,cause,parent_sfid\n"
            "  --triggers         install Heroku Connect's trigger log and triggers\n"
            "  --replace          drop an existing mirror schema first\n");
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {{"sf", required_argument, NULL, 's'},
                                       {"db", required_argument, NULL, 'd'},
                                       {"mapping", required_argument, NULL, 'm'},
                                       {"describe", required_argument, NULL, 'D'},
                                       {"size", required_argument, NULL, 'n'},
                                       {"seed", required_argument, NULL, 'S'},
                                       {"schema", required_argument, NULL, 'c'},
                                       {"faults", required_argument, NULL, 'f'},
                                       {"manifest", required_argument, NULL, 'M'},
                                       {"triggers", no_argument, NULL, 't'},
                                       {"objects", required_argument, NULL, 'o'},
                                       {"replace", no_argument, NULL, 'r'},
                                       {"verbose", no_argument, NULL, 'v'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    int ch;
    char *end;
    bool have_size = false, have_seed = false;
    while ((ch = getopt_long(argc, argv, "hv", lo, NULL)) != -1) {
        switch (ch) {
        case 's':
            o->sf = optarg;
            break;
        case 'd':
            o->db = optarg;
            break;
        case 'm':
            o->mapping = optarg;
            break;
        case 'D':
            o->describe = optarg;
            break;
        case 'c':
            o->schema = optarg;
            break;
        case 'f':
            o->faults = optarg;
            break;
        case 'M':
            o->manifest = optarg;
            break;
        case 't':
            o->triggers = true;
            break;
        case 'r':
            o->replace = true;
            break;
        case 'o':
            sfr_strv_split(&o->objects, optarg, ',');
            break;
        case 'v':
            sfr_log_set_level(SFR_LOG_DEBUG);
            break;
        case 'n':
            o->size = strtol(optarg, &end, 10);
            if (*end != '\0' || o->size < 1 || o->size > 20000000) {
                fprintf(stderr, "orggen: --size: '%s' is not a number from 1 to 20000000\n",
                        optarg);
                return 2;
            }
            have_size = true;
            break;
        case 'S':
            o->seed = strtoull(optarg, &end, 10);
            if (*end != '\0' || optarg[0] == '\0' || optarg[0] == '-') {
                fprintf(stderr, "orggen: --seed: '%s' is not an unsigned number\n", optarg);
                return 2;
            }
            have_seed = true;
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "orggen: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (o->db == NULL)
        o->db = getenv("DATABASE_URL");
    if (o->db == NULL || !have_size || !have_seed) {
        fprintf(stderr, "orggen: --db (or DATABASE_URL), --size and --seed are required\n");
        usage(stderr);
        return 2;
    }
    if (o->faults != NULL && (o->sf == NULL || o->manifest == NULL)) {
        fprintf(stderr, "orggen: --faults needs --sf (some faults start in Salesforce) and "
                        "--manifest\n");
        return 2;
    }
    return 0;
}

struct sf_job {
    struct gen_http *h;
    const struct gen *g;
    struct sfr_err err;
    enum sfr_rc rc;
    double secs;
};

static void *sf_thread(void *arg)
{
    struct sf_job *j = arg;
    double t0 = now_s();
    j->rc = gen_sf_load(j->h, j->g, &j->err);
    j->secs = now_s() - t0;
    return NULL;
}

static enum sfr_rc run(struct opts *o, struct sfr_err *err)
{
    struct gen g;
    struct gen_http *h = NULL;
    PGconn *c = NULL;
    int counts[FAULT_N] = {0};
    enum sfr_rc rc;
    double t0 = now_s();

    memset(&g, 0, sizeof(g));
    g.seed = o->seed;
    g.size = o->size;
    if (o->faults != NULL && (rc = gen_faults_parse(o->faults, counts, err)) != SFR_OK)
        return rc;
    if ((rc = sfr_config_load(o->mapping, &g.cfg, err)) != SFR_OK)
        return rc;
    if (o->schema != NULL)
        sfr_config_set_schema(g.cfg, o->schema);
    g.pg_schema = g.cfg->schema != NULL ? g.cfg->schema : SFR_PG_DEFAULT_SCHEMA;
    if ((rc = sfr_schema_load(o->describe, NULL, 0, &g.schema, err)) != SFR_OK)
        goto out;
    if (o->sf != NULL) {
        if ((rc = gen_http_new(o->sf, &h, err)) != SFR_OK ||
            (rc = gen_http_login(h, &g, err)) != SFR_OK)
            goto out;
    }
    if ((rc = gen_plan(&g, &o->objects, err)) != SFR_OK)
        goto out;
    if ((rc = sfr_pg_connect(o->db, &c, err)) != SFR_OK)
        goto out;
    if ((rc = gen_pg_create(c, &g, o->triggers, o->replace, err)) != SFR_OK)
        goto out;
    sfr_log_info("orggen: seed %llu, size %ld: %ld records in %d objects",
                 (unsigned long long)g.seed, g.size, g.total, g.n_objs);

    struct sf_job job = {.h = h, .g = &g, .rc = SFR_OK};
    pthread_t th;
    bool threaded = h != NULL && pthread_create(&th, NULL, sf_thread, &job) == 0;
    if (h != NULL && !threaded)
        sf_thread(&job);
    double tp = now_s();
    rc = gen_pg_load(c, &g, err);
    double pg_secs = now_s() - tp;
    if (threaded)
        pthread_join(th, NULL);
    if (rc == SFR_OK && job.rc != SFR_OK) {
        rc = job.rc;
        if (err != NULL)
            *err = job.err;
    }
    if (rc != SFR_OK)
        goto out;
    sfr_log_info("orggen: loaded in %.1f s (mirror %.1f s, sfemu %.1f s)", now_s() - t0, pg_secs,
                 job.secs);
    if (o->manifest != NULL) {
        rc = gen_faults_run(&g, c, h, counts, o->manifest, err);
        if (rc != SFR_OK)
            goto out;
    }
    sfr_log_info("orggen: done in %.1f s", now_s() - t0);
out:
    if (c != NULL)
        PQfinish(c);
    gen_http_free(h);
    gen_cleanup(&g);
    sfr_schema_cleanup(&g.schema);
    sfr_config_free(g.cfg);
    return rc;
}

int main(int argc, char **argv)
{
    struct opts o;
    memset(&o, 0, sizeof(o));
    o.mapping = "tests/data/mapping-sample.json";
    o.describe = "tests/sfemu/org/sample-org.json";
    sfr_log_set_level(SFR_LOG_INFO);
    int code = parse_opts(argc, argv, &o);
    if (code != 0) {
        sfr_strv_cleanup(&o.objects);
        return code < 0 ? 0 : code;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct sfr_err err;
    sfr_err_clear(&err);
    enum sfr_rc rc = run(&o, &err);
    if (rc != SFR_OK) {
        sfr_log_err(&err);
        code = sfr_rc_exit_code(rc);
        if (code == 0)
            code = 3;
    }
    curl_global_cleanup();
    sfr_strv_cleanup(&o.objects);
    return code;
}
