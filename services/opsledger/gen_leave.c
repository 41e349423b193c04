/* gen_leave — leave (hr.leave) and the live-service rota (ops.rota). */
#include "gen_common.h"

#include <stdlib.h>
#include <string.h>

static int32_t max32(int32_t a, int32_t b) { return a > b ? a : b; }
static int32_t min32(int32_t a, int32_t b) { return a < b ? a : b; }

static int add_leave(gen_world *w, int pi, int kind, int portion, int32_t first, int32_t last, int64_t ts1, int64_t ts2)
{
    if (w->nl == w->lcap) {
        w->lcap = w->lcap ? w->lcap * 2 : 1024;
        w->l = gen_xrealloc(w->l, sizeof(gen_leave) * (size_t)w->lcap);
    }
    gen_leave *l = &w->l[w->nl];
    l->person = pi;
    l->kind = kind;
    l->portion = portion;
    l->first = first;
    l->last = last;
    l->ts1 = ts1 > w->p[pi].ts1 ? ts1 : gen_later(w, w->p[pi].ts1, 0, 2);
    l->ts2 = ts2 && ts2 > l->ts1 ? ts2 : 0;
    if (!l->ts2) { /* booked: mark the days */
        uint8_t code = (uint8_t)((portion == LP_FULL ? 3 : portion == LP_AM ? 1 : 2) | ((kind + 1) << 4));
        gen_person *p = &w->p[pi];
        for (int32_t d = max32(first, w->S); d <= min32(last, w->X - 1); d++)
            p->lv[d - w->S] = code;
    }
    return w->nl++;
}

/* no leave yet on any day of [first, last]; bank holidays count as taken unless allow_bh */
static int range_free(const gen_world *w, const gen_person *p, int32_t first, int32_t last, int allow_bh)
{
    for (int32_t d = first; d <= last; d++) {
        if (d < w->S || d >= w->X || p->lv[d - w->S])
            return 0;
        if (!allow_bh && gen_is_bank_holiday(w, d))
            return 0;
    }
    return 1;
}

/* the day after n working days (Monday to Friday) counted from first */
static int32_t after_workdays(int32_t first, int n)
{
    int32_t d = first;
    for (;;) {
        if (ol_weekday(d) < 5 && --n == 0)
            return d;
        d++;
    }
}

void gen_leave_plan(gen_world *w)
{
    gen_rng *r = &w->rng;
    size_t span = (size_t)(w->X - w->S);
    for (int i = 0; i < w->np; i++)
        w->p[i].lv = gen_xalloc(span);

    /* parental leave: long, booked months ahead */
    int npar = w->np / 200 > 1 ? w->np / 200 : 1;
    for (int i = 0; i < w->np && npar > 0; i++) {
        gen_person *p = &w->p[(i * 7919) % w->np];
        if (p->emp != EMP_EMPLOYEE || !p->billable || p->kind != PK_PLAIN)
            continue;
        int32_t first = w->S + 7 * gen_int(r, 0, w->weeks / 2), last = first + 7 * gen_int(r, 12, 26) - 1;
        add_leave(w, (int)(p - w->p), LK_PARENTAL, LP_FULL, first, last,
                  gen_clamp(w, gen_work_time(w, first - gen_int(r, 90, 150), 9, 16)), 0);
        if (gen_note_more(w, NC_PARENTAL))
            gen_note(w, "parental leave: %s, %d weeks from week %d of the range", p->id, (last - first + 1) / 7,
                     (first - w->S) / 7 + 1);
        npar--;
    }
    for (int i = 0; i < w->np; i++) {
        gen_person *p = &w->p[i];
        int32_t lo = max32(w->S, p->joined), hi = w->X - 1;
        if (p->left != GEN_NONE)
            hi = min32(hi, p->left);
        if (lo > hi)
            continue;
        /* other leave (jury service, compassionate): about one person in a hundred */
        if (gen_chance(r, 0.01)) {
            int32_t d = lo + gen_int(r, 0, hi - lo);
            if (ol_weekday(d) < 5 && range_free(w, p, d, d, 0))
                add_leave(w, i, LK_OTHER, LP_FULL, d, d, gen_clamp(w, gen_work_time(w, d - gen_int(r, 7, 30), 9, 17)), 0);
        }
        /* holidays, about one booking every six weeks, booked ahead */
        int32_t t = lo + gen_int(r, 0, 40);
        while (t <= hi) {
            int32_t first = t;
            while (ol_weekday(first) >= 5)
                first++;
            double x = gen_unit(r);
            int n = x < 0.30 ? 1 : x < 0.70 ? gen_int(r, 2, 5) : gen_int(r, 6, 10);
            if (n > 1 && gen_chance(r, 0.5))
                first = gen_monday(first) + 7;
            int32_t last = after_workdays(first, n);
            if (last > hi)
                break;
            int portion = LP_FULL;
            if (n == 1 && gen_chance(r, 0.15))
                portion = gen_chance(r, 0.5) ? LP_AM : LP_PM;
            int64_t booked = gen_work_time(w, first - gen_int(r, 7, 70), 9, 18);
            if (booked <= w->t_cap && range_free(w, p, first, last, 0)) {
                int64_t cancel = 0;
                if (gen_chance(r, 0.07)) {
                    int64_t c = gen_later(w, booked, 2, 20);
                    if (c < gen_at(first, 0, 0, 0) && c <= w->t_cap)
                        cancel = c;
                }
                add_leave(w, i, LK_HOLIDAY, portion, first, last, booked, cancel);
            }
            t = last + gen_int(r, 20, 60);
        }
        /* sickness: unplanned, reported on the day or when back */
        for (int k = 0; k < w->weeks; k++) {
            if (!gen_chance(r, 0.025))
                continue;
            int32_t first = w->S + 7 * k + gen_int(r, 0, 4);
            int n = gen_int(r, 1, 3);
            int32_t last = after_workdays(first, n);
            if (first < lo || last > hi || last > w->E || !range_free(w, p, first, last, 0))
                continue;
            int portion = n == 1 && gen_chance(r, 0.1) ? LP_PM : LP_FULL;
            int early = gen_int(r, 0, 89);
            int64_t ts = gen_chance(r, 0.7) ? gen_at(first, 8 + early / 60, early % 60, gen_int(r, 0, 59))
                                            : gen_work_time(w, last + 1, 9, 11);
            add_leave(w, i, LK_SICK, portion, first, last, gen_clamp(w, ts), 0);
        }
    }
}

void gen_public_holidays(gen_world *w)
{
    for (int b = 0; b < w->nbh; b++) {
        int32_t d = w->bh[b];
        for (int i = 0; i < w->np; i++) {
            gen_person *p = &w->p[i];
            if (!gen_day_capacity(p, d) || p->lv[d - w->S])
                continue;
            int on_duty = 0; /* a PRIMARY on shift that day works the bank holiday (day in lieu) */
            for (int k = 0; p->rota >= 0 && k < w->nsh && !on_duty; k++) {
                const gen_shift *s = &w->sh[k];
                on_duty = s->person == i && s->role == 0 && !s->ts2 && gen_day_of(s->starts) == d;
            }
            if (on_duty) {
                char ds[11] = {0};
                gen_fmt_date(ds, d);
                if (gen_note_more(w, NC_BHDUTY))
                    gen_note(w, "bank holiday %s: %s is PRIMARY on the rota and works it (no PUBLIC_HOLIDAY leave)", ds, p->id);
                continue;
            }
            int64_t ts = gen_work_time(w, d - 120, 7, 7); /* the HR calendar, loaded months ahead */
            add_leave(w, i, LK_PUBLIC, LP_FULL, d, d, gen_clamp(w, ts), 0);
        }
    }
}

void gen_emit_leave(gen_world *w)
{
    static const char *const kinds[] = {"HOLIDAY", "SICK", "PUBLIC_HOLIDAY", "PARENTAL", "OTHER"};
    static const char *const portions[] = {"FULL", "AM", "PM"};
    gen_sink *s = &w->sink[T_LEAVE];
    long cancelled = 0, halves = 0;
    for (int i = 0; i < w->nl; i++) {
        const gen_leave *l = &w->l[i];
        char id[16];
        snprintf(id, sizeof id, "l-%06d", i + 1);
        for (int rev = 1; rev <= (l->ts2 ? 2 : 1); rev++) {
            gs_begin(s, rev == 1 ? l->ts1 : l->ts2, rev);
            gs_str(s, "leave_id", id);
            gs_str(s, "person_id", w->p[l->person].id);
            gs_str(s, "kind", kinds[l->kind]);
            gs_date(s, "first_day", l->first);
            gs_date(s, "last_day", l->last);
            gs_str(s, "portion", portions[l->portion]);
            gs_str(s, "status", rev == 1 ? "BOOKED" : "CANCELLED");
            gs_commit(s);
        }
        cancelled += l->ts2 != 0;
        halves += l->portion != LP_FULL;
    }
    gen_note(w, "leave: %ld bookings later CANCELLED (revision 2), %ld half days (AM/PM)", cancelled, halves);
}

/* ------------------------------------------------------------ rota */
static const char *const services[] = {"svc-payments-api", "svc-client-portal", "svc-data-platform"};

static int add_shift(gen_world *w, int svc, int pi, int role, int64_t starts, int64_t ends, int64_t ts1)
{
    if (w->nsh == w->shcap) {
        w->shcap = w->shcap ? w->shcap * 2 : 512;
        w->sh = gen_xrealloc(w->sh, sizeof(gen_shift) * (size_t)w->shcap);
    }
    gen_shift *s = &w->sh[w->nsh];
    s->svc = svc;
    s->person = pi;
    s->role = role;
    s->starts = starts;
    s->ends = ends;
    s->ts1 = ts1;
    s->ts2 = 0;
    return w->nsh++;
}

/* planned leave (not sickness, which nobody plans around) on day d */
static int planned_leave(const gen_world *w, const gen_person *p, int32_t d)
{
    uint8_t b = gen_leave_at(w, p, d);
    return b && LV_KIND(b) != LK_SICK;
}

static int choose(const gen_world *w, const int *pool, int k, int start, int32_t d, int not1, int not2)
{
    for (int j = 0; j < k; j++) {
        int pi = pool[(start + j) % k];
        if (pi != not1 && pi != not2 && !planned_leave(w, &w->p[pi], d))
            return pi;
    }
    return pool[start % k];
}

void gen_rota_plan(gen_world *w)
{
    gen_rng *r = &w->rng;
    int32_t end = w->E + 14; /* the rota is planned two weeks beyond the end week */
    int *cand = gen_xalloc(sizeof(int) * (size_t)w->np), nc = 0;
    for (int i = 0; i < w->np; i++) {
        const gen_person *p = &w->p[i];
        if (p->emp == EMP_EMPLOYEE && (p->team == TM_OPS || p->team == TM_CLOUD) && p->joined <= w->S &&
            (p->left == GEN_NONE || p->left >= end) && p->kind != PK_LEAVER)
            cand[nc++] = i;
    }
    w->nsvc = w->np >= 60 ? 3 : 2;
    int k = nc / w->nsvc < 6 ? nc / w->nsvc : 6;
    if (k < 2) {
        w->nsvc = 0;
        gen_note(w, "rota: too few operations/cloud people for a rota");
        free(cand);
        return;
    }
    int pools[3][6];
    for (int s = 0; s < w->nsvc; s++)
        for (int j = 0; j < k; j++) {
            pools[s][j] = cand[s * k + j];
            w->p[cand[s * k + j]].rota = s;
        }
    free(cand);
    /* one deliberate PRIMARY on holiday: the first pool member with a booked full-day holiday */
    int inj_svc = -1, inj_p = -1;
    int32_t inj_d = 0;
    for (int s = 0; s < w->nsvc && inj_p < 0; s++)
        for (int j = 0; j < k && inj_p < 0; j++)
            for (int32_t d = w->S + 3; d <= end; d++) {
                uint8_t b = gen_leave_at(w, &w->p[pools[s][j]], d);
                if (b && LV_KIND(b) == LK_HOLIDAY && LV_PORTION(b) == 3) {
                    inj_svc = s;
                    inj_p = pools[s][j];
                    inj_d = d;
                    break;
                }
            }
    int32_t gap_d = w->S + (end - w->S) / 3;
    /* one deliberate double booking: on the Thursday after the end week the
     * second service's day PRIMARY is the first service's, at the same time */
    int32_t dbl_d = w->E + 4;
    int day0 = -1;
    long gaps = 0, cancelled = 0, replaced = 0;
    for (int32_t d = w->S; d <= end; d++) {
        int i = d - w->S;
        int64_t pub = gen_at(gen_monday(d) - 14, 10, 0, 0) + (int64_t)gen_int(r, 0, 1800) * 1000;
        for (int s = 0; s < w->nsvc; s++) {
            int dp = choose(w, pools[s], k, i, d, -1, -1);
            int np = choose(w, pools[s], k, i + k / 2, d, dp, -1);
            int sp = choose(w, pools[s], k, i + 1, d, dp, np);
            if (s == inj_svc && d == inj_d) {
                dp = inj_p;
                char ds[11] = {0};
                gen_fmt_date(ds, d);
                gen_note(w, "rota: %s PRIMARY on %s is %s, who is on holiday that day", services[s], ds, w->p[dp].id);
            }
            if (s == 0)
                day0 = dp;
            if (s == 1 && d == dbl_d && day0 >= 0) {
                char ds[11] = {0};
                dp = day0;
                gen_fmt_date(ds, d);
                gen_note(w, "rota: %s is PRIMARY 07:00-19:00 on %s and on %s on %s (double booked)", w->p[dp].id,
                         services[0], services[1], ds);
            }
            int x[3] = {-1, -1, -1};
            if (!(s == 0 && d == gap_d))
                x[0] = add_shift(w, s, dp, 0, gen_at(d, 7, 0, 0), gen_at(d, 19, 0, 0), pub);
            else {
                char ds[11] = {0};
                gen_fmt_date(ds, d);
                gen_note(w, "rota: %s has no PRIMARY 07:00-19:00 on %s (gap)", services[s], ds);
            }
            if (gen_chance(r, 0.985))
                x[1] = add_shift(w, s, np, 0, gen_at(d, 19, 0, 0), gen_at(d + 1, 7, 0, 0), pub);
            else
                gaps++;
            x[2] = add_shift(w, s, sp, 1, gen_at(d, 7, 0, 0), gen_at(d + 1, 7, 0, 0), pub);
            for (int j = 0; j < 3; j++) {
                if (x[j] < 0 || !gen_chance(r, 0.02))
                    continue;
                gen_shift *sh = &w->sh[x[j]];
                int64_t c = gen_later(w, sh->ts1, 1, 10);
                if (c >= sh->starts || c > w->t_cap)
                    continue;
                sh->ts2 = c;
                cancelled++;
                if (gen_chance(r, 0.5)) {
                    int who = choose(w, pools[s], k, i + 2, d, sh->person, -1);
                    gen_shift copy = *sh;
                    add_shift(w, s, who, copy.role, copy.starts, copy.ends, c + 5 * MIN_MS);
                    replaced++;
                } else if (sh->role == 0)
                    gaps++;
            }
        }
    }
    gen_note(w, "rota: %d services, %d people each, shifts to two weeks after the end week; %ld shifts CANCELLED "
                "(%ld replaced by another person), %ld further PRIMARY gaps (missing or cancelled night shifts)",
             w->nsvc, k, cancelled, replaced, gaps);
}

void gen_emit_rota(gen_world *w)
{
    gen_sink *s = &w->sink[T_ROTA];
    for (int i = 0; i < w->nsh; i++) {
        const gen_shift *sh = &w->sh[i];
        char id[16];
        snprintf(id, sizeof id, "sh-%06d", i + 1);
        for (int rev = 1; rev <= (sh->ts2 ? 2 : 1); rev++) {
            gs_begin(s, rev == 1 ? sh->ts1 : sh->ts2, rev);
            gs_str(s, "shift_id", id);
            gs_str(s, "service_id", services[sh->svc]);
            gs_str(s, "person_id", w->p[sh->person].id);
            gs_ts(s, "starts_at", sh->starts);
            gs_ts(s, "ends_at", sh->ends);
            gs_str(s, "role", sh->role == 0 ? "PRIMARY" : "SECONDARY");
            gs_str(s, "status", rev == 1 ? "PLANNED" : "CANCELLED");
            gs_commit(s);
        }
    }
}
