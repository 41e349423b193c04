/* ol_url — a URL as a message may show it (ol_http_url_shown, declared in
 * ol_http.h). Its own file, free of libmicrohttpd and sockets, because the
 * registry client, the metrics client and the fuzz targets (which link the
 * registry without the HTTP server) all print URLs that may carry user info. */
#include "ol_http.h"

#include <stdio.h>
#include <string.h>

void ol_http_url_shown(const char *url, char *out, size_t outlen)
{
    const char *scheme_end = strstr(url, "://"), *at = scheme_end ? strrchr(scheme_end + 3, '@') : NULL;
    if (!outlen)
        return;
    if (at)
        snprintf(out, outlen, "%.*s%s", (int)(scheme_end + 3 - url), url, at + 1);
    else
        snprintf(out, outlen, "%s", url);
}
