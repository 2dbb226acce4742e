// lake_read.mjs — e2e helper: read lake traces files with hyparquet (an independent
// Parquet reader, with hyparquet-compressors for ZSTD) and print one canonical line per
// row, the same text lake_crash.sh asks DuckDB for, so the two can be compared with diff:
//   TraceId SpanId ParentSpanId SpanName SpanKind ServiceName StatusCode Duration
//   epoch-ms(Timestamp) sorted "k=v;..." of SpanAttributes, #events, service.name resource attr
// usage: node lake_read.mjs FILE...
import { parquetReadObjects, asyncBufferFromFile } from 'hyparquet'
import { compressors } from 'hyparquet-compressors'

const attrs = (m) => Object.entries(m ?? {}).map(([k, v]) => `${k}=${v}`).sort().join(';')

for (const path of process.argv.slice(2)) {
  const file = await asyncBufferFromFile(path)
  const rows = await parquetReadObjects({ file, compressors })
  for (const r of rows) {
    const line = [
      r.TraceId, r.SpanId, r.ParentSpanId, r.SpanName, r.SpanKind, r.ServiceName, r.StatusCode,
      String(r.Duration), String(r.Timestamp.getTime()), attrs(r.SpanAttributes),
      String(r['Events.Name'].length), (r.ResourceAttributes ?? {})['service.name'] ?? '',
    ]
    process.stdout.write(line.join('\t') + '\n')
  }
}
