/* ol_http_guard — see ol_http_guard.h. The table is guarded by one mutex;
 * libmicrohttpd reports a connection closed (MHD_CONNECTION_NOTIFY_CLOSED)
 * before it closes the socket, and that report waits for the mutex, so the
 * reaper never shuts down a descriptor that was closed or reused. */
#include "ol_http_guard.h"
#include "ol_log.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

struct slot {
    ol_http_guard *g;
    int used, answering, cut;
    int fd;
    int64_t since_ms; /* start of the connection or end of its previous request */
};

struct ol_http_guard {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th;
    int stop, started;
    unsigned max;
    int64_t limit_ms;
    struct slot *slots;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* once a second: every connection past its deadline, not answering, is shut
 * down (libmicrohttpd then sees the end of the stream and closes it) */
static void *reaper(void *arg)
{
    ol_http_guard *g = arg;
    pthread_mutex_lock(&g->mu);
    while (!g->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        int rc = pthread_cond_timedwait(&g->cv, &g->mu, &until);
        if (rc && rc != ETIMEDOUT)
            break;
        int64_t now = now_ms();
        for (unsigned i = 0; i < g->max; i++) {
            struct slot *s = &g->slots[i];
            if (s->used && !s->answering && !s->cut && now - s->since_ms > g->limit_ms) {
                s->cut = 1;
                if (shutdown(s->fd, SHUT_RDWR) && errno != ENOTCONN)
                    ol_warn("http: shutting down a connection past its deadline|reason=%s", strerror(errno));
            }
        }
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

ol_http_guard *ol_http_guard_new(unsigned max, unsigned request_seconds)
{
    ol_http_guard *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->max = max;
    g->limit_ms = (int64_t)request_seconds * 1000;
    if (!(g->slots = calloc(max, sizeof *g->slots)) || pthread_mutex_init(&g->mu, NULL)) {
        free(g->slots);
        free(g);
        return NULL;
    }
    if (pthread_cond_init(&g->cv, NULL)) {
        pthread_mutex_destroy(&g->mu);
        free(g->slots);
        free(g);
        return NULL;
    }
    if (pthread_create(&g->th, NULL, reaper, g)) {
        ol_http_guard_free(g);
        return NULL;
    }
    g->started = 1;
    return g;
}

void ol_http_guard_free(ol_http_guard *g)
{
    if (!g)
        return;
    if (g->started) {
        pthread_mutex_lock(&g->mu);
        g->stop = 1;
        pthread_cond_signal(&g->cv);
        pthread_mutex_unlock(&g->mu);
        pthread_join(g->th, NULL);
    }
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    free(g->slots);
    free(g);
}

void ol_http_guard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    ol_http_guard *g = cls;
    pthread_mutex_lock(&g->mu);
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = NULL;
        for (unsigned i = 0; ci && i < g->max; i++) /* none free: not guarded (cannot happen: max is the limit) */
            if (!g->slots[i].used) {
                g->slots[i] = (struct slot){g, 1, 0, 0, ci->connect_fd, now_ms()};
                *socket_context = &g->slots[i];
                break;
            }
    } else if (*socket_context) { /* closed: before libmicrohttpd closes the socket */
        memset(*socket_context, 0, sizeof(struct slot));
        *socket_context = NULL;
    }
    pthread_mutex_unlock(&g->mu);
}

static struct slot *slot_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

void ol_http_guard_answering(struct MHD_Connection *c)
{
    struct slot *s = slot_of(c);
    if (!s)
        return;
    pthread_mutex_lock(&s->g->mu);
    s->answering = 1;
    pthread_mutex_unlock(&s->g->mu);
}

void ol_http_guard_request_done(struct MHD_Connection *c)
{
    struct slot *s = slot_of(c);
    if (!s)
        return;
    pthread_mutex_lock(&s->g->mu);
    s->answering = 0;
    s->since_ms = now_ms();
    pthread_mutex_unlock(&s->g->mu);
}
