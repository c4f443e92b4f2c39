/* check_fuzzfound.c — regression cases for the defects the fuzz targets in
 * tests/fuzz/ found. Each case is the (minimised) input that crashed or broke
 * a property, with the behaviour that is correct for it, so that the bug
 * stays fixed even where libFuzzer is not run. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "sfrecon/canon.h"
#include "sfrecon/sf.h"

/* ---- record parser: keys holding an escaped NUL ---- */

/* Found by fuzz_jsonstream: a key such as "Id\u0000x" compared equal to the
 * field "Id" up to the NUL, then the comparison read past the end of the
 * field name (ASan global-buffer-overflow). Such a key matches no field. */
static const struct {
    const char *json;
    const char *id; /* expected value of Id, NULL = null/absent */
} nul_key_cases[] = {
    {"{\"Id\\u0000x\":\"w\"}", NULL},
    {"{\"Id\\u0000\":\"w\",\"Id\":\"real\"}", "real"},
    {"{\"I\\u0000\":\"w\"}", NULL},
    {"{\"\\u0000\":\"w\",\"id\":\"lower\"}", "lower"},
};

START_TEST(test_recparse_nul_key)
{
    static const char *const fields[] = {"Id", "Name"};
    struct sfr_sf_recparse rp;
    sfr_sf_recparse_init(&rp, fields, 2);
    struct sfr_err err = {0};
    const char *json = nul_key_cases[_i].json;
    ck_assert_int_eq(sfr_sf_recparse_run(&rp, json, strlen(json), &err), SFR_OK);
    if (nul_key_cases[_i].id == NULL)
        ck_assert_ptr_null(rp.values[0]);
    else
        ck_assert_str_eq(rp.values[0], nul_key_cases[_i].id);
    ck_assert_ptr_null(rp.values[1]);
    sfr_sf_recparse_cleanup(&rp);
}
END_TEST

/* ---- canonical numbers are fixed points ---- */

/* Found by fuzz_canon: "5E377" canonicalised (scale 40) to 378 integer digits
 * and 40 zero decimals, and that text, counted digit by digit with its
 * trailing zeros, passed the parser's 400-digit limit and came back as a raw
 * (unparsable) value. Canonicalising a canonical value must change nothing. */
static const struct {
    const char *in;
    int scale;
} fixed_point_cases[] = {
    {"5E377", 40},
    {"5e377", 0},
    {"-1.5e300", 18},
    {"1e398", 0},
    {"0.0000000000000000000000000000000000000000000000000000000000000000000000001", 40},
};

START_TEST(test_canon_number_fixed_point)
{
    struct sfr_field f = {.name = "F", .column = "f", .type = SFR_FT_DOUBLE};
    f.scale = fixed_point_cases[_i].scale;
    const char *in = fixed_point_cases[_i].in;
    struct sfr_buf once = SFR_BUF_INIT, twice = SFR_BUF_INIT;
    ck_assert(!sfr_canon_value(&f, SFR_SRC_SF, in, strlen(in), &once));
    ck_assert_int_ne(once.data[0], '\x01'); /* parsed, not raw */
    ck_assert(!sfr_canon_value(&f, SFR_SRC_PG, once.data, once.len, &twice));
    ck_assert_str_eq(twice.data, once.data);
    sfr_buf_cleanup(&once);
    sfr_buf_cleanup(&twice);
}
END_TEST

Suite *fuzzfound_suite(void)
{
    Suite *s = suite_create("fuzzfound");
    TCase *tc = tcase_create("jsonstream");
    tcase_add_loop_test(tc, test_recparse_nul_key, 0, sizeof nul_key_cases / sizeof *nul_key_cases);
    suite_add_tcase(s, tc);
    tc = tcase_create("canon");
    tcase_add_loop_test(tc, test_canon_number_fixed_point, 0,
                        sizeof fixed_point_cases / sizeof *fixed_point_cases);
    suite_add_tcase(s, tc);
    return s;
}
