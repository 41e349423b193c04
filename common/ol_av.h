/* ol_av — terse, checked access to avro-c generic record fields by name, for
 * services reading input entities and filling derived events. Getters
 * return a default when the field is missing or null (the schema guarantees
 * presence; validation ran before any fold), setters return 0 or -1. */
#ifndef OL_AV_H
#define OL_AV_H

#include <avro.h>
#include <stdint.h>

/* string field; "" when null or missing */
const char *ol_av_str(avro_value_t *rec, const char *name);
/* 1 when the (nullable) field holds a value */
int ol_av_present(avro_value_t *rec, const char *name);
int32_t ol_av_int(avro_value_t *rec, const char *name, int32_t def);
int64_t ol_av_long(avro_value_t *rec, const char *name, int64_t def);
int ol_av_bool(avro_value_t *rec, const char *name);
/* enum index; -1 when missing */
int ol_av_enum(avro_value_t *rec, const char *name);
/* the field itself (e.g. an array), 0 or -1 */
int ol_av_field(avro_value_t *rec, const char *name, avro_value_t *out);
/* the record's field called name (the raw field, unions unresolved): 0, or
 * -1 when the record has no such field; cached by (schema, name pointer) */
int ol_av_lookup(avro_value_t *rec, const char *name, avro_value_t *out);

int ol_av_set_str(avro_value_t *rec, const char *name, const char *s);
int ol_av_set_int(avro_value_t *rec, const char *name, int32_t v);
int ol_av_set_long(avro_value_t *rec, const char *name, int64_t v);
int ol_av_set_bool(avro_value_t *rec, const char *name, int v);
int ol_av_set_enum(avro_value_t *rec, const char *name, int v);
/* nullable ["null", T] fields: present=0 sets null */
int ol_av_set_opt_int(avro_value_t *rec, const char *name, int present, int32_t v);
int ol_av_set_opt_long(avro_value_t *rec, const char *name, int present, int64_t v);
int ol_av_set_opt_str(avro_value_t *rec, const char *name, const char *s /* NULL = null */);

#endif
