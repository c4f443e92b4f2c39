# Fault storms: audits, repairs and sync cycles while sfemu injects periodic
# faults (503 on every third call, dropped connections, latency, a token that
# expires every few calls, the daily limit running out mid-run). Each run
# either ends with the right answer through retries (the audit finds exactly
# the injected discrepancies, the repair leaves nothing to find, the sync
# leaves the mirror equal to Salesforce), or exits 3 with its run stored as
# incomplete (never as complete); once the storm is over a re-run converges.
# One job (--jobs 1) keeps the sequence of calls, and so the faults each call
# meets, the same from run to run.
. "$TOP/tests/integration/lib.sh"
start_sfemu
sf_login SF_RETRY_BASE_MS=5

# storm JSON: sets sfemu's faults (replacing the previous ones)
storm() {
    _st=$(curl -s -o "$TMPD/fault" -w '%{http_code}' -X POST -d "$1" "$SFEMU_URL/__emu/fault")
    [ "$_st" = 200 ] || { cat "$TMPD/fault"; fail "fault $1: HTTP $_st"; }
    curl -s -o /dev/null -X POST "$SFEMU_URL/__emu/counters/reset"
}
# injected KIND: faults of that kind (fail, drop, expire) served since storm
injected() {
    curl -s "$SFEMU_URL/__emu/counters" | sed -n "s/.*\"injected\":{[^}]*\"$1\":\([0-9]*\).*/\1/p"
}
last_status() { psql -Atq "$DB" -c "SELECT status FROM sfrecon.audit_run ORDER BY id DESC LIMIT 1"; }
runs() { psql -Atq "$DB" -c "SELECT count(*) FROM sfrecon.audit_run"; }

audit() { # audit EXIT [ARGS]: audit in CSV, one job
    _want=$1; shift
    DATABASE_URL="$DB" expect_exit "$_want" "$SFRECON" audit -c "$MAP" --jobs 1 --format csv "$@"
}
# exact WHAT: the last audit's report holds exactly the manifest's discrepancies
exact() {
    found "$TMPD/out" >"$TMPD/found.txt"
    if ! diff "$TMPD/want.txt" "$TMPD/found.txt" >"$TMPD/diff.txt"; then
        echo "--- missing (<) / extra (>)"; cat "$TMPD/diff.txt"
        fail "$1: the audit does not match the manifest"
    fi
}

DB=$(new_db storm_audit)
curl -s -X POST "$SFEMU_URL/__emu/reset" >/dev/null || fail "reset"
"$ORGGEN" --sf "$SFEMU_URL" --db "$DB" --mapping "$MAP" --describe "$ORG" --size 200 --seed 5 \
    --faults all=1 --manifest "$TMPD/manifest.csv" --triggers >"$TMPD/gen.out" 2>&1 ||
    { cat "$TMPD/gen.out"; fail "orggen"; }
expected "$TMPD/manifest.csv" >"$TMPD/want.txt"
[ -s "$TMPD/want.txt" ] || fail "empty manifest"

# 1. audits that get through by retrying: the answer is exact
storm '{"fail_every":3}'
audit 1
exact "503 on every third call"
[ "$(injected fail)" -gt 5 ] || fail "fail_every 3 injected $(injected fail) failures"
assert_contains "$TMPD/err" "retrying"
assert_eq "$(last_status)" discrepancies "stored run under 503s"

storm '{"drop_every":4}'
audit 1
exact "a dropped connection every fourth call"
[ "$(injected drop)" -gt 3 ] || fail "drop_every 4 injected $(injected drop) drops"

storm '{"latency_ms":15,"fail_every":5,"fail_status":500}'
audit 1
exact "latency and 500 on every fifth call"

storm '{"expire_every":4}'
audit 1
exact "the token expiring every fourth call"
[ "$(injected expire)" -ge 2 ] || fail "expire_every 4 injected $(injected expire) expiries"
assert_contains "$TMPD/err" "logging in again"
note "audits through 503s, drops, latency and token expiry: exact"

# 2. audits that cannot finish: exit 3, stored as incomplete, never complete
# every call fails: the login already does, so no run is started
n0=$(runs)
storm '{"fail_every":1}'
audit 3
assert_contains "$TMPD/err" "after 5 attempts"
assert_not_contains "$TMPD/out" ",missing_in_pg,"
assert_eq "$(runs)" "$n0" "no run stored when Salesforce never answers"
# from the middle of the audit on every call fails: the run is stored as failed
storm '{}'
audit 1
calls=$(curl -s "$SFEMU_URL/__emu/counters" | sed -n 's/.*"total":\([0-9]*\).*/\1/p')
[ "$calls" -gt 10 ] || fail "an audit makes only $calls calls"
n0=$(runs)
storm "{\"fail_nth\":$((calls - 4)),\"fail_count\":100000}"
audit 3
assert_contains "$TMPD/err" "after 5 attempts"
assert_eq "$(runs)" "$((n0 + 1))" "the failed audit is stored"
assert_eq "$(last_status)" failed "stored run under a permanent 503"

# a token that cannot be renewed (no login credentials): exit 3, no token in the logs
storm '{"expire_every":3}'
TOK=$(curl -s -X POST "$SFEMU_URL/services/oauth2/token" -d grant_type=password -d client_id=x \
    -d client_secret=y -d username=admin@example.com -d password=password |
    sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
[ -n "$TOK" ] || fail "no token"
DATABASE_URL="$DB" SF_LOGIN_URL= SF_INSTANCE_URL="$SFEMU_URL" SF_ACCESS_TOKEN="$TOK" \
    expect_exit 3 "$SFRECON" audit -c "$MAP" --jobs 1 --format csv
assert_contains "$TMPD/err" "INVALID_SESSION_ID"
assert_not_contains "$TMPD/err" "$TOK"
assert_eq "$(last_status)" failed "stored run after the token expired"

# the daily API limit runs out in the middle of the audit
storm '{}'
used=$(curl -s "$SFEMU_URL/__emu/counters" | sed -n 's/.*"api_usage":\([0-9]*\).*/\1/p')
curl -s -o /dev/null -X POST -d "{\"daily_limit\":$((used + 12))}" "$SFEMU_URL/__emu/config"
DATABASE_URL="$DB" expect_exit 3 "$SFRECON" audit -c "$MAP" --jobs 1 --format json
# stopped by Salesforce's own answer, or before it by the daily budget read from
# Salesforce's usage count (sf_max_daily_api_calls against the org's limit)
grep -qE 'REQUEST_LIMIT_EXCEEDED|sf_max_daily_api_calls \([0-9]+\) is spent' "$TMPD/err" ||
    { cat "$TMPD/err"; fail "the limit stop is not said"; }
grep -qE '"complete": ?false' "$TMPD/out" || fail "the partial report does not say complete false"
grep -A1 -E '"not_covered": ?\[' "$TMPD/out" | grep -q '"[A-Z]' || fail "the partial report lists nothing as not covered"
assert_eq "$(last_status)" partial "stored run after the limit ran out"
curl -s -o /dev/null -X POST -d '{"daily_limit":100000000}' "$SFEMU_URL/__emu/config"
note "audits that cannot finish: exit 3, stored as failed/partial"

# 3. once the storm is over, a re-run is exact
storm '{}'
audit 1
exact "re-run after the storms"
assert_eq "$(last_status)" discrepancies "stored re-run"
note "re-run after the storms: exact"

# 4. repairs under storms (new org): the repair gets through or fails
# visibly; the audit after it (storm over) is clean, a second pass converges
fresh_token() {
    TOK=$(curl -s -X POST "$SFEMU_URL/services/oauth2/token" -d grant_type=password \
        -d client_id=x -d client_secret=y -d username=admin@example.com -d password=password |
        sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
    [ -n "$TOK" ] || fail "no token"
}
sfcount() { # sfcount OBJECT: live records in Salesforce
    curl -s -H "Authorization: Bearer $TOK" \
        "$SFEMU_URL/services/data/v60.0/query?q=SELECT+COUNT()+FROM+$1" |
        sed -n 's/.*"totalSize":\([0-9]*\).*/\1/p'
}
newgen() { # newgen DBNAME SEED: a fresh org with every cause, manifest in want.txt
    storm '{}'
    DB=$(new_db "$1")
    curl -s -X POST "$SFEMU_URL/__emu/reset" >/dev/null || fail "reset"
    "$ORGGEN" --sf "$SFEMU_URL" --db "$DB" --mapping "$MAP" --describe "$ORG" --size 100 \
        --seed "$2" --faults all=1 --manifest "$TMPD/manifest.csv" --triggers \
        >"$TMPD/gen.out" 2>&1 || { cat "$TMPD/gen.out"; fail "orggen"; }
    expected "$TMPD/manifest.csv" >"$TMPD/want.txt"
    audit 1
    exact "audit before the repair"
}
# converge: with the storm over, audit -> repair -> audit ends clean
converge() {
    storm '{}'
    DATABASE_URL="$DB" "$SFRECON" audit -c "$MAP" --jobs 1 >/dev/null 2>&1
    DATABASE_URL="$DB" expect_exit 0 "$SFRECON" repair -c "$MAP" --run latest --yes
    DATABASE_URL="$DB" expect_exit 0 "$SFRECON" audit -c "$MAP" --jobs 1 --no-store
    assert_contains "$TMPD/out" "0 discrepancies"
}

newgen storm_repair 6
storm '{"fail_every":3}'
DATABASE_URL="$DB" expect_exit 0 "$SFRECON" repair -c "$MAP" --run latest --yes
assert_contains "$TMPD/out" " 0 failed, 0 skipped"
[ "$(injected fail)" -gt 0 ] || fail "no failure injected into the repair"
storm '{}'
DATABASE_URL="$DB" expect_exit 0 "$SFRECON" audit -c "$MAP" --jobs 1 --no-store
assert_contains "$TMPD/out" "0 discrepancies"
note "repair under 503 every third call: complete, audit clean"

# pg_wins writes Salesforce (collections): under 503s and token expiry it gets through
sed 's/^{/{"sfrecon": {"repair_policy": "pg_wins"},/' "$MAP" >"$TMPD/pgwins.json"
MAP_SF="$MAP"
MAP="$TMPD/pgwins.json"
newgen storm_pgwins 7
storm '{"fail_every":3,"expire_every":5}'
DATABASE_URL="$DB" expect_exit 0 "$SFRECON" repair -c "$MAP" --run latest --yes
assert_contains "$TMPD/out" " 0 failed, 0 skipped"
[ "$(injected expire)" -gt 0 ] || fail "no token expired during the repair"
storm '{}'
DATABASE_URL="$DB" expect_exit 0 "$SFRECON" audit -c "$MAP" --jobs 1 --no-store
assert_contains "$TMPD/out" "0 discrepancies"
note "pg_wins repair under 503s and token expiry: complete, audit clean"

# dropped connections: a write whose answer is lost is not blindly resent; the
# repair says what failed, and the next pass converges without duplicates
newgen storm_drops 8
fresh_token
accounts=$(sfcount Account)
[ -n "$accounts" ] || fail "cannot count Accounts"
storm '{"drop_every":3}'
DATABASE_URL="$DB" "$SFRECON" repair -c "$MAP" --run latest --yes >"$TMPD/out" 2>"$TMPD/err"
code=$?
[ "$(injected drop)" -gt 0 ] || fail "no connection dropped during the repair"
case $code in
0) assert_contains "$TMPD/out" " 0 failed, 0 skipped" ;;
1 | 3) grep -q "failed\|error" "$TMPD/out" "$TMPD/err" || fail "repair exit $code says nothing failed" ;;
*) cat "$TMPD/err"; fail "repair under drops: exit $code" ;;
esac
converge
fresh_token
pg=$(psql -Atq "$DB" -c "SELECT count(*) FROM salesforce.account WHERE NOT coalesce(isdeleted, false)")
assert_eq "$(sfcount Account)" "$pg" "Salesforce Accounts equal the mirror's after converging"
[ "$(sfcount Account)" -ge "$accounts" ] || fail "Accounts lost"
note "pg_wins repair under drops (exit $code), then converged"
MAP="$MAP_SF"

# 5. sync cycles under storms: Salesforce changes reach the mirror, app
# writes reach Salesforce; a cycle that cannot finish exits 3 and the next
# one (storm over) converges
newgen storm_sync 9
DATABASE_URL="$DB" expect_exit 0 "$SFRECON" repair -c "$MAP" --run latest --yes
sync_once() { DATABASE_URL="$DB" expect_exit "$1" "$SFRECON" sync -c "$MAP" --once; }
sync_once 0
sql() { psql -Atq "$DB" -c "$1" || fail "psql: $1"; }
sfpatch() { # sfpatch ID JSON: updates Account ID in Salesforce
    _st=$(curl -s -o /dev/null -w '%{http_code}' -X PATCH -H "Authorization: Bearer $TOK" \
        -H 'Content-Type: application/json' -d "$2" "$SFEMU_URL/services/data/v60.0/sobjects/Account/$1")
    assert_eq "$_st" 204 "PATCH $1"
}
fresh_token
A1=$(sql "SELECT sfid FROM salesforce.account ORDER BY sfid LIMIT 1")
A2=$(sql "SELECT sfid FROM salesforce.account ORDER BY sfid LIMIT 1 OFFSET 1")
storm '{}'
sfpatch "$A1" '{"Name":"Changed Under 503s"}'
sql "UPDATE salesforce.account SET phone = '555-0199' WHERE sfid = '$A2'"
storm '{"fail_every":3,"latency_ms":5}'
sync_once 0
assert_contains "$TMPD/err" "failed 0"
assert_eq "$(sql "SELECT name FROM salesforce.account WHERE sfid = '$A1'")" "Changed Under 503s" \
    "pulled under 503s"
assert_eq "$(sql "SELECT state FROM salesforce._trigger_log WHERE sfid = '$A2' ORDER BY id DESC LIMIT 1")" \
    SUCCESS "pushed under 503s"
note "sync --once under 503 every third call: pulled and pushed"

storm '{}'
sfpatch "$A1" '{"Name":"Changed Under Drops"}'
sql "UPDATE salesforce.account SET phone = '555-0299' WHERE sfid = '$A2'"
storm '{"drop_every":2}'
DATABASE_URL="$DB" "$SFRECON" sync -c "$MAP" --once >"$TMPD/out" 2>"$TMPD/err"
code=$?
[ $code -eq 0 ] || [ $code -eq 1 ] || [ $code -eq 3 ] || { cat "$TMPD/err"; fail "sync under drops: exit $code"; }
storm '{}'
sync_once 0
sync_once 0
assert_eq "$(sql "SELECT name FROM salesforce.account WHERE sfid = '$A1'")" "Changed Under Drops" \
    "pulled after the drops"
curl -s -H "Authorization: Bearer $TOK" "$SFEMU_URL/services/data/v60.0/sobjects/Account/$A2" \
    >"$TMPD/a2.json"
assert_contains "$TMPD/a2.json" '"Phone":"555-0299"'
DATABASE_URL="$DB" expect_exit 0 "$SFRECON" audit -c "$MAP" --jobs 1 --no-store
assert_contains "$TMPD/out" "0 discrepancies"
note "sync under drops (exit $code), then converged: audit clean"

# a cycle with no way through (every call fails): exit 3, nothing marked done
sfpatch "$A1" '{"Name":"Changed Under A Dead Link"}'
storm '{"fail_every":1}'
sync_once 3
storm '{}'
assert_eq "$(sql "SELECT name FROM salesforce.account WHERE sfid = '$A1'")" "Changed Under Drops" \
    "nothing pulled while Salesforce failed"
sync_once 0
assert_eq "$(sql "SELECT name FROM salesforce.account WHERE sfid = '$A1'")" \
    "Changed Under A Dead Link" "pulled once Salesforce answered"
note "sync with every call failing: exit 3, the next cycle converges"
