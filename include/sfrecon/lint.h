/* lint.h — schema-design checks over a mapping, the Salesforce describe of
 * the mapped objects and (optionally) the live mirror. Each finding names
 * the object and field, says why it matters and gives the fix: the mapping
 * change or the exact DDL.
 *
 * The checks are pure functions of their inputs (no I/O), so they run in
 * unit tests with hand-built mirrors; src/cli/lint.c does the loading,
 * connecting and printing.
 *
 * Codes (severity):
 *   unknown_object (error)        mapped object absent from describe
 *   unknown_field (error)         mapped field absent from describe
 *   unmapped_parent (error; info when the parent is User/Group/RecordType...)
 *   load_order, deferred_reference (info)
 *   costly_field (info for long text; warning for rich text, formula, encrypted, base64)
 *   unsupported_field (warning)   compound address fields, which Connect does not map
 *   no_upsert_field (warning; info when the object has no External ID field),
 *   upsert_field_not_external_id (error),
 *   upsert_field_unknown (error), upsert_field_unmapped (warning)
 *   api_budget (info), api_budget_exceeded (warning)
 *   reserved_name (info), name_too_long (error)
 *   schema_name (warning: needs quoting), schema_name_permanent (info)
 *   no_db (info), missing_schema (error), missing_table (error),
 *   missing_column (error), missing_system_column (error), column_not_null (warning)
 *   column_too_short (error), column_type_mismatch (error; warning when the loss
 *   is subtle, e.g. timestamptz for a datetime)
 *   missing_index (error for the sfid unique index, warning for systemmodstamp),
 *   missing_c_order_index (warning), user_foreign_key (warning)
 */
#ifndef SFRECON_LINT_H
#define SFRECON_LINT_H

#include <stdbool.h>
#include <stdio.h>

#include "sfrecon/config.h"
#include "sfrecon/introspect.h"
#include "sfrecon/schema.h"

enum sfr_lint_severity { SFR_LINT_INFO = 0, SFR_LINT_WARNING = 1, SFR_LINT_ERROR = 2 };

#define SFR_LINT_DEFAULT_ORG_LIMIT 100000L /* API calls a day assumed for the org */

struct sfr_lint_finding {
    enum sfr_lint_severity severity;
    char *code;
    char *object;  /* Salesforce object name, "" when mapping-wide */
    char *field;   /* field API name, "" when not field-specific */
    char *message; /* what is wrong */
    char *why;     /* why it matters */
    char *fix;     /* mapping change or DDL, "" when none */
};

struct sfr_lint_result {
    struct sfr_lint_finding *findings;
    int n;
    int cap;
    int n_by_severity[3]; /* indexed by enum sfr_lint_severity */
};

struct sfr_lint_opts {
    long org_daily_limit;    /* 0 = SFR_LINT_DEFAULT_ORG_LIMIT */
    const char *config_path; /* shown in fixes ("sfrecon schema -c PATH"); may be NULL */
};

void sfr_lint_result_init(struct sfr_lint_result *r);
void sfr_lint_result_cleanup(struct sfr_lint_result *r);
/* Appends a finding (copies the strings; NULL field/fix become ""). */
void sfr_lint_add(struct sfr_lint_result *r, enum sfr_lint_severity sev, const char *code,
                  const char *object, const char *field, const char *why, const char *fix,
                  const char *fmt, ...) SFR_PRINTF(8, 9);

/* Runs every check. schema holds the describe of (at least) the mapped
 * objects; mirror NULL means no database: the mirror checks are skipped and
 * an info finding says so. Findings are sorted errors first, then warnings,
 * then infos, each group in check order. */
void sfr_lint_run(const struct sfr_config *cfg, const struct sfr_schema *schema,
                  const struct sfr_mirror *mirror, struct sfr_lint_result *out);
void sfr_lint_run_opts(const struct sfr_config *cfg, const struct sfr_schema *schema,
                       const struct sfr_mirror *mirror, const struct sfr_lint_opts *opts,
                       struct sfr_lint_result *out);

/* The individual check groups (each appends to out; used by sfr_lint_run). */
void sfr_lint_check_mapping(const struct sfr_config *cfg, const struct sfr_schema *schema,
                            const struct sfr_lint_opts *opts, struct sfr_lint_result *out);
void sfr_lint_check_names(const struct sfr_config *cfg, const struct sfr_schema *schema,
                          struct sfr_lint_result *out);
void sfr_lint_check_mirror(const struct sfr_config *cfg, const struct sfr_schema *schema,
                           const struct sfr_mirror *mirror, const struct sfr_lint_opts *opts,
                           struct sfr_lint_result *out);

/* Estimated Salesforce API calls a day for one mapping as configured. */
long sfr_lint_api_calls_per_day(const struct sfr_mapping *m);

/* Helpers shared by the checks. */
const char *sfr_lint_severity_name(enum sfr_lint_severity s);
bool sfr_lint_is_reserved(const char *name);   /* Postgres reserved keyword */
bool sfr_lint_needs_quoting(const char *name); /* not a plain lowercase identifier */
char *sfr_lint_quote_ident(const char *name);  /* always "quoted". Caller frees. */
char *sfr_lint_qualified(const char *schema, const char *table); /* "s"."t". Caller frees. */

/* Output to f: text blocks or {"findings":[...]}. */
void sfr_lint_print_text(FILE *f, const struct sfr_lint_result *r);
void sfr_lint_print_json(FILE *f, const struct sfr_lint_result *r);

#endif
