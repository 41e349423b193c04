/* demand — one ops.forecast.demand row per role and horizon week:
 *   open_role_minutes     open-role allocations (person_id null, PROPOSED or
 *                         CONFIRMED, engagement not CLOSED): percent x the
 *                         engagement's minutes_per_day on each Monday-to-Friday
 *                         day of the week inside the allocation, / 100 once;
 *   bench_supply_minutes  the forecast bench of billable people whose HR role
 *                         it is (their person-week rows, computed first);
 *   gap_minutes           open - bench;
 *   rolling_off_people    billable people with the role whose last CONFIRMED
 *                         allocation (engagement not CLOSED) ends within the
 *                         4 weeks from this week, and who are not leaving by
 *                         then (left_on null or after that day); ascending. */
#include "forecast.h"
#include "ol_av.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the last day of the person's CONFIRMED allocations on engagements not
 * CLOSED; 0 found, MDB_NOTFOUND none */
static int last_confirmed_day(ol_fold_ctx *ctx, const char *person, int32_t *last)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    MDB_dbi engs = ol_fold_dbi(ctx, "engs");
    MDB_cursor *c;
    ol_key pk;
    int rc, found = 0;
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
        memcpy(&a, v.mv_data, sizeof a);
        if (a.status != ALLOC_CONFIRMED)
            continue;
        if (fc_eng_load(txn, engs, (const char *)v.mv_data + sizeof a, &e) == 0 && e.status == ENG_CLOSED)
            continue;
        if (!found || a.last > *last)
            *last = a.last;
        found = 1;
    }
    mdb_cursor_close(c);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    return found ? 0 : MDB_NOTFOUND;
}

/* open-role minutes of role in the week starting mon; *any: the role has an
 * open allocation at all */
static int open_minutes(ol_fold_ctx *ctx, const char *role, int32_t mon, int32_t *out, int *any)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    MDB_dbi engs = ol_fold_dbi(ctx, "engs");
    MDB_cursor *c;
    ol_key rk;
    int64_t num = 0;
    int rc;
    ol_key_init(&rk);
    ol_key_str(&rk, role);
    if ((rc = mdb_cursor_open(txn, ol_fold_dbi(ctx, "open_roles"), &c)))
        return rc;
    MDB_val k = ol_key_val(&rk), v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size < rk.n || memcmp(k.mv_data, rk.b, rk.n))
            break;
        struct fc_alloc a;
        struct fc_eng e;
        memcpy(&a, v.mv_data, sizeof a);
        *any = 1;
        int known = fc_eng_load(txn, engs, (const char *)v.mv_data + sizeof a, &e) == 0;
        if (known && e.status == ENG_CLOSED)
            continue;
        int32_t mpd = known ? e.minutes_per_day : 450;
        for (int d = 0; d < 5; d++)
            if (mon + d >= a.first && mon + d <= a.last)
                num += (int64_t)a.percent * mpd;
    }
    mdb_cursor_close(c);
    *out = (int32_t)(num / 100);
    return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc;
}

struct idlist {
    char *buf;
    size_t len, cap;
    int n;
};

static int idlist_add(struct idlist *l, const char *id)
{
    size_t sl = strlen(id) + 1;
    if (l->len + sl > l->cap) {
        size_t cap = (l->cap ? l->cap * 2 : 256) + sl;
        char *b = realloc(l->buf, cap);
        if (!b)
            return -1;
        l->buf = b;
        l->cap = cap;
    }
    memcpy(l->buf + l->len, id, sl);
    l->len += sl;
    l->n++;
    return 0;
}

static int emit_demand(ol_fold_ctx *ctx, const char *role, ol_week w, const struct fc_demand *d,
                       const struct idlist *ids, int only_if_prev)
{
    char key[600], wk[9];
    avro_value_t *prev, *v, arr, el;
    ol_week_format(w, wk);
    snprintf(key, sizeof key, "%s|%s", role, wk);
    if (only_if_prev) {
        int has = ol_fold_derived_prev(ctx, "ops.forecast.demand", key, &prev);
        if (has <= 0)
            return has;
    }
    if (!(v = ol_fold_new_derived(ctx, "ops.forecast.demand")))
        return -1;
    if (ol_av_set_str(v, "role", role) || ol_av_set_str(v, "week", wk) ||
        ol_av_set_int(v, "open_role_minutes", d->open_minutes) ||
        ol_av_set_int(v, "bench_supply_minutes", d->bench_minutes) || ol_av_set_int(v, "gap_minutes", d->gap_minutes) ||
        ol_av_set_int(v, "roll_offs_next_4_weeks", d->rolloffs) || ol_av_field(v, "rolling_off_people", &arr))
        return -1;
    const char *p = ids->buf;
    for (int i = 0; i < ids->n; i++, p += strlen(p) + 1)
        if (avro_value_append(&arr, &el, NULL) || avro_value_set_string(&el, p))
            return -1;
    int rc = ol_fold_emit(ctx, "ops.forecast.demand", key, v);
    return rc < 0 ? rc : 0;
}

int fc_demand(ol_fold_ctx *ctx, const char *role, ol_week w)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    MDB_dbi people = ol_fold_dbi(ctx, "people"), weekly = ol_fold_dbi(ctx, "weekly");
    MDB_dbi demand = ol_fold_dbi(ctx, "demand");
    struct fc_demand d;
    struct idlist ids = {0};
    int32_t mon = ol_week_monday(w), window_end = mon + 7 * FC_ROLLOFF - 1;
    int rc, any_open = 0, any_people = 0;
    MDB_cursor *c;
    ol_key rk;

    memset(&d, 0, sizeof d);
    if ((rc = open_minutes(ctx, role, mon, &d.open_minutes, &any_open)))
        return rc;
    ol_key_init(&rk);
    ol_key_str(&rk, role);
    if ((rc = mdb_cursor_open(txn, ol_fold_dbi(ctx, "role_people"), &c)))
        return rc;
    MDB_val k = ol_key_val(&rk), v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size <= rk.n || memcmp(k.mv_data, rk.b, rk.n))
            break;
        const char *person = (const char *)k.mv_data + rk.n;
        struct fc_person p;
        struct fc_row r;
        int32_t last;
        if (fc_person_load(txn, people, person, &p, NULL, NULL, NULL) || !p.billable)
            continue;
        any_people = 1;
        int g = fc_row_get(txn, weekly, w, SCOPE_PERSON, person, &r, NULL);
        if (g == 0)
            d.bench_minutes += r.bench;
        else if (g != MDB_NOTFOUND) {
            rc = g;
            break;
        }
        if ((g = last_confirmed_day(ctx, person, &last)) == MDB_NOTFOUND)
            continue;
        if (g) {
            rc = g;
            break;
        }
        if (last >= mon && last <= window_end && p.left > last && (rc = idlist_add(&ids, person)))
            break;
    }
    mdb_cursor_close(c);
    if (rc && rc != MDB_NOTFOUND) {
        free(ids.buf);
        return rc;
    }
    d.gap_minutes = d.open_minutes - d.bench_minutes;
    d.rolloffs = ids.n;

    ol_key_init(&rk);
    ol_key_i32(&rk, w);
    ol_key_str(&rk, role);
    MDB_val kv = ol_key_val(&rk), val = {sizeof d + ids.len, NULL};
    if (!any_open && !any_people) {
        /* nobody has the role and nobody asks for it: no row */
        rc = mdb_del(txn, demand, &kv, NULL);
        if (rc == 0 || rc == MDB_NOTFOUND)
            rc = emit_demand(ctx, role, w, &d, &ids, 1);
    } else if (!(rc = mdb_put(txn, demand, &kv, &val, MDB_RESERVE))) {
        memcpy(val.mv_data, &d, sizeof d);
        if (ids.len)
            memcpy((char *)val.mv_data + sizeof d, ids.buf, ids.len);
        rc = emit_demand(ctx, role, w, &d, &ids, 0);
    }
    free(ids.buf);
    return rc;
}
