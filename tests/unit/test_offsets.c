/* test_offsets — ol_offsets, the rule that judges a stored offset against a
 * partition's watermarks (SPEC section 4, "Offsets"), with given watermarks:
 * in range (caught up included), beyond the end (topic recreated), before
 * the start (retention removed unfolded records — also exercised live by
 * tests/e2e/test_offsets.sh through the mock cluster's size limit); the
 * fatal message's fields, the never-clamped lag text, the meta key parser,
 * the reset record, and the "environment open by another process" probe. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "ol_offsets.h"
#include "ol_store.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* (not test_util.h: its Avro helpers do not build with clang -Werror) */
static void scratch_dir(char *buf, size_t len)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(buf, len, "%s/ol-offsets-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(buf));
}

static void remove_env(const char *dir)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/data.mdb", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/lock.mdb", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/instance.lock", dir); /* ol_store's one-instance lock */
    unlink(p);
    assert_int_equal(rmdir(dir), 0);
}

static void test_check(void **state)
{
    (void)state;
    /* empty partition */
    assert_int_equal(ol_offsets_check(0, 0, 0), OL_OFFSETS_IN_RANGE);
    /* caught up, in the middle, at the start */
    assert_int_equal(ol_offsets_check(100, 0, 100), OL_OFFSETS_IN_RANGE);
    assert_int_equal(ol_offsets_check(50, 0, 100), OL_OFFSETS_IN_RANGE);
    assert_int_equal(ol_offsets_check(40, 40, 100), OL_OFFSETS_IN_RANGE);
    /* the topic recreated smaller: the case */
    assert_int_equal(ol_offsets_check(240, 0, 220), OL_OFFSETS_BEYOND_END);
    assert_int_equal(ol_offsets_check(1, 0, 0), OL_OFFSETS_BEYOND_END);
    /* retention removed records never folded */
    assert_int_equal(ol_offsets_check(39, 40, 100), OL_OFFSETS_BEFORE_START);
    assert_int_equal(ol_offsets_check(0, 1, 1), OL_OFFSETS_BEFORE_START);
    /* both: a start past the stored offset and an end before it cannot
     * happen (low <= high); beyond the end is judged first */
    assert_int_equal(ol_offsets_check(INT64_MAX, 0, 5), OL_OFFSETS_BEYOND_END);
}

static void test_message(void **state)
{
    (void)state;
    char buf[1024];
    ol_offsets_message(buf, sizeof buf, "utilisation", "timesheet.entry", 3, 240, 0, 220);
    assert_non_null(strstr(buf, "beyond the partition's end"));
    assert_non_null(strstr(buf, "|service=utilisation topic=timesheet.entry partition=3 stored_offset=240 low=0 "
                                "high=220"));
    assert_non_null(strstr(buf, "opsledger offsets reset utilisation"));
    ol_offsets_message(buf, sizeof buf, "billing", "hr.person", 0, 10, 40, 100);
    assert_non_null(strstr(buf, "before the partition's start"));
    assert_non_null(strstr(buf, "stored_offset=10 low=40 high=100"));
    /* no stored offset: a partition read from its beginning fell behind */
    ol_offsets_message(buf, sizeof buf, "billing", "hr.person", 0, -1, 40, 100);
    assert_non_null(strstr(buf, "stored_offset=none low=40 high=100"));
}

static void test_lag_text(void **state)
{
    (void)state;
    char buf[200];
    assert_int_equal(ol_offsets_lag_text(buf, sizeof buf, 80, 0, 100), 0);
    assert_string_equal(buf, "20");
    assert_int_equal(ol_offsets_lag_text(buf, sizeof buf, 100, 0, 100), 0);
    assert_string_equal(buf, "0");
    /* never clamped to 0 */
    assert_int_equal(ol_offsets_lag_text(buf, sizeof buf, 240, 0, 220), 1);
    assert_string_equal(buf, "-20 (stored offset beyond the partition's end: topic recreated?)");
    assert_int_equal(ol_offsets_lag_text(buf, sizeof buf, 10, 40, 100), 1);
    assert_string_equal(buf, "90 (stored offset before the partition's start: 30 records removed by retention were "
                             "never folded)");
}

static int parse(const char *s, char *topic, size_t tlen, int32_t *p)
{
    MDB_val k = {strlen(s), (void *)s};
    return ol_offsets_parse_key(&k, topic, tlen, p);
}

static void test_parse_key(void **state)
{
    (void)state;
    char t[64];
    int32_t p = -1;
    assert_int_equal(parse("offset/hr.person/7", t, sizeof t, &p), 1);
    assert_string_equal(t, "hr.person");
    assert_int_equal(p, 7);
    assert_int_equal(parse("offset/timesheet.entry/1023", t, sizeof t, &p), 1);
    assert_int_equal(p, 1023);
    assert_int_equal(parse("offsets_reset/000001", t, sizeof t, &p), 0);
    assert_int_equal(parse("offsets_resets", t, sizeof t, &p), 0);
    assert_int_equal(parse("offset/hr.person/", t, sizeof t, &p), 0);
    assert_int_equal(parse("offset//3", t, sizeof t, &p), 0);
    assert_int_equal(parse("offset/hr.person/x1", t, sizeof t, &p), 0);
    assert_int_equal(parse("offset/hr.person/99999999999", t, sizeof t, &p), 0);
    assert_int_equal(parse("records", t, sizeof t, &p), 0);
    /* a topic longer than the buffer is not silently cut */
    assert_int_equal(parse("offset/a.very.long.topic.name/0", t, 8, &p), 0);
}

static void test_reset_record_and_env_user(void **state)
{
    (void)state;
    static const char *const dbs[] = {"meta", NULL};
    char dir[4096], err[512];
    ol_store st;
    MDB_txn *txn;
    int64_t n = 0, v = 0;
    scratch_dir(dir, sizeof dir);

    /* nobody has it open yet (no lock file) */
    assert_int_equal(ol_offsets_env_user(dir), 0);
    assert_int_equal(ol_store_open(&st, dir, 1 << 20, 0, dbs, err, sizeof err), 0);
    MDB_dbi meta = ol_store_dbi(&st, "meta");
    assert_int_equal(mdb_txn_begin(st.env, NULL, 0, &txn), 0);
    assert_int_equal(ol_offsets_put_reset(txn, meta, "at=x by=y mode=\"to-end\" changed=1\nhr.person/0 3 -> 5", &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ol_offsets_put_reset(txn, meta, "12345678", &n), 0); /* 8 bytes: never a counter */
    assert_int_equal(n, 2);
    assert_int_equal(ol_meta_get_i64(txn, meta, "offsets_resets", &v), 0);
    assert_int_equal(v, 2);
    MDB_val k = {strlen("offsets_reset/000001"), "offsets_reset/000001"}, val;
    assert_int_equal(mdb_get(txn, meta, &k, &val), 0);
    assert_true(ol_offsets_is_reset_key(&k));
    assert_memory_equal(val.mv_data, "at=x by=y", 9);
    MDB_val k2 = {strlen("offsets_reset/000002"), "offsets_reset/000002"};
    assert_int_equal(mdb_get(txn, meta, &k2, &val), 0);
    assert_int_not_equal(val.mv_size, 8);
    assert_int_equal(mdb_txn_commit(txn), 0);
    ol_store_close(&st);

    /* another process holds the environment open: its pid is named */
    int ready[2], go[2];
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(go), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        ol_store s2;
        char e2[512], c = 0;
        if (ol_store_open(&s2, dir, 1 << 20, OL_STORE_RDONLY, dbs, e2, sizeof e2))
            _exit(1);
        if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
            _exit(2);
        ol_store_close(&s2);
        _exit(0);
    }
    char c;
    assert_int_equal(read(ready[0], &c, 1), 1);
    assert_int_equal(ol_offsets_env_user(dir), pid);
    assert_int_equal(write(go[1], "g", 1), 1);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(ol_offsets_env_user(dir), 0);
    close(ready[0]);
    close(ready[1]);
    close(go[0]);
    close(go[1]);
    remove_env(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_message),
        cmocka_unit_test(test_lag_text),
        cmocka_unit_test(test_parse_key),
        cmocka_unit_test(test_reset_record_and_env_user),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
