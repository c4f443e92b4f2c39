/* check_digest.c — chunk digests compose over sub-ranges in any order. */
#include <check.h>
#include <stdint.h>

#include "sfrecon/digest.h"

#define NROWS 100

static uint64_t row_hash(int i)
{
    return sfr_hash_bytes(&i, sizeof(i)) * 0x9E3779B97F4A7C15ULL; /* spread over 64 bits */
}

static int64_t row_mod(int i)
{
    return 1369082972000LL + (int64_t)((i * 37) % NROWS) * 1000;
}

static void digest_range(struct sfr_digest *d, int lo, int hi)
{
    sfr_digest_init(d);
    for (int i = lo; i < hi; i++)
        sfr_digest_add_row(d, row_hash(i), row_mod(i));
}

/* {cut points} splitting [0, NROWS) into sub-ranges, combined in listed order. */
static const struct {
    int cuts[6];
    int n;
    int perm[7];
} splits[] = {
    {{50}, 1, {0, 1}},
    {{50}, 1, {1, 0}},
    {{10, 20, 90}, 3, {3, 0, 2, 1}},
    {{0, 1, 99}, 3, {2, 3, 1, 0}},
    {{33, 34, 35, 36, 37, 38}, 6, {6, 5, 4, 3, 2, 1, 0}},
    {{100}, 1, {1, 0}}, /* an empty sub-range */
};

START_TEST(test_compose)
{
    struct sfr_digest whole, acc, part;
    digest_range(&whole, 0, NROWS);
    sfr_digest_init(&acc);
    int bounds[8];
    bounds[0] = 0;
    for (int k = 0; k < splits[_i].n; k++)
        bounds[k + 1] = splits[_i].cuts[k];
    bounds[splits[_i].n + 1] = NROWS;
    for (int k = 0; k <= splits[_i].n; k++) {
        int j = splits[_i].perm[k];
        digest_range(&part, bounds[j], bounds[j + 1]);
        sfr_digest_combine(&acc, &part);
    }
    ck_assert(sfr_digest_equal_content(&acc, &whole));
    ck_assert(sfr_digest_equal_count(&acc, &whole));
    ck_assert_uint_eq(acc.count, NROWS);
    ck_assert_int_eq(acc.max_mod_ms, whole.max_mod_ms);
}
END_TEST

START_TEST(test_detects_change)
{
    struct sfr_digest a, b;
    digest_range(&a, 0, NROWS);
    sfr_digest_init(&b);
    for (int i = 0; i < NROWS; i++)
        sfr_digest_add_row(&b, i == 42 ? row_hash(42) + 1 : row_hash(i), row_mod(i));
    ck_assert(!sfr_digest_equal_content(&a, &b));
    ck_assert(sfr_digest_equal_count(&a, &b)); /* same count and modstamp */
    /* a missing row changes the count */
    digest_range(&b, 1, NROWS);
    ck_assert(!sfr_digest_equal_content(&a, &b));
    ck_assert(!sfr_digest_equal_count(&a, &b));
    /* a newer modstamp changes the count digest */
    sfr_digest_init(&b);
    for (int i = 0; i < NROWS; i++)
        sfr_digest_add_row(&b, row_hash(i),
                           i == 7 ? row_mod(i) + 3600000 * 24 * 365LL : row_mod(i));
    ck_assert(!sfr_digest_equal_count(&a, &b));
    ck_assert(sfr_digest_equal_content(&a, &b));
}
END_TEST

START_TEST(test_empty_and_wrap)
{
    struct sfr_digest a, b;
    sfr_digest_init(&a);
    ck_assert_uint_eq(a.count, 0);
    ck_assert_int_eq(a.max_mod_ms, INT64_MIN);
    sfr_digest_init(&b);
    ck_assert(sfr_digest_equal_content(&a, &b));
    sfr_digest_add_row(&a, UINT64_MAX, INT64_MIN);
    sfr_digest_add_row(&a, 2, INT64_MIN);
    ck_assert_uint_eq(a.sum, 1); /* wraps modulo 2^64 */
    ck_assert_uint_eq(sfr_hash_bytes("abc", 3), sfr_hash_bytes("abc", 3));
    ck_assert(sfr_hash_bytes("abc", 3) != sfr_hash_bytes("abd", 3));
}
END_TEST

Suite *digest_suite(void)
{
    Suite *s = suite_create("digest");
    TCase *tc = tcase_create("digest");
    tcase_add_loop_test(tc, test_compose, 0, (int)(sizeof(splits) / sizeof(splits[0])));
    tcase_add_test(tc, test_detects_change);
    tcase_add_test(tc, test_empty_and_wrap);
    suite_add_tcase(s, tc);
    return s;
}
