/* zr-syscost: what the machine charges for the kernel work a login is made
 * of, so that bench/run's figures can be read against it: one system call
 * (getppid in a loop) and one sleep-and-wake-up between two threads on the
 * same CPU (a byte to and fro over a socketpair: 4 system calls and 2
 * context switches, as when a relay thread waits for Redis).
 *   zr-syscost            prints both in microseconds */
#include <pthread.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SYSCALLS 200000
#define ROUND_TRIPS 20000

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *echo(void *arg)
{
    int fd = *(int *)arg;
    char c;
    while (read(fd, &c, 1) == 1 && write(fd, &c, 1) == 1)
        ;
    return NULL;
}

int main(void)
{
    int sv[2] = {-1, -1}, rc = 1;
    pthread_t thread;
    char c = 'x';
    double t0;

    t0 = now_s();
    for (int i = 0; i < SYSCALLS; i++)
        syscall(SYS_getppid);
    printf("system call:          %.2f us\n", (now_s() - t0) / SYSCALLS * 1e6);

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0 || pthread_create(&thread, NULL, echo, &sv[1]) != 0) {
        perror("zr-syscost");
        goto end;
    }
    t0 = now_s();
    for (int i = 0; i < ROUND_TRIPS; i++) {
        if (write(sv[0], &c, 1) != 1 || read(sv[0], &c, 1) != 1) {
            perror("zr-syscost");
            goto end;
        }
    }
    printf("thread wake-up trip:  %.2f us (2 context switches, 4 system calls)\n",
           (now_s() - t0) / ROUND_TRIPS * 1e6);
    shutdown(sv[0], SHUT_RDWR);
    pthread_join(thread, NULL);
    rc = 0;
end:
    if (sv[0] >= 0)
        close(sv[0]);
    if (sv[1] >= 0)
        close(sv[1]);
    return rc;
}
