#!/bin/sh
# sfemu Bulk API 2.0 query jobs (several result pages of CSV with
# Sforce-Locator; the result pages for parallel retrieval), the admin CSV load (given Ids, IsDeleted, generated Ids),
# and that the store survives a restart of sfemu.
. "$TOP/tests/integration/sfemu_lib.sh"

start_sfemu
TOK=$(sf_token)
gen_accounts 5000 "$TMPD/acc.csv"
admin POST /__emu/load/Account -H 'Content-Type: text/csv' --data-binary @"$TMPD/acc.csv"
expect_status 200 load
body_has '{"loaded":5000}'

# ---- job lifecycle ----
api POST "$V/jobs/query" -d '{"operation":"query","query":"SELECT Id, Name, AnnualRevenue, ParentId FROM Account ORDER BY Id"}'
expect_status 200 "create job"
body_has '"state":"UploadComplete"'
body_has '"contentType":"CSV"'
body_has '"lineEnding":"LF"'
body_has '"columnDelimiter":"COMMA"'
JOB=$(jstr id)
case "$JOB" in 750*) ;; *) fail "job id $JOB" ;; esac

api GET "$V/jobs/query/$JOB/results"
expect_status 412 "results before completion"
body_has JOB_NOT_COMPLETE

api GET "$V/jobs/query/$JOB"
expect_status 200 "status"
body_has '"state":"JobComplete"'
body_has '"numberRecordsProcessed":5000'

# ---- results in pages of 2000 ----
loc=""
pages=0
: >"$TMPD/all.csv"
while :; do
    pages=$((pages + 1))
    api GET "$V/jobs/query/$JOB/results?maxRecords=2000${loc:+&locator=$loc}" -H 'Accept: text/csv'
    expect_status 200 "results page $pages"
    assert_eq "$(head -n 1 "$TMPD/body")" '"Id","Name","AnnualRevenue","ParentId"' "CSV header"
    n=$(header Sforce-NumberOfRecords)
    rows=$(($(grep -c '^"001' "$TMPD/body")))
    assert_eq "$rows" "$n" "Sforce-NumberOfRecords of page $pages"
    tail -n +2 "$TMPD/body" >>"$TMPD/all.csv"
    loc=$(header Sforce-Locator)
    [ "$loc" = null ] && break
    [ $pages -lt 10 ] || fail "too many result pages"
done
assert_eq "$pages" 3 "result pages"
assert_eq "$(wc -l <"$TMPD/all.csv" | tr -d ' ')" 5000 "result records"
cut -d, -f1 "$TMPD/all.csv" >"$TMPD/ids"
assert_eq "$(sort -u "$TMPD/ids" | wc -l | tr -d ' ')" 5000 "distinct result records"
LC_ALL=C sort -c "$TMPD/ids" || fail "results not in Id order"
# every value quoted, quotes doubled, null as ""
grep -q '^"001[^"]*","Acct 7, ""q""","7.5",""$' "$TMPD/all.csv" || {
    grep 'Acct 7,' "$TMPD/all.csv"; fail "CSV quoting"; }

# without maxRecords: one page, locator null
api GET "$V/jobs/query/$JOB/results"
assert_eq "$(header Sforce-Locator)" null "single page locator"
assert_eq "$(header Sforce-NumberOfRecords)" 5000 "single page count"
assert_eq "$(header Content-Type)" text/csv "content type"

# ---- result pages for parallel retrieval (resultPages, API 58.0 and later) ----
admin POST /__emu/config -d '{"bulk_result_page":900}'
expect_status 200 "page size"
api GET "$V/jobs/query/$JOB/resultPages"
expect_status 200 "result pages"
assert_eq "$(count '"resultUrl"')" 5 "five result URLs an answer"
body_has "{\"resultUrl\":\"$V/jobs/query/$JOB/results?locator=p0\"}"
body_has "\"nextRecordsUrl\":\"$V/jobs/query/$JOB/resultPages?locator=p5\""
body_has '"done":false'
grep -o '"resultUrl":"[^"]*"' "$TMPD/body" | cut -d'"' -f4 >"$TMPD/urls"
api GET "$V/jobs/query/$JOB/resultPages?locator=p5"
expect_status 200 "next result pages"
assert_eq "$(count '"resultUrl"')" 1 "the sixth page"
body_has '"nextRecordsUrl":null,"done":true'
grep -o '"resultUrl":"[^"]*"' "$TMPD/body" | cut -d'"' -f4 >>"$TMPD/urls"
# fetched in reverse order, the pages partition the result
: >"$TMPD/pages.csv"
k=0
for u in $(tac "$TMPD/urls"); do
    api GET "$u" -H 'Accept: text/csv'
    expect_status 200 "page $u"
    assert_eq "$(head -n 1 "$TMPD/body")" '"Id","Name","AnnualRevenue","ParentId"' "page header"
    rows=$(($(grep -c '^"001' "$TMPD/body")))
    assert_eq "$rows" "$(header Sforce-NumberOfRecords)" "Sforce-NumberOfRecords of $u"
    case $u in *p5) assert_eq "$rows" 500 "last page"; assert_eq "$(header Sforce-Locator)" null "last locator" ;;
    *p0) assert_eq "$rows" 900 "first page"; assert_eq "$(header Sforce-Locator)" p1 "next of p0" ;;
    esac
    tail -n +2 "$TMPD/body" >>"$TMPD/pages.csv"
    k=$((k + 1))
done
assert_eq "$k" 6 "result pages listed"
LC_ALL=C sort "$TMPD/pages.csv" | cmp -s - "$TMPD/all.csv" || fail "result pages differ from the locator pages"
# errors: not in this API version, another version, bad locators, not complete
api GET "/services/data/v57.0/jobs/query/$JOB/resultPages"
expect_status 404 "resultPages before v58"
body_has NOT_FOUND
api GET "/services/data/v59.0/jobs/query/$JOB/resultPages"
expect_status 409 "resultPages in another API version"
api GET "$V/jobs/query/$JOB/resultPages?locator=p99"
expect_status 400 "resultPages bad locator"
body_has INVALIDLOCATOR
api GET "$V/jobs/query/$JOB/results?locator=p99"
expect_status 400 "results bad page locator"
body_has INVALIDLOCATOR
api GET "$V/jobs/query/750000000000000AAA/resultPages"
expect_status 404 "resultPages of no job"
api POST "$V/jobs/query" -d '{"operation":"query","query":"SELECT Id FROM Account"}'
JP=$(jstr id)
api GET "$V/jobs/query/$JP/resultPages"
expect_status 412 "resultPages before completion"
body_has JOB_NOT_COMPLETE
api GET "$V/jobs/query/$JP/results?locator=p1"
expect_status 412 "page before completion"
api GET "$V/jobs/query/$JP"
api GET "$V/jobs/query/$JP/results?locator=p1"
expect_status 400 "a page not listed yet"
# a job without records: one empty page
api POST "$V/jobs/query" -d '{"operation":"query","query":"SELECT Id FROM Account WHERE Name = '"'"'nobody'"'"'"}'
JE=$(jstr id)
api GET "$V/jobs/query/$JE"
api GET "$V/jobs/query/$JE/resultPages"
assert_eq "$(count '"resultUrl"')" 1 "pages of an empty result"
body_has '"done":true'
api GET "$V/jobs/query/$JE/results?locator=p0" -H 'Accept: text/csv'
assert_eq "$(header Sforce-NumberOfRecords)" 0 "empty page"
assert_eq "$(wc -l <"$TMPD/body" | tr -d ' ')" 1 "empty page: the header only"

# non-Id order pages too
api POST "$V/jobs/query" -d '{"operation":"query","query":"SELECT Name FROM Account WHERE Industry = '"'"'Energy'"'"' ORDER BY Name"}'
J2=$(jstr id)
api GET "$V/jobs/query/$J2"
body_has '"numberRecordsProcessed":1000'
api GET "$V/jobs/query/$J2/results?maxRecords=600"
assert_eq "$(header Sforce-NumberOfRecords)" 600 "ordered page 1"
l2=$(header Sforce-Locator)
[ "$l2" != null ] || fail "ordered job has one page"
api GET "$V/jobs/query/$J2/results?maxRecords=600&locator=$l2"
assert_eq "$(header Sforce-NumberOfRecords)" 400 "ordered page 2"
assert_eq "$(header Sforce-Locator)" null "ordered last page"

api GET "$V/jobs/query/$J2/resultPages"
assert_eq "$(count '"resultUrl"')" 2 "ordered job: two pages of 900"
api GET "$V/jobs/query/$J2/results?locator=p1" -H 'Accept: text/csv'
assert_eq "$(header Sforce-NumberOfRecords)" 100 "ordered job: last page"
tail -n +2 "$TMPD/body" >"$TMPD/o1.csv"
api GET "$V/jobs/query/$J2/results?locator=p0" -H 'Accept: text/csv'
tail -n +2 "$TMPD/body" >"$TMPD/o0.csv"
api GET "$V/jobs/query/$J2/results" -H 'Accept: text/csv'
tail -n +2 "$TMPD/body" >"$TMPD/oall.csv"
cat "$TMPD/o0.csv" "$TMPD/o1.csv" | cmp -s - "$TMPD/oall.csv" || fail "ordered pages are not the result in order"
admin POST /__emu/config -d '{"bulk_result_page":100000}'

# queryAll sees deletions, query does not
api DELETE "$V/composite/sobjects?ids=$(sed -n 1p "$TMPD/ids" | tr -d '"')"
body_has '"success":true'
for op in query queryAll; do
    api POST "$V/jobs/query" -d '{"operation":"'$op'","query":"SELECT Id FROM Account"}'
    j=$(jstr id)
    api GET "$V/jobs/query/$j"
    case $op in query) body_has '"numberRecordsProcessed":4999' ;;
    queryAll) body_has '"numberRecordsProcessed":5000' ;; esac
done

# abort, delete, errors
api POST "$V/jobs/query" -d '{"operation":"query","query":"SELECT Id FROM Account"}'
J3=$(jstr id)
api PATCH "$V/jobs/query/$J3" -d '{"state":"Aborted"}'
expect_status 200 abort
body_has '"state":"Aborted"'
api GET "$V/jobs/query/$J3/results"
[ "$STATUS" -ge 400 ] || fail "results of an aborted job"
api DELETE "$V/jobs/query/$J3"
expect_status 204 "delete job"
api GET "$V/jobs/query/$J3"
expect_status 404 "deleted job"
api POST "$V/jobs/query" -d '{"operation":"query","query":"SELECT Nope FROM Account"}'
expect_status 400 "bad bulk query"
body_has INVALID_FIELD
api POST "$V/jobs/query" -d '{"operation":"query","query":"SELECT COUNT() FROM Account"}'
expect_status 400 "aggregate bulk query"

# ---- load with given Ids and system fields ----
cat >"$TMPD/given.csv" <<'EOF'
Id,LastName,CreatedDate,SystemModstamp,IsDeleted
003S0000000ZZZ1AAA,Given,2020-01-02T03:04:05.000Z,2020-01-02T03:04:05.000Z,false
003S0000000ZZZ2AAA,Gone,2020-01-02T03:04:05.000Z,2020-01-03T00:00:00.000Z,true
EOF
admin POST /__emu/load/Contact -H 'Content-Type: text/csv' --data-binary @"$TMPD/given.csv"
expect_status 200 "load with Ids"
body_has '{"loaded":2}'
api GET "$V/queryAll?q=$(urlq "SELECT Id, LastName, SystemModstamp, IsDeleted FROM Contact ORDER BY Id")"
body_has '"Id":"003S0000000ZZZ1AAA","LastName":"Given","SystemModstamp":"2020-01-02T03:04:05.000+0000","IsDeleted":false'
body_has '"Id":"003S0000000ZZZ2AAA","LastName":"Gone","SystemModstamp":"2020-01-03T00:00:00.000+0000","IsDeleted":true'
# new Ids continue past the loaded ones
api POST "$V/sobjects/Contact" -d '{"LastName":"After"}'
NEWC=$(jstr id)
[ "$NEWC" \> 003S0000000ZZZ2AAA ] || fail "new Id $NEWC not past the loaded Ids"
admin POST /__emu/load/Nope -H 'Content-Type: text/csv' --data-binary 'Name
x'
expect_status 404 "load of an unknown object"
admin POST /__emu/load/Account -H 'Content-Type: text/csv' --data-binary 'Bogus
x'
expect_status 400 "load with an unknown field"
body_has INVALID_FIELD

# ---- restart: the store survives ----
kill $(echo "$_pids" | awk '{print $NF}')
sleep 0.5
"$SFEMU" --port 0 --store "$SFEMU_STORE" --admin >"$TMPD/s2.out" 2>"$TMPD/s2.err" &
_pids="$_pids $!"
i=0
while ! grep -q "listening on" "$TMPD/s2.out"; do
    i=$((i + 1)); [ $i -gt 100 ] && { cat "$TMPD/s2.err"; fail "restart"; }; sleep 0.1
done
SFEMU_URL=$(sed -n 's/^listening on //p' "$TMPD/s2.out")
api GET "$V/query?q=$(urlq "SELECT COUNT() FROM Account")"
expect_status 401 "old token after restart"
TOK=$(sf_token)
api GET "$V/query?q=$(urlq "SELECT COUNT() FROM Account")"
body_has '"totalSize":4999'
api POST "$V/sobjects/Contact" -d '{"LastName":"After restart"}'
[ "$(jstr id)" \> "$NEWC" ] || fail "Ids restart below existing ones"
echo ok
