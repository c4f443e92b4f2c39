/* check_writes.c — the write-safety edges of the Salesforce client, without
 * network: which URLs may carry the session (https anywhere, plain http on
 * loopback only, no user:password@), absolute URLs off the instance refused
 * before anything is sent (no call, no budget spent), creates without an
 * external id value that a lookup cannot settle, and the SOQL a human gets
 * to check a create whose outcome is unknown. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfrecon/log.h"
#include "sfrecon/sf.h"

static const struct {
    const char *url;
    enum sfr_rc rc;
    const char *msg; /* part of the message, NULL when accepted */
} url_cases[] = {
    {"https://login.salesforce.com", SFR_OK, NULL},
    {"https://acme.my.salesforce.com:8443/", SFR_OK, NULL},
    {"HTTPS://ACME.MY.SALESFORCE.COM", SFR_OK, NULL},
    {"http://127.0.0.1:5555", SFR_OK, NULL},
    {"http://127.8.9.10", SFR_OK, NULL},
    {"http://localhost:8080/path", SFR_OK, NULL},
    {"http://LOCALHOST", SFR_OK, NULL},
    {"http://[::1]:9000", SFR_OK, NULL},
    {"http://login.salesforce.com", SFR_ECONFIG, "plain http:// to login.salesforce.com"},
    {"http://10.0.0.1:80", SFR_ECONFIG, "plain http:// to 10.0.0.1"},
    {"http://127.0.0.1.evil.example", SFR_ECONFIG, "plain http:// to 127.0.0.1.evil.example"},
    {"http://localhost.evil.example", SFR_ECONFIG, "plain http://"},
    {"http://[::2]:80", SFR_ECONFIG, "plain http:// to ::2"},
    {"http://128.0.0.1", SFR_ECONFIG, "plain http://"},
    {"http://127.0.0.1@evil.example", SFR_ECONFIG, "user:password@"},
    {"https://u:p@acme.my.salesforce.com", SFR_ECONFIG, "user:password@"},
    {"ftp://x", SFR_ECONFIG, "https://"},
    {"https://", SFR_ECONFIG, "https://"},
    {"https://host:99999", SFR_ECONFIG, "https://"},
    {"https://host:12x", SFR_ECONFIG, "https://"},
    {"login.salesforce.com", SFR_ECONFIG, "https://"},
};

START_TEST(test_url_check)
{
    struct sfr_err err = {0};
    enum sfr_rc rc = sfr_sf_url_check("SF_LOGIN_URL", url_cases[_i].url, &err);
    ck_assert_msg(rc == url_cases[_i].rc, "%s: rc %d, want %d (%s)", url_cases[_i].url, rc,
                  url_cases[_i].rc, err.msg);
    if (url_cases[_i].msg != NULL) {
        ck_assert_msg(strstr(err.msg, url_cases[_i].msg) != NULL, "%s: message '%s'",
                      url_cases[_i].url, err.msg);
        ck_assert(strstr(err.msg, "SF_LOGIN_URL") != NULL);
        ck_assert(strstr(err.msg, ":p@") == NULL); /* never echoes credentials */
    }
}
END_TEST

static void env_instance(const char *url)
{
    unsetenv("SF_LOGIN_URL");
    unsetenv("SF_USERNAME");
    unsetenv("SF_PASSWORD");
    setenv("SF_INSTANCE_URL", url, 1);
    setenv("SF_ACCESS_TOKEN", "00Dsecret!token", 1);
    setenv("SF_RETRY_BASE_MS", "1", 1);
}

START_TEST(test_session_only_to_instance)
{
    struct sfr_sf *c = NULL;
    struct sfr_err err = {0};
    env_instance("http://127.0.0.1:9");
    ck_assert_int_eq(sfr_sf_from_env(NULL, &c, &err), SFR_OK);
    sfr_sf_set_budget(c, 2);
    static const char *const foreign[] = {
        "http://127.0.0.2:9/services/data/v60.0/query/01g-2000",
        "https://127.0.0.1:9/services/data/v60.0/query/01g-2000", /* other scheme */
        "http://127.0.0.1:10/services/data/v60.0/query/01g-2000", /* other port */
        "https://evil.example/services/data/v60.0/query/01g-2000",
        "http://127.0.0.1:9@evil.example/x",
    };
    struct sfr_buf body = SFR_BUF_INIT;
    for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++) {
        ck_assert_int_eq(sfr_sf_request(c, "GET", foreign[i], NULL, NULL, &body, NULL, &err),
                         SFR_ESF);
        ck_assert_msg(strstr(err.msg, "refusing to send the Salesforce session") != NULL, "%s",
                      err.msg);
        ck_assert(strstr(err.msg, "secret") == NULL);
    }
    ck_assert_int_eq(sfr_sf_api_calls(c), 0);   /* nothing was sent */
    ck_assert_int_eq(sfr_sf_budget_used(c), 0); /* nor counted */
    /* the instance itself (here a closed port) is tried */
    sfr_log_set_level(SFR_LOG_ERROR);
    sfr_sf_set_budget(c, 0);
    ck_assert_int_eq(sfr_sf_request(c, "GET", "http://127.0.0.1:9/services/data/", NULL, NULL,
                                    &body, NULL, &err),
                     SFR_EHTTP);
    ck_assert_int_gt(sfr_sf_api_calls(c), 0);
    sfr_buf_cleanup(&body);
    sfr_sf_free(c);
}
END_TEST

START_TEST(test_plain_http_instance_refused)
{
    struct sfr_sf *c = NULL;
    struct sfr_err err = {0};
    env_instance("http://na1.salesforce.com");
    ck_assert_int_eq(sfr_sf_from_env(NULL, &c, &err), SFR_ECONFIG);
    ck_assert_ptr_null(c);
    ck_assert(strstr(err.msg, "SF_INSTANCE_URL is plain http:// to na1.salesforce.com") != NULL);
    ck_assert_int_eq(sfr_rc_exit_code(err.rc), 2);
    unsetenv("SF_INSTANCE_URL");
    unsetenv("SF_ACCESS_TOKEN");
}
END_TEST

static struct sfr_field fld(const char *name, enum sfr_ftype t)
{
    struct sfr_field f;
    memset(&f, 0, sizeof(f));
    f.name = (char *)name;
    f.type = t;
    f.createable = f.updateable = true;
    return f;
}

START_TEST(test_lookup_without_key_sends_nothing)
{
    /* a closed port: anything sent would fail with SFR_EHTTP */
    struct sfr_sf *c = NULL;
    struct sfr_err err = {0};
    env_instance("http://127.0.0.1:9");
    ck_assert_int_eq(sfr_sf_from_env(NULL, &c, &err), SFR_OK);
    struct sfr_field name = fld("Name", SFR_FT_STRING), ext = fld("External_Id__c", SFR_FT_STRING);
    const struct sfr_field *fields[2] = {&name, &ext};
    const char *v1[2] = {"Acme", NULL}, *v2[2] = {"Initech", ""};
    struct sfr_sf_rec recs[2] = {{NULL, v1, NULL, NULL}, {NULL, v2, NULL, NULL}};
    struct sfr_sf_result res[2];
    /* with an upsert_field but no values, and without one: never sent */
    ck_assert_int_eq(
        sfr_sf_lookup_then_create(c, "Account", fields, 2, "External_Id__c", recs, 2, res, &err),
        SFR_OK);
    for (int i = 0; i < 2; i++) {
        ck_assert(res[i].unknown && !res[i].success);
        ck_assert_str_eq(res[i].status_code, "OUTCOME_UNKNOWN");
        ck_assert(strstr(res[i].message, "no external id value") != NULL);
    }
    ck_assert_int_eq(sfr_sf_lookup_then_create(c, "Account", fields, 2, NULL, recs, 2, res, &err),
                     SFR_OK);
    ck_assert(res[0].unknown && strstr(res[0].message, "no upsert_field") != NULL);
    ck_assert_int_eq(sfr_sf_api_calls(c), 0);
    sfr_sf_free(c);
}
END_TEST

START_TEST(test_check_soql)
{
    struct sfr_field id = fld("Id", SFR_FT_ID), name = fld("Name", SFR_FT_STRING),
                     rev = fld("AnnualRevenue", SFR_FT_CURRENCY),
                     num = fld("AccountNumber", SFR_FT_STRING),
                     mail = fld("Email__c", SFR_FT_EMAIL), ph = fld("Phone", SFR_FT_PHONE);
    const struct sfr_field *fields[6] = {&id, &name, &rev, &num, &mail, &ph};
    const char *vals[6] = {NULL, "O'Brien & Co", "12.5", "AN-1", "a@b.example", "555"};
    char *q = sfr_sf_check_soql("Account", fields, 6, vals, NULL, 1764690060123LL);
    ck_assert_str_eq(q, "SELECT Id, CreatedDate FROM Account WHERE CreatedDate >= "
                        "2025-12-02T15:41:00.123Z AND Name = 'O\\'Brien & Co' AND AccountNumber = "
                        "'AN-1' AND Email__c = 'a@b.example'");
    free(q);
    bool set[6] = {true, false, true, true, false, true};
    q = sfr_sf_check_soql("Account", fields, 6, vals, set, 0);
    ck_assert_str_eq(q, "SELECT Id, CreatedDate FROM Account WHERE CreatedDate >= "
                        "1970-01-01T00:00:00.000Z AND AccountNumber = 'AN-1' AND Phone = '555'");
    free(q);
}
END_TEST

Suite *writes_suite(void)
{
    Suite *s = suite_create("writes");
    TCase *t = tcase_create("urls");
    tcase_add_loop_test(t, test_url_check, 0, sizeof(url_cases) / sizeof(url_cases[0]));
    tcase_add_test(t, test_session_only_to_instance);
    tcase_add_test(t, test_plain_http_instance_refused);
    suite_add_tcase(s, t);
    t = tcase_create("creates");
    tcase_add_test(t, test_lookup_without_key_sends_nothing);
    tcase_add_test(t, test_check_soql);
    suite_add_tcase(s, t);
    return s;
}
