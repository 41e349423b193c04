/* threeway — one contractor or partner invoice matched three ways (SPEC
 * section 3 "Margin"): minutes logged (APPROVED, any activity, inside the
 * period), invoiced by the supplier, billed to clients (on
 * TIME_AND_MATERIALS engagements), each difference in minutes and in money
 * at the invoice's rate; stored in `rows` and emitted on
 * finance.margin.weekly under CONTRACTOR|person|invoice. */
#include "margin.h"
#include "ol_av.h"
#include "ol_rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int emit_three(ol_fold_ctx *ctx, const char *person, const char *invoice, const struct mg_three *t,
                      const char *code, const char *supplier)
{
    char key[600];
    avro_value_t *v;
    snprintf(key, sizeof key, "CONTRACTOR|%s|%s", person, invoice);
    if (!(v = ol_fold_new_derived(ctx, "finance.margin.weekly")))
        return -1;
    if (mg_null_fields(v, mg_engagement_fields) || ol_av_set_enum(v, "kind", MG_KIND_CONTRACTOR) ||
        ol_av_set_str(v, "currency", code) || ol_av_set_long(v, "revenue_minor", 0) ||
        ol_av_set_long(v, "employee_cost_minor", 0) || ol_av_set_long(v, "contractor_cost_minor", 0) ||
        ol_av_set_long(v, "partner_cost_minor", 0) || ol_av_set_long(v, "expense_cost_minor", 0) ||
        ol_av_set_long(v, "cost_minor", 0) || ol_av_set_long(v, "margin_minor", 0) ||
        ol_av_set_long(v, "delta_margin_minor", 0) || ol_av_set_int(v, "employee_minutes", 0) ||
        ol_av_set_int(v, "contractor_minutes", 0) || ol_av_set_int(v, "uninvoiced_minutes", 0) ||
        ol_av_set_int(v, "uncosted_minutes", 0) ||
        ol_av_set_opt_str(v, "person_id", person) || ol_av_set_opt_str(v, "invoice_id", invoice) ||
        ol_av_set_opt_str(v, "supplier", supplier) || ol_av_set_opt_int(v, "period_first_day", 1, t->first) ||
        ol_av_set_opt_int(v, "period_last_day", 1, t->last) ||
        ol_av_set_opt_long(v, "invoice_amount_minor", 1, t->amount) ||
        ol_av_set_opt_int(v, "minutes_logged", 1, t->logged) ||
        ol_av_set_opt_int(v, "minutes_invoiced", 1, t->invoiced) ||
        ol_av_set_opt_int(v, "minutes_billed", 1, t->billed) ||
        ol_av_set_opt_int(v, "invoiced_minus_logged_minutes", 1, t->invoiced - t->logged) ||
        ol_av_set_opt_int(v, "billed_minus_logged_minutes", 1, t->billed - t->logged) ||
        ol_av_set_opt_long(v, "invoiced_minus_logged_minor", t->has_money, t->invoiced_minus_logged_minor) ||
        ol_av_set_opt_long(v, "billed_minus_logged_minor", t->has_money, t->billed_minus_logged_minor))
        return -1;
    /* invoice_status is a nullable enum: branch 1 is the enum */
    avro_value_t f, b;
    if (avro_value_get_by_name(v, "invoice_status", &f, NULL) || avro_value_set_branch(&f, 1, &b) ||
        avro_value_set_enum(&b, t->status))
        return -1;
    return ol_fold_emit(ctx, "finance.margin.weekly", key, v) < 0 ? -1 : 0;
}

int mg_invoice(ol_fold_ctx *ctx, const char *person, const char *invoice, ol_weekset *ws)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    struct mg_invoice inv;
    struct mg_three t;
    struct shares s;
    const char *strs[2];
    ol_key k, rk;
    int rc;
    ol_key_init(&k);
    ol_key_str(&k, person);
    ol_key_str(&k, invoice);
    rk = k;
    ol_key_init(&rk);
    ol_key_u8(&rk, 'C');
    ol_key_str(&rk, person);
    ol_key_str(&rk, invoice);
    MDB_val kv = ol_key_val(&k), v;
    if ((rc = mdb_get(txn, ol_fold_dbi(ctx, "invoices"), &kv, &v)) == MDB_NOTFOUND)
        return ol_del_key(txn, ol_fold_dbi(ctx, "rows"), &rk); /* moved to another person: its row goes */
    if (rc)
        return rc;
    memcpy(&inv, v.mv_data, sizeof inv);
    char code[16], supplier[130];
    snprintf(code, sizeof code, "%s", (const char *)v.mv_data + sizeof inv);
    snprintf(supplier, sizeof supplier, "%s", (const char *)v.mv_data + sizeof inv + strlen(code) + 1);
    if ((rc = mg_invoice_shares(txn, ol_fold_dbi(ctx, "entries"), person, inv.first, inv.last, inv.amount, &s)))
        return rc;
    memset(&t, 0, sizeof t);
    t.amount = inv.amount;
    t.first = inv.first;
    t.last = inv.last;
    t.invoiced = inv.minutes;
    t.status = inv.status;
    t.logged = (int32_t)s.total;
    for (size_t i = 0; i < s.n && !rc; i++) {
        struct mg_eng e;
        const char *ec;
        if (!*s.v[i].eng)
            continue;
        if ((rc = mg_eng_load(txn, ol_fold_dbi(ctx, "engs"), s.v[i].eng, &e, &ec)))
            break;
        if (e.billing == MG_TM)
            t.billed += (int32_t)s.v[i].minutes;
        rc = ol_weekset_add(ws, s.v[i].eng, s.v[i].week);
    }
    free(s.v);
    if (rc)
        return rc;
    if (inv.minutes > 0) {
        t.has_money = 1;
        t.invoiced_minus_logged_minor = ol_round_div((__int128)inv.amount * (t.invoiced - t.logged), inv.minutes);
        t.billed_minus_logged_minor = ol_round_div((__int128)inv.amount * (t.billed - t.logged), inv.minutes);
    }
    strs[0] = code;
    strs[1] = supplier;
    if ((rc = ol_put_record(txn, ol_fold_dbi(ctx, "rows"), &rk, &t, sizeof t, strs, 2)))
        return rc;
    return emit_three(ctx, person, invoice, &t, code, supplier);
}
