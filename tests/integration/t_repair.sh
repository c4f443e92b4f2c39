# repair end to end on generated orgs with every cause: audit -> repair ->
# audit is clean; a second repair changes nothing; --undo gives back a mirror
# whose data dump is identical to the one taken before; repairs killed with
# SIGKILL after 1, 2, 4 and 7 write batches and then run again converge (no
# row lost, none duplicated); pg_wins writes Salesforce in collection calls
# and undo lists those changes; --only, --from, the plan formats, and the
# usage errors.
. "$TOP/tests/integration/lib.sh"
start_sfemu
sf_login SF_RETRY_BASE_MS=10


# dump DB FILE: the mirror's data, sorted; sequence positions and psql's
# per-dump \restrict keys are not data
dump() {
    pg_dump --data-only --schema=salesforce "$1" | grep -v -e '^SELECT pg_catalog.setval' \
        -e '^\\restrict' -e '^\\unrestrict' | sort >"$2" || fail "pg_dump"
}

# no_dups DB: no sfid held by two rows in any mirror table
no_dups() {
    for t in account contact opportunity "case" lead invoice__c invoice_line__c; do
        n=$(psql -Atq "$1" -c "SELECT count(*) - count(DISTINCT sfid) FROM salesforce.\"$t\"")
        assert_eq "$n" 0 "duplicate sfids in $t"
    done
}

audit_clean() { # audit_clean DB
    DATABASE_URL="$1" expect_exit 0 "$SFRECON" audit -c "$MAP" --no-store --format csv
}

# 1. usage errors need no connection
expect_exit 2 "$SFRECON" repair --from a.json --run 1
expect_exit 2 "$SFRECON" repair --only truncation,bogus --dry-run
assert_contains "$TMPD/err" "bogus"
expect_exit 2 "$SFRECON" repair --run yesterday
expect_exit 2 "$SFRECON" repair --undo 3 --dry-run

# 2. every cause: plan, refuse without --yes, apply, audit clean
DB=$(new_db repair_all)
gen_org 1 "all=2" "$DB"
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" audit -c "$MAP"
DATABASE_URL="$DB" expect_exit 0 "$SFRECON" repair -c "$MAP" --run latest --dry-run
assert_contains "$TMPD/out" "repair plan:"
assert_contains "$TMPD/out" "pg_upsert sf->pg"
assert_contains "$TMPD/out" "pg_delete sf->pg"
assert_contains "$TMPD/out" " -> "
DATABASE_URL="$DB" expect_exit 0 "$SFRECON" repair -c "$MAP" --run latest --dry-run --format json
assert_contains "$TMPD/out" '"op":"pg_update","direction":"sf->pg"'
assert_contains "$TMPD/out" '"before":'
for cause in missing_in_pg missing_in_sf missing_parent truncation type_mismatch stale \
             conflict sync_error duplicate field_mismatch; do
    assert_contains "$TMPD/out" "\"cause\":\"$cause\""
done
DATABASE_URL="$DB" expect_exit 0 "$SFRECON" repair -c "$MAP" --run latest --dry-run \
    --only truncation --format json
assert_contains "$TMPD/out" '"cause":"truncation"'
assert_not_contains "$TMPD/out" '"cause":"stale"'
DATABASE_URL="$DB" expect_exit 2 "$SFRECON" repair -c "$MAP" --run latest </dev/null
assert_contains "$TMPD/err" "--yes"
dump "$DB" "$TMPD/before.txt"
fails_before=$(psql -Atq "$DB" -c "SELECT count(*) FROM salesforce._trigger_log WHERE state = 'FAILED'")
DATABASE_URL="$DB" expect_exit 0 "$SFRECON" repair -c "$MAP" --run latest --yes
assert_contains "$TMPD/out" " 0 failed, 0 skipped"
assert_not_contains "$TMPD/out" "  failed "
note "$(grep '^repair run' "$TMPD/out")"
note "$(grep '^writes:' "$TMPD/out")"
audit_clean "$DB"
no_dups "$DB"
n=$(psql -Atq "$DB" -c "SELECT count(*) FROM salesforce._trigger_log WHERE state = 'FAILED'")
assert_eq "$n" 0 "FAILED _trigger_log entries left"
[ "$fails_before" -gt 0 ] || fail "the generated org has no FAILED _trigger_log entry"
n=$(psql -Atq "$DB" -c "SELECT count(*) FROM salesforce._trigger_log WHERE state IN ('NEW', 'PENDING')")
assert_eq "$n" 0 "repair writes were queued back to Salesforce"
note "every cause repaired; audit clean"

# 3. a second run is a no-op: nothing written, no new run
runs=$(psql -Atq "$DB" -c "SELECT count(*) FROM sfrecon.repair_run")
DATABASE_URL="$DB" expect_exit 0 "$SFRECON" repair -c "$MAP" --run 1 --yes
assert_contains "$TMPD/out" "nothing to repair"
assert_eq "$(psql -Atq "$DB" -c "SELECT count(*) FROM sfrecon.repair_run")" "$runs" "runs"

# 4. undo: the mirror's data is exactly what it was
DATABASE_URL="$DB" expect_exit 0 "$SFRECON" repair --undo latest
assert_contains "$TMPD/out" "mirror changes undone"
dump "$DB" "$TMPD/after.txt"
diff "$TMPD/before.txt" "$TMPD/after.txt" >"$TMPD/dump.diff" || {
    head -n 40 "$TMPD/dump.diff"; fail "undo did not restore the mirror"; }
DATABASE_URL="$DB" expect_exit 0 "$SFRECON" repair --undo latest
assert_contains "$TMPD/out" "0 mirror changes undone"
DATABASE_URL="$DB" expect_exit 2 "$SFRECON" repair --undo 99999
note "undo restored an identical dump"

# 5. killed mid-way at several points, then run again: converges
for k in 1 2 4 7; do
    SFRECON_TEST_KILL_AT=batch:$k DATABASE_URL="$DB" "$TOP/$BUILD/sfrecon-test" repair -c "$MAP" --run 1 \
        --yes >"$TMPD/out" 2>"$TMPD/err"
    code=$?
    [ "$code" -eq 137 ] || [ "$code" -eq 0 ] || { cat "$TMPD/err"; fail "kill $k: exit $code"; }
done
DATABASE_URL="$DB" expect_exit 0 "$SFRECON" repair -c "$MAP" --run 1 --yes
audit_clean "$DB"
no_dups "$DB"
n=$(psql -Atq "$DB" -c "SELECT count(*) FROM sfrecon.repair_run WHERE status = 'interrupted'")
[ "$n" -ge 1 ] || fail "killed runs not marked interrupted"
DATABASE_URL="$DB" expect_exit 0 "$SFRECON" repair -c "$MAP" --run 1 --yes
assert_contains "$TMPD/out" "nothing to repair"
note "killed repairs converged ($n interrupted runs)"

# 6. fresh audit when no --run/--from; --from a JSON report
DB=$(new_db repair_fresh)
gen_org 2 "all=1" "$DB"
DATABASE_URL="$DB" "$SFRECON" audit -c "$MAP" --format json --no-store >"$TMPD/report.json" 2>/dev/null
DATABASE_URL="$DB" expect_exit 0 "$SFRECON" repair -c "$MAP" --from "$TMPD/report.json" --dry-run
assert_contains "$TMPD/out" "repair plan:"
DATABASE_URL="$DB" expect_exit 0 "$SFRECON" repair -c "$MAP" --yes --format json
assert_contains "$TMPD/out" '"failed":0'
audit_clean "$DB"

# 7. pg_wins: the mirror's values go to Salesforce in collection calls
sed 's/^{/{"sfrecon": {"repair_policy": "pg_wins"},/' "$MAP" >"$TMPD/pgwins.json"
DB=$(new_db repair_pgwins)
gen_org 3 "all=2" "$DB"
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" audit -c "$TMPD/pgwins.json"
DATABASE_URL="$DB" expect_exit 0 "$SFRECON" repair -c "$TMPD/pgwins.json" --run latest --dry-run
assert_contains "$TMPD/out" "sf_update pg->sf"
assert_contains "$TMPD/out" "sf_create pg->sf"
n_sf=$(grep -c '^  sf_' "$TMPD/out")
DATABASE_URL="$DB" expect_exit 0 "$SFRECON" repair -c "$TMPD/pgwins.json" --run latest --yes
line=$(grep '^writes:' "$TMPD/out")
note "pg_wins: $n_sf Salesforce writes planned; $line"
recs=$(echo "$line" | sed -n 's/.* \([0-9]*\) Salesforce records in \([0-9]*\) collection.*/\1/p')
calls=$(echo "$line" | sed -n 's/.* \([0-9]*\) Salesforce records in \([0-9]*\) collection.*/\2/p')
assert_eq "$recs" "$n_sf" "Salesforce records written"
# one call per object and operation with at most 200 records each: here 2 objects x 2 ops at most
[ "$calls" -le 4 ] || fail "$calls collection calls for $recs records"
audit_clean "$DB"
DATABASE_URL="$DB" expect_exit 0 "$SFRECON" repair --undo latest
assert_contains "$TMPD/out" "cannot be undone by sfrecon"
assert_contains "$TMPD/out" "set back to"
assert_contains "$TMPD/out" "created by the repair"
note "pg_wins repaired through Salesforce; undo listed what to reverse by hand"
exit 0
