/* ol_offsets — stored offsets against the broker's range (SPEC section 4,
 * "Offsets"), in one place for the three that need it: the Kafka source's
 * start-up and running checks (ol_source.c), `status --lag` (ol_svcmain.c)
 * and the operator's `opsledger offsets show|reset` (cmd_offsets.c).
 *
 * A stored offset is the NEXT offset a service reads of a partition
 * (meta key "offset/<topic>/<partition>"). Against the partition's low
 * watermark (its first offset still on the broker) and high watermark (the
 * offset the next record will get) it is:
 *   low <= next <= high   in range (next == high: caught up);
 *   next > high           beyond the end: the topic was recreated (the
 *                         embedded broker restarted empty) or a restore went
 *                         back in time; reading on would skip records;
 *   next < low            before the start: retention removed records the
 *                         service never folded.
 * Out of range is never resolved silently: the service stops, and an
 * operator resets the offsets with a recorded command. */
#ifndef OL_OFFSETS_H
#define OL_OFFSETS_H

#include <librdkafka/rdkafka.h>
#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum ol_offsets_verdict {
    OL_OFFSETS_IN_RANGE = 0,
    OL_OFFSETS_BEYOND_END,
    OL_OFFSETS_BEFORE_START,
};

/* The verdict of stored next offset `next` against low/high watermarks. */
enum ol_offsets_verdict ol_offsets_check(int64_t next, int64_t low, int64_t high);

/* What the verdict means, for messages: "beyond the partition's end: the
 * topic was recreated or a restore went back in time", ... */
const char *ol_offsets_verdict_text(enum ol_offsets_verdict v);

/* The fatal message of an out-of-range offset, logfmt (ol_log's "msg|k=v"):
 *   offset out of range: stored offset beyond the partition's end (...);
 *   nothing was folded from it; resolve with `opsledger offsets reset
 *   SERVICE ...`|service=S topic=T partition=P stored_offset=N low=L high=H
 * `stored` < 0 prints "none" (a partition read from its beginning). */
void ol_offsets_message(char *buf, size_t len, const char *service, const char *topic, int32_t partition,
                        int64_t stored, int64_t low, int64_t high);

/* The lag column of `status --lag` for one partition: "12", or a fault
 * "-20 (stored offset beyond the partition's end: topic recreated?)",
 * "5 (stored offset before the partition's start: 3 records removed by
 * retention were never folded)". Returns 1 for a fault, else 0. */
int ol_offsets_lag_text(char *buf, size_t len, int64_t next, int64_t low, int64_t high);

/* Parses a meta key "offset/<topic>/<partition>" (k->mv_size bytes, not
 * NUL-terminated). 1 when it is one (topic copied into topic[tlen]), else 0. */
int ol_offsets_parse_key(const MDB_val *k, char *topic, size_t tlen, int32_t *partition);

/* Low/high watermarks of a partition from the broker (ListOffsets earliest
 * and latest), retried for up to about timeout_ms on transient errors.
 * 0, or the librdkafka error. */
rd_kafka_resp_err_t ol_offsets_watermarks(rd_kafka_t *rk, const char *topic, int32_t partition, int timeout_ms,
                                          int64_t *low, int64_t *high);

/* 1 when a watermark query's error says the partition (or topic) does not
 * exist on the broker: a stored offset of it is a fault, not "unknown" */
int ol_offsets_partition_gone(rd_kafka_resp_err_t e);

/* `status --lag`: per stored offset, the broker's watermarks and the lag
 * (never clamped: a fault is printed with its cause), then consumer_lag, the
 * total. Reads the meta database in txn. The topic names, read from it, are
 * printed escaped for the terminal (ol_escape.h), then padded. Returns 0, 1
 * when any offset is out of range, 2 when the broker could not be asked (or
 * out of memory). */
int ol_offsets_print_lag(MDB_txn *txn, MDB_dbi meta, rd_kafka_t *rk, const char *service);

/* Reset records, meta key "offsets_reset/<n>" (n: six digits, from 1) with
 * a text value: a header line (at=... by=... mode=... changed=N) and then
 * one line per partition changed ("topic/partition old -> new"). */
#define OL_OFFSETS_RESET_PREFIX "offsets_reset/"
/* 1 when k is a reset record's key */
int ol_offsets_is_reset_key(const MDB_val *k);
/* Appends a reset record (and counts it in the counter offsets_resets);
 * returns 0 or an LMDB error; *number gets n. */
int ol_offsets_put_reset(MDB_txn *txn, MDB_dbi meta, const char *text, int64_t *number);

/* The pid of another process that has the LMDB environment at path open
 * (LMDB holds a shared fcntl lock on byte 0 of lock.mdb in every process
 * that opens it), 0 when none (or no lock file), -1 when it cannot be told.
 * Call it before this process opens the environment: closing the descriptor
 * it uses drops every fcntl lock this process holds on the file. */
pid_t ol_offsets_env_user(const char *path);

#endif
