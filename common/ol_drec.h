/* ol_drec — a derived event built from C values and encoded straight to
 * Avro binary, without avro-c's generic values.
 *
 * Exists because building an event through avro_value_t (a reset of every
 * field, a look-up and a setter call per field, then avro-c's sizeof and
 * write walks) was the largest share of a service's flush that was not LMDB
 * (issue 15: ~8 % of a replay of utilisation). A builder knows its topic's
 * schema: each top-level field's name and kind, resolved once. A setter
 * checks the kind and stores the value in the field's slot; the encoder
 * writes the slots in the schema's order. The bytes are exactly what avro-c
 * writes for the same values (tests/unit/test_drec.c compares them).
 *
 * Kinds a builder encodes: string, int, long, boolean, enum, and the
 * nullable ["null", T] of string, int and long. A schema with any other
 * top-level type (arrays, maps, records, doubles, ...) has no builder: such
 * a topic keeps ol_fold_new_derived. Every field but the envelope (event_id,
 * key, revision, which the runtime fills) must be set before the encoding;
 * a field left unset, a setter of the wrong kind or an enum index out of
 * range is an error naming the topic and the field, never a default. */
#ifndef OL_DREC_H
#define OL_DREC_H

#include "ol_schema.h"

#include <stddef.h>
#include <stdint.h>

typedef struct ol_drec ol_drec;

/* A builder for schema s (owned by the caller: ol_drec_free), or NULL when s
 * is not an envelope-first record of encodable kinds (why says which field)
 * or memory ran out. */
ol_drec *ol_drec_new(const ol_schema *s, char *why, size_t whylen);
void ol_drec_free(ol_drec *r);
/* forgets every value set */
void ol_drec_clear(ol_drec *r);

/* Setters: 0, or -1 (logged, and the field left unset) when the field
 * does not exist, is of another kind (a nullable field takes only the opt_
 * setters, a plain one only the others) or the value is out of range.
 * Names are compared by their bytes; values are copied. */
int ol_drec_str(ol_drec *r, const char *name, const char *s);
int ol_drec_int(ol_drec *r, const char *name, int32_t v);
int ol_drec_long(ol_drec *r, const char *name, int64_t v);
int ol_drec_bool(ol_drec *r, const char *name, int v);
int ol_drec_enum(ol_drec *r, const char *name, int v);
/* nullable ["null", T] fields: present=0 (or s NULL) sets null */
int ol_drec_opt_int(ol_drec *r, const char *name, int present, int32_t v);
int ol_drec_opt_long(ol_drec *r, const char *name, int present, int64_t v);
int ol_drec_opt_str(ol_drec *r, const char *name, const char *s);

/* The frame (header, then event_id "", key, revision 0, then the body):
 * what ol_codec_encode writes for the same values with that envelope. The
 * bytes are the builder's, valid until its next call. 0, or -1 (logged)
 * when a field is unset. */
int ol_drec_frame(ol_drec *r, const char *key, const uint8_t **frame, size_t *len);

#endif
