/* weekly_text — the weekly report as plain text (aligned columns) or as
 * Markdown (headings and pipe tables); the same sections and figures as the
 * HTML page. Money from integer minor units, hours from minutes, per cent
 * from basis points: no floating point. Every string from the data goes
 * through ol_escape (terminal text, or Markdown): table cells of text
 * columns in tbl_row, the rest through E(). */
#include "ol_escape.h"
#include "ol_format.h"
#include "ol_report_int.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define TBL_MAX_COLS 8

struct tbl {
    int ncol, nrow, cap, md;
    const char *hdr[TBL_MAX_COLS];
    int right[TBL_MAX_COLS]; /* right-aligned (figures) */
    char **cells;            /* nrow x ncol */
};

/* the strings escaped for this report's format, alive until olr_text returns */
static ol_esc_arena g_esc = OL_ESC_ARENA_INIT;

static const char *E(int md, const char *s) { return ol_esc_a(&g_esc, md ? OL_ESC_MD : OL_ESC_TEXT, s); }

static void tbl_init(struct tbl *t, int md, const char *spec)
{
    /* spec: "name|>figure|..." ('>' right-aligns: a figure the program
     * formats, printed as it is; every other column is text from the data,
     * escaped for the format) */
    static char buf[512];
    memset(t, 0, sizeof *t);
    t->md = md;
    snprintf(buf, sizeof buf, "%s", spec);
    for (char *s = strtok(buf, "|"); s && t->ncol < TBL_MAX_COLS; s = strtok(NULL, "|")) {
        t->right[t->ncol] = *s == '>';
        t->hdr[t->ncol++] = *s == '>' ? s + 1 : s;
    }
}

static void tbl_row(struct tbl *t, ...)
{
    va_list ap;
    if (t->nrow == t->cap) {
        int cap = t->cap ? t->cap * 2 : 16;
        char **c = realloc(t->cells, (size_t)cap * (size_t)t->ncol * sizeof *c);
        if (!c)
            return;
        t->cells = c;
        t->cap = cap;
    }
    va_start(ap, t);
    for (int i = 0; i < t->ncol; i++) {
        const char *s = va_arg(ap, const char *);
        s = s ? s : "";
        t->cells[t->nrow * t->ncol + i] = t->right[i] ? strdup(s) : ol_esc(t->md ? OL_ESC_MD : OL_ESC_TEXT, s);
        if (!t->cells[t->nrow * t->ncol + i]) {
            g_esc.failed = 1;
            t->cells[t->nrow * t->ncol + i] = strdup("");
        }
    }
    va_end(ap);
    t->nrow++;
}

static void tbl_print(FILE *f, struct tbl *t, int md)
{
    int w[TBL_MAX_COLS];
    for (int c = 0; c < t->ncol; c++) {
        w[c] = (int)strlen(t->hdr[c]);
        for (int r = 0; r < t->nrow; r++) {
            int l = (int)strlen(t->cells[r * t->ncol + c]);
            w[c] = l > w[c] ? l : w[c];
        }
    }
    if (md) {
        for (int c = 0; c < t->ncol; c++)
            fprintf(f, "| %s ", t->hdr[c]);
        fprintf(f, "|\n");
        for (int c = 0; c < t->ncol; c++)
            fprintf(f, "| %s ", t->right[c] ? "---:" : "---");
        fprintf(f, "|\n");
        for (int r = 0; r < t->nrow; r++) {
            for (int c = 0; c < t->ncol; c++) /* escaped by tbl_row: '|' is "\|" */
                fprintf(f, "| %s ", t->cells[r * t->ncol + c]);
            fprintf(f, "|\n");
        }
    } else {
        fprintf(f, " ");
        for (int c = 0; c < t->ncol; c++) {
            if (c == t->ncol - 1 && !t->right[c])
                fprintf(f, " %s", t->hdr[c]); /* no trailing blanks */
            else
                fprintf(f, " %*s", t->right[c] ? w[c] : -w[c], t->hdr[c]);
        }
        fprintf(f, "\n");
        for (int r = 0; r < t->nrow; r++) {
            fprintf(f, " ");
            for (int c = 0; c < t->ncol; c++) {
                const char *s = t->cells[r * t->ncol + c];
                if (c == t->ncol - 1 && !t->right[c])
                    fprintf(f, " %s", s); /* no trailing blanks */
                else
                    fprintf(f, " %*s", t->right[c] ? w[c] : -w[c], s);
            }
            fprintf(f, "\n");
        }
    }
    for (int i = 0; i < t->nrow * t->ncol; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
}

static void heading(FILE *f, int md, const char *text)
{
    if (md)
        fprintf(f, "\n## %s\n\n", text);
    else
        fprintf(f, "\n%s\n", text);
}

static void line(FILE *f, int md, const char *fmt, ...)
{
    va_list ap;
    fputs(md ? "" : "  ", f);
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputs(md ? "\n\n" : "\n", f);
}

/* the strings of a JSON array joined */
static void joined(json_t *a, const char *sep, char *buf, size_t n, size_t max)
{
    size_t i, used = 0;
    json_t *x;
    buf[0] = '\0';
    json_array_foreach(a, i, x)
    {
        if (i == max) {
            snprintf(buf + used, n - used, "%s(+%zu more)", sep, json_array_size(a) - max);
            return;
        }
        int k = snprintf(buf + used, n - used, "%s%s", i ? sep : "", json_string_value(x));
        if (k < 0 || (size_t)k >= n - used)
            return;
        used += (size_t)k;
    }
}

static void utilisation(FILE *f, const struct ol_report *r, int md)
{
    const struct olr_util *u = &r->trend[OLR_TREND - 1];
    char a[32], b[32], p[32], t[32];
    heading(f, md, "1. Utilisation (billable people)");
    if (!u->present) {
        line(f, md, "No utilisation published for %s.", r->week);
    } else {
        ol_fmt_bp(p, sizeof p, u->has_bp, u->bp);
        ol_fmt_bp(t, sizeof t, 1, u->target);
        ol_fmt_hours(b, sizeof b, u->billable);
        ol_fmt_hours(a, sizeof a, u->available);
        line(f, md, "Org utilisation %s against a target of %s: %s billable hours of %s available%s.", p, t, b, a,
             u->has_bp && u->bp < u->target ? " (below target)" : "");
    }
    struct tbl tb;
    tbl_init(&tb, md, "week|>utilisation|>billable h|>available h");
    for (int i = 0; i < OLR_TREND; i++) {
        const struct olr_util *x = &r->trend[i];
        ol_fmt_bp(p, sizeof p, x->present && x->has_bp, x->bp);
        ol_fmt_hours(b, sizeof b, x->billable);
        ol_fmt_hours(a, sizeof a, x->available);
        tbl_row(&tb, x->week, p, x->present ? b : "-", x->present ? a : "-");
    }
    line(f, md, "Trend, the last %d weeks:", OLR_TREND);
    tbl_print(f, &tb, md);
    size_t n = json_array_size(r->teams);
    if (md)
        fputs("\n", f);
    line(f, md, "Teams under target in %s: %zu", r->week, n);
    if (n) {
        tbl_init(&tb, md, "team|>utilisation|>billable h|>available h|>people");
        size_t i;
        json_t *o;
        json_array_foreach(r->teams, i, o)
        {
            json_t *bp = json_object_get(o, "utilisation_bp");
            char pp[16];
            ol_fmt_bp(p, sizeof p, json_is_integer(bp), (int32_t)json_integer_value(bp));
            ol_fmt_hours(b, sizeof b, olr_int(o, "billable_minutes"));
            ol_fmt_hours(a, sizeof a, olr_int(o, "available_minutes"));
            snprintf(pp, sizeof pp, "%lld", olr_int(o, "people"));
            tbl_row(&tb, olr_str(o, "scope_id"), p, b, a, pp);
        }
        tbl_print(f, &tb, md);
    }
    if (u->present) {
        char bench[32], tr[32], sa[32], in[32], lv[32];
        ol_fmt_hours(bench, sizeof bench, u->bench);
        ol_fmt_hours(tr, sizeof tr, u->training);
        ol_fmt_hours(sa, sizeof sa, u->sales);
        ol_fmt_hours(in, sizeof in, u->internal);
        ol_fmt_hours(lv, sizeof lv, u->live);
        if (md)
            fputs("\n", f);
        line(f, md,
             "Bench and how non-billable time was invested: bench %s h, training %s h, sales support %s h, "
             "internal %s h, live support %s h.",
             bench, tr, sa, in, lv);
    }
    char mm[32];
    ol_fmt_hours(mm, sizeof mm, r->missing_minutes);
    line(f, md, "Missing timesheets in the last closed week, %s: %lld people, %s h not covered by logged time.", r->prev1,
         (long long)r->missing_people, mm);
}

static void billing(FILE *f, const struct ol_report *r, int md)
{
    char m[32], h[32], pend[32];
    struct tbl tb;
    heading(f, md, "2. Billing");
    line(f, md, "Billing lines of %s..%s per client and currency (pending time is not charged):", r->prev4, r->week);
    if (!r->nmoney)
        line(f, md, "none");
    else {
        tbl_init(&tb, md, "client|currency|>amount|>of which this week|>approved h|>pending h|>lines");
        for (int i = 0; i < r->nmoney; i++) {
            char n[16], wk[32];
            ol_fmt_money(m, sizeof m, r->money[i].amount);
            ol_fmt_money(wk, sizeof wk, r->money[i].amount_week);
            ol_fmt_hours(h, sizeof h, r->money[i].approved_minutes);
            ol_fmt_hours(pend, sizeof pend, r->money[i].pending_minutes);
            snprintf(n, sizeof n, "%d", r->money[i].lines);
            tbl_row(&tb, r->money[i].client, r->money[i].currency, m, wk, h, pend, n);
        }
        tbl_print(f, &tb, md);
    }
    if (md)
        fputs("\n", f);
    line(f, md, "Post-close adjustments (lines of closed weeks that changed after closing), largest first: %zu",
         json_array_size(r->post_close));
    if (json_array_size(r->post_close)) {
        tbl_init(&tb, md, "line|week|client|currency|>amount|>last change");
        size_t i;
        json_t *o;
        json_array_foreach(r->post_close, i, o)
        {
            if (i == 10) {
                char more[64];
                snprintf(more, sizeof more, "(%zu more)", json_array_size(r->post_close) - 10);
                tbl_row(&tb, more, "", "", "", "", "");
                break;
            }
            char d[32];
            ol_fmt_money(m, sizeof m, olr_int(o, "amount_minor"));
            ol_fmt_money(d, sizeof d, olr_int(o, "delta_minor"));
            tbl_row(&tb, olr_str(o, "key"), olr_str(o, "week"), olr_str(o, "client"), olr_str(o, "currency"), m, d);
        }
        tbl_print(f, &tb, md);
    }
    if (md)
        fputs("\n", f);
    line(f, md, "Contractor invoice discrepancies (periods overlapping %s..%s): %zu", r->prev4, r->week,
         json_array_size(r->contractors));
    if (json_array_size(r->contractors)) {
        tbl_init(&tb, md, "invoice|person|supplier|status|>expected|>invoiced");
        size_t i;
        json_t *o;
        json_array_foreach(r->contractors, i, o)
        {
            char e[40], v[40];
            ol_fmt_money(m, sizeof m, olr_int(o, "amount_expected_minor"));
            snprintf(e, sizeof e, "%s %s", olr_str(o, "currency"), m);
            ol_fmt_money(m, sizeof m, olr_int(o, "amount_invoiced_minor"));
            snprintf(v, sizeof v, "%s %s", olr_str(o, "currency"), m);
            tbl_row(&tb, olr_str(o, "invoice_id"), olr_str(o, "person_id"), olr_str(o, "supplier"), olr_str(o, "status"), e,
                    v);
        }
        tbl_print(f, &tb, md);
    }
}

static void delivery(FILE *f, const struct ol_report *r, int md)
{
    char buf[2048];
    heading(f, md, "3. Delivery status");
    line(f, md, "%d RED, %d AMBER, %d GREEN active engagements in %s.", r->rag[2], r->rag[1], r->rag[0], r->week);
    size_t i;
    json_t *o;
    json_array_foreach(r->status, i, o)
    {
        const char *rag = olr_str(o, "rag");
        if (!strcmp(rag, "GREEN"))
            continue;
        json_t *prev = json_object_get(o, "previous_rag");
        char was[32] = "";
        if (json_is_string(prev))
            snprintf(was, sizeof was, ", was %s", json_string_value(prev));
        if (md)
            fprintf(f, "- **%s** %s %s (%s)%s\n", E(md, rag), E(md, olr_str(o, "engagement_id")),
                    E(md, olr_str(o, "engagement_name")), E(md, olr_str(o, "client")), E(md, was));
        else
            fprintf(f, "\n  %-5s %s %s (%s)%s\n", E(md, rag), E(md, olr_str(o, "engagement_id")),
                    E(md, olr_str(o, "engagement_name")), E(md, olr_str(o, "client")), E(md, was));
        joined(json_object_get(o, "reasons"), "; ", buf, sizeof buf, 6);
        fprintf(f, md ? "  - reasons: %s\n" : "        reasons: %s\n", E(md, buf));
        size_t j;
        json_t *k;
        json_array_foreach(json_object_get(o, "open_risks"), j, k)
        {
            if (j == 3)
                break;
            fprintf(f, md ? "  - risk %s %s %s: %s (owner %s)\n" : "        risk %s %s %s: %s (owner %s)\n",
                    E(md, olr_str(k, "risk_id")), E(md, olr_str(k, "severity")), E(md, olr_str(k, "category")),
                    E(md, olr_str(k, "summary")), E(md, olr_str(k, "owner")));
        }
    }
    if (md)
        fputs("\n", f);
    struct tbl tb;
    int opened = 0, closed = 0;
    tbl_init(&tb, md, "risk|engagement|change");
    json_array_foreach(r->status, i, o)
    {
        size_t j;
        json_t *x;
        json_array_foreach(json_object_get(o, "risks_opened"), j, x)
        {
            tbl_row(&tb, json_string_value(x), olr_str(o, "engagement_id"), "opened");
            opened++;
        }
        json_array_foreach(json_object_get(o, "risks_closed"), j, x)
        {
            tbl_row(&tb, json_string_value(x), olr_str(o, "engagement_id"), "closed or mitigated");
            closed++;
        }
    }
    if (!md)
        fputs("\n", f);
    line(f, md, "Risks opened this week: %d; closed or mitigated: %d", opened, closed);
    if (opened + closed)
        tbl_print(f, &tb, md);
    else
        free(tb.cells);
}

static void outlook(FILE *f, const struct ol_report *r, int md)
{
    struct tbl tb;
    size_t i;
    json_t *o;
    char s[32], e[32], b[32];
    heading(f, md, "4. Budgets running out (forecast)");
    if (!json_array_size(r->budgets))
        line(f, md, "No engagement's budget runs out before it ends.");
    else {
        tbl_init(&tb, md, "engagement|runs out|currency|>spent|>estimate at completion|>budget");
        json_array_foreach(r->budgets, i, o)
        {
            ol_fmt_money(s, sizeof s, olr_int(o, "spent_to_date_minor"));
            ol_fmt_money(e, sizeof e, olr_int(o, "estimate_at_completion_minor"));
            ol_fmt_money(b, sizeof b, olr_int(o, "budget_minor"));
            tbl_row(&tb, olr_str(o, "engagement_id"), olr_str(o, "budget_runs_out_week"), olr_str(o, "currency"), s, e, b);
        }
        tbl_print(f, &tb, md);
    }
    heading(f, md, "5. Roll-offs in the next 4 weeks");
    if (!json_array_size(r->rolloffs))
        line(f, md, "None published for %s.", r->week);
    else {
        tbl_init(&tb, md, "role|>people|who");
        json_array_foreach(r->rolloffs, i, o)
        {
            char n[16], who[1024];
            snprintf(n, sizeof n, "%lld", olr_int(o, "roll_offs_next_4_weeks"));
            joined(json_object_get(o, "rolling_off_people"), ", ", who, sizeof who, 8);
            tbl_row(&tb, olr_str(o, "role"), n, who);
        }
        tbl_print(f, &tb, md);
    }
    heading(f, md, "6. Live-service cover gaps next week");
    if (!json_array_size(r->cover))
        line(f, md, "No gap in %s.", r->next_week);
    else {
        tbl_init(&tb, md, "service|day|>no primary min|>primary on leave min|>double booked min|gaps and shifts on leave");
        json_array_foreach(r->cover, i, o)
        {
            char u[16], l[16], d[16], gaps[1024] = "";
            size_t j, used = 0;
            json_t *g;
            snprintf(u, sizeof u, "%lld", olr_int(o, "uncovered_minutes"));
            snprintf(l, sizeof l, "%lld", olr_int(o, "primary_on_leave_minutes"));
            snprintf(d, sizeof d, "%lld", olr_int(o, "double_booked_minutes"));
            json_array_foreach(json_object_get(o, "gaps"), j, g)
            {
                const char *a = olr_str(g, "starts_at"), *z = olr_str(g, "ends_at");
                int k = snprintf(gaps + used, sizeof gaps - used, "%s%.5s-%.5s %s", j ? "; " : "",
                                 strlen(a) > 11 ? a + 11 : a, strlen(z) > 11 ? z + 11 : z, olr_str(g, "reason"));
                if (k < 0 || (size_t)k >= sizeof gaps - used)
                    break;
                used += (size_t)k;
            }
            json_array_foreach(json_object_get(o, "shifts_on_leave"), j, g)
            {
                int k = snprintf(gaps + used, sizeof gaps - used, "%s%s on leave", used ? "; " : "", json_string_value(g));
                if (k < 0 || (size_t)k >= sizeof gaps - used)
                    break;
                used += (size_t)k;
            }
            tbl_row(&tb, olr_str(o, "service_id"), olr_str(o, "day"), u, l, d, gaps);
        }
        tbl_print(f, &tb, md);
    }
}

/* 7 and 8: delivery managers and attrition (Head of Delivery), margin and
 * contractor invoices (Operations Manager) */
void olr_people_text(FILE *f, const struct ol_report *r, int md)
{
    struct tbl tb;
    size_t i;
    json_t *o;
    char a[32], b[32], c[32], d[32], e[32];
    heading(f, md, "7. Delivery managers: supply against demand, and attrition");
    if (r->org_hc) {
        json_t *att = json_object_get(r->org_hc, "attrition_bp");
        ol_fmt_bp(a, sizeof a, json_is_integer(att), (int32_t)json_integer_value(att));
        line(f, md, "%lld employees on %s's Sunday, %lld joined and %lld left that week; %lld left in the last 52 "
                    "weeks: annualised attrition %s.",
             olr_int(r->org_hc, "headcount"), r->week, olr_int(r->org_hc, "joiners"), olr_int(r->org_hc, "leavers"),
             olr_int(r->org_hc, "window_leavers"), a);
    } else
        line(f, md, "No headcount published for %s.", r->week);
    if (!json_array_size(r->dm))
        line(f, md, "No delivery-manager rows published from %s.", r->week);
    else {
        tbl_init(&tb, md, "week|>DMs|>supply FTE|>demand FTE|>ratio|>attrition|vs demand");
        json_array_foreach(r->dm, i, o)
        {
            json_t *ratio = json_object_get(o, "dm_ratio_bp"), *att = json_object_get(o, "attrition_bp");
            long long s = olr_int(o, "dm_supply_fte_bp"), dd = olr_int(o, "dm_demand_fte_bp");
            snprintf(a, sizeof a, "%lld", olr_int(o, "headcount"));
            snprintf(b, sizeof b, "%lld.%02lld", s / 10000, (s < 0 ? -s : s) % 10000 / 100);
            snprintf(c, sizeof c, "%lld.%02lld", dd / 10000, (dd < 0 ? -dd : dd) % 10000 / 100);
            ol_fmt_bp(d, sizeof d, json_is_integer(ratio), (int32_t)json_integer_value(ratio));
            ol_fmt_bp(e, sizeof e, json_is_integer(att), (int32_t)json_integer_value(att));
            tbl_row(&tb, olr_str(o, "week"), a, b, c, d, e,
                    !json_is_integer(ratio)            ? "no demand"
                    : json_is_true(json_object_get(o, "dm_ahead")) ? "ahead"
                    : json_integer_value(ratio) < 10000 ? "SHORT"
                                                        : "over-supplied");
        }
        tbl_print(f, &tb, md);
    }
    heading(f, md, "8. Lowest margins and contractor invoices matched three ways");
    if (!json_array_size(r->low_margin))
        line(f, md, "No margin published for %s.", r->prev1);
    else {
        line(f, md, "The %zu lowest of %zu engagement rows with revenue of %s, the last week ended (currencies "
                    "never converted):",
             json_array_size(r->low_margin), r->margin_rows, r->prev1);
        tbl_init(&tb, md, "engagement|currency|>revenue|>cost|>margin|>margin %");
        json_array_foreach(r->low_margin, i, o)
        {
            json_t *bp = json_object_get(o, "margin_bp");
            long long v = json_integer_value(bp);
            ol_fmt_money(a, sizeof a, olr_int(o, "revenue_minor"));
            ol_fmt_money(b, sizeof b, olr_int(o, "cost_minor"));
            ol_fmt_money(c, sizeof c, olr_int(o, "margin_minor"));
            ol_fmt_bp(d, sizeof d, json_is_integer(bp), (int32_t)(v > 999999 ? 999999 : v < -999999 ? -999999 : v));
            tbl_row(&tb, olr_str(o, "engagement_id"), olr_str(o, "currency"), a, b, c, d);
        }
        tbl_print(f, &tb, md);
    }
    line(f, md, "%zu engagement row(s) of %s had cost and no revenue (fixed-price and non-billable work: revenue 0 "
                "by rule; report margin lists them).",
         r->cost_only_rows, r->prev1);
    line(f, md, "%zu contractor or partner invoice(s) of the last 4 weeks invoice other minutes than were logged.",
         json_array_size(r->three_way));
    if (json_array_size(r->three_way)) {
        tbl_init(&tb, md, "invoice|person|supplier|currency|>logged h|>invoiced h|>billed h|>invoiced - logged");
        json_array_foreach(r->three_way, i, o)
        {
            char m[40];
            ol_fmt_hours(a, sizeof a, olr_int(o, "minutes_logged"));
            ol_fmt_hours(b, sizeof b, olr_int(o, "minutes_invoiced"));
            ol_fmt_hours(c, sizeof c, olr_int(o, "minutes_billed"));
            ol_fmt_money(d, sizeof d, olr_int(o, "invoiced_minus_logged_minor"));
            snprintf(m, sizeof m, "%s", d);
            tbl_row(&tb, olr_str(o, "invoice_id"), olr_str(o, "person_id"), olr_str(o, "supplier"),
                    olr_str(o, "currency"), a, b, c, m);
        }
        tbl_print(f, &tb, md);
    }
}

int olr_text(FILE *f, const struct ol_report *r, int md)
{
    if (md)
        fprintf(f, "# Weekly delivery and operations report, %s\n", r->week);
    else
        fprintf(f, "WEEKLY DELIVERY AND OPERATIONS REPORT %s\n", r->week);
    for (int i = 0; i < r->nmissing; i++)
        line(f, md, "Not available: %s (%s)", E(md, r->missing[i]), E(md, r->errors[i]));
    utilisation(f, r, md);
    billing(f, r, md);
    delivery(f, r, md);
    outlook(f, r, md);
    olr_people_text(f, r, md);
    ol_esc_arena_reset(&g_esc);
    return g_esc.failed ? -1 : 0;
}
