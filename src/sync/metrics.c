/* metrics.c — the daemon's HTTP endpoint (--metrics HOST:PORT), on
 * libmicrohttpd with its own thread: GET /metrics serves the Prometheus text
 * (exposition format 0.0.4) that the sync loop last rendered, GET /healthz
 * 200 "ok" while cycles succeed, else 503 with the reason. The loop renders;
 * the server thread only copies the last text under a mutex, so it never
 * touches the daemon's connections. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "sfrecon/log.h"
#include "sync_internal.h"

struct sfr_sync_metrics {
    struct MHD_Daemon *d;
    pthread_mutex_t lock;
    char *text;
    bool healthy;
    char *health;
    unsigned port;
};

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *ctype,
                                 const char *body)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", ctype);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    (void)version;
    (void)upload;
    (void)con_cls;
    struct sfr_sync_metrics *m = cls;
    if (*upload_size != 0) {
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return send_text(c, 405, "text/plain; charset=utf-8", "method not allowed\n");
    if (strcmp(url, "/metrics") == 0) {
        pthread_mutex_lock(&m->lock);
        char *copy = sfr_strdup(m->text ? m->text : "");
        pthread_mutex_unlock(&m->lock);
        enum MHD_Result ret = send_text(c, 200, "text/plain; version=0.0.4; charset=utf-8", copy);
        free(copy);
        return ret;
    }
    if (strcmp(url, "/healthz") == 0) {
        pthread_mutex_lock(&m->lock);
        bool ok = m->healthy;
        char *why = sfr_asprintf("%s\n", m->health ? m->health : (ok ? "ok" : "starting"));
        pthread_mutex_unlock(&m->lock);
        enum MHD_Result ret = send_text(c, ok ? 200 : 503, "text/plain; charset=utf-8", why);
        free(why);
        return ret;
    }
    return send_text(c, 404, "text/plain; charset=utf-8", "not found: /metrics, /healthz\n");
}

/* "HOST:PORT", "[v6]:PORT" or ":PORT" (all addresses). */
static enum sfr_rc parse_addr(const char *spec, struct sockaddr_storage *sa, socklen_t *len,
                              struct sfr_err *err)
{
    char host[256] = "", port[16] = "";
    const char *colon = strrchr(spec, ':');
    if (colon == NULL || colon[1] == '\0' || strlen(colon + 1) >= sizeof(port))
        return sfr_err_set(err, SFR_EUSAGE, "--metrics: expected HOST:PORT, got '%s'", spec);
    snprintf(port, sizeof(port), "%s", colon + 1);
    size_t hl = (size_t)(colon - spec);
    if (hl >= sizeof(host))
        return sfr_err_set(err, SFR_EUSAGE, "--metrics: host too long in '%s'", spec);
    memcpy(host, spec, hl);
    host[hl] = '\0';
    if (host[0] == '[' && hl >= 2 && host[hl - 1] == ']') {
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    }
    char *end = NULL;
    long p = strtol(port, &end, 10);
    if (end == port || *end != '\0' || p < 0 || p > 65535)
        return sfr_err_set(err, SFR_EUSAGE, "--metrics: port must be 0..65535, got '%s'", port);
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int g = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
    if (g != 0 || res == NULL)
        return sfr_err_set(err, SFR_EUSAGE, "--metrics: cannot resolve '%s': %s", host,
                           gai_strerror(g));
    memcpy(sa, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return SFR_OK;
}

enum sfr_rc sfr_sync_metrics_start(const char *spec, struct sfr_sync_metrics **out,
                                   struct sfr_err *err)
{
    *out = NULL;
    struct sockaddr_storage sa;
    socklen_t len = 0;
    enum sfr_rc rc = parse_addr(spec, &sa, &len, err);
    if (rc != SFR_OK)
        return rc;
    struct sfr_sync_metrics *m = sfr_calloc(1, sizeof(*m));
    pthread_mutex_init(&m->lock, NULL);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
    if (sa.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    m->d = MHD_start_daemon(flags, 0, NULL, NULL, handler, m, MHD_OPTION_SOCK_ADDR,
                            (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT, 16U,
                            MHD_OPTION_CONNECTION_TIMEOUT, 10U, MHD_OPTION_END);
    if (m->d == NULL) {
        pthread_mutex_destroy(&m->lock);
        free(m);
        return sfr_err_set(err, SFR_EUSAGE, "--metrics %s: cannot listen there (in use?)", spec);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_BIND_PORT);
    m->port = info ? info->port : 0;
    sfr_log_info("metrics: http://%s:%u/metrics and /healthz",
                 sa.ss_family == AF_INET6 ? "[::]" : "localhost", m->port);
    *out = m;
    return SFR_OK;
}

unsigned sfr_sync_metrics_port(const struct sfr_sync_metrics *m)
{
    return m ? m->port : 0;
}

void sfr_sync_metrics_publish(struct sfr_sync_metrics *m, char *text, bool healthy,
                              const char *health)
{
    if (m == NULL) {
        free(text);
        return;
    }
    pthread_mutex_lock(&m->lock);
    free(m->text);
    m->text = text;
    m->healthy = healthy;
    free(m->health);
    m->health = health ? sfr_strdup(health) : NULL;
    pthread_mutex_unlock(&m->lock);
}

void sfr_sync_metrics_stop(struct sfr_sync_metrics *m)
{
    if (m == NULL)
        return;
    MHD_stop_daemon(m->d);
    pthread_mutex_destroy(&m->lock);
    free(m->text);
    free(m->health);
    free(m);
}

/* ---- rendering (the sync loop's thread) ---- */

static void family(struct sfr_buf *b, const char *name, const char *type, const char *help)
{
    sfr_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void label(struct sfr_buf *b, const char *v)
{
    sfr_buf_putc(b, '"');
    for (; v != NULL && *v; v++) {
        if (*v == '\\' || *v == '"')
            sfr_buf_putc(b, '\\');
        if (*v == '\n')
            sfr_buf_puts(b, "\\n");
        else
            sfr_buf_putc(b, *v);
    }
    sfr_buf_putc(b, '"');
}

static void per_object(struct sfr_buf *b, const struct sfr_sync *s, const char *name,
                       const char *type, const char *help,
                       double (*get)(const struct sfr_sync *, int, int64_t), int64_t now)
{
    family(b, name, type, help);
    for (int i = 0; i < s->ctx->n; i++) {
        sfr_buf_printf(b, "%s{object=", name);
        label(b, s->ctx->proj[i].obj->name);
        sfr_buf_printf(b, "} %.3f\n", get(s, i, now));
    }
}

static double lag_of(const struct sfr_sync *s, int i, int64_t now)
{
    const struct sfr_sync_obj *o = &s->obj[i];
    int64_t since = o->current_ms > 0 ? o->current_ms : s->started_ms;
    return now > since ? (double)(now - since) / 1000.0 : 0.0;
}

static double delay_of(const struct sfr_sync *s, int i, int64_t now)
{
    (void)now;
    return s->obj[i].event_delay_ms / 1000.0;
}

static double events_of(const struct sfr_sync *s, int i, int64_t now)
{
    (void)now;
    return (double)s->obj[i].events;
}

static double streaming_of(const struct sfr_sync *s, int i, int64_t now)
{
    (void)now;
    return s->obj[i].mode == SFR_OBJ_STREAM ? 1.0 : 0.0;
}

static double fails_of(const struct sfr_sync *s, int i, int64_t now)
{
    (void)now;
    return (double)s->obj[i].fails;
}

/* The last audit's families, under the names `report --format prometheus`
 * uses, so one dashboard serves both. */
static void audit_families(struct sfr_buf *b, const struct sfr_sync *s)
{
    const struct sfr_run *run = s->last_run;
    if (s->last_audit_ok_ms > 0) {
        family(b, "sfrecon_audit_last_success_timestamp_seconds", "gauge",
               "When the last complete audit (clean or with discrepancies) finished, Unix time.");
        sfr_buf_printf(b, "sfrecon_audit_last_success_timestamp_seconds %.3f\n",
                       (double)s->last_audit_ok_ms / 1000.0);
    }
    if (run == NULL)
        return;
    family(b, "sfrecon_audit_duration_seconds", "gauge", "How long the last audit took.");
    sfr_buf_printf(b, "sfrecon_audit_duration_seconds %.3f\n", s->last_audit_s);
    family(b, "sfrecon_api_calls", "gauge", "Salesforce API calls the last audit made.");
    sfr_buf_printf(b, "sfrecon_api_calls %ld\n", s->audit_calls);
    if (run->id > 0) {
        family(b, "sfrecon_audit_run_id", "gauge",
               "Id of the exported audit run in sfrecon.audit_run.");
        sfr_buf_printf(b, "sfrecon_audit_run_id %ld\n", run->id);
    }
    family(b, "sfrecon_discrepancies", "gauge",
           "Discrepancies the last audit found, by object and cause.");
    for (int i = 0; i < run->n_objects; i++)
        for (int c = 0; c < SFR_CAUSE_N; c++) {
            sfr_buf_puts(b, "sfrecon_discrepancies{object=");
            label(b, run->objects[i].object);
            sfr_buf_puts(b, ",cause=");
            label(b, sfr_cause_name((enum sfr_cause)c));
            sfr_buf_printf(b, "} %ld\n", run->objects[i].by_cause[c]);
        }
}

static void counter(struct sfr_buf *b, const char *name, const char *help, long v)
{
    family(b, name, "counter", help);
    sfr_buf_printf(b, "%s %ld\n", name, v);
}

char *sfr_sync_metrics_render(const struct sfr_sync *s)
{
    struct sfr_buf b = SFR_BUF_INIT;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    int64_t now = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
    per_object(&b, s, "sfrecon_sync_lag_seconds", "gauge",
               "How far behind Salesforce the mirror may be: 0 while its change events are "
               "applied as they come, else the time since the last successful pull.",
               lag_of, now);
    per_object(&b, s, "sfrecon_sync_event_delay_seconds", "gauge",
               "Commit in Salesforce to mirror write of the last change event applied.", delay_of,
               now);
    per_object(&b, s, "sfrecon_sync_events_received_total", "counter",
               "Change events received since the daemon started.", events_of, now);
    per_object(&b, s, "sfrecon_sync_streaming", "gauge",
               "1 when the object's changes arrive as change events, 0 when it is polled.",
               streaming_of, now);
    per_object(&b, s, "sfrecon_sync_object_failures", "gauge",
               "Failures in a row of the object (it backs off; 0 when healthy).", fails_of, now);
    const struct sfr_sync_stats *t = &s->totals;
    counter(&b, "sfrecon_sync_records_pulled_total",
            "Records written to the mirror (change events and pulls).", t->pulled);
    counter(&b, "sfrecon_sync_records_deleted_total", "Records removed from the mirror.",
            t->deleted);
    counter(&b, "sfrecon_sync_records_pushed_total", "Trigger-log entries written to Salesforce.",
            t->pushed);
    counter(&b, "sfrecon_sync_records_failed_total",
            "Entries that ended FAILED and mirror writes that failed.", t->failed);
    counter(&b, "sfrecon_sync_conflicts_total",
            "Records changed on both sides before the push (settled by repair_policy).",
            t->conflicts);
    family(&b, "sfrecon_sync_trigger_log_backlog", "gauge",
           "Trigger-log entries of the mapped tables waiting to be pushed (NEW, PENDING).");
    sfr_buf_printf(&b, "sfrecon_sync_trigger_log_backlog %ld\n", s->backlog);
    counter(&b, "sfrecon_sync_api_calls_total", "Salesforce API calls the daemon made.",
            sfr_sf_api_calls(s->ctx->sf));
    long used = -1, max = -1;
    if (sfr_sf_limit_info(s->ctx->sf, &used, &max) && max > 0) {
        family(&b, "sfrecon_api_daily_used", "gauge",
               "The org's API calls in the last 24 hours (Sforce-Limit-Info).");
        sfr_buf_printf(&b, "sfrecon_api_daily_used %ld\n", used);
        family(&b, "sfrecon_api_daily_limit", "gauge", "The org's daily API call limit.");
        sfr_buf_printf(&b, "sfrecon_api_daily_limit %ld\n", max);
    }
    if (s->last_cycle_ok_ms > 0) {
        family(&b, "sfrecon_sync_last_cycle_success_timestamp_seconds", "gauge",
               "When a sync cycle last succeeded, Unix time.");
        sfr_buf_printf(&b, "sfrecon_sync_last_cycle_success_timestamp_seconds %.3f\n",
                       (double)s->last_cycle_ok_ms / 1000.0);
    }
    audit_families(&b, s);
    return sfr_buf_steal(&b);
}
