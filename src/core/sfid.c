/* sfid.c — Salesforce record Ids: validation, 15 <-> 18 conversion and byte
 * order. The 3-character suffix encodes, per group of 5 characters, which
 * characters are uppercase letters, so that the 18-character form is unique
 * under case-insensitive comparison. */
#include "sfrecon/sfid.h"

#include <string.h>

static const char suffix_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

static bool is_b62(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

void sfr_sfid_suffix(const char id15[15], char out[4])
{
    for (int g = 0; g < 3; g++) {
        int bits = 0;
        for (int i = 0; i < 5; i++) {
            char c = id15[g * 5 + i];
            if (c >= 'A' && c <= 'Z')
                bits |= 1 << i;
        }
        out[g] = suffix_alphabet[bits];
    }
    out[3] = '\0';
}

bool sfr_sfid_valid(const char *s, size_t len)
{
    if (s == NULL || (len != 15 && len != 18))
        return false;
    for (size_t i = 0; i < len; i++)
        if (!is_b62(s[i]))
            return false;
    if (len == 18) {
        char suf[4];
        sfr_sfid_suffix(s, suf);
        /* Salesforce accepts the suffix in any case, but emits it uppercase. */
        if (memcmp(suf, s + 15, 3) != 0)
            return false;
    }
    return true;
}

bool sfr_sfid_to18(const char *s, size_t len, char out[19])
{
    if (!sfr_sfid_valid(s, len))
        return false;
    memcpy(out, s, 15);
    sfr_sfid_suffix(s, out + 15);
    out[18] = '\0';
    return true;
}

bool sfr_sfid_to15(const char *s, size_t len, char out[16])
{
    if (!sfr_sfid_valid(s, len))
        return false;
    memcpy(out, s, 15);
    out[15] = '\0';
    return true;
}

int sfr_sfid_cmp(const char *a, const char *b)
{
    /* strcmp compares as unsigned char and a proper prefix sorts first: "C" order. */
    int c = strcmp(a, b);
    return c < 0 ? -1 : c > 0;
}
