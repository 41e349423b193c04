/* layout — how utilisation keys its timesheet entries, and the one-time
 * rewrite of a data directory from before that layout.
 *
 * Entries are keyed week first (week, person, entry). Keyed person first,
 * the entries a live batch adds (this week's, one per person) sat one per
 * leaf page across the tree, and every commit copied ~1 leaf per record
 * (issue 15, tests/bench/README.md). Week first they are neighbours. What
 * needed the person-first order, "every week a person has entries in" (a
 * person's change re-marks them), reads the small person_weeks index. A
 * team membership (team_people) holds the member's billable flag, so that a
 * team-week sums without loading each member. */
#include "ol_log.h"
#include "util.h"

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

void util_person_week_key(ol_key *k, const char *person, ol_week w)
{
    ol_key_init(k);
    ol_key_str(k, person);
    ol_key_i32(k, w);
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

/* old key person\0 week(4) entry\0 -> week(4) person\0 entry\0 */
static int entry_rekey(const MDB_val *k, ol_key *nk, void *arg)
{
    (void)arg;
    const char *person = k->mv_data;
    size_t pl = strnlen(person, k->mv_size);
    if (pl + 1 + 4 >= k->mv_size || k->mv_size > sizeof nk->b)
        return MDB_CORRUPTED;
    ol_key_init(nk);
    memcpy(nk->b, person + pl + 1, 4);
    memcpy(nk->b + 4, person, pl + 1);
    memcpy(nk->b + 5 + pl, person + pl + 5, k->mv_size - pl - 5);
    nk->n = k->mv_size;
    return 0;
}

/* person_weeks from the (week-first) entries: one pair per run of rows of
 * the same week and person */
static int person_weeks_build(MDB_txn *txn, MDB_dbi ent, MDB_dbi pw)
{
    MDB_cursor *c;
    MDB_val k, v;
    uint8_t prev[512];
    size_t prevn = 0;
    int rc;
    if ((rc = mdb_drop(txn, pw, 0)) || (rc = mdb_cursor_open(txn, ent, &c)))
        return rc;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        const uint8_t *p = k.mv_data;
        size_t wp = 4 + strnlen((const char *)p + 4, k.mv_size - 4) + 1; /* week and person\0 */
        if (wp > k.mv_size || wp > sizeof prev) {
            rc = MDB_CORRUPTED;
            break;
        }
        if (wp == prevn && !memcmp(prev, p, wp))
            continue;
        memcpy(prev, p, prevn = wp);
        ol_key pk;
        util_person_week_key(&pk, (const char *)p + 4, ol_key_get_i32(p));
        MDB_val kv = ol_key_val(&pk), empty = {0, ""};
        if ((rc = mdb_put(txn, pw, &kv, &empty, 0)))
            break;
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* every team membership gets its member's billable flag (empty before) */
static int team_flags_build(MDB_txn *txn, MDB_dbi tp, MDB_dbi people)
{
    MDB_cursor *c;
    MDB_val k, v;
    int rc;
    if ((rc = mdb_cursor_open(txn, tp, &c)))
        return rc;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        size_t tl = strnlen(k.mv_data, k.mv_size);
        const char *person = (const char *)k.mv_data + tl + 1;
        struct util_person p;
        if (tl + 1 >= k.mv_size || !memchr(person, '\0', k.mv_size - tl - 1)) {
            rc = MDB_CORRUPTED;
            break;
        }
        if ((rc = util_person_load(txn, people, person, &p, NULL, NULL)))
            break;
        /* the key points into the page the put rewrites: give LMDB a copy */
        uint8_t kb[512];
        if (k.mv_size > sizeof kb) {
            rc = MDB_CORRUPTED;
            break;
        }
        memcpy(kb, k.mv_data, k.mv_size);
        MDB_val kc = {k.mv_size, kb}, flag = {1, &p.billable};
        if ((rc = mdb_cursor_put(c, &kc, &flag, MDB_CURRENT)))
            break;
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* entries keyed person first become week first (ol_store_rekey),
 * person_weeks is built from them and team memberships get their flag, in
 * one transaction */
int util_layout_upgrade(ol_runtime *rt)
{
    ol_store *st = ol_runtime_store(rt);
    MDB_dbi um = ol_store_dbi(st, "umeta"), ent = ol_store_dbi(st, "entries"), pw = ol_store_dbi(st, "person_weeks"),
            tp = ol_store_dbi(st, "team_people"), people = ol_store_dbi(st, "people");
    MDB_txn *txn = NULL;
    size_t n = 0;
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
    if ((rc && rc != MDB_NOTFOUND) || (rc = ol_store_rekey(txn, ent, entry_rekey, NULL, &n)) ||
        (n && (rc = person_weeks_build(txn, ent, pw))) || (rc = team_flags_build(txn, tp, people)) ||
        (rc = ol_named_put_i32(txn, um, "entries_layout", ENTRIES_LAYOUT)))
        goto fail;
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc)
        goto fail;
    if (n)
        ol_info("rewrote the timesheet entries week first|db=%s entries=%zu", st->path, n);
    return 0;
fail:
    if (txn)
        mdb_txn_abort(txn);
    ol_error("cannot rewrite the timesheet entries week first|db=%s error=\"%s\"", st->path, mdb_strerror(rc));
    return -1;
}
