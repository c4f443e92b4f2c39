/* check_coltypes.c — field types read back from Heroku Connect column types
 * (Postgres <-> Postgres audits without a describe). */
#include <check.h>

#include "sfrecon/coltypes.h"

static const struct {
    const char *pgtype, *field;
    enum sfr_ftype want;
    int length, scale;
} cases[] = {
    {"character varying(18)", "ParentId", SFR_FT_REFERENCE, 18, 0},
    {"character varying(18)", "Account__c", SFR_FT_REFERENCE, 18, 0},
    {"character varying(18)", "Code", SFR_FT_STRING, 18, 0},
    {"character varying(255)", "Name", SFR_FT_STRING, 255, 0},
    {"character varying(4099)", "Tags__c", SFR_FT_MULTIPICKLIST, 4099, 0},
    {"character varying", "Notes", SFR_FT_STRING, 0, 0},
    {"character(3)", "Code", SFR_FT_STRING, 3, 0},
    {"text", "Description", SFR_FT_TEXTAREA, 0, 0},
    {"boolean", "IsDeleted", SFR_FT_BOOLEAN, 0, 0},
    {"integer", "NumberOfEmployees", SFR_FT_INT, 0, 0},
    {"smallint", "Level", SFR_FT_INT, 0, 0},
    {"bigint", "Big__c", SFR_FT_LONG, 0, 0},
    {"double precision", "AnnualRevenue", SFR_FT_DOUBLE, 0, 15},
    {"real", "Ratio", SFR_FT_DOUBLE, 0, 15},
    {"numeric(18,2)", "Amount", SFR_FT_DOUBLE, 0, 2},
    {"numeric(10,0)", "Count__c", SFR_FT_DOUBLE, 0, 0},
    {"numeric", "Free", SFR_FT_DOUBLE, 0, 15},
    {"date", "Birthdate", SFR_FT_DATE, 0, 0},
    {"timestamp without time zone", "SystemModstamp", SFR_FT_DATETIME, 0, 0},
    {"timestamp with time zone", "When__c", SFR_FT_DATETIME, 0, 0},
    {"time without time zone", "At__c", SFR_FT_TIME, 0, 0},
    {"jsonb", "Blob", SFR_FT_ANYTYPE, 0, 0},
};

START_TEST(test_field_type)
{
    int len = -1, scale = -1;
    enum sfr_ftype t = sfr_coltype_field_type(cases[_i].pgtype, cases[_i].field, &len, &scale);
    ck_assert_msg(t == cases[_i].want, "%s %s: got %s", cases[_i].pgtype, cases[_i].field,
                  sfr_ftype_name(t));
    ck_assert_int_eq(len, cases[_i].length);
    ck_assert_int_eq(scale, cases[_i].scale);
}
END_TEST

Suite *coltypes_suite(void)
{
    Suite *s = suite_create("coltypes");
    TCase *tc = tcase_create("coltypes");
    tcase_add_loop_test(tc, test_field_type, 0, (int)(sizeof(cases) / sizeof(cases[0])));
    suite_add_tcase(s, tc);
    return s;
}
