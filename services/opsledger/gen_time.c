/* gen_time — timesheet entries (timesheet.entry), written week by week so
 * that a year of a large organisation streams through a small buffer. */
#include "gen_common.h"

#include <stdlib.h>
#include <string.h>

enum { A_DELIVERY, A_SALES, A_TRAINING, A_INTERNAL, A_BENCH, A_LIVE };
static const char *const activities[] = {"DELIVERY", "SALES_SUPPORT", "TRAINING", "INTERNAL", "BENCH", "LIVE_SUPPORT"};
enum { ES_SUBMITTED, ES_APPROVED, ES_REJECTED, ES_DELETED };
static const char *const statuses[] = {"SUBMITTED", "APPROVED", "REJECTED", "DELETED"};

typedef struct tctx {
    gen_world *w;
    gen_sink *s;
    long next_id;
    int week;           /* index in the range */
    int64_t ts;         /* when the person-week is logged */
    int nin;            /* entries of the person-week so far */
    long amended, deleted, rejected, dups;
} tctx;

static int round15(int m)
{
    int r = (m + 7) / 15 * 15;
    return r < 15 ? 15 : r;
}

static void entry_line(gen_sink *s, int64_t ts, long rev, const char *id, const char *pid, const char *eng,
                       int act, int32_t d, int minutes, int st)
{
    gs_begin(s, ts, rev);
    gs_str(s, "entry_id", id);
    gs_str(s, "person_id", pid);
    gs_str(s, "engagement_id", eng);
    gs_str(s, "activity", activities[act]);
    gs_date(s, "work_date", d);
    gs_int(s, "minutes", minutes);
    gs_str(s, "status", statuses[st]);
    gs_commit(s);
}

static void maybe_dup(tctx *t)
{
    if (gen_chance(&t->w->rng, 0.005)) {
        gs_dup(t->s);
        t->dups++;
    }
}

static void entry(tctx *t, gen_person *p, int eng, int act, int32_t d, int minutes)
{
    gen_world *w = t->w;
    gen_rng *r = &w->rng;
    char id[24];
    snprintf(id, sizeof id, "t-%07ld", ++t->next_id);
    const char *eid = eng >= 0 ? w->e[eng].id : NULL;
    int st = t->week == w->weeks - 1 ? ES_SUBMITTED : ES_APPROVED;
    int64_t ts = t->ts + (int64_t)t->nin++ * 7000;
    entry_line(t->s, ts, 1, id, p->id, eid, act, d, minutes, st);
    maybe_dup(t);
    int fmin = minutes, fst = st;
    if (gen_chance(r, 0.03)) { /* amended later: minutes corrected, deleted, or rejected */
        double x = gen_unit(r);
        int64_t t2 = gen_later(w, ts, 1, 16);
        t->amended++;
        if (x < 0.5) {
            fmin = minutes + 15 * gen_int(r, 1, 8) * (gen_chance(r, 0.5) ? 1 : -1);
            if (fmin < 15)
                fmin = 15;
            if (fmin > 960)
                fmin = 960;
            entry_line(t->s, t2, 2, id, p->id, eid, act, d, fmin, st);
        } else if (x < 0.75) {
            fst = ES_DELETED;
            t->deleted++;
            entry_line(t->s, t2, 2, id, p->id, eid, act, d, minutes, fst);
        } else {
            fst = ES_REJECTED;
            t->rejected++;
            entry_line(t->s, t2, 2, id, p->id, eid, act, d, minutes, fst);
            if (gen_chance(r, 0.5)) { /* corrected and resubmitted */
                int64_t t3 = gen_later(w, t2, 0, 4);
                fmin = minutes - 15 * gen_int(r, 1, 4);
                if (fmin < 15)
                    fmin = 15;
                fst = st;
                entry_line(t->s, t3, 3, id, p->id, eid, act, d, fmin, fst);
            }
        }
        maybe_dup(t);
    }
    if (fst == ES_APPROVED && p->appr)
        p->appr[t->week] += fmin;
}

static int bench_activity(gen_rng *r)
{
    static const int wts[] = {0, 25, 20, 15, 35, 5};
    return gen_pick(r, wts, 6);
}

static void person_week(tctx *t, int pi, int32_t mon)
{
    gen_world *w = t->w;
    gen_rng *r = &w->rng;
    gen_person *p = &w->p[pi];
    int32_t lastwd = GEN_NONE;
    for (int32_t d = mon; d < mon + 7; d++)
        if (gen_day_capacity(p, d) > 0)
            lastwd = d;
    if (lastwd == GEN_NONE)
        return;
    if ((p->no_ts_period >= 0 && t->week / 4 == p->no_ts_period) || gen_chance(r, 0.02)) {
        w->missing_weeks++;
        return;
    }
    /* logged on the last working day of the week, or the Monday after, sometimes later */
    double x = gen_unit(r);
    if (t->week == w->weeks - 1 || x < 0.65)
        t->ts = gen_at(lastwd, 16, 30, 0) + gen_int(r, 0, 7200) * 1000LL;
    else if (x < 0.95)
        t->ts = gen_at(mon + 7, 8, 30, 0) + gen_int(r, 0, 9000) * 1000LL;
    else
        t->ts = gen_work_time(w, mon + 7 + gen_int(r, 1, 3), 9, 17);
    t->nin = 0;
    int a1 = bench_activity(r), a2 = bench_activity(r);
    int adhoc_day = -1, adhoc_eng = -1;
    if (p->billable && gen_chance(r, 0.02)) { /* a little help on an engagement without an allocation */
        adhoc_day = gen_int(r, 0, 4);
        adhoc_eng = gen_int(r, 0, w->ne - 1);
        if (w->e[adhoc_eng].billing != BILL_TM || w->e[adhoc_eng].starts > mon || w->e[adhoc_eng].ends < mon + 6)
            adhoc_eng = -1;
        for (int k = 0; adhoc_eng >= 0 && k < p->nalloc; k++)
            if (w->a[p->alloc[k]].eng == adhoc_eng)
                adhoc_eng = -1;
    }
    for (int32_t d = mon; d < mon + 7; d++) {
        int cap = gen_day_capacity(p, d);
        if (!cap)
            continue;
        uint8_t lb = gen_leave_at(w, p, d);
        if (LV_PORTION(lb) == 3)
            continue;
        if (LV_PORTION(lb))
            cap /= 2;
        int tot = round15(cap), sum = 0;
        if (!p->billable) {
            if (gen_chance(r, 0.3)) {
                int live = 15 * gen_int(r, 4, 8) < tot ? 15 * gen_int(r, 4, 8) : tot;
                entry(t, p, -1, A_LIVE, d, live);
                sum += live;
            }
            if (tot - sum >= 15)
                entry(t, p, -1, A_INTERNAL, d, tot - sum);
            continue;
        }
        for (int k = 0; k < p->nalloc; k++) {
            const gen_alloc *a = &w->a[p->alloc[k]];
            if (d < a->first || d > a->last)
                continue;
            int m = round15(a->percent * cap / 100);
            entry(t, p, a->eng, A_DELIVERY, d, m);
            sum += m;
        }
        int rem = tot - sum;
        if (adhoc_eng >= 0 && d - mon == adhoc_day && rem >= 60) {
            int m = 15 * gen_int(r, 4, 8);
            if (m > rem)
                m = rem;
            entry(t, p, adhoc_eng, A_DELIVERY, d, m);
            rem -= m;
        }
        if (rem >= 15) {
            if (rem >= 240 && a1 != a2 && gen_chance(r, 0.35)) {
                int part = round15((int)(rem * (0.3 + 0.4 * gen_unit(r))));
                if (part >= rem)
                    part = rem - 15;
                entry(t, p, -1, a1, d, part);
                entry(t, p, -1, a2, d, rem - part);
            } else
                entry(t, p, -1, a1, d, rem);
        }
    }
}

int gen_timesheets(gen_world *w)
{
    tctx t;
    memset(&t, 0, sizeof t);
    t.w = w;
    t.s = &w->sink[T_ENTRY];
    /* suppliers' people: approved minutes per week, for their invoices */
    for (int i = 0; i < w->np; i++)
        if (w->p[i].emp != EMP_EMPLOYEE)
            w->p[i].appr = gen_xalloc(sizeof(int64_t) * (size_t)w->weeks);
    /* one contractor logs nothing during the first invoice period, and invoices it anyway */
    if (w->ninv > 0)
        for (int i = 0; i < w->np; i++) {
            gen_person *p = &w->p[i];
            if (p->emp == EMP_CONTRACTOR && p->joined <= w->S && (p->left == GEN_NONE || p->left > w->S + 56) &&
                p->nalloc > 0) {
                p->no_ts_period = 0;
                gen_note(w, "no timesheets: %s (contractor) logged nothing in the first four weeks but is invoiced for them",
                         p->id);
                break;
            }
        }
    for (int k = 0; k < w->weeks; k++) {
        int32_t mon = w->S + 7 * k;
        t.week = k;
        for (int i = 0; i < w->np; i++)
            person_week(&t, i, mon);
        if (gs_flush(t.s, gen_at(mon + 7, 0, 0, 0)))
            return -1;
    }
    w->amend_entries = t.amended;
    w->dup_entries = t.dups;
    gen_note(w, "timesheets: %ld entries, %ld amended later (%ld DELETED, %ld REJECTED, some of those resubmitted "
                "as revision 3), %ld lines repeated byte for byte (same event_id), %ld person-weeks with no "
                "timesheet at all",
             t.next_id, t.amended, t.deleted, t.rejected, t.dups, w->missing_weeks);
    return 0;
}

/* ------------------------------------------------------------ invalid lines */
static void bad_entry(gen_world *w, const char *field, const char *raw, int64_t ts)
{
    gen_sink *s = &w->inval[T_ENTRY];
    char id[24];
    snprintf(id, sizeof id, "t-bad-%d", (int)(s->lines % 1000) + 1);
    gs_begin(s, ts, 1);
    gs_str(s, "entry_id", id);
    gs_str(s, "person_id", w->p[0].id);
    gs_str(s, "engagement_id", NULL);
    gs_raw(s, "activity", !strcmp(field, "activity") ? raw : "\"INTERNAL\"");
    gs_raw(s, "work_date", !strcmp(field, "work_date") ? raw : "\"2026-11-09\"");
    gs_raw(s, "minutes", !strcmp(field, "minutes") ? raw : "450");
    gs_str(s, "status", "SUBMITTED");
    gs_commit(s);
}

void gen_invalid(gen_world *w)
{
    int64_t ts = gen_at(w->E - 2, 17, 30, 0);
    char ev[37], line[1024], day[11] = {0};
    gen_fmt_date(day, w->E - 2);
    bad_entry(w, "minutes", "2000", ts);
    bad_entry(w, "minutes", "-30", ts + 1000);
    bad_entry(w, "minutes", "\"ten\"", ts + 2000);
    bad_entry(w, "activity", "\"LUNCH\"", ts + 3000);
    bad_entry(w, "work_date", "\"9999-01-01\"", ts + 4000);
    gs_event_id(&w->inval[T_ENTRY], ev);
    snprintf(line, sizeof line, "{\"event_id\":\"%s\",\"occurred_at\":\"%sT17:30:05Z\",\"source\":\"timesheets\",", ev, day);
    gs_rawline(&w->inval[T_ENTRY], ts + 5000, line); /* cut short: not JSON */

    gen_sink *s = &w->inval[T_PERSON];
    static const char *const pbad[][2] = {{"currency", "\"gbp\""}, {"working_days", "200"}, {"employment", "\"INTERN\""}};
    for (int k = 0; k < 3; k++) {
        gs_begin(s, ts + k * 1000, 1);
        gs_str(s, "person_id", "p-bad-1");
        gs_str(s, "name", "Bad Record");
        gs_str(s, "team", "data");
        gs_str(s, "role", "CONSULTANT");
        gs_bool(s, "billable", 1);
        gs_raw(s, "employment", k == 2 ? pbad[k][1] : "\"EMPLOYEE\"");
        gs_str(s, "supplier", NULL);
        gs_int(s, "weekly_capacity_minutes", 2250);
        gs_raw(s, "working_days", k == 1 ? pbad[k][1] : "31");
        gs_int(s, "day_cost_minor", 40000);
        gs_raw(s, "currency", k == 0 ? pbad[k][1] : "\"GBP\"");
        gs_date(s, "joined_on", w->S);
        gs_date(s, "left_on", GEN_NONE);
        gs_commit(s);
    }
    s = &w->inval[T_LEAVE];
    for (int k = 0; k < 2; k++) {
        gs_begin(s, ts + k * 1000, 1);
        gs_str(s, "leave_id", k ? "l-bad-2" : "l-bad-1");
        gs_str(s, "person_id", w->p[0].id);
        gs_str(s, "kind", "HOLIDAY");
        gs_raw(s, "first_day", k ? "\"2026-02-30\"" : "\"2026-11-20\"");
        gs_raw(s, "last_day", "\"2026-11-20\"");
        gs_str(s, "portion", k ? "FULL" : "EVENING");
        gs_str(s, "status", "BOOKED");
        gs_commit(s);
    }
    s = &w->inval[T_ENG];
    for (int k = 0; k < 2; k++) {
        gs_begin(s, ts + k * 1000, 1);
        gs_str(s, "engagement_id", k ? "e-bad-2" : "e-bad-1");
        gs_str(s, "client", "Nobody Ltd");
        gs_str(s, "name", "Broken engagement");
        gs_str(s, "billing", k ? "RETAINER" : "TIME_AND_MATERIALS");
        gs_str(s, "lead", "SELF");
        gs_str(s, "bill_to", "Nobody Ltd");
        gs_str(s, "currency", "GBP");
        gs_int(s, "minutes_per_day", k ? 450 : 0);
        gs_int(s, "budget_minor", 1000000);
        gs_date(s, "starts_on", w->S);
        gs_date(s, "ends_on", w->E);
        gs_raw(s, "rate_card", "[]");
        gs_str(s, "status", "ACTIVE");
        gs_commit(s);
    }
    s = &w->inval[T_ALLOC];
    for (int k = 0; k < 2; k++) {
        gs_begin(s, ts + k * 1000, 1);
        gs_str(s, "allocation_id", k ? "a-bad-2" : "a-bad-1");
        gs_str(s, "engagement_id", w->e[0].id);
        gs_str(s, "person_id", w->p[0].id);
        if (!k)
            gs_str(s, "role", "ENGINEER"); /* the second line has no role: a required field is missing */
        gs_int(s, "percent", k ? 50 : 150);
        gs_date(s, "first_day", w->S);
        gs_date(s, "last_day", w->E);
        gs_str(s, "status", "CONFIRMED");
        gs_commit(s);
    }
    s = &w->inval[T_INVOICE];
    for (int k = 0; k < 2; k++) {
        gs_begin(s, ts + k * 1000, 1);
        gs_str(s, "invoice_id", k ? "ci-bad-2" : "ci-bad-1");
        gs_str(s, "person_id", w->p[0].id);
        gs_str(s, "supplier", "Nobody Ltd");
        gs_date(s, "period_first_day", w->S);
        gs_date(s, "period_last_day", w->S + 27);
        gs_int(s, "minutes_invoiced", 9000);
        gs_int(s, "amount_minor", k ? 1000000 : -100);
        gs_str(s, "currency", k ? "POUNDS" : "GBP");
        gs_str(s, "status", "RECEIVED");
        gs_commit(s);
    }
    s = &w->inval[T_EXPENSE];
    for (int k = 0; k < 2; k++) {
        gs_begin(s, ts + k * 1000, 1);
        gs_str(s, "expense_id", k ? "x-bad-2" : "x-bad-1");
        gs_str(s, "engagement_id", w->e[0].id);
        gs_str(s, "supplier", "LNER");
        gs_str(s, "description", "Rail fare");
        gs_raw(s, "incurred_on", k ? "\"1969-12-31\"" : "\"2026-11-10\"");
        gs_raw(s, "amount_minor", k ? "4500" : "12.5");
        gs_str(s, "currency", "GBP");
        gs_bool(s, "rechargeable", 1);
        gs_str(s, "status", "SUBMITTED");
        gs_commit(s);
    }
    s = &w->inval[T_PERIOD];
    for (int k = 0; k < 2; k++) {
        gs_begin(s, ts + k * 1000, 1);
        gs_str(s, "iso_week", k ? "2026-W47" : "2026-W60");
        gs_str(s, "status", k ? "LOCKED" : "OPEN");
        gs_commit(s);
    }
    s = &w->inval[T_RISK];
    gs_begin(s, ts, 1);
    gs_str(s, "risk_id", "r-bad-1");
    gs_str(s, "engagement_id", w->e[0].id);
    gs_str(s, "category", "SCHEDULE");
    gs_str(s, "severity", "SEVERE");
    gs_str(s, "summary", "Unknown severity symbol");
    gs_str(s, "owner", "Head of Delivery");
    gs_str(s, "status", "OPEN");
    gs_commit(s);
    s = &w->inval[T_ROTA];
    for (int k = 0; k < 2; k++) {
        gs_begin(s, ts + k * 1000, 1);
        gs_str(s, "shift_id", k ? "sh-bad-2" : "sh-bad-1");
        gs_str(s, "service_id", "svc-payments-api");
        gs_str(s, "person_id", w->p[0].id);
        gs_raw(s, "starts_at", k ? "\"2026-11-20T07:00:00Z\"" : "\"2026-13-01T07:00:00Z\"");
        gs_raw(s, "ends_at", "\"2026-11-20T19:00:00Z\"");
        gs_str(s, "role", k ? "TERTIARY" : "PRIMARY");
        gs_str(s, "status", "PLANNED");
        gs_commit(s);
    }
}
