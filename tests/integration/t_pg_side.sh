#!/bin/sh
# The Postgres side against a real mirror made by `sfrecon schema --triggers`:
# digests at both depths over ranges, stream order in byte ("C") order whatever
# the column's collation, COPY unescaping, fetch with duplicates and FAILED
# trigger-log entries, key boundaries, journaled writes (savepoint per record,
# users' foreign keys respected, no echo into _trigger_log) and an undo that
# gives back a pg_dump-identical table.
. "$TOP/tests/integration/lib.sh"

DRV="$TMPD/pgdrv"
cc_driver "$DRV" "$TOP/tests/pgclient/pgdrv.c" || fail "cannot build pgdrv"

DATABASE_URL=$(new_db pg_side)
export DATABASE_URL
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$DATABASE_URL" -c "$1"; }
acc() { "$DRV" "$MAP" "$ORG" Account "$@"; }
con() { "$DRV" "$MAP" "$ORG" Contact "$@"; }

expect_exit 0 "$SFRECON" schema -c "$MAP" --describe "$ORG" --triggers
psql -X -q -v ON_ERROR_STOP=1 "$DATABASE_URL" -f "$TMPD/out" >/dev/null || fail "DDL does not apply"
expect_exit 0 acc migrate
assert_contains "$TMPD/out" "version $(sed -n 's/^#define SFR_PG_SCHEMA_VERSION //p' "$TOP/include/sfrecon/pg.h")"

# Key order must not come from the column's collation: give sfid a natural-
# language collation when the server has ICU (there 'a' sorts before 'B').
if [ "$(q "SELECT count(*) FROM pg_collation WHERE collname = 'und-x-icu'")" = 1 ]; then
    q 'ALTER TABLE salesforce.account ALTER COLUMN sfid TYPE varchar(18) COLLATE "und-x-icu"'
    note "sfid collation und-x-icu"
fi

P=00100000000000
# Rows written by the sync process (xmlbinary not base64: no _trigger_log, SYNCED).
psql -X -q -v ON_ERROR_STOP=1 "$DATABASE_URL" >/dev/null <<EOF || fail "cannot load rows"
BEGIN;
SET LOCAL xmlbinary = 'hex';
INSERT INTO salesforce.account (sfid, name, systemmodstamp, isdeleted, phone, description,
                                annualrevenue, external_id__c) VALUES
 ('${P}1AAA', 'Alpha', '2024-01-01 10:00:00', false, '555-0001', E'tab\there\nnew line \\\\ back', 1000, 'X1'),
 ('${P}2AAA', 'Beta',  '2024-01-02 10:00:00', false, '555-0002', NULL, 2000.5, 'X2'),
 ('${P}3AAA', 'Gone',  '2024-01-09 10:00:00', true,  NULL, NULL, NULL, 'X3'),
 ('${P}BAAA', 'Upper', '2024-01-03 10:00:00', false, NULL, NULL, NULL, 'XB'),
 ('${P}aAAA', 'Lower', '2024-01-04 10:00:00', NULL,  NULL, NULL, NULL, 'Xa');
COMMIT;
EOF
# An app's insert not yet synced: sfid NULL, PENDING, logged as NEW.
q "INSERT INTO salesforce.account (name) VALUES ('Unsynced')"
assert_eq "$(q "SELECT _hc_lastop FROM salesforce.account WHERE name = 'Unsynced'")" PENDING "app insert status"
assert_eq "$(q "SELECT state || ' ' || action FROM salesforce._trigger_log WHERE table_name = 'account'")" \
    "NEW INSERT" "app insert is logged"
assert_eq "$(q "SELECT count(*) FROM salesforce.account WHERE _hc_lastop = 'SYNCED'")" 5 "sync rows SYNCED"

# ---- stream: byte order, live rows only ----
expect_exit 0 acc stream - -
cut -d' ' -f1 "$TMPD/out" >"$TMPD/order"
printf '%s\n' "${P}1AAA" "${P}2AAA" "${P}BAAA" "${P}aAAA" >"$TMPD/want"
cmp -s "$TMPD/order" "$TMPD/want" || { cat "$TMPD/order"; fail "stream is not in C order of live rows"; }
cp "$TMPD/out" "$TMPD/stream_all"
expect_exit 0 acc stream "${P}2AAA" "${P}aAAA"
assert_eq "$(cut -d' ' -f1 "$TMPD/out" | tr '\n' ' ')" "${P}2AAA ${P}BAAA " "stream of [2, a)"
# modstamp in ms: 2024-01-01 10:00:00 UTC
assert_eq "$(sed -n 1p "$TMPD/stream_all" | cut -d' ' -f3)" 1704103200000 "stream mod_ms"

# COPY unescaping: the streamed hash equals the hash of the fetched values.
expect_exit 0 acc hash "${P}1AAA"
assert_eq "$(cat "$TMPD/out")" "$(sed -n 1p "$TMPD/stream_all")" "stream vs fetch hash (tab, newline, backslash)"
expect_exit 0 acc fetch "${P}1AAA"
assert_contains "$TMPD/out" "new line \\ back"

# ---- digests ----
expect_exit 0 acc digest count - -
assert_contains "$TMPD/out" "count=4 "
assert_contains "$TMPD/out" "max_mod=1704362400000" # 2024-01-04 10:00, the deleted row's later stamp excluded
expect_exit 0 acc digest count "${P}2AAA" "${P}aAAA"
assert_contains "$TMPD/out" "count=2 "
assert_contains "$TMPD/out" "max_mod=1704276000000"
expect_exit 0 acc digest count "${P}aAAA" -
assert_contains "$TMPD/out" "count=1 "
expect_exit 0 acc digest content - -
full=$(cat "$TMPD/out")
assert_contains "$TMPD/out" "count=4 "
expect_exit 0 acc bench - -
sum=$(sed 's/.*sum=//' "$TMPD/out")
assert_contains "$TMPD/out" "rows=4 "
case "$full" in *"sum=$sum "*) ;; *) fail "content digest sum ($full) != sum of streamed hashes ($sum)" ;; esac
# A changed value changes the content digest but not the count digest.
q "UPDATE salesforce.account SET phone = '555-9999' WHERE sfid = '${P}2AAA'"
expect_exit 0 acc digest content - -
[ "$(cat "$TMPD/out")" != "$full" ] || fail "content digest did not see a changed phone"
q "UPDATE salesforce.account SET phone = '555-0002' WHERE sfid = '${P}2AAA'"
expect_exit 0 acc digest content - -
assert_eq "$(cat "$TMPD/out")" "$full" "content digest after restoring the value"

# ---- boundaries ----
expect_exit 0 acc bounds 2
assert_contains "$TMPD/out" "total 4"
assert_eq "$(grep '^key' "$TMPD/out" | tr '\n' ' ')" "key ${P}BAAA " "boundary keys"

# ---- fetch: duplicates (no unique index) and FAILED trigger-log entries ----
C=00300000000000
q "DROP INDEX salesforce.hcu_idx_contact_sfid"
psql -X -q -v ON_ERROR_STOP=1 "$DATABASE_URL" >/dev/null <<EOF || fail "cannot load contacts"
BEGIN;
SET LOCAL xmlbinary = 'hex';
INSERT INTO salesforce.contact (id, sfid, lastname, accountid, systemmodstamp) VALUES
 (10, '${C}1AAA', 'Old copy', '${P}1AAA', '2024-01-01 00:00:00'),
 (11, '${C}1AAA', 'New copy', '${P}1AAA', '2024-01-02 00:00:00'),
 (12, '${C}2AAA', 'Single', NULL, '2024-01-03 00:00:00');
UPDATE salesforce.contact SET _hc_lastop = 'FAILED', _hc_err = '{"op":"UPDATE","msg":"bad"}' WHERE id = 12;
INSERT INTO salesforce._trigger_log (state, action, table_name, record_id, sfid, sf_message) VALUES
 ('FAILED', 'UPDATE', 'contact', 12, NULL, 'older failure'),
 ('FAILED', 'UPDATE', 'contact', 12, '${C}2AAA', 'FIELD_CUSTOM_VALIDATION_EXCEPTION: newest'),
 ('SUCCESS', 'UPDATE', 'contact', 12, '${C}2AAA', 'not a failure'),
 ('FAILED', 'UPDATE', 'account', 12, NULL, 'another table');
COMMIT;
EOF
expect_exit 0 con fetch "${C}1AAA" "${C}2AAA" "${C}9AAA"
assert_contains "$TMPD/out" "record ${C}1AAA pg_id=11 dup=2 lastop=SYNCED err=NULL trigger_failed=NULL"
assert_contains "$TMPD/out" "LastName=New copy"
assert_not_contains "$TMPD/out" "Old copy"
assert_contains "$TMPD/out" "record ${C}2AAA pg_id=12 dup=1 lastop=FAILED"
# the latest entry is a SUCCESS: the failures before it are history
assert_contains "$TMPD/out" 'err={"op":"UPDATE","msg":"bad"} trigger_failed=NULL'
q "DELETE FROM salesforce._trigger_log WHERE state = 'SUCCESS'"
expect_exit 0 con fetch "${C}2AAA"
assert_contains "$TMPD/out" 'err={"op":"UPDATE","msg":"bad"} trigger_failed=FIELD_CUSTOM_VALIDATION_EXCEPTION: newest'
assert_not_contains "$TMPD/out" "${C}9AAA"
# A mirror without the trigger log still fetches.
q "ALTER TABLE salesforce._trigger_log RENAME TO _trigger_log_away"
expect_exit 0 con fetch "${C}2AAA"
assert_contains "$TMPD/out" "trigger_failed=NULL"
q "ALTER TABLE salesforce._trigger_log_away RENAME TO _trigger_log"

# ---- writes: journal, savepoints, foreign keys, no echo; then undo ----
q "ALTER TABLE salesforce.contact ADD CONSTRAINT contact_account_fk FOREIGN KEY (accountid)
   REFERENCES salesforce.account (sfid) ON UPDATE RESTRICT ON DELETE RESTRICT"
q "UPDATE salesforce.account SET rating = 'Hot' WHERE sfid = '${P}2AAA'" # an app's edit: PENDING
dump() {
    # setval (the sequence moves on) and the random \restrict key of newer pg_dump differ
    pg_dump -a -t salesforce.account "$DATABASE_URL" |
        grep -v -e '^SELECT pg_catalog.setval' -e '^\\restrict ' -e '^\\unrestrict ' | sort
}
dump >"$TMPD/before.sql"
grep -q 'Alpha' "$TMPD/before.sql" || fail "pg_dump shows no rows"
tl_before=$(q "SELECT count(*) FROM salesforce._trigger_log")
run=$(q "INSERT INTO sfrecon.repair_run (status) VALUES ('running') RETURNING id")
long=$(printf '%050d' 0)
expect_exit 0 acc write "$run" \
    upsert "${P}1AAA" Name=Alpha2 SystemModstamp=2024-05-20T20:49:32.000+0000 IsDeleted=false -- \
    upsert "${P}9AAA" Name=Newbie AnnualRevenue=12.5 SystemModstamp=2024-05-21T01:02:03.000+0000 -- \
    update "${P}2AAA" Phone=555-7777 Description= -- \
    update "${P}BAAA" AccountNumber="$long" -- \
    delete "${P}aAAA" -- \
    delete "${P}1AAA" -- \
    update "${P}8AAA" Name=Nobody
assert_contains "$TMPD/out" "write 0 ok"
assert_contains "$TMPD/out" "write 1 ok"
assert_contains "$TMPD/out" "write 2 ok"
assert_contains "$TMPD/out" "write 3 fail 22001"
assert_contains "$TMPD/out" "write 4 ok"
assert_contains "$TMPD/out" "write 5 fail 23503"
assert_contains "$TMPD/out" "write 6 fail NOT_FOUND"
assert_eq "$(q "SELECT name || '|' || systemmodstamp || '|' || _hc_lastop FROM salesforce.account WHERE sfid = '${P}1AAA'")" \
    "Alpha2|2024-05-20 20:49:32|SYNCED" "upserted row"
assert_eq "$(q "SELECT name || '|' || annualrevenue || '|' || _hc_lastop FROM salesforce.account WHERE sfid = '${P}9AAA'")" \
    "Newbie|12.5|SYNCED" "inserted row"
assert_eq "$(q "SELECT phone || '|' || coalesce(description, 'NULL') || '|' || _hc_lastop FROM salesforce.account WHERE sfid = '${P}2AAA'")" \
    "555-7777|NULL|SYNCED" "updated row"
assert_eq "$(q "SELECT coalesce(accountnumber, 'NULL') FROM salesforce.account WHERE sfid = '${P}BAAA'")" NULL \
    "the failed record left its row alone"
assert_eq "$(q "SELECT count(*) FROM salesforce.account WHERE sfid = '${P}aAAA'")" 0 "deleted row"
assert_eq "$(q "SELECT count(*) FROM salesforce._trigger_log")" "$tl_before" "the side's writes are not echoed to _trigger_log"
assert_eq "$(q "SELECT string_agg(op || ':' || sfid, ' ' ORDER BY seq) FROM sfrecon.repair_journal WHERE repair_run_id = $run")" \
    "update:${P}1AAA insert:${P}9AAA update:${P}2AAA delete:${P}aAAA" "journal entries"
assert_eq "$(q "SELECT count(*) FROM sfrecon.repair_journal WHERE repair_run_id = $run AND side = 'pg' AND table_name = 'salesforce.account' AND (op = 'insert') = (old_row IS NULL) AND (op = 'delete') = (new_row IS NULL)")" \
    4 "journal old/new rows"
# Idempotent: the same upsert again changes nothing.
expect_exit 0 acc write 0 upsert "${P}9AAA" Name=Newbie AnnualRevenue=12.5
assert_eq "$(q "SELECT count(*) FROM salesforce.account WHERE sfid = '${P}9AAA'")" 1 "upsert twice"
# An app's write still logs.
q "UPDATE salesforce.account SET phone = '1' WHERE sfid = '${P}9AAA'"
assert_eq "$(q "SELECT count(*) FROM salesforce._trigger_log")" "$((tl_before + 1))" "an app's update is logged"
q "BEGIN; SET LOCAL xmlbinary = 'hex'; UPDATE salesforce.account SET phone = NULL WHERE sfid = '${P}9AAA'; COMMIT"

expect_exit 0 acc undo "$run"
assert_contains "$TMPD/out" "undone 4"
dump >"$TMPD/after.sql"
diff "$TMPD/before.sql" "$TMPD/after.sql" >&2 || fail "undo did not restore the table exactly"
assert_eq "$(q "SELECT _hc_lastop FROM salesforce.account WHERE sfid = '${P}2AAA'")" PENDING "undo restores PENDING"
expect_exit 0 acc undo "$run"
assert_contains "$TMPD/out" "undone 0"
assert_eq "$(q "SELECT count(*) FROM salesforce._trigger_log")" "$((tl_before + 1))" "undo is not echoed"

# ---- errors ----
expect_exit 1 env DATABASE_URL='postgresql://sfr:s3cretpw@127.0.0.1:1/mirror' "$DRV" "$MAP" "$ORG" Account digest count - -
assert_contains "$TMPD/err" "127.0.0.1:1/mirror"
assert_not_contains "$TMPD/err" "s3cretpw"
assert_contains "$TMPD/err" "sfr:***@"
q "DROP TABLE salesforce.lead"
expect_exit 1 "$DRV" "$MAP" "$ORG" Lead digest count - -
assert_contains "$TMPD/err" "mirror table salesforce.lead does not exist"
q "ALTER TABLE salesforce.opportunity DROP COLUMN stagename"
expect_exit 1 "$DRV" "$MAP" "$ORG" Opportunity stream - -
assert_contains "$TMPD/err" "salesforce.opportunity has no column stagename for Opportunity.StageName"
note "pg side ok"
