/* history.c — audit runs, discrepancies and chunk states stored in schema
 * sfrecon (created by migrate.c), and the mirror query of --since (keys
 * changed since a time). All values are parameters; all identifiers are
 * quoted. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfrecon/canon.h"
#include "sfrecon/history.h"
#include "sfrecon/pg.h"

json_object *sfr_report_json(const struct sfr_run *run, bool with_discrepancies);

enum sfr_rc sfr_history_begin(PGconn *c, struct sfr_run *run, const char *mapping,
                              struct sfr_err *err)
{
    const char *params[5] = {run->depth, mapping, run->organization_id, run->app_name,
                             run->mirror_schema};
    PGresult *r;
    enum sfr_rc rc =
        sfr_pg_query(c,
                     "INSERT INTO sfrecon.audit_run (depth, mapping, organization_id, "
                     "app_name, mirror_schema, mirror_database) "
                     "VALUES ($1, $2, nullif($3, ''), nullif($4, ''), nullif($5, ''), "
                     "current_database()) "
                     "RETURNING id, to_char(started_at AT TIME ZONE 'UTC', "
                     "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), current_database()",
                     5, params, &r, err, "recording the audit run in sfrecon.audit_run");
    if (rc != SFR_OK)
        return rc;
    run->id = atol(PQgetvalue(r, 0, 0));
    snprintf(run->started_at, sizeof(run->started_at), "%s", PQgetvalue(r, 0, 1));
    snprintf(run->mirror_database, sizeof(run->mirror_database), "%s", PQgetvalue(r, 0, 2));
    PQclear(r);
    return sfr_history_lock_run(c, run->id, err);
}

/* Appends v to a COPY text-format row (\N for NULL; \, tab, newline, CR escaped). */
static void copy_field(struct sfr_buf *b, const char *v, bool last)
{
    sfr_pg_copy_escape(b, v);
    sfr_buf_putc(b, last ? '\n' : '\t');
}

static void disc_row(struct sfr_buf *b, long run_id, const struct sfr_discrepancy *d)
{
    struct sfr_buf f = SFR_BUF_INIT;
    sfr_buf_putc(&f, '[');
    for (int k = 0; k < d->n_fields; k++) {
        sfr_buf_puts(&f, k ? ",{\"name\":" : "{\"name\":");
        sfr_buf_json_str(&f, d->fields[k].field);
        sfr_buf_puts(&f, ",\"sf\":");
        sfr_buf_json_str(&f, d->fields[k].sf_value);
        sfr_buf_puts(&f, ",\"pg\":");
        sfr_buf_json_str(&f, d->fields[k].pg_value);
        sfr_buf_putc(&f, '}');
    }
    sfr_buf_putc(&f, ']');
    char id[32], pgid[32], sfm[32], pgm[32];
    snprintf(id, sizeof(id), "%ld", run_id);
    snprintf(pgid, sizeof(pgid), "%ld", d->pg_id);
    if (d->sf_mod_ms != INT64_MIN)
        sfr_format_datetime_pg(d->sf_mod_ms, sfm);
    if (d->pg_mod_ms != INT64_MIN)
        sfr_format_datetime_pg(d->pg_mod_ms, pgm);
    copy_field(b, id, false);
    copy_field(b, d->object, false);
    copy_field(b, d->sfid, false);
    copy_field(b, sfr_cause_name(d->cause), false);
    copy_field(b, f.data, false);
    copy_field(b, d->detail ? d->detail : "", false);
    copy_field(b, d->parent_object, false);
    copy_field(b, d->parent_sfid, false);
    copy_field(b, d->pg_id ? pgid : NULL, false);
    copy_field(b, d->sf_mod_ms != INT64_MIN ? sfm : NULL, false);
    copy_field(b, d->pg_mod_ms != INT64_MIN ? pgm : NULL, true);
    sfr_buf_cleanup(&f);
}

/* Stores the run's discrepancies with one COPY (rows sent in ~1 MB pieces). */
static enum sfr_rc store_discs(PGconn *c, const struct sfr_run *run, struct sfr_err *err)
{
    if (sfr_disc_list_count(&run->discs) == 0)
        return SFR_OK;
    enum sfr_rc rc =
        sfr_pg_copy_in_begin(c,
                             "COPY sfrecon.discrepancy (run_id, object, sfid, cause, fields, "
                             "detail, parent_object, parent_sfid, pg_id, sf_modstamp, pg_modstamp) "
                             "FROM STDIN",
                             err, "storing discrepancies in sfrecon.discrepancy");
    if (rc != SFR_OK)
        return rc;
    struct sfr_buf b = SFR_BUF_INIT;
    enum sfr_rc sent = SFR_OK;
    struct sfr_disc_iter it;
    sfr_disc_iter_begin(&it, &run->discs, 0);
    const struct sfr_discrepancy *d;
    while (sent == SFR_OK && (d = sfr_disc_iter_next(&it)) != NULL) {
        disc_row(&b, run->id, d);
        if (b.len >= (1u << 20)) {
            sent = sfr_pg_copy_in_put(c, b.data, b.len);
            sfr_buf_reset(&b);
        }
    }
    if (sent == SFR_OK && b.len > 0)
        sent = sfr_pg_copy_in_put(c, b.data, b.len);
    if (it.err && sent == SFR_OK)
        sent = sfr_err_set(err, SFR_EIO,
                           "discrepancies spilled to a temporary file could not be read back");
    sfr_disc_iter_end(&it);
    sfr_buf_cleanup(&b);
    return sfr_pg_copy_in_end(c, sent, err, "storing discrepancies in sfrecon.discrepancy");
}

enum sfr_rc sfr_history_finish(PGconn *c, const struct sfr_run *run, struct sfr_err *err)
{
    enum sfr_rc rc = sfr_pg_query(c, "BEGIN", 0, NULL, NULL, err, "BEGIN");
    if (rc == SFR_OK)
        rc = store_discs(c, run, err);
    if (rc == SFR_OK) {
        json_object *j = sfr_report_json(run, false);
        json_object *summary = NULL, *runo = NULL, *nc = NULL;
        json_object_object_get_ex(j, "summary", &summary);
        json_object_object_get_ex(j, "run", &runo);
        json_object_object_get_ex(runo, "not_covered", &nc);
        char id[32], calls[32], n[32];
        snprintf(id, sizeof(id), "%ld", run->id);
        snprintf(calls, sizeof(calls), "%ld", run->api_calls);
        snprintf(n, sizeof(n), "%zu", sfr_disc_list_count(&run->discs));
        long rows = 0;
        for (int i = 0; i < run->n_objects; i++)
            rows += run->objects[i].rows_sf;
        char rows_s[32];
        snprintf(rows_s, sizeof(rows_s), "%ld", rows);
        struct sfr_buf objs = SFR_BUF_INIT;
        sfr_buf_putc(&objs, '{');
        for (int i = 0; i < run->n_objects; i++)
            sfr_buf_printf(&objs, "%s\"%s\"", i ? "," : "", run->objects[i].object);
        sfr_buf_putc(&objs, '}');
        const char *p[7] = {id,
                            run->status,
                            calls,
                            n,
                            json_object_to_json_string_ext(summary, JSON_C_TO_STRING_PLAIN),
                            json_object_to_json_string_ext(nc, JSON_C_TO_STRING_PLAIN),
                            rows_s};
        const char *p8[8] = {p[0], p[1], p[2], p[3], p[4], p[5], p[6], objs.data};
        rc = sfr_pg_query(
            c,
            "UPDATE sfrecon.audit_run SET finished_at = now(), status = $2, api_calls = $3, "
            "n_discrepancies = $4, summary = $5::jsonb, not_covered = $6::jsonb, "
            "rows_compared = $7, objects = $8::text[] WHERE id = $1",
            8, p8, NULL, err, "finishing the audit run in sfrecon.audit_run");
        sfr_buf_cleanup(&objs);
        json_object_put(j);
    }
    rc = sfr_pg_query(c, rc == SFR_OK ? "COMMIT" : "ROLLBACK", 0, NULL, NULL,
                      rc == SFR_OK ? err : NULL, "COMMIT") == SFR_OK
             ? rc
             : SFR_EPG;
    return rc;
}

static enum sfr_rc load_summary(const char *js, struct sfr_run *run)
{
    json_object *a = json_tokener_parse(js ? js : "[]");
    if (a == NULL || !json_object_is_type(a, json_type_array)) {
        json_object_put(a);
        return SFR_OK;
    }
    run->n_objects = (int)json_object_array_length(a);
    run->objects = sfr_calloc((size_t)run->n_objects, sizeof(*run->objects));
    for (int i = 0; i < run->n_objects; i++) {
        json_object *o = json_object_array_get_idx(a, (size_t)i), *v;
        struct sfr_object_summary *s = &run->objects[i];
        s->object = sfr_strdup(
            json_object_object_get_ex(o, "object", &v) ? json_object_get_string(v) : "?");
        if (json_object_object_get_ex(o, "rows_sf", &v))
            s->rows_sf = (long)json_object_get_int64(v);
        if (json_object_object_get_ex(o, "rows_pg", &v))
            s->rows_pg = (long)json_object_get_int64(v);
        if (json_object_object_get_ex(o, "api_calls", &v))
            s->api_calls = (long)json_object_get_int64(v);
        if (json_object_object_get_ex(o, "seconds", &v))
            s->seconds = json_object_get_double(v);
        if (json_object_object_get_ex(o, "changed_during_audit", &v))
            s->changed_during = (long)json_object_get_int64(v);
        if (json_object_object_get_ex(o, "in_flight", &v))
            s->in_flight = (long)json_object_get_int64(v);
        s->complete = !json_object_object_get_ex(o, "complete", &v) || json_object_get_boolean(v);
        json_object *bc;
        if (json_object_object_get_ex(o, "by_cause", &bc))
            for (int c = 0; c < SFR_CAUSE_N; c++)
                if (json_object_object_get_ex(bc, sfr_cause_name((enum sfr_cause)c), &v))
                    s->by_cause[c] = (long)json_object_get_int64(v);
    }
    json_object_put(a);
    return SFR_OK;
}

static void load_fields(struct sfr_discrepancy *d, const char *js)
{
    json_object *a = json_tokener_parse(js);
    for (size_t i = 0;
         a && json_object_is_type(a, json_type_array) && i < json_object_array_length(a); i++) {
        json_object *f = json_object_array_get_idx(a, i), *n = NULL, *s = NULL, *p = NULL;
        json_object_object_get_ex(f, "name", &n);
        json_object_object_get_ex(f, "sf", &s);
        json_object_object_get_ex(f, "pg", &p);
        if (n != NULL)
            sfr_discrepancy_add_field(d, json_object_get_string(n),
                                      s ? json_object_get_string(s) : NULL,
                                      p ? json_object_get_string(p) : NULL);
    }
    json_object_put(a);
}

void sfr_history_disc_from_row(PGresult *r, int i, int col, struct sfr_discrepancy *d)
{
    memset(d, 0, sizeof(*d));
    d->object = sfr_strdup(PQgetvalue(r, i, col));
    d->sfid = sfr_strdup(PQgetvalue(r, i, col + 1));
    if (!sfr_cause_parse(PQgetvalue(r, i, col + 2), &d->cause))
        d->cause = SFR_CAUSE_FIELD_MISMATCH;
    load_fields(d, PQgetvalue(r, i, col + 3));
    d->detail = sfr_strdup(PQgetvalue(r, i, col + 4));
    d->parent_object = PQgetisnull(r, i, col + 5) ? NULL : sfr_strdup(PQgetvalue(r, i, col + 5));
    d->parent_sfid = PQgetisnull(r, i, col + 6) ? NULL : sfr_strdup(PQgetvalue(r, i, col + 6));
    d->pg_id = atol(PQgetvalue(r, i, col + 7));
    d->sf_mod_ms = d->pg_mod_ms = INT64_MIN;
}

enum sfr_rc sfr_history_load(PGconn *c, long id, struct sfr_run *run, struct sfr_err *err)
{
    memset(run, 0, sizeof(*run));
    char ids[32];
    snprintf(ids, sizeof(ids), "%ld", id);
    const char *p[1] = {ids};
    PGresult *r;
    enum sfr_rc rc = sfr_pg_query_one(
        c,
        "SELECT id, to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
        "coalesce(to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),''), "
        "status, coalesce(depth,''), api_calls, coalesce(summary::text,'[]'), "
        "coalesce(not_covered::text,'[]'), coalesce(mapping,''), coalesce(organization_id,''), "
        "coalesce(app_name,''), coalesce(mirror_schema,''), coalesce(mirror_database,'') "
        "FROM sfrecon.audit_run "
        "WHERE ($1::bigint <= 0 OR id = $1::bigint) ORDER BY id DESC LIMIT 1",
        1, p, &r, err, "reading sfrecon.audit_run");
    if (rc == SFR_ENOTFOUND)
        return id > 0 ? sfr_err_set(err, SFR_ENOTFOUND, "audit run %ld not found", id)
                      : sfr_err_set(err, SFR_ENOTFOUND, "no audit run stored yet");
    if (rc != SFR_OK)
        return rc;
    sfr_history_run_from_row(r, 7, run);
    load_summary(PQgetvalue(r, 0, 6), run);
    snprintf(run->mapping, sizeof(run->mapping), "%s", PQgetvalue(r, 0, 8));
    snprintf(run->organization_id, sizeof(run->organization_id), "%s", PQgetvalue(r, 0, 9));
    snprintf(run->app_name, sizeof(run->app_name), "%s", PQgetvalue(r, 0, 10));
    snprintf(run->mirror_schema, sizeof(run->mirror_schema), "%s", PQgetvalue(r, 0, 11));
    snprintf(run->mirror_database, sizeof(run->mirror_database), "%s", PQgetvalue(r, 0, 12));
    PQclear(r);
    /* a run left 'running' by a process that died holds no lock */
    if (strcmp(run->status, "running") == 0 && !sfr_history_run_alive(c, run->id))
        snprintf(run->status, sizeof(run->status), "abandoned");
    if (strcmp(run->status, "clean") != 0 && strcmp(run->status, "discrepancies") != 0)
        run->complete = false;
    snprintf(ids, sizeof(ids), "%ld", run->id);
    rc = sfr_pg_query(c,
                      "SELECT object, sfid, cause, fields::text, detail, parent_object, "
                      "parent_sfid, coalesce(pg_id, 0), "
                      "CASE WHEN open_since < run_id THEN open_since ELSE 0 END "
                      "FROM sfrecon.discrepancy WHERE run_id = $1 ORDER BY id",
                      1, p, &r, err, "reading sfrecon.discrepancy");
    if (rc != SFR_OK)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct sfr_discrepancy d;
        sfr_history_disc_from_row(r, i, 0, &d);
        d.open_since = PQgetisnull(r, i, 8) ? 0 : atol(PQgetvalue(r, i, 8));
        sfr_disc_list_push(&run->discs, &d);
    }
    PQclear(r);
    return SFR_OK;
}

static int64_t ms_or_min(PGresult *r, int i, int col)
{
    int64_t ms;
    if (PQgetisnull(r, i, col))
        return INT64_MIN;
    const char *v = PQgetvalue(r, i, col);
    return sfr_parse_datetime_ms(v, strlen(v), &ms) ? ms : INT64_MIN;
}

enum sfr_rc sfr_history_get_chunks(PGconn *c, const char *object, struct sfr_chunk_list *out,
                                   struct sfr_err *err)
{
    const char *p[1] = {object};
    PGresult *r;
    enum sfr_rc rc = sfr_pg_query(c,
                                  "SELECT lo, hi, sf_count, pg_count, sf_max_mod, pg_max_mod, "
                                  "clean, content_sum "
                                  "FROM sfrecon.chunk_digest WHERE object = $1 "
                                  "ORDER BY lo COLLATE \"C\"",
                                  1, p, &r, err, "reading sfrecon.chunk_digest");
    if (rc != SFR_OK)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        const char *lo = PQgetvalue(r, i, 0);
        struct sfr_chunk_state *s = sfr_chunk_list_push(
            out, *lo ? lo : NULL, PQgetisnull(r, i, 1) ? NULL : PQgetvalue(r, i, 1),
            atol(PQgetvalue(r, i, 2)), atol(PQgetvalue(r, i, 3)), ms_or_min(r, i, 4),
            ms_or_min(r, i, 5));
        s->clean = strcmp(PQgetvalue(r, i, 6), "t") == 0;
        s->has_sum = !PQgetisnull(r, i, 7);
        s->pg_sum = s->has_sum ? strtoull(PQgetvalue(r, i, 7), NULL, 10) : 0;
    }
    PQclear(r);
    return SFR_OK;
}

enum sfr_rc sfr_history_put_chunks(PGconn *c, const char *object, long run_id,
                                   const struct sfr_chunk_list *chunks, struct sfr_err *err)
{
    enum sfr_rc rc = sfr_pg_query(c, "BEGIN", 0, NULL, NULL, err, "BEGIN");
    const char *p0[1] = {object};
    if (rc == SFR_OK)
        rc = sfr_pg_query(c, "DELETE FROM sfrecon.chunk_digest WHERE object = $1", 1, p0, NULL, err,
                          "clearing sfrecon.chunk_digest");
    char run[32];
    snprintf(run, sizeof(run), "%ld", run_id);
    for (size_t i = 0; rc == SFR_OK && i < chunks->n; i++) {
        const struct sfr_chunk_state *s = &chunks->v[i];
        char sc[32], pc[32], sm[32], pm[32];
        snprintf(sc, sizeof(sc), "%ld", s->sf_count);
        snprintf(pc, sizeof(pc), "%ld", s->pg_count);
        if (s->sf_max_ms != INT64_MIN)
            sfr_format_datetime_pg(s->sf_max_ms, sm);
        if (s->pg_max_ms != INT64_MIN)
            sfr_format_datetime_pg(s->pg_max_ms, pm);
        char sum[32];
        snprintf(sum, sizeof(sum), "%llu", (unsigned long long)s->pg_sum);
        const char *p[10] = {object,
                             s->lo ? s->lo : "",
                             s->hi,
                             sc,
                             pc,
                             s->sf_max_ms != INT64_MIN ? sm : NULL,
                             s->pg_max_ms != INT64_MIN ? pm : NULL,
                             run,
                             s->clean ? "t" : "f",
                             s->has_sum ? sum : NULL};
        rc = sfr_pg_query(c,
                          "INSERT INTO sfrecon.chunk_digest (object, lo, hi, sf_count, "
                          "pg_count, sf_max_mod, pg_max_mod, run_id, clean, content_sum) VALUES "
                          "($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) ON CONFLICT (object, lo) DO UPDATE "
                          "SET hi = EXCLUDED.hi, sf_count = EXCLUDED.sf_count, "
                          "pg_count = EXCLUDED.pg_count, sf_max_mod = EXCLUDED.sf_max_mod, "
                          "pg_max_mod = EXCLUDED.pg_max_mod, run_id = EXCLUDED.run_id, "
                          "clean = EXCLUDED.clean, content_sum = EXCLUDED.content_sum",
                          10, p, NULL, err, "storing sfrecon.chunk_digest");
    }
    if (sfr_pg_query(c, rc == SFR_OK ? "COMMIT" : "ROLLBACK", 0, NULL, NULL, NULL, "COMMIT") !=
            SFR_OK &&
        rc == SFR_OK)
        rc = sfr_err_set(err, SFR_EPG, "committing sfrecon.chunk_digest failed");
    return rc;
}

/* (object, sfid, cause) order of discrepancies, for matching stored rows. */
static int cmp_disc_key(const void *a, const void *b)
{
    const struct sfr_discrepancy *x = *(const struct sfr_discrepancy *const *)a;
    const struct sfr_discrepancy *y = *(const struct sfr_discrepancy *const *)b;
    int c = strcmp(x->object, y->object);
    if (c == 0)
        c = strcmp(x->sfid ? x->sfid : "", y->sfid ? y->sfid : "");
    if (c == 0)
        c = strcmp(sfr_cause_name(x->cause), sfr_cause_name(y->cause));
    return c;
}

enum sfr_rc sfr_history_open_since(PGconn *c, struct sfr_run *run, struct sfr_err *err)
{
    char id[32];
    snprintf(id, sizeof(id), "%ld", run->id);
    const char *p[1] = {id};
    /* the previous run of the same mapping that judged its objects */
    enum sfr_rc rc = sfr_pg_query(
        c,
        "WITH prev AS (SELECT max(r.id) AS id FROM sfrecon.audit_run r, sfrecon.audit_run me "
        " WHERE me.id = $1::bigint AND r.id < me.id AND r.mapping IS NOT DISTINCT FROM me.mapping"
        " AND r.status IN ('clean', 'discrepancies', 'partial')) "
        "UPDATE sfrecon.discrepancy d SET open_since = coalesce(o.open_since, o.run_id) "
        "FROM sfrecon.discrepancy o, prev WHERE d.run_id = $1::bigint AND o.run_id = prev.id "
        "AND o.object = d.object AND o.sfid = d.sfid AND o.cause = d.cause",
        1, p, NULL, err, "carrying open discrepancies forward in sfrecon.discrepancy");
    if (rc == SFR_OK)
        rc = sfr_pg_query(c,
                          "UPDATE sfrecon.discrepancy SET open_since = run_id "
                          "WHERE run_id = $1::bigint AND open_since IS NULL",
                          1, p, NULL, err, "marking new discrepancies in sfrecon.discrepancy");
    PGresult *r = NULL;
    if (rc == SFR_OK && run->discs.n_spilled == 0)
        rc = sfr_pg_query(c,
                          "SELECT object, sfid, cause, min(open_since) FROM sfrecon.discrepancy "
                          "WHERE run_id = $1::bigint AND open_since < run_id "
                          "GROUP BY object, sfid, cause "
                          "ORDER BY object COLLATE \"C\", sfid COLLATE \"C\", cause COLLATE \"C\"",
                          1, p, &r, err, "reading open discrepancies from sfrecon.discrepancy");
    /* the in-memory run says since when each one is open; one spilled to
     * disk says it in the stored run (sfrecon report --run N) */
    if (rc != SFR_OK || r == NULL || PQntuples(r) == 0) {
        PQclear(r);
        return rc;
    }
    /* both in (object, sfid, cause) byte order: one merge */
    struct sfr_discrepancy **by = sfr_calloc(run->discs.n + 1, sizeof(*by));
    for (size_t i = 0; i < run->discs.n; i++)
        by[i] = &run->discs.v[i];
    qsort(by, run->discs.n, sizeof(*by), cmp_disc_key);
    for (size_t k = 0, i = 0; k < run->discs.n && i < (size_t)PQntuples(r);) {
        struct sfr_discrepancy key = {0};
        key.object = PQgetvalue(r, (int)i, 0);
        key.sfid = PQgetvalue(r, (int)i, 1);
        int c = sfr_cause_parse(PQgetvalue(r, (int)i, 2), &key.cause) ? 0 : 1;
        const struct sfr_discrepancy *kp = &key;
        if (c == 0)
            c = cmp_disc_key(&by[k], &kp);
        if (c < 0) {
            k++;
        } else if (c > 0) {
            i++;
        } else {
            by[k++]->open_since = atol(PQgetvalue(r, (int)i, 3)); /* the next may share it */
        }
    }
    free(by);
    PQclear(r);
    return SFR_OK;
}

enum sfr_rc sfr_history_state_keys(PGconn *c, const char *object, long max, struct sfr_strv *out,
                                   struct sfr_strv *absent_sf, bool *known, struct sfr_err *err)
{
    char lim[32];
    snprintf(lim, sizeof(lim), "%ld", max + 1);
    const char *p[2] = {object, lim};
    PGresult *r;
    *known = false;
    enum sfr_rc rc = sfr_pg_query(
        c,
        "SELECT d.sfid, bool_and(d.cause = 'missing_in_sf') FROM sfrecon.discrepancy d "
        "WHERE d.object = $1 AND d.run_id = "
        "(SELECT max(run_id) FROM sfrecon.chunk_digest WHERE object = $1) AND d.sfid <> '' "
        "GROUP BY d.sfid ORDER BY d.sfid COLLATE \"C\" LIMIT $2::bigint",
        2, p, &r, err, "reading the last run's discrepancies from sfrecon.discrepancy");
    if (rc != SFR_OK)
        return rc;
    if (PQntuples(r) <= max) {
        for (int i = 0; i < PQntuples(r); i++) {
            sfr_strv_push(out, PQgetvalue(r, i, 0));
            if (strcmp(PQgetvalue(r, i, 1), "t") == 0)
                sfr_strv_push(absent_sf, PQgetvalue(r, i, 0));
        }
        *known = true;
    }
    PQclear(r);
    return SFR_OK;
}

enum sfr_rc sfr_history_get_watermark(PGconn *c, const char *object, int64_t *ms,
                                      struct sfr_err *err)
{
    const char *p[1] = {object};
    PGresult *r;
    *ms = INT64_MIN;
    enum sfr_rc rc = sfr_pg_query(c, "SELECT sf_max_mod FROM sfrecon.watermark WHERE object = $1",
                                  1, p, &r, err, "reading sfrecon.watermark");
    if (rc != SFR_OK)
        return rc;
    if (PQntuples(r) == 1)
        *ms = ms_or_min(r, 0, 0);
    PQclear(r);
    return SFR_OK;
}

enum sfr_rc sfr_history_put_watermark(PGconn *c, const char *object, long run_id, int64_t ms,
                                      struct sfr_err *err)
{
    char ts[32], run[32];
    sfr_format_datetime_pg(ms, ts);
    snprintf(run, sizeof(run), "%ld", run_id);
    const char *p[3] = {object, run, ts};
    return sfr_pg_query(c,
                        "INSERT INTO sfrecon.watermark (object, run_id, sf_max_mod, audited_at) "
                        "VALUES ($1, $2, $3, now()) ON CONFLICT (object) DO UPDATE SET "
                        "run_id = EXCLUDED.run_id, sf_max_mod = EXCLUDED.sf_max_mod, "
                        "audited_at = now()",
                        3, p, NULL, err, "storing sfrecon.watermark");
}

enum sfr_rc sfr_history_latest_of(PGconn *c, const char *mapping, const char *mapping_real,
                                  long *id, struct sfr_err *err)
{
    const char *p[2] = {mapping, mapping_real ? mapping_real : mapping};
    PGresult *r = NULL;
    enum sfr_rc rc = sfr_pg_query(c,
                                  "SELECT max(id) FROM sfrecon.audit_run WHERE mapping = $1 "
                                  "OR mapping = $2",
                                  2, p, &r, err, "reading sfrecon.audit_run");
    if (rc != SFR_OK)
        return rc;
    *id = PQgetisnull(r, 0, 0) ? 0 : atol(PQgetvalue(r, 0, 0));
    PQclear(r);
    if (*id <= 0)
        return sfr_err_set(err, SFR_ENOTFOUND, "no audit run of mapping %s stored yet", mapping);
    return SFR_OK;
}

void sfr_history_run_from_row(PGresult *r, int nc_col, struct sfr_run *run)
{
    run->id = atol(PQgetvalue(r, 0, 0));
    snprintf(run->started_at, sizeof(run->started_at), "%s", PQgetvalue(r, 0, 1));
    snprintf(run->finished_at, sizeof(run->finished_at), "%s", PQgetvalue(r, 0, 2));
    snprintf(run->status, sizeof(run->status), "%s", PQgetvalue(r, 0, 3));
    snprintf(run->depth, sizeof(run->depth), "%s", PQgetvalue(r, 0, 4));
    run->api_calls = atol(PQgetvalue(r, 0, 5));
    json_object *nc = json_tokener_parse(PQgetvalue(r, 0, nc_col));
    for (size_t i = 0;
         nc && json_object_is_type(nc, json_type_array) && i < json_object_array_length(nc); i++)
        sfr_strv_push(&run->not_covered, json_object_get_string(json_object_array_get_idx(nc, i)));
    json_object_put(nc);
    run->complete = run->not_covered.n == 0;
}
