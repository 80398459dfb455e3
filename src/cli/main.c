/* main.c: the toki-shim command: dispatches to its subcommands. */
/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "common/tshim.h"
#include "check.h"
#include "completion.h"
#include "run.h"
#include "serve.h"

static int usage(FILE *f, int status)
{
    fputs(
        "Usage: toki-shim COMMAND [OPTIONS]\n"
        "Tools for libtoki_shim.so, which lets unmodified programs react when Toki\n"
        "refreshes their credentials.\n\n"
        "Commands:\n"
        "  check       check the configuration and Toki, or a running process (toki-shim check --help)\n"
        "  run         run a command with the shim preloaded (toki-shim run --help)\n"
        "  serve       run a Toki-compatible event server (toki-shim serve --help)\n"
        "  completion  print the completion script for bash or zsh\n"
        "  help        show this help, or a command's (toki-shim help run)\n\n"
        "  --help     show this help\n"
        "  --version  show the version\n",
        f);
    return status;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage(stderr, 2);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return usage(stdout, 0);
    if (strcmp(argv[1], "--version") == 0) {
        printf("toki-shim %s\n", TSHIM_VERSION);
        return 0;
    }
    /* help COMMAND is COMMAND --help, so that each text is written once. */
    static char help_option[] = "--help";
    char *help_argv[] = {argv[0], argc > 2 ? argv[2] : NULL, help_option, NULL};
    if (strcmp(argv[1], "help") == 0) {
        if (argc == 2)
            return usage(stdout, 0);
        argc = 3;
        argv = help_argv;
    }
    if (strcmp(argv[1], "check") == 0)
        return tshim_check_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "run") == 0)
        return tshim_run_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "serve") == 0)
        return tshim_serve_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "completion") == 0)
        return tshim_completion_main(argc - 1, argv + 1);
    fprintf(stderr, "toki-shim: unknown command '%s'\n", argv[1]);
    return usage(stderr, 2);
}
