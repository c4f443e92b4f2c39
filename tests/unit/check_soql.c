/* check_soql.c — the sfemu SOQL parser and its SQL translation, table-driven
 * over a hand-built schema with a field of every type (soql_schema.h).
 *
 * soql.c, soql_lex.c and soql_sql.c belong to the sfemu binary, so they are compiled into
 * this test directly. With SOQL_TEST_PGURL set (a throwaway database), every
 * generated statement is also run against a store created from the same schema. */
#include <check.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#include "../sfemu/soql.c"
#include "../sfemu/soql_lex.c"
#include "../sfemu/soql_sql.c"

#define NOW_2024_03_15 1710504000 /* 2024-03-15T12:00:00Z, a Friday */

#include "soql_schema.h"

/* expect_err NULL: parse succeeds and the SQL contains `sql` (when not NULL).
 * Otherwise: parse fails with that errcode and a message containing `sql`. */
struct row {
    const char *soql;
    const char *sql;
    const char *expect_err;
};

static const struct row rows[] = {
    /* field lists, names as in describe, FROM case-insensitive */
    {"SELECT Id, Name FROM Account",
     "SELECT \"id\", \"name\", \"id\" FROM sfemu.\"account\" WHERE NOT \"isdeleted\" ORDER BY "
     "\"id\" COLLATE \"C\" ASC",
     NULL},
    {"select id, NAME from account", "\"name\"", NULL},
    {"SELECT Id FROM Contact", "FROM sfemu.\"contact\"", NULL},
    {"SELECT Account.Name FROM Account", "SELECT \"name\", \"id\"", NULL},
    /* wire text per type */
    {"SELECT CreatedDate FROM Account",
     "to_char(\"createddate\", 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"+0000\"')", NULL},
    {"SELECT LastActivityDate FROM Account", "to_char(\"lastactivitydate\", 'YYYY-MM-DD')", NULL},
    {"SELECT Active__c FROM Account", "(\"active__c\")::text", NULL},
    {"SELECT NumberOfEmployees, Big__c FROM Account",
     "(\"numberofemployees\")::text, (\"big__c\")::text", NULL},
    {"SELECT AnnualRevenue FROM Account",
     "CASE WHEN \"annualrevenue\" = trunc(\"annualrevenue\") AND abs(\"annualrevenue\") < 1e15 "
     "THEN trunc(\"annualrevenue\")::bigint::text || '.0' ELSE (\"annualrevenue\")::text END",
     NULL},
    {"SELECT Opens_At__c FROM Account", "to_char(\"opens_at__c\", 'HH24:MI:SS.MS\"Z\"')", NULL},
    /* WHERE: text equality case-insensitive, Id exact */
    {"SELECT Id FROM Account WHERE Name = 'Acme'",
     "WHERE lower(\"name\" COLLATE \"default\") = lower($1::text COLLATE \"default\") AND NOT "
     "\"isdeleted\"",
     NULL},
    {"SELECT Id FROM Account WHERE Id = '001D000000IRFma'", "WHERE \"id\" = $1::text COLLATE \"C\"",
     NULL},
    {"SELECT Id FROM Account WHERE Id >= '001D000000IRFma' AND Id < '001D000000IRFmz'",
     "WHERE (\"id\" >= $1::text COLLATE \"C\" AND \"id\" < $2::text COLLATE \"C\")", NULL},
    {"SELECT Id FROM Account WHERE ParentId != '001D000000IRFmaIAH'",
     "\"parentid\" IS DISTINCT FROM $1::text COLLATE \"C\"", NULL},
    {"SELECT Id FROM Account WHERE Name <> 'x'",
     "lower(\"name\" COLLATE \"default\") IS DISTINCT FROM", NULL},
    {"SELECT Id FROM Account WHERE Name = null", "WHERE \"name\" IS NULL", NULL},
    {"SELECT Id FROM Account WHERE ParentId != NULL", "WHERE \"parentid\" IS NOT NULL", NULL},
    {"SELECT Id FROM Account WHERE Name = ''", "(\"name\" IS NULL OR \"name\" = $1::text)", NULL},
    {"SELECT Id FROM Account WHERE Active__c = TRUE", "\"active__c\" = $1::boolean", NULL},
    {"SELECT Id FROM Account WHERE NumberOfEmployees > -5", "\"numberofemployees\" > $1::numeric",
     NULL},
    {"SELECT Id FROM Account WHERE AnnualRevenue <= 1.5", "\"annualrevenue\" <= $1::numeric", NULL},
    {"SELECT Id FROM Account WHERE LastActivityDate = 2024-01-31",
     "\"lastactivitydate\" = $1::date", NULL},
    {"SELECT Id FROM Account WHERE SystemModstamp > 2024-01-31T10:00:00Z",
     "\"systemmodstamp\" > $1::timestamp", NULL},
    {"SELECT Id FROM Account WHERE Name LIKE 'Ac%'", "\"name\" COLLATE \"default\" ILIKE $1::text",
     NULL},
    {"SELECT Id FROM Account WHERE Id IN ('001D000000IRFma', '001D000000IRFmaIAH')",
     "(\"id\" = ANY($1::text[] COLLATE \"C\"))", NULL},
    {"SELECT Id FROM Account WHERE Industry NOT IN ('Tech', null)",
     "NOT (COALESCE(lower(\"industry\" COLLATE \"default\") = ANY(lower($1::text COLLATE "
     "\"default\")::text[]), false) OR "
     "\"industry\" IS NULL)",
     NULL},
    {"SELECT Id FROM Account WHERE Industry IN (null)", "WHERE (\"industry\" IS NULL)", NULL},
    {"SELECT Id FROM Account WHERE NumberOfEmployees IN (1, 2.5)", "= ANY($1::numeric[])", NULL},
    /* AND/OR/NOT and parentheses */
    {"SELECT Id FROM Account WHERE (Name = 'a' OR Name = 'b') AND NOT Active__c = false",
     "WHERE ((lower(\"name\" COLLATE \"default\") = lower($1::text COLLATE \"default\") OR "
     "lower(\"name\" COLLATE \"default\") = "
     "lower($2::text COLLATE \"default\")) AND NOT COALESCE(\"active__c\" = $3::boolean, false))",
     NULL},
    {"SELECT Id FROM Account WHERE NOT (Name = 'a' AND Phone = '1')", "NOT COALESCE((lower(", NULL},
    {"SELECT Id FROM Account WHERE Name = 'a' AND Phone = 'b' AND Website = 'c'",
     "((lower(\"name\" COLLATE \"default\")", NULL},
    /* ORDER BY, LIMIT, OFFSET */
    {"SELECT Id FROM Account ORDER BY Id", "ORDER BY \"id\" COLLATE \"C\" ASC", NULL},
    {"SELECT Id FROM Account ORDER BY Id DESC LIMIT 5",
     "ORDER BY \"id\" COLLATE \"C\" DESC LIMIT 5", NULL},
    {"SELECT Id FROM Account ORDER BY Name DESC NULLS FIRST, CreatedDate",
     "ORDER BY lower(\"name\" COLLATE \"default\") DESC NULLS FIRST, \"name\" DESC NULLS FIRST, "
     "\"createddate\" ASC "
     "NULLS FIRST, \"id\" COLLATE \"C\" ASC",
     NULL},
    {"SELECT Id FROM Account ORDER BY NumberOfEmployees ASC NULLS LAST LIMIT 10 OFFSET 20",
     "\"numberofemployees\" ASC NULLS LAST, \"id\" COLLATE \"C\" ASC LIMIT 10 OFFSET 20", NULL},
    {"SELECT Id FROM Account OFFSET 2000", "OFFSET 2000", NULL},
    /* aggregates */
    {"SELECT COUNT() FROM Account WHERE Name = 'x'",
     "SELECT count(*)::text FROM sfemu.\"account\" WHERE lower(", NULL},
    {"SELECT COUNT() FROM Account LIMIT 3",
     "SELECT count(*)::text FROM (SELECT 1 FROM sfemu.\"account\" WHERE NOT \"isdeleted\" LIMIT "
     "3) AS s",
     NULL},
    {"SELECT COUNT(Id), MAX(SystemModstamp) FROM Account",
     "SELECT (count(\"id\"))::text, to_char(max(\"systemmodstamp\"), 'YYYY-MM-DD\"T\"HH24:MI:SS.MS"
     "\"+0000\"') FROM sfemu.\"account\" WHERE NOT \"isdeleted\"",
     NULL},
    {"SELECT MIN(Name) lo, COUNT_DISTINCT(Industry) FROM Account",
     "SELECT min(\"name\"), (count(DISTINCT \"industry\"))::text FROM", NULL},
    {"SELECT SUM(NumberOfEmployees), AVG(AnnualRevenue) FROM Account",
     "(sum(\"numberofemployees\"))::text, CASE WHEN avg(\"annualrevenue\")::float8", NULL},
    /* relative date literals (now = 2024-03-15, a Friday) */
    {"SELECT Id FROM Account WHERE LastActivityDate = TODAY",
     "(\"lastactivitydate\" >= $1::date AND \"lastactivitydate\" < $2::date)", NULL},
    {"SELECT Id FROM Account WHERE CreatedDate < LAST_N_DAYS:30", "\"createddate\" < $1::timestamp",
     NULL},
    {"SELECT Id FROM Account WHERE CreatedDate != THIS_MONTH",
     "(\"createddate\" IS NULL OR \"createddate\" < $1::timestamp OR \"createddate\" >= "
     "$2::timestamp)",
     NULL},

    /* errors */
    {"SELECT Id FORM Account", "unexpected token: 'FORM' at column 11", "MALFORMED_QUERY"},
    {"SELECT Id FROM Account WHERE", "unexpected token: '<EOF>' at column 29", "MALFORMED_QUERY"},
    {"SELECT Id FROM Account LIMIT 5 garbage", "unexpected token: 'garbage' at column 32",
     "MALFORMED_QUERY"},
    {"SELECT Id FROM Account WHERE Name = 'x' )", "')' at column 41", "MALFORMED_QUERY"},
    {"SELECT Id,\nFoo__c FROM Account",
     "No such column 'Foo__c' on entity 'Account'. If you are attempting to use a custom field, be "
     "sure to append the '__c' after the custom field name. Please reference your WSDL or the "
     "describe call for the appropriate names. (row 2, column 1)",
     "INVALID_FIELD"},
    {"SELECT Id FROM Account WHERE Nope = 1", "No such column 'Nope'", "INVALID_FIELD"},
    {"SELECT Id FROM Nope", "sObject type 'Nope' is not supported.", "INVALID_TYPE"},
    {"SELECT Owner.Name FROM Account", "relationship 'Owner'", "INVALID_FIELD"},
    {"SELECT Id, Name, id FROM Account", "duplicate field selected: Id", "MALFORMED_QUERY"},
    {"SELECT COUNT(), Id FROM Account", "COUNT() must be the only", "MALFORMED_QUERY"},
    {"SELECT Name, COUNT(Id) FROM Account", "Field must be grouped or aggregated: Name",
     "MALFORMED_QUERY"},
    {"SELECT MAX(Name) x, MIN(Name) x FROM Account", "duplicate alias selected: x",
     "MALFORMED_QUERY"},
    {"SELECT Id FROM Account WHERE Active__c = 'true'",
     "field 'Active__c' must be of type boolean and should not be enclosed in quotes",
     "INVALID_FIELD"},
    {"SELECT Id FROM Account WHERE LastActivityDate = '2024-01-01'", "must be of type date",
     "INVALID_FIELD"},
    {"SELECT Id FROM Account WHERE LastActivityDate > 2024-01-01T00:00:00Z", "must be of type date",
     "INVALID_FIELD"},
    {"SELECT Id FROM Account WHERE CreatedDate > 2024-01-01", "must be of type dateTime",
     "INVALID_FIELD"},
    {"SELECT Id FROM Account WHERE Name = 5", "must be of type string and should be enclosed",
     "INVALID_FIELD"},
    {"SELECT Id FROM Account WHERE NumberOfEmployees = '5'", "must be of type integer",
     "INVALID_FIELD"},
    {"SELECT Id FROM Account WHERE Active__c > true", "invalid operator on boolean field",
     "INVALID_QUERY_FILTER_OPERATOR"},
    {"SELECT Id FROM Account WHERE Id = 'abc'", "invalid ID field: abc",
     "INVALID_QUERY_FILTER_OPERATOR"},
    {"SELECT Id FROM Account WHERE Id = '001D000000IRFmaZZZ'", "invalid ID field",
     "INVALID_QUERY_FILTER_OPERATOR"},
    {"SELECT Id FROM Account WHERE Name = 'a' AND Phone = 'b' OR Website = 'c'",
     "use parentheses to mix AND and OR", "MALFORMED_QUERY"},
    {"SELECT Id FROM Account WHERE Name = 'it\\qs'", "illegal escape sequence '\\q'",
     "MALFORMED_QUERY"},
    {"SELECT Id FROM Account WHERE Name = 'open", "unterminated string literal at column 37",
     "MALFORMED_QUERY"},
    {"SELECT Id FROM Account OFFSET 2001", "Maximum SOQL offset allowed is 2000",
     "NUMBER_OUTSIDE_VALID_RANGE"},
    {"SELECT Id FROM Account LIMIT -1", "unexpected token: '-1'", "MALFORMED_QUERY"},
    {"SELECT Id FROM Account WHERE Description = 'x'",
     "field 'Description' can not be filtered in a query call", "INVALID_FIELD"},
    {"SELECT Id FROM Account ORDER BY Description", "can not be sorted", "INVALID_FIELD"},
    {"SELECT Id FROM Account WHERE Name > null",
     "null can only be compared with = or !=", "MALFORMED_QUERY"},
    {"SELECT Id FROM Account WHERE CreatedDate > 2024-02-30T00:00:00Z", "invalid datetime",
     "MALFORMED_QUERY"},
    {"SELECT Id FROM Account WHERE LastActivityDate = 2023-02-29", "invalid date literal",
     "MALFORMED_QUERY"},
    {"SELECT Id FROM Account WHERE CreatedDate > 2024-01-01T10:00", "invalid datetime literal",
     "MALFORMED_QUERY"},
    {"SELECT Id, (SELECT Id FROM Contacts) FROM Account", "relationship subqueries",
     "MALFORMED_QUERY"},
    {"SELECT FIELDS(ALL) FROM Account", "function 'FIELDS'", "MALFORMED_QUERY"},
    {"SELECT Industry, COUNT(Id) FROM Account GROUP BY Industry", "Field must be grouped",
     "MALFORMED_QUERY"},
    {"SELECT COUNT(Id) FROM Account GROUP BY Industry", "does not support the GROUP clause",
     "MALFORMED_QUERY"},
    {"SELECT MAX(Active__c) FROM Account", "does not support aggregate operator MAX",
     "INVALID_FIELD"},
    {"SELECT SUM(Name) FROM Account", "does not support aggregate operator SUM", "INVALID_FIELD"},
    {"SELECT BillingAddress FROM Account", "compound field 'BillingAddress'", "INVALID_FIELD"},
    {"SELECT Id FROM Account WHERE Name LIKE 5", "must be of type string", "INVALID_FIELD"},
    {"SELECT Id FROM Account WHERE NumberOfEmployees LIKE '5'", "LIKE needs a text field",
     "INVALID_QUERY_FILTER_OPERATOR"},
    {"SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact)", "semi-join",
     "MALFORMED_QUERY"},
    {"SELECT Id FROM Account WHERE Name ! 'x'", "unexpected token: '!'", "MALFORMED_QUERY"},
    {"SELECT Id FROM Account WHERE Name = 'x' #", "unexpected character '#'", "MALFORMED_QUERY"},
    {"", "unexpected token: '<EOF>' at column 1; expected SELECT", "MALFORMED_QUERY"},
    {"SELECT Id FROM Account WHERE Name IN ()",
     "unexpected token: ')' at column 39; expected a "
     "value",
     "MALFORMED_QUERY"},
    {"SELECT FROM Account", "unexpected token: 'FROM' at column 8", "MALFORMED_QUERY"},
    {"SELECT Id, FROM Account", "unexpected token: 'FROM'", "MALFORMED_QUERY"},
    {"SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS", "needs ':n'", "MALFORMED_QUERY"},
    {"SELECT Id FROM Account WHERE Opens_At__c = 'x'", "can not be filtered", "INVALID_FIELD"},
    {"SELECT Id FROM Account WHERE Account.Parent.Name = 'x'", "relationship 'Parent'",
     "INVALID_FIELD"},
};

static void free_params(char **params, int n)
{
    for (int k = 0; k < n; k++)
        free(params[k]);
}

START_TEST(test_table)
{
    const struct row *r = &rows[_i];
    struct soql_query *q = NULL;
    char code[64], msg[512];
    int rc = soql_parse_at(r->soql, &schema, NOW_2024_03_15, &q, code, msg);
    if (r->expect_err) {
        ck_assert_msg(rc == -1, "%s: parsed, expected %s", r->soql, r->expect_err);
        ck_assert_ptr_null(q);
        ck_assert_str_eq(code, r->expect_err);
        ck_assert_msg(strstr(msg, r->sql) != NULL, "%s:\n message '%s'\n lacks '%s'", r->soql, msg,
                      r->sql);
        return;
    }
    ck_assert_msg(rc == 0, "%s: %s %s", r->soql, code, msg);
    struct sfr_buf sql = SFR_BUF_INIT;
    char *params[SOQL_MAX_PARAMS];
    int n = -1;
    ck_assert_int_eq(soql_to_sql(q, 0, NULL, -1, -1, &sql, params, &n), 0);
    ck_assert_msg(strstr(sql.data, r->sql) != NULL, "%s:\n got  %s\n want %s", r->soql, sql.data,
                  r->sql);
    /* no literal of the query reaches the SQL text */
    for (int k = 0; k < n; k++) {
        char *quoted = sfr_asprintf("'%s'", params[k]);
        ck_assert_msg(strstr(sql.data, quoted) == NULL, "literal %s spliced", quoted);
        sfr_free(quoted);
    }
    free_params(params, n);
    sfr_buf_cleanup(&sql);
    soql_free(q);
}
END_TEST

/* Parameters carry converted literals. */
struct prow {
    const char *soql;
    const char *params[3];
};

static const struct prow prows[] = {
    {"SELECT Id FROM Account WHERE Id = '001D000000IRFma'", {"001D000000IRFmaIAH"}},
    {"SELECT Id FROM Account WHERE Id = '001d000000irfmaiah'", {NULL}},
    {"SELECT Id FROM Account WHERE Id > '001D000000IRFma'", {"001D000000IRFma"}},
    {"SELECT Id FROM Account WHERE ParentId IN ('003RO0000035WQg','a00D0000008pQR5')",
     {"{\"003RO0000035WQgYAM\",\"a00D0000008pQR5IAM\"}"}},
    {"SELECT Id FROM Account WHERE Name IN ('a\"b', 'c\\\\d')", {"{\"a\\\"b\",\"c\\\\d\"}"}},
    {"SELECT Id FROM Account WHERE Name = 'O\\'Brien\\n\\t\\\"\\\\'", {"O'Brien\n\t\"\\"}},
    {"SELECT Id FROM Account WHERE Name LIKE '50\\% off_%\\\\'", {"50\\% off_%\\\\"}},
    {"SELECT Id FROM Account WHERE Name LIKE 'a\\_b'", {"a\\_b"}},
    {"SELECT Id FROM Account WHERE SystemModstamp > 2024-01-31T10:00:00Z",
     {"2024-01-31 10:00:00.000"}},
    {"SELECT Id FROM Account WHERE SystemModstamp > 2024-01-31T10:00:00.5+01:00",
     {"2024-01-31 09:00:00.500"}},
    {"SELECT Id FROM Account WHERE SystemModstamp > 2024-01-01T00:30:00.123-0130",
     {"2024-01-01 02:00:00.123"}},
    {"SELECT Id FROM Account WHERE SystemModstamp > 2024-01-01T00:30:00+0100",
     {"2023-12-31 23:30:00.000"}},
    {"SELECT Id FROM Account WHERE AnnualRevenue = +12.50", {"12.50"}},
    {"SELECT Id FROM Account WHERE Active__c = False", {"false"}},
    {"SELECT Id FROM Account WHERE LastActivityDate = TODAY", {"2024-03-15", "2024-03-16"}},
    {"SELECT Id FROM Account WHERE LastActivityDate = YESTERDAY", {"2024-03-14", "2024-03-15"}},
    {"SELECT Id FROM Account WHERE LastActivityDate = THIS_WEEK", {"2024-03-10", "2024-03-17"}},
    {"SELECT Id FROM Account WHERE LastActivityDate = LAST_MONTH", {"2024-02-01", "2024-03-01"}},
    {"SELECT Id FROM Account WHERE LastActivityDate = NEXT_YEAR", {"2025-01-01", "2026-01-01"}},
    {"SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS:7", {"2024-03-08", "2024-03-16"}},
    {"SELECT Id FROM Account WHERE CreatedDate = N_DAYS_AGO:15", {"2024-02-29", "2024-03-01"}},
};

START_TEST(test_params)
{
    const struct prow *r = &prows[_i];
    struct soql_query *q = NULL;
    char code[64], msg[512];
    int rc = soql_parse_at(r->soql, &schema, NOW_2024_03_15, &q, code, msg);
    if (r->params[0] == NULL) { /* 18 characters with a lowercase suffix is not a valid Id */
        ck_assert_int_eq(rc, -1);
        ck_assert_str_eq(code, "INVALID_QUERY_FILTER_OPERATOR");
        return;
    }
    ck_assert_msg(rc == 0, "%s: %s", r->soql, msg);
    struct sfr_buf sql = SFR_BUF_INIT;
    char *params[SOQL_MAX_PARAMS];
    int n = 0, want = 0;
    ck_assert_int_eq(soql_to_sql(q, 1, NULL, -1, -1, &sql, params, &n), 0);
    while (want < 3 && r->params[want])
        want++;
    ck_assert_int_eq(n, want);
    for (int k = 0; k < n; k++)
        ck_assert_str_eq(params[k], r->params[k]);
    free_params(params, n);
    sfr_buf_cleanup(&sql);
    soql_free(q);
}
END_TEST

START_TEST(test_columns)
{
    struct soql_query *q = NULL;
    char code[64], msg[512];
    ck_assert_int_eq(soql_parse("SELECT id, name, ACTIVE__C, annualrevenue, CreatedDate FROM "
                                "account LIMIT 7",
                                &schema, &q, code, msg),
                     0);
    ck_assert_ptr_eq(soql_object(q), &objects[0]);
    ck_assert_int_eq(soql_ncols(q), 5);
    ck_assert_str_eq(soql_col_name(q, 0), "Id");
    ck_assert_str_eq(soql_col_name(q, 2), "Active__c");
    ck_assert_ptr_eq(soql_col_field(q, 3), &account_fields[9]);
    ck_assert_int_eq(soql_col_kind(q, 0), SOQL_JSON_STRING);
    ck_assert_int_eq(soql_col_kind(q, 2), SOQL_JSON_BOOL);
    ck_assert_int_eq(soql_col_kind(q, 3), SOQL_JSON_NUMBER);
    ck_assert_int_eq(soql_col_kind(q, 4), SOQL_JSON_STRING);
    ck_assert_int_eq(soql_limit(q), 7);
    ck_assert(soql_orders_by_id(q));
    ck_assert(!soql_is_aggregate(q) && !soql_is_count_only(q));
    soql_free(q);

    ck_assert_int_eq(soql_parse("SELECT COUNT(Id) n, MAX(SystemModstamp), MIN(Name) FROM Account",
                                &schema, &q, code, msg),
                     0);
    ck_assert(soql_is_aggregate(q));
    ck_assert(!soql_orders_by_id(q));
    ck_assert_str_eq(soql_col_name(q, 0), "n");
    ck_assert_str_eq(soql_col_name(q, 1), "expr0");
    ck_assert_str_eq(soql_col_name(q, 2), "expr1");
    ck_assert_ptr_null(soql_col_field(q, 0));
    ck_assert_int_eq(soql_col_kind(q, 0), SOQL_JSON_NUMBER);
    ck_assert_int_eq(soql_col_kind(q, 1), SOQL_JSON_STRING);
    ck_assert_int_eq(soql_limit(q), -1);
    soql_free(q);

    ck_assert_int_eq(soql_parse("SELECT COUNT() FROM Account", &schema, &q, code, msg), 0);
    ck_assert(soql_is_count_only(q));
    ck_assert_int_eq(soql_ncols(q), 0);
    soql_free(q);

    ck_assert_int_eq(soql_parse("SELECT Id FROM Account ORDER BY Name", &schema, &q, code, msg), 0);
    ck_assert(!soql_orders_by_id(q));
    soql_free(q);
    ck_assert_int_eq(soql_parse("SELECT Id FROM Account ORDER BY Id DESC", &schema, &q, code, msg),
                     0);
    ck_assert(!soql_orders_by_id(q));
    soql_free(q);
    ck_assert_int_eq(
        soql_parse("SELECT Id FROM Account ORDER BY Account.Id ASC", &schema, &q, code, msg), 0);
    ck_assert(soql_orders_by_id(q));
    soql_free(q);
}
END_TEST

/* include_deleted, after_id, page_limit and offset against the query's LIMIT/OFFSET. */
struct pg_row {
    const char *soql;
    int include_deleted;
    const char *after_id;
    long page_limit, offset;
    const char *tail; /* expected end of the SQL */
};

static const struct pg_row paging[] = {
    {"SELECT Id FROM Account", 1, NULL, 2000, -1,
     "FROM sfemu.\"account\" ORDER BY \"id\" COLLATE \"C\" ASC LIMIT 2000"},
    {"SELECT Id FROM Account WHERE Name = 'x'", 0, "001D000000IRFmaIAH", 2000, -1,
     "AND NOT \"isdeleted\" AND \"id\" > $2::text COLLATE \"C\" ORDER BY \"id\" COLLATE \"C\" ASC "
     "LIMIT 2000"},
    {"SELECT Id FROM Account LIMIT 5000", 0, NULL, 2000, 4000,
     "ORDER BY \"id\" COLLATE \"C\" ASC LIMIT 1000 OFFSET 4000"},
    {"SELECT Id FROM Account LIMIT 100 OFFSET 10", 0, NULL, 2000, -1, "LIMIT 100 OFFSET 10"},
    {"SELECT Id FROM Account LIMIT 100 OFFSET 10", 0, NULL, 50, 50, "LIMIT 50 OFFSET 60"},
    {"SELECT Id FROM Account LIMIT 100 OFFSET 10", 0, "001D000000IRFmaIAH", 50, -1, "ASC LIMIT 50"},
    {"SELECT Id FROM Account LIMIT 3", 0, NULL, -1, 5, "ASC LIMIT 0 OFFSET 5"},
    {"SELECT Id FROM Account ORDER BY Name", 0, NULL, -1, 2000,
     "\"id\" COLLATE \"C\" ASC OFFSET 2000"},
    {"SELECT COUNT(Id) FROM Account", 1, "001D000000IRFmaIAH", 2000, 0, "FROM sfemu.\"account\""},
};

START_TEST(test_paging)
{
    const struct pg_row *r = &paging[_i];
    struct soql_query *q = NULL;
    char code[64], msg[512], *params[SOQL_MAX_PARAMS];
    ck_assert_int_eq(soql_parse(r->soql, &schema, &q, code, msg), 0);
    struct sfr_buf sql = SFR_BUF_INIT;
    sfr_buf_puts(&sql, "left over");
    int n = 0;
    ck_assert_int_eq(
        soql_to_sql(q, r->include_deleted, r->after_id, r->page_limit, r->offset, &sql, params, &n),
        0);
    size_t tl = strlen(r->tail);
    ck_assert_msg(sql.len >= tl && strcmp(sql.data + sql.len - tl, r->tail) == 0,
                  "%s:\n got  %s\n want ...%s", r->soql, sql.data, r->tail);
    ck_assert(strncmp(sql.data, "SELECT ", 7) == 0);
    if (r->after_id && !soql_is_aggregate(q))
        ck_assert_str_eq(params[n - 1], r->after_id);
    free_params(params, n);
    sfr_buf_cleanup(&sql);
    soql_free(q);
}
END_TEST

/* soql_count_sql: the rows soql_to_sql would return, without formatting or sorting. */
START_TEST(test_count_sql)
{
    struct soql_query *q = NULL;
    char code[64], msg[512], *params[SOQL_MAX_PARAMS];
    ck_assert_int_eq(soql_parse("SELECT Id, Name FROM Account WHERE Name = 'a' ORDER BY Name "
                                "LIMIT 5 OFFSET 2",
                                &schema, &q, code, msg),
                     0);
    struct sfr_buf sql = SFR_BUF_INIT;
    int n = 0;
    ck_assert_int_eq(soql_count_sql(q, 1, &sql, params, &n), 0);
    ck_assert_str_eq(sql.data, "SELECT count(*)::text FROM (SELECT 1 FROM sfemu.\"account\" WHERE "
                               "lower(\"name\" COLLATE \"default\") = lower($1::text COLLATE "
                               "\"default\") LIMIT 5 OFFSET 2) AS s");
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(params[0], "a");
    free_params(params, n);
    soql_free(q);
    ck_assert_int_eq(soql_parse("SELECT Id FROM Account", &schema, &q, code, msg), 0);
    ck_assert_int_eq(soql_count_sql(q, 0, &sql, params, &n), 0);
    ck_assert_str_eq(sql.data,
                     "SELECT count(*)::text FROM sfemu.\"account\" WHERE NOT \"isdeleted\"");
    ck_assert_int_eq(n, 0);
    soql_free(q);
    sfr_buf_cleanup(&sql);
}
END_TEST

/* Parameter cap: too many literals is a parse error; 255 fit with room for after_id. */
START_TEST(test_param_cap)
{
    struct sfr_buf s = SFR_BUF_INIT;
    sfr_buf_puts(&s, "SELECT Id FROM Account WHERE Name = 'a'");
    for (int k = 1; k < 255; k++)
        sfr_buf_printf(&s, " AND Name = 'a%d'", k);
    struct soql_query *q = NULL;
    char code[64], msg[512], *params[SOQL_MAX_PARAMS];
    ck_assert_int_eq(soql_parse(s.data, &schema, &q, code, msg), 0);
    struct sfr_buf sql = SFR_BUF_INIT;
    int n = 0;
    ck_assert_int_eq(soql_to_sql(q, 0, "001D000000IRFmaIAH", 10, -1, &sql, params, &n), 0);
    ck_assert_int_eq(n, 256);
    free_params(params, n);
    soql_free(q);
    sfr_buf_puts(&s, " AND Name = 'one too many'");
    ck_assert_int_eq(soql_parse(s.data, &schema, &q, code, msg), -1);
    ck_assert_str_eq(code, "MALFORMED_QUERY");
    ck_assert(strstr(msg, "too many literals") != NULL);
    /* deep nesting is refused, not a stack overflow */
    sfr_buf_reset(&s);
    sfr_buf_puts(&s, "SELECT Id FROM Account WHERE ");
    for (int k = 0; k < 5000; k++)
        sfr_buf_puts(&s, "NOT (");
    ck_assert_int_eq(soql_parse(s.data, &schema, &q, code, msg), -1);
    ck_assert(strstr(msg, "nested too deeply") != NULL);
    sfr_buf_cleanup(&s);
    sfr_buf_cleanup(&sql);
}
END_TEST

/* Every prefix of every table query, and each with one byte replaced, parses
 * or fails with an errorCode and a message: no crash, no leak (ASan build). */
START_TEST(test_prefixes)
{
    static const char swaps[] = "'(),.:=<>!\\ a9-T";
    const char *text = rows[_i].soql;
    size_t len = strlen(text);
    char *buf = sfr_malloc(len + 1);
    for (size_t cut = 0; cut <= len; cut++) {
        for (size_t sw = 0; sw <= sizeof swaps - 1; sw++) {
            memcpy(buf, text, len + 1);
            buf[cut] = '\0';
            if (sw < sizeof swaps - 1 && cut < len) {
                memcpy(buf, text, len + 1);
                buf[cut] = swaps[sw];
            }
            struct soql_query *q = NULL;
            char code[64], msg[512], *params[SOQL_MAX_PARAMS];
            int rc = soql_parse_at(buf, &schema, NOW_2024_03_15, &q, code, msg);
            if (rc == 0) {
                struct sfr_buf sql = SFR_BUF_INIT;
                int n = 0;
                ck_assert_int_eq(soql_to_sql(q, 0, "001D000000IRFmaIAH", 200, 10, &sql, params, &n),
                                 0);
                free_params(params, n);
                sfr_buf_cleanup(&sql);
                soql_free(q);
            } else {
                ck_assert_int_eq(rc, -1);
                ck_assert_ptr_null(q);
                ck_assert_msg(code[0] && msg[0], "%s: no error details", buf);
            }
        }
    }
    sfr_free(buf);
}
END_TEST

/* ---- optional: run every generated statement against Postgres ---------------------------- */

static const char *pg_type(const struct sfr_field *f)
{
    switch (field_class(f)) {
    case FC_BOOL:
        return "boolean";
    case FC_NUM:
        return f->type == SFR_FT_INT    ? "integer"
               : f->type == SFR_FT_LONG ? "bigint"
                                        : "double precision";
    case FC_DATE:
        return "date";
    case FC_DATETIME:
        return "timestamp(3)";
    case FC_TIME:
        return "time(3)";
    default:
        return "text COLLATE \"C\"";
    }
}

static PGconn *pg_setup(void)
{
    PGconn *c = PQconnectdb(getenv("SOQL_TEST_PGURL"));
    ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
    struct sfr_buf ddl = SFR_BUF_INIT;
    sfr_buf_puts(&ddl, "SET client_min_messages = warning; DROP SCHEMA IF EXISTS sfemu CASCADE; "
                       "CREATE SCHEMA sfemu;");
    for (int o = 0; o < schema.n_objects; o++) {
        sfr_buf_printf(&ddl, "CREATE TABLE sfemu.\"%s\" (", objects[o].table);
        for (int k = 0; k < objects[o].n_fields; k++)
            if (field_class(&objects[o].fields[k]) != FC_COMPOUND)
                sfr_buf_printf(&ddl, "%s%s %s%s", k ? ", " : "", objects[o].fields[k].column,
                               pg_type(&objects[o].fields[k]), k ? "" : " PRIMARY KEY");
        sfr_buf_puts(&ddl, ");");
    }
    sfr_buf_puts(&ddl,
                 "INSERT INTO sfemu.account (id, isdeleted, name, industry, annualrevenue, "
                 "score__c, share__c, numberofemployees, active__c, createddate, lastactivitydate,"
                 " opens_at__c) VALUES "
                 "('001D000000IRFmaIAH', false, 'Acme', 'Tech', 786000, 0.5, 1e20, 5, true, "
                 "'2024-03-15 10:00:00.123', '2024-03-15', '10:00:01.5'), "
                 "('001D000000IRFmbIAH', false, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
                 "NULL, NULL), "
                 "('001D000000IRFmcIAH', true, 'Émile', 'Retail', -2.25, -0.0, 1e-5, -1, false, "
                 "'2020-01-01', '2020-01-01', '00:00');");
    PGresult *r = PQexec(c, ddl.data);
    ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s", PQresultErrorMessage(r));
    PQclear(r);
    sfr_buf_cleanup(&ddl);
    return c;
}

static PGresult *pg_run(PGconn *c, const char *soql, int include_deleted)
{
    struct soql_query *q = NULL;
    char code[64], msg[512], *params[SOQL_MAX_PARAMS];
    ck_assert_msg(soql_parse_at(soql, &schema, NOW_2024_03_15, &q, code, msg) == 0, "%s", msg);
    struct sfr_buf sql = SFR_BUF_INIT;
    int n = 0;
    ck_assert_int_eq(soql_to_sql(q, include_deleted, NULL, 2000, -1, &sql, params, &n), 0);
    PGresult *r = PQexecParams(c, sql.data, n, NULL, (const char *const *)params, NULL, NULL, 0);
    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s\n%s\n%s", soql, sql.data,
                  PQresultErrorMessage(r));
    free_params(params, n);
    sfr_buf_cleanup(&sql);
    soql_free(q);
    return r;
}

START_TEST(test_pg_table)
{
    if (rows[_i].expect_err)
        return;
    PGconn *c = pg_setup();
    PQclear(pg_run(c, rows[_i].soql, 0));
    PQfinish(c);
}
END_TEST

/* Results on known rows: wire text and SOQL semantics (case, nulls, deleted). */
struct pg_expect {
    const char *soql;
    int include_deleted;
    const char *first; /* first column of each row, joined by '|' ("~" for NULL) */
};

static const struct pg_expect pg_rows[] = {
    {"SELECT AnnualRevenue FROM Account", 1, "786000.0|~|-2.25"},
    {"SELECT Score__c FROM Account", 1, "0.5|~|0.0"},
    {"SELECT Share__c FROM Account", 1, "1e+20|~|1e-05"},
    {"SELECT CreatedDate FROM Account", 1,
     "2024-03-15T10:00:00.123+0000|~|2020-01-01T00:00:00.000+0000"},
    {"SELECT LastActivityDate FROM Account", 1, "2024-03-15|~|2020-01-01"},
    {"SELECT Opens_At__c FROM Account", 1, "10:00:01.500Z|~|00:00:00.000Z"},
    {"SELECT Active__c FROM Account", 1, "true|~|false"},
    {"SELECT Name FROM Account", 0, "Acme|~"},
    {"SELECT Name FROM Account WHERE Name = 'ACME'", 0, "Acme"},
    {"SELECT Name FROM Account WHERE Name != 'acme'", 1, "~|Émile"},
    {"SELECT Name FROM Account WHERE NOT Name = 'acme'", 1, "~|Émile"},
    {"SELECT Name FROM Account WHERE Industry NOT IN ('TECH')", 1, "~|Émile"},
    {"SELECT Name FROM Account WHERE Industry IN ('TECH', null)", 1, "Acme|~"},
    {"SELECT Name FROM Account WHERE Name LIKE 'a%'", 1, "Acme"},
    {"SELECT Name FROM Account WHERE Name LIKE 'é%'", 1, "Émile"},
    {"SELECT Name FROM Account WHERE Name = 'ÉMILE'", 1, "Émile"},
    {"SELECT Name FROM Account WHERE Name IN ('émile')", 1, "Émile"},
    {"SELECT Name FROM Account WHERE Name LIKE 'a\\%'", 1, ""},
    {"SELECT Id FROM Account WHERE Id = '001D000000IRFmb'", 1, "001D000000IRFmbIAH"},
    {"SELECT Id FROM Account WHERE Id > '001D000000IRFmb'", 1,
     "001D000000IRFmbIAH|001D000000IRFmcIAH"},
    {"SELECT Name FROM Account WHERE CreatedDate = TODAY", 1, "Acme"},
    {"SELECT Name FROM Account WHERE CreatedDate > 2024-03-15T11:00:00.122+01:00", 1, "Acme"},
    {"SELECT Name FROM Account WHERE CreatedDate > 2024-03-15T11:00:00.123+01:00", 1, ""},
    {"SELECT Name FROM Account ORDER BY Name DESC", 1, "Émile|Acme|~"},
    {"SELECT Name FROM Account ORDER BY Name", 1, "~|Acme|Émile"},
    {"SELECT COUNT() FROM Account", 0, "2"},
    {"SELECT COUNT() FROM Account LIMIT 1", 1, "1"},
    {"SELECT COUNT(Name), MAX(CreatedDate) FROM Account", 1, "2"},
    {"SELECT MAX(CreatedDate) FROM Account", 1, "2024-03-15T10:00:00.123+0000"},
    {"SELECT SUM(NumberOfEmployees) FROM Account", 1, "4"},
    {"SELECT AVG(NumberOfEmployees) FROM Account", 1, "2.0"},
    {"SELECT SUM(AnnualRevenue) FROM Account", 1, "785997.75"},
};

START_TEST(test_pg_results)
{
    const struct pg_expect *e = &pg_rows[_i];
    PGconn *c = pg_setup();
    PGresult *r = pg_run(c, e->soql, e->include_deleted);
    struct sfr_buf got = SFR_BUF_INIT;
    sfr_buf_puts(&got, "");
    for (int k = 0; k < PQntuples(r); k++)
        sfr_buf_printf(&got, "%s%s", k ? "|" : "",
                       PQgetisnull(r, k, 0) ? "~" : PQgetvalue(r, k, 0));
    ck_assert_msg(strcmp(got.data, e->first) == 0, "%s: got %s want %s", e->soql, got.data,
                  e->first);
    sfr_buf_cleanup(&got);
    PQclear(r);
    PQfinish(c);
}
END_TEST

#define N(a) ((int)(sizeof a / sizeof *a))

Suite *soql_suite(void)
{
    Suite *s = suite_create("soql");
    TCase *tc = tcase_create("parse");
    tcase_add_loop_test(tc, test_table, 0, N(rows));
    tcase_add_loop_test(tc, test_params, 0, N(prows));
    tcase_add_loop_test(tc, test_paging, 0, N(paging));
    tcase_add_test(tc, test_columns);
    tcase_add_test(tc, test_param_cap);
    tcase_add_test(tc, test_count_sql);
    tcase_add_loop_test(tc, test_prefixes, 0, N(rows));
    suite_add_tcase(s, tc);
    if (getenv("SOQL_TEST_PGURL")) {
        TCase *pg = tcase_create("postgres");
        tcase_set_timeout(pg, 60);
        tcase_add_loop_test(pg, test_pg_table, 0, N(rows));
        tcase_add_loop_test(pg, test_pg_results, 0, N(pg_rows));
        suite_add_tcase(s, pg);
    }
    return s;
}
