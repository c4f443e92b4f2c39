/* config.h — the mapping file: a Heroku Connect export as is, plus sfrecon's
 * optional "sfrecon" object. Unknown keys are kept (the parsed document is
 * held in `doc`). Errors read "FILE:LINE: key.path: problem", e.g.
 *   map.json:14: mappings[2].config.access: expected "read_only" or "read_write"
 *
 * sfrecon object (all optional):
 *   "schema": "salesforce"           mirror schema name
 *   "chunk_size": 50000              rows per audit chunk
 *   "bisect_factor": 16, "bisect_threshold": 2000
 *   "jobs": N                        default 0: the cores available
 *   "repair_policy": "sf_wins"|"newest_wins"|"pg_wins"
 *   "max_api_calls": 0               per-run budget, 0 = none
 *   "bulk_threshold": 10000          rows above which Bulk API 2.0 is used
 *   "archive_days": 31               sync: days _trigger_log_archive rows are kept
 *   "tolerances": {"Account.AnnualRevenue": 0.01, ...}  absolute numeric tolerance
 *   "objects": {"Account": {"repair_policy": "...", "skip_fields": ["Description"]}}
 */
#ifndef SFRECON_CONFIG_H
#define SFRECON_CONFIG_H

#include <stdbool.h>
#include "sfrecon/err.h"

enum sfr_access { SFR_ACCESS_READ_ONLY, SFR_ACCESS_READ_WRITE };
enum sfr_policy { SFR_POLICY_SF_WINS, SFR_POLICY_NEWEST_WINS, SFR_POLICY_PG_WINS };

struct sfr_tolerance {
    char *object;
    char *field;
    double abs;
};

struct sfr_mapping {
    char *object_name; /* as in the export: "Account" */
    enum sfr_access access;
    int sf_polling_seconds; /* default 600 */
    bool sf_notify_enabled;
    long sf_max_daily_api_calls; /* 0 = not set */
    char *upsert_field;          /* NULL when not set */
    char **fields;               /* field API names in file order */
    int n_fields;
    char **index_fields; /* "indexes" keys */
    bool *index_unique;
    int n_indexes;
    enum sfr_policy policy; /* from sfrecon.objects.X or global */
    int line;               /* line of the mapping in the file */
};

struct sfr_config {
    char *path;
    int version;
    char *schema;          /* resolved mirror schema (docs/configuration.md) */
    char *organization_id; /* NULL when absent */
    char *api_version;     /* "60.0" default */
    char *app_name;
    struct sfr_mapping *mappings;
    int n_mappings;
    long chunk_size;
    int bisect_factor;
    long bisect_threshold;
    int jobs;
    enum sfr_policy policy;
    long max_api_calls;
    long bulk_threshold;
    long archive_days; /* sync: _trigger_log_archive rows kept (days) */
    struct sfr_tolerance *tolerances;
    int n_tolerances;
    void *doc;   /* json_object * of the whole file (unknown keys kept) */
    void *lines; /* private: key path -> line index */
};

/* Loads and validates path. On error returns SFR_ECONFIG with err->msg in the
 * "FILE:LINE: key.path: problem" form. *out is caller-owned (sfr_config_free). */
enum sfr_rc sfr_config_load(const char *path, struct sfr_config **out, struct sfr_err *err) SFR_WUR;
/* Same from a string (path used only in messages). */
enum sfr_rc sfr_config_parse(const char *text, const char *path, struct sfr_config **out,
                             struct sfr_err *err) SFR_WUR;
void sfr_config_free(struct sfr_config *cfg);
/* --schema override */
void sfr_config_set_schema(struct sfr_config *cfg, const char *schema);
const struct sfr_mapping *sfr_config_mapping(const struct sfr_config *cfg, const char *object);
bool sfr_mapping_has_field(const struct sfr_mapping *m, const char *field); /* case-insensitive */
double sfr_config_tolerance(const struct sfr_config *cfg, const char *object, const char *field);
const char *sfr_policy_name(enum sfr_policy p);
/* True when sfrecon.objects.<object>.skip_fields lists field (case-insensitive). */
bool sfr_config_skip_field(const struct sfr_config *cfg, const char *object, const char *field);
/* Line of a key path ("mappings[2].config.access") in the file, 0 when unknown. */
int sfr_config_line(const struct sfr_config *cfg, const char *key_path);

#endif
