/* cometd.c — Change Data Capture over CometD (Bayeux) long-polling at
 * /cometd/NN.0: /meta/handshake, /meta/subscribe (with ext.replay -1, -2 or a
 * replayId), /meta/unsubscribe, /meta/connect (held until events arrive or
 * the connect timeout passes, or the client's shorter advice.timeout) and
 * /meta/disconnect.
 *
 * Retention: events older than EMU.cdc.retention_ms (72 h, emulator clock)
 * are no longer delivered, and a subscribe whose replayId is older than the
 * oldest retained event (or newer than the newest) is refused with
 * Salesforce's "400::The replayId ... was invalid" error. An entity not
 * selected for CDC (EMU.cdc.disabled) records no events and its channel
 * cannot be subscribed to. On demand (POST /__emu/cdc) the next change events
 * become GAP_<type> events (header only, as Salesforce sends when it cannot
 * produce the full event) or, for the next transaction, one GAP_OVERFLOW event
 * per entity with the wildcard record id 000000000000000AAA. changeOrigin
 * carries the writing client's Sforce-Call-Options client name.
 *
 * Events come from sfemu._events, written in the same transaction as the
 * change under a transaction-scoped advisory lock, so replay ids are drawn
 * in commit order and delivery order is replay_id order, without holes. Each subscription keeps its
 * own cursor (the last replayId delivered). Clients are kept until disconnect
 * (then marked gone) or shutdown; a held connect returns at once on SIGTERM. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "emu.h"
#include "sfrecon/log.h"

#define MAX_SUBS   64
#define EVENT_PAGE 500

struct sub {
    char channel[160];
    char entity[128]; /* "" = every object (/data/ChangeEvents) */
    long long last;
};

struct emu_client {
    char id[40];
    bool gone;
    struct sub subs[MAX_SUBS];
    int n_subs;
    struct emu_client *next;
};

void emu_clients_free(void)
{
    while (EMU.clients != NULL) {
        struct emu_client *c = EMU.clients;
        EMU.clients = c->next;
        free(c);
    }
}

static struct emu_client *client_find(const char *id)
{
    struct emu_client *c;
    for (c = EMU.clients; c != NULL; c = c->next)
        if (!c->gone && strcmp(c->id, id) == 0)
            break;
    return c;
}

static json_object *reply(const char *channel, json_object *msg, bool ok)
{
    json_object *r = json_object_new_object(), *id;
    json_object_object_add(r, "channel", json_object_new_string(channel));
    if (json_object_object_get_ex(msg, "id", &id))
        json_object_object_add(r, "id", json_object_get(id));
    json_object_object_add(r, "successful", json_object_new_boolean(ok));
    return r;
}

static json_object *advice(const char *reconnect)
{
    json_object *a = json_object_new_object();
    json_object_object_add(a, "interval", json_object_new_int(0));
    pthread_mutex_lock(&EMU.lock);
    long t = EMU.connect_timeout_ms;
    pthread_mutex_unlock(&EMU.lock);
    json_object_object_add(a, "timeout", json_object_new_int64(t));
    json_object_object_add(a, "reconnect", json_object_new_string(reconnect));
    return a;
}

static const char *jstr(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static json_object *unknown_client(const char *channel, json_object *msg)
{
    json_object *r = reply(channel, msg, false);
    json_object_object_add(r, "error", json_object_new_string("403::Unknown client"));
    json_object_object_add(r, "advice", advice("handshake"));
    return r;
}

static json_object *handshake(json_object *msg)
{
    struct emu_client *c = sfr_calloc(1, sizeof *c);
    emu_random_b62(c->id, 30);
    pthread_mutex_lock(&EMU.lock);
    c->next = EMU.clients;
    EMU.clients = c;
    pthread_mutex_unlock(&EMU.lock);
    json_object *r = reply("/meta/handshake", msg, true), *types = json_object_new_array();
    json_object_array_add(types, json_object_new_string("long-polling"));
    json_object_object_add(r, "clientId", json_object_new_string(c->id));
    json_object_object_add(r, "version", json_object_new_string("1.0"));
    json_object_object_add(r, "minimumVersion", json_object_new_string("1.0"));
    json_object_object_add(r, "supportedConnectionTypes", types);
    json_object *ext = json_object_new_object();
    json_object_object_add(ext, "replay", json_object_new_boolean(1));
    json_object_object_add(ext, "payload.format", json_object_new_boolean(1));
    json_object_object_add(r, "ext", ext);
    json_object_object_add(r, "advice", advice("retry"));
    return r;
}

static bool cdc_disabled(const char *entity)
{
    bool off = false;
    pthread_mutex_lock(&EMU.lock);
    for (int i = 0; i < EMU.cdc.n_disabled && !off; i++)
        off = strcasecmp(EMU.cdc.disabled[i], entity) == 0;
    pthread_mutex_unlock(&EMU.lock);
    return off;
}

/* The oldest commit time still retained, as store text. */
static void retained_since(char out[32])
{
    pthread_mutex_lock(&EMU.lock);
    int64_t keep = EMU.cdc.retention_ms;
    pthread_mutex_unlock(&EMU.lock);
    emu_fmt_pg_datetime(emu_now_ms() - keep, out);
}

/* "/data/AccountChangeEvent" -> "Account"; "/data/Invoice__ChangeEvent" -> "Invoice__c";
 * "/data/ChangeEvents" -> "". False when the channel names no known object. */
static bool channel_entity(const char *ch, char out[128])
{
    out[0] = '\0';
    if (strcmp(ch, "/data/ChangeEvents") == 0)
        return true;
    size_t n = strlen(ch);
    if (strncmp(ch, "/data/", 6) != 0 || n < 6 + 11 + 1 || strcmp(ch + n - 11, "ChangeEvent") != 0)
        return false;
    char name[128];
    snprintf(name, sizeof name, "%.*s", (int)(n - 6 - 11), ch + 6);
    size_t l = strlen(name);
    if (l >= 2 && name[l - 1] == '_' && name[l - 2] == '_')
        snprintf(name + l, sizeof name - l, "c");
    struct emu_object *o = emu_object(name);
    if (o == NULL || cdc_disabled(o->obj->name))
        return false;
    snprintf(out, 128, "%s", o->obj->name);
    return true;
}

/* The newest replay id, and the oldest one still retained (newest + 1 when
 * none is). False when the store cannot be read. */
static bool replay_bounds(long long *newest, long long *oldest)
{
    PGconn *c = emu_pg_get();
    *newest = 0;
    *oldest = 1;
    if (c == NULL)
        return false;
    char since[32];
    retained_since(since);
    const char *p[1] = {since};
    PGresult *res =
        PQexecParams(c,
                     "SELECT coalesce(max(replay_id), 0), coalesce(min(replay_id) "
                     "FILTER (WHERE commit_ts >= $1::timestamp), max(replay_id) + 1, 1) "
                     "FROM sfemu._events",
                     1, NULL, p, NULL, NULL, 0);
    bool ok = PQresultStatus(res) == PGRES_TUPLES_OK;
    if (ok) {
        *newest = atoll(PQgetvalue(res, 0, 0));
        *oldest = atoll(PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    emu_pg_put(c);
    return ok;
}

static json_object *subscribe(json_object *msg, bool unsub)
{
    const char *cid = jstr(msg, "clientId"), *ch = jstr(msg, "subscription");
    const char *mch = unsub ? "/meta/unsubscribe" : "/meta/subscribe";
    char entity[128];
    pthread_mutex_lock(&EMU.lock);
    struct emu_client *c = cid ? client_find(cid) : NULL;
    pthread_mutex_unlock(&EMU.lock);
    if (c == NULL)
        return unknown_client(mch, msg);
    json_object *r;
    if (ch == NULL || !channel_entity(ch, entity)) {
        r = reply(mch, msg, false);
        json_object_object_add(r, "error",
                               json_object_new_string("400::The channel you requested to "
                                                      "subscribe to does not exist"));
    } else {
        long long start = -1;
        json_object *ext, *replay, *v;
        if (json_object_object_get_ex(msg, "ext", &ext) &&
            json_object_object_get_ex(ext, "replay", &replay) &&
            json_object_object_get_ex(replay, ch, &v))
            start = json_object_get_int64(v);
        long long newest, oldest;
        bool known = replay_bounds(&newest, &oldest);
        bool bad = start >= 0 && known && (start < oldest - 1 || start > newest);
        if (start == -1)
            start = newest;
        else if (start < -1)
            start = oldest - 1;
        if (bad) {
            char text[256];
            snprintf(text, sizeof text,
                     "400::The replayId {%lld} you provided was invalid.  Please provide a "
                     "valid ID, -2 to replay all events, or -1 to replay only new events.",
                     start);
            r = reply(mch, msg, false);
            json_object_object_add(r, "error", json_object_new_string(text));
            json_object_object_add(r, "clientId", json_object_new_string(cid));
            json_object_object_add(r, "subscription", json_object_new_string(ch));
            return r;
        }
        pthread_mutex_lock(&EMU.lock);
        int k;
        for (k = 0; k < c->n_subs; k++)
            if (strcmp(c->subs[k].channel, ch) == 0)
                break;
        if (unsub) {
            if (k < c->n_subs)
                c->subs[k] = c->subs[--c->n_subs];
        } else if (k < MAX_SUBS) {
            snprintf(c->subs[k].channel, sizeof c->subs[k].channel, "%s", ch);
            snprintf(c->subs[k].entity, sizeof c->subs[k].entity, "%s", entity);
            c->subs[k].last = start;
            if (k == c->n_subs)
                c->n_subs++;
        }
        pthread_mutex_unlock(&EMU.lock);
        r = reply(mch, msg, true);
    }
    json_object_object_add(r, "clientId", json_object_new_string(cid));
    json_object_object_add(r, "subscription", json_object_new_string(ch ? ch : ""));
    return r;
}

/* Appends the pending events of c to out; returns how many. One query
 * serves every subscription of the client (from the lowest position). */
static int collect(PGconn *pg, struct emu_client *c, json_object *out)
{
    int n = 0;
    struct sub subs[MAX_SUBS];
    long long newlast[MAX_SUBS];
    int ns;
    pthread_mutex_lock(&EMU.lock);
    ns = c->n_subs;
    memcpy(subs, c->subs, sizeof subs);
    pthread_mutex_unlock(&EMU.lock);
    if (ns == 0)
        return 0;
    long long low = subs[0].last;
    bool all = false;
    struct sfr_buf ents = SFR_BUF_INIT;
    sfr_buf_putc(&ents, '{');
    for (int k = 0; k < ns; k++) {
        newlast[k] = subs[k].last;
        if (subs[k].last < low)
            low = subs[k].last;
        if (subs[k].entity[0] == '\0')
            all = true;
        else
            sfr_buf_printf(&ents, "%s\"%s\"", ents.len > 1 ? "," : "", subs[k].entity);
    }
    sfr_buf_putc(&ents, '}');
    char last[32], since[32];
    snprintf(last, sizeof last, "%lld", low);
    retained_since(since);
    const char *p[4] = {last, since, all ? "t" : "f", ents.data};
    PGresult *res = PQexecParams(pg,
                                 "SELECT replay_id, entity, payload::text FROM sfemu._events "
                                 "WHERE replay_id > $1 AND commit_ts >= $2::timestamp "
                                 "AND ($3::boolean OR entity = ANY($4::text[])) "
                                 "ORDER BY replay_id LIMIT 500",
                                 4, NULL, p, NULL, NULL, 0);
    sfr_buf_cleanup(&ents);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        PQclear(res);
        return 0;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        long long rid = atoll(PQgetvalue(res, i, 0));
        const char *entity = PQgetvalue(res, i, 1);
        json_object *pl = NULL;
        for (int k = 0; k < ns; k++) {
            if (subs[k].last >= rid ||
                (subs[k].entity[0] != '\0' && strcmp(subs[k].entity, entity) != 0))
                continue;
            if (pl == NULL)
                pl = json_tokener_parse(PQgetvalue(res, i, 2));
            json_object *m = json_object_new_object(), *data = json_object_new_object(),
                        *ev = json_object_new_object();
            char schema[64];
            snprintf(schema, sizeof schema, "sfemu-%s-v1", entity);
            json_object_object_add(ev, "replayId", json_object_new_int64(rid));
            json_object_object_add(data, "schema", json_object_new_string(schema));
            json_object_object_add(data, "payload", json_object_get(pl));
            json_object_object_add(data, "event", ev);
            json_object_object_add(m, "channel", json_object_new_string(subs[k].channel));
            json_object_object_add(m, "data", data);
            json_object_array_add(out, m);
            newlast[k] = rid;
            n++;
        }
        json_object_put(pl);
    }
    /* every event of a subscribed entity up to the last row read was in the
     * result: a subscription none of them was for has seen them all too */
    if (PQntuples(res) > 0) {
        long long scanned = atoll(PQgetvalue(res, PQntuples(res) - 1, 0));
        for (int k = 0; k < ns; k++)
            if (newlast[k] < scanned)
                newlast[k] = scanned;
    }
    PQclear(res);
    pthread_mutex_lock(&EMU.lock);
    for (int k = 0; k < ns; k++)
        for (int j = 0; j < c->n_subs; j++)
            if (strcmp(c->subs[j].channel, subs[k].channel) == 0 && c->subs[j].last < newlast[k])
                c->subs[j].last = newlast[k];
    pthread_mutex_unlock(&EMU.lock);
    return n;
}

static json_object *connect_msg(json_object *msg, json_object *out)
{
    const char *cid = jstr(msg, "clientId");
    pthread_mutex_lock(&EMU.lock);
    struct emu_client *c = cid ? client_find(cid) : NULL;
    long timeout = EMU.connect_timeout_ms;
    pthread_mutex_unlock(&EMU.lock);
    if (c == NULL)
        return unknown_client("/meta/connect", msg);
    /* A client may ask for a shorter hold with advice.timeout, as CometD
     * allows; Faye sends {"timeout":0} when it batches a connect with other
     * messages (a subscribe after it), which must not wait behind the hold. */
    json_object *adv, *tmo;
    if (json_object_object_get_ex(msg, "advice", &adv) &&
        json_object_object_get_ex(adv, "timeout", &tmo) &&
        (json_object_is_type(tmo, json_type_int) || json_object_is_type(tmo, json_type_double))) {
        int64_t want = json_object_get_int64(tmo);
        if (want >= 0 && want < timeout)
            timeout = (long)want;
    }
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout / 1000;
    deadline.tv_nsec += (timeout % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    for (;;) {
        pthread_mutex_lock(&EMU.lock);
        uint64_t gen = EMU.event_gen;
        pthread_mutex_unlock(&EMU.lock);
        PGconn *pg = emu_pg_get();
        int n = pg ? collect(pg, c, out) : 0;
        emu_pg_put(pg);
        if (n > 0)
            break;
        /* wait for a commit, at most a second at a time (writes by other processes) */
        struct timespec now, until;
        clock_gettime(CLOCK_REALTIME, &now);
        if (now.tv_sec > deadline.tv_sec ||
            (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec))
            break;
        until = now;
        until.tv_sec += 1;
        if (until.tv_sec > deadline.tv_sec ||
            (until.tv_sec == deadline.tv_sec && until.tv_nsec > deadline.tv_nsec))
            until = deadline;
        pthread_mutex_lock(&EMU.lock);
        while (EMU.event_gen == gen && !EMU.stopping && !c->gone &&
               pthread_cond_timedwait(&EMU.event_cond, &EMU.lock, &until) != ETIMEDOUT)
            ;
        bool stop = EMU.stopping || c->gone;
        pthread_mutex_unlock(&EMU.lock);
        if (stop)
            break;
    }
    json_object *r = reply("/meta/connect", msg, true);
    json_object_object_add(r, "clientId", json_object_new_string(cid));
    json_object_object_add(r, "advice", advice("retry"));
    return r;
}

static json_object *disconnect(json_object *msg)
{
    const char *cid = jstr(msg, "clientId");
    pthread_mutex_lock(&EMU.lock);
    struct emu_client *c = cid ? client_find(cid) : NULL;
    if (c != NULL)
        c->gone = true;
    pthread_cond_broadcast(&EMU.event_cond);
    pthread_mutex_unlock(&EMU.lock);
    if (c == NULL)
        return unknown_client("/meta/disconnect", msg);
    json_object *r = reply("/meta/disconnect", msg, true);
    json_object_object_add(r, "clientId", json_object_new_string(cid));
    return r;
}

enum MHD_Result emu_cometd(struct emu_req *r)
{
    if (r->n_seg < 2 || strcmp(r->method, "POST") != 0)
        return emu_send_not_found(r);
    json_object *in = json_tokener_parse(r->body.data ? r->body.data : "");
    if (in == NULL)
        return emu_send_str(r, 400, "[{\"successful\":false,\"error\":\"400::Invalid JSON\"}]");
    if (json_object_is_type(in, json_type_object)) {
        json_object *arr = json_object_new_array();
        json_object_array_add(arr, in);
        in = arr;
    }
    json_object *out = json_object_new_array(), *events = json_object_new_array();
    size_t n = json_object_is_type(in, json_type_array) ? json_object_array_length(in) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *m = json_object_array_get_idx(in, i);
        const char *ch = jstr(m, "channel");
        json_object *rep;
        if (ch == NULL)
            rep = reply("", m, false);
        else if (strcmp(ch, "/meta/handshake") == 0)
            rep = handshake(m);
        else if (strcmp(ch, "/meta/subscribe") == 0)
            rep = subscribe(m, false);
        else if (strcmp(ch, "/meta/unsubscribe") == 0)
            rep = subscribe(m, true);
        else if (strcmp(ch, "/meta/connect") == 0)
            rep = connect_msg(m, events);
        else if (strcmp(ch, "/meta/disconnect") == 0)
            rep = disconnect(m);
        else {
            rep = reply(ch, m, false);
            json_object_object_add(rep, "error", json_object_new_string("400::Unknown channel"));
        }
        json_object_array_add(out, rep);
    }
    for (size_t i = 0; i < json_object_array_length(events); i++)
        json_object_array_add(out, json_object_get(json_object_array_get_idx(events, i)));
    struct sfr_buf b = SFR_BUF_INIT;
    sfr_buf_puts(&b, json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN |
                                                             JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(out);
    json_object_put(events);
    json_object_put(in);
    return emu_send_json(r, 200, &b);
}

/* ---- change events: origin, gaps, overflow ---- */

/* The API client of the request being served (one thread per connection). */
static __thread char tl_client[96];

void emu_cdc_note_request(struct emu_req *r)
{
    tl_client[0] = '\0';
    const char *h = emu_header(r, "Sforce-Call-Options");
    const char *p = h ? strstr(h, "client=") : NULL;
    if (p == NULL)
        return;
    p += 7;
    size_t n = strcspn(p, ", ");
    if (n >= sizeof tl_client)
        n = sizeof tl_client - 1;
    memcpy(tl_client, p, n);
    tl_client[n] = '\0';
}

static json_object *jarray_of(const char *s)
{
    json_object *a = json_object_new_array();
    if (s != NULL)
        json_object_array_add(a, json_object_new_string(s));
    return a;
}

bool emu_cdc_insert(PGconn *c, const char *entity, const char *change, const char *ids_json,
                    const char *changed_json, int64_t ts_ms, const char *payload)
{
    if (cdc_disabled(entity))
        return true; /* not selected for Change Data Capture: no event */
    json_object *pl = json_tokener_parse(payload ? payload : "{}"), *h = NULL, *v;
    if (pl == NULL || !json_object_object_get_ex(pl, "ChangeEventHeader", &h)) {
        json_object_put(pl);
        sfr_log_error("sfemu: cdc: a change event without ChangeEventHeader");
        return false;
    }
    char origin[160];
    snprintf(origin, sizeof origin, "com/salesforce/api/rest/%s%s%s", EMU.api_version,
             tl_client[0] ? ";client=" : "", tl_client);
    json_object_object_add(h, "changeOrigin", json_object_new_string(origin));
    const char *tx =
        json_object_object_get_ex(h, "transactionKey", &v) ? json_object_get_string(v) : "";
    /* what this event becomes */
    enum { AS_IS, GAP, OVERFLOW, SKIP } mode = AS_IS;
    pthread_mutex_lock(&EMU.lock);
    struct emu_cdc *k = &EMU.cdc;
    if (k->overflow_next) {
        k->overflow_next = false;
        snprintf(k->overflow_tx, sizeof k->overflow_tx, "%s", tx);
        k->n_overflow_done = 0;
    }
    if (k->overflow_tx[0] != '\0' && strcmp(k->overflow_tx, tx) == 0) {
        mode = OVERFLOW;
        for (int i = 0; i < k->n_overflow_done; i++)
            if (strcmp(k->overflow_done[i], entity) == 0)
                mode = SKIP;
        if (mode == OVERFLOW && k->n_overflow_done < EMU_CDC_MAX_DISABLED)
            snprintf(k->overflow_done[k->n_overflow_done++], sizeof k->overflow_done[0], "%s",
                     entity);
    } else if (k->gap_next > 0) {
        k->gap_next--;
        mode = GAP;
    }
    pthread_mutex_unlock(&EMU.lock);
    if (mode == SKIP) {
        json_object_put(pl);
        return true;
    }
    char gap_type[40];
    const char *type = change;
    if (mode == AS_IS && strcmp(change, "UPDATE") == 0) {
        /* fields set to null: named in nulledFields (and null in the payload) */
        json_object *nulled = json_object_new_array();
        json_object_object_foreach(pl, key, val)
        {
            if (val == NULL && strcmp(key, "ChangeEventHeader") != 0)
                json_object_array_add(nulled, json_object_new_string(key));
        }
        json_object_object_add(h, "nulledFields", nulled);
    } else if (mode != AS_IS) {
        /* header only: the fields of the change are not in the event */
        snprintf(gap_type, sizeof gap_type, "%s%s", mode == OVERFLOW ? "GAP_OVERFLOW" : "GAP_",
                 mode == OVERFLOW ? "" : change);
        type = gap_type;
        json_object *hdr = json_object_get(h);
        json_object_put(pl);
        pl = json_object_new_object();
        json_object_object_add(pl, "ChangeEventHeader", hdr);
        json_object_object_add(hdr, "changeType", json_object_new_string(type));
        json_object_object_add(hdr, "changedFields", json_object_new_array());
        json_object_object_add(hdr, "nulledFields", json_object_new_array());
        json_object_object_add(hdr, "diffFields", json_object_new_array());
        if (mode == OVERFLOW) {
            json_object_object_add(hdr, "recordIds", jarray_of("000000000000000AAA"));
            ids_json = "[\"000000000000000AAA\"]";
            changed_json = "[]";
        }
    }
    char ts[32];
    emu_fmt_pg_datetime(ts_ms, ts);
    const char *text =
        json_object_to_json_string_ext(pl, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    const char *p[6] = {entity, type, ids_json, changed_json, ts, text};
    /* Replay ids in commit order: a bigserial is drawn when the row is
     * inserted, so two writing transactions could commit in the other
     * order, and a subscriber that read past the later id would never see
     * the earlier one. Salesforce delivers in replay order without holes;
     * so here one writer at a time holds the events from its insert to its
     * commit. */
    PGresult *lk = PQexec(c, "SELECT pg_advisory_xact_lock(72616501)");
    PQclear(lk);
    PGresult *res = PQexecParams(
        c,
        "INSERT INTO sfemu._events (entity, change_type, record_ids, changed_fields, commit_ts, "
        "payload) VALUES ($1, $2, ARRAY(SELECT json_array_elements_text($3::json)), "
        "ARRAY(SELECT json_array_elements_text($4::json)), $5::timestamp(3), $6::jsonb)",
        6, NULL, p, NULL, NULL, 0);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        sfr_log_error("sfemu: store: inserting a change event: %s", PQresultErrorMessage(res));
    PQclear(res);
    json_object_put(pl);
    return ok;
}

/* ---- admin: CDC settings, undelete, purge ---- */

static enum MHD_Result cdc_settings(struct emu_req *r)
{
    json_object *j = r->body.len ? json_tokener_parse(r->body.data) : json_object_new_object(), *v;
    if (j == NULL || !json_object_is_type(j, json_type_object)) {
        json_object_put(j);
        return emu_send_error(r, 400, "JSON_PARSER_ERROR", "expected a JSON object");
    }
    pthread_mutex_lock(&EMU.lock);
    struct emu_cdc *k = &EMU.cdc;
    if (json_object_object_get_ex(j, "retention_ms", &v))
        k->retention_ms = json_object_get_int64(v);
    if (json_object_object_get_ex(j, "gap_next", &v))
        k->gap_next = (long)json_object_get_int64(v);
    if (json_object_object_get_ex(j, "overflow_next", &v))
        k->overflow_next = json_object_get_boolean(v);
    if (json_object_object_get_ex(j, "disabled", &v) && json_object_is_type(v, json_type_array)) {
        k->n_disabled = 0;
        for (size_t i = 0; i < json_object_array_length(v) && k->n_disabled < EMU_CDC_MAX_DISABLED;
             i++)
            snprintf(k->disabled[k->n_disabled++], sizeof k->disabled[0], "%s",
                     json_object_get_string(json_object_array_get_idx(v, i)));
    }
    struct sfr_buf b = SFR_BUF_INIT;
    sfr_buf_printf(&b,
                   "{\"retention_ms\":%lld,\"gap_next\":%ld,\"overflow_next\":%s,\"disabled\":[",
                   (long long)k->retention_ms, k->gap_next, k->overflow_next ? "true" : "false");
    for (int i = 0; i < k->n_disabled; i++) {
        if (i)
            sfr_buf_putc(&b, ',');
        emu_json_str(&b, k->disabled[i]);
    }
    sfr_buf_puts(&b, "]}");
    pthread_mutex_unlock(&EMU.lock);
    json_object_put(j);
    return emu_send_json(r, 200, &b);
}

/* The change event header of one record change made by the admin API. */
static json_object *admin_event(struct emu_object *o, const char *change, const char *id,
                                int64_t ts)
{
    json_object *pl = json_object_new_object(), *h = json_object_new_object();
    char tx[40];
    emu_random_b62(tx, 32);
    json_object_object_add(h, "entityName", json_object_new_string(o->obj->name));
    json_object_object_add(h, "recordIds", jarray_of(id));
    json_object_object_add(h, "changeType", json_object_new_string(change));
    json_object_object_add(h, "transactionKey", json_object_new_string(tx));
    json_object_object_add(h, "sequenceNumber", json_object_new_int(1));
    json_object_object_add(h, "commitTimestamp", json_object_new_int64(ts));
    json_object_object_add(h, "commitNumber", json_object_new_int64(ts * 1000 + 1));
    json_object_object_add(h, "commitUser", json_object_new_string(EMU.user_id));
    json_object_object_add(h, "changedFields", json_object_new_array());
    json_object_object_add(h, "nulledFields", json_object_new_array());
    json_object_object_add(h, "diffFields", json_object_new_array());
    json_object_object_add(pl, "ChangeEventHeader", h);
    return pl;
}

static bool admin_event_insert(PGconn *c, struct emu_object *o, const char *change, const char *id,
                               int64_t ts, json_object *pl)
{
    char ids[40];
    snprintf(ids, sizeof ids, "[\"%s\"]", id);
    tl_client[0] = '\0';
    return emu_cdc_insert(c, o->obj->name, change, ids, "[]", ts,
                          json_object_to_json_string_ext(pl, JSON_C_TO_STRING_PLAIN |
                                                                 JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* POST /__emu/cdc/undelete/X/ID: the record leaves the recycle bin (UNDELETE
 * event with every field, as for a create). POST /__emu/cdc/purge/X/ID: the
 * record is hard-deleted (a DELETE event when it was live; none when it was
 * already in the recycle bin); /deleted keeps listing it. */
static enum MHD_Result cdc_record(struct emu_req *r, bool undelete)
{
    struct emu_object *o = emu_object(r->seg[3]);
    const char *id = r->seg[4];
    if (o == NULL)
        return emu_send_error(r, 404, "NOT_FOUND", "no object %s", r->seg[3]);
    PGconn *c = emu_pg_get();
    if (c == NULL)
        return emu_send_error(r, 503, "SERVER_UNAVAILABLE", "store unavailable");
    int64_t ts = emu_now_ms();
    char ts_pg[32];
    emu_fmt_pg_datetime(ts, ts_pg);
    struct sfr_buf sql = SFR_BUF_INIT;
    const char *p[3] = {id, ts_pg, o->obj->name};
    bool ok = emu_exec(c, "BEGIN"), found = false;
    if (undelete) {
        sfr_buf_printf(&sql, "UPDATE %s AS t SET isdeleted = false, _deleted_at = NULL", o->qtable);
        if (o->f_modstamp >= 0)
            sfr_buf_printf(&sql, ", \"%s\" = $2", o->obj->fields[o->f_modstamp].column);
        if (o->f_modified >= 0)
            sfr_buf_printf(&sql, ", \"%s\" = $2", o->obj->fields[o->f_modified].column);
        sfr_buf_puts(&sql, " WHERE id = $1 AND isdeleted RETURNING row_to_json(t)::text");
    } else {
        sfr_buf_printf(&sql,
                       "WITH d AS (DELETE FROM %s WHERE id = $1 RETURNING id, isdeleted, "
                       "_deleted_at) INSERT INTO sfemu._purged (entity, id, deleted_at) SELECT $3, "
                       "id, coalesce(_deleted_at, $2::timestamp) FROM d RETURNING (SELECT NOT "
                       "isdeleted FROM d)::text",
                       o->qtable);
    }
    PGresult *res = ok ? PQexecParams(c, sql.data, undelete ? 2 : 3, NULL, p, NULL, NULL, 0) : NULL;
    ok = ok && PQresultStatus(res) == PGRES_TUPLES_OK;
    if (!ok)
        sfr_log_error("sfemu: cdc %s: %s", undelete ? "undelete" : "purge",
                      res ? PQresultErrorMessage(res) : PQerrorMessage(c));
    found = ok && PQntuples(res) == 1;
    if (found && undelete) {
        json_object *row = json_tokener_parse(PQgetvalue(res, 0, 0)), *pl;
        pl = admin_event(o, "UNDELETE", id, ts);
        for (int i = 0; row != NULL && i < o->obj->n_fields; i++) {
            const struct sfr_field *f = &o->obj->fields[i];
            json_object *v;
            if (!o->fx[i].has_column || i == o->f_id || i == o->f_isdeleted || i == o->f_modstamp ||
                !json_object_object_get_ex(row, f->column, &v) || v == NULL)
                continue;
            if (f->type == SFR_FT_DATETIME && json_object_is_type(v, json_type_string)) {
                char iso[48];
                snprintf(iso, sizeof iso, "%.23sZ", json_object_get_string(v));
                json_object_object_add(pl, f->name, json_object_new_string(iso));
            } else {
                json_object_object_add(pl, f->name, json_object_get(v));
            }
        }
        json_object_put(row);
        ok = admin_event_insert(c, o, "UNDELETE", id, ts, pl);
        json_object_put(pl);
    } else if (found && strcmp(PQgetvalue(res, 0, 0), "true") == 0) {
        json_object *pl = admin_event(o, "DELETE", id, ts);
        ok = admin_event_insert(c, o, "DELETE", id, ts, pl);
        json_object_put(pl);
    }
    PQclear(res);
    sfr_buf_cleanup(&sql);
    emu_exec(c, ok && found ? "COMMIT" : "ROLLBACK");
    emu_pg_put(c);
    if (ok && found)
        emu_events_signal();
    if (!ok)
        return emu_send_error(r, 500, "UNKNOWN_EXCEPTION", "store error (see the sfemu log)");
    if (!found)
        return emu_send_error(r, 404, "ENTITY_IS_DELETED",
                              undelete ? "%s %s is not in the recycle bin" : "no %s %s",
                              o->obj->name, id);
    return emu_send_str(r, 200, undelete ? "{\"undeleted\":true}" : "{\"purged\":true}");
}

enum MHD_Result emu_admin_cdc(struct emu_req *r)
{
    if (strcmp(r->method, "POST") != 0)
        return emu_send_not_found(r);
    if (r->n_seg == 2)
        return cdc_settings(r);
    if (r->n_seg == 5 && strcmp(r->seg[2], "undelete") == 0)
        return cdc_record(r, true);
    if (r->n_seg == 5 && strcmp(r->seg[2], "purge") == 0)
        return cdc_record(r, false);
    return emu_send_not_found(r);
}
