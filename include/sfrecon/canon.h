/* canon.h — canonical values and row hashing (docs/hashing.md).
 *
 * Equal data hashes equal whichever side it came from:
 *  - Salesforce side (SFR_SRC_SF): a value as text the way it appears in REST
 *    JSON once decoded (strings as is; numbers as their JSON text; booleans
 *    "true"/"false") or in Bulk CSV; NULL pointer = null.
 *  - Postgres side (SFR_SRC_PG): PQgetvalue text output; NULL = SQL NULL.
 * Canonical forms (the bytes that get hashed):
 *  - text types: as is; '' is null (Salesforce stores no empty strings)
 *  - boolean: "1" / "0" (t/f, true/false, 1/0 accepted)
 *  - int/long: decimal integer, no sign for 0, no leading zeros ("12.0" -> "12")
 *  - double/currency/percent: rounded half away from zero to the field's scale,
 *    printed with exactly `scale` decimals, "-0" normalised to "0"
 *  - date: YYYY-MM-DD; datetime: UTC YYYY-MM-DDTHH:MM:SS.mmmZ (offsets applied;
 *    a value without zone is UTC); time: HH:MM:SS.mmm
 *  - multipicklist: values split on ';', sorted bytewise, joined by ';'
 *  - id/reference: as stored (a 15-char Id is NOT widened: it differs)
 * A value that cannot be parsed for its type canonicalises to its raw text
 * prefixed by "\x01raw:" so that it differs from every valid value. */
#ifndef SFRECON_CANON_H
#define SFRECON_CANON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "sfrecon/mem.h"
#include "sfrecon/schema.h"

enum sfr_canon_src { SFR_SRC_SF, SFR_SRC_PG };

/* Appends the canonical bytes of val (len bytes, NULL = null) to out.
 * Returns true when the value is null after canonicalisation (nothing appended). */
bool sfr_canon_value(const struct sfr_field *f, enum sfr_canon_src src, const char *val, size_t len,
                     struct sfr_buf *out);

/* Incremental row hasher: feed fields in a fixed order, then finish.
 * Each field is length-prefixed (4 bytes LE; 0xFFFFFFFF = null). */
struct sfr_rowhash {
    struct sfr_buf buf; /* the row's canonical bytes */
    struct sfr_buf tmp;
};
void sfr_rowhash_init(struct sfr_rowhash *h);
void sfr_rowhash_cleanup(struct sfr_rowhash *h);
void sfr_rowhash_reset(struct sfr_rowhash *h);
void sfr_rowhash_add(struct sfr_rowhash *h, const struct sfr_field *f, enum sfr_canon_src src,
                     const char *val, size_t len);
uint64_t sfr_rowhash_finish(struct sfr_rowhash *h); /* XXH3-64 of buf */

/* Canonical text of a value for display/comparison (caller frees; NULL = null). */
char *sfr_canon_text(const struct sfr_field *f, enum sfr_canon_src src, const char *val);

/* Calendar arithmetic (proleptic Gregorian): days since 1970-01-01 of a date,
 * and the date of a day number. Shared by canon, the emulator and orggen. */
int64_t sfr_days_from_civil(int64_t y, int m, int d);
void sfr_civil_from_days(int64_t days, int *y, int *m, int *d);

/* Parse helpers shared by canon and the classifier. */
bool sfr_parse_datetime_ms(const char *s, size_t len, int64_t *ms_utc); /* ms since epoch */
void sfr_format_datetime_ms(int64_t ms_utc, char out[32]);              /* ...T..:..:..:.mmmZ */
void sfr_format_datetime_sf(int64_t ms_utc, char out[32]); /* 2013-05-20T20:49:32.000+0000 */
void sfr_format_datetime_pg(int64_t ms_utc, char out[32]); /* 2013-05-20 20:49:32.000 */

#endif
