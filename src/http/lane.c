/* The back-channel lane of the HTTP listener (issue 13 §2): the routes
 * whose handler waits on an upstream run on threads of their own. */
#include "http_internal.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zr/log.h"

/* The back-channel lane (http_lane_*): defaults and bounds. 32 threads
 * blocked on TVS cost little memory and at TVS's usual ~100 ms per
 * resolution carry some 300 logins a second. */
#define HTTP_LANE_DEFAULT_THREADS 32
#define HTTP_LANE_DEFAULT_QUEUE 256
#define HTTP_LANE_MAX_THREADS 1024
/* What a browser or load balancer is told after a 503 from a full lane:
 * long enough for the lane to drain some, short for a person waiting. */
#define HTTP_LANE_RETRY_AFTER "5"
/* A route whose handler waits on an upstream (TVS's artifact endpoint,
 * Dezi) must not hold a worker: libmicrohttpd's thread pool gives every
 * connection to one worker, so a handler blocked there for seconds stalls
 * every other connection of that worker (/healthz, discovery, /token).
 * Such a request is suspended once it is complete (MHD_suspend_connection:
 * the worker goes on with its other connections) and queued for a lane
 * thread; the lane thread runs the unchanged handler, keeps the answer in
 * the request's state and resumes the connection; libmicrohttpd then calls
 * http_access again on the worker, which sends the answer. A suspended
 * connection never times out and is not read from, so its state lives at
 * least until it is resumed, and every suspended connection is resumed
 * before the daemon stops (http_lane_stop before MHD_stop_daemon: stopping
 * with one suspended is an API violation in libmicrohttpd 0.9). */
/* The idle threads are a stack: the most recently idle one takes the next
 * request, so a few warm threads (and their kept-alive TLS connections to
 * TVS) carry the usual load, and the rest only wake up when it grows. */
typedef struct http_lane_thread {
    pthread_t id;
    pthread_cond_t wake;
    struct http_lane *lane;
    struct http_lane_thread *next_idle;
    int idle;                   /* on the idle stack */
} http_lane_thread_t;

struct http_lane {
    pthread_mutex_t lock;
    http_lane_thread_t *threads;
    http_lane_thread_t *idle;   /* top of the idle stack */
    size_t thread_count;        /* started */
    size_t threads_max;
    size_t queue_max;
    size_t queued;
    size_t busy;
    unsigned long long refused;
    http_conn_t *head, *tail;
    int stopping;
    int full_logged;            /* one log line per spell of refusals */
};

/* Under the lock: off the idle stack (woken by the stop, or spuriously
 * with work in the queue). */
static void http_lane_unidle(http_lane_t *lane, http_lane_thread_t *self)
{
    for (http_lane_thread_t **pp = &lane->idle; *pp; pp = &(*pp)->next_idle) {
        if (*pp == self) {
            *pp = self->next_idle;
            break;
        }
    }
    self->idle = 0;
}

static void *http_lane_main(void *arg)
{
    http_lane_thread_t *self = arg;
    http_lane_t *lane = self->lane;

    pthread_mutex_lock(&lane->lock);
    for (;;) {
        http_conn_t *hc;
        struct MHD_Connection *conn;
        int run;

        while (!lane->head && !lane->stopping) {
            if (!self->idle) {
                self->idle = 1;
                self->next_idle = lane->idle;
                lane->idle = self;
            }
            pthread_cond_wait(&self->wake, &lane->lock);
        }
        if (self->idle)
            http_lane_unidle(lane, self);
        if (!lane->head)
            break; /* stopping, and nothing left waiting */
        hc = lane->head;
        lane->head = hc->lane_next;
        if (!lane->head)
            lane->tail = NULL;
        lane->queued--;
        lane->busy++;
        /* once stopping, what still waits is answered 503, not run */
        run = !lane->stopping;
        pthread_mutex_unlock(&lane->lock);

        conn = hc->lane_conn;
        if (run)
            hc->lane_failed = http_handler_run(hc, &hc->lane_req, &hc->lane_resp) != 0;
        /* Published before the resume: libmicrohttpd takes its own lock in
         * MHD_resume_connection and again before calling http_access. hc
         * may be gone the moment the connection is resumed. */
        __atomic_store_n(&hc->lane_state, run ? HTTP_LANE_DONE : HTTP_LANE_REFUSED, __ATOMIC_RELEASE);
        MHD_resume_connection(conn);

        pthread_mutex_lock(&lane->lock);
        lane->busy--;
    }
    pthread_mutex_unlock(&lane->lock);
    return NULL;
}

/* 503 with Retry-After: the lane is full (or stopping); the handler never
 * ran, so nothing was spent and the same request may simply be repeated. */
static enum MHD_Result http_send_busy(http_conn_t *hc, struct MHD_Connection *conn, zr_lang_t lang)
{
    enum MHD_Result ret = MHD_NO;
    zr_http_response_t resp;

    zr_http_response_init(&resp);
    if (zr_page_error(&resp, 503, lang, "backchannel_busy", hc->ref) != 0 ||
        zr_http_set_header(&resp, "Retry-After", HTTP_LANE_RETRY_AFTER) != 0)
        goto end;
    ret = http_send(hc, conn, &resp, 0);
end:
    zr_http_response_free(&resp);
    return ret;
}

/* On the worker, from http_dispatch: hc->lane_req is built. Suspends the
 * connection and queues it, or answers 503 when the lane is full. */
enum MHD_Result http_lane_submit(http_conn_t *hc, struct MHD_Connection *conn)
{
    http_lane_t *lane = hc->server->lane;
    size_t running = 0, waiting = 0;
    int full, log_full = 0;

    pthread_mutex_lock(&lane->lock);
    /* a free thread takes it at once; otherwise it waits in the queue */
    full = lane->stopping || lane->queued + lane->busy >= lane->thread_count + lane->queue_max;
    if (full) {
        lane->refused++;
        log_full = !lane->full_logged && !lane->stopping;
        lane->full_logged = 1;
        running = lane->busy;
        waiting = lane->queued;
    } else {
        lane->full_logged = 0;
        /* suspended before a lane thread can see it, so that its resume
         * always follows the suspension */
        hc->lane_conn = conn;
        hc->lane_state = HTTP_LANE_WAITING;
        hc->lane_next = NULL;
        MHD_suspend_connection(conn);
        if (lane->tail)
            lane->tail->lane_next = hc;
        else
            lane->head = hc;
        lane->tail = hc;
        lane->queued++;
        /* the most recently idle thread; none idle: the next to finish */
        if (lane->idle) {
            http_lane_thread_t *t = lane->idle;
            lane->idle = t->next_idle;
            t->idle = 0;
            pthread_cond_signal(&t->wake);
        }
    }
    pthread_mutex_unlock(&lane->lock);
    if (!full)
        return MHD_YES;
    if (log_full)
        zr_log_warn("http", "back-channel lane full (%zu running, %zu waiting): answering 503 until it drains "
                    "path=%s ref=%s", running, waiting, hc->log_path, hc->ref);
    return http_send_busy(hc, conn, hc->lane_req.lang);
}

/* On the worker again, after the lane thread resumed the connection. */
enum MHD_Result http_lane_answer(http_conn_t *hc, struct MHD_Connection *conn)
{
    int state = __atomic_load_n(&hc->lane_state, __ATOMIC_ACQUIRE);
    zr_lang_t lang = hc->lane_req.lang;

    if (hc->queued)
        return MHD_YES;
    if (state == HTTP_LANE_REFUSED)
        return http_send_busy(hc, conn, lang);
    if (state != HTTP_LANE_DONE || hc->lane_failed) {
        zr_http_response_free(&hc->lane_resp);
        return http_send_error(hc, conn, 500, lang, "internal_error", NULL, 0);
    }
    return http_send(hc, conn, &hc->lane_resp, 0);
}

/* Called on the thread that starts the server, with the server threads'
 * signal mask in place: the lane threads inherit it. */
int http_lane_start(zr_http_server_t *s, const zr_http_server_config_t *cfg, char *err, size_t errlen)
{
    http_lane_t *lane;
    size_t threads;

    if (!cfg->lane_routes || !cfg->lane_route_count)
        return 0;
    lane = calloc(1, sizeof(*lane));
    if (!lane) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    threads = cfg->lane_threads > 0 ? (size_t)cfg->lane_threads : HTTP_LANE_DEFAULT_THREADS;
    if (threads > HTTP_LANE_MAX_THREADS)
        threads = HTTP_LANE_MAX_THREADS;
    lane->threads_max = threads;
    lane->queue_max = cfg->lane_queue > 0 ? (size_t)cfg->lane_queue : cfg->lane_queue < 0 ? 0 : HTTP_LANE_DEFAULT_QUEUE;
    pthread_mutex_init(&lane->lock, NULL);
    s->lane = lane;
    lane->threads = calloc(threads, sizeof(*lane->threads));
    if (!lane->threads) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < threads; i++) {
        lane->threads[i].lane = lane;
        pthread_cond_init(&lane->threads[i].wake, NULL);
    }
    for (size_t i = 0; i < threads; i++) {
        if (pthread_create(&lane->threads[i].id, NULL, http_lane_main, &lane->threads[i]) != 0) {
            snprintf(err, errlen, "cannot start back-channel lane thread %zu of %zu", i + 1, threads);
            return -1;
        }
        lane->thread_count++;
    }
    return 0;
}


/* Before MHD_stop_daemon: waiting requests are answered 503, running
 * handlers finish; each resumes its connection. The lane itself stays
 * (stopping: the workers answer a new lane request 503 until the daemon
 * is gone) and is freed with the server. */
void http_lane_stop(zr_http_server_t *s)
{
    http_lane_t *lane = s->lane;

    if (!lane)
        return;
    pthread_mutex_lock(&lane->lock);
    lane->stopping = 1;
    for (size_t i = 0; i < lane->thread_count; i++)
        pthread_cond_signal(&lane->threads[i].wake);
    pthread_mutex_unlock(&lane->lock);
    for (size_t i = 0; i < lane->thread_count; i++)
        pthread_join(lane->threads[i].id, NULL);
    pthread_mutex_lock(&lane->lock);
    lane->thread_count = 0;
    pthread_mutex_unlock(&lane->lock);
}

void http_lane_free(http_lane_t *lane)
{
    if (!lane)
        return;
    pthread_mutex_destroy(&lane->lock);
    for (size_t i = 0; lane->threads && i < lane->threads_max; i++)
        pthread_cond_destroy(&lane->threads[i].wake);
    free(lane->threads);
    free(lane);
}

int zr_http_server_lane_load(zr_http_server_t *s, zr_http_lane_load_t *out)
{
    http_lane_t *lane = s ? s->lane : NULL;

    memset(out, 0, sizeof(*out));
    if (!lane)
        return -1;
    pthread_mutex_lock(&lane->lock);
    out->busy = lane->busy;
    out->queued = lane->queued;
    out->threads = lane->thread_count;
    out->queue_max = lane->queue_max;
    out->refused = lane->refused;
    pthread_mutex_unlock(&lane->lock);
    return 0;
}
