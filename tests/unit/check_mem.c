/* check_mem.c — byte buffer and string list helpers. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfrecon/mem.h"

START_TEST(test_buf)
{
    struct sfr_buf b = SFR_BUF_INIT;
    sfr_buf_puts(&b, "abc");
    sfr_buf_putc(&b, '-');
    sfr_buf_append(&b, "xyz", 2);
    ck_assert_str_eq(b.data, "abc-xy");
    ck_assert_uint_eq(b.len, 6);
    for (int i = 0; i < 1000; i++)
        sfr_buf_printf(&b, "%d,", i % 10);
    ck_assert_uint_eq(b.len, 6 + 2000);
    ck_assert_uint_eq(strlen(b.data), b.len);
    sfr_buf_reset(&b);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_str_eq(b.data, "");
    char big[600];
    memset(big, 'q', sizeof(big) - 1);
    big[599] = '\0';
    sfr_buf_printf(&b, "<%s>", big); /* longer than the formatter's small buffer */
    ck_assert_uint_eq(b.len, 601);
    ck_assert_int_eq(b.data[600], '>');
    char *s = sfr_buf_steal(&b);
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(strlen(s), 601);
    free(s);
    s = sfr_buf_steal(&b); /* an empty buffer hands out "" */
    ck_assert_str_eq(s, "");
    free(s);
    sfr_buf_cleanup(&b);
}
END_TEST

START_TEST(test_strings)
{
    ck_assert_ptr_null(sfr_strdup(NULL));
    char *s = sfr_strndup("abcdef", 3);
    ck_assert_str_eq(s, "abc");
    free(s);
    s = sfr_asprintf("%s-%d", "x", 42);
    ck_assert_str_eq(s, "x-42");
    free(s);
    sfr_free(NULL);
}
END_TEST

static const struct {
    const char *csv;
    char sep;
    int n;
    const char *first, *last;
} splits[] = {
    {"a,b,c", ',', 3, "a", "c"}, {" a , b ,, c ", ',', 3, "a", "c"},
    {"", ',', 0, NULL, NULL},    {"Account;Contact", ';', 2, "Account", "Contact"},
    {",,,", ',', 0, NULL, NULL},
};

START_TEST(test_strv_split)
{
    struct sfr_strv v = {0};
    sfr_strv_split(&v, splits[_i].csv, splits[_i].sep);
    ck_assert_int_eq((int)v.n, splits[_i].n);
    if (v.n > 0) {
        ck_assert_str_eq(v.v[0], splits[_i].first);
        ck_assert_str_eq(v.v[v.n - 1], splits[_i].last);
    }
    sfr_strv_cleanup(&v);
    ck_assert_ptr_null(v.v);
}
END_TEST

START_TEST(test_strv_contains)
{
    struct sfr_strv v = {0};
    for (int i = 0; i < 20; i++) {
        char name[24];
        snprintf(name, sizeof(name), "Field%d", i);
        sfr_strv_push(&v, name);
    }
    sfr_strv_take(&v, sfr_strdup("Owned"));
    ck_assert_int_eq((int)v.n, 21);
    ck_assert(sfr_strv_contains_ci(&v, "field19"));
    ck_assert(sfr_strv_contains_ci(&v, "OWNED"));
    ck_assert(!sfr_strv_contains_ci(&v, "Field20"));
    sfr_strv_cleanup(&v);
}
END_TEST

static const struct {
    const char *in, *want;
} jcases[] = {
    {NULL, "null"},
    {"", "\"\""},
    {"plain", "\"plain\""},
    {"a\"b\\c", "\"a\\\"b\\\\c\""},
    {"l1\nl2\r\t", "\"l1\\nl2\\r\\t\""},
    {"\x01\x1f", "\"\\u0001\\u001f\""},
    {"h\xc3\xa9", "\"h\xc3\xa9\""},
};

START_TEST(test_json_str)
{
    struct sfr_buf b = SFR_BUF_INIT;
    sfr_buf_json_str(&b, jcases[_i].in);
    ck_assert_str_eq(b.data, jcases[_i].want);
    sfr_buf_cleanup(&b);
}
END_TEST

Suite *mem_suite(void)
{
    Suite *s = suite_create("mem");
    TCase *tc = tcase_create("mem");
    tcase_add_test(tc, test_buf);
    tcase_add_test(tc, test_strings);
    tcase_add_loop_test(tc, test_strv_split, 0, (int)(sizeof(splits) / sizeof(splits[0])));
    tcase_add_test(tc, test_strv_contains);
    tcase_add_loop_test(tc, test_json_str, 0, (int)(sizeof(jcases) / sizeof(jcases[0])));
    suite_add_tcase(s, tc);
    return s;
}
