/* raw_consume — the ceiling of `make bench`: a bare librdkafka consumer that
 * reads every record of the given topics from offset 0 and does nothing with
 * them (it only counts records and payload bytes).
 *
 *   raw_consume BROKERS TOPIC[,TOPIC...] [BATCH]
 *
 * Same consumer settings as the services (common/ol_kafka.c): explicit
 * assignment (no group offsets), enable.partition.eof, fetch.wait.max.ms=10,
 * and the same read call (rd_kafka_consume_batch_queue, BATCH records at a
 * time, default 5000, 100 ms timeout). It stops when every assigned partition
 * has reported its end, and prints one line:
 *   records=N bytes=B partitions=P seconds=S records_per_s=R
 * where S runs from before rd_kafka_new() to the last end-of-partition. */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void set(rd_kafka_conf_t *c, const char *k, const char *v)
{
    char err[256];
    if (rd_kafka_conf_set(c, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "raw_consume: %s=%s: %s\n", k, v, err);
        exit(2);
    }
}

struct part {
    char topic[128];
    int32_t partition;
    int eof;
};

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: raw_consume BROKERS TOPIC[,TOPIC...] [BATCH]\n");
        return 2;
    }
    int batch = argc > 3 ? atoi(argv[3]) : 5000;
    if (batch < 1)
        batch = 5000;
    double t0 = now_s();
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", argv[1]);
    set(conf, "group.id", "opsledger-bench-raw");
    set(conf, "enable.auto.commit", "false");
    set(conf, "enable.auto.offset.store", "false");
    set(conf, "auto.offset.reset", "earliest");
    set(conf, "enable.partition.eof", "true");
    set(conf, "fetch.wait.max.ms", "10");
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "raw_consume: %s\n", err);
        return 1;
    }
    rd_kafka_poll_set_consumer(rk);

    rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(64);
    struct part *parts = NULL;
    int nparts = 0;
    char *topics = strdup(argv[2]);
    for (char *save = NULL, *t = strtok_r(topics, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, t, NULL);
        int n = -1;
        for (int attempt = 0; attempt < 20 && n <= 0; attempt++) {
            if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 &&
                !md->topics[0].err)
                n = md->topics[0].partition_cnt;
            if (md)
                rd_kafka_metadata_destroy(md);
            md = NULL;
        }
        rd_kafka_topic_destroy(rkt);
        if (n <= 0) {
            fprintf(stderr, "raw_consume: no metadata for topic %s\n", t);
            return 1;
        }
        parts = realloc(parts, (size_t)(nparts + n) * sizeof *parts);
        for (int p = 0; p < n; p++) {
            rd_kafka_topic_partition_list_add(tp, t, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
            snprintf(parts[nparts].topic, sizeof parts[0].topic, "%s", t);
            parts[nparts].partition = p;
            parts[nparts].eof = 0;
            nparts++;
        }
    }
    rd_kafka_resp_err_t e = rd_kafka_assign(rk, tp);
    rd_kafka_topic_partition_list_destroy(tp);
    if (e) {
        fprintf(stderr, "raw_consume: assign: %s\n", rd_kafka_err2str(e));
        return 1;
    }
    rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(rk);
    rd_kafka_message_t **msgs = calloc((size_t)batch, sizeof *msgs);
    long long records = 0, bytes = 0, errors = 0;
    int neof = 0;
    double t_end = 0, deadline = now_s() + 3600;
    while (neof < nparts && now_s() < deadline) {
        ssize_t n = rd_kafka_consume_batch_queue(q, 100, msgs, (size_t)batch);
        for (ssize_t i = 0; i < n; i++) {
            rd_kafka_message_t *m = msgs[i];
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                const char *tn = m->rkt ? rd_kafka_topic_name(m->rkt) : "";
                for (int j = 0; j < nparts; j++)
                    if (parts[j].partition == m->partition && !strcmp(parts[j].topic, tn)) {
                        if (!parts[j].eof) {
                            parts[j].eof = 1;
                            neof++;
                        }
                        break;
                    }
            } else if (m->err) {
                errors++;
                if (errors < 10)
                    fprintf(stderr, "raw_consume: %s\n", rd_kafka_message_errstr(m));
            } else {
                records++;
                bytes += (long long)m->len;
            }
            rd_kafka_message_destroy(m);
        }
    }
    t_end = now_s();
    double secs = t_end - t0;
    printf("records=%lld bytes=%lld partitions=%d seconds=%.3f records_per_s=%.0f errors=%lld\n", records, bytes,
           nparts, secs, secs > 0 ? (double)records / secs : 0.0, errors);
    fflush(stdout);
    free(msgs);
    rd_kafka_queue_destroy(q);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    free(parts);
    free(topics);
    return neof == nparts ? 0 : 1;
}
