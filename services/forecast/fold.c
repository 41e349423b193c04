/* fold — keeps the forecast's indexes as input entities change (apply) and
 * marks every key a change can affect: person-weeks and role-weeks of the
 * horizon, teams a person left, engagements whose forecast to complete or
 * spend moved. flush.c recomputes them from the surviving versions. */
#include "forecast.h"
#include "ol_av.h"

#include <limits.h>
#include <string.h>

ol_week fc_horizon_first(ol_fold_ctx *ctx)
{
    int64_t dt = ol_fold_data_time(ctx);
    return ol_week_of((int32_t)(dt / 86400000));
}

static int mark_sw(ol_fold_ctx *ctx, uint8_t tag, const char *s, ol_week w)
{
    ol_key k;
    ol_key_init(&k);
    ol_key_u8(&k, tag);
    ol_key_str(&k, s);
    ol_key_i32(&k, w);
    return k.overflow ? -1 : ol_fold_mark(ctx, k.b, k.n);
}

int fc_mark_pw(ol_fold_ctx *ctx, const char *person, ol_week w) { return mark_sw(ctx, 'P', person, w); }
int fc_mark_rw(ol_fold_ctx *ctx, const char *role, ol_week w) { return mark_sw(ctx, 'R', role, w); }

int fc_mark_str(ol_fold_ctx *ctx, uint8_t tag, const char *id)
{
    ol_key k;
    ol_key_init(&k);
    ol_key_u8(&k, tag);
    ol_key_str(&k, id);
    return k.overflow ? -1 : ol_fold_mark(ctx, k.b, k.n);
}

/* the weeks of [first, last] inside the horizon as known now (flush marks
 * everything again when the horizon moves, and ignores weeks outside it) */
static int mark_range(ol_fold_ctx *ctx, uint8_t tag, const char *s, int32_t first, int32_t last)
{
    ol_week h0 = fc_horizon_first(ctx), h1 = ol_week_add(h0, FC_HORIZON - 1);
    int rc = 0;
    if (last < first)
        return 0;
    ol_week a = ol_week_of(first), b = ol_week_of(last);
    if (a < h0)
        a = h0;
    if (b > h1)
        b = h1;
    for (ol_week w = a; w <= b && !rc; w = ol_week_add(w, 1))
        rc = mark_sw(ctx, tag, s, w);
    return rc;
}

static int mark_all_weeks(ol_fold_ctx *ctx, uint8_t tag, const char *s)
{
    return mark_range(ctx, tag, s, INT32_MIN / 2, INT32_MAX / 2);
}

/* the engagements a person is allocated on: their forecast to complete uses
 * the person's capacity and leave */
static int mark_person_engagements(ol_fold_ctx *ctx, const char *person)
{
    MDB_cursor *c;
    ol_key pk;
    int rc;
    ol_key_init(&pk);
    ol_key_str(&pk, person);
    if ((rc = mdb_cursor_open(ol_fold_txn(ctx), ol_fold_dbi(ctx, "allocs"), &c)))
        return rc;
    MDB_val k = ol_key_val(&pk), v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size < pk.n || memcmp(k.mv_data, pk.b, pk.n))
            break;
        if (v.mv_size > sizeof(struct fc_alloc) &&
            (rc = fc_mark_str(ctx, 'E', (const char *)v.mv_data + sizeof(struct fc_alloc))))
            break;
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* every horizon week of the person, of their HR role (bench supply and
 * roll-offs), and every engagement they are allocated on */
static int mark_person_all(ol_fold_ctx *ctx, const char *person)
{
    struct fc_person p;
    const char *role;
    int rc = mark_all_weeks(ctx, 'P', person);
    if (rc)
        return rc;
    rc = fc_person_load(ol_fold_txn(ctx), ol_fold_dbi(ctx, "people"), person, &p, NULL, NULL, &role);
    if (rc == 0 && (rc = mark_all_weeks(ctx, 'R', role)))
        return rc;
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    return mark_person_engagements(ctx, person);
}

/* keeps an index row `a\0 b\0 -> ""` (team_people, role_people) in step */
static int move_index(ol_fold_ctx *ctx, const char *db, const char *was, const char *now, const char *id,
                      uint8_t tag)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    ol_key k;
    int rc;
    if (was && strcmp(was, now)) {
        ol_key_init(&k);
        ol_key_str(&k, was);
        ol_key_str(&k, id);
        if ((rc = ol_del_key(txn, ol_fold_dbi(ctx, db), &k)) || (rc = mark_all_weeks(ctx, tag, was)))
            return rc;
    }
    ol_key_init(&k);
    ol_key_str(&k, now);
    ol_key_str(&k, id);
    return ol_put_key_unless_same(txn, ol_fold_dbi(ctx, db), &k, "", 0);
}

/* ------------------------------------------------------------ apply per topic */
static int apply_person(ol_fold_ctx *ctx, avro_value_t *nv, avro_value_t *old)
{
    const char *id = ol_av_str(nv, "person_id"), *team = ol_av_str(nv, "team"), *role = ol_av_str(nv, "role");
    struct fc_person p;
    ol_key k;
    int rc;

    memset(&p, 0, sizeof p);
    p.joined = ol_av_int(nv, "joined_on", 0);
    p.left = ol_av_present(nv, "left_on") ? ol_av_int(nv, "left_on", INT32_MAX) : INT32_MAX;
    p.weekly_capacity = ol_av_int(nv, "weekly_capacity_minutes", 0);
    p.working_days = (uint8_t)ol_av_int(nv, "working_days", 31);
    p.billable = (uint8_t)ol_av_bool(nv, "billable");
    ol_key_init(&k);
    ol_key_str(&k, id);
    const char *strs[] = {ol_av_str(nv, "name"), team, role};
    if ((rc = ol_put_record(ol_fold_txn(ctx), ol_fold_dbi(ctx, "people"), &k, &p, sizeof p, strs, 3)))
        return rc;
    if ((rc = move_index(ctx, "team_people", old ? ol_av_str(old, "team") : NULL, team, id, 'T')) ||
        (rc = move_index(ctx, "role_people", old ? ol_av_str(old, "role") : NULL, role, id, 'R')))
        return rc;
    return mark_person_all(ctx, id);
}

static int leave_index(ol_fold_ctx *ctx, avro_value_t *v, int put)
{
    const char *person = ol_av_str(v, "person_id");
    struct ol_leave l;
    int rc;
    if ((rc = ol_leave_index(ol_fold_txn(ctx), ol_fold_dbi(ctx, "leaves"), v, put, &l)) ||
        (rc = mark_range(ctx, 'P', person, l.first, l.last)))
        return rc;
    return mark_person_engagements(ctx, person);
}

/* allocs (a person's) or open_roles (person_id null), and eng_allocs */
static int alloc_index(ol_fold_ctx *ctx, avro_value_t *v, int put)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    const char *id = ol_av_str(v, "allocation_id"), *eng = ol_av_str(v, "engagement_id"),
               *person = ol_av_str(v, "person_id"), *role = ol_av_str(v, "role");
    struct fc_alloc a;
    ol_key k;
    int rc;

    memset(&a, 0, sizeof a);
    a.first = ol_av_int(v, "first_day", 0);
    a.last = ol_av_int(v, "last_day", -1);
    a.percent = ol_av_int(v, "percent", 0);
    a.status = (uint8_t)ol_av_enum(v, "status");
    if (put && a.status == ALLOC_CANCELLED)
        put = 0; /* a cancelled allocation is removed, as if it never was */
    ol_key_init(&k);
    ol_key_str(&k, *person ? person : role);
    ol_key_str(&k, id);
    MDB_dbi dbi = ol_fold_dbi(ctx, *person ? "allocs" : "open_roles");
    const char *strs[] = {eng, role, person};
    if ((rc = put ? ol_put_record(txn, dbi, &k, &a, sizeof a, strs, 2) : ol_del_key(txn, dbi, &k)))
        return rc;
    ol_key_init(&k);
    ol_key_str(&k, eng);
    ol_key_str(&k, id);
    if ((rc = put ? ol_put_record(txn, ol_fold_dbi(ctx, "eng_allocs"), &k, "", 0, strs + 1, 2)
                  : ol_del_key(txn, ol_fold_dbi(ctx, "eng_allocs"), &k)))
        return rc;
    if ((rc = fc_mark_str(ctx, 'E', eng)))
        return rc;
    if (!*person)
        return mark_range(ctx, 'R', role, a.first, a.last);
    return mark_person_all(ctx, person); /* weeks, and roll-offs of their role over the whole horizon */
}

static int apply_engagement(ol_fold_ctx *ctx, avro_value_t *nv, avro_value_t *old)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    const char *id = ol_av_str(nv, "engagement_id");
    struct fc_eng e;
    ol_key k;
    int rc;

    memset(&e, 0, sizeof e);
    e.budget = ol_av_long(nv, "budget_minor", 0);
    e.starts = ol_av_int(nv, "starts_on", 0);
    e.ends = ol_av_int(nv, "ends_on", 0);
    e.minutes_per_day = ol_av_int(nv, "minutes_per_day", 450);
    if (e.minutes_per_day <= 0)
        e.minutes_per_day = 450;
    e.billing = (uint8_t)ol_av_enum(nv, "billing");
    e.status = (uint8_t)ol_av_enum(nv, "status");
    ol_key_init(&k);
    ol_key_str(&k, id);
    const char *strs[] = {ol_av_str(nv, "currency"), ol_av_str(nv, "client"), ol_av_str(nv, "name")};
    if ((rc = ol_put_record(txn, ol_fold_dbi(ctx, "engs"), &k, &e, sizeof e, strs, 3)))
        return rc;
    if ((rc = fc_mark_str(ctx, 'E', id)))
        return rc;
    if (old && ol_av_enum(old, "billing") == e.billing && ol_av_enum(old, "status") == e.status &&
        ol_av_int(old, "minutes_per_day", 450) == e.minutes_per_day)
        return 0; /* nothing the weekly or demand figures read changed */
    /* every allocation on it: billable minutes, closed engagements, open-role minutes */
    MDB_cursor *c;
    if ((rc = mdb_cursor_open(txn, ol_fold_dbi(ctx, "eng_allocs"), &c)))
        return rc;
    MDB_val kv = ol_key_val(&k), v;
    for (rc = mdb_cursor_get(c, &kv, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &kv, &v, MDB_NEXT)) {
        if (kv.mv_size < k.n || memcmp(kv.mv_data, k.b, k.n))
            break;
        const char *role = v.mv_data, *person = role + strlen(role) + 1;
        if ((rc = *person ? mark_person_all(ctx, person) : mark_all_weeks(ctx, 'R', role)))
            break;
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* finance.billing.line: the latest revision of each line, kept per engagement */
static int line_index(ol_fold_ctx *ctx, avro_value_t *v, int put)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    const char *eng = ol_av_str(v, "engagement_id"), *cur = ol_av_str(v, "currency");
    struct fc_line l;
    ol_key k;
    int rc;
    memset(&l, 0, sizeof l);
    l.amount = ol_av_long(v, "amount_minor", 0);
    if (ol_week_parse(ol_av_str(v, "week"), &l.week))
        l.week = 0; /* validation guarantees the format */
    ol_key_init(&k);
    ol_key_str(&k, eng);
    ol_key_str(&k, ol_av_str(v, "key"));
    if ((rc = put ? ol_put_record(txn, ol_fold_dbi(ctx, "lines"), &k, &l, sizeof l, &cur, 1)
                  : ol_del_key(txn, ol_fold_dbi(ctx, "lines"), &k)))
        return rc;
    return fc_mark_str(ctx, 'E', eng);
}

int fc_apply(ol_fold_ctx *ctx, const ol_event *ev, avro_value_t *old)
{
    const char *t = ev->rec->topic;
    int rc;
    if (!strcmp(t, "hr.person"))
        return apply_person(ctx, ev->value, old);
    if (!strcmp(t, "delivery.engagement"))
        return apply_engagement(ctx, ev->value, old);
    int (*index)(ol_fold_ctx *, avro_value_t *, int) = !strcmp(t, "hr.leave")               ? leave_index
                                                       : !strcmp(t, "delivery.allocation")  ? alloc_index
                                                       : !strcmp(t, "finance.billing.line") ? line_index
                                                                                            : NULL;
    if (!index)
        return 0;
    if (old && (rc = index(ctx, old, 0)))
        return rc;
    return index(ctx, ev->value, 1);
}
