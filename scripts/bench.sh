#!/bin/sh
# make bench: one table of figures, measured on this machine against a
# throwaway Postgres and sfemu. Sizes: BENCH_SIZES (default "100000 1000000").
# Every figure is wall-clock on the machine noted in the header; nothing here
# is asserted — tests never depend on timing.
set -u
export PGOPTIONS="--client-min-messages=warning"
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 3
B=${BUILD:-build}
SIZES=${BENCH_SIZES:-"100000 1000000"}
MAP=tests/data/mapping-sample.json
ORG=tests/sfemu/org/sample-org.json
OUT=$(mktemp -d /tmp/sfrbench.XXXXXX)
eval "$(sh scripts/pgtest.sh start)" || exit 3
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    sh scripts/pgtest.sh stop "$PGTEST_DIR"
    rm -rf "$OUT"
}
trap cleanup EXIT INT TERM
CLUSTER=$DATABASE_URL
url() { echo "$CLUSTER" | sed "s|/postgres?|/$1?|"; }
mkdb() { psql -q "$CLUSTER" -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1 ${2:-}" >/dev/null; url "$1"; }
# Mirrors get Heroku Connect's layout: the database's default collation is a
# natural-language one (Heroku's en_US.UTF-8; here ICU en-US when the server
# has it) and sfid has only Connect's hcu_idx_<table>_sfid in it, no index in
# byte order. tmpl NAME FROM: a copy of database FROM.
if [ "$(psql -Atq "$CLUSTER" -c "SELECT count(*) FROM pg_collation WHERE collname = 'en-US-x-icu'")" = 1 ]; then
    LOCALE="TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
    LOCNOTE="ICU en-US"
else
    LOCALE=""
    LOCNOTE="$(psql -Atq "$CLUSTER" -c 'SHOW lc_collate') (no ICU)"
fi
tmpl() { psql -q "$CLUSTER" -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1 TEMPLATE $2" >/dev/null; url "$1"; }
cidx() { psql -q "$1" -c 'CREATE INDEX sfrecon_idx_account_sfid_c ON salesforce.account (sfid COLLATE "C")' >/dev/null; }
now() { date +%s.%N; }
since() { echo "$(now) $1" | awk '{printf "%.2f", $1 - $2}'; }
row() { printf '%-58s %14s  %s\n' "$1" "$2" "$3"; }
token() { # a password-flow token from sfemu
    curl -s -X POST "$SF/services/oauth2/token" -d grant_type=password -d client_id=b \
        -d client_secret=b -d username=admin@example.com -d password=password |
        sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p'
}
calls() { sed -n 's/.*api calls: \([0-9]*\).*/\1/p' "$1" | tail -n 1; }
rss() { sed -n 's/.*peak RSS \([0-9]*\) MB.*/\1/p' "$1" | tail -n 1; }

EMU_DB=$(mkdb sfemu_store)
"$B/sfemu" --port 0 --store "$EMU_DB" --admin --daily-limit 100000000 >"$OUT/emu.out" 2>"$OUT/emu.err" &
PIDS="$PIDS $!"
i=0
while ! grep -q "listening on" "$OUT/emu.out"; do
    i=$((i + 1)); [ $i -gt 300 ] && { cat "$OUT/emu.err"; exit 3; }; sleep 0.1
done
SF=$(sed -n 's/^listening on //p' "$OUT/emu.out")
export SF_LOGIN_URL="$SF" SF_USERNAME=admin@example.com SF_PASSWORD=password \
       SF_CLIENT_ID=bench SF_CLIENT_SECRET=bench SFRECON_DESCRIBE="$ORG"

echo "sfrecon bench — $(uname -m), $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(date -u +%Y-%m-%d)"
echo "Postgres $(psql -Atq "$CLUSTER" -c 'show server_version'), sfemu on loopback; Account-shaped object (12 mapped fields)"
echo "Mirrors in Heroku Connect's layout: default collation $LOCNOTE, only hcu_idx_account_sfid on sfid"
echo "(figures marked C-index: the same data with an added (sfid COLLATE \"C\") index)"
echo
row "figure" "value" "unit / notes"
row "------" "-----" "------------"
"$B/sfrbench" hash | awk '{print $2}' | { read -r v; row "row hashing (XXH3, 256-byte canonical rows)" "$v" "GB/s"; }
"$B/sfrbench" canon | awk '{print $2}' | { read -r v; row "canonicalise + hash (in memory)" "$v" "rows/s"; }

for n in $SIZES; do
    MDB=$(mkdb "mirror_$n" "$LOCALE")
    curl -s -X POST "$SF/__emu/reset" >/dev/null
    t=$(now)
    "$B/orggen" --sf "$SF" --db "$MDB" --mapping "$MAP" --describe "$ORG" --size "$n" --seed 1 \
        --objects Account --manifest "$OUT/m.csv" >"$OUT/gen.out" 2>&1 || { cat "$OUT/gen.out"; exit 3; }
    row "generate $n Accounts (sfemu load + mirror COPY)" "$(since "$t")" "s"
    row "  of which sfemu /__emu/load of $n Accounts" "$(sed -n 's/.*sfemu \([0-9.]*\) s).*/\1/p' "$OUT/gen.out")" "s"
    psql -q "$MDB" -c "DROP INDEX salesforce.sfrecon_idx_account_sfid_c" -c "VACUUM ANALYZE salesforce.account" >/dev/null
    DATABASE_URL="$MDB" "$B/sfrbench" stream pg Account >"$OUT/s" 2>&1 && \
        row "stream+hash from Postgres, $n rows" "$(awk '{print $2}' "$OUT/s")" "rows/s"
    "$B/sfrbench" stream bulk Account >"$OUT/s" 2>&1 && \
        row "stream+hash Bulk API 2.0 (sfemu), $n rows" "$(awk '{print $2}' "$OUT/s")" "rows/s, $(sed -n 's/.*, \([0-9]*\) API calls.*/\1/p' "$OUT/s") calls"
    "$B/sfrbench" stream bulkscan Account >"$OUT/s" 2>&1 && \
        row "  any order, result pages in ${SF_BULK_STREAMS:-4} streams, $n rows" "$(awk '{print $2}' "$OUT/s")" "rows/s, $(sed -n 's/.*, \([0-9]*\) API calls.*/\1/p' "$OUT/s") calls"
    "$B/sfrbench" stream rest Account >"$OUT/s" 2>&1 && \
        row "stream+hash REST query paging (sfemu), $n rows" "$(awk '{print $2}' "$OUT/s")" "rows/s, $(sed -n 's/.*, \([0-9]*\) API calls.*/\1/p' "$OUT/s") calls, $(sed -n 's/.*(\([0-9]*\) rows in.*/\1/p' "$OUT/s") rows, $(sed -n 's/.*, \([0-9]*\) out of order.*/\1/p' "$OUT/s") out of Id order"
    t=$(now)
    DATABASE_URL="$MDB" "$B/sfrecon" audit -c "$MAP" -o Account >/dev/null 2>"$OUT/a.err"
    row "full content audit SF<->PG, $n rows (clean)" "$(since "$t")" "s, $(calls "$OUT/a.err") calls, peak RSS $(rss "$OUT/a.err") MB"
    t=$(now)
    DATABASE_URL="$MDB" "$B/sfrecon" audit -c "$MAP" -o Account --since last >/dev/null 2>"$OUT/i.err"
    row "incremental re-run, unchanged, $n rows" "$(since "$t")" "s, $(calls "$OUT/i.err") calls"
    # 100 differing rows: Postgres <-> Postgres and Salesforce <-> Postgres,
    # on Connect's indexes and with a byte-order index added
    CDB=$(tmpl "copy_$n" "mirror_$n")
    psql -q "$CDB" -c "UPDATE salesforce.account SET name = name || '!' WHERE id % ($n / 100) = 0" >/dev/null
    t=$(now)
    DATABASE_URL="$MDB" "$B/sfrecon" audit -c "$MAP" -o Account --source "$CDB" --no-store >/dev/null 2>"$OUT/p.err"
    row "audit PG<->PG, $n rows, 100 differing" "$(since "$t")" "s, peak RSS $(rss "$OUT/p.err") MB"
    t=$(now)
    DATABASE_URL="$CDB" "$B/sfrecon" audit -c "$MAP" -o Account --no-store >/dev/null 2>"$OUT/d.err"
    row "content audit SF<->PG, $n rows, 100 differing" "$(since "$t")" "s, $(calls "$OUT/d.err") calls, peak RSS $(rss "$OUT/d.err") MB"
    # an older Connect table: sfid in the database's default collation, so
    # Connect's index does not serve byte-order ranges and the single pass runs
    ODB=$(tmpl "copy_o_$n" "copy_$n")
    psql -q "$ODB" -c 'ALTER TABLE salesforce.account ALTER COLUMN sfid TYPE varchar(18) COLLATE "default"' -c "VACUUM ANALYZE salesforce.account" >/dev/null
    t=$(now)
    DATABASE_URL="$ODB" "$B/sfrecon" audit -c "$MAP" -o Account --no-store >/dev/null 2>"$OUT/o.err"
    row "  sfid in $LOCNOTE: content audit SF<->PG (single pass)" "$(since "$t")" "s, $(calls "$OUT/o.err") calls, peak RSS $(rss "$OUT/o.err") MB"
    psql -q "$CLUSTER" -c "DROP DATABASE copy_o_$n" >/dev/null
    MCI=$(tmpl "mirror_c_$n" "mirror_$n")
    CCI=$(tmpl "copy_c_$n" "copy_$n")
    cidx "$MCI"
    cidx "$CCI"
    t=$(now)
    DATABASE_URL="$MCI" "$B/sfrecon" audit -c "$MAP" -o Account --source "$CCI" --no-store >/dev/null 2>"$OUT/q.err"
    row "  C-index: audit PG<->PG, $n rows, 100 differing" "$(since "$t")" "s, peak RSS $(rss "$OUT/q.err") MB"
    t=$(now)
    DATABASE_URL="$CCI" "$B/sfrecon" audit -c "$MAP" -o Account --no-store >/dev/null 2>"$OUT/e.err"
    row "  C-index: content audit SF<->PG, $n rows, 100 differing" "$(since "$t")" "s, $(calls "$OUT/e.err") calls, peak RSS $(rss "$OUT/e.err") MB"
    psql -q "$CLUSTER" -c "DROP DATABASE mirror_c_$n" -c "DROP DATABASE copy_c_$n" -c "DROP DATABASE copy_$n" >/dev/null
    for k in 1 100 10000; do
        [ "$k" -ge "$n" ] && continue
        psql -q "$CLUSTER" -c "DROP DATABASE IF EXISTS mm_$n" -c "CREATE DATABASE mm_$n TEMPLATE mirror_$n" >/dev/null
        XDB=$(url "mm_$n")
        psql -q "$XDB" -c "DELETE FROM salesforce.account WHERE id IN (SELECT id FROM salesforce.account ORDER BY md5(id::text) LIMIT $k)" >/dev/null
        for d in content count; do
            t=$(now)
            DATABASE_URL="$XDB" "$B/sfrecon" audit -c "$MAP" -o Account --depth $d --no-store >/dev/null 2>"$OUT/x.err"
            row "$d audit, $n rows, $k missing in mirror" "$(since "$t")" "s, $(calls "$OUT/x.err") calls"
        done
    done
    for k in 1000 10000; do
        [ "$k" -ge "$n" ] && continue
        psql -q "$CLUSTER" -c "DROP DATABASE IF EXISTS rp_$n" -c "CREATE DATABASE rp_$n TEMPLATE mirror_$n" >/dev/null
        RDB=$(url "rp_$n")
        psql -q "$RDB" -c "UPDATE salesforce.account SET name = left(name, 3) WHERE id IN (SELECT id FROM salesforce.account ORDER BY md5(id::text) LIMIT $k)" >/dev/null
        DATABASE_URL="$RDB" "$B/sfrecon" audit -c "$MAP" -o Account >/dev/null 2>&1
        t=$(now)
        DATABASE_URL="$RDB" "$B/sfrecon" repair -c "$MAP" --run latest --yes >"$OUT/r.out" 2>"$OUT/r.err"
        code=$?
        row "repair $k broken mirror rows (journaled, re-verified)" "$(since "$t")" \
            "s, $(sed -n 's/.*; \([0-9]*\) API calls.*/\1/p' "$OUT/r.out") calls, exit $code"
    done
    # a night's changes: 100 records edited in Salesforce, one mirror row
    # edited behind Connect's back (systemmodstamp untouched)
    TOK=$(token)
    for id in $(psql -Atq "$MDB" -c "SELECT sfid FROM salesforce.account WHERE id % ($n / 100) = 1 LIMIT 100"); do
        curl -s -o /dev/null -X PATCH -H "Authorization: Bearer $TOK" -H 'Content-Type: application/json' \
            -d '{"Name":"Changed tonight"}' "$SF/services/data/v60.0/sobjects/Account/$id"
    done
    psql -q "$MDB" -c "SET xmlbinary = 'hex'" \
        -c "UPDATE salesforce.account SET name = name || ' (script)' WHERE id = (SELECT min(id) + 7 FROM salesforce.account)" >/dev/null
    t=$(now)
    DATABASE_URL="$MDB" "$B/sfrecon" audit -c "$MAP" -o Account --since last --format csv >"$OUT/i2.csv" 2>"$OUT/i2.err"
    row "incremental after 100 Salesforce edits + 1 mirror-only edit" "$(since "$t")" \
        "s, $(calls "$OUT/i2.err") calls, $(grep ',Account,' "$OUT/i2.csv" | cut -d, -f3 | sort -u | wc -l) found, peak RSS $(rss "$OUT/i2.err") MB"
    t=$(now)
    DATABASE_URL="$MDB" "$B/sfrecon" audit -c "$MAP" -o Account --since last >/dev/null 2>"$OUT/i3.err"
    row "  and the next night, nothing new (101 still open)" "$(since "$t")" "s, $(calls "$OUT/i3.err") calls"
    t=$(now)
    DATABASE_URL="$MDB" "$B/sfrecon" audit -c "$MAP" -o Account --no-store >/dev/null 2>"$OUT/i4.err"
    row "  full audit of the same" "$(since "$t")" "s, $(calls "$OUT/i4.err") calls"
    # the whole mirror against an empty org: n missing_in_sf, memory bounded
    curl -s -X POST "$SF/__emu/reset" >/dev/null
    t=$(now)
    DATABASE_URL="$MDB" "$B/sfrecon" audit -c "$MAP" -o Account --no-store --format csv --out "$OUT/e.csv" 2>"$OUT/e.err"
    row "audit of $n mirror rows against an empty org" "$(since "$t")" \
        "s, $(grep -c ',missing_in_sf,' "$OUT/e.csv") missing_in_sf, $(calls "$OUT/e.err") calls, peak RSS $(rss "$OUT/e.err") MB"
done

# Postgres <-> Postgres scaling on Connect's layout: BENCH_PGPG_SIZES rows
# (default 1M and 10M) written straight into the mirror's table (no sfemu),
# a copy with 100 rows changed, audited with only Connect's index and with a
# byte-order index added.
for n in ${BENCH_PGPG_SIZES:-1000000 10000000}; do
    PDB=$(mkdb "pgpg_$n" "$LOCALE")
    curl -s -X POST "$SF/__emu/reset" >/dev/null
    "$B/orggen" --sf "$SF" --db "$PDB" --mapping "$MAP" --describe "$ORG" --size 10 --seed 1 \
        --objects Account --manifest "$OUT/p.csv" >"$OUT/gen.out" 2>&1 || { cat "$OUT/gen.out"; exit 3; }
    psql -q "$PDB" -c "DROP INDEX IF EXISTS salesforce.sfrecon_idx_account_sfid_c" \
        -c "SET xmlbinary = 'hex'" \
        -c "INSERT INTO salesforce.account (sfid, name, accountnumber, industry, rating, annualrevenue,
                numberofemployees, website, phone, systemmodstamp, createddate, isdeleted)
            SELECT '001Z' || lpad(to_hex(g), 11, '0') || 'IAA', 'Account ' || g, 'AN' || g,
                'Energy', 'Hot', g * 10.5, g % 5000, 'https://example.com/' || g,
                '+1 555 ' || g, timestamp '2024-01-01' + g * interval '1 second',
                timestamp '2023-01-01', false
            FROM generate_series(1, $n) g" \
        -c "VACUUM ANALYZE salesforce.account" >/dev/null || exit 3
    P2=$(tmpl "pgpg2_$n" "pgpg_$n")
    psql -q "$P2" -c "SET xmlbinary = 'hex'" \
        -c "UPDATE salesforce.account SET name = name || '!' WHERE id % ($n / 100) = 0" >/dev/null
    t=$(now)
    DATABASE_URL="$PDB" "$B/sfrecon" audit -c "$MAP" -o Account --source "$P2" --no-store \
        --format csv >"$OUT/pp.csv" 2>"$OUT/pp.err"
    row "PG<->PG, $n rows, 100 differing (Connect's index only)" "$(since "$t")" \
        "s, $(grep ',Account,' "$OUT/pp.csv" | cut -d, -f3 | sort -u | wc -l) found, peak RSS $(rss "$OUT/pp.err") MB"
    cidx "$PDB"
    cidx "$P2"
    t=$(now)
    DATABASE_URL="$PDB" "$B/sfrecon" audit -c "$MAP" -o Account --source "$P2" --no-store >/dev/null 2>"$OUT/pq.err"
    row "  C-index: PG<->PG, $n rows, 100 differing" "$(since "$t")" "s, peak RSS $(rss "$OUT/pq.err") MB"
    psql -q "$CLUSTER" -c "DROP DATABASE pgpg_$n" -c "DROP DATABASE pgpg2_$n" >/dev/null
done

# The HTML report of 100k discrepancies: a mirror of 100k Accounts where half
# the rows hold another Name (field_mismatch), a quarter a cut Description
# (truncation) and a quarter are gone (missing_in_pg); audited and stored,
# then written as HTML and rendered in headless Chromium (load + layout +
# script, then a screenshot of the first screen).
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ "${BENCH_HTML:-1}" = 1 ]; then
    [ -n "$CHROMIUM" ] || echo "bench: chromium not installed (scripts/deps.sh): no render times" >&2
    HDB=$(mkdb html_100k)
    curl -s -X POST "$SF/__emu/reset" >/dev/null
    "$B/orggen" --sf "$SF" --db "$HDB" --mapping "$MAP" --describe "$ORG" --size 100000 \
        --seed 1 --objects Account --manifest "$OUT/h.csv" >"$OUT/gen.out" 2>&1 || { cat "$OUT/gen.out"; exit 3; }
    psql -q "$HDB" -c "SET xmlbinary = 'hex'" \
        -c "UPDATE salesforce.account SET name = name || ' (edited by an app)' WHERE id % 2 = 0" \
        -c "UPDATE salesforce.account SET description = left(description, 7) WHERE id % 4 = 1 AND length(description) > 8" \
        -c "DELETE FROM salesforce.account WHERE id % 4 = 3" >/dev/null
    t=$(now)
    DATABASE_URL="$HDB" "$B/sfrecon" audit -c "$MAP" -o Account >/dev/null 2>"$OUT/h.err"
    nd=$(psql -Atq "$HDB" -c "SELECT n_discrepancies FROM sfrecon.audit_run ORDER BY id DESC LIMIT 1")
    row "audit with $nd discrepancies, 100000 rows (stored)" "$(since "$t")" "s, peak RSS $(rss "$OUT/h.err") MB"
    t=$(now)
    DATABASE_URL="$HDB" "$B/sfrecon" report --format json --out "$OUT/h.json" >/dev/null 2>&1
    row "report --format json, $nd discrepancies" "$(since "$t")" "s, $(du -m "$OUT/h.json" | cut -f1) MB file"
    chrome() {
        timeout 900 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
            --disable-background-networking --disable-component-update --disable-sync \
            --user-data-dir="$(mktemp -d "$OUT/chrome.XXXXXX")" "$@" 2>/dev/null
    }
    for rows in 1000 0; do
        t=$(now)
        DATABASE_URL="$HDB" "$B/sfrecon" report --format html --html-rows $rows --out "$OUT/h$rows.html" >/dev/null 2>&1
        row "report --format html --html-rows $rows, $nd discrepancies" "$(since "$t")" \
            "s, $(du -k "$OUT/h$rows.html" | awk '{printf "%.1f", $1 / 1024}') MB file"
        [ -n "$CHROMIUM" ] || continue
        t=$(now)
        chrome --dump-dom "file://$OUT/h$rows.html" >/dev/null
        row "  headless Chromium: load, run the filters, serialise the DOM" "$(since "$t")" "s (--dump-dom)"
        t=$(now)
        chrome --screenshot="$OUT/h$rows.png" --window-size=1280,1600 "file://$OUT/h$rows.html"
        row "  headless Chromium: first screen painted" "$(since "$t")" "s (--screenshot)"
    done
    if [ -n "$CHROMIUM" ]; then
        t=$(now)
        chrome --screenshot="$OUT/blank.png" --window-size=1280,1600 "data:text/html,<p>x</p>"
        row "  headless Chromium start + paint of an empty page" "$(since "$t")" "s (the fixed cost above)"
    fi
fi

# Sync with change events (CometD). The daemon runs with --interval 300 on an
# org whose mirror has Heroku Connect's triggers: Salesforce -> mirror goes
# through change events, mirror -> Salesforce through the trigger's NOTIFY.
# Latencies come from `sfrbench synclat` (p50/p99, see tests/bench/synclat.c).
SDB=$(mkdb sync_bench)
curl -s -X POST "$SF/__emu/reset" >/dev/null
"$B/orggen" --sf "$SF" --db "$SDB" --mapping "$MAP" --describe "$ORG" --size 1000 --seed 3 \
    --manifest "$OUT/s.csv" --triggers >"$OUT/gen.out" 2>&1 || { cat "$OUT/gen.out"; exit 3; }
DATABASE_URL="$SDB" "$B/sfrecon" sync -c "$MAP" --once >/dev/null 2>&1
TOK=$(token)
start_sync() { # start_sync ARGS: the daemon, waiting until every channel has a position
    DATABASE_URL="$SDB" "$B/sfrecon" sync -c "$MAP" "$@" >/dev/null 2>>"$OUT/sync.err" &
    SYNC_PID=$!
    PIDS="$SYNC_PID $PIDS"
    case " $* " in *" --no-stream "*) sleep 2; return ;; esac
    i=0
    while [ "$(psql -Atq "$SDB" -c "SELECT count(*) FROM sfrecon.sync_cursor WHERE direction = 'replay'")" -lt 7 ]; do
        i=$((i + 1)); [ $i -gt 600 ] && break; sleep 0.1
    done
}
stop_sync() { kill "$SYNC_PID" 2>/dev/null; wait "$SYNC_PID" 2>/dev/null; }
queries() { curl -s "$SF/__emu/counters" | sed -n 's/.*"query":\([0-9]*\).*/\1/p'; }
start_sync --interval 300
for rate in 100 20; do
    "$B/sfrbench" synclat "$SF" "$TOK" "$SDB" "$rate" "${BENCH_SYNC_SECONDS:-20}" >"$OUT/lat" 2>&1
    pull=$(sed -n 's/^sf->mirror.* p50 \([0-9]*\) p99 \([0-9]*\) max \([0-9]*\) ms (\(.*\))$/\1 \2 \3 \4/p' "$OUT/lat")
    push=$(sed -n 's/^mirror->sf.* p50 \([0-9]*\) p99 \([0-9]*\) max \([0-9]*\) ms (\(.*\))$/\1 \2 \3 \4/p' "$OUT/lat")
    set -- $pull
    row "sync Salesforce -> mirror, change events, $rate changes/s" "${1:-?}/${2:-?}" "ms p50/p99, max ${3:-?}; ${4:-} ${5:-} ${6:-} ${7:-}"
    set -- $push
    row "sync mirror -> Salesforce, app UPDATE + NOTIFY, 10/s" "${1:-?}/${2:-?}" "ms p50/p99, max ${3:-?}; ${4:-} ${5:-} ${6:-} ${7:-}"
done
# Idle cost: REST query calls while nothing changes, over IDLE seconds, scaled
# to an hour linearly (the daemon's calls come from timers only: none while
# streaming; one queryAll + one /deleted per object per interval polling).
IDLE=${BENCH_IDLE_SECONDS:-60}
curl -s -X POST "$SF/__emu/counters/reset" >/dev/null
sleep "$IDLE"
q=$(queries)
row "REST query calls, idle daemon streaming, ${IDLE} s" "$q" "calls; x$((3600 / IDLE)) = $((q * 3600 / IDLE)) per idle hour (linear scaling)"
stop_sync
start_sync --interval 10 --no-stream
curl -s -X POST "$SF/__emu/counters/reset" >/dev/null
sleep "$IDLE"
q=$(queries)
row "REST query calls, idle daemon --no-stream --interval 10, ${IDLE} s" "$q" "calls; $((q * 3600 / IDLE)) per idle hour (linear scaling)"
stop_sync

# Soak: SOAK seconds of Salesforce writes (5/s) and app writes (2/s) while
# sfemu fails every 50th request with 503, drops every 70th connection and
# expires the token every 200th, and the daemon is SIGKILLed and restarted
# every KILL seconds; then the faults stop, the daemon settles, and a full
# audit must come back clean with no duplicate rows.
SOAK=${BENCH_SOAK_SECONDS:-120}
KILL=${BENCH_KILL_SECONDS:-30}
curl -s -X POST -H 'Content-Type: application/json' \
    -d '{"fail_every":50,"drop_every":70,"expire_every":200}' "$SF/__emu/fault" >/dev/null
start_sync --interval 10
t0=$(date +%s); last_kill=$t0; kills=0; k=0
while [ $(( $(date +%s) - t0 )) -lt "$SOAK" ]; do
    k=$((k + 1))
    id=$(psql -Atq "$SDB" -c "SELECT sfid FROM salesforce.account ORDER BY sfid LIMIT 1 OFFSET $((k % 500))")
    curl -s -o /dev/null -X PATCH -H "Authorization: Bearer $TOK" -H 'Content-Type: application/json' \
        -d "{\"Name\":\"soak sf $k\"}" "$SF/services/data/v60.0/sobjects/Account/$id"
    [ $((k % 3)) -eq 0 ] && psql -q "$SDB" -c "UPDATE salesforce.contact SET description = 'soak app $k'
        WHERE id = (SELECT id FROM salesforce.contact ORDER BY id LIMIT 1 OFFSET $((k % 300)))"
    [ $((k % 25)) -eq 0 ] && psql -q "$SDB" -c "INSERT INTO salesforce.account (name, external_id__c)
        VALUES ('soak insert $k', 'soak-$k')"
    if [ $(( $(date +%s) - last_kill )) -ge "$KILL" ]; then
        kill -9 "$SYNC_PID" 2>/dev/null; wait "$SYNC_PID" 2>/dev/null
        kills=$((kills + 1)); last_kill=$(date +%s)
        start_sync --interval 10
    fi
    sleep 0.2
done
curl -s -X POST -H 'Content-Type: application/json' -d '{}' "$SF/__emu/fault" >/dev/null
sleep 15
stop_sync
DATABASE_URL="$SDB" "$B/sfrecon" sync -c "$MAP" --once >/dev/null 2>"$OUT/settle.err"
DATABASE_URL="$SDB" "$B/sfrecon" audit -c "$MAP" --no-store >"$OUT/soak.audit" 2>&1
disc=$(grep -o '[0-9][0-9]* discrepanc' "$OUT/soak.audit" | tail -n 1 | cut -d' ' -f1)
[ -n "$disc" ] || { echo "soak audit:"; cat "$OUT/soak.audit"; }
dups=$(psql -Atq "$SDB" -c "SELECT count(*) FROM (SELECT sfid FROM salesforce.account WHERE sfid IS NOT NULL
    GROUP BY sfid HAVING count(*) > 1) d")
TOK=$(token)
sfdup=$(curl -s -G -H "Authorization: Bearer $TOK" "$SF/services/data/v60.0/query" \
    --data-urlencode "q=SELECT External_Id__c, COUNT(Id) n FROM Account WHERE External_Id__c LIKE 'soak-%' GROUP BY External_Id__c HAVING COUNT(Id) > 1" |
    sed -n 's/.*"totalSize":\([0-9]*\).*/\1/p')
inserted=$(psql -Atq "$SDB" -c "SELECT count(*) FROM salesforce.account WHERE external_id__c LIKE 'soak-%' AND sfid IS NOT NULL")
left=$(psql -Atq "$SDB" -c "SELECT count(*) FROM salesforce._trigger_log WHERE state IN ('NEW','PENDING','FAILED')")
row "soak ${SOAK} s: faults + SIGKILL every ${KILL} s ($kills kills), $k SF writes" "${disc:-?}" "discrepancies after; ${dups:-?} duplicate mirror rows, ${inserted:-?} app inserts in SF, ${sfdup:-?} of them twice, ${left:-?} log entries not SUCCESS"
