/* classify.c — turns a pair of differing records into a discrepancy with a
 * cause. Every cause rests on evidence in the two records, never on a guess:
 *  - missing_in_pg / missing_in_sf: one side has no live record;
 *  - duplicate: several mirror rows hold the sfid;
 *  - sync_error: the row's current _hc_lastop, or its latest trigger-log
 *    entry, is FAILED (an old failure followed by a success is history);
 *  - conflict: sfr_conflict_judge() (the rule the sync daemon uses too);
 *  - type_mismatch before stale: a SystemModstamp shifted by a whole number
 *    of quarter-hours while every other difference is representation only
 *    is a time-zone mistake, not an older version;
 *  - stale: the mirror's SystemModstamp is older;
 *  - formula_stale: only calculated fields differ and the modstamps agree
 *    (a formula's inputs changed elsewhere; no poller sees it);
 *  - per field: truncation only when the shorter value fills the column's
 *    or the field's length, or STRING_TOO_LONG is on record for the row;
 *    type_mismatch for representation; field_mismatch for anything else. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfrecon/check.h"
#include "sfrecon/sfid.h"

static const char *val(const struct sfr_record *r, int i)
{
    return (r != NULL && i < r->n_values) ? r->values[i] : NULL;
}

static bool is_deleted_sf(const struct sfr_check_object *co, const struct sfr_record *sf)
{
    int i = co->proj->idx_isdeleted;
    if (i < 0 || sf == NULL)
        return false;
    const char *v = val(sf, i);
    return v != NULL && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

static void set_detail(struct sfr_discrepancy *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_detail(struct sfr_discrepancy *d, const char *fmt, ...)
{
    struct sfr_buf b = SFR_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    sfr_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    free(d->detail);
    d->detail = sfr_buf_steal(&b);
}

static size_t utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

/* Field-level explanations. */
enum fexp { FEXP_EQUAL, FEXP_TRUNC, FEXP_TYPE, FEXP_OTHER };

static bool num_parse(const char *s, double *out)
{
    if (s == NULL || *s == '\0')
        return false;
    char *end;
    *out = strtod(s, &end);
    return *end == '\0';
}

static bool too_long_on_record(const struct sfr_record *pg)
{
    return pg != NULL &&
           ((pg->hc_err != NULL && strstr(pg->hc_err, "STRING_TOO_LONG") != NULL) ||
            (pg->trigger_failed != NULL && strstr(pg->trigger_failed, "STRING_TOO_LONG") != NULL));
}

/* A mirror text that is a strict prefix of Salesforce's is a truncation only
 * with evidence of a cut: it fills the column (varchar(n)) or the field's
 * length, or Salesforce refused the value with STRING_TOO_LONG. "Acme" for
 * "Acme Corporation" in a varchar(255) is an edit, not a cut. */
static enum fexp explain_cut(const struct sfr_check_object *co, int i, const char *cs,
                             const char *cp, const struct sfr_record *pg, char *why, size_t whyn)
{
    const struct sfr_field *f = co->proj->fields[i];
    size_t ls = strlen(cs), lp = strlen(cp);
    if (lp == 0 || lp >= ls || strncmp(cs, cp, lp) != 0)
        return FEXP_OTHER;
    int col = co->column_len ? co->column_len[i] : 0;
    int n = (int)utf8_len(cp);
    if (col > 0 && n >= col)
        snprintf(why, whyn, "%s cut at the column length %d (Salesforce has %zu characters)",
                 f->name, col, utf8_len(cs));
    else if (f->length > 0 && n >= f->length)
        snprintf(why, whyn, "%s cut at the field length %d (Salesforce has %zu characters)",
                 f->name, f->length, utf8_len(cs));
    else if (too_long_on_record(pg))
        snprintf(why, whyn, "%s cut to %d of %zu characters (STRING_TOO_LONG on record)", f->name,
                 n, utf8_len(cs));
    else
        return FEXP_OTHER;
    return FEXP_TRUNC;
}

/* Whole quarter-hours up to 14 h: the offsets time zones use. */
static bool zone_shift(int64_t d)
{
    return d != 0 && d % (15 * 60 * 1000) == 0 && llabs(d) <= 14LL * 3600 * 1000;
}

/* A mirror value that does not even parse for the field's type (a date
 * column holding a time, "True" in a text column for a boolean, "1,5" for
 * a number) comes from a column type that does not fit the field. */
static enum fexp explain_unparsable(const struct sfr_field *f, const char *cs, const char *cp,
                                    const char *pv, char *why, size_t whyn)
{
    if (cp == NULL || strncmp(cp, "\x01raw:", 5) != 0 ||
        (cs != NULL && strncmp(cs, "\x01raw:", 5) == 0))
        return FEXP_OTHER;
    snprintf(why, whyn, "%s: mirror value '%s' is not a valid %s (column type does not fit)",
             f->name, pv ? pv : "", sfr_ftype_name(f->type));
    return FEXP_TYPE;
}

/* The mirror holds the 15-character form of the Salesforce Id. */
static enum fexp explain_id(const struct sfr_field *f, const char *sv, const char *pv, char *why,
                            size_t whyn)
{
    char w[19];
    if (pv != NULL && sv != NULL && strlen(pv) == 15 && sfr_sfid_to18(pv, 15, w) &&
        strcmp(w, sv) == 0) {
        snprintf(why, whyn, "%s holds the 15-character Id %s of %s", f->name, pv, sv);
        return FEXP_TYPE;
    }
    return FEXP_OTHER;
}

/* Numbers within the mapping's tolerance are equal; a mirror value that is
 * the Salesforce one rounded to fewer decimals, or no number at all, is a
 * type mismatch. */
static enum fexp explain_number(const struct sfr_check_object *co, const struct sfr_field *f,
                                const char *cs, const char *cp, const char *pv, char *why,
                                size_t whyn)
{
    double a, b;
    if (num_parse(cs, &a) && num_parse(cp, &b)) {
        double tol = co->cfg ? sfr_config_tolerance(co->cfg, co->proj->obj->name, f->name) : 0;
        if (tol > 0 && fabs(a - b) <= tol)
            return FEXP_EQUAL;
        for (int k = 0; k < (f->scale > 0 ? f->scale : 0); k++) {
            double m = pow(10, k);
            if (fabs(round(a * m) / m - b) < 1e-9 * (fabs(a) + 1)) {
                snprintf(why, whyn, "%s rounded to %d decimals (%s vs %s; field scale %d)", f->name,
                         k, cs, cp, f->scale);
                return FEXP_TYPE;
            }
        }
    } else if (cs != NULL && cp != NULL) {
        snprintf(why, whyn, "%s: mirror value '%s' is not a number", f->name, pv);
        return FEXP_TYPE;
    }
    return FEXP_OTHER;
}

/* A datetime shifted by a time zone's offset, or by less than a second. */
static enum fexp explain_datetime(const struct sfr_field *f, const char *sv, const char *pv,
                                  char *why, size_t whyn)
{
    int64_t ta, tb;
    if (!sv || !pv || !sfr_parse_datetime_ms(sv, strlen(sv), &ta) ||
        !sfr_parse_datetime_ms(pv, strlen(pv), &tb))
        return FEXP_OTHER;
    int64_t d = tb - ta;
    if (zone_shift(d)) {
        snprintf(why, whyn, "%s shifted by %+.2g h (time zone lost in conversion)", f->name,
                 (double)d / 3600000.0);
        return FEXP_TYPE;
    }
    if (llabs(d) < 1000) {
        snprintf(why, whyn, "%s lost its milliseconds", f->name);
        return FEXP_TYPE;
    }
    return FEXP_OTHER;
}

static enum fexp explain_by_type(const struct sfr_check_object *co, const struct sfr_field *f,
                                 const char *sv, const char *pv, const char *cs, const char *cp,
                                 char *why, size_t whyn)
{
    switch (f->type) {
    case SFR_FT_ID:
    case SFR_FT_REFERENCE:
        return explain_id(f, sv, pv, why, whyn);
    case SFR_FT_DOUBLE:
    case SFR_FT_CURRENCY:
    case SFR_FT_PERCENT:
    case SFR_FT_INT:
    case SFR_FT_LONG:
        return explain_number(co, f, cs, cp, pv, why, whyn);
    case SFR_FT_DATETIME:
        return explain_datetime(f, sv, pv, why, whyn);
    default:
        return FEXP_OTHER;
    }
}

/* Why field i differs (sv, pv: the raw values): equal once canonical or
 * within tolerance, a type mismatch, a cut (explain_cut), or unexplained.
 * why gets the explanation ("" when none). */
static enum fexp explain_field(const struct sfr_check_object *co, int i, const char *sv,
                               const char *pv, const struct sfr_record *pg, char *why, size_t whyn)
{
    const struct sfr_field *f = co->proj->fields[i];
    char *cs = sfr_canon_text(f, SFR_SRC_SF, sv);
    char *cp = sfr_canon_text(f, SFR_SRC_PG, pv);
    enum fexp r;
    why[0] = '\0';
    if ((cs == NULL && cp == NULL) || (cs != NULL && cp != NULL && strcmp(cs, cp) == 0)) {
        r = FEXP_EQUAL;
    } else if ((r = explain_unparsable(f, cs, cp, pv, why, whyn)) == FEXP_OTHER) {
        r = explain_by_type(co, f, sv, pv, cs, cp, why, whyn);
        if (r == FEXP_OTHER && sfr_ftype_is_text(f->type) && cs != NULL && cp != NULL)
            r = explain_cut(co, i, cs, cp, pg, why, whyn);
    }
    free(cs);
    free(cp);
    return r;
}

static bool is_lastop(const struct sfr_record *pg, const char *op)
{
    return pg->hc_lastop != NULL && strcmp(pg->hc_lastop, op) == 0;
}

/* duplicate, sync_error, conflict: causes read off the mirror row's state. */
static bool row_state(const struct sfr_check_object *co, const struct sfr_record *sf,
                      const struct sfr_record *pg, int n_trunc, struct sfr_discrepancy *d)
{
    bool rw = co->map != NULL && co->map->access == SFR_ACCESS_READ_WRITE;
    if (pg->dup_count > 1) {
        d->cause = SFR_CAUSE_DUPLICATE;
        set_detail(d, "%d mirror rows hold this sfid", pg->dup_count);
        return true;
    }
    /* a write refused as STRING_TOO_LONG with the text cut is the more precise truncation */
    if ((is_lastop(pg, "FAILED") || pg->trigger_failed != NULL) &&
        !(n_trunc > 0 && too_long_on_record(pg))) {
        const char *msg = pg->trigger_failed && pg->trigger_failed[0] ? pg->trigger_failed
                          : (pg->hc_err && pg->hc_err[0])             ? pg->hc_err
                                                                      : "(no message)";
        d->cause = SFR_CAUSE_SYNC_ERROR;
        set_detail(d, "the mirror's last write to Salesforce failed (%s): %s",
                   is_lastop(pg, "FAILED") ? "_hc_lastop FAILED"
                                           : "latest _trigger_log entry FAILED",
                   msg);
        return true;
    }
    if (rw && sfr_conflict_judge(is_lastop(pg, "PENDING"), pg->has_tlog ? pg->queued_ms : INT64_MIN,
                                 sf->mod_ms, pg->mod_ms) == SFR_CONFLICT_BOTH) {
        d->cause = SFR_CAUSE_CONFLICT;
        set_detail(d,
                   "changed on both sides since the last sync (an app's write is pending and "
                   "Salesforce modified the record %s)",
                   pg->has_tlog && pg->queued_ms != INT64_MIN ? "at or after it was queued"
                                                              : "after the mirror's version");
        return true;
    }
    return false;
}

static void set_stale(const struct sfr_record *sf, const struct sfr_record *pg,
                      struct sfr_discrepancy *d)
{
    char a[32], b[32];
    sfr_format_datetime_ms(pg->mod_ms, a);
    sfr_format_datetime_ms(sf->mod_ms, b);
    d->cause = SFR_CAUSE_STALE;
    set_detail(d, "the mirror holds an older version (SystemModstamp %s, Salesforce %s)%s", a, b,
               is_lastop(pg, "PENDING") ? "; an app's write is pending" : "");
}

static const char *first_formula(const struct sfr_check_object *co, const struct sfr_discrepancy *d)
{
    for (int k = 0; k < d->n_fields; k++) {
        const struct sfr_field *f = sfr_object_field(co->proj->obj, d->fields[k].field);
        if (f != NULL && f->calculated)
            return f->name;
    }
    return d->n_fields > 0 ? d->fields[0].field : "?";
}

bool sfr_classify(const struct sfr_check_object *co, const struct sfr_record *sf,
                  const struct sfr_record *pg, struct sfr_discrepancy *d)
{
    const struct sfr_projection *p = co->proj;
    memset(d, 0, sizeof(*d));
    d->sf_mod_ms = sf ? sf->mod_ms : INT64_MIN;
    d->pg_mod_ms = pg ? pg->mod_ms : INT64_MIN;
    d->pg_id = pg ? pg->pg_id : 0;
    if (sf != NULL && is_deleted_sf(co, sf))
        sf = NULL;
    if (sf == NULL && pg == NULL)
        return false;
    d->object = sfr_strdup(p->obj->name);
    d->sfid = sfr_strdup(sf != NULL ? sf->sfid : pg != NULL ? pg->sfid : "");
    if (pg == NULL) {
        d->cause = SFR_CAUSE_MISSING_IN_PG;
        set_detail(d, "live in Salesforce, absent from the mirror table %s", p->obj->table);
        return true;
    }
    if (sf == NULL) {
        d->cause = SFR_CAUSE_MISSING_IN_SF;
        set_detail(d,
                   "mirror row id %ld has no live Salesforce record (deleted or never "
                   "created)",
                   pg->pg_id);
        return true;
    }
    /* Collect the differing fields with their explanations. */
    int n_trunc = 0, n_type = 0, n_other = 0, n_formula = 0;
    char first_why[512] = "";
    for (int i = 0; i < p->n_fields; i++) {
        char why[512];
        enum fexp e = explain_field(co, i, val(sf, i), val(pg, i), pg, why, sizeof(why));
        if (e == FEXP_EQUAL)
            continue;
        sfr_discrepancy_add_field(d, p->fields[i]->name, val(sf, i), val(pg, i));
        if (e == FEXP_TRUNC)
            n_trunc++;
        else if (e == FEXP_TYPE)
            n_type++;
        else if (p->fields[i]->calculated)
            n_formula++;
        else
            n_other++;
        if (first_why[0] == '\0' && why[0] != '\0')
            snprintf(first_why, sizeof(first_why), "%s", why);
    }
    if (row_state(co, sf, pg, n_trunc, d))
        return true;
    if (d->n_fields == 0) {
        sfr_discrepancy_cleanup(d);
        return false;
    }
    bool known = pg->mod_ms != INT64_MIN && sf->mod_ms != INT64_MIN;
    /* A modstamp moved by a time-zone offset with nothing but representation
     * differing is a conversion mistake, whichever way it points. */
    if (known && zone_shift(pg->mod_ms - sf->mod_ms) && n_other == 0 && n_formula == 0 &&
        n_trunc == 0) {
        d->cause = SFR_CAUSE_TYPE_MISMATCH;
        set_detail(d,
                   "SystemModstamp shifted by %+.2g h, values otherwise equal (time zone lost "
                   "in conversion)",
                   (double)(pg->mod_ms - sf->mod_ms) / 3600000.0);
        return true;
    }
    if (known && pg->mod_ms < sf->mod_ms) {
        set_stale(sf, pg, d);
        return true;
    }
    if (n_other == 0 && n_formula > 0 && known && pg->mod_ms == sf->mod_ms) {
        d->cause = SFR_CAUSE_FORMULA_STALE;
        set_detail(d,
                   "formula field %s changed in Salesforce without SystemModstamp moving (its "
                   "inputs changed elsewhere; pollers keep the old value)",
                   first_formula(co, d));
        return true;
    }
    n_other += n_formula;
    if (n_other == 0 && n_trunc > 0) {
        d->cause = SFR_CAUSE_TRUNCATION;
        set_detail(d, "%s", first_why);
    } else if (n_other == 0 && n_type > 0) {
        d->cause = SFR_CAUSE_TYPE_MISMATCH;
        set_detail(d, "%s", first_why);
    } else {
        d->cause = SFR_CAUSE_FIELD_MISMATCH;
        set_detail(d, "%d field%s differ%s (%s%s)", d->n_fields, d->n_fields == 1 ? "" : "s",
                   d->n_fields == 1 ? "s" : "", d->fields[0].field,
                   is_lastop(pg, "PENDING") ? "; a mirror write is pending sync"
                                            : ", same SystemModstamp");
    }
    return true;
}
