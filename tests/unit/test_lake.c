/* test_lake.c — the lake: models with every field flattened to Parquet and read back
 * with an independent DuckDB, partition paths, sort order, orphan removal after a crash
 * between rename and commit, exactly-once publication across simulated crashes,
 * retention, the trace-id Bloom filter, and the text form of attribute values. */
#include "core/alloc.h"
#include "core/arena.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "lake/bloom.h"
#include "lake/catalog.h"
#include "lake/flatten.h"
#include "lake/lake.h"
#include "otlp/otlp_pb.h"

#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "test_lake_util.h"

#define SEC 1000000000ull
#define HOUR (3600ull * SEC)
/* 2026-11-22T02:16:07.123456789Z */
#define T0 1795313767123456789ull

static lake_t *open_lake(const char *dir, struct lake_options *o)
{
    struct lake_options def;
    if (!o) {
        lake_options_default(&def);
        o = &def;
    }
    o->data_dir = dir;
    o->flush_interval = 3600 * SEC; /* tests flush explicitly */
    o->maintenance_interval = 3600 * SEC;
    lake_t *l = NULL;
    char err[256] = "";
    int rc = lake_open(o, &l, err, sizeof(err));
    if (rc)
        fprintf(stderr, "lake_open: %s\n", err);
    assert_int_equal(rc, 0);
    return l;
}

/* Paths of every listed file of (tenant, sig) as a DuckDB list literal. */
static char *file_list(lake_t *l, const char *tenant, int sig, size_t *nfiles)
{
    catalog_list_t lst;
    assert_int_equal(catalog_list(lake_catalog(l), tenant, sig, INT64_MIN, INT64_MAX, &lst), 0);
    buf_t b;
    buf_init(&b, 1 << 20);
    assert_int_equal(buf_append_byte(&b, '['), 0);
    for (size_t i = 0; i < lst.n; i++)
        assert_int_equal(buf_printf(&b, "%s'%s'", i ? "," : "", lst.v[i].path), 0);
    assert_int_equal(buf_append_str(&b, "]"), 0);
    assert_int_equal(buf_append_byte(&b, 0), 0);
    if (nfiles)
        *nfiles = lst.n;
    catalog_list_free(&lst);
    return (char *)buf_detach(&b, NULL);
}

static int64_t count_rows(tl_duck_t *d, lake_t *l, const char *tenant, int sig)
{
    size_t n;
    char *fl = file_list(l, tenant, sig, &n);
    int64_t v = 0;
    if (n) {
        char q[8192];
        snprintf(q, sizeof(q), "SELECT count(*) FROM read_parquet(%s, hive_partitioning=false)",
                 fl);
        v = tl_query_int(d, q);
    }
    free(fl);
    return v;
}

static int teardown(void **state)
{
    (void)state;
    orasi_alloc_fail_after(-1);
    return 0;
}

/* ---- traces with every field ----------------------------------------------------------- */

static void test_traces_every_field(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    lake_t *l = open_lake(dir, NULL);
    arena_t *a = arena_create(1 << 16, 0);

    static const uint8_t bytes3[] = {1, 2, 3};
    otlp_any_t arr_items[2] = {{.type = OTLP_ANY_STRING}, {.type = OTLP_ANY_INT}};
    arr_items[0].u.str = tl_s("a\"b");
    arr_items[1].u.i64 = -1;
    otlp_kv_t inner[2] = {tl_kv_str("x", "y"), tl_kv_dbl("pi", 3.25)};
    otlp_any_t bytes_inner = {.type = OTLP_ANY_BYTES};
    bytes_inner.u.bytes = slice_make(bytes3, 3);
    otlp_kv_t kvl2[1] = {{tl_s("b"), bytes_inner}};

    otlp_kv_t rattr[8] = {
        tl_kv_str("service.name", "checkout"),
        tl_kv_int("int", 42),
        tl_kv_dbl("dbl", 0.1),
        tl_kv_bool("bool", 1),
        {tl_s("bytes"), {.type = OTLP_ANY_BYTES}},
        {tl_s("arr"), {.type = OTLP_ANY_ARRAY}},
        {tl_s("kv"), {.type = OTLP_ANY_KVLIST}},
        {tl_s("empty"), {.type = OTLP_ANY_EMPTY}},
    };
    rattr[4].value.u.bytes = slice_make(bytes3, 3);
    rattr[5].value.u.array.v = arr_items;
    rattr[5].value.u.array.n = 2;
    rattr[6].value.u.kvlist.v = inner;
    rattr[6].value.u.kvlist.n = 2;
    otlp_kv_t sattr[2] = {tl_kv_str("http.route", "/a"), {tl_s("nested"), {.type = OTLP_ANY_KVLIST}}};
    sattr[1].value.u.kvlist.v = kvl2;
    sattr[1].value.u.kvlist.n = 1;
    otlp_kv_t eattr[1] = {tl_kv_int("retry", 2)};
    otlp_kv_t lattr[1] = {tl_kv_str("link.kind", "follows")};

    otlp_event_t ev[2] = {
        {T0 + 100, tl_s("exception"), {eattr, 1}, 0},
        {T0 + 200, tl_s("done"), {NULL, 0}, 0},
    };
    otlp_link_t lk[1] = {{.trace_state = tl_s("lk=1"), .attrs = {lattr, 1}}};
    lk[0].trace_id.len = 16;
    memset(lk[0].trace_id.id, 0xab, 16);
    lk[0].span_id.len = 8;
    memset(lk[0].span_id.id, 0xcd, 8);

    otlp_span_t sp[2];
    memset(sp, 0, sizeof(sp));
    sp[0].trace_id.len = 16;
    for (int i = 0; i < 16; i++)
        sp[0].trace_id.id[i] = (uint8_t)(i + 1);
    sp[0].span_id.len = 8;
    for (int i = 0; i < 8; i++)
        sp[0].span_id.id[i] = (uint8_t)(0xf0 + i);
    sp[0].parent_span_id.len = 8;
    memset(sp[0].parent_span_id.id, 0x11, 8);
    sp[0].trace_state = tl_s("k=v");
    sp[0].name = tl_s("GET /a");
    sp[0].kind = OTLP_SPAN_KIND_SERVER;
    sp[0].start_time_unix_nano = T0;
    sp[0].end_time_unix_nano = T0 + 1500;
    sp[0].attrs = (otlp_attrs_t){sattr, 2};
    sp[0].events = ev;
    sp[0].n_events = 2;
    sp[0].links = lk;
    sp[0].n_links = 1;
    sp[0].status.code = OTLP_STATUS_ERROR;
    sp[0].status.message = tl_s("boom");
    /* second span: root, unknown kind, nothing optional (a file of one row group keeps
     * the rows in arrival order; the query below orders them by TraceId: this one first) */
    sp[1].trace_id.len = 16;
    for (int i = 0; i < 16; i++)
        sp[1].trace_id.id[i] = (uint8_t)i;
    sp[1].span_id.len = 8;
    memset(sp[1].span_id.id, 0x22, 8);
    sp[1].name = tl_s("A-first");
    sp[1].kind = 7;
    sp[1].start_time_unix_nano = T0 + 5;
    sp[1].end_time_unix_nano = T0 + 5; /* zero duration */

    otlp_scope_spans_t ss = {.scope = {.name = tl_s("lib"), .version = tl_s("2.0")},
                             .spans = sp, .n_spans = 2};
    otlp_resource_spans_t rs = {.resource = {.attrs = {rattr, 8}}, .scope_spans = &ss,
                                .n_scope_spans = 1};
    otlp_traces_t m = {.resource_spans = &rs, .n_resource_spans = 1, .n_items = 2};

    assert_int_equal(lake_append_traces(l, tl_s("acme"), &m, 0), 0);
    assert_int_equal(lake_flush(l, 0), 0);
    struct lake_stats st;
    lake_stats(l, &st);
    assert_int_equal(st.files_published, 1);
    assert_int_equal(st.rows_published, 2);
    assert_int_equal(st.rows_buffered, 0);

    catalog_list_t lst;
    assert_int_equal(catalog_list(lake_catalog(l), "acme", LAKE_TRACES, INT64_MIN, INT64_MAX, &lst), 0);
    assert_int_equal(lst.n, 1);
    assert_int_equal(lst.v[0].rows, 2);
    assert_int_equal(lst.v[0].min_ts, (int64_t)T0);
    assert_int_equal(lst.v[0].max_ts, (int64_t)T0 + 5);
    assert_string_equal(lst.v[0].date, "2026-11-22");
    assert_int_equal(lst.v[0].hour, 2);
    struct stat sb;
    assert_int_equal(stat(lst.v[0].path, &sb), 0);
    assert_int_equal((uint64_t)sb.st_size, lst.v[0].bytes);

    tl_duck_t d;
    tl_duck_open(&d);
    char q[4096];
    snprintf(q, sizeof(q),
             "SELECT epoch_ns(\"Timestamp\"), TraceId, SpanId, ParentSpanId, TraceState, SpanName,"
             " SpanKind, ServiceName, ResourceAttributes::VARCHAR, ScopeName, ScopeVersion,"
             " SpanAttributes::VARCHAR, Duration, StatusCode, StatusMessage,"
             " list_transform(\"Events.Timestamp\", x -> epoch_ns(x))::VARCHAR,"
             " \"Events.Name\"::VARCHAR, \"Events.Attributes\"::VARCHAR,"
             " \"Links.TraceId\"::VARCHAR, \"Links.SpanId\"::VARCHAR, \"Links.TraceState\"::VARCHAR,"
             " \"Links.Attributes\"::VARCHAR, typeof(\"Timestamp\"), typeof(Duration)"
             " FROM read_parquet('%s') ORDER BY TraceId",
             lst.v[0].path);
    duckdb_result r;
    tl_query(&d, q, &r);
    assert_int_equal(duckdb_row_count(&r), 2);
    char v[1024];
    /* row 0 is "A-first" (sorted by TraceId, Timestamp) */
    static const char *const row0[] = {
        "1795313767123456794", "000102030405060708090a0b0c0d0e0f", "2222222222222222", "", "",
        "A-first", "7", "checkout", NULL, "lib", "2.0", "{}", "0", "Unset", "", "[]", "[]", "[]",
        "[]", "[]", "[]", "[]", "TIMESTAMP_NS", "BIGINT"};
    static const char *const row1[] = {
        "1795313767123456789",
        "0102030405060708090a0b0c0d0e0f10",
        "f0f1f2f3f4f5f6f7",
        "1111111111111111",
        "k=v",
        "GET /a",
        "Server",
        "checkout",
        /* DuckDB quotes map values holding special characters when casting to text */
        ("{service.name=checkout, int=42, dbl=0.1, bool=true, bytes=AQID,"
         " arr='[\"a\\\\\"b\",-1]', kv='{\"x\":\"y\",\"pi\":3.25}', empty=''}"),
        "lib",
        "2.0",
        "{http.route=/a, nested='{\"b\":\"AQID\"}'}",
        "1500",
        "Error",
        "boom",
        "[1795313767123456889, 1795313767123456989]",
        "[exception, done]",
        "[{retry=2}, {}]",
        "[abababababababababababababababab]",
        "[cdcdcdcdcdcdcdcd]",
        "['lk=1']",
        "[{link.kind=follows}]",
        "TIMESTAMP_NS",
        "BIGINT"};
    for (idx_t c = 0; c < 24; c++) {
        tl_cell(&r, c, 0, v, sizeof(v));
        if (row0[c])
            assert_string_equal(v, row0[c]);
        tl_cell(&r, c, 1, v, sizeof(v));
        assert_string_equal(v, row1[c]);
    }
    /* row 0 shares the resource attributes of row 1 (stored once, read twice) */
    char v0[1024], v1[1024];
    tl_cell(&r, 8, 0, v0, sizeof(v0));
    tl_cell(&r, 8, 1, v1, sizeof(v1));
    assert_string_equal(v0, v1);
    duckdb_destroy_result(&r);

    /* column names follow the exporter, including the dotted Nested ones */
    snprintf(q, sizeof(q),
             "SELECT string_agg(name, ',' ORDER BY column_id) FROM ("
             " SELECT column_name AS name, row_number() OVER () AS column_id"
             " FROM (DESCRIBE SELECT * FROM read_parquet('%s', hive_partitioning=false)))",
             lst.v[0].path);
    tl_query(&d, q, &r);
    tl_cell(&r, 0, 0, v, sizeof(v));
    assert_string_equal(v, "Timestamp,TraceId,SpanId,ParentSpanId,TraceState,SpanName,SpanKind,"
                           "ServiceName,ResourceAttributes,ScopeName,ScopeVersion,SpanAttributes,"
                           "Duration,StatusCode,StatusMessage,Events.Timestamp,Events.Name,"
                           "Events.Attributes,Links.TraceId,Links.SpanId,Links.TraceState,"
                           "Links.Attributes");
    duckdb_destroy_result(&r);
    /* ZSTD inside */
    snprintf(q, sizeof(q),
             "SELECT count(*) FROM parquet_metadata('%s') WHERE compression <> 'ZSTD'",
             lst.v[0].path);
    assert_int_equal(tl_query_int(&d, q), 0);

    /* Bloom: the file may hold its trace id; a random other id is (almost surely) not. */
    assert_true(catalog_file_may_contain(&lst.v[0], sp[0].trace_id.id));
    catalog_list_t tl;
    assert_int_equal(catalog_list_trace(lake_catalog(l), "acme", sp[0].trace_id.id, INT64_MIN,
                                        INT64_MAX, &tl), 0);
    assert_int_equal(tl.n, 1);
    catalog_list_free(&tl);
    uint8_t other[16];
    memset(other, 0x77, 16);
    assert_int_equal(catalog_list_trace(lake_catalog(l), "acme", other, INT64_MIN, INT64_MAX, &tl), 0);
    assert_int_equal(tl.n, 0);
    catalog_list_free(&tl);

    catalog_list_free(&lst);
    tl_duck_close(&d);
    arena_destroy(a);
    lake_close(l);
    tl_rmrf(dir);
    free(dir);
}

/* ---- logs ------------------------------------------------------------------------------- */

static void test_logs_every_field(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    lake_t *l = open_lake(dir, NULL);
    otlp_kv_t rattr[1] = {tl_kv_str("service.name", "billing")};
    otlp_kv_t sattr[1] = {tl_kv_bool("scoped", 0)};
    otlp_kv_t lattr[1] = {tl_kv_dbl("ratio", 1e21)};
    otlp_kv_t bodykv[1] = {tl_kv_int("code", 7)};
    otlp_log_record_t lr[3];
    memset(lr, 0, sizeof(lr));
    lr[0].time_unix_nano = T0;
    lr[0].observed_time_unix_nano = T0 + 9;
    lr[0].severity_number = 17;
    lr[0].severity_text = tl_s("ERROR");
    lr[0].body.type = OTLP_ANY_STRING;
    lr[0].body.u.str = tl_s("disk full");
    lr[0].attrs = (otlp_attrs_t){lattr, 1};
    lr[0].flags = 0x101; /* only the low byte is TraceFlags */
    lr[0].trace_id.len = 16;
    memset(lr[0].trace_id.id, 0x5a, 16);
    lr[0].span_id.len = 8;
    memset(lr[0].span_id.id, 0x6b, 8);
    lr[0].event_name = tl_s("app.crash");
    /* time 0: partitioned and stamped by the observed time */
    lr[1].observed_time_unix_nano = T0 + HOUR;
    lr[1].body.type = OTLP_ANY_KVLIST;
    lr[1].body.u.kvlist.v = bodykv;
    lr[1].body.u.kvlist.n = 1;
    lr[1].severity_number = 99; /* open enum kept */
    lr[2].time_unix_nano = T0 + 1;
    lr[2].body.type = OTLP_ANY_DOUBLE;
    lr[2].body.u.f64 = 0.000001;
    otlp_scope_logs_t sl = {.scope = {.name = tl_s("logger"), .version = tl_s("3"),
                                      .attrs = {sattr, 1}},
                            .log_records = lr, .n_log_records = 3, .schema_url = tl_s("https://s/1")};
    otlp_resource_logs_t rl = {.resource = {.attrs = {rattr, 1}}, .scope_logs = &sl,
                               .n_scope_logs = 1, .schema_url = tl_s("https://r/1")};
    otlp_logs_t m = {.resource_logs = &rl, .n_resource_logs = 1, .n_items = 3};
    assert_int_equal(lake_append_logs(l, tl_s("t1"), &m, 0), 0);
    assert_int_equal(lake_flush(l, 0), 0);

    size_t nf;
    char *fl = file_list(l, "t1", LAKE_LOGS, &nf);
    assert_int_equal(nf, 2); /* two hours */
    tl_duck_t d;
    tl_duck_open(&d);
    char q[4096];
    snprintf(q, sizeof(q),
             "SELECT epoch_ns(\"Timestamp\"), TraceId, SpanId, TraceFlags, SeverityText,"
             " SeverityNumber, ServiceName, Body, ResourceSchemaUrl, ResourceAttributes::VARCHAR,"
             " ScopeSchemaUrl, ScopeName, ScopeVersion, ScopeAttributes::VARCHAR,"
             " LogAttributes::VARCHAR, EventName"
             " FROM read_parquet(%s, hive_partitioning=false) ORDER BY \"Timestamp\"",
             fl);
    duckdb_result r;
    tl_query(&d, q, &r);
    assert_int_equal(duckdb_row_count(&r), 3);
    static const char *const want[3][16] = {
        {"1795313767123456789", "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a", "6b6b6b6b6b6b6b6b", "1",
         "ERROR", "17", "billing", "disk full", "https://r/1", "{service.name=billing}",
         "https://s/1", "logger", "3", "{scoped=false}", "{ratio=1000000000000000000000}",
         "app.crash"},
        {"1795313767123456790", "", "", "0", "", "0", "billing", "0.000001", "https://r/1",
         "{service.name=billing}", "https://s/1", "logger", "3", "{scoped=false}", "{}", ""},
        {"1795317367123456789", "", "", "0", "", "99", "billing", "{\"code\":7}", "https://r/1",
         "{service.name=billing}", "https://s/1", "logger", "3", "{scoped=false}", "{}", ""},
    };
    char v[512];
    for (idx_t row = 0; row < 3; row++)
        for (idx_t c = 0; c < 16; c++) {
            tl_cell(&r, c, row, v, sizeof(v));
            assert_string_equal(v, want[row][c]);
        }
    duckdb_destroy_result(&r);
    free(fl);
    tl_duck_close(&d);
    lake_close(l);
    tl_rmrf(dir);
    free(dir);
}

/* ---- metrics: the five tables --------------------------------------------------------------- */

static void test_metrics_every_kind(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    lake_t *l = open_lake(dir, NULL);
    otlp_kv_t rattr[1] = {tl_kv_str("service.name", "api")};
    otlp_kv_t pattr[1] = {tl_kv_str("route", "/x")};
    otlp_kv_t xattr[1] = {tl_kv_str("user", "u1")};
    otlp_exemplar_t ex[1];
    memset(ex, 0, sizeof(ex));
    ex[0].filtered_attrs = (otlp_attrs_t){xattr, 1};
    ex[0].time_unix_nano = T0 + 3;
    ex[0].is_int = 1;
    ex[0].as_int = 12;
    ex[0].span_id.len = 8;
    memset(ex[0].span_id.id, 0x01, 8);
    ex[0].trace_id.len = 16;
    memset(ex[0].trace_id.id, 0x02, 16);

    otlp_number_dp_t g = {.attrs = {pattr, 1}, .start_time_unix_nano = T0 - SEC,
                          .time_unix_nano = T0, .as_double = 2.5, .exemplars = {ex, 1}};
    otlp_number_dp_t s = {.attrs = {pattr, 1}, .time_unix_nano = T0, .is_int = 1, .as_int = 40,
                          .flags = 1};
    static const uint64_t bc[3] = {1, 2, 3};
    static const double eb[2] = {0.5, 1};
    otlp_histogram_dp_t h = {.attrs = {pattr, 1}, .time_unix_nano = T0, .count = 6,
                             .has_sum = 1, .sum = 4.5, .has_min = 1, .min = 0.1,
                             .bucket_counts = {bc, 3}, .explicit_bounds = {eb, 2}};
    static const uint64_t pos[2] = {4, 5}, neg[1] = {6};
    otlp_exp_histogram_dp_t eh = {.attrs = {pattr, 1}, .time_unix_nano = T0, .count = 15,
                                  .has_max = 1, .max = 9, .scale = -2, .zero_count = 1,
                                  .positive = {3, {pos, 2}}, .negative = {-1, {neg, 1}}};
    otlp_quantile_t qs[2] = {{0.5, 10}, {0.99, 20}};
    otlp_summary_dp_t su = {.attrs = {pattr, 1}, .time_unix_nano = T0, .count = 3, .sum = 30,
                            .quantiles = qs, .n_quantiles = 2};
    otlp_metric_t mets[5];
    memset(mets, 0, sizeof(mets));
    mets[0] = (otlp_metric_t){.name = tl_s("g"), .description = tl_s("a gauge"), .unit = tl_s("1"),
                              .type = OTLP_METRIC_GAUGE};
    mets[0].points.number.v = &g;
    mets[0].points.number.n = 1;
    mets[1] = (otlp_metric_t){.name = tl_s("s"), .type = OTLP_METRIC_SUM, .temporality = 2,
                              .is_monotonic = 1};
    mets[1].points.number.v = &s;
    mets[1].points.number.n = 1;
    mets[2] = (otlp_metric_t){.name = tl_s("h"), .type = OTLP_METRIC_HISTOGRAM, .temporality = 1};
    mets[2].points.histogram.v = &h;
    mets[2].points.histogram.n = 1;
    mets[3] = (otlp_metric_t){.name = tl_s("e"), .type = OTLP_METRIC_EXP_HISTOGRAM, .temporality = 2};
    mets[3].points.exp_histogram.v = &eh;
    mets[3].points.exp_histogram.n = 1;
    mets[4] = (otlp_metric_t){.name = tl_s("q"), .type = OTLP_METRIC_SUMMARY};
    mets[4].points.summary.v = &su;
    mets[4].points.summary.n = 1;
    otlp_scope_metrics_t sm = {.scope = {.name = tl_s("meter"), .dropped_attributes_count = 4},
                               .metrics = mets, .n_metrics = 5};
    otlp_resource_metrics_t rm = {.resource = {.attrs = {rattr, 1}}, .scope_metrics = &sm,
                                  .n_scope_metrics = 1};
    otlp_metrics_t m = {.resource_metrics = &rm, .n_resource_metrics = 1, .n_items = 5};
    assert_int_equal(lake_append_metrics(l, tl_s("default"), &m, 0), 0);
    assert_int_equal(lake_flush(l, 0), 0);

    struct {
        int sig;
        const char *cols;
        const char *want;
    } checks[] = {
        {LAKE_METRICS_GAUGE,
         "ServiceName || '|' || MetricName || '|' || MetricDescription || '|' || MetricUnit || '|'"
         " || Attributes::VARCHAR || '|' || epoch_ns(StartTimeUnix) || '|' || Value || '|' ||"
         " \"Exemplars.FilteredAttributes\"::VARCHAR || '|' || \"Exemplars.Value\"::VARCHAR ||"
         " '|' || \"Exemplars.SpanId\"::VARCHAR || '|' || \"Exemplars.TraceId\"::VARCHAR || '|'"
         " || ScopeName || '|' || ScopeDroppedAttrCount",
         "api|g|a gauge|1|{route=/x}|1795313766123456789|2.5|[{user=u1}]|[12.0]|[0101010101010101]"
         "|[02020202020202020202020202020202]|meter|4"},
        {LAKE_METRICS_SUM,
         "MetricName || '|' || Value || '|' || Flags || '|' || AggregationTemporality || '|' ||"
         " IsMonotonic",
         "s|40.0|1|2|true"},
        {LAKE_METRICS_HISTOGRAM,
         "Count || '|' || Sum || '|' || BucketCounts::VARCHAR || '|' || ExplicitBounds::VARCHAR ||"
         " '|' || Min || '|' || Max || '|' || AggregationTemporality",
         "6|4.5|[1, 2, 3]|[0.5, 1.0]|0.1|0.0|1"},
        {LAKE_METRICS_EXP_HISTOGRAM,
         "Count || '|' || Scale || '|' || ZeroCount || '|' || PositiveOffset || '|' ||"
         " PositiveBucketCounts::VARCHAR || '|' || NegativeOffset || '|' ||"
         " NegativeBucketCounts::VARCHAR || '|' || Max",
         "15|-2|1|3|[4, 5]|-1|[6]|9.0"},
        {LAKE_METRICS_SUMMARY,
         "Count || '|' || Sum || '|' || \"ValueAtQuantiles.Quantile\"::VARCHAR || '|' ||"
         " \"ValueAtQuantiles.Value\"::VARCHAR",
         "3|30.0|[0.5, 0.99]|[10.0, 20.0]"},
    };
    tl_duck_t d;
    tl_duck_open(&d);
    for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
        size_t nf;
        char *fl = file_list(l, "default", checks[i].sig, &nf);
        assert_int_equal(nf, 1);
        char q[4096];
        snprintf(q, sizeof(q), "SELECT %s FROM read_parquet(%s)", checks[i].cols, fl);
        duckdb_result r;
        tl_query(&d, q, &r);
        char v[1024];
        tl_cell(&r, 0, 0, v, sizeof(v));
        assert_string_equal(v, checks[i].want);
        duckdb_destroy_result(&r);
        free(fl);
    }
    tl_duck_close(&d);
    lake_close(l);
    tl_rmrf(dir);
    free(dir);
}

/* ---- partitions and sort order -------------------------------------------------------------- */

static void test_partitions_and_sort(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    lake_t *l = open_lake(dir, NULL);
    arena_t *a = arena_create(1 << 16, 0);
    /* 50 spans, 7 minutes apart, starting 23:30 -> three hours across midnight */
    uint64_t start = 1795391400ull * SEC; /* 2026-11-22T23:30:00Z */
    otlp_traces_t m = tl_traces(a, "svc-b", 50, start, 7 * 60 * SEC, 1);
    otlp_traces_t m2 = tl_traces(a, "svc-a", 10, start, 60 * SEC, 100);
    assert_int_equal(lake_append_traces(l, tl_s("t"), &m, 0), 0);
    assert_int_equal(lake_append_traces(l, tl_s("t"), &m2, 0), 0);
    assert_int_equal(lake_append_traces(l, tl_s("u"), &m2, 0), 0);
    assert_int_equal(lake_flush(l, 0), 0);

    catalog_list_t lst;
    assert_int_equal(catalog_list(lake_catalog(l), "t", LAKE_TRACES, INT64_MIN, INT64_MAX, &lst), 0);
    /* 23:30..05:13 -> hours 23, 00..05 = 7 partitions */
    assert_int_equal(lst.n, 7);
    uint64_t rows = 0;
    for (size_t i = 0; i < lst.n; i++) {
        char want[128];
        snprintf(want, sizeof(want), "tenant=t/signal=traces/date=%s/hour=%02d/", lst.v[i].date,
                 lst.v[i].hour);
        assert_memory_equal(lst.v[i].rel, want, strlen(want));
        assert_int_equal(strlen(lst.v[i].rel), strlen(want) + 36 + 8);
        assert_true(lst.v[i].min_ts >= lst.v[i].part_ns);
        assert_true(lst.v[i].max_ts < lst.v[i].part_ns + (int64_t)HOUR);
        rows += lst.v[i].rows;
    }
    assert_int_equal(rows, 60);
    assert_string_equal(lst.v[0].date, "2026-11-22");
    assert_int_equal(lst.v[0].hour, 23);
    assert_string_equal(lst.v[1].date, "2026-11-23");
    assert_int_equal(lst.v[1].hour, 0);

    /* order inside the first file (fewer rows than a row group, so one trace-id slice):
     * arrival order, i.e. svc-b's spans of 23:xx, then svc-a's 10, each in time order
     * (file order = file_row_number). Bigger files: test_pqwrite's test_group_traces. */
    tl_duck_t d;
    tl_duck_open(&d);
    char q[2048];
    snprintf(q, sizeof(q),
             "SELECT string_agg(ServiceName, ',' ORDER BY file_row_number) FROM "
             "read_parquet('%s', file_row_number=true)",
             lst.v[0].path);
    duckdb_result sr;
    char order[512];
    tl_query(&d, q, &sr);
    tl_cell(&sr, 0, 0, order, sizeof(order));
    duckdb_destroy_result(&sr);
    /* svc-b's spans of hour 23 (appended first), then svc-a's 10 */
    assert_true(strncmp(order, "svc-b,", 6) == 0);
    const char *tail = strstr(order, ",svc-a,svc-a,svc-a,svc-a,svc-a,svc-a,svc-a,svc-a,svc-a,svc-a");
    assert_non_null(tail);
    assert_string_equal(tail + 60, "");
    assert_null(strstr(order + 6, "svc-b,svc-a,svc-b"));
    snprintf(q, sizeof(q),
             "SELECT count(*) FROM (SELECT ServiceName s, \"Timestamp\", lag(\"Timestamp\") "
             "OVER (PARTITION BY ServiceName ORDER BY file_row_number) AS pt"
             " FROM read_parquet('%s', file_row_number=true)) WHERE pt >= \"Timestamp\"",
             lst.v[0].path);
    assert_int_equal(tl_query_int(&d, q), 0);
    snprintf(q, sizeof(q), "SELECT count(DISTINCT ServiceName) FROM read_parquet('%s')",
             lst.v[0].path);
    assert_int_equal(tl_query_int(&d, q), 2);
    /* time-range listing: only files overlapping the range */
    catalog_list_t part;
    assert_int_equal(catalog_list(lake_catalog(l), "t", LAKE_TRACES, (int64_t)(start + HOUR),
                                  (int64_t)(start + HOUR), &part), 0);
    assert_int_equal(part.n, 1);
    catalog_list_free(&part);
    assert_int_equal(count_rows(&d, l, "u", LAKE_TRACES), 10);
    tl_duck_close(&d);
    catalog_list_free(&lst);
    arena_destroy(a);
    lake_close(l);
    tl_rmrf(dir);
    free(dir);
}

/* Span attributes of several shapes interleaved (flatten shares entries with the last
 * map of the same first key, after checking them): every row reads back exactly as sent,
 * also after the table was flushed, reset and refilled (stale hints), and with maps that
 * are a prefix, an extension, or differ in one value or in a later key. */
static void test_interleaved_attributes(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    lake_t *l = open_lake(dir, NULL);
    arena_t *a = arena_create(1 << 16, 0);
    static const char *const shapes[][4] = {
        {"a", "1", "b", "2"}, {"c", "3", "d", "4"}, {"a", "1", "b", "X"},
        {"a", "9", NULL, NULL}, {"a", "1", "e", "2"}, {"c", "3", "d", "4"},
    };
    enum { N = 60, NS = 6 };
    tl_duck_t d;
    tl_duck_open(&d);
    for (int round = 0; round < 2; round++) {
        otlp_traces_t m = tl_traces(a, "svc", N, T0 + (uint64_t)round * SEC, 1000,
                                    (uint64_t)round * 1000);
        otlp_span_t *sp = m.resource_spans[0].scope_spans[0].spans;
        for (int i = 0; i < N; i++) {
            const char *const *sh = shapes[(i * 7 + round) % NS];
            otlp_kv_t *at = arena_calloc(a, 3 * sizeof(*at));
            assert_non_null(at);
            size_t n = 0;
            at[n++] = tl_kv_str(sh[0], sh[1]);
            if (sh[2])
                at[n++] = tl_kv_str(sh[2], sh[3]);
            if (i % 5 == 0)
                at[n++] = tl_kv_str("z", "last");
            sp[i].attrs = (otlp_attrs_t){at, n};
        }
        assert_int_equal(lake_append_traces(l, tl_s("t"), &m, 0), 0);
        assert_int_equal(lake_flush(l, 0), 0);
        size_t nf;
        char *fl = file_list(l, "t", LAKE_TRACES, &nf);
        for (int i = 0; i < N; i++) {
            const char *const *sh = shapes[(i * 7 + round) % NS];
            char want[128], q[8192];
            snprintf(want, sizeof(want), "{%s=%s%s%s%s%s}", sh[0], sh[1], sh[2] ? ", " : "",
                     sh[2] ? sh[2] : "", sh[2] ? "=" : "", sh[2] ? sh[3] : "");
            if (i % 5 == 0)
                snprintf(want + strlen(want) - 1, sizeof(want) - strlen(want) + 1, ", z=last}");
            char hex[33];
            colbuf_hex(sp[i].span_id.id, 8, hex);
            snprintf(q, sizeof(q),
                     "SELECT count(*) FROM read_parquet(%s) WHERE SpanId = '%s' AND "
                     "SpanAttributes::VARCHAR = '%s'", fl, hex, want);
            if (tl_query_int(&d, q) != 1)
                fail_msg("round %d span %d: attributes are not %s", round, i, want);
        }
        free(fl);
    }
    tl_duck_close(&d);
    arena_destroy(a);
    lake_close(l);
    tl_rmrf(dir);
    free(dir);
}

/* Published tables are reused by later buffers: the reused table starts empty, and the
 * rows written through it are exactly the new ones (nothing of the previous flush leaks
 * in, strings interned before are not returned). */
static void test_table_reuse(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    lake_t *l = open_lake(dir, NULL);
    arena_t *a = arena_create(1 << 16, 0);
    otlp_traces_t m1 = tl_traces(a, "svc-one", 500, T0, 1000, 1);
    assert_int_equal(lake_append_traces(l, tl_s("t"), &m1, 0), 0);
    assert_int_equal(lake_flush(l, 0), 0);
    struct lake_stats st;
    lake_stats(l, &st);
    assert_int_equal(st.tables_reused, 0);
    /* the same signal again (another tenant, another service): a spare table is used */
    otlp_traces_t m2 = tl_traces(a, "svc-two", 300, T0 + 10 * SEC, 1000, 100000);
    assert_int_equal(lake_append_traces(l, tl_s("u"), &m2, 0), 0);
    lake_stats(l, &st);
    assert_int_equal(st.tables_reused, 1);
    assert_int_equal(st.rows_buffered, 300);
    assert_int_equal(lake_flush(l, 0), 0);

    tl_duck_t d;
    tl_duck_open(&d);
    assert_int_equal(count_rows(&d, l, "t", LAKE_TRACES), 500);
    assert_int_equal(count_rows(&d, l, "u", LAKE_TRACES), 300);
    size_t n;
    char *fl = file_list(l, "u", LAKE_TRACES, &n);
    char q[8192];
    snprintf(q, sizeof(q),
             "SELECT count(*) FROM read_parquet(%s) WHERE ServiceName <> 'svc-two'"
             " OR ResourceAttributes['service.name'] <> 'svc-two' OR SpanAttributes['http.method'] <> 'GET'"
             " OR NOT starts_with(SpanName, 'op-')",
             fl);
    assert_int_equal(tl_query_int(&d, q), 0);
    snprintf(q, sizeof(q), "SELECT count(DISTINCT SpanAttributes['i']) FROM read_parquet(%s)", fl);
    assert_int_equal(tl_query_int(&d, q), 300);
    free(fl);
    tl_duck_close(&d);
    arena_destroy(a);
    lake_close(l);
    tl_rmrf(dir);
    free(dir);
}

/* ---- crash consistency ------------------------------------------------------------------------ */

static size_t count_parquet(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "find '%s/lake' -name '*.parquet' | wc -l", dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = 0;
    assert_int_equal(fscanf(p, "%zu", &n), 1);
    pclose(p);
    return n;
}

/* Append `n` records of 10 spans with sequence numbers first.. */
static void append_records(lake_t *l, arena_t *a, uint64_t first, uint64_t n)
{
    for (uint64_t s = first; s < first + n; s++) {
        otlp_traces_t m = tl_traces(a, "svc", 10, T0 + s * SEC, 1000, s * 1000);
        assert_int_equal(lake_append_traces(l, tl_s("t"), &m, s), 0);
    }
}

static void test_crash_before_commit_and_replay(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    arena_t *a = arena_create(1 << 16, 0);
    tl_duck_t d;
    tl_duck_open(&d);

    lake_t *l = open_lake(dir, NULL);
    assert_int_equal(lake_published_seq(l), 0);
    append_records(l, a, 1, 3);
    assert_int_equal(lake_flush(l, 0), 0);
    struct lake_stats st;
    lake_stats(l, &st);
    assert_int_equal(st.published_seq, 3);

    /* crash after rename, before commit: files on disk, not in the catalog */
    append_records(l, a, 4, 2);
    lake_test_crash_point(l, 1);
    assert_int_equal(lake_flush(l, clock_mono_ns() + 10 * SEC), ORASI_ECLOSED);
    size_t on_disk = count_parquet(dir);
    assert_true(on_disk >= 2);
    /* a stray temporary file from a write that never finished */
    char stray[512];
    catalog_list_t lst;
    assert_int_equal(catalog_list(lake_catalog(l), "t", LAKE_TRACES, INT64_MIN, INT64_MAX, &lst), 0);
    assert_int_equal(lst.n, 1);
    snprintf(stray, sizeof(stray), "%.*s/.tmp-dead.parquet",
             (int)(strrchr(lst.v[0].path, '/') - lst.v[0].path), lst.v[0].path);
    catalog_list_free(&lst);
    FILE *f = fopen(stray, "w");
    assert_non_null(f);
    fclose(f);
    lake_close(l);

    l = open_lake(dir, NULL);
    assert_int_equal(lake_published_seq(l), 3);
    assert_int_equal(count_parquet(dir), 1); /* orphans removed */
    assert_int_equal(access(stray, F_OK), -1);
    assert_int_equal(count_rows(&d, l, "t", LAKE_TRACES), 30);
    /* "replay" the WAL after the published seq: records 4, 5 */
    append_records(l, a, lake_published_seq(l) + 1, 2);

    /* crash after commit, before the WAL checkpoint: the catalog knows seq 5 */
    lake_test_crash_point(l, 2);
    assert_int_equal(lake_flush(l, clock_mono_ns() + 10 * SEC), ORASI_ECLOSED);
    lake_close(l);

    l = open_lake(dir, NULL);
    assert_int_equal(lake_published_seq(l), 5);
    /* replay from 6: nothing to replay, so nothing is duplicated */
    assert_int_equal(count_rows(&d, l, "t", LAKE_TRACES), 50);
    /* every span id exactly once */
    size_t nf;
    char *fl = file_list(l, "t", LAKE_TRACES, &nf);
    char q[8192];
    snprintf(q, sizeof(q),
             "SELECT count(*) FROM (SELECT SpanId, count(*) c FROM read_parquet(%s) GROUP BY"
             " SpanId HAVING c <> 1)",
             fl);
    assert_int_equal(tl_query_int(&d, q), 0);
    free(fl);
    lake_close(l);

    tl_duck_close(&d);
    arena_destroy(a);
    tl_rmrf(dir);
    free(dir);
}

/* An empty record (no items) still moves the published seq, so the WAL can drop it. */
static void test_empty_records_advance_seq(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    lake_t *l = open_lake(dir, NULL);
    otlp_traces_t empty;
    memset(&empty, 0, sizeof(empty));
    assert_int_equal(lake_append_traces(l, tl_s("t"), &empty, 1), 0);
    lake_note_seq(l, 2);
    assert_int_equal(lake_flush(l, 0), 0);
    uint64_t seq;
    assert_int_equal(catalog_wal_seq(lake_catalog(l), &seq), 0);
    assert_int_equal(seq, 2);
    assert_int_equal(lake_append_traces(l, tl_s("../x"), &empty, 0), ORASI_EINVAL);
    lake_close(l);
    tl_rmrf(dir);
    free(dir);
}

/* A failed append (allocation failure mid-record) leaves nothing behind, can be retried,
 * and lake_hold freezes publication so a restart replays the record. */
static void test_failed_append_is_atomic(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    lake_t *l = open_lake(dir, NULL);
    arena_t *a = arena_create(1 << 16, 0);
    append_records(l, a, 1, 2);
    otlp_traces_t m = tl_traces(a, "svc", 2000, T0 + 5 * HOUR, 1000, 77);
    /* fail at every allocation count in turn for a while: never a partial record */
    for (long n = 0; n < 40; n++) {
        orasi_alloc_fail_after(n);
        int rc = lake_append_traces(l, tl_s("t"), &m, 3);
        orasi_alloc_fail_after(-1);
        struct lake_stats st;
        lake_stats(l, &st);
        if (rc == 0) {
            assert_int_equal(st.rows_buffered, 2020);
            break;
        }
        assert_int_equal(rc, ORASI_ENOMEM);
        assert_int_equal(st.rows_buffered, 20);
    }
    assert_int_equal(lake_flush(l, 0), 0);
    struct lake_stats st;
    lake_stats(l, &st);
    assert_int_equal(st.published_seq, 3);
    assert_int_equal(st.rows_published, 2020);

    /* record 4 fails for good: hold it; nothing after it is accepted or published */
    append_records(l, a, 4, 1);
    lake_hold(l, 5);
    assert_false(lake_healthy(l));
    otlp_traces_t m6 = tl_traces(a, "svc", 3, T0, 1000, 99);
    assert_int_equal(lake_append_traces(l, tl_s("t"), &m6, 6), ORASI_EUNAVAILABLE);
    assert_int_equal(lake_flush(l, 0), ORASI_EUNAVAILABLE);
    lake_stats(l, &st);
    assert_int_equal(st.published_seq, 3);
    lake_close(l);
    /* after the restart the WAL would replay from 4 */
    l = open_lake(dir, NULL);
    assert_int_equal(lake_published_seq(l), 3);
    assert_true(lake_healthy(l));
    arena_destroy(a);
    lake_close(l);
    tl_rmrf(dir);
    free(dir);
}

/* ---- retention ---------------------------------------------------------------------------------- */

static void test_retention(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    struct lake_options o;
    lake_options_default(&o);
    o.retention_traces = 7 * 24 * HOUR;
    o.retention_logs = 0; /* keep forever */
    o.delete_grace = 0;
    o.compaction = 0;
    lake_t *l = open_lake(dir, &o);
    arena_t *a = arena_create(1 << 16, 0);
    uint64_t now = clock_wall_ns();
    otlp_traces_t old = tl_traces(a, "svc", 5, now - 10 * 24 * HOUR, SEC, 1);
    otlp_traces_t edge = tl_traces(a, "svc", 5, now - 7 * 24 * HOUR + 2 * HOUR, SEC, 2);
    otlp_traces_t fresh = tl_traces(a, "svc", 5, now - HOUR, SEC, 3);
    assert_int_equal(lake_append_traces(l, tl_s("t"), &old, 0), 0);
    assert_int_equal(lake_append_traces(l, tl_s("t"), &edge, 0), 0);
    assert_int_equal(lake_append_traces(l, tl_s("t"), &fresh, 0), 0);
    otlp_log_record_t lr = {.time_unix_nano = now - 100 * 24 * HOUR};
    otlp_scope_logs_t sl = {.log_records = &lr, .n_log_records = 1};
    otlp_resource_logs_t rl = {.scope_logs = &sl, .n_scope_logs = 1};
    otlp_logs_t logs = {.resource_logs = &rl, .n_resource_logs = 1, .n_items = 1};
    assert_int_equal(lake_append_logs(l, tl_s("t"), &logs, 0), 0);
    assert_int_equal(lake_flush(l, 0), 0);
    assert_int_equal(count_parquet(dir), 4);

    catalog_list_t lst;
    assert_int_equal(catalog_list(lake_catalog(l), "t", LAKE_TRACES, INT64_MIN, INT64_MAX, &lst), 0);
    assert_int_equal(lst.n, 3);
    char old_path[1024];
    snprintf(old_path, sizeof(old_path), "%s", lst.v[0].path);
    catalog_list_free(&lst);

    assert_int_equal(lake_maintain(l), 0);
    assert_int_equal(catalog_list(lake_catalog(l), "t", LAKE_TRACES, INT64_MIN, INT64_MAX, &lst), 0);
    assert_int_equal(lst.n, 2); /* the 10-day-old partition is gone */
    for (size_t i = 0; i < lst.n; i++)
        assert_true(lst.v[i].part_ns > (int64_t)(now - 8 * 24 * HOUR));
    catalog_list_free(&lst);
    assert_int_equal(access(old_path, F_OK), -1);
    /* its empty hour directory was pruned too */
    *strrchr(old_path, '/') = 0;
    assert_int_equal(access(old_path, F_OK), -1);
    assert_int_equal(count_parquet(dir), 3);
    assert_int_equal(catalog_list(lake_catalog(l), "t", LAKE_LOGS, INT64_MIN, INT64_MAX, &lst), 0);
    assert_int_equal(lst.n, 1); /* logs retention 0 = keep */
    catalog_list_free(&lst);
    struct lake_stats st;
    lake_stats(l, &st);
    assert_int_equal(st.files_expired, 1);
    assert_int_equal(st.files_unlinked, 1);
    arena_destroy(a);
    lake_close(l);
    tl_rmrf(dir);
    free(dir);
}

/* ---- value text and bloom -------------------------------------------------------------------- */

static void test_any_text(void **state)
{
    (void)state;
    struct {
        double v;
        const char *want;
    } dbl[] = {{0.1, "0.1"}, {1.5, "1.5"}, {-2, "-2"}, {1e21, "1000000000000000000000"},
               {1e-7, "0.0000001"}, {123456789.125, "123456789.125"}, {0, "0"},
               {NAN, "NaN"}, {INFINITY, "+Inf"}, {5e-324, NULL}};
    for (size_t i = 0; i < sizeof(dbl) / sizeof(dbl[0]); i++) {
        otlp_any_t v = {.type = OTLP_ANY_DOUBLE};
        v.u.f64 = dbl[i].v;
        buf_t b;
        buf_init(&b, 4096);
        assert_int_equal(flatten_any_text(&v, &b), 0);
        assert_int_equal(buf_append_byte(&b, 0), 0);
        if (dbl[i].want)
            assert_string_equal((char *)b.data, dbl[i].want);
        else
            assert_true(strtod((char *)b.data, NULL) == dbl[i].v); /* round trip */
        buf_free(&b);
    }
    struct {
        int64_t v;
        const char *want;
    } ints[] = {{0, "0"}, {7, "7"}, {-1, "-1"}, {200, "200"}, {INT64_MAX, "9223372036854775807"},
                {INT64_MIN, "-9223372036854775808"}};
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        otlp_any_t v = {.type = OTLP_ANY_INT};
        v.u.i64 = ints[i].v;
        buf_t ib;
        buf_init(&ib, 4096);
        assert_int_equal(flatten_any_text(&v, &ib), 0);
        assert_int_equal(buf_append_byte(&ib, 0), 0);
        assert_string_equal((char *)ib.data, ints[i].want);
        buf_free(&ib);
    }
    otlp_any_t bytes = {.type = OTLP_ANY_BYTES};
    bytes.u.bytes = slice_make("hello", 5);
    buf_t b;
    buf_init(&b, 4096);
    assert_int_equal(flatten_any_text(&bytes, &b), 0);
    assert_int_equal(b.len, 8);
    assert_memory_equal(b.data, "aGVsbG8=", 8);
    buf_free(&b);
}

static void test_bloom_rate(void **state)
{
    (void)state;
    bloom_t b;
    assert_int_equal(bloom_init(&b, 10000), 0);
    uint8_t id[16];
    for (uint64_t i = 0; i < 10000; i++) {
        tl_id(id, 16, i);
        bloom_add(&b, id);
    }
    for (uint64_t i = 0; i < 10000; i++) {
        tl_id(id, 16, i);
        assert_true(bloom_may_contain(b.data, b.len, id));
    }
    size_t fp = 0;
    for (uint64_t i = 0; i < 100000; i++) {
        tl_id(id, 16, 1000000 + i);
        fp += (size_t)bloom_may_contain(b.data, b.len, id);
    }
    /* ~0.07 % expected (74 of 100000); allow up to 0.2 % */
    assert_true(fp < 200);
    /* probing in place (what the catalog does) agrees with bloom_may_contain */
    uint32_t nbits, bit[BLOOM_MAX_K];
    unsigned k;
    assert_int_equal(bloom_header(b.data, b.len, &nbits, &k), 0);
    assert_int_equal(k, 10);
    assert_int_equal(nbits, (b.len - BLOOM_HEADER) * 8);
    for (uint64_t i = 0; i < 2000; i++) {
        tl_id(id, 16, i * 997);
        bloom_probe_bits(id, nbits, k, bit);
        int all = 1;
        for (unsigned j = 0; j < k; j++)
            all &= (b.data[BLOOM_HEADER + bit[j] / 8] >> (bit[j] % 8)) & 1;
        assert_int_equal(all, bloom_may_contain(b.data, b.len, id));
    }
    /* a damaged filter never hides a file */
    assert_int_equal(bloom_may_contain(b.data, 3, id), 1);
    assert_int_equal(bloom_header(b.data, 3, &nbits, &k), ORASI_EINVAL);
    bloom_free(&b);
    /* filters written before (10 bits per id, k = 7) keep working: k and nbits come
     * from the header */
    uint8_t old[BLOOM_HEADER + 128] = {1, 7, 0, 0, 0, 4, 0, 0}; /* 1024 bits */
    tl_id(id, 16, 42);
    bloom_probe_bits(id, 1024, 7, bit);
    for (unsigned j = 0; j < 7; j++)
        old[BLOOM_HEADER + bit[j] / 8] |= (uint8_t)(1u << (bit[j] % 8));
    assert_int_equal(bloom_may_contain(old, sizeof(old), id), 1);
    tl_id(id, 16, 43);
    assert_int_equal(bloom_may_contain(old, sizeof(old), id), 0);
}

/* ---- resources seen before ------------------------------------------------------------------ */

/* Traces of resources (service, host, pid) as a request decoded from protobuf, so that
 * every resource carries its encoded bytes (otlp_resource_t.raw) as in the server. */
static otlp_traces_t shared_req(arena_t *a, buf_t *pb, const char *const *svc,
                                const char *const *host, size_t nres, size_t per, uint64_t seed)
{
    otlp_traces_t m = tl_traces(a, "x", nres * per, T0, 1000, seed);
    otlp_span_t *sp = m.resource_spans[0].scope_spans[0].spans;
    otlp_resource_spans_t *rs = arena_calloc(a, nres * sizeof(*rs));
    otlp_scope_spans_t *ss = arena_calloc(a, nres * sizeof(*ss));
    assert_non_null(rs);
    assert_non_null(ss);
    for (size_t r = 0; r < nres; r++) {
        otlp_kv_t *kv = arena_calloc(a, 4 * sizeof(*kv));
        assert_non_null(kv);
        kv[0] = tl_kv_str("service.name", svc[r]);
        kv[1] = tl_kv_str("host.name", host[r]);
        kv[2] = tl_kv_int("process.pid", 42);
        kv[3] = tl_kv_str("os.type", "linux"); /* 4 entries: the writer's shortcut for maps */
        rs[r].resource.attrs = (otlp_attrs_t){kv, 4};
        rs[r].scope_spans = &ss[r];
        rs[r].n_scope_spans = 1;
        ss[r] = m.resource_spans[0].scope_spans[0];
        ss[r].spans = sp + r * per;
        ss[r].n_spans = per;
    }
    m.resource_spans = rs;
    m.n_resource_spans = nres;
    buf_clear(pb);
    assert_int_equal(otlp_pb_encode_traces(&m, pb), 0);
    otlp_traces_t d;
    assert_true(otlp_pb_decode_traces(slice_make(pb->data, pb->len), a, &d) >= 0);
    assert_int_equal(d.n_resource_spans, nres);
    assert_int_not_equal(d.resource_spans[0].resource.raw.len, 0);
    return d;
}

/* A resource seen in an earlier request is stored by reference to its first copy
 * (flatten.c's memo): every row still reads its own resource, including resources that
 * differ in one value and one first met by a request that failed and was undone. */
static void test_shared_resources(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    lake_t *l = open_lake(dir, NULL);
    arena_t *a = arena_create(1 << 16, 0);
    buf_t pb;
    buf_init(&pb, 1 << 24);
    static const char *const svc[] = {"svc-a", "svc-b", "svc-a", "svc-c"};
    static const char *const host[] = {"node-1", "node-1", "node-2", "node-1"};
    otlp_traces_t m1 = shared_req(a, &pb, svc, host, 2, 5, 1000);
    assert_int_equal(lake_append_traces(l, tl_s("t"), &m1, 1), 0);
    otlp_traces_t m2 = shared_req(a, &pb, svc, host, 3, 5, 2000); /* + svc-a on node-2 */
    assert_int_equal(lake_append_traces(l, tl_s("t"), &m2, 2), 0);
    /* svc-c first arrives in a request that fails at every allocation in turn (its
     * 3000 rows grow the columns, after the resource is stored and remembered) */
    otlp_traces_t m3 = shared_req(a, &pb, svc + 3, host + 3, 1, 3000, 10000);
    long n = 0;
    for (; n < 200; n++) {
        orasi_alloc_fail_after(n);
        int rc = lake_append_traces(l, tl_s("t"), &m3, 3);
        orasi_alloc_fail_after(-1);
        if (rc == 0)
            break;
        assert_int_equal(rc, ORASI_ENOMEM);
    }
    assert_true(n > 2 && n < 200);
    otlp_traces_t m4 = shared_req(a, &pb, svc, host, 4, 5, 4000);
    assert_int_equal(lake_append_traces(l, tl_s("t"), &m4, 4), 0);
    assert_int_equal(lake_flush(l, 0), 0);

    tl_duck_t d;
    tl_duck_open(&d);
    size_t nf;
    char *fl = file_list(l, "t", LAKE_TRACES, &nf);
    static const struct {
        const char *svc, *host;
        int rows;
    } want[] = {{"svc-a", "node-1", 15}, {"svc-b", "node-1", 15}, {"svc-a", "node-2", 10},
                {"svc-c", "node-1", 3005}};
    char q[8192];
    for (size_t i = 0; i < 4; i++) {
        snprintf(q, sizeof(q),
                 "SELECT count(*) FROM read_parquet(%s) WHERE ServiceName = '%s' AND "
                 "ResourceAttributes::VARCHAR = '{service.name=%s, host.name=%s, "
                 "process.pid=42, os.type=linux}'",
                 fl, want[i].svc, want[i].svc, want[i].host);
        if (tl_query_int(&d, q) != want[i].rows)
            fail_msg("%s on %s: %lld rows, want %d", want[i].svc, want[i].host,
                     (long long)tl_query_int(&d, q), want[i].rows);
    }
    snprintf(q, sizeof(q), "SELECT count(*) FROM read_parquet(%s)", fl);
    assert_int_equal(tl_query_int(&d, q), 3045);
    free(fl);
    tl_duck_close(&d);
    buf_free(&pb);
    arena_destroy(a);
    lake_close(l);
    tl_rmrf(dir);
    free(dir);
}

int main(void)
{
    log_set_level(LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_traces_every_field, teardown),
        cmocka_unit_test_teardown(test_logs_every_field, teardown),
        cmocka_unit_test_teardown(test_metrics_every_kind, teardown),
        cmocka_unit_test_teardown(test_partitions_and_sort, teardown),
        cmocka_unit_test_teardown(test_table_reuse, teardown),
        cmocka_unit_test_teardown(test_interleaved_attributes, teardown),
        cmocka_unit_test_teardown(test_crash_before_commit_and_replay, teardown),
        cmocka_unit_test_teardown(test_empty_records_advance_seq, teardown),
        cmocka_unit_test_teardown(test_failed_append_is_atomic, teardown),
        cmocka_unit_test_teardown(test_retention, teardown),
        cmocka_unit_test_teardown(test_any_text, teardown),
        cmocka_unit_test_teardown(test_bloom_rate, teardown),
        cmocka_unit_test_teardown(test_shared_resources, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    metrics_shutdown();
    return rc;
}
