/* ol_drec — derived events from C values, encoded without avro-c's generic
 * values. Why it exists, and what it encodes: ol_drec.h. The bytes follow the
 * Avro specification's binary encoding (zig-zag varint int and long, a
 * length-prefixed string, one byte for a boolean, the symbol's index for an
 * enum, the branch's index then the value for a union), which is what
 * avro_value_write produces; tests/unit/test_drec.c holds the two side by
 * side for every kind. */
#include "ol_drec.h"

#include "ol_codec.h"
#include "ol_log.h"
#include "ol_runtime_int.h" /* ol_fold_envelope_first */

#include <avro.h>
#include <stdlib.h>
#include <string.h>

enum kind { K_STR, K_INT, K_LONG, K_BOOL, K_ENUM, K_OPT_STR, K_OPT_INT, K_OPT_LONG };
static const char *const kind_names[] = {"string",           "int",          "long",          "boolean",
                                         "enum",             "[null,string]", "[null,int]",    "[null,long]"};

struct field {
    const char *name;  /* the schema's (avro-c owns it) */
    enum kind kind;
    int nsymbols;      /* K_ENUM */
    int set, null;
    int64_t i;         /* int, long, boolean, enum */
    size_t off, len;   /* a string: its bytes in buf */
};

struct ol_drec {
    const ol_schema *schema;
    struct field *f; /* the fields after the envelope, in the schema's order */
    size_t n, next;  /* next: where the following setter's field is looked for first */
    char *buf;       /* the strings set */
    size_t used, cap;
    uint8_t *frame;  /* ol_drec_frame's output */
    size_t fcap;
};

static int is_opt(enum kind k) { return k == K_OPT_STR || k == K_OPT_INT || k == K_OPT_LONG; }

/* the kind of a top-level field's schema t: 0, or -1 when not encodable */
static int kind_of(avro_schema_t t, enum kind *k, int *nsymbols)
{
    switch (avro_typeof(t)) {
    case AVRO_STRING: *k = K_STR; return 0;
    case AVRO_INT32: *k = K_INT; return 0;
    case AVRO_INT64: *k = K_LONG; return 0;
    case AVRO_BOOLEAN: *k = K_BOOL; return 0;
    case AVRO_ENUM:
        *k = K_ENUM;
        *nsymbols = (int)avro_schema_enum_number_of_symbols(t);
        return 0;
    case AVRO_UNION: {
        if (avro_schema_union_size(t) != 2 || avro_typeof(avro_schema_union_branch(t, 0)) != AVRO_NULL)
            return -1;
        switch (avro_typeof(avro_schema_union_branch(t, 1))) {
        case AVRO_STRING: *k = K_OPT_STR; return 0;
        case AVRO_INT32: *k = K_OPT_INT; return 0;
        case AVRO_INT64: *k = K_OPT_LONG; return 0;
        default: return -1;
        }
    }
    default: return -1;
    }
}

ol_drec *ol_drec_new(const ol_schema *s, char *why, size_t whylen)
{
    ol_drec *r = NULL;
    size_t nf;

    if (!ol_fold_envelope_first(s)) {
        snprintf(why, whylen, "not a record with the envelope event_id, key, revision first");
        return NULL;
    }
    nf = avro_schema_record_size(s->avro);
    if (!(r = calloc(1, sizeof *r)) || !(r->f = calloc(nf - 3 ? nf - 3 : 1, sizeof *r->f))) {
        snprintf(why, whylen, "out of memory");
        goto fail;
    }
    r->schema = s;
    r->n = nf - 3;
    for (size_t i = 0; i < r->n; i++) {
        struct field *f = &r->f[i];
        f->name = avro_schema_record_field_name(s->avro, (int)(i + 3));
        if (!f->name || kind_of(avro_schema_record_field_get_by_index(s->avro, (int)(i + 3)), &f->kind, &f->nsymbols)) {
            snprintf(why, whylen, "field %s is of a type the builder does not encode", f->name ? f->name : "?");
            goto fail;
        }
    }
    return r;
fail:
    ol_drec_free(r);
    return NULL;
}

void ol_drec_free(ol_drec *r)
{
    if (!r)
        return;
    free(r->f);
    free(r->buf);
    free(r->frame);
    free(r);
}

void ol_drec_clear(ol_drec *r)
{
    for (size_t i = 0; i < r->n; i++)
        r->f[i].set = 0;
    r->used = 0;
    r->next = 0;
}

/* the field called name, set to be given a value of kind k: NULL (logged)
 * when there is none, or it is of another kind (a nullable field takes
 * only the opt_ setters, a plain one only the others) */
static struct field *slot(ol_drec *r, const char *name, enum kind k)
{
    struct field *f = NULL;
    if (r->next < r->n && !strcmp(r->f[r->next].name, name))
        f = &r->f[r->next]; /* setters usually follow the schema's order */
    for (size_t i = 0; !f && i < r->n; i++)
        if (!strcmp(r->f[i].name, name))
            f = &r->f[i];
    if (!f) {
        ol_error("derived event has no such field|topic=%s field=%s", r->schema->topic, name);
        return NULL;
    }
    if (f->kind != k) {
        f->set = 0; /* a refused value leaves no older one behind */
        ol_error("derived event field set with a value of another type|topic=%s field=%s type=%s", r->schema->topic,
                 name, kind_names[f->kind]);
        return NULL;
    }
    r->next = (size_t)(f - r->f) + 1;
    f->set = 1;
    f->null = 0;
    return f;
}

static int set_num(ol_drec *r, const char *name, enum kind k, int present, int64_t v)
{
    struct field *f = slot(r, name, k);
    if (!f)
        return -1;
    if (!present && !is_opt(f->kind)) {
        f->set = 0;
        ol_error("derived event field is not nullable|topic=%s field=%s", r->schema->topic, name);
        return -1;
    }
    f->null = !present;
    f->i = v;
    return 0;
}

int ol_drec_int(ol_drec *r, const char *name, int32_t v) { return set_num(r, name, K_INT, 1, v); }
int ol_drec_long(ol_drec *r, const char *name, int64_t v) { return set_num(r, name, K_LONG, 1, v); }
int ol_drec_bool(ol_drec *r, const char *name, int v) { return set_num(r, name, K_BOOL, 1, v != 0); }

int ol_drec_opt_int(ol_drec *r, const char *name, int present, int32_t v)
{
    return set_num(r, name, K_OPT_INT, present, v);
}

int ol_drec_opt_long(ol_drec *r, const char *name, int present, int64_t v)
{
    return set_num(r, name, K_OPT_LONG, present, v);
}

int ol_drec_enum(ol_drec *r, const char *name, int v)
{
    struct field *f = slot(r, name, K_ENUM);
    if (!f)
        return -1;
    if (v < 0 || v >= f->nsymbols) {
        f->set = 0;
        ol_error("derived event enum index out of range|topic=%s field=%s index=%d symbols=%d", r->schema->topic,
                 name, v, f->nsymbols);
        return -1;
    }
    f->i = v;
    return 0;
}

static int set_str(ol_drec *r, const char *name, enum kind k, const char *s)
{
    struct field *f = slot(r, name, k);
    if (!f)
        return -1;
    if (!s) {
        if (!is_opt(f->kind)) {
            f->set = 0;
            ol_error("derived event field is not nullable|topic=%s field=%s", r->schema->topic, name);
            return -1;
        }
        f->null = 1;
        return 0;
    }
    size_t len = strlen(s);
    if (r->used + len > r->cap) {
        size_t cap = r->cap ? r->cap : 256;
        while (cap < r->used + len)
            cap *= 2;
        char *nb = realloc(r->buf, cap);
        if (!nb) {
            f->set = 0;
            ol_error("out of memory|topic=%s field=%s", r->schema->topic, name);
            return -1;
        }
        r->buf = nb;
        r->cap = cap;
    }
    memcpy(r->buf + r->used, s, len);
    f->off = r->used;
    f->len = len;
    r->used += len;
    return 0;
}

int ol_drec_str(ol_drec *r, const char *name, const char *s) { return set_str(r, name, K_STR, s); }
int ol_drec_opt_str(ol_drec *r, const char *name, const char *s) { return set_str(r, name, K_OPT_STR, s); }

int ol_drec_frame(ol_drec *r, const char *key, const uint8_t **frame, size_t *len)
{
    size_t klen = strlen(key);
    /* header, "" (1), key (10 + klen), revision 0 (1); per field at most a
     * branch (1) and a 10-byte varint, strings their bytes besides */
    size_t need = OL_FRAME_HEADER + 12 + klen + r->n * 11 + r->used;
    for (size_t i = 0; i < r->n; i++)
        if (!r->f[i].set) {
            ol_error("derived event field not set|topic=%s field=%s key=%s", r->schema->topic, r->f[i].name, ol_log_q(key));
            return -1;
        }
    if (need > r->fcap) {
        uint8_t *nf = realloc(r->frame, need);
        if (!nf) {
            ol_error("out of memory|topic=%s key=%s", r->schema->topic, ol_log_q(key));
            return -1;
        }
        r->frame = nf;
        r->fcap = need;
    }
    uint8_t *p = r->frame;
    uint32_t id = (uint32_t)r->schema->id;
    *p++ = 0;
    *p++ = (uint8_t)(id >> 24), *p++ = (uint8_t)(id >> 16), *p++ = (uint8_t)(id >> 8), *p++ = (uint8_t)id;
    p += ol_codec_put_long(p, 0); /* event_id "" */
    p += ol_codec_put_long(p, (int64_t)klen);
    memcpy(p, key, klen);
    p += klen;
    p += ol_codec_put_long(p, 0); /* revision 0 */
    for (size_t i = 0; i < r->n; i++) {
        const struct field *f = &r->f[i];
        int opt = is_opt(f->kind);
        if (opt)
            p += ol_codec_put_long(p, f->null ? 0 : 1); /* the branch: null is the first */
        if (opt && f->null)
            continue;
        if (f->kind == K_STR || f->kind == K_OPT_STR) {
            p += ol_codec_put_long(p, (int64_t)f->len);
            memcpy(p, r->buf + f->off, f->len);
            p += f->len;
        } else if (f->kind == K_BOOL) {
            *p++ = (uint8_t)(f->i != 0);
        } else {
            p += ol_codec_put_long(p, f->i); /* int, long, an enum's index */
        }
    }
    *frame = r->frame;
    *len = (size_t)(p - r->frame);
    return 0;
}
