/* ol_json — JSON <-> Avro generic values, and the SPEC's validation rules.
 *
 * Why it walks the schema's own JSON (s->json) beside the avro_value_t:
 * avro-c does not expose logical types (date, timestamp-millis), field
 * defaults or our "ol.*" attributes, and those decide both the mapping
 * ("2026-11-09" is an Avro int) and the validation (ol.min/ol.max, ol.format).
 * Every schema node is first reduced to a jt_type (kind, logical type, the
 * object carrying symbols/fields/items/attributes); the avro value's own type
 * is checked against it so a schema/value mismatch is an error, not a crash.
 *
 * Errors name the field by a dotted path (rate_card[1].day_rate_minor) and
 * render the offending JSON compactly, truncated to 40 characters. Nothing
 * here aborts on bad input; every allocation and avro call is checked. */
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
/* timestamps allowed by the SPEC: [1970-01-01T00:00:00Z, 2101-01-01T00:00:00Z) */
#define OL_TS_MIN 0LL
#define OL_TS_END ((int64_t)(OL_DATE_MAX + 1) * 86400000LL)
/* range ol_date_format/ol_ts_format can write: years 0000..9999 */
#define OL_DAYS_LO (-719528)
#define OL_DAYS_HI 2932896

enum jt_kind { K_NULL, K_BOOLEAN, K_INT, K_LONG, K_FLOAT, K_DOUBLE, K_STRING, K_BYTES,
               K_FIXED, K_ENUM, K_ARRAY, K_MAP, K_RECORD, K_UNION };
enum jt_logical { LT_NONE, LT_DATE, LT_TS_MILLIS };

static const char *const prim_names[] = {"null", "boolean", "int", "long", "float", "double", "string", "bytes"};
static const avro_type_t kind_avro[] = {AVRO_NULL,   AVRO_BOOLEAN, AVRO_INT32, AVRO_INT64, AVRO_FLOAT,
                                        AVRO_DOUBLE, AVRO_STRING,  AVRO_BYTES, AVRO_FIXED, AVRO_ENUM,
                                        AVRO_ARRAY,  AVRO_MAP,     AVRO_RECORD, AVRO_UNION};

typedef struct {
    enum jt_kind kind;
    enum jt_logical logical;
    json_t *obj;      /* type object (symbols, fields, items, attributes) or the union array; NULL for "int" */
    const char *name; /* "int", "array", or the record/enum/fixed name */
} jt_type;

typedef struct {
    const ol_schema *s;
    char *err;
    size_t errlen;
    char path[512];
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

__attribute__((format(printf, 2, 3))) static size_t push(jt_ctx *c, const char *fmt, ...)
{
    size_t mark = strlen(c->path);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->path + mark, sizeof c->path - mark, fmt, ap);
    va_end(ap);
    return mark;
}

static size_t push_name(jt_ctx *c, const char *name)
{
    return c->path[0] ? push(c, ".%s", name) : push(c, "%s", name);
}

static void pop(jt_ctx *c, size_t mark)
{
    c->path[mark] = '\0';
}

/* compact JSON of j, at most OL_JSON_SHOW characters (cut on a UTF-8 boundary) */
static void render(json_t *j, char out[OL_JSON_SHOW + 8])
{
    char *d = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    size_t n;

    if (!d) {
        snprintf(out, OL_JSON_SHOW + 8, "?");
        return;
    }
    n = strlen(d);
    if (n > OL_JSON_SHOW) {
        n = OL_JSON_SHOW - 3;
        while (n > 0 && ((unsigned char)d[n] & 0xC0) == 0x80)
            n--;
        memcpy(d + n, "...", 4);
    }
    snprintf(out, OL_JSON_SHOW + 8, "%s", d);
    free(d);
}

/* length of the valid UTF-8 sequence at s (n bytes left) and its code point; 0 if invalid */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
    uint32_t c = s[0], min;
    size_t len;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2, c &= 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, c &= 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, c &= 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3Fu);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

/* a JSON string of s; invalid UTF-8 bytes become U+FFFD instead of failing */
static json_t *str_json(const char *s, size_t n)
{
    json_t *j = json_stringn(s, n);
    const unsigned char *u = (const unsigned char *)s;
    char *buf;
    size_t o = 0, len;
    uint32_t cp;

    if (j || n > SIZE_MAX / 3 - 1)
        return j;
    buf = malloc(n * 3 + 1);
    if (!buf)
        return NULL;
    for (size_t i = 0; i < n; i += len) {
        len = utf8_seq(u + i, n - i, &cp);
        if (len == 0) {
            memcpy(buf + o, "\xEF\xBF\xBD", 3);
            o += 3;
            len = 1;
        } else {
            memcpy(buf + o, u + i, len);
            o += len;
        }
    }
    j = json_stringn(buf, o);
    free(buf);
    return j;
}

/* Avro-JSON bytes: each byte is the code point 0..255 */
static json_t *bytes_json(const void *b, size_t n)
{
    const unsigned char *u = b;
    char *buf = n < SIZE_MAX / 2 ? malloc(n * 2 + 1) : NULL;
    size_t o = 0;
    json_t *j;

    if (!buf)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (u[i] < 0x80) {
            buf[o++] = (char)u[i];
        } else {
            buf[o++] = (char)(0xC0 | (u[i] >> 6));
            buf[o++] = (char)(0x80 | (u[i] & 0x3F));
        }
    }
    j = json_stringn(buf, o);
    free(buf);
    return j;
}

/* the reverse; -1 when a code point is above 255 */
static int json_bytes(json_t *j, unsigned char **out, size_t *outn)
{
    const unsigned char *s = (const unsigned char *)json_string_value(j);
    size_t n = json_string_length(j), o = 0, len;
    unsigned char *buf = malloc(n + 1);
    uint32_t cp;

    if (!buf)
        return -1;
    for (size_t i = 0; i < n; i += len) {
        len = utf8_seq(s + i, n - i, &cp);
        if (len == 0 || cp > 0xFF) {
            free(buf);
            return -1;
        }
        buf[o++] = (unsigned char)cp;
    }
    *out = buf;
    *outn = o;
    return 0;
}

/* ------------------------------------------------------------ schema nodes */

static int prim_kind(const char *name, enum jt_kind *k)
{
    for (size_t i = 0; i < sizeof prim_names / sizeof prim_names[0]; i++)
        if (strcmp(name, prim_names[i]) == 0) {
            *k = (enum jt_kind)i;
            return 0;
        }
    return -1;
}

/* Reduces a schema node (primitive name, named-type reference, type object
 * or union array) to a jt_type. -1 when it cannot be resolved. */
static int type_of(const ol_schema *s, json_t *node, jt_type *t)
{
    memset(t, 0, sizeof *t);
    for (int hops = 0; hops < 16; hops++) {
        const char *str = json_string_value(node), *ts;
        json_t *ty;

        if (json_is_array(node)) {
            t->kind = K_UNION, t->obj = node, t->name = "union";
            return 0;
        }
        if (str) {
            if (prim_kind(str, &t->kind) == 0) {
                t->name = str;
                return 0;
            }
            node = ol_schema_named_type(s, str);
            continue;
        }
        if (!json_is_object(node))
            return -1;
        ty = json_object_get(node, "type");
        ts = json_string_value(ty);
        if (!ts || (prim_kind(ts, &t->kind) && strcmp(ts, "record") && strcmp(ts, "error") &&
                    strcmp(ts, "enum") && strcmp(ts, "fixed") && strcmp(ts, "array") && strcmp(ts, "map"))) {
            node = ty; /* {"type": {...}}, {"type": [...]} or {"type": "Activity"} */
            continue;
        }
        t->obj = node;
        t->name = ts;
        if (!strcmp(ts, "record") || !strcmp(ts, "error"))
            t->kind = K_RECORD;
        else if (!strcmp(ts, "enum"))
            t->kind = K_ENUM;
        else if (!strcmp(ts, "fixed"))
            t->kind = K_FIXED;
        else if (!strcmp(ts, "array"))
            t->kind = K_ARRAY;
        else if (!strcmp(ts, "map"))
            t->kind = K_MAP;
        if (t->kind == K_RECORD || t->kind == K_ENUM || t->kind == K_FIXED) {
            const char *nm = json_string_value(json_object_get(node, "name"));
            if (nm)
                t->name = nm;
        } else {
            const char *lt = json_string_value(json_object_get(node, "logicalType"));
            if (lt && t->kind == K_INT && !strcmp(lt, "date"))
                t->logical = LT_DATE;
            else if (lt && t->kind == K_LONG && !strcmp(lt, "timestamp-millis"))
                t->logical = LT_TS_MILLIS;
        }
        return 0;
    }
    return -1;
}

/* resolves node and checks that v holds that type */
static int resolve(jt_ctx *c, json_t *node, avro_value_t *v, jt_type *t)
{
    char shown[OL_JSON_SHOW + 8];

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
    json_t *syms = json_object_get(t->obj, "symbols");
    size_t i;
    json_t *e;

    json_array_foreach(syms, i, e)
    {
        const char *es = json_string_value(e);
        if (es && !strcmp(es, sym))
            return i <= INT32_MAX ? (int)i : -1;
    }
    return -1;
}

static int is_nonfinite(json_t *j)
{
    const char *s = json_string_value(j);
    return s && (!strcmp(s, "NaN") || !strcmp(s, "Infinity") || !strcmp(s, "-Infinity"));
}

/* Could JSON j be a value of t? strict: also by content (range, symbol...). */
static int fits(const jt_type *t, json_t *j, int strict)
{
    json_int_t i = json_integer_value(j);
    const char *str = json_string_value(j);
    int32_t days;
    int64_t ms;

    switch (t->kind) {
    case K_NULL:
        return json_is_null(j);
    case K_BOOLEAN:
        return json_is_boolean(j);
    case K_INT:
        if (json_is_integer(j))
            return !strict || (i >= INT32_MIN && i <= INT32_MAX);
        return t->logical == LT_DATE && str && (!strict || ol_date_parse(str, &days) == 0);
    case K_LONG:
        if (json_is_integer(j))
            return 1;
        return t->logical == LT_TS_MILLIS && str && (!strict || ol_ts_parse(str, &ms) == 0);
    case K_FLOAT:
    case K_DOUBLE:
        return json_is_number(j) || (strict && is_nonfinite(j));
    case K_STRING:
    case K_BYTES:
    case K_FIXED:
        return str != NULL;
    case K_ENUM:
        return str && (!strict || enum_index(t, str) >= 0);
    case K_ARRAY:
        return json_is_array(j);
    case K_MAP:
        return json_is_object(j);
    case K_RECORD:
        if (!json_is_object(j))
            return 0;
        if (strict) {
            const char *k;
            json_t *val;
            json_object_foreach(j, k, val) if (!has_field(json_object_get(t->obj, "fields"), k)) return 0;
        }
        return 1;
    case K_UNION:
        break;
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
    char shown[OL_JSON_SHOW + 8];
    size_t i, mark;
    int rc;

    if (!json_is_object(j)) {
        render(j, shown);
        return fail(c, "expected object (record %s), got %s", t->name, shown);
    }
    if (!json_is_array(fields))
        return fail(c, "schema: record %s has no fields", t->name);
    json_object_foreach(j, key, val)
    {
        if (!has_field(fields, key)) {
            mark = push_name(c, key);
            fail(c, "not in schema %s", t->name);
            pop(c, mark);
            return -1;
        }
    }
    json_array_foreach(fields, i, f)
    {
        const char *name = json_string_value(json_object_get(f, "name"));
        json_t *ftype = json_object_get(f, "type"), *jv;
        avro_value_t child;

        if (!name || !ftype)
            return fail(c, "schema: record %s: field %zu has no name or type", t->name, i);
        mark = push_name(c, name);
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
    size_t n = json_array_size(t->obj), i;
    jt_type b;
    json_t *br;
    avro_value_t branch;
    int pick = -1;

    if (json_is_object(j) && json_object_size(j) == 1) { /* Avro-JSON {"string": "x"} */
        void *it = json_object_iter(j);
        const char *k = json_object_iter_key(it);
        json_array_foreach(t->obj, i, br)
        {
            if (type_of(c->s, br, &b) == 0 && b.kind != K_NULL &&
                (!strcmp(k, b.name) || !strcmp(short_name(k), short_name(b.name)))) {
                pick = (int)i;
                j = json_object_iter_value(it);
                break;
            }
        }
    }
    for (int strict = 1; pick < 0 && strict >= 0; strict--)
        json_array_foreach(t->obj, i, br) if (type_of(c->s, br, &b) == 0 && fits(&b, j, strict))
        {
            pick = (int)i;
            break;
        }
    if (pick < 0) {
        char names[256] = "", shown[OL_JSON_SHOW + 8];
        size_t o = 0;
        json_array_foreach(t->obj, i, br)
        {
            const char *nm = type_of(c->s, br, &b) ? "?" : b.name;
            int w = snprintf(names + o, sizeof names - o, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ", nm);
            if (w < 0 || (size_t)w >= sizeof names - o)
                break;
            o += (size_t)w;
        }
        render(j, shown);
        return fail(c, "expected %s, got %s", names, shown);
    }
    if (avro_value_set_branch(v, pick, &branch))
        return fail(c, "avro: cannot select union branch %d: %s", pick, avro_strerror());
    return to_avro(c, json_array_get(t->obj, (size_t)pick), j, &branch, depth + 1);
}

static int enum_to_avro(jt_ctx *c, const jt_type *t, json_t *j, avro_value_t *v)
{
    char list[512] = "", shown[OL_JSON_SHOW + 8];
    const char *str = json_string_value(j);
    size_t i, o = 0;
    json_t *e;
    int idx = str ? enum_index(t, str) : -1;

    if (idx >= 0)
        return avro_value_set_enum(v, idx) ? fail(c, "avro: %s", avro_strerror()) : 0;
    json_array_foreach(json_object_get(t->obj, "symbols"), i, e)
    {
        int w = snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "", json_string_value(e) ? json_string_value(e) : "?");
        if (w < 0 || (size_t)w >= sizeof list - o)
            break;
        o += (size_t)w;
    }
    render(j, shown);
    if (!str)
        return fail(c, "expected enum %s symbol, got %s", t->name, shown);
    return fail(c, "unknown symbol %s (expected one of %s)", shown, list);
}

static int scalar_to_avro(jt_ctx *c, const jt_type *t, json_t *j, avro_value_t *v)
{
    char shown[OL_JSON_SHOW + 8];
    const char *str = json_string_value(j);
    json_int_t i = json_integer_value(j);
    int32_t days;
    int64_t ms;
    int rc = -1;

    render(j, shown);
    switch (t->kind) {
    case K_NULL:
        if (!json_is_null(j))
            return fail(c, "expected null, got %s", shown);
        rc = avro_value_set_null(v);
        break;
    case K_BOOLEAN:
        if (!json_is_boolean(j))
            return fail(c, "expected boolean, got %s", shown);
        rc = avro_value_set_boolean(v, json_is_true(j));
        break;
    case K_INT:
        if (t->logical == LT_DATE && str) {
            if (ol_date_parse(str, &days))
                return fail(c, "expected date YYYY-MM-DD, got %s", shown);
            i = days;
        } else if (!json_is_integer(j) || i < INT32_MIN || i > INT32_MAX) {
            if (t->logical == LT_DATE)
                return fail(c, "expected date YYYY-MM-DD, got %s", shown);
            return fail(c, "expected int, got %s%s", shown, json_is_integer(j) ? " (out of int32 range)" : "");
        }
        rc = avro_value_set_int(v, (int32_t)i);
        break;
    case K_LONG:
        if (t->logical == LT_TS_MILLIS && str) {
            if (ol_ts_parse(str, &ms))
                return fail(c, "expected RFC 3339 timestamp, got %s", shown);
            i = ms;
        } else if (!json_is_integer(j)) {
            if (t->logical == LT_TS_MILLIS)
                return fail(c, "expected RFC 3339 timestamp or epoch millis, got %s", shown);
            return fail(c, "expected long, got %s", shown);
        }
        rc = avro_value_set_long(v, (int64_t)i);
        break;
    case K_FLOAT:
    case K_DOUBLE: {
        double d = json_number_value(j);
        if (is_nonfinite(j))
            d = !strcmp(str, "NaN") ? NAN : str[0] == '-' ? -INFINITY : INFINITY;
        else if (!json_is_number(j))
            return fail(c, "expected %s, got %s", t->name, shown);
        rc = t->kind == K_FLOAT ? avro_value_set_float(v, (float)d) : avro_value_set_double(v, d);
        break;
    }
    case K_STRING:
        if (!str)
            return fail(c, "expected string, got %s", shown);
        if (strlen(str) != json_string_length(j))
            return fail(c, "string contains a NUL character");
        rc = avro_value_set_string_len(v, str, json_string_length(j) + 1);
        break;
    case K_BYTES:
    case K_FIXED: {
        unsigned char *buf = NULL;
        size_t n = 0;
        json_int_t size = json_integer_value(json_object_get(t->obj, "size"));
        if (!str)
            return fail(c, "expected %s as a string, got %s", t->name, shown);
        if (json_bytes(j, &buf, &n))
            return fail(c, "expected bytes (code points 0-255), got %s", shown);
        if (t->kind == K_FIXED && (json_int_t)n != size)
            rc = fail(c, "expected %lld bytes for fixed %s, got %zu", (long long)size, t->name, n);
        else if ((rc = t->kind == K_FIXED ? avro_value_set_fixed(v, buf, n) : avro_value_set_bytes(v, buf, n)))
            rc = fail(c, "avro: %s", avro_strerror());
        free(buf);
        return rc;
    }
    default:
        return fail(c, "schema: unexpected type %s", t->name);
    }
    return rc ? fail(c, "avro: %s", avro_strerror()) : 0;
}

static int to_avro(jt_ctx *c, json_t *node, json_t *j, avro_value_t *v, int depth)
{
    char shown[OL_JSON_SHOW + 8];
    jt_type t;
    size_t i, mark;
    json_t *e;
    const char *key;

    if (depth > OL_JSON_MAX_DEPTH)
        return fail(c, "nested deeper than %d levels", OL_JSON_MAX_DEPTH);
    if (resolve(c, node, v, &t))
        return -1;
    switch (t.kind) {
    case K_RECORD:
        return record_to_avro(c, &t, j, v, depth);
    case K_UNION:
        return union_to_avro(c, &t, j, v, depth);
    case K_ENUM:
        return enum_to_avro(c, &t, j, v);
    case K_ARRAY:
        if (!json_is_array(j)) {
            render(j, shown);
            return fail(c, "expected array, got %s", shown);
        }
        json_array_foreach(j, i, e)
        {
            avro_value_t child;
            int rc;
            mark = push(c, "[%zu]", i);
            if (avro_value_append(v, &child, NULL))
                rc = fail(c, "avro: %s", avro_strerror());
            else
                rc = to_avro(c, json_object_get(t.obj, "items"), e, &child, depth + 1);
            pop(c, mark);
            if (rc)
                return -1;
        }
        return 0;
    case K_MAP:
        if (!json_is_object(j)) {
            render(j, shown);
            return fail(c, "expected object (map), got %s", shown);
        }
        json_object_foreach(j, key, e)
        {
            avro_value_t child;
            int rc;
            mark = push_name(c, key);
            if (avro_value_add(v, key, &child, NULL, NULL))
                rc = fail(c, "avro: %s", avro_strerror());
            else
                rc = to_avro(c, json_object_get(t.obj, "values"), e, &child, depth + 1);
            pop(c, mark);
            if (rc)
                return -1;
        }
        return 0;
    default:
        return scalar_to_avro(c, &t, j, v);
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
    jt_ctx c = {.s = s}; /* errors are not reported: NULL is the internal error */
    jt_type t;
    json_t *out = NULL, *f;
    const char *str, *key;
    const void *buf;
    size_t size, i;
    int32_t i32;
    int64_t i64;
    double d;
    float fl;
    int ival;
    avro_value_t child;

    if (depth > OL_JSON_MAX_DEPTH || resolve(&c, node, v, &t))
        return NULL;
    switch (t.kind) {
    case K_NULL:
        return json_null();
    case K_BOOLEAN:
        return avro_value_get_boolean(v, &ival) ? NULL : json_boolean(ival);
    case K_INT:
        if (avro_value_get_int(v, &i32))
            return NULL;
        if (t.logical == LT_DATE && i32 >= OL_DAYS_LO && i32 <= OL_DAYS_HI) {
            char date[11];
            ol_date_format(i32, date);
            return json_string(date);
        }
        return json_integer(i32);
    case K_LONG:
        if (avro_value_get_long(v, &i64))
            return NULL;
        if (t.logical == LT_TS_MILLIS && i64 >= (int64_t)OL_DAYS_LO * 86400000 &&
            i64 < ((int64_t)OL_DAYS_HI + 1) * 86400000) {
            char ts[25];
            ol_ts_format(i64, ts);
            return json_string(ts);
        }
        return json_integer((json_int_t)i64);
    case K_FLOAT:
    case K_DOUBLE:
        if (t.kind == K_FLOAT ? avro_value_get_float(v, &fl) : avro_value_get_double(v, &d))
            return NULL;
        if (t.kind == K_FLOAT)
            d = fl;
        if (isfinite(d))
            return json_real(d);
        return json_string(isnan(d) ? "NaN" : d < 0 ? "-Infinity" : "Infinity");
    case K_STRING:
        if (avro_value_get_string(v, &str, &size))
            return NULL;
        return str_json(str, size ? size - 1 : 0);
    case K_BYTES:
    case K_FIXED:
        if (t.kind == K_BYTES ? avro_value_get_bytes(v, &buf, &size) : avro_value_get_fixed(v, &buf, &size))
            return NULL;
        return bytes_json(buf, size);
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
    case K_RECORD:
        if (!(out = json_object()))
            return NULL;
        json_array_foreach(json_object_get(t.obj, "fields"), i, f)
        {
            const char *name = json_string_value(json_object_get(f, "name"));
            json_t *cj;
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
            json_t *cj;
            key = NULL;
            if (avro_value_get_by_index(v, i, &child, &key))
                goto fail;
            cj = from_avro(s, json_object_get(t.obj, t.kind == K_ARRAY ? "items" : "values"), &child, depth + 1);
            if (!cj)
                goto fail;
            if (t.kind == K_ARRAY ? json_array_append_new(out, cj) : key ? json_object_set_new(out, key, cj) : -1)
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
    if (!a && t->kind != K_UNION && json_is_object(t->obj))
        a = json_object_get(t->obj, name);
    return a;
}

static int check_bounds(jt_ctx *c, json_t *field, const jt_type *t, int64_t x)
{
    json_t *min = attr(field, t, "ol.min"), *max = attr(field, t, "ol.max");

    if (json_is_integer(min) && x < json_integer_value(min))
        return fail(c, "%lld below minimum %lld", (long long)x, (long long)json_integer_value(min));
    if (json_is_real(min) && (double)x < json_real_value(min))
        return fail(c, "%lld below minimum %g", (long long)x, json_real_value(min));
    if (json_is_integer(max) && x > json_integer_value(max))
        return fail(c, "%lld above maximum %lld", (long long)x, (long long)json_integer_value(max));
    if (json_is_real(max) && (double)x > json_real_value(max))
        return fail(c, "%lld above maximum %g", (long long)x, json_real_value(max));
    return 0;
}

static int check_string(jt_ctx *c, json_t *field, const jt_type *t, const char *str, size_t n)
{
    const char *fmt = json_string_value(attr(field, t, "ol.format"));
    char shown[OL_JSON_SHOW + 8];
    json_t *js;
    ol_week w;
    int ok;

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
    render(js, shown);
    json_decref(js);
    if (!strcmp(fmt, "iso_week"))
        return fail(c, "expected ISO week YYYY-Www, got %s", shown);
    return fail(c, "expected currency of 3 letters A-Z, got %s", shown);
}

static int validate(jt_ctx *c, json_t *node, json_t *field, avro_value_t *v, int depth);

static int validate_record(jt_ctx *c, const jt_type *t, avro_value_t *v, int depth)
{
    int top = c->path[0] == '\0';
    size_t i, mark;
    json_t *f;

    json_array_foreach(json_object_get(t->obj, "fields"), i, f)
    {
        const char *name = json_string_value(json_object_get(f, "name"));
        avro_value_t child, inner;
        int rc;

        if (!name || avro_value_get_by_name(v, name, &child, NULL))
            return fail(c, "schema: avro record %s has no field %zu", t->name, i);
        mark = push_name(c, name);
        rc = validate(c, json_object_get(f, "type"), f, &child, depth + 1);
        if (rc == 0 && top &&
            (!strcmp(name, "event_id") || (c->s->entity_field && !strcmp(name, c->s->entity_field)))) {
            const char *str;
            size_t size;
            inner = child;
            if (avro_value_get_type(&inner) == AVRO_UNION && avro_value_get_current_branch(&child, &inner))
                rc = fail(c, "avro: union has no branch");
            else if (avro_value_get_type(&inner) == AVRO_STRING &&
                     (avro_value_get_string(&inner, &str, &size) || size <= 1 || str[0] == '\0'))
                rc = fail(c, "empty");
        }
        pop(c, mark);
        if (rc)
            return -1;
    }
    return 0;
}

static int validate(jt_ctx *c, json_t *node, json_t *field, avro_value_t *v, int depth)
{
    jt_type t;
    avro_value_t child;
    size_t size, i, mark;
    const char *str, *key;
    int32_t i32;
    int64_t i64;
    int disc;

    if (depth > OL_JSON_MAX_DEPTH)
        return fail(c, "nested deeper than %d levels", OL_JSON_MAX_DEPTH);
    if (resolve(c, node, v, &t))
        return -1;
    switch (t.kind) {
    case K_RECORD:
        return validate_record(c, &t, v, depth);
    case K_UNION:
        if (avro_value_get_discriminant(v, &disc) || disc < 0 || avro_value_get_current_branch(v, &child))
            return fail(c, "union has no branch selected");
        return validate(c, json_array_get(t.obj, (size_t)disc), field, &child, depth + 1);
    case K_ARRAY:
    case K_MAP:
        if (avro_value_get_size(v, &size))
            return fail(c, "avro: %s", avro_strerror());
        for (i = 0; i < size; i++) {
            int rc;
            key = NULL;
            if (avro_value_get_by_index(v, i, &child, &key))
                return fail(c, "avro: %s", avro_strerror());
            mark = t.kind == K_ARRAY ? push(c, "[%zu]", i) : push_name(c, key ? key : "?");
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
        if (t.logical == LT_DATE) {
            char date[11];
            if (i32 >= OL_DATE_MIN && i32 <= OL_DATE_MAX)
                return 0;
            if (i32 < OL_DAYS_LO || i32 > OL_DAYS_HI)
                return fail(c, "day %d outside 1970-01-01..2100-12-31", (int)i32);
            ol_date_format(i32, date);
            return fail(c, "%s outside 1970-01-01..2100-12-31", date);
        }
        return check_bounds(c, field, &t, i32);
    case K_LONG:
        if (avro_value_get_long(v, &i64))
            return fail(c, "avro: %s", avro_strerror());
        if (t.logical == LT_TS_MILLIS) {
            char ts[25];
            if (i64 >= OL_TS_MIN && i64 < OL_TS_END)
                return 0;
            if (i64 < (int64_t)OL_DAYS_LO * 86400000 || i64 >= ((int64_t)OL_DAYS_HI + 1) * 86400000)
                return fail(c, "%lld ms outside 1970-01-01T00:00:00Z..2100-12-31T23:59:59.999Z", (long long)i64);
            ol_ts_format(i64, ts);
            return fail(c, "%s outside 1970-01-01T00:00:00Z..2100-12-31T23:59:59.999Z", ts);
        }
        return check_bounds(c, field, &t, i64);
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
