/* ol_store_prefault — the reserved pages of a writable map faulted in by a
 * thread of their own.
 *
 * Exists because of where a replay and a catch-up spent their time (issue
 * 15, tests/bench/README.md): 10-14 % of `opsledger replay billing` was the
 * kernel zero-filling the page-cache pages that a writable map (MDB_WRITEMAP)
 * faults in over data.mdb's unwritten blocks, page after page as LMDB
 * allocates them at the end of its data, on the one core that folds.
 * ol_store_reserve has already allocated those blocks (fallocate) before the
 * batch began; this thread takes the range it reserved and faults it in
 * ahead of LMDB with madvise(MADV_POPULATE_WRITE) (Linux 5.14), on the
 * machine's other core, so that LMDB's first store into a page finds it
 * present.
 *
 * Why it is safe:
 * - MADV_POPULATE_WRITE only prepares page-table entries (as a write fault
 *   would, without writing): it changes no byte of the file, so LMDB
 *   writing the same pages at the same time sees its own bytes.
 * - It runs only over blocks the reserve allocated, so it cannot meet a
 *   full disk; an error (EIO, a kernel without the advice: EINVAL) stops
 *   the thread for good, and LMDB faults the pages in itself as before.
 * - The thread never outlives the mapping: ol_store_prefault_stop (called
 *   by ol_store_close and before ol_store_set_writemap closes the
 *   environment) stops it between two chunks and joins it.
 * - The pages it dirties beyond the data are zeros the file already reads
 *   as; LMDB's meta page, written by the commit alone, says where the data
 *   ends, so a crash leaves what it left before.
 * At most OL_PREFAULT_AHEAD bytes past the committed end are populated
 * (page cache, shared and reclaimable: resident file memory, never
 * anonymous).
 *
 * Bulk stores only (a replay: MDB_NOSYNC, one sync at the end). The pages
 * it faults in are dirty zeros until LMDB fills them; a store that syncs
 * every commit (a live catch-up on the map) would write each of them twice,
 * once as zeros: a review measured 20 % more bytes written and no gain
 * there. A bulk store writes them once, at its final sync. */
#include "ol_log.h"
#include "ol_store.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14; glibc 2.36 names it, older headers may not */
#endif

#define OL_PREFAULT_AHEAD ((size_t)64 << 20) /* bytes past the committed end */
#define OL_PREFAULT_CHUNK ((size_t)2 << 20)   /* populated per call; the stop flag is read between */

struct ol_prefault {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char *map;
    size_t map_len;
    size_t want_from, want_to; /* the latest request, bytes into the map */
    size_t done_to;            /* populated up to here (the thread's own) */
    int stop, failed;
};

static void *prefault_main(void *arg)
{
    struct ol_prefault *pf = arg;
    pthread_mutex_lock(&pf->mu);
    for (;;) {
        while (!pf->stop && !pf->failed && pf->want_to <= pf->done_to)
            pthread_cond_wait(&pf->cv, &pf->mu);
        if (pf->stop || pf->failed)
            break;
        size_t from = pf->done_to > pf->want_from ? pf->done_to : pf->want_from;
        size_t to = pf->want_to;
        if (to - from > OL_PREFAULT_CHUNK)
            to = from + OL_PREFAULT_CHUNK;
        pthread_mutex_unlock(&pf->mu);
        int rc = madvise(pf->map + from, to - from, MADV_POPULATE_WRITE) ? errno : 0;
        pthread_mutex_lock(&pf->mu);
        if (rc && rc != EINTR && rc != EAGAIN) {
            pf->failed = 1; /* LMDB faults its pages in itself, as without this thread */
            ol_info("pages are no longer faulted in ahead of LMDB: the kernel refused the advice (MADV_POPULATE_WRITE "
                    "needs Linux 5.14)|error=\"%s\"",
                    strerror(rc));
        }
        else if (!rc && to > pf->done_to)
            pf->done_to = to;
    }
    pthread_mutex_unlock(&pf->mu);
    return NULL;
}

void ol_store_prefault(ol_store *st, size_t end, size_t reserved_to)
{
    if (!st->map || st->readonly || !st->writemap || !st->bulk)
        return;
    struct ol_prefault *pf = st->prefault;
    if (!pf) {
        if (st->prefault_off || !(pf = calloc(1, sizeof *pf)))
            return;
        pf->map = st->map;
        pf->map_len = st->map_len;
        pthread_mutex_init(&pf->mu, NULL);
        pthread_cond_init(&pf->cv, NULL);
        if (pthread_create(&pf->thread, NULL, prefault_main, pf)) {
            pthread_cond_destroy(&pf->cv);
            pthread_mutex_destroy(&pf->mu);
            free(pf);
            st->prefault_off = 1; /* no thread: LMDB faults its own pages */
            return;
        }
        st->prefault = pf;
    }
    size_t to = reserved_to;
    if (to > end + OL_PREFAULT_AHEAD)
        to = end + OL_PREFAULT_AHEAD;
    if (to > pf->map_len)
        to = pf->map_len;
    pthread_mutex_lock(&pf->mu);
    if (end > pf->done_to)
        pf->done_to = end; /* below the end LMDB has faulted its pages in itself */
    pf->want_from = end;
    pf->want_to = to;
    pthread_cond_signal(&pf->cv);
    pthread_mutex_unlock(&pf->mu);
}

int ol_store_prefault_refused(ol_store *st)
{
    struct ol_prefault *pf = st->prefault;
    if (!pf)
        return 0;
    pthread_mutex_lock(&pf->mu);
    int failed = pf->failed;
    pthread_mutex_unlock(&pf->mu);
    return failed;
}

void ol_store_prefault_stop(ol_store *st)
{
    struct ol_prefault *pf = st->prefault;
    if (!pf)
        return;
    pthread_mutex_lock(&pf->mu);
    pf->stop = 1;
    pthread_cond_signal(&pf->cv);
    pthread_mutex_unlock(&pf->mu);
    pthread_join(pf->thread, NULL);
    pthread_cond_destroy(&pf->cv);
    pthread_mutex_destroy(&pf->mu);
    free(pf);
    st->prefault = NULL;
}
