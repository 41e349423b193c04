/* web_html.h — what the pages share (html.c): the page frame (navigation,
 * "as of" control, "data as of" banner), units people read, the inline
 * style sheet and its CSP hash, and a small SVG line chart. */
#ifndef WEB_HTML_H
#define WEB_HTML_H

#include "web.h"

int web_html_init(void);            /* hashes the style sheet; 0 or -1 */
const char *web_style_hash(void);   /* "sha256-..." for the CSP */

/* the frame: <head>, navigation, as-of form, banner; then the caller's
 * body; then web_page_end. title is plain text (escaped here). */
void web_page_begin(web_buf *b, web_req *q, const char *title);
int web_page_end(web_buf *b, ol_http_resp *r);
/* the navigation, as-of control and banner alone (for a page rendered by
 * other code: the weekly report) */
void web_page_nav(web_buf *b, web_req *q);
const char *web_style_sheet(void);
int web_login_page(ol_http_resp *r, int status, const char *msg);
int web_error_page(web_req *q, ol_http_resp *r, int status, const char *msg);

/* units: "37 h 30 min", "GBP 12,345.67", "84.4 %" ("-" for null) */
void web_fmt_minutes(char *out, size_t n, long long minutes);
void web_fmt_money(char *out, size_t n, long long minor, const char *currency);
void web_fmt_bp(char *out, size_t n, json_t *bp);
/* the value of field f of rec as text / integer (0 when absent) */
const char *web_s(json_t *rec, const char *f);
long long web_i(json_t *rec, const char *f);
/* a link with one escaped query value: href="PATH?NAME=VALUE[&as_of=...]" */
void web_link(web_buf *b, web_req *q, const char *path, const char *name, const char *value, const char *text);

/* a line chart of up to 64 points (bp values; has[i] 0 = no value) with a
 * dashed target line; labels are week names */
void web_svg_line(web_buf *b, const char *title, const char *const *labels, const long long *bp, const int *has,
                  int n, long long target_bp);

/* the latest week with an ORG utilisation row as of the request (w: 9 bytes);
 * 0 found, 1 none, -1 error */
int web_current_week(web_req *q, char w[9]);

#endif
