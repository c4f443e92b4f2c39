/* prometheus.c — an audit run in the Prometheus text exposition format
 * (version 0.0.4), for node_exporter's textfile collector (`report --format
 * prometheus --out DIR/sfrecon.prom`) and the sync daemon's /metrics. Both
 * use these names, so one dashboard and one alert rule serve either.
 *
 * Every family is written once with its HELP and TYPE lines, all of them
 * gauges (values of the last audit, not running totals). Label values are
 * escaped as the format requires (backslash, double quote, newline). */
#include <string.h>

#include "report_internal.h"
#include "sfrecon/report.h"

static void family(FILE *out, const char *name, const char *help)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

static void label_value(FILE *out, const char *v)
{
    fputc('"', out);
    for (; v != NULL && *v; v++) {
        if (*v == '\\' || *v == '"')
            fputc('\\', out);
        if (*v == '\n')
            fputs("\\n", out);
        else
            fputc(*v, out);
    }
    fputc('"', out);
}

static void value(FILE *out, double v)
{
    char b[48];
    sfr_report_num(v, b);
    fprintf(out, " %s\n", b);
}

static void by_object_cause(FILE *out, const struct sfr_run *run)
{
    family(out, "sfrecon_discrepancies",
           "Discrepancies the last audit found, by object and cause.");
    for (int i = 0; i < run->n_objects; i++) {
        const struct sfr_object_summary *o = &run->objects[i];
        for (int c = 0; c < SFR_CAUSE_N; c++) {
            fputs("sfrecon_discrepancies{object=", out);
            label_value(out, o->object);
            fputs(",cause=", out);
            label_value(out, sfr_cause_name((enum sfr_cause)c));
            fprintf(out, "} %ld\n", o->by_cause[c]);
        }
    }
}

static void rows(FILE *out, const struct sfr_run *run)
{
    family(out, "sfrecon_rows", "Records the last audit compared, by object and side.");
    for (int i = 0; i < run->n_objects; i++) {
        const struct sfr_object_summary *o = &run->objects[i];
        for (int side = 0; side < 2; side++) {
            fputs("sfrecon_rows{object=", out);
            label_value(out, o->object);
            fprintf(out, ",side=\"%s\"} %ld\n", side ? "postgres" : "salesforce",
                    side ? o->rows_pg : o->rows_sf);
        }
    }
}

void sfr_report_write_prometheus(FILE *out, const struct sfr_metrics *m)
{
    const struct sfr_run *run = m->run;
    if (m->last_success_ms != INT64_MIN) {
        family(out, "sfrecon_audit_last_success_timestamp_seconds",
               "When the last complete audit (clean or with discrepancies) finished, Unix time.");
        fputs("sfrecon_audit_last_success_timestamp_seconds", out);
        value(out, (double)m->last_success_ms / 1000.0);
    }
    if (run == NULL)
        return;
    double dur =
        m->duration_s >= 0 ? m->duration_s : sfr_report_duration(run->started_at, run->finished_at);
    if (dur >= 0) {
        family(out, "sfrecon_audit_duration_seconds", "How long the last audit took.");
        fputs("sfrecon_audit_duration_seconds", out);
        value(out, dur);
    }
    family(out, "sfrecon_api_calls", "Salesforce API calls the last audit made.");
    fprintf(out, "sfrecon_api_calls %ld\n", m->api_calls >= 0 ? m->api_calls : run->api_calls);
    if (run->api_daily_max > 0) {
        family(out, "sfrecon_api_daily_used",
               "The org's API calls in the last 24 hours (Sforce-Limit-Info).");
        fprintf(out, "sfrecon_api_daily_used %ld\n", run->api_daily_used);
        family(out, "sfrecon_api_daily_limit", "The org's daily API call limit.");
        fprintf(out, "sfrecon_api_daily_limit %ld\n", run->api_daily_max);
    }
    if (run->id > 0) {
        family(out, "sfrecon_audit_run_id", "Id of the exported audit run in sfrecon.audit_run.");
        fprintf(out, "sfrecon_audit_run_id %ld\n", run->id);
    }
    family(out, "sfrecon_audit_complete",
           "1 when the last audit covered every mapped record, 0 when it stopped early.");
    bool done = strcmp(run->status, "clean") == 0 || strcmp(run->status, "discrepancies") == 0;
    fprintf(out, "sfrecon_audit_complete %d\n", done && run->complete ? 1 : 0);
    by_object_cause(out, run);
    rows(out, run);
}
