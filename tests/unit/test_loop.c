/* test_loop.c — event loop: timer order/repeat/cancel/re-arm, fd watchers on a real
 * socketpair (interest changes, stopping another watcher from a callback), loop_post and
 * loop_stop from other threads, and SO_REUSEPORT listeners sharing a port picked by 0. */
#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"
#include "net/listener.h"
#include "net/loop.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

struct tctx {
    loop_t *loop;
    int order[16];
    int n;
    int count;
    loop_timer_t *cancel;
};

struct tagged {
    struct tctx *c;
    int tag;
};

static void on_tag(loop_t *l, loop_timer_t *t)
{
    struct tagged *d = t->data;
    struct tctx *c = d->c;
    c->order[c->n++] = d->tag;
    if (c->cancel)
        loop_timer_stop(l, c->cancel);
}

static void test_timer_order_and_cancel(void **state)
{
    (void)state;
    loop_t *l = loop_create();
    assert_non_null(l);
    struct tctx c = {.loop = l};
    struct tagged d[4] = {{&c, 1}, {&c, 2}, {&c, 3}, {&c, 4}};
    loop_timer_t t[4];
    /* 30ms, 10ms, 20ms, 40ms -> fire 2,3,1 and 4 is cancelled by timer 1's callback */
    uint64_t delays[4] = {30, 10, 20, 40};
    for (int i = 0; i < 4; i++) {
        loop_timer_init(&t[i], on_tag, &d[i]);
        assert_int_equal(loop_timer_start(l, &t[i], delays[i] * 1000000ull, 0), 0);
    }
    c.cancel = NULL;
    uint64_t start = clock_mono_ns();
    while (c.n < 3 && clock_mono_ns() - start < 2000000000ull) {
        if (c.n == 2)
            c.cancel = &t[3]; /* the third to fire (tag 1) cancels tag 4 */
        loop_run_once(l, 100);
    }
    assert_int_equal(c.n, 3);
    assert_int_equal(c.order[0], 2);
    assert_int_equal(c.order[1], 3);
    assert_int_equal(c.order[2], 1);
    assert_false(loop_timer_active(&t[3]));
    /* nothing fires any more */
    loop_run_once(l, 60);
    assert_int_equal(c.n, 3);
    assert_true(clock_mono_ns() - start >= 30000000ull);
    loop_destroy(l);
}

static void on_repeat(loop_t *l, loop_timer_t *t)
{
    struct tctx *c = t->data;
    if (++c->count == 5)
        loop_timer_stop(l, t);
}

static void test_timer_repeat_and_rearm(void **state)
{
    (void)state;
    loop_t *l = loop_create();
    struct tctx c = {.loop = l};
    loop_timer_t t;
    loop_timer_init(&t, on_repeat, &c);
    assert_int_equal(loop_timer_start(l, &t, 2000000, 2000000), 0);
    uint64_t start = clock_mono_ns();
    while (loop_timer_active(&t) && clock_mono_ns() - start < 2000000000ull)
        loop_run_once(l, 50);
    assert_int_equal(c.count, 5);
    assert_true(clock_mono_ns() - start >= 10000000ull);

    /* re-arming an active timer moves it (later, then earlier) */
    c.count = 0;
    assert_int_equal(loop_timer_start(l, &t, 5000000000ull, 0), 0);
    assert_int_equal(loop_timer_start(l, &t, 1000000ull, 0), 0);
    start = clock_mono_ns();
    while (c.count == 0 && clock_mono_ns() - start < 1000000000ull)
        loop_run_once(l, 50);
    assert_int_equal(c.count, 1);
    assert_true(clock_mono_ns() - start < 1000000000ull);
    loop_destroy(l);
}

/* many timers in random order come out sorted (heap property) */
static uint64_t last_when;
static int sorted_ok = 1, fired;
static void on_sorted(loop_t *l, loop_timer_t *t)
{
    if (t->when_ns < last_when)
        sorted_ok = 0;
    last_when = t->when_ns;
    fired++;
}

static void test_timer_heap_many(void **state)
{
    (void)state;
    loop_t *l = loop_create();
    enum { N = 500 };
    static loop_timer_t t[N];
    unsigned seed = 12345;
    for (int i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        loop_timer_init(&t[i], on_sorted, NULL);
        assert_int_equal(loop_timer_start(l, &t[i], (seed % 20000) * 1000ull, 0), 0);
    }
    for (int i = 0; i < N; i += 3)
        loop_timer_stop(l, &t[i]);
    uint64_t start = clock_mono_ns();
    while (fired < N - (N + 2) / 3 && clock_mono_ns() - start < 2000000000ull)
        loop_run_once(l, 10);
    assert_int_equal(fired, N - (N + 2) / 3);
    assert_true(sorted_ok);
    loop_destroy(l);
}

struct ioctx {
    loop_t *l;
    loop_io_t a, b;
    int reads_a, reads_b, writes;
    int fd_a, fd_b;
};

static void on_io_a(loop_t *l, loop_io_t *io, unsigned ev)
{
    struct ioctx *c = io->data;
    if (ev & LOOP_READ) {
        char buf[64];
        ssize_t n = read(io->fd, buf, sizeof(buf));
        if (n > 0)
            c->reads_a++;
        /* closing b from a's callback: b's pending event must not fire */
        loop_io_stop(l, &c->b);
    }
    if (ev & LOOP_WRITE) {
        c->writes++;
        loop_io_start(l, io, LOOP_READ); /* drop write interest */
    }
}

static void on_io_b(loop_t *l, loop_io_t *io, unsigned ev)
{
    struct ioctx *c = io->data;
    c->reads_b++;
}

static void test_io_watchers(void **state)
{
    (void)state;
    int sa[2], sb[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sa), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sb), 0);
    loop_t *l = loop_create();
    struct ioctx c = {.l = l};
    loop_io_init(&c.a, sa[0], on_io_a, &c);
    loop_io_init(&c.b, sb[0], on_io_b, &c);
    /* write interest on an empty socket fires at once */
    assert_int_equal(loop_io_start(l, &c.a, LOOP_READ | LOOP_WRITE), 0);
    loop_run_once(l, 100);
    assert_int_equal(c.writes, 1);
    loop_run_once(l, 0);
    assert_int_equal(c.writes, 1);

    /* both readable in the same iteration; whichever runs first, b is stopped by a */
    assert_int_equal(loop_io_start(l, &c.b, LOOP_READ), 0);
    assert_int_equal(write(sa[1], "x", 1), 1);
    assert_int_equal(write(sb[1], "y", 1), 1);
    usleep(10000);
    loop_run_once(l, 100);
    assert_int_equal(c.reads_a, 1);
    assert_true(c.reads_b <= 1);
    int b_before = c.reads_b;
    loop_run_once(l, 20);
    assert_int_equal(c.reads_b, b_before); /* stopped: never again */
    loop_io_stop(l, &c.a);
    loop_destroy(l);
    close(sa[0]);
    close(sa[1]);
    close(sb[0]);
    close(sb[1]);
}

/* Pausing a watcher (interest 0) and resuming it: no callback while paused; the
 * registration stays (no syscall) until an event comes, which drops it silently; the
 * data that came meanwhile is read after resuming. */
static int pause_reads;
static void on_pause_io(loop_t *l, loop_io_t *io, unsigned ev)
{
    (void)l;
    char buf[64];
    if ((ev & LOOP_READ) && read(io->fd, buf, sizeof(buf)) > 0)
        pause_reads++;
}

static void test_io_pause(void **state)
{
    (void)state;
    int sp[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp), 0);
    loop_t *l = loop_create();
    loop_io_t io;
    loop_io_init(&io, sp[0], on_pause_io, NULL);
    pause_reads = 0;
    assert_int_equal(loop_io_start(l, &io, LOOP_READ), 0);
    assert_int_equal(write(sp[1], "1", 1), 1);
    loop_run_once(l, 100);
    assert_int_equal(pause_reads, 1);
    /* paused with nothing arriving: still registered, resuming changes nothing */
    assert_int_equal(loop_io_start(l, &io, 0), 0);
    loop_run_once(l, 20);
    assert_int_equal(io.events, LOOP_READ);
    assert_int_equal(loop_io_start(l, &io, LOOP_READ), 0);
    assert_int_equal(write(sp[1], "2", 1), 1);
    loop_run_once(l, 100);
    assert_int_equal(pause_reads, 2);
    /* paused when data arrives: no callback, the registration goes */
    assert_int_equal(loop_io_start(l, &io, 0), 0);
    assert_int_equal(write(sp[1], "3", 1), 1);
    loop_run_once(l, 100);
    loop_run_once(l, 20);
    assert_int_equal(pause_reads, 2);
    assert_int_equal(io.events, 0);
    /* resumed: the data that waited is read */
    assert_int_equal(loop_io_start(l, &io, LOOP_READ), 0);
    loop_run_once(l, 100);
    assert_int_equal(pause_reads, 3);
    /* paused, then stopped: nothing left registered */
    assert_int_equal(loop_io_start(l, &io, 0), 0);
    loop_io_stop(l, &io);
    assert_int_equal(io.events, 0);
    assert_int_equal(write(sp[1], "4", 1), 1);
    loop_run_once(l, 20);
    assert_int_equal(pause_reads, 3);
    loop_destroy(l);
    close(sp[0]);
    close(sp[1]);
}

/* A timer that fires in the same iteration as an already fetched I/O event and stops
 * (and, in the server, frees) that watcher: the event must not be dispatched. This is
 * the HTTP header timeout closing a connection whose client wrote or hung up at the
 * same moment; dispatching it used the freed connection (a double free in the agent). */
struct tio {
    loop_io_t io;
    loop_timer_t t;
    int io_calls;
    int timer_calls;
};

static void tio_io(loop_t *l, loop_io_t *io, unsigned events)
{
    (void)l;
    (void)events;
    struct tio *x = io->data;
    x->io_calls++;
}

static void tio_timer(loop_t *l, loop_timer_t *t)
{
    struct tio *x = t->data;
    x->timer_calls++;
    loop_io_stop(l, &x->io);
}

static void test_timer_stops_fetched_io(void **state)
{
    (void)state;
    int sp[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp), 0);
    loop_t *l = loop_create();
    struct tio x = {0};
    loop_io_init(&x.io, sp[0], tio_io, &x);
    loop_timer_init(&x.t, tio_timer, &x);
    assert_int_equal(loop_io_start(l, &x.io, LOOP_READ), 0);
    assert_int_equal(write(sp[1], "x", 1), 1);
    /* due now: the same loop_run_once fetches the readable event and runs the timer */
    assert_int_equal(loop_timer_start(l, &x.t, 0, 0), 0);
    loop_run_once(l, 100);
    assert_int_equal(x.timer_calls, 1);
    assert_int_equal(x.io_calls, 0);
    loop_run_once(l, 0);
    assert_int_equal(x.io_calls, 0);
    loop_destroy(l);
    close(sp[0]);
    close(sp[1]);
}

struct postctx {
    loop_t *l;
    int n;
    int expected;
};

static void on_post(void *arg)
{
    struct postctx *p = arg;
    if (++p->n == p->expected)
        loop_stop(p->l);
}

static void *poster(void *arg)
{
    struct postctx *p = arg;
    for (int i = 0; i < 1000; i++)
        while (loop_post(p->l, on_post, p) != 0)
            ;
    return NULL;
}

static void test_post_from_threads(void **state)
{
    (void)state;
    loop_t *l = loop_create();
    struct postctx p = {.l = l, .expected = 4000};
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, poster, &p);
    assert_int_equal(loop_run(l), 0); /* returns when the 4000th post stops it */
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    loop_run_once(l, 0);
    assert_int_equal(p.n, 4000);
    loop_destroy(l);
}

static void *stopper(void *arg)
{
    usleep(20000);
    loop_stop(arg);
    return NULL;
}

static void test_stop_from_thread(void **state)
{
    (void)state;
    loop_t *l = loop_create();
    pthread_t th;
    uint64_t start = clock_mono_ns();
    pthread_create(&th, NULL, stopper, l);
    assert_int_equal(loop_run(l), 0); /* no watchers, no timers: only the stop wakes it */
    pthread_join(th, NULL);
    assert_true(clock_mono_ns() - start >= 15000000ull);
    assert_false(loop_in_thread(l));
    loop_destroy(l);
}

static void test_post_alloc_failure(void **state)
{
    (void)state;
    loop_t *l = loop_create();
    struct postctx p = {.l = l, .expected = -1};
    orasi_alloc_fail_after(0);
    assert_int_equal(loop_post(l, on_post, &p), ORASI_ENOMEM);
    orasi_alloc_fail_after(-1);
    loop_run_once(l, 0);
    assert_int_equal(p.n, 0);
    /* loop_create under failing allocations returns NULL cleanly */
    for (long n = 0; n < 3; n++) {
        orasi_alloc_fail_after(n);
        loop_t *x = loop_create();
        orasi_alloc_fail_after(-1);
        loop_destroy(x);
    }
    loop_destroy(l);
}

static void test_listener_reuseport(void **state)
{
    (void)state;
    int port = 0;
    int a = listener_open("127.0.0.1", 0, 16, &port);
    assert_true(a >= 0);
    assert_true(port > 0);
    int port2 = 0;
    int b = listener_open("127.0.0.1", port, 16, &port2);
    assert_true(b >= 0);
    assert_int_equal(port, port2);

    /* connect twice; each connection lands on one of the two sockets */
    int accepted = 0;
    for (int i = 0; i < 2; i++) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
        assert_int_equal(connect(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
        usleep(5000);
        char peer[64];
        int fd = listener_accept(a, peer, sizeof(peer));
        if (fd == ORASI_EAGAIN)
            fd = listener_accept(b, peer, sizeof(peer));
        assert_true(fd >= 0);
        assert_non_null(strstr(peer, "127.0.0.1:"));
        accepted++;
        close(fd);
        close(s);
    }
    assert_int_equal(accepted, 2);
    assert_int_equal(listener_accept(a, NULL, 0), ORASI_EAGAIN);

    /* a port held without SO_REUSEPORT cannot be shared */
    int plain = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    assert_int_equal(bind(plain, (struct sockaddr *)&sin, sizeof(sin)), 0);
    listen(plain, 1);
    socklen_t sl = sizeof(sin);
    getsockname(plain, (struct sockaddr *)&sin, &sl);
    assert_int_equal(listener_open("127.0.0.1", ntohs(sin.sin_port), 16, NULL), ORASI_EEXISTS);
    assert_true(listener_open("127.0.0.1", 70000, 16, NULL) == ORASI_EINVAL);
    close(plain);
    close(a);
    close(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timer_order_and_cancel),
        cmocka_unit_test(test_timer_repeat_and_rearm),
        cmocka_unit_test(test_timer_heap_many),
        cmocka_unit_test(test_io_watchers),
        cmocka_unit_test(test_io_pause),
        cmocka_unit_test(test_timer_stops_fetched_io),
        cmocka_unit_test(test_post_from_threads),
        cmocka_unit_test(test_stop_from_thread),
        cmocka_unit_test(test_post_alloc_failure),
        cmocka_unit_test(test_listener_reuseport),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
