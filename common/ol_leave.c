/* ol_leave — see ol_leave.h. */
#include "ol_leave.h"
#include "ol_av.h"

#include <string.h>

int ol_leave_index(MDB_txn *txn, MDB_dbi dbi, avro_value_t *v, int put, struct ol_leave *out)
{
    struct ol_leave l;
    ol_key k;
    memset(&l, 0, sizeof l);
    l.first = ol_av_int(v, "first_day", 0);
    l.last = ol_av_int(v, "last_day", -1);
    l.portion = (uint8_t)ol_av_enum(v, "portion");
    l.status = (uint8_t)ol_av_enum(v, "status");
    if (out)
        *out = l;
    ol_key_init(&k);
    ol_key_str(&k, ol_av_str(v, "person_id"));
    ol_key_str(&k, ol_av_str(v, "leave_id"));
    if (k.overflow)
        return -1;
    if (!put)
        return ol_del_key(txn, dbi, &k);
    MDB_val kv = ol_key_val(&k), val = {sizeof l, &l};
    return mdb_put(txn, dbi, &kv, &val, 0);
}

int ol_leave_scan(MDB_txn *txn, MDB_dbi dbi, const char *person, int32_t first, int32_t last, ol_leave_fn fn,
                  void *arg)
{
    MDB_cursor *c;
    ol_key pk;
    int rc;
    ol_key_init(&pk);
    ol_key_str(&pk, person);
    if (pk.overflow)
        return -1;
    if ((rc = mdb_cursor_open(txn, dbi, &c)))
        return rc;
    MDB_val k = ol_key_val(&pk), v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        struct ol_leave l;
        if (k.mv_size < pk.n || memcmp(k.mv_data, pk.b, pk.n))
            break;
        if (v.mv_size != sizeof l)
            continue;
        memcpy(&l, v.mv_data, sizeof l);
        if (l.status != OL_LEAVE_BOOKED || l.last < first || l.first > last)
            continue;
        if ((rc = fn(&l, arg)))
            break;
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}
