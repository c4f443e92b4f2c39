# Repair creates never duplicate a record and never lose an Id, whatever
# happens after Salesforce applied them (pg_wins: mirror rows whose records
# were deleted in Salesforce are created again):
#  1. the create's answer is lost (sfemu applies it, then drops the connection
#     / answers 504): upserts on the external id are repeated safely; plain
#     creates (no upsert_field) are not repeated, are listed for a human with
#     the query to run, and after the human puts the found Id on the row the
#     next repair converges;
#  2. SIGKILL between Salesforce's answer and the commit that stores the Ids
#     (build/sfrecon-test kill point repair.sf_sent), and after the 1st and 3rd
#     write batch: the next run looks the records up by external id, puts their Ids
#     on the rows, and converges;
# every time: no duplicate in Salesforce, every mirror row linked to exactly
# one live record, and a clean audit.
. "$TOP/tests/integration/lib.sh"
ORG="$TOP/tests/sfemu/org/sample-org.json"
MAP="$TMPD/pgwins.json"
sed 's/^{/{"sfrecon": {"repair_policy": "pg_wins"},/' "$TOP/tests/data/mapping-sample.json" >"$MAP"
TEST_BIN="$TOP/$BUILD/sfrecon-test"
start_sfemu
export SF_LOGIN_URL="$SFEMU_URL" SF_USERNAME=admin@example.com SF_PASSWORD=password \
       SF_CLIENT_ID=test SF_CLIENT_SECRET=test SF_RETRY_BASE_MS=10 SF_BULK_POLL_MS=10
sfq() { psql -Atq "$SFEMU_STORE" -c "$1"; }

gen() { # gen SEED DB
    curl -s -X POST "$SFEMU_URL/__emu/reset" >/dev/null || fail "reset"
    "$TOP/$BUILD/orggen" --sf "$SFEMU_URL" --db "$2" --mapping "$MAP" --describe "$ORG" --size 60 \
        --seed "$1" --faults "missing_in_sf=8" --manifest "$TMPD/manifest.csv" --triggers \
        >"$TMPD/gen.out" 2>&1 || { cat "$TMPD/gen.out"; fail "orggen seed $1"; }
}
fault() { curl -sf -X POST -H 'Content-Type: application/json' --data "$1" "$SFEMU_URL/__emu/fault" >/dev/null || fail "fault $1"; }

# converged DB: audit clean, no duplicate in Salesforce (by external id, and
# by mirror link), every mirror row of the read_write tables on one live record
converged() {
    DATABASE_URL="$1" expect_exit 0 "$SFRECON" audit -c "$MAP" --no-store --format csv
    for t in account contact invoice__c; do
        n=$(sfq "SELECT count(*) FROM (SELECT external_id__c FROM sfemu.$t WHERE NOT isdeleted
                 AND external_id__c IS NOT NULL GROUP BY 1 HAVING count(*) > 1) d")
        assert_eq "$n" 0 "duplicate $t records in Salesforce"
    done
    for t in account contact invoice__c invoice_line__c; do
        live=$(sfq "SELECT count(*) FROM sfemu.$t WHERE NOT isdeleted")
        rows=$(psql -Atq "$1" -c "SELECT count(DISTINCT sfid) FROM salesforce.$t")
        all=$(psql -Atq "$1" -c "SELECT count(*) FROM salesforce.$t")
        assert_eq "$rows" "$all" "$t rows sharing an sfid"
        assert_eq "$live" "$rows" "$t: live Salesforce records vs mirror rows"
    done
}

# 1a. upserts (Account, Contact, Invoice__c have an upsert_field): answer dropped, then 504
DB=$(new_db rf_upsert)
gen 11 "$DB"
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" audit -c "$MAP"
DATABASE_URL="$DB" expect_exit 0 "$SFRECON" repair -c "$MAP" --run latest --dry-run
assert_contains "$TMPD/out" "sf_create pg->sf"
fault '{"after_write":{"op":"upsert","answer":"drop","nth":1}}'
DATABASE_URL="$DB" "$SFRECON" repair -c "$MAP" --run latest --yes >"$TMPD/out" 2>"$TMPD/err"
code=$?
[ "$code" -le 1 ] || { cat "$TMPD/err"; fail "repair after a dropped upsert answer: exit $code"; }
assert_contains "$TMPD/err" "found existing" # the repeated upsert found what the first one made
fault '{}'
# every new Id in full: on stderr as it came, in the outcome, in the stored run
ids=$(sed -n 's/.*: \(created\|found existing\) \([0-9A-Za-z]\{18\}\)$/\2/p' "$TMPD/err")
[ -n "$ids" ] || fail "no Id printed"
for id in $ids; do
    assert_contains "$TMPD/out" "-> $id"
    n=$(psql -Atq "$DB" -c "SELECT count(*) FROM sfrecon.repair_run WHERE summary -> 'created' @> '[{\"sfid\":\"$id\"}]'")
    assert_eq "$n" 1 "Id $id in the stored run"
done
DATABASE_URL="$DB" "$SFRECON" repair -c "$MAP" --yes >"$TMPD/out" 2>"$TMPD/err" # what is left
converged "$DB"
note "dropped answers of upserts: retried, no duplicate"

# 1b. plain creates (Invoice_Line__c has no upsert_field): a 504 after the write
DB=$(new_db rf_plain)
gen 12 "$DB"
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" audit -c "$MAP"
grep -c "Invoice_Line__c" "$TMPD/out" >/dev/null || fail "no Invoice_Line__c fault generated"
fault '{"after_write":{"op":"create","answer":504,"nth":1}}'
before=$(sfq "SELECT count(*) FROM sfemu.invoice_line__c WHERE NOT isdeleted")
DATABASE_URL="$DB" expect_exit 3 "$SFRECON" repair -c "$MAP" --run latest --yes
assert_contains "$TMPD/err" "outcome unknown"
assert_not_contains "$TMPD/err" "retrying"
after=$(sfq "SELECT count(*) FROM sfemu.invoice_line__c WHERE NOT isdeleted")
created=$((after - before))
[ "$created" -gt 0 ] || fail "the faulted call created nothing (the fault did not apply the write)"
fault '{}'
# the next run lists them, sends nothing for them, exits 1
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" repair -c "$MAP" --yes
assert_contains "$TMPD/out" "may have reached Salesforce and Invoice_Line__c has no external id"
assert_contains "$TMPD/out" "SELECT Id, CreatedDate FROM Invoice_Line__c WHERE CreatedDate >="
assert_eq "$(sfq "SELECT count(*) FROM sfemu.invoice_line__c WHERE NOT isdeleted")" "$after" "records created again"
# the human runs each printed check query and links the row to what it finds
TOK=$(sf_token)
grep -o 'Check: SELECT.* WHERE id = [0-9]*' "$TMPD/out" | sort -u >"$TMPD/checks"
[ "$(wc -l <"$TMPD/checks")" -eq "$created" ] || { cat "$TMPD/out"; fail "checks listed: $(wc -l <"$TMPD/checks"), created $created"; }
while read -r line; do
    soql=$(echo "$line" | sed 's/^Check: \(SELECT.*\) -- found:.*/\1/')
    row=$(echo "$line" | sed 's/.*WHERE id = \([0-9]*\)$/\1/')
    curl -s -G -H "Authorization: Bearer $TOK" --data-urlencode "q=$soql" \
        "$SFEMU_URL/services/data/v60.0/query" >"$TMPD/found.json"
    ids=$(grep -o '"Id":"[^"]*"' "$TMPD/found.json" | cut -d'"' -f4)
    [ "$(echo "$ids" | grep -c .)" -ge 1 ] || { cat "$TMPD/found.json"; fail "check query found nothing: $soql"; }
    id=$(echo "$ids" | while read -r i; do
        taken=$(psql -Atq "$DB" -c "SELECT count(*) FROM salesforce.invoice_line__c WHERE sfid = '$i'")
        [ "$taken" = 0 ] && { echo "$i"; break; }; done)
    [ -n "$id" ] || { echo "$soql"; cat "$TMPD/found.json"; fail "row $row: every record the check found is linked already"; }
    psql -Atq "$DB" -c "UPDATE salesforce.invoice_line__c SET sfid = '$id' WHERE id = $row" >/dev/null
done <"$TMPD/checks"
DATABASE_URL="$DB" "$SFRECON" repair -c "$MAP" --yes >"$TMPD/out" 2>"$TMPD/err"
converged "$DB"
note "a 504 after a plain create: not re-sent, listed with the query, converged after the human linked $created rows"

# 2. SIGKILL right after Salesforce's answer, before the Ids are stored; then after every batch
DB=$(new_db rf_kill)
gen 13 "$DB"
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" audit -c "$MAP"
SFRECON_TEST_KILL_AT=repair.sf_sent:1 DATABASE_URL="$DB" "$TEST_BIN" repair -c "$MAP" --run latest \
    --yes >"$TMPD/out" 2>"$TMPD/err"
code=$?
[ "$code" -eq 137 ] || { cat "$TMPD/err"; fail "kill at repair.sf_sent: exit $code"; }
assert_contains "$TMPD/err" "killed at repair.sf_sent"
assert_contains "$TMPD/err" ": created 0" # the Ids were printed before the kill
n_lost=$(psql -Atq "$DB" -c "SELECT count(*) FROM sfrecon.repair_journal WHERE side = 'sf' AND op = 'insert' AND sfid IS NULL")
[ "$n_lost" -gt 0 ] || fail "nothing was in flight at the kill"
DATABASE_URL="$DB" expect_exit 0 "$SFRECON" repair -c "$MAP" --run latest --dry-run
assert_contains "$TMPD/out" "is looked up by External_Id__c"
DATABASE_URL="$DB" expect_exit 0 "$SFRECON" repair -c "$MAP" --yes
assert_contains "$TMPD/err" "found existing"
converged "$DB"
n=$(psql -Atq "$DB" -c "SELECT count(*) FROM sfrecon.repair_journal WHERE side = 'sf' AND new_row ->> 'outcome' = 'resolved'")
assert_eq "$n" "$n_lost" "unknown creates settled by the lookup"
note "killed between Salesforce's answer and the commit: $n_lost creates found again, none duplicated"
for k in 1 3; do
    DB=$(new_db "rf_kill_$k")
    gen 14 "$DB"
    DATABASE_URL="$DB" "$SFRECON" audit -c "$MAP" >/dev/null 2>&1
    SFRECON_TEST_KILL_AT=batch:$k DATABASE_URL="$DB" "$TEST_BIN" repair -c "$MAP" --run latest \
        --yes >"$TMPD/out" 2>"$TMPD/err"
    code=$?
    [ "$code" -eq 137 ] || [ "$code" -le 1 ] || { cat "$TMPD/err"; fail "kill batch $k: exit $code"; }
    DATABASE_URL="$DB" "$SFRECON" repair -c "$MAP" --yes >"$TMPD/out" 2>"$TMPD/err"
    converged "$DB"
done
note "killed after 1 and 3 batches: converged, no duplicate"
exit 0
