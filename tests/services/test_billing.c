/* Fold tests of the billing service: hand-computed lines, rounding,
 * effective-dated rates, allocation roles, unpriced lines, re-emission with
 * deltas, post-close marking, expenses and contractor reconciliation. */
#include "fixture.h"
#include "billing/billing.h"
#include "svc_harness.h"

extern const ol_service billing_service;

static struct fx *fx_new(void) { return fx_new_for(&billing_service); }

#define PERSON(id, role, emp, cap, wd, cost)                                                                      \
    "{\"event_id\":\"p-" id "\",\"occurred_at\":\"2026-11-01T09:00:00Z\",\"source\":\"hr\",\"revision\":1,"       \
    "\"person_id\":\"" id "\",\"name\":\"N\",\"team\":\"data\",\"role\":\"" role "\",\"billable\":true,"           \
    "\"employment\":\"" emp "\",\"supplier\":null,\"weekly_capacity_minutes\":" #cap ",\"working_days\":" #wd       \
    ",\"day_cost_minor\":" #cost ",\"currency\":\"GBP\",\"joined_on\":\"2024-01-01\",\"left_on\":null}"

#define ENGAGEMENT(id, billing, mpd, cards)                                                                       \
    "{\"event_id\":\"g-" id "\",\"occurred_at\":\"2026-11-01T09:00:00Z\",\"source\":\"res\",\"revision\":1,"       \
    "\"engagement_id\":\"" id "\",\"client\":\"Acme\",\"name\":\"Build\",\"billing\":\"" billing "\","            \
    "\"lead\":\"SELF\",\"bill_to\":\"Acme Ltd\",\"currency\":\"GBP\",\"minutes_per_day\":" #mpd ","               \
    "\"budget_minor\":100000000,\"starts_on\":\"2026-01-01\",\"ends_on\":\"2027-06-30\",\"rate_card\":[" cards    \
    "],\"status\":\"ACTIVE\"}"

#define RATE(role, rate, from) "{\"role\":\"" role "\",\"day_rate_minor\":" #rate ",\"effective_from\":\"" from "\"}"

#define ENTRY(eid, id, rev, person, eng, date, min, status)                                                       \
    "{\"event_id\":\"" eid "\",\"occurred_at\":\"2026-11-13T17:00:00Z\",\"source\":\"ts\",\"revision\":" #rev      \
    ",\"entry_id\":\"" id "\",\"person_id\":\"" person "\",\"engagement_id\":\"" eng "\",\"activity\":"            \
    "\"DELIVERY\",\"work_date\":\"" date "\",\"minutes\":" #min ",\"status\":\"" status "\"}"

#define ALLOC(id, person, eng, role, first, last, status)                                                         \
    "{\"event_id\":\"a-" id "\",\"occurred_at\":\"2026-11-01T09:00:00Z\",\"source\":\"res\",\"revision\":1,"       \
    "\"allocation_id\":\"" id "\",\"engagement_id\":\"" eng "\",\"person_id\":\"" person "\",\"role\":\"" role    \
    "\",\"percent\":100,\"first_day\":\"" first "\",\"last_day\":\"" last "\",\"status\":\"" status "\"}"

#define PERIOD(week, status, rev)                                                                                 \
    "{\"event_id\":\"w-" week "-" #rev "\",\"occurred_at\":\"2026-11-16T09:00:00Z\",\"source\":\"finance\","     \
    "\"revision\":" #rev ",\"iso_week\":\"" week "\",\"status\":\"" status "\"}"

#define INVOICE(id, person, first, last, minutes, amount, status)                                                 \
    "{\"event_id\":\"i-" id "\",\"occurred_at\":\"2026-11-16T09:00:00Z\",\"source\":\"finance\",\"revision\":1,"  \
    "\"invoice_id\":\"" id "\",\"person_id\":\"" person "\",\"supplier\":\"Contracting Ltd\",\"period_first_day\":\"" \
    first "\",\"period_last_day\":\"" last "\",\"minutes_invoiced\":" #minutes ",\"amount_minor\":" #amount         \
    ",\"currency\":\"GBP\",\"status\":\"" status "\"}"

#define EXPENSE(eid, id, rev, amount, recharge, status)                                                           \
    "{\"event_id\":\"" eid "\",\"occurred_at\":\"2026-11-12T09:00:00Z\",\"source\":\"finance\",\"revision\":" #rev \
    ",\"expense_id\":\"" id "\",\"engagement_id\":\"G1\",\"supplier\":\"Rail\",\"description\":\"Train\","        \
    "\"incurred_on\":\"2026-11-10\",\"amount_minor\":" #amount ",\"currency\":\"GBP\",\"rechargeable\":" recharge \
    ",\"status\":\"" status "\"}"

static int64_t line(struct fx *f, const char *key, const char *field)
{
    int64_t v = -999999;
    if (derived_long(f, "finance.billing.line", key, field, &v))
        fail_msg("no billing line %s", key);
    return v;
}

static int64_t recon(struct fx *f, const char *key, const char *field)
{
    int64_t v = -999999;
    if (derived_long(f, "finance.contractor.reconciliation", key, field, &v))
        fail_msg("no reconciliation %s", key);
    return v;
}

/* Mon 450 + Tue 300 at 60,000 and Wed 450 at 66,000 (rate rise effective
 * Wednesday) = 74,700,000 / 450 = 166,000; Thursday's 225 SUBMITTED are
 * pending, not charged */
static void test_line_with_rate_rise(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    add(f, "hr.person", PERSON("P1", "CONSULTANT", "EMPLOYEE", 2250, 31, 40000));
    add(f, "delivery.engagement",
        ENGAGEMENT("G1", "TIME_AND_MATERIALS", 450,
                   RATE("CONSULTANT", 60000, "2026-01-01") "," RATE("CONSULTANT", 66000, "2026-11-11") ","
                       RATE("SENIOR", 90000, "2026-01-01")));
    add(f, "timesheet.entry", ENTRY("e1", "E1", 1, "P1", "G1", "2026-11-09", 450, "APPROVED"));
    add(f, "timesheet.entry", ENTRY("e2", "E2", 1, "P1", "G1", "2026-11-10", 300, "APPROVED"));
    add(f, "timesheet.entry", ENTRY("e3", "E3", 1, "P1", "G1", "2026-11-11", 450, "APPROVED"));
    add(f, "timesheet.entry", ENTRY("e4", "E4", 1, "P1", "G1", "2026-11-12", 225, "SUBMITTED"));
    fold(f);
    const char *k = "G1|P1|2026-W46";
    assert_int_equal(line(f, k, "amount_minor"), 166000);
    assert_int_equal(line(f, k, "approved_minutes"), 1200);
    assert_int_equal(line(f, k, "pending_minutes"), 225);
    assert_int_equal(line(f, k, "day_rate_minor"), 66000);
    assert_int_equal(line(f, k, "priced"), 1);
    assert_int_equal(line(f, k, "revision"), 1);
    assert_int_equal(line(f, k, "delta_minor"), 166000);

    /* a CONFIRMED allocation as SENIOR on Friday prices Friday at 90,000 */
    add(f, "delivery.allocation", ALLOC("A1", "P1", "G1", "SENIOR", "2026-11-13", "2026-11-20", "CONFIRMED"));
    add(f, "timesheet.entry", ENTRY("e5", "E5", 1, "P1", "G1", "2026-11-13", 450, "APPROVED"));
    fold(f);
    assert_int_equal(line(f, k, "amount_minor"), 166000 + 90000);
    assert_int_equal(line(f, k, "delta_minor"), 90000);
    assert_int_equal(line(f, k, "revision"), 2);

    /* the entry amended to 225 minutes: delta -45,000 */
    add(f, "timesheet.entry", ENTRY("e5b", "E5", 2, "P1", "G1", "2026-11-13", 225, "APPROVED"));
    fold(f);
    assert_int_equal(line(f, k, "amount_minor"), 166000 + 45000);
    assert_int_equal(line(f, k, "delta_minor"), -45000);
    assert_int_equal(line(f, k, "delta_minutes"), -225);
    fx_free(f);
}

/* rounding once per line, half away from zero: 1 minute on each of two days
 * at 225/day over 450 minutes = 450/450 = 1 (per-day rounding would give 2);
 * 3 minutes = 675/450 = 1.5 -> 2 */
static void test_rounding(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    add(f, "hr.person", PERSON("P2", "JUNIOR", "EMPLOYEE", 2250, 31, 10000));
    add(f, "delivery.engagement", ENGAGEMENT("G2", "TIME_AND_MATERIALS", 450, RATE("JUNIOR", 225, "2026-01-01")));
    add(f, "timesheet.entry", ENTRY("r1", "R1", 1, "P2", "G2", "2026-11-09", 1, "APPROVED"));
    add(f, "timesheet.entry", ENTRY("r2", "R2", 1, "P2", "G2", "2026-11-10", 1, "APPROVED"));
    fold(f);
    assert_int_equal(line(f, "G2|P2|2026-W46", "amount_minor"), 1);
    add(f, "timesheet.entry", ENTRY("r3", "R3", 1, "P2", "G2", "2026-11-11", 1, "APPROVED"));
    fold(f);
    assert_int_equal(line(f, "G2|P2|2026-W46", "amount_minor"), 2);
    /* the rounding rule itself, negatives and 128-bit sums: tests/unit/test_rules.c */
    fx_free(f);
}

/* no rate for the role: held, shown as unpriced, never guessed */
static void test_unpriced(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    add(f, "hr.person", PERSON("P3", "ARCHITECT", "EMPLOYEE", 2250, 31, 10000));
    add(f, "delivery.engagement", ENGAGEMENT("G1", "TIME_AND_MATERIALS", 450, RATE("CONSULTANT", 60000, "2026-01-01")));
    add(f, "timesheet.entry", ENTRY("u1", "U1", 1, "P3", "G1", "2026-11-09", 450, "APPROVED"));
    fold(f);
    assert_int_equal(line(f, "G1|P3|2026-W46", "priced"), 0);
    assert_int_equal(line(f, "G1|P3|2026-W46", "unpriced_minutes"), 450);
    assert_int_equal(line(f, "G1|P3|2026-W46", "amount_minor"), 0);
    /* the rate arrives: the line is priced and re-emitted */
    add(f, "delivery.engagement",
        "{\"event_id\":\"g-G1-2\",\"occurred_at\":\"2026-11-02T09:00:00Z\",\"source\":\"res\",\"revision\":2,"
        "\"engagement_id\":\"G1\",\"client\":\"Acme\",\"name\":\"Build\",\"billing\":\"TIME_AND_MATERIALS\","
        "\"lead\":\"SELF\",\"bill_to\":\"Acme Ltd\",\"currency\":\"GBP\",\"minutes_per_day\":450,"
        "\"budget_minor\":100000000,\"starts_on\":\"2026-01-01\",\"ends_on\":\"2027-06-30\",\"rate_card\":["
        RATE("CONSULTANT", 60000, "2026-01-01") "," RATE("ARCHITECT", 120000, "2026-01-01") "],\"status\":\"ACTIVE\"}");
    fold(f);
    assert_int_equal(line(f, "G1|P3|2026-W46", "priced"), 1);
    assert_int_equal(line(f, "G1|P3|2026-W46", "amount_minor"), 120000);
    assert_int_equal(line(f, "G1|P3|2026-W46", "revision"), 2);
    fx_free(f);
}

/* a line of a CLOSED week amended after the close is marked post_close;
 * fixed-price and non-billable engagements have no lines */
static void test_post_close_and_non_tm(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    add(f, "hr.person", PERSON("P1", "CONSULTANT", "EMPLOYEE", 2250, 31, 40000));
    add(f, "delivery.engagement", ENGAGEMENT("G1", "TIME_AND_MATERIALS", 450, RATE("CONSULTANT", 60000, "2026-01-01")));
    add(f, "delivery.engagement", ENGAGEMENT("GF", "FIXED_PRICE", 450, RATE("CONSULTANT", 60000, "2026-01-01")));
    add(f, "timesheet.entry", ENTRY("c1", "C1", 1, "P1", "G1", "2026-11-09", 450, "APPROVED"));
    add(f, "timesheet.entry", ENTRY("c2", "C2", 1, "P1", "GF", "2026-11-09", 450, "APPROVED"));
    fold(f);
    assert_int_equal(line(f, "G1|P1|2026-W46", "post_close"), 0);
    int64_t v;
    assert_int_equal(derived_long(f, "finance.billing.line", "GF|P1|2026-W46", "amount_minor", &v), MDB_NOTFOUND);
    add(f, "finance.period", PERIOD("2026-W46", "CLOSED", 1));
    fold(f);
    assert_int_equal(line(f, "G1|P1|2026-W46", "period_status"), 1);
    assert_int_equal(line(f, "G1|P1|2026-W46", "post_close"), 0); /* closing alone changes no money */
    /* an amendment made after the close (data time: its occurred_at is later
     * than the period record's 2026-11-16T09:00) */
    add(f, "timesheet.entry",
        "{\"event_id\":\"c1b\",\"occurred_at\":\"2026-11-17T10:00:00Z\",\"source\":\"ts\",\"revision\":2,"
        "\"entry_id\":\"C1\",\"person_id\":\"P1\",\"engagement_id\":\"G1\",\"activity\":\"DELIVERY\","
        "\"work_date\":\"2026-11-09\",\"minutes\":300,\"status\":\"APPROVED\"}");
    fold(f);
    assert_int_equal(line(f, "G1|P1|2026-W46", "post_close"), 1);
    assert_int_equal(line(f, "G1|P1|2026-W46", "delta_minor"), -20000);
    fx_free(f);
}

static void test_expense_lines(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    add(f, "delivery.engagement", ENGAGEMENT("G1", "TIME_AND_MATERIALS", 450, RATE("CONSULTANT", 60000, "2026-01-01")));
    add(f, "finance.expense", EXPENSE("x1", "X1", 1, 12345, "true", "APPROVED"));
    add(f, "finance.expense", EXPENSE("x2", "X2", 1, 999, "false", "APPROVED"));
    add(f, "finance.expense", EXPENSE("x3", "X3", 1, 500, "true", "SUBMITTED"));
    fold(f);
    assert_int_equal(line(f, "X1", "amount_minor"), 12345);
    assert_int_equal(line(f, "X1", "kind"), 1);
    int64_t v;
    assert_int_equal(derived_long(f, "finance.billing.line", "X2", "amount_minor", &v), MDB_NOTFOUND);
    assert_int_equal(derived_long(f, "finance.billing.line", "X3", "amount_minor", &v), MDB_NOTFOUND);
    add(f, "finance.expense", EXPENSE("x1b", "X1", 2, 12345, "true", "REJECTED"));
    fold(f);
    assert_int_equal(line(f, "X1", "amount_minor"), 0);
    assert_int_equal(line(f, "X1", "delta_minor"), -12345);
    fx_free(f);
}

/* a contractor's day is 2250/5 = 450 minutes at 50,000: 5 approved days cost
 * 250,000 */
static void test_reconciliation(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    const char *days[] = {"2026-11-09", "2026-11-10", "2026-11-11", "2026-11-12", "2026-11-13"};
    char buf[512];
    add(f, "hr.person", PERSON("C1", "ENGINEER", "CONTRACTOR", 2250, 31, 50000));
    add(f, "hr.person", PERSON("C2", "ENGINEER", "CONTRACTOR", 2250, 31, 50000));
    add(f, "hr.person", PERSON("C3", "ENGINEER", "CONTRACTOR", 2250, 31, 50000));
    for (int i = 0; i < 5; i++) {
        for (int p = 1; p <= 3; p++) {
            snprintf(buf, sizeof buf,
                     "{\"event_id\":\"c%d-%d\",\"occurred_at\":\"2026-11-13T17:00:00Z\",\"source\":\"ts\","
                     "\"revision\":1,\"entry_id\":\"C%d-%d\",\"person_id\":\"C%d\",\"engagement_id\":null,"
                     "\"activity\":\"DELIVERY\",\"work_date\":\"%s\",\"minutes\":450,\"status\":\"APPROVED\"}",
                     p, i, p, i, p, days[i]);
            add(f, "timesheet.entry", buf);
        }
    }
    add(f, "finance.contractor_invoice", INVOICE("I1", "C1", "2026-11-09", "2026-11-15", 2250, 250000, "RECEIVED"));
    add(f, "finance.contractor_invoice", INVOICE("I2", "C2", "2026-11-09", "2026-11-15", 2700, 300000, "RECEIVED"));
    add(f, "finance.contractor_invoice", INVOICE("I3", "C3", "2026-11-09", "2026-11-15", 2250, 260000, "RECEIVED"));
    add(f, "finance.contractor_invoice", INVOICE("I4", "C1", "2026-11-23", "2026-11-29", 2250, 250000, "RECEIVED"));
    fold(f);
    assert_int_equal(recon(f, "I1", "status"), 0); /* MATCHED */
    assert_int_equal(recon(f, "I1", "amount_expected_minor"), 250000);
    assert_int_equal(recon(f, "I2", "status"), 1); /* OVER_INVOICED */
    assert_int_equal(recon(f, "I3", "status"), 3); /* RATE_MISMATCH */
    assert_int_equal(recon(f, "I3", "delta_minor"), 10000);
    assert_int_equal(recon(f, "I4", "status"), 5); /* NO_TIMESHEETS */

    /* a second invoice over the same days: both OVERLAPPING */
    add(f, "finance.contractor_invoice", INVOICE("I5", "C1", "2026-11-13", "2026-11-20", 450, 50000, "RECEIVED"));
    fold(f);
    assert_int_equal(recon(f, "I1", "status"), 4);
    assert_int_equal(recon(f, "I5", "status"), 4);
    /* withdrawn: I1 matches again */
    add(f, "finance.contractor_invoice",
        "{\"event_id\":\"i-I5-2\",\"occurred_at\":\"2026-11-17T09:00:00Z\",\"source\":\"finance\",\"revision\":2,"
        "\"invoice_id\":\"I5\",\"person_id\":\"C1\",\"supplier\":\"Contracting Ltd\",\"period_first_day\":"
        "\"2026-11-13\",\"period_last_day\":\"2026-11-20\",\"minutes_invoiced\":450,\"amount_minor\":50000,"
        "\"currency\":\"GBP\",\"status\":\"WITHDRAWN\"}");
    fold(f);
    assert_int_equal(recon(f, "I5", "status"), 6);
    assert_int_equal(recon(f, "I1", "status"), 0);
    /* a timesheet of the period rejected: the contractor now invoices more
     * than the 1800 approved minutes left */
    add(f, "timesheet.entry",
        "{\"event_id\":\"c1-0b\",\"occurred_at\":\"2026-11-14T17:00:00Z\",\"source\":\"ts\",\"revision\":2,"
        "\"entry_id\":\"C1-0\",\"person_id\":\"C1\",\"engagement_id\":null,\"activity\":\"DELIVERY\","
        "\"work_date\":\"2026-11-09\",\"minutes\":450,\"status\":\"REJECTED\"}");
    fold(f);
    assert_int_equal(recon(f, "I1", "minutes_logged"), 1800);
    assert_int_equal(recon(f, "I1", "status"), 1); /* OVER_INVOICED */
    fx_free(f);
}

/* an entry with engagement_id null, as timesheet.entry JSON */
#define INTERNAL(eid, id, rev, person, date, min)                                                                 \
    "{\"event_id\":\"" eid "\",\"occurred_at\":\"2026-11-13T17:00:00Z\",\"source\":\"ts\",\"revision\":" #rev      \
    ",\"entry_id\":\"" id "\",\"person_id\":\"" person "\",\"engagement_id\":null,\"activity\":\"INTERNAL\","      \
    "\"work_date\":\"" date "\",\"minutes\":" #min ",\"status\":\"APPROVED\"}"

/* C1 (50,000 a day of 2,250 / 5 = 450 minutes) invoices I1 for Wednesday
 * 2026-11-11 to Tuesday 11-17 (two weeks), 1,350 minutes, 150,000. Approved
 * inside it: E2 450 (G1, Wed), E3 300 (G2, Thu), E4 150 (no engagement, Fri),
 * E5 450 (G2, Mon of W47) = 1,350 -> MATCHED, expected 1,350 x 50,000 x 5 /
 * 2,250 = 150,000. Not counted: E1 (Tue 11-10) and E7 (Wed 11-18) outside,
 * E6 SUBMITTED. */
static void reconciliation_scenario(struct fx *f)
{
    add(f, "hr.person", PERSON("C1", "ENGINEER", "CONTRACTOR", 2250, 31, 50000));
    add(f, "delivery.engagement", ENGAGEMENT("G1", "TIME_AND_MATERIALS", 450, ""));
    add(f, "delivery.engagement", ENGAGEMENT("G2", "TIME_AND_MATERIALS", 450, ""));
    add(f, "timesheet.entry", ENTRY("e1", "E1", 1, "C1", "G1", "2026-11-10", 450, "APPROVED"));
    add(f, "timesheet.entry", ENTRY("e2", "E2", 1, "C1", "G1", "2026-11-11", 450, "APPROVED"));
    add(f, "timesheet.entry", ENTRY("e3", "E3", 1, "C1", "G2", "2026-11-12", 300, "APPROVED"));
    add(f, "timesheet.entry", INTERNAL("e4", "E4", 1, "C1", "2026-11-13", 150));
    add(f, "timesheet.entry", ENTRY("e5", "E5", 1, "C1", "G2", "2026-11-16", 450, "APPROVED"));
    add(f, "timesheet.entry", ENTRY("e6", "E6", 1, "C1", "G1", "2026-11-17", 200, "SUBMITTED"));
    add(f, "timesheet.entry", ENTRY("e7", "E7", 1, "C1", "G1", "2026-11-18", 450, "APPROVED"));
    add(f, "finance.contractor_invoice", INVOICE("I1", "C1", "2026-11-11", "2026-11-17", 1350, 150000, "RECEIVED"));
}

/* E3 moves to no engagement on Tue 11-10 (outside): 1,050 logged, OVER_INVOICED,
 * expected 1,050 x 50,000 x 5 / 2,250 = 116,666.67 -> 116,667. E4 moves to G2
 * on Sat 11-14 with 300: 450 + 300 + 450 = 1,200, expected 133,333.33 ->
 * 133,333. */
static void reconciliation_moves(struct fx *f)
{
    add(f, "timesheet.entry", INTERNAL("e3b", "E3", 2, "C1", "2026-11-10", 300));
    fold(f);
    assert_int_equal(recon(f, "I1", "minutes_logged"), 1050);
    assert_int_equal(recon(f, "I1", "amount_expected_minor"), 116667);
    assert_int_equal(recon(f, "I1", "status"), 1); /* OVER_INVOICED */
    add(f, "timesheet.entry", ENTRY("e4b", "E4", 2, "C1", "G2", "2026-11-14", 300, "APPROVED"));
    fold(f);
    assert_int_equal(recon(f, "I1", "minutes_logged"), 1200);
    assert_int_equal(recon(f, "I1", "amount_expected_minor"), 133333);
}

/* a contractor's approved minutes are counted under every engagement and none,
 * across the weeks of the period, and follow an entry that moves */
static void test_reconciliation_across_engagements(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    reconciliation_scenario(f);
    fold(f);
    assert_int_equal(recon(f, "I1", "minutes_logged"), 1350);
    assert_int_equal(recon(f, "I1", "amount_expected_minor"), 150000);
    assert_int_equal(recon(f, "I1", "status"), 0); /* MATCHED */
    reconciliation_moves(f);
    fx_free(f);
}

/* A directory from before 2026-12-03 kept every entry twice: ep_entries held
 * those with an engagement, pd_entries (person, day, entry) all of them.
 * Opened by this release, its entries without an engagement move into
 * ep_entries, pd_entries is dropped, and the projection is the one a fresh
 * fold leaves; reconciliation then reads them. */
static void test_entries_layout_upgrade(void **state)
{
    (void)state;
    static const char *const dbs[] = {"ep_entries", "pe", "wk_lines", "lines", "recon", NULL};
    struct fx *f = fx_new();
    reconciliation_scenario(f);
    fold(f);
    char *fresh = svc_dump_dbs(f, dbs, 0);

    /* back to the old layout */
    ol_store *st = ol_runtime_store(f->rt);
    MDB_txn *txn;
    MDB_dbi pd, ep = ol_store_dbi(st, "ep_entries");
    MDB_cursor *c;
    MDB_val k, v;
    size_t internal = 0;
    assert_int_equal(mdb_txn_begin(st->env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "pd_entries", MDB_CREATE, &pd), 0);
    assert_int_equal(mdb_cursor_open(txn, ep, &c), 0);
    int rc;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        const char *eng = k.mv_data, *person = eng + strlen(eng) + 1, *id = person + strlen(person) + 1 + 4;
        struct bill_entry e;
        memcpy(&e, v.mv_data, sizeof e);
        ol_key pk;
        ol_key_init(&pk);
        ol_key_str(&pk, person);
        ol_key_i32(&pk, e.work_date);
        ol_key_str(&pk, id);
        MDB_val pkv = ol_key_val(&pk), val = {sizeof e, &e};
        assert_int_equal(mdb_put(txn, pd, &pkv, &val, 0), 0);
        if (!*eng) {
            assert_int_equal(mdb_cursor_del(c, 0), 0);
            internal++;
        }
    }
    assert_int_equal(rc, MDB_NOTFOUND);
    mdb_cursor_close(c);
    assert_int_equal(mdb_txn_commit(txn), 0);
    assert_int_equal(internal, 1); /* E4 */
    char *old = svc_dump_dbs(f, dbs, 0);
    assert_string_not_equal(old, fresh);

    /* opened again: upgraded */
    char err[512];
    ol_runtime_free(f->rt);
    ol_runtime_opts o = {.db_path = f->dir, .publish = 0, .batch_max = 100};
    f->rt = ol_runtime_new(&billing_service, &f->cfg, f->schemas, &o, err, sizeof err);
    if (!f->rt)
        fail_msg("runtime: %s", err);
    char *upgraded = svc_dump_dbs(f, dbs, 0);
    assert_string_equal(upgraded, fresh);
    st = ol_runtime_store(f->rt);
    assert_int_equal(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "pd_entries", 0, &pd), MDB_NOTFOUND);
    mdb_txn_abort(txn);
    reconciliation_moves(f);
    free(fresh);
    free(old);
    free(upgraded);
    fx_free(f);
}

/* An expense_id that reads as a time line's key ("G1|P1|2026-W46") is a dead
 * letter: before, its EXPENSE line took the key of the time line, and the
 * web (which keeps a key's latest revision) lost the time line. */
static void test_expense_id_with_key_separator(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    add(f, "hr.person", PERSON("P1", "ENGINEER", "EMPLOYEE", 2250, 31, 40000));
    add(f, "delivery.engagement", ENGAGEMENT("G1", "TIME_AND_MATERIALS", 450, RATE("ENGINEER", 60000, "2026-01-01")));
    add(f, "timesheet.entry", ENTRY("t1", "T1", 1, "P1", "G1", "2026-11-09", 450, "APPROVED"));
    add(f, "finance.expense", EXPENSE("x1", "G1|P1|2026-W46", 1, 99, "true", "APPROVED"));
    fold(f);
    assert_int_equal(fx_counter(f, "deadletters"), 1);
    assert_int_equal(line(f, "G1|P1|2026-W46", "amount_minor"), 60000);
    assert_int_equal(line(f, "G1|P1|2026-W46", "revision"), 1);
    assert_int_equal(line(f, "G1|P1|2026-W46", "kind"), KIND_TIME);
    fx_free(f);
}

/* issue 14 item 9 (SPEC section 2): a recompute that gives the figures last
 * emitted publishes nothing, even though the previous emission carried
 * non-zero deltas; a real change is emitted with deltas against the last
 * EMITTED figures. */
static void test_same_figures_not_republished(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    const char *k = "G1|P1|2026-W46";
    add(f, "hr.person", PERSON("P1", "CONSULTANT", "EMPLOYEE", 2250, 31, 40000));
    add(f, "delivery.engagement", ENGAGEMENT("G1", "TIME_AND_MATERIALS", 450, RATE("CONSULTANT", 60000, "2026-01-01")));
    add(f, "timesheet.entry", ENTRY("s1", "S1", 1, "P1", "G1", "2026-11-09", 450, "APPROVED"));
    add(f, "timesheet.entry", ENTRY("s2", "S2", 1, "P1", "G1", "2026-11-10", 450, "APPROVED"));
    fold(f);
    assert_int_equal(line(f, k, "revision"), 1);
    assert_int_equal(line(f, k, "delta_minor"), 120000);
    int64_t emitted = fx_counter(f, "emitted");

    /* amended and amended back in one batch: the same figures */
    add(f, "timesheet.entry", ENTRY("s2b", "S2", 2, "P1", "G1", "2026-11-10", 300, "APPROVED"));
    add(f, "timesheet.entry", ENTRY("s2c", "S2", 3, "P1", "G1", "2026-11-10", 450, "APPROVED"));
    fold(f);
    assert_int_equal(line(f, k, "revision"), 1);
    assert_int_equal(fx_counter(f, "emitted"), emitted);

    /* an engagement revision that changes no rate (its name) recomputes the line */
    add(f, "delivery.engagement",
        "{\"event_id\":\"g-G1-2\",\"occurred_at\":\"2026-11-02T09:00:00Z\",\"source\":\"res\",\"revision\":2,"
        "\"engagement_id\":\"G1\",\"client\":\"Acme\",\"name\":\"Build phase 2\",\"billing\":\"TIME_AND_MATERIALS\","
        "\"lead\":\"SELF\",\"bill_to\":\"Acme Ltd\",\"currency\":\"GBP\",\"minutes_per_day\":450,"
        "\"budget_minor\":100000000,\"starts_on\":\"2026-01-01\",\"ends_on\":\"2027-06-30\",\"rate_card\":["
        RATE("CONSULTANT", 60000, "2026-01-01") "],\"status\":\"ACTIVE\"}");
    fold(f);
    assert_int_equal(line(f, k, "revision"), 1);
    assert_int_equal(fx_counter(f, "emitted"), emitted);

    /* a third entry moved between two states that count for nothing */
    add(f, "timesheet.entry", ENTRY("s3", "S3", 1, "P1", "G1", "2026-11-11", 450, "REJECTED"));
    fold(f);
    add(f, "timesheet.entry", ENTRY("s3b", "S3", 2, "P1", "G1", "2026-11-11", 450, "DELETED"));
    fold(f);
    assert_int_equal(line(f, k, "revision"), 1);
    assert_int_equal(fx_counter(f, "emitted"), emitted);

    /* figures change: emitted, deltas against revision 1 */
    add(f, "timesheet.entry", ENTRY("s2d", "S2", 4, "P1", "G1", "2026-11-10", 300, "APPROVED"));
    fold(f);
    assert_int_equal(line(f, k, "revision"), 2);
    assert_int_equal(line(f, k, "amount_minor"), 100000);
    assert_int_equal(line(f, k, "delta_minor"), -20000);
    assert_int_equal(line(f, k, "delta_minutes"), -150);
    assert_int_equal(fx_counter(f, "emitted"), emitted + 1);

    /* deltas non-zero, then a recompute with the same figures: nothing */
    add(f, "hr.person",
        "{\"event_id\":\"p-P1-2\",\"occurred_at\":\"2026-11-02T09:00:00Z\",\"source\":\"hr\",\"revision\":2,"
        "\"person_id\":\"P1\",\"name\":\"Renamed\",\"team\":\"data\",\"role\":\"CONSULTANT\",\"billable\":true,"
        "\"employment\":\"EMPLOYEE\",\"supplier\":null,\"weekly_capacity_minutes\":2250,\"working_days\":31,"
        "\"day_cost_minor\":40000,\"currency\":\"GBP\",\"joined_on\":\"2024-01-01\",\"left_on\":null}");
    fold(f);
    assert_int_equal(line(f, k, "revision"), 2);
    assert_int_equal(line(f, k, "delta_minor"), -20000);
    assert_int_equal(fx_counter(f, "emitted"), emitted + 1);

    /* back to 450: revision 3, +20,000 against revision 2 */
    add(f, "timesheet.entry", ENTRY("s2e", "S2", 5, "P1", "G1", "2026-11-10", 450, "APPROVED"));
    fold(f);
    assert_int_equal(line(f, k, "revision"), 3);
    assert_int_equal(line(f, k, "delta_minor"), 20000);
    assert_int_equal(line(f, k, "delta_minutes"), 150);
    fx_free(f);
}

/* the same rule for contractor reconciliation (its delta_minor is the change
 * of invoiced - expected) */
static void test_same_reconciliation_not_republished(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    add(f, "hr.person", PERSON("C1", "ENGINEER", "CONTRACTOR", 2250, 31, 50000));
    add(f, "timesheet.entry",
        "{\"event_id\":\"k1\",\"occurred_at\":\"2026-11-13T17:00:00Z\",\"source\":\"ts\",\"revision\":1,"
        "\"entry_id\":\"K1\",\"person_id\":\"C1\",\"engagement_id\":null,\"activity\":\"DELIVERY\","
        "\"work_date\":\"2026-11-09\",\"minutes\":450,\"status\":\"APPROVED\"}");
    add(f, "finance.contractor_invoice", INVOICE("I1", "C1", "2026-11-09", "2026-11-15", 450, 52000, "RECEIVED"));
    fold(f);
    assert_int_equal(recon(f, "I1", "revision"), 1);
    assert_int_equal(recon(f, "I1", "status"), 3); /* RATE_MISMATCH: 2,000 over the 50,000 expected */
    assert_int_equal(recon(f, "I1", "delta_minor"), 2000);
    int64_t emitted = fx_counter(f, "emitted");
    /* a person revision that changes nothing the invoice is checked against */
    add(f, "hr.person",
        "{\"event_id\":\"p-C1-2\",\"occurred_at\":\"2026-11-02T09:00:00Z\",\"source\":\"hr\",\"revision\":2,"
        "\"person_id\":\"C1\",\"name\":\"Renamed\",\"team\":\"data\",\"role\":\"ENGINEER\",\"billable\":true,"
        "\"employment\":\"CONTRACTOR\",\"supplier\":null,\"weekly_capacity_minutes\":2250,\"working_days\":31,"
        "\"day_cost_minor\":50000,\"currency\":\"GBP\",\"joined_on\":\"2024-01-01\",\"left_on\":null}");
    fold(f);
    assert_int_equal(recon(f, "I1", "revision"), 1);
    assert_int_equal(fx_counter(f, "emitted"), emitted);
    fx_free(f);
}

/* ---- issue 14 item 10: post_close from data time (SPEC section 3) */

#define ENTRY_AT(eid, id, rev, person, date, min, status, at)                                                     \
    "{\"event_id\":\"" eid "\",\"occurred_at\":\"" at "\",\"source\":\"ts\",\"revision\":" #rev                   \
    ",\"entry_id\":\"" id "\",\"person_id\":\"" person "\",\"engagement_id\":\"G1\",\"activity\":"                 \
    "\"DELIVERY\",\"work_date\":\"" date "\",\"minutes\":" #min ",\"status\":\"" status "\"}"

#define PERIOD_AT(week, status, rev, at)                                                                          \
    "{\"event_id\":\"w-" week "-" #rev "\",\"occurred_at\":\"" at "\",\"source\":\"finance\","                    \
    "\"revision\":" #rev ",\"iso_week\":\"" week "\",\"status\":\"" status "\"}"

#define ENG_AT(rev, name, crate, srate, at)                                                                               \
    "{\"event_id\":\"g-G1-" #rev "\",\"occurred_at\":\"" at "\",\"source\":\"res\",\"revision\":" #rev           \
    ",\"engagement_id\":\"G1\",\"client\":\"Acme\",\"name\":\"" name "\",\"billing\":\"TIME_AND_MATERIALS\","    \
    "\"lead\":\"SELF\",\"bill_to\":\"Acme Ltd\",\"currency\":\"GBP\",\"minutes_per_day\":450,"                     \
    "\"budget_minor\":100000000,\"starts_on\":\"2026-01-01\",\"ends_on\":\"2027-06-30\",\"rate_card\":["          \
    RATE("CONSULTANT", crate, "2026-01-01") "," RATE("SENIOR", srate, "2026-01-01") "],\"status\":\"ACTIVE\"}"

#define ALLOC_AT(id, rev, person, role, status, at)                                                               \
    "{\"event_id\":\"a-" id "-" #rev "\",\"occurred_at\":\"" at "\",\"source\":\"res\",\"revision\":" #rev        \
    ",\"allocation_id\":\"" id "\",\"engagement_id\":\"G1\",\"person_id\":\"" person "\",\"role\":\"" role        \
    "\",\"percent\":100,\"first_day\":\"2026-11-09\",\"last_day\":\"2026-11-13\",\"status\":\"" status "\"}"

/* W46 of P1, P2 and P3 on G1; finance closes W46 on Monday 16th 09:00; on
 * the 18th P1's Monday is amended (a late amendment). P3 is SENIOR through a
 * CONFIRMED allocation made before the close. Records [0, NLIVE_A) arrive
 * before the close, then the close, then the amendment. */
static const char *const pc_recs[][2] = {
    {"hr.person", PERSON("P1", "CONSULTANT", "EMPLOYEE", 2250, 31, 40000)},
    {"hr.person", PERSON("P2", "CONSULTANT", "EMPLOYEE", 2250, 31, 40000)},
    {"hr.person", PERSON("P3", "CONSULTANT", "EMPLOYEE", 2250, 31, 40000)},
    {"delivery.engagement", ENG_AT(1, "Build", 60000, 90000, "2026-11-01T09:00:00Z")},
    {"delivery.allocation", ALLOC_AT("A3", 1, "P3", "SENIOR", "CONFIRMED", "2026-11-02T09:00:00Z")},
    {"timesheet.entry", ENTRY_AT("q1", "Q1", 1, "P1", "2026-11-09", 450, "APPROVED", "2026-11-13T17:00:00Z")},
    {"timesheet.entry", ENTRY_AT("q2", "Q2", 1, "P2", "2026-11-09", 450, "APPROVED", "2026-11-13T17:00:00Z")},
    {"timesheet.entry", ENTRY_AT("q3", "Q3", 1, "P3", "2026-11-09", 450, "APPROVED", "2026-11-13T17:00:00Z")},
    {"finance.period", PERIOD_AT("2026-W46", "CLOSED", 1, "2026-11-16T09:00:00Z")},
    {"timesheet.entry", ENTRY_AT("q1b", "Q1", 2, "P1", "2026-11-09", 300, "APPROVED", "2026-11-18T10:00:00Z")},
};
#define NPC (sizeof pc_recs / sizeof pc_recs[0])

static void pc_flags(struct fx *f, int64_t out[3])
{
    static const char *const keys[] = {"G1|P1|2026-W46", "G1|P2|2026-W46", "G1|P3|2026-W46"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(line(f, keys[i], "period_status"), 1);
        out[i] = line(f, keys[i], "post_close");
    }
    assert_int_equal(line(f, "G1|P1|2026-W46", "amount_minor"), 40000);
}

/* live order (one batch before the close, the close, the amendment), all
 * at once from offset 0, the reverse order in one batch and one record per
 * batch in reverse: the same flags, only the amended line post_close */
static void test_post_close_is_data_time(void **state)
{
    (void)state;
    int64_t live[3], all[3], rev[3], rev1[3];
    struct fx *f = fx_new();
    for (size_t i = 0; i < NPC - 2; i++)
        add(f, pc_recs[i][0], pc_recs[i][1]);
    fold(f);
    add(f, pc_recs[NPC - 2][0], pc_recs[NPC - 2][1]);
    fold(f);
    add(f, pc_recs[NPC - 1][0], pc_recs[NPC - 1][1]);
    fold(f);
    pc_flags(f, live);
    fx_free(f);

    f = fx_new();
    for (size_t i = 0; i < NPC; i++)
        add(f, pc_recs[i][0], pc_recs[i][1]);
    fold(f);
    pc_flags(f, all);
    fx_free(f);

    f = fx_new();
    for (size_t i = NPC; i > 0; i--)
        add(f, pc_recs[i - 1][0], pc_recs[i - 1][1]);
    fold(f);
    pc_flags(f, rev);
    fx_free(f);

    f = fx_new();
    for (size_t i = NPC; i > 0; i--) {
        add(f, pc_recs[i - 1][0], pc_recs[i - 1][1]);
        fold(f);
    }
    pc_flags(f, rev1);
    fx_free(f);

    for (int i = 0; i < 3; i++) {
        assert_int_equal(live[i], i == 0);
        assert_int_equal(all[i], live[i]);
        assert_int_equal(rev[i], live[i]);
        assert_int_equal(rev1[i], live[i]);
    }
}

/* which inputs count after a close: a rate change and a cancelled
 * allocation do (they change the price); an engagement revision that
 * changes no field a line reads (its name) and a person revision that keeps
 * the role do not, so nothing is re-emitted for them */
static void test_post_close_inputs(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    for (size_t i = 0; i < NPC - 1; i++) /* everything up to the close */
        add(f, pc_recs[i][0], pc_recs[i][1]);
    fold(f);
    int64_t emitted = fx_counter(f, "emitted");
    add(f, "delivery.engagement", ENG_AT(2, "Build phase 2", 60000, 90000, "2026-11-17T09:00:00Z"));
    add(f, "hr.person",
        "{\"event_id\":\"p-P2-2\",\"occurred_at\":\"2026-11-17T09:00:00Z\",\"source\":\"hr\",\"revision\":2,"
        "\"person_id\":\"P2\",\"name\":\"Renamed\",\"team\":\"cloud\",\"role\":\"CONSULTANT\",\"billable\":true,"
        "\"employment\":\"EMPLOYEE\",\"supplier\":null,\"weekly_capacity_minutes\":2250,\"working_days\":31,"
        "\"day_cost_minor\":40000,\"currency\":\"GBP\",\"joined_on\":\"2024-01-01\",\"left_on\":null}");
    fold(f);
    assert_int_equal(fx_counter(f, "emitted"), emitted);
    assert_int_equal(line(f, "G1|P1|2026-W46", "post_close"), 0);
    assert_int_equal(line(f, "G1|P2|2026-W46", "post_close"), 0);
    assert_int_equal(line(f, "G1|P3|2026-W46", "post_close"), 0);

    /* P3's SENIOR allocation cancelled after the close: priced as CONSULTANT */
    add(f, "delivery.allocation", ALLOC_AT("A3", 2, "P3", "SENIOR", "CANCELLED", "2026-11-18T09:00:00Z"));
    fold(f);
    assert_int_equal(line(f, "G1|P3|2026-W46", "amount_minor"), 60000);
    assert_int_equal(line(f, "G1|P3|2026-W46", "delta_minor"), -30000);
    assert_int_equal(line(f, "G1|P3|2026-W46", "post_close"), 1);
    assert_int_equal(line(f, "G1|P2|2026-W46", "post_close"), 0);

    /* the SENIOR rate changes after the close: no line charges SENIOR any
     * more, none is flagged or re-emitted; the CONSULTANT rate changes: the
     * lines charging it are */
    emitted = fx_counter(f, "emitted");
    add(f, "delivery.engagement", ENG_AT(3, "Build phase 2", 60000, 95000, "2026-11-19T09:00:00Z"));
    fold(f);
    assert_int_equal(fx_counter(f, "emitted"), emitted);
    assert_int_equal(line(f, "G1|P2|2026-W46", "post_close"), 0);
    add(f, "delivery.engagement", ENG_AT(4, "Build phase 2", 61000, 95000, "2026-11-20T09:00:00Z"));
    fold(f);
    assert_int_equal(line(f, "G1|P2|2026-W46", "amount_minor"), 61000);
    assert_int_equal(line(f, "G1|P2|2026-W46", "post_close"), 1);
    assert_int_equal(line(f, "G1|P1|2026-W46", "post_close"), 1);
    fx_free(f);
}

/* a reopened week is OPEN: nothing of it is post_close; closed again, the
 * close that counts is the new one, so the amendment made while it was
 * open (finance re-invoiced with it) is not post_close */
static void test_post_close_reopened(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    for (size_t i = 0; i < NPC; i++)
        add(f, pc_recs[i][0], pc_recs[i][1]);
    fold(f);
    assert_int_equal(line(f, "G1|P1|2026-W46", "post_close"), 1);
    add(f, "finance.period", PERIOD_AT("2026-W46", "OPEN", 2, "2026-11-19T09:00:00Z"));
    fold(f);
    assert_int_equal(line(f, "G1|P1|2026-W46", "period_status"), 0);
    assert_int_equal(line(f, "G1|P1|2026-W46", "post_close"), 0);
    add(f, "finance.period", PERIOD_AT("2026-W46", "CLOSED", 3, "2026-11-20T09:00:00Z"));
    fold(f);
    assert_int_equal(line(f, "G1|P1|2026-W46", "period_status"), 1);
    assert_int_equal(line(f, "G1|P1|2026-W46", "post_close"), 0);
    fx_free(f);
}

/* reconciliation tolerances (defaults 0 minutes, 1 minor unit): C1's week
 * costs 250,000; invoiced 250,001 or 249,999 is within 1 minor unit
 * (MATCHED), 250,002 is not (RATE_MISMATCH); one minute more or less than
 * logged is outside 0 minutes */
static void test_reconciliation_tolerances(void **state)
{
    (void)state;
    const char *days[] = {"2026-11-09", "2026-11-10", "2026-11-11", "2026-11-12", "2026-11-13"};
    char buf[512];
    /* one invoice at a time (two over the same days would be OVERLAPPING) */
    static const struct {
        const char *json;
        int status;
    } cases[] = {
        {INVOICE("J1", "C1", "2026-11-09", "2026-11-15", 2250, 250001, "RECEIVED"), 0},
        {INVOICE("J2", "C1", "2026-11-09", "2026-11-15", 2250, 249999, "RECEIVED"), 0},
        {INVOICE("J3", "C1", "2026-11-09", "2026-11-15", 2250, 250002, "RECEIVED"), 3},
        {INVOICE("J4", "C1", "2026-11-09", "2026-11-15", 2251, 250000, "RECEIVED"), 1},
        {INVOICE("J5", "C1", "2026-11-09", "2026-11-15", 2249, 250000, "RECEIVED"), 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fx *g = fx_new();
        add(g, "hr.person", PERSON("C1", "ENGINEER", "CONTRACTOR", 2250, 31, 50000));
        for (int d = 0; d < 5; d++) {
            snprintf(buf, sizeof buf,
                     "{\"event_id\":\"t-%d\",\"occurred_at\":\"2026-11-13T17:00:00Z\",\"source\":\"ts\","
                     "\"revision\":1,\"entry_id\":\"T-%d\",\"person_id\":\"C1\",\"engagement_id\":null,"
                     "\"activity\":\"DELIVERY\",\"work_date\":\"%s\",\"minutes\":450,\"status\":\"APPROVED\"}",
                     d, d, days[d]);
            add(g, "timesheet.entry", buf);
        }
        add(g, "finance.contractor_invoice", cases[i].json);
        fold(g);
        char id[3] = {'J', (char)('1' + i), 0};
        if (recon(g, id, "status") != cases[i].status)
            fail_msg("%s: status %lld, expected %d", id, (long long)recon(g, id, "status"), cases[i].status);
        fx_free(g);
    }
}

/* the role is that of a CONFIRMED allocation: a PROPOSED (or CANCELLED) one
 * as SENIOR leaves the day at the HR role's CONSULTANT rate */
static void test_proposed_allocation_sets_no_role(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    add(f, "hr.person", PERSON("P1", "CONSULTANT", "EMPLOYEE", 2250, 31, 40000));
    add(f, "delivery.engagement",
        ENGAGEMENT("G1", "TIME_AND_MATERIALS", 450,
                   RATE("CONSULTANT", 60000, "2026-01-01") "," RATE("SENIOR", 90000, "2026-01-01")));
    add(f, "delivery.allocation", ALLOC("A1", "P1", "G1", "SENIOR", "2026-11-09", "2026-11-13", "PROPOSED"));
    add(f, "delivery.allocation", ALLOC("A2", "P1", "G1", "SENIOR", "2026-11-09", "2026-11-13", "CANCELLED"));
    add(f, "timesheet.entry", ENTRY("e1", "E1", 1, "P1", "G1", "2026-11-09", 450, "APPROVED"));
    fold(f);
    assert_int_equal(line(f, "G1|P1|2026-W46", "day_rate_minor"), 60000);
    assert_int_equal(line(f, "G1|P1|2026-W46", "amount_minor"), 60000);
    fx_free(f);
}


/* A line reads its allocations, card rows and rate changes once and prices
 * each day from them (services/billing/lines.c): the role may change and
 * change back within the week. P1 is a CONSULTANT, CONFIRMED as SENIOR on
 * Wednesday only, beside nine PROPOSED SENIOR allocations for the whole
 * week (more rows than the first array holds); CONSULTANT rises from
 * 60,000 to 66,000 on Thursday. 450 minutes approved each day, 450 a day:
 * Mon 60,000 + Tue 60,000 + Wed 90,000 + Thu 66,000 + Fri 66,000 = 342,000;
 * the line's day rate is its last priced day's, Friday's 66,000. */
static void test_roles_change_within_a_line(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    const char *days[] = {"2026-11-09", "2026-11-10", "2026-11-11", "2026-11-12", "2026-11-13"};
    char buf[512];
    add(f, "hr.person", PERSON("P1", "CONSULTANT", "EMPLOYEE", 2250, 31, 40000));
    add(f, "delivery.engagement",
        ENGAGEMENT("G1", "TIME_AND_MATERIALS", 450,
                   RATE("CONSULTANT", 60000, "2026-01-01") "," RATE("SENIOR", 90000, "2026-01-01") ","
                       RATE("CONSULTANT", 66000, "2026-11-12")));
    for (int i = 1; i <= 9; i++) {
        char id[16];
        snprintf(id, sizeof id, "A0%d", i);
        snprintf(buf, sizeof buf,
                 "{\"event_id\":\"a-%s\",\"occurred_at\":\"2026-11-01T09:00:00Z\",\"source\":\"res\",\"revision\":1,"
                 "\"allocation_id\":\"%s\",\"engagement_id\":\"G1\",\"person_id\":\"P1\",\"role\":\"SENIOR\","
                 "\"percent\":10,\"first_day\":\"2026-11-09\",\"last_day\":\"2026-11-15\",\"status\":\"PROPOSED\"}",
                 id, id);
        add(f, "delivery.allocation", buf);
    }
    add(f, "delivery.allocation", ALLOC("A10", "P1", "G1", "SENIOR", "2026-11-11", "2026-11-11", "CONFIRMED"));
    for (int d = 0; d < 5; d++) {
        snprintf(buf, sizeof buf,
                 "{\"event_id\":\"e-%d\",\"occurred_at\":\"2026-11-13T17:00:00Z\",\"source\":\"ts\",\"revision\":1,"
                 "\"entry_id\":\"E%d\",\"person_id\":\"P1\",\"engagement_id\":\"G1\",\"activity\":\"DELIVERY\","
                 "\"work_date\":\"%s\",\"minutes\":450,\"status\":\"APPROVED\"}",
                 d, d, days[d]);
        add(f, "timesheet.entry", buf);
    }
    fold(f);
    const char *k = "G1|P1|2026-W46";
    assert_int_equal(line(f, k, "amount_minor"), 342000);
    assert_int_equal(line(f, k, "approved_minutes"), 2250);
    assert_int_equal(line(f, k, "unpriced_minutes"), 0);
    assert_int_equal(line(f, k, "day_rate_minor"), 66000);
    assert_int_equal(line(f, k, "priced"), 1);
    fx_free(f);
}


/* A role of 128 bytes, the most validation lets through, is that role: the
 * day is not priced at the rate of the role of its first 127 bytes (the
 * line's buffers once held 127 bytes and a NUL, so it was: found by review,
 * 2026-12-03). P1's HR role is 127 S's and a Y; the card prices only the
 * 127 S's, so the day is unpriced; P2's is the 127 S's, priced 50,000. */
static void test_role_of_the_longest_size(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    char r127[128], r128[129], buf[1024];
    memset(r127, 'S', 127), r127[127] = '\0';
    memcpy(r128, r127, 127), r128[127] = 'Y', r128[128] = '\0';
    const char *who[][2] = {{"P1", r128}, {"P2", r127}};
    for (int i = 0; i < 2; i++) {
        snprintf(buf, sizeof buf,
                 "{\"event_id\":\"p-%s\",\"occurred_at\":\"2026-11-01T09:00:00Z\",\"source\":\"hr\",\"revision\":1,"
                 "\"person_id\":\"%s\",\"name\":\"N\",\"team\":\"data\",\"role\":\"%s\",\"billable\":true,"
                 "\"employment\":\"EMPLOYEE\",\"supplier\":null,\"weekly_capacity_minutes\":2250,\"working_days\":31,"
                 "\"day_cost_minor\":40000,\"currency\":\"GBP\",\"joined_on\":\"2024-01-01\",\"left_on\":null}",
                 who[i][0], who[i][0], who[i][1]);
        add(f, "hr.person", buf);
    }
    snprintf(buf, sizeof buf,
             "{\"event_id\":\"g-G1\",\"occurred_at\":\"2026-11-01T09:00:00Z\",\"source\":\"res\",\"revision\":1,"
             "\"engagement_id\":\"G1\",\"client\":\"Acme\",\"name\":\"Build\",\"billing\":\"TIME_AND_MATERIALS\","
             "\"lead\":\"SELF\",\"bill_to\":\"Acme Ltd\",\"currency\":\"GBP\",\"minutes_per_day\":450,"
             "\"budget_minor\":100000000,\"starts_on\":\"2026-01-01\",\"ends_on\":\"2027-06-30\",\"rate_card\":["
             "{\"role\":\"%s\",\"day_rate_minor\":50000,\"effective_from\":\"2026-01-01\"}],\"status\":\"ACTIVE\"}",
             r127);
    add(f, "delivery.engagement", buf);
    add(f, "timesheet.entry", ENTRY("e1", "E1", 1, "P1", "G1", "2026-11-09", 450, "APPROVED"));
    add(f, "timesheet.entry", ENTRY("e2", "E2", 1, "P2", "G1", "2026-11-09", 450, "APPROVED"));
    fold(f);
    assert_int_equal(fx_counter(f, "dead_letters"), 0);
    assert_int_equal(line(f, "G1|P1|2026-W46", "amount_minor"), 0);
    assert_int_equal(line(f, "G1|P1|2026-W46", "unpriced_minutes"), 450);
    assert_int_equal(line(f, "G1|P1|2026-W46", "priced"), 0);
    assert_int_equal(line(f, "G1|P2|2026-W46", "amount_minor"), 50000);
    assert_int_equal(line(f, "G1|P2|2026-W46", "priced"), 1);
    fx_free(f);
}

/* a line of a week whose period is OPEN is never post_close, however it
 * changes: only a CLOSED week's lines are */
static void test_open_period_not_post_close(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    add(f, "hr.person", PERSON("P1", "CONSULTANT", "EMPLOYEE", 2250, 31, 40000));
    add(f, "delivery.engagement", ENGAGEMENT("G1", "TIME_AND_MATERIALS", 450, RATE("CONSULTANT", 60000, "2026-01-01")));
    add(f, "finance.period", PERIOD("2026-W46", "OPEN", 1));
    add(f, "timesheet.entry", ENTRY("o1", "O1", 1, "P1", "G1", "2026-11-09", 450, "APPROVED"));
    fold(f);
    add(f, "timesheet.entry", ENTRY("o1b", "O1", 2, "P1", "G1", "2026-11-09", 300, "APPROVED"));
    fold(f);
    assert_int_equal(line(f, "G1|P1|2026-W46", "amount_minor"), 40000);
    assert_int_equal(line(f, "G1|P1|2026-W46", "period_status"), 0);
    assert_int_equal(line(f, "G1|P1|2026-W46", "post_close"), 0);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_with_rate_rise), cmocka_unit_test(test_rounding),
        cmocka_unit_test(test_unpriced),            cmocka_unit_test(test_post_close_and_non_tm),
        cmocka_unit_test(test_expense_lines),       cmocka_unit_test(test_reconciliation),
        cmocka_unit_test(test_expense_id_with_key_separator),
        cmocka_unit_test(test_reconciliation_across_engagements), cmocka_unit_test(test_entries_layout_upgrade),
        cmocka_unit_test(test_same_figures_not_republished),
        cmocka_unit_test(test_same_reconciliation_not_republished),
        cmocka_unit_test(test_post_close_is_data_time),
        cmocka_unit_test(test_post_close_inputs),
        cmocka_unit_test(test_post_close_reopened),
        cmocka_unit_test(test_reconciliation_tolerances), cmocka_unit_test(test_proposed_allocation_sets_no_role),
        cmocka_unit_test(test_open_period_not_post_close),
        cmocka_unit_test(test_roles_change_within_a_line),
        cmocka_unit_test(test_role_of_the_longest_size),
    };
    return cmocka_run_group_tests_name("billing", tests, NULL, NULL);
}
