/* weekly_html — the weekly report as one self-contained HTML file: inline
 * CSS, two inline SVG charts (the 8-week utilisation trend against the
 * target, the RAG counts), tables for the rest; no script, no network, no
 * external resource. Every text from the data is HTML-escaped. Chart
 * geometry is integer arithmetic on basis points. */
#include "ol_escape.h"
#include "ol_format.h"
#include "ol_report_int.h"

#include <stdarg.h>
#include <string.h>

/* text from the data as HTML (ol_escape); a write error shows in ferror(f),
 * which cmd_weekly checks */
static void esc(FILE *f, const char *s) { (void)ol_esc_fput(f, OL_ESC_HTML, s); }

/* a table cell: <td> (or <td class="n"> for figures) with the escaped text */
static void td(FILE *f, int num, const char *s)
{
    fputs(num ? "<td class=\"n\">" : "<td>", f);
    esc(f, s);
    fputs("</td>", f);
}

static void thead(FILE *f, const char *cols)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", cols);
    fputs("<table><tr>", f);
    for (char *s = strtok(buf, "|"); s; s = strtok(NULL, "|")) {
        fputs(*s == '>' ? "<th class=\"n\">" : "<th>", f);
        esc(f, *s == '>' ? s + 1 : s);
        fputs("</th>", f);
    }
    fputs("</tr>\n", f);
}

static void para(FILE *f, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fputs("<p>", f);
    esc(f, buf);
    fputs("</p>\n", f);
}

/* bars of the 8 weeks' utilisation, 0..max(10000, highest) bp, the target dashed */
static void trend_chart(FILE *f, const struct ol_report *r)
{
    const int W = 560, H = 200, top = 20, base = 170, left = 40, step = (W - left) / OLR_TREND;
    int32_t max = 10000, target = 0, lo = 10000;
    for (int i = 0; i < OLR_TREND; i++) {
        if (r->trend[i].present && r->trend[i].has_bp && r->trend[i].bp > max)
            max = r->trend[i].bp;
        if (r->trend[i].present && r->trend[i].has_bp && r->trend[i].bp < lo)
            lo = r->trend[i].bp;
        if (r->trend[i].present)
            target = r->trend[i].target;
    }
    /* the axis starts at a whole 10 % at least 10 points under the lowest
     * figure (and the target), so that week-to-week moves show */
    if (target > 0 && target < lo)
        lo = target;
    int32_t floor = lo > 1000 ? (lo - 1000) / 1000 * 1000 : 0;
    max -= floor;
    fprintf(f, "<svg id=\"trend\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" "
               "aria-label=\"Org utilisation, 8 weeks\">\n", W, H, W, H);
    char fl[32];
    ol_fmt_bp(fl, sizeof fl, 1, floor);
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#555\"/>\n", left, base, W, base);
    fprintf(f, "<text x=\"2\" y=\"%d\" font-size=\"11\">%s</text>\n", base + 4, fl);
    for (int i = 0; i < OLR_TREND; i++) {
        const struct olr_util *u = &r->trend[i];
        char p[32];
        int x = left + i * step + 6;
        int h = u->present && u->has_bp && u->bp > floor ? (int)((int64_t)(u->bp - floor) * (base - top) / max) : 0;
        ol_fmt_bp(p, sizeof p, u->present && u->has_bp, u->bp);
        fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"><title>%s %s</title></rect>\n", x,
                base - h, step - 12, h, u->has_bp && u->bp < u->target ? "#d9822b" : "#2b8a3e", u->week, p);
        fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%s</text>\n", x + (step - 12) / 2,
                base - h - 4, p);
        fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%s</text>\n", x + (step - 12) / 2,
                base + 16, u->week + 5);
    }
    if (target > 0) {
        char t[32];
        int y = base - (int)((int64_t)(target - floor) * (base - top) / max);
        ol_fmt_bp(t, sizeof t, 1, target);
        fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#c92a2a\" stroke-dasharray=\"6 4\"/>\n", left,
                y, W, y);
        fprintf(f, "<text x=\"2\" y=\"%d\" font-size=\"11\" fill=\"#c92a2a\">%s</text>\n", y + 4, t);
    }
    fputs("</svg>\n", f);
}

static void rag_chart(FILE *f, const struct ol_report *r)
{
    static const char *const names[] = {"GREEN", "AMBER", "RED"}, *const colours[] = {"#2b8a3e", "#f08c00", "#c92a2a"};
    int max = 1;
    for (int i = 0; i < 3; i++)
        max = r->rag[i] > max ? r->rag[i] : max;
    fputs("<svg id=\"rag\" width=\"420\" height=\"90\" viewBox=\"0 0 420 90\" role=\"img\" aria-label=\"RAG counts\">\n",
          f);
    for (int k = 0; k < 3; k++) {
        int i = 2 - k, w = r->rag[i] * 300 / max;
        fprintf(f, "<text x=\"0\" y=\"%d\" font-size=\"12\">%s</text>\n", 20 + k * 28, names[i]);
        fprintf(f, "<rect x=\"60\" y=\"%d\" width=\"%d\" height=\"18\" fill=\"%s\"/>\n", 7 + k * 28, w, colours[i]);
        fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"12\">%d</text>\n", 66 + w, 20 + k * 28, r->rag[i]);
    }
    fputs("</svg>\n", f);
}

static void section_utilisation(FILE *f, const struct ol_report *r)
{
    const struct olr_util *u = &r->trend[OLR_TREND - 1];
    char a[32], b[32], p[32], t[32];
    fputs("<h2>1. Utilisation</h2>\n", f);
    if (u->present) {
        ol_fmt_bp(p, sizeof p, u->has_bp, u->bp);
        ol_fmt_bp(t, sizeof t, 1, u->target);
        ol_fmt_hours(b, sizeof b, u->billable);
        ol_fmt_hours(a, sizeof a, u->available);
        fprintf(f, "<p class=\"big\">Org utilisation <b id=\"org-util\">%s</b> against a target of %s: %s billable "
                   "hours of %s available.</p>\n", p, t, b, a);
    } else
        para(f, "No utilisation published for %s.", r->week);
    trend_chart(f, r);
    para(f, "Teams under target: %zu", json_array_size(r->teams));
    if (json_array_size(r->teams)) {
        thead(f, "team|>utilisation|>billable h|>available h");
        size_t i;
        json_t *o;
        json_array_foreach(r->teams, i, o)
        {
            json_t *bp = json_object_get(o, "utilisation_bp");
            ol_fmt_bp(p, sizeof p, json_is_integer(bp), (int32_t)json_integer_value(bp));
            ol_fmt_hours(b, sizeof b, olr_int(o, "billable_minutes"));
            ol_fmt_hours(a, sizeof a, olr_int(o, "available_minutes"));
            fputs("<tr>", f);
            td(f, 0, olr_str(o, "scope_id"));
            td(f, 1, p);
            td(f, 1, b);
            td(f, 1, a);
            fputs("</tr>\n", f);
        }
        fputs("</table>\n", f);
    }
    if (u->present) {
        char s[5][32];
        ol_fmt_hours(s[0], 32, u->bench);
        ol_fmt_hours(s[1], 32, u->training);
        ol_fmt_hours(s[2], 32, u->sales);
        ol_fmt_hours(s[3], 32, u->internal);
        ol_fmt_hours(s[4], 32, u->live);
        para(f, "Bench %s h; non-billable time invested: training %s h, sales support %s h, internal %s h, live "
                "support %s h.", s[0], s[1], s[2], s[3], s[4]);
    }
    ol_fmt_hours(a, sizeof a, r->missing_minutes);
    para(f, "Missing timesheets in the last closed week, %s: %lld people, %s h.", r->prev1, (long long)r->missing_people, a);
}

static void section_billing(FILE *f, const struct ol_report *r)
{
    char m[32], h[32];
    size_t i;
    json_t *o;
    fputs("<h2>2. Billing</h2>\n", f);
    para(f, "Billing lines of %s to %s per client and currency (pending time is not charged):", r->prev4, r->week);
    thead(f, "client|currency|>amount|>of which this week|>approved h|>lines");
    for (int k = 0; k < r->nmoney; k++) {
        char n[16], wk[32];
        ol_fmt_money(m, sizeof m, r->money[k].amount);
        ol_fmt_money(wk, sizeof wk, r->money[k].amount_week);
        ol_fmt_hours(h, sizeof h, r->money[k].approved_minutes);
        snprintf(n, sizeof n, "%d", r->money[k].lines);
        fputs("<tr>", f);
        td(f, 0, r->money[k].client);
        td(f, 0, r->money[k].currency);
        td(f, 1, m);
        td(f, 1, wk);
        td(f, 1, h);
        td(f, 1, n);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
    para(f, "Post-close adjustments: %zu lines.", json_array_size(r->post_close));
    if (json_array_size(r->post_close)) {
        thead(f, "line|week|client|currency|>amount|>last change");
        json_array_foreach(r->post_close, i, o)
        {
            char d[32];
            if (i == 20)
                break;
            ol_fmt_money(m, sizeof m, olr_int(o, "amount_minor"));
            ol_fmt_money(d, sizeof d, olr_int(o, "delta_minor"));
            fputs("<tr>", f);
            td(f, 0, olr_str(o, "key"));
            td(f, 0, olr_str(o, "week"));
            td(f, 0, olr_str(o, "client"));
            td(f, 0, olr_str(o, "currency"));
            td(f, 1, m);
            td(f, 1, d);
            fputs("</tr>\n", f);
        }
        fputs("</table>\n", f);
    }
    para(f, "Contractor invoice discrepancies (%s to %s): %zu.", r->prev4, r->week, json_array_size(r->contractors));
    if (json_array_size(r->contractors)) {
        thead(f, "invoice|person|supplier|status|>expected|>invoiced");
        json_array_foreach(r->contractors, i, o)
        {
            char e[32];
            ol_fmt_money(m, sizeof m, olr_int(o, "amount_expected_minor"));
            ol_fmt_money(e, sizeof e, olr_int(o, "amount_invoiced_minor"));
            fputs("<tr>", f);
            td(f, 0, olr_str(o, "invoice_id"));
            td(f, 0, olr_str(o, "person_id"));
            td(f, 0, olr_str(o, "supplier"));
            td(f, 0, olr_str(o, "status"));
            td(f, 1, m);
            td(f, 1, e);
            fputs("</tr>\n", f);
        }
        fputs("</table>\n", f);
    }
}

static void section_delivery(FILE *f, const struct ol_report *r)
{
    size_t i;
    json_t *o;
    fputs("<h2>3. Delivery status</h2>\n", f);
    fprintf(f, "<p class=\"big\" id=\"rag-counts\">%d RED, %d AMBER, %d GREEN</p>\n", r->rag[2], r->rag[1], r->rag[0]);
    rag_chart(f, r);
    thead(f, "RAG|engagement|client|reasons|top risks");
    json_array_foreach(r->status, i, o)
    {
        const char *rag = olr_str(o, "rag");
        if (!strcmp(rag, "GREEN"))
            continue;
        fprintf(f, "<tr class=\"%s\">", !strcmp(rag, "RED") ? "red" : "amber");
        td(f, 0, rag);
        fputs("<td>", f);
        esc(f, olr_str(o, "engagement_id"));
        fputs(" ", f);
        esc(f, olr_str(o, "engagement_name"));
        fputs("</td>", f);
        td(f, 0, olr_str(o, "client"));
        fputs("<td><ul>", f);
        size_t j;
        json_t *x;
        json_array_foreach(json_object_get(o, "reasons"), j, x)
        {
            fputs("<li>", f);
            esc(f, json_string_value(x));
            fputs("</li>", f);
        }
        fputs("</ul></td><td><ul>", f);
        json_array_foreach(json_object_get(o, "open_risks"), j, x)
        {
            if (j == 3)
                break;
            fputs("<li>", f);
            esc(f, olr_str(x, "severity"));
            fputs(" ", f);
            esc(f, olr_str(x, "summary"));
            fputs("</li>", f);
        }
        fputs("</ul></td></tr>\n", f);
    }
    fputs("</table>\n", f);
    thead(f, "risk|engagement|change");
    json_array_foreach(r->status, i, o)
    {
        size_t j;
        json_t *x;
        for (int pass = 0; pass < 2; pass++)
            json_array_foreach(json_object_get(o, pass ? "risks_closed" : "risks_opened"), j, x)
            {
                fputs("<tr>", f);
                td(f, 0, json_string_value(x));
                td(f, 0, olr_str(o, "engagement_id"));
                td(f, 0, pass ? "closed or mitigated" : "opened");
                fputs("</tr>\n", f);
            }
    }
    fputs("</table>\n", f);
}

static void section_outlook(FILE *f, const struct ol_report *r)
{
    size_t i;
    json_t *o;
    char s[32], e[32], b[32];
    fputs("<h2>4. Budgets running out</h2>\n", f);
    thead(f, "engagement|runs out|currency|>spent|>estimate at completion|>budget");
    json_array_foreach(r->budgets, i, o)
    {
        ol_fmt_money(s, sizeof s, olr_int(o, "spent_to_date_minor"));
        ol_fmt_money(e, sizeof e, olr_int(o, "estimate_at_completion_minor"));
        ol_fmt_money(b, sizeof b, olr_int(o, "budget_minor"));
        fputs("<tr>", f);
        td(f, 0, olr_str(o, "engagement_id"));
        td(f, 0, olr_str(o, "budget_runs_out_week"));
        td(f, 0, olr_str(o, "currency"));
        td(f, 1, s);
        td(f, 1, e);
        td(f, 1, b);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n<h2>5. Roll-offs in the next 4 weeks</h2>\n", f);
    thead(f, "role|>people");
    json_array_foreach(r->rolloffs, i, o)
    {
        char n[16];
        snprintf(n, sizeof n, "%lld", olr_int(o, "roll_offs_next_4_weeks"));
        fputs("<tr>", f);
        td(f, 0, olr_str(o, "role"));
        td(f, 1, n);
        fputs("</tr>\n", f);
    }
    fprintf(f, "</table>\n<h2>6. Live-service cover gaps, %s</h2>\n", r->next_week);
    thead(f, "service|day|>no primary min|>primary on leave min|>double booked min");
    json_array_foreach(r->cover, i, o)
    {
        char u[16], l[16], d[16];
        snprintf(u, sizeof u, "%lld", olr_int(o, "uncovered_minutes"));
        snprintf(l, sizeof l, "%lld", olr_int(o, "primary_on_leave_minutes"));
        snprintf(d, sizeof d, "%lld", olr_int(o, "double_booked_minutes"));
        fputs("<tr>", f);
        td(f, 0, olr_str(o, "service_id"));
        td(f, 0, olr_str(o, "day"));
        td(f, 1, u);
        td(f, 1, l);
        td(f, 1, d);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
}

/* 7 and 8: delivery managers and attrition, margin and contractor invoices */
void olr_people_html(FILE *f, const struct ol_report *r)
{
    size_t i;
    json_t *o;
    char a[32], b[32], c[32], d[32], e[32];
    fputs("<h2>7. Delivery managers: supply against demand, and attrition</h2>\n", f);
    if (r->org_hc) {
        json_t *att = json_object_get(r->org_hc, "attrition_bp");
        ol_fmt_bp(a, sizeof a, json_is_integer(att), (int32_t)json_integer_value(att));
        para(f, "%lld employees on %s's Sunday, %lld joined and %lld left that week; %lld left in the last 52 weeks: "
                "annualised attrition %s.",
             olr_int(r->org_hc, "headcount"), r->week, olr_int(r->org_hc, "joiners"), olr_int(r->org_hc, "leavers"),
             olr_int(r->org_hc, "window_leavers"), a);
    }
    thead(f, "week|>DMs|>supply FTE|>demand FTE|>ratio|>attrition|vs demand");
    json_array_foreach(r->dm, i, o)
    {
        json_t *ratio = json_object_get(o, "dm_ratio_bp"), *att = json_object_get(o, "attrition_bp");
        long long s = olr_int(o, "dm_supply_fte_bp"), dd = olr_int(o, "dm_demand_fte_bp");
        snprintf(a, sizeof a, "%lld", olr_int(o, "headcount"));
        snprintf(b, sizeof b, "%lld.%02lld", s / 10000, (s < 0 ? -s : s) % 10000 / 100);
        snprintf(c, sizeof c, "%lld.%02lld", dd / 10000, (dd < 0 ? -dd : dd) % 10000 / 100);
        ol_fmt_bp(d, sizeof d, json_is_integer(ratio), (int32_t)json_integer_value(ratio));
        ol_fmt_bp(e, sizeof e, json_is_integer(att), (int32_t)json_integer_value(att));
        fputs("<tr>", f);
        td(f, 0, olr_str(o, "week"));
        td(f, 1, a);
        td(f, 1, b);
        td(f, 1, c);
        td(f, 1, d);
        td(f, 1, e);
        td(f, 0, !json_is_integer(ratio)                          ? "no demand"
                 : json_is_true(json_object_get(o, "dm_ahead")) ? "ahead"
                 : json_integer_value(ratio) < 10000              ? "SHORT"
                                                                  : "over-supplied");
        fputs("</tr>\n", f);
    }
    fputs("</table>\n<h2>8. Lowest margins and contractor invoices matched three ways</h2>\n", f);
    para(f, "The lowest margins of %s with revenue, the last week ended (currencies never converted):", r->prev1);
    thead(f, "engagement|currency|>revenue|>cost|>margin|>margin %");
    json_array_foreach(r->low_margin, i, o)
    {
        json_t *bp = json_object_get(o, "margin_bp");
        long long v = json_integer_value(bp);
        ol_fmt_money(a, sizeof a, olr_int(o, "revenue_minor"));
        ol_fmt_money(b, sizeof b, olr_int(o, "cost_minor"));
        ol_fmt_money(c, sizeof c, olr_int(o, "margin_minor"));
        ol_fmt_bp(d, sizeof d, json_is_integer(bp), (int32_t)(v > 999999 ? 999999 : v < -999999 ? -999999 : v));
        fputs("<tr>", f);
        td(f, 0, olr_str(o, "engagement_id"));
        td(f, 0, olr_str(o, "currency"));
        td(f, 1, a);
        td(f, 1, b);
        td(f, 1, c);
        td(f, 1, d);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
    para(f, "%zu engagement row(s) of %s had cost and no revenue (fixed-price and non-billable work: revenue 0 by rule; "
            "report margin lists them).",
         r->cost_only_rows, r->prev1);
    para(f, "%zu contractor or partner invoice(s) of the last 4 weeks invoice other minutes than were logged.",
         json_array_size(r->three_way));
    thead(f, "invoice|person|supplier|currency|>logged h|>invoiced h|>billed h|>invoiced - logged");
    json_array_foreach(r->three_way, i, o)
    {
        ol_fmt_hours(a, sizeof a, olr_int(o, "minutes_logged"));
        ol_fmt_hours(b, sizeof b, olr_int(o, "minutes_invoiced"));
        ol_fmt_hours(c, sizeof c, olr_int(o, "minutes_billed"));
        ol_fmt_money(d, sizeof d, olr_int(o, "invoiced_minus_logged_minor"));
        fputs("<tr>", f);
        td(f, 0, olr_str(o, "invoice_id"));
        td(f, 0, olr_str(o, "person_id"));
        td(f, 0, olr_str(o, "supplier"));
        td(f, 0, olr_str(o, "currency"));
        td(f, 1, a);
        td(f, 1, b);
        td(f, 1, c);
        td(f, 1, d);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
}

int olr_html(FILE *f, const struct ol_report *r)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>Weekly report ", f);
    esc(f, r->week);
    fputs("</title>\n<style>\nbody{font-family:sans-serif;margin:2em;max-width:70em;color:#222}\n"
          "table{border-collapse:collapse;margin:0.5em 0 1em}\nth,td{border:1px solid #ccc;padding:2px 6px;"
          "vertical-align:top}\nth{background:#f1f3f5}\n.n{text-align:right}\n.big{font-size:1.2em}\n"
          "tr.red td:first-child{color:#c92a2a;font-weight:bold}\ntr.amber td:first-child{color:#e67700;"
          "font-weight:bold}\nul{margin:0;padding-left:1.2em}\n.missing{color:#c92a2a}\n</style></head><body>\n",
          f);
    fputs("<h1>Weekly delivery and operations report, ", f);
    esc(f, r->week);
    fputs("</h1>\n", f);
    for (int i = 0; i < r->nmissing; i++) {
        fputs("<p class=\"missing\">Not available: ", f);
        esc(f, r->missing[i]);
        fputs(" (", f);
        esc(f, r->errors[i]);
        fputs(")</p>\n", f);
    }
    section_utilisation(f, r);
    section_billing(f, r);
    section_delivery(f, r);
    section_outlook(f, r);
    olr_people_html(f, r);
    fputs("</body></html>\n", f);
    return 0; /* ol_esc_fput does not allocate */
}
