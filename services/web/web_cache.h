/* web_cache.h — the answer cache of `serve` (cache.c): finished answers kept
 * by (request key, LMDB snapshot id), shared with the listener without a
 * copy; and the parsed-row cache across snapshots (rowcache.c). */
#ifndef WEB_CACHE_H
#define WEB_CACHE_H

#include "ol_http_app.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct web_cache web_cache;

/* a cache of at most max_bytes of answers (0: caching off). Caller owns it
 * (web_cache_free, once no answer of it is being sent). NULL when out of memory. */
web_cache *web_cache_new(size_t max_bytes);
void web_cache_free(web_cache *c);
/* 1 and r filled (status, content type, the stored headers appended, the
 * shared body with r->release set; gzip with Content-Encoding when gz and
 * the answer has a compressed form) when key was stored at snapshot txnid;
 * else 0 and r unchanged */
int web_cache_get(web_cache *c, const char *key, uint64_t txnid, int gz, ol_http_resp *r);
/* takes r's answer (its body, and its headers from first_header on) into an
 * entry for key at txnid, compressing it when 1 KiB or more, and points r
 * at the entry's body for this client as web_cache_get would (the answer
 * and the cache share it). Works with c NULL or full (the entry is then the
 * answer's alone). 0, or -1 out of memory (r unchanged). */
int web_cache_put(web_cache *c, const char *key, uint64_t txnid, int gz, ol_http_resp *r, int first_header);
/* gzip.c: 1 when an Accept-Encoding value accepts gzip (q > 0), else 0 */
int web_accepts_gzip(const char *accept_encoding);
/* gzip of in[0..len): a new buffer in *out (caller frees). 0 or -1. */
int web_gzip(const char *in, size_t len, char **out, size_t *outlen);

void web_cache_stats(web_cache *c, unsigned long long *hits, unsigned long long *misses);

/* rowcache.c: parsed rows of the read model kept across snapshots, at most
 * max_bytes (0: off), least recently used first. NULL out of memory. */
typedef struct web_rowcache web_rowcache;
web_rowcache *web_rowcache_new(size_t max_bytes);
void web_rowcache_free(web_rowcache *c);
/* the row (topic, key, revision) whose stored text is json[0..len), parsed:
 * a new reference that may be shared with other threads, so the caller
 * never changes it (json_deep_copy first to redact). c may be NULL (then
 * simply parsed). NULL when malformed or out of memory. */
json_t *web_rowcache_get(web_rowcache *c, const char *topic, const char *key, int64_t rev, const char *json,
                         size_t len);

#endif
