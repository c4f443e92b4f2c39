/* check_side.c — projections, value conversion and the in-memory side. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfrecon/sfid.h"
#include "sfrecon/side.h"

#define ORG "tests/sfemu/org/sample-org.json"

static struct sfr_schema schema;

static void setup(void)
{
    struct sfr_err err;
    memset(&schema, 0, sizeof(schema));
    ck_assert_int_eq(sfr_schema_load(ORG, NULL, 0, &schema, &err), SFR_OK);
}

static void teardown(void)
{
    sfr_schema_cleanup(&schema);
}

static const struct {
    const char *object;
    const char *fields; /* mapped, comma separated */
    const char *want;   /* projection, comma separated */
    const char *missing;
    int idx_modstamp, idx_isdeleted;
} projections[] = {
    {"Account", "Name,Phone", "Id,Name,Phone,SystemModstamp", "", 3, -1},
    {"Account", "Id,IsDeleted,SystemModstamp,CreatedDate,Name",
     "Id,IsDeleted,SystemModstamp,CreatedDate,Name", "", 2, 1},
    {"Account", "name,Nope__c,SYSTEMMODSTAMP,Phone,Name", "Id,Name,SystemModstamp,Phone", "Nope__c",
     2, -1},
    {"Contact", "", "Id,SystemModstamp", "", 1, -1},
    {"Invoice_Line__c", "OwnerId,Invoice__c", "Id,Invoice__c,SystemModstamp", "OwnerId", 2, -1},
};

START_TEST(test_projection_init)
{
    const struct sfr_object *o = sfr_schema_object(&schema, projections[_i].object);
    struct sfr_strv mapped = {0}, missing = {0};
    sfr_strv_split(&mapped, projections[_i].fields, ',');
    struct sfr_projection p;
    sfr_projection_init(&p, o, (const char *const *)mapped.v, (int)mapped.n, "salesforce",
                        &missing);
    struct sfr_buf got = SFR_BUF_INIT, miss = SFR_BUF_INIT;
    for (int i = 0; i < p.n_fields; i++)
        sfr_buf_printf(&got, "%s%s", i ? "," : "", p.fields[i]->name);
    for (size_t i = 0; i < missing.n; i++)
        sfr_buf_printf(&miss, "%s%s", i ? "," : "", missing.v[i]);
    ck_assert_str_eq(got.data, projections[_i].want);
    ck_assert_str_eq(miss.data ? miss.data : "", projections[_i].missing);
    ck_assert_int_eq(p.idx_modstamp, projections[_i].idx_modstamp);
    ck_assert_int_eq(p.idx_isdeleted, projections[_i].idx_isdeleted);
    ck_assert_str_eq(p.schema, "salesforce");
    ck_assert_ptr_eq(p.obj, o);
    sfr_projection_cleanup(&p);
    sfr_buf_cleanup(&got);
    sfr_buf_cleanup(&miss);
    sfr_strv_cleanup(&mapped);
    sfr_strv_cleanup(&missing);
}
END_TEST

START_TEST(test_projection_skips_compound)
{
    const char *json = "{\"name\":\"Site__c\",\"fields\":[{\"name\":\"Id\",\"type\":\"id\"},"
                       "{\"name\":\"Loc__c\",\"type\":\"location\"},"
                       "{\"name\":\"Addr\",\"type\":\"address\"},"
                       "{\"name\":\"Body\",\"type\":\"base64\"},"
                       "{\"name\":\"Name\",\"type\":\"string\",\"length\":80}]}";
    struct sfr_object o;
    struct sfr_err err;
    ck_assert_int_eq(sfr_object_from_describe(json, strlen(json), &o, &err), SFR_OK);
    const char *fields[] = {"Loc__c", "Addr", "Body", "Name"};
    struct sfr_strv missing = {0};
    struct sfr_projection p;
    sfr_projection_init(&p, &o, fields, 4, "s", &missing);
    ck_assert_int_eq(p.n_fields, 2); /* Id, Name; no SystemModstamp in this describe */
    ck_assert_int_eq(p.idx_modstamp, -1);
    ck_assert_int_eq((int)missing.n, 3);
    sfr_projection_cleanup(&p);
    sfr_projection_init(&p, &o, fields, 4, "s", NULL); /* missing is optional */
    ck_assert_int_eq(p.n_fields, 2);
    sfr_projection_cleanup(&p);
    sfr_strv_cleanup(&missing);
    sfr_object_cleanup(&o);
}
END_TEST

START_TEST(test_projection_hash)
{
    const struct sfr_object *o = sfr_schema_object(&schema, "Account");
    const char *fields[] = {"Name", "AnnualRevenue", "IsDeleted"};
    struct sfr_projection p;
    sfr_projection_init(&p, o, fields, 3, "salesforce", NULL);
    ck_assert_int_eq(p.n_fields, 5);
    const char *sf[] = {"001D000000IRFmaIAH", "Acme", "786000.0", "false",
                        "2013-05-20T20:49:32.000+0000"};
    const char *pg[] = {"001D000000IRFmaIAH", "Acme", "786000", "f", "2013-05-20 20:49:32"};
    size_t lens[] = {18, 4, 6, 1, 19};
    struct sfr_rowhash h;
    sfr_rowhash_init(&h);
    uint64_t a = sfr_projection_hash(&p, &h, SFR_SRC_SF, sf, NULL);
    uint64_t b = sfr_projection_hash(&p, &h, SFR_SRC_PG, pg, lens);
    ck_assert(a == b);
    lens[1] = 3; /* lens are honoured: "Acm" */
    ck_assert(sfr_projection_hash(&p, &h, SFR_SRC_PG, pg, lens) != a);
    sfr_rowhash_cleanup(&h);
    sfr_projection_cleanup(&p);
}
END_TEST

static const struct {
    enum sfr_ftype type;
    const char *pg, *sf;
} to_sf[] = {
    {SFR_FT_BOOLEAN, "t", "true"},
    {SFR_FT_BOOLEAN, "f", "false"},
    {SFR_FT_DATETIME, "2013-05-20 20:49:32", "2013-05-20T20:49:32.000+0000"},
    {SFR_FT_DATETIME, "2013-05-20 20:49:32.123", "2013-05-20T20:49:32.123+0000"},
    {SFR_FT_DATE, "2013-05-20", "2013-05-20"},
    {SFR_FT_STRING, "t", "t"},
    {SFR_FT_CURRENCY, "1234.5", "1234.5"},
    {SFR_FT_STRING, NULL, NULL},
};

START_TEST(test_value_to_sf)
{
    struct sfr_field f;
    memset(&f, 0, sizeof(f));
    f.type = to_sf[_i].type;
    char *s = sfr_value_to_sf(&f, to_sf[_i].pg);
    if (to_sf[_i].sf == NULL)
        ck_assert_ptr_null(s);
    else
        ck_assert_str_eq(s, to_sf[_i].sf);
    free(s);
}
END_TEST

/* ---- memside ---- */

struct collect {
    struct sfr_strv ids;
    uint64_t hashes[64];
    int stop_after;
};

static int collect_row(void *ctx, const struct sfr_row_summary *row)
{
    struct collect *c = ctx;
    c->hashes[c->ids.n % 64] = row->hash;
    sfr_strv_push(&c->ids, row->sfid);
    return c->stop_after > 0 && (int)c->ids.n >= c->stop_after;
}

static void make_id(int i, char out[19])
{
    char id15[24];
    snprintf(id15, sizeof(id15), "001D00000%06d", i % 1000000);
    ck_assert(sfr_sfid_to18(id15, 15, out));
}

/* Fills a side with n Accounts (Id, Name, Phone, SystemModstamp). */
static void fill(struct sfr_side *s, const struct sfr_projection *p, int n, bool pg)
{
    for (int i = n - 1; i >= 0; i--) { /* out of order on purpose */
        char id[19], name[32], mod[40];
        make_id(i * 10, id);
        snprintf(name, sizeof(name), "Account %d", i);
        snprintf(mod, sizeof(mod), pg ? "2013-05-20 20:%02d:00" : "2013-05-20T20:%02d:00.000+0000",
                 i % 60);
        const char *vals[] = {id, name, NULL, mod};
        sfr_memside_put(s, p, vals);
    }
}

static struct sfr_projection proj;

static void side_setup(void)
{
    setup();
    const char *fields[] = {"Name", "Phone"};
    sfr_projection_init(&proj, sfr_schema_object(&schema, "Account"), fields, 2, "salesforce",
                        NULL);
}

static void side_teardown(void)
{
    sfr_projection_cleanup(&proj);
    teardown();
}

START_TEST(test_memside_stream_and_digest)
{
    struct sfr_side *sf = sfr_memside_new(SFR_SRC_SF), *pg = sfr_memside_new(SFR_SRC_PG);
    struct sfr_err err;
    fill(sf, &proj, 50, false);
    fill(pg, &proj, 50, true);
    struct collect c = {0};
    ck_assert_int_eq(sfr_side_stream(sf, &proj, NULL, -1, collect_row, &c, &err), SFR_OK);
    ck_assert_int_eq((int)c.ids.n, 50);
    for (size_t i = 1; i < c.ids.n; i++)
        ck_assert_int_lt(sfr_sfid_cmp(c.ids.v[i - 1], c.ids.v[i]), 0);
    sfr_strv_cleanup(&c.ids);
    /* equal data in both representations: equal digests at both depths */
    struct sfr_digest a, b;
    ck_assert_int_eq(sfr_side_digest(sf, &proj, NULL, SFR_DEPTH_CONTENT, &a, &err), SFR_OK);
    ck_assert_int_eq(sfr_side_digest(pg, &proj, NULL, SFR_DEPTH_CONTENT, &b, &err), SFR_OK);
    ck_assert_uint_eq(a.count, 50);
    ck_assert(sfr_digest_equal_content(&a, &b));
    ck_assert_int_eq(sfr_side_digest(sf, &proj, NULL, SFR_DEPTH_COUNT, &a, &err), SFR_OK);
    ck_assert_int_eq(sfr_side_digest(pg, &proj, NULL, SFR_DEPTH_COUNT, &b, &err), SFR_OK);
    ck_assert(sfr_digest_equal_count(&a, &b));
    ck_assert_int_eq(a.max_mod_ms, 1369082940000LL); /* 2013-05-20 20:49:00 UTC */
    /* a range [lo, hi) */
    char lo[19], hi[19];
    make_id(100, lo);
    make_id(200, hi);
    struct sfr_range r = {lo, hi};
    ck_assert_int_eq(sfr_side_digest(sf, &proj, &r, SFR_DEPTH_CONTENT, &a, &err), SFR_OK);
    ck_assert_uint_eq(a.count, 10);
    memset(&c, 0, sizeof(c));
    ck_assert_int_eq(sfr_side_stream(pg, &proj, &r, 10, collect_row, &c, &err), SFR_OK);
    ck_assert_int_eq((int)c.ids.n, 10);
    ck_assert_str_eq(c.ids.v[0], lo);
    sfr_strv_cleanup(&c.ids);
    /* a callback can stop the stream */
    memset(&c, 0, sizeof(c));
    c.stop_after = 3;
    ck_assert_int_eq(sfr_side_stream(pg, &proj, NULL, -1, collect_row, &c, &err), SFR_OK);
    ck_assert_int_eq((int)c.ids.n, 3);
    sfr_strv_cleanup(&c.ids);
    /* a change on one side changes the content digest of its range only */
    char id[19];
    make_id(150, id);
    const char *vals[] = {id, "Changed", NULL, "2013-05-20 20:15:00"};
    sfr_memside_put(pg, &proj, vals);
    ck_assert_int_eq(sfr_side_digest(pg, &proj, &r, SFR_DEPTH_CONTENT, &b, &err), SFR_OK);
    ck_assert(!sfr_digest_equal_content(&a, &b));
    struct sfr_range rest = {hi, NULL};
    ck_assert_int_eq(sfr_side_digest(sf, &proj, &rest, SFR_DEPTH_CONTENT, &a, &err), SFR_OK);
    ck_assert_int_eq(sfr_side_digest(pg, &proj, &rest, SFR_DEPTH_CONTENT, &b, &err), SFR_OK);
    ck_assert(sfr_digest_equal_content(&a, &b));
    sfr_memside_remove(pg, id);
    ck_assert_int_eq(sfr_side_digest(pg, &proj, NULL, SFR_DEPTH_COUNT, &b, &err), SFR_OK);
    ck_assert_uint_eq(b.count, 49);
    ck_assert_int_eq(sf->stats.queries, 5); /* one per op call */
    sfr_side_free(sf);
    sfr_side_free(pg);
    sfr_side_free(NULL);
}
END_TEST

struct fetched {
    int n;
    char name[64];
    int64_t mod;
};

static int fetch_cb(void *ctx, const struct sfr_record *rec)
{
    struct fetched *f = ctx;
    f->n++;
    ck_assert_int_eq(rec->n_values, proj.n_fields);
    ck_assert_str_eq(rec->values[0], rec->sfid);
    snprintf(f->name, sizeof(f->name), "%s", rec->values[1] ? rec->values[1] : "(null)");
    f->mod = rec->mod_ms;
    return 0;
}

START_TEST(test_memside_fetch_boundaries)
{
    struct sfr_side *s = sfr_memside_new(SFR_SRC_PG);
    struct sfr_err err;
    fill(s, &proj, 100, true);
    char a[19], b[19];
    make_id(420, a);
    const char *ids[] = {a, "001D000000XXXXXAAA"};
    struct fetched f = {0};
    ck_assert_int_eq(sfr_side_fetch(s, &proj, ids, 2, fetch_cb, &f, &err), SFR_OK);
    ck_assert_int_eq(f.n, 1); /* absent ids are skipped */
    ck_assert_str_eq(f.name, "Account 42");
    ck_assert_int_eq(f.mod, 1369082520000LL); /* 2013-05-20 20:42:00 UTC */
    struct sfr_strv keys = {0};
    long total = 0;
    ck_assert_int_eq(s->ops->boundaries(s, &proj, 30, &keys, &total, &err), SFR_OK);
    ck_assert_int_eq(total, 100);
    ck_assert_int_eq((int)keys.n, 3);
    make_id(300, b);
    ck_assert_str_eq(keys.v[0], b);
    sfr_strv_cleanup(&keys);
    sfr_side_free(s);
}
END_TEST

START_TEST(test_memside_write)
{
    struct sfr_side *s = sfr_memside_new(SFR_SRC_SF);
    struct sfr_err err;
    fill(s, &proj, 3, false);
    char id0[19], id1[19], idnew[19];
    make_id(0, id0);
    make_id(10, id1);
    make_id(999, idnew);
    const char *upd[] = {id0, "Renamed", "555-0100", "x"};
    bool set_name[] = {false, true, false, false};
    const char *ins[] = {NULL, "Brand New", NULL, "2013-05-20T20:00:00.000+0000"};
    const char *ups[] = {idnew, "Upserted", NULL, "2013-05-20T20:00:00.000+0000"};
    struct sfr_write w[5] = {
        {.kind = SFR_WRITE_UPDATE, .sfid = id0, .values = upd, .set = set_name},
        {.kind = SFR_WRITE_DELETE, .sfid = id1},
        {.kind = SFR_WRITE_INSERT, .sfid = NULL, .values = ins},
        {.kind = SFR_WRITE_UPSERT, .sfid = idnew, .values = ups},
        {.kind = SFR_WRITE_UPDATE, .sfid = "001D000000ZZZZZAAA", .values = upd, .set = set_name},
    };
    ck_assert_int_eq(s->ops->write(s, &proj, w, 5, 0, &err), SFR_OK);
    ck_assert(w[0].ok && w[1].ok && w[2].ok && w[3].ok);
    ck_assert(!w[4].ok);
    ck_assert_str_eq(w[4].error_code, "ENTITY_IS_DELETED");
    ck_assert(sfr_sfid_valid(w[2].new_id, 18));
    ck_assert(strncmp(w[2].new_id, "001", 3) == 0);
    struct fetched f = {0};
    const char *ids[] = {id0};
    ck_assert_int_eq(sfr_side_fetch(s, &proj, ids, 1, fetch_cb, &f, &err), SFR_OK);
    ck_assert_str_eq(f.name, "Renamed");
    ids[0] = id1;
    f.n = 0;
    ck_assert_int_eq(sfr_side_fetch(s, &proj, ids, 1, fetch_cb, &f, &err), SFR_OK);
    ck_assert_int_eq(f.n, 0); /* deleted */
    ids[0] = w[2].new_id;
    ck_assert_int_eq(sfr_side_fetch(s, &proj, ids, 1, fetch_cb, &f, &err), SFR_OK);
    ck_assert_str_eq(f.name, "Brand New");
    struct sfr_digest d;
    ck_assert_int_eq(sfr_side_digest(s, &proj, NULL, SFR_DEPTH_COUNT, &d, &err), SFR_OK);
    ck_assert_uint_eq(d.count, 4); /* 3 - 1 deleted + 1 inserted + 1 upserted */
    ck_assert_int_eq(s->stats.rows_written, 3);
    /* re-inserting an existing id fails per record */
    struct sfr_write again = {.kind = SFR_WRITE_INSERT, .sfid = idnew, .values = ups};
    ck_assert_int_eq(s->ops->write(s, &proj, &again, 1, 0, &err), SFR_OK);
    ck_assert(!again.ok);
    ck_assert_str_eq(again.error_code, "DUPLICATE_VALUE");
    sfr_side_free(s);
}
END_TEST

Suite *side_suite(void)
{
    Suite *s = suite_create("side");
    TCase *tc = tcase_create("projection");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_projection_init, 0,
                        (int)(sizeof(projections) / sizeof(projections[0])));
    tcase_add_test(tc, test_projection_skips_compound);
    tcase_add_test(tc, test_projection_hash);
    tcase_add_loop_test(tc, test_value_to_sf, 0, (int)(sizeof(to_sf) / sizeof(to_sf[0])));
    suite_add_tcase(s, tc);
    tc = tcase_create("memside");
    tcase_add_checked_fixture(tc, side_setup, side_teardown);
    tcase_add_test(tc, test_memside_stream_and_digest);
    tcase_add_test(tc, test_memside_fetch_boundaries);
    tcase_add_test(tc, test_memside_write);
    suite_add_tcase(s, tc);
    return s;
}
