# t_orggen.sh — the test-data generator: a small org (size 200, two seeds,
# all=2 faults) into sfemu and a fresh mirror; record counts agree on both
# sides once the faults are accounted for, the manifest has the right rows per
# cause, the injected state is really there, and the same seed gives the same
# manifest and the same mirror rows.
. "$TOP/tests/integration/lib.sh"
[ -x "$ORGGEN" ] || fail "no $ORGGEN (make BUILD=$BUILD all)"
cd "$TOP" || fail "no $TOP"
start_sfemu
need_token TOKEN
OBJECTS="Account Contact Opportunity Case Lead Invoice__c Invoice_Line__c"

sf_count() {
    curl -s -H "Authorization: Bearer $TOKEN" \
        "$SFEMU_URL/services/data/v60.0/query?q=SELECT+COUNT()+FROM+$1" |
        sed -n 's/.*"totalSize":\([0-9]*\).*/\1/p'
}
pg_count() { psql -Atq "$1" -c "SELECT count(*) FROM salesforce.$(echo "$2" | tr 'A-Z' 'a-z')"; }
# mcount MANIFEST OBJECT CAUSE: manifest rows of that object and cause
mcount() { grep -c "^$2,[^,]*,$3," "$1"; }

# gen SEED DBNAME MANIFEST: resets sfemu and generates into a fresh database
# whose URL is left in GEN_DB
gen() {
    curl -s -X POST "$SFEMU_URL/__emu/reset" | grep -q '"reset":true' || fail "sfemu reset failed"
    GEN_DB=$(new_db "$2") || fail "cannot create $2"
    expect_exit 0 "$ORGGEN" --sf "$SFEMU_URL" --db "$GEN_DB" --size 200 --seed "$1" \
        --faults all=2 --manifest "$3" --triggers
}

# check_org DB MANIFEST: counts per object on both sides, manifest shape,
# injected state visible in the mirror
check_org() {
    _db=$1 _m=$2
    assert_eq "$(head -n 1 "$_m")" "object,sfid,cause,parent_sfid" "manifest header"
    assert_eq "$(($(wc -l <"$_m") - 1))" 22 "manifest rows (all=2: 10 causes x 2 + 2 parents)"
    for c in missing_in_sf missing_parent truncation type_mismatch stale conflict sync_error \
        duplicate field_mismatch; do
        assert_eq "$(grep -c ",$c," "$_m")" 2 "manifest rows for $c"
    done
    assert_eq "$(grep -c ",missing_in_pg," "$_m")" 4 "missing_in_pg rows (2 + 2 parents)"
    assert_eq "$(tail -n +2 "$_m" | cut -d, -f1,2 | sort | uniq -d | wc -l)" 0 \
        "one cause per record"
    tail -n +2 "$_m" | LC_ALL=C sort -t, -k1,1 -k2,2 -k3,3 -c || fail "manifest not sorted"
    # every missing_parent names a parent that is itself listed as missing_in_pg
    for p in $(grep ",missing_parent," "$_m" | cut -d, -f4); do
        grep -q ",$p,missing_in_pg," "$_m" || fail "parent $p of a missing_parent is not listed"
    done
    total_sf=0
    for o in $OBJECTS; do
        sf=$(sf_count "$o"); pg=$(pg_count "$_db" "$o")
        [ -n "$sf" ] && [ -n "$pg" ] || fail "no count for $o"
        want=$((sf + $(mcount "$_m" "$o" missing_in_sf) - $(mcount "$_m" "$o" missing_in_pg) \
            + $(mcount "$_m" "$o" duplicate)))
        assert_eq "$pg" "$want" "$o: mirror rows vs Salesforce records and faults"
        total_sf=$((total_sf + sf))
    done
    [ "$(sf_count Account)" -ge 200 ] || fail "fewer than 200 Accounts in sfemu"
    [ "$total_sf" -gt 1000 ] || fail "only $total_sf records in sfemu"
    # the mirror shows the injected state
    assert_eq "$(psql -Atq "$_db" -c "SELECT count(*) FROM (SELECT sfid FROM salesforce.account
        UNION ALL SELECT sfid FROM salesforce.contact UNION ALL SELECT sfid FROM salesforce.lead
        UNION ALL SELECT sfid FROM salesforce.opportunity UNION ALL SELECT sfid FROM salesforce.case
        UNION ALL SELECT sfid FROM salesforce.invoice__c
        UNION ALL SELECT sfid FROM salesforce.invoice_line__c) s
        GROUP BY sfid HAVING count(*) > 1" | wc -l)" 2 "duplicated sfids in the mirror"
    assert_eq "$(psql -Atq "$_db" -c "SELECT count(*) FROM salesforce._trigger_log
        WHERE state = 'FAILED'")" 4 "FAILED trigger log entries (sync_error and truncation)"
    assert_eq "$(psql -Atq "$_db" -c "SELECT count(*) FROM salesforce._trigger_log
        WHERE state <> 'FAILED'")" 0 "the load and the faults logged nothing else"
    for t in account contact opportunity '"case"' lead invoice__c invoice_line__c; do
        psql -Atq "$_db" -c "SELECT _hc_lastop FROM salesforce.$t WHERE _hc_lastop <> 'SYNCED'"
    done | sort | tr '\n' ' ' >"$TMPD/lastop"
    # sync_error and truncation (a STRING_TOO_LONG refusal) leave FAILED, conflict PENDING
    assert_eq "$(cat "$TMPD/lastop")" "FAILED FAILED FAILED FAILED PENDING PENDING " \
        "_hc_lastop of the faults"
    # a stale record is newer in Salesforce than in the mirror
    s=$(grep ",stale," "$_m" | head -n 1)
    so=$(echo "$s" | cut -d, -f1); sid=$(echo "$s" | cut -d, -f2)
    sfmod=$(curl -s -H "Authorization: Bearer $TOKEN" \
        "$SFEMU_URL/services/data/v60.0/sobjects/$so/$sid" |
        sed -n 's/.*"SystemModstamp":"\([^"]*\)".*/\1/p')
    [ -n "$sfmod" ] || fail "stale $so $sid: no SystemModstamp from sfemu"
    newer=$(psql -Atq "$_db" -c "SELECT ('$sfmod'::timestamptz AT TIME ZONE 'UTC') > systemmodstamp
        FROM salesforce.$(echo "$so" | tr 'A-Z' 'a-z') WHERE sfid = '$sid'")
    assert_eq "$newer" t "stale $so $sid: Salesforce newer than the mirror"
    # ids are valid 18-character Ids (checksum) from the G0/G9 pods or sfemu's S0
    tail -n +2 "$_m" | cut -d, -f2 | grep -v '^[0-9A-Za-z]\{3\}[GS][09][0-9A-Za-z]\{13\}$' &&
        fail "odd ids in the manifest"
    return 0
}

dump() {
    psql -Atq "$1" -c "COPY (SELECT * FROM salesforce.invoice__c ORDER BY id) TO STDOUT"
    psql -Atq "$1" -c "COPY (SELECT * FROM salesforce.contact ORDER BY id) TO STDOUT"
}

note "seed 11"
gen 11 "orggen_a_$$" "$TMPD/m1.csv"; db1=$GEN_DB
check_org "$db1" "$TMPD/m1.csv"
dump "$db1" >"$TMPD/d1"

note "seed 11 again: identical manifest and mirror"
gen 11 "orggen_b_$$" "$TMPD/m2.csv"; db2=$GEN_DB
cmp -s "$TMPD/m1.csv" "$TMPD/m2.csv" || { diff "$TMPD/m1.csv" "$TMPD/m2.csv"; fail "manifest differs"; }
dump "$db2" >"$TMPD/d2"
cmp -s "$TMPD/d1" "$TMPD/d2" || fail "mirror dump differs for the same seed"
[ "$(wc -l <"$TMPD/d1")" -gt 400 ] || fail "mirror dump too small"

note "seed 12: another org"
gen 12 "orggen_c_$$" "$TMPD/m3.csv"; db3=$GEN_DB
check_org "$db3" "$TMPD/m3.csv"
cmp -s "$TMPD/m1.csv" "$TMPD/m3.csv" && fail "seeds 11 and 12 gave the same manifest"

note "usage errors exit 2"
expect_exit 2 "$ORGGEN" --db "$db1" --size 0 --seed 1
expect_exit 2 "$ORGGEN" --db "$db1" --size 10 --seed 1 --faults bogus=1 --sf "$SFEMU_URL" \
    --manifest "$TMPD/x.csv"
assert_contains "$TMPD/err" "unknown cause 'bogus'"
expect_exit 2 "$ORGGEN" --db "$db1" --size 10 --seed 1
assert_contains "$TMPD/err" "already exists"
note "ok"
