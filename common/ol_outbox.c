/* ol_outbox — derived events and dead letters wait in the `outbox` database,
 * written in the same transaction as the fold that produced them; the
 * publisher hands them to an idempotent producer (acks=all) in sequence
 * order and deletes a row only after the broker acknowledged it. A crash
 * re-sends what was not yet deleted, with the same event_id: downstream sees
 * at-least-once delivery of identical events, i.e. exactly-once effect.
 *
 * Row key: sequence (8 bytes, BE). Row value:
 *   topic len (2) | topic | key len (4) | key | header count (2) |
 *   { name len (2) | name | value len (4) | value }* | value len (4) | value */
#include "ol_runtime_int.h"
#include "ol_kafka.h"
#include "ol_log.h"
#include "ol_registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ol_outbox_append(ol_runtime *rt, MDB_txn *txn, const char *topic, const void *key, size_t klen,
                     const ol_header *hdrs, size_t nhdrs, const void *val, size_t vlen)
{
    size_t tlen = strlen(topic), size = 2 + tlen + 4 + klen + 2 + 4 + vlen;
    for (size_t i = 0; i < nhdrs; i++)
        size += 2 + strlen(hdrs[i].name) + 4 + hdrs[i].len;
    uint8_t kb[8];
    ol_put_be64(kb, rt->outbox_seq + 1);
    MDB_val k = {8, kb}, v = {size, NULL};
    int rc = mdb_put(txn, rt->outbox, &k, &v, MDB_RESERVE | MDB_APPEND);
    if (rc)
        return rc;
    rt->outbox_seq++;
    uint8_t *p = v.mv_data;
    p[0] = (uint8_t)(tlen >> 8), p[1] = (uint8_t)tlen, p += 2;
    memcpy(p, topic, tlen), p += tlen;
    ol_put_be32(p, (uint32_t)klen), p += 4;
    memcpy(p, key, klen), p += klen;
    p[0] = (uint8_t)(nhdrs >> 8), p[1] = (uint8_t)nhdrs, p += 2;
    for (size_t i = 0; i < nhdrs; i++) {
        size_t nl = strlen(hdrs[i].name);
        p[0] = (uint8_t)(nl >> 8), p[1] = (uint8_t)nl, p += 2;
        memcpy(p, hdrs[i].name, nl), p += nl;
        ol_put_be32(p, (uint32_t)hdrs[i].len), p += 4;
        memcpy(p, hdrs[i].value, hdrs[i].len), p += hdrs[i].len;
    }
    ol_put_be32(p, (uint32_t)vlen), p += 4;
    memcpy(p, val, vlen);
    /* schema_registry.url: derived events leave with the registry's id;
     * the `derived` database keeps the manifest's (ol_registry.c) */
    ol_registry_rewrite_frame(rt->schemas->reg, topic, p, vlen);
    return 0;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    ol_runtime *rt = opaque;
    uint64_t seq = (uint64_t)(uintptr_t)m->_private;
    (void)rk;
    rt->inflight--;
    if (m->err) {
        /* with message.timeout.ms=0 this is a fatal producer error (fenced,
         * unrecoverable idempotence state): stop; the row stays in the outbox */
        ol_error("publish failed|seq=%llu error=\"%s\"", (unsigned long long)seq, rd_kafka_err2str(m->err));
        rt->producer_failed = 1;
        return;
    }
    if (rt->nacked == rt->capacked) {
        size_t cap = rt->capacked ? rt->capacked * 2 : 1024;
        uint64_t *n = realloc(rt->acked, cap * sizeof *n);
        if (!n) {
            rt->producer_failed = 1; /* cannot remember the ack: it will be re-sent */
            return;
        }
        rt->acked = n;
        rt->capacked = cap;
    }
    rt->acked[rt->nacked++] = seq;
}

int ol_outbox_start(ol_runtime *rt, char *err, size_t errlen)
{
    rt->producer = ol_kafka_producer(rt->cfg, on_delivery, rt, err, errlen);
    if (!rt->producer)
        return -1;
    /* A topic handle makes librdkafka fetch the topic's partitions now, in
     * the background. Without it the first event of a topic waited in the
     * producer for that metadata request: about a second, once per start,
     * which was the whole p99 of the latency probe (tests/bench/README.md). */
    for (size_t i = 0; i <= rt->nout && rt->nwarm < sizeof rt->warm / sizeof rt->warm[0]; i++) {
        rd_kafka_topic_t *t = rd_kafka_topic_new(rt->producer, i < rt->nout ? rt->out[i].topic : "ops.deadletter", NULL);
        if (t)
            rt->warm[rt->nwarm++] = t; /* without it, the first event asks, as before */
    }
    return 0;
}

int ol_outbox_delete_acked(ol_runtime *rt, MDB_txn *txn)
{
    for (size_t i = 0; i < rt->nacked; i++) {
        uint8_t kb[8];
        ol_put_be64(kb, rt->acked[i]);
        MDB_val k = {8, kb};
        int rc = mdb_del(txn, rt->outbox, &k, NULL);
        if (rc && rc != MDB_NOTFOUND)
            return rc;
    }
    return 0; /* the caller forgets the acks (rt->nacked = 0) once txn committed */
}

int64_t ol_outbox_depth(ol_runtime *rt)
{
    MDB_txn *txn;
    MDB_stat st;
    if (mdb_txn_begin(rt->store.env, NULL, MDB_RDONLY, &txn))
        return -1;
    int rc = mdb_stat(txn, rt->outbox, &st);
    mdb_txn_abort(txn);
    return rc ? -1 : (int64_t)st.ms_entries - (int64_t)rt->nacked;
}

/* hands every row after enqueued_seq to the producer, then serves
 * delivery reports for up to timeout_ms */
int ol_outbox_publish(ol_runtime *rt, int timeout_ms)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    int rc;

    if (rt->producer_failed) {
        ol_error("the producer failed; stopping so that a restart re-sends the outbox");
        return -1;
    }
    if (!rt->store.env)
        return -1; /* the store could not be reopened (ol_runtime.c): a restart re-sends the outbox */
    if (rt->outbox_seq > rt->enqueued_seq) {
        if ((rc = mdb_txn_begin(rt->store.env, NULL, MDB_RDONLY, &txn)) ||
            (rc = mdb_cursor_open(txn, rt->outbox, &cur))) {
            ol_error("outbox read|error=\"%s\"", mdb_strerror(rc));
            if (txn)
                mdb_txn_abort(txn);
            return -1;
        }
        uint8_t kb[8];
        ol_put_be64(kb, rt->enqueued_seq + 1);
        MDB_val k = {8, kb}, v;
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        while (rc == 0) {
            uint64_t seq = ol_be64(k.mv_data);
            const uint8_t *p = v.mv_data;
            size_t tlen = ((size_t)p[0] << 8) | p[1];
            char topic[256];
            snprintf(topic, sizeof topic, "%.*s", (int)tlen, (const char *)p + 2);
            p += 2 + tlen;
            size_t klen = ol_be32(p);
            const void *key = p + 4;
            p += 4 + klen;
            size_t nh = ((size_t)p[0] << 8) | p[1];
            p += 2;
            rd_kafka_headers_t *hdrs = nh ? rd_kafka_headers_new(nh) : NULL;
            for (size_t i = 0; i < nh; i++) {
                size_t nl = ((size_t)p[0] << 8) | p[1];
                const char *name = (const char *)p + 2;
                p += 2 + nl;
                size_t hl = ol_be32(p);
                rd_kafka_header_add(hdrs, name, (ssize_t)nl, p + 4, (ssize_t)hl);
                p += 4 + hl;
            }
            size_t vlen = ol_be32(p);
            rd_kafka_resp_err_t e = rd_kafka_producev(
                rt->producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, klen),
                RD_KAFKA_V_VALUE((void *)(p + 4), vlen), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_OPAQUE((void *)(uintptr_t)seq), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
            if (e) {
                if (hdrs)
                    rd_kafka_headers_destroy(hdrs);
                if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                    break; /* the rest goes next round */
                char shown[256];
                snprintf(shown, sizeof shown, "%.*s", (int)(klen > 200 ? 200 : klen), (const char *)key);
                ol_error("produce refused an outbox row; stopping so that a restart tries it again|seq=%llu "
                         "topic=%s key=%s value_bytes=%zu error=\"%s\"",
                         (unsigned long long)seq, topic, ol_log_q(shown), vlen, rd_kafka_err2str(e));
                mdb_cursor_close(cur);
                mdb_txn_abort(txn);
                return -1;
            }
            rt->inflight++;
            rt->enqueued_seq = seq;
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        }
        mdb_cursor_close(cur);
        mdb_txn_abort(txn);
    }
    rd_kafka_poll(rt->producer, timeout_ms);
    return 0;
}

void ol_outbox_stop(ol_runtime *rt, int flush_ms)
{
    if (!rt->producer)
        return;
    ol_outbox_publish(rt, 0);
    rd_kafka_flush(rt->producer, flush_ms);
    if (rt->nacked && rt->store.env) {
        MDB_txn *txn;
        int rc = mdb_txn_begin(rt->store.env, NULL, 0, &txn);
        if (rc == 0) {
            if ((rc = ol_outbox_delete_acked(rt, txn))) {
                mdb_txn_abort(txn);
            } else {
                rc = mdb_txn_commit(txn); /* frees txn, committed or not */
                if (rc == 0)
                    rt->nacked = 0;
            }
        }
        if (rc) {
            char why[300];
            ol_warn("acknowledged events stay in the outbox; a restart re-sends them with the same event_id|"
                    "db=%s error=\"%s\"",
                    rt->store.path, ol_store_strerror(&rt->store, rc, why, sizeof why));
        }
    }
    if (rt->inflight)
        ol_warn("stopping with unacknowledged events; they stay in the outbox|count=%zu", rt->inflight);
    while (rt->nwarm)
        rd_kafka_topic_destroy(rt->warm[--rt->nwarm]);
    rd_kafka_destroy(rt->producer);
    rt->producer = NULL;
}
