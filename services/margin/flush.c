/* flush — end of batch: turns the dirty marks into the engagement-weeks and
 * the invoices to recompute (a person's change reaches every week of their
 * time and every invoice of theirs; an engagement's change every week it has
 * lines, time or expenses in and the invoices of the people who logged on
 * it; an invoice's change every engagement-week of its period, old and new),
 * recomputes each once, in key order, and emits what changed. Figures come
 * from the surviving versions only (figures.c), so any arrival order of the
 * same records gives the same rows. */
#include "margin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct inv_ref {
    char person[130], invoice[130];
};

struct plan {
    ol_weekset engs;    /* (engagement, week) */
    ol_weekset persons; /* (person, week): their invoices overlapping the week; week 0: all */
    struct inv_ref *inv;
    size_t ninv;
};

static int add_inv(struct plan *p, const char *person, const char *invoice)
{
    for (size_t i = 0; i < p->ninv; i++)
        if (!strcmp(p->inv[i].person, person) && !strcmp(p->inv[i].invoice, invoice))
            return 0;
    struct inv_ref *n = realloc(p->inv, (p->ninv + 1) * sizeof *n);
    if (!n)
        return -1;
    p->inv = n;
    snprintf(n[p->ninv].person, sizeof n->person, "%s", person);
    snprintf(n[p->ninv].invoice, sizeof n->invoice, "%s", invoice);
    p->ninv++;
    return 0;
}

static int cmp_inv(const void *a, const void *b)
{
    const struct inv_ref *x = a, *y = b;
    int d = strcmp(x->person, y->person);
    return d ? d : strcmp(x->invoice, y->invoice);
}

/* calls fn for every row of db under prefix (a string, optionally followed by a week) */
typedef int (*row_fn)(struct plan *p, const MDB_val *k, const MDB_val *v, size_t plen);
static int scan(MDB_txn *txn, MDB_dbi dbi, const ol_key *pk, row_fn fn, struct plan *p)
{
    MDB_cursor *c;
    MDB_val k = ol_key_val(pk), v;
    int rc = mdb_cursor_open(txn, dbi, &c);
    if (rc)
        return rc;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size < pk->n || memcmp(k.mv_data, pk->b, pk->n))
            break;
        if ((rc = fn(p, &k, &v, pk->n)))
            break;
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* entries: person\0 day(i32) entry\0 -> mg_entry + engagement\0 */
static int entry_eng_week(struct plan *p, const MDB_val *k, const MDB_val *v, size_t plen)
{
    const char *eng = (const char *)v->mv_data + sizeof(struct mg_entry);
    (void)plen;
    size_t person_len = strlen(k->mv_data) + 1;
    ol_week w = ol_week_of(ol_key_get_i32((const uint8_t *)k->mv_data + person_len));
    return *eng ? ol_weekset_add(&p->engs, eng, w) : 0;
}

/* eng_entries: engagement\0 week person\0 entry\0: the week, and the person's invoices of that week */
static int eng_entry_week(struct plan *p, const MDB_val *k, const MDB_val *v, size_t plen)
{
    (void)v;
    const char *eng = k->mv_data;
    size_t el = strlen(eng) + 1;
    ol_week w = ol_key_get_i32((const uint8_t *)k->mv_data + el);
    int rc = ol_weekset_add(&p->engs, eng, w);
    (void)plen;
    return rc ? rc : ol_weekset_add(&p->persons, (const char *)k->mv_data + el + 4, w);
}

/* lines, expenses: engagement\0 week id\0 */
static int money_week(struct plan *p, const MDB_val *k, const MDB_val *v, size_t plen)
{
    (void)v;
    (void)plen;
    const char *eng = k->mv_data;
    return ol_weekset_add(&p->engs, eng, ol_key_get_i32((const uint8_t *)k->mv_data + strlen(eng) + 1));
}

/* rows: 'E' engagement\0 week currency\0 */
static int row_week(struct plan *p, const MDB_val *k, const MDB_val *v, size_t plen)
{
    (void)v;
    (void)plen;
    const char *eng = (const char *)k->mv_data + 1;
    return ol_weekset_add(&p->engs, eng, ol_key_get_i32((const uint8_t *)k->mv_data + 1 + strlen(eng) + 1));
}

/* invoices: person\0 invoice\0 -> mg_invoice; all of them (plan week 0) or those overlapping the week */
static ol_week scan_week;
static int invoice_ref(struct plan *p, const MDB_val *k, const MDB_val *v, size_t plen)
{
    struct mg_invoice inv;
    memcpy(&inv, v->mv_data, sizeof inv);
    if (scan_week) {
        int32_t mon = ol_week_monday(scan_week);
        if (inv.last < mon || inv.first > mon + 6)
            return 0;
    }
    return add_inv(p, k->mv_data, (const char *)k->mv_data + plen);
}

static int expand(ol_fold_ctx *ctx, struct plan *p)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    const MDB_val *keys;
    size_t n = ol_fold_dirty(ctx, &keys);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        const uint8_t *k = keys[i].mv_data;
        const char *id = (const char *)k + 1;
        ol_key pk;
        ol_key_init(&pk);
        ol_key_str(&pk, id);
        if (k[0] == 'W')
            rc = ol_weekset_add(&p->engs, id, ol_key_get_i32(k + keys[i].mv_size - 4));
        else if (k[0] == 'I') {
            ol_week w = ol_key_get_i32(k + keys[i].mv_size - 4);
            ol_key wk = pk;
            ol_key_i32(&wk, ol_week_monday(w));
            if (!(rc = ol_weekset_add(&p->persons, id, w))) {
                /* the person's engagement-weeks of that week (a share that moved away) */
                MDB_cursor *c;
                MDB_val kk = ol_key_val(&wk), v;
                if ((rc = mdb_cursor_open(txn, ol_fold_dbi(ctx, "entries"), &c)))
                    break;
                for (rc = mdb_cursor_get(c, &kk, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &kk, &v, MDB_NEXT)) {
                    if (kk.mv_size < pk.n + 4 || memcmp(kk.mv_data, pk.b, pk.n) ||
                        ol_key_get_i32((const uint8_t *)kk.mv_data + pk.n) > ol_week_monday(w) + 6)
                        break;
                    if ((rc = entry_eng_week(p, &kk, &v, pk.n)))
                        break;
                }
                mdb_cursor_close(c);
                if (rc == MDB_NOTFOUND)
                    rc = 0;
            }
        } else if (k[0] == 'P') {
            if (!(rc = scan(txn, ol_fold_dbi(ctx, "entries"), &pk, entry_eng_week, p)))
                rc = ol_weekset_add(&p->persons, id, 0);
        } else if (k[0] == 'G') {
            ol_key rk;
            ol_key_init(&rk);
            ol_key_u8(&rk, 'E');
            ol_key_str(&rk, id);
            if (!(rc = scan(txn, ol_fold_dbi(ctx, "eng_entries"), &pk, eng_entry_week, p)) &&
                !(rc = scan(txn, ol_fold_dbi(ctx, "lines"), &pk, money_week, p)) &&
                !(rc = scan(txn, ol_fold_dbi(ctx, "expenses"), &pk, money_week, p)))
                rc = scan(txn, ol_fold_dbi(ctx, "rows"), &rk, row_week, p);
        }
    }
    return rc;
}

int mg_flush(ol_fold_ctx *ctx)
{
    struct plan p;
    int rc;
    memset(&p, 0, sizeof p);
    if ((rc = expand(ctx, &p)))
        goto out;
    ol_weekset_sort(&p.persons);
    for (size_t i = 0; i < p.persons.n && !rc; i++) {
        ol_key pk;
        ol_key_init(&pk);
        ol_key_str(&pk, ol_weekset_name(p.persons.v[i]));
        scan_week = ol_weekset_week(p.persons.v[i]);
        rc = scan(ol_fold_txn(ctx), ol_fold_dbi(ctx, "invoices"), &pk, invoice_ref, &p);
    }
    if (p.ninv)
        qsort(p.inv, p.ninv, sizeof *p.inv, cmp_inv);
    for (size_t i = 0; i < p.ninv && !rc; i++)
        rc = mg_invoice(ctx, p.inv[i].person, p.inv[i].invoice, &p.engs);
    ol_weekset_sort(&p.engs);
    for (size_t i = 0; i < p.engs.n && !rc; i++)
        rc = mg_engagement_week(ctx, ol_weekset_name(p.engs.v[i]), ol_weekset_week(p.engs.v[i]));
out:
    ol_weekset_free(&p.engs);
    ol_weekset_free(&p.persons);
    free(p.inv);
    return rc;
}
