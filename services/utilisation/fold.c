/* fold — keeps the utilisation indexes as input entities change (apply) and
 * recomputes every dirty person-, team- and org-week at the end of a batch
 * (flush). Figures are always recomputed from the surviving versions, never
 * patched, so any arrival order gives the same bytes. */
#include "ol_av.h"
#include "ol_log.h"
#include "ol_weekset.h"
#include "util.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ dirty marks */
static int mark_pw(ol_fold_ctx *ctx, const char *person, ol_week w)
{
    ol_key k;
    ol_key_init(&k);
    ol_key_u8(&k, 'P');
    ol_key_str(&k, person);
    ol_key_i32(&k, w);
    return ol_fold_mark(ctx, k.b, k.n);
}

static int mark_tw(ol_fold_ctx *ctx, const char *team, ol_week w)
{
    ol_key k;
    ol_key_init(&k);
    ol_key_u8(&k, 'T');
    ol_key_str(&k, team);
    ol_key_i32(&k, w);
    return ol_fold_mark(ctx, k.b, k.n);
}

/* the oldest week the window may reach: history_weeks back from the week of
 * the data time */
static ol_week window_floor(ol_fold_ctx *ctx)
{
    struct util_state *s = ol_fold_state(ctx);
    ol_week data_week = ol_week_of((int32_t)(ol_fold_data_time(ctx) / 86400000));
    return ol_week_add(data_week, -(s->history_weeks - 1));
}

/* the reporting window [first, last]: from the earliest week with an entry
 * (at most history_weeks back) to the week of the data time. The earliest
 * week is week_time's first key (week first): the surviving versions', so
 * an entry amended to a later week takes the window with it, in whatever
 * order its versions arrived (a stored minimum that only moved back made
 * the rows depend on the order). Empty (first > last) before any entry. */
static int window(ol_fold_ctx *ctx, ol_week *first, ol_week *last)
{
    MDB_cursor *c;
    MDB_val k, v;
    int rc = mdb_cursor_open(ol_fold_txn(ctx), ol_fold_dbi(ctx, "week_time"), &c);
    if (rc)
        return rc;
    rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    int32_t min_week = rc == 0 && k.mv_size >= 4 ? ol_key_get_i32(k.mv_data) : 0;
    mdb_cursor_close(c);
    if (rc == MDB_NOTFOUND) {
        *first = 1, *last = 0; /* empty */
        return 0;
    }
    if (rc)
        return rc;
    if (k.mv_size < 4)
        return MDB_CORRUPTED;
    ol_week floor_week = window_floor(ctx);
    *first = min_week > floor_week ? min_week : floor_week;
    *last = ol_week_of((int32_t)(ol_fold_data_time(ctx) / 86400000));
    return 0;
}

/* every week of the window and every week the person has entries in */
static int mark_person_weeks(ol_fold_ctx *ctx, const char *person)
{
    ol_week first, last;
    int rc = window(ctx, &first, &last);
    if (rc)
        return rc;
    for (ol_week w = first; first <= last && w <= last; w = ol_week_add(w, 1))
        if ((rc = mark_pw(ctx, person, w)))
            return rc;
    MDB_cursor *c;
    ol_key pk;
    ol_key_init(&pk);
    ol_key_str(&pk, person);
    if ((rc = mdb_cursor_open(ol_fold_txn(ctx), ol_fold_dbi(ctx, "person_weeks"), &c)))
        return rc;
    MDB_val k = ol_key_val(&pk), v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size != pk.n + 4 || memcmp(k.mv_data, pk.b, pk.n))
            break;
        if ((rc = mark_pw(ctx, person, ol_key_get_i32((const uint8_t *)k.mv_data + pk.n))))
            break;
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int mark_range(ol_fold_ctx *ctx, const char *person, int32_t first, int32_t last)
{
    int rc = 0;
    if (last < first)
        return 0;
    for (ol_week w = ol_week_of(first); w <= ol_week_of(last) && !rc; w = ol_week_add(w, 1))
        rc = mark_pw(ctx, person, w);
    return rc;
}

/* ------------------------------------------------------------ apply per topic */
static int apply_person(ol_fold_ctx *ctx, avro_value_t *nv, avro_value_t *old)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    const char *id = ol_av_str(nv, "person_id"), *team = ol_av_str(nv, "team"), *name = ol_av_str(nv, "name");
    struct util_person p = {0};
    int rc;

    p.joined = ol_av_int(nv, "joined_on", 0);
    p.left = ol_av_present(nv, "left_on") ? ol_av_int(nv, "left_on", INT32_MAX) : INT32_MAX;
    p.weekly_capacity = ol_av_int(nv, "weekly_capacity_minutes", 0);
    p.working_days = (uint8_t)ol_av_int(nv, "working_days", 31);
    p.billable = (uint8_t)ol_av_bool(nv, "billable");

    size_t nl = strlen(name) + 1, tl = strlen(team) + 1;
    ol_key k;
    ol_key_init(&k);
    ol_key_str(&k, id);
    MDB_val kv = ol_key_val(&k), v = {sizeof p + nl + tl, NULL};
    if ((rc = mdb_put(txn, ol_fold_dbi(ctx, "people"), &kv, &v, MDB_RESERVE)))
        return rc;
    memcpy(v.mv_data, &p, sizeof p);
    memcpy((char *)v.mv_data + sizeof p, name, nl);
    memcpy((char *)v.mv_data + sizeof p + nl, team, tl);

    MDB_dbi tp = ol_fold_dbi(ctx, "team_people");
    if (old && strcmp(ol_av_str(old, "team"), team) != 0) {
        /* moved team: the old team's weeks lose this person */
        const char *ot = ol_av_str(old, "team");
        ol_key_init(&k);
        ol_key_str(&k, ot);
        ol_key_str(&k, id);
        kv = ol_key_val(&k);
        if ((rc = mdb_del(txn, tp, &kv, NULL)) && rc != MDB_NOTFOUND)
            return rc;
        ol_week first, last;
        if ((rc = window(ctx, &first, &last)))
            return rc;
        for (ol_week w = first; first <= last && w <= last; w = ol_week_add(w, 1))
            if ((rc = mark_tw(ctx, ot, w)))
                return rc;
    }
    ol_key_init(&k);
    ol_key_str(&k, team);
    ol_key_str(&k, id);
    /* a team-week sums its billable members without loading each */
    if ((rc = ol_put_key_unless_same(txn, tp, &k, &p.billable, 1)))
        return rc;
    return mark_person_weeks(ctx, id);
}

static int apply_leave(ol_fold_ctx *ctx, avro_value_t *nv, avro_value_t *old)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    MDB_dbi dbi = ol_fold_dbi(ctx, "leaves");
    struct ol_leave l;
    int rc;

    if (old) {
        if ((rc = ol_leave_index(txn, dbi, old, 0, &l)) ||
            (rc = mark_range(ctx, ol_av_str(old, "person_id"), l.first, l.last)))
            return rc;
    }
    if ((rc = ol_leave_index(txn, dbi, nv, 1, &l)))
        return rc;
    return mark_range(ctx, ol_av_str(nv, "person_id"), l.first, l.last);
}

/* person_weeks holds (person, week) exactly while the person has an entry
 * in the week: added with the first, removed with the last */
static int person_week_add(MDB_txn *txn, MDB_dbi pw, const char *person, ol_week w)
{
    ol_key k;
    util_person_week_key(&k, person, w);
    return ol_put_key_unless_same(txn, pw, &k, "", 0);
}

static int person_week_drop_if_empty(MDB_txn *txn, MDB_dbi wt, MDB_dbi pw, const char *person, ol_week w)
{
    int left, rc = util_time_left(txn, wt, w, person, &left);
    if (rc || left)
        return rc;
    ol_key k;
    util_person_week_key(&k, person, w);
    MDB_val kv = ol_key_val(&k);
    rc = mdb_del(txn, pw, &kv, NULL);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* eng_pw holds (engagement, person, week) exactly while a week_time row of
 * the person-week is on the engagement: dropped with the last such entry,
 * so the index is a function of the surviving versions like the rest */
static int eng_pw_drop_if_empty(MDB_txn *txn, MDB_dbi wt, MDB_dbi epw, const char *eng, const char *person,
                                ol_week w)
{
    ol_key pk, k;
    MDB_cursor *c;
    MDB_val kv, v;
    ol_key_init(&pk);
    ol_key_i32(&pk, w);
    ol_key_str(&pk, person);
    ol_key_str(&pk, eng);
    if (pk.overflow)
        return -1;
    int rc = mdb_cursor_open(txn, wt, &c);
    if (rc)
        return rc;
    kv = ol_key_val(&pk);
    rc = mdb_cursor_get(c, &kv, &v, MDB_SET_RANGE);
    int left = rc == 0 && kv.mv_size > pk.n && !memcmp(kv.mv_data, pk.b, pk.n);
    mdb_cursor_close(c);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    if (left)
        return 0;
    util_eng_pw_key(&k, eng, person, w);
    return ol_del_key(txn, epw, &k);
}

/* adds (sign 1) or takes back (sign -1) one version of an entry in its
 * person-week's summed time */
static int entry_time(MDB_txn *txn, MDB_dbi wt, avro_value_t *v, int sign, ol_week *w, int *fresh)
{
    *w = ol_week_of(ol_av_int(v, "work_date", 0));
    int32_t counted = util_time_counted((uint8_t)ol_av_enum(v, "status"), ol_av_int(v, "minutes", 0));
    return util_time_add(txn, wt, *w, ol_av_str(v, "person_id"), ol_av_str(v, "engagement_id"),
                         (uint8_t)ol_av_enum(v, "activity"), sign * (int64_t)counted, sign, fresh);
}

static int apply_entry(ol_fold_ctx *ctx, avro_value_t *nv, avro_value_t *old)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    MDB_dbi wt = ol_fold_dbi(ctx, "week_time"), pw = ol_fold_dbi(ctx, "person_weeks");
    const char *person = ol_av_str(nv, "person_id"), *eng = ol_av_str(nv, "engagement_id");
    ol_key k;
    ol_week w;
    int rc, fresh;

    if (old) {
        const char *op = ol_av_str(old, "person_id");
        ol_week ow;
        const char *oeng = ol_av_str(old, "engagement_id");
        if ((rc = entry_time(txn, wt, old, -1, &ow, NULL)) ||
            (rc = person_week_drop_if_empty(txn, wt, pw, op, ow)) ||
            (*oeng && (rc = eng_pw_drop_if_empty(txn, wt, ol_fold_dbi(ctx, "eng_pw"), oeng, op, ow))) ||
            (rc = mark_pw(ctx, op, ow)))
            return rc;
    }
    /* a row that already held an entry means the person-week is in
     * person_weeks: the look-up there (person first, a random page) is
     * needed only for the first entry of a row */
    if ((rc = entry_time(txn, wt, nv, 1, &w, &fresh)) || (fresh && (rc = person_week_add(txn, pw, person, w))))
        return rc;
    if (*eng) {
        /* remember who logged on the engagement, to reclassify on its change */
        util_eng_pw_key(&k, eng, person, w);
        if ((rc = ol_put_key_unless_same(txn, ol_fold_dbi(ctx, "eng_pw"), &k, "", 0)))
            return rc;
    }
    return mark_pw(ctx, person, w);
}

static int apply_engagement(ol_fold_ctx *ctx, avro_value_t *nv, avro_value_t *old)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    const char *id = ol_av_str(nv, "engagement_id");
    uint8_t billing = (uint8_t)ol_av_enum(nv, "billing");
    ol_key k;
    int rc;

    if (old && ol_av_enum(old, "billing") == billing)
        return 0; /* classification unchanged: nothing to recompute */
    ol_key_init(&k);
    ol_key_str(&k, id);
    MDB_val kv = ol_key_val(&k), v = {1, &billing};
    if ((rc = mdb_put(txn, ol_fold_dbi(ctx, "engagements"), &kv, &v, 0)))
        return rc;
    MDB_cursor *c;
    if ((rc = mdb_cursor_open(txn, ol_fold_dbi(ctx, "eng_pw"), &c)))
        return rc;
    for (rc = mdb_cursor_get(c, &kv, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &kv, &v, MDB_NEXT)) {
        if (kv.mv_size < k.n + 5 || memcmp(kv.mv_data, k.b, k.n))
            break;
        const char *person = (const char *)kv.mv_data + k.n;
        ol_week w = ol_key_get_i32((const uint8_t *)kv.mv_data + kv.mv_size - 4);
        if ((rc = mark_pw(ctx, person, w)))
            break;
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int util_apply(ol_fold_ctx *ctx, const ol_event *ev, avro_value_t *old)
{
    const char *t = ev->rec->topic;
    if (!strcmp(t, "hr.person"))
        return apply_person(ctx, ev->value, old);
    if (!strcmp(t, "hr.leave"))
        return apply_leave(ctx, ev->value, old);
    if (!strcmp(t, "timesheet.entry"))
        return apply_entry(ctx, ev->value, old);
    if (!strcmp(t, "delivery.engagement"))
        return apply_engagement(ctx, ev->value, old);
    return 0;
}

/* ------------------------------------------------------------ flush */
static int emit_row(ol_fold_ctx *ctx, ol_week w, int scope, const char *id, const char *team,
                    const struct util_row *r)
{
    static const char *scope_names[] = {"PERSON", "TEAM", "ORG"};
    char key[600], wk[9];
    ol_drec *v;
    int32_t d_bill = r->billable, d_avail = r->available;

    ol_week_format(w, wk);
    snprintf(key, sizeof key, "%s|%s|%s", scope_names[scope], id, wk);
    static const char *const figures[] = {"billable_minutes", "available_minutes"};
    int32_t before[2];
    int has = ol_fold_derived_prev_ints(ctx, "ops.utilisation.weekly", key, figures, before, 2, 0);
    if (has < 0)
        return -1;
    if (has) {
        d_bill -= before[0];
        d_avail -= before[1];
    }
    if (!(v = ol_fold_new_rec(ctx, "ops.utilisation.weekly")))
        return -1;
    if (ol_drec_enum(v, "scope", scope) || ol_drec_str(v, "scope_id", id) || ol_drec_str(v, "week", wk) ||
        ol_drec_str(v, "team", team) || ol_drec_int(v, "capacity_minutes", r->capacity) ||
        ol_drec_int(v, "leave_minutes", r->leave) || ol_drec_int(v, "available_minutes", r->available) ||
        ol_drec_int(v, "billable_minutes", r->billable) ||
        ol_drec_int(v, "sales_support_minutes", r->nonbill[NB_SALES]) ||
        ol_drec_int(v, "training_minutes", r->nonbill[NB_TRAINING]) ||
        ol_drec_int(v, "internal_minutes", r->nonbill[NB_INTERNAL]) ||
        ol_drec_int(v, "bench_minutes", r->nonbill[NB_BENCH]) ||
        ol_drec_int(v, "live_support_minutes", r->nonbill[NB_LIVE]) ||
        ol_drec_int(v, "non_billable_delivery_minutes", r->nonbill[NB_DELIVERY]) ||
        ol_drec_int(v, "unclassified_minutes", r->unclassified) || ol_drec_int(v, "logged_minutes", r->logged) ||
        ol_drec_opt_int(v, "utilisation_bp", r->has_bp, r->bp) || ol_drec_int(v, "target_bp", r->target_bp) ||
        ol_drec_bool(v, "below_target", r->below) || ol_drec_int(v, "people", r->people) ||
        ol_drec_int(v, "delta_billable_minutes", d_bill) || ol_drec_int(v, "delta_available_minutes", d_avail))
        return -1;
    int rc = ol_fold_emit_rec(ctx, "ops.utilisation.weekly", key, v);
    return rc < 0 ? rc : 0;
}

/* a week that has ended by data time whose logged time does not cover the
 * available time; re-emitted (to 0 missing) when it becomes covered */
static int emit_missing(ol_fold_ctx *ctx, const char *person, const char *team, ol_week w,
                        const struct util_row *r)
{
    char key[600], wk[9];
    ol_drec *v;
    int32_t data_day = (int32_t)(ol_fold_data_time(ctx) / 86400000);
    if (data_day < ol_week_monday(w) + 7)
        return 0;
    int32_t missing = r->available > r->logged ? r->available - r->logged : 0;
    ol_week_format(w, wk);
    snprintf(key, sizeof key, "%s|%s", person, wk);
    static const char *const figures[] = {"missing_minutes"};
    int32_t before = 0;
    int has = ol_fold_derived_prev_ints(ctx, "ops.timesheet.missing", key, figures, &before, 1, 0);
    if (has < 0)
        return -1;
    if (!has && missing == 0)
        return 0;
    int32_t delta = missing - before;
    if (!(v = ol_fold_new_rec(ctx, "ops.timesheet.missing")))
        return -1;
    if (ol_drec_str(v, "person_id", person) || ol_drec_str(v, "team", team) || ol_drec_str(v, "week", wk) ||
        ol_drec_int(v, "available_minutes", r->available) || ol_drec_int(v, "logged_minutes", r->logged) ||
        ol_drec_int(v, "missing_minutes", missing) || ol_drec_int(v, "delta_missing_minutes", delta))
        return -1;
    int rc = ol_fold_emit_rec(ctx, "ops.timesheet.missing", key, v);
    return rc < 0 ? rc : 0;
}

static int flush_person(ol_fold_ctx *ctx, const char *person, ol_week w, ol_weekset *teams)
{
    struct util_state *s = ol_fold_state(ctx);
    MDB_txn *txn = ol_fold_txn(ctx);
    MDB_dbi util = ol_fold_dbi(ctx, "util");
    struct util_person p;
    struct util_row row, old;
    const char *team, *old_team;
    int rc = util_person_load(txn, ol_fold_dbi(ctx, "people"), person, &p, NULL, &team);
    if (rc == MDB_NOTFOUND)
        return 0; /* time for a person not yet seen: counted when the person arrives */
    if (rc)
        return rc;
    if ((rc = util_person_week(ctx, person, w, &p, &row)))
        return rc;
    int had = util_row_get(txn, util, w, SCOPE_PERSON, person, &old, &old_team);
    if (had && had != MDB_NOTFOUND)
        return had;
    /* A row exists exactly when the week is in the window and the person is
     * employed in it, or the person logged time in it: a function of the
     * surviving versions alone, never of the order they arrived in. */
    ol_week first, last;
    if ((rc = window(ctx, &first, &last)))
        return rc;
    int keep = (w >= first && w <= last && row.capacity > 0) || row.logged > 0;
    if (!keep) {
        if (had == MDB_NOTFOUND)
            return 0;
        ol_key k;
        ol_key_init(&k);
        ol_key_i32(&k, w);
        ol_key_u8(&k, SCOPE_PERSON);
        ol_key_str(&k, person);
        MDB_val kv = ol_key_val(&k);
        /* old_team points into the row: use it before the row is deleted */
        if ((rc = ol_weekset_add(teams, old_team, w)) || (rc = ol_weekset_add(teams, team, w)))
            return rc;
        if ((rc = mdb_del(txn, util, &kv, NULL)))
            return rc;
        memset(&row, 0, sizeof row);
        util_row_finish(&row, s->target_bp, 0);
        /* the key's figures are now zero, and nothing is missing any more */
        if ((rc = emit_row(ctx, w, SCOPE_PERSON, person, team, &row)))
            return rc;
        return emit_missing(ctx, person, team, w, &row);
    }
    if (had == 0 && strcmp(old_team, team) && (rc = ol_weekset_add(teams, old_team, w)))
        return rc;
    row.people = p.billable && row.capacity > 0 ? 1 : 0;
    util_row_finish(&row, s->target_bp, p.billable);
    if ((rc = util_row_put(txn, util, w, SCOPE_PERSON, person, &row, team)))
        return rc;
    if ((rc = ol_weekset_add(teams, team, w)))
        return rc;
    if ((rc = emit_row(ctx, w, SCOPE_PERSON, person, team, &row)))
        return rc;
    return emit_missing(ctx, person, team, w, &row);
}

/* the dirty teams of week w (teams[0..nt)): summed, stored and emitted */
static int flush_teams(ol_fold_ctx *ctx, ol_week w, const char *const *teams, size_t nt,
                       struct util_member_cache *mc)
{
    struct util_state *s = ol_fold_state(ctx);
    MDB_dbi util = ol_fold_dbi(ctx, "util");
    struct util_row *sums = malloc((nt ? nt : 1) * sizeof *sums);
    int rc;
    if (!sums)
        return -1;
    rc = util_team_sums(ctx, w, teams, nt, sums, mc);
    for (size_t i = 0; i < nt && !rc; i++) {
        util_row_finish(&sums[i], s->target_bp, 1);
        if (!(rc = util_row_put(ol_fold_txn(ctx), util, w, SCOPE_TEAM, teams[i], &sums[i], teams[i])))
            rc = emit_row(ctx, w, SCOPE_TEAM, teams[i], teams[i], &sums[i]);
    }
    free(sums);
    return rc;
}

/* org-week: the sum of the team rows (each already billable people only) */
static int flush_org(ol_fold_ctx *ctx, ol_week w)
{
    struct util_state *s = ol_fold_state(ctx);
    MDB_txn *txn = ol_fold_txn(ctx);
    MDB_dbi util = ol_fold_dbi(ctx, "util");
    struct util_row sum, r;
    MDB_cursor *c;
    ol_key wk;
    int rc, people = 0;

    memset(&sum, 0, sizeof sum);
    ol_key_init(&wk);
    ol_key_i32(&wk, w);
    ol_key_u8(&wk, SCOPE_TEAM);
    if ((rc = mdb_cursor_open(txn, util, &c)))
        return rc;
    MDB_val k = ol_key_val(&wk), v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size <= wk.n || memcmp(k.mv_data, wk.b, wk.n))
            break;
        memcpy(&r, v.mv_data, sizeof r);
        util_row_add(&sum, &r);
        people += r.people;
    }
    mdb_cursor_close(c);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    sum.people = people;
    util_row_finish(&sum, s->target_bp, 1);
    if ((rc = util_row_put(txn, util, w, SCOPE_ORG, "org", &sum, "org")))
        return rc;
    return emit_row(ctx, w, SCOPE_ORG, "org", "org", &sum);
}

/* weeks that entered the window since the last batch, the week that was
 * the last one (it has now ended: its missing timesheets are due), and the
 * weeks that left it at its start because the earliest entry moved later
 * (down to the history floor: older weeks keep their last figures): every
 * person's row */
static int extend_window(ol_fold_ctx *ctx)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    MDB_dbi um = ol_fold_dbi(ctx, "umeta");
    ol_week first, last, floor_week = window_floor(ctx);
    int32_t of = 1, ol = 0;
    int rc = window(ctx, &first, &last);
    if (rc)
        return rc;
    int r1 = ol_named_get_i32(txn, um, "window_first", &of), r2 = ol_named_get_i32(txn, um, "window_last", &ol);
    if ((r1 && r1 != MDB_NOTFOUND) || (r2 && r2 != MDB_NOTFOUND))
        return r1 ? r1 : r2;
    if (r1 || r2)
        of = 1, ol = 0;
    if ((of == first && ol == last) || (first > last && of > ol))
        return 0;
    /* [left_from, left_to): weeks of the old window before the new start */
    ol_week after_old = ol_week_add(ol, 1);
    ol_week left_from = of > floor_week ? of : floor_week, left_to = first <= last && first < after_old ? first : after_old;
    if (of > ol)
        left_to = left_from; /* no old window */
    MDB_cursor *c;
    MDB_val k, v;
    if ((rc = mdb_cursor_open(txn, ol_fold_dbi(ctx, "people"), &c)))
        return rc;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        const char *person = k.mv_data;
        for (ol_week w = first; w <= last; w = ol_week_add(w, 1))
            if ((of > ol || w < of || w >= ol) && (rc = mark_pw(ctx, person, w)))
                goto out;
        for (ol_week w = left_from; w < left_to; w = ol_week_add(w, 1))
            if ((rc = mark_pw(ctx, person, w)))
                goto out;
    }
out:
    mdb_cursor_close(c);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    if ((rc = ol_named_put_i32(txn, um, "window_first", first)) || (rc = ol_named_put_i32(txn, um, "window_last", last)))
        return rc;
    return 0;
}

int util_flush(ol_fold_ctx *ctx)
{
    ol_weekset teams = {0}, orgs = {0};
    const MDB_val *keys;
    int rc;

    if ((rc = extend_window(ctx)))
        return rc;
    size_t n = ol_fold_dirty(ctx, &keys);
    for (size_t i = 0; i < n && !rc; i++) {
        const uint8_t *k = keys[i].mv_data;
        const char *name = (const char *)k + 1;
        ol_week w = ol_key_get_i32(k + keys[i].mv_size - 4);
        if (k[0] == 'P')
            rc = flush_person(ctx, name, w, &teams);
        else if (k[0] == 'T')
            rc = ol_weekset_add(&teams, name, w);
    }
    ol_weekset_sort(&teams);
    struct util_member_cache mc = {0};
    const char **names = malloc((teams.n ? teams.n : 1) * sizeof *names);
    if (!names)
        rc = -1;
    for (size_t i = 0; i < teams.n && !rc;) {
        /* the run of entries of one week (the set is sorted week first) */
        ol_week w = ol_weekset_week(teams.v[i]);
        size_t nt = 0;
        for (; i < teams.n && ol_weekset_week(teams.v[i]) == w; i++)
            names[nt++] = ol_weekset_name(teams.v[i]);
        if (!(rc = flush_teams(ctx, w, names, nt, &mc)))
            rc = ol_weekset_add(&orgs, "", w);
    }
    free(names);
    util_member_cache_free(&mc);
    ol_weekset_sort(&orgs);
    for (size_t i = 0; i < orgs.n && !rc; i++)
        rc = flush_org(ctx, ol_weekset_week(orgs.v[i]));
    ol_weekset_free(&teams);
    ol_weekset_free(&orgs);
    return rc;
}
