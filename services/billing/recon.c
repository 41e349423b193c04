/* recon — contractor invoice reconciliation: for each invoice, the approved
 * minutes the person logged inside its period and their cost at
 * day_cost_minor, compared within tolerances (billing.recon_tolerance_minutes,
 * default 0; billing.recon_tolerance_minor, default 1).
 *
 * Cost of minutes: minutes x day_cost_minor x working days / weekly capacity
 * (a day is the person's weekly capacity over their working days), rounded
 * half away from zero, in 128-bit arithmetic.
 * Status, first that applies: WITHDRAWN; OVERLAPPING (another RECEIVED
 * invoice of the person covers one of the same days); NO_TIMESHEETS (no
 * approved minutes in the period); OVER_INVOICED / UNDER_INVOICED (minutes
 * outside tolerance); RATE_MISMATCH (minutes agree, amount outside tolerance,
 * or the invoice's currency is not the person's); MATCHED. */
#include "billing.h"
#include "ol_rules.h"
#include "ol_av.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* adds the APPROVED minutes of person's entries under eng (c: ep_entries)
 * worked in [first, last] to *sum */
static int logged_under(MDB_cursor *c, const char *eng, const char *person, int32_t first, int32_t last,
                        int64_t *sum)
{
    ol_key p;
    ol_week wl = ol_week_of(last);
    int rc;
    billing_entry_key(&p, eng, person, first, "");
    if (p.overflow)
        return -1;
    size_t plen = p.n - 5; /* eng\0 person\0, before the week and the empty id */
    MDB_val k = {plen + 4, p.b}, v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size < plen + 4 || memcmp(k.mv_data, p.b, plen))
            break;
        if (ol_key_get_i32((const uint8_t *)k.mv_data + plen) > wl)
            break;
        struct bill_entry e;
        if (v.mv_size < sizeof e)
            return MDB_CORRUPTED;
        memcpy(&e, v.mv_data, sizeof e);
        if (e.status == ENTRY_APPROVED && e.work_date >= first && e.work_date <= last)
            *sum += e.minutes;
    }
    return rc == MDB_NOTFOUND ? 0 : rc;
}

struct logged {
    MDB_cursor *c; /* on ep_entries */
    const char *person;
    int32_t first, last;
    int64_t sum;
};

static int logged_under_eng(const char *eng, void *arg)
{
    struct logged *l = arg;
    return logged_under(l->c, eng, l->person, l->first, l->last, &l->sum);
}

/* the APPROVED minutes person logged in [first, last], any activity and
 * engagement: under every engagement pe names for the person (it gains one
 * with the first entry there and never loses it) and under "" (none) */
static int logged_minutes(ol_fold_ctx *ctx, const char *person, int32_t first, int32_t last, int32_t *out)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    MDB_cursor *pc = NULL;
    struct logged l = {NULL, person, first, last, 0};
    int rc;
    *out = 0;
    if ((rc = mdb_cursor_open(txn, ol_fold_dbi(ctx, "ep_entries"), &l.c)) ||
        (rc = mdb_cursor_open(txn, ol_fold_dbi(ctx, "pe"), &pc)) ||
        (rc = logged_under(l.c, "", person, first, last, &l.sum)) ||
        (rc = billing_each_engagement(pc, person, logged_under_eng, &l)))
        goto out;
    *out = l.sum > INT32_MAX ? INT32_MAX : (int32_t)l.sum;
out:
    if (pc)
        mdb_cursor_close(pc);
    if (l.c)
        mdb_cursor_close(l.c);
    return rc;
}

int billing_reconcile(ol_fold_ctx *ctx, const char *invoice_id)
{
    struct bill_state *st = ol_fold_state(ctx);
    avro_value_t *inv, *person, *prev, *v;
    char person_id[256], supplier[256], currency[16];
    struct bill_recon r;
    int rc;

    memset(&r, 0, sizeof r);
    if ((rc = ol_fold_lookup(ctx, "finance.contractor_invoice", invoice_id, &inv)) <= 0)
        return rc;
    snprintf(person_id, sizeof person_id, "%s", ol_av_str(inv, "person_id"));
    snprintf(supplier, sizeof supplier, "%s", ol_av_str(inv, "supplier"));
    snprintf(currency, sizeof currency, "%s", ol_av_str(inv, "currency"));
    r.first = ol_av_int(inv, "period_first_day", 0);
    r.last = ol_av_int(inv, "period_last_day", -1);
    r.minutes_invoiced = ol_av_int(inv, "minutes_invoiced", 0);
    r.invoiced = ol_av_long(inv, "amount_minor", 0);
    int withdrawn = ol_av_enum(inv, "status") == INV_WITHDRAWN;

    if ((rc = logged_minutes(ctx, person_id, r.first, r.last, &r.logged)))
        return rc;
    int rate_ok = 1;
    if ((rc = ol_fold_lookup(ctx, "hr.person", person_id, &person)) < 0)
        return -1;
    if (rc == 1) {
        int32_t cap = ol_av_int(person, "weekly_capacity_minutes", 0);
        int nwd = ol_working_day_count((unsigned)ol_av_int(person, "working_days", 31));
        int64_t day_cost = ol_av_long(person, "day_cost_minor", 0);
        if (cap > 0 && nwd > 0)
            r.expected = ol_round_div((__int128)r.logged * day_cost * nwd, cap);
        rate_ok = strcmp(ol_av_str(person, "currency"), currency) == 0;
    } else {
        rate_ok = 0; /* no person yet: nothing to price against */
    }

    /* other RECEIVED invoices of the person covering a day of this one */
    char **overlaps = NULL;
    size_t nover = 0;
    if (!withdrawn) {
        MDB_cursor *c;
        ol_key p;
        ol_key_init(&p);
        ol_key_str(&p, person_id);
        if ((rc = mdb_cursor_open(ol_fold_txn(ctx), ol_fold_dbi(ctx, "invoices"), &c)))
            return rc;
        MDB_val k = ol_key_val(&p), iv;
        for (rc = mdb_cursor_get(c, &k, &iv, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &iv, MDB_NEXT)) {
            if (k.mv_size < p.n || memcmp(k.mv_data, p.b, p.n))
                break;
            const char *other = (const char *)k.mv_data + p.n;
            struct bill_inv o;
            memcpy(&o, iv.mv_data, sizeof o);
            if (!strcmp(other, invoice_id) || o.status != INV_RECEIVED || o.last < r.first || o.first > r.last)
                continue;
            char **n = realloc(overlaps, (nover + 1) * sizeof *n);
            if (n)
                overlaps = n;
            if (!n || !(overlaps[nover] = strdup(other))) {
                mdb_cursor_close(c);
                rc = -1;
                goto out;
            }
            nover++;
        }
        mdb_cursor_close(c);
        if (rc && rc != MDB_NOTFOUND)
            goto out;
        rc = 0;
    }

    int32_t dmin = r.minutes_invoiced - r.logged;
    int64_t damt = ol_money_sub(r.invoiced, r.expected);
    if (withdrawn)
        r.status = REC_WITHDRAWN;
    else if (nover)
        r.status = REC_OVERLAPPING;
    else if (r.logged == 0)
        r.status = REC_NO_TIMESHEETS;
    else if (dmin > st->tol_minutes)
        r.status = REC_OVER;
    else if (-dmin > st->tol_minutes)
        r.status = REC_UNDER;
    else if (!rate_ok || damt > st->tol_minor || damt < -st->tol_minor)
        r.status = REC_RATE_MISMATCH;
    else
        r.status = REC_MATCHED;

    int has = ol_fold_derived_prev(ctx, "finance.contractor.reconciliation", invoice_id, &prev);
    if (has < 0) {
        rc = -1;
        goto out;
    }
    int64_t delta = ol_money_sub(damt, has ? ol_money_sub(ol_av_long(prev, "amount_invoiced_minor", 0),
                                                          ol_av_long(prev, "amount_expected_minor", 0))
                                           : 0);
    rc = -1;
    if (!(v = ol_fold_new_derived(ctx, "finance.contractor.reconciliation")))
        goto out;
    avro_value_t arr;
    if (ol_av_set_str(v, "invoice_id", invoice_id) || ol_av_set_str(v, "person_id", person_id) ||
        ol_av_set_str(v, "supplier", supplier) || ol_av_set_int(v, "period_first_day", r.first) ||
        ol_av_set_int(v, "period_last_day", r.last) || ol_av_set_int(v, "minutes_logged", r.logged) ||
        ol_av_set_int(v, "minutes_invoiced", r.minutes_invoiced) ||
        ol_av_set_long(v, "amount_expected_minor", r.expected) ||
        ol_av_set_long(v, "amount_invoiced_minor", r.invoiced) || ol_av_set_str(v, "currency", currency) ||
        ol_av_set_enum(v, "status", r.status) || ol_av_set_long(v, "delta_minor", delta) ||
        avro_value_get_by_name(v, "overlapping_invoice_ids", &arr, NULL))
        goto out;
    for (size_t i = 0; i < nover; i++) {
        avro_value_t item;
        if (avro_value_append(&arr, &item, NULL) || avro_value_set_string(&item, overlaps[i]))
            goto out;
    }
    if ((rc = ol_fold_emit(ctx, "finance.contractor.reconciliation", invoice_id, v)) < 0)
        goto out;
    /* stored for `report contractors`: struct, then person\0 supplier\0 currency\0 */
    {
        ol_key k;
        ol_key_init(&k);
        ol_key_str(&k, invoice_id);
        size_t pl = strlen(person_id) + 1, sl = strlen(supplier) + 1, cl = strlen(currency) + 1;
        MDB_val kv = ol_key_val(&k), val = {sizeof r + pl + sl + cl, NULL};
        if ((rc = mdb_put(ol_fold_txn(ctx), ol_fold_dbi(ctx, "recon"), &kv, &val, MDB_RESERVE)))
            goto out;
        char *p = val.mv_data;
        memcpy(p, &r, sizeof r);
        memcpy(p + sizeof r, person_id, pl);
        memcpy(p + sizeof r + pl, supplier, sl);
        memcpy(p + sizeof r + pl + sl, currency, cl);
    }
    rc = 0;
out:
    for (size_t i = 0; i < nover; i++)
        free(overlaps[i]);
    free(overlaps);
    return rc;
}
