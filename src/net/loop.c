/*
 * loop.c — epoll event loop with a timer heap and a cross-thread post queue (loop.h).
 *
 * Why these choices:
 * - Level-triggered epoll with epoll_event.data.ptr = the watcher: no fd->watcher table,
 *   and level triggering lets a callback read only what it wants without starving.
 * - loop_io_start(0) is lazy: the fd stays registered and the first event it gets while
 *   paused drops the registration (EPOLL_CTL_DEL) without calling back. A request/response
 *   peer sends nothing while its request is being answered, so a connection pausing and
 *   resuming reads around each request makes no epoll_ctl calls instead of two.
 * - Events fetched in one epoll_wait batch are kept in the loop so loop_io_stop can blank
 *   the ones not yet dispatched; that is what makes "close another connection from a
 *   callback" safe without reference counting in the loop. Timers run after the batch
 *   is fetched and registered, so a timer callback's stops blank it as well.
 * - Timers live in a binary min-heap of pointers; each timer knows its index so stop and
 *   re-arm are O(log n) with no search.
 * - loop_post takes a mutex and writes the eventfd only when the queue goes from empty
 *   to non-empty, so a burst of posts costs one wakeup.
 */
#include "net/loop.h"

#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define LOOP_MAX_EVENTS 256
#define LOOP_TIMERS_MAX (1u << 22) /* hard cap on active timers */

struct loop_post_item {
    struct loop_post_item *next;
    loop_post_fn fn;
    void *arg;
};

struct loop {
    int epfd;
    int evfd;
    loop_io_t wake_io;
    uint64_t now;
    atomic_int stop;
    atomic_int running;
    pthread_t thread;

    /* current epoll batch; entries are blanked by loop_io_stop */
    struct epoll_event events[LOOP_MAX_EVENTS];
    int nevents;
    int cur;

    loop_timer_t **heap;
    size_t nheap, heap_cap;

    pthread_mutex_t post_mu;
    struct loop_post_item *post_head, *post_tail;
    size_t npost;
};

/* ---- timers: binary min-heap on when_ns ---------------------------------------------- */

static void loop_heap_swap(loop_t *l, size_t a, size_t b)
{
    loop_timer_t *t = l->heap[a];
    l->heap[a] = l->heap[b];
    l->heap[b] = t;
    l->heap[a]->heap_idx = a;
    l->heap[b]->heap_idx = b;
}

static void loop_heap_up(loop_t *l, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (l->heap[p]->when_ns <= l->heap[i]->when_ns)
            break;
        loop_heap_swap(l, p, i);
        i = p;
    }
}

static void loop_heap_down(loop_t *l, size_t i)
{
    for (;;) {
        size_t a = 2 * i + 1, b = a + 1, m = i;
        if (a < l->nheap && l->heap[a]->when_ns < l->heap[m]->when_ns)
            m = a;
        if (b < l->nheap && l->heap[b]->when_ns < l->heap[m]->when_ns)
            m = b;
        if (m == i)
            break;
        loop_heap_swap(l, i, m);
        i = m;
    }
}

static void loop_heap_remove(loop_t *l, loop_timer_t *t)
{
    size_t i = t->heap_idx;
    t->heap_idx = SIZE_MAX;
    l->nheap--;
    if (i == l->nheap)
        return;
    l->heap[i] = l->heap[l->nheap];
    l->heap[i]->heap_idx = i;
    loop_heap_down(l, i);
    loop_heap_up(l, i);
}

void loop_timer_init(loop_timer_t *t, loop_timer_fn cb, void *data)
{
    t->when_ns = 0;
    t->repeat_ns = 0;
    t->heap_idx = SIZE_MAX;
    t->cb = cb;
    t->data = data;
}

static int loop_timer_arm(loop_t *l, loop_timer_t *t, uint64_t when, uint64_t repeat)
{
    t->repeat_ns = repeat;
    if (t->heap_idx != SIZE_MAX) {
        uint64_t old = t->when_ns;
        t->when_ns = when;
        if (when < old)
            loop_heap_up(l, t->heap_idx);
        else
            loop_heap_down(l, t->heap_idx);
        return 0;
    }
    if (l->nheap == l->heap_cap) {
        if (l->heap_cap >= LOOP_TIMERS_MAX)
            return ORASI_EFULL;
        size_t ncap = l->heap_cap ? l->heap_cap * 2 : 64;
        loop_timer_t **h = orasi_realloc(l->heap, ncap * sizeof(*h));
        if (!h)
            return ORASI_ENOMEM;
        l->heap = h;
        l->heap_cap = ncap;
    }
    t->when_ns = when;
    t->heap_idx = l->nheap;
    l->heap[l->nheap++] = t;
    loop_heap_up(l, t->heap_idx);
    return 0;
}

int loop_timer_start(loop_t *l, loop_timer_t *t, uint64_t delay_ns, uint64_t repeat_ns)
{
    return loop_timer_arm(l, t, loop_update_time(l) + delay_ns, repeat_ns);
}

int loop_timer_start_at(loop_t *l, loop_timer_t *t, uint64_t when_ns)
{
    return loop_timer_arm(l, t, when_ns, 0);
}

void loop_timer_stop(loop_t *l, loop_timer_t *t)
{
    if (t->heap_idx != SIZE_MAX)
        loop_heap_remove(l, t);
}

static void loop_run_timers(loop_t *l)
{
    /* A repeating timer with a period shorter than the time a callback takes would keep
     * the loop here forever; bound the work per iteration. */
    size_t budget = l->nheap + 16;
    while (l->nheap > 0 && budget-- > 0) {
        loop_timer_t *t = l->heap[0];
        if (t->when_ns > l->now)
            break;
        if (t->repeat_ns) {
            t->when_ns += t->repeat_ns;
            if (t->when_ns <= l->now)
                t->when_ns = l->now + t->repeat_ns;
            loop_heap_down(l, 0);
        } else {
            loop_heap_remove(l, t);
        }
        t->cb(l, t);
    }
}

/* Milliseconds until the next timer, rounded up; -1 when none. */
static int loop_timer_timeout(const loop_t *l)
{
    if (l->nheap == 0)
        return -1;
    uint64_t when = l->heap[0]->when_ns;
    if (when <= l->now)
        return 0;
    uint64_t ms = (when - l->now + 999999) / 1000000;
    return ms > 60000 ? 60000 : (int)ms;
}

/* ---- fd watchers ------------------------------------------------------------------------ */

void loop_io_init(loop_io_t *io, int fd, loop_io_fn cb, void *data)
{
    io->fd = fd;
    io->events = 0;
    io->want = 0;
    io->cb = cb;
    io->data = data;
}

/* Drop io's epoll registration, if it has one. */
static void io_unregister(loop_t *l, loop_io_t *io)
{
    if (io->events) {
        epoll_ctl(l->epfd, EPOLL_CTL_DEL, io->fd, NULL);
        io->events = 0;
    }
}

int loop_io_start(loop_t *l, loop_io_t *io, unsigned events)
{
    events &= LOOP_READ | LOOP_WRITE;
    io->want = events;
    if (events == 0 || events == io->events)
        return 0; /* 0: paused, the registration stays until an event comes (loop_run) */
    struct epoll_event ev = {0};
    if (events & LOOP_READ)
        ev.events |= EPOLLIN | EPOLLRDHUP;
    if (events & LOOP_WRITE)
        ev.events |= EPOLLOUT;
    ev.data.ptr = io;
    int op = io->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(l->epfd, op, io->fd, &ev) < 0) {
        io->want = io->events;
        return orasi_err_from_errno(errno);
    }
    io->events = events;
    return 0;
}

void loop_io_stop(loop_t *l, loop_io_t *io)
{
    io->want = 0;
    io_unregister(l, io);
    /* blank events of this batch not yet dispatched */
    for (int i = l->cur; i < l->nevents; i++)
        if (l->events[i].data.ptr == io)
            l->events[i].data.ptr = NULL;
}

/* ---- posting ----------------------------------------------------------------------------- */

int loop_post(loop_t *l, loop_post_fn fn, void *arg)
{
    struct loop_post_item *it = orasi_malloc(sizeof(*it));
    if (!it)
        return ORASI_ENOMEM;
    it->next = NULL;
    it->fn = fn;
    it->arg = arg;
    int wake = 0;
    pthread_mutex_lock(&l->post_mu);
    if (l->npost >= LOOP_POST_MAX) {
        pthread_mutex_unlock(&l->post_mu);
        orasi_free(it);
        return ORASI_EFULL;
    }
    if (l->post_tail)
        l->post_tail->next = it;
    else {
        l->post_head = it;
        wake = 1;
    }
    l->post_tail = it;
    l->npost++;
    pthread_mutex_unlock(&l->post_mu);
    if (wake) {
        uint64_t one = 1;
        ssize_t n = write(l->evfd, &one, sizeof(one));
        (void)n; /* EAGAIN means the counter is already non-zero: a wakeup is pending */
    }
    return 0;
}

static void loop_run_posted(loop_t *l)
{
    pthread_mutex_lock(&l->post_mu);
    struct loop_post_item *it = l->post_head;
    l->post_head = l->post_tail = NULL;
    l->npost = 0;
    pthread_mutex_unlock(&l->post_mu);
    while (it) {
        struct loop_post_item *next = it->next;
        loop_post_fn fn = it->fn;
        void *arg = it->arg;
        orasi_free(it);
        fn(arg);
        it = next;
    }
}

static void loop_wake_cb(loop_t *l, loop_io_t *io, unsigned events)
{
    uint64_t v;
    ssize_t n = read(l->evfd, &v, sizeof(v));
    (void)n;
}

void loop_stop(loop_t *l)
{
    atomic_store(&l->stop, 1);
    uint64_t one = 1;
    ssize_t n = write(l->evfd, &one, sizeof(one));
    (void)n;
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

loop_t *loop_create(void)
{
    loop_t *l = orasi_calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    l->epfd = -1;
    l->evfd = -1;
    if (pthread_mutex_init(&l->post_mu, NULL) != 0) {
        orasi_free(l);
        return NULL;
    }
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0)
        goto fail;
    l->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->evfd < 0)
        goto fail;
    loop_io_init(&l->wake_io, l->evfd, loop_wake_cb, l);
    if (loop_io_start(l, &l->wake_io, LOOP_READ) < 0)
        goto fail;
    l->now = clock_mono_ns();
    return l;
fail:
    loop_destroy(l);
    return NULL;
}

void loop_destroy(loop_t *l)
{
    if (!l)
        return;
    struct loop_post_item *it = l->post_head;
    while (it) {
        struct loop_post_item *next = it->next;
        orasi_free(it);
        it = next;
    }
    for (size_t i = 0; i < l->nheap; i++)
        l->heap[i]->heap_idx = SIZE_MAX;
    orasi_free(l->heap);
    if (l->evfd >= 0)
        close(l->evfd);
    if (l->epfd >= 0)
        close(l->epfd);
    pthread_mutex_destroy(&l->post_mu);
    orasi_free(l);
}

uint64_t loop_now(const loop_t *l)
{
    return l->now;
}

uint64_t loop_update_time(loop_t *l)
{
    l->now = clock_mono_ns();
    return l->now;
}

int loop_in_thread(const loop_t *l)
{
    return atomic_load(&l->running) && pthread_equal(l->thread, pthread_self());
}

int loop_run_once(loop_t *l, int timeout_ms)
{
    int was_running = atomic_load(&l->running);
    if (!was_running) {
        l->thread = pthread_self();
        atomic_store(&l->running, 1);
    }
    loop_update_time(l);
    int tt = loop_timer_timeout(l);
    if (tt >= 0 && (timeout_ms < 0 || tt < timeout_ms))
        timeout_ms = tt;
    /* posted work queued while we were busy must not wait for epoll */
    pthread_mutex_lock(&l->post_mu);
    if (l->post_head)
        timeout_ms = 0;
    pthread_mutex_unlock(&l->post_mu);

    int rc = 0;
    int n = epoll_wait(l->epfd, l->events, LOOP_MAX_EVENTS, timeout_ms);
    if (n < 0) {
        if (errno != EINTR)
            rc = orasi_err_from_errno(errno);
        n = 0;
    }
    loop_update_time(l);
    /* the batch is registered before the timers run: a timer that stops a watcher (a
     * connection's deadline closing it) must blank that watcher's fetched event too */
    l->nevents = n;
    l->cur = 0;
    loop_run_timers(l);
    while (l->cur < l->nevents) {
        struct epoll_event *ev = &l->events[l->cur++];
        loop_io_t *io = ev->data.ptr;
        if (!io)
            continue;
        if (!io->want) { /* paused (lazy stop): drop the registration now */
            io_unregister(l, io);
            continue;
        }
        unsigned e = 0;
        if (ev->events & (EPOLLIN | EPOLLRDHUP))
            e |= LOOP_READ;
        if (ev->events & EPOLLOUT)
            e |= LOOP_WRITE;
        if (ev->events & (EPOLLERR | EPOLLHUP))
            e |= LOOP_ERROR;
        io->cb(l, io, e);
    }
    l->nevents = l->cur = 0;
    loop_run_posted(l);
    if (!was_running)
        atomic_store(&l->running, 0);
    return rc;
}

int loop_run(loop_t *l)
{
    l->thread = pthread_self();
    atomic_store(&l->running, 1);
    int rc = 0;
    while (!atomic_load(&l->stop)) {
        rc = loop_run_once(l, -1);
        if (rc < 0)
            break;
    }
    atomic_store(&l->stop, 0);
    atomic_store(&l->running, 0);
    return rc;
}
