/* Open files versus the connection cap (issue 13 §3). Every connection is a
 * file descriptor; when the process runs out, accept() fails and the
 * listener stops taking connections with nothing in the log (systemd's
 * default soft limit is 1,024). So the limit is raised as far as the hard
 * limit allows, and the cap must fit under it at start. */
#include "zr/http.h"

#include <stdio.h>
#include <sys/resource.h>

/* Linux's default fs.nr_open: the most a process may set when the hard
 * limit says "unlimited". */
#define FD_NR_OPEN_DEFAULT 1048576
/* Too few to be worth serving with. */
#define FD_MIN_CONNECTIONS 16

int zr_http_fd_limit_fit(int *max_connections, int explicit_cap, unsigned reserve, char *msg, size_t msglen)
{
    struct rlimit rl;
    rlim_t before, hard, need;
    int rc = -1;
    size_t used = 0;

    msg[0] = '\0';
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        snprintf(msg, msglen, "cannot read the open-file limit (RLIMIT_NOFILE)");
        goto end;
    }
    before = rl.rlim_cur;
    hard = rl.rlim_max == RLIM_INFINITY ? FD_NR_OPEN_DEFAULT : rl.rlim_max;
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur < hard) {
        rl.rlim_cur = hard;
        /* refused (a container may forbid it): go on with what we have */
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0 && getrlimit(RLIMIT_NOFILE, &rl) != 0)
            rl.rlim_cur = before;
    }
    if (rl.rlim_cur != before) {
        int n = snprintf(msg, msglen, "open-file limit raised from %llu to the hard limit %llu; ",
                         (unsigned long long)before, (unsigned long long)rl.rlim_cur);
        used = n > 0 && (size_t)n < msglen ? (size_t)n : 0;
    }
    need = (rlim_t)*max_connections + reserve;
    if (rl.rlim_cur >= need) {
        snprintf(msg + used, msglen - used, "%d connections and %u other files fit in %llu",
                 *max_connections, reserve, (unsigned long long)rl.rlim_cur);
        rc = 0;
        goto end;
    }
    if (explicit_cap || rl.rlim_cur < (rlim_t)FD_MIN_CONNECTIONS + reserve) {
        snprintf(msg + used, msglen - used,
                 "limits.max_connections: %d connections need about %llu open files (%u for Redis, the back "
                 "channel, the worker threads and files), but the limit is %llu (hard limit %llu): raise "
                 "LimitNOFILE= in the systemd unit (or ulimit -n) or lower limits.max_connections to at most %lld",
                 *max_connections, (unsigned long long)need, reserve, (unsigned long long)rl.rlim_cur,
                 (unsigned long long)rl.rlim_max, (long long)rl.rlim_cur - (long long)reserve);
        goto end;
    }
    snprintf(msg + used, msglen - used,
             "limits.max_connections: the default of %d connections does not fit the open-file limit %llu (hard "
             "limit %llu; %u kept for Redis, the back channel, the worker threads and files): serving at most %llu "
             "connections; raise LimitNOFILE= in the systemd unit (or ulimit -n), or set limits.max_connections",
             *max_connections, (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max, reserve,
             (unsigned long long)(rl.rlim_cur - reserve));
    *max_connections = (int)(rl.rlim_cur - reserve);
    rc = 1;
end:
    return rc;
}
