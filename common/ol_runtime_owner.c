/* ol_runtime_owner — which service a data directory belongs to (meta key
 * OL_META_SERVICE_KEY). Split from ol_runtime.c: one concern, checked once
 * when the runtime opens a directory. */
#include "ol_runtime_int.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* A data directory belongs to one service (meta key "service", written at
 * its first start; a directory from before gets it then). A directory of
 * another service (a copied data.mdb, a --data-dir mix-up) is refused
 * before anything is read or rewritten: folded on, it would take that
 * service's offsets for the topics both read, skip those records for good
 * and publish the other's outbox. 0, or -1 with err. */
static int foreign(const ol_service *svc, const char *path, const MDB_val *owner, char *err, size_t errlen)
{
    if (owner->mv_size == strlen(svc->name) && !memcmp(owner->mv_data, svc->name, owner->mv_size))
        return 0;
    snprintf(err, errlen,
             "%s holds the projection of opsledger-%.*s, not of opsledger-%s: each service keeps its own data "
             "directory (<data_dir>/<service>); point this one at its own (nothing was changed)",
             path, (int)(owner->mv_size > 64 ? 64 : owner->mv_size), (const char *)owner->mv_data, svc->name);
    return -1;
}

/* the owner read before the directory is opened for writing (which would
 * create this service's databases in it): read-only, without creating
 * anything; a directory that is new or cannot be read this way is left to
 * ol_rt_check_owner after the open */
int ol_rt_peek_owner(const ol_service *svc, const char *path, char *err, size_t errlen)
{
    char file[4200];
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi meta;
    MDB_val k = {sizeof OL_META_SERVICE_KEY - 1, (void *)OL_META_SERVICE_KEY}, v;
    int rc = 0;
    snprintf(file, sizeof file, "%s/data.mdb", path);
    if (access(file, F_OK))
        return 0;
    if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 64) || mdb_env_open(env, path, MDB_RDONLY, 0600) ||
        mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) || mdb_dbi_open(txn, "meta", 0, &meta) ||
        mdb_get(txn, meta, &k, &v))
        rc = 0;
    else
        rc = foreign(svc, path, &v, err, errlen);
    if (txn)
        mdb_txn_abort(txn);
    if (env)
        mdb_env_close(env);
    return rc;
}

int ol_rt_check_owner(ol_runtime *rt, const ol_service *svc, const char *path, char *err, size_t errlen)
{
    MDB_val k = {sizeof OL_META_SERVICE_KEY - 1, (void *)OL_META_SERVICE_KEY}, v;
    MDB_txn *txn;
    int rc = mdb_txn_begin(rt->store.env, NULL, rt->store.readonly ? MDB_RDONLY : 0, &txn);
    if (rc) {
        snprintf(err, errlen, "%s: %s", path, mdb_strerror(rc));
        return -1;
    }
    rc = mdb_get(txn, rt->meta, &k, &v);
    if (rc == 0) {
        int bad = foreign(svc, path, &v, err, errlen);
        mdb_txn_abort(txn);
        return bad;
    }
    if (rc == MDB_NOTFOUND && !rt->store.readonly) {
        v.mv_size = strlen(svc->name);
        v.mv_data = (void *)svc->name;
        if ((rc = mdb_put(txn, rt->meta, &k, &v, 0)) == 0) {
            rc = mdb_txn_commit(txn);
            txn = NULL;
        }
    } else if (rc == MDB_NOTFOUND)
        rc = 0;
    if (txn)
        mdb_txn_abort(txn);
    if (rc) {
        snprintf(err, errlen, "%s: recording its service: %s", path, mdb_strerror(rc));
        return -1;
    }
    return 0;
}
