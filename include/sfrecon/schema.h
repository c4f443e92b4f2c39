/* schema.h — the Salesforce schema model: objects and fields from describe
 * JSON, and the parent->child graph of the mapped objects.
 *
 * Names are kept as Salesforce spells them (Account, Invoice__c); lookups by
 * name are case-insensitive. `table` and `column` are the Heroku Connect
 * names (lowercase API name). Geolocation fields map to two columns
 * <f>__latitude__s / <f>__longitude__s (see sfr_field_columns). */
#ifndef SFRECON_SCHEMA_H
#define SFRECON_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include "sfrecon/err.h"

enum sfr_ftype {
    SFR_FT_UNKNOWN = 0,
    SFR_FT_ID,
    SFR_FT_REFERENCE,
    SFR_FT_STRING,
    SFR_FT_TEXTAREA,
    SFR_FT_PICKLIST,
    SFR_FT_MULTIPICKLIST,
    SFR_FT_COMBOBOX,
    SFR_FT_BOOLEAN,
    SFR_FT_INT,
    SFR_FT_LONG,
    SFR_FT_DOUBLE,
    SFR_FT_CURRENCY,
    SFR_FT_PERCENT,
    SFR_FT_DATE,
    SFR_FT_DATETIME,
    SFR_FT_TIME,
    SFR_FT_EMAIL,
    SFR_FT_PHONE,
    SFR_FT_URL,
    SFR_FT_BASE64,
    SFR_FT_ENCRYPTEDSTRING,
    SFR_FT_LOCATION,
    SFR_FT_ADDRESS,
    SFR_FT_ANYTYPE,
};

struct sfr_field;

/* "string" -> SFR_FT_STRING; unknown names -> SFR_FT_UNKNOWN. */
enum sfr_ftype sfr_ftype_parse(const char *name);
const char *sfr_ftype_name(enum sfr_ftype t);
/* True for the text-like types (null and '' are equal for these). */
bool sfr_ftype_is_text(enum sfr_ftype t);
/* The Heroku Connect column type for a field: "varchar(255)", "double precision", ... Caller frees.
 */
char *sfr_field_pg_type(const struct sfr_field *f);

struct sfr_field {
    char *name;   /* API name, e.g. "AccountId" */
    char *column; /* mirror column, lowercase name */
    enum sfr_ftype type;
    int length; /* text length (chars), 0 if n/a */
    int precision, scale, digits;
    bool nillable, createable, updateable, calculated;
    bool external_id, unique, id_lookup, html_formatted;
    char **reference_to; /* parent object names (NULL if none) */
    int n_reference_to;
    char *relationship_name; /* NULL if none */
    char **picklist;         /* active picklist values */
    int n_picklist;
    bool cascade_delete; /* master-detail (describe cascadeDelete) */
};

struct sfr_object {
    char *name;         /* "Account" */
    char *table;        /* "account" */
    char key_prefix[4]; /* "001", "" if none */
    char *label;
    bool custom;
    struct sfr_field *fields;
    int n_fields;
};

struct sfr_schema {
    struct sfr_object *objects;
    int n_objects;
};

/* Parses one describe body (GET /sobjects/X/describe) into obj. */
enum sfr_rc sfr_object_from_describe(const char *json, size_t len, struct sfr_object *obj,
                                     struct sfr_err *err) SFR_WUR;
void sfr_object_cleanup(struct sfr_object *obj);
/* Field by API name, case-insensitive; NULL when absent. Borrowed. */
const struct sfr_field *sfr_object_field(const struct sfr_object *obj, const char *name);
int sfr_object_field_index(const struct sfr_object *obj, const char *name); /* -1 if absent */

/* Loads describe files. `path` is either a directory holding <Object>.json
 * describe bodies (any case), or a single file holding {"sobjects":[describe,...]}
 * (the sfemu org file format). When names is non-NULL only those objects are
 * loaded and a missing one is an error naming the object and the path. */
enum sfr_rc sfr_schema_load(const char *path, const char *const *names, int n_names,
                            struct sfr_schema *out, struct sfr_err *err) SFR_WUR;
/* Appends a parsed object (takes ownership of obj's contents). */
void sfr_schema_add(struct sfr_schema *s, struct sfr_object *obj);
void sfr_schema_cleanup(struct sfr_schema *s);
const struct sfr_object *sfr_schema_object(const struct sfr_schema *s, const char *name);
struct sfr_object *sfr_schema_object_mut(struct sfr_schema *s, const char *name);

/* Heroku Connect's relationship external Id: a mapped pseudo-field named
 * <RelationshipName>__<ExternalIdField> (Account__ExternalId__c on Contact;
 * a custom lookup's relationship ends in __r: Parent__r__Code__c). It is no
 * Salesforce field: Connect gives it a mirror column (the lowercase name)
 * through which an app sets the lookup by the parent's external Id, and on
 * write sends the nested reference {"Account": {"ExternalId__c": "..."}}. */
struct sfr_relext {
    const char *name;            /* the pseudo-field as mapped (borrowed) */
    char column[128];            /* its mirror column: lowercase name */
    const struct sfr_field *ref; /* the lookup it sets (AccountId) */
    const char *relationship;    /* "Account" (borrowed from ref) */
    const char *parent;          /* parent object name (borrowed from ref) */
    char ext_field[80];          /* "ExternalId__c" as spelled in the name */
    const struct sfr_field *ext; /* the parent's field when its describe is in s, else NULL */
};
/* Resolves name as a relationship external Id of obj: true and *out filled
 * when a reference field's relationshipName followed by "__" prefixes name
 * (case-insensitive) and something follows. When the parent's describe is in
 * s (may be NULL), the rest must name one of its fields that is an external
 * Id or idLookup. */
bool sfr_relext_resolve(const struct sfr_schema *s, const struct sfr_object *obj, const char *name,
                        struct sfr_relext *out);
/* Appends the nested reference JSON that sets the lookup by the parent's
 * external Id: {"Account":{"ExternalId__c":"value"}} (value JSON-escaped). */
struct sfr_buf;
void sfr_relext_json(const struct sfr_relext *r, const char *value, struct sfr_buf *out);
/* The nested references of one record as one JSON object, for the
 * relationship external Ids rx[0..n) whose value (values[i], NULL = none)
 * is set and whose lookup is not written otherwise (lookup_set[i] false;
 * lookup_set may be NULL): {"Account":{"External_Id__c":"A-1"},...}.
 * NULL when there is none (caller frees). */
char *sfr_relext_refs(const struct sfr_relext *rx, int n, const char *const *values,
                      const bool *lookup_set);

/* A reference that the load order cannot satisfy in one pass. */
struct sfr_deferred_ref {
    const char *object; /* child object (borrowed from the schema) */
    const char *field;  /* reference field */
    const char *parent; /* referenced object */
};

/* Topological order of all objects in s, parents first (only references
 * between objects present in s count). Cycles, self-lookups included, are
 * broken by deferring references; those are returned in *deferred (caller
 * frees the array; strings are borrowed from s). order[] receives indexes into
 * s->objects and must hold s->n_objects entries. Deterministic. */
void sfr_schema_order(const struct sfr_schema *s, int *order, struct sfr_deferred_ref **deferred,
                      int *n_deferred);

#endif
