/* run.h — what every command that reaches both sides needs: the mapping, the
 * describe of the mapped objects, one projection per mapping, connections
 * from the environment and a side factory for job threads (used by the
 * audit engine, repair and sync). Lives in src/audit/context.c; the audit
 * itself is audit.h. */
#ifndef SFRECON_RUN_H
#define SFRECON_RUN_H

#include <libpq-fe.h>
#include "sfrecon/check.h"
#include "sfrecon/config.h"
#include "sfrecon/report.h"
#include "sfrecon/schema.h"
#include "sfrecon/sf.h"

struct sfr_run_opts {
    const char *config_path; /* -c (required) */
    const char *schema;      /* --schema override, NULL = from config */
    const char *describe;    /* --describe DIR|FILE, NULL = env SFRECON_DESCRIBE or Salesforce */
    const char *source_url;  /* --source postgresql://... instead of Salesforce, NULL = SF */
    long max_api_calls;      /* per-run budget, 0 = config's or none */
};

struct sfr_run_ctx {
    struct sfr_config *cfg;
    struct sfr_schema schema;
    struct sfr_projection *proj; /* per mapping, same index as cfg->mappings */
    int **col_len;               /* per mapping: mirror column length per projection field */
    int n;
    char *db_url;
    char *source_url;
    struct sfr_sf *sf; /* NULL with a Postgres source */
    PGconn *conn;      /* the mirror; sfrecon schema migrated */
    long budget_max;   /* absolute API-call cap of the run (0 = none) */
};

/* Opens everything; errors: SFR_ECONFIG (mapping, describe, missing env),
 * SFR_EPG / SFR_EAUTH / SFR_EHTTP (connections). Caller frees. */
enum sfr_rc sfr_run_ctx_open(const struct sfr_run_opts *o, struct sfr_run_ctx **out,
                             struct sfr_err *err) SFR_WUR;
void sfr_run_ctx_free(struct sfr_run_ctx *ctx);
/* Index of the mapping for object (case-insensitive), -1 if not mapped. */
int sfr_run_ctx_index(const struct sfr_run_ctx *ctx, const char *object);
/* Fills a struct sfr_check_object for mapping i. */
void sfr_run_ctx_check_object(const struct sfr_run_ctx *ctx, int i, struct sfr_check_object *co);
/* A fresh pair of sides (Salesforce or source Postgres, and the mirror). */
enum sfr_rc sfr_run_ctx_sides(struct sfr_run_ctx *ctx, struct sfr_side **sf, struct sfr_side **pg,
                              struct sfr_err *err) SFR_WUR;

#endif
