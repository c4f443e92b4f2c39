#!/bin/sh
# Runs every tests/integration/t_*.sh against one throwaway Postgres cluster.
# Each test gets PGCLUSTER_URL (the cluster's postgres database), BUILD, and
# the helpers of lib.sh; it makes its own databases with new_db. The cluster
# is always stopped, also on failure. Usage: run.sh [t_name.sh ...]
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 3
BUILD=${BUILD:-build}
export BUILD TOP="$top"
out=$(sh scripts/pgtest.sh start) || { echo "integration: cannot start Postgres" >&2; exit 3; }
eval "$out"
export PGCLUSTER_URL="$DATABASE_URL" PGTEST_DIR
trap 'sh "$top/scripts/pgtest.sh" stop "$PGTEST_DIR"' EXIT INT TERM
tests="$*"
[ -n "$tests" ] || tests=$(ls tests/integration/t_*.sh | sort)
pass=0; failed=""
for t in $tests; do
    name=$(basename "$t" .sh)
    log="$BUILD/integration/$name.log"
    mkdir -p "$BUILD/integration"
    start=$(date +%s)
    if TESTNAME="$name" sh "tests/integration/$name.sh" >"$log" 2>&1; then
        echo "PASS $name ($(( $(date +%s) - start ))s)"
        pass=$((pass + 1))
    else
        echo "FAIL $name (log: $log)"
        tail -n 40 "$log" | sed 's/^/    /'
        failed="$failed $name"
    fi
done
echo "integration: $pass passed${failed:+, failed:$failed}"
[ -z "$failed" ]
