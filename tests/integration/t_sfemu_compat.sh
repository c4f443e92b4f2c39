#!/bin/sh
# sfemu compatibility with independent client libraries: regression checks,
# with curl, for every difference jsforce (1.x and 3.x) tripped over: the SOAP
# login (and its faults, also for malformed XML), the identity URL, Collections
# retrieve by POST, CometD connects batched with a subscribe, trailing
# slashes, SOAP logout and OAuth revoke, and the shapes those calls read.
. "$TOP/tests/integration/sfemu_lib.sh"

start_sfemu

# soap BODY [VERSION]: POST to the SOAP login endpoint; body -> $TMPD/body
soap() {
    printf '%s' "$1" >"$TMPD/soapreq"
    STATUS=$(curl -s -o "$TMPD/body" -D "$TMPD/hdr" -w '%{http_code}' -X POST \
        -H 'Content-Type: text/xml' -H 'SOAPAction: ""' --data-binary @"$TMPD/soapreq" \
        "$SFEMU_URL/services/Soap/u/${2:-42.0}")
}
# xtag TAG: text of the first <TAG>...</TAG> in the body
xtag() { sed -n "s/.*<$1>\([^<]*\)<\/$1>.*/\1/p" "$TMPD/body" | head -n 1; }
envelope() {
    printf '%s' '<se:Envelope xmlns:se="http://schemas.xmlsoap.org/soap/envelope/"><se:Header/>'
    printf '%s' '<se:Body><login xmlns="urn:partner.soap.sforce.com">'
    printf '<username>%s</username><password>%s</password>' "$1" "$2"
    printf '%s' '</login></se:Body></se:Envelope>'
}
alive() {
    _s=$(curl -s -o /dev/null -w '%{http_code}' "$SFEMU_URL/services/data/")
    [ "$_s" = 200 ] || fail "sfemu is not answering after $1"
}

# ---- SOAP login (jsforce's default conn.login) ----
soap "$(envelope admin@example.com password)"
expect_status 200 "SOAP login"
case "$(header Content-Type)" in text/xml*) ;; *) fail "SOAP content type: $(header Content-Type)" ;; esac
body_has '<loginResponse><result>'
SID=$(xtag sessionId)
ORG=$(xtag organizationId)
case "$SID" in 00D*!*) ;; *) fail "sessionId shape: $SID" ;; esac
[ ${#ORG} -eq 18 ] && [ "${ORG#00D}" != "$ORG" ] || fail "organizationId shape: $ORG"
assert_eq "$(xtag serverUrl)" "$SFEMU_URL/services/Soap/u/42.0/$(echo "$ORG" | cut -c1-15)" \
    "serverUrl (jsforce takes the instance URL from it)"
USERID=$(xtag userId)
case "$USERID" in 005*) ;; *) fail "userId: $USERID" ;; esac
body_has '<userName>admin@example.com</userName>'
TOK=$SID
api GET "$V/limits"
expect_status 200 "REST call with the SOAP session id"
body_has '"DailyApiRequests":{"Max":'
body_has '"Remaining":'

# the enterprise endpoint and a second prefix style, entities decoded
soap '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><urn:login xmlns:urn="urn:enterprise.soap.sforce.com"><urn:username>admin@example.com</urn:username><urn:password>&#112;ass&#x77;ord</urn:password></urn:login></soapenv:Body></soapenv:Envelope>'
expect_status 200 "SOAP login with prefixes and character references"
body_has '<sessionId>00D'

# bad credentials: the documented INVALID_LOGIN fault
soap "$(envelope admin@example.com wrong)"
expect_status 500 "SOAP bad password"
body_has '<faultcode>sf:INVALID_LOGIN</faultcode>'
body_has '<faultstring>INVALID_LOGIN: Invalid username, password, security token; or user locked out.</faultstring>'
body_has '<sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode>'
soap "$(envelope nobody@example.com password)"
expect_status 500 "SOAP unknown user"
body_has 'sf:INVALID_LOGIN'

# malformed input: always a SOAP fault, never a crash
n=0
for bad in '' '   ' 'not xml at all' '<' '<se:Envelope' '<se:Envelope xmlns:se="x">' \
    '<se:Envelope><se:Body>' '<a><b></a>' '<Envelope/>' '<Envelope><Body/></Envelope>' \
    '<Envelope><Body><login></login></Body></Envelope>' \
    '<Envelope><Body><login><username>a&bogus;</username><password>x</password></login></Body></Envelope>' \
    '<Envelope><Body><login><username>a&#0;</username><password>x</password></login></Body></Envelope>' \
    '<Envelope><Body><login><username><x>a</x></username><password>p</password></login></Body></Envelope>' \
    '<Envelope><Body><login><username>a</username><password>p' \
    '<Envelope><Body><describeGlobal/></Body></Envelope>' '<NotEnvelope><Body/></NotEnvelope>' \
    '<!-- c --><?pi?><Envelope><Body><login><username>a</username></login></Body></Envelope>' \
    '<Envelope attr="un>terminated'; do
    n=$((n + 1))
    soap "$bad"
    expect_status 500 "malformed SOAP #$n"
    body_has '<soapenv:Fault><faultcode>'
    alive "malformed SOAP #$n"
done
# deep nesting and a large body
awk 'BEGIN { for (i = 0; i < 20000; i++) printf "<a>"; }' >"$TMPD/deep"
soap "$(cat "$TMPD/deep")"
expect_status 500 "deeply nested SOAP"
alive "deeply nested SOAP"
printf 'x\0y' >"$TMPD/nul"
STATUS=$(curl -s -o "$TMPD/body" -w '%{http_code}' -X POST -H 'Content-Type: text/xml' \
    --data-binary @"$TMPD/nul" "$SFEMU_URL/services/Soap/u/42.0")
expect_status 500 "SOAP body with a NUL byte"
body_has 'soapenv:Fault'
STATUS=$(curl -s -o "$TMPD/body" -w '%{http_code}' "$SFEMU_URL/services/Soap/u/42.0")
expect_status 500 "SOAP GET"
body_has 'soapenv:Fault'
soap "$(envelope admin@example.com password)" 99.0
expect_status 404 "SOAP version beyond the emulated API"
alive "SOAP checks"

# ---- identity (conn.identity(): the token's "id" URL, or "identity" of the version root) ----
TOK=$(sf_token)
curl -s -X POST "$SFEMU_URL/services/oauth2/token" -d grant_type=password -d username=admin@example.com \
    -d password=password >"$TMPD/tokbody"
IDURL=$(grep -o '"id":"[^"]*"' "$TMPD/tokbody" | cut -d'"' -f4)
case "$IDURL" in "$SFEMU_URL"/id/00D*/005*) ;; *) fail "token id URL: $IDURL" ;; esac
api GET "$V/"
expect_status 200 "version root"
body_has "\"identity\":\"$IDURL\""
api GET "${IDURL#"$SFEMU_URL"}"
expect_status 200 "identity URL"
body_has "\"id\":\"$IDURL\""
body_has "\"user_id\":\"$USERID\""
body_has "\"organization_id\":\"$ORG\""
body_has '"username":"admin@example.com"'
body_has '"urls":{'
TOK=""
api GET "${IDURL#"$SFEMU_URL"}"
expect_status 401 "identity without a session"
TOK=$SID
api GET "/id/$ORG/005000000000000AAA"
expect_status 404 "identity of another user"

# ---- trailing slashes (jsforce deletes at /sobjects/Account/ + id, some clients use /query/) ----
api POST "$V/sobjects/Account/" -d '{"Name":"slash one"}'
expect_status 201 "create with a trailing slash"
ID1=$(jstr id)
api GET "$V/sobjects/Account/$ID1/"
expect_status 200 "retrieve with a trailing slash"
body_has '"Name":"slash one"'
api GET "$V/query/?q=$(urlq "SELECT Id, Name FROM Account WHERE Id = '$ID1'")"
expect_status 200 "query with a trailing slash"
body_has '"totalSize":1'
api GET "$V/sobjects/"
expect_status 200 "describeGlobal with a trailing slash"
body_has '"name":"Account"'

# ---- Collections retrieve by POST (jsforce retrieve([ids])) ----
api POST "$V/composite/sobjects" -d '{"allOrNone":true,"records":[
    {"attributes":{"type":"Account"},"Name":"col a"},{"attributes":{"type":"Account"},"Name":"col b"}]}'
expect_status 200 "collections create"
IDA=$(grep -o '"id":"[^"]*"' "$TMPD/body" | sed -n 1p | cut -d'"' -f4)
IDB=$(grep -o '"id":"[^"]*"' "$TMPD/body" | sed -n 2p | cut -d'"' -f4)
api POST "$V/composite/sobjects/Account" \
    -d "{\"ids\":[\"$IDB\",\"001S00000000zzzIAA\",\"$IDA\"],\"fields\":[\"Id\",\"Name\",\"Industry\"]}"
expect_status 200 "collections retrieve by POST (Id among the fields)"
tr -d '\n' <"$TMPD/body" | grep -q "^\[{\"attributes\".*\"Id\":\"$IDB\",\"Name\":\"col b\",\"Industry\":null},null,{.*\"Name\":\"col a\"" \
    || { cat "$TMPD/body"; fail "retrieve by POST: records in request order, null for a missing Id"; }
api POST "$V/composite/sobjects/Account" -d '{"ids":"x","fields":["Name"]}'
expect_status 400 "retrieve by POST with a malformed body"
body_has '"errorCode":"JSON_PARSER_ERROR"'
api POST "$V/composite/sobjects/Account" -d '{"ids":['
expect_status 400 "retrieve by POST with broken JSON"
api GET "$V/composite/sobjects/Account?ids=$IDA&fields=Id,Name"
expect_status 200 "collections retrieve by GET still works"
body_has '"Name":"col a"'

# ---- CometD: Faye batches [connect (advice.timeout 0), subscribe] after the handshake ----
C=/cometd/60.0
api POST $C -d '[{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["long-polling"],"id":"1"}]'
expect_status 200 handshake
CLIENT=$(jstr clientId)
STATUS=$(curl -s -m 60 -o "$TMPD/body" -w '%{http_code}' -X POST -H "Authorization: OAuth $TOK" \
    -H 'Content-Type: application/json' "$SFEMU_URL$C" \
    -d '[{"channel":"/meta/connect","clientId":"'"$CLIENT"'","connectionType":"long-polling","advice":{"timeout":0},"id":"2"},{"channel":"/meta/subscribe","clientId":"'"$CLIENT"'","subscription":"/data/AccountChangeEvent","id":"3"}]')
expect_status 200 "batched connect + subscribe (not held: the client asked for timeout 0)"
body_has '"channel":"/meta/connect","id":"2","successful":true'
body_has '"channel":"/meta/subscribe","id":"3","successful":true'
api PATCH "$V/sobjects/Account/$IDA" -d '{"Name":"col a2"}'
expect_status 204 "update for the event"
STATUS=$(curl -s -m 60 -o "$TMPD/body" -w '%{http_code}' -X POST -H "Authorization: OAuth $TOK" \
    -H 'Content-Type: application/json' "$SFEMU_URL$C" \
    -d '[{"channel":"/meta/connect","clientId":"'"$CLIENT"'","connectionType":"long-polling","id":"4"}]')
expect_status 200 "connect after the update"
body_has '"channel":"/data/AccountChangeEvent"'
body_has '"changeType":"UPDATE"'
body_has "\"recordIds\":[\"$IDA\"]"

# ---- logouts: SOAP logout (jsforce 1.x conn.logout() of a SOAP session), OAuth revoke ----
TOK=$SID
api GET "$V/limits"
expect_status 200 "SOAP session live before logout"
soap "<se:Envelope xmlns:se=\"http://schemas.xmlsoap.org/soap/envelope/\"><se:Header><SessionHeader xmlns=\"urn:partner.soap.sforce.com\"><sessionId>$SID</sessionId></SessionHeader></se:Header><se:Body><logout xmlns=\"urn:partner.soap.sforce.com\"/></se:Body></se:Envelope>"
expect_status 200 "SOAP logout"
body_has '<logoutResponse/>'
api GET "$V/limits"
expect_status 401 "SOAP session after logout"
TOK=$(sf_token)
STATUS=$(curl -s -o "$TMPD/body" -w '%{http_code}' -X POST "$SFEMU_URL/services/oauth2/revoke" \
    --data-urlencode "token=$TOK")
expect_status 200 "OAuth revoke (no Authorization header, as jsforce sends it)"
api GET "$V/limits"
expect_status 401 "token after revoke"
STATUS=$(curl -s -o "$TMPD/body" -w '%{http_code}' -X POST "$SFEMU_URL/services/oauth2/revoke" \
    --data-urlencode "token=$TOK")
expect_status 400 "revoking a dead token"
body_has '"error":"invalid_token"'
alive "all checks"
echo "t_sfemu_compat: ok"
