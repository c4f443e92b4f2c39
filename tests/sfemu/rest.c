/* rest.c — OAuth, the versions/resources lists, /sobjects, describe and the
 * query endpoints of sfemu.
 *
 * Query paging: the first request counts the whole result (totalSize), then
 * serves pages of batchSize (default 2000) records. When the query is ordered
 * by Id (or not ordered) pages are keyset pages `id > last`, otherwise OFFSET
 * pages. Locators live in memory; each remembers, for every position it
 * handed out, where that page starts, so a client may re-fetch a page after a
 * transport error. Record JSON is written by hand from the text columns that
 * soql_to_sql selects (already in wire form), never via json-c. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "emu.h"
#include "soql.h"
#include "sfrecon/log.h"
#include "sfrecon/sfid.h"

#define LOCATOR_IDLE_MS (15 * 60 * 1000)
#define MAX_TOKENS      10000

struct emu_locator {
    char id[19];
    struct soql_query *q;
    int include_deleted;
    bool keyset;
    long total;
    long batch;
    long *pos;
    char (*after)[64];
    int n, cap;
    int in_use;
    int64_t used_ms;
    struct emu_locator *next;
};

/* ---- OAuth ---- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Value of key in an x-www-form-urlencoded body (decoded, caller frees) or NULL. */
static char *form_value(const char *body, const char *key)
{
    size_t kl = strlen(key);
    const char *p = body;
    while (p != NULL && *p != '\0') {
        const char *amp = strchr(p, '&');
        size_t l = amp ? (size_t)(amp - p) : strlen(p);
        if (l > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
            struct sfr_buf v = SFR_BUF_INIT;
            sfr_buf_puts(&v, "");
            for (size_t i = kl + 1; i < l; i++) {
                if (p[i] == '+')
                    sfr_buf_putc(&v, ' ');
                else if (p[i] == '%' && i + 2 < l + 0 + 1 && hexval(p[i + 1]) >= 0 &&
                         hexval(p[i + 2]) >= 0) {
                    sfr_buf_putc(&v, (char)(hexval(p[i + 1]) * 16 + hexval(p[i + 2])));
                    i += 2;
                } else
                    sfr_buf_putc(&v, p[i]);
            }
            return sfr_buf_steal(&v);
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

void emu_issue_token(char out[160])
{
    char rnd[97];
    emu_random_b62(rnd, 96);
    snprintf(out, 160, "%.15s!%s", EMU.org_id, rnd);
    struct emu_token *t = sfr_calloc(1, sizeof *t);
    t->token = sfr_strdup(out);
    pthread_mutex_lock(&EMU.lock);
    t->next = EMU.tokens;
    EMU.tokens = t;
    int n = 0;
    for (struct emu_token *x = EMU.tokens; x != NULL; x = x->next)
        if (++n == MAX_TOKENS && x->next != NULL) {
            struct emu_token *rest = x->next;
            x->next = NULL;
            while (rest != NULL) {
                struct emu_token *nx = rest->next;
                free(rest->token);
                free(rest);
                rest = nx;
            }
            break;
        }
    pthread_mutex_unlock(&EMU.lock);
}

bool emu_revoke_token(const char *tok)
{
    bool found = false;
    pthread_mutex_lock(&EMU.lock);
    for (struct emu_token **pp = &EMU.tokens; *pp != NULL; pp = &(*pp)->next)
        if (strcmp((*pp)->token, tok) == 0) {
            struct emu_token *t = *pp;
            *pp = t->next;
            free(t->token);
            free(t);
            found = true;
            break;
        }
    pthread_mutex_unlock(&EMU.lock);
    return found;
}

static enum MHD_Result oauth_error(struct emu_req *r, unsigned status, const char *code,
                                   const char *desc)
{
    struct sfr_buf b = SFR_BUF_INIT;
    sfr_buf_puts(&b, "{\"error\":");
    emu_json_str(&b, code);
    sfr_buf_puts(&b, ",\"error_description\":");
    emu_json_str(&b, desc);
    sfr_buf_puts(&b, "}");
    return emu_send_json(r, status, &b);
}

static enum MHD_Result userinfo(struct emu_req *r)
{
    struct sfr_buf b = SFR_BUF_INIT;
    sfr_buf_printf(&b,
                   "{\"sub\":\"%s/id/%s/%s\",\"user_id\":\"%s\",\"organization_id\":\"%s\","
                   "\"preferred_username\":",
                   EMU.base_url, EMU.org_id, EMU.user_id, EMU.user_id, EMU.org_id);
    emu_json_str(&b, EMU.user);
    sfr_buf_puts(&b, ",\"nickname\":\"admin\",\"name\":\"Integration Admin\",\"email\":");
    emu_json_str(&b, EMU.user);
    sfr_buf_printf(&b,
                   ",\"email_verified\":true,\"zoneinfo\":\"GMT\",\"locale\":\"en_US\","
                   "\"user_type\":\"STANDARD\",\"active\":true,\"urls\":{\"rest\":\"%s/services/"
                   "data/v{version}/\",\"sobjects\":\"%s/services/data/v{version}/sobjects/\","
                   "\"query\":\"%s/services/data/v{version}/query/\"}}",
                   EMU.base_url, EMU.base_url, EMU.base_url);
    return emu_send_json(r, 200, &b);
}

/* Matches a 15- or 18-character Id against our 18-character one. */
static bool same_id(const char *got, const char *ours)
{
    size_t n = strlen(got);
    return (n == 15 || n == 18) && strncmp(got, ours, n) == 0;
}

enum MHD_Result emu_identity(struct emu_req *r)
{
    /* seg: id {orgId} {userId} */
    if (r->n_seg != 3 || !same_id(r->seg[1], EMU.org_id) || !same_id(r->seg[2], EMU.user_id))
        return emu_send_not_found(r);
    if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "POST") != 0)
        return emu_send_error(r, 405, "METHOD_NOT_ALLOWED", "HTTP Method '%s' not allowed",
                              r->method);
    const char *u = EMU.base_url, *org = EMU.org_id;
    struct sfr_buf b = SFR_BUF_INIT;
    sfr_buf_printf(&b,
                   "{\"id\":\"%s/id/%s/%s\",\"asserted_user\":true,\"user_id\":\"%s\","
                   "\"organization_id\":\"%s\",\"username\":",
                   u, org, EMU.user_id, EMU.user_id, org);
    emu_json_str(&b, EMU.user);
    sfr_buf_puts(&b, ",\"nick_name\":\"admin\",\"display_name\":\"Integration Admin\","
                     "\"email\":");
    emu_json_str(&b, EMU.user);
    sfr_buf_printf(&b,
                   ",\"email_verified\":true,\"first_name\":\"Integration\","
                   "\"last_name\":\"Admin\",\"timezone\":\"GMT\",\"photos\":{},"
                   "\"status\":{\"created_date\":null,\"body\":null},\"urls\":{"
                   "\"enterprise\":\"%s/services/Soap/c/{version}/%.15s\","
                   "\"partner\":\"%s/services/Soap/u/{version}/%.15s\","
                   "\"rest\":\"%s/services/data/v{version}/\","
                   "\"sobjects\":\"%s/services/data/v{version}/sobjects/\","
                   "\"query\":\"%s/services/data/v{version}/query/\","
                   "\"profile\":\"%s/%s\",\"custom_domain\":\"%s\"},"
                   "\"active\":true,\"user_type\":\"STANDARD\",\"language\":\"en_US\","
                   "\"locale\":\"en_US\",\"utcOffset\":0,\"is_app_installed\":true}",
                   u, org, u, org, u, u, u, u, EMU.user_id, u);
    return emu_send_json(r, 200, &b);
}

enum MHD_Result emu_oauth(struct emu_req *r)
{
    if (r->n_seg == 3 && strcmp(r->seg[2], "userinfo") == 0)
        return userinfo(r);
    if (r->n_seg == 3 && strcmp(r->seg[2], "revoke") == 0) {
        /* token in the form body (POST) or the query string (GET); 200 when revoked */
        char *tok = form_value(r->body.data, "token");
        const char *arg = emu_arg(r, "token");
        bool ok = emu_revoke_token(tok ? tok : arg ? arg : "");
        free(tok);
        if (!ok)
            return oauth_error(r, 400, "invalid_token", "invalid token");
        return emu_send(r, 200, NULL, NULL);
    }
    if (r->n_seg != 3 || strcmp(r->seg[2], "token") != 0)
        return emu_send_not_found(r);
    if (strcmp(r->method, "POST") != 0)
        return oauth_error(r, 400, "invalid_request", "must use HTTP POST");
    char *grant = form_value(r->body.data, "grant_type");
    enum MHD_Result ret;
    if (grant == NULL) {
        ret = oauth_error(r, 400, "invalid_request", "grant type not supported");
    } else if (strcmp(grant, "password") == 0) {
        char *u = form_value(r->body.data, "username"), *p = form_value(r->body.data, "password");
        bool ok = u && p && strcmp(u, EMU.user) == 0 &&
                  strncmp(p, EMU.password, strlen(EMU.password)) == 0;
        free(u);
        free(p);
        ret = ok ? MHD_YES : oauth_error(r, 400, "invalid_grant", "authentication failure");
        if (!ok)
            goto out;
    } else if (strcmp(grant, "client_credentials") == 0 ||
               strcmp(grant, "urn:ietf:params:oauth:grant-type:jwt-bearer") == 0) {
        char *a = form_value(r->body.data, "assertion");
        bool ok = strcmp(grant, "client_credentials") == 0 || (a != NULL && *a != '\0');
        free(a);
        if (!ok) {
            ret = oauth_error(r, 400, "invalid_grant", "invalid assertion");
            goto out;
        }
    } else {
        ret = oauth_error(r, 400, "unsupported_grant_type", "grant type not supported");
        goto out;
    }
    char tok[160], sig[45];
    emu_issue_token(tok);
    emu_random_b62(sig, 43);
    struct sfr_buf b = SFR_BUF_INIT;
    sfr_buf_printf(&b,
                   "{\"access_token\":\"%s\",\"instance_url\":\"%s\",\"id\":\"%s/id/%s/%s\","
                   "\"token_type\":\"Bearer\",\"issued_at\":\"%lld\",\"signature\":\"%s=\","
                   "\"scope\":\"api\"}",
                   tok, EMU.token_instance_url ? EMU.token_instance_url : EMU.base_url,
                   EMU.base_url, EMU.org_id, EMU.user_id, (long long)emu_now_ms(), sig);
    ret = emu_send_json(r, 200, &b);
out:
    free(grant);
    return ret;
}

/* ---- versions, resources, sobjects, describe ---- */

static enum MHD_Result versions(struct emu_req *r)
{
    struct sfr_buf b = SFR_BUF_INIT;
    static const char *const names[] = {"Winter", "Spring", "Summer"};
    sfr_buf_puts(&b, "[");
    for (int v = 31; v <= EMU.api_major; v++) {
        int year = 15 + (v - 31) / 3;
        sfr_buf_printf(&b,
                       "%s{\"label\":\"%s '%02d\",\"url\":\"/services/data/v%d.0\","
                       "\"version\":\"%d.0\"}",
                       v > 31 ? "," : "", names[(v - 31) % 3], year, v, v);
    }
    sfr_buf_puts(&b, "]");
    return emu_send_json(r, 200, &b);
}

static enum MHD_Result resources(struct emu_req *r, const char *ver)
{
    static const char *const res[] = {"sobjects",  "query", "queryAll",
                                      "composite", "jobs",  "limits"};
    struct sfr_buf b = SFR_BUF_INIT;
    sfr_buf_puts(&b, "{");
    for (size_t i = 0; i < sizeof res / sizeof res[0]; i++)
        sfr_buf_printf(&b, "%s\"%s\":\"/services/data/%s/%s\"", i ? "," : "", res[i], ver, res[i]);
    /* an absolute URL, as Salesforce gives it (jsforce's identity() follows it) */
    sfr_buf_printf(&b, ",\"identity\":\"%s/id/%s/%s\"}", EMU.base_url, EMU.org_id, EMU.user_id);
    return emu_send_json(r, 200, &b);
}

static enum MHD_Result limits(struct emu_req *r)
{
    long used, max;
    pthread_mutex_lock(&EMU.lock);
    used = EMU.api_usage;
    max = EMU.daily_limit;
    pthread_mutex_unlock(&EMU.lock);
    struct sfr_buf b = SFR_BUF_INIT;
    sfr_buf_printf(&b,
                   "{\"DailyApiRequests\":{\"Max\":%ld,\"Remaining\":%ld},"
                   "\"DailyBulkV2QueryJobs\":{\"Max\":10000,\"Remaining\":10000}}",
                   max, max - used > 0 ? max - used : 0);
    return emu_send_json(r, 200, &b);
}

static void object_summary(struct sfr_buf *b, const struct emu_object *o, const char *ver)
{
    const struct sfr_object *ob = o->obj;
    sfr_buf_puts(b, "{\"name\":");
    emu_json_str(b, ob->name);
    sfr_buf_puts(b, ",\"label\":");
    emu_json_str(b, ob->label ? ob->label : ob->name);
    sfr_buf_puts(b, ",\"keyPrefix\":");
    if (ob->key_prefix[0])
        emu_json_str(b, ob->key_prefix);
    else
        sfr_buf_puts(b, "null");
    sfr_buf_printf(b,
                   ",\"custom\":%s,\"createable\":true,\"updateable\":true,\"deletable\":true,"
                   "\"queryable\":true,\"retrieveable\":true,\"searchable\":true,"
                   "\"replicateable\":true,\"urls\":{\"sobject\":\"/services/data/%s/sobjects/%s\","
                   "\"describe\":\"/services/data/%s/sobjects/%s/describe\","
                   "\"rowTemplate\":\"/services/data/%s/sobjects/%s/{ID}\"}}",
                   ob->custom ? "true" : "false", ver, ob->name, ver, ob->name, ver, ob->name);
}

static enum MHD_Result sobjects_list(struct emu_req *r, const char *ver)
{
    struct sfr_buf b = SFR_BUF_INIT;
    sfr_buf_puts(&b, "{\"encoding\":\"UTF-8\",\"maxBatchSize\":200,\"sobjects\":[");
    for (int i = 0; i < EMU.n_objs; i++) {
        if (i)
            sfr_buf_putc(&b, ',');
        object_summary(&b, &EMU.objs[i], ver);
    }
    sfr_buf_puts(&b, "]}");
    return emu_send_json(r, 200, &b);
}

static enum MHD_Result sobject_info(struct emu_req *r, struct emu_object *o, const char *ver)
{
    struct sfr_buf b = SFR_BUF_INIT;
    sfr_buf_puts(&b, "{\"objectDescribe\":");
    object_summary(&b, o, ver);
    sfr_buf_puts(&b, ",\"recentItems\":[]}");
    return emu_send_json(r, 200, &b);
}

/* ---- query ---- */

static void put_value(struct sfr_buf *b, const PGresult *res, int row, int col,
                      enum soql_json_kind kind)
{
    if (PQgetisnull(res, row, col)) {
        sfr_buf_append(b, "null", 4);
        return;
    }
    const char *v = PQgetvalue(res, row, col);
    size_t n = (size_t)PQgetlength(res, row, col);
    if (kind == SOQL_JSON_STRING)
        emu_json_strn(b, v, n);
    else
        sfr_buf_append(b, v, n);
}

static const char *req_version(void)
{
    static __thread char v[24];
    snprintf(v, sizeof v, "v%s", EMU.api_version);
    return v;
}

/* Runs sql with params; NULL and msg on error. */
static PGresult *run(PGconn *c, const char *sql, char **params, int np, char msg[512])
{
    PGresult *res = PQexecParams(c, sql, np, NULL, (const char *const *)params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        snprintf(msg, 512, "%s", PQresultErrorMessage(res));
        size_t l = strlen(msg);
        while (l > 0 && msg[l - 1] == '\n')
            msg[--l] = '\0';
        PQclear(res);
        return NULL;
    }
    return res;
}

static void free_params(char **params, int np)
{
    for (int i = 0; i < np; i++)
        free(params[i]);
}

static __thread char tl_version[16];

long emu_query_rows(PGconn *c, const struct soql_query *q, int include_deleted,
                    const char *after_id, long page_limit, long offset, struct sfr_buf *out,
                    char last_id[64], char msg[512])
{
    struct sfr_buf sql = SFR_BUF_INIT;
    char *params[SOQL_MAX_PARAMS];
    int np = 0;
    long n = -1;
    if (soql_to_sql(q, include_deleted, after_id, page_limit, offset, &sql, params, &np) != 0) {
        snprintf(msg, 512, "query too complex: more than %d literals", SOQL_MAX_PARAMS);
        goto out;
    }
    PGresult *res = run(c, sql.data, params, np, msg);
    if (res == NULL)
        goto out;
    int nc = soql_ncols(q), rows = PQntuples(res);
    const struct sfr_object *ob = soql_object(q);
    const char *ver = tl_version[0] ? tl_version : req_version();
    struct sfr_buf head = SFR_BUF_INIT;
    sfr_buf_printf(&head,
                   "{\"attributes\":{\"type\":\"%s\",\"url\":\"/services/data/%s/sobjects/%s/",
                   ob->name, ver, ob->name);
    struct sfr_buf *keys = sfr_calloc((size_t)nc + 1, sizeof *keys);
    enum soql_json_kind *kinds = sfr_calloc((size_t)nc + 1, sizeof *kinds);
    for (int i = 0; i < nc; i++) {
        sfr_buf_putc(&keys[i], ',');
        emu_json_str(&keys[i], soql_col_name(q, i));
        sfr_buf_putc(&keys[i], ':');
        kinds[i] = soql_col_kind(q, i);
    }
    sfr_buf_reserve(out, (size_t)rows * 256);
    for (int row = 0; row < rows; row++) {
        if (out->len > 0 && out->data[out->len - 1] == '}')
            sfr_buf_putc(out, ',');
        sfr_buf_append(out, head.data, head.len);
        sfr_buf_append(out, PQgetvalue(res, row, nc), (size_t)PQgetlength(res, row, nc));
        sfr_buf_append(out, "\"}", 2);
        for (int i = 0; i < nc; i++) {
            sfr_buf_append(out, keys[i].data, keys[i].len);
            put_value(out, res, row, i, kinds[i]);
        }
        sfr_buf_putc(out, '}');
    }
    if (rows > 0)
        snprintf(last_id, 64, "%s", PQgetvalue(res, rows - 1, nc));
    n = rows;
    for (int i = 0; i < nc; i++)
        sfr_buf_cleanup(&keys[i]);
    free(keys);
    free(kinds);
    sfr_buf_cleanup(&head);
    PQclear(res);
out:
    free_params(params, np);
    sfr_buf_cleanup(&sql);
    return n;
}

static long count_rows(PGconn *c, const struct soql_query *q, int include_deleted, char msg[512])
{
    struct sfr_buf sql = SFR_BUF_INIT, wrap = SFR_BUF_INIT;
    char *params[SOQL_MAX_PARAMS];
    int np = 0;
    long n = -1;
    if (soql_to_sql(q, include_deleted, NULL, -1, -1, &sql, params, &np) != 0) {
        snprintf(msg, 512, "query too complex: more than %d literals", SOQL_MAX_PARAMS);
        goto out;
    }
    sfr_buf_printf(&wrap, "SELECT count(*) FROM (%s) s", sql.data);
    PGresult *res = run(c, wrap.data, params, np, msg);
    if (res != NULL) {
        n = atol(PQgetvalue(res, 0, 0));
        PQclear(res);
    }
out:
    free_params(params, np);
    sfr_buf_cleanup(&sql);
    sfr_buf_cleanup(&wrap);
    return n;
}

static void locator_release(struct emu_locator *l)
{
    pthread_mutex_lock(&EMU.lock);
    l->in_use--;
    pthread_mutex_unlock(&EMU.lock);
}

static void locator_free(struct emu_locator *l)
{
    soql_free(l->q);
    free(l->pos);
    free(l->after);
    free(l);
}

/* Drops idle locators (and the oldest ones past the cap). Holds EMU.lock. */
static void locators_gc(int64_t now)
{
    struct emu_locator **pp = &EMU.locators;
    while (*pp != NULL) {
        struct emu_locator *l = *pp;
        bool old = now - l->used_ms > LOCATOR_IDLE_MS || EMU.n_locators > EMU_MAX_LOCATORS;
        if (old && l->in_use == 0) {
            *pp = l->next;
            EMU.n_locators--;
            locator_free(l);
        } else {
            pp = &l->next;
        }
    }
}

void emu_locators_free(void)
{
    while (EMU.locators != NULL) {
        struct emu_locator *l = EMU.locators;
        EMU.locators = l->next;
        locator_free(l);
    }
}

/* Records that position pos starts after after_id. Holds EMU.lock. */
static void locator_mark(struct emu_locator *l, long pos, const char *after_id)
{
    for (int i = 0; i < l->n; i++)
        if (l->pos[i] == pos)
            return;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->pos = sfr_realloc(l->pos, (size_t)l->cap * sizeof *l->pos);
        l->after = sfr_realloc(l->after, (size_t)l->cap * sizeof *l->after);
    }
    l->pos[l->n] = pos;
    snprintf(l->after[l->n], 64, "%s", after_id);
    l->n++;
}

static long batch_size(struct emu_req *r)
{
    const char *h = emu_header(r, "Sforce-Query-Options");
    long b = EMU_PAGE_DEFAULT;
    const char *p = h ? strstr(h, "batchSize=") : NULL;
    if (p != NULL) {
        b = strtol(p + 10, NULL, 10);
        if (b < EMU_PAGE_MIN)
            b = EMU_PAGE_MIN;
        if (b > EMU_PAGE_DEFAULT)
            b = EMU_PAGE_DEFAULT;
    }
    return b;
}

/* Serves the page at position pos of locator l; appends the full body. */
static enum MHD_Result serve_page(struct emu_req *r, PGconn *c, struct emu_locator *l, long pos,
                                  const char *after, const char *ver)
{
    struct sfr_buf recs = SFR_BUF_INIT, b = SFR_BUF_INIT;
    char last[64] = "", msg[512] = "";
    long limit = soql_limit(l->q), page = l->batch;
    if (l->keyset && limit >= 0 && pos > 0) {
        long left = limit - pos;
        if (left < page)
            page = left < 0 ? 0 : left;
    }
    long rows;
    if (l->keyset)
        rows = emu_query_rows(c, l->q, l->include_deleted, pos > 0 ? after : NULL, page, -1, &recs,
                              last, msg);
    else
        rows = emu_query_rows(c, l->q, l->include_deleted, NULL, page, pos, &recs, last, msg);
    if (rows < 0) {
        sfr_buf_cleanup(&recs);
        return emu_send_error(r, 500, "UNKNOWN_EXCEPTION", "query failed: %s", msg);
    }
    long next = pos + rows;
    bool done = next >= l->total || rows < page || rows == 0;
    sfr_buf_printf(&b, "{\"totalSize\":%ld,\"done\":%s,", l->total, done ? "true" : "false");
    if (!done) {
        pthread_mutex_lock(&EMU.lock);
        locator_mark(l, next, last);
        pthread_mutex_unlock(&EMU.lock);
        sfr_buf_printf(&b, "\"nextRecordsUrl\":\"/services/data/%s/query/%s-%ld\",", ver, l->id,
                       next);
    }
    sfr_buf_puts(&b, "\"records\":[");
    sfr_buf_append(&b, recs.data ? recs.data : "", recs.len);
    sfr_buf_puts(&b, "]}");
    sfr_buf_cleanup(&recs);
    return emu_send_json(r, 200, &b);
}

static enum MHD_Result aggregate(struct emu_req *r, PGconn *c, struct soql_query *q,
                                 int include_deleted)
{
    struct sfr_buf sql = SFR_BUF_INIT, b = SFR_BUF_INIT;
    char *params[SOQL_MAX_PARAMS];
    int np = 0;
    char msg[512] = "";
    enum MHD_Result ret;
    if (soql_to_sql(q, include_deleted, NULL, -1, -1, &sql, params, &np) != 0) {
        ret = emu_send_error(r, 400, "MALFORMED_QUERY", "query has too many literals");
        goto out;
    }
    PGresult *res = run(c, sql.data, params, np, msg);
    if (res == NULL) {
        ret = emu_send_error(r, 500, "UNKNOWN_EXCEPTION", "query failed: %s", msg);
        goto out;
    }
    if (soql_is_count_only(q)) {
        sfr_buf_printf(&b, "{\"totalSize\":%s,\"done\":true,\"records\":[]}",
                       PQntuples(res) > 0 ? PQgetvalue(res, 0, 0) : "0");
    } else {
        int rows = PQntuples(res), nc = soql_ncols(q);
        sfr_buf_printf(&b, "{\"totalSize\":%d,\"done\":true,\"records\":[", rows);
        for (int row = 0; row < rows; row++) {
            sfr_buf_puts(&b, row ? ",{" : "{");
            sfr_buf_puts(&b, "\"attributes\":{\"type\":\"AggregateResult\"}");
            for (int i = 0; i < nc; i++) {
                sfr_buf_putc(&b, ',');
                emu_json_str(&b, soql_col_name(q, i));
                sfr_buf_putc(&b, ':');
                put_value(&b, res, row, i, soql_col_kind(q, i));
            }
            sfr_buf_putc(&b, '}');
        }
        sfr_buf_puts(&b, "]}");
    }
    PQclear(res);
    ret = emu_send_json(r, 200, &b);
out:
    free_params(params, np);
    sfr_buf_cleanup(&sql);
    sfr_buf_cleanup(&b);
    return ret;
}

static enum MHD_Result query_first(struct emu_req *r, const char *ver, int include_deleted)
{
    const char *text = emu_arg(r, "q");
    if (text == NULL || *text == '\0')
        return emu_send_error(r, 400, "MALFORMED_QUERY", "A query string has to be specified");
    struct soql_query *q = NULL;
    char code[64] = "", msg[512] = "";
    if (soql_parse_at(text, &EMU.schema, (time_t)(emu_now_ms() / 1000), &q, code, msg) != 0)
        return emu_send_error(r, 400, code[0] ? code : "MALFORMED_QUERY", "%s", msg);
    PGconn *c = emu_pg_get();
    if (c == NULL) {
        soql_free(q);
        return emu_send_error(r, 503, "SERVER_UNAVAILABLE", "store unavailable");
    }
    enum MHD_Result ret;
    if (soql_is_count_only(q) || soql_is_aggregate(q)) {
        ret = aggregate(r, c, q, include_deleted);
        soql_free(q);
        goto out;
    }
    long total = count_rows(c, q, include_deleted, msg);
    if (total < 0) {
        soql_free(q);
        ret = emu_send_error(r, 500, "UNKNOWN_EXCEPTION", "query failed: %s", msg);
        goto out;
    }
    struct emu_locator *l = sfr_calloc(1, sizeof *l);
    char id15[16];
    emu_random_b62(id15, 15);
    memcpy(id15, "01g", 3);
    sfr_sfid_to18(id15, 15, l->id);
    l->q = q;
    l->include_deleted = include_deleted;
    l->keyset = soql_orders_by_id(q) != 0;
    l->total = total;
    l->batch = batch_size(r);
    l->in_use = 1;
    l->used_ms = emu_now_ms();
    pthread_mutex_lock(&EMU.lock);
    l->next = EMU.locators;
    EMU.locators = l;
    EMU.n_locators++;
    locators_gc(l->used_ms);
    pthread_mutex_unlock(&EMU.lock);
    ret = serve_page(r, c, l, 0, NULL, ver);
    locator_release(l);
out:
    emu_pg_put(c);
    return ret;
}

static enum MHD_Result query_more(struct emu_req *r, const char *ver, const char *loc)
{
    const char *dash = strrchr(loc, '-');
    char lid[19] = "";
    long pos = dash ? strtol(dash + 1, NULL, 10) : -1;
    if (dash != NULL && dash - loc == 18)
        memcpy(lid, loc, 18);
    struct emu_locator *l = NULL;
    char after[64] = "";
    bool known_pos = false;
    pthread_mutex_lock(&EMU.lock);
    for (struct emu_locator *x = EMU.locators; x != NULL && lid[0]; x = x->next)
        if (strcmp(x->id, lid) == 0) {
            l = x;
            break;
        }
    if (l != NULL) {
        for (int i = 0; i < l->n; i++)
            if (l->pos[i] == pos) {
                snprintf(after, sizeof after, "%s", l->after[i]);
                known_pos = true;
            }
        if (!l->keyset && pos > 0)
            known_pos = true;
        if (known_pos) {
            l->in_use++;
            l->used_ms = emu_now_ms();
        }
    }
    pthread_mutex_unlock(&EMU.lock);
    if (l == NULL || !known_pos)
        return emu_send_error(r, 400, "INVALID_QUERY_LOCATOR", "invalid query locator");
    PGconn *c = emu_pg_get();
    enum MHD_Result ret;
    if (c == NULL)
        ret = emu_send_error(r, 503, "SERVER_UNAVAILABLE", "store unavailable");
    else
        ret = serve_page(r, c, l, pos, after, ver);
    emu_pg_put(c);
    locator_release(l);
    return ret;
}

/* ---- dispatch of /services/data/... ---- */

static enum MHD_Result sobjects(struct emu_req *r, const char *ver)
{
    if (r->n_seg == 4)
        return strcmp(r->method, "GET") == 0 ? sobjects_list(r, ver) : emu_send_not_found(r);
    struct emu_object *o = emu_object(r->seg[4]);
    if (o == NULL)
        return emu_send_not_found(r);
    if (r->n_seg == 5) {
        if (strcmp(r->method, "POST") == 0)
            return emu_sobject_create(r, o);
        if (strcmp(r->method, "GET") == 0)
            return sobject_info(r, o, ver);
        return emu_send_error(r, 405, "METHOD_NOT_ALLOWED",
                              "HTTP Method '%s' not allowed. Allowed are GET,HEAD,POST", r->method);
    }
    if (r->n_seg == 6 && strcmp(r->seg[5], "describe") == 0) {
        struct sfr_buf b = SFR_BUF_INIT;
        sfr_buf_puts(&b, o->describe);
        return emu_send_json(r, 200, &b);
    }
    if (r->n_seg == 6 && strcmp(r->seg[5], "updated") == 0)
        return emu_updated_deleted(r, o, false);
    if (r->n_seg == 6 && strcmp(r->seg[5], "deleted") == 0)
        return emu_updated_deleted(r, o, true);
    if (r->n_seg == 6)
        return emu_sobject_record(r, o, r->seg[5]);
    if (r->n_seg == 7)
        return emu_sobject_upsert(r, o, r->seg[5], r->seg[6]);
    return emu_send_not_found(r);
}

enum MHD_Result emu_rest(struct emu_req *r)
{
    if (r->n_seg == 2)
        return versions(r);
    const char *v = r->seg[2];
    if (v[0] != 'v' || atoi(v + 1) < 20 || atoi(v + 1) > EMU.api_major ||
        strcmp(strchr(v, '.') ? strchr(v, '.') : "", ".0") != 0)
        return emu_send_not_found(r);
    snprintf(tl_version, sizeof tl_version, "%s", v);
    emu_cdc_note_request(r);
    if (r->n_seg == 3)
        return resources(r, v);
    const char *k = r->seg[3];
    bool get = strcmp(r->method, "GET") == 0;
    if (strcmp(k, "sobjects") == 0)
        return sobjects(r, v);
    if ((strcmp(k, "query") == 0 || strcmp(k, "queryAll") == 0) && get) {
        if (r->n_seg == 4)
            return query_first(r, v, strcmp(k, "queryAll") == 0);
        if (r->n_seg == 5)
            return query_more(r, v, r->seg[4]);
    }
    if (strcmp(k, "composite") == 0 && r->n_seg >= 5 && strcmp(r->seg[4], "sobjects") == 0)
        return emu_collections(r);
    if (strcmp(k, "jobs") == 0 && r->n_seg >= 5 && strcmp(r->seg[4], "query") == 0)
        return emu_bulk(r);
    if (strcmp(k, "limits") == 0 && get)
        return limits(r);
    return emu_send_not_found(r);
}
