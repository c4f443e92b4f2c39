#!/bin/sh
# make lint: formatting (clang-format), static analysis (cppcheck) and a
# warnings-as-errors build. Exits non-zero on any finding.
set -e
cd "$(dirname "$0")/.."
files=$(ls src/*.c src/*/*.c include/sfrecon/*.h tests/sfemu/*.c tests/sfemu/*.h tests/fuzz/*.c tests/fuzz/*.h tests/orggen/*.c tests/orggen/*.h tests/unit/*.c tests/unit/*.h tests/bench/*.c tests/pgclient/*.c tests/sfclient/*.c tests/introspect/*.c 2>/dev/null || true)
status=0
if command -v clang-format >/dev/null; then
    clang-format --dry-run -Werror $files || status=1
else
    echo "lint: clang-format not installed (scripts/deps.sh installs it)" >&2; status=1
fi
if command -v cppcheck >/dev/null; then
    cppcheck -q --error-exitcode=1 --enable=warning,portability --inline-suppr \
        --suppress=missingIncludeSystem -Iinclude $files || status=1
else
    echo "lint: cppcheck not installed" >&2; status=1
fi
make -s BUILD=build/lintcheck all >/dev/null || status=1
[ $status -eq 0 ] && echo "lint: clean"
exit $status
