# audit end to end: generated orgs with every cause (two seeds) are audited and
# every injected fault is found with the right cause and nothing else; a clean
# org exits 0; count depth, incremental re-runs, stored reports, the API budget,
# a Postgres source and configuration errors.
. "$TOP/tests/integration/lib.sh"
start_sfemu
sf_login SF_RETRY_BASE_MS=10
TEST_BIN="$TOP/$BUILD/sfrecon-test"

# 1. clean org
DB=$(new_db audit_clean)
gen_org 11 "" "$DB"
DATABASE_URL="$DB" expect_exit 0 "$SFRECON" audit -c "$MAP" --jobs 2
assert_contains "$TMPD/out" "0 discrepancies"
note "clean org: exit 0"
# an app's insert that Salesforce refused (no sfid, _hc_lastop FAILED) is a sync_error
psql -q "$DB" -c "INSERT INTO salesforce.lead (lastname, company) VALUES ('Nobody', 'Ghost Co')" \
    -c "SET xmlbinary = 'hex'" \
    -c "UPDATE salesforce.lead SET _hc_lastop = 'FAILED', _hc_err = '{\"errorCode\":\"REQUIRED_FIELD_MISSING\"}' WHERE sfid IS NULL" \
    || fail "failed insert"
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" audit -c "$MAP" --format csv
grep -q '^[0-9]*,Lead,"",sync_error,' "$TMPD/out" || { cat "$TMPD/out"; fail "failed insert not reported"; }
assert_contains "$TMPD/out" "REQUIRED_FIELD_MISSING"
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" repair -c "$MAP" --run latest --yes
assert_contains "$TMPD/out" "UNRESOLVED"
assert_contains "$TMPD/out" "set its _trigger_log entry back to NEW"
# a mirror row keyed by the 15-character Id is a type_mismatch, not a missing pair
cid=$(psql -Atq "$DB" -c "SELECT sfid FROM salesforce.case ORDER BY id LIMIT 1")
psql -q "$DB" -c "SET xmlbinary = 'hex'" \
    -c "UPDATE salesforce.case SET sfid = left(sfid, 15) WHERE sfid = '$cid'" || fail "15-char sfid"
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" audit -c "$MAP" --format csv --no-store -o Case
assert_eq "$(found "$TMPD/out")" "Case,$cid,type_mismatch" "15-character sfid"
# a column narrowed by hand: the values cut at its length are truncations that say so
psql -q "$DB" -c "SET xmlbinary = 'hex'" \
    -c "ALTER TABLE salesforce.lead ALTER COLUMN company TYPE varchar(12) USING left(company, 12)" \
    || fail "narrow column"
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" audit -c "$MAP" --no-store -o Lead
assert_contains "$TMPD/out" "cut at the column length 12"

# 2. every cause, two seeds, both depths of reporting
for seed in 1 2; do
    DB=$(new_db "audit_s$seed")
    gen_org "$seed" "all=2" "$DB"
    DATABASE_URL="$DB" expect_exit 1 "$SFRECON" audit -c "$MAP" --format csv
    found "$TMPD/out" >"$TMPD/found.txt"
    expected "$TMPD/manifest.csv" >"$TMPD/want.txt"
    if ! diff "$TMPD/want.txt" "$TMPD/found.txt" >"$TMPD/diff.txt"; then
        echo "--- missing (<) / extra (>) for seed $seed"; cat "$TMPD/diff.txt"
        fail "seed $seed: audit does not match the manifest"
    fi
    for cause in missing_in_pg missing_in_sf missing_parent truncation type_mismatch stale \
                 conflict sync_error duplicate field_mismatch; do
        grep -q ",$cause\$" "$TMPD/want.txt" || fail "seed $seed: manifest lacks $cause"
    done
    note "seed $seed: $(wc -l <"$TMPD/want.txt") discrepancies found exactly"
done

# 3. stored history: report in every format
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" report --run latest --format json
assert_contains "$TMPD/out" '"cause":"truncation"'
assert_contains "$TMPD/out" '"sfid":'
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" report --run latest --format html
assert_contains "$TMPD/out" "<table class=\"mx\">"
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" report --run latest --format text
assert_contains "$TMPD/out" "discrepancies"
DATABASE_URL="$DB" expect_exit 2 "$SFRECON" report --run 999999
DATABASE_URL="$DB" expect_exit 2 "$SFRECON" report --run nope

# 4. count depth finds what moves counts or modstamps
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" audit -c "$MAP" --depth count --no-store --format csv
found "$TMPD/out" >"$TMPD/count.txt"
grep -q ',missing_in_pg$' "$TMPD/count.txt" || fail "count depth missed missing_in_pg"
grep -q ',stale$' "$TMPD/count.txt" || fail "count depth missed stale"

# 5. incremental: unchanged org costs one aggregate call per object, a change is found
DB=$(new_db audit_incr)
gen_org 5 "" "$DB"
DATABASE_URL="$DB" expect_exit 0 "$SFRECON" audit -c "$MAP"
full=$(sed -n 's/.*api calls: \([0-9]*\).*/\1/p' "$TMPD/err")
DATABASE_URL="$DB" expect_exit 0 "$SFRECON" audit -c "$MAP" --since last
incr=$(sed -n 's/.*api calls: \([0-9]*\).*/\1/p' "$TMPD/err")
note "full audit $full calls, incremental $incr"
# one aggregate call per mapped object, whatever the size (make bench shows the
# ratio at 1M rows, where a full audit needs many Bulk calls)
[ "$incr" -le 7 ] || fail "incremental re-run of an unchanged org made $incr calls"
assert_contains "$TMPD/out" "0 discrepancies"
TOKEN=$(sf_token)
id=$(psql -Atq "$DB" -c "SELECT sfid FROM salesforce.account ORDER BY sfid LIMIT 1 OFFSET 7")
code=$(curl -s -o /dev/null -w '%{http_code}' -X PATCH -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' -d '{"Name":"Changed since last audit"}' \
    "$SFEMU_URL/services/data/v60.0/sobjects/Account/$id")
assert_eq "$code" 204 "PATCH Account"
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" audit -c "$MAP" --since last --format csv
assert_contains "$TMPD/out" "Account,$id,stale"
# --since TS: only records modified since then, on either side
since=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" audit -c "$MAP" --since "$since" --no-store --format csv
assert_eq "$(found "$TMPD/out")" "Account,$id,stale" "--since $since"
expect_exit 2 "$SFRECON" audit -c "$MAP" --since yesterday
# "during the audit" is judged on Salesforce's clock (its Date header), not
# the host's: with Salesforce an hour ahead, a record changed before the
# audit began there is stale, not "changed while the audit ran"
curl -s -X POST "$SFEMU_URL/__emu/clock" -d '{"offset_ms":3600000}' >/dev/null
id2=$(psql -Atq "$DB" -c "SELECT sfid FROM salesforce.account ORDER BY sfid LIMIT 1 OFFSET 9")
code=$(curl -s -o /dev/null -w '%{http_code}' -X PATCH -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' -d '{"Name":"Changed an hour ahead"}' \
    "$SFEMU_URL/services/data/v60.0/sobjects/Account/$id2")
assert_eq "$code" 204 "PATCH Account ahead"
# (and 5 s more: the Date header has whole seconds)
curl -s -X POST "$SFEMU_URL/__emu/clock" -d '{"offset_ms":3605000}' >/dev/null
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" audit -c "$MAP" -o Account --no-store --format csv
assert_contains "$TMPD/out" "Account,$id2,stale"
assert_contains "$TMPD/out" "Account,$id,stale"
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" audit -c "$MAP" -o Account --no-store
assert_not_contains "$TMPD/out" "changed while the audit ran"
# back on the host's clock, that record's modstamp is an hour in the future:
# it changed "during the audit", is compared again at the end, and reported
# since it stopped moving
curl -s -X POST "$SFEMU_URL/__emu/clock" -d '{"offset_ms":0}' >/dev/null
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" audit -c "$MAP" -o Account --no-store
assert_contains "$TMPD/out" "changed while the audit ran: compared again at the end"
assert_contains "$TMPD/out" "$id2"
assert_contains "$TMPD/out" "$id"
# one still moving at every look (the test hook changes it again before each
# look) is in flight: listed, not judged, and the run is partial
SFRECON_RECHECK_WAIT_MS=0 SFRECON_TEST_EXEC_AT=check.recheck \
SFRECON_TEST_EXEC="curl -s -o /dev/null -X PATCH -H 'Authorization: Bearer $TOKEN' -H 'Content-Type: application/json' -d '{\"Name\":\"Moving\"}' $SFEMU_URL/services/data/v60.0/sobjects/Account/$id2" \
    DATABASE_URL="$DB" expect_exit 3 "$TEST_BIN" audit -c "$MAP" -o Account --no-store
assert_contains "$TMPD/out" "$id2: in flight"
assert_contains "$TMPD/out" "partial"
assert_contains "$TMPD/out" "$id"

# 6. Postgres source with the same layout: the clean mirror against a changed copy
psql -q "$PGCLUSTER_URL" -c "CREATE DATABASE audit_copy TEMPLATE audit_incr" || fail "copy mirror"
DB2=$(db_url audit_copy)
psql -q "$DB2" -c "UPDATE salesforce.lead SET company = 'Another Company Ltd' WHERE id = (SELECT min(id) FROM salesforce.lead)" \
    || fail "change copy"
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" audit -c "$MAP" --source "$DB2" --describe "$ORG" \
    --no-store --format csv
[ "$(found "$TMPD/out" | wc -l)" -eq 1 ] || { cat "$TMPD/out"; fail "pg source: want one"; }
found "$TMPD/out" | grep -q '^Lead,.*,field_mismatch$' || fail "pg source: want Lead field_mismatch"

# 7. API budget: stops cleanly, says what it did not cover
DB=$(new_db audit_budget)
gen_org 3 "all=1" "$DB"
# (a run cut by a budget is partial: exit 3 whatever it found, whatever the budget)
DATABASE_URL="$DB" expect_exit 3 "$SFRECON" audit -c "$MAP" --max-api-calls 3
assert_contains "$TMPD/out" "not covered"
assert_contains "$TMPD/out" "partial"
calls=$(sed -n 's/^sfrecon: api calls: \([0-9]*\) .*/\1/p' "$TMPD/err")
assert_contains "$TMPD/err" "the run's API budget is spent after $calls API calls"
assert_contains "$TMPD/err" "stopped early (API limit) after $calls API calls"
# a mapping's sf_max_daily_api_calls caps that object only: the others are covered
sed '25s/"sf_max_daily_api_calls": 30000/"sf_max_daily_api_calls": 1/' "$MAP" >"$TMPD/cap.json"
grep -q '"sf_max_daily_api_calls": 1,' "$TMPD/cap.json" || fail "cap mapping"
# (the run is still unfinished: exit 3, whatever it found elsewhere)
DATABASE_URL="$DB" expect_exit 3 "$SFRECON" audit -c "$TMPD/cap.json" --no-store
assert_contains "$TMPD/out" "not covered: Account"
assert_not_contains "$TMPD/out" "not covered: Contact"
grep -q '^Lead .*missing_in_pg' "$TMPD/out" || fail "objects after a capped one were not audited"

# 8. usage and configuration errors
printf '{"version":1,\n"mappings":[{"object_name":"Account",\n"config":{"access":"sometimes"}}]}\n' \
    >"$TMPD/bad.json"
DATABASE_URL="$DB" expect_exit 2 "$SFRECON" audit -c "$TMPD/bad.json"
assert_contains "$TMPD/err" "bad.json:3"
assert_contains "$TMPD/err" "mappings[0].config.access"
EMPTY=$(new_db audit_empty)
DATABASE_URL="$EMPTY" expect_exit 2 "$SFRECON" audit -c "$MAP"
assert_contains "$TMPD/err" "mapping-sample.json:"
assert_contains "$TMPD/err" "the mirror has no table salesforce.account"
psql -q "$EMPTY" -c "SELECT 1" >/dev/null
[ "$(psql -Atq "$EMPTY" -c "SELECT count(*) FROM sfrecon.audit_run")" = 0 ] || fail "a failed start stored a run"
expect_exit 2 "$SFRECON" audit --depth deep
expect_exit 2 "$SFRECON" audit --bogus
DATABASE_URL="$DB" expect_exit 2 "$SFRECON" audit -c "$MAP" -o Nope
exit 0
