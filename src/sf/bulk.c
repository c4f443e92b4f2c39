/* bulk.c — Bulk API 2.0 query: create the job, poll it with backoff (start
 * SF_BULK_POLL_MS or 100 ms, x1.5, capped at 2 s, and for a job that runs
 * long at a tenth of its age up to 30 s, so a job of 40 minutes costs about a
 * hundred status calls, not a thousand), then fetch the CSV result
 * pages by Sforce-Locator and parse each as a stream (csv.c), one callback
 * per record. A job that fails while we wait, or that we give up on, is
 * aborted so it does not keep running in the org. As with REST pages, the
 * rows of a result page already delivered before a retry are skipped.
 *
 * The parallel read (sfr_sf_bulk_query_parallel) lists the job's result
 * pages with GET .../resultPages (API 58.0 and later; five result URLs an
 * answer, nextRecordsUrl for more) on the calling thread, which queues the
 * URLs (at most `streams` waiting, so the listing keeps just ahead of the
 * reads), and `streams` threads with a clone of the client each take a URL
 * at a time, read that page and parse it as it arrives. A page's
 * Sforce-Locator is not followed: the pages listed are the whole result.
 * The first error stops every stream; the clones' calls are added to the
 * client's counts. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "sf_internal.h"
#include "sfrecon/json.h"
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
        const char *jid = sfr_json_str(j, "id");
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
        const char *state = sfr_json_str(j, "state");
        if (state == NULL) {
            rc = sfr_err_set(err, SFR_ESF, "Bulk API job %s: answer lacks a state", id);
        } else if (strcmp(state, "JobComplete") == 0) {
            rc = SFR_OK;
            *ended = true;
        } else if (strcmp(state, "Failed") == 0 || strcmp(state, "Aborted") == 0) {
            *ended = true;
            const char *why = sfr_json_str(j, "errorMessage");
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

static struct bsink *bsink_new(const char *const *fields, int n_fields, sfr_sf_row_cb cb, void *ctx)
{
    struct bsink *b = sfr_calloc(1, sizeof(*b));
    b->sink = (struct sf_sink){b_write, b_reset, b_complete, b, {0}};
    sfr_sf_csv_init(&b->csv, fields, n_fields);
    b->csv.on_row = b_row;
    b->csv.ctx = b;
    b->csv.max_row = SF_MAX_RECORD;
    b->cb = cb;
    b->ctx = ctx;
    return b;
}

static void bsink_free(struct bsink *b)
{
    if (b == NULL)
        return;
    sfr_sf_csv_cleanup(&b->csv);
    free(b);
}

/* Creates the job and waits until it is complete (aborting it on failure). */
static enum sfr_rc job_run(struct sfr_sf *c, const char *object, const char *soql, bool all,
                           char *id, size_t id_n, struct sfr_err *err)
{
    enum sfr_rc rc = job_create(c, object, soql, all, id, id_n, err);
    if (rc != SFR_OK)
        return rc;
    sfr_log_debug("Bulk API query job %s on %s", id, object);
    bool ended;
    rc = job_wait(c, object, id, &ended, err);
    if (rc != SFR_OK && !ended && rc != SFR_ELIMIT)
        job_abort(c, object, id);
    return rc;
}

enum sfr_rc sfr_sf_bulk_query(struct sfr_sf *c, const char *soql, bool all,
                              const char *const *fields, int n_fields, sfr_sf_row_cb cb, void *ctx,
                              long *n_rows, struct sfr_err *err)
{
    char object[80], id[64];
    sf_soql_object(soql, object, sizeof(object));
    struct bsink *b = bsink_new(fields, n_fields, cb, ctx);
    enum sfr_rc rc = job_run(c, object, soql, all, id, sizeof(id), err);
    if (rc == SFR_OK)
        rc = job_results(c, object, id, b, err);
    if (n_rows != NULL)
        *n_rows = b->total;
    bsink_free(b);
    return rc;
}

/* ---- parallel result pages ---- */

static bool url_plain(const char *u)
{
    for (; *u; u++)
        if ((unsigned char)*u <= ' ' || *u == '"' || *u == '\\' || (unsigned char)*u >= 0x7f)
            return false;
    return true;
}

/* A URL of `what` ("results", "resultPages") of job id: a path under
 * /services/data/ or an absolute URL (sf_do sends the session only to the
 * instance). */
static bool job_url_ok(const char *u, const char *id, const char *what)
{
    bool abs = strncmp(u, "https://", 8) == 0 || strncmp(u, "http://", 7) == 0;
    if (!url_plain(u) || (!abs && strncmp(u, "/services/data/", 15) != 0))
        return false;
    char want[160];
    snprintf(want, sizeof(want), "/jobs/query/%s/%s", id, what);
    const char *at = strstr(u, want);
    if (at == NULL)
        return false;
    char after = at[strlen(want)];
    return after == '\0' || after == '?';
}

enum sfr_rc sfr_sf_parse_result_pages(const char *body, size_t len, const char *job_id,
                                      struct sfr_strv *urls, char *next, size_t next_n, bool *done,
                                      struct sfr_err *err)
{
    next[0] = '\0';
    *done = false;
    json_tokener *tok = json_tokener_new();
    json_object *j = json_tokener_parse_ex(tok, body ? body : "", body ? (int)len : 0);
    bool parsed = json_tokener_get_error(tok) == json_tokener_success;
    json_tokener_free(tok);
    enum sfr_rc rc = SFR_OK;
    json_object *pages, *v;
    if (!parsed || !json_object_is_type(j, json_type_object) ||
        !json_object_object_get_ex(j, "resultPages", &pages) ||
        !json_object_is_type(pages, json_type_array)) {
        rc = sfr_err_set(err, SFR_ESF,
                         "Bulk API job %s: the result pages answer has no "
                         "resultPages array",
                         job_id);
        goto out;
    }
    size_t n = json_object_array_length(pages);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(pages, i);
        const char *u = sfr_json_str(e, "resultUrl");
        if (u == NULL || !job_url_ok(u, job_id, "results")) {
            rc = sfr_err_set(err, SFR_ESF,
                             "Bulk API job %s: result page %zu has no resultUrl of "
                             "the job's results",
                             job_id, i + 1);
            goto out;
        }
        sfr_strv_push(urls, u);
    }
    const char *nx = sfr_json_str(j, "nextRecordsUrl");
    if (nx == NULL)
        nx = sfr_json_str(j, "nextRecordUrl");
    if (json_object_object_get_ex(j, "done", &v) && json_object_is_type(v, json_type_boolean))
        *done = json_object_get_boolean(v);
    else
        *done = nx == NULL || nx[0] == '\0';
    if (*done)
        goto out;
    if (nx == NULL || nx[0] == '\0') {
        rc = sfr_err_set(err, SFR_ESF,
                         "Bulk API job %s: more result pages announced without a "
                         "nextRecordsUrl",
                         job_id);
    } else if (!job_url_ok(nx, job_id, "resultPages") || strlen(nx) >= next_n) {
        rc = sfr_err_set(err, SFR_ESF,
                         "Bulk API job %s: nextRecordsUrl is no URL of the job's "
                         "result pages",
                         job_id);
    } else {
        snprintf(next, next_n, "%s", nx);
    }
out:
    json_object_put(j);
    return rc;
}

struct par {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct sfr_strv queue; /* result URLs not taken yet: v[head..n) */
    size_t head;
    bool listed; /* every page is queued */
    atomic_bool stop;
    bool failed, cb_stopped;
    enum sfr_rc rc;
    struct sfr_err err;
    sfr_sf_stream_row_cb cb;
    void *ctx;
    const char *object, *job;
};

struct pworker {
    struct par *p;
    struct sfr_sf *c;
    struct bsink *b;
    int index;
    pthread_t th;
};

static void par_fail(struct par *p, enum sfr_rc rc, const struct sfr_err *e)
{
    pthread_mutex_lock(&p->mu);
    if (!p->failed) {
        p->failed = true;
        p->rc = rc;
        if (e != NULL)
            p->err = *e;
    }
    atomic_store(&p->stop, true);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static int w_row(void *ctx, const char *const *values, const size_t *lens)
{
    struct pworker *w = ctx;
    struct par *p = w->p;
    if (atomic_load(&p->stop))
        return 1;
    if (p->cb(p->ctx, w->index, values, lens) == 0)
        return 0;
    pthread_mutex_lock(&p->mu);
    p->cb_stopped = true;
    atomic_store(&p->stop, true);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return 1;
}

/* One result page, whole (its Sforce-Locator is not followed). */
static enum sfr_rc page_read(struct sfr_sf *c, const char *object, const char *url, struct bsink *b,
                             struct sfr_err *err)
{
    struct sf_resp rs;
    sf_resp_init(&rs);
    struct sf_req rq = {
        .method = "GET", .path = url, .accept = "text/csv", .object = object, .sink = &b->sink};
    b->delivered = 0;
    enum sfr_rc rc = sf_do(c, &rq, &rs, err);
    sf_resp_cleanup(&rs);
    return rc;
}

static void *w_run(void *arg)
{
    struct pworker *w = arg;
    struct par *p = w->p;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (p->head == p->queue.n && !p->listed && !atomic_load(&p->stop))
            pthread_cond_wait(&p->cv, &p->mu);
        if (atomic_load(&p->stop) || p->head == p->queue.n) {
            pthread_mutex_unlock(&p->mu);
            break;
        }
        char *url = p->queue.v[p->head];
        p->queue.v[p->head++] = NULL;
        pthread_cond_broadcast(&p->cv); /* room for the listing */
        pthread_mutex_unlock(&p->mu);
        struct sfr_err e;
        sfr_err_clear(&e);
        enum sfr_rc rc = page_read(w->c, p->object, url, w->b, &e);
        free(url);
        if (rc != SFR_OK) {
            par_fail(p, rc, &e);
            break;
        }
    }
    return NULL;
}

/* One answer of resultPages (path: its first or its nextRecordsUrl) into
 * the queue; *next and *done as sfr_sf_parse_result_pages. */
static enum sfr_rc list_pages(struct sfr_sf *c, struct par *p, const char *path, char *next,
                              size_t next_n, bool *done, struct sfr_err *err)
{
    struct sfr_buf body = SFR_BUF_INIT, at = SFR_BUF_INIT;
    struct sfr_strv urls = {0};
    sfr_buf_puts(&at, path); /* path may be next itself */
    enum sfr_rc rc = sfr_sf_request(c, "GET", at.data, NULL, p->object, &body, NULL, err);
    if (rc == SFR_OK)
        rc = sfr_sf_parse_result_pages(body.data, body.len, p->job, &urls, next, next_n, done, err);
    if (rc == SFR_OK) {
        pthread_mutex_lock(&p->mu);
        if (p->head == p->queue.n) { /* drained: start over at the front */
            sfr_strv_cleanup(&p->queue);
            p->head = 0;
        }
        for (size_t i = 0; i < urls.n; i++) {
            sfr_strv_take(&p->queue, urls.v[i]);
            urls.v[i] = NULL;
        }
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    sfr_strv_cleanup(&urls);
    sfr_buf_cleanup(&body);
    sfr_buf_cleanup(&at);
    return rc;
}

/* The clone's calls, usage and token back into c. */
static void merge_clone(struct sfr_sf *c, const struct sfr_sf *w)
{
    sfr_sf_calls_add(&c->calls, &w->calls);
    if (w->limit_used >= 0 && w->usage_read_at >= c->usage_read_at) {
        c->limit_used = w->limit_used;
        c->limit_max = w->limit_max;
        c->usage_read_at = w->usage_read_at;
    }
    if (w->token != NULL && (c->token == NULL || strcmp(w->token, c->token) != 0)) {
        free(c->token);
        c->token = sfr_strdup(w->token);
    }
}

static bool version_at_least(const char *v, int major)
{
    return atoi(v) >= major;
}

struct serial_ctx {
    sfr_sf_stream_row_cb cb;
    void *ctx;
};

static int serial_row(void *ctx, const char *const *values, const size_t *lens)
{
    struct serial_ctx *x = ctx;
    return x->cb(x->ctx, 0, values, lens);
}

enum sfr_rc sfr_sf_bulk_query_parallel(struct sfr_sf *c, const char *soql, bool all,
                                       const char *const *fields, int n_fields, int streams,
                                       sfr_sf_stream_row_cb cb, void *ctx, long *n_rows,
                                       struct sfr_err *err)
{
    char object[80], id[64];
    sf_soql_object(soql, object, sizeof(object));
    if (n_rows != NULL)
        *n_rows = 0;
    enum sfr_rc rc = job_run(c, object, soql, all, id, sizeof(id), err);
    if (rc != SFR_OK)
        return rc;
    streams = streams < 1 ? 1 : streams > SFR_SF_MAX_STREAMS ? SFR_SF_MAX_STREAMS : streams;
    struct par p;
    memset(&p, 0, sizeof(p));
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    atomic_init(&p.stop, false);
    p.cb = cb;
    p.ctx = ctx;
    p.object = object;
    p.job = id;
    struct pworker *w = sfr_calloc((size_t)streams, sizeof(*w));
    int started = 0;
    long total = 0;
    char next[1024] = "";
    bool done = true;
    if (streams > 1 && version_at_least(c->api_version, 58)) {
        struct sfr_buf path = SFR_BUF_INIT;
        sf_data_path(c, &path);
        sfr_buf_printf(&path, "/jobs/query/%s/resultPages", id);
        rc = list_pages(c, &p, path.data, next, sizeof(next), &done, err);
        sfr_buf_cleanup(&path);
        if (rc == SFR_ENOTFOUND) {
            sfr_log_debug("Bulk API job %s: no result pages to read in parallel (%s); reading "
                          "them one after another",
                          id, err ? err->msg : "404");
            sfr_err_clear(err);
        } else if (rc == SFR_OK) {
            started = -1; /* parallel */
        }
    }
    if (rc == SFR_OK && started == 0) {
        struct serial_ctx sx = {cb, ctx};
        struct bsink *b = bsink_new(fields, n_fields, serial_row, &sx);
        rc = job_results(c, object, id, b, err);
        total = b->total;
        bsink_free(b);
        goto out;
    }
    if (rc != SFR_OK)
        goto out;
    started = 0;
    for (int i = 0; i < streams; i++) {
        struct sfr_err e;
        if (sfr_sf_clone(c, &w[i].c, &e) != SFR_OK) {
            sfr_log_debug("Bulk API job %s: stream %d: %s", id, i, e.msg);
            break;
        }
        w[i].p = &p;
        w[i].index = i;
        w[i].b = bsink_new(fields, n_fields, w_row, &w[i]);
        if (pthread_create(&w[i].th, NULL, w_run, &w[i]) != 0) {
            bsink_free(w[i].b);
            sfr_sf_free(w[i].c);
            w[i].c = NULL;
            break;
        }
        started++;
    }
    if (started == 0) {
        /* no thread: read the queued pages here, one after another */
        struct pworker self = {.p = &p, .c = c, .index = 0};
        self.b = bsink_new(fields, n_fields, w_row, &self);
        p.listed = true; /* w_run drains the queue and returns */
        while (rc == SFR_OK && !atomic_load(&p.stop)) {
            w_run(&self);
            if (done || atomic_load(&p.stop))
                break;
            rc = list_pages(c, &p, next, next, sizeof(next), &done, err);
        }
        total = self.b->total;
        bsink_free(self.b);
        goto joined;
    }
    sfr_log_debug("Bulk API job %s: reading its result pages in %d streams", id, started);
    while (!done) {
        pthread_mutex_lock(&p.mu);
        while (p.queue.n - p.head >= (size_t)started && !atomic_load(&p.stop))
            pthread_cond_wait(&p.cv, &p.mu);
        pthread_mutex_unlock(&p.mu);
        if (atomic_load(&p.stop))
            break;
        struct sfr_err e;
        sfr_err_clear(&e);
        enum sfr_rc lrc = list_pages(c, &p, next, next, sizeof(next), &done, &e);
        if (lrc != SFR_OK) {
            par_fail(&p, lrc, &e);
            break;
        }
    }
    pthread_mutex_lock(&p.mu);
    p.listed = true;
    pthread_cond_broadcast(&p.cv);
    pthread_mutex_unlock(&p.mu);
    for (int i = 0; i < started; i++) {
        pthread_join(w[i].th, NULL);
        total += w[i].b->total;
        merge_clone(c, w[i].c);
        bsink_free(w[i].b);
        sfr_sf_free(w[i].c);
    }
joined:
    if (rc == SFR_OK && p.failed) {
        rc = p.rc;
        if (err != NULL)
            *err = p.err;
    }
out:
    if (n_rows != NULL)
        *n_rows = total;
    sfr_strv_cleanup(&p.queue);
    pthread_cond_destroy(&p.cv);
    pthread_mutex_destroy(&p.mu);
    free(w);
    return rc;
}
