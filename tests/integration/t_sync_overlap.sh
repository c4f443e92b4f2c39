# sync re-reads a window before its cursor: a record that Salesforce stamped a
# little earlier than the last one pulled, but committed after that pull, still
# reaches the mirror; records already there are not written again. The
# emulator's clock makes the out-of-order commit deterministic.
. "$TOP/tests/integration/lib.sh"
start_sfemu
sf_login
DB=$(new_db sync_overlap)
orggen_into "$DB" "$TMPD/gen" --size 50 --seed 2 --manifest "$TMPD/m.csv" --triggers
export DATABASE_URL="$DB"
TOK=$(sf_token)
API="$SFEMU_URL/services/data/v60.0"
patch_name() {
    code=$(curl -s -o /dev/null -w '%{http_code}' -X PATCH -H "Authorization: Bearer $TOK" \
        -H 'Content-Type: application/json' -d "{\"Name\":\"$2\"}" "$API/sobjects/Account/$1")
    assert_eq "$code" 204 "PATCH $1"
}
clock() { curl -s -X POST "$SFEMU_URL/__emu/clock" -d "{\"now\":\"$1\"}" >/dev/null; }
A=$(psql -Atq "$DB" -c "SELECT sfid FROM salesforce.account ORDER BY sfid LIMIT 1")
B=$(psql -Atq "$DB" -c "SELECT sfid FROM salesforce.account ORDER BY sfid LIMIT 1 OFFSET 1")
expect_exit 0 "$SFRECON" sync -c "$MAP" --once
clock "2030-01-01T00:00:10.000Z"
patch_name "$A" "Stamped later"
expect_exit 0 "$SFRECON" sync -c "$MAP" --once
assert_contains "$TMPD/err" "pulled 1, deleted 0"
clock "2030-01-01T00:00:08.000Z"
patch_name "$B" "Stamped earlier, committed later"
expect_exit 0 "$SFRECON" sync -c "$MAP" --once
assert_contains "$TMPD/err" "pulled 1, deleted 0"
assert_eq "$(psql -Atq "$DB" -c "SELECT name FROM salesforce.account WHERE sfid = '$B'")" \
    "Stamped earlier, committed later" "the late commit reached the mirror"
expect_exit 0 "$SFRECON" sync -c "$MAP" --once
assert_contains "$TMPD/err" "pulled 0, deleted 0"
exit 0
