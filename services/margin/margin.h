/* margin — revenue, cost and margin per engagement-week and currency, and
 * every contractor or partner invoice matched three ways (logged, invoiced,
 * billed): finance.margin.weekly (SPEC section 3 "Margin", issue 20).
 *
 * Projection databases (keys built with ol_key, see ol_store.h):
 *   persons      person\0                              -> struct mg_person + currency\0
 *   engs         engagement\0                          -> struct mg_eng + currency\0 client\0 name\0
 *   entries      person\0 day(i32) entry_id\0          -> struct mg_entry + engagement\0 ("" internal)
 *                (APPROVED timesheet entries only)
 *   eng_entries  engagement\0 week(i32) person\0 entry_id\0 -> struct mg_entry
 *   lines        engagement\0 week(i32) line key\0     -> int64 amount + currency\0 (finance.billing.line)
 *   invoices     person\0 invoice_id\0                 -> struct mg_invoice + currency\0 supplier\0
 *   expenses     engagement\0 week(i32) expense_id\0   -> int64 amount + currency\0 (APPROVED only)
 *   rows         'E' engagement\0 week(i32) currency\0 -> struct mg_row
 *                'C' person\0 invoice_id\0             -> struct mg_three + currency\0 supplier\0
 * Dirty keys: 'W' engagement\0 week | 'I' person\0 week (the person's invoices
 * overlapping the week) | 'P' person\0 (everything of the person) |
 * 'G' engagement\0 (every week of the engagement). */
#ifndef MARGIN_H
#define MARGIN_H

#include "ol_runtime.h"
#include "ol_time.h"
#include "ol_weekset.h"

#include <stdint.h>

enum { MG_EMPLOYEE = 0, MG_CONTRACTOR = 1, MG_PARTNER = 2 };       /* Employment */
enum { MG_TM = 0, MG_FIXED = 1, MG_NON_BILLABLE = 2, MG_UNSEEN = 255 }; /* Billing */
enum { MG_RECEIVED = 0, MG_WITHDRAWN = 1 };                         /* InvoiceStatus */
enum { MG_KIND_ENGAGEMENT = 0, MG_KIND_CONTRACTOR = 1 };            /* MarginKind */

struct mg_person {
    int64_t day_cost;
    int32_t joined, left, weekly_capacity;
    uint8_t working_days, employment, pad[2];
};

struct mg_eng {
    uint8_t billing, pad[3];
};

struct mg_entry {
    int32_t day, minutes;
};

struct mg_invoice {
    int64_t amount;
    int32_t first, last, minutes;
    uint8_t status, pad[3];
};

struct mg_row {
    int64_t revenue, employee_cost, contractor_cost, partner_cost, expense_cost, cost, margin;
    int64_t has_bp, margin_bp;
    int32_t employee_minutes, contractor_minutes, uninvoiced_minutes, uncosted_minutes;
};

struct mg_three {
    int64_t amount, invoiced_minus_logged_minor, billed_minus_logged_minor;
    int32_t first, last, logged, invoiced, billed, has_money;
    uint8_t status, pad[7];
};

/* fold.c */
int mg_apply(ol_fold_ctx *ctx, const ol_event *ev, avro_value_t *old);
int mg_mark_w(ol_fold_ctx *ctx, uint8_t tag, const char *id, ol_week w); /* 'W' or 'I' */
int mg_mark_s(ol_fold_ctx *ctx, uint8_t tag, const char *id);            /* 'P' or 'G' */

/* one invoice's shares: the APPROVED minutes the person logged in its period
 * by engagement-week (internal time under engagement "") */
struct share {
    char eng[130];
    ol_week week;
    int64_t minutes, amount;
};

struct shares {
    struct share *v; /* owned by the caller: free(s->v) */
    size_t n;
    int64_t total; /* minutes */
};

/* figures.c: the rules */
/* The APPROVED minutes person logged in [first, last] by engagement-week,
 * sorted by week then engagement; each gets amount x minutes / total rounded
 * half away from zero, the last the remainder, so the shares sum to the
 * amount exactly. 0 or an LMDB error / -1; the caller frees s->v. */
int mg_invoice_shares(MDB_txn *txn, MDB_dbi entries, const char *person, int32_t first, int32_t last, int64_t amount,
                      struct shares *s);
/* sets the named nullable fields of a derived value to null (the fields of
 * the other kind of row); 0 or -1 */
int mg_null_fields(avro_value_t *v, const char *const *names);
extern const char *const mg_contractor_fields[], *const mg_engagement_fields[];
int mg_person_load(MDB_txn *txn, MDB_dbi dbi, const char *person, struct mg_person *p, const char **currency);
/* billing (MG_UNSEEN when not seen) and currency ("" when not seen) */
int mg_eng_load(MDB_txn *txn, MDB_dbi dbi, const char *eng, struct mg_eng *e, const char **currency);
/* one engagement-week: every currency's row, stored and emitted when changed */
int mg_engagement_week(ol_fold_ctx *ctx, const char *eng, ol_week w);
/* threeway.c: one invoice's three-way match, stored and emitted; adds the
 * engagement-weeks its shares fall on to ws */
int mg_invoice(ol_fold_ctx *ctx, const char *person, const char *invoice, ol_weekset *ws);

/* flush.c */
int mg_flush(ol_fold_ctx *ctx);

/* report.c */
int mg_report(ol_store *st, int argc, char **argv, const ol_config *cfg);

#endif
