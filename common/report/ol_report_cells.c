/* ol_report_cells — the cells of one row of the weekly report's tables
 * (utilisation trend, teams below target, missing timesheets, post-close
 * adjustments, contractor invoices to chase, delivery managers' demand,
 * budgets, roll-offs), computed
 * once for the text, Markdown and HTML forms, so that the three cannot
 * drift apart (billing's are olr_billing_cells in ol_report_words.c,
 * sections 7 and 8's in ol_report_people.c). Each writes raw text (the
 * renderer escapes it for its format) in the people forms of ol_format. */
#include "ol_format.h"
#include "ol_report_int.h"

#include <stdio.h>
#include <string.h>

void olr_trend_cells(const struct ol_report *r, int i, char c[OLR_TREND_COLS][OLR_CELL])
{
    const struct olr_util *x = &r->trend[i], *y = i ? &r->trend[i - 1] : NULL;
    int has = x->present && x->has_bp;
    snprintf(c[0], OLR_CELL, "%s", x->week);
    ol_fmt_bp(c[1], OLR_CELL, has, x->bp);
    if (has && y && y->present && y->has_bp)
        ol_fmt_pts(c[2], OLR_CELL, (int64_t)x->bp - y->bp);
    else
        snprintf(c[2], OLR_CELL, "-");
    if (x->present) {
        ol_fmt_hm(c[3], OLR_CELL, x->billable);
        ol_fmt_hm(c[4], OLR_CELL, x->available);
    } else {
        snprintf(c[3], OLR_CELL, "-");
        snprintf(c[4], OLR_CELL, "-");
    }
    snprintf(c[5], OLR_CELL, "%s", olr_week_verdict(r, i));
}

void olr_team_cells(json_t *o, char c[OLR_TEAM_COLS][OLR_CELL])
{
    json_t *bp = json_object_get(o, "utilisation_bp");
    snprintf(c[0], OLR_CELL, "%s", olr_str(o, "scope_id"));
    ol_fmt_bp(c[1], OLR_CELL, json_is_integer(bp), (int32_t)json_integer_value(bp));
    ol_fmt_hm(c[2], OLR_CELL, olr_int(o, "billable_minutes"));
    ol_fmt_hm(c[3], OLR_CELL, olr_int(o, "available_minutes"));
    snprintf(c[4], OLR_CELL, "%lld", olr_int(o, "people"));
}

void olr_missing_cells(const struct ol_report *r, json_t *o, char c[OLR_MISSING_COLS][OLR_CELL])
{
    olr_person(r, olr_str(o, "person_id"), c[0], OLR_CELL);
    snprintf(c[1], OLR_CELL, "%s", olr_str(o, "team"));
    ol_fmt_hm(c[2], OLR_CELL, olr_int(o, "missing_minutes"));
    ol_fmt_hm(c[3], OLR_CELL, olr_int(o, "available_minutes"));
}

void olr_post_close_cells(const struct ol_report *r, json_t *o, char c[OLR_POST_CLOSE_COLS][OLR_CELL])
{
    const char *cur = olr_str(o, "currency"), *pid = olr_str(o, "person_id");
    snprintf(c[0], OLR_CELL, "%s", olr_str(o, "week"));
    snprintf(c[1], OLR_CELL, "%s", olr_str(o, "client"));
    olr_engagement(r, olr_str(o, "engagement_id"), NULL, c[2], OLR_CELL);
    if (*pid)
        olr_person(r, pid, c[3], OLR_CELL);
    else
        snprintf(c[3], OLR_CELL, "expense %s", olr_str(o, "expense_id"));
    ol_fmt_amount(c[4], OLR_CELL, olr_int(o, "amount_minor"), cur);
    ol_fmt_amount(c[5], OLR_CELL, olr_int(o, "delta_minor"), cur);
}

void olr_contractor_cells(const struct ol_report *r, json_t *o, int full_period,
                          char c[OLR_CONTRACTOR_COLS][OLR_CELL])
{
    const char *cur = olr_str(o, "currency"), *last = olr_str(o, "period_last_day");
    long long ex = olr_int(o, "amount_expected_minor"), in = olr_int(o, "amount_invoiced_minor");
    snprintf(c[0], OLR_CELL, "%s", olr_str(o, "invoice_id"));
    olr_person(r, olr_str(o, "person_id"), c[1], OLR_CELL);
    snprintf(c[2], OLR_CELL, "%s", olr_str(o, "supplier"));
    if (full_period)
        snprintf(c[3], OLR_CELL, "%s to %s", olr_str(o, "period_first_day"), last);
    else /* 2026-10-01..10-31 */
        snprintf(c[3], OLR_CELL, "%s..%s", olr_str(o, "period_first_day"), strlen(last) > 5 ? last + 5 : "");
    snprintf(c[4], OLR_CELL, "%s", olr_recon_status(olr_str(o, "status")));
    ol_fmt_amount(c[5], OLR_CELL, ex, cur);
    ol_fmt_amount(c[6], OLR_CELL, in, cur);
    ol_fmt_amount(c[7], OLR_CELL, in - ex, cur);
}

void olr_dm_demand_cells(const struct ol_report *r, json_t *o, char c[OLR_DM_DEMAND_COLS][OLR_WIDE_CELL])
{
    snprintf(c[0], OLR_WIDE_CELL, "%s", olr_str(o, "week"));
    ol_fmt_hm(c[1], OLR_WIDE_CELL, olr_int(o, "open_role_minutes"));
    ol_fmt_hm(c[2], OLR_WIDE_CELL, olr_int(o, "bench_supply_minutes"));
    olr_dm_balance(o, c[3], OLR_WIDE_CELL);
    olr_people(r, json_object_get(o, "rolling_off_people"), 4, c[4], OLR_WIDE_CELL);
}

void olr_budget_cells(const struct ol_report *r, json_t *o, char c[OLR_BUDGET_COLS][OLR_CELL])
{
    olr_engagement(r, olr_str(o, "engagement_id"), NULL, c[0], OLR_CELL);
    snprintf(c[1], OLR_CELL, "%s", olr_str(o, "budget_runs_out_week"));
    olr_money(c[2], OLR_CELL, o, "spent_to_date_minor");
    olr_money(c[3], OLR_CELL, o, "estimate_at_completion_minor");
    olr_money(c[4], OLR_CELL, o, "budget_minor");
}

void olr_rolloff_cells(const struct ol_report *r, json_t *o, char c[OLR_ROLLOFF_COLS][OLR_WIDE_CELL])
{
    snprintf(c[0], OLR_WIDE_CELL, "%s", olr_str(o, "role"));
    snprintf(c[1], OLR_WIDE_CELL, "%lld", olr_int(o, "roll_offs_next_4_weeks"));
    olr_people(r, json_object_get(o, "rolling_off_people"), 8, c[2], OLR_WIDE_CELL);
}
