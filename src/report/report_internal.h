/* report_internal.h — what the writers of src/report/ share: totals, number
 * formatting, HTML escaping, the per-cause advice, and the JSON form of a
 * discrepancy. Not part of the public contract (see report.h). */
#ifndef SFRECON_REPORT_INTERNAL_H
#define SFRECON_REPORT_INTERNAL_H

#include <json-c/json.h>
#include <stdio.h>

#include "sfrecon/report.h"

/* Discrepancies of one object, all causes. */
long sfr_report_total(const struct sfr_object_summary *o);

/* v with at most 3 decimals and no trailing zeros ("0.162", "2", "-1.5"). */
void sfr_report_num(double v, char out[48]);
/* A JSON number printed as sfr_report_num does (0.162, not 0.16200000000000001). */
json_object *sfr_report_json_num(double v);

/* One discrepancy as its JSON report object (report.h). Caller puts it. */
json_object *sfr_report_disc_json(const struct sfr_discrepancy *d);
/* Pretty JSON of o, every line after the first indented by `indent` spaces. */
void sfr_report_json_put(FILE *out, json_object *o, int indent);

/* HTML text: <, >, &, " and ' escaped; NULL writes nothing. */
void sfr_html_esc(FILE *out, const char *s);
void sfr_html_esc_n(FILE *out, const char *s, size_t n);

/* What a cause means and what settles it, one sentence each (HTML and text). */
const char *sfr_cause_meaning(enum sfr_cause c);
const char *sfr_cause_remedy(enum sfr_cause c);

/* sfr_report_order over any list, objects ranked as in `objects`. Caller frees. */
size_t *sfr_report_order_list(const struct sfr_disc_list *l,
                              const struct sfr_object_summary *objects, int n_objects,
                              bool by_cause);

/* Byte offset where a and b first differ, at the start of a UTF-8 character. */
size_t sfr_report_diverge(const char *a, const char *b);

/* Seconds between two "YYYY-MM-DDTHH:MM:SSZ" stamps; < 0 when unknown. */
double sfr_report_duration(const char *started_at, const char *finished_at);

#endif
