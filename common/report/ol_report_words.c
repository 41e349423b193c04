/* ol_report_words — the weekly report in words a person reads without a
 * decoder ring: names beside ids (the source's name callback), delivery
 * status reasons and reconciliation statuses as sentences, cover gaps with
 * who is on leave or double-booked, the "data as of" line. The text,
 * Markdown and HTML forms all take their wording from here, so the three
 * say the same thing. Every function writes raw text (the renderer escapes
 * it for its format) into the caller's buffer and returns it; the figures
 * use the people forms of ol_format (37h15, GBP 1,234.56, 84.36%). */
#include "ol_format.h"
#include "ol_report_int.h"
#include "ol_time.h"

#include <stdlib.h>
#include <string.h>

static const char *lookup(const struct ol_report *r, const char *topic, const char *id, const char *field)
{
    if (!r->src.name || !id || !*id)
        return NULL;
    const char *v = r->src.name(r->src.ctx, topic, id, field);
    return v && *v ? v : NULL;
}

const char *olr_person(const struct ol_report *r, const char *id, char *buf, size_t n)
{
    const char *name = lookup(r, "hr.person", id, "name");
    if (name)
        snprintf(buf, n, "%s (%s)", name, id);
    else
        snprintf(buf, n, "%s", id ? id : "");
    return buf;
}

const char *olr_engagement(const struct ol_report *r, const char *id, const char *name, char *buf, size_t n)
{
    if (!name || !*name)
        name = lookup(r, "delivery.engagement", id, "name");
    if (name)
        snprintf(buf, n, "%s %s", id, name);
    else
        snprintf(buf, n, "%s", id ? id : "");
    return buf;
}

/* the open risk of a status event with this id: "severity category: summary (owner)" */
static const char *risk_words(json_t *status, const char *risk, char *buf, size_t n)
{
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(status, "open_risks"), i, k) if (!strcmp(olr_str(k, "risk_id"), risk))
    {
        snprintf(buf, n, ": %s", olr_str(k, "summary"));
        return buf;
    }
    buf[0] = '\0';
    return buf;
}

/* "11741bp" -> "117.41%" */
static void bp_words(const char *s, char *buf, size_t n)
{
    char *end;
    long long bp = strtoll(s, &end, 10);
    if (end == s || strcmp(end, "bp"))
        snprintf(buf, n, "%s", s);
    else
        ol_fmt_pct(buf, n, bp, 10000);
}

const char *olr_reason(const struct ol_report *r, json_t *status, const char *reason, char *buf, size_t n)
{
    char code[40] = "", a[160] = "", b[160] = "", c[160] = "", d[160] = "", e[160] = "", x[200], y[64], z[64];
    /* the codes and their arguments as assurance writes them (services/assurance/status.c) */
    if (sscanf(reason, "%39s %159s %159s %159s %159s %159s", code, a, b, c, d, e) < 1) {
        snprintf(buf, n, "%s", reason);
        return buf;
    }
    if (!strcmp(code, "CRITICAL_RISK") || !strcmp(code, "HIGH_RISK")) {
        snprintf(buf, n, "%s risk %s is open%s", code[0] == 'C' ? "a critical" : "a high", a,
                 risk_words(status, a, x, sizeof x));
    } else if (!strcmp(code, "SPEND_OVER_BUDGET")) {
        bp_words(a, y, sizeof y);
        snprintf(buf, n, "spent to date is %s of the budget", y);
    } else if (!strcmp(code, "EAC_OVER_BUDGET")) {
        bp_words(a, y, sizeof y);
        snprintf(buf, n, "the estimate at completion is %s of the budget", y);
    } else if (!strcmp(code, "BURN_AHEAD") && !strcmp(a, "burn") && !strcmp(c, "elapsed")) {
        bp_words(b, y, sizeof y);
        bp_words(d, z, sizeof z);
        snprintf(buf, n, "%s of the budget is spent with %s of the time elapsed", y, z);
    } else if (!strcmp(code, "MISSING_TIMESHEETS")) {
        char *end;
        long long m = strtoll(b, &end, 10);
        if (end != b && !strcmp(end, "min"))
            ol_fmt_hm(y, sizeof y, m);
        else
            snprintf(y, sizeof y, "%.63s", b);
        snprintf(buf, n, "%s has %s of %s not logged", olr_person(r, a, x, sizeof x), y, c);
    } else if (!strcmp(code, "OPEN_ROLE")) {
        /* OPEN_ROLE <allocation> <ROLE> <STATUS> from <date> */
        for (char *p = b; *p; p++)
            *p = *p == '_' ? ' ' : (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
        for (char *p = c; *p; p++)
            *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
        snprintf(buf, n, "a %s %s role has nobody from %s (allocation %s)", c, b, !strcmp(d, "from") && e[0] ? e : "now",
                 a);
    } else
        snprintf(buf, n, "%s", reason);
    return buf;
}

const char *olr_recon_status(const char *status)
{
    static const char *const words[][2] = {
        {"OVER_INVOICED", "invoiced more than the approved time"},
        {"UNDER_INVOICED", "invoiced less than the approved time"},
        {"RATE_MISMATCH", "rate differs from the agreed day cost"},
        {"OVERLAPPING", "period overlaps another invoice"},
        {"NO_TIMESHEETS", "no approved time in the period"},
        {"WITHDRAWN", "withdrawn"},
        {"MATCHED", "matches the approved time"},
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (!strcmp(words[i][0], status))
            return words[i][1];
    return status;
}

const char *olr_gap(const struct ol_report *r, json_t *gap, char *buf, size_t n)
{
    const char *s = olr_str(gap, "starts_at"), *e = olr_str(gap, "ends_at"), *why = olr_str(gap, "reason");
    char code[40] = "", p[160] = "", svc[160] = "", who[256];
    sscanf(why, "%39s %159s %159s", code, p, svc);
    char span[32];
    snprintf(span, sizeof span, "%.5s-%.5s", strlen(s) > 11 ? s + 11 : s, strlen(e) > 11 ? e + 11 : e);
    if (!strcmp(code, "NO_PRIMARY"))
        snprintf(buf, n, "%s nobody on call as primary", span);
    else if (!strcmp(code, "PRIMARY_ON_LEAVE"))
        snprintf(buf, n, "%s the primary, %s, is on leave", span, olr_person(r, p, who, sizeof who));
    else if (!strcmp(code, "PRIMARY_DOUBLE_BOOKED"))
        snprintf(buf, n, "%s the primary, %s, is also on call for %s", span, olr_person(r, p, who, sizeof who), svc);
    else
        snprintf(buf, n, "%s %s", span, why);
    return buf;
}

const char *olr_shift_on_leave(const struct ol_report *r, const char *s, char *buf, size_t n)
{
    char shift[128] = "", p[160] = "", role[40] = "", who[256];
    if (sscanf(s, "%127s %159s %39s", shift, p, role) < 3) {
        snprintf(buf, n, "%s on leave", s);
        return buf;
    }
    for (char *c = role; *c; c++)
        *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
    snprintf(buf, n, "%s shift %s: %s is on leave", role, shift, olr_person(r, p, who, sizeof who));
    return buf;
}

const char *olr_people(const struct ol_report *r, json_t *ids, size_t max, char *buf, size_t n)
{
    size_t i, used = 0;
    json_t *x;
    char who[256];
    buf[0] = '\0';
    json_array_foreach(ids, i, x)
    {
        int k = i == max ? snprintf(buf + used, n - used, ", (+%zu more)", json_array_size(ids) - max)
                         : snprintf(buf + used, n - used, "%s%s", i ? ", " : "",
                                    olr_person(r, json_string_value(x), who, sizeof who));
        if (k < 0 || (size_t)k >= n - used || i == max)
            break;
        used += (size_t)k;
    }
    return buf;
}

const char *olr_as_of(const struct ol_report *r, char *buf, size_t n)
{
    char t[40], end[11];
    ol_week w;
    if (ol_week_parse(r->week, &w))
        w = 0;
    ol_date_format(ol_week_monday(w) + 6, end);
    if (r->data_time[0])
        snprintf(t, sizeof t, "%.10s %.5s UTC", r->data_time, strlen(r->data_time) > 11 ? r->data_time + 11 : "");
    else
        snprintf(t, sizeof t, "an unknown time");
    const char *closed = r->week_closed == 1   ? "Finance has closed it"
                         : r->week_closed == 0 ? "Finance has not closed it"
                                               : "Finance has no billing line of it yet";
    int k = r->week_ended ? snprintf(buf, n, "Data as of %s. %s has ended (%s). %s", t, r->week, end, closed)
                          : snprintf(buf, n, "Data as of %s. %s is still in progress (it ends %s): its figures are "
                                             "to date. %s", t, r->week, end, closed);
    if (k >= 0 && (size_t)k < n)
        snprintf(buf + k, n - (size_t)k, "%s%s.", r->last_closed[0] && r->week_closed != 1 ? "; the last closed week is " : "",
                 r->week_closed != 1 ? r->last_closed : "");
    return buf;
}

const char *olr_org_sentence(const struct ol_report *r, char *buf, size_t n, size_t *fig_at, size_t *fig_len)
{
    const struct olr_util *u = &r->trend[OLR_TREND - 1], *p = &r->trend[OLR_TREND - 2];
    char a[48], b[48], pc[48], d[48], wow[96] = "", verdict[160];
    *fig_at = *fig_len = 0;
    if (!u->present || !u->has_bp) {
        snprintf(buf, n, "No utilisation published for %s.", r->week);
        return buf;
    }
    ol_fmt_bp(pc, sizeof pc, 1, u->bp);
    ol_fmt_hm(b, sizeof b, u->billable);
    ol_fmt_hm(a, sizeof a, u->available);
    if (p->present && p->has_bp) {
        ol_fmt_pts(d, sizeof d, (int64_t)u->bp - p->bp);
        snprintf(wow, sizeof wow, ", %.40s on %.8s", d, p->week);
    }
    ol_fmt_pts(d, sizeof d, (int64_t)u->bp - u->target);
    if (!r->week_ended)
        snprintf(verdict, sizeof verdict, "the week is still in progress, so it is not judged against the target yet");
    else
        snprintf(verdict, sizeof verdict, "%s target (%s)", u->bp < u->target ? "below" : "on or above", d);
    int k = snprintf(buf, n, "Org utilisation in %s%s: ", r->week, r->week_ended ? "" : " so far");
    if (k < 0 || (size_t)k >= n)
        return buf;
    *fig_at = (size_t)k;
    *fig_len = strlen(pc);
    snprintf(buf + k, n - (size_t)k, "%s (%s billable of %s available)%s; %s.", pc, b, a, wow, verdict);
    return buf;
}

const char *olr_invested_sentence(const struct ol_report *r, char *buf, size_t n)
{
    const struct olr_util *u = &r->trend[OLR_TREND - 1];
    char s[5][48];
    buf[0] = '\0';
    if (!u->present)
        return buf;
    ol_fmt_hm(s[0], sizeof s[0], u->bench);
    ol_fmt_hm(s[1], sizeof s[1], u->training);
    ol_fmt_hm(s[2], sizeof s[2], u->sales);
    ol_fmt_hm(s[3], sizeof s[3], u->internal);
    ol_fmt_hm(s[4], sizeof s[4], u->live);
    snprintf(buf, n,
             "Where the non-billable time of %s%s went: bench (no assignment) %s, training %s, sales support %s, "
             "internal %s, live support %s.",
             r->week, r->week_ended ? "" : " so far", s[0], s[1], s[2], s[3], s[4]);
    return buf;
}

const char *olr_missing_sentence(const struct ol_report *r, char *buf, size_t n)
{
    char a[48];
    ol_fmt_hm(a, sizeof a, r->missing_minutes);
    snprintf(buf, n, "Missing timesheets in %s (the last week that has ended): %lld %s, %s not logged.", r->prev1,
             (long long)r->missing_people, r->missing_people == 1 ? "person" : "people", a);
    return buf;
}

const char *olr_week_verdict(const struct ol_report *r, int i)
{
    const struct olr_util *x = &r->trend[i];
    if (!x->present || !x->has_bp)
        return "no data";
    if (i == OLR_TREND - 1 && !r->week_ended)
        return "in progress";
    return x->bp < x->target ? "below" : "on target";
}

const char *olr_billing_note(const struct ol_report *r, char *buf, size_t n)
{
    int64_t pending = 0, approved = 0;
    char p[48], a[48];
    for (int i = 0; i < r->nmoney; i++) {
        pending += r->money[i].pending_week;
        approved += r->money[i].approved_week;
    }
    buf[0] = '\0';
    ol_fmt_hm(p, sizeof p, pending);
    ol_fmt_hm(a, sizeof a, approved);
    if (pending && !approved)
        snprintf(buf, n,
                 "Of which this week: nothing yet. All %s of %s's time is still submitted, not approved; it is "
                 "charged once approved.",
                 p, r->week);
    else if (pending)
        snprintf(buf, n, "Of which this week: the %s approved so far; %s of %s's time is still waiting for approval.",
                 a, p, r->week);
    return buf;
}

const char *olr_client(const struct olr_money *m, char *buf, size_t n)
{
    if (m->bill_to[0] && strcmp(m->bill_to, m->client))
        snprintf(buf, n, "%s (bill to %s)", m->client, m->bill_to);
    else
        snprintf(buf, n, "%s", m->client);
    return buf;
}

const struct olr_money_total *olr_billing_cells(const struct ol_report *r, int i, char c[OLR_BILLING_COLS][OLR_CELL])
{
    const struct olr_money *x = &r->money[i];
    olr_client(x, c[0], OLR_CELL);
    ol_fmt_amount(c[1], OLR_CELL, x->amount, x->currency);
    ol_fmt_amount(c[2], OLR_CELL, x->amount_week, x->currency);
    ol_fmt_hm(c[3], OLR_CELL, x->approved_minutes);
    ol_fmt_hm(c[4], OLR_CELL, x->pending_minutes);
    snprintf(c[5], OLR_CELL, "%d", x->lines);
    for (int k = 0; k < r->nmoney_totals; k++)
        if (r->money_totals[k].end == i + 1)
            return &r->money_totals[k];
    return NULL;
}

void olr_billing_total_cells(const struct olr_money_total *t, char c[OLR_BILLING_COLS][OLR_CELL])
{
    snprintf(c[0], OLR_CELL, "TOTAL %s", t->currency);
    ol_fmt_amount(c[1], OLR_CELL, t->amount, t->currency);
    ol_fmt_amount(c[2], OLR_CELL, t->amount_week, t->currency);
    for (int k = 3; k < OLR_BILLING_COLS; k++)
        c[k][0] = '\0';
}

const char *olr_dm_balance(json_t *o, char *buf, size_t n)
{
    long long gm = olr_int(o, "gap_minutes");
    char g[48];
    ol_fmt_hm(g, sizeof g, gm < 0 ? -gm : gm);
    if (gm > 0)
        snprintf(buf, n, "short by %s", g);
    else if (gm < 0)
        snprintf(buf, n, "%s spare", g);
    else
        snprintf(buf, n, "even");
    return buf;
}
