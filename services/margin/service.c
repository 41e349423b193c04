/* service — the declaration of opsledger-margin: revenue (billing's
 * finance.billing.line), employees' cost, contractor and partner invoices
 * spread over their logged time, third-party expenses, and margin per
 * engagement-week and currency; every contractor or partner invoice matched
 * three ways (SPEC section 3 "Margin"): inputs, outputs, databases, fold and
 * verbs. */
#include "margin.h"
#include "ol_svcmain.h"

static const char *const inputs[] = {"hr.person", "delivery.engagement", "timesheet.entry",
                                     "finance.contractor_invoice", "finance.expense", "finance.billing.line",
                                     NULL};
static const char *const outputs[] = {"finance.margin.weekly", NULL};
static const char *const dbs[] = {"persons", "engs", "entries", "eng_entries", "lines", "invoices", "expenses",
                                  "rows", NULL};

const ol_service margin_service = {
    .name = "margin",
    .inputs = inputs,
    .outputs = outputs,
    .dbs = dbs,
    .apply = mg_apply,
    .flush = mg_flush,
};

const ol_verb margin_verbs[] = {
    {"report", mg_report, "report [margin] --week W [--format text|csv|json] [--db DIR]"},
    {"query", mg_report, "query --week W [--format text|csv|json] [--db DIR]   (as report)"},
    {NULL, NULL, NULL},
};
