/* opsledger broker — librdkafka's mock cluster as a process of its own: a
 * real Kafka endpoint on loopback for every other process and client (kcat,
 * kafkajs), in memory only (about 5 MiB per partition), with every topic of
 * the SPEC created up front because the mock cluster has no CreateTopics.
 * Prints its bootstrap address on stdout and writes it to --bootstrap-file. */
#include "cli.h"
#include "ol_log.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t g_stop;
static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

int cmd_broker(int argc, char **argv, ol_config *cfg)
{
    int partitions = 8, rc = 1;
    const char *bootstrap_file = NULL;
    char err[512];
    rd_kafka_t *rk = NULL;
    rd_kafka_mock_cluster_t *mc = NULL;
    ol_schemas *schemas = NULL;
    const char **topics = NULL;
    size_t ntopics = 0;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--partitions") && i + 1 < argc)
            partitions = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--bootstrap-file") && i + 1 < argc)
            bootstrap_file = argv[++i];
        else {
            fprintf(stderr, "usage: opsledger broker [--partitions N] [--bootstrap-file F]\n");
            return 2;
        }
    }
    if (partitions < 1 || partitions > 1024) {
        fprintf(stderr, "opsledger broker: --partitions must be 1..1024\n");
        return 2;
    }
    /* handlers first: a SIGTERM right after the address is printed must
     * still stop the broker cleanly; SIGTERM stays blocked except inside
     * sigsuspend, so no signal falls between the check and the wait */
    struct sigaction sa;
    sigset_t block, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, &old);
    if (!(schemas = cli_load_schemas(cfg)) || !(topics = cli_all_topics(schemas, &ntopics)))
        goto out;

    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, "opsledger broker: %s\n", err);
        goto out;
    }
    mc = rd_kafka_mock_cluster_new(rk, 1);
    if (!mc) {
        fprintf(stderr, "opsledger broker: cannot start the mock cluster\n");
        goto out;
    }
    for (size_t i = 0; i < ntopics; i++) {
        rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, topics[i], partitions, 1);
        if (e) {
            fprintf(stderr, "opsledger broker: topic %s: %s\n", topics[i], rd_kafka_err2str(e));
            goto out;
        }
    }
    const char *bs = rd_kafka_mock_cluster_bootstraps(mc);
    if (bootstrap_file) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", bootstrap_file);
        FILE *f = fopen(tmp, "w");
        if (!f || fprintf(f, "%s\n", bs) < 0 || fclose(f) || rename(tmp, bootstrap_file)) {
            fprintf(stderr, "opsledger broker: cannot write %s\n", bootstrap_file);
            goto out;
        }
    }
    printf("%s\n", bs);
    fflush(stdout);
    ol_info("broker ready|bootstrap=%s topics=%zu partitions=%d", bs, ntopics, partitions);

    while (!g_stop)
        sigsuspend(&old);
    ol_info("broker stopping");
    rc = 0;
out:
    if (mc)
        rd_kafka_mock_cluster_destroy(mc);
    if (rk)
        rd_kafka_destroy(rk);
    free(topics);
    ol_schemas_free(schemas);
    return rc;
}
