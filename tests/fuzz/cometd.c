/* cometd.c — fuzz target for the sync daemon's change-event parser
 * (src/sf/cometd.c, sfr_cdc_parse and the accessors the daemon calls on a
 * parsed event). Properties: a refused message leaves an empty message and
 * names why; an accepted one has its counts and arrays in agreement, every
 * field it carries is found again by name, and the strings it holds are
 * NUL-terminated within their fixed sizes. */
#include "fuzz.h"
#include "sfrecon/cometd.h"

static void check_event(const struct sfr_cdc_msg *m)
{
    FUZZ_ASSERT(m->n_ids >= 0 && (m->n_ids == 0 || m->record_ids != NULL));
    FUZZ_ASSERT(m->n_changed >= 0 && (m->n_changed == 0 || m->changed != NULL));
    FUZZ_ASSERT(m->n_nulled >= 0 && (m->n_nulled == 0 || m->nulled != NULL));
    FUZZ_ASSERT(m->n_values >= 0 && (m->n_values == 0 || (m->names && m->values)));
    FUZZ_ASSERT(memchr(m->change_type, '\0', sizeof(m->change_type)) != NULL);
    FUZZ_ASSERT(memchr(m->entity, '\0', sizeof(m->entity)) != NULL);
    FUZZ_ASSERT(memchr(m->origin, '\0', sizeof(m->origin)) != NULL);
    FUZZ_ASSERT(memchr(m->commit_user, '\0', sizeof(m->commit_user)) != NULL);
    for (int i = 0; i < m->n_ids; i++)
        FUZZ_ASSERT(m->record_ids[i] != NULL);
    for (int i = 0; i < m->n_values; i++) {
        const char *v = NULL;
        FUZZ_ASSERT(m->names[i] != NULL);
        FUZZ_ASSERT(sfr_cdc_value(m, m->names[i], &v));
    }
    for (int i = 0; i < m->n_changed; i++) {
        FUZZ_ASSERT(m->changed[i] != NULL);
        (void)sfr_cdc_changed(m, m->changed[i]);
    }
    (void)sfr_cdc_origin_is(m->origin, "sfrecon-sync");
    if (m->entity[0] != '\0') {
        char *ch = sfr_cdc_channel(m->entity);
        FUZZ_ASSERT(ch != NULL && strncmp(ch, "/data/", 6) == 0);
        free(ch);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size);
    struct sfr_cdc_msg m;
    struct sfr_err err = {0};
    memset(&m, 0, sizeof(m));
    if (sfr_cdc_parse(text, &m, &err) != SFR_OK) {
        FUZZ_ASSERT(m.n_ids == 0 && m.record_ids == NULL && m.n_values == 0);
        FUZZ_ASSERT(err.msg[0] != '\0');
    } else {
        check_event(&m);
    }
    sfr_cdc_msg_free(&m);
    free(text);
    return 0;
}
