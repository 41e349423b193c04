/* ol_codec — see ol_codec.h. This file: the Confluent framing, encoding and
 * the decoder; the body scan and the schema resolution the decoder calls are
 * in ol_resolve.c (through ol_codec_int.h). */
#include "ol_codec_int.h"
#include "ol_flatdec.h"
#include "ol_registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *ol_codec_err_name(enum ol_codec_err e)
{
    switch (e) {
    case OL_CODEC_OK: return "ok";
    case OL_CODEC_SHORT: return "short_frame";
    case OL_CODEC_MAGIC: return "wrong_magic";
    case OL_CODEC_UNKNOWN_ID: return "unknown_schema_id";
    case OL_CODEC_WRONG_SUBJECT: return "wrong_subject";
    case OL_CODEC_INCOMPATIBLE: return "incompatible_schema";
    case OL_CODEC_BODY: return "bad_body";
    case OL_CODEC_TRAILING: return "trailing_bytes";
    case OL_CODEC_NOMEM: return "out_of_memory";
    }
    return "unknown";
}

int ol_codec_encode(const ol_schema *s, avro_value_t *v, uint8_t **out, size_t *out_len, char *err,
                    size_t errlen)
{
    size_t body = 0;
    uint8_t *buf = NULL;
    avro_writer_t w = NULL;

    *out = NULL;
    *out_len = 0;
    if (avro_value_sizeof(v, &body)) {
        snprintf(err, errlen, "avro sizeof: %s", avro_strerror());
        return -1;
    }
    buf = malloc(OL_FRAME_HEADER + body);
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    buf[0] = 0;
    buf[1] = (uint8_t)((uint32_t)s->id >> 24);
    buf[2] = (uint8_t)((uint32_t)s->id >> 16);
    buf[3] = (uint8_t)((uint32_t)s->id >> 8);
    buf[4] = (uint8_t)s->id;
    w = avro_writer_memory((char *)buf + OL_FRAME_HEADER, (int64_t)body);
    if (!w || avro_value_write(w, v)) {
        snprintf(err, errlen, "avro write: %s", avro_strerror());
        if (w)
            avro_writer_free(w);
        free(buf);
        return -1;
    }
    avro_writer_free(w);
    *out = buf;
    *out_len = OL_FRAME_HEADER + body;
    return 0;
}

size_t ol_codec_put_long(uint8_t *p, int64_t n)
{
    uint64_t u = ((uint64_t)n << 1) ^ (uint64_t)(n >> 63);
    size_t i = 0;
    while (u >= 0x80) {
        p[i++] = (uint8_t)(u | 0x80);
        u >>= 7;
    }
    p[i++] = (uint8_t)u;
    return i;
}

enum ol_codec_err ol_codec_header(const void *buf, size_t len, int32_t *schema_id)
{
    const uint8_t *b = buf;
    *schema_id = -1;
    if (len < OL_FRAME_HEADER)
        return OL_CODEC_SHORT;
    if (b[0] != 0)
        return OL_CODEC_MAGIC;
    *schema_id = (int32_t)(((uint32_t)b[1] << 24) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 8) | b[4]);
    return OL_CODEC_OK;
}

struct resolver {
    int32_t writer_id;
    /* another version of the subject: the body is read in the writer's
     * shape, then resolved into the reader's by ol_resolve_value(). avro-c's
     * own resolved writer is not used: it cannot fill a reader field the
     * writer lacks from its default ("TODO: Handle default values!"), it
     * crashes building a resolver when a record nested in an array gained
     * a field, and it maps enum indexes, not symbols. */
    int by_copy;
    avro_value_t wvalue;
    int incompatible;
    char reason[160];
    ol_flatdec *flat; /* the writer is a flat record: read in one pass (ol_flatdec.h); NULL: general path */
};

struct ol_decoder {
    const ol_schemas *all;
    const ol_schema *reader;
    avro_value_t value;
    struct resolver *r;
    size_t nr;
    avro_reader_t mem;
    struct ol_registry *reg; /* set: frame ids are the registry's */
};

void ol_decoder_use_registry(ol_decoder *d, struct ol_registry *reg)
{
    d->reg = reg;
}

ol_decoder *ol_decoder_new(const ol_schemas *all, const ol_schema *reader)
{
    ol_decoder *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->all = all;
    d->reader = reader;
    if (avro_generic_value_new(reader->iface, &d->value)) {
        free(d);
        return NULL;
    }
    d->mem = avro_reader_memory("", 0);
    if (!d->mem) {
        avro_value_decref(&d->value);
        free(d);
        return NULL;
    }
    return d;
}

void ol_decoder_free(ol_decoder *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->nr; i++) {
        if (d->r[i].by_copy)
            avro_value_decref(&d->r[i].wvalue);
        ol_flatdec_free(d->r[i].flat);
    }
    free(d->r);
    avro_value_decref(&d->value);
    avro_reader_free(d->mem);
    free(d);
}

avro_value_t *ol_decoder_value(ol_decoder *d)
{
    return &d->value;
}

/* keyed by the frame's id: with a registry, ids are the registry's and the
 * writer may be the reader itself (the same schema under another id) */
static struct resolver *resolver_for(ol_decoder *d, int32_t frame_id, const ol_schema *w)
{
    for (size_t i = 0; i < d->nr; i++)
        if (d->r[i].writer_id == frame_id)
            return &d->r[i];
    struct resolver *nr = realloc(d->r, (d->nr + 1) * sizeof *nr);
    if (!nr)
        return NULL;
    d->r = nr;
    struct resolver *r = &d->r[d->nr++];
    memset(r, 0, sizeof *r);
    r->writer_id = frame_id;
    r->flat = ol_flatdec_new(w->avro); /* NULL (not flat, or no memory): the general path */
    if (w == d->reader)
        return r;
    if (avro_generic_value_new(w->iface, &r->wvalue)) {
        r->incompatible = 1;
        snprintf(r->reason, sizeof r->reason, "%s", avro_strerror());
        return r;
    }
    r->by_copy = 1;
    return r;
}

enum ol_codec_err ol_decoder_decode(ol_decoder *d, const void *buf, size_t len, int32_t *writer_id,
                                    char *err, size_t errlen)
{
    enum ol_codec_err e = ol_codec_header(buf, len, writer_id);
    const ol_schema *w;
    struct resolver *r;

    if (e == OL_CODEC_SHORT) {
        snprintf(err, errlen, "frame of %zu bytes is shorter than the 5-byte header", len);
        return e;
    }
    if (e == OL_CODEC_MAGIC) {
        snprintf(err, errlen, "magic byte is 0x%02x, expected 0x00", ((const uint8_t *)buf)[0]);
        return e;
    }
    if (d->reg) {
        /* the wait for a registry that is down happens before the batch
         * (ol_registry_rt.c), so here NOT_FOUND and UNAVAILABLE are rare */
        char why[400];
        switch (ol_registry_writer(d->reg, *writer_id, d->reader, &w, why, sizeof why)) {
        case OL_REG_OK: break;
        case OL_REG_NOMEM: snprintf(err, errlen, "out of memory"); return OL_CODEC_NOMEM;
        case OL_REG_REFUSED:
            snprintf(err, errlen, "%s", why);
            return OL_CODEC_WRONG_SUBJECT;
        case OL_REG_NOT_FOUND:
            snprintf(err, errlen, "schema id %d is not known to the schema registry: %s", *writer_id, why);
            return OL_CODEC_UNKNOWN_ID;
        case OL_REG_UNAVAILABLE:
            snprintf(err, errlen, "schema id %d: the schema registry did not answer: %s", *writer_id, why);
            return OL_CODEC_UNKNOWN_ID;
        }
    } else if (!(w = ol_schemas_by_id(d->all, *writer_id))) {
        snprintf(err, errlen, "schema id %d is not in the manifest", *writer_id);
        return OL_CODEC_UNKNOWN_ID;
    }
    if (!d->reg && strcmp(w->subject, d->reader->subject) != 0) {
        snprintf(err, errlen, "schema id %d is of subject %s, expected %s", *writer_id, w->subject,
                 d->reader->subject);
        return OL_CODEC_WRONG_SUBJECT;
    }
    r = resolver_for(d, *writer_id, w);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return OL_CODEC_NOMEM;
    }
    if (r->incompatible) {
        snprintf(err, errlen, "schema id %d cannot be read as id %d: %s", *writer_id, d->reader->id, r->reason);
        return OL_CODEC_INCOMPATIBLE;
    }
    char why[300];
    size_t body = len - OL_FRAME_HEADER, used;
    int rc;
    /* a flat writer is read in one pass; what that pass does not accept
     * (including every fault) takes the general path below, which names it */
    avro_value_reset(&d->value);
    if (r->flat) {
        avro_value_t *dst = r->by_copy ? &r->wvalue : &d->value;
        if (r->by_copy)
            avro_value_reset(dst);
        if (ol_flatdec_read(r->flat, (const uint8_t *)buf + OL_FRAME_HEADER, body, dst) == 0)
            goto read;
        avro_value_reset(dst);
    }
    /* check every length, index and count against the writer schema and
     * the bytes there are before avro-c allocates anything */
    if (ol_resolve_scan((const uint8_t *)buf + OL_FRAME_HEADER, body, w->avro, &used, why, sizeof why)) {
        snprintf(err, errlen, "avro body of schema id %d does not decode: %s", *writer_id, why);
        return OL_CODEC_BODY;
    }
    if (used != body) {
        snprintf(err, errlen, "%zu trailing bytes after the avro record of schema id %d", body - used, *writer_id);
        return OL_CODEC_TRAILING;
    }
    avro_reader_memory_set_source(d->mem, (const char *)buf + OL_FRAME_HEADER, (int64_t)(len - OL_FRAME_HEADER));
    if (r->by_copy) {
        avro_value_reset(&r->wvalue);
        rc = avro_value_read(d->mem, &r->wvalue);
    } else {
        rc = avro_value_read(d->mem, &d->value);
    }
    if (rc) {
        snprintf(err, errlen, "avro body of schema id %d does not decode: %s", *writer_id, avro_strerror());
        avro_value_reset(&d->value);
        return OL_CODEC_BODY;
    }
read:
    if (r->by_copy) {
        enum ol_codec_err ce = ol_resolve_value(d->reader, &d->value, &r->wvalue, why, sizeof why);
        if (ce != OL_CODEC_OK) {
            snprintf(err, errlen, "schema id %d cannot be read as id %d: %s", *writer_id, d->reader->id, why);
            avro_value_reset(&d->value);
            return ce;
        }
    }
    return OL_CODEC_OK;
}
