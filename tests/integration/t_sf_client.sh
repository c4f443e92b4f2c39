#!/bin/sh
# t_sf_client.sh — the Salesforce client and side (src/sf, src/side/sf_side.c)
# against sfemu over real HTTP: REST paging over 5000 records, Bulk API 2.0
# over several result pages, identical row hashes over REST and Bulk,
# collections with partial failures, token refresh after expiry, retries
# after injected 503s and a dropped connection, and clean API-limit errors
# (no failed write reported as done). The driver tests/sfclient/sfprobe.c is
# compiled here against $BUILD/libsfr.a. Prints read rates (not asserted).
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$TOP/tests/integration/lib.sh"

PROBE="$TMPD/sfprobe"
cc_driver "$PROBE" "$TOP/tests/sfclient/sfprobe.c" || fail "cannot build sfprobe"

start_sfemu
need_token TOKEN
export SF_INSTANCE_URL="$SFEMU_URL" SF_ACCESS_TOKEN="$TOKEN" SF_RETRY_BASE_MS=5 SF_BULK_POLL_MS=5
unset SF_LOGIN_URL SF_CLIENT_ID SF_CLIENT_SECRET SF_USERNAME SF_PASSWORD SF_API_VERSION

admin() { # admin METHOD PATH [JSON]
    curl -sf -X "$1" -H 'Content-Type: application/json' ${3:+--data "$3"} "$SFEMU_URL$2" ||
        fail "sfemu admin $1 $2 failed"
}
load_csv() { # load_csv OBJECT FILE
    curl -sf -X POST -H 'Content-Type: text/csv' --data-binary "@$2" \
        "$SFEMU_URL/__emu/load/$1" >/dev/null || fail "loading $2 into $1 failed"
}
probe() { # probe EXPECTED_EXIT ARGS... (stdout $TMPD/out, stderr $TMPD/err)
    expect_exit "$@"
}

FIELDS="Name,Industry,AnnualRevenue,NumberOfEmployees,Description,IsDeleted,CreatedDate"

note "describe"
probe 0 "$PROBE" describe Account
assert_contains "$TMPD/out" "Account fields"
assert_contains "$TMPD/out" "prefix 001"
# an object missing from the org is configuration: exit 2
probe 2 "$PROBE" describe NoSuch__c
assert_contains "$TMPD/err" "NoSuch__c does not exist"

note "load 5000 accounts (quotes, commas, newlines, unicode, nulls)"
awk 'BEGIN {
    print "Name,Industry,AnnualRevenue,NumberOfEmployees,Description";
    for (i = 1; i <= 5000; i++) {
        d = (i % 7 == 0) ? "\"line one\nline \"\"two\"\", with comma\"" : (i % 5 == 0 ? "" : "plain " i);
        printf "\"Acct %05d caf\303\251\",%s,%s,%s,%s\n", i, (i % 3 ? "Energy" : ""),
            (i % 4 ? i * 10.5 : ""), i % 11, d
    } }' >"$TMPD/acc.csv"
load_csv Account "$TMPD/acc.csv"

note "REST paging over 5000 records"
probe 0 "$PROBE" query "SELECT Id, Name FROM Account ORDER BY Id" Id,Name
assert_contains "$TMPD/out" "rows 5000"
assert_contains "$TMPD/err" "api calls: 3 (Account: test 3)"
[ "$(grep -c '^001' "$TMPD/out")" -eq 5000 ] || fail "expected 5000 Id rows"
assert_contains "$TMPD/out" "Acct 00001 café"
assert_contains "$TMPD/err" "limit "

note "REST and Bulk (several result pages) give identical row hashes"
SFPROBE_ROWS="$TMPD/rest.rows" probe 0 "$PROBE" read Account rest "$FIELDS"
cp "$TMPD/out" "$TMPD/rest.out"
cat "$TMPD/err"
assert_contains "$TMPD/out" "rows 5000 "
SFPROBE_PAGE=1500 SFPROBE_ROWS="$TMPD/bulk.rows" probe 0 "$PROBE" read Account bulk "$FIELDS"
cat "$TMPD/err"
assert_contains "$TMPD/out" "rows 5000 "
cmp -s "$TMPD/out" "$TMPD/rest.out" || fail "REST and Bulk sums differ: $(cat "$TMPD/rest.out") vs $(cat "$TMPD/out")"
cmp -s "$TMPD/rest.rows" "$TMPD/bulk.rows" || { diff "$TMPD/rest.rows" "$TMPD/bulk.rows" | head; fail "row hashes differ"; }
LC_ALL=C sort -c "$TMPD/rest.rows" || fail "rows not in Id order"
admin GET /__emu/counters >"$TMPD/counters"
grep -q '"bulk":[1-9]' "$TMPD/counters" || fail "no Bulk API calls counted: $(cat "$TMPD/counters")"

note "Bulk result pages read in parallel (resultPages): every row exactly once"
# 5000 records in pages of 700: 8 pages, listed five at a time (2 listings)
admin POST /__emu/config '{"bulk_result_page":700}' >"$TMPD/config"
assert_contains "$TMPD/config" '"bulk_result_page":700'
admin POST /__emu/counters/reset >/dev/null
SF_BULK_STREAMS=4 SFPROBE_ROWS="$TMPD/par.rows" probe 0 "$PROBE" scan Account "$FIELDS"
cat "$TMPD/err"
cmp -s "$TMPD/out" "$TMPD/rest.out" || fail "parallel scan sum differs: $(cat "$TMPD/out") vs $(cat "$TMPD/rest.out")"
assert_eq "$(wc -l <"$TMPD/par.rows" | tr -d ' ')" 5000 "rows of the parallel scan"
LC_ALL=C sort "$TMPD/par.rows" >"$TMPD/par.sorted"
cmp -s "$TMPD/par.sorted" "$TMPD/rest.rows" || { diff "$TMPD/par.sorted" "$TMPD/rest.rows" | head; fail "parallel scan rows differ from the serial read"; }
# describe, COUNT(), job create, status, 2 lists of pages, 8 pages: each a call
assert_contains "$TMPD/err" "api calls: 14 (Account: test 14)"
assert_contains "$TMPD/err" "side stats: calls 13 queries 2 rows 5000"
admin GET /__emu/counters >"$TMPD/counters"
assert_contains "$TMPD/counters" '"bulk":12'
# one stream: the pages one after another by Sforce-Locator (one page of 500000)
SF_BULK_STREAMS=1 SFPROBE_ROWS="$TMPD/ser.rows" probe 0 "$PROBE" scan Account "$FIELDS"
cmp -s "$TMPD/out" "$TMPD/rest.out" || fail "serial scan sum differs"
assert_contains "$TMPD/err" "api calls: 5 (Account: test 5)"
LC_ALL=C sort "$TMPD/ser.rows" | cmp -s - "$TMPD/rest.rows" || fail "serial scan rows differ"
# before API 58.0 there is no resultPages: serial, same rows
SF_API_VERSION=57.0 SF_BULK_STREAMS=4 probe 0 "$PROBE" scan Account "$FIELDS"
cmp -s "$TMPD/out" "$TMPD/rest.out" || fail "v57 scan sum differs"
assert_contains "$TMPD/err" "api calls: 5 (Account: test 5)"
# more streams than pages, and every page its own stream
SF_BULK_STREAMS=16 probe 0 "$PROBE" scan Account "$FIELDS"
cmp -s "$TMPD/out" "$TMPD/rest.out" || fail "16-stream scan sum differs"
# dropped connections and 503s on pages and lists: retried, still exactly once
for n in 5 6 8 11; do
    admin POST /__emu/fault "{\"drop_nth\":$n}" >/dev/null
    SF_BULK_STREAMS=4 SFPROBE_ROWS="$TMPD/drop.rows" probe 0 "$PROBE" scan Account "$FIELDS"
    cmp -s "$TMPD/out" "$TMPD/rest.out" || fail "parallel scan after drop $n: $(cat "$TMPD/out")"
    LC_ALL=C sort "$TMPD/drop.rows" | cmp -s - "$TMPD/rest.rows" || fail "rows after drop $n"
done
admin POST /__emu/fault '{"fail_nth":7,"fail_status":503,"fail_count":3}' >/dev/null
SF_BULK_STREAMS=4 probe 0 "$PROBE" scan Account "$FIELDS"
cmp -s "$TMPD/out" "$TMPD/rest.out" || fail "parallel scan after 503s"
assert_contains "$TMPD/err" "HTTP 503"
# a stream that keeps failing stops them all with its error (no hang)
admin POST /__emu/fault '{"fail_nth":7,"fail_status":503,"fail_count":100}' >/dev/null
SF_BULK_STREAMS=4 probe 3 "$PROBE" scan Account "$FIELDS"
assert_contains "$TMPD/err" "after 5 attempts"
admin POST /__emu/fault '{}' >/dev/null
admin POST /__emu/config '{"bulk_result_page":100000}' >/dev/null

note "digests: count depth (one aggregate call) and content depth agree with the read"
probe 0 "$PROBE" digest Account count "$FIELDS"
assert_contains "$TMPD/out" "count 5000 "
assert_contains "$TMPD/err" "api calls: 2 (Account: test 2)" # describe + aggregate
probe 0 "$PROBE" digest Account content "$FIELDS"
SUM=$(sed -n 's/^rows 5000 sum //p' "$TMPD/rest.out")
assert_contains "$TMPD/out" "count 5000 sum $SUM"
MID=$(sed -n '2500p' "$TMPD/rest.rows" | cut -d' ' -f1)
probe 0 "$PROBE" digest Account count "$FIELDS" "$MID"
assert_contains "$TMPD/out" "count 2501 "
probe 0 "$PROBE" read Account rest "$FIELDS" "" "$MID"
assert_contains "$TMPD/out" "rows 2499 "

note "collections: partial failure (STRING_TOO_LONG) and per-record results"
LONG=$(awk 'BEGIN { for (i = 0; i < 300; i++) printf "x" }')
probe 0 "$PROBE" write Account insert Name,Industry,NumberOfEmployees \
    "|Probe One|Energy|5" "|$LONG|Energy|6" "|Probe Three|\\N|7"
sed -n 1p "$TMPD/out" | grep -q '^ok 001' || fail "first insert: $(sed -n 1p "$TMPD/out")"
sed -n 2p "$TMPD/out" | grep -q '^fail STRING_TOO_LONG' || fail "second insert: $(sed -n 2p "$TMPD/out")"
sed -n 3p "$TMPD/out" | grep -q '^ok 001' || fail "third insert: $(sed -n 3p "$TMPD/out")"
assert_contains "$TMPD/err" "written 2"
ID1=$(sed -n 1p "$TMPD/out" | cut -d' ' -f2)
ID3=$(sed -n 3p "$TMPD/out" | cut -d' ' -f2)
probe 0 "$PROBE" fetch Account Name,Industry,NumberOfEmployees "$ID1" "$ID3" 001000000000000AAA
[ "$(wc -l <"$TMPD/out")" -eq 2 ] || fail "fetch: expected 2 records: $(cat "$TMPD/out")"
assert_contains "$TMPD/out" "$ID1|Probe One|Energy|5"
assert_contains "$TMPD/out" "$ID3|Probe Three|\\N|7"
probe 0 "$PROBE" write Account update Name "$ID1|Probe One Renamed" "001000000000000AAA|Nobody"
sed -n 1p "$TMPD/out" | grep -q "^ok $ID1" || fail "update: $(cat "$TMPD/out")"
sed -n 2p "$TMPD/out" | grep -q '^fail ' || fail "update of a missing id: $(cat "$TMPD/out")"
probe 0 "$PROBE" write Account delete Name "$ID3"
assert_contains "$TMPD/out" "ok $ID3"
probe 0 "$PROBE" write Account delete Name "$ID3" # again: already deleted is done
assert_contains "$TMPD/out" "ok $ID3"
probe 0 "$PROBE" fetch Account Name,IsDeleted "$ID3" # queryAll sees deleted records
assert_contains "$TMPD/out" "$ID3|Probe Three|true"

note "token refresh after expiry"
admin POST /__emu/fault '{"expire_tokens":true}' >/dev/null
probe 3 "$PROBE" query "SELECT Id FROM Account LIMIT 5" Id
assert_contains "$TMPD/err" "INVALID_SESSION_ID"
assert_not_contains "$TMPD/err" "$TOKEN"
export SF_LOGIN_URL="$SFEMU_URL" SF_CLIENT_ID=x SF_CLIENT_SECRET=y \
    SF_USERNAME=admin@example.com SF_PASSWORD=password
probe 0 "$PROBE" query "SELECT Id FROM Account LIMIT 5" Id
assert_contains "$TMPD/out" "rows 5"
assert_not_contains "$TMPD/err" "password"
admin POST /__emu/fault '{"expire_tokens":true}' >/dev/null
unset SF_ACCESS_TOKEN # log in from scratch
probe 0 "$PROBE" query "SELECT Id FROM Account LIMIT 5" Id
assert_contains "$TMPD/out" "rows 5"
SF_PASSWORD=wrong probe 3 "$PROBE" query "SELECT Id FROM Account LIMIT 5" Id
assert_contains "$TMPD/err" "login failed"
assert_not_contains "$TMPD/err" "wrong"

note "retries: injected 503s, dropped connections"
SF_ACCESS_TOKEN=$(sf_token)
export SF_ACCESS_TOKEN
probe 0 "$PROBE" read Account rest "$FIELDS"
REST_SUM=$(sed -n 's/^rows \([0-9]*\) sum /\1 /p' "$TMPD/out")
admin POST /__emu/fault '{"fail_nth":2,"fail_status":503,"fail_count":2}' >/dev/null
probe 0 "$PROBE" read Account rest "$FIELDS"
assert_contains "$TMPD/err" "HTTP 503 SERVER_UNAVAILABLE"
assert_contains "$TMPD/err" "retrying (attempt 3 of 5)"
assert_eq "$(sed -n 's/^rows \([0-9]*\) sum /\1 /p' "$TMPD/out")" "$REST_SUM" "sum after 503 retries"
# the first request of a process opens a fresh connection: the drop is ours to retry
admin POST /__emu/fault '{"drop_nth":1}' >/dev/null
probe 0 "$PROBE" read Account rest "$FIELDS"
assert_contains "$TMPD/err" "Empty reply from server; retrying"
assert_eq "$(sed -n 's/^rows \([0-9]*\) sum /\1 /p' "$TMPD/out")" "$REST_SUM" "sum after a drop"
# later drops hit a kept-alive connection (libcurl itself reconnects once);
# either way every record arrives exactly once
for n in 2 3 4; do
    admin POST /__emu/fault "{\"drop_nth\":$n}" >/dev/null
    probe 0 "$PROBE" read Account rest "$FIELDS"
    assert_eq "$(sed -n 's/^rows \([0-9]*\) sum /\1 /p' "$TMPD/out")" "$REST_SUM" "REST sum, drop $n"
    admin POST /__emu/fault "{\"drop_nth\":$n}" >/dev/null
    SFPROBE_PAGE=1500 probe 0 "$PROBE" read Account bulk "$FIELDS"
    assert_eq "$(sed -n 's/^rows \([0-9]*\) sum /\1 /p' "$TMPD/out")" "$REST_SUM" "Bulk sum, drop $n"
done
admin POST /__emu/fault '{"fail_nth":1,"fail_status":503,"fail_count":50}' >/dev/null
probe 3 "$PROBE" query "SELECT Id FROM Account LIMIT 5" Id
assert_contains "$TMPD/err" "after 5 attempts"
admin POST /__emu/fault '{}' >/dev/null

note "limits: per-run budget, REQUEST_LIMIT_EXCEEDED, limit reached mid-write"
SFPROBE_BUDGET=3 probe 3 "$PROBE" read Account rest "$FIELDS"
assert_contains "$TMPD/err" "budget is spent (3 calls made"
assert_contains "$TMPD/err" "api calls: 3 "
admin POST /__emu/fault '{"limit_reached":true}' >/dev/null
probe 3 "$PROBE" query "SELECT Id FROM Account LIMIT 5" Id
assert_contains "$TMPD/err" "REQUEST_LIMIT_EXCEEDED"
assert_contains "$TMPD/err" "api calls: 1 " # no retry
admin POST /__emu/fault '{}' >/dev/null
USAGE=$(admin GET /__emu/counters | sed -n 's/.*"api_usage":\([0-9]*\).*/\1/p')
# room for the describe and one collections call; the second call is refused
admin POST /__emu/config "{\"daily_limit\":$((USAGE + 2))}" >/dev/null
set --
i=1
while [ $i -le 450 ]; do set -- "$@" "|Limit $i"; i=$((i + 1)); done
probe 3 "$PROBE" write Account insert Name "$@"
assert_contains "$TMPD/err" "REQUEST_LIMIT_EXCEEDED"
OK=$(grep -c '^ok ' "$TMPD/out")
FAILED=$(grep -c '^fail ' "$TMPD/out")
assert_eq "$OK" 200 "records reported written before the limit"
assert_eq "$FAILED" 250 "records reported failed"
admin POST /__emu/config '{"daily_limit":1000000}' >/dev/null
probe 0 "$PROBE" query "SELECT Id FROM Account WHERE Name LIKE 'Limit %'" Id
assert_contains "$TMPD/out" "rows 200"

note "throughput (reported, not asserted)"
N=${SF_CLIENT_BENCH_ROWS:-100000}
awk -v n="$N" 'BEGIN { print "Name,Industry,AnnualRevenue,NumberOfEmployees,Description";
    for (i = 1; i <= n; i++) printf "Bench %07d,Energy,%d.25,%d,some description text %d\n", i, i, i % 1000, i }' \
    >"$TMPD/bench.csv"
load_csv Account "$TMPD/bench.csv"
probe 0 "$PROBE" read Account rest "$FIELDS"
sed -n 's/^read/# REST read/p' "$TMPD/err"
cp "$TMPD/out" "$TMPD/rest.out"
probe 0 "$PROBE" read Account bulk "$FIELDS"
sed -n 's/^read/# Bulk read/p' "$TMPD/err"
cmp -s "$TMPD/out" "$TMPD/rest.out" || fail "REST and Bulk sums differ on $N more rows"
echo "ok"
