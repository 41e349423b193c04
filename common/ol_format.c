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
