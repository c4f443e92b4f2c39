/* diff.c — `sfrecon report --diff A B` written for people and machines:
 * what is new in B, what was resolved since A, what is still open (since
 * which run), and what B could not recheck (objects it did not audit, or
 * left uncovered). Text, JSON (two-space indented) and a self-contained HTML
 * page built from the same pieces as the HTML report. */
#include <stdlib.h>
#include <string.h>

#include "html_internal.h"
#include "report_internal.h"
#include "sfrecon/report.h"

static void run_line(FILE *out, const struct sfr_run *r)
{
    fprintf(out, "run %ld (%s, %s)", r->id, r->started_at, r->status);
}

static void text_list(FILE *out, const char *title, const struct sfr_disc_list *l,
                      const struct sfr_run_diff *d, const struct sfr_diff_open *since)
{
    if (l->n == 0)
        return;
    fprintf(out, "\n%s (%zu):\n", title, l->n);
    size_t *ix = sfr_report_order_list(l, d->b.objects, d->b.n_objects, false);
    for (size_t i = 0; i < l->n; i++) {
        const struct sfr_discrepancy *x = &l->v[ix[i]];
        char *detail = sfr_report_detail(x);
        fprintf(out, "  %-15s %s %s", sfr_cause_name(x->cause), x->object,
                *x->sfid ? x->sfid : "(no sfid)");
        if (since != NULL && since[ix[i]].since_run > 0)
            fprintf(out, " (since run %ld, %.10s)", since[ix[i]].since_run, since[ix[i]].since_at);
        fprintf(out, ": %s\n", detail);
        free(detail);
    }
    free(ix);
}

static void write_text(FILE *out, const struct sfr_run_diff *d)
{
    fputs("sfrecon report --diff: ", out);
    run_line(out, &d->a);
    fputs(" -> ", out);
    run_line(out, &d->b);
    fprintf(out, "\n%zu new, %zu resolved, %zu still open", d->added.n, d->resolved.n, d->open.n);
    if (d->unverified.n > 0)
        fprintf(out, ", %zu not rechecked", d->unverified.n);
    fputc('\n', out);
    char t[96];
    snprintf(t, sizeof(t), "new in run %ld", d->b.id);
    text_list(out, t, &d->added, d, NULL);
    snprintf(t, sizeof(t), "resolved since run %ld", d->a.id);
    text_list(out, t, &d->resolved, d, NULL);
    text_list(out, "still open", &d->open, d, d->open_since);
    snprintf(t, sizeof(t), "not rechecked by run %ld (object not audited or not covered)", d->b.id);
    text_list(out, t, &d->unverified, d, NULL);
}

static json_object *run_json(const struct sfr_run *r)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(r->id));
    json_object_object_add(o, "started_at", json_object_new_string(r->started_at));
    json_object_object_add(o, "finished_at", json_object_new_string(r->finished_at));
    json_object_object_add(o, "status", json_object_new_string(r->status));
    return o;
}

static void json_list(FILE *out, const char *key, const struct sfr_disc_list *l,
                      const struct sfr_run_diff *d, const struct sfr_diff_open *since, bool last)
{
    fprintf(out, "  \"%s\":[", key);
    size_t *ix = sfr_report_order_list(l, d->b.objects, d->b.n_objects, false);
    for (size_t i = 0; i < l->n; i++) {
        json_object *j = sfr_report_disc_json(&l->v[ix[i]]);
        if (since != NULL) {
            const struct sfr_diff_open *s = &since[ix[i]];
            json_object_object_add(j, "since_run",
                                   s->since_run > 0 ? json_object_new_int64(s->since_run) : NULL);
            json_object_object_add(j, "since",
                                   s->since_run > 0 ? json_object_new_string(s->since_at) : NULL);
        }
        fputs(i ? ",\n    " : "\n    ", out);
        sfr_report_json_put(out, j, 4);
        json_object_put(j);
    }
    free(ix);
    fprintf(out, "%s%s\n", l->n ? "\n  ]" : "]", last ? "" : ",");
}

static void write_json(FILE *out, const struct sfr_run_diff *d)
{
    json_object *a = run_json(&d->a), *b = run_json(&d->b), *n = json_object_new_object();
    json_object_object_add(n, "new", json_object_new_int64((int64_t)d->added.n));
    json_object_object_add(n, "resolved", json_object_new_int64((int64_t)d->resolved.n));
    json_object_object_add(n, "open", json_object_new_int64((int64_t)d->open.n));
    json_object_object_add(n, "not_rechecked", json_object_new_int64((int64_t)d->unverified.n));
    fputs("{\n  \"a\":", out);
    sfr_report_json_put(out, a, 2);
    fputs(",\n  \"b\":", out);
    sfr_report_json_put(out, b, 2);
    fputs(",\n  \"counts\":", out);
    sfr_report_json_put(out, n, 2);
    fputs(",\n", out);
    json_object_put(a);
    json_object_put(b);
    json_object_put(n);
    json_list(out, "new", &d->added, d, NULL, false);
    json_list(out, "resolved", &d->resolved, d, NULL, false);
    json_list(out, "open", &d->open, d, d->open_since, false);
    json_list(out, "not_rechecked", &d->unverified, d, NULL, true);
    fputs("}\n", out);
}

static void html_section(FILE *out, const char *id, const char *title, const char *empty,
                         const struct sfr_disc_list *l, const size_t *ix,
                         const struct sfr_run_diff *d, bool advice,
                         const struct sfr_diff_open *since)
{
    char n[32];
    sfr_html_thousands((long)l->n, n);
    fprintf(out, "<section id=\"%s\"><h2>%s <span class=\"mut\">(%s)</span></h2>\n", id, title, n);
    if (l->n == 0)
        fprintf(out, "<p class=\"mut\">%s</p>\n", empty);
    struct sfr_html_list how = {id, d->b.id, advice, d->b.instance_url, since, SFR_HTML_GROUP_ROWS};
    sfr_html_groups(out, l, ix, &how);
    fputs("</section>\n", out);
}

static void html_card(FILE *out, const char *label, size_t n, const char *cls)
{
    char a[32];
    sfr_html_thousands((long)n, a);
    fprintf(out, "<div><dt>%s</dt><dd class=\"%s\">%s</dd></div>\n", label, cls, a);
}

static void write_html(FILE *out, const struct sfr_run_diff *d)
{
    char title[128];
    snprintf(title, sizeof(title), "sfrecon: run %ld -> run %ld, %zu new", d->a.id, d->b.id,
             d->added.n);
    sfr_html_begin(out, title);
    fprintf(out, "<header><h1>What changed from run %ld to run %ld</h1><p class=\"sub\">", d->a.id,
            d->b.id);
    sfr_html_when(out, d->a.started_at);
    fputs(" ", out);
    sfr_html_status(out, d->a.status);
    fputs(" &rarr; ", out);
    sfr_html_when(out, d->b.started_at);
    fputs(" ", out);
    sfr_html_status(out, d->b.status);
    fputs("</p></header>\n<section id=\"summary\"><h2>Summary</h2><dl class=\"kv\">\n", out);
    html_card(out, "New", d->added.n, d->added.n ? "h5" : "");
    html_card(out, "Resolved", d->resolved.n, "");
    html_card(out, "Still open", d->open.n, "");
    if (d->unverified.n)
        html_card(out, "Not rechecked", d->unverified.n, "");
    fputs("</dl></section>\n", out);
    const struct sfr_disc_list *lists[4] = {&d->added, &d->resolved, &d->open, &d->unverified};
    size_t *ix[4];
    for (int k = 0; k < 4; k++)
        ix[k] = sfr_report_order_list(lists[k], d->b.objects, d->b.n_objects, true);
    sfr_html_filters_for(out, lists, 4, (const size_t *const *)ix);
    char t[96];
    snprintf(t, sizeof(t), "New in run %ld", d->b.id);
    html_section(out, "new", t, "Nothing new.", &d->added, ix[0], d, true, NULL);
    snprintf(t, sizeof(t), "Resolved since run %ld", d->a.id);
    html_section(out, "resolved", t, "Nothing resolved.", &d->resolved, ix[1], d, false, NULL);
    html_section(out, "open", "Still open", "Nothing carried over.", &d->open, ix[2], d, true,
                 d->open_since);
    if (d->unverified.n)
        html_section(out, "unverified", "Not rechecked (object not audited or not covered)", "",
                     &d->unverified, ix[3], d, false, NULL);
    for (int k = 0; k < 4; k++)
        free(ix[k]);
    sfr_html_script(out);
    sfr_html_end(out);
}

void sfr_report_write_diff(FILE *out, const struct sfr_run_diff *d, enum sfr_format fmt)
{
    if (fmt == SFR_FMT_JSON)
        write_json(out, d);
    else if (fmt == SFR_FMT_HTML)
        write_html(out, d);
    else
        write_text(out, d);
}
