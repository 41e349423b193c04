/* ol_archive_verify — the one check every reader of the archive runs before
 * trusting it (verify, replay, export): the file is whole, the chain holds
 * from the first row to the last, the by_offset index (which the chain does
 * not cover) agrees with the chain, and the head is not below any checkpoint
 * kept outside the archive. See ol_archive.h for the contract. */
#include "ol_archive.h"
#include "ol_time.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int ol_archive_check_file(const char *dir, char *err, size_t errlen)
{
    char path[4200];
    struct stat sb;
    MDB_env *env = NULL;
    MDB_envinfo info;
    MDB_stat ms;
    int rc;

    snprintf(path, sizeof path, "%s/data.mdb", dir);
    if (stat(path, &sb)) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (sb.st_size == 0) {
        snprintf(err, errlen, "%s is empty: it is not an archive (restore the archive from a backup)", path);
        return -1;
    }
    /* LMDB reads the two meta pages with read(), not through the map, and
     * checks their magic and version; everything else is read through the
     * map, where a page beyond the end of the file is SIGBUS. */
    if ((rc = mdb_env_create(&env))) {
        snprintf(err, errlen, "%s: %s", path, mdb_strerror(rc));
        return -1;
    }
    rc = mdb_env_open(env, dir, MDB_RDONLY | MDB_NOLOCK, 0);
    if (rc == MDB_INVALID || rc == ENOENT)
        snprintf(err, errlen, "%s is not an LMDB environment (no valid meta page): a foreign file, or one "
                 "truncated below its first two pages; restore the archive from a backup", path);
    else if (rc == MDB_VERSION_MISMATCH)
        snprintf(err, errlen, "%s was written by an incompatible LMDB version", path);
    else if (rc)
        snprintf(err, errlen, "%s: %s", path, mdb_strerror(rc));
    else if ((rc = mdb_env_info(env, &info)) || (rc = mdb_env_stat(env, &ms)))
        snprintf(err, errlen, "%s: %s", path, mdb_strerror(rc));
    else if (stat(path, &sb)) { /* after the meta read: a writer only grows the file */
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        rc = -1;
    } else {
        unsigned long long need = ((unsigned long long)info.me_last_pgno + 1) * ms.ms_psize;
        if ((unsigned long long)sb.st_size < need) {
            snprintf(err, errlen, "%s is truncated: %lld bytes, but its last committed transaction uses %llu pages "
                     "of %u bytes (%llu bytes); restore the archive from a backup",
                     path, (long long)sb.st_size, (unsigned long long)info.me_last_pgno + 1, ms.ms_psize, need);
            rc = -1;
        }
    }
    mdb_env_close(env);
    return rc ? -1 : 0;
}

static void describe(const ol_arec *a, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s partition %d offset %lld", a->topic, a->partition, (long long)a->offset);
}

/* the index entry of row a must be a's seq */
/* ix: a cursor on by_offset kept across records: consecutive records are
 * mostly neighbouring offsets of one partition, which LMDB finds on the
 * leaf page the cursor is on without a descent from the root */
static int check_index(MDB_cursor *ix, const ol_arec *a, ol_archive_report *rep)
{
    ol_key ok;
    char what[400];
    MDB_val sv;
    ol_key_init(&ok);
    ol_key_str(&ok, a->topic);
    ol_key_i32(&ok, a->partition);
    ol_key_i64(&ok, a->offset);
    MDB_val kv = ol_key_val(&ok);
    int rc = mdb_cursor_get(ix, &kv, &sv, MDB_SET_KEY);
    if (rc == MDB_NOTFOUND) {
        describe(a, what, sizeof what); /* only on failure: a per-record snprintf was 1.4 % of a replay */
        snprintf(rep->msg, sizeof rep->msg, "BROKEN at record %llu (%s): it is missing from the by_offset index",
                 (unsigned long long)a->seq, what);
        return 1;
    }
    if (rc) {
        snprintf(rep->msg, sizeof rep->msg, "by_offset: %s", mdb_strerror(rc));
        return -1;
    }
    if (sv.mv_size != 8 || ol_be64(sv.mv_data) != a->seq) {
        describe(a, what, sizeof what);
        snprintf(rep->msg, sizeof rep->msg,
                 "BROKEN at record %llu (%s): the by_offset index points it at record %llu instead",
                 (unsigned long long)a->seq, what, sv.mv_size == 8 ? (unsigned long long)ol_be64(sv.mv_data) : 0ULL);
        return 1;
    }
    return 0;
}

/* more index entries than rows: name the first entry no row owns */
static int name_extra_entry(MDB_txn *txn, MDB_dbi records, MDB_dbi by_offset, ol_archive_report *rep)
{
    MDB_cursor *c;
    MDB_val k, v;
    int g, rc = mdb_cursor_open(txn, by_offset, &c);
    if (rc) {
        snprintf(rep->msg, sizeof rep->msg, "by_offset: %s", mdb_strerror(rc));
        return -1;
    }
    for (g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0; g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        ol_arec a;
        MDB_val rv;
        uint64_t seq = v.mv_size == 8 ? ol_be64(v.mv_data) : 0;
        MDB_val sk = {v.mv_size, v.mv_data};
        int ok = v.mv_size == 8 && mdb_get(txn, records, &sk, &rv) == 0 && ol_archive_parse(seq, &rv, &a) == 0;
        ol_key want;
        if (ok) {
            ol_key_init(&want);
            ol_key_str(&want, a.topic);
            ol_key_i32(&want, a.partition);
            ol_key_i64(&want, a.offset);
            ok = want.n == k.mv_size && !memcmp(want.b, k.mv_data, k.mv_size);
        }
        if (!ok) {
            size_t tl = strnlen(k.mv_data, k.mv_size);
            snprintf(rep->msg, sizeof rep->msg,
                     "BROKEN: the by_offset index has an entry (topic %.*s) pointing at record %llu, which does "
                     "not hold it: an entry for no record",
                     (int)(tl > 200 ? 200 : tl), (const char *)k.mv_data, (unsigned long long)seq);
            mdb_cursor_close(c);
            return 1;
        }
    }
    mdb_cursor_close(c);
    snprintf(rep->msg, sizeof rep->msg, "BROKEN: the by_offset index does not match the records");
    return g == MDB_NOTFOUND ? 1 : -1;
}

static void fmt_time(int64_t ms, char ts[25]) { ol_ts_format(ms, ts); }

/* a writer schema row of the chain (OL_ARCHIVE_SCHEMA_TOPIC) */
struct chained_schema {
    int32_t id;
    uint64_t seq;
    const void *text; /* in the read transaction's map */
    size_t len;
};

/* registry_schemas (which replay and export read) must hold exactly the
 * chain's writer schema rows: each chained id with the same bytes, and no
 * other id. An archive whose chain holds no writer schema row at all was
 * written before they were chained (2026-12-03): what it keeps is accepted
 * as before, counted in rep->unanchored for the caller to warn about. 0, 1
 * broken (rep->msg), -1 cannot read */
static int check_kept_schemas(MDB_txn *txn, const struct chained_schema *cs, size_t ncs, ol_archive_report *rep)
{
    MDB_dbi kept;
    MDB_cursor *c;
    MDB_val k, v;
    size_t nkept = 0;
    int rc = mdb_dbi_open(txn, "registry_schemas", 0, &kept);
    if (rc == MDB_NOTFOUND)
        rc = 0; /* written without a registry: no copy; chained ids are then missing from it, below */
    else if (rc || (rc = mdb_cursor_open(txn, kept, &c))) {
        snprintf(rep->msg, sizeof rep->msg, "registry_schemas: %s", mdb_strerror(rc));
        return -1;
    } else {
        for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            int32_t id = k.mv_size == 4 ? (int32_t)ol_be32(k.mv_data) : -1;
            const struct chained_schema *m = NULL;
            nkept++;
            for (size_t i = 0; i < ncs && !m; i++)
                if (cs[i].id == id)
                    m = &cs[i];
            if (!m && ncs == 0) {
                rep->unanchored++; /* a pre-chain archive: accepted as before */
                continue;
            }
            if (!m) {
                snprintf(rep->msg, sizeof rep->msg,
                         "BROKEN: the writer schema of registry id %ld (registry_schemas) is not in the chain: it "
                         "was added outside the archive service, and a replay would read records with it",
                         (long)id);
                mdb_cursor_close(c);
                return 1;
            }
            if (m->len != v.mv_size || memcmp(m->text, v.mv_data, v.mv_size)) {
                snprintf(rep->msg, sizeof rep->msg,
                         "BROKEN at record %llu: the writer schema of registry id %ld in registry_schemas differs "
                         "from the one the chain holds at this record: a replay would read records with the "
                         "edited one",
                         (unsigned long long)m->seq, (long)id);
                mdb_cursor_close(c);
                return 1;
            }
        }
        mdb_cursor_close(c);
        if (rc != MDB_NOTFOUND) {
            snprintf(rep->msg, sizeof rep->msg, "registry_schemas: %s", mdb_strerror(rc));
            return -1;
        }
    }
    /* ids are unique in both (checked while reading the chain), so equal
     * counts with every kept id matched mean every chained id is kept */
    if (ncs && nkept != ncs) {
        snprintf(rep->msg, sizeof rep->msg,
                 "BROKEN: the chain holds %zu writer schemas but registry_schemas %zu: one was removed from it, and "
                 "a replay would not read the records framed with it",
                 ncs, nkept);
        return 1;
    }
    return 0;
}

int ol_archive_verify(MDB_txn *txn, const ol_store *st, const ol_archive_checkpoint *cps, size_t ncps,
                      const char *cp_path, ol_archive_report *rep)
{
    MDB_dbi records = ol_store_dbi(st, "records"), by_offset = ol_store_dbi(st, "by_offset");
    MDB_cursor *c = NULL, *ix = NULL;
    MDB_val k, v;
    MDB_stat ist;
    uint8_t want[32];
    size_t ci = 0, ncs = 0, capcs = 0;
    struct chained_schema *cs = NULL;
    char what[400], ts[25];
    int g, rc = 1;

    memset(rep, 0, sizeof *rep);
    if ((g = mdb_cursor_open(txn, records, &c))) {
        snprintf(rep->msg, sizeof rep->msg, "records: %s", mdb_strerror(g));
        return -1;
    }
    if ((g = mdb_cursor_open(txn, by_offset, &ix))) {
        snprintf(rep->msg, sizeof rep->msg, "by_offset: %s", mdb_strerror(g));
        mdb_cursor_close(c);
        return -1;
    }
    for (g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0; g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        ol_arec a;
        uint64_t seq = k.mv_size == 8 ? ol_be64(k.mv_data) : 0, expect = rep->records + 1;
        if (seq != expect) {
            snprintf(rep->msg, sizeof rep->msg, "BROKEN at record %llu: it is missing (the next row is %llu)",
                     (unsigned long long)expect, (unsigned long long)seq);
            goto out;
        }
        if (ol_archive_parse(seq, &v, &a)) {
            snprintf(rep->msg, sizeof rep->msg, "BROKEN at record %llu: the record does not parse",
                     (unsigned long long)seq);
            goto out;
        }
        ol_archive_chain(rep->head, a.body, a.body_len, want);
        if (memcmp(want, a.hash, 32)) {
            describe(&a, what, sizeof what);
            snprintf(rep->msg, sizeof rep->msg,
                     "BROKEN at record %llu (%s): its hash does not match its content and the chain before it",
                     (unsigned long long)seq, what);
            goto out;
        }
        if (a.partition == -1 && !strcmp(a.topic, OL_ARCHIVE_SCHEMA_TOPIC)) { /* not in by_offset */
            int dup = 0;
            for (size_t i = 0; i < ncs; i++)
                dup |= cs[i].id == a.offset;
            if (a.offset < 0 || a.offset > INT32_MAX || a.key || a.nheaders || dup) {
                snprintf(rep->msg, sizeof rep->msg,
                         "BROKEN at record %llu: a writer schema row the archive service does not write (%s)",
                         (unsigned long long)seq,
                         dup ? "a second one for its registry id" : "an id out of range, a key or headers");
                goto out;
            }
            if (ncs == capcs) {
                size_t nc = capcs ? capcs * 2 : 16;
                struct chained_schema *n = realloc(cs, nc * sizeof *n);
                if (!n) {
                    snprintf(rep->msg, sizeof rep->msg, "out of memory");
                    rc = -1;
                    goto out;
                }
                cs = n, capcs = nc;
            }
            cs[ncs++] = (struct chained_schema){(int32_t)a.offset, seq, a.value, a.value_len};
            rep->schemas++;
        } else if ((rc = check_index(ix, &a, rep)))
            goto out;
        rc = 1;
        while (ci < ncps && cps[ci].seq < seq)
            ci++; /* seq 0: the empty archive, nothing to compare */
        for (; ci < ncps && cps[ci].seq == seq; ci++) {
            if (memcmp(cps[ci].hash, a.hash, 32)) {
                fmt_time(cps[ci].time_ms, ts);
                describe(&a, what, sizeof what);
                snprintf(rep->msg, sizeof rep->msg,
                         "BROKEN at record %llu (%s): its hash differs from the checkpoint of %s (%s line %u): "
                         "the archive was rewritten up to this record",
                         (unsigned long long)seq, what, ts, cp_path, cps[ci].line);
                goto out;
            }
            rep->anchors++;
            rep->anchor_seq = seq;
            rep->anchor_time = cps[ci].time_ms;
        }
        memcpy(rep->head, a.hash, 32);
        rep->records++;
    }
    if (g != MDB_NOTFOUND) {
        snprintf(rep->msg, sizeof rep->msg, "records: %s", mdb_strerror(g));
        rc = -1;
        goto out;
    }
    if ((g = mdb_stat(txn, by_offset, &ist))) {
        snprintf(rep->msg, sizeof rep->msg, "by_offset: %s", mdb_strerror(g));
        rc = -1;
        goto out;
    }
    if (ist.ms_entries != rep->records - rep->schemas) {
        rc = name_extra_entry(txn, records, by_offset, rep);
        goto out;
    }
    if (ncps && cps[ncps - 1].seq > rep->records) {
        const ol_archive_checkpoint *last = &cps[ncps - 1];
        fmt_time(last->time_ms, ts);
        snprintf(rep->msg, sizeof rep->msg,
                 "BROKEN: the archive ends at record %llu, but the checkpoint of %s (%s line %u) anchors record "
                 "%llu: records %llu to %llu were removed from its end",
                 (unsigned long long)rep->records, ts, cp_path, last->line, (unsigned long long)last->seq,
                 (unsigned long long)rep->records + 1, (unsigned long long)last->seq);
        goto out;
    }
    rc = check_kept_schemas(txn, cs, ncs, rep);
out:
    free(cs);
    mdb_cursor_close(ix);
    mdb_cursor_close(c);
    return rc;
}
