/* ol_state_snapshot — the indexes of ol_state written at a clean stop and
 * loaded at the next start, so that a restart does not read the whole
 * version log (issue 15: index ready within 5 s at 10 x N). Derived state:
 * a snapshot is adopted only when it matches the log (see below), and
 * deleting it is always safe. */
#include "ol_state_int.h"
#include "ol_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Layout: magic "OLIDX\0\0\1" | seed | next_seq | since_ms | ent.cap | ent.n
 * | seen.cap | seen.n (8 bytes each, host order: the file never leaves the
 * machine) | the two arrays of 12-byte slots | FNV-1a 64 of all that. A snapshot is used
 * only when its next_seq is the log's (nothing was appended since it was
 * written) and every sampled slot names a log row whose key hashes to it;
 * else the log is read as before. It is derived state: deleting it is safe. */
static const char SNAP_MAGIC[8] = {'O', 'L', 'I', 'D', 'X', 0, 0, 2}; /* 2: 12-byte slots */

/* a checksum of the snapshot: FNV-1a over 8-byte words (the parts are
 * whole words: a header of words and arrays of 12-byte slots whose
 * counts are powers of two of at least 1024) */
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
    if (read_all(fd, head, sizeof head) || memcmp(head, SNAP_MAGIC, 8) || head[4] > ((uint64_t)1 << 32) ||
        head[6] > ((uint64_t)1 << 32) || (head[4] & (head[4] - 1)) || (head[6] & (head[6] - 1))) {
        snprintf(why, whylen, "not a snapshot of this version");
        goto out;
    }
    ent.cap = head[4], ent.n = head[5], seen.cap = head[6], seen.n = head[7];
    if (ent.cap < 1024 || seen.cap < 1024 || ent.n > ent.cap || seen.n > seen.cap) {
        snprintf(why, whylen, "not a snapshot of this version");
        goto out;
    }
    if (!(ent.s = ol_state_table_alloc(ent.cap)) || !(seen.s = ol_state_table_alloc(seen.cap))) {
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
    /* every occupied slot is counted: a table with a slot missing (an
     * entity that would look new) or added is refused, whatever its checksum */
    for (int which = 0; which < 2; which++) {
        const struct table *t = which ? &seen : &ent;
        size_t used = 0;
        for (size_t i = 0; i < t->cap; i++)
            used += t->s[i].h != 0;
        if (used != t->n) {
            snprintf(why, whylen, "the %s index holds %zu slots, its header says %zu", which ? "event_id" : "entity",
                     used, t->n);
            goto out;
        }
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
    size_t checked = 0;
    for (int which = 0; which < 2; which++) {
        const struct table *t = which ? &seen : &ent;
        size_t step = t->cap / 512 + 1;
        for (size_t i = 0; i < t->cap; i += step) {
            const struct slot *sl = &t->s[i];
            ol_version row;
            if (!sl->h)
                continue;
            if ((rc = ol_state_row_at(s, txn, slot_seq(sl), &row)))
                break;
            uint32_t h = which ? ol_state_hash(head[1], row.event_id, row.event_len, NULL, 0)
                               : ol_state_hash(head[1], row.topic, row.topic_len, row.entity_id, row.entity_len);
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
    ol_state_table_free(&s->ent);
    ol_state_table_free(&s->seen);
    s->seed = head[1];
    s->next_seq = head[2];
    if ((int64_t)head[3] > s->since_ms)
        s->since_ms = (int64_t)head[3];
    s->ent = ent, s->seen = seen;
    s->ent.gen = ++s->gens, s->seen.gen = ++s->gens;
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
    ol_state_table_free(&ent);
    ol_state_table_free(&seen);
    close(fd);
    return 0;
}
