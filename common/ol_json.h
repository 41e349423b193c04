/* ol_json — JSON lines <-> Avro values, and the validation rules every
 * input record passes (in `opsledger produce` and in every service).
 *
 * Mapping (walks the schema's own JSON, so logical types are known):
 *   enum        "SYMBOL"
 *   date        "2026-11-09"                      (Avro int days)
 *   timestamp   "2026-11-09T10:00:00Z" or millis  (Avro long ms)
 *   ["null",T]  null or a plain T value (also Avro-JSON {"T": v} accepted)
 *   record      object; a missing field takes its schema default, else error
 *   array       array
 * Unknown fields are errors (a typo must not vanish silently).
 * Errors read like: field "minutes": expected int, got "ten"
 * (the caller prefixes "line 17: ").
 *
 * Files: ol_json.c holds JSON -> Avro (and the helpers the others share,
 * declared in the private ol_json_int.h); ol_json_out.c Avro -> JSON;
 * ol_validate.c ol_validate(). */
#ifndef OL_JSON_H
#define OL_JSON_H

#include "ol_schema.h"

#include <avro.h>
#include <jansson.h>

/* Fills *out, an instance of s->iface created by the caller with
 * avro_generic_value_new(s->iface, out) (reset first if reused).
 * Returns 0, or -1 with err. */
int ol_json_to_avro(const ol_schema *s, json_t *obj, avro_value_t *out, char *err, size_t errlen);
/* Parses one line of text (not NUL-terminated necessarily) then maps it. */
int ol_json_line_to_avro(const ol_schema *s, const char *line, size_t len, avro_value_t *out, char *err,
                         size_t errlen);
/* New JSON object for a value of schema s; caller owns (json_decref).
 * NULL on an internal error. */
json_t *ol_json_from_avro(const ol_schema *s, avro_value_t *v);

/* The SPEC's rules, read from the schema: every date within 1970-01-01 ..
 * 2100-12-31, every timestamp within the same range, int/long fields within
 * "ol.min"/"ol.max", strings with "ol.format" "iso_week" (2026-W47) or
 * "currency" (3 upper-case letters), non-empty event_id and entity id,
 * no string holding NUL, no string over its size limit (see below).
 * Returns 0, or -1 with err naming the field: field "minutes": 2000 above maximum 1440 */
int ol_validate(const ol_schema *s, avro_value_t *v, char *err, size_t errlen);

/* String size limits (bytes, UTF-8): identifiers and names that services
 * key LMDB rows with, a derived record's key, and free text. */
#define OL_ID_MAX_BYTES 128
#define OL_KEY_MAX_BYTES 480
#define OL_TEXT_MAX_BYTES 4096
/* The limit of a string field named name (NULL: an array item or map value)
 * whose "ol.max_bytes" attribute is attr_max (0: none). */
size_t ol_validate_string_limit(const char *name, long long attr_max);

#endif
