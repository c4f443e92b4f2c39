/* soql_schema.h — the describe that the tests of sfemu's SOQL translator run
 * on (tests/unit/check_soql.c, tests/fuzz/soql.c): Account with a field of
 * every type, Contact, and Order (a reserved word as a table name). Include
 * it after tests/sfemu/soql.c; account_fields keeps its order, the unit
 * tests name fields by index. */
#ifndef SFR_TEST_SOQL_SCHEMA_H
#define SFR_TEST_SOQL_SCHEMA_H

static struct sfr_field account_fields[] = {
    {.name = "Id", .column = "id", .type = SFR_FT_ID, .length = 18},
    {.name = "IsDeleted", .column = "isdeleted", .type = SFR_FT_BOOLEAN},
    {.name = "Name", .column = "name", .type = SFR_FT_STRING, .length = 255},
    {.name = "ParentId", .column = "parentid", .type = SFR_FT_REFERENCE, .length = 18},
    {.name = "Industry", .column = "industry", .type = SFR_FT_PICKLIST, .length = 40},
    {.name = "Description", .column = "description", .type = SFR_FT_TEXTAREA, .length = 32000},
    {.name = "Short_Note__c", .column = "short_note__c", .type = SFR_FT_TEXTAREA, .length = 255},
    {.name = "NumberOfEmployees", .column = "numberofemployees", .type = SFR_FT_INT},
    {.name = "Big__c", .column = "big__c", .type = SFR_FT_LONG},
    {.name = "AnnualRevenue", .column = "annualrevenue", .type = SFR_FT_CURRENCY, .scale = 2},
    {.name = "Score__c", .column = "score__c", .type = SFR_FT_DOUBLE, .scale = 4},
    {.name = "Share__c", .column = "share__c", .type = SFR_FT_PERCENT},
    {.name = "Active__c", .column = "active__c", .type = SFR_FT_BOOLEAN},
    {.name = "LastActivityDate", .column = "lastactivitydate", .type = SFR_FT_DATE},
    {.name = "CreatedDate", .column = "createddate", .type = SFR_FT_DATETIME},
    {.name = "SystemModstamp", .column = "systemmodstamp", .type = SFR_FT_DATETIME},
    {.name = "Opens_At__c", .column = "opens_at__c", .type = SFR_FT_TIME},
    {.name = "Website", .column = "website", .type = SFR_FT_URL, .length = 255},
    {.name = "Phone", .column = "phone", .type = SFR_FT_PHONE, .length = 40},
    {.name = "Email__c", .column = "email__c", .type = SFR_FT_EMAIL, .length = 80},
    {.name = "Tags__c", .column = "tags__c", .type = SFR_FT_MULTIPICKLIST, .length = 4099},
    {.name = "BillingAddress", .column = "billingaddress", .type = SFR_FT_ADDRESS},
    {.name = "Where__c", .column = "where__c", .type = SFR_FT_LOCATION},
};

static struct sfr_field contact_fields[] = {
    {.name = "Id", .column = "id", .type = SFR_FT_ID, .length = 18},
    {.name = "IsDeleted", .column = "isdeleted", .type = SFR_FT_BOOLEAN},
    {.name = "LastName", .column = "lastname", .type = SFR_FT_STRING, .length = 80},
    {.name = "AccountId", .column = "accountid", .type = SFR_FT_REFERENCE, .length = 18},
};

static struct sfr_field order_fields[] = {
    {.name = "Id", .column = "id", .type = SFR_FT_ID, .length = 18},
    {.name = "IsDeleted", .column = "isdeleted", .type = SFR_FT_BOOLEAN},
    {.name = "Group__c", .column = "group__c", .type = SFR_FT_STRING, .length = 80},
    {.name = "AccountId", .column = "accountid", .type = SFR_FT_REFERENCE, .length = 18},
};

#define SOQL_SCHEMA_OBJECT(n, t, prefix, f)                                                        \
    {                                                                                              \
        .name = n, .table = t, .key_prefix = prefix, .fields = f, .n_fields = sizeof f / sizeof *f \
    }

static struct sfr_object objects[] = {
    SOQL_SCHEMA_OBJECT("Account", "account", "001", account_fields),
    SOQL_SCHEMA_OBJECT("Contact", "contact", "003", contact_fields),
    SOQL_SCHEMA_OBJECT("Order", "order", "801", order_fields),
};

static const struct sfr_schema schema = {objects, sizeof objects / sizeof *objects};

#endif
