/* query — billing's read verbs:
 *   query --week W [--engagement E] [--format table|csv|json]   the lines
 *   report --week W       totals per client (and bill-to where it differs)
 *                         in each currency, pending and unpriced time,
 *                         post-close adjustments, expenses per engagement
 *                         and supplier (people forms: 37h15, GBP 1,234.56)
 *   report contractors --from W --to W   every invoice overlapping the weeks
 *                         and its status, discrepancies first
 * Money is printed from integer minor units (never through floating point). */
#include "billing.h"
#include "ol_escape.h"
#include "ol_format.h"
#include "ol_rules.h"
#include "ol_state.h"
#include "ol_table.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct line_view {
    struct bill_line l;
    const char *eng, *id, *currency, *bill_to, *client, *role;
};

static void view(const MDB_val *k, const MDB_val *v, struct line_view *lv)
{
    memcpy(&lv->l, v->mv_data, sizeof lv->l);
    lv->eng = (const char *)k->mv_data + 4;
    const char *p = (const char *)v->mv_data + sizeof lv->l;
    lv->currency = p;
    p += strlen(p) + 1;
    lv->bill_to = p;
    p += strlen(p) + 1;
    lv->client = p;
    p += strlen(p) + 1;
    lv->role = p;
    p += strlen(p) + 1;
    lv->id = p;
}

typedef int (*line_fn)(const struct line_view *lv, void *arg);

static int each_line(ol_store *st, ol_week w, line_fn fn, void *arg)
{
    MDB_txn *txn;
    MDB_cursor *c;
    ol_key p;
    int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return rc;
    if ((rc = mdb_cursor_open(txn, ol_store_dbi(st, "lines"), &c))) {
        mdb_txn_abort(txn);
        return rc;
    }
    ol_key_init(&p);
    ol_key_i32(&p, w);
    MDB_val k = ol_key_val(&p), v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size < 4 || memcmp(k.mv_data, p.b, 4))
            break;
        struct line_view lv;
        view(&k, &v, &lv);
        if ((rc = fn(&lv, arg)))
            break;
    }
    mdb_cursor_close(c);
    mdb_txn_abort(txn);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

struct query_args {
    const char *engagement, *format, *week;
    int explain;
    long shown; /* lines printed: a header only above rows, a message when none */
    ol_store *st;
    ol_week w;
    ol_esc_arena esc; /* a line's strings escaped for the format; esc.failed: out of memory */
};

/* --explain: the timesheet entries behind a time line, each with the
 * revision and event_id that won (from the runtime's entity store) */
static void explain_line(const struct query_args *a, const char *eng, const char *person)
{
    static const char *status[] = {"SUBMITTED", "APPROVED", "REJECTED", "DELETED"};
    MDB_txn *txn;
    MDB_cursor *c;
    ol_key p;
    if (mdb_txn_begin(a->st->env, NULL, MDB_RDONLY, &txn))
        return;
    if (mdb_cursor_open(txn, ol_store_dbi(a->st, "ep_entries"), &c)) {
        mdb_txn_abort(txn);
        return;
    }
    ol_key_init(&p);
    ol_key_str(&p, eng);
    ol_key_str(&p, person);
    ol_key_i32(&p, a->w);
    MDB_val k = ol_key_val(&p), v;
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size < p.n || memcmp(k.mv_data, p.b, p.n))
            break;
        const char *entry = (const char *)k.mv_data + p.n;
        struct bill_entry e;
        char day[11];
        memcpy(&e, v.mv_data, sizeof e);
        ol_date_format(e.work_date, day);
        long long rev = -1;
        char eid[128] = "?";
        ol_version ver;
        MDB_dbi log = ol_store_dbi(a->st, "versions");
        /* the latest versions of the entries, collected once per query (a
         * reachable cache for the process's life: the log is append-only) */
        static ol_state_ro *entries;
        if (!entries)
            entries = ol_state_ro_open(txn, log, "timesheet.entry");
        if (entries && ol_state_ro_get(entries, txn, log, "timesheet.entry", entry, &ver) == 1) {
            rev = (long long)ver.revision;
            snprintf(eid, sizeof eid, "%.*s", (int)(ver.event_len < 127 ? ver.event_len : 127), ver.event_id);
        }
        ol_esc_arena esc = OL_ESC_ARENA_INIT;
        printf("    entry %-16s %s %5d min %-9s %s revision %lld event_id %s\n", ol_esc_a(&esc, OL_ESC_TEXT, entry), day,
               e.minutes, e.status <= ENTRY_DELETED ? status[e.status] : "?",
               e.activity == ACT_DELIVERY ? "DELIVERY" : "other", rev, ol_esc_a(&esc, OL_ESC_TEXT, eid));
        ol_esc_arena_reset(&esc);
    }
    mdb_cursor_close(c);
    mdb_txn_abort(txn);
}

static int print_line(const struct line_view *lv, void *arg)
{
    struct query_args *a = arg;
    char amt[32], rate[32];
    if (a->engagement && strcmp(a->engagement, lv->eng))
        return 0;
    ol_fmt_money(amt, sizeof amt, lv->l.amount);
    if (lv->l.has_rate)
        ol_fmt_money(rate, sizeof rate, lv->l.day_rate);
    else
        snprintf(rate, sizeof rate, "-");
    const char *kind = lv->l.kind == KIND_TIME ? "time" : "expense";
    ol_esc_arena *e = &a->esc;
    ol_esc_fmt ef = !strcmp(a->format, "csv") ? OL_ESC_CSV : OL_ESC_TEXT;
    const char *eng = ol_esc_a(e, ef, lv->eng), *id = ol_esc_a(e, ef, lv->id), *bill_to = ol_esc_a(e, ef, lv->bill_to),
               *role = ol_esc_a(e, ef, lv->role), *currency = ol_esc_a(e, OL_ESC_TEXT, lv->currency);
    if (!a->shown++ && !strcmp(a->format, "table"))
        printf("%-8s %-10s %-14s %-18s %-12s %8s %8s %8s %10s %12s %s\n", "kind", "engagement", "person/expense",
               "bill_to", "role", "approved", "pending", "unpriced", "day_rate", "amount", "currency");
    if (!strcmp(a->format, "table"))
        printf("%-8s %-10s %-14s %-18s %-12s %8d %8d %8d %10s %12s %s%s%s\n", kind, eng, id, bill_to, role,
               lv->l.approved, lv->l.pending, lv->l.unpriced, rate, amt, currency,
               lv->l.priced ? "" : " UNPRICED", lv->l.post_close ? " POST-CLOSE" : "");
    if (!strcmp(a->format, "table")) {
        if (a->explain && lv->l.kind == KIND_TIME)
            explain_line(a, lv->eng, lv->id);
    } else if (!strcmp(a->format, "csv"))
        printf("%s,%s,%s,%s,%s,%s,%d,%d,%d,%lld,%lld,%s,%s,%s\n", kind, eng, id, a->week, bill_to, role,
               lv->l.approved, lv->l.pending, lv->l.unpriced,
               lv->l.has_rate ? (long long)lv->l.day_rate : -1LL, (long long)lv->l.amount, currency,
               lv->l.priced ? "true" : "false", lv->l.post_close ? "true" : "false");
    else {
        json_t *o = json_pack("{s:s,s:o,s:o,s:s,s:o,s:o,s:i,s:i,s:i,s:o,s:I,s:o,s:b,s:b}", "kind", kind,
                              "engagement_id", ol_esc_json_str(lv->eng), "id", ol_esc_json_str(lv->id), "week",
                              a->week, "bill_to", ol_esc_json_str(lv->bill_to), "role", ol_esc_json_str(lv->role),
                              "approved_minutes", lv->l.approved, "pending_minutes",
                              lv->l.pending, "unpriced_minutes", lv->l.unpriced, "day_rate_minor",
                              lv->l.has_rate ? json_integer(lv->l.day_rate) : json_null(), "amount_minor",
                              (json_int_t)lv->l.amount, "currency", ol_esc_json_str(lv->currency), "priced",
                              lv->l.priced,
                              "post_close", lv->l.post_close);
        char *s = o ? ol_esc_json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        if (s)
            puts(s);
        else
            e->failed = 1;
        free(s);
        json_decref(o);
    }
    ol_esc_arena_reset(e);
    return 0;
}

int billing_query(ol_store *st, int argc, char **argv, const ol_config *cfg)
{
    struct query_args a = {NULL, "table", NULL, 0, 0, st, 0, OL_ESC_ARENA_INIT};
    ol_week w;
    (void)cfg;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--week") && i + 1 < argc)
            a.week = argv[++i];
        else if (!strcmp(argv[i], "--engagement") && i + 1 < argc)
            a.engagement = argv[++i];
        else if (!strcmp(argv[i], "--format") && i + 1 < argc)
            a.format = argv[++i];
        else if (!strcmp(argv[i], "--explain"))
            a.explain = 1;
        else
            return ol_usage_arg("query billing", "unknown argument ", argv[i], NULL);
    }
    if (ol_week_arg("query billing", "--week", a.week, &w))
        return 2;
    a.w = w;
    if (strcmp(a.format, "table") && strcmp(a.format, "csv") && strcmp(a.format, "json")) {
        fprintf(stderr, "query billing: --format is table, csv or json\n");
        return 2;
    }
    if (!st) /* the arguments alone (ol_service_main_args_first) */
        return 0;
    if (!strcmp(a.format, "csv"))
        printf("kind,engagement_id,id,week,bill_to,role,approved_minutes,pending_minutes,unpriced_minutes,"
               "day_rate_minor,amount_minor,currency,priced,post_close\n");
    int rc = each_line(st, w, print_line, &a) ? 1 : 0;
    ol_esc_arena_reset(&a.esc);
    if (a.esc.failed)
        fprintf(stderr, "query billing: out of memory\n");
    if (rc || a.esc.failed)
        return 1;
    if (!a.shown) {
        ol_esc_arena e = OL_ESC_ARENA_INIT;
        fprintf(stderr,
                "query billing: no billing lines for %s%s%s (exit status 3); opsledger status billing shows the "
                "data time folded so far\n",
                a.week, a.engagement ? " and engagement " : "",
                a.engagement ? ol_esc_a(&e, OL_ESC_TEXT, a.engagement) : "");
        ol_esc_arena_reset(&e);
        return 3;
    }
    return 0;
}

/* ------------------------------------------------------------ report */
struct total {
    char client[128], bill_to[128], currency[8];
    int64_t amount, expenses;
    int32_t approved, pending, unpriced, lines;
};

struct report {
    struct total t[512];
    size_t n;
    int post_close;
    struct ol_table pc; /* the post-close lines */
};

static int add_total(const struct line_view *lv, void *arg)
{
    struct report *r = arg;
    size_t i;
    for (i = 0; i < r->n; i++)
        if (!strcmp(r->t[i].client, lv->client) && !strcmp(r->t[i].bill_to, lv->bill_to) &&
            !strcmp(r->t[i].currency, lv->currency))
            break;
    if (i == r->n) {
        if (r->n == sizeof r->t / sizeof r->t[0])
            return 0;
        memset(&r->t[i], 0, sizeof r->t[i]);
        snprintf(r->t[i].client, sizeof r->t[i].client, "%s", lv->client);
        snprintf(r->t[i].bill_to, sizeof r->t[i].bill_to, "%s", lv->bill_to);
        snprintf(r->t[i].currency, sizeof r->t[i].currency, "%s", lv->currency);
        r->n++;
    }
    struct total *t = &r->t[i];
    if (lv->l.kind == KIND_EXPENSE)
        t->expenses = ol_money_add(t->expenses, lv->l.amount);
    else
        t->amount = ol_money_add(t->amount, lv->l.amount);
    t->approved += lv->l.approved;
    t->pending += lv->l.pending;
    t->unpriced += lv->l.unpriced;
    t->lines++;
    return 0;
}

static int print_post_close(const struct line_view *lv, void *arg)
{
    struct report *r = arg;
    char amt[48], who[160];
    if (!lv->l.post_close)
        return 0;
    if (!r->post_close++)
        ol_table_init(&r->pc, 0, "engagement|person or expense|client|bill to|>amount now");
    ol_fmt_amount(amt, sizeof amt, lv->l.amount, lv->currency);
    snprintf(who, sizeof who, "%s%s", lv->l.kind == KIND_EXPENSE ? "expense " : "", lv->id);
    ol_table_row(&r->pc, lv->eng, who, lv->client, strcmp(lv->bill_to, lv->client) ? lv->bill_to : "", amt);
    return r->pc.failed ? ENOMEM : 0;
}

static int cmp_total(const void *a, const void *b)
{
    const struct total *x = a, *y = b;
    int c = strcmp(x->currency, y->currency);
    if (!c)
        c = strcmp(x->client, y->client);
    return c ? c : strcmp(x->bill_to, y->bill_to);
}

static int expenses_report(ol_store *st, ol_week w)
{
    MDB_txn *txn;
    MDB_cursor *c;
    ol_key p;
    int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn), any = 0;
    if (rc)
        return rc;
    if ((rc = mdb_cursor_open(txn, ol_store_dbi(st, "expenses"), &c))) {
        mdb_txn_abort(txn);
        return rc;
    }
    ol_key_init(&p);
    ol_key_i32(&p, w);
    MDB_val k = ol_key_val(&p), v;
    char last_eng[256] = "", last_sup[256] = "", last_cur[8] = "";
    int64_t sum = 0, recharge = 0;
    struct ol_table t;
    ol_table_init(&t, 0, "engagement|supplier|>amount|>rechargeable approved");
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        int done = rc || k.mv_size < 4 || memcmp(k.mv_data, p.b, 4);
        const char *eng = done ? "" : (const char *)k.mv_data + 4;
        const char *sup = done ? "" : eng + strlen(eng) + 1;
        struct bill_expense x;
        const char *cur = "";
        if (!done) {
            memcpy(&x, v.mv_data, sizeof x);
            cur = (const char *)v.mv_data + sizeof x;
        }
        if (any && (done || strcmp(eng, last_eng) || strcmp(sup, last_sup) || strcmp(cur, last_cur))) {
            char a[48], b[48];
            ol_fmt_amount(a, sizeof a, sum, last_cur);
            ol_fmt_amount(b, sizeof b, recharge, last_cur);
            ol_table_row(&t, last_eng, last_sup, a, b);
            sum = recharge = 0;
        }
        if (done)
            break;
        any = 1;
        snprintf(last_eng, sizeof last_eng, "%s", eng);
        snprintf(last_sup, sizeof last_sup, "%s", sup);
        snprintf(last_cur, sizeof last_cur, "%s", cur);
        if (x.status != EXP_REJECTED)
            sum = ol_money_add(sum, x.amount);
        if (x.status == EXP_APPROVED && x.rechargeable)
            recharge = ol_money_add(recharge, x.amount);
    }
    mdb_cursor_close(c);
    mdb_txn_abort(txn);
    if (any)
        ol_table_print(stdout, &t);
    else
        ol_table_free(&t);
    return t.failed ? ENOMEM : 0;
}

int billing_report_contractors(ol_store *st, const ol_config *cfg, int argc, char **argv);

int billing_report(ol_store *st, int argc, char **argv, const ol_config *cfg)
{
    const char *week = NULL;
    ol_week w;
    if (argc >= 2 && !strcmp(argv[1], "contractors"))
        return billing_report_contractors(st, cfg, argc - 1, argv + 1);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--week") && i + 1 < argc)
            week = argv[++i];
        else
            return ol_usage_arg("report billing", "unknown argument ", argv[i], NULL);
    }
    if (ol_week_arg("report billing", "--week", week, &w))
        return 2;
    if (!st) /* the arguments alone (ol_service_main_args_first) */
        return 0;
    struct report *r = calloc(1, sizeof *r);
    if (!r)
        return 1;
    if (each_line(st, w, add_total, r)) {
        free(r);
        return 1;
    }
    qsort(r->t, r->n, sizeof r->t[0], cmp_total);
    /* grouped by client, and bill-to where it differs: the weekly page's
     * grouping (common/report), so the two agree line for line */
    printf("Billing for %s: per client (and bill-to where it differs), in each currency (currencies are never "
           "added together)\n\n", week);
    struct ol_table tb;
    ol_table_init(&tb, 0, "client|bill to|>lines|>approved|>time|>expenses|>pending|>unpriced|note");
    char cur[8] = "";
    int64_t ct = 0, ce = 0;
    for (size_t i = 0; i <= r->n; i++) {
        if (i == r->n || (cur[0] && strcmp(cur, r->t[i].currency))) {
            char a[48], b[48], label[32];
            ol_fmt_amount(a, sizeof a, ct, cur);
            ol_fmt_amount(b, sizeof b, ce, cur);
            snprintf(label, sizeof label, "TOTAL %s", cur);
            if (cur[0])
                ol_table_row(&tb, label, "", "", "", a, b, "", "", "");
            ct = ce = 0;
        }
        if (i == r->n)
            break;
        struct total *t = &r->t[i];
        char a[48], b[48], n[24], ap[48], pe[48], un[48];
        ol_fmt_amount(a, sizeof a, t->amount, t->currency);
        ol_fmt_amount(b, sizeof b, t->expenses, t->currency);
        ol_fmt_hm(ap, sizeof ap, t->approved);
        ol_fmt_hm(pe, sizeof pe, t->pending);
        ol_fmt_hm(un, sizeof un, t->unpriced);
        snprintf(n, sizeof n, "%d", (int)t->lines);
        ol_table_row(&tb, t->client, strcmp(t->bill_to, t->client) ? t->bill_to : "", n, ap, a, b, pe, un,
                     t->unpriced ? "held: no rate" : "");
        snprintf(cur, sizeof cur, "%s", t->currency);
        ct = ol_money_add(ct, t->amount);
        ce = ol_money_add(ce, t->expenses);
    }
    int rc = tb.failed;
    ol_table_print(stdout, &tb);
    if (each_line(st, w, print_post_close, r))
        rc = 1;
    if (r->post_close) {
        printf("\nPost-close adjustments (week already invoiced: raise a credit or debit note)\n");
        rc |= r->pc.failed;
        ol_table_print(stdout, &r->pc);
    } else
        printf("\nNo post-close adjustments for %s.\n", week);
    printf("\nThird-party expenses (all statuses but REJECTED) per engagement and supplier\n");
    if (expenses_report(st, w))
        rc = 1;
    free(r);
    return rc;
}
