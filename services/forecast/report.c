/* report — `report budgets` (every engagement's spend, forecast to complete,
 * estimate at completion, budget and run-out week, worst first: the highest
 * EAC / budget first) and `report demand` (per role and horizon week:
 * open-role demand, bench supply, the gap, roll-offs, billable headcount with
 * the scheduled joiners and leavers). Money from integer minor units; each
 * currency totalled on its own. */
#include "forecast.h"
#include "ol_entities.h"
#include "ol_escape.h"
#include "ol_format.h"
#include "ol_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct brow {
    struct fc_budget b;
    char eng[128], currency[16], client[128], name[128];
};

/* EAC / budget, compared in 128 bits; a zero budget with anything to spend is the worst */
static int cmp_worst(const void *pa, const void *pb)
{
    const struct brow *x = pa, *y = pb;
    int xi = x->b.budget == 0 && x->b.eac > 0, yi = y->b.budget == 0 && y->b.eac > 0;
    if (xi != yi)
        return yi - xi;
    if (!xi) {
        __int128 l = (__int128)x->b.eac * (y->b.budget ? y->b.budget : 1),
                 r = (__int128)y->b.eac * (x->b.budget ? x->b.budget : 1);
        if (l != r)
            return l > r ? -1 : 1;
    }
    if (x->b.has_runout != y->b.has_runout)
        return y->b.has_runout - x->b.has_runout;
    if (x->b.has_runout && x->b.runout != y->b.runout)
        return x->b.runout < y->b.runout ? -1 : 1;
    return strcmp(x->eng, y->eng);
}

static int cmp_currency(const void *pa, const void *pb)
{
    return strcmp(((const struct brow *)pa)->currency, ((const struct brow *)pb)->currency);
}

int fc_report_budgets(ol_store *st, const ol_config *cfg, int argc, char **argv)
{
    MDB_txn *txn;
    MDB_cursor *c;
    MDB_val k, v;
    struct brow *rows = NULL;
    size_t n = 0;
    (void)cfg; /* the engagements' names are in the budget rows */
    if (argc > 1)
        return ol_usage_arg("report budgets", "unknown argument ", argv[1], NULL);
    if (!st) /* the arguments alone (ol_service_main_args_first) */
        return 0;
    if (mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn))
        return 1;
    if (mdb_cursor_open(txn, ol_store_dbi(st, "budget"), &c)) {
        mdb_txn_abort(txn);
        return 1;
    }
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        struct brow *nr = realloc(rows, (n + 1) * sizeof *nr);
        if (!nr)
            break;
        rows = nr;
        struct brow *r = &rows[n++];
        memcpy(&r->b, v.mv_data, sizeof r->b);
        const char *s = (const char *)v.mv_data + sizeof r->b;
        snprintf(r->eng, sizeof r->eng, "%s", (const char *)k.mv_data);
        snprintf(r->currency, sizeof r->currency, "%s", s);
        s += strlen(s) + 1;
        snprintf(r->client, sizeof r->client, "%s", s);
        snprintf(r->name, sizeof r->name, "%s", s + strlen(s) + 1);
    }
    mdb_cursor_close(c);
    mdb_txn_abort(txn);
    if (n == 0) {
        printf("No engagement forecast yet.\n");
        return 0;
    }
    char as_of[9];
    ol_week_format(rows[0].b.as_of, as_of);
    qsort(rows, n, sizeof *rows, cmp_worst);
    printf("Engagement budgets as of %s, worst first (estimate at completion / budget)\n"
           "spent = billing lines to the end of %s; to complete = CONFIRMED allocations after it to ends_on\n\n",
           as_of, as_of);
    struct ol_table t;
    ol_table_init(&t, 0, "engagement|client|>spent|>to complete|>EAC|>budget|>EAC - budget|>of budget|runs out|ends|notes");
    for (size_t i = 0; i < n; i++) {
        const struct fc_budget *b = &rows[i].b;
        const char *cur = rows[i].currency;
        char sp[48], ft[48], ea[48], bu[48], va[48], pc[48], ro[9] = "-", ends[11], notes[512] = "";
        size_t nl = 0;
        ol_fmt_amount(sp, sizeof sp, b->spent, cur);
        ol_fmt_amount(ft, sizeof ft, b->ftc, cur);
        ol_fmt_amount(ea, sizeof ea, b->eac, cur);
        ol_fmt_amount(bu, sizeof bu, b->budget, cur);
        ol_fmt_amount(va, sizeof va, b->eac - b->budget, cur);
        if (b->budget > 0)
            ol_fmt_pct(pc, sizeof pc, b->eac, b->budget);
        else
            snprintf(pc, sizeof pc, "-");
        if (b->has_runout)
            ol_week_format(b->runout, ro);
        ol_date_format(b->ends, ends);
#define NOTE(...) nl += nl < sizeof notes ? (size_t)snprintf(notes + nl, sizeof notes - nl, __VA_ARGS__) : 0
        if (b->status == ENG_CLOSED)
            NOTE("%sCLOSED", nl ? "; " : "");
        if (b->billing == BILL_FIXED || b->billing == BILL_NON_BILLABLE)
            NOTE("%s%s (time is not billed)", nl ? "; " : "", b->billing == BILL_FIXED ? "fixed price" : "non-billable");
        if (b->unpriced_minutes) {
            char h[48];
            ol_fmt_hm(h, sizeof h, b->unpriced_minutes);
            NOTE("%s%s unpriced (no rate)", nl ? "; " : "", h);
        }
        if (b->foreign_lines)
            NOTE("%s%d line(s) in another currency left out", nl ? "; " : "", b->foreign_lines);
        if (b->later_lines)
            NOTE("%s%d line(s) after %s left out", nl ? "; " : "", b->later_lines, as_of);
#undef NOTE
        char eng[512];
        snprintf(eng, sizeof eng, "%s%s%s", rows[i].eng, rows[i].name[0] ? " " : "", rows[i].name);
        ol_table_row(&t, eng, rows[i].client, sp, ft, ea, bu, va, pc, ro, ends, notes);
    }
    /* totals, one per currency: currencies are never added together */
    qsort(rows, n, sizeof *rows, cmp_currency);
    for (size_t i = 0; i < n;) {
        int64_t sp = 0, ft = 0, ea = 0, bu = 0;
        size_t j = i;
        for (; j < n && !strcmp(rows[j].currency, rows[i].currency); j++)
            sp += rows[j].b.spent, ft += rows[j].b.ftc, ea += rows[j].b.eac, bu += rows[j].b.budget;
        char a[48], b[48], e[48], d[48], label[32], cnt[48];
        const char *cur = rows[i].currency;
        ol_fmt_amount(a, sizeof a, sp, cur);
        ol_fmt_amount(b, sizeof b, ft, cur);
        ol_fmt_amount(e, sizeof e, ea, cur);
        ol_fmt_amount(d, sizeof d, bu, cur);
        snprintf(label, sizeof label, "TOTAL %s", cur);
        snprintf(cnt, sizeof cnt, "%zu engagements", j - i);
        ol_table_row(&t, label, cnt, a, b, e, d, "", "", "", "", "");
        i = j;
    }
    int failed = t.failed;
    ol_table_print(stdout, &t);
    free(rows);
    if (failed)
        fprintf(stderr, "report budgets: out of memory\n");
    return failed ? 1 : 0;
}

/* ------------------------------------------------------------ demand */
struct role_ref {
    char role[256];
};

static int cmp_role(const void *a, const void *b) { return strcmp(a, b); }

/* billable people of the role: headcount in the week, joiners and leavers of the horizon */
static void people_of_role(MDB_txn *txn, ol_store *st, const ol_names *names, const char *role, ol_week h0,
                           int32_t *head)
{
    MDB_cursor *c;
    ol_key rk;
    int32_t first = ol_week_monday(h0), last = first + 7 * FC_HORIZON - 1;
    char moves[2048] = "";
    size_t ml = 0;
    ol_esc_arena esc = OL_ESC_ARENA_INIT; /* the people's ids, escaped */
    ol_key_init(&rk);
    ol_key_str(&rk, role);
    if (mdb_cursor_open(txn, ol_store_dbi(st, "role_people"), &c))
        return;
    MDB_val k = ol_key_val(&rk), v;
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size <= rk.n || memcmp(k.mv_data, rk.b, rk.n))
            break;
        const char *person = (const char *)k.mv_data + rk.n;
        struct fc_person p;
        char d[11], who[384];
        if (fc_person_load(txn, ol_store_dbi(st, "people"), person, &p, NULL, NULL, NULL) || !p.billable)
            continue;
        for (int i = 0; i < FC_HORIZON; i++) {
            int32_t mon = first + 7 * i;
            head[i] += p.joined <= mon + 6 && p.left >= mon;
        }
        if (p.joined >= first && p.joined <= last && ml < sizeof moves) {
            ol_date_format(p.joined, d);
            ml += (size_t)snprintf(moves + ml, sizeof moves - ml, "%s%s joins %s", ml ? "; " : " ",
                                   ol_esc_a(&esc, OL_ESC_TEXT, ol_names_who(names, person, who, sizeof who)), d);
        }
        if (p.left >= first && p.left <= last && ml < sizeof moves) {
            ol_date_format(p.left, d);
            ml += (size_t)snprintf(moves + ml, sizeof moves - ml, "%s%s leaves %s", ml ? "; " : " ",
                                   ol_esc_a(&esc, OL_ESC_TEXT, ol_names_who(names, person, who, sizeof who)), d);
        }
    }
    mdb_cursor_close(c);
    ol_esc_arena_reset(&esc);
    if (ml)
        printf("  scheduled:%s%s\n", moves, esc.failed ? " (out of memory: some names shown as U+FFFD)" : "");
}

int fc_report_demand(ol_store *st, const ol_config *cfg, int argc, char **argv)
{
    const char *only = NULL;
    MDB_txn *txn;
    MDB_cursor *c;
    MDB_val k, v;
    struct role_ref *roles = NULL;
    size_t n = 0;
    ol_week h0 = 0;
    int werr = 0; /* a write to stdout failed */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--role") && i + 1 < argc)
            only = argv[++i];
        else
            return ol_usage_arg("report demand", "unknown argument ", argv[i], NULL);
    }
    if (!st) /* the arguments alone (ol_service_main_args_first) */
        return 0;
    /* the people's names from hr.person as forecast holds it: ids alone
     * when it cannot be read */
    char nerr[256];
    ol_names *names = ol_names_load(st, cfg, "hr.person", "name", nerr, sizeof nerr);
    if (!names)
        ol_esc_eprintf("report demand: names not shown: %s\n", nerr);
    if (mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn)) {
        ol_names_free(names);
        return 1;
    }
    MDB_val hk = {13, "horizon_first"}, hv;
    if (mdb_get(txn, ol_store_dbi(st, "fmeta"), &hk, &hv) == 0 && hv.mv_size == 4)
        h0 = ol_key_get_i32(hv.mv_data);
    MDB_dbi demand = ol_store_dbi(st, "demand");
    if (mdb_cursor_open(txn, demand, &c)) {
        mdb_txn_abort(txn);
        ol_names_free(names);
        return 1;
    }
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        const char *role = (const char *)k.mv_data + 4;
        if (ol_key_get_i32(k.mv_data) != h0 || (only && strcmp(role, only)))
            continue;
        struct role_ref *nr = realloc(roles, (n + 1) * sizeof *nr);
        if (!nr)
            break;
        roles = nr;
        snprintf(roles[n++].role, sizeof roles->role, "%s", role);
    }
    if (n)
        qsort(roles, n, sizeof *roles, cmp_role);
    char a[9], b[9];
    ol_week_format(h0, a);
    ol_week_format(ol_week_add(h0, FC_HORIZON - 1), b);
    printf("Demand and supply per role, %s .. %s\n"
           "open = allocations without a person (PROPOSED or CONFIRMED); bench = billable people of the role;\n"
           "a positive gap is unmet demand; roll-offs: last CONFIRMED allocation ends within 4 weeks from the week\n\n",
           a, b);
    if (!n)
        printf("No roles in the forecast.\n");
    for (size_t i = 0; i < n; i++) {
        int32_t head[FC_HORIZON] = {0};
        printf("Role ");
        werr |= ol_esc_fput(stdout, OL_ESC_TEXT, roles[i].role);
        printf("\n");
        people_of_role(txn, st, names, roles[i].role, h0, head);
        struct ol_table t;
        ol_table_init(&t, 0, "week|>people|>open roles|>bench|>gap|>roll-offs|note|rolling off");
        for (int w = 0; w < FC_HORIZON; w++) {
            ol_key dk;
            ol_key_init(&dk);
            ol_key_i32(&dk, ol_week_add(h0, w));
            ol_key_str(&dk, roles[i].role);
            MDB_val dkv = ol_key_val(&dk), dv;
            struct fc_demand d;
            char wk[9], o[48], be[48], g[48], hd[24], ro[24], who[2048] = "";
            size_t wl = 0;
            if (mdb_get(txn, demand, &dkv, &dv))
                continue;
            memcpy(&d, dv.mv_data, sizeof d);
            ol_week_format(ol_week_add(h0, w), wk);
            ol_fmt_hm(o, sizeof o, d.open_minutes);
            ol_fmt_hm(be, sizeof be, d.bench_minutes);
            ol_fmt_hm(g, sizeof g, d.gap_minutes);
            snprintf(hd, sizeof hd, "%d", head[w]);
            snprintf(ro, sizeof ro, "%d", d.rolloffs);
            const char *p = (const char *)dv.mv_data + sizeof d;
            for (int j = 0; j < d.rolloffs && wl < sizeof who; j++, p += strlen(p) + 1) {
                char one[384];
                wl += (size_t)snprintf(who + wl, sizeof who - wl, "%s%s", j ? ", " : "",
                                       ol_names_who(names, p, one, sizeof one));
            }
            ol_table_row(&t, wk, hd, o, be, g, ro, d.gap_minutes > 0 ? "unmet demand" : "", who);
        }
        werr |= t.failed;
        ol_table_print(stdout, &t);
        printf("\n");
    }
    mdb_cursor_close(c);
    mdb_txn_abort(txn);
    ol_names_free(names);
    free(roles);
    return werr ? 1 : 0;
}
