/* pages_weekly — the weekly executive page: the SAME computation and HTML
 * renderer as `opsledger report weekly` (common/report), fed from this
 * service's read model as of the request's instant instead of the services'
 * `events` verbs. The page is the report's own HTML with the site's header,
 * "as of" control and banner put after <body>; its style sheet is allowed by
 * its hash, computed here, in the page's Content-Security-Policy. */
#include "ol_time.h"
#include "report/ol_report.h"
#include "web_api.h"
#include "web_cache.h"
#include "web_pages.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct weekly_ctx {
    web_req *q;
    json_t *names; /* strings handed to the report live here until it is freed */
};

struct gather {
    struct web_rowcache *rows;
    json_t *a;
    const char *prefix, *suffix;
    int role, fail;
    const char *topic;
};

/* a row of the topic when its key has the prefix and suffix asked for:
 * the key is tested before the row is parsed (the report asks for every
 * ORG row, or a week's TEAM rows, among 5,000 people's) */
static int take(void *ctx, const char *key, int64_t rev, int64_t ts, const char *json, size_t len)
{
    struct gather *g = ctx;
    size_t kl = strlen(key), sl = g->suffix ? strlen(g->suffix) : 0;
    (void)ts;
    if (g->prefix && strncmp(key, g->prefix, strlen(g->prefix)))
        return 0;
    if (g->suffix && (kl < sl || strcmp(key + kl - sl, g->suffix)))
        return 0;
    /* shared with other answers (rowcache.c): copied before anything is removed */
    json_t *rec = web_rowcache_get(g->rows, g->topic, key, rev, json, len);
    if (rec && web_row_redacts(g->topic, g->role, json, len)) {
        json_t *cp = json_deep_copy(rec);
        json_decref(rec);
        if ((rec = cp))
            web_redact(rec, g->topic, g->role);
    }
    if (!rec || json_array_append_new(g->a, rec)) {
        g->fail = 1;
        return 1;
    }
    return 0;
}

/* the report's events callback: the last revision of every key of a topic
 * published by the instant; money-only topics are withheld from ops (the page
 * then says so in their sections, with this reason), and the others reach
 * ops with their money fields removed (the report shows "withheld" there) */
static json_t *events(void *vctx, const char *topic, const char *prefix, const char *suffix, char *err,
                      size_t errlen)
{
    struct weekly_ctx *c = vctx;
    const web_endpoint *ep = web_endpoint_of_topic(topic);
    char e[200];
    if (!ep) {
        snprintf(err, errlen, "%s is not in the web read model", topic);
        return NULL;
    }
    if (!(ep->roles & c->q->role)) {
        snprintf(err, errlen, "not shown to the %s role (money)", web_role_name(c->q->role));
        return NULL;
    }
    struct gather g = {c->q->m->rows, json_array(), prefix, suffix, c->q->role, 0, topic};
    /* a week suffix on a week-grouped topic is one group's scan */
    const char *group = NULL;
    ol_week w;
    if (suffix && suffix[0] == '|' && ol_week_parse(suffix + 1, &w) == 0 && ep->g == G_WEEK)
        group = suffix + 1;
    /* and a prefix within one group is one range of keys */
    if (!g.a || web_scan_raw(c->q->m, c->q->txn, topic, group, group ? prefix : NULL, c->q->as_of, take, &g, e,
                             sizeof e) ||
        g.fail) {
        snprintf(err, errlen, "%s: %s", topic, g.fail ? "out of memory" : e);
        json_decref(g.a);
        return NULL;
    }
    return g.a;
}

/* a name for the report: one field of the record as of the instant, read
 * from its stored text (parsed only when it holds an escape) */
static const char *name(void *vctx, const char *topic, const char *id, const char *field)
{
    struct weekly_ctx *c = vctx;
    const char *json, *out = NULL;
    size_t len;
    web_jfield f;
    if (web_get_text(c->q->m, c->q->txn, topic, id, c->q->as_of, &json, &len, NULL, NULL) != 1)
        return NULL;
    if (web_json_scalars(json, len, &field, 1, &f) == 0) {
        json_t *v = f.kind == 2 ? json_stringn(f.p, f.n) : NULL;
        if (v && json_array_append_new(c->names, v) == 0)
            out = json_string_value(v); /* kept alive by c->names */
        return out;
    }
    json_t *rec = json_loadb(json, len, 0, NULL);
    json_t *v = json_object_get(rec, field);
    if (json_is_string(v) && json_array_append(c->names, v) == 0)
        out = json_string_value(v);
    json_decref(rec);
    return out;
}

/* "sha256-..." of the text between the first <style> and </style> */
static int style_hash(const char *html, char *out, size_t outlen)
{
    const char *a = strstr(html, "<style>"), *b = a ? strstr(a, "</style>") : NULL;
    unsigned char h[32], b64[64];
    if (!a || !b)
        return -1;
    a += 7;
    SHA256((const unsigned char *)a, (size_t)(b - a), h);
    int n = EVP_EncodeBlock(b64, h, 32);
    if (n <= 0)
        return -1;
    snprintf(out, outlen, "sha256-%.*s", n, (const char *)b64);
    return 0;
}

int web_page_weekly(web_req *q, ol_http_resp *r)
{
    char week[9], err[300], hash[80], csp[500];
    const char *a = web_arg(q, "week");
    struct weekly_ctx c = {q, json_array()};
    /* the page's data time: the read model's, or the request's instant when
     * that is earlier (the report then marks a week not yet ended as such) */
    char dt_text[25] = "";
    int64_t dt = web_data_time(q->m, q->txn);
    if (q->as_of != WEB_NOW && q->as_of < dt)
        dt = q->as_of;
    if (dt > 0)
        ol_ts_format(dt, dt_text);
    struct ol_report_source src = {events, name, &c, dt_text[0] ? dt_text : NULL};
    struct ol_report *rep = NULL;
    char *html = NULL;
    size_t len = 0;
    FILE *f = NULL;
    int rc = -1;

    if (!c.names)
        return -1;
    if (a && *a)
        snprintf(week, sizeof week, "%s", a);
    else if (web_current_week(q, week)) {
        json_decref(c.names);
        return web_error_page(q, r, 404, "Nothing has been published yet.");
    }
    if (!(rep = ol_report_weekly(&src, week, err, sizeof err))) {
        json_decref(c.names);
        return web_error_page(q, r, 400, err);
    }
    if (!(f = open_memstream(&html, &len)) || ol_report_render(f, rep, OL_REPORT_HTML) || fclose(f)) {
        f = NULL;
        goto out;
    }
    f = NULL;
    const char *head_end = strstr(html, "</head>"), *body = strstr(html, "<body>");
    if (!head_end || !body || body < head_end || style_hash(html, hash, sizeof hash))
        goto out;
    body += 6;
    web_buf b = {0};
    wb_put(&b, html, (size_t)(head_end - html));
    wb_puts(&b, "<style>");
    wb_puts(&b, web_style_sheet());
    wb_puts(&b, "</style>");
    wb_put(&b, head_end, (size_t)(body - head_end));
    web_page_nav(&b, q);
    wb_puts(&b, body);
    if (wb_reply(&b, r, 200, "text/html; charset=utf-8"))
        goto out;
    /* this page has two style sheets: the site's and the report's */
    snprintf(csp, sizeof csp,
             "default-src 'none'; style-src '%s' '%s'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
             "base-uri 'none'",
             web_style_hash(), hash);
    for (int i = 0; i < r->nheaders; i++)
        if (!strcmp(r->headers[i].name, "Content-Security-Policy"))
            snprintf(r->headers[i].value, sizeof r->headers[i].value, "%s", csp);
    rc = 0;
out:
    if (f)
        fclose(f);
    free(html);
    ol_report_free(rep);
    json_decref(c.names);
    return rc;
}
