/* report.c — discrepancy reports as text, JSON and CSV (report.h), the order
 * and display text every writer shares, the dispatcher to the HTML and
 * Prometheus writers (html.c, prometheus.c), and the JSON reader used by
 * `repair --from`. The JSON shape is documented in docs/report-format.md and
 * is stable. */
#include <ctype.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "report_internal.h"
#include "sfrecon/canon.h"
#include "sfrecon/json.h"
#include "sfrecon/log.h"
#include "sfrecon/report.h"

static const char *const format_names[] = {"text", "json", "csv", "html", "prometheus"};

const char *sfr_format_names(void)
{
    return "text, json, csv, html or prometheus";
}

bool sfr_format_parse(const char *s, enum sfr_format *out)
{
    for (int i = 0; i < (int)(sizeof(format_names) / sizeof(format_names[0])); i++) {
        if (strcmp(s, format_names[i]) == 0) {
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
    sfr_strv_cleanup(&r->notes);
    sfr_disc_list_cleanup(&r->discs);
    free(r->instance_url);
    memset(r, 0, sizeof(*r));
}

void sfr_trend_cleanup(struct sfr_trend *t)
{
    free(t->v);
    memset(t, 0, sizeof(*t));
}

long sfr_report_total(const struct sfr_object_summary *o)
{
    long n = 0;
    for (int c = 0; c < SFR_CAUSE_N; c++)
        n += o->by_cause[c];
    return n;
}

void sfr_report_num(double v, char out[48])
{
    snprintf(out, 48, "%.3f", v);
    char *dot = strchr(out, '.');
    if (dot == NULL)
        return;
    char *e = out + strlen(out) - 1;
    while (e > dot && *e == '0')
        *e-- = '\0';
    if (e == dot)
        *e = '\0';
    if (strcmp(out, "-0") == 0)
        strcpy(out, "0");
}

json_object *sfr_report_json_num(double v)
{
    char b[48];
    sfr_report_num(v, b);
    return json_object_new_double_s(v, b);
}

double sfr_report_duration(const char *started_at, const char *finished_at)
{
    int64_t a, b;
    if (started_at == NULL || finished_at == NULL || !*started_at || !*finished_at ||
        !sfr_parse_datetime_ms(started_at, strlen(started_at), &a) ||
        !sfr_parse_datetime_ms(finished_at, strlen(finished_at), &b) || b < a)
        return -1;
    return (double)(b - a) / 1000.0;
}

/* ---- display text of a detail ---- */

/* "CODE: message" (Salesforce's errorCode prefix) -> "message (CODE)". */
static void put_coded(struct sfr_buf *b, const char *msg, const char *code)
{
    size_t k = 0;
    while (msg != NULL && (isupper((unsigned char)msg[k]) || msg[k] == '_'))
        k++;
    if (code == NULL && msg != NULL && k > 2 && msg[k] == ':' && msg[k + 1] == ' ') {
        sfr_buf_printf(b, "%s (%.*s)", msg + k + 2, (int)k, msg);
        return;
    }
    if (msg != NULL && code != NULL && strncmp(msg, code, strlen(code)) == 0 &&
        strncmp(msg + strlen(code), ": ", 2) == 0)
        msg += strlen(code) + 2;
    if (msg != NULL && *msg)
        sfr_buf_printf(b, code ? "%s (%s)" : "%s", msg, code);
    else
        sfr_buf_puts(b, code ? code : "(no message)");
}

static const char *jfirst(json_object *o, const char *const *keys)
{
    json_object *v;
    for (; *keys; keys++)
        if (json_object_object_get_ex(o, *keys, &v) && v != NULL &&
            !json_object_is_type(v, json_type_object) && !json_object_is_type(v, json_type_array))
            return json_object_get_string(v);
    return NULL;
}

/* One error object ({"message":..,"errorCode":..} as Salesforce writes it,
 * or {"msg":..,"code":..}); false when it has neither. */
static bool put_error_obj(struct sfr_buf *b, json_object *o)
{
    static const char *const mk[] = {"message", "msg", "error", "sf_message", NULL};
    static const char *const ck[] = {"errorCode", "code", "statusCode", "error_code", NULL};
    if (!json_object_is_type(o, json_type_object))
        return false;
    const char *m = jfirst(o, mk), *c = jfirst(o, ck);
    if (m == NULL && c == NULL)
        return false;
    put_coded(b, m, c);
    return true;
}

/* sync_error: the text after "failed: " is the raw _hc_err or trigger-log
 * message; JSON is shown as message and code, other text as it is. */
static char *sync_error_text(const char *detail)
{
    const char *j = strpbrk(detail, "{[");
    const char *colon = strstr(detail, ": ");
    struct sfr_buf b = SFR_BUF_INIT;
    if (j != NULL) {
        json_object *o = json_tokener_parse(j);
        bool ok = o != NULL;
        if (ok) {
            sfr_buf_append(&b, detail, (size_t)(j - detail));
            if (json_object_is_type(o, json_type_array)) {
                size_t n = json_object_array_length(o);
                ok = n > 0;
                for (size_t i = 0; ok && i < n; i++) {
                    if (i)
                        sfr_buf_puts(&b, "; ");
                    ok = put_error_obj(&b, json_object_array_get_idx(o, i));
                }
            } else {
                ok = put_error_obj(&b, o);
            }
        }
        json_object_put(o);
        if (ok)
            return sfr_buf_steal(&b);
        sfr_buf_reset(&b);
    }
    if (colon != NULL) {
        sfr_buf_append(&b, detail, (size_t)(colon - detail) + 2);
        put_coded(&b, colon + 2, NULL);
        return sfr_buf_steal(&b);
    }
    sfr_buf_cleanup(&b);
    return sfr_strdup(detail);
}

char *sfr_report_detail(const struct sfr_discrepancy *d)
{
    const char *detail = d->detail ? d->detail : "";
    if (d->cause == SFR_CAUSE_MISSING_PARENT && d->parent_object && d->parent_sfid)
        return sfr_asprintf("%s points to %s %s, absent from the mirror",
                            d->n_fields > 0 ? d->fields[0].field : "a reference", d->parent_object,
                            d->parent_sfid);
    if (d->cause == SFR_CAUSE_SYNC_ERROR && *detail)
        return sync_error_text(detail);
    return sfr_strdup(detail);
}

/* ---- report order ---- */

struct order_ctx {
    const struct sfr_disc_list *l;
    int *rank; /* per discrepancy: its object's place */
    bool by_cause;
};

static int cmp_disc(const void *pa, const void *pb, void *arg)
{
    const struct order_ctx *oc = arg;
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    const struct sfr_discrepancy *x = &oc->l->v[a], *y = &oc->l->v[b];
    if (oc->rank[a] != oc->rank[b])
        return oc->rank[a] < oc->rank[b] ? -1 : 1;
    int c = strcmp(x->object, y->object);
    if (c == 0 && oc->by_cause && x->cause != y->cause)
        c = x->cause < y->cause ? -1 : 1;
    if (c == 0)
        c = strcmp(x->sfid ? x->sfid : "", y->sfid ? y->sfid : "");
    if (c == 0 && x->pg_id != y->pg_id)
        c = x->pg_id < y->pg_id ? -1 : 1;
    if (c == 0 && a != b)
        c = a < b ? -1 : 1;
    return c;
}

size_t *sfr_report_order_list(const struct sfr_disc_list *l,
                              const struct sfr_object_summary *objects, int n_objects,
                              bool by_cause)
{
    size_t n = l->n;
    size_t *ix = sfr_malloc((n ? n : 1) * sizeof(*ix));
    int *rank = sfr_malloc((n ? n : 1) * sizeof(*rank));
    for (size_t i = 0; i < n; i++) {
        ix[i] = i;
        rank[i] = n_objects;
        for (int k = 0; k < n_objects; k++)
            if (strcmp(objects[k].object, l->v[i].object) == 0) {
                rank[i] = k;
                break;
            }
    }
    struct order_ctx oc = {l, rank, by_cause};
    qsort_r(ix, n, sizeof(*ix), cmp_disc, &oc);
    free(rank);
    return ix;
}

size_t *sfr_report_order(const struct sfr_run *run, bool by_cause)
{
    return sfr_report_order_list(&run->discs, run->objects, run->n_objects, by_cause);
}

/* Hands each discrepancy of the run to fn in report order: sorted by
 * object (audit order), cause and sfid when the run is held in memory; in
 * the order found (object by object) when it spilled to disk, so writing a
 * million of them holds one at a time. */
static void each_disc(const struct sfr_run *run, bool by_cause,
                      void (*fn)(void *ctx, size_t i, const struct sfr_discrepancy *d), void *ctx)
{
    if (run->discs.n_spilled == 0) {
        size_t *ix = sfr_report_order(run, by_cause);
        for (size_t i = 0; i < run->discs.n; i++)
            fn(ctx, i, &run->discs.v[ix[i]]);
        free(ix);
        return;
    }
    struct sfr_disc_iter it;
    sfr_disc_iter_begin(&it, &run->discs, 0);
    const struct sfr_discrepancy *d;
    for (size_t i = 0; (d = sfr_disc_iter_next(&it)) != NULL; i++)
        fn(ctx, i, d);
    if (it.err)
        sfr_log_warn("report: discrepancies spilled to a temporary file could not be read back; "
                     "the stored run (sfrecon report --run %ld) has them",
                     run->id);
    sfr_disc_iter_end(&it);
}

/* ---- text ---- */

size_t sfr_report_diverge(const char *a, const char *b)
{
    size_t i = 0;
    while (a[i] && a[i] == b[i])
        i++;
    while (i > 0 && ((unsigned char)a[i] & 0xC0) == 0x80)
        i--; /* start of the character */
    return i;
}

static size_t utf8_chars(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n && s[i]; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

/* Byte length of the first `chars` characters of s (at most strlen). */
static size_t utf8_prefix(const char *s, size_t chars)
{
    size_t i = 0;
    while (s[i] && chars > 0) {
        i++;
        while (((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
        chars--;
    }
    return i;
}

/* A value for the text report: quoted, control bytes as \n, \r, \xNN, long values cut
 * to 60 characters starting a little before `from` (where the two sides
 * diverge), with the length. */
static void show(FILE *out, const char *v, size_t from)
{
    if (v == NULL) {
        fputs("NULL", out);
        return;
    }
    size_t chars = utf8_chars(v, strlen(v));
    size_t lo = 0;
    if (chars > 60 && from > 0) {
        size_t before = utf8_chars(v, from);
        lo = utf8_prefix(v, before > 20 ? before - 20 : 0);
    }
    size_t hi = lo + utf8_prefix(v + lo, 60);
    fputs(lo > 0 ? "'..." : "'", out);
    for (size_t i = lo; i < hi; i++) {
        /* control bytes visible, never raw: they would break lines or drive
         * the terminal, and values differing only in them would look alike */
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
    fputs(v[hi] ? "...'" : "'", out);
    if (chars > 60)
        fprintf(out, " (%zu chars)", chars);
}

static void text_disc(FILE *out, const struct sfr_discrepancy *d)
{
    char *detail = sfr_report_detail(d);
    fprintf(out, "%-15s %s %s: %s", sfr_cause_name(d->cause), d->object,
            d->sfid && *d->sfid ? d->sfid : "(no sfid)", detail);
    if (d->open_since > 0)
        fprintf(out, " (still open since run %ld)", d->open_since);
    fputc('\n', out);
    free(detail);
    if (d->cause == SFR_CAUSE_MISSING_PARENT && d->parent_sfid)
        return; /* the detail names the field and the parent */
    for (int f = 0; f < d->n_fields; f++) {
        const struct sfr_field_diff *fd = &d->fields[f];
        size_t from =
            fd->sf_value && fd->pg_value ? sfr_report_diverge(fd->sf_value, fd->pg_value) : 0;
        fprintf(out, "    %s: salesforce ", fd->field);
        show(out, fd->sf_value, from);
        fputs(" | mirror ", out);
        show(out, fd->pg_value, from);
        fputc('\n', out);
    }
}

static void text_disc_at(void *ctx, size_t i, const struct sfr_discrepancy *d)
{
    (void)i;
    text_disc(ctx, d);
}

/* The mapping, its org and app, and the mirror the run compared. */
static void write_text_context(FILE *out, const struct sfr_run *run)
{
    if (run->mapping[0] == '\0' && run->mirror_database[0] == '\0')
        return;
    fprintf(out, "mapping %s (organization_id %s, app_name %s); mirror database %s, schema %s\n",
            run->mapping[0] ? run->mapping : "-",
            run->organization_id[0] ? run->organization_id : "-",
            run->app_name[0] ? run->app_name : "-",
            run->mirror_database[0] ? run->mirror_database : "-",
            run->mirror_schema[0] ? run->mirror_schema : "-");
}

static void write_text(FILE *out, const struct sfr_run *run)
{
    if (run->id > 0)
        fprintf(out, "sfrecon audit run %ld: ", run->id);
    else
        fprintf(out, "sfrecon audit: ");
    fprintf(out, "%s (depth %s, %ld API calls)\n", run->status, run->depth, run->api_calls);
    write_text_context(out, run);
    fprintf(out, "%-20s %10s %10s %8s  %s\n", "object", "rows_sf", "rows_pg", "found", "by cause");
    long grand = 0;
    for (int i = 0; i < run->n_objects; i++) {
        const struct sfr_object_summary *o = &run->objects[i];
        long n = sfr_report_total(o);
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
                    "%-20s %ld record%s changed while the audit ran: compared again at the end"
                    "%s\n",
                    "", o->changed_during, o->changed_during == 1 ? "" : "s",
                    o->in_flight > 0 ? "; some still changing (in flight, below)" : "");
    }
    fprintf(out, "%ld discrepanc%s\n", grand, grand == 1 ? "y" : "ies");
    for (size_t i = 0; i < run->not_covered.n; i++)
        fprintf(out, "not covered: %s\n", run->not_covered.v[i]);
    for (size_t i = 0; i < run->notes.n; i++)
        fprintf(out, "note: %s\n", run->notes.v[i]);
    if (sfr_disc_list_count(&run->discs) > 0)
        fputc('\n', out);
    each_disc(run, false, text_disc_at, out);
}

/* ---- JSON ---- */

static json_object *jstr(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

json_object *sfr_report_disc_json(const struct sfr_discrepancy *d)
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
    char *detail = sfr_report_detail(d);
    json_object_object_add(o, "detail", jstr(detail));
    free(detail);
    json_object_object_add(o, "parent_object", jstr(d->parent_object));
    json_object_object_add(o, "parent_sfid", jstr(d->parent_sfid));
    json_object_object_add(o, "pg_id", d->pg_id ? json_object_new_int64(d->pg_id) : NULL);
    if (d->open_since > 0)
        json_object_object_add(o, "open_since", json_object_new_int64(d->open_since));
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
    json_object *notes = json_object_new_array();
    for (size_t i = 0; i < run->notes.n; i++)
        json_object_array_add(notes, jstr(run->notes.v[i]));
    json_object_object_add(r, "notes", notes);
    if (run->instance_url)
        json_object_object_add(r, "instance_url", jstr(run->instance_url));
    if (run->api_daily_max > 0) {
        json_object_object_add(r, "api_daily_used", json_object_new_int64(run->api_daily_used));
        json_object_object_add(r, "api_daily_max", json_object_new_int64(run->api_daily_max));
    }
    json_object_object_add(root, "run", r);
    json_object *sum = json_object_new_array();
    for (int i = 0; i < run->n_objects; i++) {
        const struct sfr_object_summary *o = &run->objects[i];
        json_object *so = json_object_new_object();
        json_object_object_add(so, "object", jstr(o->object));
        json_object_object_add(so, "rows_sf", json_object_new_int64(o->rows_sf));
        json_object_object_add(so, "rows_pg", json_object_new_int64(o->rows_pg));
        json_object_object_add(so, "discrepancies", json_object_new_int64(sfr_report_total(o)));
        json_object *bc = json_object_new_object();
        for (int c = 0; c < SFR_CAUSE_N; c++)
            json_object_object_add(bc, sfr_cause_name((enum sfr_cause)c),
                                   json_object_new_int64(o->by_cause[c]));
        json_object_object_add(so, "by_cause", bc);
        json_object_object_add(so, "api_calls", json_object_new_int64(o->api_calls));
        json_object_object_add(so, "seconds", sfr_report_json_num(o->seconds));
        json_object_object_add(so, "complete", json_object_new_boolean(o->complete));
        json_object_object_add(so, "changed_during_audit",
                               json_object_new_int64(o->changed_during));
        json_object_object_add(so, "in_flight", json_object_new_int64(o->in_flight));
        json_object_array_add(sum, so);
    }
    json_object_object_add(root, "summary", sum);
    if (with_discrepancies) {
        json_object *da = json_object_new_array();
        struct sfr_disc_iter it;
        sfr_disc_iter_begin(&it, &run->discs, 0);
        const struct sfr_discrepancy *d;
        while ((d = sfr_disc_iter_next(&it)) != NULL)
            json_object_array_add(da, sfr_report_disc_json(d));
        sfr_disc_iter_end(&it);
        json_object_object_add(root, "discrepancies", da);
    }
    return root;
}

void sfr_report_json_put(FILE *out, json_object *o, int indent)
{
    const char *s =
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
    for (; *s; s++) {
        fputc(*s, out);
        if (*s == '\n')
            fprintf(out, "%*s", indent, "");
    }
}

static void json_disc_at(void *ctx, size_t i, const struct sfr_discrepancy *disc)
{
    FILE *out = ctx;
    json_object *d = sfr_report_disc_json(disc);
    fputs(i ? ",\n    " : "\n    ", out);
    sfr_report_json_put(out, d, 4);
    json_object_put(d);
}

/* {"run":...,"summary":[...],"discrepancies":[...]}, two-space indentation
 * throughout: run and summary built with json-c, each discrepancy
 * serialised and freed in turn, in report order. */
static void write_json(FILE *out, const struct sfr_run *run)
{
    json_object *head = sfr_report_json(run, false);
    json_object *r = NULL, *sum = NULL;
    json_object_object_get_ex(head, "run", &r);
    json_object_object_get_ex(head, "summary", &sum);
    fputs("{\n  \"run\":", out);
    sfr_report_json_put(out, r, 2);
    fputs(",\n  \"summary\":", out);
    sfr_report_json_put(out, sum, 2);
    json_object_put(head);
    fputs(",\n  \"discrepancies\":[", out);
    each_disc(run, false, json_disc_at, out);
    fputs(sfr_disc_list_count(&run->discs) ? "\n  ]\n}\n" : "]\n}\n", out);
}

/* ---- CSV ---- */

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

struct csv_ctx {
    FILE *out;
    char id[32];
};

static void csv_disc_at(void *ctx, size_t i, const struct sfr_discrepancy *d)
{
    (void)i;
    struct csv_ctx *c = ctx;
    FILE *out = c->out;
    char *detail = sfr_report_detail(d);
    int n = d->n_fields > 0 ? d->n_fields : 1;
    for (int f = 0; f < n; f++) {
        const struct sfr_field_diff *fd = d->n_fields > 0 ? &d->fields[f] : NULL;
        csv_field(out, c->id, false);
        csv_field(out, d->object, false);
        csv_field(out, d->sfid, false);
        csv_field(out, sfr_cause_name(d->cause), false);
        csv_field(out, fd ? fd->field : NULL, false);
        csv_field(out, fd ? fd->sf_value : NULL, false);
        csv_field(out, fd ? fd->pg_value : NULL, false);
        csv_field(out, detail, true);
    }
    free(detail);
}

static void write_csv(FILE *out, const struct sfr_run *run)
{
    fputs("run_id,object,sfid,cause,field,sf_value,pg_value,detail\r\n", out);
    struct csv_ctx c = {out, ""};
    snprintf(c.id, sizeof(c.id), "%ld", run->id);
    each_disc(run, false, csv_disc_at, &c);
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
        sfr_report_write_html(out, run, NULL, SFR_HTML_GROUP_ROWS);
        break;
    case SFR_FMT_PROMETHEUS: {
        struct sfr_metrics m = {run, INT64_MIN, -1, -1};
        int64_t fin;
        bool ok = strcmp(run->status, "clean") == 0 || strcmp(run->status, "discrepancies") == 0;
        if (ok && sfr_parse_datetime_ms(run->finished_at, strlen(run->finished_at), &fin))
            m.last_success_ms = fin;
        sfr_report_write_prometheus(out, &m);
        break;
    }
    }
}

static enum sfr_rc load_disc(json_object *jd, size_t i, const char *path, struct sfr_discrepancy *d,
                             struct sfr_err *err)
{
    memset(d, 0, sizeof(*d));
    const char *obj = sfr_json_str(jd, "object"), *sfid = sfr_json_str(jd, "sfid");
    const char *cause = sfr_json_str(jd, "cause");
    if (obj == NULL || sfid == NULL || cause == NULL)
        return sfr_err_set(err, SFR_ECONFIG,
                           "%s: discrepancies[%zu]: needs string keys object, sfid and cause", path,
                           i);
    if (!sfr_cause_parse(cause, &d->cause))
        return sfr_err_set(err, SFR_ECONFIG, "%s: discrepancies[%zu].cause: unknown cause '%s'",
                           path, i, cause);
    d->object = sfr_strdup(obj);
    d->sfid = sfr_strdup(sfid);
    d->detail = sfr_strdup(sfr_json_str(jd, "detail"));
    d->parent_object = sfr_strdup(sfr_json_str(jd, "parent_object"));
    d->parent_sfid = sfr_strdup(sfr_json_str(jd, "parent_sfid"));
    d->sf_mod_ms = d->pg_mod_ms = INT64_MIN;
    json_object *v;
    if (json_object_object_get_ex(jd, "pg_id", &v) && v != NULL)
        d->pg_id = (long)json_object_get_int64(v);
    if (json_object_object_get_ex(jd, "fields", &v) && json_object_is_type(v, json_type_array)) {
        for (size_t f = 0; f < json_object_array_length(v); f++) {
            json_object *jf = json_object_array_get_idx(v, f);
            const char *name = sfr_json_str(jf, "name");
            if (name != NULL)
                sfr_discrepancy_add_field(d, name, sfr_json_str(jf, "sf"), sfr_json_str(jf, "pg"));
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
        const char *s = sfr_json_str(r, "status");
        snprintf(run->status, sizeof(run->status), "%s", s ? s : "");
        s = sfr_json_str(r, "depth");
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
