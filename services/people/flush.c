/* flush — end of batch: when anything changed (or the data week moved),
 * recomputes every headcount row from the surviving versions (SPEC section
 * 3 "Headcount and retention"), stores the rows that changed and emits them;
 * a row no longer computed (its scope disappeared, or an earliest joined_on
 * was corrected to a later day) is deleted and re-emitted at zero. */
#include "people.h"
#include "ol_av.h"
#include "ol_rules.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pers {
    struct hc_person p;
    char id[130], team[130], role[130];
};

struct nrow {
    ol_key key;
    int scope;
    const char *id;
    ol_week week;
    struct hc_row r;
};

/* everything one recompute needs; freed by calc_free */
struct calc {
    struct hc_state *s;
    struct pers *ps;
    size_t np;
    struct hc_alloc *dm; /* delivery-manager demand: CONFIRMED, or open and PROPOSED */
    size_t ndm;
    ol_week row_first, data_week, base;
    int32_t mon0; /* Monday of base */
    int nw;       /* weeks from base to the end of the delivery-manager horizon */
    struct nrow *rows;
    size_t nrows, caprows;
    int32_t *hc, *join, *leave, *tenure, *leave_day;
};

void hc_row_key(ol_key *k, int scope, const char *id, ol_week w)
{
    ol_key_init(k);
    ol_key_u8(k, (uint8_t)scope);
    ol_key_str(k, id);
    ol_key_i32(k, w);
}

static int week_idx(const struct calc *c, int32_t day)
{
    int64_t d = (int64_t)day - c->mon0;
    if (day == INT32_MAX)
        return INT_MAX;
    return (int)(d >= 0 ? d / 7 : -((-d + 6) / 7));
}

static int load_persons(MDB_txn *txn, MDB_dbi dbi, struct calc *c)
{
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc)
        return rc;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        struct pers *np = realloc(c->ps, (c->np + 1) * sizeof *np);
        if (!np) {
            rc = -1;
            break;
        }
        c->ps = np;
        struct pers *p = &c->ps[c->np++];
        if (v.mv_size < sizeof p->p) {
            rc = MDB_CORRUPTED;
            break;
        }
        memcpy(&p->p, v.mv_data, sizeof p->p);
        const char *str = (const char *)v.mv_data + sizeof p->p;
        snprintf(p->id, sizeof p->id, "%.*s", (int)k.mv_size, (const char *)k.mv_data);
        snprintf(p->team, sizeof p->team, "%s", str);
        snprintf(p->role, sizeof p->role, "%s", str + strlen(str) + 1);
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int load_dm_allocs(MDB_txn *txn, MDB_dbi dbi, struct calc *c)
{
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc)
        return rc;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        struct hc_alloc a;
        if (v.mv_size < sizeof a) {
            rc = MDB_CORRUPTED;
            break;
        }
        memcpy(&a, v.mv_data, sizeof a);
        if (strcmp((const char *)v.mv_data + sizeof a, c->s->dm_role) ||
            !(a.status == ALLOC_CONFIRMED || (a.open && a.status == ALLOC_PROPOSED)))
            continue;
        struct hc_alloc *na = realloc(c->dm, (c->ndm + 1) * sizeof *na);
        if (!na) {
            rc = -1;
            break;
        }
        c->dm = na;
        c->dm[c->ndm++] = a;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int add_row(struct calc *c, int scope, const char *id, int wi, const struct hc_row *r)
{
    if (c->nrows == c->caprows) {
        size_t cap = c->caprows ? c->caprows * 2 : 256;
        struct nrow *n = realloc(c->rows, cap * sizeof *n);
        if (!n)
            return -1;
        c->rows = n;
        c->caprows = cap;
    }
    struct nrow *nr = &c->rows[c->nrows++];
    nr->scope = scope;
    nr->id = id;
    nr->week = ol_week_add(c->base, wi);
    nr->r = *r;
    hc_row_key(&nr->key, scope, id, nr->week);
    return nr->key.overflow ? -1 : 0;
}

static int cmp_int(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* leave minutes of each day of the range for one person (overlaps never beyond the day) */
struct leave_arg {
    const struct calc *c;
    const struct hc_person *p;
};

static int leave_fill(const struct ol_leave *l, void *arg)
{
    const struct leave_arg *a = arg;
    int32_t d0 = a->c->mon0, d1 = a->c->mon0 + 7 * a->c->nw - 1;
    for (int32_t d = l->first < d0 ? d0 : l->first; d <= l->last && d <= d1; d++) {
        int cap = ol_day_capacity(a->p->weekly_capacity, a->p->working_days, a->p->joined, a->p->left, d);
        int32_t *slot = &a->c->leave_day[d - d0];
        *slot += ol_leave_part(cap, l->portion);
        if (*slot > cap)
            *slot = cap;
    }
    return 0;
}

/* the delivery-manager figures of week wi (members: the employees with the role) */
static int dm_figures(ol_fold_ctx *ctx, struct calc *c, const size_t *m, size_t nm, int64_t *supply)
{
    memset(supply, 0, (size_t)c->nw * sizeof *supply);
    for (size_t j = 0; j < nm; j++) {
        const struct pers *p = &c->ps[m[j]];
        struct leave_arg la = {c, &p->p};
        memset(c->leave_day, 0, (size_t)c->nw * 7 * sizeof *c->leave_day);
        int rc = ol_leave_scan(ol_fold_txn(ctx), ol_fold_dbi(ctx, "leaves"), p->id, c->mon0,
                               c->mon0 + 7 * c->nw - 1, leave_fill, &la);
        if (rc)
            return rc;
        for (int i = 0; i < c->nw; i++)
            for (int d = 0; d < 7; d++) {
                int32_t day = c->mon0 + 7 * i + d;
                int cap = ol_day_capacity(p->p.weekly_capacity, p->p.working_days, p->p.joined, p->p.left, day);
                supply[i] += cap - c->leave_day[7 * i + d];
            }
    }
    return 0;
}

/* every row of one scope: members m (indexes into c->ps) */
static int scope_rows(ol_fold_ctx *ctx, struct calc *c, int scope, const char *id, const size_t *m, size_t nm)
{
    int is_dm = scope == HC_ROLE && !strcmp(id, c->s->dm_role);
    int last = week_idx(c, ol_week_monday(is_dm ? ol_week_add(c->data_week, HC_HORIZON - 1) : c->data_week));
    int first = week_idx(c, ol_week_monday(c->row_first));
    int64_t *supply = NULL;
    int rc = 0;
    memset(c->hc, 0, (size_t)c->nw * sizeof *c->hc);
    memset(c->join, 0, (size_t)c->nw * sizeof *c->join);
    memset(c->leave, 0, (size_t)c->nw * sizeof *c->leave);
    for (size_t j = 0; j < nm; j++) {
        const struct hc_person *p = &c->ps[m[j]].p;
        int jw = week_idx(c, p->joined), lw = week_idx(c, p->left);
        if (jw >= 0 && jw < c->nw)
            c->join[jw]++;
        if (lw >= 0 && lw < c->nw)
            c->leave[lw]++;
        for (int i = jw < 0 ? 0 : jw; i < c->nw; i++) {
            int32_t sun = c->mon0 + 7 * i + 6;
            if (p->left < sun)
                break;
            c->hc[i]++;
        }
    }
    if (is_dm) {
        if (!(supply = malloc((size_t)c->nw * sizeof *supply)))
            return -1;
        if ((rc = dm_figures(ctx, c, m, nm, supply)))
            goto out;
    }
    for (int i = first; i <= last && !rc; i++) {
        struct hc_row r;
        int64_t sum = 0, fte = 0;
        size_t nt = 0;
        int32_t sun = c->mon0 + 7 * i + 6;
        memset(&r, 0, sizeof r);
        r.headcount = c->hc[i];
        r.joiners = c->join[i];
        r.leavers = c->leave[i];
        for (int w = i - (HC_WINDOW - 1); w <= i; w++) {
            sum += c->hc[w];
            r.window_leavers += c->leave[w];
        }
        r.avg_x100 = (int32_t)(sum * 100 / HC_WINDOW);
        if (r.avg_x100 > 0) {
            r.has_attrition = 1;
            r.attrition_bp = (int32_t)((int64_t)r.window_leavers * 1000000 / r.avg_x100);
        }
        for (size_t j = 0; j < nm; j++) {
            const struct hc_person *p = &c->ps[m[j]].p;
            if (p->joined <= sun && p->left >= sun) {
                fte += p->weekly_capacity;
                c->tenure[nt++] = sun - p->joined;
            }
        }
        r.fte_bp = (int32_t)(fte * 10000 / c->s->standard_week);
        if (nt) {
            qsort(c->tenure, nt, sizeof *c->tenure, cmp_int);
            r.has_tenure = 1;
            r.tenure_days = c->tenure[(nt - 1) / 2];
        }
        if (is_dm) {
            int64_t demand = 0; /* sum of percent x weekdays covered */
            int32_t mon = c->mon0 + 7 * i;
            for (size_t a = 0; a < c->ndm; a++)
                for (int32_t d = mon; d < mon + 5; d++)
                    if (d >= c->dm[a].first && d <= c->dm[a].last)
                        demand += c->dm[a].percent;
            r.has_dm = 1;
            r.dm_supply_bp = (int32_t)(supply[i] * 10000 / c->s->standard_week);
            r.dm_demand_bp = (int32_t)(demand * 20);
            if (demand > 0) {
                r.has_ratio = 1;
                r.ratio_bp = (int32_t)(supply[i] * 10000 * 500 / (demand * c->s->standard_week));
                r.ahead = r.ratio_bp >= 10000 && r.ratio_bp <= c->s->ceiling_bp;
            }
        }
        rc = add_row(c, scope, id, i, &r);
    }
out:
    free(supply);
    return rc;
}

static int cmp_str_ptr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* the roles (role != 0) or teams of the employees, sorted and unique; the
 * delivery-manager role is added when there is demand for it */
static int scope_ids(struct calc *c, int role, const char ***out, size_t *n)
{
    const char **ids = malloc((c->np + 1) * sizeof *ids);
    size_t k = 0, u = 0;
    if (!ids)
        return -1;
    for (size_t i = 0; i < c->np; i++)
        if (c->ps[i].p.employment == EMP_EMPLOYEE)
            ids[k++] = role ? c->ps[i].role : c->ps[i].team;
    if (role && c->ndm)
        ids[k++] = c->s->dm_role;
    qsort(ids, k, sizeof *ids, cmp_str_ptr);
    for (size_t i = 0; i < k; i++)
        if (!u || strcmp(ids[u - 1], ids[i]))
            ids[u++] = ids[i];
    *out = ids;
    *n = u;
    return 0;
}

static int compute(ol_fold_ctx *ctx, struct calc *c)
{
    static const char *const emp_ids[] = {"", "CONTRACTOR", "PARTNER"};
    size_t *m = malloc((c->np + 1) * sizeof *m), nm;
    int rc = 0;
    if (!m)
        return -1;
    for (int pass = 0; pass < 2 && !rc; pass++) { /* roles, then teams */
        const char **ids;
        size_t n;
        if ((rc = scope_ids(c, pass == 0, &ids, &n)))
            break;
        for (size_t s = 0; s < n && !rc; s++) {
            nm = 0;
            for (size_t i = 0; i < c->np; i++)
                if (c->ps[i].p.employment == EMP_EMPLOYEE && !strcmp(pass == 0 ? c->ps[i].role : c->ps[i].team, ids[s]))
                    m[nm++] = i;
            rc = scope_rows(ctx, c, pass == 0 ? HC_ROLE : HC_TEAM, ids[s], m, nm);
        }
        free(ids);
    }
    for (int e = EMP_EMPLOYEE; e <= EMP_PARTNER && !rc; e++) {
        nm = 0;
        for (size_t i = 0; i < c->np; i++)
            if (c->ps[i].p.employment == e)
                m[nm++] = i;
        if (e == EMP_EMPLOYEE || nm)
            rc = scope_rows(ctx, c, e == EMP_EMPLOYEE ? HC_ORG : HC_EMPLOYMENT, e == EMP_EMPLOYEE ? "org" : emp_ids[e],
                            m, nm);
    }
    free(m);
    return rc;
}

static int emit_row(ol_fold_ctx *ctx, int scope, const char *id, ol_week w, const struct hc_row *r, int only_if_prev)
{
    static const char *const names[] = {"ROLE", "TEAM", "ORG", "EMPLOYMENT"};
    char key[600], wk[9];
    avro_value_t *prev;
    ol_drec *v;
    ol_week_format(w, wk);
    snprintf(key, sizeof key, "%s|%s|%s", names[scope], id, wk);
    if (only_if_prev) {
        int has = ol_fold_derived_prev(ctx, "ops.headcount.weekly", key, &prev);
        if (has <= 0)
            return has;
    }
    if (!(v = ol_fold_new_rec(ctx, "ops.headcount.weekly")))
        return -1;
    if (ol_drec_enum(v, "scope", scope) || ol_drec_str(v, "scope_id", id) || ol_drec_str(v, "week", wk) ||
        ol_drec_int(v, "headcount", r->headcount) || ol_drec_int(v, "fte_bp", r->fte_bp) ||
        ol_drec_int(v, "joiners", r->joiners) || ol_drec_int(v, "leavers", r->leavers) ||
        ol_drec_int(v, "window_leavers", r->window_leavers) ||
        ol_drec_int(v, "avg_headcount_x100", r->avg_x100) ||
        ol_drec_opt_int(v, "attrition_bp", r->has_attrition, r->attrition_bp) ||
        ol_drec_opt_int(v, "median_tenure_days", r->has_tenure, r->tenure_days) ||
        ol_drec_opt_int(v, "dm_supply_fte_bp", r->has_dm, r->dm_supply_bp) ||
        ol_drec_opt_int(v, "dm_demand_fte_bp", r->has_dm, r->dm_demand_bp) ||
        ol_drec_opt_int(v, "dm_ratio_bp", r->has_ratio, r->ratio_bp) || ol_drec_bool(v, "dm_ahead", r->ahead))
        return -1;
    return ol_fold_emit_rec(ctx, "ops.headcount.weekly", key, v) < 0 ? -1 : 0;
}

static int cmp_key(const ol_key *a, const void *b, size_t bn)
{
    size_t n = a->n < bn ? a->n : bn;
    int d = memcmp(a->b, b, n);
    return d ? d : (a->n > bn) - (a->n < bn);
}

static int cmp_nrow(const void *a, const void *b)
{
    const struct nrow *x = a, *y = b;
    return cmp_key(&x->key, y->key.b, y->key.n);
}

/* stores the new rows: put and emit what changed, then delete what is no
 * longer computed (re-emitted at zero unless it only fell out of the
 * history window) */
static int store(ol_fold_ctx *ctx, struct calc *c)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    MDB_dbi dbi = ol_fold_dbi(ctx, "rows");
    MDB_cursor *cur;
    MDB_val k, v;
    ol_key *gone = NULL;
    size_t ngone = 0;
    int rc = 0;
    if (c->nrows) /* qsort and bsearch want a base even for no element */
        qsort(c->rows, c->nrows, sizeof *c->rows, cmp_nrow);
    for (size_t i = 0; i < c->nrows && !rc; i++) {
        struct nrow *n = &c->rows[i];
        MDB_val nk = ol_key_val(&n->key), nv = {sizeof n->r, &n->r};
        rc = mdb_get(txn, dbi, &nk, &v);
        if (rc == 0 && v.mv_size == sizeof n->r && !memcmp(v.mv_data, &n->r, sizeof n->r))
            continue;
        if (rc && rc != MDB_NOTFOUND)
            return rc;
        if (!(rc = mdb_put(txn, dbi, &nk, &nv, 0)))
            rc = emit_row(ctx, n->scope, n->id, n->week, &n->r, 0);
    }
    if (rc || (rc = mdb_cursor_open(txn, dbi, &cur)))
        return rc;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        struct nrow probe;
        if (k.mv_size > sizeof probe.key.b || k.mv_size < 6) {
            rc = MDB_CORRUPTED;
            break;
        }
        memcpy(probe.key.b, k.mv_data, k.mv_size);
        probe.key.n = k.mv_size;
        probe.key.overflow = 0;
        if (c->nrows && bsearch(&probe, c->rows, c->nrows, sizeof *c->rows, cmp_nrow))
            continue;
        ol_key *ng = realloc(gone, (ngone + 1) * sizeof *ng);
        if (!ng) {
            rc = -1;
            break;
        }
        gone = ng;
        gone[ngone++] = probe.key;
    }
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND)
        rc = 0;
    for (size_t i = 0; i < ngone && !rc; i++) {
        const uint8_t *kb = gone[i].b;
        ol_week w = ol_key_get_i32(kb + gone[i].n - 4);
        char id[130];
        struct hc_row zero;
        snprintf(id, sizeof id, "%.*s", (int)(gone[i].n - 6), (const char *)kb + 1);
        memset(&zero, 0, sizeof zero);
        if (!(rc = ol_del_key(txn, dbi, &gone[i])))
            rc = emit_row(ctx, kb[0], id, w, &zero, 1);
    }
    free(gone);
    return rc;
}

static void calc_free(struct calc *c)
{
    free(c->ps);
    free(c->dm);
    free(c->rows);
    free(c->hc);
    free(c->join);
    free(c->leave);
    free(c->tenure);
    free(c->leave_day);
}

int hc_flush(ol_fold_ctx *ctx)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    MDB_dbi meta = ol_fold_dbi(ctx, "hmeta");
    const MDB_val *dirty;
    struct calc c;
    int32_t stored_week = 0;
    int rc;
    memset(&c, 0, sizeof c);
    c.s = ol_fold_state(ctx);
    c.data_week = ol_week_of((int32_t)(ol_fold_data_time(ctx) / 86400000));
    rc = ol_named_get_i32(txn, meta, "data_week", &stored_week);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    if (ol_fold_dirty(ctx, &dirty) == 0 && rc == 0 && stored_week == c.data_week)
        return 0;
    if ((rc = ol_named_put_i32(txn, meta, "data_week", c.data_week)) ||
        (rc = load_persons(txn, ol_fold_dbi(ctx, "persons"), &c)) ||
        (rc = load_dm_allocs(txn, ol_fold_dbi(ctx, "allocs"), &c)))
        goto out;
    /* rows from the first week anyone was employed to the data week: never a
     * window that moves with the data week, so that the rows a run ever
     * computed are among the rows of its final state whatever the batching
     * (a row that left a moving window would keep its last emission on the
     * compacted topic in one run and never be emitted in another) */
    ol_week first = c.data_week;
    for (size_t i = 0; i < c.np; i++)
        if (ol_week_of(c.ps[i].p.joined) < first)
            first = ol_week_of(c.ps[i].p.joined);
    c.row_first = first;
    c.base = ol_week_add(c.row_first, -(HC_WINDOW - 1));
    c.mon0 = ol_week_monday(c.base);
    c.nw = (ol_week_monday(ol_week_add(c.data_week, HC_HORIZON - 1)) - c.mon0) / 7 + 1;
    c.hc = calloc((size_t)c.nw, sizeof *c.hc);
    c.join = calloc((size_t)c.nw, sizeof *c.join);
    c.leave = calloc((size_t)c.nw, sizeof *c.leave);
    c.tenure = calloc(c.np + 1, sizeof *c.tenure);
    c.leave_day = calloc((size_t)c.nw * 7, sizeof *c.leave_day);
    if (!c.hc || !c.join || !c.leave || !c.tenure || !c.leave_day) {
        rc = -1;
        goto out;
    }
    if (c.np == 0 && c.ndm == 0)
        c.nrows = 0; /* nothing to count yet: stored rows (none) stay as they are */
    else if ((rc = compute(ctx, &c)))
        goto out;
    rc = store(ctx, &c);
out:
    calc_free(&c);
    return rc;
}
