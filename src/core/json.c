/* json.c — small reads of json-c values that several modules share. */
#include "sfrecon/json.h"

const char *sfr_json_str(json_object *o, const char *key)
{
    json_object *v;
    if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}
