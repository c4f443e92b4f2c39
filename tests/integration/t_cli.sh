# The command line: help, version, unknown commands and options (exit 2 with
# a hint), and the throwaway-cluster script running two clusters side by side.
. "$TOP/tests/integration/lib.sh"
expect_exit 0 "$SFRECON" --help
for c in audit repair report lint schema; do assert_contains "$TMPD/out" "  $c"; done
expect_exit 0 "$SFRECON" --version
assert_contains "$TMPD/out" "sfrecon 0."
for c in audit repair report lint schema; do
    expect_exit 0 "$SFRECON" help "$c"
    assert_contains "$TMPD/out" "Usage: sfrecon $c"
done
expect_exit 2 "$SFRECON"
expect_exit 2 "$SFRECON" audti
assert_contains "$TMPD/err" "unknown command 'audti'"
assert_contains "$TMPD/err" "Did you mean 'audit'?"
expect_exit 2 "$SFRECON" --frobnicate
assert_contains "$TMPD/err" "Try 'sfrecon --help'"
expect_exit 2 "$SFRECON" help nothing
for c in audit repair report lint schema; do
    expect_exit 2 "$SFRECON" "$c" --no-such-option
    assert_contains "$TMPD/err" "sfrecon help $c"
done
# no secrets in errors: a password in DATABASE_URL is never printed
DATABASE_URL="postgresql://u:Secr3tPw@127.0.0.1:1/db" expect_exit 3 "$SFRECON" report --run latest
assert_not_contains "$TMPD/err" "Secr3tPw"

# two throwaway clusters side by side, each stopped and removed
a=$(sh "$TOP/scripts/pgtest.sh" start) || fail "cluster a"
b=$(sh "$TOP/scripts/pgtest.sh" start) || fail "cluster b"
A_URL=$(echo "$a" | sed -n "s/^DATABASE_URL='\(.*\)'$/\1/p")
A_DIR=$(echo "$a" | sed -n "s/^PGTEST_DIR='\(.*\)'$/\1/p")
B_URL=$(echo "$b" | sed -n "s/^DATABASE_URL='\(.*\)'$/\1/p")
B_DIR=$(echo "$b" | sed -n "s/^PGTEST_DIR='\(.*\)'$/\1/p")
[ "$A_DIR" != "$B_DIR" ] || fail "same directory"
ra=$(psql -Atq "$A_URL" -c "select 1") ; rb=$(psql -Atq "$B_URL" -c "select 2")
sh "$TOP/scripts/pgtest.sh" stop "$A_DIR"
sh "$TOP/scripts/pgtest.sh" stop "$B_DIR"
assert_eq "$ra$rb" "12" "both clusters answer"
[ ! -d "$A_DIR" ] && [ ! -d "$B_DIR" ] || fail "cluster directories left behind"
expect_exit 2 sh "$TOP/scripts/pgtest.sh" stop /nonexistent
exit 0
