/* teams — a week's dirty team-weeks summed from their members' person rows.
 *
 * Each team-week is the sum over the team's members whose billable flag is
 * set (team_people) of their person rows in the week. A week's dirty teams
 * are summed in one pass: their members are read (team_people, a range per
 * team), sorted by person, and merged with the week's person rows, which
 * the util database holds in the same person order. Looking each member's
 * row up instead cost a B-tree descent per member of every dirty team in
 * every batch, however few records it held (issue 15: 12 % of the live
 * service's time at 5,000 people). The sorted members are kept across the
 * weeks of one flush (struct util_member_cache). */
#include "util.h"

#include <stdlib.h>
#include <string.h>

struct member {
    size_t person; /* offset in the name buffer */
    size_t team;   /* index of the team among the week's dirty teams */
};

static int member_cmp(const void *a, const void *b, void *names)
{
    const struct member *x = a, *y = b;
    return strcmp((const char *)names + x->person, (const char *)names + y->person);
}

static int members_add(struct util_members *m, const char *person, size_t pl, size_t team)
{
    if (m->n == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 256;
        struct member *v = realloc(m->v, cap * sizeof *v);
        if (!v)
            return -1;
        m->v = v, m->cap = cap;
    }
    if (m->len + pl + 1 > m->names_cap) {
        size_t cap = m->names_cap ? 2 * m->names_cap : 8192;
        while (cap < m->len + pl + 1)
            cap *= 2;
        char *nb = realloc(m->names, cap);
        if (!nb)
            return -1;
        m->names = nb, m->names_cap = cap;
    }
    memcpy(m->names + m->len, person, pl);
    m->names[m->len + pl] = '\0';
    m->v[m->n++] = (struct member){m->len, team};
    m->len += pl + 1;
    return 0;
}

/* the billable members of team t (index ti) */
static int members_of(MDB_cursor *c, const char *team, size_t ti, struct util_members *m)
{
    ol_key tk;
    ol_key_init(&tk);
    ol_key_str(&tk, team);
    if (tk.overflow)
        return -1;
    MDB_val k = ol_key_val(&tk), v;
    int rc;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size <= tk.n || memcmp(k.mv_data, tk.b, tk.n))
            break;
        const char *person = (const char *)k.mv_data + tk.n;
        size_t pl = strnlen(person, k.mv_size - tk.n);
        if (v.mv_size != 1 || pl + 1 != k.mv_size - tk.n) /* the member's billable flag (layout.c) */
            return MDB_CORRUPTED;
        if (*(const uint8_t *)v.mv_data && members_add(m, person, pl, ti))
            return -1;
    }
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* The sorted members of a run of dirty teams, kept across the weeks of one
 * flush: a batch that touches many weeks dirties the same teams in each,
 * and sorting their members again for every week was 4.5 % of a replay
 * (issue 15). Valid for one flush: only the fold writes team_people. */
void util_member_cache_free(struct util_member_cache *mc)
{
    free(mc->m.v);
    free(mc->m.names);
    free(mc->teams);
}

/* 1 when mc holds the members of exactly teams[0..nt) */
static int member_cache_holds(const struct util_member_cache *mc, const char *const *teams, size_t nt)
{
    if (!mc->valid || mc->nt != nt)
        return 0;
    const char *p = mc->teams;
    for (size_t i = 0; i < nt; i++) {
        if (strcmp(p, teams[i]))
            return 0;
        p += strlen(p) + 1;
    }
    return 1;
}

/* reads and sorts the billable members of teams[0..nt) into mc */
static int member_cache_fill(ol_fold_ctx *ctx, struct util_member_cache *mc, const char *const *teams, size_t nt)
{
    MDB_cursor *c;
    int rc;
    mc->valid = 0;
    mc->m.n = mc->m.len = 0;
    mc->teams_len = 0;
    for (size_t i = 0; i < nt; i++) {
        size_t tl = strlen(teams[i]) + 1;
        if (mc->teams_len + tl > mc->teams_cap) {
            size_t cap = mc->teams_cap ? 2 * mc->teams_cap : 1024;
            while (cap < mc->teams_len + tl)
                cap *= 2;
            char *nb = realloc(mc->teams, cap);
            if (!nb)
                return -1;
            mc->teams = nb, mc->teams_cap = cap;
        }
        memcpy(mc->teams + mc->teams_len, teams[i], tl);
        mc->teams_len += tl;
    }
    if ((rc = mdb_cursor_open(ol_fold_txn(ctx), ol_fold_dbi(ctx, "team_people"), &c)))
        return rc;
    for (size_t i = 0; i < nt && !rc; i++)
        rc = members_of(c, teams[i], i, &mc->m);
    mdb_cursor_close(c);
    if (rc)
        return rc;
    if (mc->m.n)
        qsort_r(mc->m.v, mc->m.n, sizeof *mc->m.v, member_cmp, mc->m.names);
    mc->nt = nt;
    mc->valid = 1;
    return 0;
}

/* sums[i] = the person rows of week w of the members of teams[i] */
int util_team_sums(ol_fold_ctx *ctx, ol_week w, const char *const *teams, size_t nt, struct util_row *sums,
                   struct util_member_cache *mc)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    MDB_cursor *c = NULL;
    int rc = 0;
    memset(sums, 0, nt * sizeof *sums);
    if (!member_cache_holds(mc, teams, nt) && (rc = member_cache_fill(ctx, mc, teams, nt)))
        return rc;
    const struct util_members *m = &mc->m;
    if (!m->n)
        return 0;

    ol_key wk;
    ol_key_init(&wk);
    ol_key_i32(&wk, w);
    ol_key_u8(&wk, SCOPE_PERSON);
    if ((rc = mdb_cursor_open(txn, ol_fold_dbi(ctx, "util"), &c)))
        return rc;
    MDB_val k = ol_key_val(&wk), v;
    size_t j = 0;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0 && j < m->n;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size <= wk.n || memcmp(k.mv_data, wk.b, wk.n))
            break;
        const char *person = (const char *)k.mv_data + wk.n;
        if (!memchr(person, '\0', k.mv_size - wk.n) || v.mv_size < sizeof(struct util_row)) {
            rc = MDB_CORRUPTED;
            break;
        }
        while (j < m->n && strcmp(m->names + m->v[j].person, person) < 0)
            j++;
        struct util_row r;
        int have = 0;
        for (size_t e = j; e < m->n && !strcmp(m->names + m->v[e].person, person); e++) {
            if (!have)
                memcpy(&r, v.mv_data, sizeof r), have = 1;
            util_row_add(&sums[m->v[e].team], &r);
        }
    }
    if (rc == MDB_NOTFOUND)
        rc = 0;
    mdb_cursor_close(c);
    return rc;
}

