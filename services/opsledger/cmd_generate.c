/* opsledger generate — placeholder until the demo data generator lands. */
#include "cli.h"

#include <stdio.h>

int cmd_generate(int argc, char **argv, ol_config *cfg)
{
    (void)argc;
    (void)argv;
    (void)cfg;
    fprintf(stderr, "opsledger generate: not built yet\n");
    return 2;
}
