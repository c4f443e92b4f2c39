/* order.c — dependency order of a repair plan (docs/repair.md).
 *
 * Objects are sorted parents-first by the reference fields of their
 * projections (sfr_schema_order over a shallow schema of just the planned
 * objects). A reference that closes a cycle (a self-lookup such as
 * Account.ParentId, or mutual lookups) is deferred: when the record it points
 * at is one the plan inserts into the mirror, the first pass writes the row
 * without it and the second pass sets it, so foreign keys added by users
 * between mirror tables hold at every statement. Deletes go in reverse order
 * (children first). */
#include <string.h>
#include <strings.h>

#include "sfrecon/repair.h"

/* A reference deferred by the order: object index and projection field index. */
struct dref {
    int obj;
    int field;
};

static int find_obj(const struct sfr_plan *p, const char *name)
{
    for (int i = 0; i < p->n_objects; i++)
        if (strcasecmp(p->objects[i].co->proj->obj->name, name) == 0)
            return i;
    return -1;
}

static int find_field(const struct sfr_projection *pr, const char *name)
{
    for (int i = 0; i < pr->n_fields; i++)
        if (strcasecmp(pr->fields[i]->name, name) == 0)
            return i;
    return -1;
}

/* True when the plan inserts (object, sfid) into the mirror. */
static bool plan_inserts(struct sfr_plan *p, const char *object, const char *sfid)
{
    struct sfr_plan_item *it = sfr_plan_find(p, object, sfid);
    return it != NULL && it->op == SFR_OP_PG_UPSERT && it->before == NULL;
}

static void mark_deferred(struct sfr_plan *p, const struct dref *d, int n_d)
{
    for (int k = 0; k < n_d; k++) {
        struct sfr_plan_object *po = &p->objects[d[k].obj];
        const struct sfr_field *f = po->co->proj->fields[d[k].field];
        for (size_t i = 0; i < po->n; i++) {
            struct sfr_plan_item *it = &po->items[i];
            int fi = d[k].field;
            if ((it->op != SFR_OP_PG_UPSERT && it->op != SFR_OP_PG_UPDATE) || !it->set[fi] ||
                it->after[fi] == NULL)
                continue;
            bool pending = false;
            for (int r = 0; r < f->n_reference_to && !pending; r++)
                pending = plan_inserts(p, f->reference_to[r], it->after[fi]);
            if (!pending)
                continue;
            it->set[fi] = false;
            it->deferred[fi] = true;
            it->has_deferred = true;
        }
    }
}

void sfr_plan_order(struct sfr_plan *p)
{
    int n = p->n_objects;
    if (n == 0)
        return;
    /* A shallow schema: the planned objects with only their projected fields. */
    struct sfr_schema s = {sfr_calloc((size_t)n, sizeof(struct sfr_object)), n};
    for (int i = 0; i < n; i++) {
        const struct sfr_projection *pr = p->objects[i].co->proj;
        s.objects[i] = *pr->obj;
        s.objects[i].n_fields = pr->n_fields;
        s.objects[i].fields = sfr_calloc((size_t)pr->n_fields + 1, sizeof(struct sfr_field));
        for (int f = 0; f < pr->n_fields; f++)
            s.objects[i].fields[f] = *pr->fields[f];
    }
    int *order = sfr_calloc((size_t)n, sizeof(int));
    struct sfr_deferred_ref *def = NULL;
    int n_def = 0;
    sfr_schema_order(&s, order, &def, &n_def);

    /* Deferred references by (object, field index), resolved before reordering. */
    struct dref *d = sfr_calloc((size_t)n_def + 1, sizeof(*d));
    int n_d = 0;
    for (int k = 0; k < n_def; k++) {
        int o = find_obj(p, def[k].object);
        int f = o < 0 ? -1 : find_field(p->objects[o].co->proj, def[k].field);
        if (f >= 0)
            d[n_d++] = (struct dref){o, f};
    }
    mark_deferred(p, d, n_d);

    struct sfr_plan_object *sorted = sfr_calloc((size_t)n, sizeof(*sorted));
    for (int i = 0; i < n; i++) {
        sorted[i] = p->objects[order[i]];
        sorted[i].rank = i;
    }
    sfr_free(p->objects);
    p->objects = sorted;

    for (int i = 0; i < n; i++)
        sfr_free(s.objects[i].fields);
    sfr_free(s.objects);
    sfr_free(order);
    sfr_free(def);
    sfr_free(d);
}

int sfr_plan_delete_index(const struct sfr_plan *p, int i)
{
    return p->n_objects - 1 - i;
}
