/* fold — keeps people's indexes as hr.person, hr.leave and
 * delivery.allocation change (apply) and marks the one dirty key: every row
 * is recomputed by flush.c from the surviving versions, so any arrival order
 * of the same records gives the same rows. */
#include "people.h"
#include "ol_av.h"
#include "ol_log.h"

#include <limits.h>
#include <string.h>

static int mark_all(ol_fold_ctx *ctx) { return ol_fold_mark(ctx, "A", 1); }

static int apply_person(ol_fold_ctx *ctx, avro_value_t *nv)
{
    const char *id = ol_av_str(nv, "person_id");
    const char *strs[2] = {ol_av_str(nv, "team"), ol_av_str(nv, "role")};
    struct hc_person p;
    ol_key k;
    int rc;
    memset(&p, 0, sizeof p);
    p.joined = ol_av_int(nv, "joined_on", 0);
    p.left = ol_av_present(nv, "left_on") ? ol_av_int(nv, "left_on", INT32_MAX) : INT32_MAX;
    p.weekly_capacity = ol_av_int(nv, "weekly_capacity_minutes", 0);
    p.working_days = (uint8_t)ol_av_int(nv, "working_days", 31);
    p.employment = (uint8_t)ol_av_enum(nv, "employment");
    if (p.left < p.joined) { /* no stint to count: a dead letter, never a guess */
        ol_error("hr.person left_on is before joined_on|person=%s", ol_log_q(id));
        return -1;
    }
    ol_key_init(&k);
    ol_key_str(&k, id);
    if ((rc = ol_put_record(ol_fold_txn(ctx), ol_fold_dbi(ctx, "persons"), &k, &p, sizeof p, strs, 2)))
        return rc;
    return mark_all(ctx);
}

static int leave_index(ol_fold_ctx *ctx, avro_value_t *v, int put)
{
    return ol_leave_index(ol_fold_txn(ctx), ol_fold_dbi(ctx, "leaves"), v, put, NULL);
}

static int alloc_index(ol_fold_ctx *ctx, avro_value_t *v, int put)
{
    const char *strs[1] = {ol_av_str(v, "role")};
    struct hc_alloc a;
    ol_key k;
    ol_key_init(&k);
    ol_key_str(&k, ol_av_str(v, "allocation_id"));
    if (!put)
        return 0; /* keyed by allocation_id alone: the new version overwrites the row */
    memset(&a, 0, sizeof a);
    a.first = ol_av_int(v, "first_day", 0);
    a.last = ol_av_int(v, "last_day", 0);
    a.percent = ol_av_int(v, "percent", 0);
    a.status = (uint8_t)ol_av_enum(v, "status");
    a.open = !ol_av_present(v, "person_id");
    return ol_put_record(ol_fold_txn(ctx), ol_fold_dbi(ctx, "allocs"), &k, &a, sizeof a, strs, 1);
}

int hc_apply(ol_fold_ctx *ctx, const ol_event *ev, avro_value_t *old)
{
    const char *t = ev->rec->topic;
    int rc;
    if (!strcmp(t, "hr.person"))
        return apply_person(ctx, ev->value);
    int (*index)(ol_fold_ctx *, avro_value_t *, int) = !strcmp(t, "hr.leave")              ? leave_index
                                                       : !strcmp(t, "delivery.allocation") ? alloc_index
                                                                                           : NULL;
    if (!index)
        return 0;
    if (old && (rc = index(ctx, old, 0)))
        return rc;
    if ((rc = index(ctx, ev->value, 1)))
        return rc;
    return mark_all(ctx);
}
