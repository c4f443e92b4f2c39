/* sferror.c — fuzz target for the small Salesforce response parsers of the
 * REST client: error bodies ([{"errorCode","message"}] and the OAuth
 * {"error","error_description"} form) and Sforce-Limit-Info header values.
 * Results must be NUL-terminated within their buffers. */
#include "fuzz.h"
#include "sfrecon/sf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char code[64], msg[256];
    memset(code, 'x', sizeof code);
    memset(msg, 'x', sizeof msg);
    if (sfr_sf_parse_error((const char *)data, size, code, sizeof code, msg, sizeof msg)) {
        FUZZ_ASSERT(memchr(code, '\0', sizeof code) != NULL);
        FUZZ_ASSERT(memchr(msg, '\0', sizeof msg) != NULL);
    }
    char *s = fuzz_cstr(data, size);
    long used = -7, max = -7;
    if (sfr_sf_parse_limit_info(s, &used, &max))
        FUZZ_ASSERT(used >= 0 && max >= 0);
    free(s);
    return 0;
}
