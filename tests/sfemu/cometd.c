/* cometd.c — Change Data Capture over CometD (Bayeux) long-polling at
 * /cometd/NN.0: /meta/handshake, /meta/subscribe (with ext.replay -1, -2 or a
 * replayId), /meta/unsubscribe, /meta/connect (held until events arrive or
 * the connect timeout passes, or the client's shorter advice.timeout) and
 * /meta/disconnect.
 *
 * Events come from sfemu._events, written in the same transaction as the
 * change, so delivery order is replay_id order. Each subscription keeps its
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
    if (o == NULL)
        return false;
    snprintf(out, 128, "%s", o->obj->name);
    return true;
}

static long long max_replay(void)
{
    PGconn *c = emu_pg_get();
    long long v = 0;
    if (c == NULL)
        return 0;
    PGresult *res = PQexec(c, "SELECT coalesce(max(replay_id), 0) FROM sfemu._events");
    if (PQresultStatus(res) == PGRES_TUPLES_OK)
        v = atoll(PQgetvalue(res, 0, 0));
    PQclear(res);
    emu_pg_put(c);
    return v;
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
        if (start == -1)
            start = max_replay();
        else if (start < -1)
            start = 0;
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

/* Appends the pending events of c to out; returns how many. */
static int collect(PGconn *pg, struct emu_client *c, json_object *out)
{
    int n = 0;
    struct sub subs[MAX_SUBS];
    int ns;
    pthread_mutex_lock(&EMU.lock);
    ns = c->n_subs;
    memcpy(subs, c->subs, sizeof subs);
    pthread_mutex_unlock(&EMU.lock);
    for (int k = 0; k < ns; k++) {
        char last[32];
        snprintf(last, sizeof last, "%lld", subs[k].last);
        const char *p[2] = {last, subs[k].entity};
        PGresult *res = PQexecParams(pg,
                                     "SELECT replay_id, entity, payload::text FROM sfemu._events "
                                     "WHERE replay_id > $1 AND ($2 = '' OR entity = $2) "
                                     "ORDER BY replay_id LIMIT 500",
                                     2, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            PQclear(res);
            continue;
        }
        long long maxid = subs[k].last;
        for (int i = 0; i < PQntuples(res); i++) {
            long long rid = atoll(PQgetvalue(res, i, 0));
            json_object *pl = json_tokener_parse(PQgetvalue(res, i, 2));
            json_object *m = json_object_new_object(), *data = json_object_new_object(),
                        *ev = json_object_new_object();
            char schema[64];
            snprintf(schema, sizeof schema, "sfemu-%s-v1", PQgetvalue(res, i, 1));
            json_object_object_add(ev, "replayId", json_object_new_int64(rid));
            json_object_object_add(data, "schema", json_object_new_string(schema));
            json_object_object_add(data, "payload", pl);
            json_object_object_add(data, "event", ev);
            json_object_object_add(m, "channel", json_object_new_string(subs[k].channel));
            json_object_object_add(m, "data", data);
            json_object_array_add(out, m);
            maxid = rid;
            n++;
        }
        PQclear(res);
        pthread_mutex_lock(&EMU.lock);
        for (int j = 0; j < c->n_subs; j++)
            if (strcmp(c->subs[j].channel, subs[k].channel) == 0 && c->subs[j].last < maxid)
                c->subs[j].last = maxid;
        pthread_mutex_unlock(&EMU.lock);
    }
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
