/* ol_http_app — the HTTP listener for applications that need more than
 * ol_http's GET-only probes: query arguments, request headers, small POST
 * forms, response headers, a thread pool and TLS (libmicrohttpd with GnuTLS).
 *
 * Exists so that opsledger-web (and any later read side) keeps
 * libmicrohttpd out of its own code, as ol_http does for the metrics. The
 * handler runs in one of libmicrohttpd's threads: it must be thread-safe. */
#ifndef OL_HTTP_APP_H
#define OL_HTTP_APP_H

#include <stddef.h>

typedef struct ol_http_app ol_http_app;

typedef struct ol_http_req {
    const char *method; /* GET, HEAD or POST (others are answered 405 before the handler) */
    const char *path;   /* the URL path, without the query string */
    const char *body;   /* POST body (NUL-terminated; at most 8 KiB, else 413), or "" */
    size_t body_len;
    int tls;            /* 1 when served over TLS */
    void *conn;         /* opaque (ol_http_app_arg, ol_http_app_header) */
    const char *nul_arg; /* the first query argument holding a NUL byte (%00; its name up to
                          * a NUL), or NULL: ol_http_app_arg would cut it short, so the
                          * handler refuses the request (400 naming it) */
    const char *dup_arg; /* the first query argument given twice or more, or NULL:
                          * ol_http_app_arg reads its first value while
                          * ol_http_app_query_key sorts them all, so the handler
                          * refuses the request (400 naming it) before any cache */
} ol_http_req;

#define OL_HTTP_MAX_HEADERS 12
typedef struct ol_http_resp {
    int status;
    const char *content_type; /* static string */
    char *body;               /* malloc'ed; the listener takes and frees it (unless release is set) */
    size_t len;
    /* when set, body is shared, not the listener's: release(release_cls) is
     * called once the listener no longer needs it (a cached answer) */
    void (*release)(void *cls);
    void *release_cls;
    int nheaders;
    struct {
        const char *name;     /* static string */
        char value[600];
    } headers[OL_HTTP_MAX_HEADERS];
} ol_http_resp;

/* a query argument (decoded) or NULL; valid during the handler */
const char *ol_http_app_arg(const ol_http_req *r, const char *name);
/* a request header or NULL (case-insensitive name); valid during the handler */
const char *ol_http_app_header(const ol_http_req *r, const char *name);
/* the query arguments in one canonical text (name=value pairs sorted, each
 * length-prefixed so that no two argument lists give the same text); 0, or
 * -1 when it does not fit in outlen */
int ol_http_app_query_key(const ol_http_req *r, char *out, size_t outlen);
/* adds a response header (value copied, cut at 599 bytes); 0, or -1 when full */
int ol_http_resp_header(ol_http_resp *r, const char *name, const char *value);

/* Fills r; returns 0, or -1 (answered 500). */
typedef int (*ol_http_app_handler)(void *ctx, const ol_http_req *req, ol_http_resp *r);

typedef struct ol_http_app_opts {
    const char *listen;   /* as ol_http_start */
    const char *tls_cert; /* PEM text of the certificate chain, or NULL (plain HTTP) */
    const char *tls_key;  /* PEM text of the private key, with tls_cert */
    unsigned threads;     /* worker threads (0: 2) */
    unsigned per_ip;      /* connections from one address (0: 32; behind a reverse proxy, raise it) */
} ol_http_app_opts;

/* Starts listening; caller owns the result (ol_http_app_stop). NULL with err. */
ol_http_app *ol_http_app_start(const ol_http_app_opts *o, ol_http_app_handler h, void *ctx, char *err,
                               size_t errlen);
const char *ol_http_app_address(const ol_http_app *s);
int ol_http_app_port(const ol_http_app *s);
void ol_http_app_stop(ol_http_app *s);

#endif
