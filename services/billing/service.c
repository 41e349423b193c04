/* service — the declaration of opsledger-billing: billing lines for finance
 * (TIME_AND_MATERIALS time and rechargeable expenses) and contractor invoice
 * reconciliation (SPEC section 3). */
#include "billing.h"
#include "ol_svcmain.h"

#include <stdlib.h>

static const char *const inputs[] = {"delivery.engagement", "delivery.allocation", "hr.person",
                                     "timesheet.entry", "finance.expense", "finance.contractor_invoice",
                                     "finance.period", NULL};
static const char *const outputs[] = {"finance.billing.line", "finance.contractor.reconciliation", NULL};
static const char *const dbs[] = {"ep_entries", "pe",    "wk_lines", "allocs", "expenses", "exp_by_eng",
                                  "invoices",   "lines", "recon",    "changed_at", NULL};

static int billing_init(ol_runtime *rt, void **state)
{
    struct bill_state *s = calloc(1, sizeof *s);
    int64_t v;
    char err[256];
    if (!s)
        return -1;
    if (ol_config_get_i64(ol_runtime_config(rt), "billing.recon_tolerance_minutes", 0, &v, err, sizeof err) ||
        v < 0 || v > 100000)
        goto fail;
    s->tol_minutes = (int32_t)v;
    if (ol_config_get_i64(ol_runtime_config(rt), "billing.recon_tolerance_minor", 1, &v, err, sizeof err) || v < 0)
        goto fail;
    s->tol_minor = v;
    if (billing_layout_upgrade(rt))
        goto fail;
    *state = s;
    return 0;
fail:
    free(s);
    return -1;
}

const ol_service billing_service = {
    .name = "billing",
    .inputs = inputs,
    .outputs = outputs,
    .dbs = dbs,
    .init = billing_init,
    .fini = free,
    .apply = billing_apply,
    .flush = billing_flush,
};

const ol_verb billing_verbs[] = {
    {"query", billing_query, "query --week 2026-W46 [--engagement E] [--explain] [--format table|csv|json] [--db DIR]"},
    {"report", billing_report,
     "report --week 2026-W46 | report contractors --from 2026-W40 --to 2026-W46 [--db DIR]"},
    {NULL, NULL, NULL},
};
