/* ol_report_text — the weekly report as plain text (aligned columns) or as
 * Markdown (headings and pipe tables); the same sections, figures and words
 * as the HTML page. Figures in the people forms of ol_format (37h15,
 * GBP 1,234.56, 84.36%): no floating point, no raw basis points or minutes.
 * Every string from the data goes through ol_escape: table cells in
 * ol_table_row, the rest through E(). */
#include "ol_escape.h"
#include "ol_format.h"
#include "ol_report_int.h"
#include "ol_table.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* the strings escaped for this report's format, alive until olr_text
 * returns; per thread, so that a server may render pages concurrently */
static _Thread_local ol_esc_arena g_esc = OL_ESC_ARENA_INIT;
static _Thread_local int g_failed;

static const char *E(int md, const char *s) { return ol_esc_a(&g_esc, md ? OL_ESC_MD : OL_ESC_TEXT, s); }

static void print_tbl(FILE *f, struct ol_table *t)
{
    g_failed |= t->failed;
    ol_table_print(f, t);
}

static void heading(FILE *f, int md, const char *text)
{
    if (md)
        fprintf(f, "\n## %s\n\n", text);
    else
        fprintf(f, "\n%s\n", text);
}

/* a sentence of raw text from the data and figures: escaped as a whole */
static void para(FILE *f, int md, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(f, md ? "%s\n\n" : "  %s\n", E(md, buf));
}

static void utilisation(FILE *f, const struct ol_report *r, int md)
{
    const struct olr_util *u = &r->trend[OLR_TREND - 1], *p = &r->trend[OLR_TREND - 2];
    char t[48], line[1024], c[OLR_TREND_COLS][OLR_CELL];
    ol_fmt_bp(t, sizeof t, 1, u->present ? u->target : p->target);
    snprintf(line, sizeof line, "1. Utilisation against the %s target (billable people)", t);
    heading(f, md, line);
    size_t at, len;
    para(f, md, "%s", olr_org_sentence(r, line, sizeof line, &at, &len));
    struct ol_table tb;
    ol_table_init(&tb, md, OLR_TREND_SPEC);
    for (int i = 0; i < OLR_TREND; i++) {
        olr_trend_cells(r, i, c);
        ol_table_row(&tb, c[0], c[1], c[2], c[3], c[4], c[5]);
    }
    para(f, md, "The last %d weeks:", OLR_TREND);
    print_tbl(f, &tb);
    if (md)
        fputs("\n", f);
    size_t n = json_array_size(r->teams);
    para(f, md, "Teams below target in %s%s: %zu", r->judged, r->week_ended ? "" : " (the last week that has ended)",
         n);
    if (n) {
        ol_table_init(&tb, md, OLR_TEAM_SPEC);
        size_t i;
        json_t *o;
        json_array_foreach(r->teams, i, o)
        {
            olr_team_cells(o, c);
            ol_table_row(&tb, c[0], c[1], c[2], c[3], c[4]);
        }
        print_tbl(f, &tb);
        if (md)
            fputs("\n", f);
    }
    if (*olr_invested_sentence(r, line, sizeof line))
        para(f, md, "%s", line);
    para(f, md, "%s", olr_missing_sentence(r, line, sizeof line));
    if (json_array_size(r->missing_rows)) {
        ol_table_init(&tb, md, OLR_MISSING_SPEC);
        size_t i;
        json_t *o;
        json_array_foreach(r->missing_rows, i, o)
        {
            if (i == 5) {
                char more[64];
                snprintf(more, sizeof more, "(%zu more)", json_array_size(r->missing_rows) - 5);
                ol_table_row(&tb, more, "", "", "");
                break;
            }
            olr_missing_cells(r, o, c);
            ol_table_row(&tb, c[0], c[1], c[2], c[3]);
        }
        print_tbl(f, &tb);
    }
}

static void billing(FILE *f, const struct ol_report *r, int md)
{
    char who[512];
    struct ol_table tb;
    heading(f, md, "2. Billing");
    if (olr_unavailable(r, "billing")) { /* withheld or unreadable: no figure, not zeros */
        para(f, md, "Not available: %s.", olr_unavailable(r, "billing"));
        return;
    }
    para(f, md,
         "Billable in %s..%s per client (and bill-to where it differs), in each currency; time submitted but not "
         "approved is pending and not charged:",
         r->prev4, r->week);
    if (!r->nmoney)
        para(f, md, "none");
    else {
        char c[OLR_BILLING_COLS][OLR_CELL];
        ol_table_init(&tb, md, OLR_BILLING_SPEC);
        for (int i = 0; i < r->nmoney; i++) {
            const struct olr_money_total *t = olr_billing_cells(r, i, c);
            ol_table_row(&tb, c[0], c[1], c[2], c[3], c[4], c[5]);
            if (t) {
                olr_billing_total_cells(t, c);
                ol_table_row(&tb, c[0], c[1], c[2], c[3], c[4], c[5]);
            }
        }
        print_tbl(f, &tb);
        if (md)
            fputs("\n", f);
    }
    if (*olr_billing_note(r, who, sizeof who))
        para(f, md, "%s", who);
    para(f, md, "Post-close adjustments (lines of weeks finance had closed that changed afterwards), largest first: %zu",
         json_array_size(r->post_close));
    if (json_array_size(r->post_close)) {
        char c[OLR_POST_CLOSE_COLS][OLR_CELL];
        ol_table_init(&tb, md, OLR_POST_CLOSE_SPEC);
        size_t i;
        json_t *o;
        json_array_foreach(r->post_close, i, o)
        {
            if (i == 10) {
                char more[64];
                snprintf(more, sizeof more, "(%zu more)", json_array_size(r->post_close) - 10);
                ol_table_row(&tb, more, "", "", "", "", "");
                break;
            }
            olr_post_close_cells(r, o, c);
            ol_table_row(&tb, c[0], c[1], c[2], c[3], c[4], c[5]);
        }
        print_tbl(f, &tb);
        if (md)
            fputs("\n", f);
    }
    para(f, md, "Contractor invoices to chase (received in %s..%s or for a period in it): %zu", r->prev4, r->week,
         json_array_size(r->contractors));
    if (json_array_size(r->contractors)) {
        char c[OLR_CONTRACTOR_COLS][OLR_CELL];
        ol_table_init(&tb, md, OLR_CONTRACTOR_SPEC);
        size_t i;
        json_t *o;
        json_array_foreach(r->contractors, i, o)
        {
            olr_contractor_cells(r, o, 0, c);
            ol_table_row(&tb, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]);
        }
        print_tbl(f, &tb);
    }
}

static void delivery(FILE *f, const struct ol_report *r, int md)
{
    char buf[1024], eng[512];
    struct ol_table tb;
    heading(f, md, "3. Delivery status");
    para(f, md, "%d RED, %d AMBER, %d GREEN active engagements in %s.", r->rag[2], r->rag[1], r->rag[0], r->week);
    size_t i;
    json_t *o;
    json_array_foreach(r->status, i, o)
    {
        const char *rag = olr_str(o, "rag");
        if (!strcmp(rag, "GREEN"))
            continue;
        json_t *prev = json_object_get(o, "previous_rag");
        char was[64] = "";
        if (json_is_string(prev))
            snprintf(was, sizeof was, strcmp(json_string_value(prev), rag) ? " (was %s last week)" : " (also last week)",
                     json_string_value(prev));
        olr_engagement(r, olr_str(o, "engagement_id"), olr_str(o, "engagement_name"), eng, sizeof eng);
        snprintf(buf, sizeof buf, "%s, %s%s", eng, olr_str(o, "client"), was);
        if (md)
            fprintf(f, "- **%s** %s\n", E(md, rag), E(md, buf));
        else
            fprintf(f, "\n  %-5s %s\n", E(md, rag), E(md, buf));
        size_t j;
        json_t *x;
        json_array_foreach(json_object_get(o, "reasons"), j, x)
        {
            olr_reason(r, o, json_string_value(x), buf, sizeof buf);
            fprintf(f, md ? "  - why: %s\n" : "        why: %s\n", E(md, buf));
        }
    }
    /* the top risks of RED and AMBER engagements, one table with headings */
    ol_table_init(&tb, md, "engagement|risk|severity|category|summary|owner");
    json_array_foreach(r->status, i, o)
    {
        if (!strcmp(olr_str(o, "rag"), "GREEN"))
            continue;
        size_t j;
        json_t *k;
        json_array_foreach(json_object_get(o, "open_risks"), j, k)
        {
            if (j == 3)
                break;
            ol_table_row(&tb, olr_str(o, "engagement_id"), olr_str(k, "risk_id"), olr_str(k, "severity"),
                        olr_str(k, "category"), olr_str(k, "summary"), olr_str(k, "owner"));
        }
    }
    fputs("\n", f);
    para(f, md, "Top open risks of the RED and AMBER engagements (at most 3 each): %d", tb.nrow);
    if (tb.nrow)
        print_tbl(f, &tb);
    else
        ol_table_free(&tb);
    if (md)
        fputs("\n", f);
    int opened = 0, closed = 0;
    ol_table_init(&tb, md, "risk|engagement|change");
    json_array_foreach(r->status, i, o)
    {
        size_t j;
        json_t *x;
        olr_engagement(r, olr_str(o, "engagement_id"), olr_str(o, "engagement_name"), eng, sizeof eng);
        json_array_foreach(json_object_get(o, "risks_opened"), j, x)
        {
            ol_table_row(&tb, json_string_value(x), eng, "opened");
            opened++;
        }
        json_array_foreach(json_object_get(o, "risks_closed"), j, x)
        {
            ol_table_row(&tb, json_string_value(x), eng, "closed or mitigated");
            closed++;
        }
    }
    para(f, md, "Risks opened this week: %d; closed or mitigated: %d", opened, closed);
    if (opened + closed)
        print_tbl(f, &tb);
    else
        ol_table_free(&tb);
    if (md)
        fputs("\n", f);
    para(f, md, "Delivery managers: open roles against bench supply, %s..%s", r->week, r->last4);
    if (!json_array_size(r->dm))
        para(f, md, "No delivery-manager forecast published.");
    else {
        char c[OLR_DM_DEMAND_COLS][OLR_WIDE_CELL];
        ol_table_init(&tb, md, OLR_DM_DEMAND_SPEC);
        json_array_foreach(r->dm, i, o)
        {
            olr_dm_demand_cells(r, o, c);
            ol_table_row(&tb, c[0], c[1], c[2], c[3], c[4]);
        }
        print_tbl(f, &tb);
    }
}

static void outlook(FILE *f, const struct ol_report *r, int md)
{
    struct ol_table tb;
    size_t i;
    json_t *o;
    heading(f, md, "4. Budgets running out (forecast)");
    if (!json_array_size(r->budgets))
        para(f, md, "No engagement's budget runs out before it ends.");
    else {
        char c[OLR_BUDGET_COLS][OLR_CELL];
        ol_table_init(&tb, md, OLR_BUDGET_SPEC);
        json_array_foreach(r->budgets, i, o)
        {
            olr_budget_cells(r, o, c);
            ol_table_row(&tb, c[0], c[1], c[2], c[3], c[4]);
        }
        print_tbl(f, &tb);
    }
    heading(f, md, "5. Roll-offs in the next 4 weeks");
    if (!json_array_size(r->rolloffs))
        para(f, md, "None published for %s.", r->week);
    else {
        char c[OLR_ROLLOFF_COLS][OLR_WIDE_CELL];
        ol_table_init(&tb, md, OLR_ROLLOFF_SPEC);
        json_array_foreach(r->rolloffs, i, o)
        {
            olr_rolloff_cells(r, o, c);
            ol_table_row(&tb, c[0], c[1], c[2]);
        }
        print_tbl(f, &tb);
    }
    heading(f, md, "6. Live-service cover gaps next week");
    if (!json_array_size(r->cover))
        para(f, md, "No gap in %s.", r->next_week);
    else {
        ol_table_init(&tb, md, "service|day|>no primary|>primary on leave|>double booked|what");
        json_array_foreach(r->cover, i, o)
        {
            char u[48], l[48], d[48], what[2048] = "", one[512];
            size_t j, used = 0;
            json_t *g;
            ol_fmt_hm(u, sizeof u, olr_int(o, "uncovered_minutes"));
            ol_fmt_hm(l, sizeof l, olr_int(o, "primary_on_leave_minutes"));
            ol_fmt_hm(d, sizeof d, olr_int(o, "double_booked_minutes"));
            for (int pass = 0; pass < 2; pass++)
                json_array_foreach(json_object_get(o, pass ? "shifts_on_leave" : "gaps"), j, g)
                {
                    if (pass)
                        olr_shift_on_leave(r, json_string_value(g), one, sizeof one);
                    else
                        olr_gap(r, g, one, sizeof one);
                    int k = snprintf(what + used, sizeof what - used, "%s%s", used ? "\x1f" : "", one);
                    if (k < 0 || (size_t)k >= sizeof what - used)
                        break;
                    used += (size_t)k;
                }
            ol_table_row(&tb, olr_str(o, "service_id"), olr_str(o, "day"), u, l, d, what);
        }
        print_tbl(f, &tb);
    }
}

/* 7 and 8: delivery managers and attrition (Head of Delivery), margin and
 * contractor invoices (Operations Manager); the words and cells are
 * ol_report_people.c's, the same as the HTML page's */
void olr_people_text(FILE *f, const struct ol_report *r, int md)
{
    char c[OLR_THREE_WAY_COLS][OLR_CELL];
    char buf[1024], last[9];
    struct ol_table tb;
    size_t i;
    json_t *o;
    heading(f, md, "7. Delivery managers: supply against demand, and attrition");
    para(f, md, "%s", olr_hc_sentence(r, buf, sizeof buf));
    ol_week w;
    snprintf(last, sizeof last, "%s", r->week);
    if (!ol_week_parse(r->week, &w))
        ol_week_format(ol_week_add(w, 11), last);
    if (!json_array_size(r->dm_headcount))
        para(f, md, "No delivery-manager headcount published for %s..%s.", r->week, last);
    else {
        para(f, md,
             "Delivery managers' FTE supply (employed, less booked leave) against the FTE that confirmed and open "
             "allocations demand, %s..%s; the target is slightly ahead of demand:",
             r->week, last);
        ol_table_init(&tb, md, OLR_DM_HC_SPEC);
        json_array_foreach(r->dm_headcount, i, o)
        {
            olr_dm_hc_cells(o, c);
            ol_table_row(&tb, c[0], c[1], c[2], c[3], c[4], c[5], c[6]);
        }
        print_tbl(f, &tb);
    }
    heading(f, md, "8. Lowest margins and contractor invoices matched three ways");
    para(f, md, "%s", olr_margin_intro(r, buf, sizeof buf));
    if (json_array_size(r->low_margin)) {
        ol_table_init(&tb, md, OLR_MARGIN_SPEC);
        json_array_foreach(r->low_margin, i, o)
        {
            olr_margin_cells(r, o, c);
            ol_table_row(&tb, c[0], c[1], c[2], c[3], c[4]);
        }
        print_tbl(f, &tb);
        if (md)
            fputs("\n", f);
    }
    para(f, md, "%s", olr_cost_only(r, buf, sizeof buf));
    para(f, md, "%s", olr_three_way_intro(r, buf, sizeof buf));
    if (json_array_size(r->three_way)) {
        ol_table_init(&tb, md, OLR_THREE_WAY_SPEC);
        json_array_foreach(r->three_way, i, o)
        {
            olr_three_way_cells(r, o, c);
            ol_table_row(&tb, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]);
        }
        print_tbl(f, &tb);
    }
}

int olr_text(FILE *f, const struct ol_report *r, int md)
{
    char buf[512];
    g_failed = 0;
    if (md)
        fprintf(f, "# Weekly delivery and operations report, %s\n\n", r->week);
    else
        fprintf(f, "WEEKLY DELIVERY AND OPERATIONS REPORT %s\n", r->week);
    para(f, md, "%s", olr_as_of(r, buf, sizeof buf));
    for (int i = 0; i < r->nmissing; i++)
        para(f, md, "Not available: %s (%s)", r->missing[i], r->errors[i]);
    utilisation(f, r, md);
    billing(f, r, md);
    delivery(f, r, md);
    outlook(f, r, md);
    olr_people_text(f, r, md);
    ol_esc_arena_reset(&g_esc);
    int failed = g_esc.failed || g_failed;
    g_esc.failed = 0; /* the next page starts clean */
    return failed ? -1 : 0;
}
