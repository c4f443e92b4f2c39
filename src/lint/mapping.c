/* mapping.c — lint checks that need only the mapping and the describe:
 * unknown objects and fields, lookups to unmapped parents, the load order,
 * fields that are costly to sync, upsert/external-id set-up for read_write
 * mappings, and the daily API-call estimate against the configured caps.
 *
 * Fixes point at the mapping file by key path (mappings[i].config.fields)
 * and line, so a reader can go straight to the entry. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sfrecon/lint.h"
#include "sfrecon/mem.h"

/* Parents that mappings almost never carry: a lookup to them is expected to
 * point outside the mirror, so it is reported as info, not as an error. */
static const char *const setup_objects[] = {
    "User",          "Group",        "RecordType", "Profile",       "UserRole",
    "BusinessHours", "Organization", "Queue",      "EmailTemplate", "CallCenter",
};

static bool is_setup_object(const char *name)
{
    for (size_t i = 0; i < sizeof(setup_objects) / sizeof(setup_objects[0]); i++)
        if (strcasecmp(setup_objects[i], name) == 0)
            return true;
    return false;
}

static char *where(const struct sfr_config *cfg, int i, const char *key)
{
    const struct sfr_mapping *m = &cfg->mappings[i];
    if (cfg->path != NULL && m->line > 0)
        return sfr_asprintf("mappings[%d].config.%s (%s:%d)", i, key, cfg->path, m->line);
    return sfr_asprintf("mappings[%d].config.%s", i, key);
}

/* Lookups whose only unmapped targets are setup objects (User, Group...)
 * are collected per mapping into one info finding: they are the norm. */
static void check_parent(const struct sfr_config *cfg, int i, const struct sfr_field *f,
                         struct sfr_buf *setup_refs, struct sfr_lint_result *out)
{
    const struct sfr_mapping *m = &cfg->mappings[i];
    struct sfr_buf unmapped = SFR_BUF_INIT;
    int n_unmapped = 0, n_setup = 0;
    for (int r = 0; r < f->n_reference_to; r++) {
        if (sfr_config_mapping(cfg, f->reference_to[r]) != NULL)
            continue;
        sfr_buf_printf(&unmapped, "%s%s", n_unmapped ? ", " : "", f->reference_to[r]);
        n_unmapped++;
        n_setup += is_setup_object(f->reference_to[r]);
    }
    if (n_unmapped > 0 && n_setup == n_unmapped) {
        sfr_buf_printf(setup_refs, "%s%s -> %s", setup_refs->len ? ", " : "", f->name,
                       unmapped.data);
    } else if (n_unmapped > 0) {
        /* polymorphic lookups with some targets mapped are a warning */
        enum sfr_lint_severity sev =
            n_unmapped < f->n_reference_to ? SFR_LINT_WARNING : SFR_LINT_ERROR;
        const char *kind = f->cascade_delete ? "master-detail" : "lookup";
        char *loc = where(cfg, i, "fields");
        char *fix = sfr_asprintf("map %s (add a mapping for it, loaded before %s), or remove "
                                 "\"%s\" from %s",
                                 unmapped.data, m->object_name, f->name, loc);
        sfr_lint_add(out, sev, "unmapped_parent", m->object_name, f->name,
                     "the child rows reference parent records that are not in the mirror: "
                     "joins find nothing, the audit reports missing_parent, and children "
                     "written from Postgres cannot point at parents created there",
                     fix, "%s.%s is a %s to %s, which %s not mapped", m->object_name, f->name, kind,
                     unmapped.data, n_unmapped > 1 ? "are" : "is");
        sfr_free(fix);
        sfr_free(loc);
    }
    sfr_buf_cleanup(&unmapped);
}

static void check_costly(const struct sfr_config *cfg, int i, const struct sfr_field *f,
                         struct sfr_lint_result *out)
{
    const struct sfr_mapping *m = &cfg->mappings[i];
    enum sfr_lint_severity sev = SFR_LINT_WARNING;
    const char *code = "costly_field", *what = NULL, *why = NULL;
    if (f->type == SFR_FT_TEXTAREA && f->html_formatted) {
        what = "is a rich text area";
        why = "rich text carries HTML markup and embedded image references: large rows on "
              "every change, and the markup differs from what users see";
    } else if (f->calculated) {
        what = "is a formula (calculated) field";
        why = "a formula's value changes without SystemModstamp changing, so polling never "
              "picks the change up and the mirror goes stale silently; every poll still "
              "recomputes it";
    } else if (f->type == SFR_FT_ENCRYPTEDSTRING) {
        what = "is an encrypted text field";
        why = "the sync user reads the masked value (****1234) unless it has View Encrypted "
              "Data, and then the plaintext lands unencrypted in Postgres";
    } else if (f->type == SFR_FT_BASE64) {
        what = "is a base64 (binary) field";
        why = "binary blobs are not queried in bulk and Heroku Connect does not sync them; "
              "every record costs a separate call";
    } else if (f->type == SFR_FT_TEXTAREA && f->length > 4000) {
        sev = SFR_LINT_INFO;
        what = "is a long text area";
        why = "each change moves up to the full text through the API and Bulk CSVs, widening "
              "rows and slowing polls; keep it only if the application reads it";
    } else if (f->type == SFR_FT_ADDRESS) {
        code = "unsupported_field";
        what = "is a compound address field";
        why = "compound fields are not mapped as a column; map the component fields "
              "(Street, City, PostalCode, State, Country) instead";
    }
    if (what == NULL)
        return;
    char *loc = where(cfg, i, "fields");
    char *fix = sfr_asprintf("remove \"%s\" from %s unless the application needs it", f->name, loc);
    if (f->type == SFR_FT_TEXTAREA && f->length > 4000 && !f->html_formatted && !f->calculated)
        sfr_lint_add(out, sev, code, m->object_name, f->name, why, fix, "%s.%s %s (%d characters)",
                     m->object_name, f->name, what, f->length);
    else
        sfr_lint_add(out, sev, code, m->object_name, f->name, why, fix, "%s.%s %s", m->object_name,
                     f->name, what);
    sfr_free(fix);
    sfr_free(loc);
}

static void external_id_fields(const struct sfr_object *obj, struct sfr_buf *b)
{
    int n = 0;
    for (int k = 0; k < obj->n_fields; k++)
        if (obj->fields[k].external_id)
            sfr_buf_printf(b, "%s%s", n++ ? ", " : "", obj->fields[k].name);
}

static void check_upsert(const struct sfr_config *cfg, int i, const struct sfr_object *obj,
                         struct sfr_lint_result *out)
{
    const struct sfr_mapping *m = &cfg->mappings[i];
    struct sfr_buf ext = SFR_BUF_INIT;
    external_id_fields(obj, &ext);
    char *loc = where(cfg, i, "upsert_field");
    char *fix = NULL;
    if (m->upsert_field == NULL) {
        if (m->access != SFR_ACCESS_READ_WRITE)
            goto out;
        fix = ext.len > 0 ? sfr_asprintf("set %s to an External ID field of %s: %s", loc,
                                         m->object_name, ext.data)
                          : sfr_asprintf("create a unique External ID field on %s (e.g. "
                                         "External_Id__c), map it and set %s to it",
                                         m->object_name, loc);
        /* Without any External ID field on the object no mapping change can fix
         * it: still worth knowing, but not a warning on every run. */
        sfr_lint_add(out, ext.len > 0 ? SFR_LINT_WARNING : SFR_LINT_INFO, "no_upsert_field",
                     m->object_name, "",
                     "rows inserted in Postgres have no key to find their Salesforce record "
                     "by: when a create's answer is lost (a gateway timeout, a dropped "
                     "connection) nobody can tell whether it was applied, so sfrecon repair "
                     "and sync never send it again and leave it for a human to look up; with "
                     "an External ID they create by upsert on it, a repeat finds the record, "
                     "and a lost answer is settled by a lookup. Rows also cannot be re-linked "
                     "after a reload",
                     fix, "read_write mapping %s has no upsert_field (external id)",
                     m->object_name);
        goto out;
    }
    const struct sfr_field *uf = sfr_object_field(obj, m->upsert_field);
    if (uf == NULL) {
        fix = sfr_asprintf("set %s to a field %s has%s%s", loc, m->object_name, ext.len ? ": " : "",
                           ext.data ? ext.data : "");
        sfr_lint_add(out, SFR_LINT_ERROR, "upsert_field_unknown", m->object_name, m->upsert_field,
                     "upserts name a field Salesforce does not know and fail with INVALID_FIELD",
                     fix, "upsert_field %s does not exist on %s", m->upsert_field, m->object_name);
    } else if (!uf->external_id) {
        fix = ext.len ? sfr_asprintf("set %s to an External ID field: %s (or mark %s.%s as "
                                     "External ID in Salesforce setup)",
                                     loc, ext.data, m->object_name, uf->name)
                      : sfr_asprintf("mark %s.%s as a unique External ID in Salesforce setup",
                                     m->object_name, uf->name);
        sfr_lint_add(out, SFR_LINT_ERROR, "upsert_field_not_external_id", m->object_name, uf->name,
                     "Salesforce upserts only by the Id or an External ID field: every write "
                     "from Postgres fails",
                     fix, "upsert_field %s.%s is not an External ID field", m->object_name,
                     uf->name);
    } else if (!sfr_mapping_has_field(m, uf->name)) {
        char *floc = where(cfg, i, "fields");
        fix = sfr_asprintf("add \"%s\" to %s", uf->name, floc);
        sfr_free(floc);
        sfr_lint_add(out, SFR_LINT_WARNING, "upsert_field_unmapped", m->object_name, uf->name,
                     "the external id is not in the mirror, so rows written in Postgres carry "
                     "no key to upsert by",
                     fix, "upsert_field %s.%s is not among the mapped fields", m->object_name,
                     uf->name);
    }
out:
    sfr_free(fix);
    sfr_free(loc);
    sfr_buf_cleanup(&ext);
}

/* Polls: one query call per poll (plus one per 2,000 changed records, which
 * depends on the data and is not counted). read_write mappings also push
 * writes: at most one batch per 2-minute write cycle, 720 a day. */
#define WRITE_CYCLES_PER_DAY 720L

long sfr_lint_api_calls_per_day(const struct sfr_mapping *m)
{
    long p = m->sf_polling_seconds > 0 ? m->sf_polling_seconds : 600;
    long calls = (86400 + p - 1) / p;
    if (m->access == SFR_ACCESS_READ_WRITE)
        calls += WRITE_CYCLES_PER_DAY;
    return calls;
}

/* Smallest polling interval (seconds) that keeps m under max calls a day. */
static long polling_for_budget(const struct sfr_mapping *m, long max)
{
    long room = max - (m->access == SFR_ACCESS_READ_WRITE ? WRITE_CYCLES_PER_DAY : 0);
    if (room < 1)
        return 86400;
    return (86400 + room - 1) / room;
}

static void check_api(const struct sfr_config *cfg, const struct sfr_lint_opts *opts,
                      struct sfr_lint_result *out)
{
    long total = 0;
    struct sfr_buf parts = SFR_BUF_INIT;
    for (int i = 0; i < cfg->n_mappings; i++) {
        const struct sfr_mapping *m = &cfg->mappings[i];
        long calls = sfr_lint_api_calls_per_day(m);
        total += calls;
        sfr_buf_printf(&parts, "%s%s %ld", i ? ", " : "", m->object_name, calls);
        if (m->sf_max_daily_api_calls <= 0 || calls <= m->sf_max_daily_api_calls)
            continue;
        char *loc = where(cfg, i, "sf_polling_seconds");
        char *fix = sfr_asprintf("raise %s to at least %ld, or raise sf_max_daily_api_calls "
                                 "above %ld",
                                 loc, polling_for_budget(m, m->sf_max_daily_api_calls), calls);
        sfr_lint_add(out, SFR_LINT_WARNING, "api_budget_exceeded", m->object_name, "",
                     "once the cap is reached polling stops for the rest of the day and the "
                     "mirror falls behind",
                     fix,
                     "polling %s every %d s costs ~%ld API calls a day, more than its "
                     "sf_max_daily_api_calls (%ld)",
                     m->object_name, m->sf_polling_seconds, calls, m->sf_max_daily_api_calls);
        sfr_free(fix);
        sfr_free(loc);
    }
    long limit = opts->org_daily_limit;
    if (total > limit) {
        char *fix = sfr_asprintf("raise sf_polling_seconds on the mappings that change "
                                 "rarely; the total must stay below %ld a day together with "
                                 "every other integration of the org",
                                 limit);
        sfr_lint_add(out, SFR_LINT_WARNING, "api_budget_exceeded", "", "",
                     "past the org's daily limit Salesforce answers REQUEST_LIMIT_EXCEEDED to "
                     "every integration of the org, not only this one",
                     fix,
                     "the mapping needs ~%ld API calls a day, more than the org's daily "
                     "limit of %ld",
                     total, limit);
        sfr_free(fix);
    }
    sfr_lint_add(out, SFR_LINT_INFO, "api_budget", "", "",
                 "each poll is at least one API call (plus one per 2,000 changed records); "
                 "read_write mappings add up to one write batch per 2-minute cycle",
                 "",
                 "estimated API calls per day: %ld (%s) = %.1f%% of the org's daily limit of %ld",
                 total, cfg->n_mappings ? parts.data : "no mappings",
                 limit > 0 ? 100.0 * (double)total / (double)limit : 0.0, limit);
    sfr_buf_cleanup(&parts);
}

/* Load order over the mapped objects with only their mapped fields, so that
 * references through unmapped fields do not constrain it. */
static void check_order(const struct sfr_config *cfg, const struct sfr_schema *schema,
                        struct sfr_lint_result *out)
{
    struct sfr_schema sub = {0};
    sub.objects = sfr_calloc((size_t)cfg->n_mappings + 1, sizeof(struct sfr_object));
    for (int i = 0; i < cfg->n_mappings; i++) {
        const struct sfr_mapping *m = &cfg->mappings[i];
        const struct sfr_object *obj = sfr_schema_object(schema, m->object_name);
        if (obj == NULL || sfr_schema_object(&sub, obj->name) != NULL)
            continue;
        struct sfr_object *o = &sub.objects[sub.n_objects++];
        *o = *obj; /* shallow: strings stay owned by schema */
        o->fields = sfr_calloc((size_t)obj->n_fields + 1, sizeof(struct sfr_field));
        o->n_fields = 0;
        for (int k = 0; k < obj->n_fields; k++)
            if (sfr_mapping_has_field(m, obj->fields[k].name))
                o->fields[o->n_fields++] = obj->fields[k];
    }
    if (sub.n_objects > 0) {
        int *order = sfr_calloc((size_t)sub.n_objects, sizeof(int));
        struct sfr_deferred_ref *def = NULL;
        int n_def = 0;
        sfr_schema_order(&sub, order, &def, &n_def);
        struct sfr_buf b = SFR_BUF_INIT;
        for (int k = 0; k < sub.n_objects; k++)
            sfr_buf_printf(&b, "%s%s", k ? ", " : "", sub.objects[order[k]].name);
        sfr_lint_add(out, SFR_LINT_INFO, "load_order", "", "",
                     "a child loaded before its parent points at rows the mirror does not have "
                     "yet (missing_parent; INVALID_CROSS_REFERENCE_KEY on writes)",
                     "create and first sync the mappings in this order",
                     "load order, parents first: %s", b.data);
        for (int k = 0; k < n_def; k++) {
            bool self = strcasecmp(def[k].object, def[k].parent) == 0;
            char *fix = sfr_asprintf("load %s without %s first, then set %s in a second pass",
                                     def[k].object, def[k].field, def[k].field);
            sfr_lint_add(out, SFR_LINT_INFO, "deferred_reference", def[k].object, def[k].field,
                         "no single load order satisfies a cycle: the referenced record may "
                         "arrive after the one pointing at it",
                         fix, "%s.%s refers to %s (%s); the reference is set after the load",
                         def[k].object, def[k].field, def[k].parent,
                         self ? "self-lookup" : "cycle");
            sfr_free(fix);
        }
        sfr_buf_cleanup(&b);
        sfr_free(def);
        sfr_free(order);
    }
    for (int k = 0; k < sub.n_objects; k++)
        sfr_free(sub.objects[k].fields);
    sfr_free(sub.objects);
}

void sfr_lint_check_mapping(const struct sfr_config *cfg, const struct sfr_schema *schema,
                            const struct sfr_lint_opts *opts, struct sfr_lint_result *out)
{
    for (int i = 0; i < cfg->n_mappings; i++) {
        const struct sfr_mapping *m = &cfg->mappings[i];
        const struct sfr_object *obj = sfr_schema_object(schema, m->object_name);
        if (obj == NULL) {
            char *fix = sfr_asprintf("remove mappings[%d] (%s), or add %s's describe to the "
                                     "describe source (%s.json)",
                                     i, m->object_name, m->object_name, m->object_name);
            sfr_lint_add(out, SFR_LINT_ERROR, "unknown_object", m->object_name, "",
                         "Salesforce has no such object (or the sync user cannot see it): the "
                         "mapping cannot sync",
                         fix, "%s is not in the describe", m->object_name);
            sfr_free(fix);
            continue;
        }
        struct sfr_buf setup_refs = SFR_BUF_INIT;
        for (int k = 0; k < m->n_fields; k++) {
            const struct sfr_field *f = sfr_object_field(obj, m->fields[k]);
            struct sfr_relext rx;
            if (f == NULL && sfr_relext_resolve(schema, obj, m->fields[k], &rx))
                continue; /* Connect's relationship external Id: a mirror column only */
            if (f == NULL) {
                char *loc = where(cfg, i, "fields");
                char *fix = sfr_asprintf("remove \"%s\" from %s (check the spelling and the "
                                         "field-level security of the sync user)",
                                         m->fields[k], loc);
                sfr_lint_add(out, SFR_LINT_ERROR, "unknown_field", m->object_name, m->fields[k],
                             "queries naming it fail with INVALID_FIELD and the whole object "
                             "stops syncing",
                             fix, "%s has no field %s", m->object_name, m->fields[k]);
                sfr_free(fix);
                sfr_free(loc);
                continue;
            }
            if (f->type == SFR_FT_REFERENCE && f->n_reference_to > 0)
                check_parent(cfg, i, f, &setup_refs, out);
            check_costly(cfg, i, f, out);
        }
        if (setup_refs.len > 0)
            sfr_lint_add(out, SFR_LINT_INFO, "unmapped_parent", m->object_name, "",
                         "the ids point at users, groups or record types that are not in the "
                         "mirror; joins on these columns find no row",
                         "map the parent object if the application joins on these columns",
                         "lookups to unmapped setup objects: %s", setup_refs.data);
        sfr_buf_cleanup(&setup_refs);
        check_upsert(cfg, i, obj, out);
    }
    check_order(cfg, schema, out);
    check_api(cfg, opts, out);
}
