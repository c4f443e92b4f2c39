# The same 100k-record object read through the Salesforce side (REST query
# paging and Bulk API 2.0) and through the mirror side yields identical row
# hashes, in byte order of the Id.
. "$TOP/tests/integration/lib.sh"
start_sfemu
sf_login SFRECON_DESCRIBE="$ORG"
DB=$(new_db sides)
N=${SIDES_ROWS:-100000}
orggen_into "$DB" "$TMPD/gen" --size "$N" --seed 9 --objects Account --manifest "$TMPD/m.csv"
BENCH="$TOP/$BUILD/sfrbench"
for how in pg rest bulk; do
    DATABASE_URL="$DB" "$BENCH" stream "$how" Account >"$TMPD/$how" 2>"$TMPD/$how.err" \
        || { cat "$TMPD/$how.err"; fail "stream $how"; }
    note "$(cat "$TMPD/$how")"
    assert_contains "$TMPD/$how" "($N rows"
    assert_contains "$TMPD/$how" ", 0 out of order,"
done
d_pg=$(sed -n 's/.*digest \([0-9a-f:]*\)).*/\1/p' "$TMPD/pg")
d_rest=$(sed -n 's/.*digest \([0-9a-f:]*\)).*/\1/p' "$TMPD/rest")
d_bulk=$(sed -n 's/.*digest \([0-9a-f:]*\)).*/\1/p' "$TMPD/bulk")
[ -n "$d_pg" ] || fail "no digest"
assert_eq "$d_rest" "$d_pg" "REST digest vs mirror"
assert_eq "$d_bulk" "$d_pg" "Bulk digest vs mirror"
exit 0
