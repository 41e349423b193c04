/* test_time — ol_time: civil dates <-> days, weekdays, ISO weeks at the year
 * edges, parsing/formatting of dates, weeks and RFC 3339 timestamps.
 *
 * Every expected number below was computed by hand (and cross-checked with an
 * independent calendar implementation), never with the code under test. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "ol_time.h"

#include <string.h>

/* days since 1970-01-01 of dates used below */
#define D_2000_02_29 11016
#define D_2020_12_31 18627
#define D_2021_01_03 18630
#define D_2021_01_04 18631
#define D_2024_02_29 19782
#define D_2025_12_29 20451
#define D_2026_01_01 20454
#define D_2026_11_09 20766
#define D_2026_11_16 20773
#define D_2026_12_31 20818
#define D_2027_01_01 20819

static void check_civil(int32_t days, int y, int m, int d)
{
    int yy = 0, mm = 0, dd = 0;
    assert_int_equal(ol_days_from_civil(y, m, d), days);
    ol_civil_from_days(days, &yy, &mm, &dd);
    assert_int_equal(yy, y);
    assert_int_equal(mm, m);
    assert_int_equal(dd, d);
}

static void test_civil_known_days(void **state)
{
    (void)state;
    check_civil(0, 1970, 1, 1);
    check_civil(1, 1970, 1, 2);
    check_civil(31, 1970, 2, 1);
    check_civil(365, 1971, 1, 1);
    check_civil(-1, 1969, 12, 31);
    check_civil(D_2000_02_29, 2000, 2, 29);
    check_civil(D_2000_02_29 + 1, 2000, 3, 1);
    check_civil(D_2024_02_29, 2024, 2, 29);
    check_civil(D_2026_11_16, 2026, 11, 16);
    check_civil(OL_DATE_MAX, 2100, 12, 31);
    assert_int_equal(OL_DATE_MAX, 47846);
    /* 1900 and 2100 are not leap years: Feb 28 is followed by Mar 1 */
    assert_int_equal(ol_days_from_civil(2100, 3, 1) - ol_days_from_civil(2100, 2, 28), 1);
    assert_int_equal(ol_days_from_civil(2000, 3, 1) - ol_days_from_civil(2000, 2, 28), 2);
}

static void test_civil_round_trip_every_day(void **state)
{
    (void)state;
    /* every day 1969-01-01 .. 2101-12-31 maps back to itself, consecutively */
    int32_t first = ol_days_from_civil(1969, 1, 1), last = ol_days_from_civil(2101, 12, 31);
    int py = 1968, pm = 12, pd = 31;
    assert_int_equal(first, -365);
    for (int32_t z = first; z <= last; z++) {
        int y, m, d;
        ol_civil_from_days(z, &y, &m, &d);
        assert_int_equal(ol_days_from_civil(y, m, d), z);
        /* the next day of (py, pm, pd) */
        if (d == 1) {
            assert_int_equal(m, pm == 12 ? 1 : pm + 1);
            assert_int_equal(y, pm == 12 ? py + 1 : py);
        } else {
            assert_int_equal(d, pd + 1);
            assert_int_equal(m, pm);
            assert_int_equal(y, py);
        }
        py = y, pm = m, pd = d;
    }
    assert_int_equal(py, 2101);
}

static void test_weekday(void **state)
{
    (void)state;
    assert_int_equal(ol_weekday(0), 3);                /* 1970-01-01 Thursday */
    assert_int_equal(ol_weekday(-1), 2);               /* 1969-12-31 Wednesday */
    assert_int_equal(ol_weekday(-7), 3);
    assert_int_equal(ol_weekday(-4), 6);               /* 1969-12-28 Sunday */
    assert_int_equal(ol_weekday(D_2000_02_29), 1);     /* Tuesday */
    assert_int_equal(ol_weekday(D_2026_11_16), 0);     /* Monday */
    assert_int_equal(ol_weekday(D_2021_01_03), 6);     /* Sunday */
    assert_int_equal(ol_weekday(OL_DATE_MAX), 4);      /* 2100-12-31 Friday */
}

static void test_iso_week_year_edges(void **state)
{
    (void)state;
    assert_int_equal(ol_week_of(D_2020_12_31), 202053);
    assert_int_equal(ol_week_of(D_2021_01_03), 202053);
    assert_int_equal(ol_week_of(D_2021_01_04), 202101);
    assert_int_equal(ol_week_of(D_2025_12_29), 202601); /* Monday of 2026-W01 is in 2025 */
    assert_int_equal(ol_week_of(D_2025_12_29 - 1), 202552);
    assert_int_equal(ol_week_of(D_2026_01_01), 202601);
    assert_int_equal(ol_week_of(D_2026_11_16), 202647);
    assert_int_equal(ol_week_of(D_2026_11_16 + 6), 202647); /* Sunday */
    assert_int_equal(ol_week_of(D_2026_11_16 - 1), 202646);
    assert_int_equal(ol_week_of(D_2026_12_31), 202653);
    assert_int_equal(ol_week_of(D_2027_01_01), 202653);
    assert_int_equal(ol_week_of(0), 197001);  /* Thursday 1970-01-01 */
    assert_int_equal(ol_week_of(-3), 197001); /* Monday 1969-12-29 */
    assert_int_equal(ol_week_of(-4), 196901 + 51); /* Sunday 1969-12-28: 1969-W52 */
    assert_int_equal(ol_week_of(OL_DATE_MAX), 210052);

    assert_int_equal(ol_week_monday(202601), D_2025_12_29);
    assert_int_equal(ol_week_monday(202647), D_2026_11_16);
    assert_int_equal(ol_week_monday(202101), D_2021_01_04);
    assert_int_equal(ol_week_monday(202053), D_2020_12_31 - 3);
    assert_int_equal(ol_week_monday(197001), -3);

    assert_int_equal(ol_weeks_in_year(2020), 53);
    assert_int_equal(ol_weeks_in_year(2026), 53);
    assert_int_equal(ol_weeks_in_year(2025), 52);
    assert_int_equal(ol_weeks_in_year(2021), 52);
    assert_int_equal(ol_weeks_in_year(2015), 53);
    assert_int_equal(ol_weeks_in_year(2004), 53);
    assert_int_equal(ol_weeks_in_year(2100), 52);
}

static void test_week_monday_of_every_week(void **state)
{
    (void)state;
    /* for every day 1970..2100, its week's Monday is a Monday within 6 days
     * before it, and 53-week years are exactly the ones whose week 53 exists */
    for (int32_t z = 0; z <= OL_DATE_MAX; z++) {
        ol_week w = ol_week_of(z);
        int32_t mon = ol_week_monday(w);
        assert_int_equal(ol_weekday(mon), 0);
        assert_in_range(z - mon, 0, 6);
        assert_in_range(w % 100, 1, ol_weeks_in_year(w / 100));
    }
}

static void test_week_add(void **state)
{
    (void)state;
    assert_int_equal(ol_week_add(202647, 0), 202647);
    assert_int_equal(ol_week_add(202647, 1), 202648);
    assert_int_equal(ol_week_add(202652, 1), 202653); /* 2026 has a W53 */
    assert_int_equal(ol_week_add(202653, 1), 202701);
    assert_int_equal(ol_week_add(202701, -1), 202653);
    assert_int_equal(ol_week_add(202552, 1), 202601); /* 2025 has no W53 */
    assert_int_equal(ol_week_add(202601, -1), 202552);
    assert_int_equal(ol_week_add(202647, 52), 202746);
    assert_int_equal(ol_week_add(202746, -52), 202647);
    assert_int_equal(ol_week_add(202001, 53), 202101);
    assert_int_equal(ol_week_add(202101, -53), 202001);
    assert_int_equal(ol_week_add(202053, -52), 202001);
    assert_int_equal(ol_week_add(202647, 12), 202706);
}

static void test_week_parse_format(void **state)
{
    (void)state;
    ol_week w = 0;
    char buf[9];

    assert_int_equal(ol_week_parse("2026-W47", &w), 0);
    assert_int_equal(w, 202647);
    assert_int_equal(ol_week_parse("2026-W01", &w), 0);
    assert_int_equal(w, 202601);
    assert_int_equal(ol_week_parse("2026-W53", &w), 0);
    assert_int_equal(w, 202653);
    assert_int_equal(ol_week_parse("2020-W53", &w), 0);
    assert_int_equal(w, 202053);
    assert_int_equal(ol_week_parse("1970-W01", &w), 0);
    assert_int_equal(w, 197001);
    assert_int_equal(ol_week_parse("2100-W52", &w), 0);
    assert_int_equal(w, 210052);

    w = 4242;
    assert_int_equal(ol_week_parse("2026-W54", &w), -1);
    assert_int_equal(ol_week_parse("2025-W53", &w), -1);
    assert_int_equal(ol_week_parse("2026W47", &w), -1);
    assert_int_equal(ol_week_parse("abcd-W01", &w), -1);
    assert_int_equal(ol_week_parse("2026-W00", &w), -1);
    assert_int_equal(ol_week_parse("2026-w47", &w), -1);
    assert_int_equal(ol_week_parse("2026-W4", &w), -1);
    assert_int_equal(ol_week_parse("2026-W470", &w), -1);
    assert_int_equal(ol_week_parse("2026-W4x", &w), -1);
    assert_int_equal(ol_week_parse("1969-W01", &w), -1);
    assert_int_equal(ol_week_parse("2101-W01", &w), -1);
    assert_int_equal(ol_week_parse("", &w), -1);
    assert_int_equal(w, 4242); /* untouched on failure */

    ol_week_format(202647, buf);
    assert_string_equal(buf, "2026-W47");
    ol_week_format(202601, buf);
    assert_string_equal(buf, "2026-W01");
    ol_week_format(ol_week_of(D_2021_01_03), buf);
    assert_string_equal(buf, "2020-W53");

    /* every week of 1970..2100 formats and parses back to itself */
    for (ol_week x = 197001; x <= 210052; x = ol_week_add(x, 1)) {
        ol_week back = 0;
        ol_week_format(x, buf);
        assert_int_equal(strlen(buf), 8);
        assert_int_equal(ol_week_parse(buf, &back), 0);
        assert_int_equal(back, x);
    }
}

static void test_date_parse_format(void **state)
{
    (void)state;
    int32_t d = 0;
    char buf[11];

    assert_int_equal(ol_date_parse("1970-01-01", &d), 0);
    assert_int_equal(d, 0);
    assert_int_equal(ol_date_parse("2026-11-09", &d), 0);
    assert_int_equal(d, D_2026_11_09);
    assert_int_equal(ol_date_parse("2000-02-29", &d), 0);
    assert_int_equal(d, D_2000_02_29);
    assert_int_equal(ol_date_parse("2024-02-29", &d), 0);
    assert_int_equal(d, D_2024_02_29);
    assert_int_equal(ol_date_parse("2100-12-31", &d), 0);
    assert_int_equal(d, OL_DATE_MAX);

    d = 4242;
    assert_int_equal(ol_date_parse("2026-02-29", &d), -1);
    assert_int_equal(ol_date_parse("2026-02-30", &d), -1);
    assert_int_equal(ol_date_parse("1900-02-29", &d), -1);
    assert_int_equal(ol_date_parse("2100-02-29", &d), -1);
    assert_int_equal(ol_date_parse("2026-13-01", &d), -1);
    assert_int_equal(ol_date_parse("2026-00-10", &d), -1);
    assert_int_equal(ol_date_parse("2026-04-31", &d), -1);
    assert_int_equal(ol_date_parse("2026-04-00", &d), -1);
    assert_int_equal(ol_date_parse("2026-1-01", &d), -1);
    assert_int_equal(ol_date_parse("2026-01-1", &d), -1);
    assert_int_equal(ol_date_parse("2026/01/01", &d), -1);
    assert_int_equal(ol_date_parse("2026-01-01T", &d), -1);
    assert_int_equal(ol_date_parse("2026-0a-01", &d), -1);
    assert_int_equal(ol_date_parse("", &d), -1);
    assert_int_equal(d, 4242);

    ol_date_format(0, buf);
    assert_string_equal(buf, "1970-01-01");
    ol_date_format(-1, buf);
    assert_string_equal(buf, "1969-12-31");
    ol_date_format(D_2000_02_29, buf);
    assert_string_equal(buf, "2000-02-29");
    ol_date_format(OL_DATE_MAX, buf);
    assert_string_equal(buf, "2100-12-31");
    for (int32_t z = OL_DATE_MIN; z <= OL_DATE_MAX; z += 13) {
        int32_t back = -1;
        ol_date_format(z, buf);
        assert_int_equal(ol_date_parse(buf, &back), 0);
        assert_int_equal(back, z);
    }
}

#define MS_2026_11_16_09 1794819600000LL /* 2026-11-16T09:00:00Z */

static void test_ts_parse(void **state)
{
    (void)state;
    int64_t ms = 0;

    assert_int_equal(ol_ts_parse("2026-11-16T09:00:00Z", &ms), 0);
    assert_int_equal(ms, MS_2026_11_16_09);
    assert_int_equal(ms, (int64_t)D_2026_11_16 * 86400000 + 9 * 3600000);
    assert_int_equal(ol_ts_parse("2026-11-16T09:00:00.123Z", &ms), 0);
    assert_int_equal(ms, MS_2026_11_16_09 + 123);
    assert_int_equal(ol_ts_parse("2026-11-16T09:00:00.5Z", &ms), 0);
    assert_int_equal(ms, MS_2026_11_16_09 + 500);
    assert_int_equal(ol_ts_parse("2026-11-16T09:00:00.123456Z", &ms), 0); /* sub-ms truncated */
    assert_int_equal(ms, MS_2026_11_16_09 + 123);
    assert_int_equal(ol_ts_parse("2026-11-16T09:00:00+01:00", &ms), 0);
    assert_int_equal(ms, MS_2026_11_16_09 - 3600000);
    assert_int_equal(ol_ts_parse("2026-11-16T09:00:00.123+01:00", &ms), 0);
    assert_int_equal(ms, MS_2026_11_16_09 - 3600000 + 123);
    assert_int_equal(ol_ts_parse("2026-11-16T09:00:00-05:30", &ms), 0);
    assert_int_equal(ms, MS_2026_11_16_09 + (5 * 60 + 30) * 60000LL);
    assert_int_equal(ol_ts_parse("2026-11-16t09:00:00z", &ms), 0);
    assert_int_equal(ms, MS_2026_11_16_09);
    assert_int_equal(ol_ts_parse("1970-01-01T00:00:00Z", &ms), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(ol_ts_parse("1970-01-01T00:30:00+01:00", &ms), 0); /* before the epoch */
    assert_int_equal(ms, -30 * 60000LL);
    assert_int_equal(ol_ts_parse("2100-12-31T23:59:59.999Z", &ms), 0);
    assert_int_equal(ms, 4133980799999LL);

    static const char *const bad[] = {
        "",
        "garbage",
        "garbage-that-is-long-enough-to-pass",
        "2026-11-16",
        "2026-11-16T09:00:00",      /* no zone */
        "2026-11-16T09:00Z",        /* no seconds */
        "2026-11-16T24:00:00Z",
        "2026-11-16T09:60:00Z",
        "2026-11-16T09:00:61Z",
        "2026-11-16T09:00:00.Z",    /* no fraction digits */
        "2026-11-16T09:00:00+0100", /* offset without colon */
        "2026-11-16T09:00:00+01:00x",
        "2026-11-16T09:00:00+24:00",
        "2026-11-16T09:00:00Zx",
        "2026-11-16T09:00:00 Z",
        "2026-02-29T09:00:00Z",     /* not a leap year */
        "2026-13-16T09:00:00Z",
        "2026-11-16X09:00:00Z",
        "2026-11-16T0a:00:00Z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ms = 4242;
        if (ol_ts_parse(bad[i], &ms) != -1)
            fail_msg("ol_ts_parse accepted \"%s\"", bad[i]);
        assert_int_equal(ms, 4242);
    }
}

static void test_ts_format_round_trip(void **state)
{
    (void)state;
    char buf[25];
    int64_t back;

    ol_ts_format(0, buf);
    assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
    ol_ts_format(MS_2026_11_16_09 + 123, buf);
    assert_string_equal(buf, "2026-11-16T09:00:00.123Z");
    ol_ts_format(MS_2026_11_16_09 - 3600000 + 7, buf);
    assert_string_equal(buf, "2026-11-16T08:00:00.007Z");
    ol_ts_format(-1, buf);
    assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
    ol_ts_format(-1000, buf);
    assert_string_equal(buf, "1969-12-31T23:59:59.000Z");
    ol_ts_format(4133980799999LL, buf);
    assert_string_equal(buf, "2100-12-31T23:59:59.999Z");

    static const int64_t samples[] = {0, 1, 999, 1000, 86399999, 86400000, -1, -999, -1000, -86400001,
                                      MS_2026_11_16_09, MS_2026_11_16_09 + 123, 951782400000LL /* 2000-02-29 */,
                                      4133980799999LL};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        ol_ts_format(samples[i], buf);
        assert_int_equal(strlen(buf), 24);
        back = 4242;
        assert_int_equal(ol_ts_parse(buf, &back), 0);
        assert_int_equal(back, samples[i]);
    }
    /* a stride through the whole supported range, with odd milliseconds */
    for (int64_t t = 0; t < 4133980799999LL; t += 987654321123LL / 1000) {
        ol_ts_format(t, buf);
        assert_int_equal(ol_ts_parse(buf, &back), 0);
        assert_int_equal(back, t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_civil_known_days),
        cmocka_unit_test(test_civil_round_trip_every_day),
        cmocka_unit_test(test_weekday),
        cmocka_unit_test(test_iso_week_year_edges),
        cmocka_unit_test(test_week_monday_of_every_week),
        cmocka_unit_test(test_week_add),
        cmocka_unit_test(test_week_parse_format),
        cmocka_unit_test(test_date_parse_format),
        cmocka_unit_test(test_ts_parse),
        cmocka_unit_test(test_ts_format_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
