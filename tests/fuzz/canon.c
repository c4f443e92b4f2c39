/* canon.c — fuzz target for canonical values (src/core/canon.c): the parsers
 * of Postgres text output and of Salesforce values, the way they arrive in
 * REST JSON (decoded by src/sf/jsonstream.c's record parser) or Bulk CSV.
 *
 * Input: byte 0 the field type, byte 1 the field's scale (signed), byte 2 the
 * mode (bit 0: source side, bit 1: the rest is a JSON value of a Salesforce
 * record rather than raw text); the rest is the value.
 * Properties: a canonical form is a fixed point (canonicalising it again
 * gives the same bytes); sfr_canon_text agrees with sfr_canon_value; a parsed
 * datetime survives formatting and parsing again; the record parser decodes
 * every string that json-c (strict) decodes to the same bytes (a record of
 * one member: names match case-insensitively, so {"F":1,"f":2} differs). */
#include <json-c/json.h>

#include "fuzz.h"
#include "sfrecon/canon.h"
#include "sfrecon/sf.h"

#define RAW "\x01raw:"

static void check_value(const struct sfr_field *f, enum sfr_canon_src src, const char *v, size_t n)
{
    struct sfr_buf out = SFR_BUF_INIT;
    bool null = sfr_canon_value(f, src, v, n, &out);
    FUZZ_ASSERT(!null || out.len == 0);
    if (!null && !(out.len >= 5 && memcmp(out.data, RAW, 5) == 0)) {
        struct sfr_buf again = SFR_BUF_INIT;
        FUZZ_ASSERT(!sfr_canon_value(f, src, out.data, out.len, &again));
        FUZZ_ASSERT(again.len == out.len && memcmp(again.data, out.data, out.len) == 0);
        sfr_buf_cleanup(&again);
    }
    if (v != NULL && memchr(v, '\0', n) == NULL) {
        char *s = fuzz_cstr((const uint8_t *)v, n);
        char *t = sfr_canon_text(f, src, s);
        FUZZ_ASSERT((t == NULL) == null);
        FUZZ_ASSERT(t == NULL || (strlen(t) == out.len && memcmp(t, out.data, out.len) == 0));
        free(t);
        free(s);
    }
    struct sfr_rowhash h;
    sfr_rowhash_init(&h);
    sfr_rowhash_add(&h, f, src, v, n);
    (void)sfr_rowhash_finish(&h);
    sfr_rowhash_cleanup(&h);
    sfr_buf_cleanup(&out);
}

static void check_datetime(const char *v, size_t n)
{
    int64_t ms, back;
    if (!sfr_parse_datetime_ms(v, n, &ms))
        return;
    if (ms < sfr_days_from_civil(0, 1, 1) * 86400000LL ||
        ms >= sfr_days_from_civil(10000, 1, 1) * 86400000LL)
        return; /* formatting clamps to four-digit years */
    char iso[32], sf[32], pg[32];
    sfr_format_datetime_ms(ms, iso);
    sfr_format_datetime_sf(ms, sf);
    sfr_format_datetime_pg(ms, pg);
    FUZZ_ASSERT(sfr_parse_datetime_ms(iso, strlen(iso), &back) && back == ms);
    FUZZ_ASSERT(sfr_parse_datetime_ms(sf, strlen(sf), &back) && back == ms);
    FUZZ_ASSERT(sfr_parse_datetime_ms(pg, strlen(pg), &back) && back == ms);
}

/* The value as the JSON of field "F" in a record, decoded by the record parser. */
static void check_json(const struct sfr_field *f, const char *v, size_t n)
{
    struct sfr_buf rec = SFR_BUF_INIT;
    sfr_buf_puts(&rec, "{\"F\":");
    sfr_buf_append(&rec, v, n);
    sfr_buf_puts(&rec, "}");
    static const char *const names[] = {"F"};
    struct sfr_sf_recparse rp;
    sfr_sf_recparse_init(&rp, names, 1);
    struct sfr_err err = {0};
    bool ok = sfr_sf_recparse_run(&rp, rec.data, rec.len, &err) == SFR_OK;
    if (ok)
        check_value(f, SFR_SRC_SF, rp.values[0], rp.values[0] ? rp.lens[0] : 0);

    json_tokener *tok = json_tokener_new();
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *doc = json_tokener_parse_ex(tok, rec.data, (int)rec.len);
    /* one member only: the record parser matches names case-insensitively,
     * as Salesforce field names are, so {"F":1,"f":2} differs by design */
    bool whole = doc != NULL && json_tokener_get_parse_end(tok) == rec.len &&
                 json_object_is_type(doc, json_type_object) && json_object_object_length(doc) == 1;
    json_object *jv = NULL;
    if (whole && json_object_object_get_ex(doc, "F", &jv) &&
        json_object_is_type(jv, json_type_string)) {
        FUZZ_ASSERT(ok && rp.values[0] != NULL);
        size_t jl = (size_t)json_object_get_string_len(jv);
        FUZZ_ASSERT(rp.lens[0] == jl && memcmp(rp.values[0], json_object_get_string(jv), jl) == 0);
    } else if (whole && json_object_object_get_ex(doc, "F", &jv) && jv == NULL) {
        FUZZ_ASSERT(ok && rp.values[0] == NULL);
    }
    json_object_put(doc);
    json_tokener_free(tok);
    sfr_sf_recparse_cleanup(&rp);
    sfr_buf_cleanup(&rec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    struct sfr_field f = {.name = "F", .column = "f"};
    f.type = (enum sfr_ftype)(data[0] % (SFR_FT_ANYTYPE + 1));
    f.scale = (int8_t)data[1];
    f.length = 255;
    enum sfr_canon_src src = data[2] & 1 ? SFR_SRC_PG : SFR_SRC_SF;
    const char *v = (const char *)data + 3;
    size_t n = size - 3;
    if (data[2] & 2) {
        check_json(&f, v, n);
    } else {
        check_value(&f, src, v, n);
        check_datetime(v, n);
    }
    return 0;
}
