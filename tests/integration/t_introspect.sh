#!/bin/sh
# t_introspect: the DDL `sfrecon schema` prints for the sample org applies
# cleanly to a fresh database, and sfr_introspect() reads back exactly what it
# created: every table, every column with its type and length, the
# hcu_idx_*/hc_idx_* indexes and the "C"-order sfid index. Then the catalog
# details Connect databases carry in practice: quoted reserved names,
# ucs_basic sfid, expression and partial indexes, user foreign keys,
# triggers, composite primary keys, and a schema that does not exist.
#
# The driver tests/introspect/dump.c is compiled here against libsfr.a and
# prints what introspection read, one fact a line (see its header).
. "$TOP/tests/integration/lib.sh"
cd "$TOP" || exit 1

MAP=tests/data/mapping-sample.json
ORG=tests/sfemu/org/sample-org.json
DUMP="$TMPD/dump"

cc_driver "$DUMP" tests/introspect/dump.c || fail "cannot build the introspection driver"

# ---- apply the DDL ----
URL=$(new_db lint_introspect)
expect_exit 0 "$SFRECON" schema -c "$MAP" --describe "$ORG"
cp "$TMPD/out" "$TMPD/ddl.sql"
psql -q -X -v ON_ERROR_STOP=1 "$URL" -f "$TMPD/ddl.sql" >"$TMPD/psql.out" 2>&1 \
    || { cat "$TMPD/psql.out"; fail "the DDL of sfrecon schema does not apply"; }
# idempotent: a second application changes nothing and does not fail
psql -q -X -v ON_ERROR_STOP=1 "$URL" -f "$TMPD/ddl.sql" >"$TMPD/psql.out" 2>&1 \
    || { cat "$TMPD/psql.out"; fail "the DDL does not apply twice"; }

"$DUMP" "$URL" salesforce >"$TMPD/got" || fail "introspection failed"
note "introspected $(grep -c '^column' "$TMPD/got") columns in $(grep -c '^table' "$TMPD/got") tables"

# ---- expectations derived from the DDL text ----
# Column lines:  "name" TYPE [COLLATE "x"] [NOT NULL] [PRIMARY KEY],
# Index lines:   CREATE [UNIQUE] INDEX IF NOT EXISTS "n" ON "s"."t" ("col" [COLLATE "C"]);
awk '
function unq(s) { gsub(/"/, "", s); return s }
/^CREATE TABLE/ {
    t = $0; sub(/^.*\./, "", t); sub(/ *\($/, "", t); t = unq(t); intable = 1
    print "table\t" t; next
}
intable && /^\);/ { intable = 0; next }
intable {
    line = $0; sub(/,$/, "", line); sub(/^ +/, "", line)
    name = line; sub(/ .*/, "", name); name = unq(name)
    rest = line; sub(/^[^ ]+ +/, "", rest)
    nn = "null"; coll = "-"
    if (rest ~ /PRIMARY KEY/ || rest ~ /NOT NULL/) nn = "notnull"
    if (match(rest, /COLLATE "[^"]+"/)) { coll = substr(rest, RSTART + 9, RLENGTH - 10) }
    sub(/ COLLATE "[^"]+"/, "", rest); sub(/ PRIMARY KEY/, "", rest); sub(/ NOT NULL/, "", rest)
    sub(/ DEFAULT .*/, "", rest)
    type = rest; len = -1
    if (type == "serial") { type = "integer" }
    if (type ~ /^varchar\(/) { len = type; gsub(/[^0-9]/, "", len); type = "character varying(" len ")" }
    if (type == "timestamp") type = "timestamp without time zone"
    if (type == "timestamptz") type = "timestamp with time zone"
    print "column\t" t "\t" name "\t" type "\t" len "\t" nn "\t" coll
    colcoll[t "." name] = coll
    if (line ~ /PRIMARY KEY/) print "index\t" t "\t" t "_pkey\tunique\t" name "\t-"
    next
}
/^CREATE (UNIQUE )?INDEX/ {
    u = ($2 == "UNIQUE") ? "unique" : "plain"
    n = $0; sub(/^.*EXISTS +/, "", n); sub(/ .*/, "", n)
    tb = $0; sub(/^.* ON [^.]+\./, "", tb); sub(/ .*/, "", tb)
    k = $0; sub(/^[^(]*\(/, "", k); sub(/\);$/, "", k)
    c = "-"
    if (match(k, /COLLATE "[^"]+"/)) { c = substr(k, RSTART + 9, RLENGTH - 10); sub(/ COLLATE "[^"]+"/, "", k) }
    gsub(/", "/, ",", k)
    # an index key without COLLATE takes the collation of its column
    if (c == "-" && colcoll[unq(tb) "." unq(k)] != "") c = colcoll[unq(tb) "." unq(k)]
    print "index\t" unq(tb) "\t" unq(n) "\t" u "\t" unq(k) "\t" c
}' "$TMPD/ddl.sql" >"$TMPD/want.raw"

grep -c '^table' "$TMPD/want.raw" | grep -qx 7 || { cat "$TMPD/want.raw"; fail "expected 7 tables in the DDL"; }
sort "$TMPD/want.raw" >"$TMPD/want"
# the dump prints more per index (corder, partial); compare the DDL's view of it
awk -F'\t' '$1 == "table" || $1 == "column" { print; next }
            $1 == "index" { print $1 "\t" $2 "\t" $3 "\t" $4 "\t" $5 "\t" $6 }' "$TMPD/got" \
    | sort >"$TMPD/got.cmp"
if ! diff -u "$TMPD/want" "$TMPD/got.cmp" >"$TMPD/diff"; then
    cat "$TMPD/diff"
    fail "introspection differs from the DDL that was applied"
fi
note "tables, columns and indexes read back exactly as created ($(wc -l <"$TMPD/want") facts)"

# ---- independent checks against the describe (sample-org.md) ----
assert_contains "$TMPD/got" "$(printf 'column\taccount\tname\tcharacter varying(255)\t255\tnull\t-')"
assert_contains "$TMPD/got" "$(printf 'column\taccount\tnumberofemployees\tinteger\t-1')"
assert_contains "$TMPD/got" "$(printf 'column\tcontact\tbirthdate\tdate\t-1')"
assert_contains "$TMPD/got" "$(printf 'column\tinvoice__c\ttags__c\tcharacter varying(4099)\t4099')"
assert_contains "$TMPD/got" "$(printf 'column\tinvoice__c\ttotal__c\tdouble precision\t-1')"
assert_contains "$TMPD/got" "$(printf 'column\tinvoice__c\tissued_at__c\ttimestamp without time zone')"
assert_contains "$TMPD/got" "$(printf 'column\tinvoice__c\tpaid__c\tboolean')"
assert_contains "$TMPD/got" "$(printf 'column\tinvoice_line__c\tinvoice__c\tcharacter varying(18)\t18')"
for t in account contact opportunity case lead invoice__c invoice_line__c; do
    # sfid is COLLATE ucs_basic, as Connect creates it today, and so is its index
    assert_contains "$TMPD/got" "$(printf 'index\t%s\thcu_idx_%s_sfid\tunique\tsfid\tucs_basic' "$t" "$t")"
    assert_contains "$TMPD/got" "$(printf 'index\t%s\thc_idx_%s_systemmodstamp\tplain\tsystemmodstamp' "$t" "$t")"
    # the index that serves sfid COLLATE "C" range scans is found
    c=$(awk -F'\t' -v t="$t" '$1 == "corder" && $2 == t { print $3 }' "$TMPD/got")
    [ -n "$c" ] && [ "$c" != "-" ] || fail "$t: no index recognised as serving \"C\"-order sfid scans"
    assert_contains "$TMPD/got" "$(printf 'pkey\t%s\t%s_pkey\tid' "$t" "$t")"
done

# ---- what real Connect databases carry ----
psql -q -X -v ON_ERROR_STOP=1 "$URL" >"$TMPD/psql.out" 2>&1 <<'SQL' || { cat "$TMPD/psql.out"; fail "extra DDL"; }
CREATE TABLE salesforce."user" (id serial, sfid varchar(18) COLLATE "ucs_basic" NOT NULL,
    "end" date, "Mixed Case" text, code char(3), amount numeric(16,2), seen timestamptz,
    PRIMARY KEY (id, sfid));
CREATE UNIQUE INDEX hcu_idx_user_sfid ON salesforce."user" (sfid);
CREATE INDEX user_lower ON salesforce."user" (lower("Mixed Case"));
CREATE INDEX user_part ON salesforce."user" (sfid COLLATE "C") WHERE "end" IS NOT NULL;
CREATE INDEX user_hash ON salesforce."user" USING hash (code);
ALTER TABLE salesforce.contact ADD CONSTRAINT contact_account_fk FOREIGN KEY (accountid)
    REFERENCES salesforce.account (sfid) ON UPDATE RESTRICT ON DELETE RESTRICT;
CREATE FUNCTION salesforce.noop() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
CREATE TRIGGER hc_contact_status BEFORE INSERT OR UPDATE ON salesforce.contact
    FOR EACH ROW EXECUTE FUNCTION salesforce.noop();
CREATE TRIGGER off_one AFTER INSERT ON salesforce.contact
    FOR EACH ROW EXECUTE FUNCTION salesforce.noop();
ALTER TABLE salesforce.contact DISABLE TRIGGER off_one;
DROP INDEX salesforce.sfrecon_idx_lead_sfid_c;
CREATE INDEX lead_c_expr ON salesforce.lead (((sfid)::text) COLLATE "C");
DROP INDEX salesforce.sfrecon_idx_opportunity_sfid_c;
ALTER TABLE salesforce.opportunity ALTER COLUMN sfid TYPE varchar(18) COLLATE "default";
ALTER TABLE salesforce.case ALTER COLUMN sfid TYPE varchar(18) COLLATE "POSIX";
DROP INDEX salesforce.sfrecon_idx_case_sfid_c;
SQL
"$DUMP" "$URL" salesforce >"$TMPD/got2" || fail "introspection failed (2)"
G="$TMPD/got2"
assert_contains "$G" "$(printf 'table\tuser')"
assert_contains "$G" "$(printf 'column\tuser\tsfid\tcharacter varying(18)\t18\tnotnull\tucs_basic')"
assert_contains "$G" "$(printf 'column\tuser\tend\tdate\t-1\tnull\t-')"
assert_contains "$G" "$(printf 'column\tuser\tMixed Case\ttext\t-1')"
assert_contains "$G" "$(printf 'column\tuser\tcode\tcharacter(3)\t3')"
assert_contains "$G" "$(printf 'column\tuser\tamount\tnumeric(16,2)\t-1')"
assert_contains "$G" "$(printf 'column\tuser\tseen\ttimestamp with time zone\t-1')"
assert_contains "$G" "$(printf 'pkey\tuser\tuser_pkey\tid,sfid')"
# a ucs_basic sfid makes its plain unique index serve byte-order scans
assert_contains "$G" "$(printf 'corder\tuser\thcu_idx_user_sfid')"
assert_contains "$G" "$(printf 'index\tuser\tuser_lower\tplain\tlower("Mixed Case")\t-\t-\t-')"
assert_contains "$G" "$(printf 'index\tuser\tuser_part\tplain\tsfid\tC\t-\tpartial')"
assert_contains "$G" "$(printf 'fkey\tcontact\tcontact_account_fk\taccountid\tsalesforce.account(sfid)')"
assert_contains "$G" "$(printf 'trigger\tcontact\thc_contact_status\tenabled')"
assert_contains "$G" "$(printf 'trigger\tcontact\toff_one\tdisabled')"
# an expression index over (sfid::text COLLATE "C") serves (before the ucs_basic unique
# index: queries say COLLATE "C"); no index at all in a default collation does not;
# a column in POSIX collation makes the plain unique index serve
assert_contains "$G" "$(printf 'corder\tlead\tlead_c_expr')"
assert_contains "$G" "$(printf 'corder\topportunity\t-')"
assert_contains "$G" "$(printf 'corder\tcase\thcu_idx_case_sfid')"
assert_contains "$G" "$(printf 'column\tcase\tsfid\tcharacter varying(18)\t18\tnull\tPOSIX')"

# ---- a schema that does not exist is not an error ----
"$DUMP" "$URL" no_such_schema >"$TMPD/got3" || fail "introspecting an absent schema failed"
assert_eq "$(cat "$TMPD/got3")" "$(printf 'schema\tno_such_schema\tabsent')" "absent schema"
# a schema name is a parameter, never spliced into SQL
"$DUMP" "$URL" "x'; DROP TABLE salesforce.account; --" >"$TMPD/got4" || fail "odd schema name"
"$DUMP" "$URL" salesforce | grep -q "$(printf '^table\taccount$')" || fail "account was dropped"
note "ok"
