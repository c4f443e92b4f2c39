/* soql.c — fuzz target for sfemu's SOQL parser and its translation to SQL
 * (tests/sfemu/soql.c, soql_lex.c, soql_sql.c; compiled in directly, as the unit test
 * does), over the unit test's schema (a field of every type). An accepted query is
 * translated in every mode the emulator uses (first page, later pages after
 * an Id, counts, queryAll); a rejected one must name a Salesforce errorCode
 * and carry a message. */
#include "fuzz.h"

#include "../sfemu/soql.c"
#include "../sfemu/soql_lex.c"
#include "../sfemu/soql_sql.c"

#include "../unit/soql_schema.h"

static void translate(const struct soql_query *q, int all, const char *after, long limit,
                      long offset)
{
    struct sfr_buf sql = SFR_BUF_INIT;
    char *params[SOQL_MAX_PARAMS];
    int n = 0;
    if (soql_to_sql(q, all, after, limit, offset, &sql, params, &n) == 0) {
        FUZZ_ASSERT(sql.data != NULL && strncmp(sql.data, "SELECT ", 7) == 0);
        FUZZ_ASSERT(n >= 0 && n <= SOQL_MAX_PARAMS);
        for (int i = 0; i < n; i++)
            free(params[i]);
    }
    n = 0;
    if (soql_count_sql(q, all, &sql, params, &n) == 0)
        for (int i = 0; i < n; i++)
            free(params[i]);
    sfr_buf_cleanup(&sql);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size);
    struct soql_query *q = NULL;
    char code[64] = "", msg[512] = "";
    if (soql_parse_at(text, &schema, 1710504000, &q, code, msg) != 0) {
        FUZZ_ASSERT(q == NULL && code[0] != '\0' && msg[0] != '\0');
        free(text);
        return 0;
    }
    FUZZ_ASSERT(q != NULL && soql_object(q) != NULL);
    for (int i = 0; i < soql_ncols(q); i++) {
        FUZZ_ASSERT(soql_col_name(q, i) != NULL);
        (void)soql_col_field(q, i);
        (void)soql_col_kind(q, i);
    }
    (void)soql_is_count_only(q);
    (void)soql_is_aggregate(q);
    FUZZ_ASSERT(soql_limit(q) >= -1 && soql_offset(q) >= 0);
    translate(q, 0, NULL, -1, -1);
    translate(q, 1, NULL, 2000, 0);
    if (soql_orders_by_id(q))
        translate(q, 0, "001000000000001AAA", 200, -1);
    soql_free(q);
    free(text);
    return 0;
}
