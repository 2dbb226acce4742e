/*
 * test_objstore_s3rver.h — start and stop s3rver (npm, pinned in tests/e2e/package.json)
 * on a loopback port for tests: `node s3rver.js -s -d DIR -a 127.0.0.1 -p PORT
 * --configure-bucket NAME` (with --openssl-legacy-provider), reading "S3rver listening on
 * 127.0.0.1:PORT" from its stdout. Header-only. s3rver accepts the access key "S3RVER" (secret
 * "S3RVER") and does not verify SigV4 signatures (test_objstore_s3.c does).
 */
#ifndef ORASI_TEST_OBJSTORE_S3RVER_H
#define ORASI_TEST_OBJSTORE_S3RVER_H

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    pid_t pid;
    int port;
    char dir[256];
    char bucket[64];
} s3rver_t;

/* Path of s3rver's CLI, or NULL when the e2e node packages are not installed. */
static inline const char *s3rver_script(void)
{
    static char path[1024];
    const char *src = getenv("ORASI_SRC");
    snprintf(path, sizeof(path), "%s/tests/e2e/node_modules/s3rver/bin/s3rver.js", src ? src : ".");
    return access(path, R_OK) == 0 ? path : NULL;
}

/* Start on `port` (0: any free port). 0 on success with s->port set, -1 on failure. */
static inline int s3rver_start(s3rver_t *s, const char *dir, const char *bucket, int port)
{
    const char *js = s3rver_script();
    int pfd[2];
    char portstr[16];
    if (!js || pipe(pfd) != 0)
        return -1;
    snprintf(s->dir, sizeof(s->dir), "%s", dir);
    snprintf(s->bucket, sizeof(s->bucket), "%s", bucket);
    snprintf(portstr, sizeof(portstr), "%d", port);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        /* die with the test, even when it crashes; keep its chatter off our stderr */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, 2);
        dup2(pfd[1], 1);
        close(pfd[0]);
        close(pfd[1]);
        /* s3rver's ListObjectsV2 continuation tokens use DES, which OpenSSL 3 (Node
         * 17+) only offers from its legacy provider */
        execlp("node", "node", "--openssl-legacy-provider", js, "-s", "-d", dir, "-a", "127.0.0.1",
               "-p", portstr, "--configure-bucket", bucket, (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    s->pid = pid;
    s->port = 0;
    char line[512];
    size_t n = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct pollfd p = {pfd[0], POLLIN, 0};
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (t1.tv_sec - t0.tv_sec > 20 || poll(&p, 1, 200) < 0)
            break;
        if (!(p.revents & (POLLIN | POLLHUP)))
            continue;
        ssize_t r = read(pfd[0], line + n, sizeof(line) - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        line[n] = 0;
        const char *at = strstr(line, "listening on 127.0.0.1:");
        if (at && strchr(at, '\n')) {
            s->port = atoi(at + strlen("listening on 127.0.0.1:"));
            break;
        }
        if (n >= sizeof(line) - 1)
            break;
    }
    close(pfd[0]); /* -s: nothing more is written to stdout */
    if (s->port > 0)
        return 0;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    s->pid = 0;
    return -1;
}

static inline void s3rver_stop(s3rver_t *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
    }
    s->pid = 0;
}

#endif
