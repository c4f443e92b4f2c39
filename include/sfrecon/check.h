/* check.h — the checker and the discrepancy model (docs/causes.md).
 *
 * sfr_check_object() compares one mapped object between a Salesforce side and
 * a Postgres side: aligned key-range chunks, digests at count or content
 * depth, bisection of mismatched ranges, record-by-record comparison, then
 * full records fetched only for the keys that differ, which the classifier
 * turns into discrepancies with a cause. Memory is bounded by chunk size x
 * jobs. Sides are single-threaded: with jobs > 1 the caller's factory makes
 * one pair of sides per job. */
#ifndef SFRECON_CHECK_H
#define SFRECON_CHECK_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include "sfrecon/config.h"
#include "sfrecon/err.h"
#include "sfrecon/side.h"

enum sfr_cause {
    SFR_CAUSE_MISSING_IN_PG,
    SFR_CAUSE_MISSING_IN_SF,
    SFR_CAUSE_MISSING_PARENT,
    SFR_CAUSE_TRUNCATION,
    SFR_CAUSE_TYPE_MISMATCH,
    SFR_CAUSE_STALE,
    SFR_CAUSE_CONFLICT,
    SFR_CAUSE_SYNC_ERROR,
    SFR_CAUSE_DUPLICATE,
    SFR_CAUSE_FIELD_MISMATCH,
    SFR_CAUSE_FORMULA_STALE, /* a calculated field differs while the modstamps agree */
    SFR_CAUSE_N
};
const char *sfr_cause_name(enum sfr_cause c); /* "missing_in_pg" ... */
bool sfr_cause_parse(const char *name, enum sfr_cause *out);

struct sfr_field_diff {
    char *field;    /* API name */
    char *sf_value; /* raw Salesforce text, NULL = null */
    char *pg_value; /* raw Postgres text, NULL = null */
};

struct sfr_discrepancy {
    char *object;
    char *sfid;
    enum sfr_cause cause;
    struct sfr_field_diff *fields;
    int n_fields;
    char *detail;        /* one line */
    char *parent_object; /* missing_parent only */
    char *parent_sfid;
    long pg_id;        /* 0 when no Postgres row */
    int64_t sf_mod_ms; /* INT64_MIN when unknown */
    int64_t pg_mod_ms;
    long open_since; /* run since which it has been found without a break; 0 = new */
};
void sfr_discrepancy_cleanup(struct sfr_discrepancy *d);
void sfr_discrepancy_add_field(struct sfr_discrepancy *d, const char *field, const char *sf_value,
                               const char *pg_value);

/* Discrepancies in the order found. A list made spillable keeps at most
 * SFR_DISC_SPILL of them in memory (v[0..n)): older ones go to a temporary
 * file (n_spilled of them, before v), so an audit that finds a million
 * holds a few thousand. Walk a list with sfr_disc_iter, which reads the
 * spilled ones back one at a time; v[] alone is the whole list only when
 * n_spilled is 0. */
#define SFR_DISC_SPILL 16384
struct sfr_disc_list {
    struct sfr_discrepancy *v;
    size_t n, cap;
    bool spillable;
    void *spill; /* FILE *, NULL until the first spill */
    size_t n_spilled;
    long by_cause[SFR_CAUSE_N]; /* of every discrepancy pushed */
};
/* Appends *d (ownership moves to the list; d is zeroed). */
void sfr_disc_list_push(struct sfr_disc_list *l, struct sfr_discrepancy *d);
void sfr_disc_list_cleanup(struct sfr_disc_list *l);
/* All discrepancies, spilled ones included. */
size_t sfr_disc_list_count(const struct sfr_disc_list *l);

/* Walks a list in order from the from-th discrepancy (0 = all). The
 * discrepancy handed out lives until the next call. */
struct sfr_disc_iter {
    const struct sfr_disc_list *l;
    size_t at;                  /* index of the next one */
    struct sfr_discrepancy cur; /* a spilled one read back */
    bool err;                   /* the spill file could not be read back */
};
void sfr_disc_iter_begin(struct sfr_disc_iter *it, const struct sfr_disc_list *l, size_t from);
const struct sfr_discrepancy *sfr_disc_iter_next(struct sfr_disc_iter *it);
void sfr_disc_iter_end(struct sfr_disc_iter *it);
/* A deep copy of *src. */
void sfr_discrepancy_copy(struct sfr_discrepancy *dst, const struct sfr_discrepancy *src);
/* A copy of the whole list held in memory (for the consumers that need
 * every discrepancy at once: repair plans, the HTML report's groups).
 * False when spilled ones could not be read back (the copy has the rest). */
bool sfr_disc_list_materialize(const struct sfr_disc_list *l, struct sfr_disc_list *out);

/* The one conflict rule of the audit and the sync daemon, for a read_write
 * mirror row. pending: the row's _hc_lastop is PENDING (an app's write not
 * synced yet). queued_ms: created_at of the row's earliest NEW or PENDING
 * trigger-log entry, INT64_MIN when none is queued (or there is no log).
 * Salesforce changed the record since the mirror's version when
 * sf_mod_ms > pg_mod_ms (pg_mod_ms INT64_MIN = not known: taken as changed).
 *  - SFR_CONFLICT_NONE: not pending, or Salesforce unchanged since the
 *    mirror's version. sfrecon's own pushes end here: a processed push
 *    leaves the row SYNCED, or PENDING only for a later queued write;
 *  - SFR_CONFLICT_SF_OLDER: Salesforce's change predates the queued write
 *    (typically the echo of an earlier push): the push carries the write;
 *  - SFR_CONFLICT_BOTH: Salesforce changed at or after the queued write (or,
 *    nothing queued, after the mirror's version): both sides changed and the
 *    repair policy decides.
 * Clocks: queued_ms is the database's, sf_mod_ms Salesforce's. */
enum sfr_conflict { SFR_CONFLICT_NONE, SFR_CONFLICT_SF_OLDER, SFR_CONFLICT_BOTH };
enum sfr_conflict sfr_conflict_judge(bool pending, int64_t queued_ms, int64_t sf_mod_ms,
                                     int64_t pg_mod_ms);

/* Receives one discrepancy and takes over its contents (*d is zeroed).
 * Returns SFR_OK to go on; anything else stops the producer with that code. */
typedef enum sfr_rc (*sfr_disc_sink)(void *ctx, struct sfr_discrepancy *d);
/* A sink that appends to a struct sfr_disc_list (ctx). */
enum sfr_rc sfr_disc_list_sink(void *ctx, struct sfr_discrepancy *d);

/* Makes a fresh pair of sides for one job thread (caller frees both). */
typedef enum sfr_rc (*sfr_side_factory)(void *ctx, struct sfr_side **sf, struct sfr_side **pg,
                                        struct sfr_err *err);

/* Per-chunk state of both sides, stored for incremental audits. lo/hi as in
 * struct sfr_range (NULL = unbounded). */
struct sfr_chunk_state {
    char *lo, *hi;
    long sf_count, pg_count;
    int64_t sf_max_ms, pg_max_ms; /* INT64_MIN when empty */
    /* false when the chunk held a discrepancy or a record in flight, or was
     * not compared whole: an incremental run compares it again */
    bool clean;
    bool has_sum;    /* pg_sum is known (content depth) */
    uint64_t pg_sum; /* the mirror side's content digest: sum of row hashes */
};
struct sfr_chunk_list {
    struct sfr_chunk_state *v;
    size_t n, cap;
};
/* Appends a state (clean, without a content sum) and returns it, so the
 * caller can set the rest. */
struct sfr_chunk_state *sfr_chunk_list_push(struct sfr_chunk_list *l, const char *lo,
                                            const char *hi, long sf_count, long pg_count,
                                            int64_t sf_max_ms, int64_t pg_max_ms);
/* Appends a copy of *s. */
void sfr_chunk_list_copy(struct sfr_chunk_list *l, const struct sfr_chunk_state *s);
/* Sorts the states by lo (NULL first) and returns the one holding key, or NULL. */
void sfr_chunk_list_sort(struct sfr_chunk_list *l);
struct sfr_chunk_state *sfr_chunk_list_find(struct sfr_chunk_list *l, const char *key);
void sfr_chunk_list_cleanup(struct sfr_chunk_list *l);

struct sfr_check_opts {
    enum sfr_depth depth;
    long chunk_size;       /* rows per chunk */
    int bisect_factor;     /* B */
    long bisect_threshold; /* ranges at or below this are compared row by row */
    int jobs;
    /* Records modified at or after this (Salesforce's clock) changed while
     * the audit ran: they are fetched and compared again at the end of the
     * object, up to recheck_tries times, recheck_wait_ms apart (doubling);
     * one still moving after that is listed in stats->in_flight. */
    int64_t audit_start_ms;
    int recheck_tries;
    long recheck_wait_ms;
    /* incremental: the chunk states of the last run (NULL = full audit) and
     * the Salesforce-clock time from which that run saw every change
     * (INT64_MIN = unknown: chunks are compared whole). Chunks that were
     * not clean, whose mirror content moved, or that lost a record without
     * a trace are compared whole; in the others only the records Salesforce
     * changed since the watermark are compared. */
    const struct sfr_chunk_list *prev;
    int64_t watermark_ms;
    /* the keys of the discrepancies the run that left those states found
     * (sorted; NULL = unknown): a chunk that held only these is compared
     * key by key, not whole */
    const struct sfr_strv *prev_keys;
    const struct sfr_strv *prev_absent_sf; /* of those, missing_in_sf (sorted) */
    bool progress;                         /* draw progress on stderr */
    const char *progress_label;            /* "[2/7]" before the object name, or NULL */
    long (*api_calls_fn)(void *ctx);       /* API calls so far, for the progress line */
    void *api_calls_ctx;
    /* set by a signal handler: no new range is started, the check returns
     * SFR_EINTR with the ranges not compared in not_covered (NULL = none) */
    const volatile sig_atomic_t *stop;
    /* Content depth, full audit: 0 = one sequential pass per side when a
     * side's range streams are not served by a byte-order index (scan.h),
     * 1 = always, -1 = never (chunked range streams). */
    int single_pass;
};
void sfr_check_opts_defaults(struct sfr_check_opts *o);

/* Per-object outcome. */
struct sfr_check_stats {
    long rows_sf, rows_pg; /* rows compared */
    long chunks_mismatched, ranges_bisected;
    long keys_differing;
    long rechecked_changed;    /* changed during the audit: compared again at the end */
    struct sfr_strv in_flight; /* sfids still changing after every recheck */
    long incr_keys;            /* incremental: records compared one by one */
    long api_calls;            /* Salesforce API calls made by this object's check */
    int64_t sf_max_mod_ms, pg_max_mod_ms;
    long sf_count, pg_count;
    bool complete;                /* false when stopped early (budget) */
    bool unchanged;               /* incremental: nothing moved since prev */
    struct sfr_chunk_list chunks; /* states to store (caller cleans up) */
    struct sfr_strv not_covered;  /* ranges left when stopped early */
};
void sfr_check_stats_cleanup(struct sfr_check_stats *s);

/* What the classifier needs to know about the mapping. */
struct sfr_check_object {
    const struct sfr_projection *proj;
    const struct sfr_mapping *map; /* may be NULL (read_only assumed) */
    const struct sfr_config *cfg;  /* tolerances; may be NULL */
    /* mirror column lengths per projection field (0 = unknown/unbounded), for truncation */
    const int *column_len;
};

/* Compares one object. Discrepancies are appended to out. On SFR_ELIMIT the
 * discrepancies found so far stay in out and stats->complete is false. */
enum sfr_rc sfr_check_object(const struct sfr_check_object *co, const struct sfr_check_opts *o,
                             sfr_side_factory factory, void *factory_ctx, struct sfr_disc_list *out,
                             struct sfr_check_stats *stats, struct sfr_err *err) SFR_WUR;

/* Compares only the given keys (re-verification after repair): fetches both
 * sides and classifies. */
enum sfr_rc sfr_check_keys(const struct sfr_check_object *co, struct sfr_side *sf,
                           struct sfr_side *pg, const char *const *ids, int n_ids,
                           int64_t audit_start_ms, struct sfr_disc_list *out,
                           struct sfr_err *err) SFR_WUR;

/* Records that changed while the audit ran (a side's modstamp at or after
 * the audit's start), with the modstamps last seen, to compare again. */
struct sfr_moving_key {
    char sfid[64];
    int64_t sf_mod_ms, pg_mod_ms;
};
struct sfr_moving {
    struct sfr_moving_key *v;
    size_t n, cap;
};
void sfr_moving_push(struct sfr_moving *m, const char *sfid, int64_t sf_mod_ms, int64_t pg_mod_ms);
void sfr_moving_cleanup(struct sfr_moving *m);

/* As sfr_check_keys, but the keys that changed while the audit ran are
 * appended to *moving instead of being classified (NULL: they are skipped
 * and only counted in *rechecked). */
enum sfr_rc sfr_check_keys_counted(const struct sfr_check_object *co, struct sfr_side *sf,
                                   struct sfr_side *pg, const char *const *ids, int n_ids,
                                   int64_t audit_start_ms, struct sfr_disc_list *out,
                                   struct sfr_moving *moving, long *rechecked,
                                   struct sfr_err *err) SFR_WUR;

/* Settles the moving keys: when rc is SFR_OK they are compared again, up
 * to o->recheck_tries times. A pair that agrees now is settled; one whose
 * modstamps did not move since the last look is classified as any other;
 * one still moving after the last try is listed in stats->in_flight (never
 * reported as a discrepancy, never taken as clean). Keys a failure or a
 * stop left unchecked go to stats->not_covered. Empties *moving; returns
 * rc, or the rechecks' failure. */
enum sfr_rc sfr_check_settle(const struct sfr_check_object *co, const struct sfr_check_opts *o,
                             struct sfr_side *sf, struct sfr_side *pg, struct sfr_moving *moving,
                             enum sfr_rc rc, struct sfr_disc_list *out,
                             struct sfr_check_stats *stats, struct sfr_err *err) SFR_WUR;

/* Marks the chunk states holding a discrepancy of out[from..] or a record
 * in flight as not clean (sorts stats->chunks). */
void sfr_check_mark_dirty(struct sfr_check_stats *stats, const struct sfr_disc_list *out,
                          size_t from);

/* Compares the given ranges (sorted, disjoint; expect[i] rows expected, or
 * NULL) row by row as the chunked path does, on o->jobs threads; stats
 * receive rows, differing keys, API calls and the chunk states of the
 * pieces the ranges were cut into. */
enum sfr_rc sfr_check_ranges(const struct sfr_check_object *co, const struct sfr_check_opts *o,
                             sfr_side_factory factory, void *factory_ctx,
                             const struct sfr_range *ranges, const long *expect, int n,
                             struct sfr_disc_list *out, struct sfr_check_stats *stats,
                             struct sfr_err *err) SFR_WUR;

/* Classifies one pair of records (either may be NULL = absent). Returns true
 * and fills d when they differ. Exposed for unit tests. */
bool sfr_classify(const struct sfr_check_object *co, const struct sfr_record *sf,
                  const struct sfr_record *pg, struct sfr_discrepancy *d);

#endif
