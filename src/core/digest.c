/* digest.c — chunk digests: (count, wrapping sum of row hashes, max modstamp).
 * Addition modulo 2^64 is commutative and associative, so digests of
 * sub-ranges combine in any order into the digest of the whole range. */
#define XXH_INLINE_ALL
#include "sfrecon/digest.h"

#include <xxhash.h>

uint64_t sfr_hash_bytes(const void *p, size_t n)
{
    return XXH3_64bits(p, n);
}

void sfr_digest_init(struct sfr_digest *d)
{
    d->count = 0;
    d->sum = 0;
    d->max_mod_ms = INT64_MIN;
}

void sfr_digest_add_row(struct sfr_digest *d, uint64_t row_hash, int64_t mod_ms)
{
    d->count++;
    d->sum += row_hash;
    if (mod_ms > d->max_mod_ms)
        d->max_mod_ms = mod_ms;
}

void sfr_digest_combine(struct sfr_digest *into, const struct sfr_digest *part)
{
    into->count += part->count;
    into->sum += part->sum;
    if (part->max_mod_ms > into->max_mod_ms)
        into->max_mod_ms = part->max_mod_ms;
}

bool sfr_digest_equal_content(const struct sfr_digest *a, const struct sfr_digest *b)
{
    return a->count == b->count && a->sum == b->sum;
}

bool sfr_digest_equal_count(const struct sfr_digest *a, const struct sfr_digest *b)
{
    return a->count == b->count && a->max_mod_ms == b->max_mod_ms;
}
