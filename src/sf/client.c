/* client.c — the Salesforce client object: configuration from the
 * environment, the OAuth token call, clones for parallel jobs, the per-run
 * budget and API-call accounting per object and phase.
 *
 * Invariants: secrets (token, client secret, password) live only in this
 * structure and in request headers/bodies; they never reach a log line or an
 * error message. The token call is not counted as an API call. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "sf_internal.h"
#include "sfrecon/log.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- call accounting ---- */

void sfr_sf_calls_init(struct sfr_sf_calls *c)
{
    memset(c, 0, sizeof(*c));
}

void sfr_sf_calls_cleanup(struct sfr_sf_calls *c)
{
    free(c->v);
    sfr_sf_calls_init(c);
}

void sfr_sf_calls_count(struct sfr_sf_calls *c, const char *object, const char *phase, long n)
{
    object = object ? object : "";
    phase = phase && phase[0] ? phase : "run";
    c->total += n;
    for (int i = 0; i < c->n; i++) {
        if (strcmp(c->v[i].object, object) == 0 && strcmp(c->v[i].phase, phase) == 0) {
            c->v[i].n += n;
            return;
        }
    }
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 8;
        c->v = sfr_realloc(c->v, (size_t)c->cap * sizeof(*c->v));
    }
    struct sfr_sf_call_count *e = &c->v[c->n++];
    snprintf(e->object, sizeof(e->object), "%s", object);
    snprintf(e->phase, sizeof(e->phase), "%s", phase);
    e->n = n;
}

void sfr_sf_calls_add(struct sfr_sf_calls *dst, const struct sfr_sf_calls *src)
{
    for (int i = 0; i < src->n; i++)
        sfr_sf_calls_count(dst, src->v[i].object, src->v[i].phase, src->v[i].n);
}

void sfr_sf_calls_print(const struct sfr_sf_calls *c, FILE *out)
{
    fprintf(out, "api calls: %ld", c->total);
    bool *done = sfr_calloc((size_t)c->n + 1, sizeof(bool));
    const char *sep = " (";
    for (int i = 0; i < c->n; i++) {
        if (done[i])
            continue;
        const char *obj = c->v[i].object;
        fprintf(out, "%s%s:", sep, obj[0] ? obj : "other");
        sep = "; ";
        const char *psep = " ";
        for (int j = i; j < c->n; j++) {
            if (done[j] || strcmp(c->v[j].object, obj) != 0)
                continue;
            done[j] = true;
            fprintf(out, "%s%s %ld", psep, c->v[j].phase, c->v[j].n);
            psep = ", ";
        }
    }
    if (c->n > 0)
        fputc(')', out);
    fputc('\n', out);
    free(done);
}

const struct sfr_sf_calls *sfr_sf_get_calls(const struct sfr_sf *c)
{
    return &c->calls;
}

long sfr_sf_api_calls(const struct sfr_sf *c)
{
    return c->calls.total;
}

int64_t sfr_sf_server_now_ms(const struct sfr_sf *c)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t host = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    if (c == NULL || c->server_date_ms == 0)
        return host;
    /* the header has whole seconds: this reads up to a second early, which
     * only makes more records count as changed during the audit */
    return c->server_date_ms + (host - c->server_seen_ms);
}

void sfr_sf_print_calls(const struct sfr_sf *c, FILE *out)
{
    sfr_sf_calls_print(&c->calls, out);
}

void sfr_sf_set_phase(struct sfr_sf *c, const char *phase)
{
    snprintf(c->phase, sizeof(c->phase), "%s", phase ? phase : "");
}

void sfr_sf_set_budget(struct sfr_sf *c, long max_calls)
{
    atomic_store(&c->budget->max, max_calls > 0 ? max_calls : 0);
}

long sfr_sf_budget_used(const struct sfr_sf *c)
{
    return atomic_load(&c->budget->used);
}

void sfr_sf_set_daily_cap(struct sfr_sf *c, const char *object, long max_daily)
{
    long cap = max_daily > 0 ? max_daily : 0;
    if (object == NULL) {
        c->default_cap = cap;
        return;
    }
    for (int i = 0; i < c->n_caps; i++)
        if (strcasecmp(c->caps[i].object, object) == 0) {
            c->caps[i].cap = cap;
            return;
        }
    c->caps = sfr_realloc(c->caps, sizeof(*c->caps) * (size_t)(c->n_caps + 1));
    snprintf(c->caps[c->n_caps].object, sizeof(c->caps[c->n_caps].object), "%s", object);
    c->caps[c->n_caps++].cap = cap;
}

bool sfr_sf_limit_info(const struct sfr_sf *c, long *used, long *max)
{
    if (used)
        *used = c->limit_used;
    if (max)
        *max = c->limit_max;
    return c->limit_used >= 0;
}

void sfr_sf_set_bulk_page(struct sfr_sf *c, long max_records)
{
    c->bulk_page = max_records > 0 ? max_records : 500000;
}

void sfr_sf_set_bulk_streams(struct sfr_sf *c, int streams)
{
    c->bulk_streams = streams < 1 ? 1 : streams > SFR_SF_MAX_STREAMS ? SFR_SF_MAX_STREAMS : streams;
}

int sfr_sf_bulk_streams(const struct sfr_sf *c)
{
    return c->bulk_streams;
}

const char *sfr_sf_api_version(const struct sfr_sf *c)
{
    return c->api_version;
}

const char *sfr_sf_instance_url(const struct sfr_sf *c)
{
    return c->instance_url;
}

/* ---- construction ---- */

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && v[0] ? v : NULL;
}

static long env_long(const char *name, long dflt, long min, long max)
{
    const char *v = env(name);
    if (v == NULL)
        return dflt;
    char *end;
    long n = strtol(v, &end, 10);
    if (*end != '\0' || n < min || n > max) {
        sfr_log_warn("%s=%s is not a number in [%ld, %ld]; using %ld", name, v, min, max, dflt);
        return dflt;
    }
    return n;
}

static bool version_ok(const char *v)
{
    /* "60.0": digits, a dot, digits */
    size_t i = 0;
    while (v[i] >= '0' && v[i] <= '9')
        i++;
    if (i == 0 || v[i] != '.' || i > 4)
        return false;
    size_t j = ++i;
    while (v[i] >= '0' && v[i] <= '9')
        i++;
    return i > j && v[i] == '\0' && i < 12;
}

static char *strip_slash(const char *url)
{
    char *s = sfr_strdup(url);
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == '/')
        s[--n] = '\0';
    return s;
}

static struct sfr_sf *client_alloc(void)
{
    pthread_once(&curl_once, curl_init_once);
    struct sfr_sf *c = sfr_calloc(1, sizeof(*c));
    c->curl = curl_easy_init();
    sfr_sf_calls_init(&c->calls);
    c->limit_used = c->limit_max = -1;
    c->retry_base_ms = (int)env_long("SF_RETRY_BASE_MS", 200, 0, 60000);
    c->poll_ms = (int)env_long("SF_BULK_POLL_MS", 100, 1, 60000);
    c->usage_reread_s = (int)env_long("SF_USAGE_REREAD_S", 300, 1, 86400);
    c->bulk_page = 500000;
    c->bulk_streams = (int)env_long("SF_BULK_STREAMS", SFR_SF_BULK_STREAMS, 1, SFR_SF_MAX_STREAMS);
    c->rnd = (unsigned)time(NULL) ^ (unsigned)getpid() ^ (unsigned)(uintptr_t)c;
    return c;
}

static enum sfr_rc check_env(struct sfr_err *err)
{
    bool tok = env("SF_ACCESS_TOKEN") != NULL, inst = env("SF_INSTANCE_URL") != NULL;
    bool login = env("SF_LOGIN_URL") != NULL;
    if (tok && !inst)
        return sfr_err_set(err, SFR_ECONFIG, "SF_ACCESS_TOKEN is set but SF_INSTANCE_URL is not");
    if (login) {
        if (env("SF_CLIENT_ID") == NULL)
            return sfr_err_set(err, SFR_ECONFIG, "SF_LOGIN_URL is set but SF_CLIENT_ID is not");
        if (env("SF_CLIENT_SECRET") == NULL)
            return sfr_err_set(err, SFR_ECONFIG, "SF_LOGIN_URL is set but SF_CLIENT_SECRET is not");
        if (env("SF_USERNAME") != NULL && env("SF_PASSWORD") == NULL)
            return sfr_err_set(err, SFR_ECONFIG, "SF_USERNAME is set but SF_PASSWORD is not");
        if (env("SF_PASSWORD") != NULL && env("SF_USERNAME") == NULL)
            return sfr_err_set(err, SFR_ECONFIG, "SF_PASSWORD is set but SF_USERNAME is not");
    }
    if (!tok && !login) {
        enum sfr_rc rc =
            sfr_err_set(err, SFR_ECONFIG, "Salesforce connection not configured: %s is not set",
                        inst ? "SF_ACCESS_TOKEN" : "SF_INSTANCE_URL");
        sfr_err_hint(err, "set SF_INSTANCE_URL and SF_ACCESS_TOKEN, or SF_LOGIN_URL, "
                          "SF_CLIENT_ID and SF_CLIENT_SECRET (+ SF_USERNAME, SF_PASSWORD)");
        return rc;
    }
    const char *urls[] = {"SF_INSTANCE_URL", "SF_LOGIN_URL"};
    for (int i = 0; i < 2; i++) {
        enum sfr_rc rc = env(urls[i]) ? sfr_sf_url_check(urls[i], env(urls[i]), err) : SFR_OK;
        if (rc != SFR_OK)
            return rc;
    }
    return SFR_OK;
}

enum sfr_rc sfr_sf_from_env(const char *api_version, struct sfr_sf **out, struct sfr_err *err)
{
    *out = NULL;
    enum sfr_rc rc = check_env(err);
    if (rc != SFR_OK)
        return rc;
    const char *ver = env("SF_API_VERSION");
    const char *which = "SF_API_VERSION";
    if (ver == NULL) {
        ver = api_version && api_version[0] ? api_version : "60.0";
        which = "api_version";
    }
    if (ver[0] == 'v' || ver[0] == 'V')
        ver++;
    if (!version_ok(ver))
        return sfr_err_set(err, SFR_ECONFIG, "%s: '%s' is not an API version like 60.0", which,
                           ver);
    struct sfr_sf *c = client_alloc();
    snprintf(c->api_version, sizeof(c->api_version), "%s", ver);
    if (env("SF_INSTANCE_URL"))
        c->instance_url = strip_slash(env("SF_INSTANCE_URL"));
    c->token = sfr_strdup(env("SF_ACCESS_TOKEN"));
    if (env("SF_LOGIN_URL")) {
        c->login_url = strip_slash(env("SF_LOGIN_URL"));
        c->client_id = sfr_strdup(env("SF_CLIENT_ID"));
        c->client_secret = sfr_strdup(env("SF_CLIENT_SECRET"));
        c->username = sfr_strdup(env("SF_USERNAME"));
        c->password = sfr_strdup(env("SF_PASSWORD"));
        c->can_auth = true;
    }
    c->budget = sfr_calloc(1, sizeof(*c->budget));
    atomic_init(&c->budget->used, 0);
    atomic_init(&c->budget->max, 0);
    atomic_init(&c->budget->refs, 1);
    *out = c;
    return SFR_OK;
}

enum sfr_rc sfr_sf_clone(const struct sfr_sf *src, struct sfr_sf **out, struct sfr_err *err)
{
    struct sfr_sf *c = client_alloc();
    if (c->curl == NULL) {
        sfr_sf_free(c);
        *out = NULL;
        return sfr_err_set(err, SFR_EINTERNAL, "cannot create a libcurl handle");
    }
    memcpy(c->api_version, src->api_version, sizeof(c->api_version));
    c->instance_url = sfr_strdup(src->instance_url);
    c->token = sfr_strdup(src->token);
    c->login_url = sfr_strdup(src->login_url);
    c->client_id = sfr_strdup(src->client_id);
    c->client_secret = sfr_strdup(src->client_secret);
    c->username = sfr_strdup(src->username);
    c->password = sfr_strdup(src->password);
    c->can_auth = src->can_auth;
    c->default_cap = src->default_cap;
    if (src->n_caps > 0) {
        c->caps = sfr_calloc((size_t)src->n_caps, sizeof(*c->caps));
        memcpy(c->caps, src->caps, sizeof(*c->caps) * (size_t)src->n_caps);
        c->n_caps = src->n_caps;
    }
    c->limit_used = src->limit_used;
    c->limit_max = src->limit_max;
    c->usage_read_at = src->usage_read_at;
    c->usage_reread_s = src->usage_reread_s;
    c->retry_base_ms = src->retry_base_ms;
    c->poll_ms = src->poll_ms;
    c->bulk_page = src->bulk_page;
    c->bulk_streams = src->bulk_streams;
    memcpy(c->phase, src->phase, sizeof(c->phase));
    memcpy(c->call_client, src->call_client, sizeof(c->call_client));
    c->budget = src->budget;
    atomic_fetch_add(&c->budget->refs, 1);
    *out = c;
    return SFR_OK;
}

static void free_secret(char *s)
{
    if (s != NULL) {
        /* volatile so the wipe is not optimised away */
        volatile char *p = s;
        while (*p)
            *p++ = '\0';
        free(s);
    }
}

void sfr_sf_free(struct sfr_sf *c)
{
    if (c == NULL)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    free(c->instance_url);
    free_secret(c->token);
    free(c->login_url);
    free(c->client_id);
    free_secret(c->client_secret);
    free(c->username);
    free_secret(c->password);
    if (c->budget && atomic_fetch_sub(&c->budget->refs, 1) == 1)
        free(c->budget);
    sfr_sf_calls_cleanup(&c->calls);
    free(c->caps);
    for (int i = 0; i < c->n_desc; i++) {
        sfr_object_cleanup(&c->desc[i]->obj);
        free(c->desc[i]->json);
        free(c->desc[i]);
    }
    free(c->desc);
    free(c);
}
