/* fixture — folds JSON-described records through a service's real fold with
 * the runtime and an in-memory batch, for the services' fold tests. */
#ifndef FOLD_FIXTURE_H
#define FOLD_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ol_codec.h"
#include "ol_json.h"
#include "ol_runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FX_MAX_RECORDS 256 /* records added before a fold */

struct fx {
    ol_schemas *schemas;
    ol_config cfg;
    char dir[256];
    ol_runtime *rt;
    ol_record recs[FX_MAX_RECORDS];
    uint8_t *frames[FX_MAX_RECORDS];
    int n;
    int64_t next_offset;
};

/* the projection's scratch directory, under $TMPDIR (or /tmp): make mutants
 * points TMPDIR at its own scratch tree, so that a test a mutant makes fail
 * leaves nothing behind in /tmp */
static void fx_mkdtemp(struct fx *f)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/ol-fold-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(f->dir));
}

static struct fx *fx_new_for(const ol_service *svc)
{
    struct fx *f = calloc(1, sizeof *f);
    char err[512];
    assert_non_null(f);
    assert_int_equal(ol_schemas_load(ol_schemas_default_dir(), &f->schemas, err, sizeof err), 0);
    ol_config_init(&f->cfg);
    fx_mkdtemp(f);
    ol_runtime_opts o = {.db_path = f->dir, .publish = 0, .batch_max = 100};
    f->rt = ol_runtime_new(svc, &f->cfg, f->schemas, &o, err, sizeof err);
    if (!f->rt)
        fail_msg("runtime: %s", err);
    return f;
}

static void fx_clear(struct fx *f)
{
    for (int i = 0; i < f->n; i++)
        free(f->frames[i]);
    f->n = 0;
}

static void fx_free(struct fx *f)
{
    char cmd[300];
    fx_clear(f);
    ol_runtime_free(f->rt);
    ol_schemas_free(f->schemas);
    ol_config_free(&f->cfg);
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
}

/* queue one record given as a JSON line */
static void add(struct fx *f, const char *topic, const char *json)
{
    const ol_schema *s = ol_schemas_for_topic(f->schemas, topic);
    avro_value_t v;
    char err[512];
    size_t len;
    assert_non_null(s);
    if (f->n >= FX_MAX_RECORDS)
        fail_msg("more than %d records added before a fold", FX_MAX_RECORDS);
    assert_int_equal(avro_generic_value_new(s->iface, &v), 0);
    if (ol_json_line_to_avro(s, json, strlen(json), &v, err, sizeof err))
        fail_msg("%s: %s", json, err);
    assert_int_equal(ol_codec_encode(s, &v, &f->frames[f->n], &len, err, sizeof err), 0);
    avro_value_decref(&v);
    ol_record *r = &f->recs[f->n];
    memset(r, 0, sizeof *r);
    r->topic = s->topic;
    r->partition = 0;
    r->offset = f->next_offset++;
    r->value = f->frames[f->n];
    r->value_len = len;
    f->n++;
}

static void fold(struct fx *f)
{
    assert_int_equal(ol_runtime_fold_batch(f->rt, f->recs, f->n), 0);
    fx_clear(f);
}

/* a long field of the last derived event */
__attribute__((unused)) static int derived_long(struct fx *f, const char *topic, const char *key, const char *field, int64_t *out)
{
    ol_store *st = ol_runtime_store(f->rt);
    MDB_txn *txn;
    ol_key k;
    MDB_val kv, v;
    char err[256];
    int32_t wid;
    ol_derived_key(&k, topic, key);
    kv = ol_key_val(&k);
    assert_int_equal(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn), 0);
    int rc = mdb_get(txn, ol_store_dbi(st, "derived"), &kv, &v);
    if (rc == 0) {
        const ol_schema *s = ol_schemas_for_topic(f->schemas, topic);
        ol_decoder *d = ol_decoder_new(f->schemas, s);
        assert_int_equal(ol_decoder_decode(d, v.mv_data, v.mv_size, &wid, err, sizeof err), OL_CODEC_OK);
        avro_value_t fv, b = {0};
        assert_int_equal(avro_value_get_by_name(ol_decoder_value(d), field, &fv, NULL), 0);
        if (avro_value_get_type(&fv) == AVRO_UNION) {
            assert_int_equal(avro_value_get_current_branch(&fv, &b), 0);
            fv = b;
        }
        if (avro_value_get_type(&fv) == AVRO_BOOLEAN) {
            int bv = 0;
            assert_int_equal(avro_value_get_boolean(&fv, &bv), 0);
            *out = bv;
        } else if (avro_value_get_type(&fv) == AVRO_ENUM) {
            int ev = 0;
            assert_int_equal(avro_value_get_enum(&fv, &ev), 0);
            *out = ev;
        } else if (avro_value_get_type(&fv) == AVRO_INT32) {
            int32_t iv = 0;
            assert_int_equal(avro_value_get_int(&fv, &iv), 0);
            *out = iv;
        } else
            assert_int_equal(avro_value_get_long(&fv, out), 0);
        ol_decoder_free(d);
    }
    mdb_txn_abort(txn);
    return rc;
}

/* a runtime counter ("emitted", "folded", ...) as stored in the projection */
__attribute__((unused)) static int64_t fx_counter(struct fx *f, const char *name)
{
    ol_store *st = ol_runtime_store(f->rt);
    MDB_txn *txn;
    int64_t v = -1;
    assert_int_equal(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(ol_meta_get_i64(txn, ol_store_dbi(st, "meta"), name, &v), 0);
    mdb_txn_abort(txn);
    return v;
}

/* an int field of the last derived event */
__attribute__((unused)) static int derived_int(struct fx *f, const char *topic, const char *key, const char *field,
                                               int32_t *out)
{
    int64_t v = 0;
    int rc = derived_long(f, topic, key, field, &v);
    *out = (int32_t)v;
    return rc;
}

#endif
