/* billing — billing lines that finance invoices from, rechargeable expense
 * lines, and contractor invoice reconciliation (SPEC section 3).
 *
 * Projection databases:
 *   ep_entries  engagement\0 person\0 week(i32) entry\0 -> struct bill_entry
 *               (every entry once: one without an engagement under "";
 *               reconciliation reads a person's through pe, layout.c)
 *   pe          person\0 engagement\0                   -> ""
 *   wk_lines    week(i32) engagement\0 person\0         -> ""
 *   allocs      person\0 engagement\0 allocation\0      -> struct bill_alloc + role\0
 *   expenses    week(i32) engagement\0 supplier\0 expense\0 -> struct bill_expense + currency\0
 *   exp_by_eng  engagement\0 expense\0                  -> week(i32)
 *   invoices    person\0 invoice\0                      -> struct bill_inv
 *   lines       week(i32) engagement\0 person-or-expense\0 -> struct bill_line + strings
 *   recon       invoice\0                               -> struct bill_recon + strings
 *   changed_at  'E' engagement\0 | 'P' person\0 | 'X' expense\0
 *               -> int64 occurred_at of the version that last changed what a
 *               line reads from that input (post_close, README.md);
 *               'R' engagement\0 role\0 -> {int64 at, i32 first, last}...:
 *               every range of days whose rate for role a version changed
 * Dirty keys: 'L' engagement\0 person\0 week | 'X' expense\0 | 'R' invoice\0.
 * Input entities themselves (engagement rate cards, people, periods) are read
 * with ol_fold_lookup from the runtime's entity store. */
#ifndef BILLING_H
#define BILLING_H

#include "ol_runtime.h"
#include "ol_time.h"

#include <stdint.h>

enum { ENTRY_SUBMITTED, ENTRY_APPROVED, ENTRY_REJECTED, ENTRY_DELETED };
enum { ACT_DELIVERY = 0 };
enum { BILLING_TM, BILLING_FIXED, BILLING_NON_BILLABLE };
enum { ALLOC_PROPOSED, ALLOC_CONFIRMED, ALLOC_CANCELLED };
enum { EXP_SUBMITTED, EXP_APPROVED, EXP_REJECTED };
enum { INV_RECEIVED, INV_WITHDRAWN };
enum { PERIOD_OPEN, PERIOD_CLOSED };
enum { KIND_TIME, KIND_EXPENSE };
enum { REC_MATCHED, REC_OVER, REC_UNDER, REC_RATE_MISMATCH, REC_OVERLAPPING, REC_NO_TIMESHEETS, REC_WITHDRAWN };

/* at (entries, allocations): the occurred_at of the version that last
 * changed a field a billing line reads (post_close is at > the close) */
struct bill_entry {
    int64_t at;
    int32_t work_date, minutes;
    uint8_t status, activity, pad[6];
};

struct bill_alloc {
    int64_t at;
    int32_t first, last;
    uint8_t status, pad[7];
};

struct bill_expense {
    int64_t amount;
    uint8_t status, rechargeable, pad[6];
};

struct bill_inv {
    int32_t first, last;
    uint8_t status, pad[3];
};

/* a line as stored for queries: strings follow: currency, bill_to, client, role, person-or-expense */
struct bill_line {
    int64_t amount, day_rate;
    int32_t approved, pending, unpriced, minutes_per_day;
    uint8_t kind, has_rate, priced, post_close, closed, pad[3];
};

struct bill_recon {
    int64_t expected, invoiced;
    int32_t logged, minutes_invoiced, first, last;
    uint8_t status, pad[7];
};

struct bill_state {
    int32_t tol_minutes;
    int64_t tol_minor;
};

/* fold.c */
int billing_apply(ol_fold_ctx *ctx, const ol_event *ev, avro_value_t *old);
int billing_flush(ol_fold_ctx *ctx);
int billing_mark_line(ol_fold_ctx *ctx, const char *eng, const char *person, ol_week w);
/* changed_at of tag + strings (NULL-terminated); raises *max to it when
 * present; 0 or an LMDB error */
int billing_changed_at_max(ol_fold_ctx *ctx, uint8_t tag, const char *a, const char *b, int64_t *max);
/* role's rate changes on eng (struct rate_change[], pointing into the store
 * until its next write; empty when there are none): 0 or an LMDB error */
int billing_rate_changes(ol_fold_ctx *ctx, const char *eng, const char *role, MDB_val *changes);
/* raises *max to the at of every one of those changes covering day */
void billing_rate_changes_max(const MDB_val *changes, int32_t day, int64_t *max);

/* lines.c */
int billing_time_line(ol_fold_ctx *ctx, const char *eng, const char *person, ol_week w);
int billing_expense_line(ol_fold_ctx *ctx, const char *expense_id);

/* layout.c */
/* ep_entries key of an entry: engagement (may be empty), person, its week, id */
void billing_entry_key(ol_key *k, const char *eng, const char *person, int32_t work_date, const char *id);
/* Calls fn for every engagement pe lists for person (pc: a cursor on pe),
 * until fn returns non-zero (returned). 0, MDB_CORRUPTED, an LMDB error, or
 * -1 when person is too long for a key. */
int billing_each_engagement(MDB_cursor *pc, const char *person, int (*fn)(const char *eng, void *arg), void *arg);
/* A directory from before ep_entries held every entry (a second index,
 * pd_entries, keyed by person and day): its entries without an engagement
 * move into ep_entries and pd_entries is dropped, in one transaction. 0, or
 * -1 logged. */
int billing_layout_upgrade(ol_runtime *rt);

/* recon.c */
int billing_reconcile(ol_fold_ctx *ctx, const char *invoice_id);

/* query.c */
int billing_query(ol_store *st, int argc, char **argv, const ol_config *cfg);
int billing_report(ol_store *st, int argc, char **argv, const ol_config *cfg);

#endif
