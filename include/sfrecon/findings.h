/* findings.h — the mirror-only checks of an audit: what the mirror alone can
 * prove, without a Salesforce call. Lives in src/pg/findings.c.
 *  - missing_parent: a reference column whose value is no sfid of the
 *    parent's mirror table. A polymorphic reference (OwnerId -> User or
 *    Group, WhoId -> Contact or Lead, a lookup with several referenceTo) is
 *    resolved by the value's key prefix to the right parent table; values
 *    whose parent object is not mapped cannot be judged and are left alone.
 *  - sync_error: an app's insert that Salesforce refused (sfid NULL,
 *    _hc_lastop FAILED), reported with an empty sfid and its pg_id.
 *  - relationship external Ids (Account__ExternalId__c on Contact): the
 *    column must agree with the external Id of the parent the lookup points
 *    at, and name a parent the mirror holds (missing_parent otherwise).
 * Every query reads through a cursor (1000 rows at a time), so memory does
 * not grow with the table. A check that needs a column the table does not
 * have (a Connect variant) is skipped and said so in *skipped. */
#ifndef SFRECON_FINDINGS_H
#define SFRECON_FINDINGS_H

#include <libpq-fe.h>

#include "sfrecon/check.h"
#include "sfrecon/config.h"
#include "sfrecon/schema.h"

/* A mapped object: its describe and its mapping (both borrowed). */
struct sfr_mapped_object {
    const struct sfr_object *obj;
    const struct sfr_mapping *map;
};

/* Runs the mirror-only checks of objs[self] on conn (which must not be in a
 * transaction), handing each discrepancy to sink. Errors: SFR_EPG with the
 * SQLSTATE; a sink's non-OK code stops the checks and is returned. */
enum sfr_rc sfr_findings_mirror(PGconn *c, const char *schema, const struct sfr_schema *s,
                                const struct sfr_mapped_object *objs, int n, int self,
                                sfr_disc_sink sink, void *ctx, struct sfr_strv *skipped,
                                struct sfr_err *err) SFR_WUR;

#endif
