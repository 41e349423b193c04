/* rowcache — parsed rows kept across snapshots, for the weekly page.
 *
 * Exists because the fold commits continuously and the answer cache
 * (cache.c) is keyed by snapshot: the first /weekly after every commit
 * re-parsed every billing line of every week (14,000 rows, ~320 ms of
 * jansson on the bench data) although a commit changes only a few. A row
 * of the read model is immutable once written, except that an equal
 * revision with a larger event_id replaces it; so an entry is looked up by
 * (topic, key, revision) and used only when its stored text is byte for
 * byte the text read now (memcmp), which makes a stale entry impossible
 * whatever the snapshot. Entries are shared, never changed (callers that
 * redact take a copy: web_rowcache_get's contract), and jansson's reference
 * counts are atomic, so threads share them. Bounded by web.rowcache_mb,
 * least recently used first. */
#include "web_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS 16384

struct row {
    struct row *next;          /* bucket chain */
    struct row *older, *newer; /* use order: the next to evict after this one */
    uint64_t hash;
    char *id; /* topic \0 key \0 revision (decimal) */
    size_t idlen;
    char *text;
    size_t len;
    json_t *rec;
};

struct web_rowcache {
    pthread_mutex_t mu;
    struct row *b[NBUCKETS];
    struct row *oldest, *newest;
    size_t bytes, max_bytes;
};

/* what an entry costs: its text twice (the copy, and jansson's objects
 * hold about as much again as the text) and the id */
static size_t cost(const struct row *r) { return 2 * r->len + r->idlen + sizeof *r; }

static uint64_t fnv(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

web_rowcache *web_rowcache_new(size_t max_bytes)
{
    web_rowcache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (pthread_mutex_init(&c->mu, NULL)) {
        free(c);
        return NULL;
    }
    c->max_bytes = max_bytes;
    return c;
}

static void row_free(struct row *r)
{
    json_decref(r->rec);
    free(r->id);
    free(r->text);
    free(r);
}

/* takes r out of the use order; mu held */
static void unlink_use(web_rowcache *c, struct row *r)
{
    if (r->older)
        r->older->newer = r->newer;
    else
        c->oldest = r->newer;
    if (r->newer)
        r->newer->older = r->older;
    else
        c->newest = r->older;
    r->older = r->newer = NULL;
}

/* unlinks r from its bucket and the use order; mu held */
static void unlink_row(web_rowcache *c, struct row *r)
{
    struct row **pp = &c->b[r->hash % NBUCKETS];
    while (*pp && *pp != r)
        pp = &(*pp)->next;
    if (*pp)
        *pp = r->next;
    unlink_use(c, r);
    c->bytes -= cost(r);
}

static void push_newest(web_rowcache *c, struct row *r)
{
    r->older = c->newest;
    r->newer = NULL;
    if (c->newest)
        c->newest->newer = r;
    else
        c->oldest = r;
    c->newest = r;
}

void web_rowcache_free(web_rowcache *c)
{
    if (!c)
        return;
    while (c->oldest) {
        struct row *r = c->oldest;
        unlink_row(c, r);
        row_free(r);
    }
    pthread_mutex_destroy(&c->mu);
    free(c);
}

json_t *web_rowcache_get(web_rowcache *c, const char *topic, const char *key, int64_t rev, const char *json,
                         size_t len)
{
    char id[700];
    size_t tl = strlen(topic), kl = strlen(key);
    if (!c || !c->max_bytes || tl + kl + 24 > sizeof id)
        return json_loadb(json, len, 0, NULL);
    memcpy(id, topic, tl + 1);
    memcpy(id + tl + 1, key, kl + 1);
    int n = snprintf(id + tl + kl + 2, sizeof id - tl - kl - 2, "%lld", (long long)rev);
    size_t idlen = tl + kl + 2 + (size_t)n;
    uint64_t h = fnv(id, idlen);
    struct row *r;

    if (pthread_mutex_lock(&c->mu))
        return json_loadb(json, len, 0, NULL);
    for (r = c->b[h % NBUCKETS]; r; r = r->next)
        if (r->hash == h && r->idlen == idlen && !memcmp(r->id, id, idlen))
            break;
    if (r && r->len == len && !memcmp(r->text, json, len)) { /* the very text: the very row */
        json_t *out = json_incref(r->rec);
        unlink_use(c, r); /* now the most recently used */
        push_newest(c, r);
        pthread_mutex_unlock(&c->mu);
        return out;
    }
    pthread_mutex_unlock(&c->mu);

    json_t *rec = json_loadb(json, len, 0, NULL);
    struct row *nr = rec ? calloc(1, sizeof *nr) : NULL;
    if (!nr || !(nr->id = malloc(idlen)) || !(nr->text = malloc(len ? len : 1))) {
        if (nr)
            free(nr->id);
        free(nr);
        return rec; /* not kept: still the answer */
    }
    memcpy(nr->id, id, idlen);
    memcpy(nr->text, json, len);
    nr->idlen = idlen;
    nr->len = len;
    nr->hash = h;
    nr->rec = json_incref(rec);
    if (cost(nr) > c->max_bytes / 8 || pthread_mutex_lock(&c->mu)) {
        row_free(nr);
        return rec;
    }
    for (r = c->b[h % NBUCKETS]; r; r = r->next) /* the old text of this revision (or a twin parsed at once) */
        if (r->hash == h && r->idlen == idlen && !memcmp(r->id, id, idlen))
            break;
    if (r) {
        unlink_row(c, r);
        row_free(r);
    }
    while (c->oldest && c->bytes + cost(nr) > c->max_bytes) {
        struct row *o = c->oldest;
        unlink_row(c, o);
        row_free(o);
    }
    nr->next = c->b[h % NBUCKETS];
    c->b[h % NBUCKETS] = nr;
    push_newest(c, nr);
    c->bytes += cost(nr);
    pthread_mutex_unlock(&c->mu);
    return rec;
}
