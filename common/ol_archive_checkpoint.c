/* ol_archive_checkpoint — the chain's head anchored outside the archive.
 *
 * The hash chain proves that no row was changed, removed or reordered before
 * the last one, but nothing inside the archive can prove that rows were not
 * removed from its end: the remaining rows still chain. So the archive
 * service appends a checkpoint (sequence, head hash, time) to a file beside
 * the LMDB environment every N records and every minute, and verify, replay
 * and export check the archive against it (see ol_archive.h). The file is
 * plain text so that an auditor can keep, copy and read it without opsledger:
 *
 *   SEQ SHA256_HEX TIME_MS TIME_RFC3339\n      e.g.
 *   1234 9f86d0...0a08 1795000100000 2026-11-18T11:08:20.000Z
 */
#include "ol_archive.h"
#include "ol_time.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void ol_archive_checkpoints_path(const ol_config *cfg, const char *archive_dir, const char *flag, char *out,
                                 size_t outlen)
{
    const char *conf = ol_config_get(cfg, "archive_checkpoints", NULL);
    if (flag)
        snprintf(out, outlen, "%s", flag);
    else if (conf)
        snprintf(out, outlen, "%s", conf);
    else {
        size_t n = strlen(archive_dir);
        while (n > 1 && archive_dir[n - 1] == '/')
            n--;
        snprintf(out, outlen, "%.*s.checkpoints", (int)n, archive_dir);
    }
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* "SEQ HEX TIME_MS ..." -> cp; 0 or -1 */
static int parse_line(const char *s, ol_archive_checkpoint *cp)
{
    char *end;
    errno = 0;
    unsigned long long seq = strtoull(s, &end, 10);
    if (errno || end == s || *end != ' ')
        return -1;
    s = end + 1;
    for (int i = 0; i < 32; i++) {
        int hi = hexval((unsigned char)s[2 * i]), lo = hi < 0 ? -1 : hexval((unsigned char)s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        cp->hash[i] = (uint8_t)(hi << 4 | lo);
    }
    s += 64;
    if (*s != ' ')
        return -1;
    long long t = strtoll(s + 1, &end, 10);
    if (errno || end == s + 1 || (*end != ' ' && *end != '\0'))
        return -1;
    cp->seq = seq;
    cp->time_ms = t;
    return 0;
}

static int by_seq(const void *a, const void *b)
{
    const ol_archive_checkpoint *x = a, *y = b;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

int ol_archive_checkpoints_load(const char *path, ol_archive_checkpoint **cps, size_t *n, char *err,
                                size_t errlen)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0, count = 0, alloc = 0;
    ol_archive_checkpoint *v = NULL;
    unsigned lineno = 0;
    ssize_t len;
    int rc = -1;

    *cps = NULL;
    *n = 0;
    if (!f) {
        if (errno == ENOENT)
            return 1;
        snprintf(err, errlen, "checkpoints %s: %s", path, strerror(errno));
        return -1;
    }
    while ((len = getline(&line, &cap, f)) > 0) {
        lineno++;
        if (line[len - 1] != '\n')
            break; /* a torn last append: the writer died mid-line */
        line[len - 1] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        if (count == alloc) {
            size_t na = alloc ? alloc * 2 : 64;
            ol_archive_checkpoint *nv = realloc(v, na * sizeof *v);
            if (!nv) {
                snprintf(err, errlen, "checkpoints %s: out of memory", path);
                goto out;
            }
            v = nv;
            alloc = na;
        }
        if (parse_line(line, &v[count])) {
            snprintf(err, errlen, "checkpoints %s line %u: not \"SEQ SHA256_HEX TIME_MS TIME\"", path, lineno);
            goto out;
        }
        v[count].line = lineno;
        count++;
    }
    if (ferror(f)) {
        snprintf(err, errlen, "checkpoints %s: %s", path, strerror(errno));
        goto out;
    }
    if (count)
        qsort(v, count, sizeof *v, by_seq);
    *cps = v;
    *n = count;
    v = NULL;
    rc = 0;
out:
    free(line);
    free(v);
    fclose(f);
    return rc;
}

int ol_archive_checkpoint_append(const char *path, uint64_t seq, const uint8_t hash[32], int64_t time_ms, char *err,
                                 size_t errlen)
{
    char buf[160], ts[25];
    int n, fd;
    ol_ts_format(time_ms, ts);
    n = snprintf(buf, sizeof buf, "%llu ", (unsigned long long)seq);
    for (int i = 0; i < 32; i++)
        n += snprintf(buf + n, sizeof buf - (size_t)n, "%02x", hash[i]);
    n += snprintf(buf + n, sizeof buf - (size_t)n, " %lld %s\n", (long long)time_ms, ts);
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "checkpoints %s: %s", path, strerror(errno));
        return -1;
    }
    /* an existing file keeps its owner-only mode even if it was loosened */
    if (fchmod(fd, 0600) || write(fd, buf, (size_t)n) != n || fsync(fd)) {
        snprintf(err, errlen, "checkpoints %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (close(fd)) {
        snprintf(err, errlen, "checkpoints %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
