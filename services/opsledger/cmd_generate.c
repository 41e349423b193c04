/* opsledger generate — a deterministic consultancy as JSON lines, one file
 * per input topic, for demos, load tests and end-to-end tests.
 *
 *   opsledger generate [--people 200] [--engagements 25] [--weeks 12] [--seed 1]
 *                      [--end-week 2026-W47] --out DIR
 *
 * writes DIR/<topic>.jsonl (every line valid for `opsledger produce`, sorted
 * by occurred_at), DIR/invalid/<topic>.jsonl (lines produce must refuse) and
 * DIR/README.txt (counts, and what was injected on purpose). The same
 * arguments give byte-identical files: all randomness comes from splitmix64
 * streams seeded by --seed, nothing reads the clock. The parts live in
 * gen_*.c (see gen_common.h). */
#include "cli.h"
#include "ol_escape.h"
#include "gen_common.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const struct {
    const char *topic, *source;
} topics[T_N] = {
    [T_PERSON] = {"hr.person", "hr"},
    [T_LEAVE] = {"hr.leave", "hr"},
    [T_ENG] = {"delivery.engagement", "resourcing"},
    [T_ALLOC] = {"delivery.allocation", "resourcing"},
    [T_ENTRY] = {"timesheet.entry", "timesheets"},
    [T_INVOICE] = {"finance.contractor_invoice", "finance"},
    [T_EXPENSE] = {"finance.expense", "finance"},
    [T_PERIOD] = {"finance.period", "finance"},
    [T_RISK] = {"delivery.risk", "risk-register"},
    [T_ROTA] = {"ops.rota", "rota"},
};

static void usage(FILE *f)
{
    fputs("usage: opsledger generate [--people N] [--engagements N] [--weeks N] [--seed S]\n"
          "                          [--end-week YYYY-Www] --out DIR\n"
          "  --people N        people of the organisation (default 200, 20..1000000)\n"
          "  --engagements N   engagements (default 25, 6..100000)\n"
          "  --weeks N         ISO weeks of history ending with the end week (default 12, 1..260)\n"
          "  --seed S          PRNG seed, an unsigned integer (default 1)\n"
          "  --end-week W      last week of the history (default 2026-W47)\n"
          "  --out DIR         output directory (created; existing files are replaced)\n",
          f);
}

static int mkdir_p(const char *path)
{
    char *p = gen_xalloc(strlen(path) + 1);
    strcpy(p, path);
    for (char *c = p + 1;; c++) {
        if (*c == '/' || !*c) {
            char keep = *c;
            *c = '\0';
            if (mkdir(p, 0777) && errno != EEXIST) {
                ol_esc_eprintf("opsledger generate: cannot create %s: %s\n", p, strerror(errno));
                free(p);
                return -1;
            }
            *c = keep;
            if (!keep)
                break;
        }
    }
    struct stat st;
    int rc = stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
    if (rc)
        ol_esc_eprintf("opsledger generate: %s is not a directory\n", path);
    free(p);
    return rc;
}

static void range_str(const gen_sink *s, char *buf, size_t cap)
{
    char a[21] = {0}, b[21] = {0};
    if (!s->lines) {
        snprintf(buf, cap, "-");
        return;
    }
    gen_fmt_ts(a, s->min_ts);
    gen_fmt_ts(b, s->max_ts);
    snprintf(buf, cap, "%s .. %s", a, b);
}

static int write_readme(gen_world *w, const char *path)
{
    FILE *f = fopen(path, "w");
    char s[11] = {0}, e[11] = {0}, sw[9], ew[9], range[64];
    if (!f) {
        ol_esc_eprintf("opsledger generate: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    gen_fmt_date(s, w->S);
    gen_fmt_date(e, w->E);
    ol_week_format(w->start_week, sw);
    ol_week_format(w->end_week, ew);
    fprintf(f, "opsledger generate: a consultancy's delivery organisation as upstream events\n\n"
               "arguments: --people %d --engagements %d --weeks %d --seed %" PRIu64 " --end-week %s\n"
               "range: %s .. %s (%s Monday %s .. %s Sunday %s); leave and the rota reach beyond it,\n"
               "allocations and open roles into the forecast horizon. The latest occurred_at falls in %s.\n\n",
            w->people, w->engagements, w->weeks, w->seed, ew, sw, ew, sw, s, ew, e, ew);
    fprintf(f, "Each <topic>.jsonl holds one JSON object per line in the schemas/README.md mapping, every\n"
               "line valid for `opsledger produce <topic> --file <topic>.jsonl`, sorted by occurred_at.\n"
               "invalid/<topic>.jsonl holds lines that produce must refuse, one reason each.\n\n");
    fprintf(f, "%-30s %9s %9s %6s  %s\n", "file", "lines", "rev>1", "dups", "occurred_at");
    for (int t = 0; t < T_N; t++) {
        range_str(&w->sink[t], range, sizeof range);
        fprintf(f, "%-30s %9ld %9ld %6ld  %s\n", strrchr(w->sink[t].path, '/') + 1, w->sink[t].lines,
                w->sink[t].amended, w->sink[t].dups, range);
    }
    for (int t = 0; t < T_N; t++)
        fprintf(f, "invalid/%-22s %9ld\n", strrchr(w->inval[t].path, '/') + 1, w->inval[t].lines);
    long emp = 0, ctr = 0, par = 0, nb = 0, pt = 0;
    for (int i = 0; i < w->np; i++) {
        emp += w->p[i].emp == EMP_EMPLOYEE;
        ctr += w->p[i].emp == EMP_CONTRACTOR;
        par += w->p[i].emp == EMP_PARTNER;
        nb += !w->p[i].billable;
        pt += w->p[i].weekly != 2250;
    }
    long open = 0, prop = 0, canc = 0;
    for (int i = 0; i < w->na; i++) {
        int fin = w->a[i].st2 >= 0 ? w->a[i].st2 : w->a[i].st1;
        open += w->a[i].person < 0;
        prop += fin == AS_PROPOSED;
        canc += fin == AS_CANCELLED;
    }
    fprintf(f, "\npeople: %d (%ld employees of whom %ld non-billable operations staff, %ld contractors, %ld partner "
               "staff; %ld part-time)\n",
            w->np, emp, nb, ctr, par, pt);
    fprintf(f, "allocations: %d (%ld open roles without a person, %ld PROPOSED, %ld CANCELLED at the end)\n", w->na,
            open, prop, canc);
    fprintf(f, "bank holidays (PUBLIC_HOLIDAY leave for everyone working that day):");
    for (int i = 0; i < w->nbh; i++) {
        char d[11] = {0};
        gen_fmt_date(d, w->bh[i]);
        fprintf(f, " %s", d);
    }
    fprintf(f, "\n\nInjected on purpose:\n");
    for (const char *c = w->notes; c && *c;) {
        const char *nl = strchr(c, '\n');
        size_t n = nl ? (size_t)(nl - c) : strlen(c);
        fprintf(f, "- %.*s\n", (int)n, c);
        c += n + (nl ? 1 : 0);
    }
    for (int k = 0; k < NC_N; k++)
        if (w->noted[k] > GEN_NOTE_MAX)
            fprintf(f, "- ... %d %s in all (the first %d listed above)\n", w->noted[k], gen_nc_names[k], GEN_NOTE_MAX);
    fprintf(f, "- invalid lines (invalid/): timesheet.entry minutes 2000, minutes -30, \"minutes\": \"ten\", activity\n"
               "  LUNCH, work_date 9999-01-01, a line cut short; and per other topic an unknown enum symbol, a\n"
               "  broken ol.min/ol.max/ol.format rule, an impossible or out-of-range date, a missing field.\n");
    fprintf(f, "\nNot modelled: money spent on an engagement before the range is not in the timesheets, so an\n"
               "engagement that started long before looks behind its budget; timesheets are published APPROVED\n"
               "(weeks before the last) or SUBMITTED (the last week) directly, approval is not a revision.\n");
    if (fclose(f)) {
        ol_esc_eprintf("opsledger generate: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

int cmd_generate(int argc, char **argv, ol_config *cfg)
{
    long people = 200, engagements = 25, weeks = 12;
    uint64_t seed = 1;
    const char *out = NULL, *end = "2026-W47";
    gen_world w;
    int rc = 2;
    (void)cfg;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v, *eq;
        char name[32];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (strncmp(a, "--", 2)) {
            int rc = ol_usage_arg("opsledger generate", "unexpected argument '", a, "'");
            usage(stderr);
            return rc;
        }
        if ((eq = strchr(a, '='))) { /* --name=value */
            size_t n = (size_t)(eq - a) < sizeof name - 1 ? (size_t)(eq - a) : sizeof name - 1;
            memcpy(name, a, n);
            name[n] = '\0';
            a = name;
            v = eq + 1;
        } else if (i + 1 < argc)
            v = argv[++i];
        else {
            int rc = ol_usage_arg("opsledger generate", "option ", a, " needs a value");
            usage(stderr);
            return rc;
        }
        if (!strcmp(a, "--people")) {
            if (cli_parse_long("opsledger generate", a, v, 20, 1000000, &people))
                return 2;
        } else if (!strcmp(a, "--engagements")) {
            if (cli_parse_long("opsledger generate", a, v, 6, 100000, &engagements))
                return 2;
        } else if (!strcmp(a, "--weeks")) {
            if (cli_parse_long("opsledger generate", a, v, 1, 260, &weeks))
                return 2;
        } else if (!strcmp(a, "--seed")) {
            char *e2;
            errno = 0;
            unsigned long long s = strtoull(v, &e2, 10);
            if (errno || e2 == v || *e2 || *v == '-')
                return ol_usage_arg("opsledger generate", "--seed must be an unsigned integer, got '", v, "'");
            seed = s;
        } else if (!strcmp(a, "--end-week"))
            end = v;
        else if (!strcmp(a, "--out"))
            out = v;
        else {
            int rc = ol_usage_arg("opsledger generate", "unknown option '", a, "'");
            usage(stderr);
            return rc;
        }
    }
    if (!out || !*out) {
        fprintf(stderr, "opsledger generate: --out DIR is required\n");
        usage(stderr);
        return 2;
    }
    memset(&w, 0, sizeof w);
    if (ol_week_parse(end, &w.end_week))
        return ol_usage_arg("opsledger generate", "--end-week must be an ISO week like 2026-W47, got '", end, "'");
    w.people = (int)people;
    w.engagements = (int)engagements;
    w.weeks = (int)weeks;
    w.seed = seed;
    w.out = out;
    w.start_week = ol_week_add(w.end_week, -(w.weeks - 1));
    w.S = ol_week_monday(w.start_week);
    w.E = ol_week_monday(w.end_week) + 6;
    w.X = w.E + 1 + 7 * 12; /* leave and allocations cover the 12-week forecast horizon */
    w.t_cap = gen_at(w.E - 2, 19, 0, 0); /* the end week's Friday, 19:00 */
    /* joined_on goes back ten years, engagements run up to a year past the end */
    if (w.S - 3700 < OL_DATE_MIN || w.E + 500 > OL_DATE_MAX) {
        fprintf(stderr, "opsledger generate: --end-week %s with --weeks %d puts dates outside 1980..2099\n", end, w.weeks);
        return 2;
    }
    w.ninv = w.weeks >= 5 ? (w.weeks - 5) / 4 + 1 : 0;
    gen_seed(&w.rng, seed, "opsledger-world");
    gen_bank_holidays(&w);

    size_t dl = strlen(out) + 16;
    char *inv = gen_xalloc(dl), *readme = gen_xalloc(dl);
    snprintf(inv, dl, "%s/invalid", out);
    snprintf(readme, dl, "%s/README.txt", out);
    if (mkdir_p(out) || mkdir_p(inv))
        goto done;
    for (int t = 0; t < T_N; t++)
        if (gs_open(&w.sink[t], out, topics[t].topic, topics[t].source, seed) ||
            gs_open(&w.inval[t], inv, topics[t].topic, topics[t].source, ~seed))
            goto done;

    gen_people(&w);
    gen_engagements(&w);
    gen_allocations(&w);
    gen_leave_plan(&w);
    gen_rota_plan(&w);
    gen_public_holidays(&w);
    gen_emit_people(&w);
    gen_emit_engagements(&w);
    gen_emit_allocations(&w);
    gen_emit_leave(&w);
    gen_emit_rota(&w);
    if (gen_timesheets(&w)) {
        ol_esc_eprintf("opsledger generate: cannot write %s: %s\n", w.sink[T_ENTRY].path, strerror(errno));
        goto done;
    }
    gen_invoices(&w);
    gen_expenses(&w);
    gen_periods(&w);
    gen_risks(&w);
    gen_invalid(&w);

    rc = 0;
    for (int t = 0; t < T_N; t++) {
        if (gs_close(&w.sink[t]) || gs_close(&w.inval[t]))
            rc = 2;
    }
    if (rc)
        goto done;
    if (write_readme(&w, readme)) {
        rc = 2;
        goto done;
    }
    for (int t = 0; t < T_N; t++) {
        char range[64];
        ol_esc_arena esc = OL_ESC_ARENA_INIT;
        range_str(&w.sink[t], range, sizeof range);
        /* the path (under --out) escaped before it is padded, so that the
         * columns line up as the terminal shows them; escaping it again in
         * ol_esc_eprintf changes nothing */
        ol_esc_eprintf("opsledger generate: %-45s %8ld lines (%ld revisions > 1, %ld duplicates) %s\n",
                       ol_esc_a(&esc, OL_ESC_TEXT, w.sink[t].path), w.sink[t].lines, w.sink[t].amended, w.sink[t].dups,
                       range);
        ol_esc_arena_reset(&esc);
    }
    long ninv = 0;
    for (int t = 0; t < T_N; t++)
        ninv += w.inval[t].lines;
    ol_esc_eprintf("opsledger generate: %s/invalid/*.jsonl %ld lines that produce must refuse; summary in %s\n", out,
                   ninv, readme);
done:
    for (int t = 0; t < T_N; t++) { /* after an error: whatever is still open */
        if (w.sink[t].f)
            gs_close(&w.sink[t]);
        if (w.inval[t].f)
            gs_close(&w.inval[t]);
    }
    for (int i = 0; i < w.np; i++) {
        free(w.p[i].lv);
        free(w.p[i].alloc);
        free(w.p[i].appr);
    }
    for (int t = 0; t < T_N; t++) {
        free(w.sink[t].path);
        free(w.inval[t].path);
    }
    free(w.p);
    free(w.e);
    free(w.a);
    free(w.l);
    free(w.sh);
    free(w.notes);
    free(inv);
    free(readme);
    return rc;
}
