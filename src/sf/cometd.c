/* cometd.c — the Change Data Capture subscriber (include/sfrecon/cometd.h):
 * a Bayeux long-polling client on its own libcurl handle (cookies kept, as
 * Salesforce's CometD servers need), run in one thread, handing change
 * events and channel notices to the caller through a bounded queue and a
 * pipe.
 *
 * Failure points and what the thread does:
 *  - handshake refused or the endpoint missing (404, no CDC), or three
 *    handshakes failing in a row (the server down): every channel is
 *    reported UNAVAILABLE once; handshakes are retried with backoff (up to a
 *    minute apart) and subscriptions made when one succeeds.
 *  - 401: log in again (sf_login on the clone), then re-handshake.
 *  - subscribe refused: a replayId outside retention ("400::The replayId
 *    ... was invalid") is REPLAY_INVALID and the channel is re-subscribed
 *    with -1; anything else is UNAVAILABLE for that channel only.
 *  - connect failing (transport error, 5xx, "403::Unknown client", advice
 *    reconnect "handshake"): re-handshake with backoff and re-subscribe from
 *    the last replayId received on each channel (a channel that never got
 *    an event is re-subscribed with -1 and reported LOST).
 *  - advice reconnect "none": every channel UNAVAILABLE, the thread ends. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "sf_internal.h"
#include "sfrecon/cometd.h"
#include "sfrecon/json.h"
#include "sfrecon/log.h"

/* ---- messages ---- */

static void strs_free(char **v, int n)
{
    for (int i = 0; v != NULL && i < n; i++)
        free(v[i]);
    free(v);
}

void sfr_cdc_msg_free(struct sfr_cdc_msg *m)
{
    if (m == NULL)
        return;
    strs_free(m->record_ids, m->n_ids);
    strs_free(m->changed, m->n_changed);
    strs_free(m->nulled, m->n_nulled);
    strs_free(m->names, m->n_values);
    strs_free(m->values, m->n_values);
    free(m->detail);
    memset(m, 0, sizeof(*m));
}

static char **str_array(json_object *a, int *n)
{
    *n = 0;
    if (a == NULL || !json_object_is_type(a, json_type_array))
        return NULL;
    size_t len = json_object_array_length(a);
    char **v = sfr_calloc(len + 1, sizeof(char *));
    for (size_t i = 0; i < len; i++) {
        json_object *e = json_object_array_get_idx(a, i);
        if (e != NULL && json_object_is_type(e, json_type_string))
            v[(*n)++] = sfr_strdup(json_object_get_string(e));
    }
    return v;
}

static char *value_text(json_object *v)
{
    if (v == NULL)
        return NULL;
    switch (json_object_get_type(v)) {
    case json_type_null:
        return NULL;
    case json_type_string:
        return sfr_strdup(json_object_get_string(v));
    case json_type_boolean:
        return sfr_strdup(json_object_get_boolean(v) ? "true" : "false");
    default:
        return sfr_strdup(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
    }
}

static int find_name(const struct sfr_cdc_msg *m, const char *name)
{
    for (int i = 0; i < m->n_values; i++)
        if (strcasecmp(m->names[i], name) == 0)
            return i;
    return -1;
}

static void add_value(struct sfr_cdc_msg *m, int *cap, const char *name, json_object *v)
{
    if (find_name(m, name) >= 0)
        return;
    if (m->n_values == *cap) {
        *cap = *cap ? *cap * 2 : 32;
        m->names = sfr_realloc(m->names, (size_t)*cap * sizeof(char *));
        m->values = sfr_realloc(m->values, (size_t)*cap * sizeof(char *));
    }
    m->names[m->n_values] = sfr_strdup(name);
    m->values[m->n_values++] = value_text(v);
}

/* The flattened names of sub-field `sub` of compound field `comp` into
 * out[0..3): "Sub", "<prefix>Sub" for XxxAddress, "<base>__Sub__s" for a
 * custom compound field. Returns how many. */
static int compound_names(const char *comp, const char *sub, char out[3][256])
{
    int n = 0;
    size_t l = strlen(comp);
    snprintf(out[n++], 256, "%s", sub);
    if (l > 7 && strcasecmp(comp + l - 7, "Address") == 0)
        snprintf(out[n++], 256, "%.*s%s", (int)(l - 7), comp, sub);
    if (l > 3 && strcasecmp(comp + l - 3, "__c") == 0)
        snprintf(out[n++], 256, "%.*s__%s__s", (int)(l - 3), comp, sub);
    return n;
}

static void flatten(struct sfr_cdc_msg *m, json_object *payload)
{
    int cap = 0;
    /* plain fields first: they win over a compound's flattened names */
    json_object_object_foreach(payload, k, v)
    {
        if (strcmp(k, "ChangeEventHeader") != 0 && !json_object_is_type(v, json_type_object))
            add_value(m, &cap, k, v);
    }
    json_object_object_foreach(payload, k2, v2)
    {
        if (strcmp(k2, "ChangeEventHeader") == 0 || !json_object_is_type(v2, json_type_object))
            continue;
        json_object_object_foreach(v2, sub, sv)
        {
            char names[3][256];
            int n = compound_names(k2, sub, names);
            for (int i = n - 1; i >= 0; i--)
                add_value(m, &cap, names[i], sv);
        }
    }
}

bool sfr_cdc_value(const struct sfr_cdc_msg *m, const char *name, const char **val)
{
    int i = find_name(m, name);
    *val = i >= 0 ? m->values[i] : NULL;
    return i >= 0;
}

static bool names_field(const char *entry, const char *name)
{
    if (strcasecmp(entry, name) == 0)
        return true;
    const char *dot = strchr(entry, '.');
    if (dot == NULL)
        return false;
    char comp[256], names[3][256];
    snprintf(comp, sizeof(comp), "%.*s", (int)(dot - entry), entry);
    int n = compound_names(comp, dot + 1, names);
    for (int i = 0; i < n; i++)
        if (strcasecmp(names[i], name) == 0)
            return true;
    return false;
}

bool sfr_cdc_changed(const struct sfr_cdc_msg *m, const char *name)
{
    for (int i = 0; i < m->n_changed; i++)
        if (names_field(m->changed[i], name))
            return true;
    for (int i = 0; i < m->n_nulled; i++)
        if (names_field(m->nulled[i], name))
            return true;
    return false;
}

bool sfr_cdc_origin_is(const char *origin, const char *client)
{
    if (origin == NULL || client == NULL || client[0] == '\0')
        return false;
    const char *p = strstr(origin, "client=");
    if (p == NULL)
        return false;
    p += 7;
    size_t n = strcspn(p, ";, ");
    return n == strlen(client) && strncmp(p, client, n) == 0;
}

static enum sfr_rc parse_obj(json_object *msg, struct sfr_cdc_msg *m, struct sfr_err *err)
{
    memset(m, 0, sizeof(*m));
    m->kind = SFR_CDC_EVENT;
    json_object *data, *ev, *rid, *pl, *h, *v;
    if (!json_object_object_get_ex(msg, "data", &data) ||
        !json_object_object_get_ex(data, "payload", &pl) ||
        !json_object_is_type(pl, json_type_object) ||
        !json_object_object_get_ex(pl, "ChangeEventHeader", &h))
        return sfr_err_set(err, SFR_ESF, "a CometD message without data.payload.ChangeEventHeader");
    if (json_object_object_get_ex(data, "event", &ev) &&
        json_object_object_get_ex(ev, "replayId", &rid))
        m->replay_id = json_object_get_int64(rid);
    else
        return sfr_err_set(err, SFR_ESF, "a CometD message without data.event.replayId");
    const char *s;
    if ((s = sfr_json_str(h, "changeType")) == NULL || (s[0] == '\0'))
        return sfr_err_set(err, SFR_ESF, "a change event without changeType");
    snprintf(m->change_type, sizeof(m->change_type), "%s", s);
    snprintf(m->entity, sizeof(m->entity), "%s", (s = sfr_json_str(h, "entityName")) ? s : "");
    snprintf(m->origin, sizeof(m->origin), "%s", (s = sfr_json_str(h, "changeOrigin")) ? s : "");
    snprintf(m->commit_user, sizeof(m->commit_user), "%s",
             (s = sfr_json_str(h, "commitUser")) ? s : "");
    if (json_object_object_get_ex(h, "commitTimestamp", &v))
        m->commit_ms = json_object_get_int64(v);
    m->record_ids = str_array(json_object_object_get_ex(h, "recordIds", &v) ? v : NULL, &m->n_ids);
    m->changed =
        str_array(json_object_object_get_ex(h, "changedFields", &v) ? v : NULL, &m->n_changed);
    m->nulled =
        str_array(json_object_object_get_ex(h, "nulledFields", &v) ? v : NULL, &m->n_nulled);
    flatten(m, pl);
    return SFR_OK;
}

enum sfr_rc sfr_cdc_parse(const char *json, struct sfr_cdc_msg *m, struct sfr_err *err)
{
    json_object *o = json_tokener_parse(json ? json : "");
    if (o == NULL) {
        memset(m, 0, sizeof(*m));
        return sfr_err_set(err, SFR_ESF, "a CometD message that is not JSON");
    }
    enum sfr_rc rc = parse_obj(o, m, err);
    json_object_put(o);
    if (rc != SFR_OK)
        sfr_cdc_msg_free(m);
    return rc;
}

char *sfr_cdc_channel(const char *object)
{
    size_t l = strlen(object);
    if (l > 3 && strcasecmp(object + l - 3, "__c") == 0)
        return sfr_asprintf("/data/%.*s__ChangeEvent", (int)(l - 3), object);
    return sfr_asprintf("/data/%sChangeEvent", object);
}

void sfr_sf_set_call_client(struct sfr_sf *c, const char *name)
{
    snprintf(c->call_client, sizeof(c->call_client), "%s", name ? name : "");
}

/* ---- the client thread ---- */

struct chan {
    char *name;
    long long replay; /* what to subscribe with next */
    bool got_event;   /* since the last subscribe with -1 */
    bool subscribed;
    bool ever_subscribed;
    bool unavailable_told;
};

struct sfr_cometd {
    struct sfr_sf *sf; /* the thread's own clone */
    CURL *curl;
    struct chan *ch;
    int n_ch;
    pthread_t thread;
    bool started;
    atomic_int stop;
    int pipe_r, pipe_w;
    pthread_mutex_t lock;
    pthread_cond_t room;
    struct sfr_cdc_msg **q;
    int q_head, q_n;
    long n_events, n_handshakes;
    char client_id[128];
    long hold_ms; /* server's advice.timeout */
    long want_hold_ms;
};

static void push_msg(struct sfr_cometd *c, struct sfr_cdc_msg *m)
{
    pthread_mutex_lock(&c->lock);
    int cap = SFR_CDC_QUEUE_MAX + 64;
    if (c->q_n >= cap) {
        /* notices can exceed the event bound a little; beyond that, drop the
         * notice (the state it reports is re-sent on the next handshake) */
        pthread_mutex_unlock(&c->lock);
        sfr_cdc_msg_free(m);
        free(m);
        return;
    }
    c->q[(c->q_head + c->q_n) % cap] = m;
    c->q_n++;
    if (m->kind == SFR_CDC_EVENT)
        c->n_events++;
    pthread_mutex_unlock(&c->lock);
    char b = 1;
    if (write(c->pipe_w, &b, 1) < 0 && errno != EAGAIN)
        sfr_log_debug("cometd: wake-up pipe: %s", strerror(errno));
}

static void notice(struct sfr_cometd *c, enum sfr_cdc_kind kind, int ch, long long replay,
                   const char *detail)
{
    struct sfr_cdc_msg *m = sfr_calloc(1, sizeof(*m));
    m->kind = kind;
    m->channel = ch;
    m->replay_id = replay;
    m->detail = detail ? sfr_strdup(detail) : NULL;
    push_msg(c, m);
}

static bool stopping(struct sfr_cometd *c)
{
    return atomic_load(&c->stop) != 0;
}

/* Waits while the queue is full (the caller is behind). */
static void wait_room(struct sfr_cometd *c)
{
    pthread_mutex_lock(&c->lock);
    while (c->q_n >= SFR_CDC_QUEUE_MAX && !stopping(c)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&c->room, &c->lock, &ts);
    }
    pthread_mutex_unlock(&c->lock);
}

static void nap(struct sfr_cometd *c, long ms)
{
    while (ms > 0 && !stopping(c)) {
        long step = ms > 200 ? 200 : ms;
        sf_sleep_ms(step);
        ms -= step;
    }
}

static int xfer_cb(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    return stopping(ud) ? 1 : 0;
}

static size_t body_cb(char *p, size_t size, size_t nmemb, void *ud)
{
    struct sfr_buf *b = ud;
    size_t len = size * nmemb;
    if (b->len + len > SF_MAX_BODY)
        return 0;
    sfr_buf_append(b, p, len);
    return len;
}

/* POSTs a Bayeux message array; *status receives the HTTP status (0 on a
 * transport failure). The parsed reply array goes to *out (caller puts). */
static enum sfr_rc post(struct sfr_cometd *c, json_object *msgs, long timeout_ms, long *status,
                        json_object **out, struct sfr_err *err)
{
    *out = NULL;
    *status = 0;
    if (c->sf->token == NULL && (c->sf->can_auth ? sf_login(c->sf, err) : SFR_EAUTH) != SFR_OK)
        return err && err->rc ? err->rc : sfr_err_set(err, SFR_EAUTH, "no Salesforce session");
    struct sfr_buf url = SFR_BUF_INIT, body = SFR_BUF_INIT, hdr = SFR_BUF_INIT;
    sfr_buf_printf(&url, "%s/cometd/%s", c->sf->instance_url, c->sf->api_version);
    const char *text = json_object_to_json_string_ext(msgs, JSON_C_TO_STRING_PLAIN);
    struct curl_slist *h = NULL;
    sfr_buf_printf(&hdr, "Authorization: Bearer %s", c->sf->token);
    h = curl_slist_append(h, hdr.data);
    memset(hdr.data, 0, hdr.len);
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "Accept: application/json");
    h = curl_slist_append(h, "Expect:");
    CURL *e = c->curl;
    curl_easy_setopt(e, CURLOPT_URL, url.data);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, text);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(text));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_COOKIEFILE, ""); /* keep the server's cookies */
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_USERAGENT, "sfrecon/" SFR_VERSION);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, xfer_cb);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, c);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    const char *ca = getenv("SF_CA_FILE");
    if (ca != NULL && ca[0])
        curl_easy_setopt(e, CURLOPT_CAINFO, ca);
    CURLcode cc = curl_easy_perform(e);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(h);
    enum sfr_rc rc = SFR_OK;
    if (cc != CURLE_OK) {
        rc = sfr_err_set(err, SFR_EHTTP, "CometD %s: %s", url.data, curl_easy_strerror(cc));
    } else {
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
        if (*status == 200) {
            *out = json_tokener_parse(body.data ? body.data : "");
            if (*out == NULL || !json_object_is_type(*out, json_type_array)) {
                json_object_put(*out);
                *out = NULL;
                rc = sfr_err_set(err, SFR_ESF, "CometD answer is not a JSON array");
            }
        } else {
            rc = sfr_err_set(err, *status == 401 ? SFR_EAUTH : SFR_ESF, "CometD %s: HTTP %ld",
                             url.data, *status);
            if (err != NULL)
                err->http_status = *status;
        }
    }
    sfr_buf_cleanup(&url);
    sfr_buf_cleanup(&body);
    sfr_buf_cleanup(&hdr);
    return rc;
}

static json_object *meta(const char *channel, const char *client_id)
{
    json_object *m = json_object_new_object();
    json_object_object_add(m, "channel", json_object_new_string(channel));
    if (client_id != NULL)
        json_object_object_add(m, "clientId", json_object_new_string(client_id));
    return m;
}

static bool msg_ok(json_object *m)
{
    json_object *v;
    return json_object_object_get_ex(m, "successful", &v) && json_object_get_boolean(v);
}

static const char *advice_reconnect(json_object *m)
{
    json_object *a;
    if (!json_object_object_get_ex(m, "advice", &a))
        return NULL;
    return sfr_json_str(a, "reconnect");
}

static long advice_long(json_object *m, const char *key, long dflt)
{
    json_object *a, *v;
    if (!json_object_object_get_ex(m, "advice", &a) || !json_object_object_get_ex(a, key, &v))
        return dflt;
    return (long)json_object_get_int64(v);
}

/* One HTTP exchange with a 401 answered by a login; *out as post(). */
static enum sfr_rc exchange(struct sfr_cometd *c, json_object *msgs, long timeout_ms,
                            json_object **out, struct sfr_err *err)
{
    long status = 0;
    enum sfr_rc rc = post(c, msgs, timeout_ms, &status, out, err);
    if (rc == SFR_EAUTH && status == 401 && c->sf->can_auth && !stopping(c)) {
        sfr_log_info("cometd: Salesforce session expired; logging in again");
        rc = sf_login(c->sf, err);
        if (rc == SFR_OK)
            rc = post(c, msgs, timeout_ms, &status, out, err);
    }
    return rc;
}

/* 1 done, 0 refused (no stream), -1 failed (retry). */
static int handshake(struct sfr_cometd *c, struct sfr_err *err)
{
    json_object *arr = json_object_new_array(), *m = meta("/meta/handshake", NULL), *out = NULL;
    json_object *types = json_object_new_array(), *ext = json_object_new_object();
    json_object_array_add(types, json_object_new_string("long-polling"));
    json_object_object_add(m, "version", json_object_new_string("1.0"));
    json_object_object_add(m, "minimumVersion", json_object_new_string("1.0"));
    json_object_object_add(m, "supportedConnectionTypes", types);
    json_object_object_add(ext, "replay", json_object_new_boolean(1));
    json_object_object_add(m, "ext", ext);
    json_object_array_add(arr, m);
    c->n_handshakes++;
    enum sfr_rc rc = exchange(c, arr, 60000, &out, err);
    json_object_put(arr);
    if (rc != SFR_OK) {
        bool missing = err != NULL && (err->http_status == 404 || err->http_status == 403);
        return missing || rc == SFR_EAUTH ? 0 : -1;
    }
    int result = 0;
    json_object *r = json_object_array_length(out) > 0 ? json_object_array_get_idx(out, 0) : NULL;
    const char *cid = sfr_json_str(r, "clientId");
    if (r != NULL && msg_ok(r) && cid != NULL) {
        snprintf(c->client_id, sizeof(c->client_id), "%s", cid);
        c->hold_ms = advice_long(r, "timeout", 110000);
        result = 1;
    } else {
        const char *e = sfr_json_str(r, "error");
        sfr_err_set(err, SFR_ESF, "CometD handshake refused: %s", e ? e : "no reason given");
    }
    json_object_put(out);
    return result;
}

static bool replay_invalid(const char *error)
{
    return error != NULL && strcasestr(error, "replayId") != NULL &&
           strcasestr(error, "invalid") != NULL;
}

static int channel_index(struct sfr_cometd *c, const char *name)
{
    for (int i = 0; name != NULL && i < c->n_ch; i++)
        if (strcmp(c->ch[i].name, name) == 0)
            return i;
    return -1;
}

/* Subscribes every channel not subscribed yet. False when the exchange failed. */
static bool subscribe_all(struct sfr_cometd *c, struct sfr_err *err)
{
    for (int round = 0; round < 2 && !stopping(c); round++) {
        json_object *arr = json_object_new_array(), *out = NULL;
        int n = 0;
        for (int i = 0; i < c->n_ch; i++) {
            if (c->ch[i].subscribed || c->ch[i].unavailable_told)
                continue;
            json_object *m = meta("/meta/subscribe", c->client_id), *ext = json_object_new_object(),
                        *rep = json_object_new_object();
            json_object_object_add(m, "subscription", json_object_new_string(c->ch[i].name));
            json_object_object_add(rep, c->ch[i].name, json_object_new_int64(c->ch[i].replay));
            json_object_object_add(ext, "replay", rep);
            json_object_object_add(m, "ext", ext);
            json_object_array_add(arr, m);
            n++;
        }
        if (n == 0) {
            json_object_put(arr);
            return true;
        }
        enum sfr_rc rc = exchange(c, arr, 60000, &out, err);
        json_object_put(arr);
        if (rc != SFR_OK)
            return false;
        bool again = false;
        for (size_t k = 0; k < json_object_array_length(out); k++) {
            json_object *r = json_object_array_get_idx(out, k);
            const char *chn = sfr_json_str(r, "channel");
            if (chn == NULL || strcmp(chn, "/meta/subscribe") != 0)
                continue;
            int i = channel_index(c, sfr_json_str(r, "subscription"));
            if (i < 0)
                continue;
            struct chan *ch = &c->ch[i];
            const char *e = sfr_json_str(r, "error");
            if (msg_ok(r)) {
                ch->subscribed = ch->ever_subscribed = true;
                notice(c, SFR_CDC_SUBSCRIBED, i, ch->replay, NULL);
            } else if (e != NULL && strstr(e, "403::Unknown client") != NULL) {
                json_object_put(out);
                sfr_err_set(err, SFR_ESF, "CometD: %s", e);
                return false;
            } else if (replay_invalid(e)) {
                notice(c, SFR_CDC_REPLAY_INVALID, i, ch->replay, e);
                ch->replay = -1;
                ch->got_event = false;
                again = true;
            } else if (!ch->unavailable_told) {
                ch->unavailable_told = true;
                notice(c, SFR_CDC_UNAVAILABLE, i, ch->replay, e ? e : "subscribe refused");
            }
        }
        json_object_put(out);
        if (!again)
            return true;
    }
    return true;
}

/* Handles the messages of one connect answer. 1 go on, 0 re-handshake, -1 stop. */
static int deliver(struct sfr_cometd *c, json_object *out, long *interval)
{
    int what = 1;
    for (size_t k = 0; k < json_object_array_length(out); k++) {
        json_object *r = json_object_array_get_idx(out, k);
        const char *chn = sfr_json_str(r, "channel");
        if (chn == NULL)
            continue;
        if (strcmp(chn, "/meta/connect") == 0) {
            const char *rec = advice_reconnect(r);
            *interval = advice_long(r, "interval", 0);
            if (rec != NULL && strcmp(rec, "none") == 0)
                what = -1;
            else if (!msg_ok(r) || (rec != NULL && strcmp(rec, "handshake") == 0))
                what = what < 0 ? what : 0;
            continue;
        }
        if (chn[0] == '/' && strncmp(chn, "/meta/", 6) == 0)
            continue;
        int i = channel_index(c, chn);
        if (i < 0)
            continue;
        struct sfr_cdc_msg *m = sfr_calloc(1, sizeof(*m));
        struct sfr_err e = {0};
        if (parse_obj(r, m, &e) != SFR_OK) {
            sfr_log_warn("cometd: %s: %s; message skipped", chn, e.msg);
            sfr_cdc_msg_free(m);
            free(m);
            continue;
        }
        m->channel = i;
        c->ch[i].replay = m->replay_id;
        c->ch[i].got_event = true;
        push_msg(c, m);
    }
    return what;
}

static void *run(void *ud)
{
    struct sfr_cometd *c = ud;
    int failures = 0;
    bool told_unavailable = false;
    while (!stopping(c)) {
        struct sfr_err err = {0};
        if (failures > 0) {
            long ms = 500L << (failures > 7 ? 7 : failures - 1);
            nap(c, ms > 60000 ? 60000 : ms);
            if (stopping(c))
                break;
        }
        int hs = handshake(c, &err);
        if (hs <= 0) {
            failures++;
            /* refused, or failing for a while: the caller polls meanwhile;
             * a later handshake subscribes again */
            if ((hs == 0 || failures >= 3) && !told_unavailable) {
                told_unavailable = true;
                sfr_log_warn("cometd: no change event stream: %s", err.msg);
                for (int i = 0; i < c->n_ch; i++) {
                    c->ch[i].unavailable_told = true;
                    notice(c, SFR_CDC_UNAVAILABLE, i, c->ch[i].replay, err.msg);
                }
            } else if (hs < 0) {
                sfr_log_warn("cometd: handshake failed: %s; retrying", err.msg);
            }
            continue;
        }
        told_unavailable = false;
        for (int i = 0; i < c->n_ch; i++) {
            c->ch[i].subscribed = false;
            c->ch[i].unavailable_told = false;
            if (c->ch[i].replay == -1 && !c->ch[i].got_event && c->ch[i].ever_subscribed)
                notice(c, SFR_CDC_LOST, i, -1,
                       "re-subscribed for new events only after a reconnect");
        }
        if (!subscribe_all(c, &err)) {
            sfr_log_warn("cometd: subscribe failed: %s; reconnecting", err.msg);
            failures++;
            continue;
        }
        failures = 0;
        bool first = true;
        long interval = 0;
        while (!stopping(c)) {
            wait_room(c);
            if (stopping(c))
                break;
            json_object *arr = json_object_new_array(), *out = NULL;
            json_object *m = meta("/meta/connect", c->client_id);
            json_object_object_add(m, "connectionType", json_object_new_string("long-polling"));
            if (first || c->want_hold_ms > 0) {
                json_object *adv = json_object_new_object();
                json_object_object_add(adv, "timeout",
                                       json_object_new_int64(first ? 0 : c->want_hold_ms));
                json_object_object_add(m, "advice", adv);
            }
            json_object_array_add(arr, m);
            long hold = c->want_hold_ms > 0 ? c->want_hold_ms : c->hold_ms;
            enum sfr_rc rc = exchange(c, arr, hold + 30000, &out, &err);
            json_object_put(arr);
            first = false;
            if (rc != SFR_OK) {
                if (!stopping(c))
                    sfr_log_warn("cometd: connect failed: %s; reconnecting", err.msg);
                failures = 1;
                break;
            }
            int what = deliver(c, out, &interval);
            json_object_put(out);
            if (what < 0) {
                sfr_log_warn("cometd: the server advised not to reconnect; streaming ends");
                for (int i = 0; i < c->n_ch; i++)
                    notice(c, SFR_CDC_UNAVAILABLE, i, c->ch[i].replay, "advice reconnect none");
                atomic_store(&c->stop, 1);
                break;
            }
            if (what == 0) {
                sfr_log_info("cometd: server asked for a new handshake");
                break;
            }
            if (interval > 0)
                nap(c, interval);
        }
    }
    if (c->client_id[0] != '\0') {
        /* best effort; a stopped thread cannot wait long */
        json_object *arr = json_object_new_array(), *out = NULL;
        json_object_array_add(arr, meta("/meta/disconnect", c->client_id));
        atomic_store(&c->stop, 0);
        struct sfr_err e = {0};
        long status = 0;
        if (post(c, arr, 2000, &status, &out, &e) != SFR_OK)
            sfr_log_debug("cometd: disconnect: %s", e.msg);
        atomic_store(&c->stop, 1);
        json_object_put(out);
        json_object_put(arr);
    }
    return NULL;
}

enum sfr_rc sfr_cometd_start(const struct sfr_sf *sf, const char *const *channels,
                             const long long *replay, int n, struct sfr_cometd **out,
                             struct sfr_err *err)
{
    *out = NULL;
    struct sfr_cometd *c = sfr_calloc(1, sizeof(*c));
    c->pipe_r = c->pipe_w = -1;
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->room, NULL);
    c->q = sfr_calloc(SFR_CDC_QUEUE_MAX + 64, sizeof(*c->q));
    c->ch = sfr_calloc((size_t)n + 1, sizeof(*c->ch));
    c->n_ch = n;
    for (int i = 0; i < n; i++) {
        c->ch[i].name = sfr_strdup(channels[i]);
        c->ch[i].replay = replay[i];
    }
    c->hold_ms = 110000;
    const char *t = getenv("SF_COMETD_TIMEOUT_MS");
    if (t != NULL && t[0])
        c->want_hold_ms = atol(t);
    enum sfr_rc rc = sfr_sf_clone(sf, &c->sf, err);
    int fds[2];
    if (rc == SFR_OK && pipe(fds) != 0)
        rc = sfr_err_set(err, SFR_EINTERNAL, "pipe: %s", strerror(errno));
    if (rc == SFR_OK) {
        c->pipe_r = fds[0];
        c->pipe_w = fds[1];
        fcntl(c->pipe_r, F_SETFL, fcntl(c->pipe_r, F_GETFL) | O_NONBLOCK);
        fcntl(c->pipe_w, F_SETFL, fcntl(c->pipe_w, F_GETFL) | O_NONBLOCK);
        c->curl = curl_easy_init();
        if (c->curl == NULL)
            rc = sfr_err_set(err, SFR_EINTERNAL, "cannot create a libcurl handle");
    }
    if (rc == SFR_OK) {
        if (pthread_create(&c->thread, NULL, run, c) != 0)
            rc = sfr_err_set(err, SFR_EINTERNAL, "cannot start the CometD thread");
        else
            c->started = true;
    }
    if (rc != SFR_OK) {
        sfr_cometd_stop(c);
        return rc;
    }
    *out = c;
    return SFR_OK;
}

int sfr_cometd_fd(const struct sfr_cometd *c)
{
    return c->pipe_r;
}

int sfr_cometd_take(struct sfr_cometd *c, struct sfr_cdc_msg **out, int max)
{
    char drain[256];
    while (read(c->pipe_r, drain, sizeof(drain)) > 0)
        ;
    int cap = SFR_CDC_QUEUE_MAX + 64, n = 0;
    pthread_mutex_lock(&c->lock);
    while (n < max && c->q_n > 0) {
        out[n++] = c->q[c->q_head];
        c->q_head = (c->q_head + 1) % cap;
        c->q_n--;
    }
    bool more = c->q_n > 0;
    pthread_cond_broadcast(&c->room);
    pthread_mutex_unlock(&c->lock);
    if (more) {
        char b = 1;
        if (write(c->pipe_w, &b, 1) < 0 && errno != EAGAIN)
            sfr_log_debug("cometd: wake-up pipe: %s", strerror(errno));
    }
    return n;
}

void sfr_cometd_counts(struct sfr_cometd *c, long *events, long *handshakes)
{
    pthread_mutex_lock(&c->lock);
    *events = c->n_events;
    *handshakes = c->n_handshakes;
    pthread_mutex_unlock(&c->lock);
}

void sfr_cometd_stop(struct sfr_cometd *c)
{
    if (c == NULL)
        return;
    atomic_store(&c->stop, 1);
    if (c->started) {
        pthread_mutex_lock(&c->lock);
        pthread_cond_broadcast(&c->room);
        pthread_mutex_unlock(&c->lock);
        pthread_join(c->thread, NULL);
    }
    int cap = SFR_CDC_QUEUE_MAX + 64;
    for (int k = 0; k < c->q_n; k++) {
        struct sfr_cdc_msg *m = c->q[(c->q_head + k) % cap];
        sfr_cdc_msg_free(m);
        free(m);
    }
    free(c->q);
    for (int i = 0; i < c->n_ch; i++)
        free(c->ch[i].name);
    free(c->ch);
    if (c->curl != NULL)
        curl_easy_cleanup(c->curl);
    sfr_sf_free(c->sf);
    if (c->pipe_r >= 0)
        close(c->pipe_r);
    if (c->pipe_w >= 0)
        close(c->pipe_w);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->room);
    free(c);
}
