/* An append-only file of records (one line each) shared by threads and
 * processes: the decision log (src/authz) and the audit stream (src/audit).
 * O_APPEND and one write() per record, so concurrent writers never
 * interleave; opened anew on reload, so `mv` + reload rotates it. */
#ifndef ZR_RECORD_SINK_H
#define ZR_RECORD_SINK_H

#include <pthread.h>
#include <stddef.h>

typedef struct {
    pthread_mutex_t lock;
    int fd; /* -1: no file */
} zr_record_sink_t;
#define ZR_RECORD_SINK_INIT {PTHREAD_MUTEX_INITIALIZER, -1}

/* Opens path (created 0600, appended): a regular file, FIFO or character
 * device; a regular file others may read gets a warning log line (event,
 * hint). The previous file, if any, is closed once replaced. path NULL: no
 * file from now on. -1 with "KEY: ..." in err (the sink unchanged). */
int zr_record_sink_open(zr_record_sink_t *s, const char *path, const char *key, const char *event,
                        const char *hint, char *err, size_t errlen);
void zr_record_sink_close(zr_record_sink_t *s);
int zr_record_sink_is_open(zr_record_sink_t *s);
/* Appends line (len bytes) with one write(); the loop only finishes a short
 * write. 1 written whole, 0 no file open, -1 write failed (errno set). */
int zr_record_sink_write(zr_record_sink_t *s, const char *line, size_t len);

#endif
