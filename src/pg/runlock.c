/* runlock.c — the lifecycle locks of audit runs (history.h). A running audit
 * or repair holds two session advisory locks on the mirror's database: one
 * on its mapping (the mirror schema), so a second audit of the same mapping
 * exits instead of interleaving, and one on its audit_run row, so a reader
 * can tell a live run from one left 'running' by a killed process
 * ('abandoned'). Session locks go away with the connection, also on SIGKILL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfrecon/history.h"
#include "sfrecon/pg.h"

/* the first key of the two-key advisory locks */
#define LOCK_MAPPING "21318"
#define LOCK_RUN     "21319"
/* how long a second audit of a mapping waits for the first */
#define LOCK_WAIT "2s"

enum sfr_rc sfr_history_lock_mapping(PGconn *c, const char *schema, struct sfr_err *err)
{
    const char *p[1] = {schema};
    /* a holder that just died (its backend still exiting) lets go within
     * moments: wait that long, then say who holds it */
    struct sfr_err e = {0};
    bool got = sfr_pg_exec(c, "SET lock_timeout = '" LOCK_WAIT "'", &e) == SFR_OK &&
               sfr_pg_query(c, "SELECT pg_advisory_lock(" LOCK_MAPPING ", hashtext($1))", 1, p,
                            NULL, &e, "locking the mapping") == SFR_OK;
    if (sfr_pg_exec(c, "RESET lock_timeout", NULL) != SFR_OK && got)
        return sfr_err_set(err, SFR_EPG, "resetting lock_timeout failed");
    if (got)
        return SFR_OK;
    if (strcmp(e.sqlstate, "55P03") != 0) { /* not a timeout */
        if (err != NULL)
            *err = e;
        return e.rc != SFR_OK ? e.rc : SFR_EPG;
    }

    /* who holds it, for the message */
    PGresult *r = NULL;
    enum sfr_rc qrc =
        sfr_pg_query(c,
                     "SELECT l.pid, coalesce((SELECT max(id) FROM sfrecon.audit_run "
                     "WHERE status = 'running'), 0) FROM pg_locks l "
                     "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = " LOCK_MAPPING
                     " AND l.objid = hashtext($1)::oid AND l.objsubid = 2 "
                     "AND l.database = (SELECT oid FROM pg_database "
                     "WHERE datname = current_database()) LIMIT 1",
                     1, p, &r, NULL, "who holds the mapping");
    long pid = 0, run = 0;
    if (qrc == SFR_OK && PQntuples(r) == 1) {
        pid = atol(PQgetvalue(r, 0, 0));
        run = atol(PQgetvalue(r, 0, 1));
    }
    if (r != NULL)
        PQclear(r);
    char who[96] = "";
    if (pid > 0 && run > 0)
        snprintf(who, sizeof(who), " (database backend pid %ld, audit run %ld)", pid, run);
    else if (pid > 0)
        snprintf(who, sizeof(who), " (database backend pid %ld)", pid);
    enum sfr_rc rc = sfr_err_set(err, SFR_EBUSY,
                                 "another sfrecon audit or repair of mirror schema %s is running%s",
                                 schema, who);
    sfr_err_hint(err, "wait for it to finish, or stop it (SIGTERM stores it as interrupted)");
    return rc;
}

enum sfr_rc sfr_history_lock_run(PGconn *c, long run_id, struct sfr_err *err)
{
    char id[32];
    snprintf(id, sizeof(id), "%ld", run_id);
    const char *p[1] = {id};
    return sfr_pg_query(c, "SELECT pg_advisory_lock(" LOCK_RUN ", ($1::bigint % 2147483647)::int)",
                        1, p, NULL, err, "locking the audit run");
}

bool sfr_history_run_alive(PGconn *c, long run_id)
{
    char id[32];
    snprintf(id, sizeof(id), "%ld", run_id);
    const char *p[1] = {id};
    PGresult *r = NULL;
    enum sfr_rc rc = sfr_pg_query(c,
                                  "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND "
                                  "granted AND classid = " LOCK_RUN
                                  " AND objid = ($1::bigint % 2147483647)::oid AND objsubid = 2 "
                                  "AND database = (SELECT oid FROM pg_database "
                                  "WHERE datname = current_database())",
                                  1, p, &r, NULL, "reading pg_locks");
    /* when pg_locks cannot be read, do not call a run dead */
    bool alive = rc != SFR_OK || atol(PQgetvalue(r, 0, 0)) > 0;
    if (r != NULL)
        PQclear(r);
    return alive;
}
