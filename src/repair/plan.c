/* plan.c — from discrepancies to a repair plan (docs/repair.md).
 *
 * The plan is decided from the current state of both sides, not from the
 * values in the report: every key is fetched again from Salesforce and from
 * the mirror, and the operation is chosen from what is there now and from
 * the winner (mapping access + policy). A record already repaired plans no
 * write, which makes repair idempotent and a killed repair safe to re-run.
 *
 * Invariants: one item per (object, sfid); parents that a written row
 * references and that the mirror lacks are pulled in as items of their own
 * (recursively, up to the root); the cause of the item is the cause of the
 * discrepancy (missing_parent for pulled parents). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sfrecon/canon.h"
#include "sfrecon/log.h"
#include "sfrecon/repair.h"
#include "sfrecon/sfid.h"

#define FETCH_CHUNK 200

/* ---- names and options ----------------------------------------------------- */

const char *sfr_repair_op_name(enum sfr_repair_op op)
{
    static const char *const names[] = {"none",      "pg_upsert", "pg_update",
                                        "pg_delete", "sf_update", "sf_create"};
    return (unsigned)op < sizeof(names) / sizeof(names[0]) ? names[op] : "unknown";
}

const char *sfr_repair_dir_name(enum sfr_repair_dir d)
{
    return d == SFR_DIR_SF_TO_PG ? "sf->pg" : d == SFR_DIR_PG_TO_SF ? "pg->sf" : "-";
}

const char *sfr_item_status_name(enum sfr_item_status s)
{
    static const char *const names[] = {"planned", "fixed", "failed", "skipped"};
    return (unsigned)s < 4 ? names[s] : "unknown";
}

void sfr_repair_opts_defaults(struct sfr_repair_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->pg_batch = 500;
    o->sf_batch = 200;
}

enum sfr_rc sfr_repair_opts_only(struct sfr_repair_opts *o, const char *csv, struct sfr_err *err)
{
    struct sfr_strv v = {0};
    enum sfr_rc rc = SFR_OK;
    sfr_strv_split(&v, csv, ',');
    if (v.n == 0) {
        rc = sfr_err_set(err, SFR_EUSAGE, "--only: expected CAUSE[,CAUSE]");
        goto out;
    }
    for (size_t i = 0; i < v.n; i++) {
        enum sfr_cause c;
        if (!sfr_cause_parse(v.v[i], &c)) {
            rc = sfr_err_set(err, SFR_EUSAGE, "--only: unknown cause '%s'", v.v[i]);
            sfr_err_hint(err,
                         "causes: missing_in_pg, missing_in_sf, missing_parent, truncation, "
                         "type_mismatch, stale, conflict, sync_error, duplicate, formula_stale, "
                         "field_mismatch");
            goto out;
        }
        o->only[c] = true;
    }
    o->only_set = true;
out:
    sfr_strv_cleanup(&v);
    return rc;
}

enum sfr_policy sfr_repair_policy(const struct sfr_mapping *map, const struct sfr_config *cfg)
{
    if (map == NULL)
        return SFR_POLICY_SF_WINS; /* read_only assumed */
    if (map->access == SFR_ACCESS_READ_ONLY)
        return SFR_POLICY_SF_WINS;
    if (map->policy != SFR_POLICY_SF_WINS || cfg == NULL)
        return map->policy;
    return cfg->policy;
}

enum sfr_cause sfr_repair_error_cause(const char *code)
{
    if (code == NULL)
        return SFR_CAUSE_SYNC_ERROR;
    if (strcmp(code, "STRING_TOO_LONG") == 0 || strcmp(code, "22001") == 0)
        return SFR_CAUSE_TRUNCATION;
    if (strcmp(code, "INVALID_CROSS_REFERENCE_KEY") == 0 || strcmp(code, "23503") == 0)
        return SFR_CAUSE_MISSING_PARENT;
    if (strcmp(code, "ENTITY_IS_DELETED") == 0)
        return SFR_CAUSE_MISSING_IN_SF;
    if (strcmp(code, "DUPLICATE_VALUE") == 0 || strcmp(code, "23505") == 0)
        return SFR_CAUSE_DUPLICATE;
    return SFR_CAUSE_SYNC_ERROR;
}

/* ---- string hashing ---------------------------------------------------------- */

static size_t str_hash(const char *s)
{
    size_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* A set of owned strings (open addressing, load <= 1/2). */
struct strset {
    char **keys;
    size_t n, cap;
};

static bool strset_has(const struct strset *s, const char *k)
{
    if (s->cap == 0)
        return false;
    for (size_t i = str_hash(k) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        if (s->keys[i] == NULL)
            return false;
        if (strcmp(s->keys[i], k) == 0)
            return true;
    }
}

/* Adds k; returns false when it was there already. */
static bool strset_add(struct strset *s, const char *k)
{
    if (strset_has(s, k))
        return false;
    if (2 * (s->n + 1) > s->cap) {
        struct strset g = {sfr_calloc(s->cap ? s->cap * 2 : 64, sizeof(char *)), 0,
                           s->cap ? s->cap * 2 : 64};
        for (size_t i = 0; i < s->cap; i++) {
            if (s->keys[i] == NULL)
                continue;
            size_t j = str_hash(s->keys[i]) & (g.cap - 1);
            while (g.keys[j] != NULL)
                j = (j + 1) & (g.cap - 1);
            g.keys[j] = s->keys[i];
            g.n++;
        }
        sfr_free(s->keys);
        *s = g;
    }
    size_t j = str_hash(k) & (s->cap - 1);
    while (s->keys[j] != NULL)
        j = (j + 1) & (s->cap - 1);
    s->keys[j] = sfr_strdup(k);
    s->n++;
    return true;
}

static void strset_cleanup(struct strset *s)
{
    for (size_t i = 0; i < s->cap; i++)
        sfr_free(s->keys[i]);
    sfr_free(s->keys);
    memset(s, 0, sizeof(*s));
}

/* ---- record sets: what a side holds now, by sfid ----------------------------- */

struct recset {
    struct sfr_record *v;
    size_t n, cap;
    bool sorted;
};

static int recset_add(void *ctx, const struct sfr_record *r)
{
    struct recset *s = ctx;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->v = sfr_realloc(s->v, s->cap * sizeof(*s->v));
    }
    struct sfr_record *c = &s->v[s->n++];
    memset(c, 0, sizeof(*c));
    c->sfid = sfr_strdup(r->sfid);
    c->n_values = r->n_values;
    c->values = sfr_calloc((size_t)r->n_values + 1, sizeof(char *));
    for (int i = 0; i < r->n_values; i++)
        c->values[i] = sfr_strdup(r->values[i]);
    c->mod_ms = r->mod_ms;
    c->pg_id = r->pg_id;
    c->dup_count = r->dup_count;
    c->hc_lastop = sfr_strdup(r->hc_lastop);
    c->hc_err = sfr_strdup(r->hc_err);
    c->trigger_failed = sfr_strdup(r->trigger_failed);
    if (r->rel_values != NULL && r->n_rel > 0) {
        c->n_rel = r->n_rel;
        c->rel_values = sfr_calloc((size_t)r->n_rel, sizeof(char *));
        for (int i = 0; i < r->n_rel; i++)
            c->rel_values[i] = sfr_strdup(r->rel_values[i]);
    }
    s->sorted = false;
    return 0;
}

static int rec_cmp(const void *a, const void *b)
{
    const struct sfr_record *x = a, *y = b;
    return sfr_sfid_cmp(x->sfid ? x->sfid : "", y->sfid ? y->sfid : "");
}

static const struct sfr_record *recset_find(struct recset *s, const char *sfid)
{
    if (!s->sorted) {
        if (s->n > 1)
            qsort(s->v, s->n, sizeof(*s->v), rec_cmp);
        s->sorted = true;
    }
    struct sfr_record key = {.sfid = (char *)sfid};
    return s->n ? bsearch(&key, s->v, s->n, sizeof(*s->v), rec_cmp) : NULL;
}

static void recset_cleanup(struct recset *s)
{
    for (size_t i = 0; i < s->n; i++)
        sfr_record_cleanup(&s->v[i]);
    sfr_free(s->v);
    memset(s, 0, sizeof(*s));
}

/* Fetches ids (in chunks) from side into s; ids already in s are not fetched again. */
static enum sfr_rc fetch_into(struct sfr_side *side, const struct sfr_projection *p,
                              const char *const *ids, size_t n, struct recset *s,
                              struct sfr_err *err)
{
    for (size_t i = 0; i < n; i += FETCH_CHUNK) {
        int k = (int)(n - i < FETCH_CHUNK ? n - i : FETCH_CHUNK);
        enum sfr_rc rc = sfr_side_fetch(side, p, ids + i, k, recset_add, s, err);
        if (rc != SFR_OK) {
            sfr_err_prefix(err, "reading %s from %s", p->obj->name, side->ops->name);
            return rc;
        }
    }
    return SFR_OK;
}

/* ---- plan objects and items ---------------------------------------------------- */

struct plan_ctx {
    struct sfr_plan *plan;
    struct recset *sf, *pg; /* per plan object */
    struct strset *fetched; /* per plan object: ids already fetched from both sides */
    struct sfr_side *sf_side, *pg_side;
};

struct sfr_plan_object *sfr_plan_object(struct sfr_plan *p, const char *object)
{
    for (int i = 0; i < p->n_objects; i++)
        if (strcasecmp(p->objects[i].co->proj->obj->name, object) == 0)
            return &p->objects[i];
    return NULL;
}

static int plan_object_index(const struct sfr_plan *p, const char *object)
{
    for (int i = 0; i < p->n_objects; i++)
        if (strcasecmp(p->objects[i].co->proj->obj->name, object) == 0)
            return i;
    return -1;
}

static void index_put(size_t *idx, size_t cap, const struct sfr_plan_item *items, size_t i)
{
    size_t j = str_hash(items[i].sfid) & (cap - 1);
    while (idx[j] != 0)
        j = (j + 1) & (cap - 1);
    idx[j] = i + 1;
}

static void index_rebuild(struct sfr_plan_object *po)
{
    size_t cap = 64;
    while (cap < 2 * (po->n + 1))
        cap *= 2;
    sfr_free(po->index);
    po->index = sfr_calloc(cap, sizeof(size_t));
    po->index_cap = cap;
    for (size_t i = 0; i < po->n; i++)
        index_put(po->index, cap, po->items, i);
}

static struct sfr_plan_item *object_find(struct sfr_plan_object *po, const char *sfid)
{
    if (po->index_cap == 0 || sfid == NULL)
        return NULL;
    for (size_t j = str_hash(sfid) & (po->index_cap - 1);; j = (j + 1) & (po->index_cap - 1)) {
        if (po->index[j] == 0)
            return NULL;
        if (strcmp(po->items[po->index[j] - 1].sfid, sfid) == 0)
            return &po->items[po->index[j] - 1];
    }
}

struct sfr_plan_item *sfr_plan_find(struct sfr_plan *p, const char *object, const char *sfid)
{
    struct sfr_plan_object *po = sfr_plan_object(p, object);
    return po == NULL ? NULL : object_find(po, sfid);
}

static struct sfr_plan_item *item_add(struct sfr_plan_object *po, const char *sfid,
                                      enum sfr_cause cause)
{
    if (po->n == po->cap) {
        po->cap = po->cap ? po->cap * 2 : 32;
        po->items = sfr_realloc(po->items, po->cap * sizeof(*po->items));
    }
    struct sfr_plan_item *it = &po->items[po->n++];
    memset(it, 0, sizeof(*it));
    it->sfid = sfr_strdup(sfid ? sfid : "");
    it->cause = cause;
    it->n_values = po->co->proj->n_fields;
    if (2 * po->n > po->index_cap)
        index_rebuild(po);
    else
        index_put(po->index, po->index_cap, po->items, po->n - 1);
    return it;
}

static void item_cleanup(struct sfr_plan_item *it)
{
    for (int i = 0; i < it->n_values; i++) {
        if (it->after)
            sfr_free(it->after[i]);
        if (it->before)
            sfr_free(it->before[i]);
    }
    sfr_free(it->after);
    sfr_free(it->before);
    sfr_free(it->set);
    sfr_free(it->deferred);
    sfr_free(it->refs);
    sfr_free(it->sfid);
    sfr_free(it->note);
    memset(it, 0, sizeof(*it));
}

void sfr_plan_cleanup(struct sfr_plan *p)
{
    if (p == NULL)
        return;
    for (int i = 0; i < p->n_objects; i++) {
        for (size_t k = 0; k < p->objects[i].n; k++)
            item_cleanup(&p->objects[i].items[k]);
        sfr_free(p->objects[i].items);
        sfr_free(p->objects[i].index);
    }
    sfr_free(p->objects);
    memset(p, 0, sizeof(*p));
}

static void item_note(struct sfr_plan_item *it, const char *fmt, ...) SFR_PRINTF(2, 3);
static void item_note(struct sfr_plan_item *it, const char *fmt, ...)
{
    va_list ap;
    struct sfr_buf b = SFR_BUF_INIT;
    if (it->note != NULL) {
        sfr_buf_puts(&b, it->note);
        sfr_buf_puts(&b, "; ");
    }
    va_start(ap, fmt);
    sfr_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    sfr_free(it->note);
    it->note = sfr_buf_steal(&b);
}

static void item_arrays(struct sfr_plan_item *it)
{
    size_t n = (size_t)it->n_values + 1;
    if (it->after == NULL)
        it->after = sfr_calloc(n, sizeof(char *));
    if (it->set == NULL)
        it->set = sfr_calloc(n, sizeof(bool));
    if (it->deferred == NULL)
        it->deferred = sfr_calloc(n, sizeof(bool));
}

/* Forgets the values planned so far (keeps key, cause and note). */
static void item_reset(struct sfr_plan_item *it)
{
    for (int i = 0; i < it->n_values; i++) {
        if (it->after) {
            sfr_free(it->after[i]);
            it->after[i] = NULL;
            it->set[i] = false;
        }
        if (it->before)
            sfr_free(it->before[i]);
    }
    sfr_free(it->before);
    it->before = NULL;
    sfr_free(it->refs);
    it->refs = NULL;
}

static void item_before(struct sfr_plan_item *it, const struct sfr_record *r)
{
    if (r == NULL || it->before != NULL)
        return;
    it->before = sfr_calloc((size_t)it->n_values + 1, sizeof(char *));
    for (int i = 0; i < it->n_values && i < r->n_values; i++)
        it->before[i] = sfr_strdup(r->values[i]);
}

/* ---- comparison ------------------------------------------------------------------- */

static bool value_true(const char *v)
{
    return v != NULL && (strcasecmp(v, "true") == 0 || strcmp(v, "t") == 0 || strcmp(v, "1") == 0);
}

static bool sf_live(const struct sfr_projection *p, const struct sfr_record *s)
{
    if (s == NULL)
        return false;
    if (p->idx_isdeleted >= 0 && p->idx_isdeleted < s->n_values &&
        value_true(s->values[p->idx_isdeleted]))
        return false;
    return true;
}

/* True when field i holds the same canonical value on both sides. */
static bool field_equal(const struct sfr_projection *p, int i, const struct sfr_record *s,
                        const struct sfr_record *g)
{
    const struct sfr_field *f = p->fields[i];
    char *a = sfr_canon_text(f, SFR_SRC_SF, i < s->n_values ? s->values[i] : NULL);
    char *b = sfr_canon_text(f, SFR_SRC_PG, i < g->n_values ? g->values[i] : NULL);
    bool eq = (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
    sfr_free(a);
    sfr_free(b);
    return eq;
}

static bool sf_writable(const struct sfr_field *f, bool create)
{
    if (f->type == SFR_FT_ID || f->calculated)
        return false;
    return create ? f->createable : f->updateable;
}

static bool pg_sync_failed(const struct sfr_record *g)
{
    return (g->hc_lastop != NULL && strcmp(g->hc_lastop, "FAILED") == 0) ||
           (g->hc_err != NULL && g->hc_err[0] != '\0') || g->trigger_failed != NULL;
}

/* ---- deciding one record ---------------------------------------------------------- */

enum winner { WIN_SF, WIN_PG, WIN_UNKNOWN };

static enum winner pick_winner(enum sfr_policy pol, const struct sfr_discrepancy *d,
                               const struct sfr_record *s, const struct sfr_record *g)
{
    if (pol == SFR_POLICY_SF_WINS)
        return WIN_SF;
    if (pol == SFR_POLICY_PG_WINS)
        return WIN_PG;
    int64_t sm = s ? s->mod_ms : d ? d->sf_mod_ms : INT64_MIN;
    int64_t pm = g ? g->mod_ms : d ? d->pg_mod_ms : INT64_MIN;
    if (sm == INT64_MIN || pm == INT64_MIN || sm == pm)
        return WIN_UNKNOWN;
    return sm > pm ? WIN_SF : WIN_PG;
}

static void plan_pg_upsert(struct sfr_plan_item *it, const struct sfr_projection *p,
                           const struct sfr_record *s)
{
    item_arrays(it);
    it->op = SFR_OP_PG_UPSERT;
    it->dir = SFR_DIR_SF_TO_PG;
    for (int i = 0; i < p->n_fields && i < s->n_values; i++) {
        it->after[i] = sfr_strdup(s->values[i]);
        it->set[i] = true;
    }
}

/* Mirror row := Salesforce record, differing fields only. Returns the count. */
static int plan_pg_update(struct sfr_plan_item *it, const struct sfr_projection *p,
                          const struct sfr_record *s, const struct sfr_record *g)
{
    int n = 0;
    item_arrays(it);
    item_before(it, g);
    it->op = SFR_OP_PG_UPDATE;
    it->dir = SFR_DIR_SF_TO_PG;
    for (int i = 1; i < p->n_fields && i < s->n_values; i++) {
        if (field_equal(p, i, s, g))
            continue;
        it->after[i] = sfr_strdup(s->values[i]);
        it->set[i] = true;
        n++;
    }
    return n;
}

static int field_index(const struct sfr_projection *p, const struct sfr_field *f)
{
    for (int i = 0; i < p->n_fields; i++)
        if (p->fields[i] == f)
            return i;
    return -1;
}

/* A lookup the mirror row sets only through its relationship external Id
 * column (the lookup's column null, the external Id's set) is written to
 * Salesforce as a nested reference, which Salesforce resolves to the
 * parent's Id. create: the lookup is not written otherwise; an update only
 * where it would write the lookup null. */
static void plan_refs(struct sfr_plan_item *it, const struct sfr_projection *p,
                      const struct sfr_record *g, bool create)
{
    if (p->n_relext == 0 || g->rel_values == NULL || g->n_rel < p->n_relext)
        return;
    const char **vals = sfr_calloc((size_t)p->n_relext + 1, sizeof(char *));
    bool *lookup_set = sfr_calloc((size_t)p->n_relext + 1, sizeof(bool));
    for (int j = 0; j < p->n_relext; j++) {
        int li = field_index(p, p->relext[j].ref);
        bool nulls = li >= 0 && it->set[li] && it->after[li] == NULL;
        if (!create && !nulls)
            continue;
        lookup_set[j] = li >= 0 && it->set[li] && it->after[li] != NULL;
        vals[j] = g->rel_values[j];
    }
    sfr_free(it->refs);
    it->refs = sfr_relext_refs(p->relext, p->n_relext, vals, lookup_set);
    for (int j = 0; it->refs != NULL && j < p->n_relext; j++) {
        int li = field_index(p, p->relext[j].ref);
        if (vals[j] != NULL && vals[j][0] != '\0' && !lookup_set[j] && li >= 0)
            it->set[li] = false; /* the reference sets it */
    }
    sfr_free(vals);
    sfr_free(lookup_set);
}

/* Salesforce record := mirror row, differing updateable fields only. */
static int plan_sf_update(struct sfr_plan_item *it, const struct sfr_projection *p,
                          const struct sfr_record *s, const struct sfr_record *g)
{
    int n = 0;
    item_arrays(it);
    item_before(it, s);
    it->op = SFR_OP_SF_UPDATE;
    it->dir = SFR_DIR_PG_TO_SF;
    for (int i = 1; i < p->n_fields && i < g->n_values; i++) {
        if (!sf_writable(p->fields[i], false) || field_equal(p, i, s, g))
            continue;
        it->after[i] = sfr_value_to_sf(p->fields[i], g->values[i]);
        it->set[i] = true;
        n++;
    }
    plan_refs(it, p, g, false);
    return n;
}

static void plan_sf_create(struct sfr_plan_item *it, const struct sfr_projection *p,
                           const struct sfr_record *g)
{
    item_arrays(it);
    it->op = SFR_OP_SF_CREATE;
    it->dir = SFR_DIR_PG_TO_SF;
    it->pg_id = g->pg_id;
    for (int i = 1; i < p->n_fields && i < g->n_values; i++) {
        if (!sf_writable(p->fields[i], true) || g->values[i] == NULL)
            continue;
        it->after[i] = sfr_value_to_sf(p->fields[i], g->values[i]);
        it->set[i] = it->after[i] != NULL;
    }
    plan_refs(it, p, g, true);
}

static const char *winner_why(enum sfr_policy pol)
{
    return pol == SFR_POLICY_NEWEST_WINS ? "newest_wins: modstamps equal or unknown"
                                         : "policy cannot settle it";
}

/* Both sides hold the record: update the loser. */
static void decide_both(struct sfr_plan_item *it, const struct sfr_projection *p,
                        enum sfr_policy pol, enum winner w, const struct sfr_record *s,
                        const struct sfr_record *g)
{
    bool dup = g->dup_count > 1;
    bool failed = pg_sync_failed(g);
    int diff = 0;
    for (int i = 1; i < p->n_fields; i++)
        diff += !field_equal(p, i, s, g);
    if (diff == 0 && !dup && !failed) {
        it->op = SFR_OP_NONE;
        item_note(it, "already in sync");
        return;
    }
    if (w == WIN_UNKNOWN) {
        it->op = SFR_OP_NONE;
        it->unresolved = true;
        item_before(it, g);
        item_note(it, "%s", winner_why(pol));
        return;
    }
    if (w == WIN_PG && plan_sf_update(it, p, s, g) > 0) {
        it->clear_sync_error = failed;
        it->dedupe = dup;
        return;
    }
    if (w == WIN_PG)
        item_reset(it); /* only system fields differ: refresh the mirror instead */
    plan_pg_update(it, p, s, g);
    it->dedupe = dup;
    it->clear_sync_error = failed;
    if (dup)
        item_note(it, "%d rows hold this sfid: keeping the highest id", g->dup_count);
}

static void decide(struct sfr_plan_item *it, const struct sfr_check_object *co,
                   const struct sfr_discrepancy *d, const struct sfr_record *s,
                   const struct sfr_record *g)
{
    const struct sfr_projection *p = co->proj;
    enum sfr_policy pol = sfr_repair_policy(co->map, co->cfg);
    bool live = sf_live(p, s);
    if (g != NULL)
        it->pg_id = g->pg_id;
    else if (d != NULL)
        it->pg_id = d->pg_id;
    if (d != NULL && (d->sfid == NULL || d->sfid[0] == '\0')) {
        /* An app's insert that Salesforce refused: there is no record to sync
         * from, and re-sending it unchanged would fail again. */
        it->op = SFR_OP_NONE;
        it->unresolved = true;
        item_note(it,
                  "insert refused by Salesforce (%s): fix mirror row id %ld, then set its "
                  "_trigger_log entry back to NEW",
                  d->detail ? d->detail : "sync_error", d->pg_id);
        return;
    }
    if (g == NULL && live) {
        plan_pg_upsert(it, p, s);
        return;
    }
    if (g == NULL) {
        it->op = SFR_OP_NONE;
        item_note(it, "absent on both sides");
        return;
    }
    enum winner w = pick_winner(pol, d, live ? s : NULL, g);
    if (d != NULL && d->cause == SFR_CAUSE_FORMULA_STALE)
        w = WIN_SF; /* a formula is computed by Salesforce: refresh it from there */
    if (!live) {
        if (pol == SFR_POLICY_SF_WINS)
            w = WIN_SF;
        if (w == WIN_SF) {
            it->op = SFR_OP_PG_DELETE;
            it->dir = SFR_DIR_SF_TO_PG;
            item_before(it, g);
            item_note(it, s ? "deleted in Salesforce" : "no such record in Salesforce");
        } else if (w == WIN_PG) {
            plan_sf_create(it, p, g);
            item_note(it, "the new Id is put on mirror row id %ld", g->pg_id);
        } else {
            it->op = SFR_OP_NONE;
            it->unresolved = true;
            item_before(it, g);
            item_note(it, "%s", winner_why(pol));
        }
        return;
    }
    decide_both(it, p, pol, w, s, g);
}

/* ---- parent chains ---------------------------------------------------------------- */

/* Records that plan_pull must check: (parent object index, id). */
struct want {
    int obj;
    char *id;
};
struct wants {
    struct want *v;
    size_t n, cap;
    struct strset seen; /* "obj:id" */
};

static void wants_add(struct wants *w, int obj, const char *id)
{
    char key[96];
    snprintf(key, sizeof(key), "%d:%.80s", obj, id);
    if (!strset_add(&w->seen, key))
        return;
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 32;
        w->v = sfr_realloc(w->v, w->cap * sizeof(*w->v));
    }
    w->v[w->n].obj = obj;
    w->v[w->n].id = sfr_strdup(id);
    w->n++;
}

static void wants_cleanup(struct wants *w)
{
    for (size_t i = 0; i < w->n; i++)
        sfr_free(w->v[i].id);
    sfr_free(w->v);
    strset_cleanup(&w->seen);
    memset(w, 0, sizeof(*w));
}

/* References that the rows this item writes into the mirror will hold. */
static void item_refs(struct plan_ctx *c, struct sfr_plan_object *po,
                      const struct sfr_plan_item *it, struct wants *w)
{
    const struct sfr_projection *p = po->co->proj;
    if (it->op != SFR_OP_PG_UPSERT && it->op != SFR_OP_PG_UPDATE)
        return;
    for (int i = 1; i < p->n_fields; i++) {
        const struct sfr_field *f = p->fields[i];
        if (f->type != SFR_FT_REFERENCE || !it->set[i] || it->after[i] == NULL ||
            it->after[i][0] == '\0')
            continue;
        for (int r = 0; r < f->n_reference_to; r++) {
            int k = plan_object_index(c->plan, f->reference_to[r]);
            if (k >= 0)
                wants_add(w, k, it->after[i]);
        }
    }
}

/* Fetches from both sides the wanted ids of object k not fetched yet. */
static enum sfr_rc fetch_wanted(struct plan_ctx *c, int k, const struct wants *w,
                                struct sfr_err *err)
{
    struct sfr_strv ids = {0};
    enum sfr_rc rc = SFR_OK;
    for (size_t i = 0; i < w->n; i++)
        if (w->v[i].obj == k && strset_add(&c->fetched[k], w->v[i].id))
            sfr_strv_push(&ids, w->v[i].id);
    if (ids.n == 0)
        goto out;
    const struct sfr_projection *p = c->plan->objects[k].co->proj;
    rc = fetch_into(c->pg_side, p, (const char *const *)ids.v, ids.n, &c->pg[k], err);
    if (rc == SFR_OK)
        rc = fetch_into(c->sf_side, p, (const char *const *)ids.v, ids.n, &c->sf[k], err);
out:
    sfr_strv_cleanup(&ids);
    return rc;
}

/* Pulls into the plan every parent that written rows reference and the
 * mirror lacks, level by level up to the root. Parents absent from
 * Salesforce too are noted on the items that reference them. */
static enum sfr_rc plan_pull(struct plan_ctx *c, struct wants *extra, struct sfr_err *err)
{
    struct sfr_plan *pl = c->plan;
    size_t *done = sfr_calloc((size_t)pl->n_objects + 1, sizeof(size_t));
    enum sfr_rc rc = SFR_OK;
    for (int round = 0; round < 64; round++) {
        struct wants w = {0};
        for (size_t i = 0; i < extra->n; i++)
            wants_add(&w, extra->v[i].obj, extra->v[i].id);
        for (int k = 0; k < pl->n_objects; k++) {
            for (size_t i = round ? done[k] : 0; i < pl->objects[k].n; i++)
                item_refs(c, &pl->objects[k], &pl->objects[k].items[i], &w);
            done[k] = pl->objects[k].n;
        }
        bool added = false;
        for (int k = 0; k < pl->n_objects && rc == SFR_OK; k++)
            rc = fetch_wanted(c, k, &w, err);
        for (size_t i = 0; i < w.n && rc == SFR_OK; i++) {
            struct sfr_plan_object *po = &pl->objects[w.v[i].obj];
            const char *id = w.v[i].id;
            if (recset_find(&c->pg[w.v[i].obj], id) != NULL ||
                sfr_plan_find(pl, po->co->proj->obj->name, id) != NULL)
                continue;
            const struct sfr_record *s = recset_find(&c->sf[w.v[i].obj], id);
            if (!sf_live(po->co->proj, s))
                continue; /* noted by note_absent_parents */
            struct sfr_plan_item *it = item_add(po, id, SFR_CAUSE_MISSING_PARENT);
            plan_pg_upsert(it, po->co->proj, s);
            it->pulled = true;
            item_note(it, "parent pulled from Salesforce");
            added = true;
        }
        wants_cleanup(&w);
        wants_cleanup(extra);
        if (!added || rc != SFR_OK)
            break;
    }
    sfr_free(done);
    return rc;
}

/* A missing_parent whose parent is in neither place cannot be fixed by a pull. */
static void note_absent_parent(struct plan_ctx *c, struct sfr_plan_item *it,
                               const struct sfr_discrepancy *d)
{
    if (d->parent_object == NULL || d->parent_sfid == NULL)
        return;
    int k = plan_object_index(c->plan, d->parent_object);
    if (k < 0) {
        if (it->op == SFR_OP_NONE) {
            it->unresolved = true;
            item_note(it, "parent object %s is not mapped", d->parent_object);
        }
        return;
    }
    if (recset_find(&c->pg[k], d->parent_sfid) != NULL ||
        sfr_plan_find(c->plan, d->parent_object, d->parent_sfid) != NULL)
        return;
    if (it->op == SFR_OP_NONE) {
        it->unresolved = true;
        item_note(it, "parent %s %s is absent in Salesforce too", d->parent_object, d->parent_sfid);
    }
}

/* ---- building ---------------------------------------------------------------------- */

static enum sfr_rc fetch_keys(struct plan_ctx *c, int k, const struct sfr_disc_list *discs,
                              const struct sfr_repair_opts *o, struct sfr_err *err)
{
    struct sfr_plan_object *po = &c->plan->objects[k];
    struct wants w = {0};
    for (size_t i = 0; i < discs->n; i++) {
        const struct sfr_discrepancy *d = &discs->v[i];
        if (d->sfid == NULL || strcasecmp(d->object, po->co->proj->obj->name) != 0)
            continue;
        if (o != NULL && o->only_set && !o->only[d->cause])
            continue;
        wants_add(&w, k, d->sfid);
    }
    enum sfr_rc rc = fetch_wanted(c, k, &w, err);
    wants_cleanup(&w);
    return rc;
}

static void plan_disc(struct plan_ctx *c, const struct sfr_discrepancy *d, struct wants *extra)
{
    int k = plan_object_index(c->plan, d->object);
    struct sfr_plan_object *po = &c->plan->objects[k];
    struct sfr_plan_item *it = sfr_plan_find(c->plan, d->object, d->sfid);
    if (it != NULL) {
        if (d->cause == SFR_CAUSE_MISSING_PARENT && d->parent_object && d->parent_sfid) {
            int pk = plan_object_index(c->plan, d->parent_object);
            if (pk >= 0)
                wants_add(extra, pk, d->parent_sfid);
        }
        return; /* one item per record: the state decides, not the cause */
    }
    it = item_add(po, d->sfid, d->cause);
    decide(it, po->co, d, recset_find(&c->sf[k], d->sfid), recset_find(&c->pg[k], d->sfid));
    if (d->cause == SFR_CAUSE_MISSING_PARENT && d->parent_object && d->parent_sfid) {
        int pk = plan_object_index(c->plan, d->parent_object);
        if (pk >= 0)
            wants_add(extra, pk, d->parent_sfid);
        if (it->op == SFR_OP_NONE && !it->unresolved)
            item_note(it, "parent %s %s pulled first", d->parent_object, d->parent_sfid);
    }
}

static void plan_count(struct sfr_plan *p)
{
    p->n_changes = p->n_unresolved = p->n_in_sync = 0;
    for (int k = 0; k < p->n_objects; k++) {
        for (size_t i = 0; i < p->objects[k].n; i++) {
            struct sfr_plan_item *it = &p->objects[k].items[i];
            if (it->unresolved) {
                it->status = SFR_ITEM_SKIPPED;
                p->n_unresolved++;
            } else if (it->op == SFR_OP_NONE) {
                p->n_in_sync++;
            } else {
                p->n_changes++;
            }
        }
    }
}

static enum sfr_rc plan_build(const struct sfr_disc_list *discs,
                              const struct sfr_check_object *objs, int n_objs, struct sfr_side *sf,
                              struct sfr_side *pg, const struct sfr_repair_opts *o,
                              struct sfr_plan *out, struct sfr_err *err);

/* A plan needs every discrepancy at once: a list spilled to disk is read
 * back first. */
enum sfr_rc sfr_plan_build(const struct sfr_disc_list *discs, const struct sfr_check_object *objs,
                           int n_objs, struct sfr_side *sf, struct sfr_side *pg,
                           const struct sfr_repair_opts *o, struct sfr_plan *out,
                           struct sfr_err *err)
{
    if (discs->n_spilled == 0)
        return plan_build(discs, objs, n_objs, sf, pg, o, out, err);
    struct sfr_disc_list all;
    enum sfr_rc rc = sfr_disc_list_materialize(discs, &all)
                         ? plan_build(&all, objs, n_objs, sf, pg, o, out, err)
                         : sfr_err_set(err, SFR_EIO,
                                       "discrepancies spilled to a temporary file "
                                       "could not be read back");
    sfr_disc_list_cleanup(&all);
    return rc;
}

static enum sfr_rc plan_build(const struct sfr_disc_list *discs,
                              const struct sfr_check_object *objs, int n_objs, struct sfr_side *sf,
                              struct sfr_side *pg, const struct sfr_repair_opts *o,
                              struct sfr_plan *out, struct sfr_err *err)
{
    enum sfr_rc rc = SFR_OK;
    struct wants extra = {0};
    memset(out, 0, sizeof(*out));
    out->objects = sfr_calloc((size_t)n_objs + 1, sizeof(*out->objects));
    out->n_objects = n_objs;
    for (int k = 0; k < n_objs; k++) {
        out->objects[k].co = &objs[k];
        out->objects[k].rank = k;
    }
    struct plan_ctx c = {.plan = out, .sf_side = sf, .pg_side = pg};
    c.sf = sfr_calloc((size_t)n_objs + 1, sizeof(*c.sf));
    c.pg = sfr_calloc((size_t)n_objs + 1, sizeof(*c.pg));
    c.fetched = sfr_calloc((size_t)n_objs + 1, sizeof(*c.fetched));
    for (int k = 0; k < n_objs && rc == SFR_OK; k++)
        rc = fetch_keys(&c, k, discs, o, err);
    if (rc != SFR_OK)
        goto out;
    for (size_t i = 0; i < discs->n; i++) {
        const struct sfr_discrepancy *d = &discs->v[i];
        if (d->sfid == NULL || (o != NULL && o->only_set && !o->only[d->cause]))
            continue;
        if (plan_object_index(out, d->object) < 0) {
            sfr_log_warn("repair: %s %s (%s): object is not mapped; skipped", d->object, d->sfid,
                         sfr_cause_name(d->cause));
            continue;
        }
        plan_disc(&c, d, &extra);
    }
    rc = plan_pull(&c, &extra, err);
    if (rc != SFR_OK)
        goto out;
    for (size_t i = 0; i < discs->n; i++) {
        const struct sfr_discrepancy *d = &discs->v[i];
        struct sfr_plan_item *it;
        if (d->cause == SFR_CAUSE_MISSING_PARENT &&
            (it = sfr_plan_find(out, d->object, d->sfid)) != NULL)
            note_absent_parent(&c, it, d);
    }
    sfr_plan_order(out);
    plan_count(out);
out:
    for (int k = 0; k < n_objs; k++) {
        recset_cleanup(&c.sf[k]);
        recset_cleanup(&c.pg[k]);
        strset_cleanup(&c.fetched[k]);
    }
    sfr_free(c.sf);
    sfr_free(c.pg);
    sfr_free(c.fetched);
    wants_cleanup(&extra);
    if (rc != SFR_OK)
        sfr_plan_cleanup(out);
    return rc;
}
