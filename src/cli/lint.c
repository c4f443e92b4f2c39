/* lint.c — `sfrecon lint`: schema-design review of a mapping against the
 * Salesforce describe and the live mirror. Loads the inputs, runs the checks
 * of src/lint (which do no I/O) and prints the findings on stdout.
 * Exit 0 no error-severity finding, 1 some, 2 usage/config, 3 runtime. */
#include <errno.h>
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

enum { OPT_NODB = SFR_OPT_OWN };

static const struct sfr_cli_opt lint_opts[] = {
    {"no-db", 0, NULL, OPT_NODB, "skip the checks of the live mirror"},
    {NULL, 0, NULL, SFR_OPT_FORMAT,
     "text (default) or json:\n"
     "{\"findings\":[{\"severity\",\"code\",\"object\",\"field\", "
     "\"message\",\"fix\"}]}"},
    {0},
};

static int lint_opt(void *state, int key, const char *arg)
{
    (void)arg;
    if (key == OPT_NODB)
        *(bool *)state = true;
    return 0;
}

_Static_assert(SFR_LINT_DEFAULT_ORG_LIMIT == 100000L, "the help below says 100000");

const struct sfr_cli_spec sfr_spec_lint = {
    .name = "lint",
    .summary = "check a mapping and mirror for schema-design mistakes",
    .about = "Reviews a mapping before anything drifts: lookups to unmapped parents and the\n"
             "load order, columns shorter than or incompatible with their fields (with the\n"
             "ALTER TABLE that fixes them), fields costly to sync, fields Salesforce or the\n"
             "mirror lacks, missing system columns and indexes, reserved names, the schema\n"
             "name, API calls a day against the caps, and read_write mappings without an\n"
             "external id. Each finding says why it matters and how to fix it.",
    .common = SFR_CLI_MAPPED | SFR_CLI_DESCRIBE | SFR_CLI_FORMAT | SFR_CLI_OUT,
    .formats = SFR_CLI_FMT(SFR_FMT_TEXT) | SFR_CLI_FMT(SFR_FMT_JSON),
    .opts = lint_opts,
    .notes = "Environment: DATABASE_URL (the mirror), SFRECON_DESCRIBE,\n"
             "SFRECON_ORG_DAILY_LIMIT (the org's API calls a day, default 100000),\n"
             "SF_* for describe from Salesforce.",
    .exits = "exit 0 when no error-severity finding, 1 when some.",
    .on_opt = lint_opt,
};

/* The inputs, the checks of src/lint and the findings printed. */
static int lint(const struct sfr_cli_common *c, bool no_db, struct sfr_lint_opts *lo)
{
    struct sfr_err err = {0};
    struct sfr_config *cfg = NULL;
    struct sfr_schema sch = {0};
    struct sfr_mirror *mirror = NULL;
    struct sfr_lint_result res;
    sfr_lint_result_init(&res);
    int code;
    FILE *out = NULL;
    enum sfr_rc rc = sfr_config_load(c->config, &cfg, &err);
    if (rc != SFR_OK)
        goto fail;
    if (c->schema != NULL)
        sfr_config_set_schema(cfg, c->schema);
    if ((rc = load_describe(cfg, c->describe, &sch, &err)) != SFR_OK)
        goto fail;
    if (!no_db && (rc = read_mirror(cfg->schema, &mirror, &err)) != SFR_OK)
        goto fail;
    lo->config_path = c->config;
    sfr_lint_run_opts(cfg, &sch, mirror, lo, &res);
    if ((out = sfr_cli_open_out(c)) == NULL) {
        code = SFR_EXIT_RUNTIME;
        goto out;
    }
    if (c->format == SFR_FMT_JSON)
        sfr_lint_print_json(out, &res);
    else
        sfr_lint_print_text(out, &res);
    code = !sfr_cli_close_out(c, out)              ? SFR_EXIT_RUNTIME
           : res.n_by_severity[SFR_LINT_ERROR] > 0 ? SFR_EXIT_FOUND
                                                   : SFR_EXIT_OK;
    goto out;
fail:
    code = sfr_cli_fail(rc, &err);
out:
    sfr_lint_result_cleanup(&res);
    sfr_mirror_free(mirror);
    sfr_schema_cleanup(&sch);
    sfr_config_free(cfg);
    return code;
}

int sfr_cmd_lint(int argc, char **argv)
{
    bool no_db = false;
    struct sfr_lint_opts lo = {0};
    struct sfr_cli_common c;
    int code = sfr_cli_parse(&sfr_spec_lint, argc, argv, &c, &no_db);
    if (code >= 0)
        return code;
    const char *limit = getenv("SFRECON_ORG_DAILY_LIMIT");
    if (limit != NULL && *limit != '\0' && !parse_limit(limit, &lo.org_daily_limit))
        return sfr_cli_usage_error("lint",
                                   "SFRECON_ORG_DAILY_LIMIT: expected a positive "
                                   "number of API calls a day, got '%s'",
                                   limit);
    return lint(&c, no_db, &lo);
}
