/* config.c — the mapping file (see config.h): a Heroku Connect export as is,
 * plus sfrecon's optional "sfrecon" object.
 *
 * json-c parses the document but does not know where a value came from, so a
 * small scanner walks the same text and records the line of every key path
 * ("mappings[2].config.access"). Every message a user sees then reads
 * "FILE:LINE: key.path: problem". Unknown keys are kept in cfg->doc. */
#include "sfrecon/config.h"
#include "sfrecon/mem.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_SCHEMA      "salesforce"
#define DEFAULT_API_VERSION "60.0"

/* ---- key path -> line index ---------------------------------------------- */

struct line_entry {
    char *path;
    int line;
};

struct line_index {
    struct line_entry *v;
    size_t n, cap;
};

struct scanner {
    const char *s;
    size_t len, pos;
    int line;
    int depth;
    struct line_index *idx;
};

static void index_add(struct line_index *idx, const char *path, size_t plen, int line)
{
    if (idx->n == idx->cap) {
        idx->cap = idx->cap ? idx->cap * 2 : 64;
        idx->v = sfr_realloc(idx->v, idx->cap * sizeof(*idx->v));
    }
    idx->v[idx->n].path = sfr_strndup(path, plen);
    idx->v[idx->n].line = line;
    idx->n++;
}

static void index_free(struct line_index *idx)
{
    if (idx == NULL)
        return;
    for (size_t i = 0; i < idx->n; i++)
        sfr_free(idx->v[i].path);
    sfr_free(idx->v);
    sfr_free(idx);
}

static int index_line(const struct line_index *idx, const char *path)
{
    if (idx == NULL)
        return 0;
    for (size_t i = 0; i < idx->n; i++)
        if (strcmp(idx->v[i].path, path) == 0)
            return idx->v[i].line;
    return 0;
}

static void skip_ws(struct scanner *sc)
{
    while (sc->pos < sc->len) {
        char c = sc->s[sc->pos];
        if (c == '\n')
            sc->line++;
        else if (c != ' ' && c != '\t' && c != '\r')
            return;
        sc->pos++;
    }
}

/* Appends the decoded-enough text of a JSON string (escapes kept as the
 * character after the backslash, enough for key names) to path. */
static bool scan_string(struct scanner *sc, struct sfr_buf *path)
{
    sc->pos++; /* opening quote */
    while (sc->pos < sc->len) {
        char c = sc->s[sc->pos++];
        if (c == '"')
            return true;
        if (c == '\n')
            sc->line++;
        if (c == '\\' && sc->pos < sc->len)
            c = sc->s[sc->pos++];
        if (path != NULL)
            sfr_buf_putc(path, c);
    }
    return false;
}

static bool scan_value(struct scanner *sc, struct sfr_buf *path);

static bool scan_object(struct scanner *sc, struct sfr_buf *path)
{
    size_t base = path->len;
    sc->pos++;
    for (;;) {
        skip_ws(sc);
        if (sc->pos >= sc->len)
            return false;
        if (sc->s[sc->pos] == '}') {
            sc->pos++;
            return true;
        }
        if (sc->s[sc->pos] == ',') {
            sc->pos++;
            continue;
        }
        if (sc->s[sc->pos] != '"')
            return false;
        int line = sc->line;
        if (base > 0)
            sfr_buf_putc(path, '.');
        if (!scan_string(sc, path))
            return false;
        index_add(sc->idx, path->data, path->len, line);
        skip_ws(sc);
        if (sc->pos >= sc->len || sc->s[sc->pos] != ':')
            return false;
        sc->pos++;
        if (!scan_value(sc, path))
            return false;
        path->len = base;
        path->data[base] = '\0';
    }
}

static bool scan_array(struct scanner *sc, struct sfr_buf *path)
{
    size_t base = path->len;
    int i = 0;
    sc->pos++;
    for (;;) {
        skip_ws(sc);
        if (sc->pos >= sc->len)
            return false;
        if (sc->s[sc->pos] == ']') {
            sc->pos++;
            return true;
        }
        if (sc->s[sc->pos] == ',') {
            sc->pos++;
            continue;
        }
        sfr_buf_printf(path, "[%d]", i++);
        index_add(sc->idx, path->data, path->len, sc->line);
        if (!scan_value(sc, path))
            return false;
        path->len = base;
        path->data[base] = '\0';
    }
}

static bool scan_value(struct scanner *sc, struct sfr_buf *path)
{
    skip_ws(sc);
    if (sc->pos >= sc->len || ++sc->depth > 200)
        return false;
    bool ok = true;
    char c = sc->s[sc->pos];
    if (c == '{')
        ok = scan_object(sc, path);
    else if (c == '[')
        ok = scan_array(sc, path);
    else if (c == '"')
        ok = scan_string(sc, NULL);
    else
        while (sc->pos < sc->len && strchr(",]} \t\r\n", sc->s[sc->pos]) == NULL)
            sc->pos++;
    sc->depth--;
    return ok;
}

static struct line_index *build_index(const char *text, size_t len)
{
    struct line_index *idx = sfr_calloc(1, sizeof(*idx));
    struct scanner sc = {text, len, 0, 1, 0, idx};
    struct sfr_buf path = SFR_BUF_INIT;
    sfr_buf_puts(&path, "");
    index_add(idx, "", 0, 1);
    (void)scan_value(&sc, &path); /* json-c already validated the text */
    sfr_buf_cleanup(&path);
    return idx;
}

/* ---- validation helpers ---------------------------------------------------- */

struct ctx {
    const char *file;
    struct line_index *idx;
    struct sfr_err *err;
};

/* Sets err to "FILE:LINE: PATH: problem"; the line is that of PATH or of its
 * nearest recorded ancestor. */
static enum sfr_rc fail(struct ctx *c, const char *path, const char *fmt, ...) SFR_PRINTF(3, 4);

static enum sfr_rc fail(struct ctx *c, const char *path, const char *fmt, ...)
{
    char msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    char *p = sfr_strdup(path);
    int line = 0;
    while ((line = index_line(c->idx, p)) == 0 && p[0] != '\0') {
        char *cut = strrchr(p, '.');
        char *br = strrchr(p, '[');
        if (br != NULL && (cut == NULL || br > cut))
            cut = br;
        if (cut == NULL)
            p[0] = '\0';
        else
            *cut = '\0';
    }
    sfr_free(p);
    if (line == 0)
        line = 1;
    if (path[0] == '\0')
        return sfr_err_set(c->err, SFR_ECONFIG, "%s:%d: %s", c->file, line, msg);
    return sfr_err_set(c->err, SFR_ECONFIG, "%s:%d: %s: %s", c->file, line, path, msg);
}

static const char *type_word(json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_null:
        return "null";
    case json_type_boolean:
        return "a boolean";
    case json_type_double:
        return "a number";
    case json_type_int:
        return "an integer";
    case json_type_object:
        return "an object";
    case json_type_array:
        return "an array";
    case json_type_string:
        return "a string";
    }
    return "a value";
}

/* Child of obj, or NULL when absent or JSON null. */
static json_object *get(json_object *obj, const char *key)
{
    json_object *v = NULL;
    if (obj == NULL || !json_object_object_get_ex(obj, key, &v))
        return NULL;
    return v;
}

static enum sfr_rc want_type(struct ctx *c, const char *path, json_object *v, json_type t,
                             const char *what)
{
    if (json_object_is_type(v, t))
        return SFR_OK;
    return fail(c, path, "expected %s, found %s", what, type_word(v));
}

static enum sfr_rc get_string(struct ctx *c, json_object *obj, const char *key, const char *path,
                              const char **out)
{
    json_object *v = get(obj, key);
    *out = NULL;
    if (v == NULL)
        return SFR_OK;
    char *p = sfr_asprintf("%s%s%s", path, path[0] ? "." : "", key);
    enum sfr_rc rc = want_type(c, p, v, json_type_string, "a string");
    sfr_free(p);
    if (rc == SFR_OK)
        *out = json_object_get_string(v);
    return rc;
}

static enum sfr_rc get_long(struct ctx *c, json_object *obj, const char *key, const char *path,
                            long min, long *out)
{
    json_object *v = get(obj, key);
    if (v == NULL)
        return SFR_OK;
    char *p = sfr_asprintf("%s%s%s", path, path[0] ? "." : "", key);
    enum sfr_rc rc = want_type(c, p, v, json_type_int, "an integer");
    if (rc == SFR_OK) {
        int64_t x = json_object_get_int64(v);
        if (x < min)
            rc = fail(c, p, "expected an integer >= %ld, found %lld", min, (long long)x);
        else
            *out = (long)x;
    }
    sfr_free(p);
    return rc;
}

static enum sfr_rc get_int(struct ctx *c, json_object *obj, const char *key, const char *path,
                           long min, int *out)
{
    long x = *out;
    enum sfr_rc rc = get_long(c, obj, key, path, min, &x);
    if (rc == SFR_OK && x > 1000000000L) {
        char *p = sfr_asprintf("%s%s%s", path, path[0] ? "." : "", key);
        rc = fail(c, p, "value %ld is too large", x);
        sfr_free(p);
    }
    if (rc == SFR_OK)
        *out = (int)x;
    return rc;
}

static enum sfr_rc get_bool(struct ctx *c, json_object *obj, const char *key, const char *path,
                            bool *out)
{
    json_object *v = get(obj, key);
    if (v == NULL)
        return SFR_OK;
    char *p = sfr_asprintf("%s%s%s", path, path[0] ? "." : "", key);
    enum sfr_rc rc = want_type(c, p, v, json_type_boolean, "true or false");
    sfr_free(p);
    if (rc == SFR_OK)
        *out = json_object_get_boolean(v);
    return rc;
}

static enum sfr_rc get_policy(struct ctx *c, json_object *obj, const char *path,
                              enum sfr_policy *out)
{
    const char *s;
    enum sfr_rc rc = get_string(c, obj, "repair_policy", path, &s);
    if (rc != SFR_OK || s == NULL)
        return rc;
    if (strcmp(s, "sf_wins") == 0)
        *out = SFR_POLICY_SF_WINS;
    else if (strcmp(s, "newest_wins") == 0)
        *out = SFR_POLICY_NEWEST_WINS;
    else if (strcmp(s, "pg_wins") == 0)
        *out = SFR_POLICY_PG_WINS;
    else {
        char *p = sfr_asprintf("%s%srepair_policy", path, path[0] ? "." : "");
        rc = fail(c, p, "expected \"sf_wins\", \"newest_wins\" or \"pg_wins\"");
        sfr_free(p);
    }
    return rc;
}

const char *sfr_policy_name(enum sfr_policy p)
{
    switch (p) {
    case SFR_POLICY_NEWEST_WINS:
        return "newest_wins";
    case SFR_POLICY_PG_WINS:
        return "pg_wins";
    default:
        return "sf_wins";
    }
}

/* ---- the document ---------------------------------------------------------- */

static enum sfr_rc parse_connection(struct ctx *c, json_object *root, struct sfr_config *cfg,
                                    const char **schema_name)
{
    json_object *conn = get(root, "connection");
    *schema_name = NULL;
    if (conn == NULL)
        return SFR_OK;
    enum sfr_rc rc = want_type(c, "connection", conn, json_type_object, "an object");
    const char *s;
    if (rc == SFR_OK && (rc = get_string(c, conn, "organization_id", "connection", &s)) == SFR_OK)
        cfg->organization_id = sfr_strdup(s);
    if (rc == SFR_OK && (rc = get_string(c, conn, "app_name", "connection", &s)) == SFR_OK)
        cfg->app_name = sfr_strdup(s);
    if (rc == SFR_OK && (rc = get_string(c, conn, "api_version", "connection", &s)) == SFR_OK &&
        s != NULL) {
        sfr_free(cfg->api_version);
        cfg->api_version = sfr_strdup(s);
    }
    if (rc == SFR_OK)
        rc = get_string(c, conn, "schema_name", "connection", schema_name);
    return rc;
}

static enum sfr_rc parse_fields(struct ctx *c, json_object *conf, const char *path,
                                struct sfr_mapping *m)
{
    json_object *fields = get(conf, "fields");
    if (fields == NULL)
        return SFR_OK;
    char *p = sfr_asprintf("%s.fields", path);
    enum sfr_rc rc = want_type(c, p, fields, json_type_object, "an object");
    if (rc == SFR_OK) {
        m->fields = sfr_calloc((size_t)json_object_object_length(fields) + 1, sizeof(char *));
        json_object_object_foreach(fields, key, val)
        {
            char *fp = sfr_asprintf("%s.%s", p, key);
            if (key[0] == '\0')
                rc = fail(c, fp, "empty field name");
            else if (val != NULL && !json_object_is_type(val, json_type_object))
                rc = fail(c, fp, "expected an object, found %s", type_word(val));
            sfr_free(fp);
            if (rc != SFR_OK)
                break;
            m->fields[m->n_fields++] = sfr_strdup(key);
        }
    }
    sfr_free(p);
    return rc;
}

static enum sfr_rc parse_indexes(struct ctx *c, json_object *conf, const char *path,
                                 struct sfr_mapping *m)
{
    json_object *ix = get(conf, "indexes");
    if (ix == NULL)
        return SFR_OK;
    char *p = sfr_asprintf("%s.indexes", path);
    enum sfr_rc rc = want_type(c, p, ix, json_type_object, "an object");
    if (rc == SFR_OK) {
        size_t n = (size_t)json_object_object_length(ix) + 1;
        m->index_fields = sfr_calloc(n, sizeof(char *));
        m->index_unique = sfr_calloc(n, sizeof(bool));
        json_object_object_foreach(ix, key, val)
        {
            char *fp = sfr_asprintf("%s.%s", p, key);
            bool uniq = false;
            if (val != NULL)
                rc = want_type(c, fp, val, json_type_object, "an object");
            if (rc == SFR_OK)
                rc = get_bool(c, val, "unique", fp, &uniq);
            sfr_free(fp);
            if (rc != SFR_OK)
                break;
            m->index_unique[m->n_indexes] = uniq;
            m->index_fields[m->n_indexes++] = sfr_strdup(key);
        }
    }
    sfr_free(p);
    return rc;
}

static enum sfr_rc parse_mapping_config(struct ctx *c, json_object *conf, const char *path,
                                        struct sfr_mapping *m)
{
    enum sfr_rc rc = want_type(c, path, conf, json_type_object, "an object");
    if (rc != SFR_OK)
        return rc;
    const char *access;
    if ((rc = get_string(c, conf, "access", path, &access)) != SFR_OK)
        return rc;
    if (access != NULL && strcmp(access, "read_only") == 0)
        m->access = SFR_ACCESS_READ_ONLY;
    else if (access != NULL && strcmp(access, "read_write") == 0)
        m->access = SFR_ACCESS_READ_WRITE;
    else if (access != NULL) {
        char *p = sfr_asprintf("%s.access", path);
        rc = fail(c, p, "expected \"read_only\" or \"read_write\"");
        sfr_free(p);
        return rc;
    }
    if ((rc = get_int(c, conf, "sf_polling_seconds", path, 1, &m->sf_polling_seconds)) != SFR_OK ||
        (rc = get_bool(c, conf, "sf_notify_enabled", path, &m->sf_notify_enabled)) != SFR_OK ||
        (rc = get_long(c, conf, "sf_max_daily_api_calls", path, 0, &m->sf_max_daily_api_calls)) !=
            SFR_OK)
        return rc;
    const char *upsert;
    if ((rc = get_string(c, conf, "upsert_field", path, &upsert)) != SFR_OK)
        return rc;
    m->upsert_field = sfr_strdup(upsert);
    if ((rc = parse_fields(c, conf, path, m)) != SFR_OK)
        return rc;
    return parse_indexes(c, conf, path, m);
}

static enum sfr_rc parse_mapping(struct ctx *c, json_object *jm, int i, struct sfr_config *cfg)
{
    char path[64];
    snprintf(path, sizeof(path), "mappings[%d]", i);
    struct sfr_mapping *m = &cfg->mappings[i];
    m->access = SFR_ACCESS_READ_ONLY;
    m->sf_polling_seconds = 600;
    m->line = index_line(c->idx, path);
    enum sfr_rc rc = want_type(c, path, jm, json_type_object, "an object");
    if (rc != SFR_OK)
        return rc;
    const char *name;
    if ((rc = get_string(c, jm, "object_name", path, &name)) != SFR_OK)
        return rc;
    if (name == NULL || name[0] == '\0') {
        char *p = sfr_asprintf("%s.object_name", path);
        rc = fail(c, p, name == NULL ? "required key is missing" : "expected an object name");
        sfr_free(p);
        return rc;
    }
    m->object_name = sfr_strdup(name);
    for (int j = 0; j < i; j++)
        if (strcasecmp(cfg->mappings[j].object_name, name) == 0) {
            char *p = sfr_asprintf("%s.object_name", path);
            rc = fail(c, p, "duplicate mapping for %s (first at line %d)", name,
                      cfg->mappings[j].line);
            sfr_free(p);
            return rc;
        }
    json_object *conf = get(jm, "config");
    if (conf == NULL)
        return SFR_OK;
    char *cp = sfr_asprintf("%s.config", path);
    rc = parse_mapping_config(c, conf, cp, m);
    sfr_free(cp);
    return rc;
}

static enum sfr_rc parse_mappings(struct ctx *c, json_object *root, struct sfr_config *cfg)
{
    json_object *maps = get(root, "mappings");
    if (maps == NULL)
        return fail(c, "", "mappings: required key is missing");
    enum sfr_rc rc = want_type(c, "mappings", maps, json_type_array, "an array");
    if (rc != SFR_OK)
        return rc;
    size_t n = json_object_array_length(maps);
    cfg->mappings = sfr_calloc(n + 1, sizeof(struct sfr_mapping));
    for (size_t i = 0; i < n && rc == SFR_OK; i++) {
        cfg->n_mappings = (int)i + 1;
        rc = parse_mapping(c, json_object_array_get_idx(maps, i), (int)i, cfg);
    }
    return rc;
}

static enum sfr_rc parse_tolerances(struct ctx *c, json_object *so, struct sfr_config *cfg)
{
    json_object *tol = get(so, "tolerances");
    if (tol == NULL)
        return SFR_OK;
    enum sfr_rc rc = want_type(c, "sfrecon.tolerances", tol, json_type_object, "an object");
    if (rc != SFR_OK)
        return rc;
    cfg->tolerances =
        sfr_calloc((size_t)json_object_object_length(tol) + 1, sizeof(struct sfr_tolerance));
    json_object_object_foreach(tol, key, val)
    {
        char *p = sfr_asprintf("sfrecon.tolerances.%s", key);
        const char *dot = strchr(key, '.');
        if (dot == NULL || dot == key || dot[1] == '\0')
            rc = fail(c, p, "expected a key of the form \"Object.Field\"");
        else if (val == NULL || (!json_object_is_type(val, json_type_double) &&
                                 !json_object_is_type(val, json_type_int)))
            rc = fail(c, p, "expected a number, found %s", val ? type_word(val) : "null");
        else if (json_object_get_double(val) < 0)
            rc = fail(c, p, "expected a number >= 0");
        sfr_free(p);
        if (rc != SFR_OK)
            return rc;
        struct sfr_tolerance *t = &cfg->tolerances[cfg->n_tolerances++];
        t->object = sfr_strndup(key, (size_t)(dot - key));
        t->field = sfr_strdup(dot + 1);
        t->abs = json_object_get_double(val);
    }
    return SFR_OK;
}

static enum sfr_rc parse_objects(struct ctx *c, json_object *so, struct sfr_config *cfg)
{
    json_object *objs = get(so, "objects");
    if (objs == NULL)
        return SFR_OK;
    enum sfr_rc rc = want_type(c, "sfrecon.objects", objs, json_type_object, "an object");
    if (rc != SFR_OK)
        return rc;
    json_object_object_foreach(objs, key, val)
    {
        char *p = sfr_asprintf("sfrecon.objects.%s", key);
        enum sfr_policy pol = cfg->policy;
        json_object *skip = get(val, "skip_fields");
        rc = val == NULL ? fail(c, p, "expected an object, found null")
                         : want_type(c, p, val, json_type_object, "an object");
        if (rc == SFR_OK)
            rc = get_policy(c, val, p, &pol);
        if (rc == SFR_OK && skip != NULL) {
            char *sp = sfr_asprintf("%s.skip_fields", p);
            rc = want_type(c, sp, skip, json_type_array, "an array of field names");
            for (size_t i = 0; rc == SFR_OK && i < json_object_array_length(skip); i++)
                if (!json_object_is_type(json_object_array_get_idx(skip, i), json_type_string)) {
                    char *ip = sfr_asprintf("%s[%zu]", sp, i);
                    rc = fail(c, ip, "expected a field name");
                    sfr_free(ip);
                }
            sfr_free(sp);
        }
        sfr_free(p);
        if (rc != SFR_OK)
            return rc;
        for (int i = 0; i < cfg->n_mappings; i++)
            if (strcasecmp(cfg->mappings[i].object_name, key) == 0)
                cfg->mappings[i].policy = pol;
    }
    return SFR_OK;
}

static enum sfr_rc parse_sfrecon(struct ctx *c, json_object *root, struct sfr_config *cfg,
                                 const char **schema)
{
    json_object *so = get(root, "sfrecon");
    *schema = NULL;
    for (int i = 0; i < cfg->n_mappings; i++)
        cfg->mappings[i].policy = cfg->policy;
    if (so == NULL)
        return SFR_OK;
    enum sfr_rc rc = want_type(c, "sfrecon", so, json_type_object, "an object");
    const char *P = "sfrecon";
    if (rc == SFR_OK && (rc = get_string(c, so, "schema", P, schema)) == SFR_OK && *schema &&
        ((*schema)[0] == '\0' || strlen(*schema) > 63))
        rc = fail(c, "sfrecon.schema", "expected a schema name of 1 to 63 characters");
    if (rc == SFR_OK)
        rc = get_long(c, so, "chunk_size", P, 1, &cfg->chunk_size);
    if (rc == SFR_OK)
        rc = get_int(c, so, "bisect_factor", P, 2, &cfg->bisect_factor);
    if (rc == SFR_OK)
        rc = get_long(c, so, "bisect_threshold", P, 1, &cfg->bisect_threshold);
    if (rc == SFR_OK)
        rc = get_int(c, so, "jobs", P, 1, &cfg->jobs);
    if (rc == SFR_OK)
        rc = get_long(c, so, "max_api_calls", P, 0, &cfg->max_api_calls);
    if (rc == SFR_OK)
        rc = get_long(c, so, "bulk_threshold", P, 0, &cfg->bulk_threshold);
    if (rc == SFR_OK)
        rc = get_long(c, so, "archive_days", P, 1, &cfg->archive_days);
    if (rc == SFR_OK)
        rc = get_policy(c, so, P, &cfg->policy);
    for (int i = 0; rc == SFR_OK && i < cfg->n_mappings; i++)
        cfg->mappings[i].policy = cfg->policy;
    if (rc == SFR_OK)
        rc = parse_tolerances(c, so, cfg);
    if (rc == SFR_OK)
        rc = parse_objects(c, so, cfg);
    return rc;
}

static json_object *tokenize(const char *text, const char *path, struct sfr_err *err)
{
    size_t len = strlen(text);
    json_tokener *tok = json_tokener_new();
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *doc = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    const char *why = NULL;
    if (doc == NULL)
        why = jerr == json_tokener_continue || jerr == json_tokener_success
                  ? "unexpected end of input"
                  : json_tokener_error_desc(jerr);
    else {
        size_t i = end;
        while (i < len && strchr(" \t\r\n", text[i]) != NULL)
            i++;
        if (i < len) {
            why = "unexpected text after the document";
            end = i;
        }
    }
    json_tokener_free(tok);
    if (why == NULL)
        return doc;
    /* At the end of input, point at the last text rather than past it. */
    if (end >= len)
        while (end > 0 && strchr(" \t\r\n", text[end - 1]) != NULL)
            end--;
    int line = 1;
    for (size_t i = 0; i < end && i < len; i++)
        line += text[i] == '\n';
    sfr_err_set(err, SFR_ECONFIG, "%s:%d: invalid JSON: %s", path, line, why);
    json_object_put(doc);
    return NULL;
}

enum sfr_rc sfr_config_parse(const char *text, const char *path, struct sfr_config **out,
                             struct sfr_err *err)
{
    *out = NULL;
    json_object *doc = tokenize(text, path, err);
    if (doc == NULL)
        return SFR_ECONFIG;
    struct sfr_config *cfg = sfr_calloc(1, sizeof(*cfg));
    cfg->path = sfr_strdup(path);
    cfg->doc = doc;
    cfg->version = 1;
    cfg->api_version = sfr_strdup(DEFAULT_API_VERSION);
    cfg->chunk_size = 50000;
    cfg->bisect_factor = 16;
    cfg->bisect_threshold = 2000;
    cfg->jobs = 0; /* the cores available */
    cfg->policy = SFR_POLICY_SF_WINS;
    cfg->bulk_threshold = 10000;
    cfg->archive_days = 31;
    struct line_index *idx = build_index(text, strlen(text));
    cfg->lines = idx;
    struct ctx c = {path, idx, err};
    const char *conn_schema = NULL, *own_schema = NULL;
    enum sfr_rc rc = want_type(&c, "", doc, json_type_object, "an object");
    if (rc == SFR_OK)
        rc = get_int(&c, doc, "version", "", 1, &cfg->version);
    if (rc == SFR_OK)
        rc = parse_connection(&c, doc, cfg, &conn_schema);
    if (rc == SFR_OK)
        rc = parse_mappings(&c, doc, cfg);
    if (rc == SFR_OK)
        rc = parse_sfrecon(&c, doc, cfg, &own_schema);
    if (rc != SFR_OK) {
        sfr_config_free(cfg);
        return rc;
    }
    cfg->schema = sfr_strdup(own_schema ? own_schema : conn_schema ? conn_schema : DEFAULT_SCHEMA);
    *out = cfg;
    return SFR_OK;
}

enum sfr_rc sfr_config_load(const char *path, struct sfr_config **out, struct sfr_err *err)
{
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return sfr_err_set(err, SFR_ECONFIG, "%s: cannot open: %s", path, strerror(errno));
    struct sfr_buf b = SFR_BUF_INIT;
    char chunk[16384];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0 && b.len < (64u << 20))
        sfr_buf_append(&b, chunk, n);
    bool bad = ferror(fp) != 0;
    fclose(fp);
    enum sfr_rc rc;
    if (bad)
        rc = sfr_err_set(err, SFR_ECONFIG, "%s: read error", path);
    else if (b.len >= (64u << 20))
        rc = sfr_err_set(err, SFR_ECONFIG, "%s: file is larger than 64 MB", path);
    else if (b.data != NULL && memchr(b.data, '\0', b.len) != NULL)
        rc = sfr_err_set(err, SFR_ECONFIG, "%s: file contains NUL bytes", path);
    else
        rc = sfr_config_parse(b.data ? b.data : "", path, out, err);
    sfr_buf_cleanup(&b);
    return rc;
}

void sfr_config_free(struct sfr_config *cfg)
{
    if (cfg == NULL)
        return;
    for (int i = 0; i < cfg->n_mappings; i++) {
        struct sfr_mapping *m = &cfg->mappings[i];
        sfr_free(m->object_name);
        sfr_free(m->upsert_field);
        for (int j = 0; j < m->n_fields; j++)
            sfr_free(m->fields[j]);
        sfr_free(m->fields);
        for (int j = 0; j < m->n_indexes; j++)
            sfr_free(m->index_fields[j]);
        sfr_free(m->index_fields);
        sfr_free(m->index_unique);
    }
    sfr_free(cfg->mappings);
    for (int i = 0; i < cfg->n_tolerances; i++) {
        sfr_free(cfg->tolerances[i].object);
        sfr_free(cfg->tolerances[i].field);
    }
    sfr_free(cfg->tolerances);
    sfr_free(cfg->path);
    sfr_free(cfg->schema);
    sfr_free(cfg->organization_id);
    sfr_free(cfg->api_version);
    sfr_free(cfg->app_name);
    json_object_put(cfg->doc);
    index_free(cfg->lines);
    sfr_free(cfg);
}

void sfr_config_set_schema(struct sfr_config *cfg, const char *schema)
{
    if (cfg == NULL || schema == NULL)
        return;
    sfr_free(cfg->schema);
    cfg->schema = sfr_strdup(schema);
}

const struct sfr_mapping *sfr_config_mapping(const struct sfr_config *cfg, const char *object)
{
    for (int i = 0; cfg != NULL && object != NULL && i < cfg->n_mappings; i++)
        if (strcasecmp(cfg->mappings[i].object_name, object) == 0)
            return &cfg->mappings[i];
    return NULL;
}

bool sfr_mapping_has_field(const struct sfr_mapping *m, const char *field)
{
    for (int i = 0; m != NULL && field != NULL && i < m->n_fields; i++)
        if (strcasecmp(m->fields[i], field) == 0)
            return true;
    return false;
}

double sfr_config_tolerance(const struct sfr_config *cfg, const char *object, const char *field)
{
    for (int i = 0; cfg != NULL && i < cfg->n_tolerances; i++)
        if (strcasecmp(cfg->tolerances[i].object, object) == 0 &&
            strcasecmp(cfg->tolerances[i].field, field) == 0)
            return cfg->tolerances[i].abs;
    return 0.0;
}

bool sfr_config_skip_field(const struct sfr_config *cfg, const char *object, const char *field)
{
    if (cfg == NULL || object == NULL || field == NULL)
        return false;
    json_object *objs = get(get(cfg->doc, "sfrecon"), "objects");
    if (objs == NULL || !json_object_is_type(objs, json_type_object))
        return false;
    json_object_object_foreach(objs, key, val)
    {
        if (strcasecmp(key, object) != 0)
            continue;
        json_object *skip = get(val, "skip_fields");
        if (skip == NULL || !json_object_is_type(skip, json_type_array))
            return false;
        for (size_t i = 0; i < json_object_array_length(skip); i++) {
            const char *s = json_object_get_string(json_object_array_get_idx(skip, i));
            if (s != NULL && strcasecmp(s, field) == 0)
                return true;
        }
    }
    return false;
}

int sfr_config_line(const struct sfr_config *cfg, const char *key_path)
{
    return cfg == NULL ? 0 : index_line(cfg->lines, key_path);
}
