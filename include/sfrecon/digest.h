/* digest.h — row hashes and chunk digests (docs/hashing.md).
 * A chunk digest is (row count, wrapping 64-bit sum of row hashes), so the
 * digest of a range is the combination of the digests of its sub-ranges in
 * any order. Count depth also carries max(SystemModstamp) in ms. */
#ifndef SFRECON_DIGEST_H
#define SFRECON_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sfr_digest {
    uint64_t count;
    uint64_t sum;       /* content depth: wrapping sum of row hashes */
    int64_t max_mod_ms; /* count depth: max SystemModstamp, INT64_MIN if none */
};

uint64_t sfr_hash_bytes(const void *p, size_t n); /* XXH3-64, seed 0 */
void sfr_digest_init(struct sfr_digest *d);
void sfr_digest_add_row(struct sfr_digest *d, uint64_t row_hash, int64_t mod_ms);
void sfr_digest_combine(struct sfr_digest *into, const struct sfr_digest *part);
bool sfr_digest_equal_content(const struct sfr_digest *a, const struct sfr_digest *b);
bool sfr_digest_equal_count(const struct sfr_digest *a, const struct sfr_digest *b);

#endif
