/* ol_format — see ol_format.h. */
#include "ol_format.h"

#include <stdio.h>

static uint64_t magnitude(int64_t v) { return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v; }

void ol_fmt_money(char *buf, size_t n, int64_t minor)
{
    uint64_t a = magnitude(minor);
    snprintf(buf, n, "%s%llu.%02llu", minor < 0 ? "-" : "", (unsigned long long)(a / 100),
             (unsigned long long)(a % 100));
}

void ol_fmt_hours(char *buf, size_t n, int64_t minutes)
{
    uint64_t a = magnitude(minutes);
    snprintf(buf, n, "%s%llu.%llu", minutes < 0 ? "-" : "", (unsigned long long)(a / 60),
             (unsigned long long)(a % 60 * 10 / 60));
}

void ol_fmt_bp(char *buf, size_t n, int has, int32_t bp)
{
    if (!has) {
        snprintf(buf, n, "-");
        return;
    }
    uint64_t a = magnitude(bp);
    snprintf(buf, n, "%s%llu.%02llu%%", bp < 0 ? "-" : "", (unsigned long long)(a / 100),
             (unsigned long long)(a % 100));
}

/* v with a ',' every three digits, into buf (n >= 28) */
static void grouped(char *buf, size_t n, uint64_t v)
{
    char digits[24];
    int len = snprintf(digits, sizeof digits, "%llu", (unsigned long long)v), o = 0;
    for (int i = 0; i < len && (size_t)o + 2 < n; i++) {
        if (i && (len - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
}

void ol_fmt_hm(char *buf, size_t n, int64_t minutes)
{
    uint64_t a = magnitude(minutes);
    char h[32];
    grouped(h, sizeof h, a / 60);
    snprintf(buf, n, "%s%sh%02llu", minutes < 0 ? "-" : "", h, (unsigned long long)(a % 60));
}

void ol_fmt_amount(char *buf, size_t n, int64_t minor, const char *currency)
{
    uint64_t a = magnitude(minor);
    char u[32];
    grouped(u, sizeof u, a / 100);
    snprintf(buf, n, "%s%s%s%s.%02llu", currency && *currency ? currency : "", currency && *currency ? " " : "",
             minor < 0 ? "-" : "", u, (unsigned long long)(a % 100));
}

void ol_fmt_pct(char *buf, size_t n, int64_t num, int64_t den)
{
    if (den == 0) {
        snprintf(buf, n, "-");
        return;
    }
    int neg = (num < 0) != (den < 0) && num != 0;
    /* hundredths of a per cent, half-up on the magnitude, in 128 bits */
    unsigned __int128 x = (unsigned __int128)magnitude(num) * 10000u, d = magnitude(den);
    unsigned __int128 q = (x * 2 + d) / (d * 2);
    snprintf(buf, n, "%s%llu.%02llu%%", neg && q ? "-" : "", (unsigned long long)(q / 100),
             (unsigned long long)(q % 100));
}

void ol_fmt_pts(char *buf, size_t n, int64_t bp_change)
{
    uint64_t a = magnitude(bp_change);
    snprintf(buf, n, "%s%llu.%02llu pts", bp_change < 0 ? "-" : bp_change > 0 ? "+" : "",
             (unsigned long long)(a / 100), (unsigned long long)(a % 100));
}
