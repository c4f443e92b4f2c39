/* bulk.c — Bulk API 2.0 query jobs in sfemu: create, status, abort, delete,
 * list, CSV results paged by maxRecords with Sforce-Locator, and the result
 * pages for parallel retrieval (resultPages, API 58.0 and later).
 *
 * A job is created in state UploadComplete and completes on its first status
 * poll (the record count becomes numberRecordsProcessed); results before that
 * answer 412 JOB_NOT_COMPLETE. Results stream straight from Postgres with
 * COPY (SELECT ...) TO STDOUT (FORMAT csv, FORCE_QUOTE *), one COPY per page,
 * so memory is bounded by libmicrohttpd's buffer whatever maxRecords is.
 * COPY takes no parameters, so the query's literals are inlined with
 * PQescapeLiteral. Locators: for Id-ordered queries the last Id of the page
 * (the next page is `id > locator`), otherwise "o<offset>".
 *
 * resultPages splits the job's records into pages of EMU.bulk_result_page
 * records, planned once per job (the last Id of every page but the last; one
 * pass over the Ids), and lists five result URLs per answer with
 * nextRecordsUrl for the next five. Their locators are "p<page>": such a page
 * is bounded on both sides (Id order) or by offset, so the pages partition
 * the result whatever order they are fetched in; its Sforce-Locator names
 * the next page. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "emu.h"
#include "soql.h"
#include "sfrecon/log.h"
#include "sfrecon/sfid.h"

enum MHD_Result emu_send_stream(struct emu_req *r, unsigned status, const char *ctype,
                                MHD_ContentReaderCallback cb, void *cls,
                                MHD_ContentReaderFreeCallback fcb);

#define RESULT_URLS_PER_ANSWER 5 /* "up to five URIs in one response" */

struct emu_job {
    char id[19];
    char operation[16];
    char state[16];
    char version[16]; /* "v60.0": the API version the job was created with */
    char *query;
    struct soql_query *q;
    long processed;
    int64_t created_ms;
    int in_use;
    /* page plan of resultPages (under EMU.lock once planned) */
    bool planned;
    long page_size, n_pages;
    char (*bounds)[19]; /* Id-ordered: last Id of pages 0..n_bounds-1 */
    long n_bounds;
    struct emu_job *next;
};

void emu_jobs_free(void)
{
    while (EMU.jobs != NULL) {
        struct emu_job *j = EMU.jobs;
        EMU.jobs = j->next;
        soql_free(j->q);
        free(j->query);
        free(j->bounds);
        free(j);
    }
}

static void job_json(struct sfr_buf *b, const struct emu_job *j, bool status)
{
    char created[32];
    emu_fmt_sf_datetime(j->created_ms, created);
    sfr_buf_printf(b,
                   "{\"id\":\"%s\",\"operation\":\"%s\",\"object\":\"%s\",\"createdById\":\"%s\","
                   "\"createdDate\":\"%s\",\"systemModstamp\":\"%s\",\"state\":\"%s\","
                   "\"concurrencyMode\":\"Parallel\",\"contentType\":\"CSV\","
                   "\"apiVersion\":%s,\"jobType\":\"V2Query\",\"lineEnding\":\"LF\","
                   "\"columnDelimiter\":\"COMMA\"",
                   j->id, j->operation, soql_object(j->q)->name, EMU.user_id, created, created,
                   j->state, EMU.api_version);
    if (status)
        sfr_buf_printf(b,
                       ",\"numberRecordsProcessed\":%ld,\"retries\":0,"
                       "\"totalProcessingTime\":0",
                       j->processed);
    sfr_buf_putc(b, '}');
}

static enum MHD_Result bulk_error(struct emu_req *r, unsigned status, const char *code,
                                  const char *msg)
{
    struct sfr_buf b = SFR_BUF_INIT;
    sfr_buf_puts(&b, "[{\"errorCode\":");
    emu_json_str(&b, code);
    sfr_buf_puts(&b, ",\"message\":");
    emu_json_str(&b, msg);
    sfr_buf_puts(&b, "}]");
    return emu_send_json(r, status, &b);
}

static enum MHD_Result job_create(struct emu_req *r)
{
    json_object *body = json_tokener_parse(r->body.data), *op = NULL, *qv = NULL;
    if (body == NULL || !json_object_is_type(body, json_type_object)) {
        json_object_put(body);
        return bulk_error(r, 400, "JSON_PARSER_ERROR", "Expected a JSON object");
    }
    json_object_object_get_ex(body, "operation", &op);
    json_object_object_get_ex(body, "query", &qv);
    const char *ops = op ? json_object_get_string(op) : "";
    enum MHD_Result ret;
    if (strcmp(ops, "query") != 0 && strcmp(ops, "queryAll") != 0) {
        ret = bulk_error(r, 400, "INVALIDJOB", "operation must be query or queryAll");
        goto out;
    }
    if (qv == NULL || !json_object_is_type(qv, json_type_string)) {
        ret = bulk_error(r, 400, "INVALIDJOB", "query is required");
        goto out;
    }
    struct soql_query *q = NULL;
    char code[64] = "", msg[512] = "";
    if (soql_parse_at(json_object_get_string(qv), &EMU.schema, (time_t)(emu_now_ms() / 1000), &q,
                      code, msg) != 0) {
        ret = emu_send_error(r, 400, code[0] ? code : "MALFORMED_QUERY", "%s", msg);
        goto out;
    }
    if (soql_is_aggregate(q) || soql_is_count_only(q) || soql_offset(q) > 0) {
        soql_free(q);
        ret = bulk_error(r, 400, "INVALIDJOB",
                         "Bulk API 2.0 queries support neither aggregates nor OFFSET");
        goto out;
    }
    struct emu_job *j = sfr_calloc(1, sizeof *j);
    char id15[16];
    emu_random_b62(id15, 15);
    memcpy(id15, "750", 3);
    sfr_sfid_to18(id15, 15, j->id);
    snprintf(j->operation, sizeof j->operation, "%s", ops);
    snprintf(j->state, sizeof j->state, "UploadComplete");
    snprintf(j->version, sizeof j->version, "%s", r->seg[2]);
    j->query = sfr_strdup(json_object_get_string(qv));
    j->q = q;
    j->created_ms = emu_now_ms();
    struct sfr_buf b = SFR_BUF_INIT;
    job_json(&b, j, false);
    pthread_mutex_lock(&EMU.lock);
    j->next = EMU.jobs;
    EMU.jobs = j;
    pthread_mutex_unlock(&EMU.lock);
    ret = emu_send_json(r, 200, &b);
out:
    json_object_put(body);
    return ret;
}

static struct emu_job *job_get(const char *id)
{
    struct emu_job *j;
    pthread_mutex_lock(&EMU.lock);
    for (j = EMU.jobs; j != NULL; j = j->next)
        if (strcmp(j->id, id) == 0)
            break;
    if (j != NULL)
        j->in_use++;
    pthread_mutex_unlock(&EMU.lock);
    return j;
}

static void job_put(struct emu_job *j)
{
    pthread_mutex_lock(&EMU.lock);
    j->in_use--;
    pthread_mutex_unlock(&EMU.lock);
}

/* "s(c1, ..., cN, cid)" */
static void alias_list(struct sfr_buf *b, const struct soql_query *q)
{
    sfr_buf_puts(b, "s(");
    for (int i = 0; i < soql_ncols(q); i++)
        sfr_buf_printf(b, "c%d, ", i + 1);
    sfr_buf_puts(b, "cid)");
}

/* Replaces $n (outside quotes) by the escaped literal of params[n-1]. */
static char *inline_params(PGconn *c, const char *sql, char **params, int np)
{
    struct sfr_buf b = SFR_BUF_INIT;
    char quote = 0;
    for (const char *p = sql; *p; p++) {
        if (quote) {
            sfr_buf_putc(&b, *p);
            if (*p == quote)
                quote = 0;
            continue;
        }
        if (*p == '\'' || *p == '"') {
            quote = *p;
            sfr_buf_putc(&b, *p);
            continue;
        }
        if (*p == '$' && p[1] >= '1' && p[1] <= '9') {
            char *end;
            long n = strtol(p + 1, &end, 10);
            if (n >= 1 && n <= np) {
                const char *v = params[n - 1];
                char *lit = PQescapeLiteral(c, v, strlen(v));
                sfr_buf_puts(&b, lit ? lit : "NULL");
                PQfreemem(lit);
                p = end - 1;
                continue;
            }
        }
        sfr_buf_putc(&b, *p);
    }
    return sfr_buf_steal(&b);
}

/* Records of the job's query (after = NULL: all of them, counted without
 * formatting or sorting anything), or those with Id > after. */
static long job_count(PGconn *c, struct emu_job *j, const char *after, char msg[512])
{
    struct sfr_buf sql = SFR_BUF_INIT, w = SFR_BUF_INIT;
    char *params[SOQL_MAX_PARAMS];
    int np = 0;
    long n = -1;
    int incl = strcmp(j->operation, "queryAll") == 0;
    int bad = after == NULL ? soql_count_sql(j->q, incl, &sql, params, &np)
                            : soql_to_sql(j->q, incl, after, -1, -1, &sql, params, &np);
    if (bad != 0) {
        snprintf(msg, 512, "query too complex");
        goto out;
    }
    if (after == NULL)
        sfr_buf_puts(&w, sql.data);
    else
        sfr_buf_printf(&w, "SELECT count(*) FROM (%s) s", sql.data);
    PGresult *res = PQexecParams(c, w.data, np, NULL, (const char *const *)params, NULL, NULL, 0);
    if (PQresultStatus(res) == PGRES_TUPLES_OK)
        n = atol(PQgetvalue(res, 0, 0));
    else
        snprintf(msg, 512, "%s", PQresultErrorMessage(res));
    PQclear(res);
out:
    for (int i = 0; i < np; i++)
        free(params[i]);
    sfr_buf_cleanup(&sql);
    sfr_buf_cleanup(&w);
    return n;
}

static enum MHD_Result job_status(struct emu_req *r, struct emu_job *j)
{
    char msg[512] = "";
    pthread_mutex_lock(&EMU.lock);
    bool complete_now =
        strcmp(j->state, "UploadComplete") == 0 || strcmp(j->state, "InProgress") == 0;
    if (complete_now)
        snprintf(j->state, sizeof j->state, "InProgress");
    pthread_mutex_unlock(&EMU.lock);
    if (complete_now) {
        PGconn *c = emu_pg_get();
        long n = c ? job_count(c, j, NULL, msg) : -1;
        emu_pg_put(c);
        pthread_mutex_lock(&EMU.lock);
        if (strcmp(j->state, "InProgress") == 0) {
            snprintf(j->state, sizeof j->state, n >= 0 ? "JobComplete" : "Failed");
            j->processed = n >= 0 ? n : 0;
        }
        pthread_mutex_unlock(&EMU.lock);
    }
    struct sfr_buf b = SFR_BUF_INIT;
    pthread_mutex_lock(&EMU.lock);
    job_json(&b, j, true);
    pthread_mutex_unlock(&EMU.lock);
    if (msg[0] != '\0') {
        b.len--;
        sfr_buf_puts(&b, ",\"errorMessage\":");
        emu_json_str(&b, msg);
        sfr_buf_putc(&b, '}');
    }
    return emu_send_json(r, 200, &b);
}

static enum MHD_Result job_abort(struct emu_req *r, struct emu_job *j)
{
    json_object *body = json_tokener_parse(r->body.data), *st = NULL;
    if (body == NULL || !json_object_object_get_ex(body, "state", &st) ||
        strcmp(json_object_get_string(st), "Aborted") != 0) {
        json_object_put(body);
        return bulk_error(r, 400, "INVALIDJOB", "only {\"state\":\"Aborted\"} is supported");
    }
    json_object_put(body);
    pthread_mutex_lock(&EMU.lock);
    bool done = strcmp(j->state, "JobComplete") == 0 || strcmp(j->state, "Failed") == 0;
    if (!done)
        snprintf(j->state, sizeof j->state, "Aborted");
    pthread_mutex_unlock(&EMU.lock);
    if (done)
        return bulk_error(r, 400, "INVALIDJOB", "Job is already complete and cannot be aborted");
    struct sfr_buf b = SFR_BUF_INIT;
    pthread_mutex_lock(&EMU.lock);
    job_json(&b, j, false);
    pthread_mutex_unlock(&EMU.lock);
    return emu_send_json(r, 200, &b);
}

static enum MHD_Result job_delete(struct emu_req *r, const char *id)
{
    struct emu_job *gone = NULL;
    pthread_mutex_lock(&EMU.lock);
    for (struct emu_job **pp = &EMU.jobs; *pp != NULL; pp = &(*pp)->next)
        if (strcmp((*pp)->id, id) == 0 && (*pp)->in_use == 0) {
            gone = *pp;
            *pp = gone->next;
            break;
        }
    pthread_mutex_unlock(&EMU.lock);
    if (gone == NULL)
        return bulk_error(r, 404, "NOT_FOUND", "Job not found or in use");
    soql_free(gone->q);
    free(gone->query);
    free(gone->bounds);
    free(gone);
    return emu_send(r, 204, NULL, NULL);
}

static enum MHD_Result job_list(struct emu_req *r)
{
    struct sfr_buf b = SFR_BUF_INIT;
    sfr_buf_puts(&b, "{\"done\":true,\"records\":[");
    pthread_mutex_lock(&EMU.lock);
    for (struct emu_job *j = EMU.jobs; j != NULL; j = j->next) {
        if (j != EMU.jobs)
            sfr_buf_putc(&b, ',');
        job_json(&b, j, false);
    }
    pthread_mutex_unlock(&EMU.lock);
    sfr_buf_puts(&b, "],\"nextRecordsUrl\":null}");
    return emu_send_json(r, 200, &b);
}

/* ---- results ---- */

struct stream {
    PGconn *c;
    struct sfr_buf pend;
    size_t off;
    bool copy_done;
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct stream *s = cls;
    size_t n = 0;
    while (n < max) {
        if (s->off < s->pend.len) {
            size_t k = s->pend.len - s->off;
            if (k > max - n)
                k = max - n;
            memcpy(buf + n, s->pend.data + s->off, k);
            s->off += k;
            n += k;
            continue;
        }
        sfr_buf_reset(&s->pend);
        s->off = 0;
        if (s->copy_done)
            break;
        char *row = NULL;
        int len = PQgetCopyData(s->c, &row, 0);
        if (len > 0) {
            if ((size_t)len <= max - n) {
                memcpy(buf + n, row, (size_t)len);
                n += (size_t)len;
            } else {
                sfr_buf_append(&s->pend, row, (size_t)len);
            }
            PQfreemem(row);
            continue;
        }
        s->copy_done = true;
        PGresult *res;
        bool ok = len == -1;
        while ((res = PQgetResult(s->c)) != NULL) {
            ok = ok && PQresultStatus(res) == PGRES_COMMAND_OK;
            if (PQresultStatus(res) != PGRES_COMMAND_OK)
                sfr_log_error("sfemu: bulk results: %s", PQresultErrorMessage(res));
            PQclear(res);
        }
        if (!ok && n == 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    if (n == 0 && s->copy_done)
        return MHD_CONTENT_READER_END_OF_STREAM;
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    struct stream *s = cls;
    if (s->copy_done)
        emu_pg_put(s->c);
    else
        PQfinish(s->c); /* client went away mid-COPY */
    sfr_buf_cleanup(&s->pend);
    free(s);
}

/* Finds how many records the page holds and the next locator: Id-ordered,
 * one pass over at most max + 1 Ids after the locator. */
static bool page_bounds(PGconn *c, struct emu_job *j, bool keyset, const char *after, long off,
                        long max, long *count, char next[64], char msg[512])
{
    int incl = strcmp(j->operation, "queryAll") == 0;
    next[0] = '\0';
    if (!keyset) {
        long left = j->processed - off;
        if (left < 0)
            left = 0;
        *count = max > 0 && max < left ? max : left;
        if (off + *count < j->processed)
            snprintf(next, 64, "o%ld", off + *count);
        return true;
    }
    if (max <= 0) {
        *count = after == NULL ? j->processed : job_count(c, j, after, msg);
        return *count >= 0;
    }
    struct sfr_buf sql = SFR_BUF_INIT, w = SFR_BUF_INIT;
    char *params[SOQL_MAX_PARAMS];
    int np = 0;
    bool ok = false;
    if (soql_to_sql(j->q, incl, after, max + 1, -1, &sql, params, &np) != 0) {
        snprintf(msg, 512, "query too complex");
        goto out;
    }
    sfr_buf_printf(&w,
                   "SELECT count(*), max(cid) FILTER (WHERE rn = %ld) FROM (SELECT cid, "
                   "row_number() OVER (ORDER BY cid) AS rn FROM (%s) ",
                   max, sql.data);
    alias_list(&w, j->q);
    sfr_buf_puts(&w, ") t");
    PGresult *res = PQexecParams(c, w.data, np, NULL, (const char *const *)params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        snprintf(msg, 512, "%s", PQresultErrorMessage(res));
        PQclear(res);
        goto out;
    }
    long got = atol(PQgetvalue(res, 0, 0));
    *count = got > max ? max : got;
    if (got > max)
        snprintf(next, 64, "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    ok = true;
out:
    for (int i = 0; i < np; i++)
        free(params[i]);
    sfr_buf_cleanup(&sql);
    sfr_buf_cleanup(&w);
    return ok;
}

/* Starts COPY of one page on c: `count` records after `after` (Id order, up
 * to and including Id `upto` when not NULL) or from `off`; false with msg on
 * error. */
static bool start_copy(PGconn *c, struct emu_job *j, bool keyset, const char *after,
                       const char *upto, long off, long count, char msg[512])
{
    int incl = strcmp(j->operation, "queryAll") == 0;
    struct sfr_buf sql = SFR_BUF_INIT, w = SFR_BUF_INIT;
    char *params[SOQL_MAX_PARAMS];
    int np = 0;
    bool ok = false;
    char *lit = NULL, *ulit = NULL;
    if (soql_to_sql(j->q, incl, keyset ? after : NULL, count, keyset ? -1 : off, &sql, params,
                    &np) != 0) {
        snprintf(msg, 512, "query too complex");
        goto out;
    }
    lit = inline_params(c, sql.data, params, np);
    sfr_buf_puts(&w, "COPY (SELECT ");
    for (int i = 0; i < soql_ncols(j->q); i++)
        sfr_buf_printf(&w, "%scoalesce(c%d, '')", i ? ", " : "", i + 1);
    sfr_buf_printf(&w, " FROM (%s) ", lit);
    alias_list(&w, j->q);
    if (keyset && upto != NULL) {
        ulit = PQescapeLiteral(c, upto, strlen(upto));
        sfr_buf_printf(&w, " WHERE cid <= %s COLLATE \"C\"", ulit ? ulit : "NULL");
    }
    sfr_buf_puts(&w, ") TO STDOUT (FORMAT csv, FORCE_QUOTE *)");
    PGresult *res = PQexec(c, w.data);
    ok = PQresultStatus(res) == PGRES_COPY_OUT;
    if (!ok)
        snprintf(msg, 512, "%s", PQresultErrorMessage(res));
    PQclear(res);
out:
    free(lit);
    PQfreemem(ulit);
    for (int i = 0; i < np; i++)
        free(params[i]);
    sfr_buf_cleanup(&sql);
    sfr_buf_cleanup(&w);
    return ok;
}

/* The page plan of resultPages: pages of EMU.bulk_result_page records (at
 * least one page, empty for no records), fixed on the first call. Id-ordered,
 * the last Id of every page but the last is found as the pages are listed:
 * those up to page `to` from one pass over the Ids after the last one known. */
static bool plan_pages(PGconn *c, struct emu_job *j, bool keyset, long to, char msg[512])
{
    pthread_mutex_lock(&EMU.lock);
    if (!j->planned) {
        long size = EMU.bulk_result_page > 0 ? EMU.bulk_result_page : 1;
        j->planned = true;
        j->page_size = size;
        j->n_pages = j->processed > 0 ? (j->processed + size - 1) / size : 1;
        j->bounds = sfr_calloc((size_t)j->n_pages, sizeof(*j->bounds));
        j->n_bounds = 0;
    }
    long known = j->n_bounds, size = j->page_size, want = to < j->n_pages - 1 ? to : j->n_pages - 1;
    char after[19] = "";
    if (known > 0)
        snprintf(after, sizeof after, "%s", j->bounds[known - 1]);
    pthread_mutex_unlock(&EMU.lock);
    if (!keyset || known >= want)
        return true;
    int incl = strcmp(j->operation, "queryAll") == 0;
    struct sfr_buf sql = SFR_BUF_INIT, w = SFR_BUF_INIT;
    char *params[SOQL_MAX_PARAMS];
    int np = 0;
    bool ok = false;
    long rows = (want - known) * size;
    if (soql_to_sql(j->q, incl, after[0] ? after : NULL, rows, -1, &sql, params, &np) != 0) {
        snprintf(msg, 512, "query too complex");
        goto out;
    }
    sfr_buf_printf(&w,
                   "SELECT cid FROM (SELECT cid, row_number() OVER (ORDER BY cid) AS rn FROM (%s) ",
                   sql.data);
    alias_list(&w, j->q);
    sfr_buf_printf(&w, ") t WHERE rn %% %ld = 0 ORDER BY cid", size);
    PGresult *res = PQexecParams(c, w.data, np, NULL, (const char *const *)params, NULL, NULL, 0);
    ok = PQresultStatus(res) == PGRES_TUPLES_OK;
    if (!ok)
        snprintf(msg, 512, "%s", PQresultErrorMessage(res));
    pthread_mutex_lock(&EMU.lock);
    if (ok && j->n_bounds == known) {
        int got = PQntuples(res);
        for (int i = 0; i < got && known + i < j->n_pages - 1; i++)
            snprintf(j->bounds[known + i], sizeof(j->bounds[0]), "%s", PQgetvalue(res, i, 0));
        j->n_bounds = known + got < j->n_pages - 1 ? known + got : j->n_pages - 1;
        /* fewer: records went away since the job completed */
        if (known + got < want)
            j->n_pages = j->n_bounds + 1;
    }
    pthread_mutex_unlock(&EMU.lock);
    PQclear(res);
out:
    for (int i = 0; i < np; i++)
        free(params[i]);
    sfr_buf_cleanup(&sql);
    sfr_buf_cleanup(&w);
    return ok;
}

/* "p<k>" of a planned job: page k, or -1. Id-ordered, the page must have been
 * listed: to fetch it, both its bounds are known; to list from it, the one
 * before it. */
static long page_of(struct emu_job *j, const char *loc, bool keyset, bool fetch)
{
    char *end;
    if (loc[0] != 'p' || loc[1] < '0' || loc[1] > '9')
        return -1;
    long k = strtol(loc + 1, &end, 10);
    pthread_mutex_lock(&EMU.lock);
    bool known =
        fetch ? k < j->n_bounds || (k == j->n_pages - 1 && k <= j->n_bounds) : k <= j->n_bounds;
    bool ok = *end == '\0' && j->planned && k >= 0 && k < j->n_pages && (!keyset || known);
    pthread_mutex_unlock(&EMU.lock);
    return ok ? k : -1;
}

/* True (the error answer in *ret) unless the job is complete. */
static bool not_complete(struct emu_req *r, struct emu_job *j, enum MHD_Result *ret)
{
    pthread_mutex_lock(&EMU.lock);
    char state[16];
    snprintf(state, sizeof state, "%s", j->state);
    pthread_mutex_unlock(&EMU.lock);
    if (strcmp(state, "JobComplete") == 0)
        return false;
    bool aborted = strcmp(state, "Aborted") == 0;
    *ret = bulk_error(r, aborted ? 400 : 412, aborted ? "INVALIDJOB" : "JOB_NOT_COMPLETE",
                      "Job is not complete");
    return true;
}

static enum MHD_Result job_results(struct emu_req *r, struct emu_job *j)
{
    enum MHD_Result ret;
    if (not_complete(r, j, &ret))
        return ret;
    const char *ms = emu_arg(r, "maxRecords"), *loc = emu_arg(r, "locator");
    long max = ms ? strtol(ms, NULL, 10) : 0;
    if (ms != NULL && max <= 0)
        return bulk_error(r, 400, "INVALIDJOB", "maxRecords must be a positive integer");
    bool keyset = soql_orders_by_id(j->q) != 0;
    const char *after = NULL, *upto = NULL;
    char after_buf[19] = "", upto_buf[19] = "";
    long off = 0, page = -1;
    if (loc != NULL && *loc != '\0' && strcmp(loc, "null") != 0) {
        char id18[19];
        if (loc[0] == 'p') {
            if ((page = page_of(j, loc, keyset, true)) < 0)
                return bulk_error(r, 400, "INVALIDLOCATOR", "invalid locator");
        } else if (keyset && sfr_sfid_valid(loc, strlen(loc)) &&
                   sfr_sfid_to18(loc, strlen(loc), id18)) {
            after = loc;
        } else if (!keyset && loc[0] == 'o' && atol(loc + 1) >= 0) {
            off = atol(loc + 1);
        } else {
            return bulk_error(r, 400, "INVALIDLOCATOR", "invalid locator");
        }
    }
    PGconn *c = emu_pg_get();
    if (c == NULL)
        return bulk_error(r, 503, "SERVER_UNAVAILABLE", "store unavailable");
    long count = 0;
    char next[64] = "", msg[512] = "";
    if (page >= 0) {
        /* a page of the plan: its bounds and size are fixed */
        pthread_mutex_lock(&EMU.lock);
        long n_pages = j->n_pages, size = j->page_size;
        if (page > 0 && j->bounds[page - 1][0] != '\0')
            snprintf(after_buf, sizeof after_buf, "%s", j->bounds[page - 1]);
        if (page < n_pages - 1)
            snprintf(upto_buf, sizeof upto_buf, "%s", j->bounds[page]);
        pthread_mutex_unlock(&EMU.lock);
        after = after_buf[0] ? after_buf : NULL;
        upto = upto_buf[0] ? upto_buf : NULL;
        off = page * size;
        count = page < n_pages - 1 ? size : j->processed - page * size;
        if (count < 0)
            count = 0;
        if (page < n_pages - 1)
            snprintf(next, sizeof next, "p%ld", page + 1);
    } else if (!page_bounds(c, j, keyset, after, off, max, &count, next, msg)) {
        emu_pg_put(c);
        return bulk_error(r, 500, "UNKNOWN_EXCEPTION", msg);
    }
    if (!start_copy(c, j, keyset, after, upto, off, count, msg)) {
        emu_pg_put(c);
        return bulk_error(r, 500, "UNKNOWN_EXCEPTION", msg);
    }
    struct stream *s = sfr_calloc(1, sizeof *s);
    s->c = c;
    for (int i = 0; i < soql_ncols(j->q); i++) {
        if (i)
            sfr_buf_putc(&s->pend, ',');
        sfr_buf_putc(&s->pend, '"');
        sfr_buf_puts(&s->pend, soql_col_name(j->q, i));
        sfr_buf_putc(&s->pend, '"');
    }
    sfr_buf_putc(&s->pend, '\n');
    char cnt[32];
    snprintf(cnt, sizeof cnt, "%ld", count);
    emu_add_header(r, "Sforce-NumberOfRecords", cnt);
    emu_add_header(r, "Sforce-Locator", next[0] ? next : "null");
    return emu_send_stream(r, 200, "text/csv", stream_read, s, stream_free);
}

/* GET .../jobs/query/{id}/resultPages[?locator=p<k>]: up to five result URLs
 * from page k on, nextRecordsUrl for the next five (null when done). */
static enum MHD_Result job_result_pages(struct emu_req *r, struct emu_job *j)
{
    if (atoi(r->seg[2] + 1) < 58)
        return emu_send_not_found(r);
    if (strcmp(r->seg[2], j->version) != 0)
        return bulk_error(r, 409, "INVALIDJOB",
                          "Use the API version the query job was created with to get its "
                          "results");
    enum MHD_Result ret;
    if (not_complete(r, j, &ret))
        return ret;
    const char *loc = emu_arg(r, "locator");
    bool keyset = soql_orders_by_id(j->q) != 0;
    long from = 0;
    if (loc != NULL) {
        /* a nextRecordsUrl: the pages before it were listed */
        pthread_mutex_lock(&EMU.lock);
        bool planned = j->planned;
        pthread_mutex_unlock(&EMU.lock);
        if (!planned || (from = page_of(j, loc, keyset, false)) < 0)
            return bulk_error(r, 400, "INVALIDLOCATOR", "invalid locator");
    }
    PGconn *c = emu_pg_get();
    if (c == NULL)
        return bulk_error(r, 503, "SERVER_UNAVAILABLE", "store unavailable");
    char msg[512] = "";
    bool ok = plan_pages(c, j, keyset, from + RESULT_URLS_PER_ANSWER, msg);
    emu_pg_put(c);
    if (!ok)
        return bulk_error(r, 500, "UNKNOWN_EXCEPTION", msg);
    pthread_mutex_lock(&EMU.lock);
    long n_pages = j->n_pages;
    pthread_mutex_unlock(&EMU.lock);
    if (from > n_pages - 1)
        from = n_pages - 1;
    long to = from + RESULT_URLS_PER_ANSWER < n_pages ? from + RESULT_URLS_PER_ANSWER : n_pages;
    struct sfr_buf b = SFR_BUF_INIT;
    sfr_buf_puts(&b, "{\"resultPages\":[");
    for (long k = from; k < to; k++)
        sfr_buf_printf(&b,
                       "%s{\"resultUrl\":\"/services/data/%s/jobs/query/%s/results?locator=p%ld\"}",
                       k > from ? "," : "", j->version, j->id, k);
    sfr_buf_puts(&b, "],\"nextRecordsUrl\":");
    if (to < n_pages)
        sfr_buf_printf(&b, "\"/services/data/%s/jobs/query/%s/resultPages?locator=p%ld\"",
                       j->version, j->id, to);
    else
        sfr_buf_puts(&b, "null");
    sfr_buf_printf(&b, ",\"done\":%s}", to < n_pages ? "false" : "true");
    return emu_send_json(r, 200, &b);
}

enum MHD_Result emu_bulk(struct emu_req *r)
{
    /* seg: services data vNN jobs query [id [results]] */
    const char *m = r->method;
    if (r->n_seg == 5 && strcmp(m, "POST") == 0)
        return job_create(r);
    if (r->n_seg == 5 && strcmp(m, "GET") == 0)
        return job_list(r);
    if (r->n_seg < 6 || r->n_seg > 7)
        return emu_send_not_found(r);
    if (r->n_seg == 6 && strcmp(m, "DELETE") == 0)
        return job_delete(r, r->seg[5]);
    struct emu_job *j = job_get(r->seg[5]);
    if (j == NULL)
        return bulk_error(r, 404, "NOT_FOUND", "The requested resource does not exist");
    enum MHD_Result ret;
    if (r->n_seg == 6 && strcmp(m, "GET") == 0)
        ret = job_status(r, j);
    else if (r->n_seg == 6 && strcmp(m, "PATCH") == 0)
        ret = job_abort(r, j);
    else if (r->n_seg == 7 && strcmp(r->seg[6], "results") == 0 && strcmp(m, "GET") == 0)
        ret = job_results(r, j);
    else if (r->n_seg == 7 && strcmp(r->seg[6], "resultPages") == 0 && strcmp(m, "GET") == 0)
        ret = job_result_pages(r, j);
    else
        ret = emu_send_not_found(r);
    job_put(j);
    return ret;
}
