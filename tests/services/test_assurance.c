/* Fold tests of the assurance service: each RAG rule hand-computed, a risk
 * raised then closed, the register read as of each week whatever the
 * arrival order, thresholds from configuration, and cover gaps with a
 * cancelled shift, a PRIMARY on holiday and a double booking.
 *
 * The data time is Wednesday 2026-11-18 (2026-W47; Monday 2026-11-16,
 * Sunday 2026-11-22). */
#include "fixture.h"
#include "ol_json.h"

extern const ol_service assurance_service;

#define AT "2026-11-18T09:00:00Z"

#define ENG(id, budget, starts, ends, status, rev)                                                                \
    "{\"event_id\":\"g-" id "-" #rev "\",\"occurred_at\":\"2026-10-01T09:00:00Z\",\"source\":\"res\","            \
    "\"revision\":" #rev ",\"engagement_id\":\"" id "\",\"client\":\"Acme\",\"name\":\"Build " id "\","            \
    "\"billing\":\"TIME_AND_MATERIALS\",\"lead\":\"SELF\",\"bill_to\":\"Acme Ltd\",\"currency\":\"GBP\","          \
    "\"minutes_per_day\":450,\"budget_minor\":" #budget ",\"starts_on\":\"" starts "\",\"ends_on\":\"" ends        \
    "\",\"rate_card\":[],\"status\":\"" status "\"}"

#define RISK(id, rev, at, eng, sev, status)                                                                       \
    "{\"event_id\":\"r-" id "-" #rev "\",\"occurred_at\":\"" at "\",\"source\":\"raid\",\"revision\":" #rev        \
    ",\"risk_id\":\"" id "\",\"engagement_id\":\"" eng "\",\"category\":\"SCHEDULE\",\"severity\":\"" sev          \
    "\",\"summary\":\"Late API " id "\",\"owner\":\"dm-1\",\"status\":\"" status "\"}"

/* ops.forecast.engagement as the forecast service publishes it */
#define FC(eng, rev, week, spent, eac, budget)                                                                    \
    "{\"event_id\":\"f-" eng "-" #rev "\",\"key\":\"" eng "\",\"revision\":" #rev ",\"engagement_id\":\"" eng      \
    "\",\"currency\":\"GBP\",\"spent_to_date_minor\":" #spent ",\"forecast_to_complete_minor\":0,"                 \
    "\"estimate_at_completion_minor\":" #eac ",\"budget_minor\":" #budget ",\"budget_runs_out_week\":null,"        \
    "\"as_of_week\":\"" week "\"}"

#define ALLOC(id, eng, person, role, first, last, status)                                                         \
    "{\"event_id\":\"a-" id "\",\"occurred_at\":\"2026-10-01T09:00:00Z\",\"source\":\"res\",\"revision\":1,"       \
    "\"allocation_id\":\"" id "\",\"engagement_id\":\"" eng "\",\"person_id\":" person ",\"role\":\"" role         \
    "\",\"percent\":100,\"first_day\":\"" first "\",\"last_day\":\"" last "\",\"status\":\"" status "\"}"

#define MISSING(person, week, minutes)                                                                            \
    "{\"event_id\":\"m-" person "-" week "\",\"key\":\"" person "|" week "\",\"revision\":1,\"person_id\":\""       \
    person "\",\"team\":\"data\",\"week\":\"" week "\",\"available_minutes\":2250,\"logged_minutes\":0,"           \
    "\"missing_minutes\":" #minutes ",\"delta_missing_minutes\":" #minutes "}"

#define SHIFT(id, rev, service, person, starts, ends, role, status)                                               \
    "{\"event_id\":\"s-" id "-" #rev "\",\"occurred_at\":\"2026-11-02T09:00:00Z\",\"source\":\"rota\","           \
    "\"revision\":" #rev ",\"shift_id\":\"" id "\",\"service_id\":\"" service "\",\"person_id\":\"" person         \
    "\",\"starts_at\":\"" starts "\",\"ends_at\":\"" ends "\",\"role\":\"" role "\",\"status\":\"" status "\"}"

#define LEAVE(id, person, first, last, portion, status)                                                           \
    "{\"event_id\":\"l-" id "\",\"occurred_at\":\"2026-11-01T09:00:00Z\",\"source\":\"hr\",\"revision\":1,"        \
    "\"leave_id\":\"" id "\",\"person_id\":\"" person "\",\"kind\":\"HOLIDAY\",\"first_day\":\"" first             \
    "\",\"last_day\":\"" last "\",\"portion\":\"" portion "\",\"status\":\"" status "\"}"

/* a record that sets the data time to Wednesday of W47 */
#define CLOCK RISK("clock", 1, AT, "none", "LOW", "CLOSED")

/* the last event of a derived key as compact JSON (caller frees), NULL when none */
static char *derived_json(struct fx *f, const char *topic, const char *key)
{
    ol_store *st = ol_runtime_store(f->rt);
    MDB_txn *txn;
    ol_key k;
    MDB_val kv, v;
    char err[256], *out = NULL;
    int32_t wid;
    ol_derived_key(&k, topic, key);
    kv = ol_key_val(&k);
    assert_int_equal(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn), 0);
    if (mdb_get(txn, ol_store_dbi(st, "derived"), &kv, &v) == 0) {
        const ol_schema *s = ol_schemas_for_topic(f->schemas, topic);
        ol_decoder *d = ol_decoder_new(f->schemas, s);
        assert_int_equal(ol_decoder_decode(d, v.mv_data, v.mv_size, &wid, err, sizeof err), OL_CODEC_OK);
        json_t *j = ol_json_from_avro(s, ol_decoder_value(d));
        json_object_del(j, "event_id");
        out = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(j);
        ol_decoder_free(d);
    }
    mdb_txn_abort(txn);
    return out;
}

/* asserts that the event of key has every fragment (each a piece of its sorted compact JSON) */
static void expect(struct fx *f, const char *topic, const char *key, const char *const *frags)
{
    char *j = derived_json(f, topic, key);
    if (!j)
        fail_msg("no %s event %s", topic, key);
    for (; *frags; frags++)
        if (!strstr(j, *frags))
            fail_msg("%s %s: expected %s in\n%s", topic, key, *frags, j);
    free(j);
}

#define EXPECT(f, topic, key, ...)                                                                                \
    do {                                                                                                          \
        const char *const frags_[] = {__VA_ARGS__, NULL};                                                         \
        expect(f, topic, key, frags_);                                                                            \
    } while (0)

static struct fx *fx_new(void) { return fx_new_for(&assurance_service); }

/* e-1 runs W41..W52; no row past the data week, none before starts_on */
static void test_rows_follow_the_data_week(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    add(f, "delivery.engagement", ENG("e-1", 100000, "2026-10-05", "2026-12-27", "ACTIVE", 1));
    add(f, "delivery.risk", CLOCK);
    fold(f);
    EXPECT(f, "ops.delivery.status", "e-1|2026-W41", "\"previous_rag\":null", "\"rag\":\"GREEN\"", "\"reasons\":[]");
    EXPECT(f, "ops.delivery.status", "e-1|2026-W47", "\"previous_rag\":\"GREEN\"", "\"rag\":\"GREEN\"");
    /* time elapsed at the end of W47 (Sunday 2026-11-22): 49 of 84 days = 5833bp */
    EXPECT(f, "ops.delivery.status", "e-1|2026-W47", "\"time_elapsed_bp\":5833", "\"budget_burn_bp\":null");
    assert_null(derived_json(f, "ops.delivery.status", "e-1|2026-W48"));
    assert_null(derived_json(f, "ops.delivery.status", "e-1|2026-W40"));
    fx_free(f);
}

/* r-1 raised CRITICAL on Tuesday of W46, closed on Thursday of W47: W46 RED,
 * W47 GREEN with r-1 closed; delivered newest first, the same */
static void risk_raised_then_closed(int newest_first)
{
    struct fx *f = fx_new();
    const char *r1 = RISK("r-1", 1, "2026-11-10T10:00:00Z", "e-1", "CRITICAL", "OPEN");
    const char *r2 = RISK("r-1", 2, "2026-11-19T10:00:00Z", "e-1", "CRITICAL", "CLOSED");
    add(f, "delivery.engagement", ENG("e-1", 100000, "2026-10-05", "2026-12-27", "ACTIVE", 1));
    add(f, "delivery.risk", newest_first ? r2 : r1);
    fold(f);
    add(f, "delivery.risk", newest_first ? r1 : r2);
    fold(f);
    EXPECT(f, "ops.delivery.status", "e-1|2026-W45", "\"rag\":\"GREEN\"");
    EXPECT(f, "ops.delivery.status", "e-1|2026-W46", "\"rag\":\"RED\"", "\"reasons\":[\"CRITICAL_RISK r-1\"]",
           "\"open_risks_critical\":1", "\"risks_opened\":[\"r-1\"]", "\"changes\":[\"RAG GREEN->RED\",\"+CRITICAL_RISK r-1\"]",
           "\"summary\":\"Late API r-1\"");
    EXPECT(f, "ops.delivery.status", "e-1|2026-W47", "\"rag\":\"GREEN\"", "\"previous_rag\":\"RED\"",
           "\"risks_closed\":[\"r-1\"]", "\"open_risks_critical\":0", "\"changes\":[\"RAG RED->GREEN\",\"-CRITICAL_RISK r-1\"]");
    fx_free(f);
}
static void test_risk_raised_then_closed(void **state) { (void)state; risk_raised_then_closed(0); }
static void test_risk_raised_then_closed_newest_first(void **state) { (void)state; risk_raised_then_closed(1); }

/* an open HIGH risk is AMBER; MEDIUM and LOW only count */
static void test_high_risk_amber(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    add(f, "delivery.engagement", ENG("e-1", 100000, "2026-10-05", "2026-12-27", "ACTIVE", 1));
    add(f, "delivery.risk", RISK("r-2", 1, "2026-11-17T10:00:00Z", "e-1", "HIGH", "OPEN"));
    add(f, "delivery.risk", RISK("r-3", 1, "2026-11-17T10:00:00Z", "e-1", "MEDIUM", "OPEN"));
    add(f, "delivery.risk", RISK("r-4", 1, "2026-11-17T10:00:00Z", "e-1", "LOW", "MITIGATED"));
    add(f, "delivery.risk", CLOCK);
    fold(f);
    EXPECT(f, "ops.delivery.status", "e-1|2026-W47", "\"rag\":\"AMBER\"", "\"reasons\":[\"HIGH_RISK r-2\"]",
           "\"open_risks_high\":1", "\"open_risks_medium\":1", "\"open_risks_low\":0");
    fx_free(f);
}

/* budgets from the forecast made that week: EAC 115,000 of 100,000 = 11500bp
 * > 11000 (RED); spend 100,001 = 10000bp truncated but over budget (RED),
 * its EAC 100,001 under 110 % (no EAC reason) and 4167 points ahead of time;
 * the W46 forecast (EAC 100,000) leaves W46 GREEN */
static void test_budget_rules_red(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    add(f, "delivery.engagement", ENG("e-2", 100000, "2026-10-05", "2026-12-27", "ACTIVE", 1));
    add(f, "delivery.engagement", ENG("e-3", 100000, "2026-10-05", "2026-12-27", "ACTIVE", 1));
    add(f, "ops.forecast.engagement", FC("e-2", 1, "2026-W46", 40000, 100000, 100000));
    add(f, "ops.forecast.engagement", FC("e-2", 2, "2026-W47", 50000, 115000, 100000));
    add(f, "ops.forecast.engagement", FC("e-3", 1, "2026-W47", 100001, 100001, 100000));
    add(f, "delivery.risk", CLOCK);
    fold(f);
    EXPECT(f, "ops.delivery.status", "e-2|2026-W46", "\"rag\":\"GREEN\"", "\"budget_burn_bp\":4000");
    EXPECT(f, "ops.delivery.status", "e-2|2026-W47", "\"rag\":\"RED\"", "\"reasons\":[\"EAC_OVER_BUDGET 11500bp\"]",
           "\"budget_burn_bp\":5000", "\"estimate_at_completion_minor\":115000");
    EXPECT(f, "ops.delivery.status", "e-3|2026-W47", "\"rag\":\"RED\"",
           "\"reasons\":[\"SPEND_OVER_BUDGET 10000bp\",\"BURN_AHEAD burn 10000bp elapsed 5833bp\"]");
    fx_free(f);
}

/* e-4 runs 2026-11-02..2026-12-27: 56 days, 21 elapsed at the end of W47 =
 * 3750bp; spend 48,000 of 100,000 = 4800bp, 1050 ahead (> 1000: AMBER);
 * e-5 the same with 47,000 = 950 ahead (GREEN) */
static void test_burn_ahead_amber(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    add(f, "delivery.engagement", ENG("e-4", 100000, "2026-11-02", "2026-12-27", "ACTIVE", 1));
    add(f, "delivery.engagement", ENG("e-5", 100000, "2026-11-02", "2026-12-27", "ACTIVE", 1));
    add(f, "ops.forecast.engagement", FC("e-4", 1, "2026-W47", 48000, 100000, 100000));
    add(f, "ops.forecast.engagement", FC("e-5", 1, "2026-W47", 47000, 100000, 100000));
    add(f, "delivery.risk", CLOCK);
    fold(f);
    EXPECT(f, "ops.delivery.status", "e-4|2026-W47", "\"rag\":\"AMBER\"",
           "\"reasons\":[\"BURN_AHEAD burn 4800bp elapsed 3750bp\"]", "\"time_elapsed_bp\":3750");
    EXPECT(f, "ops.delivery.status", "e-5|2026-W47", "\"rag\":\"GREEN\"", "\"budget_burn_bp\":4700");
    fx_free(f);
}

/* the boundaries, each exactly on its threshold and one minor unit over:
 * e-8 (2026-10-05..2026-11-22, all 49 days elapsed at the end of W47)
 * spends exactly its budget with an EAC of exactly 110 %: neither is "over",
 * burn 10000bp is not ahead of 10000bp elapsed: GREEN. e-9 the same plus one
 * minor unit each: spend 100,001 (10000bp truncated) over budget and EAC
 * 110,001 (11000bp truncated) over 110 %: RED with both reasons. e-10
 * (56 days, 3750bp elapsed) burns 4750bp, exactly 10 points ahead: GREEN;
 * e-11 one minor unit more (4750bp truncated, still 10 points): GREEN too,
 * e-12 at 4760bp (10.1 points ahead): AMBER */
static void test_budget_boundaries(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    add(f, "delivery.engagement", ENG("e-8", 100000, "2026-10-05", "2026-11-22", "ACTIVE", 1));
    add(f, "delivery.engagement", ENG("e-9", 100000, "2026-10-05", "2026-11-22", "ACTIVE", 1));
    add(f, "delivery.engagement", ENG("e-10", 100000, "2026-11-02", "2026-12-27", "ACTIVE", 1));
    add(f, "delivery.engagement", ENG("e-11", 100000, "2026-11-02", "2026-12-27", "ACTIVE", 1));
    add(f, "delivery.engagement", ENG("e-12", 100000, "2026-11-02", "2026-12-27", "ACTIVE", 1));
    add(f, "ops.forecast.engagement", FC("e-8", 1, "2026-W47", 100000, 110000, 100000));
    add(f, "ops.forecast.engagement", FC("e-9", 1, "2026-W47", 100001, 110001, 100000));
    add(f, "ops.forecast.engagement", FC("e-10", 1, "2026-W47", 47500, 100000, 100000));
    add(f, "ops.forecast.engagement", FC("e-11", 1, "2026-W47", 47501, 100000, 100000));
    add(f, "ops.forecast.engagement", FC("e-12", 1, "2026-W47", 47600, 100000, 100000));
    add(f, "delivery.risk", CLOCK);
    fold(f);
    EXPECT(f, "ops.delivery.status", "e-8|2026-W47", "\"rag\":\"GREEN\"", "\"reasons\":[]", "\"budget_burn_bp\":10000",
           "\"time_elapsed_bp\":10000", "\"estimate_at_completion_minor\":110000");
    EXPECT(f, "ops.delivery.status", "e-9|2026-W47", "\"rag\":\"RED\"",
           "\"reasons\":[\"SPEND_OVER_BUDGET 10000bp\",\"EAC_OVER_BUDGET 11000bp\"]");
    EXPECT(f, "ops.delivery.status", "e-10|2026-W47", "\"rag\":\"GREEN\"", "\"reasons\":[]", "\"budget_burn_bp\":4750",
           "\"time_elapsed_bp\":3750");
    EXPECT(f, "ops.delivery.status", "e-11|2026-W47", "\"rag\":\"GREEN\"", "\"reasons\":[]", "\"budget_burn_bp\":4750");
    EXPECT(f, "ops.delivery.status", "e-12|2026-W47", "\"rag\":\"AMBER\"",
           "\"reasons\":[\"BURN_AHEAD burn 4760bp elapsed 3750bp\"]");
    fx_free(f);
}

/* the thresholds are configuration: burn_ahead_bp 900 makes e-5 AMBER */
static void test_thresholds_from_config(void **state)
{
    (void)state;
    struct fx *f = calloc(1, sizeof *f);
    char err[512];
    assert_int_equal(ol_schemas_load(ol_schemas_default_dir(), &f->schemas, err, sizeof err), 0);
    ol_config_init(&f->cfg);
    assert_int_equal(ol_config_set(&f->cfg, "assurance.burn_ahead_bp", "900"), 0);
    fx_mkdtemp(f);
    ol_runtime_opts o = {.db_path = f->dir, .publish = 0, .batch_max = 100};
    f->rt = ol_runtime_new(&assurance_service, &f->cfg, f->schemas, &o, err, sizeof err);
    assert_non_null(f->rt);
    add(f, "delivery.engagement", ENG("e-5", 100000, "2026-11-02", "2026-12-27", "ACTIVE", 1));
    add(f, "ops.forecast.engagement", FC("e-5", 1, "2026-W47", 47000, 100000, 100000));
    add(f, "delivery.risk", CLOCK);
    fold(f);
    EXPECT(f, "ops.delivery.status", "e-5|2026-W47", "\"rag\":\"AMBER\"",
           "\"reasons\":[\"BURN_AHEAD burn 4700bp elapsed 3750bp\"]");
    fx_free(f);
}

/* p-1 CONFIRMED on e-6 through W46 with 450 minutes missing in W46: W47
 * AMBER; p-2 on e-6 only from W47 with time missing in W46: no reason;
 * p-3 PROPOSED: no reason */
static void test_missing_timesheets_amber(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    add(f, "delivery.engagement", ENG("e-6", 100000, "2026-10-05", "2026-12-27", "ACTIVE", 1));
    add(f, "delivery.allocation", ALLOC("a-1", "e-6", "\"p-1\"", "engineer", "2026-10-05", "2026-12-27", "CONFIRMED"));
    add(f, "delivery.allocation", ALLOC("a-2", "e-6", "\"p-2\"", "engineer", "2026-11-16", "2026-12-27", "CONFIRMED"));
    add(f, "delivery.allocation", ALLOC("a-3", "e-6", "\"p-3\"", "engineer", "2026-10-05", "2026-12-27", "PROPOSED"));
    add(f, "ops.timesheet.missing", MISSING("p-1", "2026-W46", 450));
    add(f, "ops.timesheet.missing", MISSING("p-2", "2026-W46", 900));
    add(f, "ops.timesheet.missing", MISSING("p-3", "2026-W46", 900));
    add(f, "delivery.risk", CLOCK);
    fold(f);
    EXPECT(f, "ops.delivery.status", "e-6|2026-W47", "\"rag\":\"AMBER\"",
           "\"reasons\":[\"MISSING_TIMESHEETS p-1 450min 2026-W46\"]");
    EXPECT(f, "ops.delivery.status", "e-6|2026-W46", "\"rag\":\"GREEN\"");
    /* the timesheets arrive: missing 0, the reason goes */
    add(f, "ops.timesheet.missing",
        "{\"event_id\":\"m-p-1-2\",\"key\":\"p-1|2026-W46\",\"revision\":2,\"person_id\":\"p-1\",\"team\":\"data\","
        "\"week\":\"2026-W46\",\"available_minutes\":2250,\"logged_minutes\":2250,\"missing_minutes\":0,"
        "\"delta_missing_minutes\":-450}");
    fold(f);
    EXPECT(f, "ops.delivery.status", "e-6|2026-W47", "\"rag\":\"GREEN\"", "\"reasons\":[]");
    fx_free(f);
}

/* open roles: a-7 (CONFIRMED, from 2026-12-01, within Sunday 2026-11-22 + 14
 * = 2026-12-06) AMBER; a-8 from 2026-12-07 not yet; a-9 CANCELLED never */
static void test_open_role_amber(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    add(f, "delivery.engagement", ENG("e-7", 100000, "2026-10-05", "2027-03-28", "ACTIVE", 1));
    add(f, "delivery.allocation", ALLOC("a-7", "e-7", "null", "dm", "2026-12-01", "2027-03-28", "CONFIRMED"));
    add(f, "delivery.allocation", ALLOC("a-8", "e-7", "null", "dm", "2026-12-07", "2027-03-28", "CONFIRMED"));
    add(f, "delivery.allocation", ALLOC("a-9", "e-7", "null", "dm", "2026-11-20", "2027-03-28", "CANCELLED"));
    add(f, "delivery.risk", CLOCK);
    fold(f);
    EXPECT(f, "ops.delivery.status", "e-7|2026-W47", "\"rag\":\"AMBER\"",
           "\"reasons\":[\"OPEN_ROLE a-7 dm CONFIRMED from 2026-12-01\"]");
    EXPECT(f, "ops.delivery.status", "e-7|2026-W46", "\"rag\":\"GREEN\"");
    fx_free(f);
}

/* svc-a on 2026-11-18: p-2's night PRIMARY to 07:00, but p-2 is also PRIMARY
 * on svc-b 05:00-09:00 (double booked 05:00-07:00, 120 min); p-1's PRIMARY
 * 07:00-19:00 while on a FULL day of holiday (720 min); p-3's night shift
 * from 19:00 CANCELLED (no PRIMARY 19:00-24:00, 300 min) */
static void test_cover_gaps(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    add(f, "ops.rota", SHIFT("s0", 1, "svc-a", "p-2", "2026-11-17T19:00:00Z", "2026-11-18T07:00:00Z", "PRIMARY", "PLANNED"));
    add(f, "ops.rota", SHIFT("s1", 1, "svc-a", "p-1", "2026-11-18T07:00:00Z", "2026-11-18T19:00:00Z", "PRIMARY", "PLANNED"));
    add(f, "ops.rota", SHIFT("s2", 1, "svc-a", "p-3", "2026-11-18T19:00:00Z", "2026-11-19T07:00:00Z", "PRIMARY", "PLANNED"));
    add(f, "ops.rota", SHIFT("s3", 1, "svc-a", "p-4", "2026-11-18T07:00:00Z", "2026-11-19T07:00:00Z", "SECONDARY", "PLANNED"));
    add(f, "ops.rota", SHIFT("s9", 1, "svc-b", "p-2", "2026-11-18T05:00:00Z", "2026-11-18T09:00:00Z", "PRIMARY", "PLANNED"));
    fold(f);
    EXPECT(f, "ops.cover.gaps", "svc-a|2026-11-18", "\"uncovered_minutes\":0", "\"double_booked_minutes\":120");
    add(f, "hr.leave", LEAVE("l-1", "p-1", "2026-11-18", "2026-11-18", "FULL", "BOOKED"));
    add(f, "ops.rota", SHIFT("s2", 2, "svc-a", "p-3", "2026-11-18T19:00:00Z", "2026-11-19T07:00:00Z", "PRIMARY", "CANCELLED"));
    fold(f);
    EXPECT(f, "ops.cover.gaps", "svc-a|2026-11-18", "\"uncovered_minutes\":300", "\"primary_on_leave_minutes\":720",
           "\"double_booked_minutes\":120",
           "\"gaps\":[{\"ends_at\":\"2026-11-18T07:00:00.000Z\",\"reason\":\"PRIMARY_DOUBLE_BOOKED p-2 svc-b\","
           "\"starts_at\":\"2026-11-18T05:00:00.000Z\"},"
           "{\"ends_at\":\"2026-11-18T19:00:00.000Z\",\"reason\":\"PRIMARY_ON_LEAVE p-1\",\"starts_at\":\"2026-11-18T07:00:00.000Z\"},"
           "{\"ends_at\":\"2026-11-19T00:00:00.000Z\",\"reason\":\"NO_PRIMARY\",\"starts_at\":\"2026-11-18T19:00:00.000Z\"}]",
           "\"shifts_on_leave\":[\"s1 p-1 PRIMARY\"]");
    /* svc-b: only p-2 05:00-09:00, double booked to 07:00 */
    EXPECT(f, "ops.cover.gaps", "svc-b|2026-11-18", "\"uncovered_minutes\":1200", "\"double_booked_minutes\":120");
    /* the day before: no PRIMARY until 19:00 */
    EXPECT(f, "ops.cover.gaps", "svc-a|2026-11-17", "\"uncovered_minutes\":1140", "\"primary_on_leave_minutes\":0");
    /* the 19th: nothing PLANNED but the SECONDARY to 07:00 */
    EXPECT(f, "ops.cover.gaps", "svc-a|2026-11-19", "\"uncovered_minutes\":1440");
    /* the holiday is cancelled: p-1 covers again */
    add(f, "hr.leave",
        "{\"event_id\":\"l-1-2\",\"occurred_at\":\"2026-11-02T09:00:00Z\",\"source\":\"hr\",\"revision\":2,"
        "\"leave_id\":\"l-1\",\"person_id\":\"p-1\",\"kind\":\"HOLIDAY\",\"first_day\":\"2026-11-18\","
        "\"last_day\":\"2026-11-18\",\"portion\":\"FULL\",\"status\":\"CANCELLED\"}");
    fold(f);
    EXPECT(f, "ops.cover.gaps", "svc-a|2026-11-18", "\"primary_on_leave_minutes\":0", "\"shifts_on_leave\":[]");
    fx_free(f);
}

/* half-day leave: AM is 00:00-12:00 UTC, PM 12:00-24:00. p-5 PRIMARY on
 * svc-c 07:00-19:00 with the morning off: on leave 07:00-12:00 (300 min),
 * covering the afternoon; p-6 PRIMARY on svc-d 07:00-19:00 with the
 * afternoon off: on leave 12:00-19:00 (420 min) */
static void test_cover_half_day_leave(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    add(f, "ops.rota", SHIFT("s5", 1, "svc-c", "p-5", "2026-11-18T07:00:00Z", "2026-11-18T19:00:00Z", "PRIMARY", "PLANNED"));
    add(f, "ops.rota", SHIFT("s6", 1, "svc-d", "p-6", "2026-11-18T07:00:00Z", "2026-11-18T19:00:00Z", "PRIMARY", "PLANNED"));
    add(f, "hr.leave", LEAVE("l-5", "p-5", "2026-11-18", "2026-11-18", "AM", "BOOKED"));
    add(f, "hr.leave", LEAVE("l-6", "p-6", "2026-11-18", "2026-11-18", "PM", "BOOKED"));
    fold(f);
    EXPECT(f, "ops.cover.gaps", "svc-c|2026-11-18", "\"primary_on_leave_minutes\":300",
           "{\"ends_at\":\"2026-11-18T12:00:00.000Z\",\"reason\":\"PRIMARY_ON_LEAVE p-5\","
           "\"starts_at\":\"2026-11-18T07:00:00.000Z\"}",
           "\"shifts_on_leave\":[\"s5 p-5 PRIMARY\"]");
    EXPECT(f, "ops.cover.gaps", "svc-d|2026-11-18", "\"primary_on_leave_minutes\":420",
           "{\"ends_at\":\"2026-11-18T19:00:00.000Z\",\"reason\":\"PRIMARY_ON_LEAVE p-6\","
           "\"starts_at\":\"2026-11-18T12:00:00.000Z\"}");
    fx_free(f);
}

/* the same records in two orders, one batch each: identical events */
static void test_order_independence(void **state)
{
    (void)state;
    const char *recs[][2] = {
        {"delivery.engagement", ENG("e-1", 100000, "2026-10-05", "2026-12-27", "ACTIVE", 1)},
        {"delivery.risk", RISK("r-1", 1, "2026-11-10T10:00:00Z", "e-1", "HIGH", "OPEN")},
        {"delivery.risk", RISK("r-1", 2, "2026-11-17T10:00:00Z", "e-1", "CRITICAL", "OPEN")},
        {"ops.forecast.engagement", FC("e-1", 1, "2026-W46", 40000, 100000, 100000)},
        {"ops.forecast.engagement", FC("e-1", 2, "2026-W47", 90000, 120000, 100000)},
        {"delivery.allocation", ALLOC("a-1", "e-1", "\"p-1\"", "engineer", "2026-10-05", "2026-12-27", "CONFIRMED")},
        {"ops.timesheet.missing", MISSING("p-1", "2026-W46", 450)},
        {"ops.rota", SHIFT("s1", 1, "svc-a", "p-1", "2026-11-18T07:00:00Z", "2026-11-18T19:00:00Z", "PRIMARY", "PLANNED")},
        {"hr.leave", LEAVE("l-1", "p-1", "2026-11-18", "2026-11-18", "AM", "BOOKED")},
        {"delivery.risk", CLOCK},
    };
    int n = (int)(sizeof recs / sizeof recs[0]);
    char *a[3], *b[3];
    const char *keys[3][2] = {{"ops.delivery.status", "e-1|2026-W46"},
                              {"ops.delivery.status", "e-1|2026-W47"},
                              {"ops.cover.gaps", "svc-a|2026-11-18"}};
    for (int pass = 0; pass < 2; pass++) {
        struct fx *f = fx_new();
        for (int i = 0; i < n; i++) {
            int j = pass ? n - 1 - i : i;
            add(f, recs[j][0], recs[j][1]);
            if (pass)
                fold(f); /* newest first, one record per batch */
        }
        fold(f);
        for (int k = 0; k < 3; k++) {
            char *j = derived_json(f, keys[k][0], keys[k][1]);
            assert_non_null(j);
            char *rev = strstr(j, "\"revision\":"); /* emissions count differently per batching */
            if (rev)
                memset(rev, ' ', strcspn(rev, ",}"));
            (pass ? b : a)[k] = j;
        }
        fx_free(f);
    }
    for (int k = 0; k < 3; k++) {
        assert_string_equal(a[k], b[k]);
        free(a[k]);
        free(b[k]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_follow_the_data_week),
        cmocka_unit_test(test_risk_raised_then_closed),
        cmocka_unit_test(test_risk_raised_then_closed_newest_first),
        cmocka_unit_test(test_high_risk_amber),
        cmocka_unit_test(test_budget_rules_red),
        cmocka_unit_test(test_burn_ahead_amber),
        cmocka_unit_test(test_budget_boundaries),
        cmocka_unit_test(test_thresholds_from_config),
        cmocka_unit_test(test_missing_timesheets_amber),
        cmocka_unit_test(test_open_role_amber),
        cmocka_unit_test(test_cover_gaps),
        cmocka_unit_test(test_cover_half_day_leave),
        cmocka_unit_test(test_order_independence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
