/* html_chart.c — the trend chart of the HTML report: discrepancies of each
 * stored run (the night's audit, usually) as a bar stacked by cause, oldest
 * on the left, this run outlined. Pure inline SVG with a <title> on every
 * segment (the numbers show on hover and to screen readers) and an HTML
 * legend below. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "html_internal.h"
#include "report_internal.h"

#define CW 900.0 /* viewBox size */
#define CH 250.0
#define ML 56.0 /* margins */
#define MR 12.0
#define MT 14.0
#define MB 44.0

static long point_total(const struct sfr_trend_point *p)
{
    long n = 0;
    for (int c = 0; c < SFR_CAUSE_N; c++)
        n += p->by_cause[c];
    return n;
}

/* The smallest 1, 2 or 5 x 10^k step giving at most 5 ticks up to max. */
static long tick_step(long max)
{
    long step = 1;
    for (;;) {
        for (int m = 0; m < 3; m++) {
            long s = step * (m == 0 ? 1 : m == 1 ? 2 : 5);
            if (max / s <= 4)
                return s;
        }
        step *= 10;
    }
}

static void axes(FILE *out, long top, long step)
{
    for (long v = 0; v <= top; v += step) {
        double y = MT + (CH - MT - MB) * (1.0 - (double)v / (double)top);
        char a[32];
        sfr_html_thousands(v, a);
        fprintf(out,
                "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e7eb\"/>"
                "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"11\" "
                "fill=\"#5b6571\">%s</text>\n",
                ML, CW - MR, y, y, ML - 6, y + 4, a);
    }
}

static void bar(FILE *out, const struct sfr_trend_point *p, double x, double w, long top,
                bool current)
{
    double base = CH - MB, span = CH - MT - MB, y = base;
    char a[32];
    sfr_html_thousands(point_total(p), a);
    fprintf(out, "<g><title>run %ld, %.10s: %s discrepancies (%s)</title>\n", p->run_id,
            p->started_at, a, p->status);
    for (int c = 0; c < SFR_CAUSE_N; c++) {
        if (p->by_cause[c] == 0)
            continue;
        double h = span * (double)p->by_cause[c] / (double)top;
        y -= h;
        sfr_html_thousands(p->by_cause[c], a);
        fprintf(out,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">"
                "<title>run %ld, %.10s: %s %s</title></rect>\n",
                x, y, w, h < 0.5 ? 0.5 : h, sfr_html_cause_color((enum sfr_cause)c), p->run_id,
                p->started_at, sfr_cause_name((enum sfr_cause)c), a);
    }
    if (point_total(p) == 0)
        fprintf(out,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"2\" fill=\"#2e7d32\">"
                "<title>run %ld, %.10s: clean</title></rect>\n",
                x, base - 2, w, p->run_id, p->started_at);
    if (current)
        fprintf(out,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
                "stroke=\"#111\" stroke-width=\"2\"/>\n",
                x - 2, (y < base - 2 ? y : base - 2) - 2, w + 4,
                base - (y < base - 2 ? y : base - 2) + 2);
    fputs("</g>\n", out);
}

static void chart(FILE *out, const struct sfr_trend_point *pts, size_t n, long current)
{
    long max = 1;
    for (size_t i = 0; i < n; i++)
        max = point_total(&pts[i]) > max ? point_total(&pts[i]) : max;
    long step = tick_step(max), top = (max + step - 1) / step * step;
    fprintf(out,
            "<svg class=\"chart\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
            "aria-label=\"Discrepancies per stored run, by cause\">\n",
            CW, CH);
    axes(out, top, step);
    double slot = (CW - ML - MR) / (double)n, w = slot * 0.7 > 40 ? 40 : slot * 0.7;
    size_t every = n / 16 + 1;
    for (size_t i = 0; i < n; i++) {
        double x = ML + slot * (double)i + (slot - w) / 2;
        bar(out, &pts[i], x, w, top, pts[i].run_id == current);
        if (i % every == 0 || i + 1 == n)
            fprintf(out,
                    "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\" font-size=\"11\" "
                    "fill=\"#5b6571\">%.5s</text>\n",
                    x + w / 2, CH - MB + 15, pts[i].started_at + 5);
    }
    fprintf(out,
            "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.0f\" y2=\"%.0f\" stroke=\"#8a939d\"/>\n"
            "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\" font-size=\"11\" "
            "fill=\"#5b6571\">%.10s to %.10s (UTC), one bar per run</text>\n</svg>\n",
            ML, CW - MR, CH - MB, CH - MB, (ML + CW - MR) / 2, CH - 6, pts[0].started_at,
            pts[n - 1].started_at);
}

static void legend(FILE *out, const struct sfr_trend_point *pts, size_t n)
{
    fputs("<p class=\"legend\">", out);
    for (int c = 0; c < SFR_CAUSE_N; c++) {
        bool any = false;
        for (size_t i = 0; i < n && !any; i++)
            any = pts[i].by_cause[c] > 0;
        if (any)
            fprintf(out, "<span><i class=\"sw\" style=\"background:%s\"></i>%s</span>",
                    sfr_html_cause_color((enum sfr_cause)c), sfr_cause_name((enum sfr_cause)c));
    }
    fputs("</p>\n", out);
}

void sfr_html_trend(FILE *out, const struct sfr_run *run, const struct sfr_trend *trend)
{
    size_t n = trend ? trend->n : 0;
    bool has_run = false;
    for (size_t i = 0; i < n && !has_run; i++)
        has_run = run->id > 0 && trend->v[i].run_id == run->id;
    struct sfr_trend_point *pts = sfr_calloc(n + 1, sizeof(*pts));
    if (n)
        memcpy(pts, trend->v, n * sizeof(*pts));
    if (!has_run) { /* this run is not stored (yet): it is the last bar */
        struct sfr_trend_point *p = &pts[n++];
        p->run_id = run->id;
        snprintf(p->started_at, sizeof(p->started_at), "%s", run->started_at);
        snprintf(p->status, sizeof(p->status), "%s", run->status);
        for (int i = 0; i < run->n_objects; i++)
            for (int c = 0; c < SFR_CAUSE_N; c++)
                p->by_cause[c] += run->objects[i].by_cause[c];
    }
    fputs("<section id=\"trend\"><h2>Discrepancies per run</h2>\n", out);
    if (n < 2)
        fputs("<p class=\"mut\">Only this run is stored so far: the trend grows with every "
              "stored audit.</p>\n",
              out);
    chart(out, pts, n, run->id);
    legend(out, pts, n);
    fputs("</section>\n", out);
    free(pts);
}
