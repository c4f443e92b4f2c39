/* check_lint.c — unit tests of the lint checks (src/lint) and of the mirror
 * model helpers (src/pg/introspect.c) without a database.
 *
 * Table-driven: each case is a mapping (JSON, as the user writes it) plus an
 * optional mutation of a correct hand-built mirror, and the finding expected
 * (severity, code, object, field, substrings of the fix and message) — or
 * the finding that must NOT appear. The describe is a small inline org. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "sfrecon/introspect.h"
#include "sfrecon/lint.h"
#include "sfrecon/mem.h"

/* ---- the org --------------------------------------------------------------- */

/* clang-format off */
#define F(name, type, extra) "{\"name\":\"" name "\",\"type\":\"" type "\"" extra "}"
#define SYS                                                                                        \
    F("Id", "id", ",\"length\":18") "," F("IsDeleted", "boolean", "") ","                          \
        F("SystemModstamp", "datetime", "") "," F("CreatedDate", "datetime", "") ","               \
        F("OwnerId", "reference", ",\"length\":18,\"referenceTo\":[\"User\"],\"nillable\":true")

static const char *const describes[] = {
    "{\"name\":\"Account\",\"keyPrefix\":\"001\",\"fields\":[" SYS ","
    F("Name", "string", ",\"length\":255") ","
    F("ParentId", "reference", ",\"length\":18,\"referenceTo\":[\"Account\"],\"nillable\":true") ","
    F("AnnualRevenue", "currency", ",\"precision\":18,\"scale\":0,\"nillable\":true") ","
    F("NumberOfEmployees", "int", ",\"digits\":8,\"nillable\":true") ","
    F("Description", "textarea", ",\"length\":32000,\"nillable\":true") ","
    F("Rich__c", "textarea", ",\"length\":32768,\"htmlFormatted\":true,\"nillable\":true") ","
    F("Score__c", "double", ",\"precision\":18,\"scale\":2,\"calculated\":true,\"nillable\":true") ","
    F("Secret__c", "encryptedstring", ",\"length\":175,\"nillable\":true") ","
    F("Blob__c", "base64", ",\"nillable\":true") ","
    F("Active__c", "boolean", "") ","
    F("Code__c", "string", ",\"length\":20,\"nillable\":true") ","
    F("End__c", "date", ",\"nillable\":true") ","
    F("External_Id__c", "string",
      ",\"length\":50,\"externalId\":true,\"unique\":true,\"nillable\":true") "]}",
    "{\"name\":\"Contact\",\"keyPrefix\":\"003\",\"fields\":[" SYS ","
    F("AccountId", "reference", ",\"length\":18,\"referenceTo\":[\"Account\"],\"nillable\":true") ","
    F("LastName", "string", ",\"length\":80") ","
    F("Email", "email", ",\"length\":80,\"nillable\":true") ","
    F("Birthdate", "date", ",\"nillable\":true") ","
    F("External_Id__c", "string", ",\"length\":50,\"externalId\":true,\"nillable\":true") "]}",
    "{\"name\":\"Order\",\"keyPrefix\":\"801\",\"fields\":[" SYS ","
    F("AccountId", "reference", ",\"length\":18,\"referenceTo\":[\"Account\"],\"nillable\":true") ","
    F("EffectiveDate", "date", "") "]}",
    "{\"name\":\"User\",\"keyPrefix\":\"005\",\"fields\":[" F("Id", "id", ",\"length\":18") ","
    F("Username", "string", ",\"length\":80") "," F("SystemModstamp", "datetime", "") "]}",
};
/* clang-format on */

static void load_org(struct sfr_schema *s)
{
    memset(s, 0, sizeof(*s));
    for (size_t i = 0; i < sizeof(describes) / sizeof(describes[0]); i++) {
        struct sfr_object obj;
        struct sfr_err err = {0};
        enum sfr_rc rc = sfr_object_from_describe(describes[i], strlen(describes[i]), &obj, &err);
        ck_assert_msg(rc == SFR_OK, "describe %zu: %s", i, err.msg);
        sfr_schema_add(s, &obj);
    }
}

/* ---- mirrors ----------------------------------------------------------------- */

/* The mirror `sfrecon schema` would create for cfg: system columns, one column
 * per mapped field, hcu_/hc_ indexes and the "C"-order sfid index. */
static struct sfr_mirror *good_mirror(const struct sfr_config *cfg, const struct sfr_schema *s)
{
    struct sfr_mirror *m = sfr_mirror_new(cfg->schema);
    for (int i = 0; i < cfg->n_mappings; i++) {
        const struct sfr_object *o = sfr_schema_object(s, cfg->mappings[i].object_name);
        if (o == NULL)
            continue;
        struct sfr_mirror_table *t = sfr_mirror_add_table(m, o->table);
        sfr_mirror_add_column(t, "id", "integer", false, NULL);
        sfr_mirror_add_column(t, "sfid", "character varying(18)", true, NULL);
        sfr_mirror_add_column(t, "systemmodstamp", "timestamp without time zone", true, NULL);
        if (strcmp(o->name, "User") != 0)
            sfr_mirror_add_column(t, "isdeleted", "boolean", true, NULL);
        sfr_mirror_add_column(t, "_hc_lastop", "character varying(32)", true, NULL);
        sfr_mirror_add_column(t, "_hc_err", "text", true, NULL);
        const struct sfr_mapping *mp = &cfg->mappings[i];
        for (int k = 0; k < mp->n_fields; k++) {
            const struct sfr_field *f = sfr_object_field(o, mp->fields[k]);
            if (f == NULL || f->type == SFR_FT_ID || sfr_mirror_column(t, f->column) != NULL)
                continue;
            char *type = sfr_field_pg_type(f);
            sfr_mirror_add_column(t, f->column, type, true, NULL);
            sfr_free(type);
        }
        const char *pk[] = {"id"}, *sfid[] = {"sfid"}, *smod[] = {"systemmodstamp"};
        const char *c_coll[] = {"C"};
        char *n1 = sfr_asprintf("hcu_idx_%s_sfid", o->table);
        char *n2 = sfr_asprintf("hc_idx_%s_systemmodstamp", o->table);
        char *n3 = sfr_asprintf("sfrecon_idx_%s_sfid_c", o->table);
        char *n4 = sfr_asprintf("%s_pkey", o->table);
        sfr_mirror_add_index(t, n1, true, sfid, NULL, 1);
        sfr_mirror_add_index(t, n2, false, smod, NULL, 1);
        sfr_mirror_add_index(t, n3, false, sfid, c_coll, 1);
        sfr_mirror_add_index(t, n4, true, pk, NULL, 1)->primary = true;
        sfr_mirror_set_pkey(t, n4, pk, 1);
        sfr_free(n1);
        sfr_free(n2);
        sfr_free(n3);
        sfr_free(n4);
    }
    return m;
}

static struct sfr_mirror_table *mtable(struct sfr_mirror *m, const char *name)
{
    struct sfr_mirror_table *t = (struct sfr_mirror_table *)sfr_mirror_table(m, name);
    ck_assert_msg(t != NULL, "mirror has no table %s", name);
    return t;
}

static void set_type(struct sfr_mirror *m, const char *table, const char *col, const char *type)
{
    struct sfr_mirror_table *t = mtable(m, table);
    for (int i = 0; i < t->n_columns; i++)
        if (strcmp(t->columns[i].name, col) == 0) {
            /* re-add to derive base type and length, then move it into place */
            struct sfr_mirror_column old = t->columns[i];
            sfr_mirror_add_column(t, col, type, old.nullable, old.collation);
            t->columns[i] = t->columns[--t->n_columns];
            sfr_free(old.name);
            sfr_free(old.type);
            sfr_free(old.base_type);
            sfr_free(old.collation);
            sfr_free(old.default_expr);
            return;
        }
    ck_abort_msg("no column %s.%s", table, col);
}

static void drop_column(struct sfr_mirror *m, const char *table, const char *col)
{
    struct sfr_mirror_table *t = mtable(m, table);
    for (int i = 0; i < t->n_columns; i++)
        if (strcmp(t->columns[i].name, col) == 0) {
            sfr_free(t->columns[i].name);
            t->columns[i].name = sfr_asprintf("%s_dropped", col);
            return;
        }
    ck_abort_msg("no column %s.%s", table, col);
}

static void rename_index(struct sfr_mirror *m, const char *table, const char *prefix)
{
    /* "dropping" an index: make it useless for every check (partial) */
    struct sfr_mirror_table *t = mtable(m, table);
    for (int i = 0; i < t->n_indexes; i++)
        if (strncmp(t->indexes[i].name, prefix, strlen(prefix)) == 0)
            t->indexes[i].predicate = sfr_strdup("false");
}

static void mut_narrow_name(struct sfr_mirror *m)
{
    set_type(m, "account", "name", "character varying(80)");
}
static void mut_revenue_int(struct sfr_mirror *m)
{
    set_type(m, "account", "annualrevenue", "integer");
}
static void mut_smod_tz(struct sfr_mirror *m)
{
    set_type(m, "account", "systemmodstamp", "timestamp with time zone");
}
static void mut_isdeleted_text(struct sfr_mirror *m)
{
    set_type(m, "contact", "isdeleted", "character varying(5)");
}
static void mut_birthdate_text(struct sfr_mirror *m)
{
    set_type(m, "contact", "birthdate", "text");
}
static void mut_sfid_15(struct sfr_mirror *m)
{
    set_type(m, "contact", "sfid", "character varying(15)");
}
static void mut_drop_email(struct sfr_mirror *m)
{
    drop_column(m, "contact", "email");
}
static void mut_drop_lastop(struct sfr_mirror *m)
{
    drop_column(m, "account", "_hc_lastop");
}
static void mut_drop_isdeleted(struct sfr_mirror *m)
{
    drop_column(m, "contact", "isdeleted");
}
static void mut_drop_contact(struct sfr_mirror *m)
{
    struct sfr_mirror_table *t = mtable(m, "contact");
    sfr_free(t->name);
    t->name = sfr_strdup("contact_old");
}
static void mut_no_hcu(struct sfr_mirror *m)
{
    rename_index(m, "account", "hcu_idx_");
}
static void mut_no_c_index(struct sfr_mirror *m)
{
    rename_index(m, "account", "sfrecon_idx_");
}
static void mut_no_smod_index(struct sfr_mirror *m)
{
    rename_index(m, "contact", "hc_idx_");
}
static void mut_ucs_basic(struct sfr_mirror *m)
{
    rename_index(m, "account", "sfrecon_idx_");
    struct sfr_mirror_table *t = mtable(m, "account");
    for (int i = 0; i < t->n_columns; i++)
        if (strcmp(t->columns[i].name, "sfid") == 0)
            t->columns[i].collation = sfr_strdup("ucs_basic");
}
static void mut_c_expr_index(struct sfr_mirror *m)
{
    rename_index(m, "account", "sfrecon_idx_");
    const char *key[] = {"((sfid)::text)"}, *coll[] = {"C"};
    sfr_mirror_add_index(mtable(m, "account"), "by_c_expr", false, key, coll, 1);
}
static void mut_fkey(struct sfr_mirror *m)
{
    sfr_mirror_add_fkey(mtable(m, "contact"), "contact_account_fk", "accountid", "salesforce",
                        "account", "sfid");
}
static void mut_email_not_null(struct sfr_mirror *m)
{
    struct sfr_mirror_table *t = mtable(m, "contact");
    for (int i = 0; i < t->n_columns; i++)
        if (strcmp(t->columns[i].name, "email") == 0)
            t->columns[i].nullable = false;
}
static void mut_no_schema(struct sfr_mirror *m)
{
    m->schema_exists = false;
}
static void mut_wider_and_numeric(struct sfr_mirror *m)
{
    /* acceptable variations: wider varchar, text, numeric, bigint for scale-0 currency */
    set_type(m, "account", "name", "text");
    set_type(m, "account", "annualrevenue", "numeric(18,0)");
    set_type(m, "contact", "email", "character varying(255)");
}

/* ---- cases ------------------------------------------------------------------ */

#define MAP(objs) "{\"version\":1,\"mappings\":[" objs "]}"
#define RO(obj, fields)                                                                            \
    "{\"object_name\":\"" obj "\",\"config\":{\"access\":\"read_only\",\"fields\":{" fields "}}}"
#define ACCOUNT_F                                                                                  \
    "\"Id\":{},\"IsDeleted\":{},\"SystemModstamp\":{},\"Name\":{},\"AnnualRevenue\":{}"
#define CONTACT_F                                                                                  \
    "\"Id\":{},\"IsDeleted\":{},\"SystemModstamp\":{},\"AccountId\":{},\"LastName\":{},"           \
    "\"Email\":{},\"Birthdate\":{}"
#define BASE RO("Account", ACCOUNT_F) "," RO("Contact", CONTACT_F)

enum { ABSENT = -1, NODB = 1 };

struct lcase {
    const char *name;
    const char *mapping;
    void (*mutate)(struct sfr_mirror *);
    int flags;
    long org_limit;
    int severity; /* expected severity, or ABSENT: no such finding */
    const char *code, *object, *field;
    const char *fix_has, *msg_has;
};

static const struct lcase cases[] = {
    {"unmapped parent", MAP(RO("Contact", CONTACT_F)), NULL, 0, 0, SFR_LINT_ERROR,
     "unmapped_parent", "Contact", "AccountId", "map Account", "lookup to Account"},
    {"mapped parent is fine", MAP(BASE), NULL, 0, 0, ABSENT, "unmapped_parent", "Contact",
     "AccountId", NULL, NULL},
    {"owner lookup to unmapped User is info", MAP(RO("Account", ACCOUNT_F ",\"OwnerId\":{}")), NULL,
     0, 0, SFR_LINT_INFO, "unmapped_parent", "Account", "", NULL, "OwnerId -> User"},
    {"load order parents first", MAP(RO("Contact", CONTACT_F) "," RO("Account", ACCOUNT_F)), NULL,
     0, 0, SFR_LINT_INFO, "load_order", "", "", NULL, "Account, Contact"},
    {"self-lookup deferred", MAP(RO("Account", ACCOUNT_F ",\"ParentId\":{}")), NULL, 0, 0,
     SFR_LINT_INFO, "deferred_reference", "Account", "ParentId", "second pass", "self-lookup"},
    {"unknown field", MAP(RO("Account", ACCOUNT_F ",\"Foo__c\":{}")), NULL, 0, 0, SFR_LINT_ERROR,
     "unknown_field", "Account", "Foo__c", "remove \"Foo__c\" from mappings[0].config.fields",
     NULL},
    {"unknown object", MAP(RO("Widget__c", "\"Id\":{}")), NULL, 0, 0, SFR_LINT_ERROR,
     "unknown_object", "Widget__c", "", "remove mappings[0]", NULL},
    {"narrowed column", MAP(BASE), mut_narrow_name, 0, 0, SFR_LINT_ERROR, "column_too_short",
     "Account", "Name",
     "ALTER TABLE \"salesforce\".\"account\" ALTER COLUMN \"name\" TYPE varchar(255);",
     "up to 255 characters"},
    {"integer for currency", MAP(BASE), mut_revenue_int, 0, 0, SFR_LINT_ERROR,
     "column_type_mismatch", "Account", "AnnualRevenue",
     "ALTER COLUMN \"annualrevenue\" TYPE double precision USING \"annualrevenue\"::double "
     "precision;",
     NULL},
    {"timestamptz for datetime", MAP(BASE), mut_smod_tz, 0, 0, SFR_LINT_WARNING,
     "column_type_mismatch", "Account", "SystemModstamp",
     "TYPE timestamp USING \"systemmodstamp\" AT TIME ZONE 'UTC';", NULL},
    {"varchar for boolean", MAP(BASE), mut_isdeleted_text, 0, 0, SFR_LINT_ERROR,
     "column_type_mismatch", "Contact", "IsDeleted", "TYPE boolean USING \"isdeleted\"::boolean",
     NULL},
    {"text for date", MAP(BASE), mut_birthdate_text, 0, 0, SFR_LINT_ERROR, "column_type_mismatch",
     "Contact", "Birthdate", "TYPE date USING \"birthdate\"::date", NULL},
    {"15-char sfid", MAP(BASE), mut_sfid_15, 0, 0, SFR_LINT_ERROR, "column_too_short", "Contact",
     "Id", "ALTER COLUMN \"sfid\" TYPE varchar(18);", NULL},
    {"acceptable variations", MAP(BASE), mut_wider_and_numeric, 0, 0, ABSENT,
     "column_type_mismatch", NULL, NULL, NULL, NULL},
    {"acceptable variations (length)", MAP(BASE), mut_wider_and_numeric, 0, 0, ABSENT,
     "column_too_short", NULL, NULL, NULL, NULL},
    {"missing column", MAP(BASE), mut_drop_email, 0, 0, SFR_LINT_ERROR, "missing_column", "Contact",
     "Email", "ALTER TABLE \"salesforce\".\"contact\" ADD COLUMN \"email\" varchar(80);", NULL},
    {"missing system column", MAP(BASE), mut_drop_lastop, 0, 0, SFR_LINT_ERROR,
     "missing_system_column", "Account", "_hc_lastop", "ADD COLUMN \"_hc_lastop\" varchar(32);",
     NULL},
    {"missing isdeleted (mapped)", MAP(BASE), mut_drop_isdeleted, 0, 0, SFR_LINT_ERROR,
     "missing_column", "Contact", "IsDeleted", "ADD COLUMN \"isdeleted\" boolean;", NULL},
    {"missing isdeleted (unmapped)", MAP(RO("Contact", "\"Id\":{},\"LastName\":{}")),
     mut_drop_isdeleted, 0, 0, SFR_LINT_ERROR, "missing_system_column", "Contact", "IsDeleted",
     "ADD COLUMN \"isdeleted\" boolean;", NULL},
    {"User has no isdeleted", MAP(RO("User", "\"Id\":{},\"Username\":{}")), NULL, 0, 0, ABSENT,
     "missing_system_column", "User", NULL, NULL, NULL},
    {"missing table", MAP(BASE), mut_drop_contact, 0, 0, SFR_LINT_ERROR, "missing_table", "Contact",
     "", "sfrecon schema -c", "\"salesforce\".\"contact\""},
    {"missing schema", MAP(BASE), mut_no_schema, 0, 0, SFR_LINT_ERROR, "missing_schema", "", "",
     "sfrecon schema", NULL},
    {"no sfid unique index", MAP(BASE), mut_no_hcu, 0, 0, SFR_LINT_ERROR, "missing_index",
     "Account", "Id",
     "CREATE UNIQUE INDEX CONCURRENTLY \"hcu_idx_account_sfid\" ON \"salesforce\".\"account\" "
     "(\"sfid\");",
     NULL},
    {"no C-order index", MAP(BASE), mut_no_c_index, 0, 0, SFR_LINT_WARNING, "missing_c_order_index",
     "Account", "Id", "(\"sfid\" COLLATE \"C\");", NULL},
    {"ucs_basic sfid serves C order", MAP(BASE), mut_ucs_basic, 0, 0, ABSENT,
     "missing_c_order_index", "Account", NULL, NULL, NULL},
    {"expression index serves C order", MAP(BASE), mut_c_expr_index, 0, 0, ABSENT,
     "missing_c_order_index", "Account", NULL, NULL, NULL},
    {"no systemmodstamp index", MAP(BASE), mut_no_smod_index, 0, 0, SFR_LINT_WARNING,
     "missing_index", "Contact", "SystemModstamp",
     "CREATE INDEX CONCURRENTLY \"hc_idx_contact_systemmodstamp\"", NULL},
    {"user foreign key", MAP(BASE), mut_fkey, 0, 0, SFR_LINT_WARNING, "user_foreign_key", "Contact",
     "AccountId", "DROP CONSTRAINT \"contact_account_fk\"", NULL},
    {"not null on nillable", MAP(BASE), mut_email_not_null, 0, 0, SFR_LINT_WARNING,
     "column_not_null", "Contact", "Email", "ALTER COLUMN \"email\" DROP NOT NULL;", NULL},
    {"long text is info", MAP(RO("Account", ACCOUNT_F ",\"Description\":{}")), NULL, 0, 0,
     SFR_LINT_INFO, "costly_field", "Account", "Description", "remove \"Description\"",
     "32000 characters"},
    {"rich text", MAP(RO("Account", ACCOUNT_F ",\"Rich__c\":{}")), NULL, 0, 0, SFR_LINT_WARNING,
     "costly_field", "Account", "Rich__c", NULL, "rich text"},
    {"formula", MAP(RO("Account", ACCOUNT_F ",\"Score__c\":{}")), NULL, 0, 0, SFR_LINT_WARNING,
     "costly_field", "Account", "Score__c", NULL, "formula"},
    {"encrypted", MAP(RO("Account", ACCOUNT_F ",\"Secret__c\":{}")), NULL, 0, 0, SFR_LINT_WARNING,
     "costly_field", "Account", "Secret__c", NULL, "encrypted"},
    {"base64", MAP(RO("Account", ACCOUNT_F ",\"Blob__c\":{}")), NULL, 0, 0, SFR_LINT_WARNING,
     "costly_field", "Account", "Blob__c", NULL, "base64"},
    {"read_write without upsert field",
     MAP("{\"object_name\":\"Account\",\"config\":{\"access\":\"read_write\",\"fields\":{" ACCOUNT_F
         "}}}"),
     NULL, 0, 0, SFR_LINT_WARNING, "no_upsert_field", "Account", "",
     "to an External ID field of Account: External_Id__c", NULL},
    {"read_write, no External ID on the object: info",
     MAP("{\"object_name\":\"Order\",\"config\":{\"access\":\"read_write\",\"fields\":{"
         "\"Id\":{},\"EffectiveDate\":{}}}}"),
     NULL, 0, 0, SFR_LINT_INFO, "no_upsert_field", "Order", "", "create a unique External ID",
     NULL},
    {"upsert field not external id",
     MAP("{\"object_name\":\"Account\",\"config\":{\"access\":\"read_write\","
         "\"upsert_field\":\"Code__c\",\"fields\":{" ACCOUNT_F ",\"Code__c\":{}}}}"),
     NULL, 0, 0, SFR_LINT_ERROR, "upsert_field_not_external_id", "Account", "Code__c",
     "External_Id__c", NULL},
    {"upsert field unknown",
     MAP("{\"object_name\":\"Account\",\"config\":{\"access\":\"read_write\","
         "\"upsert_field\":\"Nope__c\",\"fields\":{" ACCOUNT_F "}}}"),
     NULL, 0, 0, SFR_LINT_ERROR, "upsert_field_unknown", "Account", "Nope__c", NULL, NULL},
    {"upsert field fine",
     MAP("{\"object_name\":\"Account\",\"config\":{\"access\":\"read_write\","
         "\"upsert_field\":\"External_Id__c\",\"fields\":{" ACCOUNT_F ",\"External_Id__c\":{}}}}"),
     NULL, 0, 0, ABSENT, "no_upsert_field", NULL, NULL, NULL, NULL},
    {"reserved table name", MAP(RO("Order", "\"Id\":{},\"EffectiveDate\":{}")), NULL, 0, 0,
     SFR_LINT_INFO, "reserved_name", "Order", "", "\"salesforce\".\"order\"", "reserved word"},
    {"End__c is not reserved", MAP(RO("Account", ACCOUNT_F ",\"End__c\":{}")), NULL, 0, 0, ABSENT,
     "reserved_name", "Account", NULL, NULL, NULL},
    {"default schema name is fine", MAP(BASE), NULL, 0, 0, ABSENT, "schema_name", NULL, NULL, NULL,
     NULL},
    {"polling over the mapping's cap",
     MAP("{\"object_name\":\"Account\",\"config\":{\"sf_polling_seconds\":60,"
         "\"sf_max_daily_api_calls\":1000,\"fields\":{" ACCOUNT_F "}}}"),
     NULL, 0, 0, SFR_LINT_WARNING, "api_budget_exceeded", "Account", "", "sf_polling_seconds (",
     "~1440 API calls"},
    {"polling over the org limit", MAP(BASE), NULL, 0, 200, SFR_LINT_WARNING, "api_budget_exceeded",
     "", "", NULL, "org's daily limit of 200"},
    {"estimate always", MAP(BASE), NULL, 0, 0, SFR_LINT_INFO, "api_budget", "", "", NULL,
     "estimated API calls per day: 288 (Account 144, Contact 144)"},
    {"no database", MAP(BASE), NULL, NODB, 0, SFR_LINT_INFO, "no_db", "", "", "DATABASE_URL", NULL},
    {"no database: no mirror findings", MAP(BASE), mut_drop_contact, NODB, 0, ABSENT,
     "missing_table", NULL, NULL, NULL, NULL},
};

static const struct sfr_lint_finding *find(const struct sfr_lint_result *r, const struct lcase *c)
{
    for (int i = 0; i < r->n; i++) {
        const struct sfr_lint_finding *f = &r->findings[i];
        if (strcmp(f->code, c->code) != 0)
            continue;
        if (c->object != NULL && strcmp(f->object, c->object) != 0)
            continue;
        if (c->field != NULL && strcmp(f->field, c->field) != 0)
            continue;
        return f;
    }
    return NULL;
}

static void dump(const struct sfr_lint_result *r)
{
    for (int i = 0; i < r->n; i++)
        fprintf(stderr, "  %s %s %s.%s: %s | fix: %s\n",
                sfr_lint_severity_name(r->findings[i].severity), r->findings[i].code,
                r->findings[i].object, r->findings[i].field, r->findings[i].message,
                r->findings[i].fix);
}

static void run_case(const struct lcase *c, struct sfr_lint_result *res)
{
    struct sfr_schema org;
    load_org(&org);
    struct sfr_config *cfg = NULL;
    struct sfr_err err = {0};
    ck_assert_msg(sfr_config_parse(c->mapping, "map.json", &cfg, &err) == SFR_OK, "%s: %s", c->name,
                  err.msg);
    struct sfr_mirror *m = NULL;
    if (!(c->flags & NODB)) {
        m = good_mirror(cfg, &org);
        if (c->mutate != NULL)
            c->mutate(m);
    }
    struct sfr_lint_opts o = {.org_daily_limit = c->org_limit};
    sfr_lint_result_init(res);
    sfr_lint_run_opts(cfg, &org, m, &o, res);
    sfr_mirror_free(m);
    sfr_config_free(cfg);
    sfr_schema_cleanup(&org);
}

START_TEST(test_lint_case)
{
    const struct lcase *c = &cases[_i];
    struct sfr_lint_result res;
    run_case(c, &res);
    const struct sfr_lint_finding *f = find(&res, c);
    if (c->severity == ABSENT) {
        if (f != NULL)
            dump(&res);
        ck_assert_msg(f == NULL, "%s: unexpected %s on %s.%s: %s", c->name, c->code,
                      f ? f->object : "", f ? f->field : "", f ? f->message : "");
    } else {
        if (f == NULL)
            dump(&res);
        ck_assert_msg(f != NULL, "%s: no %s finding for %s.%s", c->name, c->code,
                      c->object ? c->object : "*", c->field ? c->field : "*");
        ck_assert_msg((int)f->severity == c->severity, "%s: severity %s", c->name,
                      sfr_lint_severity_name(f->severity));
        if (c->fix_has != NULL)
            ck_assert_msg(strstr(f->fix, c->fix_has) != NULL, "%s: fix '%s' lacks '%s'", c->name,
                          f->fix, c->fix_has);
        if (c->msg_has != NULL)
            ck_assert_msg(strstr(f->message, c->msg_has) != NULL, "%s: message '%s' lacks '%s'",
                          c->name, f->message, c->msg_has);
        ck_assert_msg(f->why[0] != '\0', "%s: no why", c->name);
    }
    sfr_lint_result_cleanup(&res);
}
END_TEST

/* A correct mapping over its correct mirror has no error and no warning. */
START_TEST(test_clean)
{
    static const struct lcase clean = {
        "clean",
        MAP("{\"object_name\":\"Account\",\"config\":{\"access\":\"read_write\","
            "\"upsert_field\":\"External_Id__c\",\"fields\":{" ACCOUNT_F
            ",\"External_Id__c\":{},\"ParentId\":{},\"OwnerId\":{},\"Description\":{}}}}," RO(
                "Contact", CONTACT_F)),
        NULL,
        0,
        0,
        0,
        "",
        NULL,
        NULL,
        NULL,
        NULL};
    struct sfr_lint_result res;
    run_case(&clean, &res);
    if (res.n_by_severity[SFR_LINT_ERROR] + res.n_by_severity[SFR_LINT_WARNING] > 0)
        dump(&res);
    ck_assert_int_eq(res.n_by_severity[SFR_LINT_ERROR], 0);
    ck_assert_int_eq(res.n_by_severity[SFR_LINT_WARNING], 0);
    ck_assert_int_gt(res.n_by_severity[SFR_LINT_INFO], 0);
    /* infos come after everything else */
    ck_assert_int_eq(res.findings[res.n - 1].severity, SFR_LINT_INFO);
    sfr_lint_result_cleanup(&res);
}
END_TEST

START_TEST(test_schema_names)
{
    static const struct {
        const char *schema;
        bool quoting, permanent;
    } t[] = {
        {"salesforce", false, false}, {"Test-Schema", true, true}, {"schema", false, true},
        {"crm_tmp", false, true},     {"crm", false, true},        {"order", true, true},
        {"testimony", false, true},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        char *json = sfr_asprintf(
            "{\"mappings\":[" RO("Account", ACCOUNT_F) "],\"sfrecon\":{\"schema\":\"%s\"}}",
            t[i].schema);
        struct sfr_config *cfg = NULL;
        struct sfr_err err = {0};
        ck_assert_msg(sfr_config_parse(json, "m.json", &cfg, &err) == SFR_OK, "%s", err.msg);
        struct sfr_schema org;
        load_org(&org);
        struct sfr_lint_result r;
        sfr_lint_result_init(&r);
        sfr_lint_run(cfg, &org, NULL, &r);
        struct lcase q = {.code = "schema_name"}, p = {.code = "schema_name_permanent"};
        ck_assert_msg((find(&r, &q) != NULL) == t[i].quoting, "%s: quoting", t[i].schema);
        ck_assert_msg((find(&r, &p) != NULL) == t[i].permanent, "%s: permanent", t[i].schema);
        if (t[i].quoting)
            ck_assert_int_eq(find(&r, &q)->severity, SFR_LINT_WARNING);
        sfr_lint_result_cleanup(&r);
        sfr_schema_cleanup(&org);
        sfr_config_free(cfg);
        sfr_free(json);
    }
}
END_TEST

START_TEST(test_api_estimate)
{
    struct sfr_mapping m = {.sf_polling_seconds = 600, .access = SFR_ACCESS_READ_ONLY};
    ck_assert_int_eq(sfr_lint_api_calls_per_day(&m), 144);
    m.sf_polling_seconds = 120;
    ck_assert_int_eq(sfr_lint_api_calls_per_day(&m), 720);
    m.sf_polling_seconds = 7;
    ck_assert_int_eq(sfr_lint_api_calls_per_day(&m), 12343); /* ceil(86400 / 7) */
    m.sf_polling_seconds = 600;
    m.access = SFR_ACCESS_READ_WRITE;
    ck_assert_int_eq(sfr_lint_api_calls_per_day(&m), 144 + 720);
}
END_TEST

START_TEST(test_json_output)
{
    struct sfr_lint_result r;
    sfr_lint_result_init(&r);
    sfr_lint_add(&r, SFR_LINT_INFO, "a_code", "", "", "because", "", "plain");
    sfr_lint_add(&r, SFR_LINT_ERROR, "b_code", "Account", "Name", "why \"quoted\"",
                 "ALTER TABLE \"s\".\"t\";", "msg %d", 7);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    sfr_lint_print_json(f, &r);
    fclose(f);
    ck_assert_str_eq(buf, "{\"findings\":[{\"severity\":\"info\",\"code\":\"a_code\",\"object\":"
                          "\"\",\"field\":\"\",\"message\":\"plain. because\",\"fix\":\"\"},"
                          "{\"severity\":\"error\",\"code\":\"b_code\",\"object\":\"Account\","
                          "\"field\":\"Name\",\"message\":\"msg 7. why \\\"quoted\\\"\",\"fix\":"
                          "\"ALTER TABLE \\\"s\\\".\\\"t\\\";\"}]}\n");
    free(buf);
    f = open_memstream(&buf, &len);
    sfr_lint_print_text(f, &r);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(buf, "error    Account.Name  b_code: msg 7\n  why: why"));
    ck_assert_ptr_nonnull(strstr(buf, "  fix: ALTER TABLE \"s\".\"t\";\n"));
    ck_assert_ptr_nonnull(strstr(buf, "1 error, 0 warnings, 1 info\n"));
    free(buf);
    sfr_lint_result_cleanup(&r);
}
END_TEST

START_TEST(test_names)
{
    ck_assert(sfr_lint_is_reserved("user"));
    ck_assert(sfr_lint_is_reserved("ORDER"));
    ck_assert(sfr_lint_is_reserved("end"));
    ck_assert(sfr_lint_is_reserved("limit"));
    ck_assert(sfr_lint_is_reserved("offset"));
    ck_assert(sfr_lint_is_reserved("desc"));
    ck_assert(!sfr_lint_is_reserved("account"));
    ck_assert(!sfr_lint_is_reserved("end__c"));
    ck_assert(sfr_lint_needs_quoting("Account"));
    ck_assert(sfr_lint_needs_quoting("my-schema"));
    ck_assert(sfr_lint_needs_quoting("1abc"));
    ck_assert(!sfr_lint_needs_quoting("invoice__c"));
    char *q = sfr_lint_qualified("a\"b", "user");
    ck_assert_str_eq(q, "\"a\"\"b\".\"user\"");
    sfr_free(q);
}
END_TEST

/* ---- mirror model helpers -------------------------------------------------- */

static const struct {
    const char *key, *column;
    bool match;
} key_cases[] = {
    {"sfid", "sfid", true},           {"(sfid)::text", "sfid", true},
    {"((sfid)::text)", "sfid", true}, {"(sfid COLLATE \"C\")", "sfid", true},
    {"\"sfid\"", "sfid", true},       {"lower((sfid)::text)", "sfid", false},
    {"sfid2", "sfid", false},         {"(sfid)::character varying(18)", "sfid", true},
};

START_TEST(test_key_is_column)
{
    ck_assert_msg(sfr_index_key_is_column(key_cases[_i].key, key_cases[_i].column) ==
                      key_cases[_i].match,
                  "%s", key_cases[_i].key);
}
END_TEST

START_TEST(test_c_index)
{
    struct sfr_mirror *m = sfr_mirror_new("s");
    struct sfr_mirror_table *t = sfr_mirror_add_table(m, "account");
    struct sfr_mirror_column *c =
        sfr_mirror_add_column(t, "sfid", "character varying(18)", true, NULL);
    ck_assert_str_eq(c->base_type, "varchar");
    ck_assert_int_eq(c->max_length, 18);
    const char *k[] = {"sfid"}, *coll_c[] = {"C"}, *coll_posix[] = {"POSIX"};
    sfr_mirror_add_index(t, "plain", true, k, NULL, 1);
    ck_assert_ptr_null(sfr_mirror_sfid_c_index(t));
    ck_assert_ptr_nonnull(sfr_mirror_unique_index_on(t, "sfid"));
    sfr_mirror_add_index(t, "posix", false, k, coll_posix, 1);
    ck_assert_str_eq(sfr_mirror_sfid_c_index(t)->name, "posix");
    t->indexes[1].method = (sfr_free(t->indexes[1].method), sfr_strdup("hash"));
    ck_assert_ptr_null(sfr_mirror_sfid_c_index(t)); /* hash cannot range-scan */
    sfr_mirror_add_index(t, "c", false, k, coll_c, 1);
    ck_assert_str_eq(sfr_mirror_sfid_c_index(t)->name, "c");
    ck_assert(sfr_collation_is_bytewise("ucs_basic"));
    ck_assert(!sfr_collation_is_bytewise("en_US"));
    ck_assert(!sfr_collation_is_bytewise(NULL));
    ck_assert_ptr_eq(sfr_mirror_table(m, "ACCOUNT"), t);
    ck_assert_ptr_null(sfr_mirror_table(m, "contact"));
    sfr_mirror_free(m);
}
END_TEST

Suite *lint_suite(void)
{
    Suite *s = suite_create("lint");
    TCase *tc = tcase_create("cases");
    tcase_add_loop_test(tc, test_lint_case, 0, (int)(sizeof(cases) / sizeof(cases[0])));
    tcase_add_test(tc, test_clean);
    tcase_add_test(tc, test_schema_names);
    tcase_add_test(tc, test_api_estimate);
    tcase_add_test(tc, test_json_output);
    tcase_add_test(tc, test_names);
    suite_add_tcase(s, tc);
    TCase *tm = tcase_create("mirror");
    tcase_add_loop_test(tm, test_key_is_column, 0, (int)(sizeof(key_cases) / sizeof(key_cases[0])));
    tcase_add_test(tm, test_c_index);
    suite_add_tcase(s, tm);
    return s;
}
