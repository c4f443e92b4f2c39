# repair --undo is exact and drift-aware: after a repair, the app changes a
# column the repair wrote on one row (drift) and an unrelated column on
# another; --undo --dry-run lists what it would restore and the drift with
# both values and changes nothing; --undo then restores every other row
# byte-exact, keeps the drifted row as the app left it (exit 1), restores
# only the repaired columns of the second row (the app's column stays, and
# so does its queued _trigger_log entry and PENDING status).
. "$TOP/tests/integration/lib.sh"
MAP="$TOP/tests/data/mapping-sample.json"
ORG="$TOP/tests/sfemu/org/sample-org.json"
start_sfemu
export SF_LOGIN_URL="$SFEMU_URL" SF_USERNAME=admin@example.com SF_PASSWORD=password \
       SF_CLIENT_ID=test SF_CLIENT_SECRET=test SF_RETRY_BASE_MS=10 SF_BULK_POLL_MS=10
DB=$(new_db repair_undo)
"$TOP/$BUILD/orggen" --sf "$SFEMU_URL" --db "$DB" --mapping "$MAP" --describe "$ORG" --size 150 \
    --seed 5 --faults "field_mismatch=6,stale=4,missing_in_pg=2,duplicate=1,sync_error=2" \
    --manifest "$TMPD/manifest.csv" --triggers >"$TMPD/gen.out" 2>&1 || { cat "$TMPD/gen.out"; fail "orggen"; }
q() { psql -Atq "$DB" -c "$1"; }
TABLES="account contact opportunity \"case\" lead invoice__c invoice_line__c"
snapshot() { # snapshot SCHEMA: a copy of every mirror table and of the trigger log
    q "DROP SCHEMA IF EXISTS $1 CASCADE; CREATE SCHEMA $1"
    for t in $TABLES _trigger_log; do q "CREATE TABLE $1.$t AS SELECT * FROM salesforce.$t"; done
}
# log_differ SCHEMA: trigger log entries of SCHEMA that are not as they were there
log_differ() {
    q "SELECT count(*) FROM $1._trigger_log b LEFT JOIN salesforce._trigger_log l USING (id)
       WHERE to_jsonb(l) IS DISTINCT FROM to_jsonb(b)"
}
# differ SCHEMA [WHERE]: rows that differ between salesforce.T and SCHEMA.T (both ways)
differ() {
    total=0
    for t in $TABLES; do
        w=${2:-true}
        n=$(q "SELECT count(*) FROM ((SELECT * FROM salesforce.$t WHERE $w EXCEPT ALL SELECT * FROM $1.$t WHERE $w)
               UNION ALL (SELECT * FROM $1.$t WHERE $w EXCEPT ALL SELECT * FROM salesforce.$t WHERE $w)) d")
        total=$((total + n))
    done
    echo "$total"
}

DATABASE_URL="$DB" expect_exit 1 "$SFRECON" audit -c "$MAP"
snapshot before
DATABASE_URL="$DB" expect_exit 0 "$SFRECON" repair -c "$MAP" --run latest --yes
DATABASE_URL="$DB" expect_exit 0 "$SFRECON" audit -c "$MAP" --no-store --format csv
snapshot repaired

# two account rows the repair updated, with a data column it changed
pick="SELECT (old_row ->> 'id') || ' ' || k FROM sfrecon.repair_journal j,
      jsonb_object_keys(j.new_row) k WHERE j.side = 'pg' AND j.op = 'update'
      AND j.table_name = 'salesforce.account' AND k NOT IN ('id', '_hc_lastop', '_hc_err', 'systemmodstamp')
      AND (j.old_row -> k) IS DISTINCT FROM (j.new_row -> k) ORDER BY j.seq"
set -- $(q "$pick" | head -n 1)
X=$1; XCOL=$2
Y=$(q "$pick" | awk -v x="$X" '$1 != x { print $1; exit }')
[ -n "$X" ] && [ -n "$Y" ] || fail "the repair updated fewer than two account rows"
note "drifted row: account id $X column $XCOL; row changed elsewhere: account id $Y"
# the app writes (xmlbinary base64, the server default: Connect's triggers log it)
q "UPDATE salesforce.account SET $XCOL = 'app wrote this' WHERE id = $X"
q "UPDATE salesforce.account SET description = 'app note' WHERE id = $Y"
[ "$(q "SELECT _hc_lastop FROM salesforce.account WHERE id = $Y")" = PENDING ] || fail "trigger did not mark PENDING"
logs=$(q "SELECT count(*) FROM salesforce._trigger_log WHERE state = 'NEW'")
snapshot drifted

# dry run: lists, exit 1, changes nothing
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" repair --undo latest --dry-run
assert_contains "$TMPD/out" "would be undone (dry run, nothing changed)"
assert_contains "$TMPD/out" "salesforce.account id $X"
assert_contains "$TMPD/out" "$XCOL: repair wrote"
assert_contains "$TMPD/out" 'now "app wrote this"'
assert_contains "$TMPD/out" "restore the columns the repair changed"
assert_eq "$(differ drifted)" 0 "rows changed by --dry-run"
assert_eq "$(log_differ drifted)" 0 "trigger log changed by --dry-run"
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" repair --undo latest --dry-run --format json
assert_contains "$TMPD/out" '"dry_run":true'
assert_contains "$TMPD/out" "\"name\":\"$XCOL\",\"repair_wrote\":"
assert_contains "$TMPD/out" '"now":"app wrote this"'

# the undo: drift kept (exit 1), everything else byte-exact
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" repair --undo latest
assert_contains "$TMPD/out" "changed since the repair and were kept"
assert_contains "$TMPD/err" "1 row kept"
assert_eq "$(q "SELECT $XCOL FROM salesforce.account WHERE id = $X")" "app wrote this" "drifted value"
# row Y: the repaired columns are back, the app's description and PENDING stay
assert_eq "$(q "SELECT description FROM salesforce.account WHERE id = $Y")" "app note" "app column"
assert_eq "$(q "SELECT _hc_lastop FROM salesforce.account WHERE id = $Y")" "PENDING" "queued status"
n=$(q "SELECT count(*) FROM salesforce.account a JOIN before.account b USING (id) WHERE a.id = $Y
       AND (to_jsonb(a) - 'description' - '_hc_lastop' - '_hc_err') IS DISTINCT FROM
           (to_jsonb(b) - 'description' - '_hc_lastop' - '_hc_err')")
assert_eq "$n" 0 "row $Y: repaired columns not restored"
# every other row, and the trigger log, byte-exact as before the repair
assert_eq "$(differ before "id NOT IN ($X, $Y)")" 0 "rows not restored exactly"
assert_eq "$(log_differ before)" 0 "trigger log entries not restored exactly"
[ "$(q "SELECT count(*) FROM before._trigger_log WHERE state = 'FAILED'")" -gt 0 ] ||
    fail "no FAILED trigger log entry before the repair (nothing to restore)"
assert_eq "$(q "SELECT count(*) FROM salesforce._trigger_log WHERE state = 'NEW'")" "$logs" "queued app writes"
# undo again: nothing more restored; the drift is still reported
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" repair --undo latest
assert_contains "$TMPD/out" "0 mirror changes undone"
note "undo restored all but the drifted row byte-exact; the drift was listed with both values"

# a row deleted since the repair updated it is drift too
DB2=$(new_db repair_undo2)
curl -s -X POST "$SFEMU_URL/__emu/reset" >/dev/null || fail "reset"
"$TOP/$BUILD/orggen" --sf "$SFEMU_URL" --db "$DB2" --mapping "$MAP" --describe "$ORG" --size 100 \
    --seed 6 --faults "field_mismatch=3" --manifest "$TMPD/m2.csv" --triggers >"$TMPD/gen.out" 2>&1 || fail "orggen 2"
DATABASE_URL="$DB2" expect_exit 0 "$SFRECON" repair -c "$MAP" --yes
id=$(psql -Atq "$DB2" -c "SELECT old_row ->> 'id' FROM sfrecon.repair_journal WHERE side = 'pg' AND op = 'update' LIMIT 1")
tbl=$(psql -Atq "$DB2" -c "SELECT table_name FROM sfrecon.repair_journal WHERE side = 'pg' AND op = 'update' LIMIT 1")
psql -Atq "$DB2" -c "DELETE FROM $tbl WHERE id = $id" >/dev/null
DATABASE_URL="$DB2" expect_exit 1 "$SFRECON" repair --undo latest
assert_contains "$TMPD/out" "the row was deleted since"
assert_eq "$(psql -Atq "$DB2" -c "SELECT count(*) FROM $tbl WHERE id = $id")" 0 "deleted row resurrected"
exit 0
