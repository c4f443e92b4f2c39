/* advice.c — what each cause means and what settles it, in the words the
 * HTML report and the diff show next to the records (docs/causes.md has the
 * detection rules behind them). */
#include "report_internal.h"

static const char *const meaning[SFR_CAUSE_N] = {
    [SFR_CAUSE_MISSING_IN_PG] = "Live in Salesforce, absent from the mirror.",
    [SFR_CAUSE_MISSING_IN_SF] =
        "A mirror row whose record does not exist in Salesforce, or was deleted there.",
    [SFR_CAUSE_MISSING_PARENT] =
        "A lookup or master-detail value points to a parent the mirror does not hold.",
    [SFR_CAUSE_TRUNCATION] = "The mirror holds the value cut short (a prefix, or cut at the "
                             "column length).",
    [SFR_CAUSE_TYPE_MISMATCH] =
        "Same value in another representation: a 15-character Id, lost decimals, a shifted "
        "time zone, a value that does not parse for the field's type.",
    [SFR_CAUSE_STALE] = "The mirror holds an older version of the record.",
    [SFR_CAUSE_CONFLICT] = "Changed on both sides since the last sync (read_write mapping).",
    [SFR_CAUSE_SYNC_ERROR] = "The mirror's last write to Salesforce failed.",
    [SFR_CAUSE_DUPLICATE] = "More than one mirror row holds the same sfid.",
    [SFR_CAUSE_FIELD_MISMATCH] = "The values differ and no known pattern explains it.",
};

static const char *const remedy[SFR_CAUSE_N] = {
    [SFR_CAUSE_MISSING_IN_PG] =
        "Heroku Connect has not written these records. If the count grows night after night, "
        "check the mapping's polling and the Connect dashboard first.",
    [SFR_CAUSE_MISSING_IN_SF] =
        "The mirror kept rows Salesforce no longer has (Salesforce wins on read_only; "
        "pg_wins on a read_write mapping creates them in Salesforce instead).",
    [SFR_CAUSE_MISSING_PARENT] =
        "The parent chain is brought into the mirror first; if the parent object is not "
        "mapped at all, map it.",
    [SFR_CAUSE_TRUNCATION] =
        "Widen the mirror column first (sfrecon lint prints the ALTER), or the next sync "
        "cuts the values again.",
    [SFR_CAUSE_TYPE_MISMATCH] =
        "Find what wrote the value (a column type that cannot hold the field, an app writing "
        "15-character Ids or local times; sfrecon lint checks the column types).",
    [SFR_CAUSE_STALE] = "Connect is behind; this often settles at the next poll. If the same "
                        "records stay stale, rewrite them from Salesforce.",
    [SFR_CAUSE_CONFLICT] =
        "The mapping's repair policy decides (sf_wins, newest_wins or pg_wins); read the plan "
        "before applying it.",
    [SFR_CAUSE_SYNC_ERROR] =
        "Fix what Salesforce refused (the message names it, often a validation rule), then "
        "rewrite from the winner; an app's refused insert is listed for a person to fix and "
        "requeue (set its _trigger_log entry back to NEW).",
    [SFR_CAUSE_DUPLICATE] =
        "The unique index on sfid is missing: the newest row is kept, the others deleted "
        "(journaled); then restore the unique index.",
    [SFR_CAUSE_FIELD_MISMATCH] =
        "Look for the app or job that writes these fields of the mirror; the winner's value "
        "is written back.",
};

const char *sfr_cause_meaning(enum sfr_cause c)
{
    return c >= 0 && c < SFR_CAUSE_N ? meaning[c] : "";
}

const char *sfr_cause_remedy(enum sfr_cause c)
{
    return c >= 0 && c < SFR_CAUSE_N ? remedy[c] : "";
}
