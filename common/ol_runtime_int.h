/* ol_runtime_int — the runtime's private structures, shared by its files
 * (ol_runtime.c: the batch fold; ol_outbox.c: the outbox and publisher;
 * ol_fold.c: the helpers services call). Not for services. */
#ifndef OL_RUNTIME_INT_H
#define OL_RUNTIME_INT_H

#include "ol_arena.h"
#include "ol_metrics.h"
#include "ol_runtime.h"
#include "ol_state.h"

#include <librdkafka/rdkafka.h>
#include <signal.h>

#define OL_MAX_TOPICS 24
/* The map's touched pages are given back to the kernel (ol_store_release)
 * at most once a second: the check runs every OL_RELEASE_EVERY records plus
 * derived events. Releasing every 1,024 units (as before) made every later
 * B-tree look-up fault its pages back in; at 10,000 records/s live, page
 * faults were about a third of the service's time (perf, tests/bench/
 * README.md) and this re-fault was one of their two sources (the other is
 * LMDB's copy-on-write). Once a second bounds the re-fault to about 1 % of
 * the time and the resident map to one second of work. */
#define OL_RELEASE_EVERY 1024
#define OL_RELEASE_INTERVAL_US 1000000
/* a bulk rebuild (replay into a fresh directory) is not a resident service:
 * its pages are released every 256 Ki units, not every 1 Ki, since every
 * release makes the next records fault the map's pages back in (~10 % of a
 * replay's time at 1 Ki, measured on 474,089 records) */
#define OL_RELEASE_EVERY_BULK 262144
/* records of one batch that may fail in the fold (each then a dead letter)
 * before the failure counts as the service's own fault and stops it: a fold
 * that fails on every record is a bug or an environment, not bad input */
#define OL_MAX_POISON 64
/* the most bytes of a bad record's value a dead letter carries (its first
 * bytes; headers give the whole size and SHA-256): half of Kafka's default
 * message.max.bytes, so a dead letter always fits */
#define OL_DEADLETTER_MAX_VALUE ((size_t)512 * 1024)

struct topic_io {
    const char *topic;
    const ol_schema *schema;
    ol_decoder *dec;    /* incoming records */
    ol_decoder *old;    /* the version being replaced */
    ol_decoder *lookup; /* ol_fold_lookup scratch */
    /* the frame lookup last decoded (a copy; valid when lookup_valid): a
     * look-up of the same bytes hands back the decoded value without
     * decoding again. A flush looks the same engagement or person up for
     * line after line (billing: 8 % of a replay went to such decodes). */
    uint8_t *lookup_frame;
    size_t lookup_len, lookup_cap;
    int lookup_valid;
};

struct derived_io {
    const char *topic;
    const ol_schema *schema;
    avro_value_t fresh; /* ol_fold_new_derived */
    ol_decoder *prev;   /* ol_fold_derived_prev */
    ol_drec *rec;       /* ol_fold_new_rec's builder (owned; made at its first call) */
    int envelope_first; /* fields 0..2 are event_id (string), key (string), revision (long):
                           ol_fold_emit compares bodies without decoding (ol_fold.c) */
    unsigned char *not_content; /* per top-level field: 1 for the envelope and the delta
                                   fields, which ol_fold_emit leaves out of "changed?" */
    size_t nfields;
};

enum rt_counter { C_RECORDS, C_FOLDED, C_DUPLICATES, C_STALE, C_CONFLICTS, C_DEADLETTERS, C_EMITTED, C_BATCHES, C_N };
extern const char *const ol_rt_counter_names[C_N];

struct ol_fold_ctx {
    ol_runtime *rt;
    MDB_txn *txn;
    /* a cursor on `derived` in txn (opened at the first look-up, freed by
     * LMDB with the transaction: NULL whenever txn is new). An emission
     * reads its key's previous event and then writes the new one, often
     * after ol_fold_derived_prev read the same key: the cursor, still on
     * that key, spares the second and third B-tree descents (ol_fold.c). */
    MDB_cursor *derived_c;
};

struct ol_runtime {
    const ol_service *svc;
    const ol_config *cfg;
    const ol_schemas *schemas;
    ol_runtime_opts opts;
    ol_store store;
    /* lmdb_writemap = auto: the write path follows the source's backlog */
    int writemap_auto;
    int64_t writemap_backlog; /* records behind at which MDB_WRITEMAP is taken; back under batch_max */
    MDB_dbi meta, versions, derived, outbox, batches;
    ol_state *state_idx;      /* the version log's indexes (ol_state.h) */
    int64_t dedupe_window_ms; /* config dedupe_window_days (default 35) */
    uint64_t snapshot_rows;   /* config index_snapshot_rows: the indexes saved every so many log rows (0: at a clean stop only) */
    struct topic_io in[OL_MAX_TOPICS];
    size_t nin;
    struct derived_io out[OL_MAX_TOPICS];
    size_t nout;
    void *state;
    volatile sig_atomic_t stop;
    int64_t counters[C_N];
    int64_t data_time;
    uint64_t since_release; /* records + emissions since the last release check */
    int64_t released_us;    /* monotonic time of the last ol_store_release */
    /* dirty keys of the current batch */
    MDB_val *dirty;
    size_t ndirty, capdirty;
    ol_arena dirty_keys; /* the bytes of dirty[]'s keys, reset with them */
    /* offsets advanced in the current batch */
    struct {
        const char *topic;
        int32_t partition;
        int64_t first, next;
    } *offs;
    int64_t batch_max_ts; /* the largest record timestamp of the current batch */
    size_t noffs, capoffs;
    /* publisher */
    rd_kafka_t *producer;
    /* the output topics' handles, held from the start so that their
     * partitions are known before the first event (ol_outbox_start) */
    rd_kafka_topic_t *warm[OL_MAX_TOPICS + 1];
    size_t nwarm;
    uint64_t outbox_seq;    /* last seq written to the outbox */
    uint64_t enqueued_seq;  /* highest seq handed to the producer */
    uint64_t *acked;        /* acknowledged, still to delete */
    size_t nacked, capacked;
    size_t inflight;
    int producer_failed;
    ol_metrics *metrics; /* NULL: metrics off; set by ol_metrics_attach, not owned */
};

/* ol_outbox.c */
int ol_outbox_append(ol_runtime *rt, MDB_txn *txn, const char *topic, const void *key, size_t klen,
                     const ol_header *hdrs, size_t nhdrs, const void *val, size_t vlen);
/* deletes the acknowledged rows in txn; rt->nacked is reset by the caller
 * after txn committed (an aborted or retried batch deletes them again) */
int ol_outbox_delete_acked(ol_runtime *rt, MDB_txn *txn);
int ol_outbox_publish(ol_runtime *rt, int timeout_ms);
int ol_outbox_start(ol_runtime *rt, char *err, size_t errlen);
int64_t ol_outbox_depth(ol_runtime *rt);
void ol_outbox_stop(ol_runtime *rt, int flush_ms);

/* ol_runtime.c */
void ol_rt_dirty_clear(ol_runtime *rt);
/* the dedupe window's start at data time t (INT64_MIN: no data yet, or a t
 * so early that the window reaches past the clock's start) */
static inline int64_t ol_rt_window_start(const ol_runtime *rt, int64_t t)
{
    return t < INT64_MIN + rt->dedupe_window_ms ? INT64_MIN : t - rt->dedupe_window_ms;
}
/* counts n units of work; releases the map's pages when OL_RELEASE_EVERY units
 * accumulated and OL_RELEASE_INTERVAL_US passed (bulk: OL_RELEASE_EVERY_BULK units) */
void ol_rt_release_tick(ol_runtime *rt, uint64_t n);
/* the indexes' snapshot written now (ol_runtime.c); why: the occasion, logged */
void ol_rt_save_index(ol_runtime *rt, const char *why);

/* ol_runtime_record.c: folds one record of the batch's transaction. 0
 * (folded, skipped as a duplicate or stale, or dead-lettered) or an LMDB
 * error / -1 that must abort the batch. poison: why an earlier attempt of
 * this batch failed on this record (it becomes a dead letter), or NULL. */
int ol_rt_fold_one(ol_runtime *rt, ol_fold_ctx *ctx, const ol_record *r, const char *poison);
/* notes the record's offset among the batch's next offsets: 0 or -1 (memory) */
int ol_rt_note_offset(ol_runtime *rt, const ol_record *r);

/* ol_runtime_owner.c: the meta key naming the service a directory belongs
 * to; the owner read before the directory is opened for writing, and
 * checked (or recorded, at the first start) once it is open. 0, or -1 with
 * err naming both services. */
#define OL_META_SERVICE_KEY "service"
int ol_rt_peek_owner(const ol_service *svc, const char *path, char *err, size_t errlen);
int ol_rt_check_owner(ol_runtime *rt, const ol_service *svc, const char *path, char *err, size_t errlen);

/* ol_fold.c: 1 when the schema's first fields are event_id (string), key
 * (string) and revision (long), in that order */
int ol_fold_envelope_first(const ol_schema *s);
/* ol_fold.c: 1 when a derived record's top-level field is not content: the
 * envelope (event_id, key, revision) or a delta (a name that starts with
 * "delta_" or ends with "_delta"); see schemas/README.md */
int ol_fold_field_not_content(const char *name);
/* ol_fold.c: the not-content mask of a derived schema's top-level fields
 * (malloc'ed, *n entries); -1 when out of memory or not a record */
int ol_fold_content_mask(const ol_schema *s, unsigned char **mask, size_t *n);
/* ol_derived.c: at open, rewrites a `derived` database of the layout before
 * ol_derived_key (topic\0 key\0) in one transaction; 0 or -1 with err */
int ol_derived_migrate(ol_runtime *rt, char *err, size_t errlen);

#endif
