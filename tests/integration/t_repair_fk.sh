# Repair on a mirror shaped like real Connect databases: a foreign key users
# added between mirror tables (ON DELETE RESTRICT), a composite primary key
# (id, sfid) and sfid NOT NULL. Every fault is repaired in an order the
# constraints accept, and none of them is dropped.
. "$TOP/tests/integration/lib.sh"
start_sfemu
sf_login
DB=$(new_db repair_fk)
orggen_into "$DB" "$TMPD/gen" --size 300 --seed 4 --faults all=2 --manifest "$TMPD/m.csv" \
    --triggers
grep -q '^Invoice_Line__c,.*,missing_parent,' "$TMPD/m.csv" || fail "seed lacks an Invoice_Line__c missing_parent"
psql -q -v ON_ERROR_STOP=1 "$DB" \
    -c "ALTER TABLE salesforce.invoice_line__c ADD CONSTRAINT il_inv_fk FOREIGN KEY (invoice__c)
        REFERENCES salesforce.invoice__c(sfid) ON UPDATE RESTRICT ON DELETE RESTRICT NOT VALID" \
    -c "ALTER TABLE salesforce.opportunity ALTER COLUMN sfid SET NOT NULL" \
    -c "ALTER TABLE salesforce.opportunity DROP CONSTRAINT opportunity_pkey" \
    -c "ALTER TABLE salesforce.opportunity ADD CONSTRAINT opportunity_pkey PRIMARY KEY (id, sfid)" \
    || fail "constraints"
export DATABASE_URL="$DB"
expect_exit 1 "$SFRECON" audit -c "$MAP"
expect_exit 0 "$SFRECON" repair -c "$MAP" --run latest --yes
assert_contains "$TMPD/out" "0 failed"
expect_exit 0 "$SFRECON" audit -c "$MAP"
assert_contains "$TMPD/out" "0 discrepancies"
n=$(psql -Atq "$DB" -c "SELECT count(*) FROM pg_constraint WHERE conname IN ('il_inv_fk', 'opportunity_pkey')")
assert_eq "$n" 2 "constraints kept"
pk=$(psql -Atq "$DB" -c "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'opportunity_pkey' AND i.indnatts = 2")
assert_eq "$pk" 1 "composite primary key kept"
exit 0
