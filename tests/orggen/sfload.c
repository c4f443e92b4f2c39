/* sfload.c — orggen's side of sfemu: the password-flow token, the streamed
 * CSV bulk load (POST /__emu/load/{Object}, parents first, a request per
 * LOAD_ROWS records, each body produced on demand by a curl read callback so
 * memory stays small), and the single-record REST calls the fault injector
 * makes. The token is never logged. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "orggen.h"
#include "sfrecon/json.h"
#include "sfrecon/log.h"

#define LOAD_ROWS  50000
#define MAX_RESP   (4L * 1024 * 1024)
#define BATCH_ROWS 256

struct gen_http {
    CURL *curl;
    char *base;     /* sfemu URL without trailing slash */
    char *instance; /* instance_url from the token response */
    char *token;
    char api[16]; /* "60.0" */
    struct sfr_buf resp;
    char errbuf[CURL_ERROR_SIZE];
};

static size_t on_write(char *p, size_t size, size_t n, void *ctx)
{
    struct sfr_buf *b = ctx;
    if (b->len + size * n > (size_t)MAX_RESP)
        return 0;
    sfr_buf_append(b, p, size * n);
    return size * n;
}

enum sfr_rc gen_http_new(const char *base_url, struct gen_http **out, struct sfr_err *err)
{
    struct gen_http *h = sfr_calloc(1, sizeof(*h));
    h->curl = curl_easy_init();
    if (h->curl == NULL) {
        sfr_free(h);
        return sfr_err_set(err, SFR_EHTTP, "cannot initialise libcurl");
    }
    h->base = sfr_strdup(base_url);
    size_t n = strlen(h->base);
    while (n > 0 && h->base[n - 1] == '/')
        h->base[--n] = '\0';
    snprintf(h->api, sizeof(h->api), "60.0");
    *out = h;
    return SFR_OK;
}

void gen_http_free(struct gen_http *h)
{
    if (h == NULL)
        return;
    curl_easy_cleanup(h->curl);
    sfr_free(h->base);
    sfr_free(h->instance);
    sfr_free(h->token);
    sfr_buf_cleanup(&h->resp);
    sfr_free(h);
}

/* One request. body may be NULL; a read callback streams when rd != NULL.
 * Returns the HTTP status in *status; the body is in h->resp. */
static enum sfr_rc http_do(struct gen_http *h, const char *method, const char *url,
                           const char *ctype, const char *body, curl_read_callback rd, void *rdctx,
                           long *status, struct sfr_err *err)
{
    CURL *c = h->curl;
    curl_easy_reset(c);
    sfr_buf_reset(&h->resp);
    struct curl_slist *hdr = NULL;
    char *auth = NULL;
    if (h->token != NULL) {
        auth = sfr_asprintf("Authorization: Bearer %s", h->token);
        hdr = curl_slist_append(hdr, auth);
    }
    if (ctype != NULL) {
        char *ct = sfr_asprintf("Content-Type: %s", ctype);
        hdr = curl_slist_append(hdr, ct);
        sfr_free(ct);
    }
    hdr = curl_slist_append(hdr, "Accept: application/json");
    if (rd != NULL)
        hdr = curl_slist_append(hdr, "Transfer-Encoding: chunked");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &h->resp);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 600L);
    if (rd != NULL) {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, rd);
        curl_easy_setopt(c, CURLOPT_READDATA, rdctx);
    } else if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    h->errbuf[0] = '\0';
    CURLcode cc = curl_easy_perform(c);
    curl_slist_free_all(hdr);
    sfr_free(auth);
    if (cc != CURLE_OK)
        return sfr_err_set(err, SFR_EHTTP, "%s %s: %s", method, url,
                           h->errbuf[0] ? h->errbuf : curl_easy_strerror(cc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    return SFR_OK;
}

static enum sfr_rc http_fail(struct gen_http *h, const char *what, long status, struct sfr_err *err)
{
    enum sfr_rc rc = sfr_err_set(err, status == 401 ? SFR_EAUTH : SFR_ESF, "%s: HTTP %ld: %.300s",
                                 what, status, h->resp.data ? h->resp.data : "");
    if (err != NULL)
        err->http_status = status;
    return rc;
}

/* Appends s form-urlencoded. */
static void form_enc(struct sfr_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            sfr_buf_putc(b, (char)c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            sfr_buf_append(b, e, 3);
        }
    }
}

/* The emulator's user: SF_USERNAME / SF_PASSWORD when set (an sfemu started
 * with --user), else sfemu's default admin@example.com / password. */
enum sfr_rc gen_http_login(struct gen_http *h, struct gen *g, struct sfr_err *err)
{
    char *url = sfr_asprintf("%s/services/oauth2/token", h->base);
    long st = 0;
    const char *user = getenv("SF_USERNAME"), *pw = getenv("SF_PASSWORD");
    struct sfr_buf form = SFR_BUF_INIT;
    sfr_buf_puts(&form, "grant_type=password&client_id=orggen&client_secret=orggen&username=");
    form_enc(&form, user != NULL && user[0] ? user : "admin@example.com");
    sfr_buf_puts(&form, "&password=");
    form_enc(&form, pw != NULL && pw[0] ? pw : "password");
    enum sfr_rc rc = http_do(h, "POST", url, "application/x-www-form-urlencoded", form.data, NULL,
                             NULL, &st, err);
    memset(form.data, 0, form.len);
    sfr_buf_cleanup(&form);
    sfr_free(url);
    if (rc != SFR_OK)
        return rc;
    if (st != 200)
        return http_fail(h, "POST /services/oauth2/token", st, err);
    json_object *o = json_tokener_parse(h->resp.data ? h->resp.data : "");
    const char *tok = sfr_json_str(o, "access_token"), *inst = sfr_json_str(o, "instance_url"),
               *id = sfr_json_str(o, "id");
    if (tok == NULL) {
        json_object_put(o);
        return sfr_err_set(err, SFR_EAUTH, "token response without access_token");
    }
    h->token = sfr_strdup(tok);
    h->instance = sfr_strdup(inst != NULL && *inst ? inst : h->base);
    size_t n = strlen(h->instance);
    while (n > 0 && h->instance[n - 1] == '/')
        h->instance[--n] = '\0';
    const char *slash = id != NULL ? strrchr(id, '/') : NULL;
    if (slash != NULL && strlen(slash + 1) == 18)
        snprintf(g->user_id, sizeof(g->user_id), "%s", slash + 1);
    json_object_put(o);

    /* newest API version the server offers */
    url = sfr_asprintf("%s/services/data/", h->instance);
    rc = http_do(h, "GET", url, NULL, NULL, NULL, NULL, &st, err);
    sfr_free(url);
    if (rc == SFR_OK && st == 200) {
        json_object *arr = json_tokener_parse(h->resp.data ? h->resp.data : "");
        if (arr != NULL && json_object_is_type(arr, json_type_array) &&
            json_object_array_length(arr) > 0) {
            const char *v = sfr_json_str(
                json_object_array_get_idx(arr, json_object_array_length(arr) - 1), "version");
            if (v != NULL)
                snprintf(h->api, sizeof(h->api), "%s", v);
        }
        json_object_put(arr);
    }
    return SFR_OK;
}

/* ---- streamed CSV load ---- */

struct load_state {
    const struct gen *g;
    const struct gen_obj *o;
    long next, end;
    bool header_done;
    struct gen_rec rec;
    struct sfr_buf buf;
    size_t pos;
};

static void csv_field(struct sfr_buf *b, const char *v)
{
    if (v == NULL)
        return;
    if (strpbrk(v, ",\"\r\n") == NULL) {
        sfr_buf_puts(b, v);
        return;
    }
    sfr_buf_putc(b, '"');
    for (const char *p = v; *p; p++) {
        if (*p == '"')
            sfr_buf_putc(b, '"');
        sfr_buf_putc(b, *p);
    }
    sfr_buf_putc(b, '"');
}

static void load_fill(struct load_state *s)
{
    sfr_buf_reset(&s->buf);
    s->pos = 0;
    const struct gen_obj *o = s->o;
    if (!s->header_done) {
        bool first = true;
        for (int k = 0; k < o->obj->n_fields; k++)
            if (o->in_sf[k]) {
                if (!first)
                    sfr_buf_putc(&s->buf, ',');
                sfr_buf_puts(&s->buf, o->obj->fields[k].name);
                first = false;
            }
        sfr_buf_puts(&s->buf, "\r\n");
        s->header_done = true;
    }
    for (int r = 0; r < BATCH_ROWS && s->next < s->end; r++, s->next++) {
        gen_record(s->g, o, s->next, &s->rec);
        bool first = true;
        for (int k = 0; k < o->obj->n_fields; k++)
            if (o->in_sf[k]) {
                if (!first)
                    sfr_buf_putc(&s->buf, ',');
                csv_field(&s->buf, s->rec.val[k]);
                first = false;
            }
        sfr_buf_puts(&s->buf, "\r\n");
    }
}

static size_t load_read(char *out, size_t size, size_t nitems, void *ctx)
{
    struct load_state *s = ctx;
    size_t room = size * nitems;
    if (s->pos >= s->buf.len) {
        if (s->next >= s->end && s->header_done)
            return 0;
        load_fill(s);
    }
    size_t n = s->buf.len - s->pos;
    if (n > room)
        n = room;
    memcpy(out, s->buf.data + s->pos, n);
    s->pos += n;
    return n;
}

static enum sfr_rc load_range(struct gen_http *h, const struct gen *g, const struct gen_obj *o,
                              long from, long to, struct load_state *s, struct sfr_err *err)
{
    s->g = g;
    s->o = o;
    s->next = from;
    s->end = to;
    s->header_done = false;
    sfr_buf_reset(&s->buf);
    s->pos = 0;
    char *url = sfr_asprintf("%s/__emu/load/%s", h->base, o->obj->name);
    long st = 0;
    enum sfr_rc rc = http_do(h, "POST", url, "text/csv", NULL, load_read, s, &st, err);
    sfr_free(url);
    if (rc != SFR_OK)
        return rc;
    if (st < 200 || st > 299) {
        char what[160];
        snprintf(what, sizeof(what), "loading %s rows %ld-%ld into sfemu", o->obj->name, from, to);
        return http_fail(h, what, st, err);
    }
    json_object *j = json_tokener_parse(h->resp.data ? h->resp.data : "");
    json_object *v;
    long loaded = -1;
    if (j != NULL && json_object_object_get_ex(j, "loaded", &v))
        loaded = (long)json_object_get_int64(v);
    json_object_put(j);
    if (loaded != to - from)
        return sfr_err_set(err, SFR_ESF, "loading %s into sfemu: sent %ld rows, server says %.200s",
                           o->obj->name, to - from, h->resp.data ? h->resp.data : "");
    return SFR_OK;
}

enum sfr_rc gen_sf_load(struct gen_http *h, const struct gen *g, struct sfr_err *err)
{
    struct load_state s;
    memset(&s, 0, sizeof(s));
    gen_rec_init(&s.rec);
    sfr_buf_init(&s.buf);
    enum sfr_rc rc = SFR_OK;
    for (int k = 0; k < g->n_objs && rc == SFR_OK; k++) {
        const struct gen_obj *o = &g->objs[k];
        for (long from = 0; from < o->n && rc == SFR_OK; from += LOAD_ROWS) {
            long to = from + LOAD_ROWS < o->n ? from + LOAD_ROWS : o->n;
            rc = load_range(h, g, o, from, to, &s, err);
        }
        if (rc == SFR_OK)
            sfr_log_info("sfemu: %s: %ld records loaded", o->obj->name, o->n);
    }
    gen_rec_cleanup(&s.rec);
    sfr_buf_cleanup(&s.buf);
    return rc;
}

/* ---- REST ---- */

static char *sobject_url(struct gen_http *h, const char *object, const char *id)
{
    return sfr_asprintf("%s/services/data/v%s/sobjects/%s/%s", h->instance, h->api, object,
                        id != NULL ? id : "");
}

enum sfr_rc gen_sf_create(struct gen_http *h, const char *object, const char *json, char id_out[19],
                          struct sfr_err *err)
{
    char *url = sobject_url(h, object, NULL);
    long st = 0;
    enum sfr_rc rc = http_do(h, "POST", url, "application/json", json, NULL, NULL, &st, err);
    sfr_free(url);
    if (rc != SFR_OK)
        return rc;
    if (st != 201 && st != 200) {
        char what[128];
        snprintf(what, sizeof(what), "creating a %s in sfemu", object);
        return http_fail(h, what, st, err);
    }
    json_object *j = json_tokener_parse(h->resp.data ? h->resp.data : "");
    const char *id = sfr_json_str(j, "id");
    if (id == NULL || strlen(id) != 18) {
        json_object_put(j);
        return sfr_err_set(err, SFR_ESF, "creating a %s: no id in %.200s", object,
                           h->resp.data ? h->resp.data : "");
    }
    memcpy(id_out, id, 19);
    json_object_put(j);
    return SFR_OK;
}

enum sfr_rc gen_sf_update(struct gen_http *h, const char *object, const char *id, const char *json,
                          struct sfr_err *err)
{
    char *url = sobject_url(h, object, id);
    long st = 0;
    enum sfr_rc rc = http_do(h, "PATCH", url, "application/json", json, NULL, NULL, &st, err);
    sfr_free(url);
    if (rc == SFR_OK && st != 204 && st != 200) {
        char what[128];
        snprintf(what, sizeof(what), "updating %s %s in sfemu", object, id);
        return http_fail(h, what, st, err);
    }
    return rc;
}

enum sfr_rc gen_sf_delete(struct gen_http *h, const char *object, const char *id,
                          struct sfr_err *err)
{
    char *url = sobject_url(h, object, id);
    long st = 0;
    enum sfr_rc rc = http_do(h, "DELETE", url, NULL, NULL, NULL, NULL, &st, err);
    sfr_free(url);
    if (rc == SFR_OK && st != 204 && st != 200) {
        char what[128];
        snprintf(what, sizeof(what), "deleting %s %s in sfemu", object, id);
        return http_fail(h, what, st, err);
    }
    return rc;
}
