/* figures — the margin rules (SPEC section 3 "Margin"), from the projection:
 * an engagement-week's revenue, costs and margin per currency, and a
 * contractor or partner invoice's shares over the engagement-weeks of its
 * period (threeway.c matches the invoice three ways). Integer arithmetic only; every rounding is half away
 * from zero (ol_round_div), once where the SPEC says once. */
#include "margin.h"
#include "ol_av.h"
#include "ol_rules.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mg_person_load(MDB_txn *txn, MDB_dbi dbi, const char *person, struct mg_person *p, const char **currency)
{
    ol_key k;
    ol_key_init(&k);
    ol_key_str(&k, person);
    return ol_get_record(txn, dbi, &k, p, sizeof *p, currency);
}

int mg_eng_load(MDB_txn *txn, MDB_dbi dbi, const char *eng, struct mg_eng *e, const char **currency)
{
    ol_key k;
    ol_key_init(&k);
    ol_key_str(&k, eng);
    int rc = ol_get_record(txn, dbi, &k, e, sizeof *e, currency);
    if (rc == MDB_NOTFOUND) {
        e->billing = MG_UNSEEN;
        *currency = "";
        return 0;
    }
    return rc;
}

/* ------------------------------------------------------------ invoice shares */
static int cmp_share(const void *a, const void *b)
{
    const struct share *x = a, *y = b;
    if (x->week != y->week)
        return x->week < y->week ? -1 : 1;
    return strcmp(x->eng, y->eng);
}

/* see margin.h */
int mg_invoice_shares(MDB_txn *txn, MDB_dbi entries, const char *person, int32_t first, int32_t last,
                          int64_t amount, struct shares *s)
{
    MDB_cursor *c;
    MDB_val k, v;
    ol_key pk;
    int rc;
    memset(s, 0, sizeof *s);
    ol_key_init(&pk);
    ol_key_str(&pk, person);
    size_t plen = pk.n;
    ol_key_i32(&pk, first);
    if ((rc = mdb_cursor_open(txn, entries, &c)))
        return rc;
    k = ol_key_val(&pk);
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        struct mg_entry e;
        if (k.mv_size < plen + 4 || memcmp(k.mv_data, pk.b, plen) ||
            ol_key_get_i32((const uint8_t *)k.mv_data + plen) > last)
            break;
        memcpy(&e, v.mv_data, sizeof e);
        const char *eng = (const char *)v.mv_data + sizeof e;
        ol_week w = ol_week_of(e.day);
        size_t i;
        for (i = 0; i < s->n; i++)
            if (s->v[i].week == w && !strcmp(s->v[i].eng, eng))
                break;
        if (i == s->n) {
            struct share *ns = realloc(s->v, (s->n + 1) * sizeof *ns);
            if (!ns) {
                rc = -1;
                break;
            }
            s->v = ns;
            memset(&s->v[s->n], 0, sizeof *s->v);
            snprintf(s->v[s->n].eng, sizeof s->v[s->n].eng, "%s", eng);
            s->v[s->n++].week = w;
        }
        s->v[i].minutes += e.minutes;
        s->total += e.minutes;
    }
    mdb_cursor_close(c);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    if (s->n)
        qsort(s->v, s->n, sizeof *s->v, cmp_share);
    int64_t given = 0;
    for (size_t i = 0; i < s->n && s->total > 0; i++) {
        s->v[i].amount = i + 1 < s->n ? ol_round_div((__int128)amount * s->v[i].minutes, s->total) : amount - given;
        given += s->v[i].amount;
    }
    return 0;
}

/* ------------------------------------------------------------ engagement-week */
struct cur {
    char code[16];
    struct mg_row r;
};

struct ew {
    struct cur *c;
    size_t n;
};

static struct mg_row *cur_row(struct ew *ew, const char *code)
{
    for (size_t i = 0; i < ew->n; i++)
        if (!strcmp(ew->c[i].code, code))
            return &ew->c[i].r;
    struct cur *nc = realloc(ew->c, (ew->n + 1) * sizeof *nc);
    if (!nc)
        return NULL;
    ew->c = nc;
    memset(&ew->c[ew->n], 0, sizeof *ew->c);
    snprintf(ew->c[ew->n].code, sizeof ew->c[ew->n].code, "%s", code);
    return &ew->c[ew->n++].r;
}

/* sums amount + currency rows of eng\0 week in db into field (an offset in mg_row) */
static int sum_money(MDB_txn *txn, MDB_dbi dbi, const char *eng, ol_week w, struct ew *ew, size_t field)
{
    MDB_cursor *c;
    MDB_val k, v;
    ol_key pk;
    int rc;
    ol_key_init(&pk);
    ol_key_str(&pk, eng);
    ol_key_i32(&pk, w);
    if ((rc = mdb_cursor_open(txn, dbi, &c)))
        return rc;
    k = ol_key_val(&pk);
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        int64_t amount;
        if (k.mv_size < pk.n || memcmp(k.mv_data, pk.b, pk.n))
            break;
        memcpy(&amount, v.mv_data, sizeof amount);
        struct mg_row *r = cur_row(ew, (const char *)v.mv_data + sizeof amount);
        if (!r) {
            rc = -1;
            break;
        }
        int64_t *sum = (int64_t *)((char *)r + field);
        *sum = ol_money_add(*sum, amount);
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int64_t gcd64(int64_t a, int64_t b)
{
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* an employee's cost of the week on the engagement: sum over days of
 * minutes x day_cost / that day's capacity (a day without capacity, off or
 * outside employment, at the person's standard day), rounded once. -1 when
 * the person has no capacity at all. */
static int64_t employee_cost(const struct mg_person *p, const int32_t *minutes, int32_t monday)
{
    int nd = ol_working_day_count(p->working_days);
    __int128 num = 0;
    int64_t den = 1;
    if (nd == 0 || p->weekly_capacity <= 0)
        return -1;
    for (int d = 0; d < 7; d++) {
        if (!minutes[d])
            continue;
        int64_t cap = ol_day_capacity(p->weekly_capacity, p->working_days, INT32_MIN, INT32_MAX, monday + d);
        if (cap <= 0)
            cap = p->weekly_capacity / nd;
        if (cap <= 0)
            return -1;
        /* num/den + minutes x cost / cap */
        int64_t g = gcd64(den, cap), l = den / g * cap;
        num = num * (l / den) + (__int128)minutes[d] * p->day_cost * (l / cap);
        den = l;
    }
    return ol_round_div(num, den);
}

/* the person's entries on eng in week w, by weekday, from eng_entries rows
 * starting at the cursor position; fills per-person groups via callback */
struct person_week {
    char person[130];
    int32_t minutes[7];
};

static int load_person_weeks(MDB_txn *txn, MDB_dbi dbi, const char *eng, ol_week w, struct person_week **out,
                             size_t *n)
{
    MDB_cursor *c;
    MDB_val k, v;
    ol_key pk;
    int rc;
    int32_t monday = ol_week_monday(w);
    ol_key_init(&pk);
    ol_key_str(&pk, eng);
    ol_key_i32(&pk, w);
    *out = NULL;
    *n = 0;
    if ((rc = mdb_cursor_open(txn, dbi, &c)))
        return rc;
    k = ol_key_val(&pk);
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        struct mg_entry e;
        if (k.mv_size < pk.n || memcmp(k.mv_data, pk.b, pk.n))
            break;
        const char *person = (const char *)k.mv_data + pk.n;
        memcpy(&e, v.mv_data, sizeof e);
        if (!*n || strcmp((*out)[*n - 1].person, person)) {
            struct person_week *np = realloc(*out, (*n + 1) * sizeof *np);
            if (!np) {
                rc = -1;
                break;
            }
            *out = np;
            memset(&np[*n], 0, sizeof *np);
            snprintf(np[*n].person, sizeof np[*n].person, "%s", person);
            (*n)++;
        }
        if (e.day >= monday && e.day < monday + 7)
            (*out)[*n - 1].minutes[e.day - monday] += e.minutes;
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* a contractor's or partner's cost on eng in week w: each RECEIVED invoice
 * of theirs whose period holds days of the week gives its share of
 * (eng, w); minutes of days no RECEIVED invoice covers are uninvoiced */
static int contractor_cost(ol_fold_ctx *ctx, const char *person, const struct mg_person *p, const char *eng,
                           ol_week w, const int32_t *minutes, struct ew *ew, const char *eng_cur)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    MDB_cursor *c;
    MDB_val k, v;
    ol_key pk;
    int rc, covered[7] = {0};
    int32_t monday = ol_week_monday(w);
    ol_key_init(&pk);
    ol_key_str(&pk, person);
    if ((rc = mdb_cursor_open(txn, ol_fold_dbi(ctx, "invoices"), &c)))
        return rc;
    k = ol_key_val(&pk);
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        struct mg_invoice inv;
        struct shares s;
        if (k.mv_size < pk.n || memcmp(k.mv_data, pk.b, pk.n))
            break;
        memcpy(&inv, v.mv_data, sizeof inv);
        if (inv.status != MG_RECEIVED || inv.last < monday || inv.first > monday + 6)
            continue;
        const char *code = (const char *)v.mv_data + sizeof inv;
        struct mg_row *r;
        int32_t newly = 0, in = 0;
        for (int d = 0; d < 7; d++)
            if (monday + d >= inv.first && monday + d <= inv.last && minutes[d]) {
                if (!covered[d])
                    newly += minutes[d];
                covered[d] = 1;
                in = 1;
            }
        if (!in)
            continue;
        if (!(r = cur_row(ew, code))) {
            rc = -1;
            break;
        }
        r->contractor_minutes += newly;
        if ((rc = mg_invoice_shares(txn, ol_fold_dbi(ctx, "entries"), person, inv.first, inv.last, inv.amount, &s)))
            break;
        for (size_t i = 0; i < s.n; i++)
            if (s.v[i].week == w && !strcmp(s.v[i].eng, eng)) {
                if (p->employment == MG_PARTNER)
                    r->partner_cost = ol_money_add(r->partner_cost, s.v[i].amount);
                else
                    r->contractor_cost = ol_money_add(r->contractor_cost, s.v[i].amount);
            }
        free(s.v);
    }
    mdb_cursor_close(c);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    int32_t un = 0;
    for (int d = 0; d < 7; d++)
        if (!covered[d])
            un += minutes[d];
    if (un && *eng_cur) {
        struct mg_row *r = cur_row(ew, eng_cur);
        if (!r)
            return -1;
        r->uninvoiced_minutes += un;
    }
    return 0;
}

/* see margin.h */
int mg_null_fields(avro_value_t *v, const char *const *names)
{
    for (int i = 0; names[i]; i++) {
        avro_value_t f, b;
        if (avro_value_get_by_name(v, names[i], &f, NULL) || avro_value_set_branch(&f, 0, &b) ||
            avro_value_set_null(&b))
            return -1;
    }
    return 0;
}

const char *const mg_contractor_fields[] = {
    "person_id", "invoice_id", "supplier", "invoice_status", "period_first_day", "period_last_day",
    "invoice_amount_minor", "minutes_logged", "minutes_invoiced", "minutes_billed", "invoiced_minus_logged_minutes",
    "billed_minus_logged_minutes", "invoiced_minus_logged_minor", "billed_minus_logged_minor", NULL};
const char *const mg_engagement_fields[] = {"engagement_id", "week", "margin_bp", NULL};

static int emit_eng(ol_fold_ctx *ctx, const char *eng, ol_week w, const char *code, const struct mg_row *r)
{
    char key[600], wk[9];
    avro_value_t *prev, *v;
    int64_t prev_margin = 0;
    ol_week_format(w, wk);
    snprintf(key, sizeof key, "%s|%s|%s", eng, wk, code);
    int has = ol_fold_derived_prev(ctx, "finance.margin.weekly", key, &prev);
    if (has < 0)
        return -1;
    if (has)
        prev_margin = ol_av_long(prev, "margin_minor", 0);
    if (!(v = ol_fold_new_derived(ctx, "finance.margin.weekly")))
        return -1;
    if (ol_av_set_enum(v, "kind", MG_KIND_ENGAGEMENT) || ol_av_set_opt_str(v, "engagement_id", eng) ||
        ol_av_set_opt_str(v, "week", wk) || ol_av_set_str(v, "currency", code) ||
        ol_av_set_long(v, "revenue_minor", r->revenue) || ol_av_set_long(v, "employee_cost_minor", r->employee_cost) ||
        ol_av_set_long(v, "contractor_cost_minor", r->contractor_cost) ||
        ol_av_set_long(v, "partner_cost_minor", r->partner_cost) ||
        ol_av_set_long(v, "expense_cost_minor", r->expense_cost) || ol_av_set_long(v, "cost_minor", r->cost) ||
        ol_av_set_long(v, "margin_minor", r->margin) || ol_av_set_opt_long(v, "margin_bp", (int)r->has_bp, r->margin_bp) ||
        ol_av_set_long(v, "delta_margin_minor", ol_money_sub(r->margin, prev_margin)) ||
        ol_av_set_int(v, "employee_minutes", r->employee_minutes) ||
        ol_av_set_int(v, "contractor_minutes", r->contractor_minutes) ||
        ol_av_set_int(v, "uninvoiced_minutes", r->uninvoiced_minutes) ||
        ol_av_set_int(v, "uncosted_minutes", r->uncosted_minutes) || mg_null_fields(v, mg_contractor_fields))
        return -1;
    return ol_fold_emit(ctx, "finance.margin.weekly", key, v) < 0 ? -1 : 0;
}

static void row_key(ol_key *k, const char *eng, ol_week w, const char *code)
{
    ol_key_init(k);
    ol_key_u8(k, 'E');
    ol_key_str(k, eng);
    ol_key_i32(k, w);
    if (code)
        ol_key_str(k, code);
}

/* stores and emits the rows of ew; rows of currencies no longer there are
 * deleted and re-emitted at zero */
static int store_eng(ol_fold_ctx *ctx, const char *eng, ol_week w, struct ew *ew)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    MDB_dbi rows = ol_fold_dbi(ctx, "rows");
    MDB_cursor *c;
    MDB_val k, v;
    ol_key pk;
    char (*gone)[16] = NULL; /* currencies stored but no longer computed; freed below */
    size_t ngone = 0;
    int rc;
    row_key(&pk, eng, w, NULL);
    if ((rc = mdb_cursor_open(txn, rows, &c)))
        return rc;
    k = ol_key_val(&pk);
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size < pk.n || memcmp(k.mv_data, pk.b, pk.n))
            break;
        const char *code = (const char *)k.mv_data + pk.n;
        size_t i;
        for (i = 0; i < ew->n; i++)
            if (!strcmp(ew->c[i].code, code))
                break;
        if (i == ew->n) {
            char (*ng)[16] = realloc(gone, (ngone + 1) * sizeof *gone);
            if (!ng) {
                rc = -1;
                break;
            }
            gone = ng;
            snprintf(gone[ngone++], sizeof gone[0], "%s", code);
        }
    }
    mdb_cursor_close(c);
    if (rc == MDB_NOTFOUND)
        rc = 0;
    for (size_t i = 0; i < ngone && !rc; i++) {
        struct mg_row zero;
        ol_key rk;
        memset(&zero, 0, sizeof zero);
        row_key(&rk, eng, w, gone[i]);
        if (!(rc = ol_del_key(txn, rows, &rk)))
            rc = emit_eng(ctx, eng, w, gone[i], &zero);
    }
    free(gone);
    if (rc)
        return rc;
    for (size_t i = 0; i < ew->n; i++) {
        ol_key rk;
        MDB_val kv, old, nv = {sizeof ew->c[i].r, &ew->c[i].r};
        row_key(&rk, eng, w, ew->c[i].code);
        kv = ol_key_val(&rk);
        rc = mdb_get(txn, rows, &kv, &old);
        if (rc == 0 && old.mv_size == nv.mv_size && !memcmp(old.mv_data, nv.mv_data, nv.mv_size))
            continue;
        if ((rc && rc != MDB_NOTFOUND) || (rc = rk.overflow ? -1 : mdb_put(txn, rows, &kv, &nv, 0)) ||
            (rc = emit_eng(ctx, eng, w, ew->c[i].code, &ew->c[i].r)))
            return rc;
    }
    return 0;
}

int mg_engagement_week(ol_fold_ctx *ctx, const char *eng, ol_week w)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    struct ew ew = {NULL, 0};
    struct mg_eng e;
    struct person_week *pw = NULL;
    size_t npw = 0;
    const char *eng_cur;
    char eng_code[16];
    int rc;
    if ((rc = mg_eng_load(txn, ol_fold_dbi(ctx, "engs"), eng, &e, &eng_cur)))
        return rc;
    snprintf(eng_code, sizeof eng_code, "%s", eng_cur);
    /* revenue: billing lines, none for FIXED_PRICE and NON_BILLABLE */
    if (e.billing != MG_FIXED && e.billing != MG_NON_BILLABLE &&
        (rc = sum_money(txn, ol_fold_dbi(ctx, "lines"), eng, w, &ew, offsetof(struct mg_row, revenue))))
        goto out;
    if ((rc = sum_money(txn, ol_fold_dbi(ctx, "expenses"), eng, w, &ew, offsetof(struct mg_row, expense_cost))) ||
        (rc = load_person_weeks(txn, ol_fold_dbi(ctx, "eng_entries"), eng, w, &pw, &npw)))
        goto out;
    for (size_t i = 0; i < npw && !rc; i++) {
        struct mg_person p;
        const char *pcur;
        int32_t total = 0;
        for (int d = 0; d < 7; d++)
            total += pw[i].minutes[d];
        rc = mg_person_load(txn, ol_fold_dbi(ctx, "persons"), pw[i].person, &p, &pcur);
        if (rc == MDB_NOTFOUND) { /* counted when the person arrives */
            rc = 0;
            struct mg_row *r = *eng_code ? cur_row(&ew, eng_code) : NULL;
            if (*eng_code && !r)
                rc = -1;
            else if (r)
                r->uncosted_minutes += total;
            continue;
        }
        if (rc)
            break;
        if (p.employment == MG_EMPLOYEE) {
            char code[16];
            snprintf(code, sizeof code, "%s", pcur);
            int64_t cost = employee_cost(&p, pw[i].minutes, ol_week_monday(w));
            struct mg_row *r = cur_row(&ew, cost < 0 && *eng_code ? eng_code : code);
            if (!r) {
                rc = -1;
                break;
            }
            if (cost < 0)
                r->uncosted_minutes += total;
            else {
                r->employee_cost = ol_money_add(r->employee_cost, cost);
                r->employee_minutes += total;
            }
        } else
            rc = contractor_cost(ctx, pw[i].person, &p, eng, w, pw[i].minutes, &ew, eng_code);
    }
    if (rc)
        goto out;
    static const struct mg_row zero;
    size_t kept = 0;
    for (size_t i = 0; i < ew.n; i++) /* a currency with nothing in it has no row */
        if (memcmp(&ew.c[i].r, &zero, sizeof zero))
            ew.c[kept++] = ew.c[i];
    ew.n = kept;
    for (size_t i = 0; i < ew.n; i++) {
        struct mg_row *r = &ew.c[i].r;
        r->cost = ol_money_add(ol_money_add(r->employee_cost, r->contractor_cost),
                               ol_money_add(r->partner_cost, r->expense_cost));
        r->margin = ol_money_sub(r->revenue, r->cost);
        r->has_bp = r->revenue != 0;
        r->margin_bp = r->revenue ? ol_money_clamp((__int128)r->margin * 10000 / r->revenue) : 0;
    }
    rc = store_eng(ctx, eng, w, &ew);
out:
    free(ew.c);
    free(pw);
    return rc;
}
