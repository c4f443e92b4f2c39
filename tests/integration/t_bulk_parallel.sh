#!/bin/sh
# t_bulk_parallel.sh — the single-pass content audit reading Salesforce's side
# as one Bulk API 2.0 job whose result pages (resultPages) are read in several
# streams at once. An org of 12000 Accounts (sfemu, pages of 1000 records: 12
# pages in three lists) and its mirror on Connect's own index in the default
# collation (no byte-order index, so the single pass runs), with 18 names
# changed and 5 rows deleted in the mirror: the audit reports exactly those
# 23 keys, and the same report with one stream (pages one after another).
. "$TOP/tests/integration/lib.sh"
ORGGEN="$TOP/$BUILD/orggen"
ORG="$TOP/tests/sfemu/org/sample-org.json"
cd "$TOP" || fail "no $TOP"
start_sfemu
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$1" -c "$2"; }
# Bulk API 2.0 for any read of 1000 rows or more
MAP="$TMPD/map.json"
sed '1s/^{/{"sfrecon": {"bulk_threshold": 1000},/' "$TOP/tests/data/mapping-sample.json" >"$MAP"

q "$PGCLUSTER_URL" "DROP DATABASE IF EXISTS bulkpar"
q "$PGCLUSTER_URL" "CREATE DATABASE bulkpar"
DB=$(db_url bulkpar)
expect_exit 0 "$ORGGEN" --sf "$SFEMU_URL" --db "$DB" --mapping "$MAP" --describe "$ORG" \
    --size 12000 --seed 11 --objects Account --manifest "$TMPD/m.csv"
q "$DB" "ALTER TABLE salesforce.account ALTER COLUMN sfid TYPE varchar(18) COLLATE \"default\""
q "$DB" "DROP INDEX IF EXISTS salesforce.sfrecon_idx_account_sfid_c"
q "$DB" "SET xmlbinary = 'hex'; UPDATE salesforce.account SET name = name || ' (app)' WHERE id % 700 = 3"
# rows no other row names as its parent (else the mirror check reports orphans too)
q "$DB" "SELECT sfid FROM salesforce.account a WHERE id % 1000 = 7 AND NOT EXISTS
    (SELECT 1 FROM salesforce.account c WHERE c.parentid = a.sfid) ORDER BY id LIMIT 5" |
    sort >"$TMPD/deleted"
q "$DB" "DELETE FROM salesforce.account WHERE sfid IN ($(sed "s/.*/'&'/" "$TMPD/deleted" | paste -sd,))"
q "$DB" "SELECT sfid FROM salesforce.account WHERE name LIKE '% (app)'" | sort >"$TMPD/changed"
assert_eq "$(wc -l <"$TMPD/changed" | tr -d ' ')" 18 "names changed"
assert_eq "$(wc -l <"$TMPD/deleted" | tr -d ' ')" 5 "rows deleted"
n_live=$(q "$DB" "SELECT count(*) FROM salesforce.account")
assert_eq "$n_live" 11995 "mirror rows"
curl -sf -X POST -H 'Content-Type: application/json' -d '{"bulk_result_page":1000}' \
    "$SFEMU_URL/__emu/config" >/dev/null || fail "sfemu config"

export SF_LOGIN_URL="$SFEMU_URL" SF_USERNAME=admin@example.com SF_PASSWORD=password \
    SF_CLIENT_ID=x SF_CLIENT_SECRET=y SF_BULK_POLL_MS=5
# audit NAME: content audit of Account; discrepancies (sfid,cause) in $TMPD/NAME.keys
audit() {
    DATABASE_URL="$DB" "$SFRECON" audit -v -c "$MAP" -o Account --no-store --format csv \
        --describe "$ORG" >"$TMPD/$1.out" 2>"$TMPD/$1.err"
    _rc=$?
    [ "$_rc" -eq 1 ] || { cat "$TMPD/$1.err"; fail "$1: audit exit $_rc, want 1"; }
    head -n 1 "$TMPD/$1.out" | grep -q '^run_id,object,sfid,cause,' || fail "$1: CSV header: $(head -n 1 "$TMPD/$1.out")"
    tail -n +2 "$TMPD/$1.out" | cut -d, -f3,4 | sort -u >"$TMPD/$1.keys"
}
SF_BULK_STREAMS=4 audit par
assert_contains "$TMPD/par.err" "Account: single-pass audit"
assert_contains "$TMPD/par.err" "reading its result pages in 4 streams"
assert_contains "$TMPD/par.err" "pass 1 done (12000 + "
# 23 discrepancies: the 18 changed names and the 5 rows the mirror lacks
assert_eq "$(wc -l <"$TMPD/par.keys" | tr -d ' ')" 23 "discrepancies"
grep -v ',missing_in_pg$' "$TMPD/par.keys" | cut -d, -f1 | sort >"$TMPD/par.changed"
cmp -s "$TMPD/par.changed" "$TMPD/changed" || { diff "$TMPD/par.changed" "$TMPD/changed"; fail "changed names reported"; }
grep ',missing_in_pg$' "$TMPD/par.keys" | cut -d, -f1 | sort >"$TMPD/par.missing"
cmp -s "$TMPD/par.missing" "$TMPD/deleted" || { diff "$TMPD/par.missing" "$TMPD/deleted"; fail "rows missing in the mirror"; }
# API calls of the Salesforce pass: COUNT(), job create, status, 3 lists, 12 pages
assert_contains "$TMPD/par.err" "api calls: "
SF_BULK_STREAMS=1 audit ser
assert_not_contains "$TMPD/ser.err" "result pages in"
cmp -s "$TMPD/par.keys" "$TMPD/ser.keys" || { diff "$TMPD/par.keys" "$TMPD/ser.keys"; fail "one stream reports otherwise"; }
pc=$(sed -n 's/.*api calls: \([0-9]*\).*/\1/p' "$TMPD/par.err" | tail -n 1)
sc=$(sed -n 's/.*api calls: \([0-9]*\).*/\1/p' "$TMPD/ser.err" | tail -n 1)
# the parallel read lists the pages (3 calls) and reads 12 of them instead of
# one page of 12000: 14 calls more, nothing else differs
assert_eq "$pc" "$((sc + 14))" "API calls, parallel ($pc) against serial ($sc)"
echo "ok t_bulk_parallel: 23 discrepancies, the same in 4 streams and in one; $pc and $sc API calls"
