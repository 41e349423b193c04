/* cmd_weekly — `opsledger report weekly --week W [--format text|md|html]
 * [--out FILE] [--data-dir DIR]`: the page the Head of Delivery takes to the
 * executive committee. This file only gathers: it runs each service's
 * `events` verb (read-only beside the running services) for the derived
 * topics the report asks for; the figures and the text, Markdown and HTML
 * forms are common/report (ol_report.h), shared with any other program that
 * shows the page. A service whose events cannot be read is named in the
 * report, not fatal; none readable at all is exit 1, some is exit 3. */
#include "cli.h"
#include "ol_escape.h"
#include "ol_file.h"
#include "ol_time.h"
#include "report/ol_report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------ running a service's `events` */
struct passthrough {
    char **v;
    int n;
};

/* runs opsledger-<svc> VERB --topic T [--key-prefix P] [--key-suffix S] + pass
 * (VERB: events, or entities without prefix and suffix); returns the JSON
 * lines as an array (caller owns) or NULL with err (the service's first
 * line of stderr) */
static json_t *events(const char *svc, const char *verb, const char *topic, const char *prefix, const char *suffix,
                      const struct passthrough *pass, char *err, size_t errlen)
{
    char *argv[16 + 64], *out = NULL;
    int a = 0;
    argv[a++] = NULL; /* the program name, set by cli_run_service */
    argv[a++] = (char *)verb;
    argv[a++] = "--topic";
    argv[a++] = (char *)topic;
    if (prefix) {
        argv[a++] = "--key-prefix";
        argv[a++] = (char *)prefix;
    }
    if (suffix) {
        argv[a++] = "--key-suffix";
        argv[a++] = (char *)suffix;
    }
    for (int i = 0; i < pass->n && a < 16 + 63; i++)
        argv[a++] = pass->v[i];
    argv[a] = NULL;
    /* the service's stderr is kept, so that its reason is printed once per
     * service at the end (not once per topic read) */
    char errpath[] = "/tmp/opsledger-weekly.XXXXXX";
    int efd = mkstemp(errpath);
    if (efd < 0) {
        snprintf(err, errlen, "cannot create a temporary file: %s", strerror(errno));
        return NULL;
    }
    int status = cli_run_service(svc, argv, errpath, &out);
    char msg[400] = "";
    FILE *ef = fdopen(efd, "r");
    if (ef) {
        if (!fgets(msg, sizeof msg, ef))
            msg[0] = '\0';
        msg[strcspn(msg, "\n")] = '\0';
        fclose(ef);
    } else
        close(efd);
    if (unlink(errpath))
        ol_esc_eprintf("report weekly: %s: %s\n", errpath, strerror(errno));
    if (status) {
        if (msg[0])
            snprintf(err, errlen, "%s", msg);
        else
            snprintf(err, errlen, "opsledger-%s %s --topic %s failed (%s %d)", svc, verb, topic,
                     status < 0 ? "could not run," : "exit", status);
        free(out);
        return NULL;
    }
    json_t *events = json_array();
    long lineno = 0;
    for (char *line = out, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        size_t len = next ? (size_t)(next - line) : strlen(line);
        if (next)
            next++;
        lineno++;
        json_error_t je;
        json_t *o = json_loadb(line, len, 0, &je);
        if (!o) {
            snprintf(err, errlen, "opsledger-%s %s %s: line %ld is not JSON: %.80s", svc, verb, topic, lineno,
                     je.text);
            json_decref(events);
            free(out);
            return NULL;
        }
        json_array_append_new(events, o);
    }
    free(out);
    return events;
}

/* what the report's callbacks share: the pass-through arguments, and the
 * entities read for names (topic -> {entity id -> latest version}, or null
 * when no service could list them: asked once) */
struct gather_ctx {
    const struct passthrough *pass;
    json_t *entities;
};

/* the report's events callback */
static json_t *service_events(void *ctx, const char *topic, const char *prefix, const char *suffix, char *err,
                              size_t errlen)
{
    struct gather_ctx *g = ctx;
    const char *svc = ol_report_publisher(topic);
    if (!svc) {
        snprintf(err, errlen, "no service publishes %s", topic);
        return NULL;
    }
    return events(svc, "events", topic, prefix, suffix, g->pass, err, errlen);
}

/* the report's name callback: the latest version of the entity, from the
 * first service that folds the topic and can list it (billing folds all
 * three input topics the report names things from; utilisation people and
 * engagements too), through the runtime's read-only `entities` verb. The
 * string returned lives in g->entities until cmd_weekly frees it. */
static const char *service_name(void *ctx, const char *topic, const char *id, const char *field)
{
    struct gather_ctx *g = ctx;
    json_t *byid = json_object_get(g->entities, topic);
    if (!byid) {
        static const char *const svcs[] = {"billing", "utilisation", NULL};
        json_t *a = NULL;
        char err[400];
        for (int i = 0; svcs[i] && !a; i++)
            if (strcmp(topic, "finance.contractor_invoice") || !strcmp(svcs[i], "billing"))
                a = events(svcs[i], "entities", topic, NULL, NULL, g->pass, err, sizeof err);
        byid = a ? json_object() : json_null();
        size_t i;
        json_t *o;
        const char *idf = !strcmp(topic, "hr.person")             ? "person_id"
                          : !strcmp(topic, "delivery.engagement") ? "engagement_id"
                                                                  : "invoice_id";
        json_array_foreach(a, i, o) if (json_is_string(json_object_get(o, idf)))
            json_object_set(byid, json_string_value(json_object_get(o, idf)), o);
        json_decref(a);
        json_object_set_new(g->entities, topic, byid);
    }
    return json_string_value(json_object_get(json_object_get(byid, id), field));
}

/* the most recent data time of the services that have one (their `status`
 * verb): the time of the latest fact the page includes, as the web page's
 * read model counts it; "" when none has. A service that lags behind is
 * `opsledger status`'s and the metrics' to show, not this line's. */
static void data_time(const struct passthrough *pass, char *buf, size_t n)
{
    static const char *const svcs[] = {"utilisation", "billing", "assurance", "forecast"};
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof svcs / sizeof svcs[0]; i++) {
        char *argv[8 + 64], *out = NULL;
        int a = 0;
        argv[a++] = NULL;
        argv[a++] = "status";
        for (int k = 0; k < pass->n && a < 8 + 63; k++)
            argv[a++] = pass->v[k];
        argv[a] = NULL;
        if (cli_run_service(svcs[i], argv, "/dev/null", &out) == 0 && out) {
            char *p = strstr(out, "\n  data_time ");
            char t[40];
            if (p && sscanf(p + 13, " %39s", t) == 1 && t[0] >= '0' && t[0] <= '9' && (!buf[0] || strcmp(t, buf) > 0))
                snprintf(buf, n, "%s", t);
        }
        free(out);
    }
}

int cmd_weekly(int argc, char **argv)
{
    const char *week = NULL, *format = "text", *out = NULL;
    struct passthrough pass = {calloc((size_t)argc + 1, sizeof(char *)), 0};
    struct ol_report *r = NULL;
    struct gather_ctx g = {&pass, NULL};
    ol_week w;
    char err[512];
    int rc = 2;
    if (!pass.v)
        return 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--week") && i + 1 < argc)
            week = argv[++i];
        else if (!strcmp(argv[i], "--format") && i + 1 < argc)
            format = argv[++i];
        else if (!strcmp(argv[i], "--out") && i + 1 < argc)
            out = argv[++i];
        else if (argv[i][0] == '-' && i + 1 < argc && strcmp(argv[i], "--db")) {
            pass.v[pass.n++] = argv[i]; /* --data-dir D, -c F, -o k=v, --schemas D: for every service */
            pass.v[pass.n++] = argv[++i];
        } else {
            rc = ol_usage_arg("report weekly", "unknown argument ", argv[i], NULL);
            goto out;
        }
    }
    if (ol_week_arg("report weekly", "--week", week, &w))
        goto out;
    if (strcmp(format, "text") && strcmp(format, "md") && strcmp(format, "html")) {
        fprintf(stderr, "usage: opsledger report weekly --week 2026-W47 [--format text|md|html] [--out FILE] "
                        "[--data-dir DIR]\n");
        goto out;
    }
    char as_of[40];
    g.entities = json_object();
    data_time(&pass, as_of, sizeof as_of);
    struct ol_report_source src = {service_events, service_name, &g, as_of};
    char wk[9];
    ol_week_format(w, wk);
    r = ol_report_weekly(&src, wk, err, sizeof err);
    if (!r) {
        ol_esc_eprintf("report weekly: %s\n", err);
        rc = 1;
        goto out;
    }
    int nmissing = ol_report_unavailable(r);
    if (nmissing == 6) { /* no service at all: nothing to report, and a cron job must notice */
        fprintf(stderr, "report weekly: no projection could be read, no report written:\n");
        for (int i = 0; i < nmissing; i++) {
            char *shown = ol_esc(OL_ESC_TEXT, ol_report_unavailable_reason(r, i)); /* freed here */
            fprintf(stderr, "  %s\n", shown ? shown : "?");
            free(shown);
        }
        rc = 1;
        goto out;
    }
    FILE *f = out ? ol_fopen_private(out, "w") : stdout;
    if (!f) {
        ol_esc_eprintf("report weekly: %s: %s\n", out, strerror(errno));
        rc = 1;
        goto out;
    }
    rc = 0;
    enum ol_report_format fmt = !strcmp(format, "html") ? OL_REPORT_HTML
                                : !strcmp(format, "md") ? OL_REPORT_MD
                                                        : OL_REPORT_TEXT;
    if (ol_report_render(f, r, fmt)) {
        fprintf(stderr, "report weekly: out of memory\n");
        rc = 1;
    }
    if (fflush(f) || ferror(f)) {
        ol_esc_eprintf("report weekly: %s: write error\n", out ? out : "stdout");
        rc = 1;
    }
    if (out && fclose(f)) {
        ol_esc_eprintf("report weekly: %s: %s\n", out, strerror(errno));
        rc = 1;
    }
    for (int i = 0; i < nmissing; i++) {
        char *shown = ol_esc(OL_ESC_TEXT, ol_report_unavailable_reason(r, i)); /* freed here; may quote the data */
        fprintf(stderr, "report weekly: %s: %s\n", ol_report_unavailable_service(r, i), shown ? shown : "?");
        free(shown);
    }
    if (nmissing && !rc) { /* the page is printed, but incomplete: say so in the status too */
        fprintf(stderr, "report weekly: incomplete: %d of 6 services could not be read (exit status 3)\n", nmissing);
        rc = 3;
    }
out:
    ol_report_free(r);
    json_decref(g.entities);
    free(pass.v);
    return rc;
}
