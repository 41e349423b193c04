/* ol_report_tbl — the weekly report's text and Markdown tables (see
 * ol_report_tbl.c); internal to common/report. */
#ifndef OL_REPORT_TBL_H
#define OL_REPORT_TBL_H

#include <stdio.h>

#define OLR_TBL_MAX_COLS 9
#define OLR_NL '\x1f' /* between the lines of one cell ("\x1f" in a string) */

struct olr_tbl {
    int ncol, nrow, cap, md, failed;
    char hdr[OLR_TBL_MAX_COLS][40];
    int right[OLR_TBL_MAX_COLS]; /* right-aligned (figures) */
    char **cells;                /* nrow x ncol, escaped; owned */
};

/* spec: "name|>figure|...": '>' right-aligns a column */
void olr_tbl_init(struct olr_tbl *t, int md, const char *spec);
/* ncol raw strings (NULL: empty), escaped and copied; out of memory sets failed */
void olr_tbl_row(struct olr_tbl *t, ...);
/* prints and frees the rows */
void olr_tbl_print(FILE *f, struct olr_tbl *t);
void olr_tbl_free(struct olr_tbl *t);

#endif
