/* ol_store — see ol_store.h. */
#include "ol_store.h"
#include "ol_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* mkdir -p */
static int mkdir_parents(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, 0700) && errno != EEXIST ? -1 : 0;
}

/* SPEC 4: projections are readable by their owner only. A directory or LMDB
 * file made before that rule (or by a lax umask) is tightened, with a notice. */
static void make_private(const char *path, mode_t want)
{
    struct stat sb;
    if (stat(path, &sb) || (sb.st_mode & 077) == 0)
        return;
    if (chmod(path, (sb.st_mode & 07700) & want))
        ol_warn("cannot make a state file private|path=%s mode=%04o error=\"%s\"", path,
                (unsigned)(sb.st_mode & 07777), strerror(errno));
    else
        ol_info("state file made private (owner only)|path=%s was=%04o now=%04o", path,
                (unsigned)(sb.st_mode & 07777), (unsigned)((sb.st_mode & 07700) & want));
}

/* The instance lock of a writable store: see ol_store.h. 0, or -1 with err. */
static int take_instance_lock(ol_store *st, const char *path, char *err, size_t errlen)
{
    char lock[4200], pid[32];
    snprintf(lock, sizeof lock, "%s/instance.lock", path);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot open the instance lock: %s", lock, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB)) {
        int e = errno;
        ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        close(fd);
        if (e == EWOULDBLOCK)
            snprintf(err, errlen,
                     "%s is in use by another instance (pid %s): one instance per data directory; stop it "
                     "first, or give this one another --data-dir",
                     path, pid[0] ? pid : "unknown");
        else
            snprintf(err, errlen, "%s: cannot lock: %s", lock, strerror(e));
        return -1;
    }
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) || pwrite(fd, pid, (size_t)len, 0) != len) {
        snprintf(err, errlen, "%s: cannot write the pid: %s", lock, strerror(errno));
        close(fd);
        return -1;
    }
    st->lock_fd = fd;
    return 0;
}

int ol_store_env_fault(int rc)
{
    switch (rc) {
    case MDB_BAD_VALSIZE: /* a key or value this record made too large */
    case MDB_KEYEXIST:
    case MDB_NOTFOUND:
    case MDB_INCOMPATIBLE:
    case EINVAL:
    case -1: /* the service's own verdict on the record */
    case 0:
        return 0;
    default:
        return 1; /* MDB_MAP_FULL, MDB_TXN_FULL, MDB_CORRUPTED, MDB_PANIC, ENOSPC, EIO, ENOMEM, ... */
    }
}

const char *ol_store_strerror(const ol_store *st, int rc, char *buf, size_t len)
{
    struct statvfs vfs;
    const char *path = st && st->path ? st->path : NULL;
    unsigned long long avail = 0;
    int have_space = path && statvfs(path, &vfs) == 0;
    if (have_space)
        avail = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
    /* LMDB reports a short write (the file system ran out of space part way
     * through a page) as EIO; a disk with under 1 MiB free is the cause */
    if (rc == ENOSPC || rc == EDQUOT || (rc == EIO && have_space && avail < (1ULL << 20)))
        snprintf(buf, len, "disk full: %llu bytes free on the file system of %s (%s); free space and restart",
                 avail, path ? path : "the store", strerror(rc));
    else if (rc == MDB_MAP_FULL)
        snprintf(buf, len, "LMDB map is full; raise map_size (%s)", mdb_strerror(rc));
    else
        snprintf(buf, len, "%s", mdb_strerror(rc));
    return buf;
}

/* the address of the environment's data.mdb mapping, from /proc/self/maps
 * (mdb_env_info reports it only with MDB_FIXEDMAP); 0 or -1 */
static int find_map(ol_store *st)
{
    char want[4200], line[4400];
    size_t best = 0;
    FILE *f;
    snprintf(want, sizeof want, "%s/data.mdb", st->path);
    char *real = realpath(want, NULL);
    if (!(f = fopen("/proc/self/maps", "r"))) {
        free(real);
        return -1;
    }
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        int off = 0;
        if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi, &off) < 2 || off <= 0)
            continue;
        char *path = line + off;
        path[strcspn(path, "\n")] = '\0';
        if ((strcmp(path, want) && (!real || strcmp(path, real))) || hi - lo <= best)
            continue;
        best = hi - lo; /* the large mapping is the data; LMDB also maps the lock file */
        st->map = (void *)lo;
        st->map_len = best;
    }
    fclose(f);
    free(real);
    return st->map ? 0 : -1;
}

/* The environment of an ol_store whose path, lock and flags are set:
 * created, opened, and its databases opened (named dbs, or the names it
 * had when dbs is NULL). On failure the environment is closed again and
 * err says why; the lock and the path are the caller's to release. */
static int env_open(ol_store *st, size_t map_bytes, const char *const *dbs, char *err, size_t errlen)
{
    MDB_txn *txn = NULL;
    const char *path = st->path;
    int rc, readonly = st->readonly;
    const char *names[OL_STORE_MAX_DBS];
    size_t nnames = 0;

    if (!dbs) { /* a reopen: the same databases, in the same order */
        for (; nnames < st->ndbs; nnames++)
            names[nnames] = st->db_names[nnames];
    } else
        for (; dbs[nnames]; nnames++) {
            if (nnames == OL_STORE_MAX_DBS) {
                snprintf(err, errlen, "%s: too many databases", path);
                return -1;
            }
            names[nnames] = dbs[nnames];
        }
    MDB_dbi before[OL_STORE_MAX_DBS];
    size_t nbefore = st->ndbs;
    memcpy(before, st->dbi, sizeof before);
    st->ndbs = 0;
    if ((rc = mdb_env_create(&st->env)) || (rc = mdb_env_set_maxdbs(st->env, OL_STORE_MAX_DBS)) ||
        (rc = mdb_env_set_mapsize(st->env, map_bytes)) || (rc = mdb_env_set_maxreaders(st->env, 126))) {
        snprintf(err, errlen, "%s: %s", path, mdb_strerror(rc));
        goto fail;
    }
    /* MDB_NOTLS: readers may be used across threads; read-only opens never
     * take the write lock, so queries run beside the live service. */
    rc = mdb_env_open(st->env, path,
                      (readonly ? MDB_RDONLY : 0) | (st->writemap ? MDB_WRITEMAP : 0) | (st->bulk ? MDB_NOSYNC : 0) |
                          MDB_NOTLS, 0600);
    if (rc) {
        snprintf(err, errlen, "%s: %s", path, mdb_strerror(rc));
        goto fail;
    }
    st->map = NULL;
    if (st->writemap && find_map(st) == 0)
        ol_store_guard(st, st->map, st->map_len); /* a full disk is SIGBUS in a writable map */
    if ((rc = mdb_txn_begin(st->env, NULL, readonly ? MDB_RDONLY : 0, &txn))) {
        snprintf(err, errlen, "%s: %s", path, mdb_strerror(rc));
        goto fail;
    }
    for (size_t i = 0; i < nnames; i++) {
        rc = mdb_dbi_open(txn, names[i], readonly ? 0 : MDB_CREATE, &st->dbi[st->ndbs]);
        if (rc == MDB_NOTFOUND && readonly) {
            /* a directory an older release wrote, not yet opened by this
             * release's service (which creates and upgrades what it needs) */
            snprintf(err, errlen,
                     "%s: database %s is missing: this release of the service has not opened the directory yet "
                     "(written by an older opsledger, or not this service's directory); if it is this service's, "
                     "start the service once (it upgrades the directory), then ask again",
                     path, names[i]);
            goto fail;
        }
        if (rc) {
            snprintf(err, errlen, "%s: database %s: %s", path, names[i], mdb_strerror(rc));
            goto fail;
        }
        /* a reopen hands out the handles it had: callers keep them */
        if (!dbs && (i >= nbefore || st->dbi[st->ndbs] != before[i])) {
            snprintf(err, errlen, "%s: database %s: another handle after reopening", path, names[i]);
            goto fail;
        }
        st->db_names[st->ndbs++] = names[i];
    }
    if ((rc = mdb_txn_commit(txn))) {
        txn = NULL;
        snprintf(err, errlen, "%s: %s", path, mdb_strerror(rc));
        goto fail;
    }
    return 0;
fail:
    if (txn)
        mdb_txn_abort(txn);
    ol_store_unguard(st);
    if (st->env)
        mdb_env_close(st->env);
    st->env = NULL;
    if (!dbs) { /* a failed reopen keeps the list, for the next attempt */
        st->ndbs = nbefore;
        memcpy(st->dbi, before, sizeof before);
    }
    return -1;
}

int ol_store_open(ol_store *st, const char *path, size_t map_bytes, int flags, const char *const *dbs,
                  char *err, size_t errlen)
{
    int readonly = (flags & OL_STORE_RDONLY) != 0;

    memset(st, 0, sizeof *st);
    st->lock_fd = -1;
    st->readonly = readonly;
    st->reserve_min = (size_t)16 << 20;
    st->bulk = !readonly && (flags & OL_STORE_BULK);
    st->writemap = !readonly && (flags & (OL_STORE_BULK | OL_STORE_WRITEMAP));
    if (!readonly) {
        char file[4200];
        if (mkdir_parents(path)) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            return -1;
        }
        if (take_instance_lock(st, path, err, errlen))
            return -1;
        make_private(path, 0700);
        snprintf(file, sizeof file, "%s/data.mdb", path);
        make_private(file, 0600);
        snprintf(file, sizeof file, "%s/lock.mdb", path);
        make_private(file, 0600);
    }
    if (!(st->path = strdup(path))) {
        snprintf(err, errlen, "%s: out of memory", path);
        ol_store_close(st);
        return -1;
    }
    if (env_open(st, map_bytes, dbs, err, errlen)) {
        ol_store_close(st);
        return -1;
    }
    return 0;
}

int ol_store_set_writemap(ol_store *st, int on, char *err, size_t errlen)
{
    MDB_envinfo info;
    int rc;
    on = on != 0;
    if (!st->env || st->readonly || st->bulk) {
        snprintf(err, errlen, "%s: not a live writable store", st->path ? st->path : "?");
        return -1;
    }
    if (st->writemap == on)
        return 0;
    if ((rc = mdb_env_info(st->env, &info))) {
        snprintf(err, errlen, "%s: %s", st->path, mdb_strerror(rc));
        return -1;
    }
    /* every commit of either path is synced: nothing is pending here */
    ol_store_prefault_stop(st); /* its thread works in the map that closes */
    ol_store_unguard(st);
    mdb_env_close(st->env);
    st->env = NULL;
    st->writemap = on;
    /* the reserve measures a batch's growth from its last call: what the
     * pwrite path wrote since is not one batch's */
    st->reserve_end = 0;
    if (env_open(st, info.me_mapsize, NULL, err, errlen) == 0)
        return 0;
    /* back on the path it had, so that the service can go on */
    char again[256];
    st->writemap = !on;
    return env_open(st, info.me_mapsize, NULL, again, sizeof again) == 0 ? 1 : -1;
}

int ol_store_track_db(ol_store *st, const char *name, MDB_dbi dbi)
{
    for (size_t i = 0; i < st->ndbs; i++)
        if (!strcmp(st->db_names[i], name))
            return st->dbi[i] == dbi ? 0 : -1;
    if (st->ndbs == OL_STORE_MAX_DBS)
        return -1;
    st->db_names[st->ndbs] = name;
    st->dbi[st->ndbs++] = dbi;
    return 0;
}

int ol_store_sync(ol_store *st)
{
    return st->env && st->bulk ? mdb_env_sync(st->env, 1) : 0;
}

void ol_store_release(ol_store *st)
{
    MDB_envinfo info;
    MDB_stat stat;
    if (!st->env || st->readonly || mdb_env_info(st->env, &info) || mdb_env_stat(st->env, &stat))
        return;
    if (!st->map && find_map(st))
        return;
    size_t used = ((size_t)info.me_last_pgno + 1) * stat.ms_psize;
    if (used > st->map_len)
        used = st->map_len;
    (void)madvise(st->map, used, MADV_DONTNEED); /* advice: nothing to do when refused */
}

void ol_store_close(ol_store *st)
{
    ol_store_prefault_stop(st);
    ol_store_unguard(st);
    if (st->env) {
        int rc = ol_store_sync(st);
        if (rc)
            ol_error("cannot flush the store to disk|db=%s error=\"%s\"", st->path ? st->path : "?",
                     mdb_strerror(rc));
        mdb_env_close(st->env);
    }
    if (st->lock_fd >= 0)
        close(st->lock_fd); /* releases the instance lock */
    free(st->path);
    memset(st, 0, sizeof *st);
    st->lock_fd = -1;
}

MDB_dbi ol_store_dbi(const ol_store *st, const char *name)
{
    for (size_t i = 0; i < st->ndbs; i++)
        if (strcmp(st->db_names[i], name) == 0)
            return st->dbi[i];
    ol_error("database not declared|db=%s", name);
    abort(); /* a programming error: the name is a literal in the service */
}

void ol_key_init(ol_key *k)
{
    k->n = 0;
    k->overflow = 0;
}

static void key_put(ol_key *k, const void *p, size_t n)
{
    if (k->n + n > sizeof k->b) {
        k->overflow = 1;
        return;
    }
    memcpy(k->b + k->n, p, n);
    k->n += n;
}

void ol_put_be32(void *p, uint32_t v)
{
    uint8_t *b = p;
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
}

void ol_put_be64(void *p, uint64_t v)
{
    ol_put_be32(p, (uint32_t)(v >> 32));
    ol_put_be32((uint8_t *)p + 4, (uint32_t)v);
}

uint32_t ol_be32(const void *p)
{
    const uint8_t *b = p;
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

uint64_t ol_be64(const void *p)
{
    return ((uint64_t)ol_be32(p) << 32) | ol_be32((const uint8_t *)p + 4);
}

void ol_key_u8(ol_key *k, uint8_t v) { key_put(k, &v, 1); }

void ol_key_u32(ol_key *k, uint32_t v)
{
    uint8_t b[4];
    ol_put_be32(b, v);
    key_put(k, b, 4);
}

void ol_key_i32(ol_key *k, int32_t v) { ol_key_u32(k, (uint32_t)v ^ 0x80000000u); }

void ol_key_u64(ol_key *k, uint64_t v)
{
    uint8_t b[8];
    ol_put_be64(b, v);
    key_put(k, b, 8);
}

void ol_key_i64(ol_key *k, int64_t v) { ol_key_u64(k, (uint64_t)v ^ 0x8000000000000000ull); }

int32_t ol_key_get_i32(const void *p) { return (int32_t)(ol_be32(p) ^ 0x80000000u); }
int64_t ol_key_get_i64(const void *p) { return (int64_t)(ol_be64(p) ^ 0x8000000000000000ull); }

void ol_key_str(ol_key *k, const char *s) { key_put(k, s, strlen(s) + 1); }

MDB_val ol_key_val(const ol_key *k)
{
    MDB_val v = {k->n, (void *)k->b};
    return v;
}

int ol_meta_get_i64(MDB_txn *txn, MDB_dbi meta, const char *name, int64_t *out)
{
    MDB_val k = {strlen(name), (void *)name}, v;
    int rc = mdb_get(txn, meta, &k, &v);
    *out = 0;
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (v.mv_size != 8)
        return MDB_CORRUPTED;
    *out = (int64_t)ol_be64(v.mv_data);
    return 0;
}

int ol_meta_put_i64(MDB_txn *txn, MDB_dbi meta, const char *name, int64_t val)
{
    uint8_t b[8];
    MDB_val k = {strlen(name), (void *)name}, v = {8, b};
    ol_put_be64(b, (uint64_t)val);
    return mdb_put(txn, meta, &k, &v, 0);
}

int ol_meta_add_i64(MDB_txn *txn, MDB_dbi meta, const char *name, int64_t delta)
{
    int64_t cur;
    int rc = ol_meta_get_i64(txn, meta, name, &cur);
    return rc ? rc : ol_meta_put_i64(txn, meta, name, cur + delta);
}

int ol_named_get_i32(MDB_txn *txn, MDB_dbi dbi, const char *name, int32_t *out)
{
    MDB_val k = {strlen(name), (void *)name}, v;
    int rc = mdb_get(txn, dbi, &k, &v);
    if (rc)
        return rc;
    if (v.mv_size != 4)
        return MDB_CORRUPTED;
    *out = ol_key_get_i32(v.mv_data);
    return 0;
}

int ol_named_put_i32(MDB_txn *txn, MDB_dbi dbi, const char *name, int32_t val)
{
    uint8_t b[4];
    ol_put_be32(b, (uint32_t)val ^ 0x80000000u); /* as ol_key_i32: sorts by value */
    MDB_val k = {strlen(name), (void *)name}, v = {4, b};
    return mdb_put(txn, dbi, &k, &v, 0);
}

int ol_meta_offset_get(MDB_txn *txn, MDB_dbi meta, const char *topic, int32_t partition, int64_t *next)
{
    char name[300];
    snprintf(name, sizeof name, "offset/%s/%d", topic, partition);
    return ol_meta_get_i64(txn, meta, name, next);
}

int ol_meta_offset_put(MDB_txn *txn, MDB_dbi meta, const char *topic, int32_t partition, int64_t next)
{
    char name[300];
    snprintf(name, sizeof name, "offset/%s/%d", topic, partition);
    return ol_meta_put_i64(txn, meta, name, next);
}

/* Does the stored value v hold exactly head then the n strings? */
static int record_equal(const MDB_val *v, const void *head, size_t hl, const char *const *strs, const size_t *sl,
                        int n, size_t total)
{
    if (v->mv_size != total || memcmp(v->mv_data, head, hl))
        return 0;
    const char *p = (const char *)v->mv_data + hl;
    for (int i = 0; i < n; p += sl[i], i++)
        if (memcmp(p, strs[i], sl[i]))
            return 0;
    return 1;
}

/* The put helpers below write only a change (LMDB copies a leaf page on any
 * put, even of the same bytes). They try the insert first with
 * MDB_NOOVERWRITE, which hands back the stored value when the key exists:
 * a new row costs one B-tree descent instead of a look-up and a put
 * (issue 15: billing's three index rows per time entry were 13 % of its
 * replay), an unchanged one costs one, a changed one two. */
int ol_put_record(MDB_txn *txn, MDB_dbi dbi, const ol_key *k, const void *head, size_t hl, const char *const *strs,
                  int n)
{
    size_t total = hl, sl[OL_RECORD_MAX_STRS];
    if (k->overflow || n < 0 || n > OL_RECORD_MAX_STRS)
        return -1;
    for (int i = 0; i < n; i++)
        total += (sl[i] = strlen(strs[i]) + 1);
    MDB_val kv = ol_key_val(k), v = {total, NULL};
    int rc = mdb_put(txn, dbi, &kv, &v, MDB_RESERVE | MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST) {
        if (record_equal(&v, head, hl, strs, sl, n, total))
            return 0; /* unchanged */
        v.mv_size = total;
        v.mv_data = NULL;
        rc = mdb_put(txn, dbi, &kv, &v, MDB_RESERVE);
    }
    if (rc)
        return rc;
    char *p = v.mv_data;
    memcpy(p, head, hl);
    p += hl;
    for (int i = 0; i < n; i++) {
        memcpy(p, strs[i], sl[i]);
        p += sl[i];
    }
    return 0;
}

int ol_put_unless_same(MDB_txn *txn, MDB_dbi dbi, MDB_val *k, MDB_val *v)
{
    MDB_val old = *v; /* MDB_KEYEXIST points it at the stored value; the caller's stays its own */
    int rc = mdb_put(txn, dbi, k, &old, MDB_NOOVERWRITE);
    if (rc != MDB_KEYEXIST)
        return rc;
    if (old.mv_size == v->mv_size && (!v->mv_size || !memcmp(old.mv_data, v->mv_data, v->mv_size)))
        return 0; /* unchanged */
    return mdb_put(txn, dbi, k, v, 0);
}

int ol_put_key_unless_same(MDB_txn *txn, MDB_dbi dbi, const ol_key *k, const void *v, size_t vl)
{
    if (k->overflow)
        return -1;
    MDB_val kv = ol_key_val(k), vv = {vl, (void *)v};
    return ol_put_unless_same(txn, dbi, &kv, &vv);
}

int ol_del_key(MDB_txn *txn, MDB_dbi dbi, const ol_key *k)
{
    if (k->overflow)
        return -1;
    MDB_val kv = ol_key_val(k);
    int rc = mdb_del(txn, dbi, &kv, NULL);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int ol_get_record(MDB_txn *txn, MDB_dbi dbi, const ol_key *k, void *head, size_t hl, const char **str)
{
    if (k->overflow)
        return -1;
    MDB_val kv = ol_key_val(k), v;
    int rc = mdb_get(txn, dbi, &kv, &v);
    if (rc)
        return rc;
    if (v.mv_size < hl + 1)
        return MDB_CORRUPTED;
    memcpy(head, v.mv_data, hl);
    if (str)
        *str = (const char *)v.mv_data + hl;
    return 0;
}

/* ---- rewriting a database under new keys (a layout upgrade) */
struct rekey_row {
    size_t off, klen, vlen; /* in the copy buffer: the new key, then the value */
    const uint8_t *base;    /* the buffer, set once it stops moving */
};

static int rekey_cmp(const void *a, const void *b)
{
    const struct rekey_row *x = a, *y = b;
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = memcmp(x->base + x->off, y->base + y->off, n);
    return c ? c : (x->klen > y->klen) - (x->klen < y->klen);
}

int ol_store_rekey(MDB_txn *txn, MDB_dbi dbi, int (*rekey)(const MDB_val *k, ol_key *nk, void *arg), void *arg,
                   size_t *n)
{
    MDB_cursor *c = NULL;
    MDB_val k, v;
    struct rekey_row *rows = NULL;
    uint8_t *buf = NULL;
    size_t nr = 0, capr = 0, used = 0, cap = 0;
    int rc;
    *n = 0;
    if ((rc = mdb_cursor_open(txn, dbi, &c)))
        return rc;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        ol_key nk;
        if ((rc = rekey(&k, &nk, arg)))
            goto out;
        if (nk.overflow) {
            rc = MDB_BAD_VALSIZE;
            goto out;
        }
        if (nr == capr) {
            struct rekey_row *r = realloc(rows, (capr = capr ? 2 * capr : 1024) * sizeof *rows);
            if (!r) {
                rc = ENOMEM;
                goto out;
            }
            rows = r;
        }
        if (used + nk.n + v.mv_size > cap) {
            size_t want = cap ? 2 * cap : 1 << 20;
            while (want < used + nk.n + v.mv_size)
                want *= 2;
            uint8_t *b = realloc(buf, want);
            if (!b) {
                rc = ENOMEM;
                goto out;
            }
            buf = b, cap = want;
        }
        rows[nr] = (struct rekey_row){used, nk.n, v.mv_size, NULL};
        memcpy(buf + used, nk.b, nk.n);
        memcpy(buf + used + nk.n, v.mv_data, v.mv_size);
        used += nk.n + v.mv_size;
        nr++;
    }
    if (rc != MDB_NOTFOUND)
        goto out;
    mdb_cursor_close(c);
    c = NULL;
    for (size_t i = 0; i < nr; i++)
        rows[i].base = buf;
    if (nr)
        qsort(rows, nr, sizeof *rows, rekey_cmp);
    if ((rc = mdb_drop(txn, dbi, 0)))
        goto out;
    for (size_t i = 0; i < nr; i++) {
        MDB_val nk = {rows[i].klen, buf + rows[i].off}, nv = {rows[i].vlen, buf + rows[i].off + rows[i].klen};
        /* two old keys that map to one new key: the second is refused, not lost silently */
        if ((rc = mdb_put(txn, dbi, &nk, &nv, MDB_APPEND)))
            goto out;
    }
    *n = nr;
out:
    if (c)
        mdb_cursor_close(c);
    free(rows);
    free(buf);
    return rc;
}
