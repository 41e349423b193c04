/* query — the forecast's weekly read verbs, read-only beside the running
 * service (or on a replayed projection with --db):
 *   query [--week W] [--team T] [--person P] [--format table|csv|json]
 *         the stored weekly rows (every horizon week unless --week); json
 *         rows also carry as_of_week, the data week the forecast was made in
 *   report [forecast] [--team T]
 *         12 weeks ahead per org and team: available, allocated, billable,
 *         forecast utilisation against forecast.target_bp (default 8500),
 *         bench, proposed, and the overallocated people
 *   report budgets | report demand   (report.c)
 * Minutes are printed as hours with one decimal (truncated), money from
 * integer minor units, percentages from basis points: never floating point. */
#include "forecast.h"
#include "ol_escape.h"
#include "ol_format.h"
#include "ol_table.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *scope_name(int s) { return s == SCOPE_PERSON ? "person" : s == SCOPE_TEAM ? "team" : "org"; }

/* the stored horizon's first week; -1 when the projection has none */
static int horizon(MDB_txn *txn, ol_store *st, ol_week *h0)
{
    MDB_val k = {13, "horizon_first"}, v;
    if (mdb_get(txn, ol_store_dbi(st, "fmeta"), &k, &v) || v.mv_size != 4)
        return -1;
    *h0 = ol_key_get_i32(v.mv_data);
    return 0;
}

int fc_query(ol_store *st, int argc, char **argv, const ol_config *cfg)
{
    const char *week = NULL, *team = NULL, *person = NULL, *format = "table";
    ol_week only = 0, h0;
    long shown = 0;
    MDB_txn *txn;
    MDB_cursor *c;
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
            return ol_usage_arg("query forecast", "unknown argument ", argv[i], NULL);
    }
    if (week && ol_week_arg("query forecast", "--week", week, &only))
        return 2;
    if (strcmp(format, "table") && strcmp(format, "csv") && strcmp(format, "json")) {
        fprintf(stderr, "query forecast: --format is table, csv or json\n");
        return 2;
    }
    if (!st) /* the arguments alone (ol_service_main_args_first) */
        return 0;
    if (mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn))
        return 1;
    if (horizon(txn, st, &h0)) {
        fprintf(stderr, "query forecast: the projection has no forecast yet\n");
        mdb_txn_abort(txn);
        return 1;
    }
    if (!strcmp(format, "csv"))
        printf("scope,id,team,week,available_minutes,allocated_minutes,proposed_minutes,billable_minutes,"
               "utilisation_bp,bench_minutes,overallocated\n");
    if (mdb_cursor_open(txn, ol_store_dbi(st, "weekly"), &c)) {
        mdb_txn_abort(txn);
        return 1;
    }
    MDB_val k, v;
    ol_esc_arena esc = OL_ESC_ARENA_INIT;
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        struct fc_row r;
        char wk[9], a[16], b[16], p[16], l[16], u[16], h[16];
        ol_esc_arena_reset(&esc);
        ol_week w = ol_key_get_i32(k.mv_data);
        int scope = ((const uint8_t *)k.mv_data)[4];
        const char *id = (const char *)k.mv_data + 5, *rt;
        memcpy(&r, v.mv_data, sizeof r);
        rt = (const char *)v.mv_data + sizeof r;
        if ((week && w != only) || (person && (scope != SCOPE_PERSON || strcmp(id, person))) ||
            (team && (scope == SCOPE_ORG || strcmp(rt, team))))
            continue;
        ol_week_format(w, wk);
        if (!shown++ && !strcmp(format, "table")) /* a header only above rows */
            printf("%-7s %-14s %-14s %-8s %8s %8s %8s %8s %8s %8s %s\n", "scope", "id", "team", "week", "avail_h",
                   "alloc_h", "prop_h", "bill_h", "util", "bench_h", "over");
        if (!strcmp(format, "table")) {
            ol_fmt_hours(a, sizeof a, r.available);
            ol_fmt_hours(l, sizeof l, r.allocated);
            ol_fmt_hours(p, sizeof p, r.proposed);
            ol_fmt_hours(b, sizeof b, r.billable);
            ol_fmt_hours(h, sizeof h, r.bench);
            ol_fmt_bp(u, sizeof u, r.has_bp, r.bp);
            printf("%-7s %-14s %-14s %-8s %8s %8s %8s %8s %8s %8s %s\n", scope_name(scope),
                   ol_esc_a(&esc, OL_ESC_TEXT, id), ol_esc_a(&esc, OL_ESC_TEXT, rt), wk, a, l, p, b, u, h,
                   r.over ? "OVER" : "");
        } else if (!strcmp(format, "csv")) {
            printf("%s,%s,%s,%s,%d,%d,%d,%d,", scope_name(scope), ol_esc_a(&esc, OL_ESC_CSV, id),
                   ol_esc_a(&esc, OL_ESC_CSV, rt), wk, r.available, r.allocated, r.proposed, r.billable);
            if (r.has_bp)
                printf("%d", r.bp);
            printf(",%d,%s\n", r.bench, r.over ? "true" : "false");
        } else {
            char hw[9];
            ol_week_format(h0, hw); /* the data week the forecast was made in */
            json_t *o = json_pack("{s:s,s:o,s:o,s:s,s:i,s:i,s:i,s:i,s:o,s:i,s:b,s:s}", "scope", scope_name(scope),
                                  "id", ol_esc_json_str(id), "team", ol_esc_json_str(rt), "week", wk, "available_minutes", r.available,
                                  "allocated_minutes", r.allocated, "proposed_minutes", r.proposed,
                                  "billable_minutes", r.billable, "utilisation_bp",
                                  r.has_bp ? json_integer(r.bp) : json_null(), "bench_minutes", r.bench,
                                  "overallocated", r.over, "as_of_week", hw);
            char *s = o ? ol_esc_json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
            if (s)
                puts(s);
            else
                esc.failed = 1;
            free(s);
            json_decref(o);
        }
    }
    ol_esc_arena_reset(&esc);
    mdb_cursor_close(c);
    mdb_txn_abort(txn);
    if (esc.failed) {
        fprintf(stderr, "query forecast: out of memory\n");
        return 1;
    }
    if (!shown) {
        char h[9], e[9];
        ol_week_format(h0, h);
        ol_week_format(ol_week_add(h0, FC_HORIZON - 1), e);
        fprintf(stderr, "query forecast: no forecast rows%s%s%s (exit status 3); the forecast covers %s to %s\n",
                week ? " for " : "", week ? week : "", team || person ? " with that --team/--person" : "", h, e);
        return 3;
    }
    return 0;
}

/* ------------------------------------------------------------ report forecast */
static void week_line(struct ol_table *t, ol_week w, const struct fc_row *r, int32_t target)
{
    char wk[9], a[48], l[48], b[48], u[48], g[48], h[48], p[48], pe[24], ov[24];
    ol_week_format(w, wk);
    ol_fmt_hm(a, sizeof a, r->available);
    ol_fmt_hm(l, sizeof l, r->allocated);
    ol_fmt_hm(b, sizeof b, r->billable);
    ol_fmt_hm(h, sizeof h, r->bench);
    ol_fmt_hm(p, sizeof p, r->proposed);
    ol_fmt_bp(u, sizeof u, r->has_bp, r->bp);
    if (r->has_bp)
        ol_fmt_pts(g, sizeof g, (int64_t)r->bp - target);
    else
        snprintf(g, sizeof g, "-");
    snprintf(pe, sizeof pe, "%d", r->people);
    snprintf(ov, sizeof ov, "%d", r->over_people);
    ol_table_row(t, wk, pe, a, l, b, u, g, h, p, ov, !r->has_bp ? "" : r->bp < target ? "below target" : "on target");
}

struct over {
    char person[256];
    ol_week week;
    int32_t excess;
};

static int cmp_over(const void *a, const void *b)
{
    const struct over *x = a, *y = b;
    int c = strcmp(x->person, y->person);
    return c ? c : (x->week > y->week) - (x->week < y->week);
}

/* the team's overallocated billable people, each with its weeks and excess */
static void overallocated(MDB_txn *txn, ol_store *st, const char *team)
{
    MDB_cursor *c;
    MDB_val k, v;
    struct over *o = NULL;
    size_t n = 0;
    if (mdb_cursor_open(txn, ol_store_dbi(st, "weekly"), &c))
        return;
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        struct fc_row r;
        memcpy(&r, v.mv_data, sizeof r);
        if (((const uint8_t *)k.mv_data)[4] != SCOPE_PERSON || !r.over_people ||
            strcmp((const char *)v.mv_data + sizeof r, team))
            continue;
        struct over *no = realloc(o, (n + 1) * sizeof *no);
        if (!no)
            break;
        o = no;
        snprintf(o[n].person, sizeof o[n].person, "%s", (const char *)k.mv_data + 5);
        o[n].week = ol_key_get_i32(k.mv_data);
        o[n++].excess = r.allocated - r.available;
    }
    mdb_cursor_close(c);
    if (n)
        qsort(o, n, sizeof *o, cmp_over);
    const char *cur = NULL;
    for (size_t i = 0; i < n; i++) {
        char wk[9], h[48];
        if (!cur || strcmp(cur, o[i].person)) {
            printf("%s  overallocated ", cur ? "\n" : "");
            (void)ol_esc_fput(stdout, OL_ESC_TEXT, o[i].person); /* a write error: ferror(stdout) in fc_report */
            printf(":");
        }
        cur = o[i].person;
        ol_week_format(o[i].week, wk);
        ol_fmt_hm(h, sizeof h, o[i].excess);
        printf(" %s +%s", wk, h);
    }
    printf("%s\n", n ? "" : "  overallocated: nobody");
    free(o);
}

int fc_report(ol_store *st, int argc, char **argv, const ol_config *cfg)
{
    const char *only_team = NULL;
    int64_t target = 8500;
    char err[256], a[9], b[9];
    MDB_txn *txn;
    MDB_cursor *c;
    ol_week h0;

    if (argc >= 2 && !strcmp(argv[1], "budgets"))
        return fc_report_budgets(st, cfg, argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "demand"))
        return fc_report_demand(st, cfg, argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "forecast"))
        argc--, argv++;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--team") && i + 1 < argc)
            only_team = argv[++i];
        else
            return ol_usage_arg("report forecast", "unknown argument ", argv[i], NULL);
    }
    if (ol_config_get_i64(cfg, "forecast.target_bp", 8500, &target, err, sizeof err) || target < 0 || target > 10000) {
        fprintf(stderr, "report forecast: forecast.target_bp must be 0..10000\n");
        return 2;
    }
    if (!st) /* the arguments alone (ol_service_main_args_first) */
        return 0;
    if (mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn))
        return 1;
    if (horizon(txn, st, &h0)) {
        printf("No forecast yet: nothing folded.\n");
        mdb_txn_abort(txn);
        return 0;
    }
    MDB_dbi weekly = ol_store_dbi(st, "weekly");
    ol_week_format(h0, a);
    ol_week_format(ol_week_add(h0, FC_HORIZON - 1), b);
    char tg[48];
    ol_fmt_bp(tg, sizeof tg, 1, (int32_t)target);
    printf("Forecast %s .. %s (as of data week %s; billable people only; sums, never averages); target %s\n"
           "allocated = CONFIRMED allocations; proposed kept apart; bench = available - allocated per person\n\n",
           a, b, a, tg);
    /* the org, then every team with a row in the first week, in name order */
    char **ids = NULL;
    size_t n = 0;
    ol_esc_arena esc = OL_ESC_ARENA_INIT; /* the team names, escaped */
    if (!only_team && (ids = malloc(sizeof *ids)))
        ids[n++] = strdup("org");
    ol_key wk;
    ol_key_init(&wk);
    ol_key_i32(&wk, h0);
    ol_key_u8(&wk, SCOPE_TEAM);
    if (mdb_cursor_open(txn, weekly, &c) == 0) {
        MDB_val k = ol_key_val(&wk), v;
        for (int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            if (k.mv_size <= wk.n || memcmp(k.mv_data, wk.b, wk.n))
                break;
            const char *id = (const char *)k.mv_data + wk.n;
            struct fc_row r;
            memcpy(&r, v.mv_data, sizeof r);
            if (only_team ? strcmp(id, only_team) : r.people == 0)
                continue; /* a team of non-billable people has no forecast utilisation */
            char **ni = realloc(ids, (n + 1) * sizeof *ni);
            if (!ni)
                break;
            ids = ni;
            ids[n++] = strdup(id);
        }
        mdb_cursor_close(c);
    }
    if (only_team && n == 0)
        printf("No team %s in the forecast.\n", ol_esc_a(&esc, OL_ESC_TEXT, only_team));
    for (size_t t = 0; t < n; t++) {
        int scope = !only_team && t == 0 ? SCOPE_ORG : SCOPE_TEAM;
        if (!ids[t])
            continue;
        printf("%s %s\n", scope == SCOPE_ORG ? "Organisation" : "Team", ol_esc_a(&esc, OL_ESC_TEXT, ids[t]));
        struct ol_table tb;
        ol_table_init(&tb, 0, "week|>people|>available|>allocated|>billable|>utilisation|>against target|>bench|"
                              ">proposed|>overallocated|verdict");
        for (int i = 0; i < FC_HORIZON; i++) {
            struct fc_row r;
            ol_week w = ol_week_add(h0, i);
            if (fc_row_get(txn, weekly, w, scope, ids[t], &r, NULL) == 0)
                week_line(&tb, w, &r, (int32_t)target);
        }
        esc.failed |= tb.failed;
        ol_table_print(stdout, &tb);
        if (scope == SCOPE_TEAM)
            overallocated(txn, st, ids[t]);
        printf("\n");
        free(ids[t]);
    }
    free(ids);
    mdb_txn_abort(txn);
    ol_esc_arena_reset(&esc);
    if (esc.failed || fflush(stdout) || ferror(stdout)) {
        fprintf(stderr, "report forecast: out of memory or a write error\n");
        return 1;
    }
    return 0;
}
