/* test_runtime — the fold runtime (ol_runtime, ol_fold, ol_outbox) with a toy
 * service declared here, over arrays of records encoded from the real
 * hr.person schema: idempotency by event_id, highest revision wins whatever
 * the order, conflicts, dead letters that never stop a batch, offsets that
 * survive a restart, a crash between fold and commit that leaves nothing
 * behind, and derived emission with deterministic revision and event_id. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "ol_av.h"
#include "ol_codec.h"
#include "ol_config.h"
#include "ol_json.h"
#include "ol_runtime.h"
#include "ol_state.h"
#include "ol_store.h"
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <openssl/sha.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define TOPIC "hr.person"
#define DERIVED "ops.utilisation.weekly"
#define T0 1794819600000LL /* 2026-11-16T09:00:00Z */
#define CRASH_EXIT 42

static ol_schemas *g_all;
static int64_t g_occurred_at; /* when non-zero, the occurred_at of the next person frames */

/* ------------------------------------------------------------ the toy */
static struct {
    int applies;     /* apply() calls */
    int crash_on;    /* apply() call number that _exit()s the process; 0 never */
    int fail_on;     /* apply() call number that returns an error; 0 never */
    int fail_rc;     /* the error it returns (0: -1) */
    const char *fail_person; /* apply() of this person_id always fails with fail_rc */
    int64_t last_old_revision; /* revision of `old` at the last apply, -1 for none */
    int histories;   /* history() calls */
    int emits[16];   /* ol_fold_emit() results, in order */
    int nemits;
    int flushes;
    int prev_checks;   /* emissions whose previous event ol_fold_derived_prev_ints read ... */
    int prev_mismatch; /* ... and read otherwise than ol_av_int on ol_fold_derived_prev */
    int32_t prev_cap;  /* capacity_minutes of the last previous event read */
} g_toy;

static int toy_apply(ol_fold_ctx *ctx, const ol_event *ev, avro_value_t *old)
{
    avro_value_t f;
    const char *name = NULL;
    size_t nl = 0;

    if (++g_toy.applies == g_toy.crash_on)
        _exit(CRASH_EXIT); /* a crash in the middle of the batch */
    if (g_toy.applies == g_toy.fail_on ||
        (g_toy.fail_person && !strncmp(ev->entity_id, g_toy.fail_person, strlen(g_toy.fail_person))))
        return g_toy.fail_rc ? g_toy.fail_rc : -1;
    g_toy.last_old_revision = -1;
    if (old && avro_value_get_by_name(old, "revision", &f, NULL) == 0)
        avro_value_get_long(&f, &g_toy.last_old_revision);
    if (avro_value_get_by_name(ev->value, "name", &f, NULL) || avro_value_get_string(&f, &name, &nl))
        return -1;
    /* toy db: person_id -> revision (8 bytes BE) + name */
    uint8_t buf[300];
    if (nl > sizeof buf - 8)
        return -1;
    ol_put_be64(buf, (uint64_t)ev->revision);
    memcpy(buf + 8, name, nl); /* nl counts the NUL */
    MDB_val k = {strlen(ev->entity_id), (void *)ev->entity_id}, v = {8 + nl, buf};
    if (mdb_put(ol_fold_txn(ctx), ol_fold_dbi(ctx, "toy"), &k, &v, 0))
        return -1;
    return ol_fold_mark(ctx, ev->entity_id, strlen(ev->entity_id) + 1);
}

static void derived_key(const char *person, char *buf, size_t len)
{
    snprintf(buf, len, "PERSON|%s|2026-W47", person);
}

/* one derived event per dirty person: its capacity, everything else fixed */
static int toy_flush(ol_fold_ctx *ctx)
{
    const MDB_val *keys;
    size_t n = ol_fold_dirty(ctx, &keys);
    g_toy.flushes++;
    for (size_t i = 0; i < n; i++) {
        const char *person = keys[i].mv_data;
        avro_value_t *p, *v, f;
        int32_t cap;
        char key[128];
        if (ol_fold_lookup(ctx, TOPIC, person, &p) != 1)
            return -1;
        if (avro_value_get_by_name(p, "weekly_capacity_minutes", &f, NULL) || avro_value_get_int(&f, &cap))
            return -1;
        v = ol_fold_new_derived(ctx, DERIVED);
        if (!v || tu_fill_value(v, NULL))
            return -1;
        if (avro_value_get_by_name(v, "capacity_minutes", &f, NULL) || avro_value_set_int(&f, cap) ||
            avro_value_get_by_name(v, "scope_id", &f, NULL) || avro_value_set_string(&f, person) ||
            avro_value_get_by_name(v, "week", &f, NULL) || avro_value_set_string(&f, "2026-W47"))
            return -1;
        derived_key(person, key, sizeof key);
        /* the figures read from the stored bytes equal the decoded event's: an int, an
         * optional int (union), an enum, a string and an absent field (the last three: def) */
        static const char *const names[] = {"capacity_minutes", "utilisation_bp", "scope", "week", "no_such"};
        int32_t fast[5];
        avro_value_t *pv;
        int hf = ol_fold_derived_prev_ints(ctx, DERIVED, key, names, fast, 5, -7);
        int hs = ol_fold_derived_prev(ctx, DERIVED, key, &pv);
        if (hf != hs)
            g_toy.prev_mismatch++;
        else if (hf == 1) {
            g_toy.prev_checks++;
            g_toy.prev_cap = fast[0];
            for (int j = 0; j < 5; j++)
                if (fast[j] != ol_av_int(pv, names[j], -7) || (j >= 2 && fast[j] != -7))
                    g_toy.prev_mismatch++;
        }
        int rc = ol_fold_emit(ctx, DERIVED, key, v);
        if (g_toy.nemits < 16)
            g_toy.emits[g_toy.nemits++] = rc;
        if (rc < 0)
            return -1;
    }
    return 0;
}

static const char *const TOY_INPUTS[] = {TOPIC, NULL};
static const char *const TOY_OUTPUTS[] = {DERIVED, NULL};
static const char *const TOY_DBS[] = {"toy", NULL};

static const ol_service toy_service = {
    .name = "toy", .inputs = TOY_INPUTS, .outputs = NULL, .dbs = TOY_DBS, .apply = toy_apply,
};
static int toy_history(ol_fold_ctx *ctx, const ol_event *ev)
{
    (void)ctx, (void)ev;
    g_toy.histories++;
    return 0;
}

/* the toy with history(): every version that is not a repeated event_id */
static const ol_service toy_history_service = {
    .name = "toy", .inputs = TOY_INPUTS, .outputs = NULL, .dbs = TOY_DBS, .apply = toy_apply,
    .history = toy_history,
};

static const ol_service toy_emit_service = {
    .name = "toy",
    .inputs = TOY_INPUTS,
    .outputs = TOY_OUTPUTS,
    .dbs = TOY_DBS,
    .apply = toy_apply,
    .flush = toy_flush,
};

/* ------------------------------------------------------------ fixture */
typedef struct {
    char dir[256];
    char db[300];
    ol_config cfg;
    ol_runtime *rt;
    /* frames built by the test, freed at teardown */
    uint8_t *frames[80];
    size_t nframes;
    ol_record recs[80];
    int nrecs;
} fix;

static int group_setup(void **state)
{
    char err[512];
    (void)state;
    if (ol_schemas_load(ol_schemas_default_dir(), &g_all, err, sizeof err)) {
        fprintf(stderr, "schemas: %s\n", err);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    ol_schemas_free(g_all);
    return 0;
}

static int setup(void **state)
{
    fix *f = calloc(1, sizeof *f);
    tu_mkdtemp(f->dir, sizeof f->dir, "runtime");
    snprintf(f->db, sizeof f->db, "%s/db", f->dir);
    ol_config_init(&f->cfg);
    ol_config_set(&f->cfg, "map_size", "64M");
    memset(&g_toy, 0, sizeof g_toy);
    g_occurred_at = 0;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fix *f = *state;
    ol_runtime_free(f->rt);
    for (size_t i = 0; i < f->nframes; i++)
        free(f->frames[i]);
    ol_config_free(&f->cfg);
    tu_rmtree(f->dir);
    free(f);
    return 0;
}

static ol_runtime *rt_open(fix *f, const ol_service *svc)
{
    char err[512] = "";
    ol_runtime_opts opts = {.db_path = f->db, .publish = 0};
    ol_runtime *rt = ol_runtime_new(svc, &f->cfg, g_all, &opts, err, sizeof err);
    if (!rt)
        fail_msg("ol_runtime_new: %s", err);
    return rt;
}

static void rt_reopen(fix *f, const ol_service *svc)
{
    ol_runtime_free(f->rt);
    f->rt = rt_open(f, svc);
}

/* ------------------------------------------------------------ records */
typedef struct {
    const char *event_id, *person_id, *name;
    int64_t revision;
    int32_t capacity;    /* weekly_capacity_minutes, ol.max 10080 */
    int32_t working_days; /* ol.max 127 */
} person;

static uint8_t *person_frame(const person *p, size_t *len)
{
    const ol_schema *s = ol_schemas_for_topic(g_all, TOPIC);
    avro_value_t v;
    uint8_t *frame;
    char err[512];
    assert_non_null(s);
    assert_int_equal(avro_generic_value_new(s->iface, &v), 0);
    tu_set_str(&v, "event_id", p->event_id);
    tu_set_long(&v, "occurred_at", g_occurred_at ? g_occurred_at : T0 + p->revision * 1000);
    tu_set_str(&v, "source", "hr");
    tu_set_long(&v, "revision", p->revision);
    tu_set_str(&v, "person_id", p->person_id);
    tu_set_str(&v, "name", p->name ? p->name : "Ada");
    tu_set_str(&v, "team", "data");
    tu_set_str(&v, "role", "Engineer");
    tu_set_bool(&v, "billable", 1);
    tu_set_enum(&v, "employment", 0); /* EMPLOYEE */
    tu_set_null(&v, "supplier");
    tu_set_int(&v, "weekly_capacity_minutes", p->capacity ? p->capacity : 2250);
    tu_set_int(&v, "working_days", p->working_days ? p->working_days : 31);
    tu_set_long(&v, "day_cost_minor", 50000);
    tu_set_str(&v, "currency", "GBP");
    tu_set_int(&v, "joined_on", 20454); /* 2026-01-01 */
    tu_set_null(&v, "left_on");
    assert_int_equal(ol_codec_encode(s, &v, &frame, len, err, sizeof err), 0);
    avro_value_decref(&v);
    return frame;
}

/* appends a record (the bytes are copied and owned by the fixture) */
static ol_record *add_raw(fix *f, const char *topic, int32_t partition, int64_t offset, const void *bytes,
                          size_t len)
{
    assert_true(f->nframes < 80 && f->nrecs < 80);
    uint8_t *copy = malloc(len ? len : 1);
    memcpy(copy, bytes, len);
    f->frames[f->nframes++] = copy;
    ol_record *r = &f->recs[f->nrecs++];
    memset(r, 0, sizeof *r);
    r->topic = topic;
    r->partition = partition;
    r->offset = offset;
    r->timestamp_ms = T0;
    r->value = copy;
    r->value_len = len;
    return r;
}

static ol_record *add_person(fix *f, int32_t partition, int64_t offset, const person *p)
{
    size_t len;
    uint8_t *frame = person_frame(p, &len);
    ol_record *r = add_raw(f, TOPIC, partition, offset, frame, len);
    free(frame);
    r->key = p->person_id;
    r->key_len = strlen(p->person_id);
    return r;
}

/* folds the records added since `from` as one batch */
static void fold_from(fix *f, int from)
{
    assert_int_equal(ol_runtime_fold_batch(f->rt, f->recs + from, f->nrecs - from), 0);
}

/* ------------------------------------------------------------ inspection */
static int64_t counter(ol_runtime *rt, const char *name)
{
    ol_store *st = ol_runtime_store(rt);
    MDB_txn *txn;
    int64_t v = -1;
    assert_int_equal(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(ol_meta_get_i64(txn, ol_store_dbi(st, "meta"), name, &v), 0);
    mdb_txn_abort(txn);
    return v;
}

static int count_row(const MDB_val *k, const MDB_val *v, void *arg)
{
    (void)k, (void)v;
    ++*(size_t *)arg;
    return 0;
}

/* rows of a database; "entity": entities with a stored version, "seen":
 * event_ids the version log remembers (its rows), as the old databases */
static size_t db_rows(ol_runtime *rt, const char *db)
{
    ol_store *st = ol_runtime_store(rt);
    MDB_txn *txn;
    MDB_stat ms;
    size_t n = 0;
    assert_int_equal(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn), 0);
    if (!strcmp(db, "entity")) {
        assert_int_equal(ol_state_foreach_latest(txn, ol_store_dbi(st, "versions"), count_row, &n), 0);
        mdb_txn_abort(txn);
        return n;
    }
    assert_int_equal(mdb_stat(txn, ol_store_dbi(st, strcmp(db, "seen") ? db : "versions"), &ms), 0);
    mdb_txn_abort(txn);
    return ms.ms_entries;
}

/* the toy db's row of a person: 1 found (revision, name), 0 not */
static int toy_row(ol_runtime *rt, const char *person_id, int64_t *rev, char *name, size_t nlen)
{
    ol_store *st = ol_runtime_store(rt);
    MDB_txn *txn;
    MDB_val k = {strlen(person_id), (void *)person_id}, v;
    assert_int_equal(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn), 0);
    int rc = mdb_get(txn, ol_store_dbi(st, "toy"), &k, &v);
    if (rc == 0) {
        assert_true(v.mv_size > 8);
        *rev = (int64_t)ol_be64(v.mv_data);
        snprintf(name, nlen, "%.*s", (int)(v.mv_size - 8), (const char *)v.mv_data + 8);
    }
    mdb_txn_abort(txn);
    assert_true(rc == 0 || rc == MDB_NOTFOUND);
    return rc == 0;
}

/* the stored version of an entity: 1 found (revision, event_id), 0 not;
 * read from the version log as a query would (no index) */
static int entity_row(ol_runtime *rt, const char *person_id, int64_t *rev, char *eid, size_t elen)
{
    ol_store *st = ol_runtime_store(rt);
    MDB_txn *txn;
    ol_version v;
    MDB_dbi log = ol_store_dbi(st, "versions");
    assert_int_equal(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn), 0);
    ol_state_ro *ro = ol_state_ro_open(txn, log, TOPIC);
    assert_non_null(ro);
    int rc = ol_state_ro_get(ro, txn, log, TOPIC, person_id, &v);
    if (rc == 1) {
        *rev = v.revision;
        snprintf(eid, elen, "%.*s", (int)v.event_len, v.event_id);
    }
    ol_state_ro_free(ro);
    mdb_txn_abort(txn);
    assert_true(rc == 0 || rc == 1);
    return rc;
}

typedef struct {
    char topic[128];
    char key[512];
    size_t nh;
    char hname[12][64];
    char hval[12][600];
    uint8_t value[2048]; /* the value's first bytes */
    size_t vlen;         /* its whole size */
} outbox_row;

/* the outbox row of sequence number seq (1-based); layout in ol_outbox.c */
static void outbox_get(ol_runtime *rt, uint64_t seq, outbox_row *o)
{
    ol_store *st = ol_runtime_store(rt);
    MDB_txn *txn;
    uint8_t kb[8];
    ol_put_be64(kb, seq);
    MDB_val k = {8, kb}, v;
    memset(o, 0, sizeof *o);
    assert_int_equal(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_get(txn, ol_store_dbi(st, "outbox"), &k, &v), 0);
    const uint8_t *p = v.mv_data, *end = p + v.mv_size;
    size_t tl = ((size_t)p[0] << 8) | p[1];
    snprintf(o->topic, sizeof o->topic, "%.*s", (int)tl, (const char *)p + 2);
    p += 2 + tl;
    size_t kl = ol_be32(p);
    snprintf(o->key, sizeof o->key, "%.*s", (int)kl, (const char *)p + 4);
    p += 4 + kl;
    o->nh = ((size_t)p[0] << 8) | p[1];
    p += 2;
    assert_true(o->nh <= 12);
    for (size_t i = 0; i < o->nh; i++) {
        size_t nl = ((size_t)p[0] << 8) | p[1];
        snprintf(o->hname[i], sizeof o->hname[i], "%.*s", (int)nl, (const char *)p + 2);
        p += 2 + nl;
        size_t hl = ol_be32(p);
        snprintf(o->hval[i], sizeof o->hval[i], "%.*s", (int)hl, (const char *)p + 4);
        p += 4 + hl;
    }
    o->vlen = ol_be32(p);
    memcpy(o->value, p + 4, o->vlen < sizeof o->value ? o->vlen : sizeof o->value);
    assert_ptr_equal(p + 4 + o->vlen, end); /* nothing left over */
    mdb_txn_abort(txn);
}

static int has_header(const outbox_row *o, const char *name)
{
    for (size_t i = 0; i < o->nh; i++)
        if (!strcmp(o->hname[i], name))
            return 1;
    return 0;
}

static const char *header(const outbox_row *o, const char *name)
{
    for (size_t i = 0; i < o->nh; i++)
        if (!strcmp(o->hname[i], name))
            return o->hval[i];
    fail_msg("outbox row has no header %s", name);
    return NULL;
}

/* ------------------------------------------------------------ tests */

/* the records the tests build are valid, and the invalid ones are invalid
 * for the reason given (so a dead letter below is for that reason) */
static void test_person_frames_validate(void **state)
{
    (void)state;
    const ol_schema *s = ol_schemas_for_topic(g_all, TOPIC);
    ol_decoder *d = ol_decoder_new(g_all, s);
    char err[512];
    int32_t wid;
    size_t len;
    const person ok = {"e-1", "p-1", "Ada", 1, 2250, 31};
    const person cap = {"e-2", "p-1", "Ada", 1, 20000, 31};
    const person wd = {"e-3", "p-1", "Ada", 1, 2250, 200};
    uint8_t *frame = person_frame(&ok, &len);
    assert_int_equal(ol_decoder_decode(d, frame, len, &wid, err, sizeof err), OL_CODEC_OK);
    if (ol_validate(s, ol_decoder_value(d), err, sizeof err))
        fail_msg("valid person rejected: %s", err);
    free(frame);
    frame = person_frame(&cap, &len);
    assert_int_equal(ol_decoder_decode(d, frame, len, &wid, err, sizeof err), OL_CODEC_OK);
    assert_int_equal(ol_validate(s, ol_decoder_value(d), err, sizeof err), -1);
    assert_non_null(strstr(err, "weekly_capacity_minutes"));
    free(frame);
    frame = person_frame(&wd, &len);
    assert_int_equal(ol_decoder_decode(d, frame, len, &wid, err, sizeof err), OL_CODEC_OK);
    assert_int_equal(ol_validate(s, ol_decoder_value(d), err, sizeof err), -1);
    assert_non_null(strstr(err, "working_days"));
    free(frame);
    ol_decoder_free(d);
}

/* (a) an event_id seen before is skipped, in the same batch or a later one */
static void test_duplicate_event_id(void **state)
{
    fix *f = *state;
    const person a = {"e-1", "p-1", "Ada", 1, 0, 0};
    f->rt = rt_open(f, &toy_service);
    add_person(f, 0, 0, &a);
    add_person(f, 0, 1, &a); /* re-delivered under another offset */
    fold_from(f, 0);
    assert_int_equal(g_toy.applies, 1);
    assert_int_equal(counter(f->rt, "duplicates"), 1);
    assert_int_equal(counter(f->rt, "records"), 2);
    assert_int_equal(counter(f->rt, "folded"), 1);
    assert_int_equal(counter(f->rt, "batches"), 1);
    assert_int_equal(db_rows(f->rt, "seen"), 1);

    int from = f->nrecs;
    add_person(f, 0, 2, &a); /* a later batch */
    fold_from(f, from);
    assert_int_equal(g_toy.applies, 1);
    assert_int_equal(counter(f->rt, "duplicates"), 2);
    assert_int_equal(counter(f->rt, "batches"), 2);

    /* a new event_id with the same revision and the same content is a duplicate
     * too (only event_id, occurred_at and source differ) */
    const person same = {"e-1-again", "p-1", "Ada", 1, 0, 0};
    from = f->nrecs;
    add_person(f, 0, 3, &same);
    fold_from(f, from);
    assert_int_equal(g_toy.applies, 1);
    assert_int_equal(counter(f->rt, "duplicates"), 3);
    assert_int_equal(counter(f->rt, "conflicts"), 0);
    int64_t rev;
    char eid[64];
    assert_int_equal(entity_row(f->rt, "p-1", &rev, eid, sizeof eid), 1);
    assert_int_equal(rev, 1);
    assert_string_equal(eid, "e-1");
    assert_int_equal(ol_runtime_offset(f->rt, TOPIC, 0), 4);
}

/* (b) highest revision wins whatever the order */
static void test_highest_revision_wins(void **state)
{
    fix *f = *state;
    const person r3 = {"e-3", "p-1", "rev3", 3, 0, 0}, r1 = {"e-1", "p-1", "rev1", 1, 0, 0},
                 r2 = {"e-2", "p-1", "rev2", 2, 0, 0};
    int64_t rev;
    char name[64], eid[64];

    f->rt = rt_open(f, &toy_service);
    add_person(f, 0, 0, &r3);
    add_person(f, 0, 1, &r1);
    add_person(f, 0, 2, &r2);
    fold_from(f, 0);
    assert_int_equal(g_toy.applies, 1); /* 3 applied, 1 and 2 stale */
    assert_int_equal(g_toy.last_old_revision, -1);
    assert_int_equal(counter(f->rt, "stale"), 2);
    assert_int_equal(counter(f->rt, "data_time"), T0 + 3000); /* the latest occurred_at */
    assert_int_equal(toy_row(f->rt, "p-1", &rev, name, sizeof name), 1);
    assert_int_equal(rev, 3);
    assert_string_equal(name, "rev3");
    assert_int_equal(entity_row(f->rt, "p-1", &rev, eid, sizeof eid), 1);
    assert_int_equal(rev, 3);
    assert_string_equal(eid, "e-3");

    /* ascending order in separate batches: every version applied, with the
     * version it replaces as `old` */
    const person q1 = {"q-1", "p-2", "rev1", 1, 0, 0}, q2 = {"q-2", "p-2", "rev2", 2, 0, 0},
                 q3 = {"q-3", "p-2", "rev3", 3, 0, 0};
    const person *qs[] = {&q1, &q2, &q3};
    for (int i = 0; i < 3; i++) {
        int from = f->nrecs;
        add_person(f, 0, 3 + i, qs[i]);
        fold_from(f, from);
        assert_int_equal(g_toy.last_old_revision, i == 0 ? -1 : i);
    }
    assert_int_equal(g_toy.applies, 4);
    assert_int_equal(counter(f->rt, "stale"), 2);
    assert_int_equal(toy_row(f->rt, "p-2", &rev, name, sizeof name), 1);
    assert_int_equal(rev, 3);

    /* every permutation of revisions 1, 2, 3 of one entity ends at 3; stale
     * and applied counts follow the arrival order exactly */
    static const int perms[6][3] = {{1, 2, 3}, {1, 3, 2}, {2, 1, 3}, {2, 3, 1}, {3, 1, 2}, {3, 2, 1}};
    static const int applied[6] = {3, 2, 2, 2, 1, 1}, stale[6] = {0, 1, 1, 1, 2, 2};
    static char ids[6][3][32], pids[6][32], names[3][8] = {"rev1", "rev2", "rev3"};
    for (int p = 0; p < 6; p++) {
        int applies0 = g_toy.applies;
        int64_t stale0 = counter(f->rt, "stale");
        int from = f->nrecs;
        snprintf(pids[p], sizeof pids[p], "perm-%d", p);
        for (int i = 0; i < 3; i++) {
            snprintf(ids[p][i], sizeof ids[p][i], "m-%d-%d", p, perms[p][i]);
            person x = {ids[p][i], pids[p], names[perms[p][i] - 1], perms[p][i], 0, 0};
            add_person(f, 1, 100 + p * 3 + i, &x);
        }
        fold_from(f, from);
        assert_int_equal(g_toy.applies - applies0, applied[p]);
        assert_int_equal(counter(f->rt, "stale") - stale0, stale[p]);
        assert_int_equal(toy_row(f->rt, pids[p], &rev, name, sizeof name), 1);
        assert_int_equal(rev, 3);
        assert_string_equal(name, "rev3");
    }
}

/* (c) equal revision, different content: counted, the larger event_id wins */
static void test_conflict_larger_event_id_wins(void **state)
{
    fix *f = *state;
    int64_t rev;
    char name[64], eid[64];
    f->rt = rt_open(f, &toy_service);

    /* the larger arrives second: it replaces */
    const person a = {"e-a", "p-1", "Alice A", 5, 0, 0}, b = {"e-b", "p-1", "Alice B", 5, 0, 0};
    add_person(f, 0, 0, &a);
    add_person(f, 0, 1, &b);
    fold_from(f, 0);
    assert_int_equal(counter(f->rt, "conflicts"), 1);
    assert_int_equal(g_toy.applies, 2);
    assert_int_equal(g_toy.last_old_revision, 5);
    assert_int_equal(toy_row(f->rt, "p-1", &rev, name, sizeof name), 1);
    assert_string_equal(name, "Alice B");
    assert_int_equal(entity_row(f->rt, "p-1", &rev, eid, sizeof eid), 1);
    assert_int_equal(rev, 5);
    assert_string_equal(eid, "e-b");

    /* the larger arrives first: the smaller is counted and dropped */
    const person c = {"f-b", "p-2", "Bob B", 5, 0, 0}, d = {"f-a", "p-2", "Bob A", 5, 0, 0};
    int from = f->nrecs;
    add_person(f, 0, 2, &c);
    add_person(f, 0, 3, &d);
    fold_from(f, from);
    assert_int_equal(counter(f->rt, "conflicts"), 2);
    assert_int_equal(g_toy.applies, 3);
    assert_int_equal(toy_row(f->rt, "p-2", &rev, name, sizeof name), 1);
    assert_string_equal(name, "Bob B");
    assert_int_equal(entity_row(f->rt, "p-2", &rev, eid, sizeof eid), 1);
    assert_string_equal(eid, "f-b");

    /* an event_id that extends the other is the larger one */
    const person e = {"g-c2", "p-3", "Cy long", 2, 0, 0}, g = {"g-c", "p-3", "Cy short", 2, 0, 0};
    from = f->nrecs;
    add_person(f, 0, 4, &e);
    add_person(f, 0, 5, &g);
    fold_from(f, from);
    assert_int_equal(counter(f->rt, "conflicts"), 3);
    assert_int_equal(toy_row(f->rt, "p-3", &rev, name, sizeof name), 1);
    assert_string_equal(name, "Cy long");
    assert_int_equal(entity_row(f->rt, "p-3", &rev, eid, sizeof eid), 1);
    assert_string_equal(eid, "g-c2");
    assert_int_equal(counter(f->rt, "stale"), 0);
    assert_int_equal(counter(f->rt, "duplicates"), 0);
}

/* (d) bad records go to the outbox as dead letters; the batch goes on */
static void test_bad_records_dead_lettered(void **state)
{
    fix *f = *state;
    size_t len;
    f->rt = rt_open(f, &toy_service);

    const person g1 = {"g-1", "p-1", "One", 1, 0, 0}, g2 = {"g-2", "p-2", "Two", 1, 0, 0},
                 g3 = {"g-3", "p-3", "Three", 1, 0, 0};
    const person cap = {"b-cap", "p-4", "Cap", 1, 20000, 0}, wd = {"b-wd", "p-5", "Days", 1, 0, 200};
    static const uint8_t garbage[] = {0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    uint8_t *magic = person_frame(&g1, &len);
    magic[0] = 0x01;

    add_person(f, 0, 0, &g1);
    add_raw(f, TOPIC, 0, 1, garbage, sizeof garbage);
    add_raw(f, TOPIC, 0, 2, magic, len);
    add_person(f, 0, 3, &cap);
    add_person(f, 0, 4, &g2);
    add_raw(f, TOPIC, 0, 5, "\0\0\0", 3);
    add_person(f, 0, 6, &g3);
    add_person(f, 0, 7, &wd);
    ol_record *unknown = add_person(f, 0, 8, &g1);
    ((uint8_t *)unknown->value)[4] = 0x0f; /* schema id 15: not in the manifest */
    add_person(f, 2, 9, &g1)->topic = "hr.leave"; /* not an input of the toy */
    fold_from(f, 0);
    free(magic);

    assert_int_equal(g_toy.applies, 3);
    assert_int_equal(counter(f->rt, "deadletters"), 7);
    assert_int_equal(db_rows(f->rt, "outbox"), 7);
    assert_int_equal(counter(f->rt, "records"), 10);
    assert_int_equal(counter(f->rt, "folded"), 3);
    assert_int_equal(db_rows(f->rt, "entity"), 3);
    assert_int_equal(ol_runtime_offset(f->rt, TOPIC, 0), 9);
    assert_int_equal(ol_runtime_offset(f->rt, "hr.leave", 2), 10);
    int64_t rev;
    char name[64];
    assert_int_equal(toy_row(f->rt, "p-1", &rev, name, sizeof name), 1);
    assert_int_equal(toy_row(f->rt, "p-2", &rev, name, sizeof name), 1);
    assert_int_equal(toy_row(f->rt, "p-3", &rev, name, sizeof name), 1);
    assert_int_equal(toy_row(f->rt, "p-4", &rev, name, sizeof name), 0);
    assert_int_equal(toy_row(f->rt, "p-5", &rev, name, sizeof name), 0);

    /* each dead letter: the original bytes, the reason and the source */
    static const struct {
        int rec;
        const char *reason;
        const char *field;
    } want[] = {{1, "bad_body", NULL},
                {2, "wrong_magic", NULL},
                {3, "invalid", "weekly_capacity_minutes"},
                {5, "short_frame", NULL},
                {7, "invalid", "working_days"},
                {8, "unknown_schema_id", "15"},
                {9, "not an input", "hr.leave"}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        outbox_row o;
        const ol_record *r = &f->recs[want[i].rec];
        char key[128], num[32];
        outbox_get(f->rt, i + 1, &o);
        assert_string_equal(o.topic, "ops.deadletter");
        /* schemas/README.md: the key is <source topic>|<partition>|<offset> */
        snprintf(key, sizeof key, "%s|%d|%lld", r->topic, r->partition, (long long)r->offset);
        assert_string_equal(o.key, key);
        assert_int_equal(o.vlen, r->value_len);
        assert_memory_equal(o.value, r->value, r->value_len);
        const char *reason = header(&o, "ol.reason");
        if (!strstr(reason, want[i].reason) || (want[i].field && !strstr(reason, want[i].field)))
            fail_msg("dead letter %zu: reason \"%s\" lacks \"%s\"/\"%s\"", i, reason, want[i].reason,
                     want[i].field ? want[i].field : "");
        assert_string_equal(header(&o, "ol.service"), "toy");
        assert_string_equal(header(&o, "ol.source.topic"), r->topic);
        snprintf(num, sizeof num, "%d", r->partition);
        assert_string_equal(header(&o, "ol.source.partition"), num);
        snprintf(num, sizeof num, "%lld", (long long)r->offset);
        assert_string_equal(header(&o, "ol.source.offset"), num);
        /* the record's own key, to send it again as it was (the raw ones had none) */
        if (r->key)
            assert_string_equal(header(&o, "ol.source.key"), r->key);
        else
            assert_false(has_header(&o, "ol.source.key"));
    }
    assert_int_equal(counter(f->rt, "outbox_seq"), 7);
}

/* (e) offsets are stored with the batch and survive a restart */
static void test_offsets_survive_restart(void **state)
{
    fix *f = *state;
    const person a = {"o-10", "p-10", "A", 1, 0, 0}, b = {"o-11", "p-11", "B", 1, 0, 0},
                 c = {"o-12", "p-12", "C", 1, 0, 0};
    f->rt = rt_open(f, &toy_service);
    assert_int_equal(ol_runtime_offset(f->rt, TOPIC, 3), -1);
    add_person(f, 3, 10, &a);
    add_person(f, 3, 11, &b);
    add_person(f, 3, 12, &c);
    fold_from(f, 0);
    assert_int_equal(ol_runtime_offset(f->rt, TOPIC, 3), 13);
    assert_int_equal(ol_runtime_offset(f->rt, TOPIC, 0), -1);
    assert_int_equal(g_toy.applies, 3);

    rt_reopen(f, &toy_service);
    assert_int_equal(ol_runtime_offset(f->rt, TOPIC, 3), 13);
    assert_int_equal(counter(f->rt, "folded"), 3);
    /* the record of offset 11, delivered again */
    assert_int_equal(ol_runtime_fold_batch(f->rt, &f->recs[1], 1), 0);
    assert_int_equal(g_toy.applies, 3);
    assert_int_equal(counter(f->rt, "duplicates"), 1);
    /* the next offset to read never moves backwards */
    assert_int_equal(ol_runtime_offset(f->rt, TOPIC, 3), 13);

    /* offsets of several partitions in one batch, each to its highest + 1 */
    const person d = {"o-20", "p-20", "D", 1, 0, 0}, e = {"o-21", "p-21", "E", 1, 0, 0};
    int from = f->nrecs;
    add_person(f, 4, 7, &d);
    add_person(f, 3, 20, &e);
    add_person(f, 4, 5, &a); /* duplicate, lower offset of partition 4 */
    fold_from(f, from);
    assert_int_equal(ol_runtime_offset(f->rt, TOPIC, 4), 8);
    assert_int_equal(ol_runtime_offset(f->rt, TOPIC, 3), 21);
}

/* a snapshot of everything a batch may change */
typedef struct {
    int64_t counters[9];
    size_t entity, seen, outbox, toy, derived;
    int64_t offset0;
} snapshot;

static const char *const COUNTERS[9] = {"records", "folded",  "duplicates", "stale",     "conflicts",
                                        "deadletters", "emitted", "batches",    "data_time"};

static void snap(ol_runtime *rt, snapshot *s)
{
    for (int i = 0; i < 9; i++)
        s->counters[i] = counter(rt, COUNTERS[i]);
    s->entity = db_rows(rt, "entity");
    s->seen = db_rows(rt, "seen");
    s->outbox = db_rows(rt, "outbox");
    s->toy = db_rows(rt, "toy");
    s->derived = db_rows(rt, "derived");
    s->offset0 = ol_runtime_offset(rt, TOPIC, 0);
}

/* (f) a crash after part of a batch is folded and before it commits leaves
 * none of it: no entity, offset, outbox row or counter */
static void test_crash_mid_batch_leaves_nothing(void **state)
{
    fix *f = *state;
    snapshot before, after;
    int64_t rev;
    char name[64], eid[64];
    static const uint8_t garbage[] = {0x00, 0x00, 0x00, 0x00, 0x01, 0x80};

    f->rt = rt_open(f, &toy_emit_service);
    const person base = {"c-0", "p-0", "Base", 1, 0, 0};
    add_person(f, 0, 0, &base);
    fold_from(f, 0);
    snap(f->rt, &before);
    assert_int_equal(before.offset0, 1);
    assert_int_equal(before.entity, 1);
    assert_int_equal(before.outbox, 1); /* p-0's derived event */
    ol_runtime_free(f->rt);
    f->rt = NULL;

    /* the batch: a dead letter, then three people; apply() of the second dies */
    int from = f->nrecs;
    const person a = {"c-10", "p-10", "A", 1, 0, 0}, b = {"c-11", "p-11", "B", 1, 0, 0},
                 c = {"c-12", "p-12", "C", 1, 0, 0};
    add_raw(f, TOPIC, 0, 1, garbage, sizeof garbage);
    add_person(f, 0, 2, &a);
    add_person(f, 0, 3, &b);
    add_person(f, 0, 4, &c);

    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        g_toy.applies = 0;
        g_toy.crash_on = 2;
        ol_runtime *rt = rt_open(f, &toy_emit_service);
        ol_runtime_fold_batch(rt, f->recs + from, f->nrecs - from);
        _exit(3); /* not reached */
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), CRASH_EXIT);

    f->rt = rt_open(f, &toy_emit_service);
    snap(f->rt, &after);
    assert_memory_equal(after.counters, before.counters, sizeof before.counters);
    assert_int_equal(after.entity, before.entity);
    assert_int_equal(after.seen, before.seen);
    assert_int_equal(after.outbox, before.outbox);
    assert_int_equal(after.toy, before.toy);
    assert_int_equal(after.derived, before.derived);
    assert_int_equal(after.offset0, 1);
    assert_int_equal(entity_row(f->rt, "p-10", &rev, eid, sizeof eid), 0);
    assert_int_equal(toy_row(f->rt, "p-10", &rev, name, sizeof name), 0);
    assert_int_equal(counter(f->rt, "outbox_seq"), 1);

    /* the same batch again, without the crash: all of it is there */
    g_toy.applies = 0;
    fold_from(f, from);
    assert_int_equal(g_toy.applies, 3);
    assert_int_equal(db_rows(f->rt, "entity"), 4);
    assert_int_equal(db_rows(f->rt, "toy"), 4);
    assert_int_equal(db_rows(f->rt, "derived"), 4);
    assert_int_equal(db_rows(f->rt, "outbox"), 1 + 1 + 3); /* base, dead letter, 3 derived */
    assert_int_equal(counter(f->rt, "deadletters"), 1);
    assert_int_equal(counter(f->rt, "folded"), 4);
    assert_int_equal(counter(f->rt, "emitted"), 4);
    assert_int_equal(counter(f->rt, "batches"), 2);
    assert_int_equal(counter(f->rt, "outbox_seq"), 5);
    assert_int_equal(ol_runtime_offset(f->rt, TOPIC, 0), 5);
    assert_int_equal(entity_row(f->rt, "p-11", &rev, eid, sizeof eid), 1);
    assert_string_equal(eid, "c-11");
    /* the outbox sequence continued where the committed state left it */
    outbox_row o;
    outbox_get(f->rt, 2, &o);
    assert_string_equal(o.topic, "ops.deadletter");
}

/* the derived event stored for a person, decoded */
static void derived_get(fix *f, ol_decoder *d, const char *person, int64_t *rev, char *eid, size_t elen,
                        int32_t *capacity)
{
    ol_store *st = ol_runtime_store(f->rt);
    MDB_txn *txn;
    char key[128], err[256];
    int32_t wid;
    derived_key(person, key, sizeof key);
    ol_key k;
    ol_derived_key(&k, DERIVED, key);
    MDB_val kv = ol_key_val(&k), v;
    assert_int_equal(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_get(txn, ol_store_dbi(st, "derived"), &kv, &v), 0);
    assert_int_equal(ol_decoder_decode(d, v.mv_data, v.mv_size, &wid, err, sizeof err), OL_CODEC_OK);
    mdb_txn_abort(txn);
    avro_value_t *x = ol_decoder_value(d);
    *rev = tu_get_long(x, "revision");
    snprintf(eid, elen, "%s", tu_get_str(x, "event_id"));
    *capacity = tu_get_int(x, "capacity_minutes");
    assert_string_equal(tu_get_str(x, "key"), key);
}

/* (g) emission: unchanged content is not re-emitted; a change bumps the
 * revision and gives a new, deterministic event_id */
static void test_emit_revisions(void **state)
{
    fix *f = *state;
    const ol_schema *ds = ol_schemas_for_topic(g_all, DERIVED);
    ol_decoder *d = ol_decoder_new(g_all, ds);
    int64_t rev;
    int32_t cap;
    char eid1[64], eid2[64], want[37], key[128];
    outbox_row o;

    derived_key("p-1", key, sizeof key);
    f->rt = rt_open(f, &toy_emit_service);
    const person r1 = {"d-1", "p-1", "Ada", 1, 2250, 0};
    add_person(f, 0, 0, &r1);
    fold_from(f, 0);
    assert_int_equal(g_toy.nemits, 1);
    assert_int_equal(g_toy.emits[0], 1);
    derived_get(f, d, "p-1", &rev, eid1, sizeof eid1, &cap);
    assert_int_equal(rev, 1);
    assert_int_equal(cap, 2250);
    /* sha256("toy\0PERSON|p-1|2026-W47\0" "1"), version 8 and variant bits set */
    assert_string_equal(eid1, "316e645f-85bb-810f-8e8e-5aa2374527f5");
    ol_derived_event_id("toy", key, 1, want);
    assert_string_equal(eid1, want);
    assert_int_equal(db_rows(f->rt, "outbox"), 1);
    outbox_get(f->rt, 1, &o);
    assert_string_equal(o.topic, DERIVED);
    assert_string_equal(o.key, key);
    assert_int_equal(o.nh, 0);
    assert_int_equal(o.value[0], 0);
    assert_int_equal(ol_be32(o.value + 1), (uint32_t)ds->id);

    /* a new revision of the person that does not change the derived content */
    const person r2 = {"d-2", "p-1", "Ada Lovelace", 2, 2250, 0};
    int from = f->nrecs;
    add_person(f, 0, 1, &r2);
    fold_from(f, from);
    assert_int_equal(g_toy.applies, 2);
    assert_int_equal(g_toy.nemits, 2);
    assert_int_equal(g_toy.emits[1], 0);
    derived_get(f, d, "p-1", &rev, eid2, sizeof eid2, &cap);
    assert_int_equal(rev, 1);
    assert_string_equal(eid2, eid1);
    assert_int_equal(db_rows(f->rt, "outbox"), 1);
    assert_int_equal(counter(f->rt, "emitted"), 1);

    /* a change: revision 2, another event_id */
    const person r3 = {"d-3", "p-1", "Ada Lovelace", 3, 2400, 0};
    from = f->nrecs;
    add_person(f, 0, 2, &r3);
    fold_from(f, from);
    assert_int_equal(g_toy.emits[2], 1);
    derived_get(f, d, "p-1", &rev, eid2, sizeof eid2, &cap);
    assert_int_equal(rev, 2);
    assert_int_equal(cap, 2400);
    assert_string_not_equal(eid2, eid1);
    ol_derived_event_id("toy", key, 2, want);
    assert_string_equal(eid2, want);
    assert_int_equal(db_rows(f->rt, "outbox"), 2);
    assert_int_equal(counter(f->rt, "emitted"), 2);
    outbox_get(f->rt, 2, &o);
    assert_string_equal(o.key, key);

    /* back to the first content: a change again, revision 3 (not 1) */
    const person r4 = {"d-4", "p-1", "Ada Lovelace", 4, 2250, 0};
    from = f->nrecs;
    add_person(f, 0, 3, &r4);
    fold_from(f, from);
    assert_int_equal(g_toy.emits[3], 1);
    derived_get(f, d, "p-1", &rev, eid2, sizeof eid2, &cap);
    assert_int_equal(rev, 3);
    assert_int_equal(cap, 2250);
    /* the flush read revision 2's figures from its stored bytes before emitting revision 3 */
    assert_int_equal(g_toy.prev_cap, 2400);
    assert_int_equal(g_toy.prev_checks, 3);
    assert_int_equal(g_toy.prev_mismatch, 0);

    /* a restart changes nothing: the same content is still "unchanged" */
    rt_reopen(f, &toy_emit_service);
    const person r5 = {"d-5", "p-1", "A. Lovelace", 5, 2250, 0};
    from = f->nrecs;
    add_person(f, 0, 4, &r5);
    fold_from(f, from);
    assert_int_equal(g_toy.emits[4], 0);
    assert_int_equal(db_rows(f->rt, "outbox"), 3);
    ol_decoder_free(d);
}

static void test_derived_event_id(void **state)
{
    (void)state;
    char a[37], b[37], c[37];
    ol_derived_event_id("toy", "PERSON|p-1|2026-W47", 1, a);
    ol_derived_event_id("toy", "PERSON|p-1|2026-W47", 1, b);
    assert_string_equal(a, b);
    assert_string_equal(a, "316e645f-85bb-810f-8e8e-5aa2374527f5");
    /* a many-digit revision, a quote in the key (the digits are written by hand, not by snprintf) */
    ol_derived_event_id("utilisation", "TEAM|Data \"x\"|2026-W01", 1234567890123LL, b);
    assert_string_equal(b, "07ed5871-aa03-8930-83bf-a66d3abb57c2");
    assert_int_equal(strlen(a), 36);
    assert_int_equal(a[8], '-');
    assert_int_equal(a[13], '-');
    assert_int_equal(a[18], '-');
    assert_int_equal(a[23], '-');
    assert_int_equal(a[14], '8');                 /* version 8 */
    assert_non_null(strchr("89ab", a[19]));       /* RFC 4122 variant */
    ol_derived_event_id("toy", "PERSON|p-1|2026-W47", 2, c);
    assert_string_not_equal(a, c);
    ol_derived_event_id("toy2", "PERSON|p-1|2026-W47", 1, c);
    assert_string_not_equal(a, c);
    ol_derived_event_id("toy", "PERSON|p-1|2026-W48", 1, c);
    assert_string_not_equal(a, c);
    /* the NUL separators keep ("ab","c") and ("a","bc") apart */
    ol_derived_event_id("ab", "c", 1, b);
    ol_derived_event_id("a", "bc", 1, c);
    assert_string_not_equal(b, c);
    for (int i = 0; i < 36; i++)
        if (i != 8 && i != 13 && i != 18 && i != 23)
            assert_non_null(strchr("0123456789abcdef", a[i]));
}

/* Ids over their size limit (OL_ID_MAX_BYTES, checked up front with the
 * limit named) are dead letters, never a batch that fails on every restart */
static void test_oversized_ids_dead_lettered(void **state)
{
    fix *f = *state;
    static char long_eid[700], long_pid[600], max_pid[600];
    memset(long_eid, 'e', OL_ID_MAX_BYTES + 1);
    memset(long_pid, 'p', OL_ID_MAX_BYTES + 1);
    memset(max_pid, 'm', OL_ID_MAX_BYTES);
    const person big_eid = {long_eid, "p-1", "A", 1, 0, 0}, big_pid = {"x-2", long_pid, "B", 1, 0, 0};
    const person at_limit = {"x-3", max_pid, "C", 1, 0, 0}, good = {"x-4", "p-4", "D", 1, 0, 0};
    f->rt = rt_open(f, &toy_service);
    add_person(f, 0, 0, &big_eid);
    add_person(f, 0, 1, &big_pid);
    add_person(f, 0, 2, &at_limit);
    add_person(f, 0, 3, &good);
    assert_int_equal(ol_runtime_fold_batch(f->rt, f->recs, f->nrecs), 0);
    assert_int_equal(g_toy.applies, 2);
    assert_int_equal(counter(f->rt, "deadletters"), 2);
    assert_int_equal(db_rows(f->rt, "outbox"), 2);
    assert_int_equal(ol_runtime_offset(f->rt, TOPIC, 0), 4);
    int64_t rev;
    char name[64];
    assert_int_equal(toy_row(f->rt, "p-4", &rev, name, sizeof name), 1);
    outbox_row o;
    outbox_get(f->rt, 1, &o);
    assert_non_null(strstr(header(&o, "ol.reason"), "event_id"));
    assert_non_null(strstr(header(&o, "ol.reason"), "limit of 128 bytes"));
    outbox_get(f->rt, 2, &o);
    assert_non_null(strstr(header(&o, "ol.reason"), "person_id"));
}

/* SPEC 4: a record the fold cannot store is a dead letter like any other
 * bad input: the batch is folded again without it, the others of the batch
 * are kept, its event_id is not marked seen (a corrected re-send folds), and
 * the service carries on. Before: the whole batch aborted, on every restart. */
static void test_fold_error_is_dead_letter(void **state)
{
    fix *f = *state;
    static const uint8_t garbage[] = {0x00, 0x00, 0x00, 0x00, 0x01, 0x80};
    const person a = {"s-1", "p-1", "A", 1, 0, 0}, b = {"s-2", "p-2", "B", 1, 0, 0};
    const person c = {"s-3", "p-3", "C", 1, 0, 0}, b2 = {"s-4", "p-2", "B2", 2, 0, 0};
    f->rt = rt_open(f, &toy_service);
    add_raw(f, TOPIC, 0, 0, garbage, sizeof garbage); /* a dead letter first */
    add_person(f, 0, 1, &a);
    add_person(f, 0, 2, &b); /* apply() #2 fails: as if its key were over LMDB's limit */
    add_person(f, 0, 3, &c);
    g_toy.fail_on = 2;
    g_toy.fail_rc = MDB_BAD_VALSIZE;
    fold_from(f, 0);
    assert_int_equal(counter(f->rt, "records"), 4);
    assert_int_equal(counter(f->rt, "folded"), 2);
    assert_int_equal(counter(f->rt, "deadletters"), 2);
    assert_int_equal(ol_runtime_offset(f->rt, TOPIC, 0), 4);
    int64_t rev;
    char name[64];
    assert_int_equal(toy_row(f->rt, "p-1", &rev, name, sizeof name), 1);
    assert_int_equal(toy_row(f->rt, "p-2", &rev, name, sizeof name), 0);
    assert_int_equal(toy_row(f->rt, "p-3", &rev, name, sizeof name), 1);
    assert_int_equal(db_rows(f->rt, "outbox"), 2);
    outbox_row o;
    outbox_get(f->rt, 2, &o);
    assert_string_equal(o.key, "hr.person|0|2");
    assert_non_null(strstr(header(&o, "ol.reason"), "fold: service toy could not store this record"));
    assert_non_null(strstr(header(&o, "ol.reason"), "511 bytes"));
    /* the upstream's corrected re-send is folded: the failed one was not "seen" */
    int from = f->nrecs;
    add_person(f, 0, 4, &b2);
    fold_from(f, from);
    assert_int_equal(toy_row(f->rt, "p-2", &rev, name, sizeof name), 1);
    assert_int_equal(rev, 2);

    /* a record the service itself refuses (-1) is a dead letter too */
    from = f->nrecs;
    const person d = {"s-5", "p-5", "D", 1, 0, 0};
    g_toy.fail_on = 0;
    g_toy.fail_rc = 0;
    g_toy.fail_person = "p-5";
    add_person(f, 0, 5, &d);
    fold_from(f, from);
    assert_int_equal(counter(f->rt, "deadletters"), 3);
    outbox_get(f->rt, 3, &o);
    assert_non_null(strstr(header(&o, "ol.reason"), "could not fold this record"));
}

/* A fault of the environment (disk full here) is no record's fault: the
 * batch commits nothing, the runtime's in-memory state (counters, outbox
 * sequence) is as before it, and the same batch folds once it recovers */
static void test_env_fault_aborts_batch(void **state)
{
    fix *f = *state;
    static const uint8_t garbage[] = {0x00, 0x00, 0x00, 0x00, 0x01, 0x80};
    const person a = {"s-1", "p-1", "A", 1, 0, 0}, b = {"s-2", "p-2", "B", 1, 0, 0};
    f->rt = rt_open(f, &toy_service);
    add_raw(f, TOPIC, 0, 0, garbage, sizeof garbage); /* a dead letter first */
    add_person(f, 0, 1, &a);
    add_person(f, 0, 2, &b);
    g_toy.fail_on = 2;
    g_toy.fail_rc = ENOSPC;
    assert_int_equal(ol_runtime_fold_batch(f->rt, f->recs, f->nrecs), -1);
    assert_int_equal(db_rows(f->rt, "outbox"), 0);
    assert_int_equal(db_rows(f->rt, "entity"), 0);
    assert_int_equal(db_rows(f->rt, "seen"), 0);
    assert_int_equal(counter(f->rt, "records"), 0);
    assert_int_equal(counter(f->rt, "deadletters"), 0);
    assert_int_equal(ol_runtime_offset(f->rt, TOPIC, 0), -1);

    /* the same batch folds once the environment recovers; the dead letter is row 1 */
    g_toy.fail_on = 0;
    g_toy.applies = 0;
    fold_from(f, 0);
    assert_int_equal(g_toy.applies, 2);
    assert_int_equal(counter(f->rt, "records"), 3);
    assert_int_equal(counter(f->rt, "deadletters"), 1);
    assert_int_equal(counter(f->rt, "outbox_seq"), 1);
    outbox_row o;
    outbox_get(f->rt, 1, &o);
    assert_string_equal(o.topic, "ops.deadletter");
    assert_string_equal(o.key, "hr.person|0|0");
}

/* A fold that fails on every record is the service's fault or the
 * environment's, not 64 bad records: it stops instead of dead-lettering the
 * whole input */
static void test_fold_failing_everything_stops(void **state)
{
    fix *f = *state;
    static char ids[72][2][16];
    f->rt = rt_open(f, &toy_service);
    for (int i = 0; i < 72; i++) {
        snprintf(ids[i][0], 16, "e-%d", i);
        snprintf(ids[i][1], 16, "q-%d", i);
        const person p = {ids[i][0], ids[i][1], "Q", 1, 0, 0};
        add_person(f, 0, i, &p);
    }
    g_toy.fail_person = "q-";
    assert_int_equal(ol_runtime_fold_batch(f->rt, f->recs, f->nrecs), -1);
    assert_int_equal(db_rows(f->rt, "outbox"), 0);
    assert_int_equal(ol_runtime_offset(f->rt, TOPIC, 0), -1);
}

/* a person frame whose field `field` is set to the n bytes at s (may hold NUL) */
static ol_record *add_person_raw_field(fix *f, int64_t offset, const person *p, const char *field, const char *s,
                                       size_t n)
{
    const ol_schema *sc = ol_schemas_for_topic(g_all, TOPIC);
    size_t len;
    uint8_t *frame = person_frame(p, &len), *out;
    avro_value_t v, fv;
    char err[512];
    int32_t wid;
    ol_decoder *d = ol_decoder_new(g_all, sc);
    assert_int_equal(ol_decoder_decode(d, frame, len, &wid, err, sizeof err), OL_CODEC_OK);
    assert_int_equal(avro_generic_value_new(sc->iface, &v), 0);
    assert_int_equal(avro_value_copy(&v, ol_decoder_value(d)), 0);
    char *buf = malloc(n + 1);
    memcpy(buf, s, n);
    buf[n] = '\0';
    assert_int_equal(avro_value_get_by_name(&v, field, &fv, NULL), 0);
    assert_int_equal(avro_value_set_string_len(&fv, buf, n + 1), 0);
    assert_int_equal(ol_codec_encode(sc, &v, &out, &len, err, sizeof err), 0);
    ol_record *r = add_raw(f, TOPIC, 0, offset, out, len);
    free(out);
    free(buf);
    free(frame);
    avro_value_decref(&v);
    ol_decoder_free(d);
    return r;
}

/* SPEC 4: a string holding NUL is a dead letter naming the field, never
 * read truncated. Before: two event_ids that differ after a NUL were one
 * (the second counted as a duplicate, its entry lost), and person_id
 * "p-0024\0X" folded as p-0024. */
static void test_nul_in_strings_dead_lettered(void **state)
{
    fix *f = *state;
    const person a = {"e-1", "p-1", "A", 1, 0, 0}, b = {"e-2", "p-2", "B", 1, 0, 0};
    const person c = {"e-3", "p-0024", "C", 1, 0, 0};
    f->rt = rt_open(f, &toy_service);
    add_person_raw_field(f, 0, &a, "event_id", "e-1\0A", 5);
    add_person_raw_field(f, 1, &b, "event_id", "e-1\0B", 5);
    add_person_raw_field(f, 2, &c, "person_id", "p-0024\0X", 8);
    add_person_raw_field(f, 3, &c, "team", "data\0evil", 9);
    fold_from(f, 0);
    assert_int_equal(counter(f->rt, "deadletters"), 4);
    assert_int_equal(counter(f->rt, "duplicates"), 0);
    assert_int_equal(db_rows(f->rt, "seen"), 0);
    assert_int_equal(db_rows(f->rt, "entity"), 0);
    int64_t rev;
    char name[64];
    assert_int_equal(toy_row(f->rt, "p-0024", &rev, name, sizeof name), 0);
    const char *fields[] = {"event_id", "event_id", "person_id", "team"};
    for (int i = 0; i < 4; i++) {
        outbox_row o;
        outbox_get(f->rt, (uint64_t)i + 1, &o);
        char want[64];
        snprintf(want, sizeof want, "field \"%s\": holds a NUL byte", fields[i]);
        assert_non_null(strstr(header(&o, "ol.reason"), want));
    }
}

/* Avro strings are UTF-8: a string that is not (a stray 0xff, an overlong
 * '/', a UTF-16 surrogate, a code point above U+10FFFF, a sequence cut
 * short) is a dead letter naming the field and the byte, never an id that
 * JSON outputs (tail, replay --emit, query --format json) drop or mangle.
 * Well-formed multi-byte text folds. */
static void test_invalid_utf8_dead_lettered(void **state)
{
    fix *f = *state;
    const person a = {"e-1", "p-1", "A", 1, 0, 0}, ok = {"e-9", "p-9", "Z", 1, 0, 0};
    static const struct {
        const char *s;
        size_t n, bad;
    } cases[] = {
        {"p-\xff\xfe-bad", 8, 2}, {"p-\xc0\xaf", 4, 2}, {"p-\xed\xa0\x80", 5, 2},
        {"p-\xf4\x90\x80\x80", 6, 2}, {"p-0123456\xe2\x82", 11, 9}, {"p-\xe0\x80\xaf", 5, 2},
    };
    const size_t nc = sizeof cases / sizeof cases[0];
    f->rt = rt_open(f, &toy_service);
    for (size_t i = 0; i < nc; i++) {
        person p = a;
        char eid[16];
        snprintf(eid, sizeof eid, "e-%zu", i + 1);
        p.event_id = eid;
        add_person_raw_field(f, (int64_t)i, &p, "person_id", cases[i].s, cases[i].n);
    }
    /* h\u00e9l\u20ac\U0001F600: two-, three- and four-byte forms */
    add_person_raw_field(f, (int64_t)nc, &ok, "team", "h\xc3\xa9l\xe2\x82\xac\xf0\x9f\x98\x80", 11);
    fold_from(f, 0);
    assert_int_equal(counter(f->rt, "deadletters"), (int64_t)nc);
    int64_t rev;
    char name[64];
    assert_int_equal(toy_row(f->rt, "p-9", &rev, name, sizeof name), 1);
    for (size_t i = 0; i < nc; i++) {
        outbox_row o;
        outbox_get(f->rt, (uint64_t)i + 1, &o);
        char want[96];
        snprintf(want, sizeof want, "field \"person_id\": not UTF-8: byte %zu is 0x%02x", cases[i].bad,
                 (unsigned)(unsigned char)cases[i].s[cases[i].bad]);
        if (!strstr(header(&o, "ol.reason"), want))
            fail_msg("dead letter %zu: \"%s\" lacks \"%s\"", i, header(&o, "ol.reason"), want);
    }
}

/* Derived keys join identifiers with '|' (SPEC 2): an id, team or role
 * holding it is a dead letter naming the field and the byte, never a key
 * that reads as another (an expense_id "G1|P1|2026-W46" replaced that time
 * line on the web). Free text (a name) may hold it. */
static void test_key_separator_in_ids_dead_lettered(void **state)
{
    fix *f = *state;
    const person a = {"e-1", "p-1", "A", 1, 0, 0}, b = {"e-2", "p-2", "B", 1, 0, 0};
    const person ok = {"e-3", "p-3", "C", 1, 0, 0};
    f->rt = rt_open(f, &toy_service);
    add_person_raw_field(f, 0, &a, "person_id", "p-1|2026-W46", 12);
    add_person_raw_field(f, 1, &b, "team", "data|org", 8);
    add_person_raw_field(f, 2, &ok, "name", "Smith | Jones", 13);
    fold_from(f, 0);
    assert_int_equal(counter(f->rt, "deadletters"), 2);
    int64_t rev;
    char name[64];
    assert_int_equal(toy_row(f->rt, "p-3", &rev, name, sizeof name), 1);
    assert_string_equal(name, "Smith | Jones");
    const char *want[] = {"field \"person_id\": holds '|' at byte 3", "field \"team\": holds '|' at byte 4"};
    for (int i = 0; i < 2; i++) {
        outbox_row o;
        outbox_get(f->rt, (uint64_t)i + 1, &o);
        if (!strstr(header(&o, "ol.reason"), want[i]))
            fail_msg("dead letter %d: \"%s\" lacks \"%s\"", i, header(&o, "ol.reason"), want[i]);
    }
}

/* A dead letter must fit in a Kafka message: a bad record of 999,950 bytes
 * (under Kafka's default limit of 1,000,000, which the dead letter's
 * headers then pushed it over) is dead-lettered with its first 512 KiB and
 * headers giving its whole size and SHA-256; one of exactly 512 KiB is
 * carried whole. Before: the producer refused the copy, and the service
 * stopped on every restart with nothing more published. */
static void test_huge_dead_letter_cut(void **state)
{
    fix *f = *state;
    const size_t big = 999950, cap = 512 * 1024;
    uint8_t *v = malloc(big), md[SHA256_DIGEST_LENGTH];
    char hex[65], size[24];
    assert_non_null(v);
    for (size_t i = 0; i < big; i++)
        v[i] = (uint8_t)(i * 2654435761u >> 13);
    v[0] = 0x07; /* wrong magic */
    f->rt = rt_open(f, &toy_service);
    add_raw(f, TOPIC, 0, 0, v, big);
    add_raw(f, TOPIC, 0, 1, v, cap);
    const person good = {"g-1", "p-1", "One", 1, 0, 0};
    add_person(f, 0, 2, &good);
    fold_from(f, 0);
    assert_int_equal(counter(f->rt, "deadletters"), 2);
    assert_int_equal(g_toy.applies, 1);
    outbox_row o;
    outbox_get(f->rt, 1, &o);
    assert_int_equal(o.vlen, cap);
    assert_memory_equal(o.value, v, sizeof o.value);
    SHA256(v, big, md);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    snprintf(size, sizeof size, "%zu", big);
    assert_string_equal(header(&o, "ol.value.truncated"), "true");
    assert_string_equal(header(&o, "ol.value.bytes"), size);
    assert_string_equal(header(&o, "ol.value.sha256"), hex);
    assert_non_null(strstr(header(&o, "ol.reason"), "wrong_magic"));
    outbox_get(f->rt, 2, &o);
    assert_int_equal(o.vlen, cap);
    assert_false(has_header(&o, "ol.value.truncated"));
    assert_false(has_header(&o, "ol.value.bytes"));
    free(v);
}

/* A data directory belongs to the service that first ran in it: another
 * service started on it (a data.mdb copied across, a --data-dir mix-up) is
 * refused, naming both, before anything in it changes; the owner still
 * opens it. Before: billing folded on in utilisation's directory, took its
 * offsets for the topics both read and skipped those records for good. */
static void test_foreign_directory_refused(void **state)
{
    fix *f = *state;
    static const char *const other_dbs[] = {"toy", "other_only", NULL};
    static const ol_service other = {.name = "other", .inputs = TOY_INPUTS, .dbs = other_dbs, .apply = toy_apply};
    const person a = {"e-1", "p-1", "A", 1, 0, 0};
    f->rt = rt_open(f, &toy_service);
    add_person(f, 0, 0, &a);
    fold_from(f, 0);
    ol_runtime_free(f->rt);
    f->rt = NULL;
    char data[600], before[64], after[64];
    snprintf(data, sizeof data, "%s/data.mdb", f->db);
    struct stat sb;
    assert_int_equal(stat(data, &sb), 0);
    snprintf(before, sizeof before, "%lld.%ld", (long long)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec);
    char err[512] = "";
    ol_runtime_opts opts = {.db_path = f->db, .publish = 0};
    ol_runtime *rt = ol_runtime_new(&other, &f->cfg, g_all, &opts, err, sizeof err);
    assert_null(rt);
    if (!strstr(err, "holds the projection of opsledger-toy, not of opsledger-other"))
        fail_msg("unexpected error: %s", err);
    assert_int_equal(stat(data, &sb), 0);
    snprintf(after, sizeof after, "%lld.%ld", (long long)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec);
    assert_string_equal(before, after); /* nothing was written: not even the other's databases created */
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 64), 0);
    assert_int_equal(mdb_env_open(env, f->db, MDB_RDONLY, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "other_only", 0, &dbi), MDB_NOTFOUND);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    f->rt = rt_open(f, &toy_service);
    assert_int_equal(ol_runtime_offset(f->rt, TOPIC, 0), 1);
}

/* SPEC 4: one instance per data directory; the lock dies with its owner */
static void test_second_instance_refused(void **state)
{
    fix *f = *state;
    char err[512] = "";
    ol_runtime_opts opts = {.db_path = f->db, .publish = 0};
    f->rt = rt_open(f, &toy_service);
    ol_runtime *second = ol_runtime_new(&toy_service, &f->cfg, g_all, &opts, err, sizeof err);
    assert_null(second);
    char want[64];
    snprintf(want, sizeof want, "in use by another instance (pid %ld)", (long)getpid());
    assert_non_null(strstr(err, want));
    /* a SIGKILLed owner leaves no stale lock */
    ol_runtime_free(f->rt);
    f->rt = NULL;
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        char e[512];
        ol_runtime *rt = ol_runtime_new(&toy_service, &f->cfg, g_all, &opts, e, sizeof e);
        if (!rt)
            _exit(3);
        for (;;)
            pause();
    }
    for (int i = 0; i < 200; i++) { /* until the child holds it */
        second = ol_runtime_new(&toy_service, &f->cfg, g_all, &opts, err, sizeof err);
        if (!second)
            break;
        ol_runtime_free(second);
        usleep(10000);
    }
    assert_non_null(strstr(err, "in use by another instance"));
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    f->rt = rt_open(f, &toy_service);
    /* the store is private to its owner */
    struct stat sb;
    char path[400];
    assert_int_equal(stat(f->db, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    snprintf(path, sizeof path, "%s/data.mdb", f->db);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
}

/* a batch with nothing dirty (only a dead letter and a duplicate) still
 * calls flush(), which sees no keys and emits nothing */
/* every row of db, hashed in order (FNV-1a over lengths and bytes) */
static uint64_t db_digest(ol_runtime *rt, const char *db, size_t *rows)
{
    ol_store *st = ol_runtime_store(rt);
    MDB_txn *txn;
    MDB_cursor *c;
    MDB_val k, v;
    uint64_t h = 0xcbf29ce484222325ULL;
    *rows = 0;
    assert_int_equal(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_cursor_open(txn, ol_store_dbi(st, db), &c), 0);
    while (mdb_cursor_get(c, &k, &v, MDB_NEXT) == 0) {
        const MDB_val *part[2] = {&k, &v};
        for (int i = 0; i < 2; i++) {
            size_t n = part[i]->mv_size;
            for (size_t j = 0; j < sizeof n; j++)
                h = (h ^ ((n >> (8 * j)) & 0xff)) * 0x100000001b3ULL;
            for (size_t j = 0; j < n; j++)
                h = (h ^ ((const uint8_t *)part[i]->mv_data)[j]) * 0x100000001b3ULL;
        }
        ++*rows;
    }
    mdb_cursor_close(c);
    mdb_txn_abort(txn);
    return h;
}

/* lmdb_writemap = auto (the default): a run at least lmdb_writemap_backlog
 * records behind folds through MDB_WRITEMAP (which sizes data.mdb to the
 * map: how the test sees it was taken) and is back on pwrite once under one
 * batch behind; the projection, the entity log and the outbox are the same,
 * row for row, as a run on pwrite throughout */
static void test_write_path_follows_backlog(void **state)
{
    fix *f = *state;
    static char ids[60][3][24];
    for (int i = 0; i < 60; i++) {
        snprintf(ids[i][0], sizeof ids[i][0], "ev-%02d", i);
        snprintf(ids[i][1], sizeof ids[i][1], "p-%02d", i % 40); /* 20 later revisions */
        snprintf(ids[i][2], sizeof ids[i][2], "Name %d", i);
        person p = {ids[i][0], ids[i][1], ids[i][2], 1 + i / 40, 2400, 5};
        add_person(f, 0, i, &p);
    }
    static const char *const dbs[] = {"toy", "derived", "outbox", "versions"};
    uint64_t digest[2][4];
    size_t rows[2][4];
    for (int run = 0; run < 2; run++) {
        char dir[400], file[450], err[512] = "";
        struct stat sb;
        snprintf(dir, sizeof dir, "%s/run%d", f->dir, run);
        ol_config_set(&f->cfg, "lmdb_writemap", run ? "0" : "auto");
        ol_config_set(&f->cfg, "lmdb_writemap_backlog", "20");
        ol_runtime_opts opts = {.db_path = dir, .publish = 0, .batch_max = 5, .stop_at_end = 1};
        ol_runtime *rt = ol_runtime_new(&toy_emit_service, &f->cfg, g_all, &opts, err, sizeof err);
        if (!rt)
            fail_msg("ol_runtime_new: %s", err);
        ol_source *src = ol_source_array_new(f->recs, (size_t)f->nrecs);
        assert_non_null(src);
        assert_int_equal(ol_runtime_run(rt, src), 0);
        src->close(src);
        assert_int_equal(ol_runtime_store(rt)->writemap, 0); /* caught up: pwrite */
        for (int d = 0; d < 4; d++)
            digest[run][d] = db_digest(rt, dbs[d], &rows[run][d]);
        ol_runtime_free(rt);
        snprintf(file, sizeof file, "%s/data.mdb", dir);
        assert_int_equal(stat(file, &sb), 0);
        if (run == 0)
            assert_int_equal(sb.st_size, 64 << 20); /* the map was taken */
        else
            assert_true(sb.st_size < (64 << 20));
    }
    assert_int_equal(rows[0][0], 40);
    for (int d = 0; d < 4; d++) {
        assert_true(rows[0][d] > 0);
        assert_int_equal(rows[0][d], rows[1][d]);
        assert_true(digest[0][d] == digest[1][d]);
    }
}

static void test_flush_with_nothing_dirty(void **state)
{
    fix *f = *state;
    static const uint8_t garbage[] = {0x00, 0x00, 0x00, 0x00, 0x01, 0x80};
    f->rt = rt_open(f, &toy_emit_service);
    add_raw(f, TOPIC, 0, 0, garbage, sizeof garbage);
    fold_from(f, 0);
    assert_int_equal(g_toy.flushes, 1);
    assert_int_equal(g_toy.nemits, 0);
    assert_int_equal(db_rows(f->rt, "derived"), 0);
    assert_int_equal(db_rows(f->rt, "outbox"), 1);
    assert_int_equal(ol_runtime_offset(f->rt, TOPIC, 0), 1);
    /* an empty batch commits too */
    assert_int_equal(ol_runtime_fold_batch(f->rt, NULL, 0), 0);
    assert_int_equal(g_toy.flushes, 2);
    assert_int_equal(counter(f->rt, "batches"), 2);
}

#define DAY_MS 86400000LL

/* SPEC 2 (issue 15): the stored version's event_id is a duplicate always;
 * another entity's event_id within the dedupe window (35 days of data time)
 * only. The answer is the same after a restart (the indexes rebuilt from the
 * version log), so a live run, a restarted one and a replay agree. */
static void test_dedupe_window(void **state)
{
    fix *f = *state;
    const person a = {"e-1", "p-1", "A", 1, 0, 0}, late = {"e-late", "p-2", "B", 1, 0, 0};
    const person reuse_old = {"e-1", "p-3", "C", 1, 0, 0}, fresh = {"e-2", "p-4", "D", 1, 0, 0};
    const person reuse_new = {"e-2", "p-5", "E", 1, 0, 0};
    f->rt = rt_open(f, &toy_service);
    const person early = {"e-x", "p-0", "X", 1, 0, 0};
    g_occurred_at = T0;
    add_person(f, 0, 0, &a);
    add_person(f, 0, 12, &early);
    g_occurred_at = T0 + 40 * DAY_MS; /* data time moves 40 days on */
    add_person(f, 0, 1, &late);
    add_person(f, 0, 2, &reuse_old); /* e-1 last seen 40 days ago, another entity: folded */
    add_person(f, 0, 3, &fresh);
    add_person(f, 0, 4, &reuse_new); /* e-2 seen just now on another entity: a duplicate */
    add_person(f, 0, 5, &a);         /* p-1's stored version re-delivered: a duplicate, always */
    fold_from(f, 0);
    int64_t rev;
    char eid[64];
    assert_int_equal(entity_row(f->rt, "p-3", &rev, eid, sizeof eid), 1);
    assert_int_equal(entity_row(f->rt, "p-5", &rev, eid, sizeof eid), 0);
    assert_int_equal(counter(f->rt, "duplicates"), 2);
    assert_int_equal(counter(f->rt, "folded"), 5);

    /* the same answers after a restart */
    rt_reopen(f, &toy_service);
    const person reuse_new2 = {"e-2", "p-6", "F", 1, 0, 0}, reuse_old2 = {"e-x", "p-7", "G", 1, 0, 0};
    int from = f->nrecs;
    add_person(f, 0, 6, &reuse_new2);
    add_person(f, 0, 7, &reuse_old2);
    add_person(f, 0, 8, &a);
    fold_from(f, from);
    assert_int_equal(entity_row(f->rt, "p-6", &rev, eid, sizeof eid), 0);
    assert_int_equal(entity_row(f->rt, "p-7", &rev, eid, sizeof eid), 1);
    assert_int_equal(counter(f->rt, "duplicates"), 4);
    /* a stale version is remembered as seen: its re-delivery is a duplicate */
    const person newer = {"e-1b", "p-1", "A2", 5, 0, 0}, older = {"e-1c", "p-1", "A3", 2, 0, 0};
    from = f->nrecs;
    add_person(f, 0, 9, &newer);
    add_person(f, 0, 10, &older);
    add_person(f, 0, 11, &older);
    fold_from(f, from);
    assert_int_equal(counter(f->rt, "stale"), 1);
    assert_int_equal(counter(f->rt, "duplicates"), 5);
}

/* A data directory from before the version log (an `entity` B-tree and a
 * `seen` set) is migrated when a runtime opens it: the stored versions
 * become log rows, their event_ids stay duplicates, the old databases go */
static void test_migrates_entity_database(void **state)
{
    fix *f = *state;
    static const char *const old_dbs[] = {"meta", "entity", "seen", NULL};
    const person p9 = {"e-9", "p-9", "Nine", 3, 0, 0};
    char err[512];
    ol_store st;
    MDB_txn *txn;
    size_t flen;
    uint8_t *frame = person_frame(&p9, &flen);
    assert_int_equal(ol_store_open(&st, f->db, 1 << 24, 0, old_dbs, err, sizeof err), 0);
    assert_int_equal(mdb_txn_begin(st.env, NULL, 0, &txn), 0);
    ol_key k;
    ol_key_init(&k);
    ol_key_str(&k, TOPIC);
    ol_key_str(&k, "p-9");
    uint8_t val[1024];
    ol_put_be64(val, 3);
    val[8] = 0, val[9] = 3;
    memcpy(val + 10, "e-9", 3);
    memcpy(val + 13, frame, flen);
    MDB_val kv = ol_key_val(&k), vv = {13 + flen, val}, sk = {3, "e-9"}, empty = {0, ""};
    assert_int_equal(mdb_put(txn, ol_store_dbi(&st, "entity"), &kv, &vv, 0), 0);
    assert_int_equal(mdb_put(txn, ol_store_dbi(&st, "seen"), &sk, &empty, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    ol_store_close(&st);
    free(frame);

    f->rt = rt_open(f, &toy_service);
    int64_t rev;
    char eid[64];
    assert_int_equal(entity_row(f->rt, "p-9", &rev, eid, sizeof eid), 1);
    assert_int_equal(rev, 3);
    assert_string_equal(eid, "e-9");
    add_person(f, 0, 0, &p9); /* re-delivered: a duplicate */
    fold_from(f, 0);
    assert_int_equal(counter(f->rt, "duplicates"), 1);
    assert_int_equal(g_toy.applies, 0);
    ol_store *rs = ol_runtime_store(f->rt);
    MDB_dbi gone;
    assert_int_equal(mdb_txn_begin(rs->env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "entity", 0, &gone), MDB_NOTFOUND);
    mdb_txn_abort(txn);
}

/* The derived database keeps a row under topic\0 week\0 key\0 (issue 15:
 * the rows a batch re-emits for one week are neighbours): the week or date
 * component wherever it is in the key, nothing for keys without one, and
 * every week's rows before the next week's whatever the entity. */
static void test_derived_key_locality(void **state)
{
    (void)state;
    static const struct {
        const char *key, *loc;
    } cases[] = {
        {"PERSON|p-1|2026-W47", "2026-W47"}, {"eng-1|2026-W05|EUR", "2026-W05"}, {"svc-1|2026-11-20", "2026-11-20"},
        {"inv-1", ""},                        {"x|2026-W4", ""},               {"x|2026-W4a|2026-W48", "2026-W48"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ol_key k, want;
        ol_derived_key(&k, "t.topic", cases[i].key);
        ol_key_init(&want);
        ol_key_str(&want, "t.topic");
        ol_key_str(&want, cases[i].loc);
        ol_key_str(&want, cases[i].key);
        assert_int_equal(k.n, want.n);
        assert_memory_equal(k.b, want.b, k.n);
        const char *topic = NULL, *key = ol_derived_key_of(k.b, k.n, &topic);
        assert_non_null(key);
        assert_string_equal(key, cases[i].key);
        assert_string_equal(topic, "t.topic");
    }
    ol_key a, b;
    ol_derived_key(&a, "t", "PERSON|z|2026-W47");
    ol_derived_key(&b, "t", "PERSON|a|2026-W48");
    assert_true(memcmp(a.b, b.b, a.n < b.n ? a.n : b.n) < 0);
    static const char before[] = "t\0PERSON|a|2026-W48"; /* the layout before: no week part */
    assert_null(ol_derived_key_of(before, sizeof before, NULL));
}

/* A directory written before the week-first layout (rows under topic\0
 * key\0) is rewritten when the service opens it: every row is found under
 * its new key, so unchanged figures are not re-emitted and a change takes
 * the next revision */
static void test_migrates_derived_database(void **state)
{
    fix *f = *state;
    ol_decoder *d = ol_decoder_new(g_all, ol_schemas_for_topic(g_all, DERIVED));
    const person a = {"d-1", "p-1", "Ada", 1, 2250, 0}, b = {"d-2", "p-2", "Bob", 1, 1800, 0};
    char err[512], eid[64];
    int64_t rev;
    int32_t cap;
    f->rt = rt_open(f, &toy_emit_service);
    add_person(f, 0, 0, &a);
    add_person(f, 0, 1, &b);
    fold_from(f, 0);
    assert_int_equal(counter(f->rt, "emitted"), 2);
    ol_runtime_free(f->rt);
    f->rt = NULL;

    /* back to the old layout, as a directory of the previous release has it */
    static const char *const dbs[] = {OL_RT_DBS, "toy", NULL};
    ol_store st;
    MDB_txn *txn;
    MDB_cursor *c;
    MDB_val k, v;
    size_t n = 0;
    ol_key old[4];
    uint8_t vals[4][2048];
    size_t vlen[4];
    assert_int_equal(ol_store_open(&st, f->db, 1 << 24, 0, dbs, err, sizeof err), 0);
    assert_int_equal(mdb_txn_begin(st.env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_cursor_open(txn, ol_store_dbi(&st, "derived"), &c), 0);
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT), n++) {
        const char *topic, *key = ol_derived_key_of(k.mv_data, k.mv_size, &topic);
        assert_true(n < 4 && key && v.mv_size <= sizeof vals[0]);
        ol_key_init(&old[n]);
        ol_key_str(&old[n], topic);
        ol_key_str(&old[n], key);
        memcpy(vals[n], v.mv_data, v.mv_size);
        vlen[n] = v.mv_size;
    }
    mdb_cursor_close(c);
    assert_int_equal(n, 2);
    assert_int_equal(mdb_drop(txn, ol_store_dbi(&st, "derived"), 0), 0);
    /* and a row of a later week whose key sorts first in the old layout */
    ol_key_init(&old[n]);
    ol_key_str(&old[n], DERIVED);
    ol_key_str(&old[n], "PERSON|a|2026-W48");
    memcpy(vals[n], vals[0], vlen[0]);
    vlen[n] = vlen[0];
    n++;
    for (size_t i = 0; i < n; i++) {
        MDB_val kv = ol_key_val(&old[i]), vv = {vlen[i], vals[i]};
        assert_int_equal(mdb_put(txn, ol_store_dbi(&st, "derived"), &kv, &vv, 0), 0);
    }
    MDB_val mk = {strlen("derived_layout"), "derived_layout"};
    assert_int_equal(mdb_del(txn, ol_store_dbi(&st, "meta"), &mk, NULL), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    ol_store_close(&st);
    /* a reader of the old layout is told what to do, not shown nothing */
    assert_int_equal(ol_store_open(&st, f->db, 1 << 24, OL_STORE_RDONLY, dbs, err, sizeof err), 0);
    assert_int_equal(mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn), 0);
    err[0] = '\0';
    assert_int_equal(ol_derived_readable(&st, txn, err, sizeof err), -1);
    assert_non_null(strstr(err, "start the service once"));
    mdb_txn_abort(txn);
    ol_store_close(&st);

    f->rt = rt_open(f, &toy_emit_service);
    assert_int_equal(mdb_txn_begin(ol_runtime_store(f->rt)->env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(ol_derived_readable(ol_runtime_store(f->rt), txn, err, sizeof err), 0); /* upgraded */
    mdb_txn_abort(txn);
    derived_get(f, d, "p-1", &rev, eid, sizeof eid, &cap);
    assert_int_equal(rev, 1);
    assert_int_equal(cap, 2250);
    assert_int_equal(db_rows(f->rt, "derived"), 3);
    char order[256] = "";
    ol_store *rs = ol_runtime_store(f->rt);
    assert_int_equal(mdb_txn_begin(rs->env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_cursor_open(txn, ol_store_dbi(rs, "derived"), &c), 0);
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        const char *key = ol_derived_key_of(k.mv_data, k.mv_size, NULL);
        assert_non_null(key);
        snprintf(order + strlen(order), sizeof order - strlen(order), "%s ", key);
    }
    mdb_cursor_close(c);
    mdb_txn_abort(txn);
    assert_string_equal(order, "PERSON|p-1|2026-W47 PERSON|p-2|2026-W47 PERSON|a|2026-W48 "); /* week first */
    g_toy.nemits = 0;
    int from = f->nrecs;
    const person a2 = {"d-3", "p-1", "Ada L.", 2, 2250, 0}, b2 = {"d-4", "p-2", "Bob", 2, 2000, 0};
    add_person(f, 0, 2, &a2); /* same figures: found under the new key, not re-emitted */
    add_person(f, 0, 3, &b2); /* changed: revision 2 */
    fold_from(f, from);
    assert_int_equal(counter(f->rt, "emitted"), 3);
    derived_get(f, d, "p-2", &rev, eid, sizeof eid, &cap);
    assert_int_equal(rev, 2);
    assert_int_equal(cap, 2000);
    assert_int_equal(db_rows(f->rt, "derived"), 3);
    ol_decoder_free(d);
}

#define KILL_ROWS 40000

static void kill_row(int i, char *key, size_t kl, uint8_t *val, size_t vl)
{
    snprintf(key, kl, "PERSON|p-%05d|2026-W%02d", i % 5000, 1 + i / 5000);
    for (size_t j = 0; j < vl; j++)
        val[j] = (uint8_t)(i * 31 + (int)j);
}

/* issue 15: a service killed while it rewrites an old directory's derived
 * rows (one transaction) leaves the old layout whole; the next start
 * rewrites it and every row is there, under its new key, in the new order */
static void test_kill_during_derived_migration(void **state)
{
    fix *f = *state;
    static const char *const dbs[] = {OL_RT_DBS, "toy", NULL};
    ol_store st;
    MDB_txn *txn;
    char err[512], key[64];
    uint8_t val[200];
    assert_int_equal(ol_store_open(&st, f->db, 1 << 28, 0, dbs, err, sizeof err), 0);
    assert_int_equal(mdb_txn_begin(st.env, NULL, 0, &txn), 0);
    for (int i = 0; i < KILL_ROWS; i++) {
        ol_key k;
        kill_row(i, key, sizeof key, val, sizeof val);
        ol_key_init(&k);
        ol_key_str(&k, DERIVED);
        ol_key_str(&k, key);
        MDB_val kv = ol_key_val(&k), vv = {sizeof val, val};
        assert_int_equal(mdb_put(txn, ol_store_dbi(&st, "derived"), &kv, &vv, 0), 0);
    }
    assert_int_equal(mdb_txn_commit(txn), 0);
    ol_store_close(&st);
    size_t len;
    uint8_t *old = tu_data_read(f->db, &len);

    /* -1: no kill, the start runs to its end (the rewrite committed) */
    static const int delays_us[] = {0, 1000, 3000, 6000, 10000, 15000, 25000, 40000, 70000, 150000, 300000, -1};
    int killed_before_commit = 0;
    for (size_t d = 0; d < sizeof delays_us / sizeof delays_us[0]; d++) {
        tu_data_restore(f->db, old, len);
        int go[2];
        assert_int_equal(pipe(go), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) { /* the service starting on the old directory */
            close(go[0]);
            char one = 1;
            if (write(go[1], &one, 1) != 1)
                _exit(3);
            char e2[512];
            ol_runtime_opts opts = {.db_path = f->db, .publish = 0};
            ol_runtime *rt = ol_runtime_new(&toy_emit_service, &f->cfg, g_all, &opts, e2, sizeof e2);
            ol_runtime_free(rt);
            _exit(rt ? 0 : 2);
        }
        close(go[1]);
        char one;
        assert_int_equal(read(go[0], &one, 1), 1);
        close(go[0]);
        if (delays_us[d] >= 0) {
            usleep((useconds_t)delays_us[d]);
            kill(pid, SIGKILL);
        }
        int ws;
        assert_int_equal(waitpid(pid, &ws, 0), pid);
        if (delays_us[d] < 0) { /* the whole start: exit 0, the new layout */
            assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
        }
        /* what the kill left: the old layout whole, or the new one whole */
        int64_t layout = -1;
        assert_int_equal(ol_store_open(&st, f->db, 1 << 28, OL_STORE_RDONLY, dbs, err, sizeof err), 0);
        assert_int_equal(mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn), 0);
        assert_int_equal(ol_meta_get_i64(txn, ol_store_dbi(&st, "meta"), "derived_layout", &layout), 0);
        MDB_stat ms;
        assert_int_equal(mdb_stat(txn, ol_store_dbi(&st, "derived"), &ms), 0);
        assert_int_equal(ms.ms_entries, KILL_ROWS);
        mdb_txn_abort(txn);
        ol_store_close(&st);
        if (WIFSIGNALED(ws) && layout != 2)
            killed_before_commit++;
        if (delays_us[d] < 0)
            assert_int_equal(layout, 2);

        /* the next start: every row under its new key, week first, values kept */
        f->rt = rt_open(f, &toy_emit_service);
        ol_store *rs = ol_runtime_store(f->rt);
        MDB_cursor *c;
        MDB_val k, v;
        int n = 0, prev_week = 0;
        assert_int_equal(mdb_txn_begin(rs->env, NULL, MDB_RDONLY, &txn), 0);
        assert_int_equal(mdb_cursor_open(txn, ol_store_dbi(rs, "derived"), &c), 0);
        for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            const char *dk = ol_derived_key_of(k.mv_data, k.mv_size, NULL);
            int p, w;
            assert_non_null(dk);
            assert_int_equal(sscanf(dk, "PERSON|p-%d|2026-W%d", &p, &w), 2);
            assert_true(w >= prev_week);
            prev_week = w;
            kill_row((w - 1) * 5000 + p, key, sizeof key, val, sizeof val);
            assert_string_equal(dk, key);
            assert_int_equal(v.mv_size, sizeof val);
            assert_memory_equal(v.mv_data, val, sizeof val);
            n++;
        }
        mdb_cursor_close(c);
        mdb_txn_abort(txn);
        assert_int_equal(n, KILL_ROWS);
        ol_runtime_free(f->rt);
        f->rt = NULL;
    }
    free(old);
    assert_true(killed_before_commit > 0); /* some kill landed before the rewrite committed */
}

/* SPEC 2: the id of an entity's stored version is a duplicate "always",
 * also long after the dedupe window: it never reaches history() again (a
 * risk register would list the version twice) */
static void test_stored_version_always_duplicate(void **state)
{
    fix *f = *state;
    const person a = {"e-1", "p-1", "A", 1, 0, 0}, b = {"e-2", "p-2", "B", 1, 0, 0};
    f->rt = rt_open(f, &toy_history_service);
    g_occurred_at = T0;
    add_person(f, 0, 0, &a);
    g_occurred_at = T0 + 100 * DAY_MS; /* data time 100 days on: e-1 left the window */
    add_person(f, 0, 1, &b);
    fold_from(f, 0);
    assert_int_equal(g_toy.histories, 2);
    int from = f->nrecs;
    g_occurred_at = T0;
    add_person(f, 0, 2, &a); /* p-1's stored version, re-delivered */
    fold_from(f, from);
    assert_int_equal(g_toy.histories, 2);
    assert_int_equal(counter(f->rt, "duplicates"), 1);
    rt_reopen(f, &toy_history_service); /* and after a restart */
    from = f->nrecs;
    add_person(f, 0, 3, &a);
    fold_from(f, from);
    assert_int_equal(g_toy.histories, 2);
    assert_int_equal(counter(f->rt, "duplicates"), 2);
}

static void copy_file(const char *from, const char *to)
{
    char buf[65536];
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    assert_non_null(in);
    assert_non_null(out);
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    fclose(out);
}

/* the pair of snapshot files (index.snapshot and index.snapshot.alt) of
 * db copied to (or from, back) dir/<tag>.0 and .1; an absent file is
 * copied as absent */
static void snap_pair_copy(const char *db, const char *dir, const char *tag, int back)
{
    for (int i = 0; i < 2; i++) {
        char live[400], kept[400];
        struct stat sb;
        snprintf(live, sizeof live, "%s/index.snapshot%s", db, i ? ".alt" : "");
        snprintf(kept, sizeof kept, "%s/%s.%d", dir, tag, i);
        const char *from = back ? kept : live, *to = back ? live : kept;
        unlink(to);
        if (stat(from, &sb) == 0)
            copy_file(from, to);
    }
}

/* the newer of the pair (by its header's next_seq, the third word) */
static void snap_newest(const char *db, char *out, size_t n)
{
    uint64_t best = 0;
    snprintf(out, n, "%s/index.snapshot", db);
    for (int i = 0; i < 2; i++) {
        char p[400];
        uint64_t head[3] = {0, 0, 0};
        snprintf(p, sizeof p, "%s/index.snapshot%s", db, i ? ".alt" : "");
        FILE *f = fopen(p, "rb");
        if (f) {
            if (fread(head, sizeof head, 1, f) != 1)
                head[2] = 0;
            fclose(f);
        }
        if (head[2] > best)
            best = head[2], snprintf(out, n, "%s", p);
    }
}

/* issue 15: the indexes are written to a pair of files, <dir>/index.snapshot
 * and .alt (the older of the two each time), at a clean stop and every
 * index_snapshot_rows log rows; a start adopts the newer one that the log
 * still holds the last row of (else the older), then indexes the rows
 * committed after it (a crash after a periodic snapshot). One that does not
 * check out is ignored and removed: it is never trusted over the log. */
/* a fresh runtime folds a and b (offsets 0 and 1) and stops cleanly
 * (which writes the index snapshot) */
static void fold_two_and_stop(fix *f, const person *a, const person *b)
{
    f->rt = rt_open(f, &toy_service);
    add_person(f, 0, 0, a);
    add_person(f, 0, 1, b);
    fold_from(f, 0);
    ol_runtime_free(f->rt);
    f->rt = NULL;
}

/* 2026-12-02: the chain's hash has four lanes, so a directory written
 * before records a value under the old key ("log_chain") that the new
 * hash cannot reproduce, and an index snapshot of the old format. The
 * start reads the whole log, records the chain under "log_chain2",
 * removes the old key (status would print it), and a duplicate is still
 * one; the next start adopts the snapshot the clean stop wrote. */
static void test_chain_key_upgraded(void **state)
{
    fix *f = *state;
    static const char *const dbs[] = {OL_RT_DBS, "toy", NULL};
    const person a = {"e-1", "p-1", "A", 1, 0, 0}, b = {"e-2", "p-2", "B", 1, 0, 0};
    char err[512], snap[400];
    ol_store st;
    MDB_txn *txn;
    int64_t chain, old;
    fold_two_and_stop(f, &a, &b);
    /* what a build of 2026-12-02 or earlier left: the old key, the old snapshot format */
    assert_int_equal(ol_store_open(&st, f->db, 1 << 24, 0, dbs, err, sizeof err), 0);
    assert_int_equal(mdb_txn_begin(st.env, NULL, 0, &txn), 0);
    MDB_dbi meta = ol_store_dbi(&st, "meta");
    assert_int_equal(ol_meta_get_i64(txn, meta, "log_chain2", &chain), 0);
    MDB_val nk = {strlen("log_chain2"), "log_chain2"};
    assert_int_equal(mdb_del(txn, meta, &nk, NULL), 0);
    assert_int_equal(ol_meta_put_i64(txn, meta, "log_chain", 0x5eed), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    ol_store_close(&st);
    for (int i = 0; i < 2; i++) {
        snprintf(snap, sizeof snap, "%s/index.snapshot%s", f->db, i ? ".alt" : "");
        FILE *g = fopen(snap, "r+b");
        if (!g)
            continue;
        fseek(g, 7, SEEK_SET);
        fputc(4, g); /* the format before the four lanes */
        fclose(g);
    }

    f->rt = rt_open(f, &toy_service);
    int from = f->nrecs;
    add_person(f, 0, 2, &a); /* e-1 again: a duplicate */
    fold_from(f, from);
    assert_int_equal(counter(f->rt, "duplicates"), 1);
    assert_int_equal(g_toy.applies, 2);
    ol_store *rs = ol_runtime_store(f->rt);
    MDB_val ok = {strlen("log_chain"), "log_chain"}, v;
    assert_int_equal(mdb_txn_begin(rs->env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_get(txn, ol_store_dbi(rs, "meta"), &nk, &v), 0);
    assert_int_equal(mdb_get(txn, ol_store_dbi(rs, "meta"), &ok, &v), MDB_NOTFOUND);
    assert_int_equal(ol_meta_get_i64(txn, ol_store_dbi(rs, "meta"), "log_chain2", &old), 0);
    mdb_txn_abort(txn);
    assert_true(old != 0);
    assert_true(old == chain); /* recorded anew: the same log (a duplicate appends nothing), the same chain */
    ol_runtime_free(f->rt);
    f->rt = NULL;
    /* the clean stop wrote the new format, and the next start adopts it */
    snap_newest(f->db, snap, sizeof snap);
    FILE *g = fopen(snap, "rb");
    assert_non_null(g);
    fseek(g, 7, SEEK_SET);
    assert_int_equal(fgetc(g), 5);
    fclose(g);
    f->rt = rt_open(f, &toy_service);
    struct stat sb;
    assert_int_equal(stat(snap, &sb), 0); /* adopted: a refused snapshot is removed at the load */
    from = f->nrecs;
    add_person(f, 0, 3, &b); /* e-2 again */
    fold_from(f, from);
    assert_int_equal(counter(f->rt, "duplicates"), 2);
    assert_int_equal(g_toy.applies, 2);
}

static void test_index_snapshot(void **state)
{
    fix *f = *state;
    char snap[400], alt[400], newest[400];
    struct stat sb;
    const person a = {"e-1", "p-1", "A", 1, 0, 0}, b = {"e-2", "p-2", "B", 1, 0, 0};
    const person c = {"e-3", "p-3", "C", 1, 0, 0}, d = {"e-4", "p-4", "D", 1, 0, 0};
    const person b2 = {"e-5", "p-2", "B", 2, 0, 0};
    snprintf(snap, sizeof snap, "%s/index.snapshot", f->db);
    snprintf(alt, sizeof alt, "%s/index.snapshot.alt", f->db);
    fold_two_and_stop(f, &a, &b);
    assert_int_equal(stat(snap, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    snap_pair_copy(f->db, f->dir, "old", 0);
    f->rt = rt_open(f, &toy_service); /* loads it and keeps it: the log only grows */
    assert_int_equal(stat(snap, &sb), 0);
    int from = f->nrecs;
    add_person(f, 0, 2, &a); /* a duplicate through the loaded index */
    add_person(f, 0, 3, &c);
    fold_from(f, from);
    assert_int_equal(counter(f->rt, "duplicates"), 1);
    assert_int_equal(g_toy.applies, 3);
    ol_runtime_free(f->rt);
    f->rt = NULL;
    /* the clean stop wrote the other file: the first stays whole */
    assert_int_equal(stat(alt, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    snap_newest(f->db, newest, sizeof newest);
    assert_string_equal(newest, alt);

    /* the pair from before e-3, put back (as a crash after a periodic
     * snapshot leaves it): adopted, and e-3's row after it is indexed too */
    snap_pair_copy(f->db, f->dir, "old", 1);
    f->rt = rt_open(f, &toy_service);
    from = f->nrecs;
    add_person(f, 0, 4, &c); /* e-3 is known: a duplicate, not folded again */
    fold_from(f, from);
    assert_int_equal(counter(f->rt, "duplicates"), 2);
    assert_int_equal(g_toy.applies, 3);

    /* the newer one damaged: ignored and removed at the start, the older adopted */
    ol_runtime_free(f->rt);
    f->rt = NULL;
    assert_int_equal(stat(snap, &sb) == 0 && stat(alt, &sb) == 0, 1);
    snap_newest(f->db, newest, sizeof newest);
    FILE *g = fopen(newest, "r+b");
    assert_non_null(g);
    fseek(g, 100, SEEK_SET);
    fputc(0x7f, g);
    fclose(g);
    f->rt = rt_open(f, &toy_service);
    assert_int_equal(stat(newest, &sb), -1);
    from = f->nrecs;
    add_person(f, 0, 5, &b);
    fold_from(f, from);
    assert_int_equal(counter(f->rt, "duplicates"), 3);
    assert_int_equal(g_toy.applies, 3);

    /* index_snapshot_rows: written after a batch that reaches the period,
     * without a stop; a crash after it (the files as the batch left them)
     * is followed by a start that indexes the later rows */
    ol_runtime_free(f->rt);
    f->rt = NULL;
    unlink(snap);
    unlink(alt);
    ol_config_set(&f->cfg, "index_snapshot_rows", "1");
    f->rt = rt_open(f, &toy_service);
    from = f->nrecs;
    add_person(f, 0, 6, &d);
    fold_from(f, from);
    assert_int_equal(stat(snap, &sb), 0); /* written by the batch */
    assert_int_equal(sb.st_mode & 0777, 0600);
    snap_pair_copy(f->db, f->dir, "crash", 0);
    from = f->nrecs;
    add_person(f, 0, 7, &b2); /* a new version of p-2, after the copy */
    fold_from(f, from);
    assert_int_equal(g_toy.applies, 5);
    ol_runtime_free(f->rt);
    f->rt = NULL;
    snap_pair_copy(f->db, f->dir, "crash", 1); /* the crash */
    f->rt = rt_open(f, &toy_service);
    from = f->nrecs;
    add_person(f, 0, 8, &b2); /* p-2's stored version is e-5: a duplicate */
    add_person(f, 0, 9, &b);  /* revision 1 of p-2, older than the stored one: e-2 is seen anyway */
    add_person(f, 0, 10, &d);
    fold_from(f, from);
    assert_int_equal(counter(f->rt, "duplicates"), 6);
    assert_int_equal(g_toy.applies, 5);

    ol_config_set(&f->cfg, "index_snapshot_rows", "-1");
    char err[512] = "";
    ol_runtime_opts opts = {.db_path = f->db, .publish = 0};
    ol_runtime_free(f->rt);
    f->rt = NULL;
    assert_null(ol_runtime_new(&toy_service, &f->cfg, g_all, &opts, err, sizeof err));
    assert_non_null(strstr(err, "index_snapshot_rows"));
    ol_config_set(&f->cfg, "index_snapshot_rows", "0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_person_frames_validate),
        cmocka_unit_test_setup_teardown(test_duplicate_event_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_highest_revision_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conflict_larger_event_id_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_records_dead_lettered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offsets_survive_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_mid_batch_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_emit_revisions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_ids_dead_lettered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fold_error_is_dead_letter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_fault_aborts_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fold_failing_everything_stops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nul_in_strings_dead_lettered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_utf8_dead_lettered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_separator_in_ids_dead_lettered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_huge_dead_letter_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_directory_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_instance_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flush_with_nothing_dirty, setup, teardown),
        cmocka_unit_test(test_derived_event_id),
        cmocka_unit_test_setup_teardown(test_dedupe_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrates_entity_database, setup, teardown),
        cmocka_unit_test(test_derived_key_locality),
        cmocka_unit_test_setup_teardown(test_migrates_derived_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill_during_derived_migration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stored_version_always_duplicate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_key_upgraded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_path_follows_backlog, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
