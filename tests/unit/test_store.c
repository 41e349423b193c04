/* test_store — ol_store: key encodings that sort bytewise in their natural
 * order (checked both with memcmp and by LMDB's own cursor order), the
 * environment with named databases, meta counters and offsets, read-only
 * opening (also from another process while the writer is open) and the key
 * buffer's overflow flag. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "ol_store.h"
#include "test_util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

/* LMDB's default order: memcmp of the common prefix, then the shorter first */
static int key_cmp(const ol_key *a, const ol_key *b)
{
    size_t n = a->n < b->n ? a->n : b->n;
    int c = memcmp(a->b, b->b, n);
    if (c)
        return c < 0 ? -1 : 1;
    return a->n < b->n ? -1 : a->n > b->n;
}

/* keys[] must be strictly increasing */
static void assert_increasing(const ol_key *keys, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++) {
        if (key_cmp(&keys[i], &keys[i + 1]) >= 0)
            fail_msg("key %zu does not sort before key %zu", i, i + 1);
        if (key_cmp(&keys[i + 1], &keys[i]) <= 0)
            fail_msg("key %zu does not sort after key %zu", i + 1, i);
    }
}

static void test_key_i32_order_and_bytes(void **state)
{
    (void)state;
    static const int32_t vals[] = {INT32_MIN, -65536, -256, -5, -1, 0, 1, 7, 255, 256, 65536, INT32_MAX};
    const size_t n = sizeof vals / sizeof vals[0];
    ol_key keys[sizeof vals / sizeof vals[0]];

    for (size_t i = 0; i < n; i++) {
        ol_key_init(&keys[i]);
        ol_key_i32(&keys[i], vals[i]);
        assert_int_equal(keys[i].n, 4);
        assert_int_equal(keys[i].overflow, 0);
        assert_int_equal(ol_key_get_i32(keys[i].b), vals[i]);
    }
    assert_increasing(keys, n);

    /* the sign bit is flipped, the rest is big-endian two's complement */
    ol_key k;
    ol_key_init(&k);
    ol_key_i32(&k, -5);
    assert_memory_equal(k.b, "\x7f\xff\xff\xfb", 4);
    ol_key_init(&k);
    ol_key_i32(&k, 0);
    assert_memory_equal(k.b, "\x80\x00\x00\x00", 4);
    ol_key_init(&k);
    ol_key_i32(&k, 7);
    assert_memory_equal(k.b, "\x80\x00\x00\x07", 4);
    /* -5 < 0 < 7 in memcmp order */
    assert_true(memcmp("\x7f\xff\xff\xfb", "\x80\x00\x00\x00", 4) < 0);
}

static void test_key_u32_u64_i64_u8(void **state)
{
    (void)state;
    ol_key k;

    ol_key_init(&k);
    ol_key_u64(&k, 0x0102030405060708ull);
    assert_int_equal(k.n, 8);
    assert_memory_equal(k.b, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    assert_int_equal(ol_be64(k.b), 0x0102030405060708ull);

    ol_key_init(&k);
    ol_key_u32(&k, 0xA1B2C3D4u);
    ol_key_u8(&k, 0xEE);
    assert_int_equal(k.n, 5);
    assert_memory_equal(k.b, "\xa1\xb2\xc3\xd4\xee", 5);
    assert_int_equal(ol_be32(k.b), 0xA1B2C3D4u);

    static const uint64_t u[] = {0, 1, 255, 256, 65535, 65536, 0xFFFFFFFFull, 0x100000000ull,
                                 0x7FFFFFFFFFFFFFFFull, 0x8000000000000000ull, UINT64_MAX};
    ol_key ku[sizeof u / sizeof u[0]];
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) {
        ol_key_init(&ku[i]);
        ol_key_u64(&ku[i], u[i]);
        assert_int_equal(ol_be64(ku[i].b), u[i]);
    }
    assert_increasing(ku, sizeof u / sizeof u[0]);

    static const int64_t s[] = {INT64_MIN, -4294967296LL, -5, -1, 0, 7, 4294967296LL, INT64_MAX};
    ol_key ks[sizeof s / sizeof s[0]];
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        ol_key_init(&ks[i]);
        ol_key_i64(&ks[i], s[i]);
        assert_int_equal(ks[i].n, 8);
        assert_int_equal(ol_key_get_i64(ks[i].b), s[i]);
    }
    assert_increasing(ks, sizeof s / sizeof s[0]);
    assert_memory_equal(ks[4].b, "\x80\0\0\0\0\0\0\0", 8); /* 0 */
    assert_memory_equal(ks[2].b, "\x7f\xff\xff\xff\xff\xff\xff\xfb", 8); /* -5 */

    uint8_t b[8];
    ol_put_be32(b, 0xDEADBEEFu);
    assert_memory_equal(b, "\xde\xad\xbe\xef", 4);
    ol_put_be64(b, 0x1122334455667788ull);
    assert_memory_equal(b, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
}

static void build_str_i32(ol_key *k, const char *s, int32_t v)
{
    ol_key_init(k);
    ol_key_str(k, s);
    ol_key_i32(k, v);
}

static void test_key_composite_order(void **state)
{
    (void)state;
    ol_key k[8];
    build_str_i32(&k[0], "", 5);             /* empty string first */
    build_str_i32(&k[1], "a", INT32_MIN);
    build_str_i32(&k[2], "a", 1);
    build_str_i32(&k[3], "a", 2);
    build_str_i32(&k[4], "a", INT32_MAX);
    build_str_i32(&k[5], "ab", INT32_MIN);   /* "a" is a prefix of "ab": every "a" key first */
    build_str_i32(&k[6], "b", 0);
    build_str_i32(&k[7], "b\x01", -1);
    assert_increasing(k, 8);

    /* exact layout: string, NUL separator, then the number */
    assert_int_equal(k[2].n, 2 + 4);
    assert_memory_equal(k[2].b, "a\0\x80\0\0\x01", 6);

    /* strings alone: a prefix sorts first */
    ol_key s[4];
    const char *strs[] = {"p", "p-1", "p-10", "p-2"};
    for (int i = 0; i < 4; i++) {
        ol_key_init(&s[i]);
        ol_key_str(&s[i], strs[i]);
        assert_int_equal(s[i].n, strlen(strs[i]) + 1);
        assert_int_equal(s[i].b[s[i].n - 1], 0);
    }
    assert_increasing(s, 4);

    /* two-part string keys (person, week): a person's weeks stay together */
    ol_key p[3];
    const char *pw[3][2] = {{"p-1", "2026-W47"}, {"p-1", "2026-W48"}, {"p-10", "2020-W01"}};
    for (int i = 0; i < 3; i++) {
        ol_key_init(&p[i]);
        ol_key_str(&p[i], pw[i][0]);
        ol_key_str(&p[i], pw[i][1]);
    }
    assert_increasing(p, 3);

    MDB_val v = ol_key_val(&k[2]);
    assert_int_equal(v.mv_size, 6);
    assert_ptr_equal(v.mv_data, k[2].b);
}

static void test_key_overflow(void **state)
{
    (void)state;
    ol_key k;
    char big[600];

    memset(big, 'x', sizeof big);
    big[511] = '\0'; /* 511 chars + NUL = 512 bytes: fits exactly */
    ol_key_init(&k);
    ol_key_str(&k, big);
    assert_int_equal(k.overflow, 0);
    assert_int_equal(k.n, 512);
    ol_key_u8(&k, 1);
    assert_int_equal(k.overflow, 1);
    assert_int_equal(k.n, 512); /* nothing partial was appended */

    big[599] = '\0';
    ol_key_init(&k);
    ol_key_i32(&k, 3);
    ol_key_str(&k, big);
    assert_int_equal(k.overflow, 1);
    assert_int_equal(k.n, 4);

    ol_key_init(&k);
    for (int i = 0; i < 64; i++)
        ol_key_u64(&k, (uint64_t)i);
    assert_int_equal(k.overflow, 0);
    assert_int_equal(k.n, 512);
    ol_key_u32(&k, 1);
    assert_int_equal(k.overflow, 1);

    ol_key_init(&k); /* init clears the flag */
    assert_int_equal(k.overflow, 0);
    assert_int_equal(k.n, 0);
}

/* ------------------------------------------------------------ environment */
typedef struct {
    char dir[256];
    char path[300];
} envfix;

static int env_setup(void **state)
{
    envfix *f = calloc(1, sizeof *f);
    tu_mkdtemp(f->dir, sizeof f->dir, "store");
    snprintf(f->path, sizeof f->path, "%s/env", f->dir); /* does not exist yet */
    *state = f;
    return 0;
}

static int env_teardown(void **state)
{
    envfix *f = *state;
    tu_rmtree(f->dir);
    free(f);
    return 0;
}

static const char *const DBS[] = {"meta", "alpha", "beta", NULL};

static void test_store_meta_and_offsets(void **state)
{
    envfix *f = *state;
    ol_store st;
    char err[512] = "";
    MDB_txn *txn;
    int64_t x;

    assert_int_equal(ol_store_open(&st, f->path, 1 << 20, 0, DBS, err, sizeof err), 0);
    assert_int_equal(st.ndbs, 3);
    assert_int_equal(st.readonly, 0);
    MDB_dbi meta = ol_store_dbi(&st, "meta"), a = ol_store_dbi(&st, "alpha"), b = ol_store_dbi(&st, "beta");
    assert_int_not_equal(meta, a);
    assert_int_not_equal(a, b);

    assert_int_equal(mdb_txn_begin(st.env, NULL, 0, &txn), 0);
    x = 99;
    assert_int_equal(ol_meta_get_i64(txn, meta, "records", &x), 0); /* MDB_NOTFOUND -> 0 */
    assert_int_equal(x, 0);
    assert_int_equal(ol_meta_put_i64(txn, meta, "records", 42), 0);
    assert_int_equal(ol_meta_get_i64(txn, meta, "records", &x), 0);
    assert_int_equal(x, 42);
    assert_int_equal(ol_meta_add_i64(txn, meta, "records", -50), 0);
    assert_int_equal(ol_meta_get_i64(txn, meta, "records", &x), 0);
    assert_int_equal(x, -8);
    assert_int_equal(ol_meta_add_i64(txn, meta, "fresh", 5), 0); /* add to a missing counter */
    assert_int_equal(ol_meta_get_i64(txn, meta, "fresh", &x), 0);
    assert_int_equal(x, 5);
    assert_int_equal(ol_meta_put_i64(txn, meta, "min", INT64_MIN), 0);
    assert_int_equal(ol_meta_get_i64(txn, meta, "min", &x), 0);
    assert_int_equal(x, INT64_MIN);

    /* stored big-endian, 8 bytes */
    MDB_val k = {7, "records"}, v;
    assert_int_equal(mdb_get(txn, meta, &k, &v), 0);
    assert_int_equal(v.mv_size, 8);
    assert_memory_equal(v.mv_data, "\xff\xff\xff\xff\xff\xff\xff\xf8", 8);

    /* a value that is not 8 bytes is reported, not misread */
    MDB_val bk = {3, "bad"}, bv = {3, "abc"};
    assert_int_equal(mdb_put(txn, meta, &bk, &bv, 0), 0);
    x = 99;
    assert_int_equal(ol_meta_get_i64(txn, meta, "bad", &x), MDB_CORRUPTED);

    /* offsets */
    x = 99;
    assert_int_equal(ol_meta_offset_get(txn, meta, "hr.person", 3, &x), 0);
    assert_int_equal(x, 0);
    assert_int_equal(ol_meta_offset_put(txn, meta, "hr.person", 3, 13), 0);
    assert_int_equal(ol_meta_offset_put(txn, meta, "hr.person", 12, 7000000000LL), 0);
    assert_int_equal(ol_meta_offset_get(txn, meta, "hr.person", 3, &x), 0);
    assert_int_equal(x, 13);
    assert_int_equal(ol_meta_offset_get(txn, meta, "hr.person", 12, &x), 0);
    assert_int_equal(x, 7000000000LL);
    assert_int_equal(ol_meta_offset_get(txn, meta, "hr.person", 4, &x), 0);
    assert_int_equal(x, 0);
    assert_int_equal(ol_meta_offset_get(txn, meta, "hr.leave", 3, &x), 0);
    assert_int_equal(x, 0);
    MDB_val ok = {18, "offset/hr.person/3"};
    assert_int_equal(mdb_get(txn, meta, &ok, &v), 0);
    assert_int_equal(ol_be64(v.mv_data), 13);

    /* service databases are separate namespaces */
    MDB_val sk = {3, "key"}, sv1 = {1, "A"}, sv2 = {1, "B"};
    assert_int_equal(mdb_put(txn, a, &sk, &sv1, 0), 0);
    assert_int_equal(mdb_put(txn, b, &sk, &sv2, 0), 0);
    assert_int_equal(mdb_get(txn, a, &sk, &v), 0);
    assert_memory_equal(v.mv_data, "A", 1);
    assert_int_equal(mdb_get(txn, meta, &sk, &v), MDB_NOTFOUND);
    assert_int_equal(mdb_txn_commit(txn), 0);

    /* an aborted transaction leaves nothing */
    assert_int_equal(mdb_txn_begin(st.env, NULL, 0, &txn), 0);
    assert_int_equal(ol_meta_put_i64(txn, meta, "records", 1000), 0);
    assert_int_equal(ol_meta_put_i64(txn, meta, "ghost", 1), 0);
    mdb_txn_abort(txn);
    ol_store_close(&st);
    assert_null(st.env);

    /* reopen read-only: the committed data only */
    assert_int_equal(ol_store_open(&st, f->path, 1 << 20, 1, DBS, err, sizeof err), 0);
    assert_int_equal(st.readonly, 1);
    meta = ol_store_dbi(&st, "meta");
    a = ol_store_dbi(&st, "alpha");
    assert_int_equal(mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(ol_meta_get_i64(txn, meta, "records", &x), 0);
    assert_int_equal(x, -8);
    assert_int_equal(ol_meta_get_i64(txn, meta, "ghost", &x), 0);
    assert_int_equal(x, 0);
    assert_int_equal(ol_meta_offset_get(txn, meta, "hr.person", 3, &x), 0);
    assert_int_equal(x, 13);
    assert_int_equal(mdb_get(txn, a, &sk, &v), 0);
    assert_memory_equal(v.mv_data, "A", 1);
    mdb_txn_abort(txn);
    /* and it cannot write */
    assert_int_not_equal(mdb_txn_begin(st.env, NULL, 0, &txn), 0);
    ol_store_close(&st);
}

/* the new key: the old one's bytes reversed, or (arg set) one key for all */
static int reversed(const MDB_val *k, ol_key *nk, void *arg)
{
    ol_key_init(nk);
    if (arg) {
        ol_key_str(nk, "same");
        return 0;
    }
    for (size_t i = 0; i < k->mv_size; i++)
        ol_key_u8(nk, ((const uint8_t *)k->mv_data)[k->mv_size - 1 - i]);
    return 0;
}

/* ol_store_rekey (layout upgrades): every row under its new key, in the
 * new key order, values kept; two rows mapping to one key is an error,
 * never a row silently lost */
static void test_store_rekey(void **state)
{
    envfix *f = *state;
    ol_store st;
    MDB_txn *txn;
    MDB_cursor *c;
    MDB_val k, v;
    char err[512];
    size_t n;
    static const char *const keys[] = {"ab", "ca", "bc"}, *const vals[] = {"1", "2", "3"};
    assert_int_equal(ol_store_open(&st, f->path, 1 << 20, 0, DBS, err, sizeof err), 0);
    MDB_dbi dbi = ol_store_dbi(&st, DBS[0]);
    assert_int_equal(mdb_txn_begin(st.env, NULL, 0, &txn), 0);
    for (int i = 0; i < 3; i++) {
        MDB_val kv = {2, (void *)keys[i]}, vv = {1, (void *)vals[i]};
        assert_int_equal(mdb_put(txn, dbi, &kv, &vv, 0), 0);
    }
    assert_int_equal(ol_store_rekey(txn, dbi, reversed, NULL, &n), 0);
    assert_int_equal(n, 3);
    char got[64] = "";
    assert_int_equal(mdb_cursor_open(txn, dbi, &c), 0);
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
        snprintf(got + strlen(got), sizeof got - strlen(got), "%.*s=%.*s ", (int)k.mv_size, (char *)k.mv_data,
                 (int)v.mv_size, (char *)v.mv_data);
    mdb_cursor_close(c);
    assert_string_equal(got, "ac=2 ba=1 cb=3 ");
    assert_int_equal(ol_store_rekey(txn, dbi, reversed, "collide", &n), MDB_KEYEXIST);
    mdb_txn_abort(txn);
    ol_store_close(&st);
}

static size_t last_txnid(ol_store *st)
{
    MDB_envinfo info;
    assert_int_equal(mdb_env_info(st->env, &info), 0);
    return info.me_last_txnid;
}

static void put_rows(MDB_txn *txn, MDB_dbi dbi, const char *name, const char *value)
{
    ol_key k;
    int32_t head = 7;
    const char *strs[] = {name, "team-a"};
    ol_key_init(&k);
    ol_key_str(&k, "record");
    assert_int_equal(ol_put_record(txn, dbi, &k, &head, sizeof head, strs, 2), 0);
    MDB_val kv = {5, "plain"}, vv = {strlen(value), (void *)value};
    assert_int_equal(ol_put_unless_same(txn, dbi, &kv, &vv), 0);
    ol_key_init(&k);
    ol_key_str(&k, "index");
    assert_int_equal(ol_put_key_unless_same(txn, dbi, &k, "", 0), 0);
}

/* A put that changes nothing must dirty nothing: LMDB copies a page on any
 * put, and a commit with no dirty page writes nothing and keeps its txnid. */
static void test_store_put_unless_same(void **state)
{
    envfix *f = *state;
    ol_store st;
    MDB_txn *txn;
    MDB_val v;
    char err[512];
    assert_int_equal(ol_store_open(&st, f->path, 1 << 20, 0, DBS, err, sizeof err), 0);
    MDB_dbi dbi = ol_store_dbi(&st, "alpha");
    assert_int_equal(mdb_txn_begin(st.env, NULL, 0, &txn), 0);
    put_rows(txn, dbi, "Ada", "one");
    assert_int_equal(mdb_txn_commit(txn), 0);
    size_t id = last_txnid(&st);

    assert_int_equal(mdb_txn_begin(st.env, NULL, 0, &txn), 0);
    put_rows(txn, dbi, "Ada", "one"); /* the same bytes again */
    assert_int_equal(mdb_txn_commit(txn), 0);
    assert_int_equal(last_txnid(&st), id); /* nothing was written */

    /* a change of the same size, and one of another size, are stored */
    assert_int_equal(mdb_txn_begin(st.env, NULL, 0, &txn), 0);
    put_rows(txn, dbi, "Bob", "two");
    assert_int_equal(mdb_txn_commit(txn), 0);
    assert_true(last_txnid(&st) > id);
    id = last_txnid(&st);
    assert_int_equal(mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn), 0);
    MDB_val pk = {5, "plain"};
    assert_int_equal(mdb_get(txn, dbi, &pk, &v), 0);
    assert_memory_equal(v.mv_data, "two", 3);
    mdb_txn_abort(txn);
    assert_int_equal(mdb_txn_begin(st.env, NULL, 0, &txn), 0);
    put_rows(txn, dbi, "Bob", "on");
    assert_int_equal(mdb_txn_commit(txn), 0);
    assert_true(last_txnid(&st) > id);

    assert_int_equal(mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn), 0);
    ol_key k;
    ol_key_init(&k);
    ol_key_str(&k, "record");
    MDB_val kv = ol_key_val(&k);
    assert_int_equal(mdb_get(txn, dbi, &kv, &v), 0);
    assert_int_equal(v.mv_size, 4 + 4 + 7);
    assert_memory_equal((char *)v.mv_data + 4, "Bob\0team-a", 11);
    kv.mv_size = 5;
    kv.mv_data = "plain";
    assert_int_equal(mdb_get(txn, dbi, &kv, &v), 0);
    assert_int_equal(v.mv_size, 2);
    assert_memory_equal(v.mv_data, "on", 2);
    mdb_txn_abort(txn);
    ol_store_close(&st);
}

/* ol_store_set_writemap: the environment reopened on the other write path
 * keeps its handles, its rows and its instance lock, and takes writes;
 * MDB_WRITEMAP sizes data.mdb to the map (sparse), which is how a run shows
 * it took the map */
static void test_store_switch_write_path(void **state)
{
    envfix *f = *state;
    ol_store st, other;
    MDB_txn *txn;
    MDB_val k = {3, "key"}, v;
    char err[512] = "", file[400];
    struct stat sb;
    assert_int_equal(ol_store_open(&st, f->path, 4 << 20, 0, DBS, err, sizeof err), 0);
    MDB_dbi a = ol_store_dbi(&st, "alpha"), b = ol_store_dbi(&st, "beta");
    assert_int_equal(mdb_txn_begin(st.env, NULL, 0, &txn), 0);
    v = (MDB_val){5, "first"};
    assert_int_equal(mdb_put(txn, a, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    snprintf(file, sizeof file, "%s/data.mdb", f->path);
    assert_int_equal(stat(file, &sb), 0);
    assert_true(sb.st_size < (4 << 20));

    for (int on = 1; on >= 0; on--) {
        assert_int_equal(ol_store_set_writemap(&st, on, err, sizeof err), 0);
        assert_int_equal(st.writemap, on);
        assert_int_equal(ol_store_dbi(&st, "alpha"), a);
        assert_int_equal(ol_store_dbi(&st, "beta"), b);
        assert_int_equal(mdb_txn_begin(st.env, NULL, 0, &txn), 0);
        assert_int_equal(mdb_get(txn, a, &k, &v), 0);
        assert_int_equal(v.mv_size, on ? 5 : 6);
        assert_memory_equal(v.mv_data, on ? "first" : "second", v.mv_size);
        v = on ? (MDB_val){6, "second"} : (MDB_val){5, "third"};
        assert_int_equal(mdb_put(txn, a, &k, &v, 0), 0);
        assert_int_equal(mdb_txn_commit(txn), 0);
        if (on) {
            assert_int_equal(stat(file, &sb), 0);
            assert_int_equal(sb.st_size, 4 << 20);
        }
        /* the instance lock was kept through the reopen */
        assert_int_equal(ol_store_open(&other, f->path, 4 << 20, 0, DBS, err, sizeof err), -1);
    }
    assert_int_equal(ol_store_set_writemap(&st, 0, err, sizeof err), 0); /* already: nothing to do */

    /* a database opened after the store (the schema registry's cache) and
     * tracked keeps working through a switch */
    MDB_dbi extra;
    assert_int_equal(mdb_txn_begin(st.env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "extra", MDB_CREATE, &extra), 0);
    v = (MDB_val){4, "kept"};
    assert_int_equal(mdb_put(txn, extra, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    assert_int_equal(ol_store_track_db(&st, "extra", extra), 0);
    assert_int_equal(ol_store_track_db(&st, "extra", extra), 0); /* again: the same handle */
    assert_int_equal(ol_store_track_db(&st, "extra", extra + 1), -1);
    for (int on = 1; on >= 0; on--) {
        assert_int_equal(ol_store_set_writemap(&st, on, err, sizeof err), 0);
        assert_int_equal(ol_store_dbi(&st, "extra"), extra);
        assert_int_equal(mdb_txn_begin(st.env, NULL, 0, &txn), 0);
        assert_int_equal(mdb_get(txn, extra, &k, &v), 0);
        assert_memory_equal(v.mv_data, "kept", 4);
        assert_int_equal(mdb_put(txn, extra, &k, &v, 0), 0);
        assert_int_equal(mdb_txn_commit(txn), 0);
    }
    ol_store_close(&st);
    assert_int_equal(ol_store_open(&st, f->path, 4 << 20, OL_STORE_RDONLY, DBS, err, sizeof err), 0);
    assert_int_equal(mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_get(txn, ol_store_dbi(&st, "alpha"), &k, &v), 0);
    assert_memory_equal(v.mv_data, "third", 5);
    mdb_txn_abort(txn);
    /* not for read-only stores */
    assert_int_equal(ol_store_set_writemap(&st, 1, err, sizeof err), -1);
    ol_store_close(&st);
}

/* a switch whose reopen fails (here: MDB_WRITEMAP sizes data.mdb to the
 * map, and RLIMIT_FSIZE forbids that) goes back to the path it had with
 * every database, and the store takes writes there */
static void test_store_switch_falls_back(void **state)
{
    envfix *f = *state;
    ol_store st;
    MDB_txn *txn;
    MDB_val k = {3, "key"}, v = {5, "first"};
    char err[512] = "";
    struct rlimit old, small;
    assert_int_equal(ol_store_open(&st, f->path, 8 << 20, 0, DBS, err, sizeof err), 0);
    MDB_dbi a = ol_store_dbi(&st, "alpha");
    assert_int_equal(mdb_txn_begin(st.env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_put(txn, a, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);

    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    void (*was)(int) = signal(SIGXFSZ, SIG_IGN);
    small = old;
    small.rlim_cur = 1 << 20; /* above the data, under the 8 MiB map */
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    int rc = ol_store_set_writemap(&st, 1, err, sizeof err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, was);
    assert_int_equal(rc, 1);
    assert_true(err[0] != '\0');
    assert_int_equal(st.writemap, 0);
    assert_int_equal(st.ndbs, 3);
    assert_int_equal(ol_store_dbi(&st, "alpha"), a);
    assert_int_equal(mdb_txn_begin(st.env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_get(txn, a, &k, &v), 0);
    assert_memory_equal(v.mv_data, "first", 5);
    v = (MDB_val){6, "second"};
    assert_int_equal(mdb_put(txn, ol_store_dbi(&st, "beta"), &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    ol_store_close(&st);
}

static void test_store_readonly_errors(void **state)
{
    envfix *f = *state;
    ol_store st;
    char err[512];

    /* read-only open of an environment that does not exist: an error, no dir */
    err[0] = '\0';
    assert_int_equal(ol_store_open(&st, f->path, 1 << 20, 1, DBS, err, sizeof err), -1);
    assert_true(strlen(err) > 0);
    assert_int_equal(access(f->path, F_OK), -1);
    assert_null(st.env);

    assert_int_equal(ol_store_open(&st, f->path, 1 << 20, 0, DBS, err, sizeof err), 0);
    ol_store_close(&st);

    /* read-only open of a database never created: an error naming it */
    static const char *const more[] = {"meta", "never_created", NULL};
    err[0] = '\0';
    assert_int_equal(ol_store_open(&st, f->path, 1 << 20, 1, more, err, sizeof err), -1);
    assert_non_null(strstr(err, "never_created"));
    assert_non_null(strstr(err, "start the service once")); /* what to do, not MDB_NOTFOUND */

    /* more databases than OL_STORE_MAX_DBS */
    const char *many[OL_STORE_MAX_DBS + 2];
    char names[OL_STORE_MAX_DBS + 1][16];
    for (int i = 0; i < OL_STORE_MAX_DBS + 1; i++) {
        snprintf(names[i], sizeof names[i], "db%d", i);
        many[i] = names[i];
    }
    many[OL_STORE_MAX_DBS + 1] = NULL;
    err[0] = '\0';
    assert_int_equal(ol_store_open(&st, f->path, 1 << 20, 0, many, err, sizeof err), -1);
    assert_non_null(strstr(err, "too many"));
    many[OL_STORE_MAX_DBS] = NULL; /* exactly the maximum works */
    assert_int_equal(ol_store_open(&st, f->path, 1 << 20, 0, many, err, sizeof err), 0);
    assert_int_equal(st.ndbs, OL_STORE_MAX_DBS);
    ol_store_close(&st);
}

/* A query process opens the environment read-only while the writer holds it
 * open, and sees exactly what was committed. */
static void test_store_concurrent_reader(void **state)
{
    envfix *f = *state;
    ol_store st;
    char err[512];
    MDB_txn *txn;

    assert_int_equal(ol_store_open(&st, f->path, 1 << 20, 0, DBS, err, sizeof err), 0);
    MDB_dbi meta = ol_store_dbi(&st, "meta");
    assert_int_equal(mdb_txn_begin(st.env, NULL, 0, &txn), 0);
    assert_int_equal(ol_meta_put_i64(txn, meta, "committed", 77), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    /* an open, uncommitted write transaction */
    assert_int_equal(mdb_txn_begin(st.env, NULL, 0, &txn), 0);
    assert_int_equal(ol_meta_put_i64(txn, meta, "pending", 1), 0);

    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        ol_store ro;
        MDB_txn *rt;
        int64_t c = -1, p = -1;
        char e[512];
        if (ol_store_open(&ro, f->path, 1 << 20, 1, DBS, e, sizeof e))
            _exit(10);
        if (mdb_txn_begin(ro.env, NULL, MDB_RDONLY, &rt))
            _exit(11);
        if (ol_meta_get_i64(rt, ol_store_dbi(&ro, "meta"), "committed", &c) ||
            ol_meta_get_i64(rt, ol_store_dbi(&ro, "meta"), "pending", &p))
            _exit(12);
        mdb_txn_abort(rt);
        ol_store_close(&ro);
        _exit(c == 77 && p == 0 ? 0 : 13);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    ol_store_close(&st);
}

/* LMDB itself iterates keys built by ol_key in the natural order */
static void test_store_cursor_order(void **state)
{
    envfix *f = *state;
    ol_store st;
    char err[512];
    MDB_txn *txn;
    MDB_cursor *cur;
    /* expected order */
    static const struct {
        const char *s;
        int32_t w;
    } order[] = {{"a", -5}, {"a", 0}, {"a", 1}, {"a", 2}, {"a", 7}, {"ab", -100}, {"b", 0}, {"p-1", 202647},
                 {"p-1", 202701}, {"p-10", 197001}};
    const size_t n = sizeof order / sizeof order[0];
    static const size_t insert[] = {9, 3, 0, 7, 5, 1, 8, 2, 6, 4}; /* scrambled */

    assert_int_equal(ol_store_open(&st, f->path, 1 << 20, 0, DBS, err, sizeof err), 0);
    MDB_dbi a = ol_store_dbi(&st, "alpha");
    assert_int_equal(mdb_txn_begin(st.env, NULL, 0, &txn), 0);
    for (size_t i = 0; i < n; i++) {
        ol_key k;
        build_str_i32(&k, order[insert[i]].s, order[insert[i]].w);
        MDB_val kv = ol_key_val(&k), v = {sizeof insert[i], (void *)&insert[i]};
        assert_int_equal(mdb_put(txn, a, &kv, &v, 0), 0);
    }
    assert_int_equal(mdb_cursor_open(txn, a, &cur), 0);
    MDB_val kv, v;
    size_t i = 0;
    int rc;
    while ((rc = mdb_cursor_get(cur, &kv, &v, i == 0 ? MDB_FIRST : MDB_NEXT)) == 0) {
        assert_true(i < n);
        size_t sl = strlen(order[i].s);
        assert_int_equal(kv.mv_size, sl + 1 + 4);
        assert_memory_equal(kv.mv_data, order[i].s, sl + 1);
        assert_int_equal(ol_key_get_i32((const uint8_t *)kv.mv_data + sl + 1), order[i].w);
        i++;
    }
    assert_int_equal(rc, MDB_NOTFOUND);
    assert_int_equal(i, n);
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    ol_store_close(&st);
}

static void test_store_dbi_undeclared_aborts(void **state)
{
    envfix *f = *state;
    ol_store st;
    char err[512];

    assert_int_equal(ol_store_open(&st, f->path, 1 << 20, 0, DBS, err, sizeof err), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int devnull = open("/dev/null", 1);
        if (devnull >= 0)
            dup2(devnull, 2); /* keep the expected error line out of the test output */
        (void)ol_store_dbi(&st, "undeclared");
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
    ol_store_close(&st);
}

/* The writable map's reserve (common/ol_store_reserve.c): how far ahead of
 * the data the blocks are allocated, and when a batch is refused. */
static void test_store_reserve_plan(void **state)
{
    (void)state;
    const size_t M = (size_t)1 << 20, G = (size_t)1 << 30;
    size_t from, to;
    /* a fresh store: the minimum from the end of the data (below it every page is written) */
    ol_reserve_in a = {.end = 1 * M, .reserved_to = 0, .growth = 0, .min = 16 * M, .map_bytes = 16 * G, .avail = 100 * G};
    assert_int_equal(ol_store_reserve_plan(&a, &from, &to), 0);
    assert_int_equal(from, 1 * M);
    assert_int_equal(to, 17 * M);
    /* twice the largest growth of a batch */
    a.growth = 100 * M;
    assert_int_equal(ol_store_reserve_plan(&a, &from, &to), 0);
    assert_int_equal(to, 201 * M);
    /* at most 1 GiB */
    a.growth = 3 * G;
    assert_int_equal(ol_store_reserve_plan(&a, &from, &to), 0);
    assert_int_equal(to, 1 * M + G);
    /* never past the map */
    a.map_bytes = 6 * M;
    assert_int_equal(ol_store_reserve_plan(&a, &from, &to), 0);
    assert_int_equal(to, 6 * M);
    /* already reserved far enough: nothing to allocate */
    ol_reserve_in b = {.end = 10 * M, .reserved_to = 50 * M, .growth = 10 * M, .min = 16 * M, .map_bytes = 16 * G, .avail = 100 * G};
    assert_int_equal(ol_store_reserve_plan(&b, &from, &to), 0);
    assert_int_equal(from, to);
    /* allocated from where the last reserve ended */
    b.growth = 40 * M;
    assert_int_equal(ol_store_reserve_plan(&b, &from, &to), 0);
    assert_int_equal(from, 50 * M);
    assert_int_equal(to, 90 * M);
    /* beyond the minimum, at most half of what is free */
    ol_reserve_in c = {.end = 1 * M, .reserved_to = 1 * M, .growth = 100 * M, .min = 16 * M, .map_bytes = 16 * G, .avail = 20 * M};
    assert_int_equal(ol_store_reserve_plan(&c, &from, &to), 0);
    assert_int_equal(from, 1 * M);
    assert_int_equal(to, 1 * M + 16 * M + 2 * M);
    /* not even the minimum free: refused before anything is allocated */
    c.avail = 15 * M;
    assert_int_equal(ol_store_reserve_plan(&c, &from, &to), ENOSPC);
    /* the minimum counts only what is not yet reserved */
    c.reserved_to = 10 * M;
    c.avail = 8 * M;
    assert_int_equal(ol_store_reserve_plan(&c, &from, &to), 0);
    assert_int_equal(from, 10 * M);
    assert_true(to >= 17 * M && to <= 10 * M + 8 * M);
}

/* pages of the map [from, to) that are present in this process's page
 * tables (/proc/self/pagemap bit 63): what the prefault thread prepares */
static size_t present_pages(const ol_store *st, size_t from, size_t to)
{
    long ps = sysconf(_SC_PAGESIZE);
    int fd = open("/proc/self/pagemap", O_RDONLY);
    size_t n = 0;
    if (fd < 0)
        return (size_t)-1;
    for (size_t off = from; off < to; off += (size_t)ps) {
        uint64_t e = 0;
        uintptr_t va = (uintptr_t)st->map + off;
        if (pread(fd, &e, sizeof e, (off_t)(va / (uintptr_t)ps * sizeof e)) != (ssize_t)sizeof e)
            break;
        n += (size_t)(e >> 63);
    }
    close(fd);
    return n;
}

/* The reserved blocks beyond the data of a bulk store (a replay) are
 * faulted in by the prefault thread (common/ol_store_prefault.c) before
 * LMDB writes there, and with lmdb_prefault = 0 they are not, nor on a
 * store that syncs every commit (the zeros would be written twice);
 * closing the store stops the thread before the map goes away (ASan runs
 * this). Skipped where the kernel refuses the advice (before Linux 5.14). */
static void test_store_prefault(void **state)
{
    envfix *f = *state;
    ol_store st;
    char err[512] = "";
    MDB_envinfo info;
    MDB_stat stat;
    const size_t M = (size_t)1 << 20;
    for (int c = 0; c < 3; c++) { /* 0: bulk, 1: bulk with lmdb_prefault = 0, 2: synced writemap */
        char dir[400];
        snprintf(dir, sizeof dir, "%s/pf%d", f->path, c);
        assert_int_equal(ol_store_open(&st, dir, 64 * M, c == 2 ? OL_STORE_WRITEMAP : OL_STORE_BULK, DBS, err,
                                       sizeof err),
                         0);
        assert_non_null(st.map);
        st.prefault_off = c == 1;
        st.reserve_min = 8 * M;
        assert_int_equal(ol_store_reserve(&st), 0);
        if (st.reserve_off) {
            ol_store_close(&st);
            skip(); /* no fallocate on this file system: no reserve, nothing to fault in */
        }
        assert_int_equal(mdb_env_info(st.env, &info), 0);
        assert_int_equal(mdb_env_stat(st.env, &stat), 0);
        size_t end = ((size_t)info.me_last_pgno + 1) * stat.ms_psize, want = 8 * M / (size_t)sysconf(_SC_PAGESIZE);
        assert_true(st.reserved_to >= end + 8 * M);
        size_t got = 0;
        for (int tries = 0; tries < (c ? 10 : 500) && got < want && !ol_store_prefault_refused(&st); tries++) {
            usleep(10000);
            got = present_pages(&st, end, end + 8 * M);
        }
        if (c == 0 && ol_store_prefault_refused(&st)) {
            ol_store_close(&st);
            skip(); /* the kernel has no MADV_POPULATE_WRITE */
        }
        if (c)
            assert_int_equal(got, 0); /* nothing touches the reserve but LMDB */
        else
            assert_int_equal(got, want);
        assert_int_equal(st.prefault != NULL, c == 0);
        ol_store_close(&st);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_i32_order_and_bytes),
        cmocka_unit_test(test_key_u32_u64_i64_u8),
        cmocka_unit_test(test_key_composite_order),
        cmocka_unit_test(test_key_overflow),
        cmocka_unit_test_setup_teardown(test_store_meta_and_offsets, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_store_readonly_errors, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_store_rekey, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_store_put_unless_same, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_store_switch_write_path, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_store_switch_falls_back, env_setup, env_teardown),
        cmocka_unit_test(test_store_reserve_plan),
        cmocka_unit_test_setup_teardown(test_store_prefault, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_store_concurrent_reader, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_store_cursor_order, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_store_dbi_undeclared_aborts, env_setup, env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
