/* ol_arena — see ol_arena.h: one bump allocator for the strings of one batch,
 * reset at once, its blocks reused. */
#include "ol_arena.h"

#include <stdlib.h>
#include <string.h>

/* makes blocks[a->cur] a block with at least len free bytes; 0 or -1 */
static int arena_room(ol_arena *a, size_t len)
{
    if (a->nblocks && a->used + len <= a->sizes[a->cur])
        return 0;
    /* the next kept block that fits, else a new one */
    size_t next = a->nblocks ? a->cur + 1 : 0;
    for (; next < a->nblocks; next++)
        if (a->sizes[next] >= len) {
            /* keep the order: swap it to the position after cur */
            size_t want = a->nblocks && a->cur + 1 <= next ? a->cur + 1 : next;
            unsigned char *b = a->blocks[want];
            size_t s = a->sizes[want];
            a->blocks[want] = a->blocks[next], a->sizes[want] = a->sizes[next];
            a->blocks[next] = b, a->sizes[next] = s;
            a->cur = want;
            a->used = 0;
            return 0;
        }
    if (a->nblocks == a->capblocks) {
        size_t cap = a->capblocks ? a->capblocks * 2 : 8;
        unsigned char **nb = realloc(a->blocks, cap * sizeof *nb);
        if (!nb)
            return -1;
        a->blocks = nb;
        size_t *ns = realloc(a->sizes, cap * sizeof *ns);
        if (!ns)
            return -1;
        a->sizes = ns;
        a->capblocks = cap;
    }
    size_t size = len > OL_ARENA_BLOCK ? len : OL_ARENA_BLOCK;
    unsigned char *b = malloc(size);
    if (!b)
        return -1;
    a->blocks[a->nblocks] = b;
    a->sizes[a->nblocks] = size;
    a->nblocks++;
    /* the new block is the last one; bring it right after cur */
    size_t want = a->nblocks == 1 ? 0 : a->cur + 1;
    if (want != a->nblocks - 1) {
        unsigned char *t = a->blocks[want];
        size_t s = a->sizes[want];
        a->blocks[want] = a->blocks[a->nblocks - 1], a->sizes[want] = a->sizes[a->nblocks - 1];
        a->blocks[a->nblocks - 1] = t, a->sizes[a->nblocks - 1] = s;
    }
    a->cur = want;
    a->used = 0;
    return 0;
}

void *ol_arena_copy(ol_arena *a, const void *p, size_t len)
{
    size_t need = (len + 7) & ~(size_t)7; /* 8-byte aligned starts */
    if (need == 0)
        need = 8;
    if (arena_room(a, need))
        return NULL;
    unsigned char *dst = a->blocks[a->cur] + a->used;
    if (len)
        memcpy(dst, p, len);
    a->used += need;
    return dst;
}

void ol_arena_reset(ol_arena *a)
{
    a->cur = 0;
    a->used = 0;
}

void ol_arena_free(ol_arena *a)
{
    for (size_t i = 0; i < a->nblocks; i++)
        free(a->blocks[i]);
    free(a->blocks);
    free(a->sizes);
    memset(a, 0, sizeof *a);
}
