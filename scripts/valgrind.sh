#!/bin/sh
# make valgrind: the integration tests and the demo with sfrecon and orggen
# running under valgrind memcheck (definite leaks count as errors). The real
# binaries are built in build/valgrind/real; build/valgrind holds wrappers of
# the same names, so the tests and the demo run unchanged with
# BUILD=build/valgrind. sfemu (a test fixture) runs natively unless
# VALGRIND_EMU=1. One log per process in build/valgrind/logs; a clean run
# leaves them all empty. Usage: valgrind.sh [t_name.sh ...]
set -u
cd "$(dirname "$0")/.." || exit 2
top=$(pwd)
V=build/valgrind
command -v valgrind >/dev/null || { echo "valgrind: not installed (scripts/deps.sh)" >&2; exit 2; }
[ -x "$V/real/sfrecon" ] || { echo "valgrind: $V/real is not built (make valgrind)" >&2; exit 2; }
mkdir -p "$V/logs"
rm -f "$V"/logs/*.log
wrap() {
    cat >"$V/$1" <<EOW
#!/bin/sh
exec valgrind -q --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite \\
    --error-exitcode=99 --log-file="$top/$V/logs/$1.%p.log" "$top/$V/real/$1" "\$@"
EOW
    chmod +x "$V/$1"
}
wrap sfrecon
wrap orggen
if [ "${VALGRIND_EMU:-0}" = 1 ]; then wrap sfemu; else ln -sf real/sfemu "$V/sfemu"; fi
ln -sf real/sfrbench "$V/sfrbench"
ln -sf real/libsfr.a "$V/libsfr.a"

status=0
start=$(date +%s)
BUILD=$V sh tests/integration/run.sh "$@" || status=1
if [ $# -eq 0 ]; then
    BUILD=$V sh scripts/demo.sh >"$V/demo.out" 2>&1 || { echo "FAIL demo (log: $V/demo.out)"; status=1; }
fi
runs=$(ls "$V"/logs/*.log 2>/dev/null | wc -l)
bad=$(find "$V/logs" -name '*.log' -size +0 | sort)
echo "valgrind: $runs processes checked in $(( $(date +%s) - start ))s"
if [ -n "$bad" ]; then
    echo "valgrind: memcheck errors in:"
    for f in $bad; do
        echo "  $f: $(grep -c '^==[0-9]*== [A-Z]' "$f") lines"
        sed -n '1,30p' "$f" | sed 's/^/    /'
    done
    status=1
fi
[ $status -eq 0 ] && echo "valgrind: clean"
exit $status
