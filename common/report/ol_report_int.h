/* ol_report_int — what the weekly report's files share (not public: see
 * ol_report.h). The report is composed from the events each service
 * published, never from a service's own tables: the derived topics' schemas
 * are the contract.
 *
 * ol_report_weekly.c gathers the events through the source's callbacks and
 * computes the figures (integers only), ol_report_text.c prints them as text
 * or Markdown, ol_report_html.c as one self-contained HTML page with inline
 * SVG charts. */
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
    char client[128], currency[8];
    int64_t amount, amount_week, pending_minutes, approved_minutes; /* W-3..W; amount_week: W alone */
    int lines;
};

struct ol_report {
    struct ol_report_source src;
    char week[9], next_week[9], prev4[9], prev1[9];
    const char *missing[8]; /* static names */ /* services whose events could not be read, with the reason in errors */
    char errors[8][512];
    int nmissing;
    /* utilisation */
    struct olr_util trend[OLR_TREND]; /* oldest first, the report week last */
    json_t *teams;                  /* TEAM rows of the week, below target, worst first */
    int64_t missing_people, missing_minutes; /* of the last closed week, W-1 */
    /* billing */
    struct olr_money *money;
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
    /* people and margin (ol_report_people.c) */
    json_t *dm;         /* ROLE|DELIVERY_MANAGER rows of the week and the 11 after, by week */
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
/* the people and margin sections (ol_report_text.c, ol_report_html.c) */
void olr_people_text(FILE *f, const struct ol_report *r, int md);
void olr_people_html(FILE *f, const struct ol_report *r);

/* shared by the renderers */
const char *olr_str(json_t *o, const char *field);
long long olr_int(json_t *o, const char *field);

#endif
