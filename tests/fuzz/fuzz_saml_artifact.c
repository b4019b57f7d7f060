/* zr_saml_artifact_parse: SAMLart arrives in the browser's query string. */
#include <stdlib.h>

#include "fuzz_common.h"
#include "zr/saml.h"

/* The entityID of the ST-SAML examples; the seeds are artifacts whose
 * SourceID is its SHA-1, so the fuzzer starts past that check. */
#define FUZZ_TVS_ENTITY "urn:nl-eid-gdi:1.0:RD:00000009999999999000:entities:9000"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    zr_saml_idp_t idp = {0};
    char err[256];
    int index = -1;
    char *samlart = zr_fuzz_cstr(data, size);
    idp.entity_id = FUZZ_TVS_ENTITY;
    if (zr_saml_artifact_parse(samlart, &idp, &index, err, sizeof(err)) == 0 &&
        (index < 0 || index > 0xffff))
        abort(); /* the index is two bytes of the artifact */
    /* Without metadata the artifact must be refused (fail closed). */
    if (zr_saml_artifact_parse(samlart, NULL, &index, err, sizeof(err)) == 0)
        abort();
    free(samlart);
    return 0;
}
