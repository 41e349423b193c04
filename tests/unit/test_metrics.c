/* ol_metrics and ol_http: dead-letter reason classes, label escaping, the
 * exposition's shape (HELP/TYPE, histogram buckets cumulative and ending at
 * +Inf = count), counters published only by a committed batch, health and
 * readiness answers, a real round trip through the listener with the
 * client `opsledger status --url` uses, and the one bind both listeners
 * (metrics, opsledger-web's) share: what a person is told about a bad or
 * taken address, and where a listener says it is bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ol_http.h"
#include "ol_http_app.h"
#include "ol_metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void test_dl_class(void **state)
{
    (void)state;
    assert_int_equal(ol_metrics_dl_class("wrong_magic: byte 0 is 0x6e"), OL_DL_DECODE);
    assert_int_equal(ol_metrics_dl_class("bad_body: truncated"), OL_DL_DECODE);
    assert_int_equal(ol_metrics_dl_class("unknown_schema_id: id 99"), OL_DL_UNKNOWN_SCHEMA);
    assert_int_equal(ol_metrics_dl_class("wrong_subject: id 3 is hr.leave"), OL_DL_UNKNOWN_SCHEMA);
    assert_int_equal(ol_metrics_dl_class("invalid: field \"minutes\": -30"), OL_DL_INVALID);
    assert_int_equal(ol_metrics_dl_class("fold: service x could not fold"), OL_DL_FOLD);
    assert_int_equal(ol_metrics_dl_class("topic a.b is not an input of utilisation"), OL_DL_UNKNOWN_TOPIC);
    assert_int_equal(ol_metrics_dl_class("something else \"quoted\"\n"), OL_DL_OTHER);
    assert_int_equal(ol_metrics_dl_class(NULL), OL_DL_OTHER);
    assert_string_equal(ol_metrics_dl_class_name(OL_DL_UNKNOWN_SCHEMA), "unknown_schema");
}

static void test_label_escape(void **state)
{
    ol_metrics_buf b = {NULL, 0, 0, 0};
    (void)state;
    ol_mbuf_label(&b, "a\\b\"c\nd");
    assert_string_equal(b.p, "a\\\\b\\\"c\\nd");
    b.n = 0;
    ol_mbuf_help(&b, "x\\y\"z\n");
    assert_string_equal(b.p, "x\\\\y\"z\\n");
    free(b.p);
}

static void render(ol_metrics *m, ol_metrics_buf *b)
{
    b->n = 0;
    assert_int_equal(ol_metrics_render(m, b), 0);
}

static void test_exposition(void **state)
{
    static const char *const in[] = {"hr.person", NULL}, *const out[] = {"ops.x", NULL};
    ol_metrics *m = ol_metrics_new("svc\"q", in, out);
    ol_metrics_buf b = {NULL, 0, 0, 0};
    int64_t before[OL_M_NCOUNTERS] = {0}, now[OL_M_NCOUNTERS] = {0};
    (void)state;
    assert_non_null(m);

    /* a batch that was re-folded or aborted publishes nothing */
    ol_metrics_batch_begin(m);
    ol_metrics_deadletter(m, "wrong_magic: x");
    ol_metrics_emitted(m, "ops.x");
    ol_metrics_batch_begin(m);
    render(m, &b);
    assert_non_null(strstr(b.p, "opsledger_records_total{service=\"svc\\\"q\"} 0\n"));
    assert_non_null(strstr(b.p, "opsledger_deadletters_total{service=\"svc\\\"q\",reason=\"decode\"} 0\n"));

    /* a committed batch publishes its counters, classes, topics and phases */
    ol_metrics_deadletter(m, "wrong_magic: x");
    ol_metrics_emitted(m, "ops.x");
    ol_metrics_emitted(m, "ops.x");
    now[OL_M_RECORDS] = 5;
    now[OL_M_DEADLETTERS] = 1;
    now[OL_M_BATCHES] = 1;
    ol_metrics_batch_commit(m, now, before, 5, 0, 700, 3000, 20000000, 1795000000000LL);
    render(m, &b);
    assert_non_null(strstr(b.p, "# HELP opsledger_records_total "));
    assert_non_null(strstr(b.p, "# TYPE opsledger_records_total counter\n"));
    assert_non_null(strstr(b.p, "opsledger_records_total{service=\"svc\\\"q\"} 5\n"));
    assert_non_null(strstr(b.p, "opsledger_deadletters_total{service=\"svc\\\"q\",reason=\"decode\"} 1\n"));
    assert_non_null(strstr(b.p, "opsledger_emitted_total{service=\"svc\\\"q\",topic=\"ops.x\"} 2\n"));
    assert_non_null(strstr(b.p, "# TYPE opsledger_batch_seconds histogram\n"));
    /* fold took 700 us: not in le=0.0005, in le=0.001 and every bucket after */
    assert_non_null(strstr(b.p, "phase=\"fold\",le=\"0.0005\"} 0\n"));
    assert_non_null(strstr(b.p, "phase=\"fold\",le=\"0.001\"} 1\n"));
    assert_non_null(strstr(b.p, "phase=\"fold\",le=\"10\"} 1\n"));
    /* commit took 19.997 s: above the last bound, counted in +Inf only */
    assert_non_null(strstr(b.p, "phase=\"commit\",le=\"10\"} 0\n"));
    assert_non_null(strstr(b.p, "phase=\"commit\",le=\"+Inf\"} 1\n"));
    assert_non_null(strstr(b.p, "opsledger_batch_seconds_count{service=\"svc\\\"q\",phase=\"commit\"} 1\n"));
    assert_non_null(strstr(b.p, "opsledger_data_time_seconds{service=\"svc\\\"q\"} 1795000000.000\n"));
    assert_non_null(strstr(b.p, "opsledger_build_info{service=\"svc\\\"q\",version=\""));
    assert_non_null(strstr(b.p, "process_resident_memory_bytes{service=\"svc\\\"q\"} "));
    assert_null(strstr(b.p, "\n\n"));

    /* lag: a refreshed table makes readiness depend on the bound */
    ol_metrics_buf h = {NULL, 0, 0, 0};
    assert_int_equal(ol_metrics_healthz(m, &h), 200); /* the commit counted as a turn of the loop */
    h.n = 0;
    assert_int_equal(ol_metrics_readyz(m, &h), 503);
    assert_non_null(strstr(h.p, "lag unknown"));
    assert_int_equal(ol_metrics_lag_set(m, "hr.person", 0, 4000), 0);
    ol_metrics_lag_done(m, 1);
    h.n = 0;
    assert_int_equal(ol_metrics_readyz(m, &h), 503);
    assert_non_null(strstr(h.p, "consumer lag 4000 above metrics.ready_lag 1000"));
    render(m, &b);
    assert_non_null(strstr(b.p, "opsledger_consumer_lag{service=\"svc\\\"q\",topic=\"hr.person\",partition=\"0\"} 4000\n"));
    ol_metrics_loop_stopped(m);
    h.n = 0;
    assert_int_equal(ol_metrics_healthz(m, &h), 503);
    free(h.p);
    free(b.p);
    ol_metrics_free(m);
}

static int handler(void *ctx, const char *path, ol_http_reply *r)
{
    (void)ctx;
    r->status = strcmp(path, "/metrics") ? 404 : 200;
    r->content_type = "text/plain";
    r->body = strdup("opsledger_records_total{service=\"u\"} 7\n");
    r->len = r->body ? strlen(r->body) : 0;
    return r->body ? 0 : -1;
}

static void test_http_roundtrip(void **state)
{
    char err[256], url[64];
    int status = 0;
    char *body = NULL;
    size_t len = 0;
    (void)state;
    ol_http *s = ol_http_start("127.0.0.1:0", handler, NULL, err, sizeof err);
    assert_non_null(s);
    assert_true(ol_http_port(s) > 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", ol_http_port(s));
    assert_int_equal(ol_http_get(url, 2000, &status, &body, &len, err, sizeof err), 0);
    assert_int_equal(status, 200);
    assert_string_equal(body, "opsledger_records_total{service=\"u\"} 7\n");
    free(body);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/other", ol_http_port(s));
    assert_int_equal(ol_http_get(url, 2000, &status, &body, &len, err, sizeof err), 0);
    assert_int_equal(status, 404);
    free(body);
    ol_http_stop(s);
    /* a bad address is refused with a message */
    assert_null(ol_http_start("127.0.0.1:notaport", handler, NULL, err, sizeof err));
    assert_non_null(strstr(err, "metrics.listen"));
    assert_int_equal(ol_http_get("ftp://x", 100, &status, &body, &len, err, sizeof err), -1);
}

static int app_handler(void *ctx, const ol_http_req *req, ol_http_resp *r)
{
    (void)ctx, (void)req, (void)r;
    return -1;
}

static void test_http_bind(void **state)
{
    char err[256], addr[64];
    ol_http_app_opts o = {"127.0.0.1:notaport", NULL, NULL, 1, 0};
    (void)state;
    /* the same words from either listener, naming its own setting */
    assert_null(ol_http_start("127.0.0.1:notaport", handler, NULL, err, sizeof err));
    assert_string_equal(err, "metrics.listen \"127.0.0.1:notaport\": expected HOST:PORT, [V6]:PORT or PORT");
    assert_null(ol_http_app_start(&o, app_handler, NULL, err, sizeof err));
    assert_string_equal(err, "listen address \"127.0.0.1:notaport\": expected HOST:PORT, [V6]:PORT or PORT");
    /* a port alone listens on loopback, port 0 takes a free one */
    o.listen = "0";
    ol_http_app *a = ol_http_app_start(&o, app_handler, NULL, err, sizeof err);
    assert_non_null(a);
    assert_true(ol_http_app_port(a) > 0);
    snprintf(addr, sizeof addr, "127.0.0.1:%d", ol_http_app_port(a));
    assert_string_equal(ol_http_app_address(a), addr);
    /* a taken port is refused by the other listener, with the reason */
    assert_null(ol_http_start(addr, handler, NULL, err, sizeof err));
    char want[128];
    snprintf(want, sizeof want, "metrics.listen \"%s\": Address already in use", addr);
    assert_string_equal(err, want);
    ol_http_app_stop(a);
    ol_http *m = ol_http_start(":0", handler, NULL, err, sizeof err);
    assert_non_null(m);
    snprintf(addr, sizeof addr, "127.0.0.1:%d", ol_http_port(m));
    assert_string_equal(ol_http_address(m), addr);
    ol_http_stop(m);
}

/* a server of one connection that misbehaves after its status line: trickles
 * a line every 50 ms (at most 100 lines, then closes), or sends 17 MiB at once */
struct bad_server {
    ol_http_bound b;
    int oversized;
    pthread_t t;
};

static void *bad_serve(void *arg)
{
    struct bad_server *s = arg;
    static char chunk[65536];
    char req[2048];
    int fd = accept(s->b.fd, NULL, NULL);
    if (fd < 0)
        return NULL;
    if (recv(fd, req, sizeof req, 0) > 0 && send(fd, "HTTP/1.0 200 OK\r\n\r\n", 19, MSG_NOSIGNAL) == 19) {
        memset(chunk, 'x', sizeof chunk);
        for (int i = 0; i < (s->oversized ? 17 * 16 : 100); i++) {
            if (s->oversized ? send(fd, chunk, sizeof chunk, MSG_NOSIGNAL) < 0
                             : send(fd, "opsledger_x 1\n", 14, MSG_NOSIGNAL) != 14)
                break; /* the client gave up */
            if (!s->oversized)
                nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
        }
    }
    close(fd);
    return NULL;
}

static void bad_get(int oversized, const char *want)
{
    struct bad_server s = {.oversized = oversized};
    char err[512], url[128];
    int status = 0;
    char *body = NULL;
    size_t len = 0;
    assert_int_equal(ol_http_bind("127.0.0.1:0", "test", 4, &s.b, err, sizeof err), 0);
    assert_int_equal(pthread_create(&s.t, NULL, bad_serve, &s), 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", s.b.port);
    /* 1 s in all: a trickle of 5 s (a line every 50 ms) is past it, although
     * no single read waits more than 50 ms */
    assert_int_equal(ol_http_get(url, 1000, &status, &body, &len, err, sizeof err), -1);
    assert_null(body);
    char msg[600];
    snprintf(msg, sizeof msg, "%s: %s", url, want);
    assert_string_equal(err, msg);
    assert_int_equal(pthread_join(s.t, NULL), 0);
    close(s.b.fd);
}

/* `opsledger status --url` against a server that never finishes: a deadline
 * on the whole answer and a cap on its size, each named with the URL */
static void test_http_get_bounded(void **state)
{
    char err[512];
    int status = 0;
    char *body = NULL;
    size_t len = 0;
    (void)state;
    bad_get(0, "no complete answer within 1 s");
    bad_get(1, "answer larger than 16 MiB");
    /* the URL is named without its credentials */
    assert_int_equal(ol_http_get("http://ops:s3cr@t/x@127.0.0.1:1/metrics", 1000, &status, &body, &len, err,
                                 sizeof err), -1);
    assert_null(strstr(err, "s3cr"));
    assert_null(strstr(err, "t/x"));
    assert_non_null(strstr(err, "127.0.0.1:1"));
    assert_int_equal(ol_http_get("ftp://ops:s3cr@t@127.0.0.1:1/", 1000, &status, &body, &len, err, sizeof err), -1);
    assert_null(strstr(err, "s3cr"));
}

/* answers the first repeated query argument's name, or "-" */
static int dup_handler(void *ctx, const ol_http_req *req, ol_http_resp *r)
{
    (void)ctx;
    r->status = 200;
    r->content_type = "text/plain";
    r->body = strdup(req->dup_arg ? req->dup_arg : "-");
    r->len = r->body ? strlen(r->body) : 0;
    return r->body ? 0 : -1;
}

/* the application listener names a query argument given twice (the web
 * refuses it: its answer cache sorts the arguments, its handlers read the
 * first value) */
static void test_http_app_repeated_arg(void **state)
{
    static const struct {
        const char *query, *want;
    } cases[] = {{"/x?week=2026-W43&week=2026-W44&x=1", "week"},
                 {"/x?x=2&as_of=a&week=w&as_of=a", "as_of"},
                 {"/x?week=2026-W43&x=1&scope=ORG", "-"},
                 {"/x?a&a", "a"},
                 {"/x?a=1&ab=2&b=3", "-"}};
    char err[256], url[128];
    int status = 0;
    char *body = NULL;
    size_t len = 0;
    ol_http_app_opts o = {"127.0.0.1:0", NULL, NULL, 1, 0};
    (void)state;
    ol_http_app *a = ol_http_app_start(&o, dup_handler, NULL, err, sizeof err);
    assert_non_null(a);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(url, sizeof url, "http://127.0.0.1:%d%s", ol_http_app_port(a), cases[i].query);
        assert_int_equal(ol_http_get(url, 5000, &status, &body, &len, err, sizeof err), 0);
        assert_int_equal(status, 200);
        assert_string_equal(body, cases[i].want);
        free(body);
    }
    ol_http_app_stop(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dl_class),
        cmocka_unit_test(test_label_escape),
        cmocka_unit_test(test_exposition),
        cmocka_unit_test(test_http_roundtrip),
        cmocka_unit_test(test_http_app_repeated_arg),
        cmocka_unit_test(test_http_get_bounded),
        cmocka_unit_test(test_http_bind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
