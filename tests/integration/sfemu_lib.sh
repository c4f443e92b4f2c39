# Helpers shared by the t_sfemu_*.sh tests (POSIX sh); brings lib.sh along.
# api METHOD PATH [curl args]: calls $SFEMU_URL$PATH with the bearer token in
# $TOK; body -> $TMPD/body, headers -> $TMPD/hdr, status -> $STATUS.
[ -n "${SFR_LIB_SH:-}" ] || . "$TOP/tests/integration/lib.sh"
V=/services/data/v60.0

api() {
    _m=$1; _p=$2; shift 2
    STATUS=$(curl -s -o "$TMPD/body" -D "$TMPD/hdr" -w '%{http_code}' -X "$_m" \
        -H "Authorization: Bearer ${TOK:-none}" -H 'Content-Type: application/json' \
        "$@" "$SFEMU_URL$_p")
}
# admin METHOD PATH [curl args]: the same for /__emu endpoints (no token)
admin() {
    _m=$1; _p=$2; shift 2
    STATUS=$(curl -s -o "$TMPD/body" -D "$TMPD/hdr" -w '%{http_code}' -X "$_m" \
        -H 'Content-Type: application/json' "$@" "$SFEMU_URL$_p")
}
# expect_status WANT MSG
expect_status() {
    [ "$STATUS" = "$1" ] || { cat "$TMPD/body"; echo; fail "$2: HTTP $STATUS, want $1"; }
}
# body_has STRING / body_lacks STRING
body_has() { assert_contains "$TMPD/body" "$1"; }
body_lacks() { assert_not_contains "$TMPD/body" "$1"; }
# header VALUE of NAME (case-insensitive), without CR
header() { sed -n "s/^$1: *//Ip" "$TMPD/hdr" | tr -d '\r' | head -n 1; }
# jstr KEY: first "KEY":"value" in the body
jstr() { grep -o "\"$1\":\"[^\"]*\"" "$TMPD/body" | head -n 1 | cut -d'"' -f4; }
# jnum KEY: first "KEY":number in the body
jnum() { grep -o "\"$1\":[0-9][0-9]*" "$TMPD/body" | head -n 1 | cut -d: -f2; }
# count STRING: occurrences of STRING in the body
count() { grep -o -- "$1" "$TMPD/body" | wc -l | tr -d ' '; }
# urlq SOQL: crude URL encoding for the queries the tests use
urlq() { printf '%s' "$1" | sed -e 's/%/%25/g' -e 's/ /+/g' -e "s/'/%27/g" -e 's/,/%2C/g' \
    -e 's/=/%3D/g' -e 's/(/%28/g' -e 's/)/%29/g' -e 's/>/%3E/g' -e 's/</%3C/g'; }
# gen_accounts N FILE: a CSV of N Accounts (Name, AccountNumber, Industry, External_Id__c)
gen_accounts() {
    awk -v n="$1" 'BEGIN { print "Name,AccountNumber,Industry,AnnualRevenue,External_Id__c";
        split("Agriculture Banking Energy Retail Technology", ind, " ");
        for (i = 1; i <= n; i++)
            printf "\"Acct %d, \"\"q\"\"\",AN%d,%s,%d.5,X%d\n", i, i, ind[i % 5 + 1], i, i }' >"$2"
}
