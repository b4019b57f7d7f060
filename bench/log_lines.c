/* zr-log-lines: what one operator log line costs to render in each
 * log_format (src/core/log.c, issue 16 §3): the ACS's success line, with
 * its eight key=value pairs, rendered into memory (no write: that cost is
 * the same for both formats).
 *   zr-log-lines [N]      prints microseconds per line for text and json */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "zr/log.h"
#include "zr/util.h"

static double run(zr_log_format_t format, int n)
{
    struct timespec a, b, when = {1796569816, 0};
    zr_log_set_format(format);
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < n; i++) {
        zr_buf_t line;
        zr_buf_init(&line);
        if (zr_log_render(&line, ZR_LOG_INFO, &when, "acs",
                          "login=%s client=%s tenant=%s trace=%s loa=%s representation=%s subject=%s result=ok",
                          "k:0a1b2c3d4e5f", "demo-portal", "zorgaanbieder-demo", "dec6f5e6f5de7d7338c437b0ad299866",
                          "substantial", "no", "k:3997ced30fed") != 0)
            exit(1);
        zr_buf_free(&line);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    return ((double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3) / n;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 200000;
    double best[2] = {1e9, 1e9};
    if (n <= 0)
        return 2;
    zr_log_set_component("relay");
    /* The best of five rounds each: a shared machine only ever adds time. */
    for (int round = 0; round < 5; round++)
        for (int f = 0; f < 2; f++) {
            double us = run((zr_log_format_t)f, n);
            if (us < best[f])
                best[f] = us;
        }
    printf("text: %.2f us/line\njson: %.2f us/line\n", best[0], best[1]);
    return 0;
}
