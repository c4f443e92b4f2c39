/* sketch.h — a difference sketch of a bucket of rows (an invertible Bloom
 * lookup table, Eppstein et al., "What's the Difference?", SIGCOMM 2011).
 *
 * Each side adds its bucket's (key, row hash) pairs to a sketch of a few
 * cells; subtracting the two sketches cancels every pair both sides hold
 * alike, and the few pairs left (a changed row leaves two, a missing row
 * one) are read back out by peeling cells that hold exactly one pair. So a
 * sequential pass finds the differing keys of a bucket that differs in a
 * few rows without reading the bucket again. A decode is accepted only when
 * the recovered pairs account exactly for the difference of the buckets'
 * digests (count and sum); otherwise the bucket is compared row by row. */
#ifndef SFRECON_SKETCH_H
#define SFRECON_SKETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfrecon/mem.h"

#define SFR_SKETCH_TABLES 3 /* cells a pair goes to, one in each table */
#define SFR_SKETCH_WIDTH  6 /* cells per table */
#define SFR_SKETCH_KEY    24

struct sfr_sketch_cell {
    int32_t count;
    uint8_t key[SFR_SKETCH_KEY]; /* XOR of the keys, zero-padded */
    uint64_t hash;               /* XOR of the row hashes */
    uint64_t check;              /* XOR of a hash of (key, row hash) */
};

struct sfr_sketch {
    struct sfr_sketch_cell c[SFR_SKETCH_TABLES * SFR_SKETCH_WIDTH];
    bool overflow; /* a key longer than SFR_SKETCH_KEY was added: cannot decode */
};

void sfr_sketch_add(struct sfr_sketch *s, const char *key, size_t len, uint64_t row_hash);

/* Decodes a - b. dcount and dsum are the differences of the two buckets'
 * digests (a minus b, wrapping). On success appends the keys of the
 * differing pairs to keys (a key may appear twice: both sides of a changed
 * row) and returns true; false when the difference is too large for the
 * sketch (keys then holds what it held before). */
bool sfr_sketch_decode(const struct sfr_sketch *a, const struct sfr_sketch *b, int64_t dcount,
                       uint64_t dsum, struct sfr_strv *keys);

#endif
