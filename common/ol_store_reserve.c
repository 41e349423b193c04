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
 *     most 1 GiB; 0 turns this layer off). When the file system
 *     cannot give even the minimum the batch is not begun and the caller
 *     reports ENOSPC ("disk full: N bytes free ...") and stops cleanly.
 *  2. A SIGBUS handler for the map's address range, the backstop when a
 *     batch outgrows its reserve as the disk fills: it writes one line
 *     ("disk full: N bytes free on the file system of DIR ...") and ends the
 *     process with _exit(1). Nothing of the batch in progress is committed
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
#include <sys/statvfs.h>
#include <unistd.h>

#define RESERVE_MAX ((size_t)1 << 30)

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

static int allocate(int fd, size_t from, size_t to)
{
    if (to <= from)
        return 0;
    int rc = posix_fallocate(fd, (off_t)from, (off_t)(to - from));
    return rc == EINTR ? posix_fallocate(fd, (off_t)from, (off_t)(to - from)) : rc;
}

int ol_store_reserve(ol_store *st)
{
    size_t end;
    int fd, rc;
    if (!st->env || !st->writemap || st->readonly || st->reserve_off || !st->reserve_min)
        return 0;
    if ((rc = data_end(st, &end, &fd)))
        return rc;
    if (st->reserve_end && end > st->reserve_end && end - st->reserve_end > st->reserve_growth)
        st->reserve_growth = end - st->reserve_end; /* what the batches since the last call added */
    st->reserve_end = end;
    size_t want = 2 * st->reserve_growth;
    want = want < st->reserve_min ? st->reserve_min : want > RESERVE_MAX ? RESERVE_MAX : want;
    size_t to = end + want, floor_to = end + st->reserve_min;
    if (st->map_bytes && to > st->map_bytes)
        to = st->map_bytes;
    if (st->map_bytes && floor_to > st->map_bytes)
        floor_to = st->map_bytes;
    if (to <= st->reserved_to)
        return 0;
    rc = allocate(fd, st->reserved_to, to);
    if (rc == ENOSPC && floor_to > st->reserved_to) /* less than the headroom free: the minimum will do */
        rc = allocate(fd, st->reserved_to, to = floor_to);
    else if (rc == ENOSPC)
        rc = 0, to = st->reserved_to;
    if (rc == EOPNOTSUPP || rc == ENOSYS) {
        st->reserve_off = 1; /* a file system without fallocate: the SIGBUS backstop only */
        return 0;
    }
    if (rc)
        return rc;
    st->reserved_to = to;
    return 0;
}

/* ------------------------------------------------------------ SIGBUS backstop */

#define GUARDS 4
static struct guard {
    uintptr_t lo, hi;
    int fd;
    char head[64], tail[4400];
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

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    uintptr_t a = (uintptr_t)si->si_addr;
    for (int i = 0; i < GUARDS; i++) {
        const struct guard *g = &g_guard[i];
        if (!g_used[i] || a < g->lo || a >= g->hi)
            continue;
        char num[24], *p = num + sizeof num;
        struct statvfs v;
        unsigned long long free_b = fstatvfs(g->fd, &v) == 0 ? (unsigned long long)v.f_bavail * v.f_frsize : 0;
        do
            *--p = (char)('0' + free_b % 10);
        while ((free_b /= 10) > 0);
        put(g->head, strlen(g->head));
        put(p, (size_t)(num + sizeof num - p));
        put(g->tail, strlen(g->tail));
        _exit(1);
    }
    signal(sig, SIG_DFL); /* not a store's map: the default action on return */
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
        snprintf(g->head, sizeof g->head, "level=error msg=\"disk full: ");
        snprintf(g->tail, sizeof g->tail,
                 " bytes free on the file system of %s (a write into the LMDB map failed: SIGBUS); nothing of "
                 "the batch in progress is committed; free space and restart\"\n",
                 path ? path : "the store");
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
