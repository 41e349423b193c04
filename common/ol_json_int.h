/* ol_json_int — what the three files of ol_json share: the reduced schema
 * node (jt_type), the mapping context with its field path (jt_ctx) and the
 * error and path helpers. ol_json.c: the helpers, schema nodes and JSON ->
 * Avro; ol_json_out.c: Avro -> JSON; ol_validate.c: ol_validate(). Split
 * so that each file stays one concern; not for use outside ol_json. */
#ifndef OL_JSON_INT_H
#define OL_JSON_INT_H

#include "ol_json.h"

#include <stddef.h>
#include <stdint.h>

#define OL_JSON_MAX_DEPTH 64 /* nesting of schema types and JSON values */
#define OL_JSON_SHOW 40 /* characters of an offending value shown in errors */
#define DAY_MS 86400000LL
/* days ol_date_format can write (years 0000..9999); others stay integers */
#define DAYS_SHOWABLE(d) ((d) >= -719528 && (d) <= 2932896)

enum jt_kind { K_NULL, K_BOOLEAN, K_INT, K_LONG, K_FLOAT, K_DOUBLE, K_STRING, K_BYTES,
               K_ENUM, K_ARRAY, K_MAP, K_RECORD, K_UNION };
enum jt_logical { LT_NONE, LT_DATE, LT_TS_MILLIS };

typedef struct {
    enum jt_kind kind;
    enum jt_logical logical;
    json_t *obj;      /* type object (symbols, fields, items, attributes) or the union array; NULL for "int" */
    const char *name; /* "int", "array", or the record/enum name */
} jt_type;

typedef struct {
    const ol_schema *s;
    char *err;
    size_t errlen;
    char path[512]; /* field path of the value being mapped: rate_card[1].role */
} jt_ctx;

/* ol_json.c: errors and the field path */

/* sets err to: field "<path>": <message>; returns -1 */
__attribute__((format(printf, 2, 3))) int ol_jt_fail(jt_ctx *c, const char *fmt, ...);
/* appends .name (or [index] when name is NULL) to the path; returns the mark for ol_jt_pop */
size_t ol_jt_push(jt_ctx *c, const char *name, size_t index);
void ol_jt_pop(jt_ctx *c, size_t mark);
/* compact JSON of j, at most OL_JSON_SHOW characters (cut on a UTF-8 boundary) */
void ol_jt_render(json_t *j, char out[OL_JSON_SHOW + 8]);
/* the usual error: field "x": expected <what>, got <j><note> */
int ol_jt_bad(jt_ctx *c, const char *what, json_t *j, const char *note);
/* a JSON string of s; if s is not valid UTF-8, its non-ASCII bytes become '?' */
json_t *ol_jt_str(const char *s, size_t n);
/* resolves schema node into *t and checks that v holds that type; -1 with err */
int ol_jt_resolve(jt_ctx *c, json_t *node, avro_value_t *v, jt_type *t, int depth);
/* resolves a schema node without a value; 0, or -1 when it cannot be resolved */
int ol_jt_type(const ol_schema *s, json_t *node, jt_type *t);
/* the avro-c type of a kind */
avro_type_t ol_jt_avro_type(enum jt_kind k);

#endif
