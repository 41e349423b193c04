/* cmd_accuracy — `opsledger report forecast-accuracy --from W --to W
 * [--team T] [--format table|csv] [--archive DIR] [common options]`: for
 * each past ISO week W of the range, the forecast made 4 weeks earlier
 * against the week's actual utilisation, for the org (and the team with --team), with the error in
 * points and the mean absolute error in basis points.
 *
 * A composition over the services' own verbs, never their code or files:
 *   1. opsledger-utilisation status         its data week: W must be before it
 *   2. opsledger-forecast replay --as-of A --out TMP/asof-W-4
 *      A = the end of week W-4 (Sunday 23:59:59.999 UTC), from the audit
 *      archive: the forecast as it stood when W-3 began; one replay per
 *      distinct as-of, cached in a temporary directory removed at the end
 *   3. opsledger-forecast query --week W --format json --db TMP/asof-W-4
 *   4. opsledger-utilisation query --week W --format json   (the live actuals)
 * Common options (-c, -X, -o, --brokers, --data-dir, --schemas) are passed to
 * every one of them. Figures are integers: hours from minutes, percentages
 * and points from basis points; never floating point.
 *
 * A week without a forecast or without actuals is reported on its line and
 * on stderr, and the exit status is 1; the other weeks are still shown. */
#include "cli.h"
#include "ol_archive.h"
#include "ol_escape.h"
#include "ol_format.h"
#include "ol_time.h"

#include <ftw.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ACC_LEAD 4       /* weeks between the forecast and the week it forecast */
#define ACC_MAX_WEEKS 53 /* one replay per week: a bound on the work asked */
#define ACC_MAX_PASS 32  /* common option words passed on */
#define ACC_MAX_EXTRA 12 /* verb and its own arguments */

/* one scope's figures for one week; alloc is the forecast's only */
struct acc_fig {
    int has, has_bp;
    int32_t avail, alloc, bill, bp;
};

struct acc_week {
    ol_week w, made;          /* made: the data week the forecast was made in */
    char as_of[25];           /* the replay instant */
    struct acc_fig fc[2], act[2]; /* [0] org, [1] team */
    char why[512];            /* why the week has no figures; "" when it has */
};

struct acc_ctx {
    const char *pass[ACC_MAX_PASS]; /* common options, borrowed from argv */
    int npass;
    const char *archive;            /* --archive, or NULL */
    char tmp[4096];                 /* the replay cache, removed at the end */
};

/* runs opsledger-<service> verb extra... pass...; stdout in *out (owned by
 * the caller); stderr to err_file (NULL: inherited) */
static int acc_run(struct acc_ctx *c, const char *service, const char *const *extra, const char *err_file,
                   char **out)
{
    char *args[ACC_MAX_EXTRA + ACC_MAX_PASS + 2];
    int n = 0;
    args[n++] = NULL; /* the program name, set by cli_run_service */
    for (; *extra && n <= ACC_MAX_EXTRA; extra++)
        args[n++] = (char *)*extra;
    for (int i = 0; i < c->npass; i++)
        args[n++] = (char *)c->pass[i];
    args[n] = NULL;
    return cli_run_service(service, args, err_file, out);
}

/* SIGINT/SIGTERM: the subprocess (same process group) stops too; we stop
 * after it and remove the replay cache */
static volatile sig_atomic_t acc_stop;
static void on_signal(int sig) { acc_stop = sig; }

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* the last non-empty line of a file (a failing verb's final word, after any
 * warnings), for an error message; "" when there is none */
static void last_line(const char *file, char *buf, size_t len)
{
    char line[1024];
    FILE *f = fopen(file, "r");
    buf[0] = '\0';
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        size_t n = strlen(line);
        if (n && len) {
            n = n < len - 1 ? n : len - 1;
            memcpy(buf, line, n);
            buf[n] = '\0';
        }
    }
    fclose(f);
}

/* an integer field of a JSON row; null leaves *has at 0 */
static void json_i32(json_t *row, const char *name, int32_t *v, int *has)
{
    json_t *x = json_object_get(row, name);
    if (has)
        *has = json_is_integer(x);
    *v = json_is_integer(x) ? (int32_t)json_integer_value(x) : 0;
}

/* reads the org row and, when team is set, that team's row from a query's
 * JSON lines; made (when not NULL) gets the forecast's as_of_week */
static void acc_rows(const char *out, const char *team, struct acc_fig fig[2], ol_week *made)
{
    const char *p = out;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        json_t *row = json_loadb(p, len, 0, NULL);
        p += len + (nl ? 1 : 0);
        if (!row)
            continue;
        const char *scope = json_string_value(json_object_get(row, "scope"));
        const char *id = json_string_value(json_object_get(row, "id"));
        int k = -1;
        if (scope && id && !strcmp(scope, "org") && !strcmp(id, "org"))
            k = 0;
        else if (scope && id && team && !strcmp(scope, "team") && !strcmp(id, team))
            k = 1;
        if (k >= 0) {
            struct acc_fig *f = &fig[k];
            f->has = 1;
            json_i32(row, "available_minutes", &f->avail, NULL);
            json_i32(row, "allocated_minutes", &f->alloc, NULL);
            json_i32(row, "billable_minutes", &f->bill, NULL);
            json_i32(row, "utilisation_bp", &f->bp, &f->has_bp);
            const char *m = json_string_value(json_object_get(row, "as_of_week"));
            if (made && m)
                ol_week_parse(m, made);
        }
        json_decref(row);
    }
}

/* the utilisation projection's data week (the week of its latest
 * occurred_at), from `opsledger-utilisation status`; -1 when unknown */
static int acc_data_week(struct acc_ctx *c, ol_week *dw)
{
    char *out = NULL, errf[4200], msg[512];
    const char *const verb[] = {"status", NULL};
    int rc = -1;
    snprintf(errf, sizeof errf, "%s/status.err", c->tmp);
    int st = acc_run(c, "utilisation", verb, errf, &out);
    const char *p = out ? strstr(out, " data_time ") : NULL;
    char iso[40];
    int64_t ms = 0;
    /* status prints data_time as ISO-8601 UTC ("none" before any data) */
    if (st == 0 && p && sscanf(p, " data_time %39s", iso) == 1 && ol_ts_parse(iso, &ms) == 0 && ms > 0) {
        *dw = ol_week_of((int32_t)(ms / 86400000));
        rc = 0;
    } else {
        last_line(errf, msg, sizeof msg);
        ol_esc_eprintf("report forecast-accuracy: no actual utilisation to compare with: %s\n",
                       st == 0 ? "the utilisation service has folded nothing yet" : msg);
    }
    free(out);
    return rc;
}

/* the forecast of week a->w as made at the end of week w-4 (replayed once per
 * as-of into c->tmp) and its actuals; 0, or -1 with a->why set when the week
 * has no figures, or -2 when the replay itself failed (message printed) */
static int acc_week_load(struct acc_ctx *c, struct acc_week *a, const char *team)
{
    char wk[9], mk[9], dir[4200], errf[4300], msg[400];
    char *out = NULL;
    ol_week asof_w = ol_week_add(a->w, -ACC_LEAD);
    int64_t as_of = (int64_t)ol_week_monday(ol_week_add(asof_w, 1)) * 86400000 - 1;
    int st;

    ol_week_format(a->w, wk);
    ol_week_format(asof_w, mk);
    ol_ts_format(as_of, a->as_of);
    snprintf(dir, sizeof dir, "%s/asof-%s", c->tmp, mk);
    snprintf(errf, sizeof errf, "%s/replay-%s.err", c->tmp, mk);
    struct stat sb;
    if (stat(dir, &sb) != 0) { /* not cached yet */
        const char *replay[] = {"replay", "--as-of", a->as_of, "--out", dir, NULL, NULL, NULL};
        if (c->archive) {
            replay[5] = "--archive";
            replay[6] = c->archive;
        }
        st = acc_run(c, "forecast", replay, errf, &out);
        free(out);
        out = NULL;
        if (st != 0) {
            last_line(errf, msg, sizeof msg);
            ol_esc_eprintf("report forecast-accuracy: replay of the forecast as of %s failed: %s\n", a->as_of, msg);
            return -2;
        }
    }
    snprintf(errf, sizeof errf, "%s/query-%s.err", c->tmp, wk);
    const char *fq[] = {"query", "--week", wk, "--format", "json", "--db", dir, NULL};
    st = acc_run(c, "forecast", fq, errf, &out);
    if (st == 0)
        acc_rows(out, team, a->fc, &a->made);
    free(out);
    out = NULL;
    if (st != 0) {
        snprintf(a->why, sizeof a->why, "no forecast: nothing the forecast reads was known by %s", a->as_of);
        return -1;
    }
    if (!a->fc[0].has) {
        snprintf(a->why, sizeof a->why, "no forecast for %s as of %s (outside that forecast's horizon)", wk,
                 a->as_of);
        return -1;
    }
    const char *uq[] = {"query", "--week", wk, "--format", "json", NULL};
    snprintf(errf, sizeof errf, "%s/util-%s.err", c->tmp, wk);
    st = acc_run(c, "utilisation", uq, errf, &out);
    if (st == 0)
        acc_rows(out, team, a->act, NULL);
    free(out);
    if (st != 0) {
        last_line(errf, msg, sizeof msg);
        snprintf(a->why, sizeof a->why, "no actual utilisation: %s", msg);
        return -1;
    }
    if (!a->act[0].has) {
        snprintf(a->why, sizeof a->why, "no actual utilisation for %s (no org row in the utilisation projection)",
                 wk);
        return -1;
    }
    return 0;
}

/* "+5.25" points from basis points */
static void fmt_points(char *buf, size_t n, int32_t bp)
{
    int32_t m = bp < 0 ? -bp : bp;
    snprintf(buf, n, "%c%d.%02d", bp < 0 ? '-' : '+', m / 100, m % 100);
}

static void acc_print_scope(const struct acc_week *weeks, int n, int k, const char *name)
{
    int64_t sum = 0;
    int counted = 0;
    printf("%s\n  %-8s %-8s %10s %10s %10s %8s %11s %10s %8s %7s\n", name, "week", "made", "fc_avail_h",
           "fc_alloc_h", "fc_bill_h", "fc_util", "act_avail_h", "act_bill_h", "act_util", "error");
    for (int i = 0; i < n; i++) {
        const struct acc_week *a = &weeks[i];
        const struct acc_fig *f = &a->fc[k], *r = &a->act[k];
        char wk[9], mk[9], fa[16], fl[16], fb[16], fu[16], ra[16], rb[16], ru[16], e[16];
        ol_week_format(a->w, wk);
        if (a->why[0]) {
            printf("  %-8s ", wk);
            (void)ol_esc_fput(stdout, OL_ESC_TEXT, a->why); /* write errors: ferror(stdout) in cmd_accuracy */
            printf("\n");
            continue;
        }
        ol_week_format(a->made, mk);
        snprintf(fa, sizeof fa, "-");
        snprintf(fl, sizeof fl, "-");
        snprintf(fb, sizeof fb, "-");
        snprintf(fu, sizeof fu, "-");
        snprintf(ra, sizeof ra, "-");
        snprintf(rb, sizeof rb, "-");
        snprintf(ru, sizeof ru, "-");
        snprintf(e, sizeof e, "-");
        if (f->has) {
            ol_fmt_hours(fa, sizeof fa, f->avail);
            ol_fmt_hours(fl, sizeof fl, f->alloc);
            ol_fmt_hours(fb, sizeof fb, f->bill);
            ol_fmt_bp(fu, sizeof fu, f->has_bp, f->bp);
        }
        if (r->has) {
            ol_fmt_hours(ra, sizeof ra, r->avail);
            ol_fmt_hours(rb, sizeof rb, r->bill);
            ol_fmt_bp(ru, sizeof ru, r->has_bp, r->bp);
        }
        if (f->has && r->has && f->has_bp && r->has_bp) {
            int32_t err = f->bp - r->bp;
            fmt_points(e, sizeof e, err);
            sum += err < 0 ? -err : err;
            counted++;
        }
        printf("  %-8s %-8s %10s %10s %10s %8s %11s %10s %8s %7s\n", wk, mk, fa, fl, fb, fu, ra, rb, ru, e);
    }
    if (counted)
        printf("  mean absolute error: %lld bp over %d week%s\n\n", (long long)(sum / counted), counted,
               counted == 1 ? "" : "s");
    else
        printf("  mean absolute error: none (no week with both a forecast and an actual utilisation)\n\n");
}

/* --format csv: exact minutes and basis points, one row per scope and week;
 * empty cells where a figure is missing, the reason in the last column */
static void acc_print_csv(const struct acc_week *weeks, int n, const char *team)
{
    printf("scope,id,week,made,as_of,fc_available_minutes,fc_allocated_minutes,fc_billable_minutes,"
           "fc_utilisation_bp,actual_available_minutes,actual_billable_minutes,actual_utilisation_bp,error_bp,"
           "missing\n");
    for (int k = 0; k < (team ? 2 : 1); k++)
        for (int i = 0; i < n; i++) {
            const struct acc_week *a = &weeks[i];
            const struct acc_fig *f = &a->fc[k], *r = &a->act[k];
            char wk[9], mk[9] = "";
            ol_week_format(a->w, wk);
            if (!a->why[0])
                ol_week_format(a->made, mk);
            printf("%s,", k ? "team" : "org");
            (void)ol_esc_fput(stdout, OL_ESC_CSV, k ? team : "org");
            printf(",%s,%s,%s,", wk, mk, a->as_of);
            if (f->has && !a->why[0])
                printf("%d,%d,%d,", f->avail, f->alloc, f->bill);
            else
                printf(",,,");
            if (f->has && f->has_bp && !a->why[0])
                printf("%d", f->bp);
            if (r->has && !a->why[0])
                printf(",%d,%d,", r->avail, r->bill);
            else
                printf(",,,");
            if (r->has && r->has_bp && !a->why[0])
                printf("%d", r->bp);
            printf(",");
            if (f->has && r->has && f->has_bp && r->has_bp && !a->why[0])
                printf("%d", f->bp - r->bp);
            printf(",");
            (void)ol_esc_fput(stdout, OL_ESC_CSV, a->why);
            printf("\n");
        }
}

static int usage(void)
{
    fprintf(stderr, "usage: opsledger report forecast-accuracy --from 2026-W40 --to 2026-W46 [--team T] "
                    "[--format table|csv] [--archive DIR] [--data-dir DIR] [-c FILE] [-o key=value]\n");
    return 2;
}

int cmd_accuracy(int argc, char **argv)
{
    struct acc_ctx c = {.npass = 0, .archive = NULL, .tmp = ""};
    const char *from_s = NULL, *to_s = NULL, *team = NULL, *format = "table";
    struct acc_week *weeks = NULL;
    ol_config cfg;
    ol_week from, to, dw;
    char err[512], adir[4096], p[4200], wk[9];
    int rc = 1, n = 0, missing = 0;

    ol_config_init(&cfg);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int common = !strcmp(a, "-c") || !strcmp(a, "--config") || !strcmp(a, "-X") || !strcmp(a, "-o") ||
                     !strcmp(a, "--brokers") || !strcmp(a, "--data-dir") || !strcmp(a, "--schemas");
        if (i + 1 >= argc) {
            rc = usage();
            goto out;
        }
        if (!strcmp(a, "--from"))
            from_s = argv[++i];
        else if (!strcmp(a, "--to"))
            to_s = argv[++i];
        else if (!strcmp(a, "--team"))
            team = argv[++i];
        else if (!strcmp(a, "--format"))
            format = argv[++i];
        else if (!strcmp(a, "--archive"))
            c.archive = argv[++i];
        else if (common && c.npass + 2 <= ACC_MAX_PASS) {
            c.pass[c.npass++] = a;
            c.pass[c.npass++] = argv[++i];
        } else {
            (void)ol_usage_arg("report forecast-accuracy", "unknown argument ", a, NULL);
            rc = usage();
            goto out;
        }
    }
    if (!from_s || !to_s) {
        rc = usage();
        goto out;
    }
    if (ol_week_arg("report forecast-accuracy", "--from", from_s, &from) ||
        ol_week_arg("report forecast-accuracy", "--to", to_s, &to)) {
        rc = 2;
        goto out;
    }
    if (strcmp(format, "table") && strcmp(format, "csv")) {
        rc = ol_usage_arg("report forecast-accuracy", "--format is table or csv (got ", format, ")");
        goto out;
    }
    if (from > to) {
        fprintf(stderr, "report forecast-accuracy: --from %s is after --to %s\n", from_s, to_s);
        rc = 2;
        goto out;
    }
    for (ol_week w = from; w <= to; w = ol_week_add(w, 1))
        if (++n > ACC_MAX_WEEKS) {
            fprintf(stderr, "report forecast-accuracy: at most %d weeks at a time (one replay each)\n",
                    ACC_MAX_WEEKS);
            rc = 2;
            goto out;
        }
    /* the configuration the subprocesses will see, for the archive's path */
    {
        char *cargv[ACC_MAX_PASS + 2];
        int cargc = 0;
        cargv[cargc++] = argv[0];
        for (int i = 0; i < c.npass; i++)
            cargv[cargc++] = (char *)c.pass[i];
        cargv[cargc] = NULL;
        if (ol_config_from_args(&cfg, cargc, cargv, err, sizeof err) < 0) {
            ol_esc_eprintf("report forecast-accuracy: %s\n", err);
            rc = 2;
            goto out;
        }
    }
    ol_archive_dir(&cfg, c.archive, adir, sizeof adir);
    snprintf(p, sizeof p, "%s/data.mdb", adir);
    if (access(p, R_OK) != 0) {
        ol_esc_eprintf("report forecast-accuracy: no audit archive at %s: past forecasts are rebuilt from it (run "
                       "opsledger-archive beside the services, or give --archive DIR)\n",
                       adir);
        goto out;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    snprintf(c.tmp, sizeof c.tmp, "%s/opsledger-accuracy.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(c.tmp)) {
        perror("report forecast-accuracy: temporary directory");
        c.tmp[0] = '\0';
        goto out;
    }
    if (acc_data_week(&c, &dw) || acc_stop) {
        rc = acc_stop ? 128 + acc_stop : 1;
        goto out;
    }
    if (to >= dw) {
        ol_week_format(dw, wk);
        fprintf(stderr,
                "report forecast-accuracy: --to %s is not a past week: the utilisation data has reached %s only "
                "(a week is past once data of a later week has arrived)\n",
                to_s, wk);
        rc = 2;
        goto out;
    }
    if (!(weeks = calloc((size_t)n, sizeof *weeks)))
        goto out;
    n = 0;
    for (ol_week w = from; w <= to; w = ol_week_add(w, 1)) {
        struct acc_week *a = &weeks[n++];
        a->w = w;
        int r = acc_week_load(&c, a, team);
        if (acc_stop) {
            rc = 128 + acc_stop;
            goto out;
        }
        if (r == -2)
            goto out;
        if (r == -1) {
            ol_week_format(w, wk);
            ol_esc_eprintf("report forecast-accuracy: %s: %s\n", wk, a->why);
            missing++;
        }
    }
    if (team) { /* a team named in neither is a typo, not a week without data */
        int any = 0;
        for (int i = 0; i < n; i++)
            any |= weeks[i].fc[1].has || weeks[i].act[1].has;
        if (!any) {
            char tail[96];
            snprintf(tail, sizeof tail, " in the forecasts or the actuals of %s .. %s", from_s, to_s);
            (void)ol_usage_arg("report forecast-accuracy", "no team ", team, tail); /* rc stays 1: no data */
            goto out;
        }
    }
    if (!strcmp(format, "csv")) {
        acc_print_csv(weeks, n, team);
        rc = missing || fflush(stdout) || ferror(stdout) ? 1 : 0; /* ferror: the escaped writes */
        goto out;
    }
    printf("Forecast accuracy %s .. %s: each week's forecast as made %d weeks earlier (the forecast replayed from "
           "the audit archive as of the end of week W-%d) against the week's actual utilisation\n"
           "billable people only; hours; utilisation in %%; error = forecast - actual utilisation, in points; "
           "made = the data week of that forecast\n\n",
           from_s, to_s, ACC_LEAD, ACC_LEAD);
    acc_print_scope(weeks, n, 0, "Organisation");
    if (team) {
        char name[300], *shown = ol_esc(OL_ESC_TEXT, team); /* freed here */
        snprintf(name, sizeof name, "Team %s", shown ? shown : "?");
        free(shown);
        acc_print_scope(weeks, n, 1, name);
    }
    rc = missing || fflush(stdout) || ferror(stdout) ? 1 : 0; /* ferror: the escaped writes */
out:
    if (c.tmp[0])
        nftw(c.tmp, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(weeks);
    ol_config_free(&cfg);
    return rc;
}
