/* test_report_withheld — common/report when a reader may not see money: a
 * service whose topics are withheld (the events callback refuses them) is
 * said to be not available in its own section, never shown as zero lines
 * or zero discrepancies; a row whose money fields were removed shows
 * "withheld" in their cells, never 0.00. A fake source stands for the web
 * read model as the ops role reads it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "report/ol_report.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* billing is withheld; one engagement's budget runs out, its money removed */
static json_t *events(void *ctx, const char *topic, const char *prefix, const char *suffix, char *err,
                      size_t errlen)
{
    (void)ctx, (void)prefix, (void)suffix;
    if (!strncmp(topic, "finance.", 8)) {
        snprintf(err, errlen, "not shown to the ops role (money)");
        return NULL;
    }
    if (!strcmp(topic, "ops.forecast.engagement"))
        return json_pack("[{s:s,s:s,s:s}]", "engagement_id", "e-01", "budget_runs_out_week", "2026-W50", "currency",
                         "GBP");
    return json_array();
}

/* the report rendered in one format: a new string (caller frees) */
static char *render(enum ol_report_format fmt)
{
    char err[300], *out = NULL;
    size_t len = 0;
    struct ol_report_source src = {events, NULL, NULL, NULL};
    struct ol_report *r = ol_report_weekly(&src, "2026-W47", err, sizeof err);
    assert_non_null(r);
    FILE *f = open_memstream(&out, &len);
    assert_non_null(f);
    assert_int_equal(ol_report_render(f, r, fmt), 0);
    assert_int_equal(fclose(f), 0);
    ol_report_free(r);
    return out;
}

/* the text between the heading of section n and the next one */
static char *section(const char *doc, const char *start, const char *end)
{
    const char *a = strstr(doc, start), *b = a ? strstr(a, end) : NULL;
    assert_non_null(a);
    assert_non_null(b);
    char *s = strndup(a, (size_t)(b - a));
    assert_non_null(s);
    return s;
}

static void check(enum ol_report_format fmt, const char *h2, const char *h3, const char *h4, const char *h5)
{
    char *doc = render(fmt);
    char *billing = section(doc, h2, h3), *budgets = section(doc, h4, h5);
    assert_non_null(strstr(billing, "Not available: not shown to the ops role (money)."));
    assert_null(strstr(billing, "Post-close"));
    assert_null(strstr(billing, "discrepancies"));
    assert_null(strstr(billing, "0.00"));
    assert_non_null(strstr(budgets, "e-01"));
    assert_non_null(strstr(budgets, "withheld"));
    assert_null(strstr(budgets, "0.00"));
    free(billing);
    free(budgets);
    free(doc);
}

static void test_html(void **state)
{
    (void)state;
    check(OL_REPORT_HTML, "<h2>2.", "3. Delivery status</h2>", "<h2>4.", "<h2>5.");
}

static void test_text(void **state)
{
    (void)state;
    check(OL_REPORT_TEXT, "2. Billing", "3. Delivery", "4. Budgets", "5. Roll-offs");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_html),
        cmocka_unit_test(test_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
