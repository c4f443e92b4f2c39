/* orggen.h — what the files of the test-data generator share.
 *
 * orggen builds a sample org in sfemu and its Heroku-Connect-layout mirror in
 * Postgres from a seed, then injects faults and writes the ground truth. Every
 * record is a pure function of (seed, object, index): the "plan" (record
 * counts, references between records, child counts) is computed once, and any
 * record's values can be regenerated at any time by gen_record(), so the
 * Salesforce load, the mirror load and the fault injector agree without
 * keeping the org in memory. Ids are <keyPrefix>G0<10 base62 digits of the
 * index>, so they sort like the index and never collide with the ids that
 * sfemu hands out itself (pod S0); rows planted only in the mirror use pod G9. */
#ifndef ORGGEN_H
#define ORGGEN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <libpq-fe.h>

#include "sfrecon/config.h"
#include "sfrecon/err.h"
#include "sfrecon/mem.h"
#include "sfrecon/schema.h"

/* Roles give the sample org's objects their shape; other objects are plain. */
enum gen_role {
    ROLE_OTHER,
    ROLE_ACCOUNT,
    ROLE_CONTACT,
    ROLE_OPPORTUNITY,
    ROLE_CASE,
    ROLE_LEAD,
    ROLE_INVOICE,
    ROLE_LINE,
};

/* Parent classes: SOLO parents have exactly one child, EMPTY ones none. */
enum gen_class { CLASS_GENERAL = 0, CLASS_SOLO = 1, CLASS_EMPTY = 2 };

/* Where a field's value comes from. */
enum gen_src {
    SRC_SKIP, /* not sent anywhere (calculated, compound, unknown parent) */
    SRC_ID,
    SRC_ISDELETED,
    SRC_CREATED,  /* CreatedDate */
    SRC_MODIFIED, /* LastModifiedDate, SystemModstamp */
    SRC_USER,     /* reference to User: the integration user */
    SRC_REF,      /* reference to a generated object: refs[] */
    SRC_VALUE,    /* generated from the record's PRNG */
};

struct gen_obj {
    const struct sfr_object *obj;  /* describe (borrowed from gen.schema) */
    const struct sfr_mapping *map; /* NULL when not mapped */
    enum gen_role role;
    long n;            /* records */
    long seq_base;     /* records of earlier objects (timestamps) */
    uint64_t salt;     /* per-object PRNG salt */
    enum gen_src *src; /* per describe field */
    int32_t **refs;    /* per describe field: parent index per record (-1 null), or NULL */
    int *ref_obj;      /* per describe field: index into gen.objs of the parent, -1 */
    int32_t *children; /* per record: references to it from generated records */
    uint8_t *klass;    /* per record: enum gen_class (parents with a shape only) */
    bool *in_mirror;   /* per describe field: mapped (a mirror column) */
    bool *in_sf;       /* per describe field: sent in the load CSV */
};

struct gen {
    uint64_t seed;
    long size;
    struct sfr_config *cfg;
    struct sfr_schema schema;
    const char *pg_schema;
    char user_id[19]; /* the integration user, "" when unknown */
    struct gen_obj *objs;
    int n_objs; /* in load order: parents first */
    long total; /* records over all objects */
};

/* One generated record: values per describe field in Salesforce text form
 * (datetime 2024-01-01T00:00:00.000Z, booleans true/false), NULL = null.
 * The strings live in `arena` and die at the next gen_record() call. */
struct gen_rec {
    const char **val;
    int n;
    struct sfr_buf arena;
    size_t *off; /* offsets into arena, SIZE_MAX = null */
};

/* ---- PRNG (model.c) ---- */
uint64_t gen_mix(uint64_t x);              /* splitmix64 finaliser */
uint64_t gen_next(uint64_t *state);        /* splitmix64 step */
long gen_below(uint64_t *state, long n);   /* uniform in [0, n), n > 0 */
bool gen_chance(uint64_t *state, int pct); /* true with pct % probability */

/* ---- model.c ---- */
/* Builds the plan for the mapped objects of cfg (restricted to `only` when
 * not NULL/empty). Errors name the object. */
enum sfr_rc gen_plan(struct gen *g, const struct sfr_strv *only, struct sfr_err *err) SFR_WUR;
void gen_cleanup(struct gen *g);
int gen_obj_index(const struct gen *g, const char *name); /* -1 when not generated */
/* Id of record i (18 chars + NUL); pod "G0" for generated records. */
void gen_id(const struct gen_obj *o, const char pod[2], long i, char out[19]);
/* Parses an id of ours back to (object, index); false for foreign ids. */
bool gen_parse_id(const struct gen *g, const char *id, int *obj, long *idx);
void gen_rec_init(struct gen_rec *r);
void gen_rec_cleanup(struct gen_rec *r);
/* Generates record i of object o (i may exceed o->n for spare records used by
 * faults: their references are null). */
void gen_record(const struct gen *g, const struct gen_obj *o, long i, struct gen_rec *r);
/* Datetime helpers: ms since epoch <-> "YYYY-MM-DDTHH:MM:SS.mmmZ" / pg text. */
void gen_fmt_sf_ts(int64_t ms, char out[32]);
void gen_fmt_pg_ts(int64_t ms, char out[32]);
bool gen_parse_ts(const char *s, int64_t *ms);

/* ---- sfload.c: sfemu over HTTP ---- */
struct gen_http;
enum sfr_rc gen_http_new(const char *base_url, struct gen_http **out, struct sfr_err *err) SFR_WUR;
void gen_http_free(struct gen_http *h);
/* Password-flow token (admin@example.com / password); fills g->user_id. */
enum sfr_rc gen_http_login(struct gen_http *h, struct gen *g, struct sfr_err *err) SFR_WUR;
/* Streams every generated object into POST /__emu/load/{Object}. */
enum sfr_rc gen_sf_load(struct gen_http *h, const struct gen *g, struct sfr_err *err) SFR_WUR;
/* REST: create (returns the new Id in id_out), update, delete one record.
 * json is the record body. */
enum sfr_rc gen_sf_create(struct gen_http *h, const char *object, const char *json, char id_out[19],
                          struct sfr_err *err) SFR_WUR;
enum sfr_rc gen_sf_update(struct gen_http *h, const char *object, const char *id, const char *json,
                          struct sfr_err *err) SFR_WUR;
enum sfr_rc gen_sf_delete(struct gen_http *h, const char *object, const char *id,
                          struct sfr_err *err) SFR_WUR;

/* ---- pgload.c: the mirror ---- */
/* Creates the mirror with the DDL of sfr_pg_mirror_ddl() (dropping an
 * existing schema first only when replace) and marks each object's fields
 * that got a column (gen_obj.in_mirror). */
enum sfr_rc gen_pg_create(PGconn *c, struct gen *g, bool triggers, bool replace,
                          struct sfr_err *err) SFR_WUR;
/* COPYs every generated object into its mirror table (xmlbinary = 'hex'). */
enum sfr_rc gen_pg_load(PGconn *c, const struct gen *g, struct sfr_err *err) SFR_WUR;
/* Mirror text of a Salesforce-form value for field f (datetime -> pg form,
 * boolean -> t/f); NULL stays NULL. Returns a pointer into buf or to val. */
const char *gen_pg_value(const struct sfr_field *f, const char *val, char buf[32]);
/* Runs sql with text parameters; fills err with context on failure. */
enum sfr_rc gen_pg_run(PGconn *c, const char *sql, int n, const char *const *params,
                       struct sfr_err *err) SFR_WUR;
/* "schema"."table" of object o (caller frees). */
char *gen_pg_table(PGconn *c, const struct gen *g, const struct gen_obj *o);

/* ---- faults.c ---- */
enum { FAULT_N = 10 };
extern const char *const gen_fault_names[FAULT_N];
/* Parses "cause=N,..." or "all=N" into counts[FAULT_N]. */
enum sfr_rc gen_faults_parse(const char *spec, int counts[FAULT_N], struct sfr_err *err) SFR_WUR;
/* Chooses, injects and writes the manifest (header only when no faults). */
enum sfr_rc gen_faults_run(struct gen *g, PGconn *c, struct gen_http *h, const int counts[FAULT_N],
                           const char *manifest, struct sfr_err *err) SFR_WUR;

#endif
