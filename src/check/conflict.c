/* conflict.c — the one rule that decides whether a read_write record changed
 * on both sides (check.h), shared by the audit's classifier and the sync
 * daemon's pull, so that the two never disagree and sfrecon's own pushes
 * (processed trigger-log entries, nothing queued) are never conflicts. */
#include "sfrecon/check.h"

enum sfr_conflict sfr_conflict_judge(bool pending, int64_t queued_ms, int64_t sf_mod_ms,
                                     int64_t pg_mod_ms)
{
    if (!pending || sf_mod_ms == INT64_MIN)
        return SFR_CONFLICT_NONE;
    if (pg_mod_ms != INT64_MIN && sf_mod_ms <= pg_mod_ms)
        return SFR_CONFLICT_NONE; /* Salesforce has not moved past the mirror's version */
    if (queued_ms != INT64_MIN && sf_mod_ms < queued_ms)
        return SFR_CONFLICT_SF_OLDER;
    return SFR_CONFLICT_BOTH;
}
