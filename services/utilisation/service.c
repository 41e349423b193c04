/* service — the declaration of opsledger-utilisation: weekly utilisation
 * against the 85 % target, the bench-investment split and missing timesheets
 * (SPEC section 3): its inputs, outputs, databases, fold and verbs. */
#include "ol_svcmain.h"
#include "util.h"

#include <stdlib.h>

static const char *const inputs[] = {"hr.person", "hr.leave", "timesheet.entry", "delivery.engagement", NULL};
static const char *const outputs[] = {"ops.utilisation.weekly", "ops.timesheet.missing", NULL};
static const char *const dbs[] = {"people", "leaves", "week_time", "entries", "person_weeks", "engagements", "eng_pw",
                                  "team_people", "util", "umeta", NULL};

static int util_init(ol_runtime *rt, void **state)
{
    struct util_state *s = calloc(1, sizeof *s);
    int64_t v;
    char err[256];
    if (!s)
        return -1;
    if (ol_config_get_i64(ol_runtime_config(rt), "utilisation.target_bp", 8500, &v, err, sizeof err) || v < 0 ||
        v > 10000)
        goto fail;
    s->target_bp = (int32_t)v;
    if (ol_config_get_i64(ol_runtime_config(rt), "utilisation.history_weeks", 104, &v, err, sizeof err) || v < 1 ||
        v > 1000)
        goto fail;
    s->history_weeks = (int32_t)v;
    if (util_layout_upgrade(rt))
        goto fail;
    *state = s;
    return 0;
fail:
    free(s);
    return -1;
}

const ol_service utilisation_service = {
    .name = "utilisation",
    .inputs = inputs,
    .outputs = outputs,
    .dbs = dbs,
    .init = util_init,
    .fini = free,
    .apply = util_apply,
    .flush = util_flush,
};

const ol_verb utilisation_verbs[] = {
    {"query", util_query, "query --week 2026-W46 [--team T] [--person P] [--format table|csv|json] [--db DIR]"},
    {"report", util_report, "report [--from 2026-W40] --to 2026-W46 [--team T] [--db DIR]"},
    {NULL, NULL, NULL},
};
