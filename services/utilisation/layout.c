/* layout — how utilisation keys its timesheet entries, and the one-time
 * rewrite of a data directory from before that layout.
 *
 * Entries are keyed week first (week, person, entry). Keyed person first,
 * the entries a live batch adds (this week's, one per person) sat one per
 * leaf page across the tree, and every commit copied ~1 leaf per record
 * (issue 15, tests/bench/README.md). Week first they are neighbours. What
 * needed the person-first order, "every week a person has entries in" (a
 * person's change re-marks them), reads the small person_weeks index. */
#include "ol_log.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ENTRIES_LAYOUT 2 /* umeta "entries_layout": 2 = week first + person_weeks */

int util_entry_key(ol_key *k, ol_week w, const char *person, const char *entry)
{
    ol_key_init(k);
    ol_key_i32(k, w);
    ol_key_str(k, person);
    ol_key_str(k, entry);
    return k->overflow ? -1 : 0;
}

int util_entries_left(MDB_txn *txn, MDB_dbi entries, ol_week w, const char *person, int *left)
{
    MDB_cursor *c;
    ol_key pk;
    ol_key_init(&pk);
    ol_key_i32(&pk, w);
    ol_key_str(&pk, person);
    int rc = mdb_cursor_open(txn, entries, &c);
    if (rc)
        return rc;
    MDB_val k = ol_key_val(&pk), v;
    rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    mdb_cursor_close(c);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    *left = rc == 0 && k.mv_size > pk.n && memcmp(k.mv_data, pk.b, pk.n) == 0;
    return 0;
}

struct row {
    MDB_val k, v; /* in one buffer */
};

static int row_cmp(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    size_t n = x->k.mv_size < y->k.mv_size ? x->k.mv_size : y->k.mv_size;
    int c = memcmp(x->k.mv_data, y->k.mv_data, n);
    return c ? c : (x->k.mv_size > y->k.mv_size) - (x->k.mv_size < y->k.mv_size);
}

/* entries keyed person\0 week entry\0 become week person\0 entry\0 (sorted,
 * MDB_APPEND) and person_weeks is built from them, in one transaction */
int util_layout_upgrade(ol_runtime *rt)
{
    ol_store *st = ol_runtime_store(rt);
    MDB_dbi um = ol_store_dbi(st, "umeta"), ent = ol_store_dbi(st, "entries"), pw = ol_store_dbi(st, "person_weeks");
    MDB_txn *txn = NULL;
    MDB_cursor *c = NULL;
    MDB_stat ms;
    struct row *rows = NULL;
    uint8_t *buf = NULL;
    size_t n = 0, bytes = 0, off = 0;
    int32_t layout;
    int rc;
    if (st->readonly)
        return 0;
    if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)))
        goto fail;
    rc = ol_named_get_i32(txn, um, "entries_layout", &layout);
    if (rc == 0 && layout == ENTRIES_LAYOUT) {
        mdb_txn_abort(txn);
        return 0;
    }
    if ((rc && rc != MDB_NOTFOUND) || (rc = mdb_stat(txn, ent, &ms)))
        goto fail;
    if (ms.ms_entries) {
        MDB_val k, v;
        if (!(rows = calloc(ms.ms_entries, sizeof *rows))) {
            rc = ENOMEM;
            goto fail;
        }
        if ((rc = mdb_cursor_open(txn, ent, &c)))
            goto fail;
        for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
            bytes += k.mv_size + v.mv_size;
        if (rc != MDB_NOTFOUND || !(buf = malloc(bytes ? bytes : 1))) {
            rc = rc == MDB_NOTFOUND ? ENOMEM : rc;
            goto fail;
        }
        for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && n < ms.ms_entries;
             rc = mdb_cursor_get(c, &k, &v, MDB_NEXT), n++) {
            /* old key: person\0 week(4) entry\0 */
            const char *person = k.mv_data;
            size_t pl = strnlen(person, k.mv_size);
            if (pl + 1 + 4 >= k.mv_size || off + k.mv_size + v.mv_size > bytes) {
                rc = MDB_CORRUPTED;
                goto fail;
            }
            uint8_t *p = buf + off;
            memcpy(p, person + pl + 1, 4);                                 /* week */
            memcpy(p + 4, person, pl + 1);                                 /* person\0 */
            memcpy(p + 5 + pl, person + pl + 5, k.mv_size - pl - 5);       /* entry\0 */
            rows[n].k = (MDB_val){k.mv_size, p};
            memcpy(p + k.mv_size, v.mv_data, v.mv_size);
            rows[n].v = (MDB_val){v.mv_size, p + k.mv_size};
            off += k.mv_size + v.mv_size;
        }
        if (rc && rc != MDB_NOTFOUND)
            goto fail;
        mdb_cursor_close(c);
        c = NULL;
        qsort(rows, n, sizeof *rows, row_cmp);
        if ((rc = mdb_drop(txn, ent, 0)) || (rc = mdb_drop(txn, pw, 0)))
            goto fail;
        for (size_t i = 0; i < n; i++) {
            const uint8_t *p = rows[i].k.mv_data;
            const char *person = (const char *)p + 4;
            if ((rc = mdb_put(txn, ent, &rows[i].k, &rows[i].v, MDB_APPEND)))
                goto fail;
            ol_key pk;
            ol_key_init(&pk);
            ol_key_str(&pk, person);
            ol_key_i32(&pk, ol_key_get_i32(p));
            MDB_val kv = ol_key_val(&pk), empty = {0, ""};
            if ((rc = mdb_put(txn, pw, &kv, &empty, 0)))
                goto fail;
        }
    }
    if ((rc = ol_named_put_i32(txn, um, "entries_layout", ENTRIES_LAYOUT)))
        goto fail;
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc)
        goto fail;
    if (n)
        ol_info("rewrote the timesheet entries week first|db=%s entries=%zu", st->path, n);
    free(rows);
    free(buf);
    return 0;
fail:
    if (c)
        mdb_cursor_close(c);
    if (txn)
        mdb_txn_abort(txn);
    free(rows);
    free(buf);
    ol_error("cannot rewrite the timesheet entries week first|db=%s error=\"%s\"", st->path, mdb_strerror(rc));
    return -1;
}
