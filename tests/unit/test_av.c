/* test_av — ol_av's field look-up cache (common/ol_av.c) when a schema is
 * freed and another is allocated at the same address: a cached index past
 * the new schema's fields must be a miss, never a read of avro-c's unset
 * field pointer (a segfault that made test_billing and test_forecast flaky:
 * one run in five under gdb before the fix, none in 200 after). What the old
 * code read was an unset local, so this test cannot make it fault every
 * time; it pins the behaviour (a stale slot is a miss and the look-up finds
 * the new record's own field) and, under valgrind, the old read shows as a
 * use of an uninitialised value. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "ol_av.h"

#include <avro.h>
#include <string.h>

static const char *const FIELD = "status"; /* one literal: the cache keys on its address */

static avro_schema_t record_of(int nfields)
{
    avro_schema_t r = avro_schema_record("R", NULL);
    for (int i = 0; i < nfields; i++) {
        char name[16];
        avro_schema_t t = avro_schema_long();
        if (i == nfields - 1)
            snprintf(name, sizeof name, "%s", FIELD);
        else
            snprintf(name, sizeof name, "f%d", i);
        avro_schema_record_field_append(r, name, t);
        avro_schema_decref(t);
    }
    return r;
}

/* fills the stack below the caller with a non-pointer, so that a read of an
 * unset local in the next calls (the bug) faults instead of finding a
 * leftover valid pointer */
static __attribute__((noinline)) void spoil_stack(void)
{
    volatile unsigned char junk[16384];
    memset((void *)junk, 0x5b, sizeof junk);
}

static void test_stale_cache_entry_is_a_miss(void **state)
{
    (void)state;
    int reused = 0;
    for (int round = 0; round < 200; round++) {
        /* a wide record: FIELD cached at index 7 */
        avro_schema_t wide = record_of(8);
        void *addr = wide;
        avro_value_iface_t *wi = avro_generic_class_from_schema(wide);
        avro_value_t wv, out;
        assert_int_equal(avro_generic_value_new(wi, &wv), 0);
        assert_int_equal(ol_av_lookup(&wv, FIELD, &out), 0);
        avro_value_decref(&wv);
        avro_value_iface_decref(wi);
        avro_schema_decref(wide);
        /* a narrow one, often at the same address: FIELD at index 1 */
        avro_schema_t narrow = record_of(2);
        reused += (void *)narrow == addr;
        avro_value_iface_t *ni = avro_generic_class_from_schema(narrow);
        avro_value_t nv;
        assert_int_equal(avro_generic_value_new(ni, &nv), 0);
        spoil_stack();
        assert_int_equal(ol_av_lookup(&nv, FIELD, &out), 0);
        assert_int_equal(avro_value_set_long(&out, 42), 0);
        int64_t back = 0;
        avro_value_t again;
        assert_int_equal(avro_value_get_by_index(&nv, 1, &again, NULL), 0);
        assert_int_equal(avro_value_get_long(&again, &back), 0);
        assert_int_equal(back, 42); /* the look-up found the narrow record's own field */
        avro_value_decref(&nv);
        avro_value_iface_decref(ni);
        avro_schema_decref(narrow);
    }
    print_message("schema address reused in %d of 200 rounds\n", reused);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stale_cache_entry_is_a_miss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
