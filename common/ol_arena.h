/* ol_arena — a bump allocator for short-lived byte strings that all die at
 * once (the dirty keys of one batch). It exists because the runtime copied
 * every marked key with its own malloc and freed each at the batch's end:
 * one allocation per record and more per flush, a visible share of a
 * service's time in perf (malloc/free ~6 %). Blocks are kept across resets,
 * so a steady state allocates nothing. */
#ifndef OL_ARENA_H
#define OL_ARENA_H

#include <stddef.h>

typedef struct ol_arena {
    unsigned char **blocks; /* owned; each OL_ARENA_BLOCK bytes, or larger for one big string */
    size_t *sizes;
    size_t nblocks, capblocks;
    size_t cur;  /* the block being filled */
    size_t used; /* bytes used in blocks[cur] */
} ol_arena;

#define OL_ARENA_BLOCK 65536

/* a zeroed ol_arena is empty and valid */
/* a copy of len bytes of p (len 0 allowed), valid until the next
 * ol_arena_reset or ol_arena_free; the pointer never moves. NULL when out of
 * memory. The arena owns the copy. */
void *ol_arena_copy(ol_arena *a, const void *p, size_t len);
/* forgets every copy; keeps the blocks for reuse */
void ol_arena_reset(ol_arena *a);
/* frees every block; the arena is empty again */
void ol_arena_free(ol_arena *a);

#endif
