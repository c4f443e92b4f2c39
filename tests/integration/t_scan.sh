#!/bin/sh
# t_scan.sh — the audit on Heroku Connect's own indexes. One org (sfemu) with
# injected faults and its mirror in three index layouts:
#   cidx    sfid in the default collation plus sfrecon's (sfid COLLATE "C")
#   connect only Connect's hcu_idx_account_sfid, default collation (ICU
#           en-US when the server has ICU, as Heroku's en_US.UTF-8 orders
#           'a' before 'B'; else the cluster's C.UTF-8, which the planner does
#           not treat as byte order either)
#   ucs     sfid declared COLLATE ucs_basic, Connect's unique index only
# `sfrecon schema` with SF_* set reads the describe from the org.
# The single-pass audit runs on `connect` only; `cidx` and `ucs` use index
# range scans written in the index's own collation. All three report the same
# discrepancies, Salesforce<->Postgres and Postgres<->Postgres.
. "$TOP/tests/integration/lib.sh"
ORGGEN="$TOP/$BUILD/orggen"
MAP="$TOP/tests/data/mapping-sample.json"
ORG="$TOP/tests/sfemu/org/sample-org.json"
cd "$TOP" || fail "no $TOP"
start_sfemu
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$1" -c "$2"; }

icu=$(q "$PGCLUSTER_URL" "SELECT count(*) FROM pg_collation WHERE collname = 'en-US-x-icu'")
if [ "$icu" = 1 ]; then
    LOC="TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
    note "default collation ICU en-US"
else
    LOC=""
    note "no ICU: default collation of the cluster"
fi
q "$PGCLUSTER_URL" "DROP DATABASE IF EXISTS scan_cidx"
q "$PGCLUSTER_URL" "CREATE DATABASE scan_cidx $LOC"
CIDX=$(db_url scan_cidx)
expect_exit 0 "$ORGGEN" --sf "$SFEMU_URL" --db "$CIDX" --size 3000 --seed 5 --objects Account \
    --faults all=3 --manifest "$TMPD/m.csv"
if [ "$icu" = 1 ]; then
    assert_eq "$(q "$CIDX" "SELECT 'a' < 'B'")" t "en-US orders a before B"
fi
# the layouts below start from an older Connect table: sfid in the database's
# default collation (the DDL sfrecon prints gives newer tables' ucs_basic)
q "$CIDX" "ALTER TABLE salesforce.account ALTER COLUMN sfid TYPE varchar(18) COLLATE \"default\""
for v in connect ucs; do
    q "$PGCLUSTER_URL" "DROP DATABASE IF EXISTS scan_$v"
    q "$PGCLUSTER_URL" "CREATE DATABASE scan_$v TEMPLATE scan_cidx"
done
CONNECT=$(db_url scan_connect)
UCS=$(db_url scan_ucs)
q "$CONNECT" "DROP INDEX salesforce.sfrecon_idx_account_sfid_c"
q "$UCS" "DROP INDEX salesforce.sfrecon_idx_account_sfid_c"
q "$UCS" "ALTER TABLE salesforce.account ALTER COLUMN sfid TYPE varchar(18) COLLATE ucs_basic"
assert_eq "$(q "$CONNECT" "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes
    WHERE tablename = 'account' AND indexdef LIKE '%(sfid%'")" hcu_idx_account_sfid "connect layout"
# (the duplicate faults need Connect's index without UNIQUE)
assert_eq "$(q "$UCS" "SELECT indexdef LIKE '%btree (sfid)' FROM pg_indexes
    WHERE indexname = 'hcu_idx_account_sfid'")" t "ucs layout keeps Connect's index"

export SF_LOGIN_URL="$SFEMU_URL" SF_USERNAME=admin@example.com SF_PASSWORD=password \
    SF_CLIENT_ID=x SF_CLIENT_SECRET=y
# `sfrecon schema` takes the describe from the org when SF_* is set
expect_exit 0 env -u SFRECON_DESCRIBE "$SFRECON" schema -c "$MAP"
mv "$TMPD/out" "$TMPD/ddl_sf.sql"
expect_exit 0 "$SFRECON" schema -c "$MAP" --describe "$ORG"
cmp -s "$TMPD/ddl_sf.sql" "$TMPD/out" || { diff "$TMPD/out" "$TMPD/ddl_sf.sql"; fail "schema from the org differs"; }
assert_contains "$TMPD/ddl_sf.sql" 'CREATE TABLE IF NOT EXISTS "salesforce"."account"'

# audit DB NAME [ARGS]: content audit of Account, report as CSV in $TMPD/NAME.csv
# (sorted, without the run's timings), stderr in $TMPD/NAME.err
audit() {
    _db=$1 _n=$2
    shift 2
    DATABASE_URL="$_db" "$SFRECON" audit -v -c "$MAP" -o Account --no-store --format csv \
        --describe "$ORG" "$@" >"$TMPD/$_n.out" 2>"$TMPD/$_n.err"
    _rc=$?
    [ "$_rc" -eq 1 ] || { cat "$TMPD/$_n.err"; fail "$_n: audit exit $_rc, want 1"; }
    cut -d, -f2-4 "$TMPD/$_n.out" | sort >"$TMPD/$_n.csv"
}

audit "$CIDX" sf_cidx
audit "$CONNECT" sf_connect
audit "$UCS" sf_ucs
assert_not_contains "$TMPD/sf_cidx.err" "single-pass audit"
assert_contains "$TMPD/sf_connect.err" "Account: single-pass audit"
assert_not_contains "$TMPD/sf_ucs.err" "single-pass audit"
assert_contains "$TMPD/sf_cidx.err" 'key order by "sfid" COLLATE "pg_catalog"."C" (index range scans)'
assert_contains "$TMPD/sf_connect.err" 'key order by "sfid" COLLATE "C" (no byte-order index'
assert_contains "$TMPD/sf_ucs.err" 'key order by "sfid" (index range scans)'
n=$(wc -l <"$TMPD/sf_cidx.csv")
[ "$n" -gt 20 ] || fail "too few discrepancies with the C index: $n"
cmp -s "$TMPD/sf_cidx.csv" "$TMPD/sf_connect.csv" ||
    { diff "$TMPD/sf_cidx.csv" "$TMPD/sf_connect.csv"; fail "Connect's index: other discrepancies"; }
cmp -s "$TMPD/sf_cidx.csv" "$TMPD/sf_ucs.csv" ||
    { diff "$TMPD/sf_cidx.csv" "$TMPD/sf_ucs.csv"; fail "ucs_basic: other discrepancies"; }
# every injected fault of the mirror is among them
for id in $(awk -F, 'NR > 1 && $3 != "missing_parent" {print $2}' "$TMPD/m.csv"); do
    grep -q ",$id," "$TMPD/sf_connect.csv" || fail "injected $id not reported"
done

# Postgres <-> Postgres: the C-index mirror as the source of both targets.
q "$CIDX" "UPDATE salesforce.account SET name = name || ' (renamed)' WHERE id % 97 = 0"
audit "$CONNECT" pg_connect --source "$CIDX"
audit "$UCS" pg_ucs --source "$CIDX"
q "$PGCLUSTER_URL" "DROP DATABASE IF EXISTS scan_cidx2"
q "$PGCLUSTER_URL" "CREATE DATABASE scan_cidx2 TEMPLATE scan_connect"
CIDX2=$(db_url scan_cidx2)
q "$CIDX2" "CREATE INDEX sfrecon_idx_account_sfid_c ON salesforce.account (sfid COLLATE \"C\")"
audit "$CIDX2" pg_cidx --source "$CIDX"
assert_contains "$TMPD/pg_connect.err" "Account: single-pass audit"
assert_not_contains "$TMPD/pg_cidx.err" "single-pass audit"
cmp -s "$TMPD/pg_cidx.csv" "$TMPD/pg_connect.csv" ||
    { diff "$TMPD/pg_cidx.csv" "$TMPD/pg_connect.csv"; fail "pg<->pg: Connect's index differs"; }
cmp -s "$TMPD/pg_cidx.csv" "$TMPD/pg_ucs.csv" ||
    { diff "$TMPD/pg_cidx.csv" "$TMPD/pg_ucs.csv"; fail "pg<->pg: ucs_basic differs"; }
renamed=$(q "$CIDX" "SELECT count(*) FROM salesforce.account WHERE name LIKE '% (renamed)'")
[ "$(grep -c ',truncation$\|,field_mismatch$' "$TMPD/pg_connect.csv")" -ge "$renamed" ] ||
    fail "pg<->pg: fewer differing rows than renamed ($renamed)"
for id in $(q "$CIDX" "SELECT sfid FROM salesforce.account WHERE name LIKE '% (renamed)'"); do
    grep -q ",$id," "$TMPD/pg_connect.csv" || fail "pg<->pg: renamed $id not reported"
done
# count depth alike on Connect's index: split keys and part counts from one
# key-only pass of the mirror, the ranges to compare read in grouped passes
# (an org large enough to bisect: ranges of 4,000 rows are compared whole)
q "$PGCLUSTER_URL" "CREATE DATABASE scan_big $LOC"
BIG=$(db_url scan_big)
curl -s -X POST "$SFEMU_URL/__emu/reset" >/dev/null
expect_exit 0 "$ORGGEN" --sf "$SFEMU_URL" --db "$BIG" --size 20000 --seed 6 --objects Account \
    --faults missing_in_pg=5,stale=5 --manifest "$TMPD/big.csv"
q "$BIG" "ALTER TABLE salesforce.account ALTER COLUMN sfid TYPE varchar(18) COLLATE \"default\""
q "$BIG" "DROP INDEX IF EXISTS salesforce.sfrecon_idx_account_sfid_c"
q "$PGCLUSTER_URL" "CREATE DATABASE scan_big_ucs TEMPLATE scan_big"
BIGU=$(db_url scan_big_ucs)
q "$BIGU" "ALTER TABLE salesforce.account ALTER COLUMN sfid TYPE varchar(18) COLLATE ucs_basic"
audit "$BIGU" cnt_ucs --depth count
audit "$BIG" cnt_connect --depth count
cmp -s "$TMPD/cnt_ucs.csv" "$TMPD/cnt_connect.csv" ||
    { diff "$TMPD/cnt_ucs.csv" "$TMPD/cnt_connect.csv"; fail "count depth: Connect's index differs"; }
for id in $(awk -F, 'NR > 1 && ($3 == "missing_in_pg" || $3 == "stale") {print $2}' "$TMPD/big.csv"); do
    grep -q ",$id," "$TMPD/cnt_connect.csv" || fail "count depth on Connect's index: $id not reported"
done
assert_contains "$TMPD/cnt_connect.err" "compared row by row in grouped passes"
assert_not_contains "$TMPD/cnt_ucs.err" "compared row by row in grouped passes"
echo "ok t_scan: $n discrepancies alike in three index layouts; pg<->pg alike; count depth alike"
