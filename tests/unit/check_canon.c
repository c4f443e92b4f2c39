/* check_canon.c — canonical values: equal data from Salesforce and Postgres
 * hashes equal for every field type; different data does not. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfrecon/canon.h"

static struct sfr_field field(enum sfr_ftype t, int length, int precision, int scale)
{
    struct sfr_field f;
    memset(&f, 0, sizeof(f));
    f.name = (char *)"F";
    f.column = (char *)"f";
    f.type = t;
    f.length = length;
    f.precision = precision;
    f.scale = scale;
    return f;
}

static uint64_t hash1(const struct sfr_field *f, enum sfr_canon_src src, const char *v)
{
    struct sfr_rowhash h;
    sfr_rowhash_init(&h);
    sfr_rowhash_add(&h, f, src, v, v ? strlen(v) : 0);
    uint64_t x = sfr_rowhash_finish(&h);
    sfr_rowhash_cleanup(&h);
    return x;
}

/* {type, length, precision, scale, Salesforce value, Postgres value} that are equal. */
static const struct eq_case {
    enum sfr_ftype type;
    int length, precision, scale;
    const char *sf, *pg;
} eq_cases[] = {
    {SFR_FT_STRING, 255, 0, 0, NULL, ""},
    {SFR_FT_STRING, 255, 0, 0, NULL, NULL},
    {SFR_FT_TEXTAREA, 32000, 0, 0, NULL, ""},
    {SFR_FT_EMAIL, 80, 0, 0, NULL, ""},
    {SFR_FT_PHONE, 40, 0, 0, "(555) 010-1234", "(555) 010-1234"},
    {SFR_FT_URL, 255, 0, 0, "https://example.com", "https://example.com"},
    {SFR_FT_PICKLIST, 255, 0, 0, "Banking", "Banking"},
    {SFR_FT_STRING, 255, 0, 0, "Grand Hotels & Resorts Ltd", "Grand Hotels & Resorts Ltd"},
    {SFR_FT_DATETIME, 0, 0, 0, "2013-05-20T20:49:32.000+0000", "2013-05-20 20:49:32"},
    {SFR_FT_DATETIME, 0, 0, 0, "2013-05-20T20:49:32.000+0000", "2013-05-20 20:49:32.000"},
    {SFR_FT_DATETIME, 0, 0, 0, "2013-05-20T20:49:32.000+0000", "2013-05-20 22:49:32+02"},
    {SFR_FT_DATETIME, 0, 0, 0, "2013-05-20T20:49:32.000+0000", "2013-05-20T20:49:32Z"},
    {SFR_FT_DATETIME, 0, 0, 0, "2013-05-20T20:49:32.000+0000", "2013-05-20 16:19:32-04:30"},
    {SFR_FT_DATETIME, 0, 0, 0, "2013-05-20T20:49:32.123+0000", "2013-05-20 20:49:32.123"},
    {SFR_FT_DATETIME, 0, 0, 0, "2013-05-20T20:49:32.120+0000", "2013-05-20 20:49:32.12"},
    {SFR_FT_DATETIME, 0, 0, 0, "2013-05-20T20:49:32.123+0000", "2013-05-20 20:49:32.123456"},
    {SFR_FT_DATETIME, 0, 0, 0, "2000-03-01T00:30:00.000+0000", "2000-03-01 01:30:00+01"},
    {SFR_FT_DATETIME, 0, 0, 0, "1999-12-31T23:00:00.000+0000", "2000-01-01 00:00:00+01"},
    {SFR_FT_DATETIME, 0, 0, 0, NULL, NULL},
    {SFR_FT_CURRENCY, 0, 18, 2, "1234.5", "1234.50"},
    {SFR_FT_CURRENCY, 0, 18, 2, "1234.5", "1234.499999999"},
    {SFR_FT_CURRENCY, 0, 18, 2, "1234.5", "1234.5"},
    {SFR_FT_CURRENCY, 0, 18, 2, "0.3", "0.30000000000000004"},
    {SFR_FT_CURRENCY, 0, 18, 2, "2.675", "2.675"},
    {SFR_FT_CURRENCY, 0, 18, 2, "2.68", "2.675"},
    {SFR_FT_CURRENCY, 0, 18, 2, "-2.68", "-2.675"},
    {SFR_FT_CURRENCY, 0, 18, 0, "786000.0", "786000"},
    {SFR_FT_CURRENCY, 0, 18, 0, "1.0E7", "10000000"},
    {SFR_FT_CURRENCY, 0, 18, 0, "1.0E16", "1e+16"},
    {SFR_FT_CURRENCY, 0, 18, 2, "0", "-0.001"},
    {SFR_FT_CURRENCY, 0, 18, 2, "0", "-0"},
    {SFR_FT_CURRENCY, 0, 18, 2, "9.995", "10"},
    {SFR_FT_DOUBLE, 0, 18, 3, "1.5", "1.50000000001"},
    {SFR_FT_DOUBLE, 0, 18, 3, "0.001", "0.0005"},
    {SFR_FT_DOUBLE, 0, 18, 3, "12", "1.2e1"},
    {SFR_FT_PERCENT, 0, 3, 0, "50", "49.5"},
    {SFR_FT_PERCENT, 0, 3, 0, "50.0", "50.4"},
    {SFR_FT_PERCENT, 0, 5, 2, "12.35", "12.345"},
    {SFR_FT_DOUBLE, 0, 18, 0, "3", "2.5"},
    {SFR_FT_INT, 0, 0, 0, "12", "12.0"},
    {SFR_FT_INT, 0, 0, 0, "12", "012"},
    {SFR_FT_INT, 0, 0, 0, "0", "-0"},
    {SFR_FT_INT, 0, 0, 0, "-7", "-7"},
    {SFR_FT_LONG, 0, 0, 0, "9007199254740993", "9007199254740993"},
    {SFR_FT_BOOLEAN, 0, 0, 0, "true", "t"},
    {SFR_FT_BOOLEAN, 0, 0, 0, "false", "f"},
    {SFR_FT_BOOLEAN, 0, 0, 0, "TRUE", "1"},
    {SFR_FT_MULTIPICKLIST, 4099, 0, 0, "b;a", "a;b"},
    {SFR_FT_MULTIPICKLIST, 4099, 0, 0, "Priority;Export;Disputed", "Disputed;Export;Priority"},
    {SFR_FT_DATE, 0, 0, 0, "2013-05-20", "2013-05-20"},
    {SFR_FT_TIME, 0, 0, 0, "20:49:32.000Z", "20:49:32"},
    {SFR_FT_REFERENCE, 18, 0, 0, "001D000000IRFmaIAH", "001D000000IRFmaIAH"},
    {SFR_FT_REFERENCE, 18, 0, 0, NULL, ""},
    {SFR_FT_ID, 18, 0, 0, "001D000000IRFmaIAH", "001D000000IRFmaIAH"},
};

START_TEST(test_equal_values_hash_equal)
{
    const struct eq_case *c = &eq_cases[_i];
    struct sfr_field f = field(c->type, c->length, c->precision, c->scale);
    uint64_t a = hash1(&f, SFR_SRC_SF, c->sf), b = hash1(&f, SFR_SRC_PG, c->pg);
    char *ta = sfr_canon_text(&f, SFR_SRC_SF, c->sf), *tb = sfr_canon_text(&f, SFR_SRC_PG, c->pg);
    ck_assert_msg(a == b, "case %d (%s): SF '%s' -> '%s' vs PG '%s' -> '%s'", _i,
                  sfr_ftype_name(c->type), c->sf ? c->sf : "NULL", ta ? ta : "NULL",
                  c->pg ? c->pg : "NULL", tb ? tb : "NULL");
    ck_assert_msg(ta == NULL || (ta[0] != '\x01'), "case %d: '%s' did not parse", _i, ta);
    free(ta);
    free(tb);
}
END_TEST

/* Values that differ and must hash differently. */
static const struct eq_case ne_cases[] = {
    {SFR_FT_REFERENCE, 18, 0, 0, "001D000000IRFmaIAH", "001D000000IRFma"},
    {SFR_FT_ID, 18, 0, 0, "001D000000IRFmaIAH", "001D000000IRFma"},
    {SFR_FT_STRING, 255, 0, 0, "abc", "abd"},
    {SFR_FT_STRING, 10, 0, 0, "Hello World", "Hello Worl"},
    {SFR_FT_STRING, 10, 0, 0, "abc", "ABC"},
    {SFR_FT_STRING, 10, 0, 0, "abc", NULL},
    {SFR_FT_STRING, 10, 0, 0, "abc", "abc "},
    {SFR_FT_CURRENCY, 0, 18, 2, "1234.5", "1234.6"},
    {SFR_FT_CURRENCY, 0, 18, 2, "1234.5", "-1234.5"},
    {SFR_FT_CURRENCY, 0, 18, 2, "1234.5", "12345"},
    {SFR_FT_CURRENCY, 0, 18, 2, "0", NULL},
    {SFR_FT_CURRENCY, 0, 18, 2, "1", "abc"},
    {SFR_FT_PERCENT, 0, 3, 0, "50", "50.5"},
    {SFR_FT_DATETIME, 0, 0, 0, "2013-05-20T20:49:32.000+0000", "2013-05-20 22:49:32"},
    {SFR_FT_DATETIME, 0, 0, 0, "2013-05-20T20:49:32.000+0000", "2013-05-20 20:49:32.001"},
    {SFR_FT_DATETIME, 0, 0, 0, "2013-05-20T20:49:32.000+0000", "2013-05-21 20:49:32"},
    {SFR_FT_DATETIME, 0, 0, 0, "2013-05-20T20:49:32.000+0000", NULL},
    {SFR_FT_DATE, 0, 0, 0, "2013-05-20", "2013-05-21"},
    {SFR_FT_INT, 0, 0, 0, "12", "12.5"},
    {SFR_FT_INT, 0, 0, 0, "12", "13"},
    {SFR_FT_INT, 0, 0, 0, "0", NULL},
    {SFR_FT_BOOLEAN, 0, 0, 0, "true", "f"},
    {SFR_FT_BOOLEAN, 0, 0, 0, "false", NULL},
    {SFR_FT_BOOLEAN, 0, 0, 0, "true", "yes"},
    {SFR_FT_MULTIPICKLIST, 4099, 0, 0, "a;b", "a;b;c"},
    {SFR_FT_MULTIPICKLIST, 4099, 0, 0, "a;b", "a,b"},
    {SFR_FT_TIME, 0, 0, 0, "20:49:32.000Z", "20:49:33"},
};

START_TEST(test_different_values_hash_differently)
{
    const struct eq_case *c = &ne_cases[_i];
    struct sfr_field f = field(c->type, c->length, c->precision, c->scale);
    uint64_t a = hash1(&f, SFR_SRC_SF, c->sf), b = hash1(&f, SFR_SRC_PG, c->pg);
    ck_assert_msg(a != b, "case %d (%s): '%s' and '%s' hash equal", _i, sfr_ftype_name(c->type),
                  c->sf ? c->sf : "NULL", c->pg ? c->pg : "NULL");
}
END_TEST

/* Exact canonical forms of canon.h. */
static const struct form_case {
    enum sfr_ftype type;
    int scale;
    const char *in, *out; /* out NULL = null */
} form_cases[] = {
    {SFR_FT_STRING, 0, "", NULL},
    {SFR_FT_STRING, 0, "x y", "x y"},
    {SFR_FT_BOOLEAN, 0, "t", "1"},
    {SFR_FT_BOOLEAN, 0, "false", "0"},
    {SFR_FT_BOOLEAN, 0, "maybe", "\x01raw:maybe"},
    {SFR_FT_INT, 0, "0012", "12"},
    {SFR_FT_INT, 0, "-0", "0"},
    {SFR_FT_INT, 0, "+5", "5"},
    {SFR_FT_INT, 0, "12.000", "12"},
    {SFR_FT_INT, 0, "-120", "-120"},
    {SFR_FT_INT, 0, "1e3", "1000"},
    {SFR_FT_INT, 0, "12x", "\x01raw:12x"},
    {SFR_FT_CURRENCY, 2, "1234.5", "1234.50"},
    {SFR_FT_CURRENCY, 2, "2.675", "2.68"},
    {SFR_FT_CURRENCY, 2, "-2.675", "-2.68"},
    {SFR_FT_CURRENCY, 2, "-0.004", "0.00"},
    {SFR_FT_CURRENCY, 2, "-0.005", "-0.01"},
    {SFR_FT_CURRENCY, 2, "0.30000000000000004", "0.30"},
    {SFR_FT_CURRENCY, 2, "999.995", "1000.00"},
    {SFR_FT_CURRENCY, 2, ".5", "0.50"},
    {SFR_FT_CURRENCY, 0, "0.5", "1"},
    {SFR_FT_CURRENCY, 0, "0.49", "0"},
    {SFR_FT_CURRENCY, 0, "1e+16", "10000000000000000"},
    {SFR_FT_CURRENCY, 3, "1.5E-3", "0.002"},
    {SFR_FT_CURRENCY, 2, "Infinity", "\x01raw:Infinity"},
    {SFR_FT_CURRENCY, 2, "NaN", "\x01raw:NaN"},
    {SFR_FT_CURRENCY, 2, "1.2.3", "\x01raw:1.2.3"},
    {SFR_FT_CURRENCY, 2, "-", "\x01raw:-"},
    {SFR_FT_CURRENCY, 2, "1e", "\x01raw:1e"},
    {SFR_FT_DATE, 0, "2013-05-20", "2013-05-20"},
    {SFR_FT_DATE, 0, "2013-5-20", "\x01raw:2013-5-20"},
    {SFR_FT_DATE, 0, "2013-13-01", "\x01raw:2013-13-01"},
    {SFR_FT_DATETIME, 0, "2013-05-20T20:49:32.000+0000", "2013-05-20T20:49:32.000Z"},
    {SFR_FT_DATETIME, 0, "2013-05-20 20:49", "2013-05-20T20:49:00.000Z"},
    {SFR_FT_DATETIME, 0, "2013-05-20", "2013-05-20T00:00:00.000Z"},
    {SFR_FT_DATETIME, 0, "2013-01-01 01:00:00+05:30", "2012-12-31T19:30:00.000Z"},
    {SFR_FT_DATETIME, 0, "1969-12-31 23:59:59.999", "1969-12-31T23:59:59.999Z"},
    {SFR_FT_DATETIME, 0, "2024-02-29 12:00:00", "2024-02-29T12:00:00.000Z"},
    {SFR_FT_DATETIME, 0, "infinity", "\x01raw:infinity"},
    {SFR_FT_DATETIME, 0, "2013-05-20X20:49:32", "\x01raw:2013-05-20X20:49:32"},
    {SFR_FT_DATETIME, 0, "2013-05-20 25:49:32", "\x01raw:2013-05-20 25:49:32"},
    {SFR_FT_TIME, 0, "08:05", "08:05:00.000"},
    {SFR_FT_TIME, 0, "08:05:01.5", "08:05:01.500"},
    {SFR_FT_MULTIPICKLIST, 0, "c;a;b", "a;b;c"},
    {SFR_FT_MULTIPICKLIST, 0, "B;a", "B;a"},
    {SFR_FT_REFERENCE, 0, "001D000000IRFma", "001D000000IRFma"},
};

START_TEST(test_canonical_forms)
{
    const struct form_case *c = &form_cases[_i];
    struct sfr_field f = field(c->type, 255, 18, c->scale);
    char *got = sfr_canon_text(&f, SFR_SRC_PG, c->in);
    if (c->out == NULL)
        ck_assert_msg(got == NULL, "case %d: '%s' -> '%s', want null", _i, c->in, got);
    else
        ck_assert_msg(got != NULL && strcmp(got, c->out) == 0, "case %d: '%s' -> '%s', want '%s'",
                      _i, c->in, got ? got : "NULL", c->out);
    free(got);
}
END_TEST

/* Many fields: the length prefix keeps field boundaries apart. */
START_TEST(test_row_boundaries)
{
    struct sfr_field f = field(SFR_FT_STRING, 255, 0, 0);
    struct sfr_rowhash h;
    sfr_rowhash_init(&h);
    sfr_rowhash_add(&h, &f, SFR_SRC_SF, "ab", 2);
    sfr_rowhash_add(&h, &f, SFR_SRC_SF, "c", 1);
    uint64_t x = sfr_rowhash_finish(&h);
    sfr_rowhash_add(&h, &f, SFR_SRC_SF, "a", 1);
    sfr_rowhash_add(&h, &f, SFR_SRC_SF, "bc", 2);
    uint64_t y = sfr_rowhash_finish(&h);
    ck_assert(x != y);
    /* a null field and an absent field differ from each other as well */
    sfr_rowhash_add(&h, &f, SFR_SRC_SF, "ab", 2);
    uint64_t z1 = sfr_rowhash_finish(&h);
    sfr_rowhash_add(&h, &f, SFR_SRC_SF, "ab", 2);
    sfr_rowhash_add(&h, &f, SFR_SRC_SF, NULL, 0);
    uint64_t z2 = sfr_rowhash_finish(&h);
    ck_assert(z1 != z2);
    /* finish resets: the same row hashes the same again */
    sfr_rowhash_add(&h, &f, SFR_SRC_SF, "ab", 2);
    sfr_rowhash_add(&h, &f, SFR_SRC_SF, "c", 1);
    ck_assert(sfr_rowhash_finish(&h) == x);
    /* the canonical bytes are length-prefixed, little endian, null = 0xFFFFFFFF */
    sfr_rowhash_reset(&h);
    sfr_rowhash_add(&h, &f, SFR_SRC_SF, "ab", 2);
    sfr_rowhash_add(&h, &f, SFR_SRC_SF, "", 0);
    ck_assert_int_eq((int)h.buf.len, 4 + 2 + 4);
    ck_assert(memcmp(h.buf.data,
                     "\x02\x00\x00\x00"
                     "ab"
                     "\xff\xff\xff\xff",
                     10) == 0);
    sfr_rowhash_cleanup(&h);
}
END_TEST

/* A whole Account row: Salesforce REST text vs Postgres text output. */
START_TEST(test_account_row)
{
    struct sfr_field fs[] = {
        field(SFR_FT_ID, 18, 0, 0),       field(SFR_FT_STRING, 255, 0, 0),
        field(SFR_FT_CURRENCY, 0, 18, 0), field(SFR_FT_INT, 0, 0, 0),
        field(SFR_FT_BOOLEAN, 0, 0, 0),   field(SFR_FT_TEXTAREA, 32000, 0, 0),
        field(SFR_FT_DATETIME, 0, 0, 0),
    };
    const char *sf[] = {"001D000000IRFmaIAH",          "Acme", "786000.0", "12", "false", NULL,
                        "2013-05-20T20:49:32.000+0000"};
    const char *pg[] = {"001D000000IRFmaIAH", "Acme", "786000", "12", "f", "",
                        "2013-05-20 20:49:32"};
    struct sfr_rowhash h;
    sfr_rowhash_init(&h);
    for (int i = 0; i < 7; i++)
        sfr_rowhash_add(&h, &fs[i], SFR_SRC_SF, sf[i], sf[i] ? strlen(sf[i]) : 0);
    uint64_t a = sfr_rowhash_finish(&h);
    for (int i = 0; i < 7; i++)
        sfr_rowhash_add(&h, &fs[i], SFR_SRC_PG, pg[i], pg[i] ? strlen(pg[i]) : 0);
    uint64_t b = sfr_rowhash_finish(&h);
    ck_assert(a == b);
    pg[1] = "Acme Corp";
    for (int i = 0; i < 7; i++)
        sfr_rowhash_add(&h, &fs[i], SFR_SRC_PG, pg[i], pg[i] ? strlen(pg[i]) : 0);
    ck_assert(sfr_rowhash_finish(&h) != a);
    sfr_rowhash_cleanup(&h);
}
END_TEST

static const struct dt_case {
    const char *in;
    long long ms; /* -1 = invalid */
    const char *sf, *pg;
} dt_cases[] = {
    {"1970-01-01T00:00:00.000+0000", 0, "1970-01-01T00:00:00.000+0000", "1970-01-01 00:00:00.000"},
    {"2013-05-20T20:49:32.000+0000", 1369082972000LL, "2013-05-20T20:49:32.000+0000",
     "2013-05-20 20:49:32.000"},
    {"2013-05-20 20:49:32.5", 1369082972500LL, "2013-05-20T20:49:32.500+0000",
     "2013-05-20 20:49:32.500"},
    {"1969-12-31 23:59:59", -1000, "1969-12-31T23:59:59.000+0000", "1969-12-31 23:59:59.000"},
    {"2013-05-20T20:49:32.000+00", 1369082972000LL, NULL, NULL},
    {"2013-05-20T20:49:32.000 +0000", 1369082972000LL, NULL, NULL},
    {"2013-05-20T20:49:32.000+0000x", -1, NULL, NULL},
    {"2013-05-20T20:49", 1369082940000LL, NULL, NULL},
    {"2013-05-20T20:4", -1, NULL, NULL},
    {"", -1, NULL, NULL},
    {"20130520", -1, NULL, NULL},
};

START_TEST(test_datetime_parse_format)
{
    const struct dt_case *c = &dt_cases[_i];
    int64_t ms = 0;
    bool ok = sfr_parse_datetime_ms(c->in, strlen(c->in), &ms);
    if (c->ms == -1) {
        ck_assert_msg(!ok, "case %d: '%s' parsed", _i, c->in);
        return;
    }
    ck_assert_msg(ok, "case %d: '%s' did not parse", _i, c->in);
    ck_assert_int_eq(ms, c->ms);
    char buf[32];
    if (c->sf != NULL) {
        sfr_format_datetime_sf(ms, buf);
        ck_assert_str_eq(buf, c->sf);
        sfr_format_datetime_pg(ms, buf);
        ck_assert_str_eq(buf, c->pg);
    }
    sfr_format_datetime_ms(ms, buf);
    int64_t back = 0;
    ck_assert(sfr_parse_datetime_ms(buf, strlen(buf), &back));
    ck_assert_int_eq(back, ms);
}
END_TEST

/* A long multipicklist (more values than the sorter's stack array). */
START_TEST(test_long_multipicklist)
{
    struct sfr_field f = field(SFR_FT_MULTIPICKLIST, 4099, 0, 0);
    char a[1024] = "", b[1024] = "";
    for (int i = 0; i < 100; i++) {
        char item[16];
        snprintf(item, sizeof(item), "%s%03d", i ? ";" : "", i);
        strcat(a, item);
        snprintf(item, sizeof(item), "%s%03d", i ? ";" : "", 99 - i);
        strcat(b, item);
    }
    ck_assert(hash1(&f, SFR_SRC_SF, a) == hash1(&f, SFR_SRC_PG, b));
    char *t = sfr_canon_text(&f, SFR_SRC_PG, b);
    ck_assert_str_eq(t, a);
    free(t);
}
END_TEST

static const struct {
    int y, m, d;
    int64_t days;
} civil_cases[] = {
    {1970, 1, 1, 0},      {1969, 12, 31, -1},    {2000, 2, 29, 11016},  {2000, 3, 1, 11017},
    {1900, 3, 1, -25508}, {2024, 12, 31, 20088}, {1600, 1, 1, -135140},
};

START_TEST(test_civil_days)
{
    ck_assert_int_eq(sfr_days_from_civil(civil_cases[_i].y, civil_cases[_i].m, civil_cases[_i].d),
                     civil_cases[_i].days);
    int y, m, d;
    sfr_civil_from_days(civil_cases[_i].days, &y, &m, &d);
    ck_assert_int_eq(y, civil_cases[_i].y);
    ck_assert_int_eq(m, civil_cases[_i].m);
    ck_assert_int_eq(d, civil_cases[_i].d);
}
END_TEST

Suite *canon_suite(void)
{
    Suite *s = suite_create("canon");
    TCase *tc = tcase_create("canon");
    tcase_add_loop_test(tc, test_civil_days, 0,
                        (int)(sizeof(civil_cases) / sizeof(civil_cases[0])));
    tcase_add_loop_test(tc, test_equal_values_hash_equal, 0,
                        (int)(sizeof(eq_cases) / sizeof(eq_cases[0])));
    tcase_add_loop_test(tc, test_different_values_hash_differently, 0,
                        (int)(sizeof(ne_cases) / sizeof(ne_cases[0])));
    tcase_add_loop_test(tc, test_canonical_forms, 0,
                        (int)(sizeof(form_cases) / sizeof(form_cases[0])));
    tcase_add_loop_test(tc, test_datetime_parse_format, 0,
                        (int)(sizeof(dt_cases) / sizeof(dt_cases[0])));
    tcase_add_test(tc, test_row_boundaries);
    tcase_add_test(tc, test_account_row);
    tcase_add_test(tc, test_long_multipicklist);
    suite_add_tcase(s, tc);
    return s;
}
