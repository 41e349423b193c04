/* opsledger week [WEEK|DATE] [OFFSET] — ISO week arithmetic for scripts:
 * `opsledger week 2026-W47 -7` prints 2026-W40; `opsledger week 2026-11-16`
 * prints 2026-W47 (the week of a date). */
#include "cli.h"
#include "ol_escape.h"
#include "ol_time.h"

#include <stdio.h>
#include <stdlib.h>

int cmd_week(int argc, char **argv, ol_config *cfg)
{
    ol_week w;
    int32_t day;
    char buf[9];
    (void)cfg;
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: opsledger week WEEK|DATE [OFFSET]\n");
        return 2;
    }
    if (ol_week_parse(argv[1], &w)) {
        if (ol_date_parse(argv[1], &day))
            return ol_usage_arg("opsledger week", NULL, argv[1], " is neither a week (2026-W47) nor a date (2026-11-16)");
        w = ol_week_of(day);
    }
    if (argc == 3) {
        char *end;
        long n = strtol(argv[2], &end, 10);
        if (*end || n < -5000 || n > 5000) {
            return ol_usage_arg("opsledger week", "offset ", argv[2], " is not a number of weeks");
        }
        w = ol_week_add(w, (int)n);
    }
    ol_week_format(w, buf);
    puts(buf);
    return 0;
}
