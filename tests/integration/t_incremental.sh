# incremental audits never go falsely clean: on a generated org with every
# cause, `audit --since last` reports exactly what a full audit reports, run
# after run (each one "still open since" the first run that found it); an
# edit in the mirror that leaves systemmodstamp alone, a record purged from
# Salesforce without a trace and a change in Salesforce are found too; a
# fixed mirror row makes the next run clean; the mirror-only checks run in
# incremental mode.
. "$TOP/tests/integration/lib.sh"
start_sfemu
sf_login SF_RETRY_BASE_MS=10

calls() { sed -n 's/.*api calls: \([0-9]*\).*/\1/p' "$TMPD/err"; }
q() { psql -Atq "$DB" -c "$1"; }

DB=$(new_db incr_all)
gen_org 3 "all=2" "$DB"
expected "$TMPD/manifest.csv" >"$TMPD/want.txt"

# 1. the full audit finds the manifest
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" audit -c "$MAP" --format csv
full_calls=$(calls)
found "$TMPD/out" >"$TMPD/full.txt"
diff "$TMPD/want.txt" "$TMPD/full.txt" || fail "full audit does not match the manifest"
first=$(q "SELECT max(id) FROM sfrecon.audit_run")
# the same audit with discrepancies spilled to disk every 4 (a million of
# them stay on disk the same way): the same findings in every format and in
# the store
SFRECON_DISC_SPILL=4 DATABASE_URL="$DB" expect_exit 1 "$SFRECON" audit -c "$MAP" --no-store --format csv
found "$TMPD/out" >"$TMPD/spilled.txt"
diff "$TMPD/full.txt" "$TMPD/spilled.txt" || fail "spilled audit differs (csv)"
SFRECON_DISC_SPILL=4 DATABASE_URL="$DB" expect_exit 1 "$SFRECON" audit -c "$MAP" --no-store --format json
assert_eq "$(grep -c '"cause":' "$TMPD/out")" "$(wc -l <"$TMPD/full.txt")" "spilled audit (json)"
SFRECON_DISC_SPILL=4 DATABASE_URL="$DB" expect_exit 1 "$SFRECON" audit -c "$MAP" --no-store --format html
while IFS=, read -r _o sfid _c; do
    grep -q "$sfid" "$TMPD/out" || fail "spilled audit (html) lacks $sfid"
done <"$TMPD/full.txt"
SFRECON_DISC_SPILL=4 DATABASE_URL="$DB" expect_exit 1 "$SFRECON" audit -c "$MAP" --no-store
assert_contains "$TMPD/out" "$(wc -l <"$TMPD/full.txt") discrepancies"
SFRECON_DISC_SPILL=4 DATABASE_URL="$DB" expect_exit 1 "$SFRECON" audit -c "$MAP" --format csv
spilled_run=$(q "SELECT max(id) FROM sfrecon.audit_run")
assert_eq "$(q "SELECT count(DISTINCT (object, sfid, cause)) FROM sfrecon.discrepancy WHERE run_id = $spilled_run")" \
    "$(wc -l <"$TMPD/full.txt")" "spilled audit (stored)"
[ "$(q "SELECT count(*) FROM sfrecon.chunk_digest WHERE NOT clean")" -ge 1 ] ||
    fail "chunks holding discrepancies stored as clean"

# 2. twice incremental with nothing changed: the same findings, still open
for n in 1 2; do
    DATABASE_URL="$DB" expect_exit 1 "$SFRECON" audit -c "$MAP" --since last --format csv
    found "$TMPD/out" >"$TMPD/incr.txt"
    diff "$TMPD/full.txt" "$TMPD/incr.txt" || fail "incremental run $n differs from the full audit"
    note "incremental run $n: $(wc -l <"$TMPD/incr.txt") findings, $(calls) API calls (full: $full_calls)"
done
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" report --run latest
assert_contains "$TMPD/out" "(still open since run $first)"
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" report --run latest --format json
assert_contains "$TMPD/out" "\"open_since\":$first"
assert_eq "$(q "SELECT count(*) FROM sfrecon.discrepancy WHERE run_id = (SELECT max(id) FROM sfrecon.audit_run) AND open_since <> $first")" 0 \
    "discrepancies not carried forward"

# 3. a clean org, then changes no modstamp or count reveals to the aggregates
DB=$(new_db incr_quiet)
gen_org 4 "" "$DB"
DATABASE_URL="$DB" expect_exit 0 "$SFRECON" audit -c "$MAP"
DATABASE_URL="$DB" expect_exit 0 "$SFRECON" audit -c "$MAP" --since last
idle=$(calls)
[ "$idle" -le 7 ] || fail "an unchanged org cost $idle calls (one per object expected)"
# a script writes the mirror behind Connect's back: systemmodstamp stays
acc=$(q "SELECT sfid FROM salesforce.account ORDER BY sfid LIMIT 1 OFFSET 20")
orig=$(q "SELECT name FROM salesforce.account WHERE sfid = '$acc'")
psql -q "$DB" -c "SET xmlbinary = 'hex'" \
    -c "UPDATE salesforce.account SET name = 'Edited by a script' WHERE sfid = '$acc'" || fail "mirror edit"
# a record purged from Salesforce without a trace (no recycle bin, no modstamp)
lead=$(q "SELECT sfid FROM salesforce.lead ORDER BY sfid LIMIT 1 OFFSET 5")
psql -Atq "$SFEMU_STORE" -c "SELECT 1" >/dev/null || fail "sfemu store"
purged=$(psql -Atq "$SFEMU_STORE" -c "DELETE FROM sfemu.lead WHERE id = '$lead' RETURNING 1")
[ "$purged" = 1 ] || fail "could not purge $lead from sfemu's store"
# and a change in Salesforce
TOKEN=$(sf_token)
con=$(q "SELECT sfid FROM salesforce.contact ORDER BY sfid LIMIT 1 OFFSET 3")
code=$(curl -s -o /dev/null -w '%{http_code}' -X PATCH -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' -d '{"LastName":"Changed in Salesforce"}' \
    "$SFEMU_URL/services/data/v60.0/sobjects/Contact/$con")
assert_eq "$code" 204 "PATCH Contact"
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" audit -c "$MAP" --since last --format csv
found "$TMPD/out" >"$TMPD/quiet.txt"
printf '%s\n' "Account,$acc,field_mismatch" "Contact,$con,stale" "Lead,$lead,missing_in_sf" | sort >"$TMPD/want2.txt"
diff "$TMPD/want2.txt" "$TMPD/quiet.txt" || fail "incremental run missed a quiet change"
note "mirror edit, purge and Salesforce change found incrementally with $(calls) API calls"
# the mirror row put right: the next incremental run compares its chunk
# whole (it was not clean) and finds it clean
printf '%s\n' "SET xmlbinary = 'hex';" "UPDATE salesforce.account SET name = :'name' WHERE sfid = '$acc';" |
    psql -q -v ON_ERROR_STOP=1 -v name="$orig" "$DB" || fail "restore"
DATABASE_URL="$DB" expect_exit 0 "$SFRECON" audit -c "$MAP" --since last -o Account
assert_contains "$TMPD/out" "0 discrepancies"

# 4. the mirror-only checks run in incremental mode: a refused insert
psql -q "$DB" -c "INSERT INTO salesforce.lead (lastname, company) VALUES ('Nobody', 'Ghost Co')" \
    -c "SET xmlbinary = 'hex'" \
    -c "UPDATE salesforce.lead SET _hc_lastop = 'FAILED', _hc_err = '{\"errorCode\":\"REQUIRED_FIELD_MISSING\"}' WHERE sfid IS NULL" \
    || fail "failed insert"
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" audit -c "$MAP" --since last --format csv -o Lead
grep -q '^[0-9]*,Lead,"",sync_error,' "$TMPD/out" || { cat "$TMPD/out"; fail "refused insert not reported incrementally"; }
