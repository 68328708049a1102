/* bench/floor_spawn.c: the machine's floor for spawn throughput.
 *
 *   floor_spawn CHILD FIFO N
 *
 * A plain loop: fork and exec N children (each reports its start through
 * FIFO, read by the harness), then waits for a signal and, on SIGTERM,
 * kills and reaps them all. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: floor_spawn CHILD FIFO N\n");
        return 2;
    }
    int n = atoi(argv[3]);
    pid_t *pids = calloc((size_t)n, sizeof *pids);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            sigprocmask(SIG_UNBLOCK, &set, NULL);
            char *const av[] = {argv[1], argv[2], NULL};
            execv(argv[1], av);
            _exit(127);
        }
        pids[i] = pid;
    }
    int sig;
    sigwait(&set, &sig);
    for (int i = 0; i < n; i++)
        if (pids[i] > 0)
            kill(pids[i], SIGKILL);
    while (wait(NULL) > 0)
        ;
    return 0;
}
