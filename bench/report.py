#!/usr/bin/env python3
"""bench/report.py — helpers of bench/run: parse tool output, render bench/RESULTS.md.

  report.py parse-wrk FILE           wrk --latency output -> one JSON object on stdout
  report.py parse-decode FILE        `orasi bench-decode` output -> JSON
  report.py field FILE KEY.PATH      a value from a JSON file (loadgen --json summaries)
  report.py render RESULTS.jsonl OUT write the Markdown report

bench/run appends one JSON object per measurement to RESULTS.jsonl; every figure in the
report is computed here from those records (median, min-max over repetitions), so the
report never shows a number that was not measured in this run.
"""
import json
import re
import statistics
import sys


def parse_duration_ms(text):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text.strip())
    if not m:
        raise ValueError("bad wrk duration %r" % text)
    v, unit = float(m.group(1)), m.group(2)
    return v * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}[unit]


def parse_wrk(path):
    out = {"rps": None, "p99_ms": None, "p50_ms": None, "non2xx": 0, "sock_errors": 0,
           "requests": None}
    for line in open(path, encoding="utf-8", errors="replace"):
        s = line.strip()
        if s.startswith("Requests/sec:"):
            out["rps"] = float(s.split()[1])
        elif re.match(r"^99%\s", s):
            out["p99_ms"] = parse_duration_ms(s.split()[1])
        elif re.match(r"^50%\s", s):
            out["p50_ms"] = parse_duration_ms(s.split()[1])
        elif s.startswith("Non-2xx or 3xx responses:"):
            out["non2xx"] = int(s.split(":")[1])
        elif s.startswith("Socket errors:"):
            out["sock_errors"] = sum(int(x) for x in re.findall(r"\d+", s))
        else:
            m = re.match(r"^(\d+) requests in", s)
            if m:
                out["requests"] = int(m.group(1))
    if out["rps"] is None or out["p99_ms"] is None:
        raise SystemExit("wrk output %s has no Requests/sec or 99%% line" % path)
    return out


def parse_decode(path):
    out = {}
    for line in open(path, encoding="utf-8", errors="replace"):
        m = re.match(r"^\s*(decode|scan):\s*([0-9.]+)\s*MB/s,\s*([0-9.]+)\s*spans/s", line)
        if m:
            out[m.group(1) + "_mbs"] = float(m.group(2))
            out[m.group(1) + "_sps"] = float(m.group(3))
    if "decode_mbs" not in out:
        raise SystemExit("bench-decode output %s has no 'decode: X MB/s, Y spans/s' line" % path)
    return out


def field(path, key):
    v = json.load(open(path))
    for k in key.split("."):
        v = v[k]
    return v


# ------------------------------------------------------------------------------ render --

def spread(vals, fmt):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "n/a"
    med = statistics.median(vals)
    if len(vals) == 1:
        return fmt(med)
    return "%s (%s–%s)" % (fmt(med), fmt(min(vals)), fmt(max(vals)))


def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def f0(v):
    return "{:,.0f}".format(v)


def f1(v):
    return "{:,.1f}".format(v)


def f2(v):
    return "{:.2f}".format(v)


def f3(v):
    return "{:.3f}".format(v)


def status(ok):
    if ok is None:
        return "not measured"
    return "**met**" if ok else "**not met**"


def by_batch(recs):
    """(spans per request, its records) for each request size of the lake scenario, in
    increasing size (records of older runs, without a batch field, are 100 spans)."""
    sizes = sorted({r.get("batch", 100) for r in recs})
    return [(b, [r for r in recs if r.get("batch", 100) == b]) for b in sizes]


def render(jsonl, out):
    recs = [json.loads(l) for l in open(jsonl) if l.strip()]
    meta = next((r for r in recs if r["s"] == "meta"), {})
    notes = [r["text"] for r in recs if r["s"] == "note"]
    failures = [r["text"] for r in recs if r["s"] == "failure"]
    http = [r for r in recs if r["s"] == "http"]
    ingest = [r for r in recs if r["s"] == "ingest"]
    decode = [r for r in recs if r["s"] == "decode"]
    lake = [r for r in recs if r["s"] == "lake"]
    # The lake goal is judged at loadgen's default of 100 spans per request (the strictest
    # size measured); the OpenTelemetry SDKs' default export batch (512) and agent-sized
    # batches (4096) are reported next to it with their own status.
    judged = 100 if any(r.get("batch", 100) == 100 for r in lake) else min(
        (r.get("batch", 100) for r in lake), default=100)
    lake_main = [r for r in lake if r.get("batch", 100) == judged] or lake
    end = next((r for r in recs if r["s"] == "end"), {})
    L = []
    w = L.append
    w("# Benchmark results")
    w("")
    w("Written by `make bench` (`bench/run`, see `docs/internals/bench.md`) — do not edit by hand.")
    w("")
    if failures:
        w("> **THIS RUN FAILED:** " + " / ".join(failures))
        w("")
    w("## Machine and method")
    w("")
    w("| | |")
    w("|---|---|")
    for k, label in (("date", "date (UTC)"), ("commit", "git commit"), ("build", "build"), ("cpu", "CPU model"),
                     ("nproc", "cores (nproc)"), ("mem", "memory"), ("kernel", "kernel (uname -r)"),
                     ("pinning", "pinning"), ("load_start", "load average at start"),
                     ("method", "method")):
        if k in meta:
            w("| %s | %s |" % (label, meta[k]))
    if "load_end" in end:
        w("| load average at end | %s |" % end["load_end"])
    if "elapsed_s" in end:
        w("| harness run time | %.0f s |" % end["elapsed_s"])
    w("")
    w("Figures are medians over the repetitions with the spread (min–max) in parentheses. "
      "Rates count only acknowledged work (2xx responses for the HTTP ceiling, acknowledged "
      "spans for ingest); a run with any error is flagged in its table.")
    w("")
    for n in notes:
        w("- " + n)
    if notes:
        w("")

    # ---- headline ----
    w("## Headline")
    w("")
    w("| scenario | figure | goal | status |")
    w("|---|---|---|---|")
    o_rps = [r["rps"] for r in http if r["target"] == "orasi"]
    n_rps = [r["rps"] for r in http if r["target"] == "nginx-read"]
    ratios = [r["ratio"] for r in http if r["target"] == "ratio-read" and r["ratio"] > 0]
    if ratios:
        # paired: each ratio compares two measurements taken back to back in one
        # repetition, so drift of a shared machine cancels better than across medians
        rm = med(ratios)
        w("| HTTP ceiling: Orasi req/s ÷ nginx req/s (38 KB POST, 1 core each), median of per-repetition ratios | %s | ≥ 1.00 | %s |"
          % (spread(ratios, f2), status(rm >= 1.0)))
    else:
        w("| HTTP ceiling: Orasi ÷ nginx | n/a | ≥ 1.00 | %s |" % status(None))
    ip = [r for r in ingest if r["target"] == "orasi" and r["proto"] == "http/protobuf"]
    if ip:
        v = med([r["spans_per_cpu_s"] for r in ip])
        w("| Ingest, OTLP HTTP/protobuf: spans/s per server CPU-second | %s | ≥ 1,000,000 | %s |"
          % (spread([r["spans_per_cpu_s"] for r in ip], f0), status(v >= 1e6)))
    else:
        w("| Ingest, OTLP HTTP/protobuf | n/a | ≥ 1,000,000 | %s |" % status(None))
    if lake:
        v = med([r["spans_per_cpu_s"] for r in lake_main])
        w("| Ingest into Parquet (WAL fsync), %d spans per request: spans per server CPU-second, first byte to last row published | %s | ≥ 500,000 | %s |"
          % (judged, spread([r["spans_per_cpu_s"] for r in lake_main], f0), status(v >= 5e5)))
        for b, rb in by_batch(lake):
            if b == judged:
                continue
            vb = med([r["spans_per_cpu_s"] for r in rb])
            why = {512: "the OpenTelemetry SDKs' default export batch",
                   4096: "the size of the batches Orasi's agent and the Collector's batch processor send"}
            w("| the same with %d spans per request (%s) | %s | ≥ 500,000 | %s |"
              % (b, why.get(b, "another request size"), spread([r["spans_per_cpu_s"] for r in rb], f0),
                 status(vb >= 5e5)))
        ratio = [r["req_bytes_per_span"] / r["pq_bytes_per_span"] for r in lake_main if r["pq_bytes_per_span"] > 0]
        if ratio:
            w("| On disk: OTLP protobuf request bytes per span ÷ Parquet bytes per span | %s | ≥ 10 | %s |"
              % (spread(ratio, f1), status(med(ratio) >= 10)))
        synced = [r for r in lake_main if r.get("fsyncs", 0) > 0]
        if synced:
            w("| WAL fsync latency under that load (one fdatasync per group commit): p50 / p99 ms | %s / %s | reported | — |"
              % (spread([r["fsync_p50_ms"] for r in synced], f2),
                 spread([r["fsync_p99_ms"] for r in synced], f2)))
    if decode:
        v = med([r["decode_mbs"] for r in decode])
        w("| Decoder: protobuf decode MB/s on one core | %s | ≥ 1,000 | %s |"
          % (spread([r["decode_mbs"] for r in decode], f0), status(v >= 1000)))
    else:
        w("| Decoder MB/s | n/a | ≥ 1,000 | %s |" % status(None))
    w("")

    # ---- 1. HTTP ceiling ----
    w("## 1. HTTP ceiling: 38 KB POST to a no-op route")
    w("")
    w("Orasi `POST /bench/discard` (API port, `--workers 1 --bench-routes`) and nginx "
      "(`worker_processes 1`, `bench/nginx.conf.in`) pinned to the same single core; `wrk` "
      "with `bench/post.lua` pinned to the other core. %s" % meta.get("http_method", ""))
    w("")
    w("| server | requests/s | p99 latency (ms) | p50 latency (ms) | errors |")
    w("|---|---|---|---|---|")
    for tgt, label in (("orasi", "Orasi /bench/discard"),
                       ("nginx-read", "nginx, body read (mirror) — reference"),
                       ("nginx-discard", "nginx, `return 204` (body discarded unread)")):
        rs = [r for r in http if r["target"] == tgt]
        if not rs:
            continue
        errs = sum(r["non2xx"] + r["sock_errors"] for r in rs)
        w("| %s | %s | %s | %s | %s |" % (label, spread([r["rps"] for r in rs], f0),
                                          spread([r["p99_ms"] for r in rs], f2),
                                          spread([r.get("p50_ms") for r in rs], f3),
                                          "none" if errs == 0 else "**%d non-2xx/socket errors**" % errs))
    if o_rps and n_rps:
        rd = [r["ratio"] for r in http if r["target"] == "ratio-discard"]
        w("")
        w("Ratio Orasi ÷ nginx (body read), per repetition: **%s**; ratio of the medians: %s. "
          "Against `return 204`, per repetition: %s." % (spread(ratios, f2),
                                                          f2(med(o_rps) / med(n_rps)),
                                                          spread(rd, f2)))
    w("")

    # ---- 2. ingest ----
    w("## 2. OTLP ingest to the counting sink")
    w("")
    w("`orasi loadgen --rate max --batch 100` (traces, %s) pinned to one core against a "
      "receiver pinned to the other (`orasi run --workers 1%s`). Server CPU from "
      "/proc/<pid>/stat (utime+stime) over the measured interval; peak RSS is VmHWM of the "
      "server process at the end of its runs." % (meta.get("ingest_conns", ""),
                                                  meta.get("ingest_args", "")))
    w("")
    w("| receiver | protocol | spans/s per server CPU-second | acked spans/s (wall) | server CPU | p99 latency (ms) | peak RSS (MiB) | errors |")
    w("|---|---|---|---|---|---|---|---|")
    seen = []
    for r in ingest:
        key = (r["target"], r["proto"])
        if key not in seen:
            seen.append(key)
    for tgt, proto in seen:
        rs = [r for r in ingest if r["target"] == tgt and r["proto"] == proto]
        errs = sum(r["failed"] + r["conn_errors"] + r["timeouts"] for r in rs)
        hwm = max(r.get("hwm_kb") or 0 for r in rs)
        w("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            tgt, proto, spread([r["spans_per_cpu_s"] for r in rs], f0),
            spread([r["spans_per_s"] for r in rs], f0),
            spread([r["cpu_util"] * 100 for r in rs], lambda v: "%.0f %%" % v),
            spread([r["p99_ms"] for r in rs], f2), f1(hwm / 1024.0) if hwm else "n/a",
            "none" if errs == 0 else "**%d failed requests**" % errs))
    base = {r["proto"]: med([x["spans_per_cpu_s"] for x in ingest
                              if x["target"] == "orasi" and x["proto"] == r["proto"]])
            for r in ingest}
    peers = [(t, p) for t, p in seen if t != "orasi" and base.get(p)]
    if peers:
        w("")
        for t, p in peers:
            v = med([r["spans_per_cpu_s"] for r in ingest if r["target"] == t and r["proto"] == p])
            w("- Orasi ÷ %s (%s), spans per CPU-second: **%s**" % (t, p, f2(base[p] / v) if v else "n/a"))
    w("")

    # ---- 3. decode ----
    w("## 3. Decoder micro-benchmark")
    w("")
    w("`orasi bench-decode` (realistic 100-span request, full decode into the model and "
      "validate-only scan), pinned to one core.")
    w("")
    if decode:
        w("| operation | MB/s | spans/s |")
        w("|---|---|---|")
        for op in ("decode", "scan"):
            if op + "_mbs" in decode[0]:
                w("| %s | %s | %s |" % (op, spread([r[op + "_mbs"] for r in decode], f0),
                                        spread([r[op + "_sps"] for r in decode], f0)))
    else:
        w("not measured")
    w("")
    # ---- 4. lake ----
    w("## 4. OTLP ingest into the Parquet lake")
    w("")
    w("`orasi run --workers 1` with the default lake sink (WAL with `fsync`, columnar buffers, "
      "ZSTD Parquet, SQLite catalog), a fresh server per repetition; `orasi loadgen --rate max` "
      "over HTTP/protobuf for the measured interval (after a warm-up load of at least 5 s has "
      "been published, so that the server runs as it does when it has been up a while), then "
      "the server's CPU is read once every "
      "buffered row is published (`orasi_lake_rows_buffered` = 0), so the figure covers the "
      "whole path to Parquet. Bytes per span: HTTP request bytes sent (protobuf bodies plus "
      "headers) ÷ spans sent, next to Parquet bytes on disk ÷ rows published. Request "
      "sizes: loadgen's default of 100 spans (the goal is judged on it, the strictest: "
      "per-request costs — HTTP, WAL record, group commit, thread hand-offs — weigh five "
      "times more per span than at 512); 512, the OpenTelemetry SDKs' default export batch; "
      "4096, the size of the batches Orasi's agent and the Collector's batch processor send "
      "(up to 8192 items or 2 MiB). The spans' content is loadgen's "
      "(docs/internals/loadgen.md): ids, start times and durations are fresh in every request.")
    w("")
    if lake:
        errs = sum(r["failed"] for r in lake)
        w("| spans per request | spans/s per server CPU-second | spans acked per run | request bytes/span | Parquet bytes/span | ratio | errors |")
        w("|---|---|---|---|---|---|---|")
        for b, rb in by_batch(lake):
            eb = sum(r["failed"] for r in rb)
            w("| %d | %s | %s | %s | %s | %s | %s |" % (
                b, spread([r["spans_per_cpu_s"] for r in rb], f0), spread([r["spans"] for r in rb], f0),
                spread([r["req_bytes_per_span"] for r in rb], f1),
                spread([r["pq_bytes_per_span"] for r in rb], f1),
                spread([r["req_bytes_per_span"] / r["pq_bytes_per_span"] for r in rb
                        if r["pq_bytes_per_span"] > 0], f1),
                "none" if eb == 0 else "**%d failed requests** (backpressure 429/503 counts here)" % eb))
        staged = [r for r in lake if r.get("flush_cpu_s", 0) > 0]
        if staged:
            w("")
            w("Where the server's CPU goes, per stage (threads named `http-*`: receive and decode; "
              "`wal`: write-ahead log with fsync, then flattening into the column buffers; "
              "`lake-flush`: row grouping, Parquet encoding with ZSTD, fsync, catalog), as spans per "
              "CPU-second of that stage alone and its share of the server's CPU:")
            w("")
            w("| spans per request | stage | spans per stage CPU-second | share of server CPU |")
            w("|---|---|---|---|")
            for b, sb in by_batch(staged):
                for key, name in (("http_cpu_s", "receive + decode (`http-*`)"),
                                  ("wal_cpu_s", "WAL + column buffers (`wal`)"),
                                  ("flush_cpu_s", "Parquet writer (`lake-flush`)")):
                    w("| %d | %s | %s | %s |" % (
                        b, name,
                        spread([r["spans"] / r[key] for r in sb if r.get(key, 0) > 0], f0),
                        spread([100 * r[key] / r["cpu_s"] for r in sb if r["cpu_s"] > 0],
                               lambda v: "%.0f %%" % v)))
        synced = [r for r in lake if r.get("fsyncs", 0) > 0]
        if synced:
            w("")
            w("WAL fsync latency during the measured interval (`orasi_wal_fsync_seconds`, one "
              "`fdatasync` per group commit; quantiles interpolated in the histogram's buckets "
              "as Prometheus' `histogram_quantile` does; ext4 on the VM's virtio disk):")
            w("")
            w("| spans per request | fsyncs per second | requests per fsync (group commit) | mean | p50 | p99 |")
            w("|---|---|---|---|---|---|")
            for b, yb in by_batch(synced):
                w("| %d | %s | %s | %s ms | %s ms | %s ms |" % (
                    b, spread([r["fsyncs"] / r["dur_s"] for r in yb if r.get("dur_s")], f0),
                    spread([r["appends_per_fsync"] for r in yb], f1),
                    spread([r["fsync_mean_ms"] for r in yb], f2),
                    spread([r["fsync_p50_ms"] for r in yb], f2),
                    spread([r["fsync_p99_ms"] for r in yb], f2)))
    else:
        w("not measured")
    w("")
    open(out, "w").write("\n".join(L))


def fsync_stats(before, after):
    """WAL fdatasync latency over an interval, from two /metrics snapshots: fsyncs,
    appends per fsync, mean, and p50/p99 interpolated in the histogram's buckets as
    Prometheus' histogram_quantile does (ms)."""
    def load(path):
        b, s, c, a = {}, 0.0, 0.0, 0.0
        for line in open(path):
            if line.startswith("orasi_wal_fsync_seconds_bucket"):
                le = line.split('le="', 1)[1].split('"', 1)[0]
                b[float("inf") if le == "+Inf" else float(le)] = b.get(
                    float("inf") if le == "+Inf" else float(le), 0.0) + float(line.split()[-1])
            elif line.startswith("orasi_wal_fsync_seconds_sum"):
                s += float(line.split()[-1])
            elif line.startswith("orasi_wal_fsync_seconds_count"):
                c += float(line.split()[-1])
            elif line.startswith("orasi_wal_appends_total"):
                a += float(line.split()[-1])
        return b, s, c, a
    b0, s0, c0, a0 = load(before)
    b1, s1, c1, a1 = load(after)
    n = c1 - c0
    out = {"fsyncs": n, "appends": a1 - a0}
    if n <= 0:
        return out
    les = sorted(b1)
    cum = [b1[le] - b0.get(le, 0.0) for le in les]

    def q(p):
        rank, prev_le, prev_c = p * n, 0.0, 0.0
        for le, c in zip(les, cum):
            if c >= rank:
                if le == float("inf"):
                    return prev_le * 1000
                return 1000 * (prev_le + (le - prev_le) * (rank - prev_c) / max(c - prev_c, 1e-9))
            prev_le, prev_c = le, c
        return prev_le * 1000
    out.update(mean_ms=1000 * (s1 - s0) / n, p50_ms=q(0.5), p99_ms=q(0.99),
               appends_per_fsync=(a1 - a0) / n)
    return out


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    cmd = sys.argv[1]
    if cmd == "parse-wrk":
        print(json.dumps(parse_wrk(sys.argv[2])))
    elif cmd == "parse-decode":
        print(json.dumps(parse_decode(sys.argv[2])))
    elif cmd == "fsync-stats":
        print(json.dumps(fsync_stats(sys.argv[2], sys.argv[3])))
    elif cmd == "field":
        print(field(sys.argv[2], sys.argv[3]))
    elif cmd == "render":
        render(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
