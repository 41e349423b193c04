/* layout — how utilisation keeps logged time, and the one-time rewrite of a
 * data directory from before that layout.
 *
 * A person-week's figures need only its counted minutes per engagement and
 * activity, so logged time is kept summed (week_time: week, person,
 * engagement, activity -> minutes counted, entries), never entry by entry.
 * An entry's new version adds itself, its previous version (the runtime
 * hands it over) subtracts itself: sums of integers, so the rows are a
 * function of the surviving versions whatever the order. Kept entry by
 * entry, every live record inserted a row of its own beside its person's
 * other entries, one leaf page copied per record at each commit (issue 15:
 * 200,000 rows a week at 5,000 people); summed, a person-week holds a row
 * or two and a batch touches the week's few leaves. "Every week a person has
 * time in" (a person's change re-marks them) reads person_weeks. A team
 * membership (team_people) holds the member's billable flag, so that a
 * team-week sums without loading each member. */
#include "ol_log.h"
#include "util.h"

#include <string.h>

/* umeta "entries_layout": 1 (or none) = entries person first, 2 = entries
 * week first + person_weeks + team flags, 3 = week_time instead of entries */
#define ENTRIES_LAYOUT 3

void util_person_week_key(ol_key *k, const char *person, ol_week w)
{
    ol_key_init(k);
    ol_key_str(k, person);
    ol_key_i32(k, w);
}

void util_eng_pw_key(ol_key *k, const char *eng, const char *person, ol_week w)
{
    ol_key_init(k);
    ol_key_str(k, eng);
    ol_key_str(k, person);
    ol_key_i32(k, w);
}

static int time_key(ol_key *k, ol_week w, const char *person, const char *eng, uint8_t activity)
{
    ol_key_init(k);
    ol_key_i32(k, w);
    ol_key_str(k, person);
    ol_key_str(k, eng);
    ol_key_u8(k, activity);
    return k->overflow ? -1 : 0;
}

int util_time_add(MDB_txn *txn, MDB_dbi wt, ol_week w, const char *person, const char *eng, uint8_t activity,
                  int64_t minutes, int64_t entries, int *fresh)
{
    ol_key k;
    MDB_val kv, look, v;
    MDB_cursor *c;
    struct util_time t = {0, 0};
    if (time_key(&k, w, person, eng, activity))
        return -1;
    kv = look = ol_key_val(&k);
    /* through a cursor: a row that exists (most entries add to one) is
     * read and rewritten with one B-tree descent */
    int rc = mdb_cursor_open(txn, wt, &c), found;
    if (rc)
        return rc;
    rc = mdb_cursor_get(c, &look, &v, MDB_SET);
    found = rc == 0;
    if (found) {
        if (v.mv_size != sizeof t) {
            rc = MDB_CORRUPTED;
            goto out;
        }
        memcpy(&t, v.mv_data, sizeof t);
    } else if (rc != MDB_NOTFOUND)
        goto out;
    if (fresh)
        *fresh = t.entries == 0;
    t.minutes += minutes;
    t.entries += entries;
    if (t.entries < 0 || (t.entries == 0 && t.minutes != 0))
        rc = MDB_CORRUPTED; /* more taken away than was added: not this fold's rows */
    else if (t.entries == 0)
        rc = found ? mdb_cursor_del(c, 0) : 0;
    else {
        v.mv_size = sizeof t;
        v.mv_data = &t;
        rc = mdb_cursor_put(c, &kv, &v, found ? MDB_CURRENT : 0);
    }
out:
    mdb_cursor_close(c);
    return rc;
}

int util_time_left(MDB_txn *txn, MDB_dbi wt, ol_week w, const char *person, int *left)
{
    MDB_cursor *c;
    ol_key pk;
    ol_key_init(&pk);
    ol_key_i32(&pk, w);
    ol_key_str(&pk, person);
    int rc = mdb_cursor_open(txn, wt, &c);
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

int util_time_counted(uint8_t status, int32_t minutes)
{
    return status == ST_SUBMITTED || status == ST_APPROVED ? minutes : 0;
}

/* one row of the old `entries` (layout 1: person\0 week(4) entry\0, layout
 * 2: week(4) person\0 entry\0 -> struct util_entry + engagement\0) added to
 * week_time */
static int entry_sum(MDB_txn *txn, MDB_dbi wt, int32_t layout, const MDB_val *k, const MDB_val *v)
{
    const uint8_t *p = k->mv_data;
    const char *person;
    ol_week w;
    struct util_entry e;
    if (k->mv_size < 6 || v->mv_size <= sizeof e || ((const char *)v->mv_data)[v->mv_size - 1])
        return MDB_CORRUPTED;
    if (layout == 2) {
        w = ol_key_get_i32(p);
        person = (const char *)p + 4;
        if (!memchr(person, '\0', k->mv_size - 4))
            return MDB_CORRUPTED;
    } else {
        person = (const char *)p;
        size_t pl = strnlen(person, k->mv_size);
        if (pl + 1 + 4 > k->mv_size)
            return MDB_CORRUPTED;
        w = ol_key_get_i32(p + pl + 1);
    }
    memcpy(&e, v->mv_data, sizeof e);
    const char *eng = (const char *)v->mv_data + sizeof e;
    return util_time_add(txn, wt, w, person, eng, e.activity, util_time_counted(e.status, e.minutes), 1, NULL);
}

/* entries -> week_time, then `entries` emptied */
static int entries_sum(MDB_txn *txn, MDB_dbi ent, MDB_dbi wt, int32_t layout, size_t *n)
{
    MDB_cursor *c;
    MDB_val k, v;
    int rc;
    *n = 0;
    if ((rc = mdb_drop(txn, wt, 0)) || (rc = mdb_cursor_open(txn, ent, &c)))
        return rc;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT), ++*n)
        if ((rc = entry_sum(txn, wt, layout, &k, &v)))
            break;
    mdb_cursor_close(c);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    return mdb_drop(txn, ent, 0);
}

/* person_weeks and eng_pw from week_time: (person, week) for every row,
 * (engagement, person, week) for every row on an engagement (before layout
 * 3 an eng_pw pair stayed after its last entry left). A pair met again is
 * put again: a one-time rewrite, in one transaction. */
static int indexes_build(MDB_txn *txn, MDB_dbi wt, MDB_dbi pw, MDB_dbi epw)
{
    MDB_cursor *c;
    MDB_val k, v, empty = {0, ""};
    int rc;
    if ((rc = mdb_drop(txn, pw, 0)) || (rc = mdb_drop(txn, epw, 0)) || (rc = mdb_cursor_open(txn, wt, &c)))
        return rc;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        /* week person\0 engagement\0 activity */
        const char *person = (const char *)k.mv_data + 4;
        size_t pl = k.mv_size > 4 ? strnlen(person, k.mv_size - 4) : 0;
        const char *eng = person + pl + 1;
        if (k.mv_size < 4 + pl + 3 || strnlen(eng, k.mv_size - 4 - pl - 1) != k.mv_size - 4 - pl - 3) {
            rc = MDB_CORRUPTED;
            break;
        }
        ol_week w = ol_key_get_i32(k.mv_data);
        ol_key pk, ek;
        util_person_week_key(&pk, person, w);
        util_eng_pw_key(&ek, eng, person, w);
        if (pk.overflow || ek.overflow) {
            rc = MDB_CORRUPTED;
            break;
        }
        MDB_val pkv = ol_key_val(&pk), ekv = ol_key_val(&ek);
        if ((rc = mdb_put(txn, pw, &pkv, &empty, 0)) || (*eng && (rc = mdb_put(txn, epw, &ekv, &empty, 0))))
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

/* A directory of layout 1 or 2: its entries are summed into week_time (and
 * `entries` emptied), person_weeks is built from the sums and team
 * memberships get their flag, in one transaction, so a crash leaves the old
 * layout whole or the new one. */
int util_layout_upgrade(ol_runtime *rt)
{
    ol_store *st = ol_runtime_store(rt);
    MDB_dbi um = ol_store_dbi(st, "umeta"), ent = ol_store_dbi(st, "entries"), wt = ol_store_dbi(st, "week_time"),
            pw = ol_store_dbi(st, "person_weeks"), tp = ol_store_dbi(st, "team_people"), epw = ol_store_dbi(st, "eng_pw"),
            people = ol_store_dbi(st, "people");
    MDB_txn *txn = NULL;
    size_t n = 0;
    int32_t layout = 1;
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
    if (rc == MDB_NOTFOUND)
        layout = 1;
    else if (rc)
        goto fail;
    else if (layout != 1 && layout != 2) {
        /* a layout this release does not know (a newer one): never guessed at */
        mdb_txn_abort(txn);
        ol_error("the timesheet entries are stored in a layout this release does not know|db=%s layout=%d "
                 "known=1-%d",
                 st->path, (int)layout, ENTRIES_LAYOUT);
        return -1;
    }
    MDB_stat es;
    if ((rc = mdb_stat(txn, ent, &es)))
        goto fail;
    if (es.ms_entries) /* the rewrite may take a while on a large directory: say so before */
        ol_info("summing the timesheet entries per person-week|db=%s entries=%zu from_layout=%d", st->path,
                (size_t)es.ms_entries, (int)layout);
    /* the window's start is now week_time's first week, not a stored minimum */
    MDB_val mk = {strlen("min_entry_week"), "min_entry_week"};
    if ((rc = mdb_del(txn, um, &mk, NULL)) && rc != MDB_NOTFOUND)
        goto fail;
    if ((rc = entries_sum(txn, ent, wt, layout, &n)) || (rc = indexes_build(txn, wt, pw, epw)) ||
        (rc = team_flags_build(txn, tp, people)) ||
        (rc = ol_named_put_i32(txn, um, "entries_layout", ENTRIES_LAYOUT)))
        goto fail;
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc)
        goto fail;
    if (n)
        ol_info("summed the timesheet entries per person-week|db=%s entries=%zu from_layout=%d", st->path, n,
                (int)layout);
    return 0;
fail:
    if (txn)
        mdb_txn_abort(txn);
    ol_error("cannot sum the timesheet entries per person-week|db=%s error=\"%s\"", st->path,
             rc < 0 ? "out of memory or a key too long" : mdb_strerror(rc));
    return -1;
}
