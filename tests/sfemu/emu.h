/* emu.h — internal contract of sfemu, the local Salesforce REST API emulator.
 *
 * One process-wide `struct emu` holds the org schema (from the describe file),
 * the configuration, the in-memory state (tokens, query locators, Bulk jobs,
 * CometD clients, faults, counters, clock) and a small pool of Postgres
 * connections to the store. Records live in the store (schema "sfemu", one
 * table per object, see store.c), so the org survives a restart.
 *
 * Threading: libmicrohttpd runs one thread per connection; every handler takes
 * a Postgres connection from the pool for the duration of one request and
 * gives it back. Shared in-memory state is guarded by emu.lock. */
#ifndef SFEMU_EMU_H
#define SFEMU_EMU_H

#include <libpq-fe.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "sfrecon/mem.h"
#include "sfrecon/schema.h"

#define EMU_MAX_BODY         (50L * 1024 * 1024)
#define EMU_MAX_BATCH        200
#define EMU_PAGE_DEFAULT     2000
#define EMU_PAGE_MIN         200
#define EMU_POOL_MAX         64
#define EMU_MAX_LOCATORS     2000
#define EMU_MAX_HDRS         8
#define EMU_BULK_RESULT_PAGE 100000

/* Extras of a describe field that struct sfr_field does not carry. */
struct emu_fieldx {
    bool restricted_picklist;
    bool defaulted_on_create;
    bool has_column; /* false for compound fields (address, location) */
};

struct emu_object {
    const struct sfr_object *obj; /* borrowed from emu.schema */
    char *describe;               /* raw describe JSON, served verbatim */
    struct emu_fieldx *fx;        /* one per obj->fields[] */
    char *qtable;                 /* sfemu."account", already quoted */
    uint64_t next_seq;            /* last Id counter handed out (guarded by emu.lock) */
    /* indexes into obj->fields of the system fields, -1 when absent */
    int f_id, f_isdeleted, f_created, f_modified, f_modstamp, f_createdby, f_modifiedby, f_owner;
    int f_name;
};

struct emu_token {
    char *token;
    long uses; /* requests made with it since the faults were set (expire_every) */
    struct emu_token *next;
};

/* Admin "after_write" fault: the nth (then `count`) write call of kind op
 * ("create", "update", "upsert", "delete" or "any") is applied and committed,
 * then answered with 504 (answer 504) or its connection closed (answer 0). */
struct emu_after_write {
    long nth, count, seen;
    int answer;
    char op[8];
};

struct emu_faults {
    struct emu_after_write after_write;
    long latency_ms;
    long fail_nth, fail_status, fail_count, fail_seen;
    long drop_nth, drop_seen;
    bool limit_reached;
};

/* Periodic faults (fault storms), set with the one-shot ones by POST /__emu/fault:
 * every Nth request through the gate fails (with emu_faults.fail_status) or is
 * dropped, and every token expires at its Nth use (emu_token.uses). */
struct emu_storm {
    long fail_every, drop_every, expire_every;
    long fail_seen, drop_seen;
};

struct emu_counters {
    long total, query, query_more, describe, composite, bulk, sobject, other;
    long injected_fail, injected_drop, injected_expire; /* faults served */
};

struct emu_locator;
struct emu_job;
struct emu_client;

/* Change Data Capture controls (cometd.c, POST /__emu/cdc). */
#define EMU_CDC_MAX_DISABLED 32
struct emu_cdc {
    int64_t retention_ms; /* events older than this are gone (72 h) */
    long gap_next;        /* the next N change events become GAP_<type> events */
    bool overflow_next;   /* the next transaction becomes GAP_OVERFLOW events */
    char overflow_tx[64]; /* the transactionKey being overflowed */
    char overflow_done[EMU_CDC_MAX_DISABLED][128]; /* entities of overflow_tx already sent */
    int n_overflow_done;
    char disabled[EMU_CDC_MAX_DISABLED][128]; /* entities not selected for CDC */
    int n_disabled;
};

struct emu {
    struct sfr_schema schema;
    struct emu_object *objs;
    int n_objs;
    char *store_url;
    char api_version[16]; /* "60.0" */
    int api_major;        /* 60 */
    long daily_limit;
    char *user, *password;
    bool admin;
    unsigned port;
    char base_url[64];
    char *token_instance_url; /* --instance-url: what token answers name (NULL = base_url) */
    char org_id[19], user_id[19];
    long connect_timeout_ms; /* CometD /meta/connect hold */
    long bulk_result_page;   /* records per page of a Bulk job's resultPages */

    pthread_mutex_t lock;
    pthread_cond_t event_cond; /* broadcast after every commit that wrote events */
    uint64_t event_gen;
    struct emu_token *tokens;
    struct emu_faults faults;
    struct emu_storm storm;
    struct emu_counters counters;
    long api_usage; /* today's calls */
    char api_day[11];
    int64_t clock_offset_ms;
    struct emu_locator *locators;
    int n_locators;
    struct emu_job *jobs;
    struct emu_client *clients;
    struct emu_cdc cdc;
    uint64_t seq_nonce;
    bool stopping; /* set on SIGTERM: long polls return */

    PGconn *pool[EMU_POOL_MAX];
    int n_pool;
};

extern struct emu EMU;

/* A request being served (one per HTTP request). */
struct emu_req {
    struct MHD_Connection *conn;
    const char *method;
    char *path; /* decoded path without query string */
    char **seg; /* path split on '/' */
    int n_seg;
    struct sfr_buf body;
    bool too_big;
    bool is_data; /* under /services/data: carries Sforce-Limit-Info */
    bool counted;
    const char *hdr_name[EMU_MAX_HDRS];
    char *hdr_val[EMU_MAX_HDRS];
    int n_hdr;
    struct emu_load *load; /* streaming CSV load in progress */
    bool drop;             /* fault: close without answering */
};

/* http.c */
enum MHD_Result emu_send(struct emu_req *r, unsigned status, const char *ctype,
                         struct sfr_buf *body);
enum MHD_Result emu_send_json(struct emu_req *r, unsigned status, struct sfr_buf *body);
enum MHD_Result emu_send_str(struct emu_req *r, unsigned status, const char *json);
/* 4xx/5xx with [{"message":msg,"errorCode":code}]. */
enum MHD_Result emu_send_error(struct emu_req *r, unsigned status, const char *code,
                               const char *fmt, ...) SFR_PRINTF(4, 5);
enum MHD_Result emu_send_not_found(struct emu_req *r);
void emu_add_header(struct emu_req *r, const char *name, const char *value);
const char *emu_arg(struct emu_req *r, const char *name);
const char *emu_header(struct emu_req *r, const char *name);
int64_t emu_now_ms(void);
void emu_json_str(struct sfr_buf *b, const char *s);
void emu_json_strn(struct sfr_buf *b, const char *s, size_t n);
void emu_fmt_sf_datetime(int64_t ms, char out[32]); /* 2024-01-01T00:00:00.000+0000 */
void emu_fmt_pg_datetime(int64_t ms, char out[32]); /* 2024-01-01 00:00:00.000 */
/* Parses ISO 8601 (date, datetime with Z / +hh:mm / +hhmm / no zone). */
bool emu_parse_datetime(const char *s, int64_t *ms);
bool emu_parse_date(const char *s, int *y, int *m, int *d);
void emu_random_b62(char *out, int n);

/* store.c */
PGconn *emu_pg_get(void);
void emu_pg_put(PGconn *c);
bool emu_store_init(char *errmsg, size_t n);
/* Next 18-char Id for o (increasing). */
void emu_new_id(struct emu_object *o, char out[19]);
void emu_new_id_prefix(const char *prefix3, uint64_t n, char out[19]);
/* Re-reads the highest Id counter of o from the store (after loads). */
void emu_sync_seq(PGconn *c, struct emu_object *o);
bool emu_exec(PGconn *c, const char *sql);
struct emu_object *emu_object(const char *name);
struct emu_object *emu_object_by_prefix(const char *id);
void emu_persist_usage(PGconn *c);
/* Inserts one CDC event row (in the caller's transaction). */
bool emu_event_insert(PGconn *c, const char *entity, const char *change, const char *ids_json,
                      const char *changed_json, int64_t ts_ms, const char *payload);
void emu_events_signal(void);

/* rest.c */
enum MHD_Result emu_rest(struct emu_req *r);
enum MHD_Result emu_oauth(struct emu_req *r);
/* GET /id/{orgId}/{userId}: the identity service (the token's "id" URL). */
enum MHD_Result emu_identity(struct emu_req *r);
/* Issues a new session token (also used by the SOAP login). */
void emu_issue_token(char out[160]);
/* Forgets a session token; false when it was not live. */
bool emu_revoke_token(const char *tok);
void emu_locators_free(void);

/* records.c */
enum MHD_Result emu_sobject_record(struct emu_req *r, struct emu_object *o, const char *id);
enum MHD_Result emu_sobject_create(struct emu_req *r, struct emu_object *o);
enum MHD_Result emu_sobject_upsert(struct emu_req *r, struct emu_object *o, const char *field,
                                   const char *value);
enum MHD_Result emu_updated_deleted(struct emu_req *r, struct emu_object *o, bool deleted);

/* collections.c: /composite/sobjects */
enum MHD_Result emu_collections(struct emu_req *r);
/* Parses the admin fault key "after_write": {"nth":N,"count":C,"answer":"drop"|504,
 * "op":"create"|...|"any"} into aw (absent: off). False on a bad value. */
struct json_object;
bool emu_after_write_parse(struct json_object *j, struct emu_after_write *aw);
/* After a committed write of kind op: true when the after-write fault takes
 * this call (*ret is then the 504 answer or MHD_NO for a dropped connection). */
bool emu_after_write_fault(struct emu_req *r, const char *op, enum MHD_Result *ret);

/* bulk.c */
enum MHD_Result emu_bulk(struct emu_req *r);
void emu_jobs_free(void);

/* admin.c */
enum MHD_Result emu_admin(struct emu_req *r);
/* Streaming load: called for each upload chunk of POST /__emu/load/X. */
bool emu_load_begin(struct emu_req *r, const char *object);
bool emu_load_chunk(struct emu_req *r, const char *data, size_t n);
enum MHD_Result emu_load_finish(struct emu_req *r);
void emu_load_abort(struct emu_req *r);

/* soap.c: POST /services/Soap/{u|c}/NN.0 login and logout */
enum MHD_Result emu_soap(struct emu_req *r);

/* cometd.c */
enum MHD_Result emu_cometd(struct emu_req *r);
void emu_clients_free(void);
/* Notes the API client of a request (Sforce-Call-Options: client=NAME) for
 * the changeOrigin of the change events its writes cause. */
void emu_cdc_note_request(struct emu_req *r);
/* Inserts one change event as the CDC settings say (a GAP_ or GAP_OVERFLOW
 * event instead, nothing for an entity not selected for CDC). */
bool emu_cdc_insert(PGconn *c, const char *entity, const char *change, const char *ids_json,
                    const char *changed_json, int64_t ts_ms, const char *payload);
/* POST /__emu/cdc (settings), /__emu/cdc/undelete/X/ID, /__emu/cdc/purge/X/ID. */
enum MHD_Result emu_admin_cdc(struct emu_req *r);

/* query helpers shared by rest.c, records.c and collections.c (rest.c) */
struct soql_query;
/* Runs a parsed non-aggregate query page and appends records JSON objects
 * (comma-separated) to out. Returns rows appended or -1 (error sent in msg). */
long emu_query_rows(PGconn *c, const struct soql_query *q, int include_deleted,
                    const char *after_id, long page_limit, long offset, struct sfr_buf *out,
                    char last_id[64], char msg[512]);

#endif
