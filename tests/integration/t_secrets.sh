# Secrets never leak: the demo (scripts/demo.sh) runs with a distinctive
# password and client secret, and none of them appears in any log line, in
# the reports (json, html, csv), in any stored row (a dump of the mirror with
# its sfrecon schema and repair journal, and of the emulator's store). Then a
# session token taken from the emulator is used directly (SF_ACCESS_TOKEN)
# for a verbose audit, repair (journal), undo and sync push: it appears
# nowhere either.
. "$TOP/tests/integration/lib.sh"
PW='Pw-7f3aZq9!Sx41-hunter'
CS='Cs-91b2c0ffee-5ecret-77'
KEEP="$TMPD/keep"
SFRECON_DEMO_PASSWORD="$PW" SFRECON_DEMO_CLIENT_SECRET="$CS" SFRECON_DEMO_KEEP="$KEEP" \
    BUILD="$BUILD" sh "$TOP/scripts/demo.sh" --size 80 >"$TMPD/demo.out" 2>&1 ||
    { tail -n 30 "$TMPD/demo.out"; fail "the demo failed"; }
# the scan has something to look at
assert_contains "$TMPD/demo.out" "Repair: re-sync the offending records"
assert_contains "$KEEP/report.json" '"discrepancies"'
assert_contains "$KEEP/report.html" "<html"
grep -q "repair_journal" "$KEEP/mirror.sql" || fail "no journal in the dump"
[ "$(grep -c . "$KEEP/mirror.sql")" -gt 100 ] || fail "the mirror dump is nearly empty"
scan() { # scan SECRET FILES...: fails naming every file and line holding SECRET
    s=$1; shift
    if grep -rnF -- "$s" "$@" >"$TMPD/hits"; then
        head -n 5 "$TMPD/hits"; fail "a secret leaked into $(cut -d: -f1 "$TMPD/hits" | sort -u | tr '\n' ' ')"
    fi
}
for s in "$PW" "$CS"; do scan "$s" "$TMPD/demo.out" "$KEEP"; done
# URL-encoded forms too (the token call's body)
scan 'Pw-7f3aZq9%21Sx41' "$TMPD/demo.out" "$KEEP"
note "demo: $(ls "$KEEP" | wc -l) files and the demo's output hold neither secret"

# a session token used as SF_ACCESS_TOKEN, with debug logging
start_sfemu --user "admin@example.com:$PW"
DB=$(new_db secrets_tok)
SF_USERNAME=admin@example.com SF_PASSWORD="$PW" "$TOP/$BUILD/orggen" --sf "$SFEMU_URL" --db "$DB" \
    --mapping "$MAP" --describe "$ORG" --size 40 --seed 9 --faults "all=1" --manifest "$TMPD/m.csv" \
    --triggers >"$TMPD/gen.out" 2>&1 || { cat "$TMPD/gen.out"; fail "orggen"; }
TOK=$(curl -s -X POST "$SFEMU_URL/services/oauth2/token" -d grant_type=password -d client_id=x \
    --data-urlencode client_secret="$CS" -d username=admin@example.com --data-urlencode password="$PW" |
    sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
[ ${#TOK} -gt 20 ] || fail "no token"
export DATABASE_URL="$DB" SF_INSTANCE_URL="$SFEMU_URL" SF_ACCESS_TOKEN="$TOK" SF_RETRY_BASE_MS=10
unset SF_LOGIN_URL SF_USERNAME SF_PASSWORD SF_CLIENT_ID SF_CLIENT_SECRET
L="$TMPD/logs"; mkdir -p "$L"
sed 's/^{/{"sfrecon": {"repair_policy": "pg_wins"},/' "$MAP" >"$TMPD/pgwins.json"
"$SFRECON" audit -c "$TMPD/pgwins.json" -v >"$L/audit.out" 2>"$L/audit.err"
"$SFRECON" repair -c "$TMPD/pgwins.json" --run latest --yes -v >"$L/repair.out" 2>"$L/repair.err"
"$SFRECON" repair --undo latest --format json -v >"$L/undo.out" 2>"$L/undo.err"
psql -Atq "$DB" -c "INSERT INTO salesforce.account (name, external_id__c) VALUES ('Secret Test', 'sec-1')" >/dev/null
"$SFRECON" sync -c "$MAP" --once -v >"$L/sync.out" 2>"$L/sync.err"
"$SFRECON" report --run latest --format json --out "$L/report.json" 2>"$L/report.err"
grep -q "sync cycle 1" "$L/sync.err" || { cat "$L/sync.err"; fail "sync did not run"; }
grep -q "repair run" "$L/repair.out" || { cat "$L/repair.err"; fail "repair did not run"; }
pg_dump "$DB" >"$L/mirror.sql" || fail "pg_dump"
pg_dump "$SFEMU_STORE" >"$L/sfemu.sql" || fail "pg_dump store"
grep -q "sfrecon.repair_journal" "$L/mirror.sql" || fail "no journal in the dump"
scan "$TOK" "$L"
scan "$PW" "$L"
# an expired token in an error message must not echo it either
curl -s -X POST -H 'Content-Type: application/json' --data '{"expire_tokens":true}' "$SFEMU_URL/__emu/fault" >/dev/null
"$SFRECON" audit -c "$MAP" --no-store -v >"$L/expired.out" 2>"$L/expired.err"
grep -q "INVALID_SESSION_ID" "$L/expired.err" || { cat "$L/expired.err"; fail "no session error"; }
scan "$TOK" "$L"
note "a session token used for audit, repair, undo and sync appears in no log, report or stored row"
exit 0
