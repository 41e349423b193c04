/* ol_registry_rt — what the fold runtime calls when a Schema Registry is
 * configured (issue 19), kept out of ol_runtime.c so that the runtime reads
 * as before and the hooks there stay three calls:
 *
 * - ol_registry_rt_open (end of ol_runtime_new): loads the writer schemas a
 *   previous run saved in the service's LMDB (`registry_schemas`, key the
 *   id as 4 bytes big-endian, value the registry's schema string), so a
 *   restart folds without a round trip; switches the input decoders to
 *   registry ids; refuses to start when an input's reader schema cannot read
 *   its subject's latest version; finds (or, with auto_register, registers)
 *   each derived topic's schema under `<topic>-value` for the publisher.
 *   A registry that does not answer is waited for, with a message each try.
 * - ol_registry_rt_prefetch (before a batch's write transaction): fetches
 *   the writer schema of every id of the batch not yet cached, waiting while
 *   the registry is down, so no record is dead-lettered for want of an
 *   answer; an id answered with 404 is left for the decoder to dead-letter.
 * - ol_registry_rt_persist (before the batch's commit): writes the schemas
 *   fetched since into the batch's transaction, so they are durable exactly
 *   when the records that needed them are. */
#include "ol_registry_int.h"
#include "ol_runtime_int.h"
#include "ol_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DBNAME "registry_schemas"
#define WAIT_MAX_MS 30000

/* sleeps before the next try of something the registry must answer;
 * -1 when the service is stopping */
static int wait_turn(ol_registry *r, long *backoff_ms)
{
    long ms = *backoff_ms;
    while (ms > 0 && !ol_registry_stopping(r)) {
        long step = ms > 100 ? 100 : ms;
        struct timespec ts = {0, step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
    *backoff_ms = *backoff_ms * 2 > WAIT_MAX_MS ? WAIT_MAX_MS : *backoff_ms * 2;
    return ol_registry_stopping(r) ? -1 : 0;
}

static int load_cache(ol_runtime *rt, ol_registry *r, char *err, size_t errlen)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_dbi dbi;
    MDB_val k, v;
    size_t n = 0;
    int rc;

    if ((rc = mdb_txn_begin(rt->store.env, NULL, 0, &txn)) || (rc = mdb_dbi_open(txn, DBNAME, MDB_CREATE, &dbi)) ||
        (rc = mdb_cursor_open(txn, dbi, &cur)))
        goto fail;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        char *text = k.mv_size == 4 ? strndup(v.mv_data, v.mv_size) : NULL;
        if (k.mv_size != 4)
            continue;
        if (!text || ol_registry_cache_put(r, (int32_t)ol_be32(k.mv_data), text, 0)) {
            free(text);
            rc = ENOMEM;
            goto fail;
        }
        free(text);
        n++;
    }
    if (rc != MDB_NOTFOUND)
        goto fail;
    mdb_cursor_close(cur);
    cur = NULL;
    if ((rc = mdb_txn_commit(txn))) {
        txn = NULL;
        goto fail;
    }
    r->dbi = dbi;
    r->have_dbi = 1;
    if (ol_store_track_db(&rt->store, DBNAME, dbi)) { /* ol_store_set_writemap reopens it with the store's */
        snprintf(err, errlen, "%s: too many databases", rt->store.path);
        return -1;
    }
    ol_info("schema registry|url=%s cached_schemas=%zu", ol_registry_url(r), n);
    return 0;
fail:
    if (cur)
        mdb_cursor_close(cur);
    if (txn)
        mdb_txn_abort(txn);
    snprintf(err, errlen, "%s: %s: %s", rt->store.path, DBNAME, mdb_strerror(rc));
    return -1;
}

/* the reader of an input topic must read what the subject's latest version writes */
static int check_input(ol_registry *r, const ol_schema *reader, char *err, size_t errlen)
{
    char why[1024];
    char *text = ol_registry_schema_text(reader);
    long backoff = 1000;
    int compatible = 0, rc = -1;

    if (!text) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (;;) {
        enum ol_reg_status st = ol_registry_check(r, reader->subject, text, &compatible, why, sizeof why);
        if (st == OL_REG_OK)
            break;
        if (st == OL_REG_NOT_FOUND) {
            /* nothing registered yet: the ids will be fetched as records arrive */
            ol_warn("schema registry has no version of the subject yet; its ids are fetched as records arrive|"
                    "subject=%s detail=\"%s\"",
                    reader->subject, why);
            rc = 0;
            goto out;
        }
        if (st != OL_REG_UNAVAILABLE) {
            snprintf(err, errlen, "%s", why);
            goto out;
        }
        ol_warn("schema registry unavailable at start; retrying (nothing is read until it answers)|subject=%s "
                "error=\"%s\" next_try_ms=%ld",
                reader->subject, why, backoff);
        if (wait_turn(r, &backoff)) {
            snprintf(err, errlen, "stopped while waiting for the schema registry at %s", ol_registry_url(r));
            goto out;
        }
    }
    if (!compatible) {
        snprintf(err, errlen,
                 "schema registry %s: the latest version of subject %s cannot be read with opsledger's reader "
                 "schema %s; records written with it would not decode. Add the new version to schemas/ "
                 "(see schemas/README.md, Evolution) or ask the producer to register a compatible one",
                 ol_registry_url(r), reader->subject, reader->file);
        goto out;
    }
    ol_info("schema registry: reader can read the subject's latest version|subject=%s", reader->subject);
    rc = 0;
out:
    free(text);
    return rc;
}

/* the registry id derived events of topic d are published with */
static int map_output(ol_registry *r, const struct derived_io *d, char *err, size_t errlen)
{
    long backoff = 1000;
    enum ol_reg_status st;
    while ((st = ol_registry_frame_id(r, d->schema, err, errlen)) == OL_REG_UNAVAILABLE) {
        ol_warn("schema registry unavailable at start; retrying (nothing is read until it answers)|subject=%s "
                "error=\"%s\" next_try_ms=%ld",
                d->schema->subject, err, backoff);
        if (wait_turn(r, &backoff)) {
            snprintf(err, errlen, "stopped while waiting for the schema registry at %s", ol_registry_url(r));
            return -1;
        }
    }
    return st == OL_REG_OK ? 0 : -1;
}

int ol_registry_rt_open(ol_runtime *rt, char *err, size_t errlen)
{
    ol_registry *r = rt->schemas->reg;
    if (!r)
        return 0;
    ol_registry_set_stop(r, &rt->stop);
    if (load_cache(rt, r, err, errlen))
        return -1;
    for (size_t i = 0; i < rt->nin; i++) {
        ol_decoder_use_registry(rt->in[i].dec, r);
        ol_decoder_use_registry(rt->in[i].old, r);
        ol_decoder_use_registry(rt->in[i].lookup, r);
        rt->in[i].lookup_valid = 0; /* ids now resolve through the registry */
        /* a live reader is checked; a replay (no URL, or not publishing) reads what was kept */
        if (!rt->svc->raw && r->url && rt->opts.publish && check_input(r, rt->in[i].schema, err, errlen))
            return -1;
    }
    if (rt->opts.publish && r->url)
        for (size_t i = 0; i < rt->nout; i++)
            if (map_output(r, &rt->out[i], err, errlen))
                return -1;
    return 0;
}

int ol_registry_rt_prefetch(ol_runtime *rt, const ol_record *recs, int n)
{
    ol_registry *r = rt->schemas->reg;
    char why[1024];
    if (!r)
        return 0;
    ol_registry_forget_missing(r);
    for (int i = 0; i < n; i++) {
        const uint8_t *b = recs[i].value;
        if (recs[i].value_len < 5 || !b || b[0] != 0)
            continue; /* not a frame: the decoder says why */
        int32_t id = (int32_t)ol_be32(b + 1);
        if (ol_registry_cached(r, id) || ol_registry_is_missing(r, id) || !r->url)
            continue; /* without a URL (a replay) the decoder says the id was not kept */
        long backoff = 1000;
        for (;;) {
            char *text = NULL;
            enum ol_reg_status st = ol_registry_get_schema(r, id, &text, why, sizeof why);
            if (st == OL_REG_OK) {
                int rc = ol_registry_cache_put(r, id, text, 1);
                free(text);
                if (rc) {
                    ol_error("out of memory");
                    return -1;
                }
                ol_info("writer schema fetched from the registry|id=%ld topic=%s", (long)id, recs[i].topic);
                break;
            }
            if (st == OL_REG_NOT_FOUND) {
                ol_registry_note_missing(r, id); /* the decoder dead-letters its records */
                break;
            }
            if (st == OL_REG_REFUSED && strstr(why, "not an Avro schema"))
                break; /* the record's own fault: the decoder dead-letters it with this reason */
            if (st == OL_REG_REFUSED) {
                /* 401/403, TLS: the configuration's fault, not the record's */
                ol_error("schema registry refused the request; stopping, nothing of the batch committed|"
                         "error=\"%s\"",
                         why);
                return -1;
            }
            if (st == OL_REG_NOMEM) {
                ol_error("out of memory");
                return -1;
            }
            ol_warn("schema registry unavailable; waiting, records are not dead-lettered|topic=%s partition=%d "
                    "offset=%lld schema_id=%ld error=\"%s\" next_try_ms=%ld",
                    recs[i].topic, recs[i].partition, (long long)recs[i].offset, (long)id, why, backoff);
            if (wait_turn(r, &backoff)) {
                ol_error("stopped while waiting for the schema registry; nothing of the batch was committed, "
                         "a restart reads it again|url=%s",
                         ol_registry_url(r));
                return -1;
            }
        }
    }
    return 0;
}

int ol_registry_rt_persist(ol_runtime *rt, MDB_txn *txn)
{
    ol_registry *r = rt->schemas->reg;
    if (!r || !r->have_dbi)
        return 0;
    for (size_t i = 0; i < r->ne; i++) {
        struct ol_reg_entry *e = &r->e[i];
        if (!e->pending)
            continue;
        uint8_t kb[4];
        ol_put_be32(kb, (uint32_t)e->id);
        MDB_val k = {4, kb}, v;
        int rc = mdb_get(txn, r->dbi, &k, &v);
        if (rc == 0) {
            e->pending = 0; /* an earlier batch's commit saved it */
            continue;
        }
        if (rc != MDB_NOTFOUND)
            return rc;
        v.mv_size = strlen(e->text);
        v.mv_data = e->text;
        if ((rc = mdb_put(txn, r->dbi, &k, &v, 0)))
            return rc;
    }
    return 0;
}
