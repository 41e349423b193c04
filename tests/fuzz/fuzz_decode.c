/* libFuzzer target: Confluent framing + Avro decode (with the pre-scan and
 * schema resolution) + validation, against every input schema. The first
 * input byte picks the reader schema; the rest is the framed record. Any
 * crash, leak, sanitizer report or abort is a bug: bad bytes must only ever
 * produce an error code and a reason. */
#include "ol_codec.h"
#include "ol_json.h"
#include "ol_schema.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static ol_schemas *g_schemas;
static ol_decoder **g_dec;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[512];
    (void)argc;
    (void)argv;
    if (ol_schemas_load(ol_schemas_default_dir(), &g_schemas, err, sizeof err)) {
        fprintf(stderr, "fuzz: %s\n", err);
        abort();
    }
    g_dec = calloc(g_schemas->n, sizeof *g_dec);
    for (size_t i = 0; i < g_schemas->n; i++)
        g_dec[i] = ol_decoder_new(g_schemas, &g_schemas->v[i]);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    int32_t wid;
    if (size < 1)
        return 0;
    size_t i = data[0] % g_schemas->n;
    if (ol_decoder_decode(g_dec[i], data + 1, size - 1, &wid, err, sizeof err) == OL_CODEC_OK) {
        ol_validate(&g_schemas->v[i], ol_decoder_value(g_dec[i]), err, sizeof err);
        json_t *j = ol_json_from_avro(&g_schemas->v[i], ol_decoder_value(g_dec[i]));
        json_decref(j);
    }
    return 0;
}
