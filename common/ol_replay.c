/* ol_replay — `opsledger-<service> replay`: rebuilds the service's projection
 * into a fresh LMDB with the live service's own fold code, from the audit
 * archive as of an instant (Kafka timestamps at or before it), or from the
 * beginning of the Kafka topics (--from-kafka) when retention allows.
 *
 *   replay --as-of 2026-11-16T09:00:00Z --out DIR [--emit FILE]
 *          [--archive DIR] [--live-db DIR | --no-batch-log] [--from-kafka]
 *
 * With the live service's batch log (its own environment, read-only; the
 * default is the service's data directory when it exists) the replay folds
 * exactly the batches the live service folded, so the derived events come
 * out with the same revisions and event_ids. --emit writes every derived
 * event (and dead letter) the rebuild would publish, as JSON lines, in
 * publication order.
 *
 * The archive is verified before anything is folded, in the snapshot the
 * replay reads: the file, the chain, the by_offset index and the
 * checkpoints (--checkpoints FILE, default the archive's own checkpoint
 * file; checked whenever present). One that does not verify is refused with
 * the record named and exit status 1. */
#include "ol_archive.h"
#include "ol_codec.h"
#include "ol_escape.h"
#include "ol_file.h"
#include "ol_json.h"
#include "ol_log.h"
#include "ol_registry.h"
#include "ol_svcmain.h"
#include "ol_time.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* -1 (errno set) when path cannot be written: a directory, a file without
 * write permission, a parent directory that is not writable, or one that
 * does not exist (unless it is the --out directory, which the replay makes) */
static int emit_unwritable(const char *path, const char *out)
{
    struct stat sb;
    if (stat(path, &sb) == 0) {
        if (S_ISDIR(sb.st_mode)) {
            errno = EISDIR;
            return -1;
        }
        return access(path, W_OK);
    }
    char dir[4200];
    ol_dirname(path, dir, sizeof dir);
    if (stat(dir, &sb)) {
        size_t ol = strlen(out);
        while (ol > 1 && out[ol - 1] == '/')
            ol--;
        if (strlen(dir) == ol && !strncmp(dir, out, ol))
            return 0; /* --out, made by the replay */
        errno = ENOENT;
        return -1;
    }
    if (!S_ISDIR(sb.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return access(dir, W_OK);
}

static int dir_is_empty_or_missing(const char *path)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/data.mdb", path);
    return access(p, F_OK) != 0;
}

/* Every outbox row as a JSON line to f (opened before the replay, closed
 * here): topic, key, headers, decoded value. */
static int emit_outbox(ol_store *st, const ol_schemas *schemas, FILE *f, const char *file)
{
    MDB_txn *txn = NULL;
    MDB_cursor *c = NULL;
    MDB_val k, v;
    int rc = -1;
    if (mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn) || mdb_cursor_open(txn, ol_store_dbi(st, "outbox"), &c))
        goto out;
    for (int g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0; g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        const uint8_t *p = v.mv_data;
        size_t tl = ((size_t)p[0] << 8) | p[1];
        json_t *o = json_object();
        json_object_set_new(o, "topic", ol_esc_json_strn(p + 2, tl));
        p += 2 + tl;
        size_t kl = ol_be32(p);
        json_object_set_new(o, "key", ol_esc_json_strn(p + 4, kl));
        p += 4 + kl;
        size_t nh = ((size_t)p[0] << 8) | p[1];
        p += 2;
        json_t *h = json_object();
        for (size_t i = 0; i < nh; i++) {
            size_t nl = ((size_t)p[0] << 8) | p[1];
            char name[256];
            snprintf(name, sizeof name, "%.*s", (int)nl, (const char *)p + 2);
            p += 2 + nl;
            size_t hl = ol_be32(p);
            json_object_set_new(h, name, ol_esc_json_strn(p + 4, hl));
            p += 4 + hl;
        }
        if (nh)
            json_object_set_new(o, "headers", h);
        else
            json_decref(h);
        size_t vl = ol_be32(p);
        int32_t id;
        const ol_schema *s = NULL;
        if (ol_codec_header(p + 4, vl, &id) == OL_CODEC_OK)
            s = ol_schemas_by_id(schemas, id);
        if (s && !nh) {
            char err[256];
            int32_t wid;
            ol_decoder *d = ol_decoder_new(schemas, s);
            if (d && ol_decoder_decode(d, p + 4, vl, &wid, err, sizeof err) == OL_CODEC_OK) {
                json_t *jv = ol_json_from_avro(s, ol_decoder_value(d));
                json_object_set_new(o, "value", jv ? jv : json_null());
            }
            ol_decoder_free(d);
        } else {
            json_object_set_new(o, "value_len", json_integer((json_int_t)vl));
        }
        char *line = ol_esc_json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (line) {
            fputs(line, f);
            fputc('\n', f);
            free(line);
        }
        json_decref(o);
    }
    rc = 0;
out:
    if (c)
        mdb_cursor_close(c);
    if (txn)
        mdb_txn_abort(txn);
    if (fclose(f) && rc == 0) {
        ol_esc_eprintf("replay: %s: %s\n", file, strerror(errno));
        rc = -1;
    }
    return rc;
}

int ol_service_replay(const ol_service *svc, ol_config *cfg, int argc, char **argv)
{
    const char *as_of_s = NULL, *out = NULL, *emit = NULL, *archive_flag = NULL, *live_flag = NULL, *cp_flag = NULL;
    char cp_path[4200];
    ol_archive_checkpoint *cps = NULL;
    size_t ncps = 0;
    int from_kafka = 0, no_log = 0, rc = 1;
    int64_t as_of = INT64_MAX;
    char err[512], archive_dir[4096], live_dir[4096];
    ol_schemas *schemas = NULL;
    ol_runtime *rt = NULL;
    ol_source *src = NULL;
    ol_store archive = {0}, live = {0};
    int have_archive = 0, have_live = 0;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--as-of") && i + 1 < argc)
            as_of_s = argv[++i];
        else if (!strcmp(argv[i], "--out") && i + 1 < argc)
            out = argv[++i];
        else if (!strcmp(argv[i], "--emit") && i + 1 < argc)
            emit = argv[++i];
        else if (!strcmp(argv[i], "--archive") && i + 1 < argc)
            archive_flag = argv[++i];
        else if (!strcmp(argv[i], "--checkpoints") && i + 1 < argc)
            cp_flag = argv[++i];
        else if (!strcmp(argv[i], "--live-db") && i + 1 < argc)
            live_flag = argv[++i];
        else if (!strcmp(argv[i], "--no-batch-log"))
            no_log = 1;
        else if (!strcmp(argv[i], "--from-kafka"))
            from_kafka = 1;
        else
            return ol_usage_arg("replay", "unknown argument ", argv[i], NULL);
    }
    if (!out || (!from_kafka && !as_of_s)) {
        fprintf(stderr, "usage: opsledger replay %s --as-of 2026-11-16T09:00:00Z --out DIR [--emit FILE] "
                        "[--archive DIR] [--checkpoints FILE] [--live-db DIR | --no-batch-log]\n"
                        "       opsledger replay %s --from-kafka --out DIR [--emit FILE]\n",
                svc->name, svc->name);
        return 2;
    }
    if (as_of_s && ol_ts_parse(as_of_s, &as_of)) {
        ol_esc_eprintf("replay: --as-of %s is not an RFC 3339 instant (2026-11-16T09:00:00Z)\n", as_of_s);
        return 2;
    }
    if (!dir_is_empty_or_missing(out)) {
        ol_esc_eprintf("replay: %s already holds a projection; give a fresh directory\n", out);
        return 2;
    }
    /* --emit checked now, touched only once the replay is done: a path it
     * cannot write is said before a whole replay, not after it; a file
     * already there (a previous run's, a device) is left alone until then */
    if (emit && emit_unwritable(emit, out)) {
        ol_esc_eprintf("replay: --emit %s: %s\n", emit, strerror(errno));
        return 2;
    }
    const char *sdir = ol_config_get(cfg, "schemas_dir", ol_schemas_default_dir());
    if (ol_schemas_load(sdir, &schemas, err, sizeof err)) {
        ol_esc_eprintf("replay: schemas: %s\n", err);
        goto out;
    }
    if (from_kafka) {
        if (ol_registry_attach(schemas, cfg, err, sizeof err)) { /* schema_registry.url: registry ids */
            ol_esc_eprintf("replay: %s\n", err);
            goto out;
        }
        src = ol_source_kafka_new(cfg, "opsledger-replay", 1);
    } else {
        ol_archive_dir(cfg, archive_flag, archive_dir, sizeof archive_dir);
        if (ol_archive_open(&archive, archive_dir, 1, err, sizeof err)) {
            ol_esc_eprintf("replay: archive: %s\n", err);
            goto out;
        }
        have_archive = 1;
        /* the writer schemas the archive kept by registry id (issue 19), if any */
        if (ol_registry_attach_archive(schemas, cfg, archive.env, err, sizeof err)) {
            ol_esc_eprintf("replay: archive: %s\n", err);
            goto out;
        }
        /* the checkpoints before the snapshot: each was written after its commit */
        ol_archive_checkpoints_path(cfg, archive_dir, cp_flag, cp_path, sizeof cp_path);
        int loaded = ol_archive_checkpoints_load(cp_path, &cps, &ncps, err, sizeof err);
        if (loaded < 0 || (loaded == 1 && cp_flag)) {
            ol_esc_eprintf("replay: %s\n", loaded < 0 ? err : "the checkpoint file given does not exist");
            goto out;
        }
        if (loaded == 1)
            ol_warn("no checkpoints: the end of the archive is not anchored|checkpoints=%s", cp_path);
        ol_service_db_path(cfg, svc->name, live_flag, live_dir, sizeof live_dir);
        if (!no_log && !dir_is_empty_or_missing(live_dir) && strcmp(live_dir, out)) {
            if (ol_service_open_ro(svc, live_dir, &live) == 0)
                have_live = 1;
        }
        if (!have_live)
            ol_warn("replaying without the live batch log: figures are identical, derived revisions may be "
                    "numbered differently|live_db=%s",
                    live_dir);
        src = ol_source_archive_new(&archive, svc->inputs, as_of, have_live ? &live : NULL, 100000, cps, ncps,
                                    cp_path, err, sizeof err);
        if (!src) {
            ol_esc_eprintf("replay: %s\n", err);
            goto out;
        }
    }
    if (!src) {
        fprintf(stderr, "replay: cannot open the record source\n");
        goto out;
    }
    /* a fresh directory: no sync per batch, one at the end (a crash leaves
     * a directory to delete, and replay refuses a non-empty one) */
    ol_runtime_opts o = {.db_path = out, .publish = 0, .batch_max = 100000, .poll_timeout_ms = 100,
                         .stop_at_end = 1, .bulk = 1};
    if (!(rt = ol_runtime_new(svc, cfg, schemas, &o, err, sizeof err))) {
        ol_esc_eprintf("replay: %s\n", err);
        goto out;
    }
    if (ol_runtime_run(rt, src))
        goto out;
    int src_rc = ol_store_sync(ol_runtime_store(rt));
    if (src_rc) {
        ol_esc_eprintf("replay: %s: flushing to disk: %s\n", out, mdb_strerror(src_rc));
        goto out;
    }
    if (emit) {
        FILE *f = ol_fopen_private(emit, "w");
        if (!f) {
            ol_esc_eprintf("replay: --emit %s: %s\n", emit, strerror(errno));
            goto out;
        }
        if (emit_outbox(ol_runtime_store(rt), schemas, f, emit))
            goto out;
    }
    rc = 0;
out:
    if (src)
        src->close(src);
    ol_runtime_free(rt);
    if (have_archive)
        ol_store_close(&archive);
    if (have_live)
        ol_store_close(&live);
    ol_schemas_free(schemas);
    free(cps);
    return rc;
}
