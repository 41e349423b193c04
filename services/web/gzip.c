/* gzip — Content-Encoding: gzip for large answers. Exists because one week
 * of 5,000 people is 2.8 MB of JSON: sent as is, the answer is bound by
 * copying bytes through the socket (perf: the kernel's copy is most of the
 * time of a cached answer), while gzip makes it ~14 times smaller. The
 * compressed answer is what the cache keeps (cache.c), so it is made once
 * per snapshot, not per request. */
#include "web_cache.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

int web_accepts_gzip(const char *accept_encoding)
{
    const char *p = accept_encoding;
    while (p && *p) { /* tokens: "gzip", "gzip;q=0.8", "*"; q=0 refuses */
        p += strspn(p, " \t,");
        size_t n = strcspn(p, ",;");
        int gz = (n == 4 && !strncasecmp(p, "gzip", 4)) || (n == 6 && !strncasecmp(p, "x-gzip", 6));
        p += n;
        const char *q = NULL;
        if (*p == ';')
            q = strstr(p, "q=");
        size_t end = strcspn(p, ",");
        if (q && q > p + end)
            q = NULL;
        if (gz)
            return !(q && strtod(q + 2, NULL) <= 0.0);
        p += end;
    }
    return 0;
}

int web_gzip(const char *in, size_t len, char **out, size_t *outlen)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    *out = NULL;
    if (len > 0xFFFFFFFFu)
        return -1;
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16 /* gzip wrapper */, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    uLong cap = deflateBound(&z, (uLong)len);
    char *buf = malloc(cap);
    if (!buf) {
        deflateEnd(&z);
        return -1;
    }
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)buf;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    size_t n = z.total_out;
    if (deflateEnd(&z) != Z_OK || rc != Z_STREAM_END) {
        free(buf);
        return -1;
    }
    char *fit = realloc(buf, n ? n : 1); /* deflateBound is about the input's size: the cache counts what is kept */
    *out = fit ? fit : buf;
    *outlen = n;
    return 0;
}
