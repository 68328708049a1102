/* bench/lines.c: the programs of measurement 13 (events): writes numbered
 * 49-byte text lines to stdout, one write(2) per line, RATE lines a second
 * in bursts every PERIOD_MS milliseconds (default 10), until a signal ends
 * it.
 *
 *   lines RATE [PERIOD_MS]
 *
 * A write that would block (a full pipe: the supervisor is behind) waits,
 * as any program's would; the pace is kept by absolute deadlines, so a
 * late burst does not shift the ones after it.
 *
 * It runs at nice 19: it stands for load on the supervisor and must not
 * take the CPU from it. At nice 0, 100 copies waking 500 times a second
 * each, in the supervisor's session (one scheduler autogroup), starved
 * the supervisor on a busy machine: it got no CPU for seconds. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2 || atol(argv[1]) <= 0) {
        fprintf(stderr, "usage: lines RATE [PERIOD_MS]\n");
        return 2;
    }
    (void)!nice(19);
    long rate = atol(argv[1]);
    long period_ms = argc > 2 && atol(argv[2]) > 0 ? atol(argv[2]) : 10;
    long bursts = 1000 / period_ms > 0 ? 1000 / period_ms : 1; /* a second */
    long per_burst = rate / bursts > 0 ? rate / bursts : 1;
    long step_ns = 1000000000L / (rate / per_burst);
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    unsigned long long n = 0;
    char line[64];
    for (;;) {
        for (long i = 0; i < per_burst; i++) {
            int len = snprintf(line, sizeof line, "line %020llu of pid %-10ld ....\n", n++,
                               (long)getpid());
            if (write(1, line, (size_t)len) < 0 && errno != EINTR) {
                perror("lines: write");
                return 1;
            }
        }
        next.tv_nsec += step_ns;
        while (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
            ;
    }
}
