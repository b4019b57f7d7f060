/* RSA-2048 test keys from a pool of 16 pre-made ones in tests/data/saml/sp
 * (generating keys makes tests slow, above all under valgrind). Calls within
 * one test program return distinct keys until the pool wraps; a missing file
 * falls back to generating one. Nothing real: the keys are public. */
#ifndef ZR_TEST_KEYS_H
#define ZR_TEST_KEYS_H

#include <stdio.h>
#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#ifndef ZR_SOURCE_DIR
#define ZR_SOURCE_DIR "."
#endif

static inline EVP_PKEY *zr_test_rsa_key(void)
{
    static int next = 0;
    char path[512];
    const char *data = getenv("ZR_TEST_DATA");
    EVP_PKEY *k = NULL;
    FILE *f;
    snprintf(path, sizeof(path), "%s/saml/sp/test-key-%02d.pem", data ? data : ZR_SOURCE_DIR "/tests/data",
             next % 16 + 1);
    next++;
    f = fopen(path, "r");
    if (f) {
        k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
    }
    return k ? k : EVP_RSA_gen(2048);
}

#endif
