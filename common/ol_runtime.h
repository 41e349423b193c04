/* ol_runtime — the consume-fold-commit-publish loop, written once.
 *
 * A service declares its name, input topics, databases and two callbacks:
 *   apply(ctx, ev, old)  a new winning version of an input entity (old is the
 *                        version it replaces, or NULL); keep indexes, mark
 *                        dirty keys;
 *   flush(ctx)           end of batch: recompute the dirty keys and emit the
 *                        derived events that changed.
 * The runtime does the rest, for every service alike:
 *   decode (writer->reader resolution), validate, dead-letter what fails,
 *   skip event_ids already seen, keep the highest revision of every entity
 *   (equal revision + different content = a counted conflict, larger event_id
 *   wins), and store projection, offsets and outbox in ONE LMDB write
 *   transaction per batch; then publish the outbox through an idempotent
 *   producer and delete what the broker acknowledged.
 * The record source is pluggable: live Kafka, the audit archive, an array in
 * a unit test — one fold serves a live run, a replay and a test. */
#ifndef OL_RUNTIME_H
#define OL_RUNTIME_H

#include "ol_codec.h"
#include "ol_config.h"
#include "ol_drec.h"
#include "ol_schema.h"
#include "ol_store.h"

#include <avro.h>
#include <lmdb.h>
#include <stdint.h>

typedef struct ol_header {
    const char *name;
    const void *value;
    size_t len;
} ol_header;

/* One raw input record, as a source hands it over. */
typedef struct ol_record {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int64_t timestamp_ms; /* Kafka timestamp: the knowledge time */
    const void *key;
    size_t key_len;
    const void *value;
    size_t value_len;
    const ol_header *headers; /* the Kafka headers, as they came (may be NULL) */
    size_t nheaders;
} ol_record;

typedef struct ol_runtime ol_runtime;

/* A record source. poll() returns how many records it wrote into recs (0 when
 * none arrived within timeout_ms), or -1 on a fatal error. Records stay valid
 * until the next poll(). at_end() says a finite source is exhausted (a
 * replay, a test array, or Kafka with --stop-at-end at every partition's end). */
typedef struct ol_source {
    int (*start)(struct ol_source *src, ol_runtime *rt);
    int (*poll)(struct ol_source *src, ol_record *recs, int max, int timeout_ms);
    int (*at_end)(struct ol_source *src);
    /* optional: how many records are known to be waiting beyond what poll()
     * has handed out (a Kafka source: the high watermarks it last saw minus
     * its positions), -1 when not known yet; the runtime switches LMDB's
     * write path on it (lmdb_writemap = auto, ol_runtime.c) */
    int64_t (*backlog)(struct ol_source *src);
    void (*close)(struct ol_source *src);
    void *ctx;
} ol_source;

/* Decoded input event handed to apply(). */
typedef struct ol_event {
    const ol_record *rec;
    const ol_schema *schema; /* reader (current) schema of rec->topic */
    avro_value_t *value;
    const char *event_id;
    const char *entity_id;
    int64_t revision;
    int64_t occurred_at;
} ol_event;

typedef struct ol_fold_ctx ol_fold_ctx;

typedef struct ol_service {
    const char *name;
    const char *const *inputs;  /* NULL-terminated input topics */
    const char *const *outputs; /* NULL-terminated derived topics it emits */
    const char *const *dbs;     /* NULL-terminated service databases */
    int (*init)(ol_runtime *rt, void **state);              /* optional */
    void (*fini)(void *state);                               /* optional */
    int (*apply)(ol_fold_ctx *ctx, const ol_event *ev, avro_value_t *old);
    int (*flush)(ol_fold_ctx *ctx);
    /* raw services (the archive) get every record as it came, undecoded,
     * instead of apply(): no validation, dedupe or dead letters */
    int (*raw)(ol_fold_ctx *ctx, const ol_record *rec);
    /* optional: every version of an input entity that is not a repeated
     * event_id, whether it wins or not (stale and conflicting revisions
     * included), before the revision check; for services that keep an
     * entity's past (the risk register as of any week). The set of versions
     * it sees is the same whatever the arrival order. */
    int (*history)(ol_fold_ctx *ctx, const ol_event *ev);
    int64_t map_size; /* default LMDB map size when config has none (0: 16 GiB) */
    /* optional: called by ol_runtime_run after every turn of its loop (a
     * committed batch, or an idle poll of about poll_timeout_ms), outside any
     * transaction: for work that must follow a commit (the archive's
     * checkpoints). Non-zero stops the run as a fatal error. */
    int (*tick)(ol_runtime *rt, void *state);
} ol_service;

/* ---- for services, inside apply/flush */
MDB_txn *ol_fold_txn(ol_fold_ctx *ctx);
MDB_dbi ol_fold_dbi(ol_fold_ctx *ctx, const char *name);
void *ol_fold_state(ol_fold_ctx *ctx);
const ol_config *ol_fold_config(ol_fold_ctx *ctx);
/* the Schema Registry's text of writer schema id, when a registry is
 * configured and the id was fetched (for this batch or before); NULL
 * otherwise. Owned by the runtime. */
const char *ol_fold_writer_schema_text(ol_fold_ctx *ctx, int32_t id);
/* data time: the latest occurred_at seen by this service (persisted) */
int64_t ol_fold_data_time(ol_fold_ctx *ctx);
/* Marks a key dirty for flush (deduplicated, returned sorted). */
int ol_fold_mark(ol_fold_ctx *ctx, const void *key, size_t len);
/* The dirty keys, sorted bytewise and unique; valid during flush. */
size_t ol_fold_dirty(ol_fold_ctx *ctx, const MDB_val **keys);
/* The current version of an input entity, decoded into a per-topic scratch
 * value valid until the next lookup of the same topic. 1 found, 0 not, -1 error. */
int ol_fold_lookup(ol_fold_ctx *ctx, const char *topic, const char *entity_id, avro_value_t **out);
/* A fresh value of the derived topic's schema for the service to fill;
 * owned by the runtime, reset on every call. */
avro_value_t *ol_fold_new_derived(ol_fold_ctx *ctx, const char *topic);
/* The last emitted value of a derived key (decoded; valid until the next
 * call). 1 found, 0 not, -1 error. */
int ol_fold_derived_prev(ol_fold_ctx *ctx, const char *topic, const char *key, avro_value_t **out);
/* The int fields names[0..n) of the last emitted value of a derived key,
 * into out[0..n), each as ol_av_int would read it from
 * ol_fold_derived_prev's value (def when absent, null or not an int), read
 * from the stored bytes without decoding them. 1 found, 0 not (out left
 * alone), -1 error. */
int ol_fold_derived_prev_ints(ol_fold_ctx *ctx, const char *topic, const char *key, const char *const *names,
                              int32_t *out, int n, int32_t def);
/* Emits v (from ol_fold_new_derived) for key unless its content equals the
 * last emission: fills event_id, key and revision, stores it and appends it
 * to the outbox. Returns 1 emitted, 0 unchanged, -1 error. */
int ol_fold_emit(ol_fold_ctx *ctx, const char *topic, const char *key, avro_value_t *v);
/* A derived event of topic built from C values (common/ol_drec.h): the
 * topic's builder, owned by the runtime and cleared on every call; NULL
 * (logged) when the topic is not an output or its schema has a field the
 * builder cannot encode (that topic keeps ol_fold_new_derived). */
ol_drec *ol_fold_new_rec(ol_fold_ctx *ctx, const char *topic);
/* ol_fold_emit for a builder from ol_fold_new_rec: the same event, the same
 * bytes, the same return values (1 emitted, 0 unchanged, -1 error, also
 * when a field of r was left unset). */
int ol_fold_emit_rec(ol_fold_ctx *ctx, const char *topic, const char *key, ol_drec *r);
/* Adds to a named counter of the meta database (reported by `status`). */
int ol_fold_count(ol_fold_ctx *ctx, const char *counter, int64_t delta);

/* ---- for programs */
typedef struct ol_runtime_opts {
    const char *db_path;     /* LMDB environment directory */
    int publish;             /* 1: drain the outbox to Kafka */
    int batch_max;           /* records per batch/transaction */
    int poll_timeout_ms;
    int stop_at_end;         /* exit when the source is exhausted and the outbox empty */
    int bulk;                /* a rebuild into a fresh directory: OL_STORE_BULK (no sync per
                                batch; one at the end, see ol_store.h). Never for live runs. */
} ol_runtime_opts;

/* Creates a runtime for svc over an opened schema set. Caller frees. */
ol_runtime *ol_runtime_new(const ol_service *svc, const ol_config *cfg, const ol_schemas *schemas,
                           const ol_runtime_opts *opts, char *err, size_t errlen);
void ol_runtime_free(ol_runtime *rt);
/* Runs until stopped (signal, ol_runtime_stop) or the source ends.
 * 0 clean, -1 fatal (the message was logged). */
int ol_runtime_run(ol_runtime *rt, ol_source *src);
/* Folds exactly these records as one batch (tests, replay). */
int ol_runtime_fold_batch(ol_runtime *rt, const ol_record *recs, int n);
void ol_runtime_stop(ol_runtime *rt);
/* 1 once a stop was asked (signal or ol_runtime_stop): a source that waits
 * at its start (for a broker) gives up then */
int ol_runtime_stopping(const ol_runtime *rt);
/* Installs SIGINT/SIGTERM handlers that call ol_runtime_stop(rt). */
void ol_runtime_handle_signals(ol_runtime *rt);

ol_store *ol_runtime_store(ol_runtime *rt);
const ol_service *ol_runtime_service(ol_runtime *rt);
const ol_config *ol_runtime_config(ol_runtime *rt);
/* next offset of topic-partition from LMDB, or -1 when none stored */
int64_t ol_runtime_offset(ol_runtime *rt, const char *topic, int32_t partition);

/* Sources. Caller frees with src->close(src). */
ol_source *ol_source_kafka_new(const ol_config *cfg, const char *group, int stop_at_end);
ol_source *ol_source_array_new(const ol_record *recs, size_t n);

/* The databases the runtime owns in every service environment. */
#define OL_RT_DBS "meta", "versions", "derived", "outbox", "batches"
#define OL_RT_NDBS 5

/* The batch log (`batches` database): one row per committed batch, key the
 * batch number (8 bytes BE), value: largest record timestamp (8), count of
 * partitions (4), then per partition: topic length (2), topic, partition (4),
 * first offset (8), last offset (8). A replay uses it to fold exactly the
 * batches the live service folded, so derived revisions and event_ids come
 * out identical. */

/* The `derived` database's key of (topic, derived key): topic\0 locality\0
 * key\0, locality being the key's first |-separated week ("2026-W47") or
 * date component, or empty (ol_derived.c says why). ol_derived_key_of gives
 * back the derived key of a stored row (and its topic), NULL when the row's
 * key is not of that form. */
void ol_derived_key(ol_key *k, const char *topic, const char *key);
const char *ol_derived_key_of(const void *stored, size_t len, const char **topic);
/* 0 when the `derived` database of a read-only store is in that layout (or
 * empty); -1 with err naming the directory and what to do when an older
 * release wrote it and this release's service has not yet upgraded it. */
int ol_derived_readable(ol_store *st, MDB_txn *txn, char *err, size_t errlen);

/* deterministic event_id of a derived event: a UUID (version 8 layout)
 * from SHA-256("service\0key\0revision"); buf needs 37 bytes */
void ol_derived_event_id(const char *service, const char *key, int64_t revision, char buf[37]);

#endif
