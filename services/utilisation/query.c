/* query — the read verbs: `query` (rows of one week as table, csv or json)
 * and `report` (per team, a row per week against the target, who is under
 * target, and how non-billable time was spent). Both read the projection
 * read-only, beside the running service, or a replayed one with --db. */
#include "ol_escape.h"
#include "ol_format.h"
#include "util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rowref {
    int scope;
    char id[256], team[256];
    struct util_row r;
};

/* every row of week w, in key order (person rows, team rows, org) */
static int load_week(MDB_txn *txn, MDB_dbi util, ol_week w, struct rowref **out, size_t *n)
{
    MDB_cursor *c;
    ol_key wk;
    size_t cap = 0;
    int rc;
    *out = NULL;
    *n = 0;
    ol_key_init(&wk);
    ol_key_i32(&wk, w);
    if ((rc = mdb_cursor_open(txn, util, &c)))
        return rc;
    MDB_val k = ol_key_val(&wk), v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size <= 5 || memcmp(k.mv_data, wk.b, 4))
            break;
        if (*n == cap) {
            cap = cap ? cap * 2 : 256;
            struct rowref *nr = realloc(*out, cap * sizeof *nr);
            if (!nr) {
                rc = ENOMEM;
                break;
            }
            *out = nr;
        }
        struct rowref *r = &(*out)[(*n)++];
        r->scope = ((const uint8_t *)k.mv_data)[4];
        snprintf(r->id, sizeof r->id, "%s", (const char *)k.mv_data + 5);
        memcpy(&r->r, v.mv_data, sizeof r->r);
        snprintf(r->team, sizeof r->team, "%s", (const char *)v.mv_data + sizeof r->r);
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static const char *scope_name(int s) { return s == SCOPE_PERSON ? "person" : s == SCOPE_TEAM ? "team" : "org"; }

int util_query(ol_store *st, int argc, char **argv, const ol_config *cfg)
{
    const char *week = NULL, *team = NULL, *person = NULL, *format = "table";
    ol_week w;
    MDB_txn *txn = NULL;
    struct rowref *rows = NULL;
    size_t n = 0, shown = 0;
    int rc = 2;
    (void)cfg;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--week") && i + 1 < argc)
            week = argv[++i];
        else if (!strcmp(argv[i], "--team") && i + 1 < argc)
            team = argv[++i];
        else if (!strcmp(argv[i], "--person") && i + 1 < argc)
            person = argv[++i];
        else if (!strcmp(argv[i], "--format") && i + 1 < argc)
            format = argv[++i];
        else
            return ol_usage_arg("query utilisation", "unknown argument ", argv[i], NULL);
    }
    if (ol_week_arg("query utilisation", "--week", week, &w))
        return 2;
    if (strcmp(format, "table") && strcmp(format, "csv") && strcmp(format, "json")) {
        fprintf(stderr, "query utilisation: --format is table, csv or json\n");
        return 2;
    }
    if (!st) /* the arguments alone (ol_service_main_args_first) */
        return 0;
    if (mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn) ||
        load_week(txn, ol_store_dbi(st, "util"), w, &rows, &n)) {
        fprintf(stderr, "query utilisation: cannot read the projection\n");
        rc = 1;
        goto out;
    }
    if (!strcmp(format, "csv"))
        printf("scope,id,team,week,capacity_minutes,leave_minutes,available_minutes,billable_minutes,"
               "sales_support_minutes,training_minutes,internal_minutes,bench_minutes,live_support_minutes,"
               "non_billable_delivery_minutes,unclassified_minutes,logged_minutes,utilisation_bp,target_bp,"
               "below_target,people\n");
    ol_esc_arena ea = OL_ESC_ARENA_INIT;
    for (size_t i = 0; i < n; i++) {
        struct rowref *r = &rows[i];
        ol_esc_arena_reset(&ea);
        if (team && strcmp(r->team, team) && !(r->scope == SCOPE_TEAM && !strcmp(r->id, team)))
            continue;
        if (team && r->scope == SCOPE_ORG)
            continue;
        if (person && (r->scope != SCOPE_PERSON || strcmp(r->id, person)))
            continue;
        char p[16], c[16], l[16], a[16], b[16];
        ol_fmt_bp(p, sizeof p, r->r.has_bp, r->r.bp);
        if (!shown++ && !strcmp(format, "table")) /* a header only above rows */
            printf("%-7s %-14s %-14s %9s %8s %9s %9s %9s %8s %s\n", "scope", "id", "team", "capacity_h", "leave_h",
                   "avail_h", "billable_h", "util", "target", "below");
        if (!strcmp(format, "table")) {
            ol_fmt_hours(c, sizeof c, r->r.capacity);
            ol_fmt_hours(l, sizeof l, r->r.leave);
            ol_fmt_hours(a, sizeof a, r->r.available);
            ol_fmt_hours(b, sizeof b, r->r.billable);
            printf("%-7s %-14s %-14s %9s %8s %9s %9s %9s %5d.%02d%% %s\n", scope_name(r->scope),
                   ol_esc_a(&ea, OL_ESC_TEXT, r->id), ol_esc_a(&ea, OL_ESC_TEXT, r->team), c, l,
                   a, b, p, r->r.target_bp / 100, r->r.target_bp % 100, r->r.below ? "BELOW" : "");
        } else if (!strcmp(format, "csv")) {
            printf("%s,%s,%s,%s,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,", scope_name(r->scope),
                   ol_esc_a(&ea, OL_ESC_CSV, r->id), ol_esc_a(&ea, OL_ESC_CSV, r->team),
                   week, r->r.capacity, r->r.leave, r->r.available, r->r.billable, r->r.nonbill[NB_SALES],
                   r->r.nonbill[NB_TRAINING], r->r.nonbill[NB_INTERNAL], r->r.nonbill[NB_BENCH],
                   r->r.nonbill[NB_LIVE], r->r.nonbill[NB_DELIVERY], r->r.unclassified, r->r.logged);
            if (r->r.has_bp)
                printf("%d", r->r.bp);
            printf(",%d,%s,%d\n", r->r.target_bp, r->r.below ? "true" : "false", r->r.people);
        } else {
            json_t *o = json_pack("{s:s,s:o,s:o,s:s,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:o,s:i,s:b,s:i}",
                                  "scope", scope_name(r->scope), "id", ol_esc_json_str(r->id), "team",
                                  ol_esc_json_str(r->team), "week", week,
                                  "capacity_minutes", r->r.capacity, "leave_minutes", r->r.leave, "available_minutes",
                                  r->r.available, "billable_minutes", r->r.billable, "sales_support_minutes",
                                  r->r.nonbill[NB_SALES], "training_minutes", r->r.nonbill[NB_TRAINING],
                                  "internal_minutes", r->r.nonbill[NB_INTERNAL], "bench_minutes",
                                  r->r.nonbill[NB_BENCH], "live_support_minutes", r->r.nonbill[NB_LIVE],
                                  "non_billable_delivery_minutes", r->r.nonbill[NB_DELIVERY], "unclassified_minutes",
                                  r->r.unclassified, "logged_minutes", r->r.logged, "utilisation_bp",
                                  r->r.has_bp ? json_integer(r->r.bp) : json_null(), "target_bp", r->r.target_bp,
                                  "below_target", r->r.below, "people", r->r.people);
            char *s = o ? ol_esc_json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
            if (s)
                puts(s);
            else
                ea.failed = 1;
            free(s);
            json_decref(o);
        }
    }
    ol_esc_arena_reset(&ea);
    rc = ea.failed ? 1 : 0;
    if (ea.failed)
        fprintf(stderr, "query utilisation: out of memory\n");
    else if (!shown) {
        ol_esc_arena e = OL_ESC_ARENA_INIT; /* --team and --person are shown back as typed, escaped */
        fprintf(stderr, "query utilisation: no figures for %s%s%s%s%s (exit status 3); opsledger status utilisation "
                        "shows the data time folded so far\n",
                week, team ? " and team " : "", team ? ol_esc_a(&e, OL_ESC_TEXT, team) : "",
                person ? " and person " : "", person ? ol_esc_a(&e, OL_ESC_TEXT, person) : "");
        ol_esc_arena_reset(&e);
        rc = 3;
    }
out:
    free(rows);
    if (txn)
        mdb_txn_abort(txn);
    return rc;
}

/* ------------------------------------------------------------ report */
static void print_split(const char *label, const struct util_row *r)
{
    static const char *names[NB_N] = {"sales support", "training", "internal", "bench", "live support",
                                      "non-billable delivery"};
    int32_t total = 0;
    for (int i = 0; i < NB_N; i++)
        total += r->nonbill[i];
    total += r->unclassified;
    char h[16];
    ol_fmt_hours(h, sizeof h, total);
    printf("  %s non-billable time %s h:", label, h);
    for (int i = 0; i < NB_N; i++) {
        if (!r->nonbill[i])
            continue;
        ol_fmt_hours(h, sizeof h, r->nonbill[i]);
        printf(" %s %s h (%d%%),", names[i], h, total ? (int)((int64_t)r->nonbill[i] * 100 / total) : 0);
    }
    if (r->unclassified) {
        ol_fmt_hours(h, sizeof h, r->unclassified);
        printf(" unclassified %s h,", h);
    }
    printf("\n");
}

static void print_week_line(ol_week w, const struct util_row *r)
{
    char wk[9], p[16], a[16], b[16];
    ol_week_format(w, wk);
    ol_fmt_bp(p, sizeof p, r->has_bp, r->bp);
    ol_fmt_hours(a, sizeof a, r->available);
    ol_fmt_hours(b, sizeof b, r->billable);
    int gap = r->has_bp ? r->bp - r->target_bp : 0;
    char g[16];
    if (r->has_bp)
        snprintf(g, sizeof g, "%c%d.%02d", gap < 0 ? '-' : '+', abs(gap) / 100, abs(gap) % 100);
    else
        snprintf(g, sizeof g, "-");
    printf("  %-8s %6d %10s %10s %8s %10s %s\n", wk, r->people, a, b, p, g,
           r->below ? "BELOW TARGET" : r->has_bp ? "on target" : "");
}

int util_report(ol_store *st, int argc, char **argv, const ol_config *cfg)
{
    const char *from = NULL, *to = NULL, *only_team = NULL;
    ol_week wf, wt;
    MDB_txn *txn = NULL;
    int rc = 2, werr = 0; /* werr: a write to stdout failed */
    (void)cfg;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--from") && i + 1 < argc)
            from = argv[++i];
        else if (!strcmp(argv[i], "--to") && i + 1 < argc)
            to = argv[++i];
        else if (!strcmp(argv[i], "--team") && i + 1 < argc)
            only_team = argv[++i];
        else
            return ol_usage_arg("report utilisation", "unknown argument ", argv[i], NULL);
    }
    /* --from defaults to 5 weeks before --to */
    if (ol_week_arg("report utilisation", "--to", to, &wt) ||
        (from && ol_week_arg("report utilisation", "--from", from, &wf)))
        return 2;
    if (!from)
        wf = ol_week_add(wt, -5);
    if (wf > wt) {
        fprintf(stderr, "report utilisation: --from is after --to\n");
        return 2;
    }
    char from_buf[9];
    ol_week_format(wf, from_buf);
    from = from_buf;
    if (!st) /* the arguments alone (ol_service_main_args_first) */
        return 0;
    if (mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn)) {
        fprintf(stderr, "report utilisation: cannot read the projection\n");
        return 1;
    }
    MDB_dbi util = ol_store_dbi(st, "util");
    /* teams: the team rows of the last week, in name order */
    struct rowref *last = NULL;
    size_t nlast = 0;
    if (load_week(txn, util, wt, &last, &nlast)) {
        fprintf(stderr, "report utilisation: cannot read the projection\n");
        rc = 1;
        goto out;
    }
    printf("Utilisation %s .. %s (billable people only; sums, never averages)\n\n", from, to);
    printf("  %-8s %6s %10s %10s %8s %10s\n", "week", "people", "avail_h", "billable_h", "util", "vs target");
    for (size_t pass = 0; pass < 2; pass++) {
        for (size_t t = 0; t < nlast; t++) {
            int want = pass == 0 ? SCOPE_ORG : SCOPE_TEAM;
            if (last[t].scope != want || (only_team && pass == 1 && strcmp(last[t].id, only_team)))
                continue;
            if (only_team && pass == 0)
                continue;
            if (want == SCOPE_TEAM && last[t].r.people == 0 && !only_team)
                continue; /* a team of non-billable people has no utilisation */
            printf("%s ", want == SCOPE_ORG ? "Organisation" : "Team");
            werr |= ol_esc_fput(stdout, OL_ESC_TEXT, last[t].id);
            printf("\n");
            struct util_row total;
            memset(&total, 0, sizeof total);
            for (ol_week w = wf; w <= wt; w = ol_week_add(w, 1)) {
                struct util_row r;
                if (util_row_get(txn, util, w, want, last[t].id, &r, NULL))
                    continue;
                print_week_line(w, &r);
                util_row_add(&total, &r);
            }
            print_split("bench investment:", &total);
            if (want == SCOPE_TEAM) {
                /* people of this team under target in the last week */
                int any = 0;
                for (size_t i = 0; i < nlast; i++) {
                    struct rowref *p = &last[i];
                    if (p->scope != SCOPE_PERSON || strcmp(p->team, last[t].id) || !p->r.below)
                        continue;
                    char pc[16];
                    ol_fmt_bp(pc, sizeof pc, p->r.has_bp, p->r.bp);
                    printf("%s ", any ? "," : "  under target in the last week:");
                    werr |= ol_esc_fput(stdout, OL_ESC_TEXT, p->id);
                    printf(" %s", pc);
                    any = 1;
                }
                printf("%s\n", any ? "" : "  under target in the last week: nobody");
            }
            printf("\n");
        }
    }
    free(last);
    rc = werr ? 1 : 0;
out:
    mdb_txn_abort(txn);
    return rc;
}
