/* test_json — ol_json: JSON <-> Avro mapping and the SPEC's validation rules.
 *
 * The schema is written by the test into a mkdtemp directory so the test does
 * not depend on the repository's schemas/ (which evolve) and covers every
 * shape the mapper must handle: envelope, logical types, enums (inline and by
 * reference), nullable unions, defaults, nested records in an array, a map,
 * bytes and the ol.* validation attributes. Error strings whose format the
 * contract fixes are asserted exactly. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "ol_json.h"
#include "ol_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const AVSC =
    "{\"type\":\"record\",\"name\":\"TimeEntry\",\"namespace\":\"com.opsledger.test\",\"fields\":[\n"
    " {\"name\":\"event_id\",\"type\":\"string\"},\n"
    " {\"name\":\"occurred_at\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}},\n"
    " {\"name\":\"source\",\"type\":\"string\"},\n"
    " {\"name\":\"revision\",\"type\":\"long\"},\n"
    " {\"name\":\"entry_id\",\"type\":\"string\"},\n"
    " {\"name\":\"person_id\",\"type\":\"string\"},\n"
    " {\"name\":\"engagement_id\",\"type\":[\"null\",\"string\"],\"default\":null},\n"
    " {\"name\":\"activity\",\"type\":{\"type\":\"enum\",\"name\":\"Activity\","
    "\"symbols\":[\"DELIVERY\",\"SALES_SUPPORT\",\"TRAINING\"]}},\n"
    " {\"name\":\"work_date\",\"type\":{\"type\":\"int\",\"logicalType\":\"date\"}},\n"
    " {\"name\":\"minutes\",\"type\":\"int\",\"ol.min\":0,\"ol.max\":1440,\"doc\":\"time worked\"},\n"
    " {\"name\":\"rate_card\",\"default\":[],\"type\":{\"type\":\"array\",\"items\":{\"type\":\"record\","
    "\"name\":\"RateRow\",\"fields\":[{\"name\":\"role\",\"type\":\"string\"},"
    "{\"name\":\"day_rate_minor\",\"type\":\"long\",\"ol.min\":0},"
    "{\"name\":\"effective_from\",\"type\":{\"type\":\"int\",\"logicalType\":\"date\"}}]}}},\n"
    " {\"name\":\"week\",\"type\":\"string\",\"ol.format\":\"iso_week\"},\n"
    " {\"name\":\"currency\",\"type\":\"string\",\"ol.format\":\"currency\"},\n"
    " {\"name\":\"minutes_per_day\",\"type\":\"int\",\"default\":450},\n"
    " {\"name\":\"previous_activity\",\"type\":[\"null\",\"Activity\"],\"default\":null},\n"
    " {\"name\":\"left_on\",\"type\":[\"null\",{\"type\":\"int\",\"logicalType\":\"date\"}],\"default\":null,"
    "\"ol.not_before\":\"work_date\"},\n"
    " {\"name\":\"billable\",\"type\":\"boolean\",\"default\":true},\n"
    " {\"name\":\"tags\",\"type\":{\"type\":\"map\",\"values\":\"long\"},\"default\":{}},\n"
    " {\"name\":\"note\",\"type\":\"bytes\",\"default\":\"\"}\n"
    "]}\n";

static const char *const MANIFEST = "# id subject file key_field entity_field\n"
                                    "1 timesheet.entry-value entry.avsc person_id entry_id\n";

/* every field given; already in the canonical form ol_json_from_avro writes */
static const char *const FULL =
    "{\"event_id\":\"e-1\",\"occurred_at\":\"2026-11-16T09:00:00.000Z\",\"source\":\"timesheet\","
    "\"revision\":3,\"entry_id\":\"t-1\",\"person_id\":\"p-1\",\"engagement_id\":\"eng-1\","
    "\"activity\":\"DELIVERY\",\"work_date\":\"2026-11-16\",\"minutes\":420,"
    "\"rate_card\":[{\"role\":\"DEV\",\"day_rate_minor\":90000,\"effective_from\":\"2026-01-01\"},"
    "{\"role\":\"LEAD\",\"day_rate_minor\":120000,\"effective_from\":\"2026-06-01\"}],"
    "\"week\":\"2026-W47\",\"currency\":\"EUR\",\"minutes_per_day\":480,\"previous_activity\":\"TRAINING\","
    "\"left_on\":\"2027-01-31\",\"billable\":false,\"tags\":{\"a\":1,\"b\":-2},\"note\":\"h\\u00E9llo\"}";

typedef struct {
    char dir[64];
    ol_schemas *all;
    const ol_schema *s;
    avro_value_t v;
    char err[512];
} fixture;

static int write_file(const char *dir, const char *name, const char *text)
{
    char path[256];
    FILE *f;
    int rc;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "w");
    if (!f)
        return -1;
    rc = fputs(text, f) < 0;
    rc |= fclose(f) != 0;
    return rc ? -1 : 0;
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    char err[512];

    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/ol_test_json.XXXXXX");
    if (!mkdtemp(fx->dir) || write_file(fx->dir, "manifest.tsv", MANIFEST) ||
        write_file(fx->dir, "entry.avsc", AVSC) || ol_schemas_load(fx->dir, &fx->all, err, sizeof err)) {
        fprintf(stderr, "setup: %s\n", err);
        free(fx);
        return -1;
    }
    fx->s = ol_schemas_for_topic(fx->all, "timesheet.entry");
    if (!fx->s || avro_generic_value_new(fx->s->iface, &fx->v)) {
        ol_schemas_free(fx->all);
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    char path[256];

    avro_value_decref(&fx->v);
    ol_schemas_free(fx->all);
    snprintf(path, sizeof path, "%s/manifest.tsv", fx->dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/entry.avsc", fx->dir);
    unlink(path);
    rmdir(fx->dir);
    free(fx);
    return 0;
}

/* FULL with key set to the JSON text val (NULL: key removed) */
static json_t *full_with(const char *key, const char *val)
{
    json_t *o = json_loads(FULL, 0, NULL);
    assert_non_null(o);
    if (!key)
        return o;
    if (!val) {
        assert_int_equal(json_object_del(o, key), 0);
    } else {
        json_t *x = json_loads(val, JSON_DECODE_ANY, NULL);
        assert_non_null(x);
        assert_int_equal(json_object_set_new(o, key, x), 0);
    }
    return o;
}

/* maps FULL with key=val; asserts it fails with exactly want */
static void expect_map_error(fixture *fx, const char *key, const char *val, const char *want)
{
    json_t *o = full_with(key, val);
    int rc = ol_json_to_avro(fx->s, o, &fx->v, fx->err, sizeof fx->err);
    json_decref(o);
    assert_int_equal(rc, -1);
    assert_string_equal(fx->err, want);
}

/* maps FULL with key=val (must succeed); asserts validation fails with exactly want */
static void expect_invalid(fixture *fx, const char *key, const char *val, const char *want)
{
    json_t *o = full_with(key, val);
    int rc = ol_json_to_avro(fx->s, o, &fx->v, fx->err, sizeof fx->err);
    json_decref(o);
    if (rc)
        fail_msg("mapping failed: %s", fx->err);
    assert_int_equal(ol_validate(fx->s, &fx->v, fx->err, sizeof fx->err), -1);
    assert_string_equal(fx->err, want);
}

static void test_round_trip(void **state)
{
    fixture *fx = *state;
    json_t *in = json_loads(FULL, 0, NULL), *out;
    char *text;

    assert_non_null(in);
    if (ol_json_to_avro(fx->s, in, &fx->v, fx->err, sizeof fx->err))
        fail_msg("%s", fx->err);
    if (ol_validate(fx->s, &fx->v, fx->err, sizeof fx->err))
        fail_msg("%s", fx->err);
    out = ol_json_from_avro(fx->s, &fx->v);
    assert_non_null(out);
    assert_true(json_equal(in, out));
    /* fields come out in schema order, which FULL already follows */
    text = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    assert_non_null(text);
    assert_string_equal(text, FULL);
    free(text);
    json_decref(out);
    json_decref(in);

    /* null branches, an empty array and a wrapped Avro-JSON union value */
    json_t *o = full_with("engagement_id", "null");
    assert_int_equal(json_object_set_new(o, "previous_activity", json_null()), 0);
    assert_int_equal(json_object_set_new(o, "left_on", json_null()), 0);
    assert_int_equal(json_object_set_new(o, "rate_card", json_array()), 0);
    if (ol_json_to_avro(fx->s, o, &fx->v, fx->err, sizeof fx->err))
        fail_msg("%s", fx->err);
    out = ol_json_from_avro(fx->s, &fx->v);
    assert_non_null(out);
    assert_true(json_equal(o, out));
    json_decref(out);
    json_decref(o);

    o = full_with("engagement_id", "{\"string\":\"eng-9\"}");
    if (ol_json_to_avro(fx->s, o, &fx->v, fx->err, sizeof fx->err))
        fail_msg("%s", fx->err);
    json_decref(o);
    out = ol_json_from_avro(fx->s, &fx->v);
    assert_non_null(out);
    assert_string_equal(json_string_value(json_object_get(out, "engagement_id")), "eng-9");
    json_decref(out);
}

static void test_defaults(void **state)
{
    fixture *fx = *state;
    json_t *o = json_loads(FULL, 0, NULL), *out;
    const char *const dropped[] = {"engagement_id", "rate_card", "minutes_per_day", "previous_activity",
                                   "left_on",       "billable",  "tags",            "note"};

    assert_non_null(o);
    for (size_t i = 0; i < sizeof dropped / sizeof dropped[0]; i++)
        assert_int_equal(json_object_del(o, dropped[i]), 0);
    if (ol_json_to_avro(fx->s, o, &fx->v, fx->err, sizeof fx->err))
        fail_msg("%s", fx->err);
    json_decref(o);
    out = ol_json_from_avro(fx->s, &fx->v);
    assert_non_null(out);
    assert_int_equal(json_integer_value(json_object_get(out, "minutes_per_day")), 450);
    assert_true(json_is_null(json_object_get(out, "engagement_id")));
    assert_true(json_is_null(json_object_get(out, "previous_activity")));
    assert_true(json_is_null(json_object_get(out, "left_on")));
    assert_true(json_is_true(json_object_get(out, "billable")));
    assert_int_equal(json_array_size(json_object_get(out, "rate_card")), 0);
    assert_int_equal(json_object_size(json_object_get(out, "tags")), 0);
    assert_string_equal(json_string_value(json_object_get(out, "note")), "");
    json_decref(out);
}

static void test_type_errors(void **state)
{
    fixture *fx = *state;

    expect_map_error(fx, "minutes", "\"ten\"", "field \"minutes\": expected int, got \"ten\"");
    expect_map_error(fx, "minutes", "10.5", "field \"minutes\": expected int, got 10.5");
    expect_map_error(fx, "minutes", "3000000000",
                     "field \"minutes\": expected int, got 3000000000 (out of int32 range)");
    expect_map_error(fx, "revision", "\"3\"", "field \"revision\": expected long, got \"3\"");
    expect_map_error(fx, "billable", "1", "field \"billable\": expected boolean, got 1");
    expect_map_error(fx, "engagement_id", "5", "field \"engagement_id\": expected null or string, got 5");
    expect_map_error(fx, "person_id", NULL, "field \"person_id\": missing");
    expect_map_error(fx, "rate_card", "[{\"role\":\"DEV\",\"day_rate_minor\":1,\"effective_from\":1},"
                                      "{\"role\":\"X\",\"day_rate_minor\":\"a lot\",\"effective_from\":2}]",
                     "field \"rate_card[1].day_rate_minor\": expected long, got \"a lot\"");
    expect_map_error(fx, "engagement_id", "{\"int\":5}",
                     "field \"engagement_id\": expected null or string, got {\"int\":5}");
    expect_map_error(fx, "tags", "{\"a\":1,\"b\":\"x\"}", "field \"tags.b\": expected long, got \"x\"");
    expect_map_error(fx, "tags", "[]", "field \"tags\": expected object (map), got []");
    expect_map_error(fx, "rate_card", "{}", "field \"rate_card\": expected array, got {}");
    expect_map_error(fx, "rate_card", "[5]", "field \"rate_card[0]\": expected RateRow, got 5");
    expect_map_error(fx, "note", "\"\\u0100\"",
                     "field \"note\": expected bytes as a string of code points 0-255, got \"\xc4\x80\"");
    /* the offending value is shown truncated to 40 characters */
    expect_map_error(fx, "minutes", "\"0123456789012345678901234567890123456789xyz\"",
                     "field \"minutes\": expected int, got \"012345678901234567890123456789012345...");
}

static void test_unknown_field(void **state)
{
    fixture *fx = *state;

    expect_map_error(fx, "minuts", "10", "field \"minuts\": not in schema TimeEntry");
    expect_map_error(fx, "rate_card", "[{\"role\":\"DEV\",\"day_rate_minor\":1,\"effective_from\":1,\"x\":0}]",
                     "field \"rate_card[0].x\": not in schema RateRow");
}

static void test_enum(void **state)
{
    fixture *fx = *state;

    expect_map_error(fx, "activity", "\"FOO\"",
                     "field \"activity\": unknown symbol \"FOO\" (expected one of DELIVERY, SALES_SUPPORT, TRAINING)");
    expect_map_error(fx, "previous_activity", "\"delivery\"",
                     "field \"previous_activity\": unknown symbol \"delivery\" (expected one of DELIVERY, "
                     "SALES_SUPPORT, TRAINING)");
}

static void test_dates(void **state)
{
    fixture *fx = *state;
    json_t *o, *out;

    expect_map_error(fx, "work_date", "\"2026-13-01\"",
                     "field \"work_date\": expected date YYYY-MM-DD, got \"2026-13-01\"");
    expect_map_error(fx, "work_date", "\"2026-02-30\"",
                     "field \"work_date\": expected date YYYY-MM-DD, got \"2026-02-30\"");
    expect_map_error(fx, "left_on", "\"31/01/2027\"",
                     "field \"left_on\": expected date YYYY-MM-DD, got \"31/01/2027\"");
    /* an integer is days since the epoch */
    o = full_with("work_date", "20408");
    if (ol_json_to_avro(fx->s, o, &fx->v, fx->err, sizeof fx->err))
        fail_msg("%s", fx->err);
    json_decref(o);
    out = ol_json_from_avro(fx->s, &fx->v);
    assert_non_null(out);
    assert_string_equal(json_string_value(json_object_get(out, "work_date")), "2025-11-16");
    json_decref(out);
}

static int64_t occurred_at_of(fixture *fx, const char *val)
{
    json_t *o = full_with("occurred_at", val);
    avro_value_t f;
    int64_t ms = -1;

    if (ol_json_to_avro(fx->s, o, &fx->v, fx->err, sizeof fx->err))
        fail_msg("%s", fx->err);
    json_decref(o);
    assert_int_equal(avro_value_get_by_name(&fx->v, "occurred_at", &f, NULL), 0);
    assert_int_equal(avro_value_get_long(&f, &ms), 0);
    return ms;
}

static void test_timestamps(void **state)
{
    fixture *fx = *state;
    int64_t want;

    assert_int_equal(ol_ts_parse("2026-11-16T09:00:00Z", &want), 0);
    assert_true(occurred_at_of(fx, "\"2026-11-16T10:00:00+01:00\"") == want);
    assert_true(occurred_at_of(fx, "\"2026-11-16T04:30:00.000-04:30\"") == want);
    {
        char num[32];
        snprintf(num, sizeof num, "%lld", (long long)want);
        assert_true(occurred_at_of(fx, num) == want);
    }
    expect_map_error(fx, "occurred_at", "\"yesterday\"",
                     "field \"occurred_at\": expected RFC 3339 timestamp, got \"yesterday\"");
    expect_invalid(fx, "occurred_at", "\"2101-01-01T00:00:00Z\"",
                   "field \"occurred_at\": 2101-01-01T00:00:00.000Z outside "
                   "1970-01-01T00:00:00Z..2100-12-31T23:59:59.999Z");
    expect_invalid(fx, "occurred_at", "-1",
                   "field \"occurred_at\": 1969-12-31T23:59:59.999Z outside "
                   "1970-01-01T00:00:00Z..2100-12-31T23:59:59.999Z");
}

static void test_bad_lines(void **state)
{
    fixture *fx = *state;
    const char good[] = "{\"a\":1}garbage";
    const char *bad = "{\"event_id\": \"e-1\",}";

    assert_int_equal(ol_json_line_to_avro(fx->s, bad, strlen(bad), &fx->v, fx->err, sizeof fx->err), -1);
    assert_true(strncmp(fx->err, "invalid JSON at column ", 23) == 0);
    assert_int_equal(ol_json_line_to_avro(fx->s, "[1,2]", 5, &fx->v, fx->err, sizeof fx->err), -1);
    assert_string_equal(fx->err, "expected a JSON object");
    assert_int_equal(ol_json_line_to_avro(fx->s, "\"x\"", 3, &fx->v, fx->err, sizeof fx->err), -1);
    assert_string_equal(fx->err, "expected a JSON object");
    assert_int_equal(ol_json_line_to_avro(fx->s, "", 0, &fx->v, fx->err, sizeof fx->err), -1);
    assert_true(strncmp(fx->err, "invalid JSON at column ", 23) == 0);
    /* only len bytes are read: the object is complete, unknown field a */
    assert_int_equal(ol_json_line_to_avro(fx->s, good, 7, &fx->v, fx->err, sizeof fx->err), -1);
    assert_string_equal(fx->err, "field \"a\": not in schema TimeEntry");
    /* and a full line maps */
    if (ol_json_line_to_avro(fx->s, FULL, strlen(FULL), &fx->v, fx->err, sizeof fx->err))
        fail_msg("%s", fx->err);
    assert_int_equal(ol_validate(fx->s, &fx->v, fx->err, sizeof fx->err), 0);
}

static void test_validate(void **state)
{
    fixture *fx = *state;

    expect_invalid(fx, "minutes", "-5", "field \"minutes\": -5 below minimum 0");
    expect_invalid(fx, "minutes", "2000", "field \"minutes\": 2000 above maximum 1440");
    expect_invalid(fx, "work_date", "\"9999-01-01\"",
                   "field \"work_date\": 9999-01-01 outside 1970-01-01..2100-12-31");
    expect_invalid(fx, "work_date", "\"1969-12-31\"",
                   "field \"work_date\": 1969-12-31 outside 1970-01-01..2100-12-31");
    expect_invalid(fx, "left_on", "\"2101-01-01\"", "field \"left_on\": 2101-01-01 outside 1970-01-01..2100-12-31");
    expect_invalid(fx, "rate_card", "[{\"role\":\"DEV\",\"day_rate_minor\":-1,\"effective_from\":\"2026-01-01\"}]",
                   "field \"rate_card[0].day_rate_minor\": -1 below minimum 0");
    expect_invalid(fx, "week", "\"2026-W54\"", "field \"week\": expected ISO week YYYY-Www, got \"2026-W54\"");
    expect_invalid(fx, "week", "\"2026-47\"", "field \"week\": expected ISO week YYYY-Www, got \"2026-47\"");
    expect_invalid(fx, "currency", "\"eur\"", "field \"currency\": expected currency of 3 letters A-Z, got \"eur\"");
    expect_invalid(fx, "currency", "\"EURO\"",
                   "field \"currency\": expected currency of 3 letters A-Z, got \"EURO\"");
    expect_invalid(fx, "event_id", "\"\"", "field \"event_id\": empty");
    expect_invalid(fx, "entry_id", "\"\"", "field \"entry_id\": empty");
    /* ol.not_before: a range that ends before it starts, in both paths (the
     * compiled check sends it to validate(), which names both values) */
    expect_invalid(fx, "left_on", "\"2026-11-15\"",
                   "field \"left_on\": 2026-11-15 is before work_date 2026-11-16: a range must not end before it "
                   "starts");
    expect_invalid(fx, "left_on", "\"1970-01-01\"",
                   "field \"left_on\": 1970-01-01 is before work_date 2026-11-16: a range must not end before it "
                   "starts");
    {
        const char *pass[] = {"\"2026-11-16\"", "null"}; /* the same day; no end */
        for (int i = 0; i < 2; i++) {
            json_t *o = full_with("left_on", pass[i]);
            assert_int_equal(ol_json_to_avro(fx->s, o, &fx->v, fx->err, sizeof fx->err), 0);
            json_decref(o);
            if (ol_validate(fx->s, &fx->v, fx->err, sizeof fx->err))
                fail_msg("left_on %s: %s", pass[i], fx->err);
        }
    }
    /* edges that pass */
    {
        json_t *o = full_with("minutes", "1440");
        assert_int_equal(json_object_set_new(o, "work_date", json_string("2100-12-31")), 0);
        assert_int_equal(json_object_set_new(o, "left_on", json_string("2100-12-31")), 0);
        assert_int_equal(json_object_set_new(o, "occurred_at", json_string("1970-01-01T00:00:00Z")), 0);
        assert_int_equal(ol_json_to_avro(fx->s, o, &fx->v, fx->err, sizeof fx->err), 0);
        json_decref(o);
        if (ol_validate(fx->s, &fx->v, fx->err, sizeof fx->err))
            fail_msg("%s", fx->err);
    }
}

static void test_no_err_buffer(void **state)
{
    fixture *fx = *state;
    json_t *o = full_with("minutes", "\"ten\"");
    avro_value_t fresh;

    /* a value never filled: its unions have no branch; errors, no crash, no leak */
    assert_int_equal(avro_generic_value_new(fx->s->iface, &fresh), 0);
    assert_null(ol_json_from_avro(fx->s, &fresh));
    assert_int_equal(ol_validate(fx->s, &fresh, fx->err, sizeof fx->err), -1);
    assert_string_equal(fx->err, "field \"event_id\": empty");
    avro_value_decref(&fresh);

    assert_int_equal(ol_json_to_avro(fx->s, o, &fx->v, NULL, 0), -1);
    json_decref(o);
    assert_int_equal(ol_json_to_avro(fx->s, NULL, &fx->v, fx->err, sizeof fx->err), -1);
    assert_string_equal(fx->err, "expected a JSON object");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip), cmocka_unit_test(test_defaults),   cmocka_unit_test(test_type_errors),
        cmocka_unit_test(test_unknown_field), cmocka_unit_test(test_enum),    cmocka_unit_test(test_dates),
        cmocka_unit_test(test_timestamps), cmocka_unit_test(test_bad_lines), cmocka_unit_test(test_validate),
        cmocka_unit_test(test_no_err_buffer),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
