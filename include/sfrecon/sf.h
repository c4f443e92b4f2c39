/* sf.h — the Salesforce REST client (docs/salesforce.md): auth from the
 * environment, one kept-alive HTTP connection with retries, API-call
 * accounting and budget, describe cache, REST query/queryAll with streaming
 * record parsing, aggregate queries, Bulk API 2.0 query with streaming CSV,
 * sObject Collections writes, /updated and /deleted.
 *
 * Threads: a struct sfr_sf is NOT thread-safe. Use one client per job/thread;
 * sfr_sf_clone() makes another client with the same credentials, token and
 * shared per-run budget (the budget counter is the only shared, atomic state).
 *
 * Values: records are handed out as Salesforce text (strings as is, numbers
 * as their JSON text, booleans "true"/"false", NULL = null), NUL-terminated,
 * borrowed: they die when the callback returns.
 *
 * Errors: SFR_ECONFIG (missing/invalid environment), SFR_EAUTH (token refused),
 * SFR_ELIMIT (REQUEST_LIMIT_EXCEEDED or budget spent; never retried), SFR_ESF
 * (an API error: errorCode in err->sf_code, status in err->http_status),
 * SFR_EHTTP (transport failure after retries). Tokens and secrets are never
 * logged or put into error messages. */
#ifndef SFRECON_SF_H
#define SFRECON_SF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "sfrecon/err.h"
#include "sfrecon/mem.h"
#include "sfrecon/schema.h"

struct sfr_sf;
struct sfr_side;

/* ---- API-call accounting ------------------------------------------------ */

/* Calls per (object, phase). Object "" = calls not tied to an object. */
struct sfr_sf_call_count {
    char object[80];
    char phase[24];
    long n;
};
struct sfr_sf_calls {
    struct sfr_sf_call_count *v;
    int n, cap;
    long total;
};
void sfr_sf_calls_init(struct sfr_sf_calls *c);
void sfr_sf_calls_cleanup(struct sfr_sf_calls *c);
void sfr_sf_calls_count(struct sfr_sf_calls *c, const char *object, const char *phase, long n);
/* Adds every count of src into dst (to merge the clients of several jobs). */
void sfr_sf_calls_add(struct sfr_sf_calls *dst, const struct sfr_sf_calls *src);
/* One line: "api calls: 42 (Account: audit 30, repair 12; Contact: audit 5)\n". */
void sfr_sf_calls_print(const struct sfr_sf_calls *c, FILE *out);
/* The client's own counts (borrowed, lives as long as the client). */
const struct sfr_sf_calls *sfr_sf_get_calls(const struct sfr_sf *c);

/* ---- client ------------------------------------------------------------- */

/* Creates a client from the environment:
 *   SF_INSTANCE_URL + SF_ACCESS_TOKEN, and/or
 *   SF_LOGIN_URL + SF_CLIENT_ID + SF_CLIENT_SECRET (client_credentials)
 *     [+ SF_USERNAME + SF_PASSWORD: password flow].
 * With login credentials the client (re)authenticates on first use and once
 * on a 401 INVALID_SESSION_ID. API version: SF_API_VERSION, else api_version,
 * else "60.0". Tuning: SF_RETRY_BASE_MS (backoff base, default 200),
 * SF_BULK_POLL_MS (first Bulk poll interval, default 100), SF_BULK_STREAMS
 * (result pages of a Bulk job read at once, default 4). No network I/O
 * happens here. SFR_ECONFIG names the missing variable. Caller frees. */
enum sfr_rc sfr_sf_from_env(const char *api_version, struct sfr_sf **out,
                            struct sfr_err *err) SFR_WUR;
/* A new client (own connection, own call counts) sharing c's credentials,
 * current token and budget. Caller frees. */
enum sfr_rc sfr_sf_clone(const struct sfr_sf *c, struct sfr_sf **out, struct sfr_err *err) SFR_WUR;
void sfr_sf_free(struct sfr_sf *c);

/* Per-run budget of API calls (0 = none), shared with clones. A call that
 * would exceed it fails with SFR_ELIMIT before anything is sent. */
void sfr_sf_set_budget(struct sfr_sf *c, long max_calls);
/* Daily API budget (a mapping's sf_max_daily_api_calls): calls counted
 * under `object` (NULL: calls tied to no object) are refused with SFR_ELIMIT
 * once Salesforce's own count of the org's calls today reaches max_daily
 * (0 = no cap). The count is read from GET /limits (DailyApiRequests: Max -
 * Remaining) before the first capped call, then from the Sforce-Limit-Info
 * header of every answer; while calls are refused it is read again at most
 * every SF_USAGE_REREAD_S seconds (default 300; Salesforce's count is over
 * the last 24 hours). Calls of the "describe" phase are held to the
 * no-object cap only. Clones keep the caps. */
void sfr_sf_set_daily_cap(struct sfr_sf *c, const char *object, long max_daily);
/* Calls left today under the cap of `object` (LONG_MAX without a cap); reads
 * /limits when the count is unknown or refused calls made it stale. */
long sfr_sf_daily_room(struct sfr_sf *c, const char *object);
/* Reads the org's usage now (GET /limits): *used, *max (DailyApiRequests). */
enum sfr_rc sfr_sf_read_usage(struct sfr_sf *c, long *used, long *max, struct sfr_err *err) SFR_WUR;
/* API calls made by this client (the token call is not counted). */
long sfr_sf_api_calls(const struct sfr_sf *c);
/* Now on Salesforce's clock (its responses' Date header, advanced by the
 * host's clock since); the host's clock before any response. */
int64_t sfr_sf_server_now_ms(const struct sfr_sf *c);
/* Calls made through the budget shared by c and its clones. */
long sfr_sf_budget_used(const struct sfr_sf *c);
/* Phase name the following calls are counted under ("audit", "repair"...). */
void sfr_sf_set_phase(struct sfr_sf *c, const char *phase);
void sfr_sf_print_calls(const struct sfr_sf *c, FILE *out);
/* Last Sforce-Limit-Info api-usage seen. False (and -1s) before any. */
bool sfr_sf_limit_info(const struct sfr_sf *c, long *used, long *max);
/* Records per Bulk API 2.0 results page (maxRecords), default 500000: fewer,
 * larger pages cost fewer API calls and are much faster to serve (records
 * stream through, so memory does not grow with the page). */
void sfr_sf_set_bulk_page(struct sfr_sf *c, long max_records);
/* Result pages of one Bulk API 2.0 query read at once by
 * sfr_sf_bulk_query_parallel (1..SFR_SF_MAX_STREAMS; clones keep it). */
#define SFR_SF_BULK_STREAMS 4
#define SFR_SF_MAX_STREAMS  16
void sfr_sf_set_bulk_streams(struct sfr_sf *c, int streams);
int sfr_sf_bulk_streams(const struct sfr_sf *c);
const char *sfr_sf_api_version(const struct sfr_sf *c);
/* The instance URL in use (from SF_INSTANCE_URL or the token response), no
 * trailing slash; NULL before the first login. For record links in reports. */
const char *sfr_sf_instance_url(const struct sfr_sf *c);

/* A raw JSON call: method "GET"/"POST"/"PATCH"/"DELETE", path under the
 * instance ("/services/data/v60.0/limits") or absolute URL; body may be NULL.
 * The 2xx body (capped at 64 MB) is appended to resp. `object` names what the
 * call is counted under (may be NULL). */
enum sfr_rc sfr_sf_request(struct sfr_sf *c, const char *method, const char *path, const char *body,
                           const char *object, struct sfr_buf *resp, long *http_status,
                           struct sfr_err *err) SFR_WUR;

/* ---- describe ----------------------------------------------------------- */

/* Describe of one object, cached per client. *out is borrowed (lives as long
 * as the client). SFR_ENOTFOUND when the object does not exist. */
enum sfr_rc sfr_sf_describe(struct sfr_sf *c, const char *name, const struct sfr_object **out,
                            struct sfr_err *err) SFR_WUR;
/* Describes the named objects into a fresh schema (caller cleans up). */
enum sfr_rc sfr_sf_schema(struct sfr_sf *c, const char *const *names, int n_names,
                          struct sfr_schema *out, struct sfr_err *err) SFR_WUR;

/* ---- SOQL --------------------------------------------------------------- */

/* Appends s with \ ' " and newline, CR, tab backslash-escaped (no quotes). */
void sfr_soql_escape(struct sfr_buf *out, const char *s);
/* Appends 'escaped s'. */
void sfr_soql_quote(struct sfr_buf *out, const char *s);
/* True for a plain API name (letters, digits, '_', and '.' between them). */
bool sfr_soql_name_ok(const char *name);

/* A record: values[i] belongs to fields[i] of the call (NULL = null).
 * Return 0 to go on, non-zero to stop (the call then returns SFR_OK). */
typedef int (*sfr_sf_row_cb)(void *ctx, const char *const *values, const size_t *lens);

/* Runs a SOQL query (all = queryAll) following nextRecordsUrl; each record
 * is parsed as it arrives and handed to cb with the values of `fields`
 * (names as in the SELECT; matched case-insensitively). Memory is bounded
 * by one record. *n_rows (may be NULL) receives the records delivered. */
enum sfr_rc sfr_sf_query(struct sfr_sf *c, const char *soql, bool all, const char *const *fields,
                         int n_fields, sfr_sf_row_cb cb, void *ctx, long *n_rows,
                         struct sfr_err *err) SFR_WUR;
/* An aggregate query with one result row; values[i] receives exprI as text
 * (caller frees each; NULL = null). A query without rows leaves NULLs. */
enum sfr_rc sfr_sf_aggregate(struct sfr_sf *c, const char *soql, int n_exprs, char **values,
                             struct sfr_err *err) SFR_WUR;
/* Bulk API 2.0 query: creates the job, polls it with backoff, streams the
 * CSV results page by page (locator) into cb. Aborts the job on error. */
enum sfr_rc sfr_sf_bulk_query(struct sfr_sf *c, const char *soql, bool all,
                              const char *const *fields, int n_fields, sfr_sf_row_cb cb, void *ctx,
                              long *n_rows, struct sfr_err *err) SFR_WUR;
/* A record of a parallel read, from result stream `stream` (0..streams-1):
 * the calls of one stream come from one thread, those of different streams
 * from different threads at once. Return 0 to go on, non-zero to stop every
 * stream (the call then returns SFR_OK). */
typedef int (*sfr_sf_stream_row_cb)(void *ctx, int stream, const char *const *values,
                                    const size_t *lens);
/* Bulk API 2.0 query whose result pages are read by up to `streams` clones
 * of c at once (API version 58.0 and later: GET .../resultPages lists the
 * pages' result URLs, five an answer). Records come in no particular order;
 * every record of the job exactly once. With one stream, an older API
 * version or an org that does not serve resultPages (404), the pages are
 * read one after another by Sforce-Locator, all as stream 0. Memory: one
 * record per stream. Every call of the clones (each result page, each list
 * of pages) is counted on c, under c's phase. */
enum sfr_rc sfr_sf_bulk_query_parallel(struct sfr_sf *c, const char *soql, bool all,
                                       const char *const *fields, int n_fields, int streams,
                                       sfr_sf_stream_row_cb cb, void *ctx, long *n_rows,
                                       struct sfr_err *err) SFR_WUR;

/* ---- writes (sObject Collections, 200 records a call) -------------------- */

enum sfr_sf_op { SFR_SF_CREATE, SFR_SF_UPDATE, SFR_SF_UPSERT };

struct sfr_sf_rec {
    const char *id;            /* update: record Id; create/upsert: NULL */
    const char *const *values; /* per field of the call, Salesforce text; NULL = null */
    const bool *set;           /* NULL = every field set; unset fields are omitted */
    /* a JSON object whose members are added to the record: nested
     * references by a parent's external Id (sfr_relext_refs); NULL = none */
    const char *refs;
};

/* Per-record result. status_code is "" on success. */
struct sfr_sf_result {
    bool success;
    bool created; /* upsert created the record */
    bool unknown; /* status OUTCOME_UNKNOWN: a create whose call failed after it may have been
                     applied (5xx, connection dropped, answer lost); the record may exist */
    bool found;   /* sfr_sf_lookup_then_create: the record already existed */
    char id[19];
    char status_code[64];
    char message[512];
    char fields[256]; /* comma-separated fields named by the error */
};

/* Creates/updates/upserts n records of `object`; fields give names and JSON
 * types (booleans and numbers as JSON literals, null as null, the rest as
 * strings). Upsert is keyed by ext_id_field (one of fields). Records failing
 * with UNABLE_TO_LOCK_ROW are resubmitted with backoff. Returns an error only
 * when a call failed as a whole; the records of that and later batches then
 * keep success = false with status_code naming the failure, results of
 * earlier batches stay valid. */
enum sfr_rc sfr_sf_save(struct sfr_sf *c, enum sfr_sf_op op, const char *object,
                        const struct sfr_field *const *fields, int n_fields,
                        const char *ext_id_field, const struct sfr_sf_rec *recs, int n,
                        bool all_or_none, struct sfr_sf_result *res, struct sfr_err *err) SFR_WUR;
/* Creates records so that no retry can ever make a second one. With
 * ext_id_field (the mapping's upsert_field, one of fields), records holding
 * a value there are upserted on it (a repeat finds the record); the others,
 * and all of them without ext_id_field, are created. A create call that
 * fails after it may have been applied (HTTP 5xx, the connection dropped
 * after the request went out, an answer cut short) is never repeated: its
 * records come back with unknown = true and status OUTCOME_UNKNOWN, and the
 * call's error is returned; records of later calls are NOT_SENT. */
enum sfr_rc sfr_sf_create_idempotent(struct sfr_sf *c, const char *object,
                                     const struct sfr_field *const *fields, int n_fields,
                                     const char *ext_id_field, const struct sfr_sf_rec *recs, int n,
                                     struct sfr_sf_result *res, struct sfr_err *err) SFR_WUR;
/* Lookup-then-write for records whose create had an unknown outcome (an
 * OUTCOME_UNKNOWN result, a crash between the call and the commit that
 * would have stored the Id): records with an external id value are first
 * looked up by it (SOQL, 100 values a call); found: found = true, id set;
 * then every one of them is written by an upsert on ext_id_field (the
 * found record updated, an absent one created; the same call repeated is
 * harmless). Several records holding the value: DUPLICATE_EXTERNAL_ID,
 * nothing written. Records without a value (or ext_id_field NULL) are
 * never sent: unknown stays true, status OUTCOME_UNKNOWN; a human has to
 * check (sfr_sf_check_soql says what to look for). */
enum sfr_rc sfr_sf_lookup_then_create(struct sfr_sf *c, const char *object,
                                      const struct sfr_field *const *fields, int n_fields,
                                      const char *ext_id_field, const struct sfr_sf_rec *recs,
                                      int n, struct sfr_sf_result *res,
                                      struct sfr_err *err) SFR_WUR;
/* A SOQL query a human can run to find a record whose create had an unknown
 * outcome: created since since_ms (ms since epoch), with equality on up to
 * three of the values sent (text, picklist, reference and integer fields:
 * those SOQL filters exactly). Caller frees. */
char *sfr_sf_check_soql(const char *object, const struct sfr_field *const *fields, int n_fields,
                        const char *const *values, const bool *set, int64_t since_ms);
/* Deletes ids (object names what the calls are counted under). */
enum sfr_rc sfr_sf_delete(struct sfr_sf *c, const char *object, const char *const *ids, int n,
                          bool all_or_none, struct sfr_sf_result *res, struct sfr_err *err) SFR_WUR;

/* ---- changes ------------------------------------------------------------ */

/* GET /sobjects/X/updated: ids changed in [start, end] (ms since epoch). */
enum sfr_rc sfr_sf_updated(struct sfr_sf *c, const char *object, int64_t start_ms, int64_t end_ms,
                           struct sfr_strv *ids, int64_t *latest_ms, struct sfr_err *err) SFR_WUR;
struct sfr_sf_deleted_rec {
    char id[19];
    int64_t deleted_ms;
};
/* GET /sobjects/X/deleted: *recs is allocated (caller frees). */
enum sfr_rc sfr_sf_deleted(struct sfr_sf *c, const char *object, int64_t start_ms, int64_t end_ms,
                           struct sfr_sf_deleted_rec **recs, size_t *n, int64_t *latest_ms,
                           struct sfr_err *err) SFR_WUR;

/* ---- the Salesforce side (sf_side.c) ------------------------------------ */

/* A struct sfr_side over client (side->src = SFR_SRC_SF). Ranges expected
 * to hold >= bulk_threshold rows are read with Bulk API 2.0, smaller ones with
 * REST query (0 = always REST). With owns_client the side frees the client. */
struct sfr_side *sfr_sf_side_new(struct sfr_sf *client, long bulk_threshold, bool owns_client);

/* ---- streaming parsers (exposed for tests) ------------------------------- */

/* Scanner over a query response: hands each element of the top-level
 * "records" array (an object) to on_record as complete JSON bytes, keeps
 * totalSize, done and nextRecordsUrl. Memory: one record. */
struct sfr_sf_jscan {
    int (*on_record)(void *ctx, const char *json, size_t len); /* 0 go on, 1 stop, -1 error */
    void *ctx;
    size_t max_record; /* cap on one record's bytes */
    /* state */
    int depth;
    bool in_str, esc, expect_key, in_records, in_elem, done_top, started;
    struct sfr_buf key, val, elem;
    /* results */
    long total_size;
    bool done;
    char next_url[1024];
    long n_records;
};
void sfr_sf_jscan_init(struct sfr_sf_jscan *s);
void sfr_sf_jscan_reset(struct sfr_sf_jscan *s); /* keeps callback and cap */
void sfr_sf_jscan_cleanup(struct sfr_sf_jscan *s);
/* 0 = go on, 1 = on_record asked to stop, -1 = error (err filled). */
int sfr_sf_jscan_feed(struct sfr_sf_jscan *s, const char *p, size_t n, struct sfr_err *err);
/* True when a complete top-level object was seen. */
bool sfr_sf_jscan_complete(const struct sfr_sf_jscan *s);

/* Parses one record object into the values of the requested fields. */
struct sfr_sf_recparse {
    const char *const *fields;
    int n_fields;
    const char **values; /* results, n_fields entries, NULL = null/absent */
    size_t *lens;
    /* internal */
    size_t *off;
    struct sfr_buf buf;
    int guess;
};
void sfr_sf_recparse_init(struct sfr_sf_recparse *r, const char *const *fields, int n_fields);
void sfr_sf_recparse_cleanup(struct sfr_sf_recparse *r);
enum sfr_rc sfr_sf_recparse_run(struct sfr_sf_recparse *r, const char *json, size_t len,
                                struct sfr_err *err) SFR_WUR;

/* Streaming CSV (RFC 4180 as Bulk API 2.0 writes it): first row is the header;
 * later rows go to on_row with the values of the requested fields, in their
 * order. Empty fields (quoted or not) are null. */
struct sfr_sf_csv {
    const char *const *fields;
    int n_fields;
    int (*on_row)(void *ctx, const char *const *values, const size_t *lens); /* 0/1 stop/-1 */
    void *ctx;
    size_t max_row;
    /* state */
    int state;
    bool header_done;
    int col;
    int *colmap; /* column -> field index or -1 */
    int n_cols, cap_cols;
    struct sfr_buf row;
    size_t *foff, *flen; /* per column */
    bool *fquoted;
    const char **values;
    size_t *vlens;
    long n_rows;
};
void sfr_sf_csv_init(struct sfr_sf_csv *p, const char *const *fields, int n_fields);
void sfr_sf_csv_reset(struct sfr_sf_csv *p); /* next page: expects a header again */
void sfr_sf_csv_cleanup(struct sfr_sf_csv *p);
int sfr_sf_csv_feed(struct sfr_sf_csv *p, const char *data, size_t n, struct sfr_err *err);
/* Ends the input (a last row without newline is delivered). 0/1/-1 as feed. */
int sfr_sf_csv_finish(struct sfr_sf_csv *p, struct sfr_err *err);

/* Accepts https:// URLs, and plain http:// only for loopback hosts
 * (localhost, 127.0.0.0/8, [::1]); anything else (or a URL with
 * user:password@) is SFR_ECONFIG with a message naming `what`. */
enum sfr_rc sfr_sf_url_check(const char *what, const char *url, struct sfr_err *err) SFR_WUR;

/* Parses an answer of GET .../jobs/query/{job_id}/resultPages: pushes each
 * resultUrl (a path of job_id's results under /services/data/, or an
 * absolute URL) onto urls; *next gets nextRecordsUrl ("" when null or
 * absent; the key is also accepted as nextRecordUrl), *done the done flag.
 * SFR_ESF on anything else (a URL of another job, no resultPages array, more
 * pages announced without a next URL). */
enum sfr_rc sfr_sf_parse_result_pages(const char *body, size_t len, const char *job_id,
                                      struct sfr_strv *urls, char *next, size_t next_n, bool *done,
                                      struct sfr_err *err) SFR_WUR;

/* Parses "api-usage=18/15000" (a Sforce-Limit-Info value). */
bool sfr_sf_parse_limit_info(const char *value, long *used, long *max);
/* First errorCode/message of an error body ([{"errorCode","message"}] or
 * {"error","error_description"}); false when the body has neither. */
bool sfr_sf_parse_error(const char *body, size_t len, char *code, size_t code_n, char *msg,
                        size_t msg_n);

#endif
