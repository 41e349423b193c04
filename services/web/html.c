/* html — the page frame every page shares, the units people read and the
 * inline SVG chart. Every string from the data goes through wb_html
 * (common/ol_escape.c); the style sheet is inline and allowed by its hash
 * in the Content-Security-Policy, so no script and no external reference
 * is ever needed to read a figure. */
#include "ol_escape.h"
#include "ol_format.h"
#include "ol_time.h"
#include "web_html.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char k_style[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2430;background:#f6f7f9}"
    "header{background:#1d2430;color:#fff;padding:8px 16px;display:flex;flex-wrap:wrap;gap:12px;align-items:center}"
    "header a{color:#fff;text-decoration:none}header a:hover{text-decoration:underline}"
    "main{padding:12px 16px}h1{font-size:20px;margin:8px 0}h2{font-size:16px;margin:16px 0 6px}"
    ".banner{background:#e8eef7;padding:6px 16px;font-size:13px}.closed{color:#0a6b2b}.open{color:#8a5a00}"
    "table{border-collapse:collapse;background:#fff;margin:4px 0 12px}"
    "th,td{border:1px solid #d5d9e0;padding:3px 8px;text-align:left}td.n{text-align:right}"
    ".RED{background:#f8d4d4}.AMBER{background:#fbe8c2}.GREEN{background:#d6f0dc}"
    ".low{background:#f8d4d4}.mid{background:#fbe8c2}.ok{background:#d6f0dc}.hl{font-weight:bold;background:#fff6bf}"
    "form.inline{display:inline}.muted{color:#667}.err{color:#a00}";
static char g_hash[80];

int web_html_init(void)
{
    unsigned char h[32];
    unsigned char b64[64];
    SHA256((const unsigned char *)k_style, sizeof k_style - 1, h);
    int n = EVP_EncodeBlock(b64, h, 32);
    if (n <= 0)
        return -1;
    snprintf(g_hash, sizeof g_hash, "sha256-%.*s", n, (const char *)b64);
    return 0;
}

const char *web_style_hash(void) { return g_hash; }

const char *web_s(json_t *rec, const char *f)
{
    const char *s = json_string_value(json_object_get(rec, f));
    return s ? s : "";
}

long long web_i(json_t *rec, const char *f) { return (long long)json_integer_value(json_object_get(rec, f)); }

/* the people forms of figures, the same as every report's (common/ol_format:
 * hours "37h15", money "GBP 1,234.56", percentages "84.36%") */
void web_fmt_minutes(char *out, size_t n, long long m) { ol_fmt_hm(out, n, (int64_t)m); }

void web_fmt_money(char *out, size_t n, long long minor, const char *currency)
{
    ol_fmt_amount(out, n, (int64_t)minor, currency);
}

void web_fmt_bp(char *out, size_t n, json_t *bp)
{
    if (!json_is_integer(bp)) {
        snprintf(out, n, "-");
        return;
    }
    ol_fmt_pct(out, n, (int64_t)json_integer_value(bp), 10000);
}

void web_link(web_buf *b, web_req *q, const char *path, const char *name, const char *value, const char *text)
{
    char *enc = NULL;
    size_t n = strlen(value ? value : "");
    /* percent-encode the value (then HTML-escape the whole href) */
    if (!(enc = malloc(3 * n + 1))) {
        b->oom = 1;
        return;
    }
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)(value ? value : ""); *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-_.~", *p))
            enc[o++] = (char)*p;
        else
            o += (size_t)sprintf(enc + o, "%%%02X", *p);
    }
    enc[o] = '\0';
    wb_puts(b, "<a href=\"");
    wb_html(b, path);
    if (name) {
        wb_puts(b, "?");
        wb_html(b, name);
        wb_puts(b, "=");
        wb_html(b, enc);
    }
    if (q->as_of_text[0]) {
        wb_puts(b, name ? "&amp;as_of=" : "?as_of=");
        wb_html(b, q->as_of_text);
    }
    wb_puts(b, "\">");
    wb_html(b, text);
    wb_puts(b, "</a>");
    free(enc);
}

int web_current_week(web_req *q, char w[9])
{
    json_t *weeks = web_weeks(q->m, q->txn, q->as_of);
    int rc = 1;
    if (!weeks)
        return -1;
    for (size_t i = json_array_size(weeks); i-- > 0;) {
        char key[64];
        json_t *row = NULL;
        snprintf(key, sizeof key, "ORG|org|%s", json_string_value(json_array_get(weeks, i)));
        if (web_get(q->m, q->txn, "ops.utilisation.weekly", key, q->as_of, &row, NULL, NULL)) {
            rc = -1;
            break;
        }
        if (row) {
            json_decref(row);
            snprintf(w, 9, "%s", json_string_value(json_array_get(weeks, i)));
            rc = 0;
            break;
        }
    }
    json_decref(weeks);
    return rc;
}

static void banner(web_buf *b, web_req *q)
{
    char ts[25], w[9];
    int64_t dt = web_data_time(q->m, q->txn);
    wb_puts(b, "<div class=\"banner\">");
    if (q->as_of_text[0]) {
        wb_puts(b, "Showing the figures as published by ");
        wb_html(b, q->as_of_text);
        wb_puts(b, ". ");
    }
    if (dt > 0) {
        ol_ts_format(dt, ts);
        wb_puts(b, "Data as of ");
        wb_html(b, ts);
        wb_puts(b, " (latest business event folded)");
    } else
        wb_puts(b, "No data folded yet");
    if (web_current_week(q, w) == 0) {
        json_t *p = NULL;
        int closed = 0;
        if (web_get(q->m, q->txn, "finance.period", w, q->as_of, &p, NULL, NULL) == 0 && p)
            closed = !strcmp(web_s(p, "status"), "CLOSED");
        json_decref(p);
        wb_printf(b, "; week %s is <span class=\"%s\">%s</span>", w, closed ? "closed" : "open",
                  closed ? "closed (invoiced)" : "not closed");
    }
    wb_puts(b, ".</div>");
}

void web_page_begin(web_buf *b, web_req *q, const char *title)
{
    wb_puts(b, "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>");
    wb_html(b, title);
    wb_puts(b, " - opsledger</title><style>");
    wb_puts(b, k_style);
    wb_puts(b, "</style></head><body>");
    web_page_nav(b, q);
    wb_puts(b, "<main><h1>");
    wb_html(b, title);
    wb_puts(b, "</h1>");
}

const char *web_style_sheet(void) { return k_style; }

void web_page_nav(web_buf *b, web_req *q)
{
    static const struct {
        const char *path, *label;
        int roles;
    } nav[] = {{"/", "Home", WEB_ALL},
               {"/utilisation", "Utilisation", WEB_ALL},
               {"/billing", "Billing", WEB_EXEC | WEB_FINANCE},
               {"/contractors", "Contractors", WEB_EXEC | WEB_FINANCE},
               {"/forecast", "Forecast", WEB_ALL},
               {"/demand", "Demand", WEB_ALL},
               {"/delivery", "Delivery", WEB_ALL},
               {"/weekly", "Weekly report", WEB_ALL},
               {"/cover", "Cover", WEB_ALL}};
    wb_puts(b, "<header><strong>opsledger</strong>");
    for (size_t i = 0; i < sizeof nav / sizeof nav[0]; i++)
        if (nav[i].roles & q->role)
            web_link(b, q, nav[i].path, NULL, NULL, nav[i].label);
    wb_puts(b, "<form class=\"inline\" method=\"get\"><label>As of <input name=\"as_of\" size=\"22\" "
               "placeholder=\"2026-11-16T09:00:00Z\" value=\"");
    wb_html(b, q->as_of_text);
    wb_puts(b, "\"></label>");
    /* the page's own arguments survive an as-of change */
    static const char *const keep[] = {"week", "team", "id", "key", "client", "from"};
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
        const char *v = ol_http_app_arg(q->http, keep[i]);
        if (v && *v) {
            wb_printf(b, "<input type=\"hidden\" name=\"%s\" value=\"", keep[i]);
            wb_html(b, v);
            wb_puts(b, "\">");
        }
    }
    wb_puts(b, " <button>Show</button></form><span>");
    wb_html(b, q->user);
    wb_puts(b, " (");
    wb_puts(b, web_role_name(q->role));
    wb_puts(b, ")</span><form class=\"inline\" method=\"post\" action=\"/logout\"><button>Sign out</button></form>"
               "</header>");
    banner(b, q);
}

int web_page_end(web_buf *b, ol_http_resp *r)
{
    wb_puts(b, "</main></body></html>\n");
    return wb_reply(b, r, 200, "text/html; charset=utf-8");
}

int web_login_page(ol_http_resp *r, int status, const char *msg)
{
    web_buf b = {0};
    wb_puts(&b, "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign in - opsledger</title>"
                "<style>");
    wb_puts(&b, k_style);
    wb_puts(&b, "</style></head><body><header><strong>opsledger</strong></header><main><h1>Sign in</h1>");
    if (msg) {
        wb_puts(&b, "<p class=\"err\">");
        wb_html(&b, msg);
        wb_puts(&b, "</p>");
    }
    wb_puts(&b, "<form method=\"post\" action=\"/login\"><label>Access token <input type=\"password\" "
                "name=\"token\" autocomplete=\"off\" size=\"70\"></label> <button>Sign in</button></form>"
                "<p class=\"muted\">Tokens are issued with <code>opsledger web token add NAME --role "
                "exec|ops|finance</code>.</p></main></body></html>\n");
    return wb_reply(&b, r, status, "text/html; charset=utf-8");
}

int web_error_page(web_req *q, ol_http_resp *r, int status, const char *msg)
{
    web_buf b = {0};
    web_req plain = *q;
    plain.as_of = WEB_NOW;
    plain.as_of_text[0] = '\0';
    web_page_begin(&b, q->txn ? q : &plain, status == 404 ? "Not found" : status == 403 ? "Not allowed" : "Error");
    wb_puts(&b, "<p class=\"err\">");
    wb_html(&b, msg);
    wb_puts(&b, "</p>");
    if (web_page_end(&b, r))
        return -1;
    r->status = status;
    return 0;
}

void web_svg_line(web_buf *b, const char *title, const char *const *labels, const long long *bp, const int *has,
                  int n, long long target_bp)
{
    const int W = 640, H = 220, L = 44, R = 10, T = 14, B = 34;
    long long max = target_bp + 1500;
    for (int i = 0; i < n; i++)
        if (has[i] && bp[i] > max)
            max = bp[i];
    max = (max + 999) / 1000 * 1000;
    double sx = n > 1 ? (double)(W - L - R) / (n - 1) : 0, sy = (double)(H - T - B) / (double)max;
    wb_printf(b, "<svg width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"", W,
              H);
    wb_html(b, title);
    wb_printf(b, "\"><rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#fff\"/>", W, H);
    for (long long g = 0; g <= max; g += 2000) {
        double y = H - B - g * sy;
        wb_printf(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e3e6eb\"/>", L, y, W - R, y);
        wb_printf(b, "<text x=\"%d\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">%lld %%</text>", L - 4, y + 3,
                  g / 100);
    }
    double ty = H - B - target_bp * sy;
    wb_printf(b,
              "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#b00\" stroke-dasharray=\"5,4\"/>"
              "<text x=\"%d\" y=\"%.1f\" font-size=\"10\" fill=\"#b00\" text-anchor=\"end\">target %lld %%</text>",
              L, ty, W - R, ty, W - R, ty - 4, target_bp / 100);
    wb_puts(b, "<polyline fill=\"none\" stroke=\"#2456a6\" stroke-width=\"2\" points=\"");
    for (int i = 0; i < n; i++)
        if (has[i])
            wb_printf(b, "%.1f,%.1f ", L + i * sx, H - B - bp[i] * sy);
    wb_puts(b, "\"/>");
    for (int i = 0; i < n; i++) {
        if (has[i]) {
            wb_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#2456a6\"><title>", L + i * sx,
                      H - B - bp[i] * sy);
            wb_html(b, labels[i]);
            wb_printf(b, ": %lld.%02lld %%</title></circle>", bp[i] / 100, bp[i] % 100);
        }
        wb_printf(b, "<text x=\"%.1f\" y=\"%d\" font-size=\"9\" text-anchor=\"middle\">", L + i * sx, H - B + 14);
        wb_html(b, strlen(labels[i]) > 5 ? labels[i] + 5 : labels[i]);
        wb_puts(b, "</text>");
    }
    wb_puts(b, "</svg>");
}
