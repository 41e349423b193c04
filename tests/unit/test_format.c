/* test_format — ol_format's people forms, the one unit convention of every
 * report a person reads: hours "37h15" (exact minutes), money with
 * thousands separators and currency (exact minor units), percentages with
 * two decimals rounded half-up from integers, changes with a sign. Expected
 * strings are written by hand. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "ol_format.h"

#include <string.h>

static void test_hours_and_minutes(void **state)
{
    (void)state;
    char b[48];
    ol_fmt_hm(b, sizeof b, 2235);
    assert_string_equal(b, "37h15");
    ol_fmt_hm(b, sizeof b, 0);
    assert_string_equal(b, "0h00");
    ol_fmt_hm(b, sizeof b, 59);
    assert_string_equal(b, "0h59");
    ol_fmt_hm(b, sizeof b, -90);
    assert_string_equal(b, "-1h30");
    ol_fmt_hm(b, sizeof b, 288900 + 15); /* 4815 h 15 */
    assert_string_equal(b, "4,815h15");
    ol_fmt_hm(b, sizeof b, INT64_MIN);
    assert_string_equal(b, "-153,722,867,280,912,930h08");
}

static void test_amounts(void **state)
{
    (void)state;
    char b[48];
    ol_fmt_amount(b, sizeof b, 12571884, "GBP");
    assert_string_equal(b, "GBP 125,718.84");
    ol_fmt_amount(b, sizeof b, -13000, "GBP");
    assert_string_equal(b, "GBP -130.00");
    ol_fmt_amount(b, sizeof b, 5, "EUR");
    assert_string_equal(b, "EUR 0.05");
    ol_fmt_amount(b, sizeof b, 100000000, "EUR");
    assert_string_equal(b, "EUR 1,000,000.00");
    ol_fmt_amount(b, sizeof b, 99999, NULL);
    assert_string_equal(b, "999.99");
    ol_fmt_amount(b, sizeof b, INT64_MAX, "GBP");
    assert_string_equal(b, "GBP 92,233,720,368,547,758.07");
}

static void test_percentages_half_up(void **state)
{
    (void)state;
    char b[48];
    ol_fmt_pct(b, sizeof b, 4815, 5827); /* 82.6325... */
    assert_string_equal(b, "82.63%");
    ol_fmt_pct(b, sizeof b, 1, 8); /* 12.5 exactly -> 12.50 */
    assert_string_equal(b, "12.50%");
    ol_fmt_pct(b, sizeof b, 1, 16); /* 6.25 */
    assert_string_equal(b, "6.25%");
    ol_fmt_pct(b, sizeof b, 1, 40000); /* 0.0025 -> 0.00 (below the half) */
    assert_string_equal(b, "0.00%");
    ol_fmt_pct(b, sizeof b, 1, 20000); /* 0.005 -> half up to 0.01 */
    assert_string_equal(b, "0.01%");
    ol_fmt_pct(b, sizeof b, -1, 3);
    assert_string_equal(b, "-33.33%");
    ol_fmt_pct(b, sizeof b, 5, 0);
    assert_string_equal(b, "-");
    ol_fmt_pts(b, sizeof b, 53);
    assert_string_equal(b, "+0.53 pts");
    ol_fmt_pts(b, sizeof b, -247);
    assert_string_equal(b, "-2.47 pts");
    ol_fmt_pts(b, sizeof b, 0);
    assert_string_equal(b, "0.00 pts");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hours_and_minutes),
        cmocka_unit_test(test_amounts),
        cmocka_unit_test(test_percentages_half_up),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
