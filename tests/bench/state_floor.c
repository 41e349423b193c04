/* state_floor — the runtime's per-record state layer alone (common/ol_state:
 * the version log and its in-memory indexes), with no Kafka, no Avro and no
 * fold: the floor under every service's rate with the state engine of
 * issue 15, printed beside lmdb_floor's (the B-tree layout it replaced).
 *
 *   state_floor DIR RECORDS BATCH sync|pwrite|nosync [SNAPSHOT_ROWS]
 *
 * Workload (issue 15): random 16-byte entity and event ids (as hex), 2 %
 * amendments of an entity seen before (a higher revision), 0.5 % re-sent
 * duplicates, 120-byte versions, one write transaction per BATCH records,
 * committed with a sync (a live service: "sync" writes through the map,
 * MDB_WRITEMAP with the reserve, as lmdb_writemap=1 does; "pwrite" is
 * LMDB's default write path, the services' default) or without (a replay; one sync at the end,
 * timed). Data time advances as in the generated data set (2 M
 * records over 68 weeks: STEP_MS a record), so the dedupe window (35 days)
 * holds the last ~5 weeks' event_ids, as in a service. Each record does what
 * ol_runtime's fold_one does with the state: prefetch its two index slots,
 * look up the entity's stored version, check the event_id against it and
 * against the seen index within the window, append a 'V' row. After a
 * commit that brings SNAPSHOT_ROWS (default 2,000,000: the runtime's
 * index_snapshot_rows; 0: none) rows since the last snapshot, the indexes
 * are written to DIR/index.snapshot or .alt, as ol_runtime does; the rate includes
 * those saves. After the run the directory is opened again three times,
 * each timed: a restart after a crash (the last periodic snapshot loaded
 * and the rows after it indexed; when there was none, the whole log), the
 * indexes rebuilt from the whole log (the snapshot removed), and a restart
 * after a clean stop (a snapshot written at the end, then loaded).
 * Prints one line:
 *   records=R seconds=S records_per_s=X batch=B sync=0|1 entities=E
 *   index_bytes=I bytes_per_entity=P periodic_snapshots=K periodic_save_ms=T
 *   crash_restart_ms=C tail_rows=Q rebuild_ms=M snapshot_save_ms=W
 *   snapshot_load_ms=S log_bytes=L */
#include "ol_state.h"
#include "ol_store.h"

#include "bench_util.h"

#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define VERSION_BYTES 120
#define WINDOW_MS (35LL * 86400000)
#define T0_MS 1794819600000LL
/* 68 weeks / 2,000,000 records (tests/bench/README.md: N = 2 M is 68 weeks) */
#define STEP_MS 20563LL

/* 16 random bytes as 32 hex characters */
static void hexid(uint64_t a, uint64_t b, char out[33])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[i] = hex[(a >> (60 - 4 * i)) & 15];
        out[16 + i] = hex[(b >> (60 - 4 * i)) & 15];
    }
    out[32] = '\0';
}

/* user + system CPU of this process so far: the loop's wall time minus
 * its CPU time is what it waited (the commits' syncs) */
static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

#define CHECK(call)                                                                                          \
    do {                                                                                                     \
        int rc_ = (call);                                                                                    \
        if (rc_ < 0 || rc_ > 1) {                                                                            \
            fprintf(stderr, "state_floor: %s: %s\n", #call, mdb_strerror(rc_));                              \
            return 1;                                                                                        \
        }                                                                                                    \
    } while (0)

int main(int argc, char **argv)
{
    static const char *const dbs[] = {"versions", NULL};
    char err[300], eid[33], id[33];
    uint8_t frame[VERSION_BYTES];
    ol_store st;
    MDB_txn *txn;

    if (argc != 5 && argc != 6)
        goto usage;
    long n = atol(argv[2]), batch = atol(argv[3]);
    long snapshot_rows = argc == 6 ? atol(argv[5]) : 2000000;
    char snap[4200], why[300];
    snprintf(snap, sizeof snap, "%s/index.snapshot", argv[1]);
    long periodic = 0;
    double periodic_s = 0;
    int sync = strcmp(argv[4], "nosync") != 0, pwrite_path = !strcmp(argv[4], "pwrite");
    if (n < 1 || batch < 1 || (sync && !pwrite_path && strcmp(argv[4], "sync")))
        goto usage;
    if (ol_store_open(&st, argv[1], (size_t)8 << 30, !sync ? OL_STORE_BULK : pwrite_path ? 0 : OL_STORE_WRITEMAP, dbs,
                      err, sizeof err)) {
        fprintf(stderr, "state_floor: %s\n", err);
        return 1;
    }
    MDB_dbi log = ol_store_dbi(&st, "versions");
    ol_state *s = ol_state_new(log, WINDOW_MS);
    memset(frame, 0x5a, sizeof frame);

    /* entities are drawn from a seed; an amendment re-draws an earlier one */
    uint64_t seed = 42, ids = 7;
    long made = 0;
    double t0 = now_s(), cpu0 = cpu_s();
    for (long done = 0; done < n;) {
        CHECK(ol_store_reserve(&st)); /* as the runtime does before a batch */
        CHECK(mdb_txn_begin(st.env, NULL, 0, &txn));
        for (long i = 0; i < batch && done < n; i++, done++) {
            uint64_t r = splitmix(&seed) % 1000;
            int64_t rev = 1;
            if (r < 20 && made > 0) { /* 2 %: an amendment of an earlier entity */
                uint64_t back = 7 + 0x9e3779b97f4a7c15ULL * (1 + splitmix(&seed) % (uint64_t)made);
                uint64_t t = back;
                hexid(splitmix(&t), splitmix(&t), id);
                rev = 2 + (int64_t)(splitmix(&seed) % 1000);
            } else { /* a new entity */
                hexid(splitmix(&ids), splitmix(&ids), id);
                made++;
            }
            int64_t occurred = T0_MS + done * STEP_MS, since = occurred - WINDOW_MS;
            if (r >= 995 && done > 0) { /* 0.5 %: a re-sent duplicate: the event just folded */
                ol_version v;
                ol_state_prefetch(s, "timesheet.entry", id, eid);
                CHECK(ol_state_get(s, txn, "timesheet.entry", id, &v));
                CHECK(ol_state_seen(s, txn, eid, since));
                continue;
            }
            hexid(splitmix(&seed), splitmix(&seed), eid);
            ol_version v;
            ol_state_prefetch(s, "timesheet.entry", id, eid);
            int have = ol_state_get(s, txn, "timesheet.entry", id, &v);
            CHECK(have);
            if (have && v.event_len == 32 && !memcmp(v.event_id, eid, 32))
                continue;
            CHECK(ol_state_seen(s, txn, eid, since));
            char kind = have && rev <= v.revision ? 'S' : 'V';
            CHECK(ol_state_append(s, txn, kind, "timesheet.entry", id, rev, occurred, eid, frame,
                                  sizeof frame));
        }
        int rc = mdb_txn_commit(txn);
        CHECK(rc);
        if (snapshot_rows > 0 && ol_state_snapshot_due(s, (uint64_t)snapshot_rows)) { /* as ol_runtime does */
            double ts = now_s();
            CHECK(mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn));
            int saved = ol_state_save_pair(s, txn, snap);
            mdb_txn_abort(txn);
            if (saved) {
                fprintf(stderr, "state_floor: cannot write %s: %s\n", snap, mdb_strerror(saved));
                return 1;
            }
            periodic++;
            periodic_s += now_s() - ts;
        }
    }
    CHECK(ol_store_sync(&st));
    double secs = now_s() - t0, cpu = cpu_s() - cpu0;
    size_t ents, evs, bytes = ol_state_memory(s, &ents, &evs);
    MDB_envinfo info;
    MDB_stat ms;
    mdb_env_info(st.env, &info);
    mdb_env_stat(st.env, &ms);
    ol_state_free(s);
    ol_store_close(&st);

    /* a restart: the indexes rebuilt from the log, the window set first (as ol_runtime does) */
    int64_t window_start = T0_MS + (n - 1) * STEP_MS - WINDOW_MS;
    if (ol_store_open(&st, argv[1], (size_t)8 << 30, 0, dbs, err, sizeof err)) {
        fprintf(stderr, "state_floor: %s\n", err);
        return 1;
    }
    /* after a crash: the last periodic snapshot and the rows after it (the runtime's start) */
    s = ol_state_new(ol_store_dbi(&st, "versions"), WINDOW_MS);
    ol_state_set_window_start(s, window_start);
    double tc = now_s();
    CHECK(mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn));
    int adopted = ol_state_load_pair(s, txn, snap, why, sizeof why);
    if (periodic && !adopted) {
        fprintf(stderr, "state_floor: the periodic snapshot was not loaded: %s\n", why);
        return 1;
    }
    CHECK(ol_state_ready(s, txn));
    mdb_txn_abort(txn);
    double crash_ms = (now_s() - tc) * 1000;
    uint64_t tail_rows = adopted ? ol_state_tail_rows(s) : 0;
    ol_state_free(s);
    remove(snap);
    char alt[4300];
    snprintf(alt, sizeof alt, "%s.alt", snap);
    remove(alt);
    /* the whole log */
    s = ol_state_new(ol_store_dbi(&st, "versions"), WINDOW_MS);
    ol_state_set_window_start(s, window_start);
    CHECK(mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn));
    CHECK(ol_state_ready(s, txn));
    mdb_txn_abort(txn);
    double rebuild_ms = (double)ol_state_build_us(s) / 1000;
    /* a clean stop writes the snapshot; the next start loads it (timed) */
    double t1 = now_s();
    CHECK(mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn));
    int saved = ol_state_save(s, txn, snap);
    mdb_txn_abort(txn);
    if (saved) {
        fprintf(stderr, "state_floor: cannot write %s\n", snap);
        return 1;
    }
    double save_ms = (now_s() - t1) * 1000;
    ol_state_free(s);
    s = ol_state_new(ol_store_dbi(&st, "versions"), WINDOW_MS);
    ol_state_set_window_start(s, window_start);
    CHECK(mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn));
    int loaded = ol_state_load(s, txn, snap, why, sizeof why);
    mdb_txn_abort(txn);
    if (loaded != 1) {
        fprintf(stderr, "state_floor: the snapshot was not loaded: %s\n", why);
        return 1;
    }
    printf("records=%ld seconds=%.3f cpu_seconds=%.3f records_per_s=%.0f batch=%ld sync=%d entities=%zu index_bytes=%zu "
           "bytes_per_entity=%.1f periodic_snapshots=%ld periodic_save_ms=%.0f crash_restart_ms=%.0f tail_rows=%llu "
           "rebuild_ms=%.0f snapshot_save_ms=%.0f snapshot_load_ms=%.0f log_bytes=%zu\n",
           n, secs, cpu, (double)n / secs, batch, sync, ents, bytes, ents ? (double)bytes / (double)ents : 0.0, periodic,
           periodic_s * 1000, crash_ms, (unsigned long long)tail_rows, rebuild_ms, save_ms, (double)ol_state_build_us(s) / 1000, (size_t)(info.me_last_pgno + 1) * ms.ms_psize);
    ol_state_free(s);
    ol_store_close(&st);
    return 0;
usage:
    fprintf(stderr, "usage: state_floor DIR RECORDS BATCH sync|pwrite|nosync [SNAPSHOT_ROWS]\n");
    return 2;
}
