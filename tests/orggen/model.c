/* model.c — the generator's plan and its records.
 *
 * gen_plan() decides how many records each object gets and who references
 * whom; gen_record() turns (seed, object, index) into the record's values.
 * Invariants the fault injector relies on:
 *  - parents referenced by lookups are GENERAL records; SOLO Accounts have
 *    exactly one child (a Contact), SOLO Invoices exactly one line, EMPTY
 *    parents none, so "a parent with exactly one child" exists at any size;
 *  - Account.ParentId and Contact.ReportsToId point to earlier records;
 *  - children[] counts every reference to a record from generated records.
 * Values are in Salesforce text form and fit their field's length. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orggen.h"
#include "sfrecon/canon.h"
#include "sfrecon/sfid.h"

#define TS_BASE_MS 1704067200000LL /* 2024-01-01T00:00:00.000Z */

uint64_t gen_mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

uint64_t gen_next(uint64_t *state)
{
    *state += 0x9e3779b97f4a7c15ULL;
    return gen_mix(*state);
}

long gen_below(uint64_t *state, long n)
{
    return n <= 1 ? 0 : (long)(gen_next(state) % (uint64_t)n);
}

bool gen_chance(uint64_t *state, int pct)
{
    return gen_below(state, 100) < pct;
}

/* ---- ids ---- */

static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

void gen_id(const struct gen_obj *o, const char pod[2], long i, char out[19])
{
    memcpy(out, o->obj->key_prefix, 3);
    out[3] = pod[0];
    out[4] = pod[1];
    uint64_t v = (uint64_t)i + 1;
    for (int k = 14; k >= 5; k--) {
        out[k] = b62[v % 62];
        v /= 62;
    }
    sfr_sfid_suffix(out, out + 15);
    out[18] = '\0';
}

bool gen_parse_id(const struct gen *g, const char *id, int *obj, long *idx)
{
    if (strlen(id) != 18 || id[3] != 'G' || id[4] != '0')
        return false;
    for (int k = 0; k < g->n_objs; k++) {
        if (memcmp(g->objs[k].obj->key_prefix, id, 3) != 0)
            continue;
        uint64_t v = 0;
        for (int p = 5; p < 15; p++) {
            const char *c = strchr(b62, id[p]);
            if (c == NULL)
                return false;
            v = v * 62 + (uint64_t)(c - b62);
        }
        *obj = k;
        *idx = (long)v - 1;
        return true;
    }
    return false;
}

int gen_obj_index(const struct gen *g, const char *name)
{
    for (int i = 0; i < g->n_objs; i++)
        if (strcasecmp(g->objs[i].obj->name, name) == 0)
            return i;
    return -1;
}

/* ---- calendar ---- */

static void fmt_ts(int64_t ms, char out[32], char sep, const char *zone)
{
    int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
    int64_t rem = ms - days * 86400000;
    int y, mo, d;
    sfr_civil_from_days(days, &y, &mo, &d);
    snprintf(out, 32, "%04d-%02d-%02d%c%02d:%02d:%02d.%03d%s", y, mo, d, sep, (int)(rem / 3600000),
             (int)(rem / 60000 % 60), (int)(rem / 1000 % 60), (int)(rem % 1000), zone);
}

void gen_fmt_sf_ts(int64_t ms, char out[32])
{
    fmt_ts(ms, out, 'T', "Z");
}

void gen_fmt_pg_ts(int64_t ms, char out[32])
{
    fmt_ts(ms, out, ' ', "");
}

bool gen_parse_ts(const char *s, int64_t *ms)
{
    int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0;
    int n = sscanf(s, "%d-%d-%d%*[T ]%d:%d:%d.%3d", &y, &mo, &d, &h, &mi, &sec, &frac);
    if (n < 3)
        return false;
    *ms = sfr_days_from_civil(y, mo, d) * 86400000 + h * 3600000LL + mi * 60000LL + sec * 1000LL +
          frac;
    return true;
}

static void fmt_date(int64_t days, char out[32])
{
    int y, m, d;
    sfr_civil_from_days(days, &y, &m, &d);
    snprintf(out, 32, "%04d-%02d-%02d", y, m, d);
}

/* ---- plan ---- */

static enum gen_role role_of(const char *name)
{
    static const struct {
        const char *name;
        enum gen_role role;
    } roles[] = {
        {"Account", ROLE_ACCOUNT},     {"Contact", ROLE_CONTACT}, {"Opportunity", ROLE_OPPORTUNITY},
        {"Case", ROLE_CASE},           {"Lead", ROLE_LEAD},       {"Invoice__c", ROLE_INVOICE},
        {"Invoice_Line__c", ROLE_LINE}};
    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
        if (strcasecmp(roles[i].name, name) == 0)
            return roles[i].role;
    return ROLE_OTHER;
}

static bool is_user_object(const char *name)
{
    return strcasecmp(name, "User") == 0 || strcasecmp(name, "Group") == 0;
}

static void plan_sources(struct gen *g, struct gen_obj *o)
{
    int nf = o->obj->n_fields;
    o->src = sfr_calloc((size_t)nf, sizeof(*o->src));
    o->refs = sfr_calloc((size_t)nf, sizeof(*o->refs));
    o->ref_obj = sfr_calloc((size_t)nf, sizeof(*o->ref_obj));
    o->in_mirror = sfr_calloc((size_t)nf, sizeof(bool));
    o->in_sf = sfr_calloc((size_t)nf, sizeof(bool));
    for (int k = 0; k < nf; k++) {
        const struct sfr_field *f = &o->obj->fields[k];
        enum gen_src s = SRC_VALUE;
        o->ref_obj[k] = -1;
        if (f->type == SFR_FT_ID)
            s = SRC_ID;
        else if (strcasecmp(f->name, "IsDeleted") == 0)
            s = SRC_ISDELETED;
        else if (strcasecmp(f->name, "CreatedDate") == 0)
            s = SRC_CREATED;
        else if (strcasecmp(f->name, "LastModifiedDate") == 0 ||
                 strcasecmp(f->name, "SystemModstamp") == 0)
            s = SRC_MODIFIED;
        else if (f->type == SFR_FT_REFERENCE) {
            int p = f->n_reference_to > 0 ? gen_obj_index(g, f->reference_to[0]) : -1;
            if (f->n_reference_to > 0 && is_user_object(f->reference_to[0]))
                s = g->user_id[0] != '\0' ? SRC_USER : SRC_SKIP;
            else if (p >= 0 && f->createable) {
                s = SRC_REF;
                o->ref_obj[k] = p;
            } else
                s = SRC_SKIP;
        } else if (f->calculated || !f->createable || f->type == SFR_FT_LOCATION ||
                   f->type == SFR_FT_ADDRESS || f->type == SFR_FT_BASE64 ||
                   f->type == SFR_FT_ANYTYPE || f->type == SFR_FT_UNKNOWN)
            s = SRC_SKIP;
        o->src[k] = s;
        o->in_sf[k] = s != SRC_SKIP;
        o->in_mirror[k] = o->map != NULL && sfr_mapping_has_field(o->map, f->name) &&
                          f->type != SFR_FT_LOCATION && f->type != SFR_FT_ADDRESS;
    }
}

static int field_idx(const struct gen_obj *o, const char *name)
{
    return sfr_object_field_index(o->obj, name);
}

static bool has_ref(const struct gen_obj *o, const char *field)
{
    int k = field_idx(o, field);
    return k >= 0 && o->src[k] == SRC_REF;
}

static int32_t *ref_array(struct gen_obj *o, const char *field)
{
    int k = field_idx(o, field);
    if (k < 0 || o->src[k] != SRC_REF)
        return NULL;
    if (o->refs[k] == NULL) {
        o->refs[k] = sfr_malloc(sizeof(int32_t) * (size_t)(o->n ? o->n : 1));
        for (long i = 0; i < o->n; i++)
            o->refs[k][i] = -1;
    }
    return o->refs[k];
}

/* Indexes of GENERAL records of parent p (all records when p has no classes). */
struct pool {
    int32_t *v;
    long n;
};

static void pool_build(const struct gen_obj *p, struct pool *pl)
{
    pl->v = sfr_malloc(sizeof(int32_t) * (size_t)(p->n ? p->n : 1));
    pl->n = 0;
    for (long i = 0; i < p->n; i++)
        if (p->klass == NULL || p->klass[i] == CLASS_GENERAL)
            pl->v[pl->n++] = (int32_t)i;
}

static void classify(struct gen_obj *o, uint64_t *rng, int solo_pct, int empty_pct)
{
    o->klass = sfr_calloc((size_t)(o->n ? o->n : 1), 1);
    for (long i = 1; i < o->n; i++) {
        long r = gen_below(rng, 100);
        o->klass[i] = r < solo_pct               ? CLASS_SOLO
                      : r < solo_pct + empty_pct ? CLASS_EMPTY
                                                 : CLASS_GENERAL;
    }
}

/* Lookups not shaped by a role: a random GENERAL parent (earlier for
 * self-lookups), null 10% of the time when the field allows it. */
static void plan_generic_refs(struct gen *g, struct gen_obj *o, uint64_t *rng)
{
    for (int k = 0; k < o->obj->n_fields; k++) {
        if (o->src[k] != SRC_REF || o->refs[k] != NULL)
            continue;
        const struct sfr_field *f = &o->obj->fields[k];
        struct gen_obj *p = &g->objs[o->ref_obj[k]];
        int32_t *r = ref_array(o, f->name);
        struct pool pl;
        pool_build(p, &pl);
        bool self = p == o;
        long seen = 0; /* self-lookups: generals before i */
        for (long i = 0; i < o->n; i++) {
            if (self) {
                while (seen < pl.n && pl.v[seen] < i)
                    seen++;
                if (seen > 0 && gen_chance(rng, 10))
                    r[i] = pl.v[gen_below(rng, seen)];
            } else if (pl.n > 0 && !(f->nillable && gen_chance(rng, 10)))
                r[i] = pl.v[gen_below(rng, pl.n)];
        }
        sfr_free(pl.v);
    }
}

/* Contacts come in groups per Account; Lines in groups per Invoice. */
static long plan_groups(struct gen_obj *parent, struct gen_obj *child, const char *field,
                        uint64_t *rng, int max_general, int32_t **first_out)
{
    long n = 0;
    int32_t *first = sfr_malloc(sizeof(int32_t) * (size_t)(parent->n ? parent->n : 1));
    uint8_t *cnt = sfr_malloc((size_t)(parent->n ? parent->n : 1));
    for (long a = 0; a < parent->n; a++) {
        int c = parent->klass[a] == CLASS_SOLO    ? 1
                : parent->klass[a] == CLASS_EMPTY ? 0
                                                  : (int)gen_below(rng, max_general + 1);
        if (parent->role == ROLE_INVOICE && parent->klass[a] == CLASS_GENERAL && c == 0)
            c = 2;
        first[a] = (int32_t)n;
        cnt[a] = (uint8_t)c;
        n += c;
    }
    child->n = n;
    int fk = field_idx(child, field);
    sfr_free(child->refs[fk]);
    child->refs[fk] = NULL;
    int32_t *r = ref_array(child, field);
    if (r != NULL)
        for (long a = 0; a < parent->n; a++)
            for (int j = 0; j < cnt[a]; j++)
                r[first[a] + j] = (int32_t)a;
    sfr_free(cnt);
    if (first_out != NULL)
        *first_out = first;
    else
        sfr_free(first);
    return n;
}

static void plan_contacts(struct gen *g, struct gen_obj *acc, struct gen_obj *con, uint64_t *rng,
                          int32_t **acc_first)
{
    if (acc == NULL || !has_ref(con, "AccountId")) {
        con->n = 2 * g->size;
        return;
    }
    plan_groups(acc, con, "AccountId", rng, 4, acc_first);
    int32_t *acct = con->refs[field_idx(con, "AccountId")];
    int32_t *rep = ref_array(con, "ReportsToId");
    if (rep == NULL)
        return;
    for (long i = 1; i < con->n; i++) {
        int32_t a = acct[i];
        if (a >= 0 && acct[i - 1] == a && acc->klass[a] == CLASS_GENERAL && gen_chance(rng, 30))
            rep[i] = (*acc_first)[a];
    }
}

static void plan_cases(struct gen_obj *acc, struct gen_obj *con, struct gen_obj *cs,
                       const int32_t *acc_first, uint64_t *rng)
{
    int32_t *ra = ref_array(cs, "AccountId");
    int32_t *rc = ref_array(cs, "ContactId");
    if (ra == NULL || acc == NULL)
        return;
    struct pool pl;
    pool_build(acc, &pl);
    for (long i = 0; i < cs->n && pl.n > 0; i++) {
        if (gen_chance(rng, 10))
            continue;
        int32_t a = pl.v[gen_below(rng, pl.n)];
        ra[i] = a;
        if (rc == NULL || con == NULL || acc_first == NULL || !gen_chance(rng, 70))
            continue;
        int32_t next = a + 1 < acc->n ? acc_first[a + 1] : (int32_t)con->n;
        if (next > acc_first[a])
            rc[i] = acc_first[a] + (int32_t)gen_below(rng, next - acc_first[a]);
    }
    sfr_free(pl.v);
}

static void count_children(struct gen *g)
{
    for (int k = 0; k < g->n_objs; k++)
        g->objs[k].children =
            sfr_calloc((size_t)(g->objs[k].n ? g->objs[k].n : 1), sizeof(int32_t));
    for (int k = 0; k < g->n_objs; k++) {
        struct gen_obj *o = &g->objs[k];
        for (int f = 0; f < o->obj->n_fields; f++) {
            if (o->refs[f] == NULL)
                continue;
            int32_t *ch = g->objs[o->ref_obj[f]].children;
            for (long i = 0; i < o->n; i++)
                if (o->refs[f][i] >= 0)
                    ch[o->refs[f][i]]++;
        }
    }
}

static int cmp_role(const void *a, const void *b)
{
    const struct gen_obj *x = a, *y = b;
    int rx = x->role == ROLE_OTHER ? 100 : (int)x->role;
    int ry = y->role == ROLE_OTHER ? 100 : (int)y->role;
    return rx != ry ? rx - ry : strcmp(x->obj->name, y->obj->name);
}

static long base_count(enum gen_role r, long size)
{
    switch (r) {
    case ROLE_CONTACT:
        return 2 * size;
    case ROLE_CASE:
    case ROLE_LEAD:
    case ROLE_INVOICE:
        return size / 2 > 0 ? size / 2 : 1;
    default:
        return size;
    }
}

enum sfr_rc gen_plan(struct gen *g, const struct sfr_strv *only, struct sfr_err *err)
{
    g->objs = sfr_calloc((size_t)g->cfg->n_mappings + 1, sizeof(struct gen_obj));
    for (int m = 0; m < g->cfg->n_mappings; m++) {
        const struct sfr_mapping *map = &g->cfg->mappings[m];
        if (only != NULL && only->n > 0 && !sfr_strv_contains_ci(only, map->object_name))
            continue;
        const struct sfr_object *obj = sfr_schema_object(&g->schema, map->object_name);
        if (obj == NULL)
            return sfr_err_set(err, SFR_ECONFIG,
                               "%s:%d: object %s is mapped but not in the describe", g->cfg->path,
                               map->line, map->object_name);
        if (obj->key_prefix[0] == '\0')
            return sfr_err_set(err, SFR_ECONFIG, "describe of %s has no keyPrefix", obj->name);
        struct gen_obj *o = &g->objs[g->n_objs++];
        o->obj = obj;
        o->map = map;
        o->role = role_of(obj->name);
        o->n = base_count(o->role, g->size);
    }
    if (only != NULL)
        for (size_t i = 0; i < only->n; i++)
            if (gen_obj_index(g, only->v[i]) < 0)
                return sfr_err_set(err, SFR_EUSAGE, "--objects: %s is not mapped in %s", only->v[i],
                                   g->cfg->path);
    qsort(g->objs, (size_t)g->n_objs, sizeof(struct gen_obj), cmp_role);
    for (int k = 0; k < g->n_objs; k++) {
        g->objs[k].salt = gen_mix(g->seed * 31 + (uint64_t)g->objs[k].role * 1000003 + (uint64_t)k);
        plan_sources(g, &g->objs[k]);
    }

    uint64_t rng = gen_mix(g->seed ^ 0x6f7267676e656eULL);
    int ia = gen_obj_index(g, "Account"), ic = gen_obj_index(g, "Contact");
    int ii = gen_obj_index(g, "Invoice__c"), il = gen_obj_index(g, "Invoice_Line__c");
    struct gen_obj *acc = ia >= 0 ? &g->objs[ia] : NULL;
    struct gen_obj *con = ic >= 0 ? &g->objs[ic] : NULL;
    int32_t *acc_first = NULL;
    if (acc != NULL)
        classify(acc, &rng, con != NULL ? 4 : 0, 6);
    if (con != NULL)
        plan_contacts(g, acc, con, &rng, &acc_first);
    if (ii >= 0) {
        struct gen_obj *inv = &g->objs[ii];
        classify(inv, &rng, il >= 0 ? 20 : 0, 10);
        if (il >= 0 && has_ref(&g->objs[il], "Invoice__c"))
            plan_groups(inv, &g->objs[il], "Invoice__c", &rng, 4, NULL);
    }
    int ics = gen_obj_index(g, "Case");
    if (ics >= 0)
        plan_cases(acc, con, &g->objs[ics], acc_first, &rng);
    sfr_free(acc_first);
    for (int k = 0; k < g->n_objs; k++)
        plan_generic_refs(g, &g->objs[k], &rng);
    count_children(g);
    long seq = 0;
    for (int k = 0; k < g->n_objs; k++) {
        g->objs[k].seq_base = seq;
        seq += g->objs[k].n;
    }
    g->total = seq;
    return SFR_OK;
}

void gen_cleanup(struct gen *g)
{
    for (int k = 0; k < g->n_objs; k++) {
        struct gen_obj *o = &g->objs[k];
        for (int f = 0; o->refs != NULL && f < o->obj->n_fields; f++)
            sfr_free(o->refs[f]);
        sfr_free(o->refs);
        sfr_free(o->ref_obj);
        sfr_free(o->src);
        sfr_free(o->children);
        sfr_free(o->klass);
        sfr_free(o->in_mirror);
        sfr_free(o->in_sf);
    }
    sfr_free(g->objs);
    g->objs = NULL;
    g->n_objs = 0;
}

/* ---- values ---- */

static const char *const companies[] = {"Acme Widgets",
                                        "Müller & Söhne",
                                        "Société Générale Services",
                                        "O'Brien Logistics",
                                        "Nørdisk Energi",
                                        "Café São Paulo",
                                        "東京商事",
                                        "Łódź Textiles",
                                        "Blue Harbor Foods",
                                        "Zürich Precision",
                                        "Smith, Jones & Partners",
                                        "\"Best\" Hardware",
                                        "Ålesund Fisk",
                                        "Ünal Yapı",
                                        "Greenfield Farms",
                                        "Pacific Rim Traders",
                                        "Δέλτα Shipping",
                                        "Harbor Point"};
static const char *const suffixes[] = {"Inc.", "GmbH", "Ltd",        "S.A.", "AS",
                                       "LLC",  "K.K.", "Sp. z o.o.", "Co.",  "plc"};
static const char *const firsts[] = {"Ana",      "José", "Zoë",    "Björn", "Łukasz", "Siobhán",
                                     "François", "美咲", "John",   "Mary",  "Ahmed",  "Priya",
                                     "Olga",     "Chen", "D'Arcy", "Renée"};
static const char *const lasts[] = {"O'Connor",     "Müller", "García",    "Nguyễn",  "Smith",
                                    "van der Berg", "Øster",  "山田",      "Johnson", "Kowalski",
                                    "Dubois",       "Rossi",  "Fernández", "Brown",   "Ivanova"};
static const char *const phrases[] = {
    "Key customer since 2019",          "prefers e-mail, not phone",
    "asked for a \"quick\" quote",      "renewal due in Q3",
    "Übergabe an den Vertrieb erfolgt", "billing address differs, see notes",
    "contract signed; awaiting PO",     "délai de paiement: 30 jours",
    "VIP — handle with care",           "uses the 'legacy' portal",
    "50% discount approved by finance", "港区の支店"};
static const char *const subjects[] = {"Login fails with \"invalid session\"",
                                       "Invoice total wrong, please check",
                                       "Printer on 3rd floor jammed",
                                       "Réclamation: livraison en retard",
                                       "Cannot export report to CSV",
                                       "Password reset e-mail never arrives",
                                       "Shipment damaged (box #4)",
                                       "Wrong VAT rate on order",
                                       "API returns 500 since Monday"};
static const char *const products[] = {
    "Widget, large (blue)", "Service hours — on-site", "Ersatzteil \"Typ B\"", "Licence, annual",
    "Café machine 3000",    "Support plan: Gold",      "Cable 5 m, black",     "Consulting day"};
static const char *const domains[] = {"example.com", "example.org", "example.net"};

#define PICK(rng, arr) (arr[gen_below(rng, (long)(sizeof(arr) / sizeof(arr[0])))])

/* Cuts s (in b from `start`) to at most max UTF-8 characters. */
static void cut_chars(struct sfr_buf *b, size_t start, int max)
{
    if (max <= 0)
        return;
    int chars = 0;
    for (size_t p = start; p < b->len; p++) {
        if (((unsigned char)b->data[p] & 0xC0) != 0x80) {
            if (chars == max) {
                b->len = p;
                b->data[p] = '\0';
                return;
            }
            chars++;
        }
    }
}

static void gen_company(struct sfr_buf *b, uint64_t *rng, long i)
{
    sfr_buf_printf(b, "%s %s %ld", PICK(rng, companies), PICK(rng, suffixes), i + 1);
}

static void gen_text(struct sfr_buf *b, uint64_t *rng, bool multiline)
{
    int n = 1 + (int)gen_below(rng, 4);
    for (int s = 0; s < n; s++) {
        if (s > 0)
            sfr_buf_puts(b, multiline && gen_chance(rng, 30) ? "\n" : ". ");
        sfr_buf_puts(b, PICK(rng, phrases));
    }
    sfr_buf_putc(b, '.');
}

static void gen_number(struct sfr_buf *b, const struct sfr_field *f, uint64_t *rng, long lo,
                       long hi)
{
    int scale = f->scale;
    int digits = f->precision > 0 ? f->precision - scale : 9;
    long max = 1;
    for (int d = 0; d < digits && d < 12; d++)
        max *= 10;
    if (hi > max - 1)
        hi = max - 1;
    if (lo > hi)
        lo = 0;
    long whole = lo + gen_below(rng, hi - lo + 1);
    if (scale <= 0) {
        sfr_buf_printf(b, "%ld", whole);
        return;
    }
    long frac_max = 1;
    for (int d = 0; d < scale && d < 6; d++)
        frac_max *= 10;
    long frac = gen_below(rng, frac_max);
    sfr_buf_printf(b, "%ld.%0*ld", whole, scale > 6 ? 6 : scale, frac);
}

/* Appends a value for field f; returns false for null. */
static bool gen_value(const struct gen_obj *o, const struct sfr_field *f, long i, uint64_t *rng,
                      struct sfr_buf *b)
{
    const char *nm = f->name;
    size_t start = b->len;
    bool nullable = f->nillable && f->type != SFR_FT_BOOLEAN;
    /* draw the null decision first so values stay stable whatever the type does */
    bool null = nullable && gen_chance(rng, 7);
    char tmp[32];
    if (f->external_id || strcasecmp(nm, "External_Id__c") == 0) {
        sfr_buf_printf(b, "EXT-%s-%08ld", o->obj->key_prefix, i + 1);
        return true;
    }
    switch (f->type) {
    case SFR_FT_BOOLEAN:
        sfr_buf_puts(b, gen_chance(rng, 50) ? "true" : "false");
        return true;
    case SFR_FT_PICKLIST:
    case SFR_FT_COMBOBOX:
        if (null && strcasecmp(nm, "StageName") != 0)
            return false;
        if (f->n_picklist > 0)
            sfr_buf_puts(b, f->picklist[gen_below(rng, f->n_picklist)]);
        else
            sfr_buf_printf(b, "Value %ld", 1 + gen_below(rng, 5));
        return true;
    case SFR_FT_MULTIPICKLIST: {
        int got = 0;
        for (int k = 0; k < f->n_picklist; k++)
            if (gen_chance(rng, 35)) {
                sfr_buf_printf(b, "%s%s", got++ ? ";" : "", f->picklist[k]);
            }
        if (got == 0 && (null || f->n_picklist == 0))
            return false;
        if (got == 0)
            sfr_buf_puts(b, f->picklist[0]);
        return true;
    }
    case SFR_FT_INT:
    case SFR_FT_LONG:
        if (null)
            return false;
        gen_number(b, f, rng, 1, strcasecmp(nm, "NumberOfEmployees") == 0 ? 250000 : 9999);
        return true;
    case SFR_FT_PERCENT:
        if (null)
            return false;
        gen_number(b, f, rng, 0, 100);
        return true;
    case SFR_FT_CURRENCY:
        if (null)
            return false;
        gen_number(b, f, rng, f->scale > 0 ? 1 : 1000, f->scale > 0 ? 99999 : 900000000);
        return true;
    case SFR_FT_DOUBLE:
        if (null)
            return false;
        gen_number(b, f, rng, 0, 500);
        return true;
    case SFR_FT_DATE: {
        if (null && strcasecmp(nm, "CloseDate") != 0)
            return false;
        bool birth = strcasecmp(nm, "Birthdate") == 0;
        int64_t d0 = birth ? sfr_days_from_civil(1950, 1, 1) : sfr_days_from_civil(2023, 1, 1);
        fmt_date(d0 + gen_below(rng, birth ? 20000 : 1100), tmp);
        sfr_buf_puts(b, tmp);
        return true;
    }
    case SFR_FT_DATETIME:
        if (null)
            return false;
        gen_fmt_sf_ts(TS_BASE_MS - 365LL * 86400000 + gen_below(rng, 700L * 86400) * 1000 +
                          gen_below(rng, 1000),
                      tmp);
        sfr_buf_puts(b, tmp);
        return true;
    case SFR_FT_EMAIL:
        if (null)
            return false;
        sfr_buf_printf(b, "%s.%ld@%s", o->role == ROLE_LEAD ? "lead" : "contact", i + 1,
                       PICK(rng, domains));
        return true;
    case SFR_FT_PHONE:
        if (null)
            return false;
        sfr_buf_printf(b, gen_chance(rng, 80) ? "+1 415-555-%04ld" : "+49 30 %07ld",
                       gen_below(rng, 10000000) % (gen_chance(rng, 50) ? 10000 : 10000000));
        return true;
    case SFR_FT_URL:
        if (null)
            return false;
        sfr_buf_printf(b, "https://www.example-%ld.com/", i + 1);
        return true;
    case SFR_FT_TEXTAREA:
        if (null)
            return false;
        gen_text(b, rng, true);
        break;
    case SFR_FT_TIME:
        if (null)
            return false;
        sfr_buf_printf(b, "%02ld:%02ld:00.000Z", gen_below(rng, 24), gen_below(rng, 60));
        return true;
    default: /* string, encrypted string */
        if (strcasecmp(nm, "Name") == 0 && o->role == ROLE_INVOICE)
            sfr_buf_printf(b, "INV-2024-%06ld", i + 1);
        else if (strcasecmp(nm, "Name") == 0 && o->role == ROLE_OPPORTUNITY)
            sfr_buf_printf(b, "%s — %s deal #%ld", PICK(rng, companies), PICK(rng, products),
                           i + 1);
        else if (strcasecmp(nm, "Name") == 0 || strcasecmp(nm, "Company") == 0)
            gen_company(b, rng, i);
        else if (strcasecmp(nm, "FirstName") == 0) {
            if (null)
                return false;
            sfr_buf_puts(b, PICK(rng, firsts));
        } else if (strcasecmp(nm, "LastName") == 0)
            sfr_buf_printf(b, "%s %ld", PICK(rng, lasts), i + 1);
        else if (strcasecmp(nm, "Subject") == 0)
            sfr_buf_printf(b, "%s (ticket %ld)", PICK(rng, subjects), i + 1);
        else if (strcasecmp(nm, "AccountNumber") == 0) {
            if (null)
                return false;
            sfr_buf_printf(b, "AC-%07ld", i + 1);
        } else if (strcasecmp(nm, "Description__c") == 0)
            sfr_buf_printf(b, "%s, lot %ld", PICK(rng, products), i + 1);
        else if (null)
            return false;
        else
            sfr_buf_printf(b, "%s %ld", PICK(rng, phrases), i + 1);
        break;
    }
    cut_chars(b, start, f->length > 0 ? f->length : 255);
    /* A cut can leave trailing blanks, which Salesforce would trim. */
    while (b->len > start && (b->data[b->len - 1] == ' ' || b->data[b->len - 1] == '\n'))
        b->data[--b->len] = '\0';
    return true;
}

void gen_rec_init(struct gen_rec *r)
{
    memset(r, 0, sizeof(*r));
    sfr_buf_init(&r->arena);
}

void gen_rec_cleanup(struct gen_rec *r)
{
    sfr_free(r->val);
    sfr_free(r->off);
    sfr_buf_cleanup(&r->arena);
    memset(r, 0, sizeof(*r));
}

void gen_record(const struct gen *g, const struct gen_obj *o, long i, struct gen_rec *r)
{
    int nf = o->obj->n_fields;
    if (r->n < nf) {
        r->val = sfr_realloc(r->val, sizeof(char *) * (size_t)nf);
        r->off = sfr_realloc(r->off, sizeof(size_t) * (size_t)nf);
    }
    r->n = nf;
    sfr_buf_reset(&r->arena);
    uint64_t rng = gen_mix(g->seed ^ o->salt ^ gen_mix((uint64_t)i + 1));
    long seq = o->seq_base + (i < o->n ? i : o->n + (i - o->n));
    int64_t created = TS_BASE_MS + (int64_t)seq * 1000 + (int64_t)(gen_mix(rng) % 1000);
    int64_t modified = created + (int64_t)(gen_mix(rng + 1) % (30ULL * 86400)) * 1000 +
                       (int64_t)(gen_mix(rng + 2) % 1000);
    char ts[32];
    for (int k = 0; k < nf; k++) {
        const struct sfr_field *f = &o->obj->fields[k];
        size_t start = r->arena.len;
        bool set = true;
        switch (o->src[k]) {
        case SRC_SKIP:
            set = false;
            break;
        case SRC_ID:
            gen_id(o, "G0", i, ts);
            sfr_buf_puts(&r->arena, ts);
            break;
        case SRC_ISDELETED:
            sfr_buf_puts(&r->arena, "false");
            break;
        case SRC_CREATED:
            gen_fmt_sf_ts(created, ts);
            sfr_buf_puts(&r->arena, ts);
            break;
        case SRC_MODIFIED:
            gen_fmt_sf_ts(modified, ts);
            sfr_buf_puts(&r->arena, ts);
            break;
        case SRC_USER:
            sfr_buf_puts(&r->arena, g->user_id);
            break;
        case SRC_REF: {
            int32_t p = (o->refs[k] != NULL && i < o->n) ? o->refs[k][i] : -1;
            if (p < 0)
                set = false;
            else {
                gen_id(&g->objs[o->ref_obj[k]], "G0", p, ts);
                sfr_buf_puts(&r->arena, ts);
            }
            break;
        }
        case SRC_VALUE:
            set = gen_value(o, f, i, &rng, &r->arena);
            if (set && r->arena.len == start)
                set = false; /* Salesforce keeps no empty strings */
            break;
        }
        if (set)
            sfr_buf_putc(&r->arena, '\0');
        r->off[k] = set ? start : SIZE_MAX;
    }
    for (int k = 0; k < nf; k++)
        r->val[k] = r->off[k] == SIZE_MAX ? NULL : r->arena.data + r->off[k];
}
