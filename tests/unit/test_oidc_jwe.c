/* JWE compact (src/oidc/jwe.c, issue 17 §1/§2): what the relay encrypts it
 * decrypts, with RSA-OAEP and RSA-OAEP-256 and A256GCM; any tampering, a
 * wrong key, and every header outside the allow-list are refused.
 * Interop with independent implementations: tests/integration/test_jwe.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "test_keys.h"
#include "zr/crypto.h"
#include "zr/jwe.h"
#include "zr/util.h"

static EVP_PKEY *key_a, *key_b;

static int setup(void **state)
{
    (void)state;
    key_a = zr_test_rsa_key();
    key_b = zr_test_rsa_key();
    return key_a && key_b ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(key_a);
    EVP_PKEY_free(key_b);
    return 0;
}

/* 0 when compact parses and decrypts with key to expect. */
static int open_with(const char *compact, EVP_PKEY *key, const char *expect)
{
    zr_jwe_t jwe;
    uint8_t *plain = NULL;
    size_t len = 0;
    const char *why = NULL;
    int rc = -1;
    if (zr_jwe_parse(compact, &jwe, &why) != 0) {
        assert_non_null(why);
        return -1;
    }
    if (zr_jwe_decrypt(&jwe, key, &plain, &len, &why) == 0) {
        assert_non_null(expect);
        assert_int_equal(len, strlen(expect));
        assert_memory_equal(plain, expect, len);
        rc = 0;
    } else {
        assert_null(plain);
        assert_string_equal(why, "JWE cannot be decrypted"); /* one answer for every failure */
    }
    free(plain);
    zr_jwe_clear(&jwe);
    return rc;
}

static void test_roundtrip(void **state)
{
    const char *msg = "{\"sub\":\"abc\",\"bsn\":\"999990019\"}";
    (void)state;
    for (int alg = ZR_JWE_RSA_OAEP; alg <= ZR_JWE_RSA_OAEP_256; alg++) {
        char *c = zr_jwe_encrypt(key_a, (zr_jwe_alg_t)alg, "k1", "JWT", (const uint8_t *)msg, strlen(msg));
        zr_jwe_t jwe;
        const char *why;
        assert_non_null(c);
        assert_null(strstr(c, "999990019"));
        assert_int_equal(open_with(c, key_a, msg), 0);
        assert_int_equal(zr_jwe_parse(c, &jwe, &why), 0);
        assert_int_equal(jwe.alg, alg);
        assert_string_equal(jwe.kid, "k1");
        assert_string_equal(jwe.cty, "JWT");
        zr_jwe_clear(&jwe);
        /* another key: refused the same way as tampering */
        assert_int_equal(open_with(c, key_b, NULL), -1);
        free(c);
    }
}

/* The segment i (0-4) of c with one character changed in the middle. */
static char *tamper(const char *c, int seg)
{
    char *t = strdup(c), *p = t;
    size_t n;
    for (int i = 0; i < seg; i++)
        p = strchr(p, '.') + 1;
    n = strcspn(p, ".");
    p[n / 2] = p[n / 2] == 'A' ? 'B' : 'A';
    return t;
}

static void test_tampering(void **state)
{
    const char *msg = "request object";
    char *c = zr_jwe_encrypt(key_a, ZR_JWE_RSA_OAEP_256, NULL, NULL, (const uint8_t *)msg, strlen(msg));
    (void)state;
    assert_non_null(c);
    assert_int_equal(open_with(c, key_a, msg), 0);
    for (int seg = 1; seg < 5; seg++) { /* encrypted key, IV, ciphertext, tag */
        char *t = tamper(c, seg);
        assert_int_equal(open_with(t, key_a, NULL), -1);
        free(t);
    }
    free(c);
}

/* A JWE with header h (JSON) over otherwise good segments of c. */
static char *with_header(const char *c, const char *h)
{
    char *h64 = zr_base64url_encode((const uint8_t *)h, strlen(h));
    const char *rest = strchr(c, '.');
    char *out = malloc(strlen(h64) + strlen(rest) + 1);
    strcpy(out, h64);
    strcat(out, rest);
    free(h64);
    return out;
}

static void test_header_allow_list(void **state)
{
    static const char *const refused[] = {
        "{\"alg\":\"RSA1_5\",\"enc\":\"A256GCM\"}",
        "{\"alg\":\"dir\",\"enc\":\"A256GCM\"}",
        "{\"alg\":\"A256KW\",\"enc\":\"A256GCM\"}",
        "{\"alg\":\"ECDH-ES\",\"enc\":\"A256GCM\"}",
        "{\"alg\":\"none\",\"enc\":\"A256GCM\"}",
        "{\"alg\":\"RSA-OAEP-256\",\"enc\":\"A128CBC-HS256\"}",
        "{\"alg\":\"RSA-OAEP-256\",\"enc\":\"A128GCM\"}",
        "{\"alg\":\"RSA-OAEP-256\"}",
        "{\"enc\":\"A256GCM\"}",
        "{\"alg\":\"RSA-OAEP-256\",\"enc\":\"A256GCM\",\"zip\":\"DEF\"}",
        "{\"alg\":\"RSA-OAEP-256\",\"enc\":\"A256GCM\",\"crit\":[\"exp\"],\"exp\":1}",
        "{\"alg\":\"RSA-OAEP-256\",\"enc\":\"A256GCM\",\"kid\":7}",
        "{\"alg\":\"RSA-OAEP-256\",\"alg\":\"RSA-OAEP-256\",\"enc\":\"A256GCM\"}",
        "[\"RSA-OAEP-256\"]",
        NULL};
    const char *msg = "x";
    char *c = zr_jwe_encrypt(key_a, ZR_JWE_RSA_OAEP_256, NULL, NULL, (const uint8_t *)msg, 1);
    zr_jwe_t jwe;
    const char *why;
    (void)state;
    assert_non_null(c);
    for (int i = 0; refused[i]; i++) {
        char *t = with_header(c, refused[i]);
        assert_int_equal(zr_jwe_parse(t, &jwe, &why), -1);
        assert_non_null(why);
        free(t);
    }
    /* a header of the allowed kind, but not the one the tag covers */
    {
        char *t = with_header(c, "{\"enc\":\"A256GCM\",\"alg\":\"RSA-OAEP-256\"}");
        assert_int_equal(open_with(t, key_a, NULL), -1);
        free(t);
    }
    free(c);
}

static void test_shape(void **state)
{
    static const char *const bad[] = {"", "a.b.c", "a.b.c.d", "a.b.c.d.e.f", "....", "a..c.d.e",
                                      "eyJhbGciOiJSU0EtT0FFUC0yNTYiLCJlbmMiOiJBMjU2R0NNIn0.a b.c.d.e",
                                      "eyJhbGciOiJSU0EtT0FFUC0yNTYiLCJlbmMiOiJBMjU2R0NNIn0.a=.c.d.e", NULL};
    const char *msg = "x";
    char *c = zr_jwe_encrypt(key_a, ZR_JWE_RSA_OAEP_256, NULL, NULL, (const uint8_t *)msg, 1), *big;
    zr_jwe_t jwe;
    const char *why;
    (void)state;
    for (int i = 0; bad[i]; i++)
        assert_int_equal(zr_jwe_parse(bad[i], &jwe, &why), -1);
    assert_int_equal(zr_jwe_parse(NULL, &jwe, &why), -1);
    /* an IV of the wrong length */
    {
        char *p = strdup(c), *iv = strchr(strchr(p, '.') + 1, '.') + 1;
        char *rest = strchr(iv, '.');
        char *t = malloc(strlen(p) + 8);
        *iv = '\0';
        sprintf(t, "%sAAAA%s", p, rest);
        assert_int_equal(zr_jwe_parse(t, &jwe, &why), -1);
        free(t);
        free(p);
    }
    /* too large */
    big = malloc(ZR_JWE_MAX_LEN + 2);
    memset(big, 'A', ZR_JWE_MAX_LEN + 1);
    big[ZR_JWE_MAX_LEN + 1] = '\0';
    assert_int_equal(zr_jwe_parse(big, &jwe, &why), -1);
    assert_string_equal(why, "JWE too large");
    free(big);
    free(c);
}

static void test_public_from_jwk(void **state)
{
    json_t *jwk = zr_crypto_jwk_from_pkey(key_a, 0);
    EVP_PKEY *pub;
    const char *msg = "to the client's key";
    char *c;
    (void)state;
    assert_non_null(jwk);
    pub = zr_jwe_rsa_public_from_jwk(jwk);
    assert_non_null(pub);
    c = zr_jwe_encrypt(pub, ZR_JWE_RSA_OAEP, "enc-1", NULL, (const uint8_t *)msg, strlen(msg));
    assert_non_null(c);
    assert_int_equal(open_with(c, key_a, msg), 0);
    /* a short key is no key to encrypt to */
    assert_null(zr_jwe_encrypt(NULL, ZR_JWE_RSA_OAEP, NULL, NULL, (const uint8_t *)msg, 1));
    json_object_set_new(jwk, "kty", json_string("EC"));
    assert_null(zr_jwe_rsa_public_from_jwk(jwk));
    free(c);
    EVP_PKEY_free(pub);
    json_decref(jwk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_tampering),
        cmocka_unit_test(test_header_allow_list),
        cmocka_unit_test(test_shape),
        cmocka_unit_test(test_public_from_jwk),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
