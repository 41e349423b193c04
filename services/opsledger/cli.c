/* cli — helpers shared by the subcommands, and the dispatch to service
 * executables (opsledger-<service>), found beside this binary or on PATH. */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

ol_schemas *cli_load_schemas(const ol_config *cfg)
{
    char err[512];
    ol_schemas *s = NULL;
    const char *dir = ol_config_get(cfg, "schemas_dir", ol_schemas_default_dir());
    if (ol_schemas_load(dir, &s, err, sizeof err)) {
        fprintf(stderr, "opsledger: schemas: %s\n", err);
        return NULL;
    }
    return s;
}

int cli_is_derived(const char *topic)
{
    static const char *inputs[] = {"hr.person", "hr.leave", "delivery.engagement", "delivery.allocation",
                                   "timesheet.entry", "finance.contractor_invoice", "finance.expense",
                                   "finance.period", "delivery.risk", "ops.rota"};
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++)
        if (!strcmp(topic, inputs[i]))
            return 0;
    return 1;
}

const char **cli_all_topics(const ol_schemas *s, size_t *n)
{
    const char **t = calloc(s->n + 2, sizeof *t);
    size_t k = 0;
    if (!t)
        return NULL;
    for (size_t i = 0; i < s->n; i++) {
        int dup = 0;
        for (size_t j = 0; j < k; j++)
            dup |= !strcmp(t[j], s->v[i].topic);
        if (!dup)
            t[k++] = s->v[i].topic;
    }
    t[k++] = "ops.deadletter";
    t[k] = NULL;
    *n = k;
    return t;
}

int cmd_service(const char *verb, int argc, char **argv)
{
    char self[PATH_MAX], path[PATH_MAX + 256], name[128];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    const char *service = argv[0];
    /* reports named after what they show, served by the service that owns it:
     * `report contractors` is billing's, `report budgets|demand` forecast's */
    static const char *const aliases[][2] = {{"contractors", "billing"}, {"budgets", "forecast"},
                                             {"demand", "forecast"}};
    int alias = 0;
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (!strcmp(service, aliases[i][0])) {
            alias = 1;
            service = aliases[i][1];
        }
    const char *alias_name = argv[0];

    snprintf(name, sizeof name, "opsledger-%s", service);
    char **args = calloc((size_t)argc + 3, sizeof *args);
    if (!args)
        return 2;
    int j = 0;
    args[j++] = name;
    args[j++] = (char *)verb;
    if (alias)
        args[j++] = (char *)alias_name;
    for (int i = 1; i < argc; i++)
        args[j++] = argv[i];
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = '\0';
            snprintf(path, sizeof path, "%s/%s", self, name);
            if (access(path, X_OK) == 0)
                execv(path, args);
        }
    }
    execvp(name, args);
    fprintf(stderr, "opsledger: no service '%s' (%s not found beside opsledger or on PATH: %s)\n", service, name,
            strerror(errno));
    free(args);
    return 2;
}
