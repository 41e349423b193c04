/* ol_http — a small embedded HTTP listener (libmicrohttpd, its own thread)
 * and the one-request client `opsledger status --url` uses.
 *
 * Exists so that a service can answer Prometheus and health probes without
 * the fold loop noticing: the listener runs in libmicrohttpd's internal
 * polling thread and calls a handler that only reads what the loop
 * published. It knows nothing of metrics; ol_metrics_serve.c routes paths.
 * The client is a plain HTTP/1.0 GET over a socket (no libcurl: one request
 * to a loopback or LAN address needs neither TLS nor redirects). */
#ifndef OL_HTTP_H
#define OL_HTTP_H

#include <stddef.h>

typedef struct ol_http ol_http;

/* A reply: status, content type (static string), body (malloc'ed; the
 * listener takes it and frees it). */
typedef struct ol_http_reply {
    int status;
    const char *content_type;
    char *body;
    size_t len;
} ol_http_reply;

/* Called in the listener's thread for each GET or HEAD. Fills r; returns 0,
 * or -1 (the listener answers 500). */
typedef int (*ol_http_handler)(void *ctx, const char *path, ol_http_reply *r);

/* Listens on `listen`: "HOST:PORT", "[V6]:PORT", ":PORT" or "PORT" (the last
 * two on 127.0.0.1: loopback unless an address is given). Port 0 takes a free
 * one (ol_http_port). Caller owns the result: ol_http_stop(). NULL with err. */
ol_http *ol_http_start(const char *listen, ol_http_handler h, void *ctx, char *err, size_t errlen);
/* the bound port */
int ol_http_port(const ol_http *s);
/* the bound address as "host:port" */
const char *ol_http_address(const ol_http *s);
/* splits "HOST:PORT", "[V6]:PORT", ":PORT" or "PORT" (host 127.0.0.1 when
 * none is given) into host and port text; 0, or -1 when malformed */
int ol_http_split_hostport(const char *s, char *host, size_t hl, char *port, size_t pl);

/* A listening socket and where it is bound. */
typedef struct ol_http_bound {
    int fd;            /* close-on-exec, SO_REUSEADDR, listening */
    int family;        /* AF_INET or AF_INET6 */
    int port;          /* the bound port (the one taken when 0 was asked) */
    char address[300]; /* "host:port", "[v6]:port" */
} ol_http_bound;

/* The one bind of every listener (ol_http_start, ol_http_app_start): parses
 * `listen_on` as ol_http_split_hostport, resolves it, binds and listens with
 * `backlog`. `what` names the setting in messages ("metrics.listen" ->
 * `metrics.listen "x:y": ...`). 0 with *b filled, or -1 with err (nothing
 * left open). */
int ol_http_bind(const char *listen_on, const char *what, int backlog, ol_http_bound *b, char *err, size_t errlen);
/* stops the thread, closes the socket, frees s; NULL is fine */
void ol_http_stop(ol_http *s);

/* GET url ("http://HOST:PORT[/PATH]", PATH default "/metrics"), at most
 * timeout_ms for the whole request (connecting, sending and reading the
 * answer to its end: a server trickling bytes cannot hold it longer), and an
 * answer of at most OL_HTTP_GET_MAX bytes. *body (malloc'ed, NUL-
 * terminated, caller frees) gets the response body. 0 with *status, or -1
 * with err, which names the URL as ol_http_url_shown writes it. */
#define OL_HTTP_GET_MAX (16u << 20)
int ol_http_get(const char *url, int timeout_ms, int *status, char **body, size_t *len, char *err, size_t errlen);

/* url as a message may show it: without user info, i.e. without everything
 * from just after "://" to the LAST '@' (a password may hold '@', '/', '?'
 * or '#', so no earlier delimiter can be trusted to end it; a '@' later in
 * the path hides a little more, never a secret). Cut to fit outlen. */
void ol_http_url_shown(const char *url, char *out, size_t outlen);

#endif
