/* check_sketch.c — difference sketches (sketch.h) and bucket lookup (scan.h):
 * a few differing pairs are read back exactly, too many are refused, and a
 * refused or inconsistent decode leaves nothing behind. */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sfrecon/digest.h"
#include "sfrecon/scan.h"
#include "sfrecon/sketch.h"

struct side {
    struct sfr_sketch sk;
    struct sfr_digest d;
};

static void add(struct side *s, const char *key, uint64_t h)
{
    sfr_sketch_add(&s->sk, key, strlen(key), h);
    sfr_digest_add_row(&s->d, h, 0);
}

static void key_of(int i, char out[24])
{
    snprintf(out, 24, "001G0%010dAAA", i);
}

/* n rows alike on both sides, then `changed` rows with another hash on b,
 * `gone` rows absent from b, `extra` rows only on b. */
static const struct {
    int changed, gone, extra;
    bool decodes;
} cases[] = {
    {0, 0, 0, true}, {1, 0, 0, true}, {0, 1, 0, true},   {0, 0, 1, true},
    {1, 1, 1, true}, {2, 0, 0, true}, {40, 0, 0, false}, {0, 30, 30, false},
};

START_TEST(test_decode)
{
    struct side a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    sfr_digest_init(&a.d);
    sfr_digest_init(&b.d);
    char k[24];
    int n = 500, c = cases[_i].changed, g = cases[_i].gone, x = cases[_i].extra;
    for (int i = 0; i < n; i++) {
        key_of(i, k);
        uint64_t h = sfr_hash_bytes(k, strlen(k));
        add(&a, k, h);
        if (i < c)
            add(&b, k, h ^ 1);
        else if (i >= c + g || i < c)
            add(&b, k, h);
    }
    for (int i = 0; i < x; i++) {
        key_of(n + i, k);
        add(&b, k, sfr_hash_bytes(k, strlen(k)));
    }
    struct sfr_strv keys = {0};
    sfr_strv_push(&keys, "kept");
    bool ok =
        sfr_sketch_decode(&a.sk, &b.sk, (int64_t)(a.d.count - b.d.count), a.d.sum - b.d.sum, &keys);
    ck_assert_msg(ok == cases[_i].decodes, "case %d: decode %d", _i, ok);
    if (!ok) {
        ck_assert_int_eq(keys.n, 1);
    } else {
        /* a changed row shows twice (both hashes), the others once */
        ck_assert_int_eq(keys.n, 1 + 2 * (size_t)c + (size_t)g + (size_t)x);
        for (int i = 0; i < c + g; i++) {
            key_of(i, k);
            bool found = false;
            for (size_t j = 1; j < keys.n; j++)
                found = found || strcmp(keys.v[j], k) == 0;
            ck_assert_msg(found, "case %d: %s not decoded", _i, k);
        }
    }
    ck_assert_str_eq(keys.v[0], "kept");
    sfr_strv_cleanup(&keys);
}
END_TEST

/* A decode that does not account for the digests' difference is refused. */
START_TEST(test_decode_checks_digest)
{
    struct side a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    add(&a, "001G00000000001AAA", 11);
    struct sfr_strv keys = {0};
    ck_assert(!sfr_sketch_decode(&a.sk, &b.sk, 1, 12, &keys));
    ck_assert(!sfr_sketch_decode(&a.sk, &b.sk, 2, 11, &keys));
    ck_assert(sfr_sketch_decode(&a.sk, &b.sk, 1, 11, &keys));
    ck_assert_int_eq(keys.n, 1);
    ck_assert_str_eq(keys.v[0], "001G00000000001AAA");
    /* a key longer than a cell holds cannot be decoded */
    add(&b, "0123456789012345678901234567", 5);
    ck_assert(!sfr_sketch_decode(&a.sk, &b.sk, 0, 6, &keys));
    ck_assert_int_eq(keys.n, 1);
    sfr_strv_cleanup(&keys);
}
END_TEST

static const struct {
    const char *key;
    size_t bucket;
} bcases[] = {
    {"", 0},     {"001A", 0}, {"001B", 1}, {"001Ba", 1}, {"001C", 1},  {"001D", 2},
    {"001a", 3}, {"001b", 3}, {"001z", 3}, {"002", 3},   {"001Bz", 1},
};

/* Byte order: upper case sorts before lower case. */
START_TEST(test_bucket_of)
{
    const char *keys[] = {"001B", "001D", "001a"};
    ck_assert_uint_eq(sfr_scan_bucket_of(keys, 3, bcases[_i].key), bcases[_i].bucket);
    ck_assert_uint_eq(sfr_scan_bucket_of(keys, 0, bcases[_i].key), 0);
}
END_TEST

/* The default of --jobs: at least one, never more than the affinity mask. */
START_TEST(test_cores)
{
    int n = sfr_check_cores_available();
    ck_assert_int_ge(n, 1);
    ck_assert_int_le(n, 64);
    ck_assert_int_le(n, (int)sysconf(_SC_NPROCESSORS_CONF));
}
END_TEST

Suite *sketch_suite(void)
{
    Suite *s = suite_create("sketch");
    TCase *tc = tcase_create("sketch");
    tcase_add_loop_test(tc, test_decode, 0, (int)(sizeof(cases) / sizeof(cases[0])));
    tcase_add_test(tc, test_decode_checks_digest);
    tcase_add_loop_test(tc, test_bucket_of, 0, (int)(sizeof(bcases) / sizeof(bcases[0])));
    tcase_add_test(tc, test_cores);
    suite_add_tcase(s, tc);
    return s;
}
