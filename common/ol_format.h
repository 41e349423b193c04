/* ol_format — how reports print figures, the same in every service: money
 * from integer minor units (never through floating point), hours from
 * minutes with one truncated decimal, basis points as a percentage. */
#ifndef OL_FORMAT_H
#define OL_FORMAT_H

#include <stddef.h>
#include <stdint.h>

void ol_fmt_money(char *buf, size_t n, int64_t minor);   /* -1234 -> "-12.34" */
void ol_fmt_hours(char *buf, size_t n, int64_t minutes); /* 2025 -> "33.7" */
void ol_fmt_bp(char *buf, size_t n, int has, int32_t bp); /* 8436 -> "84.36%", none -> "-" */

#endif
