/* ol_leave — the per-person index of hr.leave that every service computing
 * a person's days keeps (utilisation, forecast, assurance): one row per
 * leave under person\0 leave_id\0, and a scan of a person's BOOKED leaves
 * over a range of days. Written once so that the services read leave the
 * same way; each service keeps its own copy in its own LMDB (services
 * compose through topics, not through each other's files). */
#ifndef OL_LEAVE_H
#define OL_LEAVE_H

#include "ol_store.h"

#include <avro.h>
#include <lmdb.h>
#include <stdint.h>

/* LeaveStatus, in the schema's symbol order */
enum { OL_LEAVE_BOOKED = 0, OL_LEAVE_CANCELLED = 1 };

/* the row: days since 1970-01-01, inclusive; portion is OL_PORTION_* (ol_rules.h) */
struct ol_leave {
    int32_t first, last;
    uint8_t portion, status, pad[2];
};

/* Puts (put != 0) or deletes the row of hr.leave value v in dbi. *out (may
 * be NULL) receives the row, for the caller to mark the days it touches.
 * 0, -1 when the key is too long, or an LMDB error. */
int ol_leave_index(MDB_txn *txn, MDB_dbi dbi, avro_value_t *v, int put, struct ol_leave *out);

/* Calls fn(row, arg) for every BOOKED leave of person overlapping the days
 * [first, last], in leave_id order; a nonzero return of fn stops the scan
 * and is returned. 0 when done, or an LMDB error. */
typedef int (*ol_leave_fn)(const struct ol_leave *l, void *arg);
int ol_leave_scan(MDB_txn *txn, MDB_dbi dbi, const char *person, int32_t first, int32_t last, ol_leave_fn fn,
                  void *arg);

#endif
