/* schema.c — `sfrecon schema`: prints the Heroku Connect mirror DDL that a
 * mapping implies (tables, system columns, indexes, optionally Connect's
 * trigger-log write path) on stdout, from describe files; needs no database.
 * Exit 0 printed, 2 usage/config error, 3 runtime failure. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfrecon/cli.h"
#include "sfrecon/config.h"
#include "sfrecon/log.h"
#include "sfrecon/mem.h"
#include "sfrecon/pg.h"
#include "sfrecon/schema.h"

struct schema_opts {
    const char *config;
    const char *describe;
    const char *schema;
    bool triggers;
};

void sfr_usage_schema(void)
{
    printf("Usage: sfrecon schema [-c CONFIG] [--describe DIR|FILE] [--schema NAME] [--triggers]\n"
           "\n"
           "Prints the DDL of the Postgres mirror the mapping implies, in the layout Heroku\n"
           "Connect creates: one table per mapped object (lowercase name) with the system\n"
           "columns id, sfid, systemmodstamp, isdeleted, _hc_lastop, _hc_err, createddate and\n"
           "one column per mapped field; the hcu_idx_<table>_sfid and\n"
           "hc_idx_<table>_systemmodstamp indexes, one per mapping \"indexes\" entry, and\n"
           "sfrecon_idx_<table>_sfid_c on (sfid COLLATE \"C\"), which serves sfrecon's\n"
           "byte-order range scans. The script is idempotent: apply it with\n"
           "  sfrecon schema -c map.json | psql -v ON_ERROR_STOP=1 \"$DATABASE_URL\"\n"
           "\n"
           "  -c, --config FILE     mapping (Heroku Connect export); default sfrecon.json\n"
           "      --describe PATH   directory of <Object>.json describe bodies, or one file\n"
           "                        {\"sobjects\":[...]}; default $SFRECON_DESCRIBE\n"
           "      --schema NAME     mirror schema (overrides the mapping; default salesforce)\n"
           "      --triggers        also print Connect's write path: _trigger_log,\n"
           "                        _trigger_log_archive, _hcmeta, _sf_event_log,\n"
           "                        get_xmlbinary() and the per-table status/logger triggers\n"
           "  -h, --help            this help\n"
           "\n"
           "Exit: 0 printed, 2 usage or configuration error, 3 runtime failure.\n");
}

static int parse_opts(int argc, char **argv, struct schema_opts *o)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'}, {"describe", required_argument, NULL, 'd'},
        {"schema", required_argument, NULL, 's'}, {"triggers", no_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":c:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            o->config = optarg;
            break;
        case 'd':
            o->describe = optarg;
            break;
        case 's':
            if (optarg[0] == '\0')
                return sfr_cli_usage_error("schema", "--schema: expected a schema name");
            o->schema = optarg;
            break;
        case 't':
            o->triggers = true;
            break;
        case 'h':
            sfr_usage_schema();
            return 0;
        case ':':
            return sfr_cli_usage_error("schema", "option '%s' needs a value", argv[optind - 1]);
        default:
            return sfr_cli_usage_error("schema", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return sfr_cli_usage_error("schema", "unexpected argument '%s'", argv[optind]);
    return -1;
}

int sfr_cmd_schema(int argc, char **argv)
{
    struct schema_opts o = {.config = "sfrecon.json"};
    int code = parse_opts(argc, argv, &o);
    if (code >= 0)
        return code;
    struct sfr_err err = {0};
    struct sfr_config *cfg = NULL;
    struct sfr_schema s = {0};
    struct sfr_buf out = SFR_BUF_INIT;
    const char **names = NULL;
    /* the mapping first: its errors must not hide behind a missing describe */
    enum sfr_rc rc = sfr_config_load(o.config, &cfg, &err);
    if (rc != SFR_OK)
        goto out;
    if (o.describe == NULL || o.describe[0] == '\0')
        o.describe = getenv("SFRECON_DESCRIBE");
    if (o.describe == NULL || o.describe[0] == '\0') {
        rc = sfr_err_set(&err, SFR_ECONFIG,
                         "sfrecon schema: no describe files: the DDL needs each field's type "
                         "and length");
        sfr_err_hint(&err, "pass --describe DIR|FILE or set SFRECON_DESCRIBE (the sample org is "
                           "tests/sfemu/org/sample-org.json)");
        goto out;
    }
    if (o.schema != NULL)
        sfr_config_set_schema(cfg, o.schema);
    names = sfr_calloc((size_t)cfg->n_mappings + 1, sizeof(*names));
    for (int i = 0; i < cfg->n_mappings; i++)
        names[i] = cfg->mappings[i].object_name;
    rc = sfr_schema_load(o.describe, names, cfg->n_mappings, &s, &err);
    if (rc != SFR_OK)
        goto out;
    rc = sfr_pg_mirror_ddl(cfg, &s, &out, o.triggers, &err);
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
