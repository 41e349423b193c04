/* opsledger verify [--archive DIR] [--checkpoints FILE] — checks the archive
 * the way every reader of it does (ol_archive_verify): the file is whole, the
 * hash chain holds from the first record, the by_offset index agrees with
 * the chain, and no checkpoint (default: the archive's own checkpoint file;
 * give an auditor's copy with --checkpoints) anchors a record the archive no
 * longer has or has with another hash. Names the first record that fails.
 * Exit status: 0 intact, 1 broken, 2 cannot read the archive or the
 * checkpoints given. */
#include "cli.h"
#include "ol_archive.h"
#include "ol_escape.h"
#include "ol_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_verify(int argc, char **argv, ol_config *cfg)
{
    const char *flag = NULL, *cp_flag = NULL;
    char dir[4096], cp_path[4200], err[512], ts[25];
    ol_archive_checkpoint *cps = NULL;
    ol_archive_report rep;
    size_t ncps = 0;
    ol_store st;
    int have_st = 0, loaded, vr;
    MDB_txn *txn = NULL;
    int rc = 2;
    ol_esc_arena esc = OL_ESC_ARENA_INIT; /* the paths and the report, as stdout shows them */

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--archive") && i + 1 < argc)
            flag = argv[++i];
        else if (!strcmp(argv[i], "--checkpoints") && i + 1 < argc)
            cp_flag = argv[++i];
        else {
            fprintf(stderr, "usage: opsledger verify [--archive DIR] [--checkpoints FILE]\n");
            return 2;
        }
    }
    ol_archive_dir(cfg, flag, dir, sizeof dir);
    ol_archive_checkpoints_path(cfg, dir, cp_flag, cp_path, sizeof cp_path);
    if (ol_archive_open(&st, dir, 1, err, sizeof err)) {
        ol_esc_eprintf("opsledger verify: %s\n", err);
        return 2;
    }
    have_st = 1;
    /* the checkpoints before the snapshot: each was written after its commit */
    loaded = ol_archive_checkpoints_load(cp_path, &cps, &ncps, err, sizeof err);
    if (loaded < 0 || (loaded == 1 && cp_flag)) {
        ol_esc_eprintf("opsledger verify: %s\n", loaded < 0 ? err : "the checkpoint file given does not exist");
        goto out;
    }
    if (mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn)) {
        ol_esc_eprintf("opsledger verify: cannot read %s\n", dir);
        goto out;
    }
    vr = ol_archive_verify(txn, &st, cps, ncps, cp_path, &rep);
    if (vr) {
        if (vr > 0) /* rep.msg names a topic of the archive and the checkpoint file */
            printf("archive %s: %s\n", ol_esc_a(&esc, OL_ESC_TEXT, dir), ol_esc_a(&esc, OL_ESC_TEXT, rep.msg));
        else
            ol_esc_eprintf("opsledger verify: %s: %s\n", dir, rep.msg);
        rc = vr > 0 ? 1 : 2;
        goto out;
    }
    printf("archive %s: %llu records, chain intact, index consistent, head ", ol_esc_a(&esc, OL_ESC_TEXT, dir),
           (unsigned long long)rep.records);
    for (int i = 0; i < 32; i++)
        printf("%02x", rep.head[i]);
    printf("\n");
    if (rep.schemas)
        printf("writer schemas: %llu in the chain, and the copies replay and export read match them\n",
               (unsigned long long)rep.schemas);
    if (rep.unanchored)
        printf("WARNING: %llu writer schemas are kept outside the chain (an archive written before 2026-12-03): "
               "nothing proves them; start opsledger-archive on it once to chain them from then on\n",
               (unsigned long long)rep.unanchored);
    if (rep.anchors) {
        ol_ts_format(rep.anchor_time, ts);
        printf("head anchored: %zu checkpoints of %s match; the latest, of %s, is record %llu (%llu records "
               "since)\n",
               rep.anchors, ol_esc_a(&esc, OL_ESC_TEXT, cp_path), ts, (unsigned long long)rep.anchor_seq,
               (unsigned long long)(rep.records - rep.anchor_seq));
    } else {
        printf("WARNING: no checkpoints (%s %s): the end of the archive is not anchored, removed newest records "
               "would not be detected\n",
               ol_esc_a(&esc, OL_ESC_TEXT, cp_path), loaded == 1 ? "does not exist" : "is empty");
    }
    rc = 0;
out:
    if (txn)
        mdb_txn_abort(txn);
    if (have_st)
        ol_store_close(&st);
    free(cps);
    if (esc.failed && rc == 0) { /* a path shown as U+FFFD: not a good answer */
        fprintf(stderr, "opsledger verify: out of memory\n");
        rc = 2;
    }
    ol_esc_arena_reset(&esc);
    return rc;
}
