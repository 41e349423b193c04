/* ol_report — the executive weekly report, computed and rendered by one code
 * whoever gathers the events: `opsledger report weekly` reads them through
 * each service's `events` verb, a web service through its own read model.
 * The report never knows where events come from: it asks a callback for a
 * derived topic's events (the last event per key, as `opsledger-<svc>
 * events` prints them) and another for display names. Figures are integers
 * (minutes, minor units, basis points); every string from the data is
 * escaped for the output format (ol_escape).
 *
 *   struct ol_report_source src = {my_events, my_name, ctx};
 *   struct ol_report *r = ol_report_weekly(&src, "2026-W47", err, sizeof err);
 *   if (r) { ol_report_render(stdout, r, OL_REPORT_HTML); ol_report_free(r); } */
#ifndef OL_REPORT_H
#define OL_REPORT_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* The events of one derived topic (ops.utilisation.weekly,
 * ops.timesheet.missing, finance.billing.line,
 * finance.contractor.reconciliation, ops.delivery.status, ops.cover.gaps,
 * ops.forecast.engagement, ops.forecast.demand, ops.headcount.weekly,
 * finance.margin.weekly): a JSON array of objects
 * whose fields are the topic's schema fields, the last event per key,
 * restricted to keys starting with key_prefix and ending with key_suffix
 * when those are not NULL. Returns a new reference (the report releases
 * it), or NULL with a one-line reason in err when the topic cannot be read:
 * the report then names the publishing service as not available and prints
 * the rest. */
typedef json_t *(*ol_report_events_fn)(void *ctx, const char *topic, const char *key_prefix,
                                       const char *key_suffix, char *err, size_t errlen);

/* A display field of an input entity: topic "hr.person" (field "name") or
 * "delivery.engagement" (fields "name", "client", "bill_to"), id its entity
 * id. Returns a string that stays valid until the report is freed, or NULL
 * when unknown (the report then prints the id alone). May be NULL itself. */
typedef const char *(*ol_report_name_fn)(void *ctx, const char *topic, const char *id, const char *field);

struct ol_report_source {
    ol_report_events_fn events; /* required */
    ol_report_name_fn name;     /* optional */
    void *ctx;                  /* passed to both */
};

/* The service that publishes one of the derived topics above ("billing" for
 * finance.billing.line), or NULL for another topic: for a source that reads
 * each service's events (static strings). */
const char *ol_report_publisher(const char *topic);

enum ol_report_format { OL_REPORT_TEXT, OL_REPORT_MD, OL_REPORT_HTML };

struct ol_report;

/* Gathers the events of the week `week` ("2026-W47") and computes the
 * figures. Returns the report (caller owns: ol_report_free), or NULL with a
 * message in err when week is not a valid ISO week or memory ran out. A
 * topic that cannot be read is not an error: see ol_report_unavailable. */
struct ol_report *ol_report_weekly(const struct ol_report_source *src, const char *week, char *err,
                                   size_t errlen);

/* How many publishing services could not be read (0..6); for i below that,
 * the service's name ("billing") and its reason (both owned by r). */
int ol_report_unavailable(const struct ol_report *r);
const char *ol_report_unavailable_service(const struct ol_report *r, int i);
const char *ol_report_unavailable_reason(const struct ol_report *r, int i);

/* Writes the report in one format. Returns 0, or -1 when memory ran out
 * (a write error is the caller's ferror(f)). */
int ol_report_render(FILE *f, const struct ol_report *r, enum ol_report_format fmt);

void ol_report_free(struct ol_report *r);

#endif
