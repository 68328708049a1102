/* bench/child.c: the supervised program of the benchmarks.
 *
 * First thing in main it reads CLOCK_MONOTONIC and writes "PID NS\n" to its
 * report file (argv[1] when it is an absolute path, else "report" in its
 * working directory, which is how s6 and runit run it: `run` is a symlink to
 * this binary), then sleeps until a signal ends it. Built static, so main runs right after execve. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    /* s6-supervise passes the service's name as argv[1]: only an absolute
     * path names the report file. */
    const char *path = argc > 1 && argv[1][0] == '/' ? argv[1] : "report";
    int fd = open(path, O_WRONLY | O_APPEND | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) {
        char line[64];
        int n = snprintf(line, sizeof line, "%ld %lld\n", (long)getpid(),
                         (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
        (void)!write(fd, line, (size_t)n);
        close(fd);
    }
    for (;;)
        pause();
}
