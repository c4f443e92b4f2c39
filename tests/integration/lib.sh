# Helpers for integration tests; sourced by t_*.sh (POSIX sh).
# Provides: new_db NAME -> prints a DATABASE_URL for a fresh database;
# start_sfemu [ARGS] -> starts build/sfemu (admin on) on a free port with its
# own store database, sets SFEMU_URL, and stops it at exit; sf_login, sf_token,
# need_token for Salesforce credentials; gen_org / orggen_into for generated
# orgs; sync_org and the sql/sfcall/wait_for/wait_log helpers of the sync
# tests; cc_driver for test drivers; check/expect helpers.
# MAP, ORG and ORGGEN name the sample mapping, the sample org's describe and
# the generator; a test may set its own after sourcing this file.
set -u
SFR_LIB_SH=1
BUILD=${BUILD:-build}
export PGOPTIONS="--client-min-messages=warning"
SFRECON="$TOP/$BUILD/sfrecon"
SFEMU="$TOP/$BUILD/sfemu"
ORGGEN="$TOP/$BUILD/orggen"
MAP="$TOP/tests/data/mapping-sample.json"
ORG="$TOP/tests/sfemu/org/sample-org.json"
TMPD=$(mktemp -d /tmp/sfrtest.XXXXXX)
_pids=""
_cleanup() {
    for p in $_pids; do kill "$p" 2>/dev/null; done
    for p in $_pids; do wait "$p" 2>/dev/null; done
    rm -rf "$TMPD"
}
trap _cleanup EXIT
trap 'exit 1' INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "# $*"; }

# db_url NAME: the cluster URL pointed at database NAME
db_url() { echo "$PGCLUSTER_URL" | sed "s|/postgres?|/$1?|"; }

# new_db NAME: drops and creates database NAME, prints its URL
new_db() {
    psql -q "$PGCLUSTER_URL" -c "DROP DATABASE IF EXISTS \"$1\"" -c "CREATE DATABASE \"$1\"" >/dev/null \
        || fail "cannot create database $1"
    db_url "$1"
}

# start_sfemu [EXTRA ARGS]: store in a fresh database sfemu_<test>
start_sfemu() {
    _store=$(new_db "sfemu_${TESTNAME:-t}_$$")
    _fifo="$TMPD/sfemu.out"
    "$SFEMU" --port 0 --store "$_store" --admin "$@" >"$_fifo" 2>"$TMPD/sfemu.err" &
    _pids="$_pids $!"
    _i=0
    while ! grep -q "listening on" "$_fifo" 2>/dev/null; do
        _i=$((_i + 1))
        [ $_i -gt 600 ] && { cat "$TMPD/sfemu.err" >&2; fail "sfemu did not start"; }
        kill -0 "$!" 2>/dev/null || { cat "$TMPD/sfemu.err" >&2; fail "sfemu exited"; }
        sleep 0.1
    done
    SFEMU_URL=$(sed -n 's/^listening on //p' "$_fifo" | head -n 1)
    SFEMU_STORE="$_store"
    export SFEMU_URL SFEMU_STORE
}

# sf_token: password-flow token from sfemu (prints access_token)
sf_token() {
    curl -s -X POST "$SFEMU_URL/services/oauth2/token" \
        -d grant_type=password -d client_id=x -d client_secret=y \
        -d username=admin@example.com -d password=password |
        sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p'
}

# need_token VAR [MSG]: VAR gets a token from sf_token; fails (MSG) without one.
need_token() {
    _tok=$(sf_token)
    [ -n "$_tok" ] || fail "${2:-no token from sfemu}"
    eval "$1=\$_tok"
}

# sf_login [NAME=VALUE ...]: exports sfrecon's password-flow login to the
# running sfemu (and fast Bulk polling), then each NAME=VALUE given.
sf_login() {
    export SF_LOGIN_URL="$SFEMU_URL" SF_USERNAME=admin@example.com SF_PASSWORD=password \
        SF_CLIENT_ID=test SF_CLIENT_SECRET=test SF_BULK_POLL_MS=10
    for _kv in "$@"; do export "$_kv"; done
}

# orggen_into DB LOG ARGS...: generates an org into sfemu and DB from $MAP and
# $ORG, with ARGS (--size, --seed, --faults, --manifest, ...); its output goes
# to LOG, shown when it fails.
orggen_into() {
    _db=$1; _log=$2; shift 2
    "$ORGGEN" --sf "$SFEMU_URL" --db "$_db" --mapping "$MAP" --describe "$ORG" "$@" \
        >"$_log" 2>&1 || { cat "$_log"; fail "orggen $*"; }
}

# gen_org SEED FAULTS DB: a fresh 300-record org with Connect's triggers
# (sfemu reset first), its manifest in $TMPD/manifest.csv.
gen_org() {
    curl -s -X POST "$SFEMU_URL/__emu/reset" >/dev/null || fail "reset"
    orggen_into "$3" "$TMPD/gen.out" --size 300 --seed "$1" ${2:+--faults "$2"} \
        --manifest "$TMPD/manifest.csv" --triggers
}

# sync_org NAME SIZE SEED: what the sync tests start from: sfemu started and
# logged in (SF_RETRY_BASE_MS=10), database NAME holding a generated org of
# SIZE records (seed SEED, Connect's triggers, manifest $TMPD/m.csv) exported
# as DATABASE_URL (and in DB), a token in TOK, the REST base in API.
sync_org() {
    start_sfemu
    sf_login SF_RETRY_BASE_MS=10
    DB=$(new_db "$1")
    orggen_into "$DB" "$TMPD/gen.out" --size "$2" --seed "$3" --manifest "$TMPD/m.csv" --triggers
    export DATABASE_URL="$DB"
    need_token TOK "no token"
    API="$SFEMU_URL/services/data/v60.0"
}
# sql SQL: runs SQL on $DB, rows unaligned; a failing statement fails the test
sql() { psql -Atq "$DB" -c "$1" || fail "psql: $1"; }
# sfcall METHOD PATH [BODY]: a REST call under $API with $TOK; prints the
# HTTP status, the body in $TMPD/body
sfcall() {
    curl -s -o "$TMPD/body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $TOK" \
        -H "Content-Type: application/json" ${3:+-d "$3"} "$API/$2"
}
# wait_for DESC SQL WANT: polls $DB until SQL gives WANT (0.1 s steps, at
# most WAIT_STEPS of them, default 200); fails, showing the daemon's
# $TMPD/d.err, when time runs out or the daemon $DPID exits
wait_for() {
    _i=0
    while [ "$(psql -Atq "$DB" -c "$2")" != "$3" ]; do
        _i=$((_i + 1))
        if [ $_i -gt "${WAIT_STEPS:-200}" ]; then
            cat "$TMPD/d.err"
            fail "$1: got '$(psql -Atq "$DB" -c "$2")', want '$3'"
        fi
        kill -0 "$DPID" 2>/dev/null || { cat "$TMPD/d.err"; fail "$1: the daemon exited"; }
        sleep 0.1
    done
}
# wait_log STRING: the daemon's $TMPD/d.err gets STRING (at most 20 s)
wait_log() {
    _i=0
    while ! grep -qF -- "$1" "$TMPD/d.err"; do
        _i=$((_i + 1))
        [ $_i -gt 200 ] && { cat "$TMPD/d.err"; fail "the daemon never logged: $1"; }
        kill -0 "$DPID" 2>/dev/null || { cat "$TMPD/d.err"; fail "the daemon exited"; }
        sleep 0.1
    done
}

# found FILE: (object,sfid,cause) of a CSV audit report, sorted and unique;
# expected FILE: the same of an orggen manifest
found() {
    grep -E '^[0-9]+,[A-Za-z_]+,[0-9A-Za-z]{15,18},[a-z_]+,' "$1" | cut -d, -f2-4 | sort -u
}
expected() { tail -n +2 "$1" | cut -d, -f1-3 | sort -u; }

# expect_exit CODE CMD...: runs CMD, stdout/stderr to $TMPD/out,$TMPD/err
expect_exit() {
    _want=$1; shift
    "$@" >"$TMPD/out" 2>"$TMPD/err"
    _got=$?
    if [ "$_got" -ne "$_want" ]; then
        echo "--- stdout"; cat "$TMPD/out"; echo "--- stderr"; cat "$TMPD/err"
        fail "expected exit $_want, got $_got: $*"
    fi
}

# assert_contains FILE STRING
assert_contains() { grep -qF -- "$2" "$1" || { cat "$1"; fail "$1 lacks: $2"; }; }
assert_not_contains() { ! grep -qF -- "$2" "$1" || { cat "$1"; fail "$1 has: $2"; }; }
# assert_eq GOT WANT MSG
assert_eq() { [ "$1" = "$2" ] || fail "$3: got '$1', want '$2'"; }

# cc_driver OUT SRC...: compiles a test driver against $BUILD/libsfr.a, with
# the sanitizers when the library was built with them.
cc_driver() {
    _out=$1; shift
    _san=""
    nm "$TOP/$BUILD/libsfr.a" 2>/dev/null | grep -q __asan_init &&
        _san="-fsanitize=address,undefined -fno-omit-frame-pointer"
    # shellcheck disable=SC2046
    cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Wno-unused-parameter -g $_san -I"$TOP/include" \
        -I"$(pg_config --includedir)" $(pkg-config --cflags json-c) -o "$_out" "$@" \
        "$TOP/$BUILD/libsfr.a" $(pkg-config --libs libpq libcurl json-c libxxhash) -lpthread -lm
}
