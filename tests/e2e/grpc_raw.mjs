// grpc_raw.mjs — unary gRPC calls with raw message bodies, using @grpc/grpc-js (pinned).
//
//   node grpc_raw.mjs HOST:PORT METHOD_PATH [--health URL] NAME=FILE[+gzip] ...
//
// Each body is sent as-is (identity serializer), so hostile protobuf reaches the server
// exactly as written; "+gzip" makes grpc-js compress that message (grpc-encoding: gzip).
// Calls run one after another in one process (starting node per call costs ~1 s on a busy
// CI machine). For each call one JSON line goes to stdout:
//   {"name": ..., "code": <grpc status>, "details": "...", "response_hex": "...",
//    "health": <HTTP status of GET URL right after the call, when --health is given>}
// A call with no answer within 10 s gets "code": "timeout". Exit status 0 unless the
// arguments are wrong; the caller asserts the codes.
import fs from 'node:fs';
import grpc from '@grpc/grpc-js';

const argv = process.argv.slice(2);
const [target, method] = argv;
let health = null;
const calls = [];
for (let i = 2; i < argv.length; i++) {
  if (argv[i] === '--health') { health = argv[++i]; continue; }
  const m = argv[i].match(/^([^=]+)=(.+?)(\+gzip)?$/);
  if (!m) { calls.length = 0; break; }
  calls.push({ name: m[1], file: m[2], gzip: !!m[3] });
}
if (!target || !method || calls.length === 0) {
  process.stderr.write('usage: grpc_raw.mjs HOST:PORT METHOD_PATH [--health URL] NAME=FILE[+gzip] ...\n');
  process.exit(2);
}

function call(client, body) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ code: 'timeout', details: 'no answer within 10 s' }), 10500);
    client.makeUnaryRequest(method, (b) => b, (b) => b, body, new grpc.Metadata(),
      { deadline: new Date(Date.now() + 10000) }, (err, resp) => {
        clearTimeout(timer);
        resolve(err ? { code: err.code, details: err.details ?? '' }
          : { code: 0, details: '', response_hex: Buffer.from(resp ?? []).toString('hex') });
      });
  });
}

const plain = new grpc.Client(target, grpc.credentials.createInsecure());
const gzip = new grpc.Client(target, grpc.credentials.createInsecure(),
  { 'grpc.default_compression_algorithm': 2 /* gzip */ });
for (const c of calls) {
  const out = { name: c.name, ...(await call(c.gzip ? gzip : plain, fs.readFileSync(c.file))) };
  if (health) {
    try {
      out.health = (await fetch(health, { signal: AbortSignal.timeout(5000) })).status;
    } catch (e) {
      out.health = `error: ${e.message}`;
    }
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}
plain.close();
gzip.close();
process.exit(0);
