/* The subcommands of the zorgrelay binary (src/cmd/). Each takes argv with
 * argv[0] = the subcommand name and returns the process exit status. */
#ifndef ZR_CMD_H
#define ZR_CMD_H

#include <stdio.h>

typedef struct {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} zr_cmd_t;

extern const zr_cmd_t zr_cmd_table[]; /* terminated by {NULL} */
void zr_cmd_usage(FILE *out);

int zr_cmd_version(int argc, char **argv);
int zr_cmd_serve(int argc, char **argv);
int zr_cmd_check_config(int argc, char **argv);
int zr_cmd_metadata(int argc, char **argv);
int zr_cmd_mock_tvs(int argc, char **argv);
int zr_cmd_mock_dezi(int argc, char **argv);
int zr_cmd_tenants(int argc, char **argv);
int zr_cmd_clients(int argc, char **argv);
int zr_cmd_reload(int argc, char **argv);
int zr_cmd_selftest(int argc, char **argv);

#endif
