/* service — opsledger-archive: every record of every input topic, appended
 * to the hash-chained audit archive (see common/ol_archive.h), in the same
 * one-transaction-per-batch loop as every service: the rows and the next
 * offsets commit together, so a restart leaves no gap and no duplicate. The
 * archive keeps records exactly as they came, bad ones included: it is the
 * evidence, not a projection. */
#include "ol_archive.h"
#include "ol_log.h"
#include "ol_svcmain.h"

#include <stdlib.h>
#include <string.h>

static const char *const inputs[] = {"hr.person", "hr.leave", "delivery.engagement", "delivery.allocation",
                                     "timesheet.entry", "finance.contractor_invoice", "finance.expense",
                                     "finance.period", "delivery.risk", "ops.rota",
                                     /* derived topics other services consume, so their replays see them */
                                     "finance.billing.line", "ops.forecast.engagement", "ops.timesheet.missing", NULL};
static const char *const dbs[] = {OL_ARCHIVE_DBS, NULL};

static int archive_record(ol_fold_ctx *ctx, const ol_record *r)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    MDB_dbi records = ol_fold_dbi(ctx, "records"), by_offset = ol_fold_dbi(ctx, "by_offset");
    uint8_t prev[32] = {0}, kb[8], *row = NULL;
    uint64_t seq = 1;
    size_t len;
    MDB_cursor *c;
    MDB_val k, v;
    int rc;

    /* no duplicate: a record already archived (a re-delivery) is skipped */
    ol_key ok;
    ol_key_init(&ok);
    ol_key_str(&ok, r->topic);
    ol_key_i32(&ok, r->partition);
    ol_key_i64(&ok, r->offset);
    MDB_val okv = ol_key_val(&ok);
    if ((rc = mdb_get(txn, by_offset, &okv, &v)) == 0)
        return 0;
    if (rc != MDB_NOTFOUND)
        return rc;

    if ((rc = mdb_cursor_open(txn, records, &c)))
        return rc;
    rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
    if (rc == 0) {
        seq = ol_be64(k.mv_data) + 1;
        memcpy(prev, v.mv_data, 32);
    }
    mdb_cursor_close(c);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    if (ol_archive_row(r, prev, &row, &len))
        return -1;
    ol_put_be64(kb, seq);
    k.mv_size = 8;
    k.mv_data = kb;
    v.mv_size = len;
    v.mv_data = row;
    rc = mdb_put(txn, records, &k, &v, MDB_APPEND);
    free(row);
    if (rc)
        return rc;
    MDB_val sv = {8, kb};
    return mdb_put(txn, by_offset, &okv, &sv, 0);
}

const ol_service archive_service = {
    .name = "archive",
    .inputs = inputs,
    .dbs = dbs,
    .map_size = 16LL << 30,
    .raw = archive_record,
};

const ol_verb archive_verbs[] = {{NULL, NULL, NULL}};
