/* check_check.c — the classifier (every cause) and the checker over the
 * in-memory side (both depths, several chunks, parallel jobs). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfrecon/check.h"
#include "sfrecon/config.h"

#define ORG "tests/sfemu/org/sample-org.json"

static struct sfr_schema schema;

static void load_org(void)
{
    struct sfr_err err;
    const char *names[] = {"Account", "Opportunity", "Invoice__c", "Contact"};
    ck_assert_msg(sfr_schema_load(ORG, names, 4, &schema, &err) == SFR_OK, "%s", err.msg);
}

static void free_org(void)
{
    sfr_schema_cleanup(&schema);
}

/* One classifier case: a single differing field of an object. */
struct ccase {
    const char *object, *field, *sf, *pg;
    int64_t sf_mod, pg_mod;
    const char *lastop;
    int dup;
    bool read_write;
    int col_len;
    int want; /* enum sfr_cause, -1 = no discrepancy */
    /* evidence, zero when not given */
    const char *hc_err, *trigger_failed;
    bool tlog;         /* the mirror has a trigger log */
    int64_t queued_ms; /* earliest queued app write (0 = none) */
    bool calculated;   /* the field is a formula */
};
#define H1 3600000LL /* one hour in ms */

static const struct ccase ccases[] = {
    /* a prefix is a truncation only with evidence of a cut */
    {"Account", "Name", "Acme Corporation", "Acme Corpo", 1000, 1000, "SYNCED", 1, false, 0,
     SFR_CAUSE_FIELD_MISMATCH, NULL, NULL, false, 0, false},
    {"Account", "Name", "Acme Corporation", "Acme", 1000, 1000, "SYNCED", 1, false, 255,
     SFR_CAUSE_FIELD_MISMATCH, NULL, NULL, false, 0, false},
    {"Account", "Name", "Acme Corporation", "Acme Corpo", 1000, 1000, "SYNCED", 1, false, 10,
     SFR_CAUSE_TRUNCATION, NULL, NULL, false, 0, false},
    {"Account", "Name", "Acme Corporation", "Acme Corpo", 1000, 1000, "SYNCED", 1, false, 255,
     SFR_CAUSE_TRUNCATION, "{\"errorCode\":\"STRING_TOO_LONG\"}", NULL, false, 0, false},
    /* sync_error only when the latest entry or the current status is FAILED */
    {"Account", "Name", "Acme", "Acme Mine", 1000, 1000, "SYNCED", 1, true, 0,
     SFR_CAUSE_FIELD_MISMATCH, "{\"errorCode\":\"DUPLICATE_VALUE\"}", NULL, true, 0, false},
    {"Account", "Name", "Acme", "Acme Mine", 1000, 1000, "SYNCED", 1, true, 0, SFR_CAUSE_SYNC_ERROR,
     NULL, "DUPLICATE_VALUE: duplicate value found", true, 0, false},
    {"Account", "Name", "Acme", "Acme Mine", 1000, 1000, "SYNCED", 1, true, 0, SFR_CAUSE_SYNC_ERROR,
     NULL, "", true, 0, false},
    /* the conflict rule with a trigger log: the queued write's time decides */
    {"Account", "Name", "Acme New", "Acme Mine", 2000, 1000, "PENDING", 1, true, 0,
     SFR_CAUSE_CONFLICT, NULL, NULL, true, 1500, false},
    {"Account", "Name", "Acme New", "Acme Mine", 2000, 1000, "PENDING", 1, true, 0, SFR_CAUSE_STALE,
     NULL, NULL, true, 2500, false},
    {"Account", "Name", "Acme New", "Acme Mine", 2000, 1000, "PENDING", 1, true, 0,
     SFR_CAUSE_CONFLICT, NULL, NULL, true, 0, false},
    {"Account", "Name", "Acme New", "Acme Mine", 1000, 1000, "PENDING", 1, true, 0,
     SFR_CAUSE_FIELD_MISMATCH, NULL, NULL, true, 900, false},
    /* a write refused as STRING_TOO_LONG with the text cut: truncation, not sync_error */
    {"Account", "Name", "Acme Corporation", "Acme Corpo", 1000, 1000, "FAILED", 1, true, 0,
     SFR_CAUSE_TRUNCATION, "{\"errorCode\":\"STRING_TOO_LONG\"}",
     "STRING_TOO_LONG: data value too large", true, 0, false},
    /* a modstamp shifted by a zone offset is a type mismatch, not a stale version */
    {"Account", "Name", "Acme", "Acme", 10 * H1, 8 * H1, "SYNCED", 1, false, 0,
     SFR_CAUSE_TYPE_MISMATCH, NULL, NULL, false, 0, false},
    {"Account", "Name", "Acme", "Acme", 10 * H1, 10 * H1 + H1 / 4 * 3, "SYNCED", 1, false, 0,
     SFR_CAUSE_TYPE_MISMATCH, NULL, NULL, false, 0, false},
    {"Account", "Name", "Acme New", "Acme Old", 10 * H1, 8 * H1, "SYNCED", 1, false, 0,
     SFR_CAUSE_STALE, NULL, NULL, false, 0, false},
    {"Account", "Name", "Acme", "Acme", 10 * H1, 10 * H1 - 1000, "SYNCED", 1, false, 0,
     SFR_CAUSE_STALE, NULL, NULL, false, 0, false},
    /* a formula that moved while the modstamps agree */
    {"Account", "Description", "Tier 2", "Tier 1", 1000, 1000, "SYNCED", 1, false, 0,
     SFR_CAUSE_FORMULA_STALE, NULL, NULL, false, 0, true},
    {"Account", "Description", "Tier 2", "Tier 1", 2000, 1000, "SYNCED", 1, false, 0,
     SFR_CAUSE_STALE, NULL, NULL, false, 0, true},
    {"Account", "Name", "Acme", "Acme", 1000, 1000, "SYNCED", 1, false, 0, -1, NULL, NULL, false, 0,
     false},
    {"Account", "Name", "Acme", NULL, 1000, 1000, "SYNCED", 1, false, 0, SFR_CAUSE_FIELD_MISMATCH,
     NULL, NULL, false, 0, false},
    {"Account", "Name", "Acme", "Acne", 1000, 1000, "SYNCED", 1, false, 0, SFR_CAUSE_FIELD_MISMATCH,
     NULL, NULL, false, 0, false},
    {"Account", "Name", "Acme New", "Acme Old", 2000, 1000, "SYNCED", 1, false, 0, SFR_CAUSE_STALE,
     NULL, NULL, false, 0, false},
    {"Account", "Name", "Acme New", "Acme Mine", 2000, 1000, "PENDING", 1, true, 0,
     SFR_CAUSE_CONFLICT, NULL, NULL, false, 0, false},
    {"Account", "Name", "Acme", "Acme Mine", 1000, 1000, "FAILED", 1, true, 0, SFR_CAUSE_SYNC_ERROR,
     NULL, NULL, false, 0, false},
    {"Account", "Name", "Acme", "Acme", 1000, 1000, "SYNCED", 2, false, 0, SFR_CAUSE_DUPLICATE,
     NULL, NULL, false, 0, false},
    {"Account", "ParentId", "001D000000IRFmaIAH", "001D000000IRFma", 1000, 1000, "SYNCED", 1, false,
     0, SFR_CAUSE_TYPE_MISMATCH, NULL, NULL, false, 0, false},
    {"Account", "ParentId", "001D000000IRFmaIAH", "001D000000IRFmbIAH", 1000, 1000, "SYNCED", 1,
     false, 0, SFR_CAUSE_FIELD_MISMATCH, NULL, NULL, false, 0, false},
    {"Opportunity", "Amount", "1234.56", "1235", 1000, 1000, "SYNCED", 1, false, 0,
     SFR_CAUSE_TYPE_MISMATCH, NULL, NULL, false, 0, false},
    {"Opportunity", "Amount", "1234.5", "1234.50", 1000, 1000, "SYNCED", 1, false, 0, -1, NULL,
     NULL, false, 0, false},
    {"Opportunity", "Amount", "1234.56", "99.1", 1000, 1000, "SYNCED", 1, false, 0,
     SFR_CAUSE_FIELD_MISMATCH, NULL, NULL, false, 0, false},
    {"Invoice__c", "Issued_At__c", "2024-03-01T10:00:00.000+0000", "2024-03-01 12:00:00", 1000,
     1000, "SYNCED", 1, false, 0, SFR_CAUSE_TYPE_MISMATCH, NULL, NULL, false, 0, false},
    {"Invoice__c", "Issued_At__c", "2024-03-01T10:00:00.000+0000", "2024-03-01 10:00:00", 1000,
     1000, "SYNCED", 1, false, 0, -1, NULL, NULL, false, 0, false},
    {"Invoice__c", "Tags__c", "Export;Priority", "Priority;Export", 1000, 1000, "SYNCED", 1, false,
     0, -1, NULL, NULL, false, 0, false},
    {"Invoice__c", "Paid__c", "true", "yes", 1000, 1000, "SYNCED", 1, false, 0,
     SFR_CAUSE_TYPE_MISMATCH, NULL, NULL, false, 0, false},
    {"Invoice__c", "Paid__c", "true", "t", 1000, 1000, "SYNCED", 1, false, 0, -1, NULL, NULL, false,
     0, false},
    {"Invoice__c", "Paid__c", "true", "f", 1000, 1000, "SYNCED", 1, false, 0,
     SFR_CAUSE_FIELD_MISMATCH, NULL, NULL, false, 0, false},
    {"Contact", "Birthdate", "1980-05-01", "01/05/1980", 1000, 1000, "SYNCED", 1, false, 0,
     SFR_CAUSE_TYPE_MISMATCH, NULL, NULL, false, 0, false},
    {"Contact", "Birthdate", "1980-05-01", "1980-05-02", 1000, 1000, "SYNCED", 1, false, 0,
     SFR_CAUSE_FIELD_MISMATCH, NULL, NULL, false, 0, false},
};

static struct sfr_record *mkrec(const struct sfr_projection *p, int fi, const char *v, int64_t mod,
                                bool pg)
{
    struct sfr_record *r = calloc(1, sizeof(*r));
    r->sfid = strdup("001000000000001AAA");
    r->n_values = p->n_fields;
    r->values = calloc((size_t)p->n_fields, sizeof(char *));
    r->values[0] = strdup(r->sfid);
    if (fi > 0)
        r->values[fi] = v ? strdup(v) : NULL;
    if (p->idx_modstamp > 0 && p->idx_modstamp != fi) {
        char ts[32];
        if (pg)
            sfr_format_datetime_pg(mod, ts);
        else
            sfr_format_datetime_sf(mod, ts);
        r->values[p->idx_modstamp] = strdup(ts);
    }
    r->mod_ms = mod;
    r->queued_ms = INT64_MIN;
    return r;
}

START_TEST(test_classify)
{
    const struct ccase *c = &ccases[_i];
    struct sfr_object *obj = sfr_schema_object_mut(&schema, c->object);
    ck_assert_ptr_nonnull(obj);
    struct sfr_field *cf = &obj->fields[sfr_object_field_index(obj, c->field)];
    bool was_calc = cf->calculated;
    cf->calculated = c->calculated;
    const char *fields[] = {c->field};
    struct sfr_projection p;
    sfr_projection_init(&p, obj, fields, 1, "salesforce", NULL);
    int fi = -1;
    for (int i = 0; i < p.n_fields; i++)
        if (strcmp(p.fields[i]->name, c->field) == 0)
            fi = i;
    ck_assert_int_gt(fi, 0);
    struct sfr_record *sf = mkrec(&p, fi, c->sf, c->sf_mod, false);
    struct sfr_record *pg = mkrec(&p, fi, c->pg, c->pg_mod, true);
    pg->hc_lastop = strdup(c->lastop);
    pg->hc_err = c->hc_err ? strdup(c->hc_err) : NULL;
    pg->trigger_failed = c->trigger_failed ? strdup(c->trigger_failed) : NULL;
    pg->has_tlog = c->tlog;
    pg->has_status = true;
    pg->queued_ms = c->queued_ms ? c->queued_ms : INT64_MIN;
    pg->dup_count = c->dup;
    pg->pg_id = 7;
    struct sfr_mapping map;
    memset(&map, 0, sizeof(map));
    map.access = c->read_write ? SFR_ACCESS_READ_WRITE : SFR_ACCESS_READ_ONLY;
    int *lens = calloc((size_t)p.n_fields, sizeof(int));
    lens[fi] = c->col_len;
    struct sfr_check_object co = {&p, &map, NULL, lens};
    struct sfr_discrepancy d;
    bool differs = sfr_classify(&co, sf, pg, &d);
    if (c->want < 0) {
        ck_assert_msg(!differs, "case %d: unexpected %s: %s", _i, sfr_cause_name(d.cause),
                      d.detail);
    } else {
        ck_assert_msg(differs, "case %d: no discrepancy", _i);
        ck_assert_msg((int)d.cause == c->want, "case %d: got %s (%s), want %s", _i,
                      sfr_cause_name(d.cause), d.detail, sfr_cause_name(c->want));
        ck_assert_ptr_nonnull(d.detail);
        ck_assert_str_eq(d.object, c->object);
        sfr_discrepancy_cleanup(&d);
    }
    sfr_record_cleanup(sf);
    sfr_record_cleanup(pg);
    free(sf);
    free(pg);
    free(lens);
    sfr_projection_cleanup(&p);
    cf->calculated = was_calc;
}
END_TEST

START_TEST(test_classify_missing)
{
    const struct sfr_object *obj = sfr_schema_object(&schema, "Account");
    const char *fields[] = {"Name", "IsDeleted"};
    struct sfr_projection p;
    sfr_projection_init(&p, obj, fields, 2, "salesforce", NULL);
    int fn = 1;
    struct sfr_record *sf = mkrec(&p, fn, "Acme", 1000, false);
    struct sfr_record *pg = mkrec(&p, fn, "Acme", 1000, true);
    struct sfr_check_object co = {&p, NULL, NULL, NULL};
    struct sfr_discrepancy d;
    ck_assert(sfr_classify(&co, sf, NULL, &d));
    ck_assert_int_eq(d.cause, SFR_CAUSE_MISSING_IN_PG);
    sfr_discrepancy_cleanup(&d);
    ck_assert(sfr_classify(&co, NULL, pg, &d));
    ck_assert_int_eq(d.cause, SFR_CAUSE_MISSING_IN_SF);
    sfr_discrepancy_cleanup(&d);
    /* a record deleted in Salesforce (queryAll) is missing there */
    ck_assert_int_ge(p.idx_isdeleted, 0);
    sf->values[p.idx_isdeleted] = strdup("true");
    ck_assert(sfr_classify(&co, sf, pg, &d));
    ck_assert_int_eq(d.cause, SFR_CAUSE_MISSING_IN_SF);
    sfr_discrepancy_cleanup(&d);
    sfr_record_cleanup(sf);
    sfr_record_cleanup(pg);
    free(sf);
    free(pg);
    sfr_projection_cleanup(&p);
}
END_TEST

/* ---- the checker over two memory sides ---- */

struct pair {
    struct sfr_side *sf, *pg;
    int made;
};

/* Memory sides cannot be shared between threads, but these tests only read
 * them after setup; the factory hands out borrowed wrappers via a clone. */
static struct sfr_side *clone_side(struct sfr_side *src, enum sfr_canon_src kind,
                                   const struct sfr_projection *p);

static struct sfr_side *g_sf, *g_pg;
static const struct sfr_projection *g_p;

static enum sfr_rc factory(void *ctx, struct sfr_side **sf, struct sfr_side **pg,
                           struct sfr_err *err)
{
    (void)err;
    struct pair *pr = ctx;
    pr->made++;
    *sf = clone_side(g_sf, SFR_SRC_SF, g_p);
    *pg = clone_side(g_pg, SFR_SRC_PG, g_p);
    return SFR_OK;
}

/* The id of account i of the dataset. */
static void acc_id(char id[19], int i)
{
    snprintf(id, 19, "001G0%010dAAA", i * 7 + 1);
}

/* Account i of the dataset with this Name. */
static void put_one(struct sfr_side *s, const struct sfr_projection *p, int i, const char *name,
                    bool pg)
{
    const char *v[8] = {0};
    char id[19];
    acc_id(id, i);
    v[0] = id;
    for (int k = 1; k < p->n_fields; k++) {
        if (strcmp(p->fields[k]->name, "Name") == 0)
            v[k] = name;
        else if (k == p->idx_modstamp)
            v[k] = pg ? "2024-01-01 00:00:00.123" : "2024-01-01T00:00:00.123+0000";
    }
    sfr_memside_put(s, p, v);
}

/* The dataset: n accounts named "Account i"; faults applied by callers. */
static void fill(struct sfr_side *s, const struct sfr_projection *p, int n, bool pg)
{
    for (int i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof(name), "Account %d", i);
        put_one(s, p, i, name, pg);
    }
}

static struct sfr_side *clone_side(struct sfr_side *src, enum sfr_canon_src kind,
                                   const struct sfr_projection *p)
{
    /* copy every row: the keys through stream, the rows through fetch */
    struct sfr_side *dst = sfr_memside_new(kind);
    struct sfr_strv ids = {0};
    struct sfr_err err;
    struct sfr_range all = {NULL, NULL};
    int key(void *c, const struct sfr_row_summary *row);
    if (src->ops->stream(src, p, &all, -1, key, &ids, &err) != SFR_OK)
        return dst;
    struct fetchctx {
        struct sfr_side *dst;
        const struct sfr_projection *p;
    } fc = {dst, p};
    int put(void *c, const struct sfr_record *r);
    src->ops->fetch(src, p, (const char *const *)ids.v, (int)ids.n, put, &fc, &err);
    sfr_strv_cleanup(&ids);
    return dst;
}

int key(void *c, const struct sfr_row_summary *row)
{
    sfr_strv_push(c, row->sfid);
    return 0;
}

int put(void *c, const struct sfr_record *r)
{
    struct {
        struct sfr_side *dst;
        const struct sfr_projection *p;
    } *fc = c;
    sfr_memside_put(fc->dst, fc->p, (const char *const *)r->values);
    return 0;
}

/* Two memory sides over an Account projection (Id, Name, SystemModstamp),
 * filled with n_sf and n_pg generated accounts; sides_down frees them. */
static void sides_up(struct sfr_projection *p, int n_sf, int n_pg)
{
    const char *fields[] = {"Name"};
    sfr_projection_init(p, sfr_schema_object(&schema, "Account"), fields, 1, "salesforce", NULL);
    g_p = p;
    g_sf = sfr_memside_new(SFR_SRC_SF);
    g_pg = sfr_memside_new(SFR_SRC_PG);
    fill(g_sf, p, n_sf, false);
    fill(g_pg, p, n_pg, true);
}

static void sides_down(struct sfr_projection *p)
{
    sfr_side_free(g_sf);
    sfr_side_free(g_pg);
    sfr_projection_cleanup(p);
}

static int g_single_pass; /* sfr_check_opts.single_pass for run_checker */

static void run_checker(enum sfr_depth depth, int jobs, long chunk, struct sfr_disc_list *out,
                        struct sfr_check_stats *st)
{
    struct sfr_check_opts o;
    sfr_check_opts_defaults(&o);
    o.single_pass = g_single_pass;
    o.depth = depth;
    o.jobs = jobs;
    o.chunk_size = chunk;
    o.bisect_factor = 4;
    o.bisect_threshold = 50;
    struct sfr_check_object co = {g_p, NULL, NULL, NULL};
    struct pair pr = {0};
    struct sfr_err err;
    memset(st, 0, sizeof(*st));
    ck_assert_msg(sfr_check_object(&co, &o, factory, &pr, out, st, &err) == SFR_OK, "%s", err.msg);
}

static int count_cause(const struct sfr_disc_list *l, enum sfr_cause c, const char *sfid)
{
    int n = 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].cause == c && (sfid == NULL || strcmp(l->v[i].sfid, sfid) == 0))
            n++;
    return n;
}

static const struct {
    enum sfr_depth depth;
    int jobs;
    long chunk;
} checker_cases[] = {
    {SFR_DEPTH_CONTENT, 1, 100000},
    {SFR_DEPTH_CONTENT, 2, 97},
    {SFR_DEPTH_CONTENT, 3, 1000},
};

/* A spillable list holds at most SFR_DISC_SPILL discrepancies in memory;
 * the rest come back from the spill file in order, fields and all. */
START_TEST(test_disc_spill)
{
    struct sfr_disc_list l = {0};
    l.spillable = true;
    long n = 3L * SFR_DISC_SPILL + 7;
    for (long i = 0; i < n; i++) {
        struct sfr_discrepancy d;
        memset(&d, 0, sizeof(d));
        d.object = sfr_strdup("Account");
        d.sfid = sfr_asprintf("001G0%010ldAAA", i);
        d.cause = i % 2 ? SFR_CAUSE_MISSING_IN_SF : SFR_CAUSE_FIELD_MISMATCH;
        d.detail = i % 3 ? sfr_strdup("a detail") : NULL;
        d.pg_id = i;
        d.open_since = i % 5;
        d.sf_mod_ms = INT64_MIN;
        if (i % 2 == 0)
            sfr_discrepancy_add_field(&d, "Name", "Acme", i % 4 ? NULL : "");
        sfr_disc_list_push(&l, &d);
        ck_assert_uint_le(l.n, SFR_DISC_SPILL);
    }
    ck_assert_uint_eq(sfr_disc_list_count(&l), (size_t)n);
    ck_assert_uint_gt(l.n_spilled, 0);
    ck_assert_int_eq(l.by_cause[SFR_CAUSE_MISSING_IN_SF], n / 2);
    for (int pass = 0; pass < 2; pass++) {
        size_t from = pass ? (size_t)SFR_DISC_SPILL + 3 : 0;
        struct sfr_disc_iter it;
        sfr_disc_iter_begin(&it, &l, from);
        const struct sfr_discrepancy *d;
        long i = (long)from;
        while ((d = sfr_disc_iter_next(&it)) != NULL) {
            char want[32];
            snprintf(want, sizeof(want), "001G0%010ldAAA", i);
            ck_assert_str_eq(d->sfid, want);
            ck_assert_int_eq(d->pg_id, i);
            ck_assert_int_eq(d->open_since, i % 5);
            ck_assert(d->sf_mod_ms == INT64_MIN);
            ck_assert(d->cause == (i % 2 ? SFR_CAUSE_MISSING_IN_SF : SFR_CAUSE_FIELD_MISMATCH));
            ck_assert(i % 3 ? d->detail != NULL && strcmp(d->detail, "a detail") == 0
                            : d->detail == NULL);
            ck_assert_int_eq(d->n_fields, i % 2 ? 0 : 1);
            if (i % 2 == 0) {
                ck_assert_str_eq(d->fields[0].sf_value, "Acme");
                ck_assert(i % 4 ? d->fields[0].pg_value == NULL
                                : strcmp(d->fields[0].pg_value, "") == 0);
            }
            i++;
        }
        ck_assert(!it.err);
        sfr_disc_iter_end(&it);
        ck_assert_int_eq(i, n);
    }
    struct sfr_disc_list all;
    ck_assert(sfr_disc_list_materialize(&l, &all));
    ck_assert_uint_eq(all.n, (size_t)n);
    ck_assert_uint_eq(all.n_spilled, 0);
    ck_assert_str_eq(all.v[n - 1].sfid, l.v[l.n - 1].sfid);
    sfr_disc_list_cleanup(&all);
    sfr_disc_list_cleanup(&l);
}
END_TEST

START_TEST(test_checker)
{
    struct sfr_projection p;
    sides_up(&p, 3000, 3000);
    /* faults: one missing in pg, one extra in pg, one changed name */
    char gone[19], extra[19], changed[19];
    acc_id(gone, 1234);
    acc_id(changed, 2999);
    sfr_memside_remove(g_pg, gone);
    put_one(g_pg, &p, 5000, "Ghost", true);
    acc_id(extra, 5000);
    put_one(g_pg, &p, 2999, "Renamed", true);

    struct sfr_disc_list out = {0};
    struct sfr_check_stats st;
    run_checker(checker_cases[_i].depth, checker_cases[_i].jobs, checker_cases[_i].chunk, &out,
                &st);
    ck_assert_msg(out.n == 3, "case %d: %zu discrepancies", _i, out.n);
    ck_assert_int_eq(count_cause(&out, SFR_CAUSE_MISSING_IN_PG, gone), 1);
    ck_assert_int_eq(count_cause(&out, SFR_CAUSE_MISSING_IN_SF, extra), 1);
    ck_assert_int_eq(count_cause(&out, SFR_CAUSE_FIELD_MISMATCH, changed), 1);
    ck_assert(st.complete);
    sfr_disc_list_cleanup(&out);
    sfr_check_stats_cleanup(&st);

    /* clean after removing the faults */
    sfr_memside_remove(g_pg, extra);
    put_one(g_pg, &p, 2999, "Account 2999", true);
    put_one(g_pg, &p, 1234, "Account 1234", true);
    run_checker(checker_cases[_i].depth, checker_cases[_i].jobs, checker_cases[_i].chunk, &out,
                &st);
    ck_assert_msg(out.n == 0, "case %d: clean sides gave %zu", _i, out.n);
    sfr_disc_list_cleanup(&out);
    sfr_check_stats_cleanup(&st);
    sides_down(&p);
}
END_TEST

/* An incremental run against the states of the run before, the keys of
 * the discrepancies it stored (NULL: none) and a watermark: returns its
 * discrepancies in *out. */
static void run_incr_from(const struct sfr_chunk_list *prev, const struct sfr_strv *prev_keys,
                          int64_t watermark_ms, struct sfr_disc_list *out,
                          struct sfr_check_stats *st)
{
    struct sfr_check_opts o;
    sfr_check_opts_defaults(&o);
    o.prev = prev;
    o.prev_keys = prev_keys;
    o.watermark_ms = watermark_ms;
    o.chunk_size = 100;
    struct sfr_check_object co = {g_p, NULL, NULL, NULL};
    struct pair pr = {0};
    struct sfr_err err;
    memset(st, 0, sizeof(*st));
    ck_assert_msg(sfr_check_object(&co, &o, factory, &pr, out, st, &err) == SFR_OK, "%s", err.msg);
}

/* The same with the watermark after the data's modstamps. */
static void run_incr(const struct sfr_chunk_list *prev, struct sfr_disc_list *out,
                     struct sfr_check_stats *st)
{
    run_incr_from(prev, NULL, 1705276800000 /* 2024-01-15 */, out, st);
}

static struct sfr_chunk_list take_chunks(struct sfr_check_stats *st)
{
    struct sfr_chunk_list l = st->chunks;
    memset(&st->chunks, 0, sizeof(st->chunks));
    sfr_check_stats_cleanup(st);
    return l;
}

static long dirty_chunks(const struct sfr_chunk_list *l)
{
    long n = 0;
    for (size_t i = 0; i < l->n; i++)
        n += !l->v[i].clean;
    return n;
}

/* 1000 accounts on both sides audited in full, clean: the chunk states an
 * incremental run starts from. */
static struct sfr_chunk_list clean_full_run(struct sfr_projection *p, struct sfr_disc_list *out,
                                            struct sfr_check_stats *st)
{
    sides_up(p, 1000, 1000);
    g_single_pass = -1; /* chunks of 100 rows: the incremental runs below touch a few */
    run_checker(SFR_DEPTH_CONTENT, 2, 100, out, st);
    g_single_pass = 0;
    ck_assert_int_eq(out->n, 0);
    return take_chunks(st);
}

START_TEST(test_incremental)
{
    struct sfr_projection p;
    struct sfr_disc_list out = {0};
    struct sfr_check_stats st;
    struct sfr_chunk_list prev = clean_full_run(&p, &out, &st);
    ck_assert_int_ge(prev.n, 10);
    ck_assert_int_eq(dirty_chunks(&prev), 0);
    for (size_t i = 0; i < prev.n; i++)
        ck_assert(prev.v[i].has_sum);

    /* nothing changed: no chunk compared whole, no key compared */
    run_incr(&prev, &out, &st);
    ck_assert_int_eq(out.n, 0);
    ck_assert_int_eq(st.incr_keys, 0);
    ck_assert_int_eq(st.rows_sf, 1000);
    ck_assert_int_eq((long)st.chunks.n, (long)prev.n);
    sfr_check_stats_cleanup(&st);

    /* a change made since in Salesforce: its key alone is compared */
    const char *v[4] = {0};
    char id[19];
    acc_id(id, 500);
    v[0] = id;
    v[1] = "Changed";
    v[p.idx_modstamp] = "2024-02-01T00:00:00.000+0000";
    sfr_memside_put(g_sf, &p, v);
    run_incr(&prev, &out, &st);
    ck_assert_int_eq(out.n, 1);
    ck_assert_int_eq(count_cause(&out, SFR_CAUSE_STALE, id), 1);
    ck_assert_int_eq(st.incr_keys, 1);
    struct sfr_chunk_list next = take_chunks(&st);
    ck_assert_int_eq(dirty_chunks(&next), 1); /* the chunk holding it is not clean */
    sfr_disc_list_cleanup(&out);

    /* and the next run, with nothing new, finds it again (its chunk is
     * compared whole) instead of going clean */
    run_incr(&next, &out, &st);
    ck_assert_int_eq(out.n, 1);
    ck_assert_int_eq(count_cause(&out, SFR_CAUSE_STALE, id), 1);
    ck_assert_int_eq(st.incr_keys, 0);
    sfr_check_stats_cleanup(&st);
    sfr_disc_list_cleanup(&out);

    /* with the keys of the discrepancies the last run stored, its chunk is
     * compared key by key instead, and the finding is the same */
    struct sfr_strv keys = {0};
    sfr_strv_push(&keys, id);
    run_incr_from(&next, &keys, 1706745600000 /* 2024-02-01: the change is older */, &out, &st);
    ck_assert_int_eq(out.n, 1);
    ck_assert_int_eq(count_cause(&out, SFR_CAUSE_STALE, id), 1);
    ck_assert_int_eq(st.incr_keys, 1);
    ck_assert_int_eq(st.rows_sf, 1000); /* accounted, none read whole */
    sfr_strv_cleanup(&keys);
    sfr_check_stats_cleanup(&st);
    sfr_disc_list_cleanup(&out);
    sfr_chunk_list_cleanup(&next);
    sfr_chunk_list_cleanup(&prev);
    sides_down(&p);
}
END_TEST

/* An edit in the mirror that does not move systemmodstamp, and a record
 * purged from Salesforce without a trace: both found incrementally. */
START_TEST(test_incremental_quiet_changes)
{
    struct sfr_projection p;
    struct sfr_disc_list out = {0};
    struct sfr_check_stats st;
    struct sfr_chunk_list prev = clean_full_run(&p, &out, &st);

    put_one(g_pg, &p, 321, "Edited behind Connect's back", true); /* same modstamp */
    char purged[19];
    acc_id(purged, 777);
    sfr_memside_remove(g_sf, purged);
    run_incr(&prev, &out, &st);
    char edited[19];
    acc_id(edited, 321);
    ck_assert_msg(out.n == 2, "%zu discrepancies", out.n);
    ck_assert_int_eq(count_cause(&out, SFR_CAUSE_FIELD_MISMATCH, edited), 1);
    ck_assert_int_eq(count_cause(&out, SFR_CAUSE_MISSING_IN_SF, purged), 1);
    ck_assert_int_eq(st.incr_keys, 0);
    ck_assert_int_lt(st.rows_sf, 1000); /* only two chunks were read whole */
    sfr_check_stats_cleanup(&st);
    sfr_disc_list_cleanup(&out);

    /* without a watermark every chunk is compared whole */
    struct sfr_check_opts o;
    sfr_check_opts_defaults(&o);
    o.prev = &prev;
    struct sfr_check_object co = {g_p, NULL, NULL, NULL};
    struct pair pr = {0};
    struct sfr_err err;
    memset(&st, 0, sizeof(st));
    ck_assert(sfr_check_object(&co, &o, factory, &pr, &out, &st, &err) == SFR_OK);
    ck_assert_int_eq(out.n, 2);
    ck_assert_int_eq(st.rows_sf, 999);
    sfr_check_stats_cleanup(&st);
    sfr_disc_list_cleanup(&out);
    sfr_chunk_list_cleanup(&prev);
    sides_down(&p);
}
END_TEST

/* A record changed while the audit ran (its modstamp after the start) is
 * compared again at the end, and reported when it stopped moving. */
START_TEST(test_recheck_settled)
{
    struct sfr_projection p;
    sides_up(&p, 200, 200);
    put_one(g_pg, &p, 50, "Old name", true);
    struct sfr_check_opts o;
    sfr_check_opts_defaults(&o);
    o.chunk_size = 100;
    o.audit_start_ms = 1704067200000; /* 2024-01-01 00:00:00.000: every row "changed during" */
    o.recheck_wait_ms = 0;
    struct sfr_check_object co = {g_p, NULL, NULL, NULL};
    struct pair pr = {0};
    struct sfr_err err;
    struct sfr_disc_list out = {0};
    struct sfr_check_stats st;
    memset(&st, 0, sizeof(st));
    ck_assert(sfr_check_object(&co, &o, factory, &pr, &out, &st, &err) == SFR_OK);
    ck_assert_int_eq(out.n, 1);
    ck_assert_int_eq(st.rechecked_changed, 1);
    ck_assert_int_eq((long)st.in_flight.n, 0);
    ck_assert_int_eq(dirty_chunks(&st.chunks), 1);
    sfr_check_stats_cleanup(&st);
    sfr_disc_list_cleanup(&out);
    sides_down(&p);
}
END_TEST

/* Count depth sees what moves counts or modstamps: a missing row and a newer
 * Salesforce version, found by bisection with few digest calls. */
static const int count_jobs[] = {1, 2};

START_TEST(test_checker_count)
{
    struct sfr_projection p;
    sides_up(&p, 5000, 5000);
    char gone[19], newer[19];
    acc_id(gone, 4321);
    acc_id(newer, 17);
    sfr_memside_remove(g_pg, gone);
    const char *v[4] = {0};
    v[0] = newer;
    v[1] = "Renamed in Salesforce";
    v[p.idx_modstamp] = "2024-02-01T00:00:00.000+0000";
    sfr_memside_put(g_sf, &p, v);
    struct sfr_disc_list out = {0};
    struct sfr_check_stats st;
    run_checker(SFR_DEPTH_COUNT, count_jobs[_i], 100, &out, &st);
    ck_assert_int_eq(out.n, 2);
    ck_assert_int_eq(count_cause(&out, SFR_CAUSE_MISSING_IN_PG, gone), 1);
    ck_assert_int_eq(count_cause(&out, SFR_CAUSE_STALE, newer), 1);
    ck_assert_int_gt(st.ranges_bisected, 0);
    sfr_disc_list_cleanup(&out);
    sfr_check_stats_cleanup(&st);
    sides_down(&p);
}
END_TEST

/* Differences everywhere: count depth switches from bisection to streaming
 * the parts that differ, and still finds every one. */
START_TEST(test_checker_count_dense)
{
    struct sfr_projection p;
    sides_up(&p, 6000, 6000);
    for (int i = 3; i < 6000; i += 20) {
        char id[19];
        acc_id(id, i);
        sfr_memside_remove(g_pg, id);
    }
    struct sfr_disc_list out = {0};
    struct sfr_check_stats st;
    run_checker(SFR_DEPTH_COUNT, 2, 100, &out, &st);
    ck_assert_int_eq(out.n, 300);
    ck_assert_int_eq(count_cause(&out, SFR_CAUSE_MISSING_IN_PG, NULL), 300);
    sfr_disc_list_cleanup(&out);
    sfr_check_stats_cleanup(&st);
    sides_down(&p);
}
END_TEST

/* A mirror holding almost nothing of a large object: the Salesforce side of
 * the one chunk is cut at the row cap and the rest queued, so no task holds
 * more than the cap; every missing row is still found. */
START_TEST(test_checker_sparse_mirror)
{
    struct sfr_projection p;
    sides_up(&p, 5000, 0);
    for (int i = 0; i < 5000; i += 500)
        put_one(g_pg, &p, i, NULL, true);
    struct sfr_disc_list out = {0};
    struct sfr_check_stats st;
    run_checker(SFR_DEPTH_CONTENT, 2, 100, &out, &st);
    ck_assert_msg(count_cause(&out, SFR_CAUSE_MISSING_IN_PG, NULL) == 4990,
                  "missing %d mismatch %d total %zu",
                  count_cause(&out, SFR_CAUSE_MISSING_IN_PG, NULL),
                  count_cause(&out, SFR_CAUSE_FIELD_MISMATCH, NULL), out.n);
    for (int i = 0; i < 5000; i += 500) {
        char id[19];
        acc_id(id, i);
        ck_assert_msg(count_cause(&out, SFR_CAUSE_FIELD_MISMATCH, id) == 1,
                      "row %d (%s) not reported", i, id);
    }
    ck_assert_int_eq(out.n, 4990 + 10);
    ck_assert_int_ge(st.chunks.n, 5);
    long total = 0;
    for (size_t k = 0; k < st.chunks.n; k++) {
        ck_assert_int_le(st.chunks.v[k].sf_count, 1000);
        total += st.chunks.v[k].sf_count;
    }
    ck_assert_int_eq(total, 5000);
    sfr_disc_list_cleanup(&out);
    sfr_check_stats_cleanup(&st);
    sides_down(&p);
}
END_TEST

/* A test of the chunked path, run with the single-pass audit (scan.c). */
static void with_single_pass(void (*test)(int), int i)
{
    g_single_pass = 1;
    test(i);
    g_single_pass = 0;
}

/* The single-pass audit finds what the chunked path finds: the faults of
 * test_checker, from sketches and from buckets read again. */
START_TEST(test_scan)
{
    with_single_pass(test_checker_fn, _i);
}
END_TEST

/* Many changes in one bucket are too many for its sketch: the bucket is
 * read again and compared row by row; the chunk states cover every row. */
START_TEST(test_scan_dense)
{
    struct sfr_projection p;
    sides_up(&p, 3000, 3000);
    for (int i = 100; i < 160; i++)
        put_one(g_pg, &p, i, "Changed", true);
    struct sfr_disc_list out = {0};
    struct sfr_check_stats st;
    g_single_pass = 1;
    run_checker(SFR_DEPTH_CONTENT, 2, 1000, &out, &st);
    g_single_pass = 0;
    ck_assert_int_eq(count_cause(&out, SFR_CAUSE_FIELD_MISMATCH, NULL), 60);
    ck_assert_int_eq(out.n, 60);
    ck_assert_int_eq(st.keys_differing, 60);
    ck_assert_int_eq(st.rows_sf, 3000);
    ck_assert_int_eq(st.rows_pg, 3000);
    long total = 0;
    for (size_t k = 0; k < st.chunks.n; k++)
        total += st.chunks.v[k].pg_count;
    ck_assert_int_eq(total, 3000);
    ck_assert(st.chunks.n >= 2);
    sfr_disc_list_cleanup(&out);
    sfr_check_stats_cleanup(&st);
    sides_down(&p);
}
END_TEST

/* A mirror holding a few rows gives one bucket far larger than can be held:
 * the chunked path cuts it at the row cap, and every missing row is found. */
START_TEST(test_scan_sparse_mirror)
{
    with_single_pass(test_checker_sparse_mirror_fn, _i);
}
END_TEST

Suite *check_suite(void)
{
    Suite *s = suite_create("check");
    TCase *tc = tcase_create("classify");
    tcase_add_unchecked_fixture(tc, load_org, free_org);
    tcase_add_loop_test(tc, test_classify, 0, (int)(sizeof(ccases) / sizeof(ccases[0])));
    tcase_add_test(tc, test_classify_missing);
    suite_add_tcase(s, tc);
    TCase *tk = tcase_create("checker");
    tcase_set_timeout(tk, 60);
    tcase_add_unchecked_fixture(tk, load_org, free_org);
    tcase_add_loop_test(tk, test_checker, 0,
                        (int)(sizeof(checker_cases) / sizeof(checker_cases[0])));
    tcase_add_test(tk, test_incremental);
    tcase_add_test(tk, test_disc_spill);
    tcase_add_test(tk, test_incremental_quiet_changes);
    tcase_add_test(tk, test_recheck_settled);
    tcase_add_loop_test(tk, test_checker_count, 0, 2);
    tcase_add_test(tk, test_checker_count_dense);
    tcase_add_test(tk, test_checker_sparse_mirror);
    tcase_add_loop_test(tk, test_scan, 0, (int)(sizeof(checker_cases) / sizeof(checker_cases[0])));
    tcase_add_test(tk, test_scan_dense);
    tcase_add_test(tk, test_scan_sparse_mirror);
    suite_add_tcase(s, tk);
    return s;
}
