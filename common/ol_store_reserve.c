/* ol_store_reserve — disk blocks under a writable LMDB map.
 *
 * Exists because MDB_WRITEMAP changes how a full disk shows itself. Without
 * it LMDB writes pages with pwrite(2) and a full disk is ENOSPC, reported
 * like any error. With it LMDB stores straight into a shared mapping of a
 * sparse data.mdb (LMDB sizes the file to the map), and the first store into
 * a page the file system cannot allocate is SIGBUS: the process dies, and a
 * replay or a live service would stop with a crash instead of a message.
 *
 * Two layers, both for writemap stores only:
 *  1. ol_store_reserve, called before each batch's write transaction,
 *     allocates the file's blocks (fallocate(2)) from the committed end of
 *     the data through a headroom of twice the largest growth a batch of this
 *     process has made (at least lmdb_reserve_mib, 16 MiB by default, at
 *     most 1 GiB; 0 turns this layer off), and beyond that minimum at most
 *     half of what the file system has free (the other services share it).
 *     When not even the minimum is free the batch is not begun, nothing is
 *     allocated, and the caller reports ENOSPC ("disk full: N bytes free
 *     ...") and stops cleanly; a fallocate that fails part way gives its
 *     blocks back (ext4 and XFS keep them), so a refused batch never leaves
 *     the file system at 0 bytes free.
 *  2. A SIGBUS handler for the map's address range, the backstop when a
 *     batch outgrows its reserve as the disk fills (or on btrfs and ZFS,
 *     where an allocated block does not promise that a rewrite fits): it
 *     writes one line naming the cause ("disk full: N bytes free on the file
 *     system of DIR ...", an I/O error, or data.mdb truncated under the map)
 *     and ends the process with _exit(1). A SIGBUS sent with kill keeps its
 *     default action. Nothing of the batch in progress is committed
 *     (LMDB's meta page is written only by the commit), which is the state a
 *     SIGKILL leaves and the crash suite proves safe.
 * The reserved blocks beyond the data stay allocated; LMDB fills them as the
 * projection grows. */
#include "ol_escape.h"
#include "ol_store.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/stat.h>
#include <unistd.h>

#define RESERVE_MAX ((size_t)1 << 30)

int ol_store_reserve_plan(const ol_reserve_in *in, size_t *from, size_t *to)
{
    size_t want = 2 * in->growth;
    want = want < in->min ? in->min : want > RESERVE_MAX ? RESERVE_MAX : want;
    size_t base = in->reserved_to > in->end ? in->reserved_to : in->end; /* below end every page is written */
    size_t hi = in->end + want, lo = in->end + in->min;
    if (in->map_bytes && hi > in->map_bytes)
        hi = in->map_bytes;
    if (in->map_bytes && lo > in->map_bytes)
        lo = in->map_bytes;
    *from = *to = base;
    if (hi <= base)
        return 0; /* reserved far enough already */
    size_t need_lo = lo > base ? lo - base : 0;
    if (need_lo > in->avail)
        return ENOSPC; /* not even the minimum is free: refuse before allocating anything */
    /* beyond the minimum, take at most half of what is free: the other
     * services and the archive share the file system */
    size_t spare = (in->avail - need_lo) / 2;
    if (hi - base > need_lo + spare)
        hi = base + need_lo + spare;
    *to = hi > lo ? hi : lo > base ? lo : base;
    return 0;
}

/* the committed end of the data, in bytes, and the file's descriptor */
static int data_end(ol_store *st, size_t *end, int *fd)
{
    MDB_envinfo info;
    MDB_stat stat;
    int rc;
    if ((rc = mdb_env_info(st->env, &info)) || (rc = mdb_env_stat(st->env, &stat)) || (rc = mdb_env_get_fd(st->env, fd)))
        return rc;
    *end = ((size_t)info.me_last_pgno + 1) * stat.ms_psize;
    if (info.me_mapsize && *end > info.me_mapsize)
        *end = info.me_mapsize;
    st->map_bytes = info.me_mapsize;
    return 0;
}

int ol_store_reserve(ol_store *st)
{
    size_t end, from, to;
    int fd, rc;
    struct statfs fs;
    if (!st->env || !st->writemap || st->readonly || st->reserve_off || !st->reserve_min)
        return 0;
    if ((rc = data_end(st, &end, &fd)))
        return rc;
    if (st->reserve_end && end > st->reserve_end && end - st->reserve_end > st->reserve_growth)
        st->reserve_growth = end - st->reserve_end; /* what the batches since the last call added */
    st->reserve_end = end;
    if (fstatfs(fd, &fs))
        return errno;
    ol_reserve_in in = {.end = end, .reserved_to = st->reserved_to, .growth = st->reserve_growth,
                        .min = st->reserve_min, .map_bytes = st->map_bytes,
                        .avail = (size_t)fs.f_bavail * (size_t)fs.f_bsize};
    if ((rc = ol_store_reserve_plan(&in, &from, &to)))
        return rc;
    if (to <= from) {
        ol_store_prefault(st, end, st->reserved_to); /* what is reserved and not yet faulted in */
        return 0;
    }
    /* fallocate(2) itself: glibc's posix_fallocate would emulate a file
     * system without it by writing a byte into every block */
    do
        rc = fallocate(fd, 0, (off_t)from, (off_t)(to - from)) ? errno : 0;
    while (rc == EINTR);
    if (rc == EOPNOTSUPP || rc == ENOSYS) {
        st->reserve_off = 1; /* no fallocate here: the SIGBUS backstop only */
        return 0;
    }
    if (rc) {
        /* ext4 and XFS keep what a failed fallocate got: give it back, so
         * a refused batch does not leave the file system at 0 bytes free */
        (void)fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)from, (off_t)(to - from));
        return rc == EDQUOT ? EDQUOT : rc;
    }
    st->reserved_to = to;
    ol_store_prefault(st, end, to);
    return 0;
}

/* ------------------------------------------------------------ SIGBUS backstop */

#define GUARDS 4
static struct guard {
    uintptr_t lo, hi;
    int fd;
    char pre[3][4400], post[3][4400]; /* the line for a full disk, an I/O error, a truncated file */
} g_guard[GUARDS];
static volatile sig_atomic_t g_used[GUARDS];
static int g_installed;

static void put(const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(2, s, n);
        if (w <= 0)
            return;
        s += w, n -= (size_t)w;
    }
}

static void put_num(unsigned long long v)
{
    char num[24], *p = num + sizeof num;
    do
        *--p = (char)('0' + v % 10);
    while ((v /= 10) > 0);
    put(p, (size_t)(num + sizeof num - p));
}

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    if (si->si_code <= 0) { /* sent (kill -BUS), not a fault: the default action */
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    uintptr_t a = (uintptr_t)si->si_addr;
    for (int i = 0; i < GUARDS; i++) {
        const struct guard *g = &g_guard[i];
        if (!g_used[i] || a < g->lo || a >= g->hi)
            continue;
        struct statfs v;
        struct stat sb;
        unsigned long long free_b = fstatfs(g->fd, &v) == 0 ? (unsigned long long)v.f_bavail * v.f_bsize : 0;
        unsigned long long off = a - g->lo;
        int k = 1;                 /* a hardware or file-system error */
        unsigned long long n = free_b;
        if (fstat(g->fd, &sb) == 0 && (unsigned long long)sb.st_size <= off)
            k = 2, n = (unsigned long long)sb.st_size; /* the file shrank under the map */
        else if (si->si_code == BUS_ADRERR && free_b < (4ULL << 20))
            k = 0; /* the file system could not give the page a block */
        put(g->pre[k], strlen(g->pre[k]));
        put_num(n);
        put(g->post[k], strlen(g->post[k]));
        _exit(1);
    }
    signal(sig, SIG_DFL); /* a fault outside every store's map: the default action on return */
}

void ol_store_guard(ol_store *st, void *map, size_t len)
{
    int fd;
    if (!st->writemap || st->readonly || mdb_env_get_fd(st->env, &fd))
        return;
    for (int i = 0; i < GUARDS; i++) {
        if (g_used[i])
            continue;
        struct guard *g = &g_guard[i];
        char *path = ol_esc(OL_ESC_TEXT, st->path);
        g->lo = (uintptr_t)map, g->hi = (uintptr_t)map + len, g->fd = fd;
        const char *shown = path ? path : "the store";
        const char *end = "; nothing of the batch in progress is committed";
        snprintf(g->pre[0], sizeof g->pre[0], "level=error msg=\"disk full: ");
        snprintf(g->post[0], sizeof g->post[0],
                 " bytes free on the file system of %s (SIGBUS writing the LMDB map)%s; free space and restart\"\n",
                 shown, end);
        snprintf(g->pre[1], sizeof g->pre[1], "level=error msg=\"I/O error in the LMDB map of %s (SIGBUS; ", shown);
        snprintf(g->post[1], sizeof g->post[1],
                 " bytes free on its file system)%s; check the disk and the file system, and restart\"\n", end);
        snprintf(g->pre[2], sizeof g->pre[2], "level=error msg=\"%s/data.mdb was truncated to ", shown);
        snprintf(g->post[2], sizeof g->post[2],
                 " bytes under the LMDB map (SIGBUS)%s; restore the directory or replay the service\"\n", end);
        free(path);
        st->guard_slot = i + 1;
        g_used[i] = 1;
        if (!g_installed) {
            struct sigaction sa;
            memset(&sa, 0, sizeof sa);
            sa.sa_sigaction = on_sigbus;
            sa.sa_flags = SA_SIGINFO;
            sigemptyset(&sa.sa_mask);
            if (sigaction(SIGBUS, &sa, NULL) == 0)
                g_installed = 1;
        }
        return;
    }
}

void ol_store_unguard(ol_store *st)
{
    if (st->guard_slot > 0)
        g_used[st->guard_slot - 1] = 0;
    st->guard_slot = 0;
}
