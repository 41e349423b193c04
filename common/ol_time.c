/* ol_time — see ol_time.h. */
#include "ol_time.h"
#include "ol_escape.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int32_t ol_days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + (int)doe - 719468);
}

void ol_civil_from_days(int32_t z0, int *y, int *m, int *d)
{
    int64_t z = (int64_t)z0 + 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t yy = (int64_t)yoe + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yy + (*m <= 2));
}

int ol_weekday(int32_t days)
{
    /* 1970-01-01 was a Thursday (3) */
    int w = (int)((days % 7 + 7 + 3) % 7);
    return w;
}

static int days_in_month(int y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dm[m - 1];
}

static int parse_digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int ol_date_parse(const char *s, int32_t *days)
{
    int y, m, d;
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' || parse_digits(s, 4, &y) ||
        parse_digits(s + 5, 2, &m) || parse_digits(s + 8, 2, &d))
        return -1;
    if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
        return -1;
    *days = ol_days_from_civil(y, m, d);
    return 0;
}

void ol_date_format(int32_t days, char buf[11])
{
    int y, m, d;
    ol_civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999) {
        snprintf(buf, 11, "%s", "0000-00-00");
        return;
    }
    snprintf(buf, 11, "%04u-%02u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u, (unsigned)d % 100u);
}

/* Monday of ISO week 1 of iso_year: the week holding January 4th */
static int32_t week1_monday(int iso_year)
{
    int32_t jan4 = ol_days_from_civil(iso_year, 1, 4);
    return jan4 - ol_weekday(jan4);
}

int ol_weeks_in_year(int iso_year)
{
    return (int)((week1_monday(iso_year + 1) - week1_monday(iso_year)) / 7);
}

ol_week ol_week_of(int32_t days)
{
    int y, m, d;
    ol_civil_from_days(days, &y, &m, &d);
    /* the ISO year is the year of the Thursday of this week */
    int32_t thursday = days - ol_weekday(days) + 3;
    int ty, tm, td;
    ol_civil_from_days(thursday, &ty, &tm, &td);
    int week = (int)((thursday - week1_monday(ty)) / 7) + 1;
    return ty * 100 + week;
}

int32_t ol_week_monday(ol_week w)
{
    return week1_monday(w / 100) + (w % 100 - 1) * 7;
}

ol_week ol_week_add(ol_week w, int n)
{
    return ol_week_of(ol_week_monday(w) + n * 7);
}

int ol_week_parse(const char *s, ol_week *out)
{
    int y, wk;
    if (strlen(s) != 8 || s[4] != '-' || s[5] != 'W' || parse_digits(s, 4, &y) ||
        parse_digits(s + 6, 2, &wk))
        return -1;
    if (y < 1970 || y > 2100 || wk < 1 || wk > ol_weeks_in_year(y))
        return -1;
    *out = y * 100 + wk;
    return 0;
}

int ol_week_arg(const char *prog, const char *flag, const char *s, ol_week *out)
{
    int y, wk;
    if (!s) {
        fprintf(stderr, "%s: %s is required: an ISO week such as 2026-W47\n", prog, flag);
        return -1;
    }
    if (ol_week_parse(s, out) == 0)
        return 0;
    char *shown = ol_esc(OL_ESC_TEXT, s);
    if (strlen(s) == 8 && s[4] == '-' && s[5] == 'W' && !parse_digits(s, 4, &y) && !parse_digits(s + 6, 2, &wk)) {
        if (y < 1970 || y > 2100)
            fprintf(stderr, "%s: %s %s: the year is outside 1970..2100\n", prog, flag, shown ? shown : "?");
        else
            fprintf(stderr, "%s: %s %s: no such week, %d has weeks 01 to %d\n", prog, flag, shown ? shown : "?", y,
                    ol_weeks_in_year(y));
    } else
        fprintf(stderr, "%s: %s '%s' is not an ISO week: write YYYY-Www, such as 2026-W47\n", prog, flag,
                shown ? shown : "?");
    free(shown);
    return -1;
}

void ol_week_format(ol_week w, char buf[9])
{
    int y = w / 100, wk = w % 100;
    if (y < 0 || y > 9999 || wk < 0 || wk > 99) {
        snprintf(buf, 9, "%s", "0000-W00");
        return;
    }
    snprintf(buf, 9, "%04u-W%02u", (unsigned)y % 10000u, (unsigned)wk % 100u);
}

int ol_ts_parse(const char *s, int64_t *ms)
{
    int y, mo, d, h, mi, sec, frac = 0;
    int32_t days;
    char date[11];
    size_t n = strlen(s), i;

    if (n < 20 || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' || s[16] != ':')
        return -1;
    memcpy(date, s, 10);
    date[10] = '\0';
    if (ol_date_parse(date, &days))
        return -1;
    (void)y; (void)mo; (void)d;
    if (parse_digits(s + 11, 2, &h) || parse_digits(s + 14, 2, &mi) || parse_digits(s + 17, 2, &sec))
        return -1;
    if (h > 23 || mi > 59 || sec > 60)
        return -1;
    i = 19;
    if (s[i] == '.') {
        int digits = 0;
        i++;
        while (isdigit((unsigned char)s[i])) {
            if (digits < 3)
                frac = frac * 10 + (s[i] - '0');
            digits++;
            i++;
        }
        if (digits == 0)
            return -1;
        for (; digits < 3; digits++)
            frac *= 10;
    }
    int64_t offset_min = 0;
    if (s[i] == 'Z' || s[i] == 'z') {
        i++;
    } else if (s[i] == '+' || s[i] == '-') {
        int oh, om;
        if (n - i != 6 || s[i + 3] != ':' || parse_digits(s + i + 1, 2, &oh) || parse_digits(s + i + 4, 2, &om))
            return -1;
        if (oh > 23 || om > 59)
            return -1;
        offset_min = (oh * 60 + om) * (s[i] == '+' ? 1 : -1);
        i += 6;
    } else {
        return -1;
    }
    if (i != n)
        return -1;
    *ms = (((int64_t)days * 86400 + h * 3600 + mi * 60 + sec) - offset_min * 60) * 1000 + frac;
    return 0;
}

void ol_ts_format(int64_t ms, char buf[25])
{
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int millis = (int)(ms - secs * 1000);
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int rem = (int)(secs - days * 86400);
    char date[11];
    ol_date_format((int32_t)days, date);
    snprintf(buf, 25, "%.10sT%02u:%02u:%02u.%03uZ", date, (unsigned)rem / 3600u % 24u, (unsigned)rem / 60u % 60u,
             (unsigned)rem % 60u, (unsigned)millis % 1000u);
}
