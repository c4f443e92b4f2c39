/* coltypes.h — a describe taken from a mirror's own column types.
 *
 * Two Postgres mirrors (a Connect database and a restored backup, staging
 * and production) compare with nothing but the mapping: the field types that
 * canonicalisation needs come from the columns of the source database, read
 * back through the Heroku Connect type mapping (varchar(18) Id columns,
 * boolean, double precision, timestamp, ...). `--describe` still overrides. */
#ifndef SFRECON_COLTYPES_H
#define SFRECON_COLTYPES_H

#include <libpq-fe.h>

#include "sfrecon/config.h"
#include "sfrecon/err.h"
#include "sfrecon/schema.h"

/* The field type a Heroku Connect column of Postgres type `pgtype` (as
 * format_type prints it: "character varying(255)", "double precision",
 * "numeric(18,2)", "timestamp without time zone", ...) holds, with its text
 * length and scale. `field` is the field's API name (an Id-like name makes a
 * varchar(18) a reference). Exposed for unit tests. */
enum sfr_ftype sfr_coltype_field_type(const char *pgtype, const char *field, int *length,
                                      int *scale);

/* Builds one object per mapping of cfg from the columns of its table in
 * cfg->schema on conn: Id (the sfid column), each mapped field that has a
 * column, typed by sfr_coltype_field_type. A mapped field without a column is
 * left out (the projection then warns); a mapping without a table is an
 * SFR_ECONFIG error naming the mapping's line. Caller frees *out. */
enum sfr_rc sfr_pg_schema_from_columns(PGconn *conn, const struct sfr_config *cfg,
                                       struct sfr_schema *out, struct sfr_err *err) SFR_WUR;

#endif
