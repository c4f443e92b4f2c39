#!/bin/sh
# The one SQL layer of src/pg/conn.c against a real server: statements with
# and without parameters, the one-row fetch, COPY in and out (complete, bad
# data, aborted, stopped early, failing mid-stream), and the error contract
# every caller relies on: enum sfr_rc, SQLSTATE in err->sqlstate, and the
# message "<what>: <server message> (SQLSTATE xxxxx)".
. "$TOP/tests/integration/lib.sh"

DRV="$TMPD/sqldrv"
cc_driver "$DRV" "$TOP/tests/pgclient/sqldrv.c" || fail "cannot build sqldrv"
DATABASE_URL=$(new_db pg_sql)
export DATABASE_URL
expect_exit 0 "$DRV"
assert_eq "$(wc -c <"$TMPD/err")" 0 "sqldrv stderr"
line() { grep "^$1 " "$TMPD/out" || fail "no line $1"; }
want() { assert_eq "$(line "$1")" "$2" "$1"; }

want exec-list "exec-list rc=ok sqlstate=- msg="
want exec-fail "exec-fail rc=postgres sqlstate=22012 msg=Postgres: SELECT 1/0: division by zero (SQLSTATE 22012)"
want query-insert "query-insert rc=ok sqlstate=- msg="
want query-select "query-select rc=ok sqlstate=- msg= 1,x'); DROP TABLE t; --"
want query-null "query-null rc=ok sqlstate=- msg="
want query-fail "query-fail rc=postgres sqlstate=23505 msg=inserting id 1: duplicate key value violates unique constraint \"t_pkey\" (SQLSTATE 23505); Key (id)=(1) already exists. out=NULL"
want query-words "query-words rc=postgres sqlstate=23505 msg=duplicate key value violates unique constraint \"t_pkey\": Key (id)=(1) already exists."
want one-found "one-found rc=ok sqlstate=- msg= NULL"
want one-none "one-none rc=not found sqlstate=- msg=row 99: no row out=NULL"
want txn-fail "txn-fail rc=postgres sqlstate=42703 msg=Postgres: SELECT nosuchcolumn FROM t: column \"nosuchcolumn\" does not exist (SQLSTATE 42703)"
want after-rollback "after-rollback rc=ok sqlstate=- msg="

want copy-in "copy-in rc=ok sqlstate=- msg= rows=5"
line copy-in-bad | grep -q '^copy-in-bad rc=postgres sqlstate=22P02 msg=COPY into t: invalid input syntax for type integer: "not-a-number" (SQLSTATE 22P02).* rows=5$' ||
    fail "copy-in-bad: $(line copy-in-bad)"
line copy-in-abort | grep -q '^copy-in-abort rc=postgres sqlstate=57014 msg=COPY into t: .*sfrecon: sending the COPY data failed.* rows=5$' ||
    fail "copy-in-abort: $(line copy-in-abort)"
want copy-in-begin-fail "copy-in-begin-fail rc=postgres sqlstate=42P01 msg=COPY into nosuch: relation \"nosuch\" does not exist (SQLSTATE 42P01)"

want copy-out "copy-out rc=ok sqlstate=- msg= 1	x'); DROP TABLE t; --|2	\\N|10	tab\\there|11	\\N|12	last|"
want copy-out-stop "copy-out-stop rc=invalid sqlstate=- msg=the caller stopped got=1 rows=5"
want copy-out-fail "copy-out-fail rc=postgres sqlstate=22012 msg=streaming 1/(3-g): division by zero (SQLSTATE 22012) got=2"
want copy-out-begin-fail "copy-out-begin-fail rc=postgres sqlstate=42703 msg=streaming x: column \"nosuch\" does not exist (SQLSTATE 42703)"

# The values went in as data: both tables are still there.
assert_eq "$(psql -X -At "$DATABASE_URL" -c "SELECT count(*) FROM pg_tables WHERE tablename IN ('t', 's')")" 2 "tables intact"
note "sql layer ok"
