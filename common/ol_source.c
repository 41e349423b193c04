/* ol_source — where records come from: a live Kafka consumer (assigned
 * explicitly at the offsets stored in LMDB, never at group offsets) or an
 * in-memory array (unit tests). The archive source lives with the archive. */
#include "ol_runtime.h"
#include "ol_kafka.h"
#include "ol_log.h"

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
    s->close = array_close;
    return s;
}

/* ------------------------------------------------------------ kafka */
struct kafka_src {
    const ol_config *cfg;
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
    } *parts;
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

static int part_index(struct kafka_src *k, const char *topic, int32_t p)
{
    for (int i = 0; i < k->nparts; i++)
        if (k->parts[i].partition == p && strcmp(k->parts[i].topic, topic) == 0)
            return i;
    return -1;
}

static int kafka_start(ol_source *s, ol_runtime *rt)
{
    struct kafka_src *k = s->ctx;
    const ol_service *svc = ol_runtime_service(rt);
    char err[512];
    rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(16);
    int rc = -1, total = 0;

    k->rk = ol_kafka_consumer(k->cfg, k->group, k->stop_at_end, err, sizeof err);
    if (!k->rk) {
        ol_error("kafka consumer|error=\"%s\"", err);
        goto out;
    }
    for (size_t i = 0; svc->inputs[i]; i++) {
        int n;
        /* the broker may still be starting: retry metadata for a while */
        for (int attempt = 0;; attempt++) {
            n = ol_kafka_partitions(k->rk, svc->inputs[i], 2000, err, sizeof err);
            if (n > 0 || attempt >= 30)
                break;
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
            rd_kafka_topic_partition_list_add(tp, svc->inputs[i], p)->offset =
                next >= 0 ? next : RD_KAFKA_OFFSET_BEGINNING;
            snprintf(k->parts[k->nparts].topic, sizeof k->parts[0].topic, "%s", svc->inputs[i]);
            k->parts[k->nparts].partition = p;
            k->parts[k->nparts].eof = 0;
            k->nparts++;
        }
    }
    rd_kafka_resp_err_t e = rd_kafka_assign(k->rk, tp);
    if (e) {
        ol_error("assign|error=\"%s\"", rd_kafka_err2str(e));
        goto out;
    }
    k->q = rd_kafka_queue_get_consumer(k->rk);
    ol_info("assigned|partitions=%d", k->nparts);
    rc = 0;
out:
    rd_kafka_topic_partition_list_destroy(tp);
    return rc;
}

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

static void kafka_close(ol_source *s)
{
    struct kafka_src *k = s->ctx;
    release_batch(k);
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
    s->ctx = k;
    s->start = kafka_start;
    s->poll = kafka_poll;
    s->at_end = kafka_at_end;
    s->close = kafka_close;
    return s;
}
