/* The audit archive: the hash chain, `opsledger verify` naming the first
 * tampered record, and `opsledger archive export` read back with avro-c's
 * own object container reader. Runs the real tool (build/bin/opsledger). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ol_archive.h"

#include <avro.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define N 50

static char g_dir[64];
static char g_tool[4200];

static void build_archive(void)
{
    ol_store st;
    char err[256];
    MDB_txn *txn;
    uint8_t prev[32] = {0};
    snprintf(g_dir, sizeof g_dir, "/tmp/ol-arch-XXXXXX");
    assert_non_null(mkdtemp(g_dir));
    assert_int_equal(ol_archive_open(&st, g_dir, 0, err, sizeof err), 0);
    assert_int_equal(mdb_txn_begin(st.env, NULL, 0, &txn), 0);
    for (int i = 1; i <= N; i++) {
        char key[16], value[64];
        snprintf(key, sizeof key, "p-%d", i);
        snprintf(value, sizeof value, "%c%c%c%c%cvalue-%04d", 0, 0, 0, 0, 1, i);
        ol_header hdr[] = {{"traceparent", "00-abc-01", 9}, {"source-system", "workday", 7}};
        ol_record r = {.topic = i % 2 ? "hr.person" : "timesheet.entry", .partition = i % 3, .offset = i,
                       .timestamp_ms = 1795000000000LL + i * 1000, .key = key, .key_len = strlen(key),
                       .value = value, .value_len = 5 + 10, .headers = i % 5 ? NULL : hdr,
                       .nheaders = i % 5 ? 0 : 2};
        uint8_t *row, kb[8];
        size_t len = 0;
        ol_key ok;
        assert_int_equal(ol_archive_row(&r, prev, &row, &len), 0);
        memcpy(prev, row, 32);
        ol_put_be64(kb, (uint64_t)i);
        MDB_val k = {8, kb}, v = {len, row};
        assert_int_equal(mdb_put(txn, ol_store_dbi(&st, "records"), &k, &v, MDB_APPEND), 0);
        /* the index, as opsledger-archive keeps it (verify checks it) */
        ol_key_init(&ok);
        ol_key_str(&ok, r.topic);
        ol_key_i32(&ok, r.partition);
        ol_key_i64(&ok, r.offset);
        MDB_val ik = ol_key_val(&ok);
        assert_int_equal(mdb_put(txn, ol_store_dbi(&st, "by_offset"), &ik, &k, 0), 0);
        free(row);
    }
    assert_int_equal(mdb_txn_commit(txn), 0);
    ol_store_close(&st);
}

static int run(const char *args, char *out, size_t outlen)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", g_tool, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, outlen - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_verify_intact_then_tampered(void **state)
{
    (void)state;
    char args[512], out[4096];
    build_archive();
    snprintf(args, sizeof args, "verify --archive %s", g_dir);
    assert_int_equal(run(args, out, sizeof out), 0);
    assert_non_null(strstr(out, "50 records, chain intact"));

    /* flip one byte of record 17's value */
    ol_store st;
    char err[256];
    MDB_txn *txn;
    uint8_t kb[8];
    assert_int_equal(ol_archive_open(&st, g_dir, 0, err, sizeof err), 0);
    assert_int_equal(mdb_txn_begin(st.env, NULL, 0, &txn), 0);
    ol_put_be64(kb, 17);
    MDB_val k = {8, kb}, v;
    assert_int_equal(mdb_get(txn, ol_store_dbi(&st, "records"), &k, &v), 0);
    uint8_t *copy = malloc(v.mv_size);
    memcpy(copy, v.mv_data, v.mv_size);
    copy[v.mv_size - 3] ^= 0x01; /* the last byte of the value (a 2-byte header count follows) */
    MDB_val nv = {v.mv_size, copy};
    assert_int_equal(mdb_put(txn, ol_store_dbi(&st, "records"), &k, &nv, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    free(copy);
    ol_store_close(&st);
    assert_int_equal(run(args, out, sizeof out), 1);
    assert_non_null(strstr(out, "BROKEN at record 17"));
    assert_non_null(strstr(out, "hr.person partition 2 offset 17"));
    snprintf(args, sizeof args, "rm -rf %s", g_dir);
    assert_int_equal(system(args), 0);
}

static void test_export_reads_back(void **state)
{
    (void)state;
    char args[512], out[4096], file[128];
    build_archive();
    snprintf(file, sizeof file, "%s/export.avro", g_dir);
    /* records 11..40 by timestamp */
    snprintf(args, sizeof args,
             "archive export --archive %s --from 2026-11-18T11:06:51Z --to 2026-11-18T11:07:20Z --out %s", g_dir,
             file);
    /* under umask 0, over a world-writable file: the export is the archive's
     * content (names, costs), owner-only like the archive */
    FILE *pre = fopen(file, "w");
    assert_non_null(pre);
    assert_int_equal(fclose(pre), 0);
    assert_int_equal(chmod(file, 0666), 0);
    mode_t old = umask(0);
    int rc_export = run(args, out, sizeof out);
    umask(old);
    assert_int_equal(rc_export, 0);
    struct stat sb;
    assert_int_equal(stat(file, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0600);

    avro_file_reader_t r;
    assert_int_equal(avro_file_reader(file, &r), 0);
    avro_schema_t s = avro_file_reader_get_writer_schema(r);
    avro_value_iface_t *iface = avro_generic_class_from_schema(s);
    avro_value_t v;
    assert_int_equal(avro_generic_value_new(iface, &v), 0);
    int n = 0, rc;
    int64_t first_seq = -1, last_seq = -1;
    while ((rc = avro_file_reader_read_value(r, &v)) == 0) {
        avro_value_t f;
        int64_t seq = 0, ts = 0;
        const void *bytes = NULL;
        size_t len = 0;
        assert_int_equal(avro_value_get_by_name(&v, "seq", &f, NULL), 0);
        assert_int_equal(avro_value_get_long(&f, &seq), 0);
        assert_int_equal(avro_value_get_by_name(&v, "timestamp", &f, NULL), 0);
        assert_int_equal(avro_value_get_long(&f, &ts), 0);
        assert_int_equal(ts, 1795000000000LL + seq * 1000);
        assert_int_equal(avro_value_get_by_name(&v, "value", &f, NULL), 0);
        assert_int_equal(avro_value_get_bytes(&f, &bytes, &len), 0);
        char want[32];
        snprintf(want, sizeof want, "value-%04d", (int)seq);
        assert_int_equal(len, 15);
        assert_memory_equal((const char *)bytes + 5, want, 10);
        assert_int_equal(avro_value_get_by_name(&v, "headers", &f, NULL), 0);
        size_t nh = 0;
        assert_int_equal(avro_value_get_size(&f, &nh), 0);
        assert_int_equal(nh, seq % 5 ? 0 : 2);
        if (nh) {
            avro_value_t hv;
            assert_int_equal(avro_value_get_by_name(&f, "source-system", &hv, NULL), 0);
            assert_int_equal(avro_value_get_bytes(&hv, &bytes, &len), 0);
            assert_int_equal(len, 7);
            assert_memory_equal(bytes, "workday", 7);
        }
        if (first_seq < 0)
            first_seq = seq;
        last_seq = seq;
        n++;
        avro_value_reset(&v);
    }
    assert_int_equal(first_seq, 11);
    assert_int_equal(last_seq, 40);
    assert_int_equal(n, 30);
    avro_value_decref(&v);
    avro_value_iface_decref(iface);
    avro_schema_decref(s);
    avro_file_reader_close(r);

    /* an export that fails part way (here: the file size limit) leaves the
     * previous export as it was, and no partial file beside it */
    struct stat good;
    assert_int_equal(stat(file, &good), 0);
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "sh -c 'ulimit -f 4; trap \"\" XFSZ; exec %s archive export --archive %s --out %s' "
             ">/dev/null 2>&1", g_tool, g_dir, file);
    assert_int_not_equal(system(cmd), 0);
    assert_int_equal(stat(file, &sb), 0);
    assert_int_equal(sb.st_size, good.st_size);
    assert_true(sb.st_mtim.tv_sec == good.st_mtim.tv_sec && sb.st_mtim.tv_nsec == good.st_mtim.tv_nsec);
    snprintf(cmd, sizeof cmd, "ls %s | grep -c tmp- >/dev/null", g_dir);
    assert_int_not_equal(system(cmd), 0); /* grep found no temporary file */
    /* a pipe (or a device) at --out is refused, never replaced by a file */
    snprintf(cmd, sizeof cmd, "%s/pipe", g_dir);
    assert_int_equal(mkfifo(cmd, 0600), 0);
    snprintf(args, sizeof args, "archive export --archive %s --out %s/pipe", g_dir, g_dir);
    assert_int_equal(run(args, out, sizeof out), 2);
    assert_non_null(strstr(out, "is not a regular file"));
    assert_int_equal(stat(cmd, &sb), 0);
    assert_true(S_ISFIFO(sb.st_mode));
    snprintf(args, sizeof args, "rm -rf %s", g_dir);
    assert_int_equal(system(args), 0);
}

/* The by_offset index is checked record by record: an entry re-pointed at
 * another record, or one moved to an offset no record has (the count of
 * entries unchanged), is named with its record. */
static void index_entry(int i, ol_key *ok)
{
    ol_key_init(ok);
    ol_key_str(ok, i % 2 ? "hr.person" : "timesheet.entry");
    ol_key_i32(ok, i % 3);
    ol_key_i64(ok, i);
}

static void test_verify_index_tampered(void **state)
{
    (void)state;
    char args[512], out[4096], err[256];
    for (int tamper = 0; tamper < 2; tamper++) {
        ol_store st;
        MDB_txn *txn;
        ol_key ok;
        uint8_t kb[8];
        build_archive();
        assert_int_equal(ol_archive_open(&st, g_dir, 0, err, sizeof err), 0);
        assert_int_equal(mdb_txn_begin(st.env, NULL, 0, &txn), 0);
        MDB_dbi ix = ol_store_dbi(&st, "by_offset");
        index_entry(23, &ok);
        MDB_val k = ol_key_val(&ok);
        if (tamper == 0) {
            ol_put_be64(kb, 24); /* record 23's entry points at record 24 */
            MDB_val v = {8, kb};
            assert_int_equal(mdb_put(txn, ix, &k, &v, 0), 0);
        } else {
            assert_int_equal(mdb_del(txn, ix, &k, NULL), 0); /* moved to offset 1000 */
            ol_key_init(&ok);
            ol_key_str(&ok, "hr.person");
            ol_key_i32(&ok, 23 % 3);
            ol_key_i64(&ok, 1000);
            MDB_val nk = ol_key_val(&ok);
            ol_put_be64(kb, 23);
            MDB_val v = {8, kb};
            assert_int_equal(mdb_put(txn, ix, &nk, &v, 0), 0);
        }
        assert_int_equal(mdb_txn_commit(txn), 0);
        ol_store_close(&st);
        snprintf(args, sizeof args, "verify --archive %s", g_dir);
        assert_int_not_equal(run(args, out, sizeof out), 0);
        assert_non_null(strstr(out, "BROKEN at record 23"));
        assert_non_null(strstr(out, tamper == 0 ? "points it at record 24 instead" : "missing from the by_offset index"));
        snprintf(args, sizeof args, "rm -rf %s", g_dir);
        assert_int_equal(system(args), 0);
    }
}

/* The replay's record source over a live batch log: each batch names
 * partitions and offset ranges, walked in the archive's by_offset index.
 * Offsets the archive does not hold are skipped; a range the log
 * overstates (last far past the archive) ends at the partition's last
 * archived record (it counted every offset up to last before: with this
 * log, 2^40 look-ups); a batch row cut short is an error naming the batch,
 * never a read past its end. */
static void put_batch(MDB_txn *txn, MDB_dbi dbi, uint64_t number, const uint8_t *row, size_t len)
{
    uint8_t kb[8];
    ol_put_be64(kb, number);
    MDB_val k = {8, kb}, v = {len, (void *)row};
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
}

static size_t batch_part(uint8_t *p, const char *topic, int32_t partition, int64_t first, int64_t last)
{
    size_t tl = strlen(topic);
    p[0] = (uint8_t)(tl >> 8), p[1] = (uint8_t)tl;
    memcpy(p + 2, topic, tl);
    ol_put_be32(p + 2 + tl, (uint32_t)partition);
    ol_put_be64(p + 6 + tl, (uint64_t)first);
    ol_put_be64(p + 14 + tl, (uint64_t)last);
    return 22 + tl;
}

static void test_source_walks_batch_ranges(void **state)
{
    (void)state;
    char logdir[64], err[512], args[200];
    const char *dbs[] = {"batches", NULL};
    ol_store log, arch;
    MDB_txn *txn;
    uint8_t row[256];
    build_archive();
    snprintf(logdir, sizeof logdir, "/tmp/ol-blog-XXXXXX");
    assert_non_null(mkdtemp(logdir));
    assert_int_equal(ol_store_open(&log, logdir, 16 << 20, 0, dbs, err, sizeof err), 0);
    assert_int_equal(mdb_txn_begin(log.env, NULL, 0, &txn), 0);
    ol_put_be64(row, 1795000000000ULL);
    ol_put_be32(row + 8, 2);
    size_t len = 12;
    len += batch_part(row + len, "hr.person", 1, 0, 1LL << 40); /* odd i with i % 3 == 1 */
    len += batch_part(row + len, "timesheet.entry", 0, 5, 20);  /* even i with i % 3 == 0, 5..20 */
    put_batch(txn, ol_store_dbi(&log, "batches"), 1, row, len);
    put_batch(txn, ol_store_dbi(&log, "batches"), 2, row, 12 + 5); /* its first part cut short */
    assert_int_equal(mdb_txn_commit(txn), 0);

    assert_int_equal(ol_archive_open(&arch, g_dir, 1, err, sizeof err), 0);
    ol_source *src = ol_source_archive_new(&arch, NULL, INT64_MAX, &log, 1000, NULL, 0, "none", err, sizeof err);
    assert_non_null(src);
    ol_record recs[64];
    int n = src->poll(src, recs, 64, 0);
    static const int64_t want[] = {1, 7, 13, 19, 25, 31, 37, 43, 49, 6, 12, 18};
    assert_int_equal(n, 12);
    for (int i = 0; i < n; i++) {
        assert_string_equal(recs[i].topic, i < 9 ? "hr.person" : "timesheet.entry");
        assert_int_equal(recs[i].offset, want[i]);
        assert_int_equal(recs[i].partition, i < 9 ? 1 : 0);
    }
    assert_int_equal(src->poll(src, recs, 64, 0), -1); /* batch 2 is damaged */
    src->close(src);
    ol_store_close(&arch);
    ol_store_close(&log);
    snprintf(args, sizeof args, "rm -rf %s %s", g_dir, logdir);
    assert_int_equal(system(args), 0);
}

/* After the batch log, the records it did not fold, in archive order, read
 * through one cursor across polls (five rows a poll here): every row once,
 * none of those the log folded, none out of order. Returns the records
 * read, -1 when a poll failed, -2 when the source was refused. */
static int tail_source(const char *logdir, int drop_seq, int64_t *got, int cap)
{
    char err[512];
    const char *dbs[] = {"batches", NULL};
    ol_store log, arch;
    MDB_txn *txn;
    uint8_t row[256];
    assert_int_equal(ol_store_open(&log, logdir, 16 << 20, 0, dbs, err, sizeof err), 0);
    assert_int_equal(mdb_txn_begin(log.env, NULL, 0, &txn), 0);
    ol_put_be64(row, 1795000000000ULL);
    ol_put_be32(row + 8, 2);
    size_t len = 12;
    len += batch_part(row + len, "hr.person", 1, 0, 1LL << 40);
    len += batch_part(row + len, "timesheet.entry", 0, 5, 20);
    put_batch(txn, ol_store_dbi(&log, "batches"), 1, row, len);
    assert_int_equal(mdb_txn_commit(txn), 0);
    assert_int_equal(ol_archive_open(&arch, g_dir, 0, err, sizeof err), 0);
    if (drop_seq) {
        uint8_t kb[8];
        ol_put_be64(kb, (uint64_t)drop_seq);
        MDB_val k = {8, kb};
        assert_int_equal(mdb_txn_begin(arch.env, NULL, 0, &txn), 0);
        assert_int_equal(mdb_del(txn, ol_store_dbi(&arch, "records"), &k, NULL), 0);
        assert_int_equal(mdb_txn_commit(txn), 0);
    }
    ol_source *src = ol_source_archive_new(&arch, NULL, INT64_MAX, &log, 16, NULL, 0, "none", err, sizeof err);
    if (!src) {
        fprintf(stderr, "refused: %s\n", err);
        ol_store_close(&arch);
        ol_store_close(&log);
        return -2;
    }
    ol_record recs[16];
    int n = 0, k, max = 16; /* the log's batch whole, then five rows a poll */
    while ((k = src->poll(src, recs, max, 0)) > 0) {
        for (int i = 0; i < k; i++) {
            assert_true(n < cap);
            got[n++] = recs[i].offset; /* the offset is the sequence here */
        }
        max = 5;
    }
    int failed = k < 0;
    src->close(src);
    ol_store_close(&arch);
    ol_store_close(&log);
    return failed ? -1 : n;
}

static void test_source_tail_in_archive_order(void **state)
{
    (void)state;
    char logdir[64], args[200];
    int64_t got[N];
    build_archive();
    snprintf(logdir, sizeof logdir, "/tmp/ol-blog-XXXXXX");
    assert_non_null(mkdtemp(logdir));
    int n = tail_source(logdir, 0, got, N);
    /* the log's batch: 12 records; then the other 38, in order */
    assert_int_equal(n, N);
    int64_t last = 0;
    for (int i = 12; i < n; i++) {
        int64_t s = got[i];
        assert_true(s > last);
        assert_false(s % 2 == 1 && s % 3 == 1); /* hr.person 1: folded through the log */
        assert_false(s % 2 == 0 && s % 3 == 0 && s <= 20);
        last = s;
    }
    /* a row missing from the sequence: refused before anything is read
     * (the verification names it); the cursor's own check of each row's
     * sequence is the second line behind it */
    snprintf(args, sizeof args, "rm -rf %s && mkdir %s", logdir, logdir);
    assert_int_equal(system(args), 0);
    assert_int_equal(tail_source(logdir, 29, got, N), -2);
    snprintf(args, sizeof args, "rm -rf %s %s", g_dir, logdir);
    assert_int_equal(system(args), 0);
}

int main(int argc, char **argv)
{
    (void)argc;
    /* the tool sits in ../bin beside this test binary */
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return 1;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    *slash = '\0';
    snprintf(g_tool, sizeof g_tool, "%s/../bin/opsledger", self);
    (void)argv;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verify_intact_then_tampered),
        cmocka_unit_test(test_export_reads_back),
        cmocka_unit_test(test_verify_index_tampered),
        cmocka_unit_test(test_source_walks_batch_ranges),
        cmocka_unit_test(test_source_tail_in_archive_order),
    };
    return cmocka_run_group_tests_name("archive", tests, NULL, NULL);
}
