# sync end to end on a generated org whose mirror carries Heroku Connect's
# triggers: Salesforce updates, creates and deletes reach the mirror (rows
# SYNCED, the cursor stored); an app's UPDATE, INSERT and DELETE of the mirror
# reach Salesforce (log entries SUCCESS, rows SYNCED, the new sfid on the
# row); a write Salesforce rejects ends FAILED with its errorCode in
# sf_message and _hc_err, `sync --once` exits 1 and the entry is not retried;
# a conflict under sf_wins keeps Salesforce's version and ignores the app's
# entry; the audit is clean after syncing; the daemon picks up an app write
# and stops on SIGTERM with exit 0; usage errors exit 2.
. "$TOP/tests/integration/lib.sh"
start_sfemu
sf_login SF_RETRY_BASE_MS=10

# 0. usage errors need no connection
expect_exit 2 "$SFRECON" sync --bogus
expect_exit 2 "$SFRECON" sync --interval 0
assert_contains "$TMPD/err" "--interval"
expect_exit 2 "$SFRECON" sync --once extra

DB=$(new_db sync_main)
orggen_into "$DB" "$TMPD/gen.out" --size 100 --seed 1 --manifest "$TMPD/m.csv" --triggers
export DATABASE_URL="$DB"
need_token TOK
API="$SFEMU_URL/services/data/v60.0"
sql() { psql -Atq "$DB" -c "$1" || fail "psql: $1"; }
sfget() { curl -s -H "Authorization: Bearer $TOK" "$API/sobjects/$1/$2"; }
sfcall() { # sfcall METHOD PATH [BODY]: prints the HTTP status, body in $TMPD/body
    curl -s -o "$TMPD/body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $TOK" \
        -H "Content-Type: application/json" ${3:+-d "$3"} "$API/$2"
}
sync_once() { expect_exit "$1" "$SFRECON" sync -c "$MAP" --once; }

# 1. a clean org: nothing to do
sync_once 0
assert_contains "$TMPD/err" "sync cycle 1: pulled 0, deleted 0, pushed 0, failed 0"
n=$(sql "SELECT count(*) FROM sfrecon.sync_cursor WHERE direction = 'pull'")
assert_eq "$n" 7 "a pull cursor per mapped object"

# 2. Salesforce -> mirror: update, create, delete
A1=$(sql "SELECT sfid FROM salesforce.account ORDER BY sfid LIMIT 1")
L1=$(sql "SELECT sfid FROM salesforce.lead ORDER BY sfid LIMIT 1")
assert_eq "$(sfcall PATCH "sobjects/Account/$A1" '{"Name":"Renamed In Salesforce"}')" 204 "PATCH"
assert_eq "$(sfcall POST sobjects/Account '{"Name":"Created In Salesforce","Phone":"555-0100"}')" \
    201 "POST"
NEW=$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' "$TMPD/body")
[ -n "$NEW" ] || fail "no id in $(cat "$TMPD/body")"
assert_eq "$(sfcall DELETE "sobjects/Lead/$L1")" 204 "DELETE"
sync_once 0
assert_contains "$TMPD/err" "pulled 2, deleted 1, pushed 0, failed 0"
assert_eq "$(sql "SELECT name || '|' || _hc_lastop FROM salesforce.account WHERE sfid = '$A1'")" \
    "Renamed In Salesforce|SYNCED" "updated in Salesforce"
assert_eq "$(sql "SELECT name || '|' || phone || '|' || _hc_lastop FROM salesforce.account
                  WHERE sfid = '$NEW'")" "Created In Salesforce|555-0100|SYNCED" "created in Salesforce"
assert_eq "$(sql "SELECT count(*) FROM salesforce.lead WHERE sfid = '$L1'")" 0 "deleted in Salesforce"
assert_eq "$(sql "SELECT count(*) FROM salesforce._trigger_log")" 0 "sync's writes are not logged"
sync_once 0
assert_contains "$TMPD/err" "pulled 0, deleted 0"
note "Salesforce -> mirror"

# 3. mirror -> Salesforce: an app's UPDATE, INSERT and DELETE
A2=$(sql "SELECT sfid FROM salesforce.account ORDER BY sfid LIMIT 1 OFFSET 1")
sql "UPDATE salesforce.account SET phone = '555-0101', website = 'https://app.example.com'
     WHERE sfid = '$A2'"
assert_eq "$(sql "SELECT _hc_lastop FROM salesforce.account WHERE sfid = '$A2'")" PENDING "pending"
assert_eq "$(sql "SELECT state FROM salesforce._trigger_log WHERE sfid = '$A2'")" NEW "logged NEW"
ID=$(sql "INSERT INTO salesforce.account (name, industry) VALUES ('Inserted By App', 'Banking')
          RETURNING id" | head -n 1)
IL=$(sql "SELECT sfid FROM salesforce.invoice_line__c ORDER BY sfid LIMIT 1")
sql "DELETE FROM salesforce.invoice_line__c WHERE sfid = '$IL'"
sync_once 0
assert_contains "$TMPD/err" "pushed 3, failed 0"
sfget Account "$A2" >"$TMPD/a2.json"
assert_contains "$TMPD/a2.json" '"Phone":"555-0101"'
assert_contains "$TMPD/a2.json" '"Website":"https://app.example.com"'
assert_eq "$(sql "SELECT string_agg(state || coalesce(sf_result::text, '-'), ',' ORDER BY id)
                  FROM salesforce._trigger_log")" "SUCCESS0,SUCCESS0,SUCCESS0" "log states"
assert_eq "$(sql "SELECT _hc_lastop || coalesce(_hc_err, '') FROM salesforce.account
                  WHERE sfid = '$A2'")" SYNCED "updated row synced"
S=$(sql "SELECT sfid FROM salesforce.account WHERE id = $ID")
[ ${#S} -eq 18 ] || fail "inserted row got no sfid: '$S'"
assert_eq "$(sql "SELECT _hc_lastop FROM salesforce.account WHERE id = $ID")" SYNCED "insert synced"
sfget Account "$S" >"$TMPD/new.json"
assert_contains "$TMPD/new.json" '"Name":"Inserted By App"'
assert_contains "$TMPD/new.json" '"Industry":"Banking"'
assert_eq "$(sfcall GET "sobjects/Invoice_Line__c/$IL")" 404 "deleted by the app"
# the next cycle pulls the records the push changed; nothing is pushed back
sync_once 0
assert_contains "$TMPD/err" "pushed 0, failed 0"
assert_eq "$(sql "SELECT count(*) FROM salesforce._trigger_log")" 3 "no echo"
assert_eq "$(sql "SELECT createddate IS NOT NULL FROM salesforce.account WHERE id = $ID")" t \
    "inserted row completed by the pull"
note "mirror -> Salesforce"

# 4. the audit is clean after syncing
expect_exit 0 "$SFRECON" audit -c "$MAP" --no-store
assert_contains "$TMPD/out" "0 discrepancies"
note "audit clean"

# 5. a write Salesforce rejects: FAILED, exit 1, not retried
A4=$(sql "SELECT sfid FROM salesforce.account ORDER BY sfid LIMIT 1 OFFSET 3")
sql "UPDATE salesforce.account SET rating = 'Lukewarm' WHERE sfid = '$A4'"
sync_once 1
assert_contains "$TMPD/err" "failed 1"
assert_contains "$TMPD/err" "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
MSG=$(sql "SELECT state || ' ' || sf_message FROM salesforce._trigger_log WHERE sfid = '$A4'")
case "$MSG" in
"FAILED INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST: "*) ;;
*) fail "failed entry: $MSG" ;;
esac
assert_eq "$(sql "SELECT _hc_lastop FROM salesforce.account WHERE sfid = '$A4'")" FAILED "row FAILED"
sql "SELECT _hc_err FROM salesforce.account WHERE sfid = '$A4'" >"$TMPD/hcerr"
assert_contains "$TMPD/hcerr" '"errorCode":"INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"'
assert_contains "$TMPD/hcerr" '"fields":["Rating"]'
sfget Account "$A4" >"$TMPD/a4.json"
assert_not_contains "$TMPD/a4.json" "Lukewarm"
sync_once 0
assert_contains "$TMPD/err" "pushed 0, failed 0"
assert_eq "$(sql "SELECT state FROM salesforce._trigger_log WHERE sfid = '$A4'")" FAILED \
    "failed entry stays FAILED"
note "rejected write"

# 6. a conflict under sf_wins: both changed, Salesforce later -> its version, entry IGNORED
A5=$(sql "SELECT sfid FROM salesforce.account ORDER BY sfid LIMIT 1 OFFSET 4")
sql "UPDATE salesforce.account SET phone = '555-0111' WHERE sfid = '$A5'"
sleep 0.01
assert_eq "$(sfcall PATCH "sobjects/Account/$A5" '{"Phone":"555-0222"}')" 204 "PATCH A5"
sync_once 0
assert_contains "$TMPD/err" "conflicts 1"
assert_eq "$(sql "SELECT phone || '|' || _hc_lastop FROM salesforce.account WHERE sfid = '$A5'")" \
    "555-0222|SYNCED" "Salesforce won"
assert_eq "$(sql "SELECT state FROM salesforce._trigger_log WHERE sfid = '$A5'")" IGNORED \
    "app entry ignored"
assert_contains "$(sfget Account "$A5" >"$TMPD/a5.json"; echo "$TMPD/a5.json")" '"Phone":"555-0222"'
note "conflict"

# 7. more changed records than bulk_threshold: the first ones through REST, the rest through Bulk
sed '1s/^{/{"sfrecon": {"bulk_threshold": 5},/' "$MAP" >"$TMPD/bulkmap.json"
sql "SELECT sfid FROM salesforce.contact ORDER BY sfid LIMIT 12" >"$TMPD/contacts"
k=0
while read -r c; do
    k=$((k + 1))
    assert_eq "$(sfcall PATCH "sobjects/Contact/$c" '{"Description":"bulk '"$k"'"}')" 204 "PATCH $c"
done <"$TMPD/contacts"
expect_exit 0 "$SFRECON" sync -c "$TMPD/bulkmap.json" --once
assert_contains "$TMPD/err" "Bulk API 2.0"
assert_eq "$(sql "SELECT count(*) FROM salesforce.contact WHERE description LIKE 'bulk %'
                  AND _hc_lastop = 'SYNCED'")" 12 "all changed contacts pulled"
CUR=$(sql "SELECT cursor FROM sfrecon.sync_cursor WHERE object = 'Contact' AND direction = 'pull'")
MAX=$(sql "SELECT to_char(max(systemmodstamp), 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')
           FROM salesforce.contact")
assert_eq "$CUR" "$MAX" "Contact cursor at the newest modstamp applied"
sync_once 0
assert_contains "$TMPD/err" "pulled 0, deleted 0"
note "bulk"

# 8. the daemon: an app write is picked up; SIGTERM stops it with exit 0
A6=$(sql "SELECT sfid FROM salesforce.account ORDER BY sfid LIMIT 1 OFFSET 5")
"$SFRECON" sync -c "$MAP" --interval 1 >"$TMPD/d.out" 2>"$TMPD/d.err" &
DPID=$!
_pids="$_pids $DPID"
sql "UPDATE salesforce.account SET phone = '555-0333' WHERE sfid = '$A6'"
i=0
while ! sfget Account "$A6" | grep -q '"Phone":"555-0333"'; do
    i=$((i + 1))
    [ $i -gt 100 ] && { cat "$TMPD/d.err"; fail "the daemon did not push the app write in 20 s"; }
    kill -0 "$DPID" 2>/dev/null || { cat "$TMPD/d.err"; fail "the daemon exited"; }
    sleep 0.2
done
kill -TERM "$DPID"
wait "$DPID"
rc=$?
assert_eq "$rc" 0 "daemon exit after SIGTERM"
assert_contains "$TMPD/d.err" "sync: stopped"
[ ! -s "$TMPD/d.out" ] || fail "stdout is not used: $(cat "$TMPD/d.out")"
assert_eq "$(sql "SELECT state FROM salesforce._trigger_log WHERE sfid = '$A6'")" SUCCESS "daemon push"
note "daemon"

# 9. a mirror without Connect's triggers: pull works, push is skipped with one info line
DB2=$(new_db sync_plain)
curl -s -X POST "$SFEMU_URL/__emu/reset" >/dev/null || fail "reset"
orggen_into "$DB2" "$TMPD/gen2.out" --size 50 --seed 2 --manifest "$TMPD/m2.csv"
TOK=$(sf_token)
B1=$(psql -Atq "$DB2" -c "SELECT sfid FROM salesforce.account ORDER BY sfid LIMIT 1")
assert_eq "$(sfcall PATCH "sobjects/Account/$B1" '{"Name":"Plain Mirror"}')" 204 "PATCH B1"
DATABASE_URL="$DB2" expect_exit 0 "$SFRECON" sync -c "$MAP" --once
assert_contains "$TMPD/err" "no _trigger_log"
assert_contains "$TMPD/err" "pulled 1, deleted 0, pushed 0"
assert_eq "$(psql -Atq "$DB2" -c "SELECT name FROM salesforce.account WHERE sfid = '$B1'")" \
    "Plain Mirror" "pulled into a plain mirror"
note "mirror without triggers"
echo "t_sync: ok"
