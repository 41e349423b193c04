/* ol_metrics_int — the registry's structure, shared by its files
 * (ol_metrics.c: counters and exposition; ol_metrics_lag.c: the lag thread;
 * ol_metrics_serve.c: start/stop and the HTTP routes). Not for services. */
#ifndef OL_METRICS_INT_H
#define OL_METRICS_INT_H

#include "ol_metrics.h"

#include <pthread.h>
#include <stdatomic.h>

#define OL_M_MAX_TOPICS 24 /* as OL_MAX_TOPICS of the runtime */
#define OL_M_NBUCKETS 14
enum { OL_PH_FOLD, OL_PH_FLUSH, OL_PH_COMMIT, OL_PH_N };

struct ol_metrics_hist {
    atomic_uint_fast64_t bucket[OL_M_NBUCKETS]; /* not cumulative; summed when rendered */
    atomic_uint_fast64_t count;
    atomic_uint_fast64_t sum_us;
};

struct ol_metrics_lag {
    char *topic; /* owned */
    int32_t partition;
    int64_t lag; /* -1: unknown */
};

struct ol_metrics {
    char *service; /* owned, as are the strings of the two lists */
    char **inputs, **outputs;
    size_t nin, nout;
    /* published by the run loop after a commit */
    atomic_int_fast64_t counters[OL_M_NCOUNTERS];
    atomic_int_fast64_t dl[OL_DL_N];
    atomic_int_fast64_t emitted[OL_M_MAX_TOPICS + 1]; /* by outputs index; the last: any other topic */
    struct ol_metrics_hist phase[OL_PH_N];
    atomic_int_fast64_t data_time_ms;   /* INT64_MIN: none yet */
    atomic_int_fast64_t last_commit_ms; /* wall clock; 0: none yet */
    atomic_int_fast64_t loop_beat_ms;   /* monotonic */
    atomic_int loop_state;              /* 0 not started, 1 running, 2 stopped */
    /* the run loop's own, unpublished until the batch commits */
    int64_t pend_dl[OL_DL_N];
    int64_t pend_emit[OL_M_MAX_TOPICS + 1];
    /* read on a scrape and by the lag thread, under env_lock: the run loop
     * reopens the environment when it switches LMDB's write path */
    pthread_rwlock_t env_lock;
    MDB_env *env;
    MDB_dbi outbox, meta;
    /* the lag table: written by the lag thread, read by the scrape */
    pthread_mutex_t lag_mu;
    struct ol_metrics_lag *lag;
    size_t nlag, caplag;
    int lag_ok;              /* the last refresh answered for every partition */
    int64_t lag_refreshed_ms; /* monotonic; 0: never */
    /* bounds (ol_metrics_start) */
    int64_t ready_lag, ready_outbox, health_timeout_ms, lag_interval_ms;
    /* ol_metrics_serve.c */
    struct ol_http *http;
    const ol_config *cfg;
    pthread_t lag_thread;
    int lag_started;
    atomic_int stopping;
    pthread_mutex_t stop_mu;
    pthread_cond_t stop_cv;
};

int64_t ol_metrics_mono_ms(void);
int64_t ol_metrics_wall_ms(void);
/* ol_metrics_lag.c: the thread's body (arg: the registry) */
void *ol_metrics_lag_main(void *arg);
/* outbox rows now, or -1 (LMDB read transaction; any thread) */
int64_t ol_metrics_outbox_depth(ol_metrics *m);

#endif
