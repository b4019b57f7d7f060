/* zr_jwe_parse and zr_jwe_decrypt (src/oidc/jwe.c): an encrypted request
 * object as a portal (or anyone) sends it to /authorize or the PAR
 * endpoint. Contracts: a refusal says why and leaves nothing allocated;
 * what parses has an allowed alg, an IV of 12 and a tag of 16 bytes; and
 * nothing decrypts under the key made at start-up (no input can carry a
 * valid GCM tag for a CEK wrapped to it), except the object encrypted to
 * it here, which must round-trip. */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "zr/jwe.h"

static EVP_PKEY *key;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    return key ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = zr_fuzz_cstr(data, size), *c = NULL;
    zr_jwe_t jwe;
    uint8_t *plain = NULL;
    size_t len = 0;
    const char *why = NULL;

    if (zr_jwe_parse(s, &jwe, &why) != 0) {
        if (!why || jwe.kid || jwe.cty || jwe.protected_b64 || jwe.ek || jwe.iv || jwe.ct || jwe.tag)
            abort();
        goto roundtrip;
    }
    if ((jwe.alg != ZR_JWE_RSA_OAEP && jwe.alg != ZR_JWE_RSA_OAEP_256) || jwe.iv_len != 12 || jwe.tag_len != 16 ||
        !jwe.protected_b64)
        abort();
    if (zr_jwe_decrypt(&jwe, key, &plain, &len, &why) == 0 || plain || !why)
        abort();
    zr_jwe_clear(&jwe);
roundtrip:
    /* the input as a plaintext: what is encrypted comes back whole */
    c = zr_jwe_encrypt(key, size % 2 ? ZR_JWE_RSA_OAEP : ZR_JWE_RSA_OAEP_256, "k", NULL, data, size);
    if (size == 0 && c)
        abort();
    if (size > 0 && size <= ZR_JWE_MAX_LEN / 2) {
        if (!c || zr_jwe_parse(c, &jwe, &why) != 0 || zr_jwe_decrypt(&jwe, key, &plain, &len, &why) != 0 ||
            len != size || (size && memcmp(plain, data, size) != 0))
            abort();
        zr_jwe_clear(&jwe);
    }
    free(plain);
    free(c);
    free(s);
    return 0;
}
