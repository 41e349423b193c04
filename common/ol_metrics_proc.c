/* ol_metrics_proc — the standard process_* series (as the Prometheus client
 * libraries name them) and opsledger_build_info, read from /proc on each
 * scrape. Exists apart from ol_metrics.c because it is about the process
 * and Linux, not about the fold. */
#include "ol_metrics.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#ifndef OL_VERSION
#define OL_VERSION "unknown"
#endif
#ifndef OL_COMMIT
#define OL_COMMIT "unknown"
#endif

static void one(ol_metrics_buf *b, const char *service, const char *name, const char *type, const char *help,
                double v)
{
    ol_mbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s{service=\"", name, help, name, type, name);
    ol_mbuf_label(b, service);
    ol_mbuf_printf(b, "\"} %.17g\n", v);
}

/* boot time (btime of /proc/stat), seconds since the epoch; 0 unknown */
static long long boot_time(void)
{
    char line[256];
    long long bt = 0;
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "btime %lld", &bt) == 1)
            break;
    fclose(f);
    return bt;
}

static long open_fds(void)
{
    long n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    for (struct dirent *e = readdir(d); e; e = readdir(d))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

void ol_metrics_render_process(ol_metrics_buf *b, const char *service)
{
    char buf[2048];
    long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    FILE *f = fopen("/proc/self/stat", "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    /* fields after the command name, which is in parentheses and may hold
     * spaces: state(3) ... utime(14) stime(15) ... starttime(22) vsize(23) rss(24) */
    const char *p = strrchr(buf, ')');
    unsigned long long ut, st, start, vsize;
    long long rss;
    if (p && tick > 0 &&
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %llu %llu %lld",
               &ut, &st, &start, &vsize, &rss) == 5) {
        one(b, service, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
            (double)(ut + st) / (double)tick);
        one(b, service, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
            (double)rss * (double)page);
        one(b, service, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", (double)vsize);
        long long bt = boot_time();
        if (bt > 0)
            one(b, service, "process_start_time_seconds", "gauge",
                "Start time of the process since unix epoch in seconds.", (double)bt + (double)start / (double)tick);
    }
    long fds = open_fds();
    if (fds >= 0)
        one(b, service, "process_open_fds", "gauge", "Number of open file descriptors.", (double)fds);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        one(b, service, "process_max_fds", "gauge", "Maximum number of open file descriptors.", (double)rl.rlim_cur);
    ol_mbuf_printf(b, "# HELP opsledger_build_info The running build: version and git commit; always 1.\n"
                      "# TYPE opsledger_build_info gauge\nopsledger_build_info{service=\"");
    ol_mbuf_label(b, service);
    ol_mbuf_printf(b, "\",version=\"");
    ol_mbuf_label(b, OL_VERSION);
    ol_mbuf_printf(b, "\",commit=\"");
    ol_mbuf_label(b, OL_COMMIT);
    ol_mbuf_printf(b, "\"} 1\n");
}
