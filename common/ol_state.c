/* ol_state — the version log and its in-memory indexes (see ol_state.h).
 * The indexes' snapshot is in ol_state_snapshot.c, the read-only latest
 * view for processes without the indexes in ol_state_latest.c.
 *
 * What a record costs here (issue 15): one hash of its entity key and one
 * of its event_id, one probe of each table (a cache miss each on a large
 * table: both slots are prefetched together by ol_state_prefetch), the
 * append of its log row with MDB_APPEND, and no second probe for the
 * append (the look-up's probe is remembered). The tables live in memory
 * mapped with huge pages advised, so a probe costs one cache miss and
 * rarely a TLB miss. */
#include "ol_state_int.h"
#include "ol_log.h"
#include "ol_store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static unsigned day_of(int64_t occurred_at)
{
    if (occurred_at == INT64_MIN)
        return DAY_NEVER; /* a derived input: its ids never leave the window */
    if (occurred_at < 0)
        return 0;
    int64_t d = occurred_at / DAY_MS;
    return d >= DAY_NEVER ? DAY_NEVER - 1 : (unsigned)d;
}

/* ------------------------------------------------------------ hashing */
static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static uint64_t load64(const uint8_t *p, size_t n) /* n <= 8 bytes, little-endian */
{
    uint64_t x = 0;
    memcpy(&x, p, n);
    return x;
}

/* 8 bytes at a time, each word mixed in with a multiply (ids are short:
 * 16-40 bytes); seeded; finished by mix() */
static uint64_t hash_bytes(uint64_t h, const void *a, size_t n)
{
    const uint8_t *p = a;
    while (n >= 8) {
        h = (h ^ load64(p, 8)) * 0x9fb21c651e98df25ULL;
        h ^= h >> 29;
        p += 8, n -= 8;
    }
    h = (h ^ load64(p, n) ^ ((uint64_t)n << 56)) * 0x9fb21c651e98df25ULL;
    return h ^ (h >> 32);
}

/* ("ab","c") != ("a","bc") because a's length is mixed in between */
uint32_t ol_state_hash(uint64_t seed, const void *a, size_t an, const void *b, size_t bn)
{
    uint64_t h = hash_bytes(seed ^ 0x243f6a8885a308d3ULL, a, an);
    if (b)
        h = hash_bytes(h ^ (an * 0x9e3779b97f4a7c15ULL), b, bn);
    uint32_t r = (uint32_t)(mix(h) >> 32);
    return r ? r : 1;
}

static uint64_t rotl64(uint64_t x, int r) { return x << r | x >> (64 - r); }

#define LANE_STEP(h, p)                                                                                      \
    do {                                                                                                     \
        (h) = ((h) ^ load64((p), 8)) * 0x9fb21c651e98df25ULL;                                                \
        (h) ^= (h) >> 29;                                                                                    \
    } while (0)

/* A log row's bytes (~220 for a 120-byte version) for the chain: 8-byte
 * word i goes to lane i mod 4, so four multiplies are in flight at once
 * instead of one after another as in hash_bytes (whose single lane was
 * ~6 % of the state floor's CPU and ~20 % of a rebuild's: tests/bench/
 * README.md); the lanes are seeded apart and folded rotated, so a word
 * moved to another position changes the result. */
static uint64_t hash_row(uint64_t seed, const uint8_t *p, size_t n)
{
    uint64_t l[4] = {seed, seed ^ 0x13198a2e03707344ULL, seed ^ 0xa4093822299f31d0ULL,
                     seed ^ 0x082efa98ec4e6c89ULL};
    size_t i = 0;
    for (; n >= 32; p += 32, n -= 32) {
        LANE_STEP(l[0], p);
        LANE_STEP(l[1], p + 8);
        LANE_STEP(l[2], p + 16);
        LANE_STEP(l[3], p + 24);
    }
    for (; n >= 8; p += 8, n -= 8, i++)
        LANE_STEP(l[i], p);
    l[i] = (l[i] ^ load64(p, n) ^ ((uint64_t)n << 56)) * 0x9fb21c651e98df25ULL;
    return l[0] ^ rotl64(l[1], 16) ^ rotl64(l[2], 32) ^ rotl64(l[3], 48);
}

/* The row is hashed apart from the chain before it, so that the hashes of
 * consecutive rows (a rebuild reads them back to back) overlap too; only
 * the final mix is serial. */
uint64_t ol_state_chain_step(uint64_t chain, const void *v, size_t n)
{
    return mix(chain ^ (hash_row(0x452821e638d01377ULL, v, n) + n));
}

/* ol_state_hash through the cache c; a new key forgets c's probe */
static uint32_t hash_cached(const ol_state *s, struct hcache *c, const char *a, size_t an, const char *b, size_t bn)
{
    if (c->h && c->n1 == an && c->n2 == bn && !memcmp(c->key, a, an) && (!bn || !memcmp(c->key + an, b, bn)))
        return c->h;
    c->h = ol_state_hash(s->seed, a, an, b, b ? bn : 0);
    c->gen = 0;
    if (an + bn <= sizeof c->key) {
        memcpy(c->key, a, an);
        if (bn)
            memcpy(c->key + an, b, bn);
        c->n1 = an, c->n2 = bn;
    } else
        c->n1 = SIZE_MAX; /* too long to remember */
    return c->h;
}

/* ------------------------------------------------------------ tables */
/* Under AddressSanitizer the tables come from calloc, so that a probe past
 * a table's end is reported (ASan does not guard mmap'd memory). */
#if defined(__SANITIZE_ADDRESS__)
#define TABLES_FROM_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TABLES_FROM_MALLOC 1
#endif
#endif

struct slot *ol_state_table_alloc(size_t cap)
{
#ifdef TABLES_FROM_MALLOC
    return calloc(cap, sizeof(struct slot));
#else
    size_t bytes = cap * sizeof(struct slot);
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    if (bytes >= ((size_t)2 << 20))
        (void)madvise(p, bytes, MADV_HUGEPAGE); /* advice only: without it, 4 KiB pages */
    return p;
#endif
}

void ol_state_table_free(struct table *t)
{
#ifdef TABLES_FROM_MALLOC
    free(t->s);
#else
    if (t->s)
        munmap(t->s, t->cap * sizeof(struct slot));
#endif
    memset(t, 0, sizeof *t);
}

/* puts the slots of src into dst (empty, of cap slots) */
static void rehash(struct slot *dst, size_t cap, const struct slot *src, size_t srccap, int64_t drop_before_day)
{
    for (size_t i = 0; i < srccap; i++) {
        const struct slot *o = &src[i];
        if (!o->h || (o->day != DAY_NEVER && (int64_t)o->day < drop_before_day))
            continue;
        size_t j = o->h & (cap - 1);
        while (dst[j].h)
            j = (j + 1) & (cap - 1);
        dst[j] = *o;
    }
}

static int table_grow(ol_state *s, struct table *t)
{
    size_t cap = t->cap ? t->cap * 2 : 1024;
    if (cap > ((size_t)1 << 32))
        return ENOMEM; /* 32 bits of hash place a slot */
    struct slot *n = ol_state_table_alloc(cap);
    if (!n)
        return ENOMEM;
    rehash(n, cap, t->s, t->cap, INT64_MIN);
    size_t count = t->n;
    ol_state_table_free(t);
    t->s = n, t->cap = cap, t->n = count;
    t->gen = ++s->gens;
    return 0;
}

int ol_state_row_at(const ol_state *s, MDB_txn *txn, uint64_t seq, ol_version *out)
{
    uint8_t kb[8];
    ol_put_be64(kb, seq);
    MDB_val k = {8, kb}, v;
    int rc = mdb_get(txn, s->log, &k, &v);
    if (rc)
        return rc == MDB_NOTFOUND ? MDB_CORRUPTED : rc; /* an index names a row the log lacks */
    return ol_state_parse(&k, &v, out);
}

int ol_state_parse(const MDB_val *k, const MDB_val *v, ol_version *out)
{
    const uint8_t *p = v->mv_data, *end = p + v->mv_size;
    if (k->mv_size != 8 || v->mv_size < 1 + 16 + 1)
        return MDB_CORRUPTED;
    out->seq = ol_be64(k->mv_data);
    out->kind = (char)p[0];
    out->revision = (int64_t)ol_be64(p + 1);
    out->occurred_at = (int64_t)ol_be64(p + 9);
    p += 17;
    out->topic_len = p[0];
    out->topic = (const char *)p + 1;
    p += 1 + out->topic_len;
    if (p + 2 > end)
        return MDB_CORRUPTED;
    out->entity_len = ((size_t)p[0] << 8) | p[1];
    out->entity_id = (const char *)p + 2;
    p += 2 + out->entity_len;
    if (p + 2 > end)
        return MDB_CORRUPTED;
    out->event_len = ((size_t)p[0] << 8) | p[1];
    out->event_id = (const char *)p + 2;
    p += 2 + out->event_len;
    if (p > end || (out->kind != 'V' && out->kind != 'S'))
        return MDB_CORRUPTED;
    out->frame = p;
    out->frame_len = (size_t)(end - p);
    return 0;
}

static int same(const char *a, size_t an, const char *b, size_t bn)
{
    return an == bn && memcmp(a, b, an) == 0;
}

/* what a slot's row must hold to be the key looked for */
struct want {
    const char *topic; /* NULL: an event_id look-up */
    size_t tl;
    const char *id; /* the entity id, or the event_id */
    size_t il;
};

static int row_is(const ol_version *r, const struct want *w)
{
    if (!w->topic)
        return same(r->event_id, r->event_len, w->id, w->il);
    return same(r->topic, r->topic_len, w->topic, w->tl) && same(r->entity_id, r->entity_len, w->id, w->il);
}

/* The slot of the key w (hash h) in t: its index with *found 1 and its row
 * in *out, or the empty slot where it would go (*found 0); -1 on an LMDB
 * error (in *rc). Every hash match is checked against the row it names. */
static long table_find(const ol_state *s, MDB_txn *txn, const struct table *t, uint32_t h, const struct want *w,
                       ol_version *out, int *found, int *rc)
{
    size_t mask = t->cap - 1;
    *found = 0;
    for (size_t j = h & mask;; j = (j + 1) & mask) {
        const struct slot *sl = &t->s[j];
        if (!sl->h)
            return (long)j;
        if (sl->h != h)
            continue;
        if ((*rc = ol_state_row_at(s, txn, slot_seq(sl), out)))
            return -1;
        if (row_is(out, w)) {
            *found = 1;
            return (long)j;
        }
    }
}

/* table_find, remembered in c (whose key is w's) for the append that follows */
static long find_remembered(const ol_state *s, MDB_txn *txn, const struct table *t, struct hcache *c,
                            const struct want *w, ol_version *out, int *found, int *rc)
{
    long j = table_find(s, txn, t, c->h, w, out, found, rc);
    if (j >= 0 && c->n1 != SIZE_MAX) {
        c->gen = t->gen, c->j = j, c->found = *found;
        c->occurred_at = *found ? out->occurred_at : INT64_MIN;
    }
    return j;
}

/* The seen index is full: rows whose day is wholly before the dedupe
 * window are dropped (they can no longer make a duplicate: ol_state_seen
 * checks the row's occurred_at anyway, so this only frees memory), and the
 * table grows only when that frees too little. Memory stays proportional
 * to the event_ids of the window, not of the history. */
static int seen_make_room(ol_state *s)
{
    struct table *t = &s->seen;
    int64_t since_day = s->since_ms == INT64_MIN ? -1 : s->since_ms / DAY_MS - 1;
    size_t live = 0;
    for (size_t i = 0; i < t->cap; i++)
        live += t->s[i].h && (t->s[i].day == DAY_NEVER || (int64_t)t->s[i].day >= since_day);
    if (live * 2 > t->cap * 7 / 10 || since_day < 0)
        return table_grow(s, t);
    struct slot *n = ol_state_table_alloc(t->cap);
    if (!n)
        return ENOMEM;
    rehash(n, t->cap, t->s, t->cap, since_day);
    size_t cap = t->cap;
    ol_state_table_free(t);
    t->s = n, t->cap = cap, t->n = live;
    t->gen = ++s->gens;
    return 0;
}

/* indexes row v (already in the log); a probe remembered for its key is
 * used when the table did not change since */
static int index_row(ol_state *s, MDB_txn *txn, const ol_version *v)
{
    ol_version tmp;
    int found, rc = 0;
    long j;
    if (v->kind == 'V') {
        struct table *t = &s->ent;
        struct hcache *c = &s->c_ent;
        if ((t->n + 1) * 10 > t->cap * 7 && (rc = table_grow(s, t)))
            return rc;
        hash_cached(s, c, v->topic, v->topic_len, v->entity_id, v->entity_len);
        if (c->gen && c->gen == t->gen) /* the look-up's probe: the table has not changed since */
            j = c->j, found = c->found;
        else {
            const struct want w = {v->topic, v->topic_len, v->entity_id, v->entity_len};
            if ((j = table_find(s, txn, t, c->h, &w, &tmp, &found, &rc)) < 0)
                return rc;
        }
        slot_set(&t->s[j], c->h, v->seq, day_of(v->occurred_at));
        t->n += !found;
        t->gen = ++s->gens;
        if (c->n1 != SIZE_MAX)
            c->gen = t->gen, c->j = j, c->found = 1;
    }
    if (s->since_ms != INT64_MIN && v->occurred_at != INT64_MIN && day_of(v->occurred_at) + 1 < s->since_ms / DAY_MS)
        return 0; /* wholly before the dedupe window: never a duplicate again (an index build of an old log) */
    struct table *t = &s->seen;
    struct hcache *c = &s->c_seen;
    if ((t->n + 1) * 10 > t->cap * 7 && (rc = seen_make_room(s)))
        return rc;
    hash_cached(s, c, v->event_id, v->event_len, NULL, 0);
    int64_t found_at = INT64_MIN;
    if (c->gen && c->gen == t->gen) /* the seen look-up's probe, still valid */
        j = c->j, found = c->found, found_at = c->occurred_at;
    else {
        const struct want w = {NULL, 0, v->event_id, v->event_len};
        if ((j = table_find(s, txn, t, c->h, &w, &tmp, &found, &rc)) < 0)
            return rc;
        found_at = found ? tmp.occurred_at : INT64_MIN;
    }
    if (found && found_at > v->occurred_at)
        return 0; /* keep the row with the later data time: it stays in the window longer */
    slot_set(&t->s[j], c->h, v->seq, day_of(v->occurred_at));
    t->n += !found;
    t->gen = ++s->gens;
    if (c->n1 != SIZE_MAX)
        c->gen = t->gen, c->j = j, c->found = 1, c->occurred_at = v->occurred_at;
    return 0;
}

/* ------------------------------------------------------------ API */
ol_state *ol_state_new(MDB_dbi log, int64_t window_ms)
{
    ol_state *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->log = log;
    s->window_ms = window_ms;
    s->since_ms = INT64_MIN;
    s->snap_seq = 1;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* per-process seed: an upstream cannot choose ids that all collide */
    s->seed = mix((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)(uintptr_t)s);
    return s;
}

void ol_state_free(ol_state *s)
{
    if (!s)
        return;
    ol_state_table_free(&s->ent);
    ol_state_table_free(&s->seen);
    free(s->snap_path);
    free(s);
}

void ol_state_use_chain(ol_state *s, MDB_dbi meta)
{
    s->meta = meta;
    s->has_meta = 1;
}

int ol_state_put_chain(ol_state *s, MDB_txn *txn)
{
    if (!s->has_meta || !s->ready)
        return 0; /* not ready: nothing was appended since the last commit */
    return ol_meta_put_i64(txn, s->meta, OL_STATE_CHAIN_KEY, (int64_t)s->chain);
}

#define OL_STATE_CHAIN_KEY_V1 "log_chain" /* hash_bytes' single lane, until 2026-12-02 */

int ol_state_record_chain(ol_state *s, MDB_txn *txn)
{
    MDB_val k = {sizeof OL_STATE_CHAIN_KEY_V1 - 1, (void *)OL_STATE_CHAIN_KEY_V1};
    int rc = ol_state_put_chain(s, txn);
    if (rc == 0 && s->has_meta && (rc = mdb_del(txn, s->meta, &k, NULL)) == MDB_NOTFOUND)
        rc = 0;
    return rc;
}

int ol_state_is_chain_key(const void *key, size_t len)
{
    return (len == sizeof OL_STATE_CHAIN_KEY - 1 && !memcmp(key, OL_STATE_CHAIN_KEY, len)) ||
           (len == sizeof OL_STATE_CHAIN_KEY_V1 - 1 && !memcmp(key, OL_STATE_CHAIN_KEY_V1, len));
}

int ol_state_chain_check(ol_state *s, MDB_txn *txn, int *recorded)
{
    MDB_val k = {sizeof OL_STATE_CHAIN_KEY - 1, (void *)OL_STATE_CHAIN_KEY}, d;
    *recorded = 0;
    if (!s->has_meta || !s->ready)
        return 0;
    int rc = mdb_get(txn, s->meta, &k, &d);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    *recorded = 1;
    return d.mv_size == 8 && ol_be64(d.mv_data) == s->chain ? 0 : MDB_CORRUPTED;
}

int ol_state_use_snapshot(ol_state *s, const char *path)
{
    char *p = path ? strdup(path) : NULL;
    if (path && !p)
        return ENOMEM;
    free(s->snap_path);
    s->snap_path = p;
    return 0;
}

void ol_state_invalidate(ol_state *s, int64_t since_ms)
{
    s->ready = 0;
    s->since_ms = since_ms; /* the failed batch may have moved it on: its retry asks from the committed one */
}

void ol_state_set_window_start(ol_state *s, int64_t since_ms)
{
    if (since_ms > s->since_ms)
        s->since_ms = since_ms;
}

/* Indexes the log rows from sequence first to the end (rows are parsed
 * AHEAD at a time and their slots prefetched before they are indexed, so
 * that the cache misses of the probes overlap); next_seq follows. 0 or an
 * LMDB error. */
int ol_state_index_from(ol_state *s, MDB_txn *txn, uint64_t first)
{
    MDB_cursor *c;
    MDB_val k, v;
    uint8_t kb[8];
    int rc;
    if ((rc = mdb_cursor_open(txn, s->log, &c)))
        return rc;
    enum { AHEAD = 16 };
    ol_version rows[AHEAD];
    MDB_val vals[AHEAD];
    ol_put_be64(kb, first);
    k.mv_size = 8, k.mv_data = kb;
    int more = (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE)) == 0;
    while (more) {
        size_t n = 0;
        while (more && n < AHEAD) {
            if ((rc = ol_state_parse(&k, &v, &rows[n])))
                goto scanned;
            vals[n] = v;
            const ol_version *r = &rows[n++];
            if (r->kind == 'V')
                __builtin_prefetch(&s->ent.s[ol_state_hash(s->seed, r->topic, r->topic_len, r->entity_id,
                                                            r->entity_len) & (s->ent.cap - 1)]);
            __builtin_prefetch(
                &s->seen.s[ol_state_hash(s->seed, r->event_id, r->event_len, NULL, 0) & (s->seen.cap - 1)]);
            more = (rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) == 0;
        }
        int got = rc; /* 0, MDB_NOTFOUND at the end, or an error */
        for (size_t i = 0; i < n; i++) {
            if ((rc = index_row(s, txn, &rows[i])))
                goto scanned;
            s->next_seq = rows[i].seq + 1;
            s->chain = ol_state_chain_step(s->chain, vals[i].mv_data, vals[i].mv_size);
        }
        rc = got;
    }
scanned:
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int ol_state_ready(ol_state *s, MDB_txn *txn)
{
    struct timespec t0, t1;
    int rc;
    if (s->ready)
        return 0;
    if (s->snap_path) { /* after an aborted batch: the last snapshot and the rows committed after it */
        char why[900];
        if (ol_state_load_pair(s, txn, s->snap_path, why, sizeof why)) {
            ol_info("version log indexes rebuilt from the snapshot|rows_after_snapshot=%llu build_ms=%.1f",
                    (unsigned long long)s->tail_rows, (double)s->build_us / 1000);
            return 0;
        }
        if (strcmp(why, "no snapshot"))
            ol_info("index snapshot not used; reading the version log|reason=\"%s\"", why);
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ol_state_table_free(&s->ent);
    ol_state_table_free(&s->seen);
    memset(&s->c_ent, 0, sizeof s->c_ent);
    memset(&s->c_seen, 0, sizeof s->c_seen);
    /* the entity table sized for the log's rows at once (live entities are
     * nearly all of them: superseded rows are a few %), so that a rebuild
     * never rehashes it */
    MDB_stat ms;
    if ((rc = mdb_stat(txn, s->log, &ms)))
        return rc;
    size_t cap = 1024;
    while (cap < ((size_t)1 << 32) && (ms.ms_entries + 1) * 10 > cap * 7)
        cap *= 2;
    if (!(s->ent.s = ol_state_table_alloc(cap)))
        return ENOMEM;
    s->ent.cap = cap, s->ent.gen = ++s->gens;
    if ((rc = table_grow(s, &s->seen)))
        return rc;
    s->next_seq = 1;
    s->chain = 0;
    if ((rc = ol_state_index_from(s, txn, 1))) {
        ol_error("cannot index the version log|error=\"%s\"", mdb_strerror(rc));
        return rc;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    s->build_us = (int64_t)(t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000;
    s->tail_rows = 0;
    s->ready = 1;
    return 0;
}

void ol_state_prefetch(ol_state *s, const char *topic, const char *entity_id, const char *event_id)
{
    if (!s->ready || !s->ent.cap || !s->seen.cap)
        return;
    uint32_t he = hash_cached(s, &s->c_ent, topic, strlen(topic), entity_id, strlen(entity_id));
    uint32_t hs = hash_cached(s, &s->c_seen, event_id, strlen(event_id), NULL, 0);
    __builtin_prefetch(&s->ent.s[he & (s->ent.cap - 1)]);
    __builtin_prefetch(&s->seen.s[hs & (s->seen.cap - 1)]);
}

int ol_state_get(ol_state *s, MDB_txn *txn, const char *topic, const char *entity_id, ol_version *out)
{
    int found, rc = 0;
    size_t tl = strlen(topic), il = strlen(entity_id);
    if (!s->ready && (rc = ol_state_ready(s, txn)))
        return rc;
    hash_cached(s, &s->c_ent, topic, tl, entity_id, il);
    const struct want w = {topic, tl, entity_id, il};
    if (find_remembered(s, txn, &s->ent, &s->c_ent, &w, out, &found, &rc) < 0)
        return rc;
    return found;
}

int ol_state_seen(ol_state *s, MDB_txn *txn, const char *event_id, int64_t since_ms)
{
    int found, rc = 0;
    ol_version row;
    size_t el = strlen(event_id);
    if (!s->ready && (rc = ol_state_ready(s, txn)))
        return rc;
    if (since_ms > s->since_ms)
        s->since_ms = since_ms;
    hash_cached(s, &s->c_seen, event_id, el, NULL, 0);
    const struct want w = {NULL, 0, event_id, el};
    if (find_remembered(s, txn, &s->seen, &s->c_seen, &w, &row, &found, &rc) < 0)
        return rc;
    /* a derived input carries no occurred_at (INT64_MIN): its ids are seen for good, as before */
    return found && (row.occurred_at >= since_ms || row.occurred_at == INT64_MIN);
}

int ol_state_append(ol_state *s, MDB_txn *txn, char kind, const char *topic, const char *entity_id,
                    int64_t revision, int64_t occurred_at, const char *event_id, const void *frame,
                    size_t frame_len)
{
    size_t tl = strlen(topic), il = strlen(entity_id), el = strlen(event_id);
    int rc;
    if (!s->ready && (rc = ol_state_ready(s, txn)))
        return rc;
    if (tl > 255 || il > OL_STATE_MAX_ID || el > OL_STATE_MAX_ID)
        return MDB_BAD_VALSIZE;
    if (kind != 'V' && kind != 'S')
        return EINVAL;
    if (kind != 'V')
        frame_len = 0;
    uint8_t kb[8];
    ol_put_be64(kb, s->next_seq);
    MDB_val k = {8, kb}, v = {17 + 1 + tl + 2 + il + 2 + el + frame_len, NULL};
    if ((rc = mdb_put(txn, s->log, &k, &v, MDB_RESERVE | MDB_APPEND)))
        return rc;
    uint8_t *p = v.mv_data;
    p[0] = (uint8_t)kind;
    ol_put_be64(p + 1, (uint64_t)revision);
    ol_put_be64(p + 9, (uint64_t)occurred_at);
    p += 17;
    p[0] = (uint8_t)tl, memcpy(p + 1, topic, tl), p += 1 + tl;
    p[0] = (uint8_t)(il >> 8), p[1] = (uint8_t)il, memcpy(p + 2, entity_id, il), p += 2 + il;
    p[0] = (uint8_t)(el >> 8), p[1] = (uint8_t)el, memcpy(p + 2, event_id, el), p += 2 + el;
    if (frame_len)
        memcpy(p, frame, frame_len);
    /* the row as ol_state_parse would read it back, from what was just written */
    const ol_version row = {.seq = s->next_seq, .kind = kind, .revision = revision, .occurred_at = occurred_at,
                            .topic = topic, .topic_len = tl, .entity_id = entity_id, .entity_len = il,
                            .event_id = event_id, .event_len = el, .frame = frame, .frame_len = frame_len};
    if ((rc = index_row(s, txn, &row)))
        return rc;
    s->next_seq++;
    s->chain = ol_state_chain_step(s->chain, v.mv_data, v.mv_size);
    return 0;
}

size_t ol_state_memory(const ol_state *s, size_t *entities, size_t *event_ids)
{
    if (entities)
        *entities = s->ent.n;
    if (event_ids)
        *event_ids = s->seen.n;
    return (s->ent.cap + s->seen.cap) * sizeof(struct slot);
}

int64_t ol_state_build_us(const ol_state *s) { return s->build_us; }
uint64_t ol_state_tail_rows(const ol_state *s) { return s->tail_rows; }

int ol_state_snapshot_due(const ol_state *s, uint64_t every)
{
    return s->ready && every > 0 && s->next_seq - s->snap_seq >= every;
}
