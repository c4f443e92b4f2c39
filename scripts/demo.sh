#!/bin/sh
# demo.sh — `make demo`: sfrecon end to end on a throwaway setup, explained
# step by step for a newcomer. Starts a private Postgres cluster and the
# Salesforce emulator (sfemu), generates a sample org and a Heroku Connect
# mirror that has drifted in every known way, audits it, repairs it, audits
# again, and always stops everything it started. Takes well under two minutes.
#   BUILD=build sh scripts/demo.sh [--size N] [--seed S]
# Credentials of the emulated org: SFRECON_DEMO_USER, SFRECON_DEMO_PASSWORD,
# SFRECON_DEMO_CLIENT_SECRET (defaults admin@example.com / password / demo).
# SFRECON_DEMO_KEEP=DIR keeps what the demo leaves behind (logs, reports, a
# dump of both databases) in DIR: tests scan it for secrets.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 3
BUILD=${BUILD:-build}
SIZE=2000
SEED=42
while [ $# -gt 0 ]; do
    case "$1" in
    --size) SIZE=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    *) echo "usage: demo.sh [--size N] [--seed S]" >&2; exit 2 ;;
    esac
done
MAPPING=tests/data/mapping-sample.json
DEMO_USER=${SFRECON_DEMO_USER:-admin@example.com}
DEMO_PASSWORD=${SFRECON_DEMO_PASSWORD:-password}
DEMO_SECRET=${SFRECON_DEMO_CLIENT_SECRET:-demo}
KEEP=${SFRECON_DEMO_KEEP:-}
for b in sfrecon sfemu orggen; do
    [ -x "$BUILD/$b" ] || { echo "demo: $BUILD/$b is missing; run 'make' first" >&2; exit 3; }
done

if [ -t 1 ]; then B=$(printf '\033[1m'); N=$(printf '\033[0m'); else B=""; N=""; fi
step=0
say() { step=$((step + 1)); printf '\n%s== %d. %s%s\n' "$B" "$step" "$1" "$N"; }
explain() { printf '%s\n' "$@" | sed 's/^/   /'; }
t0=$(date +%s)
elapsed() { echo "$(( $(date +%s) - t0 ))s"; }

work=$(mktemp -d /tmp/sfrecon-demo.XXXXXX)
PGTEST_DIR=""
emu_pid=""
keep() { # what the demo left behind, for a secrets scan
    [ -n "$KEEP" ] && [ -n "$PGTEST_DIR" ] || return 0
    mkdir -p "$KEEP"
    cp "$work"/*.err "$work"/*.out "$work"/*.csv "$KEEP"/ 2>/dev/null
    for f in json html csv; do
        "$BUILD/sfrecon" report --run latest --format "$f" --out "$KEEP/report.$f" 2>>"$KEEP/report.err"
    done
    pg_dump "$(db_url demo_mirror)" >"$KEEP/mirror.sql" 2>>"$KEEP/dump.err"
    pg_dump "$(db_url demo_sfemu)" >"$KEEP/sfemu.sql" 2>>"$KEEP/dump.err"
}
cleanup() {
    keep
    [ -n "$emu_pid" ] && kill "$emu_pid" 2>/dev/null && wait "$emu_pid" 2>/dev/null
    [ -n "$PGTEST_DIR" ] && sh "$top/scripts/pgtest.sh" stop "$PGTEST_DIR"
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
die() { echo "demo: $*" >&2; exit 3; }

say "Start a throwaway Postgres"
explain "sfrecon compares Salesforce with a Postgres copy of it (the 'mirror' that" \
        "Heroku Connect keeps). We start a private Postgres in a temporary directory;" \
        "it disappears at the end."
out=$(sh scripts/pgtest.sh start) || die "cannot start Postgres (run scripts/deps.sh)"
eval "$out"
CLUSTER_URL=$DATABASE_URL
db_url() { echo "$CLUSTER_URL" | sed "s|/postgres?|/$1?|"; }
psql -q "$CLUSTER_URL" -c "CREATE DATABASE demo_sfemu" -c "CREATE DATABASE demo_mirror" \
    >/dev/null || die "cannot create the demo databases"
MIRROR_URL=$(db_url demo_mirror)
explain "ready: databases demo_sfemu (the emulator's storage) and demo_mirror."

say "Start the Salesforce emulator"
explain "No real Salesforce org is needed: sfemu answers the same REST API on a" \
        "local port (login, queries, Bulk API, record updates)."
"$BUILD/sfemu" --port 0 --store "$(db_url demo_sfemu)" --admin --user "$DEMO_USER:$DEMO_PASSWORD" \
    >"$work/sfemu.out" 2>"$work/sfemu.err" &
emu_pid=$!
i=0
while ! grep -q "listening on" "$work/sfemu.out" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt 300 ] || ! kill -0 "$emu_pid" 2>/dev/null; then
        cat "$work/sfemu.err" >&2
        die "sfemu did not start"
    fi
    sleep 0.1
done
SF_URL=$(sed -n 's/^listening on //p' "$work/sfemu.out" | head -n 1)
explain "listening on $SF_URL (user $DEMO_USER)."

say "Generate a sample org and its mirror, then break the mirror on purpose"
explain "orggen creates $SIZE Accounts with their Contacts, Opportunities, Cases, Leads," \
        "Invoices and Invoice lines in Salesforce and the same records in the mirror." \
        "Then it injects three faults of each kind a real Heroku Connect mirror suffers:" \
        "rows missing on either side, a child whose parent row is gone, text cut short," \
        "values in the wrong representation (15-char Ids, rounded money, shifted time)," \
        "stale rows, conflicting edits, failed syncs, duplicated rows, plain wrong values." \
        "The list of what it broke (the 'manifest') is the answer key for the audit."
SF_USERNAME="$DEMO_USER" SF_PASSWORD="$DEMO_PASSWORD" "$BUILD/orggen" --sf "$SF_URL" --db "$MIRROR_URL" --mapping "$MAPPING" --size "$SIZE" \
    --seed "$SEED" --faults all=3 --manifest "$work/manifest.csv" --triggers \
    2>"$work/orggen.err" || { cat "$work/orggen.err" >&2; die "orggen failed"; }
grep "orggen: seed" "$work/orggen.err" | sed 's/^sfrecon: info: orggen: /   /'
explain "injected faults by cause (manifest $work/manifest.csv):"
tail -n +2 "$work/manifest.csv" | cut -d, -f3 | sort | uniq -c | sed 's/^ */      /'
explain "(missing_in_pg also counts the parents removed for the missing_parent faults)"
explain "($(elapsed) so far)"

export DATABASE_URL="$MIRROR_URL" SF_LOGIN_URL="$SF_URL" SF_USERNAME="$DEMO_USER" \
    SF_PASSWORD="$DEMO_PASSWORD" SF_CLIENT_ID=demo SF_CLIENT_SECRET="$DEMO_SECRET"

say "Audit: find every mismatched record and say why"
explain "sfrecon audit compares both sides chunk by chunk with hashes, narrows down" \
        "the chunks that differ, and classifies each differing record. Exit code 1" \
        "means 'discrepancies found' (what a nightly cron job would alert on)."
echo
"$BUILD/sfrecon" audit -c "$MAPPING"
rc=$?
echo
case $rc in
0) explain "exit 0: no discrepancies (unexpected: the mirror was broken on purpose)." ;;
1) explain "exit 1: discrepancies found, as expected. Compare with the manifest above." ;;
*) die "audit failed with exit code $rc (2 = usage/config, 3 = runtime failure)" ;;
esac
explain "($(elapsed) so far)"

say "Repair: re-sync the offending records"
explain "sfrecon repair turns the audit's findings into a plan (parents before" \
        "children, Salesforce wins for read-only objects), applies it, records every" \
        "old mirror row in a journal so 'sfrecon repair --undo' can restore it, and" \
        "re-checks what it repaired. --yes applies without asking."
echo
"$BUILD/sfrecon" repair -c "$MAPPING" --yes
rc=$?
echo
case $rc in
0) explain "exit 0: everything planned was repaired." ;;
1) explain "exit 1: some repairs were not possible; the output above says which and why." ;;
*) die "repair failed with exit code $rc" ;;
esac
explain "($(elapsed) so far)"

say "Audit again"
explain "A second audit shows what is left. Anything still listed is something sfrecon" \
        "will not decide for you (for example a conflict the repair policy cannot" \
        "settle, or a record Salesforce refused to take back); the report says why."
echo
"$BUILD/sfrecon" audit -c "$MAPPING"
rc=$?
echo
case $rc in
0) explain "exit 0: Salesforce and the mirror agree again." ;;
1) explain "exit 1: the records above need a human decision; see the detail column." ;;
*) die "audit failed with exit code $rc" ;;
esac

say "Done in $(elapsed); stopping sfemu and Postgres"
explain "Try it on your own mapping: sfrecon lint, sfrecon audit --format html --out report.html."
exit 0
