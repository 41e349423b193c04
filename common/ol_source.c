/* ol_source — where records come from: a live Kafka consumer (assigned
 * explicitly at the offsets stored in LMDB, never at group offsets) or an
 * in-memory array (unit tests). The archive source lives with the archive.
 *
 * Offsets out of range (SPEC section 4, "Offsets"; ol_offsets.h) stop the
 * Kafka source, never a silent skip or re-read: before assigning, every
 * partition with a stored offset is checked against the broker's
 * watermarks (and a stored offset of a partition the topic no longer has is
 * a fault too); while running, librdkafka's auto.offset.reset is forced to
 * "error", so an out-of-range fetch comes back as an error message, which
 * poll turns into a fatal stop with the same words. */
#include "ol_runtime.h"
#include "ol_kafka.h"
#include "ol_log.h"
#include "ol_offsets.h"
#include "ol_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------ array */
struct array_src {
    const ol_record *recs;
    size_t n, pos;
};

static int array_poll(ol_source *s, ol_record *out, int max, int timeout_ms)
{
    struct array_src *a = s->ctx;
    (void)timeout_ms;
    int n = 0;
    while (n < max && a->pos < a->n)
        out[n++] = a->recs[a->pos++];
    return n;
}

static int array_at_end(ol_source *s)
{
    struct array_src *a = s->ctx;
    return a->pos >= a->n;
}

static int64_t array_backlog(ol_source *s)
{
    struct array_src *a = s->ctx;
    return (int64_t)(a->n - a->pos);
}

static void array_close(ol_source *s)
{
    free(s->ctx);
    free(s);
}

ol_source *ol_source_array_new(const ol_record *recs, size_t n)
{
    ol_source *s = calloc(1, sizeof *s);
    struct array_src *a = calloc(1, sizeof *a);
    if (!s || !a) {
        free(s);
        free(a);
        return NULL;
    }
    a->recs = recs;
    a->n = n;
    s->ctx = a;
    s->poll = array_poll;
    s->at_end = array_at_end;
    s->backlog = array_backlog;
    s->close = array_close;
    return s;
}

/* ------------------------------------------------------------ kafka */
struct kafka_src {
    const ol_config *cfg;
    ol_runtime *rt; /* for the stored offsets and the service's name in messages */
    char *group;
    int stop_at_end;
    rd_kafka_t *rk;
    rd_kafka_queue_t *q;
    rd_kafka_message_t **batch;
    ssize_t nbatch;
    size_t capbatch;
    int nparts;       /* assigned partitions */
    int neof;         /* partitions currently at their end */
    struct {
        char topic[128];
        int32_t partition;
        int eof;
        int64_t start; /* the offset assigned at start, or RD_KAFKA_OFFSET_BEGINNING */
    } *parts;
    rd_kafka_topic_partition_list_t *pos; /* kafka_backlog's list of the assigned partitions */
    int last_pi;                          /* part_index's last answer: a fetch's messages come in runs */
    /* records and payload bytes taken since the queue was last seen empty,
     * and the amounts (half of queued.min.messages and of
     * queued.max.messages.kbytes) from which the fetcher may have stopped */
    int64_t taken, taken_bytes, full_records, full_bytes;
    int64_t last_err_log;
    ol_header *hdrs; /* every header of the batch; they point into the messages */
    size_t nhdrs, caphdrs;
};

static void release_batch(struct kafka_src *k)
{
    for (ssize_t i = 0; i < k->nbatch; i++)
        rd_kafka_message_destroy(k->batch[i]);
    k->nbatch = 0;
    k->nhdrs = 0;
}

/* the headers of m, appended to the batch's header array; their bytes stay
 * owned by m until release_batch. 0, or -1 out of memory. */
static int collect_headers(struct kafka_src *k, rd_kafka_message_t *m, size_t *first, size_t *n)
{
    rd_kafka_headers_t *h = NULL;
    const char *name;
    const void *val;
    size_t sz;
    *first = k->nhdrs;
    *n = 0;
    if (rd_kafka_message_headers(m, &h) || !h)
        return 0;
    for (size_t i = 0; rd_kafka_header_get_all(h, i, &name, &val, &sz) == 0; i++) {
        if (k->nhdrs == k->caphdrs) {
            size_t cap = k->caphdrs ? k->caphdrs * 2 : 256;
            ol_header *nh = realloc(k->hdrs, cap * sizeof *nh);
            if (!nh)
                return -1;
            k->hdrs = nh;
            k->caphdrs = cap;
        }
        k->hdrs[k->nhdrs].name = name;
        k->hdrs[k->nhdrs].value = val ? val : "";
        k->hdrs[k->nhdrs].len = val ? sz : 0;
        k->nhdrs++;
        (*n)++;
    }
    return 0;
}

/* the index of topic/partition p in k->parts, or -1. A fetch hands over
 * each partition's messages in a run, so the last answer is tried first;
 * the scan over every assigned partition (819 for the archive) was ~10 %
 * of a catch-up's CPU when it ran for every message. */
static int part_index(struct kafka_src *k, const char *topic, int32_t p)
{
    int i = k->last_pi;
    if (i >= 0 && i < k->nparts && k->parts[i].partition == p && strcmp(k->parts[i].topic, topic) == 0)
        return i;
    for (i = 0; i < k->nparts; i++)
        if (k->parts[i].partition == p && strcmp(k->parts[i].topic, topic) == 0)
            return k->last_pi = i;
    return -1;
}

/* 1 (logged) when the stored next offset of topic/partition is out of the
 * broker's range, 2 (logged) when the range cannot be had; 0 when in range */
static int ol_source_check_offset(ol_runtime *rt, rd_kafka_t *rk, const char *service, const char *topic,
                                  int32_t partition, int64_t next)
{
    char msg[1024];
    int64_t lo, hi;
    rd_kafka_resp_err_t e;
    /* up to 30 s for an answer, asked a second at a time: a stop is heard */
    for (int waited = 0;; waited++) {
        e = ol_offsets_watermarks(rk, topic, partition, 1000, &lo, &hi);
        if (e != RD_KAFKA_RESP_ERR__TIMED_OUT || waited >= 29)
            break;
        if (ol_runtime_stopping(rt))
            return 2;
    }
    if (e) {
        ol_error("cannot check a stored offset against the broker (not started)|service=%s topic=%s "
                 "partition=%d stored_offset=%lld error=\"%s\"",
                 service, topic, partition, (long long)next, rd_kafka_err2str(e));
        return 2;
    }
    if (ol_offsets_check(next, lo, hi) == OL_OFFSETS_IN_RANGE)
        return 0;
    ol_offsets_message(msg, sizeof msg, service, topic, partition, next, lo, hi);
    ol_error("%s", msg);
    return 1;
}

/* stored offsets of partitions >= n, which the topic no longer has (it was
 * recreated with fewer): each is a fault, logged; returns how many */
static int ol_source_check_gone(ol_runtime *rt, const char *service, const char *topic, int n)
{
    ol_store *st = ol_runtime_store(rt);
    MDB_txn *txn;
    MDB_cursor *c;
    MDB_val k, v;
    char prefix[300], t[256];
    int32_t p;
    int faults = 0, rc;
    snprintf(prefix, sizeof prefix, "offset/%s/", topic);
    if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn))) {
        ol_error("meta|error=\"%s\"", mdb_strerror(rc));
        return 1;
    }
    if ((rc = mdb_cursor_open(txn, ol_store_dbi(st, "meta"), &c))) {
        mdb_txn_abort(txn);
        ol_error("meta|error=\"%s\"", mdb_strerror(rc));
        return 1;
    }
    k.mv_size = strlen(prefix);
    k.mv_data = prefix;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size < strlen(prefix) || memcmp(k.mv_data, prefix, strlen(prefix)))
            break;
        if (v.mv_size != 8 || !ol_offsets_parse_key(&k, t, sizeof t, &p) || strcmp(t, topic) || p < n)
            continue;
        ol_error("offset out of range: a stored offset names a partition the topic no longer has (the topic was "
                 "recreated with fewer partitions); stopping, nothing was folded; an operator resolves it with "
                 "`opsledger offsets reset %s ...`|service=%s topic=%s partition=%d stored_offset=%lld "
                 "partitions=%d",
                 service, service, topic, p, (long long)ol_be64(v.mv_data), n);
        faults++;
    }
    mdb_cursor_close(c);
    mdb_txn_abort(txn);
    return faults;
}

/* the fatal stop of an out-of-range fetch while running: the same message
 * as at start, with the watermarks asked of the broker now */
static void ol_source_out_of_range(struct kafka_src *k, const char *topic, const rd_kafka_message_t *m)
{
    const char *service = ol_runtime_service(k->rt)->name;
    char msg[1024];
    int64_t lo = -1, hi = -1;
    int64_t stored = ol_runtime_offset(k->rt, topic, m->partition);
    rd_kafka_resp_err_t e = ol_offsets_watermarks(k->rk, topic, m->partition, 5000, &lo, &hi);
    /* judged by the stored offset when that is out of range, else by the
     * position the fetch failed at (no stored offset yet, or not yet
     * committed up to it) */
    int64_t judged = stored >= 0 && ol_offsets_check(stored, lo, hi) != OL_OFFSETS_IN_RANGE ? stored
                     : m->offset >= 0                                                         ? m->offset
                                                                                              : stored;
    ol_offsets_message(msg, sizeof msg, service, topic, m->partition, judged, lo, hi);
    ol_error("%s fetch_offset=%lld watermarks=%s kafka=\"%s\"", msg, (long long)m->offset,
             e ? rd_kafka_err2str(e) : "ok", rd_kafka_message_errstr(m));
}

/* an integer property of rk's configuration as librdkafka holds it (the
 * defaults of ol_kafka.c and whatever the config set), or dflt */
static int64_t conf_int(rd_kafka_t *rk, const char *name, int64_t dflt)
{
    char buf[64];
    size_t sz = sizeof buf;
    if (rd_kafka_conf_get(rd_kafka_conf(rk), name, buf, &sz) != RD_KAFKA_CONF_OK)
        return dflt;
    char *end;
    long long v = strtoll(buf, &end, 10);
    return end != buf && v > 0 ? (int64_t)v : dflt;
}

static int kafka_start(ol_source *s, ol_runtime *rt)
{
    struct kafka_src *k = s->ctx;
    const ol_service *svc = ol_runtime_service(rt);
    char err[512];
    rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(16);
    int rc = -1, total = 0, faults = 0;
    ol_config ccfg;

    k->rt = rt;
    /* no automatic reset: an out-of-range fetch is an error message (see
     * kafka_poll); set last, over whatever the config says */
    ol_config_init(&ccfg);
    for (size_t i = 0; i < k->cfg->n; i++)
        if (ol_config_set(&ccfg, k->cfg->kv[i].key, k->cfg->kv[i].value))
            goto nomem;
    const char *reset = ol_config_get(k->cfg, "kafka.auto.offset.reset", NULL);
    if (reset && strcmp(reset, "error"))
        ol_warn("kafka.auto.offset.reset is ignored by services: an offset out of range stops the service|"
                "configured=%s",
                reset);
    if (ol_config_set(&ccfg, "kafka.auto.offset.reset", "error"))
        goto nomem;
    k->rk = ol_kafka_consumer(&ccfg, k->group, k->stop_at_end, err, sizeof err);
    ol_config_free(&ccfg);
    if (!k->rk) {
        ol_error("kafka consumer|error=\"%s\"", err);
        goto out;
    }
    for (size_t i = 0; svc->inputs[i]; i++) {
        int n;
        /* the broker may still be starting: retry metadata for about a
         * minute, in half-second asks so that a SIGTERM is heard at once
         * (it was not, for up to a minute, with 2 s asks and no check) */
        for (int attempt = 0;; attempt++) {
            if (ol_runtime_stopping(rt)) /* a SIGTERM while the broker is awaited */
                goto out;
            struct timespec t0, t1;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            n = ol_kafka_partitions(k->rk, svc->inputs[i], 500, err, sizeof err);
            if (n > 0 || attempt >= 120)
                break;
            /* a broker that answers at once (the topic is not there yet)
             * is asked again after the rest of the half second, so the wait
             * is about a minute either way */
            clock_gettime(CLOCK_MONOTONIC, &t1);
            long spent_ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
            for (long left = 500 - spent_ms; left > 0 && !ol_runtime_stopping(rt); left -= 100) {
                struct timespec d = {0, (left > 100 ? 100 : left) * 1000000L};
                nanosleep(&d, NULL);
            }
            if (attempt % 4 == 0) /* every ~2 s, as before */
                ol_warn("waiting for topic|topic=%s error=\"%s\"", svc->inputs[i], err);
        }
        if (n <= 0) {
            ol_error("no partitions|topic=%s error=\"%s\"", svc->inputs[i], err);
            goto out;
        }
        total += n;
        void *np = realloc(k->parts, (size_t)total * sizeof *k->parts);
        if (!np)
            goto out;
        k->parts = np;
        for (int p = 0; p < n; p++) {
            int64_t next = ol_runtime_offset(rt, svc->inputs[i], p);
            int chk = next >= 0 ? ol_source_check_offset(rt, k->rk, svc->name, svc->inputs[i], p, next) : 0;
            if (chk == 2) /* no answer from the broker: not the next partition's 30 s too */
                goto out;
            if (chk) {
                faults++; /* every fault is reported before stopping */
                continue;
            }
            rd_kafka_topic_partition_list_add(tp, svc->inputs[i], p)->offset =
                next >= 0 ? next : RD_KAFKA_OFFSET_BEGINNING;
            snprintf(k->parts[k->nparts].topic, sizeof k->parts[0].topic, "%s", svc->inputs[i]);
            k->parts[k->nparts].partition = p;
            k->parts[k->nparts].eof = 0;
            k->parts[k->nparts].start = next >= 0 ? next : RD_KAFKA_OFFSET_BEGINNING;
            k->nparts++;
        }
        faults += ol_source_check_gone(rt, svc->name, svc->inputs[i], n);
    }
    if (faults) {
        ol_error("not started: stored offsets out of range; nothing was folded|service=%s partitions=%d", svc->name,
                 faults);
        goto out;
    }
    rd_kafka_resp_err_t e = rd_kafka_assign(k->rk, tp);
    if (e) {
        ol_error("assign|error=\"%s\"", rd_kafka_err2str(e));
        goto out;
    }
    k->q = rd_kafka_queue_get_consumer(k->rk);
    k->full_records = conf_int(k->rk, "queued.min.messages", 100000) / 2;
    k->full_bytes = conf_int(k->rk, "queued.max.messages.kbytes", 65536) * 1024 / 2;
    ol_info("assigned|partitions=%d", k->nparts);
    rc = 0;
out:
    rd_kafka_topic_partition_list_destroy(tp);
    return rc;
nomem:
    ol_config_free(&ccfg);
    ol_error("out of memory");
    goto out;
}

static void queue_emptied(struct kafka_src *k);

static int kafka_poll(ol_source *s, ol_record *out, int max, int timeout_ms)
{
    struct kafka_src *k = s->ctx;
    int n = 0;

    release_batch(k);
    if ((size_t)max > k->capbatch) {
        void *nb = realloc(k->batch, (size_t)max * sizeof *k->batch);
        if (!nb)
            return -1;
        k->batch = nb;
        k->capbatch = (size_t)max;
    }
    /* take what has arrived: wait (up to timeout_ms) for the first message
     * only, then drain what is queued without waiting. A full batch is
     * never waited for, so a light trickle is committed within
     * milliseconds, while a backlog still fills the batch: librdkafka's
     * prefetch keeps the queue ahead of the fold. */
    k->nbatch = 0;
    for (int round = 0; k->nbatch < max; round++) {
        ssize_t got;
        if (round == 0) {
            got = rd_kafka_consume_batch_queue(k->q, 0, k->batch, (size_t)max);
            if (got == 0) {
                queue_emptied(k);
                rd_kafka_message_t *m = rd_kafka_consume_queue(k->q, timeout_ms);
                if (m) {
                    k->batch[0] = m;
                    got = 1;
                }
            }
        } else {
            got = rd_kafka_consume_batch_queue(k->q, 0, k->batch + k->nbatch, (size_t)(max - k->nbatch));
        }
        if (got < 0) {
            ol_error("consume|error=\"%s\"", rd_kafka_err2str(rd_kafka_last_error()));
            release_batch(k);
            return -1;
        }
        if (got == 0)
            break;
        k->nbatch += got;
    }
    k->taken += k->nbatch;
    for (ssize_t i = 0; i < k->nbatch; i++)
        k->taken_bytes += (int64_t)k->batch[i]->len;
    /* a batch that emptied the queue: a stopped fetcher is woken now, to
     * refill the queue while the batch is folded */
    if (k->nbatch > 0 && rd_kafka_queue_length(k->q) == 0)
        queue_emptied(k);
    for (ssize_t i = 0; i < k->nbatch; i++) {
        rd_kafka_message_t *m = k->batch[i];
        const char *topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "";
        int pi = m->rkt ? part_index(k, topic, m->partition) : -1;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (pi >= 0 && !k->parts[pi].eof) {
                k->parts[pi].eof = 1;
                k->neof++;
            }
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET || m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) {
            /* the fetch position left the partition's range while running
             * (retention overtook it, the topic was recreated): fatal; the
             * records of this batch are not folded, nothing is committed */
            ol_source_out_of_range(k, topic, m);
            release_batch(k);
            return -1;
        }
        if (m->err) {
            /* transient broker errors: librdkafka retries by itself; log at most once a second */
            int64_t now = (int64_t)time(NULL);
            if (now != k->last_err_log)
                ol_warn("consumer error|error=\"%s\"", rd_kafka_message_errstr(m));
            k->last_err_log = now;
            continue;
        }
        if (pi >= 0 && k->parts[pi].eof) {
            k->parts[pi].eof = 0;
            k->neof--;
        }
        rd_kafka_timestamp_type_t tt;
        ol_record *r = &out[n++];
        r->topic = topic;
        r->partition = m->partition;
        r->offset = m->offset;
        r->timestamp_ms = rd_kafka_message_timestamp(m, &tt);
        r->key = m->key;
        r->key_len = m->key_len;
        r->value = m->payload ? m->payload : "";
        r->value_len = m->len;
        size_t first, nh;
        if (collect_headers(k, m, &first, &nh))
            return -1;
        r->nheaders = nh;
        r->headers = (const ol_header *)(uintptr_t)first; /* an index until the array stops growing */
    }
    for (int i = 0; i < n; i++)
        out[i].headers = out[i].nheaders ? k->hdrs + (size_t)(uintptr_t)out[i].headers : NULL;
    return n;
}

static int kafka_at_end(ol_source *s)
{
    struct kafka_src *k = s->ctx;
    return k->nparts > 0 && k->neof == k->nparts;
}

/* k->pos filled with the application's position in every assigned
 * partition: 0, or -1 (no consumer yet, out of memory, librdkafka refused) */
static int read_positions(struct kafka_src *k)
{
    if (!k->rk || !k->nparts)
        return -1;
    if (!k->pos) {
        if (!(k->pos = rd_kafka_topic_partition_list_new(k->nparts)))
            return -1;
        for (int i = 0; i < k->nparts; i++)
            rd_kafka_topic_partition_list_add(k->pos, k->parts[i].topic, k->parts[i].partition);
    }
    return rd_kafka_position(k->rk, k->pos) ? -1 : 0;
}

/* records of partition i between the position read_positions read and the
 * high watermark librdkafka cached from its last fetch (no request is
 * made); -1 when not fetched yet. A partition nothing was consumed from
 * yet counts from where it was assigned. */
static int64_t part_behind(struct kafka_src *k, int i)
{
    int64_t lo, hi, at = i < k->pos->cnt ? k->pos->elems[i].offset : -1;
    if (rd_kafka_get_watermark_offsets(k->rk, k->parts[i].topic, k->parts[i].partition, &lo, &hi) || hi < 0)
        return -1;
    if (at < 0)
        at = k->parts[i].start >= 0 ? k->parts[i].start : lo;
    if (at < 0)
        return -1;
    return hi > at ? hi - at : 0;
}

/* a partition not fetched yet is left out, and none fetched is -1 */
static int64_t kafka_backlog(ol_source *s)
{
    struct kafka_src *k = s->ctx;
    int64_t total = 0;
    int known = 0;
    if (read_positions(k))
        return -1;
    for (int i = 0; i < k->nparts; i++) {
        int64_t b = part_behind(k, i);
        if (b >= 0)
            known = 1, total += b;
    }
    return known ? total : -1;
}

/* librdkafka 2.0 (Debian 12's) stops fetching a partition once the
 * consumer queue holds queued.min.messages (10,000 here, ol_kafka.c) or
 * queued.max.messages.kbytes (8 MiB), and its broker thread then sleeps a
 * full second (rd_kafka_max_block_ms) before it looks again, however soon
 * the queue drains: a catch-up folded a batch, found the queue empty and
 * waited ~0.7 s of every second (librdkafka issue #2879; 2.2.0 added
 * fetch.queue.backoff.ms for it). Any request to a broker wakes its
 * thread, which then finds its partitions fetchable again.
 *
 * Called when the queue is seen empty (before waiting for a record, and
 * after a batch drained it). Only when at least half the threshold's
 * records or bytes were taken since it was last seen empty can the
 * fetcher have stopped on it; then every partition known to be behind
 * (records between our position and the high watermark of its last fetch)
 * goes into one offsets-for-times look-up of the latest offset (-1), which
 * librdkafka sends as one ListOffsets request to each leader involved, so
 * that with several brokers each leader's thread is woken (when a
 * partition's leader is not in the metadata cache, nothing is sent:
 * librdkafka refreshes the metadata instead, and the next empty queue
 * asks again; the debug line cannot tell). The time-out is 0: the call returns
 * once the requests are queued, and librdkafka drops the answers (its
 * callback takes the reply queue's destruction, the path any time-out
 * takes), so the fold never waits a round trip. rd_kafka_offsets_for_times,
 * not rd_kafka_query_watermark_offsets: 2.0's watermark query ignores its
 * time-out when the leader is unreachable (librdkafka issue #2588, fixed
 * in 2.3.0), and a broker lost mid-catch-up then hung the service, SIGTERM
 * included (tests/e2e/test_writepath.sh, section 5).
 * A live service's small batches never ask: a request per poll slowed the
 * embedded broker's fetches and took the live latency's p99 from 38 to
 * 608 ms (tests/bench/README.md). */
static void queue_emptied(struct kafka_src *k)
{
    int full = k->taken >= k->full_records || k->taken_bytes >= k->full_bytes;
    k->taken = k->taken_bytes = 0;
    if (!full || read_positions(k))
        return;
    rd_kafka_topic_partition_list_t *ask = NULL;
    for (int i = 0; i < k->nparts; i++) {
        if (part_behind(k, i) <= 0)
            continue;
        if (!ask && !(ask = rd_kafka_topic_partition_list_new(k->nparts)))
            return;
        rd_kafka_topic_partition_list_add(ask, k->parts[i].topic, k->parts[i].partition)->offset =
            RD_KAFKA_OFFSET_END;
    }
    if (!ask)
        return;
    rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(k->rk, ask, 0);
    if (err == RD_KAFKA_RESP_ERR__TIMED_OUT) /* sent, the answer not awaited */
        ol_debug("woke the fetcher|partitions=%d", ask->cnt);
    else
        ol_debug("woke the fetcher|partitions=%d error=\"%s\"", ask->cnt, rd_kafka_err2str(err));
    rd_kafka_topic_partition_list_destroy(ask);
}

static void kafka_close(ol_source *s)
{
    struct kafka_src *k = s->ctx;
    release_batch(k);
    if (k->pos)
        rd_kafka_topic_partition_list_destroy(k->pos);
    if (k->q)
        rd_kafka_queue_destroy(k->q);
    if (k->rk) {
        rd_kafka_consumer_close(k->rk);
        rd_kafka_destroy(k->rk);
    }
    free(k->batch);
    free(k->hdrs);
    free(k->parts);
    free(k->group);
    free(k);
    free(s);
}

ol_source *ol_source_kafka_new(const ol_config *cfg, const char *group, int stop_at_end)
{
    ol_source *s = calloc(1, sizeof *s);
    struct kafka_src *k = calloc(1, sizeof *k);
    if (!s || !k || !(k->group = strdup(group))) {
        free(s);
        if (k)
            free(k->group);
        free(k);
        return NULL;
    }
    k->cfg = cfg;
    k->stop_at_end = stop_at_end;
    k->last_pi = -1;
    s->ctx = k;
    s->start = kafka_start;
    s->poll = kafka_poll;
    s->at_end = kafka_at_end;
    s->backlog = kafka_backlog;
    s->close = kafka_close;
    return s;
}
