/* fold — keeps the assurance indexes as input entities change and marks
 * what a change can affect: engagement-weeks of the delivery status and
 * service-days of the cover. flush.c recomputes the marks from the
 * surviving versions, so the projection is the same in any arrival order.
 *
 * Two topics keep their past (history callback, every version whatever its
 * arrival order): delivery.risk, so that a week's status reads the register
 * as it stood at the end of that week, and ops.forecast.engagement, so that
 * it reads the forecast made in that week. */
#include "assurance.h"
#include "ol_av.h"

#include <string.h>

/* ------------------------------------------------------------ marks */
int as_mark_week(ol_fold_ctx *ctx, const char *eng, ol_week w)
{
    /* the week's row and the next one's "changes since the previous week" */
    for (int i = 0; i < 2; i++) {
        ol_key k;
        ol_key_init(&k);
        ol_key_u8(&k, 'S');
        ol_key_str(&k, eng);
        ol_key_i32(&k, ol_week_add(w, i));
        int rc = k.overflow ? -1 : ol_fold_mark(ctx, k.b, k.n);
        if (rc)
            return rc;
    }
    return 0;
}

int as_mark_tag(ol_fold_ctx *ctx, uint8_t tag, const char *s)
{
    ol_key k;
    ol_key_init(&k);
    ol_key_u8(&k, tag);
    ol_key_str(&k, s);
    return k.overflow ? -1 : ol_fold_mark(ctx, k.b, k.n);
}

int as_mark_day(ol_fold_ctx *ctx, const char *service, int32_t day)
{
    ol_key k;
    ol_key_init(&k);
    ol_key_u8(&k, 'C');
    ol_key_str(&k, service);
    ol_key_i32(&k, day);
    return k.overflow ? -1 : ol_fold_mark(ctx, k.b, k.n);
}

static int32_t day_of_ms(int64_t ms) { return (int32_t)(ms >= 0 ? ms / AS_DAY_MS : -((-ms + AS_DAY_MS - 1) / AS_DAY_MS)); }

/* the UTC days a shift is counted on: [first, last], at most AS_MAX_SHIFT_DAYS */
static int shift_days(int64_t starts, int64_t ends, int32_t *first, int32_t *last)
{
    if (ends <= starts)
        return 0;
    *first = day_of_ms(starts);
    *last = day_of_ms(ends - 1);
    if (*last - *first >= AS_MAX_SHIFT_DAYS)
        *last = *first + AS_MAX_SHIFT_DAYS - 1;
    return 1;
}

/* every (service, day) of the shifts a person holds on [first, last]: their
 * cover reads the person's leave and other PRIMARY shifts */
static int mark_person_shift_days(ol_fold_ctx *ctx, const char *person, int32_t first, int32_t last)
{
    MDB_cursor *c;
    ol_key pk, from;
    int rc;
    ol_key_init(&pk);
    ol_key_str(&pk, person);
    from = pk;
    ol_key_i64(&from, (int64_t)(first - AS_MAX_SHIFT_DAYS) * AS_DAY_MS);
    if (from.overflow)
        return -1;
    if ((rc = mdb_cursor_open(ol_fold_txn(ctx), ol_fold_dbi(ctx, "pshifts"), &c)))
        return rc;
    MDB_val k = ol_key_val(&from), v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size < pk.n + 8 || memcmp(k.mv_data, pk.b, pk.n))
            break;
        struct as_shift s;
        int32_t a, b;
        memcpy(&s, v.mv_data, sizeof s);
        if (day_of_ms(s.starts) > last)
            break;
        if (!shift_days(s.starts, s.ends, &a, &b))
            continue;
        const char *service = (const char *)v.mv_data + sizeof s;
        for (int32_t d = a > first ? a : first; d <= b && d <= last && !rc; d++)
            rc = as_mark_day(ctx, service, d);
        if (rc)
            break;
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* ------------------------------------------------------------ history */
/* delivery.risk: every version, keyed by revision; on an equal revision the
 * larger event_id is kept, as the runtime does for the winning version */
static int risk_version(ol_fold_ctx *ctx, const ol_event *ev)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    MDB_dbi dbi = ol_fold_dbi(ctx, "risk_vers");
    avro_value_t *v = ev->value;
    const char *risk = ol_av_str(v, "risk_id"), *eng = ol_av_str(v, "engagement_id");
    struct as_risk r;
    ol_key k;
    MDB_val kv, old;
    int rc;

    ol_key_init(&k);
    ol_key_str(&k, risk);
    ol_key_i64(&k, ev->revision);
    if (k.overflow)
        return -1;
    kv = ol_key_val(&k);
    if ((rc = mdb_get(txn, dbi, &kv, &old)) == 0) {
        const char *p = (const char *)old.mv_data + sizeof r;
        for (int i = 0; i < 4; i++)
            p += strlen(p) + 1;
        if (strcmp(ev->event_id, p) <= 0)
            return 0;
    } else if (rc != MDB_NOTFOUND)
        return rc;
    memset(&r, 0, sizeof r);
    r.occurred_at = ev->occurred_at;
    r.severity = (uint8_t)ol_av_enum(v, "severity");
    r.status = (uint8_t)ol_av_enum(v, "status");
    r.category = (uint8_t)ol_av_enum(v, "category");
    const char *cat = "";
    avro_value_t f;
    if (avro_value_get_by_name(v, "category", &f, NULL) == 0) {
        avro_schema_t es = avro_value_get_schema(&f);
        const char *sym = avro_schema_enum_get(es, r.category);
        cat = sym ? sym : "";
    }
    const char *strs[] = {eng, cat, ol_av_str(v, "summary"), ol_av_str(v, "owner"), ev->event_id};
    if ((rc = ol_put_record(txn, dbi, &k, &r, sizeof r, strs, 5)))
        return rc;
    ol_key_init(&k);
    ol_key_str(&k, eng);
    ol_key_str(&k, risk);
    if ((rc = ol_put_key_unless_same(txn, ol_fold_dbi(ctx, "eng_risks"), &k, "", 0)))
        return rc;
    return as_mark_tag(ctx, 'E', eng);
}

/* ops.forecast.engagement: the latest revision of each as-of week */
static int forecast_version(ol_fold_ctx *ctx, const ol_event *ev)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    MDB_dbi dbi = ol_fold_dbi(ctx, "fc_vers");
    avro_value_t *v = ev->value;
    const char *eng = ol_av_str(v, "engagement_id");
    ol_week w;
    struct as_fc fc;
    ol_key k;
    MDB_val kv, old;
    int rc;

    if (ol_week_parse(ol_av_str(v, "as_of_week"), &w))
        return 0; /* validation guarantees the format */
    ol_key_init(&k);
    ol_key_str(&k, eng);
    ol_key_i32(&k, w);
    if (k.overflow)
        return -1;
    kv = ol_key_val(&k);
    if ((rc = mdb_get(txn, dbi, &kv, &old)) == 0) {
        memcpy(&fc, old.mv_data, sizeof fc);
        if (fc.revision >= ev->revision)
            return 0;
    } else if (rc != MDB_NOTFOUND)
        return rc;
    memset(&fc, 0, sizeof fc);
    fc.revision = ev->revision;
    fc.spent = ol_av_long(v, "spent_to_date_minor", 0);
    fc.eac = ol_av_long(v, "estimate_at_completion_minor", 0);
    fc.budget = ol_av_long(v, "budget_minor", 0);
    const char *cur = ol_av_str(v, "currency");
    if ((rc = ol_put_record(txn, dbi, &k, &fc, sizeof fc, &cur, 1)))
        return rc;
    return as_mark_tag(ctx, 'E', eng);
}

int as_history(ol_fold_ctx *ctx, const ol_event *ev)
{
    const char *t = ev->rec->topic;
    if (!strcmp(t, "delivery.risk"))
        return risk_version(ctx, ev);
    if (!strcmp(t, "ops.forecast.engagement"))
        return forecast_version(ctx, ev);
    return 0;
}

/* ------------------------------------------------------------ apply per topic */
static int apply_engagement(ol_fold_ctx *ctx, avro_value_t *nv, avro_value_t *old)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    const char *id = ol_av_str(nv, "engagement_id");
    struct as_eng e;
    ol_key k;
    int rc;

    memset(&e, 0, sizeof e);
    e.budget = ol_av_long(nv, "budget_minor", 0);
    e.starts = ol_av_int(nv, "starts_on", 0);
    e.ends = ol_av_int(nv, "ends_on", 0);
    e.status = (uint8_t)ol_av_enum(nv, "status");
    ol_key_init(&k);
    ol_key_str(&k, id);
    if (k.overflow)
        return -1;
    const char *strs[] = {ol_av_str(nv, "client"), ol_av_str(nv, "name")};
    if ((rc = ol_put_record(txn, ol_fold_dbi(ctx, "engs"), &k, &e, sizeof e, strs, 2)))
        return rc;
    if (old) {
        /* rows of weeks the engagement no longer spans leave the projection */
        ol_week a = ol_week_of(ol_av_int(old, "starts_on", 0)), b = ol_week_of(ol_av_int(old, "ends_on", 0));
        ol_week na = ol_week_of(e.starts), nb = ol_week_of(e.ends);
        for (ol_week w = a; w <= b && w - a < 1000; w = ol_week_add(w, 1)) {
            if (w >= na && w <= nb)
                continue;
            ol_key sk;
            ol_key_init(&sk);
            ol_key_i32(&sk, w);
            ol_key_str(&sk, id);
            if (sk.overflow)
                return -1;
            if ((rc = ol_del_key(txn, ol_fold_dbi(ctx, "status"), &sk)))
                return rc;
        }
    }
    return as_mark_tag(ctx, 'E', id);
}

static int alloc_index(ol_fold_ctx *ctx, avro_value_t *v, int put)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    const char *id = ol_av_str(v, "allocation_id"), *eng = ol_av_str(v, "engagement_id"),
               *person = ol_av_str(v, "person_id"), *role = ol_av_str(v, "role");
    struct as_alloc a;
    ol_key k;
    int rc;

    memset(&a, 0, sizeof a);
    a.first = ol_av_int(v, "first_day", 0);
    a.last = ol_av_int(v, "last_day", -1);
    a.status = (uint8_t)ol_av_enum(v, "status");
    ol_key_init(&k);
    ol_key_str(&k, eng);
    ol_key_str(&k, id);
    if (k.overflow)
        return -1;
    const char *strs[] = {person, role};
    if ((rc = put ? ol_put_record(txn, ol_fold_dbi(ctx, "eng_allocs"), &k, &a, sizeof a, strs, 2)
                  : ol_del_key(txn, ol_fold_dbi(ctx, "eng_allocs"), &k)))
        return rc;
    if (*person) {
        ol_key_init(&k);
        ol_key_str(&k, person);
        ol_key_str(&k, eng);
        ol_key_str(&k, id);
        if (k.overflow)
            return -1;
        if (put && a.status == ALLOC_CONFIRMED) {
            MDB_val kv = ol_key_val(&k), val = {sizeof a, &a};
            rc = ol_put_unless_same(txn, ol_fold_dbi(ctx, "person_engs"), &kv, &val);
        } else
            rc = ol_del_key(txn, ol_fold_dbi(ctx, "person_engs"), &k);
        if (rc)
            return rc;
    }
    return as_mark_tag(ctx, 'E', eng);
}

/* ops.timesheet.missing: person|week -> missing minutes; marks the next
 * week's status of every engagement the person is CONFIRMED on that week */
static int missing_index(ol_fold_ctx *ctx, avro_value_t *v, int put)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    const char *person = ol_av_str(v, "person_id");
    int32_t minutes = ol_av_int(v, "missing_minutes", 0);
    ol_week w;
    ol_key k;
    int rc;
    if (ol_week_parse(ol_av_str(v, "week"), &w))
        return 0;
    ol_key_init(&k);
    ol_key_i32(&k, w);
    ol_key_str(&k, person);
    if (k.overflow)
        return -1;
    if (put && minutes > 0) {
        MDB_val kv = ol_key_val(&k), val = {sizeof minutes, &minutes};
        rc = ol_put_unless_same(txn, ol_fold_dbi(ctx, "missing"), &kv, &val);
    } else
        rc = ol_del_key(txn, ol_fold_dbi(ctx, "missing"), &k);
    if (rc)
        return rc;
    MDB_cursor *c;
    ol_key pk;
    ol_key_init(&pk);
    ol_key_str(&pk, person);
    if ((rc = mdb_cursor_open(txn, ol_fold_dbi(ctx, "person_engs"), &c)))
        return rc;
    MDB_val kv = ol_key_val(&pk), val;
    for (rc = mdb_cursor_get(c, &kv, &val, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &kv, &val, MDB_NEXT)) {
        if (kv.mv_size < pk.n || memcmp(kv.mv_data, pk.b, pk.n))
            break;
        if ((rc = as_mark_week(ctx, (const char *)kv.mv_data + pk.n, ol_week_add(w, 1))))
            break;
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int leave_index(ol_fold_ctx *ctx, avro_value_t *v, int put)
{
    struct ol_leave l;
    int rc = ol_leave_index(ol_fold_txn(ctx), ol_fold_dbi(ctx, "leaves"), v, put, &l);
    if (rc || l.last < l.first)
        return rc;
    return mark_person_shift_days(ctx, ol_av_str(v, "person_id"), l.first,
                                  l.last < l.first + 366 ? l.last : l.first + 366);
}

/* ops.rota: one `shifts` row per UTC day the shift touches, one `pshifts`
 * row per PLANNED shift of a person (their leave and double bookings) */
static int shift_index(ol_fold_ctx *ctx, avro_value_t *v, int put)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    const char *id = ol_av_str(v, "shift_id"), *service = ol_av_str(v, "service_id"),
               *person = ol_av_str(v, "person_id");
    struct as_shift s;
    int32_t first, last;
    ol_key k;
    int rc;

    memset(&s, 0, sizeof s);
    s.starts = ol_av_long(v, "starts_at", 0);
    s.ends = ol_av_long(v, "ends_at", 0);
    s.role = (uint8_t)ol_av_enum(v, "role");
    s.status = (uint8_t)ol_av_enum(v, "status");
    if (!shift_days(s.starts, s.ends, &first, &last)) {
        if (put)
            ol_fold_count(ctx, "shifts_empty", 1); /* ends_at <= starts_at: covers nothing */
        return 0;
    }
    for (int32_t d = first; d <= last; d++) {
        ol_key_init(&k);
        ol_key_str(&k, service);
        ol_key_i32(&k, d);
        ol_key_str(&k, id);
        if (k.overflow)
            return -1;
        if ((rc = put ? ol_put_record(txn, ol_fold_dbi(ctx, "shifts"), &k, &s, sizeof s, &person, 1)
                      : ol_del_key(txn, ol_fold_dbi(ctx, "shifts"), &k)))
            return rc;
        if ((rc = as_mark_day(ctx, service, d)))
            return rc;
    }
    /* other services' days this person's shifts touch: a double booking
     * appears or goes on both sides */
    if ((rc = mark_person_shift_days(ctx, person, first, last)))
        return rc;
    ol_key_init(&k);
    ol_key_str(&k, person);
    ol_key_i64(&k, s.starts);
    ol_key_str(&k, id);
    if (k.overflow)
        return -1;
    if (put && s.status == SHIFT_PLANNED)
        rc = ol_put_record(txn, ol_fold_dbi(ctx, "pshifts"), &k, &s, sizeof s, &service, 1);
    else
        rc = ol_del_key(txn, ol_fold_dbi(ctx, "pshifts"), &k);
    if (rc)
        return rc;
    return 0;
}

int as_apply(ol_fold_ctx *ctx, const ol_event *ev, avro_value_t *old)
{
    const char *t = ev->rec->topic;
    int rc;
    if (!strcmp(t, "delivery.engagement"))
        return apply_engagement(ctx, ev->value, old);
    int (*index)(ol_fold_ctx *, avro_value_t *, int) = !strcmp(t, "delivery.allocation")     ? alloc_index
                                                       : !strcmp(t, "ops.timesheet.missing") ? missing_index
                                                       : !strcmp(t, "hr.leave")              ? leave_index
                                                       : !strcmp(t, "ops.rota")              ? shift_index
                                                                                             : NULL;
    if (!index)
        return 0; /* delivery.risk and ops.forecast.engagement: as_history keeps every version */
    if (old && (rc = index(ctx, old, 0)))
        return rc;
    return index(ctx, ev->value, 1);
}
