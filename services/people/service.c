/* service — the declaration of opsledger-people: headcount, joiners, leavers,
 * trailing-52-week attrition, median tenure and delivery-manager supply
 * against demand (SPEC section 3 "Headcount and retention"): its inputs,
 * outputs, databases, configuration, fold and verbs. */
#include "people.h"
#include "ol_escape.h"
#include "ol_log.h"
#include "ol_svcmain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const inputs[] = {"hr.person", "hr.leave", "delivery.allocation", NULL};
static const char *const outputs[] = {"ops.headcount.weekly", NULL};
static const char *const dbs[] = {"persons", "leaves", "allocs", "rows", "hmeta", NULL};

/* one integer setting within [lo, hi]; 0 or -1 (logged) */
static int setting(const ol_config *cfg, const char *key, int64_t def, int64_t lo, int64_t hi, int32_t *out)
{
    int64_t v;
    char err[256];
    if (ol_config_get_i64(cfg, key, def, &v, err, sizeof err)) {
        ol_esc_eprintf("opsledger-people: %s\n", err);
        return -1;
    }
    if (v < lo || v > hi) {
        fprintf(stderr, "opsledger-people: %s = %lld is outside %lld..%lld\n", key, (long long)v, (long long)lo,
                (long long)hi);
        return -1;
    }
    *out = (int32_t)v;
    return 0;
}

/* the settings, shared by the fold and the read verbs; 0 or -1 */
int hc_settings(const ol_config *cfg, struct hc_state *s)
{
    const char *role = ol_config_get(cfg, "people.dm_role", "DELIVERY_MANAGER");
    if (setting(cfg, "people.standard_week_minutes", 2250, 1, 10080, &s->standard_week) ||
        setting(cfg, "people.dm_ceiling_bp", 11500, 10000, 1000000, &s->ceiling_bp))
        return -1;
    if (!*role || strlen(role) >= sizeof s->dm_role) {
        fprintf(stderr, "opsledger-people: people.dm_role must be 1..127 bytes\n");
        return -1;
    }
    snprintf(s->dm_role, sizeof s->dm_role, "%s", role);
    return 0;
}

/* allocates the state; the runtime frees it with fini */
static int hc_init(ol_runtime *rt, void **state)
{
    struct hc_state *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    if (hc_settings(ol_runtime_config(rt), s)) {
        free(s);
        return -1;
    }
    *state = s;
    return 0;
}

const ol_service people_service = {
    .name = "people",
    .inputs = inputs,
    .outputs = outputs,
    .dbs = dbs,
    .init = hc_init,
    .fini = free,
    .apply = hc_apply,
    .flush = hc_flush,
};

const ol_verb people_verbs[] = {
    {"query", hc_query, "query [--week W] [--scope role|team|org|employment] [--format table|csv|json] [--db DIR]"},
    {"report", hc_report, "report [headcount] [--from W] [--to W] [--format text|csv|json] [--db DIR]"},
    {NULL, NULL, NULL},
};
