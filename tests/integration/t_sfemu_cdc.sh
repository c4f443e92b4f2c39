# sfemu's Change Data Capture in Salesforce's shapes, at the protocol level:
# a client subscribed to a quiet channel from the start of retention
# (replay -2) and to a busy one (-1) after more than a page (500) of the busy
# channel's events still gets the busy channel's next event on the next
# connect (the quiet subscription does not hold the page back); an UPDATE
# names nulledFields; changeOrigin carries the Sforce-Call-Options client;
# gap and overflow events come on demand with header only; a replayId
# before the retained events (or after the newest) is refused with
# Salesforce's error text; a channel of an object not selected for CDC
# cannot be subscribed to.
. "$TOP/tests/integration/sfemu_lib.sh"
start_sfemu
TOK=$(sf_token)
[ -n "$TOK" ] || fail "no token"
C=/cometd/60.0
admin POST /__emu/config -d '{"connect_timeout_ms":3000}'
handshake() {
    api POST $C -d '[{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["long-polling"]}]'
    expect_status 200 handshake
    CLIENT=$(jstr clientId)
}
connect() {
    api POST $C -d '[{"channel":"/meta/connect","clientId":"'"$CLIENT"'","connectionType":"long-polling"}]'
    expect_status 200 connect
}

# 1. more than a page of Account events before the subscriptions
i=0
while [ $i -lt 3 ]; do
    recs=$(awk -v k=$i 'BEGIN { for (j = 0; j < 200; j++) printf "%s{\"attributes\":{\"type\":\"Account\"},\"Name\":\"Bulk %d-%d\"}", j ? "," : "", k, j }')
    api POST "$V/composite/sobjects" -d "{\"records\":[$recs]}"
    expect_status 200 "create 200 Accounts"
    i=$((i + 1))
done
handshake
api POST $C -d '[{"channel":"/meta/subscribe","clientId":"'"$CLIENT"'","subscription":"/data/OpportunityChangeEvent","ext":{"replay":{"/data/OpportunityChangeEvent":-2}}},{"channel":"/meta/subscribe","clientId":"'"$CLIENT"'","subscription":"/data/AccountChangeEvent","ext":{"replay":{"/data/AccountChangeEvent":-1}}}]'
[ "$(count '"successful":true')" = 2 ] || { cat "$TMPD/body"; fail "subscribe"; }
api POST "$V/sobjects/Account" -H 'Sforce-Call-Options: client=cdc-test' -d '{"Name":"After The Page","Phone":"555-0100"}'
expect_status 201 "create"
ID=$(jstr id)
connect
body_has "\"recordIds\":[\"$ID\"]"
body_has '"changeOrigin":"com/salesforce/api/rest/60.0;client=cdc-test"'
[ "$(count '"changeType"')" = 1 ] || { cat "$TMPD/body"; fail "only the new event expected"; }
note "a quiet -2 subscription does not hold back a busy channel"

# 2. nulledFields; no client name: changeOrigin without one
api PATCH "$V/sobjects/Account/$ID" -d '{"Phone":null}'
expect_status 204 "PATCH"
connect
body_has '"changeType":"UPDATE"'
body_has '"nulledFields":["Phone"]'
body_has '"changeOrigin":"com/salesforce/api/rest/60.0"'

# 3. a gap event, then an overflow transaction: header only
admin POST /__emu/cdc -d '{"gap_next":1}'
expect_status 200 "cdc settings"
api PATCH "$V/sobjects/Account/$ID" -d '{"Name":"In A Gap"}'
connect
body_has '"changeType":"GAP_UPDATE"'
body_lacks '"In A Gap"'
admin POST /__emu/cdc -d '{"overflow_next":true}'
api POST "$V/composite/sobjects" -d '{"records":[{"attributes":{"type":"Account"},"Name":"O1"},{"attributes":{"type":"Account"},"Name":"O2"}]}'
connect
[ "$(count '"changeType":"GAP_OVERFLOW"')" = 1 ] || { cat "$TMPD/body"; fail "one overflow event"; }
body_has '"recordIds":["000000000000000AAA"]'
body_lacks '"O1"'

# 4. retention: an old replay id and one past the newest are refused
handshake
api POST $C -d '[{"channel":"/meta/subscribe","clientId":"'"$CLIENT"'","subscription":"/data/AccountChangeEvent","ext":{"replay":{"/data/AccountChangeEvent":999999}}}]'
body_has '"successful":false'
body_has 'The replayId {999999} you provided was invalid'
admin POST /__emu/cdc -d '{"retention_ms":0}'
api POST $C -d '[{"channel":"/meta/subscribe","clientId":"'"$CLIENT"'","subscription":"/data/AccountChangeEvent","ext":{"replay":{"/data/AccountChangeEvent":1}}}]'
body_has 'The replayId {1} you provided was invalid'
admin POST /__emu/cdc -d '{"retention_ms":259200000}'
api POST $C -d '[{"channel":"/meta/subscribe","clientId":"'"$CLIENT"'","subscription":"/data/AccountChangeEvent","ext":{"replay":{"/data/AccountChangeEvent":1}}}]'
body_has '"successful":true'

# 5. an object not selected for CDC
admin POST /__emu/cdc -d '{"disabled":["Contact"]}'
body_has '"disabled":["Contact"]'
api POST $C -d '[{"channel":"/meta/subscribe","clientId":"'"$CLIENT"'","subscription":"/data/ContactChangeEvent"}]'
body_has '"successful":false'
admin POST /__emu/cdc -d '{"gap_next":"x"}'
expect_status 200 "lenient numbers"
admin POST /__emu/cdc -d 'not json'
expect_status 400 "bad body"
echo "t_sfemu_cdc: ok"
