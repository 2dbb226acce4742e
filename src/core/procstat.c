/*
 * procstat.c — process metrics from /proc/self (see procstat.h).
 *
 * Files are read with open/read into fixed stack buffers: no allocation, and nothing to
 * go wrong with stdio buffering of /proc's generated files. The start time is computed
 * once at registration (boot time from /proc/stat plus the process's start tick), the
 * rest on every render by the collector.
 */
#include "core/procstat.h"

#include "core/err.h"
#include "core/metrics.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Series of the current registration (replaced after metrics_shutdown + register). */
static struct {
    metric_t *rss, *vsize, *fds, *max_fds, *cpu, *start;
} procstat_m;

/* Read a small /proc file whole into buf (NUL-terminated). Returns length or < 0. */
static ssize_t procstat_slurp(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ORASI_EIO;
    size_t len = 0;
    while (len + 1 < cap) {
        ssize_t r = read(fd, buf + len, cap - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = '\0';
    return (ssize_t)len;
}

/* Boot time in seconds since the epoch: the "btime" line of /proc/stat. That file can
 * be long (one "intr" line with thousands of counters), so it is scanned in chunks,
 * keeping only the start of each line. */
static int procstat_btime(uint64_t *out)
{
    int fd = open("/proc/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ORASI_EIO;
    char chunk[4096], line[64];
    size_t ll = 0;
    int rc = ORASI_EPARSE;
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof(chunk));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        for (ssize_t i = 0; i < r; i++) {
            if (chunk[i] != '\n') {
                if (ll + 1 < sizeof(line))
                    line[ll++] = chunk[i];
                continue;
            }
            line[ll] = '\0';
            ll = 0;
            unsigned long long bt;
            if (sscanf(line, "btime %llu", &bt) == 1) {
                *out = bt;
                rc = 0;
                goto out;
            }
        }
    }
out:
    close(fd);
    return rc;
}

/* Fields of /proc/self/stat after the command name, which may itself hold spaces and
 * parentheses, so parsing starts after the last ')'. Field 22 is starttime (ticks after
 * boot), field 23 vsize (bytes). */
static int procstat_self_stat(uint64_t *start_ticks, uint64_t *vsize)
{
    char buf[1024];
    if (procstat_slurp("/proc/self/stat", buf, sizeof(buf)) <= 0)
        return ORASI_EIO;
    char *p = strrchr(buf, ')');
    if (!p)
        return ORASI_EPARSE;
    p++;
    /* After ')' come field 3 (state) onwards; we want 22 and 23. */
    int field = 2;
    char *save = NULL;
    for (char *tok = strtok_r(p, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        field++;
        if (field == 22)
            *start_ticks = strtoull(tok, NULL, 10);
        if (field == 23) {
            *vsize = strtoull(tok, NULL, 10);
            return 0;
        }
    }
    return ORASI_EPARSE;
}

static uint64_t procstat_count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return 0;
    uint64_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n > 0 ? n - 1 : 0; /* the directory's own fd */
}

int procstat_read(struct procstat *out)
{
    memset(out, 0, sizeof(*out));
    char buf[256];
    unsigned long long pages_total, pages_rss;
    if (procstat_slurp("/proc/self/statm", buf, sizeof(buf)) <= 0)
        return ORASI_EIO;
    if (sscanf(buf, "%llu %llu", &pages_total, &pages_rss) != 2)
        return ORASI_EPARSE;
    long page = sysconf(_SC_PAGESIZE);
    out->rss_bytes = pages_rss * (uint64_t)(page > 0 ? page : 4096);

    uint64_t start_ticks = 0, btime = 0;
    int rc = procstat_self_stat(&start_ticks, &out->vsize_bytes);
    if (rc)
        return rc;
    rc = procstat_btime(&btime);
    if (rc)
        return rc;
    long hz = sysconf(_SC_CLK_TCK);
    out->start_time = (double)btime + (double)start_ticks / (double)(hz > 0 ? hz : 100);

    out->open_fds = procstat_count_fds();
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        out->max_fds = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;

    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        out->cpu_seconds = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    return 0;
}

static void procstat_collect(void *ud)
{
    (void)ud;
    struct procstat ps;
    if (procstat_read(&ps) != 0)
        return; /* keep the last values rather than report zeros */
    metric_set(procstat_m.rss, (double)ps.rss_bytes);
    metric_set(procstat_m.vsize, (double)ps.vsize_bytes);
    metric_set(procstat_m.fds, (double)ps.open_fds);
    metric_set(procstat_m.max_fds, (double)ps.max_fds);
    metric_set(procstat_m.cpu, ps.cpu_seconds);
}

int procstat_register(const char *version)
{
    metric_family_t *rss = metrics_gauge("process_resident_memory_bytes",
                                         "Resident memory size in bytes.", 0, NULL);
    metric_family_t *vsize = metrics_gauge("process_virtual_memory_bytes",
                                           "Virtual memory size in bytes.", 0, NULL);
    metric_family_t *fds = metrics_gauge("process_open_fds",
                                         "Number of open file descriptors.", 0, NULL);
    metric_family_t *max_fds = metrics_gauge("process_max_fds",
                                             "Maximum number of open file descriptors.", 0,
                                             NULL);
    /* A counter whose total the kernel keeps; the collector copies it with metric_set. */
    metric_family_t *cpu = metrics_counter("process_cpu_seconds_total",
                                           "Total user and system CPU time spent in seconds.",
                                           0, NULL);
    metric_family_t *start = metrics_gauge(
        "process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
        0, NULL);
    metric_family_t *info = metrics_gauge("orasi_build_info",
                                          "Build information; the value is always 1.", 1,
                                          (const char *[]){"version"});
    if (!rss || !vsize || !fds || !max_fds || !cpu || !start || !info)
        return ORASI_ENOMEM;
    metric_t *im = metric_series(info, (const char *[]){version ? version : "unknown"});
    procstat_m.rss = metric_series(rss, NULL);
    procstat_m.vsize = metric_series(vsize, NULL);
    procstat_m.fds = metric_series(fds, NULL);
    procstat_m.max_fds = metric_series(max_fds, NULL);
    procstat_m.cpu = metric_series(cpu, NULL);
    procstat_m.start = metric_series(start, NULL);
    if (!im)
        return ORASI_ENOMEM;
    metric_set(im, 1);
    struct procstat ps;
    if (procstat_read(&ps) == 0)
        metric_set(procstat_m.start, ps.start_time);
    return metrics_add_collector(procstat_collect, NULL);
}
