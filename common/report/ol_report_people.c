/* ol_report_people — the weekly page's people and margin figures (issue
 * 20), from what opsledger-people and opsledger-margin published: the
 * delivery managers' FTE supply against demand over the 12 weeks from the
 * report week and the org's trailing-52-week attrition
 * (ops.headcount.weekly), the lowest-margin engagements of the last week
 * ended (the report week's time is still being approved) and the
 * contractor and partner invoices of the last 4 weeks whose minutes do not
 * match the approved time (finance.margin.weekly). Integers only; the
 * renderers (ol_report_text.c, ol_report_html.c) escape every string. */
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
    r->dm = sorted_max(keep, cmp_week, 0);
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
    json_decref(r->dm);
    json_decref(r->org_hc);
    json_decref(r->low_margin);
    json_decref(r->three_way);
}
