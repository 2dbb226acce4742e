/*
 * loop.h — the event loop: one per worker thread (Redis ae / libuv style, epoll only).
 *
 * A loop watches file descriptors (loop_io_t), runs timers (loop_timer_t, a binary
 * min-heap on CLOCK_MONOTONIC) and runs functions posted to it from other threads
 * (loop_post, woken through an eventfd). Watchers and timers are intrusive: the caller
 * embeds them in its own structs and owns their memory; the loop only links them, so
 * starting a watcher or a timer never allocates (except when the timer heap grows).
 *
 * Threading: every function except loop_post, loop_stop and loop_in_thread must be called
 * on the loop's own thread (the one inside loop_run), or before loop_run starts / after
 * it returned. Callbacks run on the loop thread.
 *
 * Ordering within one iteration: expired timers, then I/O callbacks, then posted
 * functions (FIFO). A watcher stopped from inside a callback never fires again in the
 * same iteration, even if its event was already fetched, so a callback may close and
 * free another connection safely.
 */
#ifndef ORASI_NET_LOOP_H
#define ORASI_NET_LOOP_H

#include <stddef.h>
#include <stdint.h>

typedef struct loop loop_t;
typedef struct loop_io loop_io_t;
typedef struct loop_timer loop_timer_t;

/* Event bits for loop_io_start and the callbacks. LOOP_ERROR (EPOLLERR/EPOLLHUP) is
 * always reported; a callback typically treats it like readable and finds the error on
 * the next read. */
enum { LOOP_READ = 1u, LOOP_WRITE = 2u, LOOP_ERROR = 4u };

typedef void (*loop_io_fn)(loop_t *loop, loop_io_t *io, unsigned events);
typedef void (*loop_timer_fn)(loop_t *loop, loop_timer_t *t);
typedef void (*loop_post_fn)(void *arg);

/* Fields are private to loop.c except `data`, which is the caller's. */
struct loop_io {
    int fd;
    unsigned events; /* interest registered with epoll (0 = not registered) */
    unsigned want;   /* interest asked for: 0 while events != 0 is a lazy stop (loop.c) */
    loop_io_fn cb;
    void *data;
};

struct loop_timer {
    uint64_t when_ns;   /* absolute, CLOCK_MONOTONIC */
    uint64_t repeat_ns; /* 0 = one-shot */
    size_t heap_idx;    /* SIZE_MAX when not active */
    loop_timer_fn cb;
    void *data;
};

/* A new loop (epoll fd + eventfd). NULL on failure. Caller owns it. */
loop_t *loop_create(void);
/* Free the loop. Functions still queued by loop_post are dropped without running: only
 * destroy a loop once nobody will post to it any more. Watchers and timers still
 * registered are forgotten (their memory is the caller's). */
void loop_destroy(loop_t *loop);

/* Run until loop_stop. Returns 0, or a negative ORASI_E* code if epoll failed. */
int loop_run(loop_t *loop);
/* Ask loop_run to return after the current iteration. Thread-safe, async-safe enough to
 * call from any thread (not from a signal handler). */
void loop_stop(loop_t *loop);
/* Run one iteration, waiting at most timeout_ms (-1 = until something happens). For
 * tests and for draining posted work after loop_run returned. */
int loop_run_once(loop_t *loop, int timeout_ms);
/* 1 when called on the thread currently running loop_run/loop_run_once. */
int loop_in_thread(const loop_t *loop);
/* Monotonic time cached at the start of the current iteration (cheap). */
uint64_t loop_now(const loop_t *loop);
/* Re-read the clock into the cache and return it. */
uint64_t loop_update_time(loop_t *loop);

/* Watchers. loop_io_init only fills the struct. loop_io_start registers `fd` with the
 * given interest or changes it (no syscall when unchanged). events == 0 pauses the
 * watcher: its callback is not called until it is started again, but the registration
 * is only dropped if an event arrives meanwhile, so pausing and resuming with the same
 * interest (a connection waiting for its answer) costs no syscall. loop_io_stop
 * unregisters at once; call it before closing the fd or freeing the watcher. */
void loop_io_init(loop_io_t *io, int fd, loop_io_fn cb, void *data);
int loop_io_start(loop_t *loop, loop_io_t *io, unsigned events);
void loop_io_stop(loop_t *loop, loop_io_t *io);

/* Timers. delay_ns from now; repeat_ns > 0 re-arms after every run. Starting an active
 * timer re-arms it. ORASI_ENOMEM / ORASI_EFULL when the heap cannot grow. */
void loop_timer_init(loop_timer_t *t, loop_timer_fn cb, void *data);
int loop_timer_start(loop_t *loop, loop_timer_t *t, uint64_t delay_ns, uint64_t repeat_ns);
/* Like loop_timer_start with an absolute CLOCK_MONOTONIC deadline, one-shot. */
int loop_timer_start_at(loop_t *loop, loop_timer_t *t, uint64_t when_ns);
void loop_timer_stop(loop_t *loop, loop_timer_t *t);
static inline int loop_timer_active(const loop_timer_t *t)
{
    return t->heap_idx != SIZE_MAX;
}

/* Run fn(arg) on the loop's thread, soon. Thread-safe. ORASI_ENOMEM if the queue entry
 * cannot be allocated, ORASI_EFULL past LOOP_POST_MAX queued entries; fn is then not
 * called and the caller still owns arg. */
#define LOOP_POST_MAX (1u << 20)
int loop_post(loop_t *loop, loop_post_fn fn, void *arg);

#endif
