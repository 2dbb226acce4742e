// otel_send.mjs — drives the official OpenTelemetry JS SDK (pinned in package.json) against
// Orasi and checks that Orasi accepted exactly what the SDK exported.
//
//   node otel_send.mjs send --grpc URL --http URL --api URL [--protocols LIST]
//                           [--gzip LIST] [--spans N] [--logs N]
//       For each protocol in LIST (default "http/protobuf,http/json,grpc"): spans with
//       events, links, attributes of every type and error status; metrics of every
//       instrument kind (exponential histogram through a view); log records with bodies of
//       every AnyValue kind, attributes, severity, trace context and eventName. Every export
//       callback must report SUCCESS, and Orasi's
//       orasi_otlp_accepted_items_total{signal,protocol} must grow by exactly the number of
//       spans / metric data points / log records the SDK handed to the exporter (counted by
//       wrapping each exporter), with no refusals. Exits 1 on any mismatch, naming it.
//
//   node otel_send.mjs capture --out-pb DIR --out-json DIR [--spans N] [--logs N]
//       Points the http/protobuf and http/json exporters at a tiny local HTTP server that
//       saves each request body: DIR/sdk-{traces,metrics,logs}.{bin,json} (fuzz seeds).
//
// Why wrap the exporters instead of trusting the SDK's own numbers: the wrapper sees exactly
// the batch each export() call carries and the result the exporter reported for it.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

import { trace, context, SpanKind, SpanStatusCode, diag, DiagLogLevel } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { ExportResultCode } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import {
  MeterProvider, PeriodicExportingMetricReader, AggregationType,
} from '@opentelemetry/sdk-metrics';
import { LoggerProvider, BatchLogRecordProcessor } from '@opentelemetry/sdk-logs';

import { OTLPTraceExporter as TraceProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as TraceJson } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as TraceGrpc } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPMetricExporter as MetricProto } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPMetricExporter as MetricJson } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as MetricGrpc } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPLogExporter as LogProto } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPLogExporter as LogJson } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as LogGrpc } from '@opentelemetry/exporter-logs-otlp-grpc';

// Orasi's label value for each OTLP protocol.
const PROTO_LABEL = { 'http/protobuf': 'http_protobuf', 'http/json': 'http_json', grpc: 'grpc' };
const SIGNALS = ['traces', 'metrics', 'logs'];

function parseArgs(argv) {
  const o = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const k = a.slice(2);
      const v = argv[i + 1];
      if (v === undefined || v.startsWith('--')) o[k] = true;
      else { o[k] = v; i++; }
    } else o._.push(a);
  }
  return o;
}

function log(msg) { process.stderr.write(`[otel_send] ${msg}\n`); }

// ---- exporter wrappers: count items per export() and record each result ------------------

function metricPoints(rm) {
  let n = 0;
  for (const sm of rm.scopeMetrics) for (const m of sm.metrics) n += m.dataPoints.length;
  return n;
}

class Counting {
  constructor(inner, count, what) {
    this.inner = inner;
    this.count = count;
    this.what = what;
    this.exports = 0;     // export() calls carrying at least one item
    this.sent = 0;        // items handed to the exporter
    this.succeeded = 0;   // items in exports whose callback said SUCCESS
    this.failures = [];   // messages of failed exports
    this.pending = 0;
    // The metric reader asks the exporter which temporality/aggregation it wants.
    if (inner.selectAggregationTemporality)
      this.selectAggregationTemporality = (t) => inner.selectAggregationTemporality(t);
    if (inner.selectAggregation) this.selectAggregation = (t) => inner.selectAggregation(t);
  }

  export(items, cb) {
    const n = this.count(items);
    if (n > 0) this.exports++;
    this.sent += n;
    this.pending++;
    this.inner.export(items, (res) => {
      this.pending--;
      if (res.code === ExportResultCode.SUCCESS) this.succeeded += n;
      else this.failures.push(`${this.what}: export of ${n} items failed: ${res.error?.message ?? res.error ?? 'code ' + res.code}`);
      cb(res);
    });
  }

  forceFlush() { return this.inner.forceFlush ? this.inner.forceFlush() : Promise.resolve(); }
  shutdown() { return this.inner.shutdown(); }
}

function makeExporters(protocol, cfg) {
  const opts = (sig) => {
    const o = {};
    if (protocol === 'grpc') o.url = cfg.grpc;
    else o.url = `${cfg.http}/v1/${sig}`;
    if (cfg.gzip.includes(protocol)) o.compression = 'gzip';
    o.timeoutMillis = 10000;
    return o;
  };
  const C = {
    'http/protobuf': [TraceProto, MetricProto, LogProto],
    'http/json': [TraceJson, MetricJson, LogJson],
    grpc: [TraceGrpc, MetricGrpc, LogGrpc],
  }[protocol];
  if (!C) throw new Error(`unknown protocol ${protocol}`);
  return {
    traces: new Counting(new C[0](opts('traces')), (s) => s.length, `${protocol} traces`),
    metrics: new Counting(new C[1](opts('metrics')), metricPoints, `${protocol} metrics`),
    logs: new Counting(new C[2](opts('logs')), (l) => l.length, `${protocol} logs`),
  };
}

// ---- the workload ------------------------------------------------------------------------

async function workload(ex, cfg, tag) {
  const resource = resourceFromAttributes({
    'service.name': `orasi-e2e-${tag}`,
    'service.version': '1.2.3',
    'host.name': 'e2e-host',
    'e2e.protocol': tag,
  });

  // Traces: small batches so one protocol run makes several export requests.
  const tp = new BasicTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(ex.traces, {
      maxExportBatchSize: 64, maxQueueSize: 100000, scheduledDelayMillis: 60000,
    })],
  });
  const tracer = tp.getTracer('orasi-e2e-tracer', '0.1.0');
  let linkTarget = null;
  for (let i = 0; i < cfg.spans; i++) {
    const parent = tracer.startSpan(`parent-${i}`, {
      kind: [SpanKind.SERVER, SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.CONSUMER, SpanKind.INTERNAL][i % 5],
      attributes: {
        'attr.string': `value-${i}`,
        'attr.int': i,
        'attr.negative': -i - 1,
        'attr.double': i + 0.25,
        'attr.bool': i % 2 === 0,
        'attr.string_array': ['a', 'b', `c${i}`],
        'attr.int_array': [1, 2, i],
        'attr.double_array': [0.5, 1.5],
        'attr.bool_array': [true, false],
        'attr.unicode': 'grüße ✓ 日本',
        'http.request.method': 'POST',
      },
      links: linkTarget ? [{ context: linkTarget, attributes: { 'link.attr': 'x', 'link.n': 7 } }] : [],
    });
    parent.addEvent('event-one', { 'event.int': i, 'event.str': 'e', 'event.bool': true });
    parent.addEvent('event-two');
    if (i % 3 === 0) {
      parent.setStatus({ code: SpanStatusCode.ERROR, message: `failure ${i}` });
      parent.recordException(new Error(`boom ${i}`));
    } else {
      parent.setStatus({ code: SpanStatusCode.OK });
    }
    linkTarget = parent.spanContext();
    const ctx = trace.setSpan(context.active(), parent);
    const child = tracer.startSpan(`child-${i}`, { attributes: { 'child.n': i } }, ctx);
    child.end();
    parent.end();
  }

  // Metrics: every instrument kind; the exponential histogram through a view.
  const reader = new PeriodicExportingMetricReader({
    exporter: ex.metrics, exportIntervalMillis: 3600000, exportTimeoutMillis: 10000,
  });
  const mp = new MeterProvider({
    resource,
    readers: [reader],
    views: [{
      instrumentName: 'e2e.exp_histogram',
      aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM, options: { maxSize: 160 } },
    }],
  });
  const meter = mp.getMeter('orasi-e2e-meter', '0.1.0');
  const counter = meter.createCounter('e2e.counter', { unit: '1', description: 'a counter' });
  const updown = meter.createUpDownCounter('e2e.updown');
  const hist = meter.createHistogram('e2e.histogram', { unit: 'ms' });
  const exph = meter.createHistogram('e2e.exp_histogram', { unit: 'ms' });
  const gauge = meter.createGauge('e2e.gauge');
  let obsTick = 0;
  const og = meter.createObservableGauge('e2e.observable_gauge');
  og.addCallback((r) => { r.observe(20.5 + obsTick, { room: 'a' }); r.observe(19, { room: 'b' }); });
  const oc = meter.createObservableCounter('e2e.observable_counter');
  oc.addCallback((r) => r.observe(100 + obsTick * 10, { source: 'x' }));
  const oud = meter.createObservableUpDownCounter('e2e.observable_updown');
  oud.addCallback((r) => r.observe(5 - obsTick, { pool: 'p1' }));
  // Two collection rounds (values change in between) plus the final one at shutdown.
  for (let round = 0; round < 2; round++) {
    for (let k = 0; k < 3; k++) {
      const attrs = { route: `/r${k}`, ok: k !== 2 };
      counter.add(k + 1, attrs);
      updown.add(k % 2 ? -2 : 3, attrs);
      for (const v of [0.5, 3, 17, 250, 4000]) { hist.record(v + k, attrs); exph.record(v * (k + 1), attrs); }
      gauge.record(k * 1.5 + round, attrs);
    }
    obsTick++;
    await mp.forceFlush();
  }

  // Logs: bodies of every AnyValue kind, trace context from a live span, eventName.
  const lp = new LoggerProvider({
    resource,
    processors: [new BatchLogRecordProcessor({
      exporter: ex.logs,
      maxExportBatchSize: 64, maxQueueSize: 100000, scheduledDelayMillis: 60000,
    })],
  });
  const logger = lp.getLogger('orasi-e2e-logger', '0.1.0');
  const span = tracer.startSpan('log-context');
  const spanCtx = trace.setSpan(context.active(), span);
  const bodies = [
    (i) => `log line ${i} ✓`,
    (i) => i * 1000,
    (i) => ({ msg: 'structured', n: i, nested: { ok: true, list: [1, 'two', 3.5] } }),
    (i) => ['x', i, false, { k: 'v' }],
    (i) => new Uint8Array([0, 1, 2, 254, 255, i & 0xff]),
    () => 3.25,
    () => true,
  ];
  const sevs = [
    [SeverityNumber.DEBUG, 'DEBUG'], [SeverityNumber.INFO, 'INFO'], [SeverityNumber.WARN, 'WARN'],
    [SeverityNumber.ERROR, 'ERROR'], [SeverityNumber.FATAL, 'FATAL'],
  ];
  for (let i = 0; i < cfg.logs; i++) {
    const [sn, st] = sevs[i % sevs.length];
    const rec = {
      body: bodies[i % bodies.length](i),
      severityNumber: sn,
      severityText: st,
      attributes: {
        'log.str': 'v', 'log.int': i, 'log.double': 0.5, 'log.bool': false,
        'log.array': [1, 2, 3], 'log.map': { inner: 'x', deeper: { n: i } },
        'log.bytes': new Uint8Array([9, 8, 7]),
      },
      timestamp: Date.now(),
    };
    if (i % 2 === 0) rec.context = spanCtx;
    if (i % 4 === 0) rec.eventName = 'e2e.event';
    logger.emit(rec);
  }
  span.end();

  // Shutdown flushes everything still queued and waits for the exports.
  await tp.shutdown();
  await mp.shutdown();
  await lp.shutdown();
}

// ---- Orasi's counters --------------------------------------------------------------------

function parseProm(text) {
  const out = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?$/);
    if (!m) throw new Error(`malformed /metrics line: ${raw}`);
    const labels = {};
    if (m[3]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
      let lm;
      while ((lm = re.exec(m[3]))) labels[lm[1]] = lm[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
    }
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

async function scrape(api) {
  const r = await fetch(`${api}/metrics`);
  if (r.status !== 200) throw new Error(`GET ${api}/metrics returned ${r.status}`);
  return parseProm(await r.text());
}

function sum(samples, name, want) {
  let s = 0;
  for (const x of samples) {
    if (x.name !== name) continue;
    if (Object.entries(want).every(([k, v]) => x.labels[k] === v)) s += x.value;
  }
  return s;
}

function counters(samples, protoLabel) {
  const c = {};
  for (const sig of SIGNALS) {
    const w = { signal: sig, protocol: protoLabel };
    c[sig] = {
      accepted: sum(samples, 'orasi_otlp_accepted_items_total', w),
      refused: sum(samples, 'orasi_otlp_refused_items_total', w),
      requests: sum(samples, 'orasi_otlp_requests_total', w),
    };
  }
  return c;
}

// ---- modes -------------------------------------------------------------------------------

async function send(args) {
  const cfg = {
    grpc: args.grpc, http: args.http, api: args.api,
    protocols: (args.protocols || 'http/protobuf,http/json,grpc').split(','),
    gzip: (args.gzip || 'http/protobuf').split(','),
    spans: Number(args.spans || 100),
    logs: Number(args.logs || 100),
  };
  if (!cfg.grpc || !cfg.http || !cfg.api) throw new Error('send needs --grpc, --http and --api');
  const problems = [];
  for (const protocol of cfg.protocols) {
    const label = PROTO_LABEL[protocol];
    if (!label) throw new Error(`unknown protocol ${protocol}`);
    const before = counters(await scrape(cfg.api), label);
    const ex = makeExporters(protocol, cfg);
    const t0 = Date.now();
    await workload(ex, cfg, protocol);
    log(`${protocol}${cfg.gzip.includes(protocol) ? ' (gzip)' : ''}: sent ` +
        SIGNALS.map((s) => `${ex[s].sent} ${s} items in ${ex[s].exports} exports`).join(', ') +
        ` in ${Date.now() - t0} ms`);
    for (const s of SIGNALS) {
      const e = ex[s];
      for (const f of e.failures) problems.push(f);
      if (e.pending) problems.push(`${protocol} ${s}: ${e.pending} exports never called back`);
      if (e.sent === 0) problems.push(`${protocol} ${s}: the SDK exported nothing`);
      if (e.succeeded !== e.sent) problems.push(`${protocol} ${s}: only ${e.succeeded} of ${e.sent} items reported SUCCESS`);
    }
    // Orasi counts before it answers, but allow a short delay for counters updated after.
    let after, delta;
    for (let i = 0; i < 50; i++) {
      after = counters(await scrape(cfg.api), label);
      delta = Object.fromEntries(SIGNALS.map((s) => [s, {
        accepted: after[s].accepted - before[s].accepted,
        refused: after[s].refused - before[s].refused,
        requests: after[s].requests - before[s].requests,
      }]));
      if (SIGNALS.every((s) => delta[s].accepted >= ex[s].sent)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const s of SIGNALS) {
      const d = delta[s];
      const tagS = `${protocol} ${s} (protocol="${label}")`;
      if (d.accepted !== ex[s].sent)
        problems.push(`${tagS}: orasi_otlp_accepted_items_total grew by ${d.accepted}, the SDK exported ${ex[s].sent}`);
      else log(`ok ${tagS}: accepted ${d.accepted} = exported ${ex[s].sent}`);
      if (d.refused !== 0) problems.push(`${tagS}: orasi_otlp_refused_items_total grew by ${d.refused}, expected 0`);
      // Each non-empty export is one request when nothing fails (no retries).
      if (d.requests < ex[s].exports)
        problems.push(`${tagS}: orasi_otlp_requests_total grew by ${d.requests}, the SDK made ${ex[s].exports} non-empty exports`);
    }
  }
  if (problems.length) {
    for (const p of problems) log(`MISMATCH ${p}`);
    log(`${problems.length} problem(s)`);
    return 1;
  }
  log('every export succeeded and every count matched');
  return 0;
}

// A local HTTP server that stores what the SDK sends; answers like an OTLP receiver would.
async function capture(args) {
  const outPb = args['out-pb'];
  const outJson = args['out-json'];
  if (!outPb || !outJson) throw new Error('capture needs --out-pb and --out-json');
  const bodies = [];
  const srv = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = zlib.gunzipSync(body);
      bodies.push({ path: req.url, type: req.headers['content-type'] || '', body });
      const json = (req.headers['content-type'] || '').startsWith('application/json');
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
      res.end(json ? '{}' : '');
    });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${srv.address().port}`;
  const cfg = { http: base, grpc: 'http://127.0.0.1:1', gzip: [], spans: Number(args.spans || 3), logs: Number(args.logs || 7) };
  for (const protocol of ['http/protobuf', 'http/json']) {
    const ex = makeExporters(protocol, cfg);
    await workload(ex, cfg, protocol);
  }
  srv.close();
  fs.mkdirSync(outPb, { recursive: true });
  fs.mkdirSync(outJson, { recursive: true });
  const seen = new Set();
  for (const b of bodies) {
    const sig = b.path.replace(/^\/v1\//, '');
    const json = b.type.startsWith('application/json');
    const key = `${sig}-${json}`;
    // Keep the first body of each signal and encoding; metrics: the largest one (most kinds).
    const file = path.join(json ? outJson : outPb, `sdk-${sig}.${json ? 'json' : 'bin'}`);
    if (seen.has(key) && !(sig === 'metrics' && b.body.length > fs.statSync(file).size)) continue;
    seen.add(key);
    fs.writeFileSync(file, b.body);
    log(`saved ${file} (${b.body.length} bytes)`);
  }
  return 0;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (process.env.OTEL_E2E_DEBUG) diag.setLogger({ error: console.error, warn: console.error, info: console.error, debug: console.error, verbose: console.error }, DiagLogLevel.DEBUG);
  const mode = args._[0];
  if (mode === 'send') return send(args);
  if (mode === 'capture') return capture(args);
  log('usage: otel_send.mjs send|capture …  (see the comment at the top of the file)');
  return 2;
}

main().then((code) => process.exit(code), (err) => {
  log(`error: ${err.stack || err}`);
  process.exit(1);
});
