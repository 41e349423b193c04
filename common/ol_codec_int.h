/* ol_codec_int — what the decoder (ol_codec.c) calls in ol_resolve.c: the
 * pre-scan of an Avro body against its writer schema and the writer->reader
 * resolution. Split out so that each file stays one concern; not for use
 * outside the codec. */
#ifndef OL_CODEC_INT_H
#define OL_CODEC_INT_H

#include "ol_codec.h"

/* Walks the n bytes of an Avro body against writer, checking every length,
 * enum index, union branch and block count against the bytes left, before
 * avro-c allocates anything. Returns 0 with *used = the bytes one value
 * takes (less than n means trailing bytes), or -1 with a reason in why. */
int ol_resolve_scan(const void *body, size_t n, avro_schema_t writer, size_t *used, char *why, size_t whylen);

/* Resolves src, a value of a writer version of reader's subject, into dst
 * (reader-shaped, reset by the caller) by Avro's rules. Returns OL_CODEC_OK,
 * or the class (INCOMPATIBLE, BODY, NOMEM) with a reason in why. */
enum ol_codec_err ol_resolve_value(const ol_schema *reader, avro_value_t *dst, avro_value_t *src, char *why,
                                   size_t whylen);

#endif
