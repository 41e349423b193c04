/* cache — the answer cache of `serve`. Exists because an answer is a pure
 * function of (route, query, role, user shown on pages, Accept, the read
 * model's snapshot): rendering one week of 5,000 people parses and
 * re-serialises 5,000 stored rows, while the same request over the same
 * snapshot can be answered with the bytes already made. The snapshot is the
 * LMDB transaction id the request's read transaction sees (mdb_txn_id):
 * every commit of the fold (`opsledger-web run`) raises it, so an entry is
 * only ever served for exactly the data it was rendered from, and `as_of`
 * answers stay exact (the as_of argument is in the key, and the body's
 * data_time and banner come from the same snapshot).
 *
 * Entries are reference-counted: a hit hands the listener the stored body
 * (no copy) and libmicrohttpd releases it when sent. Each entry keeps the
 * answer as rendered and gzip-compressed (gzip.c), so a browser's request
 * and curl's share one rendering. Entries of an older
 * snapshot are dropped as soon as a newer one is stored; the total body
 * size is bounded (web.cache_mb), the oldest-inserted entries go first. */
#include "web_cache.h"

#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS 1024

struct entry {
    atomic_int refs; /* the cache's one + one per answer being sent */
    struct entry *next;  /* bucket chain */
    struct entry *older; /* insertion order: the next to evict after this one */
    struct entry *newer;
    uint64_t hash, txnid;
    char *key;
    int status;
    const char *content_type; /* static string */
    int nheaders;
    struct {
        const char *name; /* static string */
        char *value;
    } headers[OL_HTTP_MAX_HEADERS];
    char *body; /* the answer as rendered */
    size_t len;
    char *gz;   /* and gzip-compressed (answers of 1 KiB and more), or NULL */
    size_t gzlen;
    size_t cost; /* the heap it holds (entry_cost), what web.cache_mb bounds */
};

struct web_cache {
    pthread_mutex_t mu;
    struct entry *b[NBUCKETS];
    struct entry *oldest, *newest;
    size_t bytes, max_bytes;
    uint64_t txnid; /* the newest snapshot stored */
    atomic_ullong hits, misses;
};

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void entry_release(void *cls)
{
    struct entry *e = cls;
    if (atomic_fetch_sub(&e->refs, 1) != 1)
        return;
    for (int i = 0; i < e->nheaders; i++)
        free(e->headers[i].value);
    free(e->body);
    free(e->gz);
    free(e->key);
    free(e);
}

/* unlinks e from its bucket and the insertion list; mu held */
static void unlink_entry(web_cache *c, struct entry *e)
{
    struct entry **pp = &c->b[e->hash % NBUCKETS];
    while (*pp && *pp != e)
        pp = &(*pp)->next;
    if (*pp)
        *pp = e->next;
    if (e->older)
        e->older->newer = e->newer;
    else
        c->oldest = e->newer;
    if (e->newer)
        e->newer->older = e->older;
    else
        c->newest = e->older;
    c->bytes -= e->cost;
    entry_release(e);
}

web_cache *web_cache_new(size_t max_bytes)
{
    web_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (pthread_mutex_init(&c->mu, NULL)) {
        free(c);
        return NULL;
    }
    c->max_bytes = max_bytes;
    return c;
}

void web_cache_free(web_cache *c)
{
    if (!c)
        return;
    while (c->oldest)
        unlink_entry(c, c->oldest);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* points r at e's body for this client (gzip when it accepts it); 0, or -1
 * when r has no room for the headers */
static int answer(struct entry *e, int gz, ol_http_resp *r)
{
    gz = gz && e->gz;
    for (int i = 0; i < e->nheaders; i++)
        if (ol_http_resp_header(r, e->headers[i].name, e->headers[i].value))
            return -1;
    if (gz && ol_http_resp_header(r, "Content-Encoding", "gzip"))
        return -1;
    r->status = e->status;
    r->content_type = e->content_type;
    r->body = gz ? e->gz : e->body;
    r->len = gz ? e->gzlen : e->len;
    r->release = entry_release;
    r->release_cls = e;
    return 0;
}

int web_cache_get(web_cache *c, const char *key, uint64_t txnid, int gz, ol_http_resp *r)
{
    struct entry *e;
    uint64_t h;
    if (!c || !c->max_bytes)
        return 0;
    h = fnv(key);
    if (pthread_mutex_lock(&c->mu))
        return 0;
    for (e = c->b[h % NBUCKETS]; e; e = e->next)
        if (e->hash == h && e->txnid == txnid && !strcmp(e->key, key))
            break;
    if (e)
        atomic_fetch_add(&e->refs, 1);
    pthread_mutex_unlock(&c->mu);
    if (!e) {
        atomic_fetch_add(&c->misses, 1);
        return 0;
    }
    int nh = r->nheaders;
    if (answer(e, gz, r)) {
        r->nheaders = nh;
        entry_release(e);
        return 0; /* no room for its headers: render it instead */
    }
    atomic_fetch_add(&c->hits, 1);
    return 1;
}

/* The heap an entry holds, as malloc gave it: the struct, its key and
 * header copies and the two bodies. Counting only the bodies' lengths let a
 * 2 MiB cache hold 97 MB: a 74-byte answer sat in a 4 KiB render buffer,
 * beside a 600-byte struct (found by review). */
static size_t entry_cost(const struct entry *e)
{
    size_t n = malloc_usable_size((void *)e) + malloc_usable_size(e->key) + malloc_usable_size(e->body) +
               malloc_usable_size(e->gz);
    for (int i = 0; i < e->nheaders; i++)
        n += malloc_usable_size(e->headers[i].value);
    return n;
}

int web_cache_put(web_cache *c, const char *key, uint64_t txnid, int gz, ol_http_resp *r, int first_header)
{
    struct entry *e;
    if (r->release || !r->body)
        return 0;
    if (!(e = calloc(1, sizeof *e)) || !(e->key = strdup(key))) {
        free(e);
        return -1;
    }
    if (r->len >= 1024 && web_gzip(r->body, r->len, &e->gz, &e->gzlen)) {
        free(e->key);
        free(e);
        return -1;
    }
    for (int i = first_header; i < r->nheaders; i++) {
        e->headers[e->nheaders].name = r->headers[i].name;
        if (!(e->headers[e->nheaders++].value = strdup(r->headers[i].value))) {
            atomic_init(&e->refs, 1);
            entry_release(e);
            return -1;
        }
    }
    atomic_init(&e->refs, 2); /* the cache's, and this answer's */
    e->hash = fnv(key);
    e->txnid = txnid;
    e->status = r->status;
    e->content_type = r->content_type;
    char *fit = realloc(r->body, r->len ? r->len : 1); /* the render buffer's spare room goes back */
    if (fit)
        r->body = fit;
    e->body = r->body; /* the entry takes the body; the answer shares it */
    e->len = r->len;
    r->nheaders = first_header;
    if (answer(e, gz, r)) { /* cannot happen: the same headers fitted before */
        r->body = NULL;
        r->release = NULL;
        atomic_init(&e->refs, 1);
        entry_release(e);
        return -1;
    }
    size_t size = e->cost = entry_cost(e);
    if (!c || !c->max_bytes || size > c->max_bytes / 4 || pthread_mutex_lock(&c->mu)) {
        entry_release(e); /* the answer keeps its reference */
        return 0;
    }
    if (txnid > c->txnid) { /* a newer snapshot: nothing older will be asked for again */
        c->txnid = txnid;
        struct entry *o = c->oldest, *next;
        for (; o; o = next) {
            next = o->newer;
            if (o->txnid < txnid)
                unlink_entry(c, o);
        }
    }
    struct entry *dup;
    for (dup = c->b[e->hash % NBUCKETS]; dup; dup = dup->next)
        if (dup->hash == e->hash && dup->txnid == txnid && !strcmp(dup->key, key))
            break;
    if (txnid < c->txnid || dup) { /* an older snapshot, or rendered twice at once: not kept */
        pthread_mutex_unlock(&c->mu);
        entry_release(e);
        return 0;
    }
    while (c->oldest && c->bytes + size > c->max_bytes)
        unlink_entry(c, c->oldest);
    e->next = c->b[e->hash % NBUCKETS];
    c->b[e->hash % NBUCKETS] = e;
    e->older = c->newest;
    if (c->newest)
        c->newest->newer = e;
    else
        c->oldest = e;
    c->newest = e;
    c->bytes += size;
    pthread_mutex_unlock(&c->mu);
    return 0;
}

void web_cache_stats(web_cache *c, unsigned long long *hits, unsigned long long *misses)
{
    *hits = c ? atomic_load(&c->hits) : 0;
    *misses = c ? atomic_load(&c->misses) : 0;
}
