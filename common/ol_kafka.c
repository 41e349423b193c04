/* ol_kafka — see ol_kafka.h. */
#include "ol_kafka.h"
#include "ol_log.h"

#include <stdio.h>
#include <string.h>

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    ol_log(level <= 3 ? OL_LOG_ERROR : level <= 5 ? OL_LOG_WARN : OL_LOG_DEBUG, "kafka %s: %s", fac, buf);
}

static rd_kafka_conf_t *base_conf(const ol_config *c, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *brokers = ol_config_get(c, "brokers", OL_DEFAULT_BROKERS);
    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, errlen) != RD_KAFKA_CONF_OK)
        goto fail;
    rd_kafka_conf_set_log_cb(conf, log_cb);
    for (size_t i = 0; i < c->n; i++) {
        if (strncmp(c->kv[i].key, "kafka.", 6) != 0)
            continue;
        if (rd_kafka_conf_set(conf, c->kv[i].key + 6, c->kv[i].value, err, errlen) != RD_KAFKA_CONF_OK)
            goto fail;
    }
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

rd_kafka_t *ol_kafka_producer(const ol_config *c, void (*dr)(rd_kafka_t *, const rd_kafka_message_t *, void *),
                              void *opaque, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf;
    /* defaults first, so kafka.* keys from the config may override them */
    static const char *defaults[][2] = {
        {"enable.idempotence", "true"}, {"acks", "all"}, {"linger.ms", "5"},
        {"compression.type", "none"}, {"message.timeout.ms", "0"},
    };
    ol_config tmp;
    ol_config_init(&tmp);
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++) {
        char k[64];
        snprintf(k, sizeof k, "kafka.%s", defaults[i][0]);
        ol_config_set(&tmp, k, defaults[i][1]);
    }
    for (size_t i = 0; i < c->n; i++)
        ol_config_set(&tmp, c->kv[i].key, c->kv[i].value);
    conf = base_conf(&tmp, err, errlen);
    ol_config_free(&tmp);
    if (!conf)
        return NULL;
    if (dr)
        rd_kafka_conf_set_dr_msg_cb(conf, dr);
    rd_kafka_conf_set_opaque(conf, opaque);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errlen);
    if (!rk)
        rd_kafka_conf_destroy(conf);
    return rk;
}

rd_kafka_t *ol_kafka_consumer(const ol_config *c, const char *group, int partition_eof, char *err,
                              size_t errlen)
{
    ol_config tmp;
    ol_config_init(&tmp);
    ol_config_set(&tmp, "kafka.enable.auto.commit", "false");
    ol_config_set(&tmp, "kafka.enable.auto.offset.store", "false");
    ol_config_set(&tmp, "kafka.auto.offset.reset", "earliest");
    ol_config_set(&tmp, "kafka.group.id", group);
    ol_config_set(&tmp, "kafka.enable.partition.eof", partition_eof ? "true" : "false");
    ol_config_set(&tmp, "kafka.fetch.wait.max.ms", "10");
    /* bounded prefetch: with librdkafka's defaults (64 MiB, 100,000
     * messages) the local queue holds as much of the backlog as fits, so
     * the resident set grows with the history. 10,000 messages (at most
     * 8 MiB) ahead keep a fold busy: each time the queue fills, librdkafka
     * 2.0 stops fetching for a second unless woken, and ol_source.c
     * (queue_emptied) wakes it when a batch drains the queue while records
     * are known to be waiting. Against 100,000: peak anonymous memory of a
     * catch-up at 2 M records 145-161 MiB instead of 185-205, its wall time
     * 0-10 % longer (smaller batches; tests/bench/README.md) */
    ol_config_set(&tmp, "kafka.queued.max.messages.kbytes", "8192");
    ol_config_set(&tmp, "kafka.queued.min.messages", "10000");
    for (size_t i = 0; i < c->n; i++)
        ol_config_set(&tmp, c->kv[i].key, c->kv[i].value);
    rd_kafka_conf_t *conf = base_conf(&tmp, err, errlen);
    ol_config_free(&tmp);
    if (!conf)
        return NULL;
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, errlen);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_poll_set_consumer(rk);
    return rk;
}

int ol_kafka_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms, char *err, size_t errlen)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    int n = -1;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
    if (e) {
        snprintf(err, errlen, "metadata for %s: %s", topic, rd_kafka_err2str(e));
        goto out;
    }
    if (md->topic_cnt != 1 || md->topics[0].err) {
        snprintf(err, errlen, "topic %s: %s", topic,
                 md->topic_cnt ? rd_kafka_err2str(md->topics[0].err) : "not found");
        goto out;
    }
    n = md->topics[0].partition_cnt;
out:
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return n;
}
