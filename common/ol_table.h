/* ol_table — text and Markdown tables for every report a person reads
 * (the weekly page, `report billing|contractors|forecast|budgets|demand`):
 * column widths from the data (UTF-8 aware), cells of several lines, no
 * trailing blanks, every cell escaped for the format. Rows are indented by
 * two blanks in text. */
#ifndef OL_TABLE_H
#define OL_TABLE_H

#include <stdio.h>

#define OL_TABLE_MAX_COLS 12
#define OL_TABLE_NL '\x1f' /* between the lines of one cell ("\x1f" in a string) */

struct ol_table {
    int ncol, nrow, cap, md, failed;
    char hdr[OL_TABLE_MAX_COLS][40];
    int right[OL_TABLE_MAX_COLS]; /* right-aligned (figures) */
    char **cells;                /* nrow x ncol, escaped; owned */
};

/* spec: "name|>figure|...": '>' right-aligns a column */
void ol_table_init(struct ol_table *t, int md, const char *spec);
/* ncol raw strings (NULL: empty), escaped and copied; out of memory sets failed */
void ol_table_row(struct ol_table *t, ...);
/* prints and frees the rows */
void ol_table_print(FILE *f, struct ol_table *t);
void ol_table_free(struct ol_table *t);

#endif
