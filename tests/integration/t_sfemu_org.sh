# sfemu --org takes an org file ({"sobjects":[...]}), a directory of describe
# bodies as GET /sobjects/X/describe returns them, or one describe; a bad file
# is refused with its name and exit 2.
. "$TOP/tests/integration/lib.sh"
DESC="$TOP/tests/data/describe"
start_sfemu --org "$DESC"
need_token TOKEN
curl -s -H "Authorization: Bearer $TOKEN" "$SFEMU_URL/services/data/v60.0/sobjects" >"$TMPD/sobjects"
for o in Account Contact Invoice__c; do assert_contains "$TMPD/sobjects" "\"name\":\"$o\""; done
curl -s -H "Authorization: Bearer $TOKEN" \
    "$SFEMU_URL/services/data/v60.0/query?q=SELECT+COUNT()+FROM+Invoice__c" >"$TMPD/q"
assert_contains "$TMPD/q" '"totalSize":0'

# one describe body in a file
store=$(new_db sfemu_org_single)
"$SFEMU" --port 0 --store "$store" --org "$DESC/account.json" >"$TMPD/one.out" 2>"$TMPD/one.err" &
pid=$!
i=0
while ! grep -q "listening on" "$TMPD/one.out"; do
    i=$((i + 1)); [ $i -gt 300 ] && { cat "$TMPD/one.err"; fail "single describe did not start"; }
    sleep 0.1
done
kill "$pid"; wait "$pid"

# a broken file is named and refused
store=$(new_db sfemu_org_bad)
expect_exit 2 "$SFEMU" --port 0 --store "$store" --org "$DESC/bad/Broken.json"
assert_contains "$TMPD/err" "Broken.json"
expect_exit 2 "$SFEMU" --port 0 --store "$store" --org "$DESC/bad"
assert_contains "$TMPD/err" "bad/"
exit 0
