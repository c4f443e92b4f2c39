/* classify.c — turns a pair of differing records into a discrepancy with a
 * cause (docs/causes.md). Record-level causes are tried first, in this order:
 * missing_in_pg / missing_in_sf, duplicate, sync_error, conflict, stale; then
 * each differing field is explained (truncation, type_mismatch) and the
 * record gets field_mismatch when any field is left unexplained. */
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

static enum fexp explain_field(const struct sfr_check_object *co, int i, const char *sv,
                               const char *pv, char *why, size_t whyn)
{
    const struct sfr_field *f = co->proj->fields[i];
    char *cs = sfr_canon_text(f, SFR_SRC_SF, sv);
    char *cp = sfr_canon_text(f, SFR_SRC_PG, pv);
    enum fexp r = FEXP_OTHER;
    why[0] = '\0';
    if ((cs == NULL && cp == NULL) || (cs != NULL && cp != NULL && strcmp(cs, cp) == 0)) {
        r = FEXP_EQUAL;
        goto out;
    }
    double a, b;
    /* A mirror value that does not even parse for the field's type (a date
     * column holding a time, "True" in a text column for a boolean, "1,5" for
     * a number) comes from a column type that does not fit the field. */
    if (cp != NULL && strncmp(cp, "\x01raw:", 5) == 0 &&
        (cs == NULL || strncmp(cs, "\x01raw:", 5) != 0)) {
        snprintf(why, whyn, "%s: mirror value '%s' is not a valid %s (column type does not fit)",
                 f->name, pv ? pv : "", sfr_ftype_name(f->type));
        r = FEXP_TYPE;
        goto out;
    }
    switch (f->type) {
    case SFR_FT_ID:
    case SFR_FT_REFERENCE: {
        char w[19];
        if (pv != NULL && sv != NULL && strlen(pv) == 15 && sfr_sfid_to18(pv, 15, w) &&
            strcmp(w, sv) == 0) {
            snprintf(why, whyn, "%s holds the 15-character Id %s of %s", f->name, pv, sv);
            r = FEXP_TYPE;
        }
        break;
    }
    case SFR_FT_DOUBLE:
    case SFR_FT_CURRENCY:
    case SFR_FT_PERCENT:
    case SFR_FT_INT:
    case SFR_FT_LONG:
        if (num_parse(cs, &a) && num_parse(cp, &b)) {
            double tol = co->cfg ? sfr_config_tolerance(co->cfg, co->proj->obj->name, f->name) : 0;
            if (tol > 0 && fabs(a - b) <= tol) {
                r = FEXP_EQUAL;
                break;
            }
            for (int k = 0; k < (f->scale > 0 ? f->scale : 0); k++) {
                double m = pow(10, k);
                if (fabs(round(a * m) / m - b) < 1e-9 * (fabs(a) + 1)) {
                    snprintf(why, whyn, "%s rounded to %d decimals (%s vs %s; field scale %d)",
                             f->name, k, cs, cp, f->scale);
                    r = FEXP_TYPE;
                    break;
                }
            }
        } else if (cs != NULL && cp != NULL) {
            snprintf(why, whyn, "%s: mirror value '%s' is not a number", f->name, pv);
            r = FEXP_TYPE;
        }
        break;
    case SFR_FT_DATETIME: {
        int64_t ta, tb;
        if (sv && pv && sfr_parse_datetime_ms(sv, strlen(sv), &ta) &&
            sfr_parse_datetime_ms(pv, strlen(pv), &tb)) {
            int64_t d = tb - ta;
            if (d != 0 && d % (15 * 60 * 1000) == 0 && llabs(d) <= 14LL * 3600 * 1000) {
                snprintf(why, whyn, "%s shifted by %+.2g h (time zone lost in conversion)", f->name,
                         (double)d / 3600000.0);
                r = FEXP_TYPE;
            } else if (llabs(d) < 1000) {
                snprintf(why, whyn, "%s lost its milliseconds", f->name);
                r = FEXP_TYPE;
            }
        }
        break;
    }
    default:
        break;
    }
    if (r == FEXP_OTHER && sfr_ftype_is_text(f->type) && cs != NULL) {
        size_t ls = strlen(cs), lp = cp ? strlen(cp) : 0;
        int col = co->column_len ? co->column_len[i] : 0;
        if (lp > 0 && lp < ls && strncmp(cs, cp, lp) == 0) {
            if (col > 0)
                snprintf(why, whyn, "%s cut to %zu of %zu characters (column length %d)", f->name,
                         utf8_len(cp ? cp : ""), utf8_len(cs), col);
            else
                snprintf(why, whyn, "%s cut to %zu of %zu characters", f->name,
                         utf8_len(cp ? cp : ""), utf8_len(cs));
            r = FEXP_TRUNC;
        } else if (col > 0 && cp != NULL && (int)utf8_len(cp) == col && (int)utf8_len(cs) > col) {
            snprintf(why, whyn, "%s cut at the column length %d (Salesforce has %zu characters)",
                     f->name, col, utf8_len(cs));
            r = FEXP_TRUNC;
        }
    }
out:
    free(cs);
    free(cp);
    return r;
}

static bool record_level(const struct sfr_check_object *co, const struct sfr_record *sf,
                         const struct sfr_record *pg, struct sfr_discrepancy *d)
{
    bool rw = co->map != NULL && co->map->access == SFR_ACCESS_READ_WRITE;
    if (pg->dup_count > 1) {
        d->cause = SFR_CAUSE_DUPLICATE;
        set_detail(d, "%d mirror rows hold this sfid", pg->dup_count);
        return true;
    }
    bool failed = pg->hc_lastop != NULL && strcmp(pg->hc_lastop, "FAILED") == 0;
    if (failed || (pg->hc_err != NULL && pg->hc_err[0]) || pg->trigger_failed != NULL) {
        const char *msg = pg->trigger_failed              ? pg->trigger_failed
                          : (pg->hc_err && pg->hc_err[0]) ? pg->hc_err
                                                          : "(no message)";
        d->cause = SFR_CAUSE_SYNC_ERROR;
        set_detail(d, "the mirror's last write to Salesforce failed: %s", msg);
        return true;
    }
    bool pending = pg->hc_lastop != NULL && strcmp(pg->hc_lastop, "PENDING") == 0;
    if (pending && rw && sf->mod_ms > pg->mod_ms) {
        d->cause = SFR_CAUSE_CONFLICT;
        set_detail(d, "changed on both sides since the last sync (mirror write pending, "
                      "Salesforce modified later)");
        return true;
    }
    if (pg->mod_ms != INT64_MIN && sf->mod_ms != INT64_MIN && pg->mod_ms < sf->mod_ms) {
        char a[32], b[32];
        sfr_format_datetime_ms(pg->mod_ms, a);
        sfr_format_datetime_ms(sf->mod_ms, b);
        d->cause = SFR_CAUSE_STALE;
        set_detail(d, "the mirror holds an older version (SystemModstamp %s, Salesforce %s)", a, b);
        return true;
    }
    return false;
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
    int n_trunc = 0, n_type = 0, n_other = 0;
    char first_why[512] = "";
    for (int i = 0; i < p->n_fields; i++) {
        char why[512];
        enum fexp e = explain_field(co, i, val(sf, i), val(pg, i), why, sizeof(why));
        if (e == FEXP_EQUAL)
            continue;
        sfr_discrepancy_add_field(d, p->fields[i]->name, val(sf, i), val(pg, i));
        if (e == FEXP_TRUNC)
            n_trunc++;
        else if (e == FEXP_TYPE)
            n_type++;
        else
            n_other++;
        if (first_why[0] == '\0' && why[0] != '\0')
            snprintf(first_why, sizeof(first_why), "%s", why);
    }
    if (record_level(co, sf, pg, d))
        return true;
    if (d->n_fields == 0) {
        sfr_discrepancy_cleanup(d);
        return false;
    }
    if (n_other == 0 && n_trunc > 0) {
        d->cause = SFR_CAUSE_TRUNCATION;
        set_detail(d, "%s", first_why);
    } else if (n_other == 0 && n_type > 0) {
        d->cause = SFR_CAUSE_TYPE_MISMATCH;
        set_detail(d, "%s", first_why);
    } else {
        d->cause = SFR_CAUSE_FIELD_MISMATCH;
        bool pending = pg->hc_lastop != NULL && strcmp(pg->hc_lastop, "PENDING") == 0;
        set_detail(d, "%d field%s differ%s (%s%s)", d->n_fields, d->n_fields == 1 ? "" : "s",
                   d->n_fields == 1 ? "s" : "", d->fields[0].field,
                   pending ? "; a mirror write is pending sync" : ", same SystemModstamp");
    }
    return true;
}
