/* libFuzzer target: the JSON line parser and mapper of `opsledger produce`,
 * then validation and encoding, against every input schema. The first byte
 * picks the schema; the rest is the line. */
#include "ol_codec.h"
#include "ol_json.h"
#include "ol_schema.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static ol_schemas *g_schemas;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[512];
    (void)argc;
    (void)argv;
    if (ol_schemas_load(ol_schemas_default_dir(), &g_schemas, err, sizeof err)) {
        fprintf(stderr, "fuzz: %s\n", err);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[1024];
    avro_value_t v;
    if (size < 1)
        return 0;
    const ol_schema *s = &g_schemas->v[data[0] % g_schemas->n];
    if (avro_generic_value_new(s->iface, &v))
        return 0;
    if (ol_json_line_to_avro(s, (const char *)data + 1, size - 1, &v, err, sizeof err) == 0 &&
        ol_validate(s, &v, err, sizeof err) == 0) {
        uint8_t *frame = NULL;
        size_t len;
        if (ol_codec_encode(s, &v, &frame, &len, err, sizeof err) == 0)
            free(frame);
    }
    avro_value_decref(&v);
    return 0;
}
