/* fuzz.h — helpers shared by the libFuzzer targets in tests/fuzz/.
 *
 * Every target defines LLVMFuzzerTestOneInput and is built with clang
 * -fsanitize=fuzzer,address,undefined (make fuzz). Besides "does not crash",
 * the targets check properties that a correct parser must have (the same
 * result whichever way the input is split into chunks, canonical forms that
 * are fixed points); a violated property aborts, so libFuzzer reports it as a
 * crash with the input saved. */
#ifndef SFR_FUZZ_H
#define SFR_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated copy of data (for parsers of C strings). Caller frees. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL)
        abort();
    if (size > 0)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Aborts with a message when a property does not hold. */
#define FUZZ_ASSERT(cond)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
