/* lint.c — the lint result (a list of findings), the driver that runs the
 * check groups in order, name helpers shared by the checks, and the text and
 * JSON writers. Findings own their strings; the sort is stable so each
 * severity group keeps check order. */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "sfrecon/lint.h"
#include "sfrecon/mem.h"

void sfr_lint_result_init(struct sfr_lint_result *r)
{
    memset(r, 0, sizeof(*r));
}

void sfr_lint_result_cleanup(struct sfr_lint_result *r)
{
    if (r == NULL)
        return;
    for (int i = 0; i < r->n; i++) {
        struct sfr_lint_finding *f = &r->findings[i];
        sfr_free(f->code);
        sfr_free(f->object);
        sfr_free(f->field);
        sfr_free(f->message);
        sfr_free(f->why);
        sfr_free(f->fix);
    }
    sfr_free(r->findings);
    memset(r, 0, sizeof(*r));
}

void sfr_lint_add(struct sfr_lint_result *r, enum sfr_lint_severity sev, const char *code,
                  const char *object, const char *field, const char *why, const char *fix,
                  const char *fmt, ...)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->findings = sfr_realloc(r->findings, sizeof(*r->findings) * (size_t)r->cap);
    }
    struct sfr_lint_finding *f = &r->findings[r->n++];
    struct sfr_buf msg = SFR_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    sfr_buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    f->severity = sev;
    f->code = sfr_strdup(code);
    f->object = sfr_strdup(object != NULL ? object : "");
    f->field = sfr_strdup(field != NULL ? field : "");
    f->message = sfr_buf_steal(&msg);
    f->why = sfr_strdup(why != NULL ? why : "");
    f->fix = sfr_strdup(fix != NULL ? fix : "");
    r->n_by_severity[sev]++;
}

const char *sfr_lint_severity_name(enum sfr_lint_severity s)
{
    switch (s) {
    case SFR_LINT_ERROR:
        return "error";
    case SFR_LINT_WARNING:
        return "warning";
    default:
        return "info";
    }
}

/* PostgreSQL's reserved (R) and type/function-name (T) keywords, as
 * pg_get_keywords() lists them, plus system_user (reserved since 16). Sorted. */
/* clang-format off */
static const char *const reserved[] = {
    "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "authorization",
    "binary", "both", "case", "cast", "check", "collate", "collation", "column", "concurrently",
    "constraint", "create", "cross", "current_catalog", "current_date", "current_role",
    "current_schema", "current_time", "current_timestamp", "current_user", "default", "deferrable",
    "desc", "distinct", "do", "else", "end", "except", "false", "fetch", "for", "foreign",
    "freeze", "from", "full", "grant", "group", "having", "ilike", "in", "initially", "inner",
    "intersect", "into", "is", "isnull", "join", "lateral", "leading", "left", "like", "limit",
    "localtime", "localtimestamp", "natural", "not", "notnull", "null", "offset", "on", "only",
    "or", "order", "outer", "overlaps", "placing", "primary", "references", "returning", "right",
    "select", "session_user", "similar", "some", "symmetric", "system_user", "table",
    "tablesample", "then", "to", "trailing", "true", "union", "unique", "user", "using",
    "variadic", "verbose", "when", "where", "window", "with",
};
/* clang-format on */

static int cmp_word(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

bool sfr_lint_is_reserved(const char *name)
{
    char low[64];
    size_t n = strlen(name);
    if (n >= sizeof(low))
        return false;
    for (size_t i = 0; i <= n; i++)
        low[i] = (char)tolower((unsigned char)name[i]);
    const char *key = low;
    return bsearch(&key, reserved, sizeof(reserved) / sizeof(reserved[0]), sizeof(reserved[0]),
                   cmp_word) != NULL;
}

bool sfr_lint_needs_quoting(const char *name)
{
    if (name == NULL || name[0] == '\0')
        return true;
    if (!(islower((unsigned char)name[0]) || name[0] == '_'))
        return true;
    for (const char *p = name; *p; p++)
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_' || *p == '$'))
            return true;
    return sfr_lint_is_reserved(name);
}

char *sfr_lint_quote_ident(const char *name)
{
    struct sfr_buf b = SFR_BUF_INIT;
    sfr_buf_putc(&b, '"');
    for (const char *p = name; *p; p++) {
        if (*p == '"')
            sfr_buf_putc(&b, '"');
        sfr_buf_putc(&b, *p);
    }
    sfr_buf_putc(&b, '"');
    return sfr_buf_steal(&b);
}

char *sfr_lint_qualified(const char *schema, const char *table)
{
    char *s = sfr_lint_quote_ident(schema);
    char *t = sfr_lint_quote_ident(table);
    char *q = sfr_asprintf("%s.%s", s, t);
    sfr_free(s);
    sfr_free(t);
    return q;
}

/* Stable: insertion sort by descending severity (finding lists are short). */
static void sort_findings(struct sfr_lint_result *r)
{
    for (int i = 1; i < r->n; i++) {
        struct sfr_lint_finding f = r->findings[i];
        int j = i - 1;
        while (j >= 0 && r->findings[j].severity < f.severity) {
            r->findings[j + 1] = r->findings[j];
            j--;
        }
        r->findings[j + 1] = f;
    }
}

void sfr_lint_run_opts(const struct sfr_config *cfg, const struct sfr_schema *schema,
                       const struct sfr_mirror *mirror, const struct sfr_lint_opts *opts,
                       struct sfr_lint_result *out)
{
    struct sfr_lint_opts o = {0};
    if (opts != NULL)
        o = *opts;
    if (o.org_daily_limit <= 0)
        o.org_daily_limit = SFR_LINT_DEFAULT_ORG_LIMIT;
    if (o.config_path == NULL)
        o.config_path = cfg->path;
    sfr_lint_check_mapping(cfg, schema, &o, out);
    sfr_lint_check_names(cfg, schema, out);
    if (mirror != NULL)
        sfr_lint_check_mirror(cfg, schema, mirror, &o, out);
    else
        sfr_lint_add(out, SFR_LINT_INFO, "no_db", "", "",
                     "column types, lengths, system columns and indexes were not compared",
                     "set DATABASE_URL and run without --no-db",
                     "mirror checks skipped: no database (--no-db)");
    sort_findings(out);
}

void sfr_lint_run(const struct sfr_config *cfg, const struct sfr_schema *schema,
                  const struct sfr_mirror *mirror, struct sfr_lint_result *out)
{
    sfr_lint_run_opts(cfg, schema, mirror, NULL, out);
}

/* ---- output -------------------------------------------------------------- */

static void print_indented(FILE *f, const char *label, const char *text)
{
    fprintf(f, "  %s: ", label);
    for (const char *p = text; *p; p++) {
        fputc(*p, f);
        if (*p == '\n' && p[1] != '\0')
            fputs("       ", f);
    }
    fputc('\n', f);
}

void sfr_lint_print_text(FILE *f, const struct sfr_lint_result *r)
{
    for (int i = 0; i < r->n; i++) {
        const struct sfr_lint_finding *x = &r->findings[i];
        const char *obj = x->object[0] ? x->object : "(mapping)";
        fprintf(f, "%-7s  %s%s%s  %s: %s\n", sfr_lint_severity_name(x->severity), obj,
                x->field[0] ? "." : "", x->field, x->code, x->message);
        if (x->why[0])
            print_indented(f, "why", x->why);
        if (x->fix[0])
            print_indented(f, "fix", x->fix);
        fputc('\n', f);
    }
    fprintf(f, "%d error%s, %d warning%s, %d info\n", r->n_by_severity[SFR_LINT_ERROR],
            r->n_by_severity[SFR_LINT_ERROR] == 1 ? "" : "s", r->n_by_severity[SFR_LINT_WARNING],
            r->n_by_severity[SFR_LINT_WARNING] == 1 ? "" : "s", r->n_by_severity[SFR_LINT_INFO]);
}

void sfr_lint_print_json(FILE *f, const struct sfr_lint_result *r)
{
    json_object *root = json_object_new_object();
    json_object *arr = json_object_new_array();
    for (int i = 0; i < r->n; i++) {
        const struct sfr_lint_finding *x = &r->findings[i];
        json_object *o = json_object_new_object();
        char *msg = x->why[0] ? sfr_asprintf("%s. %s", x->message, x->why) : sfr_strdup(x->message);
        json_object_object_add(o, "severity",
                               json_object_new_string(sfr_lint_severity_name(x->severity)));
        json_object_object_add(o, "code", json_object_new_string(x->code));
        json_object_object_add(o, "object", json_object_new_string(x->object));
        json_object_object_add(o, "field", json_object_new_string(x->field));
        json_object_object_add(o, "message", json_object_new_string(msg));
        json_object_object_add(o, "fix", json_object_new_string(x->fix));
        json_object_array_add(arr, o);
        sfr_free(msg);
    }
    json_object_object_add(root, "findings", arr);
    fprintf(f, "%s\n",
            json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
                                                     JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(root);
}
