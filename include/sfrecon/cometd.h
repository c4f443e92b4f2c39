/* cometd.h — a Change Data Capture subscriber: a CometD (Bayeux 1.0,
 * long-polling) client of Salesforce's /cometd/NN.0 endpoint, with the
 * replay extension.
 *
 * The client runs in a thread of its own with its own connection (a clone
 * of the REST client: same credentials and token): handshake, one
 * /meta/subscribe per channel with ext.replay (a stored replayId, or -1 for
 * new events only), then /meta/connect in a loop. Bayeux advice is followed
 * (reconnect "retry" after advice.interval, "handshake" re-handshakes,
 * "none" stops); "403::Unknown client", a dropped connection or a 5xx
 * re-handshake with backoff and re-subscribe every channel from the last
 * replayId received, so nothing delivered is lost. A 401 logs in again.
 *
 * What arrives is queued for the caller as messages (struct sfr_cdc_msg):
 * the change events, and notices about a channel's state. The queue is
 * bounded (SFR_CDC_QUEUE_MAX): the thread waits before its next connect
 * while it is full. sfr_cometd_fd() becomes readable when messages wait,
 * so the caller can poll() it together with other sockets.
 *
 * Values of an event are Salesforce text as elsewhere in src/sf (strings as
 * is, numbers as their JSON text, booleans "true"/"false", NULL = null).
 * Compound fields of the payload are flattened: Name {"FirstName":..} gives
 * FirstName; BillingAddress {"City":..} gives BillingCity; a custom address
 * Loc__c {"City":..} gives Loc__City__s. */
#ifndef SFRECON_COMETD_H
#define SFRECON_COMETD_H

#include <stdbool.h>
#include <stdint.h>

#include "sfrecon/err.h"
#include "sfrecon/mem.h"

struct sfr_sf;

#define SFR_CDC_QUEUE_MAX 5000

enum sfr_cdc_kind {
    SFR_CDC_EVENT,          /* a change event */
    SFR_CDC_SUBSCRIBED,     /* subscribed; replay_id is the replay asked (-1 = new only) */
    SFR_CDC_REPLAY_INVALID, /* the replayId asked is outside retention: resubscribed with -1 */
    SFR_CDC_UNAVAILABLE,    /* no stream for the channel (handshake or subscribe refused) */
    SFR_CDC_LOST            /* re-subscribed with -1 before any event: changes may be missed */
};

struct sfr_cdc_msg {
    enum sfr_cdc_kind kind;
    int channel;          /* index into the channels given to sfr_cometd_start */
    long long replay_id;  /* event: its replayId */
    char change_type[24]; /* CREATE, UPDATE, DELETE, UNDELETE, GAP_CREATE, ..., GAP_OVERFLOW */
    char entity[128];     /* entityName */
    char **record_ids;
    int n_ids;
    char **changed; /* changedFields, then nulledFields */
    int n_changed;
    char **nulled; /* nulledFields */
    int n_nulled;
    char origin[256]; /* changeOrigin */
    char commit_user[24];
    int64_t commit_ms; /* commitTimestamp */
    char *detail;      /* a notice's reason (owned), NULL for events */
    /* flattened payload (owned) */
    char **names, **values;
    int n_values;
};
void sfr_cdc_msg_free(struct sfr_cdc_msg *m);

/* Value of field `name` (API name, case-insensitive) in the event: true
 * when the payload carries it (*val NULL = null; borrowed from m). */
bool sfr_cdc_value(const struct sfr_cdc_msg *m, const char *name, const char **val);
/* True when changedFields or nulledFields names the field (compound
 * entries like "BillingAddress.City" count for BillingCity). */
bool sfr_cdc_changed(const struct sfr_cdc_msg *m, const char *name);
/* True when changeOrigin names API client `client` ("...;client=NAME"). */
bool sfr_cdc_origin_is(const char *origin, const char *client);
/* Parses one CometD data message (JSON text) into *m (kind EVENT). */
enum sfr_rc sfr_cdc_parse(const char *json, struct sfr_cdc_msg *m, struct sfr_err *err) SFR_WUR;

/* The change event channel of an object: "/data/AccountChangeEvent",
 * "/data/Invoice__ChangeEvent" for Invoice__c. Caller frees. */
char *sfr_cdc_channel(const char *object);

/* The API client name sent in Sforce-Call-Options on the REST calls of c
 * (and its later clones), which change events carry in changeOrigin. */
void sfr_sf_set_call_client(struct sfr_sf *c, const char *name);

struct sfr_cometd;

/* Starts the subscriber thread over channels[0..n) with replay[i] (-1 = new
 * events only, -2 = every retained event, else the last replayId applied).
 * sf is cloned (not kept). Tuning: SF_COMETD_TIMEOUT_MS (connect hold the
 * client asks for, default: the server's advice). */
enum sfr_rc sfr_cometd_start(const struct sfr_sf *sf, const char *const *channels,
                             const long long *replay, int n, struct sfr_cometd **out,
                             struct sfr_err *err) SFR_WUR;
/* Readable while messages wait. */
int sfr_cometd_fd(const struct sfr_cometd *c);
/* Takes up to max queued messages into out[] (the caller frees each with
 * sfr_cdc_msg_free and free()). Returns how many. */
int sfr_cometd_take(struct sfr_cometd *c, struct sfr_cdc_msg **out, int max);
/* Counters of the thread: events received, handshakes made. */
void sfr_cometd_counts(struct sfr_cometd *c, long *events, long *handshakes);
/* Stops the thread (a held connect is aborted within a second), sends
 * /meta/disconnect when connected, frees everything. NULL-safe. */
void sfr_cometd_stop(struct sfr_cometd *c);

#endif
