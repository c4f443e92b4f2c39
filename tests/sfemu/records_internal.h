/* records_internal.h — declarations shared by the record endpoints:
 * records.c (single records, /updated and /deleted), collections.c (sObject
 * Collections), records_validate.c (value checks and conversion) and
 * records_write.c (the write path); internal to those files. */
#ifndef SFEMU_RECORDS_INTERNAL_H
#define SFEMU_RECORDS_INTERNAL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "emu.h"

#define MAX_VALS 512

struct rec_err {
    char code[64];
    char msg[600];
    char fields[512]; /* JSON array body, without brackets */
    bool request_level;
};

#define MAX_REFS 16

/* A lookup set by the parent's external Id: {"Account":{"External_Id__c":"A-1"}}. */
struct rowref {
    int fidx;                  /* the lookup (AccountId) */
    struct emu_object *parent; /* the object searched */
    int pidx;                  /* its external Id field */
    char *val;
};

struct rowvals {
    int n;
    int fidx[MAX_VALS];
    char *val[MAX_VALS];  /* NULL = null */
    json_object *payload; /* field name -> value, for the change event */
    int n_refs;           /* nested references, resolved against the store (records_write.c) */
    struct rowref refs[MAX_REFS];
};

struct wctx {
    PGconn *c;
    int64_t ts;
    char ts_pg[32], ts_iso[32];
    char txkey[40];
    int seq;
    bool wrote;
};

/* One record of a collections request (or of a single-record upsert). */
struct result {
    char id[19];
    bool ok, created, tried;
    struct rec_err e;
    struct emu_object *o;
    struct rowvals rv;
    json_object *rec; /* borrowed from the request body */
};

enum col_op { COL_CREATE, COL_UPDATE, COL_UPSERT };

/* records_validate.c */
void rec_rv_cleanup(struct rowvals *rv);
/* Sets e unless it already holds an error; field (may be NULL) goes to "fields". */
void rec_set_err(struct rec_err *e, const char *code, const char *field, const char *fmt, ...)
    SFR_PRINTF(4, 5);
/* Converts the fields of rec into rv. create: insert rules, else update rules.
 * Returns false with e set. */
bool rec_prepare(struct emu_object *o, json_object *rec, bool create, struct rowvals *rv,
                 struct rec_err *e);

/* records_write.c */
PGresult *rec_q1(PGconn *c, const char *sql, int n, const char *const *p);
void rec_db_err(struct rec_err *e, PGresult *res);
void rec_wctx_init(struct wctx *w, PGconn *c);
bool rec_insert(struct wctx *w, struct emu_object *o, struct rowvals *rv, char id[19],
                struct rec_err *e);
bool rec_update(struct wctx *w, struct emu_object *o, const char *id, struct rowvals *rv,
                struct rec_err *e);
bool rec_delete(struct wctx *w, struct emu_object *o, const char *id, bool check,
                struct rec_err *e);
/* Locks the record; 0 live, 1 deleted, -1 missing, -2 store error (e set). */
int rec_record_state(struct wctx *w, struct emu_object *o, const char *id, struct rec_err *e);
/* Transactions: BEGIN; COMMIT or ROLLBACK (signals event waiters after a
 * committed write); "<what> SAVEPOINT r" with what "", "ROLLBACK TO", "RELEASE". */
bool rec_begin(PGconn *c);
void rec_finish(struct wctx *w, bool commit);
void rec_savepoint(PGconn *c, const char *what);

/* records.c */
/* Parses the request body as JSON; NULL after sending JSON_PARSER_ERROR (*ret). */
json_object *rec_parse_body(struct emu_req *r, enum MHD_Result *ret);
/* 503 SERVER_UNAVAILABLE: no store connection. */
enum MHD_Result rec_store_down(struct emu_req *r);

/* collections.c */
/* Phase 1 for one record: object, Id and field conversion (errors in x->e). */
void col_prepare(json_object *rec, enum col_op op, struct emu_object *uo, struct result *x);
/* Phase 2 for one record, inside the caller's transaction. */
bool col_apply(struct wctx *w, enum col_op op, const struct sfr_field *kf, struct result *x);

#endif
