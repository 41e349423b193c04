/* forecast_leave — the leave behind each forecast week (issue 17: "the
 * 12-week forecast, holidays shown"). ops.forecast.weekly publishes the
 * available minutes (capacity minus BOOKED leave) but neither the capacity
 * nor the leave, so a reader could not see how much time holidays take.
 * The web folds hr.person and hr.leave itself (names and evidence), so it
 * computes, as of the request's instant, for each forecast row (PERSON,
 * TEAM or ORG of a week): the capacity, the minutes of BOOKED leave (any
 * kind: no kind is named, so finance may read it, as utilisation's
 * leave_minutes) and how many people have some leave that week.
 *
 * The rules are the SPEC's (section 3), through common/ol_rules as the
 * forecast and utilisation services apply them: a working day's capacity
 * (remainder on the first working day, none outside [joined_on, left_on]),
 * FULL leave the day, AM the larger half, PM the smaller, overlapping leave
 * capped at the day. TEAM and ORG are sums over people with billable =
 * true (the forecast's own sets), PERSON the person whatever billable says.
 * So for every row, capacity - leave = the forecast's available_minutes
 * when the forecast service has folded the same hr.person and hr.leave
 * (tests/web/forecast_leave.py checks it and the leave against the input). */
#include "ol_rules.h"
#include "ol_time.h"
#include "web_api.h"

#include <stdlib.h>
#include <string.h>

#define MAX_WEEKS 161 /* the API's ranges are at most 160 weeks forward */

struct person {
    char *id, *team;
    int32_t weekly, joined, left;
    unsigned wd;
    int billable;
    int32_t *cap, *leave; /* per week of the range */
};

struct leave {
    size_t who;
    int32_t first, last;
    int portion;
};

struct ctx {
    struct person *p;
    size_t np, pcap;
    struct leave *l;
    size_t nl, lcap;
    int32_t day0, ndays;
    int fail;
};

static const char *s_of(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* the fields of a row, read from its stored text in one pass
 * (web_json_scalars) or, when the text cannot tell (an escape), from the
 * row parsed */
#define MAX_FIELDS 8
struct row {
    web_jfield f[MAX_FIELDS];
    json_t *parsed;
    char nums[MAX_FIELDS][24];
};

static int row_read(struct row *r, const char *json, size_t len, const char *const *names, int n)
{
    r->parsed = NULL;
    if (web_json_scalars(json, len, names, n, r->f) == 0)
        return 0;
    if (!(r->parsed = json_loadb(json, len, 0, NULL)))
        return -1;
    for (int i = 0; i < n; i++) {
        json_t *v = json_object_get(r->parsed, names[i]);
        r->f[i] = (web_jfield){"", 0, 0};
        if (json_is_string(v))
            r->f[i] = (web_jfield){json_string_value(v), json_string_length(v), 2};
        else if (json_is_boolean(v))
            r->f[i] = (web_jfield){json_is_true(v) ? "true" : "false", json_is_true(v) ? 4 : 5, 1};
        else if (json_is_integer(v)) {
            int k = snprintf(r->nums[i], sizeof r->nums[i], "%lld", (long long)json_integer_value(v));
            r->f[i] = (web_jfield){r->nums[i], (size_t)k, 1};
        }
    }
    return 0;
}

static int is(web_jfield f, const char *s)
{
    return f.kind == 2 && f.n == strlen(s) && !memcmp(f.p, s, f.n);
}

static long long num(web_jfield f)
{
    char b[24];
    if (f.kind != 1 || f.n >= sizeof b)
        return 0;
    memcpy(b, f.p, f.n);
    b[f.n] = '\0';
    return strtoll(b, NULL, 10);
}

static int32_t day_of(web_jfield f, int32_t none)
{
    char b[16];
    int32_t d;
    if (f.kind != 2 || f.n >= sizeof b)
        return none;
    memcpy(b, f.p, f.n);
    b[f.n] = '\0';
    return ol_date_parse(b, &d) ? none : d;
}

static char *dup_of(web_jfield f)
{
    return strndup(f.kind == 2 ? f.p : "", f.kind == 2 ? f.n : 0);
}

static const char *const person_fields[] = {"person_id", "team",     "weekly_capacity_minutes", "working_days",
                                            "billable",  "joined_on", "left_on"};
enum { P_ID, P_TEAM, P_WEEKLY, P_WD, P_BILLABLE, P_JOINED, P_LEFT, P_N };
static const char *const leave_fields[] = {"person_id", "status", "first_day", "last_day", "portion"};
enum { L_PERSON, L_STATUS, L_FIRST, L_LAST, L_PORTION, L_N };

static int take_person(void *arg, const char *key, int64_t rev, int64_t ts, const char *json, size_t len)
{
    struct ctx *c = arg;
    struct row r;
    (void)key, (void)rev, (void)ts;
    if (row_read(&r, json, len, person_fields, P_N))
        goto fail;
    if (c->np == c->pcap) {
        size_t n = c->pcap ? c->pcap * 2 : 1024;
        struct person *np = realloc(c->p, n * sizeof *np);
        if (!np)
            goto fail;
        c->p = np;
        c->pcap = n;
    }
    struct person *p = &c->p[c->np];
    memset(p, 0, sizeof *p);
    long long wk = num(r.f[P_WEEKLY]), wd = num(r.f[P_WD]);
    p->weekly = wk > 0 && wk <= 7 * 24 * 60 ? (int32_t)wk : 0;
    p->wd = wd > 0 && wd < 128 ? (unsigned)wd : 0;
    p->joined = day_of(r.f[P_JOINED], INT32_MIN);
    p->left = day_of(r.f[P_LEFT], INT32_MAX);
    p->billable = r.f[P_BILLABLE].kind == 1 && r.f[P_BILLABLE].n == 4 && !memcmp(r.f[P_BILLABLE].p, "true", 4);
    p->id = dup_of(r.f[P_ID]);
    p->team = dup_of(r.f[P_TEAM]);
    if (!p->id || !p->team) {
        free(p->id);
        free(p->team);
        goto fail;
    }
    c->np++;
    json_decref(r.parsed);
    return 0;
fail:
    json_decref(r.parsed);
    c->fail = 1;
    return 1;
}

static int by_id(const void *a, const void *b)
{
    return strcmp(((const struct person *)a)->id, ((const struct person *)b)->id);
}

static struct person *find(struct ctx *c, const char *id)
{
    struct person k = {.id = (char *)id};
    return c->np ? bsearch(&k, c->p, c->np, sizeof *c->p, by_id) : NULL;
}

static int take_leave(void *arg, const char *key, int64_t rev, int64_t ts, const char *json, size_t len)
{
    struct ctx *c = arg;
    struct row r;
    (void)key, (void)rev, (void)ts;
    if (row_read(&r, json, len, leave_fields, L_N)) {
        c->fail = 1;
        return 1;
    }
    int32_t first = day_of(r.f[L_FIRST], INT32_MAX), last = day_of(r.f[L_LAST], INT32_MIN);
    char *who = NULL;
    struct person *p = NULL;
    if (!is(r.f[L_STATUS], "BOOKED") || first > last || last < c->day0 || first > c->day0 + c->ndays - 1)
        goto done;
    if (!(who = dup_of(r.f[L_PERSON]))) {
        c->fail = 1;
        goto done;
    }
    if (!(p = find(c, who)))
        goto done; /* a person not yet published has no capacity to lose */
    if (c->nl == c->lcap) {
        size_t n = c->lcap ? c->lcap * 2 : 1024;
        struct leave *nl = realloc(c->l, n * sizeof *nl);
        if (!nl) {
            c->fail = 1;
            goto done;
        }
        c->l = nl;
        c->lcap = n;
    }
    c->l[c->nl++] = (struct leave){(size_t)(p - c->p), first, last,
                                   is(r.f[L_PORTION], "AM")   ? OL_PORTION_AM
                                   : is(r.f[L_PORTION], "PM") ? OL_PORTION_PM
                                                              : OL_PORTION_FULL};
done:
    free(who);
    json_decref(r.parsed);
    return c->fail;
}

static int by_who(const void *a, const void *b)
{
    const struct leave *x = a, *y = b;
    return x->who < y->who ? -1 : x->who > y->who;
}

static int day_cap(const struct person *p, int32_t day)
{
    return ol_day_capacity(p->weekly, p->wd, p->joined, p->left, day);
}

/* every person's capacity and leave per week of [day0, day0 + ndays) */
static int figures(struct ctx *c, int nweeks)
{
    int32_t *avail = malloc((size_t)c->ndays * 2 * sizeof *avail);
    if (!avail)
        return -1;
    int32_t *caps = avail + c->ndays;
    qsort(c->l, c->nl, sizeof *c->l, by_who);
    size_t li = 0;
    for (size_t i = 0; i < c->np; i++) {
        struct person *p = &c->p[i];
        if (!(p->cap = calloc((size_t)nweeks * 2, sizeof *p->cap))) {
            free(avail);
            return -1;
        }
        p->leave = p->cap + nweeks;
        for (int32_t d = 0; d < c->ndays; d++)
            p->cap[d / 7] += caps[d] = avail[d] = day_cap(p, c->day0 + d);
        for (; li < c->nl && c->l[li].who == i; li++) {
            const struct leave *l = &c->l[li];
            int32_t from = l->first > c->day0 ? l->first : c->day0;
            int32_t to = l->last < c->day0 + c->ndays - 1 ? l->last : c->day0 + c->ndays - 1;
            for (int32_t day = from; day <= to; day++) {
                int part = ol_leave_part(caps[day - c->day0], l->portion);
                int32_t *a = &avail[day - c->day0];
                *a = *a > part ? *a - part : 0; /* overlapping leave never takes more than the day */
            }
        }
        for (int32_t d = 0; d < c->ndays; d++)
            p->leave[d / 7] += caps[d] - avail[d];
    }
    free(avail);
    return 0;
}

static void ctx_free(struct ctx *c)
{
    for (size_t i = 0; i < c->np; i++) {
        free(c->p[i].id);
        free(c->p[i].team);
        free(c->p[i].cap);
    }
    free(c->p);
    free(c->l);
}

/* the sums of one scope per week: an array of nweeks x {cap, leave, people} */
struct sums {
    const char *name; /* a team's name; NULL for the org */
    int64_t *v;
};

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct sums *)a)->name, ((const struct sums *)b)->name);
}

/* the org's and every team's sums over their billable people */
static int sum_scopes(struct ctx *c, int nweeks, struct sums *org, struct sums **teams, size_t *nteams)
{
    size_t n = 0;
    *teams = NULL;
    *nteams = 0;
    if (!(org->v = calloc((size_t)nweeks * 3, sizeof *org->v)))
        return -1;
    struct sums *t = calloc(c->np ? c->np : 1, sizeof *t);
    if (!t)
        return -1;
    *teams = t;
    for (size_t i = 0; i < c->np; i++)
        if (c->p[i].billable)
            t[n++].name = c->p[i].team;
    qsort(t, n, sizeof *t, by_name);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (!u || strcmp(t[u - 1].name, t[i].name))
            t[u++].name = t[i].name;
    *nteams = u;
    for (size_t i = 0; i < u; i++)
        if (!(t[i].v = calloc((size_t)nweeks * 3, sizeof *t[i].v)))
            return -1;
    for (size_t i = 0; i < c->np; i++) {
        const struct person *p = &c->p[i];
        if (!p->billable)
            continue;
        struct sums k = {p->team, NULL}, *team = bsearch(&k, t, u, sizeof *t, by_name);
        for (int w = 0; w < nweeks; w++) {
            int64_t add[3] = {p->cap[w], p->leave[w], p->leave[w] > 0};
            for (int j = 0; j < 3; j++) {
                org->v[w * 3 + j] += add[j];
                if (team)
                    team->v[w * 3 + j] += add[j];
            }
        }
    }
    return 0;
}

/* one answer row for the forecast row f; NULL when out of memory */
static json_t *leave_row(struct ctx *c, ol_week w0, json_t *f, const struct sums *org, const struct sums *teams,
                         size_t nteams)
{
    const char *scope = s_of(f, "scope"), *id = s_of(f, "scope_id"), *week = s_of(f, "week");
    ol_week w;
    int64_t v[3] = {0, 0, 0};
    if (ol_week_parse(week, &w))
        return NULL;
    int wi = (int)(ol_week_monday(w) - ol_week_monday(w0)) / 7;
    if (wi < 0 || wi * 7 >= c->ndays)
        return NULL;
    if (!strcmp(scope, "PERSON")) {
        const struct person *p = find(c, id);
        if (p) {
            v[0] = p->cap[wi];
            v[1] = p->leave[wi];
            v[2] = p->leave[wi] > 0;
        }
    } else {
        struct sums k = {id, NULL};
        const struct sums *s = !strcmp(scope, "TEAM") ? bsearch(&k, teams, nteams, sizeof *teams, by_name) : org;
        if (s)
            memcpy(v, s->v + wi * 3, sizeof v);
    }
    return json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I}", "key", s_of(f, "key"), "scope", scope, "scope_id", id,
                     "week", week, "capacity_minutes", (json_int_t)v[0], "leave_minutes", (json_int_t)v[1],
                     "people_on_leave", (json_int_t)v[2]);
}

json_t *web_forecast_leave(web_req *q, json_t *forecast)
{
    struct ctx c;
    char err[300];
    json_t *out = json_array(), *f;
    ol_week lo = 0, hi = 0, w;
    size_t i;
    int have = 0;
    struct sums org = {NULL, NULL}, *teams = NULL;
    size_t nteams = 0;
    memset(&c, 0, sizeof c);
    if (!out)
        return NULL;
    json_array_foreach(forecast, i, f)
    {
        if (ol_week_parse(s_of(f, "week"), &w))
            continue;
        if (!have || ol_week_monday(w) < ol_week_monday(lo))
            lo = w;
        if (!have || ol_week_monday(w) > ol_week_monday(hi))
            hi = w;
        have = 1;
    }
    if (!have)
        goto done;
    int nweeks = (int)(ol_week_monday(hi) - ol_week_monday(lo)) / 7 + 1;
    if (nweeks > MAX_WEEKS)
        goto fail;
    c.day0 = ol_week_monday(lo);
    c.ndays = nweeks * 7;
    if (web_scan_raw(q->m, q->txn, "hr.person", "", NULL, q->as_of, take_person, &c, err, sizeof err) || c.fail)
        goto fail;
    qsort(c.p, c.np, sizeof *c.p, by_id);
    if (web_scan_raw(q->m, q->txn, "hr.leave", NULL, NULL, q->as_of, take_leave, &c, err, sizeof err) || c.fail ||
        figures(&c, nweeks))
        goto fail;
    if (sum_scopes(&c, nweeks, &org, &teams, &nteams))
        goto fail;
    json_array_foreach(forecast, i, f)
    {
        json_t *row = leave_row(&c, lo, f, &org, teams, nteams);
        if (!row || json_array_append_new(out, row))
            goto fail;
    }
    goto done;
fail:
    json_decref(out);
    out = NULL;
done:
    for (size_t t = 0; teams && t < nteams; t++)
        free(teams[t].v);
    free(teams);
    free(org.v);
    ctx_free(&c);
    return out;
}
