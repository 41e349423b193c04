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

/* runs opsledger-<svc> events --topic T [--key-prefix P] [--key-suffix S] + pass
 * (cli_run_service: its stderr passes through); returns the events (caller
 * owns) or NULL with err */
static json_t *events(const char *svc, const char *topic, const char *prefix, const char *suffix,
                      const struct passthrough *pass, char *err, size_t errlen)
{
    char *argv[16 + 64], *out = NULL;
    int a = 0;
    argv[a++] = NULL; /* the program name, set by cli_run_service */
    argv[a++] = "events";
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
        fprintf(stderr, "report weekly: %s: %s\n", errpath, strerror(errno));
    if (status) {
        if (msg[0])
            snprintf(err, errlen, "%s", msg);
        else
            snprintf(err, errlen, "opsledger-%s events --topic %s failed (%s %d)", svc, topic,
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
            snprintf(err, errlen, "opsledger-%s events %s: line %ld is not JSON: %.80s", svc, topic, lineno, je.text);
            json_decref(events);
            free(out);
            return NULL;
        }
        json_array_append_new(events, o);
    }
    free(out);
    return events;
}

/* the report's events callback: ctx is the pass-through arguments */
static json_t *service_events(void *ctx, const char *topic, const char *prefix, const char *suffix, char *err,
                              size_t errlen)
{
    const char *svc = ol_report_publisher(topic);
    if (!svc) {
        snprintf(err, errlen, "no service publishes %s", topic);
        return NULL;
    }
    return events(svc, topic, prefix, suffix, ctx, err, errlen);
}

int cmd_weekly(int argc, char **argv)
{
    const char *week = NULL, *format = "text", *out = NULL;
    struct passthrough pass = {calloc((size_t)argc + 1, sizeof(char *)), 0};
    struct ol_report *r = NULL;
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
            fprintf(stderr, "report weekly: unknown argument %s\n", argv[i]);
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
    struct ol_report_source src = {service_events, NULL, &pass};
    char wk[9];
    ol_week_format(w, wk);
    r = ol_report_weekly(&src, wk, err, sizeof err);
    if (!r) {
        fprintf(stderr, "report weekly: %s\n", err);
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
    FILE *f = out ? fopen(out, "w") : stdout;
    if (!f) {
        fprintf(stderr, "report weekly: %s: %s\n", out, strerror(errno));
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
        fprintf(stderr, "report weekly: %s: write error\n", out ? out : "stdout");
        rc = 1;
    }
    if (out && fclose(f)) {
        fprintf(stderr, "report weekly: %s: %s\n", out, strerror(errno));
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
    free(pass.v);
    return rc;
}
