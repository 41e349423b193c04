/* flush — end of batch: when the data week moved, every engagement gets the
 * rows of the new weeks; then every dirty engagement (all its weeks),
 * engagement-week and service-day is recomputed and emitted if it changed.
 *
 * An engagement has a status row for every ISO week from the week of
 * starts_on to the week of ends_on, never past the data week (the week of
 * the latest occurred_at folded), at most AS_STATUS_WEEKS weeks back. */
#include "assurance.h"

#include <stdlib.h>
#include <string.h>

#define AS_STATUS_WEEKS 520

int as_data_week(ol_fold_ctx *ctx, ol_week *w)
{
    int64_t dt = ol_fold_data_time(ctx);
    if (dt <= 0)
        return 0;
    *w = ol_week_of((int32_t)(dt / AS_DAY_MS));
    return 1;
}

static int eng_weeks(ol_fold_ctx *ctx, const char *eng, ol_week from, ol_week to)
{
    struct as_eng e;
    ol_week dw;
    int rc = as_eng_load(ol_fold_txn(ctx), ol_fold_dbi(ctx, "engs"), eng, &e, NULL, NULL);
    if (rc == MDB_NOTFOUND || !as_data_week(ctx, &dw))
        return 0;
    if (rc)
        return rc;
    ol_week a = ol_week_of(e.starts), b = ol_week_of(e.ends), floor = ol_week_add(dw, -AS_STATUS_WEEKS);
    if (b > dw)
        b = dw;
    if (a < floor)
        a = floor;
    if (a < from)
        a = from;
    if (b > to)
        b = to;
    for (ol_week w = a; w <= b && !rc; w = ol_week_add(w, 1))
        rc = as_status(ctx, eng, w);
    return rc;
}

/* the data week moved from `was` to `now`: the new weeks of every engagement
 * (older rows depend on facts only, never on the data week); all weeks the
 * first time */
static int move_week(ol_fold_ctx *ctx, int had, ol_week was, ol_week now)
{
    MDB_cursor *c;
    int rc;
    if ((rc = mdb_cursor_open(ol_fold_txn(ctx), ol_fold_dbi(ctx, "engs"), &c)))
        return rc;
    MDB_val k, v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        char eng[512];
        size_t n = k.mv_size < sizeof eng ? k.mv_size : sizeof eng - 1;
        memcpy(eng, k.mv_data, n);
        eng[n] = '\0';
        if ((rc = had ? eng_weeks(ctx, eng, ol_week_add(was, 1), now) : eng_weeks(ctx, eng, INT32_MIN, now)))
            break;
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int as_flush(ol_fold_ctx *ctx)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    MDB_dbi ameta = ol_fold_dbi(ctx, "ameta");
    const MDB_val *keys;
    size_t n = ol_fold_dirty(ctx, &keys);
    const char **done = NULL; /* engagements recomputed whole, sorted (the 'E' keys come sorted) */
    size_t ndone = 0;
    int32_t was = 0;
    ol_week now;
    int rc = ol_named_get_i32(txn, ameta, "data_week", &was), had = rc == 0;
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    rc = 0;
    if (as_data_week(ctx, &now) && (!had || now != was)) {
        if ((rc = ol_named_put_i32(txn, ameta, "data_week", now)) || (rc = move_week(ctx, had, was, now)))
            return rc;
    }
    if (n && !(done = malloc(n * sizeof *done)))
        return -1;
    for (size_t i = 0; i < n && !rc; i++) {
        const char *k = keys[i].mv_data;
        if (k[0] == 'E') {
            done[ndone++] = k + 1;
            rc = eng_weeks(ctx, k + 1, INT32_MIN, INT32_MAX);
        } else if (k[0] == 'S') {
            const char *eng = k + 1;
            if (ndone && bsearch(&eng, done, ndone, sizeof *done, cmp_str))
                continue;
            rc = as_status(ctx, eng, ol_key_get_i32(k + 1 + strlen(eng) + 1));
        } else if (k[0] == 'C') {
            const char *service = k + 1;
            rc = as_cover(ctx, service, ol_key_get_i32(k + 1 + strlen(service) + 1));
        }
    }
    free(done);
    return rc;
}
