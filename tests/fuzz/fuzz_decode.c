/* libFuzzer target: Confluent framing + Avro decode (with the pre-scan and
 * schema resolution) + validation, against every input schema. The first
 * input byte picks the reader schema; the rest is the framed record. Any
 * crash, leak, sanitizer report or abort is a bug: bad bytes must only ever
 * produce an error code and a reason. The body is also read by the one-pass
 * reader of flat records (ol_flatdec) and by the general path alone (the
 * bounds scan, then avro-c): whenever the first accepts, the second must
 * accept an equal value, or the target aborts. */
#include "ol_codec.h"
#include "ol_codec_int.h"
#include "ol_flatdec.h"
#include "ol_json.h"
#include "ol_schema.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static ol_schemas *g_schemas;
static ol_decoder **g_dec;
static ol_flatdec **g_flat;
static avro_value_t *g_fast, *g_slow;
static avro_reader_t g_mem;

/* the one-pass reader and the general path agree on body (see the top) */
static void differential(size_t i, const uint8_t *body, size_t n)
{
    char why[300];
    size_t used;
    if (!g_flat[i])
        return;
    avro_value_reset(&g_fast[i]);
    if (ol_flatdec_read(g_flat[i], body, n, &g_fast[i]) != 0)
        return;
    avro_value_reset(&g_slow[i]);
    if (ol_resolve_scan(body, n, g_schemas->v[i].avro, &used, why, sizeof why) || used != n) {
        fprintf(stderr, "fuzz: the flat reader accepted what the scan refuses: %s\n", why);
        abort();
    }
    avro_reader_memory_set_source(g_mem, (const char *)body, (int64_t)n);
    if (avro_value_read(g_mem, &g_slow[i]) || !avro_value_equal(&g_fast[i], &g_slow[i])) {
        fprintf(stderr, "fuzz: the flat reader and avro-c read different values\n");
        abort();
    }
}

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
    g_flat = calloc(g_schemas->n, sizeof *g_flat);
    g_fast = calloc(g_schemas->n, sizeof *g_fast);
    g_slow = calloc(g_schemas->n, sizeof *g_slow);
    g_mem = avro_reader_memory("", 0);
    if (!g_dec || !g_flat || !g_fast || !g_slow || !g_mem)
        abort();
    for (size_t i = 0; i < g_schemas->n; i++) {
        g_dec[i] = ol_decoder_new(g_schemas, &g_schemas->v[i]);
        g_flat[i] = ol_flatdec_new(g_schemas->v[i].avro);
        if (avro_generic_value_new(g_schemas->v[i].iface, &g_fast[i]) ||
            avro_generic_value_new(g_schemas->v[i].iface, &g_slow[i]))
            abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    int32_t wid;
    if (size < 1)
        return 0;
    size_t i = data[0] % g_schemas->n;
    if (size > 1 + 5)
        differential(i, data + 1 + 5, size - 1 - 5);
    if (ol_decoder_decode(g_dec[i], data + 1, size - 1, &wid, err, sizeof err) == OL_CODEC_OK) {
        ol_validate(&g_schemas->v[i], ol_decoder_value(g_dec[i]), err, sizeof err);
        json_t *j = ol_json_from_avro(&g_schemas->v[i], ol_decoder_value(g_dec[i]));
        json_decref(j);
    }
    return 0;
}
