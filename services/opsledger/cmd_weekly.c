/* cmd_weekly — `opsledger report weekly --week W [--format text|md|html]
 * [--out FILE] [--data-dir DIR]`: the page the Head of Delivery takes to the
 * executive committee. It runs each service's `events` verb (read-only
 * beside the running services) for the derived topics it needs, and
 * computes every figure in integers:
 *   utilisation  ORG rows of the 8 weeks to W (trend), TEAM rows of W below
 *                target, bench and how non-billable time was spent (ORG row
 *                of W), missing timesheets of W-1 (published once a week ended);
 *   billing      lines of W-3..W summed per client and currency (and W
 *                alone: its lines are pending until approved); post-close lines
 *                of weeks up to W; contractor reconciliations not MATCHED
 *                whose period overlaps W-3..W;
 *   assurance    the week's delivery status (CLOSED engagements left out),
 *                next week's cover gaps (days with a gap);
 *   forecast     budgets that run out (by run-out week), roll-offs of W.
 * A service whose events cannot be read is named in the report, not fatal. */
#include "cli.h"
#include "ol_escape.h"
#include "ol_time.h"
#include "weekly.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *wk_str(json_t *o, const char *field)
{
    const char *s = json_string_value(json_object_get(o, field));
    return s ? s : "";
}

long long wk_int(json_t *o, const char *field) { return (long long)json_integer_value(json_object_get(o, field)); }

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

/* events of one service, or the service noted as missing */
static json_t *gather(struct wk_report *r, const char *svc, const char *topic, const char *prefix,
                      const char *suffix, const struct passthrough *pass)
{
    char err[400] = "";
    for (int i = 0; i < r->nmissing; i++) /* asked once: the reason is the same for its other topics */
        if (!strcmp(r->missing[i], svc))
            return json_array();
    json_t *a = events(svc, topic, prefix, suffix, pass, err, sizeof err);
    if (a)
        return a;
    if (r->nmissing < 8) {
        r->missing[r->nmissing] = svc;
        snprintf(r->errors[r->nmissing], sizeof r->errors[0], "%s", err);
        r->nmissing++;
    }
    return json_array();
}

/* ------------------------------------------------------------ figures */
static int cmp_team(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    long long bx = wk_int(x, "utilisation_bp"), by = wk_int(y, "utilisation_bp");
    if (bx != by)
        return bx < by ? -1 : 1;
    return strcmp(wk_str(x, "scope_id"), wk_str(y, "scope_id"));
}

/* json_t arrays sorted by a comparator on elements */
static json_t *sorted(json_t *a, int (*cmp)(const void *, const void *))
{
    size_t n = json_array_size(a);
    json_t **v = malloc((n ? n : 1) * sizeof *v), *out = json_array();
    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(a, i);
    qsort(v, n, sizeof *v, cmp);
    for (size_t i = 0; i < n; i++)
        json_array_append(out, v[i]);
    free(v);
    return out;
}

static void utilisation(struct wk_report *r, ol_week w, const struct passthrough *pass)
{
    json_t *org = gather(r, "utilisation", "ops.utilisation.weekly", "ORG|", NULL, pass);
    for (int i = 0; i < WK_TREND; i++) {
        struct wk_util *u = &r->trend[i];
        ol_week_format(ol_week_add(w, i - (WK_TREND - 1)), u->week);
        size_t j;
        json_t *o;
        json_array_foreach(org, j, o)
        {
            if (strcmp(wk_str(o, "week"), u->week))
                continue;
            json_t *bp = json_object_get(o, "utilisation_bp");
            u->present = 1;
            u->available = wk_int(o, "available_minutes");
            u->billable = wk_int(o, "billable_minutes");
            u->bench = wk_int(o, "bench_minutes");
            u->training = wk_int(o, "training_minutes");
            u->sales = wk_int(o, "sales_support_minutes");
            u->internal = wk_int(o, "internal_minutes");
            u->live = wk_int(o, "live_support_minutes");
            u->has_bp = json_is_integer(bp);
            u->bp = (int32_t)json_integer_value(bp);
            u->target = (int32_t)wk_int(o, "target_bp");
        }
    }
    json_decref(org);
    char suffix[16];
    snprintf(suffix, sizeof suffix, "|%s", r->week);
    json_t *teams = gather(r, "utilisation", "ops.utilisation.weekly", "TEAM|", suffix, pass), *below = json_array();
    size_t j;
    json_t *o;
    json_array_foreach(teams, j, o) if (json_is_true(json_object_get(o, "below_target"))) json_array_append(below, o);
    r->teams = sorted(below, cmp_team);
    json_decref(below);
    json_decref(teams);
    char prev[16], pw[9];
    ol_week_format(ol_week_add(w, -1), pw);
    snprintf(prev, sizeof prev, "|%s", pw); /* published once a week has ended: the last closed week */
    json_t *missing = gather(r, "utilisation", "ops.timesheet.missing", NULL, prev, pass);
    json_array_foreach(missing, j, o) if (wk_int(o, "missing_minutes") > 0)
    {
        r->missing_people++;
        r->missing_minutes += wk_int(o, "missing_minutes");
    }
    json_decref(missing);
}

static int cmp_money(const void *a, const void *b)
{
    const struct wk_money *x = a, *y = b;
    int c = strcmp(x->currency, y->currency);
    return c ? c : strcmp(x->client, y->client);
}

static int cmp_recon(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int c = strcmp(wk_str(x, "status"), wk_str(y, "status"));
    return c ? c : strcmp(wk_str(x, "invoice_id"), wk_str(y, "invoice_id"));
}

/* the largest change first, then by line key */
static int cmp_post_close(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    long long dx = llabs(wk_int(x, "delta_minor")), dy = llabs(wk_int(y, "delta_minor"));
    if (dx != dy)
        return dx > dy ? -1 : 1;
    return strcmp(wk_str(x, "key"), wk_str(y, "key"));
}

static void billing(struct wk_report *r, ol_week w, const struct passthrough *pass)
{
    json_t *lines = gather(r, "billing", "finance.billing.line", NULL, NULL, pass);
    size_t j;
    json_t *o;
    r->post_close = json_array();
    json_array_foreach(lines, j, o)
    {
        ol_week lw;
        if (ol_week_parse(wk_str(o, "week"), &lw) || lw > w)
            continue;
        if (json_is_true(json_object_get(o, "post_close")))
            json_array_append(r->post_close, o);
        if (lw < ol_week_add(w, -3))
            continue;
        const char *client = wk_str(o, "client"), *cur = wk_str(o, "currency");
        int k;
        for (k = 0; k < r->nmoney; k++)
            if (!strcmp(r->money[k].client, client) && !strcmp(r->money[k].currency, cur))
                break;
        if (k == r->nmoney) {
            struct wk_money *m = realloc(r->money, (size_t)(r->nmoney + 1) * sizeof *m);
            if (!m)
                continue;
            r->money = m;
            memset(&m[k], 0, sizeof m[k]);
            snprintf(m[k].client, sizeof m[k].client, "%s", client);
            snprintf(m[k].currency, sizeof m[k].currency, "%s", cur);
            r->nmoney++;
        }
        r->money[k].amount += wk_int(o, "amount_minor");
        if (lw == w)
            r->money[k].amount_week += wk_int(o, "amount_minor");
        r->money[k].approved_minutes += wk_int(o, "approved_minutes");
        r->money[k].pending_minutes += wk_int(o, "pending_minutes");
        r->money[k].lines++;
    }
    if (r->nmoney)
        qsort(r->money, (size_t)r->nmoney, sizeof *r->money, cmp_money);
    json_t *pc = sorted(r->post_close, cmp_post_close);
    json_decref(r->post_close);
    r->post_close = pc;
    json_decref(lines);
    /* contractor invoices whose period overlaps the last 4 weeks and do not match */
    int32_t from = ol_week_monday(ol_week_add(w, -3)), to = ol_week_monday(w) + 6;
    json_t *recon = gather(r, "billing", "finance.contractor.reconciliation", NULL, NULL, pass), *bad = json_array();
    json_array_foreach(recon, j, o)
    {
        int32_t a, b;
        if (ol_date_parse(wk_str(o, "period_first_day"), &a) || ol_date_parse(wk_str(o, "period_last_day"), &b))
            continue;
        if (b < from || a > to || !strcmp(wk_str(o, "status"), "MATCHED"))
            continue;
        json_array_append(bad, o);
    }
    r->contractors = sorted(bad, cmp_recon);
    json_decref(bad);
    json_decref(recon);
}

static void assurance(struct wk_report *r, ol_week w, const struct passthrough *pass)
{
    char suffix[16];
    snprintf(suffix, sizeof suffix, "|%s", r->week);
    json_t *st = gather(r, "assurance", "ops.delivery.status", NULL, suffix, pass);
    static const char *const order[] = {"RED", "AMBER", "GREEN"};
    r->status = json_array();
    for (int i = 0; i < 3; i++) {
        size_t j;
        json_t *o;
        json_array_foreach(st, j, o)
        {
            if (json_is_true(json_object_get(o, "closed")) || strcmp(wk_str(o, "rag"), order[i]))
                continue;
            json_array_append(r->status, o);
            r->rag[2 - i]++;
        }
    }
    json_decref(st);
    /* next week's cover: the days' keys end in the date, so read all and keep the week */
    char d0[11], d1[11];
    ol_date_format(ol_week_monday(ol_week_add(w, 1)), d0);
    ol_date_format(ol_week_monday(ol_week_add(w, 1)) + 6, d1);
    json_t *cover = gather(r, "assurance", "ops.cover.gaps", NULL, NULL, pass);
    r->cover = json_array();
    size_t j;
    json_t *o;
    json_array_foreach(cover, j, o)
    {
        const char *day = wk_str(o, "day");
        if (strcmp(day, d0) < 0 || strcmp(day, d1) > 0)
            continue;
        if (json_array_size(json_object_get(o, "gaps")))
            json_array_append(r->cover, o);
    }
    json_decref(cover);
}

static int cmp_budget(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int c = strcmp(wk_str(x, "budget_runs_out_week"), wk_str(y, "budget_runs_out_week"));
    return c ? c : strcmp(wk_str(x, "engagement_id"), wk_str(y, "engagement_id"));
}

static void forecast(struct wk_report *r, const struct passthrough *pass)
{
    json_t *b = gather(r, "forecast", "ops.forecast.engagement", NULL, NULL, pass), *out = json_array();
    size_t j;
    json_t *o;
    json_array_foreach(b, j, o) if (json_is_string(json_object_get(o, "budget_runs_out_week"))) json_array_append(out, o);
    r->budgets = sorted(out, cmp_budget);
    json_decref(out);
    json_decref(b);
    char suffix[16];
    snprintf(suffix, sizeof suffix, "|%s", r->week);
    json_t *d = gather(r, "forecast", "ops.forecast.demand", NULL, suffix, pass);
    r->rolloffs = json_array();
    json_array_foreach(d, j, o) if (wk_int(o, "roll_offs_next_4_weeks") > 0) json_array_append(r->rolloffs, o);
    json_decref(d);
}

static void report_free(struct wk_report *r)
{
    json_decref(r->teams);
    json_decref(r->post_close);
    json_decref(r->contractors);
    json_decref(r->status);
    json_decref(r->cover);
    json_decref(r->budgets);
    json_decref(r->rolloffs);
    free(r->money);
}

int cmd_weekly(int argc, char **argv)
{
    const char *week = NULL, *format = "text", *out = NULL;
    struct passthrough pass = {calloc((size_t)argc + 1, sizeof(char *)), 0};
    struct wk_report r;
    ol_week w;
    int rc = 2;
    memset(&r, 0, sizeof r);
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
    ol_week_format(w, r.week);
    ol_week_format(ol_week_add(w, 1), r.next_week);
    ol_week_format(ol_week_add(w, -3), r.prev4);
    ol_week_format(ol_week_add(w, -1), r.prev1);
    utilisation(&r, w, &pass);
    billing(&r, w, &pass);
    assurance(&r, w, &pass);
    forecast(&r, &pass);
    if (r.nmissing == 4) { /* no service at all: nothing to report, and a cron job must notice */
        fprintf(stderr, "report weekly: no projection could be read, no report written:\n");
        for (int i = 0; i < r.nmissing; i++) {
            char *shown = ol_esc(OL_ESC_TEXT, r.errors[i]);
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
    if (!strcmp(format, "html") ? wk_html(f, &r) : wk_text(f, &r, !strcmp(format, "md"))) {
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
    for (int i = 0; i < r.nmissing; i++) {
        char *shown = ol_esc(OL_ESC_TEXT, r.errors[i]); /* freed here; the message may quote the data */
        fprintf(stderr, "report weekly: %s: %s\n", r.missing[i], shown ? shown : "?");
        free(shown);
    }
    if (r.nmissing && !rc) { /* the page is printed, but incomplete: say so in the status too */
        fprintf(stderr, "report weekly: incomplete: %d of 4 services could not be read (exit status 3)\n",
                r.nmissing);
        rc = 3;
    }
out:
    report_free(&r);
    free(pass.v);
    return rc;
}
