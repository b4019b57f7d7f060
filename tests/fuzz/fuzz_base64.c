/* zr_base64_decode / zr_base64url_decode: SAMLart, XML base64 (certificates,
 * ciphertexts), JOSE segments, PKCE verifiers. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "zr/util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

/* A decoded value must encode back to a string that decodes to the same bytes. */
static void roundtrip(const uint8_t *raw, size_t len, int url)
{
    char *enc = url ? zr_base64url_encode(raw, len) : zr_base64_encode(raw, len);
    uint8_t *back = NULL;
    size_t back_len = 0;
    if (!enc)
        abort();
    if ((url ? zr_base64url_decode(enc, &back, &back_len) : zr_base64_decode(enc, &back, &back_len)) != 0 ||
        back_len != len || (len && memcmp(back, raw, len) != 0))
        abort();
    free(back);
    free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = zr_fuzz_cstr(data, size);
    uint8_t *out = NULL;
    size_t out_len = 0;
    if (zr_base64_decode(in, &out, &out_len) == 0) {
        if (out_len > size)
            abort();
        roundtrip(out, out_len, 0);
    }
    free(out);
    out = NULL;
    out_len = 0;
    if (zr_base64url_decode(in, &out, &out_len) == 0) {
        if (out_len > size)
            abort();
        roundtrip(out, out_len, 1);
    }
    free(out);
    free(in);
    return 0;
}
