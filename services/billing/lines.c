/* lines — one billing line per engagement-person-week of a
 * TIME_AND_MATERIALS engagement, and one per rechargeable approved expense.
 *
 * amount_minor = sum over days of (approved minutes x day rate), divided by
 * minutes_per_day and rounded half away from zero once per line. The sum is
 * kept in 128 bits: 7 days x 1,440 minutes x any int64 rate cannot overflow.
 * A day whose role has no rate on the card makes the line unpriced: the
 * line is published with priced = false and its unpriced minutes, never with
 * a guessed rate; finance holds it. Currencies are never summed together:
 * a line has the engagement's currency. */
#include "billing.h"
#include "ol_rules.h"
#include "ol_av.h"
#include "ol_json.h"
#include "ol_log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A time line prices each of its days from the same few rows: the
 * person's allocations on the engagement, the rate card's rows for a role
 * and that role's rate changes. They are read once per line into a
 * struct day_rows and evaluated day by day (issue 15: read again for every
 * day, they were 10 % of a billing replay). Nothing is written to the
 * store between the reading and the line's last day, so `changes` may
 * point into LMDB's pages; the arrays are the line's, freed by
 * day_rows_free. */
#define ROLE_BUF (OL_ID_MAX_BYTES + 1) /* a role of the most bytes validation lets through, and its NUL */
struct alloc_row {
    struct bill_alloc a;
    char role[ROLE_BUF];
};
struct card_row {
    int32_t from;
    int64_t rate;
};
struct day_rows {
    struct alloc_row *alloc;
    size_t nalloc, alloc_cap;
    int have_allocs; /* alloc[] is read (at the line's first approved day) */
    int have_role;   /* card and changes are role's */
    char role[ROLE_BUF];
    struct card_row *card;
    size_t ncard, card_cap;
    MDB_val changes; /* the role's rate changes (struct rate_change[]), or empty */
};

static void day_rows_free(struct day_rows *r)
{
    free(r->alloc);
    free(r->card);
}

/* grows *arr (elements of size) to hold one more; 0 or ENOMEM */
static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 8;
    void *p = realloc(*arr, c * size);
    if (!p)
        return ENOMEM;
    *arr = p, *cap = c;
    return 0;
}

/* the allocations of person on eng, in key order (ids ascending) */
static int read_allocs(ol_fold_ctx *ctx, const char *person, const char *eng, struct day_rows *r)
{
    MDB_cursor *c;
    ol_key p;
    int rc;
    ol_key_init(&p);
    ol_key_str(&p, person);
    ol_key_str(&p, eng);
    if ((rc = mdb_cursor_open(ol_fold_txn(ctx), ol_fold_dbi(ctx, "allocs"), &c)))
        return rc;
    MDB_val k = ol_key_val(&p), v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size < p.n || memcmp(k.mv_data, p.b, p.n))
            break;
        if (v.mv_size < sizeof(struct bill_alloc)) {
            rc = MDB_CORRUPTED;
            break;
        }
        if ((rc = grow((void **)&r->alloc, &r->alloc_cap, r->nalloc, sizeof *r->alloc)))
            break;
        struct alloc_row *a = &r->alloc[r->nalloc++];
        memcpy(&a->a, v.mv_data, sizeof a->a);
        snprintf(a->role, sizeof a->role, "%.*s", (int)(v.mv_size - sizeof a->a), (const char *)v.mv_data + sizeof a->a);
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc;
}

/* the role of the person on the engagement at day: the CONFIRMED allocation
 * covering it (the latest starting one, then the largest id, when several
 * do), else ""; raises *at to the `at` of every allocation covering the
 * day, whatever its status (a cancelled one is why the day is priced
 * otherwise) */
static void allocation_role(const struct day_rows *r, int32_t day, char *role, size_t rl, int64_t *at)
{
    int32_t best_first = INT32_MIN;
    role[0] = '\0';
    for (size_t i = 0; i < r->nalloc; i++) {
        const struct bill_alloc *a = &r->alloc[i].a;
        if (day >= a->first && day <= a->last && a->at > *at)
            *at = a->at;
        if (a->status != ALLOC_CONFIRMED || day < a->first || day > a->last || a->first < best_first)
            continue;
        best_first = a->first; /* keys ascend by id, so ties go to the larger id */
        snprintf(role, rl, "%s", r->alloc[i].role);
    }
}

/* reads the card's rows for role (in card order) and role's rate changes,
 * unless they are role's already */
static int use_role(ol_fold_ctx *ctx, avro_value_t *eng, const char *eng_id, const char *role, struct day_rows *r)
{
    avro_value_t card;
    size_t n = 0;
    int rc;
    if (r->have_role && !strcmp(r->role, role))
        return 0;
    r->have_role = 1;
    snprintf(r->role, sizeof r->role, "%s", role);
    r->ncard = 0;
    if (ol_av_field(eng, "rate_card", &card) == 0 && avro_value_get_size(&card, &n) == 0)
        for (size_t i = 0; i < n; i++) {
            avro_value_t row;
            if (avro_value_get_by_index(&card, i, &row, NULL) || strcmp(ol_av_str(&row, "role"), role))
                continue;
            if ((rc = grow((void **)&r->card, &r->card_cap, r->ncard, sizeof *r->card)))
                return rc;
            r->card[r->ncard++] = (struct card_row){ol_av_int(&row, "effective_from", INT32_MAX),
                                                     ol_av_long(&row, "day_rate_minor", 0)};
        }
    return billing_rate_changes(ctx, eng_id, role, &r->changes);
}

/* the role's card row with the latest effective_from on or before day
 * (the later row of two alike) */
static int rate_for(const struct day_rows *r, int32_t day, int64_t *rate)
{
    int32_t best = INT32_MIN;
    int found = 0;
    for (size_t i = 0; i < r->ncard; i++) {
        if (r->card[i].from > day || r->card[i].from < best)
            continue;
        best = r->card[i].from;
        *rate = r->card[i].rate;
        found = 1;
    }
    return found;
}

/* 1 when the winning finance.period version of w is CLOSED, with its
 * occurred_at in *closed_at; 0 when open or unknown; -1 on error */
static int period_closed(ol_fold_ctx *ctx, ol_week w, int64_t *closed_at)
{
    char wk[9];
    avro_value_t *p;
    ol_week_format(w, wk);
    int rc = ol_fold_lookup(ctx, "finance.period", wk, &p);
    if (rc < 0)
        return -1;
    if (rc == 1 && ol_av_enum(p, "status") == PERIOD_CLOSED) {
        *closed_at = ol_av_long(p, "occurred_at", INT64_MAX);
        return 1;
    }
    return 0;
}

/* SPEC section 3: post_close when the week is CLOSED and an input the line
 * is computed from changed (in data time) after the record that closed it */
static int set_post_close(ol_fold_ctx *ctx, ol_week w, struct bill_line *l, int64_t inputs_at)
{
    int64_t closed_at = INT64_MAX;
    int rc = period_closed(ctx, w, &closed_at);
    if (rc < 0)
        return -1;
    l->closed = (uint8_t)rc;
    l->post_close = (uint8_t)(rc == 1 && inputs_at > closed_at);
    return 0;
}

static int store_line(ol_fold_ctx *ctx, ol_week w, const char *eng, const char *id, const struct bill_line *l,
                      const char *currency, const char *bill_to, const char *client, const char *role)
{
    ol_key k;
    ol_key_init(&k);
    ol_key_i32(&k, w);
    ol_key_str(&k, eng);
    ol_key_str(&k, id);
    const char *strs[] = {currency, bill_to, client, role, id};
    return ol_put_record(ol_fold_txn(ctx), ol_fold_dbi(ctx, "lines"), &k, l, sizeof *l, strs, 5);
}

/* fills and emits a finance.billing.line (l->closed and l->post_close set
 * by set_post_close); deltas against the last emitted line */
static int emit_line(ol_fold_ctx *ctx, const char *key, ol_week w, const char *eng, const char *person,
                     const char *expense, struct bill_line *l, const char *currency, const char *bill_to,
                     const char *client, const char *role)
{
    avro_value_t *prev;
    ol_drec *v;
    char wk[9];
    int64_t d_amount = l->amount;
    int32_t d_minutes = l->approved;
    int has = ol_fold_derived_prev(ctx, "finance.billing.line", key, &prev);
    if (has < 0)
        return -1;
    if (has) {
        d_amount = ol_money_sub(d_amount, ol_av_long(prev, "amount_minor", 0));
        d_minutes -= ol_av_int(prev, "approved_minutes", 0);
    }
    ol_week_format(w, wk);
    if (!(v = ol_fold_new_rec(ctx, "finance.billing.line")))
        return -1;
    if (ol_drec_enum(v, "kind", l->kind) || ol_drec_str(v, "engagement_id", eng) ||
        ol_drec_opt_str(v, "person_id", person) || ol_drec_opt_str(v, "expense_id", expense) ||
        ol_drec_str(v, "week", wk) || ol_drec_str(v, "client", client) || ol_drec_str(v, "bill_to", bill_to) ||
        ol_drec_opt_str(v, "role", role && *role ? role : NULL) ||
        ol_drec_int(v, "approved_minutes", l->approved) || ol_drec_int(v, "pending_minutes", l->pending) ||
        ol_drec_int(v, "unpriced_minutes", l->unpriced) ||
        ol_drec_opt_long(v, "day_rate_minor", l->has_rate, l->day_rate) ||
        ol_drec_int(v, "minutes_per_day", l->minutes_per_day) || ol_drec_long(v, "amount_minor", l->amount) ||
        ol_drec_long(v, "delta_minor", d_amount) || ol_drec_int(v, "delta_minutes", d_minutes) ||
        ol_drec_str(v, "currency", currency) || ol_drec_bool(v, "priced", l->priced) ||
        ol_drec_bool(v, "post_close", l->post_close) ||
        ol_drec_enum(v, "period_status", l->closed ? PERIOD_CLOSED : PERIOD_OPEN))
        return -1;
    int rc = ol_fold_emit_rec(ctx, "finance.billing.line", key, v);
    if (rc < 0)
        return rc;
    return store_line(ctx, w, eng, person ? person : expense, l, currency, bill_to, client, role ? role : "");
}

int billing_time_line(ol_fold_ctx *ctx, const char *eng_id, const char *person_id, ol_week w)
{
    avro_value_t *eng, *person, *prev;
    struct bill_line l;
    char key[600], wk[9], hr_role[ROLE_BUF] = "", role[ROLE_BUF] = "", last_role[ROLE_BUF] = "";
    int32_t approved[7] = {0}, mon = ol_week_monday(w);
    int64_t inputs_at = INT64_MIN, person_at = INT64_MIN; /* see set_post_close */
    __int128 sum = 0;
    int rc;

    memset(&l, 0, sizeof l);
    ol_week_format(w, wk);
    snprintf(key, sizeof key, "%s|%s|%s", eng_id, person_id, wk);
    if ((rc = ol_fold_lookup(ctx, "delivery.engagement", eng_id, &eng)) <= 0)
        return rc; /* not yet seen: nothing to price; marked again when it arrives */
    int tm = ol_av_enum(eng, "billing") == BILLING_TM;
    int has_prev = ol_fold_derived_prev(ctx, "finance.billing.line", key, &prev);
    if (has_prev < 0)
        return -1;
    if (!tm && !has_prev)
        return 0;
    /* copy what we need from the engagement before other look-ups */
    char currency[16], bill_to[256], client[256];
    snprintf(currency, sizeof currency, "%s", ol_av_str(eng, "currency"));
    snprintf(bill_to, sizeof bill_to, "%s", ol_av_str(eng, "bill_to"));
    snprintf(client, sizeof client, "%s", ol_av_str(eng, "client"));
    l.kind = KIND_TIME;
    l.minutes_per_day = ol_av_int(eng, "minutes_per_day", 450);
    if (l.minutes_per_day <= 0)
        l.minutes_per_day = 450;
    if ((rc = billing_changed_at_max(ctx, 'E', eng_id, NULL, &inputs_at)))
        return rc;

    if (tm) {
        MDB_cursor *c;
        ol_key p;
        ol_key_init(&p);
        ol_key_str(&p, eng_id);
        ol_key_str(&p, person_id);
        ol_key_i32(&p, w);
        if ((rc = mdb_cursor_open(ol_fold_txn(ctx), ol_fold_dbi(ctx, "ep_entries"), &c)))
            return rc;
        MDB_val k = ol_key_val(&p), v;
        for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            if (k.mv_size < p.n || memcmp(k.mv_data, p.b, p.n))
                break;
            struct bill_entry e;
            memcpy(&e, v.mv_data, sizeof e);
            if (e.at > inputs_at) /* every entry of the line counts, even one that no longer does */
                inputs_at = e.at;
            if (e.activity != ACT_DELIVERY || e.work_date < mon || e.work_date > mon + 6)
                continue;
            if (e.status == ENTRY_APPROVED)
                approved[e.work_date - mon] += e.minutes;
            else if (e.status == ENTRY_SUBMITTED)
                l.pending += e.minutes;
        }
        mdb_cursor_close(c);
        if (rc && rc != MDB_NOTFOUND)
            return rc;
        if ((rc = ol_fold_lookup(ctx, "hr.person", person_id, &person)) < 0)
            return -1;
        if (rc == 1)
            snprintf(hr_role, sizeof hr_role, "%s", ol_av_str(person, "role"));
        if ((rc = billing_changed_at_max(ctx, 'P', person_id, NULL, &person_at)))
            return rc;
        /* the engagement scratch value is still valid: lookups above were of other topics */
        struct day_rows rows = {0};
        for (int d = 0; d < 7; d++) {
            if (!approved[d])
                continue;
            int64_t rate = 0;
            l.approved += approved[d];
            if (!rows.have_allocs) { /* a line with nothing approved reads no allocation */
                rows.have_allocs = 1;
                if ((rc = read_allocs(ctx, person_id, eng_id, &rows)))
                    goto rows_done;
            }
            allocation_role(&rows, mon + d, role, sizeof role, &inputs_at);
            if (!role[0]) { /* the HR role prices the day: the person's role counts */
                snprintf(role, sizeof role, "%s", hr_role);
                if (person_at > inputs_at)
                    inputs_at = person_at;
            }
            if (role[0]) {
                if ((rc = use_role(ctx, eng, eng_id, role, &rows)))
                    goto rows_done;
                billing_rate_changes_max(&rows.changes, mon + d, &inputs_at);
            }
            snprintf(last_role, sizeof last_role, "%s", role);
            if (!role[0] || !rate_for(&rows, mon + d, &rate)) {
                l.unpriced += approved[d];
                l.has_rate = 0;
                continue;
            }
            l.has_rate = 1;
            l.day_rate = rate;
            sum += (__int128)approved[d] * rate;
        }
    rows_done:
        day_rows_free(&rows);
        if (rc)
            return rc;
        if (!has_prev && l.approved == 0 && l.pending == 0)
            return 0;
    }
    l.amount = ol_round_div(sum, l.minutes_per_day);
    l.priced = l.unpriced == 0;
    if (set_post_close(ctx, w, &l, inputs_at))
        return -1;
    return emit_line(ctx, key, w, eng_id, person_id, NULL, &l, currency, bill_to, client, last_role);
}

int billing_expense_line(ol_fold_ctx *ctx, const char *expense_id)
{
    avro_value_t *x, *eng, *prev;
    struct bill_line l;
    char eng_id[256], currency[16], bill_to[256] = "", client[256] = "";
    int64_t inputs_at = INT64_MIN; /* the expense's and the engagement's changed_at */
    int rc;

    memset(&l, 0, sizeof l);
    if ((rc = ol_fold_lookup(ctx, "finance.expense", expense_id, &x)) <= 0)
        return rc;
    int has_prev = ol_fold_derived_prev(ctx, "finance.billing.line", expense_id, &prev);
    if (has_prev < 0)
        return -1;
    int billable = ol_av_bool(x, "rechargeable") && ol_av_enum(x, "status") == EXP_APPROVED;
    if (!billable && !has_prev)
        return 0;
    snprintf(eng_id, sizeof eng_id, "%s", ol_av_str(x, "engagement_id"));
    snprintf(currency, sizeof currency, "%s", ol_av_str(x, "currency"));
    ol_week w = ol_week_of(ol_av_int(x, "incurred_on", 0));
    l.kind = KIND_EXPENSE;
    l.amount = billable ? ol_av_long(x, "amount_minor", 0) : 0;
    l.priced = 1;
    if ((rc = ol_fold_lookup(ctx, "delivery.engagement", eng_id, &eng)) < 0)
        return -1;
    if (rc == 1) {
        snprintf(bill_to, sizeof bill_to, "%s", ol_av_str(eng, "bill_to"));
        snprintf(client, sizeof client, "%s", ol_av_str(eng, "client"));
        l.minutes_per_day = ol_av_int(eng, "minutes_per_day", 450);
    }
    if ((rc = billing_changed_at_max(ctx, 'X', expense_id, NULL, &inputs_at)) ||
        (rc = billing_changed_at_max(ctx, 'E', eng_id, NULL, &inputs_at)))
        return rc;
    if (set_post_close(ctx, w, &l, inputs_at))
        return -1;
    return emit_line(ctx, expense_id, w, eng_id, NULL, expense_id, &l, currency, bill_to, client, NULL);
}
