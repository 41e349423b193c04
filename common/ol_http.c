/* ol_http — see ol_http.h. Exists to keep libmicrohttpd and sockets out of
 * the metrics code. */
#include "ol_http.h"
#include "ol_http_guard.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

struct ol_http {
    struct MHD_Daemon *d;
    ol_http_bound sock;
    ol_http_handler h;
    void *ctx;
    ol_http_guard *guard;
};

/* /metrics, /healthz and /readyz: connections in all, from one address, and
 * the seconds a connection has to deliver a whole request. Trickling
 * clients held all 32 slots for as long as they trickled (libmicrohttpd's
 * timeout counts idleness only), so liveness probes failed and the service
 * was restarted: found by review, 2026-12-03. */
#define METRICS_CONNECTIONS 64
#define METRICS_PER_IP 16
#define METRICS_REQUEST_SECONDS 10 /* = the idle timeout: a keep-alive scrape connection lasts as before */

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)con_cls, (void)toe;
    ol_http_guard_request_done(c);
}

/* splits "HOST:PORT", "[V6]:PORT", ":PORT", "PORT" into host (default
 * 127.0.0.1) and port text. 0 or -1. */
int ol_http_split_hostport(const char *s, char *host, size_t hl, char *port, size_t pl)
{
    const char *colon;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end || end[1] != ':' || (size_t)(end - s - 1) >= hl)
            return -1;
        snprintf(host, hl, "%.*s", (int)(end - s - 1), s + 1);
        snprintf(port, pl, "%s", end + 2);
    } else if ((colon = strrchr(s, ':'))) {
        if ((size_t)(colon - s) >= hl)
            return -1;
        snprintf(host, hl, "%.*s", (int)(colon - s), s);
        snprintf(port, pl, "%s", colon + 1);
    } else {
        host[0] = '\0';
        snprintf(port, pl, "%s", s);
    }
    if (!host[0])
        snprintf(host, hl, "127.0.0.1");
    if (!port[0] || strspn(port, "0123456789") != strlen(port) || atoi(port) > 65535)
        return -1;
    return 0;
}

/* a request's state after its first call (see on_request) */
static const char first_call_seen;

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    ol_http *s = cls;
    ol_http_reply r = {500, "text/plain; charset=utf-8", NULL, 0};
    struct MHD_Response *resp;
    enum MHD_Result ret;
    (void)version, (void)upload, (void)upload_size;

    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        static const char msg[] = "only GET and HEAD\n";
        resp = MHD_create_response_from_buffer(sizeof msg - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
        if (!resp)
            return MHD_NO;
        ret = MHD_add_response_header(resp, "Allow", "GET, HEAD") == MHD_YES
                  ? MHD_queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED, resp)
                  : MHD_NO;
        MHD_destroy_response(resp);
        return ret;
    }
    /* libmicrohttpd (0.9.75, Debian 12) closes the connection after an
     * answer queued in the first call for a request (headers only), so every
     * scrape would pay a new connection: a GET or HEAD is answered in the
     * second call, as in ol_http_app.c (another method is refused at once,
     * before any body is read). No state is kept: the marker is static. */
    if (*con_cls != (void *)&first_call_seen) {
        *con_cls = (void *)&first_call_seen;
        return MHD_YES;
    }
    ol_http_guard_answering(c);
    if (s->h(s->ctx, url, &r)) {
        free(r.body);
        r.body = NULL, r.len = 0, r.status = 500;
    }
    /* MUST_FREE: libmicrohttpd frees the body with free() when sent */
    resp = MHD_create_response_from_buffer(r.len, r.body ? r.body : (void *)"", r.body ? MHD_RESPMEM_MUST_FREE
                                                                                       : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(r.body);
        return MHD_NO;
    }
    ret = MHD_add_response_header(resp, "Content-Type", r.content_type) == MHD_YES
              ? MHD_queue_response(c, (unsigned)r.status, resp)
              : MHD_NO;
    MHD_destroy_response(resp);
    return ret;
}

int ol_http_bind(const char *listen_on, const char *what, int backlog, ol_http_bound *b, char *err, size_t errlen)
{
    char host[256], port[16], text[INET6_ADDRSTRLEN];
    struct addrinfo hints, *ai = NULL;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int one = 1, rc;

    memset(b, 0, sizeof *b);
    b->fd = -1;
    if (ol_http_split_hostport(listen_on, host, sizeof host, port, sizeof port)) {
        snprintf(err, errlen, "%s \"%s\": expected HOST:PORT, [V6]:PORT or PORT", what, listen_on);
        return -1;
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    if ((rc = getaddrinfo(host, port, &hints, &ai))) {
        snprintf(err, errlen, "%s \"%s\": %s", what, listen_on, gai_strerror(rc));
        return -1;
    }
    b->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (b->fd < 0 || setsockopt(b->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        bind(b->fd, ai->ai_addr, ai->ai_addrlen) || listen(b->fd, backlog) ||
        getsockname(b->fd, (struct sockaddr *)&ss, &sl)) {
        snprintf(err, errlen, "%s \"%s\": %s", what, listen_on, strerror(errno));
        freeaddrinfo(ai);
        if (b->fd >= 0)
            close(b->fd);
        b->fd = -1;
        return -1;
    }
    freeaddrinfo(ai);
    b->family = ss.ss_family;
    if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        b->port = ntohs(a->sin6_port);
        if (!inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text))
            snprintf(text, sizeof text, "?");
        snprintf(b->address, sizeof b->address, "[%s]:%d", text, b->port);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        b->port = ntohs(a->sin_port);
        if (!inet_ntop(AF_INET, &a->sin_addr, text, sizeof text))
            snprintf(text, sizeof text, "?");
        snprintf(b->address, sizeof b->address, "%s:%d", text, b->port);
    }
    return 0;
}

ol_http *ol_http_start(const char *listen_on, ol_http_handler h, void *ctx, char *err, size_t errlen)
{
    ol_http *s = calloc(1, sizeof *s);

    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->h = h;
    s->ctx = ctx;
    if (ol_http_bind(listen_on, "metrics.listen", 64, &s->sock, err, errlen)) {
        free(s);
        return NULL;
    }
    /* one internal thread serves every connection in turn: a scrape renders
     * in well under a millisecond; an idle client is cut off at 10 s, and
     * one that has not delivered a whole request 10 s after the previous one
     * (or its start) too (ol_http_guard) */
    if (!(s->guard = ol_http_guard_new(METRICS_CONNECTIONS, METRICS_REQUEST_SECONDS))) {
        snprintf(err, errlen, "out of memory (connection table)");
        close(s->sock.fd);
        free(s);
        return NULL;
    }
    s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | (s->sock.family == AF_INET6 ? MHD_USE_IPv6 : 0),
                            0, NULL, NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET, s->sock.fd,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_CONNECTIONS,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)METRICS_PER_IP,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_NOTIFY_CONNECTION,
                            ol_http_guard_notify, s->guard, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                            MHD_OPTION_END);
    if (!s->d) {
        ol_http_guard_free(s->guard);
        snprintf(err, errlen, "metrics.listen \"%s\": libmicrohttpd did not start", listen_on);
        close(s->sock.fd);
        free(s);
        return NULL;
    }
    return s;
}

int ol_http_port(const ol_http *s) { return s->sock.port; }
const char *ol_http_address(const ol_http *s) { return s->sock.address; }

void ol_http_stop(ol_http *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->d); /* joins the thread and closes the listening socket */
    ol_http_guard_free(s->guard);
    free(s);
}

/* ------------------------------------------------------------------ client */
static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ol_http_get(const char *url, int timeout_ms, int *status, char **body, size_t *len, char *err, size_t errlen)
{
    char hostport[300], host[256], port[16], req[700], shown[600];
    const char *path;
    struct addrinfo hints, *ai = NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int fd = -1, rc = -1, grc;
    /* one deadline for the whole request: a per-read timeout let a server
     * trickling a line a second hold `status --url` for ever (review) */
    int64_t deadline = mono_ms() + timeout_ms;

    *body = NULL;
    *len = 0;
    ol_http_url_shown(url, shown, sizeof shown);
    if (strncmp(url, "http://", 7) != 0) {
        snprintf(err, errlen, "%s: only http:// URLs", shown);
        return -1;
    }
    const char *hp = url + 7, *slash = strchr(hp, '/');
    path = slash ? slash : "/metrics";
    size_t hpl = slash ? (size_t)(slash - hp) : strlen(hp);
    if (hpl == 0 || hpl >= sizeof hostport || strpbrk(path, "\r\n ") || memchr(hp, '@', hpl) ||
        strchr(path, '@')) {
        snprintf(err, errlen, "%s: expected http://HOST:PORT[/PATH]", shown);
        return -1;
    }
    snprintf(hostport, sizeof hostport, "%.*s", (int)hpl, hp);
    if (ol_http_split_hostport(hostport, host, sizeof host, port, sizeof port)) {
        snprintf(err, errlen, "%s: expected http://HOST:PORT[/PATH]", shown);
        return -1;
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if ((grc = getaddrinfo(host, port, &hints, &ai))) {
        snprintf(err, errlen, "%s: %s", shown, gai_strerror(grc));
        return -1;
    }
    /* connect and send are bounded by the socket timeouts (the whole
     * deadline), every read by poll with what is left of it */
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) || connect(fd, ai->ai_addr, ai->ai_addrlen)) {
        snprintf(err, errlen, "%s: %s", shown, errno == EINPROGRESS ? "timed out connecting" : strerror(errno));
        goto out;
    }
    int rl = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: %s\r\nAccept: text/plain\r\nConnection: close\r\n\r\n",
                      path, hostport);
    if (rl < 0 || (size_t)rl >= sizeof req || send(fd, req, (size_t)rl, MSG_NOSIGNAL) != rl) {
        snprintf(err, errlen, "%s: cannot send the request: %s", shown, strerror(errno));
        goto out;
    }
    for (;;) {
        if (cap - n < 4096) {
            if (cap >= OL_HTTP_GET_MAX + (size_t)4096) {
                snprintf(err, errlen, "%s: answer larger than %u MiB", shown, OL_HTTP_GET_MAX >> 20);
                goto out;
            }
            size_t ncap = cap ? cap * 2 : 65536;
            if (ncap > OL_HTTP_GET_MAX + (size_t)4096)
                ncap = OL_HTTP_GET_MAX + (size_t)4096;
            char *nb = realloc(buf, ncap + 1);
            if (!nb) {
                snprintf(err, errlen, "out of memory");
                goto out;
            }
            buf = nb;
            cap = ncap;
        }
        int64_t left = deadline - mono_ms();
        struct pollfd pfd = {fd, POLLIN, 0};
        int pr = left > 0 ? poll(&pfd, 1, (int)left) : 0;
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0) {
            if (pr == 0)
                snprintf(err, errlen, "%s: no complete answer within %d%s", shown,
                         timeout_ms % 1000 ? timeout_ms : timeout_ms / 1000, timeout_ms % 1000 ? " ms" : " s");
            else
                snprintf(err, errlen, "%s: %s", shown, strerror(errno));
            goto out;
        }
        ssize_t r = recv(fd, buf + n, cap - n, MSG_DONTWAIT);
        if (r < 0) {
            if (errno == EAGAIN || errno == EINTR)
                continue;
            snprintf(err, errlen, "%s: %s", shown, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > OL_HTTP_GET_MAX) {
            snprintf(err, errlen, "%s: answer larger than %u MiB", shown, OL_HTTP_GET_MAX >> 20);
            goto out;
        }
    }
    buf[n] = '\0';
    char *hdr_end = strstr(buf, "\r\n\r\n");
    if (!hdr_end || sscanf(buf, "HTTP/%*d.%*d %d", status) != 1) {
        snprintf(err, errlen, "%s: not an HTTP response", shown);
        goto out;
    }
    size_t off = (size_t)(hdr_end + 4 - buf);
    memmove(buf, buf + off, n - off + 1);
    *len = n - off;
    *body = buf;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    return rc;
}
