/* ol_report_people — the weekly page's people and margin figures (issue
 * 20), from what opsledger-people and opsledger-margin published: the
 * delivery managers' FTE supply against demand over the 12 weeks from the
 * report week and the org's trailing-52-week attrition
 * (ops.headcount.weekly), the lowest-margin engagements of the last week
 * ended (the report week's time is still being approved) and the
 * contractor and partner invoices of the last 4 weeks whose minutes do not
 * match the approved time (finance.margin.weekly). Integers only.
 *
 * The words and cells of sections 7 and 8 are here too, raw text in the
 * people forms of ol_format (2.00 FTE, 15.71%, GBP 1,234.56, 37h15, names
 * beside ids), so that the text and Markdown (ol_report_text.c) and the
 * HTML (ol_report_html_body.c) say the same; the renderers escape every
 * string. */
#include "ol_format.h"
#include "ol_report_int.h"
#include "ol_time.h"

#include <stdlib.h>
#include <string.h>

#define OLR_LOW_MARGIN 8 /* engagements shown, lowest margin first */

/* ENGAGEMENT rows: cost without revenue first, then the lowest margin_bp */
static int cmp_margin(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    json_t *bx = json_object_get(x, "margin_bp"), *by = json_object_get(y, "margin_bp");
    int nx = !json_is_integer(bx), ny = !json_is_integer(by);
    if (nx != ny)
        return ny - nx;
    if (!nx && json_integer_value(bx) != json_integer_value(by))
        return json_integer_value(bx) < json_integer_value(by) ? -1 : 1;
    int d = strcmp(olr_str(x, "engagement_id"), olr_str(y, "engagement_id"));
    return d ? d : strcmp(olr_str(x, "currency"), olr_str(y, "currency"));
}

static int cmp_week(const void *a, const void *b)
{
    return strcmp(olr_str(*(json_t *const *)a, "week"), olr_str(*(json_t *const *)b, "week"));
}

static int cmp_invoice(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int d = strcmp(olr_str(x, "person_id"), olr_str(y, "person_id"));
    return d ? d : strcmp(olr_str(x, "invoice_id"), olr_str(y, "invoice_id"));
}

/* the elements of a sorted by cmp, at most max (0: all); a new array */
static json_t *sorted_max(json_t *a, int (*cmp)(const void *, const void *), size_t max)
{
    size_t n = json_array_size(a);
    json_t **v = malloc((n ? n : 1) * sizeof *v), *out = json_array();
    if (!v || !out) {
        free(v);
        return out;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(a, i);
    qsort(v, n, sizeof *v, cmp);
    for (size_t i = 0; i < n && (!max || i < max); i++)
        json_array_append(out, v[i]);
    free(v);
    return out;
}

/* a date field as days ("2026-11-09" as the events verb prints it, or an integer) */
static int32_t day_of(json_t *o, const char *field)
{
    json_t *v = json_object_get(o, field);
    int32_t d = 0;
    if (json_is_integer(v))
        return (int32_t)json_integer_value(v);
    if (json_is_string(v) && !ol_date_parse(json_string_value(v), &d))
        return d;
    return INT32_MIN;
}

void olr_people_margin(struct ol_report *r, ol_week w)
{
    size_t i;
    json_t *o;
    char last[9];
    ol_week_format(ol_week_add(w, 11), last);
    /* the delivery managers' rows of W .. W+11 (the default role name), and the org's row of W */
    json_t *dm = olr_gather(r, "ops.headcount.weekly", "ROLE|DELIVERY_MANAGER|", NULL);
    json_t *keep = json_array();
    json_array_foreach(dm, i, o)
    {
        const char *wk = olr_str(o, "week");
        if (strcmp(wk, r->week) >= 0 && strcmp(wk, last) <= 0)
            json_array_append(keep, o);
    }
    r->dm_headcount = sorted_max(keep, cmp_week, 0);
    json_decref(keep);
    json_decref(dm);
    char key[32];
    snprintf(key, sizeof key, "ORG|org|%s", r->week);
    json_t *org = olr_gather(r, "ops.headcount.weekly", key, NULL);
    r->org_hc = json_array_size(org) ? json_incref(json_array_get(org, 0)) : NULL;
    json_decref(org);

    /* margin: the week's engagement rows, lowest first; invoices of the last 4 weeks that do not match */
    json_t *m = olr_gather(r, "finance.margin.weekly", NULL, NULL), *eng = json_array(), *bad = json_array();
    int32_t from = ol_week_monday(ol_week_add(w, -3)), to = ol_week_monday(w) + 6;
    json_array_foreach(m, i, o)
    {
        const char *kind = olr_str(o, "kind");
        if (!strcmp(kind, "ENGAGEMENT") && !strcmp(olr_str(o, "week"), r->prev1)) {
            /* revenue 0 (fixed-price and non-billable by rule, or not billed) would always top the
             * list: counted apart */
            if (json_is_integer(json_object_get(o, "margin_bp")))
                json_array_append(eng, o);
            else if (olr_int(o, "cost_minor") != 0)
                r->cost_only_rows++;
        }
        else if (!strcmp(kind, "CONTRACTOR") && !strcmp(olr_str(o, "invoice_status"), "RECEIVED") &&
                 olr_int(o, "minutes_invoiced") != olr_int(o, "minutes_logged") &&
                 day_of(o, "period_last_day") >= from && day_of(o, "period_first_day") <= to)
            json_array_append(bad, o);
    }
    r->low_margin = sorted_max(eng, cmp_margin, OLR_LOW_MARGIN);
    r->margin_rows = json_array_size(eng);
    r->three_way = sorted_max(bad, cmp_invoice, 0);
    json_decref(eng);
    json_decref(bad);
    json_decref(m);
}

void olr_people_margin_free(struct ol_report *r)
{
    json_decref(r->dm_headcount);
    json_decref(r->org_hc);
    json_decref(r->low_margin);
    json_decref(r->three_way);
}

/* ------------------------------------------------------------ words */
const char *olr_hc_sentence(const struct ol_report *r, char *buf, size_t n)
{
    json_t *o = r->org_hc;
    if (!o) {
        snprintf(buf, n, "No headcount published for %s.", r->week);
        return buf;
    }
    json_t *att = json_object_get(o, "attrition_bp");
    char a[48];
    if (json_is_integer(att))
        ol_fmt_pct(a, sizeof a, json_integer_value(att), 10000);
    else
        snprintf(a, sizeof a, "not known yet");
    long long hc = olr_int(o, "headcount"), j = olr_int(o, "joiners"), l = olr_int(o, "leavers"),
              wl = olr_int(o, "window_leavers");
    snprintf(buf, n,
             "%lld %s at the end of %s: %lld joined and %lld left that week; %lld left in the last 52 weeks, an "
             "annualised attrition of %s.",
             hc, hc == 1 ? "employee" : "employees", r->week, j, l, wl, a);
    return buf;
}

/* FTE from basis points (10,000 = 1 FTE), two decimals rounded half-up */
static const char *fte(char *buf, size_t n, long long bp)
{
    unsigned long long a = bp < 0 ? 0ULL - (unsigned long long)bp : (unsigned long long)bp, h = (a + 50) / 100;
    snprintf(buf, n, "%s%llu.%02llu", bp < 0 && h ? "-" : "", h / 100, h % 100);
    return buf;
}

/* a percentage from a basis-point field, "-" when the field is null */
static const char *pct_field(char *buf, size_t n, json_t *o, const char *field)
{
    json_t *v = json_object_get(o, field);
    if (json_is_integer(v))
        ol_fmt_pct(buf, n, json_integer_value(v), 10000);
    else
        snprintf(buf, n, "-");
    return buf;
}

void olr_dm_hc_cells(json_t *o, char c[OLR_DM_HC_COLS][OLR_CELL])
{
    json_t *ratio = json_object_get(o, "dm_ratio_bp");
    long long s = olr_int(o, "dm_supply_fte_bp"), d = olr_int(o, "dm_demand_fte_bp");
    char x[48];
    snprintf(c[0], OLR_CELL, "%s", olr_str(o, "week"));
    snprintf(c[1], OLR_CELL, "%lld", olr_int(o, "headcount"));
    fte(c[2], OLR_CELL, s);
    fte(c[3], OLR_CELL, d);
    pct_field(c[4], OLR_CELL, o, "dm_ratio_bp");
    pct_field(c[5], OLR_CELL, o, "attrition_bp");
    if (!json_is_integer(ratio))
        snprintf(c[6], OLR_CELL, "no demand");
    else if (json_is_true(json_object_get(o, "dm_ahead")))
        snprintf(c[6], OLR_CELL, "slightly ahead, as targeted");
    else if (json_integer_value(ratio) < 10000)
        snprintf(c[6], OLR_CELL, "short by %s FTE", fte(x, sizeof x, d - s));
    else
        snprintf(c[6], OLR_CELL, "over-supplied by %s FTE", fte(x, sizeof x, s - d));
}

void olr_margin_cells(const struct ol_report *r, json_t *o, char c[OLR_MARGIN_COLS][OLR_CELL])
{
    const char *cur = olr_str(o, "currency");
    olr_engagement(r, olr_str(o, "engagement_id"), NULL, c[0], OLR_CELL);
    ol_fmt_amount(c[1], OLR_CELL, olr_int(o, "revenue_minor"), cur);
    ol_fmt_amount(c[2], OLR_CELL, olr_int(o, "cost_minor"), cur);
    ol_fmt_amount(c[3], OLR_CELL, olr_int(o, "margin_minor"), cur);
    pct_field(c[4], OLR_CELL, o, "margin_bp");
}

void olr_three_way_cells(const struct ol_report *r, json_t *o, char c[OLR_THREE_WAY_COLS][OLR_CELL])
{
    const char *last = olr_str(o, "period_last_day");
    snprintf(c[0], OLR_CELL, "%s", olr_str(o, "invoice_id"));
    olr_person(r, olr_str(o, "person_id"), c[1], OLR_CELL);
    snprintf(c[2], OLR_CELL, "%s", olr_str(o, "supplier"));
    snprintf(c[3], OLR_CELL, "%s..%s", olr_str(o, "period_first_day"), strlen(last) > 5 ? last + 5 : last);
    ol_fmt_hm(c[4], OLR_CELL, olr_int(o, "minutes_logged"));
    ol_fmt_hm(c[5], OLR_CELL, olr_int(o, "minutes_invoiced"));
    ol_fmt_hm(c[6], OLR_CELL, olr_int(o, "minutes_billed"));
    ol_fmt_amount(c[7], OLR_CELL, olr_int(o, "invoiced_minus_logged_minor"), olr_str(o, "currency"));
}

const char *olr_margin_intro(const struct ol_report *r, char *buf, size_t n)
{
    size_t shown = json_array_size(r->low_margin);
    char which[96];
    if (shown == r->margin_rows)
        snprintf(which, sizeof which, "%s %zu engagement %s with revenue", shown == 1 ? "the" : "all", shown,
                 shown == 1 ? "row" : "rows");
    else
        snprintf(which, sizeof which, "the %zu lowest of %zu engagement rows with revenue", shown, r->margin_rows);
    if (!shown)
        snprintf(buf, n, "No margin with revenue published for %s.", r->prev1);
    else
        snprintf(buf, n,
                 "The lowest margins of %s (the last week that has ended), %s, one row per engagement and currency "
                 "(currencies are never converted):",
                 r->prev1, which);
    return buf;
}

const char *olr_cost_only(const struct ol_report *r, char *buf, size_t n)
{
    if (!r->cost_only_rows)
        snprintf(buf, n, "No engagement row of %s had cost without revenue.", r->prev1);
    else
        snprintf(buf, n,
                 "%zu engagement %s of %s had cost and no revenue (fixed-price and non-billable work earn no revenue "
                 "by rule); report margin lists %s.",
                 r->cost_only_rows, r->cost_only_rows == 1 ? "row" : "rows", r->prev1,
                 r->cost_only_rows == 1 ? "it" : "them");
    return buf;
}

const char *olr_three_way_intro(const struct ol_report *r, char *buf, size_t n)
{
    snprintf(buf, n,
             "Contractor and partner invoices for %s..%s whose hours differ from the time logged (logged, invoiced "
             "by the supplier, billed to clients): %zu",
             r->prev4, r->week, json_array_size(r->three_way));
    return buf;
}
