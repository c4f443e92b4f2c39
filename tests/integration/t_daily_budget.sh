# sf_max_daily_api_calls is a daily budget against Salesforce's own count of
# the org's calls (GET /limits DailyApiRequests, then Sforce-Limit-Info), not
# a per-run count: the sync daemon stops writing before a batch could cross
# it and says so (the app's entry stays NEW, nothing is created, the org's
# usage stays under the cap); when Salesforce's count falls (a new day on
# sfemu's clock) the write goes out. The audit skips the capped object only.
. "$TOP/tests/integration/lib.sh"
ORG="$TOP/tests/sfemu/org/sample-org.json"
start_sfemu
export SF_LOGIN_URL="$SFEMU_URL" SF_USERNAME=admin@example.com SF_PASSWORD=password \
       SF_CLIENT_ID=test SF_CLIENT_SECRET=test SF_RETRY_BASE_MS=10 SF_BULK_POLL_MS=10
DB=$(new_db daily_budget)
"$TOP/$BUILD/orggen" --sf "$SFEMU_URL" --db "$DB" --mapping "$TOP/tests/data/mapping-sample.json" \
    --describe "$ORG" --size 30 --seed 4 --manifest "$TMPD/m.csv" --triggers >"$TMPD/gen.out" 2>&1 ||
    { cat "$TMPD/gen.out"; fail "orggen"; }
export DATABASE_URL="$DB"
sql() { psql -Atq "$DB" -c "$1" || fail "psql: $1"; }
usage() { curl -s "$SFEMU_URL/__emu/counters" | sed -n 's/.*"api_usage":\([0-9]*\).*/\1/p'; }
TOK=$(sf_token)
burn() { # burn N: N API calls by someone else (the org's count goes up)
    i=0; while [ "$i" -lt "$1" ]; do
        curl -s -o /dev/null -H "Authorization: Bearer $TOK" "$SFEMU_URL/services/data/v60.0/limits"
        i=$((i + 1)); done
}
expect_exit 0 "$SFRECON" sync -c "$TOP/tests/data/mapping-sample.json" --once
U=$(usage)
CAP=$((U + 60))
MAP="$TMPD/capped.json" # every mapping: the whole org's count stays under CAP
sed "s/\"sf_max_daily_api_calls\": 30000/\"sf_max_daily_api_calls\": $CAP/" \
    "$TOP/tests/data/mapping-sample.json" >"$MAP"
assert_eq "$(grep -c "\"sf_max_daily_api_calls\": $CAP," "$MAP")" 7 "capped mappings"
ACC="$TMPD/account-capped.json" # Account only
sed "25s/\"sf_max_daily_api_calls\": 30000/\"sf_max_daily_api_calls\": $CAP/" \
    "$TOP/tests/data/mapping-sample.json" >"$ACC"

# under the budget: the app's insert goes out
sql "INSERT INTO salesforce.account (name, external_id__c) VALUES ('Budget One', 'budget-1')" >/dev/null
expect_exit 0 "$SFRECON" sync -c "$MAP" --once
assert_contains "$TMPD/err" "pushed 1"
assert_not_contains "$TMPD/err" "paused"

# the daemon runs; the org's count (other clients) comes within a batch of
# the cap: it stops writing and says so; once the cap is reached it makes no
# call at all (no probe within SF_USAGE_REREAD_S). --no-stream: the daemon
# polls, so its own pulls close in on the cap
export SF_USAGE_REREAD_S=3600
"$SFRECON" sync -c "$MAP" --interval 1 --no-stream >"$TMPD/d.out" 2>"$TMPD/d.err" &
DPID=$!; _pids="$_pids $DPID"
wait_for() { # wait_for FILE PATTERN [COUNT]: up to 60 s for COUNT lines with PATTERN
    i=0; while [ "$(grep -cF -- "$2" "$1")" -lt "${3:-1}" ]; do
        i=$((i + 1)); [ $i -gt 600 ] && { cat "$1"; fail "waited for: $2"; }
        kill -0 "$DPID" 2>/dev/null || { cat "$1"; fail "the daemon exited"; }
        sleep 0.1; done
}
composite() { curl -s "$SFEMU_URL/__emu/counters" | sed -n 's/.*"composite":\([0-9]*\).*/\1/p'; }
wait_for "$TMPD/d.err" "sync cycle 1:"
burn $((CAP - $(usage) - 20)) # other clients; then the daemon's own pulls close in on the cap
n=$(grep -c "sync cycle" "$TMPD/d.err")
wait_for "$TMPD/d.err" "sync: Account: writes to Salesforce paused: the org has used"
assert_contains "$TMPD/d.err" "daily budget (sf_max_daily_api_calls)"
w0=$(composite)
sql "INSERT INTO salesforce.account (name, external_id__c) VALUES ('Budget Two', 'budget-2')" >/dev/null
wait_for "$TMPD/d.err" "daily API budget reached: Salesforce counts"
u1=$(usage)
n=$(grep -c "sync cycle" "$TMPD/d.err")
wait_for "$TMPD/d.err" "sync cycle" $((n + 2)) # two more cycles at the cap
assert_eq "$(usage)" "$u1" "calls made at the cap"
assert_eq "$(composite)" "$w0" "collections calls while paused"
assert_eq "$(sql "SELECT state FROM salesforce._trigger_log WHERE action = 'INSERT' ORDER BY id DESC LIMIT 1")" NEW "entry waits"
n=$(psql -Atq "$SFEMU_STORE" -c "SELECT count(*) FROM sfemu.account WHERE external_id__c = 'budget-2'")
assert_eq "$n" 0 "record created past the budget"
kill -TERM "$DPID"; wait "$DPID"; code=$?
assert_eq "$code" 0 "daemon exit on SIGTERM"
note "writes paused before the budget was crossed; no call once at the cap (org usage $u1 incl. the concurrent burn, cap $CAP)"

# an audit meanwhile: the object whose budget is used up is not covered, the others are
expect_exit 3 "$SFRECON" audit -c "$ACC" --no-store # partial: exit 3
assert_contains "$TMPD/out" "not covered: Account"
assert_not_contains "$TMPD/out" "not covered: Contact"
# said either by the client (Salesforce's count reached) or by the engine
# before the object's first call (its budget already spent)
grep -qE 'Account: stopped early: (daily API budget reached: Salesforce counts|its sf_max_daily_api_calls \([0-9]+\) is spent)' "$TMPD/err" ||
    { cat "$TMPD/err"; fail "the budget stop of Account is not said"; }

# a new day on sfemu's clock: Salesforce's count starts again, the write goes out
curl -s -X POST -H 'Content-Type: application/json' --data '{"offset_ms":90000000}' \
    "$SFEMU_URL/__emu/clock" >/dev/null || fail "clock"
expect_exit 0 "$SFRECON" sync -c "$MAP" --once
assert_contains "$TMPD/err" "pushed 1"
n=$(psql -Atq "$SFEMU_STORE" -c "SELECT count(*) FROM sfemu.account WHERE external_id__c = 'budget-2'")
assert_eq "$n" 1 "record after the count fell"
note "the write went out once Salesforce's count fell"
exit 0
