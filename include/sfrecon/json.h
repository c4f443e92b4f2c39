/* json.h — small reads of json-c values that several modules share. */
#ifndef SFRECON_JSON_H
#define SFRECON_JSON_H

#include <json-c/json.h>

/* The string member key of object o; NULL when o is NULL, has no such
 * member, or the member is not a string. The text belongs to o. */
const char *sfr_json_str(json_object *o, const char *key);

#endif
