/* gen_alloc — allocations (delivery.allocation): who works where, at what
 * percent, the open roles still to fill; then what follows from them: the
 * rate-card gap and the engagements' budgets. */
#include "gen_common.h"

#include <stdlib.h>
#include <string.h>

typedef struct pool {
    int *idx, *cum, n, total;
} pool;

static int32_t max32(int32_t a, int32_t b) { return a > b ? a : b; }
static int32_t min32(int32_t a, int32_t b) { return a < b ? a : b; }

static int weekdays(int32_t lo, int32_t hi)
{
    int n = 0;
    for (int32_t d = lo; d <= hi; d++)
        if (ol_weekday(d) < 5)
            n++;
    return n;
}

static int alt_role(int r)
{
    switch (r) {
    case R_PRINCIPAL: return R_SENIOR;
    case R_SENIOR: return R_CONSULTANT;
    case R_CONSULTANT: return R_SENIOR;
    case R_ENGINEER: return R_CONSULTANT;
    case R_ANALYST: return R_CONSULTANT;
    default: return R_PRINCIPAL;
    }
}

static int role_at(const gen_person *p, int32_t d)
{
    return (p->ts_promo && gen_at(d, 0, 0, 0) < p->ts_promo) ? p->role0 : p->role;
}

static int add_alloc(gen_world *w, int eng, int person, int role, int pct, int32_t first, int32_t last, int st1,
                     int st2)
{
    if (w->na == w->acap) {
        w->acap = w->acap ? w->acap * 2 : 256;
        w->a = gen_xrealloc(w->a, sizeof(gen_alloc) * (size_t)w->acap);
    }
    gen_alloc *a = &w->a[w->na];
    memset(a, 0, sizeof *a);
    a->eng = eng;
    a->person = person;
    a->role = role;
    a->percent = pct;
    a->first = first;
    a->last = last;
    a->st1 = st1;
    a->st2 = st2;
    a->ts1 = gen_clamp(w, gen_work_time(w, first - gen_int(&w->rng, 7, 35), 9, 17));
    /* never before the engagement or the person it names was published */
    if (a->ts1 <= w->e[eng].ts1)
        a->ts1 = gen_later(w, w->e[eng].ts1, 0, 2);
    if (person >= 0 && a->ts1 <= w->p[person].ts1)
        a->ts1 = gen_later(w, w->p[person].ts1, 0, 2);
    if (st2 >= 0)
        a->ts2 = gen_later(w, a->ts1, 2, 12);
    if (person >= 0 && w->e[eng].dm < 0 && role == R_DM)
        w->e[eng].dm = person;
    return w->na++;
}

static void pool_build(gen_world *w, pool *pl, int future_too)
{
    pl->idx = gen_xalloc(sizeof(int) * (size_t)w->ne);
    pl->cum = gen_xalloc(sizeof(int) * (size_t)w->ne);
    pl->n = pl->total = 0;
    for (int i = 0; i < w->ne; i++) {
        const gen_eng *e = &w->e[i];
        if (e->billing == BILL_NB || (e->kind == EK_FUTURE && !future_too))
            continue;
        pl->total += gen_int(&w->rng, 1, 6) + (e->kind == EK_RUNNING ? 2 : 0);
        pl->idx[pl->n] = i;
        pl->cum[pl->n++] = pl->total;
    }
}

/* an engagement of the pool overlapping [from, to] by two weeks at least;
 * the overlap in *f, *l; -1 when none is found */
static int pick_eng(gen_world *w, const pool *pl, int32_t from, int32_t to, int avoid, int prefer_partner,
                    int32_t *f, int32_t *l)
{
    if (!pl->n)
        return -1;
    for (int tries = 0; tries < 60; tries++) {
        int x = gen_int(&w->rng, 0, pl->total - 1), k = 0;
        while (pl->cum[k] <= x)
            k++;
        const gen_eng *e = &w->e[pl->idx[k]];
        if (pl->idx[k] == avoid)
            continue;
        if (prefer_partner && tries < 20 && !e->lead)
            continue;
        *f = max32(from, e->starts);
        *l = min32(to, e->ends);
        if (*l - *f >= 13)
            return pl->idx[k];
    }
    return -1;
}

static int confirmed_status(gen_world *w, int *st2)
{
    if (gen_chance(&w->rng, 0.2)) { /* proposed first, confirmed later */
        *st2 = AS_CONFIRMED;
        return AS_PROPOSED;
    }
    *st2 = -1;
    return AS_CONFIRMED;
}

static int alloc_one(gen_world *w, const pool *pl, int pi, int pct, int32_t from, int32_t to, int avoid)
{
    gen_person *p = &w->p[pi];
    int32_t f, l;
    int e = pick_eng(w, pl, from, to, avoid, p->emp == EMP_PARTNER, &f, &l);
    if (e < 0)
        return -1;
    int role = role_at(p, f), st2;
    if (gen_chance(&w->rng, 0.06))
        role = alt_role(role); /* staffed in another role than the HR one */
    int st1 = confirmed_status(w, &st2);
    return add_alloc(w, e, pi, role, pct, f, l, st1, st2);
}

enum { PT_FULL, PT_SPLIT, PT_PARTIAL, PT_BENCH, PT_INTERNAL, PT_OVER, PT_MULTI };

static void plan_person(gen_world *w, const pool *pl, int pi, int *bench, int *nbench)
{
    gen_person *p = &w->p[pi];
    gen_rng *r = &w->rng;
    int32_t from, to;
    if (!p->billable)
        return;
    if (p->kind == PK_JOINER || p->kind == PK_FUTURE_JOINER)
        from = p->joined;
    else
        from = max32(p->joined, gen_monday(w->S - 7 * gen_int(r, 0, 26)));
    to = w->E - 2 + 7 * gen_int(r, 2, 30);
    if (p->left != GEN_NONE && to > p->left)
        to = p->left;
    if (to - from < 13)
        return;
    static const int emp_w[] = {62, 12, 10, 6, 5, 2, 0};
    static const int ctr_w[] = {88, 0, 6, 6, 0, 0, 0};
    int type = p->role == R_DM ? (gen_chance(r, 0.8) ? PT_MULTI : PT_FULL)
                               : gen_pick(r, p->emp == EMP_EMPLOYEE ? emp_w : ctr_w, 7);
    int a = -1, nb = -1, start = w->na;
    switch (type) {
    case PT_FULL:
    case PT_PARTIAL:
        a = alloc_one(w, pl, pi, type == PT_FULL ? 100 : 10 * gen_int(r, 4, 8), from, to, -1);
        break;
    case PT_SPLIT: {
        static const int pairs[][2] = {{50, 50}, {60, 40}, {80, 20}, {70, 30}};
        int k = gen_int(r, 0, 3);
        a = alloc_one(w, pl, pi, pairs[k][0], from, to, -1);
        if (a >= 0)
            alloc_one(w, pl, pi, pairs[k][1], from, to, w->a[a].eng);
        break;
    }
    case PT_OVER:
        a = alloc_one(w, pl, pi, 100, from, to, -1);
        if (a >= 0 && alloc_one(w, pl, pi, 30, from, to, w->a[a].eng) >= 0 && gen_note_more(w, NC_OVER))
            gen_note(w, "overallocated: %s has 100%% and 30%% CONFIRMED allocations at once", p->id);
        break;
    case PT_INTERNAL:
        for (int i = 0; i < w->ne; i++)
            if (w->e[i].billing == BILL_NB && (nb < 0 || gen_chance(r, 0.5)))
                nb = i;
        if (nb >= 0) {
            int pct = gen_chance(r, 0.5) ? 100 : 50;
            add_alloc(w, nb, pi, p->role, pct, max32(from, w->e[nb].starts), min32(to, w->e[nb].ends), AS_CONFIRMED, -1);
        }
        break;
    case PT_MULTI: {
        static const int combos[][3] = {{40, 30, 30}, {50, 50, 0}, {30, 30, 20}, {50, 30, 0}, {40, 40, 20}};
        int k = gen_int(r, 0, 4), prev = -1;
        for (int j = 0; j < 3 && combos[k][j]; j++) {
            int x = alloc_one(w, pl, pi, combos[k][j], from, to, prev);
            if (x >= 0)
                prev = w->a[x].eng;
        }
        break;
    }
    default:
        break;
    }
    if (type == PT_BENCH || (type == PT_INTERNAL && nb >= 0))
        bench[(*nbench)++] = pi;
    /* roll off inside the range */
    if (a >= 0 && (type == PT_FULL || type == PT_PARTIAL) && w->weeks >= 3 && gen_chance(r, 0.15)) {
        gen_alloc *x = &w->a[a];
        int32_t nl = w->S + 7 * gen_int(r, 1, w->weeks - 2) + 4;
        if (nl - x->first >= 13 && nl < x->last) {
            x->last = nl;
            bench[(*nbench)++] = pi;
        }
    }
    /* gaps (an engagement starting late, ending early, a roll-off) are mostly filled by the next
     * engagement, often after a week or two on the bench */
    double fill = type == PT_BENCH || type == PT_INTERNAL ? 0 : type == PT_PARTIAL ? 0.5 : 0.85;
    int32_t lo = from > w->S ? from : w->S, hi = to < w->E + 84 ? to : w->E + 84;
    for (int round = 0; round < 6 && fill > 0 && lo <= hi; round++) {
        int32_t g0 = GEN_NONE, g1 = hi;
        for (int32_t d = lo; d <= hi; d++) {
            int cov = 0;
            for (int k = start; k < w->na && !cov; k++)
                cov = w->a[k].person == pi && w->a[k].first <= d && d <= w->a[k].last;
            if (!cov && g0 == GEN_NONE)
                g0 = d;
            else if (cov && g0 != GEN_NONE) {
                g1 = d - 1;
                break;
            }
        }
        int before = g0 == w->S && from < w->S; /* busy before the range began */
        if (g0 == GEN_NONE)
            break;
        lo = g1 + 1;
        if ((g1 - g0 < 13 && !before) || !gen_chance(r, fill))
            continue;
        int32_t f0 = g0 + (gen_chance(r, 0.5) ? 7 * gen_int(r, 1, 2) : 0);
        if (before)
            f0 = from; /* no bench at the start of the range */
        if (g1 - f0 >= 13)
            alloc_one(w, pl, pi, 100, f0, g1, -1);
    }
}

void gen_allocations(gen_world *w)
{
    gen_rng *r = &w->rng;
    pool pl, plf;
    pool_build(w, &pl, 0);
    pool_build(w, &plf, 1);
    int *bench = gen_xalloc(sizeof(int) * (size_t)(2 * w->np + 1)), nbench = 0;
    for (int i = 0; i < w->np; i++)
        plan_person(w, &pl, i, bench, &nbench);

    /* proposals ahead and cancelled allocations (never worked) */
    for (int i = 0; i < w->np; i++) {
        gen_person *p = &w->p[i];
        if (!p->billable)
            continue;
        int32_t lim = p->left != GEN_NONE ? p->left : w->X + 180;
        int32_t f, l;
        if (gen_chance(r, 0.07)) {
            int32_t first = w->E + 1 + 7 * gen_int(r, 0, 7);
            int e = pick_eng(w, &plf, max32(first, p->joined), min32(first + 7 * gen_int(r, 8, 20) + 4, lim), -1, 0, &f, &l);
            if (e >= 0)
                add_alloc(w, e, i, role_at(p, f), 10 * gen_int(r, 5, 10), f, l, AS_PROPOSED, -1);
        }
        if (gen_chance(r, 0.03)) {
            int32_t first = w->S + 7 * gen_int(r, 2, w->weeks + 6);
            int e = pick_eng(w, &plf, max32(first, p->joined), min32(first + 7 * gen_int(r, 4, 12) + 4, lim), -1, 0, &f, &l);
            if (e >= 0) {
                int x = add_alloc(w, e, i, role_at(p, f), 10 * gen_int(r, 2, 10), f, l,
                                  gen_chance(r, 0.5) ? AS_PROPOSED : AS_CONFIRMED, AS_CANCELLED);
                w->a[x].ts1 = gen_clamp(w, gen_work_time(w, f - gen_int(r, 30, 50), 9, 17));
                if (w->a[x].ts1 <= p->ts1)
                    w->a[x].ts1 = gen_later(w, p->ts1, 0, 2);
                if (w->a[x].ts1 <= w->e[e].ts1)
                    w->a[x].ts1 = gen_later(w, w->e[e].ts1, 0, 2);
                w->a[x].ts2 = gen_later(w, w->a[x].ts1, 5, 25);
            }
        }
    }
    /* open roles: demand still to fill, the first two within two weeks of the end week */
    int nopen = w->ne / 2 > w->np / 60 ? w->ne / 2 : w->np / 60, made = 0;
    if (nopen < 3)
        nopen = 3;
    static const int open_roles[] = {R_SENIOR, R_CONSULTANT, R_ENGINEER, R_ANALYST, R_PRINCIPAL, R_ENGINEER};
    for (int k = 0; k < nopen * 4 && made < nopen; k++) {
        int32_t first = w->E + 1 + 7 * (made == 0 ? 0 : made == 1 ? 1 : gen_int(r, 0, 9)), f, l;
        int e = pick_eng(w, &plf, first, first + 7 * gen_int(r, 8, 26) + 4, -1, 0, &f, &l);
        if (e < 0)
            continue;
        int role = made == 0 || gen_chance(r, 0.3) ? R_DM : open_roles[gen_int(r, 0, 5)];
        int st = made < 2 || gen_chance(r, 0.75) ? AS_CONFIRMED : AS_PROPOSED;
        int x = add_alloc(w, e, -1, role, gen_chance(r, 0.7) ? 100 : 50, f, l, st, -1);
        if (made < 2) {
            char d[11] = {0};
            gen_fmt_date(d, w->a[x].first);
            gen_note(w, "open role: a-%05d on %s (%s, %s) starts %s, within two weeks of the end week", x + 1,
                     w->e[e].id, gen_role_names[role], st == AS_CONFIRMED ? "CONFIRMED" : "PROPOSED", d);
        }
        made++;
    }
    /* engagements starting after the end week: open roles and proposed staff from the bench */
    int bi = 0;
    for (int i = 0; i < w->ne; i++) {
        gen_eng *e = &w->e[i];
        if (e->kind != EK_FUTURE)
            continue;
        add_alloc(w, i, -1, R_DM, 50, e->starts, e->ends, AS_CONFIRMED, -1);
        add_alloc(w, i, -1, R_SENIOR, 100, e->starts, e->ends, AS_CONFIRMED, -1);
        for (int k = 0; k < 3 && bi < nbench; bi++) {
            gen_person *p = &w->p[bench[bi]];
            if (p->left != GEN_NONE && p->left < e->starts + 28)
                continue;
            add_alloc(w, i, bench[bi], role_at(p, e->starts), 100, e->starts,
                      p->left != GEN_NONE && p->left < e->ends ? p->left : e->ends, AS_PROPOSED, -1);
            k++;
        }
    }
    free(bench);

    /* the rate-card gap: a role staffed (CONFIRMED, inside the range) on a T&M engagement but
     * missing from its rate card, as few allocations as possible */
    int best_e = -1, best_r = -1, best_n = 1 << 30;
    int *cnt = gen_xalloc(sizeof(int) * (size_t)w->ne * R_N);
    for (int i = 0; i < w->na; i++) {
        const gen_alloc *a = &w->a[i];
        int fin = a->st2 >= 0 ? a->st2 : a->st1;
        if (fin == AS_CONFIRMED && a->person >= 0 && a->first <= w->E && a->last >= w->S)
            cnt[a->eng * R_N + a->role]++;
    }
    for (int i = 0; i < w->ne; i++) {
        const gen_eng *e = &w->e[i];
        if (e->billing != BILL_TM || e->kind == EK_FUTURE || e->retro || e->mpd != 450 || e->overrun ||
            strcmp(e->currency, "GBP"))
            continue;
        for (int k = 0; k < R_N; k++)
            if (cnt[i * R_N + k] > 0 && cnt[i * R_N + k] < best_n) {
                best_n = cnt[i * R_N + k];
                best_e = i;
                best_r = k;
            }
    }
    free(cnt);
    if (best_e >= 0) {
        w->e[best_e].missing_role = best_r;
        gen_note(w, "rate-card gap: %s (TIME_AND_MATERIALS) has no %s rate but %d CONFIRMED %s allocation(s): "
                    "those lines are held unpriced", w->e[best_e].id, gen_role_names[best_r], best_n,
                 gen_role_names[best_r]);
    }

    /* budgets: the planned daily burn (seen over the range and the forecast horizon) times the
     * engagement's working days, with a margin */
    double *burn = gen_xalloc(sizeof(double) * (size_t)w->ne);
    for (int k = 0; k < w->na; k++) {
        const gen_alloc *a = &w->a[k];
        const gen_eng *e = &w->e[a->eng];
        int fin = a->st2 >= 0 ? a->st2 : a->st1;
        if (fin == AS_CANCELLED)
            continue;
        int n = weekdays(max32(a->first, max32(e->starts, w->S)), min32(a->last, min32(e->ends, w->X)));
        double rate = e->billing == BILL_NB ? 40000.0 : (double)e->rate1[a->role];
        burn[a->eng] += n * a->percent / 100.0 * rate;
    }
    for (int i = 0; i < w->ne; i++) {
        gen_eng *e = &w->e[i];
        int days = weekdays(max32(e->starts, w->S), min32(e->ends, w->X)), total = weekdays(e->starts, e->ends);
        double factor = e->overrun ? 0.55 : gen_chance(r, 0.12) ? 0.85 + 0.1 * gen_unit(r) : 1.05 + 0.3 * gen_unit(r);
        double v = days > 0 && burn[i] > 0 ? burn[i] / days * total * factor : gen_int(r, 5, 200) * 1000000.0;
        e->budget = (int64_t)(v / 100000.0 + 0.5) * 100000;
        if (e->overrun)
            gen_note(w, "engagement %s: starts with the range, budget_minor about 55%% of its plan "
                        "(estimate at completion far over budget)", e->id);
    }
    free(burn);
    free(pl.idx);
    free(pl.cum);
    free(plf.idx);
    free(plf.cum);

    /* each person's final CONFIRMED allocations, for the timesheets */
    for (int i = 0; i < w->na; i++) {
        const gen_alloc *a = &w->a[i];
        int fin = a->st2 >= 0 ? a->st2 : a->st1;
        if (fin == AS_CONFIRMED && a->person >= 0)
            w->p[a->person].nalloc++;
    }
    for (int i = 0; i < w->np; i++) {
        w->p[i].alloc = gen_xalloc(sizeof(int) * (size_t)(w->p[i].nalloc + 1));
        w->p[i].nalloc = 0;
    }
    for (int i = 0; i < w->na; i++) {
        const gen_alloc *a = &w->a[i];
        int fin = a->st2 >= 0 ? a->st2 : a->st1;
        if (fin == AS_CONFIRMED && a->person >= 0) {
            gen_person *p = &w->p[a->person];
            p->alloc[p->nalloc++] = i;
        }
    }
}

void gen_emit_allocations(gen_world *w)
{
    static const char *const st[] = {"PROPOSED", "CONFIRMED", "CANCELLED"};
    gen_sink *s = &w->sink[T_ALLOC];
    for (int i = 0; i < w->na; i++) {
        const gen_alloc *a = &w->a[i];
        char id[16];
        snprintf(id, sizeof id, "a-%05d", i + 1);
        for (int rev = 1; rev <= (a->st2 >= 0 ? 2 : 1); rev++) {
            gs_begin(s, rev == 1 ? a->ts1 : a->ts2, rev);
            gs_str(s, "allocation_id", id);
            gs_str(s, "engagement_id", w->e[a->eng].id);
            gs_str(s, "person_id", a->person >= 0 ? w->p[a->person].id : NULL);
            gs_str(s, "role", gen_role_names[a->role]);
            gs_int(s, "percent", a->percent);
            gs_date(s, "first_day", a->first);
            gs_date(s, "last_day", a->last);
            gs_str(s, "status", st[rev == 1 ? a->st1 : a->st2]);
            gs_commit(s);
        }
    }
}
