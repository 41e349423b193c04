/* fold — keeps billing's indexes as entities change and marks exactly the
 * lines, expense lines and invoices each change can affect; flush recomputes
 * them from the surviving versions. */
#include "billing.h"
#include "ol_av.h"

#include <stdio.h>
#include <string.h>

static const MDB_val empty = {0, ""};

int billing_mark_line(ol_fold_ctx *ctx, const char *eng, const char *person, ol_week w)
{
    ol_key k;
    ol_key_init(&k);
    ol_key_u8(&k, 'L');
    ol_key_str(&k, eng);
    ol_key_str(&k, person);
    ol_key_i32(&k, w);
    return ol_fold_mark(ctx, k.b, k.n);
}

static int mark_str(ol_fold_ctx *ctx, uint8_t tag, const char *id)
{
    ol_key k;
    ol_key_init(&k);
    ol_key_u8(&k, tag);
    ol_key_str(&k, id);
    return ol_fold_mark(ctx, k.b, k.n);
}

/* Calls fn for every key of dbi starting with prefix. */
typedef int (*scan_fn)(ol_fold_ctx *ctx, const MDB_val *k, const MDB_val *v, size_t plen, void *arg);
static int scan(ol_fold_ctx *ctx, const char *db, const ol_key *prefix, scan_fn fn, void *arg)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(ol_fold_txn(ctx), ol_fold_dbi(ctx, db), &c);
    if (rc)
        return rc;
    MDB_val k = ol_key_val(prefix), v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size < prefix->n || memcmp(k.mv_data, prefix->b, prefix->n))
            break;
        if ((rc = fn(ctx, &k, &v, prefix->n, arg)))
            break;
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* ep_entries key: eng\0 person\0 week entry\0 -> mark (eng, person, week) */
static int mark_from_ep(ol_fold_ctx *ctx, const MDB_val *k, const MDB_val *v, size_t plen, void *arg)
{
    const char *eng = k->mv_data;
    const char *person = eng + strlen(eng) + 1;
    const uint8_t *wp = (const uint8_t *)person + strlen(person) + 1;
    const int32_t *range = arg; /* optional [first, last] day filter */
    (void)v;
    (void)plen;
    if (range) {
        struct bill_entry e;
        memcpy(&e, v->mv_data, sizeof e);
        if (e.work_date < range[0] || e.work_date > range[1])
            return 0;
    }
    return billing_mark_line(ctx, eng, person, ol_key_get_i32(wp));
}

static int mark_engagement_lines(ol_fold_ctx *ctx, const char *eng, const char *person, const int32_t *range)
{
    ol_key p;
    ol_key_init(&p);
    ol_key_str(&p, eng);
    if (person)
        ol_key_str(&p, person);
    return scan(ctx, "ep_entries", &p, mark_from_ep, (void *)range);
}

/* pe key: person\0 eng\0 */
static int mark_from_pe(ol_fold_ctx *ctx, const MDB_val *k, const MDB_val *v, size_t plen, void *arg)
{
    (void)v;
    (void)arg;
    const char *person = k->mv_data;
    return mark_engagement_lines(ctx, (const char *)k->mv_data + plen, person, NULL);
}

/* invoices key: person\0 invoice\0 -> struct bill_inv; arg: day or NULL (all) */
static int mark_from_inv(ol_fold_ctx *ctx, const MDB_val *k, const MDB_val *v, size_t plen, void *arg)
{
    const int32_t *day = arg;
    struct bill_inv inv;
    memcpy(&inv, v->mv_data, sizeof inv);
    if (day && (*day < inv.first || *day > inv.last))
        return 0;
    return mark_str(ctx, 'R', (const char *)k->mv_data + plen);
}

static int mark_invoices(ol_fold_ctx *ctx, const char *person, const int32_t *day)
{
    ol_key p;
    ol_key_init(&p);
    ol_key_str(&p, person);
    return scan(ctx, "invoices", &p, mark_from_inv, (void *)day);
}

static int entry_index(ol_fold_ctx *ctx, avro_value_t *v, int put)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    const char *person = ol_av_str(v, "person_id"), *eng = ol_av_str(v, "engagement_id"),
               *id = ol_av_str(v, "entry_id");
    struct bill_entry e = {0};
    ol_key k;
    int rc;

    e.work_date = ol_av_int(v, "work_date", 0);
    e.minutes = ol_av_int(v, "minutes", 0);
    e.status = (uint8_t)ol_av_enum(v, "status");
    e.activity = (uint8_t)ol_av_enum(v, "activity");
    ol_week w = ol_week_of(e.work_date);
    MDB_val ev = {sizeof e, &e};

    ol_key_init(&k);
    ol_key_str(&k, person);
    ol_key_i32(&k, e.work_date);
    ol_key_str(&k, id);
    MDB_val kv = ol_key_val(&k);
    if ((rc = put ? mdb_put(txn, ol_fold_dbi(ctx, "pd_entries"), &kv, &ev, 0)
                  : ol_del_key(txn, ol_fold_dbi(ctx, "pd_entries"), &k)))
        return rc;
    if ((rc = mark_invoices(ctx, person, &e.work_date)))
        return rc;
    if (!*eng)
        return 0;
    ol_key_init(&k);
    ol_key_str(&k, eng);
    ol_key_str(&k, person);
    ol_key_i32(&k, w);
    ol_key_str(&k, id);
    kv = ol_key_val(&k);
    if ((rc = put ? mdb_put(txn, ol_fold_dbi(ctx, "ep_entries"), &kv, &ev, 0)
                  : ol_del_key(txn, ol_fold_dbi(ctx, "ep_entries"), &k)))
        return rc;
    if (put) {
        ol_key_init(&k);
        ol_key_str(&k, person);
        ol_key_str(&k, eng);
        kv = ol_key_val(&k);
        if ((rc = mdb_put(txn, ol_fold_dbi(ctx, "pe"), &kv, (MDB_val *)&empty, 0)))
            return rc;
        ol_key_init(&k);
        ol_key_i32(&k, w);
        ol_key_str(&k, eng);
        ol_key_str(&k, person);
        kv = ol_key_val(&k);
        if ((rc = mdb_put(txn, ol_fold_dbi(ctx, "wk_lines"), &kv, (MDB_val *)&empty, 0)))
            return rc;
    }
    return billing_mark_line(ctx, eng, person, w);
}

static int alloc_index(ol_fold_ctx *ctx, avro_value_t *v, int put)
{
    const char *person = ol_av_str(v, "person_id"), *eng = ol_av_str(v, "engagement_id"),
               *role = ol_av_str(v, "role");
    struct bill_alloc a = {0};
    ol_key k;
    int rc;
    if (!*person)
        return 0; /* an open role prices no one */
    a.first = ol_av_int(v, "first_day", 0);
    a.last = ol_av_int(v, "last_day", -1);
    a.status = (uint8_t)ol_av_enum(v, "status");
    ol_key_init(&k);
    ol_key_str(&k, person);
    ol_key_str(&k, eng);
    ol_key_str(&k, ol_av_str(v, "allocation_id"));
    if (put) {
        size_t rl = strlen(role) + 1;
        MDB_val kv = ol_key_val(&k), val = {sizeof a + rl, NULL};
        if ((rc = mdb_put(ol_fold_txn(ctx), ol_fold_dbi(ctx, "allocs"), &kv, &val, MDB_RESERVE)))
            return rc;
        memcpy(val.mv_data, &a, sizeof a);
        memcpy((char *)val.mv_data + sizeof a, role, rl);
    } else if ((rc = ol_del_key(ol_fold_txn(ctx), ol_fold_dbi(ctx, "allocs"), &k)))
        return rc;
    int32_t range[2] = {a.first, a.last};
    return mark_engagement_lines(ctx, eng, person, range);
}

static int expense_index(ol_fold_ctx *ctx, avro_value_t *v, int put)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    const char *eng = ol_av_str(v, "engagement_id"), *id = ol_av_str(v, "expense_id"),
               *cur = ol_av_str(v, "currency");
    struct bill_expense x = {0};
    ol_week w = ol_week_of(ol_av_int(v, "incurred_on", 0));
    ol_key k;
    int rc;
    x.amount = ol_av_long(v, "amount_minor", 0);
    x.status = (uint8_t)ol_av_enum(v, "status");
    x.rechargeable = (uint8_t)ol_av_bool(v, "rechargeable");
    ol_key_init(&k);
    ol_key_i32(&k, w);
    ol_key_str(&k, eng);
    ol_key_str(&k, ol_av_str(v, "supplier"));
    ol_key_str(&k, id);
    if (put) {
        size_t cl = strlen(cur) + 1;
        MDB_val kv = ol_key_val(&k), val = {sizeof x + cl, NULL};
        if ((rc = mdb_put(txn, ol_fold_dbi(ctx, "expenses"), &kv, &val, MDB_RESERVE)))
            return rc;
        memcpy(val.mv_data, &x, sizeof x);
        memcpy((char *)val.mv_data + sizeof x, cur, cl);
    } else if ((rc = ol_del_key(txn, ol_fold_dbi(ctx, "expenses"), &k)))
        return rc;
    ol_key_init(&k);
    ol_key_str(&k, eng);
    ol_key_str(&k, id);
    if (put) {
        ol_key wk;
        ol_key_init(&wk);
        ol_key_i32(&wk, w);
        MDB_val kv = ol_key_val(&k), val = ol_key_val(&wk);
        if ((rc = mdb_put(txn, ol_fold_dbi(ctx, "exp_by_eng"), &kv, &val, 0)))
            return rc;
    } else if ((rc = ol_del_key(txn, ol_fold_dbi(ctx, "exp_by_eng"), &k)))
        return rc;
    return mark_str(ctx, 'X', id);
}

static int invoice_index(ol_fold_ctx *ctx, avro_value_t *v, int put)
{
    const char *person = ol_av_str(v, "person_id");
    struct bill_inv inv = {0};
    ol_key k;
    int rc;
    inv.first = ol_av_int(v, "period_first_day", 0);
    inv.last = ol_av_int(v, "period_last_day", -1);
    inv.status = (uint8_t)ol_av_enum(v, "status");
    ol_key_init(&k);
    ol_key_str(&k, person);
    ol_key_str(&k, ol_av_str(v, "invoice_id"));
    if (put) {
        MDB_val kv = ol_key_val(&k), val = {sizeof inv, &inv};
        if ((rc = mdb_put(ol_fold_txn(ctx), ol_fold_dbi(ctx, "invoices"), &kv, &val, 0)))
            return rc;
    } else if ((rc = ol_del_key(ol_fold_txn(ctx), ol_fold_dbi(ctx, "invoices"), &k)))
        return rc;
    /* every invoice of the person: overlaps may have appeared or gone */
    if ((rc = mark_invoices(ctx, person, NULL)))
        return rc;
    return mark_str(ctx, 'R', ol_av_str(v, "invoice_id"));
}

/* wk_lines key: week eng\0 person\0 */
static int mark_from_week(ol_fold_ctx *ctx, const MDB_val *k, const MDB_val *v, size_t plen, void *arg)
{
    (void)v;
    (void)arg;
    const char *eng = (const char *)k->mv_data + plen;
    const char *person = eng + strlen(eng) + 1;
    return billing_mark_line(ctx, eng, person, ol_key_get_i32(k->mv_data));
}

/* expenses key: week eng\0 supplier\0 expense\0 */
static int mark_from_expense(ol_fold_ctx *ctx, const MDB_val *k, const MDB_val *v, size_t plen, void *arg)
{
    (void)v;
    (void)arg;
    const char *eng = (const char *)k->mv_data + plen;
    const char *supplier = eng + strlen(eng) + 1;
    return mark_str(ctx, 'X', supplier + strlen(supplier) + 1);
}

/* exp_by_eng key: eng\0 expense\0 */
static int mark_from_exp_by_eng(ol_fold_ctx *ctx, const MDB_val *k, const MDB_val *v, size_t plen, void *arg)
{
    (void)v;
    (void)arg;
    return mark_str(ctx, 'X', (const char *)k->mv_data + plen);
}

int billing_apply(ol_fold_ctx *ctx, const ol_event *ev, avro_value_t *old)
{
    const char *t = ev->rec->topic;
    avro_value_t *v = ev->value;
    int rc = 0;
    ol_key p;

    if (!strcmp(t, "timesheet.entry")) {
        if (old && (rc = entry_index(ctx, old, 0)))
            return rc;
        return entry_index(ctx, v, 1);
    }
    if (!strcmp(t, "delivery.allocation")) {
        if (old && (rc = alloc_index(ctx, old, 0)))
            return rc;
        return alloc_index(ctx, v, 1);
    }
    if (!strcmp(t, "finance.expense")) {
        if (old && (rc = expense_index(ctx, old, 0)))
            return rc;
        return expense_index(ctx, v, 1);
    }
    if (!strcmp(t, "finance.contractor_invoice")) {
        if (old && (rc = invoice_index(ctx, old, 0)))
            return rc;
        return invoice_index(ctx, v, 1);
    }
    if (!strcmp(t, "delivery.engagement")) {
        /* rates, billing, bill_to or minutes_per_day may have changed */
        const char *eng = ol_av_str(v, "engagement_id");
        if ((rc = mark_engagement_lines(ctx, eng, NULL, NULL)))
            return rc;
        ol_key_init(&p);
        ol_key_str(&p, eng);
        return scan(ctx, "exp_by_eng", &p, mark_from_exp_by_eng, NULL);
    }
    if (!strcmp(t, "hr.person")) {
        const char *person = ol_av_str(v, "person_id");
        ol_key_init(&p);
        ol_key_str(&p, person);
        if ((rc = scan(ctx, "pe", &p, mark_from_pe, NULL)))
            return rc;
        return mark_invoices(ctx, person, NULL);
    }
    if (!strcmp(t, "finance.period")) {
        ol_week w;
        if (ol_week_parse(ol_av_str(v, "iso_week"), &w))
            return 0; /* validation guarantees the format */
        ol_key_init(&p);
        ol_key_i32(&p, w);
        if ((rc = scan(ctx, "wk_lines", &p, mark_from_week, NULL)))
            return rc;
        return scan(ctx, "expenses", &p, mark_from_expense, NULL);
    }
    return 0;
}

int billing_flush(ol_fold_ctx *ctx)
{
    const MDB_val *keys;
    size_t n = ol_fold_dirty(ctx, &keys);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        const uint8_t *k = keys[i].mv_data;
        const char *s = (const char *)k + 1;
        switch (k[0]) {
        case 'L': {
            const char *person = s + strlen(s) + 1;
            rc = billing_time_line(ctx, s, person, ol_key_get_i32(k + keys[i].mv_size - 4));
            break;
        }
        case 'X': rc = billing_expense_line(ctx, s); break;
        case 'R': rc = billing_reconcile(ctx, s); break;
        }
    }
    return rc;
}
