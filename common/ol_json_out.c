/* ol_json_out — Avro -> JSON (ol_json_from_avro), apart from the JSON ->
 * Avro mapping in ol_json.c because it is the other direction: a value is
 * walked beside its schema's JSON so dates, timestamps and enum symbols read
 * as they were written, bytes as Avro-JSON code points 0..255, NaN and
 * infinities as null. Any failure is NULL, never an abort. */
#include "ol_json_int.h"

#include "ol_time.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

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

    if (ol_jt_resolve(&c, node, v, &t, depth))
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
    case K_STRING: return avro_value_get_string(v, &str, &size) ? NULL : ol_jt_str(str, size ? size - 1 : 0);
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
