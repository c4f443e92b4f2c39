/* report.h — discrepancy reports (text, json, csv, html) and their history
 * in Postgres (sfrecon.audit_run, sfrecon.discrepancy).
 *
 * JSON format (stable, see docs/report-format.md):
 * {"run":{"id":N,"started_at":"...","finished_at":"...","status":"...","depth":"content",
 *         "api_calls":N,"complete":true,"not_covered":[...]},
 *  "summary":[{"object":"Account","rows_sf":N,"rows_pg":N,"discrepancies":N,
 *              "by_cause":{"missing_in_pg":N,...},"api_calls":N,"seconds":S}],
 *  "discrepancies":[{"object":"Account","sfid":"001...","cause":"truncation",
 *      "fields":[{"name":"Name","sf":"...","pg":"..."}],"detail":"...",
 *      "parent_object":null,"parent_sfid":null,"pg_id":12}]} */
#ifndef SFRECON_REPORT_H
#define SFRECON_REPORT_H

#include <stdio.h>
#include "sfrecon/check.h"

enum sfr_format { SFR_FMT_TEXT, SFR_FMT_JSON, SFR_FMT_CSV, SFR_FMT_HTML };
bool sfr_format_parse(const char *s, enum sfr_format *out);

struct sfr_object_summary {
    char *object;
    long rows_sf, rows_pg;
    long by_cause[SFR_CAUSE_N];
    long api_calls;
    double seconds;
    bool complete;
    long changed_during; /* records modified after the audit began: rechecked, not reported */
};

struct sfr_run {
    long id; /* 0 when not stored */
    char started_at[40], finished_at[40];
    char status[24]; /* clean|discrepancies|partial|failed */
    char depth[16];
    long api_calls;
    bool complete;
    struct sfr_strv not_covered;
    /* what the audit could not judge, one line each: checks skipped for a
     * table that lacks a column, records still changing ("in flight") */
    struct sfr_strv notes;
    struct sfr_object_summary *objects;
    int n_objects;
    struct sfr_disc_list discs;
};
void sfr_run_cleanup(struct sfr_run *r);

/* Writes the run in the given format. */
void sfr_report_write(FILE *out, const struct sfr_run *run, enum sfr_format fmt);
/* Parses a JSON report (as written above) back into a run (for repair --from). */
enum sfr_rc sfr_report_load_json(const char *path, struct sfr_run *run,
                                 struct sfr_err *err) SFR_WUR;

#endif
