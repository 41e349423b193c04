/* test_codec — ol_codec: Confluent framing, encode/decode round trip of every
 * schema of the manifest, every framing error class, a hand-crafted body
 * with an out-of-range enum index, and writer->reader schema evolution
 * (older writer: a missing field takes its default; newer writer: an extra
 * field is ignored). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "ol_codec.h"
#include "ol_json.h"
#include "ol_store.h"
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ol_schemas *g_all;


/* number of schema lines of the manifest, counted independently */
static size_t manifest_lines(const char *dir)
{
    char path[4096], line[1024];
    size_t n = 0;
    snprintf(path, sizeof path, "%s/manifest.tsv", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof line, f)) {
        const char *p = line + strspn(line, " \t");
        if (*p != '#' && *p != '\n' && *p != '\0')
            n++;
    }
    fclose(f);
    return n;
}

static const ol_schema *topic_schema(const char *topic)
{
    const ol_schema *s = ol_schemas_for_topic(g_all, topic);
    assert_non_null(s);
    return s;
}

/* a filled frame of the current schema of topic; caller frees */
static uint8_t *filled_frame(const char *topic, size_t *len)
{
    const ol_schema *s = topic_schema(topic);
    avro_value_t v;
    uint8_t *frame;
    char err[256];
    assert_int_equal(avro_generic_value_new(s->iface, &v), 0);
    assert_int_equal(tu_fill_value(&v, NULL), 0);
    assert_int_equal(ol_codec_encode(s, &v, &frame, len, err, sizeof err), 0);
    avro_value_decref(&v);
    return frame;
}

/* ------------------------------------------------------------ round trip */
static void test_round_trip_every_schema(void **state)
{
    (void)state;
    char err[512];

    assert_true(g_all->n > 0);
    assert_int_equal(g_all->n, manifest_lines(ol_schemas_default_dir()));
    for (size_t i = 0; i < g_all->n; i++) {
        const ol_schema *s = &g_all->v[i];
        avro_value_t v, fresh, again;
        uint8_t *frame = NULL, *frame2 = NULL;
        size_t len = 0, len2 = 0;
        int32_t wid = 0;

        assert_int_equal(avro_generic_value_new(s->iface, &v), 0);
        assert_int_equal(avro_generic_value_new(s->iface, &fresh), 0);
        if (tu_fill_value(&v, NULL))
            fail_msg("%s: filler: %s", s->subject, avro_strerror());
        if (avro_value_equal(&v, &fresh))
            fail_msg("%s: the filled value equals an empty one", s->subject);
        if (ol_codec_encode(s, &v, &frame, &len, err, sizeof err))
            fail_msg("%s: encode: %s", s->subject, err);
        assert_true(len > OL_FRAME_HEADER);
        assert_int_equal(frame[0], 0x00);
        assert_int_equal(ol_be32(frame + 1), (uint32_t)s->id);
        assert_int_equal(ol_codec_header(frame, len, &wid), OL_CODEC_OK);
        assert_int_equal(wid, s->id);

        ol_decoder *d = ol_decoder_new(g_all, s);
        assert_non_null(d);
        for (int round = 0; round < 2; round++) { /* the decoder is reusable */
            wid = 0;
            err[0] = '\0';
            enum ol_codec_err e = ol_decoder_decode(d, frame, len, &wid, err, sizeof err);
            if (e != OL_CODEC_OK)
                fail_msg("%s: decode: %s: %s", s->subject, ol_codec_err_name(e), err);
            assert_int_equal(wid, s->id);
            if (!avro_value_equal(&v, ol_decoder_value(d)))
                fail_msg("%s: decoded value differs from the encoded one", s->subject);
        }
        /* spot-check the filler's values came back, not just equal shapes */
        avro_value_t f;
        if (avro_value_get_by_name(ol_decoder_value(d), "event_id", &f, NULL) == 0) {
            const char *str;
            size_t sl;
            assert_int_equal(avro_value_get_string(&f, &str, &sl), 0);
            assert_string_equal(str, "x-event_id");
        }
        if (avro_value_get_by_name(ol_decoder_value(d), "revision", &f, NULL) == 0) {
            int64_t r = 0;
            assert_int_equal(avro_value_get_long(&f, &r), 0);
            assert_int_equal(r, TU_LONG);
        }
        /* re-encoding the decoded value gives the same bytes */
        assert_int_equal(ol_codec_encode(s, ol_decoder_value(d), &frame2, &len2, err, sizeof err), 0);
        assert_int_equal(len2, len);
        assert_memory_equal(frame2, frame, len);
        /* a value copied from the decoded one is equal too */
        assert_int_equal(avro_generic_value_new(s->iface, &again), 0);
        assert_int_equal(avro_value_copy(&again, ol_decoder_value(d)), 0);
        assert_true(avro_value_equal(&again, &v));

        avro_value_decref(&again);
        ol_decoder_free(d);
        free(frame);
        free(frame2);
        avro_value_decref(&fresh);
        avro_value_decref(&v);
    }
}

/* ------------------------------------------------------------ framing */
static void test_header(void **state)
{
    (void)state;
    int32_t id = 42;
    assert_int_equal(ol_codec_header("", 0, &id), OL_CODEC_SHORT);
    assert_int_equal(id, -1);
    id = 42;
    assert_int_equal(ol_codec_header("\0\0\0\x01", 4, &id), OL_CODEC_SHORT);
    assert_int_equal(id, -1);
    id = 42;
    assert_int_equal(ol_codec_header("\x01\0\0\0\x01", 5, &id), OL_CODEC_MAGIC);
    assert_int_equal(id, -1);
    assert_int_equal(ol_codec_header("\0\0\0\0\x05", 5, &id), OL_CODEC_OK);
    assert_int_equal(id, 5);
    assert_int_equal(ol_codec_header("\0\x01\x02\x03\x04rest", 9, &id), OL_CODEC_OK);
    assert_int_equal(id, 0x01020304);
    assert_int_equal(ol_codec_header("\0\0\0\x27\x0f", 5, &id), OL_CODEC_OK);
    assert_int_equal(id, 9999);
}

static void test_err_names(void **state)
{
    (void)state;
    static const enum ol_codec_err all[] = {OL_CODEC_OK,      OL_CODEC_SHORT,        OL_CODEC_MAGIC,
                                           OL_CODEC_UNKNOWN_ID, OL_CODEC_WRONG_SUBJECT, OL_CODEC_INCOMPATIBLE,
                                           OL_CODEC_BODY,    OL_CODEC_TRAILING,     OL_CODEC_NOMEM};
    const size_t n = sizeof all / sizeof all[0];
    for (size_t i = 0; i < n; i++) {
        const char *a = ol_codec_err_name(all[i]);
        assert_non_null(a);
        assert_string_not_equal(a, "unknown");
        for (size_t j = i + 1; j < n; j++)
            assert_string_not_equal(a, ol_codec_err_name(all[j]));
    }
    assert_string_equal(ol_codec_err_name(OL_CODEC_OK), "ok");
    assert_string_equal(ol_codec_err_name(OL_CODEC_BODY), "bad_body");
}

/* decode must fail with `want`, a non-empty reason, and leave the decoder usable */
static void expect_fail(ol_decoder *d, const void *buf, size_t len, enum ol_codec_err want, int32_t want_id,
                        const char *reason_part)
{
    char err[512];
    int32_t wid = 12345;
    memset(err, 0, sizeof err);
    enum ol_codec_err e = ol_decoder_decode(d, buf, len, &wid, err, sizeof err);
    if (e != want)
        fail_msg("expected %s, got %s (%s)", ol_codec_err_name(want), ol_codec_err_name(e), err);
    assert_true(strlen(err) > 0);
    assert_int_equal(wid, want_id);
    if (reason_part && !strstr(err, reason_part))
        fail_msg("reason \"%s\" does not mention \"%s\"", err, reason_part);
}

static void test_framing_errors(void **state)
{
    (void)state;
    const ol_schema *person = topic_schema("hr.person");
    const ol_schema *entry = topic_schema("timesheet.entry");
    ol_decoder *d = ol_decoder_new(g_all, person);
    size_t len, elen;
    uint8_t *frame = filled_frame("hr.person", &len);
    uint8_t *eframe = filled_frame("timesheet.entry", &elen);
    uint8_t buf[4096];
    char err[512];
    int32_t wid;
    assert_non_null(d);
    assert_true(len + 1 < sizeof buf);

    expect_fail(d, buf, 0, OL_CODEC_SHORT, -1, "0 bytes");
    expect_fail(d, "\0\0\0", 3, OL_CODEC_SHORT, -1, "3 bytes");
    expect_fail(d, "\0\0\0\x01", 4, OL_CODEC_SHORT, -1, NULL);

    memcpy(buf, frame, len);
    buf[0] = 0x01;
    expect_fail(d, buf, len, OL_CODEC_MAGIC, -1, "0x01");
    buf[0] = 0xff;
    expect_fail(d, buf, len, OL_CODEC_MAGIC, -1, "0xff");

    memcpy(buf, frame, len);
    ol_put_be32(buf + 1, 9999);
    expect_fail(d, buf, len, OL_CODEC_UNKNOWN_ID, 9999, "9999");
    ol_put_be32(buf + 1, 0); /* id 0 is never used */
    expect_fail(d, buf, len, OL_CODEC_UNKNOWN_ID, 0, NULL);
    expect_fail(d, "\0\0\0\x27\x0f", 5, OL_CODEC_UNKNOWN_ID, 9999, NULL); /* header only */

    /* an id of another subject: a timesheet entry offered as a person */
    expect_fail(d, eframe, elen, OL_CODEC_WRONG_SUBJECT, entry->id, "timesheet.entry-value");

    /* the body truncated at every length: always BODY */
    for (size_t n = OL_FRAME_HEADER; n < len; n++)
        expect_fail(d, frame, n, OL_CODEC_BODY, person->id, NULL);

    /* one trailing byte */
    memcpy(buf, frame, len);
    buf[len] = 0x00;
    expect_fail(d, buf, len + 1, OL_CODEC_TRAILING, person->id, "trailing");

    /* after all of that the same decoder still decodes the good frame */
    assert_int_equal(ol_decoder_decode(d, frame, len, &wid, err, sizeof err), OL_CODEC_OK);
    assert_int_equal(wid, person->id);

    ol_decoder_free(d);
    free(frame);
    free(eframe);
}

/* a negative string length, a huge string length and an overlong varint in
 * the body are errors, not crashes or huge allocations */
static void test_corrupt_lengths(void **state)
{
    (void)state;
    const ol_schema *entry = topic_schema("timesheet.entry");
    ol_decoder *d = ol_decoder_new(g_all, entry);
    assert_non_null(d);
    /* event_id length -1 (zigzag 0x01) */
    expect_fail(d, "\0\0\0\0\x05\x01", 6, OL_CODEC_BODY, entry->id, NULL);
    /* event_id length 2^40: far beyond the 12 bytes left */
    expect_fail(d, "\0\0\0\0\x05\x80\x80\x80\x80\x80\x40xxxxxx", 17, OL_CODEC_BODY, entry->id, NULL);
    /* a varint of 11 continuation bytes */
    expect_fail(d, "\0\0\0\0\x05\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 17, OL_CODEC_BODY, entry->id,
                NULL);
    ol_decoder_free(d);
}

/* ------------------------------------------------------------ enum index */
/* timesheet.entry, hand-encoded:
 *   event_id "e1" | occurred_at 0 | source "s" | revision 1 | entry_id "t" |
 *   person_id "p" | engagement_id null | activity <idx> | work_date 7 |
 *   minutes 60 | status APPROVED(1) */
static size_t entry_bytes(uint8_t *b, int32_t id, uint8_t activity_zigzag)
{
    size_t n = 0;
    b[n++] = 0;
    ol_put_be32(b + n, (uint32_t)id);
    n += 4;
    static const uint8_t head[] = {0x04, 'e', '1', 0x00, 0x02, 's', 0x02, 0x02, 't', 0x02, 'p', 0x00};
    memcpy(b + n, head, sizeof head);
    n += sizeof head;
    b[n++] = activity_zigzag;
    b[n++] = 0x0e; /* 7 */
    b[n++] = 0x78; /* 60 */
    b[n++] = 0x02; /* 1 */
    return n;
}

static void test_enum_index_out_of_range(void **state)
{
    (void)state;
    const ol_schema *entry = topic_schema("timesheet.entry");
    ol_decoder *d = ol_decoder_new(g_all, entry);
    uint8_t b[64];
    char err[512];
    int32_t wid;
    size_t n;
    avro_value_t f;
    int idx = -1;
    assert_non_null(d);

    /* control: index 5 (LIVE_SUPPORT, the last symbol) decodes and validates */
    n = entry_bytes(b, entry->id, 0x0a);
    assert_int_equal(ol_decoder_decode(d, b, n, &wid, err, sizeof err), OL_CODEC_OK);
    avro_value_t *v = ol_decoder_value(d);
    assert_string_equal(tu_get_str(v, "event_id"), "e1");
    assert_int_equal(tu_get_long(v, "revision"), 1);
    assert_int_equal(tu_get_int(v, "work_date"), 7);
    assert_int_equal(tu_get_int(v, "minutes"), 60);
    assert_int_equal(avro_value_get_by_name(v, "activity", &f, NULL), 0);
    assert_int_equal(avro_value_get_enum(&f, &idx), 0);
    assert_int_equal(idx, 5);
    assert_int_equal(avro_value_get_by_name(v, "status", &f, NULL), 0);
    assert_int_equal(avro_value_get_enum(&f, &idx), 0);
    assert_int_equal(idx, 1);
    assert_int_equal(ol_validate(entry, v, err, sizeof err), 0);

    /* index 6 (one past LIVE_SUPPORT), -1 and 63 must be rejected by decode */
    static const uint8_t bad[] = {0x0c, 0x01, 0x7e};
    for (size_t i = 0; i < sizeof bad; i++) {
        n = entry_bytes(b, entry->id, bad[i]);
        memset(err, 0, sizeof err);
        enum ol_codec_err e = ol_decoder_decode(d, b, n, &wid, err, sizeof err);
        if (e != OL_CODEC_BODY)
            fail_msg("enum byte 0x%02x: expected bad_body, got %s (%s)", bad[i], ol_codec_err_name(e), err);
        assert_true(strlen(err) > 0);
        assert_non_null(strstr(err, "enum"));
    }
    /* and the decoder recovers */
    n = entry_bytes(b, entry->id, 0x00);
    assert_int_equal(ol_decoder_decode(d, b, n, &wid, err, sizeof err), OL_CODEC_OK);
    ol_decoder_free(d);
}

/* a boolean byte other than 0 or 1 is a bad body, named, whichever path
 * reads the record (the flat reader leaves it to the bounds scan) */
static void test_boolean_byte_out_of_range(void **state)
{
    (void)state;
    const ol_schema *person = topic_schema("hr.person");
    ol_decoder *d = ol_decoder_new(g_all, person);
    avro_value_t v;
    uint8_t *yes, *no;
    size_t ny, nn;
    char err[512];
    int32_t wid;
    assert_non_null(d);
    assert_int_equal(avro_generic_value_new(person->iface, &v), 0);
    assert_int_equal(tu_fill_value(&v, NULL), 0);
    tu_set_bool(&v, "billable", 1);
    assert_int_equal(ol_codec_encode(person, &v, &yes, &ny, err, sizeof err), 0);
    tu_set_bool(&v, "billable", 0);
    assert_int_equal(ol_codec_encode(person, &v, &no, &nn, err, sizeof err), 0);
    avro_value_decref(&v);
    /* the one byte that differs is the boolean's */
    assert_int_equal(ny, nn);
    size_t at = SIZE_MAX;
    for (size_t i = 0; i < ny; i++)
        if (yes[i] != no[i]) {
            assert_int_equal(at, SIZE_MAX);
            at = i;
        }
    assert_true(at != SIZE_MAX && yes[at] == 1 && no[at] == 0);
    static const uint8_t bad[] = {0x02, 0x7f, 0x80, 0xff};
    for (size_t i = 0; i < sizeof bad; i++) {
        yes[at] = bad[i];
        memset(err, 0, sizeof err);
        enum ol_codec_err e = ol_decoder_decode(d, yes, ny, &wid, err, sizeof err);
        if (e != OL_CODEC_BODY || !strstr(err, "boolean byte"))
            fail_msg("boolean byte 0x%02x: expected bad_body naming it, got %s (%s)", bad[i], ol_codec_err_name(e),
                     err);
    }
    /* both valid bytes still read */
    yes[at] = 1;
    assert_int_equal(ol_decoder_decode(d, yes, ny, &wid, err, sizeof err), OL_CODEC_OK);
    assert_int_equal(ol_decoder_decode(d, no, nn, &wid, err, sizeof err), OL_CODEC_OK);
    free(yes);
    free(no);
    ol_decoder_free(d);
}

/* ------------------------------------------------------------ evolution */
static const char *const THING_V1 =
    "{\"type\":\"record\",\"name\":\"Thing\",\"namespace\":\"com.opsledger.test\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"string\"},"
    "{\"name\":\"revision\",\"type\":\"long\"},"
    "{\"name\":\"kind\",\"type\":{\"type\":\"enum\",\"name\":\"Kind\",\"symbols\":[\"A\",\"B\"]}}"
    "]}";
static const char *const THING_V2 =
    "{\"type\":\"record\",\"name\":\"Thing\",\"namespace\":\"com.opsledger.test\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"string\"},"
    "{\"name\":\"revision\",\"type\":\"long\"},"
    "{\"name\":\"kind\",\"type\":{\"type\":\"enum\",\"name\":\"Kind\",\"symbols\":[\"A\",\"B\"]}},"
    "{\"name\":\"minutes\",\"type\":\"int\",\"default\":450}"
    "]}";
static const char *const THING_V3 =
    "{\"type\":\"record\",\"name\":\"Thing\",\"namespace\":\"com.opsledger.test\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"string\"},"
    "{\"name\":\"revision\",\"type\":\"long\"},"
    "{\"name\":\"kind\",\"type\":{\"type\":\"enum\",\"name\":\"Kind\",\"symbols\":[\"A\",\"B\",\"C\"]}},"
    "{\"name\":\"minutes\",\"type\":\"int\",\"default\":450},"
    "{\"name\":\"note\",\"type\":[\"null\",\"string\"],\"default\":null}"
    "]}";
/* same subject, incompatible: revision became a string, no default */
static const char *const THING_BAD =
    "{\"type\":\"record\",\"name\":\"Thing\",\"namespace\":\"com.opsledger.test\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"string\"},"
    "{\"name\":\"revision\",\"type\":\"string\"}"
    "]}";
static const char *const OTHER =
    "{\"type\":\"record\",\"name\":\"Other\",\"fields\":[{\"name\":\"id\",\"type\":\"string\"}]}";

/* an older writer (v1) and a reader (v2) that added a field of every kind
 * with a default, a field to a record nested in an array, reordered the
 * enum's symbols and widened an int to a long */
static const char *const RICH_V1 =
    "{\"type\":\"record\",\"name\":\"Rich\",\"namespace\":\"com.opsledger.test\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"string\"},"
    "{\"name\":\"count\",\"type\":\"int\"},"
    "{\"name\":\"kind\",\"type\":{\"type\":\"enum\",\"name\":\"Kind2\",\"symbols\":[\"X\",\"Y\",\"Z\"]}},"
    "{\"name\":\"rows\",\"type\":{\"type\":\"array\",\"items\":{\"type\":\"record\",\"name\":\"Row\","
    "\"fields\":[{\"name\":\"a\",\"type\":\"int\"}]}}},"
    "{\"name\":\"gone\",\"type\":\"string\",\"default\":\"\"}"
    "]}";
static const char *const RICH_V2 =
    "{\"type\":\"record\",\"name\":\"Rich\",\"namespace\":\"com.opsledger.test\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"string\"},"
    "{\"name\":\"count\",\"type\":\"long\"},"
    "{\"name\":\"kind\",\"type\":{\"type\":\"enum\",\"name\":\"Kind2\",\"symbols\":[\"Z\",\"X\",\"Y\"]}},"
    "{\"name\":\"rows\",\"type\":{\"type\":\"array\",\"items\":{\"type\":\"record\",\"name\":\"Row\","
    "\"fields\":[{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"b\",\"type\":\"string\",\"default\":\"bee\"},"
    "{\"name\":\"c\",\"type\":[\"null\",\"int\"],\"default\":null}]}}},"
    "{\"name\":\"n_int\",\"type\":\"int\",\"default\":450},"
    "{\"name\":\"n_long\",\"type\":\"long\",\"default\":123456789012},"
    "{\"name\":\"n_str\",\"type\":\"string\",\"default\":\"hello\"},"
    "{\"name\":\"n_bool\",\"type\":\"boolean\",\"default\":true},"
    "{\"name\":\"n_enum\",\"type\":\"Kind2\",\"default\":\"Y\"},"
    "{\"name\":\"n_null\",\"type\":[\"null\",\"string\"],\"default\":null},"
    "{\"name\":\"n_sfirst\",\"type\":[\"string\",\"null\"],\"default\":\"first\"},"
    "{\"name\":\"n_arr\",\"type\":{\"type\":\"array\",\"items\":\"int\"},\"default\":[1,2]},"
    "{\"name\":\"n_map\",\"type\":{\"type\":\"map\",\"values\":\"long\"},\"default\":{\"k\":5}},"
    "{\"name\":\"n_rec\",\"type\":{\"type\":\"record\",\"name\":\"Sub\",\"fields\":["
    "{\"name\":\"x\",\"type\":\"int\"},{\"name\":\"y\",\"type\":\"string\",\"default\":\"why\"}]},"
    "\"default\":{\"x\":9}},"
    "{\"name\":\"n_bytes\",\"type\":\"bytes\",\"default\":\"\\u00ff\\u0001A\"},"
    "{\"name\":\"n_double\",\"type\":\"double\",\"default\":2.5}"
    "]}";

static const char *const EVO_MANIFEST = "# id subject file key entity\n"
                                        "1\ttoy.thing-value\tthing.v1.avsc\tid\tid\n"
                                        "2\ttoy.thing-value\tthing.v2.avsc\tid\tid\n"
                                        "3\ttoy.thing-value\tthing.v3.avsc\tid\tid\n"
                                        "4\ttoy.thing-value\tthing.bad.avsc\tid\tid\n"
                                        "7\ttoy.other-value\tother.avsc\tid\tid\n"
                                        "10\ttoy.rich-value\trich.v1.avsc\tid\tid\n"
                                        "11\ttoy.rich-value\trich.v2.avsc\tid\tid\n";

typedef struct {
    char dir[256];
    ol_schemas *all;
} evofix;

static int evo_setup(void **state)
{
    evofix *f = calloc(1, sizeof *f);
    char err[512];
    tu_mkdtemp(f->dir, sizeof f->dir, "codec");
    tu_write_file(f->dir, "thing.v1.avsc", THING_V1);
    tu_write_file(f->dir, "thing.v2.avsc", THING_V2);
    tu_write_file(f->dir, "thing.v3.avsc", THING_V3);
    tu_write_file(f->dir, "thing.bad.avsc", THING_BAD);
    tu_write_file(f->dir, "other.avsc", OTHER);
    tu_write_file(f->dir, "rich.v1.avsc", RICH_V1);
    tu_write_file(f->dir, "rich.v2.avsc", RICH_V2);
    tu_write_file(f->dir, "manifest.tsv", EVO_MANIFEST);
    if (ol_schemas_load(f->dir, &f->all, err, sizeof err)) {
        fprintf(stderr, "evolution schemas: %s\n", err);
        return -1;
    }
    *state = f;
    return 0;
}

static int evo_teardown(void **state)
{
    evofix *f = *state;
    ol_schemas_free(f->all);
    tu_rmtree(f->dir);
    free(f);
    return 0;
}

static uint8_t *thing_frame(const ol_schema *s, const char *id, int64_t rev, int kind, int32_t minutes,
                            const char *note, size_t *len)
{
    avro_value_t v;
    uint8_t *frame;
    char err[256];
    assert_int_equal(avro_generic_value_new(s->iface, &v), 0);
    tu_set_str(&v, "id", id);
    tu_set_long(&v, "revision", rev);
    tu_set_enum(&v, "kind", kind);
    if (minutes >= 0)
        tu_set_int(&v, "minutes", minutes);
    if (note)
        tu_set_str(&v, "note", note);
    else if (avro_value_get_by_name(&v, "note", &(avro_value_t){0}, NULL) == 0)
        tu_set_null(&v, "note");
    assert_int_equal(ol_codec_encode(s, &v, &frame, len, err, sizeof err), 0);
    avro_value_decref(&v);
    return frame;
}

static void test_evolution(void **state)
{
    evofix *f = *state;
    const ol_schema *v1 = ol_schemas_by_id(f->all, 1), *v2 = ol_schemas_by_id(f->all, 2),
                    *v3 = ol_schemas_by_id(f->all, 3);
    char err[512];
    int32_t wid;
    size_t len;
    uint8_t *frame;
    avro_value_t kf, *out;
    int kind = -1;
    size_t nfields = 0;

    assert_non_null(v1);
    assert_non_null(v2);
    assert_non_null(v3);
    assert_ptr_equal(ol_schemas_for_topic(f->all, "toy.thing"), ol_schemas_by_id(f->all, 4)); /* highest id */
    assert_string_equal(v2->topic, "toy.thing");

    ol_decoder *d = ol_decoder_new(f->all, v2); /* the middle version reads */
    assert_non_null(d);

    /* older writer: minutes is missing and takes its default 450 */
    frame = thing_frame(v1, "t-1", 3, 1, -1, NULL, &len);
    assert_int_equal(ol_be32(frame + 1), 1);
    err[0] = '\0';
    enum ol_codec_err e = ol_decoder_decode(d, frame, len, &wid, err, sizeof err);
    if (e != OL_CODEC_OK)
        fail_msg("v1 -> v2: %s: %s", ol_codec_err_name(e), err);
    assert_int_equal(wid, 1);
    out = ol_decoder_value(d);
    assert_int_equal(avro_value_get_size(out, &nfields), 0);
    assert_int_equal(nfields, 4);
    assert_string_equal(tu_get_str(out, "id"), "t-1");
    assert_int_equal(tu_get_long(out, "revision"), 3);
    assert_int_equal(tu_get_int(out, "minutes"), 450);
    assert_int_equal(avro_value_get_by_name(out, "kind", &kf, NULL), 0);
    assert_int_equal(avro_value_get_enum(&kf, &kind), 0);
    assert_int_equal(kind, 1);
    free(frame);

    /* newer writer: note is ignored, the rest resolves */
    frame = thing_frame(v3, "t-2", 4, 0, 120, "an extra field", &len);
    assert_int_equal(ol_be32(frame + 1), 3);
    e = ol_decoder_decode(d, frame, len, &wid, err, sizeof err);
    if (e != OL_CODEC_OK)
        fail_msg("v3 -> v2: %s: %s", ol_codec_err_name(e), err);
    assert_int_equal(wid, 3);
    out = ol_decoder_value(d);
    assert_string_equal(tu_get_str(out, "id"), "t-2");
    assert_int_equal(tu_get_long(out, "revision"), 4);
    assert_int_equal(tu_get_int(out, "minutes"), 120);
    assert_int_equal(avro_value_get_by_name(out, "kind", &kf, NULL), 0);
    assert_int_equal(avro_value_get_enum(&kf, &kind), 0);
    assert_int_equal(kind, 0);
    assert_int_not_equal(avro_value_get_by_name(out, "note", &kf, NULL), 0);
    free(frame);

    /* the older writer again, through the cached resolver: still the default */
    frame = thing_frame(v1, "t-3", 5, 0, -1, NULL, &len);
    assert_int_equal(ol_decoder_decode(d, frame, len, &wid, err, sizeof err), OL_CODEC_OK);
    assert_string_equal(tu_get_str(ol_decoder_value(d), "id"), "t-3");
    assert_int_equal(tu_get_int(ol_decoder_value(d), "minutes"), 450);
    free(frame);

    /* a newer writer using an enum symbol the reader does not know: rejected */
    frame = thing_frame(v3, "t-4", 6, 2, 60, NULL, &len);
    memset(err, 0, sizeof err);
    e = ol_decoder_decode(d, frame, len, &wid, err, sizeof err);
    assert_int_equal(e, OL_CODEC_BODY);
    assert_true(strlen(err) > 0);
    free(frame);

    /* the reader's own version */
    frame = thing_frame(v2, "t-5", 7, 1, 30, NULL, &len);
    assert_int_equal(ol_decoder_decode(d, frame, len, &wid, err, sizeof err), OL_CODEC_OK);
    assert_int_equal(wid, 2);
    assert_int_equal(tu_get_int(ol_decoder_value(d), "minutes"), 30);
    free(frame);

    ol_decoder_free(d);
}

static void test_incompatible_writer(void **state)
{
    evofix *f = *state;
    const ol_schema *v2 = ol_schemas_by_id(f->all, 2), *bad = ol_schemas_by_id(f->all, 4),
                    *other = ol_schemas_by_id(f->all, 7);
    ol_decoder *d = ol_decoder_new(f->all, v2);
    avro_value_t v;
    uint8_t *frame;
    size_t len;
    char err[512];
    assert_non_null(d);

    assert_int_equal(avro_generic_value_new(bad->iface, &v), 0);
    tu_set_str(&v, "id", "t-9");
    tu_set_str(&v, "revision", "nine");
    assert_int_equal(ol_codec_encode(bad, &v, &frame, &len, err, sizeof err), 0);
    avro_value_decref(&v);
    for (int round = 0; round < 2; round++) /* the same answer every time */
        expect_fail(d, frame, len, OL_CODEC_INCOMPATIBLE, 4, NULL);
    free(frame);

    assert_int_equal(avro_generic_value_new(other->iface, &v), 0);
    tu_set_str(&v, "id", "o-1");
    assert_int_equal(ol_codec_encode(other, &v, &frame, &len, err, sizeof err), 0);
    avro_value_decref(&v);
    expect_fail(d, frame, len, OL_CODEC_WRONG_SUBJECT, 7, "toy.other-value");
    free(frame);
    ol_decoder_free(d);
}

/* an older writer decoded by a reader that added a field of every kind */
static void test_evolution_defaults(void **state)
{
    evofix *f = *state;
    const ol_schema *v1 = ol_schemas_by_id(f->all, 10), *v2 = ol_schemas_by_id(f->all, 11);
    avro_value_t v, row, fld, br;
    uint8_t *frame;
    size_t len, n;
    char err[512];
    int32_t wid, i32;
    int64_t i64;
    int idx, b;
    const char *str;
    const void *bytes;
    double dbl;
    assert_non_null(v1);
    assert_non_null(v2);

    assert_int_equal(avro_generic_value_new(v1->iface, &v), 0);
    tu_set_str(&v, "id", "r-1");
    tu_set_int(&v, "count", -7);
    tu_set_enum(&v, "kind", 1); /* Y: index 1 in v1, index 2 in v2 */
    assert_int_equal(avro_value_get_by_name(&v, "rows", &fld, NULL), 0);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(avro_value_append(&fld, &row, NULL), 0);
        tu_set_int(&row, "a", 10 + k);
    }
    tu_set_str(&v, "gone", "dropped by the reader");
    assert_int_equal(ol_codec_encode(v1, &v, &frame, &len, err, sizeof err), 0);
    avro_value_decref(&v);

    ol_decoder *d = ol_decoder_new(f->all, v2);
    assert_non_null(d);
    for (int round = 0; round < 2; round++) {
        err[0] = '\0';
        enum ol_codec_err e = ol_decoder_decode(d, frame, len, &wid, err, sizeof err);
        if (e != OL_CODEC_OK)
            fail_msg("rich v1 -> v2: %s: %s", ol_codec_err_name(e), err);
        assert_int_equal(wid, 10);
        avro_value_t *out = ol_decoder_value(d);
        assert_string_equal(tu_get_str(out, "id"), "r-1");
        assert_int_equal(tu_get_long(out, "count"), -7); /* int widened to long */
        assert_int_equal(avro_value_get_by_name(out, "kind", &fld, NULL), 0);
        assert_int_equal(avro_value_get_enum(&fld, &idx), 0);
        assert_int_equal(idx, 2); /* by symbol, not by index */
        assert_int_equal(avro_value_get_by_name(out, "rows", &fld, NULL), 0);
        assert_int_equal(avro_value_get_size(&fld, &n), 0);
        assert_int_equal(n, 2);
        for (size_t k = 0; k < 2; k++) {
            assert_int_equal(avro_value_get_by_index(&fld, k, &row, NULL), 0);
            assert_int_equal(tu_get_int(&row, "a"), 10 + (int)k);
            assert_string_equal(tu_get_str(&row, "b"), "bee");
            assert_int_equal(avro_value_get_by_name(&row, "c", &br, NULL), 0);
            assert_int_equal(avro_value_get_discriminant(&br, &idx), 0);
            assert_int_equal(idx, 0); /* null */
        }
        assert_int_equal(tu_get_int(out, "n_int"), 450);
        assert_int_equal(tu_get_long(out, "n_long"), 123456789012LL);
        assert_string_equal(tu_get_str(out, "n_str"), "hello");
        assert_int_equal(avro_value_get_by_name(out, "n_bool", &fld, NULL), 0);
        assert_int_equal(avro_value_get_boolean(&fld, &b), 0);
        assert_int_equal(b, 1);
        assert_int_equal(avro_value_get_by_name(out, "n_enum", &fld, NULL), 0);
        assert_int_equal(avro_value_get_enum(&fld, &idx), 0);
        assert_int_equal(idx, 2); /* "Y" */
        assert_int_equal(avro_value_get_by_name(out, "n_null", &fld, NULL), 0);
        assert_int_equal(avro_value_get_discriminant(&fld, &idx), 0);
        assert_int_equal(idx, 0);
        assert_int_equal(avro_value_get_by_name(out, "n_sfirst", &fld, NULL), 0);
        assert_int_equal(avro_value_get_discriminant(&fld, &idx), 0);
        assert_int_equal(idx, 0);
        assert_int_equal(avro_value_get_current_branch(&fld, &br), 0);
        assert_int_equal(avro_value_get_string(&br, &str, &n), 0);
        assert_string_equal(str, "first");
        assert_int_equal(avro_value_get_by_name(out, "n_arr", &fld, NULL), 0);
        assert_int_equal(avro_value_get_size(&fld, &n), 0);
        assert_int_equal(n, 2);
        assert_int_equal(avro_value_get_by_index(&fld, 1, &br, NULL), 0);
        assert_int_equal(avro_value_get_int(&br, &i32), 0);
        assert_int_equal(i32, 2);
        assert_int_equal(avro_value_get_by_name(out, "n_map", &fld, NULL), 0);
        assert_int_equal(avro_value_get_size(&fld, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(avro_value_get_by_name(&fld, "k", &br, NULL), 0);
        assert_int_equal(avro_value_get_long(&br, &i64), 0);
        assert_int_equal(i64, 5);
        assert_int_equal(avro_value_get_by_name(out, "n_rec", &fld, NULL), 0);
        assert_int_equal(tu_get_int(&fld, "x"), 9);
        assert_string_equal(tu_get_str(&fld, "y"), "why"); /* the nested field's own default */
        assert_int_equal(avro_value_get_by_name(out, "n_bytes", &fld, NULL), 0);
        assert_int_equal(avro_value_get_bytes(&fld, &bytes, &n), 0);
        assert_int_equal(n, 3);
        assert_memory_equal(bytes, "\xff\x01" "A", 3);
        assert_int_equal(avro_value_get_by_name(out, "n_double", &fld, NULL), 0);
        assert_int_equal(avro_value_get_double(&fld, &dbl), 0);
        assert_true(dbl == 2.5);
        assert_int_not_equal(avro_value_get_by_name(out, "gone", &fld, NULL), 0);
    }
    /* the resolved value re-encodes as a v2 record and decodes as itself */
    uint8_t *f2;
    size_t l2;
    assert_int_equal(ol_codec_encode(v2, ol_decoder_value(d), &f2, &l2, err, sizeof err), 0);
    ol_decoder *d2 = ol_decoder_new(f->all, v2);
    assert_int_equal(ol_decoder_decode(d2, f2, l2, &wid, err, sizeof err), OL_CODEC_OK);
    assert_true(avro_value_equal(ol_decoder_value(d2), ol_decoder_value(d)));
    ol_decoder_free(d2);
    free(f2);

    /* truncations of the older writer's frame are BODY on this path too */
    for (size_t k = OL_FRAME_HEADER; k < len; k++)
        expect_fail(d, frame, k, OL_CODEC_BODY, 10, NULL);
    ol_decoder_free(d);
    free(frame);
}

/* Corrupt bodies never crash (run this under ASan) and always come back as an
 * error class with a reason, or as a value that re-encodes and decodes to
 * itself: every byte of a frame replaced by several values, for the three
 * decode paths (same schema, avro-c resolution, resolution with defaults),
 * plus pseudo-random bodies for every schema of the manifest. */
static void mutate_all(ol_decoder *d, const ol_schema *reader, const uint8_t *frame, size_t len)
{
    static const uint8_t vals[] = {0x00, 0x01, 0x02, 0x03, 0x7f, 0x80, 0x81, 0xfe, 0xff};
    uint8_t *buf = malloc(len);
    char err[512];
    int32_t wid;
    assert_non_null(buf);
    for (size_t pos = OL_FRAME_HEADER; pos < len; pos++) {
        for (size_t k = 0; k <= sizeof vals; k++) {
            memcpy(buf, frame, len);
            buf[pos] = k < sizeof vals ? vals[k] : (uint8_t)(frame[pos] ^ 0x40);
            err[0] = '\0';
            enum ol_codec_err e = ol_decoder_decode(d, buf, len, &wid, err, sizeof err);
            assert_in_range(e, OL_CODEC_OK, OL_CODEC_NOMEM);
            if (e != OL_CODEC_OK) {
                assert_true(strlen(err) > 0);
                continue;
            }
            uint8_t *re;
            size_t rl;
            assert_int_equal(ol_codec_encode(reader, ol_decoder_value(d), &re, &rl, err, sizeof err), 0);
            free(re);
        }
    }
    free(buf);
}

static void test_mutations_never_crash(void **state)
{
    evofix *f = *state;
    size_t len;
    uint8_t *frame;
    const ol_schema *v2 = ol_schemas_by_id(f->all, 2), *v1 = ol_schemas_by_id(f->all, 1),
                    *v3 = ol_schemas_by_id(f->all, 3);

    /* same schema, real schemas with arrays of records and unions */
    static const char *const topics[] = {"hr.person", "delivery.engagement", "finance.billing.line"};
    for (size_t t = 0; t < sizeof topics / sizeof topics[0]; t++) {
        const ol_schema *s = topic_schema(topics[t]);
        ol_decoder *d = ol_decoder_new(g_all, s);
        frame = filled_frame(topics[t], &len);
        mutate_all(d, s, frame, len);
        free(frame);
        ol_decoder_free(d);
    }
    /* avro-c resolution (v3 -> v2) and resolution with defaults (v1 -> v2) */
    ol_decoder *d = ol_decoder_new(f->all, v2);
    frame = thing_frame(v3, "t-1", 3, 1, 60, "note", &len);
    mutate_all(d, v2, frame, len);
    free(frame);
    frame = thing_frame(v1, "t-1", 3, 1, -1, NULL, &len);
    mutate_all(d, v2, frame, len);
    free(frame);
    ol_decoder_free(d);

    /* pseudo-random bodies after a valid header, for every schema */
    uint32_t seed = 12345;
    uint8_t buf[80];
    char err[512];
    int32_t wid;
    for (size_t i = 0; i < g_all->n; i++) {
        const ol_schema *s = &g_all->v[i];
        ol_decoder *dd = ol_decoder_new(g_all, s);
        for (int k = 0; k < 300; k++) {
            size_t n = OL_FRAME_HEADER + (size_t)(k % (int)(sizeof buf - OL_FRAME_HEADER));
            buf[0] = 0;
            ol_put_be32(buf + 1, (uint32_t)s->id);
            for (size_t j = OL_FRAME_HEADER; j < n; j++) {
                seed = seed * 1103515245u + 12345u;
                buf[j] = (uint8_t)(seed >> 16);
            }
            err[0] = '\0';
            enum ol_codec_err e = ol_decoder_decode(dd, buf, n, &wid, err, sizeof err);
            assert_in_range(e, OL_CODEC_OK, OL_CODEC_NOMEM);
            if (e != OL_CODEC_OK)
                assert_true(strlen(err) > 0);
        }
        ol_decoder_free(dd);
    }
}

/* a union discriminant outside the union is rejected */
static void test_union_branch_out_of_range(void **state)
{
    (void)state;
    const ol_schema *entry = topic_schema("timesheet.entry");
    ol_decoder *d = ol_decoder_new(g_all, entry);
    uint8_t b[64];
    size_t n = entry_bytes(b, entry->id, 0x00);
    /* engagement_id is byte 5 + 12 - 1: branch 0 (null); 2 is out of ["null","string"] */
    assert_int_equal(b[OL_FRAME_HEADER + 11], 0x00);
    b[OL_FRAME_HEADER + 11] = 0x04;
    expect_fail(d, b, n, OL_CODEC_BODY, entry->id, "union");
    b[OL_FRAME_HEADER + 11] = 0x01; /* -1 */
    expect_fail(d, b, n, OL_CODEC_BODY, entry->id, "union");
    ol_decoder_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_schema),
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_err_names),
        cmocka_unit_test(test_framing_errors),
        cmocka_unit_test(test_corrupt_lengths),
        cmocka_unit_test(test_enum_index_out_of_range),
        cmocka_unit_test(test_boolean_byte_out_of_range),
        cmocka_unit_test_setup_teardown(test_evolution, evo_setup, evo_teardown),
        cmocka_unit_test_setup_teardown(test_incompatible_writer, evo_setup, evo_teardown),
        cmocka_unit_test_setup_teardown(test_evolution_defaults, evo_setup, evo_teardown),
        cmocka_unit_test_setup_teardown(test_mutations_never_crash, evo_setup, evo_teardown),
        cmocka_unit_test(test_union_branch_out_of_range),
    };
    tu_schemas_out = &g_all;
    return cmocka_run_group_tests(tests, tu_schemas_load, tu_schemas_free);
}
