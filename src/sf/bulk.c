/* bulk.c — Bulk API 2.0 query: create the job, poll it with backoff (start
 * SF_BULK_POLL_MS or 100 ms, x1.5, capped at 2 s, and for a job that runs
 * long at a tenth of its age up to 30 s, so a job of 40 minutes costs about a
 * hundred status calls, not a thousand), then fetch the CSV result
 * pages by Sforce-Locator and parse each as a stream (csv.c), one callback
 * per record. A job that fails while we wait, or that we give up on, is
 * aborted so it does not keep running in the org. As with REST pages, the
 * rows of a result page already delivered before a retry are skipped. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "sf_internal.h"
#include "sfrecon/log.h"

#define BULK_MAX_WAIT_MS (3600L * 1000)
#define BULK_MAX_POLL_MS 30000L

struct bsink {
    struct sf_sink sink;
    struct sfr_sf_csv csv;
    sfr_sf_row_cb cb;
    void *ctx;
    long seen, delivered, total;
    bool stopped;
};

static int b_row(void *ctx, const char *const *values, const size_t *lens)
{
    struct bsink *b = ctx;
    if (++b->seen <= b->delivered)
        return 0;
    b->delivered++;
    b->total++;
    if (b->cb(b->ctx, values, lens) != 0) {
        b->stopped = true;
        return 1;
    }
    return 0;
}

static int b_write(void *ctx, const char *p, size_t n)
{
    struct bsink *b = ctx;
    return sfr_sf_csv_feed(&b->csv, p, n, &b->sink.err);
}

static void b_reset(void *ctx)
{
    struct bsink *b = ctx;
    sfr_sf_csv_reset(&b->csv);
    b->seen = 0;
}

static bool b_complete(void *ctx)
{
    struct bsink *b = ctx;
    return sfr_sf_csv_finish(&b->csv, &b->sink.err) >= 0;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *jstr(json_object *j, const char *key)
{
    json_object *v;
    if (j != NULL && json_object_object_get_ex(j, key, &v) &&
        json_object_is_type(v, json_type_string))
        return json_object_get_string(v);
    return NULL;
}

static enum sfr_rc job_create(struct sfr_sf *c, const char *object, const char *soql, bool all,
                              char *id, size_t id_n, struct sfr_err *err)
{
    json_object *req = json_object_new_object();
    json_object_object_add(req, "operation", json_object_new_string(all ? "queryAll" : "query"));
    json_object_object_add(req, "query", json_object_new_string(soql));
    json_object_object_add(req, "contentType", json_object_new_string("CSV"));
    json_object_object_add(req, "columnDelimiter", json_object_new_string("COMMA"));
    json_object_object_add(req, "lineEnding", json_object_new_string("LF"));
    struct sfr_buf path = SFR_BUF_INIT, body = SFR_BUF_INIT;
    sf_data_path(c, &path);
    sfr_buf_puts(&path, "/jobs/query");
    enum sfr_rc rc = sfr_sf_request(c, "POST", path.data,
                                    json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN),
                                    object, &body, NULL, err);
    json_object *j = NULL;
    if (rc == SFR_OK) {
        j = json_tokener_parse(body.data ? body.data : "");
        const char *jid = jstr(j, "id");
        if (jid == NULL || jid[0] == '\0' ||
            strspn(jid, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "abcdefghijklmnopqrstuvwxyz") != strlen(jid))
            rc = sfr_err_set(err, SFR_ESF, "Bulk API query job answer lacks an id");
        else
            snprintf(id, id_n, "%s", jid);
    }
    json_object_put(j);
    json_object_put(req);
    sfr_buf_cleanup(&path);
    sfr_buf_cleanup(&body);
    return rc;
}

static void job_abort(struct sfr_sf *c, const char *object, const char *id)
{
    struct sfr_buf path = SFR_BUF_INIT;
    struct sfr_err e;
    sf_data_path(c, &path);
    sfr_buf_printf(&path, "/jobs/query/%s", id);
    if (sfr_sf_request(c, "PATCH", path.data, "{\"state\":\"Aborted\"}", object, NULL, NULL, &e) !=
        SFR_OK)
        sfr_log_debug("aborting Bulk job %s: %s", id, e.msg);
    sfr_buf_cleanup(&path);
}

/* Waits for JobComplete. *ended: the job is over (complete, failed or
 * aborted), so there is nothing to abort. */
static enum sfr_rc job_wait(struct sfr_sf *c, const char *object, const char *id, bool *ended,
                            struct sfr_err *err)
{
    *ended = false;
    struct sfr_buf path = SFR_BUF_INIT, body = SFR_BUF_INIT;
    sf_data_path(c, &path);
    sfr_buf_printf(&path, "/jobs/query/%s", id);
    long delay = c->poll_ms, cap = c->poll_ms * 20 < 2000 ? c->poll_ms * 20 : 2000;
    if (cap < delay)
        cap = delay;
    long start = now_ms();
    enum sfr_rc rc;
    for (;;) {
        sfr_buf_reset(&body);
        if ((rc = sfr_sf_request(c, "GET", path.data, NULL, object, &body, NULL, err)) != SFR_OK)
            break;
        json_object *j = json_tokener_parse(body.data ? body.data : "");
        const char *state = jstr(j, "state");
        if (state == NULL) {
            rc = sfr_err_set(err, SFR_ESF, "Bulk API job %s: answer lacks a state", id);
        } else if (strcmp(state, "JobComplete") == 0) {
            rc = SFR_OK;
            *ended = true;
        } else if (strcmp(state, "Failed") == 0 || strcmp(state, "Aborted") == 0) {
            *ended = true;
            const char *why = jstr(j, "errorMessage");
            rc = sfr_err_set(err, SFR_ESF, "Bulk API query job %s on %s %s%s%s", id, object, state,
                             why ? ": " : "", why ? why : "");
        } else if (now_ms() - start > BULK_MAX_WAIT_MS) {
            rc = sfr_err_set(err, SFR_ESF, "Bulk API query job %s on %s still %s after %ld s", id,
                             object, state, BULK_MAX_WAIT_MS / 1000);
        } else {
            json_object_put(j);
            sf_sleep_ms(delay);
            long age = now_ms() - start, cap_now = age / 10 > cap ? age / 10 : cap;
            if (cap_now > BULK_MAX_POLL_MS)
                cap_now = BULK_MAX_POLL_MS > cap ? BULK_MAX_POLL_MS : cap;
            delay = delay * 3 / 2 > cap_now ? cap_now : delay * 3 / 2;
            continue;
        }
        json_object_put(j);
        break;
    }
    sfr_buf_cleanup(&path);
    sfr_buf_cleanup(&body);
    return rc;
}

static enum sfr_rc job_results(struct sfr_sf *c, const char *object, const char *id,
                               struct bsink *b, struct sfr_err *err)
{
    struct sfr_buf path = SFR_BUF_INIT;
    char locator[256] = "";
    struct sf_resp rs;
    sf_resp_init(&rs);
    enum sfr_rc rc;
    for (;;) {
        sfr_buf_reset(&path);
        sf_data_path(c, &path);
        sfr_buf_printf(&path, "/jobs/query/%s/results?maxRecords=%ld", id, c->bulk_page);
        if (locator[0]) {
            sfr_buf_puts(&path, "&locator=");
            sf_urlencode(&path, locator);
        }
        struct sf_req rq = {.method = "GET",
                            .path = path.data,
                            .accept = "text/csv",
                            .object = object,
                            .sink = &b->sink};
        b->delivered = 0;
        rc = sf_do(c, &rq, &rs, err);
        if (rc != SFR_OK || rs.stopped || b->stopped)
            break;
        if (rs.locator[0] == '\0' || strcmp(rs.locator, "null") == 0)
            break;
        if (strcmp(rs.locator, locator) == 0) {
            rc = sfr_err_set(err, SFR_ESF, "Bulk API job %s returned the same locator twice", id);
            break;
        }
        snprintf(locator, sizeof(locator), "%s", rs.locator);
    }
    sf_resp_cleanup(&rs);
    sfr_buf_cleanup(&path);
    return rc;
}

enum sfr_rc sfr_sf_bulk_query(struct sfr_sf *c, const char *soql, bool all,
                              const char *const *fields, int n_fields, sfr_sf_row_cb cb, void *ctx,
                              long *n_rows, struct sfr_err *err)
{
    char object[80], id[64];
    sf_soql_object(soql, object, sizeof(object));
    struct bsink *b = sfr_calloc(1, sizeof(*b));
    b->sink = (struct sf_sink){b_write, b_reset, b_complete, b, {0}};
    sfr_sf_csv_init(&b->csv, fields, n_fields);
    b->csv.on_row = b_row;
    b->csv.ctx = b;
    b->csv.max_row = SF_MAX_RECORD;
    b->cb = cb;
    b->ctx = ctx;
    enum sfr_rc rc = job_create(c, object, soql, all, id, sizeof(id), err);
    if (rc != SFR_OK)
        goto out;
    sfr_log_debug("Bulk API query job %s on %s", id, object);
    bool ended;
    rc = job_wait(c, object, id, &ended, err);
    if (rc != SFR_OK) {
        if (!ended && rc != SFR_ELIMIT)
            job_abort(c, object, id);
        goto out;
    }
    rc = job_results(c, object, id, b, err);
out:
    if (n_rows != NULL)
        *n_rows = b->total;
    sfr_sf_csv_cleanup(&b->csv);
    free(b);
    return rc;
}
