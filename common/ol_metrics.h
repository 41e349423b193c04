/* ol_metrics — what a service tells Prometheus, and its /healthz and /readyz.
 *
 * Exists so that operations can watch a service without asking it by hand
 * (issue 16, SPEC section 5). Three kinds of writers, one reader:
 *   the run loop (one thread) counts into a per-batch "pending" area while a
 *   batch is folded, and publishes it with atomic adds only after the batch
 *   committed (an aborted or re-folded batch publishes nothing), so the
 *   figures are those of committed work and never cost the batch a lock;
 *   the lag thread (ol_metrics_lag.c) refreshes consumer lag from the
 *   broker's watermarks in the background, under a mutex only it and the
 *   scrape take;
 *   the HTTP thread (ol_http.c) renders the text exposition format 0.0.4 on
 *   each scrape, reading the atomics and, for outbox depth and the map, an
 *   LMDB read transaction and mdb_env_info (never the write transaction).
 * Counters count since the process started (the Prometheus convention:
 * rate() handles the restart); `opsledger status` keeps the persisted totals.
 * Every function accepting an ol_metrics * is a no-op on NULL (metrics off). */
#ifndef OL_METRICS_H
#define OL_METRICS_H

#include "ol_config.h"

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ol_metrics ol_metrics;

/* the counters the runtime keeps (same order as enum rt_counter) */
enum ol_metrics_counter {
    OL_M_RECORDS, OL_M_FOLDED, OL_M_DUPLICATES, OL_M_STALE, OL_M_CONFLICTS, OL_M_DEADLETTERS, OL_M_EMITTED,
    OL_M_BATCHES, OL_M_NCOUNTERS
};

/* bounded classes of a dead letter's reason (never the raw message) */
enum ol_dl_class { OL_DL_DECODE, OL_DL_UNKNOWN_SCHEMA, OL_DL_INVALID, OL_DL_FOLD, OL_DL_UNKNOWN_TOPIC, OL_DL_OTHER,
                   OL_DL_N };
/* the class of a reason as dead_letter() in ol_runtime.c writes it */
enum ol_dl_class ol_metrics_dl_class(const char *reason);
const char *ol_metrics_dl_class_name(enum ol_dl_class c);

/* A registry for service `service` with derived topics `outputs`
 * (NULL-terminated; copied) and input topics `inputs` (for the lag).
 * Caller owns it: ol_metrics_free() after ol_metrics_stop(). NULL: no memory. */
ol_metrics *ol_metrics_new(const char *service, const char *const *inputs, const char *const *outputs);
void ol_metrics_free(ol_metrics *m);

/* The LMDB environment read on each scrape (outbox depth, map use); dbi
 * of the outbox and meta databases. Set once, before ol_metrics_start. */
void ol_metrics_set_store(ol_metrics *m, MDB_env *env, MDB_dbi outbox, MDB_dbi meta);
/* Around a reopen of that environment (the runtime switching LMDB's write
 * path): hold waits for every scrape and lag refresh reading it and keeps
 * them out; resume hands them the new environment. NULL m: no-ops. */
void ol_metrics_store_hold(ol_metrics *m);
void ol_metrics_store_resume(ol_metrics *m, MDB_env *env);

/* ---- the run loop's side (one thread) */
void ol_metrics_batch_begin(ol_metrics *m);                  /* an attempt of a batch starts: pending = 0 */
void ol_metrics_deadletter(ol_metrics *m, const char *reason); /* pending, by class */
void ol_metrics_emitted(ol_metrics *m, const char *topic);     /* pending, by derived topic */
/* the batch committed: publish the counter deltas (now - before, C_N of
 * them), the pending classes, the phase times (monotonic microseconds:
 * begin, fold done, flush done, commit done; observed when nrecords > 0)
 * and the data time (occurred_at, milliseconds since the epoch) */
void ol_metrics_batch_commit(ol_metrics *m, const int64_t *now, const int64_t *before, int nrecords,
                             int64_t t_begin, int64_t t_fold, int64_t t_flush, int64_t t_commit, int64_t data_time);
/* the loop turned (healthz); stopped: it will not turn again */
void ol_metrics_loop_alive(ol_metrics *m);
void ol_metrics_loop_stopped(ol_metrics *m);

/* ---- the lag thread's side (ol_metrics_lag.c) */
/* lag of one partition; -1 marks it unknown (broker not answering) */
int ol_metrics_lag_set(ol_metrics *m, const char *topic, int32_t partition, int64_t lag);
/* one refresh finished: ok 1 (every partition answered) or 0 */
void ol_metrics_lag_done(ol_metrics *m, int ok);

/* ---- the HTTP side */
typedef struct ol_metrics_buf {
    char *p;
    size_t n, cap;
    int oom;
} ol_metrics_buf;
/* printf into b (grows; b->oom set when memory ran out) */
void ol_mbuf_printf(ol_metrics_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* a label value escaped for the text format: \ -> \\, " -> \", newline -> \n */
void ol_mbuf_label(ol_metrics_buf *b, const char *v);
/* a HELP text escaped: \ -> \\, newline -> \n */
void ol_mbuf_help(ol_metrics_buf *b, const char *v);

/* The exposition into b (caller frees b->p). 0, or -1 when out of memory. */
int ol_metrics_render(ol_metrics *m, ol_metrics_buf *b);
/* /healthz and /readyz: HTTP status (200 or 503) and a one-line body in b */
int ol_metrics_healthz(ol_metrics *m, ol_metrics_buf *b);
int ol_metrics_readyz(ol_metrics *m, ol_metrics_buf *b);

/* ol_metrics_proc.c: process_* and opsledger_build_info series */
void ol_metrics_render_process(ol_metrics_buf *b, const char *service);

/* ---- wiring (ol_metrics_serve.c) */
/* Reads metrics.listen (off when absent or empty), metrics.ready_lag
 * (default 1000 records), metrics.ready_outbox (default 10000 rows),
 * metrics.health_timeout (seconds, default 60), metrics.lag_interval (ms,
 * default 5000); starts the HTTP listener and the lag thread. 0 (also when
 * off), -1 with err. */
int ol_metrics_start(ol_metrics *m, const ol_config *cfg, char *err, size_t errlen);
/* Stops the listener and the lag thread (joins them). Idempotent. */
void ol_metrics_stop(ol_metrics *m);
/* 1 when metrics.listen is configured */
int ol_metrics_enabled(const ol_config *cfg);
/* Connects m to a runtime: its store (read on scrapes), its persisted data
 * time, and the runtime's calls into m (ol_runtime_int.h: rt->metrics).
 * Before ol_runtime_run; m must outlive the run. */
struct ol_runtime;
void ol_metrics_attach(ol_metrics *m, struct ol_runtime *rt);

#endif
