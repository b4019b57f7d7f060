/* Unit tests for the back-channel lane of src/http/server.c (issue 13 §2):
 * a lane route's handler blocks (as on a frozen TVS) while the server has a
 * single worker thread; everything else must still be answered, a full lane
 * answers 503 with Retry-After, and stopping waits for the handler.
 * Deterministic: the blocked handlers are released by the test, never by a
 * clock; the test waits on events (handlers entered, lane load). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "zr/http.h"
#include "zr/util.h"

/* ---- a handler that blocks until the test opens the gate ---- */

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static int gate_open;
static int slow_entered;
static int slow_finished;

static int handle_slow(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    (void)ctx;
    pthread_mutex_lock(&gate_lock);
    slow_entered++;
    pthread_cond_broadcast(&gate_cond);
    while (!gate_open)
        pthread_cond_wait(&gate_cond, &gate_lock);
    pthread_mutex_unlock(&gate_lock);
    {
        const char *n = zr_kv_get(&req->query, "n");
        zr_http_respond(resp, 200, "text/plain", n ? n : "-", n ? strlen(n) : 1);
    }
    pthread_mutex_lock(&gate_lock);
    slow_finished++;
    pthread_mutex_unlock(&gate_lock);
    return 0;
}

static int handle_fast(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    (void)ctx;
    (void)req;
    return zr_http_respond(resp, 200, "text/plain", "fast", 4);
}

static int handle_lane_fail(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    (void)ctx;
    (void)req;
    (void)resp;
    return -1;
}

static void gate_reset(void)
{
    pthread_mutex_lock(&gate_lock);
    gate_open = 0;
    slow_entered = 0;
    slow_finished = 0;
    pthread_mutex_unlock(&gate_lock);
}

static void gate_release(void)
{
    pthread_mutex_lock(&gate_lock);
    gate_open = 1;
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_lock);
}

static void wait_entered(int n)
{
    pthread_mutex_lock(&gate_lock);
    while (slow_entered < n)
        pthread_cond_wait(&gate_cond, &gate_lock);
    pthread_mutex_unlock(&gate_lock);
}

static const zr_http_route_t routes[] = {
    {"GET", "/fast", handle_fast},
};
static const zr_http_route_t lane_routes[] = {
    {"GET", "/slow", handle_slow},
    {"POST", "/slow", handle_slow},
    {"GET", "/lane-fail", handle_lane_fail},
};

/* One worker thread: without the lane, one blocked handler would hold
 * every other connection. */
static zr_http_server_t *start(int lane_threads, int lane_queue)
{
    char err[256] = "";
    zr_http_server_config_t cfg = {
        .listen = "127.0.0.1:0",
        .threads = 1,
        .routes = routes,
        .route_count = sizeof(routes) / sizeof(routes[0]),
        .lane_routes = lane_routes,
        .lane_route_count = sizeof(lane_routes) / sizeof(lane_routes[0]),
        .lane_threads = lane_threads,
        .lane_queue = lane_queue,
        .component = "test",
    };
    zr_http_server_t *s = zr_http_server_start(&cfg, err, sizeof(err));
    if (!s)
        fprintf(stderr, "start failed: %s\n", err);
    assert_non_null(s);
    return s;
}

/* ---- a tiny raw HTTP client ---- */

static int send_request(int port, const char *method, const char *target)
{
    struct sockaddr_in sa;
    char req[256];
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int n;

    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    if (strcmp(method, "POST") == 0)
        n = snprintf(req, sizeof(req), "POST %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                     "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\n\r\na=b", target);
    else
        n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", method,
                     target);
    assert_int_equal(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
    return fd;
}

/* Reads the whole answer (the server closes: Connection: close); blocks as
 * long as it takes, no clock. */
static char *read_all(int fd, int *status)
{
    zr_buf_t b;
    char chunk[4096];
    ssize_t n;

    zr_buf_init(&b);
    while ((n = recv(fd, chunk, sizeof(chunk), 0)) > 0)
        zr_buf_append(&b, chunk, (size_t)n);
    close(fd);
    *status = 0;
    if (b.data)
        sscanf(b.data, "HTTP/1.%*c %d", status);
    return zr_buf_steal(&b);
}

static void wait_load(zr_http_server_t *s, size_t busy, size_t queued)
{
    zr_http_lane_load_t load;
    for (;;) {
        assert_int_equal(zr_http_server_lane_load(s, &load), 0);
        if (load.busy == busy && load.queued == queued)
            return;
        usleep(1000);
    }
}

/* ---- tests ---- */

static void test_lane_keeps_workers_free(void **state)
{
    zr_http_server_t *s;
    int port, fd[3], status;
    char *body;
    zr_http_lane_load_t load;

    (void)state;
    gate_reset();
    s = start(2, 1);
    port = zr_http_server_port(s);
    fd[0] = send_request(port, "GET", "/slow?n=a");
    fd[1] = send_request(port, "POST", "/slow?n=b");
    wait_entered(2);
    fd[2] = send_request(port, "GET", "/slow?n=c");
    wait_load(s, 2, 1);

    /* the single worker answers while three lane requests hang */
    body = read_all(send_request(port, "GET", "/fast"), &status);
    assert_int_equal(status, 200);
    assert_non_null(strstr(body, "\r\n\r\nfast"));
    free(body);

    /* 2 running + 1 waiting: the next is refused at once, handler not run */
    body = read_all(send_request(port, "GET", "/slow?n=d"), &status);
    assert_int_equal(status, 503);
    assert_non_null(strcasestr(body, "\r\nRetry-After: 5\r\n"));
    assert_non_null(strstr(body, "backchannel_busy"));
    free(body);
    assert_int_equal(zr_http_server_lane_load(s, &load), 0);
    assert_int_equal(load.threads, 2);
    assert_int_equal(load.queue_max, 1);
    assert_int_equal(load.refused, 1);
    pthread_mutex_lock(&gate_lock);
    assert_int_equal(slow_entered, 2);
    pthread_mutex_unlock(&gate_lock);

    /* released: each gets its own answer */
    gate_release();
    for (int i = 0; i < 3; i++) {
        char want[16];
        body = read_all(fd[i], &status);
        assert_int_equal(status, 200);
        snprintf(want, sizeof(want), "\r\n\r\n%c", 'a' + i);
        assert_non_null(strstr(body, want));
        free(body);
    }
    wait_load(s, 0, 0);
    zr_http_server_stop(s);
}

static void test_lane_handler_failure_is_500(void **state)
{
    zr_http_server_t *s;
    int status;
    char *body;

    (void)state;
    s = start(1, -1);
    body = read_all(send_request(zr_http_server_port(s), "GET", "/lane-fail"), &status);
    assert_int_equal(status, 500);
    free(body);
    /* unknown method on a lane path: answered by the worker, no lane */
    body = read_all(send_request(zr_http_server_port(s), "PUT", "/slow"), &status);
    assert_int_equal(status, 405);
    free(body);
    zr_http_server_stop(s);
}

/* No queue (lane_queue < 0): one running, the next refused. */
static void test_lane_without_queue(void **state)
{
    zr_http_server_t *s;
    int port, fd, status;
    char *body;

    (void)state;
    gate_reset();
    s = start(1, -1);
    port = zr_http_server_port(s);
    fd = send_request(port, "GET", "/slow?n=a");
    wait_entered(1);
    body = read_all(send_request(port, "GET", "/slow?n=b"), &status);
    assert_int_equal(status, 503);
    free(body);
    gate_release();
    body = read_all(fd, &status);
    assert_int_equal(status, 200);
    free(body);
    zr_http_server_stop(s);
}

typedef struct {
    zr_http_server_t *s;
    int slow_finished_at_return;
} stopper_t;

static void *stop_thread(void *arg)
{
    stopper_t *st = arg;
    zr_http_server_stop(st->s);
    pthread_mutex_lock(&gate_lock);
    st->slow_finished_at_return = slow_finished;
    pthread_mutex_unlock(&gate_lock);
    return NULL;
}

/* Stopping with a handler blocked on the lane: the stop waits for it, the
 * client still gets the handler's answer, and no handler runs after the
 * stop returned (under ASan also: nothing freed under the handler). */
static void test_stop_waits_for_lane(void **state)
{
    stopper_t st = {0};
    pthread_t t;
    int fd, status;
    char *body;

    (void)state;
    gate_reset();
    st.s = start(1, 4);
    fd = send_request(zr_http_server_port(st.s), "GET", "/slow?n=a");
    wait_entered(1);
    assert_int_equal(pthread_create(&t, NULL, stop_thread, &st), 0);
    gate_release();
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(st.slow_finished_at_return, 1);
    body = read_all(fd, &status);
    /* the answer, or a closed connection if the daemon ended it first */
    assert_true(status == 200 || status == 0);
    free(body);
}

static void test_no_lane_without_lane_routes(void **state)
{
    char err[256] = "";
    zr_http_lane_load_t load;
    zr_http_server_config_t cfg = {
        .listen = "127.0.0.1:0",
        .threads = 1,
        .routes = routes,
        .route_count = 1,
    };
    zr_http_server_t *s = zr_http_server_start(&cfg, err, sizeof(err));

    (void)state;
    assert_non_null(s);
    assert_int_equal(zr_http_server_lane_load(s, &load), -1);
    zr_http_server_stop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lane_keeps_workers_free),
        cmocka_unit_test(test_lane_handler_failure_is_500),
        cmocka_unit_test(test_lane_without_queue),
        cmocka_unit_test(test_stop_waits_for_lane),
        cmocka_unit_test(test_no_lane_without_lane_routes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
