# audit and repair inside the daemon, and its metrics: with --audit-every 2s
# --repair auto a mirror row corrupted behind the triggers' back (no log
# entry, no event) is found by the daemon's incremental audit and restored
# by a journaled repair run; the runs are stored (report --run latest shows
# them); /metrics parses as Prometheus text (HELP and TYPE once per family,
# then samples) with the sync gauges and the audit families under the names
# `report --format prometheus` uses; /healthz answers 200; bad option values
# exit 2.
. "$TOP/tests/integration/lib.sh"
MAP="$TOP/tests/data/mapping-sample.json"
ORG="$TOP/tests/sfemu/org/sample-org.json"
ORGGEN="$TOP/$BUILD/orggen"

# 0. usage errors need no connection
expect_exit 2 "$SFRECON" sync --audit-every 5x
assert_contains "$TMPD/err" "--audit-every"
expect_exit 2 "$SFRECON" sync --repair sometimes
assert_contains "$TMPD/err" "--repair"
expect_exit 2 "$SFRECON" sync --metrics nocolon
assert_contains "$TMPD/err" "--metrics"

start_sfemu
export SF_LOGIN_URL="$SFEMU_URL" SF_USERNAME=admin@example.com SF_PASSWORD=password \
       SF_CLIENT_ID=test SF_CLIENT_SECRET=test SF_RETRY_BASE_MS=10 SF_BULK_POLL_MS=10
DB=$(new_db sync_drift)
"$ORGGEN" --sf "$SFEMU_URL" --db "$DB" --mapping "$MAP" --describe "$ORG" --size 30 --seed 5 \
    --manifest "$TMPD/m.csv" --triggers >"$TMPD/gen.out" 2>&1 || { cat "$TMPD/gen.out"; fail "orggen"; }
export DATABASE_URL="$DB"
sql() { psql -Atq "$DB" -c "$1" || fail "psql: $1"; }
expect_exit 0 "$SFRECON" sync -c "$MAP" --once
expect_exit 2 "$SFRECON" sync -c "$MAP" --metrics 127.0.0.1:99999
assert_contains "$TMPD/err" "port"

A1=$(sql "SELECT sfid FROM salesforce.account ORDER BY sfid LIMIT 1")
NAME=$(sql "SELECT name FROM salesforce.account WHERE sfid = '$A1'")
# 1. a row corrupted behind the triggers' back (no log entry, no event, same
#    systemmodstamp) is found by the daemon's first (full) audit and repaired
psql -Atq "$DB" -c "SET session_replication_role = replica;
    UPDATE salesforce.account SET name = 'Corrupted Behind Its Back' WHERE sfid = '$A1'" ||
    fail "corrupt"
assert_eq "$(sql "SELECT count(*) FROM salesforce._trigger_log")" 0 "the corruption is not logged"
"$SFRECON" sync -c "$MAP" --interval 300 --audit-every 2s --repair auto \
    --metrics 127.0.0.1:0 >"$TMPD/d.out" 2>"$TMPD/d.err" &
DPID=$!
_pids="$_pids $DPID"
i=0
while ! grep -q "metrics: http" "$TMPD/d.err"; do
    i=$((i + 1)); [ $i -gt 100 ] && { cat "$TMPD/d.err"; fail "no metrics line"; }; sleep 0.1
done
PORT=$(sed -n 's/.*metrics: http:\/\/[^:]*:\([0-9]*\)\/metrics.*/\1/p' "$TMPD/d.err" | head -n 1)
[ -n "$PORT" ] && [ "$PORT" -gt 0 ] || fail "no port in $(cat "$TMPD/d.err")"
i=0
while [ "$(sql "SELECT name FROM salesforce.account WHERE sfid = '$A1'")" != "$NAME" ]; do
    i=$((i + 1))
    [ $i -gt 300 ] && { cat "$TMPD/d.err"; fail "the daemon did not repair the corrupted row"; }
    kill -0 "$DPID" 2>/dev/null || { cat "$TMPD/d.err"; fail "the daemon exited"; }
    sleep 0.1
done
assert_contains "$TMPD/d.err" "(full): 1 discrepancy"
assert_contains "$TMPD/d.err" "undo with: sfrecon repair --undo"
R=$(sql "SELECT count(*) FROM sfrecon.repair_journal WHERE sfid = '$A1'")
[ "$R" -ge 1 ] || fail "the repair is not journaled"
assert_eq "$(sql "SELECT count(*) FROM salesforce._trigger_log")" 0 "the repair is not logged back"
i=0
while ! grep -q "(incremental): 0 discrepancies" "$TMPD/d.err"; do
    i=$((i + 1)); [ $i -gt 300 ] && { cat "$TMPD/d.err"; fail "no incremental audit after"; }
    sleep 0.1
done
[ "$(sql "SELECT count(*) FROM sfrecon.audit_run")" -ge 2 ] || fail "audit runs not stored"
expect_exit 0 "$SFRECON" report --run latest
note "audit and repair inside the daemon"

# 2. /metrics is Prometheus text; /healthz is 200
curl -s -o "$TMPD/metrics" -w '%{http_code} %{content_type}' "http://127.0.0.1:$PORT/metrics" \
    >"$TMPD/status" || fail "GET /metrics"
assert_contains "$TMPD/status" "200 text/plain; version=0.0.4"
awk '
    /^# HELP / { if (help[$3]++) { print "duplicate HELP " $3; bad = 1 } next }
    /^# TYPE / { if (type[$3]++) { print "duplicate TYPE " $3; bad = 1 }
                 if ($4 != "gauge" && $4 != "counter") { print "bad type " $0; bad = 1 } next }
    /^#/ { next }
    {
        if ($0 !~ /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? -?[0-9.]+([eE][-+]?[0-9]+)?$/) {
            print "bad sample: " $0; bad = 1
        }
        name = $0; sub(/[{ ].*/, "", name)
        if (!type[name]) { print "sample before TYPE: " $0; bad = 1 }
        n++
    }
    END { if (n < 10) { print "only " n " samples"; bad = 1 } exit bad }
' "$TMPD/metrics" || { cat "$TMPD/metrics"; fail "/metrics is not Prometheus text"; }
for m in 'sfrecon_sync_lag_seconds{object="Account"}' 'sfrecon_sync_events_received_total{object="Lead"}' \
         'sfrecon_sync_records_pulled_total' 'sfrecon_sync_records_pushed_total' \
         'sfrecon_sync_records_failed_total' 'sfrecon_sync_trigger_log_backlog 0' \
         'sfrecon_sync_api_calls_total' 'sfrecon_api_daily_limit' \
         'sfrecon_discrepancies{object="Account",cause="field_mismatch"}' \
         'sfrecon_audit_last_success_timestamp_seconds' 'sfrecon_audit_duration_seconds' \
         'sfrecon_api_calls'; do
    assert_contains "$TMPD/metrics" "$m"
done
assert_eq "$(curl -s -o "$TMPD/health" -w '%{http_code}' "http://127.0.0.1:$PORT/healthz")" 200 \
    "healthz"
assert_contains "$TMPD/health" "ok"
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/nope")" 404 "404"
kill -TERM "$DPID"
wait "$DPID"
assert_eq "$?" 0 "daemon exit"
note "metrics"
echo "t_sync_drift: ok"
