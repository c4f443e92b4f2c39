#!/bin/sh
# make soak: a soak run of `sfrecon sync`, not a test (never part of make
# check). Against sfemu and a throwaway Postgres (scripts/pgtest.sh) holding a
# generated org in Heroku Connect's layout with its triggers, the daemon
# syncs for SOAK_SECONDS (default 600) while
#   - a load writes on both sides: Salesforce updates and creates (REST), app
#     updates and inserts in the mirror (through Connect's triggers), creates
#     always with a fresh External_Id__c and a fresh name;
#   - faults come and go through sfemu's admin API: periodic 503s
#     (fail_every), dropped connections (drop_every) and session expiry
#     (expire_every), switched every SOAK_FAULT_SECONDS (default 20);
#   - the daemon is SIGKILLed every SOAK_KILL_SECONDS (default 60) and
#     started again.
# Then the faults stop, `sync --once` runs until a cycle has nothing left
# to do, and the run must end clean: an audit with 0 discrepancies, no
# trigger-log entry left NEW, PENDING or FAILED, and no record twice (the
# same External_Id__c or Name twice among live Salesforce records, the same
# sfid or External_Id__c twice in the mirror). Prints a table of figures;
# exits 0 when clean, 1 when not (saying what), 3 when it could not run.
# SOAK_SIZE: records of the generated org (default 300). SOAK_KEEP=1 keeps
# the work directory (logs) and says where.
set -u
export PGOPTIONS="--client-min-messages=warning"
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 3
B=${BUILD:-build}
SECONDS_TOTAL=${SOAK_SECONDS:-600}
KILL_EVERY=${SOAK_KILL_SECONDS:-60}
FAULT_EVERY=${SOAK_FAULT_SECONDS:-20}
SIZE=${SOAK_SIZE:-300}
MAP=tests/data/mapping-sample.json
ORG=tests/sfemu/org/sample-org.json
for b in sfrecon sfemu orggen; do
    [ -x "$B/$b" ] || { echo "soak: $B/$b missing (make all)" >&2; exit 3; }
done
W=$(mktemp -d /tmp/sfrsoak.XXXXXX)
eval "$(sh scripts/pgtest.sh start)" || exit 3
PIDS=""
DPID=""
cleanup() {
    [ -n "$DPID" ] && kill -KILL "$DPID" 2>/dev/null
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    for p in $PIDS; do wait "$p" 2>/dev/null; done
    sh scripts/pgtest.sh stop "$PGTEST_DIR"
    if [ "${SOAK_KEEP:-0}" = 1 ]; then echo "soak: logs kept in $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
CLUSTER=$DATABASE_URL
url() { echo "$CLUSTER" | sed "s|/postgres?|/$1?|"; }
mkdb() { psql -q "$CLUSTER" -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null && url "$1"; }
now() { date +%s; }
rnd() { od -An -N4 -tu4 /dev/urandom | tr -d ' '; }

STORE=$(mkdb soak_sfemu) || exit 3
DB=$(mkdb soak_mirror) || exit 3
"$B/sfemu" --port 0 --store "$STORE" --admin --daily-limit 100000000 >"$W/emu.out" 2>"$W/emu.err" &
PIDS="$PIDS $!"
i=0
while ! grep -q "listening on" "$W/emu.out"; do
    i=$((i + 1)); [ $i -gt 300 ] && { cat "$W/emu.err" >&2; exit 3; }; sleep 0.1
done
SF=$(sed -n 's/^listening on //p' "$W/emu.out" | head -n 1)
export SF_LOGIN_URL="$SF" SF_USERNAME=admin@example.com SF_PASSWORD=password \
    SF_CLIENT_ID=soak SF_CLIENT_SECRET=soak SF_RETRY_BASE_MS=50 SF_BULK_POLL_MS=50 \
    DATABASE_URL="$DB"
"$B/orggen" --sf "$SF" --db "$DB" --mapping "$MAP" --describe "$ORG" --size "$SIZE" --seed 11 \
    --manifest "$W/manifest.csv" --triggers >"$W/gen.out" 2>&1 || { cat "$W/gen.out" >&2; exit 3; }
API="$SF/services/data/v60.0"
emu() { psql -Atq "$STORE" -c "$1"; }
db() { psql -Atq "$DB" -c "$1"; }
fault() { curl -s -o /dev/null -X POST -H 'Content-Type: application/json' -d "$1" "$SF/__emu/fault"; }
counter() { curl -s "$SF/__emu/counters" | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" | head -n 1; }

# ---- the daemon ----------------------------------------------------------------
RSS_MAX=0
start_daemon() {
    "$B/sfrecon" sync -c "$MAP" --interval 5 --audit-every off >>"$W/daemon.out" 2>>"$W/daemon.err" &
    DPID=$!
}
note_rss() {
    r=$(awk '/^VmHWM:/ {print $2}' "/proc/$DPID/status" 2>/dev/null)
    [ -n "$r" ] && [ "$r" -gt "$RSS_MAX" ] && RSS_MAX=$r
}

# ---- the load: one write a step on a random side -------------------------------
load() {
    n=0
    tok=""
    okf="$W/load.ok"
    : >"$okf"
    while [ ! -f "$W/stop" ]; do
        n=$((n + 1))
        [ -n "$tok" ] || tok=$(curl -s -m 10 -X POST "$SF/services/oauth2/token" \
            -d grant_type=password -d client_id=x -d client_secret=y \
            -d username=admin@example.com -d password=password |
            sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
        r=$(( $(rnd) % 8 ))
        case $r in
        0 | 1) # Salesforce: an Account update
            id=$(emu "SELECT id FROM sfemu.account WHERE NOT isdeleted ORDER BY random() LIMIT 1")
            code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -X PATCH \
                -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
                -d "{\"Phone\":\"555-$n\",\"Description\":\"sf $n\"}" "$API/sobjects/Account/$id")
            side=sf ;;
        2) # Salesforce: a Contact update
            id=$(emu "SELECT id FROM sfemu.contact WHERE NOT isdeleted ORDER BY random() LIMIT 1")
            code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -X PATCH \
                -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
                -d "{\"Description\":\"sf $n\"}" "$API/sobjects/Contact/$id")
            side=sf ;;
        3) # Salesforce: a new Account, fresh external Id and name
            code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -X POST \
                -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
                -d "{\"Name\":\"Soak SF $n\",\"External_Id__c\":\"S-$n\",\"Industry\":\"Energy\"}" \
                "$API/sobjects/Account")
            side=sf ;;
        4 | 5) # the app: an Account update
            db "UPDATE salesforce.account SET phone = '555-$n', description = 'app $n'
                WHERE id = (SELECT id FROM salesforce.account WHERE sfid IS NOT NULL
                            ORDER BY random() LIMIT 1)" >/dev/null && code=204 || code=0
            side=pg ;;
        6) # the app: a Contact update
            db "UPDATE salesforce.contact SET description = 'app $n'
                WHERE id = (SELECT id FROM salesforce.contact WHERE sfid IS NOT NULL
                            ORDER BY random() LIMIT 1)" >/dev/null && code=204 || code=0
            side=pg ;;
        *) # the app: a new Account, fresh external Id and name
            db "INSERT INTO salesforce.account (name, external_id__c, industry)
                VALUES ('Soak PG $n', 'P-$n', 'Banking')" >/dev/null && code=201 || code=0
            side=pg ;;
        esac
        case $code in
        2??) echo "$side ok" >>"$okf" ;;
        401) tok=""; echo "$side refused" >>"$okf" ;;
        *) echo "$side refused" >>"$okf" ;;
        esac
        sleep 0.2
    done
}

# ---- faults: on and off by turns ------------------------------------------------
faults() {
    k=0
    while [ ! -f "$W/stop" ]; do
        k=$((k + 1))
        case $((k % 4)) in
        1) fault '{"fail_every":9}' ;;
        2) fault '{"drop_every":13,"expire_every":40}' ;;
        3) fault '{"fail_every":11,"drop_every":17,"expire_every":60}' ;;
        *) fault '{}' ;;
        esac
        echo "$k" >"$W/fault.phases"
        s=0
        while [ $s -lt "$FAULT_EVERY" ] && [ ! -f "$W/stop" ]; do sleep 1; s=$((s + 1)); done
    done
    fault '{}'
}

T0=$(now)
start_daemon
load &
LPID=$!
PIDS="$PIDS $LPID"
faults &
FPID=$!
PIDS="$PIDS $FPID"
KILLS=0
last_kill=$T0
while [ $(( $(now) - T0 )) -lt "$SECONDS_TOTAL" ]; do
    sleep 1
    note_rss
    if ! kill -0 "$DPID" 2>/dev/null; then # it exited by itself: say so, start it again
        echo "soak: the daemon exited by itself at $(( $(now) - T0 )) s" >>"$W/events"
        start_daemon
    fi
    if [ $(( $(now) - last_kill )) -ge "$KILL_EVERY" ]; then
        kill -KILL "$DPID" 2>/dev/null
        wait "$DPID" 2>/dev/null
        KILLS=$((KILLS + 1))
        last_kill=$(now)
        start_daemon
    fi
done
touch "$W/stop"
wait "$LPID" "$FPID" 2>/dev/null
PIDS=""
fault '{}'
note_rss
kill -TERM "$DPID" 2>/dev/null
wait "$DPID"
DRC=$?
DPID=""
T1=$(now)

# ---- settle: --once until a cycle has nothing left to do ------------------------
PASSES=0
while [ $PASSES -lt 6 ]; do
    PASSES=$((PASSES + 1))
    "$B/sfrecon" sync -c "$MAP" --once >"$W/once.out" 2>"$W/once.$PASSES.err"
    ORC=$?
    grep -q "pulled 0, deleted 0, pushed 0, failed 0, ignored 0, conflicts 0" "$W/once.$PASSES.err" &&
        [ $ORC -eq 0 ] && break
done
"$B/sfrecon" audit -c "$MAP" --no-store >"$W/audit.out" 2>"$W/audit.err"
ARC=$?
DISC=$(sed -n 's/^\([0-9]*\) discrepanc.*/\1/p' "$W/audit.out" | tail -n 1)

# ---- figures -----------------------------------------------------------------
sumlog() { # sumlog WORD: the sum of "WORD N" over the daemon's cycle lines
    grep -ho "$1 [0-9]*" "$W/daemon.err" "$W"/once.*.err 2>/dev/null | awk '{s += $2} END {print s + 0}'
}
cnt() { cat "$2" 2>/dev/null | grep -c "$1"; }
SF_OK=$(cnt "^sf ok" "$W/load.ok"); SF_ALL=$(cnt "^sf" "$W/load.ok")
PG_OK=$(cnt "^pg ok" "$W/load.ok"); PG_ALL=$(cnt "^pg" "$W/load.ok")
BACKLOG=$(db "SELECT count(*) FROM salesforce._trigger_log WHERE state IN ('NEW', 'PENDING')")
FAILED=$(db "SELECT count(*) FROM salesforce._trigger_log WHERE state = 'FAILED'")
D_SF_EXT=$(emu "SELECT count(*) FROM (SELECT 1 FROM sfemu.account WHERE NOT isdeleted
    AND external_id__c IS NOT NULL GROUP BY external_id__c HAVING count(*) > 1) d")
D_SF_NAME=$(emu "SELECT count(*) FROM (SELECT 1 FROM sfemu.account WHERE NOT isdeleted
    AND name LIKE 'Soak %' GROUP BY name HAVING count(*) > 1) d")
D_SF_CEXT=$(emu "SELECT count(*) FROM (SELECT 1 FROM sfemu.contact WHERE NOT isdeleted
    AND external_id__c IS NOT NULL GROUP BY external_id__c HAVING count(*) > 1) d")
D_PG_SFID=$(db "SELECT count(*) FROM (SELECT 1 FROM salesforce.account WHERE sfid IS NOT NULL
    GROUP BY sfid HAVING count(*) > 1) d")
D_PG_EXT=$(db "SELECT count(*) FROM (SELECT 1 FROM salesforce.account
    WHERE external_id__c IS NOT NULL GROUP BY external_id__c HAVING count(*) > 1) d")
SOAK_ROWS=$(emu "SELECT count(*) FROM sfemu.account WHERE NOT isdeleted AND name LIKE 'Soak %'")
MIRROR_SOAK=$(db "SELECT count(*) FROM salesforce.account WHERE name LIKE 'Soak %'")
row() { printf '%-62s %s\n' "$1" "$2"; }
echo "sfrecon soak — $(uname -m), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ); org of $SIZE records, sample mapping"
row "soak time (load, faults, kills)" "$((T1 - T0)) s"
row "load writes to Salesforce (accepted / tried)" "$SF_OK / $SF_ALL"
row "load writes by the app (accepted / tried)" "$PG_OK / $PG_ALL"
row "Soak accounts live in Salesforce / in the mirror" "$SOAK_ROWS / $MIRROR_SOAK"
row "daemon SIGKILLs (and restarts)" "$KILLS"
row "daemon exits by itself" "$(cnt "exited by itself" "$W/events")"
row "faults served: 503 / dropped / token expired" \
    "$(counter fail) / $(counter drop) / $(counter expire)"
row "API calls served by sfemu" "$(counter total)"
row "sync cycles logged" "$(cnt "sync cycle" "$W/daemon.err")"
row "records pulled / pushed (daemon + settle)" "$(sumlog pulled) / $(sumlog pushed)"
row "conflicts / failed writes logged" "$(sumlog conflicts) / $(sumlog failed)"
row "creates of unknown outcome settled by external Id" "$(cnt "create of unknown outcome settled" "$W/daemon.err")"
row "daemon peak RSS" "$((RSS_MAX / 1024)) MB"
row "daemon exit on the last SIGTERM" "$DRC"
row "settle passes of sync --once (last exit)" "$PASSES ($ORC)"
row "trigger log left NEW/PENDING / FAILED" "$BACKLOG / $FAILED"
row "final audit discrepancies (exit)" "${DISC:-?} ($ARC)"
row "duplicates in Salesforce: Account ext Id / name, Contact ext Id" "$D_SF_EXT / $D_SF_NAME / $D_SF_CEXT"
row "duplicates in the mirror: Account sfid / ext Id" "$D_PG_SFID / $D_PG_EXT"

bad=""
[ "$ARC" -eq 0 ] && [ "${DISC:-1}" = 0 ] || bad="$bad audit"
[ "$BACKLOG" = 0 ] && [ "$FAILED" = 0 ] || bad="$bad trigger-log"
[ "$D_SF_EXT$D_SF_NAME$D_SF_CEXT$D_PG_SFID$D_PG_EXT" = 00000 ] || bad="$bad duplicates"
[ "$SOAK_ROWS" = "$MIRROR_SOAK" ] || bad="$bad soak-rows"
[ "$DRC" -eq 0 ] || bad="$bad daemon-exit"
if [ -n "$bad" ]; then
    echo "soak: NOT clean:$bad"
    sed -n '1,40p' "$W/audit.out"
    grep -h "warning\|error" "$W/daemon.err" | sort | uniq -c | sort -rn | head -n 20
    SOAK_KEEP=1
    exit 1
fi
echo "soak: clean"
