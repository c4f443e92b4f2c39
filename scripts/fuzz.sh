#!/bin/sh
# Runs the libFuzzer targets built by `make fuzz-build` (tests/fuzz/*.c).
#   fuzz.sh corpus            each target once over its checked-in seed corpus
#                             (tests/fuzz/corpus/<target>/): quick, deterministic,
#                             part of `make check`
#   fuzz.sh run SECONDS [T..] fuzz each target (or the named ones) for SECONDS,
#                             new inputs in $FUZZ_BUILD/corpus/<target>, crashes
#                             in $FUZZ_BUILD/crashes/; prints executions and
#                             coverage per target
# FUZZ_BUILD (default build/fuzz) holds the binaries fuzz_<target>.
set -u
cd "$(dirname "$0")/.." || exit 2
B=${FUZZ_BUILD:-build/fuzz}
mode=${1:-}
[ $# -gt 0 ] && shift
# Leaks are bugs too; a crash or a violated property aborts.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

targets() { ls tests/fuzz/*.c | sed 's|tests/fuzz/\(.*\)\.c|\1|'; }

dict_of() {
    case $1 in
    soql) echo tests/fuzz/soql.dict ;;
    jsonstream | config | describe | cometd_emu | cometd | sferror) echo tests/fuzz/json.dict ;;
    *) echo "" ;;
    esac
}

case $mode in
corpus)
    status=0
    for t in $(targets); do
        bin="$B/fuzz_$t"
        dir="tests/fuzz/corpus/$t"
        [ -x "$bin" ] || { echo "fuzz: $bin not built (make fuzz-build)" >&2; exit 2; }
        n=$(ls "$dir" 2>/dev/null | wc -l)
        [ "$n" -gt 0 ] || { echo "FAIL fuzz corpus $t: no seed inputs in $dir" >&2; status=1; continue; }
        log="$B/corpus-$t.log"
        # Given files (not a directory), libFuzzer runs each exactly once.
        if "$bin" "$dir"/* >"$log" 2>&1; then
            echo "PASS fuzz corpus $t ($n inputs)"
        else
            echo "FAIL fuzz corpus $t (log: $log)"
            tail -n 30 "$log" | sed 's/^/    /'
            status=1
        fi
    done
    exit $status
    ;;
run)
    secs=${1:-60}
    [ $# -gt 0 ] && shift
    list=${*:-$(targets)}
    mkdir -p "$B/crashes" "$B/logs"
    status=0
    printf '%-12s %12s %8s %8s %s\n' target executions cov ft result
    for t in $list; do
        bin="$B/fuzz_$t"
        [ -x "$bin" ] || { echo "fuzz: $bin not built (make fuzz-build)" >&2; exit 2; }
        mkdir -p "$B/corpus/$t"
        d=$(dict_of "$t")
        log="$B/logs/$t.log"
        # shellcheck disable=SC2046
        nice -n 10 "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 \
            -print_final_stats=1 -artifact_prefix="$B/crashes/$t-" ${d:+-dict=$d} \
            "$B/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1
        rc=$?
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
        line=$(grep -E '^#[0-9]+' "$log" | grep ' cov: ' | tail -n 1)
        cov=$(echo "$line" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
        ft=$(echo "$line" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
        res=ok
        [ $rc -ne 0 ] && { res="CRASH (log: $log)"; status=1; }
        printf '%-12s %12s %8s %8s %s\n' "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$res"
    done
    exit $status
    ;;
*)
    echo "usage: fuzz.sh corpus | run SECONDS [TARGET...]" >&2
    exit 2
    ;;
esac
