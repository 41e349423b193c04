/* ol_time — calendar arithmetic in integers: days since 1970-01-01 (the Avro
 * `date`), ISO weeks (Monday start, written 2026-W47), RFC 3339 timestamps in
 * milliseconds (the Avro `timestamp-millis`).
 *
 * No libc time zone functions are used: everything is UTC and proleptic
 * Gregorian, so results never depend on the machine's TZ. */
#ifndef OL_TIME_H
#define OL_TIME_H

#include <stdint.h>
#include <stddef.h>

/* days since epoch for a civil date, and back (Howard Hinnant's algorithms) */
int32_t ol_days_from_civil(int y, int m, int d);
void ol_civil_from_days(int32_t days, int *y, int *m, int *d);
/* 0 = Monday ... 6 = Sunday */
int ol_weekday(int32_t days);

/* "2026-11-09" <-> days. parse returns 0 on success, -1 on a malformed or
 * impossible date (2026-02-30). buf needs 11 bytes. */
int ol_date_parse(const char *s, int32_t *days);
void ol_date_format(int32_t days, char buf[11]);

/* ISO week as a single integer: year * 100 + week (202647). */
typedef int32_t ol_week;
ol_week ol_week_of(int32_t days);
int32_t ol_week_monday(ol_week w);            /* days of the Monday */
int ol_weeks_in_year(int iso_year);           /* 52 or 53 */
ol_week ol_week_add(ol_week w, int n);        /* n may be negative */
/* "2026-W47" <-> ol_week; parse returns -1 on malformed or out of range week */
int ol_week_parse(const char *s, ol_week *out);
void ol_week_format(ol_week w, char buf[9]);
/* a command's week argument: 0, or -1 after printing to stderr what is wrong
 * with it, as "PROG: FLAG ...": missing, not of the form YYYY-Www, or a week
 * the year does not have ("2026-W60: no such week, 2026 has 53") */
int ol_week_arg(const char *prog, const char *flag, const char *s, ol_week *out);

/* RFC 3339 ("2026-11-16T09:00:00Z", "...09:00:00.123+01:00") <-> millis since
 * epoch. format always writes UTC with milliseconds; buf needs 25 bytes. */
int ol_ts_parse(const char *s, int64_t *ms);
void ol_ts_format(int64_t ms, char buf[25]);

/* SPEC bounds for any date in an input: 1970-01-01 .. 2100-12-31 */
#define OL_DATE_MIN 0
#define OL_DATE_MAX 47846 /* 2100-12-31 */

#endif
