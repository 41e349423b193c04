/* ol_json — JSON <-> Avro generic values, and the SPEC's validation rules.
 *
 * Why it walks the schema's own JSON (s->json) beside the avro_value_t:
 * avro-c does not expose logical types (date, timestamp-millis), field
 * defaults or our "ol.*" attributes, and those decide both the mapping
 * ("2026-11-09" is an Avro int) and the validation (ol.min/ol.max, ol.format).
 * Every schema node is first reduced to a jt_type (kind, logical type, the
 * object carrying symbols/fields/items/attributes); the avro value's own type
 * is checked against it, so a schema/value mismatch is an error, not a crash.
 *
 * Errors name the field by a dotted path (rate_card[1].day_rate_minor) and
 * show the offending JSON compactly, cut at 40 characters. Bytes use the
 * Avro-JSON convention (one code point 0..255 per byte) so that binary
 * payloads, such as a dead letter's record, survive the trip losslessly.
 * Nothing here aborts on bad input; every allocation and avro call is checked.
 * Not supported: Avro "fixed" (no opsledger schema uses it; it is reported as
 * an unresolvable type). NaN/infinite floats are written as null. */
#include "ol_json.h"

#include "ol_time.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OL_JSON_MAX_DEPTH 64
#define OL_JSON_SHOW 40 /* characters of an offending value shown in errors */
#define DAY_MS 86400000LL
/* timestamps the SPEC allows: [1970-01-01T00:00:00Z, 2101-01-01T00:00:00Z) */
#define OL_TS_END ((int64_t)(OL_DATE_MAX + 1) * DAY_MS)
/* days ol_date_format can write (years 0000..9999); others stay integers */
#define DAYS_SHOWABLE(d) ((d) >= -719528 && (d) <= 2932896)

enum jt_kind { K_NULL, K_BOOLEAN, K_INT, K_LONG, K_FLOAT, K_DOUBLE, K_STRING, K_BYTES,
               K_ENUM, K_ARRAY, K_MAP, K_RECORD, K_UNION };
enum jt_logical { LT_NONE, LT_DATE, LT_TS_MILLIS };

static const char *const kind_names[] = {"null",   "boolean", "int",  "long", "float", "double", "string",
                                         "bytes",  "enum",    "array", "map", "record", "union"};
static const avro_type_t kind_avro[] = {AVRO_NULL,  AVRO_BOOLEAN, AVRO_INT32, AVRO_INT64, AVRO_FLOAT,
                                        AVRO_DOUBLE, AVRO_STRING, AVRO_BYTES, AVRO_ENUM,  AVRO_ARRAY,
                                        AVRO_MAP,   AVRO_RECORD,  AVRO_UNION};

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

/* ------------------------------------------------------------ helpers */

__attribute__((format(printf, 2, 3))) static int fail(jt_ctx *c, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    if (!c->err || c->errlen == 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->path[0])
        snprintf(c->err, c->errlen, "field \"%s\": %s", c->path, msg);
    else
        snprintf(c->err, c->errlen, "%s", msg);
    return -1;
}

static size_t push(jt_ctx *c, const char *name, size_t index)
{
    size_t mark = strlen(c->path);

    if (name)
        snprintf(c->path + mark, sizeof c->path - mark, "%s%s", mark ? "." : "", name);
    else
        snprintf(c->path + mark, sizeof c->path - mark, "[%zu]", index);
    return mark;
}

static void pop(jt_ctx *c, size_t mark) { c->path[mark] = '\0'; }

/* compact JSON of j, at most OL_JSON_SHOW characters (cut on a UTF-8 boundary) */
static void render(json_t *j, char out[OL_JSON_SHOW + 8])
{
    char *d = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    size_t n = d ? strlen(d) : 0;

    if (n > OL_JSON_SHOW) {
        n = OL_JSON_SHOW - 3;
        while (n > 0 && ((unsigned char)d[n] & 0xC0) == 0x80)
            n--;
        memcpy(d + n, "...", 4);
    }
    snprintf(out, OL_JSON_SHOW + 8, "%s", d ? d : "?");
    free(d);
}

/* the usual error: field "x": expected <what>, got <j><note> */
static int bad(jt_ctx *c, const char *what, json_t *j, const char *note)
{
    char shown[OL_JSON_SHOW + 8];

    render(j, shown);
    return fail(c, "expected %s, got %s%s", what, shown, note ? note : "");
}

/* a JSON string of s; if s is not valid UTF-8, its non-ASCII bytes become '?' */
static json_t *str_json(const char *s, size_t n)
{
    json_t *j = json_stringn(s, n);
    char *buf;

    if (j || !(buf = malloc(n + 1)))
        return j;
    for (size_t i = 0; i < n; i++)
        buf[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
    j = json_stringn(buf, n);
    free(buf);
    return j;
}

/* Avro-JSON bytes: each byte is the code point 0..255 */
static json_t *bytes_json(const unsigned char *b, size_t n)
{
    char *buf = n < SIZE_MAX / 2 ? malloc(n * 2 + 1) : NULL;
    size_t o = 0;
    json_t *j;

    if (!buf)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (b[i] >= 0x80)
            buf[o++] = (char)(0xC0 | (b[i] >> 6));
        buf[o++] = (char)(b[i] < 0x80 ? b[i] : (0x80 | (b[i] & 0x3F)));
    }
    j = json_stringn(buf, o);
    free(buf);
    return j;
}

/* the reverse (jansson strings are valid UTF-8); -1 on a code point above 255 */
static int json_bytes(json_t *j, unsigned char **out, size_t *outn)
{
    const unsigned char *s = (const unsigned char *)json_string_value(j);
    size_t n = json_string_length(j), o = 0;
    unsigned char *buf = malloc(n + 1);

    if (!buf)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < 0x80)
            buf[o++] = s[i];
        else if ((s[i] == 0xC2 || s[i] == 0xC3) && i + 1 < n)
            buf[o++] = (unsigned char)(((s[i] & 0x03) << 6) | (s[i + 1] & 0x3F)), i++;
        else
            return free(buf), -1;
    }
    *out = buf;
    *outn = o;
    return 0;
}

/* ------------------------------------------------------------ schema nodes */

static int kind_of(const char *name, enum jt_kind *k)
{
    for (size_t i = 0; i < sizeof kind_names / sizeof kind_names[0]; i++)
        if (i != K_UNION && strcmp(name, kind_names[i]) == 0) {
            *k = (enum jt_kind)i;
            return 0;
        }
    if (strcmp(name, "error") == 0) /* an Avro error is a record */
        return *k = K_RECORD, 0;
    return -1;
}

/* Reduces a schema node (primitive name, named-type reference, type object
 * or union array) to a jt_type. -1 when it cannot be resolved. */
static int type_of(const ol_schema *s, json_t *node, jt_type *t)
{
    memset(t, 0, sizeof *t);
    for (int hops = 0; hops < 16; hops++) {
        const char *str = json_string_value(node), *ts, *nm, *lt;

        if (json_is_array(node)) {
            t->kind = K_UNION, t->obj = node, t->name = "union";
            return 0;
        }
        if (str) {
            if (kind_of(str, &t->kind) == 0)
                return t->kind <= K_BYTES ? (t->name = str, 0) : -1;
            node = ol_schema_named_type(s, str); /* "Activity": record/enum/fixed node */
            continue;
        }
        if (!json_is_object(node))
            return -1;
        ts = json_string_value(json_object_get(node, "type"));
        if (!ts || kind_of(ts, &t->kind)) { /* {"type": {...}}, {"type": [...]}, {"type": "Activity"} */
            node = json_object_get(node, "type");
            continue;
        }
        t->obj = node;
        nm = json_string_value(json_object_get(node, "name"));
        t->name = (t->kind == K_RECORD || t->kind == K_ENUM) && nm ? nm : kind_names[t->kind];
        lt = json_string_value(json_object_get(node, "logicalType"));
        if (lt && t->kind == K_INT && !strcmp(lt, "date"))
            t->logical = LT_DATE;
        else if (lt && t->kind == K_LONG && !strcmp(lt, "timestamp-millis"))
            t->logical = LT_TS_MILLIS;
        return 0;
    }
    return -1;
}

/* resolves node and checks that v holds that type */
static int resolve(jt_ctx *c, json_t *node, avro_value_t *v, jt_type *t, int depth)
{
    char shown[OL_JSON_SHOW + 8];

    if (depth > OL_JSON_MAX_DEPTH)
        return fail(c, "nested deeper than %d levels", OL_JSON_MAX_DEPTH);
    if (type_of(c->s, node, t)) {
        render(node, shown);
        return fail(c, "schema: cannot resolve type %s", shown);
    }
    if (avro_value_get_type(v) != kind_avro[t->kind])
        return fail(c, "schema: avro value is not of type %s", t->name);
    return 0;
}

static const char *short_name(const char *n)
{
    const char *dot = strrchr(n, '.');
    return dot ? dot + 1 : n;
}

static const char *field_name(json_t *f)
{
    const char *n = json_string_value(json_object_get(f, "name"));
    return n ? n : "";
}

static int has_field(json_t *fields, const char *name)
{
    size_t i;
    json_t *f;

    json_array_foreach(fields, i, f) if (!strcmp(field_name(f), name)) return 1;
    return 0;
}

static int enum_index(const jt_type *t, const char *sym)
{
    size_t i;
    json_t *e;

    json_array_foreach(json_object_get(t->obj, "symbols"), i, e) {
        if (json_is_string(e) && !strcmp(json_string_value(e), sym))
            return (int)i;
    }
    return -1;
}

/* Could JSON j be a value of t? strict: also by content (range, symbol, fields). */
static int fits(const jt_type *t, json_t *j, int strict)
{
    json_int_t i = json_integer_value(j);
    const char *str = json_string_value(j), *k;
    json_t *val;
    int32_t days;
    int64_t ms;

    switch (t->kind) {
    case K_NULL: return json_is_null(j);
    case K_BOOLEAN: return json_is_boolean(j);
    case K_INT:
        if (json_is_integer(j))
            return !strict || (i >= INT32_MIN && i <= INT32_MAX);
        return t->logical == LT_DATE && str && (!strict || ol_date_parse(str, &days) == 0);
    case K_LONG:
        return json_is_integer(j) || (t->logical == LT_TS_MILLIS && str && (!strict || ol_ts_parse(str, &ms) == 0));
    case K_FLOAT:
    case K_DOUBLE: return json_is_number(j);
    case K_STRING:
    case K_BYTES: return str != NULL;
    case K_ENUM: return str && (!strict || enum_index(t, str) >= 0);
    case K_ARRAY: return json_is_array(j);
    case K_MAP: return json_is_object(j);
    case K_RECORD:
        if (strict)
            json_object_foreach(j, k, val) if (!has_field(json_object_get(t->obj, "fields"), k)) return 0;
        return json_is_object(j);
    case K_UNION: break;
    }
    return 0;
}

static int nullable(const ol_schema *s, json_t *node)
{
    jt_type t, b;
    size_t i;
    json_t *br;

    if (type_of(s, node, &t) || t.kind != K_UNION)
        return 0;
    json_array_foreach(t.obj, i, br) if (type_of(s, br, &b) == 0 && b.kind == K_NULL) return 1;
    return 0;
}

/* ------------------------------------------------------------ JSON -> Avro */

static int to_avro(jt_ctx *c, json_t *node, json_t *j, avro_value_t *v, int depth);

static int record_to_avro(jt_ctx *c, const jt_type *t, json_t *j, avro_value_t *v, int depth)
{
    json_t *fields = json_object_get(t->obj, "fields"), *f, *val;
    const char *key;
    size_t i, mark;
    int rc = 0;

    if (!json_is_object(j))
        return bad(c, t->name, j, NULL);
    json_object_foreach(j, key, val) if (!has_field(fields, key)) {
        mark = push(c, key, 0);
        fail(c, "not in schema %s", t->name);
        pop(c, mark);
        return -1;
    }
    json_array_foreach(fields, i, f) {
        const char *name = json_string_value(json_object_get(f, "name"));
        json_t *ftype = json_object_get(f, "type"), *jv;
        avro_value_t child;

        if (!name || !ftype)
            return fail(c, "schema: record %s: field %zu has no name or type", t->name, i);
        mark = push(c, name, 0);
        jv = json_object_get(j, name);
        if (!jv)
            jv = json_object_get(f, "default");
        if (!jv && nullable(c->s, ftype))
            jv = json_null();
        if (!jv)
            rc = fail(c, "missing");
        else if (avro_value_get_by_name(v, name, &child, NULL))
            rc = fail(c, "schema: avro record %s has no such field", t->name);
        else
            rc = to_avro(c, ftype, jv, &child, depth + 1);
        pop(c, mark);
        if (rc)
            return -1;
    }
    return 0;
}

static int union_to_avro(jt_ctx *c, const jt_type *t, json_t *j, avro_value_t *v, int depth)
{
    size_t n = json_array_size(t->obj), i, o = 0;
    char names[256] = "";
    avro_value_t branch;
    int pick = -1;
    jt_type b;
    json_t *br;

    if (json_is_object(j) && json_object_size(j) == 1) { /* Avro-JSON {"string": "x"} */
        void *it = json_object_iter(j);
        const char *k = json_object_iter_key(it);
        json_array_foreach(t->obj, i, br) if (type_of(c->s, br, &b) == 0 && b.kind != K_NULL &&
                                              !strcmp(short_name(k), short_name(b.name)))
        {
            pick = (int)i, j = json_object_iter_value(it);
            break;
        }
    }
    for (int strict = 1; pick < 0 && strict >= 0; strict--)
        json_array_foreach(t->obj, i, br) if (type_of(c->s, br, &b) == 0 && fits(&b, j, strict)) {
            pick = (int)i;
            break;
        }
    if (pick < 0) { /* expected null or string, got 5 */
        json_array_foreach(t->obj, i, br) {
            int w = snprintf(names + o, sizeof names - o, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ",
                             type_of(c->s, br, &b) ? "?" : b.name);
            if (w < 0 || (size_t)w >= sizeof names - o)
                break;
            o += (size_t)w;
        }
        return bad(c, names, j, NULL);
    }
    if (avro_value_set_branch(v, pick, &branch))
        return fail(c, "avro: cannot select union branch %d: %s", pick, avro_strerror());
    return to_avro(c, json_array_get(t->obj, (size_t)pick), j, &branch, depth + 1);
}

static int enum_to_avro(jt_ctx *c, const jt_type *t, json_t *j, avro_value_t *v)
{
    char list[512] = "", shown[OL_JSON_SHOW + 8];
    const char *str = json_string_value(j);
    int idx = str ? enum_index(t, str) : -1;
    size_t i, o = 0;
    json_t *e;

    if (idx >= 0)
        return avro_value_set_enum(v, idx) ? fail(c, "avro: %s", avro_strerror()) : 0;
    if (!str)
        return bad(c, "an enum symbol", j, NULL);
    json_array_foreach(json_object_get(t->obj, "symbols"), i, e) {
        const char *sym = json_string_value(e);
        int w = snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "", sym ? sym : "?");
        if (w < 0 || (size_t)w >= sizeof list - o)
            break;
        o += (size_t)w;
    }
    render(j, shown);
    return fail(c, "unknown symbol %s (expected one of %s)", shown, list);
}

static int scalar_to_avro(jt_ctx *c, const jt_type *t, json_t *j, avro_value_t *v)
{
    const char *str = json_string_value(j);
    json_int_t i = json_integer_value(j);
    unsigned char *buf = NULL;
    size_t n = 0;
    int32_t days;
    int64_t ms;
    int rc;

    switch (t->kind) {
    case K_NULL:
        if (!json_is_null(j))
            return bad(c, "null", j, NULL);
        rc = avro_value_set_null(v);
        break;
    case K_BOOLEAN:
        if (!json_is_boolean(j))
            return bad(c, "boolean", j, NULL);
        rc = avro_value_set_boolean(v, json_is_true(j));
        break;
    case K_INT:
        if (t->logical == LT_DATE && (str || !json_is_integer(j) || i < INT32_MIN || i > INT32_MAX)) {
            if (!str || ol_date_parse(str, &days))
                return bad(c, "date YYYY-MM-DD", j, NULL);
            i = days;
        } else if (!json_is_integer(j) || i < INT32_MIN || i > INT32_MAX) {
            return bad(c, "int", j, json_is_integer(j) ? " (out of int32 range)" : NULL);
        }
        rc = avro_value_set_int(v, (int32_t)i);
        break;
    case K_LONG:
        if (t->logical == LT_TS_MILLIS && !json_is_integer(j)) {
            if (!str || ol_ts_parse(str, &ms))
                return bad(c, "RFC 3339 timestamp", j, NULL);
            i = ms;
        } else if (!json_is_integer(j)) {
            return bad(c, "long", j, NULL);
        }
        rc = avro_value_set_long(v, (int64_t)i);
        break;
    case K_FLOAT:
    case K_DOUBLE:
        if (!json_is_number(j))
            return bad(c, t->name, j, NULL);
        rc = t->kind == K_FLOAT ? avro_value_set_float(v, (float)json_number_value(j))
                                : avro_value_set_double(v, json_number_value(j));
        break;
    case K_STRING:
        if (!str)
            return bad(c, "string", j, NULL);
        if (strlen(str) != json_string_length(j))
            return fail(c, "string contains a NUL character");
        rc = avro_value_set_string_len(v, str, json_string_length(j) + 1);
        break;
    case K_BYTES:
        if (!str || json_bytes(j, &buf, &n))
            return bad(c, "bytes as a string of code points 0-255", j, NULL);
        rc = avro_value_set_bytes(v, buf, n);
        free(buf);
        break;
    default:
        return fail(c, "schema: unexpected type %s", t->name);
    }
    return rc ? fail(c, "avro: %s", avro_strerror()) : 0;
}

static int to_avro(jt_ctx *c, json_t *node, json_t *j, avro_value_t *v, int depth)
{
    size_t i = 0, mark;
    avro_value_t child;
    const char *key;
    jt_type t;
    json_t *e;
    void *it;
    int rc;

    if (resolve(c, node, v, &t, depth))
        return -1;
    switch (t.kind) {
    case K_RECORD: return record_to_avro(c, &t, j, v, depth);
    case K_UNION: return union_to_avro(c, &t, j, v, depth);
    case K_ENUM: return enum_to_avro(c, &t, j, v);
    case K_ARRAY:
    case K_MAP: /* arrays by index, maps by key; the path shows [i] or .key */
        if (t.kind == K_ARRAY ? !json_is_array(j) : !json_is_object(j))
            return bad(c, t.kind == K_ARRAY ? "array" : "object (map)", j, NULL);
        it = json_is_object(j) ? json_object_iter(j) : NULL;
        for (; t.kind == K_ARRAY ? i < json_array_size(j) : it != NULL; i++) {
            key = it ? json_object_iter_key(it) : NULL;
            e = it ? json_object_iter_value(it) : json_array_get(j, i);
            mark = push(c, key, i);
            if (key ? avro_value_add(v, key, &child, NULL, NULL) : avro_value_append(v, &child, NULL))
                rc = fail(c, "avro: %s", avro_strerror());
            else
                rc = to_avro(c, json_object_get(t.obj, key ? "values" : "items"), e, &child, depth + 1);
            pop(c, mark);
            if (rc)
                return -1;
            it = it ? json_object_iter_next(j, it) : NULL;
        }
        return 0;
    default: return scalar_to_avro(c, &t, j, v);
    }
}

int ol_json_to_avro(const ol_schema *s, json_t *obj, avro_value_t *out, char *err, size_t errlen)
{
    jt_ctx c = {.s = s, .err = err, .errlen = errlen};

    if (!s || !s->json || !out)
        return fail(&c, "no schema or value");
    if (!json_is_object(obj))
        return fail(&c, "expected a JSON object");
    if (avro_value_reset(out))
        return fail(&c, "avro: %s", avro_strerror());
    return to_avro(&c, s->json, obj, out, 0);
}

int ol_json_line_to_avro(const ol_schema *s, const char *line, size_t len, avro_value_t *out, char *err,
                         size_t errlen)
{
    jt_ctx c = {.s = s, .err = err, .errlen = errlen};
    json_error_t jerr;
    json_t *j;
    int rc;

    if (!line)
        return fail(&c, "invalid JSON: no input");
    /* any value parses, so that "5" is reported as not an object */
    j = json_loadb(line, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    if (!j)
        return fail(&c, "invalid JSON at column %d: %s", jerr.column, jerr.text);
    rc = ol_json_to_avro(s, j, out, err, errlen);
    json_decref(j);
    return rc;
}

/* ------------------------------------------------------------ Avro -> JSON */

static json_t *from_avro(const ol_schema *s, json_t *node, avro_value_t *v, int depth)
{
    jt_ctx c = {.s = s}; /* no message: NULL is the internal error */
    json_t *out = NULL, *f, *cj;
    const char *str, *key;
    avro_value_t child;
    const void *buf;
    size_t size, i;
    char text[25];
    int32_t i32;
    int64_t i64;
    double d;
    float fl;
    int ival;
    jt_type t;

    if (resolve(&c, node, v, &t, depth))
        return NULL;
    switch (t.kind) {
    case K_NULL: return json_null();
    case K_BOOLEAN: return avro_value_get_boolean(v, &ival) ? NULL : json_boolean(ival);
    case K_INT:
        if (avro_value_get_int(v, &i32))
            return NULL;
        if (t.logical != LT_DATE || !DAYS_SHOWABLE(i32))
            return json_integer(i32);
        ol_date_format(i32, text);
        return json_string(text);
    case K_LONG:
        if (avro_value_get_long(v, &i64))
            return NULL;
        if (t.logical != LT_TS_MILLIS || !DAYS_SHOWABLE(i64 / DAY_MS - (i64 < 0)))
            return json_integer((json_int_t)i64);
        ol_ts_format(i64, text);
        return json_string(text);
    case K_FLOAT:
        return avro_value_get_float(v, &fl) ? NULL : isfinite(fl) ? json_real(fl) : json_null();
    case K_DOUBLE: /* JSON has no NaN or infinity */
        return avro_value_get_double(v, &d) ? NULL : isfinite(d) ? json_real(d) : json_null();
    case K_STRING: return avro_value_get_string(v, &str, &size) ? NULL : str_json(str, size ? size - 1 : 0);
    case K_BYTES: return avro_value_get_bytes(v, &buf, &size) ? NULL : bytes_json(buf, size);
    case K_ENUM:
        if (avro_value_get_enum(v, &ival) || ival < 0)
            return NULL;
        str = json_string_value(json_array_get(json_object_get(t.obj, "symbols"), (size_t)ival));
        return str ? json_string(str) : NULL;
    case K_UNION:
        if (avro_value_get_discriminant(v, &ival) || ival < 0 || avro_value_get_current_branch(v, &child))
            return NULL;
        f = json_array_get(t.obj, (size_t)ival);
        return f ? from_avro(s, f, &child, depth + 1) : NULL;
    case K_RECORD: /* fields in schema order */
        if (!(out = json_object()))
            return NULL;
        json_array_foreach(json_object_get(t.obj, "fields"), i, f) {
            const char *name = json_string_value(json_object_get(f, "name"));
            if (!name || avro_value_get_by_name(v, name, &child, NULL))
                goto fail;
            cj = from_avro(s, json_object_get(f, "type"), &child, depth + 1);
            if (!cj || json_object_set_new(out, name, cj))
                goto fail;
        }
        return out;
    case K_ARRAY:
    case K_MAP:
        out = t.kind == K_ARRAY ? json_array() : json_object();
        if (!out || avro_value_get_size(v, &size))
            goto fail;
        for (i = 0; i < size; i++) {
            key = NULL;
            if (avro_value_get_by_index(v, i, &child, &key))
                goto fail;
            cj = from_avro(s, json_object_get(t.obj, t.kind == K_ARRAY ? "items" : "values"), &child, depth + 1);
            if (!cj || (t.kind == K_ARRAY ? json_array_append_new(out, cj)
                                          : key ? json_object_set_new(out, key, cj) : (json_decref(cj), -1)))
                goto fail;
        }
        return out;
    }
fail:
    json_decref(out);
    return NULL;
}

json_t *ol_json_from_avro(const ol_schema *s, avro_value_t *v)
{
    if (!s || !s->json || !v)
        return NULL;
    return from_avro(s, s->json, v, 0);
}

/* ------------------------------------------------------------ validation */

/* an ol.* attribute: on the field object first, then on the type object */
static json_t *attr(json_t *field, const jt_type *t, const char *name)
{
    json_t *a = json_is_object(field) ? json_object_get(field, name) : NULL;
    return a || t->kind == K_UNION ? a : json_object_get(t->obj, name);
}

static int check_bounds(jt_ctx *c, json_t *field, const jt_type *t, int64_t x)
{
    json_t *min = attr(field, t, "ol.min"), *max = attr(field, t, "ol.max");
    char shown[OL_JSON_SHOW + 8];

    if (json_is_integer(min) ? x < json_integer_value(min) : json_is_real(min) && (double)x < json_real_value(min)) {
        render(min, shown);
        return fail(c, "%lld below minimum %s", (long long)x, shown);
    }
    if (json_is_integer(max) ? x > json_integer_value(max) : json_is_real(max) && (double)x > json_real_value(max)) {
        render(max, shown);
        return fail(c, "%lld above maximum %s", (long long)x, shown);
    }
    return 0;
}

static int check_string(jt_ctx *c, json_t *field, const jt_type *t, const char *str, size_t n)
{
    const char *fmt = json_string_value(attr(field, t, "ol.format"));
    int ok, rc;
    json_t *js;
    ol_week w;

    if (!fmt)
        return 0;
    if (!strcmp(fmt, "iso_week"))
        ok = strlen(str) == n && ol_week_parse(str, &w) == 0;
    else if (!strcmp(fmt, "currency"))
        ok = n == 3 && str[0] >= 'A' && str[0] <= 'Z' && str[1] >= 'A' && str[1] <= 'Z' && str[2] >= 'A' &&
             str[2] <= 'Z';
    else
        return fail(c, "schema: unknown ol.format \"%s\"", fmt);
    if (ok)
        return 0;
    js = str_json(str, n);
    rc = bad(c, strcmp(fmt, "iso_week") ? "currency of 3 letters A-Z" : "ISO week YYYY-Www", js, NULL);
    json_decref(js);
    return rc;
}

/* SPEC: the top-level event_id and entity id strings must not be empty */
static int check_not_empty(jt_ctx *c, const char *name, avro_value_t *v)
{
    avro_value_t inner = *v;
    const char *str;
    size_t size;

    if (strcmp(name, "event_id") && (!c->s->entity_field || strcmp(name, c->s->entity_field)))
        return 0;
    if (avro_value_get_type(v) == AVRO_UNION && avro_value_get_current_branch(v, &inner))
        return fail(c, "union has no branch selected");
    if (avro_value_get_type(&inner) != AVRO_STRING)
        return 0;
    if (avro_value_get_string(&inner, &str, &size) || size <= 1 || str[0] == '\0')
        return fail(c, "empty");
    return 0;
}

static int validate(jt_ctx *c, json_t *node, json_t *field, avro_value_t *v, int depth)
{
    int top = c->path[0] == '\0', disc, rc;
    const char *str, *key, *name;
    avro_value_t child;
    size_t size, i, mark;
    char text[25];
    int32_t i32;
    int64_t i64;
    jt_type t;
    json_t *f;

    if (resolve(c, node, v, &t, depth))
        return -1;
    switch (t.kind) {
    case K_RECORD:
        json_array_foreach(json_object_get(t.obj, "fields"), i, f) {
            if (!(name = json_string_value(json_object_get(f, "name"))) ||
                avro_value_get_by_name(v, name, &child, NULL))
                return fail(c, "schema: avro record %s has no field %zu", t.name, i);
            mark = push(c, name, 0);
            rc = validate(c, json_object_get(f, "type"), f, &child, depth + 1);
            if (rc == 0 && top)
                rc = check_not_empty(c, name, &child);
            pop(c, mark);
            if (rc)
                return -1;
        }
        return 0;
    case K_UNION: /* the field's attributes apply to the non-null branch */
        if (avro_value_get_discriminant(v, &disc) || disc < 0 || avro_value_get_current_branch(v, &child))
            return fail(c, "union has no branch selected");
        return validate(c, json_array_get(t.obj, (size_t)disc), field, &child, depth + 1);
    case K_ARRAY:
    case K_MAP:
        if (avro_value_get_size(v, &size))
            return fail(c, "avro: %s", avro_strerror());
        for (i = 0; i < size; i++) {
            key = NULL;
            if (avro_value_get_by_index(v, i, &child, &key))
                return fail(c, "avro: %s", avro_strerror());
            mark = push(c, t.kind == K_MAP ? (key ? key : "?") : NULL, i);
            rc = validate(c, json_object_get(t.obj, t.kind == K_ARRAY ? "items" : "values"), NULL, &child,
                          depth + 1);
            pop(c, mark);
            if (rc)
                return -1;
        }
        return 0;
    case K_INT:
        if (avro_value_get_int(v, &i32))
            return fail(c, "avro: %s", avro_strerror());
        if (t.logical != LT_DATE)
            return check_bounds(c, field, &t, i32);
        if (i32 >= OL_DATE_MIN && i32 <= OL_DATE_MAX)
            return 0;
        if (!DAYS_SHOWABLE(i32))
            return fail(c, "day %d outside 1970-01-01..2100-12-31", (int)i32);
        ol_date_format(i32, text);
        return fail(c, "%s outside 1970-01-01..2100-12-31", text);
    case K_LONG:
        if (avro_value_get_long(v, &i64))
            return fail(c, "avro: %s", avro_strerror());
        if (t.logical != LT_TS_MILLIS)
            return check_bounds(c, field, &t, i64);
        if (i64 >= 0 && i64 < OL_TS_END)
            return 0;
        if (!DAYS_SHOWABLE(i64 / DAY_MS - (i64 < 0)))
            snprintf(text, sizeof text, "%lld ms", (long long)i64);
        else
            ol_ts_format(i64, text);
        return fail(c, "%s outside 1970-01-01T00:00:00Z..2100-12-31T23:59:59.999Z", text);
    case K_STRING:
        if (avro_value_get_string(v, &str, &size))
            return fail(c, "avro: %s", avro_strerror());
        return check_string(c, field, &t, str, size ? size - 1 : 0);
    default:
        return 0;
    }
}

int ol_validate(const ol_schema *s, avro_value_t *v, char *err, size_t errlen)
{
    jt_ctx c = {.s = s, .err = err, .errlen = errlen};

    if (!s || !s->json || !v)
        return fail(&c, "no schema or value");
    return validate(&c, s->json, NULL, v, 0);
}
