/* main.c: the toki-shim command: dispatches to its subcommands. */
/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "common/tshim.h"
#include "check.h"
#include "completion.h"
#include "run.h"
#include "say.h"
#include "serve.h"

static int usage(FILE *f, int status)
{
    fputs(
        "Usage: toki-shim COMMAND [OPTIONS]\n"
        "Tools for libtoki_shim.so, which lets unmodified programs react when Toki\n"
        "refreshes their credentials.\n\n"
        "Commands:\n"
        "  run      run a command with the shim preloaded\n"
        "  check    check the configuration and Toki, or running processes\n"
        "  serve    run a Toki-compatible event server\n"
        "  completion bash|zsh  print the shell completion script\n"
        "  help [COMMAND]  show this help, or a command's\n\n"
        "  -h, --help     show this help\n"
        "  -V, --version  show the version\n\n"
        "'toki-shim COMMAND --help' shows a command's options; man toki-shim says more.\n",
        f);
    return status;
}

/* The subcommands, by name. */
static const struct {
    const char *name;
    int (*main)(int, char **);
} tshim_main_commands[] = {
    {"run", tshim_run_main},
    {"check", tshim_check_main},
    {"serve", tshim_serve_main},
    {"completion", tshim_completion_main},
};
#define TSHIM_MAIN_COMMANDS (sizeof tshim_main_commands / sizeof tshim_main_commands[0])

static int tshim_main_find(const char *name)
{
    for (size_t i = 0; i < TSHIM_MAIN_COMMANDS; i++)
        if (strcmp(name, tshim_main_commands[i].name) == 0)
            return (int)i;
    return -1;
}

/* `toki-shim help [COMMAND]`: the same text as --help, on stdout. */
static int tshim_main_help(int argc, char **argv)
{
    if (argc < 3)
        return usage(stdout, 0);
    int i = tshim_main_find(argv[2]);
    if (argc > 3 || i < 0)
        return tshim_say_usage(NULL, "help: no command '%s'", argv[argc > 3 ? 3 : 2]);
    char help[] = "--help";
    char *args[] = {argv[2], help, NULL};
    return tshim_main_commands[i].main(2, args);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return tshim_say_usage(NULL, "no command given (run, check, serve, completion or help)");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return usage(stdout, 0);
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("toki-shim %s\n", TSHIM_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "help") == 0)
        return tshim_main_help(argc, argv);
    int i = tshim_main_find(argv[1]);
    if (i < 0)
        return tshim_say_usage(NULL, "unknown command '%s'", argv[1]);
    return tshim_main_commands[i].main(argc - 1, argv + 1);
}
