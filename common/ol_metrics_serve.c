/* ol_metrics_serve — wiring: reads the metrics.* configuration, starts the
 * HTTP listener (ol_http.c) and the lag thread (ol_metrics_lag.c), routes
 * /metrics, /healthz and /readyz, and attaches the registry to a runtime.
 * Exists so that ol_metrics.c stays free of threads' lifetimes and of the
 * runtime's internals. */
#include "ol_http.h"
#include "ol_log.h"
#include "ol_metrics_int.h"
#include "ol_runtime_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert((int)C_N == (int)OL_M_NCOUNTERS && (int)C_RECORDS == (int)OL_M_RECORDS &&
                   (int)C_FOLDED == (int)OL_M_FOLDED && (int)C_DUPLICATES == (int)OL_M_DUPLICATES &&
                   (int)C_STALE == (int)OL_M_STALE && (int)C_CONFLICTS == (int)OL_M_CONFLICTS &&
                   (int)C_DEADLETTERS == (int)OL_M_DEADLETTERS && (int)C_EMITTED == (int)OL_M_EMITTED &&
                   (int)C_BATCHES == (int)OL_M_BATCHES,
               "ol_metrics counters follow enum rt_counter");

int ol_metrics_enabled(const ol_config *cfg)
{
    const char *l = ol_config_get(cfg, "metrics.listen", NULL);
    return l && *l;
}

void ol_metrics_attach(ol_metrics *m, ol_runtime *rt)
{
    if (!m)
        return;
    ol_metrics_set_store(m, rt->store.env, rt->outbox, rt->meta);
    if (rt->data_time != INT64_MIN && rt->data_time != 0)
        atomic_store(&m->data_time_ms, rt->data_time);
    rt->metrics = m;
}

static int route(void *ctx, const char *path, ol_http_reply *r)
{
    ol_metrics *m = ctx;
    ol_metrics_buf b = {NULL, 0, 0, 0};
    r->content_type = "text/plain; charset=utf-8";
    if (!strcmp(path, "/metrics")) {
        r->status = ol_metrics_render(m, &b) ? 500 : 200;
        r->content_type = "text/plain; version=0.0.4; charset=utf-8";
    } else if (!strcmp(path, "/healthz")) {
        r->status = ol_metrics_healthz(m, &b);
    } else if (!strcmp(path, "/readyz")) {
        r->status = ol_metrics_readyz(m, &b);
    } else if (!strcmp(path, "/")) {
        r->status = 200;
        ol_mbuf_printf(&b, "opsledger-%s: /metrics /healthz /readyz\n", m->service);
    } else {
        r->status = 404;
        ol_mbuf_printf(&b, "not found; try /metrics, /healthz or /readyz\n");
    }
    if (b.oom) {
        free(b.p);
        return -1;
    }
    r->body = b.p;
    r->len = b.n;
    return 0;
}

static int get_bound(const ol_config *cfg, const char *key, int64_t def, int64_t min, int64_t *out, char *err,
                     size_t errlen)
{
    if (ol_config_get_i64(cfg, key, def, out, err, errlen))
        return -1;
    if (*out < min) {
        snprintf(err, errlen, "config %s: must be at least %lld", key, (long long)min);
        return -1;
    }
    return 0;
}

int ol_metrics_start(ol_metrics *m, const ol_config *cfg, char *err, size_t errlen)
{
    int64_t health_s;
    if (!m || !ol_metrics_enabled(cfg))
        return 0;
    if (get_bound(cfg, "metrics.ready_lag", 1000, 0, &m->ready_lag, err, errlen) ||
        get_bound(cfg, "metrics.ready_outbox", 10000, 0, &m->ready_outbox, err, errlen) ||
        get_bound(cfg, "metrics.health_timeout", 60, 1, &health_s, err, errlen) ||
        get_bound(cfg, "metrics.lag_interval", 5000, 100, &m->lag_interval_ms, err, errlen))
        return -1;
    m->health_timeout_ms = health_s * 1000;
    m->cfg = cfg;
    atomic_store(&m->stopping, 0);
    m->http = ol_http_start(ol_config_get(cfg, "metrics.listen", ""), route, m, err, errlen);
    if (!m->http)
        return -1;
    if (m->env && m->nin > 0) {
        if (pthread_create(&m->lag_thread, NULL, ol_metrics_lag_main, m)) {
            snprintf(err, errlen, "metrics: cannot start the lag thread");
            ol_http_stop(m->http);
            m->http = NULL;
            return -1;
        }
        m->lag_started = 1;
    }
    ol_info("metrics listening|service=%s address=%s paths=\"/metrics /healthz /readyz\"", m->service,
            ol_http_address(m->http));
    return 0;
}

void ol_metrics_stop(ol_metrics *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->stop_mu);
    atomic_store(&m->stopping, 1);
    pthread_cond_broadcast(&m->stop_cv);
    pthread_mutex_unlock(&m->stop_mu);
    if (m->lag_started) {
        pthread_join(m->lag_thread, NULL);
        m->lag_started = 0;
    }
    ol_http_stop(m->http);
    m->http = NULL;
}
