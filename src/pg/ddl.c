/* ddl.c — the DDL of a Heroku Connect mirror for a mapping (docs/mirror.md).
 *
 * The text is printed without a connection (`sfrecon schema` runs offline),
 * so identifiers are quoted by sfr_pg_ident_append, which quotes exactly like
 * PQescapeIdentifier, and string literals inside function bodies double their
 * quotes (standard_conforming_strings). Everything is idempotent: CREATE ...
 * IF NOT EXISTS, CREATE OR REPLACE FUNCTION, DROP TRIGGER IF EXISTS before
 * CREATE TRIGGER, so the script can be applied to a database twice. The
 * optional write path mirrors what Connect installs: the _trigger_log tables,
 * a BEFORE status trigger and an AFTER logger trigger per table that only logs
 * writes made while xmlbinary has its server default 'base64' (an app's
 * writes), never the sync process's own writes. */
#include "sfrecon/pg.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Fields whose columns are system columns of every table. */
static bool is_system_field(const char *name)
{
    static const char *const sys[] = {"Id", "SystemModstamp", "IsDeleted", "CreatedDate"};
    for (size_t i = 0; i < sizeof(sys) / sizeof(sys[0]); i++)
        if (strcasecmp(name, sys[i]) == 0)
            return true;
    return false;
}

/* Connect does not give these objects an isdeleted column. */
static bool has_isdeleted(const char *object)
{
    return strcasecmp(object, "User") != 0 && strcasecmp(object, "RecordType") != 0 &&
           strcasecmp(object, "EmailTemplate") != 0;
}

static void lit_append(struct sfr_buf *b, const char *s)
{
    sfr_buf_putc(b, '\'');
    for (const char *p = s; *p; p++) {
        if (*p == '\'')
            sfr_buf_putc(b, '\'');
        sfr_buf_putc(b, *p);
    }
    sfr_buf_putc(b, '\'');
}

/* Appends a quoted identifier built from prefix + table + suffix. */
static void name_append(struct sfr_buf *b, const char *prefix, const char *table,
                        const char *suffix)
{
    char *n = sfr_asprintf("%s%s%s", prefix, table, suffix);
    sfr_pg_ident_append(b, n);
    sfr_free(n);
}

/* CREATE INDEX <prefix><table>_<col><name_suffix> ON table (col<expr_suffix>). */
static void index_append(struct sfr_buf *b, const char *schema, const char *table, bool unique,
                         const char *prefix, const char *col, const char *name_suffix,
                         const char *expr_suffix)
{
    sfr_buf_printf(b, "CREATE %sINDEX IF NOT EXISTS ", unique ? "UNIQUE " : "");
    char *n = sfr_asprintf("%s%s_%s%s", prefix, table, col, name_suffix);
    sfr_pg_ident_append(b, n);
    sfr_free(n);
    sfr_buf_puts(b, " ON ");
    sfr_pg_qualified_append(b, schema, table);
    sfr_buf_puts(b, " (");
    sfr_pg_ident_append(b, col);
    sfr_buf_printf(b, "%s);\n", expr_suffix);
}

/* Connect's logger uses hstore; get_xmlbinary() tells its triggers whether
 * the session is the sync process's (xmlbinary 'hex', then nothing is logged). */
static void write_path_xmlbinary(struct sfr_buf *b)
{
    sfr_buf_puts(b, "\n-- Heroku Connect write path (writes from Postgres to Salesforce)\n"
                    "CREATE EXTENSION IF NOT EXISTS hstore WITH SCHEMA public;\n"
                    "CREATE OR REPLACE FUNCTION public.get_xmlbinary() RETURNS varchar\n"
                    "LANGUAGE plpgsql AS $hc$\n"
                    "DECLARE\n"
                    "    xmlbin varchar;\n"
                    "BEGIN\n"
                    "    SELECT INTO xmlbin setting FROM pg_catalog.pg_settings"
                    " WHERE name = 'xmlbinary';\n"
                    "    RETURN xmlbin;\n"
                    "END $hc$;\n");
}

/* _trigger_log and _trigger_log_archive with their indexes. */
static void write_path_log_tables(struct sfr_buf *b, const char *schema)
{
    static const char *const log_cols = "    txid bigint,\n"
                                        "    created_at timestamptz DEFAULT now(),\n"
                                        "    updated_at timestamptz DEFAULT now(),\n"
                                        "    processed_at timestamptz,\n"
                                        "    processed_tx bigint,\n"
                                        "    state varchar(8),\n"
                                        "    action varchar(7),\n"
                                        "    table_name varchar(128),\n"
                                        "    record_id integer,\n"
                                        "    sfid varchar(18),\n"
                                        "    old text,\n"
                                        "    \"values\" text,\n"
                                        "    sf_result integer,\n"
                                        "    sf_message text\n";
    sfr_buf_puts(b, "CREATE TABLE IF NOT EXISTS ");
    sfr_pg_qualified_append(b, schema, "_trigger_log");
    sfr_buf_printf(b, " (\n    id serial PRIMARY KEY,\n%s);\n", log_cols);
    sfr_buf_puts(b, "CREATE TABLE IF NOT EXISTS ");
    sfr_pg_qualified_append(b, schema, "_trigger_log_archive");
    sfr_buf_printf(b, " (\n    id integer PRIMARY KEY,\n%s);\n", log_cols);
    const char *idx[][3] = {
        {"_trigger_log_idx_state_id", "_trigger_log", "state, id"},
        {"_trigger_log_idx_created_at", "_trigger_log", "created_at"},
        {"_trigger_log_idx_record", "_trigger_log", "table_name, record_id"},
        {"_trigger_log_archive_idx_state_id", "_trigger_log_archive", "state, id"},
        {"_trigger_log_archive_idx_record", "_trigger_log_archive", "table_name, record_id"},
    };
    for (size_t i = 0; i < sizeof(idx) / sizeof(idx[0]); i++) {
        sfr_buf_puts(b, "CREATE INDEX IF NOT EXISTS ");
        sfr_pg_ident_append(b, idx[i][0]);
        sfr_buf_puts(b, " ON ");
        sfr_pg_qualified_append(b, schema, idx[i][1]);
        sfr_buf_printf(b, " (%s);\n", idx[i][2]);
    }
}

/* _hcmeta and _sf_event_log. */
static void write_path_meta_tables(struct sfr_buf *b, const char *schema)
{
    sfr_buf_puts(b, "CREATE TABLE IF NOT EXISTS ");
    sfr_pg_qualified_append(b, schema, "_hcmeta");
    sfr_buf_puts(b, " (\n    id serial PRIMARY KEY,\n    hcver integer,\n"
                    "    org_id varchar(50),\n    details text\n);\n");
    sfr_buf_puts(b, "CREATE TABLE IF NOT EXISTS ");
    sfr_pg_qualified_append(b, schema, "_sf_event_log");
    sfr_buf_puts(b, " (\n    id serial PRIMARY KEY,\n    table_name varchar(128),\n"
                    "    action varchar(7),\n    synced_at timestamptz DEFAULT now(),\n"
                    "    sf_timestamp timestamptz,\n    sfid varchar(20),\n    record text,\n"
                    "    processed boolean\n);\n");
}

/* pg_notify on every new log entry wakes the writer. */
static void write_path_notify(struct sfr_buf *b, const char *schema)
{
    sfr_buf_puts(b, "CREATE OR REPLACE FUNCTION ");
    sfr_pg_qualified_append(b, schema, "tlog_notify_trigger");
    sfr_buf_puts(b, "() RETURNS trigger\nLANGUAGE plpgsql AS $hc$\nBEGIN\n    PERFORM pg_notify(");
    char *chan = sfr_asprintf("%s.hc_trigger_log", schema);
    lit_append(b, chan);
    sfr_free(chan);
    sfr_buf_puts(b, ", 'ping');\n    RETURN NEW;\nEND $hc$;\nDROP TRIGGER IF EXISTS "
                    "\"tlog_insert_trigger\" ON ");
    sfr_pg_qualified_append(b, schema, "_trigger_log");
    sfr_buf_puts(b, ";\nCREATE TRIGGER \"tlog_insert_trigger\" AFTER INSERT ON ");
    sfr_pg_qualified_append(b, schema, "_trigger_log");
    sfr_buf_puts(b, "\n    FOR EACH ROW EXECUTE PROCEDURE ");
    sfr_pg_qualified_append(b, schema, "tlog_notify_trigger");
    sfr_buf_puts(b, "();\n");
}

/* hc_capture_insert_from_row / hc_capture_update_from_row: queue a row by
 * hand (Connect's documented helpers). */
static void write_path_capture_fn(struct sfr_buf *b, const char *schema, bool upd)
{
    sfr_buf_puts(b, "CREATE OR REPLACE FUNCTION ");
    sfr_pg_qualified_append(b, schema,
                            upd ? "hc_capture_update_from_row" : "hc_capture_insert_from_row");
    sfr_buf_puts(b, "(source_row public.hstore, table_name varchar,"
                    " columns text[] DEFAULT ARRAY[]::text[])\n"
                    "RETURNS integer LANGUAGE plpgsql AS $hc$\n"
                    "DECLARE\n"
                    "    excluded text[] := ARRAY['_hc_lastop', '_hc_err'];\n"
                    "    retval integer;\n"
                    "BEGIN\n"
                    "    IF (source_row OPERATOR(public.->) 'id') IS NULL THEN\n"
                    "        RETURN NULL;\n"
                    "    END IF;\n");
    if (upd)
        sfr_buf_puts(b, "    IF coalesce(array_length(columns, 1), 0) > 0 THEN\n"
                        "        excluded := excluded || array(SELECT public.skeys(source_row)"
                        " EXCEPT SELECT unnest(columns || ARRAY['id', 'sfid']));\n"
                        "    END IF;\n");
    else
        sfr_buf_puts(b, "    excluded := excluded || array_remove(array_remove(columns, 'id'),"
                        " 'sfid');\n");
    sfr_buf_puts(b, "    INSERT INTO ");
    sfr_pg_qualified_append(b, schema, "_trigger_log");
    sfr_buf_printf(b,
                   " (action, table_name, txid, created_at, state,"
                   " record_id, sfid, \"values\")\n"
                   "    VALUES ('%s', table_name, txid_current(), clock_timestamp(), 'NEW',\n"
                   "            (source_row OPERATOR(public.->) 'id')::integer,"
                   " source_row OPERATOR(public.->) 'sfid',\n"
                   "            (source_row OPERATOR(public.-) excluded)::text)\n"
                   "    RETURNING id INTO retval;\n"
                   "    RETURN retval;\n"
                   "END $hc$;\n",
                   upd ? "UPDATE" : "INSERT");
}

/* Connect's shared objects of the write path, once per schema. */
static void write_path_common(struct sfr_buf *b, const char *schema)
{
    write_path_xmlbinary(b);
    write_path_log_tables(b, schema);
    write_path_meta_tables(b, schema);
    write_path_notify(b, schema);
    write_path_capture_fn(b, schema, false);
    write_path_capture_fn(b, schema, true);
}

/* DROP TRIGGER IF EXISTS hc_<table><suffix>, then CREATE TRIGGER ... <when>
 * FOR EACH ROW<cond> EXECUTE PROCEDURE <schema>.<fn>(): re-runnable. */
static void trigger_append(struct sfr_buf *b, const char *schema, const char *table,
                           const char *suffix, const char *when, const char *cond, const char *fn)
{
    sfr_buf_puts(b, "DROP TRIGGER IF EXISTS ");
    name_append(b, "hc_", table, suffix);
    sfr_buf_puts(b, " ON ");
    sfr_pg_qualified_append(b, schema, table);
    sfr_buf_puts(b, ";\nCREATE TRIGGER ");
    name_append(b, "hc_", table, suffix);
    sfr_buf_printf(b, " %s ON ", when);
    sfr_pg_qualified_append(b, schema, table);
    sfr_buf_printf(b, "\n    FOR EACH ROW%s EXECUTE PROCEDURE ", cond);
    sfr_pg_qualified_append(b, schema, fn);
    sfr_buf_puts(b, "();\n");
}

/* The status (BEFORE) and logger (AFTER) triggers of one table. */
static void write_path_table(struct sfr_buf *b, const char *schema, const char *table,
                             bool read_only)
{
    char *status_fn = sfr_asprintf("hc_%s_status", table);
    char *logger_fn = sfr_asprintf("hc_%s_logger", table);
    sfr_buf_puts(b, "CREATE OR REPLACE FUNCTION ");
    sfr_pg_qualified_append(b, schema, status_fn);
    sfr_buf_puts(b, "() RETURNS trigger\nLANGUAGE plpgsql AS $hc$\n"
                    "BEGIN\n"
                    "    IF public.get_xmlbinary() = 'base64' THEN -- an app's write\n"
                    "        NEW._hc_lastop = 'PENDING';\n"
                    "        NEW._hc_err = NULL;\n"
                    "        RETURN NEW;\n"
                    "    END IF;\n"
                    "    -- the sync process's write: it may set the status itself (FAILED)\n"
                    "    IF TG_OP = 'UPDATE' AND NEW._hc_lastop IS NOT NULL\n"
                    "       AND NEW._hc_lastop IS DISTINCT FROM OLD._hc_lastop THEN\n"
                    "        RETURN NEW;\n"
                    "    END IF;\n"
                    "    NEW._hc_lastop = 'SYNCED';\n"
                    "    NEW._hc_err = NULL;\n"
                    "    RETURN NEW;\n"
                    "END $hc$;\n");

    sfr_buf_puts(b, "CREATE OR REPLACE FUNCTION ");
    sfr_pg_qualified_append(b, schema, logger_fn);
    sfr_buf_printf(b,
                   "() RETURNS trigger\nLANGUAGE plpgsql AS $hc$\n"
                   "DECLARE\n"
                   "    excluded text[] := ARRAY['_hc_lastop', '_hc_err'];\n"
                   "    v_old public.hstore;\n"
                   "    v_values public.hstore;\n"
                   "    v_state varchar(8) := '%s';\n"
                   "    v_record integer;\n"
                   "    v_sfid varchar(18);\n"
                   "BEGIN\n"
                   "    IF TG_OP = 'DELETE' THEN\n"
                   "        v_record := OLD.id;\n"
                   "        v_sfid := OLD.sfid;\n"
                   "        v_old := public.hstore(OLD.*) OPERATOR(public.-) excluded;\n"
                   "    ELSIF TG_OP = 'INSERT' THEN\n"
                   "        v_record := NEW.id;\n"
                   "        v_sfid := NEW.sfid;\n"
                   "        v_values := public.hstore(NEW.*) OPERATOR(public.-) excluded;\n"
                   "    ELSE\n"
                   "        v_record := NEW.id;\n"
                   "        v_sfid := OLD.sfid;\n"
                   "        v_old := public.hstore(OLD.*) OPERATOR(public.-) excluded;\n"
                   "        v_values := (public.hstore(NEW.*) OPERATOR(public.-) v_old)"
                   " OPERATOR(public.-) excluded;\n"
                   "        IF v_values::text = '' AND v_state = 'NEW' THEN\n"
                   "            v_state := 'IGNORE';\n"
                   "        END IF;\n"
                   "    END IF;\n"
                   "    INSERT INTO ",
                   read_only ? "READONLY" : "NEW");
    sfr_pg_qualified_append(b, schema, "_trigger_log");
    sfr_buf_puts(b, " (txid, created_at, updated_at, state, action, table_name,"
                    " record_id, sfid, old, \"values\")\n"
                    "    VALUES (txid_current(), clock_timestamp(), clock_timestamp(), v_state,"
                    " TG_OP, TG_TABLE_NAME,\n"
                    "            v_record, v_sfid, v_old::text, v_values::text);\n"
                    "    RETURN NULL;\n"
                    "END $hc$;\n");

    trigger_append(b, schema, table, "_status_trigger", "BEFORE INSERT OR UPDATE", "", status_fn);
    trigger_append(b, schema, table, "_logtrigger", "AFTER INSERT OR UPDATE OR DELETE",
                   " WHEN (public.get_xmlbinary()::text = 'base64')", logger_fn);
    sfr_free(status_fn);
    sfr_free(logger_fn);
}

static void column_append(struct sfr_buf *b, struct sfr_strv *seen, const char *col,
                          const char *type)
{
    if (sfr_strv_contains_ci(seen, col))
        return;
    sfr_strv_push(seen, col);
    sfr_buf_puts(b, ",\n    ");
    sfr_pg_ident_append(b, col);
    sfr_buf_printf(b, " %s", type);
}

/* One mapping's table and indexes. */
static enum sfr_rc mapping_ddl(const struct sfr_config *cfg, const struct sfr_schema *s,
                               const struct sfr_mapping *m, int mi, const struct sfr_object *obj,
                               struct sfr_buf *b, bool with_triggers, struct sfr_err *err)
{
    const char *schema = cfg->schema ? cfg->schema : SFR_PG_DEFAULT_SCHEMA;
    const char *table = obj->table;
    struct sfr_strv seen = {0};
    enum sfr_rc rc = SFR_OK;

    sfr_buf_printf(b, "\n-- %s (%s), %d mapped fields\nCREATE TABLE IF NOT EXISTS ", obj->name,
                   m->access == SFR_ACCESS_READ_WRITE ? "read_write" : "read_only", m->n_fields);
    sfr_pg_qualified_append(b, schema, table);
    sfr_buf_puts(b, " (\n    \"id\" serial PRIMARY KEY");
    sfr_strv_push(&seen, "id");
    /* what Connect creates today: byte-order (code point) collation on sfid */
    column_append(b, &seen, "sfid", "varchar(18) COLLATE \"ucs_basic\"");
    column_append(b, &seen, "systemmodstamp", "timestamp");
    if (has_isdeleted(obj->name))
        column_append(b, &seen, "isdeleted", "boolean");
    column_append(b, &seen, "_hc_lastop", "varchar(32)");
    column_append(b, &seen, "_hc_err", "text");
    column_append(b, &seen, "createddate", "timestamp");
    for (int i = 0; i < m->n_fields; i++) {
        const char *fname = m->fields[i];
        if (is_system_field(fname))
            continue;
        const struct sfr_field *f = sfr_object_field(obj, fname);
        struct sfr_relext rx;
        if (f == NULL && sfr_relext_resolve(s, obj, fname, &rx)) {
            /* the column through which an app sets the lookup by external Id */
            char *type = rx.ext ? sfr_field_pg_type(rx.ext) : NULL;
            column_append(b, &seen, rx.column, type && type[0] ? type : "varchar(255)");
            sfr_free(type);
            continue;
        }
        if (f == NULL) {
            rc = sfr_err_set(err, SFR_ECONFIG,
                             "%s:%d: mappings[%d].config.fields.%s: %s has no field %s in the "
                             "describe",
                             cfg->path ? cfg->path : "mapping", m->line, mi, fname, obj->name,
                             fname);
            sfr_err_hint(err, "remove the field from the mapping or refresh the describe files");
            goto out;
        }
        if (f->type == SFR_FT_LOCATION) {
            char *lat = sfr_asprintf("%s__latitude__s", f->column);
            char *lon = sfr_asprintf("%s__longitude__s", f->column);
            column_append(b, &seen, lat, "double precision");
            column_append(b, &seen, lon, "double precision");
            sfr_free(lat);
            sfr_free(lon);
            continue;
        }
        char *type = sfr_field_pg_type(f);
        if (type == NULL || type[0] == '\0') {
            sfr_buf_printf(b, "\n    -- %s.%s (%s) has no column in Heroku Connect", obj->name,
                           f->name, sfr_ftype_name(f->type));
            sfr_free(type);
            continue;
        }
        column_append(b, &seen, f->column, type);
        sfr_free(type);
    }
    sfr_buf_puts(b, "\n);\n");

    index_append(b, schema, table, true, "hcu_idx_", "sfid", "", "");
    index_append(b, schema, table, false, "hc_idx_", "systemmodstamp", "", "");
    for (int i = 0; i < m->n_indexes; i++) {
        const char *fname = m->index_fields[i];
        if (strcasecmp(fname, "Id") == 0 || strcasecmp(fname, "SystemModstamp") == 0)
            continue;
        const struct sfr_field *f = sfr_object_field(obj, fname);
        if (f != NULL && f->type == SFR_FT_LOCATION)
            continue;
        char *col = f ? sfr_strdup(f->column) : sfr_strdup(fname);
        for (char *p = col; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        if (sfr_strv_contains_ci(&seen, col))
            index_append(b, schema, table, m->index_unique[i],
                         m->index_unique[i] ? "hcu_idx_" : "hc_idx_", col, "", "");
        else
            sfr_buf_printf(b, "-- index on %s.%s skipped: the field is not mapped\n", obj->name,
                           fname);
        sfr_free(col);
    }
    /* Serves sfrecon's byte-order range scans, which the default-collation
     * unique index cannot (docs/mirror.md). */
    index_append(b, schema, table, false, "sfrecon_idx_", "sfid", "_c", " COLLATE \"C\"");
    if (with_triggers)
        write_path_table(b, schema, table, m->access == SFR_ACCESS_READ_ONLY);
out:
    sfr_strv_cleanup(&seen);
    return rc;
}

enum sfr_rc sfr_pg_mirror_ddl(const struct sfr_config *cfg, const struct sfr_schema *s,
                              struct sfr_buf *out, bool with_triggers, struct sfr_err *err)
{
    const char *schema = cfg->schema ? cfg->schema : SFR_PG_DEFAULT_SCHEMA;
    struct sfr_buf b = SFR_BUF_INIT;
    enum sfr_rc rc = SFR_OK;

    sfr_buf_printf(&b,
                   "-- Heroku Connect mirror layout for %s (%d mappings), printed by sfrecon.\n"
                   "-- Apply with: psql -v ON_ERROR_STOP=1 \"$DATABASE_URL\" -f FILE"
                   " (idempotent).\n"
                   "SET client_min_messages = warning;\nBEGIN;\nCREATE SCHEMA IF NOT EXISTS ",
                   cfg->path ? cfg->path : "the mapping", cfg->n_mappings);
    sfr_pg_ident_append(&b, schema);
    sfr_buf_puts(&b, ";\n");
    if (with_triggers)
        write_path_common(&b, schema);
    for (int i = 0; i < cfg->n_mappings; i++) {
        const struct sfr_mapping *m = &cfg->mappings[i];
        const struct sfr_object *obj = sfr_schema_object(s, m->object_name);
        if (obj == NULL) {
            rc = sfr_err_set(err, SFR_ECONFIG,
                             "%s:%d: mappings[%d].object_name: %s is not in the describe",
                             cfg->path ? cfg->path : "mapping", m->line, i, m->object_name);
            sfr_err_hint(err, "pass the describe files of every mapped object (--describe)");
            goto out;
        }
        rc = mapping_ddl(cfg, s, m, i, obj, &b, with_triggers, err);
        if (rc != SFR_OK)
            goto out;
    }
    sfr_buf_puts(&b, "COMMIT;\n");
    sfr_buf_append(out, b.data, b.len);
out:
    sfr_buf_cleanup(&b);
    return rc;
}
