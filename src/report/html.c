/* html.c — the HTML report: one self-contained page for the people who get
 * the nightly report (ops leads, data owners). Inline CSS, inline SVG and a
 * few lines of script for the filters; a Content-Security-Policy meta tag
 * forbids every request (default-src 'none'), so the file opens the same
 * offline, from a mail attachment or a shared drive. The only URLs in it are
 * the record links to the Salesforce instance, when the run knows it.
 *
 * Layout: summary, causes x objects table (worst cells marked), trend of
 * discrepancies per stored run by cause (SVG), then every discrepancy
 * grouped by object and cause with what the cause means and what settles
 * it. Rows are plain blocks in runs of HTML_BLOCK with content-visibility,
 * so a 100k-discrepancy page lays out only what is on screen. Every value
 * is escaped. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "html_internal.h"
#include "sfrecon/log.h"
#include "report_internal.h"
#include "sfrecon/report.h"

#define HTML_BLOCK     100 /* rows per content-visibility block */
#define SHORT_VALUE    120 /* characters shown whole */
#define CONTEXT_BEFORE 40
#define CONTEXT_AFTER  60

/* ---- small helpers ---- */

void sfr_html_esc_n(FILE *out, const char *s, size_t n)
{
    for (size_t i = 0; s != NULL && i < n && s[i]; i++) {
        switch (s[i]) {
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '&':
            fputs("&amp;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        case '\'':
            fputs("&#39;", out);
            break;
        default:
            fputc(s[i], out);
        }
    }
}

void sfr_html_esc(FILE *out, const char *s)
{
    sfr_html_esc_n(out, s, (size_t)-1);
}

void sfr_html_thousands(long v, char out[32])
{
    char raw[32];
    snprintf(raw, sizeof(raw), "%ld", v < 0 ? -v : v);
    size_t n = strlen(raw), k = 0;
    if (v < 0)
        out[k++] = '-';
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            out[k++] = ',';
        out[k++] = raw[i];
    }
    out[k] = '\0';
}

/* "2026-11-25T01:00:00Z" -> "2026-11-25 01:00:00 UTC" */
void sfr_html_when(FILE *out, const char *ts)
{
    if (ts == NULL || strlen(ts) < 19) {
        sfr_html_esc(out, ts && *ts ? ts : "-");
        return;
    }
    fprintf(out, "%.10s %.8s UTC", ts, ts + 11);
}

void sfr_html_duration(FILE *out, double s)
{
    if (s < 0)
        fputs("-", out);
    else if (s < 60)
        fprintf(out, "%.*f s", s < 10 ? 1 : 0, s);
    else if (s < 3600)
        fprintf(out, "%d min %02d s", (int)s / 60, (int)s % 60);
    else
        fprintf(out, "%d h %02d min", (int)s / 3600, (int)s % 3600 / 60);
}

/* A cause name that may wrap after its underscores (narrow table headers). */
static void cause_wrapped(FILE *out, enum sfr_cause c)
{
    for (const char *p = sfr_cause_name(c); *p; p++) {
        fputc(*p, out);
        if (*p == '_')
            fputs("<wbr>", out);
    }
}

static const char *const cause_colors[SFR_CAUSE_N] = {
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#79706e",
};

const char *sfr_html_cause_color(enum sfr_cause c)
{
    return cause_colors[c];
}

/* ---- page frame ---- */

static const char css[] =
    ":root{--fg:#1d232b;--mut:#5b6571;--line:#d9dee4;--bg2:#f4f6f8;--acc:#0b5cad}"
    "*{box-sizing:border-box}"
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--fg);"
    "margin:0 auto;padding:16px 24px 48px;max-width:1200px}"
    "h1{font-size:22px;margin:0 0 2px}h2{font-size:17px;margin:28px 0 8px;"
    "border-bottom:2px solid var(--line);padding-bottom:3px}"
    "h3{font-size:15px;margin:0}.sub,.mut{color:var(--mut)}"
    "code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--bg2);"
    "padding:1px 4px;border-radius:3px}"
    ".st{display:inline-block;padding:1px 9px;border-radius:10px;font-size:13px;font-weight:600;"
    "vertical-align:middle;color:#fff;background:#6b7280}"
    ".st-clean{background:#2e7d32}.st-discrepancies{background:#c62828}"
    ".st-partial,.st-interrupted,.st-abandoned,.st-running{background:#b26a00}"
    ".st-failed{background:#6a1b9a}"
    ".kv{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:8px;margin:0}"
    ".kv>div{background:var(--bg2);border-radius:6px;padding:8px 12px}"
    ".kv dt{font-size:12px;color:var(--mut);text-transform:uppercase;letter-spacing:.04em}"
    ".kv dd{margin:2px 0 0;font-size:16px;font-weight:600}.kv dd small{font-weight:400}"
    ".meter{height:6px;background:#dfe3e8;border-radius:3px;margin-top:5px;overflow:hidden}"
    ".meter i{display:block;height:100%;background:var(--acc)}.meter i.hot{background:#c62828}"
    "table{border-collapse:collapse}th,td{text-align:left;vertical-align:top}"
    ".mx{width:100%;table-layout:fixed;font-size:12.5px}"
    ".mx th,.mx td{border:1px solid var(--line);padding:4px 5px}"
    ".mx thead th{background:var(--bg2);font-weight:600;vertical-align:bottom;"
    "overflow-wrap:anywhere;font-size:11.5px}"
    ".mx td.n{text-align:right;font-variant-numeric:tabular-nums}.mx th.o{width:13%}"
    ".mx .rows{width:8%}.mx a{color:inherit;text-decoration:none;display:block}"
    ".h1{background:#fdecea}.h2{background:#f9c8c2}.h3{background:#f29b8f}"
    ".h4{background:#e35d4f;color:#fff}.h5{background:#b71c1c;color:#fff}"
    ".w{outline:3px solid #111;outline-offset:-3px;font-weight:700}"
    ".z{color:#b9c0c8}.tot{font-weight:700}"
    ".bc td{padding:3px 10px 3px 0}.bc td:first-child{white-space:nowrap}.bc .bar{display:inline-block;height:10px;border-radius:2px;"
    "vertical-align:middle}.sw{display:inline-block;width:10px;height:10px;border-radius:2px;"
    "margin-right:5px;vertical-align:middle}"
    ".chart{width:100%;height:auto;max-height:300px}.legend{font-size:12.5px}"
    ".legend span{margin-right:12px;white-space:nowrap}"
    ".filters{position:sticky;top:0;background:#fff;padding:8px 0;z-index:2;"
    "border-bottom:1px solid var(--line);display:flex;gap:14px;align-items:center;flex-wrap:wrap}"
    "select{font:inherit;padding:2px 4px}"
    ".g{margin:18px 0 0;border:1px solid var(--line);border-radius:6px}"
    ".gh{background:var(--bg2);padding:8px 12px;border-bottom:1px solid var(--line)}"
    ".gh p{margin:4px 0 0;font-size:13px}.gh .cnt{float:right;font-weight:600}"
    ".cv{content-visibility:auto;contain-intrinsic-size:auto 6000px}"
    ".r{display:grid;grid-template-columns:minmax(150px,13em) 1fr;gap:4px 14px;padding:7px 12px;"
    "border-top:1px solid #eceff2}.cv .r:first-child{border-top:0}"
    ".hd{font-size:12px;color:var(--mut);font-weight:600;padding-top:4px;padding-bottom:0}"
    ".k{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;word-break:break-all}"
    ".k small{display:block;color:var(--mut);font-family:system-ui,sans-serif}"
    ".x{margin:0 0 3px}.f{width:100%;table-layout:fixed;font-size:12.5px}"
    ".f th{width:18%;font-weight:600;padding:2px 8px 2px 0;word-break:break-word}"
    ".f td{width:41%;padding:2px 8px;background:#fbfbfc;border-left:3px solid #d0d5db;"
    "font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;white-space:pre-wrap;"
    "word-break:break-all}.f td.sf{border-left-color:#4e79a7}.f td.pg{border-left-color:#59a14f}"
    ".f thead th,.f thead td{font-family:system-ui,sans-serif;background:none;border:0;"
    "color:var(--mut);font-weight:600}"
    ".more{margin:0;padding:8px 12px;border-top:1px solid var(--line);background:#fffbe6}"
    "mark{background:#ffe08a;color:inherit;padding:0}.nul{color:var(--mut);font-style:italic}"
    ".len{display:block;color:var(--mut);font:11.5px system-ui,sans-serif}"
    "a{color:var(--acc)}footer{margin-top:30px;color:var(--mut);font-size:12px}"
    "@media print{body{max-width:none;padding:0;font-size:11px}.filters,.noprint{display:none}"
    ".cv{content-visibility:visible}.r{break-inside:avoid}"
    "a{color:inherit;text-decoration:none}h2{break-after:avoid}"
    ".h4,.h5,.st{-webkit-print-color-adjust:exact;print-color-adjust:exact}}";

void sfr_html_begin(FILE *out, const char *title)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
          "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; "
          "base-uri 'none'; form-action 'none'\">\n"
          "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n<title>",
          out);
    sfr_html_esc(out, title);
    fprintf(out, "</title>\n<style>%s</style>\n</head><body>\n", css);
}

void sfr_html_end(FILE *out)
{
    fputs("<footer>Written by sfrecon. Values are shown as stored; long values around the "
          "first character where the two sides differ.</footer>\n</body></html>\n",
          out);
}

void sfr_html_status(FILE *out, const char *status)
{
    fputs("<span class=\"st st-", out);
    sfr_html_esc(out, status);
    fputs("\">", out);
    sfr_html_esc(out, *status ? status : "unknown");
    fputs("</span>", out);
}

/* ---- summary ---- */

static long run_total(const struct sfr_run *run, long *by_cause)
{
    long n = 0;
    for (int c = 0; c < SFR_CAUSE_N; c++)
        by_cause[c] = 0;
    for (int i = 0; i < run->n_objects; i++)
        for (int c = 0; c < SFR_CAUSE_N; c++) {
            by_cause[c] += run->objects[i].by_cause[c];
            n += run->objects[i].by_cause[c];
        }
    return n;
}

static void kv_begin(FILE *out, const char *label)
{
    fprintf(out, "<div><dt>%s</dt><dd>", label);
}

static void api_calls(FILE *out, const struct sfr_run *run)
{
    char a[32], b[32];
    sfr_html_thousands(run->api_calls, a);
    kv_begin(out, "API calls");
    fprintf(out, "%s <small>this run</small>", a);
    if (run->api_daily_max > 0) {
        double pct = 100.0 * (double)run->api_daily_used / (double)run->api_daily_max;
        sfr_html_thousands(run->api_daily_used, a);
        sfr_html_thousands(run->api_daily_max, b);
        fprintf(out,
                "<br><small>org: %s of %s daily limit (%.0f%%)</small>"
                "<div class=\"meter\"><i class=\"%s\" style=\"width:%.1f%%\"></i></div>",
                a, b, pct, pct >= 80 ? "hot" : "", pct > 100 ? 100 : pct);
    } else {
        fputs("<br><small>daily limit not known for this run</small>", out);
    }
    fputs("</dd></div>\n", out);
}

static void summary(FILE *out, const struct sfr_run *run, const long *by_cause, long total)
{
    char a[32], b[32];
    fputs("<section id=\"summary\"><h2>Summary</h2>\n<dl class=\"kv\">\n", out);
    kv_begin(out, "Status");
    sfr_html_status(out, run->status);
    fputs(run->complete ? "" : " <small>not every record was covered</small>", out);
    fputs("</dd></div>\n", out);
    kv_begin(out, "When");
    sfr_html_when(out, run->started_at);
    fputs("</dd></div>\n", out);
    kv_begin(out, "Duration");
    sfr_html_duration(out, sfr_report_duration(run->started_at, run->finished_at));
    fputs("</dd></div>\n", out);
    long rs = 0, rp = 0;
    for (int i = 0; i < run->n_objects; i++) {
        rs += run->objects[i].rows_sf;
        rp += run->objects[i].rows_pg;
    }
    kv_begin(out, "Objects");
    fprintf(out, "%d <small>depth ", run->n_objects);
    sfr_html_esc(out, run->depth);
    fputs("</small></dd></div>\n", out);
    sfr_html_thousands(rs, a);
    sfr_html_thousands(rp, b);
    kv_begin(out, "Records compared");
    fprintf(out, "%s <small>Salesforce</small><br>%s <small>mirror</small></dd></div>\n", a, b);
    api_calls(out, run);
    sfr_html_thousands(total, a);
    kv_begin(out, "Discrepancies");
    fprintf(out, "<span id=\"total\">%s</span></dd></div>\n</dl>\n", a);
    long max = 0;
    for (int c = 0; c < SFR_CAUSE_N; c++)
        max = by_cause[c] > max ? by_cause[c] : max;
    fputs("<h3 style=\"margin-top:14px\">By cause</h3>\n<table class=\"bc\">\n", out);
    for (int c = 0; c < SFR_CAUSE_N; c++) {
        if (by_cause[c] == 0)
            continue;
        sfr_html_thousands(by_cause[c], a);
        fprintf(out,
                "<tr><td><span class=\"sw\" style=\"background:%s\"></span>%s</td>"
                "<td class=\"n\">%s</td><td style=\"width:40%%\"><span class=\"bar\" "
                "style=\"width:%.1f%%;background:%s\"></span></td><td class=\"mut\">%s</td></tr>\n",
                cause_colors[c], sfr_cause_name((enum sfr_cause)c), a,
                100.0 * (double)by_cause[c] / (double)max, cause_colors[c],
                sfr_cause_meaning((enum sfr_cause)c));
    }
    fputs(total == 0 ? "<tr><td>none: Salesforce and the mirror agree</td></tr>\n" : "", out);
    fputs("</table>\n", out);
    for (size_t i = 0; i < run->not_covered.n; i++) {
        fputs(i == 0 ? "<p><b>Not covered</b> (the audit stopped early):</p><ul>" : "", out);
        fputs("<li>", out);
        sfr_html_esc(out, run->not_covered.v[i]);
        fputs(i + 1 == run->not_covered.n ? "</li></ul>\n" : "</li>", out);
    }
    for (size_t i = 0; i < run->notes.n; i++) {
        fputs(i == 0 ? "<p><b>Notes</b> (checks that did not run):</p><ul id=\"notes\">" : "", out);
        fputs("<li>", out);
        sfr_html_esc(out, run->notes.v[i]);
        fputs(i + 1 == run->notes.n ? "</li></ul>\n" : "</li>", out);
    }
    for (int i = 0; i < run->n_objects; i++)
        if (run->objects[i].changed_during > 0) {
            fputs("<p class=\"mut\">", out);
            sfr_html_esc(out, run->objects[i].object);
            fprintf(out,
                    ": %ld records changed while the audit ran (rechecked, not reported)</p>\n",
                    run->objects[i].changed_during);
        }
    fputs("</section>\n", out);
}

/* ---- causes x objects ---- */

/* Heat level 1..5 of n against the largest cell, on a log scale. */
static int heat(long n, long max)
{
    if (n <= 0 || max <= 0)
        return 0;
    if (max == 1)
        return 5;
    int h = 1 + (int)floor(4.0 * log((double)n) / log((double)max) + 1e-9);
    return h > 5 ? 5 : h;
}

static void matrix_row(FILE *out, const struct sfr_object_summary *o, long max)
{
    char a[32], b[32];
    fputs("<tr><th class=\"o\">", out);
    sfr_html_esc(out, o->object);
    sfr_html_thousands(o->rows_sf, a);
    sfr_html_thousands(o->rows_pg, b);
    fprintf(out, "%s</th><td class=\"n\">%s</td><td class=\"n\">%s</td>",
            o->complete ? "" : " <small>(incomplete)</small>", a, b);
    for (int c = 0; c < SFR_CAUSE_N; c++) {
        long n = o->by_cause[c];
        if (n == 0) {
            fputs("<td class=\"n z\">0</td>", out);
            continue;
        }
        sfr_html_thousands(n, a);
        fprintf(out, "<td class=\"n h%d%s\" title=\"", heat(n, max), n == max ? " w" : "");
        sfr_html_esc(out, o->object);
        fprintf(out, " %s: %s\"><a href=\"#", sfr_cause_name((enum sfr_cause)c), a);
        sfr_html_group_id(out, o->object, (enum sfr_cause)c);
        fputs("\" data-fo=\"", out);
        sfr_html_esc(out, o->object);
        fprintf(out, "\" data-fc=\"%s\">%s</a></td>", sfr_cause_name((enum sfr_cause)c), a);
    }
    sfr_html_thousands(sfr_report_total(o), a);
    fprintf(out, "<td class=\"n tot\">%s</td></tr>\n", a);
}

static void matrix(FILE *out, const struct sfr_run *run, const long *by_cause, long total)
{
    long max = 0;
    for (int i = 0; i < run->n_objects; i++)
        for (int c = 0; c < SFR_CAUSE_N; c++)
            max = run->objects[i].by_cause[c] > max ? run->objects[i].by_cause[c] : max;
    fputs("<section id=\"matrix\"><h2>Causes &times; objects</h2>\n"
          "<p class=\"mut noprint\">Darker is more; the worst cell is outlined. A number "
          "leads to its records.</p>\n<table class=\"mx\"><thead><tr><th class=\"o\">object</th>"
          "<th class=\"rows\">Salesforce rows</th><th class=\"rows\">mirror rows</th>",
          out);
    for (int c = 0; c < SFR_CAUSE_N; c++) {
        fputs("<th>", out);
        cause_wrapped(out, (enum sfr_cause)c);
        fputs("</th>", out);
    }
    fputs("<th class=\"rows\">total</th></tr></thead>\n<tbody>\n", out);
    for (int i = 0; i < run->n_objects; i++)
        matrix_row(out, &run->objects[i], max);
    char a[32];
    fputs("</tbody><tfoot><tr class=\"tot\"><th>all objects</th><td></td><td></td>", out);
    for (int c = 0; c < SFR_CAUSE_N; c++) {
        sfr_html_thousands(by_cause[c], a);
        fprintf(out, "<td class=\"n%s\">%s</td>", by_cause[c] ? "" : " z", a);
    }
    sfr_html_thousands(total, a);
    fprintf(out, "<td class=\"n\">%s</td></tr></tfoot></table>\n</section>\n", a);
}

/* ---- the discrepancy list ---- */

void sfr_html_group_id(FILE *out, const char *object, enum sfr_cause c)
{
    fputs("g-", out);
    sfr_html_esc(out, object);
    fprintf(out, "-%s", sfr_cause_name(c));
}

static size_t chars_in(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n && s[i]; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

/* Byte offset of the character `k` characters before/after `at`. */
static size_t step_back(const char *s, size_t at, size_t k)
{
    while (at > 0 && k > 0) {
        at--;
        while (at > 0 && ((unsigned char)s[at] & 0xC0) == 0x80)
            at--;
        k--;
    }
    return at;
}

static size_t step_fwd(const char *s, size_t at, size_t k)
{
    while (s[at] && k > 0) {
        at++;
        while (((unsigned char)s[at] & 0xC0) == 0x80)
            at++;
        k--;
    }
    return at;
}

/* One side's value: whole when short, else the window around `from` (the
 * first differing byte); the differing part marked; lengths when they help. */
void sfr_html_value(FILE *out, const char *v, size_t from, bool differs, bool show_len)
{
    if (v == NULL) {
        fputs("<span class=\"nul\">null</span>", out);
        return;
    }
    size_t n = strlen(v), chars = chars_in(v, n);
    if (chars <= SHORT_VALUE) {
        sfr_html_esc_n(out, v, from);
        if (differs && from < n) {
            fputs("<mark>", out);
            sfr_html_esc(out, v + from);
            fputs("</mark>", out);
        } else if (differs && from >= n) {
            fputs("<mark class=\"nul\">&#8230;ends here</mark>", out);
        }
    } else {
        size_t lo = step_back(v, from, CONTEXT_BEFORE), hi = step_fwd(v, from, CONTEXT_AFTER);
        fputs(lo > 0 ? "&#8230;" : "", out);
        sfr_html_esc_n(out, v + lo, from - lo);
        if (from < n) {
            fputs("<mark>", out);
            sfr_html_esc_n(out, v + from, hi - from);
            fputs("</mark>", out);
        } else {
            fputs("<mark class=\"nul\">&#8230;ends here</mark>", out);
        }
        fputs(hi < n ? "&#8230;" : "", out);
    }
    if (show_len || chars > SHORT_VALUE) {
        char a[32], b[32];
        sfr_html_thousands((long)chars, a);
        sfr_html_thousands((long)chars_in(v, from) + 1, b);
        fprintf(out, "<span class=\"len\">%s characters", a);
        if (chars > SHORT_VALUE && differs)
            fprintf(out, ", differs from character %s", b);
        fputs("</span>", out);
    }
}

static void field_row(FILE *out, const struct sfr_field_diff *fd)
{
    const char *s = fd->sf_value, *p = fd->pg_value;
    bool both = s != NULL && p != NULL;
    size_t from = both ? sfr_report_diverge(s, p) : 0;
    bool show_len = both && strlen(s) != strlen(p);
    fputs("<tr><th>", out);
    sfr_html_esc(out, fd->field);
    fputs("</th><td class=\"sf\">", out);
    sfr_html_value(out, s, from, both, show_len);
    fputs("</td><td class=\"pg\">", out);
    sfr_html_value(out, p, from, both, show_len);
    fputs("</td></tr>", out);
}

void sfr_html_disc(FILE *out, const struct sfr_discrepancy *d, const char *instance_url,
                   const char *note)
{
    fputs("<div class=\"r\"><div class=\"k\">", out);
    if (d->sfid == NULL || *d->sfid == '\0') {
        fputs("<span class=\"nul\">no sfid</span>", out);
    } else if (instance_url != NULL && *instance_url) {
        fputs("<a href=\"", out);
        sfr_html_esc(out, instance_url);
        fputc('/', out);
        sfr_html_esc(out, d->sfid);
        fputs("\">", out);
        sfr_html_esc(out, d->sfid);
        fputs("</a>", out);
    } else {
        sfr_html_esc(out, d->sfid);
    }
    if (d->pg_id > 0)
        fprintf(out, "<small>mirror row id %ld</small>", d->pg_id);
    if (note != NULL) {
        fputs("<small>", out);
        sfr_html_esc(out, note);
        fputs("</small>", out);
    }
    char *detail = sfr_report_detail(d);
    fputs("</div><div><p class=\"x\">", out);
    sfr_html_esc(out, detail);
    fputs("</p>", out);
    free(detail);
    bool fields = d->n_fields > 0 && !(d->cause == SFR_CAUSE_MISSING_PARENT && d->parent_sfid);
    if (fields) {
        fputs("<table class=\"f\">", out);
        for (int f = 0; f < d->n_fields; f++)
            field_row(out, &d->fields[f]);
        fputs("</table>", out);
    }
    fputs("</div></div>\n", out);
}

void sfr_html_group_begin(FILE *out, const char *section, const char *object, enum sfr_cause c,
                          long n, long run_id, bool advice)
{
    char a[32];
    sfr_html_thousands(n, a);
    fputs("<section class=\"g\" id=\"", out);
    if (section != NULL)
        fprintf(out, "%s-", section);
    sfr_html_group_id(out, object, c);
    fputs("\" data-o=\"", out);
    sfr_html_esc(out, object);
    fprintf(out,
            "\" data-c=\"%s\" data-n=\"%ld\">\n<div class=\"gh\"><span class=\"cnt\">%s</span>"
            "<h3><span class=\"sw\" style=\"background:%s\"></span>",
            sfr_cause_name(c), n, a, cause_colors[c]);
    sfr_html_esc(out, object);
    fprintf(out, " &middot; %s</h3>\n<p>%s</p>", sfr_cause_name(c), sfr_cause_meaning(c));
    if (advice) {
        fprintf(out, "<p><b>What to do:</b> %s ", sfr_cause_remedy(c));
        if (run_id > 0)
            fprintf(out, "<code>sfrecon repair --run %ld --only %s</code>", run_id,
                    sfr_cause_name(c));
        else
            fprintf(out, "<code>sfrecon repair --only %s</code>", sfr_cause_name(c));
        fputs(" settles them (add <code>--dry-run</code> to see the plan first).</p>", out);
    }
    fputs("</div>\n<div class=\"r hd\"><div>sfid</div><div><table class=\"f\"><thead><tr>"
          "<th>field</th><td>Salesforce</td><td>mirror</td></tr></thead></table></div></div>\n"
          "<div class=\"cv\">\n",
          out);
}

void sfr_html_group_next_block(FILE *out, long k)
{
    if (k > 0 && k % HTML_BLOCK == 0)
        fputs("</div>\n<div class=\"cv\">\n", out);
}

void sfr_html_group_end(FILE *out)
{
    fputs("</div>\n</section>\n", out);
}

/* Object and cause selects; the script shows the groups that match. */
void sfr_html_filters(FILE *out, const struct sfr_strv *objects, const bool *causes)
{
    fputs("<div class=\"filters noprint\"><label>Object <select id=\"fo\">"
          "<option value=\"\">all</option>",
          out);
    for (size_t i = 0; i < objects->n; i++) {
        fputs("<option>", out);
        sfr_html_esc(out, objects->v[i]);
        fputs("</option>", out);
    }
    fputs("</select></label><label>Cause <select id=\"fc\"><option value=\"\">all</option>", out);
    for (int c = 0; c < SFR_CAUSE_N; c++)
        if (causes[c])
            fprintf(out, "<option>%s</option>", sfr_cause_name((enum sfr_cause)c));
    fputs("</select></label><span id=\"shown\" class=\"mut\"></span></div>\n", out);
}

/* The filter script: no request, no external anything; hides non-matching
 * groups, follows clicks on the matrix and #g-OBJECT-CAUSE links. */
void sfr_html_script(FILE *out)
{
    fputs("<script>\n(function(){\n"
          "var fo=document.getElementById('fo'),fc=document.getElementById('fc'),"
          "sh=document.getElementById('shown');if(!fo)return;\n"
          "var gs=document.querySelectorAll('section.g');\n"
          "function apply(){var o=fo.value,c=fc.value,n=0,g=0;\n"
          " for(var i=0;i<gs.length;i++){var s=gs[i],ok=(!o||s.dataset.o===o)&&"
          "(!c||s.dataset.c===c);\n"
          "  s.hidden=!ok;if(ok){n+=+s.dataset.n;g++;}}\n"
          " sh.textContent=n.toLocaleString('en-US')+' discrepanc'+(n===1?'y':'ies')+' in '+g+"
          "' group'+(g===1?'':'s');}\n"
          "fo.onchange=fc.onchange=apply;\n"
          "var cells=document.querySelectorAll('[data-fo]');\n"
          "for(var i=0;i<cells.length;i++)cells[i].onclick=function(){"
          "fo.value=this.dataset.fo;fc.value=this.dataset.fc;apply();};\n"
          "var h=decodeURIComponent(location.hash.slice(1)),t=h&&document.getElementById(h);\n"
          "if(t&&t.dataset&&t.dataset.o){fo.value=t.dataset.o;fc.value=t.dataset.c;}\n"
          "apply();\n})();\n</script>\n",
          out);
}

/* The rows of a group beyond the shown ones: how many, and where they are. */
static void more_rows(FILE *out, size_t shown, size_t n, long run_id)
{
    char a[32], b[32];
    sfr_html_thousands((long)shown, a);
    sfr_html_thousands((long)n, b);
    fprintf(out, "<p class=\"more\">The first %s of %s, in sfid order. All of them: <code>", a, b);
    if (run_id > 0)
        fprintf(out, "sfrecon report --run %ld --format csv", run_id);
    else
        fputs("sfrecon audit --format csv", out);
    fputs("</code> (or this report with <code>--html-rows 0</code>).</p>\n", out);
}

void sfr_html_groups(FILE *out, const struct sfr_disc_list *l, const size_t *ix,
                     const struct sfr_html_list *how)
{
    for (size_t i = 0; i < l->n;) {
        const struct sfr_discrepancy *g = &l->v[ix[i]];
        size_t j = i;
        while (j < l->n && l->v[ix[j]].cause == g->cause &&
               strcmp(l->v[ix[j]].object, g->object) == 0)
            j++;
        size_t shown = j - i;
        if (how->group_rows > 0 && shown > (size_t)how->group_rows)
            shown = (size_t)how->group_rows;
        sfr_html_group_begin(out, how->section, g->object, g->cause, (long)(j - i), how->run_id,
                             how->advice);
        for (size_t k = i; k < i + shown; k++) {
            char note[96] = "";
            const struct sfr_diff_open *s = how->since ? &how->since[ix[k]] : NULL;
            if (s != NULL && s->since_run > 0)
                snprintf(note, sizeof(note), "open since run %ld (%.10s)", s->since_run,
                         s->since_at);
            sfr_html_group_next_block(out, (long)(k - i));
            sfr_html_disc(out, &l->v[ix[k]], how->instance_url, *note ? note : NULL);
        }
        if (shown < j - i) { /* the last block, the note, the group */
            fputs("</div>\n", out);
            more_rows(out, shown, j - i, how->run_id);
            fputs("</section>\n", out);
        } else {
            sfr_html_group_end(out);
        }
        i = j;
    }
}

void sfr_html_filters_for(FILE *out, const struct sfr_disc_list *const *lists, int n_lists,
                          const size_t *const *ix)
{
    struct sfr_strv objects = {0};
    bool causes[SFR_CAUSE_N] = {false};
    for (int k = 0; k < n_lists; k++)
        for (size_t i = 0; i < lists[k]->n; i++) {
            const struct sfr_discrepancy *d = &lists[k]->v[ix[k][i]];
            causes[d->cause] = true;
            if (!sfr_strv_contains_ci(&objects, d->object))
                sfr_strv_push(&objects, d->object);
        }
    sfr_html_filters(out, &objects, causes);
    sfr_strv_cleanup(&objects);
}

static void list(FILE *out, const struct sfr_run *whole, long group_rows)
{
    fputs("<section id=\"list\"><h2>Discrepancies</h2>\n", out);
    /* the groups need every discrepancy at once: a run spilled to disk is
     * read back for the page */
    struct sfr_run copy;
    const struct sfr_run *run = whole;
    if (whole->discs.n_spilled > 0) {
        copy = *whole;
        if (!sfr_disc_list_materialize(&whole->discs, &copy.discs))
            sfr_log_warn("report: discrepancies spilled to a temporary file could not be read "
                         "back; the stored run (sfrecon report --run %ld) has them",
                         whole->id);
        run = &copy;
    }
    if (run->discs.n == 0) {
        if (run != whole)
            sfr_disc_list_cleanup(&copy.discs);
        fputs("<p>None.</p></section>\n", out);
        return;
    }
    size_t *ix = sfr_report_order(run, true);
    const struct sfr_disc_list *lists[1] = {&run->discs};
    const size_t *ixs[1] = {ix};
    sfr_html_filters_for(out, lists, 1, ixs);
    struct sfr_html_list how = {NULL, run->id, true, run->instance_url, NULL, group_rows};
    sfr_html_groups(out, &run->discs, ix, &how);
    free(ix);
    if (run != whole)
        sfr_disc_list_cleanup(&copy.discs);
    fputs("</section>\n", out);
}

void sfr_report_write_html(FILE *out, const struct sfr_run *run, const struct sfr_trend *trend,
                           long group_rows)
{
    long by_cause[SFR_CAUSE_N];
    long total = run_total(run, by_cause);
    char title[96];
    if (run->id > 0)
        snprintf(title, sizeof(title), "sfrecon audit run %ld: %s", run->id, run->status);
    else
        snprintf(title, sizeof(title), "sfrecon audit: %s", run->status);
    sfr_html_begin(out, title);
    fputs("<header><h1>", out);
    sfr_html_esc(out, run->id > 0 ? "sfrecon audit run " : "sfrecon audit");
    if (run->id > 0)
        fprintf(out, "%ld", run->id);
    fputs(" ", out);
    sfr_html_status(out, run->status);
    fputs("</h1><p class=\"sub\">", out);
    sfr_html_when(out, run->started_at);
    if (run->instance_url) { /* the host only: the page names no URL but record links */
        const char *host = strstr(run->instance_url, "://");
        fputs(" &middot; ", out);
        sfr_html_esc(out, host ? host + 3 : run->instance_url);
    }
    fputs("</p></header>\n", out);
    summary(out, run, by_cause, total);
    matrix(out, run, by_cause, total);
    sfr_html_trend(out, run, trend);
    list(out, run, group_rows);
    sfr_html_script(out);
    sfr_html_end(out);
}
