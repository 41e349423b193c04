/* opsledger archive export --from T1 --to T2 --out FILE.avro [--archive DIR]
 * — writes the archived records whose Kafka timestamp lies in [T1, T2] to a
 * standard Avro object container file (schema ArchivedRecord below) that any
 * Avro tool reads: the original key and value bytes, where they came from,
 * and the chain hash. The archive is verified first, in the snapshot that is
 * exported (chain, index and checkpoints: ol_archive_verify); one that does
 * not verify is refused with the record named, exit 1. */
#include "cli.h"
#include "ol_escape.h"
#include "ol_file.h"
#include <errno.h>
#include <fcntl.h>
#include "ol_registry.h"
#include "ol_archive.h"
#include "ol_time.h"

#include <avro.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char ARCHIVED_RECORD_SCHEMA[] =
    "{\"type\":\"record\",\"name\":\"ArchivedRecord\",\"namespace\":\"com.opsledger.audit\","
    "\"doc\":\"One input record as opsledger archived it.\",\"fields\":["
    "{\"name\":\"seq\",\"type\":\"long\",\"doc\":\"position in the archive, from 1\"},"
    "{\"name\":\"topic\",\"type\":\"string\",\"doc\":\"source topic\"},"
    "{\"name\":\"partition\",\"type\":\"int\",\"doc\":\"source partition\"},"
    "{\"name\":\"offset\",\"type\":\"long\",\"doc\":\"source offset\"},"
    "{\"name\":\"timestamp\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"},"
    "\"doc\":\"Kafka timestamp: when opsledger could know the record\"},"
    "{\"name\":\"key\",\"type\":[\"null\",\"bytes\"],\"doc\":\"the record key\"},"
    "{\"name\":\"value\",\"type\":\"bytes\",\"doc\":\"the record value, Confluent-framed Avro as published\"},"
    "{\"name\":\"headers\",\"type\":{\"type\":\"map\",\"values\":\"bytes\"},"
    "\"doc\":\"the record's Kafka headers (a repeated name keeps its last value)\"},"
    "{\"name\":\"sha256\",\"type\":\"string\",\"doc\":\"chain hash of this record, hex\"}]}";

/* The value of the container's `opsledger.writer_schemas` metadata:
 * {"source": "schema registry"|"manifest", "schemas": {"<id>": "<schema>"}}:
 * the writer schemas the archive kept by registry id, or, when it kept none
 * (no registry), the manifest's schemas by their ids. malloc'ed, or NULL
 * with err. */
/* fsync of a file, and of the directory holding a path: 0, or -1 (errno) */
static int sync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc = fd < 0 || fsync(fd) ? -1 : 0;
    int e = errno;
    if (fd >= 0)
        close(fd);
    errno = e;
    return rc;
}

static int sync_dir_of(const char *path)
{
    char dir[4200];
    ol_dirname(path, dir, sizeof dir);
    return sync_path(dir);
}

static char *export_writers(const ol_config *cfg, ol_store *st, char *err, size_t errlen)
{
    json_t *schemas = ol_registry_archive_schemas(st->env, err, errlen), *doc = NULL;
    const char *source = "schema registry";
    char *text = NULL;
    if (!schemas)
        return NULL;
    if (json_object_size(schemas) == 0) {
        ol_schemas *m = cli_load_schemas(cfg);
        source = "manifest";
        for (size_t i = 0; m && i < m->n; i++) {
            char k[16], *t = json_dumps(m->v[i].json, JSON_COMPACT);
            snprintf(k, sizeof k, "%ld", (long)m->v[i].id);
            if (t)
                json_object_set_new(schemas, k, json_string(t));
            free(t);
        }
        ol_schemas_free(m);
    }
    if (!(doc = json_pack("{s:s,s:O}", "source", source, "schemas", schemas)) ||
        !(text = json_dumps(doc, JSON_COMPACT)))
        snprintf(err, errlen, "out of memory");
    json_decref(doc);
    json_decref(schemas);
    return text;
}

int cmd_archive(int argc, char **argv, ol_config *cfg)
{
    const char *from_s = NULL, *to_s = NULL, *out = NULL, *flag = NULL, *cp_flag = NULL;
    int64_t from = INT64_MIN, to = INT64_MAX;
    char dir[4096], err[512], cp_path[4200], tmp[4200];
    ol_archive_checkpoint *cps = NULL;
    ol_archive_report rep;
    size_t ncps = 0;
    int loaded;
    ol_store st;
    int have_st = 0, have_tmp = 0, rc = 2;
    MDB_txn *txn = NULL;
    MDB_cursor *c = NULL;
    avro_schema_t schema = NULL;
    avro_file_writer_t w = NULL;
    avro_value_iface_t *iface = NULL;
    avro_value_t rec;
    int have_rec = 0;
    char *writers = NULL;

    if (argc < 2 || strcmp(argv[1], "export")) {
        fprintf(stderr, "usage: opsledger archive export --from T1 --to T2 --out FILE.avro [--archive DIR] "
                        "[--checkpoints FILE]\n");
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--from") && i + 1 < argc)
            from_s = argv[++i];
        else if (!strcmp(argv[i], "--to") && i + 1 < argc)
            to_s = argv[++i];
        else if (!strcmp(argv[i], "--out") && i + 1 < argc)
            out = argv[++i];
        else if (!strcmp(argv[i], "--archive") && i + 1 < argc)
            flag = argv[++i];
        else if (!strcmp(argv[i], "--checkpoints") && i + 1 < argc)
            cp_flag = argv[++i];
        else
            return ol_usage_arg("opsledger archive export", "unknown argument ", argv[i], NULL);
    }
    if (!out || (from_s && ol_ts_parse(from_s, &from)) || (to_s && ol_ts_parse(to_s, &to))) {
        fprintf(stderr, "usage: opsledger archive export --from 2026-11-01T00:00:00Z --to 2026-11-16T09:00:00Z "
                        "--out FILE.avro\n");
        return 2;
    }
    struct stat osb;
    if (lstat(out, &osb) == 0 && !S_ISREG(osb.st_mode)) { /* a pipe, a device, a link: never replaced */
        ol_esc_eprintf("opsledger archive: --out %s is not a regular file; give a file path (the export is "
                       "written beside it, then renamed over it)\n",
                       out);
        return 2;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", out);
    ol_archive_dir(cfg, flag, dir, sizeof dir);
    if (ol_archive_open(&st, dir, 1, err, sizeof err)) {
        ol_esc_eprintf("opsledger archive: %s\n", err);
        return 2;
    }
    have_st = 1;
    /* the checkpoints before the snapshot: each was written after its commit */
    ol_archive_checkpoints_path(cfg, dir, cp_flag, cp_path, sizeof cp_path);
    loaded = ol_archive_checkpoints_load(cp_path, &cps, &ncps, err, sizeof err);
    if (loaded < 0 || (loaded == 1 && cp_flag)) {
        ol_esc_eprintf("opsledger archive: %s\n", loaded < 0 ? err : "the checkpoint file given does not exist");
        goto out;
    }
    /* the writer schemas, for the container's metadata (issue 19) */
    if (!(writers = export_writers(cfg, &st, err, sizeof err))) {
        ol_esc_eprintf("opsledger archive: %s\n", err);
        goto out;
    }
    if (mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn) || mdb_cursor_open(txn, ol_store_dbi(&st, "records"), &c)) {
        ol_esc_eprintf("opsledger archive: cannot read %s\n", dir);
        goto out;
    }
    int vr = ol_archive_verify(txn, &st, cps, ncps, cp_path, &rep);
    if (vr) {
        ol_esc_eprintf("opsledger archive: %s does not verify, nothing exported: %s\n", dir, rep.msg);
        rc = vr > 0 ? 1 : 2;
        goto out;
    }
    if (rep.unanchored)
        ol_esc_eprintf("opsledger archive: WARNING: %s keeps %llu writer schemas outside its chain (written before "
                       "2026-12-03): nothing proves them\n",
                       dir, (unsigned long long)rep.unanchored);
    rc = 1;
    if (avro_schema_from_json_length(ARCHIVED_RECORD_SCHEMA, sizeof ARCHIVED_RECORD_SCHEMA - 1, &schema) ||
        !(iface = avro_generic_class_from_schema(schema)) || avro_generic_value_new(iface, &rec)) {
        fprintf(stderr, "opsledger archive: avro: %s\n", avro_strerror());
        goto out;
    }
    have_rec = 1;
    /* written to a file of its own beside --out, renamed over it once
     * whole: a failed export leaves --out as it was (before, it was removed
     * first and a cut-short file left in its place) */
    int tfd = mkstemp(tmp); /* a name of its own (O_EXCL), 0600: avro-c's fopen would follow the umask */
    have_tmp = tfd >= 0;
    if (tfd < 0 || close(tfd)) {
        ol_esc_eprintf("opsledger archive: cannot write beside --out %s: %s\n", out, strerror(errno));
        goto out;
    }
    if (avro_file_writer_create(tmp, schema, &w)) {
        ol_esc_eprintf("opsledger archive: %s: %s\n", tmp, avro_strerror());
        goto out;
    }
    MDB_val k, v;
    long n = 0;
    for (int g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0; g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        ol_arec a;
        char hex[65];
        avro_value_t f, b;
        if (ol_archive_parse(ol_be64(k.mv_data), &v, &a)) {
            fprintf(stderr, "opsledger archive: record %llu does not parse; run opsledger verify\n",
                    (unsigned long long)ol_be64(k.mv_data));
            goto out;
        }
        if (a.timestamp_ms < from || a.timestamp_ms > to)
            continue;
        for (int i = 0; i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", a.hash[i]);
        avro_value_reset(&rec);
        avro_value_get_by_name(&rec, "seq", &f, NULL), avro_value_set_long(&f, (int64_t)a.seq);
        avro_value_get_by_name(&rec, "topic", &f, NULL), avro_value_set_string(&f, a.topic);
        avro_value_get_by_name(&rec, "partition", &f, NULL), avro_value_set_int(&f, a.partition);
        avro_value_get_by_name(&rec, "offset", &f, NULL), avro_value_set_long(&f, a.offset);
        avro_value_get_by_name(&rec, "timestamp", &f, NULL), avro_value_set_long(&f, a.timestamp_ms);
        avro_value_get_by_name(&rec, "key", &f, NULL);
        if (a.key) {
            avro_value_set_branch(&f, 1, &b);
            avro_value_set_bytes(&b, (void *)a.key, a.key_len);
        } else {
            avro_value_set_branch(&f, 0, &b);
            avro_value_set_null(&b);
        }
        avro_value_get_by_name(&rec, "value", &f, NULL), avro_value_set_bytes(&f, (void *)a.value, a.value_len);
        avro_value_get_by_name(&rec, "sha256", &f, NULL), avro_value_set_string(&f, hex);
        avro_value_get_by_name(&rec, "headers", &f, NULL);
        for (size_t h = 0; h < a.nheaders; h++) {
            const char *hn;
            const void *hv;
            size_t hnl, hvl;
            char name[256];
            if (ol_archive_header(&a, h, &hn, &hnl, &hv, &hvl))
                break;
            snprintf(name, sizeof name, "%.*s", (int)hnl, hn);
            if (avro_value_add(&f, name, &b, NULL, NULL) == 0)
                avro_value_set_bytes(&b, (void *)hv, hvl);
        }
        if (avro_file_writer_append_value(w, &rec)) {
            ol_esc_eprintf("opsledger archive: %s: %s\n", tmp, avro_strerror());
            goto out;
        }
        n++;
    }
    if (avro_file_writer_close(w)) {
        w = NULL;
        ol_esc_eprintf("opsledger archive: %s: %s\n", tmp, avro_strerror());
        goto out;
    }
    w = NULL;
    if (archive_meta_add(tmp, "opsledger.writer_schemas", writers, err, sizeof err)) {
        ol_esc_eprintf("opsledger archive: %s\n", err);
        goto out;
    }
    if (sync_path(tmp) || rename(tmp, out) || sync_dir_of(out)) { /* durable before and after its name moves */
        ol_esc_eprintf("opsledger archive: %s: %s\n", out, strerror(errno));
        goto out;
    }
    have_tmp = 0;
    ol_esc_eprintf("exported %ld records to %s\n", n, out);
    rc = 0;
out:
    if (w)
        avro_file_writer_close(w);
    if (have_tmp)
        unlink(tmp); /* nothing half-written is left */
    if (c)
        mdb_cursor_close(c);
    if (txn)
        mdb_txn_abort(txn);
    if (have_rec)
        avro_value_decref(&rec);
    if (iface)
        avro_value_iface_decref(iface);
    if (schema)
        avro_schema_decref(schema);
    if (have_st)
        ol_store_close(&st);
    free(cps);
    free(writers);
    return rc;
}
