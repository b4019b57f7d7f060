/* Test fixture: a private, throw-away redis-server on a free loopback port,
 * for unit tests that need the real store. Header-only so any test can use it.
 *   zr_test_redis_t r; zr_test_redis_start(&r); ... r.port ...; zr_test_redis_stop(&r); */
#ifndef ZR_TEST_REDIS_FIXTURE_H
#define ZR_TEST_REDIS_FIXTURE_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdint.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    pid_t pid;
    int port;
    char dir[64];
} zr_test_redis_t;

static inline int zr_test_free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static inline int zr_test_port_open(int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* Starts redis-server (same port again when r->port is already set, so a
 * test can stop and restart "the same" Redis). 0 on success. */
static inline int zr_test_redis_start(zr_test_redis_t *r)
{
    char portbuf[16];
    if (!r->port) {
        r->port = zr_test_free_port();
        snprintf(r->dir, sizeof(r->dir), "/tmp/zr-redis-XXXXXX");
        if (!mkdtemp(r->dir))
            return -1;
    }
    snprintf(portbuf, sizeof(portbuf), "%d", r->port);
    r->pid = fork();
    if (r->pid == 0) {
        int devnull = open("/dev/null", 1);
        dup2(devnull, 1);
        execlp("redis-server", "redis-server", "--port", portbuf, "--bind", "127.0.0.1",
               "--save", "", "--appendonly", "no", "--dir", r->dir, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        if (zr_test_port_open(r->port))
            return 0;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return -1;
}

static inline void zr_test_redis_stop(zr_test_redis_t *r)
{
    if (r->pid > 0) {
        kill(r->pid, SIGTERM);
        waitpid(r->pid, NULL, 0);
        r->pid = 0;
    }
}

/* Stops and removes the temp dir. */
static inline void zr_test_redis_destroy(zr_test_redis_t *r)
{
    char cmd[128];
    zr_test_redis_stop(r);
    if (r->dir[0]) {
        snprintf(cmd, sizeof(cmd), "rm -rf %s", r->dir);
        if (system(cmd) != 0) { /* best effort */ }
    }
}

#endif
