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
MAP="$TOP/tests/data/mapping-sample.json"
ORG="$TOP/tests/sfemu/org/sample-org.json"
ORGGEN="$TOP/$BUILD/orggen"
start_sfemu
export SF_LOGIN_URL="$SFEMU_URL" SF_USERNAME=admin@example.com SF_PASSWORD=password \
       SF_CLIENT_ID=test SF_CLIENT_SECRET=test SF_RETRY_BASE_MS=5 SF_BULK_POLL_MS=10

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
# found FILE: (object,sfid,cause) of a CSV report; expected FILE: of a manifest
found() {
    grep -E '^[0-9]+,[A-Za-z_]+,[0-9A-Za-z]{15,18},[a-z_]+,' "$1" | cut -d, -f2-4 | sort -u
}
expected() { tail -n +2 "$1" | cut -d, -f1-3 | sort -u; }
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
assert_contains "$TMPD/err" "REQUEST_LIMIT_EXCEEDED"
assert_contains "$TMPD/out" '"complete":false'
grep -A1 '"not_covered":\[' "$TMPD/out" | grep -q '"[A-Z]' || fail "the partial report lists nothing as not covered"
assert_eq "$(last_status)" partial "stored run after the limit ran out"
curl -s -o /dev/null -X POST -d '{"daily_limit":100000000}' "$SFEMU_URL/__emu/config"
note "audits that cannot finish: exit 3, stored as failed/partial"

# 3. once the storm is over, a re-run is exact
storm '{}'
audit 1
exact "re-run after the storms"
assert_eq "$(last_status)" discrepancies "stored re-run"
note "re-run after the storms: exact"
