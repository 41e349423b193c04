/* flush — end of batch: moves the horizon when the data week changed (every
 * key of the new horizon is recomputed, rows of weeks that left it are
 * dropped), then recomputes the dirty person-weeks, the team- and org-weeks
 * and role-weeks they touch, and the dirty engagements, and emits what
 * changed. Figures come from the surviving versions only, so any arrival
 * order of the same records gives the same bytes. */
#include "forecast.h"
#include "ol_av.h"
#include "ol_weekset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* ------------------------------------------------------------ weekly rows */
static int emit_row(ol_fold_ctx *ctx, ol_week w, int scope, const char *id, const struct fc_row *r, int only_if_prev)
{
    static const char *scope_names[] = {"PERSON", "TEAM", "ORG"};
    char key[600], wk[9];
    avro_value_t *prev;
    ol_drec *v;

    ol_week_format(w, wk);
    snprintf(key, sizeof key, "%s|%s|%s", scope_names[scope], id, wk);
    if (only_if_prev) {
        int has = ol_fold_derived_prev(ctx, "ops.forecast.weekly", key, &prev);
        if (has <= 0)
            return has;
    }
    if (!(v = ol_fold_new_rec(ctx, "ops.forecast.weekly")))
        return -1;
    if (ol_drec_enum(v, "scope", scope) || ol_drec_str(v, "scope_id", id) || ol_drec_str(v, "week", wk) ||
        ol_drec_int(v, "available_minutes", r->available) || ol_drec_int(v, "allocated_minutes", r->allocated) ||
        ol_drec_int(v, "proposed_minutes", r->proposed) || ol_drec_int(v, "billable_minutes", r->billable) ||
        ol_drec_opt_int(v, "utilisation_bp", r->has_bp, r->bp) || ol_drec_int(v, "bench_minutes", r->bench) ||
        ol_drec_bool(v, "overallocated", r->over))
        return -1;
    int rc = ol_fold_emit_rec(ctx, "ops.forecast.weekly", key, v);
    return rc < 0 ? rc : 0;
}

static int flush_person(ol_fold_ctx *ctx, const char *person, ol_week w, ol_weekset *teams, ol_weekset *roles)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    MDB_dbi weekly = ol_fold_dbi(ctx, "weekly");
    struct fc_person p;
    struct fc_row row;
    const char *team, *role;
    int rc = fc_person_load(txn, ol_fold_dbi(ctx, "people"), person, &p, NULL, &team, &role);
    if (rc == MDB_NOTFOUND)
        return 0; /* allocations of a person not yet seen: counted when the person arrives */
    if (rc || (rc = fc_person_week(ctx, person, w, &p, &row)))
        return rc;
    if ((rc = ol_weekset_add(teams, team, w)) || (rc = ol_weekset_add(roles, role, w)))
        return rc;
    if (row.capacity == 0 && row.allocated == 0 && row.proposed == 0) {
        /* not employed that week: no row (an earlier emission is brought to zero) */
        if ((rc = fc_row_del(txn, weekly, w, SCOPE_PERSON, person)))
            return rc;
        return emit_row(ctx, w, SCOPE_PERSON, person, &row, 1);
    }
    if ((rc = fc_row_put(txn, weekly, w, SCOPE_PERSON, person, &row, team)))
        return rc;
    return emit_row(ctx, w, SCOPE_PERSON, person, &row, 0);
}

/* team-week: the sum over the team's people with billable = true */
static int flush_team(ol_fold_ctx *ctx, const char *team, ol_week w)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    MDB_dbi weekly = ol_fold_dbi(ctx, "weekly"), people = ol_fold_dbi(ctx, "people");
    struct fc_row sum, r;
    MDB_cursor *c;
    ol_key tk;
    int rc, members = 0;

    memset(&sum, 0, sizeof sum);
    ol_key_init(&tk);
    ol_key_str(&tk, team);
    if ((rc = mdb_cursor_open(txn, ol_fold_dbi(ctx, "team_people"), &c)))
        return rc;
    MDB_val k = ol_key_val(&tk), v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size <= tk.n || memcmp(k.mv_data, tk.b, tk.n))
            break;
        const char *person = (const char *)k.mv_data + tk.n;
        struct fc_person p;
        members++;
        if (fc_person_load(txn, people, person, &p, NULL, NULL, NULL) || !p.billable)
            continue;
        int g = fc_row_get(txn, weekly, w, SCOPE_PERSON, person, &r, NULL);
        if (g == MDB_NOTFOUND)
            continue;
        if ((rc = g))
            break;
        fc_row_add(&sum, &r);
    }
    mdb_cursor_close(c);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    fc_row_finish(&sum, 0);
    if (!members) {
        if ((rc = fc_row_del(txn, weekly, w, SCOPE_TEAM, team)))
            return rc;
        return emit_row(ctx, w, SCOPE_TEAM, team, &sum, 1);
    }
    if ((rc = fc_row_put(txn, weekly, w, SCOPE_TEAM, team, &sum, team)))
        return rc;
    return emit_row(ctx, w, SCOPE_TEAM, team, &sum, 0);
}

/* org-week: the sum of the team rows (each already billable people only) */
static int flush_org(ol_fold_ctx *ctx, ol_week w)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    MDB_dbi weekly = ol_fold_dbi(ctx, "weekly");
    struct fc_row sum, r;
    MDB_cursor *c;
    ol_key wk;
    int rc;

    memset(&sum, 0, sizeof sum);
    ol_key_init(&wk);
    ol_key_i32(&wk, w);
    ol_key_u8(&wk, SCOPE_TEAM);
    if ((rc = mdb_cursor_open(txn, weekly, &c)))
        return rc;
    MDB_val k = ol_key_val(&wk), v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size <= wk.n || memcmp(k.mv_data, wk.b, wk.n))
            break;
        memcpy(&r, v.mv_data, sizeof r);
        fc_row_add(&sum, &r);
    }
    mdb_cursor_close(c);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    fc_row_finish(&sum, 0);
    if ((rc = fc_row_put(txn, weekly, w, SCOPE_ORG, "org", &sum, "org")))
        return rc;
    return emit_row(ctx, w, SCOPE_ORG, "org", &sum, 0);
}

/* ------------------------------------------------------------ the horizon */
/* marks with tag every distinct first string of a database's keys, for
 * every horizon week (weeks = 1) or once (weeks = 0) */
static int mark_each(ol_fold_ctx *ctx, const char *db, uint8_t tag, int weeks, ol_week h0)
{
    MDB_cursor *c;
    MDB_val k, v;
    char last[512] = "";
    int rc, any = 0;
    if ((rc = mdb_cursor_open(ol_fold_txn(ctx), ol_fold_dbi(ctx, db), &c)))
        return rc;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        const char *s = k.mv_data;
        if (any && !strcmp(s, last))
            continue;
        any = 1;
        snprintf(last, sizeof last, "%s", s);
        if (!weeks)
            rc = fc_mark_str(ctx, tag, s);
        for (int i = 0; weeks && i < FC_HORIZON && !rc; i++)
            rc = tag == 'P' ? fc_mark_pw(ctx, s, ol_week_add(h0, i)) : fc_mark_rw(ctx, s, ol_week_add(h0, i));
        if (rc)
            break;
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* rows (keys starting with the week) of weeks before h0 */
static int prune(ol_fold_ctx *ctx, const char *db, ol_week h0)
{
    MDB_cursor *c;
    MDB_val k, v;
    int rc;
    if ((rc = mdb_cursor_open(ol_fold_txn(ctx), ol_fold_dbi(ctx, db), &c)))
        return rc;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size < 4 || ol_key_get_i32(k.mv_data) >= h0)
            break;
        if ((rc = mdb_cursor_del(c, 0)))
            break;
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int move_horizon(ol_fold_ctx *ctx, ol_week h0)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    MDB_dbi fm = ol_fold_dbi(ctx, "fmeta");
    int32_t was = 0;
    int rc = ol_named_get_i32(txn, fm, "horizon_first", &was);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    if (rc == 0 && was == h0)
        return 0;
    if ((rc = mark_each(ctx, "people", 'P', 1, h0)) || (rc = mark_each(ctx, "role_people", 'R', 1, h0)) ||
        (rc = mark_each(ctx, "open_roles", 'R', 1, h0)) || (rc = mark_each(ctx, "engs", 'E', 0, h0)) ||
        (rc = prune(ctx, "weekly", h0)) || (rc = prune(ctx, "demand", h0)))
        return rc;
    return ol_named_put_i32(txn, fm, "horizon_first", h0);
}

int fc_flush(ol_fold_ctx *ctx)
{
    ol_weekset teams = {0}, orgs = {0}, roles = {0};
    const MDB_val *keys;
    ol_week h0 = fc_horizon_first(ctx), h1 = ol_week_add(h0, FC_HORIZON - 1);
    int rc;

    if (ol_fold_data_time(ctx) <= 0)
        return 0; /* no dated input yet: no horizon */
    if ((rc = move_horizon(ctx, h0)))
        return rc;
    size_t n = ol_fold_dirty(ctx, &keys);
    for (size_t i = 0; i < n && !rc; i++) {
        const uint8_t *k = keys[i].mv_data;
        const char *name = (const char *)k + 1;
        if (k[0] == 'E')
            continue;
        ol_week w = ol_key_get_i32(k + keys[i].mv_size - 4);
        if (w < h0 || w > h1)
            continue; /* marked before the horizon moved on in this batch */
        if (k[0] == 'P')
            rc = flush_person(ctx, name, w, &teams, &roles);
        else if (k[0] == 'T')
            rc = ol_weekset_add(&teams, name, w);
        else if (k[0] == 'R')
            rc = ol_weekset_add(&roles, name, w);
    }
    ol_weekset_sort(&teams);
    for (size_t i = 0; i < teams.n && !rc; i++) {
        ol_week w = ol_weekset_week(teams.v[i]);
        if (!(rc = flush_team(ctx, ol_weekset_name(teams.v[i]), w)))
            rc = ol_weekset_add(&orgs, "", w);
    }
    ol_weekset_sort(&orgs);
    for (size_t i = 0; i < orgs.n && !rc; i++)
        rc = flush_org(ctx, ol_weekset_week(orgs.v[i]));
    ol_weekset_sort(&roles);
    for (size_t i = 0; i < roles.n && !rc; i++)
        rc = fc_demand(ctx, ol_weekset_name(roles.v[i]), ol_weekset_week(roles.v[i]));
    for (size_t i = 0; i < n && !rc; i++) {
        const uint8_t *k = keys[i].mv_data;
        if (k[0] == 'E')
            rc = fc_engagement(ctx, (const char *)k + 1);
    }
    ol_weekset_free(&teams);
    ol_weekset_free(&orgs);
    ol_weekset_free(&roles);
    return rc;
}
