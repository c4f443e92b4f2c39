/* scan.h — the single-pass content audit.
 *
 * A chunk digest is order-free (count, wrapping sum of row hashes), so a side
 * does not have to deliver a range in key order, nor a range at a time:
 * one sequential pass per side hashes every row into its bucket, found by
 * binary search (byte order, in the client) among split keys sampled from
 * the mirror. Only the buckets whose digests differ are read again, all of
 * them in one more filtered pass per side, and compared key by key. This
 * needs no index beyond the one Heroku Connect creates (a unique index on
 * sfid in the database's default collation, which cannot serve byte-order
 * range scans). */
#ifndef SFRECON_SCAN_H
#define SFRECON_SCAN_H

#include "sfrecon/check.h"

/* Compares one object in single passes when o->single_pass asks for it (1),
 * or allows it (0) and a side's range streams are not index-served. Returns
 * SFR_ENOTFOUND, having changed nothing, when the chunked path should run
 * instead (count depth, incremental runs, both sides indexed, a mirror that
 * cannot sample keys). Otherwise as sfr_check_object(). */
enum sfr_rc sfr_scan_object(const struct sfr_check_object *co, const struct sfr_check_opts *o,
                            sfr_side_factory factory, void *factory_ctx, struct sfr_disc_list *out,
                            struct sfr_check_stats *stats, struct sfr_err *err) SFR_WUR;

/* Compares the ranges r[0..n) (sorted, disjoint; rows[i] the larger side's
 * rows expected in each) in as few passes per side as memory allows
 * (groups of about 4 x chunk_size rows; the mirror reads a group in one
 * filtered sequential pass), classifying what differs into out. For a
 * side whose ranges cost a table scan. */
enum sfr_rc sfr_scan_compare_ranges(const struct sfr_check_object *co,
                                    const struct sfr_check_opts *o, struct sfr_side *sf,
                                    struct sfr_side *pg, const struct sfr_range *r,
                                    const long *rows, size_t n, struct sfr_disc_list *out,
                                    struct sfr_check_stats *st, struct sfr_err *err) SFR_WUR;

/* Split keys from a sample of the mirror's keys (else the other side's):
 * sorted, distinct, about one per `rows` rows (at least 500, and at most
 * 16384 keys whatever the table's size). Caller frees keys. */
enum sfr_rc sfr_scan_split_keys(struct sfr_side *sf, struct sfr_side *pg,
                                const struct sfr_projection *p, long rows, struct sfr_strv *keys,
                                struct sfr_err *err) SFR_WUR;

/* The cores this process may run on (its CPU affinity), 1..64: the default
 * number of jobs. */
int sfr_check_cores_available(void);

/* Index of the bucket holding key among n sorted split keys: bucket 0 is
 * (-inf, keys[0]), bucket i is [keys[i-1], keys[i]), bucket n is
 * [keys[n-1], +inf). Byte order. Exposed for unit tests. */
size_t sfr_scan_bucket_of(const char *const *keys, size_t n, const char *key);

#endif
