# sync re-reads a window before its cursor: a record that Salesforce stamped a
# little earlier than the last one pulled, but committed after that pull, still
# reaches the mirror; records already there are not written again, and a
# PENDING row whose record comes back through the window unchanged is no
# conflict. The emulator's clock makes the out-of-order commit deterministic.
. "$TOP/tests/integration/lib.sh"
start_sfemu
sf_login
DB=$(new_db sync_overlap)
orggen_into "$DB" "$TMPD/gen" --size 50 --seed 2 --manifest "$TMPD/m.csv" --triggers
export DATABASE_URL="$DB"
TOK=$(sf_token)
API="$SFEMU_URL/services/data/v60.0"
patch_name() {
    code=$(curl -s -o /dev/null -w '%{http_code}' -X PATCH -H "Authorization: Bearer $TOK" \
        -H 'Content-Type: application/json' -d "{\"Name\":\"$2\"}" "$API/sobjects/Account/$1")
    assert_eq "$code" 204 "PATCH $1"
}
clock() { curl -s -X POST "$SFEMU_URL/__emu/clock" -d "{\"now\":\"$1\"}" >/dev/null; }
A=$(psql -Atq "$DB" -c "SELECT sfid FROM salesforce.account ORDER BY sfid LIMIT 1")
B=$(psql -Atq "$DB" -c "SELECT sfid FROM salesforce.account ORDER BY sfid LIMIT 1 OFFSET 1")
expect_exit 0 "$SFRECON" sync -c "$MAP" --once
clock "2030-01-01T00:00:10.000Z"
patch_name "$A" "Stamped later"
expect_exit 0 "$SFRECON" sync -c "$MAP" --once
assert_contains "$TMPD/err" "pulled 1, deleted 0"
clock "2030-01-01T00:00:08.000Z"
patch_name "$B" "Stamped earlier, committed later"
expect_exit 0 "$SFRECON" sync -c "$MAP" --once
assert_contains "$TMPD/err" "pulled 1, deleted 0"
assert_eq "$(psql -Atq "$DB" -c "SELECT name FROM salesforce.account WHERE sfid = '$B'")" \
    "Stamped earlier, committed later" "the late commit reached the mirror"
expect_exit 0 "$SFRECON" sync -c "$MAP" --once
assert_contains "$TMPD/err" "pulled 0, deleted 0"

# An app write queued after the pull of a record that Salesforce stamped
# ahead of the database's clock: the overlap window reads the record again
# at the row's own systemmodstamp. Salesforce has not moved past the row, so
# by sfr_conflict_judge (the audit's rule) this is no conflict: the row is
# kept and pushed. (Comparing the stamp with the queued time alone, it was
# a conflict.)
clock "2030-01-01T00:01:00.000Z"
patch_name "$A" "Pulled, then edited by the app"
expect_exit 0 "$SFRECON" sync -c "$MAP" --once
assert_contains "$TMPD/err" "pulled 1, deleted 0"
psql -Atq "$DB" -c "UPDATE salesforce.account SET phone = '555-0199' WHERE sfid = '$A'" ||
    fail "app update"
assert_eq "$(psql -Atq "$DB" -c "SELECT _hc_lastop FROM salesforce.account WHERE sfid = '$A'")" \
    PENDING "app write queued"
expect_exit 0 "$SFRECON" sync -c "$MAP" --once
assert_contains "$TMPD/err" "pushed 1, failed 0, ignored 0, conflicts 0"
assert_not_contains "$TMPD/err" "conflict:"
assert_eq "$(psql -Atq "$DB" -c "SELECT state FROM salesforce._trigger_log WHERE sfid = '$A'")" \
    SUCCESS "the app's write pushed"
curl -s -H "Authorization: Bearer $TOK" "$API/sobjects/Account/$A" >"$TMPD/a.json"
assert_contains "$TMPD/a.json" '"Phone":"555-0199"'
assert_contains "$TMPD/a.json" '"Name":"Pulled, then edited by the app"'
# the push coming back is no conflict either, and both sides agree
expect_exit 0 "$SFRECON" sync -c "$MAP" --once
assert_contains "$TMPD/err" "conflicts 0"
assert_eq "$(psql -Atq "$DB" -c "SELECT phone || '|' || _hc_lastop FROM salesforce.account
                                 WHERE sfid = '$A'")" "555-0199|SYNCED" "row synced"
expect_exit 0 "$SFRECON" audit -c "$MAP" --no-store
assert_contains "$TMPD/out" "0 discrepancies"
exit 0
