#!/bin/sh
# t_pgpg.sh — Postgres <-> Postgres without a describe: two mirrors of one
# org (all mapped objects) compare with nothing but the mapping; the field
# types come from the source's columns. Exactly the rows changed, deleted and
# added in the target are reported; representation-only differences
# (786000 vs 786000.0 in a double precision column, a multi-select picklist's
# order) are not; --describe still overrides; a source without the table is a
# configuration error naming the mapping.
. "$TOP/tests/integration/lib.sh"
ORGGEN="$TOP/$BUILD/orggen"
MAP="$TOP/tests/data/mapping-sample.json"
ORG="$TOP/tests/sfemu/org/sample-org.json"
cd "$TOP" || fail "no $TOP"
unset SFRECON_DESCRIBE SF_INSTANCE_URL SF_ACCESS_TOKEN SF_LOGIN_URL 2>/dev/null || true
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$1" -c "$2"; }

SRC=$(new_db pgpg_src)
expect_exit 0 "$ORGGEN" --db "$SRC" --size 300 --seed 11 --manifest "$TMPD/m.csv"
q "$PGCLUSTER_URL" "DROP DATABASE IF EXISTS pgpg_dst"
q "$PGCLUSTER_URL" "CREATE DATABASE pgpg_dst TEMPLATE pgpg_src"
DST=$(db_url pgpg_dst)

# representation only: the same double written another way, picklist order
q "$DST" "UPDATE salesforce.account SET annualrevenue = annualrevenue::numeric(20,1)::float8
          WHERE id % 7 = 0 AND annualrevenue IS NOT NULL"
# real changes, in several objects and column types
q "$DST" "UPDATE salesforce.account SET name = name || ' x' WHERE id IN (3, 50)"
q "$DST" "UPDATE salesforce.account SET annualrevenue = coalesce(annualrevenue, 0) + 1000.25 WHERE id = 77"
C1=$(q "$SRC" "SELECT min(id) FROM salesforce.contact WHERE birthdate IS NOT NULL")
q "$DST" "UPDATE salesforce.contact SET birthdate = birthdate + 1 WHERE id = $C1"
q "$DST" "UPDATE salesforce.contact SET email = 'changed@example.com' WHERE id = 6"
q "$DST" "UPDATE salesforce.opportunity SET isdeleted = NOT coalesce(isdeleted, false) WHERE id = 9"
q "$DST" "DELETE FROM salesforce.opportunity WHERE id = 10"
q "$DST" "INSERT INTO salesforce.lead (sfid, lastname, company, systemmodstamp, isdeleted)
          VALUES ('00Q000000000ZZZEAA', 'Extra', 'Extra Co', now(), false)"
{
    q "$DST" "SELECT 'Account,' || sfid FROM salesforce.account WHERE id IN (3, 50, 77)"
    q "$DST" "SELECT 'Contact,' || sfid FROM salesforce.contact WHERE id IN ($C1, 6)"
    q "$SRC" "SELECT 'Opportunity,' || sfid FROM salesforce.opportunity WHERE id IN (9, 10)"
    echo "Lead,00Q000000000ZZZEAA"
} | sort >"$TMPD/want"

DATABASE_URL="$DST" "$SFRECON" audit -c "$MAP" --source "$SRC" --no-store --format csv \
    >"$TMPD/out" 2>"$TMPD/err"
rc=$?
[ "$rc" -eq 1 ] || { cat "$TMPD/err"; fail "audit exit $rc, want 1"; }
assert_not_contains "$TMPD/err" "no describe source"
assert_not_contains "$TMPD/err" "mapped but not compared"
cut -d, -f2-3 "$TMPD/out" | grep -v '^object,' | sort -u >"$TMPD/got"
cmp -s "$TMPD/got" "$TMPD/want" || { diff "$TMPD/want" "$TMPD/got"; fail "not exactly the changed rows"; }
grep -q "^[^,]*,Account,$(q "$DST" "SELECT sfid FROM salesforce.account WHERE id = 77"),field_mismatch" \
    "$TMPD/out" || fail "AnnualRevenue change not a field_mismatch"
grep -q ",Lead,00Q000000000ZZZEAA,missing_in_sf" "$TMPD/out" || fail "added lead not missing_in_sf"

# --describe overrides the column types and finds the same rows
DATABASE_URL="$DST" "$SFRECON" audit -c "$MAP" --source "$SRC" --no-store --format csv \
    --describe "$ORG" >"$TMPD/out2" 2>"$TMPD/err2"
[ $? -eq 1 ] || { cat "$TMPD/err2"; fail "audit --describe exit"; }
cut -d, -f2-3 "$TMPD/out2" | grep -v '^object,' | sort -u >"$TMPD/got2"
cmp -s "$TMPD/got2" "$TMPD/want" || { diff "$TMPD/want" "$TMPD/got2"; fail "--describe: other rows"; }

# identical mirrors are clean
DATABASE_URL="$SRC" "$SFRECON" audit -c "$MAP" --source "$SRC" --no-store >"$TMPD/out3" 2>"$TMPD/err3"
[ $? -eq 0 ] || { cat "$TMPD/out3" "$TMPD/err3"; fail "a mirror against itself is not clean"; }

# a source without the mapped table
EMPTY=$(new_db pgpg_empty)
expect_exit 2 env DATABASE_URL="$DST" "$SFRECON" audit -c "$MAP" --source "$EMPTY" --no-store
assert_contains "$TMPD/err" "mapping-sample.json:"
assert_contains "$TMPD/err" "source database has no table salesforce.account"
echo "ok t_pgpg: $(wc -l <"$TMPD/want") changed rows found, nothing else"
