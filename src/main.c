/* zorgrelay: authentication relay for Dutch healthcare.
 * Subcommands live in src/cmd/ (one function each, see include/zr/cmd.h). */
#include "zr/cmd.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        zr_cmd_usage(stderr);
        return 2;
    }
    for (const zr_cmd_t *c = zr_cmd_table; c->name; c++) {
        if (strcmp(argv[1], c->name) == 0)
            return c->run(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        zr_cmd_usage(stdout);
        return 0;
    }
    fprintf(stderr, "zorgrelay: unknown command '%s'\n", argv[1]);
    zr_cmd_usage(stderr);
    return 2;
}
