/* config.c — fuzz target for the mapping-file loader (src/core/config.c):
 * the JSON document, the key-path line index and the validation of every
 * key. A rejected file must come with a "FILE:LINE: ..." message; an accepted
 * one is walked through the accessors. */
#include "fuzz.h"
#include "sfrecon/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (memchr(data, '\0', size) != NULL)
        return 0; /* sfr_config_load refuses NUL bytes before parsing */
    char *text = fuzz_cstr(data, size);
    struct sfr_config *cfg = NULL;
    struct sfr_err err = {0};
    enum sfr_rc rc = sfr_config_parse(text, "fuzz.json", &cfg, &err);
    if (rc != SFR_OK) {
        FUZZ_ASSERT(cfg == NULL);
        FUZZ_ASSERT(rc == SFR_ECONFIG);
        FUZZ_ASSERT(strncmp(err.msg, "fuzz.json:", 10) == 0);
        free(text);
        return 0;
    }
    FUZZ_ASSERT(cfg != NULL && cfg->schema != NULL && cfg->api_version != NULL);
    for (int i = 0; i < cfg->n_mappings; i++) {
        const struct sfr_mapping *m = &cfg->mappings[i];
        FUZZ_ASSERT(m->object_name != NULL && m->object_name[0] != '\0');
        FUZZ_ASSERT(sfr_config_mapping(cfg, m->object_name) == m);
        for (int j = 0; j < m->n_fields; j++) {
            FUZZ_ASSERT(sfr_mapping_has_field(m, m->fields[j]));
            (void)sfr_config_skip_field(cfg, m->object_name, m->fields[j]);
            FUZZ_ASSERT(sfr_config_tolerance(cfg, m->object_name, m->fields[j]) >= 0.0);
        }
        char path[64];
        snprintf(path, sizeof path, "mappings[%d]", i);
        FUZZ_ASSERT(sfr_config_line(cfg, path) >= 0);
    }
    for (int i = 0; i < cfg->n_tolerances; i++)
        FUZZ_ASSERT(cfg->tolerances[i].abs >= 0.0);
    sfr_config_set_schema(cfg, "other");
    sfr_config_free(cfg);
    free(text);
    return 0;
}
