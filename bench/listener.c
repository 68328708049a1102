/* bench/listener.c: the tcp listener of the readiness and health benchmarks.
 *
 *   listener REPORT DELAY_MS PORT [COUNT]
 *
 * First thing in main it reads CLOCK_MONOTONIC and writes "PID NS\n" to
 * REPORT (a FIFO; "-" for none), as bench/child.c does; then it sleeps
 * DELAY_MS, listens on 127.0.0.1:PORT .. PORT+COUNT-1 (COUNT defaults to 1),
 * writes "L PID NS\n" (the moment the ports are open), and from then on
 * accepts every connection and closes it at once, in one poll(2) loop, until
 * a signal ends it. Built static, so main runs right after execve. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void report(const char *path, const char *tag, long long ns)
{
    if (strcmp(path, "-") == 0)
        return;
    int fd = open(path, O_WRONLY | O_APPEND | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return;
    char line[80];
    int n = snprintf(line, sizeof line, "%s%ld %lld\n", tag, (long)getpid(), ns);
    (void)!write(fd, line, (size_t)n);
    close(fd);
}

int main(int argc, char **argv)
{
    long long t0 = now_ns();
    if (argc < 4) {
        fprintf(stderr, "usage: listener REPORT DELAY_MS PORT [COUNT]\n");
        return 2;
    }
    const char *path = argv[1];
    long delay = atol(argv[2]);
    int port = atoi(argv[3]);
    int count = argc > 4 ? atoi(argv[4]) : 1;
    report(path, "", t0);

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (delay > 0) {
        struct timespec d = {delay / 1000, (delay % 1000) * 1000000L};
        while (nanosleep(&d, &d) != 0)
            ;
    }
    struct pollfd *fds = calloc((size_t)count, sizeof *fds);
    if (!fds)
        return 1;
    for (int i = 0; i < count; i++) {
        int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int one = 1;
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        struct sockaddr_in a = {0};
        a.sin_family = AF_INET;
        a.sin_port = htons((unsigned short)(port + i));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 128) < 0) {
            fprintf(stderr, "listener: port %d: ", port + i);
            perror("");
            return 1;
        }
        fds[i].fd = s;
        fds[i].events = POLLIN;
    }
    report(path, "L ", now_ns());
    for (;;) {
        if (poll(fds, (nfds_t)count, -1) < 0)
            continue;
        for (int i = 0; i < count; i++) {
            if (!(fds[i].revents & POLLIN))
                continue;
            int c;
            while ((c = accept4(fds[i].fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
                close(c);
        }
    }
}
