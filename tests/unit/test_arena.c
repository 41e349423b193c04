/* test_arena — the dirty keys of a batch live in ol_arena: every copy keeps
 * its bytes and its address while later copies fill more blocks (flush reads
 * keys marked earlier in the batch while marking more), a key larger than a
 * block is copied whole, and a reset reuses the blocks instead of growing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "ol_arena.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NKEYS 40000

static void fill(char *buf, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (char)('a' + (seed * 31 + i) % 26);
}

static void test_copies_stay_put(void **state)
{
    (void)state;
    ol_arena a = {0};
    char **ptr = calloc(NKEYS, sizeof *ptr);
    size_t *len = calloc(NKEYS, sizeof *len);
    char buf[OL_ARENA_BLOCK + 100];
    assert_non_null(ptr);
    assert_non_null(len);
    for (unsigned i = 0; i < NKEYS; i++) {
        len[i] = i == 777 ? sizeof buf : (i * 7) % 64; /* one key larger than a block, some empty */
        fill(buf, len[i], i);
        ptr[i] = ol_arena_copy(&a, buf, len[i]);
        assert_non_null(ptr[i]);
    }
    assert_true(a.nblocks > 2); /* the copies span several blocks */
    for (unsigned i = 0; i < NKEYS; i++) {
        fill(buf, len[i], i);
        if (len[i])
            assert_memory_equal(ptr[i], buf, len[i]);
    }
    ol_arena_free(&a);
    free(ptr);
    free(len);
}

static void test_reset_reuses_blocks(void **state)
{
    (void)state;
    ol_arena a = {0};
    char key[48];
    size_t blocks = 0;
    for (int round = 0; round < 20; round++) {
        for (unsigned i = 0; i < 10000; i++) {
            snprintf(key, sizeof key, "P|person-%05u|week-%02d", i, round);
            char *c = ol_arena_copy(&a, key, strlen(key));
            assert_non_null(c);
            assert_memory_equal(c, key, strlen(key));
        }
        if (round == 0)
            blocks = a.nblocks;
        assert_int_equal(a.nblocks, blocks); /* steady state: no new block */
        ol_arena_reset(&a);
    }
    ol_arena_free(&a);
    assert_int_equal(a.nblocks, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copies_stay_put),
        cmocka_unit_test(test_reset_reuses_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
