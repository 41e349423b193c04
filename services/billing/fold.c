/* fold — keeps billing's indexes as entities change and marks exactly the
 * lines, expense lines and invoices each change can affect; flush recomputes
 * them from the surviving versions. */
#include "billing.h"
#include "ol_av.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int billing_mark_line(ol_fold_ctx *ctx, const char *eng, const char *person, ol_week w)
{
    ol_key k;
    ol_key_init(&k);
    ol_key_u8(&k, 'L');
    ol_key_str(&k, eng);
    ol_key_str(&k, person);
    ol_key_i32(&k, w);
    return ol_fold_mark(ctx, k.b, k.n);
}

static int mark_str(ol_fold_ctx *ctx, uint8_t tag, const char *id)
{
    ol_key k;
    ol_key_init(&k);
    ol_key_u8(&k, tag);
    ol_key_str(&k, id);
    return ol_fold_mark(ctx, k.b, k.n);
}

/* ---- changed_at: data time of the last change of what a line reads */

static void changed_key(ol_key *k, uint8_t tag, const char *a, const char *b)
{
    ol_key_init(k);
    ol_key_u8(k, tag);
    ol_key_str(k, a);
    if (b)
        ol_key_str(k, b);
}

int billing_changed_at_max(ol_fold_ctx *ctx, uint8_t tag, const char *a, const char *b, int64_t *max)
{
    ol_key k;
    changed_key(&k, tag, a, b);
    MDB_val kv = ol_key_val(&k), v;
    int rc = mdb_get(ol_fold_txn(ctx), ol_fold_dbi(ctx, "changed_at"), &kv, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (v.mv_size != sizeof(int64_t))
        return MDB_CORRUPTED;
    int64_t at;
    memcpy(&at, v.mv_data, sizeof at);
    if (at > *max)
        *max = at;
    return 0;
}

static int changed_at_put(ol_fold_ctx *ctx, uint8_t tag, const char *a, const char *b, int64_t at)
{
    ol_key k;
    changed_key(&k, tag, a, b);
    MDB_val kv = ol_key_val(&k), v = {sizeof at, &at};
    return mdb_put(ol_fold_txn(ctx), ol_fold_dbi(ctx, "changed_at"), &kv, &v, 0);
}

/* 1 when every named field is equal in a and b (the same reader schema) */
static int fields_equal(avro_value_t *a, avro_value_t *b, const char *const *names)
{
    for (; *names; names++) {
        avro_value_t fa, fb;
        if (ol_av_field(a, *names, &fa) || ol_av_field(b, *names, &fb) || !avro_value_equal(&fa, &fb))
            return 0;
    }
    return 1;
}

/* the new version's occurred_at, unless old exists, the fields a line reads
 * are unchanged and the stored value knows when they last changed */
static int touch(ol_fold_ctx *ctx, uint8_t tag, const char *a, const char *b, avro_value_t *old, avro_value_t *v,
                 const char *const *fields, int64_t at)
{
    if (old && fields_equal(old, v, fields)) {
        ol_key k;
        changed_key(&k, tag, a, b);
        MDB_val kv = ol_key_val(&k), cur;
        int rc = mdb_get(ol_fold_txn(ctx), ol_fold_dbi(ctx, "changed_at"), &kv, &cur);
        if (rc == 0)
            return 0;
        if (rc != MDB_NOTFOUND)
            return rc;
    }
    return changed_at_put(ctx, tag, a, b, at);
}

/* the rate of role on day in an engagement's rate card (the row with the
 * latest effective_from on or before it); 0 when there is none */
static int card_rate(avro_value_t *eng, const char *role, int32_t day, int64_t *rate)
{
    avro_value_t card, row;
    size_t n = 0;
    int32_t best = INT32_MIN;
    int found = 0;
    *rate = 0;
    if (!eng || ol_av_field(eng, "rate_card", &card) || avro_value_get_size(&card, &n))
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (avro_value_get_by_index(&card, i, &row, NULL) || strcmp(ol_av_str(&row, "role"), role))
            continue;
        int32_t from = ol_av_int(&row, "effective_from", INT32_MAX);
        if (from > day || from < best)
            continue;
        best = from;
        *rate = ol_av_long(&row, "day_rate_minor", 0);
        found = 1;
    }
    return found;
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return x < y ? -1 : x > y;
}

/* R|eng|role holds the history of role's price changes: {at, first, last}
 * records, one per range of days whose rate (or its absence) the version at
 * `at` changed. A line counts the records covering its charged days. */
struct rate_change {
    int64_t at;
    int32_t first, last;
};

static int touch_role(ol_fold_ctx *ctx, const char *eng, const char *role, avro_value_t *old, avro_value_t *v,
                      int64_t at)
{
    int32_t bps[256];
    size_t nb = 0;
    avro_value_t *cards[2] = {old, v};
    struct rate_change add[257];
    size_t na = 0;
    bps[nb++] = INT32_MIN;
    for (int c = 0; c < 2; c++) {
        avro_value_t card, row;
        size_t n = 0;
        if (!cards[c] || ol_av_field(cards[c], "rate_card", &card) || avro_value_get_size(&card, &n))
            continue;
        for (size_t i = 0; i < n && nb < 256; i++)
            if (avro_value_get_by_index(&card, i, &row, NULL) == 0 && !strcmp(ol_av_str(&row, "role"), role))
                bps[nb++] = ol_av_int(&row, "effective_from", INT32_MIN);
    }
    qsort(bps, nb, sizeof *bps, cmp_i32);
    for (size_t i = 0; i < nb; i++) {
        if (i > 0 && bps[i] == bps[i - 1])
            continue;
        int32_t last = INT32_MAX;
        for (size_t j = i + 1; j < nb; j++)
            if (bps[j] != bps[i]) {
                last = bps[j] - 1;
                break;
            }
        int64_t ro, rn;
        int fo = card_rate(old, role, bps[i], &ro), fn = card_rate(v, role, bps[i], &rn);
        if (!old || fo != fn || ro != rn)
            add[na++] = (struct rate_change){at, bps[i], last};
    }
    if (!na)
        return 0;
    ol_key k;
    changed_key(&k, 'R', eng, role);
    MDB_val kv = ol_key_val(&k), cur = {0, NULL};
    int rc = mdb_get(ol_fold_txn(ctx), ol_fold_dbi(ctx, "changed_at"), &kv, &cur);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    size_t have = rc ? 0 : cur.mv_size;
    uint8_t *buf = malloc(have + na * sizeof *add);
    if (!buf)
        return -1;
    if (have)
        memcpy(buf, cur.mv_data, have);
    memcpy(buf + have, add, na * sizeof *add);
    MDB_val nv = {have + na * sizeof *add, buf};
    rc = mdb_put(ol_fold_txn(ctx), ol_fold_dbi(ctx, "changed_at"), &kv, &nv, 0);
    free(buf);
    return rc;
}

/* every role of either rate card: its price history gains what changed */
static int touch_rates(ol_fold_ctx *ctx, const char *eng, avro_value_t *old, avro_value_t *v, int64_t at)
{
    avro_value_t *cards[2] = {v, old};
    for (int c = 0; c < 2; c++) {
        avro_value_t card, row;
        size_t n = 0;
        if (!cards[c])
            continue;
        if (ol_av_field(cards[c], "rate_card", &card) || avro_value_get_size(&card, &n))
            return -1;
        for (size_t i = 0; i < n; i++) {
            if (avro_value_get_by_index(&card, i, &row, NULL))
                return -1;
            const char *role = ol_av_str(&row, "role");
            int seen = 0; /* a role is handled once, at its first row in v, then old */
            for (int cc = 0; cc <= c && !seen; cc++) {
                avro_value_t card2, row2;
                size_t n2 = 0;
                if (!cards[cc] || ol_av_field(cards[cc], "rate_card", &card2) || avro_value_get_size(&card2, &n2))
                    continue;
                for (size_t j = 0; j < (cc == c ? i : n2) && !seen; j++)
                    if (avro_value_get_by_index(&card2, j, &row2, NULL) == 0 &&
                        !strcmp(ol_av_str(&row2, "role"), role))
                        seen = 1;
            }
            if (seen)
                continue;
            int rc = touch_role(ctx, eng, role, old, v, at);
            if (rc)
                return rc;
        }
    }
    return 0;
}

int billing_rate_changes(ol_fold_ctx *ctx, const char *eng, const char *role, MDB_val *changes)
{
    ol_key k;
    changed_key(&k, 'R', eng, role);
    MDB_val kv = ol_key_val(&k);
    int rc = mdb_get(ol_fold_txn(ctx), ol_fold_dbi(ctx, "changed_at"), &kv, changes);
    if (rc == MDB_NOTFOUND)
        *changes = (MDB_val){0, NULL};
    else if (rc)
        return rc;
    return changes->mv_size % sizeof(struct rate_change) ? MDB_CORRUPTED : 0;
}

void billing_rate_changes_max(const MDB_val *changes, int32_t day, int64_t *max)
{
    for (size_t i = 0; i < changes->mv_size / sizeof(struct rate_change); i++) {
        struct rate_change r;
        memcpy(&r, (const uint8_t *)changes->mv_data + i * sizeof r, sizeof r);
        if (day >= r.first && day <= r.last && r.at > *max)
            *max = r.at;
    }
}

/* the `at` kept in an index row (struct bill_entry / bill_alloc start with
 * it), INT64_MIN when there is none */
static int64_t row_at(ol_fold_ctx *ctx, const char *db, const ol_key *k)
{
    MDB_val kv = ol_key_val(k), v;
    int64_t at = INT64_MIN;
    if (mdb_get(ol_fold_txn(ctx), ol_fold_dbi(ctx, db), &kv, &v) == 0 && v.mv_size >= sizeof at)
        memcpy(&at, v.mv_data, sizeof at);
    return at;
}

static const char *const ENTRY_FIELDS[] = {"person_id", "engagement_id", "activity", "work_date", "minutes",
                                           "status", NULL};
static const char *const ALLOC_FIELDS[] = {"person_id", "engagement_id", "role", "first_day", "last_day",
                                           "status", NULL};
static const char *const ENG_FIELDS[] = {"billing", "currency", "bill_to", "client", "minutes_per_day", NULL};
static const char *const PERSON_FIELDS[] = {"role", NULL};
static const char *const EXPENSE_FIELDS[] = {"engagement_id", "incurred_on", "amount_minor", "currency",
                                             "rechargeable", "status", NULL};

/* at of the new version of an entry: its occurred_at, or the old row's when
 * no field a line reads changed */
static int64_t entry_at(ol_fold_ctx *ctx, const ol_event *ev, avro_value_t *old)
{
    if (old && fields_equal(old, ev->value, ENTRY_FIELDS)) {
        ol_key k;
        billing_entry_key(&k, ol_av_str(old, "engagement_id"), ol_av_str(old, "person_id"),
                          ol_av_int(old, "work_date", 0), ol_av_str(old, "entry_id"));
        int64_t at = row_at(ctx, "ep_entries", &k);
        if (at != INT64_MIN)
            return at;
    }
    return ev->occurred_at;
}

static int64_t alloc_at(ol_fold_ctx *ctx, const ol_event *ev, avro_value_t *old)
{
    if (old && fields_equal(old, ev->value, ALLOC_FIELDS) && *ol_av_str(old, "person_id")) {
        ol_key k;
        ol_key_init(&k);
        ol_key_str(&k, ol_av_str(old, "person_id"));
        ol_key_str(&k, ol_av_str(old, "engagement_id"));
        ol_key_str(&k, ol_av_str(old, "allocation_id"));
        int64_t at = row_at(ctx, "allocs", &k);
        if (at != INT64_MIN)
            return at;
    }
    return ev->occurred_at;
}

/* Calls fn for every key of dbi starting with prefix. */
typedef int (*scan_fn)(ol_fold_ctx *ctx, const MDB_val *k, const MDB_val *v, size_t plen, void *arg);
static int scan(ol_fold_ctx *ctx, const char *db, const ol_key *prefix, scan_fn fn, void *arg)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(ol_fold_txn(ctx), ol_fold_dbi(ctx, db), &c);
    if (rc)
        return rc;
    MDB_val k = ol_key_val(prefix), v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size < prefix->n || memcmp(k.mv_data, prefix->b, prefix->n))
            break;
        if ((rc = fn(ctx, &k, &v, prefix->n, arg)))
            break;
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* ep_entries key: eng\0 person\0 week entry\0 -> mark (eng, person, week) */
static int mark_from_ep(ol_fold_ctx *ctx, const MDB_val *k, const MDB_val *v, size_t plen, void *arg)
{
    const char *eng = k->mv_data;
    const char *person = eng + strlen(eng) + 1;
    const uint8_t *wp = (const uint8_t *)person + strlen(person) + 1;
    const int32_t *range = arg; /* optional [first, last] day filter */
    (void)v;
    (void)plen;
    if (!*eng)
        return 0; /* an entry without an engagement is on no line */
    if (range) {
        struct bill_entry e;
        memcpy(&e, v->mv_data, sizeof e);
        if (e.work_date < range[0] || e.work_date > range[1])
            return 0;
    }
    return billing_mark_line(ctx, eng, person, ol_key_get_i32(wp));
}

static int mark_engagement_lines(ol_fold_ctx *ctx, const char *eng, const char *person, const int32_t *range)
{
    ol_key p;
    ol_key_init(&p);
    ol_key_str(&p, eng);
    if (person)
        ol_key_str(&p, person);
    return scan(ctx, "ep_entries", &p, mark_from_ep, (void *)range);
}

/* pe key: person\0 eng\0 */
static int mark_from_pe(ol_fold_ctx *ctx, const MDB_val *k, const MDB_val *v, size_t plen, void *arg)
{
    (void)v;
    (void)arg;
    const char *person = k->mv_data;
    return mark_engagement_lines(ctx, (const char *)k->mv_data + plen, person, NULL);
}

/* invoices key: person\0 invoice\0 -> struct bill_inv; arg: day or NULL (all) */
static int mark_from_inv(ol_fold_ctx *ctx, const MDB_val *k, const MDB_val *v, size_t plen, void *arg)
{
    const int32_t *day = arg;
    struct bill_inv inv;
    memcpy(&inv, v->mv_data, sizeof inv);
    if (day && (*day < inv.first || *day > inv.last))
        return 0;
    return mark_str(ctx, 'R', (const char *)k->mv_data + plen);
}

static int mark_invoices(ol_fold_ctx *ctx, const char *person, const int32_t *day)
{
    ol_key p;
    ol_key_init(&p);
    ol_key_str(&p, person);
    return scan(ctx, "invoices", &p, mark_from_inv, (void *)day);
}

static int entry_index(ol_fold_ctx *ctx, avro_value_t *v, int put, int64_t at)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    const char *person = ol_av_str(v, "person_id"), *eng = ol_av_str(v, "engagement_id"),
               *id = ol_av_str(v, "entry_id");
    struct bill_entry e = {0};
    ol_key k;
    int rc;

    e.at = at;
    e.work_date = ol_av_int(v, "work_date", 0);
    e.minutes = ol_av_int(v, "minutes", 0);
    e.status = (uint8_t)ol_av_enum(v, "status");
    e.activity = (uint8_t)ol_av_enum(v, "activity");
    ol_week w = ol_week_of(e.work_date);
    MDB_val ev = {sizeof e, &e};

    /* one row an entry, those without an engagement under "" (recon counts them) */
    billing_entry_key(&k, eng, person, e.work_date, id);
    if (k.overflow)
        return -1;
    MDB_val kv = ol_key_val(&k);
    if ((rc = put ? ol_put_unless_same(txn, ol_fold_dbi(ctx, "ep_entries"), &kv, &ev)
                  : ol_del_key(txn, ol_fold_dbi(ctx, "ep_entries"), &k)))
        return rc;
    if ((rc = mark_invoices(ctx, person, &e.work_date)))
        return rc;
    if (!*eng)
        return 0;
    if (put) {
        ol_key_init(&k);
        ol_key_str(&k, person);
        ol_key_str(&k, eng);
        if ((rc = ol_put_key_unless_same(txn, ol_fold_dbi(ctx, "pe"), &k, "", 0)))
            return rc;
        ol_key_init(&k);
        ol_key_i32(&k, w);
        ol_key_str(&k, eng);
        ol_key_str(&k, person);
        if ((rc = ol_put_key_unless_same(txn, ol_fold_dbi(ctx, "wk_lines"), &k, "", 0)))
            return rc;
    }
    return billing_mark_line(ctx, eng, person, w);
}

static int alloc_index(ol_fold_ctx *ctx, avro_value_t *v, int put, int64_t at)
{
    const char *person = ol_av_str(v, "person_id"), *eng = ol_av_str(v, "engagement_id"),
               *role = ol_av_str(v, "role");
    struct bill_alloc a = {0};
    ol_key k;
    int rc;
    if (!*person)
        return 0; /* an open role prices no one */
    a.at = at;
    a.first = ol_av_int(v, "first_day", 0);
    a.last = ol_av_int(v, "last_day", -1);
    a.status = (uint8_t)ol_av_enum(v, "status");
    ol_key_init(&k);
    ol_key_str(&k, person);
    ol_key_str(&k, eng);
    ol_key_str(&k, ol_av_str(v, "allocation_id"));
    if (put) {
        size_t rl = strlen(role) + 1;
        MDB_val kv = ol_key_val(&k), val = {sizeof a + rl, NULL};
        if ((rc = mdb_put(ol_fold_txn(ctx), ol_fold_dbi(ctx, "allocs"), &kv, &val, MDB_RESERVE)))
            return rc;
        memcpy(val.mv_data, &a, sizeof a);
        memcpy((char *)val.mv_data + sizeof a, role, rl);
    } else if ((rc = ol_del_key(ol_fold_txn(ctx), ol_fold_dbi(ctx, "allocs"), &k)))
        return rc;
    int32_t range[2] = {a.first, a.last};
    return mark_engagement_lines(ctx, eng, person, range);
}

static int expense_index(ol_fold_ctx *ctx, avro_value_t *v, int put)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    const char *eng = ol_av_str(v, "engagement_id"), *id = ol_av_str(v, "expense_id"),
               *cur = ol_av_str(v, "currency");
    struct bill_expense x = {0};
    ol_week w = ol_week_of(ol_av_int(v, "incurred_on", 0));
    ol_key k;
    int rc;
    x.amount = ol_av_long(v, "amount_minor", 0);
    x.status = (uint8_t)ol_av_enum(v, "status");
    x.rechargeable = (uint8_t)ol_av_bool(v, "rechargeable");
    ol_key_init(&k);
    ol_key_i32(&k, w);
    ol_key_str(&k, eng);
    ol_key_str(&k, ol_av_str(v, "supplier"));
    ol_key_str(&k, id);
    if (put) {
        size_t cl = strlen(cur) + 1;
        MDB_val kv = ol_key_val(&k), val = {sizeof x + cl, NULL};
        if ((rc = mdb_put(txn, ol_fold_dbi(ctx, "expenses"), &kv, &val, MDB_RESERVE)))
            return rc;
        memcpy(val.mv_data, &x, sizeof x);
        memcpy((char *)val.mv_data + sizeof x, cur, cl);
    } else if ((rc = ol_del_key(txn, ol_fold_dbi(ctx, "expenses"), &k)))
        return rc;
    ol_key_init(&k);
    ol_key_str(&k, eng);
    ol_key_str(&k, id);
    if (put) {
        ol_key wk;
        ol_key_init(&wk);
        ol_key_i32(&wk, w);
        MDB_val kv = ol_key_val(&k), val = ol_key_val(&wk);
        if ((rc = mdb_put(txn, ol_fold_dbi(ctx, "exp_by_eng"), &kv, &val, 0)))
            return rc;
    } else if ((rc = ol_del_key(txn, ol_fold_dbi(ctx, "exp_by_eng"), &k)))
        return rc;
    return mark_str(ctx, 'X', id);
}

static int invoice_index(ol_fold_ctx *ctx, avro_value_t *v, int put)
{
    const char *person = ol_av_str(v, "person_id");
    struct bill_inv inv = {0};
    ol_key k;
    int rc;
    inv.first = ol_av_int(v, "period_first_day", 0);
    inv.last = ol_av_int(v, "period_last_day", -1);
    inv.status = (uint8_t)ol_av_enum(v, "status");
    ol_key_init(&k);
    ol_key_str(&k, person);
    ol_key_str(&k, ol_av_str(v, "invoice_id"));
    if (put) {
        MDB_val kv = ol_key_val(&k), val = {sizeof inv, &inv};
        if ((rc = mdb_put(ol_fold_txn(ctx), ol_fold_dbi(ctx, "invoices"), &kv, &val, 0)))
            return rc;
    } else if ((rc = ol_del_key(ol_fold_txn(ctx), ol_fold_dbi(ctx, "invoices"), &k)))
        return rc;
    /* every invoice of the person: overlaps may have appeared or gone */
    if ((rc = mark_invoices(ctx, person, NULL)))
        return rc;
    return mark_str(ctx, 'R', ol_av_str(v, "invoice_id"));
}

/* wk_lines key: week eng\0 person\0 */
static int mark_from_week(ol_fold_ctx *ctx, const MDB_val *k, const MDB_val *v, size_t plen, void *arg)
{
    (void)v;
    (void)arg;
    const char *eng = (const char *)k->mv_data + plen;
    const char *person = eng + strlen(eng) + 1;
    return billing_mark_line(ctx, eng, person, ol_key_get_i32(k->mv_data));
}

/* expenses key: week eng\0 supplier\0 expense\0 */
static int mark_from_expense(ol_fold_ctx *ctx, const MDB_val *k, const MDB_val *v, size_t plen, void *arg)
{
    (void)v;
    (void)arg;
    const char *eng = (const char *)k->mv_data + plen;
    const char *supplier = eng + strlen(eng) + 1;
    return mark_str(ctx, 'X', supplier + strlen(supplier) + 1);
}

/* exp_by_eng key: eng\0 expense\0 */
static int mark_from_exp_by_eng(ol_fold_ctx *ctx, const MDB_val *k, const MDB_val *v, size_t plen, void *arg)
{
    (void)v;
    (void)arg;
    return mark_str(ctx, 'X', (const char *)k->mv_data + plen);
}

int billing_apply(ol_fold_ctx *ctx, const ol_event *ev, avro_value_t *old)
{
    const char *t = ev->rec->topic;
    avro_value_t *v = ev->value;
    int rc = 0;
    ol_key p;

    if (!strcmp(t, "timesheet.entry")) {
        int64_t at = entry_at(ctx, ev, old);
        if (old && (rc = entry_index(ctx, old, 0, 0)))
            return rc;
        return entry_index(ctx, v, 1, at);
    }
    if (!strcmp(t, "delivery.allocation")) {
        int64_t at = alloc_at(ctx, ev, old);
        if (old && (rc = alloc_index(ctx, old, 0, 0)))
            return rc;
        return alloc_index(ctx, v, 1, at);
    }
    if (!strcmp(t, "finance.expense")) {
        if ((rc = touch(ctx, 'X', ol_av_str(v, "expense_id"), NULL, old, v, EXPENSE_FIELDS, ev->occurred_at)))
            return rc;
        if (old && (rc = expense_index(ctx, old, 0)))
            return rc;
        return expense_index(ctx, v, 1);
    }
    if (!strcmp(t, "finance.contractor_invoice")) {
        if (old && (rc = invoice_index(ctx, old, 0)))
            return rc;
        return invoice_index(ctx, v, 1);
    }
    if (!strcmp(t, "delivery.engagement")) {
        /* rates, billing, bill_to or minutes_per_day may have changed */
        const char *eng = ol_av_str(v, "engagement_id");
        if ((rc = touch(ctx, 'E', eng, NULL, old, v, ENG_FIELDS, ev->occurred_at)) ||
            (rc = touch_rates(ctx, eng, old, v, ev->occurred_at)))
            return rc;
        if ((rc = mark_engagement_lines(ctx, eng, NULL, NULL)))
            return rc;
        ol_key_init(&p);
        ol_key_str(&p, eng);
        return scan(ctx, "exp_by_eng", &p, mark_from_exp_by_eng, NULL);
    }
    if (!strcmp(t, "hr.person")) {
        const char *person = ol_av_str(v, "person_id");
        if ((rc = touch(ctx, 'P', person, NULL, old, v, PERSON_FIELDS, ev->occurred_at)))
            return rc;
        ol_key_init(&p);
        ol_key_str(&p, person);
        if ((rc = scan(ctx, "pe", &p, mark_from_pe, NULL)))
            return rc;
        return mark_invoices(ctx, person, NULL);
    }
    if (!strcmp(t, "finance.period")) {
        ol_week w;
        if (ol_week_parse(ol_av_str(v, "iso_week"), &w))
            return 0; /* validation guarantees the format */
        ol_key_init(&p);
        ol_key_i32(&p, w);
        if ((rc = scan(ctx, "wk_lines", &p, mark_from_week, NULL)))
            return rc;
        return scan(ctx, "expenses", &p, mark_from_expense, NULL);
    }
    return 0;
}

int billing_flush(ol_fold_ctx *ctx)
{
    const MDB_val *keys;
    size_t n = ol_fold_dirty(ctx, &keys);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        const uint8_t *k = keys[i].mv_data;
        const char *s = (const char *)k + 1;
        switch (k[0]) {
        case 'L': {
            const char *person = s + strlen(s) + 1;
            rc = billing_time_line(ctx, s, person, ol_key_get_i32(k + keys[i].mv_size - 4));
            break;
        }
        case 'X': rc = billing_expense_line(ctx, s); break;
        case 'R': rc = billing_reconcile(ctx, s); break;
        }
    }
    return rc;
}
