/* soql.h — the SOQL subset sfemu understands, parsed against the org schema
 * and translated to one SQL statement over the emulator's store.
 *
 * Store layout (owned by the server): schema sfemu, table sfemu."<lowercase
 * object name>", one column per describe field named by its lowercase API name,
 * text-like types as text COLLATE "C", `id` primary key, `isdeleted` boolean.
 *
 * Invariants of the generated SQL: every literal of the query is a $n
 * parameter (passed as text, cast in the SQL); identifiers come only from the
 * schema and are double-quoted; every selected column is already Salesforce
 * wire text (or NULL). The supported subset is listed in docs/soql.md. */
#ifndef SFEMU_SOQL_H
#define SFEMU_SOQL_H

#include <time.h>
#include "sfrecon/mem.h"
#include "sfrecon/schema.h"

#define SOQL_MAX_PARAMS 256
#define SOQL_MAX_OFFSET 2000

struct soql_query; /* opaque */

enum soql_json_kind { SOQL_JSON_STRING, SOQL_JSON_NUMBER, SOQL_JSON_BOOL };

/* Parses text against the schema (borrowed; it must outlive *out). Returns 0
 * and a query (free with soql_free) or -1 with errcode set to a Salesforce
 * errorCode (MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE, and for the
 * matching cases INVALID_QUERY_FILTER_OPERATOR or NUMBER_OUTSIDE_VALID_RANGE)
 * and msg to a message naming the token, field or object and its column. Date
 * literals (TODAY, LAST_N_DAYS:n, ...) are relative to the current UTC time. */
int soql_parse(const char *text, const struct sfr_schema *schema, struct soql_query **out,
               char errcode[64], char msg[512]);
/* Same, with date literals relative to `now` (the emulator's settable clock). */
int soql_parse_at(const char *text, const struct sfr_schema *schema, time_t now,
                  struct soql_query **out, char errcode[64], char msg[512]);
void soql_free(struct soql_query *q); /* NULL is a no-op */

const struct sfr_object *soql_object(const struct soql_query *q);
int soql_is_count_only(const struct soql_query *q); /* SELECT COUNT() FROM ... */
int soql_is_aggregate(const struct soql_query *q);  /* COUNT(f)/MAX/MIN/SUM/AVG items */
/* Number of result columns (the trailing raw id column not counted); 0 for COUNT(). */
int soql_ncols(const struct soql_query *q);
/* JSON key: the field API name as spelled in describe, or exprN / the alias. Borrowed. */
const char *soql_col_name(const struct soql_query *q, int i);
/* The selected field; for MAX/MIN/SUM/AVG the aggregated field; NULL for COUNT items. */
const struct sfr_field *soql_col_field(const struct soql_query *q, int i);
enum soql_json_kind soql_col_kind(const struct soql_query *q, int i);
long soql_limit(const struct soql_query *q);  /* the query's LIMIT, -1 none */
long soql_offset(const struct soql_query *q); /* the query's OFFSET, 0 none */
/* True for a non-aggregate query ordered by Id ASC only, or with no ORDER BY
 * (then Id order is used): paging by `id > last` is possible. */
int soql_orders_by_id(const struct soql_query *q);

/* Builds the SQL into sql (reset first) and its parameters into params[]
 * (room for SOQL_MAX_PARAMS; each malloc'd, caller frees with free()).
 *
 * Non-aggregate: SELECT <wire text per column>, "id" FROM ... WHERE <where>
 * [AND NOT "isdeleted" unless include_deleted] [AND "id" > after_id] ORDER BY
 * <order, then "id"> LIMIT/OFFSET. Aggregate: one row of wire text, no id.
 * COUNT(): one column, the count as text (the query's LIMIT/OFFSET apply).
 *
 * page_limit >= 0 limits the page to min(page_limit, LIMIT - offset). offset
 * >= 0 skips that many rows after the query's own OFFSET. With after_id (for
 * the pages after the first of a soql_orders_by_id query) the query's OFFSET
 * is not applied again and page_limit must already account for the rows
 * delivered. Returns 0, or -1 when the query needs more than SOQL_MAX_PARAMS
 * parameters (nothing allocated then). */
int soql_to_sql(const struct soql_query *q, int include_deleted, const char *after_id,
                long page_limit, long offset, struct sfr_buf *sql, char **params, int *nparams);
/* The number of rows the query returns (its WHERE, LIMIT and OFFSET; aggregates
 * count their input rows), as one text column; cheaper than counting the rows
 * of soql_to_sql since nothing is formatted or sorted. Same parameters and
 * result as soql_to_sql. */
int soql_count_sql(const struct soql_query *q, int include_deleted, struct sfr_buf *sql,
                   char **params, int *nparams);

#endif
