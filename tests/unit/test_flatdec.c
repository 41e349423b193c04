/* test_flatdec — the one-pass reader of flat records (common/ol_flatdec.c)
 * agrees with the general path it stands in front of (ol_resolve_scan, then
 * avro-c's reader): for every flat schema of schemas/, values at the edges
 * of every kind read back equal, with equal string sizes and equal bytes
 * when written again; and on every frame mutated byte by byte, truncated or
 * extended, whenever it accepts, the general path accepts the same value
 * (so what it refuses is left to the path that names the fault). The
 * schemas that carry most records must be flat, or the fast path is
 * silently lost. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ol_codec.h"
#include "ol_flatdec.h"
#include "ol_codec_int.h"
#include "ol_schema.h"
#include "test_util.h"

#include <malloc.h>

static ol_schemas *g_all;


static uint64_t rng = 88172645463325252ULL;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* a value of sc at the edges of its kind: long and int extremes, strings of
 * 0-299 bytes of any byte (NUL included), every enum symbol, both branches */
static size_t g_max_str = 300; /* strings of 0 .. g_max_str - 1 bytes */

static void fill(avro_value_t *v, avro_schema_t sc)
{
    static const int64_t longs[] = {0, 1, -1, 63, -64, 64, 8191, -8193, INT64_MAX, INT64_MIN, 123456789012LL};
    static const int32_t ints[] = {0, 1, -1, 63, -64, 64, 8191, INT32_MAX, INT32_MIN, 510000};
    while (is_avro_link(sc))
        sc = avro_schema_link_target(sc);
    switch (avro_typeof(sc)) {
    case AVRO_NULL: assert_int_equal(avro_value_set_null(v), 0); break;
    case AVRO_BOOLEAN: assert_int_equal(avro_value_set_boolean(v, (int)(next() & 1)), 0); break;
    case AVRO_INT32: assert_int_equal(avro_value_set_int(v, ints[next() % 10]), 0); break;
    case AVRO_INT64: assert_int_equal(avro_value_set_long(v, longs[next() % 11]), 0); break;
    case AVRO_STRING: {
        static char buf[1 << 20];
        size_t n = next() % g_max_str;
        for (size_t i = 0; i < n; i++)
            buf[i] = (char)(next() & 0xff);
        buf[n] = '\0';
        assert_int_equal(avro_value_set_string_len(v, buf, n + 1), 0);
        break;
    }
    case AVRO_ENUM:
        assert_int_equal(avro_value_set_enum(v, (int)(next() % (uint64_t)avro_schema_enum_number_of_symbols(sc))), 0);
        break;
    case AVRO_UNION: {
        avro_value_t b;
        int i = (int)(next() % avro_schema_union_size(sc));
        assert_int_equal(avro_value_set_branch(v, i, &b), 0);
        fill(&b, avro_schema_union_branch(sc, i));
        break;
    }
    case AVRO_RECORD:
        for (size_t i = 0; i < avro_schema_record_size(sc); i++) {
            avro_value_t f;
            assert_int_equal(avro_value_get_by_index(v, i, &f, NULL), 0);
            fill(&f, avro_schema_record_field_get_by_index(sc, (int)i));
        }
        break;
    default: fail_msg("a flat schema has a field of type %d", (int)avro_typeof(sc));
    }
}

static size_t write_value(avro_value_t *v, uint8_t *buf, size_t cap)
{
    avro_writer_t w = avro_writer_memory((char *)buf, (int64_t)cap);
    assert_non_null(w);
    assert_int_equal(avro_value_write(w, v), 0);
    size_t n = (size_t)avro_writer_tell(w);
    avro_writer_free(w);
    return n;
}

/* the general path: 0 and *out read when the scan accepts every byte and
 * avro-c reads it */
static int general(const ol_schema *s, const uint8_t *p, size_t n, avro_value_t *out)
{
    char why[300];
    size_t used;
    avro_value_reset(out);
    if (ol_resolve_scan(p, n, s->avro, &used, why, sizeof why) || used != n)
        return -1;
    avro_reader_t r = avro_reader_memory((const char *)p, (int64_t)n);
    assert_non_null(r);
    int rc = avro_value_read(r, out);
    avro_reader_free(r);
    return rc ? -1 : 0;
}

/* equal values, equal string sizes (avro-c's reader counts the NUL), and
 * equal bytes written again */
static void same_value(avro_value_t *a, avro_value_t *b)
{
    static uint8_t x[1 << 18], y[1 << 18];
    assert_true(avro_value_equal(a, b));
    size_t n = 0;
    assert_int_equal(avro_value_get_size(a, &n), 0);
    for (size_t i = 0; i < n; i++) {
        avro_value_t fa, fb;
        assert_int_equal(avro_value_get_by_index(a, i, &fa, NULL), 0);
        assert_int_equal(avro_value_get_by_index(b, i, &fb, NULL), 0);
        if (avro_value_get_type(&fa) == AVRO_UNION) {
            avro_value_t ba = {0}, bb = {0};
            assert_int_equal(avro_value_get_current_branch(&fa, &ba), 0);
            assert_int_equal(avro_value_get_current_branch(&fb, &bb), 0);
            fa = ba, fb = bb;
        }
        if (avro_value_get_type(&fa) == AVRO_STRING) {
            const char *sa = NULL, *sb = NULL;
            size_t la = 0, lb = 0;
            assert_int_equal(avro_value_get_string(&fa, &sa, &la), 0);
            assert_int_equal(avro_value_get_string(&fb, &sb, &lb), 0);
            assert_int_equal(la, lb);
            assert_memory_equal(sa, sb, la);
        }
    }
    size_t na = write_value(a, x, sizeof x), nb = write_value(b, y, sizeof y);
    assert_int_equal(na, nb);
    assert_memory_equal(x, y, na);
}

/* one frame body: whenever the fast reader accepts, so does the general
 * path, with the same value. Returns 1 when the fast reader accepted. */
static int agree(const ol_schema *s, ol_flatdec *f, const uint8_t *p, size_t n, avro_value_t *fast,
                 avro_value_t *slow)
{
    avro_value_reset(fast);
    if (ol_flatdec_read(f, p, n, fast) != 0)
        return 0;
    assert_int_equal(general(s, p, n, slow), 0);
    same_value(fast, slow);
    return 1;
}

static void test_flat_topics(void **state)
{
    (void)state;
    static const char *const flat[] = {"timesheet.entry", "delivery.allocation", "hr.person", "hr.leave",
                                       "finance.contractor_invoice", "finance.expense", "finance.period",
                                       "delivery.risk", "ops.rota", "finance.billing.line"};
    for (size_t i = 0; i < sizeof flat / sizeof *flat; i++) {
        const ol_schema *s = ol_schemas_for_topic(g_all, flat[i]);
        assert_non_null(s);
        ol_flatdec *f = ol_flatdec_new(s->avro);
        if (!f)
            fail_msg("%s is flat and must take the one-pass reader", flat[i]);
        ol_flatdec_free(f);
    }
    /* arrays of records take the general path */
    assert_null(ol_flatdec_new(ol_schemas_for_topic(g_all, "delivery.engagement")->avro));
    assert_null(ol_flatdec_new(ol_schemas_for_topic(g_all, "ops.cover.gaps")->avro));
}

static void test_reads_what_avro_reads(void **state)
{
    (void)state;
    size_t schemas = 0;
    for (size_t k = 0; k < g_all->n; k++) {
        const ol_schema *s = &g_all->v[k];
        ol_flatdec *f = ol_flatdec_new(s->avro);
        if (!f)
            continue;
        schemas++;
        avro_value_t v, fast, slow;
        assert_int_equal(avro_generic_value_new(s->iface, &v), 0);
        assert_int_equal(avro_generic_value_new(s->iface, &fast), 0);
        assert_int_equal(avro_generic_value_new(s->iface, &slow), 0);
        for (int i = 0; i < 300; i++) {
            uint8_t buf[8192];
            avro_value_reset(&v);
            fill(&v, s->avro);
            size_t n = write_value(&v, buf, sizeof buf);
            /* the same decoder again and again: buffers reused from the last record */
            if (!agree(s, f, buf, n, &fast, &slow))
                fail_msg("%s: a frame avro-c wrote was not read (value %d)", s->subject, i);
            same_value(&fast, &v);
        }
        avro_value_decref(&v);
        avro_value_decref(&fast);
        avro_value_decref(&slow);
        ol_flatdec_free(f);
    }
    assert_true(schemas >= 10);
}

/* every byte of frames of every flat schema set to values that break
 * varints, lengths, indexes and booleans; every truncation; a trailing byte */
static void test_mutations_agree(void **state)
{
    (void)state;
    static const uint8_t bytes[] = {0x00, 0x01, 0x02, 0x7f, 0x80, 0x81, 0xfe, 0xff};
    size_t accepted = 0, refused = 0;
    for (size_t k = 0; k < g_all->n; k++) {
        const ol_schema *s = &g_all->v[k];
        ol_flatdec *f = ol_flatdec_new(s->avro);
        if (!f)
            continue;
        avro_value_t v, fast, slow;
        assert_int_equal(avro_generic_value_new(s->iface, &v), 0);
        assert_int_equal(avro_generic_value_new(s->iface, &fast), 0);
        assert_int_equal(avro_generic_value_new(s->iface, &slow), 0);
        for (int i = 0; i < 3; i++) {
            uint8_t buf[8192], m[8193];
            avro_value_reset(&v);
            fill(&v, s->avro);
            size_t n = write_value(&v, buf, sizeof buf);
            for (size_t at = 0; at < n; at++)
                for (size_t b = 0; b < sizeof bytes; b++) {
                    memcpy(m, buf, n);
                    m[at] = bytes[b];
                    agree(s, f, m, n, &fast, &slow) ? accepted++ : refused++;
                }
            for (size_t len = 0; len < n; len++)
                assert_int_equal(agree(s, f, buf, len, &fast, &slow), 0); /* a prefix never reads whole */
            memcpy(m, buf, n);
            m[n] = 0;
            assert_int_equal(agree(s, f, m, n + 1, &fast, &slow), 0); /* trailing byte */
        }
        avro_value_decref(&v);
        avro_value_decref(&fast);
        avro_value_decref(&slow);
        ol_flatdec_free(f);
    }
    /* both outcomes were exercised */
    assert_true(accepted > 1000);
    assert_true(refused > 1000);
}

/* strings either side of the length the reader stops reusing buffers at
 * (4,096 bytes), through the decoder itself (ol_decoder_decode: frame
 * header, the fast path, the jump past the general one), against the
 * general path */
static void test_long_strings_through_the_decoder(void **state)
{
    (void)state;
    const ol_schema *s = ol_schemas_for_topic(g_all, "timesheet.entry");
    ol_decoder *d = ol_decoder_new(g_all, s);
    assert_non_null(d);
    avro_value_t v, slow;
    assert_int_equal(avro_generic_value_new(s->iface, &v), 0);
    assert_int_equal(avro_generic_value_new(s->iface, &slow), 0);
    g_max_str = 9000;
    for (int i = 0; i < 200; i++) {
        uint8_t *frame;
        size_t len;
        char err[300];
        int32_t wid;
        avro_value_reset(&v);
        fill(&v, s->avro);
        assert_int_equal(ol_codec_encode(s, &v, &frame, &len, err, sizeof err), 0);
        assert_int_equal(ol_decoder_decode(d, frame, len, &wid, err, sizeof err), OL_CODEC_OK);
        assert_int_equal(wid, s->id);
        assert_int_equal(general(s, frame + OL_FRAME_HEADER, len - OL_FRAME_HEADER, &slow), 0);
        same_value(ol_decoder_value(d), &slow);
        same_value(ol_decoder_value(d), &v);
        free(frame);
    }
    g_max_str = 300;
    avro_value_decref(&v);
    avro_value_decref(&slow);
    ol_decoder_free(d);
}

/* a decoder that read a huge string does not keep that memory once it
 * reads a small record (the general path did not either) */
static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static void test_huge_string_not_kept(void **state)
{
    (void)state;
    /* under AddressSanitizer glibc's counters do not see the heap */
    size_t h0 = heap_in_use();
    void *probe = malloc(1 << 20);
    assert_non_null(probe);
    memset(probe, 1, 1 << 20);
    int measurable = heap_in_use() >= h0 + (1 << 20);
    free(probe);
    if (!measurable)
        skip();
    const ol_schema *s = ol_schemas_for_topic(g_all, "timesheet.entry");
    ol_decoder *d = ol_decoder_new(g_all, s);
    avro_value_t v;
    assert_int_equal(avro_generic_value_new(s->iface, &v), 0);
    uint8_t *small, *huge;
    size_t small_len, huge_len;
    char err[300], *big = malloc(900001);
    int32_t wid;
    assert_non_null(big);
    memset(big, 'x', 900000);
    big[900000] = '\0';
    fill(&v, s->avro);
    assert_int_equal(ol_codec_encode(s, &v, &small, &small_len, err, sizeof err), 0);
    /* every string field 900 kB */
    for (size_t i = 0; i < avro_schema_record_size(s->avro); i++) {
        avro_value_t f, b;
        assert_int_equal(avro_value_get_by_index(&v, i, &f, NULL), 0);
        if (avro_value_get_type(&f) == AVRO_STRING)
            assert_int_equal(avro_value_set_string(&f, big), 0);
        else if (avro_value_get_type(&f) == AVRO_UNION && avro_value_get_current_branch(&f, &b) == 0 &&
                 avro_value_get_type(&b) == AVRO_STRING)
            assert_int_equal(avro_value_set_string(&b, big), 0);
    }
    assert_int_equal(ol_codec_encode(s, &v, &huge, &huge_len, err, sizeof err), 0);
    avro_value_decref(&v);
    free(big);
    assert_true(huge_len > 3 * 900000);
    assert_int_equal(ol_decoder_decode(d, small, small_len, &wid, err, sizeof err), OL_CODEC_OK);
    size_t before = heap_in_use();
    assert_int_equal(ol_decoder_decode(d, huge, huge_len, &wid, err, sizeof err), OL_CODEC_OK);
    assert_true(heap_in_use() > before + 2 * 900000); /* the measure sees the strings */
    assert_int_equal(ol_decoder_decode(d, small, small_len, &wid, err, sizeof err), OL_CODEC_OK);
    size_t after = heap_in_use();
    if (after > before + 64 * 1024)
        fail_msg("the decoder keeps %zu bytes after a huge record", after - before);
    free(small);
    free(huge);
    ol_decoder_free(d);
}

/* longer encodings than needed (a varint may take up to ten bytes, and
 * the tenth byte's bits past 64 are dropped, as avro-c drops them) are read
 * as the general path reads them; an eleventh byte is refused by both */
static void test_varint_edges(void **state)
{
    (void)state;
    const ol_schema *s = ol_schemas_for_topic(g_all, "finance.period");
    ol_flatdec *f = ol_flatdec_new(s->avro);
    assert_non_null(f);
    avro_value_t v, fast, slow, f0;
    assert_int_equal(avro_generic_value_new(s->iface, &v), 0);
    assert_int_equal(avro_generic_value_new(s->iface, &fast), 0);
    assert_int_equal(avro_generic_value_new(s->iface, &slow), 0);
    fill(&v, s->avro);
    /* the first field (event_id, a string) set to 3 bytes: its length is the byte 0x06 */
    assert_int_equal(avro_value_get_by_index(&v, 0, &f0, NULL), 0);
    assert_int_equal(avro_value_set_string(&f0, "abc"), 0);
    uint8_t buf[8192], m[8200];
    size_t n = write_value(&v, buf, sizeof buf);
    assert_int_equal(buf[0], 0x06);
    for (int len = 2; len <= 11; len++) {
        /* 3 in len bytes: 0x86 0x80 ... 0x00, or with bits past 64 in a tenth byte */
        for (int high = 0; high <= (len == 10); high++) {
            m[0] = 0x86;
            for (int i = 1; i < len - 1; i++)
                m[i] = 0x80;
            m[len - 1] = high ? 0x7e : 0x00;
            memcpy(m + len, buf + 1, n - 1);
            size_t mn = (size_t)len + n - 1;
            int want = len <= 10;
            assert_int_equal(agree(s, f, m, mn, &fast, &slow), want);
            assert_int_equal(general(s, m, mn, &slow) == 0, want);
            if (want)
                same_value(&fast, &v);
        }
    }
    avro_value_decref(&v);
    avro_value_decref(&fast);
    avro_value_decref(&slow);
    ol_flatdec_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flat_topics),
        cmocka_unit_test(test_reads_what_avro_reads),
        cmocka_unit_test(test_mutations_agree),
        cmocka_unit_test(test_long_strings_through_the_decoder),
        cmocka_unit_test(test_huge_string_not_kept),
        cmocka_unit_test(test_varint_edges),
    };
    tu_schemas_out = &g_all;
    return cmocka_run_group_tests(tests, tu_schemas_load, tu_schemas_free);
}
