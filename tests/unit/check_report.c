/* check_report.c — the report writers: numbers printed for people, JSON
 * indentation, report order, display text of details, the Prometheus
 * exposition, and the HTML page's escaping, windows and self-containment. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/report/report_internal.h"
#include "sfrecon/report.h"

static void add_disc(struct sfr_run *run, const char *obj, const char *sfid, enum sfr_cause c,
                     const char *detail, const char *field, const char *sv, const char *pv)
{
    struct sfr_discrepancy d;
    memset(&d, 0, sizeof(d));
    d.object = strdup(obj);
    d.sfid = strdup(sfid);
    d.cause = c;
    d.detail = detail ? strdup(detail) : NULL;
    d.sf_mod_ms = d.pg_mod_ms = INT64_MIN;
    if (field)
        sfr_discrepancy_add_field(&d, field, sv, pv);
    sfr_disc_list_push(&run->discs, &d);
}

/* Two objects, discrepancies pushed out of sfid order. */
static void sample_run(struct sfr_run *run)
{
    memset(run, 0, sizeof(*run));
    run->id = 7;
    strcpy(run->started_at, "2026-11-25T01:00:00Z");
    strcpy(run->finished_at, "2026-11-25T01:04:12Z");
    strcpy(run->status, "discrepancies");
    strcpy(run->depth, "content");
    run->api_calls = 42;
    run->complete = true;
    run->n_objects = 2;
    run->objects = calloc(2, sizeof(*run->objects));
    run->objects[0].object = strdup("Account");
    run->objects[0].rows_sf = 1000;
    run->objects[0].rows_pg = 998;
    run->objects[0].by_cause[SFR_CAUSE_TRUNCATION] = 2;
    run->objects[0].seconds = 0.162;
    run->objects[0].complete = true;
    run->objects[1].object = strdup("Contact");
    run->objects[1].by_cause[SFR_CAUSE_SYNC_ERROR] = 1;
    run->objects[1].complete = true;
    add_disc(run, "Contact", "003G00000000000002AAA", SFR_CAUSE_SYNC_ERROR,
             "the mirror's last write to Salesforce failed: {\"message\":\"FIELD_CUSTOM_"
             "VALIDATION_EXCEPTION: Phone is locked\",\"errorCode\":\"FIELD_CUSTOM_VALIDATION_"
             "EXCEPTION\"}",
             "Phone", "555", "556");
    add_disc(run, "Account", "001G00000000000009AAA", SFR_CAUSE_TRUNCATION, "Name cut", "Name",
             "Acme Corporation", "Acme Corpo");
    add_disc(run, "Account", "001G00000000000003AAA", SFR_CAUSE_TRUNCATION, "Name cut", "Name",
             "<script>alert(1)</script>", "<script>");
}

/* The writer's output, read back from a temporary file. Caller frees. */
static char *render(const struct sfr_run *run, enum sfr_format fmt)
{
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    sfr_report_write(f, run, fmt);
    long n = ftell(f);
    rewind(f);
    char *out = calloc(1, (size_t)n + 1);
    ck_assert_int_eq(fread(out, 1, (size_t)n, f), n);
    fclose(f);
    return out;
}

static const struct {
    double v;
    const char *want;
} nums[] = {{0.162, "0.162"},
            {0.16200000000000001, "0.162"},
            {2.0, "2"},
            {-1.5, "-1.5"},
            {1764032652.0, "1764032652"},
            {0.0004, "0"},
            {12.3456, "12.346"},
            {-0.0001, "0"}};

START_TEST(test_num)
{
    char b[48];
    sfr_report_num(nums[_i].v, b);
    ck_assert_str_eq(b, nums[_i].want);
}
END_TEST

static const struct {
    enum sfr_cause cause;
    const char *detail, *parent_object, *parent_sfid, *field, *want;
} details[] = {
    {SFR_CAUSE_SYNC_ERROR,
     "the mirror's last write to Salesforce failed: {\"message\":\"FIELD_CUSTOM_VALIDATION_"
     "EXCEPTION: Phone is locked\",\"errorCode\":\"FIELD_CUSTOM_VALIDATION_EXCEPTION\"}",
     NULL, NULL, NULL,
     "the mirror's last write to Salesforce failed: Phone is locked "
     "(FIELD_CUSTOM_VALIDATION_EXCEPTION)"},
    {SFR_CAUSE_SYNC_ERROR,
     "failed: [{\"message\":\"Required fields are missing: [LastName]\",\"errorCode\":"
     "\"REQUIRED_FIELD_MISSING\",\"fields\":[\"LastName\"]},{\"errorCode\":\"X\"}]",
     NULL, NULL, NULL,
     "failed: Required fields are missing: [LastName] (REQUIRED_FIELD_MISSING); X"},
    {SFR_CAUSE_SYNC_ERROR, "mirror row id 4 never reached Salesforce: {\"errorCode\":\"DUP\"}",
     NULL, NULL, NULL, "mirror row id 4 never reached Salesforce: DUP"},
    {SFR_CAUSE_SYNC_ERROR, "the last write failed: INVALID_EMAIL_ADDRESS: bad address", NULL, NULL,
     NULL, "the last write failed: bad address (INVALID_EMAIL_ADDRESS)"},
    {SFR_CAUSE_SYNC_ERROR, "the last write failed: {not json", NULL, NULL, NULL,
     "the last write failed: {not json"},
    {SFR_CAUSE_MISSING_PARENT, "ParentId 001X points to Account 001X, absent from the mirror",
     "Account", "001G00000000000001AAA", "ParentId",
     "ParentId points to Account 001G00000000000001AAA, absent from the mirror"},
    {SFR_CAUSE_TRUNCATION, "Name cut", NULL, NULL, NULL, "Name cut"},
};

START_TEST(test_detail)
{
    struct sfr_discrepancy d;
    memset(&d, 0, sizeof(d));
    d.cause = details[_i].cause;
    d.detail = strdup(details[_i].detail);
    d.parent_object = details[_i].parent_object ? strdup(details[_i].parent_object) : NULL;
    d.parent_sfid = details[_i].parent_sfid ? strdup(details[_i].parent_sfid) : NULL;
    if (details[_i].field)
        sfr_discrepancy_add_field(&d, details[_i].field, d.parent_sfid, d.parent_sfid);
    char *got = sfr_report_detail(&d);
    ck_assert_str_eq(got, details[_i].want);
    free(got);
    sfr_discrepancy_cleanup(&d);
}
END_TEST

START_TEST(test_text_order)
{
    struct sfr_run run;
    sample_run(&run);
    add_disc(&run, "Contact", "003G00000000000009AAA", SFR_CAUSE_FIELD_MISMATCH, "x", "Note",
             "a\x01"
             "b\nc\rd\te",
             "a");
    char *t = render(&run, SFR_FMT_TEXT);
    ck_assert_ptr_nonnull(strstr(t, "'a\\x01b\\nc\\rd\te'")); /* control bytes shown, tab kept */
    char *a3 = strstr(t, "001G00000000000003AAA"), *a9 = strstr(t, "001G00000000000009AAA");
    char *c2 = strstr(t, "003G00000000000002AAA");
    ck_assert_ptr_nonnull(a3);
    ck_assert_ptr_nonnull(a9);
    ck_assert_ptr_nonnull(c2);
    ck_assert(a3 < a9 && a9 < c2); /* objects in summary order, sfids in order */
    ck_assert_ptr_nonnull(strstr(t, "Phone is locked (FIELD_CUSTOM_VALIDATION_EXCEPTION)"));
    ck_assert_ptr_null(strstr(t, "{\"message\""));
    free(t);
    sfr_run_cleanup(&run);
}
END_TEST

START_TEST(test_json)
{
    struct sfr_run run;
    sample_run(&run);
    char *j = render(&run, SFR_FMT_JSON);
    ck_assert_ptr_nonnull(strstr(j, "\"seconds\":0.162"));
    ck_assert_ptr_null(strstr(j, "0.16200000000000001"));
    /* two-space indentation throughout: the depth of each line's first key
     * matches the brackets open before it */
    int depth = 0;
    bool in_str = false;
    for (const char *p = j; *p; p++) {
        if (*p == '\n' && p[1]) {
            int sp = 0;
            while (p[1 + sp] == ' ')
                sp++;
            char next = p[1 + sp];
            int want = (next == '}' || next == ']') ? depth - 1 : depth;
            ck_assert_msg(sp == 2 * want, "line at offset %ld: %d spaces, want %d", (long)(p - j),
                          sp, 2 * want);
        } else if (*p == '"' && (p == j || p[-1] != '\\')) {
            in_str = !in_str;
        } else if (!in_str && (*p == '{' || *p == '[')) {
            depth++;
        } else if (!in_str && (*p == '}' || *p == ']')) {
            depth--;
        }
    }
    ck_assert_int_eq(depth, 0);
    /* report order: Account's two before Contact's */
    ck_assert(strstr(j, "001G00000000000003AAA") < strstr(j, "003G00000000000002AAA"));
    free(j);
    sfr_run_cleanup(&run);
}
END_TEST

START_TEST(test_prometheus)
{
    struct sfr_run run;
    sample_run(&run);
    free(run.objects[1].object);
    run.objects[1].object = strdup("Odd\"Name\\");
    char *p = render(&run, SFR_FMT_PROMETHEUS);
    ck_assert_ptr_nonnull(
        strstr(p, "\nsfrecon_discrepancies{object=\"Account\",cause=\"truncation\"} 2\n"));
    ck_assert_ptr_nonnull(
        strstr(p, "sfrecon_discrepancies{object=\"Odd\\\"Name\\\\\",cause=\"sync_error\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(p, "\nsfrecon_audit_duration_seconds 252\n"));
    ck_assert_ptr_nonnull(strstr(p, "\nsfrecon_api_calls 42\n"));
    /* finished 2026-11-25T01:04:12Z */
    ck_assert_ptr_nonnull(strstr(p, "sfrecon_audit_last_success_timestamp_seconds 1795568652\n"));
    ck_assert_ptr_nonnull(strstr(p, "# TYPE sfrecon_discrepancies gauge\n"));
    const char *first = strstr(p, "# TYPE sfrecon_discrepancies ");
    ck_assert_ptr_null(strstr(first + 1, "# TYPE sfrecon_discrepancies "));
    free(p);
    /* a partial run is no success */
    strcpy(run.status, "partial");
    p = render(&run, SFR_FMT_PROMETHEUS);
    ck_assert_ptr_null(strstr(p, "last_success"));
    ck_assert_ptr_nonnull(strstr(p, "sfrecon_audit_complete 0\n"));
    free(p);
    sfr_run_cleanup(&run);
}
END_TEST

START_TEST(test_html)
{
    struct sfr_run run;
    sample_run(&run);
    char long_sf[3001], long_pg[3001];
    memset(long_sf, 'a', 3000);
    memset(long_pg, 'a', 3000);
    long_sf[3000] = long_pg[3000] = '\0';
    long_pg[2000] = 'b';
    add_disc(&run, "Account", "001G00000000000005AAA", SFR_CAUSE_TRUNCATION, "x", "Description",
             long_sf, long_pg);
    char *h = render(&run, SFR_FMT_HTML);
    ck_assert_ptr_nonnull(strstr(h, "default-src 'none'"));
    ck_assert_ptr_nonnull(strstr(h, "<svg"));
    ck_assert_ptr_null(strstr(h, "<script>alert"));
    ck_assert_ptr_nonnull(strstr(h, "&lt;script&gt;"));
    ck_assert_ptr_null(strstr(h, "http://"));
    ck_assert_ptr_null(strstr(h, "https://")); /* no instance URL known: no links */
    ck_assert_ptr_nonnull(strstr(h, "3,000 characters, differs from character 2,001"));
    ck_assert_ptr_null(strstr(h, long_sf)); /* a window, not the wall of text */
    ck_assert_ptr_nonnull(strstr(h, "id=\"g-Account-truncation\""));
    ck_assert_ptr_nonnull(strstr(h, "sfrecon repair --run 7 --only truncation"));
    free(h);
    run.instance_url = strdup("https://example.my.salesforce.com");
    h = render(&run, SFR_FMT_HTML);
    ck_assert_ptr_nonnull(
        strstr(h, "<a href=\"https://example.my.salesforce.com/001G00000000000003AAA\">"));
    free(h);
    sfr_run_cleanup(&run);
}
END_TEST

Suite *report_suite(void)
{
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("report");
    tcase_add_loop_test(tc, test_num, 0, (int)(sizeof(nums) / sizeof(nums[0])));
    tcase_add_loop_test(tc, test_detail, 0, (int)(sizeof(details) / sizeof(details[0])));
    tcase_add_test(tc, test_text_order);
    tcase_add_test(tc, test_json);
    tcase_add_test(tc, test_prometheus);
    tcase_add_test(tc, test_html);
    suite_add_tcase(s, tc);
    return s;
}
