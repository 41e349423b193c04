/* ol_report_weekly — the figures of the executive weekly report, from the
 * derived topics' events the source hands over (ol_report.h), all in
 * integers:
 *   utilisation  ORG rows of the 8 weeks to W (trend), TEAM rows of W below
 *                target, bench and how non-billable time was spent (ORG row
 *                of W), missing timesheets of W-1 (published once a week ended);
 *   billing      lines of W-3..W summed per client and currency (and W
 *                alone: its lines are pending until approved); post-close lines
 *                of weeks up to W; contractor reconciliations not MATCHED
 *                whose period overlaps W-3..W;
 *   assurance    the week's delivery status (CLOSED engagements left out),
 *                next week's cover gaps (days with a gap);
 *   forecast     budgets that run out (by run-out week), roll-offs of W.
 * A topic that cannot be read names its service in the report, not fatal. */
#include "ol_format.h"
#include "ol_rules.h"
#include "ol_report_int.h"
#include "ol_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *olr_str(json_t *o, const char *field)
{
    const char *s = json_string_value(json_object_get(o, field));
    return s ? s : "";
}

long long olr_int(json_t *o, const char *field) { return (long long)json_integer_value(json_object_get(o, field)); }

/* ------------------------------------------------------------ gathering */
/* the service that publishes a derived topic (SPEC section 3): a topic that
 * cannot be read names its service, asked once (the reason is the same for
 * its other topics) */
const char *ol_report_publisher(const char *topic)
{
    static const char *const map[][2] = {
        {"ops.utilisation.weekly", "utilisation"},       {"ops.timesheet.missing", "utilisation"},
        {"finance.billing.line", "billing"},             {"finance.contractor.reconciliation", "billing"},
        {"ops.delivery.status", "assurance"},            {"ops.cover.gaps", "assurance"},
        {"ops.forecast.engagement", "forecast"},         {"ops.forecast.demand", "forecast"},
        {"ops.headcount.weekly", "people"},              {"finance.margin.weekly", "margin"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(map[i][0], topic))
            return map[i][1];
    return NULL;
}

/* a service whose sections cannot be shown, and why (olr_unavailable) */
static void note_missing(struct ol_report *r, const char *svc, const char *why)
{
    if (r->nmissing < 8) {
        r->missing[r->nmissing] = svc;
        snprintf(r->errors[r->nmissing], sizeof r->errors[0], "%s", why);
        r->nmissing++;
    }
}

/* the events of one topic (a new reference, never NULL), or the publishing
 * service noted as missing and an empty array */
static json_t *gather(struct ol_report *r, const char *topic, const char *prefix, const char *suffix)
{
    char err[400] = "";
    const char *svc = ol_report_publisher(topic);
    if (!svc)
        svc = "unknown";
    for (int i = 0; i < r->nmissing; i++)
        if (!strcmp(r->missing[i], svc))
            return json_array();
    json_t *a = r->src.events(r->src.ctx, topic, prefix, suffix, err, sizeof err);
    if (json_is_array(a))
        return a;
    if (a) {
        json_decref(a);
        snprintf(err, sizeof err, "%s: the events are not a JSON array", topic);
    }
    note_missing(r, svc, err[0] ? err : "cannot be read");
    return json_array();
}

json_t *olr_gather(struct ol_report *r, const char *topic, const char *prefix, const char *suffix)
{
    return gather(r, topic, prefix, suffix);
}

/* ------------------------------------------------------------ figures */
static int cmp_team(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    long long bx = olr_int(x, "utilisation_bp"), by = olr_int(y, "utilisation_bp");
    if (bx != by)
        return bx < by ? -1 : 1;
    return strcmp(olr_str(x, "scope_id"), olr_str(y, "scope_id"));
}

/* json_t arrays sorted by a comparator on elements */
static json_t *sorted(json_t *a, int (*cmp)(const void *, const void *))
{
    size_t n = json_array_size(a);
    json_t **v = malloc((n ? n : 1) * sizeof *v), *out = json_array();
    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(a, i);
    qsort(v, n, sizeof *v, cmp);
    for (size_t i = 0; i < n; i++)
        json_array_append(out, v[i]);
    free(v);
    return out;
}

/* the most missing time first, then by person */
static int cmp_missing(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    long long mx = olr_int(x, "missing_minutes"), my = olr_int(y, "missing_minutes");
    if (mx != my)
        return mx > my ? -1 : 1;
    return strcmp(olr_str(x, "person_id"), olr_str(y, "person_id"));
}

static void utilisation(struct ol_report *r, ol_week w)
{
    json_t *org = gather(r, "ops.utilisation.weekly", "ORG|", NULL);
    for (int i = 0; i < OLR_TREND; i++) {
        struct olr_util *u = &r->trend[i];
        ol_week_format(ol_week_add(w, i - (OLR_TREND - 1)), u->week);
        size_t j;
        json_t *o;
        json_array_foreach(org, j, o)
        {
            if (strcmp(olr_str(o, "week"), u->week))
                continue;
            json_t *bp = json_object_get(o, "utilisation_bp");
            u->present = 1;
            u->available = olr_int(o, "available_minutes");
            u->billable = olr_int(o, "billable_minutes");
            u->bench = olr_int(o, "bench_minutes");
            u->training = olr_int(o, "training_minutes");
            u->sales = olr_int(o, "sales_support_minutes");
            u->internal = olr_int(o, "internal_minutes");
            u->live = olr_int(o, "live_support_minutes");
            u->has_bp = json_is_integer(bp);
            u->bp = (int32_t)json_integer_value(bp);
            u->target = (int32_t)olr_int(o, "target_bp");
        }
    }
    json_decref(org);
    char suffix[16];
    snprintf(suffix, sizeof suffix, "|%s", r->judged);
    json_t *teams = gather(r, "ops.utilisation.weekly", "TEAM|", suffix), *below = json_array();
    size_t j;
    json_t *o;
    json_array_foreach(teams, j, o) if (json_is_true(json_object_get(o, "below_target"))) json_array_append(below, o);
    r->teams = sorted(below, cmp_team);
    json_decref(below);
    json_decref(teams);
    char prev[16], pw[9];
    ol_week_format(ol_week_add(w, -1), pw);
    snprintf(prev, sizeof prev, "|%s", pw); /* published once a week has ended: the last closed week */
    json_t *missing = gather(r, "ops.timesheet.missing", NULL, prev), *some = json_array();
    json_array_foreach(missing, j, o) if (olr_int(o, "missing_minutes") > 0)
    {
        r->missing_people++;
        r->missing_minutes += olr_int(o, "missing_minutes");
        json_array_append(some, o);
    }
    r->missing_rows = sorted(some, cmp_missing);
    json_decref(some);
    json_decref(missing);
}

static int cmp_money(const void *a, const void *b)
{
    const struct olr_money *x = a, *y = b;
    int c = strcmp(x->currency, y->currency);
    if (!c)
        c = strcmp(x->client, y->client);
    return c ? c : strcmp(x->bill_to, y->bill_to);
}

static int cmp_recon(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int c = strcmp(olr_str(x, "status"), olr_str(y, "status"));
    return c ? c : strcmp(olr_str(x, "invoice_id"), olr_str(y, "invoice_id"));
}

/* the largest change first, then by line key */
static int cmp_post_close(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    long long dx = llabs(olr_int(x, "delta_minor")), dy = llabs(olr_int(y, "delta_minor"));
    if (dx != dy)
        return dx > dy ? -1 : 1;
    return strcmp(olr_str(x, "key"), olr_str(y, "key"));
}

/* the total of each currency of money[] (sorted by currency first), for
 * every renderer; 0, or -1 out of memory */
static int money_totals(struct ol_report *r)
{
    if (!r->nmoney)
        return 0;
    if (!(r->money_totals = calloc((size_t)r->nmoney, sizeof *r->money_totals)))
        return -1;
    for (int i = 0; i < r->nmoney; i++) {
        const struct olr_money *x = &r->money[i];
        struct olr_money_total *t = &r->money_totals[r->nmoney_totals ? r->nmoney_totals - 1 : 0];
        if (!r->nmoney_totals || strcmp(t->currency, x->currency)) { /* a new currency */
            t = &r->money_totals[r->nmoney_totals++];
            snprintf(t->currency, sizeof t->currency, "%s", x->currency);
        }
        t->amount = ol_money_add(t->amount, x->amount);
        t->amount_week = ol_money_add(t->amount_week, x->amount_week);
        t->end = i + 1;
    }
    return 0;
}

static void billing(struct ol_report *r, ol_week w)
{
    json_t *lines = gather(r, "finance.billing.line", NULL, NULL);
    size_t j;
    json_t *o;
    int oom = 0;
    r->post_close = json_array();
    r->week_closed = -1;
    json_array_foreach(lines, j, o)
    {
        ol_week lw;
        if (ol_week_parse(olr_str(o, "week"), &lw) || lw > w)
            continue;
        if (json_is_true(json_object_get(o, "post_close")))
            json_array_append(r->post_close, o);
        int closed = !strcmp(olr_str(o, "period_status"), "CLOSED");
        if (lw == w)
            r->week_closed = closed;
        if (closed && strcmp(olr_str(o, "week"), r->last_closed) > 0)
            snprintf(r->last_closed, sizeof r->last_closed, "%s", olr_str(o, "week"));
        if (lw < ol_week_add(w, -3))
            continue;
        /* grouped by client and bill-to, as `report billing` groups them */
        const char *client = olr_str(o, "client"), *bill_to = olr_str(o, "bill_to"), *cur = olr_str(o, "currency");
        int k;
        for (k = 0; k < r->nmoney; k++)
            if (!strcmp(r->money[k].client, client) && !strcmp(r->money[k].bill_to, bill_to) &&
                !strcmp(r->money[k].currency, cur))
                break;
        if (k == r->nmoney) {
            struct olr_money *m = realloc(r->money, (size_t)(r->nmoney + 1) * sizeof *m);
            if (!m) { /* a row left out would make a wrong total: no billing figure at all */
                oom = 1;
                continue;
            }
            r->money = m;
            memset(&m[k], 0, sizeof m[k]);
            snprintf(m[k].client, sizeof m[k].client, "%s", client);
            snprintf(m[k].bill_to, sizeof m[k].bill_to, "%s", bill_to);
            snprintf(m[k].currency, sizeof m[k].currency, "%s", cur);
            r->nmoney++;
        }
        r->money[k].amount = ol_money_add(r->money[k].amount, olr_int(o, "amount_minor"));
        if (lw == w) {
            r->money[k].amount_week = ol_money_add(r->money[k].amount_week, olr_int(o, "amount_minor"));
            r->money[k].approved_week += olr_int(o, "approved_minutes");
            r->money[k].pending_week += olr_int(o, "pending_minutes");
        }
        r->money[k].approved_minutes += olr_int(o, "approved_minutes");
        r->money[k].pending_minutes += olr_int(o, "pending_minutes");
        r->money[k].lines++;
    }
    if (oom)
        r->nmoney = 0;
    if (r->nmoney)
        qsort(r->money, (size_t)r->nmoney, sizeof *r->money, cmp_money);
    if (oom || money_totals(r))
        note_missing(r, "billing", "out of memory");
    json_t *pc = sorted(r->post_close, cmp_post_close);
    json_decref(r->post_close);
    r->post_close = pc;
    json_decref(lines);
    /* contractor invoices to chase: not MATCHED (nor WITHDRAWN: nothing to
     * pay) and either received (or last changed) in the last 4 weeks or
     * for a period that overlaps them; an invoice arrives after its period,
     * so the period alone would miss most of what finance has on its desk */
    int32_t from = ol_week_monday(ol_week_add(w, -3)), to = ol_week_monday(w) + 6;
    json_t *recon = gather(r, "finance.contractor.reconciliation", NULL, NULL), *bad = json_array();
    json_array_foreach(recon, j, o)
    {
        int32_t a, b, got = -1;
        const char *st = olr_str(o, "status");
        if (!strcmp(st, "MATCHED") || !strcmp(st, "WITHDRAWN"))
            continue;
        const char *at = r->src.name ? r->src.name(r->src.ctx, "finance.contractor_invoice",
                                                   olr_str(o, "invoice_id"), "occurred_at")
                                     : NULL;
        char day[11];
        if (at && strlen(at) >= 10) {
            snprintf(day, sizeof day, "%.10s", at);
            if (ol_date_parse(day, &got))
                got = -1;
        }
        int overlaps = !ol_date_parse(olr_str(o, "period_first_day"), &a) &&
                       !ol_date_parse(olr_str(o, "period_last_day"), &b) && b >= from && a <= to;
        if (overlaps || (got >= from && got <= to))
            json_array_append(bad, o);
    }
    r->contractors = sorted(bad, cmp_recon);
    json_decref(bad);
    json_decref(recon);
}

static void assurance(struct ol_report *r, ol_week w)
{
    char suffix[16];
    snprintf(suffix, sizeof suffix, "|%s", r->week);
    json_t *st = gather(r, "ops.delivery.status", NULL, suffix);
    static const char *const order[] = {"RED", "AMBER", "GREEN"};
    r->status = json_array();
    for (int i = 0; i < 3; i++) {
        size_t j;
        json_t *o;
        json_array_foreach(st, j, o)
        {
            if (json_is_true(json_object_get(o, "closed")) || strcmp(olr_str(o, "rag"), order[i]))
                continue;
            json_array_append(r->status, o);
            r->rag[2 - i]++;
        }
    }
    json_decref(st);
    /* next week's cover: the days' keys end in the date, so read all and keep the week */
    char d0[11], d1[11];
    ol_date_format(ol_week_monday(ol_week_add(w, 1)), d0);
    ol_date_format(ol_week_monday(ol_week_add(w, 1)) + 6, d1);
    json_t *cover = gather(r, "ops.cover.gaps", NULL, NULL);
    r->cover = json_array();
    size_t j;
    json_t *o;
    json_array_foreach(cover, j, o)
    {
        const char *day = olr_str(o, "day");
        if (strcmp(day, d0) < 0 || strcmp(day, d1) > 0)
            continue;
        if (json_array_size(json_object_get(o, "gaps")))
            json_array_append(r->cover, o);
    }
    json_decref(cover);
}

static int cmp_budget(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int c = strcmp(olr_str(x, "budget_runs_out_week"), olr_str(y, "budget_runs_out_week"));
    return c ? c : strcmp(olr_str(x, "engagement_id"), olr_str(y, "engagement_id"));
}

static void forecast(struct ol_report *r)
{
    json_t *b = gather(r, "ops.forecast.engagement", NULL, NULL), *out = json_array();
    size_t j;
    json_t *o;
    json_array_foreach(b, j, o) if (json_is_string(json_object_get(o, "budget_runs_out_week"))) json_array_append(out, o);
    r->budgets = sorted(out, cmp_budget);
    json_decref(out);
    json_decref(b);
    char suffix[16];
    snprintf(suffix, sizeof suffix, "|%s", r->week);
    json_t *d = gather(r, "ops.forecast.demand", NULL, suffix);
    r->rolloffs = json_array();
    json_array_foreach(d, j, o) if (olr_int(o, "roll_offs_next_4_weeks") > 0) json_array_append(r->rolloffs, o);
    json_decref(d);
    /* delivery-manager demand and supply, the week and the three after it */
    json_t *dm = gather(r, "ops.forecast.demand", "DELIVERY_MANAGER|", NULL);
    r->dm = json_array();
    json_array_foreach(dm, j, o)
    {
        const char *wk = olr_str(o, "week");
        if (strcmp(wk, r->week) >= 0 && strcmp(wk, r->last4) <= 0)
            json_array_append(r->dm, o);
    }
    json_decref(dm);
}

static void report_free(struct ol_report *r)
{
    json_decref(r->teams);
    json_decref(r->post_close);
    json_decref(r->contractors);
    json_decref(r->status);
    json_decref(r->cover);
    json_decref(r->budgets);
    json_decref(r->rolloffs);
    json_decref(r->dm);
    json_decref(r->missing_rows);
    olr_people_margin_free(r);
    free(r->money);
    free(r->money_totals);
}

/* ------------------------------------------------------------ public */
struct ol_report *ol_report_weekly(const struct ol_report_source *src, const char *week, char *err, size_t errlen)
{
    ol_week w;
    if (!src || !src->events || !week || ol_week_parse(week, &w)) {
        snprintf(err, errlen, "not an ISO week: %s (expected e.g. 2026-W47)", week ? week : "(none)");
        return NULL;
    }
    struct ol_report *r = calloc(1, sizeof *r); /* the caller owns it: ol_report_free */
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->src = *src;
    ol_week_format(w, r->week);
    ol_week_format(ol_week_add(w, 3), r->last4);
    /* the week has ended when the data time is past its Sunday; without a
     * data time it is taken as ended (the figures are all there is) */
    r->week_ended = 1;
    if (src->data_time && *src->data_time) {
        int64_t ms;
        snprintf(r->data_time, sizeof r->data_time, "%s", src->data_time);
        if (!ol_ts_parse(src->data_time, &ms))
            r->week_ended = ms >= (int64_t)(ol_week_monday(w) + 7) * 86400000;
    }
    ol_week_format(r->week_ended ? w : ol_week_add(w, -1), r->judged);
    ol_week_format(ol_week_add(w, 1), r->next_week);
    ol_week_format(ol_week_add(w, -3), r->prev4);
    ol_week_format(ol_week_add(w, -1), r->prev1);
    utilisation(r, w);
    billing(r, w);
    assurance(r, w);
    forecast(r);
    olr_people_margin(r, w);
    return r;
}

const char *olr_unavailable(const struct ol_report *r, const char *svc)
{
    for (int i = 0; i < r->nmissing; i++)
        if (!strcmp(r->missing[i], svc))
            return r->errors[i];
    return NULL;
}

void olr_money(char *buf, size_t n, json_t *o, const char *field)
{
    if (json_object_get(o, field))
        ol_fmt_amount(buf, n, olr_int(o, field), olr_str(o, "currency"));
    else
        snprintf(buf, n, "withheld");
}

int ol_report_unavailable(const struct ol_report *r) { return r->nmissing; }

const char *ol_report_unavailable_service(const struct ol_report *r, int i)
{
    return i >= 0 && i < r->nmissing ? r->missing[i] : NULL;
}

const char *ol_report_unavailable_reason(const struct ol_report *r, int i)
{
    return i >= 0 && i < r->nmissing ? r->errors[i] : NULL;
}

int ol_report_render(FILE *f, const struct ol_report *r, enum ol_report_format fmt)
{
    return fmt == OL_REPORT_HTML ? olr_html(f, r) : olr_text(f, r, fmt == OL_REPORT_MD);
}

void ol_report_free(struct ol_report *r)
{
    if (!r)
        return;
    report_free(r);
    free(r);
}
