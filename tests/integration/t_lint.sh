#!/bin/sh
# t_lint: `sfrecon lint` against real mirrors built with `sfrecon schema`.
#  1. the sample mapping over its own DDL: no error, no warning, exit 0;
#  2. each mapping in tests/data/lint/ holds one mistake: its finding appears
#     with the right severity, object, field and fix;
#  3. the sample mapping over a mirror altered by hand (a narrowed column,
#     dropped indexes, a dropped column, retyped columns, a user foreign key):
#     every finding names the object, field and the DDL that fixes it; applying
#     those fixes makes lint clean again;
#  4. exit codes: 1 errors, 2 usage/config (file:line: key path), 3 no database.
. "$TOP/tests/integration/lib.sh"
cd "$TOP" || exit 1

MAP=tests/data/mapping-sample.json
ORG=tests/sfemu/org/sample-org.json
D=tests/data/lint
unset SFRECON_ORG_DAILY_LIMIT SFRECON_DESCRIBE SF_INSTANCE_URL SF_LOGIN_URL 2>/dev/null

expect_exit 0 "$SFRECON" schema -c "$MAP" --describe "$ORG"
cp "$TMPD/out" "$TMPD/ddl.sql"
CLEAN=$(new_db lint_clean)
psql -q -X -v ON_ERROR_STOP=1 "$CLEAN" -f "$TMPD/ddl.sql" >/dev/null 2>"$TMPD/psql.err" \
    || { cat "$TMPD/psql.err"; fail "DDL does not apply"; }

# finding FILE SEVERITY CODE OBJECT FIELD: the JSON output holds that finding
finding() {
    assert_contains "$1" "{\"severity\":\"$2\",\"code\":\"$3\",\"object\":\"$4\",\"field\":\"$5\","
}
# no_finding FILE SEVERITY: no finding of that severity
no_finding() {
    assert_not_contains "$1" "\"severity\":\"$2\""
}
lint_json() { # WANT_EXIT MAPPING [ARGS...]: JSON findings in $TMPD/out
    _w=$1; _m=$2; shift 2
    expect_exit "$_w" env DATABASE_URL="$DBURL" "$SFRECON" lint -c "$_m" --describe "$ORG" \
        --format json "$@"
}

# ---- 1. the sample mapping over its own DDL is clean ----
DBURL=$CLEAN
lint_json 0 "$MAP"
no_finding "$TMPD/out" error
no_finding "$TMPD/out" warning
finding "$TMPD/out" info load_order "" ""
assert_contains "$TMPD/out" "load order, parents first: Account, Contact, Case, Invoice__c, Invoice_Line__c"
finding "$TMPD/out" info deferred_reference Account ParentId
finding "$TMPD/out" info api_budget "" ""
finding "$TMPD/out" info reserved_name Case ""
assert_not_contains "$TMPD/out" '"code":"no_db"'
# the text form: one block per finding and a summary line
expect_exit 0 env DATABASE_URL="$CLEAN" "$SFRECON" lint -c "$MAP" --describe "$ORG"
assert_contains "$TMPD/out" "0 errors, 0 warnings,"
assert_contains "$TMPD/out" "info     Account.ParentId  deferred_reference: "
note "sample mapping: clean"

# ---- 2. one mistake per mapping file ----
lint_json 1 "$D/unmapped-parent.json"
finding "$TMPD/out" error unmapped_parent Contact AccountId
assert_contains "$TMPD/out" '"fix":"map Account (add a mapping for it, loaded before Contact), or remove \"AccountId\" from mappings[0].config.fields (tests/data/lint/unmapped-parent.json:'

lint_json 1 "$D/unknown-field.json"
finding "$TMPD/out" error unknown_field Account Revenue__c
assert_contains "$TMPD/out" 'remove \"Revenue__c\" from mappings[0].config.fields'

lint_json 1 "$D/unknown-object.json"
finding "$TMPD/out" error unknown_object Widget__c ""
finding "$TMPD/out" error missing_table Widget__c ""

lint_json 1 "$D/missing-table.json"
finding "$TMPD/out" error missing_table User ""
assert_contains "$TMPD/out" 'table \"salesforce\".\"user\" does not exist'
finding "$TMPD/out" info reserved_name User ""
assert_contains "$TMPD/out" '"fix":"always write \"salesforce\".\"user\"'
# User has no IsDeleted in Heroku Connect: not reported missing
assert_not_contains "$TMPD/out" '"code":"missing_system_column","object":"User"'

lint_json 0 "$D/costly-field.json"
finding "$TMPD/out" info costly_field Account Description
assert_contains "$TMPD/out" 'long text area (32000 characters)'

lint_json 0 "$D/no-upsert-field.json"
finding "$TMPD/out" warning no_upsert_field Account ""
assert_contains "$TMPD/out" 'set mappings[0].config.upsert_field (tests/data/lint/no-upsert-field.json:'
assert_contains "$TMPD/out" 'to an External ID field of Account: External_Id__c'

lint_json 1 "$D/upsert-not-external.json"
finding "$TMPD/out" error upsert_field_not_external_id Account AccountNumber
assert_contains "$TMPD/out" 'set mappings[0].config.upsert_field'

lint_json 0 "$D/polling-over-cap.json"
finding "$TMPD/out" warning api_budget_exceeded Account ""
assert_contains "$TMPD/out" '~1440 API calls a day, more than its sf_max_daily_api_calls (1000)'
assert_contains "$TMPD/out" 'to at least 87'

expect_exit 0 env DATABASE_URL="$CLEAN" SFRECON_ORG_DAILY_LIMIT=1000 "$SFRECON" lint -c "$MAP" \
    --describe "$ORG" --format json
finding "$TMPD/out" warning api_budget_exceeded "" ""
assert_contains "$TMPD/out" "more than the org's daily limit of 1000"

lint_json 1 "$D/schema-name.json"
finding "$TMPD/out" warning schema_name "" ""
finding "$TMPD/out" info schema_name_permanent "" ""
finding "$TMPD/out" error missing_schema "" ""
assert_contains "$TMPD/out" 'schema \"Test-Schema\" does not exist'
# --schema overrides the mapping's name
lint_json 0 "$D/schema-name.json" --schema salesforce
no_finding "$TMPD/out" error

lint_json 0 "$D/clean-subset.json"
no_finding "$TMPD/out" error
no_finding "$TMPD/out" warning

# --no-db: the mapping checks only, and an info saying so
expect_exit 1 env -u DATABASE_URL "$SFRECON" lint -c "$D/unmapped-parent.json" \
    --describe "$ORG" --format json --no-db
finding "$TMPD/out" error unmapped_parent Contact AccountId
finding "$TMPD/out" info no_db "" ""
# describe from SFRECON_DESCRIBE
expect_exit 0 env -u DATABASE_URL SFRECON_DESCRIBE="$ORG" "$SFRECON" lint -c "$MAP" --no-db
assert_contains "$TMPD/out" "mirror checks skipped"
note "mapping mistakes: found"

# ---- 3. a mirror altered by hand ----
ALTERED=$(new_db lint_altered)
psql -q -X -v ON_ERROR_STOP=1 "$ALTERED" -f "$TMPD/ddl.sql" >/dev/null 2>&1 || fail "DDL (altered)"
psql -q -X -v ON_ERROR_STOP=1 "$ALTERED" >"$TMPD/psql.out" 2>&1 <<'SQL' || { cat "$TMPD/psql.out"; fail "alter"; }
ALTER TABLE salesforce.account ALTER COLUMN name TYPE varchar(80);
DROP INDEX salesforce.sfrecon_idx_contact_sfid_c;
-- an older Connect table: sfid in the database's default collation
ALTER TABLE salesforce.contact ALTER COLUMN sfid TYPE varchar(18) COLLATE "default";
DROP INDEX salesforce.hcu_idx_case_sfid;
DROP INDEX salesforce.hc_idx_lead_systemmodstamp;
ALTER TABLE salesforce.opportunity DROP COLUMN amount;
ALTER TABLE salesforce.invoice__c ALTER COLUMN issued_at__c TYPE timestamptz;
ALTER TABLE salesforce.invoice__c ALTER COLUMN total__c TYPE integer;
ALTER TABLE salesforce.invoice__c ALTER COLUMN paid__c TYPE varchar(5);
ALTER TABLE salesforce.lead DROP COLUMN _hc_lastop;
ALTER TABLE salesforce.contact ADD CONSTRAINT contact_account_fk FOREIGN KEY (accountid)
    REFERENCES salesforce.account (sfid);
SQL
DBURL=$ALTERED
lint_json 1 "$MAP"
cp "$TMPD/out" "$TMPD/altered.json"
A="$TMPD/altered.json"
finding "$A" error column_too_short Account Name
assert_contains "$A" '"fix":"ALTER TABLE \"salesforce\".\"account\" ALTER COLUMN \"name\" TYPE varchar(255);"'
finding "$A" warning missing_c_order_index Contact Id
assert_contains "$A" '"fix":"CREATE INDEX CONCURRENTLY \"sfrecon_idx_contact_sfid_c\" ON \"salesforce\".\"contact\" (\"sfid\" COLLATE \"C\");"'
finding "$A" error missing_index Case Id
assert_contains "$A" '"fix":"CREATE UNIQUE INDEX CONCURRENTLY \"hcu_idx_case_sfid\" ON \"salesforce\".\"case\" (\"sfid\");"'
finding "$A" warning missing_index Lead SystemModstamp
finding "$A" error missing_column Opportunity Amount
assert_contains "$A" '"fix":"ALTER TABLE \"salesforce\".\"opportunity\" ADD COLUMN \"amount\" double precision;"'
finding "$A" warning column_type_mismatch Invoice__c Issued_At__c
assert_contains "$A" "USING \\\"issued_at__c\\\" AT TIME ZONE 'UTC';"
finding "$A" error column_type_mismatch Invoice__c Total__c
assert_contains "$A" 'ALTER COLUMN \"total__c\" TYPE double precision USING \"total__c\"::double precision;'
finding "$A" error column_type_mismatch Invoice__c Paid__c
finding "$A" error missing_system_column Lead _hc_lastop
finding "$A" warning user_foreign_key Contact AccountId
# nothing else is reported as wrong with the columns that were not touched
assert_eq "$(grep -o '"severity":"error"' "$A" | wc -l | tr -d ' ')" 6 "errors on the altered mirror"
assert_eq "$(grep -o '"severity":"warning"' "$A" | wc -l | tr -d ' ')" 4 "warnings on the altered mirror"

# the text form carries the same: object.field, code, why and fix
expect_exit 1 env DATABASE_URL="$ALTERED" "$SFRECON" lint -c "$MAP" --describe "$ORG"
assert_contains "$TMPD/out" "error    Account.Name  column_too_short: "
assert_contains "$TMPD/out" '  fix: ALTER TABLE "salesforce"."account" ALTER COLUMN "name" TYPE varchar(255);'
assert_contains "$TMPD/out" "  why: "

# apply every DDL fix that lint printed: lint is clean afterwards
sed -n 's/^  fix: \(ALTER TABLE .*;\)$/\1/p; s/^  fix: \(CREATE .*;\)$/\1/p' "$TMPD/out" \
    | grep -v 'DROP CONSTRAINT' >"$TMPD/fixes.sql"
sed -n 's/^  fix: \(ALTER TABLE [^;]* DROP CONSTRAINT [^;]*;\).*/\1/p' "$TMPD/out" >>"$TMPD/fixes.sql"
note "applying $(wc -l <"$TMPD/fixes.sql") fixes"
while IFS= read -r stmt; do
    psql -q -X -v ON_ERROR_STOP=1 "$ALTERED" -c "$stmt" >"$TMPD/psql.out" 2>&1 \
        || { cat "$TMPD/psql.out"; fail "fix does not apply: $stmt"; }
done <"$TMPD/fixes.sql"
lint_json 0 "$MAP"
no_finding "$TMPD/out" error
no_finding "$TMPD/out" warning
note "altered mirror: every finding fixed by its own DDL"

# ---- 4. exit codes ----
expect_exit 2 "$SFRECON" lint -c tests/data/config/bad-access.json --describe "$ORG" --no-db
assert_contains "$TMPD/err" "bad-access.json:"
assert_contains "$TMPD/err" ".config.access"
expect_exit 2 "$SFRECON" lint -c "$MAP" --no-db
assert_contains "$TMPD/err" "no describe source"
expect_exit 2 env -u DATABASE_URL "$SFRECON" lint -c "$MAP" --describe "$ORG"
assert_contains "$TMPD/err" "DATABASE_URL"
expect_exit 2 "$SFRECON" lint -c "$MAP" --describe "$ORG" --format xml
expect_exit 2 "$SFRECON" lint --bogus
expect_exit 2 env SFRECON_ORG_DAILY_LIMIT=lots "$SFRECON" lint -c "$MAP" --describe "$ORG" --no-db
bad=$(db_url lint_no_such_db)
expect_exit 3 env DATABASE_URL="$bad" "$SFRECON" lint -c "$MAP" --describe "$ORG"
expect_exit 0 "$SFRECON" help lint
assert_contains "$TMPD/out" "--no-db"
note "ok"
