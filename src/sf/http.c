/* http.c — the request layer of the Salesforce client: one reused libcurl
 * easy handle (keep-alive, gzip, TLS verification on), bearer auth with one
 * re-authentication on 401 INVALID_SESSION_ID, the per-run budget, call
 * accounting, Sforce-Limit-Info, and retries with exponential backoff and
 * jitter on 5xx, timeouts, dropped connections and UNABLE_TO_LOCK_ROW.
 *
 * Invariants: every body fed from the network has a size cap; a 2xx body
 * either goes to the request's sink (streaming parsers) or to resp->body;
 * the Authorization header and the token-call body are never logged. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>

#include "sf_internal.h"
#include "sfrecon/log.h"

void sf_resp_init(struct sf_resp *r)
{
    memset(r, 0, sizeof(*r));
    sfr_buf_init(&r->body);
}

void sf_resp_cleanup(struct sf_resp *r)
{
    sfr_buf_cleanup(&r->body);
}

void sf_sleep_ms(long ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

void sf_backoff(struct sfr_sf *c, int n)
{
    /* "equal jitter": half of base*2^(n-1) fixed, half random; capped at 10 s */
    long d = (long)c->retry_base_ms << (n > 10 ? 10 : n - 1);
    if (d > 10000)
        d = 10000;
    long half = d / 2;
    long j = half > 0 ? (long)(rand_r(&c->rnd) % (half + 1)) : 0;
    sf_sleep_ms(half + j);
}

void sf_urlencode(struct sfr_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            sfr_buf_putc(b, (char)ch);
        } else {
            char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
            sfr_buf_append(b, e, 3);
        }
    }
}

void sf_data_path(const struct sfr_sf *c, struct sfr_buf *b)
{
    sfr_buf_printf(b, "/services/data/v%s", c->api_version);
}

bool sfr_sf_parse_limit_info(const char *value, long *used, long *max)
{
    const char *p = value;
    /* "api-usage=" as its own item, not the tail of "per-app-api-usage=" */
    while ((p = strstr(p, "api-usage=")) != NULL && p != value && p[-1] != ' ' && p[-1] != ',' &&
           p[-1] != ';')
        p++;
    if (p == NULL)
        return false;
    p += 10;
    char *end;
    long u = strtol(p, &end, 10);
    if (end == p || *end != '/')
        return false;
    p = end + 1;
    long m = strtol(p, &end, 10);
    if (end == p || u < 0 || m < 0)
        return false;
    *used = u;
    *max = m;
    return true;
}

static void copy_str(char *dst, size_t n, const char *src)
{
    if (n == 0)
        return;
    snprintf(dst, n, "%s", src ? src : "");
}

bool sfr_sf_parse_error(const char *body, size_t len, char *code, size_t code_n, char *msg,
                        size_t msg_n)
{
    copy_str(code, code_n, "");
    copy_str(msg, msg_n, "");
    if (body == NULL || len == 0)
        return false;
    struct json_tokener *tok = json_tokener_new();
    struct json_object *j = json_tokener_parse_ex(tok, body, (int)len);
    json_tokener_free(tok);
    if (j == NULL)
        return false;
    struct json_object *e = j, *v;
    if (json_object_is_type(j, json_type_array) && json_object_array_length(j) > 0)
        e = json_object_array_get_idx(j, 0);
    bool found = false;
    if (json_object_is_type(e, json_type_object)) {
        if (json_object_object_get_ex(e, "errorCode", &v)) {
            copy_str(code, code_n, json_object_get_string(v));
            found = true;
        } else if (json_object_object_get_ex(e, "error", &v)) {
            copy_str(code, code_n, json_object_get_string(v));
            found = true;
        }
        if (json_object_object_get_ex(e, "message", &v) ||
            json_object_object_get_ex(e, "error_description", &v))
            copy_str(msg, msg_n, json_object_get_string(v));
    }
    json_object_put(j);
    return found;
}

/* ---- URLs: plain http only on loopback, the session only to the instance ---- */

/* Splits an absolute http(s) URL: scheme, host (lowercased, IPv6 without
 * brackets) and port (the scheme's default when absent). */
static bool url_parts(const char *url, bool *https, char *host, size_t host_n, long *port)
{
    const char *p;
    if (strncasecmp(url, "https://", 8) == 0) {
        *https = true;
        p = url + 8;
    } else if (strncasecmp(url, "http://", 7) == 0) {
        *https = false;
        p = url + 7;
    } else {
        return false;
    }
    size_t auth_len = strcspn(p, "/?#");
    const char *at = memchr(p, '@', auth_len);
    if (at != NULL) /* user:password@host: never meant for a Salesforce URL */
        return false;
    const char *end = p + auth_len, *h = p, *he;
    if (*h == '[') {
        he = memchr(h, ']', (size_t)(end - h));
        if (he == NULL)
            return false;
        h++;
    } else {
        he = memchr(h, ':', (size_t)(end - h));
        if (he == NULL)
            he = end;
    }
    size_t hl = (size_t)(he - h);
    if (hl == 0 || hl >= host_n)
        return false;
    for (size_t i = 0; i < hl; i++)
        host[i] = (char)tolower((unsigned char)h[i]);
    host[hl] = '\0';
    const char *pp = he < end && *he == ']' ? he + 1 : he;
    *port = *https ? 443 : 80;
    if (pp < end && *pp == ':') {
        char *e;
        long v = strtol(pp + 1, &e, 10);
        if (e != end || v <= 0 || v > 65535)
            return false;
        *port = v;
    } else if (pp != end) {
        return false;
    }
    return true;
}

static bool loopback_host(const char *host)
{
    if (strcmp(host, "localhost") == 0 || strcmp(host, "::1") == 0)
        return true;
    /* 127.0.0.0/8 in dotted-quad form */
    int a, b, c, d;
    char tail;
    return sscanf(host, "%d.%d.%d.%d%c", &a, &b, &c, &d, &tail) == 4 && a == 127 && b >= 0 &&
           b < 256 && c >= 0 && c < 256 && d >= 0 && d < 256;
}

enum sfr_rc sfr_sf_url_check(const char *what, const char *url, struct sfr_err *err)
{
    bool https;
    char host[256];
    long port;
    if (url == NULL || !url_parts(url, &https, host, sizeof(host), &port))
        return sfr_err_set(err, SFR_ECONFIG,
                           "%s must be an https:// URL with a host (and no user:password@)", what);
    if (!https && !loopback_host(host)) {
        enum sfr_rc rc = sfr_err_set(err, SFR_ECONFIG,
                                     "%s is plain http:// to %s: refused, the session token and "
                                     "the org's data would cross the network unencrypted",
                                     what, host);
        sfr_err_hint(err, "use https://; plain http:// is accepted only for loopback hosts "
                          "(localhost, 127.0.0.1, [::1]) such as a local emulator");
        return rc;
    }
    return SFR_OK;
}

/* True when url (absolute) has the scheme, host and port of the instance. */
static bool same_origin(const char *url, const char *instance)
{
    bool s1, s2;
    char h1[256], h2[256];
    long p1, p2;
    return instance != NULL && url_parts(url, &s1, h1, sizeof(h1), &p1) &&
           url_parts(instance, &s2, h2, sizeof(h2), &p2) && s1 == s2 && p1 == p2 &&
           strcmp(h1, h2) == 0;
}

/* ---- one attempt ---- */

struct attempt {
    struct sfr_sf *c;
    const struct sf_req *rq;
    struct sf_resp *rs;
    int sink_state;
    bool too_big;
};

static void trim(const char **s, size_t *n)
{
    while (*n > 0 && isspace((unsigned char)**s))
        (*s)++, (*n)--;
    while (*n > 0 && isspace((unsigned char)(*s)[*n - 1]))
        (*n)--;
}

static size_t header_cb(char *buf, size_t size, size_t nitems, void *ud)
{
    struct attempt *a = ud;
    size_t len = size * nitems;
    if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
        const char *sp = memchr(buf, ' ', len);
        a->rs->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        a->rs->locator[0] = '\0';
        a->rs->n_records = -1;
        return len;
    }
    const char *colon = memchr(buf, ':', len);
    if (colon == NULL)
        return len;
    size_t nlen = (size_t)(colon - buf);
    const char *v = colon + 1;
    size_t vlen = len - nlen - 1;
    trim(&v, &vlen);
    char val[256];
    if (vlen >= sizeof(val))
        vlen = sizeof(val) - 1;
    memcpy(val, v, vlen);
    val[vlen] = '\0';
    if (nlen == 17 && strncasecmp(buf, "Sforce-Limit-Info", 17) == 0) {
        long u, m;
        if (sfr_sf_parse_limit_info(val, &u, &m)) {
            a->c->limit_used = u;
            a->c->limit_max = m;
            a->c->usage_read_at = time(NULL); /* a fresh count: no need to ask */
        }
    } else if (nlen == 4 && strncasecmp(buf, "Date", 4) == 0) {
        time_t t = curl_getdate(val, NULL);
        if (t > 0) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            a->c->server_date_ms = (int64_t)t * 1000;
            a->c->server_seen_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        }
    } else if (nlen == 14 && strncasecmp(buf, "Sforce-Locator", 14) == 0) {
        snprintf(a->rs->locator, sizeof(a->rs->locator), "%s", val);
    } else if (nlen == 22 && strncasecmp(buf, "Sforce-NumberOfRecords", 22) == 0) {
        a->rs->n_records = strtol(val, NULL, 10);
    }
    return len;
}

static size_t body_cb(char *p, size_t size, size_t nmemb, void *ud)
{
    struct attempt *a = ud;
    size_t len = size * nmemb;
    bool ok = a->rs->status >= 200 && a->rs->status < 300;
    if (ok && a->rq->sink != NULL) {
        int r = a->rq->sink->write(a->rq->sink->ctx, p, len);
        if (r != 0) {
            a->sink_state = r;
            return 0;
        }
        return len;
    }
    size_t cap = ok ? (size_t)SF_MAX_BODY : (size_t)SF_MAX_ERROR_BODY;
    if (a->rs->body.len + len > cap) {
        a->too_big = true;
        return 0;
    }
    sfr_buf_append(&a->rs->body, p, len);
    return len;
}

static struct curl_slist *make_headers(struct sfr_sf *c, const struct sf_req *rq)
{
    struct curl_slist *h = NULL;
    struct sfr_buf b = SFR_BUF_INIT;
    if (!rq->no_auth) {
        sfr_buf_printf(&b, "Authorization: Bearer %s", c->token ? c->token : "");
        h = curl_slist_append(h, b.data);
        /* wipe the token copy */
        memset(b.data, 0, b.len);
        sfr_buf_reset(&b);
    }
    sfr_buf_printf(&b, "Accept: %s", rq->accept ? rq->accept : "application/json");
    h = curl_slist_append(h, b.data);
    if (rq->body != NULL) {
        sfr_buf_reset(&b);
        sfr_buf_printf(&b, "Content-Type: %s",
                       rq->content_type ? rq->content_type : "application/json");
        h = curl_slist_append(h, b.data);
    }
    if (c->call_client[0] != '\0') {
        sfr_buf_reset(&b);
        sfr_buf_printf(&b, "Sforce-Call-Options: client=%s", c->call_client);
        h = curl_slist_append(h, b.data);
    }
    h = curl_slist_append(h, "Expect:");
    sfr_buf_cleanup(&b);
    return h;
}

static CURLcode perform(struct sfr_sf *c, const struct sf_req *rq, struct attempt *a,
                        const char *url)
{
    CURL *h = c->curl;
    curl_easy_reset(h); /* keeps live connections, DNS and TLS session caches */
    struct curl_slist *hdrs = make_headers(c, rq);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 256L * 1024);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "sfrecon/" SFR_VERSION);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->curl_err);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, a);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, a);
    const char *ca = getenv("SF_CA_FILE");
    if (ca != NULL && ca[0])
        curl_easy_setopt(h, CURLOPT_CAINFO, ca);
    /* libcurl silently sends a request again when a kept-alive connection
     * turns out dead before any answer byte: after a server that applied a
     * create and then dropped the connection, that would be a second create.
     * Record creates get a connection of their own. */
    if (rq->creates_records)
        curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
    if (rq->body != NULL) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
    }
    if (strcmp(rq->method, "GET") == 0)
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    else if (strcmp(rq->method, "POST") != 0 || rq->body == NULL)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
    c->curl_err[0] = '\0';
    CURLcode cc = curl_easy_perform(h);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdrs);
    return cc;
}

/* 1: nothing was sent (always safe to retry); 2: the request may have
 * reached the server (retry only idempotent requests); 0: do not retry. */
static int transport_kind(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
        return 1;
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_BAD_CONTENT_ENCODING:
        return 2;
    default:
        return 0;
    }
}

/* A request that must not be repeated failed after it may have been
 * applied: no retry, and the caller learns that the outcome is unknown. */
static void mark_unknown(struct sf_resp *rs, struct sfr_err *err)
{
    rs->outcome_unknown = true;
    if (err != NULL) {
        sfr_err_prefix(err, "outcome unknown (the request may have been applied, so it is not "
                            "repeated)");
        snprintf(err->sf_code, sizeof(err->sf_code), "OUTCOME_UNKNOWN");
    }
}

/* Path without the query string, for messages (SOQL can be long). */
static void short_path(const char *path, char *out, size_t n)
{
    const char *p = path;
    if (strncasecmp(p, "http", 4) == 0) {
        const char *s = strstr(p, "://");
        if (s != NULL && (s = strchr(s + 3, '/')) != NULL)
            p = s;
    }
    size_t len = strcspn(p, "?");
    if (len >= n)
        len = n - 1;
    memcpy(out, p, len);
    out[len] = '\0';
}

static enum sfr_rc budget_take(struct sfr_sf *c, struct sfr_err *err)
{
    long max = atomic_load(&c->budget->max);
    long used = atomic_fetch_add(&c->budget->used, 1);
    if (max > 0 && used >= max) {
        atomic_fetch_sub(&c->budget->used, 1);
        enum sfr_rc rc = sfr_err_set(err, SFR_ELIMIT,
                                     "Salesforce API call budget is spent (%ld calls made, "
                                     "start-up describe calls included)",
                                     max);
        sfr_err_hint(err, "raise --max-api-calls, sfrecon.max_api_calls or the mapping's "
                          "sf_max_daily_api_calls, or audit fewer objects");
        return rc;
    }
    return SFR_OK;
}

static long cap_for(const struct sfr_sf *c, const char *object)
{
    for (int i = 0; object != NULL && object[0] && i < c->n_caps; i++)
        if (strcasecmp(c->caps[i].object, object) == 0)
            return c->caps[i].cap;
    return c->default_cap;
}

/* The org's count must be known (and, once calls are refused, fresh). */
static void usage_refresh(struct sfr_sf *c, long cap)
{
    time_t now = time(NULL);
    bool unknown = c->limit_used < 0;
    bool stale = c->limit_used >= cap && now - c->usage_read_at >= c->usage_reread_s;
    if (!unknown && !stale)
        return;
    long u, m;
    struct sfr_err e = {0};
    if (sfr_sf_read_usage(c, &u, &m, &e) != SFR_OK)
        sfr_log_warn("cannot read the org's API usage (GET /limits): %s", e.msg);
}

/* The daily budget of rq's object (sf_max_daily_api_calls), from the org's own count. */
static enum sfr_rc daily_take(struct sfr_sf *c, const struct sf_req *rq, struct sfr_err *err)
{
    /* start-up describes serve every object: only the cap of calls tied to
     * no object (every mapping capped: the widest) applies to them */
    long cap = strcmp(c->phase, "describe") == 0 ? c->default_cap : cap_for(c, rq->object);
    if (cap <= 0 || rq->usage_probe)
        return SFR_OK;
    usage_refresh(c, cap);
    if (c->limit_used < cap)
        return SFR_OK;
    enum sfr_rc rc = sfr_err_set(err, SFR_ELIMIT,
                                 "daily API budget reached: Salesforce counts %ld of the org's "
                                 "%ld API calls in the last 24 hours, and the daily budget "
                                 "(sf_max_daily_api_calls%s%s) is %ld",
                                 c->limit_used, c->limit_max, rq->object ? " of " : "",
                                 rq->object ? rq->object : "", cap);
    sfr_err_hint(err, "wait until the org's usage falls, or raise the mapping's "
                      "sf_max_daily_api_calls");
    return rc;
}

long sfr_sf_daily_room(struct sfr_sf *c, const char *object)
{
    long cap = cap_for(c, object);
    if (cap <= 0)
        return LONG_MAX;
    usage_refresh(c, cap);
    if (c->limit_used < 0)
        return cap; /* unknown: the cap is all we know */
    return c->limit_used >= cap ? 0 : cap - c->limit_used;
}

enum sfr_rc sfr_sf_read_usage(struct sfr_sf *c, long *used, long *max, struct sfr_err *err)
{
    struct sfr_buf path = SFR_BUF_INIT;
    sf_data_path(c, &path);
    sfr_buf_puts(&path, "/limits");
    struct sf_req rq = {.method = "GET", .path = path.data, .usage_probe = true};
    struct sf_resp rs;
    sf_resp_init(&rs);
    enum sfr_rc rc = sf_do(c, &rq, &rs, err);
    c->usage_read_at = time(NULL);
    json_object *j = NULL, *d, *v;
    if (rc == SFR_OK) {
        j = json_tokener_parse(rs.body.data ? rs.body.data : "");
        long m = -1, rem = -1;
        if (j != NULL && json_object_object_get_ex(j, "DailyApiRequests", &d)) {
            if (json_object_object_get_ex(d, "Max", &v))
                m = json_object_get_int64(v);
            if (json_object_object_get_ex(d, "Remaining", &v))
                rem = json_object_get_int64(v);
        }
        if (m < 0 || rem < 0 || rem > m) {
            rc = sfr_err_set(err, SFR_ESF, "GET /limits: no DailyApiRequests Max/Remaining");
        } else {
            /* the answer's Sforce-Limit-Info, when there was one, already
             * counts this call; the body's figure may not */
            long u = m - rem;
            if (u > c->limit_used)
                c->limit_used = u;
            c->limit_max = m;
        }
    }
    if (used != NULL)
        *used = c->limit_used;
    if (max != NULL)
        *max = c->limit_max;
    json_object_put(j);
    sf_resp_cleanup(&rs);
    sfr_buf_cleanup(&path);
    return rc;
}

static enum sfr_rc sf_auth(struct sfr_sf *c, struct sfr_err *err);

static enum sfr_rc http_error(struct sfr_sf *c, const struct sf_req *rq, struct sf_resp *rs,
                              struct sfr_err *err)
{
    char code[64], msg[512], path[200];
    sfr_sf_parse_error(rs->body.data, rs->body.len, code, sizeof(code), msg, sizeof(msg));
    short_path(rq->path, path, sizeof(path));
    enum sfr_rc rc = SFR_ESF;
    if (rq->no_auth)
        rc = SFR_EAUTH;
    else if (rs->status == 401)
        rc = SFR_EAUTH;
    else if (rs->status == 403 && strcmp(code, "REQUEST_LIMIT_EXCEEDED") == 0)
        rc = SFR_ELIMIT;
    else if (rs->status == 404)
        rc = SFR_ENOTFOUND;
    if (rc == SFR_ELIMIT)
        sfr_err_set(err, rc, "Salesforce API limit reached (REQUEST_LIMIT_EXCEEDED): %s", msg);
    else if (rq->no_auth)
        sfr_err_set(err, rc, "Salesforce login failed (HTTP %ld%s%s%s%s)", rs->status,
                    code[0] ? ", " : "", code, msg[0] ? ": " : "", msg);
    else
        sfr_err_set(err, rc, "Salesforce %s %s: HTTP %ld%s%s%s%s", rq->method, path, rs->status,
                    code[0] ? " " : "", code, msg[0] ? ": " : "", msg);
    if (err != NULL) {
        err->http_status = rs->status;
        copy_str(err->sf_code, sizeof(err->sf_code), code);
    }
    if (rc == SFR_ELIMIT)
        sfr_err_hint(err, "the org's daily API limit is used up; retry after it resets");
    else if (rc == SFR_EAUTH && !rq->no_auth && !c->can_auth)
        sfr_err_hint(err, "SF_ACCESS_TOKEN was refused; set a fresh token, or SF_LOGIN_URL "
                          "with client credentials so sfrecon can log in again");
    return rc;
}

/* Decides what a finished attempt means: 0 = done (rc in *rc), 1 = retry, 2 = re-auth. */
static int classify(struct sfr_sf *c, const struct sf_req *rq, struct sf_resp *rs, CURLcode cc,
                    struct attempt *a, bool can_reauth, enum sfr_rc *rc, struct sfr_err *err)
{
    char path[200];
    short_path(rq->path, path, sizeof(path));
    if (cc == CURLE_WRITE_ERROR && a->sink_state == 1) {
        rs->stopped = true;
        *rc = SFR_OK;
        return 0;
    }
    if (cc == CURLE_WRITE_ERROR && a->sink_state == -1) {
        if (err != NULL)
            *err = rq->sink->err;
        *rc = rq->sink->err.rc ? rq->sink->err.rc : SFR_ESF;
        return 0;
    }
    if (a->too_big) {
        *rc =
            sfr_err_set(err, SFR_EHTTP, "Salesforce %s %s: response larger than %ld bytes",
                        rq->method, path, rs->status / 100 == 2 ? SF_MAX_BODY : SF_MAX_ERROR_BODY);
        return 0;
    }
    if (cc != CURLE_OK) {
        *rc = sfr_err_set(err, SFR_EHTTP, "Salesforce %s %s: %s", rq->method, path,
                          c->curl_err[0] ? c->curl_err : curl_easy_strerror(cc));
        int kind = transport_kind(cc);
        if (kind == 2 && rq->not_idempotent) {
            mark_unknown(rs, err);
            return 0;
        }
        return kind != 0 ? 1 : 0;
    }
    if (rs->status >= 200 && rs->status < 300) {
        if (rq->sink != NULL && rq->sink->complete != NULL && !rq->sink->complete(rq->sink->ctx)) {
            *rc = sfr_err_set(err, SFR_EHTTP, "Salesforce %s %s: response body cut short",
                              rq->method, path);
            if (rq->not_idempotent)
                mark_unknown(rs, err);
            return rq->not_idempotent ? 0 : 1;
        }
        *rc = SFR_OK;
        return 0;
    }
    *rc = http_error(c, rq, rs, err);
    if (rs->status == 401 && !rq->no_auth && can_reauth)
        return 2;
    if (*rc == SFR_ELIMIT || rq->no_auth)
        return rs->status >= 500 ? 1 : 0;
    bool lock = err != NULL && strcmp(err->sf_code, "UNABLE_TO_LOCK_ROW") == 0;
    if (lock)
        return 1; /* the row lock failed: nothing was written */
    if (rs->status >= 500) {
        /* a gateway timeout or a server error may come after the write was
         * applied: only requests that can be repeated are repeated */
        if (!rq->not_idempotent)
            return 1;
        mark_unknown(rs, err);
        return 0;
    }
    return 0;
}

enum sfr_rc sf_do(struct sfr_sf *c, const struct sf_req *rq, struct sf_resp *rs,
                  struct sfr_err *err)
{
    enum sfr_rc rc = SFR_OK;
    bool can_reauth = c->can_auth;
    if (c->curl == NULL)
        return sfr_err_set(err, SFR_EINTERNAL, "no libcurl handle");
    if (!rq->no_auth && c->token == NULL) {
        if (!c->can_auth)
            return sfr_err_set(err, SFR_ECONFIG, "SF_ACCESS_TOKEN is not set");
        if ((rc = sf_auth(c, err)) != SFR_OK)
            return rc;
    }
    /* absolute URLs come from responses (nextRecordsUrl, locators...): the
     * session token goes to the instance and nowhere else */
    bool absolute =
        strncasecmp(rq->path, "http://", 7) == 0 || strncasecmp(rq->path, "https://", 8) == 0;
    if (absolute && (rq->no_auth || !same_origin(rq->path, c->instance_url))) {
        char host[256] = "";
        bool https;
        long port;
        if (!url_parts(rq->path, &https, host, sizeof(host), &port))
            snprintf(host, sizeof(host), "a malformed URL");
        rc = sfr_err_set(err, SFR_ESF,
                         "refusing to send the Salesforce session to %s: it is not the instance "
                         "host",
                         host);
        sfr_err_hint(err, "a response pointed outside the instance (SF_INSTANCE_URL or the login "
                          "answer's instance_url)");
        return rc;
    }
    struct sfr_buf url = SFR_BUF_INIT;
    for (int attempt = 1;; attempt++) {
        if (!rq->no_auth && (rc = budget_take(c, err)) != SFR_OK)
            break;
        if (!rq->no_auth && (rc = daily_take(c, rq, err)) != SFR_OK) {
            atomic_fetch_sub(&c->budget->used, 1);
            break;
        }
        sfr_buf_reset(&url);
        if (absolute)
            sfr_buf_puts(&url, rq->path);
        else
            sfr_buf_printf(&url, "%s%s", rq->no_auth ? c->login_url : c->instance_url, rq->path);
        struct attempt a = {c, rq, rs, 0, false};
        rs->status = 0;
        rs->stopped = false;
        rs->outcome_unknown = false;
        rs->locator[0] = '\0';
        rs->n_records = -1;
        sfr_buf_reset(&rs->body);
        if (rq->sink != NULL) {
            sfr_err_clear(&rq->sink->err);
            if (rq->sink->reset != NULL)
                rq->sink->reset(rq->sink->ctx);
        }
        CURLcode cc = perform(c, rq, &a, url.data);
        if (!rq->no_auth)
            sfr_sf_calls_count(&c->calls, rq->object, c->phase, 1);
        int what = classify(c, rq, rs, cc, &a, can_reauth, &rc, err);
        if (what == 0)
            break;
        if (what == 2) {
            can_reauth = false;
            sfr_log_info("Salesforce session expired; logging in again");
            if ((rc = sf_auth(c, err)) != SFR_OK)
                break;
            attempt--;
            continue;
        }
        if (attempt >= SF_MAX_ATTEMPTS) {
            sfr_err_prefix(err, "after %d attempts", attempt);
            break;
        }
        sfr_log_warn("%s; retrying (attempt %d of %d)", err ? err->msg : "request failed",
                     attempt + 1, SF_MAX_ATTEMPTS);
        sf_backoff(c, attempt);
    }
    sfr_buf_cleanup(&url);
    return rc;
}

/* ---- OAuth token ---- */

static void form_add(struct sfr_buf *b, const char *k, const char *v)
{
    if (b->len > 0)
        sfr_buf_putc(b, '&');
    sfr_buf_puts(b, k);
    sfr_buf_putc(b, '=');
    sf_urlencode(b, v);
}

static enum sfr_rc sf_auth(struct sfr_sf *c, struct sfr_err *err)
{
    struct sfr_buf form = SFR_BUF_INIT;
    bool pw = c->username != NULL;
    form_add(&form, "grant_type", pw ? "password" : "client_credentials");
    form_add(&form, "client_id", c->client_id);
    form_add(&form, "client_secret", c->client_secret);
    if (pw) {
        form_add(&form, "username", c->username);
        form_add(&form, "password", c->password);
    }
    struct sf_req rq = {.method = "POST",
                        .path = "/services/oauth2/token",
                        .body = form.data,
                        .body_len = form.len,
                        .content_type = "application/x-www-form-urlencoded",
                        .no_auth = true};
    struct sf_resp rs;
    sf_resp_init(&rs);
    json_object *j = NULL;
    enum sfr_rc rc = sf_do(c, &rq, &rs, err);
    memset(form.data, 0, form.len);
    sfr_buf_cleanup(&form);
    if (rc != SFR_OK) {
        sfr_err_hint(err, "check SF_LOGIN_URL, SF_CLIENT_ID, SF_CLIENT_SECRET%s",
                     pw ? ", SF_USERNAME and SF_PASSWORD (with the security token appended)" : "");
        goto out;
    }
    j = json_tokener_parse(rs.body.data ? rs.body.data : "");
    json_object *tok, *inst;
    if (j == NULL || !json_object_object_get_ex(j, "access_token", &tok) ||
        !json_object_is_type(tok, json_type_string)) {
        rc = sfr_err_set(err, SFR_EAUTH, "Salesforce login answer lacks access_token");
        goto out;
    }
    if (c->token != NULL) {
        memset(c->token, 0, strlen(c->token));
        free(c->token);
    }
    c->token = sfr_strdup(json_object_get_string(tok));
    if (json_object_object_get_ex(j, "instance_url", &inst) &&
        json_object_is_type(inst, json_type_string) && json_object_get_string_len(inst) > 0) {
        const char *u = json_object_get_string(inst);
        if ((rc = sfr_sf_url_check("the instance_url of the login answer", u, err)) != SFR_OK)
            goto out;
        {
            free(c->instance_url);
            c->instance_url = sfr_strdup(u);
            size_t n = strlen(c->instance_url);
            while (n > 0 && c->instance_url[n - 1] == '/')
                c->instance_url[--n] = '\0';
        }
    }
    if (c->instance_url == NULL)
        rc = sfr_err_set(err, SFR_EAUTH, "Salesforce login answer lacks instance_url");
    sfr_log_debug("logged in to Salesforce (%s flow)", pw ? "password" : "client_credentials");
out:
    if (rs.body.data != NULL)
        memset(rs.body.data, 0, rs.body.len);
    sf_resp_cleanup(&rs);
    json_object_put(j);
    return rc;
}

enum sfr_rc sfr_sf_request(struct sfr_sf *c, const char *method, const char *path, const char *body,
                           const char *object, struct sfr_buf *resp, long *http_status,
                           struct sfr_err *err)
{
    struct sf_req rq = {.method = method,
                        .path = path,
                        .body = body,
                        .body_len = body ? strlen(body) : 0,
                        .object = object,
                        .not_idempotent = strcmp(method, "POST") == 0};
    struct sf_resp rs;
    sf_resp_init(&rs);
    enum sfr_rc rc = sf_do(c, &rq, &rs, err);
    if (http_status != NULL)
        *http_status = rs.status;
    if (rc == SFR_OK && resp != NULL && rs.body.len > 0)
        sfr_buf_append(resp, rs.body.data, rs.body.len);
    sf_resp_cleanup(&rs);
    return rc;
}

enum sfr_rc sf_login(struct sfr_sf *c, struct sfr_err *err)
{
    if (!c->can_auth)
        return sfr_err_set(err, SFR_EAUTH,
                           "the Salesforce session expired and no login "
                           "credentials (SF_LOGIN_URL, SF_CLIENT_ID, ...) are set");
    return sf_auth(c, err);
}
