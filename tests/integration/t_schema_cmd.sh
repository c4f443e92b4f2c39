#!/bin/sh
# `sfrecon schema`: the DDL for the sample org applies cleanly to a fresh
# database, twice (idempotent), with and without Connect's write path; the
# layout is the Heroku Connect one; usage and mapping errors exit 2 and name
# the file, line and key path.
. "$TOP/tests/integration/lib.sh"

apply() { psql -X -q -v ON_ERROR_STOP=1 "$1" -f "$2" >"$TMPD/psql.out" 2>&1 || { cat "$TMPD/psql.out"; fail "DDL $2 does not apply"; }; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$URL" -c "$1"; }

expect_exit 0 "$SFRECON" schema -c "$MAP" --describe "$ORG"
cp "$TMPD/out" "$TMPD/plain.sql"
[ ! -s "$TMPD/err" ] || { cat "$TMPD/err"; fail "stderr not empty"; }
URL=$(new_db schema_plain)
apply "$URL" "$TMPD/plain.sql"
apply "$URL" "$TMPD/plain.sql"
assert_eq "$(q "SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.tables WHERE table_schema = 'salesforce'")" \
    "account,case,contact,invoice__c,invoice_line__c,lead,opportunity" "tables"
assert_eq "$(q "SELECT string_agg(column_name || ':' || data_type, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_schema = 'salesforce' AND table_name = 'invoice__c' AND ordinal_position <= 7")" \
    "id:integer,sfid:character varying,systemmodstamp:timestamp without time zone,isdeleted:boolean,_hc_lastop:character varying,_hc_err:text,createddate:timestamp without time zone" \
    "system columns"
assert_eq "$(q "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'salesforce.invoice__c'::regclass AND attname = 'tags__c'")" \
    "character varying(4099)" "multipicklist column"
assert_eq "$(q "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'salesforce.invoice__c'::regclass AND attname = 'issued_at__c'")" \
    "timestamp without time zone" "datetime column"
assert_eq "$(q "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes WHERE schemaname = 'salesforce' AND tablename = 'account'")" \
    "account_pkey,hc_idx_account_systemmodstamp,hcu_idx_account_external_id__c,hcu_idx_account_sfid,sfrecon_idx_account_sfid_c" \
    "account indexes"
q "SELECT indexdef FROM pg_indexes WHERE indexname = 'sfrecon_idx_account_sfid_c'" >"$TMPD/idx"
assert_contains "$TMPD/idx" 'COLLATE "C"'
assert_eq "$(q "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'salesforce.account'::regclass AND NOT tgisinternal")" 0 \
    "no triggers without --triggers"

# With Connect's write path, into a schema named like a real dump's ("schema").
expect_exit 0 "$SFRECON" schema -c "$MAP" --describe "$ORG" --triggers --schema schema
cp "$TMPD/out" "$TMPD/triggers.sql"
assert_contains "$TMPD/triggers.sql" 'CREATE TABLE IF NOT EXISTS "schema"."account"'
URL=$(new_db schema_triggers)
apply "$URL" "$TMPD/triggers.sql"
apply "$URL" "$TMPD/triggers.sql"
for t in _trigger_log _trigger_log_archive _hcmeta _sf_event_log; do
    assert_eq "$(q "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'schema' AND table_name = '$t'")" 1 "table $t"
done
assert_eq "$(q "SELECT string_agg(tgname, ',' ORDER BY tgname) FROM pg_trigger WHERE tgrelid = 'schema.\"case\"'::regclass AND NOT tgisinternal")" \
    "hc_case_logtrigger,hc_case_status_trigger" "case triggers"
q 'INSERT INTO schema.account (name) VALUES ($$O'"'"'Brien$$)'
q "INSERT INTO schema.lead (lastname, company) VALUES ('L', 'C')"
assert_eq "$(q "SELECT string_agg(state || ':' || action || ':' || table_name, ',' ORDER BY id) FROM schema._trigger_log")" \
    "NEW:INSERT:account,READONLY:INSERT:lead" "trigger log states"
assert_eq "$(q "SELECT count(*) FROM schema._trigger_log WHERE \"values\" LIKE '%_hc_lastop%'")" 0 "status columns not logged"
# The DDL from the plain run applied on top of the trigger one changes nothing harmful.
expect_exit 0 "$SFRECON" schema -c "$MAP" --describe "$ORG" --schema schema
apply "$URL" "$TMPD/out"

# SFRECON_DESCRIBE stands in for --describe.
expect_exit 0 env SFRECON_DESCRIBE="$ORG" "$SFRECON" schema -c "$MAP"
cmp -s "$TMPD/out" "$TMPD/plain.sql" || fail "SFRECON_DESCRIBE output differs from --describe"

# ---- errors: exit 2, named ----
expect_exit 2 env -u SFRECON_DESCRIBE "$SFRECON" schema -c "$MAP"
assert_contains "$TMPD/err" "--describe"
expect_exit 2 "$SFRECON" schema -c "$MAP" --describe "$ORG" --bogus
assert_contains "$TMPD/err" "unknown option '--bogus'"
expect_exit 2 "$SFRECON" schema -c "$MAP" --describe "$ORG" extra
cat >"$TMPD/bad.json" <<'EOF'
{"version": 1,
 "mappings": [
  {"object_name": "Account",
   "config": {"access": "read_write", "fields": {"Id": {}, "Name": {}}}},
  {"object_name": "Contact",
   "config": {"access": "sometimes", "fields": {"Id": {}}}}
 ]}
EOF
expect_exit 2 "$SFRECON" schema -c "$TMPD/bad.json" --describe "$ORG"
assert_contains "$TMPD/err" "bad.json:6: mappings[1].config.access"
assert_eq "$(wc -c <"$TMPD/out" | tr -d ' ')" 0 "nothing on stdout on error"
printf '{"version": 1,\n "mappings": [\n  {"object_name": "Account",\n' >"$TMPD/trunc.json"
expect_exit 2 "$SFRECON" schema -c "$TMPD/trunc.json" --describe "$ORG"
assert_contains "$TMPD/err" "trunc.json:"
cat >"$TMPD/nofield.json" <<'EOF'
{"version": 1,
 "mappings": [
  {"object_name": "Account",
   "config": {"access": "read_only", "fields": {"Id": {}, "Nope__c": {}}}}
 ]}
EOF
expect_exit 2 "$SFRECON" schema -c "$TMPD/nofield.json" --describe "$ORG"
assert_contains "$TMPD/err" "mappings[0].config.fields.Nope__c"
expect_exit 2 "$SFRECON" schema -c "$TMPD/missing.json" --describe "$ORG"
expect_exit 0 "$SFRECON" schema --help
assert_contains "$TMPD/out" "--triggers"
expect_exit 0 "$SFRECON" help schema
assert_contains "$TMPD/out" "sfrecon schema"
note "schema command ok"
