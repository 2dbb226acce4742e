/* bench.c — `orasi bench-decode`: the decoder micro-benchmark (src/otlp/otlp_bench.c). */
#include "cli/cli.h"
#include "otlp/otlp_pb.h"

#include <stdlib.h>
#include <string.h>

int cmd_bench_decode(int argc, char **argv)
{
    int iterations = 2000;
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        cli_usage_of("bench-decode", stdout);
        return 0;
    }
    if (argc >= 2)
        iterations = atoi(argv[1]);
    if (iterations < 1)
        iterations = 1;
    return otlp_bench_decode(iterations, stdout) == 0 ? 0 : 1;
}
