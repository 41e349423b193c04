/* test_util — helpers shared by the cmocka unit tests (header-only, static).
 *
 *   tu_mkdtemp / tu_rmtree   scratch directories under $TMPDIR (or /tmp)
 *   tu_write_file            write a text file into a directory
 *   tu_data_read / tu_data_restore
 *                            an LMDB directory's data.mdb copied out, and put
 *                            back (its lock file and index snapshot removed):
 *                            a crash test starts each kill from the same bytes
 *   tu_fill_value            deterministic, non-default filler of any Avro
 *                            value: strings "x-<field>", ints 7 (a valid
 *                            date: 1970-01-08), longs 123456789012 (a valid
 *                            timestamp: 1973-11-29), booleans true, enums
 *                            their last symbol, unions their first non-null
 *                            branch, arrays and maps 2 items, nested records
 *                            recursively.
 *   tu_set_*                 set a (possibly nullable) field by name
 *   tu_schemas_load / tu_schemas_free
 *                            the repository's schemas/, as cmocka group
 *                            setup and teardown (into *tu_schemas_out)
 *
 * Include after <cmocka.h>. */
#ifndef OL_TEST_UTIL_H
#define OL_TEST_UTIL_H

#include "ol_schema.h"

#include <avro.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TU_INT 7
#define TU_LONG 123456789012LL

static inline void tu_mkdtemp(char *buf, size_t len, const char *tag)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(buf, len, "%s/ol-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", tag);
    assert_non_null(mkdtemp(buf));
}

static inline void tu_rmtree(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    char p[4096];
    if (!d) {
        unlink(path);
        return;
    }
    while ((e = readdir(d))) {
        struct stat st;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (snprintf(p, sizeof p, "%s/%s", path, e->d_name) >= (int)sizeof p)
            continue;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            tu_rmtree(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(path);
}

static inline void tu_write_file(const char *dir, const char *name, const char *text)
{
    char path[4096];
    assert_true(snprintf(path, sizeof path, "%s/%s", dir, name) < (int)sizeof path);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* dir/data.mdb whole, in a buffer the caller frees */
/* dir/data.mdb's bytes up to the end of its last data extent: with
 * MDB_WRITEMAP LMDB sizes the file to the whole map (16 GiB by default,
 * sparse), and what lies past the data is a hole LMDB never reads */
static inline uint8_t *tu_data_read(const char *dir, size_t *len)
{
    char path[4096];
    assert_true(snprintf(path, sizeof path, "%s/data.mdb", dir) < (int)sizeof path);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    off_t end = 0, pos = 0, d, h;
    while ((d = lseek(fd, pos, SEEK_DATA)) >= 0 && (h = lseek(fd, d, SEEK_HOLE)) > d)
        end = pos = h;
    assert_true(end > 0);
    uint8_t *b = malloc((size_t)end);
    assert_non_null(b);
    assert_int_equal(pread(fd, b, (size_t)end, 0), (ssize_t)end);
    close(fd);
    *len = (size_t)end;
    return b;
}

/* dir/data.mdb rewritten with b, the lock file and index snapshots removed */
static inline void tu_data_restore(const char *dir, const uint8_t *b, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/lock.mdb", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/index.snapshot", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/index.snapshot.alt", dir);
    unlink(path);
    assert_true(snprintf(path, sizeof path, "%s/data.mdb", dir) < (int)sizeof path);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(b, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}


/* ------------------------------------------------------------ the filler */
static inline int tu_fill_value(avro_value_t *v, const char *field)
{
    avro_value_t child;
    const char *name;
    char str[300];
    size_t n, i;

    switch (avro_value_get_type(v)) {
    case AVRO_STRING:
        snprintf(str, sizeof str, "x-%s", field ? field : "item");
        return avro_value_set_string(v, str);
    case AVRO_BYTES:
        snprintf(str, sizeof str, "b-%s", field ? field : "item");
        return avro_value_set_bytes(v, str, strlen(str));
    case AVRO_INT32:
        return avro_value_set_int(v, TU_INT);
    case AVRO_INT64:
        return avro_value_set_long(v, TU_LONG);
    case AVRO_FLOAT:
        return avro_value_set_float(v, 1.5f);
    case AVRO_DOUBLE:
        return avro_value_set_double(v, 2.25);
    case AVRO_BOOLEAN:
        return avro_value_set_boolean(v, 1);
    case AVRO_NULL:
        return avro_value_set_null(v);
    case AVRO_ENUM: {
        int ns = avro_schema_enum_number_of_symbols(avro_value_get_schema(v));
        if (ns <= 0)
            return -1;
        return avro_value_set_enum(v, ns - 1);
    }
    case AVRO_FIXED: {
        avro_schema_t s = avro_value_get_schema(v);
        int64_t sz = avro_schema_fixed_size(s);
        char *b = calloc(1, (size_t)sz + 1);
        for (int64_t k = 0; k < sz; k++)
            b[k] = (char)('a' + k % 26);
        int rc = avro_value_set_fixed(v, b, (size_t)sz);
        free(b);
        return rc;
    }
    case AVRO_RECORD:
        if (avro_value_get_size(v, &n))
            return -1;
        for (i = 0; i < n; i++) {
            if (avro_value_get_by_index(v, i, &child, &name) || tu_fill_value(&child, name))
                return -1;
        }
        return 0;
    case AVRO_UNION: {
        avro_schema_t us = avro_value_get_schema(v);
        size_t nb = avro_schema_union_size(us);
        for (i = 0; i < nb; i++) {
            if (!is_avro_null(avro_schema_union_branch(us, (int)i))) {
                if (avro_value_set_branch(v, (int)i, &child))
                    return -1;
                return tu_fill_value(&child, field);
            }
        }
        return avro_value_set_branch(v, 0, &child) ? -1 : avro_value_set_null(&child);
    }
    case AVRO_ARRAY:
        for (i = 0; i < 2; i++)
            if (avro_value_append(v, &child, NULL) || tu_fill_value(&child, field))
                return -1;
        return 0;
    case AVRO_MAP:
        for (i = 0; i < 2; i++) {
            snprintf(str, sizeof str, "k%zu", i);
            if (avro_value_add(v, str, &child, NULL, NULL) || tu_fill_value(&child, field))
                return -1;
        }
        return 0;
    case AVRO_LINK:
        return -1;
    }
    return -1;
}

/* the field named `name` of record v, stepping into the current branch of a
 * union (the branch is set to the first non-null one when `set_branch`) */
static inline avro_value_t tu_field(avro_value_t *v, const char *name, int set_branch)
{
    avro_value_t f, b = {0}; /* set by a macro whose ?: clang sees as possibly not writing it */
    assert_int_equal(avro_value_get_by_name(v, name, &f, NULL), 0);
    if (avro_value_get_type(&f) != AVRO_UNION)
        return f;
    if (set_branch) {
        avro_schema_t us = avro_value_get_schema(&f);
        for (size_t i = 0; i < avro_schema_union_size(us); i++)
            if (!is_avro_null(avro_schema_union_branch(us, (int)i))) {
                assert_int_equal(avro_value_set_branch(&f, (int)i, &b), 0);
                return b;
            }
        fail_msg("union %s has no non-null branch", name);
    }
    assert_int_equal(avro_value_get_current_branch(&f, &b), 0);
    return b;
}

static inline void tu_set_str(avro_value_t *v, const char *name, const char *s)
{
    avro_value_t f = tu_field(v, name, 1);
    assert_int_equal(avro_value_set_string(&f, s), 0);
}

static inline void tu_set_int(avro_value_t *v, const char *name, int32_t x)
{
    avro_value_t f = tu_field(v, name, 1);
    assert_int_equal(avro_value_set_int(&f, x), 0);
}

static inline void tu_set_long(avro_value_t *v, const char *name, int64_t x)
{
    avro_value_t f = tu_field(v, name, 1);
    assert_int_equal(avro_value_set_long(&f, x), 0);
}

static inline void tu_set_bool(avro_value_t *v, const char *name, int x)
{
    avro_value_t f = tu_field(v, name, 1);
    assert_int_equal(avro_value_set_boolean(&f, x), 0);
}

static inline void tu_set_enum(avro_value_t *v, const char *name, int x)
{
    avro_value_t f = tu_field(v, name, 1);
    assert_int_equal(avro_value_set_enum(&f, x), 0);
}

static inline void tu_set_null(avro_value_t *v, const char *name)
{
    avro_value_t f, b;
    assert_int_equal(avro_value_get_by_name(v, name, &f, NULL), 0);
    assert_int_equal(avro_value_get_type(&f), AVRO_UNION);
    avro_schema_t us = avro_value_get_schema(&f);
    for (size_t i = 0; i < avro_schema_union_size(us); i++)
        if (is_avro_null(avro_schema_union_branch(us, (int)i))) {
            assert_int_equal(avro_value_set_branch(&f, (int)i, &b), 0);
            assert_int_equal(avro_value_set_null(&b), 0);
            return;
        }
    fail_msg("union %s has no null branch", name);
}

static inline const char *tu_get_str(avro_value_t *v, const char *name)
{
    avro_value_t f = tu_field(v, name, 0);
    const char *s = NULL;
    size_t n;
    assert_int_equal(avro_value_get_string(&f, &s, &n), 0);
    return s;
}

static inline int64_t tu_get_long(avro_value_t *v, const char *name)
{
    avro_value_t f = tu_field(v, name, 0);
    int64_t x = 0;
    assert_int_equal(avro_value_get_long(&f, &x), 0);
    return x;
}

static inline int32_t tu_get_int(avro_value_t *v, const char *name)
{
    avro_value_t f = tu_field(v, name, 0);
    int32_t x = 0;
    assert_int_equal(avro_value_get_int(&f, &x), 0);
    return x;
}

/* set before cmocka_run_group_tests: where tu_schemas_load puts the set */
static ol_schemas **tu_schemas_out;

static inline int tu_schemas_load(void **state)
{
    char err[512];
    (void)state;
    if (ol_schemas_load(ol_schemas_default_dir(), tu_schemas_out, err, sizeof err)) {
        fprintf(stderr, "cannot load schemas: %s\n", err);
        return -1;
    }
    return 0;
}

static inline int tu_schemas_free(void **state)
{
    (void)state;
    ol_schemas_free(*tu_schemas_out);
    *tu_schemas_out = NULL;
    return 0;
}

#endif
