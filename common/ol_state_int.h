/* ol_state_int.h — the in-memory indexes of ol_state, shared by the live
 * index code (ol_state.c) and its snapshot (ol_state_snapshot.c). Nothing
 * else includes this but tests/unit/test_state.c, for the chain's hash. */
#ifndef OL_STATE_INT_H
#define OL_STATE_INT_H

#include "ol_state.h"

#include <stdint.h>

/* One slot of an open-addressing table (linear probing), 12 bytes:
 * h: 32 bits of the key's hash (0: empty; the low bits are the home
 * position, so a table holds up to 2^32 slots), seq: the log row it names
 * (48 bits, split in two halves to keep the slot 4-byte aligned), day: the
 * day of that row's occurred_at (DAY_NEVER for none), which lets the seen
 * index drop rows that left the dedupe window without reading the log.
 * Every hash match is checked against the log row it names, so 32 bits of
 * hash only decide how often a probe reads a row it did not need. */
struct slot {
    uint32_t h;
    uint32_t seq_lo;
    uint16_t seq_hi;
    uint16_t day;
};
#define DAY_NEVER 0xffff
#define DAY_MS 86400000LL

static inline uint64_t slot_seq(const struct slot *s) { return (uint64_t)s->seq_hi << 32 | s->seq_lo; }
static inline void slot_set(struct slot *s, uint32_t h, uint64_t seq, unsigned day)
{
    s->h = h;
    s->seq_lo = (uint32_t)seq;
    s->seq_hi = (uint16_t)(seq >> 32);
    s->day = (uint16_t)day;
}

struct table {
    struct slot *s; /* ol_state_table_alloc: mmap'd, huge pages advised */
    size_t cap;     /* a power of two, or 0 */
    size_t n;
    uint64_t gen; /* a new value (ol_state.gens) at every change: a remembered probe is valid until then */
};

/* the last key hashed per index, with the probe made for it: a record's
 * look-up and its append hash and probe the same key; the append reuses the
 * probe when the table did not change in between (compared by content, so a
 * reused buffer cannot mislead) */
struct hcache {
    uint32_t h; /* 0: nothing cached */
    size_t n1, n2;
    char key[OL_STATE_MAX_ID + 256 + 2];
    uint64_t gen; /* the table's gen at the probe, 0: no probe */
    long j;       /* the probe's slot */
    int found;
    int64_t occurred_at; /* the found row's (seen index) */
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
    int64_t since_ms; /* the dedupe window's start at the last ol_state_seen (never decreases) */
    struct hcache c_ent, c_seen;
    uint64_t gens; /* the last table gen given out */
    uint64_t snap_seq;  /* next_seq of the last snapshot saved or loaded (1: none) */
    uint64_t tail_rows; /* rows indexed after the snapshot at the last load (0 after a full build) */
    char *snap_path;    /* ol_state_use_snapshot: tried before a full build once the indexes were invalidated */
    uint64_t chain;     /* ol_state_chain_step over the log's rows 1 .. next_seq - 1 (0: none) */
    MDB_dbi meta;       /* ol_state_use_chain: where the committed chain is kept */
    int has_meta;
};

/* the chain after one more log row of value v: a 64-bit hash of the whole
 * log up to it, so that a snapshot's prefix can be checked against the log
 * without reading it */
uint64_t ol_state_chain_step(uint64_t chain, const void *v, size_t n);
/* the meta key of the committed chain */
#define OL_STATE_CHAIN_KEY "log_chain2" /* 2: hash_row's four lanes; a store with only the first is recorded anew */

/* the 32-bit hash of a then b (b may be NULL), never 0 */
uint32_t ol_state_hash(uint64_t seed, const void *a, size_t an, const void *b, size_t bn);
/* a zeroed slot array of cap slots (huge pages advised), or NULL */
struct slot *ol_state_table_alloc(size_t cap);
void ol_state_table_free(struct table *t);
/* indexes the log's rows from sequence first to its end (next_seq must be
 * first); 0 or an LMDB error */
int ol_state_index_from(ol_state *s, MDB_txn *txn, uint64_t first);
/* the log row seq: 0, MDB_CORRUPTED when the log lacks it, or an LMDB error */
int ol_state_row_at(const ol_state *s, MDB_txn *txn, uint64_t seq, ol_version *out);

#endif
