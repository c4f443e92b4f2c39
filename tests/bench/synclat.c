/* synclat.c — `sfrbench synclat`: the latency of `sfrecon sync` with change
 * events, for make bench (never a test). Against a running daemon, sfemu
 * and the mirror:
 *
 *   sfrbench synclat SF_URL TOKEN DB_URL RATE SECONDS
 *
 * Salesforce -> mirror: THREADS writers PATCH Account names ("lat N") at
 * RATE changes per second in all for SECONDS; a bench trigger on the mirror
 * table notes clock_timestamp() when each name arrives. Latency = arrival -
 * the moment the PATCH returned (the change committed). Mirror ->
 * Salesforce: 50 app UPDATEs at 10 per second; latency = the record's
 * SystemModstamp in Salesforce - the UPDATE's clock_timestamp() (one clock:
 * sfemu runs on this machine). Prints p50 and p99 of each. */
#include <curl/curl.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sfrecon/canon.h"
#include "sfrecon/mem.h"

#define THREADS 4

struct writer {
    const char *sf, *token;
    char **ids;
    int n_ids;
    int k, rate, seconds;
    long sent;
    int64_t *sent_ms; /* per sequence number */
    long base;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t sink(char *p, size_t s, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return s * n;
}

static void *write_loop(void *ud)
{
    struct writer *w = ud;
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    char auth[512];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", w->token);
    h = curl_slist_append(h, auth);
    h = curl_slist_append(h, "Content-Type: application/json");
    int total = w->rate * w->seconds;
    int64_t t0 = now_ms();
    for (int j = 0; j < total; j++) {
        int64_t due = t0 + (int64_t)j * 1000 / w->rate;
        int64_t wait = due - now_ms();
        if (wait > 0) {
            struct timespec ts = {wait / 1000, (wait % 1000) * 1000000L};
            nanosleep(&ts, NULL);
        }
        long seq = w->base + j;
        char url[512], body[128];
        snprintf(url, sizeof(url), "%s/services/data/v60.0/sobjects/Account/%s", w->sf,
                 w->ids[(w->k + j * THREADS) % w->n_ids]);
        snprintf(body, sizeof(body), "{\"Name\":\"lat %d %ld\"}", w->rate * THREADS, seq);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PATCH");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
        if (curl_easy_perform(c) == CURLE_OK) {
            w->sent_ms[j] = now_ms();
            w->sent++;
        }
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return NULL;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, long long *v, int n, int expected)
{
    if (n == 0) {
        printf("%s: no samples\n", what);
        return;
    }
    qsort(v, (size_t)n, sizeof(*v), cmp_ll);
    printf("%s p50 %lld p99 %lld max %lld ms (%d of %d arrived)\n", what, v[n / 2],
           v[(n * 99) / 100 >= n ? n - 1 : (n * 99) / 100], v[n - 1], n, expected);
}

static PGresult *q(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK)
        fprintf(stderr, "synclat: %s: %s", sql, PQerrorMessage(c));
    return r;
}

int sfrbench_synclat(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr, "usage: sfrbench synclat SF_URL TOKEN DB_URL RATE SECONDS\n");
        return 2;
    }
    const char *sf = argv[2], *token = argv[3], *db = argv[4];
    int rate = atoi(argv[5]), seconds = atoi(argv[6]);
    PGconn *c = PQconnectdb(db);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "synclat: %s", PQerrorMessage(c));
        return 3;
    }
    PQclear(q(c, "CREATE TABLE IF NOT EXISTS public.bench_seen (name text, at timestamptz);"
                 "TRUNCATE public.bench_seen;"
                 "CREATE OR REPLACE FUNCTION public.bench_seen_fn() RETURNS trigger AS $$"
                 " BEGIN IF NEW.name LIKE 'lat %' THEN INSERT INTO public.bench_seen VALUES"
                 " (NEW.name, clock_timestamp()); END IF; RETURN NEW; END $$ LANGUAGE plpgsql;"
                 "DROP TRIGGER IF EXISTS bench_seen ON salesforce.account;"
                 "CREATE TRIGGER bench_seen AFTER INSERT OR UPDATE ON salesforce.account"
                 " FOR EACH ROW EXECUTE FUNCTION public.bench_seen_fn()"));
    PGresult *ids = q(c, "SELECT sfid FROM salesforce.account WHERE sfid IS NOT NULL ORDER BY sfid"
                         " LIMIT 400");
    int n_ids = PQntuples(ids);
    char **idv = sfr_calloc((size_t)n_ids + 1, sizeof(char *));
    for (int i = 0; i < n_ids; i++)
        idv[i] = sfr_strdup(PQgetvalue(ids, i, 0));
    PQclear(ids);
    struct writer w[THREADS];
    pthread_t th[THREADS];
    int per = rate / THREADS > 0 ? rate / THREADS : 1;
    for (int k = 0; k < THREADS; k++) {
        w[k] = (struct writer){sf, token, idv, n_ids, k, per, seconds, 0, NULL, 0};
        w[k].sent_ms = sfr_calloc((size_t)per * (size_t)seconds + 1, sizeof(int64_t));
        w[k].base = (long)k * 1000000;
        pthread_create(&th[k], NULL, write_loop, &w[k]);
    }
    for (int k = 0; k < THREADS; k++)
        pthread_join(th[k], NULL);
    /* let the last events arrive */
    struct timespec ts = {3, 0};
    nanosleep(&ts, NULL);
    PGresult *seen = q(c, "SELECT name, (extract(epoch FROM min(at)) * 1000)::bigint FROM"
                          " public.bench_seen GROUP BY name");
    int total = per * seconds * THREADS, n = 0;
    long long *lat = sfr_calloc((size_t)total + 1, sizeof(long long));
    for (int r = 0; r < PQntuples(seen); r++) {
        const char *sp = strchr(PQgetvalue(seen, r, 0) + 4, ' ');
        if (sp == NULL || atoi(PQgetvalue(seen, r, 0) + 4) != per * THREADS)
            continue; /* another run's */
        long seq = atol(sp + 1);
        int k = (int)(seq / 1000000), j = (int)(seq % 1000000);
        if (k < 0 || k >= THREADS || j >= per * seconds || w[k].sent_ms[j] == 0)
            continue;
        lat[n++] = atoll(PQgetvalue(seen, r, 1)) - w[k].sent_ms[j];
    }
    PQclear(seen);
    char what[96];
    snprintf(what, sizeof(what), "sf->mirror at %d changes/s for %d s:", per * THREADS, seconds);
    report(what, lat, n, total);
    PQclear(q(c, "DROP TRIGGER IF EXISTS bench_seen ON salesforce.account"));

    /* mirror -> Salesforce: 50 app updates at 10/s */
    int m = 50 < n_ids ? 50 : n_ids;
    long long *app_ms = sfr_calloc((size_t)m + 1, sizeof(long long));
    for (int j = 0; j < m; j++) {
        char sql[256];
        snprintf(sql, sizeof(sql),
                 "UPDATE salesforce.account SET name = 'push %d-%d' WHERE sfid = '%s'"
                 " RETURNING (extract(epoch FROM clock_timestamp()) * 1000)::bigint",
                 rate, j, idv[(j * 7) % n_ids]);
        PGresult *r = q(c, sql);
        app_ms[j] = PQntuples(r) > 0 ? atoll(PQgetvalue(r, 0, 0)) : 0;
        PQclear(r);
        struct timespec t = {0, 100000000L};
        nanosleep(&t, NULL);
    }
    nanosleep(&ts, NULL);
    /* the records' SystemModstamp, read back through the mirror's pulls is
     * not what we want: ask Salesforce */
    long long *push = sfr_calloc((size_t)m + 1, sizeof(long long));
    int np = 0;
    CURL *cu = curl_easy_init();
    struct curl_slist *h = NULL;
    char auth[512];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    h = curl_slist_append(h, auth);
    for (int j = 0; j < m; j++) {
        char url[512];
        snprintf(url, sizeof(url),
                 "%s/services/data/v60.0/sobjects/Account/%s?fields=Name,SystemModstamp", sf,
                 idv[(j * 7) % n_ids]);
        struct sfr_buf b = SFR_BUF_INIT;
        curl_easy_setopt(cu, CURLOPT_URL, url);
        curl_easy_setopt(cu, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, NULL);
        FILE *mem = open_memstream(&b.data, &b.len);
        curl_easy_setopt(cu, CURLOPT_WRITEDATA, mem);
        CURLcode cc = curl_easy_perform(cu);
        fclose(mem);
        char want[32];
        snprintf(want, sizeof(want), "\"Name\":\"push %d-%d\"", rate, j);
        const char *sm = b.data ? strstr(b.data, "\"SystemModstamp\":\"") : NULL;
        int64_t at = INT64_MIN;
        if (cc == CURLE_OK && b.data && strstr(b.data, want) && sm &&
            sfr_parse_datetime_ms(sm + 18, 28, &at) && app_ms[j] > 0)
            push[np++] = at - app_ms[j];
        free(b.data);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(cu);
    report("mirror->sf (app UPDATE, 10/s):", push, np, m);
    for (int k = 0; k < THREADS; k++)
        free(w[k].sent_ms);
    for (int i = 0; i < n_ids; i++)
        free(idv[i]);
    free(idv);
    free(lat);
    free(push);
    free(app_ms);
    PQfinish(c);
    return 0;
}
