// lake_read.mjs — e2e helper: read lake traces files with an independent Parquet reader
// and print one canonical line per row, the same text lake_crash.sh asks DuckDB for, so
// the two can be compared with diff:
//   TraceId SpanId ParentSpanId SpanName SpanKind ServiceName StatusCode Duration
//   epoch-ms(Timestamp) sorted "k=v;..." of SpanAttributes, #events, service.name resource attr
// Readers: hyparquet (JavaScript, with hyparquet-compressors for ZSTD; the default) or,
// with --arrow, parquet-wasm (the Rust `parquet` crate of arrow-rs, compiled to wasm)
// handing Arrow tables to apache-arrow.
// usage: node lake_read.mjs [--arrow] FILE...
import { readFileSync } from 'node:fs'
import { parquetReadObjects, asyncBufferFromFile } from 'hyparquet'
import { compressors } from 'hyparquet-compressors'
import { readParquet } from 'parquet-wasm'
import { tableFromIPC } from 'apache-arrow'

const attrs = (m) => Object.entries(m ?? {}).map(([k, v]) => `${k}=${v}`).sort().join(';')

// Rows as plain objects, whichever reader: maps as objects, lists as arrays, Duration as
// a bigint, Timestamp as a Date (hyparquet) or milliseconds (Arrow).
async function readRows (path, arrow) {
  if (!arrow) {
    const file = await asyncBufferFromFile(path)
    return parquetReadObjects({ file, compressors })
  }
  const t = tableFromIPC(readParquet(new Uint8Array(readFileSync(path))).intoIPCStream())
  // exact nanoseconds (the vector's get() rounds them to float milliseconds)
  const ns = []
  for (const d of t.getChild('Timestamp').data) {
    for (let k = 0; k < d.length; k++) ns.push(BigInt.asIntN(64, d.values[d.offset + k]))
  }
  const rows = []
  for (let i = 0; i < t.numRows; i++) {
    const r = t.get(i)
    rows.push({
      TraceId: r.TraceId, SpanId: r.SpanId, ParentSpanId: r.ParentSpanId, SpanName: r.SpanName,
      SpanKind: r.SpanKind, ServiceName: r.ServiceName, StatusCode: r.StatusCode,
      Duration: r.Duration, Timestamp: new Date(Number(ns[i] / 1000000n)),
      SpanAttributes: Object.fromEntries([...r.SpanAttributes]),
      'Events.Name': [...r['Events.Name']],
      ResourceAttributes: Object.fromEntries([...r.ResourceAttributes])
    })
  }
  return rows
}

const args = process.argv.slice(2)
const arrow = args[0] === '--arrow'
for (const path of arrow ? args.slice(1) : args) {
  const rows = await readRows(path, arrow)
  for (const r of rows) {
    const line = [
      r.TraceId, r.SpanId, r.ParentSpanId, r.SpanName, r.SpanKind, r.ServiceName, r.StatusCode,
      String(r.Duration), String(r.Timestamp.getTime()), attrs(r.SpanAttributes),
      String(r['Events.Name'].length), (r.ResourceAttributes ?? {})['service.name'] ?? '',
    ]
    process.stdout.write(line.join('\t') + '\n')
  }
}
