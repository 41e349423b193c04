/* ol_flatdec — see ol_flatdec.h. Why it exists: avro-c's generic read of a
 * string allocates a buffer and hands it to the value (and the next reset
 * frees it); this reads each field straight from the bytes and sets it
 * through the value's setters, which reuse the value's own buffers. */
#include "ol_flatdec.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum kind { K_NULL, K_BOOLEAN, K_INT, K_LONG, K_STRING, K_ENUM };

struct branch {
    enum kind kind;
    int nsymbols; /* K_ENUM */
};

struct field {
    int is_union;
    size_t nbranches; /* a union's; 1 otherwise (branches[0] is the field's kind) */
    struct branch *branches;
};

struct ol_flatdec {
    size_t nfields;
    struct field *fields;
    char *scratch; /* a string and its NUL, for avro_value_set_string_len (under REUSE_MAX bytes) */
    size_t scratch_cap;
};

static avro_schema_t unlink_schema(avro_schema_t sc)
{
    while (sc && is_avro_link(sc))
        sc = avro_schema_link_target(sc);
    return sc;
}

/* 0 and *b set when sc is a kind read here */
static int branch_of(avro_schema_t sc, struct branch *b)
{
    sc = unlink_schema(sc);
    if (!sc)
        return -1;
    b->nsymbols = 0;
    switch (avro_typeof(sc)) {
    case AVRO_NULL: b->kind = K_NULL; return 0;
    case AVRO_BOOLEAN: b->kind = K_BOOLEAN; return 0;
    case AVRO_INT32: b->kind = K_INT; return 0;
    case AVRO_INT64: b->kind = K_LONG; return 0;
    case AVRO_STRING: b->kind = K_STRING; return 0;
    case AVRO_ENUM:
        b->kind = K_ENUM;
        b->nsymbols = avro_schema_enum_number_of_symbols(sc);
        return b->nsymbols > 0 ? 0 : -1;
    default: return -1;
    }
}

void ol_flatdec_free(ol_flatdec *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->nfields; i++)
        free(f->fields[i].branches);
    free(f->fields);
    free(f->scratch);
    free(f);
}

ol_flatdec *ol_flatdec_new(avro_schema_t sc)
{
    sc = unlink_schema(sc);
    if (!sc || !is_avro_record(sc))
        return NULL;
    size_t n = avro_schema_record_size(sc);
    ol_flatdec *f = calloc(1, sizeof *f);
    if (!f || !(f->fields = calloc(n ? n : 1, sizeof *f->fields))) {
        free(f);
        return NULL;
    }
    for (size_t i = 0; i < n; i++, f->nfields++) {
        struct field *fd = &f->fields[i];
        avro_schema_t ft = unlink_schema(avro_schema_record_field_get_by_index(sc, (int)i));
        if (!ft)
            goto not_flat;
        fd->is_union = is_avro_union(ft);
        fd->nbranches = fd->is_union ? avro_schema_union_size(ft) : 1;
        if (!fd->nbranches || !(fd->branches = calloc(fd->nbranches, sizeof *fd->branches)))
            goto not_flat;
        for (size_t b = 0; b < fd->nbranches; b++)
            if (branch_of(fd->is_union ? avro_schema_union_branch(ft, (int)b) : ft, &fd->branches[b]))
                goto not_flat;
    }
    return f;
not_flat:
    /* the field being built counts too, so that its branches are freed */
    f->nfields++;
    ol_flatdec_free(f);
    return NULL;
}

/* a zig-zag varint of at most 10 bytes, read as avro-c and the bounds scan
 * read it (bits past 64 are dropped) */
static int get_long(const uint8_t **pp, const uint8_t *end, int64_t *out)
{
    const uint8_t *p = *pp;
    uint64_t u = 0;
    for (int i = 0; i < 10; i++) {
        if (p == end)
            return -1;
        uint8_t b = *p++;
        u |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *pp = p;
            *out = (int64_t)((u >> 1) ^ (~(u & 1) + 1));
            return 0;
        }
    }
    return -1;
}

/* A string longer than this is handed to the value in a buffer of its
 * own, freed at the value's next reset (as avro-c's reader does), instead
 * of through the scratch buffer and the value's reusable one: a decoder
 * that once saw a huge string does not keep that much memory for ever. */
#define REUSE_MAX 4096

/* avro-c keeps the wrapped buffer inside its value's storage, where it is
 * not always aligned (a union's branch): read the field through memcpy */
static void free_owned(avro_wrapped_buffer_t *self)
{
    void *buf;
    memcpy(&buf, (const char *)self + offsetof(avro_wrapped_buffer_t, buf), sizeof buf);
    free(buf);
}

static int give_string(avro_value_t *v, const uint8_t *s, size_t len)
{
    char *b = malloc(len + 1);
    if (!b)
        return -1;
    memcpy(b, s, len);
    b[len] = '\0';
    avro_wrapped_buffer_t wb = {b, len + 1, NULL, free_owned, NULL, NULL};
    if (avro_value_give_string_len(v, &wb)) {
        free(b);
        return -1;
    }
    return 0;
}

static int set_string(ol_flatdec *f, avro_value_t *v, const uint8_t *s, size_t len)
{
    if (len >= REUSE_MAX)
        return give_string(v, s, len);
    if (len + 1 > f->scratch_cap) {
        size_t cap = f->scratch_cap ? f->scratch_cap : 64;
        while (cap < len + 1)
            cap *= 2;
        char *n = realloc(f->scratch, cap);
        if (!n)
            return -1;
        f->scratch = n;
        f->scratch_cap = cap;
    }
    memcpy(f->scratch, s, len);
    f->scratch[len] = '\0';
    /* the size counts the NUL, as avro-c's reader gives it */
    return avro_value_set_string_len(v, f->scratch, len + 1) ? -1 : 0;
}

static int read_branch(ol_flatdec *f, const struct branch *b, const uint8_t **pp, const uint8_t *end,
                       avro_value_t *v)
{
    int64_t x;
    switch (b->kind) {
    case K_NULL: return avro_value_set_null(v) ? -1 : 0;
    case K_BOOLEAN:
        if (*pp == end || **pp > 1)
            return -1;
        return avro_value_set_boolean(v, *(*pp)++) ? -1 : 0;
    case K_INT:
        if (get_long(pp, end, &x) || x < INT32_MIN || x > INT32_MAX)
            return -1;
        return avro_value_set_int(v, (int32_t)x) ? -1 : 0;
    case K_LONG:
        if (get_long(pp, end, &x))
            return -1;
        return avro_value_set_long(v, x) ? -1 : 0;
    case K_STRING:
        if (get_long(pp, end, &x) || x < 0 || (uint64_t)x > (uint64_t)(end - *pp))
            return -1;
        if (set_string(f, v, *pp, (size_t)x))
            return -1;
        *pp += x;
        return 0;
    case K_ENUM:
        if (get_long(pp, end, &x) || x < 0 || x >= b->nsymbols)
            return -1;
        return avro_value_set_enum(v, (int)x) ? -1 : 0;
    }
    return -1;
}

int ol_flatdec_read(ol_flatdec *f, const uint8_t *p, size_t n, avro_value_t *dst)
{
    const uint8_t *end = p + n;
    for (size_t i = 0; i < f->nfields; i++) {
        const struct field *fd = &f->fields[i];
        avro_value_t v, bv;
        if (avro_value_get_by_index(dst, i, &v, NULL))
            return -1;
        if (!fd->is_union) {
            if (read_branch(f, &fd->branches[0], &p, end, &v))
                return -1;
            continue;
        }
        int64_t b;
        if (get_long(&p, end, &b) || b < 0 || (uint64_t)b >= fd->nbranches)
            return -1;
        if (avro_value_set_branch(&v, (int)b, &bv) || read_branch(f, &fd->branches[b], &p, end, &bv))
            return -1;
    }
    return p == end ? 0 : -1;
}
