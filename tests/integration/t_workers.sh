#!/bin/sh
# t_workers.sh — one audit shared by three processes through the queue in
# schema sfrecon: two `audit --join` helpers started first, then the
# `audit --workers` process that queues the ranges. The report equals the
# one a single process gives on the same data (same discrepancies, same
# rows compared), every task is done once, the run's chunk states serve a
# later --since last.
. "$TOP/tests/integration/lib.sh"
cd "$TOP" || fail "no $TOP"
start_sfemu
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$DB" -c "$1"; }
DB=$(new_db workers)
curl -s -X POST "$SFEMU_URL/__emu/reset" >/dev/null || fail "reset"
orggen_into "$DB" "$TMPD/gen.out" --size 1500 --seed 21 --objects Account,Contact \
    --faults all=2 --manifest "$TMPD/m.csv"
# small chunks: many range tasks
sed '1s/^{/{"sfrecon": {"chunk_size": 100},/' "$MAP" >"$TMPD/map.json"
export DATABASE_URL="$DB" SF_LOGIN_URL="$SFEMU_URL" SF_USERNAME=admin@example.com \
    SF_PASSWORD=password SF_CLIENT_ID=x SF_CLIENT_SECRET=y
A="-c $TMPD/map.json -o Account,Contact --describe $ORG --format csv"

# shellcheck disable=SC2086
"$SFRECON" audit $A >"$TMPD/one.csv" 2>"$TMPD/one.err"
[ $? -eq 1 ] || { cat "$TMPD/one.err"; fail "single-process audit exit"; }

# shellcheck disable=SC2086
"$SFRECON" audit -c "$TMPD/map.json" --describe "$ORG" --join >"$TMPD/j1.out" 2>"$TMPD/j1.err" &
J1=$!
# shellcheck disable=SC2086
"$SFRECON" audit -c "$TMPD/map.json" --describe "$ORG" --join >"$TMPD/j2.out" 2>"$TMPD/j2.err" &
J2=$!
# shellcheck disable=SC2086
"$SFRECON" audit $A --workers --jobs 1 >"$TMPD/many.csv" 2>"$TMPD/many.err"
rc=$?
wait $J1
r1=$?
wait $J2
r2=$?
[ $rc -eq 1 ] || { cat "$TMPD/many.err"; fail "--workers audit exit $rc"; }
[ $r1 -eq 0 ] || { cat "$TMPD/j1.err"; fail "first --join exit $r1"; }
[ $r2 -eq 0 ] || { cat "$TMPD/j2.err"; fail "second --join exit $r2"; }
assert_contains "$TMPD/j1.err" "sfrecon: joined:"
[ ! -s "$TMPD/j1.out" ] || fail "--join printed a report"

# the same report (without the run id column)
cut -d, -f2- "$TMPD/one.csv" | sort >"$TMPD/one.s"
cut -d, -f2- "$TMPD/many.csv" | sort >"$TMPD/many.s"
n=$(grep -c ',Account,\|,Contact,' "$TMPD/one.csv")
[ "$n" -ge 10 ] || fail "too few discrepancies to compare: $n"
cmp -s "$TMPD/one.s" "$TMPD/many.s" || { diff "$TMPD/one.s" "$TMPD/many.s"; fail "reports differ"; }
run=$(q "SELECT max(run_id) FROM sfrecon.work_task")
assert_eq "$(q "SELECT count(*) FROM sfrecon.work_task WHERE run_id = $run AND state <> 'done'")" 0 "tasks left"
tasks=$(q "SELECT count(*) FROM sfrecon.work_task WHERE run_id = $run")
[ "$tasks" -ge 5 ] || fail "only $tasks tasks"
# every live mirror row compared once
assert_eq "$(q "SELECT sum(rows_pg) FROM sfrecon.work_task WHERE run_id = $run AND object = 'Account'")" \
    "$(q "SELECT count(*) FROM salesforce.account WHERE sfid IS NOT NULL AND isdeleted IS NOT TRUE")" \
    "Account rows compared"
note "$tasks tasks, taken by $(q "SELECT count(DISTINCT worker) FROM sfrecon.work_task WHERE run_id = $run") process(es)"
assert_eq "$(q "SELECT status FROM sfrecon.audit_run WHERE id = $run")" discrepancies "run status"
assert_eq "$(q "SELECT count(*) FROM sfrecon.discrepancy WHERE run_id = $run")" \
    "$(q "SELECT count(*) FROM sfrecon.discrepancy WHERE run_id = (SELECT min(id) FROM sfrecon.audit_run)")" \
    "stored discrepancies, shared run vs single process"
# the chunk states of the shared run serve an incremental re-run: it finds
# every discrepancy the shared run found (their chunks were not clean: their
# keys are compared again)
[ "$(q "SELECT count(*) FROM sfrecon.chunk_digest WHERE run_id = $run")" -ge "$tasks" ] ||
    fail "chunk states of the shared run not stored"
[ "$(q "SELECT count(*) FROM sfrecon.chunk_digest WHERE run_id = $run AND NOT clean")" -ge 1 ] ||
    fail "chunks holding discrepancies stored as clean"
[ "$(q "SELECT count(*) FROM sfrecon.chunk_digest WHERE run_id = $run AND content_sum IS NULL")" -eq 0 ] ||
    fail "chunk states of the shared run lack the mirror's digest"
# shellcheck disable=SC2086
"$SFRECON" audit $A --since last -v >"$TMPD/inc.csv" 2>"$TMPD/inc.err"
rc=$?
[ $rc -eq 1 ] || { cat "$TMPD/inc.err"; fail "--since last after --workers: exit $rc"; }
cut -d, -f2- "$TMPD/inc.csv" | sort >"$TMPD/inc.s"
cmp -s "$TMPD/one.s" "$TMPD/inc.s" || { diff "$TMPD/one.s" "$TMPD/inc.s"; fail "incremental report differs"; }
# nothing moved: no chunk is read whole, the open discrepancies are compared
# one by one
whole=$(sed -n 's/.*incremental: \([0-9]*\) of.*/\1/p' "$TMPD/inc.err" | awk '{s += $1} END {print s}')
one=$(sed -n 's/.*chunks compared whole, \([0-9]*\) record.*/\1/p' "$TMPD/inc.err" | awk '{s += $1} END {print s}')
[ "$whole" -eq 0 ] && [ "$one" -ge 1 ] ||
    { cat "$TMPD/inc.err"; fail "incremental re-run: $whole chunks whole, $one records one by one"; }

# a second shared run gives the same report again
# shellcheck disable=SC2086
"$SFRECON" audit $A --workers >"$TMPD/again.csv" 2>"$TMPD/again.err"
[ $? -eq 1 ] || { cat "$TMPD/again.err"; fail "second --workers run"; }
cut -d, -f2- "$TMPD/again.csv" | sort >"$TMPD/again.s"
cmp -s "$TMPD/one.s" "$TMPD/again.s" || fail "second shared run differs"

# usage: --workers with --no-store
# shellcheck disable=SC2086
expect_exit 2 "$SFRECON" audit $A --workers --no-store
assert_contains "$TMPD/err" "--workers shares a stored full content audit"
echo "ok t_workers: $n discrepancies, $tasks ranges, report equal to one process"
