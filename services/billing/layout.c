/* layout — how billing keeps timesheet entries, and the one-time rewrite of
 * a data directory from before that layout.
 *
 * Every entry is one row of ep_entries, keyed engagement, person, week, id:
 * a line reads its (engagement, person, week) as one range, an engagement or
 * allocation change marks its lines from a prefix. Entries without an
 * engagement (internal time) are kept under the empty engagement: no line
 * reads them, but a contractor's reconciliation counts every approved minute
 * of the person, which it reads under each engagement `pe` lists for the
 * person and under "". Until 2026-12-03 every entry was also kept a second
 * time, keyed person and day (pd_entries), for reconciliation alone: a
 * second random-key insert per record, about 10 % of a replay (issue 15). */
#include "billing.h"
#include "ol_log.h"

#include <string.h>

void billing_entry_key(ol_key *k, const char *eng, const char *person, int32_t work_date, const char *id)
{
    ol_key_init(k);
    ol_key_str(k, eng);
    ol_key_str(k, person);
    ol_key_i32(k, ol_week_of(work_date));
    ol_key_str(k, id);
}

int billing_each_engagement(MDB_cursor *pc, const char *person, int (*fn)(const char *eng, void *arg), void *arg)
{
    ol_key p;
    int rc;
    ol_key_init(&p);
    ol_key_str(&p, person);
    if (p.overflow)
        return -1;
    MDB_val k = ol_key_val(&p), v;
    for (rc = mdb_cursor_get(pc, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(pc, &k, &v, MDB_NEXT)) {
        if (k.mv_size <= p.n || memcmp(k.mv_data, p.b, p.n))
            break;
        const char *eng = (const char *)k.mv_data + p.n;
        if (!memchr(eng, '\0', k.mv_size - p.n))
            return MDB_CORRUPTED;
        if ((rc = fn(eng, arg)))
            return rc;
    }
    return rc == MDB_NOTFOUND ? 0 : rc;
}

struct find_entry {
    MDB_txn *txn;
    MDB_dbi ep;
    const char *person, *id;
    int32_t day;
    int found;
};

/* 1 (stop) when ep_entries holds the entry under eng */
static int entry_under(const char *eng, void *arg)
{
    struct find_entry *f = arg;
    ol_key k;
    MDB_val kv, v;
    billing_entry_key(&k, eng, f->person, f->day, f->id);
    if (k.overflow)
        return 0;
    kv = ol_key_val(&k);
    int rc = mdb_get(f->txn, f->ep, &kv, &v);
    if (rc == 0)
        f->found = 1;
    return rc == MDB_NOTFOUND ? 0 : rc ? rc : 1;
}

/* 1 when ep_entries holds entry id of person on day under an engagement pe
 * lists for the person, 0 when not, or an LMDB error (negated) */
static int under_engagement(MDB_txn *txn, MDB_dbi ep, MDB_dbi pe, const char *person, int32_t day, const char *id)
{
    MDB_cursor *c;
    struct find_entry f = {txn, ep, person, id, day, 0};
    int rc;
    if ((rc = mdb_cursor_open(txn, pe, &c)))
        return -rc;
    rc = billing_each_engagement(c, person, entry_under, &f);
    mdb_cursor_close(c);
    if (f.found)
        return 1;
    return rc ? -(rc < 0 ? MDB_CORRUPTED : rc) : 0;
}

int billing_layout_upgrade(ol_runtime *rt)
{
    ol_store *st = ol_runtime_store(rt);
    MDB_dbi ep = ol_store_dbi(st, "ep_entries"), pe = ol_store_dbi(st, "pe"), pd;
    MDB_txn *txn = NULL;
    MDB_cursor *c = NULL;
    MDB_val k, v;
    size_t moved = 0, rows = 0;
    int rc;
    if (st->readonly)
        return 0; /* queries read ep_entries alone, in either layout */
    if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)))
        goto fail;
    if ((rc = mdb_dbi_open(txn, "pd_entries", 0, &pd)) == MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        return 0;
    }
    if (rc || (rc = mdb_cursor_open(txn, pd, &c)))
        goto fail;
    /* pd_entries: person\0 day(i32) entry\0 -> struct bill_entry */
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        const char *person = k.mv_data;
        size_t pl = strnlen(person, k.mv_size);
        if (pl + 1 + 4 + 1 > k.mv_size || v.mv_size < sizeof(struct bill_entry)) {
            rc = MDB_CORRUPTED;
            break;
        }
        const char *id = person + pl + 1 + 4;
        if (!memchr(id, '\0', k.mv_size - pl - 1 - 4)) {
            rc = MDB_CORRUPTED;
            break;
        }
        int32_t day = ol_key_get_i32(person + pl + 1);
        rows++;
        int under = under_engagement(txn, ep, pe, person, day, id);
        if (under < 0) {
            rc = -under;
            break;
        }
        if (under)
            continue;
        ol_key nk;
        billing_entry_key(&nk, "", person, day, id);
        MDB_val nkv = ol_key_val(&nk);
        if (nk.overflow) {
            rc = MDB_CORRUPTED;
            break;
        }
        if ((rc = mdb_put(txn, ep, &nkv, &v, 0)))
            break;
        moved++;
    }
    mdb_cursor_close(c);
    c = NULL;
    if (rc != MDB_NOTFOUND)
        goto fail;
    if ((rc = mdb_drop(txn, pd, 1)))
        goto fail;
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc)
        goto fail;
    ol_info("timesheet entries kept once|db=%s rows=%zu without_engagement=%zu", st->path, rows, moved);
    return 0;
fail:
    if (c)
        mdb_cursor_close(c);
    if (txn)
        mdb_txn_abort(txn);
    char why[256];
    ol_error("cannot keep the timesheet entries once (dropping pd_entries)|db=%s error=\"%s\"", st->path,
             ol_store_strerror(st, rc, why, sizeof why));
    return -1;
}
