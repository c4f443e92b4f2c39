/* names.c — lint checks on identifiers: the mirror schema name (quoting, and
 * that it is hard to change once Heroku Connect uses it), table and column
 * names that are Postgres reserved words or exceed the 63-byte identifier
 * limit. Table and column names follow Heroku Connect: the lowercase API
 * name, Id -> sfid. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "sfrecon/lint.h"
#include "sfrecon/mem.h"

#define PG_MAX_IDENT 63

static char *lower_dup(const char *s)
{
    char *d = sfr_strdup(s);
    for (char *p = d; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return d;
}

/* "My-Schema" -> "my_schema": a name that needs no quoting. */
static char *plain_ident(const char *s)
{
    char *d = lower_dup(s);
    for (char *p = d; *p; p++)
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_'))
            *p = '_';
    if (!(islower((unsigned char)d[0]) || d[0] == '_')) {
        char *x = sfr_asprintf("s_%s", d);
        sfr_free(d);
        d = x;
    }
    if (sfr_lint_is_reserved(d)) {
        char *x = sfr_asprintf("%s_data", d);
        sfr_free(d);
        d = x;
    }
    return d;
}

static bool looks_temporary(const char *s)
{
    static const char *const words[] = {"test", "tmp",     "temp", "schema", "scratch",
                                        "demo", "sandbox", "new",  "old",    "foo"};
    char *low = lower_dup(s);
    bool hit = false;
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]) && !hit; i++) {
        size_t n = strlen(words[i]);
        const char *p = strstr(low, words[i]);
        /* a whole word: at the start or end, or between separators */
        while (p != NULL && !hit) {
            bool left = p == low || !isalpha((unsigned char)p[-1]);
            bool right = p[n] == '\0' || !isalpha((unsigned char)p[n]);
            hit = left && right;
            p = strstr(p + 1, words[i]);
        }
    }
    sfr_free(low);
    return hit;
}

static void check_schema_name(const struct sfr_config *cfg, struct sfr_lint_result *out)
{
    const char *schema = cfg->schema != NULL ? cfg->schema : "salesforce";
    char *plain = plain_ident(schema);
    if (sfr_lint_needs_quoting(schema)) {
        char *fix = sfr_asprintf("use a lowercase name without special characters, e.g. "
                                 "\"sfrecon\": {\"schema\": \"%s\"} (and the same schema name "
                                 "in Heroku Connect)",
                                 plain);
        sfr_lint_add(out, SFR_LINT_WARNING, "schema_name", "", "",
                     "every query, ORM and BI tool must quote it exactly; an unquoted "
                     "reference folds to lowercase and finds nothing",
                     fix, "schema name \"%s\" needs quoting (%s)", schema,
                     sfr_lint_is_reserved(schema) ? "reserved word"
                                                  : "uppercase or special "
                                                    "characters");
        sfr_free(fix);
    }
    bool temp = looks_temporary(schema);
    if (temp || strcmp(schema, "salesforce") != 0)
        sfr_lint_add(out, SFR_LINT_INFO, "schema_name_permanent", "", "",
                     "Heroku Connect cannot move a connection to another schema: changing it "
                     "later means a new connection and a full reload, with downtime",
                     temp ? "choose the final, descriptive name now (the default is "
                            "\"salesforce\")"
                          : "",
                     "schema name \"%s\" %s hard to change later", schema,
                     temp ? "looks temporary and will be" : "will be");
    sfr_free(plain);
}

static void check_ident(const struct sfr_config *cfg, const char *object, const char *field,
                        const char *name, bool is_table, struct sfr_lint_result *out)
{
    const char *schema = cfg->schema != NULL ? cfg->schema : "salesforce";
    if (strlen(name) > PG_MAX_IDENT) {
        sfr_lint_add(out, SFR_LINT_ERROR, "name_too_long", object, field,
                     "Postgres truncates identifiers to 63 bytes: the mirror gets a different "
                     "name than the mapping expects, and two long names can collide",
                     "shorten the API name in Salesforce, or leave the field out of the mapping",
                     "%s name \"%s\" is %zu bytes long", is_table ? "table" : "column", name,
                     strlen(name));
        return;
    }
    if (!sfr_lint_is_reserved(name))
        return;
    char *q = sfr_lint_qualified(schema, name);
    char *qi = sfr_lint_quote_ident(name);
    char *fix = NULL, *view = NULL;
    if (is_table) {
        view = sfr_asprintf("%ss", name);
        char *qv = sfr_lint_qualified(schema, view);
        fix = sfr_asprintf("always write %s; or give applications a view: CREATE VIEW %s AS "
                           "SELECT * FROM %s;",
                           q, qv, q);
        sfr_free(qv);
    } else {
        fix = sfr_asprintf("always write %s in SQL (select %s as %s_ ...)", qi, qi, name);
    }
    sfr_lint_add(out, SFR_LINT_INFO, "reserved_name", object, field,
                 "unquoted it is a syntax error, and tools that do not quote identifiers break; "
                 "the name comes from Salesforce and cannot be changed in the mirror",
                 fix, "%s %s is a reserved word in Postgres and must be quoted",
                 is_table ? "table" : "column", qi);
    sfr_free(view);
    sfr_free(fix);
    sfr_free(qi);
    sfr_free(q);
}

void sfr_lint_check_names(const struct sfr_config *cfg, const struct sfr_schema *schema,
                          struct sfr_lint_result *out)
{
    check_schema_name(cfg, out);
    for (int i = 0; i < cfg->n_mappings; i++) {
        const struct sfr_mapping *m = &cfg->mappings[i];
        char *table = lower_dup(m->object_name);
        check_ident(cfg, m->object_name, "", table, true, out);
        for (int k = 0; k < m->n_fields; k++) {
            if (strcasecmp(m->fields[k], "Id") == 0)
                continue; /* the sfid column */
            char *col = lower_dup(m->fields[k]);
            check_ident(cfg, m->object_name, m->fields[k], col, false, out);
            sfr_free(col);
        }
        sfr_free(table);
    }
    (void)schema;
}
