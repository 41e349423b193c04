/* figures — the forecast rules of SPEC section 3 for one person-week, from
 * the projection; the sums for teams and the org; row storage.
 *
 * Day capacity is utilisation's exactly: weekly_capacity / number of working
 * days, the remainder on the first working day; none outside [joined_on,
 * left_on]. Leave: FULL is the day, AM the larger half, PM the smaller,
 * overlapping leave capped at the day. A day's available minutes are its
 * capacity minus its leave; an allocation takes percent of them, so a
 * holiday or a leaver's last day removes allocated time instead of creating
 * an overallocation. Minutes are summed as percent x minutes over the week's
 * days and divided by 100 once per person-week, truncating. */
#include "forecast.h"
#include "ol_rules.h"

#include <limits.h>
#include <string.h>

int fc_person_load(MDB_txn *txn, MDB_dbi people, const char *person, struct fc_person *p, const char **name,
                   const char **team, const char **role)
{
    ol_key k;
    ol_key_init(&k);
    ol_key_str(&k, person);
    MDB_val kv = ol_key_val(&k), v;
    int rc = mdb_get(txn, people, &kv, &v);
    if (rc)
        return rc;
    if (v.mv_size < sizeof *p + 3)
        return MDB_CORRUPTED;
    memcpy(p, v.mv_data, sizeof *p);
    const char *s = (const char *)v.mv_data + sizeof *p;
    if (name)
        *name = s;
    s += strlen(s) + 1;
    if (team)
        *team = s;
    s += strlen(s) + 1;
    if (role)
        *role = s;
    return 0;
}

int fc_eng_load(MDB_txn *txn, MDB_dbi engs, const char *eng, struct fc_eng *e)
{
    ol_key k;
    ol_key_init(&k);
    ol_key_str(&k, eng);
    MDB_val kv = ol_key_val(&k), v;
    int rc = mdb_get(txn, engs, &kv, &v);
    if (rc)
        return rc;
    if (v.mv_size < sizeof *e)
        return MDB_CORRUPTED;
    memcpy(e, v.mv_data, sizeof *e);
    return 0;
}

int fc_day_capacity(const struct fc_person *p, int32_t day)
{
    return ol_day_capacity(p->weekly_capacity, p->working_days, p->joined, p->left, day);
}

struct avail_acc {
    const struct fc_person *p;
    int32_t first, last, *avail;
};

static int take_leave_days(const struct ol_leave *l, void *arg)
{
    struct avail_acc *a = arg;
    int32_t from = l->first > a->first ? l->first : a->first, to = l->last < a->last ? l->last : a->last;
    for (int32_t day = from; day <= to; day++) {
        int part = ol_leave_part(fc_day_capacity(a->p, day), l->portion);
        int32_t *d = &a->avail[day - a->first];
        *d = *d > part ? *d - part : 0; /* overlapping leave never goes below nothing */
    }
    return 0;
}

int fc_available_days(ol_fold_ctx *ctx, const char *person, const struct fc_person *p, int32_t first, int n,
                      int32_t *avail)
{
    struct avail_acc a = {p, first, first + n - 1, avail};
    for (int d = 0; d < n; d++)
        avail[d] = fc_day_capacity(p, first + d);
    return ol_leave_scan(ol_fold_txn(ctx), ol_fold_dbi(ctx, "leaves"), person, a.first, a.last, take_leave_days, &a);
}

int fc_person_week(ol_fold_ctx *ctx, const char *person, ol_week w, const struct fc_person *p, struct fc_row *row)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    MDB_dbi engs = ol_fold_dbi(ctx, "engs");
    int32_t mon = ol_week_monday(w), avail[7];
    int64_t alloc_num = 0, prop_num = 0, bill_num = 0;
    MDB_cursor *c;
    ol_key pk;
    int rc;

    memset(row, 0, sizeof *row);
    for (int d = 0; d < 7; d++)
        row->capacity += fc_day_capacity(p, mon + d);
    if ((rc = fc_available_days(ctx, person, p, mon, 7, avail)))
        return rc;
    for (int d = 0; d < 7; d++)
        row->available += avail[d];

    ol_key_init(&pk);
    ol_key_str(&pk, person);
    if ((rc = mdb_cursor_open(txn, ol_fold_dbi(ctx, "allocs"), &c)))
        return rc;
    MDB_val k = ol_key_val(&pk), v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size < pk.n || memcmp(k.mv_data, pk.b, pk.n))
            break;
        struct fc_alloc a;
        struct fc_eng e;
        if (v.mv_size < sizeof a + 2)
            continue;
        memcpy(&a, v.mv_data, sizeof a);
        if (a.status == ALLOC_CANCELLED || a.last < mon || a.first > mon + 6)
            continue;
        const char *eng = (const char *)v.mv_data + sizeof a;
        int known = fc_eng_load(txn, engs, eng, &e) == 0;
        if (known && e.status == ENG_CLOSED)
            continue; /* a closed engagement plans no more work */
        int64_t num = 0;
        for (int d = 0; d < 7; d++)
            if (mon + d >= a.first && mon + d <= a.last)
                num += (int64_t)a.percent * avail[d];
        if (a.status == ALLOC_PROPOSED)
            prop_num += num;
        else {
            alloc_num += num;
            if (known && (e.billing == BILL_TM || e.billing == BILL_FIXED))
                bill_num += num;
        }
    }
    mdb_cursor_close(c);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    row->allocated = (int32_t)(alloc_num / 100);
    row->proposed = (int32_t)(prop_num / 100);
    row->billable = (int32_t)(bill_num / 100);
    row->people = p->billable ? 1 : 0;
    fc_row_finish(row, 1);
    row->over_people = row->over && p->billable;
    return 0;
}

/* utilisation from the minutes; a person's bench and overallocation from
 * theirs, a sum's bench is the sum of its people's (kept by fc_row_add) and
 * it is overallocated when one of its people is */
void fc_row_finish(struct fc_row *r, int person)
{
    r->has_bp = r->available > 0;
    /* 64-bit product: billable * 10000 overflows int32 above ~214k minutes */
    r->bp = r->has_bp ? (int32_t)((int64_t)r->billable * 10000 / r->available) : 0;
    if (person) {
        r->bench = r->available > r->allocated ? r->available - r->allocated : 0;
        r->over = r->allocated > r->available;
    } else
        r->over = r->over_people > 0;
}

void fc_row_add(struct fc_row *s, const struct fc_row *r)
{
    s->capacity += r->capacity;
    s->available += r->available;
    s->allocated += r->allocated;
    s->proposed += r->proposed;
    s->billable += r->billable;
    s->bench += r->bench;
    s->people += r->people;
    s->over_people += r->over_people;
}

static void row_key(ol_key *k, ol_week w, int scope, const char *id)
{
    ol_key_init(k);
    ol_key_i32(k, w);
    ol_key_u8(k, (uint8_t)scope);
    ol_key_str(k, id);
}

int fc_row_get(MDB_txn *txn, MDB_dbi weekly, ol_week w, int scope, const char *id, struct fc_row *row,
               const char **team)
{
    ol_key k;
    row_key(&k, w, scope, id);
    return ol_get_record(txn, weekly, &k, row, sizeof *row, team);
}

int fc_row_put(MDB_txn *txn, MDB_dbi weekly, ol_week w, int scope, const char *id, const struct fc_row *row,
               const char *team)
{
    ol_key k;
    row_key(&k, w, scope, id);
    return ol_put_record(txn, weekly, &k, row, sizeof *row, &team, 1);
}

int fc_row_del(MDB_txn *txn, MDB_dbi weekly, ol_week w, int scope, const char *id)
{
    ol_key k;
    row_key(&k, w, scope, id);
    MDB_val kv = ol_key_val(&k);
    int rc = mdb_del(txn, weekly, &kv, NULL);
    return rc == MDB_NOTFOUND ? 0 : rc;
}
