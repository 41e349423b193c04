/* service — opsledger-archive: every record of every input topic, appended
 * to the hash-chained audit archive (see common/ol_archive.h), in the same
 * one-transaction-per-batch loop as every service: the rows and the next
 * offsets commit together, so a restart leaves no gap and no duplicate. The
 * archive keeps records exactly as they came, bad ones included: it is the
 * evidence, not a projection.
 *
 * After the commits, the head of the chain is anchored outside the archive
 * (ol_archive_checkpoint.c): a checkpoint line every archive_checkpoint_records
 * records (default 1000) and every archive_checkpoint_seconds (default 60)
 * when the head moved, and one at shutdown, appended to archive_checkpoints
 * (default <archive dir>.checkpoints, mode 0600). At start the archive is
 * checked against its newest checkpoint, and a service whose archive lost
 * its newest records refuses to start rather than append after the gap. */
#include "ol_archive.h"
#include "ol_log.h"
#include "ol_svcmain.h"
#include "ol_time.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const inputs[] = {"hr.person", "hr.leave", "delivery.engagement", "delivery.allocation",
                                     "timesheet.entry", "finance.contractor_invoice", "finance.expense",
                                     "finance.period", "delivery.risk", "ops.rota",
                                     /* derived topics other services consume, so their replays see them */
                                     "finance.billing.line", "ops.forecast.engagement", "ops.timesheet.missing", NULL};
/* schema_rows: registry id (4, BE) -> the seq of its writer schema row
 * (OL_ARCHIVE_SCHEMA_TOPIC); key "anchored" once the schemas an archive
 * kept before they were chained have been appended (archive_init) */
static const char *const dbs[] = {OL_ARCHIVE_DBS, "schema_rows", NULL};
#define ANCHORED_KEY "anchored"

/* appends r to the chain; its seq in *seq */
static int append_row(MDB_txn *txn, MDB_dbi records, const ol_record *r, uint64_t *seq)
{
    uint8_t prev[32] = {0}, kb[8], *row = NULL;
    size_t len;
    MDB_cursor *c;
    MDB_val k, v;
    int rc;
    *seq = 1;
    if ((rc = mdb_cursor_open(txn, records, &c)))
        return rc;
    rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
    if (rc == 0) {
        *seq = ol_be64(k.mv_data) + 1;
        memcpy(prev, v.mv_data, 32);
    }
    mdb_cursor_close(c);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    if (ol_archive_row(r, prev, &row, &len))
        return -1;
    ol_put_be64(kb, *seq);
    k.mv_size = 8;
    k.mv_data = kb;
    v.mv_size = len;
    v.mv_data = row;
    rc = mdb_put(txn, records, &k, &v, MDB_APPEND);
    free(row);
    return rc;
}

/* the writer schema `text` of registry id into the chain, unless it is
 * there already */
static int anchor_schema(MDB_txn *txn, MDB_dbi records, MDB_dbi rows, int32_t id, const char *text, int64_t ts)
{
    uint8_t ib[4], sb[8];
    ol_put_be32(ib, (uint32_t)id);
    MDB_val k = {4, ib}, v;
    uint64_t seq;
    int rc = mdb_get(txn, rows, &k, &v);
    if (rc != MDB_NOTFOUND)
        return rc;
    const ol_record sr = {.topic = OL_ARCHIVE_SCHEMA_TOPIC, .partition = -1, .offset = id, .timestamp_ms = ts,
                          .value = text, .value_len = strlen(text)};
    if ((rc = append_row(txn, records, &sr, &seq)))
        return rc;
    ol_put_be64(sb, seq);
    v.mv_size = 8;
    v.mv_data = sb;
    return mdb_put(txn, rows, &k, &v, 0);
}

/* Kafka's timestamp is the knowledge time a replay goes by: one more than
 * five minutes ahead of this clock (a producer's clock, or a data time given
 * as the timestamp) is folded by live services at once but left out of a
 * replay as of any instant before it. Said in the log when archived, at most
 * once a minute. */
static void warn_if_future(const ol_record *r)
{
    static int64_t last_ms;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    if (r->timestamp_ms <= now_ms + 300000 || now_ms - last_ms < 60000)
        return;
    last_ms = now_ms;
    char ts[25];
    ol_ts_format(r->timestamp_ms, ts);
    ol_warn("record timestamped in the future: live services fold it now, a replay as of an earlier instant "
            "leaves it out (at most one such line a minute)|topic=%s partition=%d offset=%lld timestamp=%s",
            r->topic, r->partition, (long long)r->offset, ts);
}

static int archive_record(ol_fold_ctx *ctx, const ol_record *r)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    MDB_dbi records = ol_fold_dbi(ctx, "records"), by_offset = ol_fold_dbi(ctx, "by_offset");
    uint8_t kb[8];
    uint64_t seq;
    MDB_val v;
    int rc;

    /* framed with a registry id: its writer schema goes into the chain first
     * (a re-delivery too: the runtime keeps every id it fetched, and each
     * one kept must be chained, see archive_init) */
    const uint8_t *f = r->value;
    if (r->value_len >= 5 && f[0] == 0) {
        int32_t id = (int32_t)ol_be32(f + 1);
        const char *text = ol_fold_writer_schema_text(ctx, id);
        if (text && (rc = anchor_schema(txn, records, ol_fold_dbi(ctx, "schema_rows"), id, text, r->timestamp_ms)))
            return rc;
    }
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
    warn_if_future(r);
    if ((rc = append_row(txn, records, r, &seq)))
        return rc;
    ol_put_be64(kb, seq);
    MDB_val sv = {8, kb};
    return mdb_put(txn, by_offset, &okv, &sv, 0);
}

/* An archive written before writer schemas were chained keeps them in
 * registry_schemas only: at its first start they are appended to the chain
 * once (anchored from then on: what was edited before cannot be told), and
 * the key "anchored" says so; a schema that later appears there without a
 * chain row is then refused by verify. */
/* Once migrated, every schema in registry_schemas was chained in the batch
 * that kept it: one that is not was put there by hand, and the runtime would
 * serve it from its cache and this service chain it as if fetched. Refused:
 * MDB_CORRUPTED (logged, naming the id). */
static int check_kept_chained(ol_store *st)
{
    MDB_txn *txn;
    MDB_cursor *c = NULL;
    MDB_dbi kept;
    MDB_val k, v;
    int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return rc;
    rc = mdb_dbi_open(txn, "registry_schemas", 0, &kept);
    if (rc == 0 && !(rc = mdb_cursor_open(txn, kept, &c))) {
        for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            MDB_val row;
            if (k.mv_size != 4)
                continue;
            int g = mdb_get(txn, ol_store_dbi(st, "schema_rows"), &k, &row);
            if (g == MDB_NOTFOUND) {
                ol_error("registry_schemas holds a writer schema the chain does not: it was put there outside "
                         "this service; restore the archive (opsledger verify names it)|registry_id=%ld",
                         (long)(int32_t)ol_be32(k.mv_data));
                rc = MDB_CORRUPTED;
                break;
            }
            if (g) {
                rc = g;
                break;
            }
        }
        mdb_cursor_close(c);
    }
    mdb_txn_abort(txn);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int anchor_kept_schemas(ol_store *st)
{
    MDB_txn *txn;
    MDB_cursor *c = NULL;
    MDB_dbi kept, rows = ol_store_dbi(st, "schema_rows");
    MDB_val k = {sizeof ANCHORED_KEY - 1, (void *)ANCHORED_KEY}, v;
    struct timespec now;
    size_t n = 0;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t ts = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
    if (rc)
        return rc;
    if ((rc = mdb_get(txn, rows, &k, &v)) != MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        return rc ? rc : check_kept_chained(st); /* migrated before */
    }
    rc = mdb_dbi_open(txn, "registry_schemas", 0, &kept);
    if (rc == 0 && !(rc = mdb_cursor_open(txn, kept, &c))) {
        MDB_val ik, iv;
        for (rc = mdb_cursor_get(c, &ik, &iv, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &ik, &iv, MDB_NEXT)) {
            if (ik.mv_size != 4)
                continue;
            char *text = strndup(iv.mv_data, iv.mv_size);
            if (!text) {
                rc = ENOMEM;
                break;
            }
            rc = anchor_schema(txn, ol_store_dbi(st, "records"), rows, (int32_t)ol_be32(ik.mv_data), text, ts);
            free(text);
            if (rc)
                break;
            n++;
        }
        mdb_cursor_close(c);
    }
    if (rc == MDB_NOTFOUND) /* no registry_schemas, or the end of it */
        rc = 0;
    v.mv_size = 0;
    v.mv_data = "";
    if (rc || (rc = mdb_put(txn, rows, &k, &v, 0))) {
        mdb_txn_abort(txn);
        return rc;
    }
    if ((rc = mdb_txn_commit(txn)))
        return rc;
    if (n)
        ol_info("writer schemas kept outside the chain appended to it|schemas=%zu", n);
    return 0;
}

/* ---- checkpoints */

struct ckpt {
    ol_runtime *rt;
    char path[4200];
    int64_t every;       /* records */
    int64_t interval_ms; /* monotonic */
    uint64_t last_seq;   /* the last checkpoint written (or read at start) */
    uint8_t last_hash[32];
    int64_t last_ms;     /* monotonic instant of last_seq's checkpoint; 0 at start */
};

static int64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* the row at seq (seq 0: the head) -> its seq and hash; seq 0 and zeros when
 * the archive is empty; MDB_NOTFOUND when seq is given and absent */
static int read_row_hash(ol_store *st, uint64_t want, uint64_t *seq, uint8_t hash[32])
{
    MDB_txn *txn = NULL;
    MDB_cursor *c = NULL;
    uint8_t kb[8];
    MDB_val k = {8, kb}, v;
    int rc;
    *seq = 0;
    memset(hash, 0, 32);
    ol_put_be64(kb, want);
    if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn)) ||
        (rc = mdb_cursor_open(txn, ol_store_dbi(st, "records"), &c)))
        goto out;
    rc = mdb_cursor_get(c, &k, &v, want ? MDB_SET_KEY : MDB_LAST);
    if (rc == MDB_NOTFOUND && !want)
        rc = 0;
    else if (rc == 0 && (k.mv_size != 8 || v.mv_size < 32))
        rc = MDB_CORRUPTED;
    else if (rc == 0) {
        *seq = ol_be64(k.mv_data);
        memcpy(hash, v.mv_data, 32);
    }
out:
    if (c)
        mdb_cursor_close(c);
    if (txn)
        mdb_txn_abort(txn);
    return rc;
}

static int write_checkpoint(struct ckpt *ck, int force)
{
    uint64_t seq;
    uint8_t hash[32];
    char err[512];
    int64_t now = clock_ms(CLOCK_MONOTONIC);
    if (!ol_runtime_store(ck->rt)->env)
        return -1; /* the store could not be reopened: nothing to checkpoint */
    int rc = read_row_hash(ol_runtime_store(ck->rt), 0, &seq, hash);
    if (rc) {
        ol_error("checkpoint: cannot read the head|error=\"%s\"", mdb_strerror(rc));
        return -1;
    }
    if (seq == ck->last_seq && !memcmp(hash, ck->last_hash, 32))
        return 0; /* the head has not moved */
    if (!force && seq - ck->last_seq < (uint64_t)ck->every && now - ck->last_ms < ck->interval_ms)
        return 0;
    if (ol_archive_checkpoint_append(ck->path, seq, hash, clock_ms(CLOCK_REALTIME), err, sizeof err)) {
        ol_error("checkpoint not written|error=\"%s\"", err);
        return -1;
    }
    ck->last_seq = seq;
    memcpy(ck->last_hash, hash, 32);
    ck->last_ms = now;
    return 0;
}

/* the archive against its newest checkpoint: 0, or -1 (logged) */
static int check_head(struct ckpt *ck)
{
    ol_archive_checkpoint *cps = NULL;
    size_t n = 0;
    char err[512], ts[25];
    uint64_t seq;
    uint8_t hash[32];
    int rc = ol_archive_checkpoints_load(ck->path, &cps, &n, err, sizeof err);
    if (rc < 0) {
        ol_error("%s", err);
        return -1;
    }
    if (n == 0) {
        free(cps);
        return 0;
    }
    const ol_archive_checkpoint *last = &cps[n - 1];
    ol_ts_format(last->time_ms, ts);
    rc = read_row_hash(ol_runtime_store(ck->rt), last->seq, &seq, hash);
    if (rc && rc != MDB_NOTFOUND)
        ol_error("checkpoint: cannot read the archive|error=\"%s\"", mdb_strerror(rc));
    else if (rc == MDB_NOTFOUND)
        ol_error("the archive lost its newest records: its checkpoint of %s anchors record %llu, which it no "
                 "longer has; restore the archive (opsledger verify names the damage)|checkpoints=%s",
                 ts, (unsigned long long)last->seq, ck->path);
    else if (memcmp(hash, last->hash, 32)) {
        ol_error("the archive was rewritten: record %llu differs from its checkpoint of %s; restore the archive "
                 "(opsledger verify names the damage)|checkpoints=%s",
                 (unsigned long long)last->seq, ts, ck->path);
        rc = -1;
    } else {
        ck->last_seq = last->seq;
        memcpy(ck->last_hash, last->hash, 32);
    }
    free(cps);
    return rc ? -1 : 0;
}

static int archive_init(ol_runtime *rt, void **state)
{
    const ol_config *cfg = ol_runtime_config(rt);
    struct ckpt *ck = calloc(1, sizeof *ck);
    int64_t secs;
    char err[256];
    if (!ck)
        return -1;
    ck->rt = rt;
    ol_archive_checkpoints_path(cfg, ol_runtime_store(rt)->path, NULL, ck->path, sizeof ck->path);
    if (ol_config_get_i64(cfg, "archive_checkpoint_records", 1000, &ck->every, err, sizeof err) ||
        ol_config_get_i64(cfg, "archive_checkpoint_seconds", 60, &secs, err, sizeof err) || ck->every < 1 ||
        secs < 1) {
        ol_error("archive_checkpoint_records and archive_checkpoint_seconds must be positive integers|error=\"%s\"",
                 err);
        free(ck);
        return -1;
    }
    ck->interval_ms = secs * 1000;
    if (check_head(ck)) {
        free(ck);
        return -1;
    }
    int rc = anchor_kept_schemas(ol_runtime_store(rt));
    if (rc) {
        ol_error("cannot append the kept writer schemas to the chain|error=\"%s\"", mdb_strerror(rc));
        free(ck);
        return -1;
    }
    ol_info("checkpoints|file=%s every_records=%lld every_seconds=%lld", ck->path, (long long)ck->every,
            (long long)secs);
    *state = ck;
    return 0;
}

static int archive_tick(ol_runtime *rt, void *state)
{
    (void)rt;
    return write_checkpoint(state, 0);
}

/* a last checkpoint of what was committed, at shutdown */
static void archive_fini(void *state)
{
    struct ckpt *ck = state;
    write_checkpoint(ck, 1);
    free(ck);
}

const ol_service archive_service = {
    .name = "archive",
    .inputs = inputs,
    .dbs = dbs,
    .map_size = 16LL << 30,
    .raw = archive_record,
    .init = archive_init,
    .fini = archive_fini,
    .tick = archive_tick,
};

const ol_verb archive_verbs[] = {{NULL, NULL, NULL}};
