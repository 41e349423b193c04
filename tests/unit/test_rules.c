/* The SPEC's shared calendar and money rules (ol_rules), hand-computed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ol_rules.h"
#include "ol_time.h"

static void test_day_capacity(void **state)
{
    (void)state;
    int32_t mon = ol_days_from_civil(2026, 11, 9); /* a Monday */
    assert_int_equal(ol_working_day_count(31), 5);
    assert_int_equal(ol_working_day_count(0), 0);
    assert_int_equal(ol_working_day_count(127), 7);
    /* 2251 over Mon-Fri: 450 a day, the remainder 1 on Monday */
    assert_int_equal(ol_day_capacity(2251, 31, 0, INT32_MAX, mon), 451);
    assert_int_equal(ol_day_capacity(2251, 31, 0, INT32_MAX, mon + 1), 450);
    assert_int_equal(ol_day_capacity(2251, 31, 0, INT32_MAX, mon + 5), 0); /* Saturday */
    /* part-time Tue-Thu (bits 1..3 = 14), 1351: Tuesday carries the remainder */
    assert_int_equal(ol_day_capacity(1351, 14, 0, INT32_MAX, mon), 0);
    assert_int_equal(ol_day_capacity(1351, 14, 0, INT32_MAX, mon + 1), 451);
    assert_int_equal(ol_day_capacity(1351, 14, 0, INT32_MAX, mon + 2), 450);
    /* outside [joined, left], and no working days at all */
    assert_int_equal(ol_day_capacity(2250, 31, mon + 1, INT32_MAX, mon), 0);
    assert_int_equal(ol_day_capacity(2250, 31, 0, mon + 1, mon + 2), 0);
    assert_int_equal(ol_day_capacity(2250, 31, 0, mon + 2, mon + 2), 450);
    assert_int_equal(ol_day_capacity(2250, 0, 0, INT32_MAX, mon), 0);
}

static void test_leave_part(void **state)
{
    (void)state;
    assert_int_equal(ol_leave_part(451, OL_PORTION_FULL), 451);
    assert_int_equal(ol_leave_part(451, OL_PORTION_AM), 226);
    assert_int_equal(ol_leave_part(451, OL_PORTION_PM), 225);
    assert_int_equal(ol_leave_part(450, OL_PORTION_AM), 225);
}

static void test_round_div(void **state)
{
    (void)state;
    assert_int_equal(ol_round_div(675, 450), 2);   /* 1.5 -> 2 */
    assert_int_equal(ol_round_div(674, 450), 1);   /* 1.497... -> 1 */
    assert_int_equal(ol_round_div(225, 450), 1);   /* 0.5 -> 1 */
    assert_int_equal(ol_round_div(-675, 450), -2); /* away from zero */
    assert_int_equal(ol_round_div(-224, 450), 0);
    /* a quotient beyond 64 bits (10^15 x 10^6 minutes / 1) is the nearest 64-bit value, never wrapped to the
     * other sign */
    assert_true(ol_round_div((__int128)1000000000000000LL * 1000000, 1) == INT64_MAX);
    assert_true(ol_round_div(-(__int128)1000000000000000LL * 1000000, 1) == INT64_MIN);
    /* 7 days x 1440 minutes x 9e15 per day would overflow 64 bits before dividing */
    assert_true(ol_round_div((__int128)7 * 1440 * 9000000000000000LL, 1440) == 63000000000000000LL);
}

/* money sums saturate: the nearest 64-bit value, never the other sign */
static void test_money_saturates(void **state)
{
    (void)state;
    assert_true(ol_money_add(40, 2) == 42);
    assert_true(ol_money_add(-40, -2) == -42);
    assert_true(ol_money_add(INT64_MAX - 1, 1) == INT64_MAX);
    assert_true(ol_money_add(6000000000000000000LL, 6000000000000000000LL) == INT64_MAX);
    assert_true(ol_money_add(-6000000000000000000LL, -6000000000000000000LL) == INT64_MIN);
    assert_true(ol_money_add(INT64_MAX, INT64_MIN) == -1);
    assert_true(ol_money_sub(40, 42) == -2);
    assert_true(ol_money_sub(INT64_MIN, 1) == INT64_MIN);
    assert_true(ol_money_sub(0, INT64_MIN) == INT64_MAX);
    assert_true(ol_money_sub(INT64_MAX, -1) == INT64_MAX);
    assert_true(ol_money_clamp((__int128)INT64_MAX + 1) == INT64_MAX);
    assert_true(ol_money_clamp((__int128)INT64_MIN - 1) == INT64_MIN);
    assert_true(ol_money_clamp(-12345) == -12345);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_day_capacity),
        cmocka_unit_test(test_leave_part),
        cmocka_unit_test(test_round_div),
        cmocka_unit_test(test_money_saturates),
    };
    return cmocka_run_group_tests_name("rules", tests, NULL, NULL);
}
