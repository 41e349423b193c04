/* svc_harness — the projection dump and the order-independence harness of
 * the services' fold tests (tests/services/test_<svc>.c).
 *
 * Why it exists: every service test used to carry its own copy of the same
 * three pieces (a hex dump of the projection's LMDB databases, the seeded
 * permutation of a record list, and the "same records in 10 orders give the
 * same projection" loop), differing only in the database list and the
 * service-specific rows checked on the first order. One copy here keeps them
 * the same, so that a fix to one is a fix to all. Linked into every
 * build/tests/test_<svc> by the Makefile's SVC_TEST_RULE. */
#ifndef SVC_HARNESS_H
#define SVC_HARNESS_H

#include <stddef.h>

#include "ol_runtime.h"

struct fx;

/* the databases dbs (NULL-terminated) of f's projection, each as "#name" then
 * one "hexkey=hexvalue" line a row; "entity" stands for the version log's
 * latest versions (ol_state.h). With with_runtime 0, "entity" and "derived"
 * are passed over. The caller frees the string. */
char *svc_dump_dbs(struct fx *f, const char *const *dbs, int with_runtime);

/* order k of n records in idx: 0 identity, 1 reversed, then seeded shuffles */
void svc_permute(size_t *idx, size_t n, unsigned k);

/* the n records lines ({topic, JSON line}) folded through svc in 6 orders in
 * one batch give byte-identical dumps of dbs, derived events included; one
 * record per batch in 4 more orders gives the same projection databases
 * (revisions of derived events then differ, by design). check, when not NULL,
 * asserts the service's rows once, on the first order's projection. */
void svc_order_independence(const ol_service *svc, const char *const (*lines)[2], size_t n,
                            const char *const *dbs, void (*check)(struct fx *f));

#endif
