# Hostile names and values, end to end on a hand-made org
# (tests/data/hostile/org.json) and mapping: objects whose mirror tables are
# reserved words or need quoting ("user", "group", "order", the namespaced
# ns__WidGet__c in mixed case), lookups into them, and values with quotes,
# backslashes, control bytes next to NUL (\x01, \x1f, \x7f), CR/LF/tab,
# 131,072-character long text of two-byte characters, emoji, ZWJ sequences and
# combining characters, HTML and CSV-formula text. They are synced into the
# mirror byte for byte, audited clean, damaged, reported exactly in JSON and
# CSV (values compared in Postgres, which parses both), escaped in HTML,
# valid UTF-8 in every format, repaired, and pushed back from the mirror.
. "$TOP/tests/integration/lib.sh"
H="$TOP/tests/data/hostile"
MAP="$H/mapping.json"
start_sfemu --org "$H/org.json"
export SF_LOGIN_URL="$SFEMU_URL" SF_USERNAME=admin@example.com SF_PASSWORD=password \
       SF_CLIENT_ID=test SF_CLIENT_SECRET=test SF_RETRY_BASE_MS=10
DB=$(new_db hostile)
export DATABASE_URL="$DB"
API="$SFEMU_URL/services/data/v60.0"
TOK=$(sf_token)
[ -n "$TOK" ] || fail "no token"
sql() { psql -X -Atq -v ON_ERROR_STOP=1 "$DB" -c "$1" || fail "psql: $1"; }
psql_script() { psql -X -q -v ON_ERROR_STOP=1 "$DB" >/dev/null || fail "psql: $1"; }

"$SFRECON" schema -c "$MAP" --describe "$H/org.json" --triggers >"$TMPD/ddl.sql" 2>"$TMPD/err" ||
    { cat "$TMPD/err"; fail "schema"; }
psql -X -q -v ON_ERROR_STOP=1 "$DB" -f "$TMPD/ddl.sql" >/dev/null || fail "mirror DDL"

# ---- the values (JSON-escaped where JSON needs it) ----
J_QUOTE='O'"'"'Brien said \"hi\", then left; back\\slash \\\\ and \\n literal'
J_EMOJI='\ud83d\ude00 \ud83d\udc69\u200d\ud83d\udc69\u200d\ud83d\udc67 e\u0301 Zo\u00eb \u6f22\u5b57 \ufdfd'
J_CTRL='tab\there|nl\nx|crlf\r\nx|soh\u0001x|us\u001fx|del\u007fx|end'
J_HTML='<script>alert(\"x\")</script> & &amp; <b>bold</b>'
J_FORMULA='=HYPERLINK(\"http://example.com\",\"x\");+1;-1;@SUM(A1)'
awk 'BEGIN { for (i = 0; i < 131072; i++) printf "\303\251" }' >"$TMPD/long.txt" # U+00E9 x 131072
J_LONG=$(cat "$TMPD/long.txt")

post() { # post OBJECT JSON: creates a record, prints its Id
    printf '%s' "$2" >"$TMPD/body.json"
    _st=$(curl -s -o "$TMPD/post" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOK" \
        -H 'Content-Type: application/json' --data-binary "@$TMPD/body.json" "$API/sobjects/$1")
    [ "$_st" = 201 ] || { cat "$TMPD/post"; fail "POST $1: HTTP $_st"; }
    sed -n 's/.*"id":"\([^"]*\)".*/\1/p' "$TMPD/post"
}
# two records per object: A (quotes, long text, HTML), B (emoji, control bytes, formula)
rec_a() { printf '{"Name":"%s","Note__c":"%s","MixedCase_Label__c":"%s"%s}' "$J_QUOTE" "$J_LONG" "$J_HTML" "$1"; }
rec_b() { printf '{"Name":"%s","Note__c":"%s","MixedCase_Label__c":"%s"%s}' "$J_EMOJI" "$J_CTRL" "$J_FORMULA" "$1"; }
UA=$(post User "$(rec_a '')"); UB=$(post User "$(rec_b '')")
GA=$(post Group "$(rec_a '')"); GB=$(post Group "$(rec_b '')")
OA=$(post Order "$(rec_a ",\"OwnerId\":\"$UA\"")"); OB=$(post Order "$(rec_b ",\"OwnerId\":\"$UB\"")")
WA=$(post ns__WidGet__c "$(rec_a ",\"ns__Group__c\":\"$GA\"")")
WB=$(post ns__WidGet__c "$(rec_b ",\"ns__Group__c\":\"$GB\"")")
for id in "$UA" "$UB" "$GA" "$GB" "$OA" "$OB" "$WA" "$WB"; do
    [ ${#id} -eq 18 ] || fail "bad Id '$id'"
done

# ---- 1. sync pulls them into the quoted tables byte for byte ----
# (sfemu's org has its integration user too: 3 Users)
expect_exit 0 "$SFRECON" sync -c "$MAP" --once
assert_contains "$TMPD/err" "pulled 9"
assert_eq "$(sql "SELECT count(*) FROM salesforce.\"user\"")" 3 "rows in \"user\""
for t in '"group"' '"order"' 'ns__widget__c'; do
    assert_eq "$(sql "SELECT count(*) FROM salesforce.$t")" 2 "rows in $t"
done
long_md5=$(md5sum <"$TMPD/long.txt" | cut -d' ' -f1)
assert_eq "$(sql "SELECT DISTINCT length(note__c) || ' ' || octet_length(note__c) || ' ' || md5(note__c)
                  FROM salesforce.\"order\" WHERE sfid = '$OA'")" "131072 262144 $long_md5" \
    "131,072 two-byte characters"
assert_eq "$(sql "SELECT name FROM salesforce.\"user\" WHERE sfid = '$UA'")" \
    "O'Brien said \"hi\", then left; back\\slash \\\\ and \\n literal" "quotes and backslashes"
assert_eq "$(sql "SELECT encode(convert_to(name, 'UTF8'), 'hex') FROM salesforce.\"group\" WHERE sfid = '$GB'")" \
    "f09f988020f09f91a9e2808df09f91a9e2808df09f91a72065cc81205a6fc3ab20e6bca2e5ad9720efb7bd" \
    "emoji, ZWJ and combining characters"
assert_eq "$(sql "SELECT encode(convert_to(note__c, 'UTF8'), 'hex') FROM salesforce.ns__widget__c WHERE sfid = '$WB'")" \
    "$(printf 'tab\there|nl\nx|crlf\r\nx|soh\001x|us\037x|del\177x|end' | od -An -tx1 | tr -d ' \n')" \
    "control bytes"
assert_eq "$(sql "SELECT ownerid FROM salesforce.\"order\" WHERE sfid = '$OA'")" "$UA" "lookup to User"

# ---- 2. audited clean ----
expect_exit 0 "$SFRECON" audit -c "$MAP" --jobs 1
assert_contains "$TMPD/out" "0 discrepancies"
# MIRROR: the four tables as one (object, sfid, name, note__c, mixedcase_label__c)
MIRROR="SELECT 'User' AS object, sfid, name, note__c, mixedcase_label__c FROM salesforce.\"user\"
    UNION ALL SELECT 'Group', sfid, name, note__c, mixedcase_label__c FROM salesforce.\"group\"
    UNION ALL SELECT 'Order', sfid, name, note__c, mixedcase_label__c FROM salesforce.\"order\"
    UNION ALL SELECT 'ns__WidGet__c', sfid, name, note__c, mixedcase_label__c
              FROM salesforce.ns__widget__c"
sql "CREATE TABLE public.good AS $MIRROR" # what Salesforce holds
# vals QUERY: (object, sfid, field, value) of a query of that shape
vals() {
    echo "SELECT object, sfid, 'Name' AS field, name AS value FROM ($1) v1
          UNION ALL SELECT object, sfid, 'Note__c', note__c FROM ($1) v2
          UNION ALL SELECT object, sfid, 'MixedCase_Label__c', mixedcase_label__c FROM ($1) v3"
}

# ---- 3. damage the mirror (as a bad sync would, without logging) ----
psql_script damage <<EOF
SET xmlbinary = 'hex';
UPDATE salesforce."user" SET note__c = left(note__c, 131071) WHERE sfid = '$UA';
UPDATE salesforce."group" SET name = replace(name, U&'\\0301', '') WHERE sfid = '$GB';
UPDATE salesforce."order" SET mixedcase_label__c = replace(mixedcase_label__c, '"', '''')
    WHERE sfid = '$OA';
UPDATE salesforce.ns__widget__c SET note__c = replace(note__c, E'\\r', '') WHERE sfid = '$WB';
UPDATE salesforce."order" SET name = name || E'\\x01' WHERE sfid = '$OB';
UPDATE salesforce."group" SET note__c = 'x' || note__c WHERE sfid = '$GA';
CREATE TABLE public.bad AS $MIRROR;
EOF
WANT=$(printf '%s\n' "Group,$GA,field_mismatch,Note__c" "Group,$GB,field_mismatch,Name" "Order,$OA,field_mismatch,MixedCase_Label__c" \
    "Order,$OB,field_mismatch,Name" "User,$UA,field_mismatch,Note__c" \
    "ns__WidGet__c,$WB,field_mismatch,Note__c" | LC_ALL=C sort)

# check_report TABLE WHAT: the report rows in TABLE (object, sfid, cause, field,
# sf, pg) are exactly WANT, every sf value is Salesforce's, every pg the mirror's
check_report() {
    got=$(sql "SELECT k FROM (SELECT object || ',' || sfid || ',' || cause || ',' || field AS k
               FROM $1) r ORDER BY k COLLATE \"C\"")
    assert_eq "$got" "$WANT" "$2: discrepancies"
    n=$(sql "SELECT count(*) FROM $1 r
             LEFT JOIN ($(vals "TABLE public.good")) g USING (object, sfid, field)
             LEFT JOIN ($(vals "TABLE public.bad")) b USING (object, sfid, field)
             WHERE r.sf IS DISTINCT FROM g.value OR r.pg IS DISTINCT FROM b.value")
    assert_eq "$n" 0 "$2: values that are not byte-exact"
}

# JSON: parsed by Postgres
expect_exit 1 "$SFRECON" audit -c "$MAP" --jobs 1 --format json
cp "$TMPD/out" "$TMPD/report.json"
iconv -f UTF-8 -t UTF-8 "$TMPD/report.json" >/dev/null || fail "JSON report is not valid UTF-8"
psql_script "JSON report" <<EOF
\\set rep \`cat $TMPD/report.json\`
CREATE TABLE public.rep_json AS
    SELECT d->>'object' AS object, d->>'sfid' AS sfid, d->>'cause' AS cause,
           f->>'name' AS field, f->>'sf' AS sf, f->>'pg' AS pg
    FROM json_array_elements((:'rep')::json->'discrepancies') d,
         json_array_elements(d->'fields') f;
EOF
check_report public.rep_json "JSON report"

# CSV: read back with Postgres's CSV parser
expect_exit 1 "$SFRECON" report --run latest --format csv
cp "$TMPD/out" "$TMPD/report.csv"
iconv -f UTF-8 -t UTF-8 "$TMPD/report.csv" >/dev/null || fail "CSV report is not valid UTF-8"
psql_script "CSV report" <<EOF
CREATE TABLE public.rep_csv (run_id bigint, object text, sfid text, cause text, field text,
                             sf text, pg text, detail text);
\\copy public.rep_csv FROM '$TMPD/report.csv' WITH (FORMAT csv, HEADER true)
EOF
check_report public.rep_csv "CSV report"

# HTML: markup in values is escaped, the document is valid UTF-8
expect_exit 1 "$SFRECON" report --run latest --format html
cp "$TMPD/out" "$TMPD/report.html"
iconv -f UTF-8 -t UTF-8 "$TMPD/report.html" >/dev/null || fail "HTML report is not valid UTF-8"
assert_not_contains "$TMPD/report.html" "<script>alert"
assert_not_contains "$TMPD/report.html" "<b>bold"
[ "$(grep -c '<script' "$TMPD/report.html")" = 1 ] || fail "HTML report: a script element besides the page's own"
assert_contains "$TMPD/report.html" "ns__WidGet__c"
# text: valid UTF-8 even where long values are cut for display, no raw control bytes
expect_exit 1 "$SFRECON" report --run latest --format text
cp "$TMPD/out" "$TMPD/report.txt"
iconv -f UTF-8 -t UTF-8 "$TMPD/report.txt" >/dev/null || fail "text report is not valid UTF-8"
if LC_ALL=C grep -q "$(printf '[\001\037\177\r]')" "$TMPD/report.txt"; then
    cat -v "$TMPD/report.txt"
    fail "text report carries raw control bytes"
fi
note "hostile values reported exactly in JSON and CSV, escaped in HTML and text"

# ---- 4. repaired: the mirror holds Salesforce's bytes again ----
expect_exit 0 "$SFRECON" repair -c "$MAP" --run latest --yes
assert_contains "$TMPD/out" " 0 failed, 0 skipped"
expect_exit 0 "$SFRECON" audit -c "$MAP" --jobs 1 --no-store
assert_contains "$TMPD/out" "0 discrepancies"
n=$(sql "SELECT count(*) FROM ($(vals "TABLE public.good")) g
         FULL JOIN ($(vals "$MIRROR")) m USING (object, sfid, field)
         WHERE g.value IS DISTINCT FROM m.value")
assert_eq "$n" 0 "mirror values after the repair"
note "repaired byte for byte"

# ---- 5. an app's write of hostile values reaches Salesforce ----
psql_script "app write" <<EOF
UPDATE salesforce."order" SET mixedcase_label__c = E'app \\\\ "wrote" \\x01\\t<i>' WHERE sfid = '$OB';
UPDATE salesforce.ns__widget__c SET note__c = repeat(U&'\\+01F600', 65536) WHERE sfid = '$WA';
EOF
expect_exit 0 "$SFRECON" sync -c "$MAP" --once
assert_contains "$TMPD/err" "pushed 2, failed 0"
curl -s -H "Authorization: Bearer $TOK" "$API/sobjects/Order/$OB" >"$TMPD/ob.json"
assert_contains "$TMPD/ob.json" '"MixedCase_Label__c":"app \\ \"wrote\" \u0001\t<i>"'
curl -s -H "Authorization: Bearer $TOK" "$API/sobjects/ns__WidGet__c/$WA" >"$TMPD/wa.json"
same=$(psql -X -Atq -v ON_ERROR_STOP=1 "$DB" <<EOF
\\set w \`cat $TMPD/wa.json\`
SELECT md5(note__c) = md5((:'w')::json->>'Note__c') AND length(note__c) = 65536
FROM salesforce.ns__widget__c WHERE sfid = '$WA';
EOF
)
assert_eq "$same" t "65,536 emoji pushed byte for byte"
# the next cycle pulls the new SystemModstamps of the records the push wrote
expect_exit 0 "$SFRECON" sync -c "$MAP" --once
assert_contains "$TMPD/err" "pushed 0, failed 0"
expect_exit 0 "$SFRECON" audit -c "$MAP" --jobs 1 --no-store
assert_contains "$TMPD/out" "0 discrepancies"
note "app writes with hostile values pushed and audited clean"
