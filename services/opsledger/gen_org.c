/* gen_org — people (hr.person) and engagements (delivery.engagement) of the
 * generated consultancy. */
#include "gen_common.h"

#include <stdlib.h>
#include <string.h>

static const char *const first_names[] = {
    "Olivia", "Amelia", "Isla", "Ava", "Mia", "Ivy", "Lily", "Sophia", "Grace", "Freya", "Emily", "Ella",
    "Chloé", "Zoë", "Siân", "Aoife", "Priya", "Aisha", "Fatima", "Mei", "Yuki", "Ana", "Marta", "Ingrid",
    "Noah", "Oliver", "George", "Arthur", "Leo", "Harry", "Oscar", "Archie", "Henry", "Jack", "Theo",
    "Charlie", "Muhammad", "Arjun", "Ravi", "Kwame", "Tomasz", "José", "Mateo", "Lars", "Dmitri", "Hiro",
    "Rhys", "Callum", "Ewan", "Niamh", "Ciarán", "Sean", "Rosa", "Hannah", "Ruth", "Samuel", "Daniel",
    "Kofi", "Adebayo", "Wei", "Li", "Sanjay", "Deepa", "Farah", "Omar", "Tariq", "Elena", "Luca"};
static const char *const last_names[] = {
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Robinson",
    "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson",
    "Clarke", "Khan", "Ahmed", "Singh", "Kaur", "Begum", "O'Connor", "O'Brien", "MacLeod", "McKenzie",
    "Nowak", "Kowalski", "García", "Fernández", "Rossi", "Müller", "Novák", "Okafor", "Mensah", "Nguyen",
    "Chen", "Wang", "Tanaka", "Kim", "Hughes", "Edwards", "Morgan", "Lewis", "Price", "Lloyd", "Bennett",
    "Carter", "Mitchell", "Turner", "Phillips", "Campbell", "Parker", "Collins", "Stewart", "Murphy",
    "Cooper", "Ward", "Morris", "Rahman", "Hussain", "Ali", "Shah", "Das", "Bose", "Iyer"};

static const char *const contractor_suppliers[] = {"Harbour Talent Ltd", "Blueprint Contracting Ltd",
                                                   "Northstar IT Resourcing", "Apex Interim Partners",
                                                   "Quarry Lane Consulting Ltd", "Tidewater Tech Ltd"};
static const char *const partner_suppliers[] = {"Kestrel Systems Integration Ltd", "Brightpath Partners LLP",
                                                "Lumen Digital GmbH"};

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* role weights per team, in role order CONSULTANT, SENIOR, PRINCIPAL, DM, ENGINEER, ANALYST */
static const int role_w[TM_N][R_N] = {
    {20, 15, 10, 0, 30, 25}, {15, 20, 10, 0, 55, 0}, {20, 20, 10, 0, 50, 0}, {20, 17, 8, 0, 55, 0},
    {35, 35, 15, 0, 0, 15},  {45, 35, 20, 0, 0, 0},  {0, 0, 15, 85, 0, 0},   {0, 0, 0, 0, 60, 40},
};
static const int team_w[TM_N] = {20, 19, 18, 10, 8, 10, 9, 0};

static int64_t round500(double v)
{
    return (int64_t)(v / 500.0 + 0.5) * 500;
}


static int promoted_role(int r)
{
    switch (r) {
    case R_CONSULTANT: return R_SENIOR;
    case R_SENIOR: return R_PRINCIPAL;
    case R_ANALYST: return R_CONSULTANT;
    case R_ENGINEER: return R_SENIOR;
    default: return -1;
    }
}

static void shuffle(gen_rng *r, int *a, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = gen_int(r, 0, i), t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

static int64_t day_cost(gen_rng *r, int emp, int role)
{
    static const int lo[R_N] = {30000, 40000, 55000, 42000, 32000, 25000};
    static const int hi[R_N] = {40000, 52000, 70000, 56000, 46000, 32000};
    if (emp == EMP_CONTRACTOR)
        return round500(role == R_PRINCIPAL ? gen_int(r, 75000, 90000)
                        : role == R_ANALYST ? gen_int(r, 50000, 60000)
                                            : gen_int(r, 55000, 80000));
    if (emp == EMP_PARTNER)
        return round500(gen_int(r, 60000, 90000));
    return round500(gen_int(r, lo[role], hi[role]));
}

void gen_people(gen_world *w)
{
    int n = w->people;
    int nP = n * 5 / 100 > 1 ? n * 5 / 100 : 1;
    int nC = n * 12 / 100 > 2 ? n * 12 / 100 : 2;
    int nO = n * 3 / 100 > 2 ? n * 3 / 100 : 2;
    int *kind = gen_xalloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++)
        kind[i] = i < nP ? 1 : i < nP + nC ? 2 : i < nP + nC + nO ? 3 : 0;
    shuffle(&w->rng, kind, n);

    w->np = n;
    w->p = gen_xalloc(sizeof(gen_person) * (size_t)n);
    int eur_partner = 0;
    for (int i = 0; i < n; i++) {
        gen_person *p = &w->p[i];
        gen_rng *r = &w->rng;
        snprintf(p->id, sizeof p->id, "p-%04d", i + 1);
        snprintf(p->name, sizeof p->name, "%s %s", first_names[gen_int(r, 0, NELEM(first_names) - 1)],
                 last_names[gen_int(r, 0, NELEM(last_names) - 1)]);
        p->emp = kind[i] == 1 ? EMP_PARTNER : kind[i] == 2 ? EMP_CONTRACTOR : EMP_EMPLOYEE;
        p->billable = kind[i] != 3;
        p->team = kind[i] == 3 ? TM_OPS : gen_pick(r, team_w, TM_N);
        if (p->emp != EMP_EMPLOYEE && p->team == TM_DM)
            p->team = TM_CLOUD;
        p->role = gen_pick(r, role_w[p->team], R_N);
        p->team0 = p->team;
        p->role0 = p->role;
        p->currency = "GBP";
        p->weekly = 2250;
        p->wdays = 31;
        if (p->emp == EMP_EMPLOYEE && p->billable) {
            double x = gen_unit(r);
            if (x < 0.06) {
                p->weekly = 1800; /* four days, Monday to Thursday */
                p->wdays = 15;
            } else if (x < 0.10) {
                p->weekly = 1350; /* three days, Monday to Wednesday */
                p->wdays = 7;
            } else if (x < 0.12) {
                p->weekly = 2250; /* compressed hours: full time over four days */
                p->wdays = 15;
            }
        }
        p->nwd = __builtin_popcount((unsigned)p->wdays);
        p->day_cost = day_cost(r, p->emp, p->role);
        if (p->emp == EMP_CONTRACTOR) {
            p->supplier = contractor_suppliers[gen_int(r, 0, NELEM(contractor_suppliers) - 1)];
            p->joined = w->S - gen_int(r, 20, 500);
        } else if (p->emp == EMP_PARTNER) {
            p->supplier = partner_suppliers[gen_int(r, 0, NELEM(partner_suppliers) - 2)];
            if (!eur_partner) { /* one partner consultant billed by a euro-area firm */
                eur_partner = 1;
                p->supplier = partner_suppliers[NELEM(partner_suppliers) - 1];
                p->currency = "EUR";
            }
            p->joined = w->S - gen_int(r, 30, 400);
        } else
            p->joined = w->S - gen_int(r, 60, 3650);
        p->left = p->left0 = GEN_NONE;
        p->ts1 = gen_work_time(w, p->joined - gen_int(r, 14, 60), 9, 16);
        p->no_ts_period = -1;
        p->rota = -1;
    }
    free(kind);

    /* joiners, future joiners, leavers, promotions, a team move: employees only */
    int *order = gen_xalloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++)
        order[i] = i;
    shuffle(&w->rng, order, n);
    int nJ = n * 4 / 100 > 2 ? n * 4 / 100 : 2, nFJ = n / 100 > 1 ? n / 100 : 1;
    int nL = n * 3 / 100 > 2 ? n * 3 / 100 : 2, nPr = n * 3 / 100 > 1 ? n * 3 / 100 : 1, moved = 0;
    int wk = w->weeks;
    for (int k = 0; k < n; k++) {
        gen_person *p = &w->p[order[k]];
        if (p->emp != EMP_EMPLOYEE || !p->billable)
            continue;
        if (nJ > 0 && wk >= 2) {
            nJ--;
            p->kind = PK_JOINER;
            p->joined = w->S + 7 * gen_int(&w->rng, 1, wk - 1) + (nJ == 0 ? 2 : 0);
            p->ts1 = gen_work_time(w, p->joined - gen_int(&w->rng, 14, 45), 9, 16);
            if (gen_note_more(w, NC_JOINER))
                gen_note(w, "joiner: %s joined_on during the range (first revision before it)", p->id);
        } else if (nFJ > 0) {
            nFJ--;
            p->kind = PK_FUTURE_JOINER;
            p->joined = w->E + 1 + 7 * gen_int(&w->rng, 0, 5);
            p->ts1 = gen_clamp(w, gen_work_time(w, p->joined - gen_int(&w->rng, 14, 40), 9, 16));
            if (gen_note_more(w, NC_FJOINER))
                gen_note(w, "future joiner: %s joined_on after the end week (forecast only)", p->id);
        } else if (nL > 0 && p->joined < w->S - 90) {
            nL--;
            p->kind = PK_LEAVER;
            int k2 = gen_int(&w->rng, wk >= 3 ? 1 : 0, wk - 1);
            p->left = w->S + 7 * k2 + (nL == 0 ? 2 : 4); /* the last one leaves on a Wednesday */
            p->ts_left = gen_clamp(w, gen_work_time(w, p->left - gen_int(&w->rng, 21, 40), 9, 17));
            if (p->ts_left <= p->ts1)
                p->ts_left = p->ts1 + DAY_MS;
            char ld[11] = {0};
            gen_fmt_date(ld, p->left);
            if (gen_note_more(w, NC_LEAVER) || ol_weekday(p->left) == 2)
                gen_note(w, "leaver: %s left_on %s (a %s), published as revision 2", p->id, ld,
                         ol_weekday(p->left) == 2 ? "Wednesday" : "Friday");
        } else if (nPr > 0 && p->joined < w->S - 180 && promoted_role(p->role) >= 0 && wk >= 3) {
            int32_t d = w->S + 7 * gen_int(&w->rng, 1, wk - 1);
            int y, m, dd;
            ol_civil_from_days(d, &y, &m, &dd);
            d = ol_days_from_civil(y, m, 1);
            if (d <= w->S)
                continue;
            nPr--;
            p->kind = PK_PROMOTED;
            p->role = promoted_role(p->role0);
            p->ts_promo = gen_work_time(w, d, 9, 11);
            if (gen_note_more(w, NC_PROMO))
                gen_note(w, "promotion: %s %s -> %s (hr.person revision, role used when no allocation gives one)",
                         p->id, gen_role_names[p->role0], gen_role_names[p->role]);
        } else if (!moved && p->team != TM_DM && p->joined < w->S - 180 && wk >= 2) {
            moved = 1;
            p->team = p->team == TM_DATA ? TM_CLOUD : TM_DATA;
            p->ts_move = gen_work_time(w, w->S + 7 * gen_int(&w->rng, 1, wk - 1), 9, 11);
            gen_note(w, "team move: %s %s -> %s mid-range", p->id, gen_team_names[p->team0], gen_team_names[p->team]);
        }
    }
    /* contractors: contracts with an end date, most extended before they end */
    for (int k = 0; k < n; k++) {
        gen_person *p = &w->p[order[k]];
        if (p->emp != EMP_CONTRACTOR || !gen_chance(&w->rng, 0.6))
            continue;
        p->left0 = w->S + 7 * gen_int(&w->rng, 1, wk + 8) + 4;
        int64_t ext = gen_work_time(w, p->left0 - gen_int(&w->rng, 10, 30), 9, 17);
        if (ext <= p->ts1)
            ext = p->ts1 + DAY_MS;
        if (ext <= w->t_cap && gen_chance(&w->rng, 0.7)) {
            p->left = p->left0 + 7 * gen_int(&w->rng, 12, 26);
            p->ts_left = ext;
        } else {
            p->left = p->left0;
            if (p->left <= w->E) {
                p->kind = PK_LEAVER;
                if (gen_note_more(w, NC_CONTRACT))
                    gen_note(w, "contract ends: %s (contractor) left_on in the range, known from revision 1", p->id);
            }
        }
    }
    free(order);
}

static void gen_former_people(gen_world *w);

void gen_emit_people(gen_world *w)
{
    gen_sink *s = &w->sink[T_PERSON];
    for (int i = 0; i < w->np; i++) {
        gen_person *p = &w->p[i];
        /* revision 1, then each change in time order */
        int64_t ts[4] = {p->ts1, p->ts_promo, p->ts_move, (p->left != p->left0) ? p->ts_left : 0};
        int order[3] = {1, 2, 3};
        for (int a = 0; a < 3; a++)
            for (int b = a + 1; b < 3; b++)
                if (ts[order[b]] < ts[order[a]]) {
                    int t = order[a];
                    order[a] = order[b];
                    order[b] = t;
                }
        int role = p->role0, team = p->team0;
        int32_t left = p->left0;
        int64_t prev = 0;
        long rev = 0;
        for (int k = -1; k < 3; k++) {
            int ev = k < 0 ? 0 : order[k];
            int64_t t = ts[ev];
            if (ev && !t)
                continue;
            if (ev == 1)
                role = p->role;
            else if (ev == 2)
                team = p->team;
            else if (ev == 3)
                left = p->left;
            if (t <= prev)
                t = prev + HOUR_MS;
            prev = t;
            gs_begin(s, t, ++rev);
            gs_str(s, "person_id", p->id);
            gs_str(s, "name", p->name);
            gs_str(s, "team", gen_team_names[team]);
            gs_str(s, "role", gen_role_names[role]);
            gs_bool(s, "billable", p->billable);
            gs_str(s, "employment", p->emp == EMP_EMPLOYEE ? "EMPLOYEE" : p->emp == EMP_CONTRACTOR ? "CONTRACTOR" : "PARTNER");
            gs_str(s, "supplier", p->supplier);
            gs_int(s, "weekly_capacity_minutes", p->weekly);
            gs_int(s, "working_days", p->wdays);
            gs_int(s, "day_cost_minor", p->day_cost);
            gs_str(s, "currency", p->currency);
            gs_date(s, "joined_on", p->joined);
            gs_date(s, "left_on", left);
            gs_commit(s);
        }
    }
    gen_former_people(w);
}

/* Former employees: people who left in the 40 weeks before the range, at
 * about 15 % a year of the employees (with the range's own leavers, the
 * trailing 52 weeks' attrition of the end week comes to about 15 %), two
 * delivery managers among them. Their own PRNG stream and ids (f-NNNN),
 * emitted after everyone else: the rest of the world is unchanged. */
static void gen_former_people(gen_world *w)
{
    gen_sink *s = &w->sink[T_PERSON];
    gen_rng r;
    int emp = 0;
    for (int i = 0; i < w->np; i++)
        emp += w->p[i].emp == EMP_EMPLOYEE;
    int n = emp * 15 * 40 / (100 * 52);
    gen_seed(&r, w->seed, "former-employees");
    for (int i = 0; i < n; i++) {
        char id[16], name[64];
        int team = i < 2 ? TM_DM : gen_pick(&r, team_w, TM_N);
        int role = i < 2 ? R_DM : gen_pick(&r, role_w[team], R_N);
        int32_t left = w->S - gen_int(&r, 1, 280);
        int32_t joined = left - gen_int(&r, 120, 2500);
        int64_t ts = gen_at(left - gen_int(&r, 20, 45), gen_int(&r, 9, 16), gen_int(&r, 0, 59), 0);
        snprintf(id, sizeof id, "f-%04d", i + 1);
        snprintf(name, sizeof name, "%s %s", first_names[gen_int(&r, 0, NELEM(first_names) - 1)],
                 last_names[gen_int(&r, 0, NELEM(last_names) - 1)]);
        gs_begin(s, ts, 1);
        gs_str(s, "person_id", id);
        gs_str(s, "name", name);
        gs_str(s, "team", gen_team_names[team]);
        gs_str(s, "role", gen_role_names[role]);
        gs_bool(s, "billable", 1);
        gs_str(s, "employment", "EMPLOYEE");
        gs_str(s, "supplier", NULL);
        gs_int(s, "weekly_capacity_minutes", 2250);
        gs_int(s, "working_days", 31);
        gs_int(s, "day_cost_minor", day_cost(&r, EMP_EMPLOYEE, role));
        gs_str(s, "currency", "GBP");
        gs_date(s, "joined_on", joined);
        gs_date(s, "left_on", left);
        gs_commit(s);
    }
    if (n)
        gen_note(w, "former employees: %d people (f-0001..) left in the 40 weeks before the range, 2 delivery "
                    "managers among them (trailing-year attrition about 15 %%)", n);
}

/* ------------------------------------------------------------ engagements */
static const char *const clients[] = {
    "Acme Retail plc", "Bluewater Bank", "Harbour Insurance Group", "City of Lanchester Council",
    "Midshire NHS Foundation Trust", "Greenfield Energy", "Orbital Telecom", "Castlegate Logistics",
    "Pennine Water", "Kingsway Building Society", "Thames Media Group", "Atlas Pharma", "Meridian Airlines",
    "Fenwick & Rowe LLP", "Brightside Education Trust", "Department for Digital Services", "Northern Rail Holdings",
    "Saxon Foods", "Wessex Housing Association", "Crown Street Gallery", "Highland Distillers Ltd",
    "Marlowe Publishing", "Vantage Motors UK", "St Aidan's University"};
static const char *const eur_clients[] = {"Rijnland Verzekeringen N.V.", "Bayerische Logistik AG",
                                          "Banque Lumière S.A."};
static const char *const projects[] = {
    "Data platform modernisation", "Mobile app rebuild", "Cloud migration", "Payments API",
    "Customer portal", "Security assessment", "Design system", "Claims automation", "Analytics dashboards",
    "Legacy CRM replacement", "Identity and access", "Booking service", "Machine learning pilot",
    "Accessibility remediation", "Service design discovery", "Platform reliability"};
static const char *const lead_partners[] = {"Kestrel Systems Integration Ltd", "Brightpath Partners LLP"};

void gen_engagements(gen_world *w)
{
    int m = w->engagements;
    gen_rng *r = &w->rng;
    w->ne = m;
    w->e = gen_xalloc(sizeof(gen_eng) * (size_t)m);
    int nNB = m < 10 ? 1 : 2, nF = m < 12 ? 1 : 2, nEnd = m * 15 / 100 > 1 ? m * 15 / 100 : 1;
    int *kind = gen_xalloc(sizeof(int) * (size_t)m);
    for (int i = 0; i < m; i++)
        kind[i] = i < nNB ? EK_INTERNAL : i < nNB + nF ? EK_FUTURE : i < nNB + nF + 1 ? EK_CLOSED
                  : i < nNB + nF + 1 + nEnd ? EK_ENDING : EK_RUNNING;
    shuffle(r, kind + nNB, m - nNB); /* internal engagements come first: e-01, e-02 */

    int32_t S = w->S, E = w->E, wk = w->weeks;
    /* the rate rise: on the first of a month inside the range, the one nearest its middle
     * (a Monday in the middle when no month starts inside the range) */
    int y, mo, d;
    int32_t mid = S + wk * 7 / 2, rise = gen_monday(mid);
    for (int32_t x = S + 1; x <= E; x++) {
        ol_civil_from_days(x, &y, &mo, &d);
        if (d == 1 && (rise == gen_monday(mid) || abs(x - mid) < abs(rise - mid)))
            rise = x;
    }
    int nint = 0;
    for (int i = 0; i < m; i++) {
        gen_eng *e = &w->e[i];
        snprintf(e->id, sizeof e->id, "e-%02d", i + 1);
        e->kind = kind[i];
        e->mpd = 450;
        e->currency = "GBP";
        e->missing_role = -1;
        e->eff2 = GEN_NONE;
        e->dm = -1;
        e->lead = 0;
        if (e->kind == EK_INTERNAL) {
            e->billing = BILL_NB;
            e->client = "Northgate Consulting";
            e->bill_to = "Northgate Consulting Ltd";
            snprintf(e->name, sizeof e->name, "%s", nint++ ? "Internal: bid and proposal support"
                                                           : "Internal: accelerator programme");
            ol_civil_from_days(S, &y, &mo, &d);
            e->starts = ol_days_from_civil(y, 1, 1);
            ol_civil_from_days(w->X, &y, &mo, &d);
            e->ends = ol_days_from_civil(y, 12, 31);
        } else {
            e->billing = BILL_TM;
            e->client = clients[gen_int(r, 0, NELEM(clients) - 1)];
            snprintf(e->name, sizeof e->name, "%s", projects[gen_int(r, 0, NELEM(projects) - 1)]);
            switch (e->kind) {
            case EK_RUNNING:
                if (gen_chance(r, 0.25))
                    e->starts = S + 7 * gen_int(r, 0, wk / 2);
                else
                    e->starts = S - 7 * gen_int(r, 2, 40);
                e->ends = E - 2 + 7 * gen_int(r, 4, 40);
                break;
            case EK_ENDING:
                e->starts = S - 7 * gen_int(r, 8, 30);
                e->ends = S + 7 * gen_int(r, wk >= 3 ? 1 : 0, wk >= 3 ? wk - 2 : wk - 1) + 4;
                break;
            case EK_CLOSED:
                e->starts = S - 7 * gen_int(r, 12, 30);
                e->ends = S + 7 * (wk / 3 > 1 ? wk / 3 - 1 : 0) + 4;
                break;
            default: /* EK_FUTURE: the first starts the Monday after the end week */
                e->starts = E + 1 + (i == 0 || nF == 1 ? 0 : 7 * gen_int(r, 0, 2));
                e->ends = e->starts + 7 * gen_int(r, 12, 30) + 4;
                break;
            }
            e->lead = gen_chance(r, 0.15);
            e->bill_to = e->lead ? lead_partners[gen_int(r, 0, NELEM(lead_partners) - 1)] : e->client;
        }
        e->ts1 = gen_clamp(w, gen_work_time(w, e->starts - gen_int(r, 14, 60), 9, 17));
    }
    free(kind);
    /* the first future engagement starts right after the end week */
    for (int i = 0; i < m; i++)
        if (w->e[i].kind == EK_FUTURE) {
            w->e[i].starts = E + 1;
            w->e[i].ts1 = gen_clamp(w, gen_work_time(w, E + 1 - gen_int(r, 14, 30), 9, 17));
            break;
        }
    /* fixed price: about a fifth of the client work */
    int nfp = 0;
    for (int i = 0; i < m; i++)
        if (w->e[i].billing != BILL_NB && w->e[i].kind != EK_CLOSED && gen_chance(r, 0.2)) {
            w->e[i].billing = BILL_FP;
            nfp++;
        }
    if (!nfp)
        for (int i = m - 1; i >= 0; i--)
            if (w->e[i].billing == BILL_TM && w->e[i].kind == EK_ENDING) {
                w->e[i].billing = BILL_FP;
                break;
            }
    /* specials among running T&M engagements: 420-minute days, a retroactive rate rise, an overrun */
    int used[3] = {-1, -1, -1};
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < m; i++) {
            gen_eng *e = &w->e[i];
            if (e->kind != EK_RUNNING || e->billing != BILL_TM || i == used[0] || i == used[1])
                continue;
            if (k == 1 && !(e->starts < rise && rise <= E))
                continue;
            used[k] = i;
            break;
        }
    if (used[0] >= 0) {
        w->e[used[0]].mpd = 420;
        gen_note(w, "engagement %s: minutes_per_day 420 (7-hour days for the rate)", w->e[used[0]].id);
    }
    if (used[2] >= 0) {
        gen_eng *e = &w->e[used[2]];
        e->starts = S;
        e->ts1 = gen_work_time(w, S - gen_int(r, 14, 30), 9, 17);
    }
    /* euro clients */
    int neur = m < 15 ? 1 : 2;
    for (int i = m - 1; i >= 0 && neur > 0; i--) {
        gen_eng *e = &w->e[i];
        if (e->kind == EK_FUTURE || e->billing == BILL_NB || e->kind == EK_CLOSED || i == used[0] || i == used[1] ||
            i == used[2])
            continue;
        neur--;
        e->currency = "EUR";
        e->client = eur_clients[neur % NELEM(eur_clients)];
        e->bill_to = e->client;
        e->lead = 0;
        gen_note(w, "engagement %s: EUR (%s)", e->id, e->client);
    }
    /* rate cards */
    static const int rlo[R_N] = {75000, 95000, 120000, 100000, 80000, 60000};
    static const int rhi[R_N] = {85000, 110000, 140000, 115000, 95000, 70000};
    for (int i = 0; i < m; i++) {
        gen_eng *e = &w->e[i];
        if (e->billing == BILL_NB)
            continue;
        double disc = 0.9 + 0.15 * gen_unit(r), fx = strcmp(e->currency, "EUR") ? 1.0 : 1.17;
        double up = 1.03 + 0.03 * gen_unit(r);
        for (int k = 0; k < R_N; k++) {
            e->rate1[k] = round500(gen_int(r, rlo[k], rhi[k]) * disc * fx);
            e->rate2[k] = round500((double)e->rate1[k] * up);
        }
        if (e->starts < rise && rise <= e->ends && rise <= E && (i == used[1] || gen_chance(r, 0.75))) {
            e->eff2 = rise;
            if (i == used[1]) {
                e->retro = 1;
                e->ts_rise = gen_later(w, gen_at(rise, 9, 0, 0), 15, 25);
                char rd[11] = {0};
                gen_fmt_date(rd, rise);
                gen_note(w, "engagement %s: rate rise effective %s published afterwards "
                            "(revision 2 reprices closed weeks: post_close)", e->id, rd);
            } else
                e->ts_rise = gen_work_time(w, rise - gen_int(r, 10, 25), 9, 17);
            if (e->ts_rise <= e->ts1)
                e->ts_rise = e->ts1 + DAY_MS;
        }
    }
    for (int i = 0; i < m; i++) {
        gen_eng *e = &w->e[i];
        if (e->kind == EK_CLOSED) {
            e->ts_close = gen_later(w, gen_at(e->ends, 17, 0, 0), 5, 12);
            char ed[11] = {0};
            gen_fmt_date(ed, e->ends);
            gen_note(w, "engagement %s: ended %s, CLOSED by a later revision", e->id, ed);
        }
        if (e->kind == EK_FUTURE)
            gen_note(w, "engagement %s: starts after the end week (PROPOSED staff, open roles)", e->id);
    }
    if (used[2] >= 0)
        w->e[used[2]].overrun = 1;
}

static void rate_card(const gen_eng *e, int with_rise, char *buf, size_t cap)
{
    size_t k = 0;
    char d1[11], d2[11];
    gen_fmt_date(d1, e->starts);
    d1[10] = '\0';
    if (e->eff2 != GEN_NONE)
        gen_fmt_date(d2, e->eff2);
    d2[10] = '\0';
    k += (size_t)snprintf(buf + k, cap - k, "[");
    int first = 1;
    if (e->billing != BILL_NB)
        for (int r = 0; r < R_N; r++) {
            if (r == e->missing_role)
                continue;
            k += (size_t)snprintf(buf + k, cap - k, "%s{\"role\":\"%s\",\"day_rate_minor\":%lld,\"effective_from\":\"%s\"}",
                                  first ? "" : ",", gen_role_names[r], (long long)e->rate1[r], d1);
            first = 0;
            if (with_rise && e->eff2 != GEN_NONE)
                k += (size_t)snprintf(buf + k, cap - k,
                                      ",{\"role\":\"%s\",\"day_rate_minor\":%lld,\"effective_from\":\"%s\"}",
                                      gen_role_names[r], (long long)e->rate2[r], d2);
        }
    snprintf(buf + k, cap - k, "]");
}

static void emit_eng(gen_sink *s, const gen_eng *e, int64_t ts, long rev, int with_rise, int closed)
{
    static const char *const billing[] = {"TIME_AND_MATERIALS", "FIXED_PRICE", "NON_BILLABLE"};
    char rc[2048];
    rate_card(e, with_rise, rc, sizeof rc);
    gs_begin(s, ts, rev);
    gs_str(s, "engagement_id", e->id);
    gs_str(s, "client", e->client);
    gs_str(s, "name", e->name);
    gs_str(s, "billing", billing[e->billing]);
    gs_str(s, "lead", e->lead ? "PARTNER" : "SELF");
    gs_str(s, "bill_to", e->bill_to);
    gs_str(s, "currency", e->currency);
    gs_int(s, "minutes_per_day", e->mpd);
    gs_int(s, "budget_minor", e->budget);
    gs_date(s, "starts_on", e->starts);
    gs_date(s, "ends_on", e->ends);
    gs_raw(s, "rate_card", rc);
    gs_str(s, "status", closed ? "CLOSED" : "ACTIVE");
    gs_commit(s);
}

void gen_emit_engagements(gen_world *w)
{
    gen_sink *s = &w->sink[T_ENG];
    for (int i = 0; i < w->ne; i++) {
        const gen_eng *e = &w->e[i];
        long rev = 1;
        emit_eng(s, e, e->ts1, rev++, 0, 0);
        int64_t tr = e->eff2 != GEN_NONE ? e->ts_rise : 0, tc = e->ts_close;
        if (tr && (!tc || tr < tc))
            emit_eng(s, e, tr, rev++, 1, 0);
        if (tc)
            emit_eng(s, e, tc > e->ts1 ? tc : e->ts1 + DAY_MS, rev++, tr && tr < tc, 1);
        if (tr && tc && tr >= tc)
            emit_eng(s, e, tr, rev++, 1, 1);
    }
}
