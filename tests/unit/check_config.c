/* check_config.c — the mapping file: Heroku Connect exports as is, sfrecon's
 * own object, defaults, and errors that name the file, line and key path. */
#include <check.h>
#include <stdio.h>
#include <json-c/json.h>
#include <string.h>

#include "sfrecon/config.h"

#define DATA "tests/data/config/"

START_TEST(test_heroku_export)
{
    struct sfr_config *cfg = NULL;
    struct sfr_err err;
    ck_assert_int_eq(sfr_config_load(DATA "hc-export.json", &cfg, &err), SFR_OK);
    ck_assert_int_eq(cfg->version, 1);
    ck_assert_str_eq(cfg->organization_id, "00D5e000000Abc1EAC");
    ck_assert_str_eq(cfg->app_name, "my-app");
    ck_assert_str_eq(cfg->api_version, "57.0");
    ck_assert_str_eq(cfg->schema, "salesforce");
    ck_assert_int_eq(cfg->n_mappings, 2);
    const struct sfr_mapping *a = sfr_config_mapping(cfg, "account");
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(a->access, SFR_ACCESS_READ_WRITE);
    ck_assert_int_eq(a->sf_polling_seconds, 600);
    ck_assert_int_eq(a->sf_max_daily_api_calls, 30000);
    ck_assert_str_eq(a->upsert_field, "External_ID__c");
    ck_assert_int_eq(a->n_fields, 5);
    ck_assert_str_eq(a->fields[0], "Id"); /* file order */
    ck_assert_str_eq(a->fields[4], "Name");
    ck_assert(sfr_mapping_has_field(a, "systemmodstamp"));
    ck_assert(!sfr_mapping_has_field(a, "Phone"));
    ck_assert_int_eq(a->n_indexes, 2);
    ck_assert_str_eq(a->index_fields[0], "Id");
    ck_assert(a->index_unique[0]);
    ck_assert(!a->index_unique[1]);
    ck_assert_int_eq(a->line, 8);
    const struct sfr_mapping *c = sfr_config_mapping(cfg, "Contact");
    ck_assert_int_eq(c->access, SFR_ACCESS_READ_ONLY);
    ck_assert_int_eq(c->sf_polling_seconds, 120);
    ck_assert_ptr_null(c->upsert_field);
    ck_assert_int_eq(c->n_fields, 3);
    ck_assert_int_eq(c->policy, SFR_POLICY_SF_WINS);
    ck_assert_ptr_null(sfr_config_mapping(cfg, "Lead"));
    /* unknown keys are kept */
    json_object *conn, *feat;
    ck_assert(json_object_object_get_ex(cfg->doc, "connection", &conn));
    ck_assert(json_object_object_get_ex(conn, "features", &feat));
    ck_assert_int_eq(sfr_config_line(cfg, "connection.features.poll_db_no_merge"), 4);
    ck_assert_int_eq(sfr_config_line(cfg, "mappings[1].object_name"), 16);
    sfr_config_free(cfg);
}
END_TEST

START_TEST(test_sfrecon_object)
{
    struct sfr_config *cfg = NULL;
    struct sfr_err err;
    ck_assert_int_eq(sfr_config_load(DATA "full.json", &cfg, &err), SFR_OK);
    ck_assert_str_eq(cfg->schema, "mirror"); /* sfrecon.schema beats connection.schema_name */
    ck_assert_str_eq(cfg->api_version, "59.0");
    ck_assert_int_eq(cfg->chunk_size, 20000);
    ck_assert_int_eq(cfg->bisect_factor, 32);
    ck_assert_int_eq(cfg->bisect_threshold, 500);
    ck_assert_int_eq(cfg->jobs, 4);
    ck_assert_int_eq(cfg->policy, SFR_POLICY_NEWEST_WINS);
    ck_assert_int_eq(cfg->max_api_calls, 5000);
    ck_assert_int_eq(cfg->bulk_threshold, 20000);
    ck_assert_int_eq(sfr_config_mapping(cfg, "Account")->policy, SFR_POLICY_PG_WINS);
    ck_assert_int_eq(sfr_config_mapping(cfg, "Invoice__c")->policy, SFR_POLICY_NEWEST_WINS);
    ck_assert_int_eq(cfg->n_tolerances, 2);
    ck_assert(sfr_config_tolerance(cfg, "invoice__c", "TOTAL__C") == 0.01);
    ck_assert(sfr_config_tolerance(cfg, "Account", "AnnualRevenue") == 1.0);
    ck_assert(sfr_config_tolerance(cfg, "Account", "Name") == 0.0);
    ck_assert(sfr_config_skip_field(cfg, "account", "description"));
    ck_assert(!sfr_config_skip_field(cfg, "Account", "Name"));
    ck_assert(!sfr_config_skip_field(cfg, "Lead", "Description"));
    ck_assert_str_eq(sfr_policy_name(cfg->policy), "newest_wins");
    sfr_config_set_schema(cfg, "override");
    ck_assert_str_eq(cfg->schema, "override");
    sfr_config_free(cfg);
}
END_TEST

START_TEST(test_defaults)
{
    struct sfr_config *cfg = NULL;
    struct sfr_err err;
    ck_assert_int_eq(sfr_config_load(DATA "minimal.json", &cfg, &err), SFR_OK);
    ck_assert_str_eq(cfg->schema, "salesforce");
    ck_assert_str_eq(cfg->api_version, "60.0");
    ck_assert_int_eq(cfg->chunk_size, 50000);
    ck_assert_int_eq(cfg->bisect_factor, 16);
    ck_assert_int_eq(cfg->bisect_threshold, 2000);
    ck_assert_int_eq(cfg->jobs, 0); /* 0: the cores available */
    ck_assert_int_eq(cfg->policy, SFR_POLICY_SF_WINS);
    ck_assert_int_eq(cfg->bulk_threshold, 10000);
    ck_assert_int_eq(cfg->max_api_calls, 0);
    ck_assert_int_eq(cfg->n_mappings, 1);
    ck_assert_int_eq(cfg->mappings[0].access, SFR_ACCESS_READ_ONLY);
    ck_assert_int_eq(cfg->mappings[0].sf_polling_seconds, 600);
    ck_assert_int_eq(cfg->mappings[0].n_fields, 0);
    ck_assert_ptr_null(cfg->organization_id);
    sfr_config_free(cfg);
    /* connection.schema_name is used when sfrecon.schema is absent */
    const char *text = "{\"connection\":{\"schema_name\":\"hc\"},\"mappings\":[]}";
    ck_assert_int_eq(sfr_config_parse(text, "inline", &cfg, &err), SFR_OK);
    ck_assert_str_eq(cfg->schema, "hc");
    sfr_config_free(cfg);
}
END_TEST

static const struct {
    const char *file, *msg;
} errors[] = {
    {"bad-access.json",
     DATA "bad-access.json:10: mappings[2].config.access: expected \"read_only\" or "
          "\"read_write\""},
    {"bad-json.json", DATA "bad-json.json:4: invalid JSON: "},
    {"bad-truncated.json", DATA "bad-truncated.json:4: invalid JSON: unexpected end of input"},
    {"bad-polling.json",
     DATA "bad-polling.json:4: mappings[0].config.sf_polling_seconds: expected an integer, found a "
          "string"},
    {"bad-fields.json",
     DATA "bad-fields.json:4: mappings[1].config.fields: expected an object, found an array"},
    {"bad-mappings.json", DATA "bad-mappings.json:2: mappings: expected an array, found an object"},
    {"bad-noname.json", DATA "bad-noname.json:3: mappings[1].object_name: required key is missing"},
    {"bad-duplicate.json",
     DATA "bad-duplicate.json:4: mappings[2].object_name: duplicate mapping for account (first at "
          "line 2)"},
    {"bad-policy.json",
     DATA "bad-policy.json:4: sfrecon.objects.Account.repair_policy: expected \"sf_wins\", "
          "\"newest_wins\" or \"pg_wins\""},
    {"bad-chunk.json",
     DATA "bad-chunk.json:3: sfrecon.chunk_size: expected an integer >= 1, found 0"},
    {"bad-tolerance.json",
     DATA "bad-tolerance.json:4: sfrecon.tolerances.AnnualRevenue: expected a key of the form "
          "\"Object.Field\""},
    {"bad-toplevel.json", DATA "bad-toplevel.json:1: expected an object, found an array"},
    {"bad-trailing.json", DATA "bad-trailing.json:2: invalid JSON: unexpected character"},
    {"does-not-exist.json", DATA "does-not-exist.json: cannot open: No such file or directory"},
};

START_TEST(test_errors)
{
    char path[256];
    snprintf(path, sizeof(path), DATA "%s", errors[_i].file);
    struct sfr_config *cfg = (struct sfr_config *)1;
    struct sfr_err err;
    ck_assert_int_eq(sfr_config_load(path, &cfg, &err), SFR_ECONFIG);
    ck_assert_ptr_null(cfg);
    ck_assert_msg(strncmp(err.msg, errors[_i].msg, strlen(errors[_i].msg)) == 0,
                  "got      '%s'\nexpected '%s'", err.msg, errors[_i].msg);
}
END_TEST

START_TEST(test_parse_inline)
{
    struct sfr_config *cfg = NULL;
    struct sfr_err err;
    ck_assert_int_eq(sfr_config_parse("", "empty.json", &cfg, &err), SFR_ECONFIG);
    ck_assert_str_eq(err.msg, "empty.json:1: invalid JSON: unexpected end of input");
    ck_assert_int_eq(sfr_config_parse("{}", "e.json", &cfg, &err), SFR_ECONFIG);
    ck_assert_str_eq(err.msg, "e.json:1: mappings: required key is missing");
    ck_assert_int_eq(
        sfr_config_parse("{\"mappings\":[],\n\"version\":\"1\"}", "v.json", &cfg, &err),
        SFR_ECONFIG);
    ck_assert_str_eq(err.msg, "v.json:2: version: expected an integer, found a string");
    ck_assert_int_eq(
        sfr_config_parse(
            "{\"mappings\":[{\"object_name\":\"A\",\n\"config\":{\"sf_notify_enabled\":1}}]}",
            "n.json", &cfg, &err),
        SFR_ECONFIG);
    ck_assert_str_eq(err.msg,
                     "n.json:2: mappings[0].config.sf_notify_enabled: expected true or false, "
                     "found an integer");
    /* key names with escapes and dots still map to lines */
    ck_assert_int_eq(sfr_config_parse("{\"mappings\":[],\n\"sfrecon\":{\"tolerances\":{\n"
                                      "\"A.B\":1,\n\"A.\\\"C\":-1}}}",
                                      "t.json", &cfg, &err),
                     SFR_ECONFIG);
    ck_assert_str_eq(err.msg, "t.json:4: sfrecon.tolerances.A.\"C: expected a number >= 0");
}
END_TEST

Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, test_heroku_export);
    tcase_add_test(tc, test_sfrecon_object);
    tcase_add_test(tc, test_defaults);
    tcase_add_loop_test(tc, test_errors, 0, (int)(sizeof(errors) / sizeof(errors[0])));
    tcase_add_test(tc, test_parse_inline);
    suite_add_tcase(s, tc);
    return s;
}
