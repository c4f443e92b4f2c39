# reports people read: the HTML report of a generated org with every cause,
# rendered in headless Chromium (DOM checked, PNG kept under build/report/),
# night-to-night diffs with their exit codes, the Prometheus textfile output
# checked line by line against the exposition format, and retention.
. "$TOP/tests/integration/lib.sh"
MAP="$TOP/tests/data/mapping-sample.json"
ORG="$TOP/tests/sfemu/org/sample-org.json"
ORGGEN="$TOP/$BUILD/orggen"
OUTDIR="$TOP/$BUILD/report"
mkdir -p "$OUTDIR"
CHROMIUM=$(command -v chromium || command -v chromium-browser) ||
    fail "chromium is not installed (scripts/deps.sh installs it)"
start_sfemu
export SF_LOGIN_URL="$SFEMU_URL" SF_USERNAME=admin@example.com SF_PASSWORD=password \
       SF_CLIENT_ID=test SF_CLIENT_SECRET=test SF_RETRY_BASE_MS=10 SF_BULK_POLL_MS=10

# headless FILE.html ARGS...: Chromium on a local file, its log in $TMPD/chromium.log
headless() {
    _f=$1; shift
    _prof=$(mktemp -d "$TMPD/chrome.XXXXXX")
    timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --disable-extensions --user-data-dir="$_prof" --enable-logging=stderr --v=0 \
        "$@" "file://$_f" 2>"$TMPD/chromium.log"
}

DB=$(new_db report_org)
curl -s -X POST "$SFEMU_URL/__emu/reset" >/dev/null || fail "reset"
"$ORGGEN" --sf "$SFEMU_URL" --db "$DB" --mapping "$MAP" --describe "$ORG" --size 300 \
    --seed 1 --faults all=2 --manifest "$TMPD/manifest.csv" --triggers \
    >"$TMPD/gen.out" 2>&1 || { cat "$TMPD/gen.out"; fail "orggen"; }
MANIFEST_N=$(tail -n +2 "$TMPD/manifest.csv" | wc -l)

# 1. three nights: run 1 (two days ago), run 2 (yesterday, one fault fixed by
#    hand), run 3 (today, one new fault)
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" audit -c "$MAP" --format html --out "$TMPD/audit.html"
assert_contains "$TMPD/audit.html" "default-src 'none'"
[ ! -s "$TMPD/out" ] || fail "audit --out wrote to stdout"
psql -q "$DB" -c "UPDATE sfrecon.audit_run SET started_at = started_at - interval '2 days', finished_at = finished_at - interval '2 days'" ||
    fail "age run 1"
gone=$(grep ',missing_in_sf,' "$TMPD/manifest.csv" | head -n 1 | cut -d, -f1,2)
gone_obj=${gone%%,*}; gone_id=${gone#*,}
[ -n "$gone_id" ] || fail "manifest lacks missing_in_sf"
gone_tab=$(echo "$gone_obj" | tr 'A-Z' 'a-z')
psql -q "$DB" -c "SET xmlbinary = 'hex'" -c "DELETE FROM salesforce.$gone_tab WHERE sfid = '$gone_id'" ||
    fail "fix $gone_id"
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" audit -c "$MAP"
psql -q "$DB" -c "UPDATE sfrecon.audit_run SET started_at = started_at - interval '1 day', finished_at = finished_at - interval '1 day' WHERE id = 2" ||
    fail "age run 2"
new_id=$(psql -Atq "$DB" -c "SELECT sfid FROM salesforce.lead WHERE sfid NOT IN ($(cut -d, -f2 "$TMPD/manifest.csv" | tail -n +2 | sed "s/.*/'&'/" | paste -sd, -)) ORDER BY sfid LIMIT 1")
[ -n "$new_id" ] || fail "no clean Lead left"
psql -q "$DB" -c "SET xmlbinary = 'hex'" -c "DELETE FROM salesforce.lead WHERE sfid = '$new_id'" ||
    fail "break $new_id"
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" audit -c "$MAP"

# 2. diff: new, resolved, still open (since run 1), exit codes
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" report --diff previous latest
assert_contains "$TMPD/out" "run 2 ("
assert_contains "$TMPD/out" "-> run 3 ("
assert_contains "$TMPD/out" "1 new, 0 resolved, $((MANIFEST_N - 1)) still open"
grep -q "^  missing_in_pg   Lead $new_id: " "$TMPD/out" || { cat "$TMPD/out"; fail "new one not listed"; }
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" report --diff 1 3 --format json
assert_contains "$TMPD/out" '"new":1,'
assert_contains "$TMPD/out" '"resolved":1,'
assert_contains "$TMPD/out" "\"sfid\":\"$gone_id\""
assert_contains "$TMPD/out" '"since_run":1,'
# an open one carried from run 1 says so in the text too
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" report --diff 1 latest
grep -q "(since run 1, [0-9-]*): " "$TMPD/out" || { cat "$TMPD/out"; fail "no 'since run 1'"; }
grep -A2 '^resolved since run 1 (1):' "$TMPD/out" | grep -q "$gone_id" || { cat "$TMPD/out"; fail "resolved"; }
# nothing new from a run to itself: exit 0, everything still open
DATABASE_URL="$DB" expect_exit 0 "$SFRECON" report --diff latest latest
assert_contains "$TMPD/out" "0 new, 0 resolved, $MANIFEST_N still open"
# backwards, the fixed one is "new" again
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" report --diff 3 1
assert_contains "$TMPD/out" "1 new, 1 resolved"
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" report --diff previous latest --format html --out "$OUTDIR/diff.html"
assert_contains "$OUTDIR/diff.html" "What changed from run 2 to run 3"
assert_contains "$OUTDIR/diff.html" "id=\"new-g-Lead-missing_in_pg\""
DATABASE_URL="$DB" expect_exit 2 "$SFRECON" report --diff 1 999
assert_contains "$TMPD/err" "audit run 999 not found"
DATABASE_URL="$DB" expect_exit 2 "$SFRECON" report --diff 1
assert_contains "$TMPD/err" "expected two runs"
DATABASE_URL="$DB" expect_exit 2 "$SFRECON" report --diff 1 2 --format csv
DATABASE_URL="$DB" expect_exit 2 "$SFRECON" report --diff 1 soon
assert_contains "$TMPD/err" "'soon'"
note "diff: new, resolved, still open since run 1, exit codes"

# 3. the HTML report in headless Chromium
HTML="$OUTDIR/report.html"
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" report --run latest --format html --out "$HTML"
INSTANCE=$(psql -Atq "$DB" -c "SELECT instance_url FROM sfrecon.audit_run WHERE id = 3")
[ -n "$INSTANCE" ] || fail "the run did not store its instance URL"
# no URL but the record links to the instance
grep -o 'https\?://[^"<> ]*' "$HTML" | grep -v "^$INSTANCE/[0-9A-Za-z]\{15,18\}\$" >"$TMPD/urls" &&
    { cat "$TMPD/urls"; fail "the page names other URLs"; }
assert_contains "$HTML" "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';"
headless "$HTML" --dump-dom >"$TMPD/dom.html" || { cat "$TMPD/chromium.log"; fail "chromium --dump-dom"; }
DOM="$TMPD/dom.html"
assert_contains "$DOM" "<svg class=\"chart\""
[ "$(grep -o '<rect ' "$DOM" | wc -l)" -ge 10 ] || fail "the chart has no bars"
assert_contains "$DOM" "run 1, "   # the trend reaches back to the first night
for cause in missing_in_pg missing_in_sf missing_parent truncation type_mismatch stale \
             conflict sync_error duplicate field_mismatch; do
    grep -q "class=\"g\" id=\"g-[A-Za-z_]*-$cause\"" "$DOM" || fail "no group for $cause"
    grep -q "<option>$cause</option>" "$DOM" || fail "no filter for $cause"
done
for obj in $(tail -n +2 "$TMPD/manifest.csv" | cut -d, -f1 | sort -u); do
    grep -q "data-o=\"$obj\"" "$DOM" || fail "no group for $obj"
done
tail -n +2 "$TMPD/manifest.csv" | grep -v ",$gone_id," | while IFS=, read -r obj sfid cause parent; do
    [ -n "$sfid" ] || continue
    grep -q "id=\"g-$obj-$cause\"" "$DOM" || fail "no group $obj/$cause for $sfid"
    grep -q ">$sfid</a>" "$DOM" || fail "no row for $obj $sfid ($cause)"
done || exit 1
assert_contains "$DOM" ">$new_id</a>"
assert_contains "$DOM" "<a href=\"$INSTANCE/$new_id\">"
# the filter script ran (inline script allowed by the policy)
grep -q "id=\"shown\" class=\"mut\">$MANIFEST_N discrepancies in [0-9]* groups<" "$DOM" || fail "filter script did not run"
assert_not_contains "$TMPD/chromium.log" "Content Security Policy"
assert_not_contains "$TMPD/chromium.log" "Uncaught"
# a link to one cell (#g-Account-missing_in_pg) filters to that group
n_acc=$(grep -c '^Account,.*,missing_in_pg,' "$TMPD/manifest.csv")
headless "$HTML#g-Account-missing_in_pg" --dump-dom >"$TMPD/dom2.html" || fail "chromium filtered"
grep -q "id=\"shown\" class=\"mut\">$n_acc discrepanc[a-z]* in 1 group<" "$TMPD/dom2.html" || {
    grep -o 'id="shown"[^<]*<' "$TMPD/dom2.html"; fail "filter by hash"; }
rm -f "$OUTDIR/report.png"
headless "$HTML" --screenshot="$OUTDIR/report.png" --window-size=1280,2400 --hide-scrollbars ||
    { cat "$TMPD/chromium.log"; fail "chromium --screenshot"; }
[ -s "$OUTDIR/report.png" ] || fail "no PNG written"
[ "$(head -c 8 "$OUTDIR/report.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "not a PNG"
# big groups show their first rows and say where the rest are
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" report --format html --html-rows 1
assert_contains "$TMPD/out" "The first 1 of 3, in sfid order. All of them: <code>sfrecon report --run 3 --format csv</code>"
[ "$(grep -c '<div class="r"><div class="k">' "$TMPD/out")" -lt "$MANIFEST_N" ] || fail "--html-rows 1 shows every row"
DATABASE_URL="$DB" expect_exit 2 "$SFRECON" report --format html --html-rows -1
note "html: every cause, object and faulty sfid rendered; PNG at $BUILD/report/report.png"

# 4. Prometheus textfile: every line parses (strict exposition-format check)
PROM="$OUTDIR/sfrecon.prom"
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" report --format prometheus --out "$PROM"
# prom_check FILE: HELP/TYPE once per family and before its samples, a family's
# samples together, metric and label names valid, label values escaped,
# values numbers; prints the first offending line
prom_check() {
    awk '
    function bad(m) { printf "line %d: %s: %s\n", NR, m, $0; err = 1; exit 1 }
    BEGIN { name = "[a-zA-Z_:][a-zA-Z0-9_:]*"; lname = "[a-zA-Z_][a-zA-Z0-9_]*"
            num = "^([-+]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][-+]?[0-9]+)?|[-+]?Inf|NaN)$" }
    /^# HELP / { n = $3; if (n !~ "^" name "$") bad("bad HELP name"); if (help[n]++) bad("HELP twice")
                 if (seen[n]) bad("HELP after samples"); next }
    /^# TYPE / { n = $3; if (n !~ "^" name "$") bad("bad TYPE name"); if (type[n]++) bad("TYPE twice")
                 if ($4 !~ /^(counter|gauge|histogram|summary|untyped)$/ || NF != 4) bad("bad TYPE")
                 if (seen[n]) bad("TYPE after samples"); next }
    /^#/ { next }
    /^$/ { bad("empty line") }
    {
        line = $0
        if (!match(line, "^" name)) bad("no metric name")
        n = substr(line, 1, RLENGTH); rest = substr(line, RLENGTH + 1)
        if (substr(rest, 1, 1) == "{") {
            rest = substr(rest, 2)
            while (substr(rest, 1, 1) != "}") {
                if (!match(rest, "^" lname "=\"")) bad("bad label")
                rest = substr(rest, RLENGTH + 1)
                if (!match(rest, /^([^"\\\n]|\\[\\"n])*"/)) bad("bad label value")
                rest = substr(rest, RLENGTH + 1)
                if (substr(rest, 1, 1) == ",") rest = substr(rest, 2)
                else if (substr(rest, 1, 1) != "}") bad("bad label list")
            }
            rest = substr(rest, 2)
        }
        if (substr(rest, 1, 1) != " ") bad("no space before value")
        k = split(substr(rest, 2), f, " ")
        if (k < 1 || k > 2 || f[1] !~ num || (k == 2 && f[2] !~ /^-?[0-9]+$/)) bad("bad value")
        if (!type[n]) bad("sample before its TYPE")
        if (last != n && seen[n]) bad("family not contiguous")
        seen[n] = 1; last = n; samples++
    }
    END { if (!err && samples == 0) { print "no samples"; exit 1 } }' "$1"
}
prom_check "$PROM" || fail "prometheus output does not parse"
# the checker itself rejects what it must
printf 'sfrecon_x{a="b} 1\n' >"$TMPD/bad1.prom"
printf '# TYPE sfrecon_x gauge\nsfrecon_x 1.2.3\n' >"$TMPD/bad2.prom"
printf '# TYPE sfrecon_x gauge\nsfrecon_x 1\n# TYPE sfrecon_y gauge\nsfrecon_y 1\nsfrecon_x 2\n' >"$TMPD/bad3.prom"
for b in 1 2 3; do ! prom_check "$TMPD/bad$b.prom" >/dev/null || fail "checker accepted bad$b"; done
want=$(grep -c '^Lead,.*,missing_in_pg,' "$TMPD/manifest.csv")
assert_contains "$PROM" "sfrecon_discrepancies{object=\"Lead\",cause=\"missing_in_pg\"} $((want + 1))"
for m in sfrecon_audit_last_success_timestamp_seconds sfrecon_audit_duration_seconds sfrecon_api_calls; do
    grep -q "^# TYPE $m gauge$" "$PROM" || fail "no $m"
done
ts=$(sed -n 's/^sfrecon_audit_last_success_timestamp_seconds \([0-9.]*\)$/\1/p' "$PROM")
now=$(date +%s)
[ "${ts%.*}" -le "$now" ] && [ "${ts%.*}" -gt $((now - 600)) ] || fail "last success $ts, now $now"
calls=$(psql -Atq "$DB" -c "SELECT api_calls FROM sfrecon.audit_run WHERE id = 3")
assert_contains "$PROM" "sfrecon_api_calls $calls"
ls "$OUTDIR"/sfrecon.prom.tmp.* >/dev/null 2>&1 && fail "temporary file left beside the output"
note "prometheus: $(grep -vc '^#' "$PROM") samples, every line parses"

# 5. retention: runs 1 and 2 are older than a day, run 3 stays
DATABASE_URL="$DB" expect_exit 2 "$SFRECON" report --prune 0
DATABASE_URL="$DB" expect_exit 2 "$SFRECON" report --prune week
assert_contains "$TMPD/err" "'week'"
before=$(psql -Atq "$DB" -c "SELECT count(*) FROM sfrecon.discrepancy WHERE run_id IN (1, 2)")
DATABASE_URL="$DB" expect_exit 0 "$SFRECON" report --prune 1
assert_contains "$TMPD/out" "pruned 2 runs ($before discrepancies) started more than 1 day ago"
assert_eq "$(psql -Atq "$DB" -c "SELECT string_agg(id::text, ',') FROM sfrecon.audit_run")" "3" "runs left"
assert_eq "$(psql -Atq "$DB" -c "SELECT count(*) FROM sfrecon.discrepancy WHERE run_id <> 3")" "0" "discrepancies left"
# the newest finished run is kept even when it is old
psql -q "$DB" -c "UPDATE sfrecon.audit_run SET started_at = started_at - interval '30 days'" || fail "age run 3"
DATABASE_URL="$DB" expect_exit 0 "$SFRECON" report --prune 7
assert_contains "$TMPD/out" "pruned 0 runs"
DATABASE_URL="$DB" expect_exit 1 "$SFRECON" report --run latest
note "prune: old runs and their discrepancies deleted, the newest finished run kept"
exit 0
