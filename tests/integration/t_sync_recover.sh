# sync isolation and trigger-log housekeeping: one object whose mirror
# table breaks (its systemmodstamp column turned to text) fails and backs off while the others keep
# syncing, in a --once cycle (exit 3, the others written) and in the daemon
# (events of the others applied; the broken one catches up through its gap
# once repaired); NEW entries of a read_only mapping become READONLY;
# processed entries older than an hour move to _trigger_log_archive, archive
# rows older than sfrecon.archive_days are deleted, younger ones kept.
. "$TOP/tests/integration/lib.sh"
sync_org sync_recover 30 4
WAIT_STEPS=300
sed '1s/^{/{"sfrecon": {"archive_days": 5},/' "$MAP" >"$TMPD/map.json"
expect_exit 0 "$SFRECON" sync -c "$TMPD/map.json" --once
A1=$(sql "SELECT sfid FROM salesforce.account ORDER BY sfid LIMIT 1")
L1=$(sql "SELECT sfid FROM salesforce.lead ORDER BY sfid LIMIT 1")

# 1. a broken table fails its object only: --once writes the others, exits 3
sql "ALTER TABLE salesforce.lead ALTER COLUMN systemmodstamp TYPE text"
assert_eq "$(sfcall PATCH "sobjects/Account/$A1" '{"Name":"Beside A Broken Lead"}')" 204 "PATCH A1"
assert_eq "$(sfcall PATCH "sobjects/Lead/$L1" '{"Company":"Broken Table Co"}')" 204 "PATCH L1"
expect_exit 3 "$SFRECON" sync -c "$TMPD/map.json" --once
assert_contains "$TMPD/err" "Lead:"
assert_contains "$TMPD/err" "the other objects go on"
assert_eq "$(sql "SELECT name FROM salesforce.account WHERE sfid = '$A1'")" "Beside A Broken Lead" \
    "Account synced beside the broken Lead"
note "--once isolation"

# 2. the daemon: the broken object backs off, the others stream; repaired, it catches up
: >"$TMPD/d.err"
"$SFRECON" sync -c "$TMPD/map.json" --interval 300 >"$TMPD/d.out" 2>"$TMPD/d.err" &
DPID=$!
_pids="$_pids $DPID"
wait_for "positions" "SELECT count(*) FROM sfrecon.sync_cursor WHERE direction = 'replay'
    AND object <> '/data/LeadChangeEvent'" 6
assert_eq "$(sfcall PATCH "sobjects/Lead/$L1" '{"Company":"Broken Again Co"}')" 204 "PATCH L1 again"
assert_eq "$(sfcall PATCH "sobjects/Account/$A1" '{"Name":"Streamed Beside A Broken Lead"}')" 204 \
    "PATCH A1 again"
wait_for "Account streamed" "SELECT name FROM salesforce.account WHERE sfid = '$A1'" \
    "Streamed Beside A Broken Lead"
i=0
while ! grep -q "Lead: .*retrying in" "$TMPD/d.err"; do
    i=$((i + 1)); [ $i -gt 200 ] && { cat "$TMPD/d.err"; fail "no backoff of Lead"; }; sleep 0.1
done
kill -0 "$DPID" || fail "the daemon died of one broken object"
sql "ALTER TABLE salesforce.lead ALTER COLUMN systemmodstamp TYPE timestamp USING systemmodstamp::timestamp"
wait_for "Lead caught up" "SELECT company FROM salesforce.lead WHERE sfid = '$L1'" "Broken Again Co"
wait_for "Lead gap closed" "SELECT count(*) FROM sfrecon.sync_cursor WHERE direction = 'gap'" 0
i=0
while ! grep -q "Lead: recovered" "$TMPD/d.err"; do
    i=$((i + 1)); [ $i -gt 100 ] && { cat "$TMPD/d.err"; fail "no recovery line"; }; sleep 0.1
done
kill -TERM "$DPID"
wait "$DPID"
assert_eq "$?" 0 "daemon exit"
note "daemon isolation and recovery"

# 3. READONLY, archive, archive_days
ID=$(sql "SELECT id FROM salesforce.lead ORDER BY id LIMIT 1")
sql "INSERT INTO salesforce._trigger_log (txid, created_at, updated_at, state, action, table_name,
     record_id, sfid, \"values\") VALUES (txid_current(), now(), now(), 'NEW', 'UPDATE', 'lead', $ID,
     '$L1', '\"company\"=>\"x\"')"
A2=$(sql "SELECT sfid FROM salesforce.account ORDER BY sfid LIMIT 1 OFFSET 1")
sql "UPDATE salesforce.account SET phone = '555-0199' WHERE sfid = '$A2'"
expect_exit 0 "$SFRECON" sync -c "$TMPD/map.json" --once
assert_eq "$(sql "SELECT state FROM salesforce._trigger_log WHERE table_name = 'lead'")" READONLY \
    "read_only entry"
assert_eq "$(sql "SELECT state FROM salesforce._trigger_log WHERE sfid = '$A2'")" SUCCESS "pushed"
# an hour later the processed entries move; old archive rows go
sql "UPDATE salesforce._trigger_log SET processed_at = now() - interval '2 hours'"
sql "INSERT INTO salesforce._trigger_log_archive (id, txid, created_at, updated_at, processed_at,
     state, action, table_name, record_id) VALUES
     (900001, 1, now() - interval '6 days', now() - interval '6 days', now() - interval '6 days',
      'SUCCESS', 'UPDATE', 'account', 1),
     (900002, 1, now() - interval '4 days', now() - interval '4 days', now() - interval '4 days',
      'SUCCESS', 'UPDATE', 'account', 1)"
expect_exit 0 "$SFRECON" sync -c "$TMPD/map.json" --once
assert_contains "$TMPD/err" "moved to _trigger_log_archive"
assert_eq "$(sql "SELECT count(*) FROM salesforce._trigger_log")" 0 "live log emptied"
assert_eq "$(sql "SELECT string_agg(state, ',' ORDER BY state) FROM salesforce._trigger_log_archive
                  WHERE id < 900000")" "READONLY,SUCCESS" "archived entries"
assert_eq "$(sql "SELECT string_agg(id::text, ',') FROM salesforce._trigger_log_archive
                  WHERE id > 900000")" 900002 "archive_days 5: the 6-day-old row deleted"
note "housekeeping"
echo "t_sync_recover: ok"
