/* Shared by the libFuzzer targets in tests/fuzz/ (not a target itself: only
 * tests/fuzz/fuzz_*.c are built, see the ZR_FUZZ block in CMakeLists.txt). */
#ifndef ZR_FUZZ_COMMON_H
#define ZR_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The parsers that take a C string get one: an exact-size copy plus NUL, so
 * ASan sees any read past the end of the input. Embedded NULs simply
 * shorten the string, as they would for a real caller. */
static inline char *zr_fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

#endif
