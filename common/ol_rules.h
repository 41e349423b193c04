/* ol_rules — the SPEC's calendar and money rules that more than one service
 * applies (SPEC section 3), written once so that utilisation, forecast and
 * billing can never disagree on a person's day or on rounding. */
#ifndef OL_RULES_H
#define OL_RULES_H

#include <stdint.h>

/* Leave portions, in the schema's LeavePortion symbol order */
enum { OL_PORTION_FULL = 0, OL_PORTION_AM = 1, OL_PORTION_PM = 2 };

/* number of working days in a Mon..Sun bitmask (bit 0 = Monday) */
int ol_working_day_count(unsigned working_days);

/* A working day's capacity: weekly_minutes / working days, the remainder on
 * the first working day of the week, so a full week sums exactly; 0 on a
 * non-working day and outside [joined, left] (days since 1970-01-01). */
int ol_day_capacity(int32_t weekly_minutes, unsigned working_days, int32_t joined, int32_t left, int32_t day);

/* The leave minutes of a day of capacity cap: FULL is the day, AM the larger
 * half and PM the smaller, so AM + PM is the day exactly. */
int ol_leave_part(int cap, int portion);

/* n / d rounded half away from zero, d > 0, in 128 bits: money sums of
 * minutes x day rates never overflow before the one rounding of a line. */
int64_t ol_round_div(__int128 n, int64_t d);

/* Sums and differences of money (minor units) that saturate: beyond 64 bits
 * the nearest 64-bit value, never one of the other sign (as ol_round_div).
 * A sum of amounts that each fit (derived billing lines, invoices, forged or
 * saturated upstream) must not wrap: signed overflow is undefined in C, and a
 * wrapped spend reads as a huge credit. ol_money_clamp narrows a 128-bit
 * figure the same way. */
int64_t ol_money_add(int64_t a, int64_t b);
int64_t ol_money_sub(int64_t a, int64_t b);
int64_t ol_money_clamp(__int128 v);

#endif
