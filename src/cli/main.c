/* main.c — temporary entry point while the server lands (see wip/). */
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
