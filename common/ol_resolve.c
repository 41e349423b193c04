/* ol_resolve — the two halves of decoding that know Avro's binary and
 * resolution rules (see ol_codec.h), apart from the framing and the decoder
 * in ol_codec.c: the pre-scan of a body against its writer schema, and the
 * resolution of a writer value into the reader's schema. Entry points in
 * ol_codec_int.h. */
#include "ol_codec_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- body scan
 * avro-c allocates whatever length a string or bytes field claims before it
 * checks the bytes are there (a corrupt length asks malloc for terabytes, a
 * negative one for (size_t)-1), does not bound enum indexes, and appends
 * as many array items as a block count claims. So a body is first walked
 * against its writer schema, with every length, index and count checked
 * against the bytes left; only then is it handed to avro-c. */
struct scan {
    const uint8_t *p;
    size_t n, pos;
    char *why;
    size_t whylen;
};

#define SCAN_MAX_DEPTH 64

static int scan_fail(struct scan *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int scan_fail(struct scan *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->why, s->whylen, fmt, ap);
    va_end(ap);
    return -1;
}

static avro_schema_t unlink_schema(avro_schema_t sc)
{
    while (sc && is_avro_link(sc))
        sc = avro_schema_link_target(sc);
    return sc;
}

static int scan_long(struct scan *s, int64_t *out)
{
    uint64_t v = 0;
    for (int i = 0; i < 10; i++) {
        if (s->pos >= s->n)
            return scan_fail(s, "truncated at byte %zu of %zu", s->pos, s->n);
        uint8_t b = s->p[s->pos++];
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = (int64_t)((v >> 1) ^ (~(v & 1) + 1));
            return 0;
        }
    }
    return scan_fail(s, "varint longer than 10 bytes at byte %zu", s->pos);
}

static int scan_skip(struct scan *s, int64_t len, const char *what)
{
    if (len < 0 || (uint64_t)len > s->n - s->pos)
        return scan_fail(s, "%s of %lld bytes at byte %zu, %zu bytes left", what, (long long)len, s->pos,
                         s->n - s->pos);
    s->pos += (size_t)len;
    return 0;
}

/* 1 when a value of sc may be encoded in zero bytes (null, empty records) */
static int zero_size(avro_schema_t sc, int depth)
{
    sc = unlink_schema(sc);
    if (depth > SCAN_MAX_DEPTH)
        return 0;
    switch (avro_typeof(sc)) {
    case AVRO_NULL:
        return 1;
    case AVRO_FIXED:
        return avro_schema_fixed_size(sc) == 0;
    case AVRO_RECORD:
        for (size_t i = 0; i < avro_schema_record_size(sc); i++)
            if (!zero_size(avro_schema_record_field_get_by_index(sc, (int)i), depth + 1))
                return 0;
        return 1;
    default:
        return 0;
    }
}

static int scan_value(struct scan *s, avro_schema_t sc, int depth)
{
    int64_t x;
    sc = unlink_schema(sc);
    if (depth > SCAN_MAX_DEPTH)
        return scan_fail(s, "nested deeper than %d", SCAN_MAX_DEPTH);
    switch (avro_typeof(sc)) {
    case AVRO_NULL:
        return 0;
    case AVRO_BOOLEAN:
        if (s->pos >= s->n)
            return scan_fail(s, "truncated at byte %zu of %zu", s->pos, s->n);
        if (s->p[s->pos] > 1)
            return scan_fail(s, "boolean byte 0x%02x at byte %zu", s->p[s->pos], s->pos);
        s->pos++;
        return 0;
    case AVRO_INT32:
        if (scan_long(s, &x))
            return -1;
        if (x < INT32_MIN || x > INT32_MAX)
            return scan_fail(s, "int %lld out of range at byte %zu", (long long)x, s->pos);
        return 0;
    case AVRO_INT64:
        return scan_long(s, &x);
    case AVRO_FLOAT:
        return scan_skip(s, 4, "float");
    case AVRO_DOUBLE:
        return scan_skip(s, 8, "double");
    case AVRO_STRING:
    case AVRO_BYTES:
        if (scan_long(s, &x))
            return -1;
        return scan_skip(s, x, avro_typeof(sc) == AVRO_STRING ? "string" : "bytes");
    case AVRO_FIXED:
        return scan_skip(s, avro_schema_fixed_size(sc), "fixed");
    case AVRO_ENUM: {
        if (scan_long(s, &x))
            return -1;
        int ns = avro_schema_enum_number_of_symbols(sc);
        if (x < 0 || x >= ns)
            return scan_fail(s, "enum %s index %lld is not a symbol (0..%d)", avro_schema_name(sc), (long long)x,
                             ns - 1);
        return 0;
    }
    case AVRO_UNION:
        if (scan_long(s, &x))
            return -1;
        if (x < 0 || (uint64_t)x >= avro_schema_union_size(sc))
            return scan_fail(s, "union branch %lld of %zu", (long long)x, avro_schema_union_size(sc));
        return scan_value(s, avro_schema_union_branch(sc, (int)x), depth + 1);
    case AVRO_RECORD:
        for (size_t i = 0; i < avro_schema_record_size(sc); i++)
            if (scan_value(s, avro_schema_record_field_get_by_index(sc, (int)i), depth + 1))
                return -1;
        return 0;
    case AVRO_ARRAY:
    case AVRO_MAP: {
        int is_map = avro_typeof(sc) == AVRO_MAP;
        avro_schema_t items = is_map ? avro_schema_map_values(sc) : avro_schema_array_items(sc);
        int zero = !is_map && zero_size(items, depth + 1);
        uint64_t total = 0;
        for (;;) {
            if (scan_long(s, &x))
                return -1;
            if (x == 0)
                return 0;
            if (x < 0) {
                int64_t bytes;
                if (x == INT64_MIN)
                    return scan_fail(s, "block count out of range at byte %zu", s->pos);
                x = -x;
                if (scan_long(s, &bytes))
                    return -1;
                if (bytes < 0 || (uint64_t)bytes > s->n - s->pos)
                    return scan_fail(s, "block of %lld bytes at byte %zu, %zu bytes left", (long long)bytes,
                                     s->pos, s->n - s->pos);
            }
            /* every item takes at least a byte, but for zero-size ones */
            total += (uint64_t)x;
            if (zero ? total > 65536 : (uint64_t)x > s->n - s->pos)
                return scan_fail(s, "block of %lld items at byte %zu, %zu bytes left", (long long)x, s->pos,
                                 s->n - s->pos);
            for (int64_t i = 0; i < x; i++) {
                int64_t klen;
                if (is_map && (scan_long(s, &klen) || scan_skip(s, klen, "map key")))
                    return -1;
                if (scan_value(s, items, depth + 1))
                    return -1;
            }
        }
    }
    default:
        return scan_fail(s, "schema type %d is not supported", (int)avro_typeof(sc));
    }
}

/* ------------------------------------------------- resolution by field name
 * Avro's rules for a writer value read as the reader's schema: record
 * fields by name (a reader field the writer lacks takes its default from
 * the reader's .avsc), enums by symbol, union branches by type, and the
 * promotions int->long/float/double, long->float/double, float->double,
 * string<->bytes. */
struct rctx {
    const ol_schema *reader;
    char *why;
    size_t whylen;
    enum ol_codec_err cls;
};

static int rfail(struct rctx *c, enum ol_codec_err cls, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int rfail(struct rctx *c, enum ol_codec_err cls, const char *field, const char *fmt, ...)
{
    va_list ap;
    int n = 0;
    if (field && *field)
        n = snprintf(c->why, c->whylen, "field \"%s\": ", field);
    if (n < 0 || (size_t)n >= c->whylen)
        n = 0;
    va_start(ap, fmt);
    vsnprintf(c->why + n, c->whylen - (size_t)n, fmt, ap);
    va_end(ap);
    c->cls = cls;
    return -1;
}

static avro_schema_t value_schema(avro_value_t *v)
{
    return unlink_schema(avro_value_get_schema(v));
}

static int same_name(avro_schema_t a, avro_schema_t b)
{
    const char *x = avro_schema_name(a), *y = avro_schema_name(b);
    return x && y && strcmp(x, y) == 0;
}

/* can a writer value of schema w be stored as r (neither a union)? */
static int accepts(avro_schema_t r, avro_schema_t w, int promote)
{
    r = unlink_schema(r);
    w = unlink_schema(w);
    avro_type_t rt = avro_typeof(r), wt = avro_typeof(w);
    if (rt == wt)
        return (rt != AVRO_RECORD && rt != AVRO_ENUM && rt != AVRO_FIXED) || same_name(r, w);
    if (!promote)
        return 0;
    switch (wt) {
    case AVRO_INT32: return rt == AVRO_INT64 || rt == AVRO_FLOAT || rt == AVRO_DOUBLE;
    case AVRO_INT64: return rt == AVRO_FLOAT || rt == AVRO_DOUBLE;
    case AVRO_FLOAT: return rt == AVRO_DOUBLE;
    case AVRO_STRING: return rt == AVRO_BYTES;
    case AVRO_BYTES: return rt == AVRO_STRING;
    default: return 0;
    }
}

/* the "default" of a field of a reader record, from the .avsc; NULL if none */
static json_t *field_default(const ol_schema *reader, avro_schema_t record, const char *field)
{
    json_t *node = ol_schema_named_type(reader, avro_schema_name(record)), *f;
    size_t i;
    json_array_foreach(json_object_get(node, "fields"), i, f)
    {
        const char *n = json_string_value(json_object_get(f, "name"));
        if (n && strcmp(n, field) == 0)
            return json_object_get(f, "default");
    }
    return NULL;
}

static int set_default(struct rctx *c, avro_value_t *dst, json_t *def, const char *field, int depth);

static int set_default_bytes(struct rctx *c, avro_value_t *dst, json_t *def, const char *field)
{
    /* bytes and fixed defaults are strings of code points 0..255 */
    const unsigned char *u = (const unsigned char *)json_string_value(def);
    size_t ul = json_string_length(def), k = 0, i = 0;
    unsigned char *b = malloc(ul + 1);
    int rc;
    if (!b)
        return rfail(c, OL_CODEC_NOMEM, field, "out of memory");
    while (i < ul) {
        if (u[i] < 0x80) {
            b[k++] = u[i++];
        } else if (i + 1 < ul && (u[i] == 0xc2 || u[i] == 0xc3)) {
            b[k++] = (unsigned char)(((u[i] & 0x1f) << 6) | (u[i + 1] & 0x3f));
            i += 2;
        } else {
            free(b);
            return rfail(c, OL_CODEC_INCOMPATIBLE, field, "default has a code point above 255");
        }
    }
    if (avro_value_get_type(dst) == AVRO_FIXED) {
        if ((int64_t)k != avro_schema_fixed_size(value_schema(dst))) {
            free(b);
            return rfail(c, OL_CODEC_INCOMPATIBLE, field, "default is not of the fixed size");
        }
        rc = avro_value_set_fixed(dst, b, k);
    } else {
        rc = avro_value_set_bytes(dst, b, k);
    }
    free(b);
    return rc ? rfail(c, OL_CODEC_NOMEM, field, "%s", avro_strerror()) : 0;
}

static int set_default(struct rctx *c, avro_value_t *dst, json_t *def, const char *field, int depth)
{
    avro_value_t child;
    const char *name;
    size_t i, n;
    json_t *item;
    int rc = -2;

    if (depth > SCAN_MAX_DEPTH)
        return rfail(c, OL_CODEC_INCOMPATIBLE, field, "default nested too deeply");
    switch (avro_value_get_type(dst)) {
    case AVRO_NULL:
        if (json_is_null(def))
            rc = avro_value_set_null(dst);
        break;
    case AVRO_BOOLEAN:
        if (json_is_boolean(def))
            rc = avro_value_set_boolean(dst, json_is_true(def));
        break;
    case AVRO_INT32:
        if (json_is_integer(def) && json_integer_value(def) >= INT32_MIN && json_integer_value(def) <= INT32_MAX)
            rc = avro_value_set_int(dst, (int32_t)json_integer_value(def));
        break;
    case AVRO_INT64:
        if (json_is_integer(def))
            rc = avro_value_set_long(dst, json_integer_value(def));
        break;
    case AVRO_FLOAT:
        if (json_is_number(def))
            rc = avro_value_set_float(dst, (float)json_number_value(def));
        break;
    case AVRO_DOUBLE:
        if (json_is_number(def))
            rc = avro_value_set_double(dst, json_number_value(def));
        break;
    case AVRO_STRING:
        if (json_is_string(def))
            rc = avro_value_set_string_len(dst, json_string_value(def), json_string_length(def) + 1);
        break;
    case AVRO_BYTES:
    case AVRO_FIXED:
        if (json_is_string(def))
            return set_default_bytes(c, dst, def, field);
        break;
    case AVRO_ENUM:
        if (json_is_string(def)) {
            int idx = avro_schema_enum_get_by_name(value_schema(dst), json_string_value(def));
            if (idx >= 0)
                rc = avro_value_set_enum(dst, idx);
        }
        break;
    case AVRO_ARRAY:
        if (!json_is_array(def))
            break;
        json_array_foreach(def, i, item)
        {
            if (avro_value_append(dst, &child, NULL))
                return rfail(c, OL_CODEC_NOMEM, field, "%s", avro_strerror());
            if (set_default(c, &child, item, field, depth + 1))
                return -1;
        }
        return 0;
    case AVRO_MAP: {
        const char *key;
        if (!json_is_object(def))
            break;
        json_object_foreach(def, key, item)
        {
            if (avro_value_add(dst, key, &child, NULL, NULL))
                return rfail(c, OL_CODEC_NOMEM, field, "%s", avro_strerror());
            if (set_default(c, &child, item, field, depth + 1))
                return -1;
        }
        return 0;
    }
    case AVRO_UNION: /* a union's default is of its first branch */
        if (avro_value_set_branch(dst, 0, &child))
            return rfail(c, OL_CODEC_NOMEM, field, "%s", avro_strerror());
        return set_default(c, &child, def, field, depth + 1);
    case AVRO_RECORD:
        if (!json_is_object(def) || avro_value_get_size(dst, &n))
            break;
        for (i = 0; i < n; i++) {
            if (avro_value_get_by_index(dst, i, &child, &name))
                return rfail(c, OL_CODEC_NOMEM, field, "%s", avro_strerror());
            item = json_object_get(def, name);
            if (!item)
                item = field_default(c->reader, value_schema(dst), name);
            if (!item)
                return rfail(c, OL_CODEC_INCOMPATIBLE, name, "no value in the default and no default");
            if (set_default(c, &child, item, name, depth + 1))
                return -1;
        }
        return 0;
    default:
        break;
    }
    if (rc == -2)
        return rfail(c, OL_CODEC_INCOMPATIBLE, field, "the reader's default does not fit its %s type",
                     avro_schema_type_name(value_schema(dst)));
    return rc ? rfail(c, OL_CODEC_NOMEM, field, "%s", avro_strerror()) : 0;
}

static int resolve_value(struct rctx *c, avro_value_t *dst, avro_value_t *src, const char *field, int depth)
{
    avro_type_t st = avro_value_get_type(src), dt = avro_value_get_type(dst);
    avro_schema_t ws = value_schema(src), rs = value_schema(dst);
    avro_value_t sb, db;
    const char *name;
    size_t i, n;
    int rc = -2;

    if (depth > SCAN_MAX_DEPTH)
        return rfail(c, OL_CODEC_BODY, field, "nested deeper than %d", SCAN_MAX_DEPTH);
    if (st == AVRO_UNION) {
        if (avro_value_get_current_branch(src, &sb))
            return rfail(c, OL_CODEC_BODY, field, "union without a branch");
        return resolve_value(c, dst, &sb, field, depth + 1);
    }
    if (dt == AVRO_UNION) {
        for (int promote = 0; promote < 2; promote++)
            for (i = 0; i < avro_schema_union_size(rs); i++) {
                if (!accepts(avro_schema_union_branch(rs, (int)i), ws, promote))
                    continue;
                if (avro_value_set_branch(dst, (int)i, &db))
                    return rfail(c, OL_CODEC_NOMEM, field, "%s", avro_strerror());
                return resolve_value(c, &db, src, field, depth + 1);
            }
        return rfail(c, OL_CODEC_INCOMPATIBLE, field, "no branch of the reader's union takes a writer %s",
                     avro_schema_type_name(ws));
    }
    if (!accepts(rs, ws, 1))
        return rfail(c, OL_CODEC_INCOMPATIBLE, field, "a writer %s cannot be read as %s", avro_schema_type_name(ws),
                     avro_schema_type_name(rs));
    switch (st) {
    case AVRO_NULL:
        rc = avro_value_set_null(dst);
        break;
    case AVRO_BOOLEAN: {
        int b;
        rc = avro_value_get_boolean(src, &b) || avro_value_set_boolean(dst, b);
        break;
    }
    case AVRO_INT32:
    case AVRO_INT64: {
        /* initialised: avro_value_get_* are macros whose ?: has a branch
         * that does not write the output (clang -Wsometimes-uninitialized) */
        int64_t x = 0;
        int32_t x32 = 0;
        if (st == AVRO_INT32) {
            rc = avro_value_get_int(src, &x32);
            x = x32;
        } else {
            rc = avro_value_get_long(src, &x);
        }
        if (rc)
            break;
        rc = dt == AVRO_INT32   ? avro_value_set_int(dst, (int32_t)x)
             : dt == AVRO_INT64 ? avro_value_set_long(dst, x)
             : dt == AVRO_FLOAT ? avro_value_set_float(dst, (float)x)
                                : avro_value_set_double(dst, (double)x);
        break;
    }
    case AVRO_FLOAT:
    case AVRO_DOUBLE: {
        float f = 0;
        double x = 0;
        if (st == AVRO_FLOAT) {
            rc = avro_value_get_float(src, &f);
            x = f;
        } else {
            rc = avro_value_get_double(src, &x);
        }
        if (!rc)
            rc = dt == AVRO_FLOAT ? avro_value_set_float(dst, (float)x) : avro_value_set_double(dst, x);
        break;
    }
    case AVRO_STRING:
    case AVRO_BYTES: {
        const void *p = NULL;
        const char *str = NULL;
        size_t sz = 0;
        if (st == AVRO_STRING) {
            rc = avro_value_get_string(src, &str, &sz);
            p = str;
            sz = sz ? sz - 1 : 0;
        } else {
            rc = avro_value_get_bytes(src, &p, &sz);
        }
        if (rc)
            break;
        if (dt == AVRO_BYTES) {
            rc = avro_value_set_bytes(dst, (void *)p, sz);
        } else {
            char *t = malloc(sz + 1);
            if (!t)
                return rfail(c, OL_CODEC_NOMEM, field, "out of memory");
            memcpy(t, p, sz);
            t[sz] = '\0';
            rc = avro_value_set_string_len(dst, t, sz + 1);
            free(t);
        }
        break;
    }
    case AVRO_FIXED: {
        const void *p;
        size_t sz;
        if (avro_schema_fixed_size(ws) != avro_schema_fixed_size(rs))
            return rfail(c, OL_CODEC_INCOMPATIBLE, field, "fixed %s sizes differ", avro_schema_name(rs));
        rc = avro_value_get_fixed(src, &p, &sz) || avro_value_set_fixed(dst, (void *)p, sz);
        break;
    }
    case AVRO_ENUM: {
        int idx, ri = -1;
        if ((rc = avro_value_get_enum(src, &idx)))
            break;
        const char *sym =
            idx >= 0 && idx < avro_schema_enum_number_of_symbols(ws) ? avro_schema_enum_get(ws, idx) : NULL;
        if (sym)
            ri = avro_schema_enum_get_by_name(rs, sym);
        if (ri < 0)
            return rfail(c, OL_CODEC_BODY, field, "enum %s symbol %s is unknown to the reader", avro_schema_name(rs),
                         sym ? sym : "?");
        rc = avro_value_set_enum(dst, ri);
        break;
    }
    case AVRO_ARRAY:
    case AVRO_MAP:
        if (avro_value_get_size(src, &n))
            return rfail(c, OL_CODEC_NOMEM, field, "%s", avro_strerror());
        for (i = 0; i < n; i++) {
            name = NULL;
            if (avro_value_get_by_index(src, i, &sb, &name) ||
                (st == AVRO_ARRAY ? avro_value_append(dst, &db, NULL) : avro_value_add(dst, name, &db, NULL, NULL)))
                return rfail(c, OL_CODEC_NOMEM, field, "%s", avro_strerror());
            if (resolve_value(c, &db, &sb, field, depth + 1))
                return -1;
        }
        return 0;
    case AVRO_RECORD:
        if (avro_value_get_size(dst, &n))
            return rfail(c, OL_CODEC_NOMEM, field, "%s", avro_strerror());
        for (i = 0; i < n; i++) {
            if (avro_value_get_by_index(dst, i, &db, &name))
                return rfail(c, OL_CODEC_NOMEM, field, "%s", avro_strerror());
            if (avro_schema_record_field_get_index(ws, name) >= 0) {
                if (avro_value_get_by_name(src, name, &sb, NULL))
                    return rfail(c, OL_CODEC_NOMEM, name, "%s", avro_strerror());
                if (resolve_value(c, &db, &sb, name, depth + 1))
                    return -1;
                continue;
            }
            json_t *def = field_default(c->reader, rs, name);
            if (!def)
                return rfail(c, OL_CODEC_INCOMPATIBLE, name, "not in the writer's %s and without a default",
                             avro_schema_name(ws));
            if (set_default(c, &db, def, name, depth + 1))
                return -1;
        }
        return 0;
    default:
        break;
    }
    if (rc)
        return rfail(c, OL_CODEC_NOMEM, field, "%s", avro_strerror());
    return 0;
}

int ol_resolve_scan(const void *body, size_t n, avro_schema_t writer, size_t *used, char *why, size_t whylen)
{
    struct scan sc = {(const uint8_t *)body, n, 0, why, whylen};

    *used = 0;
    if (scan_value(&sc, writer, 0))
        return -1;
    *used = sc.pos;
    return 0;
}

enum ol_codec_err ol_resolve_value(const ol_schema *reader, avro_value_t *dst, avro_value_t *src, char *why,
                                   size_t whylen)
{
    struct rctx c = {reader, why, whylen, OL_CODEC_INCOMPATIBLE};

    if (resolve_value(&c, dst, src, "", 0))
        return c.cls;
    return OL_CODEC_OK;
}
