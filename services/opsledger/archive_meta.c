/* archive_meta — adds a key to the file metadata of an Avro object container
 * file that avro-c wrote (avro-c's writer takes no user metadata). `archive
 * export` uses it to carry the writer schemas the archive kept by registry
 * id (issue 19), so the exported records can be decoded years later without
 * the registry. The header is parsed per the Avro specification (magic
 * "Obj\x01", the metadata map in blocks, the 16-byte sync marker), written
 * again with the extra entry, and the data blocks copied unchanged, through
 * a temporary file renamed over the original. */
#include "cli.h"
#include "ol_file.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int read_long(FILE *f, int64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        int c = fgetc(f);
        if (c == EOF)
            return -1;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
            return 0;
        }
    }
    return -1;
}

static void write_long(FILE *f, int64_t n)
{
    uint64_t v = ((uint64_t)n << 1) ^ (uint64_t)(n >> 63);
    while (v > 0x7f) {
        fputc((int)((v & 0x7f) | 0x80), f);
        v >>= 7;
    }
    fputc((int)v, f);
}

static int copy_bytes(FILE *in, FILE *out, int64_t n)
{
    char buf[8192];
    while (n > 0) {
        size_t want = n > (int64_t)sizeof buf ? sizeof buf : (size_t)n;
        if (fread(buf, 1, want, in) != want || fwrite(buf, 1, want, out) != want)
            return -1;
        n -= (int64_t)want;
    }
    return 0;
}

/* one walk over the header's metadata map (blocks of entries, a negative
 * count followed by the block's size in bytes, a zero count last): each
 * entry re-encoded into out; *entries counts them. 0, or -1 when it does
 * not parse or out fails */
static int copy_meta(FILE *in, FILE *out, int64_t *entries)
{
    int64_t count, size, klen, vlen;
    *entries = 0;
    for (;;) {
        if (read_long(in, &count))
            return -1;
        if (count == 0)
            return 0;
        if (count < 0) {
            if (count == INT64_MIN || read_long(in, &size))
                return -1;
            count = -count;
        }
        for (int64_t i = 0; i < count; i++) {
            if (read_long(in, &klen) || klen < 0)
                return -1;
            write_long(out, klen);
            if (copy_bytes(in, out, klen) || read_long(in, &vlen) || vlen < 0)
                return -1;
            write_long(out, vlen);
            if (copy_bytes(in, out, vlen))
                return -1;
            (*entries)++;
        }
    }
}

int archive_meta_add(const char *path, const char *key, const char *value, char *err, size_t errlen)
{
    char tmp[4200], magic[4], buf[8192];
    FILE *in = fopen(path, "rb"), *out = NULL, *meta = NULL;
    char *meta_buf = NULL;
    size_t meta_len = 0, n;
    int64_t entries;
    int rc = -1;

    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (!in) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (fread(magic, 1, 4, in) != 4 || memcmp(magic, "Obj\x01", 4)) {
        snprintf(err, errlen, "%s: not an Avro object container file", path);
        goto out;
    }
    /* the entries are copied in memory as they are read (the header is the
     * schema and a few keys): the new count, written first, is known at the end */
    if (!(meta = open_memstream(&meta_buf, &meta_len))) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (copy_meta(in, meta, &entries))
        goto bad;
    if (ferror(meta) || fclose(meta)) {
        meta = NULL;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    meta = NULL;
    if (!(out = ol_fopen_private(tmp, "wb"))) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    fwrite("Obj\x01", 1, 4, out);
    write_long(out, entries + 1);
    fwrite(meta_buf, 1, meta_len, out);
    write_long(out, (int64_t)strlen(key));
    fwrite(key, 1, strlen(key), out);
    write_long(out, (int64_t)strlen(value));
    fwrite(value, 1, strlen(value), out);
    write_long(out, 0);
    /* the sync marker and every data block, unchanged */
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            goto bad;
    /* the writes above are checked here: a stream's error stays set */
    if (ferror(in) || ferror(out) || fclose(out)) {
        out = NULL;
        goto bad;
    }
    out = NULL;
    if (rename(tmp, path)) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    rc = 0;
    goto out;
bad:
    snprintf(err, errlen, "%s: the container header does not parse, or the copy failed", path);
out:
    if (meta)
        fclose(meta);
    free(meta_buf);
    if (out)
        fclose(out);
    if (rc)
        unlink(tmp);
    fclose(in);
    return rc;
}
