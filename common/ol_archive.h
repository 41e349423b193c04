/* ol_archive — the audit archive: every input record as it came from Kafka
 * (topic, partition, offset, Kafka timestamp, key, value bytes), in the
 * archive service's commit order, each row carrying a SHA-256 chained to the
 * previous row's: hash_n = SHA-256(hash_{n-1} || body_n), hash_0 = 32 zero
 * bytes. Changing, removing or reordering any row breaks every later hash.
 *
 * LMDB environment (written by opsledger-archive, read by verify, replay and
 * export):
 *   records    seq (8, BE, from 1) -> hash (32) | body
 *   by_offset  topic\0 partition (i32) offset (i64) -> seq (8, BE)
 * body: timestamp (8) | partition (4) | offset (8) | topic len (2) | topic |
 *       key len (4, 0xffffffff = null) | key | value len (4) | value |
 *       header count (2) | { name len (2) | name | value len (4) | value }* */
#ifndef OL_ARCHIVE_H
#define OL_ARCHIVE_H

#include "ol_config.h"
#include "ol_runtime.h"
#include "ol_store.h"

#include <stdint.h>

#define OL_ARCHIVE_DBS "records", "by_offset"

/* A writer schema in the chain (issue 19 with a Schema Registry): a row of
 * topic OL_ARCHIVE_SCHEMA_TOPIC (no Kafka topic can be named so), partition
 * -1, offset the registry id, no key, value the registry's schema text, no
 * headers, appended once per id just before the first record framed with
 * it (timestamp: that record's). It is not in by_offset. The copy in
 * `registry_schemas`, which replay and export read, must equal it: verify
 * refuses an archive where it does not (a schema edited or added outside
 * the chain would change how the chained bytes decode). */
#define OL_ARCHIVE_SCHEMA_TOPIC "@schema"

typedef struct ol_arec {
    uint64_t seq;
    const uint8_t *hash; /* 32 bytes */
    const uint8_t *body;
    size_t body_len;
    int64_t timestamp_ms;
    int32_t partition;
    int64_t offset;
    char topic[256];
    const void *key; /* NULL when the record had no key */
    size_t key_len;
    const void *value;
    size_t value_len;
    size_t nheaders;
    const uint8_t *headers; /* the encoded header section; walk with ol_archive_header() */
} ol_arec;

/* The i-th header of a parsed row (i < a->nheaders). 0, or -1 when malformed. */
int ol_archive_header(const ol_arec *a, size_t i, const char **name, size_t *name_len, const void **value,
                      size_t *value_len);

/* Parses a records row. 0, or -1 when malformed. */
int ol_archive_parse(uint64_t seq, const MDB_val *v, ol_arec *out);
/* Builds a row (hash | body) for r chained after prev; *row malloc'ed,
 * caller frees. */
int ol_archive_row(const ol_record *r, const uint8_t prev[32], uint8_t **row, size_t *len);
void ol_archive_chain(const uint8_t prev[32], const void *body, size_t len, uint8_t out[32]);

/* the archive directory: --archive DIR, else <data_dir>/archive */
void ol_archive_dir(const ol_config *cfg, const char *flag, char *out, size_t outlen);
int ol_archive_open(ol_store *st, const char *dir, int readonly, char *err, size_t errlen);

/* ---- trust (ol_archive_verify.c, ol_archive_checkpoint.c): nothing reads
 * the archive without checking it. The row layout is documented byte by byte
 * in services/archive/README.md so that an auditor recomputes it alone. */

/* Checks data.mdb in dir before LMDB maps it: a missing file is not an error
 * here (0; opening reports it), an empty, foreign (no LMDB meta page) or
 * truncated file (shorter than the last page its newest meta page uses,
 * which would be SIGBUS when read through the map) is -1 with err. */
int ol_archive_check_file(const char *dir, char *err, size_t errlen);

/* One anchor of the chain's head, kept outside the LMDB environment: the
 * archive had record `seq` with chain hash `hash` at wall-clock time_ms. */
typedef struct ol_archive_checkpoint {
    uint64_t seq;
    uint8_t hash[32];
    int64_t time_ms;
    unsigned line; /* in its file, for messages */
} ol_archive_checkpoint;

/* The checkpoint file of an archive: flag, else config archive_checkpoints,
 * else "<archive dir>.checkpoints" (beside the environment, not in it). */
void ol_archive_checkpoints_path(const ol_config *cfg, const char *archive_dir, const char *flag, char *out,
                                 size_t outlen);
/* Reads a checkpoint file (lines "SEQ HASH_HEX TIME_MS TIME_RFC3339"; '#'
 * comments; a last line without its newline is a torn append and ignored).
 * *cps is malloc'ed and sorted by seq, caller frees. 0 loaded, 1 the file
 * does not exist (*cps NULL, *n 0), -1 unreadable or malformed (err). */
int ol_archive_checkpoints_load(const char *path, ol_archive_checkpoint **cps, size_t *n, char *err,
                                size_t errlen);
/* Appends one checkpoint line to path (created 0600) and fsyncs it.
 * 0 or -1 with err. */
int ol_archive_checkpoint_append(const char *path, uint64_t seq, const uint8_t hash[32], int64_t time_ms, char *err,
                                 size_t errlen);

typedef struct ol_archive_report {
    uint64_t records;     /* rows checked, writer schema rows included */
    uint64_t schemas;     /* of which writer schema rows */
    uint64_t unanchored;  /* writer schemas kept by an archive from before they were chained (warn) */
    uint8_t head[32];     /* hash of the last row (zeros when empty) */
    size_t anchors;       /* checkpoints matched */
    uint64_t anchor_seq;  /* the highest checkpointed record matched */
    int64_t anchor_time;  /* and its time */
    char msg[1024];       /* the first failure, naming the record */
} ol_archive_report;

/* Verifies the archive as seen by txn (read-only): records numbered 1..n
 * without gap, every row parses, every hash chains from the one before,
 * the by_offset index maps exactly each row's (topic, partition, offset)
 * to its seq and holds nothing else, and every checkpoint (sorted, from
 * ol_archive_checkpoints_load; cp_path names them in messages) matches the
 * row at its seq, none beyond the head. Load checkpoints BEFORE beginning
 * txn: a checkpoint is written after its commit, so it is then inside the
 * snapshot. 0 verifies, 1 broken, -1 cannot read; rep->msg says why. */
int ol_archive_verify(MDB_txn *txn, const ol_store *st, const ol_archive_checkpoint *cps, size_t ncps,
                      const char *cp_path, ol_archive_report *rep);

/* A source of archived records with Kafka timestamp <= as_of_ms. It first
 * verifies the archive in the snapshot it reads (ol_archive_verify with
 * cps, the checkpoints loaded beforehand) and returns NULL with err when it
 * does not verify: a replay never folds an archive it has not checked. When
 * batch_log (a service's environment with its `batches` database) is given,
 * Only records of `topics` (NULL-terminated: the service's inputs) are
 * yielded; it first yields exactly the batches the live service committed, while
 * their records are all at or before as_of; then the remaining records in
 * archive order, batch_max at a time. Prints progress on stderr (a bar on a
 * terminal, plain lines otherwise). Caller closes with src->close(src). */
ol_source *ol_source_archive_new(ol_store *archive, const char *const *topics, int64_t as_of_ms, ol_store *batch_log,
                                 int batch_max, const ol_archive_checkpoint *cps, size_t ncps, const char *cp_path,
                                 char *err, size_t errlen);

#endif
