/* describe.c — fuzz target for the describe parser (src/core/schema.c):
 * GET /sobjects/X/describe bodies as Salesforce sends them, and as users hand
 * them to sfemu and `sfrecon lint`. An accepted object has a name, a table and
 * fields with names and columns, and is found again by field name. */
#include "fuzz.h"
#include "sfrecon/schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sfr_object o;
    memset(&o, 0, sizeof o);
    struct sfr_err err = {0};
    if (sfr_object_from_describe((const char *)data, size, &o, &err) != SFR_OK) {
        FUZZ_ASSERT(err.msg[0] != '\0');
        sfr_object_cleanup(&o);
        return 0;
    }
    FUZZ_ASSERT(o.name != NULL && o.table != NULL);
    for (int i = 0; i < o.n_fields; i++) {
        const struct sfr_field *f = &o.fields[i];
        FUZZ_ASSERT(f->name != NULL && f->column != NULL);
        FUZZ_ASSERT(sfr_object_field(&o, f->name) != NULL);
        FUZZ_ASSERT(f->n_reference_to == 0 || f->reference_to != NULL);
        char *t = sfr_field_pg_type(f);
        FUZZ_ASSERT(t != NULL && t[0] != '\0');
        free(t);
    }
    sfr_object_cleanup(&o);
    return 0;
}
