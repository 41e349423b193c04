/* fold — keeps margin's indexes as people, engagements, approved time,
 * invoices, expenses and billing lines change (apply) and marks what a
 * change can affect: the engagement-weeks it falls on, the person's invoices
 * overlapping those weeks, every week of a person or an engagement whose
 * rates or billing changed. flush.c recomputes them from the surviving
 * versions. */
#include "margin.h"
#include "ol_av.h"
#include "ol_log.h"

#include <limits.h>
#include <string.h>

int mg_mark_w(ol_fold_ctx *ctx, uint8_t tag, const char *id, ol_week w)
{
    ol_key k;
    ol_key_init(&k);
    ol_key_u8(&k, tag);
    ol_key_str(&k, id);
    ol_key_i32(&k, w);
    return k.overflow ? -1 : ol_fold_mark(ctx, k.b, k.n);
}

int mg_mark_s(ol_fold_ctx *ctx, uint8_t tag, const char *id)
{
    ol_key k;
    ol_key_init(&k);
    ol_key_u8(&k, tag);
    ol_key_str(&k, id);
    return k.overflow ? -1 : ol_fold_mark(ctx, k.b, k.n);
}

static int apply_person(ol_fold_ctx *ctx, avro_value_t *v, int put)
{
    const char *id = ol_av_str(v, "person_id");
    const char *strs[1] = {ol_av_str(v, "currency")};
    struct mg_person p;
    ol_key k;
    if (!put)
        return 0; /* keyed by person_id: overwritten */
    memset(&p, 0, sizeof p);
    p.day_cost = ol_av_long(v, "day_cost_minor", 0);
    p.joined = ol_av_int(v, "joined_on", 0);
    p.left = ol_av_present(v, "left_on") ? ol_av_int(v, "left_on", INT32_MAX) : INT32_MAX;
    p.weekly_capacity = ol_av_int(v, "weekly_capacity_minutes", 0);
    p.working_days = (uint8_t)ol_av_int(v, "working_days", 31);
    p.employment = (uint8_t)ol_av_enum(v, "employment");
    ol_key_init(&k);
    ol_key_str(&k, id);
    int rc = ol_put_record(ol_fold_txn(ctx), ol_fold_dbi(ctx, "persons"), &k, &p, sizeof p, strs, 1);
    return rc ? rc : mg_mark_s(ctx, 'P', id);
}

static int apply_engagement(ol_fold_ctx *ctx, avro_value_t *v, int put)
{
    const char *id = ol_av_str(v, "engagement_id");
    const char *strs[3] = {ol_av_str(v, "currency"), ol_av_str(v, "client"), ol_av_str(v, "name")};
    struct mg_eng e;
    ol_key k;
    if (!put)
        return 0;
    memset(&e, 0, sizeof e);
    e.billing = (uint8_t)ol_av_enum(v, "billing");
    ol_key_init(&k);
    ol_key_str(&k, id);
    int rc = ol_put_record(ol_fold_txn(ctx), ol_fold_dbi(ctx, "engs"), &k, &e, sizeof e, strs, 3);
    return rc ? rc : mg_mark_s(ctx, 'G', id);
}

/* APPROVED entries only: any other status takes the entry out */
static int apply_entry(ol_fold_ctx *ctx, avro_value_t *v, int put)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    const char *person = ol_av_str(v, "person_id"), *entry = ol_av_str(v, "entry_id");
    const char *eng = ol_av_present(v, "engagement_id") ? ol_av_str(v, "engagement_id") : "";
    struct mg_entry e = {ol_av_int(v, "work_date", 0), ol_av_int(v, "minutes", 0)};
    const char *strs[1] = {eng};
    ol_week w = ol_week_of(e.day);
    ol_key k, ek;
    int rc;
    if (ol_av_enum(v, "status") != 1 /* APPROVED */)
        return 0;
    ol_key_init(&k);
    ol_key_str(&k, person);
    ol_key_i32(&k, e.day);
    ol_key_str(&k, entry);
    ol_key_init(&ek);
    ol_key_str(&ek, eng);
    ol_key_i32(&ek, w);
    ol_key_str(&ek, person);
    ol_key_str(&ek, entry);
    if (put) {
        MDB_val ekv = ol_key_val(&ek), ev = {sizeof e, &e};
        if ((rc = ol_put_record(txn, ol_fold_dbi(ctx, "entries"), &k, &e, sizeof e, strs, 1)))
            return rc;
        if (*eng && (rc = ek.overflow ? -1 : ol_put_unless_same(txn, ol_fold_dbi(ctx, "eng_entries"), &ekv, &ev)))
            return rc;
    } else if ((rc = ol_del_key(txn, ol_fold_dbi(ctx, "entries"), &k)) ||
               (*eng && (rc = ol_del_key(txn, ol_fold_dbi(ctx, "eng_entries"), &ek))))
        return rc;
    if (*eng && (rc = mg_mark_w(ctx, 'W', eng, w)))
        return rc;
    return mg_mark_w(ctx, 'I', person, w);
}

static int apply_invoice(ol_fold_ctx *ctx, avro_value_t *v, int put)
{
    const char *person = ol_av_str(v, "person_id"), *id = ol_av_str(v, "invoice_id");
    const char *strs[2] = {ol_av_str(v, "currency"), ol_av_str(v, "supplier")};
    struct mg_invoice inv;
    ol_key k;
    int rc;
    memset(&inv, 0, sizeof inv);
    inv.amount = ol_av_long(v, "amount_minor", 0);
    inv.first = ol_av_int(v, "period_first_day", 0);
    inv.last = ol_av_int(v, "period_last_day", 0);
    inv.minutes = ol_av_int(v, "minutes_invoiced", 0);
    inv.status = (uint8_t)ol_av_enum(v, "status");
    if (inv.last < inv.first) { /* no period to spread over: a dead letter, never a guess */
        ol_error("finance.contractor_invoice period_last_day is before period_first_day|invoice=%s", ol_log_q(id));
        return -1;
    }
    ol_key_init(&k);
    ol_key_str(&k, person);
    ol_key_str(&k, id);
    if (put)
        rc = ol_put_record(ol_fold_txn(ctx), ol_fold_dbi(ctx, "invoices"), &k, &inv, sizeof inv, strs, 2);
    else
        rc = ol_del_key(ol_fold_txn(ctx), ol_fold_dbi(ctx, "invoices"), &k);
    for (ol_week w = ol_week_of(inv.first); !rc && w <= ol_week_of(inv.last); w = ol_week_add(w, 1))
        rc = mg_mark_w(ctx, 'I', person, w);
    return rc;
}

/* eng\0 week key\0 -> int64 amount + currency\0: lines and APPROVED expenses */
static int money_index(ol_fold_ctx *ctx, const char *db, const char *eng, ol_week w, const char *id, int64_t amount,
                       const char *currency, int put)
{
    const char *strs[1] = {currency};
    ol_key k;
    int rc;
    ol_key_init(&k);
    ol_key_str(&k, eng);
    ol_key_i32(&k, w);
    ol_key_str(&k, id);
    if (put)
        rc = ol_put_record(ol_fold_txn(ctx), ol_fold_dbi(ctx, db), &k, &amount, sizeof amount, strs, 1);
    else
        rc = ol_del_key(ol_fold_txn(ctx), ol_fold_dbi(ctx, db), &k);
    return rc ? rc : mg_mark_w(ctx, 'W', eng, w);
}

static int apply_line(ol_fold_ctx *ctx, avro_value_t *v, int put)
{
    ol_week w;
    if (ol_week_parse(ol_av_str(v, "week"), &w))
        return -1; /* validation checked the format: cannot happen */
    return money_index(ctx, "lines", ol_av_str(v, "engagement_id"), w, ol_av_str(v, "key"),
                       ol_av_long(v, "amount_minor", 0), ol_av_str(v, "currency"), put);
}

static int apply_expense(ol_fold_ctx *ctx, avro_value_t *v, int put)
{
    if (ol_av_enum(v, "status") != 1 /* APPROVED */)
        return 0;
    return money_index(ctx, "expenses", ol_av_str(v, "engagement_id"), ol_week_of(ol_av_int(v, "incurred_on", 0)),
                       ol_av_str(v, "expense_id"), ol_av_long(v, "amount_minor", 0), ol_av_str(v, "currency"), put);
}

int mg_apply(ol_fold_ctx *ctx, const ol_event *ev, avro_value_t *old)
{
    const char *t = ev->rec->topic;
    int (*fn)(ol_fold_ctx *, avro_value_t *, int) =
        !strcmp(t, "hr.person")                    ? apply_person
        : !strcmp(t, "delivery.engagement")        ? apply_engagement
        : !strcmp(t, "timesheet.entry")            ? apply_entry
        : !strcmp(t, "finance.contractor_invoice") ? apply_invoice
        : !strcmp(t, "finance.expense")            ? apply_expense
        : !strcmp(t, "finance.billing.line")       ? apply_line
                                                   : NULL;
    int rc;
    if (!fn)
        return 0;
    if (old && (rc = fn(ctx, old, 0)))
        return rc;
    return fn(ctx, ev->value, 1);
}
