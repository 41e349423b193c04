/* ol_metrics_lag — consumer lag refreshed in the background: every
 * metrics.lag_interval ms, for each partition of each input topic, the
 * broker's high watermark minus the next offset stored in LMDB (the same
 * figure as `status --lag`, ol_offsets.h). Exists as a thread of its own so
 * that neither the fold loop nor a scrape ever waits for the broker: a
 * scrape reads the last refresh from the table under a mutex. */
#include "ol_kafka.h"
#include "ol_log.h"
#include "ol_metrics_int.h"
#include "ol_offsets.h"
#include "ol_store.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

/* the next offset the service reads of topic/partition; 0 when none stored */
static int64_t stored_next(ol_metrics *m, const char *topic, int32_t partition)
{
    MDB_txn *txn;
    int64_t next = 0;
    pthread_rwlock_rdlock(&m->env_lock);
    if (!m->env || mdb_txn_begin(m->env, NULL, MDB_RDONLY, &txn)) {
        pthread_rwlock_unlock(&m->env_lock);
        return -1;
    }
    if (ol_meta_offset_get(txn, m->meta, topic, partition, &next))
        next = -1;
    mdb_txn_abort(txn);
    pthread_rwlock_unlock(&m->env_lock);
    return next;
}

/* one refresh; 1 when every partition answered */
static int refresh(ol_metrics *m, rd_kafka_t *rk)
{
    char err[512];
    int ok = 1;
    for (size_t t = 0; t < m->nin && !atomic_load(&m->stopping); t++) {
        const char *topic = m->inputs[t];
        int np = ol_kafka_partitions(rk, topic, 2000, err, sizeof err);
        if (np < 0) {
            ok = 0;
            continue;
        }
        for (int32_t p = 0; p < np && !atomic_load(&m->stopping); p++) {
            int64_t lo, hi, next = stored_next(m, topic, p);
            rd_kafka_resp_err_t e = ol_offsets_watermarks(rk, topic, p, 2000, &lo, &hi);
            if (e || next < 0) {
                ok = 0;
                if (ol_metrics_lag_set(m, topic, p, -1))
                    ok = 0;
                continue;
            }
            if (next == 0)
                next = lo; /* nothing stored: the service starts at the partition's first offset */
            /* never clamped (as status --lag): a negative lag is an offset
             * beyond the end, which the service itself refuses to run on */
            if (ol_metrics_lag_set(m, topic, p, hi - next))
                ok = 0;
        }
    }
    return ok;
}

void *ol_metrics_lag_main(void *arg)
{
    ol_metrics *m = arg;
    char err[512], group[300];
    snprintf(group, sizeof group, "opsledger-%s-metrics", m->service);
    rd_kafka_t *rk = ol_kafka_consumer(m->cfg, group, 0, err, sizeof err);
    if (!rk) {
        ol_warn("metrics: no consumer lag (cannot create a Kafka handle)|error=\"%s\"", err);
        return NULL;
    }
    while (!atomic_load(&m->stopping)) {
        ol_metrics_lag_done(m, refresh(m, rk));
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += m->lag_interval_ms / 1000;
        until.tv_nsec += (m->lag_interval_ms % 1000) * 1000000;
        if (until.tv_nsec >= 1000000000)
            until.tv_sec++, until.tv_nsec -= 1000000000;
        pthread_mutex_lock(&m->stop_mu);
        while (!atomic_load(&m->stopping))
            if (pthread_cond_timedwait(&m->stop_cv, &m->stop_mu, &until) == ETIMEDOUT)
                break;
        pthread_mutex_unlock(&m->stop_mu);
    }
    rd_kafka_destroy(rk);
    return NULL;
}
