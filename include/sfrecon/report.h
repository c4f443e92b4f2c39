/* report.h — discrepancy reports (text, json, csv, html, prometheus) and
 * their history in Postgres (sfrecon.audit_run, sfrecon.discrepancy).
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

enum sfr_format { SFR_FMT_TEXT, SFR_FMT_JSON, SFR_FMT_CSV, SFR_FMT_HTML, SFR_FMT_PROMETHEUS };
bool sfr_format_parse(const char *s, enum sfr_format *out);
/* "text, json, csv, html or prometheus", for usage messages. */
const char *sfr_format_names(void);

struct sfr_object_summary {
    char *object;
    long rows_sf, rows_pg;
    long by_cause[SFR_CAUSE_N];
    long api_calls;
    double seconds;
    bool complete;
    long changed_during; /* records modified after the audit began: compared again at the end */
    long in_flight;      /* of those, still changing after every look: not judged */
};

struct sfr_run {
    long id; /* 0 when not stored */
    char started_at[40], finished_at[40];
    char status[24]; /* running|clean|discrepancies|partial|interrupted|failed|abandoned */
    char depth[16];
    /* what the report's header names; "" when not known */
    char mapping[256];         /* the mapping file as the audit was given it */
    char organization_id[32];  /* of the mapping (Heroku Connect export) */
    char app_name[128];        /* of the mapping */
    char mirror_schema[64];    /* the mirror's schema */
    char mirror_database[128]; /* the mirror's database name */
    long api_calls;
    bool complete;
    struct sfr_strv not_covered;
    /* what the audit could not run, one line each: checks skipped for a
     * table that lacks a column */
    struct sfr_strv notes;
    struct sfr_object_summary *objects;
    int n_objects;
    struct sfr_disc_list discs;
    char *instance_url;  /* Salesforce instance (record links), NULL = unknown */
    long api_daily_used; /* last Sforce-Limit-Info api-usage seen; max 0 = unknown */
    long api_daily_max;
};
void sfr_run_cleanup(struct sfr_run *r);

/* Writes the run in the given format (html without a trend of earlier runs,
 * prometheus with the run itself as the last success when it completed). */
void sfr_report_write(FILE *out, const struct sfr_run *run, enum sfr_format fmt);

/* Discrepancies of one stored run, by cause: one bar of the trend chart. */
struct sfr_trend_point {
    long run_id;
    char started_at[40]; /* YYYY-MM-DDTHH:MM:SSZ */
    char status[24];
    long by_cause[SFR_CAUSE_N];
};
struct sfr_trend {
    struct sfr_trend_point *v; /* oldest first */
    size_t n, cap;
};
void sfr_trend_cleanup(struct sfr_trend *t);

/* The HTML report (src/report/html.c): one self-contained page (inline CSS,
 * SVG and a little script; a Content-Security-Policy that forbids every
 * request) with the summary, the causes x objects table, the trend over
 * `trend` (NULL or empty: this run alone), and the discrepancies grouped by
 * object and cause with what to do about each cause: every one when
 * group_rows is 0, else the first group_rows of each group (sfid order) and
 * how many more there are, so 100k discrepancies stay a page a browser
 * opens at once. */
#define SFR_HTML_GROUP_ROWS 1000
void sfr_report_write_html(FILE *out, const struct sfr_run *run, const struct sfr_trend *trend,
                           long group_rows);

/* The Prometheus text exposition format (version 0.0.4), for node_exporter's
 * textfile collector and the sync daemon's /metrics:
 *   sfrecon_discrepancies{object,cause}               gauge, of `run`
 *   sfrecon_audit_last_success_timestamp_seconds      gauge, Unix time
 *   sfrecon_audit_duration_seconds                    gauge, of `run`
 *   sfrecon_api_calls                                 gauge, of `run`
 * plus sfrecon_audit_run_id, sfrecon_audit_complete, sfrecon_rows{object,side}
 * and, when known, sfrecon_api_daily_used / sfrecon_api_daily_limit. A NULL
 * run writes only the last-success line (when known). Every metric has its
 * HELP and TYPE lines; label values are escaped. */
struct sfr_metrics {
    const struct sfr_run *run; /* the audit to export, or NULL (none yet) */
    int64_t last_success_ms;   /* when the last complete audit finished; INT64_MIN = never */
    double duration_s;         /* of run; < 0: from run->started_at/finished_at */
    long api_calls;            /* < 0: run->api_calls */
};
void sfr_report_write_prometheus(FILE *out, const struct sfr_metrics *m);

/* The text a person reads for d's detail: a sync_error's JSON error becomes
 * "message (errorCode)", a missing_parent names the parent Id once. Caller
 * frees. */
char *sfr_report_detail(const struct sfr_discrepancy *d);

/* Indexes of run->discs in report order: objects in summary order (others
 * after, by name), then cause when by_cause, then sfid (byte order), then
 * mirror row id. Caller frees. */
size_t *sfr_report_order(const struct sfr_run *run, bool by_cause);

/* Night-to-night difference between two stored runs (sfr_history_diff). */
struct sfr_diff_open {
    long since_run;    /* first run of the unbroken streak that holds it */
    char since_at[40]; /* that run's started_at */
};
struct sfr_run_diff {
    struct sfr_run a, b;              /* headers and summaries, no discrepancies */
    struct sfr_disc_list added;       /* in b, not in a */
    struct sfr_disc_list resolved;    /* in a, not in b, object audited by b */
    struct sfr_disc_list open;        /* in both (values as in b) */
    struct sfr_diff_open *open_since; /* one per open */
    struct sfr_disc_list unverified;  /* in a, object not audited by b */
};
void sfr_run_diff_cleanup(struct sfr_run_diff *d);
/* Writes the diff as text, json or html (other formats: text). */
void sfr_report_write_diff(FILE *out, const struct sfr_run_diff *d, enum sfr_format fmt);
/* Parses a JSON report (as written above) back into a run (for repair --from). */
enum sfr_rc sfr_report_load_json(const char *path, struct sfr_run *run,
                                 struct sfr_err *err) SFR_WUR;

#endif
