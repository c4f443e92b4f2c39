/* side.h — one interface to both ends of a comparison.
 *
 * The checker, the classifier, repair and sync reach Salesforce and the mirror
 * only through struct sfr_side, so each algorithm is written once. Backends:
 * Salesforce REST/Bulk (sf_side.c), a Postgres mirror (pg_side.c; also serves
 * `audit --source postgresql://...`) and an in-memory side for unit tests.
 *
 * Keys are 18-character sfids compared in byte order ("C" collation). A range
 * is [lo, hi): lo inclusive, hi exclusive; NULL means unbounded. Every row a
 * side yields is in ascending byte order of sfid within the range.
 *
 * Values handed out by a side are raw text in that side's representation
 * (side->src says which: SFR_SRC_SF = Salesforce JSON/CSV text, SFR_SRC_PG =
 * Postgres text output); NULL is null. Canonicalise with canon.h before
 * comparing. Values handed in for writing are in Salesforce text form
 * (sfr_value_to_sf converts from the Postgres form). */
#ifndef SFRECON_SIDE_H
#define SFRECON_SIDE_H

#include <stdbool.h>
#include <stdint.h>
#include "sfrecon/canon.h"
#include "sfrecon/digest.h"
#include "sfrecon/err.h"
#include "sfrecon/mem.h"
#include "sfrecon/schema.h"

enum sfr_depth { SFR_DEPTH_COUNT, SFR_DEPTH_CONTENT };

/* What is compared of an object: fields[0] is Id; the row hash covers all
 * fields in this order (Id and SystemModstamp included). Borrowed pointers
 * into the schema; lives as long as the schema. */
struct sfr_projection {
    const struct sfr_object *obj;
    const struct sfr_field **fields;
    int n_fields;
    int idx_modstamp;   /* index of SystemModstamp in fields, -1 if absent */
    int idx_isdeleted;  /* index of IsDeleted, -1 if absent */
    const char *schema; /* Postgres mirror schema (pg side) */
    /* The mapped relationship external Ids (Account__External_Id__c): no
     * Salesforce fields, so neither compared nor hashed; the Postgres side
     * reads their mirror columns into sfr_record.rel_values, and writes to
     * Salesforce set a lookup through them (sfr_relext_refs). Owned; each
     * name is borrowed from the field list given to sfr_projection_init. */
    struct sfr_relext *relext;
    int n_relext;
};

struct sfr_range {
    const char *lo; /* inclusive, NULL = -inf */
    const char *hi; /* exclusive, NULL = +inf */
};

/* One row of a streamed range. sfid may be shorter than 18 on a broken
 * mirror; it is NUL-terminated and at most 63 bytes. */
struct sfr_row_summary {
    char sfid[64];
    uint64_t hash;
    int64_t mod_ms; /* SystemModstamp, INT64_MIN when null */
};
/* Returns 0 to go on, non-zero to stop the stream (the op then returns SFR_OK). */
typedef int (*sfr_row_cb)(void *ctx, const struct sfr_row_summary *row);

/* A full record: values[i] belongs to proj->fields[i]. */
struct sfr_record {
    char *sfid;
    char **values; /* n_values entries, NULL = null; owned */
    int n_values;
    int64_t mod_ms;
    /* Postgres side only (NULL / 0 elsewhere): */
    long pg_id;    /* the row's id column */
    int dup_count; /* rows holding this sfid (>1 = duplicate) */
    char *hc_lastop;
    char *hc_err;
    /* sf_message ("" when none) when the row's latest _trigger_log /
     * _trigger_log_archive entry is FAILED; NULL otherwise (an old FAILED
     * followed by a SUCCESS is history, not an error) */
    char *trigger_failed;
    int64_t queued_ms; /* created_at of its earliest NEW/PENDING log entry, INT64_MIN none */
    bool has_status;   /* the table has _hc_lastop (sync status known) */
    bool has_tlog;     /* the table's schema has a _trigger_log */
    /* Postgres side: the mirror's text of each projection relext (NULL =
     * null, or the table lacks the column); NULL elsewhere. Owned. */
    char **rel_values;
    int n_rel;
};
void sfr_record_cleanup(struct sfr_record *r);
/* Returns 0 to go on. The record is borrowed: it dies when the callback returns. */
typedef int (*sfr_record_cb)(void *ctx, const struct sfr_record *rec);

enum sfr_write_kind { SFR_WRITE_UPSERT, SFR_WRITE_INSERT, SFR_WRITE_UPDATE, SFR_WRITE_DELETE };

/* One record to write. values[i] belongs to proj->fields[i]; `set[i]` says
 * whether field i is written (unset fields keep their value). Values are in
 * Salesforce text form. Results are filled in by the side. */
struct sfr_write {
    enum sfr_write_kind kind;
    const char *sfid; /* NULL for an insert into Salesforce */
    const char *const *values;
    const bool *set;
    /* Salesforce: nested references set by the parent's external Id, a JSON
     * object merged into the record (sfr_relext_refs); NULL = none. */
    const char *refs;
    /* results */
    bool ok;
    char new_id[19];     /* id of a created Salesforce record */
    char error_code[64]; /* STRING_TOO_LONG, 23505 (SQLSTATE), ... */
    char message[512];
};

struct sfr_side_stats {
    long api_calls; /* Salesforce API calls (0 on Postgres) */
    long queries;   /* SQL statements or SOQL queries */
    long rows_read;
    long rows_written;
};

struct sfr_side;

struct sfr_side_ops {
    const char *name; /* "salesforce", "postgres", "memory" */
    /* Digest of a range. COUNT depth: count + max(SystemModstamp) computed by
     * the server (no records move). CONTENT depth: count + sum of row hashes. */
    enum sfr_rc (*digest)(struct sfr_side *s, const struct sfr_projection *p,
                          const struct sfr_range *r, enum sfr_depth depth, struct sfr_digest *out,
                          struct sfr_err *err);
    /* Streams (sfid, row hash, modstamp) of a range in byte order of sfid.
     * expected_rows is a hint (e.g. to choose Bulk over REST), -1 = unknown. */
    enum sfr_rc (*stream)(struct sfr_side *s, const struct sfr_projection *p,
                          const struct sfr_range *r, long expected_rows, sfr_row_cb cb, void *ctx,
                          struct sfr_err *err);
    /* Full records for the given ids (any order out; absent ids are skipped).
     * Salesforce: includes deleted records (queryAll) with IsDeleted = true. */
    enum sfr_rc (*fetch)(struct sfr_side *s, const struct sfr_projection *p, const char *const *ids,
                         int n_ids, sfr_record_cb cb, void *ctx, struct sfr_err *err);
    /* Up to max keys splitting the object into chunks of about `every` rows,
     * ascending; the first chunk is (-inf, keys[0]), the last [keys[n-1], +inf).
     * Sides that cannot sample cheaply return SFR_ENOTFOUND. */
    enum sfr_rc (*boundaries)(struct sfr_side *s, const struct sfr_projection *p, long every,
                              struct sfr_strv *keys, long *total_rows, struct sfr_err *err);
    /* Writes records; per-record results in w[i]. Returns an error only when
     * the whole batch failed (connection, auth, limit): per-record failures
     * are results. `journal_run` > 0 asks the Postgres side to journal old
     * rows in sfrecon.repair_journal in the same transaction. */
    enum sfr_rc (*write)(struct sfr_side *s, const struct sfr_projection *p, struct sfr_write *w,
                         int n, int64_t journal_run, struct sfr_err *err);
    void (*free)(struct sfr_side *s);
    /* Optional ops for the single-pass audit (scan.c); NULL means the
     * fallback named in the wrapper below. */
    /* Streams every live row of the object once, in any order. */
    enum sfr_rc (*scan)(struct sfr_side *s, const struct sfr_projection *p, sfr_row_cb cb,
                        void *ctx, struct sfr_err *err);
    /* Streams the rows of n sorted, disjoint ranges, in any order, in as few
     * passes as the side can manage (the mirror without a byte-order index:
     * one sequential pass; Salesforce: a query per group of ranges).
     * expected_rows: a hint for all ranges together, -1 = unknown. */
    enum sfr_rc (*stream_ranges)(struct sfr_side *s, const struct sfr_projection *p,
                                 const struct sfr_range *r, int n, long expected_rows,
                                 sfr_row_cb cb, void *ctx, struct sfr_err *err);
    /* Keys drawn at random from the live rows, about one per `every` rows
     * but at most about max_keys (any order, may repeat), and an estimate of
     * the live rows. SFR_ENOTFOUND when the side cannot sample. */
    enum sfr_rc (*sample_keys)(struct sfr_side *s, const struct sfr_projection *p, long every,
                               long max_keys, struct sfr_strv *keys, long *total_est,
                               struct sfr_err *err);
    /* True when a range stream is served by an index in byte order, so a
     * range costs in proportion to its rows, not to the table. */
    bool (*ranges_indexed)(struct sfr_side *s, const struct sfr_projection *p, struct sfr_err *err);
    /* Keys that more than one live row holds (the mirror without a unique
     * index on sfid). A sequential pass cannot see them when both sides
     * hold the same copies, a merge of sorted streams does. */
    enum sfr_rc (*duplicate_keys)(struct sfr_side *s, const struct sfr_projection *p,
                                  struct sfr_strv *keys, struct sfr_err *err);
    /* Keys of the records whose SystemModstamp is after since_ms, deleted
     * records included, at most max of them (*more set when there are
     * more; max < 0: all), any order. Incremental audits and --since. */
    enum sfr_rc (*changed_keys)(struct sfr_side *s, const struct sfr_projection *p,
                                int64_t since_ms, long max, struct sfr_strv *keys, bool *more,
                                struct sfr_err *err);
    /* As boundaries, from the keys and modstamps alone (no row is hashed),
     * with the count depth digest of each part between them: *parts gets
     * keys->n + 1 digests (caller frees). Count depth bisection on a mirror
     * whose ranges cost a table scan. */
    enum sfr_rc (*key_digests)(struct sfr_side *s, const struct sfr_projection *p, long every,
                               struct sfr_strv *keys, struct sfr_digest **parts,
                               struct sfr_err *err);
};

struct sfr_side {
    const struct sfr_side_ops *ops;
    enum sfr_canon_src src;
    struct sfr_side_stats stats;
};

/* Convenience wrappers (NULL-safe free). */
enum sfr_rc sfr_side_digest(struct sfr_side *s, const struct sfr_projection *p,
                            const struct sfr_range *r, enum sfr_depth depth, struct sfr_digest *out,
                            struct sfr_err *err) SFR_WUR;
enum sfr_rc sfr_side_stream(struct sfr_side *s, const struct sfr_projection *p,
                            const struct sfr_range *r, long expected_rows, sfr_row_cb cb, void *ctx,
                            struct sfr_err *err) SFR_WUR;
enum sfr_rc sfr_side_fetch(struct sfr_side *s, const struct sfr_projection *p,
                           const char *const *ids, int n_ids, sfr_record_cb cb, void *ctx,
                           struct sfr_err *err) SFR_WUR;
void sfr_side_free(struct sfr_side *s);
/* Fallback: stream of the whole key range. */
enum sfr_rc sfr_side_scan(struct sfr_side *s, const struct sfr_projection *p, sfr_row_cb cb,
                          void *ctx, struct sfr_err *err) SFR_WUR;
/* Fallback: one stream per range. */
enum sfr_rc sfr_side_stream_ranges(struct sfr_side *s, const struct sfr_projection *p,
                                   const struct sfr_range *r, int n, long expected_rows,
                                   sfr_row_cb cb, void *ctx, struct sfr_err *err) SFR_WUR;
/* Fallback: SFR_ENOTFOUND. */
enum sfr_rc sfr_side_sample_keys(struct sfr_side *s, const struct sfr_projection *p, long every,
                                 long max_keys, struct sfr_strv *keys, long *total_est,
                                 struct sfr_err *err) SFR_WUR;
/* Fallback: none. */
/* SFR_ENOTFOUND when the side cannot list the keys changed since a time. */
enum sfr_rc sfr_side_changed_keys(struct sfr_side *s, const struct sfr_projection *p,
                                  int64_t since_ms, long max, struct sfr_strv *keys, bool *more,
                                  struct sfr_err *err) SFR_WUR;
enum sfr_rc sfr_side_duplicate_keys(struct sfr_side *s, const struct sfr_projection *p,
                                    struct sfr_strv *keys, struct sfr_err *err) SFR_WUR;
/* Fallback: true. */
bool sfr_side_ranges_indexed(struct sfr_side *s, const struct sfr_projection *p,
                             struct sfr_err *err);

/* Builds a projection of obj over the mapped field names (Id and
 * SystemModstamp are always included, first and as mapped). Fields missing
 * from the describe are skipped and listed in *missing when not NULL.
 * Caller frees with sfr_projection_cleanup. */
void sfr_projection_init(struct sfr_projection *p, const struct sfr_object *obj,
                         const char *const *fields, int n_fields, const char *schema,
                         struct sfr_strv *missing);
void sfr_projection_cleanup(struct sfr_projection *p);

/* Hashes a row of raw values (n = p->n_fields) with the projection's fields. */
uint64_t sfr_projection_hash(const struct sfr_projection *p, struct sfr_rowhash *h,
                             enum sfr_canon_src src, const char *const *values, const size_t *lens);

/* Converts a Postgres text value to Salesforce text form for field f (caller frees). */
char *sfr_value_to_sf(const struct sfr_field *f, const char *pg_value);

/* In-memory side for unit tests: rows are added with raw values in `src` form. */
struct sfr_side *sfr_memside_new(enum sfr_canon_src src);
void sfr_memside_put(struct sfr_side *s, const struct sfr_projection *p, const char *const *values);
void sfr_memside_remove(struct sfr_side *s, const char *sfid);

#endif
