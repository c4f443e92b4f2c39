/* jsonstream.c — fuzz target for the streaming query-response scanner and the
 * record parser (src/sf/jsonstream.c).
 *
 * Input: byte 0 picks the chunk size the body is fed in (1..64 bytes), byte 1
 * a stop-after-N-records limit for the callback (0 = never stop); the rest is
 * the HTTP body. The body is scanned twice, whole and in chunks: both runs
 * must agree on the return code, the records delivered (bytes and the parsed
 * field values), totalSize, done, nextRecordsUrl and completeness. */
#include "fuzz.h"
#include "sfrecon/sf.h"

static const char *const fields[] = {"Id", "Name", "Amount__c", "Owner", "IsDeleted"};
#define N_FIELDS 5

struct run {
    struct sfr_sf_recparse rp;
    uint64_t digest;
    long records, parsed, stop_after;
};

static void mix(uint64_t *h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        *h = (*h ^ b[i]) * 0x100000001b3ULL;
    *h = (*h ^ 0xff) * 0x100000001b3ULL; /* separator */
}

static int on_record(void *ctx, const char *json, size_t len)
{
    struct run *r = ctx;
    r->records++;
    mix(&r->digest, json, len);
    struct sfr_err err = {0};
    if (sfr_sf_recparse_run(&r->rp, json, len, &err) == SFR_OK) {
        r->parsed++;
        for (int i = 0; i < N_FIELDS; i++) {
            if (r->rp.values[i] == NULL) {
                mix(&r->digest, "null", 4);
                continue;
            }
            FUZZ_ASSERT(r->rp.values[i][r->rp.lens[i]] == '\0');
            mix(&r->digest, r->rp.values[i], r->rp.lens[i]);
        }
    } else {
        FUZZ_ASSERT(err.msg[0] != '\0');
        mix(&r->digest, "bad", 3);
    }
    if (r->stop_after > 0 && r->records >= r->stop_after)
        return 1;
    return 0;
}

struct outcome {
    int rc;
    uint64_t digest;
    long records, parsed, total_size, n_records;
    bool done, complete;
    char next_url[1024];
};

static void scan(const char *body, size_t n, size_t chunk, long stop_after, struct outcome *o)
{
    struct run r = {.digest = 0xcbf29ce484222325ULL, .stop_after = stop_after};
    sfr_sf_recparse_init(&r.rp, fields, N_FIELDS);
    struct sfr_sf_jscan s;
    sfr_sf_jscan_init(&s);
    s.on_record = on_record;
    s.ctx = &r;
    s.max_record = 2048; /* small, so that the cap is reached too */
    struct sfr_err err = {0};
    int rc = 0;
    for (size_t at = 0; at < n && rc == 0; at += chunk) {
        size_t take = n - at < chunk ? n - at : chunk;
        rc = sfr_sf_jscan_feed(&s, body + at, take, &err);
    }
    if (rc == -1)
        FUZZ_ASSERT(err.msg[0] != '\0');
    o->rc = rc;
    o->digest = r.digest;
    o->records = r.records;
    o->parsed = r.parsed;
    o->total_size = s.total_size;
    o->n_records = s.n_records;
    o->done = s.done;
    o->complete = sfr_sf_jscan_complete(&s);
    memcpy(o->next_url, s.next_url, sizeof o->next_url);
    FUZZ_ASSERT(memchr(o->next_url, '\0', sizeof o->next_url) != NULL);
    sfr_sf_jscan_cleanup(&s);
    sfr_sf_recparse_cleanup(&r.rp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t chunk = 1 + data[0] % 64;
    long stop_after = data[1] % 8;
    const char *body = (const char *)data + 2;
    size_t n = size - 2;
    struct outcome whole, parts;
    scan(body, n, n == 0 ? 1 : n, stop_after, &whole);
    scan(body, n, chunk, stop_after, &parts);
    FUZZ_ASSERT(whole.rc == parts.rc);
    FUZZ_ASSERT(whole.records == parts.records);
    FUZZ_ASSERT(whole.parsed == parts.parsed);
    FUZZ_ASSERT(whole.digest == parts.digest);
    if (whole.rc == 0) { /* after a stop or an error the scalars depend on where it stopped */
        FUZZ_ASSERT(whole.total_size == parts.total_size);
        FUZZ_ASSERT(whole.done == parts.done);
        FUZZ_ASSERT(whole.complete == parts.complete);
        FUZZ_ASSERT(strcmp(whole.next_url, parts.next_url) == 0);
        FUZZ_ASSERT(whole.n_records == parts.n_records);
    }
    return 0;
}
