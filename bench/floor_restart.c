/* bench/floor_restart.c: the machine's floor for restart latency.
 *
 *   floor_restart CHILD FIFO COUNT SETTLE_MS
 *
 * Does what a supervisor must, with nothing else: SIGKILL the child, reap
 * it, fork, exec it again. The child reports "PID NS" (CLOCK_MONOTONIC at
 * the top of its main) through FIFO. Prints one line per restart: the
 * nanoseconds from just before kill(2) to the new child's first report. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Reads one "PID NS\n" line from fd (one child writes at a time). */
static void read_report(int fd, long *pid, long long *ns)
{
    char line[128];
    size_t got = 0;
    while (got < sizeof line - 1) {
        ssize_t n = read(fd, line + got, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            perror("floor_restart: read");
            exit(1);
        }
        if (line[got++] == '\n')
            break;
    }
    line[got] = 0;
    if (sscanf(line, "%ld %lld", pid, ns) != 2) {
        fprintf(stderr, "floor_restart: bad report %s", line);
        exit(1);
    }
}

static pid_t start(const char *child, const char *fifo)
{
    pid_t pid = fork();
    if (pid == 0) {
        char *const argv[] = {(char *)child, (char *)fifo, NULL};
        execv(child, argv);
        _exit(127);
    }
    return pid;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: floor_restart CHILD FIFO COUNT SETTLE_MS\n");
        return 2;
    }
    const char *child = argv[1], *fifo = argv[2];
    int count = atoi(argv[3]), settle_ms = atoi(argv[4]);
    int fd = open(fifo, O_RDWR);
    if (fd < 0) {
        perror("floor_restart: open");
        return 1;
    }
    long pid;
    long long ns;
    start(child, fifo);
    read_report(fd, &pid, &ns);
    for (int i = 0; i < count; i++) {
        struct timespec settle = {settle_ms / 1000, (settle_ms % 1000) * 1000000L};
        nanosleep(&settle, NULL);
        long long t0 = now_ns();
        kill((pid_t)pid, SIGKILL);
        waitpid((pid_t)pid, NULL, 0);
        start(child, fifo);
        read_report(fd, &pid, &ns);
        printf("%lld\n", ns - t0);
    }
    kill((pid_t)pid, SIGKILL);
    waitpid((pid_t)pid, NULL, 0);
    return 0;
}
