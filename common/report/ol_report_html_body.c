/* ol_report_html_body — the sections of the weekly HTML page, the same
 * figures and words as the text form (ol_report_words.c), as tables with
 * headings; the page's shell, charts and escaping helpers are
 * ol_report_html.c. */
#include "ol_format.h"
#include "ol_report_int.h"

#include <string.h>

/* one table row of the cells an olr_*_cells helper wrote (cells is the
 * whole array, width the size of one cell): kinds[k] is how cell k is shown
 * (olr_h_td: '0' text, '1' figure, '2' date) */
static void cells_row(FILE *f, const char *tr, const char *kinds, const char *cells, size_t width)
{
    fputs(tr, f);
    for (size_t k = 0; kinds[k]; k++)
        olr_h_td(f, kinds[k] - '0', cells + k * width);
    fputs("</tr>\n", f);
}

static void utilisation(FILE *f, const struct ol_report *r)
{
    const struct olr_util *u = &r->trend[OLR_TREND - 1];
    char t[48], buf[1024], c[OLR_TREND_COLS][OLR_CELL];
    size_t i;
    json_t *o;
    ol_fmt_bp(t, sizeof t, 1, u->present ? u->target : r->trend[OLR_TREND - 2].target);
    fputs("<h2>1. Utilisation against the ", f);
    olr_h_esc(f, t);
    fputs(" target</h2>\n", f);
    /* the sentence, its figure in bold in its own element (tests and readers find it) */
    size_t at, len;
    olr_org_sentence(r, buf, sizeof buf, &at, &len);
    fputs("<p class=\"big\">", f);
    if (len) {
        char fig[48];
        snprintf(fig, sizeof fig, "%.*s", (int)len, buf + at);
        buf[at] = '\0';
        olr_h_esc(f, buf);
        fputs("<b id=\"org-util\">", f);
        olr_h_esc(f, fig);
        fputs("</b>", f);
        olr_h_esc(f, buf + at + len);
    } else
        olr_h_esc(f, buf);
    fputs("</p>\n", f);
    olr_h_trend(f, r);
    olr_h_thead(f, OLR_TREND_SPEC);
    for (int k = 0; k < OLR_TREND; k++) {
        olr_trend_cells(r, k, c);
        cells_row(f, "<tr>", "011110", (const char *)c, sizeof c[0]);
    }
    fputs("</table>\n", f);
    olr_h_para(f, "Teams below target in %s%s: %zu", r->judged, r->week_ended ? "" : " (the last week that has ended)",
               json_array_size(r->teams));
    if (json_array_size(r->teams)) {
        olr_h_thead(f, OLR_TEAM_SPEC);
        json_array_foreach(r->teams, i, o)
        {
            olr_team_cells(o, c);
            cells_row(f, "<tr>", "01111", (const char *)c, sizeof c[0]);
        }
        fputs("</table>\n", f);
    }
    if (*olr_invested_sentence(r, buf, sizeof buf))
        olr_h_para(f, "%s", buf);
    olr_h_para(f, "%s", olr_missing_sentence(r, buf, sizeof buf));
    if (json_array_size(r->missing_rows)) {
        olr_h_thead(f, OLR_MISSING_SPEC);
        json_array_foreach(r->missing_rows, i, o)
        {
            if (i == 10)
                break;
            olr_missing_cells(r, o, c);
            cells_row(f, "<tr>", "0011", (const char *)c, sizeof c[0]);
        }
        fputs("</table>\n", f);
        if (json_array_size(r->missing_rows) > 10)
            olr_h_para(f, "(%zu more)", json_array_size(r->missing_rows) - 10);
    }
}

static void billing(FILE *f, const struct ol_report *r)
{
    char who[512];
    size_t i;
    json_t *o;
    fputs("<h2>2. Billing</h2>\n", f);
    if (olr_unavailable(r, "billing")) { /* withheld or unreadable: no figure, not zeros */
        olr_h_para(f, "Not available: %s.", olr_unavailable(r, "billing"));
        return;
    }
    olr_h_para(f,
               "Billable in %s to %s per client (and bill-to where it differs), in each currency; time submitted but "
               "not approved is pending and not charged:",
               r->prev4, r->week);
    olr_h_thead(f, OLR_BILLING_SPEC);
    for (int k = 0; k < r->nmoney; k++) {
        char c[OLR_BILLING_COLS][OLR_CELL];
        const struct olr_money_total *t = olr_billing_cells(r, k, c);
        fputs("<tr>", f);
        olr_h_td(f, 0, c[0]);
        for (int j = 1; j < OLR_BILLING_COLS; j++)
            olr_h_td(f, 1, c[j]);
        fputs("</tr>\n", f);
        if (t) {
            olr_billing_total_cells(t, c);
            fputs("<tr class=\"total\">", f);
            olr_h_td(f, 0, c[0]);
            olr_h_td(f, 1, c[1]);
            olr_h_td(f, 1, c[2]);
            fputs("<td></td><td></td><td></td></tr>\n", f);
        }
    }
    fputs("</table>\n", f);
    if (*olr_billing_note(r, who, sizeof who))
        olr_h_para(f, "%s", who);
    olr_h_para(f, "Post-close adjustments (lines of weeks finance had closed that changed afterwards), largest first: %zu",
               json_array_size(r->post_close));
    if (json_array_size(r->post_close)) {
        char c[OLR_POST_CLOSE_COLS][OLR_CELL];
        olr_h_thead(f, OLR_POST_CLOSE_SPEC);
        json_array_foreach(r->post_close, i, o)
        {
            if (i == 20)
                break;
            olr_post_close_cells(r, o, c);
            cells_row(f, "<tr>", "000011", (const char *)c, sizeof c[0]);
        }
        fputs("</table>\n", f);
    }
    olr_h_para(f, "Contractor invoices to chase (received in %s to %s or for a period in it): %zu", r->prev4, r->week,
               json_array_size(r->contractors));
    if (json_array_size(r->contractors)) {
        char c[OLR_CONTRACTOR_COLS][OLR_CELL];
        olr_h_thead(f, OLR_CONTRACTOR_SPEC);
        json_array_foreach(r->contractors, i, o)
        {
            olr_contractor_cells(r, o, 1, c);
            cells_row(f, "<tr>", "00020111", (const char *)c, sizeof c[0]);
        }
        fputs("</table>\n", f);
    }
}

static void delivery(FILE *f, const struct ol_report *r)
{
    char buf[1024], eng[512];
    size_t i, j;
    json_t *o, *x;
    fputs("<h2 id=\"delivery\">3. Delivery status</h2>\n", f);
    fprintf(f, "<p class=\"big\" id=\"rag-counts\">%d RED, %d AMBER, %d GREEN</p>\n", r->rag[2], r->rag[1], r->rag[0]);
    olr_h_rag(f, r);
    olr_h_thead(f, "RAG|engagement|client|last week|why");
    json_array_foreach(r->status, i, o)
    {
        const char *rag = olr_str(o, "rag");
        if (!strcmp(rag, "GREEN"))
            continue;
        json_t *prev = json_object_get(o, "previous_rag"), *why = json_array();
        fprintf(f, "<tr class=\"%s\">", !strcmp(rag, "RED") ? "red" : "amber");
        olr_h_td(f, 0, rag);
        olr_h_td(f, 0, olr_engagement(r, olr_str(o, "engagement_id"), olr_str(o, "engagement_name"), eng, sizeof eng));
        olr_h_td(f, 0, olr_str(o, "client"));
        olr_h_td(f, 0, json_is_string(prev) ? json_string_value(prev) : "-");
        json_array_foreach(json_object_get(o, "reasons"), j, x)
            json_array_append_new(why, json_string(olr_reason(r, o, json_string_value(x), buf, sizeof buf)));
        olr_h_td_lines(f, why);
        json_decref(why);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
    olr_h_para(f, "Top open risks of the RED and AMBER engagements (at most 3 each):");
    olr_h_thead(f, "engagement|risk|severity|category|summary|owner");
    json_array_foreach(r->status, i, o)
    {
        if (!strcmp(olr_str(o, "rag"), "GREEN"))
            continue;
        json_array_foreach(json_object_get(o, "open_risks"), j, x)
        {
            if (j == 3)
                break;
            fputs("<tr>", f);
            olr_h_td(f, 0, olr_str(o, "engagement_id"));
            olr_h_td(f, 0, olr_str(x, "risk_id"));
            olr_h_td(f, 0, olr_str(x, "severity"));
            olr_h_td(f, 0, olr_str(x, "category"));
            olr_h_td(f, 0, olr_str(x, "summary"));
            olr_h_td(f, 0, olr_str(x, "owner"));
            fputs("</tr>\n", f);
        }
    }
    fputs("</table>\n", f);
    olr_h_para(f, "Risks opened, closed or mitigated this week:");
    olr_h_thead(f, "risk|engagement|change");
    json_array_foreach(r->status, i, o)
    {
        olr_engagement(r, olr_str(o, "engagement_id"), olr_str(o, "engagement_name"), eng, sizeof eng);
        for (int pass = 0; pass < 2; pass++)
            json_array_foreach(json_object_get(o, pass ? "risks_closed" : "risks_opened"), j, x)
            {
                fputs("<tr>", f);
                olr_h_td(f, 0, json_string_value(x));
                olr_h_td(f, 0, eng);
                olr_h_td(f, 0, pass ? "closed or mitigated" : "opened");
                fputs("</tr>\n", f);
            }
    }
    fputs("</table>\n", f);
    olr_h_para(f, "Delivery managers: open roles against bench supply, %s to %s:", r->week, r->last4);
    olr_h_thead(f, OLR_DM_DEMAND_SPEC);
    json_array_foreach(r->dm, i, o)
    {
        char c[OLR_DM_DEMAND_COLS][OLR_WIDE_CELL];
        olr_dm_demand_cells(r, o, c);
        cells_row(f, olr_int(o, "gap_minutes") > 0 ? "<tr class=\"red\">" : "<tr>", "01110", (const char *)c,
                  sizeof c[0]);
    }
    fputs("</table>\n", f);
}

static void outlook(FILE *f, const struct ol_report *r)
{
    size_t i, j;
    json_t *o, *g;
    fputs("<h2>4. Budgets running out</h2>\n", f);
    if (!json_array_size(r->budgets))
        olr_h_para(f, "No engagement's budget runs out before it ends.");
    else {
        char c[OLR_BUDGET_COLS][OLR_CELL];
        olr_h_thead(f, OLR_BUDGET_SPEC);
        json_array_foreach(r->budgets, i, o)
        {
            olr_budget_cells(r, o, c);
            cells_row(f, "<tr>", "02111", (const char *)c, sizeof c[0]);
        }
        fputs("</table>\n", f);
    }
    fputs("<h2>5. Roll-offs in the next 4 weeks</h2>\n", f);
    if (!json_array_size(r->rolloffs))
        olr_h_para(f, "None published for %s.", r->week);
    else {
        char c[OLR_ROLLOFF_COLS][OLR_WIDE_CELL];
        olr_h_thead(f, OLR_ROLLOFF_SPEC);
        json_array_foreach(r->rolloffs, i, o)
        {
            olr_rolloff_cells(r, o, c);
            cells_row(f, "<tr>", "010", (const char *)c, sizeof c[0]);
        }
        fputs("</table>\n", f);
    }
    fputs("<h2>6. Live-service cover gaps, ", f);
    olr_h_esc(f, r->next_week);
    fputs("</h2>\n", f);
    if (!json_array_size(r->cover)) {
        olr_h_para(f, "No gap in %s.", r->next_week);
        return;
    }
    olr_h_thead(f, "service|day|>no primary|>primary on leave|>double booked|what");
    json_array_foreach(r->cover, i, o)
    {
        char u[48], l[48], d[48], line[512];
        json_t *what = json_array();
        ol_fmt_hm(u, sizeof u, olr_int(o, "uncovered_minutes"));
        ol_fmt_hm(l, sizeof l, olr_int(o, "primary_on_leave_minutes"));
        ol_fmt_hm(d, sizeof d, olr_int(o, "double_booked_minutes"));
        json_array_foreach(json_object_get(o, "gaps"), j, g)
            json_array_append_new(what, json_string(olr_gap(r, g, line, sizeof line)));
        json_array_foreach(json_object_get(o, "shifts_on_leave"), j, g)
            json_array_append_new(what, json_string(olr_shift_on_leave(r, json_string_value(g), line, sizeof line)));
        fputs("<tr>", f);
        olr_h_td(f, 0, olr_str(o, "service_id"));
        olr_h_td(f, 2, olr_str(o, "day"));
        olr_h_td(f, 1, u);
        olr_h_td(f, 1, l);
        olr_h_td(f, 1, d);
        olr_h_td_lines(f, what);
        json_decref(what);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
}

/* 7 and 8: delivery managers and attrition, margin and contractor invoices
 * (the words and cells of ol_report_people.c, as in the text form) */
void olr_people_html(FILE *f, const struct ol_report *r)
{
    char c[OLR_THREE_WAY_COLS][OLR_CELL], buf[1024], last[9];
    size_t i;
    json_t *o;
    ol_week w;
    fputs("<h2>7. Delivery managers: supply against demand, and attrition</h2>\n", f);
    olr_h_para(f, "%s", olr_hc_sentence(r, buf, sizeof buf));
    snprintf(last, sizeof last, "%s", r->week);
    if (!ol_week_parse(r->week, &w))
        ol_week_format(ol_week_add(w, 11), last);
    if (!json_array_size(r->dm_headcount))
        olr_h_para(f, "No delivery-manager headcount published for %s to %s.", r->week, last);
    else {
        olr_h_para(f,
                   "Delivery managers' FTE supply (employed, less booked leave) against the FTE that confirmed and "
                   "open allocations demand, %s to %s; the target is slightly ahead of demand:",
                   r->week, last);
        olr_h_thead(f, OLR_DM_HC_SPEC);
        json_array_foreach(r->dm_headcount, i, o)
        {
            json_t *ratio = json_object_get(o, "dm_ratio_bp");
            olr_dm_hc_cells(o, c);
            fputs(json_is_integer(ratio) && json_integer_value(ratio) < 10000 ? "<tr class=\"red\">" : "<tr>", f);
            olr_h_td(f, 2, c[0]);
            for (int k = 1; k < 6; k++)
                olr_h_td(f, 1, c[k]);
            olr_h_td(f, 0, c[6]);
            fputs("</tr>\n", f);
        }
        fputs("</table>\n", f);
    }
    fputs("<h2>8. Lowest margins and contractor invoices matched three ways</h2>\n", f);
    olr_h_para(f, "%s", olr_margin_intro(r, buf, sizeof buf));
    if (json_array_size(r->low_margin)) {
        olr_h_thead(f, OLR_MARGIN_SPEC);
        json_array_foreach(r->low_margin, i, o)
        {
            olr_margin_cells(r, o, c);
            fputs(olr_int(o, "margin_minor") < 0 ? "<tr class=\"red\">" : "<tr>", f);
            olr_h_td(f, 0, c[0]);
            for (int k = 1; k < OLR_MARGIN_COLS; k++)
                olr_h_td(f, 1, c[k]);
            fputs("</tr>\n", f);
        }
        fputs("</table>\n", f);
    }
    olr_h_para(f, "%s", olr_cost_only(r, buf, sizeof buf));
    olr_h_para(f, "%s", olr_three_way_intro(r, buf, sizeof buf));
    if (json_array_size(r->three_way)) {
        olr_h_thead(f, OLR_THREE_WAY_SPEC);
        json_array_foreach(r->three_way, i, o)
        {
            olr_three_way_cells(r, o, c);
            fputs("<tr>", f);
            for (int k = 0; k < 3; k++)
                olr_h_td(f, 0, c[k]);
            olr_h_td(f, 2, c[3]);
            for (int k = 4; k < OLR_THREE_WAY_COLS; k++)
                olr_h_td(f, 1, c[k]);
            fputs("</tr>\n", f);
        }
        fputs("</table>\n", f);
    }
}

int olr_h_sections(FILE *f, const struct ol_report *r)
{
    utilisation(f, r);
    billing(f, r);
    delivery(f, r);
    outlook(f, r);
    olr_people_html(f, r);
    fputs("</body></html>\n", f);
    return 0;
}
