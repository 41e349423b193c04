/* assurance — the weekly quality-and-risk status of every delivery
 * (ops.delivery.status) and the interrupt cover of every live service
 * (ops.cover.gaps), SPEC section 3 "Delivery status" and issue 9.
 *
 * Projection databases (keys built with ol_key, see ol_store.h):
 *   engs        engagement\0                 -> struct as_eng + client\0 name\0
 *   risk_vers   risk\0 revision(i64)         -> struct as_risk + engagement\0 category\0 summary\0 owner\0
 *                                               event_id\0   (every version: the register as of any week)
 *   eng_risks   engagement\0 risk\0          -> ""   (every engagement a version of the risk named)
 *   fc_vers     engagement\0 as_of_week(i32) -> struct as_fc + currency\0  (latest revision per as-of week)
 *   eng_allocs  engagement\0 allocation\0    -> struct as_alloc + person\0 role\0
 *   missing     week(i32) person\0           -> int32 missing minutes (> 0 only)
 *   person_engs person\0 engagement\0 allocation\0 -> struct as_alloc (CONFIRMED ones, for missing time)
 *   shifts      service\0 day(i32) shift\0   -> struct as_shift + person\0  (one row per UTC day touched)
 *   pshifts     person\0 starts(i64) shift\0 -> struct as_shift + service\0 (PLANNED PRIMARY only)
 *   leaves      person\0 leave\0             -> struct ol_leave (ol_leave.h)
 *   status      week(i32) engagement\0       -> struct as_status_row (what the report and query read)
 *   cover       service\0 day(i32)           -> struct as_cover_row
 *   ameta       name                         -> int32 (the data week rows were last extended to)
 * Dirty keys: 'S' engagement\0 week | 'E' engagement\0 | 'C' service\0 day. */
#ifndef ASSURANCE_H
#define ASSURANCE_H

#include "ol_leave.h"
#include "ol_runtime.h"
#include "ol_time.h"

#include <stdint.h>

#define AS_MAX_SHIFT_DAYS 14 /* a shift is counted on at most its first 14 UTC days */
#define AS_DAY_MS 86400000LL

enum { SEV_LOW, SEV_MEDIUM, SEV_HIGH, SEV_CRITICAL };
enum { RISK_OPEN, RISK_MITIGATED, RISK_CLOSED };
enum { RAG_GREEN, RAG_AMBER, RAG_RED };
enum { ENG_ACTIVE, ENG_CLOSED };
enum { ALLOC_PROPOSED, ALLOC_CONFIRMED, ALLOC_CANCELLED };
enum { SHIFT_PRIMARY, SHIFT_SECONDARY };
enum { SHIFT_PLANNED, SHIFT_CANCELLED };
enum { PORTION_FULL, PORTION_AM, PORTION_PM };

struct as_eng {
    int64_t budget;
    int32_t starts, ends;
    uint8_t status, pad[7];
};

struct as_risk {
    int64_t occurred_at;
    uint8_t severity, status, category, pad[5];
};

struct as_fc {
    int64_t revision, spent, eac, budget;
};

struct as_alloc {
    int32_t first, last;
    uint8_t status, pad[3];
};

struct as_shift {
    int64_t starts, ends;
    uint8_t role, status, pad[6];
};

struct as_status_row {
    int32_t rag, open[4];
};

struct as_cover_row {
    int32_t uncovered, on_leave, double_booked, ngaps;
};

/* thresholds (configuration, see service.c) */
struct as_state {
    int32_t eac_red_bp;      /* assurance.eac_red_bp: EAC over this share of budget is RED (11000) */
    int32_t spend_red_bp;    /* assurance.spend_red_bp: spend over this share is RED (10000) */
    int32_t burn_ahead_bp;   /* assurance.burn_ahead_bp: burn this far ahead of time is AMBER (1000) */
    int32_t open_role_days;  /* assurance.open_role_days: an open role starting within these days (14) */
    int32_t missing_minutes; /* assurance.missing_minutes: missing time at least this is AMBER (450) */
};

/* fold.c */
int as_apply(ol_fold_ctx *ctx, const ol_event *ev, avro_value_t *old);
int as_history(ol_fold_ctx *ctx, const ol_event *ev);
int as_mark_week(ol_fold_ctx *ctx, const char *eng, ol_week w);
int as_mark_tag(ol_fold_ctx *ctx, uint8_t tag, const char *s);
int as_mark_day(ol_fold_ctx *ctx, const char *service, int32_t day);

/* status.c: ops.delivery.status of one engagement-week */
int as_status(ol_fold_ctx *ctx, const char *eng, ol_week w);
int as_eng_load(MDB_txn *txn, MDB_dbi engs, const char *eng, struct as_eng *e, const char **client,
                const char **name);

/* cover.c: ops.cover.gaps of one service-day */
int as_cover(ol_fold_ctx *ctx, const char *service, int32_t day);

/* flush.c */
int as_flush(ol_fold_ctx *ctx);
/* the week of the data time (latest occurred_at folded); 0 when there is none yet */
int as_data_week(ol_fold_ctx *ctx, ol_week *w);

/* query.c */
int as_query(ol_store *st, int argc, char **argv, const ol_config *cfg);
int as_report(ol_store *st, int argc, char **argv, const ol_config *cfg);

#endif
