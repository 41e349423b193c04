/* ol_http_guard — a deadline on every HTTP request of ol_http_app: a
 * connection gets OL_HTTP_REQUEST_SECONDS, from its start or from the end of
 * its previous request, to deliver a complete request (TLS handshake,
 * headers and body); a connection past it is shut down. libmicrohttpd's own
 * timeout counts idleness only, so a client sending one header line every
 * few seconds (slowloris) would otherwise hold its slot for ever.
 *
 * Exists apart from ol_http_app.c so that the listener keeps one concern:
 * this file owns the connection table and the thread that enforces the
 * deadline. A time of answering (sending a response) is not bounded here:
 * the idle timeout covers a stalled reader. */
#ifndef OL_HTTP_GUARD_H
#define OL_HTTP_GUARD_H

#define OL_HTTP_REQUEST_SECONDS 15

#include <microhttpd.h>

typedef struct ol_http_guard ol_http_guard;

/* a table of up to max connections and its reaper thread; caller owns the
 * result (ol_http_guard_free). NULL when out of memory or no thread. */
ol_http_guard *ol_http_guard_new(unsigned max, unsigned request_seconds);
/* stops the thread and frees the table; after the daemon stopped */
void ol_http_guard_free(ol_http_guard *g);

/* libmicrohttpd's MHD_OPTION_NOTIFY_CONNECTION callback (cls: the guard) */
void ol_http_guard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe);
/* the connection's request is complete and being answered: no deadline */
void ol_http_guard_answering(struct MHD_Connection *c);
/* the connection's request ended: the deadline starts again (keep-alive) */
void ol_http_guard_request_done(struct MHD_Connection *c);

#endif
