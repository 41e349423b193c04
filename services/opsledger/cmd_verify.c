/* opsledger verify [--archive DIR] — recomputes the archive's hash chain from
 * the first record and names the first record whose stored hash does not
 * match (or whose body does not parse). Exit status: 0 intact, 1 broken,
 * 2 cannot read the archive. */
#include "cli.h"
#include "ol_archive.h"

#include <stdio.h>
#include <string.h>

int cmd_verify(int argc, char **argv, ol_config *cfg)
{
    const char *flag = NULL;
    char dir[4096], err[512];
    ol_store st;
    MDB_txn *txn = NULL;
    MDB_cursor *c = NULL;
    int rc = 2;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--archive") && i + 1 < argc)
            flag = argv[++i];
        else {
            fprintf(stderr, "usage: opsledger verify [--archive DIR]\n");
            return 2;
        }
    }
    ol_archive_dir(cfg, flag, dir, sizeof dir);
    if (ol_archive_open(&st, dir, 1, err, sizeof err)) {
        fprintf(stderr, "opsledger verify: %s\n", err);
        return 2;
    }
    if (mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn) || mdb_cursor_open(txn, ol_store_dbi(&st, "records"), &c)) {
        fprintf(stderr, "opsledger verify: cannot read %s\n", dir);
        goto out;
    }
    uint8_t prev[32] = {0}, want[32];
    uint64_t expect_seq = 1, n = 0;
    MDB_val k, v;
    int g;
    for (g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0; g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        ol_arec a;
        uint64_t seq = k.mv_size == 8 ? ol_be64(k.mv_data) : 0;
        if (seq != expect_seq) {
            printf("archive %s: BROKEN at record %llu: expected record %llu (a record is missing)\n", dir,
                   (unsigned long long)seq, (unsigned long long)expect_seq);
            rc = 1;
            goto out;
        }
        if (ol_archive_parse(seq, &v, &a)) {
            printf("archive %s: BROKEN at record %llu: the record does not parse\n", dir, (unsigned long long)seq);
            rc = 1;
            goto out;
        }
        ol_archive_chain(prev, a.body, a.body_len, want);
        if (memcmp(want, a.hash, 32)) {
            printf("archive %s: BROKEN at record %llu (%s partition %d offset %lld): its hash does not match its "
                   "content and the chain before it\n",
                   dir, (unsigned long long)seq, a.topic, a.partition, (long long)a.offset);
            rc = 1;
            goto out;
        }
        memcpy(prev, a.hash, 32);
        expect_seq++;
        n++;
    }
    if (g != MDB_NOTFOUND) {
        fprintf(stderr, "opsledger verify: %s\n", mdb_strerror(g));
        goto out;
    }
    printf("archive %s: %llu records, chain intact, head ", dir, (unsigned long long)n);
    for (int i = 0; i < 32; i++)
        printf("%02x", prev[i]);
    printf("\n");
    rc = 0;
out:
    if (c)
        mdb_cursor_close(c);
    if (txn)
        mdb_txn_abort(txn);
    ol_store_close(&st);
    return rc;
}
