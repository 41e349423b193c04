/* ol_arena — see ol_arena.h: one bump allocator for the strings of one batch,
 * reset at once, its blocks reused. */
#include "ol_arena.h"

#include <stdlib.h>
#include <string.h>

/* puts block i at position pos (blocks past cur are free, in any order) */
static void arena_swap(ol_arena *a, size_t i, size_t pos)
{
    unsigned char *b = a->blocks[pos];
    size_t s = a->sizes[pos];
    a->blocks[pos] = a->blocks[i], a->sizes[pos] = a->sizes[i];
    a->blocks[i] = b, a->sizes[i] = s;
}

/* makes blocks[a->cur] a block with at least len free bytes; 0 or -1.
 * Blocks 0..cur hold this batch's copies; the ones after cur are free. */
static int arena_room(ol_arena *a, size_t len)
{
    if (a->nblocks && a->used + len <= a->sizes[a->cur])
        return 0;
    size_t pos = a->nblocks ? a->cur + 1 : 0; /* where the next block goes */
    for (size_t i = pos; i < a->nblocks; i++) /* a kept block that fits */
        if (a->sizes[i] >= len) {
            arena_swap(a, i, pos);
            a->cur = pos;
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
    arena_swap(a, a->nblocks, pos);
    a->nblocks++;
    a->cur = pos;
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
