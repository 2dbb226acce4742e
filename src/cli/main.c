/*
 * main.c — the `orasi` command line: one binary, several commands.
 *
 * Each command is a row of the table below (name, one-line summary, usage text, entry
 * point); `orasi --help` and `orasi help COMMAND` are generated from it.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);

static const struct cli_command commands[] = {
    {"run", "run the all-in-one server: OTLP receivers, lake, SQL API (the default)",
     "usage: orasi run [--data-dir DIR] [--config FILE] [--listen ADDR]\n"
     "                 [--otlp-grpc-port N] [--otlp-http-port N] [--api-port N]\n"
     "                 [--workers N] [--sink lake|count] [--log-level LEVEL]\n"
     "                 [--bench-routes]\n"
     "\n"
     "Starts Orasi in the foreground. Listens on OTLP/gRPC (4317), OTLP/HTTP (4318) and\n"
     "the API (8080: /health, /ready, /metrics). Flags override the configuration file.\n"
     "SIGTERM/SIGINT drain and exit 0; SIGHUP reloads the configuration file.\n"
     "  --data-dir DIR       where data is kept (default ./orasi-data)\n"
     "  --config FILE        YAML configuration (see docs/configuration.md)\n"
     "  --listen ADDR        bind every listener to ADDR (default 0.0.0.0)\n"
     "  --otlp-grpc-port N   OTLP/gRPC port (0 = any free port)\n"
     "  --otlp-http-port N   OTLP/HTTP port (0 = any free port)\n"
     "  --api-port N         API port (0 = any free port)\n"
     "  --workers N          worker threads\n"
     "  --sink lake|count    keep data in the lake (default) or count and discard it\n"
     "  --log-level LEVEL    debug|info|warn|error\n"
     "  --bench-routes       add POST /bench/discard on the API port (benchmarks)\n",
     cmd_run},
    {"agent", "run as an agent: receive, enrich, queue on disk, forward to gateways",
     "usage: orasi agent --config FILE [the options of `orasi run`]\n"
     "\n"
     "OTLP receivers in front of a persistent sending queue (forward: section): requests are\n"
     "acknowledged once queued on disk, enriched with host/Kubernetes attributes, batched and\n"
     "forwarded to the gateways with retries, circuit breakers and failover. See\n"
     "docs/deployment.md and examples/one-region/agent.yaml.\n",
     cmd_run},
    {"gateway", "run as a gateway: route spans by trace id to bridges, fail over regions",
     "usage: orasi gateway --config FILE [the options of `orasi run`]\n"
     "\n"
     "OTLP receivers in front of a persistent sending queue (forward: section); spans are\n"
     "routed by trace id (consistent hashing with bounded load) to the bridges of the best\n"
     "healthy region, honouring data-residency rules. See examples/one-region/gateway.yaml.\n",
     cmd_run},
    {"bridge", "run as a bridge: write-ahead log, Parquet lake, SQL, idempotent batches",
     "usage: orasi bridge --config FILE [the options of `orasi run`]\n"
     "\n"
     "`orasi run` with idempotent batches: replays of forwarded batches (X-Orasi-Batch) are\n"
     "dropped atomically with the write-ahead log; optionally registers itself in etcd\n"
     "(bridge.register). See examples/one-region/bridge-1.yaml.\n",
     cmd_run},
    {"config", "check a configuration file",
     "usage: orasi config check FILE\n"
     "       orasi config docs          print the reference of every option (Markdown)\n"
     "\n"
     "Parses and validates FILE; exits 0 when it is valid, or prints\n"
     "FILE:LINE: message and exits 1.\n",
     cmd_config},
    {"loadgen", "send realistic OTLP load to a receiver and report what was acknowledged",
     "usage: orasi loadgen --url URL [--protocol http/protobuf|http/json|grpc] [--rate N|max]\n"
     "                     [--duration 60s] [--connections N] [--signal traces|metrics|logs|all]\n"
     "                     [--batch N] [--ack-log FILE] [--tenant T] [--seed N] [--json]\n"
     "Run `orasi loadgen --help` for every option.\n",
     cmd_loadgen},
    {"query", "run SQL over the lake of a running Orasi and print the answer",
     "usage: orasi query [--format table|csv|json] [--url URL] [--tenant T] [--timeout S] SQL\n"
     "\n"
     "Sends SQL to POST /v1/query and prints the answer. SQL \"-\" reads it from stdin.\n"
     "Tables: traces, logs, metrics_gauge, metrics_sum, metrics_histogram,\n"
     "metrics_exponential_histogram, metrics_summary (docs/internals/sql.md).\n"
     "  --format F    table (aligned columns, the default), csv or json\n"
     "  --url URL     the API of a running Orasi (default http://127.0.0.1:8080)\n"
     "  --tenant T    tenant to query (X-Scope-OrgID; default: the server's \"default\")\n"
     "  --timeout S   give up after S seconds (default: wait for the server)\n"
     "Exit status: 0 on success, 1 on a SQL error (the message is DuckDB's) or when the\n"
     "server cannot be reached, 2 on a usage error.\n",
     cmd_query},
    {"bench-query", "SQL benchmark: generate a lake, time queries vs plain DuckDB",
     "usage: orasi bench-query --data-dir D --trace-ids FILE\n"
     "                         [--generate-spans N [--hours 24] [--files-per-hour 4]] [--reps 20]\n"
     "With --generate-spans, writes a lake of N spans (and N/10 logs) over the last hours\n"
     "and the ids of some traces to FILE; without, times the benchmark queries through the\n"
     "SQL engine and through plain DuckDB over the same files (one JSON line each).\n"
     "Used by bench/query_bench.sh.\n",
     cmd_bench_query},
    {"bench-decode", "micro-benchmark of the OTLP protobuf decoder on a realistic request",
     "usage: orasi bench-decode [ITERATIONS]\n", cmd_bench_decode},
    {"help", "show help for a command", "usage: orasi help [COMMAND]\n", cmd_help},
    {"version", "print the version", "usage: orasi version\n", cmd_version},
    {NULL, NULL, NULL, NULL}};

static void usage(FILE *f)
{
    fprintf(f, "orasi %s — a telemetry pipeline: OpenTelemetry in, Parquet lake, SQL out\n\n"
               "usage: orasi COMMAND [ARGS]\n\ncommands:\n",
            ORASI_VERSION);
    for (const struct cli_command *c = commands; c->name; c++)
        fprintf(f, "  %-14s %s\n", c->name, c->summary);
    fprintf(f, "\n  orasi --version      print the version\n"
               "  orasi help COMMAND   show the usage of COMMAND\n");
}

static const struct cli_command *find_command(const char *name)
{
    for (const struct cli_command *c = commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

static int cmd_help(int argc, char **argv)
{
    if (argc < 2) {
        usage(stdout);
        return 0;
    }
    const struct cli_command *c = find_command(argv[1]);
    if (!c) {
        fprintf(stderr, "orasi: unknown command '%s'\n", argv[1]);
        usage(stderr);
        return 2;
    }
    fputs(c->usage, stdout);
    return 0;
}

static int cmd_version(int argc, char **argv)
{
    printf("orasi %s\n", ORASI_VERSION);
    return 0;
}

void cli_usage_of(const char *name, FILE *f)
{
    const struct cli_command *c = find_command(name);
    if (c)
        fputs(c->usage, f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)
        return cmd_version(argc - 1, argv + 1);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    const struct cli_command *c = find_command(argv[1]);
    if (!c) {
        fprintf(stderr, "orasi: unknown command '%s'\n\n", argv[1]);
        usage(stderr);
        return 2;
    }
    return c->fn(argc - 1, argv + 1);
}
