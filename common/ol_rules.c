/* ol_rules — see ol_rules.h. */
#include "ol_rules.h"
#include "ol_time.h"

int ol_working_day_count(unsigned working_days)
{
    int n = 0;
    for (int i = 0; i < 7; i++)
        n += (working_days >> i) & 1u;
    return n;
}

int ol_day_capacity(int32_t weekly_minutes, unsigned working_days, int32_t joined, int32_t left, int32_t day)
{
    int wd = ol_weekday(day), first = -1;
    if (day < joined || day > left || !(working_days & (1u << wd)))
        return 0;
    for (int i = 0; i < 7 && first < 0; i++)
        if (working_days & (1u << i))
            first = i;
    int n = ol_working_day_count(working_days);
    return weekly_minutes / n + (wd == first ? weekly_minutes % n : 0);
}

int ol_leave_part(int cap, int portion)
{
    return portion == OL_PORTION_FULL ? cap : portion == OL_PORTION_AM ? cap - cap / 2 : cap / 2;
}

int64_t ol_round_div(__int128 n, int64_t d)
{
    __int128 q = n / d, r = n % d;
    if (r < 0)
        r = -r;
    if (2 * r >= d)
        q += n < 0 ? -1 : 1;
    /* beyond 64 bits only for amounts no ledger holds (money is bounded by
     * ol.max on input): the nearest 64-bit value, never one of the other sign */
    return ol_money_clamp(q);
}

int64_t ol_money_clamp(__int128 v) { return v > INT64_MAX ? INT64_MAX : v < INT64_MIN ? INT64_MIN : (int64_t)v; }

int64_t ol_money_add(int64_t a, int64_t b) { return ol_money_clamp((__int128)a + b); }

int64_t ol_money_sub(int64_t a, int64_t b) { return ol_money_clamp((__int128)a - b); }
