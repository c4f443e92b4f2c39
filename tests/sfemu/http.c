/* http.c — sfemu's HTTP layer: the libmicrohttpd access handler (body
 * accumulation with a size cap, streaming of admin loads), routing to the
 * endpoint modules, auth, API-usage accounting, fault injection, and the
 * response/JSON/time helpers every module uses.
 *
 * Every response under /services/data carries Sforce-Limit-Info. Faults and
 * the daily limit apply to /services requests only, never to /__emu. */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "emu.h"
#include "sfrecon/canon.h"
#include "sfrecon/log.h"

int64_t emu_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    /* atomic, not EMU.lock: callers may hold the lock */
    return ms + __atomic_load_n(&EMU.clock_offset_ms, __ATOMIC_RELAXED);
}

static void split_ms(int64_t ms, struct tm *tm, int *msec)
{
    int64_t s = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    *msec = (int)(ms - s * 1000);
    time_t t = (time_t)s;
    gmtime_r(&t, tm);
}

void emu_fmt_sf_datetime(int64_t ms, char out[32])
{
    struct tm tm;
    int msec;
    split_ms(ms, &tm, &msec);
    char tmp[96];
    snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d.%03d+0000", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, msec);
    snprintf(out, 32, "%.31s", tmp);
}

void emu_fmt_pg_datetime(int64_t ms, char out[32])
{
    struct tm tm;
    int msec;
    split_ms(ms, &tm, &msec);
    char tmp[96];
    snprintf(tmp, sizeof tmp, "%04d-%02d-%02d %02d:%02d:%02d.%03d", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, msec);
    snprintf(out, 32, "%.31s", tmp);
}

static int days_in_month(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return d[m - 1];
}

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

bool emu_parse_date(const char *s, int *y, int *m, int *d)
{
    if (strlen(s) < 10 || s[4] != '-' || s[7] != '-')
        return false;
    *y = digits(s, 4);
    *m = digits(s + 5, 2);
    *d = digits(s + 8, 2);
    if (*y < 1 || *m < 1 || *m > 12 || *d < 1 || *d > days_in_month(*y, *m))
        return false;
    return true;
}

bool emu_parse_datetime(const char *s, int64_t *ms)
{
    int y, mo, d;
    if (!emu_parse_date(s, &y, &mo, &d))
        return false;
    int64_t v = sfr_days_from_civil(y, mo, d) * 86400000LL;
    const char *p = s + 10;
    if (*p == '\0') {
        *ms = v;
        return true;
    }
    if (*p != 'T' && *p != ' ')
        return false;
    p++;
    int hh = digits(p, 2), mi = (p[2] == ':') ? digits(p + 3, 2) : -1;
    if (hh < 0 || hh > 23 || mi < 0 || mi > 59)
        return false;
    p += 5;
    int ss = 0, frac = 0;
    if (*p == ':') {
        ss = digits(p + 1, 2);
        if (ss < 0 || ss > 60)
            return false;
        p += 3;
        if (*p == '.') {
            p++;
            int nd = 0;
            while (isdigit((unsigned char)*p)) {
                if (nd < 3)
                    frac = frac * 10 + (*p - '0');
                nd++;
                p++;
            }
            if (nd == 0)
                return false;
            for (; nd < 3; nd++)
                frac *= 10;
        }
    }
    v += ((int64_t)hh * 3600 + mi * 60 + ss) * 1000 + frac;
    if (*p == 'Z' && p[1] == '\0') {
        *ms = v;
        return true;
    }
    if (*p == '\0') {
        *ms = v;
        return true;
    }
    if (*p != '+' && *p != '-')
        return false;
    int sign = *p == '-' ? -1 : 1;
    p++;
    int oh = digits(p, 2), om;
    if (oh < 0)
        return false;
    p += 2;
    if (*p == ':')
        p++;
    om = digits(p, 2);
    if (om < 0 || p[2] != '\0')
        return false;
    *ms = v - sign * ((int64_t)oh * 3600 + om * 60) * 1000;
    return true;
}

void emu_random_b62(char *out, int n)
{
    static const char a[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    unsigned char rnd[64];
    if (n > 64)
        n = 64;
    if (getrandom(rnd, (size_t)n, 0) != (ssize_t)n)
        for (int i = 0; i < n; i++)
            rnd[i] = (unsigned char)rand();
    for (int i = 0; i < n; i++)
        out[i] = a[rnd[i] % 62];
    out[n] = '\0';
}

void emu_json_strn(struct sfr_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    sfr_buf_reserve(b, n + 2);
    char *o = b->data + b->len;
    size_t room = b->cap - b->len;
    size_t used = 0;
    *o++ = '"';
    used++;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (room - used < 8) {
            b->len += used;
            sfr_buf_reserve(b, (n - i) + 16);
            o = b->data + b->len;
            room = b->cap - b->len;
            used = 0;
        }
        if (c >= 0x20 && c != '"' && c != '\\') {
            *o++ = (char)c;
            used++;
            continue;
        }
        *o++ = '\\';
        used += 2;
        switch (c) {
        case '"':
            *o++ = '"';
            break;
        case '\\':
            *o++ = '\\';
            break;
        case '\n':
            *o++ = 'n';
            break;
        case '\r':
            *o++ = 'r';
            break;
        case '\t':
            *o++ = 't';
            break;
        case '\b':
            *o++ = 'b';
            break;
        case '\f':
            *o++ = 'f';
            break;
        default:
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
            used += 4;
        }
    }
    *o++ = '"';
    used++;
    b->len += used;
    b->data[b->len] = '\0';
}

void emu_json_str(struct sfr_buf *b, const char *s)
{
    if (s == NULL)
        sfr_buf_puts(b, "null");
    else
        emu_json_strn(b, s, strlen(s));
}

void emu_add_header(struct emu_req *r, const char *name, const char *value)
{
    if (r->n_hdr >= EMU_MAX_HDRS)
        return;
    r->hdr_name[r->n_hdr] = name;
    r->hdr_val[r->n_hdr] = sfr_strdup(value);
    r->n_hdr++;
}

const char *emu_arg(struct emu_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *emu_header(struct emu_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

static void add_std_headers(struct emu_req *r, struct MHD_Response *resp)
{
    if (r->is_data) {
        char v[64];
        pthread_mutex_lock(&EMU.lock);
        snprintf(v, sizeof v, "api-usage=%ld/%ld", EMU.api_usage, EMU.daily_limit);
        pthread_mutex_unlock(&EMU.lock);
        MHD_add_response_header(resp, "Sforce-Limit-Info", v);
    }
    for (int i = 0; i < r->n_hdr; i++)
        MHD_add_response_header(resp, r->hdr_name[i], r->hdr_val[i]);
    /* the Date of the emulator's clock (POST /__admin/clock moves it), as
     * Salesforce's responses carry its own clock */
    char date[64];
    time_t t = (time_t)(emu_now_ms() / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    MHD_add_response_header(resp, "Date", date);
}

enum MHD_Result emu_send(struct emu_req *r, unsigned status, const char *ctype,
                         struct sfr_buf *body)
{
    size_t len = body ? body->len : 0;
    char *data = body && body->data ? sfr_buf_steal(body) : NULL;
    struct MHD_Response *resp;
    if (data != NULL)
        resp = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    else
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (resp == NULL) {
        free(data);
        return MHD_NO;
    }
    if (ctype != NULL && (len > 0 || status != 204))
        MHD_add_response_header(resp, "Content-Type", ctype);
    add_std_headers(r, resp);
    enum MHD_Result ret = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Streams a response produced by a content reader callback. */
enum MHD_Result emu_send_stream(struct emu_req *r, unsigned status, const char *ctype,
                                MHD_ContentReaderCallback cb, void *cls,
                                MHD_ContentReaderFreeCallback fcb);
enum MHD_Result emu_send_stream(struct emu_req *r, unsigned status, const char *ctype,
                                MHD_ContentReaderCallback cb, void *cls,
                                MHD_ContentReaderFreeCallback fcb)
{
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 256 * 1024, cb, cls, fcb);
    if (resp == NULL) {
        fcb(cls);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", ctype);
    add_std_headers(r, resp);
    enum MHD_Result ret = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

enum MHD_Result emu_send_json(struct emu_req *r, unsigned status, struct sfr_buf *body)
{
    return emu_send(r, status, "application/json;charset=UTF-8", body);
}

enum MHD_Result emu_send_str(struct emu_req *r, unsigned status, const char *json)
{
    struct sfr_buf b = SFR_BUF_INIT;
    sfr_buf_puts(&b, json);
    return emu_send_json(r, status, &b);
}

enum MHD_Result emu_send_error(struct emu_req *r, unsigned status, const char *code,
                               const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct sfr_buf b = SFR_BUF_INIT;
    sfr_buf_puts(&b, "[{\"message\":");
    emu_json_str(&b, msg);
    sfr_buf_puts(&b, ",\"errorCode\":");
    emu_json_str(&b, code);
    sfr_buf_puts(&b, "}]");
    return emu_send_json(r, status, &b);
}

enum MHD_Result emu_send_not_found(struct emu_req *r)
{
    return emu_send_error(r, 404, "NOT_FOUND", "The requested resource does not exist");
}

/* ---- request accounting, auth and faults ---- */

static void today(char out[11])
{
    char dt[32];
    emu_fmt_pg_datetime(emu_now_ms(), dt);
    memcpy(out, dt, 10);
    out[10] = '\0';
}

/* The live token tok, NULL when it is unknown or expired. Under EMU.lock. */
static struct emu_token *token_find(const char *tok)
{
    struct emu_token *t = EMU.tokens;
    while (t != NULL && strcmp(t->token, tok) != 0)
        t = t->next;
    return t;
}

static bool token_valid(const char *tok)
{
    pthread_mutex_lock(&EMU.lock);
    bool ok = token_find(tok) != NULL;
    pthread_mutex_unlock(&EMU.lock);
    return ok;
}

/* The session token of the request's Authorization header, NULL when none. */
static const char *bearer(struct emu_req *r)
{
    const char *h = emu_header(r, "Authorization");
    if (h == NULL)
        return NULL;
    if (strncasecmp(h, "Bearer ", 7) == 0)
        h += 7;
    else if (strncasecmp(h, "OAuth ", 6) == 0)
        h += 6;
    else
        return NULL;
    while (*h == ' ')
        h++;
    return h;
}

/* True when the request carries a live bearer token. */
static bool authorized(struct emu_req *r)
{
    const char *tok = bearer(r);
    return tok != NULL && token_valid(tok);
}

static void count_endpoint(struct emu_req *r)
{
    /* seg: services data vNN.0 <kind> ... */
    const char *k = r->n_seg > 3 ? r->seg[3] : "";
    struct emu_counters *c = &EMU.counters;
    c->total++;
    if (strcmp(k, "query") == 0 || strcmp(k, "queryAll") == 0)
        (r->n_seg > 4 ? c->query_more++ : c->query++);
    else if (strcmp(k, "composite") == 0)
        c->composite++;
    else if (strcmp(k, "jobs") == 0)
        c->bulk++;
    else if (strcmp(k, "sobjects") == 0 && r->n_seg >= 6 && strcmp(r->seg[5], "describe") == 0)
        c->describe++;
    else if (strcmp(k, "sobjects") == 0 && r->n_seg == 4)
        c->describe++;
    else if (strcmp(k, "sobjects") == 0)
        c->sobject++;
    else
        c->other++;
}

/* The periodic faults of a request (under EMU.lock): every drop_every-th
 * request is dropped, every fail_every-th fails, and a live token expires at
 * its expire_every-th use (that request gets the 401 a dead session gets;
 * counted per token, so a client that logs in again gets a fresh allowance
 * whatever other clients do meanwhile). A drop takes precedence. */
static void storm_gate(struct emu_req *r, long *status, bool *drop, bool *expire)
{
    struct emu_storm *s = &EMU.storm;
    if (s->drop_every > 0 && ++s->drop_seen % s->drop_every == 0)
        *drop = true;
    if (s->fail_every > 0 && ++s->fail_seen % s->fail_every == 0)
        *status = EMU.faults.fail_status;
    const char *tok = s->expire_every > 0 ? bearer(r) : NULL;
    struct emu_token *t = tok != NULL ? token_find(tok) : NULL;
    if (t != NULL && ++t->uses % s->expire_every == 0)
        *expire = true;
}

/* Counts the faults a request is served (under EMU.lock). */
static void count_injected(long status, bool drop, bool expire)
{
    if (drop)
        EMU.counters.injected_drop++;
    else if (status > 0)
        EMU.counters.injected_fail++;
    if (expire)
        EMU.counters.injected_expire++;
}

/* Applies faults and limits to a /services request; returns true when a
 * response (or drop) was produced and handling must stop. */
static bool services_gate(struct emu_req *r, enum MHD_Result *ret)
{
    long latency, status = 0;
    bool limit = false, drop = false, expire = false;
    pthread_mutex_lock(&EMU.lock);
    struct emu_faults *f = &EMU.faults;
    latency = f->latency_ms;
    storm_gate(r, &status, &drop, &expire);
    if (f->drop_nth > 0 && ++f->drop_seen == f->drop_nth) {
        drop = true;
        f->drop_nth = 0;
    }
    if (f->fail_nth > 0) {
        f->fail_seen++;
        if (f->fail_seen >= f->fail_nth && f->fail_seen < f->fail_nth + f->fail_count)
            status = f->fail_status;
        if (f->fail_seen >= f->fail_nth + f->fail_count)
            f->fail_nth = 0;
    }
    if (r->is_data) {
        char day[11];
        pthread_mutex_unlock(&EMU.lock);
        today(day);
        pthread_mutex_lock(&EMU.lock);
        if (strcmp(day, EMU.api_day) != 0) {
            memcpy(EMU.api_day, day, sizeof day);
            EMU.api_usage = 0;
        }
        EMU.api_usage++;
        count_endpoint(r);
        limit = f->limit_reached || EMU.api_usage > EMU.daily_limit;
    }
    count_injected(status, drop, expire);
    pthread_mutex_unlock(&EMU.lock);
    if (expire)
        (void)emu_revoke_token(bearer(r));
    if (latency > 0)
        usleep((useconds_t)latency * 1000);
    if (drop) {
        r->drop = true;
        *ret = MHD_NO;
        return true;
    }
    if (status > 0) {
        *ret = emu_send_error(r, (unsigned)status,
                              status == 503 ? "SERVER_UNAVAILABLE" : "UNKNOWN_EXCEPTION",
                              "An unexpected error occurred. Please try again (injected fault).");
        return true;
    }
    if (limit) {
        *ret = emu_send_error(r, 403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.");
        return true;
    }
    return false;
}

/* ---- routing ---- */

static void split_path(struct emu_req *r, const char *url)
{
    size_t n = strcspn(url, "?");
    r->path = sfr_strndup(url, n);
    int cap = 8;
    r->seg = sfr_calloc((size_t)cap, sizeof *r->seg);
    char *p = r->path;
    while (*p == '/')
        p++;
    while (*p != '\0') {
        char *e = strchr(p, '/');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (r->n_seg == cap) {
            cap *= 2;
            r->seg = sfr_realloc(r->seg, (size_t)cap * sizeof *r->seg);
        }
        r->seg[r->n_seg++] = sfr_strndup(p, l);
        p += l;
        while (*p == '/')
            p++;
    }
}

static enum MHD_Result route(struct emu_req *r)
{
    enum MHD_Result ret;
    bool services = r->n_seg >= 1 && strcmp(r->seg[0], "services") == 0;
    r->is_data = services && r->n_seg >= 2 && strcmp(r->seg[1], "data") == 0;
    bool cometd = r->n_seg >= 1 && strcmp(r->seg[0], "cometd") == 0;
    bool identity = r->n_seg >= 1 && strcmp(r->seg[0], "id") == 0;
    if (r->n_seg >= 1 && strcmp(r->seg[0], "__emu") == 0) {
        if (!EMU.admin)
            return emu_send_not_found(r);
        return emu_admin(r);
    }
    if (!services && !cometd && !identity)
        return emu_send_not_found(r);
    if (services_gate(r, &ret))
        return ret;
    if (r->too_big)
        return emu_send_error(r, 413, "REQUEST_ENTITY_TOO_LARGE",
                              "Request body exceeds the maximum of %ld bytes", EMU_MAX_BODY);
    if (r->n_seg >= 3 && strcmp(r->seg[1], "oauth2") == 0 &&
        (strcmp(r->seg[2], "token") == 0 || strcmp(r->seg[2], "revoke") == 0))
        return emu_oauth(r);
    if (services && r->n_seg >= 2 && strcmp(r->seg[1], "Soap") == 0)
        return emu_soap(r); /* the login call carries credentials, not a session */
    if (r->is_data && r->n_seg == 2)
        return emu_rest(r); /* the versions list needs no session, as on Salesforce */
    if (!authorized(r)) {
        if (cometd)
            return emu_send_str(r, 401,
                                "[{\"message\":\"Session expired or invalid\","
                                "\"errorCode\":\"INVALID_SESSION_ID\"}]");
        return emu_send_error(r, 401, "INVALID_SESSION_ID", "Session expired or invalid");
    }
    if (cometd)
        return emu_cometd(r);
    if (identity)
        return emu_identity(r);
    if (r->n_seg >= 3 && strcmp(r->seg[1], "oauth2") == 0)
        return emu_oauth(r);
    if (r->is_data)
        return emu_rest(r);
    return emu_send_not_found(r);
}

static bool is_load(const char *url, const char *method)
{
    return strcmp(method, "POST") == 0 && strncmp(url, "/__emu/load/", 12) == 0 && EMU.admin;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct emu_req *r = *con_cls;
    if (r == NULL) {
        r = sfr_calloc(1, sizeof *r);
        r->conn = conn;
        r->method = method;
        split_path(r, url);
        *con_cls = r;
        if (is_load(url, method) && r->n_seg == 3)
            emu_load_begin(r, r->seg[2]);
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (r->load != NULL) {
            emu_load_chunk(r, upload_data, *upload_data_size);
        } else if (!r->too_big) {
            if (r->body.len + *upload_data_size > (size_t)EMU_MAX_BODY) {
                r->too_big = true;
                sfr_buf_cleanup(&r->body);
            } else {
                sfr_buf_append(&r->body, upload_data, *upload_data_size);
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (r->load != NULL)
        return emu_load_finish(r);
    if (r->too_big && !(r->n_seg >= 1 && strcmp(r->seg[0], "services") == 0))
        return emu_send_error(r, 413, "REQUEST_ENTITY_TOO_LARGE",
                              "Request body exceeds the maximum of %ld bytes", EMU_MAX_BODY);
    if (r->body.data == NULL)
        sfr_buf_puts(&r->body, "");
    return route(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct emu_req *r = *con_cls;
    if (r == NULL)
        return;
    if (r->load != NULL)
        emu_load_abort(r);
    for (int i = 0; i < r->n_seg; i++)
        free(r->seg[i]);
    free(r->seg);
    free(r->path);
    for (int i = 0; i < r->n_hdr; i++)
        free(r->hdr_val[i]);
    sfr_buf_cleanup(&r->body);
    free(r);
    *con_cls = NULL;
}

/* Listens on bind_addr (numeric IPv4 or IPv6; NULL = 127.0.0.1) only. */
struct MHD_Daemon *emu_http_start(const char *bind_addr, unsigned port, unsigned *bound);
struct MHD_Daemon *emu_http_start(const char *bind_addr, unsigned port, unsigned *bound)
{
    struct sockaddr_in a4;
    struct sockaddr_in6 a6;
    struct sockaddr *sa;
    unsigned flags = 0;
    memset(&a4, 0, sizeof a4);
    memset(&a6, 0, sizeof a6);
    if (bind_addr == NULL)
        bind_addr = "127.0.0.1";
    if (inet_pton(AF_INET, bind_addr, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        a4.sin_port = htons((uint16_t)port);
        sa = (struct sockaddr *)&a4;
    } else if (inet_pton(AF_INET6, bind_addr, &a6.sin6_addr) == 1) {
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons((uint16_t)port);
        sa = (struct sockaddr *)&a6;
        flags = MHD_USE_IPv6;
    } else {
        return NULL;
    }
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
            MHD_USE_ERROR_LOG | flags,
        (uint16_t)port, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, sa,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)(1024 * 1024), MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)600,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)256, MHD_OPTION_END);
    if (d == NULL)
        return NULL;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    *bound = info ? info->port : port;
    return d;
}
