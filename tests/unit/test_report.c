/* test_report — the weekly report's renderers (common/report) over a
 * hand-made event set, through the same callbacks any program uses: what a
 * person reading the page depends on. Names beside ids; one unit convention
 * (37h15, GBP 1,234.56, 84.36%, no basis points or minutes); "data as of"
 * and a running week never judged against the target; week-on-week change;
 * pending time of the week explained; contractor invoices received in the
 * window (not only those whose period lies in it); delivery-manager supply
 * and demand; reasons and cover gaps in words; billing grouped by client
 * and bill-to; tables aligned with long names and no trailing blanks or
 * commas; the trend chart's axis from 0 with the target labelled beside the
 * bars. Every expected string is written by hand from the events below. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "report/ol_report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const EVENTS[][2] = {
    {"ops.utilisation.weekly",
     "[{\"key\":\"ORG|org|2026-W46\",\"scope\":\"ORG\",\"scope_id\":\"org\",\"week\":\"2026-W46\",\"available_minutes\":"
     "357750,\"billable_minutes\":293685,\"bench_minutes\":600,\"training_minutes\":0,\"sales_support_minutes\":0,"
     "\"internal_minutes\":0,\"live_support_minutes\":0,\"utilisation_bp\":8209,\"target_bp\":8500},"
     "{\"key\":\"ORG|org|2026-W47\",\"scope\":\"ORG\",\"scope_id\":\"org\",\"week\":\"2026-W47\",\"available_minutes\":"
     "349650,\"billable_minutes\":288900,\"bench_minutes\":10515,\"training_minutes\":13320,\"sales_support_minutes\":0,"
     "\"internal_minutes\":0,\"live_support_minutes\":795,\"utilisation_bp\":8262,\"target_bp\":8500},"
     "{\"key\":\"TEAM|security|2026-W46\",\"scope\":\"TEAM\",\"scope_id\":\"security\",\"week\":\"2026-W46\","
     "\"available_minutes\":23400,\"billable_minutes\":16050,\"utilisation_bp\":6858,\"target_bp\":8500,"
     "\"below_target\":true,\"people\":15}]"},
    {"ops.timesheet.missing", "[{\"key\":\"p-0001|2026-W46\",\"person_id\":\"p-0001\",\"team\":\"web\",\"week\":"
                              "\"2026-W46\",\"available_minutes\":2250,\"missing_minutes\":2250}]"},
    {"finance.billing.line",
     "[{\"key\":\"e-07|p-0001|2026-W47\",\"engagement_id\":\"e-07\",\"person_id\":\"p-0001\",\"week\":\"2026-W47\","
     "\"client\":\"Harbour Insurance Group\",\"bill_to\":\"Brightpath Partners LLP\",\"approved_minutes\":0,"
     "\"pending_minutes\":2250,\"amount_minor\":0,\"delta_minor\":0,\"currency\":\"GBP\",\"post_close\":false,"
     "\"period_status\":\"OPEN\"},"
     "{\"key\":\"e-09|p-0002|2026-W45\",\"engagement_id\":\"e-09\",\"person_id\":\"p-0002\",\"week\":\"2026-W45\","
     "\"client\":\"The Extremely Long Named Client Holdings International plc\",\"bill_to\":\"The Extremely Long "
     "Named Client Holdings International plc\",\"approved_minutes\":2250,\"pending_minutes\":0,\"amount_minor\":"
     "12345678,\"delta_minor\":-13000,\"currency\":\"GBP\",\"post_close\":true,\"period_status\":\"CLOSED\"}]"},
    {"finance.contractor.reconciliation",
     "[{\"key\":\"ci-1\",\"invoice_id\":\"ci-1\",\"person_id\":\"p-0002\",\"supplier\":\"Northstar IT\","
     "\"period_first_day\":\"2026-09-28\",\"period_last_day\":\"2026-10-25\",\"amount_expected_minor\":1161000,"
     "\"amount_invoiced_minor\":1290000,\"currency\":\"GBP\",\"status\":\"OVER_INVOICED\"},"
     "{\"key\":\"ci-2\",\"invoice_id\":\"ci-2\",\"person_id\":\"p-0002\",\"supplier\":\"Northstar IT\","
     "\"period_first_day\":\"2026-08-31\",\"period_last_day\":\"2026-09-27\",\"amount_expected_minor\":100,"
     "\"amount_invoiced_minor\":200,\"currency\":\"GBP\",\"status\":\"OVER_INVOICED\"},"
     "{\"key\":\"ci-3\",\"invoice_id\":\"ci-3\",\"person_id\":\"p-0002\",\"supplier\":\"Northstar IT\","
     "\"period_first_day\":\"2026-11-02\",\"period_last_day\":\"2026-11-15\",\"amount_expected_minor\":100,"
     "\"amount_invoiced_minor\":100,\"currency\":\"GBP\",\"status\":\"MATCHED\"}]"},
    {"ops.delivery.status",
     "[{\"key\":\"e-07|2026-W47\",\"engagement_id\":\"e-07\",\"client\":\"Kingsway Building Society\","
     "\"engagement_name\":\"Identity and access\",\"closed\":false,\"week\":\"2026-W47\",\"rag\":\"RED\",\"reasons\":"
     "[\"EAC_OVER_BUDGET 11741bp\",\"MISSING_TIMESHEETS p-0001 2250min 2026-W46\",\"OPEN_ROLE a-00317 "
     "DELIVERY_MANAGER CONFIRMED from 2026-11-30\",\"CRITICAL_RISK r-0021\"],\"open_risks\":[{\"risk_id\":\"r-0021\","
     "\"severity\":\"CRITICAL\",\"category\":\"STAFFING\",\"summary\":\"Key engineer rolling off\",\"owner\":\"Hiro "
     "Bennett\"}],\"risks_opened\":[\"r-0021\"],\"risks_closed\":[],\"previous_rag\":\"GREEN\"}]"},
    {"ops.cover.gaps",
     "[{\"key\":\"svc-pay|2026-11-26\",\"service_id\":\"svc-pay\",\"day\":\"2026-11-26\",\"uncovered_minutes\":0,"
     "\"double_booked_minutes\":0,\"primary_on_leave_minutes\":420,\"gaps\":[{\"starts_at\":\"2026-11-26T00:00:00Z\","
     "\"ends_at\":\"2026-11-26T07:00:00Z\",\"reason\":\"PRIMARY_ON_LEAVE p-0001\"}],\"shifts_on_leave\":[\"sh-1 "
     "p-0001 PRIMARY\"]}]"},
    {"ops.forecast.engagement", "[]"},
    {"ops.forecast.demand",
     "[{\"key\":\"DELIVERY_MANAGER|2026-W47\",\"role\":\"DELIVERY_MANAGER\",\"week\":\"2026-W47\",\"open_role_minutes\":"
     "6750,\"bench_supply_minutes\":5580,\"gap_minutes\":1170,\"rolling_off_people\":[\"p-0001\"],"
     "\"roll_offs_next_4_weeks\":1}]"},
    {"ops.headcount.weekly",
     "[{\"key\":\"ORG|org|2026-W47\",\"scope\":\"ORG\",\"scope_id\":\"org\",\"week\":\"2026-W47\",\"headcount\":31,"
     "\"joiners\":1,\"leavers\":1,\"window_leavers\":5,\"attrition_bp\":1571},"
     "{\"key\":\"ROLE|DELIVERY_MANAGER|2026-W47\",\"week\":\"2026-W47\",\"headcount\":3,\"dm_supply_fte_bp\":20000,"
     "\"dm_demand_fte_bp\":14000,\"dm_ratio_bp\":14285,\"dm_ahead\":false,\"attrition_bp\":5102},"
     "{\"key\":\"ROLE|DELIVERY_MANAGER|2026-W48\",\"week\":\"2026-W48\",\"headcount\":3,\"dm_supply_fte_bp\":28000,"
     "\"dm_demand_fte_bp\":29000,\"dm_ratio_bp\":9655,\"dm_ahead\":false,\"attrition_bp\":5154},"
     "{\"key\":\"ROLE|DELIVERY_MANAGER|2026-W49\",\"week\":\"2026-W49\",\"headcount\":3,\"dm_supply_fte_bp\":15000,"
     "\"dm_demand_fte_bp\":14000,\"dm_ratio_bp\":10714,\"dm_ahead\":true,\"attrition_bp\":null}]"},
    {"finance.margin.weekly",
     "[{\"key\":\"E|e-09|2026-W46|GBP\",\"kind\":\"ENGAGEMENT\",\"engagement_id\":\"e-09\",\"week\":\"2026-W46\","
     "\"currency\":\"GBP\",\"revenue_minor\":23536,\"cost_minor\":848836,\"margin_minor\":-825300,\"margin_bp\":"
     "-350654},"
     "{\"key\":\"E|e-07|2026-W46|EUR\",\"kind\":\"ENGAGEMENT\",\"engagement_id\":\"e-07\",\"week\":\"2026-W46\","
     "\"currency\":\"EUR\",\"revenue_minor\":2833800,\"cost_minor\":0,\"margin_minor\":2833800,\"margin_bp\":10000},"
     "{\"key\":\"E|e-11|2026-W46|GBP\",\"kind\":\"ENGAGEMENT\",\"engagement_id\":\"e-11\",\"week\":\"2026-W46\","
     "\"currency\":\"GBP\",\"revenue_minor\":0,\"cost_minor\":5000,\"margin_minor\":-5000,\"margin_bp\":null},"
     "{\"key\":\"C|p-0002|ci-9\",\"kind\":\"CONTRACTOR\",\"person_id\":\"p-0002\",\"invoice_id\":\"ci-9\","
     "\"supplier\":\"<b>Evil</b> & Co\",\"invoice_status\":\"RECEIVED\",\"period_first_day\":\"2026-11-02\","
     "\"period_last_day\":\"2026-11-08\",\"currency\":\"GBP\",\"minutes_logged\":1800,\"minutes_invoiced\":2250,"
     "\"minutes_billed\":1800,\"invoiced_minus_logged_minor\":15000}]"},
};

static json_t *events(void *ctx, const char *topic, const char *prefix, const char *suffix, char *err, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < sizeof EVENTS / sizeof EVENTS[0]; i++) {
        if (strcmp(EVENTS[i][0], topic))
            continue;
        json_t *all = json_loads(EVENTS[i][1], 0, NULL), *out = json_array();
        size_t j;
        json_t *o;
        json_array_foreach(all, j, o)
        {
            const char *k = json_string_value(json_object_get(o, "key"));
            size_t kl = strlen(k), pl = prefix ? strlen(prefix) : 0, sl = suffix ? strlen(suffix) : 0;
            if ((!prefix || !strncmp(k, prefix, pl)) && (!suffix || (kl >= sl && !strcmp(k + kl - sl, suffix))))
                json_array_append(out, o);
        }
        json_decref(all);
        return out;
    }
    snprintf(err, n, "no such topic %s", topic);
    return NULL;
}

static const char *name(void *ctx, const char *topic, const char *id, const char *field)
{
    (void)ctx;
    static const char *const names[][4] = {
        {"hr.person", "p-0001", "name", "Aisha Bose"},
        {"hr.person", "p-0002", "name", "Siân Fernández"},
        {"delivery.engagement", "e-09", "name", "Data platform"},
        {"finance.contractor_invoice", "ci-1", "occurred_at", "2026-10-28T09:00:00Z"},
        {"finance.contractor_invoice", "ci-2", "occurred_at", "2026-09-29T09:00:00Z"},
        {"finance.contractor_invoice", "ci-3", "occurred_at", "2026-11-16T09:00:00Z"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(names[i][0], topic) && !strcmp(names[i][1], id) && !strcmp(names[i][2], field))
            return names[i][3];
    return NULL;
}

/* the report rendered in one format (caller frees) */
static char *render(enum ol_report_format fmt, const char *data_time)
{
    struct ol_report_source src = {events, name, NULL, data_time};
    char err[256], *buf = NULL;
    size_t len = 0;
    struct ol_report *r = ol_report_weekly(&src, "2026-W47", err, sizeof err);
    assert_non_null(r);
    assert_int_equal(ol_report_unavailable(r), 0);
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(ol_report_render(f, r, fmt), 0);
    assert_int_equal(fclose(f), 0);
    ol_report_free(r);
    return buf;
}

/* the line of text holding needle (a copy, caller frees), or NULL */
static char *line_with(const char *text, const char *needle)
{
    const char *p = strstr(text, needle);
    if (!p)
        return NULL;
    const char *a = p, *e = strchr(p, '\n');
    while (a > text && a[-1] != '\n')
        a--;
    return strndup(a, e ? (size_t)(e - a) : strlen(a));
}

/* display column (UTF-8 characters) where needle ends in the line that holds marker */
static int end_col(const char *text, const char *marker, const char *needle)
{
    char *l = line_with(text, marker);
    assert_non_null(l);
    assert_non_null(strstr(l, needle));
    const char *p = strstr(l, needle) + strlen(needle);
    int col = 0;
    for (const char *c = l; c < p; c++)
        col += ((unsigned char)*c & 0xC0) != 0x80;
    free(l);
    return col;
}

static void assert_has(const char *text, const char *needle)
{
    if (!strstr(text, needle))
        fail_msg("missing: %s", needle);
}

static void assert_lacks(const char *text, const char *needle)
{
    if (strstr(text, needle))
        fail_msg("should not be there: %s", needle);
}

/* the fixture's events, with two more W47 billing lines at INT64_MAX
 * (billing saturates a line there: a rate of 10^15 a day of 1 minute) */
static json_t *huge_events(void *ctx, const char *topic, const char *prefix, const char *suffix, char *err, size_t n)
{
    json_t *out = events(ctx, topic, prefix, suffix, err, n);
    if (out && !strcmp(topic, "finance.billing.line") && (!prefix || !strncmp("e-07|", prefix, strlen(prefix))))
        for (int i = 3; i <= 4; i++) {
            char line[512];
            snprintf(line, sizeof line,
                     "{\"key\":\"e-07|p-000%d|2026-W47\",\"engagement_id\":\"e-07\",\"person_id\":\"p-000%d\","
                     "\"week\":\"2026-W47\",\"client\":\"Harbour Insurance Group\",\"bill_to\":\"Harbour\","
                     "\"approved_minutes\":1440,\"pending_minutes\":0,\"amount_minor\":9223372036854775807,"
                     "\"delta_minor\":0,\"currency\":\"GBP\",\"post_close\":false,\"period_status\":\"OPEN\"}",
                     i, i);
            json_array_append_new(out, json_loads(line, 0, NULL));
        }
    return out;
}

/* money totals past 64 bits saturate, never wrap to a negative figure
 * (before: "TOTAL GBP -0.02") */
static void test_money_totals_saturate(void **state)
{
    (void)state;
    struct ol_report_source src = {huge_events, name, NULL, "2026-11-20T18:59:09.000Z"};
    char err[256], *buf = NULL;
    size_t len = 0;
    struct ol_report *r = ol_report_weekly(&src, "2026-W47", err, sizeof err);
    assert_non_null(r);
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(ol_report_render(f, r, OL_REPORT_TEXT), 0);
    assert_int_equal(fclose(f), 0);
    ol_report_free(r);
    if (getenv("TEST_REPORT_SHOW"))
        fputs(buf, stderr);
    assert_has(buf, "92,233,720,368,547,758.07");
    assert_lacks(buf, "-0.02");
    free(buf);
}

static void test_text_reads_without_a_decoder_ring(void **state)
{
    (void)state;
    char *t = render(OL_REPORT_TEXT, "2026-11-20T18:59:09.000Z");
    if (getenv("TEST_REPORT_SHOW"))
        fputs(t, stderr);
    /* data as of; the running week is marked and never judged */
    assert_has(t, "Data as of 2026-11-20 18:59 UTC. 2026-W47 is still in progress (it ends 2026-11-22)");
    assert_has(t, "Finance has not closed it; the last closed week is 2026-W45.");
    assert_has(t, "Org utilisation in 2026-W47 so far: 82.62% (4,815h00 billable of 5,827h30 available), +0.53 pts on "
                  "2026-W46; the week is still in progress, so it is not judged against the target yet.");
    char *w47 = line_with(t, "  2026-W47 ");
    assert_non_null(w47);
    assert_non_null(strstr(w47, "in progress"));
    assert_null(strstr(w47, "below"));
    free(w47);
    assert_has(t, "Teams below target in 2026-W46 (the last week that has ended): 1");
    /* names beside ids, reasons and cover in words */
    assert_has(t, "Aisha Bose (p-0001) has 37h30 of 2026-W46 not logged");
    assert_has(t, "the estimate at completion is 117.41% of the budget");
    assert_has(t, "a confirmed delivery manager role has nobody from 2026-11-30 (allocation a-00317)");
    assert_has(t, "a critical risk r-0021 is open: Key engineer rolling off");
    assert_has(t, "00:00-07:00 the primary, Aisha Bose (p-0001), is on leave");
    assert_has(t, "primary shift sh-1: Aisha Bose (p-0001) is on leave");
    /* units: money with separators and currency, hours as 37h15, never bp or minutes */
    assert_has(t, "GBP 123,456.78");
    assert_has(t, "GBP -130.00");
    assert_lacks(t, "bp");
    assert_lacks(t, "min ");
    assert_lacks(t, "MISSING_TIMESHEETS");
    assert_lacks(t, "PRIMARY_ON_LEAVE");
    /* billing by client and bill-to; this week's pending time explained */
    assert_has(t, "Harbour Insurance Group (bill to Brightpath Partners LLP)");
    assert_has(t, "Of which this week: nothing yet. All 37h30 of 2026-W47's time is still submitted, not approved");
    /* contractors received in the window, not only those whose period lies in it */
    assert_has(t, "Contractor invoices to chase (received in 2026-W44..2026-W47 or for a period in it): 1");
    assert_has(t, "ci-1 ");
    assert_lacks(t, "ci-2");
    assert_lacks(t, "ci-3");
    assert_has(t, "invoiced more than the approved time");
    assert_has(t, "GBP 1,290.00");
    /* delivery-manager supply and demand in the delivery section */
    assert_has(t, "Delivery managers: open roles against bench supply, 2026-W47..2026-W50");
    assert_has(t, "short by 19h30");
    /* tables: aligned with a long name (the figures' right edge is the
     * header's), no blank or comma at the end of a line */
    int head = end_col(t, "4 weeks", "4 weeks");
    assert_int_equal(end_col(t, "International plc GBP", "GBP 123,456.78"), head);
    assert_int_equal(end_col(t, "(bill to Brightpath Partners LLP)", "GBP 0.00"), head);
    assert_int_equal(end_col(t, "e-09 Data platform Si", "GBP -130.00"), end_col(t, "last change", "last change"));
    for (const char *l = t; *l;) {
        const char *e = strchr(l, '\n');
        size_t n = e ? (size_t)(e - l) : strlen(l);
        if (n && (l[n - 1] == ' ' || l[n - 1] == ','))
            fail_msg("line ends in a blank or comma: %.*s", (int)n, l);
        l += n + (e != NULL);
    }
    free(t);
}

static void test_an_ended_week_is_judged(void **state)
{
    (void)state;
    char *t = render(OL_REPORT_TEXT, "2026-11-23T08:00:00Z");
    assert_has(t, "2026-W47 has ended (2026-11-22).");
    assert_has(t, "+0.53 pts on 2026-W46; below target (-2.38 pts).");
    assert_has(t, "Teams below target in 2026-W47: 0");
    free(t);
}

static void test_html_chart_and_page(void **state)
{
    (void)state;
    char *h = render(OL_REPORT_HTML, "2026-11-20T18:59:09Z");
    /* the axis starts at 0 and says so; the top is the next 10 % above the
     * target and the figures (90 %), so no blank band above the bars */
    assert_has(h, "aria-label=\"Org utilisation, 8 weeks, axis from 0\"");
    assert_has(h, ">0%</text>");
    assert_has(h, ">80%</text>");
    assert_lacks(h, ">100%</text>");
    /* the target labelled in the right margin, beside the bars, not on them */
    assert_has(h, "<text x=\"552\" y=\"");
    assert_has(h, "fill=\"#c92a2a\">target 85.00%</text>");
    /* a bar whose label would sit on the target line carries it inside */
    assert_has(h, "fill=\"#fff\">82.09%</text>");
    /* the running week is hatched and says so */
    assert_has(h, "fill=\"url(#run)\"><title>2026-W47 82.62% (in progress)</title>");
    assert_has(h, "<b id=\"org-util\">82.62%</b>");
    assert_has(h, "<td>Aisha Bose (p-0001)</td>");
    assert_has(h, "<th>engagement</th><th>risk</th><th>severity</th>");
    assert_has(h, "<li>the estimate at completion is 117.41% of the budget</li>");
    assert_has(h, "<td>Siân Fernández (p-0002)</td>");
    free(h);
}

/* sections 7 and 8 (issue 20) in the page's convention: FTE and
 * percentages from basis points, money with its currency, names beside
 * person and engagement ids, escaped in HTML */
static void test_people_and_margin_sections(void **state)
{
    (void)state;
    char *t = render(OL_REPORT_TEXT, "2026-11-20T18:59:09Z");
    assert_has(t, "\n7. Delivery managers: supply against demand, and attrition\n");
    assert_has(t, "31 employees at the end of 2026-W47: 1 joined and 1 left that week; 5 left in the last 52 weeks, an "
                  "annualised attrition of 15.71%.");
    char *l = line_with(t, "  2026-W47       ");
    assert_non_null(l);
    assert_non_null(strstr(l, " 3       2.00       1.40       142.85%    51.02% over-supplied by 0.60 FTE"));
    free(l);
    assert_has(t, "96.55%    51.54% short by 0.10 FTE");
    assert_has(t, "107.14%         - slightly ahead, as targeted");
    assert_has(t, "\n8. Lowest margins and contractor invoices matched three ways\n");
    assert_has(t, "The lowest margins of 2026-W46 (the last week that has ended), all 2 engagement rows with revenue");
    l = line_with(t, "  e-09 Data platform ");
    assert_non_null(l);
    assert_non_null(strstr(l, "GBP 235.36 GBP 8,488.36 GBP -8,253.00 -3506.54%"));
    free(l);
    assert_has(t, "  e-07               EUR 28,338.00     EUR 0.00 EUR 28,338.00   100.00%");
    assert_has(t, "1 engagement row of 2026-W46 had cost and no revenue");
    assert_has(t, "whose hours differ from the time logged (logged, invoiced by the supplier, billed to clients): 1");
    l = line_with(t, "  ci-9 ");
    assert_non_null(l);
    assert_non_null(strstr(l, "Siân Fernández (p-0002) <b>Evil</b> & Co 2026-11-02..11-08  30h00    37h30  30h00"));
    assert_non_null(strstr(l, "GBP 150.00"));
    free(l);
    free(t);
    char *m = render(OL_REPORT_MD, "2026-11-20T18:59:09Z");
    assert_has(m, "## 7. Delivery managers: supply against demand, and attrition");
    assert_has(m, "## 8. Lowest margins and contractor invoices matched three ways");
    assert_lacks(m, "<b>Evil");
    free(m);
    char *h = render(OL_REPORT_HTML, "2026-11-20T18:59:09Z");
    assert_has(h, "<h2>7. Delivery managers: supply against demand, and attrition</h2>");
    assert_has(h, "<td class=\"n\">142.85%</td>");
    assert_has(h, "<td>e-09 Data platform</td><td class=\"n\">GBP 235.36</td>");
    assert_has(h, "<td>Siân Fernández (p-0002)</td><td>&lt;b&gt;Evil&lt;/b&gt; &amp; Co</td>");
    assert_lacks(h, "<b>Evil");
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_people_and_margin_sections),
        cmocka_unit_test(test_text_reads_without_a_decoder_ring),
        cmocka_unit_test(test_an_ended_week_is_judged),
        cmocka_unit_test(test_money_totals_saturate),
        cmocka_unit_test(test_html_chart_and_page),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
