/* sf_internal.h — what the files of src/sf/ share: the client structure and
 * the request layer (auth, retry, accounting). Not part of the public API. */
#ifndef SFRECON_SF_INTERNAL_H
#define SFRECON_SF_INTERNAL_H

#include <stdatomic.h>
#include <time.h>
#include <stdbool.h>
#include <curl/curl.h>

#include "sfrecon/sf.h"

#define SF_MAX_BODY       (64L * 1024 * 1024) /* non-streamed 2xx bodies */
#define SF_MAX_ERROR_BODY (1L * 1024 * 1024)  /* error bodies */
#define SF_MAX_RECORD     (32L * 1024 * 1024) /* one streamed record / CSV row */
#define SF_MAX_ATTEMPTS   5

/* Budget shared by a client and its clones. */
struct sf_budget {
    atomic_long used;
    atomic_long max;
    atomic_int refs;
};

struct sf_describe {
    struct sfr_object obj;
    char *json;
    size_t len;
};

struct sfr_sf {
    CURL *curl;
    char *instance_url;
    char *token;
    char api_version[16];
    char *login_url, *client_id, *client_secret, *username, *password;
    bool can_auth;
    struct sf_budget *budget;
    /* sf_max_daily_api_calls: per object (calls counted under it), and a
     * default for calls tied to no object; 0 = none */
    struct sf_daily_cap {
        char object[80];
        long cap;
    } * caps;
    int n_caps;
    long default_cap;
    time_t usage_read_at; /* last GET /limits, 0 = never */
    int usage_reread_s;   /* while refused, GET /limits again after this long */
    char phase[24];
    struct sfr_sf_calls calls;
    long limit_used, limit_max;
    /* Salesforce's clock: the Date header of the last response, and the
     * host's clock when it came (both ms since the epoch; 0 = none yet) */
    int64_t server_date_ms, server_seen_ms;
    struct sf_describe **desc;
    int n_desc;
    int retry_base_ms;
    int poll_ms;
    long bulk_page;
    int bulk_streams; /* result pages of one Bulk job fetched at once */
    unsigned rnd;
    char call_client[64]; /* Sforce-Call-Options client name, "" = none */
    char curl_err[CURL_ERROR_SIZE];
};

/* A body consumer for 2xx responses, so that pages stream through a parser.
 * write: 0 go on, 1 stop (caller's callback asked), -1 error (in sink err).
 * reset: called before every attempt (retries restart the body). */
struct sf_sink {
    int (*write)(void *ctx, const char *p, size_t n);
    void (*reset)(void *ctx);
    bool (*complete)(void *ctx); /* the body was whole (else: retry) */
    void *ctx;
    struct sfr_err err;
};

struct sf_req {
    const char *method;
    const char *path; /* "/services/..." or absolute URL */
    const char *body;
    size_t body_len;
    const char *content_type; /* default application/json when body */
    const char *accept;       /* default application/json */
    const char *object;       /* counted under, may be NULL */
    bool not_idempotent;      /* retry only when nothing can have been applied */
    bool no_auth;             /* token endpoint */
    bool usage_probe;         /* GET /limits: not refused by the daily budget */
    bool creates_records;     /* a create: never resent, not even by libcurl (fresh connection) */
    struct sf_sink *sink;     /* NULL: 2xx body into resp->body */
};

struct sf_resp {
    long status;
    struct sfr_buf body;
    char locator[256];
    long n_records;
    bool stopped;         /* the sink asked to stop */
    bool outcome_unknown; /* a not_idempotent request failed after it may have been applied */
};

void sf_resp_init(struct sf_resp *r);
void sf_resp_cleanup(struct sf_resp *r);

/* Performs a request with auth, budget, accounting and retries. A non-2xx
 * answer becomes an error (SFR_ESF / SFR_EAUTH / SFR_ELIMIT / SFR_ENOTFOUND
 * for 404) with errorCode and message; resp->status holds the status. */
enum sfr_rc sf_do(struct sfr_sf *c, const struct sf_req *rq, struct sf_resp *rs,
                  struct sfr_err *err) SFR_WUR;
/* Logs in again (login credentials needed; SFR_ECONFIG without them). */
enum sfr_rc sf_login(struct sfr_sf *c, struct sfr_err *err) SFR_WUR;
/* Sleeps for attempt `n` (1-based) of an exponential backoff with jitter. */
void sf_backoff(struct sfr_sf *c, int n);
void sf_sleep_ms(long ms);
/* Appends a URL-encoded copy of s. */
void sf_urlencode(struct sfr_buf *b, const char *s);
/* "/services/data/vNN.0" */
void sf_data_path(const struct sfr_sf *c, struct sfr_buf *b);
/* Object named after FROM in a SOQL statement into out ("" if none). */
void sf_soql_object(const char *soql, char *out, size_t n);
/* Formats ms since epoch as 2013-05-20T20:49:32.000+0000. */
void sf_format_time(int64_t ms, char out[40]);

#endif
