/* ol_report_int — what the weekly report's files share (not public: see
 * ol_report.h). The report is composed from the events each service
 * published, never from a service's own tables: the derived topics' schemas
 * are the contract.
 *
 * ol_report_weekly.c gathers the events through the source's callbacks and
 * computes the figures (integers only), ol_report_people.c those of the
 * people and margin sections (7 and 8), ol_report_text.c prints them as text
 * or Markdown, ol_report_html.c and ol_report_html_body.c as one
 * self-contained HTML page with inline SVG charts; both forms take the words
 * (ol_report_words.c) and the cells of each table row (ol_report_cells.c,
 * olr_billing_cells, ol_report_people.c) from the same functions. */
#ifndef OL_REPORT_INT_H
#define OL_REPORT_INT_H

#include "ol_report.h"

#include "ol_time.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#define OLR_TREND 8

struct olr_util {
    char week[9];
    int present, has_bp;
    int64_t available, billable, bench, training, sales, internal, live;
    int32_t bp, target;
};

struct olr_money {
    char client[128], bill_to[128], currency[8];
    int64_t amount, pending_minutes, approved_minutes;  /* W-3..W */
    int64_t amount_week, pending_week, approved_week;    /* W alone */
    int lines;
};

/* one currency's total of the billing rows (never converted): the rows of
 * money[] up to end (exclusive) from the previous total's end */
struct olr_money_total {
    char currency[8];
    int64_t amount, amount_week;
    int end;
};

struct ol_report {
    struct ol_report_source src;
    char week[9], next_week[9], prev4[9], prev1[9], last4[9]; /* last4: W+3 */
    char judged[9];       /* the week judged against the target: W once it ended, else W-1 */
    char data_time[40];   /* the source's data time (ISO-8601), "" when not known */
    int week_ended;       /* the data time is past the end of W (Sunday 24:00 UTC) */
    int week_closed;      /* finance closed W: 1, open: 0, no line of W: -1 */
    char last_closed[9];  /* the latest week whose lines are CLOSED, "" none */
    const char *missing[8]; /* static names */ /* services whose events could not be read, with the reason in errors */
    char errors[8][512];
    int nmissing;
    /* utilisation */
    struct olr_util trend[OLR_TREND]; /* oldest first, the report week last */
    json_t *teams;                  /* TEAM rows of the judged week, below target, worst first */
    int64_t missing_people, missing_minutes; /* of the last ended week, W-1 */
    json_t *missing_rows;           /* its ops.timesheet.missing rows, most missing first */
    /* billing */
    struct olr_money *money; /* by currency, client, bill-to */
    int nmoney;
    struct olr_money_total *money_totals; /* one a currency, in money[]'s order */
    int nmoney_totals;
    json_t *post_close;  /* post_close lines of weeks up to the report week, largest change first */
    json_t *contractors; /* reconciliations to chase (not MATCHED, not WITHDRAWN) whose invoice was
                          * received in W-3..W or whose period overlaps it */
    /* assurance */
    json_t *status; /* the week's ops.delivery.status of active engagements, RED, AMBER, GREEN */
    int rag[3];     /* GREEN, AMBER, RED */
    json_t *cover;  /* next week's ops.cover.gaps with a gap */
    /* forecast */
    json_t *budgets;  /* ops.forecast.engagement that run out, by run-out week */
    json_t *rolloffs; /* ops.forecast.demand of the week with roll-offs */
    json_t *dm;       /* ops.forecast.demand of DELIVERY_MANAGER, W..W+3: open roles against bench (section 3) */
    /* people and margin (ol_report_people.c; sections 7 and 8) */
    json_t *dm_headcount; /* ops.headcount.weekly ROLE|DELIVERY_MANAGER rows of the week and the 11 after, by week:
                           * FTE supply against demand, attrition */
    json_t *org_hc;     /* ORG row of the week, or NULL */
    json_t *low_margin; /* the last ended week's (W-1) engagement-currency rows with revenue, lowest margin first (at most 8) */
    size_t margin_rows; /* how many with revenue the week has */
    size_t cost_only_rows; /* rows of the week with cost and no revenue (not in low_margin) */
    json_t *three_way;  /* RECEIVED invoices of the last 4 weeks whose invoiced minutes differ from the logged */
};

/* both escape every string from the data (ol_escape); 0, or -1 when out of
 * memory (a write error is the caller's ferror(f)) */
int olr_text(FILE *f, const struct ol_report *r, int markdown);
int olr_html(FILE *f, const struct ol_report *r);

/* ol_report_weekly.c: the events of one topic (a new reference, never NULL;
 * an empty array and the publisher noted as missing when unreadable) */
json_t *olr_gather(struct ol_report *r, const char *topic, const char *prefix, const char *suffix);
/* ol_report_people.c: the people and margin figures, and their release */
void olr_people_margin(struct ol_report *r, ol_week w);
void olr_people_margin_free(struct ol_report *r);
/* the people and margin sections, 7 and 8 (ol_report_text.c,
 * ol_report_html_body.c) */
void olr_people_text(FILE *f, const struct ol_report *r, int md);
void olr_people_html(FILE *f, const struct ol_report *r);
/* their words and cells (ol_report_people.c), raw text, escaped by the
 * renderer: the org's headcount and attrition sentence; a delivery
 * managers' row (week, headcount, supply FTE, demand FTE, ratio,
 * attrition, against demand in words); a low-margin row (engagement with
 * its name, revenue, cost, margin with the currency, margin %); a
 * three-way row (invoice, person with the name, supplier, period, hours
 * logged, invoiced, billed, the invoiced-minus-logged amount) */
#define OLR_CELL 512
#define OLR_DM_HC_COLS 7
#define OLR_DM_HC_SPEC "week|>delivery managers|>supply FTE|>demand FTE|>supply/demand|>attrition|against demand"
#define OLR_MARGIN_COLS 5
#define OLR_MARGIN_SPEC "engagement|>revenue|>cost|>margin|>margin %"
#define OLR_THREE_WAY_COLS 8
#define OLR_THREE_WAY_SPEC "invoice|person|supplier|period|>logged|>invoiced|>billed|>invoiced - logged"
const char *olr_hc_sentence(const struct ol_report *r, char *buf, size_t n);
void olr_dm_hc_cells(json_t *o, char c[OLR_DM_HC_COLS][OLR_CELL]);
void olr_margin_cells(const struct ol_report *r, json_t *o, char c[OLR_MARGIN_COLS][OLR_CELL]);
void olr_three_way_cells(const struct ol_report *r, json_t *o, char c[OLR_THREE_WAY_COLS][OLR_CELL]);
const char *olr_margin_intro(const struct ol_report *r, char *buf, size_t n);
const char *olr_cost_only(const struct ol_report *r, char *buf, size_t n);
const char *olr_three_way_intro(const struct ol_report *r, char *buf, size_t n);

/* the HTML page's pieces (ol_report_html.c), escaped for HTML; the sections
 * (ol_report_html_body.c) */
void olr_h_esc(FILE *f, const char *s);
void olr_h_td(FILE *f, int num, const char *s); /* num: 0 text, 1 figure, 2 date (one line) */
void olr_h_td_lines(FILE *f, json_t *lines); /* a JSON array of strings: one line, or a list */
void olr_h_thead(FILE *f, const char *cols);  /* "<table>" and the header row; '>' right-aligns */
void olr_h_para(FILE *f, const char *fmt, ...);
void olr_h_trend(FILE *f, const struct ol_report *r);
void olr_h_rag(FILE *f, const struct ol_report *r);
int olr_h_sections(FILE *f, const struct ol_report *r);

/* shared by the renderers */
const char *olr_str(json_t *o, const char *field);
long long olr_int(json_t *o, const char *field);
/* why the topics of a service were not read (withheld from the reader's role,
 * or unreadable), or NULL: its sections say so instead of showing zeros */
const char *olr_unavailable(const struct ol_report *r, const char *svc);
/* a money field of a row, formatted, or "withheld" when the row does not carry
 * it (removed for the reader's role) */
void olr_money(char *buf, size_t n, json_t *o, const char *field);

/* words (ol_report_words.c): raw text, escaped by the renderer. Each
 * returns buf. */
/* "Aisha Bose (p-0001)", or the id alone when the name is not known */
const char *olr_person(const struct ol_report *r, const char *id, char *buf, size_t n);
/* "e-07 Identity and access" (the name from the event when given, else
 * delivery.engagement's), or the id alone */
const char *olr_engagement(const struct ol_report *r, const char *id, const char *name, char *buf, size_t n);
/* a delivery status reason code in words ("MISSING_TIMESHEETS p-0071
 * 2250min 2026-W46" -> "Aisha Bose (p-0071) has 37h30 of 2026-W46 not logged") */
const char *olr_reason(const struct ol_report *r, json_t *status, const char *reason, char *buf, size_t n);
/* a contractor reconciliation status in words */
const char *olr_recon_status(const char *status);
/* a cover gap ({starts_at, ends_at, reason}) in words, with names */
const char *olr_gap(const struct ol_report *r, json_t *gap, char *buf, size_t n);
/* a shift on leave ("sh-000168 p-0024 PRIMARY") in words, with the name */
const char *olr_shift_on_leave(const struct ol_report *r, const char *s, char *buf, size_t n);
/* the persons of a JSON array of ids, with names, joined by ", ", at most max then "(+N more)" */
const char *olr_people(const struct ol_report *r, json_t *ids, size_t max, char *buf, size_t n);
/* the org utilisation sentence: the week, week-on-week change, and a
 * verdict only for a week that has ended; the figure is the *fig_len
 * bytes at *fig_at (0, 0 when there is none) */
const char *olr_org_sentence(const struct ol_report *r, char *buf, size_t n, size_t *fig_at, size_t *fig_len);
/* how the non-billable time of the week was invested (bench, training,
 * sales support, internal, live support); "" when the week has no figures */
const char *olr_invested_sentence(const struct ol_report *r, char *buf, size_t n);
/* the missing timesheets of the last ended week: people and time not logged */
const char *olr_missing_sentence(const struct ol_report *r, char *buf, size_t n);
/* trend week i against the target: "below", "on target", "in progress", "no data" (static) */
const char *olr_week_verdict(const struct ol_report *r, int i);
/* why "of which this week" is what it is when time is still pending; "" otherwise */
const char *olr_billing_note(const struct ol_report *r, char *buf, size_t n);
/* "client (bill to X)" where the bill-to differs, else the client */
const char *olr_client(const struct olr_money *m, char *buf, size_t n);
/* the billing table (section 2): money[i]'s cells (client with its bill-to,
 * 4 weeks, of which this week, approved, pending, lines); returns the
 * currency total that follows that row (its currency's last), else NULL */
#define OLR_BILLING_COLS 6
#define OLR_BILLING_SPEC "client|>4 weeks|>of which this week|>approved|>pending|>lines"
const struct olr_money_total *olr_billing_cells(const struct ol_report *r, int i, char c[OLR_BILLING_COLS][OLR_CELL]);
/* a currency's total row: "TOTAL GBP", the 4 weeks, this week, then empty cells */
void olr_billing_total_cells(const struct olr_money_total *t, char c[OLR_BILLING_COLS][OLR_CELL]);
/* the cells of one row of the other tables (ol_report_cells.c), raw text,
 * read by every form: the trend week i (week, utilisation, change,
 * billable, available, against target); a team below target; a person
 * with missing time (person with the name, team, not logged, available);
 * a post-close line (week, client, engagement, person or expense, amount
 * now, last change); a contractor invoice to chase (invoice, contractor
 * with the name, supplier, period: "2026-10-01 to 2026-10-31" with
 * full_period, else "2026-10-01..10-31", problem, expected, invoiced,
 * difference); a delivery managers' demand week (week, open roles,
 * bench supply, balance, rolling off); a budget running out (engagement,
 * runs out in, spent, estimate at completion, budget); a role's roll-offs
 * (role, people, who). The lists of people are in wide cells */
#define OLR_WIDE_CELL 2048
#define OLR_TREND_COLS 6
#define OLR_TREND_SPEC "week|>utilisation|>change|>billable|>available|against target"
#define OLR_TEAM_COLS 5
#define OLR_TEAM_SPEC "team|>utilisation|>billable|>available|>people"
#define OLR_MISSING_COLS 4
#define OLR_MISSING_SPEC "person|team|>not logged|>available"
#define OLR_POST_CLOSE_COLS 6
#define OLR_POST_CLOSE_SPEC "week|client|engagement|person or expense|>amount now|>last change"
#define OLR_CONTRACTOR_COLS 8
#define OLR_CONTRACTOR_SPEC "invoice|contractor|supplier|period|problem|>expected|>invoiced|>difference"
#define OLR_DM_DEMAND_COLS 5
#define OLR_DM_DEMAND_SPEC "week|>open roles|>bench supply|>balance|rolling off"
#define OLR_BUDGET_COLS 5
#define OLR_BUDGET_SPEC "engagement|runs out in|>spent|>estimate at completion|>budget"
#define OLR_ROLLOFF_COLS 3
#define OLR_ROLLOFF_SPEC "role|>people|who"
void olr_trend_cells(const struct ol_report *r, int i, char c[OLR_TREND_COLS][OLR_CELL]);
void olr_team_cells(json_t *o, char c[OLR_TEAM_COLS][OLR_CELL]);
void olr_missing_cells(const struct ol_report *r, json_t *o, char c[OLR_MISSING_COLS][OLR_CELL]);
void olr_post_close_cells(const struct ol_report *r, json_t *o, char c[OLR_POST_CLOSE_COLS][OLR_CELL]);
void olr_contractor_cells(const struct ol_report *r, json_t *o, int full_period,
                          char c[OLR_CONTRACTOR_COLS][OLR_CELL]);
void olr_dm_demand_cells(const struct ol_report *r, json_t *o, char c[OLR_DM_DEMAND_COLS][OLR_WIDE_CELL]);
void olr_budget_cells(const struct ol_report *r, json_t *o, char c[OLR_BUDGET_COLS][OLR_CELL]);
void olr_rolloff_cells(const struct ol_report *r, json_t *o, char c[OLR_ROLLOFF_COLS][OLR_WIDE_CELL]);
/* a delivery-manager demand row's balance: "short by 19h30", "78h00 spare", "even" */
const char *olr_dm_balance(json_t *o, char *buf, size_t n);
/* the "data as of" sentence */
const char *olr_as_of(const struct ol_report *r, char *buf, size_t n);

#endif
