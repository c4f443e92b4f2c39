/* history_report.c — the queries over stored runs that reports need: which
 * run "latest" and "previous" mean, the trend of discrepancies per night,
 * the last successful audit, the night-to-night diff (new, resolved, still
 * open since when), retention (prune), and the run's Salesforce instance and
 * daily API usage. All values are parameters.
 *
 * A discrepancy is "the same" in two runs when object, sfid and cause match
 * (an app's refused insert has no sfid: its mirror row id stands in). A run
 * counts for a streak ("open since") only for the objects it audited, and
 * only when it finished (clean or discrepancies). */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "sfrecon/canon.h"
#include "sfrecon/history.h"
#include "sfrecon/pg.h"

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define DONE    "status IN ('clean', 'discrepancies')"

void sfr_run_diff_cleanup(struct sfr_run_diff *d)
{
    sfr_run_cleanup(&d->a);
    sfr_run_cleanup(&d->b);
    sfr_disc_list_cleanup(&d->added);
    sfr_disc_list_cleanup(&d->resolved);
    sfr_disc_list_cleanup(&d->open);
    sfr_disc_list_cleanup(&d->unverified);
    free(d->open_since);
    memset(d, 0, sizeof(*d));
}

enum sfr_rc sfr_history_resolve(PGconn *c, const char *spec, long *id, struct sfr_err *err)
{
    const char *sql;
    const char *p[1] = {spec};
    int n = 0;
    if (strcmp(spec, "latest") == 0) {
        sql = "SELECT id FROM sfrecon.audit_run WHERE " DONE " ORDER BY id DESC LIMIT 1";
    } else if (strcmp(spec, "previous") == 0) {
        sql = "SELECT id FROM sfrecon.audit_run WHERE " DONE " ORDER BY id DESC OFFSET 1 LIMIT 1";
    } else {
        char *end;
        long v = strtol(spec, &end, 10);
        if (*spec == '\0' || *end != '\0' || v <= 0)
            return sfr_err_set(err, SFR_ECONFIG,
                               "expected a run id, 'latest' or 'previous', got '%s'", spec);
        sql = "SELECT id FROM sfrecon.audit_run WHERE id = $1::bigint";
        n = 1;
    }
    PGresult *r = NULL;
    enum sfr_rc qrc = sfr_pg_query(c, sql, n, p, &r, err, "reading sfrecon.audit_run");
    if (qrc != SFR_OK)
        return qrc;
    bool found = PQntuples(r) == 1;
    if (found)
        *id = atol(PQgetvalue(r, 0, 0));
    PQclear(r);
    if (found)
        return SFR_OK;
    if (n == 1)
        return sfr_err_set(err, SFR_ENOTFOUND, "audit run %s not found", spec);
    return sfr_err_set(err, SFR_ENOTFOUND, "no %s finished audit run stored%s", spec,
                       strcmp(spec, "previous") == 0 ? " (only one so far)" : "");
}

enum sfr_rc sfr_history_load_info(PGconn *c, struct sfr_run *run, struct sfr_err *err)
{
    char id[32];
    snprintf(id, sizeof(id), "%ld", run->id);
    const char *p[1] = {id};
    PGresult *r = NULL;
    enum sfr_rc qrc =
        sfr_pg_query(c,
                     "SELECT instance_url, coalesce(api_daily_used, 0), "
                     "coalesce(api_daily_max, 0) FROM sfrecon.audit_run WHERE id = $1",
                     1, p, &r, err, "reading sfrecon.audit_run");
    if (qrc != SFR_OK)
        return qrc;
    if (PQntuples(r) == 1) {
        free(run->instance_url);
        run->instance_url = PQgetisnull(r, 0, 0) ? NULL : sfr_strdup(PQgetvalue(r, 0, 0));
        run->api_daily_used = atol(PQgetvalue(r, 0, 1));
        run->api_daily_max = atol(PQgetvalue(r, 0, 2));
    }
    PQclear(r);
    return SFR_OK;
}

enum sfr_rc sfr_history_store_info(PGconn *c, const struct sfr_run *run, struct sfr_err *err)
{
    if (run->id <= 0)
        return SFR_OK;
    char id[32], used[32], max[32];
    snprintf(id, sizeof(id), "%ld", run->id);
    snprintf(used, sizeof(used), "%ld", run->api_daily_used);
    snprintf(max, sizeof(max), "%ld", run->api_daily_max);
    const char *p[4] = {id, run->instance_url, run->api_daily_max > 0 ? used : NULL,
                        run->api_daily_max > 0 ? max : NULL};
    PGresult *r = NULL;
    enum sfr_rc qrc =
        sfr_pg_query(c,
                     "UPDATE sfrecon.audit_run SET instance_url = $2, "
                     "api_daily_used = $3, api_daily_max = $4 WHERE id = $1",
                     4, p, &r, err, "storing the run's instance in sfrecon.audit_run");
    if (qrc != SFR_OK)
        return qrc;
    PQclear(r);
    return SFR_OK;
}

/* Per UTC day up to run `upto`, the run that stands for the night: `upto`
 * itself on its day, else the finished run with the most objects, newest
 * first. Discrepancies by cause come from the stored summaries. */
enum sfr_rc sfr_history_trend(PGconn *c, long upto, int max_days, struct sfr_trend *out,
                              struct sfr_err *err)
{
    char id[32], lim[32];
    snprintf(id, sizeof(id), "%ld", upto);
    snprintf(lim, sizeof(lim), "%d", max_days);
    const char *p[2] = {id, lim};
    PGresult *r = NULL;
    enum sfr_rc qrc = sfr_pg_query(
        c,
        "WITH n AS (SELECT * FROM (SELECT DISTINCT ON ((started_at AT TIME ZONE 'UTC')::date) "
        " id, started_at, status, summary FROM sfrecon.audit_run "
        " WHERE id <= $1::bigint AND (" DONE " OR status = 'partial' OR id = $1::bigint) "
        " ORDER BY (started_at AT TIME ZONE 'UTC')::date DESC, (id = $1::bigint) DESC, "
        " coalesce(cardinality(objects), 0) DESC, id DESC) d ORDER BY id DESC LIMIT $2::int) "
        "SELECT n.id, " TS(
            "n.started_at") ", n.status, coalesce(bc.key, ''), "
                            " coalesce(sum(bc.value::bigint), 0) FROM n "
                            "LEFT JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(n.summary) = 'array' "
                            " THEN n.summary ELSE '[]' END) s ON true "
                            "LEFT JOIN LATERAL jsonb_each_text(s->'by_cause') bc ON true "
                            "GROUP BY n.id, n.started_at, n.status, bc.key ORDER BY n.id",
        2, p, &r, err, "reading the trend of sfrecon.audit_run");
    if (qrc != SFR_OK)
        return qrc;
    for (int i = 0; i < PQntuples(r); i++) {
        long rid = atol(PQgetvalue(r, i, 0));
        if (out->n == 0 || out->v[out->n - 1].run_id != rid) {
            if (out->n == out->cap) {
                out->cap = out->cap ? out->cap * 2 : 16;
                out->v = sfr_realloc(out->v, out->cap * sizeof(*out->v));
            }
            struct sfr_trend_point *t = &out->v[out->n++];
            memset(t, 0, sizeof(*t));
            t->run_id = rid;
            snprintf(t->started_at, sizeof(t->started_at), "%s", PQgetvalue(r, i, 1));
            snprintf(t->status, sizeof(t->status), "%s", PQgetvalue(r, i, 2));
        }
        enum sfr_cause cause;
        if (sfr_cause_parse(PQgetvalue(r, i, 3), &cause))
            out->v[out->n - 1].by_cause[cause] += atol(PQgetvalue(r, i, 4));
    }
    PQclear(r);
    return SFR_OK;
}

enum sfr_rc sfr_history_last_success(PGconn *c, int64_t *ms, struct sfr_err *err)
{
    static const char sql[] =
        "SELECT " TS("max(finished_at)") " FROM sfrecon.audit_run "
                                         "WHERE " DONE " AND finished_at IS NOT NULL";
    PGresult *r = NULL;
    enum sfr_rc qrc = sfr_pg_query(c, sql, 0, NULL, &r, err, "reading sfrecon.audit_run");
    if (qrc != SFR_OK)
        return qrc;
    const char *v = PQgetvalue(r, 0, 0);
    if (PQgetisnull(r, 0, 0) || !sfr_parse_datetime_ms(v, strlen(v), ms))
        *ms = INT64_MIN;
    PQclear(r);
    return SFR_OK;
}

enum sfr_rc sfr_history_prune(PGconn *c, int days, long *runs, long *discs, struct sfr_err *err)
{
    char d[32];
    snprintf(d, sizeof(d), "%d", days);
    const char *p[1] = {d};
    PGresult *r = NULL;
    enum sfr_rc qrc = sfr_pg_query(
        c,
        "WITH keep AS (SELECT max(id) AS id FROM sfrecon.audit_run WHERE " DONE "), "
        "del AS (DELETE FROM sfrecon.audit_run r WHERE r.started_at < now() - "
        " make_interval(days => $1::int) AND r.id <> coalesce((SELECT id FROM keep), 0) "
        " RETURNING r.id, r.n_discrepancies) "
        "SELECT count(*), coalesce(sum(n_discrepancies), 0) FROM del",
        1, p, &r, err, "pruning sfrecon.audit_run");
    if (qrc != SFR_OK)
        return qrc;
    *runs = atol(PQgetvalue(r, 0, 0));
    *discs = atol(PQgetvalue(r, 0, 1));
    PQclear(r);
    return SFR_OK;
}

/* ---- diff ---- */

/* Id, times, status and objects of a run (no discrepancies, no summary). */
static enum sfr_rc diff_header(PGconn *c, long id, struct sfr_run *run, struct sfr_err *err)
{
    char ids[32];
    snprintf(ids, sizeof(ids), "%ld", id);
    const char *p[1] = {ids};
    static const char sql[] = "SELECT id, " TS("started_at") ", coalesce(" TS(
        "finished_at") ", ''), status, "
                       "coalesce(depth, ''), api_calls, coalesce(array_to_json(objects)::text, '[]'), "
                       "coalesce(not_covered::text, '[]') FROM sfrecon.audit_run WHERE id = $1::bigint";
    PGresult *r = NULL;
    enum sfr_rc qrc = sfr_pg_query(c, sql, 1, p, &r, err, "reading sfrecon.audit_run");
    if (qrc != SFR_OK)
        return qrc;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return sfr_err_set(err, SFR_ENOTFOUND, "audit run %ld not found", id);
    }
    sfr_history_run_from_row(r, 7, run);
    json_object *objs = json_tokener_parse(PQgetvalue(r, 0, 6));
    int n = objs && json_object_is_type(objs, json_type_array) ? (int)json_object_array_length(objs)
                                                               : 0;
    run->objects = sfr_calloc((size_t)(n ? n : 1), sizeof(*run->objects));
    for (int i = 0; i < n; i++) {
        const char *o = json_object_get_string(json_object_array_get_idx(objs, (size_t)i));
        run->objects[run->n_objects++].object = sfr_strdup(o ? o : "");
    }
    json_object_put(objs);
    PQclear(r);
    return SFR_OK;
}

/* Whether run b rechecked object: audited it, and (when partial) did not
 * leave any of it uncovered. */
static bool rechecked(const struct sfr_run *b, const char *object)
{
    bool audited = false;
    for (int i = 0; i < b->n_objects && !audited; i++)
        audited = strcmp(b->objects[i].object, object) == 0;
    size_t n = strlen(object);
    for (size_t i = 0; audited && i < b->not_covered.n; i++)
        if (strncmp(b->not_covered.v[i], object, n) == 0 && b->not_covered.v[i][n] == ' ')
            audited = false;
    return audited;
}

/* $1 = run A, $2 = run B. One row per discrepancy of either run: its state
 * (new, resolved, open), the values of the later run, and for open ones the
 * first run of the unbroken streak (gaps and islands over the runs that
 * audited the object). */
static const char diff_sql[] =
    "WITH a AS (SELECT DISTINCT ON (object, sfid, cause, k) * FROM (SELECT *, "
    "  coalesce(CASE WHEN sfid = '' THEN pg_id END, 0) AS k FROM sfrecon.discrepancy "
    "  WHERE run_id = $1::bigint) x ORDER BY object, sfid, cause, k, id), "
    "b AS (SELECT DISTINCT ON (object, sfid, cause, k) * FROM (SELECT *, "
    "  coalesce(CASE WHEN sfid = '' THEN pg_id END, 0) AS k FROM sfrecon.discrepancy "
    "  WHERE run_id = $2::bigint) x ORDER BY object, sfid, cause, k, id), "
    "cov AS (SELECT r.id, o.object, row_number() OVER (PARTITION BY o.object ORDER BY r.id) AS rn "
    "  FROM sfrecon.audit_run r CROSS JOIN LATERAL unnest(r.objects) AS o(object) "
    "  WHERE r.id <= $2::bigint AND (" DONE " OR r.id = $2::bigint)), "
    "h AS (SELECT DISTINCT d.object, d.sfid, d.cause, "
    "  coalesce(CASE WHEN d.sfid = '' THEN d.pg_id END, 0) AS k, c.rn, c.id "
    "  FROM sfrecon.discrepancy d JOIN cov c ON c.id = d.run_id AND c.object = d.object "
    "  WHERE (d.object, d.sfid, d.cause) IN (SELECT object, sfid, cause FROM b)), "
    "s AS (SELECT *, rn - row_number() OVER (PARTITION BY object, sfid, cause, k ORDER BY rn) "
    "  AS grp FROM h), "
    "e AS (SELECT object, sfid, cause, k, grp FROM s WHERE id = $2::bigint), "
    "since AS (SELECT s.object, s.sfid, s.cause, s.k, min(s.id) AS run_id "
    "  FROM s JOIN e USING (object, sfid, cause, k, grp) GROUP BY 1, 2, 3, 4) "
    "SELECT CASE WHEN a.id IS NULL THEN 'new' WHEN b.id IS NULL THEN 'resolved' ELSE 'open' END, "
    " coalesce(b.object, a.object), coalesce(b.sfid, a.sfid), coalesce(b.cause, a.cause), "
    " coalesce(b.fields, a.fields)::text, coalesce(b.detail, a.detail), "
    " coalesce(b.parent_object, a.parent_object), coalesce(b.parent_sfid, a.parent_sfid), "
    " coalesce(b.pg_id, a.pg_id, 0), coalesce(since.run_id, 0), "
    " coalesce((SELECT " TS(
        "started_at") " FROM sfrecon.audit_run WHERE id = since.run_id), '') "
                      "FROM a FULL JOIN b ON a.object = b.object AND a.sfid = b.sfid AND a.cause = b.cause "
                      " AND a.k = b.k "
                      "LEFT JOIN since ON since.object = b.object AND since.sfid = b.sfid AND since.cause = b.cause "
                      " AND since.k = b.k "
                      "ORDER BY 2, 3, 4, 9";

static void diff_row(PGresult *r, int i, struct sfr_run_diff *out, size_t *open_cap)
{
    const char *state = PQgetvalue(r, i, 0);
    struct sfr_discrepancy d;
    sfr_history_disc_from_row(r, i, 1, &d);
    if (strcmp(state, "new") == 0) {
        sfr_disc_list_push(&out->added, &d);
    } else if (strcmp(state, "resolved") == 0) {
        sfr_disc_list_push(rechecked(&out->b, d.object) ? &out->resolved : &out->unverified, &d);
    } else {
        if (out->open.n == *open_cap) {
            *open_cap = *open_cap ? *open_cap * 2 : 64;
            out->open_since = sfr_realloc(out->open_since, *open_cap * sizeof(*out->open_since));
        }
        struct sfr_diff_open *o = &out->open_since[out->open.n];
        o->since_run = atol(PQgetvalue(r, i, 9));
        snprintf(o->since_at, sizeof(o->since_at), "%s", PQgetvalue(r, i, 10));
        sfr_disc_list_push(&out->open, &d);
    }
}

enum sfr_rc sfr_history_diff(PGconn *c, long a, long b, struct sfr_run_diff *out,
                             struct sfr_err *err)
{
    memset(out, 0, sizeof(*out));
    enum sfr_rc rc = diff_header(c, a, &out->a, err);
    if (rc == SFR_OK)
        rc = diff_header(c, b, &out->b, err);
    if (rc != SFR_OK)
        return rc;
    char as[32], bs[32];
    snprintf(as, sizeof(as), "%ld", a);
    snprintf(bs, sizeof(bs), "%ld", b);
    const char *p[2] = {as, bs};
    PGresult *r = NULL;
    enum sfr_rc qrc =
        sfr_pg_query(c, diff_sql, 2, p, &r, err, "comparing two runs of sfrecon.discrepancy");
    if (qrc != SFR_OK)
        return qrc;
    size_t cap = 0;
    for (int i = 0; i < PQntuples(r); i++)
        diff_row(r, i, out, &cap);
    PQclear(r);
    return SFR_OK;
}
