#!/usr/bin/env python3
"""bench/fwd_bench.py — forwarding benchmarks (agents, gateways, bridges; issue 6).

  1. agent forwarding rate with fsync durability: `orasi loadgen` (max rate, 1000-span
     requests) -> agent (queue.sync fsync) -> `orasi run --sink count`. Spans acknowledged
     per agent CPU-second (utime+stime from /proc) and the agent's peak RSS (VmHWM).
     With 2+ CPUs the agent is pinned to CPU 0 and the rest to the other CPUs.
  2. end-to-end latency, SDK -> queryable: examples/one-region (agent -> gateway -> two
     bridges), background load 2,000 spans/s; each probe is one OTLP/JSON span with a fresh
     trace id posted to the agent, then both bridges are asked (POST /v1/query) every 10 ms
     until the span is there.
  3. failover time: examples/two-regions (gateway-eu, bridge-eu, bridge-us) under load;
     kill -9 bridge-eu, time until bridge-us accepts its first item; restart and wait for
     failback between repetitions.

Writes the "## Forwarding" section of bench/RESULTS.md (replaced or appended).
Environment: ORASI_BIN (build-rel/orasi, else build/orasi), BENCH_OUT, BENCH_FWD_REPS (3),
BENCH_FWD_PROBES (100), BENCH_FWD_SECONDS (8).
"""
import json, os, re, shutil, signal, socket, statistics, subprocess, sys, tempfile, time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("ORASI_BIN") or next(
    (p for p in (f"{REPO}/build-rel/orasi", f"{REPO}/build/orasi") if os.path.exists(p)), None)
OUT = os.environ.get("BENCH_OUT", f"{REPO}/bench/RESULTS.md")
REPS = int(os.environ.get("BENCH_FWD_REPS", "3"))
PROBES = int(os.environ.get("BENCH_FWD_PROBES", "100"))
SECONDS = int(os.environ.get("BENCH_FWD_SECONDS", "8"))
NCPU = os.cpu_count() or 1
TMP = tempfile.mkdtemp(prefix="orasi-fwd-bench-")
PROCS = []


def ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    out = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return out


def start(name, args, env=None, cpus=None, api=None):
    cmd = [BIN] + args
    if cpus is not None and NCPU > 1 and shutil.which("taskset"):
        cmd = ["taskset", "-c", cpus] + cmd
    log = open(f"{TMP}/{name}.log", "ab")
    p = subprocess.Popen(cmd, stdout=log, stderr=log, env={**os.environ, **(env or {})})
    PROCS.append(p)
    if api:
        for _ in range(300):
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{api}/ready", timeout=1).status == 200:
                    break
            except Exception:
                time.sleep(0.05)
        else:
            sys.exit(f"{name} did not become ready (see {TMP}/{name}.log)")
    return p


def stop(p, sig=signal.SIGTERM):
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def metric(api, name, **labels):
    txt = urllib.request.urlopen(f"http://127.0.0.1:{api}/metrics", timeout=5).read().decode()
    total = 0.0
    for m in re.finditer(r'^' + re.escape(name) + r'(\{([^}]*)\})?\s+(\S+)', txt, re.M):
        ls = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        if all(ls.get(k) == v for k, v in labels.items()):
            total += float(m.group(3))
    return total


def cpu_seconds(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def hwm_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def loadgen(url, rate, seconds, batch, cpus, extra=()):
    cmd = [BIN, "loadgen", "--url", url, "--rate", str(rate), "--batch", str(batch),
           "--duration", f"{seconds}s", "--quiet", "--json", "--timeout", "30s", *extra]
    if cpus is not None and NCPU > 1 and shutil.which("taskset"):
        cmd = ["taskset", "-c", cpus] + cmd
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)


def med(v):
    return statistics.median(v) if v else float("nan")


# ---- 1. agent forwarding rate ------------------------------------------------------------

def bench_agent(validate="full"):
    rest = f"1-{NCPU - 1}" if NCPU > 1 else None
    rates, rss, cpus_used = [], [], []
    for rep in range(REPS):
        ug, uh, ua, ag, ah, aa = ports(6)
        d = f"{TMP}/a-{validate}-{rep}"
        os.makedirs(d)
        open(f"{d}/agent.yaml", "w").write(f"""
data_dir: {d}/agent
receivers: {{otlp: {{listen: 127.0.0.1, grpc_port: {ag}, http_port: {ah}}}}}
api: {{listen: 127.0.0.1, port: {aa}}}
forward:
  queue: {{sync: fsync}}
  validate: {validate}
  exporter: {{protocol: http, compression: zstd, connections: 4}}
  upstreams: [{{endpoint: "http://127.0.0.1:{uh}"}}]
""")
        up = start("up", ["run", "--sink", "count", "--data-dir", f"{d}/up", "--listen", "127.0.0.1",
                          "--otlp-grpc-port", str(ug), "--otlp-http-port", str(uh),
                          "--api-port", str(ua)], cpus=rest, api=ua)
        agent = start("agent", ["agent", "--config", f"{d}/agent.yaml"], cpus="0", api=aa)
        # warm-up, then the measured run
        loadgen(f"http://127.0.0.1:{ah}", "max", 2, 1000, rest, ["--connections", "8"]).wait()
        c0 = cpu_seconds(agent.pid)
        lg = loadgen(f"http://127.0.0.1:{ah}", "max", SECONDS, 1000, rest,
                     ["--connections", "8", "--threads", "2"])
        out, _ = lg.communicate()
        c1 = cpu_seconds(agent.pid)
        acked = json.loads(out)["items"]["acked"]
        rates.append(acked / (c1 - c0))
        cpus_used.append((c1 - c0) / SECONDS)
        # everything acknowledged must reach the upstream
        for _ in range(600):
            if metric(ua, "orasi_sink_items_total", signal="traces") >= metric(aa, "orasi_otlp_accepted_items_total"):
                break
            time.sleep(0.05)
        rss.append(hwm_kib(agent.pid) / 1024)
        stop(agent)
        stop(up)
    return rates, rss, cpus_used


# ---- 2. end-to-end latency ------------------------------------------------------------------

def one_region():
    p = ports(12)
    names = ["AGENT_GRPC_PORT", "AGENT_HTTP_PORT", "AGENT_API_PORT", "GATEWAY_GRPC_PORT",
             "GATEWAY_HTTP_PORT", "GATEWAY_API_PORT", "BRIDGE1_GRPC_PORT", "BRIDGE1_HTTP_PORT",
             "BRIDGE1_API_PORT", "BRIDGE2_GRPC_PORT", "BRIDGE2_HTTP_PORT", "BRIDGE2_API_PORT"]
    env = dict(zip(names, map(str, p)))
    for k in ("AGENT", "GATEWAY", "BRIDGE1", "BRIDGE2"):
        env[f"{k}_LISTEN"] = "127.0.0.1"
        env[f"{k}_DATA"] = f"{TMP}/lat-{k.lower()}"
    env["BRIDGE_FLUSH_INTERVAL"] = "10s"
    ex = f"{REPO}/examples/one-region"
    procs = [start("b1", ["bridge", "--config", f"{ex}/bridge-1.yaml"], env, api=p[8]),
             start("b2", ["bridge", "--config", f"{ex}/bridge-2.yaml"], env, api=p[11]),
             start("gw", ["gateway", "--config", f"{ex}/gateway.yaml"], env, api=p[5]),
             start("agent", ["agent", "--config", f"{ex}/agent.yaml"], env, api=p[2])]
    return p, procs


def query_count(api, trace):
    sql = f"select count(*) from traces where TraceId = '{trace}'"
    req = urllib.request.Request(f"http://127.0.0.1:{api}/v1/query",
                                 data=json.dumps({"sql": sql}).encode(),
                                 headers={"Content-Type": "application/json",
                                          "Accept": "text/csv"})
    try:
        body = urllib.request.urlopen(req, timeout=5).read().decode()
        return int(body.strip().splitlines()[-1].strip('"'))
    except Exception:
        return 0


def bench_latency():
    p, procs = one_region()
    bg = loadgen(f"http://127.0.0.1:{p[1]}", 2000, 10 + PROBES, 50, None)
    lat = []
    for i in range(PROBES):
        trace = os.urandom(16).hex()
        now = time.time_ns()
        body = json.dumps({"resourceSpans": [{"resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": "latency-probe"}}]},
            "scopeSpans": [{"spans": [{"traceId": trace, "spanId": os.urandom(8).hex(),
                                        "name": "probe", "kind": 1,
                                        "startTimeUnixNano": str(now - 1000000),
                                        "endTimeUnixNano": str(now)}]}]}]}).encode()
        t0 = time.time()
        urllib.request.urlopen(urllib.request.Request(
            f"http://127.0.0.1:{p[1]}/v1/traces", data=body,
            headers={"Content-Type": "application/json"}), timeout=10).read()
        while time.time() - t0 < 30:
            if query_count(p[8], trace) + query_count(p[11], trace) >= 1:
                lat.append(time.time() - t0)
                break
            time.sleep(0.01)
        time.sleep(0.05)
    bg.kill()
    bg.wait()
    for pr in reversed(procs):
        stop(pr)
    return lat


# ---- 3. failover time -----------------------------------------------------------------------

def bench_failover():
    p = ports(9)
    names = ["GATEWAY_EU_GRPC_PORT", "GATEWAY_EU_HTTP_PORT", "GATEWAY_EU_API_PORT",
             "BRIDGE_EU_GRPC_PORT", "BRIDGE_EU_HTTP_PORT", "BRIDGE_EU_API_PORT",
             "BRIDGE_US_GRPC_PORT", "BRIDGE_US_HTTP_PORT", "BRIDGE_US_API_PORT"]
    env = dict(zip(names, map(str, p)))
    for k in ("GATEWAY_EU", "BRIDGE_EU", "BRIDGE_US"):
        env[f"{k}_LISTEN"] = "127.0.0.1"
        env[f"{k}_DATA"] = f"{TMP}/fo-{k.lower()}"
    ex = f"{REPO}/examples/two-regions"
    us = start("us", ["bridge", "--config", f"{ex}/bridge-us.yaml"], env, api=p[8])
    eu = start("eu", ["bridge", "--config", f"{ex}/bridge-eu.yaml"], env, api=p[5])
    gw = start("gw", ["gateway", "--config", f"{ex}/gateway-eu.yaml"], env, api=p[2])
    bg = loadgen(f"http://127.0.0.1:{p[1]}", 3000, 10 * REPS + 30, 30, None)
    times = []
    time.sleep(2)
    for rep in range(REPS + 2):
        before = metric(p[8], "orasi_otlp_accepted_items_total")
        t0 = time.time()
        eu.kill()
        eu.wait()
        while time.time() - t0 < 10:
            if metric(p[8], "orasi_otlp_accepted_items_total") > before:
                times.append(time.time() - t0)
                break
            time.sleep(0.005)
        time.sleep(1)
        eu = start("eu", ["bridge", "--config", f"{ex}/bridge-eu.yaml"], env, api=p[5])
        # failback: us stops growing
        for _ in range(100):
            a = metric(p[8], "orasi_otlp_accepted_items_total")
            time.sleep(0.3)
            if metric(p[8], "orasi_otlp_accepted_items_total") == a:
                break
    bg.kill()
    bg.wait()
    for pr in (gw, eu, us):
        stop(pr)
    return times


def main():
    if not BIN:
        sys.exit("build orasi first (build-rel/orasi or build/orasi), or set ORASI_BIN")
    commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    t_start = time.time()
    load0 = " ".join(f"{x:.2f}" for x in os.getloadavg())
    try:
        rates, rss, cpus = bench_agent()
        frates, frss, fcpus = bench_agent("framing")
        lat = bench_latency()
        fo = bench_failover()
    finally:
        for pr in PROCS:
            if pr.poll() is None:
                pr.kill()
                pr.wait()
    lat.sort()
    p50 = lat[len(lat) // 2] if lat else float("nan")
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else float("nan")
    rng = lambda v, f: f"{f(med(v))} ({f(min(v))}–{f(max(v))})" if v else "n/a"
    ok = lambda c: "**met**" if c else "**not met**"
    sec = f"""## Forwarding

`bench/fwd_bench.py` (commit {commit}, {cpu}, {NCPU} CPUs, {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}, {time.time() - t_start:.0f} s). Medians with (min–max) over {REPS} repetitions. Load average at start: {load0} (other work on the machine makes the CPU figures noisy).

| scenario | figure | goal | status |
|---|---|---|---|
| agent forwarding, fsync durability: spans acknowledged per agent CPU-second | {rng(rates, lambda x: f"{x:,.0f}")} | ≥ 1,000,000 | {ok(med(rates) >= 1e6)} |
| same, `forward.validate: framing` (items checked at the bridge) | {rng(frates, lambda x: f"{x:,.0f}")} | ≥ 1,000,000 | {ok(med(frates) >= 1e6)} |
| agent peak RSS (VmHWM) during those runs | {rng(rss + frss, lambda x: f"{x:.1f} MiB")} | < 64 MiB | {ok(max(rss + frss) < 64) if rss else "n/a"} |
| end-to-end SDK → queryable at a bridge (agent → gateway → 2 bridges), {len(lat)} probes under 2,000 spans/s | p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms | p99 < 2 s | {ok(p99 < 2)} |
| region failover: kill -9 of the region's bridge → first item accepted by the next region | {rng(fo, lambda x: f"{x * 1000:.0f} ms")} over {len(fo)} kills | < 1 s | {ok(bool(fo) and max(fo) < 1)} |

With `validate: full` (the default) the agent validates every item as the bridge will, so an
invalid item is answered with partial_success at once; that validation is about a third of
the agent's CPU. `framing` checks the protobuf framing and counts items only.

Method notes: the agent ran on CPU 0 with the load generator and the counting upstream on the
other CPU(s), so the agent's figure is its own CPU time (it used {rng(cpus, lambda x: f"{x:.2f}")} CPUs
while the load generator pushed as fast as it was acknowledged). Latency includes the agent's
and the gateway's batching (`batch.max_age` 200 ms and 100 ms in the examples) and the query's
own time; a span is queryable from the bridge's buffers before it is flushed to Parquet.
Failover needs no membership change: the gateway's circuit for the dead bridge opens on the
first refused connection or failed health check (every 250 ms).
"""
    txt = open(OUT).read() if os.path.exists(OUT) else "# Benchmark results\n"
    m = re.search(r"^## Forwarding\n.*?(?=^## |\Z)", txt, re.M | re.S)
    txt = txt[:m.start()] + sec + "\n" + txt[m.end():] if m else txt.rstrip("\n") + "\n\n" + sec
    open(OUT, "w").write(txt)
    print(sec)
    shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    main()
