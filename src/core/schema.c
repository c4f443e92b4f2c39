/* schema.c — the Salesforce schema model: describe JSON -> struct sfr_object,
 * loading a directory or an org file of describes, Heroku Connect column
 * types, and the parents-first order of objects used by repair and loading.
 *
 * Invariants: every object has table == lowercase(name), every field has
 * column == lowercase(name); all strings are owned by the schema. */
#include "sfrecon/schema.h"
#include "sfrecon/json.h"
#include "sfrecon/mem.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static const struct {
    const char *name;
    enum sfr_ftype type;
} ftype_names[] = {
    {"id", SFR_FT_ID},
    {"reference", SFR_FT_REFERENCE},
    {"string", SFR_FT_STRING},
    {"textarea", SFR_FT_TEXTAREA},
    {"picklist", SFR_FT_PICKLIST},
    {"multipicklist", SFR_FT_MULTIPICKLIST},
    {"combobox", SFR_FT_COMBOBOX},
    {"boolean", SFR_FT_BOOLEAN},
    {"int", SFR_FT_INT},
    {"long", SFR_FT_LONG},
    {"double", SFR_FT_DOUBLE},
    {"currency", SFR_FT_CURRENCY},
    {"percent", SFR_FT_PERCENT},
    {"date", SFR_FT_DATE},
    {"datetime", SFR_FT_DATETIME},
    {"time", SFR_FT_TIME},
    {"email", SFR_FT_EMAIL},
    {"phone", SFR_FT_PHONE},
    {"url", SFR_FT_URL},
    {"base64", SFR_FT_BASE64},
    {"encryptedstring", SFR_FT_ENCRYPTEDSTRING},
    {"location", SFR_FT_LOCATION},
    {"address", SFR_FT_ADDRESS},
    {"anyType", SFR_FT_ANYTYPE},
};

enum sfr_ftype sfr_ftype_parse(const char *name)
{
    if (name == NULL)
        return SFR_FT_UNKNOWN;
    for (size_t i = 0; i < sizeof(ftype_names) / sizeof(ftype_names[0]); i++)
        if (strcasecmp(ftype_names[i].name, name) == 0)
            return ftype_names[i].type;
    return SFR_FT_UNKNOWN;
}

const char *sfr_ftype_name(enum sfr_ftype t)
{
    for (size_t i = 0; i < sizeof(ftype_names) / sizeof(ftype_names[0]); i++)
        if (ftype_names[i].type == t)
            return ftype_names[i].name;
    return "unknown";
}

bool sfr_ftype_is_text(enum sfr_ftype t)
{
    switch (t) {
    case SFR_FT_STRING:
    case SFR_FT_TEXTAREA:
    case SFR_FT_PICKLIST:
    case SFR_FT_MULTIPICKLIST:
    case SFR_FT_COMBOBOX:
    case SFR_FT_EMAIL:
    case SFR_FT_PHONE:
    case SFR_FT_URL:
    case SFR_FT_ENCRYPTEDSTRING:
    case SFR_FT_ANYTYPE:
        return true;
    default:
        return false;
    }
}

char *sfr_field_pg_type(const struct sfr_field *f)
{
    int len = f->length > 0 ? f->length : 255;
    switch (f->type) {
    case SFR_FT_ID:
    case SFR_FT_REFERENCE:
        return sfr_strdup("varchar(18)");
    case SFR_FT_STRING:
    case SFR_FT_ENCRYPTEDSTRING:
        return sfr_asprintf("varchar(%d)", len);
    case SFR_FT_TEXTAREA:
        if (f->length > 255)
            return sfr_strdup("text");
        return sfr_asprintf("varchar(%d)", len);
    case SFR_FT_PICKLIST:
    case SFR_FT_COMBOBOX:
    case SFR_FT_URL:
        return sfr_strdup("varchar(255)");
    case SFR_FT_MULTIPICKLIST:
        return sfr_strdup("varchar(4099)");
    case SFR_FT_EMAIL:
        return sfr_strdup("varchar(80)");
    case SFR_FT_PHONE:
        return sfr_strdup("varchar(40)");
    case SFR_FT_BOOLEAN:
        return sfr_strdup("boolean");
    case SFR_FT_DOUBLE:
    case SFR_FT_CURRENCY:
    case SFR_FT_PERCENT:
    case SFR_FT_LOCATION: /* the caller emits <f>__latitude__s / __longitude__s */
        return sfr_strdup("double precision");
    case SFR_FT_INT:
        return sfr_strdup("integer");
    case SFR_FT_LONG:
        return sfr_strdup("bigint");
    case SFR_FT_DATE:
        return sfr_strdup("date");
    case SFR_FT_DATETIME:
        return sfr_strdup("timestamp");
    case SFR_FT_TIME:
        return sfr_strdup("time");
    default:
        return sfr_strdup("text");
    }
}

static char *lower_dup(const char *s)
{
    char *d = sfr_strdup(s);
    for (char *p = d; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return d;
}

static int jint(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || v == NULL)
        return 0;
    return json_object_get_int(v);
}

static bool jbool(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || v == NULL)
        return false;
    return json_object_get_boolean(v);
}

static void field_cleanup(struct sfr_field *f)
{
    sfr_free(f->name);
    sfr_free(f->column);
    for (int i = 0; i < f->n_reference_to; i++)
        sfr_free(f->reference_to[i]);
    sfr_free(f->reference_to);
    sfr_free(f->relationship_name);
    for (int i = 0; i < f->n_picklist; i++)
        sfr_free(f->picklist[i]);
    sfr_free(f->picklist);
    memset(f, 0, sizeof(*f));
}

static enum sfr_rc field_from_json(json_object *jf, const char *obj, int idx, struct sfr_field *f,
                                   struct sfr_err *err)
{
    const char *name = sfr_json_str(jf, "name");
    const char *type = sfr_json_str(jf, "type");
    if (name == NULL || type == NULL)
        return sfr_err_set(err, SFR_ECONFIG, "describe of %s: fields[%d]: missing \"%s\"", obj, idx,
                           name == NULL ? "name" : "type");
    f->name = sfr_strdup(name);
    f->column = lower_dup(name);
    f->type = sfr_ftype_parse(type);
    f->length = jint(jf, "length");
    f->precision = jint(jf, "precision");
    f->scale = jint(jf, "scale");
    f->digits = jint(jf, "digits");
    f->nillable = jbool(jf, "nillable");
    f->createable = jbool(jf, "createable");
    f->updateable = jbool(jf, "updateable");
    f->calculated = jbool(jf, "calculated");
    f->external_id = jbool(jf, "externalId");
    f->unique = jbool(jf, "unique");
    f->id_lookup = jbool(jf, "idLookup");
    f->html_formatted = jbool(jf, "htmlFormatted");
    f->cascade_delete = jbool(jf, "cascadeDelete");
    const char *rel = sfr_json_str(jf, "relationshipName");
    f->relationship_name = sfr_strdup(rel);
    json_object *arr;
    if (json_object_object_get_ex(jf, "referenceTo", &arr) &&
        json_object_is_type(arr, json_type_array)) {
        size_t n = json_object_array_length(arr);
        f->reference_to = sfr_calloc(n ? n : 1, sizeof(char *));
        for (size_t i = 0; i < n; i++) {
            json_object *r = json_object_array_get_idx(arr, i);
            if (json_object_is_type(r, json_type_string))
                f->reference_to[f->n_reference_to++] = sfr_strdup(json_object_get_string(r));
        }
    }
    if (json_object_object_get_ex(jf, "picklistValues", &arr) &&
        json_object_is_type(arr, json_type_array)) {
        size_t n = json_object_array_length(arr);
        f->picklist = sfr_calloc(n ? n : 1, sizeof(char *));
        for (size_t i = 0; i < n; i++) {
            json_object *pv = json_object_array_get_idx(arr, i);
            json_object *act;
            bool active =
                !json_object_object_get_ex(pv, "active", &act) || json_object_get_boolean(act);
            const char *v = sfr_json_str(pv, "value");
            if (v != NULL && active)
                f->picklist[f->n_picklist++] = sfr_strdup(v);
        }
    }
    return SFR_OK;
}

static enum sfr_rc object_from_json(json_object *jo, struct sfr_object *obj, struct sfr_err *err)
{
    memset(obj, 0, sizeof(*obj));
    const char *name = sfr_json_str(jo, "name");
    if (name == NULL)
        return sfr_err_set(err, SFR_ECONFIG, "describe: missing \"name\"");
    json_object *fields;
    if (!json_object_object_get_ex(jo, "fields", &fields) ||
        !json_object_is_type(fields, json_type_array))
        return sfr_err_set(err, SFR_ECONFIG, "describe of %s: \"fields\" is not an array", name);
    obj->name = sfr_strdup(name);
    obj->table = lower_dup(name);
    obj->label = sfr_strdup(sfr_json_str(jo, "label"));
    obj->custom = jbool(jo, "custom");
    const char *kp = sfr_json_str(jo, "keyPrefix");
    if (kp != NULL)
        snprintf(obj->key_prefix, sizeof(obj->key_prefix), "%s", kp);
    size_t n = json_object_array_length(fields);
    obj->fields = sfr_calloc(n ? n : 1, sizeof(struct sfr_field));
    for (size_t i = 0; i < n; i++) {
        enum sfr_rc rc = field_from_json(json_object_array_get_idx(fields, i), name, (int)i,
                                         &obj->fields[i], err);
        obj->n_fields = (int)i + 1;
        if (rc != SFR_OK) {
            sfr_object_cleanup(obj);
            return rc;
        }
    }
    return SFR_OK;
}

static json_object *parse_json(const char *text, size_t len, const char *what, struct sfr_err *err)
{
    json_tokener *tok = json_tokener_new();
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *o = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    if (o == NULL || jerr != json_tokener_success) {
        int line = 1;
        size_t off = json_tokener_get_parse_end(tok);
        if (off >= len)
            while (off > 0 && strchr(" \t\r\n", text[off - 1]) != NULL)
                off--;
        for (size_t i = 0; i < off && i < len; i++)
            if (text[i] == '\n')
                line++;
        sfr_err_set(err, SFR_ECONFIG, "%s:%d: invalid JSON: %s", what, line,
                    o == NULL && jerr == json_tokener_continue ? "unexpected end of input"
                                                               : json_tokener_error_desc(jerr));
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

enum sfr_rc sfr_object_from_describe(const char *json, size_t len, struct sfr_object *obj,
                                     struct sfr_err *err)
{
    memset(obj, 0, sizeof(*obj));
    json_object *o = parse_json(json, len, "describe", err);
    if (o == NULL)
        return SFR_ECONFIG;
    enum sfr_rc rc = object_from_json(o, obj, err);
    json_object_put(o);
    return rc;
}

void sfr_object_cleanup(struct sfr_object *obj)
{
    if (obj == NULL)
        return;
    for (int i = 0; i < obj->n_fields; i++)
        field_cleanup(&obj->fields[i]);
    sfr_free(obj->fields);
    sfr_free(obj->name);
    sfr_free(obj->table);
    sfr_free(obj->label);
    memset(obj, 0, sizeof(*obj));
}

int sfr_object_field_index(const struct sfr_object *obj, const char *name)
{
    if (obj == NULL || name == NULL)
        return -1;
    for (int i = 0; i < obj->n_fields; i++)
        if (strcasecmp(obj->fields[i].name, name) == 0)
            return i;
    return -1;
}

const struct sfr_field *sfr_object_field(const struct sfr_object *obj, const char *name)
{
    int i = sfr_object_field_index(obj, name);
    return i < 0 ? NULL : &obj->fields[i];
}

void sfr_schema_add(struct sfr_schema *s, struct sfr_object *obj)
{
    s->objects = sfr_realloc(s->objects, sizeof(struct sfr_object) * (size_t)(s->n_objects + 1));
    s->objects[s->n_objects++] = *obj;
    memset(obj, 0, sizeof(*obj));
}

void sfr_schema_cleanup(struct sfr_schema *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < s->n_objects; i++)
        sfr_object_cleanup(&s->objects[i]);
    sfr_free(s->objects);
    s->objects = NULL;
    s->n_objects = 0;
}

struct sfr_object *sfr_schema_object_mut(struct sfr_schema *s, const char *name)
{
    if (s == NULL || name == NULL)
        return NULL;
    for (int i = 0; i < s->n_objects; i++)
        if (strcasecmp(s->objects[i].name, name) == 0)
            return &s->objects[i];
    return NULL;
}

const struct sfr_object *sfr_schema_object(const struct sfr_schema *s, const char *name)
{
    return sfr_schema_object_mut((struct sfr_schema *)s, name);
}

/* Reads a whole file (caller frees). */
static enum sfr_rc read_file(const char *path, char **out, size_t *len, struct sfr_err *err)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return sfr_err_set(err, errno == ENOENT ? SFR_ENOTFOUND : SFR_EIO, "%s: %s", path,
                           strerror(errno));
    struct sfr_buf b = SFR_BUF_INIT;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        sfr_buf_append(&b, chunk, n);
    bool bad = ferror(fp);
    fclose(fp);
    if (bad) {
        sfr_buf_cleanup(&b);
        return sfr_err_set(err, SFR_EIO, "%s: read error", path);
    }
    if (b.data == NULL)
        sfr_buf_append(&b, "", 0);
    *len = b.len;
    *out = sfr_buf_steal(&b);
    return SFR_OK;
}

static bool wanted(const char *name, const char *const *names, int n_names)
{
    if (names == NULL)
        return true;
    for (int i = 0; i < n_names; i++)
        if (strcasecmp(names[i], name) == 0)
            return true;
    return false;
}

/* Adds the describes in one parsed file: {"sobjects":[...]} or one describe body. */
static enum sfr_rc add_from_json(json_object *doc, const char *path, const char *const *names,
                                 int n_names, struct sfr_schema *out, struct sfr_err *err)
{
    json_object *arr;
    if (!json_object_object_get_ex(doc, "sobjects", &arr)) {
        arr = NULL;
    } else if (!json_object_is_type(arr, json_type_array)) {
        return sfr_err_set(err, SFR_ECONFIG, "%s: sobjects: expected an array", path);
    }
    size_t n = arr != NULL ? json_object_array_length(arr) : 1;
    for (size_t i = 0; i < n; i++) {
        json_object *jo = arr != NULL ? json_object_array_get_idx(arr, i) : doc;
        const char *name = sfr_json_str(jo, "name");
        if (name == NULL || !wanted(name, names, n_names) || sfr_schema_object(out, name))
            continue;
        struct sfr_object obj;
        enum sfr_rc rc = object_from_json(jo, &obj, err);
        if (rc != SFR_OK) {
            sfr_err_prefix(err, "%s", path);
            return rc;
        }
        sfr_schema_add(out, &obj);
    }
    return SFR_OK;
}

static enum sfr_rc load_file(const char *path, const char *const *names, int n_names,
                             struct sfr_schema *out, struct sfr_err *err)
{
    char *text = NULL;
    size_t len = 0;
    enum sfr_rc rc = read_file(path, &text, &len, err);
    if (rc != SFR_OK)
        return rc;
    json_object *doc = parse_json(text, len, path, err);
    if (doc == NULL) {
        rc = SFR_ECONFIG;
        goto out;
    }
    rc = add_from_json(doc, path, names, n_names, out, err);
out:
    json_object_put(doc);
    sfr_free(text);
    return rc;
}

static bool has_json_ext(const char *name, size_t *stem)
{
    size_t n = strlen(name);
    if (n <= 5 || strcasecmp(name + n - 5, ".json") != 0)
        return false;
    *stem = n - 5;
    return true;
}

static enum sfr_rc load_dir(const char *path, const char *const *names, int n_names,
                            struct sfr_schema *out, struct sfr_err *err)
{
    DIR *d = opendir(path);
    if (d == NULL)
        return sfr_err_set(err, SFR_EIO, "%s: %s", path, strerror(errno));
    struct sfr_strv files = {0};
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t stem;
        if (de->d_name[0] == '.' || !has_json_ext(de->d_name, &stem))
            continue;
        bool want = names == NULL;
        for (int i = 0; !want && i < n_names; i++)
            want = strlen(names[i]) == stem && strncasecmp(names[i], de->d_name, stem) == 0;
        if (want)
            sfr_strv_push(&files, de->d_name);
    }
    closedir(d);
    /* readdir order is arbitrary: sort for a deterministic object order. */
    for (size_t i = 1; i < files.n; i++)
        for (size_t j = i; j > 0 && strcmp(files.v[j - 1], files.v[j]) > 0; j--) {
            char *t = files.v[j];
            files.v[j] = files.v[j - 1];
            files.v[j - 1] = t;
        }
    enum sfr_rc rc = SFR_OK;
    for (size_t i = 0; i < files.n && rc == SFR_OK; i++) {
        char *fp = sfr_asprintf("%s/%s", path, files.v[i]);
        rc = load_file(fp, names, n_names, out, err);
        sfr_free(fp);
    }
    sfr_strv_cleanup(&files);
    return rc;
}

enum sfr_rc sfr_schema_load(const char *path, const char *const *names, int n_names,
                            struct sfr_schema *out, struct sfr_err *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return sfr_err_set(err, SFR_ENOTFOUND, "%s: %s", path, strerror(errno));
    enum sfr_rc rc = S_ISDIR(st.st_mode) ? load_dir(path, names, n_names, out, err)
                                         : load_file(path, names, n_names, out, err);
    if (rc != SFR_OK)
        return rc;
    for (int i = 0; names != NULL && i < n_names; i++)
        if (sfr_schema_object(out, names[i]) == NULL)
            return sfr_err_set(err, SFR_ENOTFOUND, "%s: no describe for object %s", path, names[i]);
    return SFR_OK;
}

/* ---- dependency order ---------------------------------------------------- */

struct edge {
    int child, field, parent;
    bool deferred;
};

struct order_state {
    const struct sfr_schema *s;
    struct edge *e;
    int n_e;
    bool *done;
    /* Tarjan */
    int *index, *low, *stack, sp, counter, *comp, n_comp;
    bool *on_stack;
};

static void tarjan(struct order_state *st, int v)
{
    st->index[v] = st->low[v] = st->counter++;
    st->stack[st->sp++] = v;
    st->on_stack[v] = true;
    for (int k = 0; k < st->n_e; k++) {
        struct edge *e = &st->e[k];
        if (e->child != v || e->deferred || st->done[e->parent])
            continue;
        int w = e->parent;
        if (st->index[w] < 0) {
            tarjan(st, w);
            if (st->low[w] < st->low[v])
                st->low[v] = st->low[w];
        } else if (st->on_stack[w] && st->index[w] < st->low[v]) {
            st->low[v] = st->index[w];
        }
    }
    if (st->low[v] == st->index[v]) {
        int w;
        do {
            w = st->stack[--st->sp];
            st->on_stack[w] = false;
            st->comp[w] = st->n_comp;
        } while (w != v);
        st->n_comp++;
    }
}

/* All remaining objects wait on a parent: find a strongly connected component
 * that depends on nothing outside itself, and defer the live references of its
 * alphabetically first member. Returns that member. */
static int break_cycle(struct order_state *st)
{
    int n = st->s->n_objects;
    for (int i = 0; i < n; i++) {
        st->index[i] = -1;
        st->on_stack[i] = false;
    }
    st->sp = st->counter = st->n_comp = 0;
    for (int i = 0; i < n; i++)
        if (!st->done[i] && st->index[i] < 0)
            tarjan(st, i);
    int best = -1;
    for (int i = 0; i < n; i++) {
        if (st->done[i])
            continue;
        bool root = true; /* no live edge leaves i's component */
        for (int k = 0; k < st->n_e && root; k++) {
            struct edge *e = &st->e[k];
            if (!e->deferred && !st->done[e->parent] && st->comp[e->child] == st->comp[i] &&
                st->comp[e->parent] != st->comp[i])
                root = false;
        }
        if (root && (best < 0 || strcmp(st->s->objects[i].name, st->s->objects[best].name) < 0))
            best = i;
    }
    for (int k = 0; k < st->n_e; k++)
        if (st->e[k].child == best && !st->done[st->e[k].parent])
            st->e[k].deferred = true;
    return best;
}

static void collect_edges(struct order_state *st)
{
    const struct sfr_schema *s = st->s;
    int cap = 0;
    for (int i = 0; i < s->n_objects; i++) {
        const struct sfr_object *o = &s->objects[i];
        for (int f = 0; f < o->n_fields; f++) {
            const struct sfr_field *fd = &o->fields[f];
            if (fd->type != SFR_FT_REFERENCE)
                continue;
            for (int r = 0; r < fd->n_reference_to; r++) {
                int p = -1;
                for (int j = 0; j < s->n_objects && p < 0; j++)
                    if (strcasecmp(s->objects[j].name, fd->reference_to[r]) == 0)
                        p = j;
                if (p < 0)
                    continue;
                if (st->n_e == cap) {
                    cap = cap ? cap * 2 : 16;
                    st->e = sfr_realloc(st->e, sizeof(struct edge) * (size_t)cap);
                }
                st->e[st->n_e++] = (struct edge){i, f, p, p == i};
            }
        }
    }
}

void sfr_schema_order(const struct sfr_schema *s, int *order, struct sfr_deferred_ref **deferred,
                      int *n_deferred)
{
    int n = s->n_objects;
    struct order_state st = {.s = s};
    collect_edges(&st);
    st.done = sfr_calloc((size_t)n + 1, sizeof(bool));
    st.on_stack = sfr_calloc((size_t)n + 1, sizeof(bool));
    st.index = sfr_calloc((size_t)n + 1, sizeof(int));
    st.low = sfr_calloc((size_t)n + 1, sizeof(int));
    st.stack = sfr_calloc((size_t)n + 1, sizeof(int));
    st.comp = sfr_calloc((size_t)n + 1, sizeof(int));
    for (int pos = 0; pos < n; pos++) {
        /* Kahn: the alphabetically first object whose live parents are all placed. */
        int pick = -1;
        for (int i = 0; i < n; i++) {
            if (st.done[i])
                continue;
            bool ready = true;
            for (int k = 0; k < st.n_e && ready; k++)
                if (st.e[k].child == i && !st.e[k].deferred && !st.done[st.e[k].parent])
                    ready = false;
            if (ready && (pick < 0 || strcmp(s->objects[i].name, s->objects[pick].name) < 0))
                pick = i;
        }
        if (pick < 0)
            pick = break_cycle(&st);
        order[pos] = pick;
        st.done[pick] = true;
    }
    int nd = 0;
    for (int k = 0; k < st.n_e; k++)
        nd += st.e[k].deferred;
    struct sfr_deferred_ref *d = sfr_calloc((size_t)nd + 1, sizeof(*d));
    nd = 0;
    for (int k = 0; k < st.n_e; k++) {
        if (!st.e[k].deferred)
            continue;
        d[nd].object = s->objects[st.e[k].child].name;
        d[nd].field = s->objects[st.e[k].child].fields[st.e[k].field].name;
        d[nd].parent = s->objects[st.e[k].parent].name;
        nd++;
    }
    if (deferred != NULL)
        *deferred = d;
    else
        sfr_free(d);
    if (n_deferred != NULL)
        *n_deferred = nd;
    sfr_free(st.e);
    sfr_free(st.done);
    sfr_free(st.on_stack);
    sfr_free(st.index);
    sfr_free(st.low);
    sfr_free(st.stack);
    sfr_free(st.comp);
}

/* ---- relationship external Ids ---- */

bool sfr_relext_resolve(const struct sfr_schema *s, const struct sfr_object *obj, const char *name,
                        struct sfr_relext *out)
{
    if (obj == NULL || name == NULL || sfr_object_field(obj, name) != NULL)
        return false; /* a real field is never a pseudo-field */
    for (int i = 0; i < obj->n_fields; i++) {
        const struct sfr_field *f = &obj->fields[i];
        if (f->type != SFR_FT_REFERENCE || f->relationship_name == NULL || f->n_reference_to < 1)
            continue;
        size_t rl = strlen(f->relationship_name);
        if (strncasecmp(name, f->relationship_name, rl) != 0 || strncmp(name + rl, "__", 2) != 0 ||
            name[rl + 2] == '\0' || strlen(name) >= sizeof(out->column))
            continue;
        const char *ext = name + rl + 2;
        const struct sfr_field *pf = NULL;
        const char *parent = f->reference_to[0];
        bool known = false;
        for (int r = 0; s != NULL && r < f->n_reference_to && pf == NULL; r++) {
            const struct sfr_object *po = sfr_schema_object(s, f->reference_to[r]);
            if (po == NULL)
                continue;
            known = true;
            const struct sfr_field *c = sfr_object_field(po, ext);
            if (c != NULL && (c->external_id || c->id_lookup)) {
                pf = c;
                parent = po->name;
            }
        }
        if (known && pf == NULL)
            continue;
        memset(out, 0, sizeof(*out));
        out->name = name;
        for (size_t k = 0; name[k]; k++)
            out->column[k] = (char)tolower((unsigned char)name[k]);
        out->ref = f;
        out->relationship = f->relationship_name;
        out->parent = parent;
        snprintf(out->ext_field, sizeof(out->ext_field), "%s", pf ? pf->name : ext);
        out->ext = pf;
        return true;
    }
    return false;
}

void sfr_relext_json(const struct sfr_relext *r, const char *value, struct sfr_buf *out)
{
    sfr_buf_putc(out, '{');
    sfr_buf_json_str(out, r->relationship);
    sfr_buf_puts(out, ":{");
    sfr_buf_json_str(out, r->ext_field);
    sfr_buf_putc(out, ':');
    sfr_buf_json_str(out, value);
    sfr_buf_puts(out, "}}");
}

char *sfr_relext_refs(const struct sfr_relext *rx, int n, const char *const *values,
                      const bool *lookup_set)
{
    struct sfr_buf b = SFR_BUF_INIT, one = SFR_BUF_INIT;
    for (int i = 0; i < n; i++) {
        if (values == NULL || values[i] == NULL || values[i][0] == '\0' ||
            (lookup_set != NULL && lookup_set[i]))
            continue;
        bool dup = false; /* one reference per relationship: the first mapped wins */
        for (int k = 0; k < i && !dup; k++)
            dup = rx[k].ref == rx[i].ref && values[k] != NULL && values[k][0] != '\0' &&
                  (lookup_set == NULL || !lookup_set[k]);
        if (dup)
            continue;
        sfr_buf_reset(&one);
        sfr_relext_json(&rx[i], values[i], &one);
        /* {"Account":{...}} -> "Account":{...} */
        sfr_buf_putc(&b, b.len == 0 ? '{' : ',');
        sfr_buf_append(&b, one.data + 1, one.len - 2);
    }
    sfr_buf_cleanup(&one);
    if (b.len == 0) {
        sfr_buf_cleanup(&b);
        return NULL;
    }
    sfr_buf_putc(&b, '}');
    return sfr_buf_steal(&b);
}
