#!/bin/sh
# sfemu over HTTP: auth, versions, describe, query (incl. 5,000-record paging),
# single-record and Collections writes with their validation errors,
# /updated and /deleted, error shapes of malformed input.
. "$TOP/tests/integration/sfemu_lib.sh"

start_sfemu

# ---- auth ----
TOK=""
api GET /services/data/
expect_status 200 "versions list"
body_has '"version":"60.0"'
body_has '"url":"/services/data/v60.0"'

api GET "$V/sobjects"
expect_status 401 "no token"
body_has '[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]'
[ -n "$(header Sforce-Limit-Info)" ] || fail "401 lacks Sforce-Limit-Info"

STATUS=$(curl -s -o "$TMPD/body" -w '%{http_code}' -X POST "$SFEMU_URL/services/oauth2/token" \
    -d grant_type=password -d client_id=x -d client_secret=y -d username=admin@example.com \
    -d password=wrong)
expect_status 400 "bad password"
body_has '"error":"invalid_grant"'

STATUS=$(curl -s -o "$TMPD/body" -w '%{http_code}' -X POST "$SFEMU_URL/services/oauth2/token" \
    -u myclient:mysecret -d grant_type=client_credentials)
expect_status 200 "client_credentials with HTTP Basic"
TOK=$(jstr access_token)
case "$TOK" in 00D*!*) ;; *) fail "token shape: $TOK" ;; esac
assert_eq "$(jstr instance_url)" "$SFEMU_URL" "instance_url"
body_has '"token_type":"Bearer"'

TOK=$(sf_token)
[ -n "$TOK" ] || fail "password flow gave no token"
api GET /services/oauth2/userinfo
expect_status 200 userinfo
body_has '"preferred_username":"admin@example.com"'
USER_ID=$(jstr user_id)

# ---- sobjects / describe ----
api GET "$V/sobjects"
expect_status 200 sobjects
for o in Account Contact Opportunity Case Lead Invoice__c Invoice_Line__c; do
    body_has "\"name\":\"$o\""
done
case "$(header Sforce-Limit-Info)" in api-usage=*/100000) ;; *) fail "Sforce-Limit-Info: $(header Sforce-Limit-Info)" ;; esac

api GET "$V/sobjects/Account/describe"
expect_status 200 describe
body_has '"keyPrefix":"001"'
body_has '"name":"ParentId"'
body_has '"referenceTo":["Account"]'

api GET "$V/sobjects/Nope/describe"
expect_status 404 "unknown object"
body_has '"errorCode":"NOT_FOUND"'
body_has 'The requested resource does not exist'

api GET "/services/data/v60.0/nothing/here"
expect_status 404 "unknown path"
api GET "/elsewhere"
expect_status 404 "path outside /services"

# ---- single-record writes ----
api POST "$V/sobjects/Account" -d '{"Name":"Parent Co","Industry":"Banking","AnnualRevenue":786000,"NumberOfEmployees":12}'
expect_status 201 "create Account"
body_has '"success":true,"errors":[]'
P=$(jstr id)
case "$P" in 001S0*) ;; *) fail "Id shape: $P" ;; esac
assert_eq "${#P}" 18 "Id length"

api POST "$V/sobjects/Account" -d '{"Name":"Child Co","ParentId":"'"$P"'"}'
expect_status 201 "create child"
C=$(jstr id)
[ "$C" \> "$P" ] || fail "Ids do not increase: $P then $C"

api GET "$V/sobjects/Account/$P"
expect_status 200 "get record"
body_has '"attributes":{"type":"Account","url":"/services/data/v60.0/sobjects/Account/'"$P"'"}'
body_has '"AnnualRevenue":786000.0'
body_has '"NumberOfEmployees":12'
body_has '"IsDeleted":false'
body_has "\"OwnerId\":\"$USER_ID\""
body_has '"AccountNumber":null'
grep -q '"SystemModstamp":"[0-9-]*T[0-9:.]*+0000"' "$TMPD/body" || fail "SystemModstamp format"
M1=$(jstr SystemModstamp)

api GET "$V/sobjects/Account/$P?fields=Name,Industry"
expect_status 200 "get with fields"
body_has '"Name":"Parent Co","Industry":"Banking"'
body_lacks '"AnnualRevenue"'

sleep 0.01
api PATCH "$V/sobjects/Account/$P" -d '{"Rating":"Hot","AnnualRevenue":null}'
expect_status 204 "patch"
api GET "$V/sobjects/Account/$P"
body_has '"Rating":"Hot"'
body_has '"AnnualRevenue":null'
M2=$(jstr SystemModstamp)
[ "$M2" \> "$M1" ] || fail "SystemModstamp not advanced: $M1 -> $M2"

# validation errors
long=$(printf '%0300d' 0)
api POST "$V/sobjects/Account" -d '{"Name":"'"$long"'"}'
expect_status 400 "too long"
body_has '"errorCode":"STRING_TOO_LONG","fields":["Name"]'
api POST "$V/sobjects/Account" -d '{"Industry":"Banking"}'
expect_status 400 "required"
body_has '"errorCode":"REQUIRED_FIELD_MISSING","fields":["Name"]'
api POST "$V/sobjects/Account" -d '{"Name":"x","Industry":"Nope"}'
expect_status 400 "picklist"
body_has INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST
api POST "$V/sobjects/Account" -d '{"Name":"x","Foo__c":"y"}'
expect_status 400 "unknown field"
body_has '"errorCode":"INVALID_FIELD"'
body_has "No such column 'Foo__c' on sobject of type Account"
api POST "$V/sobjects/Account" -d '{"Name":"x","CreatedDate":"2020-01-01T00:00:00Z"}'
expect_status 400 "read-only field"
body_has '"errorCode":"INVALID_FIELD_FOR_INSERT_UPDATE","fields":["CreatedDate"]'
api POST "$V/sobjects/Account" -d '{"Name":"x","NumberOfEmployees":"many"}'
expect_status 400 "bad number"
body_has '"errorCode":"JSON_PARSER_ERROR"'
api POST "$V/sobjects/Contact" -d '{"LastName":"x","Birthdate":"2020-02-30"}'
expect_status 400 "bad date"
body_has '"errorCode":"JSON_PARSER_ERROR"'
api POST "$V/sobjects/Account" -d '{"Name":"x",'
expect_status 400 "bad JSON"
body_has '"errorCode":"JSON_PARSER_ERROR"'
# a well-formed Account Id that does not exist, and an Id of the wrong type
MISSING=001S0000000zzzzAAA
MISSING=$(printf '%s' "$MISSING" | cut -c1-15)
api POST "$V/sobjects/Contact" -d '{"LastName":"x","AccountId":"'"$MISSING"'"}'
expect_status 400 "lookup to a missing record"
body_has '"errorCode":"INVALID_CROSS_REFERENCE_KEY","fields":["AccountId"]'
api POST "$V/sobjects/Contact" -d '{"LastName":"Lee","AccountId":"'"$P"'"}'
expect_status 201 "contact"
K=$(jstr id)
api POST "$V/sobjects/Account" -d '{"Name":"x","ParentId":"'"$K"'"}'
expect_status 400 "lookup of the wrong type"
body_has '"errorCode":"INVALID_CROSS_REFERENCE_KEY"'
api POST "$V/sobjects/Account" -d '{"Name":"E1","External_Id__c":"E-1"}'
expect_status 201 "external id"
E1=$(jstr id)
api POST "$V/sobjects/Account" -d '{"Name":"E2","External_Id__c":"E-1"}'
expect_status 400 "duplicate external id"
body_has '"errorCode":"DUPLICATE_VALUE"'
body_has "$E1"
api GET "$V/sobjects/Account/nonsense"
expect_status 404 "bad Id on GET"
api PATCH "$V/sobjects/Account/nonsense" -d '{"Name":"x"}'
expect_status 400 "bad Id on PATCH"
body_has '"errorCode":"MALFORMED_ID"'

# delete: soft, visible to queryAll only; then ENTITY_IS_DELETED
api DELETE "$V/sobjects/Account/$C"
expect_status 204 "delete"
api GET "$V/sobjects/Account/$C"
expect_status 404 "deleted record is gone"
api PATCH "$V/sobjects/Account/$C" -d '{"Name":"x"}'
body_has ENTITY_IS_DELETED
api POST "$V/sobjects/Account" -d '{"Name":"x","ParentId":"'"$C"'"}'
body_has '"errorCode":"INVALID_CROSS_REFERENCE_KEY"'
api GET "$V/query?q=$(urlq "SELECT Id FROM Account WHERE Id = '$C'")"
body_has '"totalSize":0'
api GET "$V/queryAll?q=$(urlq "SELECT Id, IsDeleted FROM Account WHERE Id = '$C'")"
body_has '"totalSize":1'
body_has '"IsDeleted":true'

# ---- Collections ----
api POST "$V/composite/sobjects" -d '{"allOrNone":false,"records":[
 {"attributes":{"type":"Account"},"Name":"Col 1"},
 {"attributes":{"type":"Account"},"Industry":"Banking"},
 {"attributes":{"type":"Contact"},"LastName":"Col","AccountId":"'"$P"'"}]}'
expect_status 200 "collections create"
assert_eq "$(count '"success":true')" 2 "two created"
body_has '{"success":false,"errors":[{"statusCode":"REQUIRED_FIELD_MISSING","message":"Required fields are missing: [Name]","fields":["Name"]}]}'
# results in request order: ok, error, ok
tr -d '\n' <"$TMPD/body" | grep -q '^\[{"id":"001[^}]*},{"success":false.*},{"id":"003' \
    || { cat "$TMPD/body"; fail "results not in request order"; }

api POST "$V/composite/sobjects" -d '{"allOrNone":true,"records":[
 {"attributes":{"type":"Account"},"Name":"AON ok"},
 {"attributes":{"type":"Account"},"Name":"'"$long"'"}]}'
expect_status 200 "allOrNone"
body_has ALL_OR_NONE_OPERATION_ROLLED_BACK
body_has STRING_TOO_LONG
api GET "$V/query?q=$(urlq "SELECT COUNT() FROM Account WHERE Name = 'AON ok'")"
body_has '"totalSize":0'

api PATCH "$V/composite/sobjects" -d '{"allOrNone":false,"records":[
 {"attributes":{"type":"Account"},"id":"'"$P"'","Rating":"Cold"},
 {"attributes":{"type":"Account"},"id":"'"$C"'","Rating":"Cold"}]}'
expect_status 200 "collections update"
body_has "{\"id\":\"$P\",\"success\":true,\"errors\":[]}"
body_has ENTITY_IS_DELETED

api PATCH "$V/composite/sobjects/Account/External_Id__c" -d '{"allOrNone":false,"records":[
 {"attributes":{"type":"Account"},"External_Id__c":"E-1","Name":"E1 renamed"},
 {"attributes":{"type":"Account"},"External_Id__c":"E-2","Name":"E2 new"}]}'
expect_status 200 "upsert"
body_has "{\"id\":\"$E1\",\"success\":true,\"errors\":[],\"created\":false}"
body_has '"created":true'
api GET "$V/sobjects/Account/$E1?fields=Name"
body_has '"Name":"E1 renamed"'

# an upsert that inserts must satisfy the insert rules
api PATCH "$V/composite/sobjects/Account/External_Id__c" -d '{"records":[{"External_Id__c":"E-3","Rating":"Hot"}]}'
body_has '"statusCode":"REQUIRED_FIELD_MISSING"'
# single-record upsert: 201 created, then 200 updated with the same Id
api PATCH "$V/sobjects/Account/External_Id__c/E-9" -d '{"Name":"Nine"}'
expect_status 201 "single upsert insert"
body_has '"created":true'
U9=$(jstr id)
api PATCH "$V/sobjects/Account/External_Id__c/E-9" -d '{"Name":"Nine again"}'
expect_status 200 "single upsert update"
body_has "{\"id\":\"$U9\",\"success\":true,\"errors\":[],\"created\":false}"
api PATCH "$V/sobjects/Account/Name/E-9" -d '{"Rating":"Hot"}'
expect_status 404 "upsert on a field that is no external id"

recs=$(awk 'BEGIN { for (i = 0; i < 201; i++) printf "%s{\"attributes\":{\"type\":\"Account\"},\"Name\":\"n\"}", i ? "," : "" }')
api POST "$V/composite/sobjects" -d '{"records":['"$recs"']}'
expect_status 400 "201 records"
body_has EXCEEDED_ID_LIMIT

api DELETE "$V/composite/sobjects?ids=$E1,$C,bogus&allOrNone=false"
expect_status 200 "collections delete"
body_has "{\"id\":\"$E1\",\"success\":true,\"errors\":[]}"
body_has ENTITY_IS_DELETED
body_has MALFORMED_ID

# ---- /updated and /deleted ----
api GET "$V/sobjects/Account/updated/?start=2000-01-01T00:00:00Z&end=2100-01-01T00:00:00Z"
expect_status 200 updated
body_has "\"$P\""
body_has '"latestDateCovered":"2100-01-01T00:00:00.000+0000"'
api GET "$V/sobjects/Account/deleted/?start=2000-01-01T00:00:00Z&end=2100-01-01T00:00:00Z"
expect_status 200 deleted
body_has "{\"id\":\"$C\",\"deletedDate\":\""
body_has "{\"id\":\"$E1\",\"deletedDate\":\""

# ---- SOQL errors and aggregates ----
api GET "$V/query?q=$(urlq "SELECT Foo FROM Account")"
expect_status 400 "bad field"
body_has '"errorCode":"INVALID_FIELD"'
api GET "$V/query?q=$(urlq "SELECT Id FROM Nope")"
expect_status 400 "bad object"
body_has '"errorCode":"INVALID_TYPE"'
api GET "$V/query?q=$(urlq "SELEC Id FROM Account")"
expect_status 400 "bad syntax"
body_has '"errorCode":"MALFORMED_QUERY"'
api GET "$V/query?q=$(urlq "SELECT COUNT(Id), MAX(SystemModstamp) FROM Account")"
expect_status 200 aggregate
body_has '"attributes":{"type":"AggregateResult"},"expr0":'
body_has '"expr1":"'

# ---- paging: 5,000 records ----
gen_accounts 5000 "$TMPD/acc.csv"
admin POST /__emu/reset
expect_status 200 reset
admin POST /__emu/load/Account -H 'Content-Type: text/csv' --data-binary @"$TMPD/acc.csv"
expect_status 200 load
body_has '{"loaded":5000}'
api GET "$V/query?q=$(urlq "SELECT Id, Name, AnnualRevenue, SystemModstamp FROM Account ORDER BY Id")"
expect_status 200 "page 1"
body_has '"totalSize":5000,"done":false,"nextRecordsUrl":"/services/data/v60.0/query/'
body_has '"Name":"Acct 1, \"q\""'
body_has '"AnnualRevenue":1.5'
: >"$TMPD/ids"
pages=0
while :; do
    pages=$((pages + 1))
    grep -o '"Id":"[^"]*"' "$TMPD/body" | cut -d'"' -f4 >>"$TMPD/ids"
    next=$(jstr nextRecordsUrl)
    [ -n "$next" ] || break
    [ $pages -lt 10 ] || fail "too many pages"
    api GET "$next"
    expect_status 200 "page $pages"
done
body_has '"done":true'
assert_eq "$pages" 3 "pages of 2000"
assert_eq "$(wc -l <"$TMPD/ids" | tr -d ' ')" 5000 "records paged"
assert_eq "$(sort -u "$TMPD/ids" | wc -l | tr -d ' ')" 5000 "distinct records"
LC_ALL=C sort -c "$TMPD/ids" || fail "pages not in Id order"

# batchSize and a re-fetch of a page (retry after a transport error)
api GET "$V/query?q=$(urlq "SELECT Id FROM Account WHERE Industry = 'Banking'")" -H 'Sforce-Query-Options: batchSize=300'
assert_eq "$(count '"Id":')" 300 "batchSize=300"
body_has '"totalSize":1000'
next=$(jstr nextRecordsUrl)
api GET "$next"
cp "$TMPD/body" "$TMPD/again1"
api GET "$next"
cmp -s "$TMPD/body" "$TMPD/again1" || fail "re-fetching a page gave other records"
api GET "$V/query/01gAAAAAAAAAAAAAAA-2000"
expect_status 400 "unknown locator"
body_has INVALID_QUERY_LOCATOR

# non-Id order pages with OFFSET
api GET "$V/query?q=$(urlq "SELECT Id, Name FROM Account ORDER BY Name DESC LIMIT 2500")"
body_has '"totalSize":2500'
first=$(jstr Name)
assert_eq "$first" 'Acct 999, \' "first of Name DESC"
api GET "$(jstr nextRecordsUrl)"
body_has '"done":true'
assert_eq "$(count '"Id":')" 500 "second page of LIMIT 2500"
echo "ok"
