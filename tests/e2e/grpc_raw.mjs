// grpc_raw.mjs — one unary gRPC call with a raw message body, using @grpc/grpc-js (pinned).
//
//   node grpc_raw.mjs HOST:PORT METHOD_PATH BODY_FILE [--gzip]
//
// The body is sent as-is (identity serializer), so hostile protobuf reaches the server
// exactly as written. Prints one JSON line: {"code": <grpc status>, "details": "...",
// "response_hex": "..."} and exits 0 whenever the call completed with any status (the
// caller asserts the code); exits 1 if no status arrived within 10 s.
import fs from 'node:fs';
import grpc from '@grpc/grpc-js';

const [target, method, file, ...rest] = process.argv.slice(2);
if (!target || !method || !file) {
  process.stderr.write('usage: grpc_raw.mjs HOST:PORT METHOD_PATH BODY_FILE [--gzip]\n');
  process.exit(2);
}
const options = {};
if (rest.includes('--gzip')) options['grpc.default_compression_algorithm'] = 2; // gzip
const body = fs.readFileSync(file);
const client = new grpc.Client(target, grpc.credentials.createInsecure(), options);
const deadline = new Date(Date.now() + 10000);
const timer = setTimeout(() => {
  process.stderr.write('grpc_raw: no answer within 10 s\n');
  process.exit(1);
}, 11000);
client.makeUnaryRequest(method, (b) => b, (b) => b, body, new grpc.Metadata(), { deadline },
  (err, resp) => {
    clearTimeout(timer);
    const out = err
      ? { code: err.code, details: err.details ?? '' }
      : { code: 0, details: '', response_hex: Buffer.from(resp ?? []).toString('hex') };
    process.stdout.write(JSON.stringify(out) + '\n');
    client.close();
    process.exit(0);
  });
