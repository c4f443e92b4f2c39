#!/bin/sh
# sfemu admin API and behaviour under stress: counters, faults (5xx, dropped
# connection, token expiry, limit), the daily limit, the clock, reset, oversize
# bodies, concurrent clients, CDC over CometD, and --admin / --user gating.
. "$TOP/tests/integration/sfemu_lib.sh"

start_sfemu --user ops@example.com:s3cret
TOK=$(sf_token)
[ -z "$TOK" ] || fail "default user still accepted with --user"
TOK=$(curl -s -X POST "$SFEMU_URL/services/oauth2/token" -d grant_type=password \
    -d username=ops@example.com -d password=s3cretTOKEN | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
[ -n "$TOK" ] || fail "--user password (with security token appended) refused"

# ---- counters ----
admin POST /__emu/counters/reset
api GET "$V/sobjects/Account/describe"
api GET "$V/query?q=$(urlq "SELECT Id FROM Account")"
api POST "$V/composite/sobjects" -d '{"records":[{"attributes":{"type":"Account"},"Name":"c"}]}'
admin GET /__emu/counters
expect_status 200 counters
body_has '"total":3'
body_has '"describe":1'
body_has '"query":1'
body_has '"composite":1'

# ---- faults ----
admin POST /__emu/fault -d '{"fail_nth":2,"fail_status":503,"fail_count":2}'
api GET "$V/limits"
expect_status 200 "1st request after fault set"
api GET "$V/limits"
expect_status 503 "2nd request fails"
api GET "$V/limits"
expect_status 503 "3rd request fails (fail_count 2)"
api GET "$V/limits"
expect_status 200 "4th request ok"

admin POST /__emu/fault -d '{"drop_nth":1}'
curl -s -o /dev/null -H "Authorization: Bearer $TOK" "$SFEMU_URL$V/limits"
rc=$?
[ $rc -eq 52 ] || [ $rc -eq 56 ] || fail "dropped connection: curl exit $rc"
api GET "$V/limits"
expect_status 200 "after the drop"

admin POST /__emu/fault -d '{"limit_reached":true}'
api GET "$V/limits"
expect_status 403 "limit fault"
body_has '[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]'
admin POST /__emu/fault -d '{}'
api GET "$V/limits"
expect_status 200 "faults cleared"

admin POST /__emu/fault -d '{"expire_tokens":true}'
api GET "$V/limits"
expect_status 401 "expired token"
body_has INVALID_SESSION_ID
TOK=$(curl -s -X POST "$SFEMU_URL/services/oauth2/token" -d grant_type=client_credentials \
    -d client_id=a -d client_secret=b | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
api GET "$V/limits"
expect_status 200 "new token"

admin POST /__emu/fault -d '{"latency_ms":50}'
api GET "$V/limits"
expect_status 200 "with latency"
admin POST /__emu/fault -d '{}'

# ---- clock ----
admin POST /__emu/clock -d '{"now":"2024-01-01T00:00:00.000Z"}'
expect_status 200 "set clock"
body_has '"now":"2024-01-01T00:00:0'
api POST "$V/sobjects/Account" -d '{"Name":"Clocked"}'
CID=$(jstr id)
api GET "$V/sobjects/Account/$CID?fields=CreatedDate,SystemModstamp"
grep -q '"CreatedDate":"2024-01-01T00:00:0[0-9].[0-9]*+0000"' "$TMPD/body" || {
    cat "$TMPD/body"; fail "CreatedDate from the emulator clock"; }
api GET "$V/sobjects/Account/updated/?start=2023-12-31T23:00:00Z&end=2024-01-01T01:00:00Z"
body_has "\"$CID\""
admin POST /__emu/clock -d '{"offset_ms":0}'
admin GET /__emu/clock
body_has '"offset_ms":0'

# ---- oversized body ----
head -c 52428900 /dev/zero | tr '\0' 'a' >"$TMPD/big"
api POST "$V/composite/sobjects" --data-binary @"$TMPD/big"
expect_status 413 "oversized body"
body_has '"errorCode":"REQUEST_ENTITY_TOO_LARGE"'
rm -f "$TMPD/big"

# ---- concurrent clients ----
i=0
par=""
while [ $i -lt 8 ]; do
    curl -s -o "$TMPD/par$i" -H "Authorization: Bearer $TOK" -H 'Content-Type: application/json' \
        -X POST "$SFEMU_URL$V/sobjects/Account" -d '{"Name":"Par '$i'"}' &
    par="$par $!"
    i=$((i + 1))
done
for p in $par; do wait "$p"; done
i=0
while [ $i -lt 8 ]; do
    grep -q '"success":true' "$TMPD/par$i" || fail "concurrent create $i: $(cat "$TMPD/par$i")"
    i=$((i + 1))
done
api GET "$V/query?q=$(urlq "SELECT COUNT() FROM Account WHERE Name LIKE 'Par %'")"
body_has '"totalSize":8'

# ---- CDC over CometD ----
C=/cometd/60.0
admin POST /__emu/config -d '{"connect_timeout_ms":3000}'
# the first Account was created with the clock set to 2024: keep its event
# retained (retention counts on the emulator clock, 72 h by default)
admin POST /__emu/cdc -d '{"retention_ms":1000000000000}'
api POST $C -d '[{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["long-polling"],"id":"1"}]'
expect_status 200 handshake
body_has '"successful":true'
body_has '"supportedConnectionTypes":["long-polling"]'
CLIENT=$(jstr clientId)
api POST $C -d '[{"channel":"/meta/subscribe","clientId":"'"$CLIENT"'","subscription":"/data/AccountChangeEvent","ext":{"replay":{"/data/AccountChangeEvent":-2}},"id":"2"},{"channel":"/meta/subscribe","clientId":"'"$CLIENT"'","subscription":"/data/NopeChangeEvent","id":"3"}]'
body_has '"subscription":"/data/AccountChangeEvent"'
body_has '"successful":false'
api POST $C -d '[{"channel":"/meta/connect","clientId":"'"$CLIENT"'","connectionType":"long-polling","id":"4"}]'
expect_status 200 "connect (replay -2)"
body_has '"channel":"/data/AccountChangeEvent"'
body_has '"changeType":"CREATE"'
body_has '"entityName":"Account"'
body_has "\"recordIds\":[\"$CID\"]"
body_has '"commitUser":"'
grep -o '"replayId":[0-9]*' "$TMPD/body" | cut -d: -f2 >"$TMPD/replay"
sort -n -c "$TMPD/replay" || fail "replayIds not increasing"
# an update and a delete arrive on the next connect, with changedFields
api PATCH "$V/sobjects/Account/$CID" -d '{"Rating":"Warm"}'
api DELETE "$V/sobjects/Account/$CID"
api POST $C -d '[{"channel":"/meta/connect","clientId":"'"$CLIENT"'","connectionType":"long-polling","id":"5"}]'
body_has '"changeType":"UPDATE"'
body_has '"changedFields":["Rating","LastModifiedDate"]'
body_has '"Rating":"Warm"'
body_has '"changeType":"DELETE"'
last=$(grep -o '"replayId":[0-9]*' "$TMPD/body" | tail -n 1 | cut -d: -f2)
[ "$last" -gt "$(tail -n 1 "$TMPD/replay")" ] || fail "replayId did not increase"
# replay -1 on /data/ChangeEvents: nothing old, then a new Contact
api POST $C -d '[{"channel":"/meta/subscribe","clientId":"'"$CLIENT"'","subscription":"/data/ChangeEvents","ext":{"replay":{"/data/ChangeEvents":-1}},"id":"6"}]'
api POST "$V/sobjects/Contact" -d '{"LastName":"Evented"}'
api POST $C -d '[{"channel":"/meta/connect","clientId":"'"$CLIENT"'","connectionType":"long-polling","id":"7"}]'
body_has '"channel":"/data/ChangeEvents"'
body_has '"entityName":"Contact"'
body_lacks '"entityName":"Account"'
api POST $C -d '[{"channel":"/meta/disconnect","clientId":"'"$CLIENT"'","id":"8"}]'
body_has '"successful":true'
api POST $C -d '[{"channel":"/meta/connect","clientId":"'"$CLIENT"'","connectionType":"long-polling","id":"9"}]'
body_has '403::Unknown client'
body_has '"reconnect":"handshake"'
TOK=bad
api POST $C -d '[{"channel":"/meta/handshake","id":"1"}]'
expect_status 401 "cometd without a session"
TOK=$(curl -s -X POST "$SFEMU_URL/services/oauth2/token" -d grant_type=client_credentials \
    | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')

# ---- reset ----
admin POST /__emu/reset
expect_status 200 reset
api GET "$V/query?q=$(urlq "SELECT COUNT() FROM Account")"
body_has '"totalSize":0'
api POST "$V/sobjects/Account" -d '{"Name":"First again"}'
case "$(jstr id)" in 001S00000000001*) ;; *) fail "Ids restart after reset: $(jstr id)" ;; esac

# ---- the daily limit, and no admin API without --admin ----
store2=$(new_db "sfemu_${TESTNAME}_lim_$$")
"$SFEMU" --port 0 --store "$store2" --daily-limit 3 >"$TMPD/l.out" 2>"$TMPD/l.err" &
_pids="$_pids $!"
i=0
while ! grep -q "listening on" "$TMPD/l.out"; do
    i=$((i + 1)); [ $i -gt 100 ] && { cat "$TMPD/l.err"; fail "second sfemu"; }; sleep 0.1
done
SFEMU_URL=$(sed -n 's/^listening on //p' "$TMPD/l.out")
TOK=$(sf_token)
api GET "$V/limits"
expect_status 200 "call 1"
assert_eq "$(header Sforce-Limit-Info)" "api-usage=1/3" "usage header"
api GET "$V/limits"
api GET "$V/limits"
expect_status 200 "call 3"
api GET "$V/limits"
expect_status 403 "call 4 past the limit"
body_has REQUEST_LIMIT_EXCEEDED
admin POST /__emu/reset
expect_status 404 "admin API without --admin"
echo ok
