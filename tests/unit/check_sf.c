/* check_sf.c — the Salesforce client's parsers and helpers, without network:
 * SOQL literal escaping, Sforce-Limit-Info, error bodies, the streaming
 * query-response scanner and record parser (fed in chunks of every size),
 * the streaming Bulk CSV parser, call accounting and environment checks. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfrecon/log.h"
#include "sfrecon/sf.h"

/* ---- SOQL ---- */

static const struct {
    const char *in, *out;
} esc_cases[] = {
    {"plain", "plain"},
    {"O'Brien", "O\\'Brien"},
    {"back\\slash", "back\\\\slash"},
    {"say \"hi\"", "say \\\"hi\\\""},
    {"line\nbreak\r\ttab", "line\\nbreak\\r\\ttab"},
    {"' OR Name != '", "\\' OR Name != \\'"},
    {"", ""},
    {"\xc3\xa9t\xc3\xa9", "\xc3\xa9t\xc3\xa9"},
};

START_TEST(test_soql_escape)
{
    struct sfr_buf b = SFR_BUF_INIT;
    sfr_soql_escape(&b, esc_cases[_i].in);
    ck_assert_str_eq(b.data ? b.data : "", esc_cases[_i].out);
    sfr_buf_reset(&b);
    sfr_soql_quote(&b, esc_cases[_i].in);
    ck_assert_int_eq(b.data[0], '\'');
    ck_assert_int_eq(b.data[b.len - 1], '\'');
    ck_assert_uint_eq(b.len, strlen(esc_cases[_i].out) + 2);
    sfr_buf_cleanup(&b);
}
END_TEST

static const struct {
    const char *name;
    bool ok;
} name_cases[] = {
    {"Account", true},  {"Invoice__c", true},   {"Owner.Name", true}, {"Id", true},
    {"", false},        {"1abc", false},        {"Name,Id", false},   {"Na me", false},
    {"a..b", false},    {"Name'", false},       {"x.", false},        {NULL, false},
    {"Id FROM", false}, {"Name) OR (1", false},
};

START_TEST(test_soql_name)
{
    ck_assert_msg(sfr_soql_name_ok(name_cases[_i].name) == name_cases[_i].ok, "'%s'",
                  name_cases[_i].name ? name_cases[_i].name : "(null)");
}
END_TEST

/* ---- headers and error bodies ---- */

static const struct {
    const char *in;
    bool ok;
    long used, max;
} limit_cases[] = {
    {"api-usage=18/15000", true, 18, 15000},
    {"api-usage=0/5", true, 0, 5},
    {"per-app-api-usage=3/100(appName=x), api-usage=7/100", true, 7, 100},
    {"api-usage=18", false, 0, 0},
    {"api-usage=/15000", false, 0, 0},
    {"usage=1/2", false, 0, 0},
    {"", false, 0, 0},
};

START_TEST(test_limit_info)
{
    long u = -9, m = -9;
    bool ok = sfr_sf_parse_limit_info(limit_cases[_i].in, &u, &m);
    ck_assert_msg(ok == limit_cases[_i].ok, "%s", limit_cases[_i].in);
    if (ok) {
        ck_assert_int_eq(u, limit_cases[_i].used);
        ck_assert_int_eq(m, limit_cases[_i].max);
    }
}
END_TEST

START_TEST(test_error_body)
{
    char code[64], msg[256];
    const char *a = "[{\"message\":\"Session expired or invalid\",\"errorCode\":"
                    "\"INVALID_SESSION_ID\"}]";
    ck_assert(sfr_sf_parse_error(a, strlen(a), code, sizeof(code), msg, sizeof(msg)));
    ck_assert_str_eq(code, "INVALID_SESSION_ID");
    ck_assert_str_eq(msg, "Session expired or invalid");
    const char *o = "{\"error\":\"invalid_grant\",\"error_description\":\"authentication "
                    "failure\"}";
    ck_assert(sfr_sf_parse_error(o, strlen(o), code, sizeof(code), msg, sizeof(msg)));
    ck_assert_str_eq(code, "invalid_grant");
    ck_assert_str_eq(msg, "authentication failure");
    ck_assert(!sfr_sf_parse_error("<html>", 6, code, sizeof(code), msg, sizeof(msg)));
    ck_assert_str_eq(code, "");
    ck_assert(!sfr_sf_parse_error("[]", 2, code, sizeof(code), msg, sizeof(msg)));
    /* a tiny buffer truncates, never overflows */
    char small[4];
    ck_assert(sfr_sf_parse_error(a, strlen(a), small, sizeof(small), msg, sizeof(msg)));
    ck_assert_str_eq(small, "INV");
}
END_TEST

/* ---- query response scanner ---- */

static const char page[] =
    "{\"totalSize\":4500,\"done\":false,"
    "\"nextRecordsUrl\":\"\\/services\\/data\\/v60.0\\/query\\/01gD0000002HU6KIAW-2000\","
    "\"records\":["
    "{\"attributes\":{\"type\":\"Account\",\"url\":\"/services/data/v60.0/sobjects/Account/"
    "001D000000IRFmaIAH\"},\"Id\":\"001D000000IRFmaIAH\",\"Name\":\"Acme {\\\"x\\\"} [1]\","
    "\"AnnualRevenue\":786000.0,\"IsDeleted\":false,\"Description\":null},\n"
    "  {\"attributes\":{\"type\":\"Account\"},\"Id\":\"001D000000IRFmbIAH\",\"Name\":"
    "\"caf\\u00e9 \\ud83d\\ude00\\n\\\\\",\"AnnualRevenue\":-1.5e3,\"IsDeleted\":true,"
    "\"BillingAddress\":{\"city\":\"Paris\",\"street\":null}},"
    "{\"attributes\":{\"type\":\"Account\"},\"id\":\"001D000000IRFmcIAH\",\"name\":\"lower\"}"
    "]}";

struct collect {
    struct sfr_strv recs;
    int stop_after;
};

static int collect_rec(void *ctx, const char *json, size_t len)
{
    struct collect *c = ctx;
    sfr_strv_take(&c->recs, sfr_strndup(json, len));
    return c->stop_after > 0 && (int)c->recs.n >= c->stop_after ? 1 : 0;
}

/* A scanner that hands every record to c. */
static void jscan_collect(struct sfr_sf_jscan *s, struct collect *c)
{
    sfr_sf_jscan_init(s);
    s->on_record = collect_rec;
    s->ctx = c;
}

static const size_t chunk_sizes[] = {1, 2, 3, 7, 13, 64, 100000};

START_TEST(test_jscan_chunks)
{
    size_t step = chunk_sizes[_i], n = strlen(page);
    struct sfr_sf_jscan s;
    struct collect c = {{0}, 0};
    struct sfr_err err;
    jscan_collect(&s, &c);
    for (size_t off = 0; off < n; off += step) {
        size_t k = n - off < step ? n - off : step;
        ck_assert_int_eq(sfr_sf_jscan_feed(&s, page + off, k, &err), 0);
        if (off + k < n)
            ck_assert(!sfr_sf_jscan_complete(&s));
    }
    ck_assert(sfr_sf_jscan_complete(&s));
    ck_assert_uint_eq(c.recs.n, 3);
    ck_assert_int_eq(s.total_size, 4500);
    ck_assert(!s.done);
    ck_assert_str_eq(s.next_url, "/services/data/v60.0/query/01gD0000002HU6KIAW-2000");
    ck_assert(strncmp(c.recs.v[0], "{\"attributes\"", 13) == 0);
    ck_assert(strstr(c.recs.v[0], "\"Description\":null}") != NULL);
    ck_assert(c.recs.v[1][strlen(c.recs.v[1]) - 1] == '}');
    ck_assert(strstr(c.recs.v[1], "\"street\":null}}") != NULL);
    sfr_strv_cleanup(&c.recs);
    sfr_sf_jscan_cleanup(&s);
}
END_TEST

START_TEST(test_jscan_order_and_stop)
{
    /* records before the scalars; last page (done true, no next url) */
    const char *body = "{\"records\":[{\"Id\":\"a\"},{\"Id\":\"b\"},{\"Id\":\"c\"}],"
                       "\"totalSize\":3,\"done\":true}";
    struct sfr_sf_jscan s;
    struct collect c = {{0}, 0};
    struct sfr_err err;
    jscan_collect(&s, &c);
    ck_assert_int_eq(sfr_sf_jscan_feed(&s, body, strlen(body), &err), 0);
    ck_assert(sfr_sf_jscan_complete(&s));
    ck_assert_uint_eq(c.recs.n, 3);
    ck_assert_int_eq(s.total_size, 3);
    ck_assert(s.done);
    ck_assert_str_eq(s.next_url, "");
    sfr_strv_cleanup(&c.recs);
    /* stop after the second record */
    sfr_sf_jscan_reset(&s);
    struct collect c2 = {{0}, 2};
    s.ctx = &c2;
    ck_assert_int_eq(sfr_sf_jscan_feed(&s, body, strlen(body), &err), 1);
    ck_assert_uint_eq(c2.recs.n, 2);
    sfr_strv_cleanup(&c2.recs);
    /* empty result */
    sfr_sf_jscan_reset(&s);
    const char *empty = "{\"totalSize\":0,\"done\":true,\"records\":[]}";
    ck_assert_int_eq(sfr_sf_jscan_feed(&s, empty, strlen(empty), &err), 0);
    ck_assert(sfr_sf_jscan_complete(&s));
    ck_assert_int_eq(s.n_records, 0);
    sfr_sf_jscan_cleanup(&s);
}
END_TEST

START_TEST(test_jscan_errors)
{
    struct sfr_sf_jscan s;
    struct sfr_err err;
    sfr_sf_jscan_init(&s);
    const char *arr = "[{\"errorCode\":\"X\"}]";
    ck_assert_int_eq(sfr_sf_jscan_feed(&s, arr, strlen(arr), &err), -1);
    ck_assert_int_eq(err.rc, SFR_ESF);
    sfr_sf_jscan_reset(&s);
    const char *notobj = "{\"records\":[1,2]}";
    ck_assert_int_eq(sfr_sf_jscan_feed(&s, notobj, strlen(notobj), &err), -1);
    /* a record over the cap */
    sfr_sf_jscan_reset(&s);
    s.max_record = 16;
    const char *big = "{\"records\":[{\"Id\":\"0123456789012345678901234567890\"}]}";
    ck_assert_int_eq(sfr_sf_jscan_feed(&s, big, strlen(big), &err), -1);
    ck_assert(strstr(err.msg, "larger than 16 bytes") != NULL);
    /* a cut-short body is not complete */
    sfr_sf_jscan_reset(&s);
    s.max_record = 1000;
    ck_assert_int_eq(sfr_sf_jscan_feed(&s, page, sizeof(page) / 2, &err), 0);
    ck_assert(!sfr_sf_jscan_complete(&s));
    sfr_sf_jscan_cleanup(&s);
}
END_TEST

START_TEST(test_recparse)
{
    const char *fields[] = {"Id",          "Name",           "AnnualRevenue", "IsDeleted",
                            "Description", "BillingAddress", "Missing__c"};
    struct sfr_sf_recparse r;
    struct sfr_err err;
    struct collect c = {{0}, 0};
    struct sfr_sf_jscan s;
    jscan_collect(&s, &c);
    ck_assert_int_eq(sfr_sf_jscan_feed(&s, page, strlen(page), &err), 0);
    sfr_sf_recparse_init(&r, fields, 7);
    ck_assert_int_eq(sfr_sf_recparse_run(&r, c.recs.v[0], strlen(c.recs.v[0]), &err), SFR_OK);
    ck_assert_str_eq(r.values[0], "001D000000IRFmaIAH");
    ck_assert_str_eq(r.values[1], "Acme {\"x\"} [1]");
    ck_assert_uint_eq(r.lens[1], strlen("Acme {\"x\"} [1]"));
    ck_assert_str_eq(r.values[2], "786000.0");
    ck_assert_str_eq(r.values[3], "false");
    ck_assert_ptr_null(r.values[4]);
    ck_assert_ptr_null(r.values[5]);
    ck_assert_ptr_null(r.values[6]);
    ck_assert_int_eq(sfr_sf_recparse_run(&r, c.recs.v[1], strlen(c.recs.v[1]), &err), SFR_OK);
    ck_assert_str_eq(r.values[1], "caf\xc3\xa9 \xf0\x9f\x98\x80\n\\");
    ck_assert_str_eq(r.values[2], "-1.5e3");
    ck_assert_str_eq(r.values[3], "true");
    ck_assert_str_eq(r.values[5], "{\"city\":\"Paris\",\"street\":null}");
    ck_assert_ptr_null(r.values[4]); /* absent */
    /* keys match case-insensitively */
    ck_assert_int_eq(sfr_sf_recparse_run(&r, c.recs.v[2], strlen(c.recs.v[2]), &err), SFR_OK);
    ck_assert_str_eq(r.values[0], "001D000000IRFmcIAH");
    ck_assert_str_eq(r.values[1], "lower");
    /* malformed */
    const char *bad[] = {"{\"Id\":\"x}", "{\"Id\" \"x\"}", "[1]", "{\"Id\":\"\\q\"}",
                         "{\"Id\":\"x\",}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(sfr_sf_recparse_run(&r, bad[i], strlen(bad[i]), &err) == SFR_ESF, "%s",
                      bad[i]);
    sfr_sf_recparse_cleanup(&r);
    sfr_strv_cleanup(&c.recs);
    sfr_sf_jscan_cleanup(&s);
}
END_TEST

/* ---- CSV ---- */

static const char csv_page[] = "\"Id\",\"Name\",\"Amount__c\",\"Notes__c\"\r\n"
                               "\"a01\",\"Plain\",\"12.5\",\"\"\r\n"
                               "\"a02\",\"Say \"\"hi\"\"\",\"\",\"two\nlines, with comma\"\n"
                               "a03,unquoted,7,\n"
                               "\"a04\",\"\xc3\xa9\",\"-1\",\"last\"";

struct rows {
    struct sfr_buf out;
    int stop_after;
    int n;
};

static int collect_row(void *ctx, const char *const *v, const size_t *lens)
{
    struct rows *r = ctx;
    for (int i = 0; i < 3; i++) {
        if (v[i] == NULL) {
            sfr_buf_puts(&r->out, "<null>");
        } else {
            ck_assert_uint_eq(strlen(v[i]), lens[i]);
            sfr_buf_printf(&r->out, "[%s]", v[i]);
        }
        sfr_buf_putc(&r->out, i < 2 ? '|' : '\n');
    }
    r->n++;
    return r->stop_after > 0 && r->n >= r->stop_after;
}

/* A CSV parser of fields (in this order) that hands every row to r. */
static void csv_collect(struct sfr_sf_csv *p, const char *const *fields, int n, struct rows *r)
{
    sfr_sf_csv_init(p, fields, n);
    p->on_row = collect_row;
    p->ctx = r;
}

static const char csv_expect[] = "[Plain]|[a01]|<null>\n"
                                 "[Say \"hi\"]|[a02]|[two\nlines, with comma]\n"
                                 "[unquoted]|[a03]|<null>\n"
                                 "[\xc3\xa9]|[a04]|[last]\n";

START_TEST(test_csv_chunks)
{
    /* requested order differs from the header; Amount__c is not requested */
    const char *fields[] = {"Name", "ID", "Notes__c"};
    size_t step = chunk_sizes[_i], n = strlen(csv_page);
    struct sfr_sf_csv p;
    struct rows r = {SFR_BUF_INIT, 0, 0};
    struct sfr_err err;
    csv_collect(&p, fields, 3, &r);
    for (int page_no = 0; page_no < 2; page_no++) { /* a second page repeats the header */
        sfr_sf_csv_reset(&p);
        for (size_t off = 0; off < n; off += step) {
            size_t k = n - off < step ? n - off : step;
            ck_assert_int_eq(sfr_sf_csv_feed(&p, csv_page + off, k, &err), 0);
        }
        ck_assert_int_eq(sfr_sf_csv_finish(&p, &err), 0);
    }
    ck_assert_int_eq(r.n, 8);
    ck_assert_int_eq(p.n_rows, 8);
    struct sfr_buf want = SFR_BUF_INIT;
    sfr_buf_puts(&want, csv_expect);
    sfr_buf_puts(&want, csv_expect);
    ck_assert_str_eq(r.out.data, want.data);
    sfr_buf_cleanup(&want);
    sfr_buf_cleanup(&r.out);
    sfr_sf_csv_cleanup(&p);
}
END_TEST

/* Malformed pages: the feed (or, for a page cut short, the finish) fails
 * with a message naming the problem. */
static const struct {
    const char *fields[3];
    int n_fields;
    size_t max_row; /* 0: the parser's default */
    const char *page;
    int feed_rc, finish_rc;
    const char *msg; /* NULL: any message */
} csv_bad[] = {
    /* clang-format off */
    {{"Id", "Name", "Missing"}, 3, 0, "\"Id\",\"Name\"\n\"a\",\"b\"\n", -1, 0,
     "lacks the column Missing"},
    {{"Id", "Name"}, 2, 0, "\"Id\",\"Name\"\n\"a\"x,\"b\"\n", -1, 0, NULL},
    {{"Id", "Name"}, 2, 0, "\"Id\",\"Name\"\n\"a\",\"b\",\"c\"\n", -1, 0, "3 columns"},
    {{"Id", "Name"}, 2, 0, "\"Id\",\"Name\"\n\"a\",\"b", 0, -1, "unterminated"},
    {{"Id", "Name"}, 2, 8, "\"Id\",\"Name\"\n\"aaaaaaaaaaaaaa\",\"b\"\n", -1, 0,
     "larger than 8 bytes"},
    /* clang-format on */
};

START_TEST(test_csv_errors)
{
    struct sfr_sf_csv p;
    struct rows r = {SFR_BUF_INIT, 0, 0};
    struct sfr_err err;
    csv_collect(&p, csv_bad[_i].fields, csv_bad[_i].n_fields, &r);
    if (csv_bad[_i].max_row > 0)
        p.max_row = csv_bad[_i].max_row;
    const char *page = csv_bad[_i].page;
    ck_assert_int_eq(sfr_sf_csv_feed(&p, page, strlen(page), &err), csv_bad[_i].feed_rc);
    if (csv_bad[_i].feed_rc == 0)
        ck_assert_int_eq(sfr_sf_csv_finish(&p, &err), csv_bad[_i].finish_rc);
    if (csv_bad[_i].msg != NULL)
        ck_assert_msg(strstr(err.msg, csv_bad[_i].msg) != NULL, "case %d: '%s' lacks '%s'", _i,
                      err.msg, csv_bad[_i].msg);
    sfr_sf_csv_cleanup(&p);
    sfr_buf_cleanup(&r.out);
}
END_TEST

START_TEST(test_csv_stop)
{
    const char *fields[] = {"Name", "Id", "Notes__c"};
    struct sfr_sf_csv p;
    struct rows r = {SFR_BUF_INIT, 2, 0};
    struct sfr_err err;
    csv_collect(&p, fields, 3, &r);
    ck_assert_int_eq(sfr_sf_csv_feed(&p, csv_page, strlen(csv_page), &err), 1);
    ck_assert_int_eq(r.n, 2);
    sfr_buf_cleanup(&r.out);
    sfr_sf_csv_cleanup(&p);
}
END_TEST

/* ---- accounting and configuration ---- */

START_TEST(test_calls_print)
{
    struct sfr_sf_calls a, b;
    sfr_sf_calls_init(&a);
    sfr_sf_calls_init(&b);
    sfr_sf_calls_count(&a, "Account", "audit", 30);
    sfr_sf_calls_count(&a, "Contact", "audit", 5);
    sfr_sf_calls_count(&b, "Account", "repair", 12);
    sfr_sf_calls_count(&b, "Contact", "audit", 1);
    sfr_sf_calls_count(&b, NULL, NULL, 2);
    sfr_sf_calls_add(&a, &b);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    sfr_sf_calls_print(&a, f);
    fclose(f);
    ck_assert_str_eq(text, "api calls: 50 (Account: audit 30, repair 12; Contact: audit 6; "
                           "other: run 2)\n");
    free(text);
    sfr_sf_calls_cleanup(&a);
    sfr_sf_calls_init(&a);
    f = open_memstream(&text, &len);
    sfr_sf_calls_print(&a, f);
    fclose(f);
    ck_assert_str_eq(text, "api calls: 0\n");
    free(text);
    sfr_sf_calls_cleanup(&a);
    sfr_sf_calls_cleanup(&b);
}
END_TEST

static void clear_env(void)
{
    const char *vars[] = {"SF_ACCESS_TOKEN", "SF_INSTANCE_URL",  "SF_LOGIN_URL",
                          "SF_CLIENT_ID",    "SF_CLIENT_SECRET", "SF_USERNAME",
                          "SF_PASSWORD",     "SF_API_VERSION",   "SF_BULK_STREAMS"};
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        unsetenv(vars[i]);
}

START_TEST(test_from_env)
{
    struct sfr_sf *c = NULL;
    struct sfr_err err;
    clear_env();
    ck_assert_int_eq(sfr_sf_from_env(NULL, &c, &err), SFR_ECONFIG);
    ck_assert_ptr_null(c);
    ck_assert(strstr(err.msg, "SF_INSTANCE_URL") != NULL);
    setenv("SF_INSTANCE_URL", "http://127.0.0.1:1", 1);
    ck_assert_int_eq(sfr_sf_from_env(NULL, &c, &err), SFR_ECONFIG);
    ck_assert(strstr(err.msg, "SF_ACCESS_TOKEN") != NULL);
    setenv("SF_ACCESS_TOKEN", "00Dsecret!token", 1);
    ck_assert_int_eq(sfr_sf_from_env("61.0", &c, &err), SFR_OK);
    ck_assert_str_eq(sfr_sf_api_version(c), "61.0");
    ck_assert_int_eq(sfr_sf_api_calls(c), 0);
    long u, m;
    ck_assert(!sfr_sf_limit_info(c, &u, &m));
    sfr_sf_free(c);
    setenv("SF_API_VERSION", "v59.0", 1);
    ck_assert_int_eq(sfr_sf_from_env("61.0", &c, &err), SFR_OK);
    ck_assert_str_eq(sfr_sf_api_version(c), "59.0");
    sfr_sf_free(c);
    setenv("SF_API_VERSION", "latest", 1);
    ck_assert_int_eq(sfr_sf_from_env(NULL, &c, &err), SFR_ECONFIG);
    ck_assert(strstr(err.msg, "SF_API_VERSION") != NULL);
    unsetenv("SF_API_VERSION");
    setenv("SF_LOGIN_URL", "https://login.example.com", 1);
    ck_assert_int_eq(sfr_sf_from_env(NULL, &c, &err), SFR_ECONFIG);
    ck_assert(strstr(err.msg, "SF_CLIENT_ID") != NULL);
    setenv("SF_CLIENT_ID", "id", 1);
    ck_assert_int_eq(sfr_sf_from_env(NULL, &c, &err), SFR_ECONFIG);
    ck_assert(strstr(err.msg, "SF_CLIENT_SECRET") != NULL);
    setenv("SF_CLIENT_SECRET", "s3cret", 1);
    setenv("SF_USERNAME", "u@example.com", 1);
    ck_assert_int_eq(sfr_sf_from_env(NULL, &c, &err), SFR_ECONFIG);
    ck_assert(strstr(err.msg, "SF_PASSWORD") != NULL);
    ck_assert(strstr(err.msg, "s3cret") == NULL);
    setenv("SF_INSTANCE_URL", "ftp://x", 1);
    setenv("SF_PASSWORD", "pw", 1);
    ck_assert_int_eq(sfr_sf_from_env(NULL, &c, &err), SFR_ECONFIG);
    ck_assert(strstr(err.msg, "SF_INSTANCE_URL") != NULL);
    clear_env();
}
END_TEST

START_TEST(test_budget_refuses_before_sending)
{
    /* the instance URL points at a closed port: a call that is sent fails
     * with SFR_EHTTP; a call refused by the budget fails with SFR_ELIMIT */
    struct sfr_sf *c = NULL, *c2 = NULL;
    struct sfr_err err;
    sfr_log_set_level(SFR_LOG_ERROR); /* the retries warn */
    clear_env();
    setenv("SF_INSTANCE_URL", "http://127.0.0.1:9", 1);
    setenv("SF_ACCESS_TOKEN", "tok", 1);
    setenv("SF_RETRY_BASE_MS", "1", 1);
    ck_assert_int_eq(sfr_sf_from_env(NULL, &c, &err), SFR_OK);
    ck_assert_int_eq(sfr_sf_clone(c, &c2, &err), SFR_OK);
    sfr_sf_set_budget(c, 6);
    sfr_sf_set_phase(c, "audit");
    struct sfr_buf body = SFR_BUF_INIT;
    ck_assert_int_eq(
        sfr_sf_request(c, "GET", "/services/data/", NULL, "Account", &body, NULL, &err), SFR_EHTTP);
    ck_assert_int_eq(sfr_sf_api_calls(c), 5); /* five attempts */
    ck_assert_int_eq(
        sfr_sf_request(c2, "GET", "/services/data/", NULL, "Account", &body, NULL, &err),
        SFR_ELIMIT); /* the clone shares the budget: one left, then spent */
    ck_assert_int_eq(sfr_sf_api_calls(c2), 1);
    ck_assert_int_eq(sfr_sf_budget_used(c), 6);
    ck_assert(strstr(err.msg, "budget is spent (6 calls made") != NULL);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    sfr_sf_print_calls(c, f);
    fclose(f);
    ck_assert_str_eq(text, "api calls: 5 (Account: audit 5)\n");
    free(text);
    sfr_buf_cleanup(&body);
    sfr_sf_free(c2);
    sfr_sf_free(c);
    clear_env();
}
END_TEST

/* Answers of GET .../jobs/query/{id}/resultPages */
#define RP_JOB    "750R0000000zxr8IAA"
#define RP_URL(l) "\"/services/data/v60.0/jobs/query/" RP_JOB "/results?locator=" l "\""

START_TEST(test_result_pages)
{
    struct sfr_strv urls = {0};
    char next[256];
    bool done;
    struct sfr_err err;
    const char *a =
        "{\"resultPages\":[{\"resultUrl\":" RP_URL("aBcDeFg4N") "},{\"resultUrl\":" RP_URL(
            "HiJkLmN4N") "}],\"nextRecordsUrl\":\"/services/data/v60.0/jobs/"
                         "query/" RP_JOB "/resultPages?locator=oPQ\",\"done\":false}";
    ck_assert_int_eq(
        sfr_sf_parse_result_pages(a, strlen(a), RP_JOB, &urls, next, sizeof(next), &done, &err),
        SFR_OK);
    ck_assert_int_eq((int)urls.n, 2);
    ck_assert_str_eq(urls.v[0],
                     "/services/data/v60.0/jobs/query/" RP_JOB "/results?locator=aBcDeFg4N");
    ck_assert_str_eq(urls.v[1],
                     "/services/data/v60.0/jobs/query/" RP_JOB "/results?locator=HiJkLmN4N");
    ck_assert(!done);
    ck_assert_str_eq(next, "/services/data/v60.0/jobs/query/" RP_JOB "/resultPages?locator=oPQ");
    sfr_strv_cleanup(&urls);
    /* the last answer: null next, done; the key as the table spells it */
    const char *b = "{\"resultPages\":[{\"resultUrl\":" RP_URL(
        "vWxYzz4N") "}],"
                    "\"nextRecordUrl\":null,\"done\":true}";
    ck_assert_int_eq(
        sfr_sf_parse_result_pages(b, strlen(b), RP_JOB, &urls, next, sizeof(next), &done, &err),
        SFR_OK);
    ck_assert_int_eq((int)urls.n, 1);
    ck_assert(done);
    ck_assert_str_eq(next, "");
    sfr_strv_cleanup(&urls);
    /* no pages at all (an empty result), done absent: done because no next */
    const char *c = "{\"resultPages\":[]}";
    ck_assert_int_eq(
        sfr_sf_parse_result_pages(c, strlen(c), RP_JOB, &urls, next, sizeof(next), &done, &err),
        SFR_OK);
    ck_assert_int_eq((int)urls.n, 0);
    ck_assert(done);
    /* an absolute URL of the job is taken (sf_do checks its host) */
    const char *d = "{\"resultPages\":[{\"resultUrl\":\"https://x.my.salesforce.com/services/"
                    "data/v60.0/jobs/query/" RP_JOB "/results\"}],\"done\":true}";
    ck_assert_int_eq(
        sfr_sf_parse_result_pages(d, strlen(d), RP_JOB, &urls, next, sizeof(next), &done, &err),
        SFR_OK);
    ck_assert_int_eq((int)urls.n, 1);
    sfr_strv_cleanup(&urls);
}
END_TEST

static const char *const rp_bad[] = {
    "",
    "[]",
    "{\"done\":true}",
    "{\"resultPages\":{}}",
    "{\"resultPages\":[{\"resultUrl\":" RP_URL("x") "}",
    /* another job's results, or no results at all */
    "{\"resultPages\":[{\"resultUrl\":\"/services/data/v60.0/jobs/query/750OTHER0000000AAA/"
    "results?locator=x\"}],\"done\":true}",
    "{\"resultPages\":[{\"resultUrl\":\"/services/data/v60.0/jobs/query/" RP_JOB "\"}],"
    "\"done\":true}",
    "{\"resultPages\":[{\"resultUrl\":\"/services/data/v60.0/jobs/query/" RP_JOB
    "/resultsX\"}],\"done\":true}",
    /* not under /services/data/, or with blanks */
    "{\"resultPages\":[{\"resultUrl\":\"/other/jobs/query/" RP_JOB "/results\"}],\"done\":true}",
    "{\"resultPages\":[{\"resultUrl\":\"/services/data/v60.0/jobs/query/" RP_JOB
    "/results?locator=a b\"}],\"done\":true}",
    "{\"resultPages\":[{\"url\":" RP_URL("x") "}],\"done\":true}",
    "{\"resultPages\":[{\"resultUrl\":7}],\"done\":true}",
    /* more announced, but no next, or a next that is not the job's result pages */
    "{\"resultPages\":[{\"resultUrl\":" RP_URL("x") "}],\"done\":false}",
    "{\"resultPages\":[{\"resultUrl\":" RP_URL("x") "}],\"nextRecordsUrl\":null,\"done\":false}",
    "{\"resultPages\":[{\"resultUrl\":" RP_URL("x") "}],\"nextRecordsUrl\":\"/services/data/"
                                                    "v60.0/jobs/query/" RP_JOB
                                                    "/results?locator=y\",\"done\":false}",
};

START_TEST(test_result_pages_bad)
{
    struct sfr_strv urls = {0};
    char next[256];
    bool done;
    struct sfr_err err;
    const char *in = rp_bad[_i];
    ck_assert_msg(sfr_sf_parse_result_pages(in, strlen(in), RP_JOB, &urls, next, sizeof(next),
                                            &done, &err) == SFR_ESF,
                  "%s", in);
    ck_assert(strstr(err.msg, RP_JOB) != NULL);
    sfr_strv_cleanup(&urls);
}
END_TEST

START_TEST(test_bulk_streams)
{
    struct sfr_sf *c = NULL, *c2 = NULL;
    struct sfr_err err;
    clear_env();
    setenv("SF_INSTANCE_URL", "http://127.0.0.1:9", 1);
    setenv("SF_ACCESS_TOKEN", "tok", 1);
    ck_assert_int_eq(sfr_sf_from_env(NULL, &c, &err), SFR_OK);
    ck_assert_int_eq(sfr_sf_bulk_streams(c), SFR_SF_BULK_STREAMS);
    sfr_sf_free(c);
    setenv("SF_BULK_STREAMS", "3", 1);
    ck_assert_int_eq(sfr_sf_from_env(NULL, &c, &err), SFR_OK);
    ck_assert_int_eq(sfr_sf_bulk_streams(c), 3);
    ck_assert_int_eq(sfr_sf_clone(c, &c2, &err), SFR_OK);
    ck_assert_int_eq(sfr_sf_bulk_streams(c2), 3);
    sfr_sf_set_bulk_streams(c, 0);
    ck_assert_int_eq(sfr_sf_bulk_streams(c), 1);
    sfr_sf_set_bulk_streams(c, 1000);
    ck_assert_int_eq(sfr_sf_bulk_streams(c), SFR_SF_MAX_STREAMS);
    sfr_sf_free(c2);
    sfr_sf_free(c);
    sfr_log_set_level(SFR_LOG_ERROR); /* the bad value warns */
    setenv("SF_BULK_STREAMS", "0", 1);
    ck_assert_int_eq(sfr_sf_from_env(NULL, &c, &err), SFR_OK);
    ck_assert_int_eq(sfr_sf_bulk_streams(c), SFR_SF_BULK_STREAMS);
    sfr_sf_free(c);
    clear_env();
}
END_TEST

Suite *sf_suite(void)
{
    Suite *s = suite_create("sf");
    TCase *t = tcase_create("soql");
    tcase_add_loop_test(t, test_soql_escape, 0, sizeof(esc_cases) / sizeof(esc_cases[0]));
    tcase_add_loop_test(t, test_soql_name, 0, sizeof(name_cases) / sizeof(name_cases[0]));
    suite_add_tcase(s, t);
    t = tcase_create("headers");
    tcase_add_loop_test(t, test_limit_info, 0, sizeof(limit_cases) / sizeof(limit_cases[0]));
    tcase_add_test(t, test_error_body);
    suite_add_tcase(s, t);
    t = tcase_create("json");
    tcase_add_loop_test(t, test_jscan_chunks, 0, sizeof(chunk_sizes) / sizeof(chunk_sizes[0]));
    tcase_add_test(t, test_jscan_order_and_stop);
    tcase_add_test(t, test_jscan_errors);
    tcase_add_test(t, test_recparse);
    tcase_add_test(t, test_result_pages);
    tcase_add_loop_test(t, test_result_pages_bad, 0, sizeof(rp_bad) / sizeof(rp_bad[0]));
    suite_add_tcase(s, t);
    t = tcase_create("csv");
    tcase_add_loop_test(t, test_csv_chunks, 0, sizeof(chunk_sizes) / sizeof(chunk_sizes[0]));
    tcase_add_loop_test(t, test_csv_errors, 0, sizeof(csv_bad) / sizeof(csv_bad[0]));
    tcase_add_test(t, test_csv_stop);
    suite_add_tcase(s, t);
    t = tcase_create("client");
    tcase_add_test(t, test_calls_print);
    tcase_add_test(t, test_from_env);
    tcase_add_test(t, test_budget_refuses_before_sending);
    tcase_add_test(t, test_bulk_streams);
    tcase_set_timeout(t, 30);
    suite_add_tcase(s, t);
    return s;
}
