/* opsledger broker — librdkafka's mock cluster as a process of its own: a
 * real Kafka endpoint on loopback for every other process and client (kcat,
 * kafkajs), in memory only (about 5 MiB per partition), with every topic of
 * the SPEC created up front because the mock cluster has no CreateTopics.
 * Prints its bootstrap address on stdout and writes it to --bootstrap-file
 * once every topic exists (a stale file of an earlier run is removed first),
 * so that the file means "ready". --broker-count N starts N brokers (the
 * bootstrap address is then their N addresses) and puts partition p's
 * leader on broker p mod N + 1: what a client of a real cluster meets, one
 * connection and one fetcher per leader. `opsledger broker --wait FILE` is the
 * readiness wait for scripts: it returns, printing the address, once the
 * broker named in FILE answers. */
#include "cli.h"
#include "ol_escape.h"
#include "ol_log.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t g_stop;
static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

/* the mock cluster's own client handle has no bootstrap.servers, by design:
 * librdkafka's notice saying so ("No `bootstrap.servers` configured") is
 * dropped, everything else is logged */
static void broker_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    if (!strcmp(fac, "CONFWARN") && strstr(buf, "bootstrap.servers"))
        return;
    ol_log(level <= 3 ? OL_LOG_ERROR : level <= 5 ? OL_LOG_WARN : OL_LOG_DEBUG, "kafka %s: %s", fac, buf);
}

static void quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk, (void)level, (void)fac, (void)buf; /* refused connections while the broker starts */
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* --wait FILE [--timeout S]: until FILE names a broker that answers a
 * metadata request; prints the address (for OPSLEDGER_BROKERS=$(...)) */
static int wait_ready(const char *file, int timeout_s)
{
    double end = now_s() + timeout_s;
    char addr[512] = "", err[512];
    while (now_s() < end) {
        FILE *f = fopen(file, "r");
        if (f) {
            if (!fgets(addr, sizeof addr, f))
                addr[0] = '\0';
            fclose(f);
        }
        addr[strcspn(addr, "\r\n")] = '\0';
        if (addr[0]) {
            rd_kafka_conf_t *conf = rd_kafka_conf_new();
            rd_kafka_conf_set_log_cb(conf, quiet_log);
            rd_kafka_t *rk = NULL;
            if (rd_kafka_conf_set(conf, "bootstrap.servers", addr, err, sizeof err) != RD_KAFKA_CONF_OK ||
                !(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err))) {
                rd_kafka_conf_destroy(conf);
                ol_esc_eprintf("opsledger broker --wait: %s: %s\n", file, err);
                return 1;
            }
            const struct rd_kafka_metadata *md = NULL;
            int left = (int)((end - now_s()) * 1000);
            rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, NULL, &md, left > 1000 ? 1000 : left > 0 ? left : 1);
            if (!e)
                rd_kafka_metadata_destroy(md);
            rd_kafka_destroy(rk);
            if (!e) {
                printf("%s\n", addr);
                return fflush(stdout) ? 1 : 0;
            }
        } else
            usleep(100 * 1000);
    }
    ol_esc_arena esc = OL_ESC_ARENA_INIT; /* the file's content and name, escaped */
    if (addr[0])
        fprintf(stderr, "opsledger broker --wait: the broker at %s (from %s) did not answer within %d s\n",
                ol_esc_a(&esc, OL_ESC_TEXT, addr), ol_esc_a(&esc, OL_ESC_TEXT, file), timeout_s);
    else
        fprintf(stderr,
                "opsledger broker --wait: %s was not written within %d s: is `opsledger broker "
                "--bootstrap-file %s` running?\n",
                ol_esc_a(&esc, OL_ESC_TEXT, file), timeout_s, ol_esc_a(&esc, OL_ESC_TEXT, file));
    ol_esc_arena_reset(&esc);
    return 1;
}

struct topic_job {
    rd_kafka_mock_cluster_t *mc;
    const char *topic;
    int partitions, brokers;
    rd_kafka_resp_err_t err;
};

/* the topic, then with several brokers its leaders in turn: partition p
 * on broker p mod N + 1 (the mock cluster itself picks each leader at
 * random among the first three brokers) */
static void *create_topic(void *arg)
{
    struct topic_job *j = arg;
    j->err = rd_kafka_mock_topic_create(j->mc, j->topic, j->partitions, 1);
    for (int p = 0; !j->err && j->brokers > 1 && p < j->partitions; p++)
        j->err = rd_kafka_mock_partition_set_leader(j->mc, j->topic, p, p % j->brokers + 1);
    return NULL;
}

/* every topic at once: each creation waits for the mock cluster's thread
 * (about 250 ms), one after the other they took 5 s */
static int create_topics(rd_kafka_mock_cluster_t *mc, const char **topics, size_t n, int partitions, int brokers)
{
    struct topic_job *jobs = calloc(n ? n : 1, sizeof *jobs);
    pthread_t *th = calloc(n ? n : 1, sizeof *th);
    int rc = 0;
    size_t started = 0;
    if (!jobs || !th) {
        fprintf(stderr, "opsledger broker: out of memory\n");
        rc = -1;
        goto out;
    }
    for (; started < n; started++) {
        jobs[started] = (struct topic_job){mc, topics[started], partitions, brokers, RD_KAFKA_RESP_ERR_NO_ERROR};
        int e = pthread_create(&th[started], NULL, create_topic, &jobs[started]);
        if (e) {
            fprintf(stderr, "opsledger broker: cannot start a thread: %s\n", strerror(e));
            rc = -1;
            break;
        }
    }
    for (size_t i = 0; i < started; i++) {
        int e = pthread_join(th[i], NULL);
        if (e) {
            fprintf(stderr, "opsledger broker: pthread_join: %s\n", strerror(e));
            rc = -1;
        } else if (jobs[i].err) {
            fprintf(stderr, "opsledger broker: topic %s: %s\n", jobs[i].topic, rd_kafka_err2str(jobs[i].err));
            rc = -1;
        }
    }
out:
    free(jobs);
    free(th);
    return rc;
}

int cmd_broker(int argc, char **argv, ol_config *cfg)
{
    long partitions = 8, brokers = 1, timeout_s = 30;
    int rc = 1, wrote = 0;
    const char *bootstrap_file = NULL;
    char err[512];
    rd_kafka_t *rk = NULL;
    rd_kafka_mock_cluster_t *mc = NULL;
    ol_schemas *schemas = NULL;
    const char **topics = NULL;
    size_t ntopics = 0;

    const char *wait_file = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--partitions") && i + 1 < argc) {
            if (cli_parse_long("opsledger broker", "--partitions", argv[++i], 1, 1024, &partitions))
                return 2;
        } else if (!strcmp(argv[i], "--broker-count") && i + 1 < argc) {
            if (cli_parse_long("opsledger broker", "--broker-count", argv[++i], 1, 16, &brokers))
                return 2;
        } else if (!strcmp(argv[i], "--bootstrap-file") && i + 1 < argc) {
            bootstrap_file = argv[++i];
        } else if (!strcmp(argv[i], "--wait") && i + 1 < argc) {
            wait_file = argv[++i];
        } else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
            if (cli_parse_long("opsledger broker", "--timeout", argv[++i], 1, 86400, &timeout_s))
                return 2;
        } else {
            fprintf(stderr, "usage: opsledger broker [--partitions N] [--broker-count N] [--bootstrap-file F]\n"
                            "       opsledger broker --wait F [--timeout SECONDS]   (until the broker of F answers)\n");
            return 2;
        }
    }
    if (wait_file)
        return wait_ready(wait_file, (int)timeout_s);
    /* an earlier run's file would name a dead address: "ready" is its presence */
    if (bootstrap_file && unlink(bootstrap_file) && errno != ENOENT) {
        ol_esc_eprintf("opsledger broker: cannot remove the old %s: %s\n", bootstrap_file, strerror(errno));
        return 1;
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
    rd_kafka_conf_set_log_cb(conf, broker_log);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        ol_esc_eprintf("opsledger broker: %s\n", err);
        goto out;
    }
    mc = rd_kafka_mock_cluster_new(rk, (int)brokers);
    if (!mc) {
        fprintf(stderr, "opsledger broker: cannot start the mock cluster\n");
        goto out;
    }
    if (create_topics(mc, topics, ntopics, (int)partitions, (int)brokers))
        goto out;
    const char *bs = rd_kafka_mock_cluster_bootstraps(mc);
    if (bootstrap_file) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", bootstrap_file);
        FILE *f = fopen(tmp, "w");
        if (!f || fprintf(f, "%s\n", bs) < 0 || fclose(f) || rename(tmp, bootstrap_file)) {
            ol_esc_eprintf("opsledger broker: cannot write %s\n", bootstrap_file);
            goto out;
        }
        wrote = 1;
    }
    printf("%s\n", bs);
    fflush(stdout);
    ol_info("broker ready|bootstrap=%s brokers=%ld topics=%zu partitions=%ld", bs, brokers, ntopics, partitions);

    while (!g_stop)
        sigsuspend(&old);
    ol_info("broker stopping");
    rc = 0;
out:
    /* gone with the broker: a later --wait must not find a dead address */
    if (wrote && unlink(bootstrap_file) && errno != ENOENT)
        ol_esc_eprintf("opsledger broker: cannot remove %s: %s\n", bootstrap_file, strerror(errno));
    if (mc)
        rd_kafka_mock_cluster_destroy(mc);
    if (rk)
        rd_kafka_destroy(rk);
    free(topics);
    ol_schemas_free(schemas);
    return rc;
}
