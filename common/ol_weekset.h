/* ol_weekset — a set of (ISO week, name) pairs that a flush collects while it
 * recomputes person-weeks (the teams, orgs or roles they touched) and then
 * recomputes once each, in week-then-name order. Entries are strings
 * "wwwwww<name>" (the week fixed-width first, so sorting orders by week). */
#ifndef OL_WEEKSET_H
#define OL_WEEKSET_H

#include "ol_time.h"

#include <stddef.h>

typedef struct ol_weekset {
    char **v; /* owned; entries owned */
    size_t n, cap;
} ol_weekset;

/* adds (w, name); 0 or -1 (out of memory) */
int ol_weekset_add(ol_weekset *s, const char *name, ol_week w);
/* sorts and removes duplicates */
void ol_weekset_sort(ol_weekset *s);
ol_week ol_weekset_week(const char *entry);
const char *ol_weekset_name(const char *entry);
void ol_weekset_free(ol_weekset *s);

#endif
