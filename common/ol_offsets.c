/* ol_offsets — see ol_offsets.h. Exists so that the source's checks, the
 * status lag and the operator command judge a stored offset by the same
 * rule and print the same words. */
#include "ol_offsets.h"
#include "ol_escape.h"
#include "ol_store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum ol_offsets_verdict ol_offsets_check(int64_t next, int64_t low, int64_t high)
{
    if (next > high)
        return OL_OFFSETS_BEYOND_END;
    if (next < low)
        return OL_OFFSETS_BEFORE_START;
    return OL_OFFSETS_IN_RANGE;
}

const char *ol_offsets_verdict_text(enum ol_offsets_verdict v)
{
    switch (v) {
    case OL_OFFSETS_BEYOND_END:
        return "stored offset beyond the partition's end: the topic was recreated (an embedded broker restarts "
               "empty) or a restore went back in time; reading on would skip records";
    case OL_OFFSETS_BEFORE_START:
        return "stored offset before the partition's start: retention removed records this service never "
               "folded";
    case OL_OFFSETS_IN_RANGE:
        break;
    }
    return "in range";
}

void ol_offsets_message(char *buf, size_t len, const char *service, const char *topic, int32_t partition,
                        int64_t stored, int64_t low, int64_t high)
{
    char st[32];
    enum ol_offsets_verdict v = stored < 0 ? OL_OFFSETS_BEFORE_START : ol_offsets_check(stored, low, high);
    if (stored < 0)
        snprintf(st, sizeof st, "none");
    else
        snprintf(st, sizeof st, "%" PRId64, stored);
    snprintf(buf, len,
             "offset out of range: %s; stopping, nothing read from it is folded; an operator resolves it with "
             "`opsledger offsets reset %s --to-beginning|--to-end|--topic T --partition P --offset O`"
             "|service=%s topic=%s partition=%" PRId32 " stored_offset=%s low=%" PRId64 " high=%" PRId64,
             ol_offsets_verdict_text(v), service, service, topic, partition, st, low, high);
}

int ol_offsets_lag_text(char *buf, size_t len, int64_t next, int64_t low, int64_t high)
{
    switch (ol_offsets_check(next, low, high)) {
    case OL_OFFSETS_BEYOND_END:
        snprintf(buf, len, "%" PRId64 " (stored offset beyond the partition's end: topic recreated?)", high - next);
        return 1;
    case OL_OFFSETS_BEFORE_START:
        snprintf(buf, len,
                 "%" PRId64 " (stored offset before the partition's start: %" PRId64
                 " records removed by retention were never folded)",
                 high - next, low - next);
        return 1;
    case OL_OFFSETS_IN_RANGE:
        break;
    }
    snprintf(buf, len, "%" PRId64, high - next);
    return 0;
}

int ol_offsets_parse_key(const MDB_val *k, char *topic, size_t tlen, int32_t *partition)
{
    static const char pre[] = "offset/";
    const size_t pl = sizeof pre - 1;
    const char *p = k->mv_data;
    if (k->mv_size <= pl || memcmp(p, pre, pl) != 0)
        return 0;
    /* the partition is after the last '/': topic names have no '/' but say so anyway */
    size_t slash = k->mv_size;
    while (slash > pl && p[slash - 1] != '/')
        slash--;
    if (slash <= pl + 1 || slash == k->mv_size)
        return 0;
    size_t tl = slash - 1 - pl;
    if (tl >= tlen)
        return 0;
    int64_t part = 0;
    for (size_t i = slash; i < k->mv_size; i++) {
        if (p[i] < '0' || p[i] > '9' || part > INT32_MAX / 10)
            return 0;
        part = part * 10 + (p[i] - '0');
    }
    if (part > INT32_MAX)
        return 0;
    memcpy(topic, p + pl, tl);
    topic[tl] = '\0';
    *partition = (int32_t)part;
    return 1;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One ListOffsets look-up (which: RD_KAFKA_OFFSET_BEGINNING or _END) of
 * topic/partition within timeout_ms. rd_kafka_offsets_for_times, not
 * rd_kafka_query_watermark_offsets: librdkafka 2.0's watermark query waits
 * for its answers without looking at its time-out, and while the leader
 * cannot be reached its requests are retried for ever (librdkafka issue
 * #2588, fixed in 2.3.0): a service starting, or the metrics' lag thread,
 * would hang, deaf to SIGTERM. This call keeps its deadline; an answer
 * after it is dropped by librdkafka. */
static rd_kafka_resp_err_t list_offset(rd_kafka_t *rk, const char *topic, int32_t partition, int64_t which,
                                       int timeout_ms, int64_t *out)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    if (!l)
        return RD_KAFKA_RESP_ERR__FAIL;
    rd_kafka_topic_partition_list_add(l, topic, partition)->offset = which;
    rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(rk, l, timeout_ms);
    if (!e)
        e = l->elems[0].err;
    if (!e && l->elems[0].offset < 0)
        e = RD_KAFKA_RESP_ERR__FAIL;
    if (!e)
        *out = l->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(l);
    return e;
}

/* both watermarks, each look-up within its share of timeout_ms */
static rd_kafka_resp_err_t query_watermarks(rd_kafka_t *rk, const char *topic, int32_t partition, int timeout_ms,
                                            int64_t *low, int64_t *high)
{
    int64_t lo = -1, hi = -1;
    int64_t t0 = mono_ms();
    rd_kafka_resp_err_t e = list_offset(rk, topic, partition, RD_KAFKA_OFFSET_BEGINNING, timeout_ms, &lo);
    int left = timeout_ms - (int)(mono_ms() - t0);
    if (!e)
        e = list_offset(rk, topic, partition, RD_KAFKA_OFFSET_END, left > 100 ? left : 100, &hi);
    if (e)
        return e;
    /* in order, as the watermark query gave them (a topic recreated between
     * the two look-ups could answer a start past the end) */
    *low = lo < hi ? lo : hi;
    *high = lo < hi ? hi : lo;
    return RD_KAFKA_RESP_ERR_NO_ERROR;
}

rd_kafka_resp_err_t ol_offsets_watermarks(rd_kafka_t *rk, const char *topic, int32_t partition, int timeout_ms,
                                          int64_t *low, int64_t *high)
{
    int64_t deadline = mono_ms() + timeout_ms;
    rd_kafka_resp_err_t e;
    for (;;) {
        int64_t left = deadline - mono_ms();
        e = query_watermarks(rk, topic, partition, (int)(left < 1000 ? 1000 : left > 5000 ? 5000 : left), low,
                             high);
        if (!e)
            return e;
        /* a broker still starting, a leader being elected: ask again */
        int transient = e == RD_KAFKA_RESP_ERR__TRANSPORT || e == RD_KAFKA_RESP_ERR__TIMED_OUT ||
                        e == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE ||
                        e == RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION || e == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ||
                        e == RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT;
        if (!transient || mono_ms() >= deadline)
            return e;
        usleep(200 * 1000);
    }
}

/* one offset_fault line of status --lag, printed after the total */
struct lag_fault {
    char topic[256];
    int32_t partition;
    int gone; /* the partition no longer exists */
    int64_t next, lo, hi;
    char text[200];
};

int ol_offsets_print_lag(MDB_txn *txn, MDB_dbi meta, rd_kafka_t *rk, const char *service)
{
    MDB_cursor *c;
    MDB_val k, v;
    int64_t total = 0;
    int faults = 0, rc;
    struct lag_fault lines[64];
    int nlines = 0, more = 0;
    /* the topic names come from the projection: escaped for the terminal,
     * then padded, so that a column holds what the terminal shows */
    ol_esc_arena esc = OL_ESC_ARENA_INIT;

    if ((rc = mdb_cursor_open(txn, meta, &c))) {
        printf("  %-40s unknown (%s)\n", "consumer_lag", mdb_strerror(rc));
        return 2;
    }
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        char topic[256], text[200];
        int32_t partition;
        int64_t lo = -1, hi = -1;
        if (v.mv_size != 8 || !ol_offsets_parse_key(&k, topic, sizeof topic, &partition))
            continue;
        rd_kafka_resp_err_t e = ol_offsets_watermarks(rk, topic, partition, 5000, &lo, &hi);
        int64_t next = (int64_t)ol_be64(v.mv_data);
        int gone = ol_offsets_partition_gone(e);
        if (e && !gone) {
            printf("  %-40s unknown (%s [%" PRId32 "]: %s)\n", "consumer_lag", ol_esc_a(&esc, OL_ESC_TEXT, topic),
                   partition, rd_kafka_err2str(e));
            ol_esc_arena_reset(&esc);
            mdb_cursor_close(c);
            return 2;
        }
        if (!gone)
            total += hi - next; /* never clamped: a negative lag is a fault, not zero */
        if (gone || ol_offsets_lag_text(text, sizeof text, next, lo, hi)) {
            faults++;
            if (nlines < 64) {
                struct lag_fault *f = &lines[nlines++];
                snprintf(f->topic, sizeof f->topic, "%s", topic);
                snprintf(f->text, sizeof f->text, "%s", gone ? "" : text);
                f->partition = partition;
                f->gone = gone;
                f->next = next;
                f->lo = lo;
                f->hi = hi;
            } else
                more++;
        }
    }
    mdb_cursor_close(c);
    if (faults)
        printf("  %-40s %" PRId64 " (fault: %d partition(s) out of range, listed below; the service refuses to "
               "run until `opsledger offsets reset %s ...`)\n",
               "consumer_lag", total, faults, service);
    else
        printf("  %-40s %" PRId64 "\n", "consumer_lag", total);
    for (int i = 0; i < nlines; i++) {
        const struct lag_fault *f = &lines[i];
        char name[300];
        snprintf(name, sizeof name, "offset_fault %.255s/%" PRId32, f->topic, f->partition);
        const char *shown = ol_esc_a(&esc, OL_ESC_TEXT, name);
        if (f->gone)
            printf("  %-40s ? (the partition no longer exists: topic recreated with fewer partitions?) stored %" PRId64
                   "\n",
                   shown, f->next);
        else
            printf("  %-40s %s stored %" PRId64 ", low %" PRId64 ", high %" PRId64 "\n", shown, f->text, f->next,
                   f->lo, f->hi);
        ol_esc_arena_reset(&esc);
    }
    if (more)
        printf("  (%d more out of range; opsledger offsets show %s)\n", more, service);
    if (esc.failed) { /* a topic shown as U+FFFD: not a good answer */
        fprintf(stderr, "status: out of memory\n");
        return 2;
    }
    return faults ? 1 : 0;
}

int ol_offsets_partition_gone(rd_kafka_resp_err_t e)
{
    return e == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION || e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
}

int ol_offsets_is_reset_key(const MDB_val *k)
{
    size_t pl = sizeof OL_OFFSETS_RESET_PREFIX - 1;
    return k->mv_size > pl && memcmp(k->mv_data, OL_OFFSETS_RESET_PREFIX, pl) == 0;
}

int ol_offsets_put_reset(MDB_txn *txn, MDB_dbi meta, const char *text, int64_t *number)
{
    int64_t n;
    char key[64];
    int rc = ol_meta_get_i64(txn, meta, "offsets_resets", &n);
    if (rc)
        return rc;
    n++;
    snprintf(key, sizeof key, OL_OFFSETS_RESET_PREFIX "%06" PRId64, n);
    MDB_val k = {strlen(key), key}, v = {strlen(text), (void *)text};
    if (v.mv_size == 8) /* status prints 8-byte values as counters; a record never looks like one */
        v.mv_size++;    /* (the text's NUL) */
    if ((rc = mdb_put(txn, meta, &k, &v, MDB_NOOVERWRITE)))
        return rc;
    if ((rc = ol_meta_put_i64(txn, meta, "offsets_resets", n)))
        return rc;
    *number = n;
    return 0;
}

pid_t ol_offsets_env_user(const char *path)
{
    char lock[4096];
    struct flock fl;
    snprintf(lock, sizeof lock, "%s/lock.mdb", path);
    int fd = open(lock, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 1;
    int rc = fcntl(fd, F_GETLK, &fl);
    close(fd);
    if (rc)
        return -1;
    return fl.l_type == F_UNLCK ? 0 : fl.l_pid;
}
