/* ol_state — the version log and its in-memory indexes (see ol_state.h). */
#include "ol_state.h"
#include "ol_log.h"
#include "ol_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* one slot of an open-addressing table (linear probing): h is the key's
 * 64-bit hash (0: empty), seq the log row it names (48 bits), day the day
 * of that row's occurred_at (16 bits, DAY_NEVER for none): the seen index
 * drops rows that left the dedupe window without reading the log */
struct slot {
    uint64_t h;
    uint64_t seq : 48;
    uint64_t day : 16;
};
#define DAY_NEVER 0xffff
#define DAY_MS 86400000LL

static unsigned day_of(int64_t occurred_at)
{
    if (occurred_at == INT64_MIN)
        return DAY_NEVER; /* a derived input: its ids never leave the window */
    if (occurred_at < 0)
        return 0;
    int64_t d = occurred_at / DAY_MS;
    return d >= DAY_NEVER ? DAY_NEVER - 1 : (unsigned)d;
}

struct table {
    struct slot *s;
    size_t cap; /* a power of two, or 0 */
    size_t n;
};

struct ol_state {
    MDB_dbi log;
    int64_t window_ms;
    int ready;
    uint64_t next_seq; /* the next row's sequence */
    uint64_t seed;
    struct table ent;  /* topic NUL entity id -> its latest 'V' row */
    struct table seen; /* event_id -> the latest row carrying it */
    int64_t build_us;
    int64_t since_ms;  /* the dedupe window's start at the last ol_state_seen (never decreases) */
    /* the last hashes computed: a record's look-ups and its append hash the
     * same strings (compared by content, so a reused buffer cannot mislead) */
    struct hcache {
        uint64_t h;
        size_t n1, n2;
        char key[OL_STATE_MAX_ID + 256 + 2];
    } c_ent, c_seen;
};

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

/* the hash of a then b (b may be NULL), never 0: ("ab","c") != ("a","bc")
 * because a's length is mixed in between */
static uint64_t hash2(uint64_t seed, const void *a, size_t an, const void *b, size_t bn)
{
    uint64_t h = hash_bytes(seed ^ 0x243f6a8885a308d3ULL, a, an);
    if (b)
        h = hash_bytes(h ^ (an * 0x9e3779b97f4a7c15ULL), b, bn);
    h = mix(h);
    return h ? h : 1;
}

/* hash2 through the cache c */
static uint64_t hash_cached(const ol_state *s, struct hcache *c, const char *a, size_t an, const char *b, size_t bn)
{
    if (c->h && c->n1 == an && c->n2 == bn && !memcmp(c->key, a, an) && (!bn || !memcmp(c->key + an, b, bn)))
        return c->h;
    c->h = hash2(s->seed, a, an, b, b ? bn : 0);
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
static int table_grow(struct table *t)
{
    size_t cap = t->cap ? t->cap * 2 : 1024;
    struct slot *n = calloc(cap, sizeof *n);
    if (!n)
        return ENOMEM;
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->s[i].h)
            continue;
        size_t j = t->s[i].h & (cap - 1);
        while (n[j].h)
            j = (j + 1) & (cap - 1);
        n[j] = t->s[i];
    }
    free(t->s);
    t->s = n;
    t->cap = cap;
    return 0;
}

static void table_free(struct table *t)
{
    free(t->s);
    memset(t, 0, sizeof *t);
}

static int row_at(ol_state *s, MDB_txn *txn, uint64_t seq, ol_version *out)
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
static long table_find(ol_state *s, MDB_txn *txn, const struct table *t, uint64_t h, const struct want *w,
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
        if ((*rc = row_at(s, txn, sl->seq, out)))
            return -1;
        if (row_is(out, w)) {
            *found = 1;
            return (long)j;
        }
    }
}

static long ent_find(ol_state *s, MDB_txn *txn, uint64_t h, const char *topic, size_t tl, const char *id, size_t il,
                     ol_version *out, int *found, int *rc)
{
    const struct want w = {topic, tl, id, il};
    return table_find(s, txn, &s->ent, h, &w, out, found, rc);
}

static long seen_find(ol_state *s, MDB_txn *txn, uint64_t h, const char *event_id, size_t el, ol_version *out,
                      int *found, int *rc)
{
    const struct want w = {NULL, 0, event_id, el};
    return table_find(s, txn, &s->seen, h, &w, out, found, rc);
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
        return table_grow(t);
    struct slot *n = calloc(t->cap, sizeof *n);
    if (!n)
        return ENOMEM;
    for (size_t i = 0; i < t->cap; i++) {
        struct slot *o = &t->s[i];
        if (!o->h || (o->day != DAY_NEVER && (int64_t)o->day < since_day))
            continue;
        size_t j = o->h & (t->cap - 1);
        while (n[j].h)
            j = (j + 1) & (t->cap - 1);
        n[j] = *o;
    }
    free(t->s);
    t->s = n;
    t->n = live;
    return 0;
}

/* indexes row v (already in the log) */
static int index_row(ol_state *s, MDB_txn *txn, const ol_version *v)
{
    ol_version tmp;
    int found, rc = 0;
    long j;
    if (v->kind == 'V') {
        if ((s->ent.n + 1) * 10 > s->ent.cap * 7 && (rc = table_grow(&s->ent)))
            return rc;
        uint64_t h = hash_cached(s, &s->c_ent, v->topic, v->topic_len, v->entity_id, v->entity_len);
        if ((j = ent_find(s, txn, h, v->topic, v->topic_len, v->entity_id, v->entity_len, &tmp, &found, &rc)) < 0)
            return rc;
        s->ent.s[j].h = h;
        s->ent.s[j].seq = v->seq;
        s->ent.s[j].day = day_of(v->occurred_at);
        s->ent.n += !found;
    }
    if (s->since_ms != INT64_MIN && v->occurred_at != INT64_MIN && day_of(v->occurred_at) + 1 < s->since_ms / DAY_MS)
        return 0; /* wholly before the dedupe window: never a duplicate again (an index build of an old log) */
    if ((s->seen.n + 1) * 10 > s->seen.cap * 7 && (rc = seen_make_room(s)))
        return rc;
    uint64_t h = hash_cached(s, &s->c_seen, v->event_id, v->event_len, NULL, 0);
    if ((j = seen_find(s, txn, h, v->event_id, v->event_len, &tmp, &found, &rc)) < 0)
        return rc;
    if (found && tmp.occurred_at > v->occurred_at)
        return 0; /* keep the row with the later data time: it stays in the window longer */
    s->seen.s[j].h = h;
    s->seen.s[j].seq = v->seq;
    s->seen.s[j].day = day_of(v->occurred_at);
    s->seen.n += !found;
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
    table_free(&s->ent);
    table_free(&s->seen);
    free(s);
}

void ol_state_invalidate(ol_state *s) { s->ready = 0; }

void ol_state_set_window_start(ol_state *s, int64_t since_ms)
{
    if (since_ms > s->since_ms)
        s->since_ms = since_ms;
}

int ol_state_ready(ol_state *s, MDB_txn *txn)
{
    MDB_cursor *c;
    MDB_val k, v;
    struct timespec t0, t1;
    int rc;
    if (s->ready)
        return 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    table_free(&s->ent);
    table_free(&s->seen);
    if ((rc = table_grow(&s->ent)) || (rc = table_grow(&s->seen)))
        return rc;
    s->next_seq = 1;
    if ((rc = mdb_cursor_open(txn, s->log, &c)))
        return rc;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        ol_version row;
        if ((rc = ol_state_parse(&k, &v, &row)) || (rc = index_row(s, txn, &row)))
            break;
        s->next_seq = row.seq + 1;
    }
    mdb_cursor_close(c);
    if (rc != MDB_NOTFOUND) {
        ol_error("cannot index the version log|error=\"%s\"", mdb_strerror(rc));
        return rc;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    s->build_us = (int64_t)(t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000;
    s->ready = 1;
    return 0;
}

int ol_state_get(ol_state *s, MDB_txn *txn, const char *topic, const char *entity_id, ol_version *out)
{
    int found, rc = 0;
    size_t tl = strlen(topic), il = strlen(entity_id);
    uint64_t h = hash_cached(s, &s->c_ent, topic, tl, entity_id, il);
    if (!s->ready && (rc = ol_state_ready(s, txn)))
        return rc;
    if (ent_find(s, txn, h, topic, tl, entity_id, il, out, &found, &rc) < 0)
        return rc;
    return found;
}

int ol_state_seen(ol_state *s, MDB_txn *txn, const char *event_id, int64_t since_ms)
{
    int found, rc = 0;
    ol_version row;
    size_t el = strlen(event_id);
    uint64_t h = hash_cached(s, &s->c_seen, event_id, el, NULL, 0);
    if (!s->ready && (rc = ol_state_ready(s, txn)))
        return rc;
    if (since_ms > s->since_ms)
        s->since_ms = since_ms;
    if (seen_find(s, txn, h, event_id, el, &row, &found, &rc) < 0)
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
    ol_version row;
    if ((rc = ol_state_parse(&k, &v, &row)) || (rc = index_row(s, txn, &row)))
        return rc;
    s->next_seq++;
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

/* ------------------------------------------------------------ the latest view */
struct latest {
    char *key; /* topic NUL id NUL */
    size_t klen;
    uint64_t seq;
};

static int latest_cmp(const void *a, const void *b)
{
    const struct latest *x = a, *y = b;
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = memcmp(x->key, y->key, n);
    if (c)
        return c;
    if (x->klen != y->klen)
        return x->klen < y->klen ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* the latest 'V' row of every entity (of topic only, when not NULL), sorted
 * by key: *out (caller frees with free_latest), *n. 0 or an error. */
static int collect_latest(MDB_txn *txn, MDB_dbi log, const char *topic, struct latest **out, size_t *nout)
{
    struct latest *all = NULL;
    size_t n = 0, cap = 0, w = 0, tl = topic ? strlen(topic) : 0;
    MDB_cursor *c = NULL;
    MDB_val k, v;
    int rc;

    if ((rc = mdb_cursor_open(txn, log, &c)))
        return rc;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        ol_version row;
        if ((rc = ol_state_parse(&k, &v, &row)))
            break;
        if (row.kind != 'V' || (topic && (row.topic_len != tl || memcmp(row.topic, topic, tl))))
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 1024;
            struct latest *na = realloc(all, nc * sizeof *na);
            if (!na) {
                rc = ENOMEM;
                break;
            }
            all = na, cap = nc;
        }
        size_t kl = row.topic_len + 1 + row.entity_len + 1;
        char *key = malloc(kl);
        if (!key) {
            rc = ENOMEM;
            break;
        }
        memcpy(key, row.topic, row.topic_len), key[row.topic_len] = '\0';
        memcpy(key + row.topic_len + 1, row.entity_id, row.entity_len), key[kl - 1] = '\0';
        all[n++] = (struct latest){key, kl, row.seq};
    }
    mdb_cursor_close(c);
    if (rc == MDB_NOTFOUND)
        rc = 0;
    if (rc == 0 && n > 1)
        qsort(all, n, sizeof *all, latest_cmp);
    /* keep the last (highest sequence) of each key */
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (i + 1 < n && all[i + 1].klen == all[i].klen && !memcmp(all[i + 1].key, all[i].key, all[i].klen)) {
            free(all[i].key);
            continue;
        }
        all[w++] = all[i];
    }
    if (rc) {
        for (size_t i = 0; i < n; i++)
            free(all[i].key);
        free(all);
        return rc;
    }
    *out = all;
    *nout = w;
    return 0;
}

static void free_latest(struct latest *all, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(all[i].key);
    free(all);
}

/* the old entity row of log row seq into *buf (grown as needed) */
static int old_layout(MDB_txn *txn, MDB_dbi log, uint64_t seq, uint8_t **buf, size_t *bufcap, MDB_val *out)
{
    uint8_t kb[8];
    ol_put_be64(kb, seq);
    MDB_val lk = {8, kb}, lv;
    ol_version row;
    int rc;
    if ((rc = mdb_get(txn, log, &lk, &lv)) || (rc = ol_state_parse(&lk, &lv, &row)))
        return rc;
    size_t need = 10 + row.event_len + row.frame_len;
    if (need > *bufcap) {
        uint8_t *nb = realloc(*buf, need);
        if (!nb)
            return ENOMEM;
        *buf = nb, *bufcap = need;
    }
    ol_put_be64(*buf, (uint64_t)row.revision);
    (*buf)[8] = (uint8_t)(row.event_len >> 8), (*buf)[9] = (uint8_t)row.event_len;
    memcpy(*buf + 10, row.event_id, row.event_len);
    memcpy(*buf + 10 + row.event_len, row.frame, row.frame_len);
    out->mv_size = need;
    out->mv_data = *buf;
    return 0;
}

int ol_state_foreach_latest(MDB_txn *txn, MDB_dbi log, ol_state_row_cb cb, void *arg)
{
    struct latest *all = NULL;
    size_t n = 0, bufcap = 0;
    uint8_t *buf = NULL;
    int rc = collect_latest(txn, log, NULL, &all, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        MDB_val ok = {all[i].klen, all[i].key}, ov;
        if ((rc = old_layout(txn, log, all[i].seq, &buf, &bufcap, &ov)) == 0)
            rc = cb(&ok, &ov, arg);
    }
    free_latest(all, n);
    free(buf);
    return rc;
}

struct ol_state_ro {
    struct latest *all;
    size_t n;
};

ol_state_ro *ol_state_ro_open(MDB_txn *txn, MDB_dbi log, const char *topic)
{
    ol_state_ro *ro = calloc(1, sizeof *ro);
    if (ro && collect_latest(txn, log, topic, &ro->all, &ro->n)) {
        free(ro);
        return NULL;
    }
    return ro;
}

int ol_state_ro_get(ol_state_ro *ro, MDB_txn *txn, MDB_dbi log, const char *topic, const char *id, ol_version *out)
{
    size_t tl = strlen(topic), il = strlen(id), kl = tl + il + 2;
    char *key = malloc(kl);
    if (!key)
        return ENOMEM;
    memcpy(key, topic, tl + 1);
    memcpy(key + tl + 1, id, il + 1);
    struct latest probe = {key, kl, UINT64_MAX};
    size_t lo = 0, hi = ro->n;
    while (lo < hi) { /* the first element not below probe (sequence ignored: keys are unique) */
        size_t mid = lo + (hi - lo) / 2;
        struct latest m = ro->all[mid];
        m.seq = UINT64_MAX;
        if (latest_cmp(&m, &probe) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    int found = lo < ro->n && ro->all[lo].klen == kl && !memcmp(ro->all[lo].key, key, kl);
    free(key);
    if (!found)
        return 0;
    uint8_t kb[8];
    ol_put_be64(kb, ro->all[lo].seq);
    MDB_val lk = {8, kb}, lv;
    int rc = mdb_get(txn, log, &lk, &lv);
    if (rc || (rc = ol_state_parse(&lk, &lv, out)))
        return rc;
    return 1;
}

void ol_state_ro_free(ol_state_ro *ro)
{
    if (!ro)
        return;
    free_latest(ro->all, ro->n);
    free(ro);
}

/* ------------------------------------------------------------ snapshot
 * The indexes written at a clean stop, so that a restart loads them instead
 * of reading the whole log (issue 15: index ready within 5 s at 10 x N).
 * Layout: magic "OLIDX\0\0\1" | seed | next_seq | since_ms | ent.cap | ent.n
 * | seen.cap | seen.n (8 bytes each, host order: the file never leaves the
 * machine) | the two slot arrays | FNV-1a 64 of all that. A snapshot is used
 * only when its next_seq is the log's (nothing was appended since it was
 * written) and every sampled slot names a log row whose key hashes to it;
 * else the log is read as before. It is derived state: deleting it is safe. */
static const char SNAP_MAGIC[8] = {'O', 'L', 'I', 'D', 'X', 0, 0, 1};

/* a checksum of the snapshot: FNV-1a over 8-byte words (the parts are
 * whole words: a header of words and arrays of 16-byte slots) */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);
        h = (h ^ w) * 0x100000001b3ULL;
    }
    return h;
}

int ol_state_save(const ol_state *s, const char *path)
{
    char tmp[4200];
    uint64_t head[8] = {0, s->seed, s->next_seq, (uint64_t)s->since_ms, s->ent.cap, s->ent.n, s->seen.cap, s->seen.n};
    memcpy(&head[0], SNAP_MAGIC, 8);
    if (!s->ready)
        return 0;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno;
    uint64_t sum = 0xcbf29ce484222325ULL;
    const struct {
        const void *p;
        size_t n;
    } parts[] = {{head, sizeof head},
                 {s->ent.s, s->ent.cap * sizeof(struct slot)},
                 {s->seen.s, s->seen.cap * sizeof(struct slot)}};
    int rc = 0;
    for (size_t i = 0; i < 3 && !rc; i++) {
        sum = fnv(sum, parts[i].p, parts[i].n);
        const uint8_t *b = parts[i].p;
        for (size_t off = 0; off < parts[i].n && !rc;) {
            ssize_t w = write(fd, b + off, parts[i].n - off);
            if (w < 0)
                rc = errno;
            else
                off += (size_t)w;
        }
    }
    if (!rc && write(fd, &sum, sizeof sum) != (ssize_t)sizeof sum)
        rc = errno ? errno : EIO;
    if (!rc && fsync(fd))
        rc = errno;
    if (close(fd) && !rc)
        rc = errno;
    if (!rc && rename(tmp, path))
        rc = errno;
    if (rc)
        unlink(tmp);
    return rc;
}

static int read_all(int fd, void *p, size_t n)
{
    uint8_t *b = p;
    for (size_t off = 0; off < n;) {
        ssize_t r = read(fd, b + off, n - off);
        if (r <= 0)
            return -1;
        off += (size_t)r;
    }
    return 0;
}

int ol_state_load(ol_state *s, MDB_txn *txn, const char *path, char *why, size_t whylen)
{
    uint64_t head[8], sum, want = 0xcbf29ce484222325ULL;
    struct table ent = {0}, seen = {0};
    struct timespec t0, t1;
    MDB_cursor *c = NULL;
    MDB_val k, v;
    int fd, rc;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        snprintf(why, whylen, "no snapshot");
        return 0;
    }
    if (read_all(fd, head, sizeof head) || memcmp(head, SNAP_MAGIC, 8) || head[4] > ((uint64_t)1 << 40) ||
        head[6] > ((uint64_t)1 << 40) || (head[4] & (head[4] - 1)) || (head[6] & (head[6] - 1))) {
        snprintf(why, whylen, "not a snapshot of this version");
        goto out;
    }
    ent.cap = head[4], ent.n = head[5], seen.cap = head[6], seen.n = head[7];
    if (!(ent.s = malloc(ent.cap * sizeof *ent.s)) || !(seen.s = malloc(seen.cap * sizeof *seen.s))) {
        snprintf(why, whylen, "out of memory");
        goto out;
    }
    if (read_all(fd, ent.s, ent.cap * sizeof *ent.s) || read_all(fd, seen.s, seen.cap * sizeof *seen.s) ||
        read_all(fd, &sum, sizeof sum)) {
        snprintf(why, whylen, "truncated");
        goto out;
    }
    want = fnv(fnv(fnv(want, head, sizeof head), ent.s, ent.cap * sizeof *ent.s), seen.s, seen.cap * sizeof *seen.s);
    if (sum != want) {
        snprintf(why, whylen, "checksum mismatch");
        goto out;
    }
    /* the log must end where the snapshot was taken */
    uint64_t last = 0;
    if ((rc = mdb_cursor_open(txn, s->log, &c)))
        goto out_rc;
    rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
    mdb_cursor_close(c);
    if (rc && rc != MDB_NOTFOUND)
        goto out_rc;
    if (rc == 0)
        last = ol_be64(k.mv_data);
    if (last + 1 != head[2]) {
        snprintf(why, whylen, "the log moved on since it was written (snapshot at %llu, log at %llu)",
                 (unsigned long long)head[2] - 1, (unsigned long long)last);
        goto out;
    }
    /* adopt it, then check a sample of slots against the log they name */
    rc = 0;
    ol_state tmp = *s;
    tmp.seed = head[1], tmp.next_seq = head[2], tmp.ent = ent, tmp.seen = seen;
    size_t checked = 0;
    for (int which = 0; which < 2; which++) {
        const struct table *t = which ? &seen : &ent;
        size_t step = t->cap / 512 + 1;
        for (size_t i = 0; i < t->cap; i += step) {
            const struct slot *sl = &t->s[i];
            ol_version row;
            if (!sl->h)
                continue;
            if ((rc = row_at(&tmp, txn, sl->seq, &row)))
                break;
            uint64_t h = which ? hash2(tmp.seed, row.event_id, row.event_len, NULL, 0)
                               : hash2(tmp.seed, row.topic, row.topic_len, row.entity_id, row.entity_len);
            if (h != sl->h || (!which && row.kind != 'V')) {
                rc = MDB_CORRUPTED;
                break;
            }
            checked++;
        }
        if (rc)
            break;
    }
    if (rc) {
        snprintf(why, whylen, "a sampled slot does not match the log (%s)", mdb_strerror(rc));
        goto out;
    }
    table_free(&s->ent);
    table_free(&s->seen);
    s->seed = head[1];
    s->next_seq = head[2];
    if ((int64_t)head[3] > s->since_ms)
        s->since_ms = (int64_t)head[3];
    s->ent = ent, s->seen = seen;
    memset(&s->c_ent, 0, sizeof s->c_ent);
    memset(&s->c_seen, 0, sizeof s->c_seen);
    s->ready = 1;
    close(fd);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    s->build_us = (int64_t)(t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000;
    snprintf(why, whylen, "loaded (%zu slots checked against the log)", checked);
    return 1;
out_rc:
    snprintf(why, whylen, "%s", mdb_strerror(rc));
out:
    table_free(&ent);
    table_free(&seen);
    close(fd);
    return 0;
}
