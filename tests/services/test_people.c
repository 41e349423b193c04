/* Fold tests of the people service (ops.headcount.weekly, SPEC section 3
 * "Headcount and retention"): hand-computed headcount, FTE, joiners,
 * leavers, trailing-52-week attrition and median tenure; a leaver on the
 * last day of a week, a part-timer, a rejoiner and a restated left_on, a
 * window crossing 2026-W53, delivery-manager supply against demand, a
 * person whose left_on precedes joined_on (dead letter), and order
 * independence. */
#include "fixture.h"
#include "svc_harness.h"
#include "ol_state.h"
#include "people/people.h"

extern const ol_service people_service;

static struct fx *fx_new(void) { return fx_new_for(&people_service); }
static const char *const people_dbs[] = {"persons", "leaves", "allocs", "rows", "hmeta", "entity", "derived", NULL};

#define PERSON_AT(at, id, team, role, emp, cap, wd, joined, left, rev)                                            \
    "{\"event_id\":\"p-" id "-" #rev "\",\"occurred_at\":\"" at "\",\"source\":\"hr\",\"revision\":" #rev          \
    ",\"person_id\":\"" id "\",\"name\":\"N " id "\",\"team\":\"" team "\",\"role\":\"" role                       \
    "\",\"billable\":true,\"employment\":\"" emp "\",\"supplier\":null,\"weekly_capacity_minutes\":" #cap          \
    ",\"working_days\":" #wd ",\"day_cost_minor\":40000,\"currency\":\"GBP\",\"joined_on\":\"" joined             \
    "\",\"left_on\":" left "}"
#define AT "2026-11-11T09:00:00Z" /* Wednesday of 2026-W46 */
#define PERSON(...) PERSON_AT(AT, __VA_ARGS__)

#define LEAVE(id, person, first, last, portion, status)                                                           \
    "{\"event_id\":\"l-" id "\",\"occurred_at\":\"" AT "\",\"source\":\"hr\",\"revision\":1,\"leave_id\":\"" id     \
    "\",\"person_id\":\"" person "\",\"kind\":\"HOLIDAY\",\"first_day\":\"" first "\",\"last_day\":\"" last        \
    "\",\"portion\":\"" portion "\",\"status\":\"" status "\"}"

/* person is JSON: "\"P1\"" or null for an open role */
#define ALLOC(id, person, role, pct, first, last, status)                                                         \
    "{\"event_id\":\"a-" id "\",\"occurred_at\":\"" AT "\",\"source\":\"res\",\"revision\":1,\"allocation_id\":\"" \
    id "\",\"engagement_id\":\"G1\",\"person_id\":" person ",\"role\":\"" role "\",\"percent\":" #pct              \
    ",\"first_day\":\"" first "\",\"last_day\":\"" last "\",\"status\":\"" status "\"}"

#define HC "ops.headcount.weekly"

static int64_t ev(struct fx *f, const char *key, const char *field)
{
    int64_t v = -999999;
    if (derived_long(f, HC, key, field, &v))
        fail_msg("no %s event %s", HC, key);
    return v;
}

static int row(struct fx *f, int scope, const char *id, const char *week, struct hc_row *r)
{
    ol_store *st = ol_runtime_store(f->rt);
    MDB_txn *txn;
    ol_key k;
    MDB_val kv, v;
    ol_week w;
    assert_int_equal(ol_week_parse(week, &w), 0);
    hc_row_key(&k, scope, id, w);
    kv = ol_key_val(&k);
    assert_int_equal(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn), 0);
    int rc = mdb_get(txn, ol_store_dbi(st, "rows"), &kv, &v);
    if (rc == 0) {
        assert_int_equal(v.mv_size, sizeof *r);
        memcpy(r, v.mv_data, sizeof *r);
    }
    mdb_txn_abort(txn);
    return rc;
}

static struct hc_row row_of(struct fx *f, int scope, const char *id, const char *week)
{
    struct hc_row r;
    if (row(f, scope, id, week, &r))
        fail_msg("no headcount row %d %s %s", scope, id, week);
    return r;
}

/* E1 full time from 2026-01-05; E2 part time (1350 of 2250) from 2026-03-02;
 * E3 from 2025-11-03, left on Sunday 2026-11-08 (the last day of W45); E4
 * a delivery manager joining on Tuesday 2026-11-10 (W46); C1 a contractor. */
static void add_org(struct fx *f)
{
    add(f, "hr.person", PERSON("E1", "alpha", "ENGINEER", "EMPLOYEE", 2250, 31, "2026-01-05", "null", 1));
    add(f, "hr.person", PERSON("E2", "alpha", "ENGINEER", "EMPLOYEE", 1350, 31, "2026-03-02", "null", 1));
    add(f, "hr.person", PERSON("E3", "beta", "ENGINEER", "EMPLOYEE", 2250, 31, "2025-11-03", "\"2026-11-08\"", 1));
    add(f, "hr.person", PERSON("E4", "alpha", "DELIVERY_MANAGER", "EMPLOYEE", 2250, 31, "2026-11-10", "null", 1));
    add(f, "hr.person", PERSON("C1", "alpha", "ENGINEER", "CONTRACTOR", 2250, 31, "2026-06-01", "null", 1));
}

/* By hand, ORG in W45 (Sunday 2026-11-08): E1, E2 and E3 (left that very
 * Sunday: still employed) = 3; FTE = (2250 + 1350 + 2250) x 10000 / 2250 =
 * 26000; 1 leaver (E3), 0 joiners. Tenure at 2026-11-08: E1 307 days (26 of
 * January + 273 to the end of October + 8), E2 251, E3 370: median 307.
 * Window 2025-W46..2026-W45: E3 employed on 52 Sundays, E1 on W02..W45 = 44,
 * E2 on W10..W45 = 36: 132; average 13200 / 52 = 253 (2.53 people);
 * attrition 1 x 1,000,000 / 253 = 3952 bp.
 * W46 (Sunday 2026-11-15): E1, E2, E4 = 3 (E3 gone), FTE 26000, 1 joiner
 * (E4), tenure 314, 258, 5: median 258; window 2025-W47..2026-W46: E3 51,
 * E1 45, E2 37, E4 1 = 134, average 257, the one leaver still in it: 3891. */
static void test_org_leaver_last_day_part_time(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    add_org(f);
    fold(f);
    struct hc_row r = row_of(f, HC_ORG, "org", "2026-W45");
    assert_int_equal(r.headcount, 3);
    assert_int_equal(r.fte_bp, 26000);
    assert_int_equal(r.joiners, 0);
    assert_int_equal(r.leavers, 1);
    assert_int_equal(r.window_leavers, 1);
    assert_int_equal(r.avg_x100, 253);
    assert_int_equal(r.has_attrition, 1);
    assert_int_equal(r.attrition_bp, 3952);
    assert_int_equal(r.tenure_days, 307);
    r = row_of(f, HC_ORG, "org", "2026-W46");
    assert_int_equal(r.headcount, 3);
    assert_int_equal(r.fte_bp, 26000);
    assert_int_equal(r.joiners, 1);
    assert_int_equal(r.leavers, 0);
    assert_int_equal(r.avg_x100, 257);
    assert_int_equal(r.attrition_bp, 3891);
    assert_int_equal(r.tenure_days, 258);
    /* the published event carries the same figures */
    assert_int_equal(ev(f, "ORG|org|2026-W45", "attrition_bp"), 3952);
    assert_int_equal(ev(f, "ORG|org|2026-W46", "median_tenure_days"), 258);
    /* per role and team; the contractor is apart */
    assert_int_equal(row_of(f, HC_ROLE, "ENGINEER", "2026-W45").headcount, 3);
    assert_int_equal(row_of(f, HC_ROLE, "ENGINEER", "2026-W46").headcount, 2);
    /* an even headcount: E1 314 and E2 258 days at Sunday 2026-11-15, the lower middle value */
    assert_int_equal(row_of(f, HC_ROLE, "ENGINEER", "2026-W46").tenure_days, 258);
    assert_int_equal(row_of(f, HC_TEAM, "beta", "2026-W45").leavers, 1);
    assert_int_equal(row_of(f, HC_TEAM, "beta", "2026-W46").headcount, 0);
    assert_int_equal(row_of(f, HC_TEAM, "alpha", "2026-W46").fte_bp, 26000);
    r = row_of(f, HC_EMPLOYMENT, "CONTRACTOR", "2026-W46");
    assert_int_equal(r.headcount, 1);
    assert_int_equal(r.fte_bp, 10000);
    assert_int_equal(row_of(f, HC_EMPLOYMENT, "CONTRACTOR", "2026-W23").joiners, 1);
    /* no row after the data week except the delivery managers' horizon */
    struct hc_row x;
    assert_int_not_equal(row(f, HC_ORG, "org", "2026-W47", &x), 0);
    assert_int_equal(row(f, HC_ROLE, "DELIVERY_MANAGER", "2027-W04", &x), 0); /* W46 + 11, across W53 */
    assert_int_not_equal(row(f, HC_ROLE, "DELIVERY_MANAGER", "2027-W05", &x), 0);
    /* the first row is the first week anyone was employed (E3: 2025-W45) */
    assert_int_equal(row(f, HC_ORG, "org", "2025-W45", &x), 0);
    assert_int_not_equal(row(f, HC_ORG, "org", "2025-W44", &x), 0);
    fx_free(f);
}

/* R1 from 2024-01-01, left Tuesday 2026-06-30 (W27); rejoins as R1B (HR
 * gives a rejoiner a new person_id) on Tuesday 2026-09-01 (W36). Then a
 * correction moves R1's left_on to Friday 2026-05-29 (W22): past weeks are
 * restated. */
static void test_rejoiner_and_restated_leaver(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    add(f, "hr.person", PERSON("R1", "alpha", "ENGINEER", "EMPLOYEE", 2250, 31, "2024-01-01", "\"2026-06-30\"", 1));
    add(f, "hr.person", PERSON("R1B", "alpha", "ENGINEER", "EMPLOYEE", 2250, 31, "2026-09-01", "null", 1));
    fold(f);
    struct hc_row r = row_of(f, HC_ORG, "org", "2026-W27");
    assert_int_equal(r.leavers, 1);
    assert_int_equal(r.headcount, 0); /* Sunday 2026-07-05 is after left_on */
    assert_int_equal(r.has_tenure, 0);
    assert_int_equal(row_of(f, HC_ORG, "org", "2026-W26").headcount, 1);
    r = row_of(f, HC_ORG, "org", "2026-W36");
    assert_int_equal(r.joiners, 1);
    assert_int_equal(r.headcount, 1);
    assert_int_equal(r.tenure_days, 5); /* the new stint: 2026-09-01 to Sunday 2026-09-06 */
    /* window of W46 (2025-W47..2026-W46): R1 on 2025-W47..2026-W26 = 6 + 26 = 32 Sundays, R1B on W36..W46 = 11:
     * 43 x 100 / 52 = 82; 1 leaver: 1,000,000 / 82 = 12195 bp */
    r = row_of(f, HC_ORG, "org", "2026-W46");
    assert_int_equal(r.avg_x100, 82);
    assert_int_equal(r.attrition_bp, 12195);
    assert_int_equal(ev(f, "ORG|org|2026-W27", "leavers"), 1);

    add(f, "hr.person", PERSON("R1", "alpha", "ENGINEER", "EMPLOYEE", 2250, 31, "2024-01-01", "\"2026-05-29\"", 2));
    fold(f);
    assert_int_equal(row_of(f, HC_ORG, "org", "2026-W27").leavers, 0);
    assert_int_equal(row_of(f, HC_ORG, "org", "2026-W22").leavers, 1);
    assert_int_equal(row_of(f, HC_ORG, "org", "2026-W22").headcount, 0); /* Sunday 2026-05-31 */
    assert_int_equal(ev(f, "ORG|org|2026-W27", "leavers"), 0);
    assert_int_equal(ev(f, "ORG|org|2026-W26", "headcount"), 0);
    assert_int_equal(ev(f, "ORG|org|2026-W22", "leavers"), 1);
    fx_free(f);
}

/* Data time Wednesday 2027-03-10 (2027-W10). 2026 has 53 ISO weeks, so the
 * window of 2027-W10 is 2027-W01..W10 and 2026-W12..W53: X1 leaving on
 * Sunday 2026-03-15 (W11) is outside it, X2 leaving on Monday 2026-03-16
 * (W12) inside; Y employed all along: 52 Sundays -> average 100 (1.00),
 * attrition 1 x 1,000,000 / 100 = 10000 bp. */
static void test_window_across_w53(void **state)
{
    (void)state;
    struct fx *f = fx_new();
#define AT27 "2027-03-10T09:00:00Z"
    add(f, "hr.person", PERSON_AT(AT27, "X1", "alpha", "ENGINEER", "EMPLOYEE", 2250, 31, "2020-01-06", "\"2026-03-15\"", 1));
    add(f, "hr.person", PERSON_AT(AT27, "X2", "alpha", "ENGINEER", "EMPLOYEE", 2250, 31, "2020-01-06", "\"2026-03-16\"", 1));
    add(f, "hr.person", PERSON_AT(AT27, "Y", "alpha", "ENGINEER", "EMPLOYEE", 2250, 31, "2020-01-06", "null", 1));
    fold(f);
    struct hc_row r = row_of(f, HC_ORG, "org", "2027-W10");
    assert_int_equal(r.headcount, 1);
    assert_int_equal(r.window_leavers, 1);
    assert_int_equal(r.avg_x100, 100);
    assert_int_equal(r.attrition_bp, 10000);
    assert_int_equal(row_of(f, HC_ORG, "org", "2026-W53").headcount, 1);
    assert_int_equal(row_of(f, HC_ORG, "org", "2026-W11").leavers, 1);
    assert_int_equal(row_of(f, HC_ORG, "org", "2026-W12").leavers, 1);
    /* the window of 2027-W09 still holds 2026-W11: both leavers */
    assert_int_equal(row_of(f, HC_ORG, "org", "2027-W09").window_leavers, 2);
    /* the first row is the first week anyone was employed: 2020-01-06 is the Monday of 2020-W02 */
    struct hc_row x;
    assert_int_equal(row(f, HC_ORG, "org", "2020-W02", &x), 0);
    assert_int_not_equal(row(f, HC_ORG, "org", "2020-W01", &x), 0);
    fx_free(f);
}

/* D1, a full-time delivery manager, takes Wednesday 2026-11-18 off (W47).
 * Demand: A1 CONFIRMED D1 100 % on W47 and W48; A2 an open role PROPOSED
 * at 50 % on Thursday and Friday of W47; A3 PROPOSED with a person, A4
 * CANCELLED and A5 of another role count nowhere.
 * W47: supply 2250 - 450 = 1800 minutes = 8000 bp; demand 100 x 5 + 50 x 2
 * = 600 percent-days = 12000 bp; ratio 1800 x 10000 x 500 / (600 x 2250) =
 * 6666 (short). W48: 10000 / 10000 = 10000 (ahead). W49: no demand. */
static void test_dm_supply_demand(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    add(f, "hr.person", PERSON("D1", "alpha", "DELIVERY_MANAGER", "EMPLOYEE", 2250, 31, "2025-01-01", "null", 1));
    add(f, "hr.leave", LEAVE("L1", "D1", "2026-11-18", "2026-11-18", "FULL", "BOOKED"));
    add(f, "delivery.allocation", ALLOC("A1", "\"D1\"", "DELIVERY_MANAGER", 100, "2026-11-16", "2026-11-29", "CONFIRMED"));
    add(f, "delivery.allocation", ALLOC("A2", "null", "DELIVERY_MANAGER", 50, "2026-11-19", "2026-11-20", "PROPOSED"));
    add(f, "delivery.allocation", ALLOC("A3", "\"D1\"", "DELIVERY_MANAGER", 100, "2026-11-16", "2026-11-20", "PROPOSED"));
    add(f, "delivery.allocation", ALLOC("A4", "null", "DELIVERY_MANAGER", 100, "2026-11-16", "2026-11-20", "CANCELLED"));
    add(f, "delivery.allocation", ALLOC("A5", "null", "ENGINEER", 100, "2026-11-16", "2026-11-20", "CONFIRMED"));
    fold(f);
    struct hc_row r = row_of(f, HC_ROLE, "DELIVERY_MANAGER", "2026-W47");
    assert_int_equal(r.has_dm, 1);
    assert_int_equal(r.dm_supply_bp, 8000);
    assert_int_equal(r.dm_demand_bp, 12000);
    assert_int_equal(r.has_ratio, 1);
    assert_int_equal(r.ratio_bp, 6666);
    assert_int_equal(r.ahead, 0);
    r = row_of(f, HC_ROLE, "DELIVERY_MANAGER", "2026-W48");
    assert_int_equal(r.ratio_bp, 10000);
    assert_int_equal(r.ahead, 1);
    assert_int_equal(ev(f, "ROLE|DELIVERY_MANAGER|2026-W48", "dm_ahead"), 1);
    r = row_of(f, HC_ROLE, "DELIVERY_MANAGER", "2026-W49");
    assert_int_equal(r.dm_supply_bp, 10000);
    assert_int_equal(r.has_ratio, 0);
    assert_int_equal(r.ahead, 0);
    /* the leave cancelled: W47 supply 10000, ratio 10000 x 500 x 2250 / (600 x 2250) = 8333 */
    add(f, "hr.leave", "{\"event_id\":\"l-L1-2\",\"occurred_at\":\"" AT "\",\"source\":\"hr\",\"revision\":2,"
                       "\"leave_id\":\"L1\",\"person_id\":\"D1\",\"kind\":\"HOLIDAY\",\"first_day\":\"2026-11-18\","
                       "\"last_day\":\"2026-11-18\",\"portion\":\"FULL\",\"status\":\"CANCELLED\"}");
    fold(f);
    assert_int_equal(row_of(f, HC_ROLE, "DELIVERY_MANAGER", "2026-W47").ratio_bp, 8333);
    assert_int_equal(ev(f, "ROLE|DELIVERY_MANAGER|2026-W47", "dm_ratio_bp"), 8333);
    fx_free(f);
}

/* "ahead of demand" is 10,000 <= ratio <= the ceiling (11,500), both ends
 * included. D2 works 2,070 minutes a week (414 a day), demand in 2026-W48 is
 * one CONFIRMED allocation at 80 % Monday to Friday: supply 2,070 x 10,000 /
 * 2,250 = 9,200 bp, demand 80 x 5 x 20 = 8,000 bp, ratio 2,070 x 10,000 x
 * 500 / (400 x 2,250) = 11,500: exactly the ceiling, so ahead. At 79 %
 * (demand 395 percent-days) the ratio is 11,645: over the ceiling, not. */
static void test_dm_ratio_at_ceiling(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    add(f, "hr.person", PERSON("D2", "alpha", "DELIVERY_MANAGER", "EMPLOYEE", 2070, 31, "2025-01-01", "null", 1));
    add(f, "delivery.allocation", ALLOC("B1", "\"D2\"", "DELIVERY_MANAGER", 80, "2026-11-23", "2026-11-27", "CONFIRMED"));
    add(f, "delivery.allocation", ALLOC("B2", "\"D2\"", "DELIVERY_MANAGER", 79, "2026-11-30", "2026-12-04", "CONFIRMED"));
    fold(f);
    struct hc_row r = row_of(f, HC_ROLE, "DELIVERY_MANAGER", "2026-W48");
    assert_int_equal(r.dm_supply_bp, 9200);
    assert_int_equal(r.dm_demand_bp, 8000);
    assert_int_equal(r.ratio_bp, 11500);
    assert_int_equal(r.ahead, 1);
    assert_int_equal(ev(f, "ROLE|DELIVERY_MANAGER|2026-W48", "dm_ahead"), 1);
    r = row_of(f, HC_ROLE, "DELIVERY_MANAGER", "2026-W49");
    assert_int_equal(r.ratio_bp, 11645);
    assert_int_equal(r.ahead, 0);
    fx_free(f);
}

/* the rows are those of the final state whatever the batching: folded in
 * two batches whose data weeks differ (2026-W46, then 2026-W50) or in one,
 * the rows and the derived events' keys and contents are the same, and no
 * row of the first batch is left behind (rows run from the first week anyone
 * was employed to the data week, never a window that moves with it) */
static void test_rows_independent_of_batching(void **state)
{
    (void)state;
    const char *e1 = PERSON("E1", "alpha", "ENGINEER", "EMPLOYEE", 2250, 31, "2026-01-05", "null", 1);
    const char *e2 = PERSON_AT("2026-12-09T09:00:00Z", "E2", "beta", "TESTER", "EMPLOYEE", 2250, 31, "2026-12-08",
                               "null", 1);
    const char *e1b = PERSON_AT("2026-12-09T09:00:00Z", "E1", "beta", "TESTER", "EMPLOYEE", 2250, 31, "2026-01-05",
                                "null", 2);
    struct fx *a = fx_new(), *b = fx_new();
    add(a, "hr.person", e1);
    fold(a);
    assert_int_equal(row_of(a, HC_ROLE, "ENGINEER", "2026-W46").headcount, 1);
    add(a, "hr.person", e2);
    add(a, "hr.person", e1b);
    fold(a);
    add(b, "hr.person", e1);
    add(b, "hr.person", e2);
    add(b, "hr.person", e1b);
    fold(b);
    char *da = svc_dump_dbs(a, people_dbs, 0), *db = svc_dump_dbs(b, people_dbs, 0);
    assert_string_equal(da, db);
    free(da);
    free(db);
    assert_int_equal(row_of(b, HC_ORG, "org", "2026-W02").headcount, 1); /* the first week anyone was employed */
    assert_int_equal(row_of(b, HC_ORG, "org", "2026-W50").headcount, 2);
    struct hc_row x;
    assert_int_not_equal(row(a, HC_ROLE, "ENGINEER", "2026-W46", &x), 0); /* the role went away: no row... */
    assert_int_equal(ev(a, "ROLE|ENGINEER|2026-W46", "headcount"), 0);  /* ...and its last event says so */
    assert_int_equal(ev(b, "ROLE|TESTER|2026-W46", "headcount"), 1);
    assert_int_equal(ev(a, "ROLE|TESTER|2026-W46", "headcount"), 1);
    fx_free(a);
    fx_free(b);
}

/* left_on before joined_on is no stint: a dead letter, the rest is folded */
static void test_hostile_dates(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    add(f, "hr.person", PERSON("BAD", "alpha", "ENGINEER", "EMPLOYEE", 2250, 31, "2026-05-01", "\"2026-04-30\"", 1));
    add(f, "hr.person", PERSON("OK", "alpha", "ENGINEER", "EMPLOYEE", 2250, 31, "2026-05-01", "null", 1));
    fold(f);
    assert_int_equal(fx_counter(f, "deadletters"), 1);
    assert_int_equal(row_of(f, HC_ORG, "org", "2026-W46").headcount, 1);
    fx_free(f);
}

static const char *const perm_lines[][2] = {
    {"hr.person", PERSON("E1", "alpha", "ENGINEER", "EMPLOYEE", 2250, 31, "2026-01-05", "null", 1)},
    {"hr.person", PERSON("E2", "alpha", "ENGINEER", "EMPLOYEE", 1350, 31, "2026-03-02", "null", 1)},
    {"hr.person", PERSON("E3", "beta", "ENGINEER", "EMPLOYEE", 2250, 31, "2025-11-03", "\"2026-11-08\"", 1)},
    {"hr.person", PERSON("E3", "beta", "TESTER", "EMPLOYEE", 2250, 31, "2025-11-03", "\"2026-10-30\"", 2)},
    {"hr.person", PERSON("D1", "alpha", "DELIVERY_MANAGER", "EMPLOYEE", 2250, 31, "2025-01-01", "null", 1)},
    {"hr.person", PERSON("C1", "alpha", "ENGINEER", "CONTRACTOR", 2250, 31, "2026-06-01", "null", 1)},
    {"hr.person", PERSON("P1", "alpha", "ENGINEER", "PARTNER", 1800, 15, "2026-02-01", "\"2026-10-01\"", 1)},
    {"hr.leave", LEAVE("L1", "D1", "2026-11-18", "2026-11-18", "AM", "BOOKED")},
    {"delivery.allocation", ALLOC("A1", "\"D1\"", "DELIVERY_MANAGER", 100, "2026-11-16", "2026-11-29", "CONFIRMED")},
    {"delivery.allocation", ALLOC("A2", "null", "DELIVERY_MANAGER", 50, "2026-11-19", "2026-12-20", "PROPOSED")},
};
#define NPERM (sizeof perm_lines / sizeof perm_lines[0])

static void check_perm(struct fx *f)
{
    /* E3's revision 2 wins: a TESTER who left on Friday 2026-10-30 (W44) */
    assert_int_equal(row_of(f, HC_ROLE, "TESTER", "2026-W44").leavers, 1);
    assert_int_equal(row_of(f, HC_EMPLOYMENT, "PARTNER", "2026-W40").leavers, 1);
    assert_int_equal(row_of(f, HC_ROLE, "DELIVERY_MANAGER", "2026-W47").dm_demand_bp, 12000); /* A1 100 x 5 + A2 50 x 2 (Thu, Fri) = 600 x 20 */
}

/* the same records in 6 orders in one batch: byte-identical projections and
 * derived events; one record per batch in 4 more orders: identical rows */
static void test_order_independence(void **state)
{
    (void)state;
    svc_order_independence(&people_service, perm_lines, NPERM, people_dbs, check_perm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_org_leaver_last_day_part_time),
        cmocka_unit_test(test_rejoiner_and_restated_leaver),
        cmocka_unit_test(test_window_across_w53),
        cmocka_unit_test(test_dm_supply_demand),
        cmocka_unit_test(test_dm_ratio_at_ceiling),
        cmocka_unit_test(test_rows_independent_of_batching),
        cmocka_unit_test(test_hostile_dates),
        cmocka_unit_test(test_order_independence),
    };
    return cmocka_run_group_tests_name("people", tests, NULL, NULL);
}
