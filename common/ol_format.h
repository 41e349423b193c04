/* ol_format — how reports print figures, the same in every service: money
 * from integer minor units (never through floating point), hours from
 * minutes, basis points as a percentage.
 *
 * Two families: the plain forms (ol_fmt_money, ol_fmt_hours, ol_fmt_bp)
 * are for machine-readable output (CSV, tests that parse), the people forms
 * below for every report a person reads. The people convention, the same on
 * every report: hours as hours and minutes "1,237h15" (exact: no rounding
 * of minutes), money with thousands separators and its currency
 * "GBP 125,718.84" (exact minor units), percentages with two decimals
 * rounded half-up from integers "84.36%", changes with a sign. */
#ifndef OL_FORMAT_H
#define OL_FORMAT_H

#include <stddef.h>
#include <stdint.h>

void ol_fmt_money(char *buf, size_t n, int64_t minor);   /* -1234 -> "-12.34" */
void ol_fmt_hours(char *buf, size_t n, int64_t minutes); /* 2025 -> "33.7" */
void ol_fmt_bp(char *buf, size_t n, int has, int32_t bp); /* 8436 -> "84.36%", none -> "-" */

/* people forms (buffers of 48 bytes are always enough) */
void ol_fmt_hm(char *buf, size_t n, int64_t minutes);                        /* 2235 -> "37h15", 90075 -> "1,501h15" */
void ol_fmt_amount(char *buf, size_t n, int64_t minor, const char *currency); /* -123456, "GBP" -> "GBP -1,234.56" */
void ol_fmt_pct(char *buf, size_t n, int64_t num, int64_t den); /* num/den as "12.35%" half-up; den 0 -> "-" */
void ol_fmt_pts(char *buf, size_t n, int64_t bp_change);         /* 123 -> "+1.23 pts", -5 -> "-0.05 pts" */

#endif
