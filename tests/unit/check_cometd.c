/* check_cometd.c — the pure parts of the Change Data Capture subscriber:
 * parsing a CometD data message in Salesforce's shape (header, several
 * recordIds, changedFields/nulledFields, compound fields flattened), the
 * changeOrigin client test and the channel names. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "sfrecon/cometd.h"

static const char update_msg[] =
    "{\"channel\":\"/data/AccountChangeEvent\",\"data\":{\"schema\":\"IeRuaY6cbI_HsV8Rv1Mc5g\","
    "\"payload\":{\"ChangeEventHeader\":{\"entityName\":\"Account\",\"recordIds\":"
    "[\"001000000000001AAA\",\"001000000000002AAA\"],\"changeType\":\"UPDATE\","
    "\"changeOrigin\":\"com/salesforce/api/rest/60.0;client=sfrecon-sync\","
    "\"transactionKey\":\"0002e5c4-1b6f-4bd0\",\"sequenceNumber\":1,"
    "\"commitTimestamp\":1700000000123,\"commitNumber\":1,\"commitUser\":\"005000000000001AAA\","
    "\"changedFields\":[\"Phone\",\"BillingAddress.City\",\"LastModifiedDate\",\"Rating\"],"
    "\"nulledFields\":[\"Rating\"],\"diffFields\":[]},"
    "\"Phone\":\"555-0100\",\"NumberOfEmployees\":12,\"IsPartner\":false,\"Rating\":null,"
    "\"LastModifiedDate\":\"2023-11-14T22:13:20.123Z\","
    "\"BillingAddress\":{\"City\":\"Lyon\",\"Street\":null},"
    "\"Name\":\"Acme\",\"Loc__c\":{\"Latitude\":45.7}},"
    "\"event\":{\"replayId\":4711}}}";

START_TEST(test_parse_update)
{
    struct sfr_cdc_msg m;
    struct sfr_err e = {0};
    ck_assert_int_eq(sfr_cdc_parse(update_msg, &m, &e), SFR_OK);
    ck_assert_int_eq(m.kind, SFR_CDC_EVENT);
    ck_assert_int_eq(m.replay_id, 4711);
    ck_assert_str_eq(m.change_type, "UPDATE");
    ck_assert_str_eq(m.entity, "Account");
    ck_assert_int_eq(m.n_ids, 2);
    ck_assert_str_eq(m.record_ids[1], "001000000000002AAA");
    ck_assert_str_eq(m.commit_user, "005000000000001AAA");
    ck_assert(m.commit_ms == 1700000000123LL);
    const char *v;
    ck_assert(sfr_cdc_value(&m, "phone", &v));
    ck_assert_str_eq(v, "555-0100");
    ck_assert(sfr_cdc_value(&m, "NumberOfEmployees", &v));
    ck_assert_str_eq(v, "12");
    ck_assert(sfr_cdc_value(&m, "IsPartner", &v));
    ck_assert_str_eq(v, "false");
    ck_assert(sfr_cdc_value(&m, "Rating", &v));
    ck_assert_ptr_null(v);
    /* compound fields flattened; a plain field wins over a flattened name */
    ck_assert(sfr_cdc_value(&m, "BillingCity", &v));
    ck_assert_str_eq(v, "Lyon");
    ck_assert(sfr_cdc_value(&m, "BillingStreet", &v));
    ck_assert_ptr_null(v);
    ck_assert(sfr_cdc_value(&m, "Loc__Latitude__s", &v));
    ck_assert_str_eq(v, "45.7");
    ck_assert(sfr_cdc_value(&m, "Name", &v));
    ck_assert_str_eq(v, "Acme");
    ck_assert(!sfr_cdc_value(&m, "Website", &v));
    /* changed: named directly, through a compound entry, or nulled */
    ck_assert(sfr_cdc_changed(&m, "Phone"));
    ck_assert(sfr_cdc_changed(&m, "BillingCity"));
    ck_assert(sfr_cdc_changed(&m, "rating"));
    ck_assert(!sfr_cdc_changed(&m, "Name"));
    ck_assert(!sfr_cdc_changed(&m, "BillingStreet"));
    ck_assert(sfr_cdc_origin_is(m.origin, "sfrecon-sync"));
    ck_assert(!sfr_cdc_origin_is(m.origin, "sfrecon"));
    ck_assert(!sfr_cdc_origin_is(m.origin, ""));
    sfr_cdc_msg_free(&m);
}
END_TEST

START_TEST(test_parse_gap_and_bad)
{
    struct sfr_cdc_msg m;
    struct sfr_err e = {0};
    ck_assert_int_eq(sfr_cdc_parse("{\"channel\":\"/data/ChangeEvents\",\"data\":{\"payload\":"
                                   "{\"ChangeEventHeader\":{\"entityName\":\"Contact\","
                                   "\"changeType\":\"GAP_OVERFLOW\",\"recordIds\":"
                                   "[\"000000000000000AAA\"]}},\"event\":{\"replayId\":9}}}",
                                   &m, &e),
                     SFR_OK);
    ck_assert_str_eq(m.change_type, "GAP_OVERFLOW");
    ck_assert_int_eq(m.n_ids, 1);
    ck_assert_int_eq(m.n_changed, 0);
    ck_assert_int_eq(m.n_values, 0);
    sfr_cdc_msg_free(&m);
    ck_assert_int_ne(sfr_cdc_parse("not json", &m, &e), SFR_OK);
    ck_assert_int_ne(sfr_cdc_parse("{\"data\":{\"payload\":{}}}", &m, &e), SFR_OK);
    ck_assert_ptr_nonnull(strstr(e.msg, "ChangeEventHeader"));
    ck_assert_int_ne(sfr_cdc_parse("{\"data\":{\"payload\":{\"ChangeEventHeader\":"
                                   "{\"changeType\":\"CREATE\"}}}}",
                                   &m, &e),
                     SFR_OK);
    ck_assert_ptr_nonnull(strstr(e.msg, "replayId"));
}
END_TEST

START_TEST(test_channel_names)
{
    char *c = sfr_cdc_channel("Account");
    ck_assert_str_eq(c, "/data/AccountChangeEvent");
    free(c);
    c = sfr_cdc_channel("Invoice_Line__c");
    ck_assert_str_eq(c, "/data/Invoice_Line__ChangeEvent");
    free(c);
    ck_assert(sfr_cdc_origin_is("com/salesforce/api/soap/60.0;client=a b", "a"));
    ck_assert(!sfr_cdc_origin_is("com/salesforce/api/rest/60.0", "sfrecon-sync"));
    ck_assert(!sfr_cdc_origin_is(NULL, "x"));
}
END_TEST

Suite *cometd_suite(void)
{
    Suite *s = suite_create("cometd");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, test_parse_update);
    tcase_add_test(tc, test_parse_gap_and_bad);
    tcase_add_test(tc, test_channel_names);
    suite_add_tcase(s, tc);
    return s;
}
