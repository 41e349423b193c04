/* Fold tests of the forecast service: hand-computed weekly, engagement and
 * demand figures through the real runtime with arrays of records, the
 * horizon moving with the data time, and order independence. The data time
 * of most records is Wednesday 2026-11-11, so the horizon is 2026-W46 ..
 * 2027-W04 (2026 has 53 ISO weeks; Monday of W46 is 2026-11-09). */
#include "fixture.h"
#include "svc_harness.h"
#include "ol_state.h"
#include "forecast/forecast.h"

extern const ol_service forecast_service;

static struct fx *fx_new(void) { return fx_new_for(&forecast_service); }

#define AT "2026-11-11T09:00:00Z"

#define PERSON(id, team, role, billable, cap, wd, joined, left, rev)                                              \
    "{\"event_id\":\"p-" id "-" #rev "\",\"occurred_at\":\"" AT "\",\"source\":\"hr\",\"revision\":" #rev          \
    ",\"person_id\":\"" id "\",\"name\":\"N " id "\",\"team\":\"" team "\",\"role\":\"" role "\",\"billable\":"    \
    billable ",\"employment\":\"EMPLOYEE\",\"supplier\":null,\"weekly_capacity_minutes\":" #cap                    \
    ",\"working_days\":" #wd ",\"day_cost_minor\":40000,\"currency\":\"GBP\",\"joined_on\":\"" joined             \
    "\",\"left_on\":" left "}"

#define LEAVE_AT(at, id, rev, person, first, last, portion, status)                                               \
    "{\"event_id\":\"l-" id "-" #rev "\",\"occurred_at\":\"" at "\",\"source\":\"hr\",\"revision\":" #rev          \
    ",\"leave_id\":\"" id "\",\"person_id\":\"" person "\",\"kind\":\"HOLIDAY\",\"first_day\":\"" first            \
    "\",\"last_day\":\"" last "\",\"portion\":\"" portion "\",\"status\":\"" status "\"}"
#define LEAVE(...) LEAVE_AT(AT, __VA_ARGS__)

#define ENG(id, billing, mpd, budget, ends, cards, status, rev)                                                   \
    "{\"event_id\":\"g-" id "-" #rev "\",\"occurred_at\":\"2026-11-01T09:00:00Z\",\"source\":\"res\","            \
    "\"revision\":" #rev ",\"engagement_id\":\"" id "\",\"client\":\"Acme\",\"name\":\"Build\",\"billing\":\""      \
    billing "\",\"lead\":\"SELF\",\"bill_to\":\"Acme Ltd\",\"currency\":\"GBP\",\"minutes_per_day\":" #mpd          \
    ",\"budget_minor\":" #budget ",\"starts_on\":\"2026-01-01\",\"ends_on\":\"" ends "\",\"rate_card\":[" cards    \
    "],\"status\":\"" status "\"}"

#define RATE(role, rate, from) "{\"role\":\"" role "\",\"day_rate_minor\":" #rate ",\"effective_from\":\"" from "\"}"

/* person is JSON: "\"P1\"" or null for an open role */
#define ALLOC(id, rev, eng, person, role, pct, first, last, status)                                               \
    "{\"event_id\":\"a-" id "-" #rev "\",\"occurred_at\":\"2026-11-10T09:00:00Z\",\"source\":\"res\","            \
    "\"revision\":" #rev ",\"allocation_id\":\"" id "\",\"engagement_id\":\"" eng "\",\"person_id\":" person      \
    ",\"role\":\"" role "\",\"percent\":" #pct ",\"first_day\":\"" first "\",\"last_day\":\"" last                 \
    "\",\"status\":\"" status "\"}"

/* a finance.billing.line as the billing service publishes it */
#define LINE(key, rev, kind, eng, person, expense, week, amount, cur)                                             \
    "{\"event_id\":\"b-" key "-" #rev "\",\"key\":\"" key "\",\"revision\":" #rev ",\"kind\":\"" kind             \
    "\",\"engagement_id\":\"" eng "\",\"person_id\":" person ",\"expense_id\":" expense ",\"week\":\"" week        \
    "\",\"client\":\"Acme\",\"bill_to\":\"Acme Ltd\",\"role\":null,\"approved_minutes\":0,\"pending_minutes\":0,"  \
    "\"unpriced_minutes\":0,\"day_rate_minor\":null,\"minutes_per_day\":450,\"amount_minor\":" #amount            \
    ",\"delta_minor\":0,\"delta_minutes\":0,\"currency\":\"" cur "\",\"priced\":true,\"post_close\":false,"         \
    "\"period_status\":\"OPEN\"}"

#define ADD_ALLOC(...) add(f, "delivery.allocation", ALLOC(__VA_ARGS__))
#define ADD_LINE(...) add(f, "finance.billing.line", LINE(__VA_ARGS__))

#define G1 ENG("G1", "TIME_AND_MATERIALS", 450, 100000000, "2027-06-30", "", "ACTIVE", 1)
#define G2 ENG("G2", "NON_BILLABLE", 450, 0, "2027-06-30", "", "ACTIVE", 1)

static int wrow(struct fx *f, const char *week, int scope, const char *id, struct fc_row *r)
{
    MDB_txn *txn;
    ol_store *st = ol_runtime_store(f->rt);
    ol_week w;
    assert_int_equal(ol_week_parse(week, &w), 0);
    assert_int_equal(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn), 0);
    int rc = fc_row_get(txn, ol_store_dbi(st, "weekly"), w, scope, id, r, NULL);
    mdb_txn_abort(txn);
    return rc;
}

static struct fc_row row_of(struct fx *f, const char *week, int scope, const char *id)
{
    struct fc_row r;
    if (wrow(f, week, scope, id, &r))
        fail_msg("no weekly row %d %s %s", scope, id, week);
    return r;
}

/* a demand row; ids gets the rolling-off people joined by ',' */
static struct fc_demand demand_of(struct fx *f, const char *week, const char *role, char *ids, size_t idl)
{
    MDB_txn *txn;
    ol_store *st = ol_runtime_store(f->rt);
    struct fc_demand d;
    ol_week w;
    ol_key k;
    MDB_val kv, v;
    assert_int_equal(ol_week_parse(week, &w), 0);
    ol_key_init(&k);
    ol_key_i32(&k, w);
    ol_key_str(&k, role);
    kv = ol_key_val(&k);
    assert_int_equal(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn), 0);
    if (mdb_get(txn, ol_store_dbi(st, "demand"), &kv, &v))
        fail_msg("no demand row %s %s", role, week);
    memcpy(&d, v.mv_data, sizeof d);
    size_t n = 0;
    const char *p = (const char *)v.mv_data + sizeof d;
    ids[0] = '\0';
    for (int i = 0; i < d.rolloffs; i++, p += strlen(p) + 1)
        n += (size_t)snprintf(ids + n, idl - n, "%s%s", i ? "," : "", p);
    mdb_txn_abort(txn);
    return d;
}

static struct fc_budget budget_of(struct fx *f, const char *eng)
{
    MDB_txn *txn;
    ol_store *st = ol_runtime_store(f->rt);
    struct fc_budget b;
    MDB_val kv = {strlen(eng) + 1, (void *)eng}, v;
    assert_int_equal(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn), 0);
    if (mdb_get(txn, ol_store_dbi(st, "budget"), &kv, &v))
        fail_msg("no budget row %s", eng);
    memcpy(&b, v.mv_data, sizeof b);
    mdb_txn_abort(txn);
    return b;
}

static int64_t emitted(struct fx *f, const char *topic, const char *key, const char *field)
{
    int64_t v = -999999;
    if (derived_long(f, topic, key, field, &v))
        fail_msg("no %s event %s", topic, key);
    return v;
}

/* a string field (null: returns 1) or string array (joined by ',') of the last derived event */
static int emitted_str(struct fx *f, const char *topic, const char *key, const char *field, char *out, size_t n)
{
    ol_store *st = ol_runtime_store(f->rt);
    MDB_txn *txn;
    ol_key k;
    MDB_val kv, v;
    char err[256];
    int32_t wid;
    size_t len, cnt = 0, used = 0;
    int isnull = 0;
    ol_derived_key(&k, topic, key);
    kv = ol_key_val(&k);
    assert_int_equal(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn), 0);
    if (mdb_get(txn, ol_store_dbi(st, "derived"), &kv, &v))
        fail_msg("no %s event %s", topic, key);
    ol_decoder *d = ol_decoder_new(f->schemas, ol_schemas_for_topic(f->schemas, topic));
    assert_int_equal(ol_decoder_decode(d, v.mv_data, v.mv_size, &wid, err, sizeof err), OL_CODEC_OK);
    avro_value_t fv, b = {0};
    const char *s;
    assert_int_equal(avro_value_get_by_name(ol_decoder_value(d), field, &fv, NULL), 0);
    if (avro_value_get_type(&fv) == AVRO_UNION) {
        assert_int_equal(avro_value_get_current_branch(&fv, &b), 0);
        fv = b;
    }
    out[0] = '\0';
    if (avro_value_get_type(&fv) == AVRO_NULL)
        isnull = 1;
    else if (avro_value_get_type(&fv) == AVRO_ARRAY) {
        assert_int_equal(avro_value_get_size(&fv, &cnt), 0);
        for (size_t i = 0; i < cnt; i++) {
            assert_int_equal(avro_value_get_by_index(&fv, i, &b, NULL), 0);
            assert_int_equal(avro_value_get_string(&b, &s, &len), 0);
            used += (size_t)snprintf(out + used, n - used, "%s%s", i ? "," : "", s);
        }
    } else {
        assert_int_equal(avro_value_get_string(&fv, &s, &len), 0);
        snprintf(out, n, "%s", s);
    }
    ol_decoder_free(d);
    mdb_txn_abort(txn);
    return isnull;
}

static int64_t meta(struct fx *f, const char *name)
{
    ol_store *st = ol_runtime_store(f->rt);
    MDB_txn *txn;
    int64_t v = 0;
    assert_int_equal(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(ol_meta_get_i64(txn, ol_store_dbi(st, "meta"), name, &v), 0);
    mdb_txn_abort(txn);
    return v;
}

/* ------------------------------------------------------------ weekly */

/* P1 full time, 100 % on G1 to 2026-12-31, holiday Mon+Tue of W48 and Wed
 * morning; P2 works Mon-Wed (1351: Monday 451), 50 % on T&M G1 and 50 % on
 * NON_BILLABLE G2, and a 20 % PROPOSED week on G1 */
static void test_holiday_part_timer(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    char ids[256], s[32];
    add(f, "delivery.engagement", G1);
    add(f, "delivery.engagement", G2);
    add(f, "hr.person", PERSON("P1", "data", "CONSULTANT", "true", 2250, 31, "2024-01-01", "null", 1));
    add(f, "hr.person", PERSON("P2", "data", "ANALYST", "true", 1351, 7, "2024-01-01", "null", 1));
    ADD_ALLOC("A1", 1, "G1", "\"P1\"", "CONSULTANT", 100, "2026-11-02", "2026-12-31", "CONFIRMED");
    ADD_ALLOC("A2", 1, "G1", "\"P2\"", "ANALYST", 50, "2026-11-02", "2026-12-31", "CONFIRMED");
    ADD_ALLOC("A3", 1, "G2", "\"P2\"", "ANALYST", 50, "2026-11-02", "2026-12-31", "CONFIRMED");
    ADD_ALLOC("A4", 1, "G1", "\"P2\"", "ANALYST", 20, "2026-11-16", "2026-11-22", "PROPOSED");
    add(f, "hr.leave", LEAVE("L1", 1, "P1", "2026-11-23", "2026-11-24", "FULL", "BOOKED"));
    add(f, "hr.leave", LEAVE("L2", 1, "P1", "2026-11-25", "2026-11-25", "AM", "BOOKED"));
    fold(f);

    struct fc_row r = row_of(f, "2026-W46", SCOPE_PERSON, "P1");
    assert_int_equal(r.available, 2250);
    assert_int_equal(r.allocated, 2250);
    assert_int_equal(r.bp, 10000);
    /* the holiday week: 2 days + a morning off; allocation follows availability */
    r = row_of(f, "2026-W48", SCOPE_PERSON, "P1");
    assert_int_equal(r.capacity, 2250);
    assert_int_equal(r.available, 1125);
    assert_int_equal(r.allocated, 1125);
    assert_int_equal(r.billable, 1125);
    assert_int_equal(r.bench, 0);
    assert_int_equal(r.over, 0);
    /* the allocation ends Thursday 31 December */
    r = row_of(f, "2026-W53", SCOPE_PERSON, "P1");
    assert_int_equal(r.allocated, 1800);
    assert_int_equal(r.bench, 450);
    assert_int_equal(r.bp, 8000);
    r = row_of(f, "2027-W01", SCOPE_PERSON, "P1");
    assert_int_equal(r.allocated, 0);
    assert_int_equal(r.bench, 2250);
    assert_int_equal(r.has_bp, 1);
    assert_int_equal(r.bp, 0);
    assert_int_equal(wrow(f, "2027-W05", SCOPE_PERSON, "P1", &r), MDB_NOTFOUND); /* beyond the horizon */

    /* part-timer: 50 x 1351 / 100 = 675.5 -> 675 billable; 20 % proposed = 270 */
    r = row_of(f, "2026-W47", SCOPE_PERSON, "P2");
    assert_int_equal(r.available, 1351);
    assert_int_equal(r.allocated, 1351);
    assert_int_equal(r.billable, 675);
    assert_int_equal(r.proposed, 270);
    assert_int_equal(r.bp, 4996); /* 6,750,000 / 1351 truncated */
    assert_int_equal(r.over, 0);
    assert_int_equal(emitted(f, "ops.forecast.weekly", "PERSON|P2|2026-W47", "billable_minutes"), 675);
    assert_int_equal(emitted(f, "ops.forecast.weekly", "PERSON|P2|2026-W47", "proposed_minutes"), 270);
    assert_int_equal(emitted(f, "ops.forecast.weekly", "PERSON|P2|2026-W47", "utilisation_bp"), 4996);
    assert_int_equal(row_of(f, "2026-W48", SCOPE_PERSON, "P2").proposed, 0);

    /* team and org: sums, never averages: 2925 / 3601 = 8122 bp (the average would be 7498) */
    r = row_of(f, "2026-W47", SCOPE_TEAM, "data");
    assert_int_equal(r.people, 2);
    assert_int_equal(r.available, 3601);
    assert_int_equal(r.allocated, 3601);
    assert_int_equal(r.billable, 2925);
    assert_int_equal(r.proposed, 270);
    assert_int_equal(r.bp, 8122);
    r = row_of(f, "2026-W48", SCOPE_ORG, "org");
    assert_int_equal(r.available, 2476);
    assert_int_equal(r.billable, 1800);
    assert_int_equal(r.bp, 7269);
    assert_int_equal(emitted(f, "ops.forecast.weekly", "ORG|org|2026-W48", "utilisation_bp"), 7269);
    assert_int_equal(emitted(f, "ops.forecast.weekly", "TEAM|data|2026-W48", "bench_minutes"), 0);
    assert_int_equal(emitted_str(f, "ops.forecast.weekly", "TEAM|data|2026-W48", "scope_id", s, sizeof s), 0);
    assert_string_equal(s, "data");

    /* roll-off: P1's last CONFIRMED allocation ends 2026-12-31, inside the 4
     * weeks from W50 (Mon 12-07 .. Sun 01-03) to W53, not from W49 or 2027-W01 */
    assert_int_equal(demand_of(f, "2026-W49", "CONSULTANT", ids, sizeof ids).rolloffs, 0);
    assert_int_equal(demand_of(f, "2026-W50", "CONSULTANT", ids, sizeof ids).rolloffs, 1);
    assert_string_equal(ids, "P1");
    assert_int_equal(demand_of(f, "2026-W53", "CONSULTANT", ids, sizeof ids).rolloffs, 1);
    struct fc_demand d = demand_of(f, "2027-W01", "CONSULTANT", ids, sizeof ids);
    assert_int_equal(d.rolloffs, 0);
    assert_int_equal(d.bench_minutes, 2250);
    assert_int_equal(d.gap_minutes, -2250);
    assert_int_equal(emitted(f, "ops.forecast.demand", "CONSULTANT|2026-W50", "roll_offs_next_4_weeks"), 1);

    /* cancelling the holiday gives the days back */
    add(f, "hr.leave", LEAVE("L1", 2, "P1", "2026-11-23", "2026-11-24", "FULL", "CANCELLED"));
    fold(f);
    r = row_of(f, "2026-W48", SCOPE_PERSON, "P1");
    assert_int_equal(r.available, 2025);
    assert_int_equal(r.allocated, 2025);
    assert_int_equal(emitted(f, "ops.forecast.weekly", "PERSON|P1|2026-W48", "revision"), 2);
    fx_free(f);
}

/* P3: 100 % on G1 and 30 % on G2 in W47 -> 2925 of 2250: overallocated; a
 * non-billable P4 is in the team but not in its sums; closing G2 ends it */
static void test_overallocation(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    add(f, "delivery.engagement", G1);
    add(f, "delivery.engagement", G2);
    add(f, "hr.person", PERSON("P3", "cloud", "CONSULTANT", "true", 2250, 31, "2024-01-01", "null", 1));
    add(f, "hr.person", PERSON("P4", "cloud", "CONSULTANT", "false", 2250, 31, "2024-01-01", "null", 1));
    ADD_ALLOC("A5", 1, "G1", "\"P3\"", "CONSULTANT", 100, "2026-11-16", "2026-11-22", "CONFIRMED");
    ADD_ALLOC("A6", 1, "G2", "\"P3\"", "CONSULTANT", 30, "2026-11-16", "2026-11-22", "CONFIRMED");
    fold(f);
    struct fc_row r = row_of(f, "2026-W47", SCOPE_PERSON, "P3");
    assert_int_equal(r.allocated, 2925);
    assert_int_equal(r.billable, 2250);
    assert_int_equal(r.bench, 0);
    assert_int_equal(r.over, 1);
    assert_int_equal(row_of(f, "2026-W46", SCOPE_PERSON, "P3").over, 0);
    r = row_of(f, "2026-W47", SCOPE_PERSON, "P4");
    assert_int_equal(r.bench, 2250);
    r = row_of(f, "2026-W47", SCOPE_TEAM, "cloud");
    assert_int_equal(r.people, 1);
    assert_int_equal(r.available, 2250);
    assert_int_equal(r.allocated, 2925);
    assert_int_equal(r.bench, 0); /* P4 is not billable: not bench supply */
    assert_int_equal(r.over, 1);
    assert_int_equal(r.over_people, 1);
    assert_int_equal(emitted(f, "ops.forecast.weekly", "ORG|org|2026-W47", "overallocated"), 1);
    assert_int_equal(emitted(f, "ops.forecast.weekly", "PERSON|P3|2026-W47", "overallocated"), 1);

    add(f, "delivery.engagement", ENG("G2", "NON_BILLABLE", 450, 0, "2027-06-30", "", "CLOSED", 2));
    fold(f);
    r = row_of(f, "2026-W47", SCOPE_PERSON, "P3");
    assert_int_equal(r.allocated, 2250);
    assert_int_equal(r.over, 0);
    assert_int_equal(emitted(f, "ops.forecast.weekly", "ORG|org|2026-W47", "overallocated"), 0);
    fx_free(f);
}

/* open roles: O1 SENIOR 100 % on G1 from Wednesday of W47 to W49, O2 SENIOR
 * 50 % PROPOSED on G4 (420 minutes a day) in W47, O3 cancelled; P5 SENIOR on
 * the bench with two days off in W48; P10 SENIOR is not billable */
static void test_open_roles_demand(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    char ids[256];
    add(f, "delivery.engagement", G1);
    add(f, "delivery.engagement", ENG("G4", "TIME_AND_MATERIALS", 420, 100000000, "2027-06-30", "", "ACTIVE", 1));
    add(f, "hr.person", PERSON("P5", "data", "SENIOR", "true", 2250, 31, "2024-01-01", "null", 1));
    add(f, "hr.person", PERSON("P10", "data", "SENIOR", "false", 2250, 31, "2024-01-01", "null", 1));
    add(f, "hr.leave", LEAVE("L3", 1, "P5", "2026-11-26", "2026-11-27", "FULL", "BOOKED"));
    ADD_ALLOC("O1", 1, "G1", "null", "SENIOR", 100, "2026-11-18", "2026-12-04", "CONFIRMED");
    ADD_ALLOC("O2", 1, "G4", "null", "SENIOR", 50, "2026-11-16", "2026-11-22", "PROPOSED");
    ADD_ALLOC("O3", 1, "G1", "null", "SENIOR", 100, "2026-11-16", "2026-12-31", "CONFIRMED");
    ADD_ALLOC("O3", 2, "G1", "null", "SENIOR", 100, "2026-11-16", "2026-12-31", "CANCELLED");
    fold(f);
    /* W47: 3 x 450 + 5 x 210 = 2400 open against 2250 bench */
    struct fc_demand d = demand_of(f, "2026-W47", "SENIOR", ids, sizeof ids);
    assert_int_equal(d.open_minutes, 2400);
    assert_int_equal(d.bench_minutes, 2250);
    assert_int_equal(d.gap_minutes, 150);
    assert_int_equal(d.rolloffs, 0);
    /* W48: 2250 open, P5 has 3 days: 1350 bench */
    d = demand_of(f, "2026-W48", "SENIOR", ids, sizeof ids);
    assert_int_equal(d.open_minutes, 2250);
    assert_int_equal(d.bench_minutes, 1350);
    assert_int_equal(d.gap_minutes, 900);
    d = demand_of(f, "2026-W50", "SENIOR", ids, sizeof ids);
    assert_int_equal(d.open_minutes, 0);
    assert_int_equal(d.gap_minutes, -2250);
    assert_int_equal(emitted(f, "ops.forecast.demand", "SENIOR|2026-W47", "open_role_minutes"), 2400);
    assert_int_equal(emitted(f, "ops.forecast.demand", "SENIOR|2026-W48", "gap_minutes"), 900);
    /* an open role does not count in anyone's allocated minutes */
    assert_int_equal(row_of(f, "2026-W47", SCOPE_TEAM, "data").allocated, 0);

    /* filling O1 with P5: the open demand goes, P5's bench with it */
    ADD_ALLOC("O1", 2, "G1", "\"P5\"", "SENIOR", 100, "2026-11-18", "2026-12-04", "CONFIRMED");
    fold(f);
    d = demand_of(f, "2026-W48", "SENIOR", ids, sizeof ids);
    assert_int_equal(d.open_minutes, 0);
    assert_int_equal(d.bench_minutes, 0);
    d = demand_of(f, "2026-W47", "SENIOR", ids, sizeof ids);
    assert_int_equal(d.open_minutes, 1050);
    assert_int_equal(d.bench_minutes, 900); /* Monday and Tuesday */
    assert_int_equal(d.rolloffs, 1);        /* O1 ends 2026-12-04, inside W47 .. W50 */
    assert_string_equal(ids, "P5");
    fx_free(f);
}

/* P6 leaves Wednesday 2026-12-02 with an allocation to 2027-01-29: no
 * capacity after, not a roll-off; P11 stays and rolls off; P7 joins
 * Wednesday 2026-12-09 */
static void test_leaver_joiner(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    char ids[256];
    add(f, "delivery.engagement", G1);
    add(f, "hr.person", PERSON("P6", "data", "CONSULTANT", "true", 2250, 31, "2024-01-01", "\"2026-12-02\"", 1));
    add(f, "hr.person", PERSON("P11", "data", "CONSULTANT", "true", 2250, 31, "2024-01-01", "null", 1));
    add(f, "hr.person", PERSON("P7", "data", "CONSULTANT", "true", 2250, 31, "2026-12-09", "null", 1));
    ADD_ALLOC("A7", 1, "G1", "\"P6\"", "CONSULTANT", 100, "2026-11-02", "2027-01-29", "CONFIRMED");
    ADD_ALLOC("A11", 1, "G1", "\"P11\"", "CONSULTANT", 100, "2026-11-02", "2027-01-29", "CONFIRMED");
    fold(f);
    struct fc_row r = row_of(f, "2026-W49", SCOPE_PERSON, "P6");
    assert_int_equal(r.capacity, 1350);
    assert_int_equal(r.available, 1350);
    assert_int_equal(r.allocated, 1350);
    assert_int_equal(r.bench, 0);
    assert_int_equal(wrow(f, "2026-W50", SCOPE_PERSON, "P6", &r), MDB_NOTFOUND);
    assert_int_equal(wrow(f, "2026-W49", SCOPE_PERSON, "P7", &r), MDB_NOTFOUND);
    r = row_of(f, "2026-W50", SCOPE_PERSON, "P7");
    assert_int_equal(r.available, 1350);
    assert_int_equal(r.bench, 1350);
    r = row_of(f, "2026-W50", SCOPE_TEAM, "data");
    assert_int_equal(r.people, 2);
    assert_int_equal(r.available, 3600);
    assert_int_equal(r.allocated, 2250);
    assert_int_equal(r.bench, 1350);
    assert_int_equal(row_of(f, "2026-W49", SCOPE_TEAM, "data").available, 3600); /* 1350 + 2250 */
    struct fc_demand d = demand_of(f, "2027-W04", "CONSULTANT", ids, sizeof ids);
    assert_int_equal(d.rolloffs, 1);
    assert_string_equal(ids, "P11");
    assert_int_equal(emitted(f, "ops.forecast.demand", "CONSULTANT|2027-W04", "roll_offs_next_4_weeks"), 1);
    emitted_str(f, "ops.forecast.demand", "CONSULTANT|2027-W04", "rolling_off_people", ids, sizeof ids);
    assert_string_equal(ids, "P11");

    /* HR moves the leaving date a week on: W50 gets P6's Monday to Wednesday */
    add(f, "hr.person", PERSON("P6", "data", "CONSULTANT", "true", 2250, 31, "2024-01-01", "\"2026-12-09\"", 2));
    fold(f);
    assert_int_equal(row_of(f, "2026-W50", SCOPE_PERSON, "P6").allocated, 1350);
    assert_int_equal(row_of(f, "2026-W50", SCOPE_TEAM, "data").available, 4950);
    fx_free(f);
}

/* ------------------------------------------------------------ budgets */

/* G3 ends Friday 2026-12-18; CONSULTANT 600.00 a day, 660.00 from Monday
 * 2026-12-07. FTC from Monday 2026-11-16 (the week after the data week W46):
 *   P8 100 %:  W47 5 days 300,000; W48 4 days (Friday off) 240,000; W49
 *              300,000; W50 and W51 5 x 66,000 = 330,000 each; 1,500,000
 *   P9 50 % of a 451-minute Monday: 50 x 451 x 60,000 / (100 x 450) = 30,066.67
 *   FTC = round(1,530,066.67) = 1,530,067; the SENIOR open role has no rate:
 *   900 minutes unpriced. Spend: W45 line (revision 2: 240,000), W46 150,000,
 *   expense 50,000 = 440,000; a USD line and a W47 line are left out.
 *   Cumulative: W46 440,000, W47 770,067, W48 1,010,067, W49 1,310,067,
 *   W50 1,640,067 > 1,500,000: the budget runs out in 2026-W50. */
static void test_budget(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    char s[32];
    add(f, "delivery.engagement",
        ENG("G3", "TIME_AND_MATERIALS", 450, 1500000, "2026-12-18",
            RATE("CONSULTANT", 60000, "2026-01-01") "," RATE("CONSULTANT", 66000, "2026-12-07"), "ACTIVE", 1));
    add(f, "hr.person", PERSON("P8", "data", "CONSULTANT", "true", 2250, 31, "2024-01-01", "null", 1));
    add(f, "hr.person", PERSON("P9", "data", "CONSULTANT", "true", 2251, 31, "2024-01-01", "null", 1));
    add(f, "hr.leave", LEAVE("L4", 1, "P8", "2026-11-27", "2026-11-27", "FULL", "BOOKED"));
    ADD_ALLOC("A8", 1, "G3", "\"P8\"", "CONSULTANT", 100, "2026-11-02", "2026-12-31", "CONFIRMED");
    ADD_ALLOC("A9", 1, "G3", "\"P9\"", "CONSULTANT", 50, "2026-11-16", "2026-11-16", "CONFIRMED");
    ADD_ALLOC("O4", 1, "G3", "null", "SENIOR", 100, "2026-11-16", "2026-11-17", "CONFIRMED");
    ADD_ALLOC("A10", 1, "G3", "\"P8\"", "CONSULTANT", 50, "2026-11-30", "2026-12-04", "PROPOSED");
    fold(f);
    /* no spend yet: the forecast alone passes 1,500,000 in W51 (1,200,067 by W50) */
    struct fc_budget b = budget_of(f, "G3");
    assert_int_equal(b.spent, 0);
    assert_int_equal(b.ftc, 1530067);
    assert_int_equal(b.eac, 1530067);
    assert_int_equal(b.unpriced_minutes, 900);
    assert_int_equal(b.has_runout, 1);
    assert_int_equal(b.runout, 202651);
    assert_int_equal(emitted_str(f, "ops.forecast.engagement", "G3", "budget_runs_out_week", s, sizeof s), 0);
    assert_string_equal(s, "2026-W51");

    ADD_LINE("G3|P8|2026-W45", 2, "TIME", "G3", "\"P8\"", "null", "2026-W45", 240000, "GBP");
    ADD_LINE("G3|P8|2026-W45", 1, "TIME", "G3", "\"P8\"", "null", "2026-W45", 200000, "GBP");
    ADD_LINE("G3|P8|2026-W46", 1, "TIME", "G3", "\"P8\"", "null", "2026-W46", 150000, "GBP");
    ADD_LINE("X1", 1, "EXPENSE", "G3", "null", "\"X1\"", "2026-W46", 50000, "GBP");
    ADD_LINE("X2", 1, "EXPENSE", "G3", "null", "\"X2\"", "2026-W46", 99999, "USD");
    ADD_LINE("G3|P8|2026-W47", 1, "TIME", "G3", "\"P8\"", "null", "2026-W47", 77777, "GBP");
    fold(f);
    /* derived billing lines have no occurred_at: the runtime takes them (never dead letters) */
    assert_int_equal(meta(f, "deadletters"), 0);
    b = budget_of(f, "G3");
    assert_int_equal(b.spent, 440000);
    assert_int_equal(b.ftc, 1530067);
    assert_int_equal(b.eac, 1970067);
    assert_int_equal(b.budget, 1500000);
    assert_int_equal(b.unpriced_minutes, 900);
    assert_int_equal(b.foreign_lines, 1);
    assert_int_equal(b.later_lines, 1);
    assert_int_equal(b.has_runout, 1);
    assert_int_equal(emitted(f, "ops.forecast.engagement", "G3", "estimate_at_completion_minor"), 1970067);
    assert_int_equal(emitted(f, "ops.forecast.engagement", "G3", "spent_to_date_minor"), 440000);
    assert_int_equal(emitted(f, "ops.forecast.engagement", "G3", "forecast_to_complete_minor"), 1530067);
    assert_int_equal(emitted_str(f, "ops.forecast.engagement", "G3", "budget_runs_out_week", s, sizeof s), 0);
    assert_string_equal(s, "2026-W50");
    emitted_str(f, "ops.forecast.engagement", "G3", "as_of_week", s, sizeof s);
    assert_string_equal(s, "2026-W46");
    emitted_str(f, "ops.forecast.engagement", "G3", "currency", s, sizeof s);
    assert_string_equal(s, "GBP");

    /* a bigger budget: never runs out (null); the expense withdrawn to 0 */
    add(f, "delivery.engagement",
        ENG("G3", "TIME_AND_MATERIALS", 450, 2000000, "2026-12-18",
            RATE("CONSULTANT", 60000, "2026-01-01") "," RATE("CONSULTANT", 66000, "2026-12-07"), "ACTIVE", 2));
    ADD_LINE("X1", 2, "EXPENSE", "G3", "null", "\"X1\"", "2026-W46", 0, "GBP");
    fold(f);
    b = budget_of(f, "G3");
    assert_int_equal(b.spent, 390000);
    assert_int_equal(b.eac, 1920067);
    assert_int_equal(b.has_runout, 0);
    assert_int_equal(emitted_str(f, "ops.forecast.engagement", "G3", "budget_runs_out_week", s, sizeof s), 1);
    assert_int_equal(emitted(f, "ops.forecast.engagement", "G3", "revision"), 3);
    fx_free(f);
}

/* Two forged (or saturated) billing lines of 6,000,000,000,000,000,000 each
 * on one engagement: their sum is past int64. Spend saturates at INT64_MAX
 * (ol_money_add), the budget has run out in the first of their weeks; it
 * must not wrap to a negative spend that reads as a credit and no runout. */
static void test_budget_spend_saturates(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    char s[32];
    add(f, "delivery.engagement", ENG("G3", "TIME_AND_MATERIALS", 450, 1500000, "2026-12-18", "", "ACTIVE", 1));
    add(f, "hr.person", PERSON("P8", "data", "CONSULTANT", "true", 2250, 31, "2024-01-01", "null", 1));
    ADD_LINE("G3|P8|2026-W45", 1, "TIME", "G3", "\"P8\"", "null", "2026-W45", 6000000000000000000, "GBP");
    ADD_LINE("G3|P9|2026-W45", 1, "TIME", "G3", "\"P9\"", "null", "2026-W45", 6000000000000000000, "GBP");
    fold(f);
    assert_int_equal(meta(f, "deadletters"), 0);
    struct fc_budget b = budget_of(f, "G3");
    assert_true(b.spent == INT64_MAX);
    assert_true(b.eac == INT64_MAX);
    assert_true(emitted(f, "ops.forecast.engagement", "G3", "spent_to_date_minor") == INT64_MAX);
    assert_true(emitted(f, "ops.forecast.engagement", "G3", "estimate_at_completion_minor") == INT64_MAX);
    assert_int_equal(b.has_runout, 1);
    assert_int_equal(emitted_str(f, "ops.forecast.engagement", "G3", "budget_runs_out_week", s, sizeof s), 0);
    assert_string_equal(s, "2026-W45");
    fx_free(f);
}

/* the data time reaching W48 moves the horizon: W46 and W47 leave it, 2027-W05
 * and W06 enter it, engagements are re-forecast as of W48 */
static void test_horizon_moves(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    struct fc_row r;
    char ids[64];
    add(f, "delivery.engagement", G1);
    add(f, "hr.person", PERSON("P1", "data", "CONSULTANT", "true", 2250, 31, "2024-01-01", "null", 1));
    ADD_ALLOC("A1", 1, "G1", "\"P1\"", "CONSULTANT", 100, "2026-11-02", "2027-02-28", "CONFIRMED");
    fold(f);
    assert_int_equal(wrow(f, "2026-W46", SCOPE_PERSON, "P1", &r), 0);
    assert_int_equal(wrow(f, "2027-W05", SCOPE_PERSON, "P1", &r), MDB_NOTFOUND);
    assert_int_equal(budget_of(f, "G1").as_of, 202646);
    add(f, "hr.leave", LEAVE_AT("2026-11-25T10:00:00Z", "L9", 1, "P1", "2027-02-08", "2027-02-08", "FULL", "BOOKED"));
    fold(f);
    assert_int_equal(wrow(f, "2026-W46", SCOPE_PERSON, "P1", &r), MDB_NOTFOUND);
    assert_int_equal(wrow(f, "2026-W47", SCOPE_TEAM, "data", &r), MDB_NOTFOUND);
    r = row_of(f, "2027-W06", SCOPE_PERSON, "P1");
    assert_int_equal(r.available, 1800);
    assert_int_equal(r.allocated, 1800);
    assert_int_equal(row_of(f, "2027-W05", SCOPE_ORG, "org").allocated, 2250);
    assert_int_equal(emitted(f, "ops.forecast.weekly", "TEAM|data|2027-W06", "allocated_minutes"), 1800);
    assert_int_equal(demand_of(f, "2027-W06", "CONSULTANT", ids, sizeof ids).rolloffs, 1);
    assert_int_equal(budget_of(f, "G1").as_of, 202648);
    fx_free(f);
}

/* ------------------------------------------------------------ order independence */
static const char *const perm_lines[][2] = {
    {"delivery.engagement", G1},
    {"delivery.engagement", G2},
    {"delivery.engagement", ENG("G2", "NON_BILLABLE", 400, 0, "2027-06-30", "", "ACTIVE", 2)},
    {"delivery.engagement", ENG("G3", "FIXED_PRICE", 450, 900000, "2026-12-18",
                                RATE("CONSULTANT", 60000, "2026-01-01") "," RATE("CONSULTANT", 66000, "2026-12-07"),
                                "ACTIVE", 1)},
    {"hr.person", PERSON("P1", "data", "CONSULTANT", "true", 2250, 31, "2024-01-01", "null", 1)},
    {"hr.person", PERSON("P1", "cloud", "SENIOR", "true", 2250, 31, "2024-01-01", "null", 2)},
    {"hr.person", PERSON("P2", "data", "ANALYST", "true", 1351, 7, "2024-01-01", "null", 1)},
    {"hr.person", PERSON("P6", "data", "CONSULTANT", "true", 2250, 31, "2024-01-01", "\"2026-12-02\"", 1)},
    {"hr.person", PERSON("P7", "cloud", "CONSULTANT", "true", 2250, 31, "2026-12-09", "null", 1)},
    {"hr.person", PERSON("P4", "cloud", "CONSULTANT", "false", 2250, 31, "2024-01-01", "null", 1)},
    {"hr.leave", LEAVE("L1", 1, "P1", "2026-11-23", "2026-11-24", "FULL", "BOOKED")},
    {"hr.leave", LEAVE("L1", 2, "P1", "2026-11-24", "2026-11-24", "PM", "BOOKED")},
    {"hr.leave", LEAVE("L2", 1, "P2", "2026-12-14", "2026-12-16", "FULL", "BOOKED")},
    {"delivery.allocation", ALLOC("A1", 1, "G1", "\"P1\"", "SENIOR", 100, "2026-11-02", "2026-12-31", "CONFIRMED")},
    {"delivery.allocation", ALLOC("A2", 1, "G3", "\"P2\"", "CONSULTANT", 50, "2026-11-02", "2026-12-31", "CONFIRMED")},
    {"delivery.allocation", ALLOC("A3", 1, "G2", "\"P2\"", "ANALYST", 70, "2026-11-02", "2026-12-31", "CONFIRMED")},
    {"delivery.allocation", ALLOC("A4", 1, "G1", "\"P2\"", "ANALYST", 20, "2026-11-16", "2026-11-22", "PROPOSED")},
    {"delivery.allocation", ALLOC("A6", 1, "G3", "\"P6\"", "CONSULTANT", 100, "2026-11-02", "2027-01-29", "CONFIRMED")},
    {"delivery.allocation", ALLOC("A6", 2, "G3", "\"P6\"", "CONSULTANT", 80, "2026-11-02", "2027-01-29", "CONFIRMED")},
    {"delivery.allocation", ALLOC("O1", 1, "G1", "null", "SENIOR", 100, "2026-11-18", "2026-12-04", "CONFIRMED")},
    {"delivery.allocation", ALLOC("O1", 2, "G1", "\"P7\"", "SENIOR", 100, "2026-12-09", "2027-01-15", "CONFIRMED")},
    {"delivery.allocation", ALLOC("O2", 1, "G2", "null", "CONSULTANT", 50, "2026-11-16", "2026-12-22", "PROPOSED")},
    {"hr.leave", LEAVE_AT("2026-11-18T08:00:00Z", "L3", 1, "P7", "2026-12-21", "2026-12-23", "AM", "BOOKED")},
    {"finance.billing.line", LINE("G3|P6|2026-W45", 1, "TIME", "G3", "\"P6\"", "null", "2026-W45", 300000, "GBP")},
    {"finance.billing.line", LINE("G3|P6|2026-W45", 2, "TIME", "G3", "\"P6\"", "null", "2026-W45", 270000, "GBP")},
    {"finance.billing.line", LINE("X1", 1, "EXPENSE", "G3", "null", "\"X1\"", "2026-W46", 12345, "GBP")},
};
#define NPERM (sizeof perm_lines / sizeof perm_lines[0])

static const char *const forecast_dbs[] = {"people",  "leaves",      "allocs",      "open_roles", "eng_allocs",
                                           "engs",    "lines",       "team_people", "role_people", "weekly",
                                           "demand",  "budget",      "fmeta",       "entity",     "derived",
                                           NULL};

static void check_perm(struct fx *f)
{
    struct fc_row r = row_of(f, "2026-W48", SCOPE_PERSON, "P1");
    assert_int_equal(r.available, 2025); /* revision 2 of L1: only Tuesday afternoon */
    assert_int_equal(row_of(f, "2026-W48", SCOPE_TEAM, "cloud").people, 1); /* P7 joins in W50 */
    assert_int_equal(row_of(f, "2026-W50", SCOPE_TEAM, "cloud").people, 2);
}

/* the same records in 6 orders in one batch give byte-identical projections,
 * derived events included; one record per batch in 4 orders gives the same
 * projection databases (revisions of derived events then differ, by design) */
static void test_order_independence(void **state)
{
    (void)state;
    svc_order_independence(&forecast_service, perm_lines, NPERM, forecast_dbs, check_perm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_holiday_part_timer), cmocka_unit_test(test_overallocation),
        cmocka_unit_test(test_open_roles_demand),  cmocka_unit_test(test_leaver_joiner),
        cmocka_unit_test(test_budget),
        cmocka_unit_test(test_budget_spend_saturates),             cmocka_unit_test(test_horizon_moves),
        cmocka_unit_test(test_order_independence),
    };
    return cmocka_run_group_tests_name("forecast", tests, NULL, NULL);
}
