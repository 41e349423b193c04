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
 * an unresolvable type). NaN/infinite floats are written as null.
 *
 * This file: the shared helpers and schema nodes, and JSON -> Avro. Avro ->
 * JSON is in ol_json_out.c, validation in ol_validate.c; what they share is
 * declared in ol_json_int.h. */
#include "ol_json_int.h"

#include "ol_time.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static const char *const kind_names[] = {"null",   "boolean", "int",  "long", "float", "double", "string",
                                         "bytes",  "enum",    "array", "map", "record", "union"};
static const avro_type_t kind_avro[] = {AVRO_NULL,  AVRO_BOOLEAN, AVRO_INT32, AVRO_INT64, AVRO_FLOAT,
                                        AVRO_DOUBLE, AVRO_STRING, AVRO_BYTES, AVRO_ENUM,  AVRO_ARRAY,
                                        AVRO_MAP,   AVRO_RECORD,  AVRO_UNION};

/* ------------------------------------------------------------ helpers */

__attribute__((format(printf, 2, 3))) int ol_jt_fail(jt_ctx *c, const char *fmt, ...)
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

size_t ol_jt_push(jt_ctx *c, const char *name, size_t index)
{
    size_t mark = strlen(c->path);

    if (name)
        snprintf(c->path + mark, sizeof c->path - mark, "%s%s", mark ? "." : "", name);
    else
        snprintf(c->path + mark, sizeof c->path - mark, "[%zu]", index);
    return mark;
}

void ol_jt_pop(jt_ctx *c, size_t mark) { c->path[mark] = '\0'; }

/* compact JSON of j, at most OL_JSON_SHOW characters (cut on a UTF-8 boundary) */
void ol_jt_render(json_t *j, char out[OL_JSON_SHOW + 8])
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
int ol_jt_bad(jt_ctx *c, const char *what, json_t *j, const char *note)
{
    char shown[OL_JSON_SHOW + 8];

    ol_jt_render(j, shown);
    return ol_jt_fail(c, "expected %s, got %s%s", what, shown, note ? note : "");
}

/* a JSON string of s; if s is not valid UTF-8, its non-ASCII bytes become '?' */
json_t *ol_jt_str(const char *s, size_t n)
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

/* Avro-JSON bytes (each byte a code point 0..255; the other way is bytes_json
 * in ol_json_out.c) back to bytes (jansson strings are valid UTF-8); -1 on a
 * code point above 255 */
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

int ol_jt_type(const ol_schema *s, json_t *node, jt_type *t) { return type_of(s, node, t); }

avro_type_t ol_jt_avro_type(enum jt_kind k) { return kind_avro[k]; }

/* resolves node and checks that v holds that type */
int ol_jt_resolve(jt_ctx *c, json_t *node, avro_value_t *v, jt_type *t, int depth)
{
    char shown[OL_JSON_SHOW + 8];

    if (depth > OL_JSON_MAX_DEPTH)
        return ol_jt_fail(c, "nested deeper than %d levels", OL_JSON_MAX_DEPTH);
    if (type_of(c->s, node, t)) {
        ol_jt_render(node, shown);
        return ol_jt_fail(c, "schema: cannot resolve type %s", shown);
    }
    if (avro_value_get_type(v) != kind_avro[t->kind])
        return ol_jt_fail(c, "schema: avro value is not of type %s", t->name);
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
        return ol_jt_bad(c, t->name, j, NULL);
    json_object_foreach(j, key, val) if (!has_field(fields, key)) {
        mark = ol_jt_push(c, key, 0);
        ol_jt_fail(c, "not in schema %s", t->name);
        ol_jt_pop(c, mark);
        return -1;
    }
    json_array_foreach(fields, i, f) {
        const char *name = json_string_value(json_object_get(f, "name"));
        json_t *ftype = json_object_get(f, "type"), *jv;
        avro_value_t child;

        if (!name || !ftype)
            return ol_jt_fail(c, "schema: record %s: field %zu has no name or type", t->name, i);
        mark = ol_jt_push(c, name, 0);
        jv = json_object_get(j, name);
        if (!jv)
            jv = json_object_get(f, "default");
        if (!jv && nullable(c->s, ftype))
            jv = json_null();
        if (!jv)
            rc = ol_jt_fail(c, "missing");
        else if (avro_value_get_by_name(v, name, &child, NULL))
            rc = ol_jt_fail(c, "schema: avro record %s has no such field", t->name);
        else
            rc = to_avro(c, ftype, jv, &child, depth + 1);
        ol_jt_pop(c, mark);
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
        return ol_jt_bad(c, names, j, NULL);
    }
    if (avro_value_set_branch(v, pick, &branch))
        return ol_jt_fail(c, "avro: cannot select union branch %d: %s", pick, avro_strerror());
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
        return avro_value_set_enum(v, idx) ? ol_jt_fail(c, "avro: %s", avro_strerror()) : 0;
    if (!str)
        return ol_jt_bad(c, "an enum symbol", j, NULL);
    json_array_foreach(json_object_get(t->obj, "symbols"), i, e) {
        const char *sym = json_string_value(e);
        int w = snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "", sym ? sym : "?");
        if (w < 0 || (size_t)w >= sizeof list - o)
            break;
        o += (size_t)w;
    }
    ol_jt_render(j, shown);
    return ol_jt_fail(c, "unknown symbol %s (expected one of %s)", shown, list);
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
            return ol_jt_bad(c, "null", j, NULL);
        rc = avro_value_set_null(v);
        break;
    case K_BOOLEAN:
        if (!json_is_boolean(j))
            return ol_jt_bad(c, "boolean", j, NULL);
        rc = avro_value_set_boolean(v, json_is_true(j));
        break;
    case K_INT:
        if (t->logical == LT_DATE && (str || !json_is_integer(j) || i < INT32_MIN || i > INT32_MAX)) {
            if (!str || ol_date_parse(str, &days))
                return ol_jt_bad(c, "date YYYY-MM-DD", j, NULL);
            i = days;
        } else if (!json_is_integer(j) || i < INT32_MIN || i > INT32_MAX) {
            return ol_jt_bad(c, "int", j, json_is_integer(j) ? " (out of int32 range)" : NULL);
        }
        rc = avro_value_set_int(v, (int32_t)i);
        break;
    case K_LONG:
        if (t->logical == LT_TS_MILLIS && !json_is_integer(j)) {
            if (!str || ol_ts_parse(str, &ms))
                return ol_jt_bad(c, "RFC 3339 timestamp", j, NULL);
            i = ms;
        } else if (!json_is_integer(j)) {
            return ol_jt_bad(c, "long", j, NULL);
        }
        rc = avro_value_set_long(v, (int64_t)i);
        break;
    case K_FLOAT:
    case K_DOUBLE:
        if (!json_is_number(j))
            return ol_jt_bad(c, t->name, j, NULL);
        rc = t->kind == K_FLOAT ? avro_value_set_float(v, (float)json_number_value(j))
                                : avro_value_set_double(v, json_number_value(j));
        break;
    case K_STRING:
        if (!str)
            return ol_jt_bad(c, "string", j, NULL);
        if (strlen(str) != json_string_length(j))
            return ol_jt_fail(c, "string contains a NUL character");
        rc = avro_value_set_string_len(v, str, json_string_length(j) + 1);
        break;
    case K_BYTES:
        if (!str || json_bytes(j, &buf, &n))
            return ol_jt_bad(c, "bytes as a string of code points 0-255", j, NULL);
        rc = avro_value_set_bytes(v, buf, n);
        free(buf);
        break;
    default:
        return ol_jt_fail(c, "schema: unexpected type %s", t->name);
    }
    return rc ? ol_jt_fail(c, "avro: %s", avro_strerror()) : 0;
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

    if (ol_jt_resolve(c, node, v, &t, depth))
        return -1;
    switch (t.kind) {
    case K_RECORD: return record_to_avro(c, &t, j, v, depth);
    case K_UNION: return union_to_avro(c, &t, j, v, depth);
    case K_ENUM: return enum_to_avro(c, &t, j, v);
    case K_ARRAY:
    case K_MAP: /* arrays by index, maps by key; the path shows [i] or .key */
        if (t.kind == K_ARRAY ? !json_is_array(j) : !json_is_object(j))
            return ol_jt_bad(c, t.kind == K_ARRAY ? "array" : "object (map)", j, NULL);
        it = json_is_object(j) ? json_object_iter(j) : NULL;
        for (; t.kind == K_ARRAY ? i < json_array_size(j) : it != NULL; i++) {
            key = it ? json_object_iter_key(it) : NULL;
            e = it ? json_object_iter_value(it) : json_array_get(j, i);
            mark = ol_jt_push(c, key, i);
            if (key ? avro_value_add(v, key, &child, NULL, NULL) : avro_value_append(v, &child, NULL))
                rc = ol_jt_fail(c, "avro: %s", avro_strerror());
            else
                rc = to_avro(c, json_object_get(t.obj, key ? "values" : "items"), e, &child, depth + 1);
            ol_jt_pop(c, mark);
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
        return ol_jt_fail(&c, "no schema or value");
    if (!json_is_object(obj))
        return ol_jt_fail(&c, "expected a JSON object");
    if (avro_value_reset(out))
        return ol_jt_fail(&c, "avro: %s", avro_strerror());
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
        return ol_jt_fail(&c, "invalid JSON: no input");
    /* any value parses, so that "5" is reported as not an object */
    j = json_loadb(line, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    if (!j)
        return ol_jt_fail(&c, "invalid JSON at column %d: %s", jerr.column, jerr.text);
    rc = ol_json_to_avro(s, j, out, err, errlen);
    json_decref(j);
    return rc;
}
