/* rsswrap — runs one command, measures its wall time and memory.
 *
 *   rsswrap OUT TIMEOUT_S cmd [args...]
 *
 * Forks and execs cmd (no shell), forwards SIGINT/SIGTERM to it, sends it
 * SIGTERM after TIMEOUT_S seconds (0: no limit) and SIGKILL 10 s later, and
 * writes one line to OUT when it has exited:
 *   wall_s=S maxrss_kb=K anon_peak_kb=A file_peak_kb=F exit=E timed_out=0|1
 * maxrss_kb is the kernel's peak resident set of the child (wait4 rusage,
 * the same figure as /usr/bin/time -v); anon_peak_kb and file_peak_kb are the
 * peaks of RssAnon (heap, stacks, librdkafka buffers, LMDB dirty pages) and
 * RssFile (file-backed pages: the LMDB map, libraries) sampled from
 * /proc/PID/status every 10 ms. exit is the exit status, or 128+signal.
 * rsswrap's own exit status is the child's. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t g_child, g_signal;

static void forward(int sig)
{
    g_signal = sig;
    if (g_child > 0)
        kill(g_child, sig);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sample(pid_t pid, long *anon, long *file)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        long v;
        if (sscanf(line, "RssAnon: %ld", &v) == 1 && v > *anon)
            *anon = v;
        else if (sscanf(line, "RssFile: %ld", &v) == 1 && v > *file)
            *file = v;
    }
    fclose(f);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: rsswrap OUT TIMEOUT_S cmd [args...]\n");
        return 2;
    }
    const char *out = argv[1];
    double timeout = atof(argv[2]);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = forward;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    /* SIGCHLD stays blocked and is waited for with a 10 ms timeout: the
     * child's exit ends the wait at once (the wall time is exact), and the
     * memory is sampled in between */
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    double t0 = now_s();
    pid_t pid = fork();
    if (pid < 0) {
        perror("rsswrap: fork");
        return 1;
    }
    if (pid == 0) {
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        sigprocmask(SIG_UNBLOCK, &chld, NULL);
        execvp(argv[3], argv + 3);
        fprintf(stderr, "rsswrap: %s: %s\n", argv[3], strerror(errno));
        _exit(127);
    }
    g_child = pid;
    long anon = 0, file = 0;
    int status = 0, timed_out = 0, killed = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    for (;;) {
        pid_t r = wait4(pid, &status, WNOHANG, &ru);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR) {
            perror("rsswrap: wait4");
            return 1;
        }
        sample(pid, &anon, &file);
        double el = now_s() - t0;
        if (timeout > 0 && el > timeout && !timed_out) {
            timed_out = 1;
            kill(pid, SIGTERM);
        }
        if (timeout > 0 && el > timeout + 10 && !killed) {
            killed = 1;
            kill(pid, SIGKILL);
        }
        struct timespec ten_ms = {0, 10000000};
        sigtimedwait(&chld, NULL, &ten_ms);
    }
    double wall = now_s() - t0;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    FILE *f = fopen(out, "w");
    if (!f) {
        perror(out);
        return 1;
    }
    fprintf(f, "wall_s=%.6f maxrss_kb=%ld anon_peak_kb=%ld file_peak_kb=%ld exit=%d timed_out=%d\n", wall,
            ru.ru_maxrss, anon, file, code, timed_out);
    fclose(f);
    return code;
}
