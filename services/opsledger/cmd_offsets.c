/* opsledger offsets show|reset SERVICE — the operator's side of SPEC section
 * 4, "Offsets": a service stops rather than skip or re-read records when a
 * stored offset lies outside the broker's range (ol_offsets.h); this command
 * shows the stored offsets against the watermarks and resolves a fault
 * explicitly:
 *
 *   offsets show SERVICE [--db DIR]
 *   offsets reset SERVICE --to-beginning | --to-end [--topic T [--partition P]]
 *   offsets reset SERVICE --topic T --partition P --offset O
 *           [--db DIR] [--dry-run]
 *
 * The service's environment is found as `status` finds it: --db DIR, else
 * <data_dir>/SERVICE (--data-dir D, -o data_dir=D, $OPSLEDGER_DATA_DIR).
 * A reset writes every new offset, and a record of itself (meta key
 * offsets_reset/<n>: when, who, what, each old and new offset), in ONE LMDB
 * write transaction, logs one line, and is refused while another process
 * has the environment open (the running service). */
#include "cli.h"
#include "ol_escape.h"
#include "ol_kafka.h"
#include "ol_log.h"
#include "ol_offsets.h"
#include "ol_store.h"
#include "ol_svcmain.h"

#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define OFF_MAX 4096 /* partitions one reset changes */

struct off_change {
    char topic[256];
    int32_t partition;
    int64_t old;  /* -1: none stored */
    int64_t next; /* -1: delete (the partition no longer exists) */
    int64_t low, high;
};

static void offsets_usage(FILE *f)
{
    fputs("usage: opsledger offsets show SERVICE [--db DIR] [--data-dir D]\n"
          "       opsledger offsets reset SERVICE --to-beginning|--to-end [--topic T [--partition P]]\n"
          "                                [--db DIR] [--data-dir D] [--dry-run]\n"
          "       opsledger offsets reset SERVICE --topic T --partition P --offset O [--db DIR] [--data-dir D]\n"
          "                                [--dry-run]\n",
          f);
}

/* the service's environment must exist: a reset never creates one */
static int env_exists(const char *path)
{
    char f[4200];
    struct stat sb;
    snprintf(f, sizeof f, "%s/data.mdb", path);
    return stat(f, &sb) == 0;
}

static void who(char *buf, size_t len)
{
    char host[256] = "?";
    const char *user = getenv("SUDO_USER");
    struct passwd *pw = NULL;
    if (!user || !*user) {
        pw = getpwuid(geteuid());
        user = pw ? pw->pw_name : NULL;
    }
    if (gethostname(host, sizeof host - 1))
        snprintf(host, sizeof host, "?");
    host[sizeof host - 1] = '\0';
    if (user)
        snprintf(buf, len, "%s@%s", user, host);
    else
        snprintf(buf, len, "uid%u@%s", (unsigned)geteuid(), host);
}

static void now_utc(char *buf, size_t len)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* refuses (1, message printed) when another process has the environment open */
static int refuse_if_open(const char *path)
{
    pid_t pid = ol_offsets_env_user(path);
    if (pid == 0)
        return 0;
    if (pid < 0) {
        ol_esc_eprintf("opsledger offsets: cannot tell whether %s is in use (lock.mdb: %s); nothing changed\n", path,
                       strerror(errno));
        return 1;
    }
    char f[64], cmd[256] = "";
    snprintf(f, sizeof f, "/proc/%d/cmdline", (int)pid);
    FILE *c = fopen(f, "r");
    if (c) {
        size_t n = fread(cmd, 1, sizeof cmd - 1, c);
        cmd[n] = '\0';
        for (size_t i = 0; i + 1 < n; i++)
            if (cmd[i] == '\0')
                cmd[i] = ' ';
        fclose(c);
    }
    ol_esc_eprintf("opsledger offsets: %s is open by process %d (%s): stop the service first (a reset under a running "
                   "service would be overwritten by its next batch); nothing changed\n",
                   path, (int)pid, cmd[0] ? cmd : "?");
    return 1;
}

/* a reset record (n bytes of t, trailing NULs dropped) on stdout, each line
 * escaped for the terminal (it names topics and the operator, SUDO_USER
 * included), the lines after the first indented by indent */
static void put_record(ol_esc_arena *esc, const char *t, size_t n, const char *indent)
{
    while (n && t[n - 1] == '\0')
        n--;
    for (;;) {
        const char *nl = memchr(t, '\n', n);
        size_t l = nl ? (size_t)(nl - t) : n;
        fputs(ol_esc_a_n(esc, OL_ESC_TEXT, t, l), stdout);
        if (!nl)
            break;
        printf("\n%s", indent);
        t = nl + 1;
        n -= l + 1;
    }
    ol_esc_arena_reset(esc);
}

static int show(const char *service, const char *path, const ol_config *cfg)
{
    static const char *const dbs[] = {"meta", NULL};
    ol_store st;
    char err[512];
    MDB_txn *txn;
    MDB_cursor *c;
    MDB_val k, v;
    int rc, faults = 0, unknown = 0;
    ol_esc_arena esc = OL_ESC_ARENA_INIT; /* the path and the topics, as stdout shows them */

    if (ol_store_open(&st, path, 1ULL << 30, OL_STORE_RDONLY, dbs, err, sizeof err)) {
        ol_esc_eprintf("opsledger offsets show: %s\n", err);
        return 1;
    }
    rd_kafka_t *rk = ol_kafka_consumer(cfg, "opsledger-offsets", 0, err, sizeof err);
    if (!rk)
        ol_esc_eprintf("opsledger offsets show: kafka: %s (watermarks unknown)\n", err);
    if ((rc = mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn))) {
        fprintf(stderr, "opsledger offsets show: %s\n", mdb_strerror(rc));
        if (rk)
            rd_kafka_destroy(rk);
        ol_store_close(&st);
        return 1;
    }
    printf("service %s (%s)\n", service, ol_esc_a(&esc, OL_ESC_TEXT, path));
    printf("  %-32s %9s %12s %12s %12s  %s\n", "topic", "partition", "stored", "low", "high", "lag");
    if ((rc = mdb_cursor_open(txn, ol_store_dbi(&st, "meta"), &c)) == 0) {
        for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            char topic[256], text[200];
            int32_t p;
            int64_t lo = -1, hi = -1;
            if (v.mv_size != 8 || !ol_offsets_parse_key(&k, topic, sizeof topic, &p))
                continue;
            int64_t next = (int64_t)ol_be64(v.mv_data);
            /* escaped, then padded: the column holds what the terminal shows */
            const char *shown = ol_esc_a(&esc, OL_ESC_TEXT, topic);
            rd_kafka_resp_err_t e = rk ? ol_offsets_watermarks(rk, topic, p, 5000, &lo, &hi) : RD_KAFKA_RESP_ERR__FAIL;
            if (rk && ol_offsets_partition_gone(e)) {
                faults++;
                printf("  %-32s %9" PRId32 " %12" PRId64 " %12s %12s  ? (the partition no longer exists: topic "
                       "recreated with fewer partitions?)\n",
                       shown, p, next, "-", "-");
                ol_esc_arena_reset(&esc);
                continue;
            }
            if (e) {
                unknown++;
                printf("  %-32s %9" PRId32 " %12" PRId64 " %12s %12s  unknown (%s)\n", shown, p, next, "?", "?",
                       rk ? rd_kafka_err2str(e) : "no broker");
                ol_esc_arena_reset(&esc);
                continue;
            }
            faults += ol_offsets_lag_text(text, sizeof text, next, lo, hi);
            printf("  %-32s %9" PRId32 " %12" PRId64 " %12" PRId64 " %12" PRId64 "  %s\n", shown, p, next, lo, hi,
                   text);
            ol_esc_arena_reset(&esc);
        }
        mdb_cursor_close(c);
        /* the reset history, every record in full */
        char pre[] = OL_OFFSETS_RESET_PREFIX;
        k.mv_size = strlen(pre);
        k.mv_data = pre;
        int first = 1;
        if (mdb_cursor_open(txn, ol_store_dbi(&st, "meta"), &c) == 0) {
            for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0 && ol_offsets_is_reset_key(&k);
                 rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
                if (first)
                    printf("resets:\n");
                first = 0;
                printf("  %s ", ol_esc_a_n(&esc, OL_ESC_TEXT, k.mv_data, k.mv_size));
                put_record(&esc, v.mv_data, v.mv_size, "      ");
                putchar('\n');
            }
            mdb_cursor_close(c);
        }
    }
    mdb_txn_abort(txn);
    if (rk)
        rd_kafka_destroy(rk);
    ol_store_close(&st);
    ol_esc_arena_reset(&esc);
    if (esc.failed) { /* a name shown as U+FFFD: not a good answer */
        fprintf(stderr, "opsledger offsets show: out of memory\n");
        return 1;
    }
    if (faults)
        ol_esc_eprintf("opsledger offsets show: %d stored offset(s) out of the broker's range: the service refuses to "
                       "run; resolve with opsledger offsets reset %s ...\n",
                       faults, service);
    return faults ? 1 : unknown ? 2 : 0;
}

/* the stored offsets of the meta database into ch[] (next = old for now) */
static int read_stored(MDB_txn *txn, MDB_dbi meta, struct off_change *ch, int *n)
{
    MDB_cursor *c;
    MDB_val k, v;
    int rc = mdb_cursor_open(txn, meta, &c);
    if (rc)
        return rc;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (v.mv_size != 8 || !ol_offsets_parse_key(&k, ch[*n].topic, sizeof ch[0].topic, &ch[*n].partition))
            continue;
        if (*n == OFF_MAX) {
            mdb_cursor_close(c);
            return -1;
        }
        ch[*n].old = ch[*n].next = (int64_t)ol_be64(v.mv_data);
        (*n)++;
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int find(struct off_change *ch, int n, const char *topic, int32_t p)
{
    for (int i = 0; i < n; i++)
        if (ch[i].partition == p && !strcmp(ch[i].topic, topic))
            return i;
    return -1;
}

int cmd_offsets(int argc, char **argv, ol_config *cfg)
{
    const char *verb = argc > 1 ? argv[1] : NULL, *service = argc > 2 ? argv[2] : NULL;
    const char *db = NULL, *topic = NULL;
    int to_beginning = 0, to_end = 0, dry = 0, rc = 2;
    long long partition = -1, offset = -1;
    char path[4096], err[512];

    if (!verb || !service || (strcmp(verb, "show") && strcmp(verb, "reset")) || service[0] == '-' ||
        strchr(service, '/')) {
        offsets_usage(stderr);
        return 2;
    }
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        char *end;
        if (!strcmp(a, "--db") && has)
            db = argv[++i];
        else if (!strcmp(a, "--to-beginning"))
            to_beginning = 1;
        else if (!strcmp(a, "--to-end"))
            to_end = 1;
        else if (!strcmp(a, "--dry-run"))
            dry = 1;
        else if (!strcmp(a, "--topic") && has)
            topic = argv[++i];
        else if ((!strcmp(a, "--partition") || !strcmp(a, "--offset")) && has) {
            errno = 0;
            long long x = strtoll(argv[++i], &end, 10);
            if (errno || *end || end == argv[i] || x < 0 || (a[2] == 'p' && x > INT32_MAX))
                return ol_usage_arg("opsledger offsets", a[2] == 'p' ? "--partition " : "--offset ", argv[i],
                                    ": expected a number >= 0");
            if (a[2] == 'p')
                partition = x;
            else
                offset = x;
        } else {
            int rc = ol_usage_arg("opsledger offsets", "unknown argument ", a, NULL);
            offsets_usage(stderr);
            return rc;
        }
    }
    ol_service_db_path(cfg, service, db, path, sizeof path);
    if (!env_exists(path)) {
        ol_esc_eprintf("opsledger offsets: no projection of %s at %s (give --data-dir D or --db DIR)\n", service, path);
        return 1;
    }
    if (!strcmp(verb, "show")) {
        if (to_beginning || to_end || dry || topic || partition >= 0 || offset >= 0) {
            offsets_usage(stderr);
            return 2;
        }
        return show(service, path, cfg);
    }

    /* reset: exactly one mode */
    int explicit_off = offset >= 0;
    if (to_beginning + to_end + explicit_off != 1 || (explicit_off && (!topic || partition < 0)) ||
        (partition >= 0 && !topic)) {
        fprintf(stderr, "opsledger offsets reset: give one of --to-beginning, --to-end, or --topic T --partition P "
                        "--offset O\n");
        offsets_usage(stderr);
        return 2;
    }
    if (refuse_if_open(path))
        return 1;

    static const char *const dbs[] = {"meta", NULL};
    struct off_change *ch = calloc(OFF_MAX, sizeof *ch);
    rd_kafka_t *rk = NULL;
    ol_store st;
    MDB_txn *txn = NULL;
    int opened = 0, n = 0, mdb;
    char *text = NULL, *by_shown = NULL;
    int64_t map_bytes;

    if (!ch) {
        fprintf(stderr, "opsledger offsets reset: out of memory\n");
        return 1;
    }
    rc = 1;
    if (ol_config_get_i64(cfg, "map_size", 16LL << 30, &map_bytes, err, sizeof err) ||
        ol_store_open(&st, path, (size_t)map_bytes, 0, dbs, err, sizeof err)) {
        ol_esc_eprintf("opsledger offsets reset: %s\n", err);
        goto out;
    }
    opened = 1;
    if (!(rk = ol_kafka_consumer(cfg, "opsledger-offsets", 0, err, sizeof err))) {
        ol_esc_eprintf("opsledger offsets reset: kafka: %s\n", err);
        goto out;
    }
    if ((mdb = mdb_txn_begin(st.env, NULL, 0, &txn)) ||
        (mdb = read_stored(txn, ol_store_dbi(&st, "meta"), ch, &n))) {
        ol_esc_eprintf("opsledger offsets reset: %s: %s\n", path,
                       mdb > 0 || mdb < -1 ? mdb_strerror(mdb) : "too many offsets");
        goto out;
    }
    int nstored = n;

    /* the partitions to set: one, or every partition of each topic named
     * (--topic) or having a stored offset */
    const char *topics[OFF_MAX];
    int ntopics = 0;
    if (topic) {
        /* a topic opsledger knows (a misspelt one is refused, naming the
         * nearest: the embedded broker would create it); one the service has
         * no stored offset for may be an input not read yet (kept, said) or
         * another service's (the tool does not link the services to ask) */
        int known = 0;
        for (int i = 0; i < nstored && !known; i++)
            known = !strcmp(ch[i].topic, topic);
        if (!known) {
            ol_schemas *sch = cli_load_schemas(cfg);
            int bad = !sch || cli_check_topic(sch, topic, "opsledger offsets reset");
            ol_schemas_free(sch);
            if (bad) {
                rc = 2;
                goto out;
            }
            ol_esc_eprintf("opsledger offsets reset: note: %s has no stored offset for %s yet; if it is not one of "
                           "its inputs, this reset is never read\n",
                           service, topic);
        }
        topics[ntopics++] = topic;
    }
    else
        for (int i = 0; i < nstored; i++) {
            int dup = 0;
            for (int j = 0; j < ntopics; j++)
                dup |= !strcmp(topics[j], ch[i].topic);
            if (!dup)
                topics[ntopics++] = ch[i].topic;
        }
    if (ntopics == 0) {
        ol_esc_eprintf("opsledger offsets reset: %s has no stored offsets (it reads every partition from the "
                       "beginning already); nothing changed\n",
                       service);
        rc = 0;
        goto out;
    }
    for (int t = 0; t < ntopics; t++) {
        int np = ol_kafka_partitions(rk, topics[t], 5000, err, sizeof err);
        if (np <= 0) {
            ol_esc_eprintf("opsledger offsets reset: %s; nothing changed\n", err);
            goto out;
        }
        if (explicit_off && partition >= np) {
            ol_esc_eprintf("opsledger offsets reset: %s has %d partitions, no partition %lld; nothing changed\n",
                           topics[t], np, partition);
            goto out;
        }
        for (int p = 0; p < np; p++) {
            if (partition >= 0 && p != partition)
                continue;
            int64_t lo, hi;
            rd_kafka_resp_err_t e = ol_offsets_watermarks(rk, topics[t], p, 10000, &lo, &hi);
            if (e) {
                ol_esc_eprintf("opsledger offsets reset: watermarks of %s [%d]: %s; nothing changed\n", topics[t], p,
                               rd_kafka_err2str(e));
                goto out;
            }
            int i = find(ch, n, topics[t], p);
            if (i < 0 && to_beginning)
                continue; /* no stored offset: it starts at the beginning already */
            if (i < 0) {
                if (n == OFF_MAX) {
                    fprintf(stderr, "opsledger offsets reset: more than %d partitions; nothing changed\n", OFF_MAX);
                    goto out;
                }
                i = n++;
                snprintf(ch[i].topic, sizeof ch[i].topic, "%s", topics[t]);
                ch[i].partition = p;
                ch[i].old = -1;
            }
            ch[i].low = lo;
            ch[i].high = hi;
            ch[i].next = to_beginning ? lo : to_end ? hi : offset;
            if (explicit_off && ol_offsets_check(offset, lo, hi) != OL_OFFSETS_IN_RANGE) {
                ol_esc_eprintf(
                    "opsledger offsets reset: offset %lld is outside %s [%d] (low %lld, high %lld): the service "
                    "would refuse it; nothing changed\n",
                    offset, topics[t], p, (long long)lo, (long long)hi);
                goto out;
            }
        }
        /* stored offsets of partitions the topic no longer has: removed */
        if (partition < 0)
            for (int i = 0; i < nstored; i++)
                if (!strcmp(ch[i].topic, topics[t]) && ch[i].partition >= np) {
                    ch[i].next = -1;
                    ch[i].low = ch[i].high = -1;
                }
    }

    /* the record: a header line, then one line per partition changed */
    char at[32], by[300], mode[600];
    now_utc(at, sizeof at);
    who(by, sizeof by);
    /* the operator's name (SUDO_USER, the passwd entry) is one field of the
     * record's first line: escaped for the terminal, a line break in it
     * cannot split the record nor forge a line of it. (The topics in it are
     * names the broker knows: every one was asked for its partitions.) */
    if (!(by_shown = ol_esc(OL_ESC_TEXT, by))) {
        fprintf(stderr, "opsledger offsets reset: out of memory\n");
        goto out;
    }
    if (explicit_off)
        snprintf(mode, sizeof mode, "offset %s/%lld=%lld", topic, partition, offset);
    else if (topic && partition >= 0)
        snprintf(mode, sizeof mode, "%s %s/%lld", to_beginning ? "to-beginning" : "to-end", topic, partition);
    else if (topic)
        snprintf(mode, sizeof mode, "%s %s", to_beginning ? "to-beginning" : "to-end", topic);
    else
        snprintf(mode, sizeof mode, "%s", to_beginning ? "to-beginning" : "to-end");
    int changed = 0;
    for (int i = 0; i < n; i++)
        changed += ch[i].next != ch[i].old;
    size_t cap = 1024 + strlen(by_shown) + (size_t)n * 400, len = 0;
    if (!(text = malloc(cap))) {
        fprintf(stderr, "opsledger offsets reset: out of memory\n");
        goto out;
    }
    len += (size_t)snprintf(text + len, cap - len, "at=%s by=%s pid=%d mode=\"%s\" changed=%d", at, by_shown,
                            (int)getpid(), mode, changed);
    for (int i = 0; i < n; i++) {
        char o[24];
        if (ch[i].next == ch[i].old)
            continue;
        if (ch[i].old < 0)
            snprintf(o, sizeof o, "none");
        else
            snprintf(o, sizeof o, "%lld", (long long)ch[i].old);
        if (ch[i].next < 0)
            len += (size_t)snprintf(text + len, cap - len, "\n%s/%d %s -> removed (the topic has no such partition)",
                                    ch[i].topic, ch[i].partition, o);
        else
            len += (size_t)snprintf(text + len, cap - len, "\n%s/%d %s -> %lld (low %lld, high %lld)", ch[i].topic,
                                    ch[i].partition, o, (long long)ch[i].next, (long long)ch[i].low,
                                    (long long)ch[i].high);
    }

    /* one transaction: the offsets and the record */
    MDB_dbi meta = ol_store_dbi(&st, "meta");
    int64_t number = 0;
    mdb = 0;
    for (int i = 0; i < n && !mdb; i++) {
        if (ch[i].next == ch[i].old)
            continue;
        if (ch[i].next >= 0)
            mdb = ol_meta_offset_put(txn, meta, ch[i].topic, ch[i].partition, ch[i].next);
        else {
            char key[300];
            snprintf(key, sizeof key, "offset/%s/%d", ch[i].topic, ch[i].partition);
            MDB_val kk = {strlen(key), key};
            mdb = mdb_del(txn, meta, &kk, NULL);
        }
    }
    if (!mdb && changed)
        mdb = ol_offsets_put_reset(txn, meta, text, &number);
    if (mdb) {
        ol_esc_eprintf("opsledger offsets reset: %s: %s; nothing changed\n", path, mdb_strerror(mdb));
        goto out;
    }
    {
        ol_esc_arena esc = OL_ESC_ARENA_INIT;
        fputs(dry ? "(dry run, nothing written) " : "", stdout);
        put_record(&esc, text, strlen(text), "");
        putchar('\n');
        if (esc.failed) {
            fprintf(stderr, "opsledger offsets reset: out of memory; nothing changed\n");
            goto out;
        }
    }
    if (dry || !changed) {
        mdb_txn_abort(txn);
        txn = NULL;
        if (!changed)
            fprintf(stderr, "opsledger offsets reset: every offset is already there; nothing changed\n");
        rc = 0;
        goto out;
    }
    mdb = mdb_txn_commit(txn);
    txn = NULL;
    if (mdb) {
        ol_esc_eprintf("opsledger offsets reset: %s: commit: %s; nothing changed\n", path, mdb_strerror(mdb));
        goto out;
    }
    ol_info("offsets reset|service=%s db=%s record=" OL_OFFSETS_RESET_PREFIX "%06lld by=%s mode=\"%s\" changed=%d",
            service, path, (long long)number, by_shown, mode, changed);
    rc = 0;
out:
    if (txn)
        mdb_txn_abort(txn);
    if (rk)
        rd_kafka_destroy(rk);
    if (opened)
        ol_store_close(&st);
    free(text);
    free(by_shown);
    free(ch);
    return rc;
}
