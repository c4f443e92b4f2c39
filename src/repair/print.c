/* print.c — a repair plan (and its outcome) as text for people and as JSON
 * for tools and for sfrecon.repair_run.plan.
 *
 * Text shows, per object in dependency order and per record: operation,
 * direction, cause, and the fields written as `before -> after` (long values
 * cut for display; JSON carries them in full). */
#include <stdio.h>
#include <string.h>

#include "sfrecon/repair.h"

#define SHOW_MAX 60

static void show(FILE *out, const char *v)
{
    if (v == NULL) {
        fputs("null", out);
        return;
    }
    size_t n = strlen(v);
    fputc('"', out);
    for (size_t i = 0; i < n && i < SHOW_MAX; i++)
        fputc(v[i] == '\n' ? ' ' : v[i], out);
    fputs(n > SHOW_MAX ? "...\"" : "\"", out);
}

static bool item_shows_field(const struct sfr_plan_item *it, int i)
{
    if (it->set == NULL)
        return false;
    if (it->op == SFR_OP_PG_UPSERT && it->before == NULL)
        return (it->set[i] || it->deferred[i]) && it->after[i] != NULL;
    return it->set[i] || it->deferred[i];
}

/* One line per record after applying: status, operation, key, and why. */
static void print_outcome_item(FILE *out, const struct sfr_plan_item *it)
{
    fprintf(out, "  %-7s %-9s %-6s %s", sfr_item_status_name(it->status),
            sfr_repair_op_name(it->op), sfr_repair_dir_name(it->dir),
            it->sfid[0] ? it->sfid : "(no sfid)");
    if (it->new_sfid[0])
        fprintf(out, " -> %s", it->new_sfid);
    fprintf(out, " [%s]", sfr_cause_name(it->cause));
    if (it->status == SFR_ITEM_FAILED)
        fprintf(out, ": %s%s%s (%s)", it->error_code, it->error_code[0] ? ": " : "", it->message,
                sfr_cause_name(it->fail_cause));
    else if (it->status == SFR_ITEM_SKIPPED && it->note != NULL)
        fprintf(out, ": %s", it->note);
    fputc('\n', out);
}

static void print_item(FILE *out, const struct sfr_plan_object *po, const struct sfr_plan_item *it)
{
    const struct sfr_projection *p = po->co->proj;
    fprintf(out, "  %-9s %-6s %s", sfr_repair_op_name(it->op), sfr_repair_dir_name(it->dir),
            it->sfid[0] ? it->sfid : "(no sfid)");
    if (it->pg_id > 0)
        fprintf(out, " (row %ld)", it->pg_id);
    fprintf(out, " [%s]", sfr_cause_name(it->cause));
    if (it->unresolved)
        fputs(" UNRESOLVED", out);
    fputc('\n', out);
    if (it->note != NULL)
        fprintf(out, "      note: %s\n", it->note);
    if (it->dedupe)
        fputs("      duplicates: rows other than the highest id are deleted\n", out);
    if (it->clear_sync_error)
        fputs("      sync error cleared (_hc_lastop SYNCED, FAILED _trigger_log -> IGNORED)\n",
              out);
    for (int i = 0; i < it->n_values && i < p->n_fields; i++) {
        if (!item_shows_field(it, i))
            continue;
        fprintf(out, "      %s: ", p->fields[i]->name);
        show(out, it->before ? it->before[i] : NULL);
        fputs(" -> ", out);
        show(out, it->after[i]);
        if (it->deferred[i])
            fputs("  (second pass)", out);
        fputc('\n', out);
    }
    if (it->refs != NULL)
        fprintf(out, "      by external Id: %s\n", it->refs);
}

void sfr_plan_print_text(FILE *out, const struct sfr_plan *p, bool outcome)
{
    fprintf(out, "%s: %ld change%s, %ld already in sync, %ld unresolved\n",
            outcome ? "repair" : "repair plan", p->n_changes, p->n_changes == 1 ? "" : "s",
            p->n_in_sync, p->n_unresolved);
    for (int k = 0; k < p->n_objects; k++) {
        const struct sfr_plan_object *po = &p->objects[k];
        if (po->n == 0)
            continue;
        fprintf(out, "\n%s (%zu record%s, policy %s)\n", po->co->proj->obj->name, po->n,
                po->n == 1 ? "" : "s",
                sfr_policy_name(sfr_repair_policy(po->co->map, po->co->cfg)));
        for (size_t i = 0; i < po->n; i++) {
            if (outcome)
                print_outcome_item(out, &po->items[i]);
            else
                print_item(out, po, &po->items[i]);
        }
    }
}

static void json_item(struct sfr_buf *b, const struct sfr_plan_object *po,
                      const struct sfr_plan_item *it, bool outcome)
{
    const struct sfr_projection *p = po->co->proj;
    sfr_buf_puts(b, "{\"sfid\":");
    sfr_buf_json_str(b, it->sfid);
    sfr_buf_printf(b, ",\"pg_id\":%ld,\"op\":\"%s\",\"direction\":\"%s\",\"cause\":\"%s\"",
                   it->pg_id, sfr_repair_op_name(it->op), sfr_repair_dir_name(it->dir),
                   sfr_cause_name(it->cause));
    sfr_buf_printf(b, ",\"unresolved\":%s,\"dedupe\":%s,\"clear_sync_error\":%s,\"pulled\":%s",
                   it->unresolved ? "true" : "false", it->dedupe ? "true" : "false",
                   it->clear_sync_error ? "true" : "false", it->pulled ? "true" : "false");
    sfr_buf_puts(b, ",\"note\":");
    sfr_buf_json_str(b, it->note);
    sfr_buf_puts(b, ",\"fields\":[");
    bool first = true;
    for (int i = 0; i < it->n_values && i < p->n_fields; i++) {
        if (!item_shows_field(it, i))
            continue;
        sfr_buf_puts(b, first ? "{\"name\":" : ",{\"name\":");
        first = false;
        sfr_buf_json_str(b, p->fields[i]->name);
        sfr_buf_puts(b, ",\"before\":");
        sfr_buf_json_str(b, it->before ? it->before[i] : NULL);
        sfr_buf_puts(b, ",\"after\":");
        sfr_buf_json_str(b, it->after[i]);
        sfr_buf_printf(b, ",\"deferred\":%s}", it->deferred[i] ? "true" : "false");
    }
    sfr_buf_putc(b, ']');
    if (it->refs != NULL) { /* nested references: a JSON object, as sent */
        sfr_buf_puts(b, ",\"refs\":");
        sfr_buf_puts(b, it->refs);
    }
    if (outcome) {
        sfr_buf_printf(b, ",\"status\":\"%s\"", sfr_item_status_name(it->status));
        if (it->new_sfid[0]) {
            sfr_buf_puts(b, ",\"new_sfid\":");
            sfr_buf_json_str(b, it->new_sfid);
        }
        if (it->status == SFR_ITEM_FAILED) {
            sfr_buf_puts(b, ",\"error_code\":");
            sfr_buf_json_str(b, it->error_code);
            sfr_buf_puts(b, ",\"message\":");
            sfr_buf_json_str(b, it->message);
            sfr_buf_printf(b, ",\"failure_cause\":\"%s\"", sfr_cause_name(it->fail_cause));
        }
    }
    sfr_buf_putc(b, '}');
}

void sfr_plan_json(struct sfr_buf *b, const struct sfr_plan *p, bool outcome)
{
    sfr_buf_printf(b, "{\"summary\":{\"changes\":%ld,\"in_sync\":%ld,\"unresolved\":%ld}",
                   p->n_changes, p->n_in_sync, p->n_unresolved);
    sfr_buf_puts(b, ",\"objects\":[");
    bool first = true;
    for (int k = 0; k < p->n_objects; k++) {
        const struct sfr_plan_object *po = &p->objects[k];
        if (po->n == 0)
            continue;
        sfr_buf_puts(b, first ? "{\"object\":" : ",{\"object\":");
        first = false;
        sfr_buf_json_str(b, po->co->proj->obj->name);
        sfr_buf_printf(b, ",\"order\":%d,\"policy\":\"%s\",\"items\":[", po->rank,
                       sfr_policy_name(sfr_repair_policy(po->co->map, po->co->cfg)));
        for (size_t i = 0; i < po->n; i++) {
            if (i > 0)
                sfr_buf_putc(b, ',');
            json_item(b, po, &po->items[i], outcome);
        }
        sfr_buf_puts(b, "]}");
    }
    sfr_buf_puts(b, "]}");
}
