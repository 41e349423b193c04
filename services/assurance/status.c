/* status — ops.delivery.status of one engagement-week (SPEC section 3,
 * "Delivery status"), recomputed from the surviving versions:
 *
 *   RED    an OPEN CRITICAL risk; spend over spend_red_bp of budget; estimate
 *          at completion over eac_red_bp of budget
 *   AMBER  an OPEN HIGH risk; budget burn more than burn_ahead_bp ahead of
 *          time elapsed; missing timesheets (>= missing_minutes) in the last
 *          closed week (the week before) of a person CONFIRMED on the
 *          engagement that week; an open role (no person, not CANCELLED)
 *          that runs into [Monday of the week, Sunday + open_role_days]
 *   GREEN  none of these.
 *
 * Risks are read as they stood at the end of the week: for each risk, its
 * highest revision that occurred before the next Monday 00:00 UTC. Spend and
 * estimate come from the forecast made that week: the ops.forecast.engagement
 * version with the latest as_of_week on or before the week. The previous
 * week is recomputed by the same rules for previous_rag and changes. */
#include "assurance.h"
#include "ol_av.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const sev_names[] = {"LOW", "MEDIUM", "HIGH", "CRITICAL"};

/* reason codes, most severe first (their order in the event) */
enum { R_CRITICAL_RISK, R_SPEND_OVER, R_EAC_OVER, R_HIGH_RISK, R_BURN_AHEAD, R_MISSING, R_OPEN_ROLE, R_N };
static const char *const reason_codes[R_N] = {"CRITICAL_RISK", "SPEND_OVER_BUDGET", "EAC_OVER_BUDGET", "HIGH_RISK",
                                              "BURN_AHEAD",    "MISSING_TIMESHEETS", "OPEN_ROLE"};

struct reason {
    int code;
    char subject[128];
    char detail[96];
};

struct risk_view {
    char *id, *category, *summary, *owner;
    int severity;
};

struct row {
    int rag;
    struct reason *r;
    int nr, cap;
    struct risk_view *open;
    int nopen;
    char **opened, **closed;
    int nopened, nclosed;
    int32_t counts[4];
    int has_fc;
    int64_t spent, eac, budget;
    char currency[16];
    int has_burn, has_elapsed;
    int32_t burn, elapsed;
};

static void row_free(struct row *w)
{
    free(w->r);
    for (int i = 0; i < w->nopen; i++) {
        free(w->open[i].id);
        free(w->open[i].category);
        free(w->open[i].summary);
        free(w->open[i].owner);
    }
    free(w->open);
    for (int i = 0; i < w->nopened; i++)
        free(w->opened[i]);
    for (int i = 0; i < w->nclosed; i++)
        free(w->closed[i]);
    free(w->opened);
    free(w->closed);
    memset(w, 0, sizeof *w);
}

static int add_reason(struct row *w, int code, const char *subject, const char *detail)
{
    for (int i = 0; i < w->nr; i++)
        if (w->r[i].code == code && !strcmp(w->r[i].subject, subject))
            return 0; /* one reason per subject (a person on two allocations) */
    if (w->nr == w->cap) {
        int cap = w->cap ? w->cap * 2 : 8;
        struct reason *r = realloc(w->r, (size_t)cap * sizeof *r);
        if (!r)
            return -1;
        w->r = r;
        w->cap = cap;
    }
    struct reason *r = &w->r[w->nr++];
    r->code = code;
    snprintf(r->subject, sizeof r->subject, "%s", subject);
    snprintf(r->detail, sizeof r->detail, "%s", detail ? detail : "");
    return 0;
}

static int reason_cmp(const void *a, const void *b)
{
    const struct reason *x = a, *y = b;
    if (x->code != y->code)
        return x->code - y->code;
    return strcmp(x->subject, y->subject);
}

static int risk_cmp(const void *a, const void *b)
{
    const struct risk_view *x = a, *y = b;
    if (x->severity != y->severity)
        return y->severity - x->severity;
    return strcmp(x->id, y->id);
}

static void reason_text(const struct reason *r, char *buf, size_t n)
{
    snprintf(buf, n, "%s%s%s%s%s", reason_codes[r->code], *r->subject ? " " : "", r->subject, *r->detail ? " " : "",
             r->detail);
}

int as_eng_load(MDB_txn *txn, MDB_dbi engs, const char *eng, struct as_eng *e, const char **client,
                const char **name)
{
    ol_key k;
    MDB_val v;
    ol_key_init(&k);
    ol_key_str(&k, eng);
    MDB_val kv = ol_key_val(&k);
    int rc = k.overflow ? -1 : mdb_get(txn, engs, &kv, &v);
    if (rc)
        return rc;
    memcpy(e, v.mv_data, sizeof *e);
    const char *p = (const char *)v.mv_data + sizeof *e;
    if (client)
        *client = p;
    p += strlen(p) + 1;
    if (name)
        *name = p;
    return 0;
}

static int64_t week_end_ms(ol_week w) { return (int64_t)(ol_week_monday(w) + 7) * AS_DAY_MS; }

/* a risk's version as of `end` (highest revision that occurred before it):
 * 1 found (status, severity, engagement and strings copied out), 0 none */
struct risk_at {
    int status, severity;
    char eng[256], category[32], summary[512], owner[256];
};

static int risk_as_of(MDB_txn *txn, MDB_dbi vers, const char *risk, int64_t end, struct risk_at *out)
{
    MDB_cursor *c;
    ol_key pk;
    int rc, found = 0;
    ol_key_init(&pk);
    ol_key_str(&pk, risk);
    if (pk.overflow)
        return -1;
    if ((rc = mdb_cursor_open(txn, vers, &c)))
        return rc;
    MDB_val k = ol_key_val(&pk), v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size != pk.n + 8 || memcmp(k.mv_data, pk.b, pk.n))
            break;
        struct as_risk r;
        memcpy(&r, v.mv_data, sizeof r);
        if (r.occurred_at >= end)
            continue; /* revisions ascend; a later one may still have occurred earlier */
        const char *p = (const char *)v.mv_data + sizeof r;
        out->status = r.status;
        out->severity = r.severity;
        snprintf(out->eng, sizeof out->eng, "%s", p);
        p += strlen(p) + 1;
        snprintf(out->category, sizeof out->category, "%s", p);
        p += strlen(p) + 1;
        snprintf(out->summary, sizeof out->summary, "%s", p);
        p += strlen(p) + 1;
        snprintf(out->owner, sizeof out->owner, "%s", p);
        found = 1;
    }
    mdb_cursor_close(c);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    return found;
}

static int push_str(char ***arr, int *n, const char *s)
{
    char **a = realloc(*arr, (size_t)(*n + 1) * sizeof *a);
    if (!a)
        return -1;
    *arr = a;
    if (!(a[*n] = strdup(s)))
        return -1;
    (*n)++;
    return 0;
}

/* the register at the end of week w (open risks, counts) and what opened
 * and closed since the end of the week before */
static int risks(ol_fold_ctx *ctx, const char *eng, ol_week w, struct row *row)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    MDB_dbi vers = ol_fold_dbi(ctx, "risk_vers");
    MDB_cursor *c;
    ol_key pk;
    int rc;
    struct risk_at *now = malloc(sizeof *now), *before = malloc(sizeof *before);
    if (!now || !before) {
        free(now);
        free(before);
        return -1;
    }
    ol_key_init(&pk);
    ol_key_str(&pk, eng);
    if ((rc = mdb_cursor_open(txn, ol_fold_dbi(ctx, "eng_risks"), &c)))
        goto out_free;
    MDB_val k = ol_key_val(&pk), v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size < pk.n || memcmp(k.mv_data, pk.b, pk.n))
            break;
        char risk[512];
        snprintf(risk, sizeof risk, "%s", (const char *)k.mv_data + pk.n);
        int fn = risk_as_of(txn, vers, risk, week_end_ms(w), now);
        int fb = risk_as_of(txn, vers, risk, week_end_ms(ol_week_add(w, -1)), before);
        if (fn < 0 || fb < 0) {
            rc = fn < 0 ? fn : fb;
            break;
        }
        int open_now = fn && now->status == RISK_OPEN && !strcmp(now->eng, eng);
        int open_before = fb && before->status == RISK_OPEN && !strcmp(before->eng, eng);
        if (open_now) {
            struct risk_view *o = realloc(row->open, (size_t)(row->nopen + 1) * sizeof *o);
            if (!o) {
                rc = -1;
                break;
            }
            row->open = o;
            o = &o[row->nopen++];
            o->severity = now->severity;
            o->id = strdup(risk);
            o->category = strdup(now->category);
            o->summary = strdup(now->summary);
            o->owner = strdup(now->owner);
            if (!o->id || !o->category || !o->summary || !o->owner) {
                rc = -1;
                break;
            }
            if (now->severity >= SEV_LOW && now->severity <= SEV_CRITICAL)
                row->counts[now->severity]++;
            if (now->severity == SEV_CRITICAL && (rc = add_reason(row, R_CRITICAL_RISK, risk, NULL)))
                break;
            if (now->severity == SEV_HIGH && (rc = add_reason(row, R_HIGH_RISK, risk, NULL)))
                break;
        }
        if (open_now && !open_before && (rc = push_str(&row->opened, &row->nopened, risk)))
            break;
        if (!open_now && open_before && fn && !strcmp(now->eng, eng) &&
            (rc = push_str(&row->closed, &row->nclosed, risk)))
            break;
    }
    mdb_cursor_close(c);
    if (rc == MDB_NOTFOUND)
        rc = 0;
out_free:
    free(now);
    free(before);
    return rc;
}

/* the forecast made in week w: latest as_of_week on or before it */
static int forecast(ol_fold_ctx *ctx, const char *eng, ol_week w, struct row *row)
{
    MDB_cursor *c;
    ol_key pk;
    int rc;
    ol_key_init(&pk);
    ol_key_str(&pk, eng);
    if ((rc = mdb_cursor_open(ol_fold_txn(ctx), ol_fold_dbi(ctx, "fc_vers"), &c)))
        return rc;
    MDB_val k = ol_key_val(&pk), v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size != pk.n + 4 || memcmp(k.mv_data, pk.b, pk.n))
            break;
        if (ol_key_get_i32((const char *)k.mv_data + pk.n) > w)
            break;
        struct as_fc fc;
        memcpy(&fc, v.mv_data, sizeof fc);
        row->has_fc = 1;
        row->spent = fc.spent;
        row->eac = fc.eac;
        row->budget = fc.budget;
        snprintf(row->currency, sizeof row->currency, "%s", (const char *)v.mv_data + sizeof fc);
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* open roles running into the window, and missing time in the week before */
static int staffing(ol_fold_ctx *ctx, const char *eng, ol_week w, struct row *row)
{
    const struct as_state *cf = ol_fold_state(ctx);
    MDB_txn *txn = ol_fold_txn(ctx);
    MDB_dbi missing = ol_fold_dbi(ctx, "missing");
    MDB_cursor *c;
    ol_key pk;
    int rc;
    int32_t mon = ol_week_monday(w), horizon = mon + 6 + cf->open_role_days;
    ol_week prev = ol_week_add(w, -1);
    int32_t pmon = ol_week_monday(prev);
    ol_key_init(&pk);
    ol_key_str(&pk, eng);
    if ((rc = mdb_cursor_open(txn, ol_fold_dbi(ctx, "eng_allocs"), &c)))
        return rc;
    MDB_val k = ol_key_val(&pk), v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size < pk.n || memcmp(k.mv_data, pk.b, pk.n))
            break;
        struct as_alloc a;
        memcpy(&a, v.mv_data, sizeof a);
        const char *id = (const char *)k.mv_data + pk.n, *person = (const char *)v.mv_data + sizeof a,
                   *role = person + strlen(person) + 1;
        char detail[96], d[11];
        if (!*person && a.status != ALLOC_CANCELLED && a.first <= horizon && a.last >= mon) {
            ol_date_format(a.first, d);
            snprintf(detail, sizeof detail, "%s %s from %s", role, a.status == ALLOC_CONFIRMED ? "CONFIRMED" : "PROPOSED",
                     d);
            if ((rc = add_reason(row, R_OPEN_ROLE, id, detail)))
                break;
        }
        if (*person && a.status == ALLOC_CONFIRMED && a.first <= pmon + 6 && a.last >= pmon) {
            ol_key mk;
            MDB_val mv;
            ol_key_init(&mk);
            ol_key_i32(&mk, prev);
            ol_key_str(&mk, person);
            MDB_val mkv = ol_key_val(&mk);
            int g = mk.overflow ? -1 : mdb_get(txn, missing, &mkv, &mv);
            if (g && g != MDB_NOTFOUND) {
                rc = g;
                break;
            }
            if (g == 0) {
                int32_t m;
                char wk[9];
                memcpy(&m, mv.mv_data, sizeof m);
                ol_week_format(prev, wk);
                snprintf(detail, sizeof detail, "%" PRId32 "min %s", m, wk);
                if (m >= cf->missing_minutes && (rc = add_reason(row, R_MISSING, person, detail)))
                    break;
            }
        }
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int32_t clamp_bp(__int128 v)
{
    return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
}

/* every rule for (eng, w) into row */
static int compute(ol_fold_ctx *ctx, const char *eng, const struct as_eng *e, ol_week w, struct row *row)
{
    const struct as_state *cf = ol_fold_state(ctx);
    char detail[96];
    int rc;
    if ((rc = risks(ctx, eng, w, row)) || (rc = forecast(ctx, eng, w, row)) || (rc = staffing(ctx, eng, w, row)))
        return rc;
    int32_t total = e->ends - e->starts + 1, elapsed = ol_week_monday(w) + 6 - e->starts + 1;
    if (total > 0) {
        row->has_elapsed = 1;
        row->elapsed = (int32_t)((int64_t)(elapsed < 0 ? 0 : elapsed > total ? total : elapsed) * 10000 / total);
    }
    if (row->has_fc && row->budget > 0) {
        row->has_burn = 1;
        row->burn = clamp_bp((__int128)row->spent * 10000 / row->budget);
        if ((__int128)row->spent * 10000 > (__int128)row->budget * cf->spend_red_bp) {
            snprintf(detail, sizeof detail, "%" PRId32 "bp", row->burn);
            if ((rc = add_reason(row, R_SPEND_OVER, "", detail)))
                return rc;
        }
        if ((__int128)row->eac * 10000 > (__int128)row->budget * cf->eac_red_bp) {
            snprintf(detail, sizeof detail, "%" PRId32 "bp", clamp_bp((__int128)row->eac * 10000 / row->budget));
            if ((rc = add_reason(row, R_EAC_OVER, "", detail)))
                return rc;
        }
        if (row->has_elapsed && (int64_t)row->burn - row->elapsed > cf->burn_ahead_bp) {
            snprintf(detail, sizeof detail, "burn %" PRId32 "bp elapsed %" PRId32 "bp", row->burn, row->elapsed);
            if ((rc = add_reason(row, R_BURN_AHEAD, "", detail)))
                return rc;
        }
    }
    if (row->nr)
        qsort(row->r, (size_t)row->nr, sizeof *row->r, reason_cmp);
    if (row->nopen)
        qsort(row->open, (size_t)row->nopen, sizeof *row->open, risk_cmp);
    row->rag = RAG_GREEN;
    for (int i = 0; i < row->nr; i++) {
        int rag = row->r[i].code <= R_EAC_OVER ? RAG_RED : RAG_AMBER;
        if (rag > row->rag)
            row->rag = rag;
    }
    return 0;
}

static const char *const rag_names[] = {"GREEN", "AMBER", "RED"};

static int append_str(avro_value_t *rec, const char *field, const char *s)
{
    avro_value_t arr, el;
    if (avro_value_get_by_name(rec, field, &arr, NULL) || avro_value_append(&arr, &el, NULL))
        return -1;
    return avro_value_set_string(&el, s) ? -1 : 0;
}

/* "changes since the previous week": the RAG move, reasons that appeared, went */
static int fill_changes(avro_value_t *v, const struct row *prev, const struct row *cur)
{
    char buf[400];
    if (prev->rag != cur->rag) {
        snprintf(buf, sizeof buf, "RAG %s->%s", rag_names[prev->rag], rag_names[cur->rag]);
        if (append_str(v, "changes", buf))
            return -1;
    }
    for (int pass = 0; pass < 2; pass++) {
        const struct row *a = pass ? prev : cur, *b = pass ? cur : prev;
        for (int i = 0; i < a->nr; i++) {
            int seen = 0;
            for (int j = 0; j < b->nr && !seen; j++)
                seen = a->r[i].code == b->r[j].code && !strcmp(a->r[i].subject, b->r[j].subject);
            if (seen)
                continue;
            snprintf(buf, sizeof buf, "%c%s%s%s", pass ? '-' : '+', reason_codes[a->r[i].code],
                     *a->r[i].subject ? " " : "", a->r[i].subject);
            if (append_str(v, "changes", buf))
                return -1;
        }
    }
    return 0;
}

static int fill(avro_value_t *v, const char *eng, const struct as_eng *e, const char *client,
                const char *name, ol_week w, const struct row *cur, const struct row *prev)
{
    char wk[9], buf[400];
    avro_value_t f, b, arr, el;
    ol_week_format(w, wk);
    if (ol_av_set_str(v, "engagement_id", eng) || ol_av_set_str(v, "week", wk) ||
        ol_av_set_str(v, "client", client) || ol_av_set_str(v, "engagement_name", name) ||
        ol_av_set_bool(v, "closed", e->status == ENG_CLOSED) || ol_av_set_enum(v, "rag", cur->rag) ||
        ol_av_set_int(v, "open_risks_low", cur->counts[SEV_LOW]) ||
        ol_av_set_int(v, "open_risks_medium", cur->counts[SEV_MEDIUM]) ||
        ol_av_set_int(v, "open_risks_high", cur->counts[SEV_HIGH]) ||
        ol_av_set_int(v, "open_risks_critical", cur->counts[SEV_CRITICAL]) ||
        ol_av_set_opt_int(v, "budget_burn_bp", cur->has_burn, cur->burn) ||
        ol_av_set_opt_int(v, "time_elapsed_bp", cur->has_elapsed, cur->elapsed) ||
        ol_av_set_str(v, "currency", cur->currency) ||
        ol_av_set_opt_long(v, "spent_to_date_minor", cur->has_fc, cur->spent) ||
        ol_av_set_opt_long(v, "estimate_at_completion_minor", cur->has_fc, cur->eac) ||
        ol_av_set_long(v, "budget_minor", cur->has_fc ? cur->budget : e->budget))
        return -1;
    for (int i = 0; i < cur->nr; i++) {
        reason_text(&cur->r[i], buf, sizeof buf);
        if (append_str(v, "reasons", buf))
            return -1;
    }
    if (avro_value_get_by_name(v, "open_risks", &arr, NULL))
        return -1;
    for (int i = 0; i < cur->nopen; i++) {
        const struct risk_view *r = &cur->open[i];
        if (avro_value_append(&arr, &el, NULL) || ol_av_set_str(&el, "risk_id", r->id) ||
            ol_av_set_str(&el, "severity", sev_names[r->severity & 3]) || ol_av_set_str(&el, "category", r->category) ||
            ol_av_set_str(&el, "summary", r->summary) || ol_av_set_str(&el, "owner", r->owner))
            return -1;
    }
    for (int i = 0; i < cur->nopened; i++)
        if (append_str(v, "risks_opened", cur->opened[i]))
            return -1;
    for (int i = 0; i < cur->nclosed; i++)
        if (append_str(v, "risks_closed", cur->closed[i]))
            return -1;
    if (avro_value_get_by_name(v, "previous_rag", &f, NULL))
        return -1;
    if (prev) {
        if (avro_value_set_branch(&f, 1, &b) || avro_value_set_string(&b, rag_names[prev->rag]))
            return -1;
        return fill_changes(v, prev, cur);
    }
    return avro_value_set_branch(&f, 0, &b) || avro_value_set_null(&b) ? -1 : 0;
}

int as_status(ol_fold_ctx *ctx, const char *eng, ol_week w)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    struct as_eng e;
    const char *client0, *name0;
    char *client = NULL, *name = NULL, key[600];
    struct row cur, prev;
    ol_key sk;
    int rc;

    memset(&cur, 0, sizeof cur);
    memset(&prev, 0, sizeof prev);
    ol_key_init(&sk);
    ol_key_i32(&sk, w);
    ol_key_str(&sk, eng);
    if (sk.overflow)
        return -1;
    rc = as_eng_load(txn, ol_fold_dbi(ctx, "engs"), eng, &e, &client0, &name0);
    if (rc == MDB_NOTFOUND)
        return 0; /* no rows before the engagement is known */
    if (rc)
        return rc;
    ol_week data_week;
    if (!as_data_week(ctx, &data_week))
        return 0; /* no dated input yet */
    ol_week first = ol_week_of(e.starts), last = ol_week_of(e.ends);
    if (last > data_week)
        last = data_week;
    if (w < first || w > last)
        return ol_del_key(txn, ol_fold_dbi(ctx, "status"), &sk);
    client = strdup(client0);
    name = strdup(name0);
    if (!client || !name) {
        rc = -1;
        goto out;
    }
    if ((rc = compute(ctx, eng, &e, w, &cur)))
        goto out;
    if (w > first && (rc = compute(ctx, eng, &e, ol_week_add(w, -1), &prev)))
        goto out;
    avro_value_t *v = ol_fold_new_derived(ctx, "ops.delivery.status");
    if (!v || fill(v, eng, &e, client, name, w, &cur, w > first ? &prev : NULL)) {
        rc = -1;
        goto out;
    }
    char wk[9];
    ol_week_format(w, wk);
    snprintf(key, sizeof key, "%s|%s", eng, wk);
    if ((rc = ol_fold_emit(ctx, "ops.delivery.status", key, v)) < 0)
        goto out;
    struct as_status_row sr;
    memset(&sr, 0, sizeof sr);
    sr.rag = cur.rag;
    memcpy(sr.open, cur.counts, sizeof sr.open);
    MDB_val kv = ol_key_val(&sk), val = {sizeof sr, &sr};
    rc = ol_put_unless_same(txn, ol_fold_dbi(ctx, "status"), &kv, &val);
out:
    row_free(&cur);
    row_free(&prev);
    free(client);
    free(name);
    return rc;
}
