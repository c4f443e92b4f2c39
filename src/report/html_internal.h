/* html_internal.h — the pieces of the HTML pages (html.c) that the trend
 * chart (html_chart.c) and the diff page (diff.c) reuse. Everything writes
 * escaped text to out. */
#ifndef SFRECON_HTML_INTERNAL_H
#define SFRECON_HTML_INTERNAL_H

#include <stdbool.h>
#include <stdio.h>

#include "sfrecon/report.h"

/* <!DOCTYPE>..<body> with the CSP meta tag and the style sheet; and the end. */
void sfr_html_begin(FILE *out, const char *title);
void sfr_html_end(FILE *out);
void sfr_html_status(FILE *out, const char *status);
void sfr_html_when(FILE *out, const char *ts);
void sfr_html_duration(FILE *out, double seconds);
void sfr_html_thousands(long v, char out[32]);
const char *sfr_html_cause_color(enum sfr_cause c);

/* The id of an object x cause group ("g-Account-truncation"). */
void sfr_html_group_id(FILE *out, const char *object, enum sfr_cause c);
/* A group of n discrepancies, id "[SECTION-]g-OBJECT-CAUSE"; advice adds
 * what to do (with the repair command for run_id when > 0). Call
 * next_block before the k-th row. */
void sfr_html_group_begin(FILE *out, const char *section, const char *object, enum sfr_cause c,
                          long n, long run_id, bool advice);
void sfr_html_group_next_block(FILE *out, long k);
void sfr_html_group_end(FILE *out);
/* One discrepancy: sfid (linked when instance_url), optional note, the
 * explanation and the fields side by side. */
void sfr_html_disc(FILE *out, const struct sfr_discrepancy *d, const char *instance_url,
                   const char *note);
/* One side's value around byte `from` where the sides diverge. */
void sfr_html_value(FILE *out, const char *v, size_t from, bool differs, bool show_len);
/* The groups of l in the order ix (sfr_report_order_list with by_cause). */
struct sfr_html_list {
    const char *section;          /* id prefix of the groups, or NULL */
    long run_id;                  /* for the repair command; 0 = none */
    bool advice;                  /* what to do, per group */
    const char *instance_url;     /* record links, or NULL */
    const struct sfr_diff_open *since; /* "open since" notes (indexed like l), or NULL */
    long group_rows;              /* rows shown per group, 0 = all */
};
void sfr_html_groups(FILE *out, const struct sfr_disc_list *l, const size_t *ix,
                     const struct sfr_html_list *how);
/* The filters for the objects and causes found in the lists. */
void sfr_html_filters_for(FILE *out, const struct sfr_disc_list *const *lists, int n_lists,
                          const size_t *const *ix);
/* Object and cause filters over the groups, and the script behind them. */
void sfr_html_filters(FILE *out, const struct sfr_strv *objects, const bool *causes);
void sfr_html_script(FILE *out);

/* The SVG chart of discrepancies per stored run by cause (html_chart.c);
 * trend NULL or empty: `run` alone. */
void sfr_html_trend(FILE *out, const struct sfr_run *run, const struct sfr_trend *trend);

#endif
