/* ol_schema — the schema manifest: id -> subject -> .avsc file.
 *
 * schemas/manifest.tsv lists `id subject file key_field entity_field`. Each
 * subject (`<topic>-value`) may have several ids over time (evolution); the
 * highest id is the current one, the one producers write and services read
 * into. Both the parsed avro-c schema and the raw JSON (for logical types,
 * defaults and the ol.* validation attributes avro-c does not expose) are kept.
 *
 * Directory: --schemas flag, else $OPSLEDGER_SCHEMAS, else the repo's schemas/
 * compiled in, else /usr/share/opsledger/schemas. */
#ifndef OL_SCHEMA_H
#define OL_SCHEMA_H

#include <avro.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ol_schema {
    int32_t id;
    char *subject;      /* "hr.person-value" */
    char *topic;        /* "hr.person" */
    char *file;         /* full path */
    char *key_field;    /* Kafka key field; "key" for derived */
    char *entity_field; /* field whose value identifies the entity (revision unit) */
    json_t *json;       /* the parsed .avsc (owned) */
    avro_schema_t avro; /* owned */
    avro_value_iface_t *iface; /* generic class of avro (owned) */
    struct ol_vprog *vprog;    /* ol_validate's compiled checks (owned; NULL: walk the JSON) */
} ol_schema;

typedef struct ol_schemas {
    ol_schema *v;
    size_t n;
    char *dir;
    /* the Schema Registry when schema_registry.url is set (ol_registry.h;
     * owned, freed with the set), else NULL: the manifest's ids serve */
    struct ol_registry *reg;
} ol_schemas;

/* Loads every schema of dir/manifest.tsv. Returns 0, or -1 with err naming
 * the file and line. *out is owned by the caller: ol_schemas_free(). */
int ol_schemas_load(const char *dir, ol_schemas **out, char *err, size_t errlen);
void ol_schemas_free(ol_schemas *s);
const char *ol_schemas_default_dir(void);

/* ol_validate.c: the schema's validation rules compiled to a tree of checks
 * (NULL when the schema has a construct the compiler does not take) */
struct ol_vprog *ol_validate_compile(const ol_schema *s);
void ol_validate_free(struct ol_vprog *p);

const ol_schema *ol_schemas_by_id(const ol_schemas *s, int32_t id);
/* current (highest id) schema of the topic's `<topic>-value` subject */
const ol_schema *ol_schemas_for_topic(const ol_schemas *s, const char *topic);

/* the JSON node of a named type defined anywhere inside a schema file,
 * for resolving references like "Activity" or "com.opsledger.input.Activity" */
json_t *ol_schema_named_type(const ol_schema *s, const char *name);

#endif
