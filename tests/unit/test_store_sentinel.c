/* Unit tests for src/store/sentinel.c with sentinels that answer what the
 * test tells them (a small RESP server per sentinel) and real Redis nodes:
 * a stale answer naming a replica is not used (ROLE), the next sentinel is
 * asked; a sentinel naming a node off this host is refused when the store
 * must stay on loopback (production); a sentinel password is sent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_fixture.h"
#include "log_capture.h"
#include "zr/store.h"
#include "zr/util.h"

static zr_test_redis_t master, replica;

/* A sentinel that names `host:port` for any master and says +OK to AUTH
 * (and records that it got one). */
typedef struct {
    int fd, port;
    char host[64];
    int named_port;
    atomic_int stop, asked, auth_seen;
    pthread_t thread;
} fake_sentinel_t;

static void *fake_sentinel_run(void *arg)
{
    fake_sentinel_t *f = arg;
    while (!atomic_load(&f->stop)) {
        struct pollfd p = {f->fd, POLLIN, 0};
        int c;
        char buf[512], reply[256];
        if (poll(&p, 1, 50) <= 0)
            continue;
        if ((c = accept(f->fd, NULL, NULL)) < 0)
            continue;
        for (;;) {
            ssize_t n = read(c, buf, sizeof(buf) - 1);
            if (n <= 0)
                break;
            buf[n] = '\0';
            if (strstr(buf, "AUTH")) {
                atomic_store(&f->auth_seen, 1);
                snprintf(reply, sizeof(reply), "+OK\r\n");
            } else {
                char port[16];
                atomic_fetch_add(&f->asked, 1);
                snprintf(port, sizeof(port), "%d", f->named_port);
                snprintf(reply, sizeof(reply), "*2\r\n$%zu\r\n%s\r\n$%zu\r\n%s\r\n", strlen(f->host), f->host,
                         strlen(port), port);
            }
            if (write(c, reply, strlen(reply)) < 0)
                break;
        }
        close(c);
    }
    return NULL;
}

static void fake_sentinel_start(fake_sentinel_t *f, const char *host, int named_port)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    int one = 1;
    memset(f, 0, sizeof(*f));
    snprintf(f->host, sizeof(f->host), "%s", host);
    f->named_port = named_port;
    f->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(f->fd >= 0);
    setsockopt(f->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(f->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(f->fd, 16), 0);
    assert_int_equal(getsockname(f->fd, (struct sockaddr *)&a, &alen), 0);
    f->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&f->thread, NULL, fake_sentinel_run, f), 0);
}

static void fake_sentinel_stop(fake_sentinel_t *f)
{
    atomic_store(&f->stop, 1);
    pthread_join(f->thread, NULL);
    close(f->fd);
}

static zr_store_t *open_with(fake_sentinel_t *sentinels, size_t n, int loopback_only)
{
    zr_redis_config_t cfg;
    char err[256] = "", *list[4];
    zr_store_t *s;
    memset(&cfg, 0, sizeof(cfg));
    for (size_t i = 0; i < n; i++)
        assert_true(asprintf(&list[i], "127.0.0.1:%d", sentinels[i].port) > 0);
    cfg.sentinels = list;
    cfg.sentinel_count = n;
    cfg.sentinel_master = "zrtest";
    cfg.sentinel_password = "test-sentinel-password";
    cfg.loopback_only = loopback_only;
    cfg.timeout_ms = 1000;
    cfg.prefix = "zrtest:";
    for (int i = 0; i < 32; i++)
        cfg.encryption_key[i] = (uint8_t)(0xb0 + i);
    s = zr_store_open(&cfg, err, sizeof(err));
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    assert_non_null(s);
    return s;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static int setup(void **state)
{
    char cmd[160];
    (void)state;
    if (zr_test_redis_start(&master) != 0 || zr_test_redis_start(&replica) != 0)
        return -1;
    snprintf(cmd, sizeof(cmd), "redis-cli -p %d replicaof 127.0.0.1 %d >/dev/null", replica.port, master.port);
    return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    zr_test_redis_destroy(&replica);
    zr_test_redis_destroy(&master);
    return 0;
}

/* The first sentinel has not seen a failover and names the replica: ROLE
 * says "slave", so the store asks the next sentinel and writes to the
 * master it names. */
static void test_stale_sentinel_answer(void **state)
{
    fake_sentinel_t f[2];
    char path[64], *log, where[64], want[64];
    zr_store_t *s;
    int saved;
    (void)state;
    fake_sentinel_start(&f[0], "127.0.0.1", replica.port);
    fake_sentinel_start(&f[1], "127.0.0.1", master.port);
    saved = capture_begin(path);
    s = open_with(f, 2, 1);
    assert_int_equal(zr_store_put(s, "login", "x", "v", 1, 60), ZR_STORE_OK);
    zr_store_target(s, where, sizeof(where));
    zr_store_close(s);
    log = capture_end(path, saved);
    snprintf(want, sizeof(want), "127.0.0.1:%d", master.port);
    assert_string_equal(where, want);
    assert_int_equal(atomic_load(&f[0].asked), 1);
    assert_int_equal(atomic_load(&f[1].asked), 1);
    assert_true(atomic_load(&f[0].auth_seen) && atomic_load(&f[1].auth_seen));
    assert_int_equal(count(log, "now at 127.0.0.1:"), 1);
    assert_non_null(strstr(log, want));
    free(log);
    fake_sentinel_stop(&f[0]);
    fake_sentinel_stop(&f[1]);
}

/* Every sentinel names a replica (a lie, or all stale): nothing is
 * written, the store is unavailable and says why. */
static void test_only_replicas_named(void **state)
{
    fake_sentinel_t f;
    char path[64], *log;
    zr_store_t *s;
    int saved;
    (void)state;
    fake_sentinel_start(&f, "127.0.0.1", replica.port);
    saved = capture_begin(path);
    s = open_with(&f, 1, 0);
    assert_int_equal(zr_store_put(s, "login", "x", "v", 1, 60), ZR_STORE_UNAVAILABLE);
    zr_store_close(s);
    log = capture_end(path, saved);
    assert_non_null(strstr(log, "is a slave, not a master"));
    free(log);
    fake_sentinel_stop(&f);
}

/* Production: a sentinel naming a node off this host is not followed (it
 * would take the Redis password and the sealed values across a network in
 * clear text); outside production it would be tried. */
static void test_remote_master_refused_on_loopback_only(void **state)
{
    fake_sentinel_t f;
    char path[64], *log;
    zr_store_t *s;
    int saved;
    (void)state;
    fake_sentinel_start(&f, "192.0.2.10", 6379);
    saved = capture_begin(path);
    s = open_with(&f, 1, 1);
    assert_int_equal(zr_store_ping(s), ZR_STORE_UNAVAILABLE);
    zr_store_close(s);
    log = capture_end(path, saved);
    assert_non_null(strstr(log, "names master 192.0.2.10:6379, not on this host: refused in production"));
    free(log);
    fake_sentinel_stop(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stale_sentinel_answer),
        cmocka_unit_test(test_only_replicas_named),
        cmocka_unit_test(test_remote_master_refused_on_loopback_only),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
