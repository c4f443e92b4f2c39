/* lint.c — `sfrecon lint`: schema-design review of a mapping against the
 * Salesforce describe and the live mirror. Loads the inputs, runs the checks
 * of src/lint (which do no I/O) and prints the findings on stdout.
 * Exit 0 no error-severity finding, 1 some, 2 usage/config, 3 runtime. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfrecon/cli.h"
#include "sfrecon/introspect.h"
#include "sfrecon/lint.h"
#include "sfrecon/log.h"
#include "sfrecon/mem.h"
#include "sfrecon/pg.h"
#include "sfrecon/sf.h"

void sfr_usage_lint(void)
{
    printf("Usage: sfrecon lint [-c CONFIG] [--describe DIR|FILE] [--schema NAME]\n"
           "                    [--format text|json] [--no-db]\n\n"
           "Reviews a mapping before anything drifts: lookups to unmapped parents and the\n"
           "load order, columns shorter than or incompatible with their fields (with the\n"
           "ALTER TABLE that fixes them), fields costly to sync, fields Salesforce or the\n"
           "mirror lacks, missing system columns and indexes, reserved names, the schema\n"
           "name, API calls a day against the caps, and read_write mappings without an\n"
           "external id. Each finding says why it matters and how to fix it.\n\n"
           "  -c, --config FILE     mapping (Heroku Connect export); default sfrecon.json\n"
           "      --describe PATH   directory of <Object>.json describes, or one file\n"
           "                        {\"sobjects\":[...]}; default $SFRECON_DESCRIBE, else\n"
           "                        the Salesforce API (SF_* variables)\n"
           "      --schema NAME     mirror schema (overrides the mapping)\n"
           "      --format F        text (default) or json:\n"
           "                        {\"findings\":[{\"severity\",\"code\",\"object\",\"field\",\n"
           "                        \"message\",\"fix\"}]}\n"
           "      --no-db           skip the checks of the live mirror\n\n"
           "Environment: DATABASE_URL (the mirror), SFRECON_DESCRIBE, SFRECON_ORG_DAILY_LIMIT\n"
           "(the org's API calls a day, default %ld), SF_* for describe from Salesforce.\n"
           "Exit: 0 no error found, 1 errors found, 2 usage/config error, 3 runtime failure.\n",
           SFR_LINT_DEFAULT_ORG_LIMIT);
}

/* Describe from the Salesforce API, one object at a time so that an object
 * the org lacks becomes an unknown_object finding rather than a failure. */
static enum sfr_rc describe_from_sf(const struct sfr_config *cfg, struct sfr_schema *out,
                                    struct sfr_err *err)
{
    struct sfr_sf *sf = NULL;
    enum sfr_rc rc = sfr_sf_from_env(cfg->api_version, &sf, err);
    if (rc != SFR_OK)
        return rc;
    for (int i = 0; i < cfg->n_mappings; i++) {
        struct sfr_schema one = {0};
        const char *name = cfg->mappings[i].object_name;
        rc = sfr_sf_schema(sf, &name, 1, &one, err);
        if (rc == SFR_ENOTFOUND) {
            sfr_err_clear(err);
            continue;
        }
        if (rc != SFR_OK)
            break;
        for (int k = 0; k < one.n_objects; k++)
            sfr_schema_add(out, &one.objects[k]);
        one.n_objects = 0;
        sfr_schema_cleanup(&one);
    }
    sfr_sf_free(sf);
    return rc;
}

static enum sfr_rc load_describe(const struct sfr_config *cfg, const char *path,
                                 struct sfr_schema *out, struct sfr_err *err)
{
    if (path == NULL || *path == '\0')
        path = getenv("SFRECON_DESCRIBE");
    if (path != NULL && *path != '\0')
        return sfr_schema_load(path, NULL, 0, out, err); /* all: absent objects are findings */
    if (getenv("SF_INSTANCE_URL") != NULL || getenv("SF_LOGIN_URL") != NULL)
        return describe_from_sf(cfg, out, err);
    enum sfr_rc rc = sfr_err_set(err, SFR_ECONFIG, "no describe source");
    sfr_err_hint(err, "pass --describe DIR|FILE, set SFRECON_DESCRIBE, or set SF_INSTANCE_URL + "
                      "SF_ACCESS_TOKEN");
    return rc;
}

static enum sfr_rc read_mirror(const char *schema, struct sfr_mirror **out, struct sfr_err *err)
{
    const char *url = getenv("DATABASE_URL");
    if (url == NULL || *url == '\0') {
        enum sfr_rc rc = sfr_err_set(err, SFR_ECONFIG, "DATABASE_URL is not set");
        sfr_err_hint(err, "point DATABASE_URL at the mirror, or pass --no-db to check the "
                          "mapping alone");
        return rc;
    }
    PGconn *conn = NULL;
    enum sfr_rc rc = sfr_pg_connect(url, &conn, err);
    if (rc == SFR_OK)
        rc = sfr_introspect(conn, schema, out, err);
    PQfinish(conn);
    return rc;
}

static bool parse_limit(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 1)
        return false;
    *out = v;
    return true;
}

enum { OPT_DESCRIBE = 256, OPT_SCHEMA, OPT_FORMAT, OPT_NODB };

int sfr_cmd_lint(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"describe", required_argument, NULL, OPT_DESCRIBE},
                                         {"schema", required_argument, NULL, OPT_SCHEMA},
                                         {"format", required_argument, NULL, OPT_FORMAT},
                                         {"no-db", no_argument, NULL, OPT_NODB},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *config_path = "sfrecon.json", *describe = NULL, *schema = NULL;
    bool json = false, no_db = false;
    struct sfr_lint_opts lo = {0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config_path = optarg;
            break;
        case OPT_DESCRIBE:
            describe = optarg;
            break;
        case OPT_SCHEMA:
            schema = optarg;
            break;
        case OPT_FORMAT:
            if (strcmp(optarg, "json") == 0)
                json = true;
            else if (strcmp(optarg, "text") != 0)
                return sfr_cli_usage_error("lint", "--format: expected text or json, got '%s'",
                                           optarg);
            break;
        case OPT_NODB:
            no_db = true;
            break;
        case 'h':
            sfr_usage_lint();
            return 0;
        default:
            return sfr_cli_usage_error("lint", "bad option");
        }
    }
    if (optind < argc)
        return sfr_cli_usage_error("lint", "unexpected argument '%s'", argv[optind]);
    if (schema != NULL && *schema == '\0')
        return sfr_cli_usage_error("lint", "--schema: empty name");
    const char *limit = getenv("SFRECON_ORG_DAILY_LIMIT");
    if (limit != NULL && *limit != '\0' && !parse_limit(limit, &lo.org_daily_limit))
        return sfr_cli_usage_error("lint",
                                   "SFRECON_ORG_DAILY_LIMIT: expected a positive "
                                   "number of API calls a day, got '%s'",
                                   limit);

    struct sfr_err err = {0};
    struct sfr_config *cfg = NULL;
    struct sfr_schema sch = {0};
    struct sfr_mirror *mirror = NULL;
    struct sfr_lint_result res;
    sfr_lint_result_init(&res);
    int code;
    enum sfr_rc rc = sfr_config_load(config_path, &cfg, &err);
    if (rc != SFR_OK)
        goto fail;
    if (schema != NULL)
        sfr_config_set_schema(cfg, schema);
    if ((rc = load_describe(cfg, describe, &sch, &err)) != SFR_OK)
        goto fail;
    if (!no_db && (rc = read_mirror(cfg->schema, &mirror, &err)) != SFR_OK)
        goto fail;
    lo.config_path = config_path;
    sfr_lint_run_opts(cfg, &sch, mirror, &lo, &res);
    if (json)
        sfr_lint_print_json(stdout, &res);
    else
        sfr_lint_print_text(stdout, &res);
    fflush(stdout);
    code = res.n_by_severity[SFR_LINT_ERROR] > 0 ? 1 : 0;
    goto out;
fail:
    sfr_log_err(&err);
    code = sfr_rc_exit_code(rc);
out:
    sfr_lint_result_cleanup(&res);
    sfr_mirror_free(mirror);
    sfr_schema_cleanup(&sch);
    sfr_config_free(cfg);
    return code;
}
