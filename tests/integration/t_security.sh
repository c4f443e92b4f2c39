# Security edges: plain http:// is refused for any host but loopback
# (SF_LOGIN_URL, SF_INSTANCE_URL, and the instance_url a login answer names),
# with exit 2 and a message naming the variable and the host; URLs with
# user:password@ are refused; sfemu listens on 127.0.0.1 only unless --bind
# says otherwise; the kill hooks of the test build are not in build/sfrecon.
. "$TOP/tests/integration/lib.sh"
MAP="$TOP/tests/data/mapping-sample.json"
DB=$(new_db security)
export DATABASE_URL="$DB" SF_RETRY_BASE_MS=10
unset SF_INSTANCE_URL SF_ACCESS_TOKEN SF_USERNAME SF_PASSWORD 2>/dev/null

# listen_addr PORT: local addresses (hex, /proc/net/tcp{,6}) listening on PORT
listen_addr() {
    hex=$(printf '%04X' "$1")
    cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk -v p=":$hex" '$4 == "0A" && index($2, p) { split($2, a, ":"); print a[1] }'
}

# 1. plain http to a remote host: refused before anything is sent
SF_LOGIN_URL=http://login.example.com SF_CLIENT_ID=a SF_CLIENT_SECRET=b \
    expect_exit 2 "$SFRECON" audit -c "$MAP" --no-store
assert_contains "$TMPD/err" "SF_LOGIN_URL is plain http:// to login.example.com: refused"
assert_contains "$TMPD/err" "use https://"
SF_INSTANCE_URL=http://10.1.2.3:8080 SF_ACCESS_TOKEN=tok \
    expect_exit 2 "$SFRECON" audit -c "$MAP" --no-store
assert_contains "$TMPD/err" "SF_INSTANCE_URL is plain http:// to 10.1.2.3"
SF_INSTANCE_URL=http://127.0.0.1.example.com SF_ACCESS_TOKEN=tok \
    expect_exit 2 "$SFRECON" audit -c "$MAP" --no-store
assert_contains "$TMPD/err" "plain http:// to 127.0.0.1.example.com"
SF_LOGIN_URL=https://user:pw@login.example.com SF_CLIENT_ID=a SF_CLIENT_SECRET=b \
    expect_exit 2 "$SFRECON" audit -c "$MAP" --no-store
assert_contains "$TMPD/err" "no user:password@"
assert_not_contains "$TMPD/err" "pw@"
SF_LOGIN_URL=ftp://login.example.com SF_CLIENT_ID=a SF_CLIENT_SECRET=b \
    expect_exit 2 "$SFRECON" audit -c "$MAP" --no-store
note "http:// to remote hosts refused (exit 2)"

# 2. sfemu binds loopback by default; --bind widens it
start_sfemu
port=${SFEMU_URL##*:}
addrs=$(listen_addr "$port")
assert_eq "$addrs" "0100007F" "sfemu listening addresses (hex) on port $port"
store2=$(new_db sfemu_bind)
"$SFEMU" --port 0 --store "$store2" --bind 0.0.0.0 >"$TMPD/emu2.out" 2>"$TMPD/emu2.err" &
pid2=$!; _pids="$_pids $pid2"
i=0; while ! grep -q "listening on" "$TMPD/emu2.out" 2>/dev/null; do
    i=$((i + 1)); [ $i -gt 300 ] && { cat "$TMPD/emu2.err"; fail "sfemu --bind did not start"; }; sleep 0.1; done
url2=$(sed -n 's/^listening on //p' "$TMPD/emu2.out")
assert_eq "$(listen_addr "${url2##*:}")" "00000000" "sfemu --bind 0.0.0.0"
kill "$pid2"; wait "$pid2" 2>/dev/null
expect_exit 2 "$SFEMU" --port 0 --store "$store2" --bind not-an-address
assert_contains "$TMPD/err" "cannot listen on not-an-address"
note "sfemu listens on 127.0.0.1 only by default"

# 3. loopback http works; a login answer naming a plain-http remote instance is refused
export SF_LOGIN_URL="$SFEMU_URL" SF_USERNAME=admin@example.com SF_PASSWORD=password \
       SF_CLIENT_ID=test SF_CLIENT_SECRET=test
expect_exit 1 "$SFRECON" lint -c "$MAP" # the sample mapping has one lint error
assert_contains "$TMPD/out" "no_upsert_field" # lint read the org's describe over loopback http
assert_not_contains "$TMPD/err" "refused"
store3=$(new_db sfemu_inst)
"$SFEMU" --port 0 --store "$store3" --instance-url http://198.51.100.7:8080 >"$TMPD/emu3.out" 2>"$TMPD/emu3.err" &
pid3=$!; _pids="$_pids $pid3"
i=0; while ! grep -q "listening on" "$TMPD/emu3.out" 2>/dev/null; do
    i=$((i + 1)); [ $i -gt 300 ] && { cat "$TMPD/emu3.err"; fail "sfemu 3 did not start"; }; sleep 0.1; done
url3=$(sed -n 's/^listening on //p' "$TMPD/emu3.out")
SF_LOGIN_URL="$url3" expect_exit 2 "$SFRECON" audit -c "$MAP" --no-store
assert_contains "$TMPD/err" "the instance_url of the login answer is plain http:// to 198.51.100.7"
note "a login answer's non-loopback http instance_url is refused"

# 4. the kill points exist only in the test build
n=$(grep -c SFRECON_TEST_KILL_AT "$SFRECON")
assert_eq "$n" 0 "build/sfrecon mentions the test hook"
grep -q SFRECON_TEST_KILL_AT "$TOP/$BUILD/sfrecon-test" || fail "sfrecon-test lacks the kill hook"
exit 0
