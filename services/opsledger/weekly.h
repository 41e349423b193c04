/* weekly — the executive weekly report (`opsledger report weekly`), composed
 * from the events each service published (`opsledger-<svc> events`), never
 * from a service's own tables: the derived topics' schemas are the contract.
 *
 * cmd_weekly.c gathers the events and computes the figures (integers only),
 * weekly_text.c prints them as text or Markdown, weekly_html.c as one
 * self-contained HTML page with inline SVG charts. */
#ifndef OL_WEEKLY_H
#define OL_WEEKLY_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#define WK_TREND 8

struct wk_util {
    char week[9];
    int present, has_bp;
    int64_t available, billable, bench, training, sales, internal, live;
    int32_t bp, target;
};

struct wk_money {
    char client[128], currency[8];
    int64_t amount, amount_week, pending_minutes, approved_minutes; /* W-3..W; amount_week: W alone */
    int lines;
};

struct wk_report {
    char week[9], next_week[9], prev4[9], prev1[9];
    const char *missing[8]; /* services whose events could not be read, with the reason in errors */
    char errors[8][512];
    int nmissing;
    /* utilisation */
    struct wk_util trend[WK_TREND]; /* oldest first, the report week last */
    json_t *teams;                  /* TEAM rows of the week, below target, worst first */
    int64_t missing_people, missing_minutes; /* of the last closed week, W-1 */
    /* billing */
    struct wk_money *money;
    int nmoney;
    json_t *post_close;  /* post_close lines of weeks up to the report week, largest change first */
    json_t *contractors; /* reconciliations not MATCHED whose period overlaps the last 4 weeks */
    /* assurance */
    json_t *status; /* the week's ops.delivery.status of active engagements, RED, AMBER, GREEN */
    int rag[3];     /* GREEN, AMBER, RED */
    json_t *cover;  /* next week's ops.cover.gaps with a gap */
    /* forecast */
    json_t *budgets;  /* ops.forecast.engagement that run out, by run-out week */
    json_t *rolloffs; /* ops.forecast.demand of the week with roll-offs */
};

/* both escape every string from the data (ol_escape); 0, or -1 when out of
 * memory (a write error is the caller's ferror(f)) */
int wk_text(FILE *f, const struct wk_report *r, int markdown);
int wk_html(FILE *f, const struct wk_report *r);

/* shared by the renderers */
const char *wk_str(json_t *o, const char *field);
long long wk_int(json_t *o, const char *field);

#endif
