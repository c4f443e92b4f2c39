# The run lifecycle on a nightly job: an audit stopped by SIGINT, SIGTERM or
# SIGKILL in the middle is never read as clean (report --run latest exits 3)
# and an exact re-run follows; the same for a repair; a second audit of the
# same mapping exits instead of interleaving; `-o Bogus` stores nothing; one
# exit-code table exercised per command; stdout and stderr in one file (cron)
# keep whole lines. The emulator's latency fault keeps the audit busy, and the
# test waits (bounded) for the run's first stored object before it signals.
. "$TOP/tests/integration/lib.sh"
start_sfemu
sf_login SF_RETRY_BASE_MS=10

gen() { # gen SEED FAULTS DB
    curl -s -X POST "$SFEMU_URL/__emu/reset" >/dev/null || fail "reset"
    "$ORGGEN" --sf "$SFEMU_URL" --db "$3" --mapping "$MAP" --describe "$ORG" --size 150 \
        --seed "$1" ${2:+--faults "$2"} --manifest "$TMPD/manifest.csv" --triggers \
        >"$TMPD/gen.out" 2>&1 || { cat "$TMPD/gen.out"; fail "orggen seed $1"; }
}
latency() { curl -s -X POST "$SFEMU_URL/__emu/fault" -d "{\"latency_ms\":$1}" >/dev/null; }
runs() { psql -Atq "$DB" -c "SELECT count(*) FROM sfrecon.audit_run"; }
# wait_mid RUNS_BEFORE: until the new run exists and has stored its first object
wait_mid() {
    _i=0
    while :; do
        _n=$(psql -Atq "$DB" -c "SELECT count(*) FROM sfrecon.chunk_digest c JOIN sfrecon.audit_run r ON r.id = c.run_id WHERE r.id > $1 AND r.status = 'running'" 2>/dev/null)
        [ "${_n:-0}" -gt 0 ] && return 0
        _i=$((_i + 1))
        [ $_i -gt 600 ] && fail "the audit did not reach its second object"
        kill -0 "$pid" 2>/dev/null || { cat "$TMPD/bg.err"; fail "the audit ended early"; }
        sleep 0.05
    done
}

# wait_unlocked: until the killed process's backend has let go of its locks
wait_unlocked() {
    _i=0
    while [ "$(psql -Atq "$DB" -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid IN (21318, 21319)")" != 0 ]; do
        _i=$((_i + 1))
        [ $_i -gt 200 ] && fail "the killed audit's locks stayed"
        sleep 0.05
    done
}

DB=$(new_db life_audit)
gen 3 "all=1" "$DB"
expected "$TMPD/manifest.csv" >"$TMPD/want.txt"
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" audit -c "$MAP" --format csv
found "$TMPD/out" >"$TMPD/got.txt"
diff "$TMPD/want.txt" "$TMPD/got.txt" || fail "baseline audit not exact"
assert_contains "$TMPD/err" "stored as run"

# ---- -o Bogus: exit 2 naming it, nothing stored ----
before=$(runs)
DATABASE_URL="$DB" expect_exit 2 "$SFRECON" audit -c "$MAP" -o Bogus
assert_contains "$TMPD/err" "-o Bogus: object is not in the mapping"
assert_eq "$(runs)" "$before" "runs after -o Bogus"
psql -Atq "$DB" -c "SELECT count(*) FROM sfrecon.audit_run WHERE status = 'running'" >"$TMPD/n"
assert_eq "$(cat "$TMPD/n")" 0 "running runs after -o Bogus"

# ---- SIGINT / SIGTERM / SIGKILL in the middle of an audit ----
for sig in INT TERM KILL; do
    latency 400
    before=$(psql -Atq "$DB" -c "SELECT coalesce(max(id), 0) FROM sfrecon.audit_run")
    DATABASE_URL="$DB" "$SFRECON" audit -c "$MAP" --jobs 1 >"$TMPD/bg.out" 2>"$TMPD/bg.err" &
    pid=$!
    wait_mid "$before"
    if [ "$sig" = INT ]; then
        # a second audit of the same mapping meanwhile: a clear message, no run stored
        n=$(runs)
        DATABASE_URL="$DB" expect_exit 3 "$SFRECON" audit -c "$MAP" --describe "$ORG"
        assert_contains "$TMPD/err" "another sfrecon audit or repair of mirror schema salesforce is running"
        assert_contains "$TMPD/err" "audit run $((before + 1))"
        assert_eq "$(runs)" "$n" "runs after the refused second audit"
    fi
    kill -"$sig" "$pid"
    wait "$pid"
    code=$?
    latency 0
    if [ "$sig" = KILL ]; then
        assert_eq "$code" 137 "exit after SIGKILL"
        wait_unlocked
        status=abandoned
        assert_eq "$(psql -Atq "$DB" -c "SELECT status FROM sfrecon.audit_run ORDER BY id DESC LIMIT 1")" running "stored status after SIGKILL"
    else
        assert_eq "$code" 3 "exit after SIG$sig"
        status=interrupted
        assert_eq "$(wc -l <"$TMPD/bg.err" | tr -d ' ')" 1 "one stderr line after SIG$sig"
        assert_contains "$TMPD/bg.err" "audit interrupted by SIG$sig: stored as audit run $((before + 1)), status interrupted"
        assert_eq "$(wc -c <"$TMPD/bg.out" | tr -d ' ')" 0 "no report on stdout after SIG$sig"
        assert_eq "$(psql -Atq "$DB" -c "SELECT status FROM sfrecon.audit_run ORDER BY id DESC LIMIT 1")" interrupted "stored status"
        n=$(psql -Atq "$DB" -c "SELECT jsonb_array_length(not_covered) FROM sfrecon.audit_run ORDER BY id DESC LIMIT 1")
        [ "$n" -gt 0 ] || fail "an interrupted run lists what it did not cover"
    fi
    # the next morning's check: never clean, never 0
    DATABASE_URL="$DB" expect_exit 3 "$SFRECON" report --run latest
    assert_contains "$TMPD/out" "sfrecon audit run $((before + 1)): $status"
    assert_contains "$TMPD/err" "audit run $((before + 1)) is $status"
    DATABASE_URL="$DB" expect_exit 3 "$SFRECON" report -c "$MAP" --run latest --format json
    assert_contains "$TMPD/out" "\"status\":\"$status\""
    # an exact re-run
    DATABASE_URL="$DB" expect_exit 1 "$SFRECON" audit -c "$MAP" --format csv
    found "$TMPD/out" >"$TMPD/got.txt"
    diff "$TMPD/want.txt" "$TMPD/got.txt" || fail "re-run after SIG$sig not exact"
    DATABASE_URL="$DB" expect_exit 1 "$SFRECON" report --run latest
    note "SIG$sig mid-audit: $status, report exit 3, re-run exact"
done

# ---- the report header names the mapping, org, app and mirror ----
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" report -c "$MAP" --run latest
assert_contains "$TMPD/out" "mapping $MAP (organization_id 00D000000000001EAA, app_name sfrecon-sample); mirror database life_audit, schema salesforce"
DATABASE_URL="$DB" expect_exit 2 "$SFRECON" report -c "$TMPD/other.json" --run latest
assert_contains "$TMPD/err" "no audit run of mapping $TMPD/other.json"

# ---- cron: stdout and stderr into one file keep whole lines ----
DATABASE_URL="$DB" "$SFRECON" audit -c "$MAP" --format json -v >"$TMPD/cron.log" 2>&1
# larger than a stdio buffer (4096), so a report written in blocks would split lines
size=$(wc -c <"$TMPD/cron.log" | tr -d ' ')
[ "$size" -gt 4096 ] || fail "the cron log ($size bytes) is too small to show interleaving"
! grep -n '.sfrecon: ' "$TMPD/cron.log" || fail "a log line landed inside a report line"
grep -v '^sfrecon: ' "$TMPD/cron.log" >"$TMPD/cron.json"
python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$TMPD/cron.json" ||
    fail "the report in the cron log is not whole"
tail -n 1 "$TMPD/cron.log" | grep -q '^sfrecon: api calls: ' || fail "the summary is not last"
note "cron log: whole lines ($size bytes)"

# ---- SIGINT / SIGTERM / SIGKILL in the middle of a repair ----
DB=$(new_db life_repair)
gen 1 "all=2" "$DB"
for sig in INT TERM KILL; do
    SFRECON_TEST_KILL_AT=batch:1 SFRECON_TEST_KILL_SIGNAL=$sig DATABASE_URL="$DB" \
        "$TOP/$BUILD/sfrecon-test" repair -c "$MAP" --yes >"$TMPD/out" 2>"$TMPD/err"
    code=$?
    st=$(psql -Atq "$DB" -c "SELECT status FROM sfrecon.repair_run ORDER BY id DESC LIMIT 1")
    if [ "$sig" = KILL ]; then
        assert_eq "$code" 137 "repair exit after SIGKILL"
        assert_eq "$st" running "repair run after SIGKILL"
    else
        assert_eq "$code" 3 "repair exit after SIG$sig"
        assert_eq "$st" interrupted "repair run after SIG$sig"
        assert_contains "$TMPD/err" "repair interrupted by SIG$sig: repair run"
        assert_eq "$(grep -c 'interrupted' "$TMPD/err")" 1 "one interrupted line"
    fi
    DATABASE_URL="$DB" "$SFRECON" report --run latest >"$TMPD/out" 2>"$TMPD/err"
    code=$?
    [ "$code" -ne 0 ] || fail "report after a repair stopped by SIG$sig exits 0"
    assert_not_contains "$TMPD/out" ": clean"
    note "SIG$sig mid-repair: repair run $st, report exit $code"
done
DATABASE_URL="$DB" expect_exit 0 "$SFRECON" repair -c "$MAP" --yes
assert_contains "$TMPD/out" " 0 failed, 0 skipped"
DATABASE_URL="$DB" expect_exit 0 "$SFRECON" audit -c "$MAP"
assert_contains "$TMPD/out" "0 discrepancies"
DATABASE_URL="$DB" expect_exit 0 "$SFRECON" report --run latest
note "repair re-run after the stops: audit clean"

# ---- one exit-code table, per command ----
BAD="postgresql://nobody@127.0.0.1:1/nodb"
printf '{"version":1,"mappings":[{"object_name":"Account","config":{"access":"read_only","fields":{"Id":{},"Name":{}}}},{"object_name":"Nope__c","config":{"access":"read_only","fields":{"Id":{}}}}]}\n' >"$TMPD/nope.json"
echo '{"sobjects": [' >"$TMPD/broken-describe.json"
# audit: 0 / 1 seen above; 2 unreadable or invalid --describe, object missing from the org; 3 no database
DATABASE_URL="$DB" expect_exit 2 "$SFRECON" audit -c "$MAP" --describe /nonexistent/describe.json
assert_contains "$TMPD/err" "/nonexistent/describe.json"
DATABASE_URL="$DB" expect_exit 2 "$SFRECON" audit -c "$MAP" --describe "$TMPD/broken-describe.json"
assert_contains "$TMPD/err" "broken-describe.json"
DATABASE_URL="$DB" expect_exit 2 "$SFRECON" audit -c "$TMPD/nope.json"
assert_contains "$TMPD/err" "Nope__c"
DATABASE_URL="$BAD" expect_exit 3 "$SFRECON" audit -c "$MAP"
DATABASE_URL="$DB" expect_exit 2 "$SFRECON" audit -c "$MAP" --jobs 0x
assert_contains "$TMPD/err" "'0x'"
DATABASE_URL="$DB" expect_exit 2 "$SFRECON" audit -c "$MAP" --max-api-calls 5x
assert_contains "$TMPD/err" "'5x'"
# repair: 0 nothing to do; 1 unresolved; 2 usage; 3 no database; a declined confirmation is 0
DATABASE_URL="$DB" expect_exit 0 "$SFRECON" repair -c "$MAP" --yes
assert_contains "$TMPD/out" "nothing to repair"
DATABASE_URL="$DB" expect_exit 2 "$SFRECON" repair -c "$MAP" --format csv --dry-run
assert_contains "$TMPD/err" "got 'csv'"
DATABASE_URL="$BAD" expect_exit 3 "$SFRECON" repair -c "$MAP" --dry-run
if command -v script >/dev/null; then
    psql -q "$DB" -c "UPDATE salesforce.lead SET company = 'Declined Ltd' WHERE id = (SELECT min(id) FROM salesforce.lead)"
    echo n | DATABASE_URL="$DB" script -qec "$SFRECON repair -c $MAP" /dev/null >"$TMPD/out" 2>&1
    code=$?
    assert_eq "$code" 0 "declined confirmation"
    assert_contains "$TMPD/out" "not applied: nothing was changed"
else
    fail "script (util-linux) is needed for the confirmation test"
fi
# report: 0 clean / 1 discrepancies / 3 unfinished seen above; 2 usage and unknown run; 3 no database
DATABASE_URL="$DB" expect_exit 2 "$SFRECON" report --run 0
assert_contains "$TMPD/err" "got '0'"
DATABASE_URL="$DB" expect_exit 2 "$SFRECON" report --run 99999
DATABASE_URL="$BAD" expect_exit 3 "$SFRECON" report --run latest
# lint: an object the org lacks (describes from the API, last mapping) is a finding, never "error: ok"
DATABASE_URL="$DB" "$SFRECON" lint -c "$TMPD/nope.json" >"$TMPD/out" 2>"$TMPD/err"
code=$?
[ "$code" -eq 0 ] || [ "$code" -eq 1 ] || { cat "$TMPD/err"; fail "lint exit $code"; }
assert_not_contains "$TMPD/err" "error: ok"
assert_contains "$TMPD/out" "Nope__c"
DATABASE_URL="$DB" expect_exit 2 "$SFRECON" lint -c "$MAP" --describe "$TMPD/broken-describe.json"
DATABASE_URL="$BAD" expect_exit 3 "$SFRECON" lint -c "$MAP" --describe "$ORG"
# schema: 0 printed; 2 bad describe; 3 the output cannot be written
expect_exit 0 "$SFRECON" schema -c "$MAP" --describe "$ORG" --out "$TMPD/ddl.sql"
assert_contains "$TMPD/ddl.sql" "CREATE TABLE"
expect_exit 2 "$SFRECON" schema -c "$MAP" --describe "$TMPD/broken-describe.json"
expect_exit 3 "$SFRECON" schema -c "$MAP" --describe "$ORG" --out /nonexistent/dir/ddl.sql
# sync: 0 one clean cycle; 2 usage; 3 no database
DATABASE_URL="$DB" expect_exit 0 "$SFRECON" sync -c "$MAP" --once
DATABASE_URL="$DB" expect_exit 2 "$SFRECON" sync -c "$MAP" --interval soon
assert_contains "$TMPD/err" "'soon'"
DATABASE_URL="$BAD" expect_exit 3 "$SFRECON" sync -c "$MAP" --once
# no mapping given and none in the current directory: say -c
for c in audit repair lint schema sync; do
    (cd "$TMPD" && DATABASE_URL="$DB" "$SFRECON" "$c" >"$TMPD/out" 2>"$TMPD/err")
    assert_eq "$?" 2 "$c without a mapping"
    assert_contains "$TMPD/err" "pass the mapping (Heroku Connect export) with -c FILE"
done
note "exit-code table: every command"
exit 0
