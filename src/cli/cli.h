/* cli.h — the subcommands of the `orasi` binary; each takes argv starting at its name. */
#ifndef ORASI_CLI_H
#define ORASI_CLI_H

#include <stdio.h>

struct cli_command {
    const char *name;
    const char *summary;
    const char *usage;
    int (*fn)(int argc, char **argv);
};

int cmd_run(int argc, char **argv);          /* cli/run.c */
int cmd_config(int argc, char **argv);       /* cli/run.c */
int cmd_loadgen(int argc, char **argv);      /* cli/loadgen.c */
int cmd_bench_decode(int argc, char **argv); /* cli/bench.c */
int cmd_query(int argc, char **argv);        /* cli/query.c */
int cmd_bench_query(int argc, char **argv);  /* cli/query.c */
/* Print the usage text of a command. */
void cli_usage_of(const char *name, FILE *f);

#endif
