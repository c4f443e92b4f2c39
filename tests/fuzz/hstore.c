/* hstore.c — fuzz target for the trigger log's hstore text parser
 * (src/sync/hstore.c). An accepted literal is printed back in hstore's own
 * output form ("k"=>"v", NULL unquoted) and parsed again: the pairs must come
 * back unchanged. */
#include "fuzz.h"
#include "sfrecon/mem.h"
#include "sfrecon/sync.h"

static void quoted(struct sfr_buf *b, const char *s)
{
    sfr_buf_putc(b, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            sfr_buf_putc(b, '\\');
        sfr_buf_putc(b, *s);
    }
    sfr_buf_putc(b, '"');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size);
    struct sfr_hstore h;
    struct sfr_err err = {0};
    if (sfr_hstore_parse(text, &h, &err) != SFR_OK) {
        FUZZ_ASSERT(h.n == 0 && h.keys == NULL);
        FUZZ_ASSERT(strstr(err.msg, "offset") != NULL);
        free(text);
        return 0;
    }
    struct sfr_buf out = SFR_BUF_INIT;
    for (int i = 0; i < h.n; i++) {
        FUZZ_ASSERT(h.keys[i] != NULL);
        FUZZ_ASSERT(sfr_hstore_find(&h, h.keys[i]) <= i);
        if (i > 0)
            sfr_buf_puts(&out, ", ");
        quoted(&out, h.keys[i]);
        sfr_buf_puts(&out, "=>");
        if (h.vals[i] == NULL)
            sfr_buf_puts(&out, "NULL");
        else
            quoted(&out, h.vals[i]);
    }
    struct sfr_hstore again;
    FUZZ_ASSERT(sfr_hstore_parse(out.data ? out.data : "", &again, &err) == SFR_OK);
    FUZZ_ASSERT(again.n == h.n);
    for (int i = 0; i < h.n; i++) {
        FUZZ_ASSERT(strcmp(again.keys[i], h.keys[i]) == 0);
        FUZZ_ASSERT((again.vals[i] == NULL) == (h.vals[i] == NULL));
        FUZZ_ASSERT(h.vals[i] == NULL || strcmp(again.vals[i], h.vals[i]) == 0);
    }
    sfr_hstore_cleanup(&again);
    sfr_hstore_cleanup(&h);
    sfr_buf_cleanup(&out);
    free(text);
    return 0;
}
