/* store.c — sfemu's Postgres store: the connection pool, the idempotent DDL
 * of schema "sfemu" (one table per object, _events for CDC, _meta for
 * counters), record Id allocation and CDC event rows.
 *
 * Layout (shared with soql_sql.c): table sfemu."<lowercase object>" with one
 * column per describe field named by the lowercase API name; id is the
 * primary key (text COLLATE "C", so ORDER BY id is the Id's byte order);
 * isdeleted marks soft deletes and _deleted_at records when. Ids handed out
 * are <keyPrefix>S0<10 base-62 digits><suffix>, so byte order follows the
 * counter; the counter restarts past the highest Id of pod S0 in the table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "emu.h"
#include "sfrecon/log.h"
#include "sfrecon/sfid.h"

static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

PGconn *emu_pg_get(void)
{
    PGconn *c = NULL;
    pthread_mutex_lock(&EMU.lock);
    if (EMU.n_pool > 0)
        c = EMU.pool[--EMU.n_pool];
    pthread_mutex_unlock(&EMU.lock);
    if (c != NULL && PQstatus(c) == CONNECTION_OK)
        return c;
    if (c != NULL)
        PQfinish(c);
    c = PQconnectdb(EMU.store_url);
    if (PQstatus(c) != CONNECTION_OK) {
        sfr_log_error("sfemu: store connection failed: %s", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    PGresult *res = PQexec(c, "SET TIME ZONE 'UTC'; SET datestyle = 'ISO, YMD'; "
                              "SET application_name = 'sfemu'; SET extra_float_digits = 1");
    PQclear(res);
    return c;
}

/* Returns c to the pool, or closes it when it is unusable or the pool is full. */
void emu_pg_put(PGconn *c)
{
    if (c == NULL)
        return;
    if (PQstatus(c) != CONNECTION_OK || PQtransactionStatus(c) != PQTRANS_IDLE) {
        PQfinish(c);
        return;
    }
    pthread_mutex_lock(&EMU.lock);
    if (EMU.n_pool < EMU_POOL_MAX) {
        EMU.pool[EMU.n_pool++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&EMU.lock);
    if (c != NULL)
        PQfinish(c);
}

bool emu_exec(PGconn *c, const char *sql)
{
    PGresult *res = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(res);
    bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        sfr_log_error("sfemu: store: %s", PQresultErrorMessage(res));
    PQclear(res);
    return ok;
}

struct emu_object *emu_object(const char *name)
{
    for (int i = 0; i < EMU.n_objs; i++)
        if (strcasecmp(EMU.objs[i].obj->name, name) == 0)
            return &EMU.objs[i];
    return NULL;
}

struct emu_object *emu_object_by_prefix(const char *id)
{
    if (id == NULL || strlen(id) < 3)
        return NULL;
    for (int i = 0; i < EMU.n_objs; i++)
        if (EMU.objs[i].obj->key_prefix[0] != '\0' &&
            strncmp(EMU.objs[i].obj->key_prefix, id, 3) == 0)
            return &EMU.objs[i];
    return NULL;
}

void emu_new_id_prefix(const char *prefix3, uint64_t n, char out[19])
{
    memcpy(out, prefix3, 3);
    out[3] = 'S';
    out[4] = '0';
    for (int i = 14; i >= 5; i--) {
        out[i] = b62[n % 62];
        n /= 62;
    }
    sfr_sfid_suffix(out, out + 15);
    out[18] = '\0';
}

void emu_new_id(struct emu_object *o, char out[19])
{
    pthread_mutex_lock(&EMU.lock);
    uint64_t n = ++o->next_seq;
    pthread_mutex_unlock(&EMU.lock);
    const char *p = o->obj->key_prefix[0] ? o->obj->key_prefix : "000";
    emu_new_id_prefix(p, n, out);
}

static uint64_t decode_counter(const char *id)
{
    uint64_t n = 0;
    for (int i = 5; i < 15; i++) {
        const char *p = strchr(b62, id[i]);
        if (p == NULL || id[i] == '\0')
            return 0;
        n = n * 62 + (uint64_t)(p - b62);
    }
    return n;
}

void emu_sync_seq(PGconn *c, struct emu_object *o)
{
    if (o->obj->key_prefix[0] == '\0')
        return;
    char lo[8], hi[8];
    snprintf(lo, sizeof lo, "%.3sS0", o->obj->key_prefix);
    snprintf(hi, sizeof hi, "%.3sS1", o->obj->key_prefix);
    char *sql = sfr_asprintf("SELECT max(id) FROM %s WHERE id >= $1 AND id < $2", o->qtable);
    const char *params[2] = {lo, hi};
    PGresult *res = PQexecParams(c, sql, 2, NULL, params, NULL, NULL, 0);
    free(sql);
    uint64_t n = 0;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && !PQgetisnull(res, 0, 0) &&
        PQgetlength(res, 0, 0) >= 15)
        n = decode_counter(PQgetvalue(res, 0, 0));
    PQclear(res);
    pthread_mutex_lock(&EMU.lock);
    if (n > o->next_seq)
        o->next_seq = n;
    pthread_mutex_unlock(&EMU.lock);
}

static const char *col_type(const struct sfr_field *f)
{
    switch (f->type) {
    case SFR_FT_BOOLEAN:
        return "boolean";
    case SFR_FT_INT:
        return "integer";
    case SFR_FT_LONG:
        return "bigint";
    case SFR_FT_DOUBLE:
    case SFR_FT_CURRENCY:
    case SFR_FT_PERCENT:
        return "double precision";
    case SFR_FT_DATE:
        return "date";
    case SFR_FT_DATETIME:
        return "timestamp(3)";
    case SFR_FT_TIME:
        return "time(3)";
    default:
        return "text COLLATE \"C\"";
    }
}

static char *qident(PGconn *c, const char *s)
{
    char *q = PQescapeIdentifier(c, s, strlen(s));
    char *r = sfr_strdup(q);
    PQfreemem(q);
    return r;
}

static bool is_sys(const char *col, const char *name)
{
    return strcmp(col, name) == 0;
}

/* Creates or extends the table of o; sets its defaults and indexes. */
static bool object_ddl(PGconn *c, struct emu_object *o)
{
    const struct sfr_object *ob = o->obj;
    struct sfr_buf b = SFR_BUF_INIT;
    bool ok;
    sfr_buf_printf(&b,
                   "CREATE TABLE IF NOT EXISTS %s (id text COLLATE \"C\" PRIMARY KEY, "
                   "isdeleted boolean NOT NULL DEFAULT false, _deleted_at timestamp(3));",
                   o->qtable);
    const char *now_def = "coalesce(nullif(current_setting('sfemu.now', true), '')::timestamp(3), "
                          "(now() AT TIME ZONE 'UTC')::timestamp(3))";
    for (int i = 0; i < ob->n_fields; i++) {
        const struct sfr_field *f = &ob->fields[i];
        if (!o->fx[i].has_column || strcmp(f->column, "id") == 0 ||
            strcmp(f->column, "isdeleted") == 0)
            continue;
        char *col = qident(c, f->column);
        sfr_buf_printf(&b, "ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s %s;", o->qtable, col,
                       col_type(f));
        if (is_sys(f->column, "createddate") || is_sys(f->column, "lastmodifieddate") ||
            is_sys(f->column, "systemmodstamp"))
            sfr_buf_printf(&b, "ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s;", o->qtable, col,
                           now_def);
        else if (is_sys(f->column, "createdbyid") || is_sys(f->column, "lastmodifiedbyid") ||
                 is_sys(f->column, "ownerid"))
            sfr_buf_printf(&b, "ALTER TABLE %s ALTER COLUMN %s SET DEFAULT '%s';", o->qtable, col,
                           EMU.user_id);
        else if (f->type == SFR_FT_BOOLEAN)
            sfr_buf_printf(&b, "ALTER TABLE %s ALTER COLUMN %s SET DEFAULT false;", o->qtable, col);
        if (is_sys(f->column, "systemmodstamp") || (f->external_id && f->type != SFR_FT_ID))
            sfr_buf_printf(&b, "CREATE INDEX IF NOT EXISTS \"%s_%s_idx\" ON %s (%s);", ob->table,
                           f->column, o->qtable, col);
        free(col);
    }
    ok = emu_exec(c, b.data);
    sfr_buf_cleanup(&b);
    return ok;
}

static int field_idx(const struct sfr_object *ob, const char *name)
{
    return sfr_object_field_index(ob, name);
}

/* Inserts the integration user when the org has a User object. */
static bool admin_user(PGconn *c)
{
    struct emu_object *u = emu_object("User");
    if (u == NULL)
        return true;
    static const char *const cols[][2] = {{"Username", NULL},
                                          {"Email", NULL},
                                          {"LastName", "Admin"},
                                          {"FirstName", "Integration"},
                                          {"Name", "Integration Admin"},
                                          {"Alias", "admin"},
                                          {"IsActive", "true"}};
    struct sfr_buf sql = SFR_BUF_INIT, vals = SFR_BUF_INIT;
    const char *params[16];
    int np = 0;
    sfr_buf_printf(&sql, "INSERT INTO %s (id", u->qtable);
    params[np++] = EMU.user_id;
    sfr_buf_puts(&vals, "$1");
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
        int idx = field_idx(u->obj, cols[i][0]);
        if (idx < 0 || !u->fx[idx].has_column)
            continue;
        sfr_buf_printf(&sql, ", %s", u->obj->fields[idx].column);
        params[np++] = cols[i][1] ? cols[i][1] : EMU.user;
        sfr_buf_printf(&vals, ", $%d", np);
    }
    sfr_buf_printf(&sql, ") VALUES (%s) ON CONFLICT (id) DO NOTHING", vals.data);
    PGresult *res = PQexecParams(c, sql.data, np, NULL, params, NULL, NULL, 0);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        sfr_log_error("sfemu: store: creating the admin user: %s", PQresultErrorMessage(res));
    PQclear(res);
    sfr_buf_cleanup(&sql);
    sfr_buf_cleanup(&vals);
    return ok;
}

static void load_usage(PGconn *c)
{
    char dt[32];
    emu_fmt_pg_datetime(emu_now_ms(), dt);
    memcpy(EMU.api_day, dt, 10);
    EMU.api_day[10] = '\0';
    char key[32];
    snprintf(key, sizeof key, "api:%s", EMU.api_day);
    const char *p[1] = {key};
    PGresult *res =
        PQexecParams(c, "SELECT value FROM sfemu._meta WHERE key = $1", 1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        EMU.api_usage = atol(PQgetvalue(res, 0, 0));
    PQclear(res);
}

void emu_persist_usage(PGconn *c)
{
    char key[32], val[32];
    pthread_mutex_lock(&EMU.lock);
    snprintf(key, sizeof key, "api:%s", EMU.api_day);
    snprintf(val, sizeof val, "%ld", EMU.api_usage);
    pthread_mutex_unlock(&EMU.lock);
    const char *p[2] = {key, val};
    PGresult *res = PQexecParams(c,
                                 "INSERT INTO sfemu._meta (key, value) VALUES ($1, $2) "
                                 "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                                 2, NULL, p, NULL, NULL, 0);
    PQclear(res);
}

bool emu_store_init(char *errmsg, size_t n)
{
    char id15[16];
    snprintf(id15, sizeof id15, "00DS00000000001");
    sfr_sfid_to18(id15, 15, EMU.org_id);
    emu_new_id_prefix("005", 1, EMU.user_id);
    PGconn *c = emu_pg_get();
    if (c == NULL) {
        snprintf(errmsg, n, "cannot connect to the store database");
        return false;
    }
    bool ok =
        emu_exec(c, "SET client_min_messages = warning; "
                    "CREATE SCHEMA IF NOT EXISTS sfemu; "
                    "CREATE TABLE IF NOT EXISTS sfemu._events (replay_id bigserial PRIMARY "
                    "KEY, entity text NOT NULL, change_type text NOT NULL, record_ids text[], "
                    "changed_fields text[], commit_ts timestamp(3), payload jsonb); "
                    "CREATE TABLE IF NOT EXISTS sfemu._purged (entity text NOT NULL, id text "
                    "NOT NULL, deleted_at timestamp(3) NOT NULL); "
                    "CREATE TABLE IF NOT EXISTS sfemu._meta (key text PRIMARY KEY, value "
                    "bigint NOT NULL)");
    for (int i = 0; ok && i < EMU.n_objs; i++) {
        struct emu_object *o = &EMU.objs[i];
        if (o->qtable == NULL) {
            char *t = qident(c, o->obj->table);
            o->qtable = sfr_asprintf("sfemu.%s", t);
            free(t);
        }
        o->f_id = field_idx(o->obj, "Id");
        o->f_isdeleted = field_idx(o->obj, "IsDeleted");
        o->f_created = field_idx(o->obj, "CreatedDate");
        o->f_modified = field_idx(o->obj, "LastModifiedDate");
        o->f_modstamp = field_idx(o->obj, "SystemModstamp");
        o->f_createdby = field_idx(o->obj, "CreatedById");
        o->f_modifiedby = field_idx(o->obj, "LastModifiedById");
        o->f_owner = field_idx(o->obj, "OwnerId");
        o->f_name = field_idx(o->obj, "Name");
        ok = object_ddl(c, o);
    }
    if (ok)
        ok = admin_user(c);
    for (int i = 0; ok && i < EMU.n_objs; i++)
        emu_sync_seq(c, &EMU.objs[i]);
    if (ok)
        load_usage(c);
    if (!ok)
        snprintf(errmsg, n, "creating schema sfemu failed (see the log above)");
    emu_pg_put(c);
    return ok;
}

bool emu_event_insert(PGconn *c, const char *entity, const char *change, const char *ids_json,
                      const char *changed_json, int64_t ts_ms, const char *payload)
{
    return emu_cdc_insert(c, entity, change, ids_json, changed_json, ts_ms, payload);
}

void emu_events_signal(void)
{
    pthread_mutex_lock(&EMU.lock);
    EMU.event_gen++;
    pthread_cond_broadcast(&EMU.event_cond);
    pthread_mutex_unlock(&EMU.lock);
}
