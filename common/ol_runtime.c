/* ol_runtime — the batch fold and the run loop (see ol_runtime.h).
 *
 * One batch = one LMDB write transaction holding: the entity versions that
 * won, the service's projection changes, the dirty-key recomputation, the
 * derived events and dead letters (in the outbox), the event_ids seen, the
 * counters and the next offset of every partition touched. A crash before
 * mdb_txn_commit leaves none of it; after, all of it. */
#include "ol_runtime_int.h"
#include "ol_registry_rt.h"
#include "ol_av.h"
#include "ol_json.h"
#include "ol_log.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *const ol_rt_counter_names[C_N] = {
    "records", "folded", "duplicates", "stale", "conflicts", "deadletters", "emitted", "batches",
};

static const char *const rt_dbs[] = {OL_RT_DBS};


/* A data directory written before the version log kept the latest version
 * of every entity in an `entity` B-tree (and event_ids in `seen`): its rows
 * become the log's first rows (occurred_at unknown: seen for good, as the old
 * seen set had them) and the two databases are dropped, in one transaction. */
static int migrate_entity_db(ol_runtime *rt, char *err, size_t errlen)
{
    MDB_txn *txn;
    MDB_dbi old, seen;
    MDB_cursor *c = NULL;
    MDB_val k, v;
    MDB_stat ms;
    size_t n = 0;
    int rc;
    if (rt->store.readonly)
        return 0;
    if ((rc = mdb_txn_begin(rt->store.env, NULL, 0, &txn)))
        goto fail;
    rc = mdb_dbi_open(txn, "entity", 0, &old);
    if (rc == MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        return 0;
    }
    if (rc || (rc = mdb_stat(txn, rt->versions, &ms)))
        goto fail;
    if (ms.ms_entries) { /* migrated before: only the leftovers to drop */
        rc = MDB_INCOMPATIBLE;
        goto fail;
    }
    if ((rc = mdb_cursor_open(txn, old, &c)))
        goto fail;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        const char *topic = k.mv_data, *id = topic + strnlen(topic, k.mv_size) + 1;
        const uint8_t *p = v.mv_data;
        char eid[OL_STATE_MAX_ID + 1];
        size_t el = v.mv_size >= 10 ? ((size_t)p[8] << 8) | p[9] : SIZE_MAX;
        if (el > OL_STATE_MAX_ID || 10 + el > v.mv_size || (const char *)id >= topic + k.mv_size) {
            rc = MDB_CORRUPTED;
            goto fail;
        }
        memcpy(eid, p + 10, el), eid[el] = '\0';
        if ((rc = ol_state_append(rt->state_idx, txn, 'V', topic, id, (int64_t)ol_be64(p), INT64_MIN, eid,
                                  p + 10 + el, v.mv_size - 10 - el)))
            goto fail;
        n++;
    }
    if (rc != MDB_NOTFOUND)
        goto fail;
    mdb_cursor_close(c);
    c = NULL;
    if ((rc = mdb_drop(txn, old, 1)))
        goto fail;
    if (mdb_dbi_open(txn, "seen", 0, &seen) == 0 && (rc = mdb_drop(txn, seen, 1)))
        goto fail;
    if ((rc = mdb_txn_commit(txn))) {
        txn = NULL;
        goto fail;
    }
    ol_state_invalidate(rt->state_idx, INT64_MIN); /* before the data time is read: the window is not set yet */
    ol_info("migrated the entity database into the version log|db=%s entities=%zu", rt->store.path, n);
    return 0;
fail:
    if (c)
        mdb_cursor_close(c);
    if (txn)
        mdb_txn_abort(txn);
    ol_state_invalidate(rt->state_idx, INT64_MIN); /* before the data time is read: the window is not set yet */
    snprintf(err, errlen, "%s: migrating the entity database into the version log: %s", rt->store.path,
             mdb_strerror(rc));
    return -1;
}

ol_runtime *ol_runtime_new(const ol_service *svc, const ol_config *cfg, const ol_schemas *schemas,
                           const ol_runtime_opts *opts, char *err, size_t errlen)
{
    const char *dbs[OL_STORE_MAX_DBS + 1];
    size_t nd = 0;
    int64_t map_bytes;
    MDB_txn *txn = NULL;
    int rc;
    ol_runtime *rt = calloc(1, sizeof *rt);

    if (!rt) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    rt->svc = svc;
    rt->cfg = cfg;
    rt->schemas = schemas;
    rt->opts = *opts;
    if (rt->opts.batch_max <= 0)
        rt->opts.batch_max = 50000;
    if (rt->opts.poll_timeout_ms <= 0)
        rt->opts.poll_timeout_ms = 100;
    if (ol_config_get_i64(cfg, "map_size", svc->map_size ? svc->map_size : 16LL << 30, &map_bytes, err, errlen))
        goto fail;

    for (size_t i = 0; i < sizeof rt_dbs / sizeof rt_dbs[0]; i++)
        dbs[nd++] = rt_dbs[i];
    for (size_t i = 0; svc->dbs && svc->dbs[i] && nd < OL_STORE_MAX_DBS; i++)
        dbs[nd++] = svc->dbs[i];
    dbs[nd] = NULL;
    /* lmdb_writemap: 0 pwrite, 1 MDB_WRITEMAP, auto (the default) pwrite
     * while caught up and MDB_WRITEMAP while a backlog of at least
     * lmdb_writemap_backlog records is folded (switch_write_path) */
    const char *wm = ol_config_get(cfg, "lmdb_writemap", "auto");
    int writemap = !strcmp(wm, "1");
    if (!strcmp(wm, "auto"))
        rt->writemap_auto = !opts->bulk;
    else if (!writemap && strcmp(wm, "0")) {
        snprintf(err, errlen, "lmdb_writemap must be auto, 0 or 1, not \"%s\"", wm);
        goto fail;
    }
    if (ol_config_get_i64(cfg, "lmdb_writemap_backlog", 2LL * rt->opts.batch_max, &rt->writemap_backlog, err,
                          errlen))
        goto fail;
    if (rt->writemap_backlog <= rt->opts.batch_max) { /* at or under batch_max the switch would flap */
        snprintf(err, errlen, "lmdb_writemap_backlog must be more than batch_max (%d records), not %lld",
                 rt->opts.batch_max, (long long)rt->writemap_backlog);
        goto fail;
    }
    if (ol_rt_peek_owner(svc, opts->db_path, err, errlen)) /* before opening creates this service's databases */
        goto fail;
    if (ol_store_open(&rt->store, opts->db_path, (size_t)map_bytes,
                      opts->bulk ? OL_STORE_BULK : writemap ? OL_STORE_WRITEMAP : 0, dbs, err, errlen))
        goto fail;
    int64_t reserve_mib; /* disk blocks allocated ahead of a writemap batch (common/ol_store_reserve.c) */
    if (ol_config_get_i64(cfg, "lmdb_reserve_mib", 16, &reserve_mib, err, errlen))
        goto fail;
    if (reserve_mib < 0 || reserve_mib > 1024) {
        snprintf(err, errlen, "lmdb_reserve_mib must be 0 to 1024 (MiB), not %lld", (long long)reserve_mib);
        goto fail;
    }
    rt->store.reserve_min = (size_t)reserve_mib << 20;
    const char *pf = ol_config_get(cfg, "lmdb_prefault", "1"); /* common/ol_store_prefault.c */
    if (strcmp(pf, "0") && strcmp(pf, "1")) {
        snprintf(err, errlen, "lmdb_prefault must be 0 or 1, not \"%s\"", pf);
        goto fail;
    }
    rt->store.prefault_off = !strcmp(pf, "0");
    rt->meta = ol_store_dbi(&rt->store, "meta");
    rt->versions = ol_store_dbi(&rt->store, "versions");
    if (ol_rt_check_owner(rt, svc, opts->db_path, err, errlen)) /* before anything rewrites the directory */
        goto fail;
    int64_t window_days;
    if (ol_config_get_i64(cfg, "dedupe_window_days", 35, &window_days, err, errlen))
        goto fail;
    if (window_days < 1 || window_days > 36500) {
        snprintf(err, errlen, "dedupe_window_days must be 1..36500, got %lld", (long long)window_days);
        goto fail;
    }
    rt->dedupe_window_ms = window_days * 86400000LL;
    int64_t snapshot_rows; /* common/ol_state_snapshot.c: a crash restart indexes only the rows after it */
    if (ol_config_get_i64(cfg, "index_snapshot_rows", 2000000, &snapshot_rows, err, errlen))
        goto fail;
    if (snapshot_rows < 0) {
        snprintf(err, errlen, "index_snapshot_rows must be 0 (at a clean stop only) or a number of log rows, not %lld",
                 (long long)snapshot_rows);
        goto fail;
    }
    rt->snapshot_rows = (uint64_t)snapshot_rows;
    if (!(rt->state_idx = ol_state_new(rt->versions, rt->dedupe_window_ms))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (migrate_entity_db(rt, err, errlen))
        goto fail;
    rt->derived = ol_store_dbi(&rt->store, "derived");
    if (ol_derived_migrate(rt, err, errlen))
        goto fail;
    rt->outbox = ol_store_dbi(&rt->store, "outbox");
    rt->batches = ol_store_dbi(&rt->store, "batches");

    for (size_t i = 0; svc->inputs[i]; i++) {
        struct topic_io *t = &rt->in[rt->nin];
        if (rt->nin == OL_MAX_TOPICS) {
            snprintf(err, errlen, "too many input topics");
            goto fail;
        }
        t->topic = svc->inputs[i];
        t->schema = ol_schemas_for_topic(schemas, t->topic);
        if (!t->schema) {
            snprintf(err, errlen, "no schema for input topic %s in %s", t->topic, schemas->dir);
            goto fail;
        }
        t->dec = ol_decoder_new(schemas, t->schema);
        t->old = ol_decoder_new(schemas, t->schema);
        t->lookup = ol_decoder_new(schemas, t->schema);
        rt->nin++;
        if (!t->dec || !t->old || !t->lookup) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }
    for (size_t i = 0; svc->outputs && svc->outputs[i]; i++) {
        struct derived_io *d = &rt->out[rt->nout];
        if (rt->nout == OL_MAX_TOPICS) {
            snprintf(err, errlen, "too many output topics");
            goto fail;
        }
        d->topic = svc->outputs[i];
        d->schema = ol_schemas_for_topic(schemas, d->topic);
        if (!d->schema) {
            snprintf(err, errlen, "no schema for derived topic %s in %s", d->topic, schemas->dir);
            goto fail;
        }
        if (avro_generic_value_new(d->schema->iface, &d->fresh)) {
            snprintf(err, errlen, "avro: %s", avro_strerror());
            goto fail;
        }
        d->prev = ol_decoder_new(schemas, d->schema);
        d->envelope_first = ol_fold_envelope_first(d->schema);
        rt->nout++;
        if (ol_fold_content_mask(d->schema, &d->not_content, &d->nfields)) {
            snprintf(err, errlen, "derived topic %s: schema is not a record, or out of memory", d->topic);
            goto fail;
        }
        if (!d->prev) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }

    /* schema_registry.url: writer schemas by registry id, start-up checks (ol_registry_rt.c) */
    if (ol_registry_rt_open(rt, err, errlen))
        goto fail;

    /* restore persistent state: data time and the outbox sequence */
    if ((rc = mdb_txn_begin(rt->store.env, NULL, MDB_RDONLY, &txn))) {
        snprintf(err, errlen, "%s: %s", opts->db_path, mdb_strerror(rc));
        goto fail;
    }
    int64_t seq = 0;
    if ((rc = ol_meta_get_i64(txn, rt->meta, "data_time", &rt->data_time)) ||
        (rc = ol_meta_get_i64(txn, rt->meta, "outbox_seq", &seq))) {
        snprintf(err, errlen, "%s: meta: %s", opts->db_path, mdb_strerror(rc));
        goto fail;
    }
    /* the version log's indexes, built once here (their time is logged) */
    ol_state_set_window_start(rt->state_idx, ol_rt_window_start(rt, rt->data_time));
    char snap[4200], alt[4300], why[900] = "";
    snprintf(snap, sizeof snap, "%s/index.snapshot", opts->db_path);
    snprintf(alt, sizeof alt, "%s.alt", snap);
    /* a rebuild at 10 x N takes seconds: say it has begun */
    ol_info("indexing the version log|db=%s snapshot=%s", opts->db_path,
            access(snap, F_OK) && access(alt, F_OK) ? "absent" : "present");
    ol_state_use_chain(rt->state_idx, rt->meta);
    /* the newer of the pair, else the older; a refused one is removed */
    int loaded = ol_state_load_pair(rt->state_idx, txn, snap, why, sizeof why);
    if (!loaded && strcmp(why, "no snapshot"))
        ol_info("index snapshot not used; reading the version log|reason=\"%s\"", why);
    snprintf(alt, sizeof alt, "%s.tmp", snap);
    unlink(alt); /* left by a version that wrote a temporary file and renamed it */
    if ((rc = ol_state_ready(rt->state_idx, txn))) {
        snprintf(err, errlen, "%s: version log: %s", opts->db_path, mdb_strerror(rc));
        goto fail;
    }
    if (ol_state_use_snapshot(rt->state_idx, snap)) { /* an aborted batch reloads it (ol_state_ready) */
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    int recorded;
    rc = ol_state_chain_check(rt->state_idx, txn, &recorded);
    mdb_txn_abort(txn);
    txn = NULL;
    if (rc && rc != MDB_CORRUPTED) {
        snprintf(err, errlen, "%s: version log: %s", opts->db_path, mdb_strerror(rc));
        goto fail;
    }
    if (rc == MDB_CORRUPTED)
        ol_warn("the version log's chain is not the one recorded with it; recording the log's|db=%s", opts->db_path);
    if ((rc || !recorded) && !rt->store.readonly) { /* a store from before the chain, or one that lost its end */
        if ((rc = mdb_txn_begin(rt->store.env, NULL, 0, &txn)) == 0) {
            if ((rc = ol_state_record_chain(rt->state_idx, txn)) == 0)
                rc = mdb_txn_commit(txn);
            else
                mdb_txn_abort(txn);
            txn = NULL;
        }
        if (rc) {
            snprintf(err, errlen, "%s: recording the version log's chain: %s", opts->db_path, mdb_strerror(rc));
            goto fail;
        }
    }
    rt->outbox_seq = (uint64_t)seq;
    {
        size_t ne, nid, mem = ol_state_memory(rt->state_idx, &ne, &nid);
        ol_info("version log indexed|entities=%zu event_ids=%zu index_bytes=%zu build_ms=%.1f from=%s "
                "rows_after_snapshot=%llu",
                ne, nid, mem, (double)ol_state_build_us(rt->state_idx) / 1000, loaded ? "snapshot" : "log",
                (unsigned long long)ol_state_tail_rows(rt->state_idx));
    }

    if (svc->init && svc->init(rt, &rt->state)) {
        snprintf(err, errlen, "service %s failed to initialise", svc->name);
        goto fail;
    }
    if (rt->opts.publish && ol_outbox_start(rt, err, errlen))
        goto fail;
    return rt;
fail:
    if (txn)
        mdb_txn_abort(txn);
    ol_runtime_free(rt);
    return NULL;
}

void ol_runtime_free(ol_runtime *rt)
{
    if (!rt)
        return;
    if (rt->producer)
        ol_outbox_stop(rt, 10000);
    if (rt->svc->fini && rt->state)
        rt->svc->fini(rt->state);
    for (size_t i = 0; i < rt->nin; i++) {
        ol_decoder_free(rt->in[i].dec);
        ol_decoder_free(rt->in[i].old);
        ol_decoder_free(rt->in[i].lookup);
        free(rt->in[i].lookup_frame);
    }
    for (size_t i = 0; i < rt->nout; i++) {
        avro_value_decref(&rt->out[i].fresh);
        ol_decoder_free(rt->out[i].prev);
        free(rt->out[i].not_content);
        ol_drec_free(rt->out[i].rec);
    }
    ol_rt_dirty_clear(rt);
    if (rt->state_idx && rt->store.env && !rt->store.readonly)
        ol_rt_save_index(rt, "a clean stop"); /* the next start indexes nothing after it */
    ol_state_free(rt->state_idx);
    free(rt->dirty);
    ol_arena_free(&rt->dirty_keys);
    free(rt->offs);
    free(rt->acked);
    ol_store_close(&rt->store);
    free(rt);
}

ol_store *ol_runtime_store(ol_runtime *rt) { return &rt->store; }
const ol_service *ol_runtime_service(ol_runtime *rt) { return rt->svc; }
const ol_config *ol_runtime_config(ol_runtime *rt) { return rt->cfg; }
void ol_runtime_stop(ol_runtime *rt) { rt->stop = 1; }
int ol_runtime_stopping(const ol_runtime *rt) { return rt->stop != 0; }

int64_t ol_runtime_offset(ol_runtime *rt, const char *topic, int32_t partition)
{
    MDB_txn *txn;
    int64_t next = 0;
    char name[300];
    MDB_val k, v;
    if (mdb_txn_begin(rt->store.env, NULL, MDB_RDONLY, &txn))
        return -1;
    snprintf(name, sizeof name, "offset/%s/%d", topic, partition);
    k.mv_size = strlen(name);
    k.mv_data = name;
    if (mdb_get(txn, rt->meta, &k, &v) == 0 && v.mv_size == 8)
        next = (int64_t)ol_be64(v.mv_data);
    else
        next = -1;
    mdb_txn_abort(txn);
    return next;
}

static ol_runtime *g_signal_rt;
static void on_signal(int sig)
{
    (void)sig;
    if (g_signal_rt)
        g_signal_rt->stop = 1;
}

void ol_runtime_handle_signals(ol_runtime *rt)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    g_signal_rt = rt;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes the version log's indexes to <dir>/index.snapshot
 * (common/ol_state_snapshot.c) in a read transaction that sees the last
 * commit; why names the occasion in the log. A failure is a warning: the
 * snapshot only saves a start time. */
void ol_rt_save_index(ol_runtime *rt, const char *why)
{
    char snap[4200];
    MDB_txn *txn;
    struct timespec t0, t1;
    int rc;
    snprintf(snap, sizeof snap, "%s/index.snapshot", rt->store.path);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if ((rc = mdb_txn_begin(rt->store.env, NULL, MDB_RDONLY, &txn)) == 0) {
        rc = ol_state_save_pair(rt->state_idx, txn, snap); /* the older of index.snapshot and .alt */
        mdb_txn_abort(txn);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc == EAGAIN)
        ol_info("index snapshot not written: the indexes are rebuilt at their next use|reason=\"%s\"", why);
    else if (rc)
        ol_warn("cannot write the index snapshot; a start reads more of the log|path=%s error=\"%s\"", snap,
                mdb_strerror(rc));
    else
        ol_info("index snapshot written|reason=\"%s\" save_ms=%.1f", why,
                (double)((t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec)) / 1e6);
}

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Returns the heap's free pages to the system (glibc's malloc_trim walks
 * every arena and madvises the whole free pages away). A catch-up's large
 * batches (a batch that opens the reporting window emits hundreds of
 * thousands of derived events) leave tens of MiB free in the heap, which
 * glibc keeps: utilisation from offset 0 over 2 M records peaked at
 * 212-256 MiB of anonymous memory without it and 173-196 with it, at the
 * same speed (tests/bench/README.md). It costs ~20 ms (up to ~75 ms) on a
 * catch-up's heap, so it runs only while writing through the map (a
 * catch-up or a replay, at most once a second or every
 * OL_RELEASE_EVERY_BULK records) and once when a catch-up ends, not on
 * the pwrite path that live batches take by default, whose latency it
 * would add to (with lmdb_writemap=1 the operator chose the map live).
 * A trim at a release tick counts in the batch's commit time, as the
 * release of the map's pages does. */
static void trim_heap(void)
{
    (void)malloc_trim(0); /* 1 released, 0 nothing to release: either is fine */
}

void ol_rt_release_tick(ol_runtime *rt, uint64_t n)
{
    rt->since_release += n;
    if (rt->since_release < (rt->store.bulk ? OL_RELEASE_EVERY_BULK : OL_RELEASE_EVERY))
        return;
    rt->since_release = 0;
    int64_t now = rt->store.bulk ? 0 : mono_us();
    if (!rt->store.bulk && now - rt->released_us < OL_RELEASE_INTERVAL_US)
        return;
    ol_store_release(&rt->store);
    if (rt->store.writemap)
        trim_heap();
    rt->released_us = now;
}

void ol_rt_dirty_clear(ol_runtime *rt)
{
    ol_arena_reset(&rt->dirty_keys);
    rt->ndirty = 0;
}

/* appends this batch's row to the batch log (see OL_RT_DBS in ol_runtime.h) */
static int log_batch(ol_runtime *rt, MDB_txn *txn)
{
    int64_t number;
    int rc = ol_meta_get_i64(txn, rt->meta, "batch_log", &number);
    if (rc)
        return rc;
    size_t size = 12;
    for (size_t i = 0; i < rt->noffs; i++)
        size += 2 + strlen(rt->offs[i].topic) + 4 + 16;
    uint8_t kb[8];
    ol_put_be64(kb, (uint64_t)number + 1);
    MDB_val k = {8, kb}, v = {size, NULL};
    if ((rc = mdb_put(txn, rt->batches, &k, &v, MDB_RESERVE | MDB_APPEND)))
        return rc;
    uint8_t *p = v.mv_data;
    ol_put_be64(p, (uint64_t)rt->batch_max_ts);
    ol_put_be32(p + 8, (uint32_t)rt->noffs);
    p += 12;
    for (size_t i = 0; i < rt->noffs; i++) {
        size_t tl = strlen(rt->offs[i].topic);
        p[0] = (uint8_t)(tl >> 8), p[1] = (uint8_t)tl;
        memcpy(p + 2, rt->offs[i].topic, tl);
        p += 2 + tl;
        ol_put_be32(p, (uint32_t)rt->offs[i].partition);
        ol_put_be64(p + 4, (uint64_t)rt->offs[i].first);
        ol_put_be64(p + 12, (uint64_t)(rt->offs[i].next - 1));
        p += 20;
    }
    return ol_meta_put_i64(txn, rt->meta, "batch_log", number + 1);
}

/* The reason a record that failed in the fold becomes a dead letter. */
static void fold_failure_reason(const ol_runtime *rt, int rc, char *buf, size_t len)
{
    if (rc == -1)
        snprintf(buf, len, "fold: service %s could not fold this record (its log says why)", rt->svc->name);
    else if (rc == MDB_BAD_VALSIZE)
        snprintf(buf, len,
                 "fold: service %s could not store this record: a key over LMDB's limit of %d bytes (%s)",
                 rt->svc->name, mdb_env_get_maxkeysize(rt->store.env), mdb_strerror(rc));
    else
        snprintf(buf, len, "fold: service %s could not store this record: %s", rt->svc->name, mdb_strerror(rc));
}

/* the records of the batch being folded that an earlier attempt failed on */
struct poison {
    int index;
    char reason[300];
};

static const char *poisoned(const struct poison *p, int np, int index)
{
    for (int i = 0; i < np; i++)
        if (p[i].index == index)
            return p[i].reason;
    return NULL;
}

int ol_runtime_fold_batch(ol_runtime *rt, const ol_record *recs, int n)
{
    ol_fold_ctx ctx = {rt, NULL, NULL};
    int64_t t_begin = mono_us(), t_fold = 0, t_flush = 0, t_commit, wall_begin_ms = wall_ms();
    int64_t saved_time = rt->data_time;
    uint64_t saved_seq = rt->outbox_seq;
    int64_t before[C_N];
    struct poison poison[OL_MAX_POISON];
    int npoison = 0, failed_at;
    int rc;

    if (ol_registry_rt_prefetch(rt, recs, n)) /* waits while the schema registry is down */
        return -1;
    memcpy(before, rt->counters, sizeof before);
again:
    failed_at = -1;
    ol_metrics_batch_begin(rt->metrics);
    rt->noffs = 0;
    ctx.derived_c = NULL; /* LMDB freed it with the failed attempt's transaction */
    if ((rc = ol_store_reserve(&rt->store)) || (rc = mdb_txn_begin(rt->store.env, NULL, 0, &ctx.txn))) {
        char why[300];
        ol_error("cannot begin a write transaction|db=%s error=\"%s\"", rt->store.path,
                 ol_store_strerror(&rt->store, rc, why, sizeof why));
        return -1;
    }
    if ((rc = ol_outbox_delete_acked(rt, ctx.txn)))
        goto fail;
    rt->batch_max_ts = INT64_MIN;
    int64_t min_ts = INT64_MAX; /* for the debug line: how long the oldest record waited to be folded */
    for (int i = 0; i < n; i++) {
        if (recs[i].timestamp_ms > rt->batch_max_ts)
            rt->batch_max_ts = recs[i].timestamp_ms;
        if (recs[i].timestamp_ms < min_ts)
            min_ts = recs[i].timestamp_ms;
        if ((rc = ol_rt_fold_one(rt, &ctx, &recs[i], poisoned(poison, npoison, i)))) {
            failed_at = i;
            goto fail;
        }
        ol_rt_release_tick(rt, 1);
        if ((rc = ol_rt_note_offset(rt, &recs[i])))
            goto fail;
    }
    t_fold = mono_us();
    size_t marked = rt->ndirty; /* for the debug line: marks before the flush merges repeats */
    if (rt->svc->flush && (rc = rt->svc->flush(&ctx)))
        goto fail;
    t_flush = mono_us();
    ol_rt_dirty_clear(rt);
    if (n > 0 && (rc = log_batch(rt, ctx.txn)))
        goto fail;
    rt->counters[C_BATCHES]++;
    for (size_t i = 0; i < rt->noffs; i++) {
        /* the next offset never moves backwards: a batch of re-delivered
         * (older) records must not make a restart re-read what follows */
        int64_t stored;
        if ((rc = ol_meta_offset_get(ctx.txn, rt->meta, rt->offs[i].topic, rt->offs[i].partition, &stored)))
            goto fail;
        if (rt->offs[i].next > stored &&
            (rc = ol_meta_offset_put(ctx.txn, rt->meta, rt->offs[i].topic, rt->offs[i].partition,
                                     rt->offs[i].next)))
            goto fail;
    }
    for (int c = 0; c < C_N; c++)
        if (rt->counters[c] != before[c] &&
            (rc = ol_meta_add_i64(ctx.txn, rt->meta, ol_rt_counter_names[c], rt->counters[c] - before[c])))
            goto fail;
    if ((rc = ol_state_put_chain(rt->state_idx, ctx.txn)) || /* after the batch's last append */
        (rc = ol_meta_put_i64(ctx.txn, rt->meta, "data_time", rt->data_time)) ||
        (rc = ol_meta_put_i64(ctx.txn, rt->meta, "outbox_seq", (int64_t)rt->outbox_seq)))
        goto fail;
    if ((rc = ol_registry_rt_persist(rt, ctx.txn))) /* writer schemas fetched for this batch */
        goto fail;
    rc = mdb_txn_commit(ctx.txn);
    ctx.txn = NULL, ctx.derived_c = NULL;
    if (rc)
        goto fail;
    rt->nacked = 0; /* their deletion is committed */
    ol_rt_release_tick(rt, 0); /* what the commit wrote counts with the batch */
    t_commit = mono_us();
    ol_metrics_batch_commit(rt->metrics, rt->counters, before, n, t_begin, t_fold, t_flush, t_commit, rt->data_time);
    /* OPSLEDGER_LOG_LEVEL=debug: where a batch's time goes (tests/bench/README.md); oldest_wait_ms is
     * the wall clock at the batch's start minus its oldest record's timestamp (the producer's
     * CreateTime: meaningful when producer and service share a clock, as in the latency probe) */
    if (n > 0)
        ol_debug("batch committed|records=%d fold_ms=%.1f flush_ms=%.1f commit_ms=%.1f emitted=%lld "
                 "oldest_wait_ms=%lld marked=%zu",
                 n, (double)(t_fold - t_begin) / 1000, (double)(t_flush - t_fold) / 1000,
                 (double)(t_commit - t_flush) / 1000, (long long)(rt->counters[C_EMITTED] - before[C_EMITTED]),
                 (long long)(wall_begin_ms - min_ts), marked);
    if (n > 0 && ol_state_snapshot_due(rt->state_idx, rt->snapshot_rows))
        ol_rt_save_index(rt, "index_snapshot_rows appended since the last");
    return 0;
fail:
    if (ctx.txn)
        mdb_txn_abort(ctx.txn);
    ol_rt_dirty_clear(rt);
    memcpy(rt->counters, before, sizeof before);
    rt->data_time = saved_time;
    /* its indexes may name rows that were rolled back; the window returns to
     * the committed data time's (the failed attempt may have moved it on) */
    ol_state_invalidate(rt->state_idx, ol_rt_window_start(rt, saved_time));
    rt->outbox_seq = saved_seq; /* the rows appended were rolled back */
    /* SPEC 4: a record the fold cannot store is a dead letter; only a fault
     * of the environment stops the service. The batch is folded again from
     * its start with that record dead-lettered, so the transaction holds
     * nothing of the failed attempt. The same records fail the same way in
     * a replay, which therefore dead-letters them too. */
    if (failed_at >= 0 && !ol_store_env_fault(rc) && npoison < OL_MAX_POISON) {
        struct poison *p = &poison[npoison++];
        p->index = failed_at;
        fold_failure_reason(rt, rc, p->reason, sizeof p->reason);
        ol_warn("a record failed in the fold; folding its batch again with it dead-lettered|service=%s topic=%s "
                "partition=%d offset=%lld reason=\"%s\"",
                rt->svc->name, recs[failed_at].topic, recs[failed_at].partition, (long long)recs[failed_at].offset,
                p->reason);
        goto again;
    }
    if (rc == MDB_MAP_FULL)
        ol_error("LMDB map is full: the batch was not committed; raise map_size (config map_size = 4G, or "
                 "-o map_size=4G) and restart|db=%s",
                 rt->store.path);
    else if (failed_at >= 0 && !ol_store_env_fault(rc))
        ol_error("more than %d records of one batch failed in the fold: stopping as a fault of the service, "
                 "nothing committed|db=%s",
                 OL_MAX_POISON, rt->store.path);
    else if (rc > 0 || rc < -1) {
        char why[300];
        ol_error("batch aborted, nothing committed|db=%s error=\"%s\"", rt->store.path,
                 ol_store_strerror(&rt->store, rc, why, sizeof why));
    } else
        ol_error("batch aborted by the fold, nothing committed|db=%s", rt->store.path);
    return -1;
}

/* lmdb_writemap = auto: LMDB's write path follows the backlog, between
 * batches. Catching up (a first start on years of history, or after an
 * outage), one batch can emit hundreds of thousands of events (a person
 * arriving gives a row for every week of the window): with pwrite, LMDB
 * mallocs a copy of every page the batch dirties, the heap keeps them, and
 * the resident set grows with history (tests/bench/README.md: 484 against
 * 194 MiB of anonymous memory for utilisation at N = 2 M, and the catch-up
 * 1.03-1.12 x faster). Caught up, small synced batches commit faster with
 * pwrite (the latency rows). Both paths sync every commit, so the switch
 * changes no guarantee; the hysteresis (at least writemap_backlog records
 * behind to take the map, under one batch to leave it) keeps it from
 * flapping. 0, or -1 when the store could not be reopened (stop). */
static int switch_write_path(ol_runtime *rt, ol_source *src)
{
    if (!rt->writemap_auto || !src->backlog)
        return 0;
    int64_t behind = src->backlog(src);
    if (behind < 0)
        return 0;
    int want = rt->store.writemap ? behind >= rt->opts.batch_max : behind >= rt->writemap_backlog;
    if (want == rt->store.writemap)
        return 0;
    char err[512];
    int64_t t0 = mono_us();
    ol_metrics_store_hold(rt->metrics);
    int rc = ol_store_set_writemap(&rt->store, want, err, sizeof err);
    ol_metrics_store_resume(rt->metrics, rt->store.env);
    if (rc > 0) { /* still on the path it had: go on there, and stop switching */
        rt->writemap_auto = 0;
        ol_warn("cannot switch LMDB's write path; staying on %s|db=%s error=\"%s\"",
                rt->store.writemap ? "writemap" : "pwrite", rt->store.path, err);
        return 0;
    }
    if (rc) {
        ol_error("cannot reopen the store to switch LMDB's write path|db=%s error=\"%s\"", rt->store.path, err);
        return -1;
    }
    ol_info("LMDB write path switched|db=%s path=%s backlog=%lld reopen_ms=%.1f", rt->store.path,
            want ? "writemap" : "pwrite", (long long)behind, (double)(mono_us() - t0) / 1000);
    if (!want) /* caught up: what the catch-up's batches left free in the heap goes back (after the
                * reopen was timed) */
        trim_heap();
    return 0;
}

int ol_runtime_run(ol_runtime *rt, ol_source *src)
{
    ol_record *recs = calloc((size_t)rt->opts.batch_max, sizeof *recs);
    int rc = -1;

    if (!recs) {
        ol_error("out of memory");
        return -1;
    }
    if (src->start && src->start(src, rt)) {
        if (rt->stop) { /* asked to stop while the source waited for its broker: a clean stop */
            ol_info("stopped before the record source was ready|service=%s", rt->svc->name);
            rc = 0;
        }
        goto out;
    }
    ol_info("running|service=%s db=%s", rt->svc->name, rt->store.path);
    ol_metrics_loop_alive(rt->metrics);
    while (!rt->stop) {
        int n = src->poll(src, recs, rt->opts.batch_max, rt->opts.poll_timeout_ms);
        if (n < 0)
            goto out;
        if (n > 0 && ol_runtime_fold_batch(rt, recs, n))
            goto out;
        if (rt->producer && ol_outbox_publish(rt, n > 0 ? 0 : 10))
            goto out;
        if (n == 0 && rt->nacked) {
            /* idle: retire acknowledged outbox rows in a small transaction */
            if (ol_runtime_fold_batch(rt, NULL, 0))
                goto out;
        }
        if (rt->svc->tick && rt->svc->tick(rt, rt->state))
            goto out;
        if (switch_write_path(rt, src))
            goto out;
        ol_metrics_loop_alive(rt->metrics);
        if (rt->opts.stop_at_end && src->at_end && src->at_end(src)) {
            if (!rt->producer || (ol_outbox_depth(rt) == 0 && rt->inflight == 0))
                break;
        }
    }
    rc = 0;
    {
        /* the live entities and the indexes' bytes: make bench reads them
         * for its memory rows (bytes of anonymous memory per live entity) */
        size_t ne, nid, mem = ol_state_memory(rt->state_idx, &ne, &nid);
        ol_info("stopping|service=%s entities=%zu event_ids=%zu index_bytes=%zu", rt->svc->name, ne, nid, mem);
    }
out:
    ol_metrics_loop_stopped(rt->metrics);
    free(recs);
    return rc;
}
