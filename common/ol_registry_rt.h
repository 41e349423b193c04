/* ol_registry_rt — the fold runtime's three hooks into the Schema Registry
 * client (see ol_registry_rt.c); each is a no-op when schema_registry.url is
 * unset. Only ol_runtime.c calls them. */
#ifndef OL_REGISTRY_RT_H
#define OL_REGISTRY_RT_H

#include "ol_runtime_int.h"

/* end of ol_runtime_new: 0, or -1 with err (the service does not start) */
int ol_registry_rt_open(ol_runtime *rt, char *err, size_t errlen);
/* before a batch's transaction: 0, or -1 when stopped while waiting for the
 * registry or refused by it (nothing of the batch is committed) */
int ol_registry_rt_prefetch(ol_runtime *rt, const ol_record *recs, int n);
/* inside the batch's transaction, before its commit: 0 or an LMDB error */
int ol_registry_rt_persist(ol_runtime *rt, MDB_txn *txn);

#endif
