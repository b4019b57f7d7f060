/* zorgrelay: authentication relay for Dutch healthcare.
 * Subcommands live in src/cmd/ (one function each, see include/zr/cmd.h).
 *
 * Process-wide library state is set up here, on the main thread, before any
 * command starts a thread (issue 13 §1, docs/architecture.md "Start-up"):
 * libcurl's global state (the TVS back channel, Dezi, the PDP, selftest,
 * reload, preprod-test), jansson's hash seed and whether stderr is the
 * journal's stream. Modules never initialise a
 * library lazily from a worker; the XML and SAML libraries are set up by
 * zr_xml_init and zr_saml_init, which need the configuration first. */
#include "zr/cmd.h"
#include "zr/log.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

static int main_dispatch(int argc, char **argv)
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

int main(int argc, char **argv)
{
    int rc;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "zorgrelay: libcurl cannot be initialised\n");
        return 1;
    }
    /* A random seed now rather than on the first JSON object a worker makes. */
    json_object_seed(0);
    /* Under systemd, each line's priority for journald. */
    zr_log_journal_detect();
    rc = main_dispatch(argc, argv);
    curl_global_cleanup();
    return rc;
}
