/* Test helper: capture what a piece of code writes to stderr (the operator
 * log), to assert on log lines. Include after <cmocka.h>.
 *   char path[64]; int saved = capture_begin(path); ...; char *log = capture_end(path, saved); */
#ifndef ZR_TEST_LOG_CAPTURE_H
#define ZR_TEST_LOG_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "zr/util.h"

/* Redirects stderr to a temp file; returns the saved descriptor. */
static int capture_begin(char path[64])
{
    int saved, fd;
    snprintf(path, 64, "/tmp/zr-store-log-XXXXXX");
    fflush(stderr);
    saved = dup(2);
    fd = mkstemp(path);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
    return saved;
}

/* Restores stderr and returns what was written (malloc'ed). */
static char *capture_end(const char *path, int saved)
{
    char *text = NULL;
    size_t len = 0;
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    assert_int_equal(zr_file_read(path, 1 << 20, &text, &len), 0);
    unlink(path);
    return text;
}

#endif
