#!/usr/bin/env python3
"""bodies.py — hand-built OTLP request bodies (valid and hostile) for the e2e tests.

  bodies.py make KIND OUT     write one body to OUT; KIND is one of:
      valid-traces      ExportTraceServiceRequest with 2 good spans
      truncated         a valid request cut inside a length-delimited field
      wrong-wire-top    resource_spans (field 1) sent as a varint instead of bytes
      wrong-wire-span   a span whose name (field 5) is a varint
      len-2g            resource_spans with a length prefix of 2^31 and 16 bytes after it
      nested-100        2 spans; one has an attribute that is an array nested 100 deep
      bad-utf8          2 spans; one has a name with invalid UTF-8
      broken-json       an OTLP/JSON traces body cut in the middle
      json-bad-id       OTLP/JSON with 2 spans; one has a 15-byte traceId
  bodies.py gzip-bomb OUT MIB [CHUNK]  gzip stream that inflates to MIB MiB of zeros (built
                                  without compressing it all; ~1 KiB compressed per MiB)
  bodies.py partial SIGNAL FILE   decode an Export*ServiceResponse (protobuf) and print
                                  "<rejected> <error_message>" (0 and "" if absent)

The wire format is written by hand here on purpose: the tests must not trust Orasi's own
encoder to build what Orasi's decoder is checked against.
"""
import os
import struct
import sys
import zlib


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def tag(field, wire):
    return varint(field << 3 | wire)


def ld(field, payload):
    """Length-delimited field."""
    return tag(field, 2) + varint(len(payload)) + payload


def fixed64(field, v):
    return tag(field, 1) + struct.pack("<Q", v)


def string_value(s):
    return ld(1, s)  # AnyValue.string_value


def kv(key, anyvalue):
    return ld(1, key) + ld(2, anyvalue)


T0 = 1_700_000_000_000_000_000


def span(i, name=b"span", attrs=b""):
    trace_id = bytes([0x11] * 15 + [i + 1])
    span_id = bytes([0x22] * 7 + [i + 1])
    return (ld(1, trace_id) + ld(2, span_id) + ld(5, name) + tag(6, 0) + varint(2)
            + fixed64(7, T0 + i * 1000) + fixed64(8, T0 + i * 1000 + 500) + attrs)


def traces_request(spans):
    resource = ld(1, kv(b"service.name", string_value(b"e2e-hostile")))
    scope = ld(1, ld(1, b"e2e-scope") + ld(2, b"1.0"))  # ScopeSpans.scope = InstrumentationScope{name, version}
    scope_spans = scope + b"".join(ld(2, s) for s in spans)
    resource_spans = ld(1, resource) + ld(2, scope_spans)
    return ld(1, resource_spans)


def nested_anyvalue(depth):
    """AnyValue{array_value: ArrayValue{values: [AnyValue{...}]}} `depth` levels deep,
    innermost a string. Built inside out, without recursion."""
    v = string_value(b"bottom")
    for _ in range(depth):
        v = ld(5, ld(1, v))  # AnyValue.array_value(5) -> ArrayValue.values(1)
    return v


def make(kind):
    good = traces_request([span(0, b"good-0"), span(1, b"good-1")])
    if kind == "valid-traces":
        return good
    if kind == "truncated":
        # Cut 7 bytes off: the outer resource_spans length now points past the end.
        return good[:-7]
    if kind == "wrong-wire-top":
        return tag(1, 0) + varint(12345)
    if kind == "wrong-wire-span":
        bad = span(0) + tag(5, 0) + varint(7)
        return traces_request([bad])
    if kind == "len-2g":
        return tag(1, 2) + varint(1 << 31) + b"\x00" * 16
    if kind == "nested-100":
        attr = ld(9, kv(b"deep", nested_anyvalue(100)))
        return traces_request([span(0, b"ok-span"), span(1, b"deep-span", attr)])
    if kind == "bad-utf8":
        return traces_request([span(0, b"ok-span"), span(1, b"bad \xff\xfe\xc3 name")])
    if kind == "broken-json":
        return b'{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"x"}}]},"scopeSpans":[{"spans":[{"traceId":"'
    if kind == "json-bad-id":
        def js(tid, sid, name):
            return ('{"traceId":"%s","spanId":"%s","name":"%s","kind":2,'
                    '"startTimeUnixNano":"%d","endTimeUnixNano":"%d"}' % (tid, sid, name, T0, T0 + 500))
        spans = ",".join([js("11" * 16, "22" * 8, "good"), js("11" * 15, "22" * 8, "short-trace-id")])
        return ('{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":'
                '{"stringValue":"e2e-hostile"}}]},"scopeSpans":[{"scope":{"name":"s"},"spans":[%s]}]}]}'
                % spans).encode()
    raise SystemExit("unknown kind " + kind)


def gzip_bomb(out, mib, chunk=64 << 20):
    """Stream `mib` MiB of zeros as one gzip member without holding it in memory or
    compressing gigabytes: after a full flush the deflate state is reset, so compressing
    the next chunk of zeros gives the same bytes every time; that block is compressed once
    and repeated. The trailer (CRC-32 and length mod 2^32 of the whole input) is computed."""
    zero = bytes(chunk)
    total = mib << 20
    n = total // chunk
    assert n >= 3 and n * chunk == total
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    head = c.compress(zero) + c.flush(zlib.Z_FULL_FLUSH)
    mid = c.compress(zero) + c.flush(zlib.Z_FULL_FLUSH)
    if c.compress(zero) + c.flush(zlib.Z_FULL_FLUSH) != mid:
        raise SystemExit("zlib output after a full flush is not repeatable")
    last = (c.compress(zero) + c.flush())[:-8]
    crc = 0
    for _ in range(n):
        crc = zlib.crc32(zero, crc)
    with open(out, "wb") as f:
        f.write(head)
        for _ in range(n - 2):
            f.write(mid)
        f.write(last)
        f.write(struct.pack("<II", crc, total & 0xFFFFFFFF))


def read_varint(b, i):
    shift = v = 0
    while True:
        x = b[i]
        i += 1
        v |= (x & 0x7F) << shift
        shift += 7
        if not x & 0x80:
            return v, i


def partial(path):
    """Export*ServiceResponse{partial_success(1){rejected(1) int64, error_message(2)}}."""
    b = open(path, "rb").read()
    rejected, msg, i = 0, b"", 0
    while i < len(b):
        t, i = read_varint(b, i)
        if t >> 3 == 1 and t & 7 == 2:
            n, i = read_varint(b, i)
            inner, i = b[i : i + n], i + n
            j = 0
            while j < len(inner):
                t2, j = read_varint(inner, j)
                if t2 == 1 << 3 | 0:
                    rejected, j = read_varint(inner, j)
                elif t2 == 2 << 3 | 2:
                    m, j = read_varint(inner, j)
                    msg, j = inner[j : j + m], j + m
                else:
                    raise SystemExit("unexpected field in partial_success: tag %d" % t2)
        else:
            raise SystemExit("unexpected field in response: tag %d" % t)
    print(rejected, msg.decode("utf-8", "replace").replace("\n", " "))


def main(argv):
    if len(argv) >= 4 and argv[1] == "make":
        data = make(argv[2])
        with open(argv[3], "wb") as f:
            f.write(data)
        return 0
    if len(argv) in (4, 5) and argv[1] == "gzip-bomb":
        # optional 4th argument: chunk size in bytes (small values for self-checks)
        gzip_bomb(argv[2], int(argv[3]), *(int(x) for x in argv[4:]))
        return 0
    if len(argv) == 4 and argv[1] == "partial":
        partial(argv[3])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
