/* ol_codec — Confluent wire framing (0x00, 4-byte big-endian schema id, Avro
 * binary body) and decoding with writer->reader schema resolution.
 *
 * A decoder is built per reader (current) schema. Before avro-c sees a body,
 * the decoder scans it against the writer schema, bounding every length,
 * count, union branch and enum index by the bytes left (avro-c would
 * allocate a claimed 100 MB string, and does not check enum indexes). A
 * record of an older or newer writer schema is read in the writer's shape
 * and resolved by Avro's rules here (fields by name, defaults from the .avsc,
 * enums by symbol, promotions), because avro-c's own resolver cannot fill
 * defaults and crashes on some nested evolutions. Every failure is a
 * returned error with a reason, never an abort.
 *
 * Files: ol_codec.c holds the framing, encoding and the decoder;
 * ol_resolve.c the body scan and the writer->reader resolution, which the
 * decoder reaches through the private ol_codec_int.h. */
#ifndef OL_CODEC_H
#define OL_CODEC_H

#include "ol_schema.h"

#include <avro.h>
#include <stddef.h>
#include <stdint.h>

#define OL_FRAME_HEADER 5

/* Error classes, so dead letters and counters can say what went wrong. */
enum ol_codec_err {
    OL_CODEC_OK = 0,
    OL_CODEC_SHORT,        /* fewer than 5 bytes */
    OL_CODEC_MAGIC,        /* byte 0 is not 0x00 */
    OL_CODEC_UNKNOWN_ID,   /* id not in the manifest */
    OL_CODEC_WRONG_SUBJECT,/* id belongs to another topic's subject */
    OL_CODEC_INCOMPATIBLE, /* writer schema cannot be resolved to the reader */
    OL_CODEC_BODY,         /* body does not decode (truncated, bad enum index, ...) */
    OL_CODEC_TRAILING,     /* bytes left after the record */
    OL_CODEC_NOMEM,
};

struct ol_registry;

/* Encodes v (written with schema s) into a freshly malloc'ed frame;
 * caller frees *out. Returns 0 or -1 with err. */
int ol_codec_encode(const ol_schema *s, avro_value_t *v, uint8_t **out, size_t *out_len, char *err,
                    size_t errlen);

/* Reads the header. Returns OL_CODEC_OK, SHORT or MAGIC. */
enum ol_codec_err ol_codec_header(const void *buf, size_t len, int32_t *schema_id);
/* Writes n as an Avro long (zig-zag varint; ints are written the same way)
 * at p, which has room for 10 bytes; returns the bytes written. */
size_t ol_codec_put_long(uint8_t *p, int64_t n);

typedef struct ol_decoder ol_decoder;

/* A decoder into `reader` (owned by the schemas set, must outlive it).
 * Caller owns the decoder: ol_decoder_free(). */
ol_decoder *ol_decoder_new(const ol_schemas *all, const ol_schema *reader);
void ol_decoder_free(ol_decoder *d);
/* From now on frame ids are the Schema Registry's, not the manifest's: the
 * writer schema of an id comes from reg (ol_registry.h; not owned), the
 * reader stays the manifest's. For decoders of records from Kafka (input
 * topics), never of the derived events a service stores itself. */
void ol_decoder_use_registry(ol_decoder *d, struct ol_registry *reg);
/* The reusable reader-shaped value that decode fills; valid until the next
 * decode. */
avro_value_t *ol_decoder_value(ol_decoder *d);
/* Decodes one framed record into ol_decoder_value(d). On failure returns the
 * class and writes a human reason into err. *writer_id gets the frame's id
 * (or -1). */
enum ol_codec_err ol_decoder_decode(ol_decoder *d, const void *buf, size_t len, int32_t *writer_id,
                                    char *err, size_t errlen);

const char *ol_codec_err_name(enum ol_codec_err e);

#endif
