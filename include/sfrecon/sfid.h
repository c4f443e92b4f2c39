/* sfid.h — Salesforce record Ids: 15 characters base 62 (case-sensitive) plus
 * an optional 3-character checksum suffix. Key order is byte order ("C"). */
#ifndef SFRECON_SFID_H
#define SFRECON_SFID_H

#include <stdbool.h>
#include <stddef.h>

/* True when s (len 15 or 18) has only [0-9A-Za-z] and, at 18, a correct suffix. */
bool sfr_sfid_valid(const char *s, size_t len);
/* Writes the 18-character form of a 15- or 18-character Id into out[19].
 * Returns false when the input is not a valid Id. */
bool sfr_sfid_to18(const char *s, size_t len, char out[19]);
/* Writes the 15-character form into out[16]. */
bool sfr_sfid_to15(const char *s, size_t len, char out[16]);
/* Byte-order comparison (memcmp, shorter first on a tie), like COLLATE "C". */
int sfr_sfid_cmp(const char *a, const char *b);
/* Computes the 3-character suffix for a 15-character Id into out[4]. */
void sfr_sfid_suffix(const char id15[15], char out[4]);

#endif
