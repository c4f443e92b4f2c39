/* check_repair.c — repair plans over the in-memory side: the operation and
 * direction per cause and policy, --only, unresolved conflicts listed,
 * parent chains pulled up to the root, cyclic references deferred to a
 * second pass, objects parents-first, deletes children-first (observed on
 * the write calls), and a second plan after applying being empty. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfrecon/repair.h"
#include "sfrecon/sfid.h"

#define ORG "tests/sfemu/org/sample-org.json"

enum { ACC, CON, INV, LINE, N_OBJ };
static const char *const obj_names[N_OBJ] = {"Account", "Contact", "Invoice__c", "Invoice_Line__c"};
static const char *const acc_f[] = {"Name", "ParentId", "IsDeleted", "SystemModstamp"};
static const char *const con_f[] = {"LastName", "AccountId", "ReportsToId", "SystemModstamp"};
static const char *const inv_f[] = {"Name", "Account__c", "SystemModstamp"};
static const char *const line_f[] = {"Invoice__c", "Quantity__c", "SystemModstamp"};

static struct sfr_schema schema;
static struct sfr_projection proj[N_OBJ];
static struct sfr_check_object co[N_OBJ];
static struct sfr_mapping rw_map; /* read_write, policy set per test */
static struct sfr_side *sf, *pg;

static const char *T1 = "2024-01-01T00:00:00.000+0000", *T2 = "2024-02-01T00:00:00.000+0000";
static const char *P1 = "2024-01-01 00:00:00";

static void setup(void)
{
    struct sfr_err err;
    ck_assert_msg(sfr_schema_load(ORG, obj_names, N_OBJ, &schema, &err) == SFR_OK, "%s", err.msg);
    const char *const *f[N_OBJ] = {acc_f, con_f, inv_f, line_f};
    int nf[N_OBJ] = {4, 4, 3, 3};
    for (int i = 0; i < N_OBJ; i++) {
        sfr_projection_init(&proj[i], sfr_schema_object(&schema, obj_names[i]), f[i], nf[i],
                            "salesforce", NULL);
        memset(&co[i], 0, sizeof(co[i]));
        co[i].proj = &proj[i];
    }
    memset(&rw_map, 0, sizeof(rw_map));
    rw_map.object_name = "Account";
    rw_map.access = SFR_ACCESS_READ_WRITE;
    sf = sfr_memside_new(SFR_SRC_SF);
    pg = sfr_memside_new(SFR_SRC_PG);
}

static void teardown(void)
{
    sfr_side_free(sf);
    sfr_side_free(pg);
    for (int i = 0; i < N_OBJ; i++)
        sfr_projection_cleanup(&proj[i]);
    sfr_schema_cleanup(&schema);
}

/* An 18-character Id: key prefix + n, with its checksum suffix. */
static const char *mkid(const char *prefix, int n)
{
    static char ring[32][19];
    static int next;
    char id15[16];
    snprintf(id15, sizeof(id15), "%s%012d", prefix, n);
    char *out = ring[next++ % 32];
    memcpy(out, id15, 15);
    sfr_sfid_suffix(id15, out + 15);
    out[18] = '\0';
    return out;
}

/* Account rows: {Id, Name, ParentId, IsDeleted, SystemModstamp} */
static void put_acc(struct sfr_side *s, const char *id, const char *name, const char *parent,
                    const char *mod)
{
    const char *v[] = {id, name, parent, s == sf ? "false" : "f", mod};
    sfr_memside_put(s, &proj[ACC], v);
}

static void put3(struct sfr_side *s, int o, const char *id, const char *a, const char *b,
                 const char *mod)
{
    const char *v[] = {id, a, b, mod};
    sfr_memside_put(s, &proj[o], v);
}

/* Contact rows: {Id, LastName, AccountId, ReportsToId, SystemModstamp} */
static void put_con(struct sfr_side *s, const char *id, const char *name, const char *account,
                    const char *mod)
{
    const char *v[] = {id, name, account, NULL, mod};
    sfr_memside_put(s, &proj[CON], v);
}

static void add_disc(struct sfr_disc_list *l, const char *obj, const char *sfid,
                     enum sfr_cause cause, const char *pobj, const char *psfid)
{
    struct sfr_discrepancy d = {0};
    d.object = strdup(obj);
    d.sfid = strdup(sfid);
    d.cause = cause;
    d.parent_object = pobj ? strdup(pobj) : NULL;
    d.parent_sfid = psfid ? strdup(psfid) : NULL;
    d.sf_mod_ms = d.pg_mod_ms = INT64_MIN;
    sfr_disc_list_push(l, &d);
}

static void build(const struct sfr_disc_list *l, const struct sfr_repair_opts *o,
                  struct sfr_plan *p)
{
    struct sfr_err err = {0};
    struct sfr_repair_opts def;
    sfr_repair_opts_defaults(&def);
    ck_assert_msg(sfr_plan_build(l, co, N_OBJ, sf, pg, o ? o : &def, p, &err) == SFR_OK, "%s",
                  err.msg);
}

static int rank_of(const struct sfr_plan *p, const char *name)
{
    for (int i = 0; i < p->n_objects; i++)
        if (strcmp(p->objects[i].co->proj->obj->name, name) == 0)
            return i;
    return -1;
}

static int field_ix(int o, const char *name)
{
    for (int i = 0; i < proj[o].n_fields; i++)
        if (strcmp(proj[o].fields[i]->name, name) == 0)
            return i;
    return -1;
}

START_TEST(test_objects_parents_first)
{
    struct sfr_disc_list l = {0};
    struct sfr_plan p;
    build(&l, NULL, &p);
    ck_assert_int_eq(p.n_objects, N_OBJ);
    ck_assert_int_lt(rank_of(&p, "Account"), rank_of(&p, "Contact"));
    ck_assert_int_lt(rank_of(&p, "Account"), rank_of(&p, "Invoice__c"));
    ck_assert_int_lt(rank_of(&p, "Invoice__c"), rank_of(&p, "Invoice_Line__c"));
    ck_assert_int_eq(sfr_plan_delete_index(&p, 0), N_OBJ - 1);
    sfr_plan_cleanup(&p);
}
END_TEST

/* A line whose invoice is missing from the mirror: the invoice, its account
 * and that account's parent come first; the account's self-reference to a
 * parent being inserted too is deferred to the second pass. */
START_TEST(test_parent_chain_pulled)
{
    const char *a1 = mkid("001", 1), *a2 = mkid("001", 2), *i1 = mkid("a0I", 1);
    const char *l1 = mkid("a0L", 1);
    put_acc(sf, a1, "Root", NULL, T1);
    put_acc(sf, a2, "Child", a1, T1);
    put3(sf, INV, i1, "INV-1", a2, T1);
    put3(sf, LINE, l1, i1, "2", T1);
    put3(pg, LINE, l1, i1, "2", P1);
    struct sfr_disc_list l = {0};
    add_disc(&l, "Invoice_Line__c", l1, SFR_CAUSE_MISSING_PARENT, "Invoice__c", i1);
    struct sfr_plan p;
    build(&l, NULL, &p);
    struct sfr_plan_item *it = sfr_plan_find(&p, "Invoice__c", i1);
    ck_assert_ptr_nonnull(it);
    ck_assert_int_eq(it->op, SFR_OP_PG_UPSERT);
    ck_assert(it->pulled);
    ck_assert_ptr_nonnull(it = sfr_plan_find(&p, "Account", a2));
    ck_assert_int_eq(it->op, SFR_OP_PG_UPSERT);
    int fp = field_ix(ACC, "ParentId");
    ck_assert(it->deferred[fp]);
    ck_assert(!it->set[fp]);
    ck_assert_ptr_nonnull(it = sfr_plan_find(&p, "Account", a1));
    ck_assert_int_eq(it->op, SFR_OP_PG_UPSERT);
    ck_assert(!it->has_deferred);
    it = sfr_plan_find(&p, "Invoice_Line__c", l1);
    ck_assert_ptr_nonnull(it);
    ck_assert_int_eq(it->op, SFR_OP_NONE);
    ck_assert(!it->unresolved);
    ck_assert_int_eq(p.n_changes, 3);
    ck_assert_int_eq(p.n_unresolved, 0);

    /* Applied (no database: no journal), the mirror then holds the chain. */
    struct sfr_repair_opts o;
    sfr_repair_opts_defaults(&o);
    struct sfr_repair_result res = {0};
    struct sfr_err err = {0};
    ck_assert_msg(sfr_repair_apply(&p, sf, pg, NULL, 0, &o, &res, &err) == SFR_OK, "%s", err.msg);
    ck_assert_int_eq(res.failed, 0);
    ck_assert_int_eq(res.fixed, 3);
    sfr_plan_cleanup(&p);
    /* and a second plan finds nothing to write */
    build(&l, NULL, &p);
    ck_assert_int_eq(p.n_changes, 0);
    sfr_plan_cleanup(&p);
    sfr_disc_list_cleanup(&l);
}
END_TEST

/* A parent absent from both sides cannot be pulled: listed, not guessed. */
START_TEST(test_parent_absent_everywhere)
{
    const char *i9 = mkid("a0I", 9), *l2 = mkid("a0L", 2);
    put3(sf, LINE, l2, i9, "1", T1);
    put3(pg, LINE, l2, i9, "1", P1);
    struct sfr_disc_list l = {0};
    add_disc(&l, "Invoice_Line__c", l2, SFR_CAUSE_MISSING_PARENT, "Invoice__c", i9);
    struct sfr_plan p;
    build(&l, NULL, &p);
    struct sfr_plan_item *it = sfr_plan_find(&p, "Invoice_Line__c", l2);
    ck_assert_ptr_nonnull(it);
    ck_assert(it->unresolved);
    ck_assert_ptr_nonnull(strstr(it->note, "absent in Salesforce too"));
    ck_assert_ptr_null(sfr_plan_find(&p, "Invoice__c", i9));
    sfr_plan_cleanup(&p);
    sfr_disc_list_cleanup(&l);
}
END_TEST

/* A side that logs "Object:kind" per write call, then writes to inner. */
struct logside {
    struct sfr_side base;
    struct sfr_side *inner;
    struct sfr_strv log;
};

static enum sfr_rc log_fetch(struct sfr_side *s, const struct sfr_projection *p,
                             const char *const *ids, int n, sfr_record_cb cb, void *ctx,
                             struct sfr_err *err)
{
    struct logside *l = (struct logside *)s;
    return l->inner->ops->fetch(l->inner, p, ids, n, cb, ctx, err);
}

static enum sfr_rc log_write(struct sfr_side *s, const struct sfr_projection *p,
                             struct sfr_write *w, int n, int64_t run, struct sfr_err *err)
{
    struct logside *l = (struct logside *)s;
    char line[128];
    snprintf(line, sizeof(line), "%s:%d:%d", p->obj->name, (int)w[0].kind, n);
    sfr_strv_push(&l->log, line);
    return l->inner->ops->write(l->inner, p, w, n, run, err);
}

static void log_free(struct sfr_side *s)
{
    struct logside *l = (struct logside *)s;
    sfr_strv_cleanup(&l->log);
    free(l);
}

static const struct sfr_side_ops log_ops = {
    .name = "postgres", .fetch = log_fetch, .write = log_write, .free = log_free};

START_TEST(test_deletes_children_first)
{
    const char *a = mkid("001", 7), *c = mkid("003", 7), *c2 = mkid("003", 8);
    put_acc(pg, a, "Gone", NULL, P1);
    put_con(pg, c, "Gone", a, P1);
    put_con(pg, c2, "Gone", NULL, P1);
    struct sfr_disc_list l = {0};
    add_disc(&l, "Account", a, SFR_CAUSE_MISSING_IN_SF, NULL, NULL);
    add_disc(&l, "Contact", c, SFR_CAUSE_MISSING_IN_SF, NULL, NULL);
    add_disc(&l, "Contact", c2, SFR_CAUSE_MISSING_IN_SF, NULL, NULL);
    struct logside *ls = calloc(1, sizeof(*ls));
    ls->base.ops = &log_ops;
    ls->base.src = SFR_SRC_PG;
    ls->inner = pg;
    struct sfr_plan p;
    struct sfr_err err = {0};
    struct sfr_repair_opts o;
    sfr_repair_opts_defaults(&o);
    ck_assert(sfr_plan_build(&l, co, N_OBJ, sf, &ls->base, &o, &p, &err) == SFR_OK);
    ck_assert_int_eq(sfr_plan_find(&p, "Account", a)->op, SFR_OP_PG_DELETE);
    ck_assert_int_eq(sfr_plan_find(&p, "Contact", c)->op, SFR_OP_PG_DELETE);
    struct sfr_repair_result res = {0};
    ck_assert_msg(sfr_repair_apply(&p, sf, &ls->base, NULL, 0, &o, &res, &err) == SFR_OK, "%s",
                  err.msg);
    /* one call per object, children first: Contact (2 rows) before Account */
    ck_assert_int_eq(ls->log.n, 2);
    ck_assert_str_eq(ls->log.v[0], "Contact:3:2");
    ck_assert_str_eq(ls->log.v[1], "Account:3:1");
    ck_assert_int_eq(res.fixed, 3);
    sfr_plan_cleanup(&p);
    /* deleting absent rows again is a no-op plan */
    ck_assert(sfr_plan_build(&l, co, N_OBJ, sf, &ls->base, &o, &p, &err) == SFR_OK);
    ck_assert_int_eq(p.n_changes, 0);
    ck_assert_int_eq(p.n_in_sync, 3);
    sfr_plan_cleanup(&p);
    ls->inner = NULL;
    sfr_side_free(&ls->base);
    sfr_disc_list_cleanup(&l);
}
END_TEST

/* Policies for a read_write Account whose Name differs on both sides. */
struct pcase {
    enum sfr_policy policy;
    const char *sf_mod, *pg_mod;
    bool read_only;
    enum sfr_repair_op want_op;
    bool want_unresolved;
};
static const struct pcase pcases[] = {
    {SFR_POLICY_SF_WINS, "2024-01-01T00:00:00.000+0000", "2024-01-01 00:00:00", false,
     SFR_OP_PG_UPDATE, false},
    {SFR_POLICY_PG_WINS, "2024-01-01T00:00:00.000+0000", "2024-01-01 00:00:00", false,
     SFR_OP_SF_UPDATE, false},
    {SFR_POLICY_PG_WINS, "2024-01-01T00:00:00.000+0000", "2024-01-01 00:00:00", true,
     SFR_OP_PG_UPDATE, false},
    {SFR_POLICY_NEWEST_WINS, "2024-02-01T00:00:00.000+0000", "2024-01-01 00:00:00", false,
     SFR_OP_PG_UPDATE, false},
    {SFR_POLICY_NEWEST_WINS, "2024-01-01T00:00:00.000+0000", "2024-02-01 00:00:00", false,
     SFR_OP_SF_UPDATE, false},
    {SFR_POLICY_NEWEST_WINS, "2024-01-01T00:00:00.000+0000", "2024-01-01 00:00:00", false,
     SFR_OP_NONE, true},
    {SFR_POLICY_NEWEST_WINS, "2024-01-01T00:00:00.000+0000", NULL, false, SFR_OP_NONE, true},
};

START_TEST(test_policy)
{
    const struct pcase *pc = &pcases[_i];
    const char *a = mkid("001", 20);
    put_acc(sf, a, "Salesforce name", NULL, pc->sf_mod);
    put_acc(pg, a, "Mirror name", NULL, pc->pg_mod);
    rw_map.access = pc->read_only ? SFR_ACCESS_READ_ONLY : SFR_ACCESS_READ_WRITE;
    rw_map.policy = pc->policy;
    co[ACC].map = &rw_map;
    struct sfr_disc_list l = {0};
    add_disc(&l, "Account", a, SFR_CAUSE_CONFLICT, NULL, NULL);
    struct sfr_plan p;
    build(&l, NULL, &p);
    struct sfr_plan_item *it = sfr_plan_find(&p, "Account", a);
    ck_assert_ptr_nonnull(it);
    ck_assert_int_eq(it->op, pc->want_op);
    ck_assert_int_eq(it->unresolved, pc->want_unresolved);
    int fn = field_ix(ACC, "Name");
    if (pc->want_op == SFR_OP_PG_UPDATE) {
        ck_assert_str_eq(it->after[fn], "Salesforce name");
        ck_assert_str_eq(it->before[fn], "Mirror name");
        ck_assert_int_eq(it->dir, SFR_DIR_SF_TO_PG);
    } else if (pc->want_op == SFR_OP_SF_UPDATE) {
        ck_assert_str_eq(it->after[fn], "Mirror name");
        ck_assert_str_eq(it->before[fn], "Salesforce name");
        ck_assert_int_eq(it->dir, SFR_DIR_PG_TO_SF);
        /* system fields are never sent to Salesforce */
        ck_assert(!it->set[field_ix(ACC, "SystemModstamp")]);
    } else {
        ck_assert_int_eq(p.n_unresolved, 1);
        ck_assert_int_eq(it->status, SFR_ITEM_SKIPPED);
        ck_assert_ptr_nonnull(strstr(it->note, "newest_wins"));
    }
    sfr_plan_cleanup(&p);
    sfr_disc_list_cleanup(&l);
    co[ACC].map = NULL;
}
END_TEST

/* pg_wins on a row Salesforce does not have: create it there. */
START_TEST(test_missing_in_sf_pg_wins)
{
    const char *a = mkid("001", 30);
    put_acc(pg, a, "Only here", NULL, P1);
    rw_map.access = SFR_ACCESS_READ_WRITE;
    rw_map.policy = SFR_POLICY_PG_WINS;
    co[ACC].map = &rw_map;
    struct sfr_disc_list l = {0};
    add_disc(&l, "Account", a, SFR_CAUSE_MISSING_IN_SF, NULL, NULL);
    struct sfr_plan p;
    build(&l, NULL, &p);
    struct sfr_plan_item *it = sfr_plan_find(&p, "Account", a);
    ck_assert_int_eq(it->op, SFR_OP_SF_CREATE);
    ck_assert_str_eq(it->after[field_ix(ACC, "Name")], "Only here");
    ck_assert(!it->set[0]);
    sfr_plan_cleanup(&p);
    co[ACC].map = NULL;
    /* with Salesforce winning the row goes */
    build(&l, NULL, &p);
    ck_assert_int_eq(sfr_plan_find(&p, "Account", a)->op, SFR_OP_PG_DELETE);
    sfr_plan_cleanup(&p);
    sfr_disc_list_cleanup(&l);
}
END_TEST

START_TEST(test_only_and_update_fields)
{
    const char *a = mkid("001", 40), *b = mkid("001", 41), *c = mkid("001", 42);
    put_acc(sf, a, "Acme Corporation", NULL, T1);
    put_acc(pg, a, "Acme Corpo", NULL, P1);
    put_acc(sf, b, "Newer", NULL, T2);
    put_acc(pg, b, "Older", NULL, P1);
    put_acc(sf, c, "New record", NULL, T1);
    struct sfr_disc_list l = {0};
    add_disc(&l, "Account", a, SFR_CAUSE_TRUNCATION, NULL, NULL);
    add_disc(&l, "Account", b, SFR_CAUSE_STALE, NULL, NULL);
    add_disc(&l, "Account", c, SFR_CAUSE_MISSING_IN_PG, NULL, NULL);
    struct sfr_repair_opts o;
    sfr_repair_opts_defaults(&o);
    struct sfr_err err = {0};
    ck_assert(sfr_repair_opts_only(&o, "truncation,missing_in_pg", &err) == SFR_OK);
    ck_assert(sfr_repair_opts_only(&o, "truncation,bogus", &err) == SFR_EUSAGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "bogus"));
    sfr_repair_opts_defaults(&o);
    ck_assert(sfr_repair_opts_only(&o, "truncation,missing_in_pg", &err) == SFR_OK);
    struct sfr_plan p;
    build(&l, &o, &p);
    ck_assert_ptr_null(sfr_plan_find(&p, "Account", b));
    struct sfr_plan_item *it = sfr_plan_find(&p, "Account", a);
    ck_assert_int_eq(it->op, SFR_OP_PG_UPDATE);
    /* only the differing field is written */
    ck_assert(it->set[field_ix(ACC, "Name")]);
    ck_assert(!it->set[field_ix(ACC, "SystemModstamp")]);
    ck_assert(!it->set[field_ix(ACC, "ParentId")]);
    it = sfr_plan_find(&p, "Account", c);
    ck_assert_int_eq(it->op, SFR_OP_PG_UPSERT);
    ck_assert_int_eq(p.n_changes, 2);
    /* the JSON plan names operation, direction and before -> after */
    struct sfr_buf b2 = SFR_BUF_INIT;
    sfr_plan_json(&b2, &p, false);
    ck_assert_ptr_nonnull(strstr(b2.data, "\"op\":\"pg_update\",\"direction\":\"sf->pg\""));
    ck_assert_ptr_nonnull(strstr(
        b2.data, "{\"name\":\"Name\",\"before\":\"Acme Corpo\",\"after\":\"Acme Corporation\""));
    sfr_buf_cleanup(&b2);
    sfr_plan_cleanup(&p);
    sfr_disc_list_cleanup(&l);
}
END_TEST

START_TEST(test_error_causes)
{
    ck_assert_int_eq(sfr_repair_error_cause("STRING_TOO_LONG"), SFR_CAUSE_TRUNCATION);
    ck_assert_int_eq(sfr_repair_error_cause("INVALID_CROSS_REFERENCE_KEY"),
                     SFR_CAUSE_MISSING_PARENT);
    ck_assert_int_eq(sfr_repair_error_cause("ENTITY_IS_DELETED"), SFR_CAUSE_MISSING_IN_SF);
    ck_assert_int_eq(sfr_repair_error_cause("DUPLICATE_VALUE"), SFR_CAUSE_DUPLICATE);
    ck_assert_int_eq(sfr_repair_error_cause("23503"), SFR_CAUSE_MISSING_PARENT);
    ck_assert_int_eq(sfr_repair_error_cause("FIELD_CUSTOM_VALIDATION_EXCEPTION"),
                     SFR_CAUSE_SYNC_ERROR);
}
END_TEST

Suite *repair_suite(void)
{
    Suite *s = suite_create("repair");
    TCase *t = tcase_create("plan");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_objects_parents_first);
    tcase_add_test(t, test_parent_chain_pulled);
    tcase_add_test(t, test_parent_absent_everywhere);
    tcase_add_test(t, test_deletes_children_first);
    tcase_add_loop_test(t, test_policy, 0, (int)(sizeof(pcases) / sizeof(pcases[0])));
    tcase_add_test(t, test_missing_in_sf_pg_wins);
    tcase_add_test(t, test_only_and_update_fields);
    tcase_add_test(t, test_error_causes);
    suite_add_tcase(s, t);
    return s;
}
