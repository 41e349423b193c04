/* forecast — capacity, allocation and utilisation 12 weeks ahead, budgets to
 * completion, and role demand against bench supply (SPEC section 3).
 *
 * Projection databases (keys built with ol_key, see ol_store.h):
 *   people       person\0                    -> struct fc_person + name\0 team\0 role\0
 *   leaves       person\0 leave_id\0         -> struct ol_leave (ol_leave.h)
 *   allocs       person\0 allocation_id\0    -> struct fc_alloc + engagement\0 role\0
 *   open_roles   role\0 allocation_id\0      -> struct fc_alloc + engagement\0 role\0 (person_id null)
 *   eng_allocs   engagement\0 allocation_id\0 -> role\0 person\0 (person "" for an open role)
 *   engs         engagement\0                -> struct fc_eng + currency\0 client\0 name\0
 *   lines        engagement\0 line key\0     -> struct fc_line + currency\0 (finance.billing.line)
 *   team_people  team\0 person\0             -> ""
 *   role_people  role\0 person\0             -> ""   (HR role)
 *   weekly       week(i32) scope(u8) id\0    -> struct fc_row + team\0
 *   demand       week(i32) role\0            -> struct fc_demand + rolling-off person ids, each \0-ended
 *   budget       engagement\0                -> struct fc_budget + currency\0 client\0 name\0
 *   fmeta        name                        -> int32 (the horizon's first week)
 * Dirty keys: 'P' person\0 week | 'T' team\0 week | 'R' role\0 week | 'E' engagement\0. */
#ifndef FORECAST_H
#define FORECAST_H

#include "ol_leave.h"
#include "ol_runtime.h"
#include "ol_time.h"

#include <stdint.h>

#define FC_HORIZON 12  /* weeks, the data week first */
#define FC_ROLLOFF 4   /* weeks a roll-off looks ahead, the row's week first */

enum { SCOPE_PERSON = 0, SCOPE_TEAM = 1, SCOPE_ORG = 2 }; /* the Scope enum's symbol order */
enum { BILL_TM, BILL_FIXED, BILL_NON_BILLABLE, BILL_UNKNOWN = 255 };
enum { ENG_ACTIVE, ENG_CLOSED };
enum { PORTION_FULL, PORTION_AM, PORTION_PM };
enum { ALLOC_PROPOSED, ALLOC_CONFIRMED, ALLOC_CANCELLED };

struct fc_person {
    int32_t joined, left; /* days; left = INT32_MAX while employed */
    int32_t weekly_capacity;
    uint8_t working_days, billable, pad[2];
};

struct fc_alloc {
    int32_t first, last, percent;
    uint8_t status, pad[3];
};

struct fc_eng {
    int64_t budget;
    int32_t starts, ends, minutes_per_day;
    uint8_t billing, status, pad[2];
};

struct fc_line {
    int64_t amount;
    ol_week week;
    int32_t pad;
};

struct fc_row {
    int32_t capacity, available, allocated, proposed, billable, bench;
    int32_t people, over_people; /* billable people summed; of them overallocated */
    int32_t has_bp, bp, over, pad;
};

struct fc_demand {
    int32_t open_minutes, bench_minutes, gap_minutes, rolloffs;
};

struct fc_budget {
    int64_t spent, ftc, eac, budget;
    int32_t as_of, runout, has_runout;    /* weeks */
    int32_t unpriced_minutes;             /* CONFIRMED minutes ahead whose role has no rate */
    int32_t foreign_lines, later_lines;   /* billing lines left out: other currency, after as_of */
    int32_t ends;                         /* ends_on */
    uint8_t status, billing, pad[2];
};

struct fc_state {
    int32_t target_bp;
};

/* fold.c: apply and the dirty marks */
int fc_apply(ol_fold_ctx *ctx, const ol_event *ev, avro_value_t *old);
int fc_mark_pw(ol_fold_ctx *ctx, const char *person, ol_week w);
int fc_mark_rw(ol_fold_ctx *ctx, const char *role, ol_week w);
int fc_mark_str(ol_fold_ctx *ctx, uint8_t tag, const char *id);
ol_week fc_horizon_first(ol_fold_ctx *ctx); /* the week of the data time */

/* flush.c */
int fc_flush(ol_fold_ctx *ctx);

/* figures.c: the rules, from the projection */
int fc_person_load(MDB_txn *txn, MDB_dbi people, const char *person, struct fc_person *p, const char **name,
                   const char **team, const char **role);
int fc_eng_load(MDB_txn *txn, MDB_dbi engs, const char *eng, struct fc_eng *e);
int fc_day_capacity(const struct fc_person *p, int32_t day);
/* the available minutes (capacity - leave) of days [first, first + n) */
int fc_available_days(ol_fold_ctx *ctx, const char *person, const struct fc_person *p, int32_t first, int n,
                      int32_t *avail);
int fc_person_week(ol_fold_ctx *ctx, const char *person, ol_week w, const struct fc_person *p, struct fc_row *row);
void fc_row_finish(struct fc_row *r, int person);
void fc_row_add(struct fc_row *sum, const struct fc_row *r);
int fc_row_get(MDB_txn *txn, MDB_dbi weekly, ol_week w, int scope, const char *id, struct fc_row *row,
               const char **team);
int fc_row_put(MDB_txn *txn, MDB_dbi weekly, ol_week w, int scope, const char *id, const struct fc_row *row,
               const char *team);
int fc_row_del(MDB_txn *txn, MDB_dbi weekly, ol_week w, int scope, const char *id);

/* budget.c: ops.forecast.engagement */
int fc_engagement(ol_fold_ctx *ctx, const char *eng);

/* demand.c: ops.forecast.demand */
int fc_demand(ol_fold_ctx *ctx, const char *role, ol_week w);

/* query.c, report.c */
int fc_query(ol_store *st, int argc, char **argv, const ol_config *cfg);
int fc_report(ol_store *st, int argc, char **argv, const ol_config *cfg);
int fc_report_budgets(ol_store *st, const ol_config *cfg, int argc, char **argv);
int fc_report_demand(ol_store *st, const ol_config *cfg, int argc, char **argv);

#endif
