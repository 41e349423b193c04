/* service — the declaration of opsledger-forecast: capacity, allocation and
 * utilisation 12 weeks ahead (holidays, joiners and leavers included), every
 * engagement's budget to completion, and role demand against bench supply
 * (SPEC section 3): its inputs, outputs, databases, fold and verbs. */
#include "forecast.h"
#include "ol_svcmain.h"

#include <stdlib.h>

static const char *const inputs[] = {"hr.person", "hr.leave", "delivery.allocation", "delivery.engagement",
                                     "finance.billing.line", NULL};
static const char *const outputs[] = {"ops.forecast.weekly", "ops.forecast.engagement", "ops.forecast.demand",
                                      NULL};
static const char *const dbs[] = {"people", "leaves", "allocs", "open_roles", "eng_allocs", "engs", "lines",
                                  "team_people", "role_people", "weekly", "demand", "budget", "fmeta", NULL};

static int fc_init(ol_runtime *rt, void **state)
{
    struct fc_state *s = calloc(1, sizeof *s);
    int64_t v;
    char err[256];
    if (!s)
        return -1;
    if (ol_config_get_i64(ol_runtime_config(rt), "forecast.target_bp", 8500, &v, err, sizeof err) || v < 0 ||
        v > 10000) {
        free(s);
        return -1;
    }
    s->target_bp = (int32_t)v;
    *state = s;
    return 0;
}

const ol_service forecast_service = {
    .name = "forecast",
    .inputs = inputs,
    .outputs = outputs,
    .dbs = dbs,
    .init = fc_init,
    .fini = free,
    .apply = fc_apply,
    .flush = fc_flush,
};

const ol_verb forecast_verbs[] = {
    {"query", fc_query, "query [--week 2026-W49] [--team T] [--person P] [--format table|csv|json] [--db DIR]"},
    {"report", fc_report,
     "report [forecast] [--team T] | report budgets | report demand [--role R] [--db DIR]"},
    {NULL, NULL, NULL},
};
