/* report — people's read verbs, read-only beside the running service:
 *   report [headcount] [--from W] [--to W] [--format text|csv|json]
 *       the org, contractors and partners week by week, then every role and
 *       team in the last week shown (csv and json: every row of the weeks): headcount, FTE, joiners, leavers, trailing-52-week leavers,
 *       average headcount and annualised attrition, median tenure; then the
 *       delivery managers' FTE supply against demand of the weeks asked
 *       (default: the 12 weeks to the data week)
 *   query [--week W] [--scope role|team|org|employment] [--format table|csv|json]
 *       the stored rows as they are
 * Percentages from basis points, FTE from basis points, never floating
 * point; every id escaped for the format (ol_escape.h). */
#include "people.h"
#include "ol_escape.h"
#include "ol_format.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const scope_names[] = {"role", "team", "org", "employment"};

enum { F_TEXT, F_CSV, F_JSON };

/* 12345 bp -> "1.23" (truncated to hundredths) */
static void fmt_fte(char *buf, size_t n, int32_t bp)
{
    snprintf(buf, n, "%s%d.%02d", bp < 0 ? "-" : "", abs(bp) / 10000, abs(bp) % 10000 / 100);
}

static void opt(char *buf, size_t n, int has, int32_t v)
{
    if (has)
        snprintf(buf, n, "%d", v);
    else
        buf[0] = '\0';
}

static json_t *jopt(int has, int32_t v) { return has ? json_integer(v) : json_null(); }

/* one row in fmt; 0 or -1 (out of memory) */
static int print_row(int fmt, ol_esc_arena *esc, int scope, const char *id, ol_week w, const struct hc_row *r)
{
    char wk[9], fte[24], avg[24], att[24], a[16], b[16], c[16], d[16], e[16];
    ol_week_format(w, wk);
    ol_esc_arena_reset(esc);
    if (fmt == F_TEXT) {
        fmt_fte(fte, sizeof fte, r->fte_bp);
        snprintf(avg, sizeof avg, "%d.%02d", r->avg_x100 / 100, r->avg_x100 % 100);
        ol_fmt_bp(att, sizeof att, r->has_attrition, r->attrition_bp);
        opt(a, sizeof a, r->has_tenure, r->tenure_days);
        printf("  %-10s %-22s %-8s %5d %8s %5d %5d %6d %8s %9s %7s\n", scope_names[scope],
               ol_esc_a_cut(esc, OL_ESC_TEXT, id, 22), wk, r->headcount, fte, r->joiners, r->leavers,
               r->window_leavers, avg, att, r->has_tenure ? a : "-");
    } else if (fmt == F_CSV) {
        opt(a, sizeof a, r->has_attrition, r->attrition_bp);
        opt(b, sizeof b, r->has_tenure, r->tenure_days);
        opt(c, sizeof c, r->has_dm, r->dm_supply_bp);
        opt(d, sizeof d, r->has_dm, r->dm_demand_bp);
        opt(e, sizeof e, r->has_ratio, r->ratio_bp);
        printf("%s,%s,%s,%d,%d,%d,%d,%d,%d,%s,%s,%s,%s,%s,%s\n", scope_names[scope], ol_esc_a(esc, OL_ESC_CSV, id),
               wk, r->headcount, r->fte_bp, r->joiners, r->leavers, r->window_leavers, r->avg_x100, a, b, c, d, e,
               r->has_dm ? (r->ahead ? "true" : "false") : "");
    } else {
        json_t *o = json_pack("{s:s,s:o,s:s,s:i,s:i,s:i,s:i,s:i,s:i,s:o,s:o,s:o,s:o,s:o,s:b}", "scope",
                              scope_names[scope], "id", ol_esc_json_str(id), "week", wk, "headcount", r->headcount,
                              "fte_bp", r->fte_bp, "joiners", r->joiners, "leavers", r->leavers, "window_leavers",
                              r->window_leavers, "avg_headcount_x100", r->avg_x100, "attrition_bp",
                              jopt(r->has_attrition, r->attrition_bp), "median_tenure_days",
                              jopt(r->has_tenure, r->tenure_days), "dm_supply_fte_bp", jopt(r->has_dm, r->dm_supply_bp),
                              "dm_demand_fte_bp", jopt(r->has_dm, r->dm_demand_bp), "dm_ratio_bp",
                              jopt(r->has_ratio, r->ratio_bp), "dm_ahead", r->ahead);
        char *s = o ? ol_esc_json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(o);
        if (!s)
            return -1;
        puts(s);
        free(s);
    }
    return esc->failed ? -1 : 0;
}

struct filter {
    ol_week from, to; /* 0: any */
    int scope;        /* -1: any */
};

/* prints the rows matching f in key order (scope, id, week); scope_order
 * lists the scopes in the order to print them. Returns rows shown or -1. */
static long print_rows(ol_store *st, int fmt, const struct filter *f, const int *order, int norder)
{
    MDB_txn *txn;
    MDB_cursor *c;
    MDB_val k, v;
    long shown = 0;
    ol_esc_arena esc = OL_ESC_ARENA_INIT;
    if (mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn))
        return -1;
    if (mdb_cursor_open(txn, ol_store_dbi(st, "rows"), &c)) {
        mdb_txn_abort(txn);
        return -1;
    }
    for (int s = 0; s < norder && shown >= 0; s++) {
        uint8_t sk = (uint8_t)order[s];
        k.mv_size = 1;
        k.mv_data = &sk;
        for (int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0 && shown >= 0;
             rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            const uint8_t *kb = k.mv_data;
            struct hc_row r;
            if (kb[0] != order[s])
                break;
            if (k.mv_size < 6 || v.mv_size != sizeof r)
                continue;
            ol_week w = ol_key_get_i32(kb + k.mv_size - 4);
            if ((f->from && w < f->from) || (f->to && w > f->to) || (f->scope >= 0 && f->scope != kb[0]))
                continue;
            memcpy(&r, v.mv_data, sizeof r);
            if (print_row(fmt, &esc, kb[0], (const char *)kb + 1, w, &r))
                shown = -1;
            else
                shown++;
        }
    }
    ol_esc_arena_reset(&esc);
    mdb_cursor_close(c);
    mdb_txn_abort(txn);
    return shown;
}

/* the data week the rows were computed for; -1 when none yet */
static int data_week(ol_store *st, ol_week *w)
{
    MDB_txn *txn;
    int rc;
    if (mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn))
        return -1;
    rc = ol_named_get_i32(txn, ol_store_dbi(st, "hmeta"), "data_week", w);
    mdb_txn_abort(txn);
    return rc ? -1 : 0;
}

static int parse_format(const char *prog, const char *s, int text_name_table)
{
    if (!strcmp(s, text_name_table ? "table" : "text"))
        return F_TEXT;
    if (!strcmp(s, "csv"))
        return F_CSV;
    if (!strcmp(s, "json"))
        return F_JSON;
    fprintf(stderr, "%s: --format is %s, csv or json\n", prog, text_name_table ? "table" : "text");
    return -1;
}

static const char csv_head[] = "scope,id,week,headcount,fte_bp,joiners,leavers,window_leavers,avg_headcount_x100,"
                               "attrition_bp,median_tenure_days,dm_supply_fte_bp,dm_demand_fte_bp,dm_ratio_bp,"
                               "dm_ahead\n";
static const char text_head[] = "  %-10s %-22s %-8s %5s %8s %5s %5s %6s %8s %9s %7s\n";

static void print_text_head(void)
{
    printf(text_head, "scope", "id", "week", "heads", "FTE", "join", "leave", "lv52w", "avg52w", "attrition",
           "tenure");
}

int hc_query(ol_store *st, int argc, char **argv, const ol_config *cfg)
{
    struct filter f = {0, 0, -1};
    int fmt = F_TEXT;
    static const int all[] = {HC_ORG, HC_EMPLOYMENT, HC_ROLE, HC_TEAM};
    (void)cfg;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--week") && i + 1 < argc) {
            if (ol_week_arg("query people", "--week", argv[++i], &f.from))
                return 2;
            f.to = f.from;
        } else if (!strcmp(argv[i], "--scope") && i + 1 < argc) {
            const char *s = argv[++i];
            for (int j = 0; j < 4; j++)
                if (!strcmp(s, scope_names[j]))
                    f.scope = j;
            if (f.scope < 0) {
                fprintf(stderr, "query people: --scope is role, team, org or employment\n");
                return 2;
            }
        } else if (!strcmp(argv[i], "--format") && i + 1 < argc) {
            if ((fmt = parse_format("query people", argv[++i], 1)) < 0)
                return 2;
        } else {
            return ol_usage_arg("query people", "unknown argument ", argv[i], NULL);
        }
    }
    if (!st) /* the arguments alone (ol_service_main_args_first) */
        return 0;
    if (fmt == F_CSV)
        fputs(csv_head, stdout);
    else if (fmt == F_TEXT)
        print_text_head();
    long n = print_rows(st, fmt, &f, all, 4);
    if (n < 0) {
        fprintf(stderr, "query people: cannot read the projection\n");
        return 1;
    }
    if (n == 0) {
        fprintf(stderr, "query people: no headcount rows%s (exit status 3)\n", f.from ? " for that week" : "");
        return 3;
    }
    return 0;
}

/* the delivery managers' supply against demand, weeks [from, to] */
static int print_dm(ol_store *st, const struct hc_state *s, ol_week from, ol_week to)
{
    MDB_txn *txn;
    long shown = 0;
    ol_esc_arena esc = OL_ESC_ARENA_INIT;
    if (mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn))
        return -1;
    printf("\nDelivery managers (%s): FTE supply against demand; ahead of demand = 100.00%% to %d.%02d%%\n",
           ol_esc_a(&esc, OL_ESC_TEXT, s->dm_role), s->ceiling_bp / 100, s->ceiling_bp % 100);
    printf("  %-8s %5s %8s %8s %8s %9s %s\n", "week", "heads", "supply", "demand", "ratio", "attrition", "");
    for (ol_week w = from; w <= to; w = ol_week_add(w, 1)) {
        ol_key k;
        MDB_val kv, v;
        struct hc_row r;
        char wk[9], sup[24], dem[24], rat[24], att[24];
        hc_row_key(&k, HC_ROLE, s->dm_role, w);
        kv = ol_key_val(&k);
        if (mdb_get(txn, ol_store_dbi(st, "rows"), &kv, &v) || v.mv_size != sizeof r)
            continue;
        memcpy(&r, v.mv_data, sizeof r);
        ol_week_format(w, wk);
        fmt_fte(sup, sizeof sup, r.dm_supply_bp);
        fmt_fte(dem, sizeof dem, r.dm_demand_bp);
        ol_fmt_bp(rat, sizeof rat, r.has_ratio, r.ratio_bp);
        ol_fmt_bp(att, sizeof att, r.has_attrition, r.attrition_bp);
        printf("  %-8s %5d %8s %8s %8s %9s %s\n", wk, r.headcount, sup, dem, rat, att,
               !r.has_ratio ? "no demand" : r.ahead ? "ahead" : r.ratio_bp < 10000 ? "SHORT" : "over-supplied");
        shown++;
    }
    if (!shown)
        printf("  no delivery-manager rows in these weeks\n");
    ol_esc_arena_reset(&esc);
    mdb_txn_abort(txn);
    return 0;
}

int hc_report(ol_store *st, int argc, char **argv, const ol_config *cfg)
{
    struct filter f = {0, 0, -1};
    struct hc_state s;
    ol_week dw;
    int fmt = F_TEXT, i = 1;
    static const int all[] = {HC_ORG, HC_EMPLOYMENT, HC_ROLE, HC_TEAM};
    if (argc > 1 && !strcmp(argv[1], "headcount"))
        i = 2;
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--from") && i + 1 < argc) {
            if (ol_week_arg("report headcount", "--from", argv[++i], &f.from))
                return 2;
        } else if (!strcmp(argv[i], "--to") && i + 1 < argc) {
            if (ol_week_arg("report headcount", "--to", argv[++i], &f.to))
                return 2;
        } else if (!strcmp(argv[i], "--format") && i + 1 < argc) {
            if ((fmt = parse_format("report headcount", argv[++i], 0)) < 0)
                return 2;
        } else {
            return ol_usage_arg("report headcount", "unknown argument ", argv[i], NULL);
        }
    }
    if (hc_settings(cfg, &s))
        return 2;
    if (f.from && f.to && f.from > f.to) { /* only both given can disagree: a default follows the other */
        fprintf(stderr, "report headcount: --from is after --to\n");
        return 2;
    }
    if (!st) /* the arguments alone (ol_service_main_args_first) */
        return 0;
    if (data_week(st, &dw)) {
        fprintf(stderr, "report headcount: the projection has no headcount yet (is opsledger-people running?)\n");
        return 1;
    }
    if (!f.to)
        f.to = f.from ? ol_week_add(f.from, 11) : dw;
    if (!f.from)
        f.from = ol_week_add(f.to, -11);
    if (fmt == F_CSV)
        fputs(csv_head, stdout);
    if (fmt == F_TEXT) {
        char a[9], b[9], d[9];
        ol_week_format(f.from, a);
        ol_week_format(f.to, b);
        ol_week_format(dw, d);
        printf("Headcount and retention, %s to %s (data week %s)\n", a, b, d);
        printf("Employees by org, role and team; contractors and partners apart. FTE: 1.00 = %d minutes a week.\n"
               "attrition: leavers of the trailing 52 weeks / their average headcount; tenure: median days.\n",
               s.standard_week);
    }
    long n;
    if (fmt == F_TEXT) { /* the org week by week, then every role and team in the last week shown */
        static const int org[] = {HC_ORG, HC_EMPLOYMENT}, parts[] = {HC_ROLE, HC_TEAM};
        struct filter last = f;
        char lw[9];
        last.from = last.to = f.to < dw ? f.to : dw;
        ol_week_format(last.to, lw);
        printf("\nOrganisation (employees), contractors and partners, week by week\n");
        print_text_head();
        n = print_rows(st, fmt, &f, org, 2);
        printf("\nBy role and team, %s\n", lw);
        print_text_head();
        long m = n < 0 ? 0 : print_rows(st, fmt, &last, parts, 2);
        n = m < 0 ? -1 : n + m;
    } else
        n = print_rows(st, fmt, &f, all, 4);
    if (n < 0) {
        fprintf(stderr, "report headcount: cannot read the projection\n");
        return 1;
    }
    if (fmt == F_TEXT && print_dm(st, &s, f.from, f.to))
        return 1;
    if (n == 0) {
        fprintf(stderr, "report headcount: no headcount rows in these weeks (exit status 3)\n");
        return 3;
    }
    return 0;
}
