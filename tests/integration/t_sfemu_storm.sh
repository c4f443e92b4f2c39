# sfemu's periodic faults (fault storms) at the HTTP level: fail_every,
# drop_every, expire_every, the injected-fault counters, and the 400 for an
# unknown fault key or a bad count.
. "$TOP/tests/integration/sfemu_lib.sh"
start_sfemu
need_token TOK "no token"

# statuses of N calls to /limits, space-separated
statuses() {
    _s=""
    _i=0
    while [ $_i -lt "$1" ]; do
        api GET "$V/limits"
        _s="$_s$STATUS "
        _i=$((_i + 1))
    done
    echo "$_s"
}

# ---- unknown keys and bad counts are refused, nothing is injected ----
admin POST /__emu/fault -d '{"fail_evry":3}'
expect_status 400 "unknown fault key"
body_has "unknown fault key 'fail_evry'"
body_has '"errorCode":"INVALID_FIELD"'
admin POST /__emu/fault -d '{"fail_every":-1}'
expect_status 400 "negative count"
body_has "fail_every"
admin POST /__emu/fault -d '{"drop_every":"2"}'
expect_status 400 "count as a string"
assert_eq "$(statuses 3)" "200 200 200 " "no fault after refused posts"

# ---- fail_every 3: every third request answers 503, with a Salesforce error body ----
admin POST /__emu/counters/reset
admin POST /__emu/fault -d '{"fail_every":3}'
expect_status 200 "fail_every"
assert_eq "$(statuses 7)" "200 200 503 200 200 503 200 " "fail_every 3"
api GET "$V/limits"; api GET "$V/limits"
expect_status 503 "9th request"
body_has '"errorCode":"SERVER_UNAVAILABLE"'
admin POST /__emu/fault -d '{"fail_every":2,"fail_status":500}'
assert_eq "$(statuses 4)" "200 500 200 500 " "fail_every 2 with fail_status 500"
admin GET /__emu/counters
body_has '"injected":{"fail":5,"drop":0,"expire":0}'

# ---- drop_every 2: every second connection closes without an answer ----
admin POST /__emu/fault -d '{"drop_every":2}'
codes=""
for i in 1 2 3 4; do
    curl -s -o /dev/null -H "Authorization: Bearer $TOK" "$SFEMU_URL$V/limits"
    codes="$codes$? "
done
case $codes in
"0 52 0 52 " | "0 56 0 56 " | "0 52 0 56 " | "0 56 0 52 ") ;;
*) fail "drop_every 2: curl exits $codes" ;;
esac

# ---- expire_every 3: a token expires at its third use ----
admin POST /__emu/fault -d '{"expire_every":3}'
assert_eq "$(statuses 3)" "200 200 401 " "expire_every 3"
body_has '"errorCode":"INVALID_SESSION_ID"'
api GET "$V/limits"
expect_status 401 "the expired token stays dead"
TOK=$(sf_token) # neither token calls nor dead tokens count
[ -n "$TOK" ] || fail "no new token under expire_every"
assert_eq "$(statuses 3)" "200 200 401 " "expire_every 3 with a new token"
# counted per token: two clients interleaved each get three uses
TOK=$(sf_token)
TOK_A=$TOK
TOK_B=$(sf_token)
admin POST /__emu/fault -d '{"expire_every":3}'
s=""
for t in "$TOK_A" "$TOK_B" "$TOK_A" "$TOK_B" "$TOK_A" "$TOK_B"; do
    TOK=$t
    api GET "$V/limits"
    s="$s$STATUS "
done
assert_eq "$s" "200 200 200 200 401 401 " "expire_every 3 per token"
TOK=$(sf_token)
admin GET /__emu/counters
body_has '"drop":2'
body_has '"expire":4'

# ---- {} clears every fault ----
admin POST /__emu/fault -d '{}'
assert_eq "$(statuses 6)" "200 200 200 200 200 200 " "after clearing"
note "periodic faults: fail, drop, expire, refused keys"
