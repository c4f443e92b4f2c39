#!/bin/sh
# Throwaway PostgreSQL cluster for tests, the demo and benchmarks.
#   pgtest.sh start        -> prints DATABASE_URL=... and PGTEST_DIR=... (eval-able)
#   pgtest.sh stop DIR     -> stops that cluster and removes DIR
# The cluster runs as the `postgres` system user when started as root (initdb
# refuses root), listens only on a Unix socket in DIR, on a free port, with
# durability off (it is thrown away). Clusters in different DIRs run side by side.
set -e
BINDIR=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$BINDIR/initdb" ] || { echo "pgtest: no PostgreSQL server found (run scripts/deps.sh)" >&2; exit 3; }

as_pg() {
    if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi
}

free_port() {
    while :; do
        p=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000 ))
        if ! grep -qi ":$(printf '%04X' "$p") " /proc/net/tcp /proc/net/tcp6 2>/dev/null; then
            echo "$p"; return
        fi
    done
}

case "$1" in
start)
    dir=$(mktemp -d /tmp/pgtest.XXXXXX)
    chmod 755 "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
    as_pg "'$BINDIR/initdb' -D '$dir/data' -U postgres -A trust -E UTF8 --locale=C.UTF-8 >'$dir/initdb.log' 2>&1" \
        || { cat "$dir/initdb.log" >&2; rm -rf "$dir"; exit 3; }
    tries=0
    while :; do
        port=$(free_port)
        if as_pg "'$BINDIR/pg_ctl' -D '$dir/data' -l '$dir/server.log' -w -t 60 \
            -o \"-p $port -k $dir -c listen_addresses='' -c fsync=off -c synchronous_commit=off \
                -c full_page_writes=off -c shared_buffers=256MB -c max_connections=200 \
                -c work_mem=32MB -c maintenance_work_mem=256MB\" start >/dev/null 2>&1"; then
            break
        fi
        tries=$((tries + 1))
        if [ $tries -ge 5 ]; then cat "$dir/server.log" >&2; rm -rf "$dir"; exit 3; fi
    done
    echo "DATABASE_URL='postgresql:///postgres?host=$dir&port=$port&user=postgres'"
    echo "PGTEST_DIR='$dir'"
    ;;
stop)
    dir="$2"
    [ -n "$dir" ] && [ -d "$dir/data" ] || { echo "pgtest: usage: pgtest.sh stop DIR" >&2; exit 2; }
    as_pg "'$BINDIR/pg_ctl' -D '$dir/data' -m immediate -w stop >/dev/null 2>&1" || true
    rm -rf "$dir"
    ;;
*)
    echo "usage: pgtest.sh start | stop DIR" >&2; exit 2 ;;
esac
