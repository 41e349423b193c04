/* ol_av — see ol_av.h. */
#include "ol_av.h"

#include <stdint.h>
#include <string.h>

/* A record's field by name, through a small cache of (schema, name) ->
 * field index: names are the callers' literals, looked up millions of times,
 * and avro-c hashes the name on every look-up. A hit is checked against the
 * schema's own field name, so a stale entry (a schema freed and another
 * allocated at its address) is only a miss. 0, or -1 with no such field. */
#define LOOKUP_SLOTS 512
static _Thread_local struct {
    avro_schema_t schema;
    const char *name;
    size_t index;
} lookup_cache[LOOKUP_SLOTS];

int ol_av_lookup(avro_value_t *rec, const char *name, avro_value_t *out)
{
    avro_schema_t sc = avro_value_get_schema(rec);
    size_t idx;
    if (!sc || !is_avro_record(sc))
        return avro_value_get_by_name(rec, name, out, NULL) ? -1 : 0;
    uintptr_t h = ((uintptr_t)sc >> 4) ^ ((uintptr_t)name >> 2) ^ ((uintptr_t)name >> 11);
    size_t slot = h % LOOKUP_SLOTS;
    if (lookup_cache[slot].schema == sc && lookup_cache[slot].name == name) {
        idx = lookup_cache[slot].index;
        /* a stale entry's index may be past this schema's fields: avro-c's
         * field_name reads an unset pointer then (a crash seen in the tests,
         * whose schemas are freed and reallocated at the same addresses) */
        const char *fn = idx < avro_schema_record_size(sc) ? avro_schema_record_field_name(sc, (int)idx) : NULL;
        if (fn && strcmp(fn, name) == 0)
            return avro_value_get_by_index(rec, idx, out, NULL) ? -1 : 0;
    }
    int i = avro_schema_record_field_get_index(sc, name);
    if (i < 0)
        return -1;
    lookup_cache[slot].schema = sc;
    lookup_cache[slot].name = name;
    lookup_cache[slot].index = (size_t)i;
    return avro_value_get_by_index(rec, (size_t)i, out, NULL) ? -1 : 0;
}

/* the field, with a union resolved to its current branch; 0 found, -1 not, 1 null */
static int field(avro_value_t *rec, const char *name, avro_value_t *out)
{
    avro_value_t f;
    if (ol_av_lookup(rec, name, &f))
        return -1;
    if (avro_value_get_type(&f) == AVRO_UNION) {
        avro_value_t b;
        if (avro_value_get_current_branch(&f, &b))
            return 1; /* a union never set reads as null */
        f = b;
    }
    if (avro_value_get_type(&f) == AVRO_NULL)
        return 1;
    *out = f;
    return 0;
}

int ol_av_field(avro_value_t *rec, const char *name, avro_value_t *out) { return field(rec, name, out) ? -1 : 0; }

const char *ol_av_str(avro_value_t *rec, const char *name)
{
    avro_value_t f;
    const char *s;
    size_t len;
    if (field(rec, name, &f) || avro_value_get_type(&f) != AVRO_STRING || avro_value_get_string(&f, &s, &len))
        return "";
    return s;
}

int ol_av_present(avro_value_t *rec, const char *name)
{
    avro_value_t f;
    return field(rec, name, &f) == 0;
}

int32_t ol_av_int(avro_value_t *rec, const char *name, int32_t def)
{
    avro_value_t f;
    int32_t v;
    if (field(rec, name, &f) || avro_value_get_int(&f, &v))
        return def;
    return v;
}

int64_t ol_av_long(avro_value_t *rec, const char *name, int64_t def)
{
    avro_value_t f;
    int64_t v;
    if (field(rec, name, &f) || avro_value_get_long(&f, &v))
        return def;
    return v;
}

int ol_av_bool(avro_value_t *rec, const char *name)
{
    avro_value_t f;
    int v;
    if (field(rec, name, &f) || avro_value_get_boolean(&f, &v))
        return 0;
    return v != 0;
}

int ol_av_enum(avro_value_t *rec, const char *name)
{
    avro_value_t f;
    int v;
    if (field(rec, name, &f) || avro_value_get_enum(&f, &v))
        return -1;
    return v;
}

static int raw(avro_value_t *rec, const char *name, avro_value_t *out)
{
    return ol_av_lookup(rec, name, out);
}

int ol_av_set_str(avro_value_t *rec, const char *name, const char *s)
{
    avro_value_t f;
    return raw(rec, name, &f) || avro_value_set_string(&f, s) ? -1 : 0;
}

int ol_av_set_int(avro_value_t *rec, const char *name, int32_t v)
{
    avro_value_t f;
    return raw(rec, name, &f) || avro_value_set_int(&f, v) ? -1 : 0;
}

int ol_av_set_long(avro_value_t *rec, const char *name, int64_t v)
{
    avro_value_t f;
    return raw(rec, name, &f) || avro_value_set_long(&f, v) ? -1 : 0;
}

int ol_av_set_bool(avro_value_t *rec, const char *name, int v)
{
    avro_value_t f;
    return raw(rec, name, &f) || avro_value_set_boolean(&f, v != 0) ? -1 : 0;
}

int ol_av_set_enum(avro_value_t *rec, const char *name, int v)
{
    avro_value_t f;
    return raw(rec, name, &f) || avro_value_set_enum(&f, v) ? -1 : 0;
}

static int set_branch(avro_value_t *rec, const char *name, int present, avro_value_t *branch)
{
    avro_value_t f;
    if (raw(rec, name, &f))
        return -1;
    if (!present) {
        avro_value_t n;
        return avro_value_set_branch(&f, 0, &n) || avro_value_set_null(&n) ? -1 : 0;
    }
    return avro_value_set_branch(&f, 1, branch) ? -1 : 0;
}

int ol_av_set_opt_int(avro_value_t *rec, const char *name, int present, int32_t v)
{
    avro_value_t b;
    if (set_branch(rec, name, present, &b))
        return -1;
    return present && avro_value_set_int(&b, v) ? -1 : 0;
}

int ol_av_set_opt_long(avro_value_t *rec, const char *name, int present, int64_t v)
{
    avro_value_t b;
    if (set_branch(rec, name, present, &b))
        return -1;
    return present && avro_value_set_long(&b, v) ? -1 : 0;
}

int ol_av_set_opt_str(avro_value_t *rec, const char *name, const char *s)
{
    avro_value_t b;
    if (set_branch(rec, name, s != NULL, &b))
        return -1;
    return s && avro_value_set_string(&b, s) ? -1 : 0;
}
