/* csv.c — fuzz target for the streaming Bulk API 2.0 CSV reader (src/sf/csv.c).
 *
 * Input: byte 0 picks the chunk size (1..64 bytes), byte 1 a page split: the
 * body is read as two result pages (reset between them) when byte 1 is odd.
 * The body is read whole and in chunks; both must agree on the return code,
 * the rows delivered and their values. */
#include "fuzz.h"
#include "sfrecon/sf.h"

static const char *const fields[] = {"Id", "Name", "Amount__c"};
#define N_FIELDS 3

struct run {
    uint64_t digest;
    long rows;
};

static void mix(uint64_t *h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        *h = (*h ^ b[i]) * 0x100000001b3ULL;
    *h = (*h ^ 0xff) * 0x100000001b3ULL;
}

static int on_row(void *ctx, const char *const *values, const size_t *lens)
{
    struct run *r = ctx;
    r->rows++;
    for (int i = 0; i < N_FIELDS; i++) {
        if (values[i] == NULL) {
            FUZZ_ASSERT(lens[i] == 0);
            mix(&r->digest, "null", 4);
            continue;
        }
        FUZZ_ASSERT(lens[i] > 0 && values[i][lens[i]] == '\0');
        mix(&r->digest, values[i], lens[i]);
    }
    return 0;
}

struct outcome {
    int rc;
    uint64_t digest;
    long rows, n_rows;
};

static int feed(struct sfr_sf_csv *p, const char *d, size_t n, size_t chunk, struct sfr_err *err)
{
    int rc = 0;
    for (size_t at = 0; at < n && rc == 0; at += chunk) {
        size_t take = n - at < chunk ? n - at : chunk;
        rc = sfr_sf_csv_feed(p, d + at, take, err);
    }
    if (rc == 0)
        rc = sfr_sf_csv_finish(p, err);
    return rc;
}

static void read_all(const char *d, size_t n, size_t chunk, bool two_pages, struct outcome *o)
{
    struct run r = {.digest = 0xcbf29ce484222325ULL};
    struct sfr_sf_csv p;
    sfr_sf_csv_init(&p, fields, N_FIELDS);
    p.on_row = on_row;
    p.ctx = &r;
    p.max_row = 2048;
    struct sfr_err err = {0};
    size_t half = two_pages ? n / 2 : n;
    int rc = feed(&p, d, half, chunk, &err);
    if (rc == 0 && two_pages) {
        sfr_sf_csv_reset(&p);
        rc = feed(&p, d + half, n - half, chunk, &err);
    }
    if (rc == -1)
        FUZZ_ASSERT(err.msg[0] != '\0');
    o->rc = rc;
    o->digest = r.digest;
    o->rows = r.rows;
    o->n_rows = p.n_rows;
    sfr_sf_csv_cleanup(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t chunk = 1 + data[0] % 64;
    bool two = data[1] & 1;
    const char *d = (const char *)data + 2;
    size_t n = size - 2;
    struct outcome whole, parts;
    read_all(d, n, n == 0 ? 1 : n, two, &whole);
    read_all(d, n, chunk, two, &parts);
    FUZZ_ASSERT(whole.rc == parts.rc);
    FUZZ_ASSERT(whole.rows == parts.rows);
    FUZZ_ASSERT(whole.n_rows == parts.n_rows);
    FUZZ_ASSERT(whole.digest == parts.digest);
    return 0;
}
