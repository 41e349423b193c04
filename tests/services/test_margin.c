/* Fold tests of the margin service (finance.margin.weekly, SPEC section 3
 * "Margin"): a hand-computed engagement-week with a billing line restated
 * after a mid-week rate change, a part-timer's cost by day capacity, a
 * contractor invoice spanning two weeks spread over its engagement-weeks with
 * the rounding remainder on the last, a partner in another currency on a
 * FIXED_PRICE engagement, an expense in a third currency, the three-way
 * match, a withdrawn invoice, a reversed period (dead letter) and order
 * independence. Week 2026-W46 is Monday 2026-11-09 to Sunday 2026-11-15. */
#include "fixture.h"
#include "svc_harness.h"
#include "ol_state.h"
#include "margin/margin.h"

extern const ol_service margin_service;

static struct fx *fx_new(void) { return fx_new_for(&margin_service); }

#define AT "2026-11-20T09:00:00Z"
#define PERSON(id, emp, cap, wd, cost, cur)                                                                       \
    "{\"event_id\":\"p-" id "\",\"occurred_at\":\"" AT "\",\"source\":\"hr\",\"revision\":1,\"person_id\":\"" id   \
    "\",\"name\":\"N\",\"team\":\"t\",\"role\":\"ENGINEER\",\"billable\":true,\"employment\":\"" emp              \
    "\",\"supplier\":null,\"weekly_capacity_minutes\":" #cap ",\"working_days\":" #wd ",\"day_cost_minor\":" #cost  \
    ",\"currency\":\"" cur "\",\"joined_on\":\"2025-01-01\",\"left_on\":null}"
#define ENG(id, billing, cur)                                                                                     \
    "{\"event_id\":\"g-" id "\",\"occurred_at\":\"" AT "\",\"source\":\"res\",\"revision\":1,\"engagement_id\":\"" \
    id "\",\"client\":\"Acme\",\"name\":\"Build\",\"billing\":\"" billing "\",\"lead\":\"SELF\",\"bill_to\":\"A\"," \
    "\"currency\":\"" cur "\",\"minutes_per_day\":450,\"budget_minor\":0,\"starts_on\":\"2026-01-01\","           \
    "\"ends_on\":\"2027-06-30\",\"rate_card\":[],\"status\":\"ACTIVE\"}"
/* eng is JSON: "\"G1\"" or null */
#define ENTRY(id, person, eng, activity, day, minutes, status)                                                    \
    "{\"event_id\":\"t-" id "\",\"occurred_at\":\"" AT "\",\"source\":\"ts\",\"revision\":1,\"entry_id\":\"" id    \
    "\",\"person_id\":\"" person "\",\"engagement_id\":" eng ",\"activity\":\"" activity "\",\"work_date\":\""    \
    day "\",\"minutes\":" #minutes ",\"status\":\"" status "\"}"
#define INVOICE(id, rev, person, first, last, minutes, amount, cur, status)                                       \
    "{\"event_id\":\"i-" id "-" #rev "\",\"occurred_at\":\"" AT "\",\"source\":\"fin\",\"revision\":" #rev         \
    ",\"invoice_id\":\"" id "\",\"person_id\":\"" person "\",\"supplier\":\"Acme Contracting\","                   \
    "\"period_first_day\":\"" first "\",\"period_last_day\":\"" last "\",\"minutes_invoiced\":" #minutes          \
    ",\"amount_minor\":" #amount ",\"currency\":\"" cur "\",\"status\":\"" status "\"}"
#define EXPENSE(id, eng, day, amount, cur, status)                                                                \
    "{\"event_id\":\"x-" id "\",\"occurred_at\":\"" AT "\",\"source\":\"fin\",\"revision\":1,\"expense_id\":\"" id \
    "\",\"engagement_id\":\"" eng "\",\"supplier\":\"Hotel\",\"description\":\"stay\",\"incurred_on\":\"" day     \
    "\",\"amount_minor\":" #amount ",\"currency\":\"" cur "\",\"rechargeable\":false,\"status\":\"" status "\"}"
#define LINE(key, rev, kind, eng, week, amount, cur)                                                              \
    "{\"event_id\":\"b-" key "-" #rev "\",\"key\":\"" key "\",\"revision\":" #rev ",\"kind\":\"" kind             \
    "\",\"engagement_id\":\"" eng "\",\"person_id\":null,\"expense_id\":null,\"week\":\"" week                    \
    "\",\"client\":\"Acme\",\"bill_to\":\"A\",\"role\":null,\"approved_minutes\":0,\"pending_minutes\":0,"         \
    "\"unpriced_minutes\":0,\"day_rate_minor\":null,\"minutes_per_day\":450,\"amount_minor\":" #amount            \
    ",\"delta_minor\":0,\"delta_minutes\":0,\"currency\":\"" cur "\",\"priced\":true,\"post_close\":false,"        \
    "\"period_status\":\"OPEN\"}"

#define MW "finance.margin.weekly"

static const char *const scenario[][2] = {
    {"delivery.engagement", ENG("G1", "TIME_AND_MATERIALS", "GBP")},
    {"delivery.engagement", ENG("G2", "FIXED_PRICE", "EUR")},
    {"hr.person", PERSON("E1", "EMPLOYEE", 2250, 31, 40000, "GBP")},
    {"hr.person", PERSON("E2", "EMPLOYEE", 1801, 15, 30001, "GBP")},
    {"hr.person", PERSON("K1", "CONTRACTOR", 2250, 31, 50000, "GBP")},
    {"hr.person", PERSON("PT1", "PARTNER", 2250, 31, 90000, "EUR")},
    /* E1: five days of 450 on G1, Friday as TRAINING (any activity costs) */
    {"timesheet.entry", ENTRY("e1", "E1", "\"G1\"", "DELIVERY", "2026-11-09", 450, "APPROVED")},
    {"timesheet.entry", ENTRY("e2", "E1", "\"G1\"", "DELIVERY", "2026-11-10", 450, "APPROVED")},
    {"timesheet.entry", ENTRY("e3", "E1", "\"G1\"", "DELIVERY", "2026-11-11", 450, "APPROVED")},
    {"timesheet.entry", ENTRY("e4", "E1", "\"G1\"", "DELIVERY", "2026-11-12", 450, "APPROVED")},
    {"timesheet.entry", ENTRY("e5", "E1", "\"G1\"", "TRAINING", "2026-11-13", 450, "APPROVED")},
    /* E2 works Monday to Thursday, 1801 a week: Monday 451, the others 450 */
    {"timesheet.entry", ENTRY("f1", "E2", "\"G1\"", "DELIVERY", "2026-11-09", 451, "APPROVED")},
    {"timesheet.entry", ENTRY("f2", "E2", "\"G1\"", "DELIVERY", "2026-11-10", 200, "APPROVED")},
    {"timesheet.entry", ENTRY("f3", "E2", "\"G1\"", "DELIVERY", "2026-11-14", 60, "APPROVED")},
    {"timesheet.entry", ENTRY("f4", "E2", "\"G1\"", "DELIVERY", "2026-11-11", 450, "SUBMITTED")},
    /* K1: Wednesday before the invoice, then the invoiced period Thursday 11-12 .. Wednesday 11-18 */
    {"timesheet.entry", ENTRY("k0", "K1", "\"G1\"", "DELIVERY", "2026-11-11", 450, "APPROVED")},
    {"timesheet.entry", ENTRY("k1", "K1", "\"G1\"", "DELIVERY", "2026-11-12", 450, "APPROVED")},
    {"timesheet.entry", ENTRY("k2", "K1", "\"G1\"", "DELIVERY", "2026-11-13", 450, "APPROVED")},
    {"timesheet.entry", ENTRY("k3", "K1", "\"G1\"", "DELIVERY", "2026-11-16", 450, "APPROVED")},
    {"timesheet.entry", ENTRY("k4", "K1", "\"G2\"", "DELIVERY", "2026-11-17", 300, "APPROVED")},
    {"timesheet.entry", ENTRY("k5", "K1", "null", "INTERNAL", "2026-11-18", 150, "APPROVED")},
    {"finance.contractor_invoice", INVOICE("INV1", 1, "K1", "2026-11-12", "2026-11-18", 1800, 100001, "GBP", "RECEIVED")},
    /* PT1, a partner in EUR on G2 (FIXED_PRICE) */
    {"timesheet.entry", ENTRY("q1", "PT1", "\"G2\"", "DELIVERY", "2026-11-16", 450, "APPROVED")},
    {"timesheet.entry", ENTRY("q2", "PT1", "\"G2\"", "DELIVERY", "2026-11-17", 450, "APPROVED")},
    {"finance.contractor_invoice", INVOICE("PINV1", 1, "PT1", "2026-11-16", "2026-11-20", 900, 90000, "EUR", "RECEIVED")},
    /* a person HR has not published yet */
    {"timesheet.entry", ENTRY("g1", "GHOST", "\"G1\"", "DELIVERY", "2026-11-10", 60, "APPROVED")},
    /* revenue: G1's time line at 60,000 a day before the rate change, a rechargeable expense line; G2's line
     * does not count (FIXED_PRICE) */
    {"finance.billing.line", LINE("G1|E1|2026-W46", 1, "TIME", "G1", "2026-W46", 300000, "GBP")},
    {"finance.billing.line", LINE("X9", 1, "EXPENSE", "G1", "2026-W46", 12000, "GBP")},
    {"finance.billing.line", LINE("G2|PT1|2026-W47", 1, "TIME", "G2", "2026-W47", 50000, "EUR")},
    /* a third-party cost in USD; a rejected one */
    {"finance.expense", EXPENSE("X1", "G1", "2026-11-10", 5000, "USD", "APPROVED")},
    {"finance.expense", EXPENSE("X2", "G1", "2026-11-10", 7000, "USD", "REJECTED")},
};
#define NSCEN (sizeof scenario / sizeof scenario[0])

static int row(struct fx *f, const char *eng, const char *week, const char *cur, struct mg_row *r)
{
    ol_store *st = ol_runtime_store(f->rt);
    MDB_txn *txn;
    ol_key k;
    MDB_val kv, v;
    ol_week w;
    assert_int_equal(ol_week_parse(week, &w), 0);
    ol_key_init(&k);
    ol_key_u8(&k, 'E');
    ol_key_str(&k, eng);
    ol_key_i32(&k, w);
    ol_key_str(&k, cur);
    kv = ol_key_val(&k);
    assert_int_equal(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn), 0);
    int rc = mdb_get(txn, ol_store_dbi(st, "rows"), &kv, &v);
    if (rc == 0)
        memcpy(r, v.mv_data, sizeof *r);
    mdb_txn_abort(txn);
    return rc;
}

static struct mg_row row_of(struct fx *f, const char *eng, const char *week, const char *cur)
{
    struct mg_row r;
    if (row(f, eng, week, cur, &r))
        fail_msg("no margin row %s %s %s", eng, week, cur);
    return r;
}

static int64_t ev(struct fx *f, const char *key, const char *field)
{
    int64_t v = -999999;
    if (derived_long(f, MW, key, field, &v))
        fail_msg("no %s event %s", MW, key);
    return v;
}

static void add_scenario(struct fx *f)
{
    for (size_t i = 0; i < NSCEN; i++)
        add(f, scenario[i][0], scenario[i][1]);
}

/* By hand, G1 2026-W46 in GBP:
 *   revenue 300,000 + 12,000 = 312,000;
 *   E1: 5 x 450 x 40,000 / 450 = 200,000;
 *   E2: 451 x 30,001 / 451 (Monday, capacity 451) + 200 x 30,001 / 450 + 60 x 30,001 / 450 (Saturday is not a
 *       working day: the standard day 1801 / 4 = 450) = 47,334.91 -> 47,335;
 *   K1: INV1 (100,001 for 1,800 minutes, 2026-11-12..18) over its engagement-weeks by week then engagement:
 *       (W46, G1) 900 -> 50,000.5 -> 50,001; (W47, internal) 150 -> 8,333.42 -> 8,333; (W47, G1) 450 ->
 *       25,000.25 -> 25,000; (W47, G2) the remainder 100,001 - 83,334 = 16,667. Wednesday 11-11 (450) lies
 *       before the period: uninvoiced, cost 0;
 *   cost 200,000 + 47,335 + 50,001 = 297,336; margin 14,664; 146,640,000 / 312,000 = 470 bp.
 * After the rate change from Wednesday (66,000 a day), billing restates the line: (900 x 60,000 + 1,350 x
 * 66,000) / 450 = 318,000; revenue 330,000, margin 32,664 (+18,000), 989 bp. */
static void test_engagement_week(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    add_scenario(f);
    fold(f);
    struct mg_row r = row_of(f, "G1", "2026-W46", "GBP");
    assert_int_equal(r.revenue, 312000);
    assert_int_equal(r.employee_cost, 247335);
    assert_int_equal(r.contractor_cost, 50001);
    assert_int_equal(r.partner_cost, 0);
    assert_int_equal(r.cost, 297336);
    assert_int_equal(r.margin, 14664);
    assert_int_equal(r.has_bp, 1);
    assert_int_equal(r.margin_bp, 470);
    assert_int_equal(r.employee_minutes, 2250 + 711);
    assert_int_equal(r.contractor_minutes, 900);
    assert_int_equal(r.uninvoiced_minutes, 450);
    assert_int_equal(r.uncosted_minutes, 60);
    assert_int_equal(ev(f, "G1|2026-W46|GBP", "margin_bp"), 470);
    /* the USD expense is a row of its own: cost without revenue */
    r = row_of(f, "G1", "2026-W46", "USD");
    assert_int_equal(r.expense_cost, 5000);
    assert_int_equal(r.margin, -5000);
    assert_int_equal(r.has_bp, 0);
    /* W47: K1's other shares; G2 is FIXED_PRICE (its EUR line is no revenue), PT1 costs EUR */
    assert_int_equal(row_of(f, "G1", "2026-W47", "GBP").contractor_cost, 25000);
    r = row_of(f, "G2", "2026-W47", "GBP");
    assert_int_equal(r.contractor_cost, 16667);
    assert_int_equal(r.revenue, 0);
    r = row_of(f, "G2", "2026-W47", "EUR");
    assert_int_equal(r.revenue, 0);
    assert_int_equal(r.partner_cost, 90000);
    assert_int_equal(r.margin, -90000);
    assert_int_equal(r.contractor_minutes, 900);

    add(f, "finance.billing.line", LINE("G1|E1|2026-W46", 2, "TIME", "G1", "2026-W46", 318000, "GBP"));
    fold(f);
    r = row_of(f, "G1", "2026-W46", "GBP");
    assert_int_equal(r.revenue, 330000);
    assert_int_equal(r.margin, 32664);
    assert_int_equal(r.margin_bp, 989);
    assert_int_equal(ev(f, "G1|2026-W46|GBP", "delta_margin_minor"), 18000);
    fx_free(f);
}

/* INV1: logged 1,800 (any activity, internal included), invoiced 1,800, billed 1,350 (G1 is T&M; G2 is
 * FIXED_PRICE, internal time is not billed); billed - logged = -450 minutes = 100,001 x -450 / 1,800 =
 * -25,000.25 -> -25,000. Withdrawn, its shares go: G1 W46 has no contractor cost and 1,350 uninvoiced
 * minutes, G2 W47's GBP row is gone (re-emitted at zero). */
static void test_three_way_and_withdrawal(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    add_scenario(f);
    fold(f);
    const char *k = "CONTRACTOR|K1|INV1";
    assert_int_equal(ev(f, k, "minutes_logged"), 1800);
    assert_int_equal(ev(f, k, "minutes_invoiced"), 1800);
    assert_int_equal(ev(f, k, "minutes_billed"), 1350);
    assert_int_equal(ev(f, k, "invoiced_minus_logged_minutes"), 0);
    assert_int_equal(ev(f, k, "invoiced_minus_logged_minor"), 0);
    assert_int_equal(ev(f, k, "billed_minus_logged_minutes"), -450);
    assert_int_equal(ev(f, k, "billed_minus_logged_minor"), -25000);
    /* PT1 invoices 900, logged 900, billed 0 (FIXED_PRICE): -900 minutes = -90,000 */
    assert_int_equal(ev(f, "CONTRACTOR|PT1|PINV1", "billed_minus_logged_minor"), -90000);

    add(f, "finance.contractor_invoice",
        INVOICE("INV1", 2, "K1", "2026-11-12", "2026-11-18", 1800, 100001, "GBP", "WITHDRAWN"));
    fold(f);
    struct mg_row r = row_of(f, "G1", "2026-W46", "GBP");
    assert_int_equal(r.contractor_cost, 0);
    assert_int_equal(r.contractor_minutes, 0);
    assert_int_equal(r.uninvoiced_minutes, 1350);
    assert_int_not_equal(row(f, "G2", "2026-W47", "GBP", &r), 0);
    assert_int_equal(ev(f, "G2|2026-W47|GBP", "contractor_cost_minor"), 0);
    assert_int_equal(ev(f, "G2|2026-W47|GBP", "delta_margin_minor"), 16667);
    assert_int_equal(ev(f, k, "invoice_status"), 1);
    fx_free(f);
}

/* K2's invoice of 101 for 6 minutes over 2026-11-02..20, where K2 logged 3
 * minutes on G1 in each of W45, W46 and W47 (9 in all):
 *   shares by week: 101 x 3 / 9 = 33.67 -> 34, 34, and the last takes the
 *   remainder 101 - 68 = 33, so the three sum to the invoice exactly;
 *   three-way: invoiced - logged = 6 - 9 = -3 minutes = 101 x -3 / 6 =
 *   -50.5 -> -51 (half away from zero); billed (G1 is T&M) - logged = 0. */
static void test_invoice_split_sums_and_rounds(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    add(f, "delivery.engagement", ENG("G1", "TIME_AND_MATERIALS", "GBP"));
    add(f, "hr.person", PERSON("K2", "CONTRACTOR", 2250, 31, 50000, "GBP"));
    add(f, "timesheet.entry", ENTRY("s1", "K2", "\"G1\"", "DELIVERY", "2026-11-02", 3, "APPROVED"));
    add(f, "timesheet.entry", ENTRY("s2", "K2", "\"G1\"", "DELIVERY", "2026-11-09", 3, "APPROVED"));
    add(f, "timesheet.entry", ENTRY("s3", "K2", "\"G1\"", "DELIVERY", "2026-11-16", 3, "APPROVED"));
    add(f, "finance.contractor_invoice", INVOICE("INV9", 1, "K2", "2026-11-02", "2026-11-20", 6, 101, "GBP", "RECEIVED"));
    fold(f);
    int64_t w45 = row_of(f, "G1", "2026-W45", "GBP").contractor_cost, w46 = row_of(f, "G1", "2026-W46", "GBP").contractor_cost,
            w47 = row_of(f, "G1", "2026-W47", "GBP").contractor_cost;
    assert_int_equal(w45, 34);
    assert_int_equal(w46, 34);
    assert_int_equal(w47, 33);
    assert_int_equal(w45 + w46 + w47, 101);
    const char *k = "CONTRACTOR|K2|INV9";
    assert_int_equal(ev(f, k, "minutes_logged"), 9);
    assert_int_equal(ev(f, k, "invoiced_minus_logged_minutes"), -3);
    assert_int_equal(ev(f, k, "invoiced_minus_logged_minor"), -51);
    assert_int_equal(ev(f, k, "billed_minus_logged_minor"), 0);
    fx_free(f);
}

/* an invoice whose period ends before it starts is a dead letter; the rest
 * folds. 70 of them in one batch (a supplier's export with its columns
 * swapped) are 70 dead letters from validation, the batch is folded once:
 * before, each failed in margin's fold, the batch was folded again per
 * record, and the 65th stopped the service on every restart. */
static void test_hostile_invoice(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    add(f, "delivery.engagement", ENG("G1", "TIME_AND_MATERIALS", "GBP"));
    add(f, "hr.person", PERSON("K1", "CONTRACTOR", 2250, 31, 50000, "GBP"));
    for (int i = 0; i < 70; i++) {
        char line[1024];
        snprintf(line, sizeof line,
                 "{\"event_id\":\"i-bad-%d\",\"occurred_at\":\"" AT "\",\"source\":\"fin\",\"revision\":1,"
                 "\"invoice_id\":\"BAD-%d\",\"person_id\":\"K1\",\"supplier\":\"Acme Contracting\","
                 "\"period_first_day\":\"2026-11-18\",\"period_last_day\":\"2026-11-12\",\"minutes_invoiced\":1800,"
                 "\"amount_minor\":100,\"currency\":\"GBP\",\"status\":\"RECEIVED\"}",
                 i, i);
        add(f, "finance.contractor_invoice", line);
    }
    add(f, "timesheet.entry", ENTRY("k1", "K1", "\"G1\"", "DELIVERY", "2026-11-12", 450, "APPROVED"));
    fold(f);
    assert_int_equal(fx_counter(f, "deadletters"), 70);
    assert_int_equal(row_of(f, "G1", "2026-W46", "GBP").uninvoiced_minutes, 450); /* no invoice covers it */
    fx_free(f);
}

/* Two forged (or saturated) billing lines of 6,000,000,000,000,000,000 on
 * one engagement-week: revenue saturates at INT64_MAX (ol_money_add) and the
 * margin is INT64_MAX - 200,000 (E1's cost, 5 x 450 x 40,000 / 450), never a
 * wrapped negative revenue; the margin in basis points is 9,999 (10,000 x
 * (INT64_MAX - 200,000) / INT64_MAX, truncated), and a restatement of one
 * line to 1,000 gives a delta that saturates too. */
static void test_money_saturates(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    add(f, "delivery.engagement", ENG("G1", "TIME_AND_MATERIALS", "GBP"));
    add(f, "hr.person", PERSON("E1", "EMPLOYEE", 2250, 31, 40000, "GBP"));
    for (int d = 9; d <= 13; d++) {
        char id[16], day[32], line[1024];
        snprintf(id, sizeof id, "s%d", d);
        snprintf(day, sizeof day, "2026-11-%02d", d);
        snprintf(line, sizeof line,
                 "{\"event_id\":\"t-%s\",\"occurred_at\":\"" AT "\",\"source\":\"ts\",\"revision\":1,"
                 "\"entry_id\":\"%s\",\"person_id\":\"E1\",\"engagement_id\":\"G1\",\"activity\":\"DELIVERY\","
                 "\"work_date\":\"%s\",\"minutes\":450,\"status\":\"APPROVED\"}",
                 id, id, day);
        add(f, "timesheet.entry", line);
    }
    add(f, "finance.billing.line", LINE("G1|E1|2026-W46", 1, "TIME", "G1", "2026-W46", 6000000000000000000, "GBP"));
    add(f, "finance.billing.line", LINE("G1|E2|2026-W46", 1, "TIME", "G1", "2026-W46", 6000000000000000000, "GBP"));
    fold(f);
    assert_int_equal(fx_counter(f, "deadletters"), 0);
    struct mg_row r = row_of(f, "G1", "2026-W46", "GBP");
    assert_true(r.revenue == INT64_MAX);
    assert_int_equal(r.employee_cost, 200000);
    assert_true(r.margin == INT64_MAX - 200000);
    assert_int_equal(r.margin_bp, 9999);
    assert_true(ev(f, "G1|2026-W46|GBP", "revenue_minor") == INT64_MAX);
    assert_true(ev(f, "G1|2026-W46|GBP", "margin_minor") == INT64_MAX - 200000);
    /* a cost beyond the revenue: the margin saturates below, never wraps above */
    add(f, "finance.billing.line", LINE("G1|E1|2026-W46", 2, "TIME", "G1", "2026-W46", 1000, "GBP"));
    add(f, "finance.billing.line", LINE("G1|E2|2026-W46", 2, "TIME", "G1", "2026-W46", -6000000000000000000, "GBP"));
    add(f, "finance.billing.line", LINE("G1|E3|2026-W46", 1, "TIME", "G1", "2026-W46", -6000000000000000000, "GBP"));
    fold(f);
    r = row_of(f, "G1", "2026-W46", "GBP");
    assert_true(r.revenue == INT64_MIN);
    assert_true(r.margin == INT64_MIN);
    assert_true(ev(f, "G1|2026-W46|GBP", "delta_margin_minor") == INT64_MIN);
    fx_free(f);
}

static const char *const margin_dbs[] = {"persons", "engs",     "entries", "eng_entries", "lines", "invoices",
                                         "expenses", "rows",    "entity",  "derived",     NULL};

static void check_scenario(struct fx *f) { assert_int_equal(row_of(f, "G1", "2026-W46", "GBP").margin, 14664); }

/* the scenario in 6 orders in one batch: byte-identical projections and derived
 * events; one record per batch in 4 more orders: identical projection rows */
static void test_order_independence(void **state)
{
    (void)state;
    svc_order_independence(&margin_service, scenario, NSCEN, margin_dbs, check_scenario);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engagement_week),
        cmocka_unit_test(test_three_way_and_withdrawal),
        cmocka_unit_test(test_invoice_split_sums_and_rounds),
        cmocka_unit_test(test_hostile_invoice),
        cmocka_unit_test(test_money_saturates),
        cmocka_unit_test(test_order_independence),
    };
    return cmocka_run_group_tests_name("margin", tests, NULL, NULL);
}
