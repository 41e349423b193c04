/* cli — helpers shared by the subcommands, and the dispatch to service
 * executables (opsledger-<service>), found beside this binary or on PATH. */
#include "cli.h"
#include "ol_escape.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

ol_schemas *cli_load_schemas(const ol_config *cfg)
{
    char err[512];
    ol_schemas *s = NULL;
    const char *dir = ol_config_get(cfg, "schemas_dir", ol_schemas_default_dir());
    if (ol_schemas_load(dir, &s, err, sizeof err)) {
        ol_esc_eprintf("opsledger: schemas: %s\n", err);
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

/* path of opsledger-<service> beside this binary when it is there; else the
 * bare name (for execvp, which searches PATH) */
static void service_exe(const char *name, char *path, size_t len)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    snprintf(path, len, "%s", name);
    if (n <= 0)
        return;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash)
        return;
    *slash = '\0';
    char cand[PATH_MAX + 256];
    snprintf(cand, sizeof cand, "%s/%s", self, name);
    if (access(cand, X_OK) == 0 && strlen(cand) < len)
        snprintf(path, len, "%s", cand);
}

int cli_run_service(const char *service, char **args, const char *err_file, char **out)
{
    char name[128], path[PATH_MAX + 256];
    int fd[2], status;
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap); /* owned here until handed to *out */
    pid_t pid;

    *out = NULL;
    if (!buf)
        return -1;
    snprintf(name, sizeof name, "opsledger-%s", service);
    service_exe(name, path, sizeof path);
    if (pipe(fd)) {
        free(buf);
        return -1;
    }
    fflush(stdout);
    fflush(stderr);
    if ((pid = fork()) < 0) {
        close(fd[0]);
        close(fd[1]);
        free(buf);
        return -1;
    }
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        if (err_file) {
            int e = open(err_file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
            if (e >= 0) {
                dup2(e, 2);
                close(e);
            }
        }
        args[0] = name;
        if (strchr(path, '/'))
            execv(path, args);
        else
            execvp(name, args);
        fprintf(stderr, "opsledger: %s not found beside opsledger or on PATH: %s\n", name, strerror(errno));
        _exit(127);
    }
    close(fd[1]);
    int nomem = 0;
    for (;;) {
        char scratch[4096];
        if (!nomem && cap - len < 2048) {
            char *nb = realloc(buf, cap * 2);
            if (nb) {
                buf = nb;
                cap *= 2;
            } else
                nomem = 1; /* keep draining so that the child never blocks on a full pipe */
        }
        ssize_t r = nomem ? read(fd[0], scratch, sizeof scratch) : read(fd[0], buf + len, cap - len - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (!nomem)
            len += (size_t)r;
    }
    close(fd[0]);
    buf[len] = '\0';
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            free(buf);
            return -1;
        }
    if (nomem) {
        fprintf(stderr, "opsledger: out of memory reading the output of %s\n", name);
        free(buf);
        return -1;
    }
    *out = buf;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int cmd_service(const char *verb, int argc, char **argv)
{
    char self[PATH_MAX], path[PATH_MAX + 256], name[128];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    const char *service = argv[0];
    /* reports named after what they show, served by the service that owns it:
     * `report contractors` is billing's, `report budgets|demand` forecast's,
     * `report headcount` people's */
    static const char *const aliases[][2] = {{"contractors", "billing"}, {"budgets", "forecast"},
                                             {"demand", "forecast"}, {"headcount", "people"}};
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
    char why[256];
    snprintf(why, sizeof why, "' (no opsledger-SERVICE of that name beside opsledger or on PATH: %s)", strerror(errno));
    free(args);
    return ol_usage_arg("opsledger", "no service '", service, why);
}

/* edit distance of two short names, capped (for "did you mean") */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[128];
    if (la >= 127 || lb >= 127)
        return 99;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return row[lb];
}

int cli_check_topic(const ol_schemas *s, const char *topic, const char *prog)
{
    size_t n, best = 99;
    const char **all = cli_all_topics(s, &n), *near = NULL;
    if (!all) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(all[i], topic)) {
            free(all);
            return 0;
        }
        size_t d = distance(all[i], topic);
        if (d < best) {
            best = d;
            near = all[i];
        }
    }
    ol_esc_arena esc = OL_ESC_ARENA_INIT;
    fprintf(stderr, "%s: no topic '%s' in the contract", prog, ol_esc_a(&esc, OL_ESC_TEXT, topic));
    if (near && best <= 3)
        fprintf(stderr, " (did you mean %s?)", near);
    fprintf(stderr, "\n  topics:");
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "%s %s", i ? "," : "", all[i]);
    fprintf(stderr, "\n");
    ol_esc_arena_reset(&esc);
    free(all);
    return -1;
}

int cli_broker_ready(rd_kafka_t *rk, const ol_config *cfg, const char *prog, int timeout_ms)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, NULL, &md, timeout_ms);
    if (!e) {
        rd_kafka_metadata_destroy(md);
        return 0;
    }
    const char *b = ol_config_get(cfg, "brokers", OL_DEFAULT_BROKERS);
    ol_esc_arena esc = OL_ESC_ARENA_INIT;
    fprintf(stderr,
            "%s: no Kafka broker answered at %s within %d s (%s)\n"
            "  %s\n"
            "  a local one: opsledger broker --bootstrap-file var/bootstrap.txt --wait &\n"
            "               export OPSLEDGER_BROKERS=$(cat var/bootstrap.txt)\n",
            prog, ol_esc_a(&esc, OL_ESC_TEXT, b), timeout_ms / 1000, rd_kafka_err2str(e),
            getenv("OPSLEDGER_BROKERS") ? "OPSLEDGER_BROKERS names it: is that broker running?"
                                        : "set OPSLEDGER_BROKERS=HOST:PORT (or pass --brokers HOST:PORT); "
                                          "without it the default is " OL_DEFAULT_BROKERS);
    ol_esc_arena_reset(&esc);
    return -1;
}

int cli_parse_long(const char *prog, const char *opt, const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        char what[128];
        snprintf(what, sizeof what, "%s must be an integer in %ld..%ld, got '", opt, lo, hi);
        (void)ol_usage_arg(prog, what, s, "'");
        return -1;
    }
    *out = v;
    return 0;
}
