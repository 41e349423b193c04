/* web_pages.h — the pages' entry points and the helpers they share
 * (pages.c, pages_more.c). */
#ifndef WEB_PAGES_H
#define WEB_PAGES_H

#include "web_html.h"

/* rows of an API endpoint with the request's (and the page's) arguments:
 * always an array (empty when the endpoint answered 4xx); caller decrefs */
json_t *web_rows(web_req *q, const char *endpoint);
/* the n weeks ending with week, oldest first */
void web_weeks_back(const char *week, int n, char out[][9]);
void web_cell_minutes(web_buf *b, long long m);
void web_cell_money(web_buf *b, long long minor, const char *cur);
void web_cell_text(web_buf *b, const char *s);
void web_person_name(web_req *q, const char *id, char *out, size_t n);

int web_page_person(web_req *q, ol_http_resp *r);
int web_page_engagement(web_req *q, ol_http_resp *r);
int web_page_billing(web_req *q, ol_http_resp *r);
int web_page_line(web_req *q, ol_http_resp *r);
int web_page_contractors(web_req *q, ol_http_resp *r);
int web_page_forecast(web_req *q, ol_http_resp *r);
int web_page_demand(web_req *q, ol_http_resp *r);
int web_page_delivery(web_req *q, ol_http_resp *r);
int web_page_cover(web_req *q, ol_http_resp *r);
/* the weekly executive report (common/report), as of the request */
int web_page_weekly(web_req *q, ol_http_resp *r);

#endif
