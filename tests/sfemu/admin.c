/* admin.c — sfemu's test-only endpoints under /__emu/ (served only with
 * --admin, never under /services): reset, streaming CSV load, API-call
 * counters, fault injection, the settable clock and runtime settings.
 *
 * The load streams the request body into COPY ... FROM STDIN as it arrives,
 * so memory stays bounded whatever the size of the file. When the CSV has no
 * Id column, an Id is generated per record and spliced in front of it (the
 * splitter tracks CSV quoting across chunks). Missing system fields come from
 * the table defaults (the emulator clock via the sfemu.now setting, the admin
 * user). Loads are not validated and produce no change events; the table is
 * analysed afterwards. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "emu.h"
#include "sfrecon/log.h"

struct emu_load {
    PGconn *c;
    struct emu_object *o;
    struct sfr_buf head; /* header line being collected */
    struct sfr_buf out;  /* bytes for the next PQputCopyData */
    bool header_done;
    bool inject_id;
    bool in_quotes;
    bool at_start; /* next byte starts a record */
    bool has_isdeleted;
    unsigned status;
    char code[64];
    char msg[512];
};

static void load_fail(struct emu_load *l, unsigned status, const char *code, const char *fmt, ...)
    SFR_PRINTF(4, 5);
static void load_fail(struct emu_load *l, unsigned status, const char *code, const char *fmt, ...)
{
    if (l->status != 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->msg, sizeof l->msg, fmt, ap);
    va_end(ap);
    size_t n = strlen(l->msg);
    while (n > 0 && l->msg[n - 1] == '\n')
        l->msg[--n] = '\0';
    l->status = status;
    snprintf(l->code, sizeof l->code, "%s", code);
}

bool emu_load_begin(struct emu_req *r, const char *object)
{
    struct emu_load *l = sfr_calloc(1, sizeof *l);
    r->load = l;
    l->at_start = true;
    l->o = emu_object(object);
    if (l->o == NULL) {
        load_fail(l, 404, "NOT_FOUND", "The requested resource does not exist: %s", object);
        return false;
    }
    l->c = emu_pg_get();
    if (l->c == NULL) {
        load_fail(l, 503, "SERVER_UNAVAILABLE", "store unavailable");
        return false;
    }
    return true;
}

/* Parses the header line and starts COPY. */
static void load_start_copy(struct emu_load *l)
{
    const struct sfr_object *ob = l->o->obj;
    struct sfr_buf cols = SFR_BUF_INIT;
    char *line = l->head.data;
    size_t n = l->head.len;
    while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == '\n'))
        line[--n] = '\0';
    bool have_id = false;
    char *save = NULL;
    for (char *t = strtok_r(line, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ' || *t == '"')
            t++;
        size_t tl = strlen(t);
        while (tl > 0 && (t[tl - 1] == '"' || t[tl - 1] == ' '))
            t[--tl] = '\0';
        int idx = sfr_object_field_index(ob, t);
        if (idx < 0 || !l->o->fx[idx].has_column) {
            load_fail(l, 400, "INVALID_FIELD", "No such column '%s' on sobject of type %s", t,
                      ob->name);
            goto out;
        }
        have_id |= idx == l->o->f_id;
        l->has_isdeleted |= idx == l->o->f_isdeleted;
        sfr_buf_printf(&cols, "%s\"%s\"", cols.len ? ", " : "", ob->fields[idx].column);
    }
    if (cols.len == 0) {
        load_fail(l, 400, "MALFORMED_CSV", "the CSV header names no field");
        goto out;
    }
    l->inject_id = !have_id;
    char now[32], setsql[80];
    emu_fmt_pg_datetime(emu_now_ms(), now);
    snprintf(setsql, sizeof setsql, "SET sfemu.now = '%s'", now);
    emu_exec(l->c, setsql);
    char *sql = sfr_asprintf("COPY %s (%s%s) FROM STDIN (FORMAT csv)", l->o->qtable,
                             l->inject_id ? "id, " : "", cols.data);
    PGresult *res = PQexec(l->c, sql);
    free(sql);
    if (PQresultStatus(res) != PGRES_COPY_IN)
        load_fail(l, 400, "INVALID_FIELD", "%s", PQresultErrorMessage(res));
    PQclear(res);
out:
    sfr_buf_cleanup(&cols);
}

static void load_put(struct emu_load *l)
{
    if (l->out.len == 0 || l->status != 0)
        return;
    if (PQputCopyData(l->c, l->out.data, (int)l->out.len) != 1)
        load_fail(l, 500, "UNKNOWN_EXCEPTION", "%s", PQerrorMessage(l->c));
    sfr_buf_reset(&l->out);
}

static void load_body(struct emu_load *l, const char *d, size_t n)
{
    if (!l->inject_id) {
        sfr_buf_append(&l->out, d, n);
        if (l->out.len >= 256 * 1024)
            load_put(l);
        return;
    }
    size_t from = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = d[i];
        if (l->at_start) {
            if (ch == '\n' || ch == '\r') { /* blank line */
                sfr_buf_append(&l->out, d + from, i - from);
                from = i + 1;
                continue;
            }
            sfr_buf_append(&l->out, d + from, i - from);
            from = i;
            char id[19];
            emu_new_id(l->o, id);
            sfr_buf_append(&l->out, id, 18);
            sfr_buf_putc(&l->out, ',');
            l->at_start = false;
        }
        if (ch == '"')
            l->in_quotes = !l->in_quotes;
        else if (ch == '\n' && !l->in_quotes)
            l->at_start = true;
    }
    sfr_buf_append(&l->out, d + from, n - from);
    if (l->out.len >= 256 * 1024)
        load_put(l);
}

bool emu_load_chunk(struct emu_req *r, const char *data, size_t n)
{
    struct emu_load *l = r->load;
    if (l->status != 0)
        return false;
    if (!l->header_done) {
        const char *nl = memchr(data, '\n', n);
        size_t take = nl ? (size_t)(nl - data) + 1 : n;
        sfr_buf_append(&l->head, data, take);
        if (l->head.len > 65536) {
            load_fail(l, 400, "MALFORMED_CSV", "CSV header line too long");
            return false;
        }
        if (nl == NULL)
            return true;
        l->header_done = true;
        load_start_copy(l);
        if (l->status != 0)
            return false;
        data += take;
        n -= take;
    }
    load_body(l, data, n);
    return l->status == 0;
}

static void load_free(struct emu_req *r)
{
    struct emu_load *l = r->load;
    sfr_buf_cleanup(&l->head);
    sfr_buf_cleanup(&l->out);
    free(l);
    r->load = NULL;
}

enum MHD_Result emu_load_finish(struct emu_req *r)
{
    struct emu_load *l = r->load;
    long rows = 0;
    if (l->status == 0 && !l->header_done && l->head.len > 0) {
        l->header_done = true;
        load_start_copy(l);
    }
    if (l->status == 0 && !l->header_done)
        load_fail(l, 400, "MALFORMED_CSV", "empty CSV body: a header line is required");
    if (l->status == 0) {
        load_put(l);
        if (PQputCopyEnd(l->c, l->status ? "aborted" : NULL) != 1)
            load_fail(l, 500, "UNKNOWN_EXCEPTION", "%s", PQerrorMessage(l->c));
        PGresult *res;
        while ((res = PQgetResult(l->c)) != NULL) {
            if (PQresultStatus(res) == PGRES_COMMAND_OK)
                rows = atol(PQcmdTuples(res));
            else
                load_fail(l, 400, "INVALID_FIELD", "%s", PQresultErrorMessage(res));
            PQclear(res);
        }
    } else if (l->c != NULL && l->header_done && PQisBusy(l->c) == 0) {
        PQputCopyEnd(l->c, "load rejected");
        PGresult *res;
        while ((res = PQgetResult(l->c)) != NULL)
            PQclear(res);
    }
    if (l->status == 0) {
        if (l->has_isdeleted) {
            char *sql = sfr_asprintf(
                "UPDATE %s SET _deleted_at = coalesce(\"%s\", (now() AT TIME "
                "ZONE 'UTC')) WHERE isdeleted AND _deleted_at IS NULL",
                l->o->qtable,
                l->o->f_modstamp >= 0 ? l->o->obj->fields[l->o->f_modstamp].column : "_deleted_at");
            emu_exec(l->c, sql);
            free(sql);
        }
        emu_sync_seq(l->c, l->o);
        /* planner statistics for what was loaded: without them Postgres reads
         * a page of Id-ordered results by sorting the whole table */
        char *an = sfr_asprintf("ANALYZE %s", l->o->qtable);
        emu_exec(l->c, an);
        free(an);
    }
    if (l->c != NULL)
        emu_exec(l->c, "RESET sfemu.now");
    emu_pg_put(l->c);
    l->c = NULL;
    enum MHD_Result ret;
    if (l->status != 0) {
        ret = emu_send_error(r, l->status, l->code, "%s", l->msg);
    } else {
        struct sfr_buf b = SFR_BUF_INIT;
        sfr_buf_printf(&b, "{\"loaded\":%ld}", rows);
        ret = emu_send_json(r, 200, &b);
    }
    load_free(r);
    return ret;
}

void emu_load_abort(struct emu_req *r)
{
    struct emu_load *l = r->load;
    if (l->c != NULL) {
        /* the connection may be mid-COPY: do not reuse it */
        PQfinish(l->c);
        l->c = NULL;
    }
    load_free(r);
}

/* ---- the other admin endpoints ---- */

static enum MHD_Result reset(struct emu_req *r)
{
    PGconn *c = emu_pg_get();
    if (c == NULL)
        return emu_send_error(r, 503, "SERVER_UNAVAILABLE", "store unavailable");
    struct sfr_buf sql = SFR_BUF_INIT;
    sfr_buf_puts(&sql, "TRUNCATE sfemu._events, sfemu._purged");
    for (int i = 0; i < EMU.n_objs; i++)
        sfr_buf_printf(&sql, ", %s", EMU.objs[i].qtable);
    sfr_buf_puts(&sql, " RESTART IDENTITY; DELETE FROM sfemu._meta");
    bool ok = emu_exec(c, sql.data);
    sfr_buf_cleanup(&sql);
    pthread_mutex_lock(&EMU.lock);
    for (int i = 0; i < EMU.n_objs; i++)
        EMU.objs[i].next_seq = 0;
    memset(&EMU.counters, 0, sizeof EMU.counters);
    EMU.api_usage = 0;
    pthread_mutex_unlock(&EMU.lock);
    char msg[256];
    emu_pg_put(c);
    if (ok)
        ok = emu_store_init(msg, sizeof msg);
    emu_events_signal();
    if (!ok)
        return emu_send_error(r, 500, "UNKNOWN_EXCEPTION", "reset failed (see the sfemu log)");
    return emu_send_str(r, 200, "{\"reset\":true}");
}

static enum MHD_Result counters(struct emu_req *r)
{
    struct emu_counters k;
    long usage;
    pthread_mutex_lock(&EMU.lock);
    k = EMU.counters;
    usage = EMU.api_usage;
    pthread_mutex_unlock(&EMU.lock);
    struct sfr_buf b = SFR_BUF_INIT;
    sfr_buf_printf(
        &b,
        "{\"total\":%ld,\"api_usage\":%ld,\"by_endpoint\":{\"query\":%ld,\"queryMore\":%ld,"
        "\"describe\":%ld,\"composite\":%ld,\"bulk\":%ld,\"sobject\":%ld,"
        "\"other\":%ld},\"injected\":{\"fail\":%ld,\"drop\":%ld,\"expire\":%ld}}",
        k.total, usage, k.query, k.query_more, k.describe, k.composite, k.bulk, k.sobject, k.other,
        k.injected_fail, k.injected_drop, k.injected_expire);
    return emu_send_json(r, 200, &b);
}

static long jlong(json_object *o, const char *key, long def)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
        return def;
    return (long)json_object_get_int64(v);
}

static json_object *admin_json(struct emu_req *r, enum MHD_Result *ret)
{
    json_object *j = r->body.len ? json_tokener_parse(r->body.data) : json_object_new_object();
    if (j == NULL || !json_object_is_type(j, json_type_object)) {
        json_object_put(j);
        *ret = emu_send_error(r, 400, "JSON_PARSER_ERROR", "expected a JSON object");
        return NULL;
    }
    return j;
}

/* The keys POST /__emu/fault accepts; any other is a 400, so that a typo
 * in a test does not silently inject nothing. */
static const char *const fault_keys[] = {
    "latency_ms",    /* every request waits this long */
    "fail_nth",      /* the Nth request fails ... */
    "fail_count",    /* ... and this many after it */
    "fail_status",   /* with this status (503) */
    "drop_nth",      /* the Nth request is dropped */
    "limit_reached", /* REQUEST_LIMIT_EXCEEDED from now on */
    "expire_tokens", /* every live token expires now */
    "fail_every",    /* every Nth request fails with fail_status */
    "drop_every",    /* every Nth request is dropped */
    "expire_every",  /* a token expires at its Nth use */
    "after_write",   /* a write applied, then its answer lost (emu_after_write_parse) */
};

/* NULL when every key of j is a fault key and every count a whole number
 * >= 0 (or null); else a message naming the key (in msg). */
static const char *fault_check(json_object *j, char *msg, size_t n)
{
    json_object_object_foreach(j, key, val)
    {
        size_t k = 0;
        while (k < sizeof fault_keys / sizeof *fault_keys && strcmp(fault_keys[k], key) != 0)
            k++;
        if (k == sizeof fault_keys / sizeof *fault_keys) {
            snprintf(msg, n, "unknown fault key '%.64s'", key);
            return msg;
        }
        bool flag = strcmp(key, "limit_reached") == 0 || strcmp(key, "expire_tokens") == 0 ||
                    strcmp(key, "after_write") == 0; /* an object, checked by its parser */
        if (val == NULL || flag)
            continue;
        if (!json_object_is_type(val, json_type_int) || json_object_get_int64(val) < 0) {
            snprintf(msg, n, "fault key '%s': expected a whole number >= 0", key);
            return msg;
        }
    }
    return NULL;
}

/* The periodic forms: fail_every, drop_every, expire_every N (0 = off). */
static struct emu_storm storm_from(json_object *j)
{
    struct emu_storm s = {0};
    s.fail_every = jlong(j, "fail_every", 0);
    s.drop_every = jlong(j, "drop_every", 0);
    s.expire_every = jlong(j, "expire_every", 0);
    return s;
}

static enum MHD_Result fault(struct emu_req *r)
{
    enum MHD_Result ret;
    json_object *j = admin_json(r, &ret), *v;
    if (j == NULL)
        return ret;
    char why[160];
    if (fault_check(j, why, sizeof why) != NULL) {
        json_object_put(j);
        return emu_send_error(r, 400, "INVALID_FIELD", "%s", why);
    }
    struct emu_storm storm = storm_from(j);
    struct emu_faults f = {0};
    f.latency_ms = jlong(j, "latency_ms", 0);
    f.fail_nth = jlong(j, "fail_nth", 0);
    f.fail_status = jlong(j, "fail_status", 503);
    f.fail_count = jlong(j, "fail_count", 1);
    f.drop_nth = jlong(j, "drop_nth", 0);
    f.limit_reached =
        json_object_object_get_ex(j, "limit_reached", &v) && json_object_get_boolean(v);
    if (!emu_after_write_parse(j, &f.after_write)) {
        json_object_put(j);
        return emu_send_error(
            r, 400, "INVALID_FIELD",
            "after_write: expected {\"nth\":N,\"count\":N,\"answer\":\"drop\"|504,"
            "\"op\":\"create\"|\"update\"|\"upsert\"|\"delete\"|\"any\"}");
    }
    bool expire = json_object_object_get_ex(j, "expire_tokens", &v) && json_object_get_boolean(v);
    json_object_put(j);
    if (f.fail_status < 400 || f.fail_status > 599)
        return emu_send_error(r, 400, "INVALID_FIELD", "fail_status must be 400..599");
    struct emu_token *dead = NULL;
    pthread_mutex_lock(&EMU.lock);
    EMU.faults = f;
    EMU.storm = storm;
    for (struct emu_token *t = EMU.tokens; t != NULL; t = t->next)
        t->uses = 0;
    if (expire) {
        dead = EMU.tokens;
        EMU.tokens = NULL;
    }
    pthread_mutex_unlock(&EMU.lock);
    while (dead != NULL) {
        struct emu_token *t = dead;
        dead = t->next;
        free(t->token);
        free(t);
    }
    return emu_send_str(r, 200, "{\"ok\":true}");
}

static enum MHD_Result clock_ep(struct emu_req *r)
{
    if (strcmp(r->method, "POST") == 0) {
        enum MHD_Result ret;
        json_object *j = admin_json(r, &ret), *v;
        if (j == NULL)
            return ret;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t real = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, off;
        if (json_object_object_get_ex(j, "now", &v)) {
            int64_t ms;
            if (!emu_parse_datetime(json_object_get_string(v), &ms)) {
                json_object_put(j);
                return emu_send_error(r, 400, "INVALID_FIELD", "now: not an ISO 8601 datetime");
            }
            off = ms - real;
        } else {
            off = jlong(j, "offset_ms", 0);
        }
        json_object_put(j);
        __atomic_store_n(&EMU.clock_offset_ms, off, __ATOMIC_RELAXED);
    }
    char now[32];
    emu_fmt_sf_datetime(emu_now_ms(), now);
    memcpy(now + 23, "Z", 2);
    struct sfr_buf b = SFR_BUF_INIT;
    sfr_buf_printf(&b, "{\"now\":\"%s\",\"offset_ms\":%lld}", now,
                   (long long)__atomic_load_n(&EMU.clock_offset_ms, __ATOMIC_RELAXED));
    return emu_send_json(r, 200, &b);
}

static enum MHD_Result config(struct emu_req *r)
{
    enum MHD_Result ret;
    json_object *j = admin_json(r, &ret);
    if (j == NULL)
        return ret;
    pthread_mutex_lock(&EMU.lock);
    EMU.connect_timeout_ms = jlong(j, "connect_timeout_ms", EMU.connect_timeout_ms);
    EMU.daily_limit = jlong(j, "daily_limit", EMU.daily_limit);
    long page = jlong(j, "bulk_result_page", EMU.bulk_result_page);
    if (page > 0)
        EMU.bulk_result_page = page;
    struct sfr_buf b = SFR_BUF_INIT;
    sfr_buf_printf(&b, "{\"connect_timeout_ms\":%ld,\"daily_limit\":%ld,\"bulk_result_page\":%ld}",
                   EMU.connect_timeout_ms, EMU.daily_limit, EMU.bulk_result_page);
    pthread_mutex_unlock(&EMU.lock);
    json_object_put(j);
    return emu_send_json(r, 200, &b);
}

enum MHD_Result emu_admin(struct emu_req *r)
{
    const char *k = r->n_seg >= 2 ? r->seg[1] : "";
    bool post = strcmp(r->method, "POST") == 0, get = strcmp(r->method, "GET") == 0;
    if (r->too_big)
        return emu_send_error(r, 413, "REQUEST_ENTITY_TOO_LARGE", "request body too large");
    if (strcmp(k, "reset") == 0 && post && r->n_seg == 2)
        return reset(r);
    if (strcmp(k, "counters") == 0 && get && r->n_seg == 2)
        return counters(r);
    if (strcmp(k, "counters") == 0 && post && r->n_seg == 3 && strcmp(r->seg[2], "reset") == 0) {
        pthread_mutex_lock(&EMU.lock);
        memset(&EMU.counters, 0, sizeof EMU.counters);
        pthread_mutex_unlock(&EMU.lock);
        return counters(r);
    }
    if (strcmp(k, "fault") == 0 && post && r->n_seg == 2)
        return fault(r);
    if (strcmp(k, "clock") == 0 && (post || get) && r->n_seg == 2)
        return clock_ep(r);
    if (strcmp(k, "config") == 0 && post && r->n_seg == 2)
        return config(r);
    if (strcmp(k, "cdc") == 0)
        return emu_admin_cdc(r);
    if (strcmp(k, "load") == 0)
        return emu_send_error(r, 404, "NOT_FOUND", "POST /__emu/load/{Object} with a CSV body");
    return emu_send_not_found(r);
}
