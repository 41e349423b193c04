/* ol_metrics — the registry: what the run loop publishes, and the text
 * exposition, /healthz and /readyz built from it (see ol_metrics.h for the
 * threads and why counters are published only after a commit). */
#include "ol_metrics_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* batch phase buckets, seconds: a batch of one record commits in well under
 * a millisecond on tmpfs; a 50,000-record batch folds in about a second */
static const char *const bucket_le[OL_M_NBUCKETS] = {"0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
                                                     "0.1",    "0.25",  "0.5",    "1",     "2.5",   "5",    "10"};
static const int64_t bucket_us[OL_M_NBUCKETS] = {500,    1000,   2500,   5000,    10000,   25000,   50000,
                                                 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};
static const char *const phase_names[OL_PH_N] = {"fold", "flush", "commit"};
static const char *const dl_names[OL_DL_N] = {"decode", "unknown_schema", "invalid", "fold", "unknown_topic", "other"};

int64_t ol_metrics_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t ol_metrics_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int starts(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

enum ol_dl_class ol_metrics_dl_class(const char *reason)
{
    /* the prefixes dead_letter()'s callers in ol_runtime.c write: an
     * ol_codec_err_name, "invalid:", "fold:", "topic ... is not an input" */
    static const char *const decode[] = {"short_frame:", "wrong_magic:", "bad_body:", "trailing_bytes:",
                                         "out_of_memory:", NULL};
    static const char *const schema[] = {"unknown_schema_id:", "wrong_subject:", "incompatible_schema:", NULL};
    if (!reason)
        return OL_DL_OTHER;
    for (size_t i = 0; decode[i]; i++)
        if (starts(reason, decode[i]))
            return OL_DL_DECODE;
    for (size_t i = 0; schema[i]; i++)
        if (starts(reason, schema[i]))
            return OL_DL_UNKNOWN_SCHEMA;
    if (starts(reason, "invalid:"))
        return OL_DL_INVALID;
    if (starts(reason, "fold:"))
        return OL_DL_FOLD;
    if (starts(reason, "topic ") && strstr(reason, " is not an input of "))
        return OL_DL_UNKNOWN_TOPIC;
    return OL_DL_OTHER;
}

const char *ol_metrics_dl_class_name(enum ol_dl_class c) { return c < OL_DL_N ? dl_names[c] : "other"; }

static char **copy_list(const char *const *l, size_t *n)
{
    size_t k = 0;
    while (l && l[k])
        k++;
    char **out = calloc(k + 1, sizeof *out);
    if (!out)
        return NULL;
    for (size_t i = 0; i < k; i++)
        if (!(out[i] = strdup(l[i]))) {
            for (size_t j = 0; j < i; j++)
                free(out[j]);
            free(out);
            return NULL;
        }
    *n = k;
    return out;
}

static void free_list(char **l)
{
    for (size_t i = 0; l && l[i]; i++)
        free(l[i]);
    free(l);
}

ol_metrics *ol_metrics_new(const char *service, const char *const *inputs, const char *const *outputs)
{
    ol_metrics *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->service = strdup(service);
    m->inputs = copy_list(inputs, &m->nin);
    m->outputs = copy_list(outputs, &m->nout);
    if (!m->service || !m->inputs || !m->outputs || pthread_mutex_init(&m->lag_mu, NULL)) {
        free(m->service);
        free_list(m->inputs);
        free_list(m->outputs);
        free(m);
        return NULL;
    }
    if (m->nout > OL_M_MAX_TOPICS)
        m->nout = OL_M_MAX_TOPICS; /* the rest count as "other": the runtime allows no more anyway */
    if (pthread_mutex_init(&m->stop_mu, NULL) || pthread_cond_init(&m->stop_cv, NULL) ||
        pthread_rwlock_init(&m->env_lock, NULL)) {
        pthread_mutex_destroy(&m->lag_mu);
        free(m->service);
        free_list(m->inputs);
        free_list(m->outputs);
        free(m);
        return NULL;
    }
    atomic_store(&m->data_time_ms, INT64_MIN);
    m->ready_lag = 1000;
    m->ready_outbox = 10000;
    m->health_timeout_ms = 60000;
    m->lag_interval_ms = 5000;
    return m;
}

void ol_metrics_free(ol_metrics *m)
{
    if (!m)
        return;
    ol_metrics_stop(m);
    for (size_t i = 0; i < m->nlag; i++)
        free(m->lag[i].topic);
    free(m->lag);
    pthread_mutex_destroy(&m->lag_mu);
    pthread_mutex_destroy(&m->stop_mu);
    pthread_rwlock_destroy(&m->env_lock);
    pthread_cond_destroy(&m->stop_cv);
    free(m->service);
    free_list(m->inputs);
    free_list(m->outputs);
    free(m);
}

void ol_metrics_set_store(ol_metrics *m, MDB_env *env, MDB_dbi outbox, MDB_dbi meta)
{
    if (!m)
        return;
    m->env = env;
    m->outbox = outbox;
    m->meta = meta;
}

void ol_metrics_store_hold(ol_metrics *m)
{
    if (!m)
        return;
    pthread_rwlock_wrlock(&m->env_lock);
    m->env = NULL;
}

void ol_metrics_store_resume(ol_metrics *m, MDB_env *env)
{
    if (!m)
        return;
    m->env = env;
    pthread_rwlock_unlock(&m->env_lock);
}

/* ---------------------------------------------------------------- the loop */
void ol_metrics_batch_begin(ol_metrics *m)
{
    if (!m)
        return;
    memset(m->pend_dl, 0, sizeof m->pend_dl);
    memset(m->pend_emit, 0, sizeof m->pend_emit);
}

void ol_metrics_deadletter(ol_metrics *m, const char *reason)
{
    if (m)
        m->pend_dl[ol_metrics_dl_class(reason)]++;
}

void ol_metrics_emitted(ol_metrics *m, const char *topic)
{
    if (!m)
        return;
    size_t i = 0;
    while (i < m->nout && strcmp(m->outputs[i], topic) != 0)
        i++;
    m->pend_emit[i]++; /* i == nout: "other" */
}

static void observe(struct ol_metrics_hist *h, int64_t us)
{
    int b = 0;
    if (us < 0)
        us = 0;
    while (b < OL_M_NBUCKETS && us > bucket_us[b])
        b++;
    /* b == OL_M_NBUCKETS: above the last bound, counted in count only */
    if (b < OL_M_NBUCKETS)
        atomic_fetch_add_explicit(&h->bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_us, (uint_fast64_t)us, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_release);
}

void ol_metrics_batch_commit(ol_metrics *m, const int64_t *now, const int64_t *before, int nrecords,
                             int64_t t_begin, int64_t t_fold, int64_t t_flush, int64_t t_commit, int64_t data_time)
{
    if (!m)
        return;
    for (int c = 0; c < OL_M_NCOUNTERS; c++)
        if (now[c] != before[c])
            atomic_fetch_add_explicit(&m->counters[c], now[c] - before[c], memory_order_relaxed);
    for (int c = 0; c < OL_DL_N; c++)
        if (m->pend_dl[c])
            atomic_fetch_add_explicit(&m->dl[c], m->pend_dl[c], memory_order_relaxed);
    for (size_t i = 0; i <= m->nout; i++)
        if (m->pend_emit[i])
            atomic_fetch_add_explicit(&m->emitted[i], m->pend_emit[i], memory_order_relaxed);
    ol_metrics_batch_begin(m);
    if (nrecords > 0) {
        observe(&m->phase[OL_PH_FOLD], t_fold - t_begin);
        observe(&m->phase[OL_PH_FLUSH], t_flush - t_fold);
        observe(&m->phase[OL_PH_COMMIT], t_commit - t_flush);
    }
    if (data_time != INT64_MIN && data_time != 0)
        atomic_store_explicit(&m->data_time_ms, data_time, memory_order_relaxed);
    atomic_store_explicit(&m->last_commit_ms, ol_metrics_wall_ms(), memory_order_relaxed);
    ol_metrics_loop_alive(m);
}

void ol_metrics_loop_alive(ol_metrics *m)
{
    if (!m)
        return;
    atomic_store_explicit(&m->loop_beat_ms, ol_metrics_mono_ms(), memory_order_relaxed);
    atomic_store_explicit(&m->loop_state, 1, memory_order_relaxed);
}

void ol_metrics_loop_stopped(ol_metrics *m)
{
    if (m)
        atomic_store_explicit(&m->loop_state, 2, memory_order_relaxed);
}

/* ---------------------------------------------------------------- lag table */
int ol_metrics_lag_set(ol_metrics *m, const char *topic, int32_t partition, int64_t lag)
{
    int rc = 0;
    if (!m)
        return 0;
    pthread_mutex_lock(&m->lag_mu);
    size_t i = 0;
    while (i < m->nlag && !(m->lag[i].partition == partition && strcmp(m->lag[i].topic, topic) == 0))
        i++;
    if (i == m->nlag) {
        if (m->nlag == m->caplag) {
            size_t cap = m->caplag ? m->caplag * 2 : 64;
            struct ol_metrics_lag *n = realloc(m->lag, cap * sizeof *n);
            if (!n) {
                rc = -1;
                goto out;
            }
            m->lag = n;
            m->caplag = cap;
        }
        if (!(m->lag[i].topic = strdup(topic))) {
            rc = -1;
            goto out;
        }
        m->lag[i].partition = partition;
        m->nlag++;
    }
    m->lag[i].lag = lag;
out:
    pthread_mutex_unlock(&m->lag_mu);
    return rc;
}

void ol_metrics_lag_done(ol_metrics *m, int ok)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->lag_mu);
    m->lag_ok = ok;
    m->lag_refreshed_ms = ol_metrics_mono_ms();
    pthread_mutex_unlock(&m->lag_mu);
}

/* total lag of the last refresh; *known 0 when never refreshed or a
 * partition did not answer */
static int64_t total_lag(ol_metrics *m, int *known)
{
    int64_t t = 0;
    pthread_mutex_lock(&m->lag_mu);
    *known = m->lag_refreshed_ms != 0 && m->lag_ok;
    for (size_t i = 0; i < m->nlag; i++)
        if (m->lag[i].lag > 0)
            t += m->lag[i].lag;
    pthread_mutex_unlock(&m->lag_mu);
    return t;
}

/* ---------------------------------------------------------------- buffers */
/* room for n more bytes and a NUL; 0, or -1 with b->oom set */
static int reserve(ol_metrics_buf *b, size_t n)
{
    if (b->p && b->cap - b->n > n)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->n <= n)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void ol_mbuf_printf(ol_metrics_buf *b, const char *fmt, ...)
{
    va_list ap;
    if (b->oom)
        return;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if (b->p && (size_t)n < b->cap - b->n) {
            b->n += (size_t)n;
            return;
        }
        if (reserve(b, (size_t)n))
            return;
    }
}

/* appends n bytes of s */
static void append(ol_metrics_buf *b, const char *s, size_t n)
{
    if (b->oom || n == 0 || reserve(b, n))
        return;
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

/* the text format's escapes: backslash and newline always, the double
 * quote in label values; runs without them are copied at once */
static void escaped(ol_metrics_buf *b, const char *v, int quote)
{
    const char *stop = quote ? "\\\n\"" : "\\\n";
    while (*v) {
        size_t run = strcspn(v, stop);
        append(b, v, run);
        v += run;
        if (!*v)
            break;
        append(b, *v == '\n' ? "\\n" : *v == '"' ? "\\\"" : "\\\\", 2);
        v++;
    }
}

void ol_mbuf_label(ol_metrics_buf *b, const char *v) { escaped(b, v, 1); }
void ol_mbuf_help(ol_metrics_buf *b, const char *v) { escaped(b, v, 0); }

/* ---------------------------------------------------------------- exposition */
static void family(ol_metrics_buf *b, const char *name, const char *type, const char *help)
{
    ol_mbuf_printf(b, "# HELP %s ", name);
    ol_mbuf_help(b, help);
    ol_mbuf_printf(b, "\n# TYPE %s %s\n", name, type);
}

/* name{service="...", then the caller adds labels and "} value\n" */
static void series(ol_metrics_buf *b, const ol_metrics *m, const char *name)
{
    ol_mbuf_printf(b, "%s{service=\"", name);
    ol_mbuf_label(b, m->service);
    ol_mbuf_printf(b, "\"");
}

static void simple(ol_metrics_buf *b, const ol_metrics *m, const char *name, const char *type, const char *help,
                   int64_t v)
{
    family(b, name, type, help);
    series(b, m, name);
    ol_mbuf_printf(b, "} %" PRId64 "\n", v);
}

static const struct {
    int counter;
    const char *name, *help;
} counter_defs[] = {
    {OL_M_RECORDS, "opsledger_records_total",
     "Input records read and committed: folded, skipped as duplicate or stale, or dead-lettered."},
    {OL_M_FOLDED, "opsledger_folded_total", "Input records whose version won and was folded into the projection."},
    {OL_M_DUPLICATES, "opsledger_duplicates_total",
     "Input records skipped because their event_id (or equal content at equal revision) was seen before."},
    {OL_M_STALE, "opsledger_stale_total", "Input records skipped because a higher revision of the entity was folded."},
    {OL_M_CONFLICTS, "opsledger_conflicts_total",
     "Equal revision with different content: the larger event_id was kept (a producer bug upstream)."},
    {OL_M_BATCHES, "opsledger_batches_total", "Committed LMDB write transactions (one per batch)."},
};

static void render_phases(ol_metrics *m, ol_metrics_buf *b)
{
    family(b, "opsledger_batch_seconds", "histogram",
           "Time of a committed batch by phase: fold (decode, dedupe, apply), flush (derived events), commit.");
    for (int p = 0; p < OL_PH_N; p++) {
        struct ol_metrics_hist *h = &m->phase[p];
        uint64_t count = atomic_load_explicit(&h->count, memory_order_acquire), cum = 0;
        uint64_t sum = atomic_load_explicit(&h->sum_us, memory_order_relaxed);
        for (int i = 0; i < OL_M_NBUCKETS; i++) {
            cum += atomic_load_explicit(&h->bucket[i], memory_order_relaxed);
            if (cum > count) /* a batch observed between the loads: never above +Inf */
                cum = count;
            series(b, m, "opsledger_batch_seconds_bucket");
            ol_mbuf_printf(b, ",phase=\"%s\",le=\"%s\"} %" PRIu64 "\n", phase_names[p], bucket_le[i], cum);
        }
        series(b, m, "opsledger_batch_seconds_bucket");
        ol_mbuf_printf(b, ",phase=\"%s\",le=\"+Inf\"} %" PRIu64 "\n", phase_names[p], count);
        series(b, m, "opsledger_batch_seconds_sum");
        ol_mbuf_printf(b, ",phase=\"%s\"} %.6f\n", phase_names[p], (double)sum / 1e6);
        series(b, m, "opsledger_batch_seconds_count");
        ol_mbuf_printf(b, ",phase=\"%s\"} %" PRIu64 "\n", phase_names[p], count);
    }
}

static void render_lag(ol_metrics *m, ol_metrics_buf *b)
{
    family(b, "opsledger_consumer_lag", "gauge",
           "Records of an input partition not yet committed: the broker's high watermark minus the stored next "
           "offset (refreshed in the background; absent while the broker does not answer).");
    pthread_mutex_lock(&m->lag_mu);
    for (size_t i = 0; i < m->nlag; i++) {
        if (m->lag[i].lag == -1)
            continue; /* unknown */
        series(b, m, "opsledger_consumer_lag");
        ol_mbuf_printf(b, ",topic=\"");
        ol_mbuf_label(b, m->lag[i].topic);
        ol_mbuf_printf(b, "\",partition=\"%" PRId32 "\"} %" PRId64 "\n", m->lag[i].partition, m->lag[i].lag);
    }
    pthread_mutex_unlock(&m->lag_mu);
}

static int64_t outbox_depth_held(ol_metrics *m);

static void render_store(ol_metrics *m, ol_metrics_buf *b)
{
    MDB_envinfo info;
    MDB_stat st;
    pthread_rwlock_rdlock(&m->env_lock);
    if (!m->env) {
        pthread_rwlock_unlock(&m->env_lock);
        return;
    }
    int64_t depth = outbox_depth_held(m);
    if (depth >= 0)
        simple(b, m, "opsledger_outbox_depth", "gauge",
               "Derived events and dead letters committed but not yet acknowledged by the broker.", depth);
    if (mdb_env_info(m->env, &info) == 0 && mdb_env_stat(m->env, &st) == 0) {
        simple(b, m, "opsledger_lmdb_map_used_bytes", "gauge",
               "Bytes of the LMDB map in use (last page number times page size).",
               (int64_t)(info.me_last_pgno + 1) * (int64_t)st.ms_psize);
        simple(b, m, "opsledger_lmdb_map_size_bytes", "gauge",
               "Configured LMDB map size (map_size): the store is full when used reaches it.",
               (int64_t)info.me_mapsize);
    }
    pthread_rwlock_unlock(&m->env_lock);
}

/* under env_lock */
static int64_t outbox_depth_held(ol_metrics *m)
{
    MDB_txn *txn;
    MDB_stat st;
    if (!m->env || mdb_txn_begin(m->env, NULL, MDB_RDONLY, &txn))
        return -1;
    int rc = mdb_stat(txn, m->outbox, &st);
    mdb_txn_abort(txn);
    return rc ? -1 : (int64_t)st.ms_entries;
}

int64_t ol_metrics_outbox_depth(ol_metrics *m)
{
    pthread_rwlock_rdlock(&m->env_lock);
    int64_t depth = outbox_depth_held(m);
    pthread_rwlock_unlock(&m->env_lock);
    return depth;
}

int ol_metrics_render(ol_metrics *m, ol_metrics_buf *b)
{
    for (size_t i = 0; i < sizeof counter_defs / sizeof counter_defs[0]; i++)
        simple(b, m, counter_defs[i].name, "counter", counter_defs[i].help,
               atomic_load_explicit(&m->counters[counter_defs[i].counter], memory_order_relaxed));

    family(b, "opsledger_deadletters_total", "counter",
           "Input records sent to ops.deadletter, by reason class (the full reason is in the record's headers).");
    for (int c = 0; c < OL_DL_N; c++) {
        series(b, m, "opsledger_deadletters_total");
        ol_mbuf_printf(b, ",reason=\"%s\"} %" PRIdFAST64 "\n", dl_names[c],
                       atomic_load_explicit(&m->dl[c], memory_order_relaxed));
    }
    family(b, "opsledger_emitted_total", "counter", "Derived events committed to the outbox, by topic.");
    for (size_t i = 0; i <= m->nout; i++) {
        int_fast64_t v = atomic_load_explicit(&m->emitted[i], memory_order_relaxed);
        if (i == m->nout && v == 0)
            continue;
        series(b, m, "opsledger_emitted_total");
        ol_mbuf_printf(b, ",topic=\"");
        ol_mbuf_label(b, i < m->nout ? m->outputs[i] : "other");
        ol_mbuf_printf(b, "\"} %" PRIdFAST64 "\n", v);
    }
    render_phases(m, b);
    render_lag(m, b);
    render_store(m, b);
    int64_t dt = atomic_load_explicit(&m->data_time_ms, memory_order_relaxed);
    if (dt != INT64_MIN) {
        family(b, "opsledger_data_time_seconds", "gauge",
               "Data time: the latest occurred_at folded, seconds since the epoch (stops when the inputs stop).");
        series(b, m, "opsledger_data_time_seconds");
        ol_mbuf_printf(b, "} %.3f\n", (double)dt / 1000);
    }
    int64_t lc = atomic_load_explicit(&m->last_commit_ms, memory_order_relaxed);
    if (lc) {
        family(b, "opsledger_last_commit_timestamp_seconds", "gauge",
               "Wall-clock time of the last committed batch, seconds since the epoch.");
        series(b, m, "opsledger_last_commit_timestamp_seconds");
        ol_mbuf_printf(b, "} %.3f\n", (double)lc / 1000);
    }
    ol_metrics_render_process(b, m->service);
    return b->oom ? -1 : 0;
}

/* ---------------------------------------------------------------- health */
int ol_metrics_healthz(ol_metrics *m, ol_metrics_buf *b)
{
    int state = atomic_load_explicit(&m->loop_state, memory_order_relaxed);
    int64_t age = ol_metrics_mono_ms() - atomic_load_explicit(&m->loop_beat_ms, memory_order_relaxed);
    if (state == 0) {
        ol_mbuf_printf(b, "starting: the run loop has not turned yet\n");
        return 503;
    }
    if (state == 2) {
        ol_mbuf_printf(b, "stopped: the run loop has ended\n");
        return 503;
    }
    if (age > m->health_timeout_ms) {
        ol_mbuf_printf(b, "stalled: the run loop last turned %.1f s ago (metrics.health_timeout %.0f s)\n",
                       (double)age / 1000, (double)m->health_timeout_ms / 1000);
        return 503;
    }
    ol_mbuf_printf(b, "ok: the run loop turned %.1f s ago\n", (double)age / 1000);
    return 200;
}

int ol_metrics_readyz(ol_metrics *m, ol_metrics_buf *b)
{
    int known;
    if (atomic_load_explicit(&m->loop_state, memory_order_relaxed) != 1) {
        ol_mbuf_printf(b, "not ready: the run loop is not running\n");
        return 503;
    }
    int64_t lag = total_lag(m, &known);
    if (!known) {
        ol_mbuf_printf(b, "not ready: consumer lag unknown (the broker has not answered a watermark query yet)\n");
        return 503;
    }
    if (lag > m->ready_lag) {
        ol_mbuf_printf(b, "not ready: consumer lag %" PRId64 " above metrics.ready_lag %" PRId64 "\n", lag,
                       m->ready_lag);
        return 503;
    }
    int64_t depth = ol_metrics_outbox_depth(m);
    if (depth < 0) {
        ol_mbuf_printf(b, "not ready: the outbox cannot be read\n");
        return 503;
    }
    if (depth > m->ready_outbox) {
        ol_mbuf_printf(b, "not ready: outbox depth %" PRId64 " above metrics.ready_outbox %" PRId64 "\n", depth,
                       m->ready_outbox);
        return 503;
    }
    ol_mbuf_printf(b, "ready: consumer lag %" PRId64 ", outbox depth %" PRId64 "\n", lag, depth);
    return 200;
}
