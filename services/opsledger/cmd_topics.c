/* opsledger topics create — creates every SPEC topic on a real cluster with
 * the Admin API (the embedded broker creates its own). Derived topics are
 * compacted by key; input topics keep the cluster's retention (the archive
 * keeps history beyond it). Existing topics are left as they are. */
#include "cli.h"
#include "ol_escape.h"
#include "ol_kafka.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_topics(int argc, char **argv, ol_config *cfg)
{
    int partitions = 8, rf = 3, rc = 1;
    char err[512];
    ol_schemas *schemas = NULL;
    const char **topics = NULL;
    size_t n = 0;
    rd_kafka_t *rk = NULL;
    rd_kafka_NewTopic_t **nt = NULL;
    rd_kafka_queue_t *q = NULL;
    rd_kafka_event_t *ev = NULL;

    if (argc < 2 || strcmp(argv[1], "create")) {
        fprintf(stderr, "usage: opsledger topics create [--partitions N] [--replication-factor R]\n");
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--partitions") && i + 1 < argc)
            partitions = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--replication-factor") && i + 1 < argc)
            rf = atoi(argv[++i]);
        else
            return ol_usage_arg("opsledger topics", "unknown argument ", argv[i], NULL);
    }
    if (!(schemas = cli_load_schemas(cfg)) || !(topics = cli_all_topics(schemas, &n)))
        goto out;
    if (!(rk = ol_kafka_producer(cfg, NULL, NULL, err, sizeof err))) {
        ol_esc_eprintf("opsledger topics: %s\n", err);
        goto out;
    }
    nt = calloc(n, sizeof *nt);
    for (size_t i = 0; i < n; i++) {
        nt[i] = rd_kafka_NewTopic_new(topics[i], partitions, rf, err, sizeof err);
        if (!nt[i]) {
            ol_esc_eprintf("opsledger topics: %s: %s\n", topics[i], err);
            goto out;
        }
        if (cli_is_derived(topics[i]) && strcmp(topics[i], "ops.deadletter"))
            rd_kafka_NewTopic_set_config(nt[i], "cleanup.policy", "compact");
    }
    q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, nt, n, NULL, q);
    ev = rd_kafka_queue_poll(q, 30000);
    if (!ev || rd_kafka_event_error(ev)) {
        ol_esc_eprintf("opsledger topics: %s\n", ev ? rd_kafka_event_error_string(ev) : "timed out");
        goto out;
    }
    const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
    size_t cnt;
    const rd_kafka_topic_result_t **tr = rd_kafka_CreateTopics_result_topics(res, &cnt);
    rc = 0;
    for (size_t i = 0; i < cnt; i++) {
        rd_kafka_resp_err_t e = rd_kafka_topic_result_error(tr[i]);
        if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
            printf("%s: exists\n", rd_kafka_topic_result_name(tr[i]));
        else if (e) {
            printf("%s: %s\n", rd_kafka_topic_result_name(tr[i]), rd_kafka_topic_result_error_string(tr[i]));
            rc = 1;
        } else
            printf("%s: created\n", rd_kafka_topic_result_name(tr[i]));
    }
out:
    if (ev)
        rd_kafka_event_destroy(ev);
    if (q)
        rd_kafka_queue_destroy(q);
    if (nt) {
        for (size_t i = 0; i < n; i++)
            if (nt[i])
                rd_kafka_NewTopic_destroy(nt[i]);
        free(nt);
    }
    if (rk)
        rd_kafka_destroy(rk);
    free(topics);
    ol_schemas_free(schemas);
    return rc;
}
