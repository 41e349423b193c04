/* ol_flatdec — reads the Avro body of a flat record (every top-level field
 * null, boolean, int, long, string, enum, or a union of those) into its
 * avro-c generic value in one pass, without avro-c's reader: the input
 * topics that carry most records (timesheet.entry, allocations, people,
 * leave, invoices, expenses, periods, risks, rota) are flat, and avro-c's
 * generic read mallocs and frees every string it reads (issue 15: decoding
 * was the largest cost every service shares).
 *
 * It decodes only what it is sure of and leaves the rest to the general
 * path (ol_codec.c: the bounds scan, then avro-c's reader), which names the
 * fault: a frame it refuses is not an error, only "not decoded here". A
 * frame it accepts is one the general path accepts, with an equal value
 * (tests/unit/test_flatdec.c checks both on every flat schema and on
 * mutated frames). */
#ifndef OL_FLATDEC_H
#define OL_FLATDEC_H

#include <avro.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ol_flatdec ol_flatdec;

/* A decoder for record schema sc, or NULL when sc is not a flat record (or
 * out of memory): the caller keeps the general path. Owned by the caller
 * (ol_flatdec_free); sc must outlive it. */
ol_flatdec *ol_flatdec_new(avro_schema_t sc);
void ol_flatdec_free(ol_flatdec *f);

/* Reads the n bytes at p (an Avro body, no frame header) into dst, a
 * generic value of the decoder's schema. 0: dst holds the record and every
 * byte was used. -1: not decoded here (truncated, a length, index or range
 * the general path must judge, trailing bytes); dst is then partly written
 * and the caller resets it before the general path. */
int ol_flatdec_read(ol_flatdec *f, const uint8_t *p, size_t n, avro_value_t *dst);

#endif
