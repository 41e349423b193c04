/* ol_state — the runtime's per-record state: the latest version of every
 * input entity and the event_ids already seen, at a cost per record that
 * does not grow with history (issue 15).
 *
 * Why: kept as two LMDB B-trees keyed by upstream's random UUIDs (the old
 * `entity` and `seen` databases), every record dirtied a random leaf page of
 * each tree, and each commit wrote and synced those pages: the more history,
 * the more pages, the slower every record. Here the durable state is an
 * append-only log (`versions`, key = sequence, written with MDB_APPEND in
 * the batch's one write transaction, so the commit stays the only point of
 * durability) and the look-ups go through in-memory hash indexes that are
 * derived state: rebuilt from the log at start, and again after a batch is
 * aborted (the log then holds exactly what was committed), never trusted
 * over the log: every index hit is checked against the log record it names.
 *
 * Log row value:
 *   kind (1: 'V' a winning version, 'S' an event_id seen without winning)
 *   revision (8, BE) | occurred_at (8, BE, INT64_MIN for derived inputs)
 *   topic length (1) | topic | entity id length (2, BE) | entity id
 *   event_id length (2, BE) | event_id | frame (the record as it came; 'V' only)
 *
 * Dedupe (SPEC 2): an event_id is a duplicate when it is the id of the
 * entity's stored version (always), or when a log row of another version
 * carries it with an occurred_at within the dedupe window of the data time
 * (35 days by default). The answer depends only on the log and the data
 * time, never on when the index was rebuilt, so a live run, a restarted one
 * and a replay agree. Superseded versions stay in the log (see the README's
 * state section for why and what that costs). */
#ifndef OL_STATE_H
#define OL_STATE_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ol_state ol_state;

/* the longest entity id or event_id a log row holds (validation bounds
 * them far lower; this guards the indexes against a corrupted log) */
#define OL_STATE_MAX_ID 1024

/* one version as the log holds it; pointers into the transaction's memory */
typedef struct ol_version {
    uint64_t seq;
    char kind;
    int64_t revision;
    int64_t occurred_at;
    const char *topic;
    size_t topic_len;
    const char *entity_id;
    size_t entity_len;
    const char *event_id;
    size_t event_len;
    const void *frame;
    size_t frame_len;
} ol_version;

/* A state over the log database `log` of env. Caller frees. The indexes are
 * built on the first ol_state_ready(). window_ms: the dedupe window. */
ol_state *ol_state_new(MDB_dbi log, int64_t window_ms);
void ol_state_free(ol_state *s);
/* Builds the indexes from the log if they are not current (at start, after
 * ol_state_invalidate). 0 or an LMDB error. */
int ol_state_ready(ol_state *s, MDB_txn *txn);
/* The batch was aborted: the indexes may name rows that were never
 * committed; they are rebuilt before the next use. since_ms: the dedupe
 * window's start at the last commit (the aborted batch may have moved it
 * on; the rebuild must keep the rows its retry can still ask about). */
void ol_state_invalidate(ol_state *s, int64_t since_ms);
/* The dedupe window now starts at since_ms (data time - window; it never
 * moves back): an index build leaves out event_ids that left it. */
void ol_state_set_window_start(ol_state *s, int64_t since_ms);

/* Starts loading the index slots of a record's entity and event_id into
 * the cache, so that the two look-ups that follow (ol_state_get, then
 * ol_state_seen) wait for memory once, not twice. Optional; changes
 * nothing. */
void ol_state_prefetch(ol_state *s, const char *topic, const char *entity_id, const char *event_id);
/* The latest version of (topic, entity id): 1 found (*out), 0 none, or an
 * LMDB error. */
int ol_state_get(ol_state *s, MDB_txn *txn, const char *topic, const char *entity_id, ol_version *out);
/* 1 when event_id was seen on a version whose occurred_at is at or after
 * since_ms (pass INT64_MIN for "ever"), 0 when not, or an LMDB error. */
int ol_state_seen(ol_state *s, MDB_txn *txn, const char *event_id, int64_t since_ms);
/* Appends a winning version (kind 'V') or a seen-only row (kind 'S', frame
 * NULL) and indexes it. 0 or an LMDB error. */
int ol_state_append(ol_state *s, MDB_txn *txn, char kind, const char *topic, const char *entity_id,
                    int64_t revision, int64_t occurred_at, const char *event_id, const void *frame,
                    size_t frame_len);

/* The snapshot of the indexes (ol_state_snapshot.c), written by the
 * runtime every so many rows and at a clean stop, so that a start indexes
 * only the rows after it. save: 0, EAGAIN when the indexes are not current
 * (nothing written), or an errno/LMDB error; txn must see every row indexed (a
 * transaction begun after the last commit). load: 1 when the snapshot was
 * adopted (the log still holds the row it was taken at, a sample of its
 * slots match the rows they name) and the rows after it were indexed, 0
 * when it was not, with why (the caller then builds from the whole log). */
int ol_state_save(ol_state *s, MDB_txn *txn, const char *path);
int ol_state_load(ol_state *s, MDB_txn *txn, const char *path, char *why, size_t whylen);
/* The runtime's pair of files, base and base.alt: save_pair writes the
 * older (or broken, or absent) one, so that a kill during a save leaves the
 * other whole; load_pair tries the newer, then the older, and removes a
 * file it refuses (1 adopted, 0 not, why as ol_state_load's). */
int ol_state_save_pair(ol_state *s, MDB_txn *txn, const char *base);
int ol_state_load_pair(ol_state *s, MDB_txn *txn, const char *base, char *why, size_t whylen);
/* The chain: a 64-bit hash of the log's rows in order, kept in memory
 * with the indexes. use_chain: the runtime's meta database, where
 * put_chain records it in each batch's transaction (call it after the
 * batch's last append), so that a snapshot's prefix is checked against the
 * log it is loaded into (ol_state_load refuses one whose chain, carried on
 * over the rows after it, is not the recorded one). chain_check: 0 when
 * the recorded chain is the indexes' or none is recorded (*recorded 0),
 * MDB_CORRUPTED when it differs, or an LMDB error. */
void ol_state_use_chain(ol_state *s, MDB_dbi meta);
int ol_state_put_chain(ol_state *s, MDB_txn *txn);
/* put_chain for a store whose recorded chain is missing or wrong (before
 * the chain, or recorded by the single-lane hash of 2026-12-02 and
 * earlier, whose key it removes) */
int ol_state_record_chain(ol_state *s, MDB_txn *txn);
/* 1 for a meta key the chain is kept under (`status` does not print them) */
int ol_state_is_chain_key(const void *key, size_t len);
int ol_state_chain_check(ol_state *s, MDB_txn *txn, int *recorded);
/* Where the runtime keeps the snapshot (NULL: none): a build after
 * ol_state_invalidate loads it and indexes the rows after it, and reads
 * the whole log only when it is refused. 0 or ENOMEM. */
int ol_state_use_snapshot(ol_state *s, const char *path);
/* 1 when every (> 0) rows were appended since the last snapshot saved or
 * loaded (or since the start, when there was none) */
int ol_state_snapshot_due(const ol_state *s, uint64_t every);

/* Parses a log row. 0, or MDB_CORRUPTED. */
int ol_state_parse(const MDB_val *k, const MDB_val *v, ol_version *out);

/* Memory of the indexes (bytes) and their entries, for the benchmark. */
size_t ol_state_memory(const ol_state *s, size_t *entities, size_t *event_ids);
/* Time the last index build took, in microseconds. */
int64_t ol_state_build_us(const ol_state *s);
/* Rows the last load indexed after its snapshot (0 after a full build). */
uint64_t ol_state_tail_rows(const ol_state *s);

/* The latest version of every entity, in the layout and key order of the
 * old `entity` database (key: topic NUL entity id NUL; value: revision (8,
 * BE) | event_id length (2, BE) | event_id | frame), for dumps and tests
 * that compare projections byte for byte, and for read-only look-ups.
 * Reads the whole log: O(versions). cb returns non-zero to stop (that value
 * is returned). */
typedef int (*ol_state_row_cb)(const MDB_val *key, const MDB_val *value, void *arg);
int ol_state_foreach_latest(MDB_txn *txn, MDB_dbi log, ol_state_row_cb cb, void *arg);

/* Read-only look-ups for queries (a process without the indexes): the
 * latest versions of topic (NULL: all) collected once, O(versions), then
 * each ol_state_ro_get in O(log n): 1 found (*out), 0 not, or an error. */
typedef struct ol_state_ro ol_state_ro;
ol_state_ro *ol_state_ro_open(MDB_txn *txn, MDB_dbi log, const char *topic);
int ol_state_ro_get(ol_state_ro *ro, MDB_txn *txn, MDB_dbi log, const char *topic, const char *id,
                    ol_version *out);
void ol_state_ro_free(ol_state_ro *ro);

#endif
