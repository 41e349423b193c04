/* lmdb_floor — what the SPEC's per-record state costs in LMDB alone, with no
 * Kafka, no Avro and no fold: the floor under every service's rate.
 *
 *   lmdb_floor DIR preload P                       fill a fresh DIR with P rows per tree
 *   lmdb_floor DIR run RECORDS BATCH sync|nosync   time RECORDS more records
 *
 * Every input record a service folds must leave two rows behind in the
 * transaction of its batch (SPEC: "an event_id seen before is skipped" and
 * "the highest revision wins, whatever the arrival order"): its event_id in
 * the seen set (a random 36-character UUID, empty value) and the entity's
 * latest version under topic|entity_id (~200 bytes: revision, event_id and
 * the frame, as common/ol_runtime.c's put_entity stores it). Both keys are
 * random, so in a tree much larger than a batch nearly every record dirties
 * its own leaf page in each of the two trees.
 *
 * `preload` fills both trees with P rows in random order (the state after P
 * records). `run` (a separate process, so that its memory is
 * its own) times RECORDS records, two mdb_put per record, one transaction
 * per BATCH records, committed with a sync (sync: a live service) or without
 * one (nosync: a replay, which syncs once at the end; that sync is timed
 * too). It prints one line:
 *   records=R seconds=S records_per_s=X batch=B rows=P sync=0|1 heap_kb=K
 * heap_kb: the heap in use at the end; LMDB allocates a transaction's dirty
 * pages with malloc and keeps them for reuse, so this is about the largest
 * transaction's dirty pages: the memory a batch needs.
 *
 * The keys are a deterministic pseudo-random sequence (splitmix64), the
 * same in every run on trees of the same size. */
#include "bench_util.h"

#include <lmdb.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ENTITY_VALUE 190

/* a v4-looking UUID string from two random words */
static void uuid(uint64_t *s, char out[37])
{
    static const char hex[] = "0123456789abcdef";
    uint64_t w[2] = {splitmix(s), splitmix(s)};
    int j = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[j++] = '-';
        unsigned b = (unsigned)(w[i / 8] >> (8 * (i % 8))) & 0xff;
        out[j++] = hex[b >> 4];
        out[j++] = hex[b & 15];
    }
    out[j] = '\0';
}

#define CHECK(call)                                                                                          \
    do {                                                                                                     \
        int rc_ = (call);                                                                                    \
        if (rc_) {                                                                                           \
            fprintf(stderr, "lmdb_floor: %s: %s\n", #call, mdb_strerror(rc_));                              \
            return 1;                                                                                        \
        }                                                                                                    \
    } while (0)

/* the preload of one tree: n keys PREFIX+uuid in random order, as a fold
 * writes them (a sorted MDB_APPEND load would leave every leaf full, and
 * then every timed insert would split a page), in transactions of 1M rows
 * without sync (the preload is not timed) */
static int preload(MDB_env *env, MDB_dbi dbi, const char *prefix, size_t vlen, long n, uint64_t seed)
{
    size_t pl = strlen(prefix);
    char val[ENTITY_VALUE] = {0}, buf[128], u[37];
    MDB_txn *txn = NULL;
    CHECK(mdb_env_set_flags(env, MDB_NOSYNC, 1));
    for (long i = 0; i < n; i++) {
        if (!txn)
            CHECK(mdb_txn_begin(env, NULL, 0, &txn));
        uuid(&seed, u);
        memcpy(buf, prefix, pl);
        memcpy(buf + pl, u, 36);
        MDB_val k = {pl + 36, buf}, v = {vlen, val};
        CHECK(mdb_put(txn, dbi, &k, &v, 0));
        if ((i + 1) % 1000000 == 0) {
            CHECK(mdb_txn_commit(txn));
            txn = NULL;
        }
    }
    if (txn)
        CHECK(mdb_txn_commit(txn));
    CHECK(mdb_env_sync(env, 1));
    return 0;
}

static int open_env(const char *dir, MDB_env **env, MDB_dbi *seen, MDB_dbi *entity)
{
    MDB_txn *txn;
    CHECK(mdb_env_create(env));
    CHECK(mdb_env_set_mapsize(*env, (size_t)64 << 30));
    CHECK(mdb_env_set_maxdbs(*env, 4));
    CHECK(mdb_env_open(*env, dir, 0, 0644));
    CHECK(mdb_txn_begin(*env, NULL, 0, &txn));
    CHECK(mdb_dbi_open(txn, "seen", MDB_CREATE, seen));
    CHECK(mdb_dbi_open(txn, "entity", MDB_CREATE, entity));
    CHECK(mdb_txn_commit(txn));
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: lmdb_floor DIR preload P | lmdb_floor DIR run RECORDS BATCH sync|nosync\n");
    return 2;
}

int main(int argc, char **argv)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi seen, entity;
    MDB_stat st;
    char val[ENTITY_VALUE] = {0}, u[37], ek[64];
    const char *topic = "timesheet.entry|";
    size_t tl = strlen(topic);

    if (argc == 4 && !strcmp(argv[2], "preload")) {
        long pre = atol(argv[3]);
        if (pre < 0)
            return usage();
        if (open_env(argv[1], &env, &seen, &entity) || preload(env, seen, "", 0, pre, 1) ||
            preload(env, entity, topic, ENTITY_VALUE, pre, 2))
            return 1;
        mdb_env_close(env);
        return 0;
    }
    if (argc != 6 || strcmp(argv[2], "run"))
        return usage();
    long n = atol(argv[3]), batch = atol(argv[4]);
    int sync = strcmp(argv[5], "nosync") != 0;
    if (n < 1 || batch < 1)
        return usage();
    if (open_env(argv[1], &env, &seen, &entity))
        return 1;
    CHECK(mdb_env_set_flags(env, MDB_NOSYNC, !sync));
    CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn));
    CHECK(mdb_stat(txn, seen, &st));
    mdb_txn_abort(txn);
    uint64_t seed = 42 + st.ms_entries; /* a later run on the same trees writes new keys */

    double t0 = now_s();
    for (long done = 0; done < n;) {
        CHECK(mdb_txn_begin(env, NULL, 0, &txn));
        for (long i = 0; i < batch && done < n; i++, done++) {
            uuid(&seed, u);
            MDB_val k = {36, u}, empty = {0, ""};
            CHECK(mdb_put(txn, seen, &k, &empty, MDB_NOOVERWRITE));
            uuid(&seed, u);
            memcpy(ek, topic, tl);
            memcpy(ek + tl, u, 36);
            MDB_val k2 = {tl + 36, ek}, v = {ENTITY_VALUE, val};
            CHECK(mdb_put(txn, entity, &k2, &v, 0));
        }
        CHECK(mdb_txn_commit(txn));
    }
    CHECK(mdb_env_sync(env, 1));
    double s = now_s() - t0;
    printf("records=%ld seconds=%.3f records_per_s=%.0f batch=%ld rows=%zu sync=%d heap_kb=%zu\n", n, s,
           (double)n / s, batch, st.ms_entries, sync, mallinfo2().uordblks / 1024);
    mdb_env_close(env);
    return 0;
}
