/* utilisation — weekly actuals against the target, per person, team and org.
 *
 * Projection databases (all keys built with ol_key, see ol_store.h):
 *   people       person\0                    -> struct util_person + name\0 team\0
 *   leaves       person\0 leave_id\0         -> struct ol_leave (ol_leave.h)
 *   week_time    week(i32) person\0 engagement\0 activity(u8)
 *                                            -> struct util_time (the person-week's
 *                time summed, not entry by entry: a live batch touches a few
 *                leaves, not one per record; issue 15, layout.c)
 *   entries      empty (layouts 1 and 2 kept entry by entry; layout.c)
 *   person_weeks person\0 week(i32)          -> "" (the person has entries in the week)
 *   engagements  engagement\0                -> billing (1 byte)
 *   eng_pw       engagement\0 person\0 week  -> "" (who logged DELIVERY on it)
 *   team_people  team\0 person\0             -> billable (1 byte)
 *   util         week(i32) scope(u8) id\0    -> struct util_row + team\0
 *   umeta        name                        -> int32 (window bounds, min entry week)
 * Dirty keys: 'P' person\0 week | 'T' team\0 week | 'O' week. */
#ifndef UTIL_H
#define UTIL_H

#include "ol_leave.h"
#include "ol_runtime.h"
#include "ol_time.h"

#include <stdint.h>

enum { SCOPE_PERSON = 0, SCOPE_TEAM = 1, SCOPE_ORG = 2 }; /* = the Scope enum's symbol order */

/* Activity symbols in schema order */
enum { ACT_DELIVERY, ACT_SALES_SUPPORT, ACT_TRAINING, ACT_INTERNAL, ACT_BENCH, ACT_LIVE_SUPPORT };
enum { ST_SUBMITTED, ST_APPROVED, ST_REJECTED, ST_DELETED };
enum { BILL_TM, BILL_FIXED, BILL_NON_BILLABLE, BILL_UNKNOWN = 255 };
enum { PORTION_FULL, PORTION_AM, PORTION_PM };

struct util_person {
    int32_t joined, left; /* days; left = INT32_MAX when still employed */
    int32_t weekly_capacity;
    uint8_t working_days, billable, pad[2];
};

/* a row of `entries` before layout 3 (layout.c reads them once) */
struct util_entry {
    int32_t work_date, minutes;
    uint8_t activity, status, pad[2];
};

/* a week_time row: the counted minutes (SUBMITTED and APPROVED) of the
 * person-week's entries on one engagement and activity, and how many
 * entries (of any status) the row sums; a row with no entry is deleted */
struct util_time {
    int64_t minutes, entries;
};

/* non-billable buckets, in report order */
enum { NB_SALES, NB_TRAINING, NB_INTERNAL, NB_BENCH, NB_LIVE, NB_DELIVERY, NB_N };

struct util_row {
    int32_t capacity, leave, available, billable;
    int32_t nonbill[NB_N];
    int32_t unclassified, logged, people;
    int32_t has_bp, bp, target_bp, below;
};

struct util_state {
    int32_t target_bp;
    int32_t history_weeks;
};

/* layout.c: logged time summed per person-week, and the rewrite of a
 * directory from before that layout */
void util_person_week_key(ol_key *k, const char *person, ol_week w); /* person_weeks' key */
void util_eng_pw_key(ol_key *k, const char *eng, const char *person, ol_week w); /* eng_pw's key */
/* adds minutes and entries (either may be negative: a version taken back)
 * to the person-week's row for the engagement and activity; the row is
 * deleted when no entry is left in it. *fresh (may be NULL) is set when the
 * row held no entry before. 0, an LMDB error, MDB_CORRUPTED when more is
 * taken back than the row holds, -1 when the key overflows. */
int util_time_add(MDB_txn *txn, MDB_dbi wt, ol_week w, const char *person, const char *eng, uint8_t activity,
                  int64_t minutes, int64_t entries, int *fresh);
int util_time_left(MDB_txn *txn, MDB_dbi wt, ol_week w, const char *person, int *left);
int util_time_counted(uint8_t status, int32_t minutes); /* the minutes an entry counts (SPEC 3) */
int util_layout_upgrade(ol_runtime *rt);

/* fold.c */
int util_apply(ol_fold_ctx *ctx, const ol_event *ev, avro_value_t *old);
int util_flush(ol_fold_ctx *ctx);

/* figures.c: the rules of SPEC section 3, from the projection */
int util_person_load(MDB_txn *txn, MDB_dbi people, const char *person, struct util_person *p, const char **name,
                     const char **team);
int util_day_capacity(const struct util_person *p, int32_t day);
int util_person_week(ol_fold_ctx *ctx, const char *person, ol_week w, const struct util_person *p,
                     struct util_row *row);
void util_row_finish(struct util_row *r, int32_t target_bp, int billable_person);
void util_row_add(struct util_row *sum, const struct util_row *r);

/* rows: util db access (also used by the read verbs) */
int util_row_get(MDB_txn *txn, MDB_dbi util, ol_week w, int scope, const char *id, struct util_row *row,
                 const char **team);
int util_row_put(MDB_txn *txn, MDB_dbi util, ol_week w, int scope, const char *id, const struct util_row *row,
                 const char *team);

/* teams.c: the person rows of week w of the billable members of each of
 * teams[0..nt), summed into sums[0..nt). The members, read and sorted, are
 * kept in mc across the weeks of one flush (valid for one flush: only the
 * fold writes team_people); mc starts zeroed, util_member_cache_free ends
 * it. 0, an LMDB error or -1. */
struct util_members {
    struct member *v;
    size_t n, cap;
    char *names;
    size_t len, names_cap;
};
struct util_member_cache {
    struct util_members m;
    char *teams; /* the teams they are of, NUL-separated, in order */
    size_t teams_len, teams_cap, nt;
    int valid;
};
int util_team_sums(ol_fold_ctx *ctx, ol_week w, const char *const *teams, size_t nt, struct util_row *sums,
                   struct util_member_cache *mc);
void util_member_cache_free(struct util_member_cache *mc);

/* query.c */
int util_query(ol_store *st, int argc, char **argv, const ol_config *cfg);
int util_report(ol_store *st, int argc, char **argv, const ol_config *cfg);

#endif
