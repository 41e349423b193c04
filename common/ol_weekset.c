/* ol_weekset — the (week, name) set of the services' flushes (see the header). */
#include "ol_weekset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OL_WEEKSET_W 6 /* digits of the week; ol_week is at most 6 digits (yyyyww) */

int ol_weekset_add(ol_weekset *s, const char *name, ol_week w)
{
    size_t len = strlen(name) + OL_WEEKSET_W + 1;
    char *e = malloc(len);
    if (!e)
        return -1;
    snprintf(e, len, "%06d%s", (int)w, name);
    for (size_t i = s->n; i > 0 && i + 8 > s->n; i--) /* cheap recent-duplicate check */
        if (!strcmp(s->v[i - 1], e)) {
            free(e);
            return 0;
        }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        char **n = realloc(s->v, cap * sizeof *n);
        if (!n) {
            free(e);
            return -1;
        }
        s->v = n;
        s->cap = cap;
    }
    s->v[s->n++] = e;
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

void ol_weekset_sort(ol_weekset *s)
{
    size_t out = 0;
    if (s->n == 0)
        return; /* qsort(NULL, 0) is undefined */
    qsort(s->v, s->n, sizeof *s->v, cmp_str);
    for (size_t i = 0; i < s->n; i++) {
        if (out && !strcmp(s->v[out - 1], s->v[i])) {
            free(s->v[i]);
            continue;
        }
        s->v[out++] = s->v[i];
    }
    s->n = out;
}

ol_week ol_weekset_week(const char *e)
{
    char w[OL_WEEKSET_W + 1];
    memcpy(w, e, OL_WEEKSET_W);
    w[OL_WEEKSET_W] = '\0';
    return (ol_week)strtol(w, NULL, 10);
}

const char *ol_weekset_name(const char *e) { return e + OL_WEEKSET_W; }

void ol_weekset_free(ol_weekset *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}
