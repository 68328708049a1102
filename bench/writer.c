/* bench/writer.c: writes BYTES of 128-byte text lines to stdout as fast as it
 * can, in 64 KiB writes.
 *
 *   writer REPORT BYTES [exit]
 *
 * Reports "S PID NS\n" to REPORT before the first write and "E PID NS\n"
 * after the last, then sleeps until a signal ends it (so a supervisor does
 * not start it again), or exits with "exit". REPORT "-" reports nothing. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void report(const char *path, char tag)
{
    if (strcmp(path, "-") == 0)
        return;
    int fd = open(path, O_WRONLY | O_APPEND | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return;
    char line[80];
    int n = snprintf(line, sizeof line, "%c %ld %lld\n", tag, (long)getpid(), now_ns());
    (void)!write(fd, line, (size_t)n);
    close(fd);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: writer REPORT BYTES [exit]\n");
        return 2;
    }
    long long total = atoll(argv[2]);
    static char buf[65536];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (i % 128 == 127) ? '\n' : (char)('a' + i % 26);
    report(argv[1], 'S');
    long long done = 0;
    size_t off = 0; /* where in buf the next write starts */
    while (done < total) {
        size_t want = sizeof buf - off;
        if ((long long)want > total - done)
            want = (size_t)(total - done);
        ssize_t n = write(1, buf + off, want);
        if (n < 0) {
            perror("writer: write");
            return 1;
        }
        done += n;
        off = (off + (size_t)n) % sizeof buf;
    }
    report(argv[1], 'E');
    if (argc > 3 && strcmp(argv[3], "exit") == 0)
        return 0;
    for (;;)
        pause();
}
