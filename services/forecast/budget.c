/* budget — ops.forecast.engagement: spend to date, forecast to complete,
 * estimate at completion and the week the budget runs out.
 *
 *   spent   the amount_minor of the engagement's finance.billing.line events
 *           (latest revision per line key, TIME and EXPENSE lines) whose week
 *           is on or before as_of_week (the data week) and whose currency is
 *           the engagement's; other lines are counted, not added.
 *   FTC     each CONFIRMED allocation on the engagement, every day from the
 *           Monday after as_of_week to min(last_day, ends_on): percent x the
 *           person's available minutes that day (capacity - leave, as the
 *           weekly figures) — for an open role percent x minutes_per_day on
 *           Monday to Friday — times the day rate of the allocation's role
 *           (rate_card row with the latest effective_from on or before the
 *           day); summed in 128 bits, divided by 100 x minutes_per_day and
 *           rounded half away from zero once. A day whose role has no rate
 *           adds its minutes to unpriced_minutes, never a guessed price.
 *           A CLOSED engagement has no FTC.
 *   run-out the first week whose cumulative spend (lines by week) plus
 *           cumulative forecast (rounded the same way) exceeds budget_minor. */
#include "forecast.h"
#include "ol_rules.h"
#include "ol_av.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rate {
    int32_t from;
    int64_t rate;
};

struct ftc {
    int32_t from, to; /* days priced */
    int nweeks;
    __int128 *week;   /* numerator per week from `from` */
    int64_t unpriced; /* percent x minutes */
    struct rate *rates;
    size_t nrates;
};

/* the rate card rows of one role, from the stored engagement entity */
static int load_rates(ol_fold_ctx *ctx, const char *eng, const char *role, struct ftc *f)
{
    avro_value_t *e, card, row;
    size_t n = 0;
    f->nrates = 0;
    int rc = ol_fold_lookup(ctx, "delivery.engagement", eng, &e);
    if (rc <= 0)
        return rc;
    if (ol_av_field(e, "rate_card", &card) || avro_value_get_size(&card, &n))
        return 0;
    struct rate *r = realloc(f->rates, (n ? n : 1) * sizeof *r);
    if (!r)
        return -1;
    f->rates = r;
    for (size_t i = 0; i < n; i++) {
        if (avro_value_get_by_index(&card, i, &row, NULL))
            continue;
        if (strcmp(ol_av_str(&row, "role"), role))
            continue;
        r[f->nrates].from = ol_av_int(&row, "effective_from", 0);
        r[f->nrates].rate = ol_av_long(&row, "day_rate_minor", 0);
        f->nrates++;
    }
    return 0;
}

/* latest effective_from on or before day (the later row on a tie, as billing) */
static int rate_on(const struct ftc *f, int32_t day, int64_t *rate)
{
    int found = 0;
    int32_t best = 0;
    for (size_t i = 0; i < f->nrates; i++)
        if (f->rates[i].from <= day && (!found || f->rates[i].from >= best)) {
            best = f->rates[i].from;
            *rate = f->rates[i].rate;
            found = 1;
        }
    return found;
}

/* one CONFIRMED allocation's days into f */
static int add_allocation(ol_fold_ctx *ctx, struct ftc *f, const char *eng, const struct fc_eng *e,
                          const char *person, const char *role, const struct fc_alloc *a)
{
    int32_t from = a->first > f->from ? a->first : f->from, to = a->last < f->to ? a->last : f->to;
    struct fc_person p;
    int rc;
    if (a->status != ALLOC_CONFIRMED || to < from)
        return 0;
    int n = to - from + 1;
    int32_t *avail = malloc((size_t)n * sizeof *avail);
    if (!avail)
        return -1;
    if (*person) {
        rc = fc_person_load(ol_fold_txn(ctx), ol_fold_dbi(ctx, "people"), person, &p, NULL, NULL, NULL);
        if (rc == 0)
            rc = fc_available_days(ctx, person, &p, from, n, avail);
        if (rc) {
            free(avail);
            return rc == MDB_NOTFOUND ? 0 : rc; /* a person not yet seen has no capacity to price */
        }
    } else
        for (int d = 0; d < n; d++)
            avail[d] = ol_weekday(from + d) < 5 ? e->minutes_per_day : 0;
    if ((rc = load_rates(ctx, eng, role, f))) {
        free(avail);
        return rc;
    }
    for (int d = 0; d < n; d++) {
        int64_t m = (int64_t)a->percent * avail[d], rate;
        if (!m)
            continue;
        if (!rate_on(f, from + d, &rate))
            f->unpriced += m;
        else
            f->week[(from + d - f->from) / 7] += (__int128)m * rate;
    }
    free(avail);
    return 0;
}

static int forecast_to_complete(ol_fold_ctx *ctx, const char *eng, const struct fc_eng *e, struct ftc *f)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    MDB_cursor *c;
    ol_key ek;
    int rc;
    if (e->status == ENG_CLOSED || f->to < f->from)
        return 0;
    f->nweeks = (f->to - f->from) / 7 + 1;
    if (!(f->week = calloc((size_t)f->nweeks, sizeof *f->week)))
        return -1;
    ol_key_init(&ek);
    ol_key_str(&ek, eng);
    if ((rc = mdb_cursor_open(txn, ol_fold_dbi(ctx, "eng_allocs"), &c)))
        return rc;
    MDB_val k = ol_key_val(&ek), v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size < ek.n || memcmp(k.mv_data, ek.b, ek.n))
            break;
        char role[256], person[256];
        snprintf(role, sizeof role, "%s", (const char *)v.mv_data);
        snprintf(person, sizeof person, "%s", (const char *)v.mv_data + strlen(v.mv_data) + 1);
        ol_key ak;
        ol_key_init(&ak);
        ol_key_str(&ak, *person ? person : role);
        ol_key_str(&ak, (const char *)k.mv_data + ek.n);
        MDB_val akv = ol_key_val(&ak), av;
        struct fc_alloc a;
        int g = mdb_get(txn, ol_fold_dbi(ctx, *person ? "allocs" : "open_roles"), &akv, &av);
        if (g == MDB_NOTFOUND)
            continue;
        if ((rc = g))
            break;
        memcpy(&a, av.mv_data, sizeof a);
        if ((rc = add_allocation(ctx, f, eng, e, person, role, &a)))
            break;
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

struct spend {
    ol_week week;
    int64_t amount;
};

static int cmp_spend(const void *a, const void *b)
{
    const struct spend *x = a, *y = b;
    return x->week < y->week ? -1 : x->week > y->week;
}

/* spent to date from the stored billing lines; *lines sorted by week */
static int spent_to_date(ol_fold_ctx *ctx, const char *eng, const char *currency, ol_week as_of,
                         struct fc_budget *b, struct spend **lines, size_t *nl)
{
    MDB_cursor *c;
    ol_key ek;
    size_t cap = 0;
    int rc;
    ol_key_init(&ek);
    ol_key_str(&ek, eng);
    if ((rc = mdb_cursor_open(ol_fold_txn(ctx), ol_fold_dbi(ctx, "lines"), &c)))
        return rc;
    MDB_val k = ol_key_val(&ek), v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size < ek.n || memcmp(k.mv_data, ek.b, ek.n))
            break;
        struct fc_line l;
        memcpy(&l, v.mv_data, sizeof l);
        if (strcmp((const char *)v.mv_data + sizeof l, currency)) {
            b->foreign_lines++;
            continue;
        }
        if (l.week > as_of) {
            b->later_lines++;
            continue;
        }
        if (*nl == cap) {
            cap = cap ? cap * 2 : 64;
            struct spend *s = realloc(*lines, cap * sizeof *s);
            if (!s) {
                rc = -1;
                break;
            }
            *lines = s;
        }
        (*lines)[(*nl)++] = (struct spend){l.week, l.amount};
        b->spent = ol_money_add(b->spent, l.amount);
    }
    mdb_cursor_close(c);
    if (*nl)
        qsort(*lines, *nl, sizeof **lines, cmp_spend);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static void runout(struct fc_budget *b, const struct spend *lines, size_t nl, const struct ftc *f, int64_t den)
{
    int64_t cum = 0;
    for (size_t i = 0; i < nl; i++) {
        cum = ol_money_add(cum, lines[i].amount);
        if ((i + 1 == nl || lines[i + 1].week != lines[i].week) && cum > b->budget) {
            b->runout = lines[i].week;
            b->has_runout = 1;
            return;
        }
    }
    __int128 num = 0;
    for (int i = 0; i < f->nweeks; i++) {
        num += f->week[i];
        if (ol_money_add(b->spent, ol_round_div(num, den)) > b->budget) {
            b->runout = ol_week_of(f->from + 7 * i);
            b->has_runout = 1;
            return;
        }
    }
}

static int emit_budget(ol_fold_ctx *ctx, const char *eng, const struct fc_budget *b, const char *currency)
{
    char as_of[9], out[9];
    ol_drec *v;
    ol_week_format(b->as_of, as_of);
    ol_week_format(b->runout, out);
    if (!(v = ol_fold_new_rec(ctx, "ops.forecast.engagement")))
        return -1;
    if (ol_drec_str(v, "engagement_id", eng) || ol_drec_str(v, "currency", currency) ||
        ol_drec_long(v, "spent_to_date_minor", b->spent) || ol_drec_long(v, "forecast_to_complete_minor", b->ftc) ||
        ol_drec_long(v, "estimate_at_completion_minor", b->eac) || ol_drec_long(v, "budget_minor", b->budget) ||
        ol_drec_opt_str(v, "budget_runs_out_week", b->has_runout ? out : NULL) ||
        ol_drec_str(v, "as_of_week", as_of))
        return -1;
    int rc = ol_fold_emit_rec(ctx, "ops.forecast.engagement", eng, v);
    return rc < 0 ? rc : 0;
}

int fc_engagement(ol_fold_ctx *ctx, const char *eng)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    struct fc_budget b;
    struct fc_eng e;
    struct ftc f;
    struct spend *lines = NULL;
    size_t nl = 0;
    ol_key ek;
    MDB_val kv, v;
    char currency[16], client[256], name[256];
    int rc;

    ol_key_init(&ek);
    ol_key_str(&ek, eng);
    kv = ol_key_val(&ek);
    if ((rc = mdb_get(txn, ol_fold_dbi(ctx, "engs"), &kv, &v)))
        return rc == MDB_NOTFOUND ? 0 : rc; /* lines of an engagement not yet seen wait for it */
    memcpy(&e, v.mv_data, sizeof e);
    const char *s = (const char *)v.mv_data + sizeof e;
    snprintf(currency, sizeof currency, "%s", s);
    s += strlen(s) + 1;
    snprintf(client, sizeof client, "%s", s);
    snprintf(name, sizeof name, "%s", s + strlen(s) + 1);

    memset(&b, 0, sizeof b);
    memset(&f, 0, sizeof f);
    b.as_of = fc_horizon_first(ctx);
    b.budget = e.budget;
    b.ends = e.ends;
    b.status = e.status;
    b.billing = e.billing;
    f.from = ol_week_monday(ol_week_add(b.as_of, 1));
    f.to = e.ends;
    int64_t den = 100 * (int64_t)e.minutes_per_day;
    if ((rc = spent_to_date(ctx, eng, currency, b.as_of, &b, &lines, &nl)) ||
        (rc = forecast_to_complete(ctx, eng, &e, &f)))
        goto out;
    __int128 total = 0;
    for (int i = 0; i < f.nweeks; i++)
        total += f.week[i];
    b.ftc = ol_round_div(total, den);
    b.eac = ol_money_add(b.spent, b.ftc);
    b.unpriced_minutes = (int32_t)(f.unpriced / 100);
    runout(&b, lines, nl, &f, den);

    const char *strs[] = {currency, client, name};
    if ((rc = ol_put_record(txn, ol_fold_dbi(ctx, "budget"), &ek, &b, sizeof b, strs, 3)))
        goto out;
    rc = emit_budget(ctx, eng, &b, currency);
out:
    free(lines);
    free(f.week);
    free(f.rates);
    return rc;
}
