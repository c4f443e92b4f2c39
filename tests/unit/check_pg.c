/* check_pg.c — the pure parts of src/pg: mirror DDL text, identifier quoting,
 * the COPY text-format splitter, Salesforce-to-column value conversion, and
 * that a failed connection's message names the target but not the password. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfrecon/config.h"
#include "sfrecon/pg.h"
#include "sfrecon/schema.h"

/* ---- COPY splitter ---- */

static const struct split_case {
    const char *line;
    int n;
    const char *want[4]; /* "\x02" marks NULL */
} split_cases[] = {
    {"a\tb\tc\n", 3, {"a", "b", "c"}},
    {"a\t\\N\t\n", 3, {"a", "\x02", ""}},
    {"\\N\n", 1, {"\x02"}},
    {"x\\ty\tline\\nbreak\n", 2, {"x\ty", "line\nbreak"}},
    {"back\\\\slash\t\\r\\b\\f\\v\n", 2, {"back\\slash", "\r\b\f\v"}},
    {"oct\\101\\x41\tN\n", 2, {"octAA", "N"}},
    {"\\\\N\n", 1, {"\\N"}},
    {"no newline", 1, {"no newline"}},
    {"\t\n", 2, {"", ""}},
};

START_TEST(test_copy_split)
{
    const struct split_case *c = &split_cases[_i];
    char *line = strdup(c->line);
    const char *vals[4];
    size_t lens[4];
    int n = sfr_pg_copy_split(line, strlen(line), vals, lens, 4);
    ck_assert_int_eq(n, c->n);
    for (int i = 0; i < n; i++) {
        if (strcmp(c->want[i], "\x02") == 0) {
            ck_assert_ptr_null(vals[i]);
            continue;
        }
        ck_assert_ptr_nonnull(vals[i]);
        ck_assert_uint_eq(lens[i], strlen(c->want[i]));
        ck_assert_str_eq(vals[i], c->want[i]);
    }
    free(line);
}
END_TEST

START_TEST(test_copy_split_more_fields_than_room)
{
    char line[] = "a\tb\tc\td\te\n";
    const char *vals[2];
    size_t lens[2];
    ck_assert_int_eq(sfr_pg_copy_split(line, strlen(line), vals, lens, 2), 5);
    ck_assert_str_eq(vals[1], "b");
    char bad[] = "trailing\\";
    ck_assert_int_eq(sfr_pg_copy_split(bad, strlen(bad), vals, lens, 2), -1);
}
END_TEST

/* ---- value conversion ---- */

static const struct input_case {
    enum sfr_ftype type;
    const char *sf, *pg; /* pg NULL = SQL NULL */
} input_cases[] = {
    {SFR_FT_DATETIME, "2013-05-20T20:49:32.000+0000", "2013-05-20 20:49:32.000"},
    {SFR_FT_DATETIME, "2013-05-20T22:49:32.250+0200", "2013-05-20 20:49:32.250"},
    {SFR_FT_DATETIME, "2013-05-20T20:49:32Z", "2013-05-20 20:49:32.000"},
    {SFR_FT_DATETIME, "not a date", "not a date"},
    {SFR_FT_BOOLEAN, "true", "true"},
    {SFR_FT_BOOLEAN, "false", "false"},
    {SFR_FT_DATE, "2013-05-20", "2013-05-20"},
    {SFR_FT_CURRENCY, "1234.5", "1234.5"},
    {SFR_FT_STRING, "", NULL},
    {SFR_FT_STRING, NULL, NULL},
    {SFR_FT_MULTIPICKLIST, "b;a", "b;a"},
};

START_TEST(test_input_value)
{
    const struct input_case *c = &input_cases[_i];
    struct sfr_field f = {0};
    f.name = (char *)"F";
    f.column = (char *)"f";
    f.type = c->type;
    char *got = sfr_pg_input_value(&f, c->sf);
    if (c->pg == NULL)
        ck_assert_ptr_null(got);
    else
        ck_assert_str_eq(got, c->pg);
    free(got);
}
END_TEST

/* ---- identifiers and expressions ---- */

START_TEST(test_ident)
{
    struct sfr_buf b = SFR_BUF_INIT;
    sfr_pg_ident_append(&b, "user");
    sfr_buf_putc(&b, ' ');
    sfr_pg_qualified_append(&b, "my\"schema", "Mixed Case");
    ck_assert_str_eq(b.data, "\"user\" \"my\"\"schema\".\"Mixed Case\"");
    sfr_buf_reset(&b);

    struct sfr_field id = {.name = (char *)"Id", .column = (char *)"id", .type = SFR_FT_ID};
    struct sfr_field loc = {
        .name = (char *)"Spot__c", .column = (char *)"spot__c", .type = SFR_FT_LOCATION};
    struct sfr_field name = {
        .name = (char *)"Name", .column = (char *)"name", .type = SFR_FT_STRING};
    sfr_pg_field_expr(&b, &id, "t.");
    sfr_buf_puts(&b, "|");
    sfr_pg_field_expr(&b, &name, "");
    sfr_buf_puts(&b, "|");
    sfr_pg_field_expr(&b, &loc, "");
    ck_assert_str_eq(b.data, "t.\"sfid\"|\"name\"|(\"spot__c__latitude__s\"::text || ',' || "
                             "\"spot__c__longitude__s\"::text)");
    sfr_buf_cleanup(&b);
}
END_TEST

/* ---- DDL ---- */

static struct sfr_field mkfield(const char *name, enum sfr_ftype t, int length)
{
    struct sfr_field f = {0};
    f.name = strdup(name);
    f.column = strdup(name);
    for (char *p = f.column; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    f.type = t;
    f.length = length;
    return f;
}

static void add_object(struct sfr_schema *s, const char *name, const char *table,
                       struct sfr_field *fields, int n)
{
    struct sfr_object o = {0};
    o.name = strdup(name);
    o.table = strdup(table);
    o.fields = calloc((size_t)n, sizeof(*o.fields));
    memcpy(o.fields, fields, sizeof(*fields) * (size_t)n);
    o.n_fields = n;
    sfr_schema_add(s, &o);
}

static void build_schema(struct sfr_schema *s)
{
    struct sfr_field acc[] = {
        mkfield("Id", SFR_FT_ID, 18),
        mkfield("IsDeleted", SFR_FT_BOOLEAN, 0),
        mkfield("SystemModstamp", SFR_FT_DATETIME, 0),
        mkfield("CreatedDate", SFR_FT_DATETIME, 0),
        mkfield("Name", SFR_FT_STRING, 255),
        mkfield("Industry", SFR_FT_PICKLIST, 255),
        mkfield("Spot__c", SFR_FT_LOCATION, 0),
        mkfield("Wei\"rd__c", SFR_FT_STRING, 20),
        mkfield("Tags__c", SFR_FT_MULTIPICKLIST, 4099),
    };
    struct sfr_field user[] = {
        mkfield("Id", SFR_FT_ID, 18),
        mkfield("SystemModstamp", SFR_FT_DATETIME, 0),
        mkfield("Username", SFR_FT_STRING, 80),
    };
    add_object(s, "Account", "account", acc, (int)(sizeof(acc) / sizeof(acc[0])));
    add_object(s, "User", "user", user, (int)(sizeof(user) / sizeof(user[0])));
}

static const char mapping_json[] =
    "{\"version\": 1, \"connection\": {\"schema_name\": \"s'q\"},\n"
    " \"mappings\": [\n"
    "  {\"object_name\": \"Account\", \"config\": {\"access\": \"read_write\",\n"
    "   \"fields\": {\"Id\": {}, \"IsDeleted\": {}, \"SystemModstamp\": {}, \"Name\": {},\n"
    "              \"Industry\": {}, \"Spot__c\": {}, \"Wei\\\"rd__c\": {}, \"Tags__c\": {}},\n"
    "   \"indexes\": {\"Id\": {\"unique\": true}, \"Industry\": {\"unique\": false}}}},\n"
    "  {\"object_name\": \"User\", \"config\": {\"access\": \"read_only\",\n"
    "   \"fields\": {\"Id\": {}, \"Username\": {}}}}\n"
    " ]}\n";

static char *ddl_for(const char *json, bool triggers, enum sfr_rc *rc, struct sfr_err *err)
{
    struct sfr_config *cfg = NULL;
    struct sfr_schema s = {0};
    struct sfr_buf out = SFR_BUF_INIT;
    ck_assert_int_eq(sfr_config_parse(json, "map.json", &cfg, err), SFR_OK);
    build_schema(&s);
    *rc = sfr_pg_mirror_ddl(cfg, &s, &out, triggers, err);
    sfr_schema_cleanup(&s);
    sfr_config_free(cfg);
    return out.data ? sfr_buf_steal(&out) : strdup("");
}

static const char *const ddl_must[] = {
    "CREATE SCHEMA IF NOT EXISTS \"s'q\";",
    "CREATE TABLE IF NOT EXISTS \"s'q\".\"account\" (\n    \"id\" serial PRIMARY KEY,\n"
    "    \"sfid\" varchar(18) COLLATE \"ucs_basic\",\n    \"systemmodstamp\" timestamp,\n    \"isdeleted\" boolean,\n"
    "    \"_hc_lastop\" varchar(32),\n    \"_hc_err\" text,\n    \"createddate\" timestamp,\n"
    "    \"name\" varchar(255),\n    \"industry\" varchar(255),\n"
    "    \"spot__c__latitude__s\" double precision,\n"
    "    \"spot__c__longitude__s\" double precision,\n    \"wei\"\"rd__c\" varchar(20),\n"
    "    \"tags__c\" varchar(4099)\n);",
    "CREATE UNIQUE INDEX IF NOT EXISTS \"hcu_idx_account_sfid\" ON \"s'q\".\"account\" (\"sfid\");",
    "CREATE INDEX IF NOT EXISTS \"hc_idx_account_systemmodstamp\" ON \"s'q\".\"account\" "
    "(\"systemmodstamp\");",
    "CREATE INDEX IF NOT EXISTS \"hc_idx_account_industry\" ON \"s'q\".\"account\" (\"industry\");",
    "CREATE INDEX IF NOT EXISTS \"sfrecon_idx_account_sfid_c\" ON \"s'q\".\"account\" "
    "(\"sfid\" COLLATE \"C\");",
    "CREATE TABLE IF NOT EXISTS \"s'q\".\"user\" (\n    \"id\" serial PRIMARY KEY,\n"
    "    \"sfid\" varchar(18) COLLATE \"ucs_basic\",\n    \"systemmodstamp\" timestamp,\n"
    "    \"_hc_lastop\" varchar(32),",
    "CREATE INDEX IF NOT EXISTS \"sfrecon_idx_user_sfid_c\" ON \"s'q\".\"user\" "
    "(\"sfid\" COLLATE \"C\");",
    "BEGIN;",
    "COMMIT;",
};

START_TEST(test_ddl_layout)
{
    struct sfr_err err = {0};
    enum sfr_rc rc;
    char *ddl = ddl_for(mapping_json, false, &rc, &err);
    ck_assert_msg(rc == SFR_OK, "%s", err.msg);
    for (size_t i = 0; i < sizeof(ddl_must) / sizeof(ddl_must[0]); i++)
        ck_assert_msg(strstr(ddl, ddl_must[i]) != NULL, "missing:\n%s\nin:\n%s", ddl_must[i], ddl);
    ck_assert_ptr_null(strstr(ddl, "_trigger_log"));
    ck_assert_ptr_null(strstr(ddl, "\"spot__c\""));
    free(ddl);
}
END_TEST

static const char *const trig_must[] = {
    "CREATE EXTENSION IF NOT EXISTS hstore WITH SCHEMA public;",
    "CREATE OR REPLACE FUNCTION public.get_xmlbinary() RETURNS varchar",
    "CREATE TABLE IF NOT EXISTS \"s'q\".\"_trigger_log\" (\n    id serial PRIMARY KEY,",
    "CREATE TABLE IF NOT EXISTS \"s'q\".\"_trigger_log_archive\" (\n    id integer PRIMARY KEY,",
    "CREATE TABLE IF NOT EXISTS \"s'q\".\"_hcmeta\"",
    "CREATE TABLE IF NOT EXISTS \"s'q\".\"_sf_event_log\"",
    "PERFORM pg_notify('s''q.hc_trigger_log', 'ping');",
    "CREATE TRIGGER \"hc_account_status_trigger\" BEFORE INSERT OR UPDATE ON \"s'q\".\"account\"",
    "CREATE TRIGGER \"hc_account_logtrigger\" AFTER INSERT OR UPDATE OR DELETE ON "
    "\"s'q\".\"account\"\n    FOR EACH ROW WHEN (public.get_xmlbinary()::text = 'base64')",
    "DROP TRIGGER IF EXISTS \"hc_user_logtrigger\" ON \"s'q\".\"user\";",
    "v_state varchar(8) := 'READONLY';",
    "v_state varchar(8) := 'NEW';",
    "\"values\" text,",
};

START_TEST(test_ddl_triggers)
{
    struct sfr_err err = {0};
    enum sfr_rc rc;
    char *ddl = ddl_for(mapping_json, true, &rc, &err);
    ck_assert_msg(rc == SFR_OK, "%s", err.msg);
    for (size_t i = 0; i < sizeof(trig_must) / sizeof(trig_must[0]); i++)
        ck_assert_msg(strstr(ddl, trig_must[i]) != NULL, "missing:\n%s", trig_must[i]);
    /* the write path is created once, before the tables' triggers */
    const char *first = strstr(ddl, "CREATE TABLE IF NOT EXISTS \"s'q\".\"_trigger_log\"");
    ck_assert_ptr_null(strstr(first + 1, "CREATE TABLE IF NOT EXISTS \"s'q\".\"_trigger_log\" ("));
    ck_assert(first < strstr(ddl, "hc_account_logtrigger"));
    free(ddl);
}
END_TEST

START_TEST(test_ddl_errors)
{
    struct sfr_err err = {0};
    enum sfr_rc rc;
    char *ddl = ddl_for("{\"version\": 1, \"mappings\": [\n"
                        " {\"object_name\": \"Account\", \"config\": {\"access\": \"read_only\",\n"
                        "  \"fields\": {\"Id\": {}, \"Nope__c\": {}}}}]}",
                        false, &rc, &err);
    ck_assert_int_eq(rc, SFR_ECONFIG);
    ck_assert_msg(strstr(err.msg, "map.json:2: mappings[0].config.fields.Nope__c") != NULL, "%s",
                  err.msg);
    ck_assert_str_eq(ddl, "");
    free(ddl);
    ddl = ddl_for("{\"version\": 1, \"mappings\": [\n"
                  " {\"object_name\": \"Account\", \"config\": {\"access\": \"read_only\",\n"
                  "  \"fields\": {\"Id\": {}}}},\n"
                  " {\"object_name\": \"Ghost__c\", \"config\": {\"access\": \"read_only\",\n"
                  "  \"fields\": {\"Id\": {}}}}]}",
                  false, &rc, &err);
    ck_assert_int_eq(rc, SFR_ECONFIG);
    ck_assert_msg(strstr(err.msg, "mappings[1].object_name: Ghost__c") != NULL, "%s", err.msg);
    free(ddl);
}
END_TEST

/* ---- connection errors ---- */

START_TEST(test_connect_error_redacted)
{
    PGconn *conn = (PGconn *)1;
    struct sfr_err err = {0};
    enum sfr_rc rc = sfr_pg_connect("postgresql://app:Sup3rSecret@127.0.0.1:1/mirror", &conn, &err);
    ck_assert_int_eq(rc, SFR_EPG);
    ck_assert_ptr_null(conn);
    ck_assert_msg(strstr(err.msg, "127.0.0.1:1/mirror") != NULL, "%s", err.msg);
    ck_assert_ptr_null(strstr(err.msg, "Sup3rSecret"));
    ck_assert_ptr_null(strstr(err.hint, "Sup3rSecret"));
    ck_assert_msg(strstr(err.hint, "app:***@127.0.0.1") != NULL, "%s", err.hint);
}
END_TEST

Suite *pg_suite(void)
{
    Suite *s = suite_create("pg");
    TCase *tc = tcase_create("pure");
    tcase_add_loop_test(tc, test_copy_split, 0,
                        (int)(sizeof(split_cases) / sizeof(split_cases[0])));
    tcase_add_test(tc, test_copy_split_more_fields_than_room);
    tcase_add_loop_test(tc, test_input_value, 0,
                        (int)(sizeof(input_cases) / sizeof(input_cases[0])));
    tcase_add_test(tc, test_ident);
    tcase_add_test(tc, test_ddl_layout);
    tcase_add_test(tc, test_ddl_triggers);
    tcase_add_test(tc, test_ddl_errors);
    tcase_add_test(tc, test_connect_error_redacted);
    suite_add_tcase(s, tc);
    return s;
}
