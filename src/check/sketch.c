/* sketch.c — difference sketches of buckets (sketch.h). */
#define XXH_INLINE_ALL
#include "sfrecon/sketch.h"

#include <string.h>
#include <xxhash.h>

static uint64_t pair_check(const uint8_t *key, size_t len, uint64_t row_hash)
{
    return XXH3_64bits_withSeed(key, len, row_hash);
}

static size_t cell_of(uint64_t check, int t)
{
    return (size_t)t * SFR_SKETCH_WIDTH + (size_t)((check >> (8 + 16 * t)) % SFR_SKETCH_WIDTH);
}

static void toggle(struct sfr_sketch_cell *c, const uint8_t *key, uint64_t row_hash, uint64_t check,
                   int32_t dir)
{
    c->count += dir;
    for (int i = 0; i < SFR_SKETCH_KEY; i++)
        c->key[i] ^= key[i];
    c->hash ^= row_hash;
    c->check ^= check;
}

void sfr_sketch_add(struct sfr_sketch *s, const char *key, size_t len, uint64_t row_hash)
{
    if (len > SFR_SKETCH_KEY) {
        s->overflow = true;
        return;
    }
    uint8_t k[SFR_SKETCH_KEY] = {0};
    memcpy(k, key, len);
    uint64_t check = pair_check(k, len, row_hash);
    for (int t = 0; t < SFR_SKETCH_TABLES; t++)
        toggle(&s->c[cell_of(check, t)], k, row_hash, check, 1);
}

/* A cell holding exactly one pair (of either sign). */
static bool pure(const struct sfr_sketch_cell *c, size_t *len)
{
    if (c->count != 1 && c->count != -1)
        return false;
    size_t n = 0;
    while (n < SFR_SKETCH_KEY && c->key[n] != 0)
        n++;
    for (size_t i = n; i < SFR_SKETCH_KEY; i++)
        if (c->key[i] != 0)
            return false;
    *len = n;
    return n > 0 && pair_check(c->key, n, c->hash) == c->check;
}

static bool empty(const struct sfr_sketch_cell *c)
{
    if (c->count != 0 || c->hash != 0 || c->check != 0)
        return false;
    for (int i = 0; i < SFR_SKETCH_KEY; i++)
        if (c->key[i] != 0)
            return false;
    return true;
}

bool sfr_sketch_decode(const struct sfr_sketch *a, const struct sfr_sketch *b, int64_t dcount,
                       uint64_t dsum, struct sfr_strv *keys)
{
    enum { N = SFR_SKETCH_TABLES * SFR_SKETCH_WIDTH };
    if (a->overflow || b->overflow)
        return false;
    struct sfr_sketch_cell d[N];
    for (int i = 0; i < N; i++) {
        d[i] = a->c[i];
        /* a - b: counts subtract; for the XOR fields subtracting is XOR */
        toggle(&d[i], b->c[i].key, b->c[i].hash, b->c[i].check, -b->c[i].count);
    }
    size_t before = keys->n;
    int64_t got_count = 0;
    uint64_t got_sum = 0;
    bool progress = true;
    int peeled = 0;
    while (progress && peeled <= 4 * N) {
        progress = false;
        for (int i = 0; i < N; i++) {
            size_t len;
            if (!pure(&d[i], &len))
                continue;
            struct sfr_sketch_cell e = d[i];
            char k[SFR_SKETCH_KEY + 1];
            memcpy(k, e.key, len);
            k[len] = '\0';
            sfr_strv_push(keys, k);
            got_count += e.count;
            got_sum += e.count > 0 ? e.hash : (uint64_t)0 - e.hash;
            for (int t = 0; t < SFR_SKETCH_TABLES; t++)
                toggle(&d[cell_of(e.check, t)], e.key, e.hash, e.check, -e.count);
            progress = true;
            peeled++;
        }
    }
    bool ok = got_count == dcount && got_sum == dsum;
    for (int i = 0; i < N && ok; i++)
        ok = empty(&d[i]);
    if (!ok) {
        while (keys->n > before)
            sfr_free(keys->v[--keys->n]);
    }
    return ok;
}
