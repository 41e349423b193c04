/* buf — the growing text buffer the API and the pages write into, and the
 * escaping of what goes in (common/ol_escape.c does the escaping). */
#include "ol_escape.h"
#include "web.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void wb_put(web_buf *b, const char *s, size_t n)
{
    if (b->oom || !n)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

void wb_puts(web_buf *b, const char *s) { wb_put(b, s, strlen(s)); }

void wb_printf(web_buf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
        return;
    }
    if ((size_t)n < sizeof small) {
        wb_put(b, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    wb_put(b, big, (size_t)n);
    free(big);
}

static void esc(web_buf *b, ol_esc_fmt f, const char *s)
{
    char *e = ol_esc(f, s ? s : "");
    if (!e) {
        b->oom = 1;
        return;
    }
    wb_puts(b, e);
    free(e);
}

void wb_html(web_buf *b, const char *s) { esc(b, OL_ESC_HTML, s); }
void wb_csv(web_buf *b, const char *s) { esc(b, OL_ESC_CSV, s); }

int wb_reply(web_buf *b, ol_http_resp *r, int status, const char *content_type)
{
    if (b->oom) {
        free(b->p);
        b->p = NULL;
        return -1;
    }
    r->status = status;
    r->content_type = content_type;
    r->body = b->p;
    r->len = b->n;
    b->p = NULL;
    return 0;
}
