/* schema.c — `sfrecon schema`: prints the Heroku Connect mirror DDL that a
 * mapping implies (tables, system columns, indexes, optionally Connect's
 * trigger-log write path) on stdout, from describe files or the org's
 * describe (SF_*); needs no database.
 * Exit 0 printed, 2 usage/config error, 3 runtime failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfrecon/cli.h"
#include "sfrecon/config.h"
#include "sfrecon/log.h"
#include "sfrecon/mem.h"
#include "sfrecon/pg.h"
#include "sfrecon/schema.h"
#include "sfrecon/sf.h"

enum { OPT_TRIGGERS = SFR_OPT_OWN };

static const struct sfr_cli_opt schema_opts[] = {
    {"triggers", 0, NULL, OPT_TRIGGERS,
     "also print Connect's write path: _trigger_log, "
     "_trigger_log_archive, _hcmeta, _sf_event_log, "
     "get_xmlbinary() and the per-table status/logger triggers"},
    {NULL, 0, NULL, SFR_OPT_DESCRIBE,
     "directory of <Object>.json describe bodies, or one file "
     "{\"sobjects\":[...]}; default $SFRECON_DESCRIBE, else the org's describe "
     "when SF_INSTANCE_URL or SF_LOGIN_URL is set"},
    {0},
};

static int schema_opt(void *state, int key, const char *arg)
{
    (void)arg;
    if (key == OPT_TRIGGERS)
        *(bool *)state = true;
    return 0;
}

const struct sfr_cli_spec sfr_spec_schema = {
    .name = "schema",
    .summary = "print the mirror DDL the mapping implies",
    .about = "Prints the DDL of the Postgres mirror the mapping implies, in the layout Heroku\n"
             "Connect creates: one table per mapped object (lowercase name) with the system\n"
             "columns id, sfid, systemmodstamp, isdeleted, _hc_lastop, _hc_err, createddate\n"
             "and one column per mapped field; the hcu_idx_<table>_sfid and\n"
             "hc_idx_<table>_systemmodstamp indexes, one per mapping \"indexes\" entry, and\n"
             "sfrecon_idx_<table>_sfid_c on (sfid COLLATE \"C\"), which serves sfrecon's\n"
             "byte-order range scans. The script is idempotent: apply it with\n"
             "  sfrecon schema -c map.json | psql -v ON_ERROR_STOP=1 \"$DATABASE_URL\"",
    .common = SFR_CLI_MAPPED | SFR_CLI_DESCRIBE,
    .opts = schema_opts,
    .notes = "Needs no database. With SF_* set and no describe files, one describe call per\n"
             "mapped object goes to Salesforce.",
    .exits = "exit 0 when the DDL was printed.",
    .on_opt = schema_opt,
};

int sfr_cmd_schema(int argc, char **argv)
{
    bool triggers = false;
    struct sfr_cli_common c;
    int code = sfr_cli_parse(&sfr_spec_schema, argc, argv, &c, &triggers);
    if (code >= 0)
        return code;
    struct sfr_err err = {0};
    struct sfr_config *cfg = NULL;
    struct sfr_schema s = {0};
    struct sfr_buf out = SFR_BUF_INIT;
    const char **names = NULL;
    /* the mapping first: its errors must not hide behind a missing describe */
    enum sfr_rc rc = sfr_config_load(c.config, &cfg, &err);
    if (rc != SFR_OK)
        goto out;
    const char *describe = c.describe;
    if (describe == NULL || describe[0] == '\0')
        describe = getenv("SFRECON_DESCRIBE");
    bool from_sf = getenv("SF_INSTANCE_URL") != NULL || getenv("SF_LOGIN_URL") != NULL;
    if ((describe == NULL || describe[0] == '\0') && !from_sf) {
        rc = sfr_err_set(&err, SFR_ECONFIG,
                         "sfrecon schema: no describe files: the DDL needs each field's type "
                         "and length");
        sfr_err_hint(&err, "pass --describe DIR|FILE, set SFRECON_DESCRIBE (the sample org is "
                           "tests/sfemu/org/sample-org.json), or set SF_INSTANCE_URL + "
                           "SF_ACCESS_TOKEN to read it from the org");
        goto out;
    }
    if (c.schema != NULL)
        sfr_config_set_schema(cfg, c.schema);
    names = sfr_calloc((size_t)cfg->n_mappings + 1, sizeof(*names));
    for (int i = 0; i < cfg->n_mappings; i++)
        names[i] = cfg->mappings[i].object_name;
    if (describe != NULL && describe[0] != '\0') {
        rc = sfr_schema_load(describe, names, cfg->n_mappings, &s, &err);
    } else {
        struct sfr_sf *sf = NULL;
        rc = sfr_sf_from_env(cfg->api_version, &sf, &err);
        if (rc == SFR_OK)
            rc = sfr_sf_schema(sf, names, cfg->n_mappings, &s, &err);
        sfr_sf_free(sf);
    }
    if (rc != SFR_OK)
        goto out;
    rc = sfr_pg_mirror_ddl(cfg, &s, &out, triggers, &err);
    if (rc != SFR_OK)
        goto out;
    if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0)
        rc = sfr_err_set(&err, SFR_EIO, "writing the DDL to stdout failed");
out:
    if (rc != SFR_OK)
        sfr_log_err(&err);
    sfr_buf_cleanup(&out);
    sfr_free(names);
    sfr_schema_cleanup(&s);
    sfr_config_free(cfg);
    if (rc == SFR_OK)
        return 0;
    /* A describe file that cannot be read or parsed is a configuration error. */
    if (rc == SFR_ENOTFOUND || rc == SFR_EIO || rc == SFR_EINVAL)
        return 2;
    return sfr_rc_exit_code(rc);
}
