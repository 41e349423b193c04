/* service — the declaration of opsledger-assurance: the weekly RAG status of
 * every delivery with its reasons (ops.delivery.status) and the interrupt
 * cover of every live service (ops.cover.gaps); its inputs, outputs,
 * databases, thresholds, fold and verbs. */
#include "assurance.h"
#include "ol_escape.h"
#include "ol_svcmain.h"

#include <stdio.h>
#include <stdlib.h>

static const char *const inputs[] = {"delivery.risk",          "delivery.engagement",   "delivery.allocation",
                                     "ops.rota",               "hr.leave",              "ops.forecast.engagement",
                                     "ops.timesheet.missing",  NULL};
static const char *const outputs[] = {"ops.delivery.status", "ops.cover.gaps", NULL};
static const char *const dbs[] = {"engs",    "risk_vers", "eng_risks", "fc_vers", "eng_allocs", "missing", "person_engs",
                                  "shifts",  "pshifts",   "leaves",    "status",  "cover",      "ameta",   NULL};

/* one threshold from configuration, within [lo, hi] */
static int threshold(ol_runtime *rt, const char *name, int64_t def, int64_t lo, int64_t hi, int32_t *out)
{
    char err[256];
    int64_t v;
    if (ol_config_get_i64(ol_runtime_config(rt), name, def, &v, err, sizeof err)) {
        ol_esc_eprintf("assurance: %s\n", err);
        return -1;
    }
    if (v < lo || v > hi) {
        fprintf(stderr, "assurance: %s = %lld is outside %lld..%lld\n", name, (long long)v, (long long)lo,
                (long long)hi);
        return -1;
    }
    *out = (int32_t)v;
    return 0;
}

static int as_init(ol_runtime *rt, void **state)
{
    struct as_state *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    if (threshold(rt, "assurance.eac_red_bp", 11000, 0, 1000000, &s->eac_red_bp) ||
        threshold(rt, "assurance.spend_red_bp", 10000, 0, 1000000, &s->spend_red_bp) ||
        threshold(rt, "assurance.burn_ahead_bp", 1000, 0, 10000, &s->burn_ahead_bp) ||
        threshold(rt, "assurance.open_role_days", 14, 0, 366, &s->open_role_days) ||
        threshold(rt, "assurance.missing_minutes", 450, 1, 100000, &s->missing_minutes)) {
        free(s);
        return -1;
    }
    *state = s;
    return 0;
}

const ol_service assurance_service = {
    .name = "assurance",
    .inputs = inputs,
    .outputs = outputs,
    .dbs = dbs,
    .init = as_init,
    .fini = free,
    .apply = as_apply,
    .history = as_history,
    .flush = as_flush,
};

const ol_verb assurance_verbs[] = {
    {"query", as_query,
     "query [status] --week W [--rag R] [--engagement E] [--format table|json] | query cover --from DAY [--to DAY] "
     "[--service S] [--format table|json] [--db DIR]"},
    {"report", as_report, "report [status] --week W [--db DIR]"},
    {NULL, NULL, NULL},
};
