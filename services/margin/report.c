/* report — `report margin --week W [--format text|csv|json]`, read-only
 * beside the running service: every engagement-week row of W, lowest margin
 * first (cost without revenue before everything), with revenue, each cost,
 * margin and margin %, totals per currency (never converted); then every
 * contractor or partner invoice whose period overlaps the 4 weeks ending
 * with W (as the weekly page) matched three ways
 * (logged, invoiced by the supplier, billed to clients) with each difference
 * in minutes and money, discrepancies marked. Money from integer minor
 * units, percentages from basis points; every string escaped for the format. */
#include "margin.h"
#include "ol_escape.h"
#include "ol_format.h"
#include "ol_rules.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { F_TEXT, F_CSV, F_JSON };

struct erow {
    char eng[130], code[16], client[130], name[130];
    struct mg_row r;
};

struct crow {
    char person[130], invoice[130], code[16], supplier[130];
    struct mg_three t;
};

/* cost without revenue first, then the lowest margin_bp, then id and currency */
static int cmp_erow(const void *a, const void *b)
{
    const struct erow *x = a, *y = b;
    int xw = !x->r.has_bp && x->r.cost > 0, yw = !y->r.has_bp && y->r.cost > 0;
    if (xw != yw)
        return yw - xw;
    if (x->r.has_bp != y->r.has_bp)
        return x->r.has_bp ? -1 : 1;
    if (x->r.has_bp && x->r.margin_bp != y->r.margin_bp)
        return x->r.margin_bp < y->r.margin_bp ? -1 : 1;
    int d = strcmp(x->eng, y->eng);
    return d ? d : strcmp(x->code, y->code);
}

static int load(ol_store *st, ol_week w, struct erow **er, size_t *ne, struct crow **cr, size_t *nc)
{
    MDB_txn *txn;
    MDB_cursor *c;
    MDB_val k, v;
    int rc, mon = ol_week_monday(w);
    if (mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn))
        return -1;
    if ((rc = mdb_cursor_open(txn, ol_store_dbi(st, "rows"), &c))) {
        mdb_txn_abort(txn);
        return -1;
    }
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        const char *kb = k.mv_data;
        if (kb[0] == 'E') {
            const char *eng = kb + 1;
            size_t el = strlen(eng) + 1;
            if (ol_key_get_i32(kb + 1 + el) != w || v.mv_size != sizeof(struct mg_row))
                continue;
            struct erow *n = realloc(*er, (*ne + 1) * sizeof *n);
            if (!n)
                break;
            *er = n;
            struct erow *r = &n[(*ne)++];
            memset(r, 0, sizeof *r);
            snprintf(r->eng, sizeof r->eng, "%s", eng);
            snprintf(r->code, sizeof r->code, "%s", kb + 1 + el + 4);
            memcpy(&r->r, v.mv_data, sizeof r->r);
            struct mg_eng e;
            const char *cur;
            ol_key ek;
            ol_key_init(&ek);
            ol_key_str(&ek, eng);
            MDB_val ekv = ol_key_val(&ek), ev;
            (void)e;
            (void)cur;
            if (mdb_get(txn, ol_store_dbi(st, "engs"), &ekv, &ev) == 0 && ev.mv_size > sizeof(struct mg_eng)) {
                const char *s = (const char *)ev.mv_data + sizeof(struct mg_eng);
                s += strlen(s) + 1;
                snprintf(r->client, sizeof r->client, "%s", s);
                snprintf(r->name, sizeof r->name, "%s", s + strlen(s) + 1);
            }
        } else if (kb[0] == 'C' && v.mv_size > sizeof(struct mg_three)) {
            struct mg_three t;
            memcpy(&t, v.mv_data, sizeof t);
            if (t.last < mon - 21 || t.first > mon + 6) /* the 4 weeks ending with W, as the weekly page */
                continue;
            struct crow *n = realloc(*cr, (*nc + 1) * sizeof *n);
            if (!n)
                break;
            *cr = n;
            struct crow *r = &n[(*nc)++];
            const char *person = kb + 1, *s = (const char *)v.mv_data + sizeof t;
            r->t = t;
            snprintf(r->person, sizeof r->person, "%s", person);
            snprintf(r->invoice, sizeof r->invoice, "%s", person + strlen(person) + 1);
            snprintf(r->code, sizeof r->code, "%s", s);
            snprintf(r->supplier, sizeof r->supplier, "%s", s + strlen(s) + 1);
        }
    }
    mdb_cursor_close(c);
    mdb_txn_abort(txn);
    return rc == MDB_NOTFOUND ? 0 : -1;
}

/* the supplier invoiced other minutes than were logged and approved; time
 * logged but not billed (fixed-price, non-billable or internal work) is
 * shown in billed-logged, not flagged: it is a fact of the engagement, not
 * an error of the invoice */
static int discrepancy(const struct mg_three *t)
{
    return t->status == MG_RECEIVED && t->invoiced != t->logged;
}

static void print_text(ol_week w, struct erow *er, size_t ne, struct crow *cr, size_t nc)
{
    ol_esc_arena esc = OL_ESC_ARENA_INIT;
    char wk[9], a[32], b[32], c[32], d[32], e[32], m[32], p[32];
    ol_week_format(w, wk);
    printf("Margin, week %s: engagement-weeks, lowest margin first (currencies never converted)\n", wk);
    if (!ne)
        printf("  no engagement had revenue or cost in %s\n", wk);
    else
        printf("  %-12s %-18s %-3s %12s %12s %12s %12s %12s %12s %8s\n", "engagement", "client", "cur", "revenue",
               "employees", "contractors", "partners", "expenses", "margin", "margin%");
    for (size_t i = 0; i < ne; i++) {
        const struct mg_row *r = &er[i].r;
        ol_esc_arena_reset(&esc);
        ol_fmt_money(a, sizeof a, r->revenue);
        ol_fmt_money(b, sizeof b, r->employee_cost);
        ol_fmt_money(c, sizeof c, r->contractor_cost);
        ol_fmt_money(d, sizeof d, r->partner_cost);
        ol_fmt_money(e, sizeof e, r->expense_cost);
        ol_fmt_money(m, sizeof m, r->margin);
        ol_fmt_bp(p, sizeof p, (int)r->has_bp, (int32_t)(r->margin_bp > 999999 ? 999999 : r->margin_bp < -999999 ? -999999 : r->margin_bp));
        printf("  %-12s %-18s %-3s %12s %12s %12s %12s %12s %12s %8s", ol_esc_a_cut(&esc, OL_ESC_TEXT, er[i].eng, 12),
               ol_esc_a_cut(&esc, OL_ESC_TEXT, er[i].client, 18), ol_esc_a(&esc, OL_ESC_TEXT, er[i].code), a, b, c, d,
               e, m, p);
        if (r->uninvoiced_minutes) {
            char h[16];
            ol_fmt_hours(h, sizeof h, r->uninvoiced_minutes);
            printf("  %sh of contractors not invoiced", h);
        }
        if (r->uncosted_minutes) {
            char h[16];
            ol_fmt_hours(h, sizeof h, r->uncosted_minutes);
            printf("  %sh not costed (person unknown)", h);
        }
        printf("\n");
    }
    /* totals per currency (rows are few: a quadratic pass is fine) */
    for (size_t i = 0; i < ne; i++) {
        int seen = 0;
        for (size_t j = 0; j < i; j++)
            seen |= !strcmp(er[j].code, er[i].code);
        if (seen)
            continue;
        int64_t rev = 0, cost = 0;
        for (size_t j = i; j < ne; j++)
            if (!strcmp(er[j].code, er[i].code)) {
                rev = ol_money_add(rev, er[j].r.revenue);
                cost = ol_money_add(cost, er[j].r.cost);
            }
        ol_esc_arena_reset(&esc);
        ol_fmt_money(a, sizeof a, rev);
        ol_fmt_money(b, sizeof b, cost);
        int64_t margin = ol_money_sub(rev, cost), bp = rev ? ol_money_clamp((__int128)margin * 10000 / rev) : 0;
        ol_fmt_money(m, sizeof m, margin);
        ol_fmt_bp(p, sizeof p, rev != 0, bp > INT32_MAX ? INT32_MAX : bp < INT32_MIN ? INT32_MIN : (int32_t)bp);
        printf("  total %s: revenue %s, cost %s, margin %s (%s)\n", ol_esc_a(&esc, OL_ESC_TEXT, er[i].code), a, b, m,
               p);
    }
    char wk0[9];
    ol_week_format(ol_week_add(w, -3), wk0);
    printf("\nContractor and partner invoices overlapping %s..%s, matched three ways (minutes logged, invoiced, "
           "billed)\n",
           wk0, wk);
    if (!nc)
        printf("  none\n");
    else
        printf("  %-10s %-16s %-12s %-23s %-3s %8s %8s %8s %16s %16s\n", "person", "supplier", "invoice", "period", "cur",
               "logged_h", "inv_h", "billed_h", "invoiced-logged", "billed-logged");
    for (size_t i = 0; i < nc; i++) {
        const struct mg_three *t = &cr[i].t;
        char f[11], l[11], lh[16], ih[16], bh[16], d1[64], d2[64], m1[32], m2[32], h1[16], h2[16];
        ol_esc_arena_reset(&esc);
        ol_date_format(t->first, f);
        ol_date_format(t->last, l);
        ol_fmt_hours(lh, sizeof lh, t->logged);
        ol_fmt_hours(ih, sizeof ih, t->invoiced);
        ol_fmt_hours(bh, sizeof bh, t->billed);
        ol_fmt_hours(h1, sizeof h1, t->invoiced - t->logged);
        ol_fmt_hours(h2, sizeof h2, t->billed - t->logged);
        ol_fmt_money(m1, sizeof m1, t->invoiced_minus_logged_minor);
        ol_fmt_money(m2, sizeof m2, t->billed_minus_logged_minor);
        snprintf(d1, sizeof d1, "%sh %s", h1, t->has_money ? m1 : "-");
        snprintf(d2, sizeof d2, "%sh %s", h2, t->has_money ? m2 : "-");
        printf("  %-10s %-16s %-12s %s..%s %-3s %8s %8s %8s %16s %16s %s\n",
               ol_esc_a_cut(&esc, OL_ESC_TEXT, cr[i].person, 10), ol_esc_a_cut(&esc, OL_ESC_TEXT, cr[i].supplier, 16),
               ol_esc_a_cut(&esc, OL_ESC_TEXT, cr[i].invoice, 12), f, l, ol_esc_a(&esc, OL_ESC_TEXT, cr[i].code), lh,
               ih, bh, d1, d2, t->status == MG_WITHDRAWN ? "withdrawn" : discrepancy(t) ? "INVOICE MISMATCH" : "matched");
    }
    ol_esc_arena_reset(&esc);
}

static void print_csv(ol_week w, struct erow *er, size_t ne, struct crow *cr, size_t nc)
{
    ol_esc_arena esc = OL_ESC_ARENA_INIT;
    char wk[9];
    ol_week_format(w, wk);
    printf("kind,engagement_id,client,week,currency,revenue_minor,employee_cost_minor,contractor_cost_minor,"
           "partner_cost_minor,expense_cost_minor,cost_minor,margin_minor,margin_bp,employee_minutes,"
           "contractor_minutes,uninvoiced_minutes,uncosted_minutes,person_id,supplier,invoice_id,period_first_day,"
           "period_last_day,invoice_status,invoice_amount_minor,minutes_logged,minutes_invoiced,minutes_billed,"
           "invoiced_minus_logged_minutes,invoiced_minus_logged_minor,billed_minus_logged_minutes,"
           "billed_minus_logged_minor\n");
    for (size_t i = 0; i < ne; i++) {
        const struct mg_row *r = &er[i].r;
        char bp[24] = "";
        ol_esc_arena_reset(&esc);
        if (r->has_bp)
            snprintf(bp, sizeof bp, "%lld", (long long)r->margin_bp);
        printf("ENGAGEMENT,%s,%s,%s,%s,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%s,%d,%d,%d,%d,,,,,,,,,,,,,,\n",
               ol_esc_a(&esc, OL_ESC_CSV, er[i].eng), ol_esc_a(&esc, OL_ESC_CSV, er[i].client), wk,
               ol_esc_a(&esc, OL_ESC_CSV, er[i].code), (long long)r->revenue, (long long)r->employee_cost,
               (long long)r->contractor_cost, (long long)r->partner_cost, (long long)r->expense_cost,
               (long long)r->cost, (long long)r->margin, bp, r->employee_minutes, r->contractor_minutes,
               r->uninvoiced_minutes, r->uncosted_minutes);
    }
    for (size_t i = 0; i < nc; i++) {
        const struct mg_three *t = &cr[i].t;
        char f[11], l[11], m1[24] = "", m2[24] = "";
        ol_esc_arena_reset(&esc);
        ol_date_format(t->first, f);
        ol_date_format(t->last, l);
        if (t->has_money) {
            snprintf(m1, sizeof m1, "%lld", (long long)t->invoiced_minus_logged_minor);
            snprintf(m2, sizeof m2, "%lld", (long long)t->billed_minus_logged_minor);
        }
        printf("CONTRACTOR,,,%s,%s,,,,,,,,,,,,,%s,%s,%s,%s,%s,%s,%lld,%d,%d,%d,%d,%s,%d,%s\n", wk,
               ol_esc_a(&esc, OL_ESC_CSV, cr[i].code), ol_esc_a(&esc, OL_ESC_CSV, cr[i].person),
               ol_esc_a(&esc, OL_ESC_CSV, cr[i].supplier), ol_esc_a(&esc, OL_ESC_CSV, cr[i].invoice), f, l,
               t->status == MG_WITHDRAWN ? "WITHDRAWN" : "RECEIVED", (long long)t->amount, t->logged, t->invoiced,
               t->billed, t->invoiced - t->logged, m1, t->billed - t->logged, m2);
    }
    ol_esc_arena_reset(&esc);
}

static int print_json(ol_week w, struct erow *er, size_t ne, struct crow *cr, size_t nc)
{
    char wk[9];
    int rc = 0;
    ol_week_format(w, wk);
    for (size_t i = 0; i < ne + nc && !rc; i++) {
        json_t *o;
        if (i < ne) {
            const struct mg_row *r = &er[i].r;
            o = json_pack("{s:s,s:o,s:o,s:s,s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:i,s:i,s:i,s:i}", "kind",
                          "ENGAGEMENT", "engagement_id", ol_esc_json_str(er[i].eng), "client",
                          ol_esc_json_str(er[i].client), "week", wk, "currency", ol_esc_json_str(er[i].code),
                          "revenue_minor", (json_int_t)r->revenue, "employee_cost_minor", (json_int_t)r->employee_cost,
                          "contractor_cost_minor", (json_int_t)r->contractor_cost, "partner_cost_minor",
                          (json_int_t)r->partner_cost, "expense_cost_minor", (json_int_t)r->expense_cost, "cost_minor",
                          (json_int_t)r->cost, "margin_minor", (json_int_t)r->margin, "margin_bp",
                          r->has_bp ? json_integer(r->margin_bp) : json_null(), "employee_minutes",
                          r->employee_minutes, "contractor_minutes", r->contractor_minutes, "uninvoiced_minutes",
                          r->uninvoiced_minutes, "uncosted_minutes", r->uncosted_minutes);
        } else {
            const struct crow *c = &cr[i - ne];
            const struct mg_three *t = &c->t;
            char f[11], l[11];
            ol_date_format(t->first, f);
            ol_date_format(t->last, l);
            o = json_pack("{s:s,s:o,s:o,s:o,s:o,s:s,s:s,s:s,s:I,s:i,s:i,s:i,s:i,s:o,s:i,s:o,s:b}", "kind",
                          "CONTRACTOR", "person_id", ol_esc_json_str(c->person), "supplier",
                          ol_esc_json_str(c->supplier), "invoice_id", ol_esc_json_str(c->invoice), "currency",
                          ol_esc_json_str(c->code), "period_first_day", f, "period_last_day", l, "invoice_status",
                          t->status == MG_WITHDRAWN ? "WITHDRAWN" : "RECEIVED", "invoice_amount_minor",
                          (json_int_t)t->amount, "minutes_logged", t->logged, "minutes_invoiced", t->invoiced,
                          "minutes_billed", t->billed, "invoiced_minus_logged_minutes", t->invoiced - t->logged,
                          "invoiced_minus_logged_minor",
                          t->has_money ? json_integer(t->invoiced_minus_logged_minor) : json_null(),
                          "billed_minus_logged_minutes", t->billed - t->logged, "billed_minus_logged_minor",
                          t->has_money ? json_integer(t->billed_minus_logged_minor) : json_null(), "discrepancy",
                          discrepancy(t));
        }
        char *s = o ? ol_esc_json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(o);
        if (!s)
            rc = -1;
        else
            puts(s);
        free(s);
    }
    return rc;
}

int mg_report(ol_store *st, int argc, char **argv, const ol_config *cfg)
{
    const char *week = NULL;
    int fmt = F_TEXT, i = 1;
    ol_week w;
    struct erow *er = NULL;
    struct crow *cr = NULL;
    size_t ne = 0, nc = 0;
    /* `query` is `report` under another name: a message names the one typed */
    const char *prog = !strcmp(argv[0], "query") ? "query margin" : "report margin";
    (void)cfg;
    if (argc > 1 && !strcmp(argv[1], "margin"))
        i = 2;
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--week") && i + 1 < argc)
            week = argv[++i];
        else if (!strcmp(argv[i], "--format") && i + 1 < argc) {
            const char *f = argv[++i];
            fmt = !strcmp(f, "text") ? F_TEXT : !strcmp(f, "csv") ? F_CSV : !strcmp(f, "json") ? F_JSON : -1;
            if (fmt < 0) {
                fprintf(stderr, "%s: --format is text, csv or json\n", prog);
                return 2;
            }
        } else {
            return ol_usage_arg(prog, "unknown argument ", argv[i], NULL);
        }
    }
    if (ol_week_arg(prog, "--week", week, &w))
        return 2;
    if (!st) /* the arguments alone (ol_service_main_args_first) */
        return 0;
    if (load(st, w, &er, &ne, &cr, &nc)) {
        fprintf(stderr, "%s: cannot read the projection\n", prog);
        free(er);
        free(cr);
        return 1;
    }
    if (ne)
        qsort(er, ne, sizeof *er, cmp_erow);
    int rc = 0;
    if (fmt == F_TEXT)
        print_text(w, er, ne, cr, nc);
    else if (fmt == F_CSV)
        print_csv(w, er, ne, cr, nc);
    else if (print_json(w, er, ne, cr, nc)) {
        fprintf(stderr, "%s: out of memory\n", prog);
        rc = 1;
    }
    free(er);
    free(cr);
    return rc;
}
