/* test_state — the state engine (common/ol_state) against a model of what
 * SPEC 2 and 4 ask of it, record by record, over a long random history:
 * the latest version of every entity (highest revision wins), and "an
 * event_id seen before is skipped" (the stored version's always, other
 * rows' within the dedupe window). The engine's indexes are derived state
 * with shortcuts (a probe remembered between a look-up and its append,
 * prefetches, tables that grow, a seen index that drops rows leaving the
 * window, a snapshot); the model has none, so any shortcut that answers
 * differently from the log fails here. Batches are committed or aborted
 * (the engine must then forget what the batch indexed), and the engine is
 * restarted from the log and from a snapshot along the way. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ol_state.h"
#include "ol_state_int.h" /* ol_state_chain_step, for test_state_chain_sees_every_byte */
#include "ol_store.h"
#include "test_util.h"

#include <errno.h>
#include <unistd.h>

#define ENTITIES 3000 /* per topic: enough for the tables to grow from 1024 slots */
#define RECORDS 40000
#define DAY 86400000LL
#define WINDOW (35 * DAY)

static const char *const TOPICS[2] = {"hr.person", "timesheet.entry"};

struct ent_model {
    uint64_t seq; /* 0: none */
    int64_t rev;
    int64_t eid;
};

struct model {
    struct ent_model ent[2][ENTITIES];
    int64_t eid_at[RECORDS + 1]; /* the latest occurred_at of a row carrying event e, INT64_MIN: none */
    uint64_t next_seq;
};

static uint64_t rnd(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void idstr(char *b, size_t n, const char *p, long i) { snprintf(b, n, "%s-%08ld-with-some-length", p, i); }

/* whether the indexes have seen event id p-i (idstr), the window unbounded */
static int seen_id(ol_state *s, MDB_txn *txn, const char *p, long i)
{
    char eid[64];
    idstr(eid, sizeof eid, p, i);
    return ol_state_seen(s, txn, eid, INT64_MIN);
}

/* a fresh store in a new directory dir (tag names it) with databases dbs,
 * the state over its "versions", and the snapshot path in dir */
static ol_state *fresh_state(char dir[256], const char *tag, const char *const *dbs, ol_store *st, char snap[400])
{
    char err[300];
    tu_mkdtemp(dir, 256, tag);
    snprintf(snap, 400, "%s/index.snapshot", dir);
    assert_int_equal(ol_store_open(st, dir, 64u << 20, 0, dbs, err, sizeof err), 0);
    ol_state *s = ol_state_new(ol_store_dbi(st, "versions"), WINDOW);
    assert_non_null(s);
    return s;
}

/* the snapshot saved as ol_runtime saves it: after a commit, in a read transaction; 0 or an error */
static int save(ol_state *s, ol_store *st, const char *snap)
{
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn), 0);
    int rc = ol_state_save(s, txn, snap);
    mdb_txn_abort(txn);
    return rc;
}

/* a (re)start as ol_runtime does it: the dedupe window from the data time, then the indexes */
static ol_state *start(ol_store *st, const char *snap, int use_snapshot, int64_t data_time)
{
    ol_state *s = ol_state_new(ol_store_dbi(st, "versions"), WINDOW);
    ol_state_set_window_start(s, data_time - WINDOW);
    MDB_txn *txn;
    char why[300];
    assert_non_null(s);
    assert_int_equal(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn), 0);
    if (use_snapshot)
        assert_int_equal(ol_state_load(s, txn, snap, why, sizeof why), 1);
    assert_int_equal(ol_state_ready(s, txn), 0);
    mdb_txn_abort(txn);
    /* as ol_runtime does: an aborted batch reloads the snapshot and the rows after it */
    assert_int_equal(ol_state_use_snapshot(s, snap), 0);
    return s;
}

static void test_state_matches_model(void **state)
{
    (void)state;
    static const char *const dbs[] = {"versions", NULL};
    static struct model m, committed;
    char dir[256], err[300], snap[400], id[64], eid[64];
    uint64_t x = 20261201;
    int64_t now = 1700000000000LL; /* the data time: advances ~1 hour a record, so rows leave the window */
    long next_eid = 1, restarts = 0, snapshots = 0, aborts = 0, tails = 0, reloads = 0;
    int have_snapshot = 0;
    ol_store st;

    tu_mkdtemp(dir, sizeof dir, "state");
    snprintf(snap, sizeof snap, "%s/index.snapshot", dir);
    assert_int_equal(ol_store_open(&st, dir, 256u << 20, 0, dbs, err, sizeof err), 0);
    memset(&m, 0, sizeof m);
    for (long e = 0; e <= RECORDS; e++)
        m.eid_at[e] = INT64_MIN;
    m.next_seq = 1;
    committed = m;
    ol_state *s = start(&st, snap, 0, now);

    for (long done = 0; done < RECORDS;) {
        MDB_txn *txn;
        long batch = 1 + (long)(rnd(&x) % 700);
        int64_t batch_since = now - WINDOW; /* at least the window of every record committed so far */
        assert_int_equal(mdb_txn_begin(st.env, NULL, 0, &txn), 0);
        for (long i = 0; i < batch && done < RECORDS; i++, done++) {
            int t = (int)(rnd(&x) % 2);
            long ent = (long)(rnd(&x) % ENTITIES), e;
            uint64_t r = rnd(&x) % 100;
            if (r < 10 && next_eid > 1) /* a recent event_id again, maybe for another entity: near the window's edge */
                e = next_eid - 1 - (long)(rnd(&x) % (uint64_t)(next_eid - 1 < 1500 ? next_eid - 1 : 1500));
            else if (r < 13 && next_eid > 1)
                e = 1 + (long)(rnd(&x) % (uint64_t)(next_eid - 1)); /* any event_id used before */
            else if (r < 16 && m.ent[t][ent].seq)
                e = m.ent[t][ent].eid; /* the stored version's own event_id, re-sent */
            else
                e = next_eid++;
            /* whole hours, so that rows fall exactly on the window's edge; late records too */
            int64_t occurred = now - (int64_t)(rnd(&x) % (40 * 24)) * 3600000;
            int64_t rev = 1 + (int64_t)(rnd(&x) % 6);
            int64_t since = now - WINDOW;
            now += 3600000 * (int64_t)(1 + rnd(&x) % 2);
            idstr(id, sizeof id, "ent", ent);
            idstr(eid, sizeof eid, "evt", e);

            if (rnd(&x) % 2)
                ol_state_prefetch(s, TOPICS[t], id, eid);
            ol_version old;
            int have = ol_state_get(s, txn, TOPICS[t], id, &old);
            struct ent_model *me = &m.ent[t][ent];
            assert_int_equal(have, me->seq != 0);
            if (have) {
                assert_int_equal(old.seq, me->seq);
                assert_int_equal(old.revision, me->rev);
                char want[64];
                idstr(want, sizeof want, "evt", me->eid);
                assert_int_equal(old.event_len, strlen(want));
                assert_memory_equal(old.event_id, want, old.event_len);
                if (me->eid == e)
                    continue; /* the stored version's event_id: always a duplicate */
            }
            int seen = ol_state_seen(s, txn, eid, since);
            assert_true(seen == 0 || seen == 1);
            assert_int_equal(seen, m.eid_at[e] != INT64_MIN && m.eid_at[e] >= since);
            if (seen)
                continue;
            char kind = have && rev <= me->rev ? 'S' : 'V';
            uint8_t frame[40];
            memset(frame, (int)(e & 0xff), sizeof frame);
            assert_int_equal(ol_state_append(s, txn, kind, TOPICS[t], id, rev, occurred, eid, frame, sizeof frame), 0);
            if (kind == 'V')
                me->seq = m.next_seq, me->rev = rev, me->eid = e;
            if (occurred > m.eid_at[e])
                m.eid_at[e] = occurred;
            m.next_seq++;
        }
        uint64_t fate = rnd(&x) % 20;
        if (fate == 0) { /* the batch fails: nothing of it was committed */
            mdb_txn_abort(txn);
            ol_state_invalidate(s, batch_since);
            m = committed;
            aborts++;
            reloads += have_snapshot; /* the next look-up reloads the snapshot and the rows after it */
        } else {
            assert_int_equal(mdb_txn_commit(txn), 0);
            committed = m;
        }
        if (fate == 3 || fate == 4) { /* a periodic snapshot (ol_runtime: index_snapshot_rows): the log moves on */
            assert_int_equal(save(s, &st, snap), 0);
            have_snapshot = 1;
        }
        if (fate == 1 || fate == 2) {
            /* a restart: the indexes from the log, or from a clean stop's
             * snapshot, or (a crash) from the last periodic one and the
             * rows committed after it */
            int crash = fate == 2 && have_snapshot && rnd(&x) % 2;
            int from_snapshot = fate == 2 && (crash || (have_snapshot = !save(s, &st, snap)));
            ol_state_free(s);
            s = start(&st, snap, from_snapshot, now);
            restarts++;
            snapshots += from_snapshot;
            tails += from_snapshot && ol_state_tail_rows(s) > 0;
        }
    }
    /* the model's entities are all there, nothing more */
    size_t ents, ids, n = 0;
    ol_state_memory(s, &ents, &ids);
    for (int t = 0; t < 2; t++)
        for (long i = 0; i < ENTITIES; i++)
            n += m.ent[t][i].seq != 0;
    print_message("state: %ld records, %zu entities, %zu event_ids indexed of %ld, %ld aborts, %ld restarts "
                  "(%ld from a snapshot, %ld of them with rows after it), %ld aborts reloaded a snapshot\n",
                  (long)RECORDS, ents, ids, next_eid - 1, aborts, restarts, snapshots, tails, reloads);
    assert_int_equal(ents, n);
    assert_true(n > 1024); /* the entity table grew */
    assert_true(aborts > 0 && restarts > 0 && snapshots > 0 && tails > 0 && reloads > 0);
    /* the seen index holds the window's event_ids, not the history's */
    assert_true(ids < (size_t)next_eid / 4);
    ol_state_free(s);
    ol_store_close(&st);
    tu_rmtree(dir);
}

/* Every new entity is looked up, then appended (the runtime's order): the
 * append reuses the look-up's probe unless the table changed in between,
 * and it does change when this append makes the table grow. Placement
 * depends on the per-process hash seed, so several fresh states each cross
 * every growth from 1,024 slots to 32,768. */
static void test_state_growth_keeps_every_entity(void **state)
{
    (void)state;
    static const char *const dbs[] = {"versions", NULL};
    char dir[256], err[300], id[64], eid[64];
    ol_store st;
    MDB_txn *txn;
    enum { N = 12000, ROUNDS = 6 };

    tu_mkdtemp(dir, sizeof dir, "stategrow");
    assert_int_equal(ol_store_open(&st, dir, 256u << 20, 0, dbs, err, sizeof err), 0);
    for (int round = 0; round < ROUNDS; round++) {
        ol_state *s = ol_state_new(ol_store_dbi(&st, "versions"), WINDOW);
        ol_version v;
        assert_int_equal(mdb_txn_begin(st.env, NULL, 0, &txn), 0);
        for (long i = 0; i < N; i++) {
            idstr(id, sizeof id, "grow", round * (long)N + i);
            idstr(eid, sizeof eid, "gevt", round * (long)N + i);
            ol_state_prefetch(s, "hr.person", id, eid);
            assert_int_equal(ol_state_get(s, txn, "hr.person", id, &v), 0);
            assert_int_equal(ol_state_seen(s, txn, eid, INT64_MIN), 0);
            assert_int_equal(ol_state_append(s, txn, 'V', "hr.person", id, 1, 1700000000000LL, eid, "f", 1), 0);
        }
        size_t ents;
        ol_state_memory(s, &ents, NULL);
        assert_int_equal(ents, (size_t)(round + 1) * N); /* earlier rounds' rows are in the log */
        for (long i = 0; i < (round + 1) * (long)N; i++) {
            idstr(id, sizeof id, "grow", i);
            assert_int_equal(ol_state_get(s, txn, "hr.person", id, &v), 1);
            idstr(eid, sizeof eid, "gevt", i);
            assert_int_equal(ol_state_seen(s, txn, eid, INT64_MIN), 1);
        }
        assert_int_equal(mdb_txn_commit(txn), 0);
        ol_state_free(s);
    }
    ol_store_close(&st);
    tu_rmtree(dir);
}

/* The window's edge, exactly: a row whose occurred_at is the window's
 * start is still seen, one a millisecond older is not; the same after the
 * indexes are rebuilt from the log with that window (which leaves rows of
 * days before it out) and after a snapshot. */
static void test_state_window_edge(void **state)
{
    (void)state;
    static const char *const dbs[] = {"versions", NULL};
    char dir[256], snap[400], why[300];
    const int64_t t0 = 1790000000000LL; /* mid-day */
    ol_store st;
    MDB_txn *txn;

    ol_state *s = fresh_state(dir, "stateedge", dbs, &st, snap);
    assert_int_equal(mdb_txn_begin(st.env, NULL, 0, &txn), 0);
    assert_int_equal(ol_state_append(s, txn, 'V', "hr.leave", "a", 1, t0, "at-edge", "f", 1), 0);
    assert_int_equal(ol_state_append(s, txn, 'V', "hr.leave", "b", 1, t0 - 1, "before-edge", "f", 1), 0);
    assert_int_equal(ol_state_append(s, txn, 'S', "hr.leave", "c", 1, t0 - 3 * DAY, "days-before", NULL, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    for (int how = 0; how < 3; how++) { /* 0: live, 1: rebuilt from the log, 2: from a snapshot */
        if (how) {
            int saved = how == 2 && !save(s, &st, snap);
            ol_state_free(s);
            s = ol_state_new(ol_store_dbi(&st, "versions"), WINDOW);
            ol_state_set_window_start(s, t0);
            assert_int_equal(mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn), 0);
            if (how == 2)
                assert_int_equal(saved && ol_state_load(s, txn, snap, why, sizeof why), 1);
            assert_int_equal(ol_state_ready(s, txn), 0);
            mdb_txn_abort(txn);
        }
        assert_int_equal(mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn), 0);
        assert_int_equal(ol_state_seen(s, txn, "at-edge", t0), 1);
        assert_int_equal(ol_state_seen(s, txn, "before-edge", t0), 0);
        assert_int_equal(ol_state_seen(s, txn, "days-before", t0), 0);
        /* the stored versions themselves stay, whatever the window */
        ol_version v;
        assert_int_equal(ol_state_get(s, txn, "hr.leave", "b", &v), 1);
        assert_int_equal(v.occurred_at, t0 - 1);
        mdb_txn_abort(txn);
    }
    ol_state_free(s);
    ol_store_close(&st);
    tu_rmtree(dir);
}

/* the snapshot's checksum (ol_state_snapshot.c: FNV-1a over 8-byte words) */
static uint64_t snap_fnv(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x100000001b3ULL;
    }
    return h;
}

/* A snapshot whose checksum is right but which lacks a slot (damage made
 * to look valid, or a bug in the writer) is refused: with it, an entity
 * would look new and its next version be folded as a second live one. */
static void test_state_snapshot_missing_slot_refused(void **state)
{
    (void)state;
    static const char *const dbs[] = {"versions", NULL};
    char dir[256], snap[400], why[300], id[64], eid[64];
    ol_store st;
    MDB_txn *txn;

    ol_state *s = fresh_state(dir, "statesnap", dbs, &st, snap);
    assert_int_equal(mdb_txn_begin(st.env, NULL, 0, &txn), 0);
    for (long i = 0; i < 50; i++) {
        idstr(id, sizeof id, "snap", i);
        idstr(eid, sizeof eid, "sevt", i);
        assert_int_equal(ol_state_append(s, txn, 'V', "hr.person", id, 1, 1700000000000LL, eid, "f", 1), 0);
    }
    assert_int_equal(mdb_txn_commit(txn), 0);
    assert_int_equal(save(s, &st, snap), 0);
    ol_state_free(s);

    /* the file as written loads */
    s = ol_state_new(ol_store_dbi(&st, "versions"), WINDOW);
    assert_int_equal(mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(ol_state_load(s, txn, snap, why, sizeof why), 1);
    mdb_txn_abort(txn);
    ol_state_free(s);

    /* one occupied entity slot zeroed, the checksum made right again */
    FILE *f = fopen(snap, "rb");
    assert_non_null(f);
    static uint8_t buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_true(n > 80 + 8 && n < sizeof buf); /* a header of 10 words, slots, a checksum */
    uint64_t head[10]; /* 10 words (ol_state_snapshot.c) */
    memcpy(head, buf, sizeof head);
    size_t slot = 12, off = 0;
    for (size_t i = 0; i < head[4] && !off; i++) /* head[4]: the entity table's slots */
        if (memcmp(buf + sizeof head + i * slot, "\0\0\0\0", 4))
            off = sizeof head + i * slot;
    assert_true(off > 0);
    memset(buf + off, 0, slot);
    uint64_t sum = snap_fnv(buf, n - 8);
    memcpy(buf + n - 8, &sum, 8);
    f = fopen(snap, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, n, f), n);
    fclose(f);

    s = ol_state_new(ol_store_dbi(&st, "versions"), WINDOW);
    assert_int_equal(mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(ol_state_load(s, txn, snap, why, sizeof why), 0);
    assert_non_null(strstr(why, "slots"));
    /* the log is read instead, and every entity is there */
    assert_int_equal(ol_state_ready(s, txn), 0);
    for (long i = 0; i < 50; i++) {
        ol_version v;
        idstr(id, sizeof id, "snap", i);
        assert_int_equal(ol_state_get(s, txn, "hr.person", id, &v), 1);
    }
    mdb_txn_abort(txn);
    ol_state_free(s);
    ol_store_close(&st);
    tu_rmtree(dir);
}

/* copies file a to b: 0 or -1 */
static int copy_file(const char *a, const char *b)
{
    static char buf[1 << 16];
    FILE *in = fopen(a, "rb"), *out = fopen(b, "wb");
    size_t n;
    int rc = in && out ? 0 : -1;
    while (!rc && (n = fread(buf, 1, sizeof buf, in)) > 0)
        rc = fwrite(buf, 1, n, out) == n ? 0 : -1;
    if (in)
        fclose(in);
    if (out && fclose(out))
        rc = -1;
    return rc;
}

/* appends rows [from, to) of a store's history: entity "tail-<i % 40>" in
 * revision i, event "<tag>-<i>", one committed batch; s NULL: through a
 * fresh state (another process) */
static void append_rows(ol_state *s, ol_store *st, const char *tag, long from, long to, const char *frame)
{
    ol_state *own = s ? NULL : (s = ol_state_new(ol_store_dbi(st, "versions"), WINDOW)); /* NULL: a fresh one */
    MDB_txn *txn;
    char id[64], eid[64];
    assert_int_equal(mdb_txn_begin(st->env, NULL, 0, &txn), 0);
    for (long i = from; i < to; i++) {
        idstr(id, sizeof id, "tail", i % 40);
        idstr(eid, sizeof eid, tag, i);
        assert_int_equal(ol_state_append(s, txn, 'V', "hr.person", id, i + 1, 1700000000000LL + i, eid, frame, 1), 0);
    }
    ol_state_use_chain(s, ol_store_dbi(st, "meta")); /* as the runtime does with each commit */
    assert_int_equal(ol_state_put_chain(s, txn), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    ol_state_free(own);
}

/* a fresh state of st loaded from snap (1) or not (0), why in why */
static int load_into(ol_state **s, ol_store *st, const char *snap, char *why, size_t whylen)
{
    MDB_txn *txn;
    *s = ol_state_new(ol_store_dbi(st, "versions"), WINDOW);
    assert_non_null(*s);
    ol_state_use_chain(*s, ol_store_dbi(st, "meta"));
    assert_int_equal(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn), 0);
    int loaded = ol_state_load(*s, txn, snap, why, whylen);
    assert_int_equal(ol_state_ready(*s, txn), 0);
    mdb_txn_abort(txn);
    return loaded;
}

/* snap copied into st's directory dir, then load_into */
static int load_copy(ol_state **s, ol_store *st, const char *dir, const char *snap, char *why, size_t whylen)
{
    char to[400];
    snprintf(to, sizeof to, "%s/index.snapshot", dir);
    assert_int_equal(copy_file(snap, to), 0);
    return load_into(s, st, to, why, whylen);
}

/* A periodic snapshot (a crash after it): the next start adopts it and
 * indexes the rows committed after it, and answers as a full build does.
 * A log that does not hold the snapshot's last row as it was (a shorter
 * log: a store put back from an older copy; another log of the same
 * length or longer), or whose earlier rows differ (the same rows in
 * another order: the same last row), refuses it. */
static void test_state_snapshot_tail(void **state)
{
    (void)state;
    static const char *const dbs[] = {"versions", "meta", NULL};
    char dir[5][256], err[300], snap[400], why[300], id[64];
    ol_store st[5];
    ol_state *s;

    for (int i = 0; i < 5; i++) {
        tu_mkdtemp(dir[i], sizeof dir[i], "statetail");
        assert_int_equal(ol_store_open(&st[i], dir[i], 64u << 20, 0, dbs, err, sizeof err), 0);
    }
    snprintf(snap, sizeof snap, "%s/index.snapshot", dir[0]);
    /* store 0: 300 rows, a snapshot, 700 rows more (the tail), some of
     * them new versions of entities the snapshot indexed */
    s = ol_state_new(ol_store_dbi(&st[0], "versions"), WINDOW);
    append_rows(s, &st[0], "evt", 0, 300, "f");
    assert_int_equal(save(s, &st[0], snap), 0);
    assert_int_equal(ol_state_snapshot_due(s, 700), 0);
    append_rows(s, &st[0], "evt", 300, 1000, "f");
    assert_int_equal(ol_state_snapshot_due(s, 700), 1);
    ol_state_free(s);

    assert_int_equal(load_into(&s, &st[0], snap, why, sizeof why), 1);
    assert_int_equal(ol_state_tail_rows(s), 700);
    assert_int_equal(ol_state_snapshot_due(s, 700), 1); /* counted from the snapshot's row, not the start */
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(st[0].env, NULL, MDB_RDONLY, &txn), 0);
    for (long e = 0; e < 40; e++) { /* the latest version of each entity is its last row */
        ol_version v;
        idstr(id, sizeof id, "tail", e);
        assert_int_equal(ol_state_get(s, txn, "hr.person", id, &v), 1);
        assert_int_equal(v.revision, 1000 - 40 + e + 1);
        assert_int_equal(v.seq, (uint64_t)(1000 - 40 + e + 1));
    }
    for (long i = 0; i < 1000; i += 7) /* before and after the snapshot */
        assert_int_equal(seen_id(s, txn, "evt", i), 1);
    assert_int_equal(seen_id(s, txn, "evt", 1000), 0);
    size_t ents;
    ol_state_memory(s, &ents, NULL);
    assert_int_equal(ents, 40);
    /* and it goes on appending after the tail */
    mdb_txn_abort(txn);
    append_rows(s, &st[0], "evt", 1000, 1010, "f");
    ol_state_free(s);
    assert_int_equal(load_into(&s, &st[0], snap, why, sizeof why), 1);
    assert_int_equal(ol_state_tail_rows(s), 710);
    ol_state_free(s);

    /* store 1: the same history, but only its first 200 rows (an older copy) */
    append_rows(NULL, &st[1], "evt", 0, 200, "f");
    assert_int_equal(load_copy(&s, &st[1], dir[1], snap, why, sizeof why), 0);
    assert_non_null(strstr(why, "shorter"));
    ol_state_memory(s, &ents, NULL); /* read whole instead */
    assert_int_equal(ents, 40);
    assert_int_equal(ol_state_tail_rows(s), 0);
    ol_state_free(s);
    /* the same history copied in full: the snapshot is valid there too */
    append_rows(NULL, &st[1], "evt", 200, 1000, "f");
    assert_int_equal(load_copy(&s, &st[1], dir[1], snap, why, sizeof why), 1);
    assert_int_equal(ol_state_tail_rows(s), 700);
    ol_state_free(s);

    /* store 2: as many rows and more, but other events from row 250 on */
    append_rows(NULL, &st[2], "evt", 0, 250, "f");
    append_rows(NULL, &st[2], "other", 250, 1000, "f");
    assert_int_equal(load_copy(&s, &st[2], dir[2], snap, why, sizeof why), 0);
    assert_non_null(strstr(why, "row 300 is not the one"));
    assert_int_equal(mdb_txn_begin(st[2].env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(seen_id(s, txn, "evt", 280), 0); /* the snapshot's, not this log's */
    assert_int_equal(seen_id(s, txn, "other", 280), 1);
    mdb_txn_abort(txn);
    ol_state_free(s);

    /* store 3: the same 1000 rows, but rows 100 and 101 of the prefix swapped */
    append_rows(NULL, &st[3], "evt", 0, 100, "f");
    append_rows(NULL, &st[3], "evt", 101, 102, "f");
    append_rows(NULL, &st[3], "evt", 100, 101, "f");
    append_rows(NULL, &st[3], "evt", 102, 1000, "f");
    assert_int_equal(load_copy(&s, &st[3], dir[3], snap, why, sizeof why), 0);
    /* the chain refuses it; the sample of slots may have refused it first */
    assert_true(strstr(why, "not those it indexed") || strstr(why, "sampled slot"));
    assert_int_equal(mdb_txn_begin(st[3].env, NULL, MDB_RDONLY, &txn), 0);
    for (long i = 99; i < 103; i++) /* read whole: every row's event is there */
        assert_int_equal(seen_id(s, txn, "evt", i), 1);
    mdb_txn_abort(txn);
    ol_state_free(s);

    /* store 4: the same rows, ids and order, but row 100 holds another
     * version (other bytes): no sampled slot can tell, the chain does */
    append_rows(NULL, &st[4], "evt", 0, 99, "f");
    append_rows(NULL, &st[4], "evt", 99, 100, "g");
    append_rows(NULL, &st[4], "evt", 100, 1000, "f");
    assert_int_equal(load_copy(&s, &st[4], dir[4], snap, why, sizeof why), 0);
    assert_non_null(strstr(why, "not those it indexed"));
    ol_state_free(s);

    for (int i = 0; i < 5; i++) {
        ol_store_close(&st[i]);
        tu_rmtree(dir[i]);
    }
}

/* next_seq in the header of snapshot file p (its third word), 0 if none */
static uint64_t snap_seq_of(const char *p)
{
    uint64_t head[3] = {0, 0, 0};
    FILE *f = fopen(p, "rb");
    if (!f)
        return 0;
    if (fread(head, sizeof head, 1, f) != 1)
        head[2] = 0;
    fclose(f);
    return head[2];
}

/* The runtime's pair of snapshot files: each save writes the older one in
 * place, so a save that is killed (or a file torn by a power loss) leaves
 * the other whole. A torn newer file is refused and removed, the older one
 * adopted with the rows after it; the next save then goes to the broken
 * one's place, never over the good one. */
static void test_state_snapshot_pair(void **state)
{
    (void)state;
    static const char *const dbs[] = {"versions", "meta", NULL};
    char dir[256], err[300], base[400], alt[400], why[900];
    ol_store st;
    ol_state *s;
    MDB_txn *txn;

    tu_mkdtemp(dir, sizeof dir, "statepair");
    snprintf(base, sizeof base, "%s/index.snapshot", dir);
    snprintf(alt, sizeof alt, "%s/index.snapshot.alt", dir);
    assert_int_equal(ol_store_open(&st, dir, 64u << 20, 0, dbs, err, sizeof err), 0);
    s = ol_state_new(ol_store_dbi(&st, "versions"), WINDOW);
    append_rows(s, &st, "evt", 0, 300, "f");
    assert_int_equal(mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(ol_state_save_pair(s, txn, base), 0); /* neither exists: the base */
    mdb_txn_abort(txn);
    assert_int_equal(snap_seq_of(base), 301);
    append_rows(s, &st, "evt", 300, 600, "f");
    assert_int_equal(mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(ol_state_save_pair(s, txn, base), 0); /* the older: .alt (absent) */
    mdb_txn_abort(txn);
    assert_int_equal(snap_seq_of(base), 301);
    assert_int_equal(snap_seq_of(alt), 601);
    append_rows(s, &st, "evt", 600, 900, "f");
    ol_state_free(s);

    /* the newer one torn: its middle overwritten, its header intact */
    FILE *f = fopen(alt, "r+b");
    assert_non_null(f);
    fseek(f, 200, SEEK_SET);
    for (int i = 0; i < 600; i++)
        fputc(0x33, f);
    fclose(f);
    s = ol_state_new(ol_store_dbi(&st, "versions"), WINDOW);
    ol_state_use_chain(s, ol_store_dbi(&st, "meta"));
    assert_int_equal(mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(ol_state_load_pair(s, txn, base, why, sizeof why), 1);
    assert_int_equal(ol_state_tail_rows(s), 600); /* the older one, and every row after it */
    assert_int_equal(access(alt, F_OK), -1);      /* the torn one removed */
    for (long i = 0; i < 900; i += 13)
        assert_int_equal(seen_id(s, txn, "evt", i), 1);
    /* the next save fills the gap, the good one stays */
    assert_int_equal(ol_state_save_pair(s, txn, base), 0);
    mdb_txn_abort(txn);
    assert_int_equal(snap_seq_of(base), 301);
    assert_int_equal(snap_seq_of(alt), 901);
    ol_state_free(s);

    /* a link put where a snapshot goes is not written through */
    char victim[400];
    snprintf(victim, sizeof victim, "%s/victim", dir);
    f = fopen(victim, "wb");
    assert_non_null(f);
    fputs("keep", f);
    fclose(f);
    assert_int_equal(unlink(base), 0);
    assert_int_equal(symlink(victim, base), 0);
    s = ol_state_new(ol_store_dbi(&st, "versions"), WINDOW);
    assert_int_equal(mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(ol_state_ready(s, txn), 0);
    assert_int_equal(ol_state_save(s, txn, base), ELOOP);
    mdb_txn_abort(txn);
    ol_state_free(s);
    f = fopen(victim, "rb");
    char got[8] = "";
    assert_non_null(f);
    assert_non_null(fgets(got, sizeof got, f));
    fclose(f);
    assert_string_equal(got, "keep");
    assert_int_equal(unlink(base), 0);
    assert_int_equal(unlink(victim), 0);
    s = ol_state_new(ol_store_dbi(&st, "versions"), WINDOW);
    append_rows(s, &st, "evt", 900, 901, "f");
    assert_int_equal(mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(ol_state_save(s, txn, base), 0);
    mdb_txn_abort(txn);
    ol_state_free(s);

    /* both refused (here: both torn): removed, and the log is read whole */
    for (int i = 0; i < 2; i++) {
        f = fopen(i ? alt : base, "r+b");
        assert_non_null(f);
        fseek(f, 120, SEEK_SET);
        fputc(0x44, f);
        fputc(0x45, f);
        fclose(f);
    }
    s = ol_state_new(ol_store_dbi(&st, "versions"), WINDOW);
    assert_int_equal(mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(ol_state_load_pair(s, txn, base, why, sizeof why), 0);
    assert_non_null(strstr(why, "checksum"));
    assert_int_equal(access(base, F_OK) == -1 && access(alt, F_OK) == -1, 1);
    assert_int_equal(ol_state_load_pair(s, txn, base, why, sizeof why), 0);
    assert_string_equal(why, "no snapshot");
    assert_int_equal(ol_state_ready(s, txn), 0);
    size_t ents;
    ol_state_memory(s, &ents, NULL);
    assert_int_equal(ents, 40);
    mdb_txn_abort(txn);
    ol_state_free(s);
    ol_store_close(&st);
    tu_rmtree(dir);
}

/* The dedupe window and the indexes' rebuilds: a snapshot cut with a later
 * window start than the one asked for now (dedupe_window_days made longer)
 * dropped rows the longer window needs: refused. And a batch that moved
 * the window on and then failed: the rebuild for its retry (from the log,
 * or from a snapshot) keeps the rows that the committed window still
 * holds. */
static void test_state_window_moves_back(void **state)
{
    (void)state;
    static const char *const dbs[] = {"versions", "meta", NULL};
    const int64_t T = 1700000000000LL;
    char dir[256], snap[400], why[300];
    ol_store st;
    MDB_txn *txn;

    ol_state *s = fresh_state(dir, "statewin", dbs, &st, snap);
    ol_state_set_window_start(s, T - WINDOW);
    assert_int_equal(mdb_txn_begin(st.env, NULL, 0, &txn), 0);
    assert_int_equal(ol_state_append(s, txn, 'V', "hr.person", "a", 1, T - 50 * DAY, "late", "f", 1), 0);
    assert_int_equal(ol_state_append(s, txn, 'V', "hr.person", "b", 1, T - 30 * DAY, "old", "f", 1), 0);
    assert_int_equal(ol_state_append(s, txn, 'V', "hr.person", "c", 1, T, "now", "f", 1), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    assert_int_equal(save(s, &st, snap), 0);
    ol_state_free(s);

    /* restarted with a 60-day window: the 35-day snapshot is refused, the log read whole */
    s = ol_state_new(ol_store_dbi(&st, "versions"), 60 * DAY);
    ol_state_set_window_start(s, T - 60 * DAY);
    assert_int_equal(mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(ol_state_load(s, txn, snap, why, sizeof why), 0);
    assert_non_null(strstr(why, "window"));
    assert_int_equal(ol_state_ready(s, txn), 0);
    assert_int_equal(ol_state_seen(s, txn, "late", T - 60 * DAY), 1);
    mdb_txn_abort(txn);
    ol_state_free(s);

    for (int use_snapshot = 0; use_snapshot < 2; use_snapshot++) {
        s = ol_state_new(ol_store_dbi(&st, "versions"), WINDOW);
        ol_state_set_window_start(s, T - WINDOW);
        if (use_snapshot)
            assert_int_equal(ol_state_use_snapshot(s, snap), 0);
        /* a batch moves data time 10 days on, then fails */
        assert_int_equal(mdb_txn_begin(st.env, NULL, 0, &txn), 0);
        assert_int_equal(ol_state_seen(s, txn, "old", T - WINDOW), 1);
        assert_int_equal(ol_state_append(s, txn, 'V', "hr.person", "d", 1, T + 10 * DAY, "next", "f", 1), 0);
        assert_int_equal(ol_state_seen(s, txn, "other", T + 10 * DAY - WINDOW), 0);
        mdb_txn_abort(txn);
        ol_state_invalidate(s, T - WINDOW);
        /* its retry asks from the committed data time again */
        assert_int_equal(mdb_txn_begin(st.env, NULL, 0, &txn), 0);
        assert_int_equal(ol_state_seen(s, txn, "old", T - WINDOW), 1);
        ol_version v;
        assert_int_equal(ol_state_get(s, txn, "hr.person", "d", &v), 0);
        mdb_txn_abort(txn);
        ol_state_free(s);
    }
    ol_store_close(&st);
    tu_rmtree(dir);
}

/* The chain is what refuses a snapshot taken of another log with the same
 * row count (test_state_snapshot_tail): it must change with every byte of
 * every row, wherever the byte sits (each of the row hash's four lanes,
 * the whole-word tail, the partial last word), with the row's length and
 * with the chain before it, and a word moved to another lane must not
 * cancel out. Rows of 0-300 bytes, every byte flipped in turn. */
static void test_state_chain_sees_every_byte(void **state)
{
    (void)state;
    uint8_t row[300];
    uint64_t x = 12345;
    for (size_t i = 0; i < sizeof row; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        row[i] = (uint8_t)(x >> 56);
    }
    const uint64_t c0 = 0x0123456789abcdefULL;
    for (size_t n = 0; n <= sizeof row; n++) {
        uint64_t base = ol_state_chain_step(c0, row, n);
        assert_true(base != ol_state_chain_step(c0 ^ 1, row, n)); /* the chain before it */
        if (n < sizeof row) {
            uint8_t keep = row[n];
            row[n] = 0; /* one more byte, zero: the length tells them apart */
            assert_true(base != ol_state_chain_step(c0, row, n + 1));
            row[n] = keep;
        }
        for (size_t i = 0; i < n; i++) {
            row[i] ^= (uint8_t)(1u << (i % 8));
            uint64_t flipped = ol_state_chain_step(c0, row, n);
            row[i] ^= (uint8_t)(1u << (i % 8));
            if (flipped == base)
                fail_msg("row of %zu bytes: flipping byte %zu left the chain unchanged", n, i);
        }
        for (size_t w = 0; w + 16 <= n; w += 8) { /* two neighbouring words swapped */
            uint8_t t[8];
            if (!memcmp(row + w, row + w + 8, 8))
                continue;
            memcpy(t, row + w, 8), memcpy(row + w, row + w + 8, 8), memcpy(row + w + 8, t, 8);
            uint64_t swapped = ol_state_chain_step(c0, row, n);
            memcpy(t, row + w, 8), memcpy(row + w, row + w + 8, 8), memcpy(row + w + 8, t, 8);
            if (swapped == base)
                fail_msg("row of %zu bytes: swapping words at %zu and %zu left the chain unchanged", n, w, w + 8);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_matches_model),
        cmocka_unit_test(test_state_growth_keeps_every_entity),
        cmocka_unit_test(test_state_window_edge),
        cmocka_unit_test(test_state_snapshot_missing_slot_refused),
        cmocka_unit_test(test_state_snapshot_tail),
        cmocka_unit_test(test_state_window_moves_back),
        cmocka_unit_test(test_state_snapshot_pair),
        cmocka_unit_test(test_state_chain_sees_every_byte),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
