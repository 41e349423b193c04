/* ol_state_snapshot — the indexes of ol_state written at a clean stop and
 * loaded at the next start, so that a restart does not read the whole
 * version log (issue 15: index ready within 5 s at 10 x N). Derived state:
 * a snapshot is adopted only when it matches the log (see below), and
 * deleting it is always safe. */
#include "ol_state_int.h"
#include "ol_store.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Layout: magic "OLIDX\0\0\5" | seed | next_seq | since_ms | ent.cap | ent.n
 * | seen.cap | seen.n | fingerprint of log row next_seq - 1 | the chain of
 * rows 1 .. next_seq - 1 (8 bytes each, host order: the file never leaves
 * the machine) | the two arrays of 12-byte slots | FNV-1a 64 of all that.
 *
 * A snapshot describes the log up to row next_seq - 1. It is adopted when
 * the log still holds that row, byte for byte (its fingerprint), and every
 * sampled slot names a log row whose key hashes to it; the rows appended
 * since (the tail) are then indexed from the log, exactly as a full build
 * would index them. The log is append-only (rows are never rewritten or
 * removed), so an index of its first rows plus the tail is the index of the
 * whole. The chain (ol_state.h) proves it: carried on from the snapshot's
 * over the rows after it, it must be the one the runtime recorded with the
 * last commit, so a log whose earlier rows differ (another store's, rows
 * in another order) refuses the snapshot even when its last row is the
 * same. A log shorter than the snapshot (a store restored from an older
 * copy, or one written without sync that lost its end), holding another
 * row where it was taken, or cut with a later dedupe window start (the
 * window was lengthened: rows it dropped would be needed) refuses it too,
 * and the log is read whole.
 *
 * The file is written in place (see ol_state_save), without an fsync: the
 * snapshot is never needed for correctness, only for speed, and a file
 * that a power loss left short or zeroed fails its checksum (then the
 * other file, or the whole log, is read). Nothing a snapshot says is
 * trusted over the log. */
static const char SNAP_MAGIC[8] = {'O', 'L', 'I', 'D', 'X', 0, 0, 5}; /* 4: the last row's fingerprint, the chain; 5: the chain's four lanes */
enum { HEAD_WORDS = 10 };

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

/* the fingerprint of log row seq (FNV-1a 64 of its value's bytes and
 * length), 0 for seq 0 (an empty log); an LMDB error in *rc */
static uint64_t row_fingerprint(const ol_state *s, MDB_txn *txn, uint64_t seq, int *rc)
{
    uint8_t kb[8];
    MDB_val k = {8, kb}, v;
    *rc = 0;
    if (seq == 0)
        return 0;
    ol_put_be64(kb, seq);
    if ((*rc = mdb_get(txn, s->log, &k, &v)))
        return 0;
    uint64_t h = 0xcbf29ce484222325ULL ^ v.mv_size;
    const uint8_t *p = v.mv_data;
    for (size_t i = 0; i < v.mv_size; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

static int pwrite_all(int fd, const void *p, size_t n, off_t off)
{
    const uint8_t *b = p;
    for (size_t done = 0; done < n;) {
        ssize_t w = pwrite(fd, b + done, n - done, off + (off_t)done);
        if (w < 0)
            return errno;
        if (w == 0)
            return EIO;
        done += (size_t)w;
    }
    return 0;
}

/* Written in place over the file's cached pages (a new file's pages cost
 * ~10 x more to write: at 20 M entities 0.06 s against up to 0.95 s, and
 * a rename over the old file frees its pages, another 0.15 s): the slots
 * first, then the checksum and the length, the header last. A kill at any
 * instant leaves the old file whole, or the old header over slots of
 * which some are new (its checksum fails: refused), or the new file whole.
 * The runtime keeps two files (ol_state_save_pair), so that a save never
 * overwrites the only good one. */
int ol_state_save(ol_state *s, MDB_txn *txn, const char *path)
{
    int rc = 0;
    if (!s->ready)
        return EAGAIN; /* rebuilt at the next use (an aborted batch): nothing current to write */
    s->snap_seq = s->next_seq; /* tried at this row, whatever comes of it: the next try is a period away */
    uint64_t head[HEAD_WORDS] = {0, s->seed, s->next_seq, (uint64_t)s->since_ms, s->ent.cap, s->ent.n,
                                 s->seen.cap, s->seen.n, row_fingerprint(s, txn, s->next_seq - 1, &rc), s->chain};
    if (rc)
        return rc == MDB_NOTFOUND ? EIO : rc; /* MDB_NOTFOUND: the indexes are ahead of this transaction */
    memcpy(&head[0], SNAP_MAGIC, 8);
    /* written in place: never through a link someone put there */
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return errno;
    size_t ent_bytes = s->ent.cap * sizeof(struct slot), seen_bytes = s->seen.cap * sizeof(struct slot);
    off_t at = sizeof head;
    uint64_t sum = fnv(fnv(fnv(0xcbf29ce484222325ULL, head, sizeof head), s->ent.s, ent_bytes), s->seen.s, seen_bytes);
    if (fchmod(fd, 0600) ||                                           /* a file left by hand with other modes */
        (rc = pwrite_all(fd, s->ent.s, ent_bytes, at)) ||              /* the slots, */
        (rc = pwrite_all(fd, s->seen.s, seen_bytes, at + (off_t)ent_bytes)) ||
        (rc = pwrite_all(fd, &sum, sizeof sum, at + (off_t)(ent_bytes + seen_bytes))) || /* the checksum, */
        ftruncate(fd, at + (off_t)(ent_bytes + seen_bytes + sizeof sum)) ||             /* the length, */
        (rc = pwrite_all(fd, head, sizeof head, 0)))                                    /* the header last */
        rc = rc ? rc : errno;
    if (close(fd) && !rc)
        rc = errno;
    return rc;
}

/* next_seq in the header of the snapshot file p, 0 when it has none (absent,
 * short, another version): only to choose which of the two files to write */
static uint64_t header_seq(const char *p)
{
    uint64_t head[HEAD_WORDS];
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t r = read(fd, head, sizeof head);
    close(fd);
    return r == (ssize_t)sizeof head && !memcmp(head, SNAP_MAGIC, 8) ? head[2] : 0;
}

static void alt_of(char *out, size_t n, const char *base) { snprintf(out, n, "%s.alt", base); }

int ol_state_save_pair(ol_state *s, MDB_txn *txn, const char *base)
{
    char alt[4200];
    alt_of(alt, sizeof alt, base);
    /* the older (or broken, or absent) of the two: the other stays whole */
    return ol_state_save(s, txn, header_seq(base) <= header_seq(alt) ? base : alt);
}

int ol_state_load_pair(ol_state *s, MDB_txn *txn, const char *base, char *why, size_t whylen)
{
    char alt[4200], w[2][300];
    alt_of(alt, sizeof alt, base);
    const char *p[2] = {base, alt};
    if (header_seq(alt) > header_seq(base))
        p[0] = alt, p[1] = base;
    for (int i = 0; i < 2; i++) {
        if (ol_state_load(s, txn, p[i], w[i], sizeof w[i])) {
            snprintf(why, whylen, "%s (%s)", w[i], p[i]);
            return 1;
        }
        if (strcmp(w[i], "no snapshot"))
            unlink(p[i]); /* it describes no prefix of this log (or is damaged): the next save replaces it */
    }
    if (!strcmp(w[0], "no snapshot") && !strcmp(w[1], "no snapshot"))
        snprintf(why, whylen, "no snapshot");
    else
        snprintf(why, whylen, "%s: %s; %s: %s", p[0], w[0], p[1], w[1]);
    return 0;
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
    uint64_t head[HEAD_WORDS], sum, want = 0xcbf29ce484222325ULL;
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
    if (ent.cap < 1024 || seen.cap < 1024 || ent.n > ent.cap || seen.n > seen.cap || head[2] < 1) {
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
    /* its event_id index dropped the rows that had left the dedupe window
     * as it stood then: of no use to a window that starts earlier (the
     * window was made longer, dedupe_window_days) */
    if ((int64_t)head[3] > s->since_ms) {
        snprintf(why, whylen, "it was cut with a later dedupe window start than this one (the window was lengthened)");
        goto out;
    }
    /* the log must hold the row the snapshot was taken at, the same row */
    uint64_t last = 0;
    if ((rc = mdb_cursor_open(txn, s->log, &c)))
        goto out_rc;
    rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
    mdb_cursor_close(c);
    if (rc && rc != MDB_NOTFOUND)
        goto out_rc;
    if (rc == 0)
        last = ol_be64(k.mv_data);
    if (last + 1 < head[2]) {
        snprintf(why, whylen, "the log is shorter than the snapshot (snapshot at row %llu, log at %llu)",
                 (unsigned long long)head[2] - 1, (unsigned long long)last);
        goto out;
    }
    uint64_t fp = row_fingerprint(s, txn, head[2] - 1, &rc);
    if (rc && rc != MDB_NOTFOUND)
        goto out_rc;
    if (rc || fp != head[8]) {
        snprintf(why, whylen, "the log's row %llu is not the one the snapshot was taken at",
                 (unsigned long long)head[2] - 1);
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
            if (slot_seq(sl) >= head[2]) { /* a row the snapshot could not have seen */
                rc = MDB_CORRUPTED;
                break;
            }
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
    s->ent = ent, s->seen = seen;
    s->ent.gen = ++s->gens, s->seen.gen = ++s->gens;
    memset(&s->c_ent, 0, sizeof s->c_ent);
    memset(&s->c_seen, 0, sizeof s->c_seen);
    close(fd);
    fd = -1;
    /* the rows appended since, as a full build would index them; the
     * chain carried on over them must be the one recorded with the log */
    s->chain = head[9];
    if ((rc = ol_state_index_from(s, txn, head[2]))) {
        snprintf(why, whylen, "indexing the log after row %llu: %s", (unsigned long long)head[2] - 1,
                 mdb_strerror(rc));
        goto refuse_adopted;
    }
    s->ready = 1;
    int recorded;
    if ((rc = ol_state_chain_check(s, txn, &recorded)) == MDB_CORRUPTED) {
        snprintf(why, whylen, "the log's rows up to row %llu are not those it indexed (another log, or another order)",
                 (unsigned long long)head[2] - 1);
        goto refuse_adopted;
    }
    if (rc) {
        snprintf(why, whylen, "reading the log's chain: %s", mdb_strerror(rc));
        goto refuse_adopted;
    }
    if (s->has_meta && !recorded && s->next_seq > 1) {
        snprintf(why, whylen, "the log has no recorded chain to check it against");
        goto refuse_adopted;
    }
    s->tail_rows = s->next_seq - head[2];
    s->snap_seq = head[2];
    clock_gettime(CLOCK_MONOTONIC, &t1);
    s->build_us = (int64_t)(t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000;
    snprintf(why, whylen, "loaded (%zu slots checked against the log; %llu rows after it indexed)", checked,
             (unsigned long long)s->tail_rows);
    return 1;
refuse_adopted:
    ol_state_table_free(&s->ent);
    ol_state_table_free(&s->seen);
    s->ready = 0;
    return 0;
out_rc:
    snprintf(why, whylen, "%s", mdb_strerror(rc));
out:
    ol_state_table_free(&ent);
    ol_state_table_free(&seen);
    close(fd);
    return 0;
}
