/* The subcommand table and `zorgrelay version`. */
#include "zr/cmd.h"
#include "zr/preprod.h"

#include <stdio.h>

const zr_cmd_t zr_cmd_table[] = {
    {"serve", "run the relay: serve CONFIG", zr_cmd_serve},
    {"metadata", "print our signed SAML SP metadata: metadata CONFIG [--care-provider ID]", zr_cmd_metadata},
    {"check-config", "validate a configuration file: check-config [--stats] CONFIG", zr_cmd_check_config},
    {"mock-tvs", "run the built-in mock TVS (never in production): mock-tvs CONFIG", zr_cmd_mock_tvs},
    {"mock-dezi", "run the built-in mock Dezi (never in production): mock-dezi CONFIG", zr_cmd_mock_dezi},
    {"tenants", "check a batch of care provider files / export the aansluitbestand: tenants validate DIR | tenants export --config CONFIG", zr_cmd_tenants},
    {"clients", "an initial access token for dynamic registration (RFC 7591): clients token --config CONFIG --care-provider ID [--ttl 24h]", zr_cmd_clients},
    {"reload", "validate CONFIG, then have the running relay swap it in (SIGHUP): reload CONFIG [--pid-file FILE]", zr_cmd_reload},
    {"selftest", "can this installation work? every check, what to do: selftest [--json] [--schemas DIR] [--warn-days N] CONFIG (exit 1 on any failure)", zr_cmd_selftest},
    {"preprod-test", "guided DICTU pre-production test run with a built-in test client (never in production): preprod-test CONFIG [--report DIR [--pdf [--chromium PATH]]]", zr_cmd_preprod_test},
    {"version", "print the version", zr_cmd_version},
    {NULL, NULL, NULL},
};

void zr_cmd_usage(FILE *out)
{
    fprintf(out, "usage: zorgrelay <command> [options]\n\ncommands:\n");
    for (const zr_cmd_t *c = zr_cmd_table; c->name; c++)
        fprintf(out, "  %-14s %s\n", c->name, c->summary);
}

int zr_cmd_version(int argc, char **argv)
{
    printf("zorgrelay %s\n", ZR_VERSION);
    return 0;
}
