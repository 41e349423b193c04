/* people — headcount, retention and delivery-manager supply against demand
 * (SPEC section 3 "Headcount and retention", issue 20): ops.headcount.weekly.
 *
 * Projection databases (keys built with ol_key, see ol_store.h):
 *   persons  person\0               -> struct hc_person + team\0 role\0
 *   leaves   person\0 leave_id\0    -> struct ol_leave (ol_leave.h)
 *   allocs   allocation_id\0        -> struct hc_alloc + role\0
 *   rows     scope(u8) id\0 week(i32) -> struct hc_row
 *   hmeta    name                    -> int32 ("data_week": the week the rows were computed for)
 * Every change marks the one dirty key "A": flush recomputes every row from
 * the surviving versions (a few hundred people over two years of weeks is
 * milliseconds), stores what changed and emits it. */
#ifndef PEOPLE_H
#define PEOPLE_H

#include "ol_leave.h"
#include "ol_runtime.h"
#include "ol_time.h"

#include <stdint.h>

#define HC_WINDOW 52  /* weeks of the trailing window, the row's week last */
#define HC_HORIZON 12 /* forecast weeks of the delivery-manager rows, the data week first */

enum { HC_ROLE = 0, HC_TEAM = 1, HC_ORG = 2, HC_EMPLOYMENT = 3 }; /* HeadcountScope symbol order */
enum { EMP_EMPLOYEE = 0, EMP_CONTRACTOR = 1, EMP_PARTNER = 2 };  /* Employment symbol order */
enum { ALLOC_PROPOSED = 0, ALLOC_CONFIRMED = 1, ALLOC_CANCELLED = 2 };

struct hc_person {
    int32_t joined, left; /* days; left = INT32_MAX while employed */
    int32_t weekly_capacity;
    uint8_t working_days, employment, pad[2];
};

struct hc_alloc {
    int32_t first, last, percent;
    uint8_t status, open, pad[2]; /* open: person_id null */
};

/* one row; has_* = 0 is the schema's null */
struct hc_row {
    int32_t headcount, fte_bp, joiners, leavers, window_leavers, avg_x100;
    int32_t has_attrition, attrition_bp, has_tenure, tenure_days;
    int32_t has_dm, dm_supply_bp, dm_demand_bp, has_ratio, ratio_bp, ahead;
};

struct hc_state {
    int32_t standard_week;  /* minutes of one FTE (default 2250) */
    int32_t ceiling_bp;     /* "ahead of demand" upper bound (default 11500) */
    char dm_role[128];      /* default DELIVERY_MANAGER */
};

/* service.c: the people.* settings, for the fold and the read verbs; 0 or -1 (printed) */
int hc_settings(const ol_config *cfg, struct hc_state *s);
/* fold.c */
int hc_apply(ol_fold_ctx *ctx, const ol_event *ev, avro_value_t *old);
/* flush.c */
int hc_flush(ol_fold_ctx *ctx);
/* flush.c: the key of a row in `rows` (scope, id, week), for flush and the read verbs */
void hc_row_key(ol_key *k, int scope, const char *id, ol_week w);
/* report.c */
int hc_report(ol_store *st, int argc, char **argv, const ol_config *cfg);
int hc_query(ol_store *st, int argc, char **argv, const ol_config *cfg);

#endif
