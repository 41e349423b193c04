/* gen_finance — contractor invoices, expenses, finance periods and the
 * delivery risk register. */
#include "gen_common.h"

#include <stdlib.h>
#include <string.h>

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

static int32_t max32(int32_t a, int32_t b) { return a > b ? a : b; }
static int32_t min32(int32_t a, int32_t b) { return a < b ? a : b; }

/* ------------------------------------------------------------ contractor invoices */
static void invoice_line(gen_world *w, int64_t ts, long rev, int no, const gen_person *p, int32_t first, int32_t last,
                         int64_t minutes, int64_t amount, int withdrawn)
{
    gen_sink *s = &w->sink[T_INVOICE];
    char id[16];
    snprintf(id, sizeof id, "ci-%05d", no);
    gs_begin(s, ts, rev);
    gs_str(s, "invoice_id", id);
    gs_str(s, "person_id", p->id);
    gs_str(s, "supplier", p->supplier);
    gs_date(s, "period_first_day", first);
    gs_date(s, "period_last_day", last);
    gs_int(s, "minutes_invoiced", minutes);
    gs_int(s, "amount_minor", amount);
    gs_str(s, "currency", p->currency);
    gs_str(s, "status", withdrawn ? "WITHDRAWN" : "RECEIVED");
    gs_commit(s);
}

static int64_t appr_weeks(const gen_person *p, int w0, int w1)
{
    int64_t m = 0;
    for (int k = w0; k <= w1; k++)
        m += p->appr[k];
    return m;
}

void gen_invoices(gen_world *w)
{
    gen_rng *r = &w->rng;
    int no = 0, rate_done = 0, withdrawn_done = 0, overlap_done = 0;
    long over = 0, under = 0, matched = 0;
    if (!w->ninv) {
        gen_note(w, "contractor invoices: none (a four-week period must end before the end week: --weeks 5 or more)");
        return;
    }
    for (int i = 0; i < w->np; i++) {
        gen_person *p = &w->p[i];
        if (p->emp == EMP_EMPLOYEE)
            continue;
        for (int q = 0; q < w->ninv; q++) {
            int32_t pf = w->S + 28 * q, pl = pf + 27;
            if (p->joined > pl || (p->left != GEN_NONE && p->left < pf))
                continue;
            int64_t minutes = appr_weeks(p, 4 * q, 4 * q + 3);
            if (p->no_ts_period == q) {
                minutes = 0; /* invoices the contracted time of the period: nothing was logged */
                for (int32_t d = pf; d <= pl; d++)
                    minutes += gen_day_capacity(p, d);
            } else if (!minutes)
                continue;
            int64_t ts = gen_clamp(w, gen_work_time(w, pl + gen_int(r, 1, 5), 9, 17));
            int64_t amount = gen_cost(p, minutes);
            int daycap = p->weekly / p->nwd;
            char pid[80];
            snprintf(pid, sizeof pid, "%s (%s)", p->id, p->supplier);
            if (p->no_ts_period == q) {
                invoice_line(w, ts, 1, ++no, p, pf, pl, minutes, amount, 0);
                gen_note(w, "invoice ci-%05d: %s, no timesheets in its period", no, pid);
            } else if (!rate_done && q == 0) {
                rate_done = 1;
                int64_t wrong = gen_round_div(minutes * (p->day_cost + 2500) * p->nwd, p->weekly);
                invoice_line(w, ts, 1, ++no, p, pf, pl, minutes, wrong, 0);
                gen_note(w, "invoice ci-%05d: %s, minutes match but charged at day_cost_minor + 2500 (wrong rate)", no, pid);
            } else if (!withdrawn_done && q == 0) {
                withdrawn_done = 1;
                int64_t m2 = minutes + daycap;
                invoice_line(w, ts, 1, ++no, p, pf, pl, m2, gen_cost(p, m2), 0);
                int64_t tw = gen_later(w, ts, 2, 6);
                invoice_line(w, tw, 2, no, p, pf, pl, m2, gen_cost(p, m2), 1);
                int64_t tr = gen_later(w, tw, 0, 2);
                invoice_line(w, tr, 1, ++no, p, pf, pl, minutes, amount, 0);
                gen_note(w, "invoice ci-%05d: %s, one day too many, WITHDRAWN (revision 2) and replaced by ci-%05d",
                         no - 1, pid, no);
            } else {
                int64_t m = minutes;
                if (gen_chance(r, 0.06)) {
                    m += daycap * gen_int(r, 1, 2);
                    over++;
                } else if (gen_chance(r, 0.06)) {
                    m -= daycap / 2 * gen_int(r, 1, 3);
                    if (m < 0)
                        m = 0;
                    under++;
                } else
                    matched++;
                invoice_line(w, ts, 1, ++no, p, pf, pl, m, gen_cost(p, m), 0);
                if (!overlap_done && q == 0) {
                    /* a second invoice of the same person over the second half of the period (and beyond) */
                    overlap_done = 1;
                    int w1 = 4 * q + 5 < 4 * w->ninv ? 4 * q + 5 : 4 * q + 3;
                    int64_t om = appr_weeks(p, 4 * q + 2, w1);
                    int64_t to = gen_clamp(w, gen_work_time(w, w->S + 7 * w1 + 6 + gen_int(r, 1, 4), 9, 17));
                    if (to <= ts)
                        to = ts + HOUR_MS;
                    invoice_line(w, to, 1, ++no, p, pf + 14, w->S + 7 * w1 + 6, om, gen_cost(p, om), 0);
                    gen_note(w, "invoice ci-%05d: %s, overlaps ci-%05d (same person, dates in both)", no, pid, no - 1);
                }
            }
        }
    }
    gen_note(w, "contractor invoices: %d, of which %ld over-invoiced, %ld under-invoiced at random, the rest "
                "minutes = APPROVED minutes and amount = their cost at day_cost_minor (rounded half away from zero)",
             no, over, under);
    (void)matched;
}

/* ------------------------------------------------------------ expenses */
typedef struct xtype {
    const char *desc;
    const char *suppliers[4];
    int lo, hi;
    double recharge;
} xtype;

static const xtype xtypes[] = {
    {"Rail: London to %s, return (\"Anytime\" fare)", {"Avanti West Coast", "LNER", "GWR", "CrossCountry"}, 4000, 25000, 0.75},
    {"Hotel: %d nights, %s", {"Premier Inn", "Travelodge", "Hilton", "Holiday Inn"}, 8000, 45000, 0.75},
    {"Software licence: %s, annual seat", {"JetBrains", "Atlassian", "Figma", "GitHub"}, 5000, 120000, 0.4},
    {"Workshop catering, %s", {"Pret A Manger", "Leon", "Itsu", "Greggs"}, 3000, 15000, 0.3},
    {"Taxi to client site, %s", {"Addison Lee", "Uber", "Gett", "Veezu"}, 1500, 6000, 0.6},
};
static const char *const cities[] = {"Manchester", "Leeds", "Birmingham", "Edinburgh", "Bristol", "Newcastle"};

void gen_expenses(gen_world *w)
{
    gen_rng *r = &w->rng;
    gen_sink *s = &w->sink[T_EXPENSE];
    int no = 0, eur_done = 0;
    long approved = 0, rejected = 0, submitted = 0, recharge = 0;
    for (int pass = 0; pass < 2; pass++) /* pass 0: the euro engagements first get the one EUR expense */
        for (int i = 0; i < w->ne; i++) {
            const gen_eng *e = &w->e[i];
            if ((pass == 0) != !strcmp(e->currency, "EUR"))
                continue;
            int32_t lo = max32(w->S, e->starts), hi = min32(w->E, e->ends);
            if (hi - lo < 2)
                continue;
            int n = gen_int(r, 1, 2 + w->weeks / 6);
            for (int k = 0; k < n; k++) {
                int32_t d = lo + gen_int(r, 0, hi - lo);
                while (ol_weekday(d) >= 5)
                    d--;
                if (d < lo)
                    continue;
                int t = gen_int(r, 0, NELEM(xtypes) - 1);
                const xtype *x = &xtypes[t];
                const char *sup = x->suppliers[gen_int(r, 0, 3)];
                const char *cur = "GBP";
                char desc[160];
                int64_t amount = gen_int(r, x->lo, x->hi);
                if (!eur_done && (pass == 0 || (i == w->ne - 1 && k == n - 1))) {
                    eur_done = 1;
                    cur = "EUR";
                    sup = "Motel One Amsterdam";
                    t = 1;
                    x = &xtypes[1];
                    amount = gen_int(r, 15000, 40000);
                    snprintf(desc, sizeof desc, "Hotel: 2 nights, Amsterdam (client workshop)");
                } else if (t == 0)
                    snprintf(desc, sizeof desc, x->desc, cities[gen_int(r, 0, NELEM(cities) - 1)]);
                else if (t == 1)
                    snprintf(desc, sizeof desc, x->desc, gen_int(r, 1, 4), cities[gen_int(r, 0, NELEM(cities) - 1)]);
                else
                    snprintf(desc, sizeof desc, x->desc, t == 2 ? sup : cities[gen_int(r, 0, NELEM(cities) - 1)]);
                int rech = e->billing != BILL_NB && gen_chance(r, x->recharge);
                char id[16];
                snprintf(id, sizeof id, "x-%05d", ++no);
                int64_t ts1 = gen_clamp(w, gen_work_time(w, d + gen_int(r, 1, 6), 9, 18));
                double y = gen_unit(r);
                int st2 = y < 0.80 ? 1 : y < 0.90 ? 2 : 0; /* APPROVED, REJECTED, stays SUBMITTED */
                int64_t ts2 = gen_work_time(w, gen_day_of(ts1) + gen_int(r, 2, 10), 9, 17);
                if (ts2 > w->t_cap || ts2 <= ts1)
                    st2 = 0;
                static const char *const sts[] = {"SUBMITTED", "APPROVED", "REJECTED"};
                for (int rev = 1; rev <= (st2 ? 2 : 1); rev++) {
                    gs_begin(s, rev == 1 ? ts1 : ts2, rev);
                    gs_str(s, "expense_id", id);
                    gs_str(s, "engagement_id", e->id);
                    gs_str(s, "supplier", sup);
                    gs_str(s, "description", desc);
                    gs_date(s, "incurred_on", d);
                    gs_int(s, "amount_minor", amount);
                    gs_str(s, "currency", cur);
                    gs_bool(s, "rechargeable", rech);
                    gs_str(s, "status", sts[rev == 1 ? 0 : st2]);
                    gs_commit(s);
                }
                approved += st2 == 1;
                rejected += st2 == 2;
                submitted += st2 == 0;
                recharge += rech && st2 == 1;
            }
        }
    gen_note(w, "expenses: %d (%ld APPROVED of which %ld rechargeable, %ld REJECTED, %ld still SUBMITTED); one in EUR",
             no, approved, recharge, rejected, submitted);
}

/* ------------------------------------------------------------ finance periods */
void gen_periods(gen_world *w)
{
    gen_sink *s = &w->sink[T_PERIOD];
    int reopen = w->weeks >= 5 ? (w->weeks - 3) / 2 : -1;
    for (int k = 0; k < w->weeks; k++) {
        char wk[9];
        int32_t mon = w->S + 7 * k;
        ol_week_format(ol_week_of(mon), wk);
        int64_t t1 = gen_at(mon, 6, 0, 0) + gen_int(&w->rng, 0, 1800) * 1000LL;
        gs_begin(s, t1, 1);
        gs_str(s, "iso_week", wk);
        gs_str(s, "status", "OPEN");
        gs_commit(s);
        if (k > w->weeks - 3)
            continue; /* the last two weeks stay OPEN */
        int64_t t2 = gen_work_time(w, mon + 16, 10, 16); /* Wednesday of the week after next */
        gs_begin(s, t2, 2);
        gs_str(s, "iso_week", wk);
        gs_str(s, "status", "CLOSED");
        gs_commit(s);
        if (k == reopen) {
            int64_t t3 = gen_later(w, t2, 7, 14), t4 = gen_later(w, t3, 1, 3);
            gs_begin(s, t3, 3);
            gs_str(s, "iso_week", wk);
            gs_str(s, "status", "OPEN");
            gs_commit(s);
            gs_begin(s, t4, 4);
            gs_str(s, "iso_week", wk);
            gs_str(s, "status", "CLOSED");
            gs_commit(s);
            gen_note(w, "finance.period %s: CLOSED, reopened (revision 3) and CLOSED again (revision 4)", wk);
        }
    }
    gen_note(w, "finance.period: every week of the range, OPEN then CLOSED on the Wednesday of the week after next; "
                "the last two weeks stay OPEN");
}

/* ------------------------------------------------------------ risks */
static const char *const summaries[6][3] = {
    {"Defect escape rate rising over the last two sprints", "Test automation coverage below the agreed 70%",
     "Accessibility audit failures on key journeys"},
    {"Go-live at risk: third-party API delivered late", "Data migration two weeks behind plan",
     "Client change freeze overlaps the release window"},
    {"Burn ahead of plan: change requests not yet signed", "Fixed-price scope creep on reporting",
     "Unbudgeted cloud costs in the test environments"},
    {"Key engineer rolling off with no replacement identified", "Delivery manager shared across three engagements",
     "Specialist data engineer role unfilled"},
    {"Client product owner unavailable for sprint reviews", "Stakeholders disagree on the priorities",
     "Invoice disputes delaying sign-off"},
    {"Penetration test: high-severity findings open", "Production credentials shared over email",
     "Supplier security questionnaire overdue"}};
static const char *const categories[] = {"QUALITY", "SCHEDULE", "BUDGET", "STAFFING", "CLIENT", "SECURITY"};
static const char *const severities[] = {"LOW", "MEDIUM", "HIGH", "CRITICAL"};
static const char *const rstatus[] = {"OPEN", "MITIGATED", "CLOSED"};

static void risk_line(gen_world *w, int64_t ts, long rev, int no, const gen_eng *e, int cat, int sev, int k,
                      const char *owner, int st)
{
    gen_sink *s = &w->sink[T_RISK];
    char id[16];
    snprintf(id, sizeof id, "r-%04d", no);
    gs_begin(s, ts, rev);
    gs_str(s, "risk_id", id);
    gs_str(s, "engagement_id", e->id);
    gs_str(s, "category", categories[cat]);
    gs_str(s, "severity", severities[sev]);
    gs_str(s, "summary", summaries[cat][k]);
    gs_str(s, "owner", owner);
    gs_str(s, "status", rstatus[st]);
    gs_commit(s);
}

void gen_risks(gen_world *w)
{
    gen_rng *r = &w->rng;
    int no = 0;
    long open_crit = 0, open_high = 0;
    static const int sev_w[] = {30, 35, 25, 10};
    static const int st_w[] = {50, 25, 25};
    int lastc = 0;
    for (int i = 0; i < w->ne; i++)
        if (w->e[i].billing != BILL_NB)
            lastc = i;
    for (int i = 0; i < w->ne; i++) {
        const gen_eng *e = &w->e[i];
        if (e->billing == BILL_NB)
            continue;
        int n = gen_int(r, 0, 4);
        int32_t lo = max32(w->S - 28, e->starts), hi = min32(w->E, e->ends);
        if (lo > hi)
            lo = hi = w->E - 3;
        const char *owner = e->dm >= 0 ? w->p[e->dm].name : "Head of Delivery";
        for (int k = 0; k < n || (i == lastc && (!open_crit || !open_high) && k < n + 2); k++) {
            int cat = gen_int(r, 0, 5), sev = gen_pick(r, sev_w, 4), st = gen_pick(r, st_w, 3);
            if (e->kind == EK_CLOSED)
                st = 2;
            if (k >= n) { /* make sure the register has an open CRITICAL and an open HIGH risk */
                sev = !open_crit ? 3 : 2;
                st = 0;
            }
            int64_t t1 = gen_clamp(w, gen_work_time(w, lo + gen_int(r, 0, hi - lo), 9, 17));
            int sev1 = st == 0 && sev > 1 && gen_chance(r, 0.3) ? sev - 1 : sev; /* escalated later */
            int sum = gen_int(r, 0, 2);
            ++no;
            risk_line(w, t1, 1, no, e, cat, sev1, sum, owner, 0);
            long rev = 2;
            int64_t t = t1;
            if (sev1 != sev) {
                t = gen_later(w, t, 3, 21);
                risk_line(w, t, rev++, no, e, cat, sev, sum, owner, 0);
            }
            if (st != 0) {
                t = gen_later(w, t, 3, 30);
                risk_line(w, t, rev++, no, e, cat, sev, sum, owner, st);
            }
            open_crit += st == 0 && sev == 3;
            open_high += st == 0 && sev == 2;
        }
    }
    gen_note(w, "risks: %d, %ld OPEN CRITICAL and %ld OPEN HIGH at the end (some escalated by a later revision)", no,
             open_crit, open_high);
}
