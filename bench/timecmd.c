/* bench/timecmd.c: times client commands without a harness in the way.
 *
 *   timecmd COUNT CMD [ARGS...] [--then CMD2 [ARGS...]]
 *
 * Runs CMD (then CMD2, if given) COUNT times, one after another, with
 * stdout and stdin on /dev/null, and prints one line per round: the
 * nanoseconds from before the first fork to after the last reap. A command
 * that fails is reported on stderr and makes the exit status 1. */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int run(char **argv, posix_spawn_file_actions_t *fa)
{
    pid_t pid;
    if (posix_spawn(&pid, argv[0], fa, NULL, argv, environ) != 0) {
        fprintf(stderr, "timecmd: cannot run %s\n", argv[0]);
        return -1;
    }
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: timecmd COUNT CMD [ARGS...] [--then CMD2 [ARGS...]]\n");
        return 2;
    }
    int count = atoi(argv[1]);
    char **first = argv + 2, **second = NULL;
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--then") == 0) {
            argv[i] = NULL;
            second = argv + i + 1;
        }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    int failed = 0;
    for (int i = 0; i < count; i++) {
        long long t0 = now_ns();
        int rc = run(first, &fa);
        int rc2 = second ? run(second, &fa) : 0;
        long long t1 = now_ns();
        if (rc != 0 || rc2 != 0) {
            fprintf(stderr, "timecmd: round %d: exit %d/%d\n", i, rc, rc2);
            failed = 1;
        }
        printf("%lld\n", t1 - t0);
    }
    return failed;
}
