/* cover — ops.cover.gaps of one live service on one UTC day.
 *
 * The day [00:00, 24:00) UTC is cut at every shift boundary, noon (half-day
 * leave: AM is 00:00-12:00 UTC, PM 12:00-24:00) and every double-booking
 * boundary. Each piece is, in this order:
 *   NO_PRIMARY              no PLANNED PRIMARY shift of the service covers it;
 *   PRIMARY_ON_LEAVE p      every PRIMARY covering it is on BOOKED leave
 *                           (p: the smallest such person_id);
 *   PRIMARY_DOUBLE_BOOKED p s  every PRIMARY not on leave holds a PLANNED
 *                           PRIMARY shift of another service s at the same
 *                           time (p, s: the smallest);
 *   covered                 otherwise.
 * Adjacent pieces with the same reason are merged; minutes are the pieces'
 * milliseconds summed per reason, divided by 60,000, truncating.
 * shifts_on_leave lists every PLANNED shift (PRIMARY or SECONDARY) touching
 * the day whose person has BOOKED leave overlapping it that day.
 * A day is reported when at least one shift of the service (any status)
 * touches it. */
#include "assurance.h"
#include "ol_av.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HALF_DAY_MS (AS_DAY_MS / 2)

struct other {
    int64_t s, e;
    char *service;
};

struct cshift {
    int64_t s, e; /* clipped to the day */
    int role, status, leave; /* leave: bit 0 AM, bit 1 PM of the day */
    char *id, *person;
    struct other *others;
    int nothers;
};

struct piece {
    int64_t s, e;
    int kind; /* 0 covered, 1 NO_PRIMARY, 2 ON_LEAVE, 3 DOUBLE_BOOKED */
    char reason[600];
};

static void shifts_free(struct cshift *v, int n)
{
    for (int i = 0; i < n; i++) {
        free(v[i].id);
        free(v[i].person);
        for (int j = 0; j < v[i].nothers; j++)
            free(v[i].others[j].service);
        free(v[i].others);
    }
    free(v);
}

/* the person's BOOKED leave on the day: bit 0 AM, bit 1 PM */
static int add_portion(const struct ol_leave *l, void *mask)
{
    *(int *)mask |= l->portion == PORTION_AM ? 1 : l->portion == PORTION_PM ? 2 : 3;
    return 0;
}

static int leave_mask(MDB_txn *txn, MDB_dbi leaves, const char *person, int32_t day, int *mask)
{
    *mask = 0;
    return ol_leave_scan(txn, leaves, person, day, day, add_portion, mask);
}

/* the person's PLANNED PRIMARY shifts on other services overlapping [s, e) */
static int others_of(MDB_txn *txn, MDB_dbi pshifts, const char *service, struct cshift *x, int64_t s, int64_t e)
{
    MDB_cursor *c;
    ol_key pk, from;
    int rc;
    ol_key_init(&pk);
    ol_key_str(&pk, x->person);
    from = pk;
    ol_key_i64(&from, s - AS_MAX_SHIFT_DAYS * AS_DAY_MS);
    if (from.overflow)
        return -1;
    if ((rc = mdb_cursor_open(txn, pshifts, &c)))
        return rc;
    MDB_val k = ol_key_val(&from), v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size < pk.n + 8 || memcmp(k.mv_data, pk.b, pk.n))
            break;
        struct as_shift o;
        memcpy(&o, v.mv_data, sizeof o);
        if (o.starts >= e)
            break;
        const char *osvc = (const char *)v.mv_data + sizeof o;
        if (o.role != SHIFT_PRIMARY || o.ends <= s || !strcmp(osvc, service))
            continue;
        struct other *n = realloc(x->others, (size_t)(x->nothers + 1) * sizeof *n);
        if (!n) {
            rc = -1;
            break;
        }
        x->others = n;
        n[x->nothers].s = o.starts > s ? o.starts : s;
        n[x->nothers].e = o.ends < e ? o.ends : e;
        if (!(n[x->nothers].service = strdup(osvc))) {
            rc = -1;
            break;
        }
        x->nothers++;
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int on_leave_at(const struct cshift *x, int64_t day0, int64_t s)
{
    return (x->leave & 1 && s < day0 + HALF_DAY_MS) || (x->leave & 2 && s >= day0 + HALF_DAY_MS);
}

/* the piece [s, e): its kind and reason */
static void classify(const struct cshift *v, int n, int64_t day0, struct piece *p)
{
    const char *leave_p = NULL, *dbl_p = NULL, *dbl_s = NULL;
    int primaries = 0, available = 0, double_booked = 0;
    for (int i = 0; i < n; i++) {
        const struct cshift *x = &v[i];
        if (x->status != SHIFT_PLANNED || x->role != SHIFT_PRIMARY || x->s > p->s || x->e < p->e)
            continue;
        primaries++;
        if (on_leave_at(x, day0, p->s)) {
            if (!leave_p || strcmp(x->person, leave_p) < 0)
                leave_p = x->person;
            continue;
        }
        available++;
        const char *svc = NULL;
        for (int j = 0; j < x->nothers; j++)
            if (x->others[j].s <= p->s && x->others[j].e >= p->e && (!svc || strcmp(x->others[j].service, svc) < 0))
                svc = x->others[j].service;
        if (svc) {
            double_booked++;
            if (!dbl_p || strcmp(x->person, dbl_p) < 0) {
                dbl_p = x->person;
                dbl_s = svc;
            }
        }
    }
    p->reason[0] = '\0';
    if (!primaries) {
        p->kind = 1;
        snprintf(p->reason, sizeof p->reason, "NO_PRIMARY");
    } else if (!available) {
        p->kind = 2;
        snprintf(p->reason, sizeof p->reason, "PRIMARY_ON_LEAVE %s", leave_p);
    } else if (double_booked == available) {
        p->kind = 3;
        snprintf(p->reason, sizeof p->reason, "PRIMARY_DOUBLE_BOOKED %s %s", dbl_p, dbl_s);
    } else
        p->kind = 0;
}

static int emit(ol_fold_ctx *ctx, const char *service, int32_t day, const struct piece *pc, int np,
                const struct cshift *v, int n)
{
    int64_t ms[4] = {0, 0, 0, 0};
    avro_value_t *ev = ol_fold_new_derived(ctx, "ops.cover.gaps"), arr, el;
    char key[600], d[11], buf[1200];
    if (!ev)
        return -1;
    for (int i = 0; i < np; i++)
        ms[pc[i].kind] += pc[i].e - pc[i].s;
    struct as_cover_row row = {(int32_t)(ms[1] / 60000), (int32_t)(ms[2] / 60000), (int32_t)(ms[3] / 60000), 0};
    if (ol_av_set_str(ev, "service_id", service) || ol_av_set_int(ev, "day", day) ||
        ol_av_set_int(ev, "uncovered_minutes", row.uncovered) ||
        ol_av_set_int(ev, "primary_on_leave_minutes", row.on_leave) ||
        ol_av_set_int(ev, "double_booked_minutes", row.double_booked) ||
        avro_value_get_by_name(ev, "gaps", &arr, NULL))
        return -1;
    for (int i = 0; i < np; i++) {
        if (!pc[i].kind)
            continue;
        row.ngaps++;
        if (avro_value_append(&arr, &el, NULL) || ol_av_set_long(&el, "starts_at", pc[i].s) ||
            ol_av_set_long(&el, "ends_at", pc[i].e) || ol_av_set_str(&el, "reason", pc[i].reason))
            return -1;
    }
    if (avro_value_get_by_name(ev, "shifts_on_leave", &arr, NULL))
        return -1;
    for (int i = 0; i < n; i++) { /* v is in shift_id order (the key order) */
        const struct cshift *x = &v[i];
        int64_t day0 = (int64_t)day * AS_DAY_MS;
        int am = x->s < day0 + HALF_DAY_MS, pm = x->e > day0 + HALF_DAY_MS;
        if (x->status != SHIFT_PLANNED || !((x->leave & 1 && am) || (x->leave & 2 && pm)))
            continue;
        snprintf(buf, sizeof buf, "%s %s %s", x->id, x->person, x->role == SHIFT_PRIMARY ? "PRIMARY" : "SECONDARY");
        if (avro_value_append(&arr, &el, NULL) || avro_value_set_string(&el, buf))
            return -1;
    }
    ol_date_format(day, d);
    snprintf(key, sizeof key, "%s|%s", service, d);
    if (ol_fold_emit(ctx, "ops.cover.gaps", key, ev) < 0)
        return -1;
    ol_key k;
    ol_key_init(&k);
    ol_key_str(&k, service);
    ol_key_i32(&k, day);
    return ol_put_key_unless_same(ol_fold_txn(ctx), ol_fold_dbi(ctx, "cover"), &k, &row, sizeof row);
}

int as_cover(ol_fold_ctx *ctx, const char *service, int32_t day)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    MDB_cursor *c = NULL;
    struct cshift *v = NULL;
    struct piece *pc = NULL;
    int64_t *cut = NULL;
    int n = 0, np = 0, rc;
    int64_t day0 = (int64_t)day * AS_DAY_MS, day1 = day0 + AS_DAY_MS;
    ol_key pk;

    ol_key_init(&pk);
    ol_key_str(&pk, service);
    ol_key_i32(&pk, day);
    if (pk.overflow)
        return -1;
    if ((rc = mdb_cursor_open(txn, ol_fold_dbi(ctx, "shifts"), &c)))
        return rc;
    MDB_val k = ol_key_val(&pk), val;
    for (rc = mdb_cursor_get(c, &k, &val, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &val, MDB_NEXT)) {
        if (k.mv_size < pk.n || memcmp(k.mv_data, pk.b, pk.n))
            break;
        struct as_shift s;
        memcpy(&s, val.mv_data, sizeof s);
        struct cshift *nv = realloc(v, (size_t)(n + 1) * sizeof *nv);
        if (!nv) {
            rc = -1;
            goto out;
        }
        v = nv;
        struct cshift *x = &v[n++];
        memset(x, 0, sizeof *x);
        x->s = s.starts > day0 ? s.starts : day0;
        x->e = s.ends < day1 ? s.ends : day1;
        x->role = s.role;
        x->status = s.status;
        x->id = strdup((const char *)k.mv_data + pk.n);
        x->person = strdup((const char *)val.mv_data + sizeof s);
        if (!x->id || !x->person) {
            rc = -1;
            goto out;
        }
    }
    if (rc != MDB_NOTFOUND && rc != 0)
        goto out;
    mdb_cursor_close(c);
    c = NULL;
    ol_key ck;
    ol_key_init(&ck);
    ol_key_str(&ck, service);
    ol_key_i32(&ck, day);
    if (!n) { /* no shift touches the day any more */
        rc = ol_del_key(txn, ol_fold_dbi(ctx, "cover"), &ck);
        goto out;
    }
    /* leave and double bookings of the people on PLANNED shifts */
    int ncut = 3;
    for (int i = 0; i < n; i++) {
        if (v[i].status != SHIFT_PLANNED)
            continue;
        if ((rc = leave_mask(txn, ol_fold_dbi(ctx, "leaves"), v[i].person, day, &v[i].leave)))
            goto out;
        if (v[i].role == SHIFT_PRIMARY &&
            (rc = others_of(txn, ol_fold_dbi(ctx, "pshifts"), service, &v[i], v[i].s, v[i].e)))
            goto out;
        ncut += 2 + 2 * v[i].nothers;
    }
    if (!(cut = malloc((size_t)ncut * sizeof *cut))) {
        rc = -1;
        goto out;
    }
    int m = 0;
    cut[m++] = day0;
    cut[m++] = day0 + HALF_DAY_MS;
    cut[m++] = day1;
    for (int i = 0; i < n; i++) {
        if (v[i].status != SHIFT_PLANNED)
            continue;
        cut[m++] = v[i].s;
        cut[m++] = v[i].e;
        for (int j = 0; j < v[i].nothers; j++) {
            cut[m++] = v[i].others[j].s;
            cut[m++] = v[i].others[j].e;
        }
    }
    qsort(cut, (size_t)m, sizeof *cut, cmp_i64);
    if (!(pc = calloc((size_t)m, sizeof *pc))) {
        rc = -1;
        goto out;
    }
    for (int i = 0; i + 1 < m; i++) {
        if (cut[i] == cut[i + 1] || cut[i] < day0 || cut[i + 1] > day1)
            continue;
        struct piece p = {.s = cut[i], .e = cut[i + 1]};
        classify(v, n, day0, &p);
        if (np && pc[np - 1].e == p.s && pc[np - 1].kind == p.kind && !strcmp(pc[np - 1].reason, p.reason))
            pc[np - 1].e = p.e;
        else
            pc[np++] = p;
    }
    rc = emit(ctx, service, day, pc, np, v, n);
out:
    if (c)
        mdb_cursor_close(c);
    shifts_free(v, n);
    free(pc);
    free(cut);
    return rc;
}
