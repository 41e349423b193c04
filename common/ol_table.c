/* ol_table — the text and Markdown tables of the reports people read. Column
 * widths come from the data (display width: UTF-8 characters, not bytes),
 * so long names never push a row out of line; a cell may hold several lines
 * (OL_TABLE_NL between them: stacked in text, "; " in Markdown, where a pipe
 * table row is one line); no line ends in blanks. Every cell is escaped for
 * the format (ol_escape) when it is added. */
#include "ol_escape.h"
#include "ol_table.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void ol_table_init(struct ol_table *t, int md, const char *spec)
{
    char buf[512];
    memset(t, 0, sizeof *t);
    t->md = md;
    snprintf(buf, sizeof buf, "%s", spec);
    for (char *s = strtok(buf, "|"); s && t->ncol < OL_TABLE_MAX_COLS; s = strtok(NULL, "|")) {
        t->right[t->ncol] = *s == '>';
        snprintf(t->hdr[t->ncol], sizeof t->hdr[0], "%s", *s == '>' ? s + 1 : s);
        t->ncol++;
    }
}

/* raw text with OL_TABLE_NL separators -> escaped lines joined by '\n' (text) or
 * "; " (Markdown); caller frees; NULL when out of memory */
static char *cell(int md, const char *raw)
{
    size_t cap = 64, used = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    out[0] = '\0';
    for (const char *p = raw;;) {
        const char *q = strchr(p, OL_TABLE_NL);
        size_t len = q ? (size_t)(q - p) : strlen(p);
        char *part = strndup(p, len), *e = part ? ol_esc(md ? OL_ESC_MD : OL_ESC_TEXT, part) : NULL;
        free(part);
        if (!e) {
            free(out);
            return NULL;
        }
        size_t need = used + strlen(e) + 3;
        if (need > cap) {
            char *g = realloc(out, cap = need * 2);
            if (!g) {
                free(e);
                free(out);
                return NULL;
            }
            out = g;
        }
        used += (size_t)sprintf(out + used, "%s%s", used ? (md ? "; " : "\n") : "", e);
        free(e);
        if (!q)
            return out;
        p = q + 1;
    }
}

void ol_table_row(struct ol_table *t, ...)
{
    va_list ap;
    if (t->nrow == t->cap) {
        int cap = t->cap ? t->cap * 2 : 16;
        char **c = realloc(t->cells, (size_t)cap * (size_t)t->ncol * sizeof *c);
        if (!c) {
            t->failed = 1;
            return;
        }
        t->cells = c;
        t->cap = cap;
    }
    va_start(ap, t);
    for (int i = 0; i < t->ncol; i++) {
        const char *s = va_arg(ap, const char *);
        char *c = cell(t->md, s ? s : "");
        if (!c) {
            t->failed = 1;
            c = strdup("");
        }
        t->cells[t->nrow * t->ncol + i] = c;
    }
    va_end(ap);
    t->nrow++;
}

/* display width of the first len bytes of UTF-8 s: continuation bytes take no column */
static int width(const char *s, size_t len)
{
    int w = 0;
    for (size_t i = 0; i < len; i++)
        w += ((unsigned char)s[i] & 0xC0) != 0x80;
    return w;
}

/* line k (0-based) of a cell: pointer and length, or NULL past its last */
static const char *line_of(const char *c, int k, size_t *len)
{
    for (; k > 0; k--) {
        c = strchr(c, '\n');
        if (!c)
            return NULL;
        c++;
    }
    const char *e = strchr(c, '\n');
    *len = e ? (size_t)(e - c) : strlen(c);
    return c;
}

static int lines_of(const char *c)
{
    int n = 1;
    for (; *c; c++)
        n += *c == '\n';
    return n;
}

/* one text line of cells (NULL cell: blank), padded to the widths, no trailing blanks */
static void text_line(FILE *f, const struct ol_table *t, const int *w, const char *const *txt, const size_t *len)
{
    int pending = 0; /* blanks owed before the next visible text */
    fputs("  ", f);
    for (int c = 0; c < t->ncol; c++) {
        int cw = txt[c] ? width(txt[c], len[c]) : 0;
        int pad = w[c] - cw;
        if (c)
            pending += 1;
        if (t->right[c])
            pending += pad;
        if (cw) {
            fprintf(f, "%*s%.*s", pending, "", (int)len[c], txt[c]);
            pending = 0;
        }
        if (!t->right[c])
            pending += pad;
    }
    fputc('\n', f);
}

void ol_table_print(FILE *f, struct ol_table *t)
{
    int w[OL_TABLE_MAX_COLS];
    const char *txt[OL_TABLE_MAX_COLS];
    size_t len[OL_TABLE_MAX_COLS];
    for (int c = 0; c < t->ncol; c++) {
        w[c] = width(t->hdr[c], strlen(t->hdr[c]));
        for (int r = 0; r < t->nrow; r++) {
            size_t l;
            const char *s;
            for (int k = 0; (s = line_of(t->cells[r * t->ncol + c], k, &l)); k++)
                w[c] = width(s, l) > w[c] ? width(s, l) : w[c];
        }
    }
    if (t->md) {
        for (int c = 0; c < t->ncol; c++)
            fprintf(f, "| %s ", t->hdr[c]);
        fprintf(f, "|\n");
        for (int c = 0; c < t->ncol; c++)
            fprintf(f, "| %s ", t->right[c] ? "---:" : "---");
        fprintf(f, "|\n");
        for (int r = 0; r < t->nrow; r++) {
            for (int c = 0; c < t->ncol; c++) /* escaped by ol_table_row: '|' is "\|" */
                fprintf(f, "| %s ", t->cells[r * t->ncol + c]);
            fprintf(f, "|\n");
        }
    } else {
        for (int c = 0; c < t->ncol; c++) {
            txt[c] = t->hdr[c];
            len[c] = strlen(t->hdr[c]);
        }
        text_line(f, t, w, txt, len);
        for (int r = 0; r < t->nrow; r++) {
            int h = 1;
            for (int c = 0; c < t->ncol; c++)
                h = lines_of(t->cells[r * t->ncol + c]) > h ? lines_of(t->cells[r * t->ncol + c]) : h;
            for (int k = 0; k < h; k++) {
                for (int c = 0; c < t->ncol; c++)
                    txt[c] = line_of(t->cells[r * t->ncol + c], k, &len[c]);
                text_line(f, t, w, txt, len);
            }
        }
    }
    ol_table_free(t);
}

void ol_table_free(struct ol_table *t)
{
    for (int i = 0; i < t->nrow * t->ncol; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->nrow = t->cap = 0;
}
