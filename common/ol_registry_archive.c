/* ol_registry_archive — the writer schemas an archive keeps (issue 19).
 *
 * The archive service runs on the fold runtime, so with schema_registry.url
 * set it fetches the writer schema of every id it archives and saves it in
 * its own LMDB (`registry_schemas`, ol_registry_rt.c) in the batch that
 * archived the record. This file reads them back: a replay decodes the
 * archived records with them (no registry, no old manifest needed) and
 * `archive export` writes them into the container file's metadata. */
#include "ol_registry_int.h"

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DBNAME "registry_schemas"

/* calls fn(id, text) for every schema an LMDB environment keeps; the count,
 * or -1 with err */
static long each_schema(MDB_env *env, int (*fn)(void *, int32_t, const char *), void *ud, char *err, size_t errlen)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_dbi dbi;
    MDB_val k, v;
    long n = 0;
    int rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    if (rc)
        goto fail;
    rc = mdb_dbi_open(txn, DBNAME, 0, &dbi);
    if (rc == MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        return 0; /* written without a registry */
    }
    if (rc || (rc = mdb_cursor_open(txn, dbi, &cur)))
        goto fail;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 4)
            continue;
        const uint8_t *b = k.mv_data;
        int32_t id = (int32_t)(((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3]);
        char *text = strndup(v.mv_data, v.mv_size);
        if (!text || fn(ud, id, text)) {
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
    mdb_txn_abort(txn);
    return n;
fail:
    if (cur)
        mdb_cursor_close(cur);
    if (txn)
        mdb_txn_abort(txn);
    snprintf(err, errlen, "%s: %s", DBNAME, mdb_strerror(rc));
    return -1;
}

static int put_cache(void *ud, int32_t id, const char *text)
{
    return ol_registry_cache_put(ud, id, text, 0);
}

int ol_registry_attach_archive(ol_schemas *schemas, const ol_config *cfg, MDB_env *archive, char *err,
                               size_t errlen)
{
    ol_registry *r = NULL;
    if (ol_registry_from_config(cfg, &r, err, errlen))
        return -1;
    if (!r) {
        /* no registry configured: the archive's schemas alone, if it has any */
        if (!(r = calloc(1, sizeof *r)) || !(r->url_shown = strdup("(the archive's writer schemas)"))) {
            free(r);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    long n = each_schema(archive, put_cache, r, err, errlen);
    if (n < 0 || (n == 0 && !r->url)) {
        ol_registry_free(r); /* nothing kept: the manifest's ids, as before */
        return n < 0 ? -1 : 0;
    }
    schemas->reg = r;
    return 0;
}

static int put_json(void *ud, int32_t id, const char *text)
{
    char k[16];
    snprintf(k, sizeof k, "%ld", (long)id);
    return json_object_set_new(ud, k, json_string(text));
}

json_t *ol_registry_archive_schemas(MDB_env *archive, char *err, size_t errlen)
{
    json_t *o = json_object();
    if (!o) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (each_schema(archive, put_json, o, err, errlen) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}
