/* ol_svcmain — see ol_svcmain.h. */
#include "ol_svcmain.h"
#include "ol_escape.h"
#include "ol_registry.h"
#include "ol_kafka.h"
#include "ol_log.h"
#include "ol_metrics.h"
#include "ol_offsets.h"
#include "ol_state.h"
#include "ol_time.h"

#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void ol_service_db_path(const ol_config *cfg, const char *service, const char *db_flag, char *out, size_t outlen)
{
    if (db_flag)
        snprintf(out, outlen, "%s", db_flag);
    else
        snprintf(out, outlen, "%s/%s", ol_config_get(cfg, "data_dir", OL_DEFAULT_DATA_DIR), service);
}

int ol_service_open_ro(const ol_service *svc, const char *path, ol_store *st)
{
    const char *dbs[OL_STORE_MAX_DBS + 1] = {OL_RT_DBS};
    size_t nd = OL_RT_NDBS;
    char err[512];
    for (size_t i = 0; svc->dbs && svc->dbs[i] && nd < OL_STORE_MAX_DBS; i++)
        dbs[nd++] = svc->dbs[i];
    dbs[nd] = NULL;
    struct stat sb;
    if (stat(path, &sb) != 0) { /* the usual cause: not where the service writes */
        ol_esc_eprintf("opsledger-%s: no projection at %s (%s): pass the --data-dir the service runs with "
                       "(opsledger-%s run --data-dir D writes D/%s), or --db DIR\n",
                       svc->name, path, strerror(errno), svc->name, svc->name);
        return -1;
    }
    if (ol_store_open(st, path, 1ULL << 30, 1, dbs, err, sizeof err)) {
        ol_esc_eprintf("opsledger-%s: cannot open projection: %s\n", svc->name, err);
        return -1;
    }
    return 0;
}

static void usage(const ol_service *svc, const ol_verb *verbs)
{
    fprintf(stderr,
            "usage: opsledger-%s <verb> [args] [common options]\n"
            "  run [--stop-at-end] [--db DIR]   consume, fold and publish until stopped\n"
            "  status [--lag] [--db DIR]        counters, offsets, outbox depth, offsets resets; --lag asks\n"
            "                                   the broker (exit 1: a stored offset out of the broker's range)\n"
            "  dump [--db DIR]                  canonical dump of the projection\n"
            "  events --topic T [--key-prefix P] [--key-suffix S] [--db DIR]   last published events, JSON lines\n"
            "  entities --topic T [--db DIR]    latest stored version of each entity of an input topic\n"
            "  replay --as-of T --out DIR [--emit FILE] [--archive DIR]   rebuild from the audit archive\n"
            "  replay --from-kafka --out DIR [--emit FILE]               rebuild from the topics\n",
            svc->name);
    for (size_t i = 0; verbs && verbs[i].name; i++)
        fprintf(stderr, "  %s\n", verbs[i].usage);
}

static void hexdump(FILE *f, const MDB_val *v)
{
    const uint8_t *p = v->mv_data;
    for (size_t i = 0; i < v->mv_size; i++)
        fprintf(f, "%02x", p[i]);
}

static int dump_row(const MDB_val *k, const MDB_val *v, void *arg)
{
    (void)arg;
    hexdump(stdout, k);
    putchar('\t');
    hexdump(stdout, v);
    putchar('\n');
    return 0;
}

/* Canonical dump: every projection database (entity, derived payloads and
 * the service's own) in key order, hex key TAB hex value. The meta, seen and
 * outbox databases hold delivery bookkeeping (offsets, counters), not
 * figures, and are left out, as is the batch log, so a replay compares byte
 * for byte. */
static int dump(const ol_service *svc, ol_store *st)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
    if (rc) {
        fprintf(stderr, "dump: %s\n", mdb_strerror(rc));
        return 1;
    }
    for (size_t i = 0; i < st->ndbs; i++) {
        const char *n = st->db_names[i];
        if (!strcmp(n, "meta") || !strcmp(n, "outbox") || !strcmp(n, "batches"))
            continue;
        if (!strcmp(n, "versions")) {
            /* the latest version of every entity, as the entity database of
             * old held it: the log's order is arrival order, not a figure */
            printf("# entity\n");
            if ((rc = ol_state_foreach_latest(txn, st->dbi[i], dump_row, NULL)))
                break;
            continue;
        }
        MDB_cursor *c;
        MDB_val k, v;
        if ((rc = mdb_cursor_open(txn, st->dbi[i], &c)))
            break;
        printf("# %s\n", n);
        for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            hexdump(stdout, &k);
            putchar('\t');
            hexdump(stdout, &v);
            putchar('\n');
        }
        mdb_cursor_close(c);
        rc = 0;
    }
    (void)svc;
    mdb_txn_abort(txn);
    return rc ? 1 : 0;
}

/* consumer lag: per stored offset, the partition's end offset (from the
 * broker) minus the next offset the service will read (from LMDB), never
 * clamped (ol_offsets_print_lag). 0, 1 an offset out of range, 2 no answer. */
static int print_lag(MDB_txn *txn, ol_store *st, const ol_config *cfg, const char *service)
{
    char err[512];
    rd_kafka_t *rk = ol_kafka_consumer(cfg, "opsledger-status", 0, err, sizeof err);
    if (!rk) {
        char *shown = ol_esc(OL_ESC_TEXT, err); /* it can name a broker address from the config */
        printf("  %-40s unknown (%s)\n", "consumer_lag", shown ? shown : "out of memory");
        free(shown);
        return 2;
    }
    int rc = ol_offsets_print_lag(txn, ol_store_dbi(st, "meta"), rk, service);
    rd_kafka_destroy(rk);
    return rc;
}

static int status(const ol_service *svc, ol_store *st, const ol_config *cfg, int lag)
{
    MDB_txn *txn;
    MDB_cursor *c;
    MDB_val k, v;
    MDB_stat ost;
    /* the path the user gave, the meta keys (offset/<topic>/<partition>) and
     * an offsets reset record (the operator's name, topics) as the terminal
     * is to show them: escaped, then padded */
    ol_esc_arena esc = OL_ESC_ARENA_INIT;
    int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
    if (rc) {
        fprintf(stderr, "status: %s\n", mdb_strerror(rc));
        return 1;
    }
    printf("service %s (%s)\n", svc->name, ol_esc_a(&esc, OL_ESC_TEXT, st->path));
    ol_esc_arena_reset(&esc);
    if ((rc = mdb_cursor_open(txn, ol_store_dbi(st, "meta"), &c)) == 0) {
        for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            if (k.mv_size == 14 && !memcmp(k.mv_data, "derived_layout", 14))
                continue; /* the derived database's format mark (ol_derived.c), nothing to act on */
            if (ol_state_is_chain_key(k.mv_data, k.mv_size))
                continue; /* the version log's check value (ol_state.h), nothing to act on */
            if (k.mv_size == 7 && !memcmp(k.mv_data, "service", 7))
                continue; /* the directory's owner (ol_runtime.c check_owner): the first line says it */
            if (v.mv_size == 8 && k.mv_size == 9 && !memcmp(k.mv_data, "data_time", 9)) {
                char ts[25]; /* the latest occurred_at folded, for people: ISO-8601 UTC */
                int64_t ms = (int64_t)ol_be64(v.mv_data);
                if (ms > 0)
                    ol_ts_format(ms, ts);
                printf("  %-40s %s\n", "data_time", ms > 0 ? ts : "none");
            } else if (v.mv_size == 8)
                printf("  %-40s %lld\n", ol_esc_a_n(&esc, OL_ESC_TEXT, k.mv_data, k.mv_size),
                       (long long)ol_be64(v.mv_data));
            else if (ol_offsets_is_reset_key(&k)) {
                /* an operator's offsets reset: its first line (when, who, what) */
                const char *t = v.mv_data, *nl = memchr(t, '\n', v.mv_size);
                printf("  %-40s %s\n", ol_esc_a_n(&esc, OL_ESC_TEXT, k.mv_data, k.mv_size),
                       ol_esc_a_n(&esc, OL_ESC_TEXT, t, nl ? (size_t)(nl - t) : v.mv_size));
            }
            ol_esc_arena_reset(&esc);
        }
        mdb_cursor_close(c);
    }
    if (mdb_stat(txn, ol_store_dbi(st, "outbox"), &ost) == 0)
        printf("  %-40s %zu\n", "outbox_depth", ost.ms_entries);
    int lrc = lag ? print_lag(txn, st, cfg, svc->name) : 0;
    mdb_txn_abort(txn);
    if (esc.failed) { /* a key shown as U+FFFD: not a good answer */
        fprintf(stderr, "opsledger-%s status: out of memory\n", svc->name);
        return 1;
    }
    if (lrc == 1)
        fprintf(stderr, "opsledger-%s status: stored offsets out of range (see offset_fault); `opsledger offsets "
                        "show %s` lists them\n",
                svc->name, svc->name);
    return lrc;
}

static int service_main(const ol_service *svc, const ol_verb *verbs, int args_first, int argc, char **argv)
{
    ol_config cfg;
    char err[512], path[4096], prog[128];
    const char *db_flag = NULL;
    int stop_at_end = 0, rc = 2;
    ol_schemas *schemas = NULL;
    ol_runtime *rt = NULL;
    ol_source *src = NULL;
    ol_metrics *metrics = NULL;

    snprintf(prog, sizeof prog, "opsledger-%s", svc->name);
    ol_log_init(prog, OL_LOG_INFO);
    ol_config_init(&cfg);
    argc = ol_config_from_args(&cfg, argc, argv, err, sizeof err);
    if (argc < 0) {
        ol_esc_eprintf("%s: %s\n", prog, err);
        goto out;
    }
    if (argc < 2) {
        usage(svc, verbs);
        goto out;
    }
    const char *verb = argv[1];
    /* --db DIR is understood by every verb; strip it here */
    int n = 2;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--db") && i + 1 < argc)
            db_flag = argv[++i];
        else if (!strcmp(verb, "run") && !strcmp(argv[i], "--stop-at-end"))
            stop_at_end = 1;
        else
            argv[n++] = argv[i];
    }
    argc = n;
    argv[argc] = NULL;
    ol_service_db_path(&cfg, svc->name, db_flag, path, sizeof path);

    if (!strcmp(verb, "run")) {
        const char *dir = ol_config_get(&cfg, "schemas_dir", ol_schemas_default_dir());
        if (argc > 2) {
            char run[160];
            snprintf(run, sizeof run, "%s run", prog);
            rc = ol_usage_arg(run, "unknown argument ", argv[2], NULL);
            goto out;
        }
        if (ol_schemas_load(dir, &schemas, err, sizeof err) || ol_registry_attach(schemas, &cfg, err, sizeof err)) {
            ol_esc_eprintf("%s: schemas: %s\n", prog, err);
            rc = 1;
            goto out;
        }
        int64_t batch = 50000;
        if (ol_config_get_i64(&cfg, "batch_max", 50000, &batch, err, sizeof err)) {
            ol_esc_eprintf("%s: %s\n", prog, err);
            goto out;
        }
        ol_runtime_opts o = {.db_path = path, .publish = 1, .batch_max = (int)batch, .poll_timeout_ms = 100,
                             .stop_at_end = stop_at_end};
        rt = ol_runtime_new(svc, &cfg, schemas, &o, err, sizeof err);
        if (!rt) {
            ol_esc_eprintf("%s: %s\n", prog, err);
            rc = 1;
            goto out;
        }
        ol_runtime_handle_signals(rt);
        /* metrics.listen: /metrics, /healthz, /readyz (ol_metrics.h); off when absent */
        if (ol_metrics_enabled(&cfg)) {
            if (!(metrics = ol_metrics_new(svc->name, svc->inputs, svc->outputs))) {
                fprintf(stderr, "%s: out of memory\n", prog);
                rc = 1;
                goto out;
            }
            ol_metrics_attach(metrics, rt);
            if (ol_metrics_start(metrics, &cfg, err, sizeof err)) {
                ol_esc_eprintf("%s: %s\n", prog, err);
                rc = 1;
                goto out;
            }
        }
        src = ol_source_kafka_new(&cfg, prog, stop_at_end);
        if (!src) {
            rc = 1;
            goto out;
        }
        rc = ol_runtime_run(rt, src) ? 1 : 0;
        goto out;
    }
    if (!strcmp(verb, "replay")) {
        rc = ol_service_replay(svc, &cfg, argc - 1, argv + 1);
        goto out;
    }
    if (!strcmp(verb, "events") || !strcmp(verb, "entities")) {
        int (*fn)(const ol_service *, ol_store *, const ol_config *, int, char **) =
            verb[1] == 'v' ? ol_service_events : ol_service_entities;
        ol_store st;
        if ((rc = fn(svc, NULL, &cfg, argc - 1, argv + 1))) /* the arguments first, as args_first */
            goto out;
        if (ol_service_open_ro(svc, path, &st)) {
            rc = 1;
            goto out;
        }
        rc = fn(svc, &st, &cfg, argc - 1, argv + 1);
        ol_store_close(&st);
        goto out;
    }
    if (!strcmp(verb, "dump") || !strcmp(verb, "status")) {
        ol_store st;
        if (ol_service_open_ro(svc, path, &st)) {
            rc = 1;
            goto out;
        }
        int lag = argc > 2 && !strcmp(argv[2], "--lag");
        rc = !strcmp(verb, "dump") ? dump(svc, &st) : status(svc, &st, &cfg, lag);
        ol_store_close(&st);
        goto out;
    }
    for (size_t i = 0; verbs && verbs[i].name; i++) {
        if (strcmp(verbs[i].name, verb))
            continue;
        /* a usage error is told before any file is touched (a missing
         * --week before a missing projection) */
        if (args_first && (rc = verbs[i].fn(NULL, argc - 1, argv + 1, &cfg)))
            goto out;
        ol_store st;
        if (ol_service_open_ro(svc, path, &st)) {
            rc = 1;
            goto out;
        }
        rc = verbs[i].fn(&st, argc - 1, argv + 1, &cfg);
        ol_store_close(&st);
        goto out;
    }
    rc = ol_usage_arg(prog, "unknown verb '", verb, "'");
    usage(svc, verbs);
out:
    if (src)
        src->close(src);
    ol_metrics_free(metrics); /* stops its threads, which read the runtime's store */
    ol_runtime_free(rt);
    ol_schemas_free(schemas);
    ol_config_free(&cfg);
    return rc;
}

int ol_service_main(const ol_service *svc, const ol_verb *verbs, int argc, char **argv)
{
    return service_main(svc, verbs, 0, argc, argv);
}

int ol_service_main_args_first(const ol_service *svc, const ol_verb *verbs, int argc, char **argv)
{
    return service_main(svc, verbs, 1, argc, argv);
}

int ol_svc_topic_known(const ol_service *svc, const char *usage, const char *const *list, const char *topic)
{
    for (size_t i = 0; topic && list && list[i]; i++)
        if (!strcmp(list[i], topic))
            return 1;
    fprintf(stderr, "usage: opsledger-%s %s; T is one of:", svc->name, usage);
    for (size_t i = 0; list && list[i]; i++)
        fprintf(stderr, " %s", list[i]);
    fprintf(stderr, "\n");
    return 0;
}
