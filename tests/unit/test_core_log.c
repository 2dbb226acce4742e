/* test_core_log.c — JSON log lines written through a pipe (log_set_fd), checked by an
 * independent JSON parser (python3's json module): fields, escaping, invalid UTF-8,
 * truncation of long messages, level filtering, and whole lines under concurrency. */
#include "core/log.h"

#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/* Read everything available from the pipe's read end (the writer side stays open). */
static size_t drain(int fd, char *out, size_t cap)
{
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, out + len, cap - 1 - len);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    out[len] = '\0';
    return len;
}

/*
 * Validate with python3: every line must be a JSON object with ts (RFC 3339 ms, Z),
 * level, comp and msg; the script prints one line per log line:
 *   level|comp|repr(msg)|sorted extra keys
 * so the C side can compare exact decoded values.
 */
static char *python_check(const char *text)
{
    char path[] = "/tmp/orasi-test-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "python3 -c '\n"
             "import json, re, sys\n"
             "for raw in open(sys.argv[1], \"rb\").read().split(b\"\\n\")[:-1]:\n"
             "    o = json.loads(raw.decode(\"utf-8\"))\n"
             "    assert re.fullmatch(r\"\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\", o[\"ts\"]), o\n"
             "    assert list(o)[:4] == [\"ts\", \"level\", \"comp\", \"msg\"], o\n"
             "    extra = \",\".join(\"%%s=%%s\" %% (k, o[k]) for k in sorted(o) if k not in (\"ts\",\"level\",\"comp\",\"msg\"))\n"
             "    print(\"%%s|%%s|%%s|%%s\" %% (o[\"level\"], o[\"comp\"], ascii(o[\"msg\"]), extra))\n"
             "' %s",
             path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    static char out[1 << 20];
    size_t n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    unlink(path);
    if (st != 0)
        fail_msg("python3 rejected the log output:\n%s", text);
    return out;
}

static int pipe_fds[2];

static int setup(void **state)
{
    (void)state;
    if (pipe2(pipe_fds, O_NONBLOCK | O_CLOEXEC) != 0)
        return -1;
    log_set_fd(pipe_fds[1]);
    log_set_level(LOG_DEBUG);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    log_set_fd(2);
    log_set_level(LOG_INFO);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return 0;
}

static void test_fields_and_escaping(void **state)
{
    (void)state;
    static char text[1 << 16];
    LOG_I("http", "listening on %s", "0.0.0.0:4318");
    log_msg(LOG_WARN, "wal", "\"segment\":12,\"path\":\"/d/x\"", "torn tail cut at %d", 4096);
    LOG_E("a\"b", "quote\" back\\slash\nnewline\ttab\x01 ctl");
    LOG_D(NULL, "caf\xc3\xa9 \xe2\x82\xac bad\xff\xfe end");
    drain(pipe_fds[0], text, sizeof(text));
    const char *got = python_check(text);
    const char *want = "info|http|'listening on 0.0.0.0:4318'|\n"
                       "warn|wal|'torn tail cut at 4096'|path=/d/x,segment=12\n"
                       "error|a\"b|'quote\" back\\\\slash\\nnewline\\ttab\\x01 ctl'|\n"
                       "debug|-|'caf\\xe9 \\u20ac bad\\ufffd\\ufffd end'|\n";
    assert_string_equal(got, want);
}

static void test_truncation(void **state)
{
    (void)state;
    static char text[1 << 16];
    /* Longer than the line: truncated, still one valid JSON line of at most 4096 bytes. */
    static char big[6000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    LOG_I("t", "%s", big);
    /* Multi-byte characters and escapes near the limit are never cut in half. */
    static char accents[3001];
    for (int i = 0; i < 1500; i++)
        memcpy(accents + 2 * i, "\xc3\xa9", 2);
    accents[3000] = '\0';
    LOG_I("t", "%s%s", accents, accents);
    static char quotes[2100];
    memset(quotes, '"', sizeof(quotes) - 1);
    quotes[sizeof(quotes) - 1] = '\0';
    LOG_I("t", "%s", quotes);
    size_t n = drain(pipe_fds[0], text, sizeof(text));
    assert_true(n > 0);
    for (const char *line = text; *line;) {
        const char *nl = strchr(line, '\n');
        assert_non_null(nl);
        assert_true(nl - line + 1 <= 4096);
        line = nl + 1;
    }
    const char *got = python_check(text);
    assert_int_equal(strncmp(got, "info|t|'xxxx", 12), 0);
    assert_non_null(strstr(got, "\ninfo|t|'\\xe9\\xe9"));
    /* python's ascii() leaves double quotes as they are inside its single quotes */
    assert_non_null(strstr(got, "\ninfo|t|'\"\"\"\""));
}

static void test_levels(void **state)
{
    (void)state;
    static char text[4096];
    log_set_level(LOG_WARN);
    assert_int_equal(log_get_level(), LOG_WARN);
    LOG_D("x", "no");
    LOG_I("x", "no");
    LOG_W("x", "yes1");
    LOG_E("x", "yes2");
    log_msg(LOG_OFF, "x", NULL, "never");
    log_msg((enum log_level)-1, "x", NULL, "never");
    log_msg((enum log_level)99, "x", NULL, "never");
    log_set_level(LOG_OFF);
    LOG_E("x", "no");
    drain(pipe_fds[0], text, sizeof(text));
    assert_string_equal(python_check(text), "warn|x|'yes1'|\nerror|x|'yes2'|\n");
    log_set_level(LOG_DEBUG);

    static const struct {
        const char *s;
        int lvl;
    } names[] = {{"debug", LOG_DEBUG}, {"info", LOG_INFO}, {"warn", LOG_WARN},
                 {"error", LOG_ERROR}, {"off", LOG_OFF},   {"INFO", -1},
                 {"warning", -1},      {"", -1}};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        assert_int_equal(log_level_parse(names[i].s), names[i].lvl);
    assert_int_equal(log_level_parse(NULL), -1);
}

#define NTHREADS 4
#define NLINES 300

static void *log_worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < NLINES; i++)
        log_msg(LOG_INFO, "w", "\"n\":1", "thread %d line %d %s", id, i,
                "padding padding padding padding padding padding padding padding");
    return NULL;
}

/* Lines from several threads never interleave: each is one write(2). A file opened with
 * O_APPEND stands in for the pipe here so that writers never block on a full pipe. */
static void test_concurrent_lines(void **state)
{
    (void)state;
    char path[] = "/tmp/orasi-test-logc-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    int afd = open(path, O_WRONLY | O_APPEND);
    assert_true(afd >= 0);
    log_set_fd(afd);
    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, log_worker, (void *)(intptr_t)i), 0);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    log_set_fd(pipe_fds[1]);
    close(afd);
    static char text[1 << 20];
    size_t n = drain(fd, text, sizeof(text));
    close(fd);
    unlink(path);
    assert_true(n > 0);
    const char *got = python_check(text);
    int counts[NTHREADS] = {0};
    int lines = 0;
    for (const char *l = got; *l; l = strchr(l, '\n') + 1) {
        int id, i;
        assert_int_equal(sscanf(l, "info|w|'thread %d line %d", &id, &i), 2);
        assert_true(id >= 0 && id < NTHREADS);
        assert_int_equal(i, counts[id]); /* in order within a thread */
        counts[id]++;
        lines++;
    }
    assert_int_equal(lines, NTHREADS * NLINES);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields_and_escaping),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_levels),
        cmocka_unit_test(test_concurrent_lines),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
