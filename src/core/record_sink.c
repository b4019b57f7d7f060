/* include/zr/record_sink.h: the one way records are appended to a file. */
#include "zr/record_sink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zr/log.h"

int zr_record_sink_open(zr_record_sink_t *s, const char *path, const char *key, const char *event,
                        const char *hint, char *err, size_t errlen)
{
    int fd = -1, old = -1, rc = -1;
    struct stat st;
    if (path) {
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) {
            snprintf(err, errlen, "%s: cannot open %s: %s", key, path, strerror(errno));
            goto end;
        }
        if (fstat(fd, &st) != 0 || !(S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode))) {
            snprintf(err, errlen, "%s: %s is not a file", key, path);
            goto end;
        }
        if (S_ISREG(st.st_mode) && (st.st_mode & 077))
            zr_log_warn(event, "file=%s mode=%03o hint=\"%s\"", path, (unsigned)(st.st_mode & 0777), hint);
    }
    pthread_mutex_lock(&s->lock);
    old = s->fd;
    s->fd = fd;
    pthread_mutex_unlock(&s->lock);
    fd = -1;
    rc = 0;

end:
    if (fd >= 0)
        close(fd);
    if (old >= 0)
        close(old);
    return rc;
}

void zr_record_sink_close(zr_record_sink_t *s)
{
    pthread_mutex_lock(&s->lock);
    int fd = s->fd;
    s->fd = -1;
    pthread_mutex_unlock(&s->lock);
    if (fd >= 0)
        close(fd);
}

int zr_record_sink_is_open(zr_record_sink_t *s)
{
    pthread_mutex_lock(&s->lock);
    int open_ = s->fd >= 0;
    pthread_mutex_unlock(&s->lock);
    return open_;
}

int zr_record_sink_write(zr_record_sink_t *s, const char *line, size_t len)
{
    size_t done = 0;
    int rc = 0;
    pthread_mutex_lock(&s->lock);
    while (s->fd >= 0 && done < len) {
        ssize_t n = write(s->fd, line + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            rc = -1;
            break;
        }
        done += (size_t)n;
    }
    if (rc == 0)
        rc = s->fd >= 0 ? 1 : 0;
    pthread_mutex_unlock(&s->lock);
    return rc;
}
