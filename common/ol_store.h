/* ol_store — one LMDB environment per service instance.
 *
 * Named databases are opened once at start (LMDB wants DBIs opened in a
 * committed transaction before concurrent readers use them). The runtime
 * owns the `meta` (offsets, counters), `entity` (latest version of every
 * input entity), `seen` (event_ids), `derived` (last emission of every derived
 * key) and `outbox` databases; services declare their own.
 *
 * Keys are built with ol_key: big-endian integers and NUL-separated strings,
 * so byte order is the natural order (person, then week, ...). */
#ifndef OL_STORE_H
#define OL_STORE_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#define OL_STORE_MAX_DBS 32

typedef struct ol_store {
    MDB_env *env;
    char *path;
    int readonly;
    int bulk; /* OL_STORE_BULK: no sync per commit, one at close */
    int writemap;
    int lock_fd;     /* the instance lock on <dir>/instance.lock (writable opens), or -1 */
    void *map;       /* ol_store_release: the map's address (LMDB does not give it) */
    size_t map_len;
    /* ol_store_reserve (writemap stores): blocks allocated under the map */
    size_t reserve_min; /* the least headroom, bytes (0: none); ol_store_open sets 16 MiB */
    size_t reserved_to, reserve_end, reserve_growth, map_bytes;
    int reserve_off; /* the file system has no fallocate */
    int guard_slot;  /* the SIGBUS guard's slot + 1, or 0 */
    struct ol_prefault *prefault; /* ol_store_prefault's thread, or NULL */
    int prefault_off;             /* lmdb_prefault = 0, or the thread could not start */
    size_t ndbs;
    const char *db_names[OL_STORE_MAX_DBS];
    MDB_dbi dbi[OL_STORE_MAX_DBS];
} ol_store;

/* ol_store_open flags. OL_STORE_RDONLY (= 1, the old readonly argument):
 * read-only. OL_STORE_BULK: a rebuild into a fresh directory (replay):
 * MDB_WRITEMAP | MDB_NOSYNC, commits are not flushed to disk one by one;
 * ol_store_close (and ol_store_sync) flush everything once. A crash during a
 * bulk build leaves a directory to throw away, never a live projection. */
#define OL_STORE_RDONLY 1
#define OL_STORE_BULK 2
/* OL_STORE_WRITEMAP: MDB_WRITEMAP with every commit synced as usual (still
 * durable): a transaction's dirty pages live in the file mapping, not in
 * malloc'd copies, so they leave the resident set with ol_store_release. */
#define OL_STORE_WRITEMAP 4

/* Opens (creating dir when writable) the environment at path with map size
 * map_bytes and the named databases (NULL-terminated). Read-only opening
 * needs the databases to exist. Returns 0 or -1 with err. Caller closes.
 *
 * A writable open takes the directory's instance lock first (SPEC 4: one
 * instance per data directory): an exclusive flock(2) on <dir>/instance.lock,
 * which holds the owner's pid. The kernel drops the lock when the process
 * dies, so a SIGKILL never leaves a stale lock; a second writer is refused
 * with a message naming the running instance's pid. Read-only opens
 * (queries, status) take no lock and run beside the live service.
 *
 * Files are private (SPEC 4): the directory is created 0700 and the LMDB
 * files 0600; an existing directory or file that is group- or
 * world-accessible is tightened to that on a writable open, with a notice. */
/* Writemap stores (common/ol_store_reserve.c says why): ol_store_reserve
 * allocates the data file's blocks ahead of the next batch and returns 0 or
 * an errno (ENOSPC: not even the minimum headroom is free; the caller stops
 * with ol_store_strerror's "disk full" words before it begins the batch).
 * ol_store_guard (ol_store_open calls it) turns a SIGBUS in the map into one
 * "disk full" line on stderr and _exit(1); ol_store_unguard (ol_store_close)
 * forgets the store. No-ops for other stores. */
int ol_store_reserve(ol_store *st);
/* The reserve's arithmetic (pure, for tests): the data ends at end, blocks
 * are allocated up to reserved_to, the largest growth of a batch is growth,
 * avail bytes are free. Sets [from, to) to allocate (empty: nothing to do);
 * 0, or ENOSPC when not even min bytes past end are free. */
typedef struct {
    size_t end, reserved_to, growth, min, map_bytes, avail;
} ol_reserve_in;
int ol_store_reserve_plan(const ol_reserve_in *in, size_t *from, size_t *to);
void ol_store_guard(ol_store *st, void *map, size_t len);
/* Bulk stores (common/ol_store_prefault.c says why): hands the blocks
 * reserved in [end, reserved_to) of the map to a thread that faults them in
 * ahead of LMDB (started at the first call; nothing when prefault_off is
 * set or the store is not a bulk store). ol_store_prefault_refused is 1
 * once the kernel refused the advice (the thread then stops faulting, and
 * says so once). ol_store_prefault_stop stops and joins the thread
 * (ol_store_close and ol_store_set_writemap call it before the map goes
 * away). */
void ol_store_prefault(ol_store *st, size_t end, size_t reserved_to);
int ol_store_prefault_refused(ol_store *st);
void ol_store_prefault_stop(ol_store *st);
void ol_store_unguard(ol_store *st);

int ol_store_open(ol_store *st, const char *path, size_t map_bytes, int flags, const char *const *dbs,
                  char *err, size_t errlen);
/* Switches a live writable store (not bulk) between LMDB's two write
 * paths: MDB_WRITEMAP (on: pages written in place in the shared map,
 * file-backed) and pwrite (off: dirty pages malloc'd, LMDB's default).
 * Closes and reopens the environment between transactions, keeping the
 * instance lock and every database handle, those of ol_store_track_db
 * included (an error if LMDB would hand out another). Every commit of both
 * paths is synced, so nothing is pending. 0 switched; 1 not switched, err
 * says why, and the store reopened on the path it had; -1 with err set and
 * the store unusable (no environment). */
int ol_store_set_writemap(ol_store *st, int on, char *err, size_t errlen);
/* A database opened after ol_store_open (name: a string that outlives the
 * store; dbi: its handle, committed): ol_store_dbi finds it, and a reopen
 * opens it again and checks the handle. 0, or -1 (no room, or the name is
 * tracked with another handle). */
int ol_store_track_db(ol_store *st, const char *name, MDB_dbi dbi);
/* Flushes a bulk store to disk (a no-op otherwise). 0 or an LMDB error. */
int ol_store_sync(ol_store *st);
/* Gives the pages of the memory map this process touched back to the
 * kernel (madvise MADV_DONTNEED): they stay in the page cache, shared and
 * reclaimable, and fault back in on the next access. Keeps the resident
 * set of a long-running service at the working set of one batch instead of
 * everything it ever read. Pages a write transaction modified are not lost:
 * the mapping is shared, their bytes are the page cache's (and without
 * MDB_WRITEMAP LMDB writes them from its own copies). */
void ol_store_release(ol_store *st);
void ol_store_close(ol_store *st);
/* Describes an LMDB/system error of a write to the store for a person:
 * ENOSPC, or EIO with (almost) no space left on the store's filesystem, is
 * "disk full" with the bytes free; MDB_MAP_FULL names map_size. Writes into
 * buf and returns it. */
const char *ol_store_strerror(const ol_store *st, int rc, char *buf, size_t len);
/* 1 when rc is a fault of the environment (disk, memory, map, I/O, a
 * corrupted or busy store) rather than of one record's content. */
int ol_store_env_fault(int rc);
/* DBI of a named database; aborts nothing: returns (MDB_dbi)-1... callers
 * pass names they declared, so a miss is a programming error reported once. */
MDB_dbi ol_store_dbi(const ol_store *st, const char *name);

/* ---- key building: fixed buffer, big-endian numbers, NUL-terminated strings */
typedef struct ol_key {
    uint8_t b[512];
    size_t n;
    int overflow;
} ol_key;

void ol_key_init(ol_key *k);
void ol_key_u8(ol_key *k, uint8_t v);
void ol_key_u32(ol_key *k, uint32_t v);
void ol_key_i32(ol_key *k, int32_t v); /* sign-flipped so negatives sort first */
void ol_key_u64(ol_key *k, uint64_t v);
void ol_key_i64(ol_key *k, int64_t v);
void ol_key_str(ol_key *k, const char *s); /* includes the NUL separator */
MDB_val ol_key_val(const ol_key *k);

uint32_t ol_be32(const void *p);
uint64_t ol_be64(const void *p);
void ol_put_be32(void *p, uint32_t v);
void ol_put_be64(void *p, uint64_t v);
int32_t ol_key_get_i32(const void *p);
int64_t ol_key_get_i64(const void *p);

/* ---- meta counters and offsets, stored big-endian in the `meta` db */
int ol_meta_get_i64(MDB_txn *txn, MDB_dbi meta, const char *name, int64_t *out); /* MDB_NOTFOUND -> *out=0, 0 */
int ol_meta_put_i64(MDB_txn *txn, MDB_dbi meta, const char *name, int64_t v);
int ol_meta_add_i64(MDB_txn *txn, MDB_dbi meta, const char *name, int64_t delta);
/* a named int32 in a service's own database (window bounds and the like);
 * get returns MDB_NOTFOUND when it was never put */
int ol_named_get_i32(MDB_txn *txn, MDB_dbi dbi, const char *name, int32_t *out);
int ol_named_put_i32(MDB_txn *txn, MDB_dbi dbi, const char *name, int32_t v);
/* offset key: "offset/<topic>/<partition>" -> next offset to read */
/* Stores head (hl bytes) then each of the n strings (at most
 * OL_RECORD_MAX_STRS) with its NUL under key k, in one MDB_RESERVE put: the
 * row layout the services' indexes share. A row that already holds exactly
 * those bytes is left alone (see ol_put_unless_same). 0, an LMDB error, or
 * -1 when k overflowed. */
#define OL_RECORD_MAX_STRS 16
int ol_put_record(MDB_txn *txn, MDB_dbi dbi, const ol_key *k, const void *head, size_t hl, const char *const *strs,
                  int n);
/* Reads a row ol_put_record wrote with n = 1: copies the head (hl bytes) out
 * and points *str (may be NULL) at its string, valid until the next write in
 * txn. 0, MDB_NOTFOUND, another LMDB error, or MDB_CORRUPTED when short. */
int ol_get_record(MDB_txn *txn, MDB_dbi dbi, const ol_key *k, void *head, size_t hl, const char **str);
/* Puts k -> v unless k already holds exactly v. LMDB copies a key's leaf
 * page (and the path to it) on every put, even one that changes nothing, and
 * the commit writes and syncs that page: an index row a record finds already
 * there, or a figure recomputed to the same value, would cost a page each
 * (issue 15). 0 (stored or already so), or an LMDB error. */
int ol_put_unless_same(MDB_txn *txn, MDB_dbi dbi, MDB_val *k, MDB_val *v);
/* The same with an ol_key; -1 when k overflowed. */
int ol_put_key_unless_same(MDB_txn *txn, MDB_dbi dbi, const ol_key *k, const void *v, size_t vl);
/* Deletes k; a key that is not there is not an error. */
int ol_del_key(MDB_txn *txn, MDB_dbi dbi, const ol_key *k);

/* Rewrites every row of dbi under a new key, inside txn (a layout upgrade):
 * reads the rows (rekey writes each one's new key into *nk; non-zero stops
 * with that code, MDB_CORRUPTED for a row it does not recognise), empties the
 * database and puts them back sorted with MDB_APPEND, so the tree is built
 * dense. Memory: one copy of the database's keys and values, freed before
 * returning. Two rows that map to one key fail with MDB_KEYEXIST. *n gets
 * the rows rewritten. 0, an LMDB error, or ENOMEM. */
int ol_store_rekey(MDB_txn *txn, MDB_dbi dbi, int (*rekey)(const MDB_val *k, ol_key *nk, void *arg), void *arg,
                   size_t *n);

int ol_meta_offset_get(MDB_txn *txn, MDB_dbi meta, const char *topic, int32_t partition, int64_t *next);
int ol_meta_offset_put(MDB_txn *txn, MDB_dbi meta, const char *topic, int32_t partition, int64_t next);

#endif
