/* ol_archive_source — replays the archive as a record source (see
 * ol_archive.h): first the live service's own batches from its batch log,
 * then whatever else the archive holds up to the as-of instant. Nothing is
 * yielded before the whole archive verified in the very snapshot the source
 * reads (chain, by_offset index, checkpoints), so the index the batch-log
 * phase looks records up by is the one the chain vouches for. */
#include "ol_archive.h"
#include "ol_log.h"
#include "ol_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_PARTS 4096

struct folded {
    char topic[256];
    int32_t partition;
    int64_t last; /* highest offset yielded through the batch log */
};

struct arch_src {
    ol_store *archive, *log;
    const char *const *topics;
    int64_t as_of;
    int batch_max;
    MDB_txn *txn, *log_txn;
    MDB_dbi records, by_offset, batches;
    uint64_t next_batch;  /* next batch-log row */
    int log_done;
    uint64_t next_seq;    /* archive-order phase: next row to look at */
    MDB_cursor *tail_c;   /* ... read through this cursor on records (next_row) */
    MDB_cursor *row_c;    /* the batch-log phase's cursor on records (get_row) */
    uint64_t total_rows;
    struct folded *folded;
    size_t nfolded;
    int at_end;
    /* progress */
    uint64_t yielded;
    double started, last_report;
    int tty;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void progress(struct arch_src *a, int final)
{
    double t = now_s(), el = t - a->started;
    if (!final && t - a->last_report < (a->tty ? 0.2 : 5.0))
        return;
    a->last_report = t;
    double rate = el > 0 ? (double)a->yielded / el : 0;
    double eta = rate > 0 && a->total_rows > a->yielded ? (double)(a->total_rows - a->yielded) / rate : 0;
    if (a->tty) {
        int width = 30, fill = a->total_rows ? (int)((double)a->yielded * width / (double)a->total_rows) : width;
        if (fill > width)
            fill = width;
        fprintf(stderr, "\rreplay [%.*s%*s] %llu/%llu records  %.0f rec/s  ETA %.0fs   ", fill,
                "##############################", width - fill, "", (unsigned long long)a->yielded,
                (unsigned long long)a->total_rows, rate, eta);
        if (final)
            fputc('\n', stderr);
    } else {
        fprintf(stderr, "replay: %llu of at most %llu records, %.0f records/s, ETA %.0f s\n",
                (unsigned long long)a->yielded, (unsigned long long)a->total_rows, rate, eta);
    }
}

static struct folded *folded_of(struct arch_src *a, const char *topic, int32_t partition, int create)
{
    for (size_t i = 0; i < a->nfolded; i++)
        if (a->folded[i].partition == partition && !strcmp(a->folded[i].topic, topic))
            return &a->folded[i];
    if (!create || a->nfolded == MAX_PARTS)
        return NULL;
    struct folded *f = &a->folded[a->nfolded++];
    snprintf(f->topic, sizeof f->topic, "%s", topic);
    f->partition = partition;
    f->last = -1;
    return f;
}

static int to_record(const ol_arec *ar, ol_record *r)
{
    memset(r, 0, sizeof *r);
    /* the topic must outlive the batch: point into the row's own bytes */
    r->topic = NULL;
    r->partition = ar->partition;
    r->offset = ar->offset;
    r->timestamp_ms = ar->timestamp_ms;
    r->key = ar->key;
    r->key_len = ar->key_len;
    r->value = ar->value;
    r->value_len = ar->value_len;
    return 0;
}

/* topic strings live here for the duration of a batch */
static char g_topics[256][256];
static size_t g_ntopics;

static const char *intern(const char *t)
{
    for (size_t i = 0; i < g_ntopics; i++)
        if (!strcmp(g_topics[i], t))
            return g_topics[i];
    if (g_ntopics == 256)
        return "?";
    snprintf(g_topics[g_ntopics], sizeof g_topics[0], "%s", t);
    return g_topics[g_ntopics++];
}

/* Row seq, through a cursor kept for the batch-log phase: the rows of one
 * batch are neighbours in the archive, and LMDB finds a key on the leaf
 * page its cursor is on without descending the tree again. */
static int get_row(struct arch_src *a, uint64_t seq, ol_arec *ar)
{
    uint8_t kb[8];
    ol_put_be64(kb, seq);
    MDB_val k = {8, kb}, v;
    int rc = a->row_c ? 0 : mdb_cursor_open(a->txn, a->records, &a->row_c);
    if (rc || (rc = mdb_cursor_get(a->row_c, &k, &v, MDB_SET_KEY)))
        return rc;
    return ol_archive_parse(seq, &v, ar) ? MDB_CORRUPTED : 0;
}

/* Row seq of the archive-order phase, which reads the rows in order from
 * next_seq: a cursor step instead of a B-tree descent per row (after a
 * replay that followed the batch log, this phase reads every row again
 * only to skip it). The row's key is checked: a gap in the sequence is an
 * error, as a row missing under get_row is. */
static int next_row(struct arch_src *a, uint64_t seq, ol_arec *ar)
{
    uint8_t kb[8];
    ol_put_be64(kb, seq);
    MDB_val k = {8, kb}, v;
    int rc;
    if (!a->tail_c) {
        if ((rc = mdb_cursor_open(a->txn, a->records, &a->tail_c)))
            return rc;
        rc = mdb_cursor_get(a->tail_c, &k, &v, MDB_SET_KEY);
    } else {
        rc = mdb_cursor_get(a->tail_c, &k, &v, MDB_NEXT);
    }
    if (rc)
        return rc;
    if (k.mv_size != 8 || ol_be64(k.mv_data) != seq)
        return MDB_NOTFOUND;
    return ol_archive_parse(seq, &v, ar) ? MDB_CORRUPTED : 0;
}

/* one batch of the live batch log, or 0 when the log is done */
static int poll_log(struct arch_src *a, ol_record *recs, int max)
{
    uint8_t kb[8];
    ol_put_be64(kb, a->next_batch);
    MDB_val k = {8, kb}, v;
    int rc = mdb_get(a->log_txn, a->batches, &k, &v);
    if (rc == MDB_NOTFOUND) {
        a->log_done = 1;
        return 0;
    }
    if (rc) {
        ol_error("batch log|error=\"%s\"", mdb_strerror(rc));
        return -1;
    }
    const uint8_t *p = v.mv_data, *end = p + v.mv_size;
    if (v.mv_size < 12) {
        ol_error("batch log: batch %llu is %zu bytes, too short to read|error=\"the live database's batch log "
                 "is damaged\"",
                 (unsigned long long)a->next_batch, v.mv_size);
        return -1;
    }
    int64_t max_ts = (int64_t)ol_be64(p);
    uint32_t nparts = ol_be32(p + 8);
    if (max_ts > a->as_of) {
        a->log_done = 1; /* this batch holds knowledge from after the instant */
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        int64_t now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
        if (max_ts > now_ms + 300000) { /* no clock says it is later: a producer's clock or timestamp is wrong */
            char ts[25];
            ol_ts_format(max_ts, ts);
            ol_warn("the live service folded a batch holding a record timestamped in the future; the replay leaves "
                    "that batch and the ones after it to the archive's order and as_of, so its figures may differ "
                    "from the live projection's|batch=%llu max_timestamp=%s",
                    (unsigned long long)a->next_batch, ts);
        }
        return 0;
    }
    p += 12;
    int n = 0;
    for (uint32_t i = 0; i < nparts; i++) {
        if (end - p < 2 || (size_t)(end - p) < 2 + (((size_t)p[0] << 8) | p[1]) + 20) {
            ol_error("batch log: batch %llu ends inside its part %u|error=\"the live database's batch log is "
                     "damaged\"",
                     (unsigned long long)a->next_batch, i + 1);
            return -1;
        }
        size_t tl = ((size_t)p[0] << 8) | p[1];
        char topic[256];
        snprintf(topic, sizeof topic, "%.*s", (int)tl, (const char *)p + 2);
        p += 2 + tl;
        int32_t part = (int32_t)ol_be32(p);
        int64_t first = (int64_t)ol_be64(p + 4), last = (int64_t)ol_be64(p + 12);
        p += 20;
        /* the archived offsets first..last of the partition, walked in the
         * by_offset index (a compacted gap in the topic has no entry): one
         * descent per range, not per record, and a range the log
         * overstates ends at the partition's last archived offset */
        ol_key ok;
        ol_key_init(&ok);
        ol_key_str(&ok, topic);
        ol_key_i32(&ok, part);
        size_t plen = ok.n;
        ol_key_i64(&ok, first);
        MDB_val kk = ol_key_val(&ok), sv;
        MDB_cursor *c;
        if ((rc = mdb_cursor_open(a->txn, a->by_offset, &c))) {
            ol_error("archive by_offset|error=\"%s\"", mdb_strerror(rc));
            return -1;
        }
        for (rc = mdb_cursor_get(c, &kk, &sv, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &kk, &sv, MDB_NEXT)) {
            if (kk.mv_size < plen || memcmp(kk.mv_data, ok.b, plen))
                break; /* past the partition */
            if (kk.mv_size != plen + 8 || sv.mv_size != 8) { /* verify refuses such an index: never skipped quietly */
                mdb_cursor_close(c);
                ol_error("archive by_offset: a malformed entry in partition %d of %s|key_bytes=%zu value_bytes=%zu",
                         part, topic, kk.mv_size, sv.mv_size);
                return -1;
            }
            if (ol_key_get_i64((const uint8_t *)kk.mv_data + plen) > last)
                break;
            ol_arec ar;
            if (get_row(a, ol_be64(sv.mv_data), &ar)) {
                mdb_cursor_close(c);
                return -1;
            }
            if (n == max) {
                mdb_cursor_close(c);
                ol_error("a live batch is larger than the replay batch|max=%d", max);
                return -1;
            }
            to_record(&ar, &recs[n]);
            recs[n].topic = intern(topic);
            n++;
        }
        mdb_cursor_close(c);
        if (rc && rc != MDB_NOTFOUND) {
            ol_error("archive by_offset|error=\"%s\"", mdb_strerror(rc));
            return -1;
        }
        struct folded *f = folded_of(a, topic, part, 1);
        if (f && last > f->last)
            f->last = last;
    }
    a->next_batch++;
    return n;
}

static int wanted(struct arch_src *a, const char *topic)
{
    for (size_t i = 0; a->topics && a->topics[i]; i++)
        if (!strcmp(a->topics[i], topic))
            return 1;
    return a->topics == NULL;
}

static int arch_poll(ol_source *s, ol_record *recs, int max, int timeout_ms)
{
    struct arch_src *a = s->ctx;
    int n = 0;
    (void)timeout_ms;
    if (a->at_end)
        return 0;
    g_ntopics = 0;
    if (a->batch_max < max)
        max = a->batch_max;
    if (a->log && !a->log_done) {
        n = poll_log(a, recs, max);
        if (n != 0) {
            if (n > 0)
                a->yielded += (uint64_t)n;
            progress(a, 0);
            return n;
        }
        if (!a->log_done)
            return n;
    }
    while (n < max && a->next_seq <= a->total_rows) {
        ol_arec ar;
        if (next_row(a, a->next_seq, &ar)) {
            ol_error("archive row unreadable|seq=%llu", (unsigned long long)a->next_seq);
            return -1;
        }
        a->next_seq++;
        if (ar.timestamp_ms > a->as_of || !wanted(a, ar.topic))
            continue;
        struct folded *f = folded_of(a, ar.topic, ar.partition, 0);
        if (f && ar.offset <= f->last)
            continue; /* already folded through the batch log */
        to_record(&ar, &recs[n]);
        recs[n].topic = intern(ar.topic);
        n++;
    }
    a->yielded += (uint64_t)n;
    if (a->next_seq > a->total_rows) {
        a->at_end = 1;
        progress(a, 1);
    } else
        progress(a, 0);
    return n;
}

static int arch_at_end(ol_source *s) { return ((struct arch_src *)s->ctx)->at_end; }

static void arch_close(ol_source *s)
{
    struct arch_src *a = s->ctx;
    if (a->tail_c)
        mdb_cursor_close(a->tail_c); /* a read-only transaction's cursors are closed by hand */
    if (a->row_c)
        mdb_cursor_close(a->row_c);
    if (a->txn)
        mdb_txn_abort(a->txn);
    if (a->log_txn)
        mdb_txn_abort(a->log_txn);
    free(a->folded);
    free(a);
    free(s);
}

ol_source *ol_source_archive_new(ol_store *archive, const char *const *topics, int64_t as_of_ms, ol_store *batch_log,
                                 int batch_max, const ol_archive_checkpoint *cps, size_t ncps, const char *cp_path,
                                 char *err, size_t errlen)
{
    ol_source *s = calloc(1, sizeof *s);
    struct arch_src *a = calloc(1, sizeof *a);
    ol_archive_report rep;
    MDB_stat st;
    int rc;
    snprintf(err, errlen, "out of memory");
    if (!s || !a)
        goto fail;
    a->folded = calloc(MAX_PARTS, sizeof *a->folded);
    if (!a->folded)
        goto fail;
    a->archive = archive;
    a->topics = topics;
    a->log = batch_log;
    a->as_of = as_of_ms;
    a->batch_max = batch_max > 0 ? batch_max : 5000;
    a->next_batch = 1;
    a->next_seq = 1;
    a->tty = isatty(2);
    a->started = a->last_report = now_s();
    if ((rc = mdb_txn_begin(archive->env, NULL, MDB_RDONLY, &a->txn)) ||
        (rc = mdb_stat(a->txn, ol_store_dbi(archive, "records"), &st))) {
        snprintf(err, errlen, "archive %s: %s", archive->path, mdb_strerror(rc));
        goto fail;
    }
    a->records = ol_store_dbi(archive, "records");
    a->by_offset = ol_store_dbi(archive, "by_offset");
    a->total_rows = st.ms_entries;
    if ((rc = ol_archive_verify(a->txn, archive, cps, ncps, cp_path, &rep))) {
        snprintf(err, errlen, "archive %s does not verify, nothing replayed: %s", archive->path, rep.msg);
        goto fail;
    }
    if (rep.unanchored)
        ol_warn("the archive keeps writer schemas outside its chain (written before 2026-12-03): nothing proves "
                "them; start opsledger-archive on it once to chain them from then on|archive=%s schemas=%llu",
                archive->path, (unsigned long long)rep.unanchored);
    if (batch_log) {
        if ((rc = mdb_txn_begin(batch_log->env, NULL, MDB_RDONLY, &a->log_txn))) {
            snprintf(err, errlen, "batch log %s: %s", batch_log->path, mdb_strerror(rc));
            goto fail;
        }
        a->batches = ol_store_dbi(batch_log, "batches");
    }
    s->ctx = a;
    s->poll = arch_poll;
    s->at_end = arch_at_end;
    s->close = arch_close;
    return s;
fail:
    if (a) {
        if (a->txn)
            mdb_txn_abort(a->txn);
        free(a->folded);
    }
    free(a);
    free(s);
    return NULL;
}
