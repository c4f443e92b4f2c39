/* report.c — discrepancy reports as text, JSON, CSV and HTML (report.h), and
 * the JSON reader used by `repair --from`. The JSON shape is documented in
 * docs/report-format.md and is stable. */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "sfrecon/report.h"

bool sfr_format_parse(const char *s, enum sfr_format *out)
{
    static const char *const names[] = {"text", "json", "csv", "html"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum sfr_format)i;
            return true;
        }
    }
    return false;
}

void sfr_run_cleanup(struct sfr_run *r)
{
    for (int i = 0; i < r->n_objects; i++)
        free(r->objects[i].object);
    free(r->objects);
    sfr_strv_cleanup(&r->not_covered);
    sfr_disc_list_cleanup(&r->discs);
    memset(r, 0, sizeof(*r));
}

static long total_discs(const struct sfr_object_summary *o)
{
    long n = 0;
    for (int c = 0; c < SFR_CAUSE_N; c++)
        n += o->by_cause[c];
    return n;
}

/* Display form of a value: quoted, cut to 60 bytes at a character boundary
 * (never inside a UTF-8 sequence), control bytes shown as \n, \r, \xNN so
 * that a value can neither break the report's lines nor drive the terminal,
 * and values differing only in them do not look the same. */
static void show(FILE *out, const char *v)
{
    if (v == NULL) {
        fputs("NULL", out);
        return;
    }
    size_t n = strlen(v), cut = n > 60 ? 60 : n;
    while (cut < n && cut > 0 && ((unsigned char)v[cut] & 0xC0) == 0x80)
        cut--;
    fputc('\'', out);
    for (size_t i = 0; i < cut; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c == '\n')
            fputs("\\n", out);
        else if (c == '\r')
            fputs("\\r", out);
        else if ((c < 0x20 && c != '\t') || c == 0x7f)
            fprintf(out, "\\x%02x", c);
        else
            fputc(c, out);
    }
    fputs(cut < n ? "...'" : "'", out);
}

static void write_text(FILE *out, const struct sfr_run *run)
{
    if (run->id > 0)
        fprintf(out, "sfrecon audit run %ld: ", run->id);
    else
        fprintf(out, "sfrecon audit: ");
    fprintf(out, "%s (depth %s, %ld API calls)\n", run->status, run->depth, run->api_calls);
    fprintf(out, "%-20s %10s %10s %8s  %s\n", "object", "rows_sf", "rows_pg", "found", "by cause");
    long grand = 0;
    for (int i = 0; i < run->n_objects; i++) {
        const struct sfr_object_summary *o = &run->objects[i];
        long n = total_discs(o);
        grand += n;
        fprintf(out, "%-20s %10ld %10ld %8ld  ", o->object, o->rows_sf, o->rows_pg, n);
        int shown = 0;
        for (int c = 0; c < SFR_CAUSE_N; c++)
            if (o->by_cause[c] > 0)
                fprintf(out, "%s%s %ld", shown++ ? ", " : "", sfr_cause_name((enum sfr_cause)c),
                        o->by_cause[c]);
        fprintf(out, "%s (%ld calls, %.1f s)%s\n", shown ? "" : "-", o->api_calls, o->seconds,
                o->complete ? "" : " INCOMPLETE");
        if (o->changed_during > 0)
            fprintf(out,
                    "%-20s %ld record%s changed while the audit ran: rechecked, not reported\n", "",
                    o->changed_during, o->changed_during == 1 ? "" : "s");
    }
    fprintf(out, "%ld discrepanc%s\n", grand, grand == 1 ? "y" : "ies");
    for (size_t i = 0; i < run->not_covered.n; i++)
        fprintf(out, "not covered: %s\n", run->not_covered.v[i]);
    if (run->discs.n > 0)
        fputc('\n', out);
    for (size_t i = 0; i < run->discs.n; i++) {
        const struct sfr_discrepancy *d = &run->discs.v[i];
        fprintf(out, "%-15s %s %s: %s\n", sfr_cause_name(d->cause), d->object, d->sfid,
                d->detail ? d->detail : "");
        for (int f = 0; f < d->n_fields; f++) {
            fprintf(out, "    %s: salesforce ", d->fields[f].field);
            show(out, d->fields[f].sf_value);
            fputs(" | mirror ", out);
            show(out, d->fields[f].pg_value);
            fputc('\n', out);
        }
    }
}

static json_object *jstr(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

static json_object *disc_json(const struct sfr_discrepancy *d)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "object", jstr(d->object));
    json_object_object_add(o, "sfid", jstr(d->sfid));
    json_object_object_add(o, "cause", jstr(sfr_cause_name(d->cause)));
    json_object *fa = json_object_new_array();
    for (int f = 0; f < d->n_fields; f++) {
        json_object *fo = json_object_new_object();
        json_object_object_add(fo, "name", jstr(d->fields[f].field));
        json_object_object_add(fo, "sf", jstr(d->fields[f].sf_value));
        json_object_object_add(fo, "pg", jstr(d->fields[f].pg_value));
        json_object_array_add(fa, fo);
    }
    json_object_object_add(o, "fields", fa);
    json_object_object_add(o, "detail", jstr(d->detail ? d->detail : ""));
    json_object_object_add(o, "parent_object", jstr(d->parent_object));
    json_object_object_add(o, "parent_sfid", jstr(d->parent_sfid));
    json_object_object_add(o, "pg_id", d->pg_id ? json_object_new_int64(d->pg_id) : NULL);
    return o;
}

/* The run and summary parts of the JSON report; discrepancies are added only
 * when with_discrepancies (the writer streams them one by one instead, so
 * memory does not grow with their number). Caller puts the object. */
json_object *sfr_report_json(const struct sfr_run *run, bool with_discrepancies);
json_object *sfr_report_json(const struct sfr_run *run, bool with_discrepancies)
{
    json_object *root = json_object_new_object();
    json_object *r = json_object_new_object();
    json_object_object_add(r, "id", run->id ? json_object_new_int64(run->id) : NULL);
    json_object_object_add(r, "started_at", jstr(run->started_at));
    json_object_object_add(r, "finished_at", jstr(run->finished_at));
    json_object_object_add(r, "status", jstr(run->status));
    json_object_object_add(r, "depth", jstr(run->depth));
    json_object_object_add(r, "api_calls", json_object_new_int64(run->api_calls));
    json_object_object_add(r, "complete", json_object_new_boolean(run->complete));
    json_object *nc = json_object_new_array();
    for (size_t i = 0; i < run->not_covered.n; i++)
        json_object_array_add(nc, jstr(run->not_covered.v[i]));
    json_object_object_add(r, "not_covered", nc);
    json_object_object_add(root, "run", r);
    json_object *sum = json_object_new_array();
    for (int i = 0; i < run->n_objects; i++) {
        const struct sfr_object_summary *o = &run->objects[i];
        json_object *so = json_object_new_object();
        json_object_object_add(so, "object", jstr(o->object));
        json_object_object_add(so, "rows_sf", json_object_new_int64(o->rows_sf));
        json_object_object_add(so, "rows_pg", json_object_new_int64(o->rows_pg));
        json_object_object_add(so, "discrepancies", json_object_new_int64(total_discs(o)));
        json_object *bc = json_object_new_object();
        for (int c = 0; c < SFR_CAUSE_N; c++)
            json_object_object_add(bc, sfr_cause_name((enum sfr_cause)c),
                                   json_object_new_int64(o->by_cause[c]));
        json_object_object_add(so, "by_cause", bc);
        json_object_object_add(so, "api_calls", json_object_new_int64(o->api_calls));
        json_object_object_add(so, "seconds", json_object_new_double(o->seconds));
        json_object_object_add(so, "complete", json_object_new_boolean(o->complete));
        json_object_object_add(so, "changed_during_audit",
                               json_object_new_int64(o->changed_during));
        json_object_array_add(sum, so);
    }
    json_object_object_add(root, "summary", sum);
    if (with_discrepancies) {
        json_object *da = json_object_new_array();
        for (size_t i = 0; i < run->discs.n; i++)
            json_object_array_add(da, disc_json(&run->discs.v[i]));
        json_object_object_add(root, "discrepancies", da);
    }
    return root;
}

static void csv_field(FILE *out, const char *s, bool last)
{
    if (s != NULL) {
        bool quote = strpbrk(s, ",\"\r\n") != NULL || *s == '\0';
        if (quote)
            fputc('"', out);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', out);
            fputc(*s, out);
        }
        if (quote)
            fputc('"', out);
    }
    fputs(last ? "\r\n" : ",", out);
}

static void write_csv(FILE *out, const struct sfr_run *run)
{
    fputs("run_id,object,sfid,cause,field,sf_value,pg_value,detail\r\n", out);
    char id[32];
    snprintf(id, sizeof(id), "%ld", run->id);
    for (size_t i = 0; i < run->discs.n; i++) {
        const struct sfr_discrepancy *d = &run->discs.v[i];
        int n = d->n_fields > 0 ? d->n_fields : 1;
        for (int f = 0; f < n; f++) {
            const struct sfr_field_diff *fd = d->n_fields > 0 ? &d->fields[f] : NULL;
            csv_field(out, id, false);
            csv_field(out, d->object, false);
            csv_field(out, d->sfid, false);
            csv_field(out, sfr_cause_name(d->cause), false);
            csv_field(out, fd ? fd->field : NULL, false);
            csv_field(out, fd ? fd->sf_value : NULL, false);
            csv_field(out, fd ? fd->pg_value : NULL, false);
            csv_field(out, d->detail, true);
        }
    }
}

static void html_esc(FILE *out, const char *s)
{
    if (s == NULL) {
        fputs("<i>null</i>", out);
        return;
    }
    for (; *s; s++) {
        switch (*s) {
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
        default:
            fputc(*s, out);
        }
    }
}

static void write_html(FILE *out, const struct sfr_run *run)
{
    fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>sfrecon audit</title>\n"
          "<style>body{font-family:sans-serif}table{border-collapse:collapse}"
          "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
          "th{background:#eee}.c{font-family:monospace}</style></head><body>\n",
          out);
    fprintf(out, "<h1>sfrecon audit %ld: ", run->id);
    html_esc(out, run->status);
    fprintf(out, "</h1>\n<p>depth %s, %ld API calls, started ", run->depth, run->api_calls);
    html_esc(out, run->started_at);
    fputs("</p>\n<table><tr><th>object</th><th>rows (Salesforce)</th><th>rows (mirror)</th>", out);
    for (int c = 0; c < SFR_CAUSE_N; c++)
        fprintf(out, "<th>%s</th>", sfr_cause_name((enum sfr_cause)c));
    fputs("</tr>\n", out);
    for (int i = 0; i < run->n_objects; i++) {
        const struct sfr_object_summary *o = &run->objects[i];
        fputs("<tr><td>", out);
        html_esc(out, o->object);
        fprintf(out, "</td><td>%ld</td><td>%ld</td>", o->rows_sf, o->rows_pg);
        for (int c = 0; c < SFR_CAUSE_N; c++)
            fprintf(out, "<td>%ld</td>", o->by_cause[c]);
        fputs("</tr>\n", out);
    }
    fputs("</table>\n<h2>Discrepancies</h2>\n<table><tr><th>object</th><th>sfid</th>"
          "<th>cause</th><th>detail</th><th>fields (Salesforce | mirror)</th></tr>\n",
          out);
    for (size_t i = 0; i < run->discs.n; i++) {
        const struct sfr_discrepancy *d = &run->discs.v[i];
        fputs("<tr><td>", out);
        html_esc(out, d->object);
        fputs("</td><td class=\"c\">", out);
        html_esc(out, d->sfid);
        fprintf(out, "</td><td>%s</td><td>", sfr_cause_name(d->cause));
        html_esc(out, d->detail);
        fputs("</td><td>", out);
        for (int f = 0; f < d->n_fields; f++) {
            html_esc(out, d->fields[f].field);
            fputs(": ", out);
            html_esc(out, d->fields[f].sf_value);
            fputs(" | ", out);
            html_esc(out, d->fields[f].pg_value);
            fputs("<br>", out);
        }
        fputs("</td></tr>\n", out);
    }
    fputs("</table>\n</body></html>\n", out);
}

/* {"run":...,"summary":[...],"discrepancies":[...]}: the first two built with
 * json-c, each discrepancy serialised and freed in turn. */
static void write_json(FILE *out, const struct sfr_run *run)
{
    const int flags = JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE;
    json_object *head = sfr_report_json(run, false);
    json_object *r = NULL, *sum = NULL;
    json_object_object_get_ex(head, "run", &r);
    json_object_object_get_ex(head, "summary", &sum);
    fprintf(out, "{\n\"run\":%s,\n\"summary\":%s,\n\"discrepancies\":[",
            json_object_to_json_string_ext(r, flags), json_object_to_json_string_ext(sum, flags));
    json_object_put(head);
    for (size_t i = 0; i < run->discs.n; i++) {
        json_object *d = disc_json(&run->discs.v[i]);
        fprintf(out, "%s\n%s", i ? "," : "", json_object_to_json_string_ext(d, flags));
        json_object_put(d);
    }
    fputs("\n]\n}\n", out);
}

void sfr_report_write(FILE *out, const struct sfr_run *run, enum sfr_format fmt)
{
    switch (fmt) {
    case SFR_FMT_TEXT:
        write_text(out, run);
        break;
    case SFR_FMT_JSON:
        write_json(out, run);
        break;
    case SFR_FMT_CSV:
        write_csv(out, run);
        break;
    case SFR_FMT_HTML:
        write_html(out, run);
        break;
    }
}

static const char *jget_str(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || v == NULL ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static enum sfr_rc load_disc(json_object *jd, size_t i, const char *path, struct sfr_discrepancy *d,
                             struct sfr_err *err)
{
    memset(d, 0, sizeof(*d));
    const char *obj = jget_str(jd, "object"), *sfid = jget_str(jd, "sfid");
    const char *cause = jget_str(jd, "cause");
    if (obj == NULL || sfid == NULL || cause == NULL)
        return sfr_err_set(err, SFR_ECONFIG,
                           "%s: discrepancies[%zu]: needs string keys object, sfid and cause", path,
                           i);
    if (!sfr_cause_parse(cause, &d->cause))
        return sfr_err_set(err, SFR_ECONFIG, "%s: discrepancies[%zu].cause: unknown cause '%s'",
                           path, i, cause);
    d->object = sfr_strdup(obj);
    d->sfid = sfr_strdup(sfid);
    d->detail = sfr_strdup(jget_str(jd, "detail"));
    d->parent_object = sfr_strdup(jget_str(jd, "parent_object"));
    d->parent_sfid = sfr_strdup(jget_str(jd, "parent_sfid"));
    d->sf_mod_ms = d->pg_mod_ms = INT64_MIN;
    json_object *v;
    if (json_object_object_get_ex(jd, "pg_id", &v) && v != NULL)
        d->pg_id = (long)json_object_get_int64(v);
    if (json_object_object_get_ex(jd, "fields", &v) && json_object_is_type(v, json_type_array)) {
        for (size_t f = 0; f < json_object_array_length(v); f++) {
            json_object *jf = json_object_array_get_idx(v, f);
            const char *name = jget_str(jf, "name");
            if (name != NULL)
                sfr_discrepancy_add_field(d, name, jget_str(jf, "sf"), jget_str(jf, "pg"));
        }
    }
    return SFR_OK;
}

enum sfr_rc sfr_report_load_json(const char *path, struct sfr_run *run, struct sfr_err *err)
{
    memset(run, 0, sizeof(*run));
    json_object *root = json_object_from_file(path);
    if (root == NULL)
        return sfr_err_set(err, SFR_ECONFIG, "%s: cannot read a JSON report: %s", path,
                           json_util_get_last_err() ? json_util_get_last_err() : "parse error");
    enum sfr_rc rc = SFR_OK;
    json_object *r, *da;
    if (json_object_object_get_ex(root, "run", &r) && r != NULL) {
        json_object *id;
        if (json_object_object_get_ex(r, "id", &id) && id != NULL)
            run->id = (long)json_object_get_int64(id);
        const char *s = jget_str(r, "status");
        snprintf(run->status, sizeof(run->status), "%s", s ? s : "");
        s = jget_str(r, "depth");
        snprintf(run->depth, sizeof(run->depth), "%s", s ? s : "");
    }
    if (!json_object_object_get_ex(root, "discrepancies", &da) ||
        !json_object_is_type(da, json_type_array)) {
        rc = sfr_err_set(err, SFR_ECONFIG, "%s: discrepancies: expected an array", path);
        goto out;
    }
    for (size_t i = 0; i < json_object_array_length(da); i++) {
        struct sfr_discrepancy d;
        rc = load_disc(json_object_array_get_idx(da, i), i, path, &d, err);
        if (rc != SFR_OK) {
            sfr_discrepancy_cleanup(&d);
            goto out;
        }
        sfr_disc_list_push(&run->discs, &d);
    }
out:
    json_object_put(root);
    if (rc != SFR_OK)
        sfr_run_cleanup(run);
    return rc;
}
