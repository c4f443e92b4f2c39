#!/bin/sh
# Starts and stops a local Salesforce emulator (build/sfemu) for tests, the
# demo and benchmarks, like pgtest.sh does for Postgres.
#   sfemu.sh start DATABASE_URL [sfemu options]  -> prints SFEMU_URL=..., SFEMU_PID=...,
#                                                   SFEMU_LOG=... (eval-able)
#   sfemu.sh stop PID                            -> stops that emulator (SIGTERM, then waits)
# The emulator listens on a free port, with the admin API on (/__emu/), and
# keeps its org in schema "sfemu" of DATABASE_URL. BUILD selects the build
# directory (default: build).
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
bin="$top/${BUILD:-build}/sfemu"

case "$1" in
start)
    [ -n "$2" ] || { echo "sfemu.sh: usage: sfemu.sh start DATABASE_URL [options]" >&2; exit 2; }
    [ -x "$bin" ] || { echo "sfemu.sh: $bin not built (make)" >&2; exit 3; }
    store="$2"; shift 2
    log=$(mktemp /tmp/sfemu.XXXXXX)
    "$bin" --port 0 --store "$store" --admin "$@" >"$log.out" 2>"$log" &
    pid=$!
    i=0
    while ! grep -q "^listening on " "$log.out" 2>/dev/null; do
        i=$((i + 1))
        if [ $i -gt 300 ] || ! kill -0 "$pid" 2>/dev/null; then
            cat "$log" >&2
            kill "$pid" 2>/dev/null || true
            echo "sfemu.sh: sfemu did not start (log: $log)" >&2
            exit 3
        fi
        sleep 0.1
    done
    echo "SFEMU_URL='$(sed -n 's/^listening on //p' "$log.out" | head -n 1)'"
    echo "SFEMU_PID='$pid'"
    echo "SFEMU_LOG='$log'"
    ;;
stop)
    [ -n "$2" ] || { echo "sfemu.sh: usage: sfemu.sh stop PID" >&2; exit 2; }
    kill "$2" 2>/dev/null || exit 0
    i=0
    while kill -0 "$2" 2>/dev/null; do
        i=$((i + 1))
        [ $i -gt 100 ] && { kill -9 "$2" 2>/dev/null || true; break; }
        sleep 0.1
    done
    ;;
*)
    echo "usage: sfemu.sh start DATABASE_URL [options] | stop PID" >&2; exit 2 ;;
esac
