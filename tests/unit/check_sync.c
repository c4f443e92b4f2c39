/* check_sync.c — the sync daemon's pure parts: the hstore text of Connect's
 * trigger log and the Postgres array literals of its statements. */
#include <check.h>
#include <string.h>

#include "../../src/sync/sync_internal.h"

START_TEST(test_hstore_basic)
{
    struct sfr_hstore h;
    ck_assert_int_eq(
        sfr_hstore_parse("\"email\"=>\"a@x.com\", \"name\"=>NULL, \"n\"=>\"\"", &h, NULL), SFR_OK);
    ck_assert_int_eq(h.n, 3);
    ck_assert_str_eq(h.keys[0], "email");
    ck_assert_str_eq(h.vals[0], "a@x.com");
    ck_assert_ptr_null(h.vals[1]);
    ck_assert_str_eq(h.vals[2], "");
    ck_assert_int_eq(sfr_hstore_find(&h, "name"), 1);
    ck_assert_int_eq(sfr_hstore_find(&h, "Name"), -1);
    sfr_hstore_cleanup(&h);
}
END_TEST

START_TEST(test_hstore_escapes)
{
    struct sfr_hstore h;
    /* a quoted "NULL" is the text NULL; quotes, backslashes, => and commas inside values */
    ck_assert_int_eq(sfr_hstore_parse("\"a\"=>\"NULL\",\"b\"=>\"say \\\"hi\\\", x=>y\","
                                      "\"c\\\\d\"=>\"back\\\\slash\"",
                                      &h, NULL),
                     SFR_OK);
    ck_assert_int_eq(h.n, 3);
    ck_assert_str_eq(h.vals[0], "NULL");
    ck_assert_str_eq(h.vals[1], "say \"hi\", x=>y");
    ck_assert_str_eq(h.keys[2], "c\\d");
    ck_assert_str_eq(h.vals[2], "back\\slash");
    sfr_hstore_cleanup(&h);
}
END_TEST

START_TEST(test_hstore_empty_and_unquoted)
{
    struct sfr_hstore h;
    ck_assert_int_eq(sfr_hstore_parse(NULL, &h, NULL), SFR_OK);
    ck_assert_int_eq(h.n, 0);
    ck_assert_int_eq(sfr_hstore_parse("  ", &h, NULL), SFR_OK);
    ck_assert_int_eq(h.n, 0);
    ck_assert_int_eq(sfr_hstore_parse("a=>1, b => null", &h, NULL), SFR_OK);
    ck_assert_int_eq(h.n, 2);
    ck_assert_str_eq(h.vals[0], "1");
    ck_assert_ptr_null(h.vals[1]);
    sfr_hstore_cleanup(&h);
}
END_TEST

START_TEST(test_hstore_malformed)
{
    static const char *const bad[] = {"\"a\"=>", "\"a\"=\"b\"", "\"a\"=>\"b", "\"a\"=>\"b\" \"c\"",
                                      "=>\"b\""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sfr_hstore h;
        struct sfr_err err = {0};
        ck_assert_int_eq(sfr_hstore_parse(bad[i], &h, &err), SFR_EINVAL);
        ck_assert_int_eq(h.n, 0);
        ck_assert_ptr_nonnull(strstr(err.msg, "offset"));
    }
}
END_TEST

START_TEST(test_array_literal)
{
    struct sfr_buf b = SFR_BUF_INIT;
    const char *v[] = {"001A", "a\"b", "c\\d", NULL};
    sfr_pg_array_append(&b, v, 4);
    ck_assert_str_eq(b.data, "{\"001A\",\"a\\\"b\",\"c\\\\d\",NULL}");
    sfr_buf_reset(&b);
    sfr_pg_array_append(&b, v, 0);
    ck_assert_str_eq(b.data, "{}");
    sfr_buf_cleanup(&b);
}
END_TEST

Suite *sync_suite(void)
{
    Suite *s = suite_create("sync");
    TCase *tc = tcase_create("hstore");
    tcase_add_test(tc, test_hstore_basic);
    tcase_add_test(tc, test_hstore_escapes);
    tcase_add_test(tc, test_hstore_empty_and_unquoted);
    tcase_add_test(tc, test_hstore_malformed);
    tcase_add_test(tc, test_array_literal);
    suite_add_tcase(s, tc);
    return s;
}
