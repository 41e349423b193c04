/* test_drec — the derived-event builder (common/ol_drec.c) writes exactly the
 * bytes avro-c writes for the same values: every kind it encodes, at the
 * edges of each (empty and long strings, int and long extremes, null and
 * present branches), for a schema made for the test and for every derived
 * schema of schemas/ it can build. And it refuses what it cannot encode or
 * was not given: an unset field, a value of another kind, an enum index out
 * of range, a null for a field that is not nullable, a field that does not
 * exist, a schema with a type it does not write. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ol_codec.h"
#include "ol_drec.h"
#include "ol_schema.h"
#include "test_util.h"

static const char *const every_kind_json =
    "{\"type\":\"record\",\"name\":\"T\",\"fields\":["
    "{\"name\":\"event_id\",\"type\":\"string\"},{\"name\":\"key\",\"type\":\"string\"},"
    "{\"name\":\"revision\",\"type\":\"long\"},"
    "{\"name\":\"s\",\"type\":\"string\"},{\"name\":\"i\",\"type\":\"int\"},{\"name\":\"l\",\"type\":\"long\"},"
    "{\"name\":\"b\",\"type\":\"boolean\"},"
    "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\",\"C\"]}},"
    "{\"name\":\"os\",\"type\":[\"null\",\"string\"]},{\"name\":\"oi\",\"type\":[\"null\",\"int\"]},"
    "{\"name\":\"ol\",\"type\":[\"null\",\"long\"]}]}";

/* a schema made by hand: id, topic, avro and its generic class */
static void make_schema(ol_schema *s, const char *json, int32_t id)
{
    memset(s, 0, sizeof *s);
    s->id = id;
    s->topic = (char *)"test.topic";
    assert_int_equal(avro_schema_from_json_length(json, strlen(json), &s->avro), 0);
    assert_non_null(s->iface = avro_generic_class_from_schema(s->avro));
}

static void drop_schema(ol_schema *s)
{
    avro_value_iface_decref(s->iface);
    avro_schema_decref(s->avro);
}

/* deterministic values: v picks each field's value among its edges */
static int64_t pick_long(uint64_t v, int field)
{
    static const int64_t longs[] = {0, 1, -1, 63, -64, 64, 8191, -8193, INT64_MAX, INT64_MIN, 123456789012LL};
    return longs[(v + (uint64_t)field * 7) % (sizeof longs / sizeof *longs)];
}

static int32_t pick_int(uint64_t v, int field)
{
    static const int32_t ints[] = {0, 1, -1, 63, -64, 64, 8191, INT32_MAX, INT32_MIN, 510000};
    return ints[(v + (uint64_t)field * 3) % (sizeof ints / sizeof *ints)];
}

static void pick_str(uint64_t v, int field, char *buf, size_t len)
{
    size_t n = (v * 37 + (uint64_t)field * 11) % 300; /* 0 to 299 bytes: one- and two-byte lengths */
    if (n >= len)
        n = len - 1;
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)('a' + (i + v) % 26);
    buf[n] = 0;
}

/* Sets every non-envelope field of schema s in both gv (a generic value)
 * and r (the builder) to the same value chosen by v, then sets gv's
 * envelope to what ol_drec_frame writes ("", key, 0). For odd v the fields
 * are set last to first: the builder must find each by its name, whatever
 * the order. */
static void fill_both(const ol_schema *s, avro_value_t *gv, ol_drec *r, uint64_t v, const char *key)
{
    char str[400];
    size_t nf = avro_schema_record_size(s->avro);
    avro_value_t f, b;
    assert_int_equal(avro_value_get_by_index(gv, 0, &f, NULL), 0);
    assert_int_equal(avro_value_set_string(&f, ""), 0);
    assert_int_equal(avro_value_get_by_index(gv, 1, &f, NULL), 0);
    assert_int_equal(avro_value_set_string(&f, key), 0);
    assert_int_equal(avro_value_get_by_index(gv, 2, &f, NULL), 0);
    assert_int_equal(avro_value_set_long(&f, 0), 0);
    for (size_t j = 3; j < nf; j++) {
        size_t i = v & 1 ? nf + 2 - j : j; /* every other set: the fields in reverse order */
        const char *name = avro_schema_record_field_name(s->avro, (int)i);
        avro_schema_t t = avro_schema_record_field_get_by_index(s->avro, (int)i);
        int present = (v + i) % 3 != 0;
        assert_int_equal(avro_value_get_by_index(gv, i, &f, NULL), 0);
        switch (avro_typeof(t)) {
        case AVRO_STRING:
            pick_str(v, (int)i, str, sizeof str);
            assert_int_equal(avro_value_set_string(&f, str), 0);
            assert_int_equal(ol_drec_str(r, name, str), 0);
            break;
        case AVRO_INT32:
            assert_int_equal(avro_value_set_int(&f, pick_int(v, (int)i)), 0);
            assert_int_equal(ol_drec_int(r, name, pick_int(v, (int)i)), 0);
            break;
        case AVRO_INT64:
            assert_int_equal(avro_value_set_long(&f, pick_long(v, (int)i)), 0);
            assert_int_equal(ol_drec_long(r, name, pick_long(v, (int)i)), 0);
            break;
        case AVRO_BOOLEAN:
            assert_int_equal(avro_value_set_boolean(&f, (int)((v + i) & 1)), 0);
            assert_int_equal(ol_drec_bool(r, name, (int)((v + i) & 1)), 0);
            break;
        case AVRO_ENUM: {
            int e = (int)((v + i) % (uint64_t)avro_schema_enum_number_of_symbols(t));
            assert_int_equal(avro_value_set_enum(&f, e), 0);
            assert_int_equal(ol_drec_enum(r, name, e), 0);
            break;
        }
        case AVRO_UNION: {
            avro_type_t bt = avro_typeof(avro_schema_union_branch(t, 1));
            assert_int_equal(avro_value_set_branch(&f, present ? 1 : 0, &b), 0);
            if (!present)
                assert_int_equal(avro_value_set_null(&b), 0);
            if (bt == AVRO_STRING) {
                pick_str(v, (int)i, str, sizeof str);
                if (present)
                    assert_int_equal(avro_value_set_string(&b, str), 0);
                assert_int_equal(ol_drec_opt_str(r, name, present ? str : NULL), 0);
            } else if (bt == AVRO_INT32) {
                if (present)
                    assert_int_equal(avro_value_set_int(&b, pick_int(v, (int)i)), 0);
                assert_int_equal(ol_drec_opt_int(r, name, present, pick_int(v, (int)i)), 0);
            } else {
                assert_int_equal(bt, AVRO_INT64);
                if (present)
                    assert_int_equal(avro_value_set_long(&b, pick_long(v, (int)i)), 0);
                assert_int_equal(ol_drec_opt_long(r, name, present, pick_long(v, (int)i)), 0);
            }
            break;
        }
        default: fail_msg("field %s: a type the builder should have refused", name);
        }
    }
}

/* for n value sets: the builder's frame is avro-c's, byte for byte */
static void same_bytes(const ol_schema *s, int n)
{
    char why[300], err[300], key[400], long_team[201];
    memset(long_team, 't', 200);
    long_team[200] = 0;
    ol_drec *r = ol_drec_new(s, why, sizeof why);
    assert_non_null(r);
    avro_value_t gv;
    assert_int_equal(avro_generic_value_new(s->iface, &gv), 0);
    for (int v = 0; v < n; v++) {
        const uint8_t *frame;
        uint8_t *want;
        size_t len, wlen;
        /* every fifth key longer than 127 bytes: a two-byte length */
        snprintf(key, sizeof key, "PERSON|p-%d|%s|2026-W%02d", v, v % 5 ? "" : long_team, v % 53 + 1);
        avro_value_reset(&gv);
        ol_drec_clear(r);
        fill_both(s, &gv, r, (uint64_t)v, key);
        assert_int_equal(ol_drec_frame(r, key, &frame, &len), 0);
        assert_int_equal(ol_codec_encode(s, &gv, &want, &wlen, err, sizeof err), 0);
        assert_int_equal(len, wlen);
        assert_memory_equal(frame, want, wlen);
        free(want);
    }
    avro_value_decref(&gv);
    ol_drec_free(r);
}

static void test_every_kind_as_avro_writes_it(void **state)
{
    (void)state;
    ol_schema s;
    make_schema(&s, every_kind_json, 0x01020304);
    same_bytes(&s, 400);
    drop_schema(&s);
}

static void test_every_derived_schema_it_builds(void **state)
{
    (void)state;
    ol_schemas *all;
    char err[300];
    int built = 0;
    assert_int_equal(ol_schemas_load(ol_schemas_default_dir(), &all, err, sizeof err), 0);
    for (size_t i = 0; i < all->n; i++) {
        ol_drec *r = ol_drec_new(&all->v[i], err, sizeof err);
        if (!r)
            continue;
        ol_drec_free(r);
        same_bytes(&all->v[i], 60);
        built++;
    }
    assert_true(built >= 6);
    /* every topic a service emits through the builder */
    static const char *const used[] = {"ops.utilisation.weekly", "ops.timesheet.missing", "finance.billing.line",
                                       "ops.forecast.weekly",    "ops.forecast.engagement", "ops.headcount.weekly"};
    for (size_t i = 0; i < sizeof used / sizeof *used; i++) {
        ol_drec *r = ol_drec_new(ol_schemas_for_topic(all, used[i]), err, sizeof err);
        assert_non_null(r);
        ol_drec_free(r);
    }
    ol_schemas_free(all);
}

/* i = 1, l = 2, b, e, oi null: the numeric fields of every_kind_json */
static void set_numbers(ol_drec *r, int b, int e)
{
    assert_int_equal(ol_drec_int(r, "i", 1), 0);
    assert_int_equal(ol_drec_long(r, "l", 2), 0);
    assert_int_equal(ol_drec_bool(r, "b", b), 0);
    assert_int_equal(ol_drec_enum(r, "e", e), 0);
    assert_int_equal(ol_drec_opt_int(r, "oi", 0, 0), 0);
}

static void test_refuses_what_it_was_not_given(void **state)
{
    (void)state;
    ol_schema s;
    char why[300], name[8];
    const uint8_t *frame;
    size_t len;
    make_schema(&s, every_kind_json, 7);
    ol_drec *r = ol_drec_new(&s, why, sizeof why);
    assert_non_null(r);
    /* everything set: a frame; a field by a name in another buffer is found */
    snprintf(name, sizeof name, "%s", "s");
    assert_int_equal(ol_drec_str(r, name, "x"), 0);
    set_numbers(r, 1, 2);
    assert_int_equal(ol_drec_opt_str(r, "os", NULL), 0);
    assert_int_equal(ol_drec_opt_long(r, "ol", 1, 5), 0);
    assert_int_equal(ol_drec_frame(r, "k", &frame, &len), 0);
    /* wrong kinds, range, null where none is allowed, no such field: refused */
    assert_int_equal(ol_drec_int(r, "s", 1), -1);
    assert_int_equal(ol_drec_str(r, "i", "1"), -1);
    assert_int_equal(ol_drec_long(r, "oi", 1), -1);
    assert_int_equal(ol_drec_enum(r, "e", 3), -1);
    assert_int_equal(ol_drec_enum(r, "e", -1), -1);
    assert_int_equal(ol_drec_str(r, "s", NULL), -1);
    assert_int_equal(ol_drec_int(r, "nope", 1), -1);
    /* a nullable field takes only the opt_ setters, a plain one only the
     * others, whatever the value */
    assert_int_equal(ol_drec_opt_str(r, "s", "x"), -1);
    assert_int_equal(ol_drec_str(r, "os", "x"), -1);
    assert_int_equal(ol_drec_int(r, "oi", 1), -1);
    assert_int_equal(ol_drec_opt_int(r, "i", 1, 1), -1);
    /* a refused setter leaves its field unset: the frame is refused until
     * each is set again */
    assert_int_equal(ol_drec_frame(r, "k", &frame, &len), -1);
    assert_int_equal(ol_drec_str(r, "s", "y"), 0);
    assert_int_equal(ol_drec_int(r, "i", 1), 0);
    assert_int_equal(ol_drec_opt_int(r, "oi", 1, 4), 0);
    assert_int_equal(ol_drec_opt_str(r, "os", NULL), 0);
    assert_int_equal(ol_drec_frame(r, "k", &frame, &len), -1); /* e still unset */
    assert_int_equal(ol_drec_enum(r, "e", 0), 0);
    assert_int_equal(ol_drec_frame(r, "k", &frame, &len), 0);
    /* cleared: nothing set, the frame is refused until every field is */
    ol_drec_clear(r);
    assert_int_equal(ol_drec_str(r, "s", "x"), 0);
    assert_int_equal(ol_drec_frame(r, "k", &frame, &len), -1);
    ol_drec_free(r);

    /* names from one buffer the caller reuses: each found by its bytes,
     * never by the address it was last seen at */
    r = ol_drec_new(&s, why, sizeof why);
    assert_non_null(r);
    assert_int_equal(ol_drec_str(r, "s", "first"), 0);
    snprintf(name, sizeof name, "%s", "os");
    assert_int_equal(ol_drec_opt_str(r, name, "x-os"), 0);
    snprintf(name, sizeof name, "%s", "s");
    assert_int_equal(ol_drec_str(r, name, "x-s"), 0);
    snprintf(name, sizeof name, "%s", "os");
    assert_int_equal(ol_drec_opt_str(r, name, "y-os"), 0);
    set_numbers(r, 0, 1);
    assert_int_equal(ol_drec_opt_long(r, "ol", 0, 0), 0);
    assert_int_equal(ol_drec_frame(r, "k", &frame, &len), 0);
    /* header 5, "" 1, "k" 2, revision 1; then s = "x-s" and os = branch 1, "y-os" */
    static const uint8_t body[] = {6, 'x', '-', 's', 2, 4, 0, 2, 2, 8, 'y', '-', 'o', 's', 0, 0};
    assert_int_equal(len, 9 + sizeof body);
    assert_memory_equal(frame + 9, body, sizeof body);
    ol_drec_free(r);
    drop_schema(&s);

    /* a schema with an array, or without the envelope first: no builder */
    make_schema(&s,
                "{\"type\":\"record\",\"name\":\"A\",\"fields\":[{\"name\":\"event_id\",\"type\":\"string\"},"
                "{\"name\":\"key\",\"type\":\"string\"},{\"name\":\"revision\",\"type\":\"long\"},"
                "{\"name\":\"lines\",\"type\":{\"type\":\"array\",\"items\":\"int\"}}]}",
                8);
    assert_null(ol_drec_new(&s, why, sizeof why));
    assert_non_null(strstr(why, "lines"));
    drop_schema(&s);
    make_schema(&s,
                "{\"type\":\"record\",\"name\":\"B\",\"fields\":[{\"name\":\"key\",\"type\":\"string\"},"
                "{\"name\":\"event_id\",\"type\":\"string\"},{\"name\":\"revision\",\"type\":\"long\"}]}",
                9);
    assert_null(ol_drec_new(&s, why, sizeof why));
    drop_schema(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_kind_as_avro_writes_it),
        cmocka_unit_test(test_every_derived_schema_it_builds),
        cmocka_unit_test(test_refuses_what_it_was_not_given),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
