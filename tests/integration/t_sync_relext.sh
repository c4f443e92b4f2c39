# Relationship external Ids (Contact.Account__External_Id__c, mirror column
# account__external_id__c): a Contact the app inserts in the mirror with only
# that column set reaches Salesforce with AccountId resolved from the
# Account's External_Id__c, through the sync push (insert and update) and
# through repair (a mirror row whose record is gone, pg_wins); a lookup the
# row sets itself wins over its external Id; an external Id no Account holds
# fails the write with Salesforce's INVALID_FIELD "Foreign key external ID:
# ... not found"; sfemu refuses a reference by a field that is no external
# Id, and one given together with the lookup's Id.
. "$TOP/tests/integration/lib.sh"
MAP="$TOP/tests/data/mapping-connect-variants.json"
ORG="$TOP/tests/data/org-connect-variants.json"
start_sfemu --org "$ORG"
sf_login SF_RETRY_BASE_MS=10
need_token TOK
API="$SFEMU_URL/services/data/v60.0"
expect_exit 0 "$SFRECON" schema -c "$MAP" --describe "$ORG" --triggers
DB=$(new_db sync_relext)
psql -q -v ON_ERROR_STOP=1 "$DB" -f "$TMPD/out" >/dev/null || fail "apply DDL"
export DATABASE_URL="$DB"
emu() { psql -Atq "$SFEMU_STORE" -c "$1" || fail "emulator store: $1"; }
printf 'Name,External_Id__c\nA1,A-1\nA2,A-2\nA3,A-3\n' >"$TMPD/acc.csv"
curl -s -X POST -H 'Content-Type: text/csv' --data-binary @"$TMPD/acc.csv" \
    "$SFEMU_URL/__emu/load/Account" | grep -q '"loaded"' || fail "load Account"
A1=$(emu "SELECT id FROM sfemu.account WHERE external_id__c = 'A-1'")
A2=$(emu "SELECT id FROM sfemu.account WHERE external_id__c = 'A-2'")
A3=$(emu "SELECT id FROM sfemu.account WHERE external_id__c = 'A-3'")
expect_exit 0 "$SFRECON" sync -c "$MAP" --once
assert_eq "$(sql "SELECT count(*) FROM crm.account")" 3 "accounts pulled"
sf_account() { emu "SELECT coalesce(accountid, '-') FROM sfemu.contact WHERE lastname = '$1'"; }

# 1. sfemu resolves a nested reference as Salesforce does
assert_eq "$(sfcall POST sobjects/Contact '{"LastName":"Emu Ref","Account":{"External_Id__c":"A-2"}}')" \
    201 "create with a nested reference"
assert_eq "$(sf_account "Emu Ref")" "$A2" "nested reference resolved"
assert_eq "$(sfcall POST sobjects/Contact '{"LastName":"Emu Bad","Account":{"External_Id__c":"A-9"}}')" \
    400 "unknown external Id"
assert_contains "$TMPD/body" '"errorCode":"INVALID_FIELD"'
assert_contains "$TMPD/body" "Foreign key external ID: A-9 not found for field External_Id__c in entity Account"
assert_eq "$(sfcall POST sobjects/Contact '{"LastName":"Emu Bad","Account":{"Name":"A1"}}')" \
    400 "reference by a field that is no external Id"
assert_contains "$TMPD/body" "Name does not match an External ID, Salesforce Id, or indexed field for Account"
assert_eq "$(sfcall POST sobjects/Contact \
    '{"LastName":"Emu Bad","AccountId":"'"$A1"'","Account":{"External_Id__c":"A-1"}}')" \
    400 "both the Id and the reference"
assert_contains "$TMPD/body" "Cannot specify both an external ID reference Account and a salesforce id, AccountId"
assert_eq "$(emu "SELECT count(*) FROM sfemu.contact WHERE lastname = 'Emu Bad'")" 0 "nothing created"
note "sfemu nested references"

# 2. sync push: an insert sets the lookup only through the external Id column
sql "INSERT INTO crm.contact (lastname, account__external_id__c) VALUES ('Rel One', 'A-1')"
expect_exit 0 "$SFRECON" sync -c "$MAP" --once
assert_contains "$TMPD/err" "pushed 1, failed 0"
assert_eq "$(sf_account "Rel One")" "$A1" "AccountId resolved from A-1"
expect_exit 0 "$SFRECON" sync -c "$MAP" --once
assert_eq "$(sql "SELECT accountid || '|' || _hc_lastop FROM crm.contact WHERE lastname = 'Rel One'")" \
    "$A1|SYNCED" "the mirror gets the resolved lookup back"
# an update of the external Id column alone moves the lookup
sql "UPDATE crm.contact SET account__external_id__c = 'A-2' WHERE lastname = 'Rel One'"
expect_exit 0 "$SFRECON" sync -c "$MAP" --once
assert_contains "$TMPD/err" "pushed 1, failed 0"
assert_eq "$(sf_account "Rel One")" "$A2" "AccountId moved to A-2"
# a lookup the row sets itself wins over its external Id column
sql "INSERT INTO crm.contact (lastname, accountid, account__external_id__c)
     VALUES ('Rel Own', '$A3', 'A-1')"
expect_exit 0 "$SFRECON" sync -c "$MAP" --once
assert_contains "$TMPD/err" "pushed 1, failed 0"
assert_eq "$(sf_account "Rel Own")" "$A3" "the row's own lookup written"
# the audit reports such a row (its two columns disagree) until the app fixes it
expect_exit 0 "$SFRECON" sync -c "$MAP" --once
expect_exit 1 "$SFRECON" audit -c "$MAP" --no-store
assert_contains "$TMPD/out" "Account__External_Id__c 'A-1' disagrees with AccountId $A3, whose External_Id__c is 'A-3'"
sql "UPDATE crm.contact SET account__external_id__c = 'A-3' WHERE lastname = 'Rel Own'"
expect_exit 0 "$SFRECON" sync -c "$MAP" --once
assert_contains "$TMPD/err" "pushed 1, failed 0"
assert_eq "$(sf_account "Rel Own")" "$A3" "still A-3"
note "sync push"

# 3. repair: a mirror row whose record is gone from Salesforce, pg_wins
assert_eq "$(sfcall POST sobjects/Contact '{"LastName":"Rel Repair"}')" 201 "create"
GONE=$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' "$TMPD/body")
assert_eq "$(sfcall DELETE "sobjects/Contact/$GONE")" 204 "delete"
psql -q -v ON_ERROR_STOP=1 "$DB" -c "SET xmlbinary = 'hex'" \
    -c "INSERT INTO crm.contact (sfid, lastname, account__external_id__c, systemmodstamp,
            createddate, isdeleted, _hc_lastop)
        VALUES ('$GONE', 'Rel Repair', 'A-3', now(), now(), false, 'SYNCED')" || fail "mirror row"
sed 's/"sfrecon": {/"sfrecon": {"objects": {"Contact": {"repair_policy": "pg_wins"}}, /' "$MAP" \
    >"$TMPD/pgwins.json"
expect_exit 0 "$SFRECON" repair -c "$TMPD/pgwins.json" --only missing_in_sf --dry-run
assert_contains "$TMPD/out" "sf_create"
assert_contains "$TMPD/out" 'by external Id: {"Account":{"External_Id__c":"A-3"}}'
expect_exit 0 "$SFRECON" repair -c "$TMPD/pgwins.json" --run latest --only missing_in_sf --yes
NEWID=$(sql "SELECT sfid FROM crm.contact WHERE lastname = 'Rel Repair'")
[ "$NEWID" != "$GONE" ] && [ ${#NEWID} -eq 18 ] || fail "repaired row's sfid: '$NEWID'"
assert_eq "$(emu "SELECT accountid FROM sfemu.contact WHERE id = '$NEWID'")" "$A3" \
    "repair's create resolved AccountId from A-3"
assert_eq "$(sql "SELECT accountid FROM crm.contact WHERE sfid = '$NEWID'")" "$A3" \
    "the mirror refreshed with the resolved lookup"
note "repair"

# 4. both sides agree
expect_exit 0 "$SFRECON" sync -c "$MAP" --once
expect_exit 0 "$SFRECON" audit -c "$MAP" --no-store
assert_contains "$TMPD/out" "0 discrepancies"
note "audit clean"

# 5. an external Id no Account holds: the write fails with Salesforce's error
sql "INSERT INTO crm.contact (lastname, account__external_id__c) VALUES ('Rel Bad', 'A-9')"
expect_exit 1 "$SFRECON" sync -c "$MAP" --once
assert_contains "$TMPD/err" "failed 1"
assert_eq "$(sql "SELECT state || ' ' || sf_message FROM crm._trigger_log l JOIN crm.contact c
                  ON c.id = l.record_id WHERE c.lastname = 'Rel Bad'")" \
    "FAILED INVALID_FIELD: Foreign key external ID: A-9 not found for field External_Id__c in entity Account" \
    "refused insert"
assert_eq "$(emu "SELECT count(*) FROM sfemu.contact WHERE lastname = 'Rel Bad'")" 0 "not created"
note "unknown external Id"
echo "t_sync_relext: ok"
