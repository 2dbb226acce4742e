/* main.c — the `orasi` command: dispatches to subcommands. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("orasi %s\n", ORASI_VERSION);
        return 0;
    }
    fprintf(stderr, "usage: orasi COMMAND\n");
    return 2;
}
