/* figures — the utilisation rules of SPEC section 3, computed from the
 * projection for one person-week; and the sums for teams and the org.
 *
 * Day capacity: weekly_capacity / number of working days, the remainder on
 * the first working day, so a full week sums exactly. Leave: FULL is the
 * day's capacity; AM is the larger half and PM the smaller, so AM + PM on one
 * day is exactly the day; overlapping leave on a day never exceeds the day. */
#include "ol_rules.h"
#include "util.h"

#include <limits.h>
#include <string.h>

int util_person_load(MDB_txn *txn, MDB_dbi people, const char *person, struct util_person *p, const char **name,
                     const char **team)
{
    ol_key k;
    ol_key_init(&k);
    ol_key_str(&k, person);
    MDB_val kv = ol_key_val(&k), v;
    int rc = mdb_get(txn, people, &kv, &v);
    if (rc)
        return rc;
    if (v.mv_size < sizeof *p + 2)
        return MDB_CORRUPTED;
    memcpy(p, v.mv_data, sizeof *p);
    const char *s = (const char *)v.mv_data + sizeof *p;
    if (name)
        *name = s;
    if (team)
        *team = s + strlen(s) + 1;
    return 0;
}

int util_day_capacity(const struct util_person *p, int32_t day)
{
    return ol_day_capacity(p->weekly_capacity, p->working_days, p->joined, p->left, day);
}

struct leave_week_acc {
    const struct util_person *p;
    int32_t mon, leave[7];
};

static int add_leave_days(const struct ol_leave *l, void *arg)
{
    struct leave_week_acc *a = arg;
    for (int d = 0; d < 7; d++) {
        int32_t day = a->mon + d;
        if (day < l->first || day > l->last)
            continue;
        int cap = util_day_capacity(a->p, day);
        a->leave[d] += ol_leave_part(cap, l->portion);
        if (a->leave[d] > cap)
            a->leave[d] = cap;
    }
    return 0;
}

static int leave_week(ol_fold_ctx *ctx, const char *person, ol_week w, const struct util_person *p, int32_t *out)
{
    struct leave_week_acc a = {p, ol_week_monday(w), {0}};
    int rc = ol_leave_scan(ol_fold_txn(ctx), ol_fold_dbi(ctx, "leaves"), person, a.mon, a.mon + 6, add_leave_days, &a);
    if (rc)
        return rc;
    *out = 0;
    for (int d = 0; d < 7; d++)
        *out += a.leave[d];
    return 0;
}

static int engagement_billing(ol_fold_ctx *ctx, const char *eng)
{
    ol_key k;
    ol_key_init(&k);
    ol_key_str(&k, eng);
    MDB_val kv = ol_key_val(&k), v;
    if (mdb_get(ol_fold_txn(ctx), ol_fold_dbi(ctx, "engagements"), &kv, &v) || v.mv_size != 1)
        return BILL_UNKNOWN;
    return *(const uint8_t *)v.mv_data;
}

int util_person_week(ol_fold_ctx *ctx, const char *person, ol_week w, const struct util_person *p,
                     struct util_row *row)
{
    int32_t mon = ol_week_monday(w);
    MDB_cursor *c;
    ol_key pk;
    int rc;

    memset(row, 0, sizeof *row);
    for (int d = 0; d < 7; d++)
        row->capacity += util_day_capacity(p, mon + d);
    if ((rc = leave_week(ctx, person, w, p, &row->leave)))
        return rc;
    row->available = row->capacity - row->leave;

    ol_key_init(&pk);
    ol_key_i32(&pk, w);
    ol_key_str(&pk, person);
    if ((rc = mdb_cursor_open(ol_fold_txn(ctx), ol_fold_dbi(ctx, "week_time"), &c)))
        return rc;
    MDB_val k = ol_key_val(&pk), v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size < pk.n || memcmp(k.mv_data, pk.b, pk.n))
            break;
        /* week person\0 engagement\0 activity -> struct util_time */
        struct util_time t;
        const char *eng = (const char *)k.mv_data + pk.n;
        size_t el = k.mv_size - pk.n;
        if (v.mv_size != sizeof t || el < 2 || strnlen(eng, el) != el - 2) {
            rc = MDB_CORRUPTED;
            break;
        }
        memcpy(&t, v.mv_data, sizeof t);
        if (!t.minutes)
            continue;
        int32_t minutes = (int32_t)t.minutes;
        row->logged += minutes;
        switch (((const uint8_t *)k.mv_data)[k.mv_size - 1]) /* activity */ {
        case ACT_DELIVERY:
            if (!*eng) {
                row->nonbill[NB_DELIVERY] += minutes; /* delivery on no engagement bills no one */
                break;
            }
            switch (engagement_billing(ctx, eng)) {
            case BILL_UNKNOWN: row->unclassified += minutes; break;
            case BILL_NON_BILLABLE: row->nonbill[NB_DELIVERY] += minutes; break;
            default: row->billable += minutes; break;
            }
            break;
        case ACT_SALES_SUPPORT: row->nonbill[NB_SALES] += minutes; break;
        case ACT_TRAINING: row->nonbill[NB_TRAINING] += minutes; break;
        case ACT_INTERNAL: row->nonbill[NB_INTERNAL] += minutes; break;
        case ACT_BENCH: row->nonbill[NB_BENCH] += minutes; break;
        case ACT_LIVE_SUPPORT: row->nonbill[NB_LIVE] += minutes; break;
        default: row->unclassified += minutes; break;
        }
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc;
}

void util_row_finish(struct util_row *r, int32_t target_bp, int counts)
{
    r->target_bp = target_bp;
    r->has_bp = r->available > 0;
    /* 64-bit product: billable * 10000 overflows int32 above ~214k minutes */
    r->bp = r->has_bp ? (int32_t)((int64_t)r->billable * 10000 / r->available) : 0;
    r->below = counts && r->has_bp && r->bp < target_bp;
}

void util_row_add(struct util_row *s, const struct util_row *r)
{
    s->capacity += r->capacity;
    s->leave += r->leave;
    s->available += r->available;
    s->billable += r->billable;
    for (int i = 0; i < NB_N; i++)
        s->nonbill[i] += r->nonbill[i];
    s->unclassified += r->unclassified;
    s->logged += r->logged;
    s->people += r->people;
}

static void row_key(ol_key *k, ol_week w, int scope, const char *id)
{
    ol_key_init(k);
    ol_key_i32(k, w);
    ol_key_u8(k, (uint8_t)scope);
    ol_key_str(k, id);
}

int util_row_get(MDB_txn *txn, MDB_dbi util, ol_week w, int scope, const char *id, struct util_row *row,
               const char **team)
{
    ol_key k;
    row_key(&k, w, scope, id);
    return ol_get_record(txn, util, &k, row, sizeof *row, team);
}

int util_row_put(MDB_txn *txn, MDB_dbi util, ol_week w, int scope, const char *id, const struct util_row *row,
               const char *team)
{
    ol_key k;
    row_key(&k, w, scope, id);
    return ol_put_record(txn, util, &k, row, sizeof *row, &team, 1);
}
