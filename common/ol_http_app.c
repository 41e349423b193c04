/* ol_http_app — see ol_http_app.h. Exists to keep libmicrohttpd's
 * connection callbacks, POST accumulation and TLS options in one place. */
#include "ol_http_app.h"
#include "ol_http.h"
#include "ol_http_guard.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BODY_MAX 8192
#define CONNECTIONS 256     /* in all */
#define PER_IP_DEFAULT 32   /* from one address (ol_http_app_opts.per_ip: behind a proxy, raise it) */
#define MEMORY_LIMIT 65536  /* libmicrohttpd's per-connection pool: request line, headers, arguments */
#define MAX_ARGS 64         /* query arguments; more is 414 */

struct ol_http_app {
    struct MHD_Daemon *d;
    ol_http_bound sock;
    int tls;
    ol_http_app_handler h;
    void *ctx;
    ol_http_guard *guard; /* the deadline on each request (ol_http_guard.h) */
};

/* per-connection request state: the POST body collected so far */
struct pending {
    char buf[BODY_MAX + 1];
    size_t n;
    int too_big;
};

/* a GET's or HEAD's request state after the first call (see on_request) */
static const char first_call_seen;

const char *ol_http_app_arg(const ol_http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *ol_http_app_header(const ol_http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

struct qarg {
    const char *k, *v;
};
struct qargs {
    struct qarg a[64];
    int n, over;
};

static enum MHD_Result take_arg(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
    struct qargs *q = cls;
    (void)kind;
    if (q->n >= 64) {
        q->over = 1;
        return MHD_NO;
    }
    q->a[q->n].k = k;
    q->a[q->n].v = v ? v : "";
    q->n++;
    return MHD_YES;
}

static int cmp_arg(const void *x, const void *y)
{
    const struct qarg *a = x, *b = y;
    int c = strcmp(a->k, b->k);
    return c ? c : strcmp(a->v, b->v);
}

int ol_http_app_query_key(const ol_http_req *r, char *out, size_t outlen)
{
    struct qargs q;
    size_t o = 0;
    q.n = q.over = 0;
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, take_arg, &q);
    if (q.over || !outlen)
        return -1;
    qsort(q.a, (size_t)q.n, sizeof q.a[0], cmp_arg);
    out[0] = '\0';
    for (int i = 0; i < q.n; i++) {
        int w = snprintf(out + o, outlen - o, "%zu:%s=%zu:%s&", strlen(q.a[i].k), q.a[i].k, strlen(q.a[i].v),
                         q.a[i].v);
        if (w < 0 || (size_t)w >= outlen - o)
            return -1;
        o += (size_t)w;
    }
    return 0;
}

int ol_http_resp_header(ol_http_resp *r, const char *name, const char *value)
{
    if (r->nheaders >= OL_HTTP_MAX_HEADERS)
        return -1;
    r->headers[r->nheaders].name = name;
    snprintf(r->headers[r->nheaders].value, sizeof r->headers[0].value, "%s", value);
    r->nheaders++;
    return 0;
}

/* the listener's own plain-text answers (405, 413, 414, 500) carry the
 * same protections as the handler's: nothing in them may load, be framed,
 * sniffed or cached */
static enum MHD_Result queue_text(struct MHD_Connection *c, unsigned status, const char *msg)
{
    static const char *const h[][2] = {{"Content-Type", "text/plain; charset=utf-8"},
                                       {"X-Content-Type-Options", "nosniff"},
                                       {"Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"},
                                       {"X-Frame-Options", "DENY"},
                                       {"Referrer-Policy", "no-referrer"},
                                       {"Cache-Control", "no-store"}};
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(msg), (void *)msg, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    enum MHD_Result ret = MHD_YES;
    for (size_t i = 0; ret == MHD_YES && i < sizeof h / sizeof h[0]; i++)
        ret = MHD_add_response_header(resp, h[i][0], h[i][1]);
    if (ret == MHD_YES && MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION))
        ret = MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
    ol_http_guard_answering(c);
    if (ret == MHD_YES)
        ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* the first query argument whose name or value holds a NUL byte (libmicrohttpd
 * decodes %00 and a C string would end there) */
static enum MHD_Result find_nul(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
                                const char *value, size_t value_size)
{
    const char **bad = cls;
    (void)kind;
    if (strlen(key) != key_size || (value && strlen(value) != value_size)) {
        *bad = key;
        return MHD_NO;
    }
    return MHD_YES;
}

/* the first query argument whose name was already given (names compared
 * with their lengths: a NUL in one is found by find_nul) */
struct dups {
    struct {
        const char *k;
        size_t n;
    } a[MAX_ARGS];
    int n;
    const char *dup;
};

static enum MHD_Result find_dup(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
                                const char *value, size_t value_size)
{
    struct dups *d = cls;
    (void)kind, (void)value, (void)value_size;
    for (int i = 0; i < d->n; i++)
        if (d->a[i].n == key_size && !memcmp(d->a[i].k, key, key_size)) {
            d->dup = key;
            return MHD_NO;
        }
    if (d->n >= MAX_ARGS) /* not reached: more than MAX_ARGS is 414 before */
        return MHD_NO;
    d->a[d->n].k = key;
    d->a[d->n].n = key_size;
    d->n++;
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    ol_http_app *s = cls;
    struct pending *p = *con_cls;
    ol_http_resp r;
    struct MHD_Response *resp;
    enum MHD_Result ret;
    int is_post = !strcmp(method, "POST");
    (void)version;

    if (!is_post && strcmp(method, "GET") && strcmp(method, "HEAD"))
        return queue_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET, HEAD and POST\n");
    /* libmicrohttpd (0.9.75, Debian 12) closes the connection after an
     * answer queued in the first call for a request (headers only): every
     * answer said "Connection: close", so each request paid a TCP connect,
     * a new 64 KiB connection pool (mmap, memset) and its munmap (a TLB
     * shoot-down on every core). A GET or HEAD is answered in the second
     * call, so connections are kept alive. */
    if (!is_post && p != (void *)&first_call_seen) {
        *con_cls = (void *)&first_call_seen;
        return MHD_YES;
    }
    if (!is_post)
        p = NULL;
    if (is_post) {
        if (!p) { /* first call: headers only */
            if (!(p = calloc(1, sizeof *p)))
                return MHD_NO;
            *con_cls = p;
            return MHD_YES;
        }
        if (*upload_size) {
            if (p->n + *upload_size > BODY_MAX)
                p->too_big = 1;
            else {
                memcpy(p->buf + p->n, upload, *upload_size);
                p->n += *upload_size;
            }
            *upload_size = 0;
            return MHD_YES;
        }
        if (p->too_big)
            return queue_text(c, 413, "request body larger than 8 KiB\n");
        p->buf[p->n] = '\0';
    }
    if (MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, NULL, NULL) > MAX_ARGS)
        return queue_text(c, MHD_HTTP_URI_TOO_LONG, "too many query arguments\n");
    ol_http_guard_answering(c);
    memset(&r, 0, sizeof r);
    r.status = 500;
    r.content_type = "text/plain; charset=utf-8";
    ol_http_req req = {method, url, p ? p->buf : "", p ? p->n : 0, s->tls, c, NULL, NULL};
    struct dups dups;
    dups.n = 0;
    dups.dup = NULL;
    if (MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, find_nul, &req.nul_arg) < 0 ||
        MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, find_dup, &dups) < 0)
        return queue_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error\n");
    req.dup_arg = dups.dup;
    if (s->h(s->ctx, &req, &r)) {
        if (r.release)
            r.release(r.release_cls);
        else
            free(r.body);
        return queue_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error\n");
    }
    if (r.release) /* a shared body: MHD calls release when it is done with it */
        resp = MHD_create_response_from_buffer_with_free_callback_cls(r.len, r.body, r.release, r.release_cls);
    else
        resp = MHD_create_response_from_buffer(r.len, r.body ? r.body : (void *)"",
                                               r.body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        if (r.release)
            r.release(r.release_cls);
        else
            free(r.body);
        return MHD_NO;
    }
    ret = MHD_add_response_header(resp, "Content-Type", r.content_type) == MHD_YES ? MHD_YES : MHD_NO;
    for (int i = 0; ret == MHD_YES && i < r.nheaders; i++)
        ret = MHD_add_response_header(resp, r.headers[i].name, r.headers[i].value);
    if (ret == MHD_YES)
        ret = MHD_queue_response(c, (unsigned)r.status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)toe;
    ol_http_guard_request_done(c);
    if (*con_cls != (void *)&first_call_seen)
        free(*con_cls);
    *con_cls = NULL;
}

ol_http_app *ol_http_app_start(const ol_http_app_opts *o, ol_http_app_handler h, void *ctx, char *err,
                               size_t errlen)
{
    ol_http_app *s = calloc(1, sizeof *s);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL_INTERNAL_THREAD;

    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->sock.fd = -1;
    s->h = h;
    s->ctx = ctx;
    if (ol_http_bind(o->listen, "listen address", 128, &s->sock, err, errlen))
        goto fail;
    if (s->sock.family == AF_INET6)
        flags |= MHD_USE_IPv6;
    unsigned threads = o->threads ? o->threads : 2;
    /* slow clients: a per-address limit, and a deadline on each request
     * (libmicrohttpd's timeout counts idleness only) */
    if (!(s->guard = ol_http_guard_new(CONNECTIONS, OL_HTTP_REQUEST_SECONDS))) {
        snprintf(err, errlen, "out of memory (connection table)");
        goto fail;
    }
#define GUARD_OPTIONS                                                                                                \
    MHD_OPTION_NOTIFY_CONNECTION, ol_http_guard_notify, s->guard, MHD_OPTION_PER_IP_CONNECTION_LIMIT,               \
        (unsigned)(o->per_ip ? o->per_ip : PER_IP_DEFAULT), MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MEMORY_LIMIT
    if (o->tls_cert) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            snprintf(err, errlen, "this libmicrohttpd was built without TLS");
            goto fail;
        }
        s->tls = 1;
        s->d = MHD_start_daemon(flags | MHD_USE_TLS, 0, NULL, NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET,
                                s->sock.fd, MHD_OPTION_HTTPS_MEM_CERT, o->tls_cert, MHD_OPTION_HTTPS_MEM_KEY, o->tls_key,
                                MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTIONS,
                                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_NOTIFY_COMPLETED,
                                on_completed, NULL, GUARD_OPTIONS, MHD_OPTION_END);
    } else {
        s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET, s->sock.fd,
                                MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTIONS,
                                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_NOTIFY_COMPLETED,
                                on_completed, NULL, GUARD_OPTIONS, MHD_OPTION_END);
    }
    if (!s->d) {
        snprintf(err, errlen, "libmicrohttpd did not start on %s%s", s->sock.address,
                 o->tls_cert ? " (is the certificate and key PEM, and do they match?)" : "");
        goto fail;
    }
    return s;
fail:
    if (s->sock.fd >= 0)
        close(s->sock.fd);
    ol_http_guard_free(s->guard);
    free(s);
    return NULL;
}

const char *ol_http_app_address(const ol_http_app *s) { return s->sock.address; }
int ol_http_app_port(const ol_http_app *s) { return s->sock.port; }

void ol_http_app_stop(ol_http_app *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->d); /* joins the threads and closes the listening socket */
    ol_http_guard_free(s->guard);
    free(s);
}
