# The sync push never duplicates a record and never loses an Id, whatever
# happens after Salesforce applied a create:
#  1. the answer of an upsert (Account has an upsert_field) is dropped: the
#     upsert is repeated and finds the record;
#  2. a 504 after a plain create (Invoice_Line__c has none): the entry stays
#     PENDING (OUTCOME_UNKNOWN), is never sent again, and carries the query a
#     human runs; the record it finds is the one the next pull brought in, so
#     the app's row goes (as the message says);
#  3. SIGKILL between Salesforce's answer and the commit of the Ids
#     (build/sfrecon-test kill point sync.push_sent): the next run looks the
#     Accounts up by external id and links them; the Invoice_Line__c is listed;
#  4. SIGKILL after a committed batch: nothing to redo.
# Each time: one record per external id in Salesforce, every row on its own
# live record, and an audit that comes back clean.
. "$TOP/tests/integration/lib.sh"
MAP="$TOP/tests/data/mapping-sample.json"
ORG="$TOP/tests/sfemu/org/sample-org.json"
TEST_BIN="$TOP/$BUILD/sfrecon-test"
start_sfemu
export SF_LOGIN_URL="$SFEMU_URL" SF_USERNAME=admin@example.com SF_PASSWORD=password \
       SF_CLIENT_ID=test SF_CLIENT_SECRET=test SF_RETRY_BASE_MS=10 SF_BULK_POLL_MS=10
DB=$(new_db sync_faults)
"$TOP/$BUILD/orggen" --sf "$SFEMU_URL" --db "$DB" --mapping "$MAP" --describe "$ORG" --size 40 --seed 3 \
    --manifest "$TMPD/m.csv" --triggers >"$TMPD/gen.out" 2>&1 || { cat "$TMPD/gen.out"; fail "orggen"; }
export DATABASE_URL="$DB"
sql() { psql -Atq "$DB" -c "$1" || fail "psql: $1"; }
sfq() { psql -Atq "$SFEMU_STORE" -c "$1"; }
fault() { curl -sf -X POST -H 'Content-Type: application/json' --data "$1" "$SFEMU_URL/__emu/fault" >/dev/null || fail "fault $1"; }
INV=$(sql "SELECT sfid FROM salesforce.invoice__c ORDER BY sfid LIMIT 1")
app_accounts() { # app_accounts TAG N: the app inserts N accounts with external ids TAG-1..N
    i=1; while [ "$i" -le "$2" ]; do
        sql "INSERT INTO salesforce.account (name, external_id__c) VALUES ('App $1 $i', '$1-$i')" >/dev/null
        i=$((i + 1)); done
}
app_line() { # app_line DESC: the app inserts an invoice line (no external id)
    sql "INSERT INTO salesforce.invoice_line__c (invoice__c, quantity__c, unit_price__c, description__c)
         VALUES ('$INV', 2, 9.5, '$1') RETURNING id" | head -n 1
}
no_dups() {
    n=$(sfq "SELECT count(*) FROM (SELECT external_id__c FROM sfemu.account WHERE NOT isdeleted
             AND external_id__c IS NOT NULL GROUP BY 1 HAVING count(*) > 1) d")
    assert_eq "$n" 0 "duplicate Accounts in Salesforce"
    for t in account invoice_line__c; do
        live=$(sfq "SELECT count(*) FROM sfemu.$t WHERE NOT isdeleted")
        rows=$(sql "SELECT count(DISTINCT sfid) FROM salesforce.$t")
        all=$(sql "SELECT count(*) FROM salesforce.$t")
        assert_eq "$rows" "$all" "$t rows without an sfid or sharing one"
        assert_eq "$live" "$rows" "$t: live Salesforce records vs mirror rows"
    done
}
clean() { # a last cycle, then the audit
    expect_exit 0 "$SFRECON" sync -c "$MAP" --once
    no_dups
    expect_exit 0 "$SFRECON" audit -c "$MAP" --no-store
    assert_contains "$TMPD/out" "0 discrepancies"
}
expect_exit 0 "$SFRECON" sync -c "$MAP" --once

# 1. an upsert whose answer is lost: repeated, found
app_accounts drop 3
fault '{"after_write":{"op":"upsert","answer":"drop","nth":1}}'
expect_exit 0 "$SFRECON" sync -c "$MAP" --once
assert_contains "$TMPD/err" "pushed 3, failed 0"
fault '{}'
assert_eq "$(sfq "SELECT count(*) FROM sfemu.account WHERE external_id__c LIKE 'drop-%'")" 3 "accounts in Salesforce"
clean
note "a dropped upsert answer: repeated, no duplicate"

# 2. a plain create answered 504 after it was applied
before=$(sfq "SELECT count(*) FROM sfemu.invoice_line__c WHERE NOT isdeleted")
ROW=$(app_line "line after 504")
fault '{"after_write":{"op":"create","answer":504,"nth":1}}'
expect_exit 3 "$SFRECON" sync -c "$MAP" --once
assert_contains "$TMPD/err" "outcome unknown"
fault '{}'
assert_eq "$(sfq "SELECT count(*) FROM sfemu.invoice_line__c WHERE NOT isdeleted")" $((before + 1)) "applied once"
assert_eq "$(sql "SELECT state FROM salesforce._trigger_log WHERE record_id = $ROW AND action = 'INSERT'")" PENDING "entry"
expect_exit 1 "$SFRECON" sync -c "$MAP" --once # not sent again: listed
assert_contains "$TMPD/err" "there is no external id to look it up by, so it is not sent again"
assert_eq "$(sfq "SELECT count(*) FROM sfemu.invoice_line__c WHERE NOT isdeleted")" $((before + 1)) "sent again"
msg=$(sql "SELECT sf_message FROM salesforce._trigger_log WHERE record_id = $ROW AND action = 'INSERT'")
soql=$(echo "$msg" | sed 's/.*Check: \(SELECT.*\) -- found:.*/\1/')
TOK=$(sf_token)
curl -s -G -H "Authorization: Bearer $TOK" --data-urlencode "q=$soql" "$SFEMU_URL/services/data/v60.0/query" >"$TMPD/found.json"
ID=$(grep -o '"Id":"[^"]*"' "$TMPD/found.json" | cut -d'"' -f4)
[ "$(echo "$ID" | grep -c .)" -eq 1 ] || { cat "$TMPD/found.json"; fail "the check query: $soql"; }
# the pull of the cycle before brought that record in as a row of its own:
# as the message says, the app's row goes and the entry is set IGNORED
assert_eq "$(sql "SELECT count(*) FROM salesforce.invoice_line__c WHERE sfid = '$ID'")" 1 "pulled row"
sql "DELETE FROM salesforce.invoice_line__c WHERE id = $ROW" >/dev/null
sql "UPDATE salesforce._trigger_log SET state = 'IGNORED' WHERE record_id = $ROW AND action = 'INSERT'" >/dev/null
clean
note "a 504 after a plain create: PENDING, not re-sent, settled by linking the row"

# 3. SIGKILL between the answer and the commit of the Ids
app_accounts kill 4
ROW=$(app_line "line before the kill")
SFRECON_TEST_KILL_AT=sync.push_sent:1 "$TEST_BIN" sync -c "$MAP" --once >"$TMPD/out" 2>"$TMPD/err"
code=$?
[ "$code" -eq 137 ] || { cat "$TMPD/err"; fail "kill at sync.push_sent: exit $code"; }
assert_contains "$TMPD/err" ": created 001" # the Ids were printed before the kill
assert_eq "$(sql "SELECT count(*) FROM salesforce.account WHERE external_id__c LIKE 'kill-%' AND sfid IS NULL")" 4 "Ids lost by the kill"
expect_exit 0 "$SFRECON" sync -c "$MAP" --once
assert_contains "$TMPD/err" "create of unknown outcome settled: found 001"
assert_eq "$(sfq "SELECT count(*) FROM sfemu.account WHERE external_id__c LIKE 'kill-%'")" 4 "accounts in Salesforce"
assert_eq "$(sql "SELECT count(*) FROM salesforce.account WHERE external_id__c LIKE 'kill-%' AND sfid IS NULL")" 0 "rows linked"
# the line was created in the next cycle (the kill came at the first create call, Account's)
assert_eq "$(sql "SELECT count(*) FROM salesforce.invoice_line__c WHERE id = $ROW AND sfid IS NOT NULL")" 1 "line pushed"
clean
note "killed between Salesforce's answer and the commit: found by external id, no duplicate"

# 4. SIGKILL after a committed batch
app_accounts batch 2
SFRECON_TEST_KILL_AT=sync.push.batch:1 "$TEST_BIN" sync -c "$MAP" --once >"$TMPD/out" 2>"$TMPD/err"
[ $? -eq 137 ] || fail "kill after a push batch"
clean
assert_eq "$(sfq "SELECT count(*) FROM sfemu.account WHERE external_id__c LIKE 'batch-%'")" 2 "accounts"
note "killed after a batch: converged"
exit 0
