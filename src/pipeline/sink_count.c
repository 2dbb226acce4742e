/* sink_count.c — a sink that counts and discards (see sink.h). Answers synchronously. */
#include "core/alloc.h"
#include "core/metrics.h"
#include "pipeline/sink.h"

#include <stdatomic.h>

struct sink_count {
    sink_t base; /* first: sink_t * and struct sink_count * convert */
    _Atomic uint64_t items[3];
    metric_t *m[3];
};

static void sink_count_submit(sink_t *s, const ingest_batch_t *b, sink_done_fn done, void *ud)
{
    struct sink_count *c = (struct sink_count *)s;
    atomic_fetch_add_explicit(&c->items[b->signal], b->items, memory_order_relaxed);
    if (c->m[b->signal])
        metric_add(c->m[b->signal], (double)b->items);
    done(ud, 0, 0);
}

static void sink_count_destroy(sink_t *s)
{
    orasi_free(s);
}

sink_t *sink_count_create(void)
{
    static const char *const sig[] = {"traces", "metrics", "logs"};
    struct sink_count *c = orasi_calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->base.name = "count";
    c->base.submit = sink_count_submit;
    c->base.destroy = sink_count_destroy;
    metric_family_t *f = metrics_counter("orasi_sink_items_total",
                                         "Items delivered to a sink, by sink and signal", 2,
                                         (const char *[]){"sink", "signal"});
    for (int i = 0; i < 3 && f; i++)
        c->m[i] = metric_series(f, (const char *[]){"count", sig[i]});
    return &c->base;
}

uint64_t sink_count_items(sink_t *s, enum otlp_signal sig)
{
    return atomic_load(&((struct sink_count *)s)->items[sig]);
}
