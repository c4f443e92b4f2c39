/* sferror.c — fuzz target for the small Salesforce response parsers of the
 * REST client: error bodies ([{"errorCode","message"}] and the OAuth
 * {"error","error_description"} form), Sforce-Limit-Info header values and
 * the result pages list of a Bulk API 2.0 query job. Results must be
 * NUL-terminated within their buffers; a list taken names only the job's
 * results and, unless done, where the rest is. */
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
    const char *job = "750R0000000zxr8IAA";
    struct sfr_strv urls = {0};
    char next[128];
    bool done;
    struct sfr_err e;
    memset(next, 'x', sizeof next);
    if (sfr_sf_parse_result_pages((const char *)data, size, job, &urls, next, sizeof next, &done,
                                  &e) == SFR_OK) {
        FUZZ_ASSERT(memchr(next, '\0', sizeof next) != NULL);
        FUZZ_ASSERT(done || strstr(next, "/jobs/query/750R0000000zxr8IAA/resultPages") != NULL);
        for (size_t i = 0; i < urls.n; i++)
            FUZZ_ASSERT(strstr(urls.v[i], "/jobs/query/750R0000000zxr8IAA/results") != NULL);
    }
    sfr_strv_cleanup(&urls);
    return 0;
}
