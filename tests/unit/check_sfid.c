/* check_sfid.c — Salesforce Id checksum, 15/18 conversion, byte order. */
#include <check.h>
#include <string.h>

#include "sfrecon/sfid.h"

static const struct {
    const char *id15, *id18;
} vectors[] = {
    {"001D000000IRFma", "001D000000IRFmaIAH"}, {"003RO0000035WQg", "003RO0000035WQgYAM"},
    {"a00D0000008pQR5", "a00D0000008pQR5IAM"}, {"000000000000000", "000000000000000AAA"},
    {"ABCDEABCDEABCDE", "ABCDEABCDEABCDE555"},
};

START_TEST(test_vectors)
{
    char out18[19], out15[16], suf[4];
    ck_assert(sfr_sfid_to18(vectors[_i].id15, 15, out18));
    ck_assert_str_eq(out18, vectors[_i].id18);
    ck_assert(sfr_sfid_to18(vectors[_i].id18, 18, out18)); /* 18 stays 18 */
    ck_assert_str_eq(out18, vectors[_i].id18);
    ck_assert(sfr_sfid_to15(vectors[_i].id18, 18, out15));
    ck_assert_str_eq(out15, vectors[_i].id15);
    sfr_sfid_suffix(vectors[_i].id15, suf);
    ck_assert_str_eq(suf, vectors[_i].id18 + 15);
    ck_assert(sfr_sfid_valid(vectors[_i].id15, 15));
    ck_assert(sfr_sfid_valid(vectors[_i].id18, 18));
}
END_TEST

static const char *const invalid[] = {
    "001D000000IRFm",      /* 14 characters */
    "001D000000IRFmaI",    /* 16 */
    "001D000000IRFmaIA",   /* 17 */
    "001D000000IRFmaIAHX", /* 19 */
    "001D000000IRF-a",     /* bad character */
    "001D000000IRF a",     /* space */
    "001D000000IRFmaIAX",  /* wrong checksum */
    "001D000000IRFmaiah",  /* checksum in the wrong case */
    "001D000000IRFMaIAH",  /* body changed, checksum not */
    "",
};

START_TEST(test_invalid)
{
    const char *s = invalid[_i];
    char out18[19] = "unchanged", out15[16];
    ck_assert_msg(!sfr_sfid_valid(s, strlen(s)), "'%s' accepted", s);
    ck_assert(!sfr_sfid_to18(s, strlen(s), out18));
    ck_assert(!sfr_sfid_to15(s, strlen(s), out15));
}
END_TEST

START_TEST(test_null_and_len)
{
    ck_assert(!sfr_sfid_valid(NULL, 15));
    /* only the first len bytes count */
    ck_assert(sfr_sfid_valid("001D000000IRFmaIAH", 15));
}
END_TEST

static const struct {
    const char *a, *b;
    int cmp;
} orders[] = {
    {"001D000000IRFmaIAH", "001D000000IRFmaIAH", 0},
    {"001D000000IRFmaIAH", "001D000000IRFmbIAH", -1},
    {"001Z000000000000AA", "001a000000000000AA", -1}, /* uppercase before lowercase in "C" */
    {"0019000000000000AA", "001A000000000000AA", -1}, /* digits first */
    {"001D000000IRFma", "001D000000IRFmaIAH", -1},    /* prefix sorts first */
    {"003", "001", 1},
};

START_TEST(test_order)
{
    ck_assert_int_eq(sfr_sfid_cmp(orders[_i].a, orders[_i].b), orders[_i].cmp);
    ck_assert_int_eq(sfr_sfid_cmp(orders[_i].b, orders[_i].a), -orders[_i].cmp);
}
END_TEST

Suite *sfid_suite(void)
{
    Suite *s = suite_create("sfid");
    TCase *tc = tcase_create("sfid");
    tcase_add_loop_test(tc, test_vectors, 0, (int)(sizeof(vectors) / sizeof(vectors[0])));
    tcase_add_loop_test(tc, test_invalid, 0, (int)(sizeof(invalid) / sizeof(invalid[0])));
    tcase_add_loop_test(tc, test_order, 0, (int)(sizeof(orders) / sizeof(orders[0])));
    tcase_add_test(tc, test_null_and_len);
    suite_add_tcase(s, tc);
    return s;
}
