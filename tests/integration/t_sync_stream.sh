# sync over Change Data Capture, end to end against sfemu's CometD endpoint:
# with --interval 300 (no pull would come for 5 minutes) a Salesforce update,
# create, nulled field and delete reach the mirror through change events and
# no REST query is made; the replay id of each channel is stored; the
# daemon's own push comes back as an event and is neither applied over the
# app's row nor a conflict; a restart resumes from the stored replay ids
# (changes made while it was down arrive, none twice, still no query); a
# forced GAP_ event and a GAP_OVERFLOW recover through the pull; an expired
# replay id recovers through the pull and /deleted (a record purged while the
# daemon was down leaves the mirror); UNDELETE brings a row back; a purge of
# a live record arrives as DELETE; an object whose channel is not available
# is polled while the others stream; --no-stream polls.
. "$TOP/tests/integration/lib.sh"
sync_org sync_stream 40 3
admin() { curl -s -o "$TMPD/admin" -w '%{http_code}' -X POST -H "Content-Type: application/json" \
    ${2:+-d "$2"} "$SFEMU_URL/__emu/$1"; }
queries() { curl -s "$SFEMU_URL/__emu/counters" | sed -n 's/.*"query":\([0-9]*\).*/\1/p'; }
start_daemon() { # start_daemon [ARGS]: waits until every streamed object is subscribed
    : >"$TMPD/d.err"
    "$SFRECON" sync -c "$MAP" "$@" >"$TMPD/d.out" 2>"$TMPD/d.err" &
    DPID=$!
    _pids="$_pids $DPID"
}
wait_streaming() { # wait_streaming N: N objects report streaming
    _i=0
    while [ "$(grep -c 'streaming change events' "$TMPD/d.err")" -lt "$1" ]; do
        _i=$((_i + 1))
        [ $_i -gt 200 ] && { cat "$TMPD/d.err"; fail "only $(grep -c 'streaming change events' \
            "$TMPD/d.err") of $1 objects streaming"; }
        kill -0 "$DPID" 2>/dev/null || { cat "$TMPD/d.err"; fail "the daemon exited"; }
        sleep 0.1
    done
}
stop_daemon() {
    kill -TERM "$DPID"
    wait "$DPID"
    _rc=$?
    assert_eq "$_rc" 0 "daemon exit after SIGTERM"
    assert_contains "$TMPD/d.err" "sync: stopped"
}

# 0. the baseline: one polling cycle sets the pull cursors
expect_exit 0 "$SFRECON" sync -c "$MAP" --once
A1=$(sql "SELECT sfid FROM salesforce.account ORDER BY sfid LIMIT 1")
A2=$(sql "SELECT sfid FROM salesforce.account ORDER BY sfid LIMIT 1 OFFSET 1")
A3=$(sql "SELECT sfid FROM salesforce.account ORDER BY sfid LIMIT 1 OFFSET 2")
A4=$(sql "SELECT sfid FROM salesforce.account ORDER BY sfid LIMIT 1 OFFSET 3")
L1=$(sql "SELECT sfid FROM salesforce.lead ORDER BY sfid LIMIT 1")
L2=$(sql "SELECT sfid FROM salesforce.lead ORDER BY sfid LIMIT 1 OFFSET 1")

# 1. events with --interval 300: update, create, nulled field, delete; no REST query
start_daemon --interval 300
wait_streaming 7
assert_contains "$TMPD/d.err" "new events only"
# subscribed for new events only, each object is pulled once; then it has a position
wait_for "positions" "SELECT count(*) FROM sfrecon.sync_cursor WHERE direction = 'replay'" 7
admin counters/reset >/dev/null
assert_eq "$(sfcall PATCH "sobjects/Account/$A1" '{"Name":"Renamed By Event"}')" 204 "PATCH A1"
assert_eq "$(sfcall POST sobjects/Account '{"Name":"Created By Event","Phone":"555-0100"}')" 201 "POST"
NEW=$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' "$TMPD/body")
[ -n "$NEW" ] || fail "no id in $(cat "$TMPD/body")"
assert_eq "$(sfcall PATCH "sobjects/Account/$A2" '{"Phone":null}')" 204 "PATCH A2 phone null"
assert_eq "$(sfcall DELETE "sobjects/Lead/$L1")" 204 "DELETE L1"
wait_for "update by event" "SELECT name || '|' || _hc_lastop FROM salesforce.account WHERE sfid = '$A1'" \
    "Renamed By Event|SYNCED"
wait_for "create by event" "SELECT name || '|' || phone FROM salesforce.account WHERE sfid = '$NEW'" \
    "Created By Event|555-0100"
wait_for "nulled by event" "SELECT coalesce(phone, 'NULL') FROM salesforce.account WHERE sfid = '$A2'" NULL
wait_for "delete by event" "SELECT count(*) FROM salesforce.lead WHERE sfid = '$L1'" 0
assert_eq "$(queries)" 0 "REST queries while streaming"
assert_eq "$(sql "SELECT count(*) FROM salesforce._trigger_log")" 0 "event writes are not logged"
R=$(sql "SELECT cursor FROM sfrecon.sync_cursor WHERE object = '/data/AccountChangeEvent'
         AND direction = 'replay'")
[ -n "$R" ] && [ "$R" -gt 0 ] || fail "no replay id stored for Account: '$R'"
# the mirror's systemmodstamp is Salesforce's: a pull finds nothing to do
M1=$(sql "SELECT to_char(systemmodstamp, 'YYYY-MM-DD\"T\"HH24:MI:SS.MS') FROM salesforce.account
          WHERE sfid = '$A1'")
curl -s -H "Authorization: Bearer $TOK" "$API/sobjects/Account/$A1" >"$TMPD/a1.json"
assert_contains "$TMPD/a1.json" "\"SystemModstamp\":\"$M1"
note "events applied, no query"

# 2. own writes: the app's update is pushed, its event comes back: no conflict, row kept
sql "UPDATE salesforce.account SET website = 'https://own.example.com' WHERE sfid = '$A3'"
wait_for "pushed" "SELECT state FROM salesforce._trigger_log WHERE sfid = '$A3'" SUCCESS
wait_log "events 1"
i=0
while ! grep -q "pushed 1" "$TMPD/d.err"; do i=$((i + 1)); [ $i -gt 100 ] && fail "no push line"; sleep 0.1; done
R0=$(sql "SELECT cursor FROM sfrecon.sync_cursor WHERE object = '/data/AccountChangeEvent'
          AND direction = 'replay'")
wait_for "own event stored" "SELECT cursor::bigint > $R FROM sfrecon.sync_cursor
    WHERE object = '/data/AccountChangeEvent' AND direction = 'replay'" t
assert_not_contains "$TMPD/d.err" "conflict:"
assert_eq "$(sql "SELECT website || '|' || _hc_lastop FROM salesforce.account WHERE sfid = '$A3'")" \
    "https://own.example.com|SYNCED" "own write kept"
assert_eq "$(sql "SELECT count(*) FROM salesforce._trigger_log")" 1 "no echo of the own event"
[ -n "$R0" ] || fail "no replay"
note "own write"

# 3. restart: changes made while stopped arrive from the stored replay id, no query
stop_daemon
assert_eq "$(sfcall PATCH "sobjects/Account/$A4" '{"Name":"Changed While Down"}')" 204 "PATCH A4"
assert_eq "$(sfcall POST sobjects/Account '{"Name":"Created While Down"}')" 201 "POST down"
DOWN=$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' "$TMPD/body")
admin counters/reset >/dev/null
start_daemon --interval 300
wait_for "resumed update" "SELECT name FROM salesforce.account WHERE sfid = '$A4'" "Changed While Down"
wait_for "resumed create" "SELECT count(*) FROM salesforce.account WHERE sfid = '$DOWN'" 1
wait_streaming 7
assert_contains "$TMPD/d.err" "stored replay id"
assert_eq "$(queries)" 0 "REST queries after a restart within retention"
assert_eq "$(sql "SELECT count(*) FROM salesforce.account WHERE name IN ('Created While Down',
    'Created By Event')")" 2 "nothing doubled"
note "restart resumes from the replay id"

# 4. a forced gap: the GAP_UPDATE event makes the daemon pull Account
admin cdc '{"gap_next":1}' >/dev/null
assert_eq "$(sfcall PATCH "sobjects/Account/$A1" '{"Name":"Changed In A Gap"}')" 204 "PATCH gap"
wait_for "gap recovered" "SELECT name FROM salesforce.account WHERE sfid = '$A1'" "Changed In A Gap"
assert_contains "$TMPD/d.err" "GAP_UPDATE change event"
[ "$(queries)" -ge 1 ] || fail "the gap was not recovered by a pull"
wait_for "gap closed" "SELECT count(*) FROM sfrecon.sync_cursor WHERE direction = 'gap'" 0
# overflow: a transaction of two contacts arrives as one GAP_OVERFLOW event
C1=$(sql "SELECT sfid FROM salesforce.contact ORDER BY sfid LIMIT 1")
C2=$(sql "SELECT sfid FROM salesforce.contact ORDER BY sfid LIMIT 1 OFFSET 1")
admin cdc '{"overflow_next":true}' >/dev/null
assert_eq "$(sfcall PATCH composite/sobjects "{\"allOrNone\":true,\"records\":[
    {\"attributes\":{\"type\":\"Contact\"},\"id\":\"$C1\",\"Description\":\"overflow\"},
    {\"attributes\":{\"type\":\"Contact\"},\"id\":\"$C2\",\"Description\":\"overflow\"}]}")" 200 \
    "composite update"
wait_for "overflow recovered" "SELECT count(*) FROM salesforce.contact WHERE description = 'overflow'" 2
assert_contains "$TMPD/d.err" "GAP_OVERFLOW change event"
note "gap and overflow recovered by the pull"

# 5. UNDELETE and a purge of a live record
assert_eq "$(sfcall DELETE "sobjects/Lead/$L2")" 204 "DELETE L2"
wait_for "deleted" "SELECT count(*) FROM salesforce.lead WHERE sfid = '$L2'" 0
assert_eq "$(admin "cdc/undelete/Lead/$L2")" 200 "undelete"
wait_for "undeleted" "SELECT count(*) FROM salesforce.lead WHERE sfid = '$L2'" 1
assert_eq "$(sql "SELECT lastname IS NOT NULL FROM salesforce.lead WHERE sfid = '$L2'")" t \
    "undeleted row has its fields"
assert_eq "$(admin "cdc/purge/Lead/$L2")" 200 "purge live"
wait_for "purged" "SELECT count(*) FROM salesforce.lead WHERE sfid = '$L2'" 0
note "undelete, hard delete"

# 6. an expired replay id: the pull and /deleted cover the time the daemon was down
stop_daemon
L3=$(sql "SELECT sfid FROM salesforce.lead ORDER BY sfid LIMIT 1")
assert_eq "$(sfcall PATCH "sobjects/Account/$A2" '{"Name":"Changed Before Expiry"}')" 204 "PATCH A2"
assert_eq "$(admin "cdc/purge/Lead/$L3")" 200 "purge while down"
admin cdc '{"retention_ms":0}' >/dev/null
start_daemon --interval 300
wait_for "expired replay recovered" "SELECT name FROM salesforce.account WHERE sfid = '$A2'" \
    "Changed Before Expiry"
wait_for "purged while down" "SELECT count(*) FROM salesforce.lead WHERE sfid = '$L3'" 0
assert_contains "$TMPD/d.err" "outside the event retention window"
admin cdc '{"retention_ms":259200000}' >/dev/null
wait_streaming 7
wait_for "gaps closed" "SELECT count(*) FROM sfrecon.sync_cursor WHERE direction = 'gap'" 0
admin counters/reset >/dev/null
assert_eq "$(sfcall PATCH "sobjects/Account/$A2" '{"Name":"After Expiry"}')" 204 "PATCH A2 again"
wait_for "events again" "SELECT name FROM salesforce.account WHERE sfid = '$A2'" "After Expiry"
assert_eq "$(queries)" 0 "REST queries once streaming again"
stop_daemon
note "expired replay id"

# 7. one object without a stream is polled, the others stream
admin cdc '{"disabled":["Contact"]}' >/dev/null
start_daemon --interval 1
wait_streaming 6
wait_log "Contact: no change events"
assert_eq "$(sfcall PATCH "sobjects/Contact/$C1" '{"Description":"polled"}')" 204 "PATCH C1"
wait_for "polled object" "SELECT description FROM salesforce.contact WHERE sfid = '$C1'" polled
assert_eq "$(sfcall PATCH "sobjects/Account/$A1" '{"Name":"Streamed Beside"}')" 204 "PATCH A1"
wait_for "streamed object" "SELECT name FROM salesforce.account WHERE sfid = '$A1'" "Streamed Beside"
stop_daemon
admin cdc '{"disabled":[]}' >/dev/null
note "polling beside streaming"

# 8. --no-stream polls every object
start_daemon --interval 1 --no-stream
assert_eq "$(sfcall PATCH "sobjects/Account/$A1" '{"Name":"Polled Only"}')" 204 "PATCH no-stream"
wait_for "no-stream pull" "SELECT name FROM salesforce.account WHERE sfid = '$A1'" "Polled Only"
stop_daemon
assert_not_contains "$TMPD/d.err" "streaming change events"
note "--no-stream"

# 9. the audit is clean after all of it
expect_exit 0 "$SFRECON" audit -c "$MAP" --no-store
assert_contains "$TMPD/out" "0 discrepancies"
echo "t_sync_stream: ok"
