/* server — the `serve` verb: opens the read model read-only (it runs beside
 * `opsledger-web run`, as every query does), listens (TLS when a certificate
 * is configured), signs people in and routes /api/v1/ and the pages. Every
 * answer carries the security headers; nothing is readable without a token
 * or a session, and no secret is ever logged. */
#include "ol_escape.h"
#include "ol_log.h"
#include "ol_metrics.h"
#include "ol_time.h"
#include "web.h"
#include "web_cache.h"
#include "web_html.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int web_tokens_path(const ol_config *cfg, const char *flag, char *out, size_t outlen);

struct server {
    web_model m;
    web_auth *auth;
    web_cache *cache; /* finished answers by request and snapshot (cache.c) */
    int tls;
    atomic_ullong answers[4]; /* by status class: 2xx (and 1xx), 3xx, 4xx, 5xx (/metrics) */
};

/* /metrics of `serve` (SPEC 5: every service serves /metrics, /healthz and
 * /readyz; the fold's are on run's metrics.listen): its answers by status
 * class, the answer cache, the read model's data time and the process */
static int serve_metrics(struct server *s, ol_http_resp *r)
{
    static const char *const cls[] = {"2xx", "3xx", "4xx", "5xx"};
    ol_metrics_buf b = {NULL, 0, 0, 0};
    unsigned long long hits = 0, misses = 0;
    MDB_txn *txn;
    int64_t dt = 0;
    if (mdb_txn_begin(s->m.st->env, NULL, MDB_RDONLY, &txn) == 0) {
        dt = web_data_time(&s->m, txn);
        mdb_txn_abort(txn);
    }
    web_cache_stats(s->cache, &hits, &misses);
    ol_mbuf_printf(&b, "# HELP opsledger_web_requests_total Answers of opsledger-web serve, by status class.\n"
                       "# TYPE opsledger_web_requests_total counter\n");
    for (int i = 0; i < 4; i++)
        ol_mbuf_printf(&b, "opsledger_web_requests_total{service=\"web\",code=\"%s\"} %llu\n", cls[i],
                       (unsigned long long)atomic_load(&s->answers[i]));
    ol_mbuf_printf(&b,
                   "# HELP opsledger_web_cache_hits_total Answers served from the answer cache.\n"
                   "# TYPE opsledger_web_cache_hits_total counter\n"
                   "opsledger_web_cache_hits_total{service=\"web\"} %llu\n"
                   "# HELP opsledger_web_cache_misses_total Answers rendered (not in the answer cache).\n"
                   "# TYPE opsledger_web_cache_misses_total counter\n"
                   "opsledger_web_cache_misses_total{service=\"web\"} %llu\n",
                   hits, misses);
    if (dt > 0)
        ol_mbuf_printf(&b,
                       "# HELP opsledger_data_time_seconds Data time of the read model served: the latest "
                       "occurred_at folded, seconds since the epoch.\n"
                       "# TYPE opsledger_data_time_seconds gauge\n"
                       "opsledger_data_time_seconds{service=\"web\"} %.3f\n",
                       (double)dt / 1000);
    ol_metrics_render_process(&b, "web");
    if (b.oom) {
        free(b.p);
        return -1;
    }
    r->status = 200;
    r->content_type = "text/plain; version=0.0.4; charset=utf-8";
    r->body = b.p;
    r->len = b.n;
    return 0;
}

/* /readyz of `serve`: ready when a read transaction of the read model opens
 * (the fold's lag is run's /readyz) */
static int serve_readyz(struct server *s, ol_http_resp *r)
{
    web_buf b = {0};
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->m.st->env, NULL, MDB_RDONLY, &txn);
    if (rc) {
        wb_printf(&b, "not ready: the read model cannot be read (%s)\n", mdb_strerror(rc));
        return wb_reply(&b, r, 503, "text/plain; charset=utf-8");
    }
    int64_t dt = web_data_time(&s->m, txn);
    mdb_txn_abort(txn);
    char t[32] = "";
    if (dt > 0)
        ol_ts_format(dt, t);
    wb_printf(&b, "ready: read model open, %s%s\n", dt > 0 ? "data as of " : "nothing folded yet", t);
    return wb_reply(&b, r, 200, "text/plain; charset=utf-8");
}

static volatile sig_atomic_t g_stop;
static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

/* reads a whole (small) file; caller frees. NULL with err. */
static char *slurp(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *p = NULL;
    long n;
    if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || n > 1 << 20 || fseek(f, 0, SEEK_SET) ||
        !(p = malloc((size_t)n + 1)) || fread(p, 1, (size_t)n, f) != (size_t)n) {
        snprintf(err, errlen, "%s: %s", path, errno ? strerror(errno) : "cannot read");
        free(p);
        p = NULL;
    } else
        p[n] = '\0';
    if (f)
        fclose(f);
    return p;
}

static void security_headers(ol_http_resp *r, int tls)
{
    char csp[400];
    snprintf(csp, sizeof csp,
             "default-src 'none'; style-src '%s'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
             "base-uri 'none'",
             web_style_hash());
    ol_http_resp_header(r, "Content-Security-Policy", csp);
    ol_http_resp_header(r, "X-Content-Type-Options", "nosniff");
    ol_http_resp_header(r, "X-Frame-Options", "DENY");
    ol_http_resp_header(r, "Referrer-Policy", "no-referrer");
    ol_http_resp_header(r, "Cache-Control", "no-store");
    if (tls)
        ol_http_resp_header(r, "Strict-Transport-Security", "max-age=31536000");
}

/* the session cookie's value, or NULL; copied into out (65 bytes) */
static const char *session_cookie(const ol_http_req *req, char out[65])
{
    const char *c = ol_http_app_header(req, "Cookie");
    while (c && *c) {
        while (*c == ' ' || *c == ';')
            c++;
        if (!strncmp(c, "olw_session=", 12)) {
            c += 12;
            size_t n = strcspn(c, "; ");
            if (n != 64)
                return NULL;
            memcpy(out, c, 64);
            out[64] = '\0';
            return out;
        }
        c = strchr(c, ';');
    }
    return NULL;
}

/* the value of one field of an application/x-www-form-urlencoded body,
 * decoded into out; 0 found, -1 not */
static int form_field(const char *body, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    for (const char *p = body; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
        if (strncmp(p, name, nl) || p[nl] != '=')
            continue;
        const char *v = p + nl + 1;
        size_t o = 0;
        for (; *v && *v != '&' && o + 1 < outlen; v++) {
            if (*v == '+')
                out[o++] = ' ';
            else if (*v == '%' && v[1] && v[2]) {
                char h[3] = {v[1], v[2], 0};
                out[o++] = (char)strtol(h, NULL, 16);
                v += 2;
            } else
                out[o++] = *v;
        }
        out[o] = '\0';
        return 0;
    }
    return -1;
}

static int redirect(ol_http_resp *r, const char *to)
{
    r->status = 303;
    r->content_type = "text/plain; charset=utf-8";
    return ol_http_resp_header(r, "Location", to);
}

/* 1 when a state-changing POST comes from this site: Sec-Fetch-Site, when
 * sent, is same-origin or none (typed by the user), and Origin, when sent,
 * is this request's own scheme://Host. Origin "null" is what a browser sends
 * for a form under this site's Referrer-Policy: no-referrer, so it passes
 * only with Sec-Fetch-Site (every current browser sends it). A client
 * sending neither (curl, a script) is not a browser a third-party page could
 * drive. */
static int same_site(const ol_http_req *req)
{
    const char *site = ol_http_app_header(req, "Sec-Fetch-Site");
    const char *origin = ol_http_app_header(req, "Origin");
    const char *host = ol_http_app_header(req, "Host");
    if (site && strcmp(site, "same-origin") && strcmp(site, "none"))
        return 0;
    if (!origin)
        return 1;
    if (!strcmp(origin, "null"))
        return site != NULL;
    const char *scheme = req->tls ? "https://" : "http://";
    size_t sl = strlen(scheme);
    return host && *host && !strncmp(origin, scheme, sl) && !strcmp(origin + sl, host);
}

static int sign_in(struct server *s, const ol_http_req *req, ol_http_resp *r)
{
    char token[200], name[64], id[65], cookie[200];
    int role = form_field(req->body, "token", token, sizeof token) ? 0 : web_session_new(s->auth, token, name, id);
    OPENSSL_cleanse(token, sizeof token);
    if (role == WEB_SESSIONS_FULL)
        return web_login_page(r, 429, "This token has too many open sessions: sign out elsewhere, or wait for one "
                                      "to expire (12 hours).");
    if (role < 0)
        return -1;
    if (!role)
        return web_login_page(r, 401, "That token is not valid.");
    snprintf(cookie, sizeof cookie, "olw_session=%s; Path=/; HttpOnly; SameSite=Strict%s", id,
             s->tls ? "; Secure" : "");
    memset(id, 0, sizeof id);
    ol_info("signed in|user=%s role=%s", name, web_role_name(role)); /* the name, never the token */
    return redirect(r, "/") || ol_http_resp_header(r, "Set-Cookie", cookie);
}

/* the request's arguments as a whole: a NUL byte in one (req->nul_arg), an
 * argument given twice (req->dup_arg) or a malformed or out-of-range as_of is
 * a message (the parameter is nul_arg, else dup_arg, else as_of: bad_param);
 * else NULL, and *as_of / as_of_text are set when given */
static const char *bad_arg(const ol_http_req *req, int64_t *as_of, char as_of_text[32])
{
    /* 1970-01-01 to 9999-12-31 (nothing was published before 1970; ol_ts_format
     * writes every instant of the range back as it is) */
    static const int64_t lo = 0, hi = 253402300799999LL;
    int64_t ms;
    if (req->nul_arg)
        return "holds a NUL byte";
    /* the handlers read an argument's first value and the answer cache's key
     * holds them all sorted: week=A&week=B and week=B&week=A shared a key */
    if (req->dup_arg)
        return "is repeated: give each query argument once";
    const char *v = ol_http_app_arg(req, "as_of");
    if (!v || !*v)
        return NULL;
    if (ol_ts_parse(v, &ms))
        return "expected an instant like 2026-11-16T09:00:00Z";
    if (ms < lo || ms > hi)
        return "expected an instant between 1970-01-01 and 9999-12-31 (UTC)";
    *as_of = ms;
    ol_ts_format(ms, as_of_text);
    return NULL;
}

static int handle_req(struct server *s, const ol_http_req *req, ol_http_resp *r)
{
    char sid[65], name[64] = "";
    const char *path = req->path;
    int role = WEB_ROLE_NONE, rc = -1;

    security_headers(r, s->tls);
    int first_header = r->nheaders; /* what follows is the answer's own (cached with it) */
    if (!strcmp(path, "/healthz")) {
        web_buf b = {0};
        wb_puts(&b, "ok\n");
        return wb_reply(&b, r, 200, "text/plain; charset=utf-8");
    }
    /* unauthenticated, as every service's metrics endpoints (SPEC 5) */
    if (!strcmp(path, "/metrics"))
        return serve_metrics(s, r);
    if (!strcmp(path, "/readyz"))
        return serve_readyz(s, r);
    if (!strcmp(path, "/favicon.ico")) { /* browsers ask for it: no icon, and no 404 in their console */
        r->status = 204;
        return 0;
    }
    if ((!strcmp(path, "/login") || !strcmp(path, "/logout")) && !strcmp(req->method, "POST") && !same_site(req))
        return web_json_error(r, 403, "Origin", "a sign-in or sign-out from another site is refused");
    if (!strcmp(path, "/login"))
        return !strcmp(req->method, "POST") ? sign_in(s, req, r) : web_login_page(r, 200, NULL);
    if (!strcmp(path, "/logout")) {
        if (strcmp(req->method, "POST"))
            return web_json_error(r, 405, NULL, "sign out with POST /logout");
        web_session_end(s->auth, session_cookie(req, sid));
        return redirect(r, "/login") ||
               ol_http_resp_header(r, "Set-Cookie", "olw_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
    }

    int api = !strncmp(path, "/api/v1/", 8);
    const char *authz = ol_http_app_header(req, "Authorization");
    if (authz && !strncasecmp(authz, "Bearer ", 7))
        role = web_auth_token(s->auth, authz + 7, name);
    else if (session_cookie(req, sid))
        role = web_session_role(s->auth, sid, name);
    if (!role) {
        if (!api)
            return redirect(r, "/login");
        ol_http_resp_header(r, "WWW-Authenticate", "Bearer realm=\"opsledger\"");
        return web_json_error(r, 401, "Authorization", "sign in: send Authorization: Bearer TOKEN");
    }
    if (!strcmp(req->method, "POST"))
        return web_json_error(r, 405, NULL, "only GET and HEAD here");

    web_req q = {.http = req, .m = &s->m, .role = role, .user = name, .as_of = WEB_NOW};
    if ((rc = mdb_txn_begin(s->m.st->env, NULL, MDB_RDONLY, &q.txn))) {
        ol_error("read transaction|reason=%s", mdb_strerror(rc));
        return -1;
    }
    /* the read transaction is open before any error page: its banner tells
     * the data's time, not "no data" */
    const char *bad = bad_arg(req, &q.as_of, q.as_of_text);
    /* the answer is a function of the snapshot and of everything in this
     * key: the route, the query, the role, the user's name (pages show it)
     * and Accept (the API's CSV); HEAD shares GET's answer */
    char key[2048];
    uint64_t txnid = (uint64_t)mdb_txn_id(q.txn);
    const char *accept = api ? ol_http_app_header(req, "Accept") : NULL;
    int gz = web_accepts_gzip(ol_http_app_header(req, "Accept-Encoding"));
    int n = snprintf(key, sizeof key, "%d\n%s\n%s\n%s\n", role, api ? "" : name, accept ? accept : "", path);
    int cacheable = !bad && n > 0 && (size_t)n < sizeof key &&
                    !ol_http_app_query_key(req, key + n, sizeof key - (size_t)n);
    if (cacheable && web_cache_get(s->cache, key, txnid, gz, r)) {
        mdb_txn_abort(q.txn);
        return 0;
    }
    if (bad) {
        char msg[300];
        const char *param = req->nul_arg ? req->nul_arg : req->dup_arg ? req->dup_arg : "as_of";
        snprintf(msg, sizeof msg, "parameter %.60s: %s", param, bad);
        rc = api ? web_json_error(r, 400, param, msg) : web_error_page(&q, r, 400, msg);
    } else
        rc = api ? web_api(&q, path + 8, r) : web_page(&q, path, r);
    mdb_txn_abort(q.txn);
    if (!rc && r->status == 200 && ol_http_resp_header(r, "Vary", "Accept-Encoding"))
        rc = -1;
    /* kept (with its gzip form) when it may be asked again over this snapshot;
     * an answer that cannot be kept is still sent compressed when large */
    if (!rc && r->status == 200 && web_cache_put(cacheable ? s->cache : NULL, key, txnid, gz, r, first_header))
        rc = -1;
    return rc;
}

/* every answer counted by its status class (a -1 is the listener's 500) */
static int handle(void *ctx, const ol_http_req *req, ol_http_resp *r)
{
    struct server *s = ctx;
    int rc = handle_req(s, req, r);
    int st = rc ? 500 : r->status;
    atomic_fetch_add(&s->answers[st >= 500 ? 3 : st >= 400 ? 2 : st >= 300 ? 1 : 0], 1);
    return rc;
}

int web_serve(ol_store *st, int argc, char **argv, const ol_config *cfg)
{
    const char *listen = ol_config_get(cfg, "web.listen", "127.0.0.1:8080");
    const char *cert = ol_config_get(cfg, "web.tls_cert", NULL), *key = ol_config_get(cfg, "web.tls_key", NULL);
    const char *tokens_flag = NULL, *url_file = NULL;
    char err[600], tokens[4096];
    char *cert_pem = NULL, *key_pem = NULL;
    struct server s = {0};
    ol_http_app *app = NULL;
    int rc = 1;

    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && !strcmp(argv[i], "--listen"))
            listen = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--tls-cert"))
            cert = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--tls-key"))
            key = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--tokens"))
            tokens_flag = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--url-file"))
            url_file = argv[++i];
        else
            return ol_usage_arg("opsledger-web serve", "unknown argument ", argv[i], NULL);
    }
    if (!cert != !key) {
        fprintf(stderr, "opsledger-web serve: TLS needs both --tls-cert and --tls-key (web.tls_cert, web.tls_key)\n");
        return 2;
    }
    if (web_tokens_path(cfg, tokens_flag, tokens, sizeof tokens))
        return 1;
    if (cert && (!(cert_pem = slurp(cert, err, sizeof err)) || !(key_pem = slurp(key, err, sizeof err)))) {
        ol_esc_eprintf("opsledger-web serve: %s\n", err);
        goto out;
    }
    s.m.st = st;
    s.m.revs = ol_store_dbi(st, "revs");
    s.m.keys = ol_store_dbi(st, "keyrevs");
    s.m.weeks = ol_store_dbi(st, "weeks");
    s.m.meta = ol_store_dbi(st, "meta");
    s.tls = cert != NULL;
    if (!(s.auth = web_auth_new(tokens, err, sizeof err)) || web_html_init()) {
        ol_esc_eprintf("opsledger-web serve: %s\n", s.auth ? "cannot hash the style sheet" : err);
        goto out;
    }
    int64_t cache_mb;
    if (ol_config_get_i64(cfg, "web.cache_mb", 256, &cache_mb, err, sizeof err) || cache_mb < 0 ||
        cache_mb > 1 << 20) {
        fprintf(stderr, "opsledger-web serve: web.cache_mb: expected 0 (off) to 1048576 MiB\n");
        goto out;
    }
    if (cache_mb && !(s.cache = web_cache_new((size_t)cache_mb << 20))) {
        fprintf(stderr, "opsledger-web serve: out of memory\n");
        goto out;
    }
    int64_t rows_mb;
    if (ol_config_get_i64(cfg, "web.rowcache_mb", 128, &rows_mb, err, sizeof err) || rows_mb < 0 ||
        rows_mb > 1 << 20) {
        fprintf(stderr, "opsledger-web serve: web.rowcache_mb: expected 0 (off) to 1048576 MiB\n");
        goto out;
    }
    if (rows_mb && !(s.m.rows = web_rowcache_new((size_t)rows_mb << 20))) {
        fprintf(stderr, "opsledger-web serve: out of memory\n");
        goto out;
    }
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN); /* one listener thread per core, unless web.threads says */
    int64_t nthreads;
    if (ol_config_get_i64(cfg, "web.threads", ncpu < 2 ? 2 : ncpu > 64 ? 64 : ncpu, &nthreads, err, sizeof err) ||
        nthreads < 1 || nthreads > 64) {
        fprintf(stderr, "opsledger-web serve: web.threads: expected 1 to 64\n");
        goto out;
    }
    unsigned threads = (unsigned)nthreads;
    /* SIGINT/SIGTERM are blocked before the listener's threads start (they
     * inherit the mask), so only sigsuspend below takes them */
    sigset_t mask, old;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL) || sigprocmask(SIG_BLOCK, &mask, &old)) {
        fprintf(stderr, "opsledger-web serve: signals: %s\n", strerror(errno));
        goto out;
    }
    int64_t per_ip = 0; /* connections from one address: behind a reverse proxy, every one comes from it */
    if (ol_config_get_i64(cfg, "web.per_ip_connections", 32, &per_ip, err, sizeof err)) {
        ol_esc_eprintf("opsledger-web serve: %s\n", err);
        goto out;
    }
    if (per_ip < 1 || per_ip > 256) {
        fprintf(stderr, "opsledger-web serve: web.per_ip_connections must be 1 to 256\n");
        goto out;
    }
    ol_http_app_opts o = {listen, cert_pem, key_pem, threads, (unsigned)per_ip};
    if (!(app = ol_http_app_start(&o, handle, &s, err, sizeof err))) {
        ol_esc_eprintf("opsledger-web serve: %s\n", err);
        goto out;
    }
    char url[400];
    snprintf(url, sizeof url, "%s://%s/", s.tls ? "https" : "http", ol_http_app_address(app));
    ol_info("web listening|url=%s tokens=%s", url, tokens);
    if (url_file) { /* written once listening: its presence means "ready" (the demo and tests wait for it) */
        char tmp[4200];
        snprintf(tmp, sizeof tmp, "%s.tmp", url_file);
        FILE *f = fopen(tmp, "w");
        if (!f || fprintf(f, "%s\n", url) < 0 || fclose(f) || rename(tmp, url_file)) {
            ol_esc_eprintf("opsledger-web serve: %s: %s\n", url_file, strerror(errno));
            goto out;
        }
    }
    while (!g_stop)
        sigsuspend(&old);
    unsigned long long hits, misses;
    web_cache_stats(s.cache, &hits, &misses);
    ol_info("web stopping|cache_hits=%llu cache_misses=%llu", hits, misses);
    rc = 0;
out:
    ol_http_app_stop(app); /* joins the listener: no answer of the cache is in flight after it */
    web_cache_free(s.cache);
    web_rowcache_free(s.m.rows);
    if (url_file)
        unlink(url_file);
    web_auth_free(s.auth);
    free(cert_pem);
    if (key_pem) {
        memset(key_pem, 0, strlen(key_pem));
        free(key_pem);
    }
    return rc;
}
