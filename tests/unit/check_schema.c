/* check_schema.c — describe parsing, loading, Heroku Connect column types and
 * the parents-first object order. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfrecon/mem.h"
#include "sfrecon/schema.h"

#define ORG      "tests/sfemu/org/sample-org.json"
#define DESCRIBE "tests/data/describe"

START_TEST(test_describe_parse)
{
    const char *json =
        "{\"name\":\"Thing__c\",\"label\":\"Thing\",\"keyPrefix\":\"a0T\","
        "\"custom\":true,\"fields\":["
        "{\"name\":\"Id\",\"type\":\"id\",\"length\":18,\"nillable\":false},"
        "{\"name\":\"Parent__c\",\"type\":\"reference\",\"referenceTo\":[\"Account\"],"
        "\"relationshipName\":\"Parent__r\",\"cascadeDelete\":true},"
        "{\"name\":\"Amount__c\",\"type\":\"currency\",\"precision\":16,\"scale\":2,"
        "\"nillable\":true,\"externalId\":false},"
        "{\"name\":\"Kind__c\",\"type\":\"picklist\",\"picklistValues\":["
        "{\"value\":\"A\",\"active\":true},{\"value\":\"B\",\"active\":false}]}]}";
    struct sfr_object o;
    struct sfr_err err;
    ck_assert_int_eq(sfr_object_from_describe(json, strlen(json), &o, &err), SFR_OK);
    ck_assert_str_eq(o.name, "Thing__c");
    ck_assert_str_eq(o.table, "thing__c");
    ck_assert_str_eq(o.key_prefix, "a0T");
    ck_assert(o.custom);
    ck_assert_int_eq(o.n_fields, 4);
    const struct sfr_field *f = sfr_object_field(&o, "parent__C");
    ck_assert_ptr_nonnull(f);
    ck_assert_str_eq(f->column, "parent__c");
    ck_assert_int_eq(f->type, SFR_FT_REFERENCE);
    ck_assert_int_eq(f->n_reference_to, 1);
    ck_assert_str_eq(f->reference_to[0], "Account");
    ck_assert_str_eq(f->relationship_name, "Parent__r");
    ck_assert(f->cascade_delete);
    f = sfr_object_field(&o, "Amount__c");
    ck_assert_int_eq(f->scale, 2);
    ck_assert_int_eq(f->precision, 16);
    ck_assert(f->nillable);
    f = sfr_object_field(&o, "Kind__c");
    ck_assert_int_eq(f->n_picklist, 1); /* inactive values are left out */
    ck_assert_str_eq(f->picklist[0], "A");
    ck_assert_int_eq(sfr_object_field_index(&o, "nope"), -1);
    ck_assert_ptr_null(sfr_object_field(&o, "nope"));
    sfr_object_cleanup(&o);
}
END_TEST

static const struct {
    const char *json, *msg;
} bad_describes[] = {
    {"{\"name\":\"X\",\n\"fields\":[}", "describe:2: invalid JSON"},
    {"{\"label\":\"X\",\"fields\":[]}", "describe: missing \"name\""},
    {"{\"name\":\"X\",\"fields\":{}}", "describe of X: \"fields\" is not an array"},
    {"{\"name\":\"X\",\"fields\":[{\"name\":\"A\"}]}",
     "describe of X: fields[0]: missing \"type\""},
};

START_TEST(test_describe_errors)
{
    struct sfr_object o;
    struct sfr_err err;
    const char *j = bad_describes[_i].json;
    ck_assert_int_eq(sfr_object_from_describe(j, strlen(j), &o, &err), SFR_ECONFIG);
    ck_assert_msg(strstr(err.msg, bad_describes[_i].msg) != NULL, "got '%s'", err.msg);
}
END_TEST

static const struct {
    enum sfr_ftype type;
    int length;
    const char *pg;
} pg_types[] = {
    {SFR_FT_ID, 18, "varchar(18)"},
    {SFR_FT_REFERENCE, 18, "varchar(18)"},
    {SFR_FT_STRING, 80, "varchar(80)"},
    {SFR_FT_PICKLIST, 255, "varchar(255)"},
    {SFR_FT_MULTIPICKLIST, 4099, "varchar(4099)"},
    {SFR_FT_TEXTAREA, 32000, "text"},
    {SFR_FT_TEXTAREA, 255, "varchar(255)"},
    {SFR_FT_EMAIL, 80, "varchar(80)"},
    {SFR_FT_PHONE, 40, "varchar(40)"},
    {SFR_FT_URL, 255, "varchar(255)"},
    {SFR_FT_BOOLEAN, 0, "boolean"},
    {SFR_FT_DOUBLE, 0, "double precision"},
    {SFR_FT_CURRENCY, 0, "double precision"},
    {SFR_FT_PERCENT, 0, "double precision"},
    {SFR_FT_INT, 0, "integer"},
    {SFR_FT_LONG, 0, "bigint"},
    {SFR_FT_DATE, 0, "date"},
    {SFR_FT_DATETIME, 0, "timestamp"},
    {SFR_FT_TIME, 0, "time"},
    {SFR_FT_BASE64, 0, "text"},
    {SFR_FT_ENCRYPTEDSTRING, 175, "varchar(175)"},
    {SFR_FT_LOCATION, 0, "double precision"},
};

START_TEST(test_pg_type)
{
    struct sfr_field f;
    memset(&f, 0, sizeof(f));
    f.type = pg_types[_i].type;
    f.length = pg_types[_i].length;
    char *t = sfr_field_pg_type(&f);
    ck_assert_str_eq(t, pg_types[_i].pg);
    free(t);
}
END_TEST

START_TEST(test_ftype_names)
{
    ck_assert_int_eq(sfr_ftype_parse("multipicklist"), SFR_FT_MULTIPICKLIST);
    ck_assert_int_eq(sfr_ftype_parse("anyType"), SFR_FT_ANYTYPE);
    ck_assert_int_eq(sfr_ftype_parse("nonsense"), SFR_FT_UNKNOWN);
    ck_assert_int_eq(sfr_ftype_parse(NULL), SFR_FT_UNKNOWN);
    ck_assert_str_eq(sfr_ftype_name(SFR_FT_DATETIME), "datetime");
    ck_assert(sfr_ftype_is_text(SFR_FT_TEXTAREA));
    ck_assert(!sfr_ftype_is_text(SFR_FT_REFERENCE));
    ck_assert(!sfr_ftype_is_text(SFR_FT_DOUBLE));
}
END_TEST

START_TEST(test_load_org_file)
{
    struct sfr_schema s = {0};
    struct sfr_err err;
    ck_assert_int_eq(sfr_schema_load(ORG, NULL, 0, &s, &err), SFR_OK);
    ck_assert_int_eq(s.n_objects, 8);
    const struct sfr_object *acc = sfr_schema_object(&s, "account");
    ck_assert_ptr_nonnull(acc);
    ck_assert_str_eq(acc->key_prefix, "001");
    const struct sfr_field *d = sfr_object_field(acc, "Description");
    ck_assert_int_eq(d->type, SFR_FT_TEXTAREA);
    ck_assert_int_eq(d->length, 32000);
    ck_assert_int_eq(sfr_object_field(acc, "AnnualRevenue")->type, SFR_FT_CURRENCY);
    ck_assert(sfr_object_field(acc, "External_Id__c")->external_id);
    const struct sfr_object *line = sfr_schema_object(&s, "Invoice_Line__c");
    ck_assert_str_eq(line->key_prefix, "a0L");
    ck_assert_ptr_null(sfr_object_field(line, "OwnerId"));
    ck_assert(sfr_object_field(line, "Invoice__c")->cascade_delete);
    ck_assert(!sfr_object_field(line, "Invoice__c")->nillable);
    ck_assert_int_eq(sfr_object_field(sfr_schema_object(&s, "Opportunity"), "Probability")->type,
                     SFR_FT_PERCENT);
    ck_assert_ptr_nonnull(sfr_schema_object(&s, "User"));
    /* every object has the system fields; only required fields are non-nillable+createable */
    for (int i = 0; i < s.n_objects; i++) {
        const struct sfr_object *o = &s.objects[i];
        ck_assert_ptr_nonnull(sfr_object_field(o, "Id"));
        ck_assert_ptr_nonnull(sfr_object_field(o, "SystemModstamp"));
        ck_assert_ptr_nonnull(sfr_object_field(o, "CreatedById"));
        ck_assert(!sfr_object_field(o, "SystemModstamp")->createable);
    }
    sfr_schema_cleanup(&s);
    /* a selection; a missing object is named */
    const char *names[] = {"Contact", "Nope__c"};
    ck_assert_int_eq(sfr_schema_load(ORG, names, 1, &s, &err), SFR_OK);
    ck_assert_int_eq(s.n_objects, 1);
    sfr_schema_cleanup(&s);
    ck_assert_int_eq(sfr_schema_load(ORG, names, 2, &s, &err), SFR_ENOTFOUND);
    ck_assert_msg(strstr(err.msg, "Nope__c") != NULL, "%s", err.msg);
    sfr_schema_cleanup(&s);
}
END_TEST

START_TEST(test_load_dir)
{
    struct sfr_schema s = {0};
    struct sfr_err err;
    const char *names[] = {"Account", "CONTACT"};
    ck_assert_int_eq(sfr_schema_load(DESCRIBE, names, 2, &s, &err), SFR_OK);
    ck_assert_int_eq(s.n_objects, 2);
    ck_assert_ptr_nonnull(sfr_schema_object(&s, "Account")); /* from account.json */
    ck_assert_ptr_nonnull(sfr_schema_object(&s, "Contact")); /* from Contact.JSON */
    sfr_schema_cleanup(&s);
    ck_assert_int_eq(sfr_schema_load(DESCRIBE, NULL, 0, &s, &err), SFR_OK);
    ck_assert_int_eq(s.n_objects, 3);
    sfr_schema_cleanup(&s);
    const char *lead[] = {"Lead"};
    ck_assert_int_eq(sfr_schema_load(DESCRIBE, lead, 1, &s, &err), SFR_ENOTFOUND);
    ck_assert_msg(strstr(err.msg, "Lead") != NULL, "%s", err.msg);
    sfr_schema_cleanup(&s);
}
END_TEST

static const struct {
    const char *path, *msg;
    enum sfr_rc rc;
} load_errors[] = {
    {DESCRIBE "/bad/Broken.json", "Broken.json:4: invalid JSON", SFR_ECONFIG},
    {DESCRIBE "/bad/NoFields.json",
     "NoFields.json: describe of NoFields: \"fields\" is not an array", SFR_ECONFIG},
    {DESCRIBE "/nonexistent", "nonexistent", SFR_ENOTFOUND},
};

START_TEST(test_load_errors)
{
    struct sfr_schema s = {0};
    struct sfr_err err;
    ck_assert_int_eq(sfr_schema_load(load_errors[_i].path, NULL, 0, &s, &err), load_errors[_i].rc);
    ck_assert_msg(strstr(err.msg, load_errors[_i].msg) != NULL, "got '%s'", err.msg);
    sfr_schema_cleanup(&s);
}
END_TEST

static int position(const struct sfr_schema *s, const int *order, const char *name)
{
    for (int i = 0; i < s->n_objects; i++)
        if (strcmp(s->objects[order[i]].name, name) == 0)
            return i;
    return -1;
}

static bool has_deferred(const struct sfr_deferred_ref *d, int n, const char *obj,
                         const char *field)
{
    for (int i = 0; i < n; i++)
        if (strcmp(d[i].object, obj) == 0 && strcmp(d[i].field, field) == 0)
            return true;
    return false;
}

START_TEST(test_order_sample_org)
{
    struct sfr_schema s = {0};
    struct sfr_err err;
    ck_assert_int_eq(sfr_schema_load(ORG, NULL, 0, &s, &err), SFR_OK);
    int order[16];
    struct sfr_deferred_ref *d = NULL;
    int nd = 0;
    sfr_schema_order(&s, order, &d, &nd);
    int user = position(&s, order, "User"), acc = position(&s, order, "Account");
    int con = position(&s, order, "Contact"), cas = position(&s, order, "Case");
    int opp = position(&s, order, "Opportunity"), inv = position(&s, order, "Invoice__c");
    int line = position(&s, order, "Invoice_Line__c");
    ck_assert_int_eq(user, 0); /* every object references User */
    ck_assert_int_lt(acc, con);
    ck_assert_int_lt(con, cas);
    ck_assert_int_lt(acc, opp);
    ck_assert_int_lt(acc, inv);
    ck_assert_int_lt(inv, line);
    /* self-lookups are deferred, nothing else is */
    ck_assert(has_deferred(d, nd, "Account", "ParentId"));
    ck_assert(has_deferred(d, nd, "Contact", "ReportsToId"));
    ck_assert(has_deferred(d, nd, "User", "CreatedById"));
    for (int i = 0; i < nd; i++)
        ck_assert_str_eq(d[i].object, d[i].parent);
    /* deterministic: a second run gives the same order */
    int again[16];
    struct sfr_deferred_ref *d2 = NULL;
    int nd2 = 0;
    sfr_schema_order(&s, again, &d2, &nd2);
    ck_assert(memcmp(order, again, sizeof(int) * (size_t)s.n_objects) == 0);
    ck_assert_int_eq(nd, nd2);
    free(d);
    free(d2);
    sfr_schema_cleanup(&s);
}
END_TEST

static void add_obj(struct sfr_schema *s, const char *name, const char *refs)
{
    struct sfr_buf b = SFR_BUF_INIT;
    sfr_buf_printf(&b, "{\"name\":\"%s\",\"fields\":[{\"name\":\"Id\",\"type\":\"id\"}", name);
    /* refs: "Field:Parent,Field:Parent" */
    struct sfr_strv v = {0};
    sfr_strv_split(&v, refs, ',');
    for (size_t i = 0; i < v.n; i++) {
        char *colon = strchr(v.v[i], ':');
        *colon = '\0';
        sfr_buf_printf(&b, ",{\"name\":\"%s\",\"type\":\"reference\",\"referenceTo\":[\"%s\"]}",
                       v.v[i], colon + 1);
    }
    sfr_buf_puts(&b, "]}");
    struct sfr_object o;
    struct sfr_err err;
    ck_assert_int_eq(sfr_object_from_describe(b.data, b.len, &o, &err), SFR_OK);
    sfr_schema_add(s, &o);
    sfr_strv_cleanup(&v);
    sfr_buf_cleanup(&b);
}

/* Synthetic graphs: {objects "Name=refs;..."}, expected order, expected deferred fields. */
static const struct {
    const char *objs[5];
    const char *order;
    const char *deferred;
} graphs[] = {
    /* mutual lookups A <-> B: A's reference is deferred (alphabetical tie-break) */
    {{"B=A_Id:A", "A=B_Id:B"}, "A,B", "A.B_Id"},
    /* a 3-cycle with a child hanging off it */
    {{"C=A_Id:A", "A=B_Id:B", "B=C_Id:C", "D=C_Id:C"}, "A,C,B,D", "A.B_Id"},
    /* a chain, no cycle: parents first whatever the input order */
    {{"Z=Y_Id:Y", "Y=X_Id:X", "X="}, "X,Y,Z", ""},
    /* ties broken by name */
    {{"P=", "N=", "O=P_Id:P"}, "N,P,O", ""},
    /* references to objects outside the schema are ignored; self-lookup deferred */
    {{"K=Out:Missing,Self:K"}, "K", "K.Self"},
};

START_TEST(test_order_synthetic)
{
    struct sfr_schema s = {0};
    for (int i = 0; i < 5 && graphs[_i].objs[i] != NULL; i++) {
        char name[32];
        const char *eq = strchr(graphs[_i].objs[i], '=');
        snprintf(name, sizeof(name), "%.*s", (int)(eq - graphs[_i].objs[i]), graphs[_i].objs[i]);
        add_obj(&s, name, eq + 1);
    }
    int order[8];
    struct sfr_deferred_ref *d = NULL;
    int nd = 0;
    sfr_schema_order(&s, order, &d, &nd);
    struct sfr_buf got = SFR_BUF_INIT, def = SFR_BUF_INIT;
    for (int i = 0; i < s.n_objects; i++)
        sfr_buf_printf(&got, "%s%s", i ? "," : "", s.objects[order[i]].name);
    for (int i = 0; i < nd; i++)
        sfr_buf_printf(&def, "%s%s.%s", i ? "," : "", d[i].object, d[i].field);
    ck_assert_str_eq(got.data, graphs[_i].order);
    ck_assert_str_eq(def.data ? def.data : "", graphs[_i].deferred);
    sfr_buf_cleanup(&got);
    sfr_buf_cleanup(&def);
    free(d);
    sfr_schema_cleanup(&s);
}
END_TEST

/* Relationship external Ids of the sample org: Invoice__c's Account__r__External_Id__c
 * resolves through the custom lookup; the nested references of a record
 * leave out what has no value and what the lookup itself writes. */
START_TEST(test_relext_refs)
{
    struct sfr_schema s = {0};
    struct sfr_err err = {0};
    ck_assert_int_eq(sfr_schema_load(ORG, NULL, 0, &s, &err), SFR_OK);
    const struct sfr_object *inv = sfr_schema_object(&s, "Invoice__c");
    const struct sfr_object *con = sfr_schema_object(&s, "Contact");
    struct sfr_relext rx[3];
    ck_assert(sfr_relext_resolve(&s, inv, "Account__r__External_Id__c", &rx[0]));
    ck_assert_str_eq(rx[0].relationship, "Account__r");
    ck_assert_str_eq(rx[0].column, "account__r__external_id__c");
    ck_assert(!sfr_relext_resolve(&s, inv, "Account__r__Name", &rx[1])); /* no external Id */
    ck_assert(sfr_relext_resolve(&s, con, "Account__External_Id__c", &rx[1]));
    ck_assert(sfr_relext_resolve(&s, con, "ReportsTo__External_Id__c", &rx[2]));
    const char *vals[3] = {"I\"1", "A-1", ""};
    char *j = sfr_relext_refs(rx, 3, vals, NULL);
    ck_assert_str_eq(j, "{\"Account__r\":{\"External_Id__c\":\"I\\\"1\"},"
                        "\"Account\":{\"External_Id__c\":\"A-1\"}}");
    sfr_free(j);
    bool lookup_set[3] = {true, false, false};
    j = sfr_relext_refs(rx, 3, vals, lookup_set);
    ck_assert_str_eq(j, "{\"Account\":{\"External_Id__c\":\"A-1\"}}");
    sfr_free(j);
    lookup_set[1] = true;
    ck_assert_ptr_null(sfr_relext_refs(rx, 3, vals, lookup_set));
    sfr_schema_cleanup(&s);
}
END_TEST

Suite *schema_suite(void)
{
    Suite *s = suite_create("schema");
    TCase *tc = tcase_create("schema");
    tcase_add_test(tc, test_describe_parse);
    tcase_add_loop_test(tc, test_describe_errors, 0,
                        (int)(sizeof(bad_describes) / sizeof(bad_describes[0])));
    tcase_add_loop_test(tc, test_pg_type, 0, (int)(sizeof(pg_types) / sizeof(pg_types[0])));
    tcase_add_test(tc, test_ftype_names);
    tcase_add_test(tc, test_load_org_file);
    tcase_add_test(tc, test_load_dir);
    tcase_add_loop_test(tc, test_load_errors, 0,
                        (int)(sizeof(load_errors) / sizeof(load_errors[0])));
    tcase_add_test(tc, test_order_sample_org);
    tcase_add_loop_test(tc, test_order_synthetic, 0, (int)(sizeof(graphs) / sizeof(graphs[0])));
    tcase_add_test(tc, test_relext_refs);
    suite_add_tcase(s, tc);
    return s;
}
